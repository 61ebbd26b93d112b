"""113 a vendor's caseworker client a fourth time, written from
docs/PROTOCOL.md §1, §2 and §4 alone (tests/e2e/vendorclient.py: its own
key-file reader, framing and CURVE set-up). Only the hub itself (keys,
registrations, events, the hub clock) comes from hubtest.py. What the
earlier vendor tests left out:

- frames a client queues while the hub is down (§1 "Never block on a
  send") read in their order after the restart;
- what a withdrawn and a moved alert still allow (an Action) and what
  they no longer do (an AlertAck, the open list, the timeline), also
  for a desk alert once the membership has ended (§4);
- `delivery` counted over desk colleagues and a second connection (§4
  step 5);
- the heartbeat (§1, §3 step 2, §4 "Limits"): what the hub's TTL does
  and does not do for a client whose hub goes silent, and the
  connections the heartbeat closes because a queue is full, on the
  client's side (it reads nothing) or on the hub's (a writer held)."""

import json
import signal
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

from hubtest import (SLOW, CprGen, envelope, ev_assignment, ev_desk,
                     ev_dropout, ev_readiness, frame, log_write_held,
                     rules_hub, wait_for)
from vendorclient import (ACK, ALERT, ALERT_ACK, HELLO, QUERY, RESULT,
                          WELCOME, Client, schema)

ACTION = 9
NOT_YOURS = "this alert is not addressed to you or your desk"
NOT_ASSIGNED = "this person is not assigned to you or your desk"


def hello(window):
    return bytes([1, HELLO]) + schema().Hello(
        window=window, client="vendor4 1.0").SerializeToString()


def query(request_id, **fields):
    m = schema()
    fields.setdefault("kind", m.OPEN_ALERTS)
    return bytes([1, QUERY]) + m.Query(request_id=request_id,
                                       **fields).SerializeToString()


def ack(alert_id, note=""):
    return bytes([1, ALERT_ACK]) + schema().AlertAck(
        alert_id=alert_id, note=note).SerializeToString()


def action(request_id, alert_id, how="phone", kind=1):
    return bytes([1, ACTION]) + schema().Action(
        request_id=request_id, alert_id=alert_id, kind=kind,
        how=how).SerializeToString()


def quiet(c, seconds):
    """Nothing arrives on c for seconds (frames are kept in c.other)."""
    got = c.recv(seconds)
    assert got is None, got


def pushed(c, n):
    return [c.want(ALERT) for _ in range(n)]


def client_with(hub, who, endpoint, monitor=0, **options):
    """A Client whose socket options (`zmq` option name: value) are set
    before it connects, as libzmq needs them; with monitor (a mask of
    events), (the client, a monitor socket that saw its first
    handshake)."""
    c = Client(hub, who, "inproc://not-yet")
    c.s.disconnect("inproc://not-yet")
    for name, value in options.items():
        c.s.setsockopt(getattr(zmq, name), value)
    mon = c.s.get_monitor_socket(monitor) if monitor else None
    c.s.connect(endpoint)
    return (c, mon) if monitor else c


def audit(hub, action_name):
    out = hub.hubctl("audit", "show", "--json").stdout
    return [r for r in map(json.loads, out.splitlines())
            if r["action"] == action_name]


