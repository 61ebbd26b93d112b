"""54 gateway frames: what docs/PROTOCOL.md §4a promises a web gateway, at
the level of frames (no webd, no browser): a frame without a session is
E_MALFORMED with the documented reason, a session that is set but unknown
or ended is E_UNAUTHENTICATED, an undecodable frame is answered like any
other (§2), and every answer to a session-bound frame names the caseworker
it acted for and whether they are on the duty desk."""

import json
import re
import signal
import subprocess
import time

import pytest
import zmq

import hubtest
from hubtest import (SLOW, CprGen, binary, envelope, ev_assignment,
                     ev_dropout, pb, read_key_file, rules_hub, wait_for)

FRAME_HELLO, FRAME_ALERT_ACK, FRAME_QUERY, FRAME_RESULT = 3, 5, 7, 8
FRAME_ACTION, FRAME_LOGIN, FRAME_LOGOUT = 9, 10, 11
PASSWORD = "korrekt hest batteri"
ONLY = ("a web gateway sends only Login, Logout, and Query, AlertAck and "
        "Action with a session")
ENDED = "the session has ended; log in again"
WRONG = "wrong caseworker or password"
E_MALFORMED, E_DENIED, E_FULL, E_UNAVAILABLE, E_UNAUTHENTICATED = \
    1, 3, 6, 7, 9


class Gateway:
    """The gateway key's DEALER on the delivery endpoint."""

    def __init__(self, hub, key_id="web-1"):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        own = read_key_file(hub.keys_dir / f"{key_id}.key_secret")
        self.sock.curve_serverkey = \
            read_key_file(hub.keys_dir / "hub.key")["public"].encode()
        self.sock.curve_publickey = own["public"].encode()
        self.sock.curve_secretkey = own["secret"].encode()
        self.sock.connect(hub.delivery)

    def ask(self, kind, msg):
        """Send one frame (a message, or raw bytes after the header when
        kind is None); the Result it is answered with."""
        data = msg if kind is None else \
            bytes([1, kind]) + msg.SerializeToString()
        self.sock.send(data)
        assert self.sock.poll(int(20 * SLOW * 1000), zmq.POLLIN), \
            "no answer"
        back = self.sock.recv()
        assert back[:2] == bytes([1, FRAME_RESULT]), back[:2]
        return pb().Result.FromString(back[2:])

    def close(self):
        self.sock.close(0)
        self.ctx.destroy(linger=0)


def gateway_and_passwords(hub, *caseworkers):
    """webd's key registered as web-1; the caseworkers (cw-anna and
    desk-dora when none are named) have PASSWORD."""
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in caseworkers or ("cw-anna", "desk-dora"):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", cw], input=PASSWORD + "\n",
                           capture_output=True, text=True,
                           timeout=60 * SLOW)
        assert p.returncode == 0, p.stderr


@pytest.fixture
def gw(make_hub):
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True})
    gateway_and_passwords(hub)
    g = Gateway(hub)
    try:
        yield hub, g
    finally:
        g.close()


def session_queries(g, m, rid):
    """version(session): the session's ALERTS_CHANGED count;
    open_ids(session): its open alerts' ids. Each asks with the next id
    of rid[0]."""
    def version(session):
        rid[0] += 1
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid[0],
                                       kind=m.ALERTS_CHANGED,
                                       session=session))
        assert r.code == 0, r
        return r.alerts_version

    def open_ids(session):
        rid[0] += 1
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid[0],
                                       kind=m.OPEN_ALERTS,
                                       session=session))
        return [a.alert_id for a in r.alerts]
    return version, open_ids


def login(g, caseworker, request_id=1):
    m = pb()
    r = g.ask(FRAME_LOGIN, m.Login(request_id=request_id,
                                   caseworker=caseworker, password=PASSWORD))
    assert (r.request_id, r.code, len(r.session)) == (request_id, 0, 32), r
    return r


LOCKED = ("too many failed logins for this caseworker; wait and try "
          "again later")


def login_asker(g):
    """log_in(who, password): a Login through gateway g with the next
    request id, answered (code, reason)."""
    m = pb()
    rid = [0]

    def log_in(who, password=PASSWORD):
        rid[0] += 1
        r = g.ask(FRAME_LOGIN, m.Login(request_id=rid[0], caseworker=who,
                                       password=password))
        assert r.request_id == rid[0], r
        return (r.code, r.reason)
    return log_in


def test_frames_without_a_session_are_malformed(gw):
    hub, g = gw
    m = pb()
    for kind, msg in ((FRAME_QUERY, m.Query(request_id=5,
                                            kind=m.OPEN_ALERTS)),
                      (FRAME_QUERY, m.Query(request_id=6,
                                            kind=m.ALERTS_CHANGED)),
                      (FRAME_ACTION, m.Action(request_id=7,
                                              alert_id=b"\0" * 9,
                                              kind=m.CONTACT_MADE,
                                              how="phone")),
                      (FRAME_ALERT_ACK, m.AlertAck(request_id=8,
                                                   alert_id=b"\0" * 9)),
                      (FRAME_LOGOUT, m.Logout(request_id=9))):
        r = g.ask(kind, msg)
        assert (r.request_id, r.code, r.reason) == \
            (msg.request_id, E_MALFORMED, ONLY), (kind, r)
        assert r.caseworker == "" and not r.desk
    # A Hello carries no session: the same, with request_id 0.
    r = g.ask(FRAME_HELLO, m.Hello(client="x"))
    assert (r.request_id, r.code, r.reason) == (0, E_MALFORMED, ONLY)
    # So is a kind a gateway never sends, whatever bytes it holds.
    for kind in (1, 2, 3, 4, 6, 8):
        for body in (b"", b"\xff\xff"):
            r = g.ask(None, bytes([1, kind]) + body)
            assert (r.request_id, r.code, r.reason) == \
                (0, E_MALFORMED, ONLY), (kind, body, r)
    # A frame that does not decode: §2's answer, naming the message.
    r = g.ask(None, b"\x01\x07\xff\xff")
    assert (r.request_id, r.code, r.reason) == \
        (0, E_MALFORMED, "Query does not decode as protobuf")
    r = g.ask(None, b"\x03\x07")
    assert (r.request_id, r.code, r.reason) == \
        (0, 2, "wire version 3 is not supported (expected 1)")
    # A session that is set but unknown (any length): log in again.
    for token in (b"x" * 32, b"x" * 5):
        r = g.ask(FRAME_QUERY, m.Query(request_id=10, kind=m.OPEN_ALERTS,
                                       session=token))
        assert (r.request_id, r.code, r.reason) == \
            (10, E_UNAUTHENTICATED, ENDED)
        assert r.caseworker == ""


