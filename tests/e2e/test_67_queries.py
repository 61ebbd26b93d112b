"""67 queries: the caseworker side of PROTOCOL.md §4 (Queries, paging,
AlertAck, Action) probed at its edges, written from the docs alone."""

import json
import time

import pytest

from hubtest import (E_DENIED, E_MALFORMED, E_UNAVAILABLE, OK, ev_dropout,
                     pb)
from test_53_delivery import (FRAME_RESULT, _varint, adults,  # noqa: F401
                              anna_with_one_dropout, clients, hub53,
                              open_ids)
from test_57_deliver2 import action, anna_with_dropouts

NOT_YOURS = "this person is not assigned to you or your desk"


def test_q_open_alerts_last_page_exactly_full(make_hub, clients):
    hub, ps = anna_with_dropouts(make_hub, 6701, 51)
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    r = a.ask(1, limit=50)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 50, True), r
    r = a.ask(2, limit=50, offset=50)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 1, False), r
    r = a.ask(3, limit=1, offset=50)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 1, False), r
    r = a.ask(4, limit=51, offset=1)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 50, False), r
    r = a.ask(5, limit=4294967295, offset=0)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 50, True), r
    r = a.ask(6, limit=3, offset=48)
    assert (r.code, len(r.alerts), r.truncated) == (OK, 3, False), r


def test_q_timeline_last_page_exactly_full(make_hub, clients):
    p, a, aid = None, None, None
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6702)
    m = pb()
    r = a.ask(1, kind=m.TIMELINE, cpr=p)
    assert r.code == OK and not r.truncated, r
    n = len(r.timeline)
    r = a.ask(2, kind=m.TIMELINE, cpr=p, limit=n)
    assert (len(r.timeline), r.truncated) == (n, False), r
    r = a.ask(3, kind=m.TIMELINE, cpr=p, limit=n - 1)
    assert (len(r.timeline), r.truncated) == (n - 1, True), r
    r = a.ask(4, kind=m.TIMELINE, cpr=p, limit=1, offset=n - 1)
    assert (len(r.timeline), r.truncated) == (1, False), r
    r = a.ask(5, kind=m.TIMELINE, cpr=p, offset=n)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 0, False), r
    r = a.ask(6, kind=m.TIMELINE, cpr=p, offset=4294967295)
    assert (r.code, len(r.timeline), r.truncated) == (OK, 0, False), r


def test_q_timeline_cpr_forms(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6703)
    m = pb()
    cases = {
        "": "cpr is empty",
        p[1:]: "cpr has 9 digits: a spreadsheet may have dropped its "
               "leading zero (format the column as text)",
        "3213101234": "cpr is not a CPR number: DDMMYY is not a real "
                      "birth date",
        p + "0": "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or "
                 "DDMMYYSSSS)",
        p[:6] + "/" + p[6:]: "cpr is not a CPR number (DDMMYY-SSSS, "
                             "DDMMYY SSSS or DDMMYYSSSS)",
        " " + p: "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or "
                 "DDMMYYSSSS)",
        p + " ": "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or "
                 "DDMMYYSSSS)",
        p[:6] + "--" + p[6:]: "cpr is not a CPR number (DDMMYY-SSSS, "
                              "DDMMYY SSSS or DDMMYYSSSS)",
    }
    for i, (cpr, reason) in enumerate(cases.items()):
        r = a.ask(10 + i, kind=m.TIMELINE, cpr=cpr)
        assert (r.code, r.reason) == (E_MALFORMED, reason), (cpr, r)
    # 29 February of a non-leap year is no date
    r = a.ask(50, kind=m.TIMELINE, cpr="2902011234")
    assert r.code == E_MALFORMED, r
    # A real person not Anna's, and one never seen: the same answer.
    r1 = a.ask(60, kind=m.TIMELINE, cpr="2902041234")
    assert (r1.code, r1.reason) == (E_DENIED, NOT_YOURS), r1


def test_q_ack_edges(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6704)
    # unknown id, wrong lengths: nothing answered
    a.ack(b"\x00" * 9)
    a.ack(b"")
    a.ack(aid + b"\x00")
    # bob's ack of anna's alert changes nothing
    b = clients(hub, "cw-bob", hello=False)
    b.connected()
    b.ack(aid)
    r = b.ask(1, alert_id=aid)
    assert (r.code, len(r.alerts), r.names_no_one) == (OK, 0, False), r
    r = a.ask(2, alert_id=aid)
    assert (r.code, len(r.alerts)) == (OK, 1), r
    # twice in one batch, longest note and one byte more
    a.ack(aid, note="é" * 100 + "x")
    a.ack(aid, note="y")
    r = a.ask(3, alert_id=aid)
    assert (r.code, len(r.alerts), r.names_no_one) == (OK, 0, False), r
    assert not [f for f in a.quiet(1) if f[0] != FRAME_RESULT]
    assert [f[1].request_id for f in a.frames if f[0] == FRAME_RESULT] == \
        [900, 2, 3], a.frames
    r = a.ask(4, alert_id=b"\x00" * 8)
    assert (r.code, r.reason) == (E_MALFORMED, "alert_id must be 9 bytes"), r


def test_q_action_lengths(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6705)
    r = action(a, 1, aid, how="h" * 256)
    assert r.code == OK, r
    r = action(a, 2, aid, how="h" * 257)
    assert (r.code, r.reason) == (E_MALFORMED,
                                  "how is longer than 256 bytes"), r
    r = action(a, 3, aid, how="æ" * 128)
    assert r.code == OK, r
    r = action(a, 4, aid, note="n" * 200)
    assert r.code == OK, r
    r = action(a, 5, aid, note="n" * 201)
    assert (r.code, r.reason) == (E_MALFORMED,
                                  "note is longer than 200 bytes"), r
    r = action(a, 6, aid, kind=0)
    assert r.code == E_MALFORMED, r
    r = action(a, 7, aid, kind=4)
    assert r.code == E_MALFORMED, r
    r = action(a, 8, aid[:8])
    assert (r.code, r.reason) == (E_MALFORMED, "alert_id must be the 9 "
                                  "bytes of an alert's id"), r
    r = action(a, 9, b"\x00" * 9)
    assert (r.code, r.reason) == (E_DENIED, "this alert is not addressed "
                                  "to you or your desk"), r
    b = clients(hub, "cw-bob", hello=False)
    b.connected()
    r = action(b, 10, aid)
    assert r.code == E_DENIED, r
    # on an acknowledged alert: allowed
    a.ack(aid)
    r = action(a, 11, aid, how="after ack")
    assert r.code == OK, r
    m = pb()
    r = a.ask(12, kind=m.TIMELINE, cpr=p)
    r = action(a, 13, aid, date="2026-11-03")
    assert (r.code, r.reason) == (E_MALFORMED, "date is in the future: "
                                  "record an action once it is done"), r
    r = action(a, 14, aid, date="2026-11-02")
    assert r.code == OK, r
    r = action(a, 15, aid, date="1899-12-31")
    assert r.code == E_MALFORMED, r
    r = action(a, 16, aid, date="1900-01-01")
    assert r.code == OK, r
    r = action(a, 17, aid, date="2026-02-29")
    assert r.code == E_MALFORMED, r


def test_q_query_kinds(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6706)
    for i, k in enumerate((0, 3, 4, 5, 99)):
        r = a.ask(1 + i, kind=k)
        assert (r.code, r.reason) == (E_MALFORMED, "unknown query kind"), r
    m = pb()
    # TIMELINE ignores alert_id whatever its length
    r = a.ask(20, kind=m.TIMELINE, cpr=p, alert_id=b"x")
    assert r.code == OK and r.timeline, r
    # OPEN_ALERTS ignores cpr
    r = a.ask(21, cpr="garbage")
    assert r.code == OK and len(r.alerts) == 1, r


