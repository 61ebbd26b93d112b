"""34 rules, legal deadlines (DOMAIN rule 8) for a 15-17-year-old who
drops out: contact within 5 working days after the hub learned of the
dropout (met by a contact recorded with `inbox --contact`, not by an
acknowledgement), a new offer within 30 days after the recorded contact
(met by `inbox --offer` or an enrolment). One working day before a
deadline an unhandled clock warns the desk (URGENT); a missed one is
recorded (log HUB-DEADLINE) and alerted HIGH to the desk with what to do
now. The age comes from the CPR's birth date on the dropout date
(docs/RULES.md).

Escalation of unacknowledged alerts is set out of the way (years)."""

import re

from hubtest import (CprGen, ev_dropout, ev_dropout_risk, ev_enrolment,
                     ev_leaving, ev_referral, rules_hub)


def summary(alerts):
    return sorted((a["rule"], a["priority"], a["recipient"]) for a in alerts)


def dropout_alert(hub, caseworker="cw-anna"):
    [d] = [a for a in hub.peek(caseworker, 1) if a["rule"] == "dropout"]
    return d


def dropped_out(make_hub, seed, born, day="2026-09-07"):
    """A hub on Monday 2026-09-07 08:00 and one young person born `born`,
    assigned to cw-anna, whose dropout on `day` it has applied: (hub,
    cpr, the dropout alert)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(seed).born(born)
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, day))
    hub.wait_applied()
    return hub, cpr, dropout_alert(hub)


def test_contact_deadline_warns_desk_then_is_missed(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    # 16 on the very day of the dropout (Monday 2026-09-07).
    cpr = CprGen(3401).born("2010-09-07")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    d = dropout_alert(hub)
    assert "The young person is 16 (the legal deadlines apply from 15 " \
        "to 17): the municipality must make contact within 5 working " \
        "days of learning of the dropout and offer a new activity " \
        "within 30 days of the contact" in d["explanation"]
    assert "Expected of you: make contact by 2026-09-14 and record it " \
        "(inbox --contact)." in d["explanation"]
    assert d["due"] == "2026-09-14"
    # Contact is due by Monday 2026-09-14 (5 working days); the warning
    # comes one working day before, at the start of Friday 09-11.
    hub.advance("2026-09-10T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-09-11T00:00:00")
    assert hub.stats()["alerts"] == 2
    [w] = hub.peek("desk-dora", 1)
    assert (w["rule"], w["priority"], w["recipient"], w["cpr"]) == \
        ("deadline.contact.warn", "URGENT", "duty-desk", cpr)
    assert w["title"] == "Legal deadline near, not handled: the duty to " \
        "contact the young person (5 working days after the municipality " \
        "learned of the dropout)"
    assert "college-a reported the dropout on 2026-09-07. Not recorded " \
        "as done, and the deadline is 2026-09-14." in w["explanation"]
    assert w["due"] == "2026-09-14"
    assert [(e["agency"], e["type"], e["period_start"])
            for e in w["evidence"]] == [("college-a", "Dropout",
                                         "2026-09-07")]
    # Missed at the end of 09-14.
    hub.advance("2026-09-14T23:59:59")
    assert hub.stats()["alerts"] == 2
    assert "HUB-DEADLINE" not in hub.log_text()
    hub.advance("2026-09-15T00:00:00")
    assert hub.stats()["alerts"] == 3
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.contact\.missed")
    alerts = hub.peek("desk-dora", 2)
    assert summary(alerts) == [
        ("deadline.contact.missed", "HIGH", "duty-desk"),
        ("deadline.contact.warn", "URGENT", "duty-desk")]
    m = next(a for a in alerts if a["rule"].endswith("missed"))
    assert "The deadline passed on 2026-09-14" in m["explanation"]
    assert "Expected of you now: make contact with the young person " \
        "today" in m["explanation"]
    # The contact person's own alert is still theirs.
    assert summary(hub.peek("cw-anna", 1)) == [("dropout", "HIGH",
                                                "cw-anna")]


def test_a_clock_file_with_a_time_out_of_range_is_not_read(make_hub):
    """RULES section 1: the clock file holds YYYY-MM-DD or
    YYYY-MM-DDTHH:MM:SS. A minute field of 99999999 was read, its int
    arithmetic wrapping to some 54 years past the date, and hubd went on
    from there; now it is a clock file hubd cannot read, and hubd keeps
    its last reading: no deadline clock fires."""
    hub, cpr, d = dropped_out(make_hub, 3403, "2010-09-07")
    assert d["due"] == "2026-09-14"
    hub.advance("2026-09-07T00:99999999:00")
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()
    # Readable again, it is read: the warning comes on its day.
    hub.advance("2026-09-11T00:00:00")
    assert hub.stats()["alerts"] == 2


def test_contact_clock_runs_from_when_the_hub_learned(make_hub):
    # A dropout of Wednesday 09-02 reported on Monday 09-21: not born
    # overdue; contact is due 5 working days after 09-21, on 09-28.
    hub = rules_hub(make_hub, "2026-09-21T09:00:00")
    cpr = CprGen(3410).born("2010-02-02")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-02"))
    assert hub.wait_applied()["alerts"] == 1
    assert dropout_alert(hub)["due"] == "2026-09-28"
    hub.advance("2026-09-24T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-09-25T00:00:00")
    assert hub.stats()["alerts"] == 2
    [w] = hub.peek("desk-dora", 1)
    assert "the deadline is 2026-09-28" in w["explanation"]
    # The desk reads why the deadline is where it is: the day the
    # college reported the dropout, then the dropout's own date (the
    # text said "reported the dropout on 2026-09-02", the deadline five
    # working days after another day).
    assert "college-a reported the dropout on 2026-09-21, dated " \
        "2026-09-02. Not recorded as done" in w["explanation"]


def test_acknowledging_is_not_contact_recording_it_is(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3402)
    seen, contacted = gen.born("2010-03-15"), gen.born("2010-04-15")
    hub.assign(seen, "cw-anna")
    hub.assign(contacted, "cw-anna")
    hub.send(ev_dropout(seen, "2026-09-07"), ev_dropout(contacted,
                                                        "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    by_cpr = {a["cpr"]: a for a in hub.peek("cw-anna", 2)}
    hub.set_clock("2026-09-09T10:00:00")
    rc, out, err = hub.record("cw-anna", "contact",
                              by_cpr[contacted]["alert_id"], "phone",
                              note="agreed to meet at the youth unit")
    assert (rc, out.strip()) == (0, "recorded"), err
    # Only seen: acknowledged, not recorded.
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=2, idle_exit=10)
    assert rc == 0 and len(alerts) == 2, err
    hub.wait_stats("both acknowledged", lambda s: s["alerts_open"] == 0)
    hub.advance("2026-09-11")
    hub.advance("2026-09-16")
    # The unrecorded one warns and is missed; the recorded one is quiet.
    assert hub.stats()["alerts"] == 4
    assert {(a["rule"], a["cpr"]) for a in hub.peek("desk-dora", 2)} == {
        ("deadline.contact.warn", seen), ("deadline.contact.missed", seen)}
    # The recorded contact is a fact in the timeline.
    rc, _, err = hub.record("cw-anna", "contact",
                            by_cpr[contacted]["alert_id"], "phone",
                            note="agreed to meet at the youth unit")
    assert rc == 0, err  # recording the same again is idempotent
    assert hub.stats()["alerts"] == 4


def test_offer_deadline_runs_from_the_recorded_contact(make_hub):
    hub, cpr, d = dropped_out(make_hub, 3403, "2009-12-01")
    hub.set_clock("2026-09-09T10:00:00")
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "meeting")
    assert rc == 0, err
    # An offer is due by Friday 2026-10-09 (30 days after the contact on
    # 09-09); the warning comes one working day before, on 10-08, the day
    # the transition gap (30 days after the dropout) opens too.
    hub.advance("2026-10-07T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 3
    [w] = hub.peek("desk-dora", 1)
    assert (w["rule"], w["priority"], w["recipient"]) == \
        ("deadline.offer.warn", "URGENT", "duty-desk")
    assert w["title"].endswith("offer a new activity (30 days after the "
                               "contact was made)")
    assert "Not recorded as done, and the deadline is 2026-10-09" in \
        w["explanation"]
    hub.advance("2026-10-09T23:59:59")
    assert hub.stats()["alerts"] == 3
    hub.advance("2026-10-10T00:00:00")
    assert hub.stats()["alerts"] == 4
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.offer\.missed")
    missed = [a for a in hub.peek("desk-dora", 2)
              if a["rule"] == "deadline.offer.missed"]
    assert len(missed) == 1
    assert "Expected of you now: offer the young person" in \
        missed[0]["explanation"]
    assert summary(hub.peek("cw-anna", 2)) == [
        ("dropout", "HIGH", "cw-anna"), ("transition_gap", "HIGH", "cw-anna")]


def test_an_offer_deadline_on_a_sunday_stays_there(make_hub):
    """RULES.md §6: the offer deadline counts calendar days and is not
    moved off a weekend or public holiday; its warning comes at the start
    of the working day before it, the miss at the start of the day after
    it, due that day. A contact on Friday 2026-09-11 (dropout 09-07, so
    the gap opens 10-08): the offer is due Sunday 10-11, warned at the
    start of Friday 10-09, missed at the start of Monday 10-12."""
    hub, cpr, d = dropped_out(make_hub, 3412, "2009-12-01")
    hub.set_clock("2026-09-11T10:00:00")
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone")
    assert rc == 0, err
    # The contact warning came at the start of 09-11, before the contact.
    hub.advance("2026-10-08T00:00:00")       # the gap, nothing else
    assert hub.stats()["alerts"] == 3
    hub.advance("2026-10-08T23:59:59")
    assert hub.stats()["alerts"] == 3
    hub.advance("2026-10-09T00:00:00")
    assert hub.stats()["alerts"] == 4
    [w] = [a for a in hub.peek("desk-dora", 2)
           if a["rule"] == "deadline.offer.warn"]
    assert w["due"] == "2026-10-11"
    assert "the deadline is 2026-10-11" in w["explanation"]
    hub.advance("2026-10-11T23:59:59")
    assert hub.stats()["alerts"] == 4
    hub.advance("2026-10-12T00:00:00")
    assert hub.stats()["alerts"] == 5
    [m] = [a for a in hub.peek("desk-dora", 3)
           if a["rule"] == "deadline.offer.missed"]
    assert m["due"] == "2026-10-12"
    assert "The deadline passed on 2026-10-11" in m["explanation"]


def test_a_friday_contact_deadline_is_missed_due_that_saturday(make_hub):
    """RULES.md §6: the miss of a contact deadline on a Friday is raised
    at 00:00 UTC that Saturday and is due that day ("today"): the desk
    finds it due on a day its office is closed. A dropout learned of on
    Friday 2026-09-11 has contact due Friday 09-18."""
    hub = rules_hub(make_hub, "2026-09-11T08:00:00")
    cpr = CprGen(3413).born("2010-01-15")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-11"))
    hub.wait_applied()
    assert dropout_alert(hub)["due"] == "2026-09-18"
    hub.advance("2026-09-17T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.advance("2026-09-19T00:00:00")
    assert hub.stats()["alerts"] == 3
    [m] = [a for a in hub.peek("desk-dora", 2)
           if a["rule"] == "deadline.contact.missed"]
    assert m["due"] == "2026-09-19"
    assert "The deadline passed on 2026-09-18" in m["explanation"]


def test_no_offer_clock_without_a_recorded_contact(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3411).born("2009-11-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-11")
    hub.advance("2026-11-30")
    # Dropout, contact warn + missed, transition gap: no offer alerts.
    assert hub.stats()["alerts"] == 4
    assert {a["rule"] for a in hub.peek("desk-dora", 2)} == {
        "deadline.contact.warn", "deadline.contact.missed"}


def test_a_recorded_offer_meets_the_offer_deadline(make_hub):
    hub, cpr, d = dropped_out(make_hub, 3412, "2010-06-01")
    hub.set_clock("2026-09-08T10:00:00")
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone")[0] == 0
    hub.set_clock("2026-09-21T10:00:00")
    rc, out, err = hub.record("cw-anna", "offer", d["alert_id"],
                              "FGU basic course from 2026-10-01")
    assert (rc, out.strip()) == (0, "recorded"), err
    hub.advance("2026-11-30")
    # Only the dropout and the transition gap (an offer is no enrolment).
    assert hub.stats()["alerts"] == 2
    hub.peek("desk-dora", 0)
    assert "HUB-DEADLINE" not in hub.log_text()


def test_actions_refused_with_a_reason(make_hub):
    hub, cpr, d = dropped_out(make_hub, 3413, "2010-07-07")
    # Another caseworker's young person.
    rc, _, err = hub.record("cw-bob", "contact", d["alert_id"], "phone")
    assert rc == 4 and "not addressed to you or your desk" in err, err
    # Not yet done.
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                            date="2026-09-08")
    assert rc == 1 and "date is in the future" in err, err
    # An unknown alert is refused like another's.
    rc, _, err = hub.record("cw-anna", "contact", "00" * 9, "phone")
    assert rc == 4 and "not addressed to you or your desk" in err, err
    # Not text: refused, so no timeline answer carries a bad byte (the
    # lone 0xc3 byte reaches inbox's argv through surrogateescape).
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"],
                            "phone \udcc3(")
    assert rc == 1 and "how is not valid UTF-8" in err, err
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                            note="agreed \udcc3(")
    assert rc == 1 and "note is not valid UTF-8" in err, err
    # inbox --help: what the hub checks is the hub's refusal (exit 1), a
    # day that is none and a note over its 200 bytes alike.
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                            date="2026-02-30")
    assert (rc, err) == (1, "inbox: the hub refused: date must be the day "
                         "it was done, YYYY-MM-DD\n"), err
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                            note="n" * 201)
    assert (rc, err) == (1, "inbox: the hub refused: note is longer than "
                         "200 bytes\n"), err
    # could not reach is a fact, and meets nothing.
    rc, _, err = hub.record("cw-anna", "unreachable", d["alert_id"],
                            "phone, twice; letter sent")
    assert rc == 0, err
    hub.advance("2026-09-11")
    hub.advance("2026-09-15")
    assert hub.stats()["alerts"] == 3


def test_different_actions_are_never_taken_for_one_another(make_hub):
    """Only the same action sent again is stored once (PROTOCOL.md §4,
    "Sending the same action again"): a how and note that differ are
    two actions, whatever characters they hold."""
    hub, cpr, d = dropped_out(make_hub, 3414, "2010-08-08")
    hub.set_clock("2026-09-08T10:00:00")
    for how, note in (("phone|", "agreed"), ("phone", "|agreed"),
                      ("phone", "|agreed")):
        rc, out, err = hub.record("cw-anna", "unreachable", d["alert_id"],
                                  how, note=note)
        assert (rc, out.strip()) == (0, "recorded"), err
    hub.wait_log(r"HUB-ACTION cw-anna recorded could_not_reach .*"
                 r"already recorded")
    log = hub.log_text()
    assert len(re.findall(r"HUB-ACTION cw-anna recorded could_not_reach "
                          r"for alert \w+ \(seq \d+\)", log)) == 2, log
    assert log.count("already recorded") == 1, log


def test_enrolment_stops_the_offer_clock(make_hub):
    hub, cpr, d = dropped_out(make_hub, 3404, "2010-01-01")
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone")[0] == 0
    hub.set_clock("2026-09-28T09:00:00")
    hub.send(ev_enrolment(cpr, "2026-09-28"))
    hub.advance("2026-11-01")
    # The dropout and back on track; no clock fired.
    assert hub.stats()["alerts"] == 2
    assert summary(hub.peek("cw-anna", 2)) == [
        ("back_on_track", "LOW", "cw-anna"), ("dropout", "HIGH", "cw-anna")]
    assert "HUB-DEADLINE" not in hub.log_text()


def test_enrolment_before_the_contact_stops_the_contact_clock(make_hub):
    hub, cpr, d = dropped_out(make_hub, 3414, "2010-01-15")
    # Back in education two days on, before any contact was recorded.
    hub.set_clock("2026-09-09T08:00:00")
    hub.send(ev_enrolment(cpr, "2026-09-09"))
    assert hub.wait_applied()["alerts"] == 2
    back = next(a for a in hub.peek("cw-anna", 2)
                if a["rule"] == "back_on_track")
    assert "closes the episode and stops its clocks (the transition gap, " \
        "and the legal contact and offer deadlines where they run)" in \
        back["explanation"]
    # Neither the warning (09-11) nor the miss (09-15) of the contact
    # deadline comes.
    hub.advance("2026-09-16T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.peek("desk-dora", 0)
    assert "HUB-DEADLINE" not in hub.log_text()


def test_age_window_edges(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3405)
    ages = {
        "18 today": gen.born("2008-09-07"),
        "17, 18 tomorrow": gen.born("2008-09-08"),
        "15 today": gen.born("2011-09-07"),
        "14, 15 tomorrow": gen.born("2011-09-08"),
    }
    for cpr in ages.values():
        hub.assign(cpr, "cw-anna")
    hub.send(*(ev_dropout(cpr, "2026-09-07") for cpr in ages.values()))
    assert hub.wait_applied()["alerts"] == 4
    hub.advance("2026-09-11T12:00:00")
    # Warnings only for the 17- and the 15-year-old.
    assert hub.stats()["alerts"] == 6
    warned = {a["cpr"] for a in hub.peek("desk-dora", 2)}
    assert warned == {ages["17, 18 tomorrow"], ages["15 today"]}
    dropouts = {a["cpr"]: a for a in hub.peek("cw-anna", 4)}
    assert "Expected of you: make contact as soon as possible." in \
        dropouts[ages["18 today"]]["explanation"]
    assert "The young person is 17" in \
        dropouts[ages["17, 18 tomorrow"]]["explanation"]



def test_the_age_on_the_dropout_date_decides_for_the_whole_episode(make_hub):
    """17 on the dropout date (Monday 09-07), 18 on 09-09, before the hub
    learns of it (09-10) and before the contact (09-11): both clocks run
    as for any 17-year-old's dropout."""
    hub = rules_hub(make_hub, "2026-09-10T08:00:00")
    cpr = CprGen(3413).born("2008-09-09")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    d = dropout_alert(hub)
    assert "The young person is 17" in d["explanation"]
    assert d["due"] == "2026-09-17"
    hub.set_clock("2026-09-11T10:00:00")
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone")[0] == 0
    # Offer due Sunday 10-11 (30 days after the contact): warned on the
    # working day before, Friday 10-09, missed at the end of 10-11.
    hub.advance("2026-10-08T23:59:59")
    hub.peek("desk-dora", 0)
    hub.advance("2026-10-09T00:00:00")
    [w] = hub.peek("desk-dora", 1)
    assert (w["rule"], w["due"]) == ("deadline.offer.warn", "2026-10-11")
    hub.advance("2026-10-12T00:00:00")
    assert sorted(a["rule"] for a in hub.peek("desk-dora", 2)) == [
        "deadline.offer.missed", "deadline.offer.warn"]