def test_inbox_with_a_gateways_key_ends_live_and_one_shot_alike(gw):
    """OPERATIONS.md, live inbox: a Hello refused by a Result before the
    first Welcome (a web gateway's key) ends the run at once, exit 1, as
    --list does; --idle_exit does not turn it into a clean exit 0, and
    without --idle_exit the run does not wait on for ever."""
    hub, g = gw
    conf = hub.tmp / "inbox-web-1.conf"
    conf.write_text(f"caseworker = web-1\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    for extra in (["--idle_exit", "30"], [], ["--list"]):
        p = subprocess.run([binary("inbox"), "--config", str(conf),
                            "--timeout", "30"] + extra,
                           capture_output=True, text=True, timeout=60 * SLOW)
        assert (p.returncode, p.stdout, p.stderr) == \
            (1, "", f"inbox: the hub refused: {ONLY}\n"), (extra, p)


def test_revoked_gateway_is_answered_with_each_request_id(gw):
    """§1: once a key is revoked, "a caseworker's frame [gets] a Result
    with E_DENIED and the same reason"; §4a: a Login, a Logout and a
    session's AlertAck are each "answered by one Result with the same
    request_id". A gateway whose key was revoked still learns which of
    its requests each refusal answers, and from the reason that it is
    the key, not the caseworker's password."""
    hub, g = gw
    m = pb()
    s = login(g, "cw-anna").session
    hub.hubctl("revoke-gateway", "web-1")
    revoked = ("the key this connection authenticated with has been "
               "revoked or replaced")
    wait_for(lambda: g.ask(FRAME_QUERY, m.Query(
        request_id=2, kind=m.OPEN_ALERTS, session=s)).code == E_DENIED,
        10, "the revoked key refused", interval=0.2)
    for kind, msg in (
            (FRAME_LOGIN, m.Login(request_id=31, caseworker="cw-anna",
                                  password=PASSWORD)),
            (FRAME_LOGOUT, m.Logout(request_id=32, session=s)),
            (FRAME_ALERT_ACK, m.AlertAck(request_id=33, alert_id=b"\0" * 9,
                                         session=s)),
            (FRAME_QUERY, m.Query(request_id=34, kind=m.OPEN_ALERTS,
                                  session=s)),
            (FRAME_ACTION, m.Action(request_id=35, alert_id=b"\0" * 9,
                                    kind=m.CONTACT_MADE, how="phone",
                                    session=s))):
        r = g.ask(kind, msg)
        assert (r.request_id, r.code, r.reason) == \
            (msg.request_id, E_DENIED, revoked), (kind, r)
        assert not r.session and r.caseworker == "", r


@pytest.mark.parametrize("caseworker,desk", [("cw-anna", False),
                                             ("desk-dora", True)])
def test_every_session_answer_names_the_caseworker(gw, caseworker, desk):
    hub, g = gw
    m = pb()
    first = login(g, caseworker)
    assert (first.caseworker, first.desk) == (caseworker, desk)
    s = first.session
    asked = [
        (FRAME_QUERY, m.Query(request_id=2, kind=m.OPEN_ALERTS, session=s),
         0),
        (FRAME_QUERY, m.Query(request_id=3, kind=m.TIMELINE, session=s,
                              cpr="0101901234"), E_DENIED),
        (FRAME_QUERY, m.Query(request_id=4, kind=m.TIMELINE, session=s,
                              cpr="0113901234"), E_MALFORMED),
        (FRAME_QUERY, m.Query(request_id=5, kind=m.ALERTS_CHANGED,
                              session=s), 0),
        (FRAME_QUERY, m.Query(request_id=6, kind=99, session=s),
         E_MALFORMED),
        (FRAME_ALERT_ACK, m.AlertAck(request_id=7, alert_id=b"\0" * 9,
                                     session=s), E_DENIED),
        (FRAME_ALERT_ACK, m.AlertAck(request_id=8, alert_id=b"\0" * 8,
                                     session=s), E_MALFORMED),
        (FRAME_ACTION, m.Action(request_id=9, alert_id=b"\0" * 9,
                                kind=m.COULD_NOT_REACH, how="letter",
                                session=s), E_DENIED),
        (FRAME_ACTION, m.Action(request_id=10, alert_id=b"\0" * 9,
                                kind=m.CONTACT_MADE, session=s),
         E_MALFORMED),
        (FRAME_LOGOUT, m.Logout(request_id=11, session=s), 0),
    ]
    hub.cprs.add("0101901234")
    for kind, msg, code in asked:
        r = g.ask(kind, msg)
        assert (r.request_id, r.code) == (msg.request_id, code), (msg, r)
        assert (r.caseworker, r.desk) == (caseworker, desk), (msg, r)
    # The session has ended: no caseworker any more.
    r = g.ask(FRAME_QUERY, m.Query(request_id=12, kind=m.OPEN_ALERTS,
                                   session=s))
    assert (r.code, r.reason, r.caseworker, r.desk) == \
        (E_UNAUTHENTICATED, ENDED, "", False)


def test_session_queries_are_rate_limited_and_audited_alike(gw):
    """§4a: a session's Query meets the same rate limit as the
    caseworker's own connection (§4 Limits), with the same answer and the
    same audit record; ALERTS_CHANGED is not counted. So does an Action,
    in its own allowance, answered with the session's caseworker."""
    hub, g = gw
    m = pb()
    s = login(g, "cw-anna").session
    for n in range(60):
        r = g.ask(FRAME_QUERY, m.Query(request_id=100 + n,
                                       kind=m.ALERTS_CHANGED, session=s))
        assert r.code == 0, r
    refused = []
    for n in range(60):
        r = g.ask(FRAME_QUERY, m.Query(request_id=200 + n,
                                       kind=m.OPEN_ALERTS, session=s))
        assert r.request_id == 200 + n and r.caseworker == "cw-anna", r
        if r.code:
            assert (r.code, r.reason) == (
                E_UNAVAILABLE,
                "too many queries; wait a moment and ask again"), r
            refused.append(r)
    assert refused, "60 queries at once and none refused"
    actions = [g.ask(FRAME_ACTION, m.Action(
        request_id=300 + n, alert_id=b"\xff" * 9, kind=m.CONTACT_MADE,
        how="phone", session=s)) for n in range(60)]
    assert all(r.caseworker == "cw-anna" and r.session_idle for r in
               actions), actions
    assert {(r.code, r.reason) for r in actions} == {
        (E_DENIED, "this alert is not addressed to you or your desk"),
        (E_UNAVAILABLE, "too many actions; wait a moment and send it "
         "again")}, actions
    hub.stop()
    p = hub.hubctl("audit", "show", "--json", "--actor", "cw-anna")
    recs = [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]
    limited = [r for r in recs
               if (r["action"], r["result"]) == ("query", "rate-limited")]
    assert len(limited) == len(refused), recs
    listed = [r for r in recs if (r["action"], r["result"]) == ("list", "ok")]
    assert len(listed) == 60 - len(refused), recs


def test_undecodable_gateway_frame_is_audited(gw):
    """docs/SECURITY.md "Audit trail": an undecodable frame is recorded
    (`frame`, `malformed`), from a gateway's connection too."""
    hub, g = gw
    r = g.ask(None, b"\x01\x07\xff\xff")
    assert (r.code, r.reason) == \
        (E_MALFORMED, "Query does not decode as protobuf")
    hub.stop()
    p = hub.hubctl("audit", "show", "--json", "--actor", "web-1")
    recs = [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]
    assert [(r["action"], r["result"], r["detail"]) for r in recs
            if r["action"] == "frame"] == \
        [("frame", "malformed", "Query does not decode as protobuf")], recs


def alert_for_anna(hub, seed, salt):
    """An absence alert raised for a person (CprGen(seed)) assigned to
    cw-anna, as she has it open."""
    [cpr] = CprGen(seed).take(1)
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt=salt, absent=30,
                      expected=100))
    [alert] = hub.peek("cw-anna", 1)
    return alert


