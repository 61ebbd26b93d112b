"""134 a vendor's caseworker client and second web gateway a sixth time,
written from docs/PROTOCOL.md §4 and §4a alone (tests/e2e/vendorclient.py:
its own key-file reader, framing and CURVE set-up). Only the hub itself
(keys, registrations, passwords, the hub clock) and the envelopes come
from hubtest.py. What the earlier vendor tests left out:

- §4a: a `Logout` sent through another gateway is answered as for a
  session that never was and ends nothing; `Login` and `Logout` on a
  caseworker's own connection are frames of a kind the endpoint does not
  take (§2); an `E_UNAUTHENTICATED` answer for a token of any length
  carries none of the session's fields; `ALERTS_CHANGED` and
  `KEEP_ALIVE` ignore the other fields, an `alert_id` of the wrong
  length and a `cpr` that is no CPR number included; a login named after
  a gateway, an agency or `hub` is the same "wrong caseworker or
  password";
- §4a: every session-bound frame is activity, also one answered
  `E_DENIED` or `E_MALFORMED`, while `ALERTS_CHANGED` and a `background`
  query are not (the session then ends at `web_session_idle`); a
  `KEEP_ALIVE` with `background` set is (its other fields are ignored:
  hubd took it for a page's own query and let the session end);
- §4a Login: `lifetime` at 1439, 1440, one past it and far past it (no
  minute count whose seconds overflow 32 bits serves longer or shorter),
  and the end recorded 5 s after the lifetime, not before;
- §4 Limits: the query allowance is the caseworker's across their own
  connections and their web session, and a `Hello`, an `AlertAck`, a
  frame that does not decode, `KEEP_ALIVE` and `ALERTS_CHANGED` spend
  none of it."""

import json
import subprocess
import time

from hubtest import (SLOW, CprGen, binary, ev_assignment, ev_desk, ev_dropout,
                     event, rules_hub, wait_for)
from vendorclient import RESULT, Client, schema

PASSWORD = "korrekt hest batteri"
LOGIN, LOGOUT, QUERY, ACTION, ALERT_ACK, HELLO = 10, 11, 7, 9, 5, 3
ENDED = "the session has ended; log in again"
WRONG = "wrong caseworker or password"
ONLY = ("a web gateway sends only Login, Logout, and Query, AlertAck and "
        "Action with a session")
NOT_TAKEN = ("only Hello, AlertAck, Query and Action frames are accepted "
             "on the delivery endpoint")
TOO_MANY = "too many queries; wait a moment and ask again"


def gateway_hub(make_hub, clock, gateways=("web-1",), settings=None):
    """A rules_hub on the hub clock with the gateways registered and
    cw-anna, cw-bob and desk-dora given PASSWORD (OPERATIONS.md)."""
    hub = rules_hub(make_hub, clock, start=False, settings=settings)
    for gw in gateways:
        hub.keygen(gw)
        hub.hubctl("register-gateway", gw)
    for cw in ("cw-anna", "cw-bob", "desk-dora"):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", cw], input=PASSWORD + "\n",
                           capture_output=True, text=True,
                           timeout=60 * SLOW)
        assert p.returncode == 0, p.stderr
    hub.start()
    return hub


def ask(client, kind, msg):
    """One frame, its Result (alerts pushed in between are kept)."""
    return client.ask(bytes([1, kind]) + msg.SerializeToString(), RESULT)


def log_in(g, who="cw-anna", rid=1, **kw):
    m = schema()
    r = ask(g, LOGIN, m.Login(request_id=rid, caseworker=who,
                              password=PASSWORD, **kw))
    assert (r.request_id, r.code, len(r.session)) == (rid, 0, 32), r
    return r.session


def no_session_fields(r):
    return (r.caseworker, r.desk, r.session_idle, r.alerts_version) == \
        ("", False, 0, 0)


def at(clock_start, seconds):
    t = time.strptime(clock_start, "%Y-%m-%dT%H:%M:%S")
    return time.strftime("%Y-%m-%dT%H:%M:%S",
                         time.localtime(time.mktime(t) + seconds))