def test_born_on_a_leap_day_turns_older_on_1_march(make_hub):
    hub = rules_hub(make_hub, "2026-03-02T08:00:00")
    gen = CprGen(3411)
    # Born 2008-02-29: in 2026, a year without 29 February, 17 on 02-28
    # and 18 from 03-01.
    on_28, on_1 = gen.born("2008-02-29"), gen.born("2008-02-29")
    for cpr in (on_28, on_1):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(on_28, "2026-02-28"), ev_dropout(on_1, "2026-03-01"))
    assert hub.wait_applied()["alerts"] == 2
    dropouts = {a["cpr"]: a for a in hub.peek("cw-anna", 2)}
    assert "The young person is 17 (the legal deadlines apply from 15 " \
        "to 17)" in dropouts[on_28]["explanation"]
    assert "Expected of you: make contact as soon as possible." in \
        dropouts[on_1]["explanation"]

def test_an_18_year_old_has_no_clocks(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3406).born("2008-01-10")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-11-30")
    # The dropout and the transition gap (any age); no deadline alert.
    assert hub.stats()["alerts"] == 2
    assert summary(hub.peek("cw-anna", 2)) == [
        ("dropout", "HIGH", "cw-anna"), ("transition_gap", "HIGH", "cw-anna")]
    hub.peek("desk-dora", 0)
    assert "HUB-DEADLINE" not in hub.log_text()