def test_q_erased_person_while_connected(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6707)
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    m = pb()
    assert a.ask(1, kind=m.TIMELINE, cpr=p).code == OK
    hub.hubctl("erase", "--cpr", p, "--reason", "art. 17 request")
    r = a.ask(2)
    assert (r.code, len(r.alerts)) == (OK, 0), r
    r = a.ask(3, alert_id=aid)
    assert (r.code, len(r.alerts), r.names_no_one) == (OK, 0, False), r
    r = a.ask(4, kind=m.TIMELINE, cpr=p)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    r = d.ask(5, kind=m.TIMELINE, cpr=p)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    r = action(a, 6, aid)
    assert r.code == E_DENIED, r
    a.ack(aid)
    a.hello()
    w = a.welcome()
    assert (w.code, w.open_alerts) == (OK, 0), w
    assert not [f for f in a.quiet(1) if f[0] == 4], a.frames


def test_q_desk_view_vs_contact(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6708)
    [q] = adults(6709, 1)
    # q: known by a dropout and without a contact person: the desk's
    hub.send(ev_dropout(q, "2026-10-26"))
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    m = pb()
    r = d.ask(1, kind=m.TIMELINE, cpr=p)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    r = d.ask(2, kind=m.TIMELINE, cpr=q)
    assert r.code == OK, r
    r = a.ask(3, kind=m.TIMELINE, cpr=q)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    b = clients(hub, "cw-bob", hello=False)
    b.connected()
    r = b.ask(4, kind=m.TIMELINE, cpr=q)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    # An assignment that ended: the person has no contact person now.
    [s] = adults(6710, 1)
    hub.assign(s, "cw-bob", start="2026-01-01", end="2026-10-01")
    hub.wait_applied()
    r = b.ask(5, kind=m.TIMELINE, cpr=s)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    r = d.ask(6, kind=m.TIMELINE, cpr=s)
    assert [e.summary for e in r.timeline] == \
        ["contact person: cw-bob (contact)"], r
    # An assignment starting tomorrow
    [t] = adults(6711, 1)
    hub.assign(t, "cw-bob", start="2026-11-03")
    hub.wait_applied()
    r = b.ask(7, kind=m.TIMELINE, cpr=t)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    r = d.ask(8, kind=m.TIMELINE, cpr=t)
    assert [e.summary for e in r.timeline] == \
        ["contact person: cw-bob (contact)"], r


TOO_MANY = "too many queries; wait a moment and ask again"
TOO_MANY_ACTIONS = "too many actions; wait a moment and send it again"


def test_q_rate_limit_exactly_at_and_one_over(make_hub, clients):
    hub = hub53(make_hub, settings={"query_rate": "1", "query_burst": "3"})
    p, a, aid = anna_with_one_dropout(hub, clients, 6712)   # 1 query used
    time.sleep(1.2)
    codes = []
    for i in range(1, 5):
        a.query(i)
    for i in range(1, 5):
        r = a.result(i)[0]
        codes.append((r.code, r.reason))
    assert codes[:3] == [(OK, "")] * 3, codes
    assert codes[3] == (E_UNAVAILABLE, TOO_MANY), codes
    # beyond the allowance, a malformed query is refused for the rate
    r = a.ask(10, kind=0)
    assert (r.code, r.reason) == (E_UNAVAILABLE, TOO_MANY), r
    # refusals do not use the allowance: a second later one is free
    time.sleep(1.05)
    r = a.ask(11)
    assert r.code == OK, r
    r = a.ask(12)
    assert (r.code, r.reason) == (E_UNAVAILABLE, TOO_MANY), r
    # actions: an allowance of their own, same size
    for i in range(20, 23):
        assert action(a, i, aid, how=f"h{i}").code == OK
    r = action(a, 23, aid, how="h23")
    assert (r.code, r.reason) == (E_UNAVAILABLE, TOO_MANY_ACTIONS), r
    r = action(a, 24, aid[:3], how="h24")
    assert (r.code, r.reason) == (E_UNAVAILABLE, TOO_MANY_ACTIONS), r


def test_q_listed_alert_has_the_pushed_alerts_fields(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6713)
    r = a.ask(1, alert_id=aid)
    assert r.alerts[0].delivery == 0, r
    a.hello()
    w = a.welcome()
    assert (w.code, w.caseworker, w.open_alerts) == (OK, "cw-anna", 1), w
    [pushed] = a.wait_alerts(1)
    assert pushed.delivery == 1
    time.sleep(1.5)
    r = a.ask(2, alert_id=aid)
    listed = r.alerts[0]
    assert listed == pushed, (listed, pushed)
    m = pb()
    r = a.ask(3, kind=m.TIMELINE, cpr=p)
    for e in r.timeline:
        if e.is_alert:
            assert (e.type, e.agency, e.event_id, e.superseded) == \
                (0, "", b"", False), e
            assert e.alert_id == aid and e.rule == "dropout" and e.open
            assert e.date == "2026-11-02", e
        else:
            assert (e.alert_id, e.rule, e.open) == (b"", "", False), e
            assert e.type and e.agency and len(e.event_id) == 16, e


def test_q_erase_takes_the_escalation_notices_too(make_hub, clients):
    from test_53_delivery import CLOCK
    from hubtest import rules_hub
    hub = rules_hub(make_hub, CLOCK, rules={"ack.high_hours": "1"},
                    escalation=True)
    [p] = adults(6714, 1)
    hub.assign(p, "cw-anna")
    anna = clients(hub, "cw-anna", hello=False)
    dora = clients(hub, "desk-dora", hello=False)
    anna.connected()
    dora.connected()
    hub.send(ev_dropout(p, "2026-10-27"))
    hub.advance("2026-11-02T09:30:00")
    [n] = dora.ask(1).alerts
    assert n.rule == "escalation" and n.cpr == p, n
    hub.hubctl("erase", "--cpr", p, "--reason", "art. 17 request")
    assert not anna.ask(2).alerts
    r = dora.ask(3)
    assert not r.alerts, r
    r = dora.ask(4, alert_id=n.alert_id)
    assert not r.alerts, r
    m = pb()
    r = dora.ask(5, kind=m.TIMELINE, cpr=p)
    assert r.code == E_DENIED, r
    dora.hello()
    assert dora.welcome().open_alerts == 0


