"""56 wire by hand: a vendor in a language without our generated module
writes the protobuf bytes itself from docs/PROTOCOL.md and the field
numbers of proto/ungebro.proto, and reads the hub's answers byte by byte.

- The §5 example exchange, byte for byte: the Ack of an event, of its
  resend, of a wrong version byte.
- The wire types: every number of the .proto is a varint (a negative
  int64 in ten bytes); a known field sent with another wire type is a
  frame that does not decode (§6).
- One agency key on two connections: each frame acked on its own
  connection, one event id stored once (§1).
- On delivery the answers come in the order of the frames they answer,
  a Result with request_id 0 included, with pushed Alerts between (§1)."""

import time

import zmq

import hubtest
from hubtest import (ACCEPTED, DUPLICATE, REJECTED, E_MALFORMED, E_STALE,
                     CprGen, IngestClient, SLOW, pb)


def varint(n):
    n &= (1 << 64) - 1  # a negative number: its 64-bit two's complement
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7f | 0x80])
        n >>= 7
    return out + bytes([n])


def num(field, value):
    return varint(field << 3) + varint(value)


def text(field, value):
    data = value.encode() if isinstance(value, str) else value
    return varint(field << 3 | 2) + varint(len(data)) + data


OCCURRED = 1714608000000  # 2024-05-02T00:00Z, big-endian in the id
DROPOUT = text(21, text(1, "eud-vest") + text(3, "2024-05-02"))


def envelope(agency, cpr, salt, payload=DROPOUT, **fields):
    """Envelope bytes (field numbers of proto/ungebro.proto): a Dropout
    (type 2), PERSONAL (1). fields: f<number>=bytes replaces a field."""
    eid = OCCURRED.to_bytes(8, "big") + bytes([salt]) * 8
    parts = {1: text(1, eid), 2: text(2, agency), 3: num(3, 1),
             4: num(4, 2), 5: num(5, 1), 6: num(6, OCCURRED),
             7: num(7, OCCURRED), 9: text(9, cpr)}
    parts.update({int(k[1:]): v for k, v in fields.items()})
    return eid, b"\x01\x01" + b"".join(
        parts[k] for k in sorted(parts)) + payload


def raw_ack(client, data):
    assert client.send(data)
    assert client.sock.poll(int(10000 * SLOW)), "no ack"
    return client.sock.recv()


def test_example_exchange_byte_for_byte(make_hub):
    """PROTOCOL.md §5: `01 02 0a10 <event_id> 1001 3005` for ACCEPTED
    with sequence 5 (fields 1, 2, 6; the ones at their default are not
    sent), status 2 for the resend, and the E_VERSION ack of a wrong
    version byte without an event_id."""
    hub = make_hub(agencies={"school-a": "dropout"})
    cprs = CprGen(5601).take(5)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as c:
        for i, cpr in enumerate(cprs):
            eid, data = envelope("school-a", cpr, i + 1)
            got = raw_ack(c, data)
            assert got == b"\x01\x02\x0a\x10" + eid + b"\x10\x01\x30" + \
                bytes([i + 1]), got.hex()
        assert raw_ack(c, data) == \
            b"\x01\x02\x0a\x10" + eid + b"\x10\x02\x30\x05"
        got = raw_ack(c, b"\x07" + data[1:])
        reason = b"wire version 7 is not supported (expected 1)"
        assert got == b"\x01\x02\x10\x03\x18\x02\x22" + \
            bytes([len(reason)]) + reason, got.hex()


