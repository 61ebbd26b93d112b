"""102 a web session's ends as SECURITY.md and OPERATIONS.md promise them
to the data-protection officer and an auditor: session_lifetime ends a
session however busy it is (its next request goes to the login page,
which says why; the hub audits it `logout` `lifetime`, also for a session
whose browser never comes back), and the setting is refused out of its
range as webd refuses its others. Real hubd and webd, raw HTTP."""

import json
import os
import re
import signal
import subprocess
import time

import pytest

from hubtest import SLOW, binary, together, wait_for
from test_70_web import (CHROMIUM, DRIVER, HAVE_SELENIUM, PASSWORD, Web,
                         anna_session, chrome, login, set_password, text_of,
                         web_hub)

if HAVE_SELENIUM:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

LIFETIME_SAID = ("Din session er udløbet, fordi den har varet så længe, "
                 "som en session må. Log ind igen.")


def cleared(r):
    """The answer clears the ug_session cookie."""
    return any(c.startswith("ug_session=;")
               for c in r.headers.get_all("Set-Cookie") or [])


def audit_results(hub, actor):
    out = hub.hubctl("audit", "show", "--json", "--actor", actor).stdout
    return [(r["action"], r["result"])
            for r in map(json.loads, out.splitlines())]


HAVE_BROWSER = (HAVE_SELENIUM and os.path.exists(CHROMIUM) and
                os.path.exists(DRIVER))


def test_session_lifetime_ends_sessions_busy_unanswered_or_left_open(
        make_hub):
    """The four ends of a session at its session_lifetime of 1 minute,
    each on a hub and webd of its own, waited for at the same time (so
    the suite spends one minute on them, not four); each is checked as
    its own docstring says:

    - a busy session and one whose browser never comes back
      (busy_session_ends_at_its_lifetime);
    - an end the paused hub does not answer
      (lifetime_end_the_hub_does_not_answer);
    - a page left open that reaches the login page
      (page_left_open_goes_to_the_login_saying_why);
    - the page's warning before the end, in headless Chromium
      (the_warning_before_the_lifetime_says_staying_cannot_help).

    Without chromium, chromium-driver and python3-selenium the last is
    left out: the other three are checked all the same (a failure still
    fails), and the test is then reported skipped, saying so."""
    cases = [lambda: busy_session_ends_at_its_lifetime(make_hub),
             lambda: lifetime_end_the_hub_does_not_answer(make_hub),
             lambda: page_left_open_goes_to_the_login_saying_why(make_hub)]
    if HAVE_BROWSER:
        cases.append(lambda:
                     the_warning_before_the_lifetime_says_staying_cannot_help(
                         make_hub))
    together(*cases)
    if not HAVE_BROWSER:
        pytest.skip("the warning's part needs chromium, chromium-driver "
                    "and python3-selenium (the other three passed)")