def run_inbox(hub, caseworker, *args, timeout=30):
    import subprocess
    from hubtest import binary
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), *args],
                       capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def test_q_inbox_one_shot_outputs(make_hub, clients):
    import json
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6715)
    hexid = aid.hex()
    rc, out, err = run_inbox(hub, "cw-anna", "--list")
    assert rc == 0
    line = out.splitlines()[0]
    dashed = p[:6] + "-" + p[6:]
    assert line.startswith(f"HIGH    {hexid}  2026-11-02  due ")
    assert f"cw-anna      {dashed}  Dropped out" in line, line
    assert out.splitlines()[1] == "1 open alerts"
    rc, out, err = run_inbox(hub, "cw-anna", "--list", "--json")
    o = json.loads(out.splitlines()[0])
    assert list(o) == ["alert_id", "rule", "priority", "cpr", "recipient",
                       "raised_at", "title", "explanation", "due",
                       "delivery", "evidence"], o
    assert o["cpr"] == p and o["alert_id"] == hexid and o["delivery"] == 0
    ev = o["evidence"][0]
    assert list(ev) == ["event_id", "agency", "type", "period_start",
                        "period_end", "lessons_absent",
                        "lessons_expected"], ev
    assert ev["type"] == "Dropout" and ev["lessons_absent"] is None
    assert ev["period_start"] == ev["period_end"] == "2026-10-26"
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", dashed)
    assert rc == 0
    lines = out.splitlines()
    assert lines[-1] == "3 entries", lines
    assert lines[-2].endswith("[open]") and "  ALERT " in lines[-2], lines
    assert "  event " in lines[0]
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", p, "--json")
    objs = [json.loads(x) for x in out.splitlines()]
    assert list(objs[0]) == ["date", "kind", "id", "summary", "type",
                             "agency", "superseded"], objs[0]
    assert list(objs[-1]) == ["date", "kind", "id", "summary", "rule",
                              "open"], objs[-1]
    rc, out, err = run_inbox(hub, "cw-bob", "--timeline", p)
    assert (rc, out) == (4, ""), (rc, out, err)
    assert err == "inbox: the hub refused: " + NOT_YOURS + "\n", err
    rc, out, err = run_inbox(hub, "cw-bob", "--ack", hexid)
    assert rc == 4, (rc, out, err)
    assert err == (f"inbox: alert {hexid} is not open for cw-bob (unknown, "
                   "another caseworker's, or acknowledged already); "
                   "nothing sent\n"), err
    rc, out, err = run_inbox(hub, "cw-anna", "--ack", hexid, "--note",
                             "x" * 300)
    assert (rc, out) == (0, "acknowledged\n"), (rc, out, err)
    rc, out, err = run_inbox(hub, "cw-anna", "--ack", hexid)
    assert rc == 4, (rc, out, err)
    rc, out, err = run_inbox(hub, "cw-anna", "--contact", hexid, "--how",
                             "phone", "--note", "n" * 201)
    assert rc == 1 and err == ("inbox: the hub refused: note is longer "
                               "than 200 bytes\n"), (rc, out, err)
    rc, out, err = run_inbox(hub, "cw-anna", "--contact", hexid, "--how",
                             "h" * 257)
    assert rc == 1 and err == ("inbox: the hub refused: how is longer "
                               "than 256 bytes\n"), (rc, out, err)
    rc, out, err = run_inbox(hub, "cw-anna", "--list")
    assert (rc, out) == (0, "0 open alerts\n"), (rc, out, err)


BLANK_HOW = "how must say how (phone, meeting, home visit, letter, ...)"


def test_q_action_how_that_shows_nothing(make_hub, clients):
    hub = hub53(make_hub, settings={"query_rate": "1000",
                                    "query_burst": "1000"})
    p, a, aid = anna_with_one_dropout(hub, clients, 6716)
    blank = [" ", "\t", "\n", "\r", "\x01", "\x1f", "\x7f", "\x85", "\x9f",
             "\u00a0", "\u1680", "\u2000", "\u200a", "\u202f", "\u205f",
             "\u3000", "\u2028", "\u2029", "\u200b", "\u200c", "\u200d",
             "\u2060", "\ufeff", " \u200b\u3000\t"]
    for i, how in enumerate(blank):
        r = action(a, 100 + i, aid, how=how)
        assert (r.code, r.reason) == (E_MALFORMED, BLANK_HOW), (hex(ord(how[0])), r)
    r = action(a, 200, aid, kind=2, how="\u00a0")
    assert (r.code, r.reason) == (E_MALFORMED, "how must say what was "
                                  "offered"), r
    r = action(a, 300, aid, how="\u00a0x")
    assert r.code == OK, r
    for i, d in enumerate(["2026-11-02 ", "2026-1-02", "+026-11-02",
                           "2026-11-2", "20261102", "2026/11/02",
                           "2026-11-02T00:00", "2026-13-01", "2026-00-10",
                           "2026-11-00", "2200-01-01", "1899-12-31"]):
        r = action(a, 400 + i, aid, date=d, how=f"d{i}")
        assert (r.code, r.reason) == (E_MALFORMED, "date must be the day "
                                      "it was done, YYYY-MM-DD"), (d, r)



def test_q_window_ack_beyond_and_widen(make_hub, clients):
    from test_53_delivery import FRAME_ALERT
    hub, ps = anna_with_dropouts(make_hub, 6718, 4)
    a = clients(hub, "cw-anna", window=1)
    assert a.welcome().open_alerts == 4
    [first] = a.wait_alerts(1)
    assert not [f for f in a.quiet(1) if f[0] == FRAME_ALERT]
    ids = open_ids(a)
    beyond = [i for i in ids if i != first.alert_id]
    # ack one not sent yet: never sent after
    a.ack(beyond[0])
    a.ack(first.alert_id)
    second = a.wait_alerts(2)[1]
    assert second.alert_id != beyond[0], "an acknowledged alert was sent"
    # widen: the rest come without a new connection
    a.hello(window=5)
    assert a.welcome().open_alerts == 2
    got = a.wait_alerts(3)
    assert len(got) == 3, got
    assert not [f for f in a.quiet(1) if f[0] == FRAME_ALERT]
    assert {x.alert_id for x in got} == set(ids) - {beyond[0]}


def move_to_anna(hub, cpr):
    from hubtest import ev_assignment
    hub.send(ev_assignment(cpr, "cw-anna", "2026-11-01"))
    hub.wait_applied()


def erase(hub, cpr):
    hub.hubctl("erase", "--cpr", cpr, "--reason", "art. 17 request")


@pytest.mark.parametrize("take_away,seed", [(move_to_anna, 6719),
                                            (erase, 6720)],
                         ids=["moved away", "erased"])
def test_q_alert_taken_away_in_flight_frees_the_window(make_hub, clients,
                                                       take_away, seed):
    """An alert in flight (window 1, not acknowledged) that is moved to
    another caseworker or erased is no longer his to acknowledge: it
    leaves the list and frees the window for the next alert."""
    hub = hub53(make_hub)
    p, q = adults(seed, 2)
    hub.assign(p, "cw-bob")
    hub.assign(q, "cw-bob")
    hub.send(ev_dropout(p, "2026-10-26"))
    hub.wait_applied()
    bob = clients(hub, "cw-bob", window=1)
    assert bob.welcome().open_alerts == 1
    bob.wait_alerts(1)
    take_away(hub, p)
    assert not bob.ask(1).alerts
    hub.send(ev_dropout(q, "2026-10-27"))
    got = bob.wait_alerts(2, timeout=10)
    assert got[1].cpr == q


def test_q_one_alert_ignores_limit_and_offset(make_hub, clients):
    hub, ps = anna_with_dropouts(make_hub, 6721, 3)
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    ids = open_ids(a)
    for i, aid in enumerate(ids):
        r = a.ask(10 + i, alert_id=aid, offset=7, limit=1)
        assert (r.code, [x.alert_id for x in r.alerts], r.truncated) == \
            (OK, [aid], False), r
    r = a.ask(20, alert_id=ids[2], offset=4294967295, limit=4294967295)
    assert [x.alert_id for x in r.alerts] == [ids[2]], r



def test_q_ack_note_200_and_201(make_hub, clients):
    import json
    hub, ps = anna_with_dropouts(make_hub, 6723, 3)
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    ids = open_ids(a)
    a.ack(ids[0], note="a" * 200)
    a.ack(ids[1], note="b" * 201)
    a.ack(ids[2], note="c" * 199 + "\u00e6")
    a.ack(ids[2], note="again")
    assert not a.ask(5).alerts
    time.sleep(1.5)
    out = hub.hubctl("audit", "show", "--json", "--actor", "cw-anna").stdout
    recs = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    acks = [(r["result"], r["detail"]) for r in recs if r["action"] == "ack"]
    assert acks == [("ok", ids[0].hex() + " " + "a" * 200),
                    ("ok", ids[1].hex() + " " + "b" * 200),
                    ("ok", ids[2].hex() + " " + "c" * 199),
                    ("not-open", ids[2].hex())], acks