def test_wire_types_as_the_proto_gives_them(make_hub):
    """PROTOCOL.md §6: every number is a varint, a negative int64 (a
    `valid_until` in the past) ten bytes of two's complement; a field
    the .proto knows, sent with another wire type (a string as a
    varint, a uint32 as fixed32 or length-delimited, in the Envelope or
    in its payload), is answered as a frame that does not decode, and
    on delivery a Query so "Query does not decode as protobuf" with
    request_id 0."""
    hub = make_hub(agencies={"school-a": "dropout"})
    cprs = CprGen(5602).take(2)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as c:
        eid, data = envelope("school-a", cprs[0], 1, f8=num(8, -1))
        assert len(num(8, -1)) == 11
        ack = pb().Ack.FromString(raw_ack(c, data)[2:])
        assert (ack.status, ack.code, ack.event_id) == (
            REJECTED, E_STALE, eid), ack
        for fields in ({"f2": num(2, 5)},
                       {"f3": varint(3 << 3 | 5) + b"\x01\x00\x00\x00"},
                       {"f3": text(3, b"\x01")},
                       {"payload": text(21, num(1, 5) +
                                        text(3, "2024-05-02"))}):
            eid, data = envelope("school-a", cprs[1], 2, **fields)
            ack = pb().Ack.FromString(raw_ack(c, data)[2:])
            assert (ack.status, ack.code, ack.event_id, ack.reason) == (
                REJECTED, E_MALFORMED, b"",
                "Envelope does not decode as protobuf"), (fields, ack)
        eid, data = envelope("school-a", cprs[1], 2)
        assert pb().Ack.FromString(raw_ack(c, data)[2:]).status == ACCEPTED
    d = Delivery(hub, "cw-anna")
    try:
        d.sock.send(b"\x01\x07" + text(1, b"\x07") + num(2, 1))
        kind, r = d.next()
        assert (kind, r.request_id, r.code, r.reason) == (
            8, 0, E_MALFORMED, "Query does not decode as protobuf"), r
    finally:
        d.close()


def test_one_agency_key_on_two_connections(make_hub):
    """PROTOCOL.md §1: a key may connect more than once; each frame is
    acked on the connection it came on, and an event id is one event
    whichever connection sends it."""
    hub = make_hub(agencies={"school-a": "dropout"})
    cpr = CprGen(5603).next()
    hub.cprs.add(cpr)
    with IngestClient(hub, "school-a") as a, \
            IngestClient(hub, "school-a") as b:
        eid, data = envelope("school-a", cpr, 1)
        first = pb().Ack.FromString(raw_ack(a, data)[2:])
        again = pb().Ack.FromString(raw_ack(b, data)[2:])
        assert (first.status, again.status) == (ACCEPTED, DUPLICATE)
        assert first.sequence == again.sequence == 1
        assert not a.sock.poll(500) and not b.sock.poll(0)
    assert hub.stats()["log_events"] == 1


class Delivery:
    def __init__(self, hub, caseworker):
        self.ctx = zmq.Context()
        self.sock = hubtest.curve_dealer(self.ctx, hub, caseworker,
                                         hub.delivery)

    def next(self, timeout=10):
        assert self.sock.poll(int(timeout * 1000 * SLOW)), "no frame"
        data = self.sock.recv()
        assert data[0] == 1, data[:2]
        cls = {4: "Alert", 6: "Welcome", 8: "Result"}[data[1]]
        return data[1], getattr(pb(), cls).FromString(data[2:])

    def close(self):
        self.sock.close(0)
        self.ctx.destroy(linger=0)


def test_delivery_answers_in_the_order_of_the_frames(make_hub):
    """PROTOCOL.md §1: frames sent one after another on a connection are
    answered in that order, a frame that does not decode (request_id 0)
    at its place; the Hello's Welcome, then its Alerts, come between."""
    hub = make_hub(agencies={"college-a": "dropout"})
    cpr = CprGen(5604).next()
    hub.cprs.add(cpr)
    with IngestClient(hub, "college-a") as c:
        eid, data = envelope("college-a", cpr, 1)
        assert pb().Ack.FromString(raw_ack(c, data)[2:]).status == ACCEPTED
    d = Delivery(hub, "desk-dora")
    try:
        def query(rid):
            return b"\x01\x07" + num(1, rid) + num(2, 1)
        d.sock.send(query(1))
        d.wait = d.next()
        assert d.wait[0] == 8 and d.wait[1].request_id == 1
        # Every alert the hub holds is open now: the Hello pushes them.
        open_now = len(d.wait[1].alerts)
        assert open_now >= 1
        for data in (query(2), b"\x01\x03" + num(2, 32), query(3),
                     b"\x01\x07\xff\xff", query(4), b"", query(5)):
            d.sock.send(data)
        got = []
        while len(got) < 7 + open_now:
            kind, m = d.next()
            got.append((kind, getattr(m, "request_id", None)))
        assert got == [(8, 2), (6, None)] + [(4, None)] * open_now + \
            [(8, 3), (8, 0), (8, 4), (8, 0), (8, 5)], got
    finally:
        d.close()


