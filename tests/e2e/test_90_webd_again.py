"""90 webd again, as municipal IT runs it and a browser meets it: what
OPERATIONS.md ("The web inbox (webd)", "Monitoring") and SECURITY.md ("The
web inbox") promise that tests 70 and 71 do not assert. Real hubd, real
webd (test_70's helpers), raw HTTP where the exact bytes matter."""

import http.client
import re
import signal
import socket
import threading
import time

from hubtest import CprGen, ev_dropout, wait_for
from test_70_web import (PASSWORD, Web, alerts_listed,  # noqa: F401
                         session_cookie, set_password, web_hub)


def stop_while_a_page_waits(hub, web, sig, freeze):
    """Log in, make the hub unable to answer (`freeze`), ask for a page
    and send webd `sig` while it waits: (exit status, seconds the stop
    took, the page's answer, webd's log)."""
    r, cookies = web.raw_login("cw-anna", PASSWORD)
    assert r.status == 303
    sid = session_cookie(cookies)
    got = {}

    def page():
        try:
            r, text = web.request("GET", "/alerts",
                                  cookies={"ug_session": sid})
            got["page"] = (r.status, text)
        except OSError as e:
            got["page"] = (e, "")

    thaw = freeze()
    try:
        t = threading.Thread(target=page)
        t.start()
        time.sleep(1)
        began = time.monotonic()
        web.proc.send_signal(sig)
        try:
            rc = web.proc.wait(40)
        finally:
            took = time.monotonic() - began
            if web.proc.poll() is None:
                web.proc.kill()
                web.proc.wait()
        t.join(15)
    finally:
        thaw()
    web.log.close()
    return rc, took, got["page"], open(web.log.name).read()


def test_a_stop_does_not_wait_for_a_hub_that_does_not_answer(make_hub):
    """OPERATIONS.md: SIGTERM or SIGINT stops webd at once (exit 0), also
    while a page waits for hubd's answer: that page is answered 503 "Hubben
    svarer ikke lige nu. ..." rather than hold the stop for hub_timeout
    (up to 600 s, past the unit's TimeoutStopSec of 30 s); logged
    `WEB-HUB no answer awaited: webd is stopping`, or `request not sent:
    webd is stopping` when there was no connection to send it on."""
    hub = web_hub(make_hub)

    def frozen():                  # a hub stopped by the system: no answer
        hub.proc.send_signal(signal.SIGSTOP)
        return lambda: hub.proc.send_signal(signal.SIGCONT)

    def down():                    # no hub at all: nothing to send it on
        hub.stop()
        return lambda: None

    cases = ((signal.SIGTERM, frozen, "no answer awaited"),
             (signal.SIGINT, frozen, "no answer awaited"),
             (signal.SIGTERM, down, "request not sent"))
    for n, (sig, freeze, said) in enumerate(cases):
        web = Web(hub, name=f"webd{n}", hub_timeout=60)
        rc, took, (status, text), log = stop_while_a_page_waits(
            hub, web, sig, freeze)
        assert rc == 0 and took < 5, (sig, rc, took, log)
        assert status == 503 and \
            "Hubben svarer ikke lige nu. Prøv igen om lidt." in text, \
            (sig, status, log)
        assert f"webd info WEB-HUB {said}: webd is stopping" in log, log
        assert "no answer from the hub within" not in log and \
            "no connection to the hub" not in log, log
        assert log.rstrip().endswith("WEB-STOP stopped"), log


