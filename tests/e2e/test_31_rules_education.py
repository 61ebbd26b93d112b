"""31 rules, education: dropout (DOMAIN rule 1), dropout risk (9),
readiness (3), transition gap (6) and back on track (7), each against a
real hubd on the injectable clock (docs/RULES.md).

Every test asserts the exact number of alerts in the store and, for each
recipient, exactly which alerts (rule, priority, recipient) reach them.
Acknowledgement escalation is set out of the way (a year) here; it has its
own tests in test_35_rules_routing.py."""

import datetime

from hubtest import (CprGen, ev_assignment, ev_dropout, ev_dropout_risk,
                     ev_enrolment, ev_leaving, ev_readiness, rules_hub)


def ms(when):
    """The hub clock's reading for "YYYY-MM-DD[THH:MM:SS]" (UTC), in ms."""
    if "T" not in when:
        when += "T00:00:00"
    t = datetime.datetime.fromisoformat(when).replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)


def summary(alerts):
    return sorted((a["rule"], a["priority"], a["recipient"]) for a in alerts)


def test_dropout_alerts_contact_person_at_once(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3101).born("2004-05-05")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07", reason="r12"))
    # At once: on the clock of the dropout, no time has to pass.
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("dropout", "HIGH", "cw-anna", adult)
    assert a["raised_at"] == ms("2026-09-07T08:00:00")
    assert a["title"] == "Dropped out of eud-smed at college-x"
    assert "college-a reported that the young person left college-x on " \
        "2026-09-07, reason r12" in a["explanation"]
    assert "Rule dropout: a dropout alerts the contact person at once" \
        in a["explanation"]
    # 5 working days after Monday 2026-09-07.
    assert a["due"] == "2026-09-14"
    [ev] = a["evidence"]
    assert (ev["agency"], ev["type"], ev["period_start"]) == \
        ("college-a", "Dropout", "2026-09-07")
    # Nothing for the desk.
    hub.peek("desk-dora", 0)


