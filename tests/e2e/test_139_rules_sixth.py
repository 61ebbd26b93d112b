"""139 rules, sixth round: docs/RULES.md read as a caseworker and a
municipal analyst read it, each case built as the page states it and
compared detail by detail with what a real hubd raises.

rules_hub keeps escalation out of the way; 2026-09-07 is a Monday."""

from hubtest import (CprGen, ev_absence, ev_dropout, ev_leaving,
                     ev_missed_activation, ev_readiness, ev_referral,
                     rules_hub)
from test_41_rules_followup import corrected


def by_rule(alerts, rule):
    return [a for a in alerts if a["rule"] == rule]


def test_a_consent_that_expired_on_1970_01_01_shares_nothing(make_hub):
    """RULES.md §4: `expires` is "the last valid day ... empty = until
    withdrawn"; shared means "not expired at that instant", and a
    statement with "an `expires` day already past" takes the open
    `addiction` alerts back ("the young person's consent to share it
    ended on ..."). Every date from 1900 to 2199 is a day (§9), and
    1970-01-01 is long past: a referral under it is not shared, and a
    statement with it withdraws. (Day 0 was read as "no expiry": the
    referral was shared with the contact person, and the statement
    changed nothing.)"""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    gen = CprGen(13901)
    expired, shared = gen.born("2000-03-06"), gen.born("2000-03-07")
    hub.assign(expired, "cw-anna")
    hub.assign(shared, "cw-bob")
    hub.send(ev_referral(expired, "2026-09-07",
                         consent={"given": True, "expires": "1970-01-01"}),
             ev_referral(shared, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    hub.peek("cw-anna", 0)
    [alert] = hub.peek("cw-bob", 1)
    assert alert["rule"] == "addiction"
    hub.send(ev_referral(shared, "2026-09-07", stage="TREATMENT_STARTED",
                         consent={"given": True, "expires": "1970-01-01"}))
    assert hub.wait_applied()["alerts"] == 2
    [notice] = hub.peek("cw-bob", 1)
    assert notice["rule"] == "withdrawn"
    assert notice["explanation"] == (
        f"Alert {alert['alert_id']} (addiction) is withdrawn: the young "
        "person's consent to share it ended on 1970-01-01. Nothing more "
        "is expected of you for it.")


def test_born_on_1970_01_01_has_an_age_like_anyone(make_hub):
    """RULES.md §1: the age comes from "the CPR's birth date, in the
    century its 7th digit gives", and §6: a 15-17-year-old's dropout
    starts the legal clocks, the alert naming the age. One born on
    1 January 1970 who drops out on Monday 1986-01-06 is 16: "The young
    person is 16", contact due 1986-01-13. (Day 0 was read as no birth
    date: no age, no clocks, "make contact as soon as possible".)"""
    hub = rules_hub(make_hub, "1986-01-06T09:00:00")
    gen = CprGen(13902)
    epoch, next_day = gen.born("1970-01-01"), gen.born("1970-01-02")
    hub.assign(epoch, "cw-anna", start="1985-01-01")
    hub.assign(next_day, "cw-bob", start="1985-01-01")
    hub.send(ev_dropout(epoch, "1986-01-06"),
             ev_dropout(next_day, "1986-01-06"))
    assert hub.wait_applied()["alerts"] == 2
    for caseworker in ("cw-anna", "cw-bob"):
        [a] = hub.peek(caseworker, 1)
        assert "The young person is 16 (the legal deadlines apply from 15 " \
            "to 17)" in a["explanation"], (caseworker, a["explanation"])
        assert "Expected of you: make contact by 1986-01-13 and record " \
            "it (inbox --contact)." in a["explanation"]
        assert a["due"] == "1986-01-13"
    # Both clocks run: the warnings come at the start of Friday 01-10.
    hub.advance("1986-01-10T00:00:00")
    warned = hub.peek("desk-dora", 2)
    assert sorted(w["cpr"] for w in warned) == sorted([epoch, next_day])
    assert {w["rule"] for w in warned} == {"deadline.contact.warn"}


def test_a_second_correction_naming_the_first_report_is_a_correction(
        make_hub):
    """RULES.md §3, "Corrections", and PROTOCOL.md §3: an event whose
    `supersedes` names an earlier event of the same agency about the
    same person is a correction. "A correction of the Dropout that
    opened the open dropout episode — or of a correction of it — raises
    nothing and restarts no clock"; a correction of a not-ready
    assessment that raised an alert (or of a correction of it) saying
    ready withdraws that alert; a correction of a referral (or of a
    correction of it) is the same referral, shared once. A sender that
    corrects twice, naming the first report both times (not the first
    correction), sends corrections all the same: no second `dropout` or
    `addiction` alert, the readiness alert withdrawn, and the contact
    clock, running from the first report, warns once naming the date as
    last corrected. (The second correction was applied as a new
    dropout and a new referral, each alerting again, and the ready
    assessment left the readiness alert open.)"""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    gen = CprGen(13903)
    young, pupil, referred = (gen.born("2010-01-05"), gen.born("2012-01-05"),
                              gen.born("2000-01-06"))
    hub.assign(young, "cw-anna")
    hub.assign(pupil, "cw-bob")
    hub.assign(referred, "cw-bob")
    dropout = ev_dropout(young, "2026-09-07")
    assessment = ev_readiness(pupil, "2026-09-07", 9)
    referral = ev_referral(referred, "2026-09-07", consent={"given": True})
    hub.send(dropout, assessment, referral)
    assert hub.wait_applied()["alerts"] == 3
    [readiness] = by_rule(hub.peek("cw-bob", 2), "readiness")
    hub.set_clock("2026-09-08T09:00:00")
    hub.send(corrected(dropout, ev_dropout(young, "2026-09-04")),
             corrected(assessment, ev_readiness(pupil, "2026-09-06", 9)),
             corrected(referral, ev_referral(referred, "2026-09-06",
                                             consent={"given": True})))
    assert hub.wait_applied()["alerts"] == 3
    hub.set_clock("2026-09-09T09:00:00")
    last = corrected(dropout, ev_dropout(young, "2026-09-03"))
    hub.send(last,
             corrected(assessment, ev_readiness(pupil, "2026-09-06", 9,
                                                ready=True)),
             corrected(referral, ev_referral(referred, "2026-09-05",
                                             consent={"given": True})))
    assert hub.wait_applied()["alerts"] == 4
    [notice] = by_rule(hub.peek("cw-bob", 2), "withdrawn")
    assert notice["title"] == \
        f"Withdrawn: alert {readiness['alert_id']} (readiness)"
    assert notice["explanation"].endswith(
        ": the pupil is education-ready. Nothing more is expected of you "
        "for it.")
    assert [a["rule"] for a in hub.peek("cw-anna", 1)] == ["dropout"]
    hub.advance("2026-09-11T00:00:00")
    [warn] = hub.peek("desk-dora", 1)
    assert warn["rule"] == "deadline.contact.warn"
    assert "college-a reported the dropout on 2026-09-07, dated " \
        "2026-09-03. Not recorded as done, and the deadline is " \
        "2026-09-14." in warn["explanation"]
    assert [e["event_id"] for e in warn["evidence"]] == [last.event_id.hex()]
    assert hub.stats()["alerts"] == 5


def test_a_leaving_corrected_twice_naming_the_first_report(make_hub):
    """RULES.md §3, "Transition gap": "a correction of that exit's own day
    (`supersedes`) moves the clock to the corrected day, earlier or
    later, until the gap has opened: a correction after that (the clock
    fired) opens no second gap". Two pupils leave on 2026-09-01, each
    report corrected to 09-05 (the gap then opens at 10-06 00:00), and
    corrected again naming the first report: to 09-03 before the gap
    opened, which moves it to 10-04 00:00; to 09-10 after it opened,
    which opens no second gap. (The second correction was taken for a
    new exit: one dated before the latest left the clock where it was,
    one dated after it opened a second gap.)"""
    hub = rules_hub(make_hub, "2026-09-01T09:00:00")
    gen = CprGen(13904)
    earlier, later = gen.born("2010-02-05"), gen.born("2010-02-06")
    hub.assign(earlier, "cw-anna")
    hub.assign(later, "cw-bob")
    first = {cpr: ev_leaving(cpr, "2026-09-01") for cpr in (earlier, later)}
    hub.send(*first.values())
    hub.set_clock("2026-09-02T09:00:00")
    hub.send(*(corrected(first[cpr], ev_leaving(cpr, "2026-09-05"))
               for cpr in (earlier, later)))
    hub.set_clock("2026-09-03T09:00:00")
    hub.send(corrected(first[earlier], ev_leaving(earlier, "2026-09-03")))
    hub.advance("2026-10-03T23:59:59")
    assert hub.stats()["alerts"] == 0
    hub.advance("2026-10-04T00:00:00")
    assert hub.stats()["alerts"] == 1
    [gap] = hub.peek("cw-anna", 1)
    assert gap["rule"] == "transition_gap"
    assert "left school or education on 2026-09-03" in gap["explanation"]
    hub.advance("2026-10-06T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.set_clock("2026-10-07T09:00:00")
    hub.send(corrected(first[later], ev_leaving(later, "2026-09-10")))
    hub.advance("2026-11-30T00:00:00")
    assert hub.stats()["alerts"] == 2
    assert [a["rule"] for a in hub.peek("cw-bob", 1)] == ["transition_gap"]


def test_corrections_naming_the_first_report_correct_it_as_last_corrected(
        make_hub):
    """RULES.md §3, "Corrections": a correction of a miss "is the same
    miss and counts once, on the date the correction gives"; an absence
    correction "replaces, in both measures, the row it corrects —
    whatever period, kind or school it now gives". A sender that names
    the first report in each of two corrections corrects the fact as the
    first correction left it: the miss of 03-02, corrected to 02-01 and
    then to 03-10, shares its window with one of 03-20 (the alert); the
    week of 09-07, corrected to the week of 09-14 and then to that of
    09-21 with 3 of 30 lessons, is one week: 3 of 30, 10 %, the rolling
    alert. (The second correction looked for the first report's day and
    row, which were gone: the miss stayed on 02-01, no alert, and the
    week of 09-14 stayed counted beside the new one, 3 of 60.)"""
    hub = rules_hub(make_hub, "2026-03-25T09:00:00")
    gen = CprGen(13905)
    adult, pupil = gen.born("2000-04-04"), gen.born("2012-04-04")
    hub.assign(adult, "cw-anna")
    hub.assign(pupil, "cw-bob")
    miss = ev_missed_activation(adult, "2026-03-02")
    hub.send(miss)
    hub.send(corrected(miss, ev_missed_activation(adult, "2026-02-01")))
    hub.send(corrected(miss, ev_missed_activation(adult, "2026-03-10")))
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_missed_activation(adult, "2026-03-20"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert "reported a missed activation on 2026-03-20 (activity akt-1): " \
        "2 missed within 30 days." in a["explanation"]
    hub.set_clock("2026-09-25T09:00:00")
    week = ev_absence(pupil, "2026-09-07", 0)
    hub.send(week)
    hub.send(corrected(week, ev_absence(pupil, "2026-09-14", 0)))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(corrected(week, ev_absence(pupil, "2026-09-21", 3)))
    assert hub.wait_applied()["alerts"] == 2
    [b] = hub.peek("cw-bob", 1)
    assert b["rule"] == "absence.rolling"
    assert "the school reported 3 of 30 expected lessons absent (10.0 %)" \
        in b["explanation"], b["explanation"]