def test_q_ops_alert_fields(make_hub, clients):
    from hubtest import ops_alert_hub
    hub = ops_alert_hub(make_hub)
    o = clients(hub, "ops-olga")
    assert o.welcome().code == OK
    [x] = o.wait_alerts(1)
    aid = x.alert_id
    assert aid[0] == 0xFF and aid[-1] == 0x30 and aid[-2] == 0, aid.hex()
    assert (x.rule, x.priority, x.cpr, x.due, len(x.evidence)) == \
        ("ops.adapter_silent", pb().HIGH, "", "", 0)
    r = o.ask(1, alert_id=aid)
    assert r.names_no_one and len(r.alerts) == 1
    r = action(o, 2, aid)
    assert r.code == E_DENIED
    o.ack(aid)
    r = o.ask(3, alert_id=aid)
    assert r.names_no_one and not r.alerts, r


def test_q_timeline_day_of_each_event(make_hub, clients):
    """PROTOCOL.md §4 TIMELINE: an entry's `date` is the day the doc
    names for its type: an absence report's last day, an enrolment's
    end (else its start), a benefit's stop (else its start), an
    assignment's `from`, the `date` of the others; entries go by it."""
    from hubtest import ev_enrolment, event, envelope
    hub = hub53(make_hub)
    [p] = adults(6724, 1)
    hub.assign(p, "cw-anna", start="2026-08-03", end="2026-12-31")
    hub.send(
        envelope("school-a", p, salt="q-abs", period_start="2026-09-07",
                 period_end="2026-09-11", absent=0, expected=30),
        ev_dropout(p, "2026-09-09"),
        ev_enrolment(p, "2026-09-01", end="2026-09-10"),
        ev_enrolment(p, "2026-09-08", institution="fgu-nord"),
        event("jobcenter-a", p, "benefit_status", jobcenter="jc-1",
              benefit="CASH_BENEFIT", start="2026-08-03",
              stop="2026-09-12"),
        event("jobcenter-a", p, "benefit_status", jobcenter="jc-1",
              benefit="CASH_BENEFIT", start="2026-09-13"))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    r = a.ask(1, kind=pb().TIMELINE, cpr=p)
    got = [(e.date, e.summary) for e in r.timeline if not e.is_alert]
    assert got == [
        ("2026-08-03", "contact person: cw-anna (contact)"),
        ("2026-09-08", "enrolled in fgu at fgu-nord"),
        ("2026-09-09", "dropped out of eud-smed at college-x"),
        ("2026-09-10", "enrolment ended: fgu at fgu-vest"),
        ("2026-09-11", "absence 0 of 30 lessons, 2026-09-07 to 2026-09-11"),
        ("2026-09-12", "benefit stopped"),
        ("2026-09-13", "benefit started"),
    ], got


def test_q_action_checks_in_the_documented_order(make_hub, clients):
    hub = hub53(make_hub, settings={"query_rate": "1000",
                                    "query_burst": "1000"})
    p, a, aid = anna_with_one_dropout(hub, clients, 6725)
    m = a.m
    reasons = [
        (dict(alert_id=b"12", kind=9, date="x", how=""),
         "alert_id must be the 9 bytes of an alert's id"),
        (dict(kind=9, date="x", how=""),
         "kind must be CONTACT_MADE, OFFER_MADE or COULD_NOT_REACH"),
        (dict(date="x", how=""), "date must be the day it was done, "
                                 "YYYY-MM-DD"),
        (dict(date="2027-01-01", how=""),
         "date is in the future: record an action once it is done"),
        (dict(how=" ", note="n" * 201), BLANK_HOW),
        (dict(how="h" * 257, note="n" * 201),
         "how is longer than 256 bytes"),
        (dict(how="h\x00", note="n" * 201), "note is longer than 200 bytes"),
        (dict(how="h\x00", note="n\x00"), "how contains a NUL byte"),
        (dict(how=b"\xff".decode("latin-1"), note="n\x00"),
         "note contains a NUL byte"),
    ]
    for i, (kw, reason) in enumerate(reasons):
        f = dict(request_id=100 + i, alert_id=aid, kind=1, date="", how="",
                 note="")
        f.update(kw)
        a.send(9, m.Action(**f))
        r = a.result(100 + i)[0]
        assert (r.code, r.reason) == (E_MALFORMED, reason), (kw, r)
    # malformed comes before denied: another's alert
    b = clients(hub, "cw-bob", hello=False)
    b.connected()
    r = action(b, 1, aid, how=" ")
    assert (r.code, r.reason) == (E_MALFORMED, BLANK_HOW), r
    r = action(b, 2, aid, how="phone")
    assert r.code == E_DENIED, r


def test_q_queries_in_flight_at_a_revocation_each_answered_once(
        make_hub, clients):
    import threading
    hub = hub53(make_hub, settings={"query_rate": "100000",
                                    "query_burst": "100000"})
    p, a, aid = anna_with_one_dropout(hub, clients, 6726)
    m = pb()
    done = threading.Event()

    def revoke():
        time.sleep(0.3)
        hub.hubctl("revoke-caseworker", "cw-anna")
        done.set()
    t = threading.Thread(target=revoke)
    t.start()
    n = 0
    while not done.is_set() and n < 40000:
        for _ in range(20):
            n += 1
            if n % 2:
                a.query(1000 + n)
            else:
                a.query(1000 + n, kind=m.TIMELINE, cpr=p)
        # a client that reads its answers: at most 20 in flight
        a.wait(lambda: sum(1 for k, x, _ in a.frames[-40:]
                           if k == FRAME_RESULT and x.request_id == 1000 + n),
               20, "the last answer")
    for _ in range(200):
        n += 1
        a.query(1000 + n)
        a.pump(0)
    t.join()
    want = set(range(1001, 1001 + n))
    a.wait(lambda: len({x.request_id for k, x, _ in a.frames
                        if k == FRAME_RESULT} & want) == n, 60,
           f"{n} answers")
    a.quiet(1)
    res = [x for k, x, _ in a.frames if k == FRAME_RESULT
           and x.request_id > 1000]
    ids = [x.request_id for x in res]
    assert len(ids) == len(set(ids)) == n, (len(ids), len(set(ids)), n)
    codes = [x.code for x in res]
    assert OK in codes and E_DENIED in codes, set(codes)
    first_denied = codes.index(E_DENIED)
    assert all(c == E_DENIED for c in codes[first_denied:]), \
        "an answer after the first refusal was not a refusal"


def test_q_desk_alert_in_flight_when_membership_ends(make_hub, clients):
    from hubtest import event
    hub = hub53(make_hub)
    hub.send(event("youth-a", "", "desk_membership", desk="duty-desk",
                   caseworker="cw-bob", **{"from": "2026-10-01",
                                           "to": "2026-11-02"}))
    p, q = adults(6727, 2)
    hub.send(ev_dropout(p, "2026-10-26"))      # no contact: the desk's
    hub.wait_applied()
    b = clients(hub, "cw-bob", window=1)
    assert b.welcome().open_alerts == 1
    [x] = b.wait_alerts(1)
    assert x.recipient == "duty-desk"
    hub.advance("2026-11-03T08:00:00")
    assert not b.ask(1).alerts
    # no ack: it is no longer his to acknowledge
    hub.assign(q, "cw-bob")
    hub.send(ev_dropout(q, "2026-10-27"))
    got = b.wait_alerts(2, timeout=10)
    assert got[1].cpr == q and got[1].recipient == "cw-bob", got[1]