def test_working_days_skip_easter(make_hub):
    hub = rules_hub(make_hub, "2026-04-01T08:00:00")
    cpr = CprGen(3407).born("2010-06-06")
    hub.assign(cpr, "cw-anna")
    # Wednesday 2026-04-01; Maundy Thursday to Easter Monday are off:
    # 5 working days are 04-07, 08, 09, 10 and 13.
    hub.send(ev_dropout(cpr, "2026-04-01"))
    hub.wait_applied()
    [d] = hub.peek("cw-anna", 1)
    assert d["due"] == "2026-04-13"
    hub.advance("2026-04-09T23:00:00")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-04-10T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.advance("2026-04-13T23:00:00")
    assert hub.stats()["alerts"] == 2
    hub.advance("2026-04-14T00:00:00")
    assert hub.stats()["alerts"] == 3


def test_working_days_skip_every_public_holiday(make_hub):
    """RULES.md §9: the holidays the working days skip, each on a real
    hubd: a dropout learned of on the day before (or in the week of) each
    has contact due 5 working days later. Great Prayer Day counts until
    2023 only; Christmas Eve while calendar.christmas_eve_is_holiday."""
    hub = rules_hub(make_hub, "2023-05-04T09:00:00")
    gen = CprGen(3432)
    cases = [("2023-05-04", "2023-05-12"),   # Great Prayer Day 05-05
             ("2024-04-25", "2024-05-02"),   # abolished: 04-26 works
             ("2026-05-13", "2026-05-21"),   # Ascension Day 05-14
             ("2026-05-22", "2026-06-01"),   # Whit Monday 05-25
             ("2026-06-01", "2026-06-09"),   # Constitution Day (Fri 06-05)
             ("2026-12-22", "2026-12-31"),   # 24th-26th, the weekend
             ("2026-12-29", "2027-01-06"),   # New Year's Day
             ("2027-03-24", "2027-04-05")]   # Easter 2027, clocks change
    got = []
    for day, _ in cases:
        cpr = gen.born("2000-01-01")      # an adult: no legal clocks
        hub.assign(cpr, "cw-anna", start="2020-01-01")
        hub.set_clock(day + "T09:00:00")
        hub.send(ev_dropout(cpr, day))
        hub.wait_applied()
        rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=1)
        assert rc == 0, err
        got.append((day, [a["due"] for a in alerts if a["cpr"] == cpr]))
    assert got == [(day, [due]) for day, due in cases]