def test_session_ack_note_not_text_is_not_kept(gw):
    """§4 step 4 and §4a: an acknowledgement whose note is not valid
    UTF-8 is stored, answered OK, and its note is not kept, through a
    session as on the caseworker's own connection."""
    hub, g = gw
    m = pb()
    alert = alert_for_anna(hub, 5401, "gw-ack")
    s = login(g, "cw-anna").session
    msg = m.AlertAck(request_id=3, alert_id=bytes.fromhex(alert["alert_id"]),
                     note="\x7f\x7f\x7f\x7f\x7f", session=s)
    data = bytes([1, FRAME_ALERT_ACK]) + \
        msg.SerializeToString().replace(b"\x7f" * 5, b"\xd8rhus")
    r = g.ask(None, data)
    assert (r.request_id, r.code) == (3, 0), r
    hub.wait_log(r"HUB-DELIVER alert ack from cw-anna with a note that is "
                 r"not valid UTF-8; the note is not kept")
    hub.stop()
    p = hub.hubctl("audit", "show", "--json", "--actor", "cw-anna")
    acks = [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{") and '"ack"' in line]
    assert [(a["result"], a["detail"].strip()) for a in acks] == \
        [("ok", alert["alert_id"])], acks


def test_session_end_by_idle_time_and_full_table_is_audited(make_hub):
    """§4a: a session ends after `web_session_idle` minutes without a
    frame (hub clock) and when a login needs the place of the one idle
    longest; SECURITY.md "Audit trail": every end of a web session is a
    `logout` record saying why. At 30 minutes the session has ended, and
    a session nobody uses again ends (and is audited) all the same."""
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True,
                                "desk-dan": True},
                   clock="2026-11-02T08:00:00",
                   settings={"web_sessions_max": "2"})
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in ("cw-anna", "desk-dora", "desk-dan"):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", cw], input=PASSWORD + "\n",
                           capture_output=True, text=True,
                           timeout=60 * SLOW)
        assert p.returncode == 0, p.stderr
    g = Gateway(hub)
    m = pb()
    try:
        first = login(g, "cw-anna").session
        hub.advance("2026-11-02T08:30:00")
        r = g.ask(FRAME_QUERY, m.Query(request_id=2, kind=m.OPEN_ALERTS,
                                       session=first))
        assert (r.code, r.reason) == (E_UNAUTHENTICATED, ENDED), \
            "alive after web_session_idle minutes without a frame"
        dora = login(g, "desk-dora", 3).session
        hub.advance("2026-11-02T08:31:00")
        login(g, "desk-dan", 4)
        hub.advance("2026-11-02T08:32:00")
        login(g, "cw-anna", 5)          # the table is full: dora's ends
        r = g.ask(FRAME_QUERY, m.Query(request_id=6, kind=m.OPEN_ALERTS,
                                       session=dora))
        assert r.code == E_UNAUTHENTICATED, r
        # dan's password is set again: his session ended with it, and
        # is not recorded as merely idle when its time runs out.
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", "desk-dan"],
                           input=PASSWORD + "\n", capture_output=True,
                           text=True, timeout=60 * SLOW)
        assert p.returncode == 0, p.stderr
        hub.advance("2026-11-02T09:05:00")   # no frame: both run out
        hub.wait_log(r"HUB-WEB web session of desk-dan ended: revoked")
        hub.wait_log(r"HUB-WEB web session of cw-anna ended: idle",
                     count=2)
    finally:
        g.close()
    hub.stop()
    p = hub.hubctl("audit", "show", "--json")
    recs = [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]
    ends = [(r["actor"], r["result"]) for r in recs
            if r["action"] == "logout"]
    assert sorted(ends) == sorted([("cw-anna", "idle"),
                                   ("desk-dora", "full"),
                                   ("desk-dan", "revoked"),
                                   ("cw-anna", "idle")]), recs


def test_a_gateway_revoked_and_registered_again_at_once_ends_its_sessions(
        gw):
    """SECURITY.md "Sessions": a web session ends when its gateway is
    revoked, and "an ended session stays ended: registering ... the
    gateway again, even with the same key, does not bring it back" --
    also when the gateway is registered again before hubd's next loop
    turn (hubd paused here, so that it never sees the gateway missing).
    The end is recorded: `logout` `revoked`."""
    hub, g = gw
    m = pb()
    anna = login(g, "cw-anna").session
    dora = login(g, "desk-dora", 2).session
    # Paused only once the logins are written (a second at most): a
    # hubd paused in the middle of a write would hold hubctl up.
    wait_for(lambda: hub.hubctl("audit", "show", "--json").stdout.count(
        '"login"') == 2, 10, "the logins written", interval=0.3)
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        hub.hubctl("revoke-gateway", "web-1")
        hub.hubctl("register-gateway", "web-1")
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    for rid, session in ((3, anna), (4, dora)):
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid, kind=m.OPEN_ALERTS,
                                       session=session))
        assert (r.request_id, r.code, r.reason) == \
            (rid, E_UNAUTHENTICATED, ENDED), r
    # The gateway itself serves again: a new login works.
    fresh = login(g, "cw-anna", 5).session
    r = g.ask(FRAME_QUERY, m.Query(request_id=6, kind=m.OPEN_ALERTS,
                                   session=fresh))
    assert (r.code, r.caseworker) == (0, "cw-anna"), r
    hub.stop()
    p = hub.hubctl("audit", "show", "--json")
    ends = [(r["actor"], r["result"]) for r in
            map(json.loads, p.stdout.splitlines())
            if r["action"] == "logout"]
    assert sorted(ends) == [("cw-anna", "revoked"), ("cw-anna", "stopped"),
                            ("desk-dora", "revoked")], ends


def ended_by_a_change_made_while_paused(hub, g, change):
    """cw-anna logs in through g; change() runs with hubd stopped (so that
    it sees only the end state at its next loop turn); then her session
    has ended, recorded `logout` `revoked`, and a new login works."""
    m = pb()
    anna = login(g, "cw-anna").session
    wait_for(lambda: '"login"' in hub.hubctl("audit", "show",
                                              "--json").stdout,
             10, "the login written", interval=0.3)
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        change()
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    hub.wait_log(r"HUB-WEB web session of cw-anna ended: revoked")
    r = g.ask(FRAME_QUERY, m.Query(request_id=2, kind=m.OPEN_ALERTS,
                                   session=anna))
    assert (r.request_id, r.code, r.reason) == \
        (2, E_UNAUTHENTICATED, ENDED), r
    fresh = login(g, "cw-anna", 3).session
    r = g.ask(FRAME_QUERY, m.Query(request_id=4, kind=m.OPEN_ALERTS,
                                   session=fresh))
    assert (r.code, r.caseworker) == (0, "cw-anna"), r


def test_a_gateway_key_replaced_and_put_back_at_once_ends_its_sessions(gw):
    """SECURITY.md "Sessions": a web session ends when its gateway's key
    is replaced -- also when the old key is registered again before
    hubd's next loop turn (A, B, A with hubd paused), as after a revoke.
    Recorded `logout` `revoked`; a new login through the old key works."""
    hub, g = gw
    hub.hubctl("keygen", "--keys_dir", str(hub.tmp / "new"), "web-1",
               config=False)

    def replace_and_put_back():
        hub.hubctl("register-gateway", "web-1", "--key",
                   str(hub.tmp / "new" / "web-1.key"))
        hub.hubctl("register-gateway", "web-1")
    ended_by_a_change_made_while_paused(hub, g, replace_and_put_back)


