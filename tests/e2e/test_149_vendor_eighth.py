"""149 a vendor's second web gateway an eighth time, written from
docs/PROTOCOL.md §4a alone (tests/e2e/vendorclient.py: its own key-file
reader, framing and CURVE set-up). Only the hub itself (keys,
registrations, passwords, the hub clock) comes from hubtest.py, through
test_134's gateway_hub. What the earlier tests left out, on the wire
rather than through webd:

- §4a Login `replaces` (field 5): the held session ends `logout` once
  the password is right, before a place is taken, so a full table ends
  no other session; a refused login leaves it as it is; a token that
  opens nothing for this gateway key (unknown, another gateway's, one
  that ended already) is ignored; a held session past its lifetime ends
  `lifetime`;
- §4a: a full table of `web_sessions_max` ends the session idle longest
  in the order the hub used sessions (all on one hub clock second):
  ALERTS_CHANGED and a `background` query are no use, a refused frame
  and a KEEP_ALIVE are; a Logout frees a place;
- §4a Logout: `lifetime` set before the lifetime, and a Logout without
  it past the lifetime, are both audited `lifetime`;
- §4a: every answer of a live session, both rate limits' included,
  carries `caseworker`, `desk`, `session_idle` and `alerts_version`;
- §4a/§2 from a gateway key: frames at 65,536 bytes and one past, the
  frames §2 answers on any connection, a Logout with an empty `session`
  on the wire, a Login password of 1,025 bytes;
- §1 a revoked gateway key: every frame `E_DENIED`, with `request_id` 0
  for what is not decoded, never §4a's or §2's answer;
- §4a ALERTS_CHANGED: a desk notice closed because its alert was
  withdrawn moves the desk member's counter by one; pages of
  `OPEN_ALERTS` name the list they come from while it changes;
- OPERATIONS.md `HUB-WEB`: every failed login is logged, a name that is
  no caseworker id included; one refused as locked or limited is not."""

import json
import os
import subprocess

from hubtest import (SLOW, CprGen, binary, ev_assignment, ev_dropout,
                     ev_readiness, rules_hub, wait_for)
from test_134_vendor_sixth import (ACTION, ALERT_ACK, ENDED, LOGIN, LOGOUT,
                                   ONLY, PASSWORD, QUERY, WRONG, ask, at,
                                   gateway_hub, log_in)
from vendorclient import RESULT, Client, schema

START = "2026-11-02T08:00:00"


def set_password(hub, cw):
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "set-password", cw], input=PASSWORD + "\n",
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr


def live(g, s, rid=900):
    """Whether the session serves, asked so that its place in the order
    of use stays as it was (ALERTS_CHANGED is no activity)."""
    m = schema()
    r = ask(g, QUERY, m.Query(request_id=rid, kind=m.ALERTS_CHANGED,
                              session=s))
    assert r.request_id == rid, r
    if r.code == 0:
        return True
    assert (r.code, r.reason) == (m.E_UNAUTHENTICATED, ENDED), r
    return False


def logouts(hub):
    """The audit trail's logout records, in order: (actor, result)."""
    out = hub.hubctl("audit", "show", "--json").stdout
    return [(r["actor"], r["result"])
            for r in map(json.loads,
                         (line for line in out.splitlines()
                          if line.startswith("{")))
            if r["action"] == "logout"]


def wait_logouts(hub, n):
    return wait_for(lambda: len(logouts(hub)) >= n and logouts(hub),
                    10 * SLOW, f"{n} logout records", interval=0.3)


