"""83 vendor again: a client written once more from docs/PROTOCOL.md and
the .proto alone (test_64's standalone client: pyzmq, protoc, hubctl and
hubd run as OPERATIONS.md says), after what test_55, 56, 64 and 66 do not
assert: what a caseworker's own connection is answered while the hub
cannot read its store, checked against the page's table of answers a
client acts on; and envelopes another language's encoder may write
(fields in another order, longer varints than needed, an empty payload).
"""

import json
import os
import re
import time

import zmq

from test_60_store_at_rest import readers_taken
from test_64_vendor_from_doc import (  # noqa: F401  (hub is a fixture)
    ALL_TYPES, NOW, ROOT, TODAY, Client, ack_of, connect_agency,
    connect_caseworker, decode, envelope, frame, hello, hub, pb,
    raise_dropouts, read_key_file, started_with_caseworker)

PROTOCOL = os.path.join(ROOT, "docs", "PROTOCOL.md")
UNREADABLE = "the hub cannot read its store right now; retry later"
NOT_KEPT = ("the acknowledgement was not kept: the hub cannot store it now; "
            "send it again later")


def answers_table():
    """§4 "What to do with each answer": the rows, one string each."""
    text = open(PROTOCOL, encoding="utf-8").read()
    start = text.index("**What to do with each answer.**")
    rows = []
    for line in text[start:].splitlines()[1:]:
        if line.startswith("|"):
            rows.append(line)
        elif rows:
            break
    assert rows, "no table after 'What to do with each answer'"
    return rows


def in_table(rows, kind, code, reason, request_id_0=False):
    """The row a client would look its answer up in: it names the
    frame's kind, the code and the reason (and, for request_id 0, says
    so), so the client knows what to do."""
    name = pb.ErrorCode.Name(code)
    for row in rows:
        what = row.split("|")[1]
        if kind not in what or name not in what:
            continue
        if reason not in re.sub(r"\s+", " ", row):
            continue
        if request_id_0 and "request_id` 0" not in what:
            continue
        return row
    return None


def results(c, timeout=5):
    """Every frame until `timeout` passes with none: (kind, message)."""
    out = []
    while True:
        d = c.recv(timeout)
        if d is None:
            return out
        out.append(decode(d))
        timeout = 1


def registrations_changed(hub, ident):
    """Register one more caseworker and wait until hubd has read the
    registrations again: until then a connection's key is checked
    against the copy hubd holds, after it against the store."""
    seen = hub.logtext().count("registrations changed")
    hub.keygen(ident)
    hub.ctl("register-caseworker", ident, "--key",
            os.path.join(hub.keys, ident + ".key"))
    deadline = time.time() + 15
    while hub.logtext().count("registrations changed") == seen:
        assert time.time() < deadline, "hubd did not read the change"
        time.sleep(0.05)