def test_a_caseworker_key_replaced_and_put_back_at_once_ends_web_sessions(
        gw):
    """SECURITY.md "Revocation is immediate" and "Sessions": a
    caseworker's key replaced and put back before hubd's next loop turn
    (A, B, A with hubd paused) ends their web sessions as well as the
    delivery sessions opened with A — a web session does not use the
    caseworker's key, but a replaced one says their device may be in
    other hands. Recorded `logout` `revoked`; a new login works."""
    hub, g = gw
    hub.hubctl("keygen", "--keys_dir", str(hub.tmp / "new"), "cw-anna",
               config=False)

    def replace_and_put_back():
        hub.register_caseworker("cw-anna",
                                key=hub.tmp / "new" / "cw-anna.key")
        hub.register_caseworker("cw-anna")
    ended_by_a_change_made_while_paused(hub, g, replace_and_put_back)

    def sessions():
        p = hub.hubctl("audit", "show", "--json", "--actor", "cw-anna")
        return [(r["action"], r["result"]) for r in map(
            json.loads, p.stdout.splitlines())
            if r["action"] in ("login", "logout")]
    wait_for(lambda: len(sessions()) >= 3, 10, "the logins written",
             interval=0.3)
    assert sessions() == [("login", "ok"), ("logout", "revoked"),
                          ("login", "ok")]


def test_a_caseworker_revoked_and_registered_again_at_once_is_logged_out(
        gw):
    """SECURITY.md "Sessions": a web session ends when its caseworker is
    revoked -- also when the operator registers the caseworker again
    (same key, password set again) before hubd's next loop turn. It ends
    then, recorded `logout` `revoked`, not whenever the browser next
    asks; the old session is ended, a new login works."""
    hub, g = gw

    def revoke_and_register_again():
        hub.hubctl("revoke-caseworker", "cw-anna")
        hub.register_caseworker("cw-anna")
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", "cw-anna"],
                           input=PASSWORD + "\n", capture_output=True,
                           text=True, timeout=60 * SLOW)
        assert p.returncode == 0, p.stderr
    ended_by_a_change_made_while_paused(hub, g, revoke_and_register_again)


def test_session_end_by_a_stop_is_audited_and_a_crash_leaves_none(gw):
    """SECURITY.md "Sessions": a stop of hubd (SIGTERM) ends every live
    web session and records each end as `logout` with result `stopped`;
    one ended before (a Logout) is not recorded again. After a crash
    (kill -9) nothing records the end: that session's login is its last
    record. Either way the session has ended when hubd is back."""
    hub, g = gw
    m = pb()
    anna = login(g, "cw-anna").session
    dora = login(g, "desk-dora", 2).session
    gone = login(g, "cw-anna", 3).session
    r = g.ask(FRAME_LOGOUT, m.Logout(request_id=4, session=gone))
    assert r.code == 0, r
    hub.stop()
    hub.wait_log(r"HUB-WEB web session of cw-anna ended: stopped")
    hub.wait_log(r"HUB-WEB web session of desk-dora ended: stopped")
    hub.start()
    for rid, session in ((5, anna), (6, dora)):
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid, kind=m.OPEN_ALERTS,
                                       session=session))
        assert (r.request_id, r.code, r.reason) == \
            (rid, E_UNAUTHENTICATED, ENDED), r
    crashed = login(g, "desk-dora", 7).session
    # SECURITY.md "What a crash can lose": a login is written within a
    # second; the crash comes after that.
    wait_for(lambda: hub.hubctl("audit", "show", "--actor", "desk-dora")
             .stdout.count(" login ") == 2, 10, "the login written")
    hub.kill9()
    hub.start()
    r = g.ask(FRAME_QUERY, m.Query(request_id=8, kind=m.OPEN_ALERTS,
                                   session=crashed))
    assert r.code == E_UNAUTHENTICATED, r
    hub.stop()
    p = hub.hubctl("audit", "show", "--json")
    recs = [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]
    ends = [(r["actor"], r["action"], r["result"]) for r in recs
            if r["action"] in ("login", "logout")]
    assert ends == [("cw-anna", "login", "ok"),
                    ("desk-dora", "login", "ok"),
                    ("cw-anna", "login", "ok"),
                    ("cw-anna", "logout", "logout"),
                    ("cw-anna", "logout", "stopped"),
                    ("desk-dora", "logout", "stopped"),
                    ("desk-dora", "login", "ok")], recs


def test_session_ack_answers_twice_foreign_and_short(gw):
    """§4a: a session's AlertAck is answered OK once stored; sent again
    (from this session or another of the caseworker's), for another
    caseworker's alert or for an unknown id it is E_DENIED "this alert is
    not open for you or your desk"; an id that is not 9 bytes is
    E_MALFORMED with the documented reason. Each is in the audit trail
    (§4 "every refusal"): `ack` `not-open`, the short id as `-`."""
    hub, g = gw
    m = pb()
    alert = alert_for_anna(hub, 5402, "gw-twice")
    aid = bytes.fromhex(alert["alert_id"])
    anna, anna2 = login(g, "cw-anna").session, login(g, "cw-anna").session
    dora = login(g, "desk-dora").session
    not_open = "this alert is not open for you or your desk"
    for rid, session, alert_id, want in (
            (2, dora, aid, (E_DENIED, not_open)),
            (3, anna, aid, (0, "")),
            (4, anna, aid, (E_DENIED, not_open)),
            (5, anna2, aid, (E_DENIED, not_open)),
            (6, anna, b"\xff" * 9, (E_DENIED, not_open)),
            (7, anna, aid[:8],
             (E_MALFORMED, "alert_id must be the 9 bytes of an alert's id"))):
        r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=rid,
                                              alert_id=alert_id,
                                              session=session))
        assert (r.request_id, r.code, r.reason) == (rid,) + want, r
    hub.stop()
    recs = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--json").stdout.splitlines()
        if line.startswith("{")]
    want = [("desk-dora", "not-open", alert["alert_id"]),
            ("cw-anna", "ok", alert["alert_id"]),
            ("cw-anna", "not-open", alert["alert_id"]),
            ("cw-anna", "not-open", alert["alert_id"]),
            ("cw-anna", "not-open", "ff" * 9),
            ("cw-anna", "not-open", "-")]

    def said(r):
        return (r["actor"], r["result"], r["detail"])
    # An acknowledgement stored commits with its record, the refusals
    # are written within the second: in the order of their times
    # (SECURITY.md, "Records are chained in the order they are written").
    # Frames answered one after the other often share a millisecond, and
    # records of one millisecond have no order by time: within one, any
    # order is right (the chain's puts the stored ack first).
    acks = sorted((r for r in recs if r["action"] == "ack"),
                  key=lambda r: (r["at"], want.index(said(r))
                                 if said(r) in want else len(want)))
    assert [said(r) for r in acks] == want, \
        [(said(r), r["at"]) for r in acks]


KEPT = "the acknowledgement is kept and stored as soon as the hub can"
NOT_KEPT = ("the acknowledgement was not kept: the hub cannot store it now; "
            "send it again later")