def test_a_field_sent_twice_counts_with_its_last_value(make_hub):
    """PROTOCOL.md §3: a string sent twice counts with its last value,
    the earlier one not checked (a NUL byte, 300 bytes, bad UTF-8, a bad
    date); the last one is. Of two payload fields the last sent is the
    payload (a oneof): the other is not checked, and `type` must match
    the last."""
    hub = make_hub(agencies={"school-a": "dropout,absence"})
    cprs = CprGen(5605).take(8)
    hub.cprs.update(cprs)
    date = text(3, "2024-05-02")
    good = text(1, "eud-vest")
    accepted = [text(1, b"eud\x00x") + good + date,
                text(1, "x" * 300) + good + date,
                text(1, b"\xff\xfe") + good + date,
                good + text(3, "2024-02-30") + date]
    absence = text(20, text(1, b"a\x00b") + text(2, "2024-05-06"))
    with IngestClient(hub, "school-a") as c:
        for i, body in enumerate(accepted):
            eid, data = envelope("school-a", cprs[i], i + 1,
                                 payload=text(21, body))
            ack = pb().Ack.FromString(raw_ack(c, data)[2:])
            assert (ack.status, ack.event_id) == (ACCEPTED, eid), (i, ack)
        eid, data = envelope("school-a", cprs[4], 5,
                             payload=absence + DROPOUT)
        ack = pb().Ack.FromString(raw_ack(c, data)[2:])
        assert ack.status == ACCEPTED, ack
        for salt, payload, reason in (
                (6, text(21, good + text(1, b"eud\x00x") + date),
                 "dropout.institution contains a NUL byte"),
                (7, DROPOUT + absence,
                 "payload does not match type Dropout")):
            eid, data = envelope("school-a", cprs[salt - 1], salt,
                                 payload=payload)
            ack = pb().Ack.FromString(raw_ack(c, data)[2:])
            assert (ack.status, ack.code, ack.event_id, ack.reason) == (
                REJECTED, E_MALFORMED, eid, reason), ack
    assert hub.stats()["log_events"] == 5
    log = hub.hubctl("log", "--json").stdout
    assert log.count('"type": "Dropout"') == 5, log


def test_hello_window_zero_and_over_256(make_hub):
    """PROTOCOL.md §4 step 2: `Hello.window` 0 is 32, and more than 256
    (here 2^32 - 1, a ten-byte -1 cut to uint32 as any decoder does) is
    taken as 256: that many Alerts come, then none until one is
    acknowledged."""
    hub = make_hub(agencies={"college-a": "dropout"})
    gen = CprGen(5606)
    with IngestClient(hub, "college-a") as c:
        for i in range(140):
            cpr = gen.next()
            hub.cprs.add(cpr)
            eid = (OCCURRED + i).to_bytes(8, "big") + b"w" * 8
            _, data = envelope("college-a", cpr, 1, f1=text(1, eid))
            c.send(data)
        for _ in range(140):
            assert c.recv_ack(10).status == ACCEPTED
    hub.wait_applied()

    def pushed(window_field):
        d = Delivery(hub, "desk-dora")
        d.sock.send(b"\x01\x03" + window_field)
        kind, welcome = d.next()
        assert kind == 6 and welcome.open_alerts > 256, welcome
        ids = []
        while d.sock.poll(int(3000 * SLOW)):
            data = d.sock.recv()
            assert data[1] == 4
            ids.append(pb().Alert.FromString(data[2:]).alert_id)
        return d, ids

    d, ids = pushed(b"")
    d.close()
    assert len(ids) == 32
    d, ids = pushed(num(2, -1))
    try:
        assert len(set(ids)) == 256
        d.sock.send(b"\x01\x05" + text(1, ids[0]))
        kind, m = d.next()
        assert kind == 4 and m.alert_id not in ids, m
    finally:
        d.close()