def test_deadlines_are_configuration(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"deadline.contact_working_days": "3",
                           "deadline.warn_working_days": "2",
                           "deadline.min_age": "18",
                           "deadline.max_age": "24",
                           "deadline.priority": "high"})
    gen = CprGen(3408)
    adult, minor = gen.born("2004-04-04"), gen.born("2010-04-04")
    hub.send(ev_dropout(adult, "2026-09-07"), ev_dropout(minor, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    # 3 working days: Thursday 09-10; warned 2 before: Tuesday 09-08.
    hub.advance("2026-09-08T00:00:00")
    assert hub.stats()["alerts"] == 3
    alerts = hub.peek("desk-dora", 3)
    [w] = [a for a in alerts if a["rule"] == "deadline.contact.warn"]
    assert (w["cpr"], w["priority"]) == (adult, "HIGH")
    assert "(3 working days after the municipality learned of the " \
        "dropout)" in w["title"]
    assert "the deadline is 2026-09-10" in w["explanation"]


def test_deadlines_disabled(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"deadline.enabled": "no"})
    cpr = CprGen(3409).born("2010-05-05")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-10-06")
    assert hub.stats()["alerts"] == 1
    [d] = hub.peek("desk-dora", 1)
    assert "make contact as soon as possible" in d["explanation"]


def test_contact_dated_before_the_dropout_meets_no_deadline(make_hub):
    """A contact dated before the day the person left answers no duty of
    the episode: it stays a fact in the timeline, the contact clock runs
    on, and no offer clock starts from it."""
    hub, cpr, d = dropped_out(make_hub, 3412, "2010-01-10", "2026-09-04")
    rc, out, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                              date="2026-08-01")
    assert (rc, out.strip()) == (0, "recorded"), err
    # Learned on Monday 09-07: contact due Monday 09-14.
    hub.advance("2026-09-11T00:00:01")
    hub.advance("2026-09-15T00:00:01")
    assert {a["rule"] for a in hub.peek("desk-dora", 2)} == {
        "deadline.contact.warn", "deadline.contact.missed"}
    # A contact on the day they left counts: the offer is due 30 days
    # after it (10-04), warned on 10-02 (a Friday), missed at 10-05.
    rc, out, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                              date="2026-09-04")
    assert (rc, out.strip()) == (0, "recorded"), err
    hub.advance("2026-10-02T00:00:01")
    hub.advance("2026-10-06")
    assert sorted(a["rule"] for a in hub.peek("desk-dora", 4)) == [
        "deadline.contact.missed", "deadline.contact.warn",
        "deadline.offer.missed", "deadline.offer.warn"]


