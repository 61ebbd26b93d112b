"""A vendor's client written from docs/PROTOCOL.md alone.

Standalone on purpose: it uses pyzmq, the .proto compiled with protoc and
hubctl/hubd as OPERATIONS.md says to run them, and none of this project's
test harness, so that it finds where the document leaves a client guessing.
"""

import atexit
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

import pytest
import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_BUILD = os.environ.get("UG_BUILD", "build/release")
BIN = os.path.join(_BUILD if os.path.isabs(_BUILD) else os.path.join(ROOT, _BUILD), "bin")
HUBD = os.path.join(BIN, "hubd")
HUBCTL = os.path.join(BIN, "hubctl")

# The .proto is where PROTOCOL.md says it is; protoc makes our module.
_PB_DIR = tempfile.mkdtemp(prefix="ug-vendor-pb-")
atexit.register(shutil.rmtree, _PB_DIR, True)
subprocess.run(["protoc", "-I", os.path.join(ROOT, "proto"),
                "--python_out", _PB_DIR, "ungebro.proto"], check=True)
sys.path.insert(0, _PB_DIR)
import ungebro_pb2 as pb  # noqa: E402

VERSION = 1


def frame(kind, msg=b""):
    body = msg if isinstance(msg, bytes) else msg.SerializeToString()
    return bytes([VERSION, kind]) + body


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def read_key_file(path):
    """name = value lines; value after the first '=' (a Z85 key may hold '=')."""
    out = {}
    with open(path) as f:
        for line in f:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            name, _, value = line.partition("=")
            out[name.strip()] = value.strip()
    return out


class Hub:
    def __init__(self, tmp):
        self.tmp = tmp
        self.keys = os.path.join(tmp, "keys")
        self.data = os.path.join(tmp, "data")
        self.ingest = "tcp://127.0.0.1:%d" % free_port()
        self.delivery = "tcp://127.0.0.1:%d" % free_port()
        self.proc = None
        self.ctl("keygen", "hub")

    def ctl(self, *args, check=True):
        r = subprocess.run([HUBCTL, "--data_dir", self.data, "--keys_dir", self.keys] + list(args),
                           capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("hubctl %s: %s %s" % (args, r.stdout, r.stderr))
        return r

    def keygen(self, ident):
        self.ctl("keygen", ident)
        return read_key_file(os.path.join(self.keys, ident + ".key_secret"))

    def server_key(self):
        return read_key_file(os.path.join(self.keys, "hub.key"))["public"]

    def start(self, *extra):
        self.log = open(os.path.join(self.tmp, "hubd.log"), "ab")
        self.proc = subprocess.Popen([HUBD, "--data_dir", self.data, "--keys_dir", self.keys,
                                      "--ingest", self.ingest, "--delivery", self.delivery]
                                     + list(extra),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        # Ready when the ingest port takes a TCP connection.
        port = int(self.ingest.rsplit(":", 1)[1])
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, self.logtext()
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("hubd did not listen")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        self.proc = None

    def wait_alerts(self, n, timeout=60):
        """Until hubd has logged n alerts raised (the rules run after the ack)."""
        deadline = time.time() + timeout
        while self.logtext().count(" raised for ") < n:
            assert time.time() < deadline, "alerts not raised"
            time.sleep(0.1)

    def logtext(self):
        with open(os.path.join(self.tmp, "hubd.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")


@pytest.fixture
def hub():
    tmp = tempfile.mkdtemp(prefix="ug-vendor-")
    h = Hub(tmp)
    yield h
    h.stop()
    shutil.rmtree(tmp, ignore_errors=True)


class Client:
    """DEALER, CURVE client, with a monitor for the handshake events."""

    def __init__(self, ctx, endpoint, server_key, keys):
        self.sock = ctx.socket(zmq.DEALER)
        self.sock.curve_serverkey = server_key.encode()
        self.sock.curve_publickey = keys["public"].encode()
        self.sock.curve_secretkey = keys["secret"].encode()
        self.sock.linger = 0
        self.mon = self.sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED
                                                | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                                | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                                | zmq.EVENT_DISCONNECTED)
        self.sock.connect(endpoint)

    def wait_event(self, want, timeout=10):
        from zmq.utils.monitor import recv_monitor_message
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.mon.poll(100):
                ev = recv_monitor_message(self.mon)
                if ev["event"] in want:
                    return ev
        return None

    def send(self, data):
        self.sock.send(data, zmq.DONTWAIT)

    def recv(self, timeout=10):
        if not self.sock.poll(timeout * 1000):
            return None
        return self.sock.recv()

    def close(self):
        self.sock.disable_monitor()
        self.mon.close()
        self.sock.close()


def ack_of(data):
    assert data[0] == VERSION and data[1] == pb.FRAME_ACK, data[:2]
    a = pb.Ack()
    a.ParseFromString(data[2:])
    return a


def event_id(occurred_ms, natural_key):
    # PROTOCOL.md §3 step 1: big-endian ms, then a keyed hash of the record.
    return struct.pack(">Q", occurred_ms) + hashlib.blake2b(
        natural_key.encode(), key=b"vendor-secret", digest_size=8).digest()


NOW = int(time.time() * 1000)
TODAY = time.strftime("%Y-%m-%d", time.gmtime())
CPR = "0101101234"


def envelope(agency, etype, payload_field, payload, key, cpr=CPR,
             sensitivity=pb.PERSONAL, **kw):
    env = pb.Envelope(event_id=event_id(NOW, key), agency=agency, schema_version=1,
                      type=etype, sensitivity=sensitivity, occurred_at=NOW,
                      sent_at=NOW, cpr=cpr, **kw)
    getattr(env, payload_field).CopyFrom(payload)
    return env


def all_kinds(agency):
    """One event of every type an agency may send (§3, Event types)."""
    d = TODAY
    return [
        envelope(agency, pb.ABSENCE_REPORT, "absence_report",
                 pb.AbsenceReport(school="s1", period_start=d, period_end=d,
                                  lessons_absent=1, lessons_expected=10, kind=pb.UNLAWFUL),
                 "abs"),
        envelope(agency, pb.DROPOUT, "dropout", pb.Dropout(institution="c1", date=d), "drop"),
        envelope(agency, pb.DROPOUT_RISK, "dropout_risk",
                 pb.DropoutRisk(institution="c1", date=d), "risk"),
        envelope(agency, pb.ENROLMENT, "enrolment", pb.Enrolment(institution="c1", start=d), "enr"),
        envelope(agency, pb.ADDICTION_REFERRAL, "addiction_referral",
                 pb.AddictionReferral(service="a1", date=d, stage=pb.REFERRED),
                 "add", sensitivity=pb.SPECIAL_CATEGORY),
        envelope(agency, pb.READINESS_ASSESSMENT, "readiness_assessment",
                 pb.ReadinessAssessment(school="s1", grade=9, date=d, ready=True), "ready"),
        envelope(agency, pb.CONTACT_ASSIGNMENT, "contact_assignment",
                 pb.ContactAssignment(caseworker="cw-other", role_kind=pb.CONTACT_ROLE_MENTOR,
                                      **{"from": d}), "assign"),
        envelope(agency, pb.BENEFIT_STATUS, "benefit_status",
                 pb.BenefitStatus(jobcenter="j1", benefit=pb.CASH_BENEFIT, start=d), "ben"),
        envelope(agency, pb.MISSED_ACTIVATION, "missed_activation",
                 pb.MissedActivation(jobcenter="j1", date=d), "miss"),
        envelope(agency, pb.SCHOOL_LEAVING, "school_leaving",
                 pb.SchoolLeaving(school="s1", grade=9, kind=pb.COMPLETED_GRADE, date=d), "leave"),
        envelope(agency, pb.DESK_MEMBERSHIP, "desk_membership",
                 pb.DeskMembership(desk="duty-desk", caseworker="cw-x", **{"from": d}),
                 "desk", cpr="", sensitivity=pb.ORGANISATIONAL),
    ]


ALL_TYPES = ("absence,dropout,dropout_risk,enrolment,addiction,readiness,assignment,"
             "benefit,missed_activation,school_leaving,desk")


def connect_agency(hub, ctx, ident="vendor-a"):
    keys = hub.keygen(ident)
    hub.ctl("register-agency", ident, "--key", os.path.join(hub.keys, ident + ".key"),
            "--types", ALL_TYPES)
    c = Client(ctx, hub.ingest, hub.server_key(), keys)
    ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH})
    assert ev and ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED, ev
    return c