def busy_session_ends_at_its_lifetime(make_hub):
    """OPERATIONS.md, webd's settings: session_lifetime (minutes, 1-1440)
    ends a session that long after its login whatever its use. A session
    kept busy (a page every few seconds, and the warning's "stay logged
    in") is answered until then; after it, its next page goes to
    /login?ended=lifetime with the cookie cleared, the login page says
    why, a form sent in it is not done, what scripts ask for is 401 (the
    session kept, so that the page they go to says why), and the token
    opens nothing again once told. A session whose browser never comes
    back ends at the hub all the same: both are audited `logout`
    `lifetime` (never `idle`), and webd's log says so."""
    hub = web_hub(make_hub, name="busy",
                  caseworkers={"cw-anna": False, "cw-bo": False})
    set_password(hub, "cw-bo", PASSWORD)
    web = Web(hub, session_lifetime=1)
    try:
        born = time.monotonic()
        anna = anna_session(web)
        bo = {"ug_session": re.search(
            r"ug_session=([0-9a-f]+)",
            " ".join(web.raw_login("cw-bo", PASSWORD)[1])).group(1)}
        # The page's count ends with the lifetime, not the 30 minutes
        # of web_session_idle.
        r, text = web.request("GET", "/session", cookies=anna)
        assert r.status == 200 and json.loads(text)["left"] <= 60, text
        page = web.request("GET", "/alerts", cookies=anna)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        # Busy until the lifetime: every page answered, the idle time
        # restarted again and again.
        while time.monotonic() - born < 50:
            r, _ = web.request("GET", "/alerts", cookies=anna)
            assert r.status == 200
            r, _ = web.request("POST", "/session", {"csrf": csrf},
                               cookies=anna)
            assert r.status == 200
            time.sleep(5)
        time.sleep(max(0, born + 62 - time.monotonic()))
        # Bo's browser never comes back: the hub ends his session at the
        # lifetime, not web_session_idle later.
        wait_for(lambda: ("logout", "lifetime") in audit_results(
            hub, "cw-bo"), 10 * SLOW, "bo's session ended at its lifetime",
            interval=0.3)
        # A form sent in the ended session is not done.
        r, _ = web.request("POST", "/timeline",
                           {"csrf": csrf, "cpr": "0101001234"},
                           cookies=anna)
        assert r.status == 303, r.status
        assert r.getheader("Location") == "/login?ended=lifetime"
        assert cleared(r)
        r, page = web.request("GET", "/login?ended=lifetime")
        assert r.status == 200 and LIFETIME_SAID in page
        # The token is forgotten: a plain session that is no more.
        r, _ = web.request("GET", "/alerts", cookies=anna)
        assert r.status == 303 and r.getheader("Location") == "/login"
        # What scripts ask for in Bo's ended session is 401, and leaves
        # it for the page they go to, which says why.
        for method, path in (("GET", "/alerts/list"), ("GET", "/events"),
                             ("GET", "/session"), ("POST", "/session")):
            r, _ = web.request(method, path, {"csrf": csrf}
                               if method == "POST" else None, cookies=bo)
            assert r.status == 401 and not cleared(r), (method, path)
        r, _ = web.request("GET", "/alerts", cookies=bo)
        assert r.status == 303 and cleared(r)
        assert r.getheader("Location") == "/login?ended=lifetime"
        # Logging in again opens a new session with its own lifetime.
        again = anna_session(web)
        assert again != anna
        r, _ = web.request("GET", "/alerts", cookies=again)
        assert r.status == 200
    finally:
        web.stop()
    for who in ("cw-anna", "cw-bo"):
        ends = [res for act, res in audit_results(hub, who)
                if act == "logout"]
        assert ends[:1] == ["lifetime"] and "idle" not in ends, (who, ends)
    log = (hub.logs_dir / "webd.log").read_text()
    for who in ("cw-anna", "cw-bo"):
        assert (f"WEB-LOGIN {who}'s session ended: it reached "
                "session_lifetime (1 min)") in log, log


def paused_at_the_lifetime_end(hub, web):
    """cw-anna logged in to web (session_lifetime = 1, hub_timeout = 1),
    hubd paused (SIGSTOP) shortly before her session's lifetime ends,
    until webd has logged that hubd did not answer its Logout: her
    cookies. The caller sends SIGCONT."""
    born = time.monotonic()
    anna = anna_session(web)
    time.sleep(max(0, born + 50 - time.monotonic()))
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        wait_for(lambda: "session_lifetime (1 min); the hub did not "
                 "answer within hub_timeout" in
                 (hub.logs_dir / "webd.log").read_text(), 20 * SLOW,
                 "webd's line", interval=0.3)
    except BaseException:
        hub.proc.send_signal(signal.SIGCONT)
        raise
    return anna


def lifetime_end_the_hub_does_not_answer(make_hub):
    """OPERATIONS.md: when hubd does not answer the Logout within
    hub_timeout, webd logs so and holds the session ended all the same:
    its next page goes to /login?ended=lifetime without asking hubd."""
    hub = web_hub(make_hub, name="unanswered")
    web = Web(hub, session_lifetime=1, hub_timeout=1)
    try:
        anna = paused_at_the_lifetime_end(hub, web)
        try:
            r, _ = web.request("GET", "/alerts", cookies=anna)
            assert r.status == 303 and cleared(r)
            assert r.getheader("Location") == "/login?ended=lifetime"
        finally:
            hub.proc.send_signal(signal.SIGCONT)
    finally:
        web.stop()


def page_left_open_goes_to_the_login_saying_why(make_hub):
    """The page's own count ends at the lifetime with /login?ended=1, as
    at the idle end (live.js): the login page it reaches with the
    session's cookie says the lifetime ended it, and clears the cookie."""
    hub = web_hub(make_hub, name="left-open")
    web = Web(hub, session_lifetime=1)
    try:
        anna = anna_session(web)
        time.sleep(61)
        r, _ = web.request("GET", "/login?ended=1", cookies=anna)
        assert r.status == 303 and cleared(r)
        assert r.getheader("Location") == "/login?ended=lifetime"
        # Forgotten since: 401, as without a session.
        r, _ = web.request("GET", "/session", cookies=anna)
        assert r.status == 401
    finally:
        web.stop()
    wait_for(lambda: ("logout", "lifetime") in audit_results(
        hub, "cw-anna"), 10 * SLOW, "the session's end audited",
        interval=0.3)