def test_revoked_key_answers_on_each_endpoint(make_hub):
    """PROTOCOL.md §1: after a revocation an event is refused E_DENIED
    once it passes steps 1-5 of the validation order; a frame failing
    one of them gets that step's answer. On delivery every frame is
    answered E_DENIED, with its request_id or 0."""
    from hubtest import E_DENIED, E_TOO_LARGE, E_VERSION

    hub = make_hub(agencies={"college-a": "dropout"})
    cpr = CprGen(5607).next()
    hub.cprs.add(cpr)
    revoked = ("the key this connection authenticated with has been "
               "revoked or replaced")
    d = Delivery(hub, "cw-anna")
    d.sock.send(b"\x01\x03")
    assert d.next()[0] == 6
    with IngestClient(hub, "college-a") as c:
        eid, data = envelope("college-a", cpr, 1)
        assert pb().Ack.FromString(raw_ack(c, data)[2:]).status == ACCEPTED
        hub.hubctl("revoke-agency", "college-a")
        hub.hubctl("revoke-caseworker", "cw-anna")
        time.sleep(1.5)
        for frame, code, reason, with_id in (
                (data, E_DENIED, revoked, True),
                (b"", E_MALFORMED,
                 "frame of 0 bytes is shorter than the 2-byte header", False),
                (b"\x07" + data[1:], E_VERSION,
                 "wire version 7 is not supported (expected 1)", False),
                (b"\x01\x03", E_MALFORMED, "only event frames are accepted "
                 "on the ingest endpoint", False),
                (b"\x01\x01\xff\xff", E_MALFORMED,
                 "Envelope does not decode as protobuf", False),
                (b"\x01\x01" + text(1, eid), E_VERSION,
                 "schema version 0 is not supported (expected 1)", True),
                (data + text(100, b"x" * 70000), E_TOO_LARGE,
                 f"frame of {len(data) + 70005} bytes exceeds the limit "
                 "of 65536", True)):
            ack = pb().Ack.FromString(raw_ack(c, frame)[2:])
            assert (ack.status, ack.code, ack.reason, ack.event_id) == (
                REJECTED, code, reason, eid if with_id else b""), ack
    try:
        for frame, rid in ((b"\x01\x05" + text(1, b"x" * 9) + num(4, 9), 9),
                           (b"\x01\x09" + num(1, 11), 11),
                           (b"\x01\x03", 0), (b"\x01\x07\xff\xff", 0),
                           (b"\x01\x01" + num(1, 3), 0), (b"", 0)):
            d.sock.send(frame)
            kind, r = d.next()
            assert (kind, r.request_id, r.code, r.reason) == (
                8, rid, E_DENIED, revoked), (frame, r)
        # A message of several frames is no frame: refused as on any
        # connection, before the key is looked at.
        d.sock.send_multipart([b"\x01\x07" + num(1, 12), b"\x01\x03"])
        kind, r = d.next()
        assert (kind, r.request_id, r.code, r.reason) == (
            8, 0, E_MALFORMED, "a message must be exactly one frame"), r
    finally:
        d.close()


