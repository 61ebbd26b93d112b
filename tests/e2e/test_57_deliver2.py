"""57 deliver2: a caseworker client written from PROTOCOL.md §4 and
RULES.md §7-8 alone, probing the promises the other delivery tests do
not reach."""

import json
import re
import shutil
import signal
import subprocess
import time

import pytest

import hubtest
from hubtest import (E_DENIED, E_MALFORMED, E_UNAVAILABLE, FRAME_ALERT,
                     OK, SLOW, ev_assignment, ev_desk,
                     ev_dropout, pb, rules_hub, wait_for)
from test_53_delivery import (CaseworkerClient, adults,
                              anna_with_one_dropout, clients,  # noqa: F401
                              hub53,
                              open_ids)

FRAME_ACTION = 9


def action(client, request_id, alert_id, kind=1, date="", how="phone",
           note=""):
    m = client.m
    client.send(FRAME_ACTION, m.Action(request_id=request_id,
                                       alert_id=alert_id, kind=kind,
                                       date=date, how=how, note=note))
    return client.result(request_id)[0]


def anna_with_dropouts(make_hub, seed, n, **kw):
    """hub53 with n persons of cw-anna's, each with a dropout."""
    hub = hub53(make_hub, **kw)
    ps = adults(seed, n)
    for p in ps:
        hub.assign(p, "cw-anna")
    hub.send(*[ev_dropout(p, "2026-10-26") for p in ps])
    return hub, ps


def test_d2_open_alerts_limit_and_welcome(make_hub, clients):
    hub, ps = anna_with_dropouts(make_hub, 5701, 60)
    a = clients(hub, "cw-anna", window=1000)
    w = a.welcome()
    assert (w.code, w.caseworker, w.open_alerts) == (OK, "cw-anna", 60), w
    a.wait_alerts(60)
    r = a.ask(1, limit=100)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 50, True), r
    r = a.ask(2)
    assert (len(r.alerts), r.truncated) == (40, True)
    r = a.ask(3, offset=4294967295)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 0, False)
    m = pb()
    r = a.ask(4, kind=m.TIMELINE, cpr=ps[0][:6] + " " + ps[0][6:])
    assert r.code == OK and len(r.timeline) == 3, r
    r = a.ask(5, kind=m.TIMELINE, cpr=ps[0][:6] + "-" + ps[0][6:])
    assert r.code == OK and len(r.timeline) == 3, r
    r = a.ask(6, kind=m.TIMELINE, cpr=ps[0][1:])
    assert (r.code, r.reason) == (E_MALFORMED, "cpr has 9 digits: a spreadsheet may have dropped its leading zero (format the column as text)"), r
    r = a.ask(7, kind=m.TIMELINE, cpr="3213991234")
    assert (r.code, r.reason) == (E_MALFORMED, "cpr is not a CPR number: DDMMYY is not a real birth date"), r
    r = a.ask(8, kind=m.TIMELINE, cpr="")
    assert (r.code, r.reason) == (E_MALFORMED, "cpr is empty"), r
    r = a.ask(9, kind=m.TIMELINE, cpr="12345")
    assert (r.code, r.reason) == (E_MALFORMED, "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or DDMMYYSSSS)"), r
    r = a.ask(10, kind=0)
    assert (r.code, r.reason) == (E_MALFORMED, "unknown query kind"), r
    r = a.ask(11, kind=3)
    assert (r.code, r.reason) == (E_MALFORMED, "unknown query kind"), r


def test_d2_actions(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5702)
    r = action(a, 1, aid, date="1899-12-31")
    assert (r.code, r.reason) == (E_MALFORMED, "date must be the day it was done, YYYY-MM-DD"), r
    r = action(a, 2, aid, date="2026-11-03")
    assert (r.code, r.reason) == (E_MALFORMED, "date is in the future: record an action once it is done"), r
    r = action(a, 3, aid, how="\u00a0\u200b\u3000")
    assert (r.code, r.reason) == (E_MALFORMED, "how must say how (phone, meeting, home visit, letter, ...)"), r
    r = action(a, 4, aid, kind=2, how=" ")
    assert (r.code, r.reason) == (E_MALFORMED, "how must say what was offered"), r
    r = action(a, 5, aid, how="x" * 257)
    assert (r.code, r.reason) == (E_MALFORMED, "how is longer than 256 bytes"), r
    r = action(a, 6, aid, note="x" * 201)
    assert (r.code, r.reason) == (E_MALFORMED, "note is longer than 200 bytes"), r
    r = action(a, 7, aid, kind=4)
    assert (r.code, r.reason) == (E_MALFORMED, "kind must be CONTACT_MADE, OFFER_MADE or COULD_NOT_REACH"), r
    r = action(a, 8, aid[:8])
    assert (r.code, r.reason) == (E_MALFORMED, "alert_id must be the 9 bytes of an alert's id"), r
    r = action(a, 9, aid[:8] + b"\x05")
    assert (r.code, r.reason) == (E_DENIED, "this alert is not addressed to you or your desk"), r
    r = action(a, 10, aid, how="x" * 256, note="y" * 200, date="2026-11-02")
    assert r.code == OK, r
    r = action(a, 11, aid, how="x" * 256, note="y" * 200)
    assert r.code == OK, r
    hub.wait_log(r"already recorded", timeout=10)
    b = CaseworkerClient(hub, "cw-bob", hello=False)
    try:
        b.connected()
        r = action(b, 12, aid)
        assert (r.code, r.reason) == (E_DENIED, "this alert is not addressed to you or your desk"), r
    finally:
        b.close()
    # acknowledged alert: action still OK
    a.ack(aid)
    wait_for(lambda: not a.ask(100 + len(a.frames), alert_id=aid).alerts, 10, "acked")
    r = action(a, 13, aid, kind=3, how="phone, no answer")
    assert r.code == OK, r
    m = pb()
    t = a.ask(14, kind=m.TIMELINE, cpr=p)
    assert t.code == OK, t


def test_d2_second_hello_window(make_hub, clients):
    hub, ps = anna_with_dropouts(make_hub, 5703, 5)
    a = clients(hub, "cw-anna", window=2)
    w = a.welcome()
    assert w.open_alerts == 5
    a.wait_alerts(2)
    assert len([f for f in a.quiet(1) if f[0] == FRAME_ALERT]) == 0
    a.hello(window=4)
    w2 = a.welcome()
    assert w2.code == OK
    a.wait_alerts(4)
    assert len(a.alerts) == 4, [x.alert_id for x in a.alerts]