def collect_acks(c, n, timeout=20):
    acks = {}
    deadline = time.time() + timeout
    while len(acks) < n and time.time() < deadline:
        d = c.recv(1)
        if d is None:
            continue
        a = ack_of(d)
        acks.setdefault(a.event_id, []).append(a)
    return acks


def test_every_kind_with_a_window_in_flight(hub):
    hub.start()
    ctx = zmq.Context()
    c = connect_agency(hub, ctx)
    evs = all_kinds("vendor-a")
    for e in evs:  # all in flight before reading any ack
        c.send(frame(pb.FRAME_EVENT, e))
    acks = collect_acks(c, len(evs))
    assert len(acks) == len(evs)
    seqs = set()
    for e in evs:
        (a,) = acks[e.event_id]
        assert a.status == pb.ACCEPTED, (e.type, a)
        assert a.code == pb.OK and a.reason == "" and not a.retryable
        seqs.add(a.sequence)
    assert len(seqs) == len(evs) and min(seqs) >= 1
    # The same frames again: DUPLICATE with the same sequence.
    for e in evs:
        c.send(frame(pb.FRAME_EVENT, e))
    again = collect_acks(c, len(evs))
    for e in evs:
        (a,) = again[e.event_id]
        assert a.status == pb.DUPLICATE and a.sequence == acks[e.event_id][0].sequence
    c.close()
    ctx.destroy(linger=0)


def decode(data):
    """Any frame the hub sends on delivery: (kind, message)."""
    assert data[0] == VERSION, data[:2]
    cls = {pb.FRAME_WELCOME: pb.Welcome, pb.FRAME_ALERT: pb.Alert,
           pb.FRAME_RESULT: pb.Result}[data[1]]
    m = cls()
    m.ParseFromString(data[2:])
    return data[1], m


def connect_caseworker(hub, ctx, ident, keys=None):
    if keys is None:
        keys = read_key_file(os.path.join(hub.keys, ident + ".key_secret"))
    c = Client(ctx, hub.delivery, hub.server_key(), keys)
    ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH})
    assert ev and ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED, ev
    return c


