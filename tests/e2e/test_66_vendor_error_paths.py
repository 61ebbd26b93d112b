"""Error paths of docs/PROTOCOL.md, as a vendor's client in plain pyzmq sees
them: each refusal the page names, and what the page says to do next.

Uses the standalone client of test_64 (pyzmq, the .proto, hubctl and hubd
as the documents say), none of the project's harness.
"""

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


def one_ack(c, data):
    c.send(data)
    d = c.recv(15)
    assert d is not None, "no ack"
    return ack_of(d)


def test_type_not_registered_is_accepted_unchanged_once_registered(hub):
    """§3 step 3: a refusal for a type the agency is not registered for is
    about the registration, not the event: once the operator adds the type
    the same frame, resent unchanged on the same connection, is ACCEPTED."""
    keys = agency(hub, None, "college-t", "dropout")
    hub.start()
    ctx = zmq.Context()
    c = connect(hub, ctx, keys)
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
    ctx.term()