def test_login_replaces_the_browsers_own_session_and_nothing_else(
        make_hub):
    """§4a Login: "`replaces` ... once the password is right, hubd ends
    that session, audited `logout` `logout` ..., before it takes a place
    for the new one, so a full table of `web_sessions_max` ends no other
    session for a login that gives up its own (one that opens nothing for
    this gateway key is ignored; a refused login leaves it as it is)".
    A table of 3, shared by two gateways."""
    hub = gateway_hub(make_hub, START, gateways=("web-1", "web-2"),
                      settings={"web_sessions_max": "3"})
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    g2 = Client(hub, "web-2", hub.delivery)
    try:
        bob = log_in(g, "cw-bob", rid=1)              # idle longest
        dora = log_in(g2, "desk-dora", rid=2)
        held = log_in(g, "cw-anna", rid=3)
        # A refused login leaves the held session as it is, and a full
        # table ends nothing for it.
        r = ask(g, LOGIN, m.Login(request_id=4, caseworker="cw-anna",
                                  password="wrong", replaces=held))
        assert (r.request_id, r.code, r.reason) == (4, m.E_DENIED, WRONG)
        assert [live(g, bob), live(g2, dora), live(g, held)] == \
            [True, True, True]
        # A token of another gateway's session opens nothing for web-1:
        # ignored, so the table is full and the idle longest (bob) ends;
        # dora's session, used just now (KEEP_ALIVE), lives.
        r = ask(g2, QUERY, m.Query(request_id=5, kind=m.KEEP_ALIVE,
                                   session=dora))
        assert r.code == 0, r
        new1 = log_in(g, "cw-anna", rid=6, replaces=dora)
        assert [live(g, bob), live(g2, dora), live(g, held)] == \
            [False, True, True], "a foreign token was not ignored"
        # An unknown token, and a short one, are ignored as well: each
        # login takes the place of the idle longest (held, then dora).
        new2 = log_in(g, "cw-anna", rid=7, replaces=os.urandom(32))
        assert [live(g, held), live(g2, dora)] == [False, True]
        new3 = log_in(g, "cw-anna", rid=8, replaces=b"\x01" * 3)
        assert [live(g2, dora), live(g, new1), live(g, new2)] == \
            [False, True, True]
        # A token that ended already opens nothing either: new1 (idle
        # longest) gives its place.
        new4 = log_in(g, "cw-anna", rid=9, replaces=held)
        assert [live(g, new1), live(g, new2), live(g, new3)] == \
            [False, True, True]
        # The browser's own session, of another caseworker at a shared
        # desk: it ends as a logout, and the idle longest (new2) lives.
        # Sent on another connection of the same gateway key: a session
        # is the key's, not the connection's.
        again = Client(hub, "web-1", hub.delivery)
        try:
            bob2 = log_in(again, "cw-bob", rid=10, replaces=new3)
        finally:
            again.close()
        assert [live(g, new3), live(g, new2), live(g, new4),
                live(g, bob2)] == [False, True, True, True]
    finally:
        g.close()
        g2.close()
    got = wait_logouts(hub, 5)
    assert got == [("cw-bob", "full"), ("cw-anna", "full"),
                   ("desk-dora", "full"), ("cw-anna", "full"),
                   ("cw-anna", "logout")], got


def test_a_replaced_session_past_its_lifetime_ends_lifetime(make_hub):
    """§4a Login: the replaced session is "audited `logout` `logout`
    (`lifetime` when its lifetime has passed)": 2 s past a 1-minute
    lifetime (within the 5 s hubd leaves before it records the end
    itself) a login replacing it records `lifetime`; one replacing a live
    session records `logout`; in a table of 1 neither ends a session for
    want of room."""
    hub = gateway_hub(make_hub, START, settings={"web_sessions_max": "1"})
    g = Client(hub, "web-1", hub.delivery)
    try:
        s = log_in(g, "cw-anna", rid=1, lifetime=1)
        hub.advance(at(START, 62))
        s2 = log_in(g, "cw-anna", rid=2, replaces=s)
        s3 = log_in(g, "cw-bob", rid=3, replaces=s2)
        assert [live(g, s), live(g, s2), live(g, s3)] == \
            [False, False, True]
    finally:
        g.close()
    got = wait_logouts(hub, 2)
    assert got == [("cw-anna", "lifetime"), ("cw-anna", "logout")], got
    assert "ended: full" not in hub.log_text()
    # Each replaced session's end is recorded before the login that
    # ended it.
    def sessions_trail():
        out = hub.hubctl("audit", "show", "--json").stdout
        return [(r["action"], r["actor"], r["result"])
                for r in map(json.loads, (line for line in out.splitlines()
                                          if line.startswith("{")))
                if r["action"] in ("login", "logout")]
    trail = wait_for(lambda: len(sessions_trail()) >= 5 and sessions_trail(),
                     10 * SLOW, "the logins written", interval=0.3)
    assert trail == [("login", "cw-anna", "ok"),
                     ("logout", "cw-anna", "lifetime"),
                     ("login", "cw-anna", "ok"),
                     ("logout", "cw-anna", "logout"),
                     ("login", "cw-bob", "ok")], trail