def hello(c, window):
    """Send Hello; return (Welcome, alerts pushed with it)."""
    c.send(frame(pb.FRAME_HELLO, pb.Hello(client="vendor-test 1.0", window=window)))
    welcome, alerts = None, []
    deadline = time.time() + 15
    while time.time() < deadline:
        d = c.recv(1)
        if d is None:
            if welcome is not None:
                break
            continue
        kind, m = decode(d)
        if kind == pb.FRAME_WELCOME:
            welcome = m
        elif kind == pb.FRAME_ALERT:
            alerts.append(m)
    return welcome, alerts


def raise_dropouts(hub, ctx, n):
    """n dropouts for n persons without a contact person: desk alerts."""
    a = connect_agency(hub, ctx, "college-v")
    cprs = ["01011%d1234" % i for i in range(n)]
    evs = [envelope("college-v", pb.DROPOUT, "dropout",
                    pb.Dropout(institution="c1", date=TODAY), "d" + cpr, cpr=cpr)
           for cpr in cprs]
    for e in evs:
        a.send(frame(pb.FRAME_EVENT, e))
    acks = collect_acks(a, n)
    assert all(acks[e.event_id][0].status == pb.ACCEPTED for e in evs), acks
    a.close()
    return cprs


def started_with_caseworker(hub, *options):
    """OPERATIONS.md: keygen and register cw-vendor (with `options`, such
    as --desk), then start the hub; its key pair and a context."""
    keys = hub.keygen("cw-vendor")
    hub.ctl("register-caseworker", "cw-vendor", "--key",
            os.path.join(hub.keys, "cw-vendor.key"), *options)
    hub.start()
    return keys, zmq.Context()


def test_caseworker_receives_acks_and_gets_redelivery(hub):
    keys, ctx = started_with_caseworker(hub, "--desk")
    raise_dropouts(hub, ctx, 3)
    hub.wait_alerts(3)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 2)
    assert welcome.code == pb.OK and welcome.caseworker == "cw-vendor"
    assert welcome.open_alerts >= 3, welcome
    assert len(alerts) == 2, alerts  # the window
    for al in alerts:
        assert len(al.alert_id) == 9 and al.delivery == 1
    first = [al.alert_id for al in alerts]
    # Reconnect mid-window, nothing acknowledged: all sent again, delivery 2.
    c.close()
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 10)
    ids = [al.alert_id for al in alerts]
    assert set(first) <= set(ids) and len(ids) == welcome.open_alerts
    assert all(al.delivery == 2 for al in alerts if al.alert_id in first)
    # Acknowledge one, check with the documented query that it is gone.
    c.send(frame(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=ids[0], note="seen")))
    c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=7, kind=pb.OPEN_ALERTS, alert_id=ids[0])))
    res = None
    while res is None:
        d = c.recv(10)
        assert d is not None, "no Result"
        kind, m = decode(d)
        if kind == pb.FRAME_RESULT:
            res = m
    assert res.request_id == 7 and res.code == pb.OK and len(res.alerts) == 0
    c.close()
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 10)
    assert ids[0] not in [al.alert_id for al in alerts]
    assert welcome.open_alerts == len(ids) - 1
    c.close()
    ctx.destroy(linger=0)


def unknown_field(n_bytes, field=900):
    """A length-delimited field the schema does not have, n_bytes long in all."""
    def varint(v):
        out = b""
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out += bytes([b | 0x80])
            else:
                return out + bytes([b])
    tag = varint(field << 3 | 2)
    for body in range(n_bytes, -1, -1):
        enc = tag + varint(body) + b"x" * body
        if len(enc) == n_bytes:
            return enc
    raise AssertionError("cannot pad to %d" % n_bytes)


def sized_event(agency, key, size):
    """An event frame of exactly size bytes, padded by an unknown field (§6)."""
    e = envelope(agency, pb.DROPOUT, "dropout", pb.Dropout(institution="c1", date=TODAY), key)
    base = frame(pb.FRAME_EVENT, e)
    f = base + unknown_field(size - len(base))
    assert len(f) == size
    return e.event_id, f


def test_size_limit_exactly_and_one_over(hub):
    hub.start()
    ctx = zmq.Context()
    c = connect_agency(hub, ctx)
    id_at, at_limit = sized_event("vendor-a", "at-limit", 65536)
    id_over, over = sized_event("vendor-a", "over", 65537)
    c.send(at_limit)
    c.send(over)
    acks = collect_acks(c, 2)
    (a,) = acks[id_at]
    assert a.status == pb.ACCEPTED, a
    (b,) = acks[id_over]
    assert b.status == pb.REJECTED and b.code == pb.E_TOO_LARGE and not b.retryable
    assert b.reason == "frame of 65537 bytes exceeds the limit of 65536"
    # At the hard cap: still answered; one byte over it: the connection drops
    # and the DEALER reconnects by itself; a resend is then answered.
    id_cap, cap = sized_event("vendor-a", "cap", 1048576)
    c.send(cap)
    (b,) = collect_acks(c, 1)[id_cap]
    assert b.code == pb.E_TOO_LARGE and b.event_id == id_cap
    id_big, big = sized_event("vendor-a", "big", 1048577)
    c.send(big)
    assert c.wait_event({zmq.EVENT_DISCONNECTED}) is not None
    assert c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}) is not None
    assert c.recv(2) is None  # no ack for the oversized frame
    c.send(at_limit)
    (a,) = collect_acks(c, 1)[id_at]
    assert a.status == pb.DUPLICATE
    c.close()
    ctx.destroy(linger=0)


