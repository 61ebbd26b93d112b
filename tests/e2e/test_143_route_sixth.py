"""143 routing and escalation, sixth round: docs/RULES.md sections 7-8
read as caseworkers, the duty desk and team leads rely on them, where
the earlier rounds (test_35, test_39, test_57, test_88, test_91, test_92,
test_106, test_108, test_120, test_132) left a case unasserted. Instants
are worked out from RULES.md alone and written in UTC (Danish time is
UTC+2 in summer). 2026-09-07 is a Monday."""

import re
import signal

from hubtest import (NO_ESCALATION, RULE_AGENCIES, CprGen, dashed,
                     ev_assignment, ev_desk, ev_dropout, ev_referral, event,
                     rules_hub)
from test_08_inbox_cli import run
from test_108_escalate_third import (LEAD, before, escalations,
                                     raise_dropout, steps_fall_due,
                                     urgent_hub)
from test_35_rules_routing import timeline_rc


def raised(hub, rule):
    """The id of the latest alert of the rule."""
    return re.findall(r"HUB-ALERT alert (\w+) \(%s\) raised for"
                      % re.escape(rule), hub.log_text())[-1]


def moves(hub):
    return re.findall(r"HUB-REROUTE alert (\w+) moved to ([\w.-]+)",
                      hub.log_text())


def at_the_desk_by_noon(make_hub, seed):
    """An urgent dropout alert of cw-anna's raised Monday 2026-09-07, its
    desk notice out at 12:00 (team lead cw-lead): (hub, alert, adult)."""
    hub = urgent_hub(make_hub, "2026-09-07T08:00:00")
    a = raise_dropout(hub, seed, "2026-09-07")
    adult = [c for c in hub.cprs if c != hub.SENTINEL_CPR][0]
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    return hub, a, adult


def test_a_reload_of_office_hours_counts_from_the_next_window(make_hub):
    """RULES.md §8 Settings: a reload changes the hours of windows that
    start after it; escalations already scheduled keep their instants;
    the team lead's step, scheduled when the desk's notice goes out,
    counts the office hours in force then. URGENT (4 office hours). A is
    raised Monday 10:00 CEST under 08:00-16:00: the desk's at 14:00. At
    11:00 a reload makes the office 09:00-13:00. B raised then: Monday
    11-13, Tuesday 09-11, so the desk's Tuesday 11:00, the lead's
    Tuesday 11-13 and Wednesday 09-11, Wednesday 11:00. A's desk notice
    stays at Monday 14:00 (the office closed by then); its lead's counts
    4 hours of the new office from then: Tuesday 09-13, 13:00."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    ida = raise_dropout(hub, 14301, "2026-09-07")
    hub.set_clock("2026-09-07T09:00:00")
    hub.write_rules(dict(LEAD, **{"dropout.priority": "urgent",
                                  "office.hours": "09:00-13:00"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    idb = raise_dropout(hub, 14302, "2026-09-07")
    steps_fall_due(hub, (("2026-09-07T12:00:00", (ida, "duty-desk")),
                         ("2026-09-08T09:00:00", (idb, "duty-desk")),
                         ("2026-09-08T11:00:00", (ida, "cw-lead")),
                         ("2026-09-09T09:00:00", (idb, "cw-lead"))))


def test_a_back_dated_assignment_that_has_ended_leaves_nobody(make_hub):
    """RULES.md §7: "current" is the assignment with the latest `from`
    on or before today unless its `to` has passed, and an earlier one does
    not come back when the later one ends. An assignment back-dated with
    a `from` after the current one's and a `to` already passed so leaves
    the person without a contact person: the open alert goes to the desk
    at once."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(14303).born("2001-04-04")
    hub.cprs.add(adult)
    hub.assign(adult, "cw-anna", start="2026-01-01")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [a] = hub.peek("cw-anna", 1)
    hub.assign(adult, "cw-bob", start="2026-08-01", end="2026-08-31")
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a["alert_id"])
    hub.settle()
    assert moves(hub) == [(a["alert_id"], "duty-desk")]
    hub.peek("cw-anna", 0)
    [d] = hub.peek("desk-dora", 1)
    assert d["recipient"] == "duty-desk"