def test_an_unreadable_store_on_a_caseworkers_own_connection(hub):
    """§1: a key the hub cannot look up because it cannot read its store
    is no revoked one: every frame is answered to be sent again, a Query,
    an Action and a Hello `E_UNAVAILABLE` "the hub cannot read its store
    right now; retry later", an AlertAck `E_FULL` "the acknowledgement
    was not kept ..." (each with the frame's request_id, a Hello's 0),
    and nothing is done or audited. §4 said an AlertAck on a caseworker's
    own connection is answered only when it does not decode or its key
    was revoked, and its table of answers had no AlertAck E_FULL and
    took a Result with request_id 0 for a fault not to send again: a
    client written from it would drop the acknowledgement and the
    Hello. The table must list what a client is sent here."""
    keys, ctx = started_with_caseworker(hub, "--desk")
    try:
        raise_dropouts(hub, ctx, 2)
        hub.wait_alerts(2)
        c = connect_caseworker(hub, ctx, "cw-vendor", keys)
        c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=1,
                                               kind=pb.OPEN_ALERTS)))
        ((kind, r),) = results(c)
        ids = [a.alert_id for a in r.alerts]
        assert kind == pb.FRAME_RESULT and len(ids) == 2, r
        audit_before = len(hub.ctl("audit", "show",
                                   "--json").stdout.splitlines())
        registrations_changed(hub, "cw-other")
        with readers_taken(os.path.join(hub.data, "log")):
            c.send(frame(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=ids[0],
                                                          request_id=6)))
            c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=5,
                                                   kind=pb.OPEN_ALERTS)))
            c.send(frame(pb.FRAME_HELLO, pb.Hello(window=3)))
            c.send(frame(pb.FRAME_ACTION, pb.Action(
                request_id=7, alert_id=ids[0], kind=pb.CONTACT_MADE,
                how="phone")))
            got = results(c)
        answers = [(k, m.request_id, m.code, m.reason) for k, m in got]
        assert answers == [
            (pb.FRAME_RESULT, 6, pb.E_FULL, NOT_KEPT),
            (pb.FRAME_RESULT, 5, pb.E_UNAVAILABLE, UNREADABLE),
            (pb.FRAME_RESULT, 0, pb.E_UNAVAILABLE, UNREADABLE),
            (pb.FRAME_RESULT, 7, pb.E_UNAVAILABLE, UNREADABLE)], answers
        log = hub.logtext()
        assert log.count("warn HUB-DELIVER frame from cw-vendor not checked: "
                         "the store cannot be read; answered E_UNAVAILABLE") \
            == 4, log[-3000:]
        # Nothing was done: both alerts open, nothing recorded or audited;
        # the same frames now are served as on any connection.
        c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=8,
                                               kind=pb.OPEN_ALERTS)))
        ((kind, r),) = results(c)
        assert (r.request_id, r.code, len(r.alerts)) == (8, pb.OK, 2), r
        # Audited: the two OPEN_ALERTS lists (1 and 8) as any, once written
        # (hubd writes its audit records in the background), and nothing
        # of the frames in between.
        deadline = time.time() + 15
        while True:
            lines = hub.ctl("audit", "show", "--json").stdout.splitlines()
            new = [rec for rec in map(json.loads, lines[audit_before:])
                   if rec["actor"] == "cw-vendor"]
            if [rec["action"] for rec in new].count("list") >= 1:
                break
            assert time.time() < deadline, new
            time.sleep(0.2)
        assert [rec for rec in new
                if rec["action"] not in ("list", "listed")] == [], new
        # The AlertAck sent again now is stored.
        c.send(frame(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=ids[0])))
        c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=9,
                                               kind=pb.OPEN_ALERTS)))
        ((kind, r),) = results(c)
        assert (r.request_id, r.code) == (9, pb.OK), r
        assert [a.alert_id for a in r.alerts] == ids[1:], r
        # What the page's table says of each answer a client was sent.
        rows = answers_table()
        assert in_table(rows, "AlertAck", pb.E_FULL, NOT_KEPT), \
            "§4's table of answers has no row for an AlertAck answered E_FULL"
        assert in_table(rows, "Hello", pb.E_UNAVAILABLE, UNREADABLE,
                        request_id_0=True), \
            "§4's table has no row for a Hello answered E_UNAVAILABLE, 0"
        assert in_table(rows, "Result", pb.E_UNAVAILABLE, UNREADABLE)
        c.close()
    finally:
        ctx.destroy(linger=0)