def test_a_contact_after_the_dropout_counts_though_a_later_exit_followed(
        make_hub):
    """RULES.md §6: a contact dated on or after the day of the dropout
    (the Dropout's date) counts. The episode's day is the dropout's, not
    the person's latest exit: a school leaving dated after the dropout,
    reported while the episode is open, does not make a contact between
    the two too early."""
    hub, cpr, d = dropped_out(make_hub, 3414, "2010-01-10", "2026-09-04")
    hub.send(ev_leaving(cpr, "2026-09-08", grade=10))
    hub.wait_applied()
    rc, out, err = hub.record("cw-anna", "contact", d["alert_id"], "phone",
                              date="2026-09-07")
    assert (rc, out.strip()) == (0, "recorded"), err
    # Learned on 09-07: contact due 09-14, met by the contact on 09-07,
    # which starts the offer clock: due 10-07, warned on 10-06.
    hub.advance("2026-09-15T00:00:01")
    hub.peek("desk-dora", 0)
    hub.advance("2026-10-06T00:00:01")
    assert [a["rule"] for a in hub.peek("desk-dora", 1)] == [
        "deadline.offer.warn"]


def test_a_dropout_reported_ahead_starts_its_clock_on_its_date(make_hub):
    """A college that registers a leaving in advance reports on Monday
    2026-09-07 that the young person leaves on Wednesday 09-16. The
    contact clock ran from 09-07: due 09-14, before the person had left,
    when no contact could count yet (only one dated on or after the day
    they left does), so the miss was certain. The municipality cannot
    learn of a dropout before it happens: the clock starts on its date,
    contact due 5 working days after 09-16, on 09-23."""
    hub, cpr, d = dropped_out(make_hub, 3413, "2010-01-10", "2026-09-16")
    assert d["due"] == "2026-09-23"
    assert "Expected of you: make contact by 2026-09-23 and record it " \
        "(inbox --contact)." in d["explanation"]
    hub.advance("2026-09-21T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-09-22T00:00:00")
    assert hub.stats()["alerts"] == 2
    [w] = hub.peek("desk-dora", 1)
    assert w["rule"] == "deadline.contact.warn"
    assert "college-a reported the dropout on 2026-09-07, dated " \
        "2026-09-16. Not recorded as done, and the deadline is " \
        "2026-09-23." in w["explanation"]
    # Recorded on the deadline's day: met.
    hub.set_clock("2026-09-23T15:00:00")
    rc, out, err = hub.record("cw-anna", "contact", d["alert_id"], "phone")
    assert (rc, out.strip()) == (0, "recorded"), err
    hub.advance("2026-09-24T00:00:01")
    assert hub.stats()["alerts"] == 2
    assert "HUB-DEADLINE" not in hub.log_text()