def test_a_full_table_ends_the_session_the_hub_used_longest_ago(make_hub):
    """§4a: a session ends "when the table of `web_sessions_max` sessions
    ... is full and a login needs the place of the one idle longest".
    Idle is time without activity: ALERTS_CHANGED ("does not count as
    activity") and a `background` query leave a session idle longest; a
    refused AlertAck and a KEEP_ALIVE are activity. Everything on one
    second of the hub clock, so only the order of use tells them apart.
    A Logout frees its place: the next login ends nothing."""
    hub = gateway_hub(make_hub, START, settings={"web_sessions_max": "3"})
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    try:
        a = log_in(g, "cw-anna", rid=1)
        b = log_in(g, "cw-bob", rid=2)
        c = log_in(g, "desk-dora", rid=3)
        assert live(g, a)
        r = ask(g, QUERY, m.Query(request_id=4, kind=m.OPEN_ALERTS,
                                  background=True, session=a))
        assert r.code == 0, r
        d = log_in(g, "cw-anna", rid=5)     # a was still idle longest
        assert [live(g, a), live(g, b), live(g, c), live(g, d)] == \
            [False, True, True, True]
        r = ask(g, ALERT_ACK, m.AlertAck(request_id=6, alert_id=b"\x01" * 9,
                                         session=b))
        assert r.code == m.E_DENIED, r       # refused, yet activity
        e = log_in(g, "cw-bob", rid=7)      # c is idle longest now
        assert [live(g, b), live(g, c), live(g, d), live(g, e)] == \
            [True, False, True, True]
        r = ask(g, QUERY, m.Query(request_id=8, kind=m.KEEP_ALIVE,
                                  session=d))
        assert r.code == 0, r
        f = log_in(g, "desk-dora", rid=9)   # b is idle longest now
        assert [live(g, b), live(g, d), live(g, e), live(g, f)] == \
            [False, True, True, True]
        r = ask(g, LOGOUT, m.Logout(request_id=10, session=e))
        assert (r.request_id, r.code) == (10, 0), r
        h = log_in(g, "cw-anna", rid=11)    # the place e left
        assert [live(g, d), live(g, e), live(g, f), live(g, h)] == \
            [True, False, True, True]
    finally:
        g.close()
    got = wait_logouts(hub, 4)
    assert got == [("cw-anna", "full"), ("desk-dora", "full"),
                   ("cw-bob", "full"), ("cw-bob", "logout")], got