def test_gateway_frames_on_the_wrong_connection_end_nothing(make_hub):
    """§4a: "A frame whose `session` is set (any length) but unknown, was
    opened through another gateway key, or has ended is answered
    E_UNAUTHENTICATED" — a Logout too, and the session lives on; such an
    answer "carries none of them (empty, false, 0)". §2: Login and Logout
    are web gateway → hub frames: on a caseworker's own connection they
    are of a kind the endpoint does not take (request_id 0). ALERTS_CHANGED
    and KEEP_ALIVE: "the other fields are ignored". "A gateway key is
    never a caseworker of its own", and neither is an agency or `hub`."""
    hub = gateway_hub(make_hub, "2026-11-02T08:00:00",
                      gateways=("web-1", "web-2"))
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    other = Client(hub, "web-2", hub.delivery)
    own = Client(hub, "cw-anna", hub.delivery)
    try:
        s = log_in(g)

        def live(rid):
            r = ask(g, QUERY, m.Query(request_id=rid, kind=m.KEEP_ALIVE,
                                      session=s))
            return (r.request_id, r.code, r.caseworker) == \
                (rid, 0, "cw-anna")

        r = ask(other, LOGOUT, m.Logout(request_id=2, session=s))
        assert (r.request_id, r.code, r.reason) == (2, 9, ENDED), r
        assert no_session_fields(r), r
        assert live(3), "another gateway's Logout ended the session"
        for kind, msg in ((LOGIN, m.Login(request_id=4, caseworker="cw-anna",
                                          password=PASSWORD)),
                          (LOGOUT, m.Logout(request_id=5, session=s))):
            r = ask(own, kind, msg)
            assert (r.request_id, r.code, r.reason, r.session) == \
                (0, m.E_MALFORMED, NOT_TAKEN, b""), (kind, r)
        assert live(6), "a Logout on cw-anna's own connection ended it"
        # Tokens of other lengths, and one of 32 bytes that is no token.
        for n, token in enumerate((b"x", s[:31], s + b"x", bytes(32),
                                   b"\xff" * 300)):
            for kind in (m.ALERTS_CHANGED, m.OPEN_ALERTS):
                r = ask(g, QUERY, m.Query(request_id=10 + n, kind=kind,
                                          session=token))
                assert (r.request_id, r.code, r.reason) == \
                    (10 + n, m.E_UNAUTHENTICATED, ENDED), (len(token), r)
                assert no_session_fields(r), (len(token), r)
        r = ask(g, LOGOUT, m.Logout(request_id=20))
        assert (r.request_id, r.code, r.reason) == \
            (20, m.E_MALFORMED, ONLY), r
        assert no_session_fields(r), r
        # The other fields of ALERTS_CHANGED and KEEP_ALIVE are not read.
        for kind in (m.ALERTS_CHANGED, m.KEEP_ALIVE):
            r = ask(g, QUERY, m.Query(
                request_id=30 + kind, kind=kind, session=s, cpr="no cpr",
                alert_id=b"abc", limit=4000000000, offset=7,
                background=True))
            assert (r.request_id, r.code, r.reason, r.caseworker,
                    r.session_idle) == (30 + kind, 0, "", "cw-anna",
                                        1800), (kind, r)
        for who in ("web-1", "web-2", "college-a", "hub"):
            r = ask(g, LOGIN, m.Login(request_id=40, caseworker=who,
                                      password=PASSWORD))
            assert (r.request_id, r.code, r.reason, r.session) == \
                (40, m.E_DENIED, WRONG, b""), (who, r)
        assert live(50)
    finally:
        for c in (g, other, own):
            c.close()


