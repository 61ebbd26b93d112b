"""83 vendor again: a client written once more from docs/PROTOCOL.md and
the .proto alone (test_64's standalone client: pyzmq, protoc, hubctl and
hubd run as OPERATIONS.md says), after what test_55, 56, 64 and 66 do not
assert: what a caseworker's own connection is answered while the hub
cannot read its store.
"""

import os
import time

from test_60_store_at_rest import readers_taken
from test_64_vendor_from_doc import (  # noqa: F401  (hub is a fixture)
    TODAY, ack_of, connect_agency, connect_caseworker, decode, envelope,
    frame, hello, hub, pb, raise_dropouts, started_with_caseworker)

UNREADABLE = "the hub cannot read its store right now; retry later"


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


def test_a_hello_the_hub_cannot_count_for_opens_no_session(hub):
    """§4 step 3: the Welcome says how many alerts wait (`open_alerts`).
    When the hub cannot read its store to count them, a Welcome `OK`
    with 0 would misstate what waits; the Hello is refused as one
    without a session is, `E_UNAVAILABLE` "the hub cannot read its store
    right now; retry later", `open_alerts` 0, and nothing is pushed on
    that connection (a live session there ends: what it had in flight
    goes out again) until a later Hello, which is answered as usual."""
    keys, ctx = started_with_caseworker(hub, "--desk")
    try:
        raise_dropouts(hub, ctx, 2)
        hub.wait_alerts(2)
        c = connect_caseworker(hub, ctx, "cw-vendor", keys)
        welcome, alerts = hello(c, 1)
        assert (welcome.code, welcome.open_alerts, len(alerts)) == \
            (pb.OK, 2, 1), welcome
        in_flight = alerts[0].alert_id
        other = connect_caseworker(hub, ctx, "cw-vendor", keys)
        with readers_taken(os.path.join(hub.data, "log")):
            for conn in (c, other):
                conn.send(frame(pb.FRAME_HELLO, pb.Hello(window=5)))
                got = [(k, m.caseworker, m.open_alerts, m.code, m.reason)
                       for k, m in results(conn)]
                assert got == [(pb.FRAME_WELCOME, "cw-vendor", 0,
                                pb.E_UNAVAILABLE, UNREADABLE)], got
        log = hub.logtext()
        assert log.count("warn HUB-HELLO no session for cw-vendor: " +
                         UNREADABLE) == 2, log[-3000:]
        assert "HUB-SESSION session of cw-vendor ended: the hub cannot read " \
            "its store; 1 alerts in flight" in log, log[-3000:]
        # No session on either connection: a new alert is pushed to neither.
        college = connect_agency(hub, ctx, "college-w")
        e = envelope("college-w", pb.DROPOUT, "dropout",
                     pb.Dropout(institution="c1", date=TODAY), "late",
                     cpr="0202021234")
        college.send(frame(pb.FRAME_EVENT, e))
        assert ack_of(college.recv(15)).status == pb.ACCEPTED
        college.close()
        hub.wait_alerts(3)
        assert results(c, 2) == [] and results(other, 1) == []
        welcome, alerts = hello(c, 5)
        assert (welcome.code, welcome.open_alerts) == (pb.OK, 3), welcome
        assert [a.delivery for a in alerts if a.alert_id == in_flight] == [2]
        assert len(alerts) == 3
        c.close()
        other.close()
    finally:
        ctx.destroy(linger=0)