def test_a_logout_past_the_lifetime_or_marked_lifetime_ends_lifetime(
        make_hub):
    """§4a Logout: audited `lifetime` "when `lifetime` (field 3) is set"
    — also before the lifetime the Login gave has passed —, and "A
    `Logout` of a session past the lifetime its Login gave that hubd has
    not recorded as ended yet ... is answered `OK` too and audited
    `lifetime`, whether or not field 3 is set"; any other frame of such a
    session is `E_UNAUTHENTICATED` and ends it `lifetime` as well."""
    hub = gateway_hub(make_hub, START)
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    try:
        anna = log_in(g, "cw-anna", rid=1, lifetime=1)
        bob = log_in(g, "cw-bob", rid=2, lifetime=5)
        dora = log_in(g, "desk-dora", rid=3, lifetime=1)
        hub.advance(at(START, 62))      # within the 5 s hubd leaves
        r = ask(g, LOGOUT, m.Logout(request_id=4, session=anna))
        assert (r.request_id, r.code) == (4, 0), r
        r = ask(g, LOGOUT, m.Logout(request_id=5, session=bob,
                                    lifetime=True))
        assert (r.request_id, r.code, r.caseworker) == (5, 0, "cw-bob"), r
        assert not live(g, dora, 6)
        assert [live(g, anna), live(g, bob)] == [False, False]
    finally:
        g.close()
    got = wait_logouts(hub, 3)
    assert got == [("cw-anna", "lifetime"), ("cw-bob", "lifetime"),
                   ("desk-dora", "lifetime")], got


def test_every_answer_of_a_live_session_carries_its_four_fields(make_hub):
    """§4a: "**Every** `Result` answering a frame of a live session (OK
    or not: `OPEN_ALERTS`, ..., `ALERTS_CHANGED`, `KEEP_ALIVE`, an unknown
    query kind, `AlertAck`, `Action`, `Logout`, the query or action rate
    limit) carries that session's caseworker in `caseworker` and in `desk`
    whether they are a member of the duty desk ..., `session_idle` ...
    and `alerts_version`": a desk member's session after one desk alert
    (version 1), `query_burst` 2 so that both rate limits answer (a
    KEEP_ALIVE and an ALERTS_CHANGED, "not counted against
    `query_rate`", are answered OK with the queries' allowance spent);
    her own acknowledgement leaves the version at 1."""
    hub = gateway_hub(make_hub, START,
                      settings={"query_burst": "2", "query_rate": "1"})
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    try:
        s = log_in(g, "desk-dora", rid=1)
        person = CprGen(14901).born("2004-02-02")
        hub.send(ev_dropout(person, "2026-10-27"))
        wait_for(lambda: ask(g, QUERY, m.Query(
            request_id=90, kind=m.ALERTS_CHANGED,
            session=s)).alerts_version == 1, 10 * SLOW, "the desk alert")
        nine = b"\x01" * 9
        fields = ("desk-dora", True, 1800, 1)
        frames = [
            (QUERY, m.Query(request_id=2, kind=m.OPEN_ALERTS, session=s),
             0),
            (QUERY, m.Query(request_id=3, kind=9, session=s),
             m.E_MALFORMED),
            (QUERY, m.Query(request_id=5, kind=m.KEEP_ALIVE, session=s), 0),
            (QUERY, m.Query(request_id=6, kind=m.ALERTS_CHANGED,
                            session=s), 0),
            (ALERT_ACK, m.AlertAck(request_id=7, alert_id=nine, session=s),
             m.E_DENIED),
            (ALERT_ACK, m.AlertAck(request_id=8, alert_id=nine[:3],
                                   session=s), m.E_MALFORMED),
        ]
        alert = None
        for kind, msg, code in frames:
            r = ask(g, kind, msg)
            assert (r.request_id, r.code) == (msg.request_id, code), r
            assert (r.caseworker, r.desk, r.session_idle,
                    r.alerts_version) == fields, r
            if msg.request_id == 2:
                [alert] = [a.alert_id for a in r.alerts]

        def until_limited(kind, make, reason):
            """Frames at once until one is refused for its allowance
            (it refills at 1 a second: under load a few more pass)."""
            for rid in range(40, 100):
                r = ask(g, kind, make(rid))
                assert r.request_id == rid, r
                assert (r.caseworker, r.desk, r.session_idle,
                        r.alerts_version) == fields, r
                if r.code:
                    assert (r.code, r.reason) == (m.E_UNAVAILABLE,
                                                  reason), r
                    return
            raise AssertionError(f"never limited: {reason}")
        until_limited(QUERY, lambda rid: m.Query(
            request_id=rid, kind=m.TIMELINE, cpr=person, session=s),
            "too many queries; wait a moment and ask again")
        # Not counted against query_rate: answered with none left.
        for rid, kind in ((70, m.KEEP_ALIVE), (71, m.ALERTS_CHANGED)):
            r = ask(g, QUERY, m.Query(request_id=rid, kind=kind, session=s))
            assert (r.request_id, r.code) + (r.caseworker, r.desk,
                                             r.session_idle,
                                             r.alerts_version) == \
                (rid, 0) + fields, r
        until_limited(ACTION, lambda rid: m.Action(
            request_id=rid, alert_id=alert, kind=m.CONTACT_MADE,
            how=f"phone {rid}", session=s),
            "too many actions; wait a moment and send it again")
        for kind, msg in ((ALERT_ACK, m.AlertAck(request_id=30,
                                                 alert_id=alert,
                                                 session=s)),
                          (LOGOUT, m.Logout(request_id=31, session=s))):
            r = ask(g, kind, msg)
            assert (r.request_id, r.code, r.caseworker, r.desk,
                    r.session_idle, r.alerts_version) == \
                (msg.request_id, 0) + fields, r
    finally:
        g.close()


