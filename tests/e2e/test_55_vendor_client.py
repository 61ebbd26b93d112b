"""55 vendor client: an agency's adapter and a caseworker client written
from docs/PROTOCOL.md and proto/ungebro.proto alone, with python3-zmq and
the protobuf classes protoc makes of the .proto; none of the harness's
clients. The hub and its registrations are the operator's (hubtest).

The walk a vendor makes: key files as §3 "Key files" describes them, a
socket monitor for the handshake (§1), events with the recommended ids
(§3 step 1) acked by event_id, the same frames resent on a new connection
acked DUPLICATE with the stored sequence (§3 steps 3-4), a Hello after
the handshake, Welcome, the Alert and its id (§4), the documented way to
learn that an AlertAck was stored (step 4), an Action and the timeline
that lists it, and a reconnect that is sent nothing acknowledged; then
two connections of one caseworker at once, the window, the delivery
count and what a restart sends again."""

import hashlib
import json
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

from hubtest import CprGen, SLOW, day_ms, ops_alert_hub, pb, rules_hub, \
    wait_for

VERSION = 1
EVENT, ACK, HELLO, ALERT, ALERT_ACK, WELCOME, QUERY, RESULT, ACTION = \
    1, 2, 3, 4, 5, 6, 7, 8, 9
VENDOR_SECRET = b"the vendor's own secret for ids"