def escalating_hub_with_one_dropout(make_hub, clock, seed, day, rules):
    """A hub with escalation on at clock, and one dropout on day of a
    person whose contact person is cw-anna."""
    hub = rules_hub(make_hub, clock, rules=rules, escalation=True)
    [p] = adults(seed, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, day))
    hub.wait_applied()
    return hub, p


def test_an_escalation_after_one_office_hour_says_hour(make_hub, clients):
    """RULES.md §8: with `ack.urgent_hours = 1` the desk's notice says
    "within 1 office hour". Saturday 10:00 URGENT: Monday 09:00 local."""
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-12T08:00:00", 5745, "2026-09-11",
        {"dropout.priority": "urgent", "ack.urgent_hours": "1"})
    d = clients(hub, "desk-dora")
    d.welcome()
    hub.advance("2026-09-14T07:00:00")
    [n] = d.wait_alerts(1)
    assert "has not been acknowledged within 1 office hour; it stays " \
        "with cw-anna" in n.explanation, n.explanation


def test_escalation_notice_due_is_the_notices_day(make_hub, clients):
    """PROTOCOL.md §4 and RULES.md §8: a notice's `due` is the day the
    notice is raised (Monday), not the day its alert was (Saturday); its
    id, title and explanation as documented; the owner's ack closes both
    notices. Saturday 10:00 URGENT: the desk Monday 12:00, the lead
    16:00 (RULES.md §8's table)."""
    # Saturday 2026-09-12 10:00 local = 08:00 UTC (summer). URGENT.
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-12T08:00:00", 5704, "2026-09-11",
        {"routing.team_lead": "cw-lead", "dropout.priority": "urgent"})
    a = clients(hub, "cw-anna")
    a.welcome()
    [al] = a.wait_alerts(1)
    d = clients(hub, "desk-dora")
    d.welcome()
    # Monday 12:00 local = 10:00 UTC
    hub.advance("2026-09-14T09:59:59")
    assert not [f for f in d.quiet(1) if f[0] == FRAME_ALERT]
    hub.advance("2026-09-14T10:00:00")
    [n] = d.wait_alerts(1)
    aid = al.alert_id
    assert n.alert_id == aid[:8] + bytes([aid[8] | 0x40])
    assert (n.rule, n.priority, n.cpr, n.recipient, n.due, len(n.evidence)) \
        == ("escalation", al.priority, p, "duty-desk", "2026-09-14", 0), n
    assert n.title == "Overdue with cw-anna: " + al.title
    assert n.explanation == (
        f"Alert {aid.hex()} (dropout), addressed to cw-anna, due {al.due}, "
        "has not been acknowledged within 4 office hours; it stays with "
        "cw-anna, who remains responsible. Expected of you: make sure it is "
        "handled today, by cw-anna or by the desk."), n.explanation
    l = clients(hub, "cw-lead")
    l.welcome()
    hub.advance("2026-09-14T13:59:59")
    assert not [f for f in l.quiet(1) if f[0] == FRAME_ALERT]
    hub.advance("2026-09-14T14:00:00")
    [t] = l.wait_alerts(1)
    assert t.alert_id == aid[:8] + bytes([aid[8] | 0x80])
    # owner acks: notices close
    a.ack(aid)
    wait_for(lambda: not d.ask(500 + len(d.frames)).alerts, 10, "closed")
    assert not l.ask(7).alerts
    m = pb()
    assert d.ask(8, kind=m.TIMELINE, cpr=p).code in (OK, E_DENIED)


def test_d2_desk_member_and_window_cap(make_hub, clients):
    hub = hub53(make_hub)
    ending = ev_desk("cw-bob", "2026-10-01")
    ending.desk_membership.to = "2026-11-02"
    hub.send(ending)
    hub.wait_applied()
    ps = adults(5705, 262)
    hub.assign(ps[0], "cw-bob")
    hub.send(*[ev_dropout(p, "2026-10-26") for p in ps])
    hub.wait_applied()
    bob = clients(hub, "cw-bob", window=100000)
    w = bob.welcome()
    assert w.open_alerts == 262, w
    bob.wait_alerts(256, timeout=30)
    assert not [f for f in bob.quiet(1.5) if f[0] == FRAME_ALERT]
    assert {a.delivery for a in bob.alerts} == {1}
    dora = clients(hub, "desk-dora", window=1)
    assert dora.welcome().open_alerts == 261
    [x] = dora.wait_alerts(1)
    assert x.delivery == 2, x
    hub.advance("2026-11-03T08:00:00")
    desk_alert = [a for a in bob.alerts if a.recipient == "duty-desk"][0]
    bob.ack(desk_alert.alert_id)
    time.sleep(1)
    r = dora.ask(1, alert_id=desk_alert.alert_id)
    assert len(r.alerts) == 1, "ack by a former desk member closed it"
    r = bob.ask(2, limit=50)
    assert len(r.alerts) == 1 and not r.truncated, r
    m = pb()
    r = dora.ask(3, kind=m.TIMELINE, cpr=ps[5])
    assert r.code == OK, r
    r = dora.ask(4, kind=m.TIMELINE, cpr=ps[0])
    assert r.code == E_DENIED, r


def test_d2_timeline_limits_and_order(make_hub, clients):
    from hubtest import event
    hub = hub53(make_hub)
    [p] = adults(5706, 1)
    hub.assign(p, "cw-anna")
    evs = [event("jobcenter-a", p, "benefit_status", salt=i,
                 jobcenter="jc-a", benefit="CASH_BENEFIT",
                 start=f"2026-0{1 + i % 9}-{1 + i % 28:02d}")
           for i in range(450)]
    hub.send(*evs, agency="jobcenter-a")
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    m = pb()
    r = a.ask(1, kind=m.TIMELINE, cpr=p)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 200, True), (r.code, len(r.timeline))
    r = a.ask(2, kind=m.TIMELINE, cpr=p, limit=1000)
    assert (r.code, r.truncated) == (OK, True), (r.code, len(r.timeline))
    dates = [e.date for e in r.timeline]
    assert dates == sorted(dates)
    assert len(r.timeline) <= 400


