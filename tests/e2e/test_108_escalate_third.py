"""108 escalation, third round: docs/RULES.md section 8 (acknowledgement
and escalation, office hours) read as the duty desk and team leads live
it, each promise tried where the earlier rounds (test_35, test_91,
test_101) did not: office days other than Monday-Friday meeting public
holidays, opening and closing times off the hour, the Great Prayer Day
of the years it was a holiday, an acknowledgement in the last second of
the window and one after the desk's notice. Instants are worked out by
hand from RULES.md alone and written in UTC (Danish time is UTC+1 in
winter, UTC+2 in summer)."""

import datetime as dt
import json
import re
import signal
import time

from hubtest import (ACCEPTED, SLOW, CprGen, envelope, ev_dropout,
                     ev_desk, ev_dropout_risk, ev_enrolment, ev_readiness,
                     rules_hub)
from test_08_inbox_cli import run

LEAD = {"routing.team_lead": "cw-lead"}


def escalations(hub):
    return re.findall(r"HUB-ESCALATE alert (\w+) not acknowledged in time; "
                      r"notice \w+ to ([\w.-]+)", hub.log_text())


def urgent_hub(make_hub, clock, **rules):
    return rules_hub(make_hub, clock, escalation=True,
                     rules=dict(LEAD, **dict({"dropout.priority": "urgent"},
                                             **rules)))


def raise_dropout(hub, seed, date, owner="cw-anna"):
    adult = CprGen(seed).born("2001-04-04")
    hub.assign(adult, owner, start=date)
    hub.send(ev_dropout(adult, date))
    hub.wait_applied()
    return re.findall(r"HUB-ALERT alert (\w+) \(dropout\) raised for",
                      hub.log_text())[-1]


def before(stamp):
    """One second before 'YYYY-MM-DDTHH:MM:SS' (UTC)."""
    t = dt.datetime.fromisoformat(stamp) - dt.timedelta(seconds=1)
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def steps_fall_due(hub, steps):
    """Each (when, (alert, recipient)) in turn: no notice one second
    before `when`, the notice at it, none other."""
    done = []
    for when, notice in steps:
        hub.advance(before(when))
        assert escalations(hub) == done, when
        hub.advance(when)
        done.append(notice)
        assert escalations(hub) == done, when


def steps_at(hub, alert_id, desk, lead):
    """The second before the desk's notice nothing; at it the desk's; the
    second before the team lead's only the desk's; at it the lead's."""
    for at, want in ((before(desk), 0), (desk, 1), (before(lead), 1),
                     (lead, 2)):
        hub.advance(at)
        got = [to for a, to in escalations(hub) if a == alert_id]
        assert got == ["duty-desk", "cw-lead"][:want], (at, got)


def test_a_saturday_office_closed_on_christmas_day_and_new_years_day(
        make_hub):
    """office.days = sat: public holidays close the office whatever the
    weekday (RULES.md §8). 2027-12-25 and 2028-01-01 are Saturdays.
    Raised Saturday 2027-12-18 14:00 CET (13:00 UTC), URGENT 4 hours:
    2 hours that day, the next two Saturdays closed, 2 hours on 2028-01-08
    -> 10:00 CET (09:00 UTC); the team lead's 4 more: 14:00 CET (13:00
    UTC)."""
    hub = urgent_hub(make_hub, "2027-12-18T13:00:00", **{
        "office.days": "sat"})
    a = raise_dropout(hub, 10801, "2027-12-18")
    steps_at(hub, a, "2028-01-08T09:00:00", "2028-01-08T13:00:00")


def test_office_hours_off_the_hour(make_hub):
    """office.hours = 08:30-16:15 (HH:MM, the same hours every office
    day). Raised Monday 2026-09-07 15:00 CEST (13:00 UTC), URGENT 4
    hours: 1 h 15 that day, 2 h 45 from Tuesday 08:30 -> 11:15 CEST
    (09:15 UTC); the team lead's 4 more: 15:15 CEST (13:15 UTC)."""
    hub = urgent_hub(make_hub, "2026-09-07T13:00:00", **{
        "office.hours": "08:30-16:15"})
    a = raise_dropout(hub, 10802, "2026-09-07")
    steps_at(hub, a, "2026-09-08T09:15:00", "2026-09-08T13:15:00")


