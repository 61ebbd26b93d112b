"""148 rules, seventh round: docs/RULES.md §3 "Corrections" read as a
caseworker reads it — chains of corrections (a correction of a
correction), a correction after the alert was withdrawn, a correction of
another type — each built as the page states it and compared with what a
real hubd raises.

rules_hub keeps escalation out of the way."""

from hubtest import (CprGen, ev_dropout, ev_dropout_risk, ev_enrolment,
                     ev_leaving, ev_missed_activation, ev_readiness,
                     rules_hub)
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


def test_a_same_day_miss_corrected_leaves_the_quiet_days(make_hub):
    """RULES.md §3, "Missed activations": "Two activities missed on one
    day are two"; after an alert for a miss dated D, misses up to D + 29
    raise none, and a corrected miss moves the quiet days only when "it
    is the miss that raised the alert". Misses of 03-02 and 03-20 alert
    (D = 03-20); a second activity missed on 03-20 raises nothing, and
    its correction to 03-01 is not the raising miss: misses of 03-25
    and 04-05 stay quiet, as they are before 04-19. The same correction
    of the raising miss moves D to 03-01: 03-25 is still quiet (before
    03-31), 04-05 alerts (03-25 and 04-05 within 03-07..04-05). (Any
    miss dated D moved the quiet days: 04-05 alerted for both.)"""
    hub = rules_hub(make_hub, "2026-04-05T09:00:00")
    gen = CprGen(14808)
    other, raising = gen.born("2000-07-07"), gen.born("2000-07-08")
    hub.assign(other, "cw-anna")
    hub.assign(raising, "cw-bob")
    for cpr in (other, raising):
        hub.send(ev_missed_activation(cpr, "2026-03-02"))
    first = {c: ev_missed_activation(c, "2026-03-20")
             for c in (other, raising)}
    hub.send(*first.values())
    assert hub.wait_applied()["alerts"] == 2
    second = ev_missed_activation(other, "2026-03-20")
    hub.send(second)
    hub.send(corrected(second, ev_missed_activation(other, "2026-03-01")),
             corrected(first[raising],
                       ev_missed_activation(raising, "2026-03-01")))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(*(ev_missed_activation(c, "2026-03-25")
               for c in (other, raising)))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(*(ev_missed_activation(c, "2026-04-05")
               for c in (other, raising)))
    assert hub.wait_applied()["alerts"] == 3
    later = by_rule(hub.peek("cw-bob", 2), "missed_activation")
    assert "on 2026-04-05 (activity akt-1): 2 missed within 30 days." \
        in later[-1]["explanation"], [a["explanation"] for a in later]


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


def test_a_second_correction_naming_the_first_moves_the_signal_back(
        make_hub):
    """RULES.md §5: "A signal's day is the event's own date ... as last
    corrected"; §3, "Corrections": a correction "may name the first
    report or any correction of it: it corrects the fact as the latest
    of them left it", and a corrected date moves a dropout's, a dropout
    risk's or a miss's signal to that date. A dropout, a dropout risk and
    a miss of 09-07, each corrected to 09-20 and then, naming the first
    report again, to 09-08: with a signal of 06-20 and a not-ready
    assessment of 06-15 (85 days before 09-08, 97 before 09-20) each
    person has three kinds within 90 days — the combined alert."""
    hub = rules_hub(make_hub, "2026-09-22T09:00:00",
                    rules={"combined.enabled": "yes"})
    gen = CprGen(14807)
    people = {}
    for make, other, owner in (
            (ev_dropout, ev_missed_activation, "cw-anna"),
            (ev_dropout_risk, ev_missed_activation, "cw-bob"),
            (ev_missed_activation, ev_dropout_risk, "cw-lead")):
        cpr = gen.next()
        hub.assign(cpr, owner)
        first = make(cpr, "2026-09-07")
        hub.send(other(cpr, "2026-06-20"), first)
        hub.send(corrected(first, make(cpr, "2026-09-20")))
        hub.send(corrected(first, make(cpr, "2026-09-08")))
        people[owner] = cpr
    assert hub.wait_applied()["alerts"] == 3
    hub.send(*(ev_readiness(cpr, "2026-06-15", 9)
               for cpr in people.values()))
    assert hub.wait_applied()["alerts"] == 6
    for owner, cpr in people.items():
        [combined] = by_rule(hub.peek(owner, 2), "combined")
        assert combined["cpr"] == cpr
        assert combined["title"] == ("3 warning signs within 90 days: "
                                     "cross-disciplinary meeting proposed")
        assert "2026-09-08)" in combined["explanation"], \
            combined["explanation"]


