"""120 routing and escalation, fourth round: docs/RULES.md sections 7-8
read as caseworkers, the duty desk and team leads rely on them, each
case built from the docs alone where the earlier rounds (test_35,
test_39, test_57, test_88, test_91, test_92, test_101, test_106,
test_108) left it unasserted. 2026-09-07 is a Monday; 08:00 UTC is
10:00 in Copenhagen (summer time)."""

import json
import re

from hubtest import (RULE_AGENCIES, CprGen, ev_assignment, ev_desk, ev_dropout,
                     ev_dropout_risk, rules_hub)
from test_08_inbox_cli import run
from test_35_rules_routing import LEAD, escalations, timeline_rc


def bit(alert_id, mask):
    return alert_id[:-2] + "%02x" % (int(alert_id[-2:], 16) | mask)


def raised(hub, rule):
    return re.findall(r"HUB-ALERT alert (\w+) \(%s\) raised for ([\w.-]+)"
                      % re.escape(rule), hub.log_text())


def annas_dropout(make_hub, seed, anna_on_desk=False):
    """A hub on 2026-09-07 08:00 with the team lead's escalation on, and
    one dropout alert for an adult assigned to cw-anna (a DeskMembership
    member too, with anna_on_desk): (hub, the adult, the alert's id)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    if anna_on_desk:
        hub.send(ev_desk("cw-anna", "2026-01-01"))
        hub.wait_applied()
    adult = CprGen(seed).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [(alert, to)] = raised(hub, "dropout")
    assert to == "cw-anna", to
    return hub, adult, alert


def notices_name_anna_then_bob(hub, alert):
    """The desk's notice names cw-anna, the team lead's cw-bob, to whom
    the alert moved between the two steps."""
    [d] = hub.peek("desk-dora", 1)
    [n] = hub.peek("cw-lead", 1)
    assert d["title"].startswith("Overdue with cw-anna: "), d["title"]
    assert n["title"].startswith("Overdue with cw-bob: "), n["title"]
    assert [(x["alert_id"], x["recipient"]) for x in hub.peek("cw-bob", 1)] \
        == [(alert, "cw-bob")]


def desk_dropout_at_the_lead(hub, seed):
    """A dropout alert on 2026-09-07 for an adult with no contact person,
    so at the desk, escalated straight to the team lead on 09-10:
    (the adult, the alert's id)."""
    adult = CprGen(seed).born("2001-04-04")
    hub.cprs.add(adult)
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [(alert, to)] = raised(hub, "dropout")
    assert to == "duty-desk", to
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(alert, "cw-lead")]
    return adult, alert


def desk_notice_acked_as_the_alert(hub, who, alert, whose):
    """`who` acknowledges the desk's notice of `alert` with inbox, which
    hubd takes as the alert's (RULES.md §8: logged HUB-ALERT-ACK ... the
    desk's notice of WHOSE alert ...), and nothing stays open."""
    assert run(hub, who, "--ack", bit(alert, 0x40)) == \
        (0, "acknowledged\n", "")
    hub.wait_log(r"(?m)hubd info HUB-ALERT-ACK %s acknowledged the desk's "
                 r"notice of %s alert %s: taken as the alert's$"
                 % (who, whose, alert))
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)


