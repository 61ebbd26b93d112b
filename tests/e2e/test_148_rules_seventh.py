"""148 rules, seventh round: docs/RULES.md §3 "Corrections" read as a
caseworker reads it — chains of corrections (a correction of a
correction), a correction after the alert was withdrawn, a correction of
another type — each built as the page states it and compared with what a
real hubd raises.

rules_hub keeps escalation out of the way."""

from hubtest import (CprGen, ev_dropout, ev_dropout_risk, ev_enrolment,
                     ev_missed_activation, ev_readiness, rules_hub)
from test_41_rules_followup import corrected


def by_rule(alerts, rule):
    return [a for a in alerts if a["rule"] == rule]


def test_a_readiness_chain_withdrawn_by_grade_then_raised_again(make_hub):
    """RULES.md §3, "Corrections", ReadinessAssessment: a correction of
    the not-ready assessment that raised a `readiness` alert "(or of a
    correction of it)" raises nothing; one naming a grade outside
    `readiness.grades` withdraws the alert ("school-a corrected its
    assessment of 2026-09-11: it was made in grade 7, in which not being
    education-ready raises no alert"); "any other correction — ... of
    one whose alert was withdrawn — is judged as the assessment it now
    is: not ready in a configured grade raises a `readiness` alert".
    Each correction here names the one before it."""
    hub = rules_hub(make_hub, "2026-09-10T09:00:00")
    pupil = CprGen(14801).born("2012-03-03")
    hub.assign(pupil, "cw-anna")
    first = ev_readiness(pupil, "2026-09-10", 9, not_ready_academic=True)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [alert] = hub.peek("cw-anna", 1)
    assert alert["rule"] == "readiness"
    again = corrected(first, ev_readiness(pupil, "2026-09-11", 9,
                                          not_ready_academic=True))
    hub.send(again)
    assert hub.wait_applied()["alerts"] == 1
    grade7 = corrected(again, ev_readiness(pupil, "2026-09-11", 7))
    hub.send(grade7)
    assert hub.wait_applied()["alerts"] == 2
    [notice] = hub.peek("cw-anna", 1)
    assert notice["rule"] == "withdrawn"
    assert notice["explanation"] == (
        f"Alert {alert['alert_id']} (readiness) is withdrawn: school-a "
        "corrected its assessment of 2026-09-11: it was made in grade 7, "
        "in which not being education-ready raises no alert. Nothing "
        "more is expected of you for it.")
    hub.send(corrected(grade7, ev_readiness(pupil, "2026-09-12", 9,
                                            not_ready_social=True)))
    assert hub.wait_applied()["alerts"] == 3
    [notice2, raised] = sorted(hub.peek("cw-anna", 2),
                               key=lambda a: a["rule"] == "readiness")
    assert raised["rule"] == "readiness"
    assert "(areas: social)" in raised["explanation"]


def test_the_raising_miss_corrected_earlier_moves_the_quiet_days(make_hub):
    """RULES.md §3, "Missed activations" and "Corrections": after an
    alert for a miss dated D, misses dated up to D + 29 raise none; "D is
    that miss's date as last corrected", and when the corrected miss is
    the one that raised the alert "the quiet days then run from its
    corrected date". Misses on 03-02 and 03-20 alert; the 03-20 miss
    corrected to 03-10 and again (naming that correction) to 03-05: the
    quiet days end on 04-03, so misses of 04-04 and 04-10 alert with the
    second (04-10 is before 03-20 + 30)."""
    hub = rules_hub(make_hub, "2026-04-10T09:00:00")
    adult = CprGen(14802).born("2000-05-05")
    hub.assign(adult, "cw-anna")
    hub.send(ev_missed_activation(adult, "2026-03-02"))
    second = ev_missed_activation(adult, "2026-03-20")
    hub.send(second)
    assert hub.wait_applied()["alerts"] == 1
    mid = corrected(second, ev_missed_activation(adult, "2026-03-10"))
    hub.send(mid)
    hub.send(corrected(mid, ev_missed_activation(adult, "2026-03-05")))
    hub.send(ev_missed_activation(adult, "2026-04-04"))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_missed_activation(adult, "2026-04-10"))
    assert hub.wait_applied()["alerts"] == 2
    alerts = by_rule(hub.peek("cw-anna", 2), "missed_activation")
    assert any("reported a missed activation on 2026-04-10 (activity "
               "akt-1): 2 missed within 30 days." in a["explanation"]
               for a in alerts), [a["explanation"] for a in alerts]


def test_a_dropout_correction_after_the_episode_closed_is_new(make_hub):
    """RULES.md §3, "Corrections", Dropout: "A Dropout that corrects
    anything else (when the episode has been closed by an enrolment, or
    another event) is applied as a new dropout." A dropout of 09-07,
    corrected to 09-04, the person enrolled from 09-20 (back on track),
    then the correction corrected to 09-25: a new dropout, alerted. A
    Dropout naming the same college's DropoutRisk is a new dropout too."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    gen = CprGen(14803)
    adult, other = gen.born("1996-01-01"), gen.born("1996-01-02")
    hub.assign(adult, "cw-anna")
    hub.assign(other, "cw-bob")
    first = ev_dropout(adult, "2026-09-07")
    risk = ev_dropout_risk(other, "2026-09-07")
    hub.send(first, risk)
    assert hub.wait_applied()["alerts"] == 2
    fix = corrected(first, ev_dropout(adult, "2026-09-04"))
    hub.send(fix)
    hub.set_clock("2026-09-21T09:00:00")
    hub.send(ev_enrolment(adult, "2026-09-20"),
             corrected(risk, ev_dropout(other, "2026-09-21")))
    assert hub.wait_applied()["alerts"] == 4
    hub.set_clock("2026-09-28T09:00:00")
    hub.send(corrected(fix, ev_dropout(adult, "2026-09-25")))
    assert hub.wait_applied()["alerts"] == 5
    assert sorted(a["rule"] for a in hub.peek("cw-anna", 3)) == \
        ["back_on_track", "dropout", "dropout"]
    assert sorted(a["rule"] for a in hub.peek("cw-bob", 2)) == \
        ["dropout", "dropout_risk"]
