"""Error paths of docs/PROTOCOL.md, as a vendor's client in plain pyzmq sees
them: each refusal the page names, and what the page says to do next.

Uses the standalone client of test_64 (pyzmq, the .proto, hubctl and hubd
as the documents say), none of the project's harness.
"""

import json
import os
import time

import zmq

from test_64_vendor_from_doc import (  # noqa: F401  (hub is a fixture)
    TODAY, Client, ack_of, envelope, frame, hub, pb)


def agency(hub, ctx, ident, types):
    keys = hub.keygen(ident)
    hub.ctl("register-agency", ident, "--key", os.path.join(hub.keys, ident + ".key"),
            "--types", types)
    return keys


def connect(hub, ctx, keys):
    c = Client(ctx, hub.ingest, hub.server_key(), keys)
    ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH})
    assert ev and ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED, ev
    return c


def started_college(hub, ident, desk_caseworker=None):
    """A college registered for dropouts (and, when named, a caseworker
    on the desk), the hub started, and the college's connection: the
    keys, the ZeroMQ context to end and the client."""
    keys = agency(hub, None, ident, "dropout")
    if desk_caseworker:
        hub.keygen(desk_caseworker)
        hub.ctl("register-caseworker", desk_caseworker, "--key",
                os.path.join(hub.keys, desk_caseworker + ".key"), "--desk")
    hub.start()
    ctx = zmq.Context()
    return keys, ctx, connect(hub, ctx, keys)


def one_ack(c, data):
    c.send(data)
    d = c.recv(15)
    assert d is not None, "no ack"
    return ack_of(d)


def test_type_not_registered_is_accepted_unchanged_once_registered(hub):
    """§3 step 3: a refusal for a type the agency is not registered for is
    about the registration, not the event: once the operator adds the type
    the same frame, resent unchanged on the same connection, is ACCEPTED."""
    keys, ctx, c = started_college(hub, "college-t")
    e = envelope("college-t", pb.ENROLMENT, "enrolment",
                 pb.Enrolment(institution="c1", start=TODAY), "enr-unreg")
    f = frame(pb.FRAME_EVENT, e)
    a = one_ack(c, f)
    assert (a.status, a.code, a.retryable, a.event_id) == (pb.REJECTED, pb.E_DENIED, False, e.event_id)
    assert a.reason == "agency is not registered for this event type"
    hub.ctl("register-agency", "college-t", "--key", os.path.join(hub.keys, "college-t.key"),
            "--types", "dropout,enrolment")
    deadline = time.time() + 10
    while True:
        a = one_ack(c, f)
        if a.status != pb.REJECTED or time.time() > deadline:
            break
        time.sleep(0.2)
    assert a.status == pb.ACCEPTED, a
    c.close()
    ctx.destroy(linger=0)


def test_acks_without_an_id_tell_their_frame_by_their_place(hub):
    """§1 "Order of answers", §3 step 3: an ack with an empty event_id names
    no event; the acks of one connection come in the order of its frames,
    so its place tells which frame it answers, and sending that frame again
    gets the same answer again (a vendor must stop, not resend it)."""
    keys, ctx, c = started_college(hub, "college-o")

    def ev(key):
        return envelope("college-o", pb.DROPOUT, "dropout",
                        pb.Dropout(institution="c1", date=TODAY), key)

    short_id = ev("short-id")
    short_id.event_id = short_id.event_id[:15]
    good = [ev("order-%d" % i) for i in range(4)]
    frames = [
        (frame(pb.FRAME_EVENT, good[0]), good[0].event_id, ""),
        (frame(pb.FRAME_EVENT, b"\xff\xff"), b"", "Envelope does not decode as protobuf"),
        (frame(pb.FRAME_EVENT, good[1]), good[1].event_id, ""),
        (frame(pb.FRAME_EVENT, short_id), b"", "event_id must be 16 bytes, got 15"),
        (frame(pb.FRAME_EVENT, good[2]), good[2].event_id, ""),
        (b"\x02\x01", b"", "wire version 2 is not supported (expected 1)"),
        (frame(pb.FRAME_EVENT, good[3]), good[3].event_id, ""),
    ]
    for _round in range(2):
        for data, _, _ in frames:
            c.send(data)
        got = []
        while len(got) < len(frames):
            d = c.recv(15)
            assert d is not None, got
            got.append(ack_of(d))
        for a, (_, want_id, reason) in zip(got, frames):
            assert (a.event_id, a.reason) == (want_id, reason), (a, reason)
            if reason:
                assert (a.status, a.sequence) == (pb.REJECTED, 0)
        # The second round: the valid ones are DUPLICATE, the others the same.
        if _round == 0:
            assert all(a.status == pb.ACCEPTED for a in got[::2])
        else:
            assert all(a.status == pb.DUPLICATE for a in got[::2])
    c.close()
    ctx.destroy(linger=0)