def test_envelopes_another_encoder_may_write(hub):
    """§6: a v1 hub reads what a proto3 decoder reads. Another language's
    encoder may put the fields in another order, write a varint longer
    than it needs (a tag, a length or a value, up to the 10 bytes a
    varint may have), write a field at its default, or set a payload to
    an empty message: each is read as the same message. An 11-byte
    varint is no varint."""
    hub.keygen("vendor-a")
    hub.ctl("register-agency", "vendor-a", "--key",
            os.path.join(hub.keys, "vendor-a.key"), "--types", ALL_TYPES)
    hub.start()
    ctx = zmq.Context()
    try:
        keys = read_key_file(os.path.join(hub.keys, "vendor-a.key_secret"))
        c = Client(ctx, hub.ingest, hub.server_key(), keys)
        ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED})
        assert ev and ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED

        def varint(n, pad=0):
            """n as a varint, `pad` continuation bytes longer than needed."""
            out = bytearray()
            n &= (1 << 64) - 1
            while True:
                out.append(n & 0x7F)
                n >>= 7
                if not n:
                    break
                out[-1] |= 0x80
            for _ in range(pad):
                out[-1] |= 0x80
                out.append(0)
            return bytes(out)

        def ld(field, data, pad_tag=0, pad_len=0):
            data = data.encode() if isinstance(data, str) else data
            return (varint(field << 3 | 2, pad_tag) +
                    varint(len(data), pad_len) + data)

        def num(field, n, pad_tag=0, pad=0):
            return varint(field << 3, pad_tag) + varint(n, pad)

        serial = [0]

        def parts(**change):
            serial[0] += 1
            eid = NOW.to_bytes(8, "big") + b"enc%05d" % serial[0]
            p = {"id": ld(1, eid), "agency": ld(2, "vendor-a"),
                 "schema": num(3, 1), "type": num(4, pb.DROPOUT),
                 "sensitivity": num(5, pb.PERSONAL), "occurred": num(6, NOW),
                 "cpr": ld(9, "0101101234"),
                 "payload": ld(21, ld(1, "c1") + ld(3, "2024-05-06"))}
            p.update(change)
            return eid, p

        def ack(eid, body):
            c.send(b"\x01\x01" + body)
            d = c.recv(15)
            assert d is not None, "no ack"
            a = ack_of(d)
            return (a.status, a.code, a.reason, a.event_id == eid)

        accepted = (pb.ACCEPTED, pb.OK, "", True)
        eid, p = parts()
        assert ack(eid, b"".join(reversed(list(p.values())))) == accepted
        for change in ({"schema": num(3, 1, pad=1)},
                       {"schema": num(3, 1, pad_tag=4)},
                       {"agency": ld(2, "vendor-a", pad_tag=1, pad_len=2)},
                       {"sensitivity": num(5, pb.PERSONAL, pad=9)},
                       {"valid": num(8, 0)}, {"supersedes": ld(10, b"")}):
            eid, p = parts(**change)
            assert ack(eid, b"".join(p.values())) == accepted, change
        eid, p = parts(sensitivity=num(5, pb.PERSONAL, pad=10))
        assert ack(eid, b"".join(p.values())) == (
            pb.REJECTED, pb.E_MALFORMED,
            "Envelope does not decode as protobuf", False)
        # An empty payload is that payload, set, with every field empty.
        eid, p = parts(payload=ld(21, b""))
        assert ack(eid, b"".join(p.values())) == (
            pb.REJECTED, pb.E_MALFORMED, "dropout.institution is required",
            True)
        c.close()
    finally:
        ctx.destroy(linger=0)


def test_a_hello_the_hub_cannot_count_for_changes_nothing(hub):
    """§4 step 3: the Welcome says how many alerts wait (`open_alerts`).
    When the hub cannot read its store to count them, a Welcome `OK`
    with 0 would misstate what waits; the Hello is refused as one
    without room is, `E_UNAVAILABLE` "the hub cannot read its store
    right now; retry later", `open_alerts` 0, and changes nothing: a
    connection without a session gets none (nothing is pushed on it), a
    live session goes on as it was, its window too. A later Hello is
    answered as usual."""
    keys, ctx = started_with_caseworker(hub, "--desk")
    try:
        raise_dropouts(hub, ctx, 2)
        hub.wait_alerts(2)
        c = connect_caseworker(hub, ctx, "cw-vendor", keys)
        welcome, alerts = hello(c, 1)
        assert (welcome.code, welcome.open_alerts, len(alerts)) == \
            (pb.OK, 2, 1), welcome
        other = connect_caseworker(hub, ctx, "cw-vendor", keys)
        with readers_taken(os.path.join(hub.data, "log")):
            for conn in (c, other):
                conn.send(frame(pb.FRAME_HELLO, pb.Hello(window=5)))
                got = [(k, m.caseworker, m.open_alerts, m.code, m.reason)
                       for k, m in results(conn)]
                assert got == [(pb.FRAME_WELCOME, "cw-vendor", 0,
                                pb.E_UNAVAILABLE, UNREADABLE)], got
        log = hub.logtext()
        assert log.count("warn HUB-HELLO Hello again from cw-vendor "
                         "refused: " + UNREADABLE +
                         " (its session goes on)") == 1, log[-3000:]
        assert log.count("warn HUB-HELLO no session for cw-vendor: " +
                         UNREADABLE) == 1, log[-3000:]
        assert "HUB-SESSION" not in log, log[-3000:]
        # c's session goes on with its window of 1: its alert
        # acknowledged, the other is pushed, and nothing more; `other`
        # has no session and is pushed nothing.
        c.send(frame(pb.FRAME_ALERT_ACK,
                     pb.AlertAck(alert_id=alerts[0].alert_id)))
        got = results(c, 5)
        assert [(k, m.delivery) for k, m in got] == \
            [(pb.FRAME_ALERT, 1)], got
        college = connect_agency(hub, ctx, "college-w")
        e = envelope("college-w", pb.DROPOUT, "dropout",
                     pb.Dropout(institution="c1", date=TODAY), "late",
                     cpr="0202021234")
        college.send(frame(pb.FRAME_EVENT, e))
        assert ack_of(college.recv(15)).status == pb.ACCEPTED
        college.close()
        hub.wait_alerts(3)
        assert results(c, 2) == [] and results(other, 1) == []
        welcome, pushed = hello(other, 5)
        assert (welcome.code, welcome.open_alerts, len(pushed)) == \
            (pb.OK, 2, 2), welcome
        c.close()
        other.close()
    finally:
        ctx.destroy(linger=0)