def test_refused_session_frames_are_activity_polls_are_not(make_hub):
    """§4a: a session ends after `web_session_idle` minutes "without a
    frame"; every session-bound frame counts, whatever its answer, but
    ALERTS_CHANGED ("does not count as activity") and a `background`
    Query ("does not count as the session's activity"); a KEEP_ALIVE
    "counts as the session's activity" with `background` set as well,
    since its "other fields are ignored". One session per
    frame, all on one clock: logged in at 0 s, the frame at 50 s, a
    KEEP_ALIVE at 105 s (web_session_idle 1: 55 s after the frame, 105 s
    after the login)."""
    start = "2026-11-02T08:00:00"
    hub = gateway_hub(make_hub, start, settings={"web_session_idle": "1"})
    m = schema()
    nine = b"\x01" * 9
    frames = {
        "AlertAck E_DENIED": (ALERT_ACK, lambda s: m.AlertAck(
            alert_id=nine, session=s)),
        "AlertAck E_MALFORMED": (ALERT_ACK, lambda s: m.AlertAck(
            alert_id=b"\x01" * 3, session=s)),
        "Action E_MALFORMED": (ACTION, lambda s: m.Action(
            alert_id=nine, kind=7, how="phone", session=s)),
        "Action E_DENIED": (ACTION, lambda s: m.Action(
            alert_id=nine, kind=m.CONTACT_MADE, how="phone", session=s)),
        "unknown kind": (QUERY, lambda s: m.Query(kind=9, session=s)),
        "TIMELINE E_DENIED": (QUERY, lambda s: m.Query(
            kind=m.TIMELINE, cpr=CprGen(13402).next(), session=s)),
        "TIMELINE E_MALFORMED": (QUERY, lambda s: m.Query(
            kind=m.TIMELINE, cpr="0101", session=s)),
        "OPEN_ALERTS alert_id E_MALFORMED": (QUERY, lambda s: m.Query(
            kind=m.OPEN_ALERTS, alert_id=b"12", session=s)),
        "KEEP_ALIVE": (QUERY, lambda s: m.Query(kind=m.KEEP_ALIVE,
                                                session=s)),
        # "the other fields are ignored": `background` too.
        "KEEP_ALIVE background": (QUERY, lambda s: m.Query(
            kind=m.KEEP_ALIVE, background=True, session=s)),
        "background OPEN_ALERTS": (QUERY, lambda s: m.Query(
            kind=m.OPEN_ALERTS, background=True, session=s)),
        "ALERTS_CHANGED": (QUERY, lambda s: m.Query(
            kind=m.ALERTS_CHANGED, session=s)),
    }
    activity = set(frames) - {"background OPEN_ALERTS", "ALERTS_CHANGED"}
    g = Client(hub, "web-1", hub.delivery)
    try:
        sessions = {name: log_in(g, rid=i)
                    for i, name in enumerate(frames, 1)}
        hub.advance(at(start, 50))
        for i, (name, (kind, make)) in enumerate(frames.items(), 100):
            msg = make(sessions[name])
            msg.request_id = i
            r = ask(g, kind, msg)
            assert (r.request_id, r.caseworker) == (i, "cw-anna"), \
                (name, r)
        hub.advance(at(start, 105))
        still = set()
        for i, name in enumerate(frames, 200):
            r = ask(g, QUERY, m.Query(request_id=i, kind=m.KEEP_ALIVE,
                                      session=sessions[name]))
            assert r.code in (0, m.E_UNAUTHENTICATED), (name, r)
            if r.code == 0:
                still.add(name)
        assert still == activity, \
            f"live 55 s after their frame: {sorted(still)}"
    finally:
        g.close()


def test_login_lifetime_at_the_bound_and_past_it(make_hub):
    """§4a Login: `lifetime` "is the longest the session may last, in
    minutes from the login however busy it is ...; 0, not set, or more
    than 1440 gives hubd's own bound, 1440 minutes". 1439 ends at 1439
    minutes, 1440 and every value past it (1441, 2^31 - 1, 2^32 - 1,
    and 71582789, whose seconds overflow 32 bits to 44) at 1440, each
    session busy (web_session_idle 1440) until then."""
    start = "2026-11-02T00:00:00"
    hub = gateway_hub(make_hub, start,
                      settings={"web_session_idle": "1440"})
    m = schema()
    lifetimes = (1439, 1440, 1441, 71582789, 2 ** 31 - 1, 2 ** 32 - 1)
    g = Client(hub, "web-1", hub.delivery)
    try:
        sessions = {lt: log_in(g, rid=i, lifetime=lt)
                    for i, lt in enumerate(lifetimes, 1)}
        rid = [100]

        def serving(minute):
            hub.advance(at(start, minute * 60))
            out = set()
            for lt, s in sessions.items():
                rid[0] += 1
                r = ask(g, QUERY, m.Query(request_id=rid[0],
                                          kind=m.KEEP_ALIVE, session=s))
                if r.code == 0:
                    out.add(lt)
                else:
                    assert (r.code, r.reason) == \
                        (m.E_UNAUTHENTICATED, ENDED), (lt, r)
            return out
        assert serving(1) == set(lifetimes)
        assert serving(1438) == set(lifetimes)
        assert serving(1439) == set(lifetimes) - {1439}
        assert serving(1440) == set()
    finally:
        g.close()

    def ends():
        out = hub.hubctl("audit", "show", "--json", "--actor",
                         "cw-anna").stdout
        return [r["result"] for r in map(json.loads, out.splitlines())
                if r["action"] == "logout"]
    wait_for(lambda: len(ends()) >= len(lifetimes), 10 * SLOW,
             "the ends written", interval=0.3)
    assert ends() == ["lifetime"] * len(lifetimes)


