"""111 a web session's lifetime, enforced by hubd too (PROTOCOL.md §4a
Login's `lifetime`, SECURITY.md): hubd ends a gateway's session at the
lifetime the gateway gave at its Login (1440 minutes when none, 0 or more
is given), however busy the session is, audited `logout` `lifetime`, and
answers a frame on it as on any ended session. So a leaked gateway key
with a live token buys no more time than webd's session_lifetime, and a
Logout webd could not deliver (hubd paused) still ends in the audit as
`lifetime`. Real hubd (on its test clock) and a gateway speaking the
protocol; real webd for the paused hub."""

import signal
import time

from hubtest import SLOW, pb, wait_for
from test_54_gateway_frames import (E_UNAUTHENTICATED, ENDED, FRAME_LOGIN,
                                    FRAME_LOGOUT, FRAME_QUERY, PASSWORD,
                                    Gateway, gateway_and_passwords)
from test_70_web import Web, web_hub
from test_102_web_session import audit_results, paused_at_the_lifetime_end

START = "2026-03-02T08:00:00"


def at(seconds):
    """START plus this many seconds, as the test clock reads."""
    t = time.strptime(START, "%Y-%m-%dT%H:%M:%S")
    return time.strftime("%Y-%m-%dT%H:%M:%S",
                         time.localtime(time.mktime(t) + seconds))


def clock_hub(make_hub, **settings):
    hub = make_hub(clock=START, settings=settings or None)
    gateway_and_passwords(hub)
    return hub


def log_in(g, rid, lifetime=None, who="cw-anna"):
    m = pb()
    kw = {} if lifetime is None else {"lifetime": lifetime}
    r = g.ask(FRAME_LOGIN, m.Login(request_id=rid, caseworker=who,
                                   password=PASSWORD, **kw))
    assert (r.request_id, r.code) == (rid, 0), r
    return r.session


def keep_alive(g, session, rid):
    m = pb()
    r = g.ask(FRAME_QUERY, m.Query(request_id=rid, kind=m.KEEP_ALIVE,
                                   session=session))
    assert r.request_id == rid, r
    return r


def ends(hub, who="cw-anna"):
    return [res for act, res in audit_results(hub, who) if act == "logout"]



def wait_audited_lifetime(hub, n=1):
    """Wait until the audit trail holds n session ends, each `lifetime`."""
    wait_for(lambda: ends(hub) == ["lifetime"] * n, 10 * SLOW,
             f"{n} end(s) audited lifetime", interval=0.3)

def refused_frames(hub):
    return [res for act, res in audit_results(hub, "web-1")
            if act == "frame"]


def test_hubd_ends_a_busy_session_at_the_login_s_lifetime(make_hub):
    """Login.lifetime 1: used every 20 s (far inside web_session_idle),
    the session serves until 60 s after its login and not a moment
    after: the frame then is E_UNAUTHENTICATED "the session has ended;
    log in again", its end audited `logout` `lifetime` (once, never
    `idle`)."""
    hub = clock_hub(make_hub)
    g = Gateway(hub)
    try:
        s = log_in(g, 1, lifetime=1)
        rid = 1
        for t in (20, 40, 59):
            hub.advance(at(t))
            rid += 1
            r = keep_alive(g, s, rid)
            assert (r.code, r.caseworker) == (0, "cw-anna"), (t, r)
        hub.advance(at(60))
        r = keep_alive(g, s, 10)
        assert (r.code, r.reason) == (E_UNAUTHENTICATED, ENDED), r
        assert r.caseworker == "", r
        # Later frames are answered the same, and end nothing more.
        hub.advance(at(90))
        r = keep_alive(g, s, 11)
        assert (r.code, r.reason) == (E_UNAUTHENTICATED, ENDED), r
    finally:
        g.close()
    wait_audited_lifetime(hub)


def test_without_a_lifetime_hubd_caps_it_at_1440_minutes(make_hub):
    """No lifetime, 0, or more than 1440 at Login: hubd's own bound of
    1440 minutes (24 hours). With web_session_idle 1440, a session used
    at 1439 minutes serves then and ends at 1440 for its lifetime."""
    hub = clock_hub(make_hub, web_session_idle=1440)
    g = Gateway(hub)
    try:
        m = pb()
        sessions = [log_in(g, 1), log_in(g, 2, lifetime=0),
                    log_in(g, 3, lifetime=5000)]
        hub.advance(at(1439 * 60))
        for i, s in enumerate(sessions):
            r = keep_alive(g, s, 10 + i)
            assert r.code == 0, (i, r)
        hub.advance(at(1440 * 60))
        for i, s in enumerate(sessions):
            r = g.ask(FRAME_QUERY, m.Query(request_id=20 + i,
                                           kind=m.OPEN_ALERTS, session=s))
            assert (r.code, r.reason) == (E_UNAUTHENTICATED, ENDED), (i, r)
    finally:
        g.close()
    wait_audited_lifetime(hub, 3)


def test_an_unused_session_ends_at_its_lifetime_not_later_as_idle(make_hub):
    """A session nobody uses after its login ends at hubd at its lifetime
    whether or not its token comes back: audited `lifetime`, never
    `idle` (web_session_idle is 30 minutes), with no frame refused."""
    hub = clock_hub(make_hub)
    g = Gateway(hub)
    try:
        log_in(g, 1, lifetime=2)
        hub.advance(at(119))
        assert ends(hub) == []
        # hubd records the end within 5 seconds of the lifetime.
        hub.advance(at(125))
        wait_audited_lifetime(hub)
        hub.advance(at(3600))
        assert ends(hub) == ["lifetime"]
        assert refused_frames(hub) == []
    finally:
        g.close()


def test_the_gateway_s_own_logout_just_after_the_lifetime(make_hub):
    """The gateway's Logout marked `lifetime` arriving a moment after
    hubd's own cap (webd counts from the answer to the Login) is answered
    OK and recorded once, `lifetime`: no refused frame in the audit."""
    hub = clock_hub(make_hub)
    g = Gateway(hub)
    try:
        m = pb()
        s = log_in(g, 1, lifetime=1)
        hub.advance(at(61))
        r = g.ask(FRAME_LOGOUT, m.Logout(request_id=2, session=s,
                                         lifetime=True))
        assert (r.request_id, r.code) == (2, 0), r
        r = keep_alive(g, s, 3)
        assert (r.code, r.reason) == (E_UNAUTHENTICATED, ENDED), r
    finally:
        g.close()
    wait_audited_lifetime(hub)


def test_a_lifetime_end_while_hubd_is_paused_is_audited_lifetime(make_hub):
    """hubd paused (SIGSTOP) when webd ends a session for its
    session_lifetime: webd's Logout gets no answer within hub_timeout
    (and may never reach hubd), but webd gave the lifetime at the login,
    so hubd, resumed, ends the session itself: audited `logout`
    `lifetime`, not later as `idle`."""
    hub = web_hub(make_hub)
    web = Web(hub, session_lifetime=1, hub_timeout=1)
    try:
        paused_at_the_lifetime_end(hub, web)
        try:
            # Long enough for the connection's heartbeats to time out.
            time.sleep(20)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: "lifetime" in ends(hub), 20 * SLOW,
                 "the end audited lifetime", interval=0.3)
        assert ends(hub) == ["lifetime"], ends(hub)
    finally:
        web.stop()
