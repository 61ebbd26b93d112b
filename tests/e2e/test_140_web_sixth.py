"""140 the web inbox, a sixth round as caseworkers, the duty desk and
team leads use it: what OPERATIONS.md ("The web inbox (webd)") and
SECURITY.md promise that tests 70, 71, 84, 90, 102, 106, 111, 118 and 128
do not assert exactly. Real hubd, real webd (test_70's helpers), raw HTTP
where the doc describes requests and answers."""

import re
import socket
import subprocess

from hubtest import binary, wait_for
# pytestmark: the same skip as test_70 (no browser, no test).
from test_70_web import (PASSWORD, Web, pytestmark,  # noqa: F401
                         session_cookie, web_hub)
from test_128_web_fifth import three_caseworkers_two_places


def logged_in(web, caseworker="cw-anna"):
    return {"ug_session":
            session_cookie(web.raw_login(caseworker, PASSWORD)[1])}


def open_events(web, session):
    """GET /events on a raw socket, its answer's head read: the socket."""
    s = socket.create_connection(("127.0.0.1", web.port), timeout=10)
    s.sendall(b"GET /events HTTP/1.1\r\nHost: x\r\n"
              b"Cookie: ug_session=%s\r\n\r\n"
              % session["ug_session"].encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    return s


def test_sessions_max_forgets_the_session_whose_last_request_is_oldest(
        make_hub):
    """OPERATIONS.md, webd's `sessions_max`: a login beyond them makes
    webd forget the one whose last request to webd in the session is the
    oldest — any page, `404` ones included, `GET /session` and the live
    list's requests count; `/login`, `/static/live.js` and
    `/static/app.css` do not; not the one logged in first —, whose next
    page leads to `/login`. Requests follow each other at once, as a
    browser's do: webd orders them as it answered them, however close
    (two in one millisecond were a tie, and the login first was pushed
    out)."""
    hub = web_hub(make_hub)
    web = Web(hub, sessions_max=2)
    try:
        def page(s):
            r, _ = web.request("GET", "/alerts", cookies=s)
            return r.status, r.getheader("Location")

        def use(s, path):
            if path == "/events":
                open_events(web, s).close()
            else:
                web.request("GET", path, cookies=s)

        counted = ("/nope", "/alerts/list", "/events", "/session",
                   "/timeline", "/alerts")
        for path in counted * 2:
            first = logged_in(web)
            second = logged_in(web)
            use(first, path)            # first's last request is newest
            logged_in(web)
            assert page(second) == (303, "/login"), path
            assert page(first) == (200, None), path
        for path in ("/login", "/static/live.js", "/static/app.css") * 2:
            first = logged_in(web)
            second = logged_in(web)
            use(first, path)            # no use: first's is the oldest
            logged_in(web)
            assert page(first) == (303, "/login"), path
            assert page(second) == (200, None), path
    finally:
        web.stop()


def test_web_sessions_max_at_the_hub_ends_the_session_idle_longest(
        make_hub):
    """SECURITY.md "Sessions": a session ends when the table of
    `web_sessions_max` sessions is full and a login takes the place of
    the one idle longest; the hub ended it, so its next page leads to
    `/login?ended=1`. Requests at once one after the other, as a
    browser's come: the hub orders them as it answered them, however
    close (two in one millisecond of its clock were a tie)."""
    hub = web_hub(make_hub, settings={"web_sessions_max": "2"})
    web = Web(hub)
    try:
        def page(s):
            r, _ = web.request("GET", "/alerts", cookies=s)
            return r.status, r.getheader("Location")

        for _ in range(12):
            first = logged_in(web)
            second = logged_in(web)
            assert page(first) == (200, None)   # second's is idle longest
            logged_in(web)
            assert page(second) == (303, "/login?ended=1")
            assert page(first) == (200, None)
    finally:
        web.stop()
    hub.wait_log(r"HUB-WEB web session of cw-anna ended: full")


def test_a_login_in_a_browser_that_holds_a_session_ends_no_others(
        make_hub):
    """SECURITY.md "Sessions": a browser that holds a session and logs in
    again (as the same caseworker, or another at a shared desk) gets a
    new session and that one ends as a logout; a session ends for
    `web_sessions_max` only when a login needs the place. With the table
    full (2), the login that replaces the browser's own session takes
    its place: the colleague's session, idle longest, lives on."""
    hub, web = three_caseworkers_two_places(make_hub)
    try:
        def page(s):
            r, _ = web.request("GET", "/alerts", cookies=s)
            return r.status, r.getheader("Location")

        bo = logged_in(web, "cw-bo")            # idle longest from here
        held = logged_in(web, "cw-anna")
        for again in ("cw-anna", "cw-cai", "cw-anna"):
            r, cookies = web.raw_login(again, PASSWORD, cookies=held)
            assert r.status == 303, again
            new = {"ug_session": session_cookie(cookies)}
            assert page(held) == (303, "/login"), again
            assert page(new) == (200, None), again
            held = new
        assert page(bo) == (200, None)
    finally:
        web.stop()
    # Each replaced session ended as a logout; none for want of room.
    def trail():
        return hub.hubctl("audit", "show").stdout

    wait_for(lambda: len(re.findall(r"logout +logout", trail())) >= 3, 20,
             "three logouts in the audit trail", interval=0.3)
    assert len(re.findall(r"logout +logout", trail())) == 3, trail()
    assert not re.search(r"logout +full", trail()), trail()
    assert "ended: full" not in hub.log_text()


def test_webd_help_says_which_session_sessions_max_forgets():
    """`webd --help` (OPERATIONS.md points to it for webd's settings)
    says of `sessions_max` what OPERATIONS.md does: the session used
    longest ago is forgotten, not the one logged in first."""
    p = subprocess.run([binary("webd"), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0
    said = " ".join(p.stdout.split())
    assert ("--sessions_max VALUE web sessions webd remembers (a login "
            "beyond them forgets the one used longest ago, not the one "
            "logged in first; 1-1000000) (default: 4096)") in said, said
