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
  and a KEEP_ALIVE are; a Logout frees a place."""

import json
import os

from hubtest import wait_for, SLOW
from test_134_vendor_sixth import (ENDED, LOGIN, LOGOUT, QUERY, ALERT_ACK,
                                   WRONG, ask, at, gateway_hub, log_in)
from vendorclient import Client, schema

START = "2026-11-02T08:00:00"


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
        bob2 = log_in(g, "cw-bob", rid=10, replaces=new3)
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