def test_q_hello_client_is_not_checked(make_hub, clients):
    from test_53_delivery import FRAME_WELCOME
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6728)
    # Hello{client (field 2? see proto), window}: raw bytes, not UTF-8
    m = a.m
    field = m.Hello.DESCRIPTOR.fields_by_name["client"].number
    win = m.Hello.DESCRIPTOR.fields_by_name["window"].number
    for i, junk in enumerate([b"\xff\xfe", b"a\x00b", b"x" * 60000]):
        body = bytes([(field << 3) | 2]) + _varint(len(junk)) + junk + \
            bytes([win << 3, 5])
        a.raw(bytes([1, FRAME_WELCOME - 3]) + body)
        w = a.welcome()
        assert (w.code, w.open_alerts) == (OK, 1), (junk[:4], w)


def _field(msg_cls, name, value):
    n = msg_cls.DESCRIPTOR.fields_by_name[name].number
    if isinstance(value, int):
        return _varint(n << 3) + _varint(value)
    return _varint((n << 3) | 2) + _varint(len(value)) + value


def test_q_strings_that_are_not_utf8(make_hub, clients):
    from test_57_deliver2 import FRAME_ACTION
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6729)
    m = a.m
    Q = m.Query
    # OPEN_ALERTS ignores cpr, whatever it holds
    a.raw(bytes([1, 7]) + _field(Q, "request_id", 11) +
          _field(Q, "kind", m.OPEN_ALERTS) + _field(Q, "cpr", b"\xff\xfe"))
    r = a.result(11)[0]
    assert (r.code, len(r.alerts)) == (OK, 1), r
    # TIMELINE: a cpr that is not text is no CPR number
    a.raw(bytes([1, 7]) + _field(Q, "request_id", 12) +
          _field(Q, "kind", m.TIMELINE) +
          _field(Q, "cpr", p[:5].encode() + b"\xff" + p[6:].encode()))
    r = a.result(12)[0]
    assert (r.code, r.reason) == (E_MALFORMED, "cpr is not a CPR number "
                                  "(DDMMYY-SSSS, DDMMYY SSSS or "
                                  "DDMMYYSSSS)"), r
    A = m.Action
    a.raw(bytes([1, FRAME_ACTION]) + _field(A, "request_id", 13) +
          _field(A, "alert_id", aid) + _field(A, "kind", 1) +
          _field(A, "how", b"ph\xffone"))
    r = a.result(13)[0]
    assert (r.code, r.reason) == (E_MALFORMED, "how is not valid UTF-8"), r
    a.raw(bytes([1, FRAME_ACTION]) + _field(A, "request_id", 14) +
          _field(A, "alert_id", aid) + _field(A, "kind", 1) +
          _field(A, "how", b"phone") + _field(A, "note", b"\xc3"))
    r = a.result(14)[0]
    assert (r.code, r.reason) == (E_MALFORMED, "note is not valid UTF-8"), r
    a.raw(bytes([1, FRAME_ACTION]) + _field(A, "request_id", 15) +
          _field(A, "alert_id", aid) + _field(A, "kind", 1) +
          _field(A, "how", b"phone") + _field(A, "date", b"2026-11-0\xff"))
    r = a.result(15)[0]
    assert (r.code, r.reason) == (E_MALFORMED, "date must be the day it "
                                  "was done, YYYY-MM-DD"), r
    K = m.AlertAck
    a.raw(bytes([1, 5]) + _field(K, "alert_id", aid) +
          _field(K, "note", b"seen \xff"))
    r = a.ask(16, alert_id=aid)
    assert (r.code, len(r.alerts)) == (OK, 0), r
    assert not [x for k, x, _ in a.frames if k == FRAME_RESULT
                and x.request_id == 0], a.frames


def test_q_inbox_how_that_shows_nothing_is_a_usage_error(make_hub, clients):
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 6730)
    for how in ["\u200b", "\ufeff", "\u3000", "\u0085", "\u2028", "\u2060",
                "\u00a0\u200d", "\x01", "\u205f", "\u1680"]:
        rc, out, err = run_inbox(hub, "cw-anna", "--contact", aid.hex(),
                                 "--how", how)
        assert (rc, out, err) == (2, "", "inbox: --contact needs --how: how "
                                  "(phone, meeting, home visit, letter, "
                                  "...)\n"), (hex(ord(how[0])), rc, err)


def test_q_inbox_list_of_an_alert_without_due_or_person(make_hub):
    from hubtest import ops_alert_hub
    hub = ops_alert_hub(make_hub)
    rc, out, err = run_inbox(hub, "ops-olga", "--list")
    [line, count] = out.splitlines()
    assert rc == 0 and count == "1 open alerts", (rc, out, err)
    assert line[:8] == "HIGH    " and line[26:] == (
        "  2026-01-05  due -           ops-olga     -  Operations: agency "
        "school-a is silent"), line
    rc, out, err = run_inbox(hub, "ops-olga", "--list", "--json")
    o = json.loads(out)
    assert (o["cpr"], o["due"], o["evidence"], o["priority"]) == \
        ("", "", [], "HIGH"), o


def test_q_only_queries_count_against_the_query_allowance(make_hub,
                                                          clients):
    hub = hub53(make_hub, settings={"query_rate": "1", "query_burst": "3"})
    p, a, aid = anna_with_one_dropout(hub, clients, 6731)   # 1 used
    time.sleep(1.2)
    for i in range(60):
        a.ack(b"\x00" * 9)
        a.raw(bytes([1, 7, 0xff]))          # a Query that does not decode
        a.hello(window=1)
        action(a, 100 + i, aid, how=" ") if i < 3 else None
    a.quiet(0.5)
    for i in range(3):
        r = a.ask(10 + i)
        assert (r.code, len(r.alerts)) == (OK, 1), (i, r)
    r = a.ask(20)
    assert (r.code, r.reason) == (E_UNAVAILABLE, TOO_MANY), r


def test_q_health_alert_in_a_timeline_by_the_consent_on_the_day(make_hub,
                                                                clients):
    from hubtest import ev_referral
    hub = hub53(make_hub)
    [p] = adults(6732, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_referral(p, "2026-10-30", consent={"given": True,
                                                   "expires": "2026-11-04"}))
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    m = pb()
    tl = a.ask(1, kind=m.TIMELINE, cpr=p).timeline
    assert [(e.rule, e.open) for e in tl if e.is_alert] == \
        [("addiction", True)], tl
    assert not [e for e in tl if not e.is_alert and
                e.type == m.ADDICTION_REFERRAL]
    b = clients(hub, "desk-dora", hello=False)
    b.connected()
    assert b.ask(2, kind=m.TIMELINE, cpr=p).code == E_DENIED
    # The last day is a Danish day (RULES.md §4): in winter time it ends
    # at 23:00 UTC, and the timeline stops showing the alert then.
    hub.advance("2026-11-04T22:59:59")
    tl = a.ask(3, kind=m.TIMELINE, cpr=p).timeline
    assert [e.rule for e in tl if e.is_alert] == ["addiction"], tl
    hub.advance("2026-11-04T23:00:00")
    tl = a.ask(4, kind=m.TIMELINE, cpr=p).timeline
    assert not [e for e in tl if e.is_alert], tl
    [w] = a.ask(5).alerts
    assert (w.rule, w.cpr) == ("withdrawn", ""), w