def test_the_great_prayer_day_closed_the_office_in_2023(make_hub):
    """RULES.md §9: Great Prayer Day (the fourth Friday after Easter) is a
    public holiday until 2023. Easter 2023 is 04-09, so 2023-05-05 is
    closed: raised Thursday 2023-05-04 15:00 CEST (13:00 UTC), URGENT:
    1 hour, then Monday 05-08 11:00 CEST (09:00 UTC); team lead 15:00
    CEST (13:00 UTC)."""
    hub = urgent_hub(make_hub, "2023-05-04T13:00:00")
    a = raise_dropout(hub, 10803, "2023-05-04")
    steps_at(hub, a, "2023-05-08T09:00:00", "2023-05-08T13:00:00")


def ack(hub, caseworker, n):
    """caseworker's inbox takes (and so acknowledges) n alerts."""
    rc, alerts, err = hub.inbox(caseworker, max_alerts=n, idle_exit=10)
    assert rc == 0 and len(alerts) == n, err
    return alerts


def test_acknowledged_in_the_windows_last_second_never_escalates(make_hub):
    """RULES.md §8: the window ends at the instant ack.urgent_hours office
    hours have passed. Raised Monday 2026-09-07 10:00 CEST (08:00 UTC):
    it ends 14:00 CEST (12:00 UTC). Acknowledged at 13:59:59 CEST it
    escalates neither then nor later."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    a = raise_dropout(hub, 10804, "2026-09-07")
    hub.set_clock("2026-09-07T11:59:59")
    assert [x["alert_id"] for x in ack(hub, "cw-anna", 1)] == [a]
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 0)
    hub.advance("2026-09-07T12:00:00")
    hub.advance("2026-09-21T12:00:00")
    assert escalations(hub) == []
    hub.peek("desk-dora", 0)
    hub.peek("cw-lead", 0)


def test_the_owner_acknowledging_after_the_desks_notice_ends_it_all(
        make_hub):
    """RULES.md §8, Acknowledging: when the owner acknowledges the
    original, its open notices are closed; with the alert acknowledged
    there is nothing left to escalate, so the team lead's step (due
    Tuesday 10:00 CEST, 08:00 UTC) sends nothing."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    a = raise_dropout(hub, 10805, "2026-09-07")
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    [n] = hub.peek("desk-dora", 1)
    assert (n["rule"], n["priority"], n["recipient"], n["due"]) == \
        ("escalation", "URGENT", "duty-desk", "2026-09-07")
    assert n["alert_id"] == a[:-2] + "%02x" % (int(a[-2:], 16) | 0x40)
    assert [x["alert_id"] for x in ack(hub, "cw-anna", 1)] == [a]
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)
    hub.peek("desk-dora", 0)
    hub.advance("2026-09-08T08:00:00")
    hub.advance("2026-09-21T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.peek("cw-lead", 0)


def test_the_team_leads_acknowledgement_closes_only_their_notice(make_hub):
    """RULES.md §8: acknowledging a notice closes only the notice; the
    alert stays open with its owner and the desk's notice with the
    desk."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    a = raise_dropout(hub, 10806, "2026-09-07")
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    [n] = ack(hub, "cw-lead", 1)
    assert (n["rule"], n["alert_id"]) == \
        ("escalation", a[:-2] + "%02x" % (int(a[-2:], 16) | 0x80))
    hub.wait_stats("notice closed", lambda s: s["alerts_open"] == 2)
    assert hub.peek("cw-anna", 1)[0]["alert_id"] == a
    assert hub.peek("desk-dora", 1)[0]["rule"] == "escalation"
    hub.peek("cw-lead", 0)


def test_a_desk_deadline_warning_escalates_straight_to_the_lead(make_hub):
    """RULES.md §8: an alert whose owner is the desk itself (deadline
    alerts) escalates straight to the team lead when its window has
    passed; the notice's explanation names its due (", due <due>" since
    the original has one). A 15-year-old drops out on Monday 2026-09-07:
    the contact deadline is 09-14, the URGENT warning comes at the start
    of Friday 09-11 (00:00 UTC, 02:00 CEST), its window counts from the
    opening, 08:00 CEST, and ends 12:00 CEST (10:00 UTC)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "low"}))
    young = CprGen(10807).born("2011-03-03")
    hub.assign(young, "cw-anna", start="2026-01-01")
    hub.send(ev_dropout(young, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-11T00:00:00")
    [w] = re.findall(r"HUB-ALERT alert (\w+) \(deadline.contact.warn\) "
                     r"raised for duty-desk", hub.log_text())
    hub.advance("2026-09-11T09:59:59")
    assert [to for a, to in escalations(hub) if a == w] == []
    hub.advance("2026-09-11T10:00:00")
    assert [to for a, to in escalations(hub) if a == w] == ["cw-lead"]
    [n] = [x for x in hub.peek("cw-lead", 1)]
    [orig] = [x for x in hub.peek("desk-dora", 1)]
    assert orig["alert_id"] == w and orig["due"] == "2026-09-14"
    assert n["alert_id"] == w[:-2] + "%02x" % (int(w[-2:], 16) | 0x80)
    assert (n["rule"], n["priority"], n["recipient"], n["cpr"],
            n["due"], n["evidence"] if "evidence" in n else []) == \
        ("escalation", "URGENT", "cw-lead", young, "2026-09-11", [])
    assert n["title"] == "Overdue with duty-desk: " + orig["title"]
    assert n["explanation"] == (
        f"Alert {w} (deadline.contact.warn), addressed to duty-desk, due "
        "2026-09-14, has not been acknowledged within 4 office hours; it "
        "stays with duty-desk, who remains responsible. Expected of you: "
        "make sure it is handled today, by duty-desk or by the desk.")
    # Recorded in the audit trail: `escalate` by the hub, detail the
    # notice's id (SECURITY.md).
    p = hub.hubctl("audit", "show", "--json")
    assert [(r["actor"], r["detail"]) for r in map(json.loads,
            p.stdout.splitlines()) if r["action"] == "escalate" and
            r["detail"] == n["alert_id"]] == [("hub", n["alert_id"])]
    # A desk member acknowledges the desk's alert: its notice to the team
    # lead is closed with it (RULES.md §8, Acknowledging).
    assert run(hub, "desk-dora", "--ack", w)[:2] == (0, "acknowledged\n")
    hub.peek("cw-lead", 0)
    # Nothing further for it.
    hub.advance("2026-09-18T10:00:00")
    assert [to for a, to in escalations(hub) if a == w] == ["cw-lead"]


def test_a_low_back_on_track_notice_escalates_after_fifteen_days(make_hub):
    """RULES.md §8: only escalation, withdrawn and operational notices
    have no deadline; back_on_track (LOW, §3) has ack.low_hours = 120
    office hours, fifteen office days, and its notices are LOW too;
    having no due, its notices' explanation names none.
    Raised Monday 2026-09-07 10:00 CEST (08:00 UTC): 6 hours that day,
    fourteen office days, 2 hours on Monday 09-28 -> 10:00 CEST; the team
    lead's as long again: Monday 10-19 10:00 CEST (the autumn school
    holiday, week 42, does not close the office)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=LEAD)
    adult = CprGen(10808).born("2001-04-04")
    hub.assign(adult, "cw-anna", start="2026-01-01")
    hub.send(ev_dropout(adult, "2026-09-04"))
    hub.wait_applied()
    hub.send(ev_enrolment(adult, "2026-09-07"))
    hub.wait_applied()
    [b] = re.findall(r"HUB-ALERT alert (\w+) \(back_on_track\) raised for "
                     r"cw-anna", hub.log_text())
    for at, want in (("2026-09-28T07:59:59", []),
                     ("2026-09-28T08:00:00", ["duty-desk"]),
                     ("2026-10-19T07:59:59", ["duty-desk"]),
                     ("2026-10-19T08:00:00", ["duty-desk", "cw-lead"])):
        hub.advance(at)
        assert [to for a, to in escalations(hub) if a == b] == want, at
    # The dropout (HIGH) escalated to cw-lead too, long before.
    notices = [x for x in hub.peek("cw-lead", 2)
               if x["explanation"].startswith(f"Alert {b} ")]
    assert [(x["rule"], x["priority"], x["due"]) for x in notices] == \
        [("escalation", "LOW", "2026-10-19")]
    # back_on_track has no due (RULES.md §2): ", due <due>" is left out.
    assert notices[0]["explanation"] == (
        f"Alert {b} (back_on_track), addressed to cw-anna, has not been "
        "acknowledged within 120 office hours; it stays with cw-anna, who "
        "remains responsible. Expected of you: make sure it is handled "
        "today, by cw-anna or by the desk.")


def test_a_reload_of_ack_hours_keeps_the_instants_scheduled(make_hub):
    """RULES.md §8 Settings: escalations already scheduled keep their
    instants; the team lead's step is scheduled when the desk's notice
    goes out, counting the ack.<priority>_hours in force then, and the
    notices name the hours in force when they go out. A raised Monday
    2026-09-07 10:00 CEST under ack.urgent_hours = 4: due 14:00. At 11:00
    a reload makes it 2. B raised then: due 13:00, its lead's 15:00. A's
    desk notice at 14:00 (kept), naming 2 hours; its lead's 2 office
    hours later, at closing, 16:00."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    ida = raise_dropout(hub, 10809, "2026-09-07")
    hub.set_clock("2026-09-07T09:00:00")
    hub.write_rules(dict(LEAD, **{"dropout.priority": "urgent",
                                  "ack.urgent_hours": "2"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    idb = raise_dropout(hub, 10810, "2026-09-07")
    steps_fall_due(hub, (("2026-09-07T11:00:00", (idb, "duty-desk")),
                         ("2026-09-07T12:00:00", (ida, "duty-desk")),
                         ("2026-09-07T13:00:00", (idb, "cw-lead")),
                         ("2026-09-07T14:00:00", (ida, "cw-lead"))))
    for n in hub.peek("cw-lead", 2):
        assert "has not been acknowledged within 2 office hours;" in \
            n["explanation"], n["explanation"]


def test_the_desks_queue_stalls_and_clears_by_its_acknowledgement(make_hub):
    """OPERATIONS.md, Operational alerts: queue_stalled watches every
    recipient, the desk's id too ("the desk's always"): more than
    ops_queue_open open alerts not gone down for ops_queue_hours. Two
    desk alerts (dropouts of people without a contact person) with
    ops_queue_open 1 and ops_queue_hours 1: stalled an hour after the
    start, to the --ops caseworker, naming the desk; a desk member's
    acknowledgement (through hubd) ends it within a second, logged
    HUB-OPS-CLEARED, the ops alert left open."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", start=False,
                    settings={"ops_queue_open": "1",
                              "ops_queue_hours": "1"})
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.start()
    hub.wait_log(r"HUB-READY")
    gen = CprGen(10811)
    hub.send(*[ev_dropout(p, "2026-09-07") for p in gen.take(2)])
    assert hub.wait_applied()["alerts"] == 2
    hub.set_clock("2026-09-07T08:30:00")
    time.sleep(1.5 * SLOW)
    assert "HUB-OPS-QUEUE-STALLED" not in hub.log_text()
    hub.set_clock("2026-09-07T09:01:00")
    hub.wait_log(r"warn HUB-OPS-QUEUE-STALLED queue_stalled \(duty-desk\)")
    [a] = hub.peek("ops-olga", 1)
    assert (a["rule"], a["priority"], a["cpr"], a["due"]) == \
        ("ops.queue_stalled", "HIGH", "", ""), a
    assert "duty-desk" in a["title"] + a["explanation"], a
    ack(hub, "desk-dora", 1)
    hub.wait_log(r"notice HUB-OPS-CLEARED queue_stalled \(duty-desk\) no "
                 r"longer holds", timeout=5 * SLOW)
    assert hub.peek("ops-olga", 1)[0]["alert_id"] == a["alert_id"]


# RULES.md §8's table of examples, row by row, in UTC (raised, priority,
# the desk's notice, the team lead's).
TABLE = [
    ("2026-03-27T13:00:00", "urgent", "2026-03-30T08:00:00",
     "2026-03-30T12:00:00"),    # Friday 14:00 CET; Monday in CEST
    ("2026-09-08T00:00:00", "urgent", "2026-09-08T10:00:00",
     "2026-09-08T14:00:00"),    # Tuesday 02:00 (summer time)
    ("2026-09-15T12:00:00", "urgent", "2026-09-16T08:00:00",
     "2026-09-16T12:00:00"),    # Tuesday 14:00
    ("2026-09-18T13:00:00", "urgent", "2026-09-21T09:00:00",
     "2026-09-21T13:00:00"),    # Friday 15:00
    ("2026-09-26T08:00:00", "urgent", "2026-09-28T10:00:00",
     "2026-09-28T14:00:00"),    # Saturday 10:00
    ("2026-10-02T08:00:00", "high", "2026-10-07T08:00:00",
     "2026-10-12T08:00:00"),    # Friday 10:00, HIGH
    ("2026-10-23T13:00:00", "urgent", "2026-10-26T10:00:00",
     "2026-10-26T14:00:00"),    # Friday 15:00 CEST; Monday in CET
    ("2026-12-23T14:00:00", "urgent", "2026-12-28T10:00:00",
     "2026-12-28T14:00:00"),    # Wednesday 12-23 15:00
    ("2027-03-24T14:00:00", "urgent", "2027-03-30T09:00:00",
     "2027-03-30T13:00:00"),    # Wednesday before Maundy Thursday 2027
]


def test_the_examples_table_of_rules_md_on_one_hub_clock(make_hub):
    hub = urgent_hub(make_hub, TABLE[0][0],
                     **{"dropout_risk.priority": "high"})
    gen = CprGen(10812)
    plan = []
    for n, (raised, _, desk, lead) in enumerate(TABLE):
        plan += [(raised, 0, n, None), (before(desk), 1, n, 0),
                 (desk, 1, n, 1), (before(lead), 1, n, 1), (lead, 1, n, 2)]
    ids = {}
    for when, _, n, want in sorted(plan):
        if want is None:
            hub.set_clock(when)
            adult = gen.born("2001-04-04")
            hub.assign(adult, "cw-anna")
            ev = ev_dropout_risk if TABLE[n][1] == "high" else ev_dropout
            hub.send(ev(adult, when[:10]))
            hub.wait_applied()
            ids[n] = re.findall(r"HUB-ALERT alert (\w+) \(dropout\w*\) "
                                r"raised for cw-anna", hub.log_text())[-1]
            continue
        hub.advance(when)
        got = [to for a, to in escalations(hub) if a == ids[n]]
        assert got == ["duty-desk", "cw-lead"][:want], (TABLE[n], when, got)


def test_a_withdrawal_after_the_desks_notice_ends_the_escalation(make_hub):
    """RULES.md §3: withdrawing closes the alert as if acknowledged, and
    its open escalation notices too; the `withdrawn` notice has no
    acknowledgement deadline (§8), so nothing escalates after it. A
    NORMAL readiness alert (72 office hours) raised Monday 2026-09-07
    10:00 CEST: the desk's notice Friday 09-18 10:00 CEST (08:00 UTC);
    corrected to ready on 09-21, before the team lead's step (Thursday
    10-01)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=LEAD)
    pupil = CprGen(10813).born("2011-01-11")
    hub.assign(pupil, "cw-anna")
    first = ev_readiness(pupil, "2026-09-03", 9, not_ready_academic=True)
    hub.send(first)
    hub.wait_applied()
    [r] = hub.peek("cw-anna", 1)
    hub.advance("2026-09-18T07:59:59")
    assert escalations(hub) == []
    hub.advance("2026-09-18T08:00:00")
    assert escalations(hub) == [(r["alert_id"], "duty-desk")]
    hub.set_clock("2026-09-21T08:00:00")
    fresh = ev_readiness(pupil, "2026-09-03", 9, ready=True)
    fresh.supersedes = first.event_id
    hub.send(fresh)
    hub.wait_applied()
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    hub.peek("desk-dora", 0)
    hub.advance("2026-10-01T08:00:00")
    hub.advance("2026-11-02T08:00:00")
    assert escalations(hub) == [(r["alert_id"], "duty-desk")]
    hub.peek("cw-lead", 0)
    assert hub.stats()["alerts_open"] == 1


def test_the_machines_time_zone_does_not_matter(make_hub, monkeypatch):
    """RULES.md §8: the hub computes Danish time itself; the machine's
    time zone does not matter. hubd run with TZ=America/New_York (summer
    time there until 11-01, not 10-25): raised Friday 2026-10-23 15:00
    CEST (13:00 UTC), URGENT: Monday 10-26 11:00 CET (10:00 UTC), the
    team lead's 15:00 CET (14:00 UTC), as RULES.md's table says."""
    monkeypatch.setenv("TZ", "America/New_York")
    hub = urgent_hub(make_hub, "2026-10-23T13:00:00")
    a = raise_dropout(hub, 10814, "2026-10-23")
    steps_at(hub, a, "2026-10-26T10:00:00", "2026-10-26T14:00:00")


def test_only_the_owner_acknowledges_the_alert_others_are_refused(make_hub):
    """RULES.md §8, Acknowledging: the owner (or, for a desk alert, a desk
    member) acknowledges the original. Another caseworker, a desk member
    and the team lead are refused with `inbox --ack` (OPERATIONS.md: exit
    4, "not open for ..."), nothing is sent, and the alert escalates on
    time all the same; the owner's --ack after the team lead's notice
    closes both notices, and a second --ack is refused as acknowledged
    already."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    a = raise_dropout(hub, 10815, "2026-09-07")

    def refused(who):
        rc, out, err = run(hub, who, "--ack", a)
        assert (rc, out, err.strip()) == (4, "", (
            f"inbox: alert {a} is not open for {who} (unknown, another "
            "caseworker's, or acknowledged already); nothing sent")), err

    for who in ("cw-bob", "desk-dora", "cw-lead"):
        refused(who)
    assert hub.stats()["alerts_open"] == 1
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    for who in ("desk-dora", "cw-lead"):
        refused(who)
    assert hub.stats()["alerts_open"] == 3
    assert run(hub, "cw-anna", "--ack", a)[:2] == (0, "acknowledged\n")
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)
    hub.peek("desk-dora", 0)
    hub.peek("cw-lead", 0)
    refused("cw-anna")


def test_a_refused_event_does_not_break_an_agencys_silence(make_hub):
    """OPERATIONS.md, Operational alerts: adapter_silent counts from the
    agency's last *accepted* event. school-a (watched for 1 hour from
    the start at 08:00) sends at 08:50 only an event the hub refuses (a
    type it is not registered for): at 09:30 it has had no event accepted
    for longer than its hour, and is silent; an accepted one ends it."""
    hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                   settings={"ops_silence": "school-a=1"})
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.start()
    time.sleep(1.5 * SLOW)          # the first check notes the start
    hub.set_clock("2026-01-05T08:50:00")
    cpr = CprGen(10816).born("2001-04-04")
    [refused] = hub.acks(ev_dropout(cpr, "2026-01-05"), agency="school-a")
    assert refused.status != ACCEPTED, refused
    time.sleep(1.5 * SLOW)
    assert "HUB-OPS-ADAPTER-SILENT" not in hub.log_text()
    hub.set_clock("2026-01-05T09:30:00")
    hub.wait_log(r"warn HUB-OPS-ADAPTER-SILENT adapter_silent \(school-a\): "
                 r"no event from school-a accepted for 1 hour \(expected at "
                 r"least every 1 hour; ops_silence\)", timeout=5 * SLOW)
    [a] = hub.peek("ops-olga", 1)
    assert (a["rule"], a["priority"], a["cpr"], a["due"]) == \
        ("ops.adapter_silent", "HIGH", "", "")
    hub.send(envelope("school-a", cpr, salt="back"))
    hub.wait_log(r"notice HUB-OPS-CLEARED adapter_silent \(school-a\) no "
                 r"longer holds")


def test_an_ops_alert_goes_to_at_most_256_ops_caseworkers(make_hub):
    """OPERATIONS.md, Operational alerts: the alert goes to every
    caseworker registered with --ops, at most 256 of them. With 257, one
    condition raises 256 alerts (each its own id: the recipient's index
    is one byte, PROTOCOL.md §4), stored without an error."""
    hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                   settings={"ops_silence": "school-a=1"})
    names = [f"ops-{n:03d}" for n in range(257)]
    for name in names:
        hub.keygen(name)
        hub.hubctl("register-caseworker", name, "--ops")
    hub.start()
    time.sleep(1.5 * SLOW)
    before_ = hub.stats()["alerts"]
    hub.set_clock("2026-01-05T09:30:00")
    hub.wait_log(r"warn HUB-OPS-ADAPTER-SILENT adapter_silent \(school-a\)")
    hub.wait_stats("256 ops alerts",
                   lambda s: s["alerts"] - before_ >= 256)
    time.sleep(1.5 * SLOW)
    st = hub.stats()
    assert (st["alerts"] - before_, st["alerts_open"]) == (256, 256), st
    assert " err " not in hub.log_text()


def test_an_office_hour_around_the_repeated_and_the_skipped_hour(make_hub):
    """RULES.md §8: office hours pass in real time; an opening or closing
    the spring change skips is read as an hour later, one the autumn
    change repeats is its first occurrence. office.days = sun,
    office.hours = 02:00-03:00, URGENT 1 office hour. Sunday 2026-03-29:
    02:00 does not exist and is read as 03:00 CEST, the closing: no
    office hour that day; Easter Sunday 04-05 is closed; 04-12 opens
    02:00 CEST (00:00 UTC): the desk's notice 01:00 UTC, the team lead's
    a week later, 04-19 01:00 UTC. Sunday 2026-10-25: 02:00 is its first
    occurrence (CEST, 00:00 UTC), 03:00 comes once (CET, 02:00 UTC): two
    real hours; raised Saturday 10-24, the desk's notice at 01:00 UTC,
    the team lead's at closing, 02:00 UTC."""
    hub = urgent_hub(make_hub, "2026-03-28T10:00:00", **{
        "office.days": "sun", "office.hours": "02:00-03:00",
        "ack.urgent_hours": "1"})
    a = raise_dropout(hub, 10817, "2026-03-28")
    steps_at(hub, a, "2026-04-12T01:00:00", "2026-04-19T01:00:00")
    hub.set_clock("2026-10-24T10:00:00")
    b = raise_dropout(hub, 10818, "2026-10-24")
    steps_at(hub, b, "2026-10-25T01:00:00", "2026-10-25T02:00:00")


def test_the_team_lead_is_who_the_rules_name_on_the_day_of_the_step(
        make_hub):
    """RULES.md §8: the team lead is `routing.team_lead` as it stands on
    the day of the step (a reload applies to every timer fired after it,
    §10). The desk's notice goes out under cw-lead; a reload names cw-bob
    before the team lead's step: cw-bob gets it, cw-lead nothing; a
    reload to none (and no DeskMembership lead) leaves the next alert
    with no second notice."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    a = raise_dropout(hub, 10819, "2026-09-07")
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.write_rules({"dropout.priority": "urgent",
                     "routing.team_lead": "cw-bob"})
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-bob")]
    [n] = hub.peek("cw-bob", 1)
    assert n["rule"] == "escalation" and n["recipient"] == "cw-bob"
    hub.peek("cw-lead", 0)
    b = raise_dropout(hub, 10820, "2026-09-08")
    hub.advance("2026-09-08T12:00:00")
    hub.write_rules({"dropout.priority": "urgent",
                     "routing.team_lead": ""})
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded", count=2)
    hub.advance("2026-09-21T12:00:00")
    assert [to for x, to in escalations(hub) if x == b] == ["duty-desk"]


def test_no_lead_on_the_step_day_no_notice(make_hub):
    """RULES.md §8: without routing.team_lead the team lead is the desk's
    (DeskMembership, team_lead = true, valid on the day of the step); with
    none that day there is no second notice. cw-lead's period ended the
    day before the step (`to` 09-09; the day of `to` itself still counts,
    test_35), and cw-bob leads another desk: a desk dropout (HIGH, no
    contact person) raised Monday 2026-09-07 10:00 CEST, due to go
    straight to the team lead on Thursday 09-10 10:00, sends nothing and
    stays with the desk."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    lead = ev_desk("cw-lead", "2026-01-01", team_lead=True)
    lead.desk_membership.to = "2026-09-09"
    hub.send(lead, ev_desk("cw-bob", "2026-01-01", team_lead=True,
                           desk="night-desk"))
    adult = CprGen(10821).born("2002-02-02")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T08:00:00")
    hub.advance("2026-09-30T08:00:00")
    assert escalations(hub) == []
    hub.peek("cw-lead", 0)
    hub.peek("cw-bob", 0)
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["recipient"]) == ("dropout", "duty-desk")