def test_session_ack_the_store_cannot_take_says_whether_it_is_kept(
        make_hub):
    """§4a: an AlertAck the store cannot take (log_map_mb full) is
    answered E_UNAVAILABLE with KEPT while the hub keeps it (1,024 wait
    at most); beyond that it is E_FULL with NOT_KEPT, never "kept". The
    ones still kept at a stop are said lost in the log, and the
    acknowledgement sent again once there is room is stored."""
    from test_53_delivery import until_refused
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True},
                   settings={"log_map_mb": "1"})
    gateway_and_passwords(hub, "cw-anna")
    cprs = CprGen(5403).take(40)
    for i, cpr in enumerate(cprs):
        hub.assign(cpr, "cw-anna")
    hub.send(*[envelope("school-a", cpr, salt=f"gw-full-{i}", absent=30,
                        expected=100) for i, cpr in enumerate(cprs)])
    alerts = [bytes.fromhex(a["alert_id"]) for a in hub.peek("cw-anna", 40)]
    g = Gateway(hub)
    m = pb()
    try:
        s = login(g, "cw-anna").session
        until_refused(hub, "gw-full")
        until_refused(hub, "gw-full-1", step=1)
        # Pages freed while a reader (the applier, hubctl stats) still
        # held an older snapshot are reused only once it is done: about 1
        # run in 20 such room came back during the resends below. Wait for
        # the readers, then fill that room too.
        hub.wait_applied()
        until_refused(hub, "gw-full-2", step=1)
        # The few pages the refused events left may take an ack or two.
        for rid, aid in enumerate(alerts, 1):
            r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=rid,
                                                  alert_id=aid, session=s))
            if r.code:
                break
        assert (r.code, r.reason) == (E_UNAVAILABLE, KEPT), r
        # Sent again while the store is still full: each is kept too.
        for rid in range(1, 1024):
            r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=rid,
                                                  alert_id=aid, session=s))
            assert (r.request_id, r.code, r.reason) == \
                (rid, E_UNAVAILABLE, KEPT), r
        r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=1025, alert_id=aid,
                                              session=s))
        assert (r.request_id, r.code, r.reason, r.caseworker) == \
            (1025, E_FULL, NOT_KEPT, "cw-anna"), r
        hub.wait_log(r"HUB-DELIVER ack of alert \S+ by cw-anna not stored: "
                     r".*; not kept either \(1024 acknowledgements wait "
                     r"already\): the alert stays open")
    finally:
        g.close()
    # OPERATIONS.md, inbox --ack: sent again once a second while the
    # alert stays open, and said not stored at --timeout.
    conf = hub.tmp / "inbox-cw-anna.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--ack",
                        aid.hex(), "--timeout", "3"], capture_output=True,
                       text=True, timeout=60 * SLOW)
    assert (p.returncode, p.stdout) == (1, ""), (p.returncode, p.stderr)
    assert re.fullmatch(r"inbox: the alert is still open after \d+ tries "
                        r"in 3 s: the hub has not stored the "
                        r"acknowledgement \(it cannot store it now\); send "
                        r"it again later\n", p.stderr), p.stderr
    hub.stop()
    assert re.search(r"HUB-DELIVER 1024 acknowledgement\(s\) not stored at "
                     r"stop; their alerts stay open and are delivered again",
                     hub.log_text())
    # Room again: the acknowledgement sent again is stored.
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    hub.start()
    g = Gateway(hub)
    try:
        s = login(g, "cw-anna").session
        r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=1026, alert_id=aid,
                                              session=s))
        assert (r.request_id, r.code) == (1026, 0), r
    finally:
        g.close()


def test_every_refused_login_takes_a_verification(gw):
    """§4a Login: a wrong, an empty or a too long (over 1,024 bytes)
    password and a caseworker that is unknown, or no caseworker id at
    all, get the same answer "and take the same time (one argon2id
    verification ...)": none comes back at once."""
    hub, g = gw
    m = pb()

    def timed(caseworker, password):
        t0 = time.monotonic()
        r = g.ask(FRAME_LOGIN, m.Login(request_id=1, caseworker=caseworker,
                                       password=password))
        assert (r.code, r.reason) == (E_DENIED,
                                      "wrong caseworker or password"), r
        return time.monotonic() - t0

    hub.cprs.add("0101901234")
    timed("cw-nobody", "warm up the dummy hash")
    wrong = min(timed("cw-anna", "not the password") for _ in range(2))
    for caseworker, password in (("cw-anna", "x" * 2000),
                                 ("desk-dora", ""),
                                 ("0101901234", PASSWORD),
                                 ("not an id at all", PASSWORD)):
        took = timed(caseworker, password)
        assert took > wrong / 3, \
            (f"{caseworker!r}/{len(password)} bytes answered in "
             f"{took * 1000:.0f} ms, a wrong password in "
             f"{wrong * 1000:.0f} ms")


def test_login_with_a_nul_byte_is_no_login(gw):
    """§4a Login: E_DENIED "wrong caseworker or password" when the
    password is wrong or longer than 1,024 bytes. Bytes after a NUL byte
    are sent like any others: the right password followed by a NUL byte
    and more is not the right password (nor under 1,025 bytes if they
    make it longer), and a caseworker id followed by one is no id."""
    hub, g = gw
    m = pb()
    for caseworker, password in (("cw-anna", PASSWORD + "\0"),
                                 ("cw-anna", PASSWORD + "\0anything"),
                                 ("cw-anna", PASSWORD + "\0" * 1100),
                                 ("desk-dora\0", PASSWORD),
                                 ("desk-dora\0x", PASSWORD)):
        r = g.ask(FRAME_LOGIN, m.Login(request_id=4, caseworker=caseworker,
                                       password=password))
        assert (r.request_id, r.code, r.reason, r.session) == \
            (4, E_DENIED, "wrong caseworker or password", b""), \
            (caseworker, len(password), r)
    login(g, "cw-anna")
    login(g, "desk-dora")


def test_set_password_with_a_nul_byte_says_so(gw):
    """OPERATIONS.md set-password: the first line of standard input, 8 to
    1,024 bytes, with no NUL byte. A NUL byte is refused as such (exit 1,
    the password in force kept), not as a length the line does not
    have; a CR inside the line is part of the password."""
    hub, g = gw
    for line in (b"abc\0defghij\n", PASSWORD.encode() + b"\0x\n",
                 b"\0" * 20 + b"\n"):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", "cw-anna"], input=line,
                           capture_output=True, timeout=60 * SLOW)
        assert p.returncode == 1, p
        assert p.stderr.decode() == (
            "hubctl: set-password: the password (the first line of "
            "standard input) holds a NUL byte\n"), p.stderr
    login(g, "cw-anna")
    for line, too_long in ((b"a" * 1024 + b"\r\n", False),
                           (b"a" * 1025 + b"\n", True),
                           (b"a" * 1023 + b"\r\r\n", False)):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", "cw-anna"], input=line,
                           capture_output=True, timeout=60 * SLOW)
        assert p.returncode == (1 if too_long else 0), p


def test_set_password_from_a_file_notepad_saved_drops_its_bom(gw):
    """OPERATIONS.md set-password: the password is UTF-8 text as the login
    form sends it. A file saved by Notepad begins with a byte order mark
    no one can type in the form: it is dropped, as at the start of every
    file the programs read, and the password logs in as typed."""
    hub, g = gw
    new = "nyt kodeord 2026"
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "set-password", "cw-anna"],
                       input=b"\xef\xbb\xbf" + new.encode() + b"\r\n",
                       capture_output=True, timeout=60 * SLOW)
    assert p.returncode == 0, p
    m = pb()
    r = g.ask(FRAME_LOGIN, m.Login(request_id=9, caseworker="cw-anna",
                                   password=new))
    assert (r.code, len(r.session)) == (0, 32), r
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "a byte order mark at its start is dropped too" in doc