def test_a_stored_id_in_a_frame_failing_steps_1_to_6_gets_that_answer(hub):
    """§3 steps 3-4: the id decides (DUPLICATE) only for a frame that passes
    steps 1-6 of "Validation order"; a frame with a stored id that is too
    large, of another schema_version or names another agency gets that
    step's answer, with the id, and nothing about the stored event."""
    keys, ctx, c = started_college(hub, "college-s")
    e = envelope("college-s", pb.DROPOUT, "dropout",
                 pb.Dropout(institution="c1", date=TODAY), "stored-once")
    a = one_ack(c, frame(pb.FRAME_EVENT, e))
    assert a.status == pb.ACCEPTED
    seq = a.sequence
    from test_64_vendor_from_doc import unknown_field
    big = frame(pb.FRAME_EVENT, e)
    big += unknown_field(65537 - len(big))
    other_schema = pb.Envelope()
    other_schema.CopyFrom(e)
    other_schema.schema_version = 2
    other_agency = pb.Envelope()
    other_agency.CopyFrom(e)
    other_agency.agency = "college-t"
    for data, code, reason in (
            (big, pb.E_TOO_LARGE, "frame of 65537 bytes exceeds the limit of 65536"),
            (frame(pb.FRAME_EVENT, other_schema), pb.E_VERSION,
             "schema version 2 is not supported (expected 1)"),
            (frame(pb.FRAME_EVENT, other_agency), pb.E_DENIED,
             "envelope agency does not match the connection's key")):
        a = one_ack(c, data)
        assert (a.status, a.code, a.reason, a.event_id, a.sequence) == \
            (pb.REJECTED, code, reason, e.event_id, 0), a
    a = one_ack(c, frame(pb.FRAME_EVENT, e))
    assert (a.status, a.sequence) == (pb.DUPLICATE, seq)
    c.close()
    ctx.destroy(linger=0)


def test_a_newer_sender_writes_schema_version_1(hub):
    """§6: a v1 hub takes a newer sender's added fields, but only with
    schema_version 1; the same event marked 2 is E_VERSION (nothing
    stored), and sent again with 1 it is ACCEPTED."""
    keys, ctx, c = started_college(hub, "college-n")
    from test_64_vendor_from_doc import unknown_field
    e = envelope("college-n", pb.DROPOUT, "dropout",
                 pb.Dropout(institution="c1", date=TODAY), "newer-sender")
    e.dropout.MergeFromString(unknown_field(12, field=40))
    e.schema_version = 2
    a = one_ack(c, frame(pb.FRAME_EVENT, e.SerializeToString() + unknown_field(9, field=200)))
    assert (a.status, a.code, a.retryable, a.event_id) == (pb.REJECTED, pb.E_VERSION, False, e.event_id)
    assert a.reason == "schema version 2 is not supported (expected 1)"
    e.schema_version = 1
    a = one_ack(c, frame(pb.FRAME_EVENT, e.SerializeToString() + unknown_field(9, field=200)))
    assert a.status == pb.ACCEPTED, a
    c.close()
    ctx.destroy(linger=0)


