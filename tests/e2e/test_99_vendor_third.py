"""99 a vendor's client a third time, written from docs/PROTOCOL.md alone:
its own key-file reader (§3 "Key files"), its own framing (§2) and, for
what a foreign protobuf library might write, its own encoder of the
wire format (varints, tags, lengths) next to the schema compiled with
protoc. Only the hub itself (keys, registrations, the hub clock) comes
from tests/e2e/hubtest.py. Each check quotes the page: the encodings
§6 says the hub refuses or reads, at the limit and one past it."""

import time

from hubtest import CprGen, TcpRelay
from vendorclient import (ACK, ALERT, ALERT_ACK, EVENT, HELLO, QUERY,
                          RESULT, WELCOME, Client, ld, schema, tag,
                          varint)


def absence_body(cpr, key, extra=b"", payload_extra=b""):
    """An AbsenceReport envelope for school-a, encoded field by field
    (§6: every number a varint, strings and messages length-delimited);
    extra goes at the Envelope's end, payload_extra at the payload's."""
    eid = (1714000000000).to_bytes(8, "big") + key.encode().ljust(8, b".")
    payload = (ld(1, b"school-x") + ld(2, b"2024-05-06") +
               ld(3, b"2024-05-10") + tag(4, 0) + varint(3) +
               tag(5, 0) + varint(30) + tag(6, 0) + varint(3) +
               payload_extra)
    body = (ld(1, eid) + ld(2, b"school-a") + tag(3, 0) + varint(1) +
            tag(4, 0) + varint(1) + tag(5, 0) + varint(2) +
            tag(6, 0) + varint(1714000000000) + ld(9, cpr.encode()) +
            ld(20, payload) + extra)
    return eid, body


LIMIT_REASON = ("{} does not decode as protobuf: a field number is over "
                "536870911, the largest protobuf allows")