def test_alerts_changed_moves_with_the_list(make_hub):
    """§4a ALERTS_CHANGED: a number that starts at 0 and moves when the
    session's list changes without the caseworker's own doing: an alert
    raised for them, one moved out of their list by a reassignment, a
    desk alert another desk member acknowledged. Their own
    acknowledgement of their own alert leaves it where it was."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00", start=False)
    gateway_and_passwords(hub)
    hub.keygen("desk-eve")
    hub.register_caseworker("desk-eve", desk=True)
    hub.start()
    g = Gateway(hub)
    m = pb()
    try:
        anna = login(g, "cw-anna", 1).session
        dora = login(g, "desk-dora", 2).session
        rid = [10]

        version, open_ids = session_queries(g, m, rid)

        def moves(session, before, what):
            return wait_for(lambda: (lambda v: v if v != before else None)(
                version(session)), 10, what, interval=0.1)

        assert (version(anna), version(dora)) == (0, 0)
        p1, p2, p3 = (CprGen(5402).born(d) for d in
                      ("2004-02-02", "2004-03-03", "2004-04-04"))
        hub.send(ev_assignment(p1, "cw-anna", "2026-01-01"),
                 ev_assignment(p2, "cw-anna", "2026-01-01"))
        hub.send(ev_dropout(p1, "2026-10-27"))
        v = moves(anna, 0, "an alert raised for cw-anna")
        # The list read names the count it holds (webd's /events?since).
        rid[0] += 1
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid[0],
                                       kind=m.OPEN_ALERTS, session=anna))
        assert (r.code, len(r.alerts), r.alerts_version) == (0, 1, v), r
        # Moved out of her list by a reassignment.
        hub.send(ev_assignment(p1, "cw-bob", "2026-11-02"))
        wait_for(lambda: not open_ids(anna), 10, "the alert moved away")
        v = moves(anna, v, "an alert moved out of cw-anna's list")
        # Her own acknowledgement of her own alert: it stays.
        hub.send(ev_dropout(p2, "2026-10-27"))
        v = moves(anna, v, "a second alert raised for cw-anna")
        [own] = open_ids(anna)
        r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=3, alert_id=own,
                                              session=anna))
        assert r.code == 0, r
        assert version(anna) == v
        # A desk alert acknowledged by another desk member: dora's list
        # changes without her doing.
        hub.send(ev_dropout(p3, "2026-10-27"))
        d = moves(dora, 0, "a desk alert raised")
        [desk_alert] = open_ids(dora)
        assert d == version(dora)
        # desk-eve's own connection: an AlertAck there is not answered.
        eve = Gateway(hub, "desk-eve")
        try:
            eve.sock.send(bytes([1, FRAME_ALERT_ACK]) + m.AlertAck(
                alert_id=desk_alert).SerializeToString())
            moves(dora, d, "a desk alert another member acknowledged")
        finally:
            eve.close()
    finally:
        g.close()


def test_own_desk_acknowledgement_leaves_alerts_changed_as_it_was(
        make_hub):
    """§4a ALERTS_CHANGED counts the changes to the list "that the
    caseworker did not make": a desk member who acknowledges a desk alert
    herself (in either of her sessions) does not see her counter move,
    while the other desk member's does. So too for the desk's notice of
    an alert of her own: she closes it by acknowledging her alert."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00", escalation=True,
                    start=False)
    hub.keygen("desk-eve")
    hub.register_caseworker("desk-eve", desk=True)
    gateway_and_passwords(hub, "cw-anna", "desk-dora", "desk-eve")
    hub.start()
    g = Gateway(hub)
    m = pb()
    rid = [100]
    try:
        dora, dora2 = (login(g, "desk-dora", i).session for i in (1, 2))
        eve = login(g, "desk-eve", 3).session

        version, open_ids = session_queries(g, m, rid)

        desk_person, own_person = (CprGen(5471).born(d) for d in
                                   ("2004-02-02", "2004-03-03"))
        hub.send(ev_dropout(desk_person, "2026-10-27"))
        [desk_alert] = wait_for(lambda: open_ids(eve), 10, "a desk alert")
        wait_for(lambda: version(dora2) == 1, 10, "dora's counter at 1")
        before = {s: version(s) for s in (dora, dora2, eve)}
        assert before == {dora: 1, dora2: 1, eve: 1}, before
        r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=7,
                                              alert_id=desk_alert,
                                              session=dora))
        assert r.code == 0, r
        wait_for(lambda: version(eve) == 2, 10,
                 "desk-eve told of the alert dora acknowledged")
        assert (version(dora), version(dora2)) == (1, 1), \
            "dora's own acknowledgement of a desk alert moved her counter"
        # dora's own alert, escalated: the desk's notice is in her list
        # too; acknowledging her alert closes it, her own doing.
        hub.send(ev_assignment(own_person, "desk-dora", "2026-01-01"))
        hub.send(ev_dropout(own_person, "2026-10-27"))
        [own] = wait_for(lambda: open_ids(dora), 10, "dora's own alert")
        hub.advance("2026-11-05T08:00:00")   # the sessions' idle end too
        dora, eve = (login(g, cw, 4 + i).session
                     for i, cw in enumerate(("desk-dora", "desk-eve")))
        wait_for(lambda: len(open_ids(eve)) == 1, 10, "the desk's notice")
        assert len(open_ids(dora)) == 2
        v = {s: version(s) for s in (dora, eve)}
        r = g.ask(FRAME_ALERT_ACK, m.AlertAck(request_id=8, alert_id=own,
                                              session=dora))
        assert r.code == 0, r
        wait_for(lambda: version(eve) == v[eve] + 1, 10,
                 "desk-eve told of the notice closed")
        assert version(dora) == v[dora], \
            "dora's acknowledgement of her own alert moved her counter"
    finally:
        g.close()


def test_frames_refused_for_their_session_are_audited(gw):
    """PROTOCOL.md §4 "every refusal is appended to the hub's audit
    trail": a gateway's frame without a session, and one whose session
    has ended or never was, are recorded with the gateway as actor; a
    gateway guessing tokens shows there."""
    hub, g = gw
    m = pb()
    s = login(g, "cw-anna").session
    assert g.ask(FRAME_LOGOUT, m.Logout(request_id=2, session=s)).code == 0
    for rid, token in ((3, s), (4, b"z" * 32)):
        r = g.ask(FRAME_QUERY, m.Query(request_id=rid, kind=m.OPEN_ALERTS,
                                       session=token))
        assert r.code == E_UNAUTHENTICATED, r
    r = g.ask(FRAME_QUERY, m.Query(request_id=5, kind=m.OPEN_ALERTS))
    assert (r.code, r.reason) == (E_MALFORMED, ONLY), r
    hub.stop()
    p = hub.hubctl("audit", "show", "--json", "--actor", "web-1")
    recs = [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]
    assert [(r["action"], r["result"], r["detail"]) for r in recs
            if r["action"] == "frame"] == [
        ("frame", "refused", "no live web session with that token"),
        ("frame", "refused", "no live web session with that token"),
        ("frame", "malformed", ONLY)], recs