def test_q_inbox_man_page_exit_status_says_what_help_says():
    """inbox(1)'s EXIT STATUS is written beside --help's: each case the
    help gives for 0 and 2 is in the page too."""
    import hubtest
    man = (hubtest.ROOT / "deploy" / "man" / "inbox.1").read_text()
    said = " ".join(man.split(".SH EXIT STATUS")[1].replace("\\-", "-")
                    .split())
    for words in ("live, also ended by Ctrl-C or SIGTERM, after its count "
                  "line", "--how missing or white space alone"):
        assert words in said, words


def test_q_action_on_a_withdrawn_alert(make_hub, clients):
    """PROTOCOL.md §4 Action: `alert_id` is an alert's, open or closed
    (acknowledged or withdrawn): what was done about the person is
    recorded all the same."""
    from hubtest import CprGen, ev_readiness, rules_hub
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    p = CprGen(6733).born("2011-03-04")
    hub.assign(p, "cw-anna")
    orig = ev_readiness(p, "2026-09-04", 9)
    hub.send(orig)
    hub.wait_applied()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    [al] = a.ask(1).alerts
    assert al.rule == "readiness", al
    corr = ev_readiness(p, "2026-09-04", 9, ready=True)
    corr.supersedes = orig.event_id
    hub.send(corr)
    hub.wait_applied()
    assert [x.rule for x in a.ask(2).alerts] == ["withdrawn"]
    r = action(a, 3, al.alert_id, how="phone")
    assert r.code == OK, r
    tl = a.ask(4, kind=pb().TIMELINE, cpr=p).timeline
    assert "contact made by cw-anna: phone" in [e.summary for e in tl], tl


def test_q_timeline_of_exactly_400_and_one_more(make_hub, clients):
    from test_53_delivery import cw_annas_adult_of_400_entries
    hub, p = cw_annas_adult_of_400_entries(make_hub, 6734, "q400")
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    T = pb().TIMELINE
    r = a.ask(1, kind=T, cpr=p, limit=400)
    assert (len(r.timeline), r.truncated) == (400, False), \
        (len(r.timeline), r.truncated)
    r = a.ask(2, kind=T, cpr=p, limit=401)
    assert (len(r.timeline), r.truncated) == (400, False)
    r = a.ask(3, kind=T, cpr=p)
    assert (len(r.timeline), r.truncated) == (200, True)
    r = a.ask(4, kind=T, cpr=p, offset=200)
    assert (len(r.timeline), r.truncated) == (200, False)
    hub.send(ev_dropout(p, "2026-10-26"))
    hub.wait_applied()
    r = a.ask(5, kind=T, cpr=p, limit=400)
    assert (len(r.timeline), r.truncated) == (400, True)
    r = a.ask(6, kind=T, cpr=p, limit=400, offset=400)
    assert (len(r.timeline), r.truncated) == (2, False)   # event + alert


def _all_pages(client, cpr, limit, rid=100):
    """The whole timeline by pages of `limit`, as a vendor would read it:
    offset increased by the entries received until truncated is false."""
    T = pb().TIMELINE
    pages, offset = [], 0
    while True:
        r = client.ask(rid, kind=T, cpr=cpr, limit=limit, offset=offset)
        rid += 1
        assert r.code == OK, r
        pages.append((list(r.timeline), r.truncated))
        offset += len(r.timeline)
        if not r.truncated:
            return pages
        assert r.timeline, "a page with truncated true holds no entry"