def test_field_numbers_over_2_29_are_refused_as_malformed(make_hub):
    """§6: field numbers run to 2^29 - 1, as protobuf's own; a tag of
    2^29 or more is a frame that does not decode, at any depth, with the
    reason naming it; the connection and the hub stay."""
    hub = make_hub()
    m = schema()
    cpr = CprGen(9901).born("2009-03-01")
    hub.cprs.add(cpr)
    c = Client(hub, "school-a", hub.ingest)
    try:
        top = (1 << 29) - 1
        # At the value: an unknown field 2^29 - 1 is kept, unread.
        eid, body = absence_body(cpr, "max", extra=tag(top, 0) + b"\x01")
        a = c.ask(bytes([1, EVENT]) + body, ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, eid), a
        # One past it, of each wire type, in the Envelope and the payload.
        for i, extra in enumerate([tag(top + 1, 0) + b"\x01",
                                   tag(top + 1, 1) + bytes(8),
                                   ld(top + 1, b"x"),
                                   tag(top + 1, 5) + bytes(4),
                                   tag((1 << 32) - 1, 0) + b"\x01"]):
            for where in ("extra", "payload_extra"):
                _, body = absence_body(cpr, f"o{i}{where[0]}",
                                       **{where: extra})
                a = c.ask(bytes([1, EVENT]) + body, ACK)
                assert (a.status, a.code, a.reason, a.retryable,
                        a.event_id) == (m.REJECTED, m.E_MALFORMED,
                                        LIMIT_REASON.format("Envelope"),
                                        False, b""), (i, where, a)
        # Decoding (Validation order step 3) comes before schema_version
        # (step 4): a version 7 envelope with such a tag is malformed.
        _, body = absence_body(cpr, "v7", extra=tag(3, 0) + varint(7) +
                               tag(top + 1, 0) + b"\x01")
        a = c.ask(bytes([1, EVENT]) + body, ACK)
        assert (a.code, a.reason, a.event_id) == \
            (m.E_MALFORMED, LIMIT_REASON.format("Envelope"), b""), a
        # Field number 0 written in two bytes: no tag protobuf takes.
        _, body = absence_body(cpr, "zero", extra=b"\x80\x00\x01")
        a = c.ask(bytes([1, EVENT]) + body, ACK)
        assert (a.status, a.code, a.reason) == \
            (m.REJECTED, m.E_MALFORMED,
             "Envelope does not decode as protobuf"), a
        # Inside an unknown field's bytes it is not read (§6: unknown
        # fields are neither checked nor used).
        eid, body = absence_body(cpr, "inside",
                                 extra=ld(99, tag(top + 1, 0) + b"\x01"))
        a = c.ask(bytes([1, EVENT]) + body, ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, eid), a
        # §2, Validation order step 2: a frame over 65,536 bytes names
        # its event only when its envelope decodes; one past the limit
        # does not.
        for number, with_id in ((top, True), (top + 1, False)):
            eid, body = absence_body(cpr, f"big{with_id:d}",
                                     extra=tag(number, 0) + b"\x01")
            pad = 65537 - 2 - len(body) - 5   # tag 2 bytes, length 3
            data = bytes([1, EVENT]) + body + ld(99, bytes(pad))
            assert len(data) == 65537
            a = c.ask(data, ACK)
            assert (a.status, a.code, a.reason, a.event_id) == \
                (m.REJECTED, m.E_TOO_LARGE, "frame of 65537 bytes exceeds "
                 "the limit of 65536", eid if with_id else b""), a
    finally:
        c.close()
    d = Client(hub, "cw-anna", hub.delivery)
    try:
        for kind, name in ((HELLO, "Hello"), (QUERY, "Query"),
                           (ALERT_ACK, "AlertAck"), (9, "Action")):
            r = d.ask(bytes([1, kind]) + tag(1 << 29, 0) + b"\x01", RESULT)
            assert (r.request_id, r.code, r.reason) == \
                (0, m.E_MALFORMED, LIMIT_REASON.format(name)), r
        w = d.ask(bytes([1, HELLO]) + tag((1 << 29) - 1, 0) + b"\x01",
                  WELCOME)
        assert (w.caseworker, w.code) == ("cw-anna", m.OK), w
        q = d.ask(bytes([1, QUERY]) + tag(1, 0) + varint(7) + tag(2, 0) +
                  varint(1), RESULT)
        assert (q.request_id, q.code) == (7, m.OK), q
    finally:
        d.close()
    # A web gateway's frames (§4a) are decoded alike.
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    g = Client(hub, "web-1", hub.delivery)
    try:
        for kind, name in ((10, "Login"), (11, "Logout"), (QUERY, "Query")):
            r = g.ask(bytes([1, kind]) + tag(1, 0) + varint(5) +
                      tag(1 << 29, 0) + b"\x01", RESULT)
            assert (r.request_id, r.code, r.reason) == \
                (0, m.E_MALFORMED, LIMIT_REASON.format(name)), r
        r = g.ask(bytes([1, 10]) + tag(1, 0) + varint(6) +
                  ld(2, b"cw-anna") + ld(3, b"not-set") +
                  tag((1 << 29) - 1, 0) + b"\x01", RESULT)
        assert (r.request_id, r.code, r.reason) == \
            (6, m.E_DENIED, "wrong caseworker or password"), r
    finally:
        g.close()
    assert hub.running
    hub.wait_log(r"HUB-REJECT .*a field number is over 536870911")


