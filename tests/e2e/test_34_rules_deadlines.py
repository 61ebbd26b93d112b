"""34 rules, legal deadlines (DOMAIN rule 8) for a 15-17-year-old who
drops out: contact within 5 working days (met by acknowledging the dropout
alert), a new offer within 30 days (met by an enrolment). One working day
before a deadline an unhandled clock warns the desk (URGENT); a missed one
is recorded (log HUB-DEADLINE) and alerted HIGH to the desk. The age comes
from the CPR's birth date on the dropout date (docs/RULES.md).

Escalation of unacknowledged alerts is set out of the way (a year)."""

from hubtest import CprGen, ev_dropout, ev_enrolment, rules_hub


def summary(alerts):
    return sorted((a["rule"], a["priority"], a["recipient"]) for a in alerts)


def test_contact_deadline_warns_desk_then_is_missed(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    # 16 on the very day of the dropout (Monday 2026-09-07).
    cpr = CprGen(3401).born("2010-09-07")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [d] = hub.peek("cw-anna", 1)
    assert d["rule"] == "dropout"
    assert "The young person is 16 (the legal deadlines apply from 15 " \
        "to 17): the municipality must make contact within 5 working " \
        "days and offer a new activity within 30 days" in d["explanation"]
    assert "Expected of you: contact by 2026-09-14." in d["explanation"]
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
        "contact the young person (5 working days after the dropout)"
    assert "college-a reported the dropout on 2026-09-07. Unhandled, and " \
        "the deadline is 2026-09-14." in w["explanation"]
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
    # The contact person's own alert is still theirs.
    assert summary(hub.peek("cw-anna", 1)) == [("dropout", "HIGH",
                                                "cw-anna")]


def test_acknowledging_the_dropout_in_time_stops_the_contact_clock(
        make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3402).born("2010-03-15")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    hub.set_clock("2026-09-09T10:00:00")
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and [a["rule"] for a in alerts] == ["dropout"], err
    hub.wait_stats("dropout acknowledged", lambda s: s["alerts_open"] == 0)
    hub.advance("2026-09-16")
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()


def test_offer_deadline_warns_then_is_missed_with_the_gap(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3403).born("2009-12-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    # Contact made: the dropout alert is acknowledged.
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    hub.wait_stats("dropout acknowledged", lambda s: s["alerts_open"] == 0)
    # An offer is due by Wednesday 2026-10-07 (30 days); the warning
    # comes one working day before, on Tuesday 10-06.
    hub.advance("2026-10-05T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-10-06T00:00:00")
    assert hub.stats()["alerts"] == 2
    [w] = hub.peek("desk-dora", 1)
    assert (w["rule"], w["priority"], w["recipient"]) == \
        ("deadline.offer.warn", "URGENT", "duty-desk")
    assert w["title"].endswith("offer a new activity (30 days after the "
                               "dropout)")
    assert "Unhandled, and the deadline is 2026-10-07" in w["explanation"]
    hub.advance("2026-10-07T23:59:59")
    assert hub.stats()["alerts"] == 2
    # Day 31: the offer deadline is missed and the transition gap opens.
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 4
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.offer\.missed")
    assert summary(hub.peek("desk-dora", 2)) == [
        ("deadline.offer.missed", "HIGH", "duty-desk"),
        ("deadline.offer.warn", "URGENT", "duty-desk")]
    assert summary(hub.peek("cw-anna", 1)) == [
        ("transition_gap", "HIGH", "cw-anna")]


def test_enrolment_stops_the_offer_clock(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3404).born("2010-01-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    rc, _, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    hub.wait_stats("dropout acknowledged", lambda s: s["alerts_open"] == 0)
    hub.set_clock("2026-09-28T09:00:00")
    hub.send(ev_enrolment(cpr, "2026-09-28"))
    hub.advance("2026-11-01")
    # The dropout (acknowledged) and back on track; no clock fired.
    assert hub.stats()["alerts"] == 2
    assert summary(hub.peek("cw-anna", 1)) == [
        ("back_on_track", "LOW", "cw-anna")]
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
    assert "(3 working days after the dropout)" in w["title"]
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