def test_a_gateways_frames_at_the_size_limit_and_one_past(make_hub):
    """§4a: a Hello, an Envelope or a kind only the hub sends, from a
    gateway key, "is not decoded, so this is its answer whatever bytes it
    holds, up to 65,536: a larger frame of any kind is `E_TOO_LARGE`";
    the frames §2 answers on any connection ("unknown frame kind N",
    "frame of N bytes is shorter than the 2-byte header"); a Logout whose
    `session` is on the wire but empty is one without a session; a Login
    too large is `E_TOO_LARGE` with `request_id` 0, one whose password is
    1,025 bytes "wrong caseworker or password"."""
    hub = gateway_hub(make_hub, START)
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    try:
        def raw(data):
            r = g.ask(data, RESULT)
            return r.request_id, r.code, r.reason
        for kind in (1, 2, 3, 4, 6, 8):
            assert raw(bytes([1, kind]) + b"\xff" * 65534) == \
                (0, m.E_MALFORMED, ONLY), kind
            assert raw(bytes([1, kind]) + b"\xff" * 65535)[:2] == \
                (0, m.E_TOO_LARGE), kind
        assert raw(b"\x01\x0c") == (0, m.E_MALFORMED, "unknown frame kind 12")
        assert raw(b"\x01\x00") == (0, m.E_MALFORMED, "unknown frame kind 0")
        assert raw(b"\x01") == (0, m.E_MALFORMED, "frame of 1 bytes is "
                                "shorter than the 2-byte header")
        big = m.Login(request_id=7, caseworker="cw-anna",
                      password="a" * 65600).SerializeToString()
        assert raw(b"\x01\x0a" + big)[:2] == (0, m.E_TOO_LARGE)
        assert raw(b"\x01\x0a" + m.Login(
            request_id=8, caseworker="cw-anna",
            password="a" * 1025).SerializeToString()) == \
            (8, m.E_DENIED, WRONG)
        # Logout{request_id 9, session: 0 bytes}, the field on the wire.
        assert raw(b"\x01\x0b\x08\x09\x12\x00") == (9, m.E_MALFORMED, ONLY)
        s = log_in(g, rid=10)
        assert live(g, s)
    finally:
        g.close()


