"""41 rules on real data: corrections are the same fact corrected
(nothing raised twice, stale alerts withdrawn, the timeline marks what was
superseded), missed activations alert on their own, dropouts reach the
guidance counsellor when there is no contact person, and health data goes
only where the consent allows at every disclosure (docs/RULES.md)."""

import json
import subprocess

from hubtest import (SLOW, CprGen, binary, pb, ev_assignment, ev_absence,
                     ev_dropout, ev_dropout_risk, ev_enrolment,
                     ev_missed_activation, ev_readiness, ev_referral,
                     referred_then_withdrawn, rules_hub)


def corrected(original, fresh):
    """fresh, sent as a correction of original (its supersedes)."""
    fresh.supersedes = original.event_id
    return fresh


def absence_alert_withdrawn(hub, seed, absent, corrected_to):
    """cw-anna's pupil reported `absent` of 30 lessons in the week of
    2026-08-31 (an absence.rolling alert, the hub's first), then the
    report corrected to `corrected_to`: (the alert, the notice that
    withdraws it), as peeked."""
    cpr = CprGen(seed).born("2012-02-12")
    hub.assign(cpr, "cw-anna")
    first = ev_absence(cpr, "2026-08-31", absent)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "absence.rolling"
    hub.send(corrected(first, ev_absence(cpr, "2026-08-31", corrected_to)))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    return a, w


def timeline(hub, caseworker, cpr):
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--json",
                        "--timeline", cpr], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def rules_of(alerts):
    return sorted(a["rule"] for a in alerts)


def test_a_corrected_dropout_is_not_a_second_dropout(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4101).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_dropout(cpr, "2026-09-04", reason="r12")
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [d] = hub.peek("cw-anna", 1)
    # Contact made and recorded, the alert acknowledged.
    hub.set_clock("2026-09-08T10:00:00")
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone")[0] == 0
    rc, _, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 0)
    # The college corrects the reason code only.
    hub.send(corrected(first, ev_dropout(cpr, "2026-09-04", reason="r31")))
    hub.wait_applied()
    hub.advance("2026-09-11")
    hub.advance("2026-09-20")
    # No second dropout alert, no (false) missed contact deadline.
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()
    # The timeline keeps both reports and marks the first superseded.
    events = {e["id"]: e for e in timeline(hub, "cw-anna", cpr)
              if e["kind"] == "event" and e["type"] == "Dropout"}
    assert len(events) == 2
    old = events.pop(first.event_id.hex())
    assert old["superseded"] and old["summary"].endswith("(superseded)")
    assert [e["superseded"] for e in events.values()] == [False]


def test_the_clocks_of_a_corrected_dropout_tell_the_corrected_date(
        make_hub):
    """RULES section 3, Corrections: a corrected dropout date moves the
    gap clock and leaves the contact clock where it was. The alerts those
    clocks raised later still named the superseded report: the deadline
    texts said the dropout was on 09-04, and every one of them carried
    that report as evidence, the gap alert beside an explanation of
    09-07. Now they tell the dropout as corrected, with the correction as
    evidence."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4114).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_dropout(cpr, "2026-09-04")
    hub.send(first)
    hub.wait_applied()
    fix = corrected(first, ev_dropout(cpr, "2026-09-07"))
    hub.send(fix)
    hub.wait_applied()
    hub.advance("2026-09-11T00:00:00")
    hub.advance("2026-09-15T00:00:00")
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 4
    desk = {a["rule"]: a for a in hub.peek("desk-dora", 2)}
    gap = next(a for a in hub.peek("cw-anna", 2)
               if a["rule"] == "transition_gap")
    for a in (desk["deadline.contact.warn"], desk["deadline.contact.missed"]):
        assert "college-a reported the dropout on 2026-09-07." in \
            a["explanation"]
    assert "left school or education on 2026-09-07" in gap["explanation"]
    for a in (*desk.values(), gap):
        assert [(e["event_id"], e["period_start"]) for e in a["evidence"]] == \
            [(fix.event_id.hex(), "2026-09-07")], a["rule"]


def test_readiness_corrected_to_ready_withdraws_the_alert(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4102).born("2011-01-11")
    hub.assign(cpr, "cw-anna")
    first = ev_readiness(cpr, "2026-09-03", 9, not_ready_academic=True)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [r] = hub.peek("cw-anna", 1)
    assert r["rule"] == "readiness"
    hub.send(corrected(first, ev_readiness(cpr, "2026-09-03", 9,
                                           ready=True)))
    assert hub.wait_applied()["alerts"] == 2
    # The stale alert is closed; the caseworker is told why.
    [w] = hub.peek("cw-anna", 1)
    assert (w["rule"], w["priority"], w["cpr"]) == ("withdrawn", "LOW", cpr)
    assert w["title"] == f"Withdrawn: alert {r['alert_id']} (readiness)"
    assert "school-a corrected its assessment of 2026-09-03: the pupil " \
        "is education-ready" in w["explanation"]
    [ev] = w["evidence"]
    assert (ev["type"], ev["period_start"]) == \
        ("ReadinessAssessment", "2026-09-03")
    entries = timeline(hub, "cw-anna", cpr)
    [old] = [e for e in entries if e["kind"] == "alert" and
             e["rule"] == "readiness"]
    assert old["open"] is False
    assert {e["id"]: e["superseded"] for e in entries
            if e["kind"] == "event" and
            e["type"] == "ReadinessAssessment"}[first.event_id.hex()]
    # The withdrawal is recorded about the person (SECURITY.md, the
    # audit trail): `audit show --cpr` finds it with the alert's id.
    p = hub.hubctl("audit", "show", "--json", "--cpr", cpr)
    about = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(x["actor"], x["detail"]) for x in about
            if x["action"] == "withdraw"] == [("hub", r["alert_id"])], about


def test_a_correction_takes_back_the_alert_of_the_assessment_it_corrects(
        make_hub):
    """RULES section 3, Corrections: a pupil assessed not ready in grade
    8 and again in grade 9 has two readiness alerts. Only the latest was
    followed: a correction of the grade 8 assessment raised a second
    alert for it when still not ready, and saying ready withdrew nothing.
    Now each alert's own chain of corrections is followed."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4113).born("2011-02-12")
    hub.assign(cpr, "cw-anna")
    grade8 = ev_readiness(cpr, "2026-09-01", 8, not_ready_academic=True)
    grade9 = ev_readiness(cpr, "2026-09-03", 9, not_ready_social=True)
    hub.send(grade8, grade9)
    assert hub.wait_applied()["alerts"] == 2
    ids = {a["title"]: a["alert_id"] for a in hub.peek("cw-anna", 2)}
    first = ids["Not education-ready in grade 8"]
    # Still not ready, other areas: the same assessment, said once.
    fix = corrected(grade8, ev_readiness(cpr, "2026-09-01", 8,
                                         not_ready_personal=True))
    hub.send(fix)
    assert hub.wait_applied()["alerts"] == 2
    # Ready after all (a correction of the correction): that alert, and
    # only that one, is withdrawn.
    hub.send(corrected(fix, ev_readiness(cpr, "2026-09-01", 8,
                                         ready=True)))
    assert hub.wait_applied()["alerts"] == 3
    alerts = {a["rule"]: a for a in hub.peek("cw-anna", 2)}
    assert alerts["readiness"]["alert_id"] == \
        ids["Not education-ready in grade 9"]
    assert alerts["withdrawn"]["title"] == \
        f"Withdrawn: alert {first} (readiness)"
    assert "school-a corrected its assessment of 2026-09-01: the pupil " \
        "is education-ready" in alerts["withdrawn"]["explanation"]