def test_frames_a_careless_client_sends(hub):
    hub.start()
    ctx = zmq.Context()
    c = connect_agency(hub, ctx)

    def one(data, multipart=False):
        if multipart:
            c.sock.send_multipart(data)
        else:
            c.send(data)
        d = c.recv(10)
        assert d is not None
        return ack_of(d)

    e = all_kinds("vendor-a")[1]
    a = one([b"", frame(pb.FRAME_EVENT, e)], multipart=True)
    assert (a.status, a.code, a.event_id) == (pb.REJECTED, pb.E_MALFORMED, b"")
    assert a.reason == "a message must be exactly one frame"
    a = one(b"\x01")
    assert a.code == pb.E_MALFORMED and a.reason == "frame of 1 bytes is shorter than the 2-byte header"
    a = one(b"\x07\x01" + e.SerializeToString())
    assert a.code == pb.E_VERSION and a.reason == "wire version 7 is not supported (expected 1)"
    a = one(frame(pb.FRAME_HELLO, pb.Hello()))
    assert a.code == pb.E_MALFORMED
    assert a.reason == "only event frames are accepted on the ingest endpoint"
    a = one(frame(77))
    assert a.code == pb.E_MALFORMED and a.reason == "unknown frame kind 77"
    a = one(frame(pb.FRAME_EVENT, b"\xff\xff"))
    assert a.code == pb.E_MALFORMED and a.reason == "Envelope does not decode as protobuf"
    # An unknown field inside the payload (a newer sender) is ignored.
    e2 = pb.Envelope()
    e2.CopyFrom(e)
    e2.event_id = event_id(NOW, "newer")
    e2.dropout.MergeFromString(unknown_field(10, field=99))
    a = one(frame(pb.FRAME_EVENT, e2))
    assert a.status == pb.ACCEPTED, a
    # Empty agency, another agency, schema 2.
    for agency, reason in (("", "agency is empty; it must be the id the connection's key is registered under"),
                           ("other", "envelope agency does not match the connection's key")):
        e3 = pb.Envelope()
        e3.CopyFrom(e)
        e3.agency = agency
        e3.event_id = event_id(NOW, "ag" + agency)
        a = one(frame(pb.FRAME_EVENT, e3))
        assert (a.code, a.reason, a.event_id) == (pb.E_DENIED, reason, e3.event_id)
    e3 = pb.Envelope()
    e3.CopyFrom(e)
    e3.schema_version = 2
    a = one(frame(pb.FRAME_EVENT, e3))
    assert a.code == pb.E_VERSION and a.event_id == e.event_id
    assert a.reason == "schema version 2 is not supported (expected 1)"
    c.close()
    ctx.destroy(linger=0)


def test_refused_keys_as_the_monitor_shows_them(hub):
    keys = hub.keygen("cw-refused")
    hub.start()
    ctx = zmq.Context()
    # Not registered: HANDSHAKE_FAILED_AUTH with status 400.
    c = Client(ctx, hub.delivery, hub.server_key(), keys)
    ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH})
    assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and ev["value"] == 400, ev
    # Registered now: libzmq 4.3.4 does not try that socket again (§1);
    # a new socket gets in.
    hub.ctl("register-caseworker", "cw-refused", "--key", os.path.join(hub.keys, "cw-refused.key"))
    assert c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}, 3) is None
    c.close()
    c = Client(ctx, hub.delivery, hub.server_key(), keys)
    assert c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}) is not None
    c.close()
    # Registered as a caseworker, used on ingest: refused alike.
    c = Client(ctx, hub.ingest, hub.server_key(), keys)
    ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_AUTH})
    assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and ev["value"] == 400, ev
    c.close()
    # No CURVE options at all (ZeroMQ's NULL mechanism), or PLAIN: libzmq
    # refuses the mechanism before the hub's ZAP handler is asked. The
    # monitor shows NO_DETAIL (the hub closed first) or a mechanism
    # mismatch (the client saw it first; libzmq then stops trying),
    # whichever comes first, so NO_DETAIL alone does not prove a wrong
    # server key.
    from zmq.utils.monitor import recv_monitor_message
    mismatch = (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
    for plain in (False, True):
        s = ctx.socket(zmq.DEALER)
        s.linger = 0
        if plain:
            s.plain_username, s.plain_password = b"cw-refused", b"x"
        mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                                   | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                                   | zmq.EVENT_HANDSHAKE_FAILED_AUTH
                                   | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        s.connect(hub.delivery)
        seen = []
        end = time.time() + 2
        while time.time() < end:
            if mon.poll(100):
                ev = recv_monitor_message(mon)
                seen.append((ev["event"], ev["value"]))
        assert seen and all(e == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL or (e, v) == mismatch
                            for e, v in seen), seen
        assert mismatch not in seen[:-1], seen  # not tried after a mismatch
        s.disable_monitor()
        mon.close()
        s.close()
    assert "on delivery: not CURVE" not in hub.logtext()
    # A wrong server key, or a public and a secret key of two pairs:
    # HANDSHAKE_FAILED_NO_DETAIL, again and again, and nothing in hubd's log.
    other = hub.keygen("not-the-hub")
    mixed = dict(keys, secret=other["secret"])
    for server, own in ((other["public"], keys), (hub.server_key(), mixed)):
        c = Client(ctx, hub.delivery, server, own)
        for _ in range(2):
            ev = c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                               zmq.EVENT_HANDSHAKE_FAILED_AUTH})
            assert ev and ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL, ev
        c.close()
    ctx.destroy(linger=0)