def test_a_revoked_gateways_every_frame_is_denied(make_hub):
    """§1: once a key is revoked, "a caseworker's (or web gateway's)
    frame, any frame" gets `E_DENIED` with the frame's `request_id` —
    "0 for a `Hello` and for a frame that does not decode, of another
    kind or another wire version, or over 65,536 bytes: such a frame is
    not decoded, and is `E_DENIED` here, not `E_TOO_LARGE`": from a
    gateway key, not §4a's "a web gateway sends only ..." either, also
    for a Query or Logout without a session and a Login."""
    hub = gateway_hub(make_hub, START)
    m = schema()
    revoked = ("the key this connection authenticated with has been "
               "revoked or replaced")
    g = Client(hub, "web-1", hub.delivery)
    try:
        s = log_in(g)
        hub.hubctl("revoke-gateway", "web-1")
        wait_for(lambda: ask(g, QUERY, m.Query(
            request_id=2, kind=m.KEEP_ALIVE, session=s)).code == m.E_DENIED,
            10 * SLOW, "the revoked key refused", interval=0.2)
        for data, rid in (
                (b"\x01\x03", 0), (b"\x01\x01\xff", 0), (b"\x01\x08", 0),
                (b"\x01\x07" + b"\xff" * 65535, 0), (b"\x01\x0a\xff\xff", 0),
                (b"\x01\x0c", 0), (b"\x01", 0), (b"\x02\x07", 0),
                (b"\x01\x07" + m.Query(request_id=9, kind=m.OPEN_ALERTS)
                 .SerializeToString(), 9),
                (b"\x01\x0b" + m.Logout(request_id=10).SerializeToString(),
                 10),
                (b"\x01\x0a" + m.Login(request_id=11, caseworker="cw-anna",
                                       password="x").SerializeToString(),
                 11)):
            r = g.ask(data, RESULT)
            assert (r.request_id, r.code, r.reason) == \
                (rid, m.E_DENIED, revoked), (data[:4], r)
    finally:
        g.close()


def test_a_desk_notice_closed_by_a_withdrawal_moves_alerts_changed(
        make_hub):
    """§4a ALERTS_CHANGED moves by one "when one of the list's escalation
    notices is closed with its alert (acknowledged or withdrawn)": the
    withdrawn case. cw-anna's readiness alert, unacknowledged for its
    `ack.normal_hours` (1 office hour), has the desk's notice in
    desk-dora's list; a correction withdraws the alert (RULES.md
    "Corrections"): dora's counter moves by one and the notice leaves her
    list; anna's by two (her alert withdrawn, its `withdrawn` notice
    raised)."""
    hub = rules_hub(make_hub, START, escalation=True, start=False, rules={
        f"ack.{p}_hours": "1" for p in ("low", "normal", "high", "urgent")})
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in ("cw-anna", "desk-dora"):
        set_password(hub, cw)
    hub.start()
    m = schema()
    pupil = CprGen(14905).born("2011-03-03")
    hub.send(ev_assignment(pupil, "cw-anna", "2026-01-01"))
    first = ev_readiness(pupil, "2026-10-30", 9)
    hub.send(first)
    hub.wait_applied()
    hub.advance("2026-11-02T10:00:00")
    g = Client(hub, "web-1", hub.delivery)
    try:
        s = {cw: log_in(g, cw, rid=i)
             for i, cw in enumerate(("cw-anna", "desk-dora"), 1)}

        def listed(cw):
            r = ask(g, QUERY, m.Query(request_id=3, kind=m.OPEN_ALERTS,
                                      session=s[cw]))
            return [a.rule for a in r.alerts]

        def version(cw):
            return ask(g, QUERY, m.Query(request_id=4, kind=m.ALERTS_CHANGED,
                                         session=s[cw])).alerts_version

        wait_for(lambda: listed("desk-dora") == ["escalation"], 10 * SLOW,
                 "the desk's notice")
        assert (version("cw-anna"), version("desk-dora")) == (0, 0)
        fixed = ev_readiness(pupil, "2026-10-30", 9, ready=True)
        fixed.supersedes = first.event_id
        hub.send(fixed)
        hub.wait_applied()
        wait_for(lambda: version("desk-dora") == 1, 10 * SLOW,
                 "desk-dora told of the notice closed")
        assert (version("cw-anna"), listed("cw-anna"),
                listed("desk-dora")) == (2, ["withdrawn"], [])
    finally:
        g.close()