def test_request_id_0_is_also_the_answer_to_an_unreadable_frame(hub):
    """§4 Queries: request_id 0 is what a Result carries for a frame the hub
    read no request_id from, so a client numbers its requests from 1."""
    from test_64_vendor_from_doc import connect_caseworker, decode
    hub.keygen("cw-r")
    hub.ctl("register-caseworker", "cw-r", "--key", os.path.join(hub.keys, "cw-r.key"))
    hub.start()
    ctx = zmq.Context()
    c = connect_caseworker(hub, ctx, "cw-r")
    c.send(frame(pb.FRAME_QUERY, b"\xff\xff"))
    c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=0, kind=pb.OPEN_ALERTS)))
    c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=1, kind=pb.OPEN_ALERTS)))
    got = []
    while len(got) < 3:
        d = c.recv(15)
        assert d is not None, got
        kind, m = decode(d)
        if kind == pb.FRAME_RESULT:
            got.append((m.request_id, m.code))
    assert got == [(0, pb.E_MALFORMED), (0, pb.OK), (1, pb.OK)], got
    c.close()
    ctx.destroy(linger=0)


def test_a_correction_naming_another_persons_event_corrects_nothing(hub):
    """§3 "Corrections": supersedes naming the agency's own event about
    another person is accepted and applied as a new event; the named event
    stays as it was (not marked, its alert open), each person has their own
    dropout alert."""
    from test_64_vendor_from_doc import connect_caseworker, decode
    keys, ctx, c = started_college(hub, "college-p", "cw-p")
    p1, p2 = "0101101234", "0202101234"
    first = envelope("college-p", pb.DROPOUT, "dropout",
                     pb.Dropout(institution="c1", date=TODAY), "p1", cpr=p1)
    other = envelope("college-p", pb.DROPOUT, "dropout",
                     pb.Dropout(institution="c2", date=TODAY), "p2", cpr=p2,
                     supersedes=first.event_id)
    assert one_ack(c, frame(pb.FRAME_EVENT, first)).status == pb.ACCEPTED
    assert one_ack(c, frame(pb.FRAME_EVENT, other)).status == pb.ACCEPTED
    hub.wait_alerts(2)
    w = connect_caseworker(hub, ctx, "cw-p")
    rid = [0]

    def ask(q):
        rid[0] += 1
        q.request_id = rid[0]
        w.send(frame(pb.FRAME_QUERY, q))
        while True:
            d = w.recv(15)
            assert d is not None
            kind, m = decode(d)
            if kind == pb.FRAME_RESULT and m.request_id == rid[0]:
                assert m.code == pb.OK, m
                return m

    open_alerts = ask(pb.Query(kind=pb.OPEN_ALERTS)).alerts
    assert sorted((a.rule, a.cpr) for a in open_alerts) == [("dropout", p1), ("dropout", p2)]
    for cpr, eid in ((p1, first.event_id), (p2, other.event_id)):
        tl = ask(pb.Query(kind=pb.TIMELINE, cpr=cpr)).timeline
        events = [t for t in tl if not t.is_alert]
        assert [t.event_id for t in events] == [eid], tl
        assert not events[0].superseded and not events[0].summary.endswith("(superseded)")
    c.close()
    w.close()
    ctx.destroy(linger=0)