def test_a_lifetime_end_is_recorded_5_s_after_it_not_before(make_hub):
    """§4a Login: a session nobody uses has its end "audited `logout`
    with the result `lifetime` ... within 5 seconds of the lifetime (the
    time left for the gateway's own `Logout` marked `lifetime` ...)":
    4 s after it there is no record yet (a Logout would still be the one
    recorded), 5 s after it there is, stamped then."""
    start = "2026-11-02T08:00:00"
    hub = gateway_hub(make_hub, start)
    g = Client(hub, "web-1", hub.delivery)
    try:
        log_in(g, "cw-bob", lifetime=30)
    finally:
        g.close()

    def ends():
        out = hub.hubctl("audit", "show", "--json", "--actor",
                         "cw-bob").stdout
        return [(r["action"], r["result"], r["time"])
                for r in map(json.loads, out.splitlines())
                if r["action"] == "logout"]
    hub.advance(at(start, 30 * 60 + 4))
    time.sleep(2.5)            # two ticks of hubd's second-by-second sweep
    assert ends() == [], "recorded before the 5 s grace ran out"
    hub.advance(at(start, 30 * 60 + 5))
    got = wait_for(ends, 10 * SLOW, "the lifetime end recorded",
                   interval=0.3)
    assert [(a, r) for a, r, _ in got] == [("logout", "lifetime")], got
    assert got[0][2].startswith("2026-11-02T08:30:05"), got


def test_the_query_allowance_is_the_caseworkers_on_every_channel(make_hub):
    """§4 Limits: "Both allowances are the caseworker's, whichever
    connection or web session the frame comes on" (query_burst 40 at
    once); "Nothing else a client sends is counted: a Hello, an AlertAck,
    a frame that does not decode, ... KEEP_ALIVE" and ALERTS_CHANGED.
    With the allowance whole, 150 such frames spend nothing; then 60
    queries at once, 20 on each of cw-anna's two connections and her
    web session, get at most the burst and what refilled meanwhile."""
    hub = gateway_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    one = Client(hub, "cw-anna", hub.delivery)
    two = Client(hub, "cw-anna", hub.delivery)
    try:
        s = log_in(g)
        for c in (one, two):         # connected (a frame that is free)
            r = c.ask(bytes([1, QUERY, 0xff, 0xff]), RESULT)
            assert (r.request_id, r.code) == (0, m.E_MALFORMED), r
        time.sleep(2.5)              # the allowance whole (20 a second)
        for i in range(30):
            for kind in (m.KEEP_ALIVE, m.ALERTS_CHANGED):
                g.raw(bytes([1, QUERY]) + m.Query(
                    request_id=1000 + i, kind=kind,
                    session=s).SerializeToString())
            one.raw(bytes([1, ALERT_ACK]) + m.AlertAck(
                alert_id=b"\x01" * 9).SerializeToString())
            one.raw(bytes([1, HELLO]) + m.Hello(window=3).SerializeToString())
            two.raw(bytes([1, QUERY, 0xff, 0xff]))     # does not decode
        for _ in range(60):
            assert g.want(RESULT).code == 0
        for _ in range(30):
            assert one.want(6).code == 0               # the Welcomes
            assert two.want(RESULT).request_id == 0
        t0 = time.monotonic()
        for i in range(20):
            for c, extra in ((g, {"session": s}), (one, {}), (two, {})):
                c.raw(bytes([1, QUERY]) + m.Query(
                    request_id=1 + i, kind=m.OPEN_ALERTS,
                    **extra).SerializeToString())
        answers = [c.want(RESULT) for c in (g, one, two) for _ in range(20)]
        elapsed = time.monotonic() - t0
        ok = [r for r in answers if r.code == 0]
        for r in answers:
            assert r.code == 0 or (r.code, r.reason) == \
                (m.E_UNAVAILABLE, TOO_MANY), r
        assert 40 <= len(ok) <= 40 + 20 * elapsed + 1, (len(ok), elapsed)
    finally:
        for c in (g, one, two):
            c.close()