def test_a_req_socket_is_refused_and_answered_nothing(make_hub):
    """PROTOCOL.md §1: a REQ socket's empty delimiter frame makes every
    message two parts: refused as multi-part (logged on each endpoint),
    and the answer, one frame, never reaches the REQ."""
    hub = make_hub(agencies={"college-a": "dropout"})
    cpr = CprGen(5608).next()
    hub.cprs.add(cpr)
    ctx = zmq.Context()
    try:
        for key, endpoint, data in (
                ("cw-anna", hub.delivery,
                 b"\x01\x07" + num(1, 5) + num(2, 1)),
                ("college-a", hub.ingest,
                 envelope("college-a", cpr, 1)[1])):
            s = hubtest.curve_dealer(ctx, hub, key, endpoint, kind=zmq.REQ)
            s.send(data)
            assert not s.poll(int(2000 * SLOW)), "a REQ got an answer"
            s.close()
        hub.wait_log(r"HUB-DELIVER multi-part message refused")
        hub.wait_log(r"HUB-REJECT .*a message must be exactly one frame")
    finally:
        ctx.destroy(linger=0)
    assert hub.stats()["log_events"] == 0


def test_a_key_value_holding_equals_and_hash(make_hub):
    """PROTOCOL.md §3 "Key files": the value is all after the first `=`;
    a Z85 key with `=` and `#` in it registers as it is, and the
    connection made with it is in."""
    hub = make_hub(agencies={"college-a": "dropout"})
    while True:
        pub, sec = zmq.curve_keypair()
        if b"#" in pub and b"=" in pub:
            break
    own = hub.tmp / "vendor-q.key"
    own.write_text(f"public={pub.decode()}\n")
    r = hub.hubctl("register-agency", "vendor-q", "--key", str(own),
                   "--types", "dropout", check=False)
    assert r.returncode == 0, r.stderr
    (hub.keys_dir / "vendor-q.key_secret").write_text(
        f"public = {pub.decode()}\nsecret = {sec.decode()}\n")
    cpr = CprGen(5610).next()
    hub.cprs.add(cpr)
    time.sleep(1.5)
    with IngestClient(hub, "vendor-q") as c:
        eid, data = envelope("vendor-q", cpr, 1)
        assert pb().Ack.FromString(raw_ack(c, data)[2:]).status == ACCEPTED


def test_a_number_wider_than_its_field_is_cut_as_decoders_do(make_hub):
    """PROTOCOL.md §6: a varint wider than its field is read as any
    proto3 decoder reads it: a `uint32` or an enum by its low 32 bits
    (2^32 + 1 in `schema_version` is 1, 2^32 + 2 in `type` is DROPOUT),
    a `bool` as true when it is not 0; nothing refuses it."""
    hub = make_hub(agencies={"school-a": "dropout"})
    cprs = CprGen(5609).take(4)
    hub.cprs.update(cprs)
    consent = text(4, num(1, 2))
    referral = text(24, text(1, "svc") + text(2, "2024-05-02") + num(3, 1)
                    + consent)
    with IngestClient(hub, "school-a") as c:
        for i, fields in enumerate(({"f3": num(3, (1 << 32) + 1)},
                                    {"f4": num(4, (1 << 32) + 2)},
                                    {"f5": num(5, (1 << 33) + 1)})):
            eid, data = envelope("school-a", cprs[i], 10 + i, **fields)
            ack = pb().Ack.FromString(raw_ack(c, data)[2:])
            assert (ack.status, ack.event_id) == (ACCEPTED, eid), (
                fields, ack)
        hub.register_agency("school-a", "dropout,addiction")
        time.sleep(1.5)
        eid, data = envelope("school-a", cprs[3], 20, payload=referral,
                             f4=num(4, 5), f5=num(5, 2))
        ack = pb().Ack.FromString(raw_ack(c, data)[2:])
        assert (ack.status, ack.event_id) == (ACCEPTED, eid), ack