def test_frames_queued_while_the_hub_is_down_are_read_in_their_order(
        make_hub):
    """§1: with ZMQ_IMMEDIATE 0 "frames sent while the hub is down reach
    it when it is back", and "the hub handles the frames of one connection
    one after another, in the order it reads them". An AlertAck, a Hello
    and a Query queued while hubd is stopped therefore reach the restarted
    hub in that order: the Hello's Welcome no longer counts the
    acknowledged alert, only the other is sent again (`delivery` 2, §4
    step 5), and the Query after it is answered with its request_id and
    without the acknowledged alert."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    p1, p2 = CprGen(11301).born("2004-02-11"), CprGen(11302).born(
        "2005-03-12")
    for p in (p1, p2):
        hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p1, "2026-10-26"), ev_dropout(p2, "2026-10-26"))
    hub.wait_applied()
    c = Client(hub, "cw-anna", hub.delivery)
    mon = c.s.get_monitor_socket(zmq.EVENT_DISCONNECTED |
                                 zmq.EVENT_HANDSHAKE_SUCCEEDED)
    d = client_with(hub, "cw-anna", hub.delivery, IMMEDIATE=1)
    try:
        assert d.ask(query(4), RESULT).code == m.OK
        w = c.ask(hello(8), WELCOME)
        assert (w.code, w.caseworker, w.open_alerts) == \
            (m.OK, "cw-anna", 2), w
        first = pushed(c, 2)
        assert [a.delivery for a in first] == [1, 1]
        assert sorted(a.alert_id for a in first) == \
            [a.alert_id for a in first], "§4 Order: queue order"
        hub.stop()
        wait_for(lambda: mon.poll(0) and recv_monitor_message(mon)[
            "event"] == zmq.EVENT_DISCONNECTED, 10, "the disconnect")
        # ZMQ_IMMEDIATE 1: while there is no connection a send cannot
        # go anywhere: a ZMQ_DONTWAIT send fails with EAGAIN.
        wait_for(lambda: not d.s.poll(0, zmq.POLLOUT), 10,
                 "d's connection gone")
        try:
            d.s.send(query(5), zmq.DONTWAIT)
            raise AssertionError("ZMQ_IMMEDIATE 1 took a frame with no "
                                 "connection")
        except zmq.Again:
            pass
        # The hub is down: the socket queues (ZMQ_IMMEDIATE 0).
        c.s.send(ack(first[0].alert_id, note="seen while you were away"),
                 zmq.DONTWAIT)
        c.s.send(hello(8), zmq.DONTWAIT)
        c.s.send(query(77), zmq.DONTWAIT)
        hub.start()
        w = c.want(WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 1), \
            f"the AlertAck queued before the Hello was not read first: {w}"
        [again] = pushed(c, 1)
        assert (again.alert_id, again.delivery) == \
            (first[1].alert_id, 2), again
        r = c.want(RESULT)
        assert (r.request_id, r.code,
                [a.alert_id for a in r.alerts]) == \
            (77, m.OK, [first[1].alert_id]), r
        quiet(c, 0.5)
        assert not [f for f in c.other if f[0] == ALERT], c.other
        # Once its handshake succeeded again, d takes frames again.
        r = wait_for(lambda: d.ask(query(6), RESULT)
                     if d.s.poll(0, zmq.POLLOUT) else None, 10,
                     "d connected again")
        assert (r.request_id, r.code) == (6, m.OK), r
    finally:
        mon.close(0)
        c.close()
        d.close()
    recs = [(r["result"], r["detail"]) for r in audit(hub, "ack")]
    assert recs == [("ok", f"{first[0].alert_id.hex()} seen while you "
                     "were away")], recs


def test_a_withdrawn_and_a_moved_alert_as_the_client_sees_them(make_hub):
    """§4: an Action's `alert_id` is that of an alert "open or closed
    (acknowledged, or withdrawn)", recorded by its recipient; once a
    reassignment moves an alert away, its former recipient (no longer
    the person's contact) is refused with the reason of step 2 and the
    new one may record. An AlertAck of either by the former recipient
    changes nothing and is not answered; neither is in their open list,
    asked whole or by id (`names_no_one` false: both name a person); the
    withdrawn alert stays in the timeline with `open` false."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = schema()
    pupil = CprGen(11303).born("2011-03-04")
    adult = CprGen(11304).born("2004-05-06")
    hub.assign(pupil, "cw-anna")
    hub.assign(adult, "cw-anna")
    orig = ev_readiness(pupil, "2026-09-04", 9)
    hub.send(orig, ev_dropout(adult, "2026-09-04"))
    hub.wait_applied()
    anna = Client(hub, "cw-anna", hub.delivery)
    bob = Client(hub, "cw-bob", hub.delivery)
    try:
        w = anna.ask(hello(1), WELCOME)
        assert w.open_alerts == 2, w
        [first] = pushed(anna, 1)
        quiet(anna, 0.3)                     # the window of 1 is full
        r = anna.ask(query(1), RESULT)
        by_rule = {a.rule: a for a in r.alerts}
        readiness, dropout = by_rule["readiness"], by_rule["dropout"]
        # OPEN_ALERTS' `delivery` is the stored count: 0 for the one the
        # window held back.
        [held] = [a for a in r.alerts if a.alert_id != first.alert_id]
        assert held.delivery == 0, held
        # The readiness assessment is corrected: its alert is withdrawn.
        corr = ev_readiness(pupil, "2026-09-04", 9, ready=True)
        corr.supersedes = orig.event_id
        hub.send(corr)
        # The adult gets cw-bob as contact person: the dropout moves.
        hub.send(ev_assignment(adult, "cw-bob", "2026-09-07"))
        hub.wait_applied()
        anna.raw(ack(readiness.alert_id, note="too late"))
        anna.raw(ack(dropout.alert_id, note="not mine any more"))
        r = anna.ask(query(2), RESULT)
        assert [a.rule for a in r.alerts] == ["withdrawn"], r
        for i, aid in enumerate((readiness.alert_id, dropout.alert_id)):
            r = anna.ask(query(10 + i, alert_id=aid), RESULT)
            assert (r.code, list(r.alerts), r.names_no_one) == \
                (m.OK, [], False), r
        r = bob.ask(query(3), RESULT)
        assert [(a.alert_id, a.recipient) for a in r.alerts] == \
            [(dropout.alert_id, "cw-bob")], \
            f"the former recipient's AlertAck closed the moved alert: {r}"
        # Actions: the withdrawn alert by its recipient, the moved one by
        # its new recipient; not the moved one by its former recipient.
        r = anna.ask(action(20, readiness.alert_id), RESULT)
        assert (r.request_id, r.code, r.reason) == (20, m.OK, ""), r
        r = anna.ask(action(21, dropout.alert_id), RESULT)
        assert (r.request_id, r.code, r.reason) == \
            (21, m.E_DENIED, NOT_YOURS), r
        r = bob.ask(action(22, dropout.alert_id), RESULT)
        assert (r.request_id, r.code) == (22, m.OK), r
        # The moved person is bob's now, and no longer anna's to see.
        r = anna.ask(query(5, kind=m.TIMELINE, cpr=adult), RESULT)
        assert (r.code, r.reason) == (m.E_DENIED, NOT_ASSIGNED), r
        r = bob.ask(query(6, kind=m.TIMELINE, cpr=adult), RESULT)
        assert r.code == m.OK and [e.alert_id for e in r.timeline
                                   if e.is_alert] == [dropout.alert_id], r
        r = anna.ask(query(4, kind=m.TIMELINE, cpr=pupil), RESULT)
        alerts = {e.alert_id: e for e in r.timeline if e.is_alert}
        assert alerts[readiness.alert_id].open is False, r
        assert any(not e.is_alert and e.type == 12 and e.agency == "hub"
                   for e in r.timeline), r
        # The withdrawal's notice is pushed into the window its
        # withdrawn alert (or the moved one) left.
        seen = [first] + [f[1] for f in anna.other if f[0] == ALERT]
        while not any(a.rule == "withdrawn" for a in seen):
            seen.append(anna.want(ALERT))
        assert all(f[0] != WELCOME for f in anna.other)
    finally:
        anna.close()
        bob.close()
    recs = sorted((r["actor"], r["result"], r["detail"])
                  for r in audit(hub, "ack"))
    assert recs == sorted([
        ("cw-anna", "not-open", readiness.alert_id.hex()),
        ("cw-anna", "not-open", dropout.alert_id.hex())]), recs


def test_delivery_counts_over_desk_colleagues_and_a_second_connection(
        make_hub):
    """§4 step 5: `delivery` counts the alert's deliveries to anyone, on
    any session: a desk alert sent to two desk members and then to a
    second connection of one of them carries 1, 2, 3 (in the order the
    sessions were opened); `OPEN_ALERTS` shows the stored count. The
    colleague's AlertAck closes it for the desk: no session is sent it
    again, also not on a new Hello, and `Welcome.open_alerts` no longer
    counts it."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    hub.keygen("desk-eve")
    hub.register_caseworker("desk-eve", desk=True)
    orphan = CprGen(11305).born("2004-07-08")    # no contact person
    dora = Client(hub, "desk-dora", hub.delivery)
    eve = Client(hub, "desk-eve", hub.delivery)
    dora2 = Client(hub, "desk-dora", hub.delivery)
    try:
        for c in (dora, eve, dora2):
            w = c.ask(hello(4), WELCOME)
            assert (w.code, w.open_alerts) == (m.OK, 0), w
        hub.send(ev_dropout(orphan, "2026-10-26"))
        got = [(c, c.want(ALERT)) for c in (dora, eve, dora2)]
        ids = {a.alert_id for _, a in got}
        assert len(ids) == 1 and got[0][1].recipient == "duty-desk", got
        [aid] = ids
        assert sorted(a.delivery for _, a in got) == [1, 2, 3], \
            [a.delivery for _, a in got]
        wait_for(lambda: [a.delivery for a in dora.ask(
            query(1, alert_id=aid), RESULT).alerts] == [3], 10,
            "the stored count")
        eve.raw(ack(aid))
        r = eve.ask(query(2), RESULT)
        assert list(r.alerts) == [], r
        for c in (dora, dora2):
            r = c.ask(query(3), RESULT)
            assert list(r.alerts) == [], r
            w = c.ask(hello(4), WELCOME)
            assert (w.code, w.open_alerts) == (m.OK, 0), w
        for c in (dora, eve, dora2):
            quiet(c, 0.3)
            assert not [f for f in c.other if f[0] == ALERT], c.other
    finally:
        for c in (dora, eve, dora2):
            c.close()



def test_a_silent_hub_is_given_up_only_from_a_ping_on(make_hub):
    """§1 Heartbeats: the hub sends a PING every 5 s, each with a ZMTP TTL
    of 15 s, which libzmq on the client's side applies from that PING on,
    until anything else arrives. With the hub silent (stopped, its
    connections left open): a connection whose last frame from the hub
    was a PING is closed 15 s after it, so 10 to 15 s into the silence;
    one that received an answer after its last PING is not closed by
    the TTL at all; one whose client sets ZMQ_HEARTBEAT_IVL and
    ZMQ_HEARTBEAT_TIMEOUT itself is closed by its own heartbeat."""
    hub = make_hub()
    m = schema()
    idle = Client(hub, "cw-anna", hub.delivery)
    talked = Client(hub, "cw-anna", hub.delivery)
    own = client_with(hub, "cw-anna", hub.delivery, HEARTBEAT_IVL=500,
                      HEARTBEAT_TIMEOUT=2000)
    mons = {c: c.s.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            for c in (idle, talked, own)}
    stopped = False
    try:
        for c in (idle, talked, own):
            assert c.ask(hello(4), WELCOME).code == m.OK
        time.sleep(6)                  # the hub's first PING has come
        for c in (talked, own):        # ... and an answer after it
            assert c.ask(query(1), RESULT).code == m.OK
        hub.proc.send_signal(signal.SIGSTOP)
        stopped = True
        t0 = time.monotonic()
        assert mons[own].poll(4000), "own heartbeat: still connected"
        assert mons[idle].poll(0) == 0, "idle: closed before the TTL"
        assert mons[idle].poll(int((16.5 - (time.monotonic() - t0)) *
                                   1000)), \
            "idle: still connected 16.5 s into the hub's silence"
        waited = time.monotonic() - t0
        assert waited >= 9.5, waited
        assert mons[talked].poll(2000) == 0, \
            "talked: the TTL closed a connection answered after its PING"
    finally:
        if stopped:
            hub.proc.send_signal(signal.SIGCONT)
        for c, mon in mons.items():
            mon.close(0)
            c.close()


def test_a_desk_membership_ending_under_a_live_connection(make_hub):
    """§4 "Desk members": "from the day after it ends, nothing more of the
    desk's is pushed to them, their AlertAcks for the desk's alerts change
    nothing, and OPEN_ALERTS no longer lists them"; an Action on the
    desk's alert is then refused (§4 Action, step 2). cw-bob, on the desk
    until 2026-11-02, was sent a desk alert (window 1) on a connection he
    keeps: on 11-03 his AlertAck of it leaves it open for desk-dora, his
    list and his next Welcome no longer hold it, and his own new alert
    still reaches him in the window it held."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    ending = ev_desk("cw-bob", "2026-10-01")
    ending.desk_membership.to = "2026-11-02"
    hub.send(ending)
    orphan = CprGen(11306).born("2004-09-10")     # no contact person
    own = CprGen(11307).born("2005-10-11")
    hub.assign(own, "cw-bob")
    hub.send(ev_dropout(orphan, "2026-10-30"))
    hub.wait_applied()
    bob = Client(hub, "cw-bob", hub.delivery)
    dora = Client(hub, "desk-dora", hub.delivery)
    try:
        w = bob.ask(hello(1), WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 1), w
        [desk] = pushed(bob, 1)
        assert (desk.cpr, desk.recipient) == (orphan, "duty-desk"), desk
        r = bob.ask(action(1, desk.alert_id), RESULT)
        assert r.code == m.OK, r           # still a member today
        hub.advance("2026-11-03T08:00:00")
        bob.raw(ack(desk.alert_id, note="no longer mine"))
        r = bob.ask(query(2), RESULT)
        assert (r.code, list(r.alerts)) == (m.OK, []), r
        r = dora.ask(query(3), RESULT)
        assert [a.alert_id for a in r.alerts] == [desk.alert_id], \
            f"a former member's AlertAck closed the desk's alert: {r}"
        r = bob.ask(action(4, desk.alert_id), RESULT)
        assert (r.code, r.reason) == (m.E_DENIED, NOT_YOURS), r
        # A person without a contact person is the desk's: no longer his.
        r = bob.ask(query(5, kind=m.TIMELINE, cpr=orphan), RESULT)
        assert (r.code, r.reason, list(r.timeline)) == \
            (m.E_DENIED, NOT_ASSIGNED, []), r
        r = dora.ask(query(6, kind=m.TIMELINE, cpr=orphan), RESULT)
        assert r.code == m.OK and any(e.is_alert for e in r.timeline), r
        hub.send(ev_dropout(own, "2026-11-02"))
        [mine] = pushed(bob, 1)
        assert (mine.cpr, mine.recipient, mine.delivery) == \
            (own, "cw-bob", 1), mine
        w = bob.ask(hello(1), WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 1), w
        quiet(bob, 0.3)
        assert not [f for f in bob.other if f[0] == ALERT], bob.other
    finally:
        bob.close()
        dora.close()
    recs = [(r["actor"], r["result"], r["detail"])
            for r in audit(hub, "ack")]
    assert recs == [("cw-bob", "not-open", desk.alert_id.hex())], recs


def small_queue_client(hub, who, endpoint):
    """A Client whose socket takes in one frame at most (ZMQ_RCVHWM 1, a
    small kernel buffer): its queue is full as soon as it leaves two
    frames unread. A monitor reports its handshakes."""
    return client_with(hub, who, endpoint,
                       monitor=zmq.EVENT_HANDSHAKE_SUCCEEDED, RCVHWM=1,
                       RCVBUF=4096, SNDHWM=10000)


def handshakes(mon, n, timeout):
    """The monitor's next n events, all HANDSHAKE_SUCCEEDED."""
    events = []
    while len(events) < n and mon.poll(int(timeout * 1000)):
        events.append(recv_monitor_message(mon)["event"])
    assert events == [zmq.EVENT_HANDSHAKE_SUCCEEDED] * n, events


def test_a_client_whose_queue_is_full_is_closed_by_the_heartbeat(
        make_hub):
    """§1 Heartbeats, §3 step 2 and §4 Limits: a socket whose receive
    queue is full reads nothing more, and the hub's PING waits behind
    the backlog; a client that leaves its answers (or acks) unread, or
    takes one a second, and sends nothing, has its connection closed 5
    to 10 s later. On delivery its session ends
    (logged) and the answers waiting in the hub are lost; reading again,
    it gets what had reached it, connects again by itself, and a Hello
    sends the alert that was in flight again (`delivery` 3, after the
    two sessions' 1 and 2). On ingest
    the acks that had reached the adapter are all read, and the socket
    connects again: a resend is acked DUPLICATE."""
    hub = make_hub(settings={"query_rate": "10000",
                             "query_burst": "10000"})
    m = schema()
    people = CprGen(11308).take(40)
    hub.cprs.update(people)
    hub.absence_alerts("cw-anna", people, "full")
    hub.wait_applied()
    c, mon = small_queue_client(hub, "cw-anna", hub.delivery)
    slow, slow_mon = small_queue_client(hub, "cw-anna", hub.delivery)
    ing, ing_mon = small_queue_client(hub, "school-a", hub.ingest)
    n, events = 3000, 50
    try:
        w = c.ask(hello(1), WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 40), w
        [first] = pushed(c, 1)
        assert first.delivery == 1
        assert slow.ask(hello(1), WELCOME).code == m.OK
        [twice] = pushed(slow, 1)
        assert (twice.alert_id, twice.delivery) == (first.alert_id, 2)
        # An adapter sends 50 events (they raise nothing) and reads no
        # ack; the caseworker asks 3,000 pages and reads no answer.
        envs = [envelope("school-a", people[0], salt=f"unread-{i}",
                         absent=0) for i in range(events)]
        for env in envs:
            ing.s.send(frame(env), zmq.DONTWAIT)
        ing_sent = time.monotonic()
        for i in range(n):
            c.s.send(query(i + 1, limit=50), zmq.DONTWAIT)
            slow.s.send(query(i + 1, limit=50), zmq.DONTWAIT)
        sent = time.monotonic()
        ended = r"HUB-SESSION session of cw-anna ended: its connection " \
            r"closed; 1 alerts in flight"
        taken = 0                       # slow takes a frame a second
        while hub.log_text().count("HUB-SESSION session of cw-anna "
                                   "ended: its connection closed") < 2:
            assert time.monotonic() - sent < 15 * SLOW, \
                f"both sessions still open after 15 s: {taken} taken"
            taken += slow.recv(1) is not None
            time.sleep(max(0.0, sent + taken - time.monotonic()))
        hub.wait_log(ended, count=2)
        waited = time.monotonic() - sent
        assert waited >= 4.5, f"closed {waited:.1f} s after the last frame"
        assert taken >= 4, taken
        assert "HUB-QUERY result not sent" in hub.log_text()
        got = 0
        while c.recv(1) is not None:    # what had reached the socket
            got += 1
        assert 0 < got < n, got
        # The socket connected again by itself; the session is gone.
        handshakes(mon, 2, 2)
        quiet(c, 0.5)
        w = c.ask(hello(1), WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 40), w
        [again] = pushed(c, 1)
        assert (again.alert_id, again.delivery) == (first.alert_id, 3)
        # The adapter's connection was closed by 10 s after its last
        # frame: its acks had all reached it, then it connects again.
        time.sleep(max(0.0, ing_sent + 10.5 - time.monotonic()))
        acks = [ing.want(ACK) for _ in range(events)]
        assert [(a.status, a.event_id) for a in acks] == \
            [(m.ACCEPTED, e.event_id) for e in envs], acks
        handshakes(ing_mon, 2, 5)
        a = ing.ask(frame(envs[0]), ACK)
        assert (a.status, a.sequence) == (m.DUPLICATE, acks[0].sequence)
    finally:
        for sock in (mon, slow_mon, ing_mon):
            sock.close(0)
        for client in (c, slow, ing):
            client.close()


def test_a_hub_that_reads_nothing_for_10_s_closes_only_a_full_queue(
        make_hub):
    """§1 Heartbeats and §3 step 2: while hubd reads no frame (its writer
    waits on a disk that does not commit) a connection with more frames
    waiting than hubd's receive queue holds (256 on ingest) cannot pass
    its PONGs either, and the heartbeat closes it 5 to 10 s into the
    wait; the frames on their way are lost, the ones hubd had taken in
    are stored, and a resend on the new connection stores each event
    once (DUPLICATE for those). One with 100 events in flight stays
    connected and gets its 100 acks."""
    hub = make_hub()
    m = schema()
    cpr = CprGen(11310).next()
    hub.cprs.add(cpr)

    def events(tag, n):
        return [envelope("school-a", cpr, salt=f"{tag}-{i}", absent=0)
                for i in range(n)]
    ok, full = events("ok", 101), events("full", 601)
    a = Client(hub, "school-a", hub.ingest)
    b = Client(hub, "school-a", hub.ingest)
    mons = {c: c.s.get_monitor_socket(zmq.EVENT_DISCONNECTED)
            for c in (a, b)}
    try:
        for c, env in ((a, ok.pop()), (b, full.pop())):
            assert c.ask(frame(env), ACK).status == m.ACCEPTED
        with log_write_held(hub):
            for c, envs in ((a, ok), (b, full)):
                for env in envs:
                    c.s.send(frame(env), zmq.DONTWAIT)
            t0 = time.monotonic()
            assert mons[b].poll(11000), "b: still connected after 11 s"
            waited = time.monotonic() - t0
            assert 4.5 <= waited, waited
            time.sleep(max(0.0, t0 + 11 - time.monotonic()))
            assert mons[a].poll(0) == 0, "a, 100 in flight, was closed"
        acks = [a.want(ACK, timeout=20) for _ in ok]
        assert [(x.status, x.event_id) for x in acks] == \
            [(m.ACCEPTED, e.event_id) for e in ok], acks
        # b sends everything again: each event is stored once.
        status = {}
        for env in full:
            b.s.send(frame(env), zmq.DONTWAIT)
        while len(status) < len(full) or b.s.poll(500):
            x = b.want(ACK, timeout=20)
            assert x.status in (m.ACCEPTED, m.DUPLICATE), x
            status.setdefault(x.event_id, set()).add(x.status)
        assert set(status) == {e.event_id for e in full}
        assert any(m.DUPLICATE in s for s in status.values()), \
            "none of the frames hubd had taken in was stored"
        assert hub.wait_applied()["last_seq"] == 2 + len(ok) + len(full)
    finally:
        for c, mon in mons.items():
            mon.close(0)
            c.close()