def the_warning_before_the_lifetime_says_staying_cannot_help(make_hub):
    """OPERATIONS.md: the page's count ends at session_lifetime; its
    warning (session_warning seconds before, here 20) says the session
    has lasted as long as one may, with no "Forbliv logget ind" button,
    and at the end the page goes to the login page, which says why."""
    hub = web_hub(make_hub, name="warned")
    web = Web(hub, session_lifetime=1, session_warning=20)
    d = chrome(hub, "lifetime")
    try:
        login(d, web, "cw-anna", PASSWORD)
        born = time.monotonic()
        box = d.find_element(By.ID, "session-warning")
        assert not box.is_displayed()
        WebDriverWait(d, 60 * SLOW).until(lambda _: box.is_displayed())
        assert time.monotonic() - born > 30
        assert d.find_element(By.ID, "session-warning-text").text == (
            "Du bliver snart logget ud, fordi din session har varet så "
            "længe, som en session må. Gem det, du er i gang med, og log "
            "ind igen.")
        assert not d.find_element(By.ID, "session-extend").is_displayed()
        WebDriverWait(d, 45 * SLOW).until(
            lambda _: "/login?ended=lifetime" in d.current_url)
        assert time.monotonic() - born >= 58
        assert LIFETIME_SAID in text_of(d)
        assert d.get_cookie("ug_session") is None
    finally:
        d.quit()
        web.stop()


def test_session_lifetime_out_of_range_is_refused(make_hub):
    """Like every webd setting: a value out of 1-1440 (or no number) is
    exit 2 with the setting named, before any key is read; 1440 serves,
    and --help shows the default of 600 minutes (10 hours)."""
    for bad in ("0", "1441", "ten"):
        p = subprocess.run([binary("webd"), "--gateway", "web-1",
                            "--keys_dir", "/nonexistent",
                            "--session_lifetime", bad],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, (bad, p.stderr)
        assert p.stderr == ("webd: session_lifetime must be a whole number "
                            "from 1 to 1440\n"), p.stderr
    p = subprocess.run([binary("webd"), "--help"], capture_output=True,
                       text=True, timeout=30)
    assert re.search(r"--session_lifetime VALUE\n.*\(1-1440\) "
                     r"\(default: 600\)", p.stdout), p.stdout
    hub = web_hub(make_hub)
    web = Web(hub, session_lifetime=1440)
    try:
        assert web.request("GET", "/alerts",
                           cookies=anna_session(web))[0].status == 200
    finally:
        web.stop()


def test_a_logout_marked_lifetime_is_audited_as_such(make_hub):
    """PROTOCOL.md §4a: a Logout with `lifetime` (field 3) set ends the
    session like any Logout, answered OK, but is audited `logout`
    `lifetime`; without it the result stays `logout`. A second Logout of
    the ended session is E_UNAUTHENTICATED and changes neither."""
    from hubtest import pb
    from test_54_gateway_frames import (E_UNAUTHENTICATED, FRAME_LOGOUT,
                                        Gateway, gateway_and_passwords,
                                        login)
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True})
    gateway_and_passwords(hub)
    m = pb()
    g = Gateway(hub)
    try:
        anna = login(g, "cw-anna", 1).session
        dora = login(g, "desk-dora", 2).session
        r = g.ask(FRAME_LOGOUT, m.Logout(request_id=3, session=anna,
                                         lifetime=True))
        assert (r.request_id, r.code) == (3, 0), r
        r = g.ask(FRAME_LOGOUT, m.Logout(request_id=4, session=dora))
        assert (r.request_id, r.code) == (4, 0), r
        r = g.ask(FRAME_LOGOUT, m.Logout(request_id=5, session=anna,
                                         lifetime=True))
        assert (r.request_id, r.code) == (5, E_UNAUTHENTICATED), r
    finally:
        g.close()

    def ends(who):
        return [res for act, res in audit_results(hub, who)
                if act == "logout"]
    wait_for(lambda: ends("cw-anna") == ["lifetime"] and
             ends("desk-dora") == ["logout"], 10 * SLOW,
             "the two ends audited", interval=0.3)