def test_sequences_count_every_stored_event(make_hub):
    """PROTOCOL.md §3 step 3: `sequence` starts at 1 and counts every
    event the hub stores, whoever sent it (a caseworker's recorded
    action included), so one agency's sequences have gaps; a resend
    takes none."""
    hub = make_hub(agencies={"school-a": "dropout", "college-b": "dropout"})
    cprs = CprGen(5610).take(3)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as a, \
            IngestClient(hub, "college-b") as b:
        seqs = []
        for c, agency, i in ((a, "school-a", 0), (b, "college-b", 1),
                             (a, "school-a", 0)):
            _, data = envelope(agency, cprs[i], 30 + i)
            seqs.append(pb().Ack.FromString(raw_ack(c, data)[2:]).sequence)
        assert seqs == [1, 2, 1], seqs
        hub.wait_applied()
        d = Delivery(hub, "desk-dora")
        try:
            alert = (1).to_bytes(8, "big") + bytes([4])  # the dropout rule
            d.sock.send(b"\x01\x09" + num(1, 7) + text(2, alert)
                        + num(3, 1) + text(5, "phone"))
            kind, r = d.next()
            assert (kind, r.request_id, r.code) == (8, 7, 0), r
        finally:
            d.close()
        _, data = envelope("school-a", cprs[2], 32)
        ack = pb().Ack.FromString(raw_ack(a, data)[2:])
        assert (ack.status, ack.sequence) == (ACCEPTED, 4), ack


def test_an_alert_ack_needs_no_hello_and_no_push(make_hub):
    """PROTOCOL.md §4 step 4: an AlertAck for an alert open for you
    closes it whether or not this connection was sent it (no Hello, or
    beyond the window); it is not answered, nor is a second one, nor one
    for an id no alert has; the next Hello counts and sends it no more."""
    hub = make_hub(agencies={"college-a": "dropout"})
    cprs = CprGen(5611).take(3)
    hub.cprs.update(cprs)
    with IngestClient(hub, "college-a") as c:
        for i, cpr in enumerate(cprs):
            _, data = envelope("college-a", cpr, 40 + i)
            assert pb().Ack.FromString(raw_ack(c, data)[2:]).status == \
                ACCEPTED
    hub.wait_applied()
    a = Delivery(hub, "desk-dora")
    try:
        a.sock.send(b"\x01\x07" + num(1, 1) + num(2, 1))
        kind, r = a.next()
        ids = sorted(x.alert_id for x in r.alerts)
        assert len(ids) == 6, r   # a dropout and a transition_gap each
        last, middle = ids[-1], ids[2]
        for frame in (text(1, last), text(1, last),
                      text(1, b"\x00" * 8 + b"\x63")):
            a.sock.send(b"\x01\x05" + frame)
        a.sock.send(b"\x01\x03" + num(2, 1))
        kind, w = a.next()
        assert (kind, w.open_alerts) == (6, 5), w
        kind, alert = a.next()
        assert kind == 4 and alert.alert_id[:8] == ids[0][:8], alert
        a.sock.send(b"\x01\x05" + text(1, middle))
        a.sock.send(b"\x01\x07" + num(1, 2) + num(2, 1))
        kind, r = a.next()
        assert (kind, r.request_id) == (8, 2), r
        assert sorted(x.alert_id for x in r.alerts) == [
            x for x in ids if x not in (last, middle)], r
        assert not a.sock.poll(int(1000 * SLOW)), a.next()
    finally:
        a.close()


def test_a_field_at_its_default_is_the_same_sent_or_not(make_hub):
    """PROTOCOL.md §6: the hub sends no field at its default (the Ack of
    an ACCEPTED event holds no code, reason or retryable) and reads one
    written out at its default (a 0, an empty string or bytes) as one
    left out."""
    hub = make_hub(agencies={"school-a": "dropout"})
    cpr = CprGen(5612).next()
    hub.cprs.add(cpr)
    with IngestClient(hub, "school-a") as c:
        eid, data = envelope("school-a", cpr, 50, f7=num(7, 0),
                             f8=num(8, 0), f10=text(10, b""))
        got = raw_ack(c, data)
        assert got == b"\x01\x02\x0a\x10" + eid + b"\x10\x01\x30\x01", \
            got.hex()