def test_same_id_twice_in_a_window_and_another_agencys_id(hub):
    hub.start()
    ctx = zmq.Context()
    c = connect_agency(hub, ctx)
    e = all_kinds("vendor-a")[1]
    c.send(frame(pb.FRAME_EVENT, e))
    c.send(frame(pb.FRAME_EVENT, e))
    got = []
    while len(got) < 2:
        d = c.recv(10)
        assert d is not None
        got.append(ack_of(d))
    assert sorted(a.status for a in got) == [pb.ACCEPTED, pb.DUPLICATE]
    assert got[0].sequence == got[1].sequence
    other = connect_agency(hub, ctx, "vendor-b")
    e.agency = "vendor-b"
    other.send(frame(pb.FRAME_EVENT, e))
    a = ack_of(other.recv(10))
    assert (a.status, a.code, a.sequence, a.retryable) == (pb.REJECTED, pb.E_CONFLICT, 0, False)
    assert a.reason == "event id already used by another agency"
    # Stale: a negative valid_until has always passed.
    s = all_kinds("vendor-a")[2]
    s.valid_until = -1
    c.send(frame(pb.FRAME_EVENT, s))
    a = ack_of(c.recv(10))
    assert (a.code, a.reason) == (pb.E_STALE, "event expired before it reached the hub")
    # Revoked while connected: the next frame is E_DENIED, the connection stays.
    hub.ctl("revoke-agency", "vendor-a")
    time.sleep(1.5)
    c.send(frame(pb.FRAME_EVENT, all_kinds("vendor-a")[3]))
    a = ack_of(c.recv(10))
    assert a.code == pb.E_DENIED
    assert a.reason == "the key this connection authenticated with has been revoked or replaced"
    c.close()
    other.close()
    ctx.destroy(linger=0)


def result_for(c, request_id, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        d = c.recv(1)
        if d is None:
            continue
        kind, m = decode(d)
        if kind == pb.FRAME_RESULT and m.request_id == request_id:
            return m
    raise AssertionError("no Result %d" % request_id)


def test_window_default_and_cap_actions_and_timeline(hub):
    keys, ctx = started_with_caseworker(hub, "--desk")
    cprs = raise_dropouts(hub, ctx, 1)
    a = connect_agency(hub, ctx, "college-w")
    more = ["%02d0190%04d" % (1 + i % 28, 1000 + i) for i in range(39)]
    for i, cpr in enumerate(more):
        a.send(frame(pb.FRAME_EVENT, envelope("college-w", pb.DROPOUT, "dropout",
                                              pb.Dropout(institution="c1", date=TODAY),
                                              "w%d" % i, cpr=cpr)))
    acks = collect_acks(a, len(more))
    assert all(v[0].status == pb.ACCEPTED for v in acks.values()) and len(acks) == 39
    hub.wait_alerts(40)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 0)
    assert welcome.open_alerts == 40 and len(alerts) == 32
    c.close()
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 100000)
    assert len(alerts) == 40
    al = [x for x in alerts if x.cpr == cprs[0]][0]
    act = pb.Action(request_id=11, alert_id=al.alert_id, kind=pb.CONTACT_MADE,
                    how="phone", note="agreed to meet")
    c.send(frame(pb.FRAME_ACTION, act))
    r = result_for(c, 11)
    assert r.code == pb.OK, r
    act.request_id = 12
    c.send(frame(pb.FRAME_ACTION, act))
    assert result_for(c, 12).code == pb.OK
    c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=13, kind=pb.TIMELINE, cpr=cprs[0])))
    r = result_for(c, 13)
    assert r.code == pb.OK
    actions = [t for t in r.timeline if not t.is_alert and t.type == pb.CASEWORKER_ACTION]
    assert len(actions) == 1 and actions[0].agency == "hub"
    assert actions[0].summary == "contact made by cw-vendor: phone — agreed to meet", actions[0].summary
    # A multi-part message on delivery: a Result with request_id 0.
    c.sock.send_multipart([b"", frame(pb.FRAME_QUERY, pb.Query(request_id=14, kind=pb.OPEN_ALERTS))])
    r = result_for(c, 0)
    assert (r.code, r.reason) == (pb.E_MALFORMED, "a message must be exactly one frame")
    c.close()
    a.close()
    ctx.destroy(linger=0)


def test_hub_restart_mid_window(hub):
    keys, ctx = started_with_caseworker(hub, "--desk")
    raise_dropouts(hub, ctx, 3)
    a = connect_agency(hub, ctx, "vendor-a")
    hub.wait_alerts(3)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 2)
    assert len(alerts) == 2
    first = {x.alert_id: x.delivery for x in alerts}
    hub.stop()
    # Sent while the hub is down (ZMQ_IMMEDIATE 0): reaches it when it is back.
    e = all_kinds("vendor-a")[0]
    a.send(frame(pb.FRAME_EVENT, e))
    hub.start()
    assert c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}, 20) is not None
    welcome, alerts = hello(c, 2)
    assert welcome.code == pb.OK and welcome.open_alerts == 3
    assert len(alerts) == 2
    for x in alerts:
        if x.alert_id in first:
            assert x.delivery > first[x.alert_id]
    (ack,) = collect_acks(a, 1, 20)[e.event_id]
    assert ack.status == pb.ACCEPTED
    a.close()
    c.close()
    ctx.destroy(linger=0)