def test_a_session_serves_only_the_gateway_that_opened_it(gw):
    """SECURITY.md "Sessions": a session is bound to the gateway key that
    opened it. Another registered gateway that sends its token is
    answered as for a session that never was (E_UNAUTHENTICATED), and
    the session lives on for its own gateway."""
    hub, g = gw
    m = pb()
    hub.keygen("web-2")
    hub.hubctl("register-gateway", "web-2")
    other = Gateway(hub, "web-2")
    try:
        s = login(g, "cw-anna").session
        r = other.ask(FRAME_QUERY, m.Query(request_id=2,
                                           kind=m.OPEN_ALERTS, session=s))
        assert (r.request_id, r.code, r.reason) == \
            (2, E_UNAUTHENTICATED, ENDED), r
        assert r.caseworker == "", r
    finally:
        other.close()
    r = g.ask(FRAME_QUERY, m.Query(request_id=3, kind=m.OPEN_ALERTS,
                                   session=s))
    assert (r.code, r.caseworker) == (0, "cw-anna"), r


def test_keep_alive_and_background_queries(make_hub):
    """§4a: Login and every answer in a live session say how long the
    session lasts without a frame (`session_idle`, seconds); KEEP_ALIVE
    (4) is answered OK and keeps the session alive, unaudited; a Query
    with `background` set is answered and audited as usual but does
    not."""
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True},
                   clock="2026-11-02T08:00:00",
                   settings={"web_session_idle": "10"})
    gateway_and_passwords(hub, "cw-anna")
    g = Gateway(hub)
    m = pb()
    try:
        r = login(g, "cw-anna")
        assert r.session_idle == 600
        session = r.session
        hub.advance("2026-11-02T08:09:00")
        r = g.ask(FRAME_QUERY, m.Query(request_id=2, kind=m.KEEP_ALIVE,
                                       session=session))
        assert (r.request_id, r.code, r.caseworker, r.session_idle) == \
            (2, 0, "cw-anna", 600), r
        # 10 minutes after the login, 1 after KEEP_ALIVE: alive. A
        # background read is answered, and keeps nothing alive.
        hub.advance("2026-11-02T08:18:00")
        r = g.ask(FRAME_QUERY, m.Query(request_id=3, kind=m.OPEN_ALERTS,
                                       session=session, background=True))
        assert (r.code, r.caseworker, r.session_idle) == \
            (0, "cw-anna", 600), r
        hub.advance("2026-11-02T08:19:00")
        r = g.ask(FRAME_QUERY, m.Query(request_id=4, kind=m.KEEP_ALIVE,
                                       session=session))
        assert (r.code, r.reason) == (E_UNAUTHENTICATED, ENDED), r
    finally:
        g.close()
    hub.stop()
    p = hub.hubctl("audit", "show", "--json")
    actions = [json.loads(line)["action"] for line in p.stdout.splitlines()
               if line.startswith("{")]
    # The background read is audited as a read; KEEP_ALIVE is not.
    # (The frame after the end is a token that opens nothing.)
    start = actions.index("login")
    assert actions[start:] == ["login", "list", "logout", "frame"], actions


def test_a_gateways_key_replaced_ends_its_sessions(gw):
    """SECURITY.md "Sessions" and "The web inbox": a gateway's key
    replaced (a leaked webd key: `register-gateway ID --key NEW.key`)
    refuses the old key's frames (E_DENIED) and ends every session
    opened through it within one loop turn (`logout` `revoked`), so a
    token taken along with the old key opens nothing, through the new
    key either; webd with the new key logs the caseworkers in again."""
    hub, g = gw
    m = pb()
    s = login(g, "cw-anna").session
    hub.keygen("web-1-new")
    hub.hubctl("register-gateway", "web-1", "--key",
               str(hub.keys_dir / "web-1-new.key"))
    revoked = ("the key this connection authenticated with has been "
               "revoked or replaced")
    wait_for(lambda: g.ask(FRAME_QUERY, m.Query(
        request_id=2, kind=m.OPEN_ALERTS, session=s)).reason == revoked,
        10, "the old key refused", interval=0.2)
    r = g.ask(FRAME_LOGIN, m.Login(request_id=3, caseworker="cw-anna",
                                   password=PASSWORD))
    assert (r.request_id, r.code, r.reason) == (3, E_DENIED, revoked), r
    new = Gateway(hub, "web-1-new")
    try:
        r = new.ask(FRAME_QUERY, m.Query(request_id=4, kind=m.OPEN_ALERTS,
                                         session=s))
        assert (r.request_id, r.code, r.reason) == \
            (4, E_UNAUTHENTICATED, ENDED), r
        fresh = login(new, "cw-anna", 5).session
        r = new.ask(FRAME_QUERY, m.Query(request_id=6, kind=m.OPEN_ALERTS,
                                         session=fresh))
        assert (r.code, r.caseworker) == (0, "cw-anna"), r
    finally:
        new.close()
    hub.stop()
    ends = [(r["actor"], r["result"]) for r in
            map(json.loads, hub.hubctl("audit", "show", "--json")
                .stdout.splitlines())
            if r["action"] == "logout"]
    assert sorted(ends) == [("cw-anna", "revoked"),
                            ("cw-anna", "stopped")], ends