def test_a_frame_over_the_cap_on_delivery_ends_the_session(hub):
    """§2 limits: a frame over 1 MiB closes the connection; the DEALER
    reconnects by itself, but its delivery session ended with the old
    connection: queries are answered, alerts are pushed only after a new
    Hello (§4 step 2), the one in flight again with the next delivery."""
    from test_64_vendor_from_doc import connect_caseworker, decode, hello
    keys, ctx, c = started_college(hub, "college-c", "cw-c")
    w = connect_caseworker(hub, ctx, "cw-c")
    welcome, alerts = hello(w, 5)
    assert welcome.code == pb.OK and alerts == []
    first = envelope("college-c", pb.DROPOUT, "dropout",
                     pb.Dropout(institution="c1", date=TODAY), "cap-1", cpr="0101101234")
    assert one_ack(c, frame(pb.FRAME_EVENT, first)).status == pb.ACCEPTED
    d = w.recv(15)
    assert d is not None and decode(d)[0] == pb.FRAME_ALERT
    w.send(frame(pb.FRAME_QUERY, b"x" * (1048576 - 1)))
    assert w.wait_event({zmq.EVENT_DISCONNECTED}, 15) is not None
    assert w.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}, 15) is not None
    second = envelope("college-c", pb.DROPOUT, "dropout",
                      pb.Dropout(institution="c1", date=TODAY), "cap-2", cpr="0202101234")
    assert one_ack(c, frame(pb.FRAME_EVENT, second)).status == pb.ACCEPTED
    hub.wait_alerts(2)
    w.send(frame(pb.FRAME_QUERY, pb.Query(request_id=7, kind=pb.OPEN_ALERTS)))
    got = []
    while True:
        d = w.recv(3)
        if d is None:
            break
        got.append(decode(d))
    assert [k for k, _ in got] == [pb.FRAME_RESULT], got
    assert got[0][1].request_id == 7 and len(got[0][1].alerts) == 2
    welcome, alerts = hello(w, 5)
    assert welcome.code == pb.OK and welcome.open_alerts == 2
    assert sorted(a.delivery for a in alerts) == [1, 2], alerts
    c.close()
    w.close()
    ctx.destroy(linger=0)


def test_each_answer_of_the_delivery_table(hub):
    """§4 "What to do with each answer": the codes and reasons a caseworker
    client gets, each with the request_id the table says."""
    from test_64_vendor_from_doc import connect_caseworker, decode
    hub.keygen("cw-a")
    hub.ctl("register-caseworker", "cw-a", "--key", os.path.join(hub.keys, "cw-a.key"))
    hub.start("--query_rate", "1", "--query_burst", "1", "--sessions_max", "1")
    ctx = zmq.Context()
    c = connect_caseworker(hub, ctx, "cw-a")

    def answer(cl, data, kind=pb.FRAME_RESULT):
        cl.send(data)
        d = cl.recv(15)
        assert d is not None
        k, m = decode(d)
        assert k == kind, (k, m)
        return m

    def is_(m, rid, code, reason):
        assert (m.request_id, m.code, m.reason) == (rid, code, reason), m

    is_(answer(c, frame(pb.FRAME_QUERY, pb.Query(request_id=1))), 1, pb.E_MALFORMED,
        "unknown query kind")
    is_(answer(c, frame(pb.FRAME_QUERY, pb.Query(request_id=2, kind=pb.TIMELINE, cpr="0303101234"))),
        2, pb.E_UNAVAILABLE, "too many queries; wait a moment and ask again")
    time.sleep(1.5)
    is_(answer(c, frame(pb.FRAME_QUERY, pb.Query(request_id=3, kind=pb.TIMELINE, cpr="0303101234"))),
        3, pb.E_DENIED, "this person is not assigned to you or your desk")
    act = pb.Action(request_id=4, alert_id=b"\0" * 9, kind=pb.CONTACT_MADE, how="phone")
    is_(answer(c, frame(pb.FRAME_ACTION, act)), 4, pb.E_DENIED,
        "this alert is not addressed to you or your desk")
    act.request_id = 5
    is_(answer(c, frame(pb.FRAME_ACTION, act)), 5, pb.E_UNAVAILABLE,
        "too many actions; wait a moment and send it again")
    is_(answer(c, frame(pb.FRAME_QUERY, b"\xff\xff")), 0, pb.E_MALFORMED,
        "Query does not decode as protobuf")
    # An AlertAck is not answered: the next frame is the next query's answer.
    c.send(frame(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=b"\0" * 9)))
    time.sleep(1.5)
    is_(answer(c, frame(pb.FRAME_QUERY, pb.Query(request_id=6, kind=pb.OPEN_ALERTS))),
        6, pb.OK, "")
    # The session table (sessions_max 1) is full for a second connection.
    w = answer(c, frame(pb.FRAME_HELLO, pb.Hello(window=1)), pb.FRAME_WELCOME)
    assert w.code == pb.OK
    c2 = connect_caseworker(hub, ctx, "cw-a")
    w = answer(c2, frame(pb.FRAME_HELLO, pb.Hello(window=1)), pb.FRAME_WELCOME)
    assert (w.code, w.reason, w.open_alerts) == (
        pb.E_UNAVAILABLE, "the hub's session table is full (sessions_max); retry later", 0)
    hub.ctl("revoke-caseworker", "cw-a")
    revoked = "the key this connection authenticated with has been revoked or replaced"
    deadline = time.time() + 10
    while True:
        time.sleep(1.2)
        m = answer(c2, frame(pb.FRAME_QUERY, pb.Query(request_id=7, kind=pb.OPEN_ALERTS)))
        if m.code == pb.E_DENIED or time.time() > deadline:
            break
    is_(m, 7, pb.E_DENIED, revoked)
    is_(answer(c2, frame(pb.FRAME_HELLO, pb.Hello(window=1))), 0, pb.E_DENIED, revoked)
    c.close()
    c2.close()
    ctx.destroy(linger=0)