def test_a_year_of_school_holidays_gaps_at_the_4001st_day(make_hub):
    """RULES.md §9: school holidays covering every day of the year are
    accepted, and the transition gap "stops counting at the 4,000th day
    after the exit (about 11 years) and falls due at the start of the day
    after it" — if the exit is still stored: under the default
    `retention_dropout` (1825 days) the purge deletes the dropout and
    its clock first, and no gap opens. A dropout of 2026-09-07: its gap
    at 2037-08-21 00:00 with `retention_dropout = 0`, none by default.
    (The page promised the gap whatever the retention.)"""
    year = {"calendar.school_holiday": "01-01..12-31"}
    for retention, gap in (("0", True), ("1825", False)):
        hub = rules_hub(make_hub, "2026-09-07T09:00:00", rules=year,
                        settings={"retention_dropout": retention})
        youth = CprGen(14810).born("1990-01-01")
        hub.assign(youth, "cw-anna")
        hub.send(ev_dropout(youth, "2026-09-07"))
        assert hub.wait_applied()["alerts"] == 1
        hub.advance("2037-08-20T23:59:59")
        assert "(transition_gap)" not in hub.log_text()
        hub.advance("2037-08-21T00:00:00")
        if gap:
            hub.wait_log(r"alert \w+ \(transition_gap\) raised for cw-anna")
            [a] = by_rule(hub.peek("cw-anna", 2), "transition_gap")
            assert a["explanation"].startswith(
                "The young person left school or education on 2026-09-07 "
                "(reported by college-a)")
        else:
            hub.wait_log(r"HUB-PURGE retention purge done: \d+ records, "
                         r"\d+ alerts deleted, 1 persons cleared")
            hub.advance("2037-08-22T00:00:00")
            assert "(transition_gap)" not in hub.log_text()
        hub.stop()


def test_misses_on_and_before_1970_01_01_count(make_hub):
    """RULES.md §3, "Missed activations": `count` (2) misses within
    `days` (30), "both ends included", raise the alert; every date from
    1900 to 2199 is a day (§9). Misses of 1970-01-01 and 01-15, of
    1969-12-01 and 12-15, and of 1900-01-01 and 01-30 each alert with
    the second. (Day 0 was an empty slot, and every miss up to
    1970-01-01 fell in the quiet days of a person never alerted: none
    alerted.) occurred_at must be above 0 (PROTOCOL.md §3): the events
    carry 1 ms, their ids one of 2000."""
    hub = rules_hub(make_hub, "1970-01-20T09:00:00")
    gen = CprGen(14812)
    pairs = {"cw-anna": ("1970-01-01", "1970-01-15"),
             "cw-bob": ("1969-12-01", "1969-12-15"),
             "cw-lead": ("1900-01-01", "1900-01-30")}
    for owner, days in pairs.items():
        cpr = gen.born("1950-01-01")
        hub.assign(cpr, owner, start="1969-01-01")
        for date in days:
            miss = ev_missed_activation(cpr, "2000-01-01")
            miss.missed_activation.date = date
            miss.occurred_at = 1
            hub.send(miss)
    assert hub.wait_applied()["alerts"] == 3
    for owner, (_, second) in pairs.items():
        [a] = hub.peek(owner, 1)
        assert a["rule"] == "missed_activation"
        assert f"reported a missed activation on {second} (activity " \
            "akt-1): 2 missed within 30 days." in a["explanation"]


def test_a_signal_of_1970_01_01_is_no_merge_without_a_combined_alert(
        make_hub):
    """RULES.md §5: a signal merges (raising no alert of its own) only
    within a combined alert's merge window; §3: a DropoutRisk alerts
    "the contact person, NORMAL", a not-ready assessment in grade 9 the
    counsellor, else the contact person. A risk and an assessment dated
    1970-01-01 of people with no combined alert alert as on any other
    day, and nothing is logged HUB-MERGE. (Day 0 fell inside the empty
    merge window 0..0 of a person never combined: both merged into
    nothing.)"""
    hub = rules_hub(make_hub, "1970-01-05T09:00:00",
                    rules={"combined.enabled": "yes"})
    gen = CprGen(14814)
    risky, pupil = gen.born("1950-01-01"), gen.born("1955-01-01")
    hub.assign(risky, "cw-anna", start="1969-01-01")
    hub.assign(pupil, "cw-bob", start="1969-01-01")
    risk = ev_dropout_risk(risky, "2000-01-01")
    risk.dropout_risk.date = "1970-01-01"
    assessment = ev_readiness(pupil, "2000-01-01", 9)
    assessment.readiness_assessment.date = "1970-01-01"
    for env in (risk, assessment):
        env.occurred_at = 1
    hub.send(risk, assessment)
    assert hub.wait_applied()["alerts"] == 2
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "dropout_risk"
    assert "(assessed 1970-01-01" in a["explanation"], a["explanation"]
    [b] = hub.peek("cw-bob", 1)
    assert b["rule"] == "readiness"
    assert "HUB-MERGE" not in hub.log_text()