def bit(alert_id, mask):
    return alert_id[:-2] + "%02x" % (int(alert_id[-2:], 16) | mask)


def test_a_new_owner_on_the_desk_acking_the_desks_earlier_notice(make_hub):
    """RULES.md §8: an owner who is on the desk too and acknowledges the
    desk's notice of their alert while it is open and theirs acknowledges
    the alert itself. The notice went out naming cw-anna; the alert then
    moved to desk-dora (a desk member, her contact person from the day of
    the notice): her acknowledgement of that notice is the alert's, its
    notices close and the team lead's step sends nothing."""
    hub, a, adult = at_the_desk_by_noon(make_hub, 14304)
    hub.assign(adult, "desk-dora", start="2026-09-07")
    hub.wait_log(r"HUB-REROUTE alert %s moved to desk-dora" % a)
    assert sorted((x["alert_id"], x["recipient"])
                  for x in hub.peek("desk-dora", 2)) == \
        [(a, "desk-dora"), (bit(a, 0x40), "duty-desk")]
    rc, out, err = run(hub, "desk-dora", "--ack", bit(a, 0x40))
    assert rc == 0, err
    hub.wait_log(r"(?m)hubd info HUB-ALERT-ACK desk-dora acknowledged the "
                 r"desk's notice of their own alert %s: taken as the "
                 r"alert's$" % a)
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.peek("cw-lead", 0)


def test_the_desk_acking_its_notice_after_the_leads_went_out(make_hub):
    """RULES.md §8: acknowledging a notice closes only the notice. The
    desk acknowledges its notice after the team lead's went out: the
    lead's notice stays open with the lead, the alert with its owner;
    the owner's acknowledgement then closes the lead's notice too."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    a = raise_dropout(hub, 14305, "2026-09-07")
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    rc, out, err = run(hub, "desk-dora", "--ack", bit(a, 0x40))
    assert rc == 0, err
    hub.wait_stats("desk notice closed", lambda s: s["alerts_open"] == 2)
    assert "HUB-ALERT-ACK desk-dora acknowledged the desk's notice" \
        not in hub.log_text()
    hub.peek("desk-dora", 0)
    assert [x["alert_id"] for x in hub.peek("cw-lead", 1)] == [bit(a, 0x80)]
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == [a]
    rc, out, err = run(hub, "cw-anna", "--ack", a)
    assert rc == 0, err
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)
    hub.peek("cw-lead", 0)


def test_a_renamed_desk_escalates_to_its_own_team_lead(make_hub):
    """RULES.md §8: the desk is routing.desk, and without
    routing.team_lead the team lead is the desk's team lead from the youth
    unit's DeskMembership events: with routing.desk = youth-desk, a lead
    of duty-desk (another desk) is no one's lead here. The notices go to
    youth-desk (its --desk members see them) and to youth-desk's lead."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"dropout.priority": "urgent",
                           "routing.desk": "youth-desk"})
    hub.send(ev_desk("cw-bob", "2026-01-01", team_lead=True),
             ev_desk("cw-lead", "2026-01-01", team_lead=True,
                     desk="youth-desk"))
    hub.wait_applied()
    a = raise_dropout(hub, 14306, "2026-09-07")
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(a, "youth-desk")]
    [n] = hub.peek("desk-dora", 1)
    assert (n["alert_id"], n["recipient"]) == (bit(a, 0x40), "youth-desk")
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "youth-desk"), (a, "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert (n["alert_id"], n["recipient"]) == (bit(a, 0x80), "cw-lead")
    hub.peek("cw-bob", 0)


def test_a_corrected_row_hands_an_escalated_alert_over_at_once(make_hub):
    """RULES.md §7: an assignment with the same `from` as one held
    replaces it (a corrected row): the open alert, escalated already,
    moves to the new contact person at once; the desk's notice stays
    where it is, naming cw-anna; the team lead's, later, names the new
    owner. cw-anna, no longer the owner, cannot acknowledge it (exit 4)."""
    hub, a, adult = at_the_desk_by_noon(make_hub, 14307)
    hub.assign(adult, "cw-bob", start="2026-09-07")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a)
    assert run(hub, "cw-anna", "--ack", a)[0] == 4
    [d] = hub.peek("desk-dora", 1)
    assert d["title"] == ("Overdue with cw-anna: Dropped out of eud-smed "
                          "at college-x")
    hub.advance(before("2026-09-08T08:00:00"))
    assert escalations(hub) == [(a, "duty-desk")]
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert (n["alert_id"], n["priority"], n["due"], n["cpr"]) == \
        (bit(a, 0x80), "URGENT", "2026-09-08", adult)
    assert n["title"] == ("Overdue with cw-bob: Dropped out of eud-smed "
                          "at college-x")
    assert n["explanation"] == (
        f"Alert {a} (dropout), addressed to cw-bob, due 2026-09-14, has "
        "not been acknowledged within 4 office hours; it stays with cw-bob, "
        "who remains responsible. Expected of you: make sure it is handled "
        "today, by cw-bob or by the desk.")
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [a]
    hub.peek("cw-anna", 0)