def test_delivery_frames_a_careless_client_sends(hub):
    keys, ctx = started_with_caseworker(hub)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)

    def answer(data):
        c.send(data)
        d = c.recv(10)
        assert d is not None, data[:4]
        kind, m = decode(d)
        assert kind == pb.FRAME_RESULT, (kind, m)
        return m

    other = "only Hello, AlertAck, Query and Action frames are accepted on the delivery endpoint"
    for k in (pb.FRAME_EVENT, pb.FRAME_ACK, pb.FRAME_ALERT, pb.FRAME_WELCOME,
              pb.FRAME_RESULT, pb.FRAME_LOGIN, pb.FRAME_LOGOUT):
        r = answer(frame(k, b"\x08\x01"))
        assert (r.request_id, r.code, r.reason) == (0, pb.E_MALFORMED, other), (k, r)
    r = answer(frame(0))
    assert (r.code, r.reason) == (pb.E_MALFORMED, "unknown frame kind 0")
    r = answer(frame(pb.FRAME_ALERT_ACK, b"\xff\xff"))
    assert (r.code, r.reason) == (pb.E_MALFORMED, "AlertAck does not decode as protobuf")
    r = answer(b"\x02\x07")
    assert (r.code, r.reason) == (pb.E_VERSION, "wire version 2 is not supported (expected 1)")
    # A well-formed AlertAck for nothing open: no answer at all.
    c.send(frame(pb.FRAME_ALERT_ACK, pb.AlertAck(alert_id=b"\0" * 9, request_id=5)))
    r = answer(frame(pb.FRAME_QUERY, pb.Query(request_id=6, kind=pb.OPEN_ALERTS, limit=1000)))
    assert r.request_id == 6 and r.code == pb.OK and not r.alerts and not r.truncated
    r = answer(frame(pb.FRAME_QUERY, pb.Query(request_id=7, kind=pb.TIMELINE, cpr=CPR)))
    assert (r.code, r.reason) == (pb.E_DENIED, "this person is not assigned to you or your desk")
    r = answer(frame(pb.FRAME_QUERY, pb.Query(request_id=8, kind=pb.TIMELINE, cpr="101101234")))
    assert r.code == pb.E_MALFORMED and r.reason.startswith("cpr has 9 digits")
    r = answer(frame(pb.FRAME_QUERY, pb.Query(request_id=9)))
    assert (r.code, r.reason) == (pb.E_MALFORMED, "unknown query kind")
    c.send(frame(pb.FRAME_HELLO))
    kind, m = decode(c.recv(10))
    assert kind == pb.FRAME_WELCOME and m.code == pb.OK and m.open_alerts == 0
    c.close()
    ctx.destroy(linger=0)


def test_ingest_edge_frames(hub):
    hub.start()
    ctx = zmq.Context()
    c = connect_agency(hub, ctx)
    for data, code, reason in (
            (frame(pb.FRAME_EVENT), pb.E_VERSION, "schema version 0 is not supported (expected 1)"),
            (frame(0), pb.E_MALFORMED, "unknown frame kind 0"),
            (frame(12), pb.E_MALFORMED, "unknown frame kind 12"),
            (b"", pb.E_MALFORMED, "frame of 0 bytes is shorter than the 2-byte header"),
            (frame(pb.FRAME_ACK), pb.E_MALFORMED, "only event frames are accepted on the ingest endpoint")):
        c.send(data)
        d = c.recv(10)
        assert d is not None, data
        a = ack_of(d)
        assert (a.status, a.code, a.reason, a.event_id, a.sequence) == (pb.REJECTED, code, reason, b"", 0), (data, a)
    c.close()
    ctx.destroy(linger=0)


