"""93 a caseworker's client, written from docs/PROTOCOL.md alone:
pyzmq with CURVE, the .proto compiled with protoc, key files read as §3
"Key files" describes them. None of hubtest's clients: the hub and its
registrations are the operator's (make_hub, hubctl), CPRs the helpers'
synthetic ones. Goes after what tests 55, 56, 64 and 66 do not assert."""

import hashlib
import os
import struct
import subprocess
import sys
import tempfile
import time

import pytest
import zmq
import zmq.utils.monitor

from hubtest import ROOT, CprGen

_gen = tempfile.mkdtemp(prefix="ug93-proto-")
subprocess.run(["protoc", f"--proto_path={ROOT / 'proto'}",
                f"--python_out={_gen}", "ungebro.proto"], check=True)
sys.path.insert(0, _gen)
import ungebro_pb2 as pb  # noqa: E402

TODAY = time.strftime("%Y-%m-%d", time.gmtime())


def read_key_file(path):
    """§3 "Key files": name = value lines, split at the first '=', blanks
    trimmed, '#' lines and blank lines ignored, the last of a name counts."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip() or line.lstrip(" \t").startswith("#"):
                continue
            name, value = line.split("=", 1)
            out[name.strip()] = value.strip()
    return out


class Client:
    """A DEALER, CURVE client with keys_dir/ID.key_secret and hub.key."""

    def __init__(self, keys_dir, who, endpoint, monitor=True):
        mine = read_key_file(os.path.join(keys_dir, f"{who}.key_secret"))
        hub = read_key_file(os.path.join(keys_dir, "hub.key"))
        self.ctx = zmq.Context.instance()
        self.s = self.ctx.socket(zmq.DEALER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.curve_serverkey = hub["public"].encode()
        self.s.curve_publickey = mine["public"].encode()
        self.s.curve_secretkey = mine["secret"].encode()
        self.mon = self.s.get_monitor_socket() if monitor else None
        self.s.connect(endpoint)
        if monitor:
            self.wait_handshake()

    def wait_handshake(self, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            if self.mon.poll(200):
                ev = zmq.utils.monitor.recv_monitor_message(self.mon)
                if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    return
                assert ev["event"] not in (
                    zmq.EVENT_HANDSHAKE_FAILED_AUTH,
                    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL), ev
        raise AssertionError("no handshake")

    def send(self, kind, msg=b""):
        body = msg if isinstance(msg, bytes) else msg.SerializeToString()
        self.s.send(bytes([1, kind]) + body, zmq.DONTWAIT)

    def recv(self, timeout=10):
        """The next frame: (kind, bytes after the header)."""
        assert self.s.poll(timeout * 1000), "no frame from the hub"
        f = self.s.recv()
        assert f[0] == 1, f[:2]
        return f[1], f[2:]

    def next_of(self, kind, timeout=10):
        """The next frame of `kind`, skipping pushed Alerts (§1 "Order of
        answers")."""
        end = time.time() + timeout
        while True:
            k, body = self.recv(max(0.1, end - time.time()))
            if k == kind:
                return body
            assert k == pb.FRAME_ALERT, (k, body)

    def result(self, timeout=10):
        r = pb.Result()
        r.ParseFromString(self.next_of(pb.FRAME_RESULT, timeout))
        return r

    def ack(self, timeout=10):
        a = pb.Ack()
        a.ParseFromString(self.next_of(pb.FRAME_ACK, timeout))
        return a

    def silent(self, seconds):
        return not self.s.poll(seconds * 1000)

    def close(self):
        if self.mon is not None:
            self.s.disable_monitor()
            self.mon.close()
        self.s.close()


def event_id(occurred_ms, natural_key):
    """§3 step 1: the big-endian time, then a keyed hash of the key."""
    return struct.pack(">Q", occurred_ms) + hashlib.blake2b(
        natural_key.encode(), key=b"vendor secret", digest_size=8).digest()


def absence(cpr, key, agency="school-a", absent=12, total=30, **kw):
    now = int(time.time() * 1000)
    e = pb.Envelope(event_id=event_id(now, key), agency=agency,
                    schema_version=1, type=pb.ABSENCE_REPORT,
                    sensitivity=pb.PERSONAL, occurred_at=now, sent_at=now,
                    cpr=cpr, **kw)
    e.absence_report.school = "Hedemark Skole"
    e.absence_report.period_start = TODAY
    e.absence_report.period_end = TODAY
    e.absence_report.lessons_absent = absent
    e.absence_report.lessons_expected = total
    e.absence_report.kind = pb.UNLAWFUL
    return e


def dropout(cpr, key, agency="college-a"):
    now = int(time.time() * 1000)
    e = pb.Envelope(event_id=event_id(now, key), agency=agency,
                    schema_version=1, type=pb.DROPOUT,
                    sensitivity=pb.PERSONAL, occurred_at=now, sent_at=now,
                    cpr=cpr)
    e.dropout.institution = "c1"
    e.dropout.date = TODAY
    return e


def pushed(c, first_wait=2.0):
    """The Alerts pushed until the hub has been quiet for 0.5 s."""
    got, wait = [], first_wait
    while c.s.poll(int(wait * 1000)):
        kind, body = c.recv()
        assert kind == pb.FRAME_ALERT, kind
        a = pb.Alert()
        a.ParseFromString(body)
        got.append(a)
        wait = 0.5
    return got


def welcome(c):
    w = pb.Welcome()
    w.ParseFromString(c.next_of(pb.FRAME_WELCOME))
    return w


def test_a_desk_member_receives_pages_and_is_sent_again(make_hub):
    """§4 as a caseworker client reads it: 55 dropouts of people without a
    contact person are the duty desk's (RULES.md §7). Hello with window 0
    is 32 alerts in flight, each with delivery 1; an AlertAck makes room
    for exactly one more and is not answered, nor is one of an id no
    alert has; a second Hello with a wider window sends only what the
    window now has room for, resending nothing; OPEN_ALERTS pages 40 by
    default and 50 at most, a page past the end is empty and not
    truncated; an alert_id of 8 bytes is E_MALFORMED; the acknowledged
    alert is gone, and a reconnect sends every open alert again, those
    sent before with delivery 2."""
    hub = make_hub(agencies={"college-a": "dropout"})
    gen = CprGen(8301)
    cprs = [gen.next() for _ in range(55)]
    hub.cprs.update(cprs)
    agency = Client(str(hub.keys_dir), "college-a", hub.ingest)
    try:
        for i, cpr in enumerate(cprs):
            agency.send(pb.FRAME_EVENT, dropout(cpr, f"drop-{i}"))
        acks = [agency.ack() for _ in cprs]
        assert {a.status for a in acks} == {pb.ACCEPTED}, acks
    finally:
        agency.close()

    d = Client(str(hub.keys_dir), "desk-dora", hub.delivery)
    try:
        d.send(pb.FRAME_HELLO, pb.Hello(window=0, client="vendor 83"))
        w = welcome(d)
        assert (w.caseworker, w.code) == ("desk-dora", pb.OK), w
        # The rules may still be raising when the Welcome counts.
        first = pushed(d)
        assert len(first) == 32, len(first)
        assert {(a.recipient, a.rule, a.delivery) for a in first} == \
            {("duty-desk", "dropout", 1)}
        d.send(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=first[0].alert_id,
                                               note="seen"))
        assert len(pushed(d)) == 1
        d.send(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=b"\x00" * 9))
        d.send(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=first[0].alert_id))
        assert d.silent(1), "an AlertAck was answered"
        d.send(pb.FRAME_HELLO, pb.Hello(window=40))
        assert welcome(d).open_alerts == 54
        assert len(pushed(d)) == 8     # 40 in flight now, none sent again

        pages = []
        for rid, limit, offset in ((1, 0, 0), (2, 51, 0), (3, 50, 50),
                                   (4, 0, 4294967295)):
            d.send(pb.FRAME_QUERY, pb.Query(request_id=rid,
                                            kind=pb.OPEN_ALERTS,
                                            limit=limit, offset=offset))
            r = d.result()
            assert (r.request_id, r.code) == (rid, pb.OK), r
            pages.append((len(r.alerts), r.truncated))
        assert pages == [(40, True), (50, True), (4, False), (0, False)]
        d.send(pb.FRAME_QUERY, pb.Query(request_id=5, kind=pb.OPEN_ALERTS,
                                        alert_id=first[1].alert_id[:8]))
        r = d.result()
        assert (r.request_id, r.code, r.reason) == \
            (5, pb.E_MALFORMED, "alert_id must be 9 bytes"), r
        d.send(pb.FRAME_QUERY, pb.Query(request_id=6, kind=pb.OPEN_ALERTS,
                                        alert_id=first[0].alert_id))
        r = d.result()
        assert (r.code, len(r.alerts), r.names_no_one) == (pb.OK, 0, False)
    finally:
        d.close()

    again = Client(str(hub.keys_dir), "desk-dora", hub.delivery)
    try:
        again.send(pb.FRAME_HELLO, pb.Hello(window=300))   # taken as 256
        assert welcome(again).open_alerts == 54
        sent = pushed(again)
        by_delivery = {}
        for a in sent:
            by_delivery[a.delivery] = by_delivery.get(a.delivery, 0) + 1
        assert by_delivery == {2: 40, 1: 14}, by_delivery
        assert first[0].alert_id not in {a.alert_id for a in sent}
    finally:
        again.close()