def run_inbox(hub, cw, *args, timeout=30):
    conf = hub.tmp / f"inbox-{cw}.conf"
    conf.write_text(f"caseworker = {cw}\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                        *args], capture_output=True, text=True,
                       timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def test_d2_inbox_exit_codes(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5707)
    [q] = adults(5708, 1)
    h = aid.hex()
    cases = [
        (("--contact", h, "--how", "phone", "--date", "2026-13-01"), 1),
        (("--contact", h, "--how", "phone", "--date", "2026-11-03"), 1),
        (("--contact", h, "--how", "x" * 300), 1),
        (("--contact", h, "--how", "ok", "--note", "n" * 201), 1),
        (("--contact", h), 2),
        (("--contact", h, "--how", "   "), None),
        (("--ack", h[:-1]), 2),
        (("--timeline", "12345"), 2),
        (("--timeline", q), 4),
        (("--timeline", p[1:]), 2),
        (("--list", "--how", "x"), 2),
        (("--ack", (aid[:8] + b"\x05").hex()), 4),
    ]
    out = []
    for args, want in cases:
        rc, so, se = run_inbox(hub, "cw-anna", *args)
        out.append((args[:2], rc, want, se.strip()[:200]))
    rc, so, se = run_inbox(hub, "cw-bob", "--contact", h, "--how", "phone")
    out.append(("bob contact", rc, 4, se.strip()[:200]))
    rc, so, se = run_inbox(hub, "cw-bob", "--timeline", p)
    out.append(("bob timeline", rc, 4, se.strip()[:200]))
    assert all(o[1] == o[2] for o in out if o[2] is not None)


def audit_rows(hub):
    p = hub.hubctl("audit", "show", "--json")
    return [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]


def test_d2_notes_masked_and_actions_idempotent(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5709)
    r1 = action(a, 1, aid, how="phone 010203-1234", note="")
    r2 = action(a, 2, aid, how="phone 010203-9999", note="")
    r3 = action(a, 3, aid, how="meeting", date="")
    r4 = action(a, 4, aid, how="meeting", date="2026-11-02")
    assert [r.code for r in (r1, r2, r3, r4)] == [OK] * 4
    log = hub.log_text()
    assert len(re.findall(r"already recorded", log)) == 2
    a.ack(aid, note="a" * 190 + " 010203-1234")
    wait_for(lambda: not a.ask(100 + len(a.frames), alert_id=aid).alerts,
             10, "acked")
    rows = audit_rows(hub)
    assert any(("a" * 190 + " xxxxxx-xx") in str(r) for r in rows), rows[-3:]


def test_d2_action_by_counsellor_and_contact(make_hub, clients):
    hub = hub53(make_hub)
    [p, q] = adults(5710, 2)
    hub.send(ev_assignment(p, "cw-anna", "2024-01-01"),
             ev_assignment(p, "cw-bob", "2024-01-01", role="guidance"),
             ev_assignment(q, "cw-bob", "2024-01-01", role="guidance"))
    hub.wait_applied()
    hub.send(ev_dropout(p, "2026-10-26"), ev_dropout(q, "2026-10-26"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    b = clients(hub, "cw-bob", hello=False)
    a.connected(); b.connected()
    [pa] = open_ids(a)
    [qb] = open_ids(b)
    r = action(b, 1, pa)
    assert r.code == OK, r
    r = action(a, 2, qb)
    assert r.code == E_DENIED, r
    m = pb()
    r = b.ask(3, kind=m.TIMELINE, cpr=q)
    assert r.code == OK, r
    # A counsellor's timeline is that of the persons they are the contact
    # person of or hold an open alert for (PROTOCOL.md §4): p is anna's.
    r = b.ask(4, kind=m.TIMELINE, cpr=p)
    assert r.code == E_DENIED, r


def test_d2_routing_desk_id_and_same_from(make_hub, clients):
    hub = hub53(make_hub)
    [p, q, r_] = adults(5711, 3)
    hub.send(ev_assignment(p, "duty-desk", "2024-01-01"),
             ev_assignment(q, "cw-anna", "2026-01-01"),
             ev_assignment(r_, "duty-desk", "2024-01-01"),
             ev_assignment(r_, "cw-bob", "2024-01-01", role="guidance"))
    hub.wait_applied()
    hub.send(ev_dropout(p, "2026-10-26"), ev_dropout(q, "2026-10-26"),
             ev_dropout(r_, "2026-10-26"))
    hub.wait_applied()
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    ds = d.ask(1)
    assert [(x.cpr, x.recipient) for x in ds.alerts] == [(p, "duty-desk")], ds
    m = pb()
    t = d.ask(2, kind=m.TIMELINE, cpr=r_)
    assert t.code == OK, t
    b = clients(hub, "cw-bob", hello=False)
    b.connected()
    assert [x.cpr for x in b.ask(3).alerts] == [r_]
    corr = ev_assignment(q, "cw-anna", "2026-01-01")
    corr.contact_assignment.to = "2026-10-31"
    hub.send(corr)
    hub.wait_applied()
    time.sleep(1)
    ds = d.ask(4)
    assert sorted(x.cpr for x in ds.alerts) == sorted([p, q]), ds


def test_d2_open_alerts_order(make_hub, clients):
    from hubtest import ev_dropout_risk
    hub = hub53(make_hub, rules={"dropout.priority": "high",
                                 "dropout_risk.priority": "urgent"})
    ps = adults(5712, 6)
    for p in ps:
        hub.assign(p, "cw-anna")
    hub.send(ev_dropout(ps[0], "2026-10-26"), ev_dropout_risk(ps[1], "2026-10-26"),
             ev_dropout(ps[2], "2026-10-26"))
    hub.wait_applied()
    hub.advance("2026-11-02T09:00:00")
    hub.send(ev_dropout(ps[3], "2026-10-26"), ev_dropout_risk(ps[4], "2026-10-26"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    r = a.ask(1)
    got = [(x.priority, x.raised_at, x.alert_id.hex()) for x in r.alerts]
    exp = sorted(got, key=lambda g: (g[0], g[1], g[2]), reverse=True)
    assert got == exp, got


def test_d2_key_moved_to_another_caseworker(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5713)
    [q] = adults(5714, 1)
    hub.assign(q, "cw-bob")
    hub.send(ev_dropout(q, "2026-10-26"))
    hub.wait_applied()
    hub.hubctl("revoke-caseworker", "cw-anna")
    r = a.ask(1)
    assert (r.code, r.request_id) == (E_DENIED, 1), r
    hub.hubctl("revoke-caseworker", "cw-bob")
    hub.hubctl("register-caseworker", "cw-bob", "--key",
               str(hub.keys_dir / "cw-anna.key"))
    r = a.ask(2)
    assert r.code == E_DENIED, r
    a.hello()
    time.sleep(1)
    # a fresh connection with that key is cw-bob
    b = clients(hub, "cw-anna", key_name="cw-anna")
    w = b.welcome()
    assert w.caseworker == "cw-bob", w


def test_d2_action_summaries(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5715)
    assert action(a, 1, aid, kind=1, how="phone", note="agreed to meet").code == OK
    assert action(a, 2, aid, kind=2, how="FGU place").code == OK
    assert action(a, 3, aid, kind=3, how="letter", note="no answer").code == OK
    m = pb()
    t = a.ask(4, kind=m.TIMELINE, cpr=p)
    got = {e.summary for e in t.timeline if e.agency == "hub"}
    assert got == {
        "contact made by cw-anna: phone \u2014 agreed to meet",
        "offer made by cw-anna: FGU place",
        "could not reach the young person by cw-anna: letter \u2014 "
        "no answer"}, got


def test_d2_withdrawal_closes_notices(make_hub, clients):
    from hubtest import ev_readiness, CprGen
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead",
                           "readiness.priority": "urgent"}, escalation=True)
    p = CprGen(5716).born("2011-03-04")
    hub.assign(p, "cw-anna")
    orig = ev_readiness(p, "2026-09-04", 9)
    hub.send(orig)
    hub.wait_applied()
    a = clients(hub, "cw-anna")
    a.welcome()
    [al] = a.wait_alerts(1)
    assert al.rule == "readiness", al
    d = clients(hub, "desk-dora")
    d.welcome()
    hub.advance("2026-09-07T12:00:00")
    [n] = d.wait_alerts(1)
    assert n.rule == "escalation"
    corr = ev_readiness(p, "2026-09-04", 9, ready=True)
    corr.supersedes = orig.event_id
    hub.send(corr)
    hub.wait_applied()
    w = a.wait_alerts(2)[1]
    assert (w.rule, w.priority) == ("withdrawn", pb().LOW), w
    assert w.title == f"Withdrawn: alert {al.alert_id.hex()} (readiness)", w.title
    assert w.explanation == (f"Alert {al.alert_id.hex()} (readiness) is withdrawn: school-a corrected its assessment of 2026-09-04: the pupil is education-ready. Nothing more is expected of you for it."), w.explanation
    assert w.cpr == p and w.due == "" and len(w.evidence) == 1, w
    wait_for(lambda: not d.ask(100 + len(d.frames)).alerts, 10, "notice closed")
    r = a.ask(1)
    assert [x.rule for x in r.alerts] == ["withdrawn"], r
    # withdrawn notices never escalate
    hub.advance("2026-10-30T12:00:00")
    time.sleep(1)
    assert not d.ask(2).alerts
    r = d.ask(3, alert_id=n.alert_id)
    assert not r.alerts and not r.names_no_one
    assert action(a, 4, w.alert_id).code == OK


def _esc(hub):
    return re.findall(r"HUB-ESCALATE alert (\w+) not acknowledged in time; "
                      r"notice \w+ to ([\w.-]+)", hub.log_text())


@pytest.mark.parametrize("start,raise_day,before,at", [
    # spring: 02:30 skipped -> 03:30 CEST (01:30 UTC); +4h = 05:30 UTC
    ("2026-03-29T00:30:00", "2026-03-28", "2026-03-29T05:29:59",
     "2026-03-29T05:30:00"),
    # autumn: 02:30 first occurrence = CEST (00:30 UTC); +4h = 03:30 UTC
    # (real time: 4 hours)
    ("2026-10-25T00:10:00", "2026-10-24", "2026-10-25T04:29:59",
     "2026-10-25T04:30:00"),
])
def test_d2_dst_opening(make_hub, start, raise_day, before, at):
    hub = rules_hub(make_hub, start,
                    rules={"office.days": "mon-sun",
                           "office.hours": "02:30-23:00",
                           "dropout.priority": "urgent"}, escalation=True)
    [p] = adults(5717, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, raise_day))
    hub.wait_applied()
    hub.advance(before)
    time.sleep(0.5)
    assert _esc(hub) == []
    hub.advance(at)
    wait_for(lambda: _esc(hub), 5, "escalation")


def test_d2_delivery_count_restart(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5718)
    r = a.ask(1)
    assert r.alerts[0].delivery == 0, r
    a.hello()
    [x] = a.wait_alerts(1)
    assert x.delivery == 1
    b = clients(hub, "cw-anna")
    [y] = b.wait_alerts(1)
    assert y.delivery == 2
    time.sleep(1.5)
    hub.restart()
    c = clients(hub, "cw-anna")
    [z] = c.wait_alerts(1)
    assert z.delivery == 3, z
    b.wait(lambda: len(b.alerts) >= 2, 20, "redelivery after restart on b")


def test_d2_health_notice_text(make_hub, clients):
    from hubtest import ev_referral, CprGen
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    cpr = CprGen(5719).born("2008-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    a = clients(hub, "cw-anna")
    [al] = a.wait_alerts(1)
    d = clients(hub, "desk-dora")
    d.welcome()
    hub.advance("2026-09-10T08:00:00")
    [n] = d.wait_alerts(1)
    h = al.alert_id.hex()
    assert n.explanation == (
        f"Alert {h}, addressed to cw-anna, has not been acknowledged within "
        "24 office hours. It holds data that only its recipient may see, so "
        "its content is not shown here. Expected of you: make sure cw-anna "
        "handles it today."), n.explanation
    assert (n.cpr, n.due, n.priority, len(n.evidence)) == ("", "2026-09-10", al.priority, 0), n
    r = d.ask(1, alert_id=n.alert_id)
    assert r.names_no_one and len(r.alerts) == 1, r
    assert action(d, 2, n.alert_id).code == E_DENIED
    # a second referral, then consent withdrawn: one notice for both
    ref2 = ev_referral(cpr, "2026-09-09", consent={"given": True})
    hub.send(ref2)
    hub.wait_applied()
    a.wait_alerts(2)
    hub.send(ev_referral(cpr, "2026-09-10", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    hub.wait_applied()
    w = a.wait_alerts(3)[2]
    assert w.rule == "withdrawn" and w.cpr == "" and not w.evidence
    assert w.title == "Withdrawn: 2 alerts (addiction)", w.title
    wait_for(lambda: not d.ask(10 + len(d.frames)).alerts, 10, "notice closed")


def test_d2_unregistered_contact(make_hub, clients):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    [p] = adults(5720, 1)
    hub.send(ev_assignment(p, "cw-zed", "2026-01-01"))
    hub.wait_applied()
    hub.send(ev_dropout(p, "2026-09-04"))
    hub.wait_applied()
    d = clients(hub, "desk-dora")
    d.welcome()
    m = pb()
    assert d.ask(1, kind=m.TIMELINE, cpr=p).code == E_DENIED
    hub.advance("2026-09-10T08:00:00")
    [n] = d.wait_alerts(1)
    assert n.title.startswith("Overdue with cw-zed: "), n
    assert d.ask(2, kind=m.TIMELINE, cpr=p).code == OK
    hub.hubctl("keygen", "--keys_dir", str(hub.keys_dir), "cw-zed", config=False)
    hub.hubctl("register-caseworker", "cw-zed", "--key", str(hub.keys_dir / "cw-zed.key"))
    z = clients(hub, "cw-zed")
    assert z.welcome().open_alerts == 1
    [al] = z.wait_alerts(1)
    assert al.recipient == "cw-zed" and al.delivery == 1


def test_escalated_desk_alert_moves_to_a_new_contact_person(make_hub,
                                                            clients):
    """RULES.md §7: "Reassignment moves the person's open alerts to the
    new contact person ... An escalated alert moves like any other (it
    stays with its owner, section 8); its escalation notices stay where
    they are." An alert the desk owned (no contact person) that has
    escalated to the team lead follows a contact person named later;
    the lead's notice stays with the lead."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    [p] = adults(5721, 1)
    hub.send(ev_dropout(p, "2026-09-04"))
    hub.wait_applied()
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    [al] = d.ask(1).alerts
    assert al.recipient == "duty-desk", al
    hub.advance("2026-09-10T08:00:00")
    lead = clients(hub, "cw-lead", hello=False)
    lead.connected()
    wait_for(lambda: lead.ask(100 + len(lead.frames)).alerts, 10,
             "the lead's notice")
    hub.assign(p, "cw-anna", start="2026-09-10")
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    mine = wait_for(lambda: a.ask(200 + len(a.frames)).alerts, 10,
                    "the escalated alert moved to the new contact person")
    assert [(x.alert_id, x.recipient) for x in mine] == \
        [(al.alert_id, "cw-anna")], mine
    assert not d.ask(2).alerts
    [n] = lead.ask(3).alerts
    assert n.alert_id == al.alert_id[:8] + bytes([al.alert_id[8] | 0x80])


def test_d2_desk_colleague_ack_frees_window(make_hub, clients):
    hub = hub53(make_hub)
    hub.send(ev_desk("cw-bob", "2026-01-01"))
    hub.wait_applied()
    ps = adults(5722, 2)
    hub.send(*[ev_dropout(p, "2026-10-26") for p in ps])
    hub.wait_applied()
    b = clients(hub, "cw-bob", window=1)
    d = clients(hub, "desk-dora", window=1)
    [x] = b.wait_alerts(1)
    [y] = d.wait_alerts(1)
    assert x.alert_id == y.alert_id
    d.ack(y.alert_id)
    b.wait_alerts(2, timeout=5)
    d.wait_alerts(2, timeout=5)
    assert b.alerts[1].alert_id != x.alert_id


def test_d2_long_names_cut_in_titles_and_notices(make_hub, clients):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    [p] = adults(5723, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-09-04", institution="\u00e6" * 128,
                        programme="\u20ac" * 85))
    hub.wait_applied()
    a = clients(hub, "cw-anna")
    [al] = a.wait_alerts(1)
    for s, cap in ((al.title, 159), (al.explanation, 1023)):
        assert len(s.encode()) <= cap, (len(s.encode()), s)
    d = clients(hub, "desk-dora")
    d.welcome()
    hub.advance("2026-09-10T08:00:00")
    [n] = d.wait_alerts(1)
    for s, cap in ((n.title, 159), (n.explanation, 1023)):
        assert len(s.encode()) <= cap, (len(s.encode()), s)
    m = pb()
    t = a.ask(1, kind=m.TIMELINE, cpr=p)
    for e in t.timeline:
        assert len(e.summary.encode()) <= 191, (len(e.summary.encode()), e.summary)


def high_alert_then_reload_to_8_hours(make_hub, seed):
    """A HIGH alert raised Monday 2026-09-07 10:00 local under 24 office
    hours, then the rules reloaded (SIGHUP) to 8 office hours."""
    rules = {"routing.team_lead": "cw-lead"}
    hub, _ = escalating_hub_with_one_dropout(
        make_hub, "2026-09-07T08:00:00", seed, "2026-09-04", rules)
    hub.write_rules({**rules, "ack.high_hours": "8"})
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log("HUB-RELOAD rules reloaded")
    return hub


def test_d2_reload_keeps_scheduled_escalation(make_hub, clients):
    hub = high_alert_then_reload_to_8_hours(make_hub, 5724)
    hub.advance("2026-09-08T08:00:00")  # 8 office hours after raising
    assert _esc(hub) == []
    hub.advance("2026-09-10T08:00:00")  # the original 24
    assert len(_esc(hub)) == 1
    d = clients(hub, "desk-dora")
    [n] = d.wait_alerts(1)
    assert "within 8 office hours" in n.explanation, n.explanation
    # lead: 8 office hours after 10:00 local Thursday -> Friday 10:00
    hub.advance("2026-09-11T07:59:59")
    assert len(_esc(hub)) == 1
    hub.advance("2026-09-11T08:00:00")
    assert len(_esc(hub)) == 2


def test_what_a_delivery_session_leaves_in_the_audit_trail(make_hub,
                                                          clients):
    """PROTOCOL.md §4 (end): a Query's answer, a pushed Alert and a
    refused Hello are recorded; a Welcome that opens or renews a session
    is not (it said "every answer", a Welcome included)."""
    hub = hub53(make_hub, settings={"sessions_max": "1"})
    p, a, aid = anna_with_one_dropout(hub, clients, 5725)
    a.hello()
    assert a.welcome().code == OK
    a.wait_alerts(1)
    a.hello()
    assert a.welcome().code == OK
    b = clients(hub, "cw-bob")
    assert b.welcome().code == E_UNAVAILABLE

    def rows():
        got = [(r["actor"], r["action"], r["result"])
               for r in audit_rows(hub)
               if r.get("actor") in ("cw-anna", "cw-bob")]
        return got if ("cw-bob", "hello", "refused") in got else None
    got = wait_for(rows, 10, "the refused Hello audited", interval=0.3)
    assert ("cw-anna", "list", "ok") in got and \
        ("cw-anna", "deliver", "ok") in got, got
    assert ("cw-anna", "hello", "ok") not in got and \
        not [g for g in got if g[:2] == ("cw-anna", "hello")], got


def test_d2_action_dates(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5726)
    bad = "date must be the day it was done, YYYY-MM-DD"
    for i, (date, want) in enumerate([
            ("1900-01-01", OK), ("2026-02-29", bad), ("2024-02-29", OK),
            ("20261102", bad), ("2026-11-02 ", bad), (" 2026-11-02", bad),
            ("2026-1-02", bad), ("2026-11-02T00:00", bad),
            ("+026-11-02", bad), ("2026-00-10", bad), ("2026-11-00", bad)]):
        r = action(a, 10 + i, aid, date=date, how=f"phone {i}")
        assert (r.reason if r.code != OK else OK) == want, (date, r)


def test_d2_window_ending_at_closing(make_hub):
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-08T00:00:00", 5727, "2026-09-07",
        {"routing.team_lead": "cw-lead", "dropout.priority": "urgent"})
    hub.advance("2026-09-08T09:59:59")
    assert _esc(hub) == []
    hub.advance("2026-09-08T10:00:00")
    assert len(_esc(hub)) == 1
    hub.advance("2026-09-08T13:59:59")
    assert len(_esc(hub)) == 1
    hub.advance("2026-09-08T14:00:00")
    assert [r for _, r in _esc(hub)] == ["duty-desk", "cw-lead"]


def test_d2_deadline_alerts_stay_at_desk_on_reassignment(make_hub, clients):
    from hubtest import CprGen
    hub = hub53(make_hub)
    p = CprGen(5728).born("2010-03-03")
    hub.send(ev_dropout(p, "2026-11-02"))
    hub.wait_applied()
    hub.advance("2026-11-06T08:00:00")
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    rules = sorted(x.rule for x in d.ask(1).alerts)
    assert rules == ["deadline.contact.warn", "dropout"], rules
    hub.assign(p, "cw-anna", start="2026-11-06")
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    mine = wait_for(lambda: a.ask(100 + len(a.frames)).alerts, 10, "moved")
    assert [x.rule for x in mine] == ["dropout"], mine
    assert [x.rule for x in d.ask(2).alerts] == ["deadline.contact.warn"]
    # the new contact person may act on the desk's deadline alert
    warn = d.ask(3).alerts[0]
    assert action(a, 4, warn.alert_id).code == OK


def test_d2_timeline_order_within_a_day(make_hub, clients):
    from hubtest import event, ev_dropout_risk
    hub = hub53(make_hub)
    [p] = adults(5729, 1)
    hub.assign(p, "cw-anna", start="2026-10-20")
    evs = [event("jobcenter-a", p, "benefit_status", salt=9000 + i,
                 jobcenter="jc-a", benefit="CASH_BENEFIT",
                 start="2026-10-20") for i in range(6)]
    hub.send(*evs, agency="jobcenter-a")
    hub.send(ev_dropout(p, "2026-10-20"), ev_dropout_risk(p, "2026-10-20"),
             ev_dropout(p, "2026-10-20", programme="other"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    t = a.ask(1, kind=pb().TIMELINE, cpr=p).timeline
    keys = [(e.date, e.is_alert, e.alert_id if e.is_alert else e.event_id)
            for e in t]
    assert keys == sorted(keys), [(d, al, i.hex()) for d, al, i in keys]


@pytest.mark.parametrize("jump,warned", [("2026-11-06T23:59:59", True),
                                         ("2026-11-07T00:00:01", False)])
def test_a_contact_warning_fires_at_most_a_day_late(make_hub, clients, jump,
                                                     warned):
    """RULES.md §6: the contact warning of a dropout reported Monday
    2026-11-02 is due Friday 11-06 00:00 (one working day before the
    deadline, Monday 11-09). A clock that jumps past it fires it only
    within 24 hours; later it raises nothing, though the deadline is still
    ahead. The table said "fires an alert if the episode is still open and
    no contact is recorded" without the 24 hours."""
    from hubtest import CprGen
    hub = hub53(make_hub)
    p = CprGen(5730).born("2010-03-03")
    hub.send(ev_dropout(p, "2026-11-02"))
    hub.wait_applied()
    hub.advance(jump)
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    rules = sorted(x.rule for x in d.ask(1).alerts)
    assert rules == (["deadline.contact.warn", "dropout"] if warned
                     else ["dropout"]), rules


@pytest.mark.parametrize("raised,desk,lead", [
    ("2026-12-23T14:00:00", "2026-12-28T10:00:00", "2026-12-28T14:00:00"),
    ("2026-03-27T13:00:00", "2026-03-30T08:00:00", "2026-03-30T12:00:00"),
    ("2026-09-11T08:00:00", "2026-09-16T08:00:00", "2026-09-21T08:00:00"),
])
def test_d2_office_hours_table(make_hub, raised, desk, lead):
    """RULES.md §8's examples, in UTC."""
    high = raised.startswith("2026-09-11")
    hub = rules_hub(make_hub, raised,
                    rules={"routing.team_lead": "cw-lead",
                           "dropout.priority": "high" if high else "urgent"},
                    escalation=True)
    [p] = adults(5731, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, raised[:10]))
    hub.wait_applied()
    from datetime import datetime, timedelta
    before = lambda t: (datetime.fromisoformat(t) - timedelta(seconds=1)).isoformat()
    hub.advance(before(desk))
    assert _esc(hub) == []
    hub.advance(desk)
    assert len(_esc(hub)) == 1
    hub.advance(before(lead))
    assert len(_esc(hub)) == 1
    hub.advance(lead)
    assert len(_esc(hub)) == 2


def test_d2_answers_in_order(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5732)
    m = a.m
    before = len(a.frames)
    for i in range(3):
        a.query(10 + i)
        a.raw(b"\x01\x07\xff\xff")
        a.send(FRAME_ACTION, m.Action(request_id=20 + i, alert_id=aid,
                                      kind=1, how=f"phone {i}"))
        a.query(30 + i, kind=m.TIMELINE, cpr=p)
        a.raw(b"\x02\x07")
        a.hello()
    a.wait(lambda: len([f for f in a.frames[before:] if f[0] != FRAME_ALERT]) >= 18, 10, "18 answers")
    got = [(k, getattr(msg, "request_id", -1), getattr(msg, "code", -1))
           for k, msg, _ in a.frames[before:] if k != FRAME_ALERT]
    want = []
    for i in range(3):
        want += [(8, 10 + i, OK), (8, 0, E_MALFORMED), (8, 20 + i, OK),
                 (8, 30 + i, OK), (8, 0, pb().E_VERSION), (6, -1, OK)]
    got = [(k, r if k == 8 else -1, c) for k, r, c in got]
    assert got == want, got


def test_d2_ack_note_cut_at_a_character(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5733)
    a.ack(aid, note="a" * 199 + "\u00e9" + "b" * 50)
    wait_for(lambda: not a.ask(100 + len(a.frames), alert_id=aid).alerts,
             10, "acked")
    [r] = [r for r in audit_rows(hub) if r["action"] == "ack"]
    assert r["detail"] == aid.hex() + " " + "a" * 199, r["detail"]


def test_d2_inbox_exit_codes_without_a_hub(make_hub):
    hub = hub53(make_hub)
    hub.hubctl("keygen", "--keys_dir", str(hub.keys_dir), "cw-nobody",
               config=False)
    out = []
    rc, so, se = run_inbox(hub, "cw-nobody", "--list")
    out.append(("unregistered --list", rc, 3, se))
    rc, so, se = run_inbox(hub, "cw-nobody", "--idle_exit", "2")
    out.append(("unregistered live", rc, 3, se))
    # wrong hub.key
    other = hub.tmp / "otherkeys"
    other.mkdir()
    for f in hub.keys_dir.glob("cw-anna.key*"):
        shutil.copy(f, other / f.name)
    subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                    str(other), "hub"], capture_output=True)
    conf = hub.tmp / "wrong.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {other}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                        "--list", "--timeout", "3"], capture_output=True,
                       text=True, timeout=60)
    out.append(("wrong hub.key --list", p.returncode, 3, p.stderr))
    hub.stop()
    rc, so, se = run_inbox(hub, "cw-anna", "--list", "--timeout", "2")
    out.append(("no hub --list", rc, 2, se))
    rc, so, se = run_inbox(hub, "cw-anna", "--idle_exit", "1", "--timeout", "2")
    out.append(("no hub live idle", rc, 0, se))
    bad = [o for o in out if o[1] != o[2]]
    assert not bad, bad


def test_d2_odd_but_valid_frames(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 5734)
    m = a.m
    a.send(3, m.Hello(client="x" * 60000, window=1))
    w = a.welcome()
    assert (w.code, w.open_alerts) == (OK, 1), w
    a.wait_alerts(1)
    # unknown field 15 (varint) appended to a Query
    a.raw(bytes([1, 7]) + m.Query(request_id=5, kind=m.OPEN_ALERTS).SerializeToString()
          + b"\x78\x01")
    r = a.result(5)[0]
    assert r.code == OK and len(r.alerts) == 1, r
    r = a.ask(6, kind=m.TIMELINE, cpr=p, offset=4294967295)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 0, False), r
    r = a.ask(7, kind=m.TIMELINE, cpr=p, offset=3)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 0, False), r
    r = a.ask(8, kind=m.TIMELINE, cpr=p, offset=2, limit=1)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 1, False), r
    r = a.ask(9, kind=m.TIMELINE, cpr=p, offset=1, limit=1)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 1, True), r