CSP = ("default-src 'self'; script-src 'self'; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Frame-Options": "DENY",
           "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


def ask(web, method, path, headers=None, body=None):
    c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
    c.request(method, path, body=body, headers=headers or {})
    r = c.getresponse()
    text = r.read().decode()
    c.close()
    return r, text


def test_every_status_carries_the_headers_word_for_word(make_hub):
    """SECURITY.md "Headers": the CSP, X-Frame-Options, nosniff,
    no-referrer and Cache-Control: no-store, with exactly the values it
    quotes, on every answer: a page, a redirect, 401, 403, 404, 405 (any
    unusual method), 413, 429 and 503, and HEAD's answers (the GET's
    headers, no body). The log lines OPERATIONS.md "Monitoring" quotes
    for a refused login, a POST without its token and a stream beyond
    streams_max come word for word."""
    hub = web_hub(make_hub, settings={"login_failures_max": "2"})
    web = Web(hub, streams_max=1)
    try:
        r, cookies = web.raw_login("cw-anna", PASSWORD)
        sid = session_cookie(cookies)
        mine = {"Cookie": f"ug_session={sid}"}
        answers = {"login": (r, 303)}
        answers["page"] = (ask(web, "GET", "/alerts", mine)[0], 200)
        answers["redirect"] = (ask(web, "GET", "/alerts")[0], 303)
        answers["no session"] = (ask(web, "GET", "/alerts/list")[0], 401)
        answers["no token"] = (ask(
            web, "POST", "/session", dict(mine, **{
                "Content-Type": "application/x-www-form-urlencoded"}),
            "x=1")[0], 403)
        answers["unknown"] = (ask(web, "GET", "/nope", mine)[0], 404)
        for method in ("PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"):
            r, _ = ask(web, method, "/alerts", mine)
            assert r.getheader("Allow") == "GET, HEAD, POST", method
            answers[method] = (r, 405)
        # 16 KiB is the most a form may be: at the limit it is read (the
        # token in it keeps the session), one byte past it is 413.
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                         ask(web, "GET", "/alerts", mine)[1]).group(1)
        form = f"csrf={csrf}&x="
        r, said = ask(web, "POST", "/session", dict(mine, **{
            "Content-Type": "application/x-www-form-urlencoded"}),
            form + "a" * (16 * 1024 - len(form)))
        assert r.status == 200 and '"left":' in said, (r.status, said)
        answers["large"] = (ask(
            web, "POST", "/session", dict(mine, **{
                "Content-Type": "application/x-www-form-urlencoded"}),
            "x=" + "a" * (16 * 1024 - 1))[0], 413)
        for _ in range(2):
            assert web.raw_login("cw-anna", "wrong password")[0].status \
                == 401
        answers["locked"] = (web.raw_login("cw-anna", PASSWORD)[0], 429)
        stream = socket.create_connection(("127.0.0.1", web.port))
        stream.sendall(f"GET /events HTTP/1.1\r\nHost: x\r\n"
                       f"Cookie: ug_session={sid}\r\n\r\n".encode())
        assert stream.recv(15) == b"HTTP/1.1 200 OK"
        answers["second stream"] = (ask(web, "GET", "/events", mine)[0],
                                    503)
        stream.close()
        for what, (r, status) in answers.items():
            assert r.status == status, (what, r.status)
            for name, value in HEADERS.items():
                assert r.getheader(name) == value, (what, name,
                                                    r.getheader(name))
        # HEAD: the GET's status and headers, no body.
        for path, status in (("/alerts", 200), ("/nope", 404),
                             ("/login", 200)):
            g, text = ask(web, "GET", path, mine)
            h, nothing = ask(web, "HEAD", path, mine)
            assert (g.status, h.status, nothing) == (status, status, ""), \
                path
            for name in list(HEADERS) + ["Content-Type"]:
                assert h.getheader(name) == g.getheader(name), (path, name)
        r, nothing = ask(web, "HEAD", "/static/app.css")
        assert (r.status, nothing, r.getheader("Cache-Control")) == \
            (200, "", "max-age=3600")
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    for line in ("webd info WEB-LOGIN login refused",
                 "webd warn WEB-CSRF POST /session without a valid CSRF "
                 "token refused",
                 "webd warn WEB-EVENTS streams_max (1) streams open; one "
                 "more refused"):
        assert line in log, (line, log)