def test_an_alert_handed_to_the_desk_between_the_steps(make_hub):
    """RULES.md §7-§8: an assignment that ends hands the open alert to
    the desk the day after its `to`; the desk's notice, sent before,
    stays; the team lead's names the new owner, the desk, and a desk
    member's acknowledgement of the desk's notice then is the alert's,
    closing the lead's notice too."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    adult = CprGen(14308).born("2001-04-04")
    hub.cprs.add(adult)
    hub.assign(adult, "cw-anna", start="2026-09-01", end="2026-09-07")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [a] = [x["alert_id"] for x in hub.peek("cw-anna", 1)]
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.advance("2026-09-08T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a)
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert n["title"] == ("Overdue with duty-desk: Dropped out of eud-smed "
                          "at college-x")
    assert sorted(x["alert_id"] for x in hub.peek("desk-dora", 2)) == \
        sorted([a, bit(a, 0x40)])
    rc, out, err = run(hub, "desk-dora", "--ack", bit(a, 0x40))
    assert rc == 0, err
    hub.wait_log(r"HUB-ALERT-ACK desk-dora acknowledged the desk's notice "
                 r"of the desk's own alert %s: taken as the alert's" % a)
    hub.wait_stats("all closed", lambda s: s["alerts_open"] == 0)
    hub.peek("cw-lead", 0)


def test_queue_stalled_skips_unregistered_and_revoked_ids(make_hub):
    """RULES.md §7: ops.queue_stalled watches only registered
    caseworkers' queues and the desk's, not those of an id no one is
    registered under; a revoked caseworker is such an id from then on.
    With ops_queue_open 1 and ops_queue_hours 2, cw-bob (registered),
    cw-ghost (never registered) and cw-anna (revoked) each hold two open
    alerts for 2 hours: only cw-bob's queue stalls."""
    hub = make_hub(start=False, clock="2026-09-07T08:00:00",
                   agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "cw-bob": False,
                                "desk-dora": True},
                   rules=dict(NO_ESCALATION),
                   settings={"ops_queue_open": "1", "ops_queue_hours": "2"})
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.start()
    cprs = CprGen(14309).take(6)
    owners = ["cw-bob", "cw-bob", "cw-ghost", "cw-ghost", "cw-anna",
              "cw-anna"]
    hub.cprs.update(cprs)
    hub.send(*[ev_assignment(c, o, "2024-01-01")
               for c, o in zip(cprs, owners)])
    hub.send(*[ev_dropout(c, "2026-09-07") for c in cprs])
    hub.wait_stats("six alerts", lambda s: s["alerts_open"] == 6)
    hub.hubctl("revoke-caseworker", "cw-anna")
    hub.set_clock("2026-09-07T08:02:00")
    hub.settle()
    hub.set_clock("2026-09-07T10:03:00")
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-bob\)")
    hub.set_clock("2026-09-07T11:04:00")
    hub.settle()
    hub.set_clock("2026-09-07T11:05:00")
    hub.settle()
    assert re.findall(r"HUB-OPS-QUEUE-STALLED queue_stalled \(([\w.-]+)\)",
                      hub.log_text()) == ["cw-bob"]