def test_dropout_title_of_long_names_is_cut_at_a_character(make_hub):
    """RULES.md section 1: a title is at most 159 bytes, an explanation
    1023; longer (the names an agency sent may be 256 bytes each) they
    are cut at a character boundary, and the explanation of a dropout
    with the longest names still ends with what is expected."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3115).born("2010-05-05")
    hub.send(ev_dropout(cpr, "2026-09-07", institution="ø" * 128,
                        programme="å" * 128, reason="r" * 256))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["title"] == "Dropped out of " + "å" * 72
    assert len(a["explanation"].encode()) <= 1023
    assert a["explanation"].endswith(
        "Expected of you: make contact by 2026-09-14 and record it "
        "(inbox --contact).")


def test_dropout_without_contact_person_goes_to_desk(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3102).born("2003-01-20")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("dropout", "HIGH", "duty-desk", adult)
    hub.peek("cw-anna", 0)


def test_dropout_risk_alerts_contact_person(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3103).born("2008-02-02")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-04", reason="absence"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert summary([a]) == [("dropout_risk", "NORMAL", "cw-anna")]
    assert a["title"] == "Risk of dropping out of college-x"
    assert "assessed 2026-09-04, reason absence" in a["explanation"]
    assert a["due"] == "2026-09-14"


def test_the_same_fact_under_a_new_id_alerts_again_unless_a_correction(
        make_hub):
    """RULES section 1: a not-ready assessment and a dropout risk raise
    one alert per event, and the hub knows an event by its id only. The
    page said only that "a rule that keeps holding does not repeat
    itself", which reads as if the same assessment sent twice alerted
    once: it alerts twice; sent as a correction it raises nothing."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3131)
    pupil, student = gen.born("2011-01-11"), gen.born("2008-02-02")
    hub.assign(pupil, "cw-anna")
    hub.assign(student, "cw-anna")
    first = ev_readiness(pupil, "2026-09-03", 9, not_ready_academic=True)
    hub.send(first,
             ev_readiness(pupil, "2026-09-03", 9, not_ready_academic=True),
             ev_dropout_risk(student, "2026-09-04"),
             ev_dropout_risk(student, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 4
    assert [(a["rule"], a["title"]) for a in hub.peek("cw-anna", 4)] == \
        [("readiness", "Not education-ready in grade 9")] * 2 + \
        [("dropout_risk", "Risk of dropping out of college-x")] * 2
    again = ev_readiness(pupil, "2026-09-03", 9, not_ready_academic=True)
    again.supersedes = first.event_id
    hub.send(again)
    assert hub.wait_applied()["alerts"] == 4


def test_readiness_not_ready_in_grades_8_and_9_only(make_hub):
    hub = rules_hub(make_hub, "2026-01-20T08:00:00")
    g8, g9, g10, g7, ready9 = CprGen(3104).take(5)
    for cpr in (g8, g9, g10, g7, ready9):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_readiness(g8, "2026-01-15", 8, not_ready_academic=True,
                          not_ready_social=True),
             ev_readiness(g9, "2026-01-15", 9, not_ready_personal=True),
             ev_readiness(g10, "2026-01-15", 10, not_ready_academic=True),
             ev_readiness(g7, "2026-01-15", 7, not_ready_academic=True),
             ev_readiness(ready9, "2026-01-15", 9, ready=True))
    # Grade 10, grade 7 and "ready" raise nothing.
    assert hub.wait_applied()["alerts"] == 2
    alerts = hub.peek("cw-anna", 2)
    assert summary(alerts) == [("readiness", "NORMAL", "cw-anna")] * 2
    by_cpr = {a["cpr"]: a for a in alerts}
    assert set(by_cpr) == {g8, g9}
    assert by_cpr[g8]["title"] == "Not education-ready in grade 8"
    assert "(areas: academic, social)" in by_cpr[g8]["explanation"]
    assert "Rule readiness: a not-ready assessment in grade 8 or 9 goes " \
        "to the guidance counsellor" in by_cpr[g8]["explanation"]
    assert "(areas: personal)" in by_cpr[g9]["explanation"]
    # Ten working days after Tuesday 2026-01-20.
    assert by_cpr[g9]["due"] == "2026-02-03"


def test_readiness_grades_are_configuration(make_hub):
    hub = rules_hub(make_hub, "2026-01-20T08:00:00",
                    rules={"readiness.grades": "10"})
    # (and the explanation names the configured grades)
    g9, g10 = CprGen(3105).take(2)
    hub.send(ev_readiness(g9, "2026-01-15", 9),
             ev_readiness(g10, "2026-01-15", 10))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert (a["cpr"], a["rule"]) == (g10, "readiness")
    assert "a not-ready assessment in grade 10 goes" in a["explanation"]


def test_readiness_grade_7_alerts_when_configured(make_hub):
    """RULES.md, Not education-ready: an assessment names grade 7-10;
    readiness.grades = 6,7 makes a grade 7 not-ready assessment alert
    the guidance counsellor (before the contact person), with the
    configured grades named (grade 6 never arrives: refused at ingest)."""
    hub = rules_hub(make_hub, "2026-01-20T08:00:00",
                    rules={"readiness.grades": "6,7",
                           "readiness.priority": "high"})
    cpr = CprGen(3106).next()
    hub.assign(cpr, "cw-anna")
    hub.send(ev_assignment(cpr, "cw-bob", "2024-01-01", role="guidance"))
    hub.wait_applied()
    hub.send(ev_readiness(cpr, "2026-01-15", 7, not_ready_social=True))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-bob", 1)
    assert summary([a]) == [("readiness", "HIGH", "cw-bob")]
    assert "not education-ready in grade 7 on 2026-01-15 (areas: " \
        "social). Rule readiness: a not-ready assessment in grade 6 or 7 " \
        "goes to the guidance counsellor" in a["explanation"]
    hub.peek("cw-anna", 0)


def test_transition_gap_after_day_30_not_before(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3106).born("2004-03-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    # (No school holiday between 09-07 and 10-07: every day counts.)
    # Day 29, to its last second: nothing.
    hub.advance("2026-10-06T23:59:59")
    assert hub.stats()["alerts"] == 1
    # Day 30 is still "within 30 days": an enrolment today is in time.
    hub.advance("2026-10-07T12:00:00")
    assert hub.stats()["alerts"] == 1
    # Day 31: the gap alert, once.
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.advance("2026-10-20")
    assert hub.stats()["alerts"] == 2
    alerts = hub.peek("cw-anna", 2)
    assert summary(alerts) == [("dropout", "HIGH", "cw-anna"),
                               ("transition_gap", "HIGH", "cw-anna")]
    gap = next(a for a in alerts if a["rule"] == "transition_gap")
    assert gap["title"] == "No new education 30 days after leaving"
    assert "left school or education on 2026-09-07" in gap["explanation"]
    assert "no new enrolment within 30 days" in gap["explanation"]
    assert gap["raised_at"] == ms("2026-10-08")


def test_an_exit_reported_after_its_30th_day_alerts_at_once(make_hub):
    """RULES section 3: the gap counts from the exit's date, not from the
    day the hub learned of it. A dropout of 08-17 (day 30: 09-16)
    reported on 10-05 brings its gap alert with the dropout alert."""
    hub = rules_hub(make_hub, "2026-10-05T09:00:00")
    adult = CprGen(3131).born("2004-03-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-08-17"))
    hub.settle()
    assert hub.stats()["alerts"] == 2
    gap = next(a for a in hub.peek("cw-anna", 2)
               if a["rule"] == "transition_gap")
    assert gap["raised_at"] == ms("2026-10-05T09:00:00")
    assert "left school or education on 2026-08-17" in gap["explanation"]


def test_transition_gap_after_school_leaving_skips_the_summer(make_hub):
    """A grade-9 leaver on Friday 2026-06-26: the summer holiday
    (06-27..08-09) does not count toward the 30 days, so the gap opens
    only after the 30th day outside it, 2026-09-08."""
    hub = rules_hub(make_hub, "2026-06-26T14:00:00")
    pupil = CprGen(3107).born("2010-04-04")
    hub.assign(pupil, "cw-anna")
    hub.send(ev_leaving(pupil, "2026-06-26", grade=9,
                        kind="COMPLETED_GRADE"))
    # Leaving school alerts nobody by itself.
    assert hub.wait_applied()["alerts"] == 0
    # 30 calendar days later: still the summer holiday.
    hub.advance("2026-07-27T12:00:00")
    assert hub.stats()["alerts"] == 0
    hub.advance("2026-09-08T23:59:59")
    assert hub.stats()["alerts"] == 0
    hub.advance("2026-09-09T00:00:00")
    assert hub.stats()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"]) == ("transition_gap", "HIGH")
    assert a["title"] == "No new education 30 days after leaving"
    assert "left school or education on 2026-06-26 (reported by " \
        "school-a)" in a["explanation"]
    [ev] = a["evidence"]
    assert (ev["agency"], ev["type"], ev["period_start"]) == \
        ("school-a", "SchoolLeaving", "2026-06-26")
    # An enrolment later is no "back on track": there was no dropout.
    hub.send(ev_enrolment(pupil, "2026-09-14"))
    hub.settle()
    assert hub.stats()["alerts"] == 1


def test_an_earlier_exit_reported_late_leaves_the_gap_clock_alone(
        make_hub):
    """RULES section 3, Transition gap: the clock of the latest exit
    fires. A school's export of a grade 10 leaving of 2026-06-26 that
    reaches the hub after the college's dropout of 09-07 replaced the
    dropout's clock with its own: the gap opened at 09-09, counted from
    June, naming the school. The dropout is the latest exit; its clock
    stays, due at 10-08 00:00."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3114).born("2004-07-07")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.set_clock("2026-09-08T08:00:00")
    hub.send(ev_leaving(adult, "2026-06-26", grade=10))
    hub.advance("2026-10-07T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 2
    [gap] = [a for a in hub.peek("cw-anna", 2)
             if a["rule"] == "transition_gap"]
    assert "left school or education on 2026-09-07 (reported by " \
        "college-a)" in gap["explanation"]


def test_an_earlier_dropout_reported_late_leaves_the_gap_clock_alone(
        make_hub):
    """As for a school leaving: college-y's dropout of 08-20, reported
    after college-x's of 09-07, moved the gap clock back to August, and
    the gap opened at the first loop turn after 09-19 ("left school or
    education on 2026-08-20") for someone at college-x until 09-07. It is
    not the latest exit: it alerts as a dropout, and the gap is counted
    from 09-07, open at 10-08 00:00."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3116).born("2004-07-07")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.set_clock("2026-09-10T08:00:00")
    hub.send(ev_dropout(adult, "2026-08-20", institution="college-y"))
    assert hub.wait_applied()["alerts"] == 2
    hub.advance("2026-10-07T23:59:59")
    assert hub.stats()["alerts"] == 2
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 3
    [gap] = [a for a in hub.peek("cw-anna", 3)
             if a["rule"] == "transition_gap"]
    assert "left school or education on 2026-09-07 (reported by " \
        "college-a)" in gap["explanation"]


def test_a_corrected_leaving_date_moves_the_gap_clock(make_hub):
    """A school corrects the day a pupil left (the natural key is school,
    CPR and grade: the day is a value, ADAPTERS.md), to an earlier one:
    that is the exit now, not an earlier exit reported late. 06-19
    instead of 06-26: 7 days before the summer holiday, 23 after it,
    the gap opens at 09-02 00:00."""
    hub = rules_hub(make_hub, "2026-06-26T14:00:00")
    pupil = CprGen(3115).born("2010-08-08")
    hub.assign(pupil, "cw-anna")
    first = ev_leaving(pupil, "2026-06-26", grade=9, kind="COMPLETED_GRADE")
    hub.send(first)
    hub.wait_applied()
    fix = ev_leaving(pupil, "2026-06-19", grade=9, kind="COMPLETED_GRADE")
    fix.supersedes = first.event_id
    hub.send(fix)
    hub.advance("2026-09-01T23:59:59")
    assert hub.stats()["alerts"] == 0
    hub.advance("2026-09-02T00:00:00")
    assert hub.stats()["alerts"] == 1
    [gap] = hub.peek("cw-anna", 1)
    assert "left school or education on 2026-06-19" in gap["explanation"]


def test_a_correction_after_the_gap_opened_opens_no_second_one(make_hub):
    """RULES section 3: one alert per episode. A leaving of 09-01 opened
    its gap on 10-02 (the alert); the school then corrected the day to
    09-20, and the clock it moved to opened the gap again on 10-28: a
    second "No new education 30 days after leaving" for the same exit (a
    dropout's correction raised none: the same id, stored once)."""
    hub = rules_hub(make_hub, "2026-09-01T09:00:00")
    gen = CprGen(3132)
    pupil, adult = gen.born("2010-05-05"), gen.born("2000-05-05")
    hub.assign(pupil, "cw-anna")
    hub.assign(adult, "cw-anna")
    leaving, dropout = ev_leaving(pupil, "2026-09-01"), \
        ev_dropout(adult, "2026-09-01")
    hub.send(leaving, dropout)
    hub.wait_applied()
    hub.advance("2026-10-02T00:00:00")
    assert hub.stats()["alerts"] == 3
    hub.set_clock("2026-10-05T09:00:00")
    leaving_fix = ev_leaving(pupil, "2026-09-20")
    leaving_fix.supersedes = leaving.event_id
    dropout_fix = ev_dropout(adult, "2026-09-20")
    dropout_fix.supersedes = dropout.event_id
    hub.send(leaving_fix, dropout_fix)
    # 30 days outside the autumn holiday after 09-20: 10-27.
    hub.advance("2026-10-28T00:00:00")
    hub.advance("2026-11-30T00:00:00")
    assert hub.stats()["alerts"] == 3
    assert sorted(a["rule"] for a in hub.peek("cw-anna", 3)) == \
        ["dropout", "transition_gap", "transition_gap"]


def test_transition_gap_is_the_only_timer(make_hub):
    """The gap timer alone in the store (no alert, so no acknowledgement
    timer beside it): it fires, and the hub logs no error."""
    hub = rules_hub(make_hub, "2026-03-02T10:00:00",
                    rules={"transition_gap.days": "10"})
    pupil = CprGen(3112).born("2010-05-05")
    hub.send(ev_leaving(pupil, "2026-03-02", kind="LEFT_SCHOOL"))
    hub.wait_applied()
    hub.advance("2026-03-12T23:59:59")
    assert hub.stats()["alerts"] == 0
    hub.advance("2026-03-13T00:00:00")
    assert hub.stats()["alerts"] == 1
    assert "hubd err" not in hub.log_text()


def test_transition_gap_skips_the_autumn_holiday(make_hub):
    hub = rules_hub(make_hub, "2026-09-28T08:00:00")
    adult = CprGen(3113).born("2004-06-06")
    hub.send(ev_dropout(adult, "2026-09-28"))
    hub.wait_applied()
    # 13 days to 10-11, week 42 (10-12..18) not counted, 17 more days:
    # the 30th is 2026-11-04.
    hub.advance("2026-10-29T12:00:00")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-11-04T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-11-05T00:00:00")
    assert hub.stats()["alerts"] == 2


def test_enrolment_within_the_gap_stops_it(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3108).born("2005-05-05")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.set_clock("2026-09-28T09:00:00")
    hub.send(ev_enrolment(adult, "2026-09-28"))
    hub.advance("2026-11-01")
    # The dropout, and back on track; no gap.
    assert hub.stats()["alerts"] == 2
    alerts = hub.peek("cw-anna", 2)
    assert summary(alerts) == [("back_on_track", "LOW", "cw-anna"),
                               ("dropout", "HIGH", "cw-anna")]


def test_back_on_track_40_days_after_dropout(make_hub):
    """The strategy's vocational student who drops out and re-enrols at
    FGU after 40 days: the gap alert at day 30, then back on track."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3109).born("2004-11-11")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-10-08T00:00:01")
    assert hub.stats()["alerts"] == 2
    hub.set_clock("2026-10-17T10:00:00")
    hub.send(ev_enrolment(adult, "2026-10-17", institution="fgu-vest",
                          programme="fgu-egu"))
    assert hub.wait_applied()["alerts"] == 3
    # Nothing further, however long.
    hub.advance("2027-01-31")
    assert hub.stats()["alerts"] == 3
    alerts = hub.peek("cw-anna", 3)
    assert summary(alerts) == [("back_on_track", "LOW", "cw-anna"),
                               ("dropout", "HIGH", "cw-anna"),
                               ("transition_gap", "HIGH", "cw-anna")]
    back = next(a for a in alerts if a["rule"] == "back_on_track")
    assert back["title"] == "Back on track: enrolled at fgu-vest"
    assert "After leaving education on 2026-09-07 the young person " \
        "started fgu-egu at fgu-vest on 2026-10-17 (40 days later)" \
        in back["explanation"]
    # A second enrolment closes nothing more.
    hub.send(ev_enrolment(adult, "2026-11-02", institution="fgu-oest"))
    assert hub.wait_applied()["alerts"] == 3


def test_back_on_track_before_the_education_begins(make_hub):
    """An enrolment reported before its start closes the episode at once;
    the notice does not say the young person already started."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3112).born("2004-12-12")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.set_clock("2026-09-21T10:00:00")
    hub.send(ev_enrolment(adult, "2026-11-02", institution="fgu-vest",
                          programme="fgu-egu"))
    assert hub.wait_applied()["alerts"] == 2
    # The gap clock stopped with it.
    hub.advance("2026-10-09")
    assert hub.stats()["alerts"] == 2
    back = next(a for a in hub.peek("cw-anna", 2)
                if a["rule"] == "back_on_track")
    assert "After leaving education on 2026-09-07 the young person is to " \
        "start fgu-egu at fgu-vest on 2026-11-02 (56 days later)" \
        in back["explanation"]


def test_back_on_track_the_day_after_says_one_day(make_hub):
    """RULES.md §3 back_on_track: the notice counts the days since the
    person left, "(1 day later)" for the next day."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3113).born("2004-11-11")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.send(ev_enrolment(adult, "2026-09-08", institution="fgu-vest",
                          programme="fgu-egu"))
    assert hub.wait_applied()["alerts"] == 2
    back = next(a for a in hub.peek("cw-anna", 2)
                if a["rule"] == "back_on_track")
    assert "the young person is to start fgu-egu at fgu-vest on " \
        "2026-09-08 (1 day later)." in back["explanation"]


def test_dropout_reported_after_a_later_enrolment_opens_no_episode(
        make_hub):
    """The person is back already: the dropout still alerts at once, due
    5 working days after the day the hub learned of it (not after an
    earlier episode's), and no gap clock or notice follows."""
    hub = rules_hub(make_hub, "2026-03-02T08:00:00")
    adult = CprGen(3113).born("2004-06-06")
    hub.assign(adult, "cw-anna")
    # An earlier episode, closed by an enrolment.
    hub.send(ev_dropout(adult, "2026-03-02", institution="college-y"))
    hub.set_clock("2026-03-16T08:00:00")
    hub.send(ev_enrolment(adult, "2026-03-16", institution="eud-vest"))
    assert hub.wait_applied()["alerts"] == 2
    # Monday 2026-10-05: the FGU reports the start of 10-01 first, then
    # eud-vest its dropout of 09-07.
    hub.set_clock("2026-10-05T08:00:00")
    hub.send(ev_enrolment(adult, "2026-10-01"))
    hub.send(ev_dropout(adult, "2026-09-07", institution="eud-vest"))
    assert hub.wait_applied()["alerts"] == 3
    [d] = [a for a in hub.peek("cw-anna", 3)
           if a["rule"] == "dropout" and "eud-vest" in a["title"]]
    assert d["due"] == "2026-10-12"
    assert "left eud-vest on 2026-09-07" in d["explanation"]
    hub.advance("2026-12-01")
    assert hub.stats()["alerts"] == 3


def test_enrolment_without_dropout_is_quiet(make_hub):
    hub = rules_hub(make_hub, "2026-08-10T08:00:00")
    cpr = CprGen(3110).born("2010-08-01")
    hub.send(ev_enrolment(cpr, "2026-08-10"),
             ev_enrolment(cpr, "2026-08-10", institution="college-y",
                          end="2026-12-20", end_reason="COMPLETED"))
    assert hub.wait_applied()["alerts"] == 0


def test_disabled_rules_raise_nothing(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"dropout.enabled": "no",
                           "dropout_risk.enabled": "no",
                           "readiness.enabled": "no",
                           "transition_gap.enabled": "no",
                           "back_on_track.enabled": "no"})
    gen = CprGen(3111)
    a, b = gen.born("2004-01-01"), gen.born("2009-01-01")
    hub.send(ev_dropout(a, "2026-09-07"), ev_dropout_risk(b, "2026-09-07"),
             ev_readiness(b, "2026-09-07", 9))
    hub.wait_applied()
    hub.advance("2026-10-09")
    hub.send(ev_enrolment(a, "2026-10-09"))
    hub.settle()
    assert hub.stats()["alerts"] == 0
    assert "HUB-ALERT" not in hub.log_text()


def test_without_the_dropout_rule_a_recorded_contact_starts_no_clock(
        make_hub):
    """dropout.enabled = no: no dropout alert and no legal clock for a
    16-year-old, not even the offer clock a recorded contact would
    start; the gap clock runs on."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"dropout.enabled": "no"})
    cpr = CprGen(3115).born("2010-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"), ev_dropout_risk(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [risk] = hub.peek("cw-anna", 1)
    hub.set_clock("2026-09-08T08:00:00")
    assert hub.record("cw-anna", "contact", risk["alert_id"], "phone")[0] == 0
    hub.settle()
    hub.advance("2026-12-01")
    assert summary(hub.peek("cw-anna", 2)) == [
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("transition_gap", "HIGH", "cw-anna")]
    hub.peek("desk-dora", 0)
    assert "HUB-DEADLINE" not in hub.log_text()


def test_old_enrolment_arriving_after_the_dropout_closes_nothing(make_hub):
    """The start row of the education left (or of an earlier one) may
    arrive after the dropout (agencies export on their own schedules):
    only an education that starts after the day the person left ends the
    episode. The legal clocks of a 16-year-old keep running."""
    hub = rules_hub(make_hub, "2026-10-16T08:00:00")
    gen = CprGen(3111)
    young, leaver = gen.born("2010-02-02"), gen.born("2005-03-03")
    hub.assign(young, "cw-anna")
    hub.assign(leaver, "cw-anna")
    hub.send(ev_dropout(young, "2026-10-16"), ev_leaving(leaver, "2026-10-16"))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_enrolment(young, "2026-08-10", institution="eud-vestegnen",
                          programme="eud-tomrer"),
             ev_enrolment(young, "2026-10-16", institution="eud-vestegnen"),
             ev_enrolment(leaver, "2025-08-15"))
    hub.wait_applied()
    assert hub.stats()["alerts"] == 1
    # Contact is due 5 working days after Friday 10-16: Friday 10-23; the
    # desk is warned on 10-22 and the miss alerted on 10-24. The gap
    # clocks (30 days, the autumn holiday 10-10..10-18 not counted) still
    # open for both.
    hub.advance("2026-10-22T00:00:01")
    hub.advance("2026-10-24T00:00:01")
    assert {a["rule"] for a in hub.peek("desk-dora", 2)} == {
        "deadline.contact.warn", "deadline.contact.missed"}
    hub.advance("2026-11-30")
    assert summary(hub.peek("cw-anna", 3)) == [
        ("dropout", "HIGH", "cw-anna"),
        ("transition_gap", "HIGH", "cw-anna"),
        ("transition_gap", "HIGH", "cw-anna")]
    # An education that starts after the day they left: back on track.
    hub.send(ev_enrolment(young, "2026-12-01"))
    hub.wait_applied()
    back = [a for a in hub.peek("cw-anna", 4)
            if a["rule"] == "back_on_track"]
    assert len(back) == 1
    assert "on 2026-12-01 (46 days later)" in back[0]["explanation"]


def test_rules_do_not_filter_by_age(make_hub):
    """The target group is 13-30, but the hub checks no age: a dropout of
    a 12-year-old and of someone turning 31 that day alert as any other,
    without legal clocks."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3114)
    child, thirty_one = gen.born("2014-01-01"), gen.born("1995-09-07")
    for cpr in (child, thirty_one):
        hub.assign(cpr, "cw-anna")
        hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    for a in hub.peek("cw-anna", 2):
        assert (a["rule"], a["due"]) == ("dropout", "2026-09-14")
        assert a["explanation"].endswith(
            "Expected of you: make contact as soon as possible.")
    hub.advance("2026-09-15T00:00:01")
    hub.peek("desk-dora", 0)


def test_a_gap_of_one_day_is_said_in_the_singular(make_hub):
    """transition_gap.days takes 1 (RULES section 10): "No new education
    1 day after leaving", not "1 days"."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"transition_gap.days": "1"})
    adult = CprGen(3130).born("2004-03-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-09-09T00:00:00")
    [gap] = [a for a in hub.peek("cw-anna", 2)
             if a["rule"] == "transition_gap"]
    assert gap["title"] == "No new education 1 day after leaving"
    assert "no new enrolment within 1 day (school holidays not counted)" \
        in gap["explanation"]


def test_a_school_leaving_reported_after_its_30th_day_alerts_at_once(
        make_hub):
    """RULES section 3: the gap counts from the exit's date for a grade-9
    leaver too, not from the day the hub learned of it. A leaving of
    2026-09-04 (no holiday until 10-10: day 30 is 10-04) reported on
    10-06 opens the gap at once; a leaving raises no alert of its own."""
    hub = rules_hub(make_hub, "2026-10-06T09:00:00")
    pupil = CprGen(3133).born("2011-03-03")
    hub.assign(pupil, "cw-anna")
    hub.send(ev_leaving(pupil, "2026-09-04"))
    hub.settle()
    [gap] = hub.peek("cw-anna", 1)
    assert gap["rule"] == "transition_gap", gap
    assert gap["raised_at"] == ms("2026-10-06T09:00:00")
    assert "2026-09-04" in gap["explanation"]