def test_answers_a_client_does_not_read_are_dropped_beyond_its_queues(hub):
    """§4 Limits: unread answers wait in the hub (about 300), in the
    client's own queue and in the TCP buffers; beyond, they are dropped
    (logged); the connection lives on and a request sent again is
    answered."""
    from test_64_vendor_from_doc import connect_caseworker, decode
    hub.keygen("cw-u")
    hub.ctl("register-caseworker", "cw-u", "--key", os.path.join(hub.keys, "cw-u.key"))
    hub.start()
    ctx = zmq.Context()
    # Small queues of our own: fewer answers wait on the client side.
    ctx.setsockopt(zmq.RCVHWM, 10)
    ctx.setsockopt(zmq.RCVBUF, 8192)
    c = connect_caseworker(hub, ctx, "cw-u")
    n = 4000
    for i in range(n):
        c.sock.send(frame(pb.FRAME_QUERY, pb.Query(request_id=i + 1, kind=pb.OPEN_ALERTS)))
    time.sleep(3)
    got = 0
    while c.recv(2) is not None:
        got += 1
    # How many pass depends on the TCP buffers (thousands); those beyond
    # are dropped, never queued without bound, and the hub says so.
    assert got <= n
    if got < n:
        assert "HUB-QUERY result not sent" in hub.logtext()
    time.sleep(2.5)  # the query allowance refills
    c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=n + 1, kind=pb.OPEN_ALERTS)))
    d = c.recv(15)
    assert d is not None
    kind, m = decode(d)
    assert (kind, m.request_id, m.code) == (pb.FRAME_RESULT, n + 1, pb.OK), m
    c.close()
    ctx.destroy(linger=0)


