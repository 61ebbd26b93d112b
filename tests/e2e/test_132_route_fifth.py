"""132 routing and escalation, fifth round: docs/RULES.md sections 7-8
(and OPERATIONS.md "Contact persons") read as caseworkers, the duty desk
and team leads rely on them, where the earlier rounds (test_35, test_39,
test_57, test_88, test_91, test_92, test_106, test_108, test_120) left a
case unasserted. 2026-09-07 is a Monday; a day is a UTC day; 08:00 UTC
is 10:00 in Copenhagen (summer time)."""

import re

from hubtest import (CprGen, ev_assignment, ev_desk, ev_dropout, ev_readiness,
                     ev_referral, event, rules_hub)
from test_08_inbox_cli import run
from test_35_rules_routing import LEAD, escalations, timeline_rc
from test_53_delivery import clients, open_ids  # noqa: F401


def bit(alert_id, mask):
    return alert_id[:-2] + "%02x" % (int(alert_id[-2:], 16) | mask)


def raised(hub, rule):
    return re.findall(r"HUB-ALERT alert (\w+) \(%s\) raised for ([\w.-]+)"
                      % re.escape(rule), hub.log_text())


def moves(hub):
    return re.findall(r"HUB-REROUTE alert (\w+) moved to ([\w.-]+)",
                      hub.log_text())


def dropout_of(hub, cpr, n):
    """cpr drops out today; the hub's n-th alert: its id and owner."""
    hub.cprs.add(cpr)
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == n
    return raised(hub, "dropout")[n - 1]


def test_assignment_edges_back_dated_and_ended(make_hub):
    """RULES.md §7: the `to` day itself is still in force, the day after
    the open alert goes to whoever is current (the desk if nobody); a
    back-dated assignment later than the current one takes the open
    alerts at once, one earlier than it changes nothing; an assignment
    from tomorrow moves them at the start of that day."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(13201)
    ended, later, back = (gen.born("2001-04-04") for _ in range(3))
    hub.assign(ended, "cw-anna", start="2026-01-01", end="2026-09-07")
    a1 = dropout_of(hub, ended, 1)
    assert a1[1] == "cw-anna", a1
    hub.assign(later, "cw-anna", start="2026-01-01")
    hub.assign(later, "cw-bob", start="2026-09-08")
    a2 = dropout_of(hub, later, 2)
    assert a2[1] == "cw-anna", a2
    hub.assign(back, "cw-anna", start="2026-01-01")
    a3 = dropout_of(hub, back, 3)
    assert a3[1] == "cw-anna", a3
    hub.assign(back, "cw-bob", start="2026-09-01")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a3[0])
    hub.assign(back, "cw-lead", start="2026-08-01")
    hub.settle()
    # the former recipient: no longer theirs to acknowledge
    assert run(hub, "cw-anna", "--ack", a3[0]) == (
        4, "", f"inbox: alert {a3[0]} is not open for cw-anna (unknown, "
        "another caseworker's, or acknowledged already); nothing sent\n")
    hub.advance("2026-09-07T23:59:59")
    assert moves(hub) == [(a3[0], "cw-bob")]
    hub.advance("2026-09-08T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a2[0])
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a1[0])
    assert sorted(moves(hub)) == sorted([(a3[0], "cw-bob"),
                                         (a2[0], "cw-bob"),
                                         (a1[0], "duty-desk")])
    got = {a["alert_id"]: a["recipient"] for a in hub.peek("cw-bob", 2)}
    assert got == {a2[0]: "cw-bob", a3[0]: "cw-bob"}
    [d] = hub.peek("desk-dora", 1)
    assert (d["alert_id"], d["recipient"]) == (a1[0], "duty-desk")
    hub.peek("cw-anna", 0)


def lead_period(caseworker, start, end=None):
    fields = {"from": start}
    if end:
        fields["to"] = end
    return event("youth-a", "", "desk_membership", desk="duty-desk",
                 caseworker=caseworker, team_lead=True, **fields)


def test_the_leads_period_counts_to_its_last_day(make_hub):
    """RULES.md §8: the team lead is the desk's team lead valid on the
    day of the step: a period whose `to` is that day still names them,
    the day after names the one whose period began then."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    hub.send(lead_period("cw-lead", "2026-01-01", "2026-09-15"),
             lead_period("cw-bob", "2026-09-16"))
    hub.wait_applied()
    gen = CprGen(13202)
    first, second = gen.born("2001-04-04"), gen.born("2001-05-05")
    hub.assign(first, "cw-anna")
    hub.assign(second, "cw-anna")
    a1, _ = dropout_of(hub, first, 1)
    hub.advance("2026-09-08T08:00:00")
    a2, _ = dropout_of(hub, second, 2)
    # HIGH, 24 office hours: the desk on Thursday and Friday 10:00, the
    # team lead on Tuesday 09-15 and Wednesday 09-16 10:00.
    hub.advance("2026-09-11T08:00:00")
    assert escalations(hub) == [(a1, "duty-desk"), (a2, "duty-desk")]
    hub.advance("2026-09-15T08:00:00")
    assert escalations(hub)[2:] == [(a1, "cw-lead")]
    hub.advance("2026-09-16T08:00:00")
    assert escalations(hub)[2:] == [(a1, "cw-lead"), (a2, "cw-bob")]
    [n] = hub.peek("cw-bob", 1)
    assert n["recipient"] == "cw-bob" and n["rule"] == "escalation"
    assert n["title"] == ("Overdue with cw-anna: Dropped out of eud-smed "
                          "at college-x")