def test_desk_at_midnight_and_acks_on_the_own_connection(make_hub):
    """§4 "Desk members": a DeskMembership counts "from its first day to
    its last": a session's answers say `desk` "at the time of the answer"
    (§4a), so at 23:59:59 of cw-anna's last day and cw-bob's day before
    it is as at login, at 00:00:00 it has turned, the desk's alert with
    it, without a new login. §4a ALERTS_CHANGED: "A caseworker's own
    acknowledgement leaves it as it was, in each of their sessions" —
    also one sent on their own connection (no session, not answered)."""
    start = "2026-11-02T12:00:00"
    hub = gateway_hub(make_hub, start,
                      settings={"web_session_idle": "1440"})
    m = schema()
    hub.send(ev_desk("cw-bob", "2026-11-03"),
             event("youth-a", "", "desk_membership", desk="duty-desk",
                   caseworker="cw-anna", team_lead=False,
                   **{"from": "2026-10-01", "to": "2026-11-02"}))
    hub.wait_applied()
    desk_person, own_person = (CprGen(13406).born(d) for d in
                               ("2004-02-02", "2004-03-03"))
    hub.send(ev_assignment(own_person, "cw-bob", "2026-01-01"))
    hub.send(ev_dropout(desk_person, "2026-11-02"),
             ev_dropout(own_person, "2026-11-02"))
    hub.wait_applied()
    g = Client(hub, "web-1", hub.delivery)
    try:
        s = {"cw-anna": log_in(g, "cw-anna", 1),
             "cw-bob": log_in(g, "cw-bob", 2),
             "desk-dora": log_in(g, "desk-dora", 3)}

        def seen(who):
            r = ask(g, QUERY, m.Query(request_id=4, kind=m.OPEN_ALERTS,
                                      session=s[who]))
            assert (r.code, r.caseworker) == (0, who), r
            return r.desk, sorted(a.cpr for a in r.alerts)

        assert (seen("cw-anna"), seen("cw-bob")) == \
            ((True, [desk_person]), (False, [own_person]))
        hub.advance("2026-11-02T23:59:59")
        assert (seen("cw-anna"), seen("cw-bob")) == \
            ((True, [desk_person]), (False, [own_person]))
        hub.advance("2026-11-03T00:00:00")
        assert (seen("cw-anna"), seen("cw-bob")) == \
            ((False, []), (True, sorted([desk_person, own_person])))

        def version(who):
            r = ask(g, QUERY, m.Query(request_id=5, kind=m.ALERTS_CHANGED,
                                      session=s[who]))
            assert r.code == 0, r
            return r.alerts_version
        before = {who: version(who) for who in s}
        # cw-bob acknowledges both on his own connection: his own doing.
        own = Client(hub, "cw-bob", hub.delivery)
        try:
            r = ask(own, QUERY, m.Query(request_id=6, kind=m.OPEN_ALERTS))
            for a in r.alerts:
                own.raw(bytes([1, ALERT_ACK]) + m.AlertAck(
                    alert_id=a.alert_id).SerializeToString())
            r = ask(own, QUERY, m.Query(request_id=7, kind=m.OPEN_ALERTS))
            assert (r.code, list(r.alerts)) == (0, []), r
        finally:
            own.close()
        wait_for(lambda: version("desk-dora") == before["desk-dora"] + 1,
                 10 * SLOW, "desk-dora told of the desk alert cw-bob "
                 "acknowledged")
        assert (version("cw-bob"), version("cw-anna")) == \
            (before["cw-bob"], before["cw-anna"])
    finally:
        g.close()