def key_file(path):
    """`name = value` lines; blank lines and # comments skipped."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, value = line.split("=", 1)
            out[name.strip()] = value.strip()
    return out


class Vendor:
    """One DEALER with CURVE and a handshake monitor."""

    def __init__(self, hub, key_id, endpoint):
        own = key_file(hub.keys_dir / f"{key_id}.key_secret")
        self.ctx = zmq.Context()
        s = self.ctx.socket(zmq.DEALER)
        s.linger = 0
        s.immediate = 1
        s.curve_serverkey = key_file(hub.keys_dir / "hub.key")[
            "public"].encode()
        s.curve_publickey = own["public"].encode()
        s.curve_secretkey = own["secret"].encode()
        mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED |
                                   zmq.EVENT_HANDSHAKE_FAILED_AUTH)
        s.connect(endpoint)
        assert mon.poll(10000 * SLOW), "no handshake"
        assert recv_monitor_message(mon)["event"] == \
            zmq.EVENT_HANDSHAKE_SUCCEEDED
        s.disable_monitor()
        mon.close(0)
        self.sock = s

    def send(self, kind, msg):
        self.sock.send(bytes([VERSION, kind]) + msg.SerializeToString(),
                       zmq.DONTWAIT)

    def recv(self, timeout=10):
        """The next frame as (kind, message), or None."""
        if not self.sock.poll(int(timeout * 1000 * SLOW)):
            return None
        data = self.sock.recv()
        assert data[0] == VERSION, data[:2]
        cls = {ACK: "Ack", ALERT: "Alert", WELCOME: "Welcome",
               RESULT: "Result"}[data[1]]
        return data[1], getattr(pb(), cls).FromString(data[2:])

    def ask(self, query):
        self.send(QUERY, query)
        kind, r = self.recv()
        assert (kind, r.request_id) == (RESULT, query.request_id), r
        return r

    def close(self):
        self.sock.close(0)
        self.ctx.destroy(linger=0)


def envelope(agency, etype, cpr, occurred, natural_key, payload, **fields):
    m = pb()
    ms = day_ms(occurred)
    env = m.Envelope(
        event_id=ms.to_bytes(8, "big") + hashlib.blake2b(
            natural_key.encode(), key=VENDOR_SECRET, digest_size=8).digest(),
        agency=agency, schema_version=1, type=etype,
        sensitivity=m.PERSONAL, occurred_at=ms,
        sent_at=int(time.time() * 1000), cpr=cpr)
    for name, value in fields.items():
        setattr(getattr(env, payload), name, value)
    return env


def send_all(hub, agency, envs):
    """Send every envelope in flight at once; the acks by event_id."""
    c = Vendor(hub, agency, hub.ingest)
    try:
        for env in envs:
            c.send(EVENT, env)
        acks = {}
        while len(acks) < len(envs):
            got = c.recv()
            assert got and got[0] == ACK, f"acks so far: {acks}"
            acks[got[1].event_id] = got[1]
        return [acks[e.event_id] for e in envs]
    finally:
        c.close()


def test_vendor_client_from_the_protocol_page(make_hub):
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = pb()
    cpr = CprGen(5501).born("2009-03-14")
    hub.cprs.add(cpr)
    assign = envelope("youth-a", m.CONTACT_ASSIGNMENT, cpr, "2026-09-01",
                      "assign-1", "contact_assignment", caseworker="cw-anna",
                      role_kind=m.CONTACT_ROLE_CONTACT, **{"from":
                                                           "2026-09-01"})
    drop = envelope("college-a", m.DROPOUT, cpr, "2026-10-30", "drop-1",
                    "dropout", institution="eud-vest", date="2026-10-30")
    [a1] = send_all(hub, "youth-a", [assign])
    [d1] = send_all(hub, "college-a", [drop])
    assert (a1.status, d1.status) == (m.ACCEPTED, m.ACCEPTED), (a1, d1)
    assert 0 < a1.sequence < d1.sequence
    # A resend on a new connection: DUPLICATE with the stored sequence.
    [d2] = send_all(hub, "college-a", [drop])
    assert (d2.status, d2.code, d2.sequence) == \
        (m.DUPLICATE, m.OK, d1.sequence), d2

    cw = Vendor(hub, "cw-anna", hub.delivery)
    try:
        cw.send(HELLO, m.Hello(client="vendor/1", window=4))
        kind, welcome = cw.recv()
        assert kind == WELCOME, welcome
        assert (welcome.caseworker, welcome.open_alerts, welcome.code) == \
            ("cw-anna", 1, m.OK), welcome
        kind, alert = cw.recv()
        assert kind == ALERT, alert
        # 9 bytes: the raising event's sequence, then the rule's number.
        assert alert.alert_id == d1.sequence.to_bytes(8, "big") + bytes([4])
        assert (alert.rule, alert.cpr, alert.recipient, alert.delivery) == \
            ("dropout", cpr, "cw-anna", 1), alert
        assert [e.event_id for e in alert.evidence] == [drop.event_id]
        # Acknowledging: the alert is in the open list before the
        # AlertAck, which is not answered, and gone from the one after.
        listed = cw.ask(m.Query(request_id=1, kind=m.OPEN_ALERTS))
        assert [a.alert_id for a in listed.alerts] == [alert.alert_id]
        cw.send(ALERT_ACK, m.AlertAck(alert_id=alert.alert_id, note="seen"))
        after = cw.ask(m.Query(request_id=2, kind=m.OPEN_ALERTS))
        assert (after.code, list(after.alerts), after.truncated) == \
            (m.OK, [], False), after
        cw.send(ACTION, m.Action(request_id=3, alert_id=alert.alert_id,
                                 kind=m.CONTACT_MADE, how="phone"))
        kind, done = cw.recv()
        assert (kind, done.request_id, done.code) == (RESULT, 3, m.OK), done
        tl = cw.ask(m.Query(request_id=4, kind=m.TIMELINE,
                            cpr=cpr[:6] + "-" + cpr[6:]))
        assert tl.code == m.OK, tl
        assert [(e.date, e.is_alert, e.summary) for e in tl.timeline] == [
            ("2026-09-01", False, "contact person: cw-anna (contact)"),
            ("2026-10-30", False, "dropped out of a programme at eud-vest"),
            ("2026-11-02", False, "contact made by cw-anna: phone"),
            ("2026-11-02", True, alert.title)], tl
        # An event's fields, an alert's fields, the other kind's empty;
        # the acknowledged alert stays, no longer open.
        assert [(e.type, e.agency, e.event_id, e.superseded, e.alert_id,
                 e.rule, e.open) for e in tl.timeline] == [
            (m.CONTACT_ASSIGNMENT, "youth-a", assign.event_id, False, b"",
             "", False),
            (m.DROPOUT, "college-a", drop.event_id, False, b"", "", False),
            (m.CASEWORKER_ACTION, "hub", tl.timeline[2].event_id, False,
             b"", "", False),
            (0, "", b"", False, alert.alert_id, "dropout", False)], tl
        assert len(tl.timeline[2].event_id) == 16
    finally:
        cw.close()
    # A new connection's Hello: nothing acknowledged is sent again.
    cw = Vendor(hub, "cw-anna", hub.delivery)
    try:
        cw.send(HELLO, m.Hello(client="vendor/1"))
        kind, welcome = cw.recv()
        assert (kind, welcome.open_alerts) == (WELCOME, 0), welcome
        assert cw.recv(timeout=1) is None
    finally:
        cw.close()


def quiet_frames(c, seconds=0.7):
    """Every frame that comes until none has for `seconds`."""
    out = []
    while (got := c.recv(timeout=seconds)) is not None:
        out.append(got)
    return out


def annas_youths(hub, people):
    """The youth unit makes cw-anna the contact person of each of
    `people` from 2026-09-01."""
    m = pb()
    hub.cprs.update(people)
    send_all(hub, "youth-a", [
        envelope("youth-a", m.CONTACT_ASSIGNMENT, p, "2026-09-01",
                 f"assign-{p}", "contact_assignment", caseworker="cw-anna",
                 role_kind=m.CONTACT_ROLE_CONTACT, **{"from": "2026-09-01"})
        for p in people])


def test_vendor_caseworker_client_two_sessions_and_a_restart(make_hub):
    """The delivery side as a vendor reads §4: two connections of one
    caseworker each get a session and the open alerts, `window` at a
    time; a second Hello widens the window and sends only what was not
    in flight; an AlertAck on one connection frees the other's window;
    `delivery` counts the alert's sends to any session (a connection's
    first sight of an alert can be 2); after a restart a new connection
    is sent what is still open, in queue order, the count going on."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = pb()
    people = [CprGen(5502).born(d) for d in
              ("2009-01-05", "2009-02-06", "2009-03-07")]
    annas_youths(hub, people)

    def dropout(p):
        [ack] = send_all(hub, "college-a", [envelope(
            "college-a", m.DROPOUT, p, "2026-10-30", f"drop-{p}", "dropout",
            institution="eud-vest", date="2026-10-30")])
        assert ack.status == m.ACCEPTED, ack
        return ack.sequence.to_bytes(8, "big") + bytes([4])

    first, second = dropout(people[0]), dropout(people[1])

    def alerts(frames):
        return [(a.alert_id, a.delivery) for k, a in frames if k == ALERT]

    a = Vendor(hub, "cw-anna", hub.delivery)
    b = Vendor(hub, "cw-anna", hub.delivery)
    try:
        a.send(HELLO, m.Hello(window=1))
        got = quiet_frames(a)
        assert got[0][0] == WELCOME and got[0][1].open_alerts == 2, got
        assert alerts(got) == [(first, 1)]
        b.send(HELLO, m.Hello(window=1))
        got = quiet_frames(b)
        assert got[0][0] == WELCOME and alerts(got) == [(first, 2)], got
        # Wider: what was in flight is not sent again, the rest is.
        a.send(HELLO, m.Hello(window=5))
        got = quiet_frames(a)
        assert got[0][0] == WELCOME and alerts(got) == [(second, 1)], got
        # Acknowledged on a, the alert leaves b's window too.
        a.send(ALERT_ACK, m.AlertAck(alert_id=first))
        assert alerts(quiet_frames(b)) == [(second, 2)]
        third = dropout(people[2])
        assert alerts(quiet_frames(a)) == [(third, 1)]
        assert alerts(quiet_frames(b, 0.3)) == []   # its window is full
        listed = a.ask(m.Query(request_id=1, kind=m.OPEN_ALERTS))
        assert {x.alert_id for x in listed.alerts} == {second, third}
    finally:
        a.close()
        b.close()
    hub.stop()
    hub.start()
    c = Vendor(hub, "cw-anna", hub.delivery)
    try:
        c.send(HELLO, m.Hello())
        got = quiet_frames(c)
        assert got[0][0] == WELCOME and got[0][1].open_alerts == 2, got
        assert alerts(got) == [(second, 3), (third, 2)], got
    finally:
        c.close()