def test_acks_a_sender_does_not_read_are_dropped_and_logged_once_a_minute(hub):
    """§3 step 2: the hub keeps about 100,000 acks a connection has not
    taken in and drops the ones beyond; those events are stored all the
    same, and a resend of one is DUPLICATE. HUB-ACK says so without
    flooding the journal: the first dropped ack of a minute is a line,
    the rest are counted and summed up in one line (here: at the stop)."""
    keys = agency(hub, None, "school-v", "absence")
    hub.start()
    ctx = zmq.Context()
    # Small queues of our own, as a sender that reads no acks has.
    ctx.setsockopt(zmq.RCVHWM, 1)
    ctx.setsockopt(zmq.RCVBUF, 4096)
    c = connect(hub, ctx, keys)
    n = 200000
    env = envelope("school-v", pb.ABSENCE_REPORT, "absence_report",
                   pb.AbsenceReport(school="s1", period_start=TODAY,
                                    period_end=TODAY, lessons_absent=0,
                                    lessons_expected=10, kind=pb.UNLAWFUL),
                   "unread")
    ids = [env.event_id[:8] + i.to_bytes(8, "big") for i in range(n)]
    sent = 0
    deadline = time.time() + 300
    while sent < n:
        env.event_id = ids[sent]
        try:
            c.sock.send(frame(pb.FRAME_EVENT, env), zmq.DONTWAIT)
            sent += 1
        except zmq.Again:        # §1: not taken now, send it a moment later
            assert time.time() < deadline, f"only {sent} frames taken"
            time.sleep(0.001)
    # Every event is stored, whether its ack reaches us or not.
    while True:
        stats = json.loads(hub.ctl("stats", "--json").stdout)
        if stats["last_seq"] == n:
            break
        assert time.time() < deadline, stats
        time.sleep(0.5)
    acked = set()
    while True:
        d = c.recv(5)
        if d is None:
            break
        a = ack_of(d)
        assert a.status == pb.ACCEPTED, a
        acked.add(a.event_id)
    assert len(acked) < n, "no ack was dropped: the queues held them all"
    # The resend of an event whose ack was dropped: DUPLICATE.
    lost = next(i for i in ids if i not in acked)
    env.event_id = lost
    a = one_ack(c, frame(pb.FRAME_EVENT, env))
    assert a.status == pb.DUPLICATE and a.sequence > 0, a
    c.close()
    ctx.destroy(linger=0)
    hub.stop()
    lines = [line for line in hub.logtext().splitlines()
             if " HUB-ACK " in line]
    assert len(lines) == 2, lines[:5] + [f"... {len(lines)} lines"]
    assert lines[0].endswith(
        "HUB-ACK ack not sent (Resource temporarily unavailable); the "
        "sender will resend and get DUPLICATE"), lines[0]
    more = n - len(acked) - 1
    assert lines[1].endswith(
        f"HUB-ACK {more} more acks not sent since the last HUB-ACK line, "
        "the last to school-v (Resource temporarily unavailable); their "
        "senders will resend and get DUPLICATE"), lines[1]


def test_answers_dropped_on_delivery_are_logged_once_a_minute(hub):
    """§4 Limits: answers a client does not read are dropped beyond its
    queues (logged `HUB-DELIVER answer not sent`, `HUB-QUERY result not
    sent`), but not a line each: a client in a loop that reads nothing
    must not flood the journal. The first of a minute is a line, the
    rest are summed up in one (here: at the stop); the answers that did
    reach the client and those dropped make up every frame sent."""
    from test_64_vendor_from_doc import connect_caseworker
    hub.keygen("cw-u")
    hub.ctl("register-caseworker", "cw-u", "--key",
            os.path.join(hub.keys, "cw-u.key"))
    hub.start("--query_rate", "100000", "--query_burst", "100000")
    ctx = zmq.Context()
    ctx.setsockopt(zmq.RCVHWM, 1)
    ctx.setsockopt(zmq.RCVBUF, 4096)
    c = connect_caseworker(hub, ctx, "cw-u")
    n = 30000
    for i in range(n):
        c.sock.send(frame(pb.FRAME_QUERY, b"\xff"))       # does not decode
        c.sock.send(frame(pb.FRAME_QUERY, pb.Query(request_id=i + 1,
                                                   kind=pb.OPEN_ALERTS)))
    time.sleep(3)
    got = {pb.OK: 0, pb.E_MALFORMED: 0}
    while True:
        d = c.recv(3)
        if d is None:
            break
        r = pb.Result.FromString(d[2:])
        got[r.code] += 1
    assert got[pb.OK] < n and got[pb.E_MALFORMED] < n, got
    c.close()
    ctx.destroy(linger=0)
    hub.stop()
    log = hub.logtext().splitlines()
    for ident, what, first, code in (
            ("HUB-DELIVER", "answers", "answer not sent", pb.E_MALFORMED),
            ("HUB-QUERY", "results", "result not sent", pb.OK)):
        lines = [line for line in log if f" {ident} " in line
                 and " not sent" in line]
        assert len(lines) == 2, lines[:5] + [f"... {len(lines)} lines"]
        assert lines[0].endswith(
            f"{ident} {first}: Resource temporarily unavailable"), lines[0]
        more = n - got[code] - 1
        assert lines[1].endswith(
            f"{ident} {more} more {what} not sent since the last "
            f"{ident} line (Resource temporarily unavailable)"), lines[1]