def test_d2_notice_of_an_alert_without_due(make_hub, clients):
    from hubtest import ev_enrolment
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-07T08:00:00", 5735, "2026-09-01",
        {"ack.high_hours": "8760", "back_on_track.priority": "urgent"})
    hub.send(ev_enrolment(p, "2026-09-07"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    [b] = [x for x in a.ask(1).alerts if x.rule == "back_on_track"]
    assert b.due == "", b
    hub.advance("2026-09-07T12:00:00")
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    [n] = wait_for(lambda: d.ask(100 + len(d.frames)).alerts, 10, "notice")
    assert n.explanation == (
        f"Alert {b.alert_id.hex()} (back_on_track), addressed to cw-anna, "
        "has not been acknowledged within 4 office hours; it stays with "
        "cw-anna, who remains responsible. Expected of you: make sure it "
        "is handled today, by cw-anna or by the desk."), n.explanation


def test_d2_control_characters_show_as_spaces(make_hub, clients):
    hub = hub53(make_hub)
    [p] = adults(5736, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-26", institution="col\tlege\nx\x7fy"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    [al] = a.ask(1).alerts
    assert "col lege x y" in al.title, al.title
    assert not any(ord(c) < 32 or ord(c) == 127 for c in al.title + al.explanation)
    assert action(a, 2, al.alert_id, how="phone\tcall\r\nback",
                  note="a\x01b").code == OK
    t = a.ask(3, kind=pb().TIMELINE, cpr=p).timeline
    sums = [e.summary for e in t]
    assert not any(ord(c) < 32 or ord(c) == 127 for s in sums for c in s), sums
    assert "contact made by cw-anna: phone call  back \u2014 a b" in sums, sums



def test_d2_unicode_line_breaks_show_as_spaces(make_hub, clients):
    """PROTOCOL.md §2: the texts are one line each. A vendor's client
    splitting a title into lines (Python's str.splitlines() among them)
    breaks at the C1 controls (U+0085 NEL) and at U+2028/U+2029 too, so
    those show as a space like any control character."""
    hub = hub53(make_hub)
    [p] = adults(5739, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-26",
                        institution="col\u0085lege\u2028x\u2029y\u009fz"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    [al] = a.ask(1).alerts
    assert "col lege x y z" in al.title, al.title
    assert "col lege x y z" in al.explanation, al.explanation
    assert action(a, 2, al.alert_id, how="phone\u2028call",
                  note="a\u0085b\u2029c").code == OK
    sums = [e.summary for e in a.ask(3, kind=pb().TIMELINE,
                                      cpr=p).timeline]
    for text in [al.title, al.explanation] + sums:
        assert len(text.splitlines()) == 1, repr(text)
    assert "contact made by cw-anna: phone call \u2014 a b c" in sums, sums

def test_d2_desk_id_as_contact_and_health_alerts(make_hub, clients):
    from hubtest import ev_referral, CprGen
    hub = hub53(make_hub)
    p = CprGen(5737).born("2008-04-04")
    hub.assign(p, "cw-anna")
    hub.send(ev_referral(p, "2026-11-01", consent={"given": True}))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    [al] = a.ask(1).alerts
    assert al.rule == "addiction"
    hub.send(ev_assignment(p, "duty-desk", "2026-11-02"))
    hub.wait_applied()
    time.sleep(0.5)
    assert [x.alert_id for x in a.ask(2).alerts] == [al.alert_id]
    hub.send(ev_referral(p, "2026-11-02", consent={"given": True}))
    hub.wait_applied()
    hub.wait_log("HUB-WITHHELD")
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    assert not d.ask(3).alerts
    assert len(a.ask(4).alerts) == 1
    # the desk may open the timeline (no contact person), and sees no
    # addiction referral in it
    t = d.ask(5, kind=pb().TIMELINE, cpr=p)
    assert t.code == OK, t
    assert not [e for e in t.timeline if e.type == pb().ADDICTION_REFERRAL
                or e.rule == "addiction"], t


def test_d2_revoked_session_pushes_nothing_before_its_next_frame(make_hub,
                                                                 clients):
    hub = hub53(make_hub)
    [p, q] = adults(5738, 2)
    hub.assign(p, "cw-anna")
    hub.send(ev_desk("cw-anna", "2026-01-01"))
    hub.wait_applied()
    a = clients(hub, "cw-anna")
    assert a.welcome().code == OK
    hub.hubctl("revoke-caseworker", "cw-anna")
    time.sleep(0.5)
    hub.send(ev_dropout(p, "2026-10-26"), ev_dropout(q, "2026-10-26"))
    hub.wait_applied()
    got = [f for f in a.quiet(2) if f[0] == FRAME_ALERT]
    assert not got, got


def test_d2_inbox_ack_of_a_desk_alert_and_a_notice(make_hub, clients):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    [p, q] = adults(5739, 2)
    hub.assign(q, "cw-anna")
    hub.send(ev_dropout(p, "2026-09-04"), ev_dropout(q, "2026-09-04"))
    hub.wait_applied()
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    [desk_alert] = d.ask(1).alerts
    rc, so, se = run_inbox(hub, "desk-dora", "--ack", desk_alert.alert_id.hex())
    assert rc == 0, se
    hub.advance("2026-09-10T08:00:00")
    [n] = wait_for(lambda: d.ask(100 + len(d.frames)).alerts, 10, "notice")
    assert n.rule == "escalation"
    orig = n.alert_id[:8] + bytes([n.alert_id[8] & 0x3F])
    rc, so, se = run_inbox(hub, "desk-dora", "--ack", orig.hex())
    assert rc == 4, (rc, se)
    rc, so, se = run_inbox(hub, "desk-dora", "--ack", n.alert_id.hex(),
                           "--note", "on it")
    assert rc == 0, se
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    assert [x.alert_id for x in a.ask(2).alerts] == [orig]
    # the desk took it on: no team lead step
    hub.advance("2026-09-16T08:00:00")
    assert [r for _, r in _esc(hub)] == ["duty-desk"]


@pytest.mark.parametrize("rebuilt", [False, True])
def test_lead_step_of_a_late_desk_notice_survives_a_rebuild(make_hub,
                                                           rebuilt):
    """RULES.md §8: the team lead's step counts ack hours again "from the
    instant the first window ended"; §6: a rebuilt derived state raises
    the alerts that were raised and keeps their deadlines. A HIGH alert of
    Monday 09-07 10:00 local has its window end Thursday 10:00; the clock
    passes it only on Friday 10:00 (hubd down), when the desk's notice
    goes out. The lead's step is Tuesday 09-15 10:00 local (08:00 UTC),
    whether or not derived/ is rebuilt in between."""
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-07T08:00:00", 5740, "2026-09-04",
        {"routing.team_lead": "cw-lead"})
    hub.advance("2026-09-11T08:00:00")
    assert [r for _, r in _esc(hub)] == ["duty-desk"]
    if rebuilt:
        hub.stop()
        shutil.rmtree(hub.data_dir / "derived")
        hub.start()
        hub.wait_log(r"HUB-REPLAY")
        hub.wait_applied()
    hub.advance("2026-09-15T07:59:59")
    assert [r for _, r in _esc(hub)] == ["duty-desk"]
    hub.advance("2026-09-15T08:00:00")
    assert [r for _, r in _esc(hub)] == ["duty-desk", "cw-lead"]


def test_a_clock_past_both_steps_sends_both_notices(make_hub):
    """RULES.md §8: hubd down over the end of the window and the team
    lead's step: both notices go out when it is back."""
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-07T08:00:00", 5741, "2026-09-04",
        {"routing.team_lead": "cw-lead"})
    hub.advance("2026-09-15T08:00:00")
    wait_for(lambda: len(_esc(hub)) == 2, 5, "both notices")
    assert [r for _, r in _esc(hub)] == ["duty-desk", "cw-lead"]


def test_d2_notices_stay_in_the_timeline_once_closed(make_hub, clients):
    hub, p = escalating_hub_with_one_dropout(
        make_hub, "2026-09-07T08:00:00", 5742, "2026-09-04",
        {"routing.team_lead": "cw-lead"})
    hub.advance("2026-09-10T08:00:00")
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    [al] = a.ask(1).alerts
    t = a.ask(2, kind=pb().TIMELINE, cpr=p).timeline
    notes = [e for e in t if e.is_alert and e.rule == "escalation"]
    assert len(notes) == 1 and notes[0].open, t
    a.ack(al.alert_id)
    wait_for(lambda: not a.ask(100 + len(a.frames)).alerts, 10, "acked")
    t = a.ask(3, kind=pb().TIMELINE, cpr=p).timeline
    st = sorted((e.rule, e.open) for e in t if e.is_alert)
    assert st == [("dropout", False), ("escalation", False)], st


def test_a_rebuild_after_a_reload_counts_the_new_ack_hours(make_hub):
    """RULES.md §8 and §11 (a known limit, now stated): a reload keeps the
    escalation instants scheduled, but a rebuilt derived state schedules
    them again with the hours in force: a HIGH alert raised Monday 10:00
    local under 24 office hours, the rules reloaded to 8, escalates
    Tuesday 10:00 once derived/ is rebuilt (Thursday without one)."""
    hub = high_alert_then_reload_to_8_hours(make_hub, 5743)
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(r"HUB-REPLAY")
    hub.wait_applied()
    hub.advance("2026-09-08T07:59:59")
    assert _esc(hub) == []
    hub.advance("2026-09-08T08:00:00")
    assert [r for _, r in _esc(hub)] == ["duty-desk"]