def test_q_timeline_spread_in_the_log_and_dated_out_of_order(make_hub,
                                                            clients):
    """§4 TIMELINE for a person whose events lie far apart in the log (other
    persons' events between them, in three buckets of 4,096 sequences of
    the person index) and were stored out of date order: the timeline is
    in date order (events before alerts on a day, then by id), paging by
    any `limit` gives each entry once, `truncated` on every page but the
    last, and a correction marks the event it names only when stored
    after it."""
    from hubtest import envelope
    from test_53_delivery import CLOCK, send_batch
    hub = hub53(make_hub)
    [p] = adults(6735, 1)
    others = adults(6736, 40)
    hub.assign(p, "cw-anna")
    dates = ["2026-10-30", "2026-09-11", "2026-10-02", "2026-09-11",
             "2026-10-30", "2026-08-28", "2026-10-02", "2026-09-18",
             "2026-10-30"]
    # An event naming one stored only after it (the last of p's, sent
    # later): it marks nothing.
    early = envelope("school-a", p, salt="spread-early",
                     period_start="2026-08-24", period_end="2026-08-28",
                     absent=0, expected=32)
    mine, seqs = [], []
    for chunk in range(3):
        envs = [envelope("school-a", p, salt=f"spread-{chunk}-{i}",
                         period_start="2026-08-24", period_end=d, absent=0,
                         expected=30, school=f"p{chunk}{i}")
                for i, d in enumerate(dates[3 * chunk:3 * chunk + 3])]
        mine += envs
        if chunk == 2:
            early.supersedes = envs[-1].event_id
            hub.send(early)
        seqs += send_batch(hub, envs + [
            envelope("school-a", others[i % 40], salt=f"filler-{chunk}-{i}",
                     absent=0, expected=30, period_start="2026-09-07",
                     period_end="2026-09-11")
            for i in range(4200 if chunk < 2 else 10)], "school-a")[:3]
    assert len({q // 4096 for q in seqs}) == 3, seqs
    # A correction of the first event, stored last: that one is marked.
    fix = envelope("school-a", p, salt="spread-fix", period_start="2026-08-24",
                   period_end="2026-10-30", absent=0, expected=31)
    fix.supersedes = mine[0].event_id
    hub.send(fix)
    # A dropout on the hub's day raises an alert that day: the event
    # comes before the alert.
    hub.send(ev_dropout(p, CLOCK[:10]))
    hub.wait_applied(60)
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    whole = _all_pages(a, p, 400)
    assert len(whole) == 1
    entries = whole[0][0]
    events = [e for e in entries if not e.is_alert]
    alerts = [e for e in entries if e.is_alert]
    assert len(events) == len(mine) + 4 and len(alerts) == 1, entries
    assert {e.event_id for e in events} >= {e.event_id for e in mine}
    assert alerts[0].date == CLOCK[:10] and alerts[0].open
    # "The other kind's fields are empty (0, false)."
    assert all((e.alert_id, e.rule, e.open) == (b"", "", False)
               for e in events), events
    assert [(e.type, e.agency, e.event_id, e.superseded) for e in alerts] \
        == [(0, "", b"", False)], alerts

    def key(e):
        return (e.date, e.is_alert, e.alert_id if e.is_alert else e.event_id)
    assert [key(e) for e in entries] == sorted(key(e) for e in entries), \
        [(e.date, e.summary) for e in entries]
    assert [e.is_alert for e in entries[-2:]] == [False, True]
    assert entries[-2].date == entries[-1].date
    marked = [e.event_id for e in events if e.superseded]
    assert marked == [mine[0].event_id], marked
    for limit in (1, 3, 4, 11):
        pages = _all_pages(a, p, limit, rid=1000 * limit)
        flat = [key(e) for page, _ in pages for e in page]
        assert flat == [key(e) for e in entries], limit
        assert [t for _, t in pages] == [True] * (len(pages) - 1) + [False]


def test_q_timeline_with_a_record_that_does_not_open_is_unavailable(
        make_hub, clients):
    """§4 Limits: "a timeline the hub cannot read its store for (a read
    that fails ...) is answered E_UNAVAILABLE 'the hub cannot read its
    store right now; retry later', never with part of it as OK, and is
    not audited". One of the person's three events has a byte of its log
    record flipped (OPERATIONS.md, "Records that do not open"): the
    timeline is not answered as if the other two were all there is."""
    from hubtest import envelope
    from test_53_delivery import send_batch
    from hubtest import wait_for
    from test_60_store_at_rest import damage_log_record
    hub = hub53(make_hub)
    [p, other] = adults(6737, 2)
    hub.assign(p, "cw-anna")
    hub.assign(other, "cw-anna")
    seqs = send_batch(hub, [envelope(
        "school-a", p, salt=f"unopened-{i}", period_start="2026-09-07",
        period_end="2026-09-11", absent=0, expected=30) for i in range(3)],
        "school-a")
    hub.wait_applied()
    damage_log_record(hub, seqs[1])
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    T = pb().TIMELINE
    r = a.ask(1, kind=T, cpr=p)
    assert (r.code, r.reason, len(r.timeline)) == (
        E_UNAVAILABLE, "the hub cannot read its store right now; "
        "retry later", 0), r
    # Another person's timeline is read as before.
    r = a.ask(2, kind=T, cpr=other)
    assert r.code == OK and len(r.timeline) == 1, r

    def timelines():
        return [r for r in (json.loads(line) for line in hub.hubctl(
            "audit", "show", "--json").stdout.splitlines()
            if line.startswith("{")) if r["action"] == "timeline"]
    wait_for(lambda: timelines(), 10, "the timeline shown is audited")
    assert [r["result"] for r in timelines()] == ["ok"], timelines()


def test_q_desk_access_check_that_cannot_read_the_store_is_unavailable(
        make_hub, clients):
    """§4 Limits: "a timeline the hub cannot read its store for ... is
    answered E_UNAVAILABLE 'the hub cannot read its store right now;
    retry later'". The duty desk may see an unassigned person known by
    an event a timeline shows; when that event's log record does not
    open, the hub cannot tell whether the desk may, and must say so
    rather than answer that the person is not the desk's."""
    from hubtest import wait_for
    from test_60_store_at_rest import damage_log_record
    hub = hub53(make_hub)
    [p] = adults(6790, 1)
    # Known to the hub only by an assignment that has ended: no contact
    # person today, so the desk's (test_q_desk_view_vs_contact).
    hub.assign(p, "cw-bob", start="2026-01-01", end="2026-10-01")
    seq = hub.wait_applied()["last_seq"]
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    T = pb().TIMELINE
    r = d.ask(1, kind=T, cpr=p)
    assert r.code == OK and len(r.timeline) == 1, r
    damage_log_record(hub, seq)
    d = clients(hub, "desk-dora", hello=False)
    d.connected()
    r = d.ask(2, kind=T, cpr=p)
    assert (r.code, r.reason, len(r.timeline)) == (
        E_UNAVAILABLE, "the hub cannot read its store right now; "
        "retry later", 0), r
    hub.wait_log(r"STORE-SEAL")
    assert "timeline refused to desk-dora" not in hub.current_log()

    def timelines():
        return [r["result"] for r in (json.loads(line) for line in
                hub.hubctl("audit", "show", "--json").stdout.splitlines()
                if line.startswith("{")) if r["action"] == "timeline"]
    wait_for(lambda: timelines(), 10, "the timeline shown is audited")
    assert timelines() == ["ok"], timelines()


def test_q_timeline_with_a_forged_alert_shows_the_rest(make_hub, clients):
    """OPERATIONS.md, "Records that do not open": a forged alert is
    "refused as if absent" — unlike an event's log record that does not
    open (above), it does not make the timeline unavailable: the
    person's timeline is answered OK without it."""
    from test_60_store_at_rest import damage_alert, populated
    hub, [_, _, cpr], _, b = populated(make_hub)
    damage_alert(hub, b["alert_id"])
    c = clients(hub, "cw-bob", hello=False)
    c.connected()
    r = c.ask(1, kind=pb().TIMELINE, cpr=cpr)
    assert r.code == OK, r
    assert [e.type for e in r.timeline if not e.is_alert] == [
        pb().CONTACT_ASSIGNMENT, pb().DROPOUT], r
    assert not [e for e in r.timeline if e.is_alert], r


def test_q_timeline_past_an_index_entry_whose_record_is_gone(make_hub,
                                                             clients):
    """A person-index entry naming a log record that is no longer there
    (the purge commits the log first and derived/ after it, so a crash
    between the two leaves one until the next purge): the record is gone,
    so it is not shown, and every event stored after it still is — the
    timeline is neither cut at it nor refused."""
    import subprocess
    from hubtest import envelope
    from test_53_delivery import send_batch
    from test_60_store_at_rest import databases
    hub = hub53(make_hub)
    [p] = adults(6738, 1)
    hub.assign(p, "cw-anna")
    envs = [envelope("school-a", p, salt=f"gone-{i}",
                     period_start="2026-09-07", period_end="2026-09-11",
                     absent=0, expected=30 + i) for i in range(3)]
    seqs = send_batch(hub, envs, "school-a")
    hub.wait_applied()
    hub.stop()
    # The log environment rebuilt without the middle record, as the
    # purge's own commit would leave it.
    log = hub.data_dir / "log"
    gone = f" {seqs[1].to_bytes(8, 'big').hex()}\n"
    dumps = {}
    for db in databases(log):
        text = subprocess.run(["mdb_dump", "-s", db, str(log)],
                              capture_output=True, text=True,
                              check=True).stdout
        if db == "log":
            head, body = text.split("HEADER=END\n", 1)
            lines = body.splitlines(keepends=True)
            i = lines.index(gone)
            text = head + "HEADER=END\n" + "".join(lines[:i] + lines[i + 2:])
        dumps[db] = text
    for f in log.iterdir():
        if f.name.endswith(".mdb"):
            f.unlink()
    for db, text in dumps.items():
        subprocess.run(["mdb_load", "-s", db, str(log)], input=text,
                       text=True, check=True)
    hub.start()
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    r = a.ask(1, kind=pb().TIMELINE, cpr=p)
    assert r.code == OK, r
    shown = {e.event_id for e in r.timeline}
    assert envs[1].event_id not in shown
    assert {envs[0].event_id, envs[2].event_id} <= shown, r


def test_q_timeline_past_the_5000_marks_what_a_left_out_event_corrects(
        make_hub, clients):
    """§4 TIMELINE: past 5,000 entries the events stored last are left
    out, but an event a correction replaced is still marked superseded
    when that correction is among those left out: the mark depends on
    the correction being stored, not on its being shown. The page that
    reaches the 5,000th says truncated, the next is empty and does not."""
    from hubtest import envelope
    from test_53_delivery import send_batch
    hub = hub53(make_hub)
    [p] = adults(6739, 1)
    hub.assign(p, "cw-anna")                       # entry 1 of 5,000
    envs = [envelope("school-a", p, salt=f"cap-{i}",
                     period_start="2026-09-07", period_end="2026-09-11",
                     absent=0, expected=30, school=f"s{i}")
            for i in range(4999)]
    send_batch(hub, envs, "school-a")
    fix = envelope("school-a", p, salt="cap-fix", period_start="2026-09-07",
                   period_end="2026-09-11", absent=1, expected=30)
    fix.supersedes = envs[0].event_id
    hub.send(fix)
    hub.wait_applied(60)
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    pages = _all_pages(a, p, 400)
    entries = [e for page, _ in pages for e in page]
    assert len(entries) == 5000
    assert pages[-1] == ([], False) and pages[-2][1], \
        [(len(x), t) for x, t in pages]
    assert fix.event_id not in {e.event_id for e in entries}
    assert [e.event_id for e in entries if e.superseded] == \
        [envs[0].event_id]


STORE_UNREADABLE = "the hub cannot read its store right now; retry later"


def desk_notice_of_an_escalated_dropout(make_hub, clients, seed):
    """RULES.md §8: cw-anna's adult drops out and nobody acknowledges, so
    the desk gets a notice naming the person; desk-dora (on the desk by
    hubctl --desk) and cw-bob (by a DeskMembership event) connected.
    Returns (hub, cpr, the notice's id, dora, bob)."""
    from hubtest import CprGen, escalated_dropout, ev_desk, rules_hub
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    hub.send(ev_desk("cw-bob", "2026-09-01"))
    adult = CprGen(seed).born("2001-02-03")
    escalated_dropout(hub, adult)
    hub.wait_applied()
    dora, bob = (clients(hub, cw, hello=False) for cw in ("desk-dora",
                                                           "cw-bob"))
    dora.connected()
    bob.connected()
    [notice] = [i for i in open_ids(dora) if i[-1] == 0x44]
    return hub, adult, notice, dora, bob


def test_q_access_check_that_cannot_read_an_alert_is_unavailable(
        make_hub, clients):
    """§4 Limits and Action: a store that cannot be read is
    E_UNAVAILABLE "the hub cannot read its store right now; retry later",
    the access check included. The desk may see the person and record
    what was done by the desk's open notice alone (the person is
    cw-anna's): when the hub cannot read that alert's state (here: no
    reader slot left in log/), it cannot tell, and must say so rather
    than answer that the person or the alert is not the desk's."""
    from test_60_store_at_rest import readers_taken
    hub, adult, notice, dora, _ = desk_notice_of_an_escalated_dropout(
        make_hub, clients, 6791)
    T = pb().TIMELINE
    assert dora.ask(1, kind=T, cpr=adult).code == OK
    with readers_taken(hub.data_dir / "log"):
        r = dora.ask(2, kind=T, cpr=adult)
        assert (r.code, r.reason) == (E_UNAVAILABLE, STORE_UNREADABLE), r
        r = action(dora, 3, notice)
        assert (r.code, r.reason) == (E_UNAVAILABLE, STORE_UNREADABLE), r
    assert dora.ask(4, kind=T, cpr=adult).code == OK
    assert action(dora, 5, notice).code == OK


def test_q_access_check_that_cannot_read_the_desk_is_unavailable(
        make_hub, clients):
    """As above, for the desk's membership: cw-bob is on the desk by the
    youth unit's DeskMembership event, kept in derived/; when the hub
    cannot read it (no reader slot left there), an action on the desk's
    notice is E_UNAVAILABLE, not "this alert is not addressed to you or
    your desk", his list of open alerts is E_UNAVAILABLE too, not his
    own alerts alone, and his acknowledgement of it is not dropped as one of
    an alert not open to him: like any the store cannot take now it is
    kept and stored once it can (§4a), and the notice closes."""
    from hubtest import wait_for
    from test_60_store_at_rest import readers_taken
    hub, adult, notice, dora, bob = desk_notice_of_an_escalated_dropout(
        make_hub, clients, 6792)
    with readers_taken(hub.data_dir / "derived"):
        r = action(bob, 1, notice)
        assert (r.code, r.reason) == (E_UNAVAILABLE, STORE_UNREADABLE), r
        r = bob.ask(2, kind=pb().TIMELINE, cpr=adult)
        assert (r.code, r.reason) == (E_UNAVAILABLE, STORE_UNREADABLE), r
        # His list without the desk's alerts would pass for the whole.
        r = bob.ask(4)
        assert (r.code, r.reason) == (E_UNAVAILABLE, STORE_UNREADABLE), r
        bob.ack(notice)
        hub.wait_log(r"ack of alert %s by cw-bob not stored yet"
                     % notice.hex())
    assert action(bob, 3, notice).code == OK
    asked = iter(range(1000, 2000))
    wait_for(lambda: notice not in open_ids(dora, next(asked)), 10,
             "the kept acknowledgement stored", interval=0.3)


def owner_on_the_desk(make_hub, clients, seed):
    """desk-dora (on the desk by hubctl --desk) is the contact person of
    an adult whose dropout alert is overdue: the desk has its notice
    (RULES.md §8; cw-lead the team lead, cw-bob on the desk by a
    DeskMembership). Returns (hub, dora, bob, alert id, notice id), dora
    and bob connected."""
    from hubtest import CprGen, ev_desk, rules_hub
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"routing.team_lead": "cw-lead"})
    hub.send(ev_desk("cw-bob", "2026-09-01"))
    adult = CprGen(seed).born("2001-02-03")
    hub.assign(adult, "desk-dora")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T08:00:00")    # the desk's notice
    dora, bob = (clients(hub, cw, hello=False) for cw in ("desk-dora",
                                                           "cw-bob"))
    dora.connected()
    bob.connected()
    [original] = [i for i in open_ids(dora) if i[-1] & 0xC0 == 0]
    notice = original[:-1] + bytes([original[-1] | 0x40])
    return hub, dora, bob, original, notice