def test_a_deadline_that_fell_while_hubd_was_down_is_missed_at_start(
        make_hub):
    """RULES.md §6: a timer that fell due while hubd was down fires at its
    first loop turn; the warning, more than a day late, is skipped, and
    the miss is raised then, due that day, naming the deadline that
    passed, and logged HUB-DEADLINE."""
    hub, cpr, d = dropped_out(make_hub, 3420, "2010-09-07")
    assert d["due"] == "2026-09-14"
    hub.stop()
    hub.set_clock("2026-09-20T10:00:00")    # warning 09-11, miss 09-15
    hub.start()
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.contact\.missed "
                 r"\(seq \d+\)")
    hub.settle()
    [m] = hub.peek("desk-dora", 1)
    assert (m["rule"], m["priority"], m["recipient"], m["due"]) == \
        ("deadline.contact.missed", "HIGH", "duty-desk", "2026-09-20")
    assert "The deadline passed on 2026-09-14." in m["explanation"]
    assert hub.stats()["alerts"] == 2


def test_a_contact_recorded_before_the_hub_held_the_dropout_meets_nothing(
        make_hub):
    """RULES.md §6: a contact counts once the hub holds the Dropout; one
    recorded earlier on the risk alert, though made after the person
    left, is a fact of the timeline and the contact deadline is missed."""
    hub = rules_hub(make_hub, "2026-09-01T08:00:00")
    cpr = CprGen(3430).born("2010-01-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-01"))
    hub.wait_applied()
    [risk] = hub.peek("cw-anna", 1)
    hub.set_clock("2026-09-08T08:00:00")
    rc, out, err = hub.record("cw-anna", "contact", risk["alert_id"],
                              "phone")
    assert (rc, out.strip()) == (0, "recorded"), err
    hub.set_clock("2026-09-09T08:00:00")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    # Due 09-16 (5 working days after 09-09): warned 09-15, missed 09-17.
    hub.advance("2026-09-15T00:00:00")
    hub.advance("2026-09-17T00:00:00")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.contact\.missed")
    assert sorted(a["rule"] for a in hub.peek("desk-dora", 2)) == [
        "deadline.contact.missed", "deadline.contact.warn"]