def test_refused_delivery_frames_are_logged_as_ingest_refusals_are(hub):
    """§2, §4: a frame the delivery endpoint refuses is answered and
    audited every time, and no limit holds such frames back; hubd's log
    says the first 100 of a run of minutes in a line each, as it does
    HUB-REJECT on ingest, and sums up the rest in one line (here: at
    the stop), so that a client in a loop does not flood the journal
    (the audit trail has its own bound: SECURITY.md, audit-dropped)."""
    from test_64_vendor_from_doc import connect_caseworker, decode
    for cw in ("cw-u", "cw-w"):
        hub.keygen(cw)
        hub.ctl("register-caseworker", cw, "--key",
                os.path.join(hub.keys, cw + ".key"))
    hub.start("--sessions_max", "1")
    ctx = zmq.Context()
    c = connect_caseworker(hub, ctx, "cw-u")
    n, chunk = 1500, 500
    got = 0
    # Read the answers after each 500 rounds: 1,000 answers fit in this
    # socket's own queue (ZMQ_RCVHWM), while 3,000 unread would rely on
    # the TCP buffers, and the hub drops answers beyond them (PROTOCOL.md
    # §4: "read what you ask for"), as it did once on a loaded machine.
    for _ in range(n // chunk):
        for _ in range(chunk):
            c.sock.send(frame(pb.FRAME_QUERY, b"\xff"))      # no Query
            c.sock.send(frame(pb.FRAME_EVENT, b""))          # not taken
            c.sock.send(frame(pb.FRAME_ALERT_ACK,
                              pb.AlertAck(alert_id=b"x")))
        for _ in range(2 * chunk):         # the AlertAcks are not answered
            d = c.recv(15)
            assert d is not None, f"{got} answers"
            kind, m = decode(d)
            assert (kind, m.code) == (pb.FRAME_RESULT, pb.E_MALFORMED), m
            got += 1
    # The session table is full: each Hello of another caseworker refused.
    w = connect_caseworker(hub, ctx, "cw-w")
    c.send(frame(pb.FRAME_HELLO, pb.Hello()))
    assert decode(c.recv(15))[1].code == pb.OK
    hellos = 300
    for _ in range(hellos):
        w.send(frame(pb.FRAME_HELLO, pb.Hello()))
    for _ in range(hellos):
        d = w.recv(15)
        assert d is not None
        assert decode(d)[1].code == pb.E_UNAVAILABLE
    c.close()
    w.close()
    ctx.destroy(linger=0)
    hub.stop()
    log = hub.logtext().splitlines()
    lines = [line for line in log if " warn HUB-DELIVER " in line]
    assert len(lines) == 101, lines[:3] + [f"... {len(lines)} lines"]
    assert lines[-1].endswith(
        f"HUB-DELIVER {3 * n - 100} more frames refused since the last "
        "HUB-DELIVER line"), lines[-1]
    lines = [line for line in log if " warn HUB-HELLO " in line]
    assert len(lines) == 101, lines[:3] + [f"... {len(lines)} lines"]
    assert lines[0].endswith(
        "HUB-HELLO no session for cw-w: the hub's session table is full "
        "(sessions_max); retry later"), lines[0]
    assert lines[-1].endswith(
        f"HUB-HELLO {hellos - 100} more Hellos refused since the last "
        "HUB-HELLO line"), lines[-1]