def test_a_corrected_to_moves_the_alerts_on_its_new_day_only(make_hub):
    """RULES.md §7: an assignment with the same `from` replaces the one
    held (a corrected row, now with another `to`): the open alert moves
    the day after the `to` in force, neither the day after the `to` it
    replaced nor back to an earlier contact person."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(13203)
    longer, shorter = gen.born("2001-04-04"), gen.born("2001-05-05")
    for cpr, end, new_end in ((longer, "2026-09-10", "2026-09-20"),
                              (shorter, "2026-09-20", "2026-09-10")):
        hub.assign(cpr, "cw-anna", start="2026-01-01")
        hub.assign(cpr, "cw-bob", start="2026-09-07", end=end)
    a_long, to = dropout_of(hub, longer, 1)
    assert to == "cw-bob"
    a_short, to = dropout_of(hub, shorter, 2)
    assert to == "cw-bob"
    hub.assign(longer, "cw-bob", start="2026-09-07", end="2026-09-20")
    hub.assign(shorter, "cw-bob", start="2026-09-07", end="2026-09-10")
    hub.advance("2026-09-11T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a_short)
    assert moves(hub) == [(a_short, "duty-desk")]
    hub.advance("2026-09-21T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to duty-desk" % a_long)
    assert moves(hub) == [(a_short, "duty-desk"), (a_long, "duty-desk")]
    got = {a["alert_id"]: a["recipient"] for a in hub.peek("desk-dora", 2)}
    assert got == {a_short: "duty-desk", a_long: "duty-desk"}
    hub.peek("cw-bob", 0)
    hub.peek("cw-anna", 0)


def test_the_leads_notice_opens_the_timeline_until_acknowledged(make_hub):
    """inbox --help and RULES.md §8: a team lead opens the timeline of a
    person named by an open alert addressed to them (their notice), and
    no longer once they acknowledged it, which closes only that notice:
    the original stays with its owner, the desk's notice with the desk.
    The former owner after a reassignment opens it no more."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(13204).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    a, _ = dropout_of(hub, adult, 1)
    assert timeline_rc(hub, "cw-lead", adult) == 4
    hub.advance("2026-09-10T08:00:00")
    hub.advance("2026-09-15T08:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    assert timeline_rc(hub, "cw-lead", adult) == 0
    assert run(hub, "cw-lead", "--ack", bit(a, 0x80)) == \
        (0, "acknowledged\n", "")
    hub.wait_stats("the lead's closed", lambda s: s["alerts_open"] == 2)
    assert timeline_rc(hub, "cw-lead", adult) == 4
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == [a]
    assert [x["alert_id"] for x in hub.peek("desk-dora", 1)] == \
        [bit(a, 0x40)]
    hub.assign(adult, "cw-bob", start="2026-09-15")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a)
    assert timeline_rc(hub, "cw-anna", adult) == 4
    assert timeline_rc(hub, "cw-bob", adult) == 0