def test_vendor_adapter_refusals_reconnect_and_correction(make_hub):
    """The ingest side beyond the happy path, as a vendor reads §3: each
    documented refusal by its code, reason, retryable and event_id (and
    sequence 0); a window of events whose acks were never read, sent
    again on a new connection: DUPLICATE with the stored sequences and
    one alert per event, never a second; a correction of the same
    agency about the same person (`supersedes`), marked in the
    timeline."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = pb()
    gen = CprGen(5503)
    people = [gen.born(d) for d in ("2008-04-01", "2008-05-02",
                                    "2008-06-03")]
    annas_youths(hub, people)

    def drop(p, key, **kw):
        return envelope("college-a", m.DROPOUT, p, "2026-10-30", key,
                        "dropout", institution="eud-vest",
                        date="2026-10-30", **kw)

    bad_cpr = drop(people[0], "bad-cpr")
    bad_cpr.cpr = "3102081234"                  # 31 February
    unknown = drop(people[0], "unknown-type")
    unknown.type = 12
    early = drop(people[0], "early")
    early.occurred_at = 0
    stale = drop(people[0], "stale")
    stale.valid_until = int(time.time() * 1000) - 1000
    negative = drop(people[0], "negative")
    negative.valid_until = -1                   # always passed
    not_ours = envelope("college-a", m.ABSENCE_REPORT, people[0],
                        "2026-10-30", "absence", "absence_report",
                        school="s1", period_start="2026-10-26",
                        period_end="2026-10-30", lessons_absent=1,
                        lessons_expected=10, kind=m.UNLAWFUL)
    other = drop(people[0], "other-agency")
    other.agency = "school-a"
    refusals = [
        (bad_cpr, m.E_MALFORMED, "cpr must be 10 digits with a valid date"),
        (unknown, m.E_MALFORMED, "unknown event type 12"),
        (early, m.E_MALFORMED,
         "occurred_at must be above 0 (ms since the epoch)"),
        (stale, m.E_STALE, "event expired before it reached the hub"),
        (negative, m.E_STALE, "event expired before it reached the hub"),
        (not_ours, m.E_DENIED,
         "agency is not registered for this event type"),
        (other, m.E_DENIED,
         "envelope agency does not match the connection's key"),
    ]
    c = Vendor(hub, "college-a", hub.ingest)
    try:
        for env, code, reason in refusals:
            c.send(EVENT, env)
            kind, ack = c.recv()
            assert kind == ACK, ack
            assert (ack.event_id, ack.status, ack.code, ack.reason,
                    ack.retryable, ack.sequence) == \
                (env.event_id, m.REJECTED, code, reason, False, 0), ack
    finally:
        c.close()

    # A window in flight, its acks never read: the connection closes.
    window = [drop(p, f"drop-{p}") for p in people]
    c = Vendor(hub, "college-a", hub.ingest)
    for env in window:
        c.send(EVENT, env)
    hub.wait_stats("the window stored",
                   lambda s: s["log_events"] == 6 and s["alerts"] == 3)
    c.close()
    acks = send_all(hub, "college-a", window)
    assert [a.status for a in acks] == [m.DUPLICATE] * 3, acks
    seqs = [a.sequence for a in acks]
    assert seqs == sorted(seqs) and seqs[0] > 3, seqs
    st = hub.wait_applied()
    assert (st["log_events"], st["alerts"]) == (6, 3), st

    # The college corrects its dropout of the first person.
    fixed = drop(people[0], "drop-fixed")
    fixed.dropout.date = "2026-10-29"
    fixed.supersedes = window[0].event_id
    [ack] = send_all(hub, "college-a", [fixed])
    assert (ack.status, ack.sequence) == (m.ACCEPTED, 7), ack
    cw = Vendor(hub, "cw-anna", hub.delivery)
    try:
        tl = cw.ask(m.Query(request_id=1, kind=m.TIMELINE, cpr=people[0]))
        marks = {e.event_id: e.superseded for e in tl.timeline
                 if not e.is_alert}
        assert marks[window[0].event_id] is True, tl
        assert marks[fixed.event_id] is False, tl
    finally:
        cw.close()
    assert hub.wait_applied()["alerts"] == 3


def test_occurred_at_is_checked_only_above_0(make_hub):
    """§3 step 1: `occurred_at` must be above 0 and nothing else; the
    hub judges and shows an event by its payload's dates: a dropout sent
    with occurred_at 1 ms, or one in the year 2500, raises its alert and
    is listed on its `date`."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = pb()
    people = [CprGen(5504).born(d) for d in ("2008-07-01", "2008-08-02")]
    annas_youths(hub, people)
    drops = [envelope("college-a", m.DROPOUT, p, "2026-10-30", f"d-{p}",
                      "dropout", institution="eud-vest", date="2026-10-30")
             for p in people]
    drops[0].occurred_at = 1
    drops[1].occurred_at = 16725225600000          # 2500-01-01
    acks = send_all(hub, "college-a", drops)
    assert [a.status for a in acks] == [m.ACCEPTED] * 2, acks
    assert hub.wait_applied()["alerts"] == 2
    cw = Vendor(hub, "cw-anna", hub.delivery)
    try:
        for n, p in enumerate(people):
            tl = cw.ask(m.Query(request_id=n + 1, kind=m.TIMELINE, cpr=p))
            assert [(e.date, e.is_alert) for e in tl.timeline] == [
                ("2026-09-01", False), ("2026-10-30", False),
                ("2026-11-02", True)], tl
    finally:
        cw.close()