def test_a_correction_across_a_birthday_keeps_the_episode_s_clocks(
        make_hub):
    """RULES.md §6: the age on the dropout date decides for the whole
    episode; a correction restarts no clock, so one that moves the date
    past the 18th birthday leaves the episode's clocks as they were, the
    offer clock after the recorded contact included."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00")
    cpr = CprGen(3431).born("2008-09-10")
    hub.assign(cpr, "cw-anna")
    first = ev_dropout(cpr, "2026-09-09")          # 17 that day
    hub.send(first)
    hub.wait_applied()
    d = dropout_alert(hub)
    assert "The young person is 17" in d["explanation"]
    fixed = ev_dropout(cpr, "2026-09-11")          # 18 that day
    fixed.supersedes = first.event_id
    hub.send(fixed)
    assert hub.wait_applied()["alerts"] == 1
    hub.set_clock("2026-09-15T10:00:00")
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone")
    assert rc == 0, err
    # Offer due 10-15 (30 days after 09-15): warned 10-14, missed 10-16.
    hub.advance("2026-10-14T00:00:00")
    hub.advance("2026-10-16T00:00:00")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.offer\.missed")
    desk = [a["rule"] for a in hub.peek("desk-dora", 2)]
    assert sorted(desk) == ["deadline.offer.missed", "deadline.offer.warn"]


def test_deadlines_of_one_day_are_said_in_the_singular(make_hub):
    """The rules file takes 1 for each clock's length (RULES section 10);
    the texts said "(1 working days after ...)", "(1 days after the
    contact was made)", "within 1 days", as the combined alert no longer
    does ("within 1 day")."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"deadline.contact_working_days": "1",
                           "deadline.warn_working_days": "0",
                           "deadline.offer_days": "1",
                           "deadline.treatment_days": "1"})
    gen = CprGen(3420)
    minor, referred = gen.born("2010-04-04"), gen.born("2004-04-04")
    hub.assign(minor, "cw-anna")
    hub.assign(referred, "cw-anna")
    hub.send(ev_dropout(minor, "2026-09-07"),
             ev_referral(referred, "2026-09-07",
                         consent={"given": True,
                                  "scope": "referral,stage"}))
    assert hub.wait_applied()["alerts"] == 2
    by_rule = {a["rule"]: a for a in hub.peek("cw-anna", 2)}
    d = by_rule["dropout"]
    assert "make contact within 1 working day of learning of the " \
        "dropout and offer a new activity within 1 day of the contact" \
        in d["explanation"]
    assert "treatment must start within 1 day." in \
        by_rule["addiction"]["explanation"]
    # Contact due Tuesday 09-08, warned at its start, missed after it;
    # treatment due 09-08 too.
    hub.advance("2026-09-09T00:00:00")
    titles = sorted(a["title"] for a in hub.peek("desk-dora", 3))
    assert titles == [
        "Legal deadline missed: the duty to contact the young person (1 "
        "working day after the municipality learned of the dropout)",
        "Legal deadline missed: the duty to start treatment (1 day after "
        "the referral)",
        "Legal deadline near, not handled: the duty to contact the young "
        "person (1 working day after the municipality learned of the "
        "dropout)"]
    rc, _, err = hub.record("cw-anna", "contact", d["alert_id"], "phone")
    assert rc == 0, err
    hub.advance("2026-09-10T00:00:00")
    [w] = [a for a in hub.peek("desk-dora", 4)
           if a["rule"] == "deadline.offer.warn"]
    assert w["title"].endswith("the duty to offer a new activity (1 day "
                               "after the contact was made)")