def test_window_cap_alert_ids_and_query_limit(hub):
    keys, ctx = started_with_caseworker(hub, "--desk")
    a = connect_agency(hub, ctx, "college-w")
    n = 300
    cprs = ["%02d%02d90%04d" % (1 + i % 28, 1 + i // 28, 1000 + i) for i in range(n)]
    evs = [envelope("college-w", pb.DROPOUT, "dropout", pb.Dropout(institution="c1", date=TODAY),
                    "w%d" % i, cpr=cpr) for i, cpr in enumerate(cprs)]
    for e in evs:
        a.send(frame(pb.FRAME_EVENT, e))
    acks = collect_acks(a, n, 60)
    seq_of = {e.cpr: acks[e.event_id][0].sequence for e in evs}
    hub.wait_alerts(300)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    welcome, alerts = hello(c, 1000)
    assert welcome.open_alerts == n and len(alerts) == 256
    for al in alerts:
        assert al.rule == "dropout" and al.alert_id[8] == 4
        assert struct.unpack(">Q", al.alert_id[:8])[0] == seq_of[al.cpr]
    c.send(frame(pb.FRAME_QUERY, pb.Query(request_id=3, kind=pb.OPEN_ALERTS, limit=1000)))
    r = result_for(c, 3)
    assert len(r.alerts) == 50 and r.truncated
    c.close()
    a.close()
    ctx.destroy(linger=0)


def test_session_limits(hub):
    keys = hub.keygen("cw-vendor")
    k2 = hub.keygen("cw-two")
    hub.ctl("register-caseworker", "cw-vendor", "--key",
            os.path.join(hub.keys, "cw-vendor.key"), "--desk")
    hub.ctl("register-caseworker", "cw-two", "--key", os.path.join(hub.keys, "cw-two.key"))
    hub.start("--sessions_per_caseworker", "1", "--sessions_max", "1")
    ctx = zmq.Context()
    raise_dropouts(hub, ctx, 1)
    hub.wait_alerts(1)
    old = connect_caseworker(hub, ctx, "cw-vendor", keys)
    w, alerts = hello(old, 4)
    assert w.code == pb.OK and len(alerts) == 1
    # The table is full for another caseworker.
    two = connect_caseworker(hub, ctx, "cw-two", k2)
    w, alerts = hello(two, 4)
    assert (w.code, w.caseworker, w.open_alerts, alerts) == (pb.E_UNAVAILABLE, "cw-two", 0, [])
    assert w.reason == "the hub's session table is full (sessions_max); retry later"
    # A second connection of the same caseworker ends the oldest, silently.
    new = connect_caseworker(hub, ctx, "cw-vendor", keys)
    w, alerts = hello(new, 4)
    assert w.code == pb.OK and len(alerts) == 1
    assert old.recv(1) is None
    raise_dropouts_more = connect_agency(hub, ctx, "college-x")
    e = envelope("college-x", pb.DROPOUT, "dropout", pb.Dropout(institution="c1", date=TODAY),
                 "x1", cpr="0202021234")
    raise_dropouts_more.send(frame(pb.FRAME_EVENT, e))
    assert ack_of(raise_dropouts_more.recv(10)).status == pb.ACCEPTED
    d = new.recv(10)
    assert d is not None and decode(d)[0] == pb.FRAME_ALERT
    assert old.recv(2) is None
    old.send(frame(pb.FRAME_QUERY, pb.Query(request_id=2, kind=pb.OPEN_ALERTS)))
    assert len(result_for(old, 2).alerts) == 2
    for s in (old, new, two, raise_dropouts_more):
        s.close()
    ctx.destroy(linger=0)


def test_revoked_caseworker_frame_too_large_is_denied_with_request_id_0(hub):
    """§1: after a revocation every delivery frame is E_DENIED; one over
    65,536 bytes is not decoded, so its request_id is 0 (the vendor had to
    guess between that, its own request_id and E_TOO_LARGE)."""
    keys, ctx = started_with_caseworker(hub)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    hub.ctl("revoke-caseworker", "cw-vendor")
    time.sleep(1.5)
    revoked = "the key this connection authenticated with has been revoked or replaced"
    q = frame(pb.FRAME_QUERY, pb.Query(request_id=5, kind=pb.OPEN_ALERTS))
    # 65,536 bytes is the limit itself: that frame is decoded.
    for data, rid in ((q, 5), (q + unknown_field(65536 - len(q)), 5),
                      (q + unknown_field(65537 - len(q)), 0)):
        c.send(data)
        d = c.recv(10)
        assert d is not None
        kind, r = decode(d)
        assert (kind, r.request_id, r.code, r.reason) == (pb.FRAME_RESULT, rid, pb.E_DENIED, revoked)
    # A multi-part message is no frame: on either endpoint, revoked or
    # not, it gets the E_MALFORMED of any connection.
    c.sock.send_multipart([q, q])
    d = c.recv(10)
    assert d is not None
    kind, r = decode(d)
    assert (kind, r.request_id, r.code, r.reason) == \
        (pb.FRAME_RESULT, 0, pb.E_MALFORMED, "a message must be exactly one frame"), r
    c.close()
    ctx.destroy(linger=0)


def test_desk_membership_counts_only_for_the_duty_desk(hub):
    """§4 Desk members: the youth unit's vendor must name the duty desk's
    id (the desk alerts' recipient); another id is stored and does nothing."""
    keys, ctx = started_with_caseworker(hub)
    a = connect_agency(hub, ctx, "youth-v")

    def send(e):
        a.send(frame(pb.FRAME_EVENT, e))
        assert ack_of(a.recv(10)).status == pb.ACCEPTED

    send(envelope("youth-v", pb.DROPOUT, "dropout", pb.Dropout(institution="c1", date=TODAY), "d1"))
    hub.wait_alerts(1)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    w, alerts = hello(c, 10)
    assert (w.open_alerts, alerts) == (0, [])
    for i, desk in enumerate(("other-desk", "duty-desk")):
        send(envelope("youth-v", pb.DESK_MEMBERSHIP, "desk_membership",
                      pb.DeskMembership(desk=desk, caseworker="cw-vendor", **{"from": "2020-01-01"}),
                      "m%d" % i, cpr="", sensitivity=pb.ORGANISATIONAL))
        d = c.recv(4)
        if desk == "other-desk":
            assert d is None
        else:
            kind, al = decode(d)
            assert kind == pb.FRAME_ALERT and al.recipient == "duty-desk"
    c.close()
    a.close()
    ctx.destroy(linger=0)


def test_desk_membership_of_another_id_counts_once_it_is_the_duty_desk(hub):
    """§4 Desk members: a DeskMembership naming another id is stored, and
    counts once the operator makes that id the duty desk's (routing.desk,
    RULES.md): after a reload to it, the desk's new alerts are pushed to
    the member."""
    import signal
    keys = hub.keygen("cw-vendor")
    hub.ctl("register-caseworker", "cw-vendor", "--key", os.path.join(hub.keys, "cw-vendor.key"))
    rules = os.path.join(hub.tmp, "rules.conf")
    with open(rules, "w") as f:
        f.write("routing.desk = duty-desk\n")
    hub.start("--rules", rules)
    ctx = zmq.Context()
    a = connect_agency(hub, ctx, "youth-v")

    def send(e):
        a.send(frame(pb.FRAME_EVENT, e))
        assert ack_of(a.recv(10)).status == pb.ACCEPTED

    send(envelope("youth-v", pb.DESK_MEMBERSHIP, "desk_membership",
                  pb.DeskMembership(desk="team-b", caseworker="cw-vendor", **{"from": "2020-01-01"}),
                  "m0", cpr="", sensitivity=pb.ORGANISATIONAL))
    with open(rules, "w") as f:
        f.write("routing.desk = team-b\n")
    hub.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 30
    while "HUB-RELOAD rules reloaded" not in hub.logtext():
        assert time.time() < deadline, hub.logtext()
        time.sleep(0.1)
    c = connect_caseworker(hub, ctx, "cw-vendor", keys)
    w, alerts = hello(c, 10)
    assert (w.open_alerts, alerts) == (0, [])
    send(envelope("youth-v", pb.DROPOUT, "dropout", pb.Dropout(institution="c1", date=TODAY), "d1"))
    d = c.recv(10)
    assert d is not None, hub.logtext()
    kind, al = decode(d)
    assert kind == pb.FRAME_ALERT and al.recipient == "team-b", al
    c.close()
    a.close()
    ctx.destroy(linger=0)


def test_hub_killed_mid_window_nothing_lost_nothing_twice(hub):
    """§3 steps 3-5 and §1: a window in flight when hubd dies; the DEALER
    reconnects by itself and the outbox resends what has no ack. Every
    event ends up stored once: a full resend is all DUPLICATE, each with
    a sequence of its own."""
    hub.start()
    ctx = zmq.Context()
    c = connect_agency(hub, ctx)
    n = 600
    evs = [envelope("vendor-a", pb.DROPOUT_RISK, "dropout_risk",
                    pb.DropoutRisk(institution="c1", date=TODAY), "k%d" % i,
                    cpr="%02d%02d95%04d" % (1 + i % 28, 1 + i // 50 % 12, i))
           for i in range(n)]
    outbox = {e.event_id: frame(pb.FRAME_EVENT, e) for e in evs}
    for f in outbox.values():
        c.send(f)
    first = 0
    while first < 50:
        d = c.recv(10)
        assert d is not None
        a = ack_of(d)
        if a.status in (pb.ACCEPTED, pb.DUPLICATE):
            outbox.pop(a.event_id, None)
            first += 1
    hub.proc.kill()
    hub.proc.wait(30)
    hub.start()
    assert c.wait_event({zmq.EVENT_HANDSHAKE_SUCCEEDED}, 20) is not None
    deadline = time.time() + 120
    while outbox and time.time() < deadline:
        for f in list(outbox.values()):
            c.send(f)
        round_end = time.time() + 10
        while outbox and time.time() < round_end:
            d = c.recv(1)
            if d is None:
                continue
            a = ack_of(d)
            assert a.status != pb.REJECTED or a.retryable, a
            if a.status in (pb.ACCEPTED, pb.DUPLICATE):
                outbox.pop(a.event_id, None)
    assert not outbox, len(outbox)
    for e in evs:
        c.send(frame(pb.FRAME_EVENT, e))
    seqs = {}
    deadline = time.time() + 60
    while len(seqs) < n and time.time() < deadline:
        d = c.recv(1)
        if d is None:
            continue
        a = ack_of(d)
        assert a.status == pb.DUPLICATE, a
        seqs[a.event_id] = a.sequence
    assert len(seqs) == n and len(set(seqs.values())) == n
    assert max(seqs.values()) == n  # nothing stored twice
    c.close()
    ctx.destroy(linger=0)


def test_refused_frame_then_a_valid_one_with_its_id_in_one_batch(hub):
    """§3 "Validation order", the end: the id of a frame refused at step 7-9
    is looked up once its batch is committed, so a valid frame with that id
    read after it in the same batch makes it DUPLICATE, acked ahead of
    that frame's ACCEPTED; in another batch it keeps its refusal. Both
    frames go on one connection while hubd is stopped, so they arrive
    together: one batch."""
    import signal
    hub.start()
    ctx = zmq.Context()
    a = connect_agency(hub, ctx)
    good = all_kinds("vendor-a")[1]
    bad = pb.Envelope()
    bad.CopyFrom(good)
    bad.dropout.date = "2026-02-30"
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        a.send(frame(pb.FRAME_EVENT, bad))
        a.send(frame(pb.FRAME_EVENT, good))
        time.sleep(0.3)
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    first, second = ack_of(a.recv(10)), ack_of(a.recv(10))
    assert (first.status, first.sequence) == (pb.DUPLICATE, 1), first
    assert (second.status, second.sequence) == (pb.ACCEPTED, 1), second
    # The same two frames a batch apart: the refusal stands.
    good2 = all_kinds("vendor-a")[2]
    bad2 = pb.Envelope()
    bad2.CopyFrom(good2)
    bad2.dropout_risk.date = "2026-02-30"
    a.send(frame(pb.FRAME_EVENT, bad2))
    r = ack_of(a.recv(10))
    assert (r.status, r.code) == (pb.REJECTED, pb.E_MALFORMED), r
    a.send(frame(pb.FRAME_EVENT, good2))
    assert ack_of(a.recv(10)).status == pb.ACCEPTED
    a.close()
    ctx.destroy(linger=0)