def both_acknowledged(client, original, notice):
    from hubtest import wait_for
    asked = iter(range(1000, 2000))
    wait_for(lambda: not set(open_ids(client, next(asked))) &
             {original, notice}, 10,
             "the alert and its notice acknowledged", interval=0.3)


def test_q_the_owners_kept_acknowledgement_of_the_notice_is_the_alerts(
        make_hub, clients):
    """As below, for an acknowledgement the hub keeps because it cannot
    read its store when it arrives (here: no reader slot left in log/;
    PROTOCOL.md §4, AlertAck): written later, it is still the owner's of
    the alert, not the desk's of the notice."""
    from test_60_store_at_rest import readers_taken
    hub, dora, _, original, notice = owner_on_the_desk(make_hub, clients,
                                                       6794)
    with readers_taken(hub.data_dir / "log"):
        dora.ack(notice)
        hub.wait_log(r"ack of alert %s by desk-dora not stored yet"
                     % notice.hex())
    both_acknowledged(dora, original, notice)


def test_q_the_owner_on_the_desk_cannot_end_their_own_escalation(
        make_hub, clients):
    """RULES.md §8: the desk's notice asks the desk to see an overdue
    alert handled, and the desk's acknowledgement of it stops the team
    lead's notice. desk-dora, on the desk, is also the contact person
    whose dropout alert is overdue: her acknowledgement of the desk's
    notice of it is her acknowledgement of the alert itself (the
    owner's, which closes its notices), not the desk taking it on that
    would leave her alert open and no one above told."""
    hub, dora, bob, original, notice = owner_on_the_desk(make_hub,
                                                          clients, 6793)
    assert notice in open_ids(bob, 910)
    dora.ack(notice)
    both_acknowledged(dora, original, notice)
    assert notice not in open_ids(bob, 920)
    hub.wait_log(r"desk-dora acknowledged the desk's notice of their own "
                 r"alert %s" % original.hex())
    # SECURITY.md, the audit trail: the `ack` of her alert.
    acks = [(r["actor"], r["result"], r["detail"]) for r in
            (json.loads(line) for line in
             hub.hubctl("audit", "show", "--json").stdout.splitlines()
             if line.startswith("{")) if r["action"] == "ack"]
    assert acks == [("desk-dora", "ok", original.hex())], acks
    hub.advance("2026-09-16T08:00:00")    # the team lead's step
    lead = clients(hub, "cw-lead", hello=False)
    lead.connected()
    assert open_ids(lead) == []