def test_a_jump_over_an_end_and_the_window_goes_straight_to_the_lead(
        make_hub):
    """RULES.md §8: a move and a step that fall due together are taken
    in the order they fell due: an alert the ended assignment handed to
    the desk (Wednesday 09-09) escalates straight to the team lead when
    its window ends (Thursday 09-10), and no later step follows; the one
    whose assignment ends after the desk's notice (09-11) keeps that
    notice at the desk, and the team lead's notice names the desk."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    gen = CprGen(13205)
    early, late = gen.born("2001-04-04"), gen.born("2001-05-05")
    hub.assign(early, "cw-anna", start="2026-01-01", end="2026-09-08")
    hub.assign(late, "cw-anna", start="2026-01-01", end="2026-09-10")
    a1, _ = dropout_of(hub, early, 1)
    a2, _ = dropout_of(hub, late, 2)
    hub.advance("2026-09-25T08:00:00")
    assert sorted(moves(hub)) == sorted([(a1, "duty-desk"),
                                         (a2, "duty-desk")])
    assert sorted(escalations(hub)) == sorted([(a1, "cw-lead"),
                                               (a2, "duty-desk"),
                                               (a2, "cw-lead")])
    lead = {x["alert_id"]: x for x in hub.peek("cw-lead", 2)}
    assert lead[bit(a1, 0x80)]["title"].startswith("Overdue with duty-desk: ")
    assert lead[bit(a2, 0x80)]["title"].startswith("Overdue with duty-desk: ")
    desk = {x["alert_id"]: x for x in hub.peek("desk-dora", 3)}
    assert set(desk) == {a1, a2, bit(a2, 0x40)}
    assert desk[bit(a2, 0x40)]["title"].startswith("Overdue with cw-anna: ")


def test_the_counsellors_alert_stays_when_their_assignment_ends(make_hub):
    """RULES.md §7: the readiness alert addressed to the guidance
    counsellor stays with them when the contact person is reassigned,
    also once the counsellor's assignment has ended; a readiness alert
    that went to the desk for want of both is not taken by a counsellor
    named afterwards and follows the next contact person."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(13206)
    pupil, alone = gen.born("2011-06-06"), gen.born("2011-07-07")
    hub.cprs.update((pupil, alone))
    hub.send(ev_assignment(pupil, "cw-anna", "2026-01-01"))
    hub.assign(pupil, "cw-bob", start="2026-01-01")
    hub.hubctl("assign", "--cpr", pupil, "--caseworker", "cw-lead",
               "--role", "guidance", "--from", "2026-01-01",
               "--to", "2026-09-08")
    hub.send(ev_readiness(pupil, "2026-09-07", 9),
             ev_readiness(alone, "2026-09-07", 9))
    assert hub.wait_applied()["alerts"] == 2
    owners = dict((to, a) for a, to in raised(hub, "readiness"))
    assert set(owners) == {"cw-lead", "duty-desk"}, owners
    hub.hubctl("assign", "--cpr", alone, "--caseworker", "cw-lead",
               "--role", "guidance", "--from", "2026-09-07")
    hub.assign(pupil, "cw-anna", start="2026-09-09")
    hub.assign(alone, "cw-anna", start="2026-09-09")
    hub.advance("2026-09-09T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-anna"
                 % owners["duty-desk"])
    assert moves(hub) == [(owners["duty-desk"], "cw-anna")]
    [x] = hub.peek("cw-lead", 1)
    assert (x["alert_id"], x["recipient"]) == (owners["cw-lead"], "cw-lead")
    [y] = hub.peek("cw-anna", 1)
    assert (y["alert_id"], y["recipient"]) == (owners["duty-desk"],
                                               "cw-anna")