def test_the_language_is_picked_by_the_user_alone(make_hub):
    """OPERATIONS.md: Danish, or English after ?lang=en (the ug_lang
    cookie, kept a year, remembers it; ?lang=da goes back); another lang
    value is ignored and the cookie decides; a cookie other than
    ug_lang=en is Danish; Accept-Language is not read."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        def lang(path, **headers):
            r, text = ask(web, "GET", path, headers)
            html = re.search(r'<html lang="(da|en)">', text).group(1)
            title = re.search(r"<title>([^<]*)</title>", text).group(1)
            return html, title, r.headers.get_all("Set-Cookie") or []

        assert lang("/login", **{"Accept-Language": "en-GB,en;q=0.9"})[:2] \
            == ("da", "Log ind – Ungeindbakke")
        html, title, cookies = lang("/login?lang=en")
        assert (html, title) == ("en", "Log in – Youth inbox")
        assert any(c.startswith("ug_lang=en;") and
                   c.endswith("; Max-Age=31536000") for c in cookies), \
            cookies
        assert lang("/login", Cookie="ug_lang=en")[0] == "en"
        assert lang("/login?lang=xx", Cookie="ug_lang=en")[0] == "en"
        assert lang("/login?lang=xx")[0] == "da"
        for cookie in ("ug_lang=EN", "ug_lang=english", "ug_lang="):
            assert lang("/login", Cookie=cookie)[0] == "da", cookie
        html, _, cookies = lang("/login?lang=da", Cookie="ug_lang=en")
        assert html == "da" and any(c.startswith("ug_lang=da;")
                                    for c in cookies), cookies
    finally:
        web.stop()


EVIL = "<script>x()</script>\"'&<b>"


def test_what_agencies_and_caseworkers_wrote_is_escaped(make_hub):
    """SECURITY.md "Headers": every value on a page is HTML-escaped. A
    college's institution and programme, a caseworker's how and note, a
    CPR typed wrong and a login name, all of markup, come back as text on
    the list, the alert's page, the timeline (the action's summary in it)
    and the refusals, never as markup."""
    hub = web_hub(make_hub, agencies={"school-a": "absence",
                                      "college-a": "dropout"})
    cpr = CprGen(9001).next()
    hub.assign(cpr, "cw-anna")
    web = Web(hub)
    try:
        s = {"ug_session": session_cookie(
            web.raw_login("cw-anna", PASSWORD)[1])}
        hub.send(ev_dropout(cpr, time.strftime("%Y-%m-%d", time.gmtime()),
                            institution=EVIL, programme=EVIL))
        [hexid] = wait_for(lambda: alerts_listed(web, s), 20,
                           "the alert in the list", interval=0.3)
        pages = {"list": web.request("GET", "/alerts", cookies=s)[1],
                 "alert": web.request("GET", f"/alert/{hexid}",
                                      cookies=s)[1]}
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                         pages["alert"]).group(1)
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           {"csrf": csrf, "kind": "contact", "how": EVIL,
                            "note": EVIL, "date": ""}, cookies=s)
        assert r.status == 303, r.status
        pages["refused action"] = web.request(
            "POST", f"/alert/{hexid}/action",
            {"csrf": csrf, "kind": "contact", "how": EVIL,
             "note": EVIL + "x" * 200, "date": ""}, cookies=s)[1]
        pages["timeline"] = web.request("POST", "/timeline",
                                        {"csrf": csrf, "cpr": cpr},
                                        cookies=s)[1]
        pages["bad cpr"] = web.request("POST", "/timeline",
                                       {"csrf": csrf, "cpr": EVIL},
                                       cookies=s)[1]
        pages["login"] = web.request("POST", "/login",
                                     {"csrf": "0", "caseworker": EVIL,
                                      "password": EVIL})[1]
        escaped = "&lt;script&gt;x()&lt;/script&gt;"
        for what, page in pages.items():
            assert "<script>x()" not in page and "<b>" not in page, what
        for what in ("list", "alert", "refused action", "timeline"):
            assert escaped in pages[what], what
        # The action's how and note are in the timeline, as text.
        whole = "&lt;script&gt;x()&lt;/script&gt;&quot;&#39;&amp;&lt;b&gt;"
        assert f"cw-anna:</span> {whole} — {whole}</span>" in \
            pages["timeline"], pages["timeline"]
    finally:
        web.stop()


def test_stay_logged_in_when_the_hub_is_frozen_or_ended_it(make_hub):
    """OPERATIONS.md: POST /session (the warning's "Forbliv logget ind")
    answers what is left, {"left":SECONDS,"warn":SECONDS}; when hubd does
    not answer it is 503 (the warning stays, the cookie too); when hubd
    has ended the session (a password reset) it is 401 and the cookie
    cleared, and from then on GET /session is 401 too, where before it
    still answered its time (it asks hubd nothing)."""
    hub = web_hub(make_hub)
    web = Web(hub, hub_timeout=1)
    try:
        s = {"ug_session": session_cookie(
            web.raw_login("cw-anna", PASSWORD)[1])}
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', web.request(
            "GET", "/alerts", cookies=s)[1]).group(1)
        r, said = web.request("POST", "/session", {"csrf": csrf}, cookies=s)
        assert r.status == 200 and re.fullmatch(
            r'\{"left":(1800|179\d),"warn":120\}\n', said), said
        assert r.getheader("Content-Type") == "application/json"
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            r, _ = web.request("POST", "/session", {"csrf": csrf},
                               cookies=s)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        assert r.status == 503 and not r.getheader("Set-Cookie"), r.status
        set_password(hub, "cw-anna", "another password")
        time.sleep(1.5)        # hubd ends it on its next loop turn
        r, said = web.request("GET", "/session", cookies=s)
        assert r.status == 200 and '"left":17' in said, said
        r, _ = web.request("POST", "/session", {"csrf": csrf}, cookies=s)
        assert r.status == 401 and r.headers.get_all("Set-Cookie") == [
            "ug_session=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"], \
            r.headers.get_all("Set-Cookie")
        assert web.request("GET", "/session", cookies=s)[0].status == 401
    finally:
        web.stop()


def test_sessions_max_forgets_the_session_used_longest_ago(make_hub):
    """OPERATIONS.md: with sessions_max full, a login makes webd forget
    the session used longest ago, not the one logged in first; a page or
    GET /session is a use, the login page and the static files are not.
    The one forgotten leads to /login (not ?ended=1: the hub did not end
    it)."""
    hub = web_hub(make_hub)
    web = Web(hub, sessions_max=2)
    try:
        def login():
            time.sleep(0.05)       # webd orders uses by the millisecond
            return {"ug_session": session_cookie(
                web.raw_login("cw-anna", PASSWORD)[1])}

        def status(s):
            time.sleep(0.05)
            r, _ = web.request("GET", "/alerts", cookies=s)
            return r.status, r.getheader("Location")

        a = login()
        b = login()
        assert status(a) == (200, None)          # a used after b
        c = login()
        assert status(b) == (303, "/login")       # b forgotten, not a
        assert status(c) == (200, None)
        assert status(a) == (200, None)
        time.sleep(0.05)
        assert web.request("GET", "/session", cookies=c)[0].status == 200
        d = login()
        assert status(a) == (303, "/login")       # c asked /session since
        assert status(c) == (200, None) and status(d) == (200, None)
        # The login page and the static files are no use of a session.
        time.sleep(0.05)
        for path in ("/login", "/static/live.js", "/static/app.css"):
            assert web.request("GET", path, cookies=c)[0].status == 200
        login()
        assert status(c) == (303, "/login") and status(d) == (200, None)
    finally:
        web.stop()