def test_a_leaving_before_an_exit_of_1970_01_01_leaves_its_clock(make_hub):
    """RULES.md §3, "Transition gap": a SchoolLeaving "dated before
    [the exit the person is out since] ... is not the latest exit and
    leaves the clock as it is". Dropouts of 1970-01-01 and 01-02, each
    followed by a leaving of 1969-12-20 reported late (a calendar of
    only week 7): no gap at 1970-01-20 (the leaving's 30th day passed);
    the gaps at 02-01 and 02-02 00:00, naming the dropouts. (An exit of day 0 was
    read as no exit: the leaving took the clock, the gap at 01-20.)"""
    hub = rules_hub(make_hub, "1970-01-05T09:00:00",
                    rules={"calendar.school_holiday": "week 7",
                           "deadline.enabled": "no"})
    gen = CprGen(14815)
    people = {"cw-anna": (gen.born("1954-01-01"), "1970-01-01"),
              "cw-bob": (gen.born("1954-01-02"), "1970-01-02")}
    for owner, (cpr, date) in people.items():
        hub.assign(cpr, owner, start="1969-01-01")
        dropout = ev_dropout(cpr, "2000-01-01")
        dropout.dropout.date = date
        leaving = ev_leaving(cpr, "2000-01-01")
        leaving.school_leaving.date = "1969-12-20"
        for env in (dropout, leaving):
            env.occurred_at = 1
        hub.send(dropout, leaving)
    assert hub.wait_applied()["alerts"] == 2
    hub.advance("1970-01-31T23:59:59")
    assert hub.stats()["alerts"] == 2
    hub.advance("1970-02-01T00:00:00")
    assert hub.stats()["alerts"] == 3
    hub.advance("1970-02-02T00:00:00")
    assert hub.stats()["alerts"] == 4
    for owner, (cpr, date) in people.items():
        [gap] = by_rule(hub.peek(owner, 2), "transition_gap")
        assert gap["explanation"].startswith(
            f"The young person left school or education on {date} "
            "(reported by college-a)"), gap["explanation"]


def test_a_risk_of_1970_01_01_corrected_moves_its_signal(make_hub):
    """RULES.md §3, "Corrections": a corrected date moves a dropout
    risk's signal for the combined rule to that date (§5). A risk of
    1970-01-01 corrected to 06-01, then a miss of 01-10 and a not-ready
    assessment of 01-15: the risk is no longer within 90 days of them,
    so the assessment raises its own `readiness` alert, no combined one.
    (A risk of day 0 was taken for one without a date: its signal stayed
    on 01-01, and the assessment tipped a combined alert.)"""
    hub = rules_hub(make_hub, "1970-06-05T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(14816).born("1955-01-01")
    hub.assign(cpr, "cw-anna", start="1969-01-01")

    def dated(env, body, date):
        getattr(env, body).date = date
        env.occurred_at = 1
        return env

    risk = dated(ev_dropout_risk(cpr, "2000-01-01"), "dropout_risk",
                 "1970-01-01")
    hub.send(risk)
    assert hub.wait_applied()["alerts"] == 1
    hub.send(corrected(risk, dated(ev_dropout_risk(cpr, "2000-01-01"),
                                   "dropout_risk", "1970-06-01")),
             dated(ev_missed_activation(cpr, "2000-01-01"),
                   "missed_activation", "1970-01-10"),
             dated(ev_readiness(cpr, "2000-01-01", 9),
                   "readiness_assessment", "1970-01-15"))
    assert hub.wait_applied()["alerts"] == 2
    assert sorted(a["rule"] for a in hub.peek("cw-anna", 2)) == \
        ["dropout_risk", "readiness"]