def test_a_query_beyond_the_allowance_is_refused_before_it_is_read(
        make_hub):
    """PROTOCOL.md §4 Limits: beyond `query_burst` every Query is
    answered E_UNAVAILABLE before anything else about it is checked (a
    cpr that is no CPR, an unknown kind, an alert_id of 1 byte); a frame
    that does not decode is not counted, and is answered as such."""
    hub = make_hub(settings={"query_rate": "1", "query_burst": "2"})
    d = Delivery(hub, "cw-anna")
    try:
        for frame in (num(1, 1) + num(2, 1), num(1, 2) + num(2, 1),
                      num(1, 3) + num(2, 2) + text(3, "x"),
                      num(1, 4) + num(2, 9),
                      num(1, 5) + num(2, 1) + text(8, b"1"), b"\xff"):
            d.sock.send(b"\x01\x07" + frame)
        got = [d.next()[1] for _ in range(6)]
        assert [(r.request_id, r.code) for r in got] == [
            (1, 0), (2, 0), (3, 7), (4, 7), (5, 7), (0, E_MALFORMED)], got
        assert {r.reason for r in got[2:5]} == {
            "too many queries; wait a moment and ask again"}, got
    finally:
        d.close()


def test_a_frame_too_large_is_that_whatever_its_kind(make_hub):
    """PROTOCOL.md §2: the size is looked at before the kind. A frame of
    65,537 bytes or more is answered E_TOO_LARGE even when its kind is
    one the endpoint does not take (an Envelope on delivery, a Hello on
    ingest), or one a web gateway may not send, which a smaller frame of
    that kind is told."""
    hub = make_hub(agencies={"school-a": "dropout"})
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    pad = b"\x00" * 70000
    too_large = "frame of 70002 bytes exceeds the limit of 65536"
    with IngestClient(hub, "school-a") as c:
        ack = pb().Ack.FromString(raw_ack(c, b"\x01\x03" + pad)[2:])
        assert (ack.code, ack.reason) == (pb().E_TOO_LARGE, too_large), ack
    for who in ("cw-anna", "web-1"):
        d = Delivery(hub, who)
        try:
            for header in (b"\x01\x01", b"\x01\x03", b"\x01\x02"):
                d.sock.send(header + pad)
                kind, r = d.next()
                assert (kind, r.request_id, r.code, r.reason) == (
                    8, 0, pb().E_TOO_LARGE, too_large), (who, header, r)
        finally:
            d.close()


def test_a_key_file_line_that_is_no_setting_says_which(make_hub):
    """PROTOCOL.md §3 "Key files": a line without `=`, one with an empty
    name, one over 510 bytes and one holding a NUL byte are each refused
    with the file, the line and what is wrong; a comment line may start
    with blanks before its `#`."""
    hub = make_hub(start=False)
    # Z85 keys may hold '=', which would make "public KEY" a name = value
    # line; the no-'=' case needs a key without one.
    pub = "="
    while "=" in pub:
        pub = zmq.curve_keypair()[0].decode()
    own = hub.tmp / "vendor-k.key"
    for text_, want in (
            (f"id = vendor-k\npublic {pub}\n", ":2: expected name = value"),
            (f" = vendor-k\npublic = {pub}\n",
             ":1: expected a name before '='"),
            ("x = " + "a" * 507 + f"\npublic = {pub}\n",
             ":1: line longer than 510 bytes"),
            (f"public = {pub}\n# a\0b\n", ":2: a NUL byte: not a text file"),
            (f"public = {pub[:39]}\npublic = {pub}\n",
             ":1: bad value for 'public'"),
            (f"PUBLIC = {pub}\n", "not a public key file (needs public)"),
            (f"\t # a comment\n  \npublic = {pub}\n", None)):
        own.write_text(text_)
        r = hub.hubctl("register-agency", "vendor-k", "--key", str(own),
                       "--types", "dropout", check=False)
        if want is None:
            assert r.returncode == 0, r.stderr
        else:
            where = "" if want.startswith("not") else str(own)
            assert r.returncode != 0 and where + want in r.stderr, (
                want, r.stderr)