def test_pages_of_open_alerts_name_the_list_they_come_from(make_hub):
    """§4a: every answer carries `alerts_version` "as it stands when the
    answer is made, so that an `OPEN_ALERTS` page names the count of the
    list it holds": a gateway paging (§4 "Paging", `limit` 1) while an
    alert is raised sees the second page name a later list than the
    first; the pages of one list name the same."""
    hub = gateway_hub(make_hub, START)
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    gen = CprGen(14907)
    try:
        s = log_in(g, "desk-dora")
        hub.send(ev_dropout(gen.born("2004-02-02"), "2026-10-27"),
                 ev_dropout(gen.born("2004-03-03"), "2026-10-27"))
        hub.wait_applied()

        def page(rid, offset):
            r = ask(g, QUERY, m.Query(request_id=rid, kind=m.OPEN_ALERTS,
                                      limit=1, offset=offset, session=s))
            assert (r.request_id, r.code, len(r.alerts)) == (rid, 0, 1), r
            return r.alerts_version, r.truncated

        wait_for(lambda: ask(g, QUERY, m.Query(
            request_id=1, kind=m.ALERTS_CHANGED,
            session=s)).alerts_version == 2, 10 * SLOW, "two desk alerts")
        assert (page(2, 0), page(3, 1)) == ((2, True), (2, False))
        hub.send(ev_dropout(gen.born("2004-04-04"), "2026-10-27"))
        hub.wait_applied()
        wait_for(lambda: ask(g, QUERY, m.Query(
            request_id=4, kind=m.ALERTS_CHANGED,
            session=s)).alerts_version == 3, 10 * SLOW, "a third")
        assert (page(5, 1), page(6, 2)) == ((3, True), (3, False))
    finally:
        g.close()


def test_every_failed_login_is_logged_and_locked_or_limited_ones_not(
        make_hub):
    """OPERATIONS.md, hubd's message ids: `HUB-WEB` "a failed login
    through a gateway, a wrong caseworker or password whatever name it
    gives (`login refused through gateway ID`: warn; a login refused
    unchecked, as locked or for the gateway's allowance, PROTOCOL.md §4a,
    is in the audit trail only)". `login_failures_max` 2,
    `login_gateway_failures` 5: five failures (two of them names that are
    no id: `hub` and an empty one; hubd logged none for those) are five
    lines; the locked and the limited refusal none."""
    hub = gateway_hub(make_hub, START, settings={
        "login_failures_max": "2", "login_gateway_failures": "5"})
    m = schema()
    g = Client(hub, "web-1", hub.delivery)
    locked = ("too many failed logins for this caseworker; wait and try "
              "again later")
    limited = ("too many failed logins through this gateway; wait a "
               "minute and try again")
    try:
        for rid, (who, password, answer) in enumerate((
                ("hub", "x", (m.E_DENIED, WRONG)),
                ("", "x", (m.E_DENIED, WRONG)),
                ("cw-anna", "x", (m.E_DENIED, WRONG)),
                ("cw-anna", "x", (m.E_DENIED, WRONG)),
                ("cw-anna", PASSWORD, (m.E_UNAVAILABLE, locked)),
                ("cw-bob", "x", (m.E_DENIED, WRONG)),
                ("cw-bob", PASSWORD, (m.E_UNAVAILABLE, limited))), 1):
            r = ask(g, LOGIN, m.Login(request_id=rid, caseworker=who,
                                      password=password))
            assert (r.request_id, r.code, r.reason) == (rid,) + answer, r
    finally:
        g.close()
    hub.stop()
    lines = [line for line in hub.log_text().splitlines()
             if " HUB-WEB login refused" in line]
    assert len(lines) == 5, lines
    assert all(line.endswith(
        "warn HUB-WEB login refused through gateway web-1")
        for line in lines), lines