def audit_records(hub, actor):
    out = hub.hubctl("audit", "show", "--json", "--actor", actor).stdout
    return [json.loads(line) for line in out.splitlines()]


def test_vendor_asks_for_one_alert_by_id(make_hub):
    """§4 Queries, `OPEN_ALERTS` with `alert_id`: an open alert that
    names no one (an operational alert, empty `cpr`) is returned alone,
    `limit` and `offset` not used, and `names_no_one` says an Action on
    it is refused -- open, as once acknowledged; an id of another length
    is `E_MALFORMED` "alert_id must be 9 bytes". Each is one `list`
    record, its detail the id in hex (the refusal's: the reason), and no
    `listed` for an operational alert (SECURITY.md, "Audit trail")."""
    hub = ops_alert_hub(make_hub)
    m = pb()
    c = Vendor(hub, "ops-olga", hub.delivery)
    try:
        [alert] = c.ask(m.Query(request_id=1, kind=m.OPEN_ALERTS)).alerts
        aid = alert.alert_id
        assert (alert.rule, alert.cpr) == ("ops.adapter_silent", ""), alert
        one = c.ask(m.Query(request_id=2, kind=m.OPEN_ALERTS, alert_id=aid,
                            limit=1, offset=5))
        assert (one.code, [a.alert_id for a in one.alerts], one.truncated,
                one.names_no_one) == (m.OK, [aid], False, True), one
        c.send(ACTION, m.Action(request_id=3, alert_id=aid,
                                kind=m.CONTACT_MADE, how="phone"))
        kind, refused = c.recv()
        assert (kind, refused.request_id, refused.code) == \
            (RESULT, 3, m.E_DENIED), refused
        for rid, bad in ((4, aid[:8]), (5, aid + b"\0")):
            r = c.ask(m.Query(request_id=rid, kind=m.OPEN_ALERTS,
                              alert_id=bad))
            assert (r.code, r.reason, list(r.alerts), r.names_no_one) == \
                (m.E_MALFORMED, "alert_id must be 9 bytes", [], False), r
        c.send(ALERT_ACK, m.AlertAck(alert_id=aid))
        gone = c.ask(m.Query(request_id=6, kind=m.OPEN_ALERTS,
                             alert_id=aid))
        assert (gone.code, list(gone.alerts), gone.names_no_one) == \
            (m.OK, [], True), gone
    finally:
        c.close()
    want = [("list", "ok", ""), ("list", "ok", aid.hex()),
            ("list", "malformed", "alert_id must be 9 bytes"),
            ("list", "malformed", "alert_id must be 9 bytes"),
            ("list", "ok", aid.hex())]

    def lists():
        return [(r["action"], r["result"], r["detail"])
                for r in audit_records(hub, "ops-olga")
                if r["action"] in ("list", "listed")]
    wait_for(lambda: len(lists()) >= len(want), 10, "the queries written",
             interval=0.3)
    assert lists() == want