def member(caseworker, start, end=None):
    fields = {"from": start}
    if end:
        fields["to"] = end
    return event("youth-a", "", "desk_membership", desk="duty-desk",
                 caseworker=caseworker, **fields)


def test_a_desk_membership_serves_the_desk_on_its_days_only(make_hub):
    """RULES.md §7: any member of the desk can take its alerts, a member
    named by the youth unit's DeskMembership for the days it is valid:
    through its `to` day, not from the day after (the alert is no longer
    open for them, exit 4), and one that begins tomorrow not yet."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    hub.send(member("cw-anna", "2026-01-01", "2026-09-07"),
             member("cw-bob", "2026-09-08"))
    hub.wait_applied()
    adult = CprGen(13207).born("2001-04-04")
    a, to = dropout_of(hub, adult, 1)
    assert to == "duty-desk"
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == [a]
    hub.peek("cw-bob", 0)
    assert timeline_rc(hub, "cw-anna", adult) == 0
    assert timeline_rc(hub, "cw-bob", adult) == 4
    hub.advance("2026-09-08T00:00:00")
    hub.peek("cw-anna", 0)
    assert timeline_rc(hub, "cw-anna", adult) == 4
    rc, out, err = run(hub, "cw-anna", "--ack", a)
    assert (rc, out) == (4, ""), (rc, out, err)
    assert err == (f"inbox: alert {a} is not open for cw-anna (unknown, "
                   "another caseworker's, or acknowledged already); "
                   "nothing sent\n")
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [a]
    assert run(hub, "cw-bob", "--ack", a) == (0, "acknowledged\n", "")
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 0)


def test_the_desks_lead_on_the_desk_acks_its_notice_and_gets_none(
        make_hub):
    """RULES.md §8: a DeskMembership with team_lead = true puts the lead
    on the desk: they see the desk's notice, and their acknowledgement
    of it is the desk's, which stops the team lead's step; the alert
    stays open with its owner."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    hub.send(ev_desk("cw-lead", "2026-01-01", team_lead=True))
    hub.wait_applied()
    adult = CprGen(13208).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    a, _ = dropout_of(hub, adult, 1)
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    [n] = hub.peek("cw-lead", 1)
    assert (n["alert_id"], n["recipient"]) == (bit(a, 0x40), "duty-desk")
    assert run(hub, "cw-lead", "--ack", bit(a, 0x40)) == \
        (0, "acknowledged\n", "")
    hub.wait_stats("the notice closed", lambda s: s["alerts_open"] == 1)
    hub.advance("2026-09-25T08:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.peek("cw-lead", 0)
    hub.peek("desk-dora", 0)
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == [a]


def test_an_end_and_the_next_beginning_move_the_alert_once(make_hub):
    """RULES.md §7: an assignment that ends hands the open alerts to
    whoever is current the day after: with the next contact person's
    first day the day after the `to`, they go to them in one move, not
    by way of the desk (a desk member sees nothing of them)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(13209).born("2001-04-04")
    hub.assign(adult, "cw-anna", start="2026-01-01", end="2026-09-08")
    hub.assign(adult, "cw-bob", start="2026-09-09")
    a, to = dropout_of(hub, adult, 1)
    assert to == "cw-anna"
    hub.advance("2026-09-09T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-bob" % a)
    assert moves(hub) == [(a, "cw-bob")]
    hub.peek("desk-dora", 0)
    assert [x["recipient"] for x in hub.peek("cw-bob", 1)] == ["cw-bob"]


def test_an_ack_of_a_notice_not_open_for_the_owner_changes_nothing(
        make_hub, clients):
    """PROTOCOL.md §4: an AlertAck for an alert that is not open for you
    (already acknowledged, someone else's) changes nothing; RULES.md §8:
    the owner's acknowledgement of the desk's notice is taken as the
    alert's only for an owner on the desk too, of a notice still open.
    cw-anna, not on the desk, acknowledging the desk's notice and the
    team lead's of her alert by their ids acknowledged the alert itself
    (its notices closed, "taken as the alert's" logged); so did desk-dora
    (the owner, on the desk) after cw-bob had acknowledged the desk's
    notice."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    hub.send(member("cw-bob", "2026-01-01"))
    hub.wait_applied()
    gen = CprGen(13210)
    annas, doras = gen.born("2001-04-04"), gen.born("2001-05-05")
    hub.assign(annas, "cw-anna")
    hub.assign(doras, "desk-dora")
    a, _ = dropout_of(hub, annas, 1)
    d, _ = dropout_of(hub, doras, 2)
    hub.advance("2026-09-10T08:00:00")
    hub.advance("2026-09-15T08:00:00")
    assert sorted(escalations(hub)) == sorted(
        [(a, "duty-desk"), (a, "cw-lead"), (d, "duty-desk"), (d, "cw-lead")])
    assert run(hub, "cw-bob", "--ack", bit(d, 0x40)) == \
        (0, "acknowledged\n", "")
    hub.wait_stats("the desk's notice closed",
                   lambda s: s["alerts_open"] == 5)
    for who, alert, notices in (("cw-anna", a, (0x40, 0x80)),
                                ("desk-dora", d, (0x40,))):
        c = clients(hub, who, hello=False)
        c.connected()
        for mask in notices:
            c.ack(bytes.fromhex(bit(alert, mask)))
        # The connection's frames are handled in order: its list,
        # asked after the acknowledgements, follows them.
        assert bytes.fromhex(alert) in open_ids(c)
    assert hub.stats()["alerts_open"] == 5
    assert "taken as the alert's" not in hub.log_text()
    assert [x["alert_id"] for x in hub.peek("cw-anna", 1)] == [a]


def test_a_jump_over_the_leads_change_names_the_lead_of_the_steps_day(
        make_hub):
    """RULES.md §6 and §8: timers that fell due together fire in the
    order they fell due, as on their day, and the team lead is the one
    valid on the day of the step: one jump of the hub clock over the
    step (Tuesday 09-15, cw-lead's last day) and cw-bob's first day
    (09-16) names cw-lead, as a running hub did. It named cw-bob, the
    lead of the day the clock was read."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    hub.send(lead_period("cw-lead", "2026-01-01", "2026-09-15"),
             lead_period("cw-bob", "2026-09-16"))
    hub.wait_applied()
    adult = CprGen(13211).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    a, _ = dropout_of(hub, adult, 1)
    hub.advance("2026-09-16T09:00:00")
    assert escalations(hub) == [(a, "duty-desk"), (a, "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert n["alert_id"] == bit(a, 0x80)
    # cw-bob, on the desk as its lead from 09-16, sees the desk's notice.
    assert [x["alert_id"] for x in hub.peek("cw-bob", 1)] == [bit(a, 0x40)]


def test_a_jump_over_a_health_step_and_the_consents_end(make_hub):
    """RULES.md §6 and §8: a health alert escalates while the consent
    allows sharing on the day of the step, and timers that fell due
    together fire in the order they fell due: one jump over the desk's
    step (Thursday 09-10) and the consent's end (after 09-12) sends the
    desk's notice, which the consent's end then closes with the alert,
    as a running hub did (no notice at all, judged by the consent of the
    day the clock was read)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    cpr = CprGen(13212).born("2008-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-12"}))
    assert hub.wait_applied()["alerts"] == 1
    [(a, to)] = raised(hub, "addiction")
    assert to == "cw-anna"
    hub.advance("2026-09-16T09:00:00")
    assert escalations(hub) == [(a, "duty-desk")]
    hub.wait_log(r"HUB-WITHDRAW alert %s withdrawn" % a)
    hub.peek("desk-dora", 0)
    hub.peek("cw-lead", 0)
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