def period(caseworker, start, team_lead, end=None):
    fields = {"from": start}
    if end:
        fields["to"] = end
    return event("youth-a", "", "desk_membership", desk="duty-desk",
                 caseworker=caseworker, team_lead=team_lead, **fields)


def test_a_corrected_desk_membership_unnames_the_team_lead(make_hub):
    """RULES.md §8 with PROTOCOL.md §3: a DeskMembership is known by its
    desk, caseworker and `from`; one with the same three replaces the one
    before. cw-lead's lead period sent again with team_lead false names no
    lead: the step sends nothing. cw-bob's sent again with a `to` ending
    it on the desk's notice day names no lead on the step's day either;
    cw-anna, named lead since, gets the next alert's notice (the owner
    being cw-bob)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"dropout.priority": "urgent"})
    hub.send(period("cw-lead", "2026-01-01", True),
             period("cw-lead", "2026-01-01", False),
             period("cw-bob", "2026-01-01", True),
             period("cw-bob", "2026-01-01", True, "2026-09-07"))
    hub.wait_applied()
    a = raise_dropout(hub, 14313, "2026-09-07")
    hub.advance("2026-09-07T12:00:00")
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    # cw-lead is still on the desk (a member, no lead): the desk's notice
    # is all they see; cw-bob's period has ended.
    assert [x["alert_id"] for x in hub.peek("cw-lead", 1)] == [bit(a, 0x40)]
    hub.peek("cw-bob", 0)
    hub.send(period("cw-anna", "2026-09-01", True))
    b = raise_dropout(hub, 14314, "2026-09-08", owner="cw-bob")
    hub.advance("2026-09-08T12:00:00")
    hub.advance(before("2026-09-09T08:00:00"))
    assert escalations(hub)[1:] == [(b, "duty-desk")]
    hub.advance("2026-09-09T08:00:00")
    assert escalations(hub)[1:] == [(b, "duty-desk"), (b, "cw-anna")]
    # cw-anna: her own alert a, the desk's two notices (she is on the
    # desk as its lead) and the team lead's notice of b.
    got = {x["alert_id"]: x for x in hub.peek("cw-anna", 4)}
    assert sorted(got) == sorted([a, bit(a, 0x40), bit(b, 0x40),
                                  bit(b, 0x80)])
    n = got[bit(b, 0x80)]
    assert (n["recipient"], n["title"]) == (
        "cw-anna", "Overdue with cw-bob: Dropped out of eud-smed at "
        "college-x")


def test_what_inbox_list_shows_each_party(make_hub):
    """OPERATIONS.md "Caseworkers" (--list: priority padded to 7, id, the
    UTC day raised, `due` and the day, recipient padded to 12, CPR or `-`
    alone for an alert without a person, title; most urgent first) with
    RULES.md §8: the owner keeps their alerts; the desk lists the desk's
    notice of the dropout (the person's CPR) and of the addiction alert
    (no CPR, "An alert you may not read ..."); the team lead lists theirs.
    The notices' `due` is the day they went out (the clock jumped to
    Thursday over both steps of the URGENT one). A desk member opens the
    timeline of the dropout's person, not of the addiction alert's."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    a = raise_dropout(hub, 14315, "2026-09-07")
    adult = [c for c in hub.cprs if c != hub.SENTINEL_CPR][0]
    youth = CprGen(14316).born("2009-04-04")
    hub.assign(youth, "cw-anna")
    hub.send(ev_referral(youth, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    r = raised(hub, "addiction")
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (r, "duty-desk"),
                                (a, "cw-lead")]
    title = "Dropped out of eud-smed at college-x"
    assert run(hub, "desk-dora", "--list")[:2] == (0, (
        f"URGENT  {bit(a, 0x40)}  2026-09-10  due 2026-09-10  duty-desk    "
        f"{dashed(adult)}  Overdue with cw-anna: {title}\n"
        f"HIGH    {bit(r, 0x40)}  2026-09-10  due 2026-09-10  duty-desk    "
        "-  An alert you may not read is overdue with cw-anna\n"
        "2 open alerts\n"))
    assert run(hub, "cw-lead", "--list")[:2] == (0, (
        f"URGENT  {bit(a, 0x80)}  2026-09-10  due 2026-09-10  cw-lead      "
        f"{dashed(adult)}  Overdue with cw-anna: {title}\n"
        "1 open alerts\n"))
    rc, out, _ = run(hub, "cw-anna", "--list")
    assert (rc, [line.split()[:5] for line in out.splitlines()]) == (0, [
        ["URGENT", a, "2026-09-07", "due", "2026-09-14"],
        ["HIGH", r, "2026-09-07", "due", "2026-09-14"],
        ["2", "open", "alerts"]])
    assert timeline_rc(hub, "desk-dora", adult) == 0
    assert timeline_rc(hub, "desk-dora", youth) == 4


def test_a_rebuild_keeps_the_leads_step_of_a_late_desk_notice(make_hub):
    """RULES.md §8 "The window starts": a replay into a rebuilt derived
    state counts the team lead's step from the instant the window ended,
    also when the desk's notice went out later because hubd was down
    then; one acknowledged meanwhile escalates no more; one moved to
    cw-bob stays his and the lead's notice names him. URGENT alerts
    raised Monday 10:00 CEST: window ends 14:00 CEST (12:00 UTC); hubd is
    down from 11:00 UTC to Tuesday 07:00 UTC (09:00 CEST), when the desk's
    notices go out; the lead's fall due Tuesday 10:00 CEST (08:00 UTC),
    4 office hours after the window's end, not after the notices."""
    import shutil

    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    a = raise_dropout(hub, 14317, "2026-09-07")
    b = raise_dropout(hub, 14318, "2026-09-07")
    c = raise_dropout(hub, 14319, "2026-09-07")
    moved = CprGen(14319).born("2001-04-04")
    hub.set_clock("2026-09-07T11:00:00")
    hub.stop()
    hub.set_clock("2026-09-08T07:00:00")
    hub.start()
    hub.settle()
    # Due at the same instant, they go out in no order of their own.
    assert sorted(escalations(hub)) == sorted([(a, "duty-desk"),
                                               (b, "duty-desk"),
                                               (c, "duty-desk")])
    rc, out, err = run(hub, "cw-anna", "--ack", b)
    assert rc == 0, err
    hub.assign(moved, "cw-bob", start="2026-09-08")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % c)
    hub.set_clock("2026-09-08T07:30:00")
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_applied()
    hub.settle()
    assert len(escalations(hub)) == 3
    hub.advance(before("2026-09-08T08:00:00"))
    assert len(escalations(hub)) == 3
    hub.advance("2026-09-08T08:00:00")
    assert sorted(escalations(hub)[3:]) == sorted([(a, "cw-lead"),
                                                   (c, "cw-lead")])
    got = {x["alert_id"]: x["title"] for x in hub.peek("cw-lead", 2)}
    assert got == {bit(a, 0x80): "Overdue with cw-anna: Dropped out of "
                   "eud-smed at college-x",
                   bit(c, 0x80): "Overdue with cw-bob: Dropped out of "
                   "eud-smed at college-x"}
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [c]


def test_a_handover_hubctl_wrote_just_before_a_clock_jump(make_hub):
    """RULES.md §6 and §8: a move and a step that fall due together are
    taken in the order they fell due, the owner judged on the day of the
    step, and an assignment hubctl wrote is applied as of when it wrote
    it. hubctl writes cw-bob from Wednesday 09-09 on Monday, and the hub
    clock jumps to Thursday before hubd (paused here) has applied it: the
    desk's notice (Monday) and the team lead's (Tuesday) name cw-anna,
    then the alert moves to cw-bob (Wednesday). It used to be applied as
    on Thursday: moved at once, both notices naming cw-bob."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    a = raise_dropout(hub, 14320, "2026-09-07")
    adult = CprGen(14320).born("2001-04-04")
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        hub.assign(adult, "cw-bob", start="2026-09-09")
        hub.set_clock("2026-09-10T08:00:00")
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    hub.settle()
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    assert moves(hub) == [(a, "cw-bob")]
    for who, mask in (("cw-lead", 0x80), ("desk-dora", 0x40)):
        [n] = hub.peek(who, 1)
        assert (n["alert_id"], n["title"]) == (
            bit(a, mask), "Overdue with cw-anna: Dropped out of eud-smed "
            "at college-x"), who
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [a]