def annas_dropout(make_hub, seed, born):
    """A hub on 2026-11-02 08:00 where cw-anna is the contact person of a
    youth (a synthetic CPR of `seed`, born `born`) whose college reported
    a dropout on 2026-10-30: (hub, cpr, the dropout alert's id)."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = pb()
    cpr = CprGen(seed).born(born)
    hub.cprs.add(cpr)
    send_all(hub, "youth-a", [envelope(
        "youth-a", m.CONTACT_ASSIGNMENT, cpr, "2026-09-01", "assign",
        "contact_assignment", caseworker="cw-anna",
        role_kind=m.CONTACT_ROLE_CONTACT, **{"from": "2026-09-01"})])
    [drop] = send_all(hub, "college-a", [envelope(
        "college-a", m.DROPOUT, cpr, "2026-10-30", "drop", "dropout",
        institution="eud-vest", date="2026-10-30")])
    hub.wait_applied()
    return hub, cpr, drop.sequence.to_bytes(8, "big") + bytes([4])


def test_vendor_action_refusals_in_their_order(make_hub):
    """§4 Action, as a vendor reads the table and the numbered checks:
    each malformed field answered with its reason and the request_id,
    the first failing check in the documented order winning; `how` of
    white space alone -- blanks, a non-breaking or an ideographic space,
    a control character that shows as a space -- says nothing and is
    refused like an empty one; 256 bytes of `how` and 200 of `note`
    (æ is 2) are taken, one more is not. Each refusal is audited
    `action refused` `malformed` with the alert id (`-` for one that is
    not 9 bytes), the reason and the person."""
    hub, cpr, aid = annas_dropout(make_hub, 5505, "2005-06-07")
    m = pb()
    how_ = "how must say how (phone, meeting, home visit, letter, ...)"
    offered = "how must say what was offered"
    refused = [
        (dict(alert_id=aid[:8], kind=9, how=""),
         "alert_id must be the 9 bytes of an alert's id"),
        (dict(kind=0, date="x", how=""),
         "kind must be CONTACT_MADE, OFFER_MADE or COULD_NOT_REACH"),
        (dict(date="1899-12-31", how=""),
         "date must be the day it was done, YYYY-MM-DD"),
        (dict(date="2026-11-03", how=""),
         "date is in the future: record an action once it is done"),
        (dict(how=" \t\r\n"), how_),
        (dict(kind=m.OFFER_MADE, how="\u00a0"), offered),
        (dict(how="\u3000\u2003"), how_),
        (dict(kind=m.COULD_NOT_REACH, how="\v\x1f\x7f"), how_),
        (dict(how=" " * 300, note="n" * 300), how_),
        (dict(how="æ" * 128 + "x", note="n" * 300),
         "how is longer than 256 bytes"),
        (dict(how="æ" * 128, note="æ" * 100 + "x"),
         "note is longer than 200 bytes"),
    ]
    c = Vendor(hub, "cw-anna", hub.delivery)
    try:
        for n, (fields, why) in enumerate(refused, start=1):
            fields.setdefault("alert_id", aid)
            fields.setdefault("kind", m.CONTACT_MADE)
            c.send(ACTION, m.Action(request_id=n, **fields))
            kind, r = c.recv()
            assert (kind, r.request_id, r.code, r.reason) == \
                (RESULT, n, m.E_MALFORMED, why), (fields, r)
        c.send(ACTION, m.Action(request_id=99, alert_id=aid,
                                kind=m.CONTACT_MADE, date="2026-11-02",
                                how="æ" * 128, note="æ" * 100))
        kind, r = c.recv()
        assert (kind, r.request_id, r.code) == (RESULT, 99, m.OK), r
    finally:
        c.close()
    recs = [r for r in audit_records(hub, "cw-anna")
            if r["action"].startswith("action")]
    assert [(r["result"], r["detail"]) for r in recs] == \
        [("malformed", f"- {refused[0][1]}")] + \
        [("malformed", f"{aid.hex()} {why}") for _, why in refused[1:]] + \
        [("ok", f"{aid.hex()} contact_made")], recs
    # The alert, and so the person, is known from a 9-byte id on.
    assert recs[0]["person"] == "" and recs[1]["person"]
    assert len({r["person"] for r in recs[1:]}) == 1, recs


def test_vendor_acks_that_change_nothing_are_audited_with_the_person(
        make_hub):
    """§4 step 4 and SECURITY.md's `ack` row: an AlertAck is never
    answered; one that changes nothing -- another caseworker's alert,
    one already acknowledged, an id no alert has -- is audited `ack`
    `not-open` with the alert id alone (the note is not kept) and, when
    the hub holds the alert, its person, as the `ok` record has it."""
    hub, cpr, aid = annas_dropout(make_hub, 5506, "2005-08-09")
    m = pb()
    anna = Vendor(hub, "cw-anna", hub.delivery)
    bob = Vendor(hub, "cw-bob", hub.delivery)
    try:
        bob.send(ALERT_ACK, m.AlertAck(alert_id=aid, note="not mine"))
        anna.send(ALERT_ACK, m.AlertAck(alert_id=aid, note="called"))
        anna.send(ALERT_ACK, m.AlertAck(alert_id=aid, note="again"))
        anna.send(ALERT_ACK, m.AlertAck(alert_id=b"\xff" * 9, note="?"))
        r = anna.ask(m.Query(request_id=1, kind=m.OPEN_ALERTS))
        assert (r.code, list(r.alerts)) == (m.OK, []), r
        assert bob.ask(m.Query(request_id=2, kind=m.OPEN_ALERTS)).code == \
            m.OK                      # and nothing answered the AlertAcks
    finally:
        anna.close()
        bob.close()

    def acks():
        out = hub.hubctl("audit", "show", "--json").stdout
        return [(r["actor"], r["result"], r["detail"], r["person"])
                for r in map(json.loads, out.splitlines())
                if r["action"] == "ack"]
    wait_for(lambda: len(acks()) == 4, 10, "the acks written", interval=0.3)
    # A stored acknowledgement is written at once, the others with the
    # next second's records: the order of the trail may differ.
    recs = acks()
    [person] = [r[3] for r in recs if r[1] == "ok"]
    assert person and sorted(recs) == sorted([
        ("cw-bob", "not-open", aid.hex(), person),
        ("cw-anna", "ok", f"{aid.hex()} called", person),
        ("cw-anna", "not-open", aid.hex(), person),
        ("cw-anna", "not-open", "ff" * 9, "")]), recs


def test_vendor_actions_in_the_timeline_whole(make_hub):
    """§4 Action: a recorded action appears in the timeline on its
    `date`, "contact made by cw-anna: phone — agreed to meet" (the note
    after " — "), "offer made by ...", "could not reach the young person
    by ...", one line; and whole: 256 bytes of `how` and 200 of `note`,
    the most the hub takes, are shown as recorded, not cut."""
    hub, cpr, aid = annas_dropout(make_hub, 5507, "2005-10-11")
    m = pb()
    long_how, long_note = "æ" * 128, "ø" * 100
    actions = [(m.CONTACT_MADE, "2026-10-31", "phone", "agreed to meet"),
               (m.OFFER_MADE, "2026-11-01", "FGU\tplace", ""),
               (m.COULD_NOT_REACH, "", "letter", "line\nbreak"),
               (m.COULD_NOT_REACH, "2026-10-29", long_how, long_note)]
    c = Vendor(hub, "cw-anna", hub.delivery)
    try:
        for n, (kind, date, how, note) in enumerate(actions, start=1):
            c.send(ACTION, m.Action(request_id=n, alert_id=aid, kind=kind,
                                    date=date, how=how, note=note))
            got, r = c.recv()
            assert (got, r.request_id, r.code) == (RESULT, n, m.OK), r
        tl = c.ask(m.Query(request_id=9, kind=m.TIMELINE, cpr=cpr))
    finally:
        c.close()
    assert tl.code == m.OK, tl
    assert [(e.date, e.summary) for e in tl.timeline
            if e.type == m.CASEWORKER_ACTION] == [
        ("2026-10-29", "could not reach the young person by cw-anna: "
                       f"{long_how} — {long_note}"),
        ("2026-10-31", "contact made by cw-anna: phone — agreed to meet"),
        ("2026-11-01", "offer made by cw-anna: FGU place"),
        ("2026-11-02", "could not reach the young person by cw-anna: "
                       "letter — line break")], [
        (e.date, e.type, e.summary) for e in tl.timeline]


def test_vendor_multipart_message_answered_once_and_audited(make_hub):
    """§1: a multi-part message is rejected once for the whole message,
    `E_MALFORMED` "a message must be exactly one frame" (an empty
    `event_id` on ingest, `request_id` 0 on delivery), none of its parts
    used; SECURITY.md's `frame` row: a frame that cannot be used is
    recorded `malformed` with why, the sender as actor, on either
    endpoint."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = pb()
    why = "a message must be exactly one frame"
    ing = Vendor(hub, "college-a", hub.ingest)
    cw = Vendor(hub, "cw-anna", hub.delivery)
    try:
        ing.sock.send_multipart([bytes([VERSION, EVENT]), b"", b"x"])
        kind, ack = ing.recv()
        assert (kind, ack.status, ack.code, ack.reason, ack.event_id) == \
            (ACK, m.REJECTED, m.E_MALFORMED, why, b""), ack
        query = bytes([VERSION, QUERY]) + m.Query(
            request_id=5, kind=m.OPEN_ALERTS).SerializeToString()
        cw.sock.send_multipart([query, query])
        kind, r = cw.recv()
        assert (kind, r.request_id, r.code, r.reason) == \
            (RESULT, 0, m.E_MALFORMED, why), r
        assert ing.recv(timeout=0.5) is None and cw.recv(timeout=0.5) is None
    finally:
        ing.close()
        cw.close()

    def frames():
        out = hub.hubctl("audit", "show", "--json").stdout
        return sorted((r["actor"], r["result"], r["detail"])
                      for r in map(json.loads, out.splitlines())
                      if r["action"] == "frame")
    wait_for(lambda: len(frames()) >= 2, 10, "the refusals written",
             interval=0.3)
    assert frames() == [("college-a", "malformed", why),
                        ("cw-anna", "malformed", why)]
    # Nor was the query, one of its parts, answered or audited as one.
    assert not [r for r in audit_records(hub, "cw-anna")
                if r["action"] == "list"]