def test_varints_tags_and_lengths_at_their_widest_and_one_past(make_hub):
    """§6: a varint in up to ten bytes is read by its value, an eleventh
    byte does not decode; a tag or a length in up to five bytes is read,
    in six it does not decode; on either endpoint."""
    hub = make_hub()
    m = schema()
    cpr = CprGen(9903).born("2009-04-01")
    hub.cprs.add(cpr)

    def padded(value, width):
        """value as a varint of exactly width bytes."""
        out = bytearray()
        for i in range(width):
            out.append((value & 0x7f) | (0x80 if i < width - 1 else 0))
            value >>= 7
        assert value == 0
        return bytes(out)

    undecodable = (m.REJECTED, m.E_MALFORMED,
                   "Envelope does not decode as protobuf", b"")
    c = Client(hub, "school-a", hub.ingest)
    try:
        for width, ok in ((10, True), (11, False)):
            # schema_version 1 written again, last value counts (§3)
            eid, body = absence_body(cpr, f"v{width}",
                                     extra=tag(3, 0) + padded(1, width))
            a = c.ask(bytes([1, EVENT]) + body, ACK)
            got = (a.status, a.code, a.reason, a.event_id)
            assert got == ((m.ACCEPTED, m.OK, "", eid) if ok
                           else undecodable), (width, a)
        for width, ok in ((5, True), (6, False)):
            eid, body = absence_body(cpr, f"t{width}",
                                     extra=padded(3 << 3, width) + b"\x01")
            a = c.ask(bytes([1, EVENT]) + body, ACK)
            got = (a.status, a.code, a.reason, a.event_id)
            assert got == ((m.ACCEPTED, m.OK, "", eid) if ok
                           else undecodable), ("tag", width, a)
            # the agency's length (field 2, right after the 18-byte id)
            eid, body = absence_body(cpr, f"l{width}")
            assert body[18:20] == b"\x12\x08"
            body = body[:19] + padded(8, width) + body[20:]
            a = c.ask(bytes([1, EVENT]) + body, ACK)
            got = (a.status, a.code, a.reason, a.event_id)
            assert got == ((m.ACCEPTED, m.OK, "", eid) if ok
                           else undecodable), ("length", width, a)
    finally:
        c.close()
    d = Client(hub, "cw-anna", hub.delivery)
    try:
        for width, ok in ((5, True), (6, False)):
            q = (tag(1, 0) + varint(40 + width) + padded(2 << 3, width) +
                 b"\x01")
            r = d.ask(bytes([1, QUERY]) + q, RESULT)
            assert (r.request_id, r.code, r.reason) == (
                (40 + width, m.OK, "") if ok else
                (0, m.E_MALFORMED, "Query does not decode as protobuf")), r
        for width, ok in ((10, True), (11, False)):
            q = tag(1, 0) + padded(50 + width, width) + tag(2, 0) + b"\x01"
            r = d.ask(bytes([1, QUERY]) + q, RESULT)
            assert (r.request_id, r.code, r.reason) == (
                (50 + width, m.OK, "") if ok else
                (0, m.E_MALFORMED, "Query does not decode as protobuf")), r
    finally:
        d.close()


def test_a_connection_dropped_mid_window_reconnects_without_a_session(
        make_hub):
    """§2 (a connection that ends) and §4 "Sessions": the same DEALER
    reconnects by itself when its connection drops, but the delivery
    session ended with the old connection: Queries are answered on the
    new one (no Hello needed), nothing is pushed until a Hello, and that
    Hello sends the alerts that were in flight again, `delivery` 2, then
    the one the window held back, `delivery` 1."""
    hub = make_hub()
    m = schema()
    people = CprGen(9904).take(3)
    hub.cprs.update(people)
    hub.absence_alerts("cw-anna", people, "mid")
    hub.wait_applied()
    relay = TcpRelay(hub.delivery)
    d = Client(hub, "cw-anna", relay.endpoint)
    try:
        w = d.ask(bytes([1, HELLO]) + tag(2, 0) + varint(2), WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 3), w
        first = [d.want(ALERT) for _ in range(2)]
        assert [a.delivery for a in first] == [1, 1]
        assert d.recv(1.0) is None           # the window is full
        # The network drops the connection; the socket stays open.
        for sock in list(relay.socks):
            sock.close()
        relay.socks.clear()
        hub.wait_log(r"HUB-SESSION session of cw-anna ended: its "
                     r"connection closed; 2 alerts in flight")
        r = d.ask(bytes([1, QUERY]) + tag(1, 0) + varint(31) + tag(2, 0) +
                  varint(1), RESULT)
        assert (r.request_id, r.code, len(r.alerts)) == (31, m.OK, 3), r
        assert d.recv(1.0) is None           # no session: nothing pushed
        w = d.ask(bytes([1, HELLO]) + tag(2, 0) + varint(8), WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 3), w
        again = [d.want(ALERT) for _ in range(3)]
        got = {a.alert_id: a.delivery for a in again}
        want = {a.alert_id: 2 for a in first}
        [third] = [a for a in r.alerts if a.alert_id not in want]
        want[third.alert_id] = 1
        assert got == want, (got, want)
        assert d.recv(0.5) is None
    finally:
        d.close()
        relay.close()


def split_fields(buf):
    """The top-level fields of protobuf bytes, each as its bytes."""
    out, i = [], 0

    def number():
        nonlocal i
        v = shift = 0
        while True:
            b = buf[i]
            i += 1
            v |= (b & 0x7f) << shift
            shift += 7
            if not b & 0x80:
                return v

    while i < len(buf):
        start = i
        key = number()
        if key & 7 == 2:
            n = number()
            i += n
        else:
            number()
        out.append(buf[start:i])
    return out