def test_a_revoked_owners_alert_escalates_naming_them(make_hub):
    """RULES.md §7: a revoked caseworker's alerts stay addressed to them
    and escalate like any unacknowledged alert, so the desk and the team
    lead get notices naming them; a successor takes the alert over and
    the notices stay where they are."""
    hub, adult, a = annas_dropout(make_hub, 12002)
    hub.hubctl("revoke-caseworker", "cw-anna")
    # A desk member opens the person's timeline only while an alert
    # about them addressed to the desk is open: not before the notice.
    assert timeline_rc(hub, "desk-dora", adult) == 4
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    assert timeline_rc(hub, "desk-dora", adult) == 0
    [n] = hub.peek("desk-dora", 1)
    assert n["title"] == ("Overdue with cw-anna: Dropped out of eud-smed "
                          "at college-x")
    assert n["explanation"] == (
        f"Alert {a} (dropout), addressed to cw-anna, due 2026-09-14, has "
        "not been acknowledged within 24 office hours; it stays with cw-anna, who "
        "remains responsible. Expected of you: make sure it is handled "
        "today, by cw-anna or by the desk.")
    hub.advance("2026-09-15T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    hub.assign(adult, "cw-bob", start="2026-09-15")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a)
    assert [(x["alert_id"], x["recipient"]) for x in hub.peek("cw-bob", 1)] \
        == [(a, "cw-bob")]
    assert [x["alert_id"] for x in hub.peek("desk-dora", 1)] == \
        [bit(a, 0x40)]
    assert [x["alert_id"] for x in hub.peek("cw-lead", 1)] == \
        [bit(a, 0x80)]


def test_a_desk_member_acking_a_desk_alert_closes_the_leads_notice(
        make_hub):
    """RULES.md §8: an alert addressed to the desk escalates straight to
    the team lead; when any desk member acknowledges the original, its
    open notices are closed."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult, a = desk_dropout_at_the_lead(hub, 12003)
    [n] = hub.peek("cw-lead", 1)
    assert n["alert_id"] == bit(a, 0x80)
    rc, out, err = run(hub, "desk-dora", "--ack", a)
    assert rc == 0, err
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)
    hub.peek("cw-lead", 0)


def test_a_health_notice_after_one_office_hour_says_hour(make_hub):
    """RULES.md §8: the health notice's explanation says "office hour"
    when <hours> is 1, as the other notices do."""
    from hubtest import ev_referral
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"ack.high_hours": "1", "ack.urgent_hours": "1",
                           "ack.normal_hours": "1", "ack.low_hours": "1"},
                    escalation=True)
    cpr = CprGen(12004).born("2008-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    [(a, _)] = raised(hub, "addiction")
    hub.advance("2026-09-07T09:00:00")
    [n] = hub.peek("desk-dora", 1)
    assert n["title"] == "An alert you may not read is overdue with cw-anna"
    assert n["explanation"] == (
        f"Alert {a}, addressed to cw-anna, has not been acknowledged within "
        "1 office hour. It holds data that only its recipient may see, so "
        "its content is not shown here. Expected of you: make sure cw-anna "
        "handles it today.")


def test_a_former_owner_on_the_desk_acking_the_desks_notice(make_hub):
    """RULES.md §8: the owner's acknowledgement of the desk's notice is
    taken as the alert's only while the alert is open and still theirs.
    Once it moved to cw-bob, cw-anna (a desk member) acknowledging the
    desk's notice is the desk's: it closes only the notice, the alert
    stays open with cw-bob, and the team lead's step sends nothing."""
    hub, adult, a = annas_dropout(make_hub, 12005, anna_on_desk=True)
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.assign(adult, "cw-bob", start="2026-09-10")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a)
    rc, out, err = run(hub, "cw-anna", "--ack", bit(a, 0x40))
    assert rc == 0, err
    hub.wait_stats("notice closed", lambda s: s["alerts_open"] == 1)
    assert "HUB-ALERT-ACK cw-anna acknowledged the desk's notice" \
        not in hub.log_text()
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [a]
    hub.advance("2026-09-15T08:00:00")
    hub.advance("2026-09-22T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.peek("cw-lead", 0)


def test_assigning_the_desks_own_id_hands_open_alerts_to_the_desk(
        make_hub):
    """RULES.md §7: an assignment naming the desk's own id names no
    contact person: the person's alerts go to the desk as for a person
    without one, so an open dropout alert moves there as on an ended
    assignment (logged HUB-REROUTE ... moved to duty-desk), and a new
    one is raised for the desk."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(12006).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [(a, _)] = raised(hub, "dropout")
    hub.send(ev_assignment(adult, "duty-desk", "2026-09-07"))
    hub.wait_applied()
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a)
    hub.peek("cw-anna", 0)
    [d] = hub.peek("desk-dora", 1)
    assert (d["alert_id"], d["recipient"]) == (a, "duty-desk")
    hub.send(ev_dropout_risk(adult, "2026-09-07"))
    hub.wait_applied()
    assert [to for _, to in raised(hub, "dropout_risk")] == ["duty-desk"]


def test_a_window_counts_from_the_opening_minute_to_the_second(make_hub):
    """RULES.md §8, Office hours: raised outside office hours the window
    starts at the next opening, and it ends the instant the hours have
    passed. URGENT (4 office hours), Monday 2026-09-07, CEST:
    raised 15:59:59 -> 1 s Monday + 3:59:59 Tuesday = Tuesday 11:59:59;
    raised at closing 16:00:00, at 07:59:59 Tuesday and at the opening
    08:00:00 -> Tuesday 12:00:00 (10:00 UTC), none a second before."""
    hub = rules_hub(make_hub, "2026-09-07T13:59:59", rules=dict(
        LEAD, **{"dropout.priority": "urgent"}), escalation=True)
    gen = CprGen(12007)
    ids = []
    for at in ("2026-09-07T13:59:59", "2026-09-07T14:00:00",
               "2026-09-08T05:59:59", "2026-09-08T06:00:00"):
        hub.set_clock(at)
        adult = gen.born("2001-04-04")
        hub.assign(adult, "cw-anna", start="2026-09-07")
        hub.send(ev_dropout(adult, "2026-09-07"))
        hub.wait_applied()
        ids.append(raised(hub, "dropout")[-1][0])
    assert len(set(ids)) == 4
    hub.advance("2026-09-08T09:59:58")
    assert escalations(hub) == []
    hub.advance("2026-09-08T09:59:59")
    assert escalations(hub) == [(ids[0], "duty-desk")]
    hub.advance("2026-09-08T10:00:00")
    assert sorted(escalations(hub)) == sorted(
        (a, "duty-desk") for a in ids)
    # The team lead's step: 4 office hours after the window's end.
    hub.advance("2026-09-08T13:59:58")
    assert len(escalations(hub)) == 4
    hub.advance("2026-09-08T13:59:59")
    assert escalations(hub)[4:] == [(ids[0], "cw-lead")]
    hub.advance("2026-09-08T14:00:00")
    assert len(escalations(hub)) == 8


def test_an_alert_moved_to_the_team_lead_between_the_steps(make_hub):
    """RULES.md §8: who owns the alert is judged on the day of the
    step. Handed to the team lead after the desk's notice, the alert
    brings them no notice at the team lead's step: it is logged that the
    desk's notice stands."""
    hub, adult, a = annas_dropout(make_hub, 12008)
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.assign(adult, "cw-lead", start="2026-09-11")
    hub.advance("2026-09-11T00:00:00")
    # OPERATIONS.md's log lines: HUB-REROUTE info, HUB-ESCALATE notice.
    hub.wait_log(r"(?m)hubd info HUB-REROUTE alert %s moved to cw-lead$" % a)
    hub.advance("2026-09-15T08:00:00")
    hub.wait_log(r"(?m)hubd notice HUB-ESCALATE alert %s not acknowledged in "
                 r"time; no notice to the team lead cw-lead, who owns it: "
                 r"the desk's notice stands$" % a)
    assert escalations(hub) == [(a, "duty-desk")]
    assert [x["alert_id"] for x in hub.peek("cw-lead", 1)] == [a]


def test_a_readiness_alert_at_the_desk_follows_the_contact_person(
        make_hub):
    """RULES.md §7: naming a counsellor moves no open alert at all: a
    readiness alert that went to the desk for want of both follows the
    next contact person, like the desk's other alerts."""
    from hubtest import ev_readiness
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    pupil = CprGen(12009).born("2011-03-03")
    hub.cprs.add(pupil)
    hub.send(ev_readiness(pupil, "2026-09-07", 9))
    hub.wait_applied()
    [(r, to)] = raised(hub, "readiness")
    assert to == "duty-desk"
    hub.hubctl("assign", "--cpr", pupil, "--caseworker", "cw-bob",
               "--role", "guidance", "--from", "2026-09-07")
    hub.settle()
    hub.peek("cw-bob", 0)
    assert [x["alert_id"] for x in hub.peek("desk-dora", 1)] == [r]
    hub.assign(pupil, "cw-anna", start="2026-09-07")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-anna" % r)
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == [r]
    hub.peek("cw-bob", 0)
    hub.peek("desk-dora", 0)


def test_a_withdrawn_notice_stays_with_its_recipient(make_hub):
    """RULES.md §7: a `withdrawn` notice never moves: it is for the
    recipient of the alert it withdraws, also when the person gets a new
    contact person."""
    from test_41_rules_followup import absence_alert_withdrawn
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    a, w = absence_alert_withdrawn(hub, 12010, 12, 0)
    assert w["rule"] == "withdrawn"
    hub.assign(a["cpr"], "cw-bob", start="2026-09-07")
    hub.settle()
    assert "HUB-REROUTE alert %s" % w["alert_id"] not in hub.log_text()
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == \
        [w["alert_id"]]
    hub.peek("cw-bob", 0)
    # RULES.md §8: a `withdrawn` notice has no acknowledgement deadline;
    # it stays open with its recipient and nobody gets a notice of it.
    hub.advance("2026-10-07T08:00:00")
    assert escalations(hub) == []
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == \
        [w["alert_id"]]


def test_a_desk_membership_ends_after_its_to_day(make_hub):
    """RULES.md §7: desk members are named by DeskMembership events
    valid on the day: on its `to` day cw-bob takes the desk's alerts,
    the day after they are no longer his to see or acknowledge
    (`inbox --ack` exit 4)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = ev_desk("cw-bob", "2026-01-01")
    m.desk_membership.to = "2026-09-07"
    hub.send(m)
    adult = CprGen(12011).born("2001-04-04")
    hub.cprs.add(adult)
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [(a, to)] = raised(hub, "dropout")
    assert to == "duty-desk"
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [a]
    # OPERATIONS.md, HUB-HELLO: a desk member's line says so.
    hub.wait_log(r"HUB-HELLO caseworker cw-bob connected \(desk member\), "
                 r"1 open alerts")
    hub.advance("2026-09-08T00:00:00")
    hub.peek("cw-bob", 0)
    hub.wait_log(r"HUB-HELLO caseworker cw-bob connected, 0 open alerts")
    rc, out, err = run(hub, "cw-bob", "--ack", a)
    assert rc == 4, (rc, err)
    assert [x["alert_id"] for x in hub.peek("desk-dora", 1)] == [a]


def test_an_empty_desks_alerts_wait_for_its_first_member(make_hub):
    """RULES.md §7: a person without a contact person's alerts go to the
    duty desk, where any member can take them. With nobody on the desk
    they wait, open, and reach the first caseworker registered with
    --desk; the team lead is told when the window passes all the same
    (§8: an alert the desk owns escalates straight to the team lead)."""
    hub = make_hub(clock="2026-09-07T08:00:00",
                   agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "cw-lead": False},
                   rules=LEAD)
    adult, a = desk_dropout_at_the_lead(hub, 12012)
    hub.keygen("desk-dora")
    hub.register_caseworker("desk-dora", desk=True)
    [d] = hub.peek("desk-dora", 1)
    assert (d["alert_id"], d["recipient"]) == (a, "duty-desk")
    assert [x["alert_id"] for x in hub.peek("cw-lead", 1)] == \
        [bit(a, 0x80)]


# A weekend office (office.days = sat, sun; 08:00-16:00; URGENT 8 office
# hours, one office day) meets the public holidays that fall on its days
# (RULES.md §8, Office hours, and §9): Whit Sunday 2027-05-16,
# Constitution Day on Saturday 2027-06-05, Christmas Day, Boxing Day and
# New Year's Day 2027/28 on a Saturday, a Sunday and a Saturday. Local
# (Danish) times, worked out by hand.
WEEKEND_HOLIDAYS = [
    # Sat 4 h, Whit Sunday closed, Sat 05-22 4 h; then Sat 4 h, Sun 4 h.
    ("2027-05-15 12:00", 4, "2027-05-22 12:00", "2027-05-23 12:00"),
    # Constitution Day closed: Sunday 8 h, ending at closing; then the
    # next Saturday whole.
    ("2027-06-05 10:00", 4, "2027-06-06 16:00", "2027-06-12 16:00"),
    # Sat 4 h, Sun 4 h; then Sun 4 h, 12-25, 12-26 and 01-01 closed,
    # Sun 01-02 4 h.
    ("2027-12-18 12:00", 4, "2027-12-19 12:00", "2028-01-02 12:00"),
]


def test_a_weekend_office_closed_on_the_holidays_of_its_days(make_hub):
    from test_91_escalate import check_instants, escalating_hub
    hub = escalating_hub(make_hub, WEEKEND_HOLIDAYS[0][0], **{
        "office.days": "sat, sun", "ack.urgent_hours": "8"})
    check_instants(hub, WEEKEND_HOLIDAYS, 12013)


def test_a_to_does_not_call_a_planned_handover_off(make_hub):
    """RULES.md §7: a `to` does not call a planned handover off: the
    handover is in force until its `to`, at least its first day, and the
    earlier contact person does not come back after it. cw-anna from
    09-01, cw-bob from 09-21 corrected to end on 09-21: on 09-21 the open
    alert moves to cw-bob, on 09-22 to the desk."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(12014).born("2005-01-13")
    hub.assign(cpr, "cw-anna", start="2026-09-01")
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    hub.wait_applied()
    [(r, _)] = raised(hub, "dropout_risk")
    hub.assign(cpr, "cw-bob", start="2026-09-21")
    hub.assign(cpr, "cw-bob", start="2026-09-21", end="2026-09-21")
    hub.advance("2026-09-20T23:59:59")
    assert [x["recipient"] for x in hub.peek("cw-anna", 1)] == ["cw-anna"]
    hub.advance("2026-09-21T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % r)
    assert [x["recipient"] for x in hub.peek("cw-bob", 1)] == ["cw-bob"]
    hub.advance("2026-09-22T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % r)
    assert [x["recipient"] for x in hub.peek("desk-dora", 1)] == \
        ["duty-desk"]
    hub.peek("cw-anna", 0)
    hub.peek("cw-bob", 0)


def test_a_clock_past_a_step_a_move_and_a_step_takes_them_in_order(
        make_hub):
    """RULES.md §6 and §8: timers that fell due together fire in the
    order they fell due. One jump of the hub clock over the desk's step
    (Thursday 09-10), cw-bob's first day (09-11) and the team lead's step
    (Tuesday 09-15): the desk's notice names cw-anna, the alert moves to
    cw-bob, and the team lead's notice names cw-bob."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(12015).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    hub.assign(adult, "cw-bob", start="2026-09-11")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [(a, _)] = raised(hub, "dropout")
    hub.advance("2026-09-16T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a)
    notices_name_anna_then_bob(hub, a)


def test_a_handover_hubctl_wrote_while_hubd_was_down_between_the_steps(
        make_hub):
    """RULES.md §6: an assignment hubctl wrote while hubd was down is
    applied as of when hubctl wrote it, in the clock's order with the
    timers. Written on Saturday 09-12 (from 09-11), it comes after the
    desk's step (Thursday 09-10: the notice names cw-anna) and before
    the team lead's (Tuesday 09-15: it names cw-bob), hubd back on
    09-16."""
    hub, adult, a = annas_dropout(make_hub, 12016)
    hub.stop()
    hub.set_clock("2026-09-12T09:00:00")
    hub.assign(adult, "cw-bob", start="2026-09-11")
    hub.set_clock("2026-09-16T08:00:00")
    hub.start()
    hub.wait_log(r"notice %s to cw-lead" % bit(a, 0x80))
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    notices_name_anna_then_bob(hub, a)


# A weekday office open round the clock (office.hours = 00:00-24:00):
# a window runs over midnight, and stops at Friday's 24:00 until Monday
# 00:00, in either time (RULES.md §8). URGENT, 4 office hours.
ROUND_THE_CLOCK = [
    # Tuesday 22:00 -> Wednesday 02:00 -> 06:00.
    ("2026-10-20 22:00", 4, "2026-10-21 02:00", "2026-10-21 06:00"),
    # Friday 23:00 CEST: 1 h; the weekend of the autumn change closed;
    # Monday 00:00 CET + 3 h.
    ("2026-10-23 23:00", 4, "2026-10-26 03:00", "2026-10-26 07:00"),
    # Thursday 2026-12-31 22:00: 2 h; New Year's Day, then the weekend,
    # closed; Monday 2027-01-04 00:00 + 2 h.
    ("2026-12-31 22:00", 4, "2027-01-04 02:00", "2027-01-04 06:00"),
]


def test_a_round_the_clock_office_stops_at_midnight_before_a_closed_day(
        make_hub):
    from test_91_escalate import check_instants, escalating_hub
    hub = escalating_hub(make_hub, ROUND_THE_CLOCK[0][0], **{
        "office.hours": "00:00-24:00"})
    check_instants(hub, ROUND_THE_CLOCK, 12017)


def test_an_owner_on_the_desk_acking_its_notice_after_the_leads(make_hub):
    """RULES.md §8: an owner on the desk too (a DeskMembership) who
    acknowledges the desk's notice of their open alert acknowledges the
    alert, as if they had acknowledged the original: its notices close,
    the team lead's sent meanwhile too, and hubd logs HUB-ALERT-ACK ...
    taken as the alert's (info)."""
    hub, adult, a = annas_dropout(make_hub, 12018, anna_on_desk=True)
    hub.advance("2026-09-16T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    desk_notice_acked_as_the_alert(hub, "cw-anna", a, "their own")
    hub.peek("cw-lead", 0)
    hub.peek("desk-dora", 0)
    hub.peek("cw-anna", 0)


def test_a_missed_treatment_deadline_escalates_to_the_lead_unread(
        make_hub):
    """RULES.md §8: deadline.treatment.missed is a health alert the desk
    owns: its window passed, it escalates straight to the team lead with
    a notice that carries no CPR and none of its content. The deadline is
    missed at 2026-09-22 00:00 UTC (Tuesday 02:00 CEST); HIGH, 24 office
    hours from the opening: Thursday 09-24 16:00 CEST (14:00 UTC)."""
    from hubtest import ev_referral
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    cpr = CprGen(12019).born("2008-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    hub.advance("2026-09-22T00:00:00")
    [(m, to)] = raised(hub, "deadline.treatment.missed")
    assert to == "duty-desk"
    hub.advance("2026-09-24T13:59:59")
    assert [x for x in escalations(hub) if x[0] == m] == []
    hub.advance("2026-09-24T14:00:00")
    assert [x for x in escalations(hub) if x[0] == m] == [(m, "cw-lead")]
    # The addiction alert's own notice is there too (cw-anna's, 09-15).
    [n] = [x for x in hub.peek("cw-lead", 2)
           if x["alert_id"] == bit(m, 0x80)]
    assert (n["alert_id"], n["rule"], n["priority"], n["cpr"],
            n["due"]) == (bit(m, 0x80), "escalation", "HIGH", "",
                          "2026-09-24")
    assert n["title"] == \
        "An alert you may not read is overdue with duty-desk"
    assert n["explanation"] == (
        f"Alert {m}, addressed to duty-desk, has not been acknowledged "
        "within 24 office hours. It holds data that only its recipient "
        "may see, so its content is not shown here. Expected of you: "
        "make sure duty-desk handles it today.")
    assert timeline_rc(hub, "cw-lead", cpr) == 4


def test_a_desk_member_acking_the_desks_notice_of_the_desks_alert(
        make_hub):
    """RULES.md §8, Acknowledging: an owner cannot end the oversight, nor
    keep the team lead from being told, without acknowledging the alert.
    cw-anna's assignment ends on 09-10, after the desk's notice of her
    alert went out: from 09-11 the alert is the desk's, and a desk
    member acknowledging the desk's notice acknowledges the alert (any
    member takes the desk's alerts), logged; it no longer sat at the desk
    open, with the team lead never told."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(12020).born("2001-04-04")
    hub.assign(adult, "cw-anna", start="2026-01-01", end="2026-09-10")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [(a, _)] = raised(hub, "dropout")
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.advance("2026-09-11T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a)
    assert sorted(x["alert_id"] for x in hub.peek("desk-dora", 2)) == \
        [a, bit(a, 0x40)]
    desk_notice_acked_as_the_alert(hub, "desk-dora", a, "the desk's own")
    hub.peek("desk-dora", 0)
    hub.advance("2026-09-16T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    # The audit trail's `ack` names the alert.
    p = hub.hubctl("audit", "show", "--json")
    acks = [(r["actor"], r["detail"]) for r in
            map(json.loads, p.stdout.splitlines()) if r["action"] == "ack"]
    assert acks == [("desk-dora", a)], acks