def test_a_not_ready_assessment_older_than_the_4_followed_keeps_its_alert(
        make_hub):
    """RULES section 3 and 11: the hub follows a person's 4 latest
    not-ready assessments that raised an alert. A correction to ready of
    a fifth, older one is judged as the assessment it now is: it raises
    nothing and takes nothing back, that alert stays open. The known
    limits did not say so."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4132).born("2011-02-12")
    hub.assign(cpr, "cw-anna")
    oldest = ev_readiness(cpr, "2026-08-31", 9, not_ready_academic=True)
    later = [ev_readiness(cpr, f"2026-09-0{d}", 9, not_ready_social=True)
             for d in (1, 2, 3, 4)]
    hub.send(oldest, *later)
    assert hub.wait_applied()["alerts"] == 5
    hub.send(corrected(oldest, ev_readiness(cpr, "2026-08-31", 9,
                                            ready=True)))
    assert hub.wait_applied()["alerts"] == 5
    assert rules_of(hub.peek("cw-anna", 5)) == ["readiness"] * 5
    # The second oldest is followed: its correction withdraws its alert.
    hub.send(corrected(later[0], ev_readiness(cpr, "2026-09-01", 9,
                                              ready=True)))
    assert hub.wait_applied()["alerts"] == 6
    assert rules_of(hub.peek("cw-anna", 5)) == ["readiness"] * 4 + \
        ["withdrawn"]


def test_readiness_corrected_to_an_unwatched_grade_withdraws_the_alert(
        make_hub):
    """RULES section 3: not ready in grade 7 raises nothing. A school
    that corrects a grade 9 assessment to grade 7 takes the ground from
    its alert as saying ready does: the alert stayed open with the
    counsellor, and its signal kept counting. A correction that keeps
    the pupil not ready in a watched grade but moves the date moves the
    signal's day: 2026-06-01 corrected to 2026-01-15 combines no more
    with a dropout risk of 06-05 and a missed activation of 06-08."""
    hub = rules_hub(make_hub, "2026-06-10T08:00:00",
                    rules={"combined.enabled": "yes"})
    gen = CprGen(4118)
    seventh, moved = gen.born("2012-01-11"), gen.born("2011-01-11")
    hub.assign(seventh, "cw-anna")
    hub.assign(moved, "cw-anna")
    wrong = ev_readiness(seventh, "2026-06-01", 9, not_ready_academic=True)
    early = ev_readiness(moved, "2026-06-01", 9, not_ready_academic=True)
    hub.send(wrong, early)
    assert hub.wait_applied()["alerts"] == 2
    ids = {a["cpr"]: a["alert_id"] for a in hub.peek("cw-anna", 2)}
    hub.send(corrected(wrong, ev_readiness(seventh, "2026-06-01", 7,
                                           not_ready_academic=True)),
             corrected(early, ev_readiness(moved, "2026-01-15", 9,
                                           not_ready_academic=True)))
    assert hub.wait_applied()["alerts"] == 3
    [w] = [a for a in hub.peek("cw-anna", 2) if a["rule"] == "withdrawn"]
    assert (w["cpr"], w["title"]) == \
        (seventh, f"Withdrawn: alert {ids[seventh]} (readiness)")
    assert "school-a corrected its assessment of 2026-06-01: it was made " \
        "in grade 7, in which not being education-ready raises no alert" \
        in w["explanation"]
    for cpr in (seventh, moved):
        hub.send(ev_dropout_risk(cpr, "2026-06-05"),
                 ev_missed_activation(cpr, "2026-06-08"))
    assert hub.wait_applied()["alerts"] == 5
    assert rules_of(hub.peek("cw-anna", 4)) == [
        "dropout_risk", "dropout_risk", "readiness", "withdrawn"]


def test_two_missed_activations_alert_the_contact_person(make_hub):
    hub = rules_hub(make_hub, "2026-03-30T09:00:00")
    cpr = CprGen(4103).born("2004-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_missed_activation(cpr, "2026-03-02"))
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_missed_activation(cpr, "2026-03-20"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"], a["recipient"]) == \
        ("missed_activation", "NORMAL", "cw-anna")
    assert "2 missed within 30 days" in a["explanation"]
    # Within the quiet period: nothing more.
    hub.send(ev_missed_activation(cpr, "2026-03-25"))
    assert hub.wait_applied()["alerts"] == 1


def test_a_corrected_miss_counts_on_its_corrected_date(make_hub):
    """The Jobcenter corrects a miss of 03-02 to 02-01: a miss of 03-20 is
    then alone in its 30 days and raises nothing. Counted on its old date
    it made two within 30 days and an alert."""
    hub = rules_hub(make_hub, "2026-03-30T09:00:00")
    cpr = CprGen(4113).born("2004-05-05")
    first = ev_missed_activation(cpr, "2026-03-02")
    hub.send(first)
    hub.send(corrected(first, ev_missed_activation(cpr, "2026-02-01")))
    hub.send(ev_missed_activation(cpr, "2026-03-20"))
    assert hub.wait_applied()["alerts"] == 0
    # A miss of 02-20 is within 30 days of either: the alert.
    hub.send(ev_missed_activation(cpr, "2026-02-20"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert "reported a missed activation on 2026-02-20 (activity akt-1): " \
        "2 missed within 30 days" in a["explanation"]


def test_the_quiet_days_follow_a_corrected_miss(make_hub):
    """RULES section 3, Missed activations: after an alert for a miss
    dated D, misses up to D + days - 1 raise none, and a corrected miss
    counts on the date the correction gives. Two misses sent with the
    wrong year (2027) alerted; corrected to 2026 they kept the rule quiet
    until 2027-04-23 all the same, so two misses a week apart in May 2026
    raised nothing."""
    hub = rules_hub(make_hub, "2026-05-20T09:00:00")
    cpr = CprGen(4133).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_missed_activation(cpr, "2027-03-20")
    second = ev_missed_activation(cpr, "2027-03-25")
    hub.send(first, second)
    assert hub.wait_applied()["alerts"] == 1
    hub.send(corrected(first, ev_missed_activation(cpr, "2026-03-20")),
             corrected(second, ev_missed_activation(cpr, "2026-03-25")))
    assert hub.wait_applied()["alerts"] == 1
    # Within 30 days of the corrected 03-25: still quiet.
    hub.send(ev_missed_activation(cpr, "2026-04-20"))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_missed_activation(cpr, "2026-05-04"))
    assert hub.wait_applied()["alerts"] == 2
    a = next(a for a in hub.peek("cw-anna", 2)
             if "on 2026-05-04" in a["explanation"])
    assert "2 missed within 30 days" in a["explanation"]


def test_a_miss_corrected_out_of_the_window_takes_no_alert_back(make_hub):
    """RULES section 3, Corrections: a correction of a miss raises
    nothing, a `withdrawn` notice included. The page did not say what
    becomes of the alert the miss helped raise once its correction leaves
    fewer than `count` misses in the window: it stays open, and the quiet
    days after it run on."""
    hub = rules_hub(make_hub, "2026-03-30T09:00:00")
    cpr = CprGen(4131).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_missed_activation(cpr, "2026-03-02")
    hub.send(first, ev_missed_activation(cpr, "2026-03-20"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    hub.send(corrected(first, ev_missed_activation(cpr, "2026-02-01")))
    assert hub.wait_applied()["alerts"] == 1
    [still] = hub.peek("cw-anna", 1)
    assert (still["alert_id"], still["rule"]) == \
        (a["alert_id"], "missed_activation")
    # 03-20 and 04-10 are two within 30 days, but inside the quiet days.
    hub.send(ev_missed_activation(cpr, "2026-04-10"))
    assert hub.wait_applied()["alerts"] == 1
    assert "HUB-WITHDRAW" not in hub.log_text()


def test_the_alerting_miss_corrected_out_of_the_window_takes_the_quiet_days(
        make_hub):
    """RULES section 3: the quiet days run from D, the alerting miss's
    date as last corrected; "Corrections" said the days after the alert
    stay quiet when a miss is corrected out of the window. When that miss
    is the one dated D, the quiet days go with it: 03-20 corrected to
    01-10 leaves 03-02 and a new 03-25 two misses within 30 days, and a
    second alert, the first one still open."""
    hub = rules_hub(make_hub, "2026-04-30T09:00:00")
    cpr = CprGen(4134).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    alerting = ev_missed_activation(cpr, "2026-03-20")
    hub.send(ev_missed_activation(cpr, "2026-03-02"), alerting)
    assert hub.wait_applied()["alerts"] == 1
    hub.send(corrected(alerting, ev_missed_activation(cpr, "2026-01-10")))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_missed_activation(cpr, "2026-03-25"))
    assert hub.wait_applied()["alerts"] == 2
    alerts = hub.peek("cw-anna", 2)
    assert rules_of(alerts) == ["missed_activation"] * 2
    assert any("on 2026-03-25" in a["explanation"] for a in alerts)
    assert "HUB-WITHDRAW" not in hub.log_text()


def test_a_corrected_miss_is_a_signal_on_its_corrected_date(make_hub):
    """RULES section 5: a signal's day is its event's date. A miss of
    06-01 corrected to 02-01 stayed a signal of 06-01, and with a
    dropout risk of 06-05 and a not-ready assessment of 06-10 raised a
    combined alert naming "missed activation (jobcenter-a, 2026-06-01)".
    02-01 is 129 days before 06-10: three separate alerts' worth, no
    combined one."""
    hub = rules_hub(make_hub, "2026-06-10T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(4116).born("2011-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_missed_activation(cpr, "2026-06-01")
    hub.send(first)
    hub.send(corrected(first, ev_missed_activation(cpr, "2026-02-01")))
    hub.send(ev_dropout_risk(cpr, "2026-06-05"),
             ev_readiness(cpr, "2026-06-10", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 2
    assert rules_of(hub.peek("cw-anna", 2)) == ["dropout_risk", "readiness"]


def test_a_corrected_dropout_risk_is_a_signal_on_its_corrected_date(
        make_hub):
    """As for a miss: a dropout risk assessed 06-01, corrected to 01-15,
    combined with June's signals on its old date."""
    hub = rules_hub(make_hub, "2026-06-10T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(4119).born("2011-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_dropout_risk(cpr, "2026-06-01")
    hub.send(first)
    hub.send(corrected(first, ev_dropout_risk(cpr, "2026-01-15")))
    hub.send(ev_missed_activation(cpr, "2026-06-05"),
             ev_readiness(cpr, "2026-06-10", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 2
    assert rules_of(hub.peek("cw-anna", 2)) == ["dropout_risk", "readiness"]


def test_a_corrected_referral_is_a_signal_on_its_corrected_date(make_hub):
    """As for a miss: a referral of 06-01 shared with consent, corrected
    to 02-01 (the consent restated on the row), stayed a signal of 06-01
    and combined with June's signals. On its date it is 129 days before
    the last of them."""
    hub = rules_hub(make_hub, "2026-06-10T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(4118).born("2011-05-05")
    hub.assign(cpr, "cw-anna")
    consent = {"given": True, "scope": "referral,stage",
               "expires": "2027-06-30"}
    first = ev_referral(cpr, "2026-06-01", consent=consent)
    hub.send(first)
    hub.send(corrected(first, ev_referral(cpr, "2026-02-01",
                                          consent=consent)))
    hub.send(ev_dropout_risk(cpr, "2026-06-05"),
             ev_readiness(cpr, "2026-06-10", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 3
    assert rules_of(hub.peek("cw-anna", 3)) == [
        "addiction", "dropout_risk", "readiness"]


def test_a_corrected_absence_report_is_a_signal_on_its_corrected_date(
        make_hub):
    """As for a miss: a week of absence to 09-04 that raised its alert,
    corrected to a week of March with the same figures (the alert stands,
    section 3), stayed a signal of 09-04 and combined with September's
    signals, naming "absence (school-a, 2026-09-04)"."""
    hub = rules_hub(make_hub, "2026-09-10T09:00:00",
                    rules={"combined.enabled": "yes",
                           "absence.rolling.min_days": "5"})
    cpr = CprGen(4120).born("2011-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_absence(cpr, "2026-08-31", 6)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    hub.send(corrected(first, ev_absence(cpr, "2026-03-02", 6)))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_dropout_risk(cpr, "2026-09-08"),
             ev_readiness(cpr, "2026-09-10", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 3
    assert rules_of(hub.peek("cw-anna", 3)) == [
        "absence.rolling", "dropout_risk", "readiness"]


def test_a_corrected_dropout_is_a_signal_on_its_corrected_date(make_hub):
    """As for a miss: a dropout of 06-01 corrected to 2025-12-01 (an
    adult's: no legal clocks) stayed a signal of 06-01 and combined with
    June's signals. On its date it is too long before them, and so is
    the transition gap it opened on 01-14 (the gap's alert is its own)."""
    hub = rules_hub(make_hub, "2026-06-10T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(4117).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    first = ev_dropout(cpr, "2026-06-01")
    hub.send(first)
    hub.send(corrected(first, ev_dropout(cpr, "2025-12-01")))
    hub.settle(agency="school-a")
    hub.send(ev_dropout_risk(cpr, "2026-06-05"),
             ev_readiness(cpr, "2026-06-10", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 4
    assert rules_of(hub.peek("cw-anna", 4)) == [
        "dropout", "dropout_risk", "readiness", "transition_gap"]


def test_dropout_reaches_the_counsellor_without_a_contact_person(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4104).born("2009-09-09")
    hub.send(ev_assignment(cpr, "cw-bob", "2026-08-01", role="guidance"))
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [d] = hub.peek("cw-bob", 1)
    assert (d["rule"], d["recipient"]) == ("dropout", "cw-bob")
    hub.peek("desk-dora", 0)


def test_consent_is_judged_when_the_data_is_disclosed(make_hub):
    # Referred on 09-14 with consent until 09-20; reported on 09-25.
    hub = rules_hub(make_hub, "2026-09-25T09:00:00")
    cpr = CprGen(4105).born("2008-02-02")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-14",
                         consent={"given": True, "expires": "2026-09-20"}))
    assert hub.wait_applied()["alerts"] == 0
    hub.peek("cw-anna", 0)


def test_expired_consent_takes_the_open_alert_back(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(4106).born("2008-03-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-10"}))
    assert hub.wait_applied()["alerts"] == 1
    # The last day is a Danish day: it ends at 22:00 UTC in summer time.
    hub.advance("2026-09-10T21:59:59")
    st = hub.stats()
    assert (st["alerts"], st["alerts_open"]) == (1, 1)
    hub.advance("2026-09-10T22:00:00")
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 2)
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    assert "consent to share it ended on 2026-09-10" in w["explanation"]
    # Nothing of it in the timeline any more.
    assert not [e for e in timeline(hub, "cw-anna", cpr)
                if e["kind"] == "alert" and e["rule"] == "addiction"]


def test_a_withdrawn_addiction_alert_leaves_no_trace_for_others(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(4113).born("2008-06-06")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["title"].endswith("(addiction)")
    # The notice names no one (the consent no longer shares the
    # referral), so no timeline shows it: not its recipient's, and not a
    # new contact person's.
    assert [e for e in timeline(hub, "cw-anna", cpr)
            if e["kind"] == "alert"] == []
    hub.assign(cpr, "cw-bob", start="2026-09-07")
    hub.settle()
    bob = timeline(hub, "cw-bob", cpr)
    assert [e for e in bob if e["kind"] == "alert"] == []
    assert "addiction" not in json.dumps(bob).lower()


def test_a_withdrawn_notice_says_nothing_the_ended_consent_forbids(
        make_hub):
    """RULES.md §4: consent is judged at every disclosure. The notice that
    takes an addiction alert back goes out when the consent no longer
    shares the referral (withdrawn, or ended): it names the alerts it
    withdraws and why, and no more -- no CPR and no evidence (the
    deciding event is the centre's, a treatment stage here). Nothing
    expected of its recipient: no action may be recorded on it."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    withdrawn, lapsing = CprGen(4114).take(2)
    for cpr in (withdrawn, lapsing):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(withdrawn, "2026-09-07", consent={"given": True}),
             ev_referral(lapsing, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-10"}))
    assert hub.wait_applied()["alerts"] == 2
    first = {a["cpr"]: a["alert_id"] for a in hub.peek("cw-anna", 2)}
    hub.send(ev_referral(withdrawn, "2026-09-08", stage="TREATMENT_STARTED",
                         consent={"given": False}))
    hub.advance("2026-09-11T00:00:00")
    hub.wait_stats("two notices", lambda s: s["alerts"] == 4)
    notices = hub.peek("cw-anna", 2)
    why = {withdrawn: "the young person withdrew the consent to share it",
           lapsing: "the young person's consent to share it ended on "
                    "2026-09-10"}
    assert sorted(n["explanation"] for n in notices) == sorted(
        f"Alert {first[c]} (addiction) is withdrawn: {why[c]}. Nothing "
        "more is expected of you for it." for c in (withdrawn, lapsing))
    for n in notices:
        assert (n["rule"], n["priority"], n["cpr"], n["evidence"]) == \
            ("withdrawn", "LOW", "", []), n
        assert n["title"].endswith(" (addiction)"), n
        rc, out, err = hub.record("cw-anna", "contact", n["alert_id"],
                                  "phone")
        assert rc != 0, out
    for cpr in (withdrawn, lapsing):
        assert [e for e in timeline(hub, "cw-anna", cpr)
                if e["kind"] == "alert"] == []
    # The trail still says, sealed, whom each notice was about: the
    # person's own access export shows who was sent it.
    hub.stop()
    for cpr in (withdrawn, lapsing):
        [notice] = [n["alert_id"] for n in notices
                    if first[cpr] in n["explanation"]]
        p = hub.hubctl("audit", "show", "--json", "--cpr", cpr)
        recs = [json.loads(line) for line in p.stdout.splitlines()]
        sent = [r for r in recs if r["action"] == "deliver" and
                r["detail"].startswith(notice)]
        assert sent and {r["actor"] for r in sent} == {"cw-anna"}, sent
        assert [(r["result"], r["detail"]) for r in recs
                if r["action"] == "action refused"] == [
            ("denied", f"{notice} the alert names no one")], recs


def test_combined_alert_to_the_desk_names_no_health_fact(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T09:00:00",
                    rules={"absence.rolling.min_days": "5",
                           "combined.enabled": "yes"})
    cpr = CprGen(4107).born("2000-05-15")   # no contact person
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    hub.set_clock("2026-09-08T09:00:00")
    hub.send(ev_dropout_risk(cpr, "2026-09-08"))
    hub.wait_applied()
    alerts = hub.peek("desk-dora", 2)
    # The addiction alert itself reaches nobody without a contact person.
    assert rules_of(alerts) == ["absence.rolling", "combined"]
    c = next(a for a in alerts if a["rule"] == "combined")
    assert "addiction" not in json.dumps(c).lower()
    assert "one more that only the young person's contact person may " \
        "see" in c["explanation"]
    assert "absence (school-a, 2026-09-04)" in c["explanation"]


def test_combined_alert_naming_a_referral_follows_only_under_consent(
        make_hub):
    hub = rules_hub(make_hub, "2026-09-08T09:00:00",
                    rules={"combined.enabled": "yes"})
    gen = CprGen(4112)
    shared, withdrawn = gen.born("2000-05-15"), gen.born("2000-06-15")
    for cpr in (shared, withdrawn):
        hub.assign(cpr, "cw-anna")
        hub.send(ev_absence(cpr, "2026-08-31", 6),
                 ev_referral(cpr, "2026-09-07", consent={"given": True}),
                 ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 6    # rolling, addiction, combined
    # One withdraws the consent: its addiction alert is withdrawn, and
    # the combined alert naming the referral may reach no one new.
    hub.send(ev_referral(withdrawn, "2026-09-08", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 7    # the `withdrawn` notice
    for cpr in (shared, withdrawn):
        hub.assign(cpr, "cw-bob")
    hub.settle()
    bob = hub.peek("cw-bob", 4)
    assert sorted((a["cpr"] == shared, a["rule"]) for a in bob) == [
        (False, "absence.rolling"), (True, "absence.rolling"),
        (True, "addiction"), (True, "combined")]
    anna = hub.peek("cw-anna", 2)
    assert sorted((a["cpr"], a["rule"]) for a in anna) == [
        ("", "withdrawn"), (withdrawn, "combined")]


def test_health_alert_escalates_without_its_content(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    cpr = CprGen(4108).born("2008-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    # HIGH: 24 office hours -> Thursday 09-10 10:00 local.
    hub.advance("2026-09-10T08:00:00")
    hub.wait_stats("notice", lambda s: s["alerts"] == 2)
    [n] = hub.peek("desk-dora", 1)
    assert n["rule"] == "escalation" and n["cpr"] == ""
    assert n["title"] == "An alert you may not read is overdue with cw-anna"
    assert "addiction" not in json.dumps(n).lower()
    assert a["alert_id"] in n["explanation"]
    # Nor does the notice open the person's timeline to the desk: it
    # would say whom the health alert is about.
    conf = hub.tmp / "inbox-desk-dora.conf"
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--json",
                        "--timeline", cpr], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert p.returncode != 0 and "not assigned to you" in p.stderr, \
        p.stdout
    # In the terminal the notice has no person line left blank: there is
    # no person to show (OPERATIONS.md, "What inbox prints").
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--no_ack",
                        "--idle_exit", "2"], capture_output=True, text=True,
                       timeout=30 * SLOW)
    assert p.returncode == 0, p.stderr
    block = p.stdout.split("=== ")[1].splitlines()
    assert block[0].startswith(f"HIGH alert {n['alert_id']}  (escalation)")
    assert block[1:3] == [
        f"    for      {n['recipient']}, act by {n['due']}",
        "    An alert you may not read is overdue with cw-anna"], block


def test_health_alert_stops_escalating_once_consent_is_withdrawn(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    cpr = CprGen(4109).born("2008-05-05")
    referred_then_withdrawn(hub, cpr, "2026-09-07", "2026-09-08",
                            clock="2026-09-08T09:00:00")
    hub.advance("2026-09-30")
    assert hub.stats()["alerts"] == 2
    hub.peek("desk-dora", 0)
    assert "HUB-ESCALATE" not in hub.log_text()


def test_absence_corrected_to_nothing_withdraws_the_alert(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"absence.rolling.min_days": "5"})
    a, w = absence_alert_withdrawn(hub, 4110, 6, 0)
    assert w["title"] == f"Withdrawn: alert {a['alert_id']} (absence.rolling)"
    assert "school-a corrected its report for 2026-08-31 to 2026-09-04: " \
        "absence is now 0 of 30 expected lessons (0.0 %), under the " \
        "threshold of 10 %" in w["explanation"]
    # The deciding event as evidence, with its period and figures.
    [ev] = w["evidence"]
    assert (ev["type"], ev["period_start"], ev["period_end"],
            ev["lessons_absent"], ev["lessons_expected"]) == \
        ("AbsenceReport", "2026-08-31", "2026-09-04", 0, 30)


def signals_corrected_away(make_hub, seed, **rules):
    """A hub with the combined rule on (and rules): a pupil's not-ready
    assessment and another's absence week, both corrected away, then a
    dropout risk and a missed activation for each: (hub, the first
    pupil, the alerts stored after each of the three steps)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"combined.enabled": "yes",
                           "absence.rolling.min_days": "5", **rules})
    gen = CprGen(seed)
    pupil, absent = gen.born("2011-01-11"), gen.born("2011-02-11")
    hub.assign(pupil, "cw-anna")
    hub.assign(absent, "cw-anna")
    grade9 = ev_readiness(pupil, "2026-09-03", 9, not_ready_academic=True)
    week = ev_absence(absent, "2026-08-31", 6)
    hub.send(grade9, week)
    alerts = [hub.wait_applied()["alerts"]]
    hub.send(corrected(grade9, ev_readiness(pupil, "2026-09-03", 9,
                                            ready=True)),
             corrected(week, ev_absence(absent, "2026-08-31", 0)))
    alerts.append(hub.wait_applied()["alerts"])
    for cpr in (pupil, absent):
        hub.send(ev_dropout_risk(cpr, "2026-09-04"),
                 ev_missed_activation(cpr, "2026-09-05"))
    alerts.append(hub.wait_applied()["alerts"])
    return hub, pupil, alerts


def test_a_signal_a_correction_took_back_combines_no_more(make_hub):
    """RULES section 5: a correction that withdraws an alert takes its
    signal too. A pupil corrected to education-ready, and a week of
    absence corrected to none, still counted as warning signs: with a
    dropout risk and a missed activation each became an URGENT combined
    alert proposing a meeting over "not education-ready (school-a,
    2026-09-03)" or "absence (school-a, 2026-09-04)", facts the school
    had taken back."""
    hub, pupil, alerts = signals_corrected_away(make_hub, 4115)
    # Two alerts, two `withdrawn` notices, two dropout risks.
    assert alerts == [2, 4, 6]
    assert rules_of(hub.peek("cw-anna", 4)) == [
        "dropout_risk", "dropout_risk", "withdrawn", "withdrawn"]
    # A not-ready assessment that stands still combines.
    hub.send(ev_readiness(pupil, "2026-09-06", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 7
    [c] = [a for a in hub.peek("cw-anna", 5) if a["rule"] == "combined"]
    assert "not education-ready (school-a, 2026-09-06)" in c["explanation"]


def test_a_signal_a_correction_took_back_counts_not_with_its_alert_off(
        make_hub):
    """RULES section 5: a signal counts with its own alert switched off,
    and the signal of an episode a correction ends is no signal from then
    on. With `readiness.enabled = no` or `absence.rolling.enabled = no`
    the hub kept no note of which assessment or report the signal came
    from, so a correction to ready or to no absence left it standing: a
    dropout risk and a missed activation then made an URGENT combined
    alert naming a fact the school had taken back."""
    hub, pupil, alerts = signals_corrected_away(
        make_hub, 4130, **{"absence.rolling.enabled": "no",
                           "readiness.enabled": "no"})
    # No alert, so no notice; then the two dropout risks alone.
    assert alerts == [0, 0, 2]
    assert rules_of(hub.peek("cw-anna", 2)) == [
        "dropout_risk", "dropout_risk"]
    # A not-ready assessment that stands still combines, its alert off.
    hub.send(ev_readiness(pupil, "2026-09-06", 9, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 3
    [c] = [a for a in hub.peek("cw-anna", 3) if a["rule"] == "combined"]
    assert "not education-ready (school-a, 2026-09-06)" in c["explanation"]


def test_a_correction_about_another_person_corrects_nothing(make_hub):
    """PROTOCOL.md §3, Corrections: a report sent about the wrong pupil is
    not taken back by a "correction" about the right one. That is a new
    event for the right pupil; the wrong pupil's report still counts,
    its alert stays open and nothing is marked superseded. A correction
    about the wrong pupil, saying what is true for them, takes it back."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"absence.rolling.min_days": "5"})
    wrong, right = CprGen(4115).born("2012-02-12"), \
        CprGen(4116).born("2012-03-13")
    hub.assign(wrong, "cw-anna")
    hub.assign(right, "cw-anna")
    first = ev_absence(wrong, "2026-08-31", 6)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["cpr"]) == ("absence.rolling", wrong)
    moved = corrected(first, ev_absence(right, "2026-08-31", 0))
    hub.send(moved)
    hub.wait_applied()
    [still] = hub.peek("cw-anna", 1)
    assert still["alert_id"] == a["alert_id"]
    assert not any(e.get("superseded") for e in timeline(
        hub, "cw-anna", wrong) + timeline(hub, "cw-anna", right))
    hub.send(corrected(first, ev_absence(wrong, "2026-08-31", 0)))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["title"] == f"Withdrawn: alert {a['alert_id']} (absence.rolling)"
    assert [e["id"] for e in timeline(hub, "cw-anna", wrong)
            if e.get("superseded")] == [first.event_id.hex()]


def test_an_event_naming_another_persons_event_is_their_new_event(
        make_hub):
    """RULES.md section 3, Corrections: a correction is an event of the
    same agency about the same person (the timeline's test); one naming
    another person's event is applied as a new event and corrects
    nothing. A dropout risk, a missed activation and an absence report
    sent about the right pupil, each naming the wrong pupil's event, are
    the right pupil's own: the risk alerts, the miss counts toward
    missed_activation, and a report that ends the right pupil's absence
    episode withdraws nothing (as any new report)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"absence.rolling.min_days": "5"})
    wrong, right = CprGen(4141).born("2008-01-21"), \
        CprGen(4142).born("2008-02-22")
    hub.assign(wrong, "cw-anna")
    hub.assign(right, "cw-anna")
    risk = ev_dropout_risk(wrong, "2026-09-04")
    miss = ev_missed_activation(wrong, "2026-09-02")
    week = ev_absence(wrong, "2026-09-07", 0, expected=90)
    hub.send(risk, ev_missed_activation(wrong, "2026-09-01"), miss, week,
             ev_missed_activation(right, "2026-09-01"),
             ev_absence(right, "2026-08-31", 6))
    assert hub.wait_applied()["alerts"] == 3
    hub.send(corrected(risk, ev_dropout_risk(right, "2026-09-04")),
             corrected(miss, ev_missed_activation(right, "2026-09-02")),
             corrected(week, ev_absence(right, "2026-09-07", 0,
                                        expected=90)))
    assert hub.wait_applied()["alerts"] == 5
    alerts = hub.peek("cw-anna", 5)
    assert rules_of(a for a in alerts if a["cpr"] == wrong) == \
        ["dropout_risk", "missed_activation"]
    mine = {a["rule"]: a for a in alerts if a["cpr"] == right}
    assert sorted(mine) == ["absence.rolling", "dropout_risk",
                            "missed_activation"]
    assert "reported a missed activation on 2026-09-02 (activity " \
        "akt-1): 2 missed within 30 days." in \
        mine["missed_activation"]["explanation"]
    assert "HUB-WITHDRAW" not in hub.log_text()


def test_a_correction_stored_before_its_event_corrects_nothing(make_hub):
    """PROTOCOL.md §3 step 2: a correction must wait for the ack of the
    event it names. Stored first (the original was refused retryable
    and sent again, say), it is a new event; the original stored after
    it is the latest word, and its alert stays open."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"absence.rolling.min_days": "5"})
    cpr = CprGen(4117).born("2012-04-14")
    hub.assign(cpr, "cw-anna")
    first = ev_absence(cpr, "2026-08-31", 6)
    hub.send(corrected(first, ev_absence(cpr, "2026-08-31", 0)))
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "absence.rolling"
    assert not any(e.get("superseded")
                   for e in timeline(hub, "cw-anna", cpr))


def test_absence_corrected_to_another_kind_no_longer_counts(make_hub):
    """A week reported as unlawful absence, corrected to illness once the
    sick note came: the unlawful row is gone from the quarter measure. With
    it kept beside the illness row, the next week's 2 lessons made 6 of 60
    unlawful (10 %) and a warning."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.quarter.enabled": "yes",
                           "absence.rolling.enabled": "no"})
    cpr = CprGen(4111).born("2012-03-03")
    first = ev_absence(cpr, "2026-09-07", 4)
    hub.send(first)
    hub.send(corrected(first, ev_absence(cpr, "2026-09-07", 4,
                                         kind=pb().ILLNESS)))
    hub.send(ev_absence(cpr, "2026-09-14", 2))
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_absence(cpr, "2026-09-21", 7))
    # 9 of 90 unlawful over 15 school days: the warning.
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "absence.quarter.warn"
    assert "the school reported 9 of 90 expected lessons as unlawful " \
        "absence (10.0 %, 15 school days reported)" in a["explanation"]


def test_absence_corrected_to_another_period_replaces_it(make_hub):
    """A week corrected to the four days the pupil was enrolled, none of
    them absent: the five-day row is replaced, the rate is 0 of 24 and the
    alert it raised is withdrawn."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00",
                    rules={"absence.rolling.min_days": "4"})
    cpr = CprGen(4112).born("2012-04-04")
    hub.assign(cpr, "cw-anna")
    first = ev_absence(cpr, "2026-09-07", 6)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    hub.send(corrected(first, ev_absence(cpr, "2026-09-07", 0, expected=24,
                                         days=4)))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["title"] == f"Withdrawn: alert {a['alert_id']} (absence.rolling)"
    assert "school-a corrected its report for 2026-09-07 to 2026-09-10: " \
        "absence is now 0 of 24 expected lessons (0.0 %)" in w["explanation"]


def test_absence_dated_a_year_ahead_and_corrected(make_hub):
    """A week sent as 2027 by mistake takes the quarter measure to 2027's
    third quarter; its correction to 2026 takes it back, and the measure
    counts afresh: 3 of 30 in the corrected week and 3 of 30 the next make
    6 of 60, the warning. Left in 2027's quarter, the measure took every
    2026 report as late and said nothing for a year."""
    hub = rules_hub(make_hub, "2026-09-28T08:00:00",
                    rules={"absence.quarter.enabled": "yes",
                           "absence.rolling.enabled": "no"})
    cpr = CprGen(4114).born("2012-06-06")
    typo = ev_absence(cpr, "2027-09-13", 3)
    hub.send(typo)
    hub.send(corrected(typo, ev_absence(cpr, "2026-09-14", 3)))
    hub.send(ev_absence(cpr, "2026-09-21", 3))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "absence.quarter.warn"
    assert "In the quarter 2026-07-01 to 2026-09-30 the school reported 6 " \
        "of 60 expected lessons" in a["explanation"]


def test_texts_an_agency_sent_stay_on_one_line(make_hub):
    """A line break or tab an agency put in an institution's or a reason's
    name shows as a space in the alert's title and explanation and in the
    timeline's summary (PROTOCOL.md §4: the title is one line)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4199).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04", institution="college\nx",
                        programme="eud\tsmed", reason="moved\r\naway"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["title"] == "Dropped out of eud smed at college x"
    assert "left college x on 2026-09-04, reason moved  away" \
        in a["explanation"]
    for text in (a["title"], a["explanation"]):
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)
    summaries = [e["summary"] for e in timeline(hub, "cw-anna", cpr)
                 if "summary" in e]
    assert "dropped out of eud smed at college x" in summaries, summaries
    for s in summaries:
        assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in s), s


def test_a_corrected_enrolment_is_judged_as_it_now_is(make_hub):
    """RULES.md §3 Corrections, Enrolment: the start of the education the
    person left changes nothing; corrected to a start after the dropout it
    closes the episode with its notice; corrected back it reopens
    nothing."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(4131).born("2004-01-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    old = ev_enrolment(cpr, "2026-08-01")
    hub.send(old)
    assert hub.wait_applied()["alerts"] == 1
    hub.set_clock("2026-09-10T08:00:00")
    later = corrected(old, ev_enrolment(cpr, "2026-09-14"))
    hub.send(later)
    assert hub.wait_applied()["alerts"] == 2
    hub.send(corrected(later, ev_enrolment(cpr, "2026-08-01")))
    assert hub.wait_applied()["alerts"] == 2
    # No gap: the episode stays closed.
    hub.advance("2026-10-20")
    assert hub.stats()["alerts"] == 2
    assert rules_of(hub.peek("cw-anna", 2)) == ["back_on_track", "dropout"]


def test_one_missed_activation_within_one_day_is_said_in_the_singular(
        make_hub):
    """missed_activation.count and .days take 1 (RULES section 10): "1
    missed activation within 1 day", not "1 missed activations within 1
    days"."""
    hub = rules_hub(make_hub, "2026-03-30T09:00:00",
                    rules={"missed_activation.count": "1",
                           "missed_activation.days": "1"})
    cpr = CprGen(4130).born("2004-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_missed_activation(cpr, "2026-03-02"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["title"] == "1 missed activation within 1 day"
    assert "(activity akt-1): 1 missed within 1 day. Rule " \
        "missed_activation: 1 missed activation within 1 day calls for " \
        "close follow-up." in a["explanation"]


def test_a_combined_alert_naming_a_referral_taken_back_never_moves(
        make_hub):
    """RULES.md §4, §7: a combined alert that names a referral discloses
    it to whoever it moves to. Once the referral was taken back (consent
    withdrawn), a consent given again later shares the referrals that
    follow, not that one: the alert stays with the caseworker it was
    shared with, also when the new consent shares referrals on the day
    of the move."""
    hub = rules_hub(make_hub, "2026-09-08T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(4141).born("2000-07-15")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_referral(cpr, "2026-09-07", consent={"given": True}),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 3
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_STARTED",
                         consent={"given": False}))
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_ENDED",
                         consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 4    # the `withdrawn` notice
    hub.assign(cpr, "cw-bob")
    hub.settle()
    assert [a["rule"] for a in hub.peek("cw-bob", 1)] == ["absence.rolling"]
    assert sorted(a["rule"] for a in hub.peek("cw-anna", 2)) == [
        "combined", "withdrawn"]


def test_an_action_on_a_health_alert_shows_only_where_the_alert_does(
        make_hub):
    """RULES.md §4, "Who sees it": a later contact person sees no sign of
    an addiction alert. The action its recipient recorded on it (with
    its note) stayed in the person's timeline for everyone who may open
    it: the new contact person read "contact made by cw-anna: phone —
    talked about treatment" after the consent was withdrawn. It now
    shows only where the health alert itself does: to its recipient,
    while it is open."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(4142).born("2008-06-16")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-04"),
             ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    alerts = hub.peek("cw-anna", 2)
    a = next(x for x in alerts if x["rule"] == "addiction")
    d = next(x for x in alerts if x["rule"] == "dropout_risk")
    assert hub.record("cw-anna", "contact", a["alert_id"], "phone",
                      note="talked about treatment")[0] == 0
    assert hub.record("cw-anna", "contact", d["alert_id"], "letter")[0] == 0
    hub.settle()

    def actions(caseworker):
        return [e["summary"] for e in timeline(hub, caseworker, cpr)
                if e.get("type") == "CaseworkerAction"]
    assert sorted(actions("cw-anna")) == [
        "contact made by cw-anna: letter",
        "contact made by cw-anna: phone — talked about treatment"]
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    hub.settle()
    hub.assign(cpr, "cw-bob")
    hub.settle()
    assert actions("cw-bob") == ["contact made by cw-anna: letter"]
    assert "treatment" not in json.dumps(timeline(hub, "cw-bob", cpr))