def test_fields_in_any_wire_order_are_checked_in_field_number_order(
        make_hub):
    """§3 "Validation": the fields of a message may come in any order on
    the wire (as protobuf allows); the strings are checked in field-number
    order, depth first, whatever order they were sent in."""
    hub = make_hub()
    m = schema()
    cpr = CprGen(9907).born("2009-06-01")
    hub.cprs.add(cpr)
    counts = tag(4, 0) + varint(3) + tag(5, 0) + varint(30) + \
        tag(6, 0) + varint(3)
    c = Client(hub, "school-a", hub.ingest)
    try:
        eid, body = absence_body(cpr, "reversed")
        a = c.ask(bytes([1, EVENT]) + b"".join(
            reversed(split_fields(body))), ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, eid), a

        def refused(key, payload, cpr_field=None):
            eid, body = absence_body(cpr, key)
            rest = [f for f in split_fields(body)
                    if f[:2] != b"\xa2\x01" and
                    (cpr_field is None or f[:1] != b"\x4a")]
            data = ld(20, payload) + b"".join(rest) + (cpr_field or b"")
            a = c.ask(bytes([1, EVENT]) + data, ACK)
            assert (a.status, a.code, a.event_id) == \
                (m.REJECTED, m.E_MALFORMED, eid), a
            return a.reason

        # period_start (2) a bad date sent before school (1) with a NUL
        assert refused("nul", ld(3, b"2024-05-10") + ld(2, b"2024-13-06") +
                       ld(1, b"sch\x00ool") + counts) == \
            "absence_report.school contains a NUL byte"
        # the payload (20) sent before cpr (9): cpr is checked first
        assert refused("utf8", ld(1, b"s" * 300) + ld(2, b"2024-05-06") +
                       ld(3, b"2024-05-10") + counts,
                       ld(9, b"\xff" + cpr.encode()[1:])) == \
            "cpr is not valid UTF-8"
    finally:
        c.close()


def test_an_adapter_connection_dropped_mid_batch_then_resent(make_hub):
    """§1 "Never block on a send" and §3 steps 3-4: frames a DEALER
    still holds when its connection drops go out on the next one; the
    hub answers every frame it reads, so after the resend an id may be
    acked twice, ACCEPTED at most once and otherwise DUPLICATE with the
    same `sequence`, and every event is stored once."""
    hub = make_hub()
    m = schema()
    people = CprGen(9910).take(40)
    hub.cprs.update(people)
    frames = {}
    for i, cpr in enumerate(people):
        eid, body = absence_body(cpr, f"b{i:03d}")
        frames[eid] = bytes([1, EVENT]) + body
    relay = TcpRelay(hub.ingest)
    c = Client(hub, "school-a", relay.endpoint)
    acks = {}
    try:
        first = next(iter(frames))
        a = c.ask(frames[first], ACK)        # the connection is up
        acks[first] = [a]
        for data in frames.values():
            c.raw(data)
        for sock in list(relay.socks):      # the line drops at once
            sock.close()
        relay.socks.clear()
        # Step 4: resend what has no ack yet (sooner than the page's
        # 10 s, which it allows: resending is always safe), until each
        # event has one. Frames on the dropped line are lost; those the
        # socket still held go out on its next connection.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and \
                any(e not in acks for e in frames):
            for eid, data in frames.items():
                if eid not in acks:
                    c.raw(data)
            until = time.monotonic() + 2
            while time.monotonic() < until:
                got = c.recv(until - time.monotonic())
                if got:
                    acks.setdefault(got[1].event_id, []).append(got[1])
        assert set(acks) == set(frames), len(acks)
        for eid, got in acks.items():
            statuses = [a.status for a in got]
            assert statuses.count(m.ACCEPTED) <= 1, got
            assert set(statuses) <= {m.ACCEPTED, m.DUPLICATE}, got
            assert len({a.sequence for a in got}) == 1, got
        # A third send of each: DUPLICATE, the same sequence.
        for eid, data in frames.items():
            a = c.ask(data, ACK)
            while a.event_id != eid:         # a late ack of the resends
                a = c.want(ACK)
            assert (a.status, a.sequence) == \
                (m.DUPLICATE, acks[eid][0].sequence), a
    finally:
        c.close()
        relay.close()
    seqs = sorted(got[0].sequence for got in acks.values())
    assert len(set(seqs)) == len(frames)    # each stored once