def test_login_lock_and_gateway_allowance_on_the_hub_clock(make_hub):
    """§4a Login, at the frame level: `login_failures_max` failures lock
    the id, a right password too, until `login_lockout` minutes after the
    last failure (not a second longer); a locked login is no failure, so
    it neither moves the lock's end nor spends the gateway's allowance;
    a pause of `login_lockout` minutes forgets the count. The gateway's
    allowance (`login_gateway_failures` a minute, as many at once) is
    checked first and refills one failure's worth at a time. Audited
    `login` `denied`, `locked`, `limited`, `ok`."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00", settings={
        "login_failures_max": "2", "login_gateway_failures": "3"})
    gateway_and_passwords(hub, "cw-anna", "cw-bob")
    g = Gateway(hub)
    locked = LOCKED
    limited = ("too many failed logins through this gateway; wait a "
               "minute and try again")
    log_in = login_asker(g)
    try:
        assert log_in("cw-bob", "wrong") == (E_DENIED, WRONG)
        assert log_in("cw-bob", "wrong") == (E_DENIED, WRONG)
        assert log_in("cw-bob") == (E_UNAVAILABLE, locked)
        # The gateway has one failure left (the locked login spent
        # none): cw-anna's spends it, and then every login waits, her
        # right password and the locked id alike.
        assert log_in("cw-anna", "wrong") == (E_DENIED, WRONG)
        assert log_in("cw-anna") == (E_UNAVAILABLE, limited)
        assert log_in("cw-bob") == (E_UNAVAILABLE, limited)
        # 20 s on, one failure's worth has come back: a login is checked.
        hub.advance("2026-11-02T08:00:19")
        assert log_in("cw-anna") == (E_UNAVAILABLE, limited)
        hub.advance("2026-11-02T08:00:20")
        assert log_in("cw-anna")[0] == 0
        # Locked until 15 minutes after the last failure; asking again
        # does not push that on.
        hub.advance("2026-11-02T08:10:00")
        assert log_in("cw-bob") == (E_UNAVAILABLE, locked)
        hub.advance("2026-11-02T08:14:59")
        assert log_in("cw-bob") == (E_UNAVAILABLE, locked)
        hub.advance("2026-11-02T08:15:00")
        assert log_in("cw-bob")[0] == 0
        # A pause of login_lockout minutes forgets a failure.
        assert log_in("cw-bob", "wrong") == (E_DENIED, WRONG)
        hub.advance("2026-11-02T08:30:00")
        assert log_in("cw-bob", "wrong") == (E_DENIED, WRONG)
        assert log_in("cw-bob")[0] == 0
    finally:
        g.close()

    def logins():
        out = hub.hubctl("audit", "show", "--json").stdout
        return [(r["actor"], r["result"]) for r in map(json.loads,
                                                        out.splitlines())
                if r["action"] == "login"]
    want = [("cw-bob", "denied"), ("cw-bob", "denied"),
            ("cw-bob", "locked"), ("cw-anna", "denied"),
            ("cw-anna", "limited"), ("cw-bob", "limited"),
            ("cw-anna", "limited"), ("cw-anna", "ok"), ("cw-bob", "locked"),
            ("cw-bob", "locked"), ("cw-bob", "ok"), ("cw-bob", "denied"),
            ("cw-bob", "denied"), ("cw-bob", "ok")]
    wait_for(lambda: len(logins()) >= len(want), 10, "the logins written",
             interval=0.3)
    assert logins() == want


def test_each_of_many_gateways_keeps_its_own_login_allowance(make_hub):
    """SECURITY.md "Login limits": each gateway may cause
    `login_gateway_failures` failed logins a minute. hubd keeps that
    allowance for 16 gateways at once; a 17th that fails logins shares an
    allowance with the others beyond 16, and neither its use nor another
    gateway's gives a spent allowance back before it refills: a leaked
    key of the 17th gateway gets no fresh guesses whenever web-01 logs
    someone in."""
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True},
                   settings={"login_gateway_failures": "2",
                             "login_failures_max": "1000"})
    gateway_and_passwords(hub)
    names = [f"web-{i:02d}" for i in range(1, 18)]
    for name in names:
        hub.keygen(name)
        hub.hubctl("register-gateway", name)
    m = pb()
    gateways = {n: Gateway(hub, n) for n in names}
    rid = [0]

    def wrong(name):
        rid[0] += 1
        r = gateways[name].ask(FRAME_LOGIN, m.Login(
            request_id=rid[0], caseworker="cw-anna", password="wrong one"))
        return r.code

    try:
        for name in names[:16]:            # 16 gateways, one failure each
            assert wrong(name) == E_DENIED, name
        # web-17: its allowance of 2 spent, the third waits.
        assert [wrong("web-17") for _ in range(3)] == \
            [E_DENIED, E_DENIED, E_UNAVAILABLE]
        # web-01 fails a login again (it has one failure left) ...
        assert wrong("web-01") == E_DENIED
        # ... which gives web-17 nothing back, and web-17 took nothing
        # of web-01's: web-01 is now out too, web-17 still is.
        assert wrong("web-17") == E_UNAVAILABLE
        assert wrong("web-01") == E_UNAVAILABLE
        assert wrong("web-17") == E_UNAVAILABLE
    finally:
        for g in gateways.values():
            g.close()


def test_answers_a_gateway_does_not_read_are_logged_once_a_minute(gw):
    """PROTOCOL.md §4 Limits: answers dropped past a client's queues are
    logged, the first of a minute as a line (`HUB-WEB alerts version not
    sent` for an ALERTS_CHANGED poll, which no rate limit holds back),
    the rest summed up in one line (here: at the stop)."""
    hub, g = gw
    m = pb()
    session = login(g, "cw-anna").session
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 1)
    sock.setsockopt(zmq.RCVBUF, 4096)
    own = read_key_file(hub.keys_dir / "web-1.key_secret")
    sock.curve_serverkey = \
        read_key_file(hub.keys_dir / "hub.key")["public"].encode()
    sock.curve_publickey = own["public"].encode()
    sock.curve_secretkey = own["secret"].encode()
    sock.connect(hub.delivery)
    poll = bytes([1, FRAME_QUERY]) + m.Query(
        request_id=7, kind=m.ALERTS_CHANGED, session=session
    ).SerializeToString()
    # Nothing read until the hub has dropped one. How many that takes
    # depends on the kernel's buffers, which grow as fast as the hub
    # answers (an asan build's hub found room for 30,000): polls go out
    # in thousands until it has.
    n = 0
    while n < 400000 and \
            "HUB-WEB alerts version not sent" not in hub.log_text():
        for _ in range(1000):
            sock.send(poll)
        n += 1000
    wait_for(lambda: "HUB-WEB alerts version not sent" in hub.log_text(),
             30 * SLOW, f"an answer dropped after {n} polls")
    time.sleep(1)
    got = 0
    while sock.poll(3000 * SLOW, zmq.POLLIN):
        sock.recv()
        got += 1
    assert got < n, "no answer was dropped: the queues held them all"
    sock.close(0)
    ctx.destroy(linger=0)
    hub.stop()
    lines = [line for line in hub.log_text().splitlines()
             if " HUB-WEB " in line and " not sent" in line]
    # How many are dropped depends on how fast this process reads; when
    # only one was, there is nothing left over to sum up.
    more = n - got - 1
    assert len(lines) == (2 if more else 1), \
        lines[:5] + [f"... {len(lines)} lines, {more} more dropped"]
    assert lines[0].endswith("HUB-WEB alerts version not sent"), lines[0]
    if more:
        assert lines[1].endswith(
            f"HUB-WEB {more} more answers not sent since the last "
            "HUB-WEB line"), lines[1]


def test_login_failures_max_is_5_by_default(make_hub):
    """hubd --help: login_failures_max (default 5) failed logins for one
    caseworker id lock it. Four failures leave cw-anna's right password
    good; cw-bob's fifth locks his id, a right password too."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    gateway_and_passwords(hub, "cw-anna", "cw-bob")
    g = Gateway(hub)
    locked = LOCKED
    log_in = login_asker(g)
    try:
        for _ in range(4):
            assert log_in("cw-anna", "wrong") == (E_DENIED, WRONG)
        assert log_in("cw-anna")[0] == 0
        for _ in range(5):
            assert log_in("cw-bob", "wrong") == (E_DENIED, WRONG)
        assert log_in("cw-bob") == (E_UNAVAILABLE, locked)
    finally:
        g.close()


def test_login_gateway_failures_is_30_by_default(make_hub):
    """hubd --help: login_gateway_failures (default 30) failed web logins
    one gateway may cause at once: 30 failures, spread over ids so that
    none is locked, are each checked; the 31st login through that
    gateway waits, a right password too."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    gateway_and_passwords(hub, "cw-anna")
    m = pb()
    g = Gateway(hub)
    limited = ("too many failed logins through this gateway; wait a "
               "minute and try again")
    try:
        for i in range(30):
            r = g.ask(FRAME_LOGIN, m.Login(request_id=i + 1,
                                           caseworker=f"cw-x{i}",
                                           password="wrong"))
            assert (r.code, r.reason) == (E_DENIED, WRONG), i
        r = g.ask(FRAME_LOGIN, m.Login(request_id=31, caseworker="cw-anna",
                                       password=PASSWORD))
        assert (r.code, r.reason) == (E_UNAVAILABLE, limited)
    finally:
        g.close()