def test_a_vendors_timeline_round_on_one_connection(hub):
    """PROTOCOL.md §4 as a vendor's caseworker client reads it, queries
    and actions pipelined on one connection without a Hello: the answers
    come in the order asked, each with its own request_id; the desk sees
    an unassigned person by the event a timeline shows; an Action's OK is
    followed, on the same connection, by a timeline that lists it
    (agency `hub`, type 12, on its date), stored once when sent again;
    an acknowledged alert stays in the timeline with `open` false; a CPR
    never seen and a 9-digit one get their documented answers."""
    keys, ctx = started_with_caseworker(hub, "--desk")
    [cpr] = raise_dropouts(hub, ctx, 1)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    try:
        c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=1,
                                              kind=pb.OPEN_ALERTS)))
        [(kind, r)] = results(c)
        assert (kind, r.request_id, r.code, len(r.alerts)) == (
            pb.FRAME_RESULT, 1, pb.OK, 1), r
        aid = r.alerts[0].alert_id
        act = pb.Action(request_id=3, alert_id=aid,
                        kind=pb.CONTACT_MADE, how="phone",
                        note="agreed to meet")
        asks = [pb.Query(request_id=2, kind=pb.TIMELINE, cpr=cpr), act,
                pb.Query(request_id=4, kind=pb.TIMELINE, cpr=cpr)]
        act2 = pb.Action()
        act2.CopyFrom(act)
        act2.request_id = 5
        asks += [act2, pb.Query(request_id=6, kind=pb.TIMELINE, cpr=cpr),
                 pb.Query(request_id=7, kind=pb.TIMELINE,
                          cpr="0101991234"),
                 pb.Query(request_id=8, kind=pb.TIMELINE, cpr=cpr[1:])]
        for m in asks:
            c.send(frame(pb.FRAME_ACTION if isinstance(m, pb.Action)
                         else pb.FRAME_QUERY, m))
        got = [m for _, m in results(c)]
        assert [m.request_id for m in got] == [2, 3, 4, 5, 6, 7, 8], got
        before, acted, after, again, after2, unseen, short = got
        assert [(e.is_alert, e.type, e.agency, e.rule, e.open, e.date)
                for e in before.timeline] == [
            (False, pb.DROPOUT, "college-v", "", False, TODAY),
            (True, 0, "", "dropout", True, TODAY)], before
        assert (acted.code, again.code) == (pb.OK, pb.OK), (acted, again)
        for page in (after, after2):
            assert [(e.is_alert, e.type, e.agency, e.summary)
                    for e in page.timeline] == [
                (False, 12, "hub", "contact made by cw-vendor: phone — "
                 "agreed to meet"),
                (False, pb.DROPOUT, "college-v",
                 before.timeline[0].summary),
                (True, 0, "", before.timeline[1].summary)], page
            # One day: events by id, the action's the day at 00:00 (§4
            # Action), below the dropout's own instant.
            assert page.timeline[0].event_id < page.timeline[1].event_id
        assert (unseen.code, unseen.reason) == (
            pb.E_DENIED, "this person is not assigned to you or your desk")
        assert (short.code, short.reason) == (
            pb.E_MALFORMED, "cpr has 9 digits: a spreadsheet may have "
            "dropped its leading zero (format the column as text)")
        c.send(frame(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=aid)))
        c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=9,
                                              kind=pb.TIMELINE, cpr=cpr)))
        [(_, r)] = results(c)         # the AlertAck is never answered
        assert r.request_id == 9 and \
            [(e.is_alert, e.open) for e in r.timeline] == [
                (False, False), (False, False), (True, False)], r
    finally:
        c.close()
        ctx.term()
