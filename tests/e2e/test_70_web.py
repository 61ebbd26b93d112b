"""70 the web inbox in a real browser: headless Chromium (Debian's
chromium + chromium-driver, driven by selenium) against a real hubd and a
real webd. Logs in (a wrong password and an unknown caseworker get the same
answer), sees an alert raised after login arrive, reads its evidence,
records contact made and finds it in the timeline, is refused another
caseworker's person, acknowledges, switches to English, works at a phone's
width, logs out; CSRF tokens, cookie flags and the CSP are checked with raw
HTTP requests. Screenshots of the main pages are kept under
<build>/web-screenshots."""

import html
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.parse

import pytest

from hubtest import (BUILD, ROOT, RULE_AGENCIES, SLOW, CprGen, binary,
                     envelope, ev_dropout, ev_enrolment, ev_referral,
                     escalated_dropout, free_port, read_key_file, rules_hub,
                     together, wait_for)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
PASSWORD = "korrekt hest batteri"
SHOTS = BUILD / "web-screenshots"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

pytestmark = pytest.mark.skipif(
    not (HAVE_SELENIUM and os.path.exists(CHROMIUM) and
         os.path.exists(DRIVER)),
    reason="needs chromium, chromium-driver and python3-selenium "
           "(make bootstrap installs them)")


def set_password(hub, caseworker, password):
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "set-password", caseworker], input=password + "\n",
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    return p


class Web:
    """A webd for the hub, as gateway web-1."""

    def __init__(self, hub, name="webd", **settings):
        self.hub = hub
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [binary("webd"), "--gateway", "web-1",
               "--keys_dir", str(hub.keys_dir),
               "--delivery", hub.delivery, "--port", str(self.port)]
        for k, v in settings.items():
            cmd += [f"--{k}", str(v)]
        self.log = open(hub.logs_dir / f"{name}.log", "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        wait_for(lambda: self.proc.poll() is not None or self.up(), 10,
                 "webd serving")
        assert self.proc.poll() is None, "webd exited"

    def up(self):
        try:
            self.request("GET", "/login")
            return True
        except OSError:
            return False

    def request(self, method, path, body=None, cookies=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        headers = {}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}"
                                          for k, v in cookies.items())
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        text = r.read().decode()
        c.close()
        return r, text

    def login_form(self):
        """GET /login as a browser does first: the ug_pre cookie it sets
        and the form's csrf token."""
        r, text = self.request("GET", "/login")
        pre = re.search(r"ug_pre=([0-9a-f]+)", r.getheader("Set-Cookie"))
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', text)
        return pre.group(1), csrf.group(1)

    def raw_login(self, caseworker, password, cookies=None):
        """Log in without a browser, sending `cookies` too (a session the
        browser holds); returns (response, Set-Cookie list)."""
        pre, csrf = self.login_form()
        r, _ = self.request("POST", "/login",
                            {"csrf": csrf, "caseworker": caseworker,
                             "password": password},
                            cookies=dict(cookies or {}, ug_pre=pre))
        return r, r.headers.get_all("Set-Cookie") or []

    def stop(self):
        self.proc.terminate()
        assert self.proc.wait(10) == 0
        self.log.close()


def web_hub(make_hub, **kw):
    """A hub (make_hub(**kw)) with the gateway web-1 registered and
    cw-anna's web password set to PASSWORD."""
    hub = make_hub(**kw)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "cw-anna", PASSWORD)
    return hub


def chrome(hub, name, javascript=True):
    """Headless Chromium with its profile in the hub's client_dir;
    javascript=False turns scripts off (the page must work without)."""
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,900",
                f"--user-data-dir={hub.client_dir / name}"):
        opts.add_argument(arg)
    if not javascript:
        opts.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript":
                      2})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser(make_hub):
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True, "cw-bo": False})
    web = Web(hub)
    driver = chrome(hub, "chromium")
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        yield hub, web, driver
    finally:
        driver.quit()
        web.stop()


def text_of(driver):
    return driver.find_element(By.TAG_NAME, "body").text


def left(page):
    """A condition: the page `page` (its html element) has been replaced.
    chromedriver reports a replaced node as stale or, at times, as a node
    that "does not belong to the document"."""
    def gone(_driver):
        try:
            page.is_enabled()
            return False
        except WebDriverException:
            return True
    return gone


def submit(driver, button_id):
    """Click a submit button and wait for the page it leads to."""
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.ID, button_id).click()
    WebDriverWait(driver, 20 * SLOW).until(left(page))


def login(driver, web, caseworker, password):
    driver.get(web.base + "/login")
    driver.find_element(By.ID, "caseworker").send_keys(caseworker)
    driver.find_element(By.ID, "password").send_keys(password)
    submit(driver, "login")


def no_horizontal_scroll(driver):
    return driver.execute_script(
        "return document.documentElement.scrollWidth <= window.innerWidth")


def test_web_inbox_in_a_browser(browser):
    hub, web, d = browser
    gen = CprGen(7001)
    anna_cpr, bo_cpr = gen.next(), gen.next()
    hub.assign(anna_cpr, "cw-anna")
    hub.assign(bo_cpr, "cw-bo")

    # The login page: labelled controls, Danish by default.
    d.get(web.base + "/")
    assert d.current_url.endswith("/login")
    assert d.find_element(By.CSS_SELECTOR, "html").get_attribute("lang") == \
        "da"
    assert d.find_element(By.CSS_SELECTOR, "label[for=password]").text == \
        "Adgangskode"
    d.save_screenshot(str(SHOTS / "web-login.png"))

    # A wrong password and an unknown caseworker: the same answer.
    login(d, web, "cw-anna", "not the password")
    wrong = d.find_element(By.CSS_SELECTOR, ".err").text
    login(d, web, "cw-nobody", PASSWORD)
    unknown = d.find_element(By.CSS_SELECTOR, ".err").text
    assert wrong == unknown == "Forkert sagsbehandler-id eller adgangskode."
    assert d.get_cookie("ug_session") is None

    login(d, web, "cw-anna", PASSWORD)
    assert d.current_url.endswith("/alerts")
    assert "Logget ind som cw-anna" in text_of(d)
    assert "Du har ingen åbne advarsler." in text_of(d)
    cookie = d.get_cookie("ug_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False   # behind_tls is off here

    # An alert raised after login appears in the list.
    hub.send(envelope("school-a", anna_cpr, salt="web-1",
                      period_start="2024-05-06", period_end="2024-05-10",
                      absent=12, expected=30))
    hub.send(envelope("school-a", bo_cpr, salt="web-2",
                      period_start="2024-05-06", period_end="2024-05-10",
                      absent=12, expected=30))

    def listed():
        d.refresh()
        return d.find_elements(By.CSS_SELECTOR, "a.alert-link")
    [link] = wait_for(listed, 20, "the alert in the list", interval=0.3)
    assert "Frist" in text_of(d)
    d.save_screenshot(str(SHOTS / "web-alerts.png"))
    assert no_horizontal_scroll(d)
    page = d.find_element(By.TAG_NAME, "html")
    link.click()
    WebDriverWait(d, 20 * SLOW).until(left(page))

    # Why it fired: rule, explanation, evidence, what is expected by when.
    alert_url = d.current_url
    hexid = alert_url.rsplit("/", 1)[1]
    assert d.find_element(By.ID, "rule").text == "absence.rolling"
    assert d.find_element(By.ID, "cpr").text == anna_cpr
    assert "Rule absence.rolling" in \
        d.find_element(By.ID, "explanation").text
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}",
                        d.find_element(By.ID, "due").text)
    rows = d.find_elements(By.CSS_SELECTOR, "table.evidence tbody tr")
    assert len(rows) == 1
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")]
    assert cells == ["Fraværsindberetning", "school-a",
                     "2024-05-06 – 2024-05-10", "12 af 30 lektioner fravær"]
    d.save_screenshot(str(SHOTS / "web-alert.png"))

    # Every form carries a labelled control per field.
    for field in ("how", "date", "action-note", "ack-note"):
        assert d.find_element(By.CSS_SELECTOR, f"label[for={field}]").text

    # Record contact made; it is in the young person's timeline.
    d.find_element(By.ID, "kind-contact").click()
    d.find_element(By.ID, "how").send_keys("telefon")
    d.find_element(By.ID, "action-note").send_keys("aftalt møde <i>")
    submit(d, "save-action")
    assert "Handlingen er gemt." in text_of(d)
    # The action is durable when saved; the timeline shows it once the
    # hub has applied it (its next loop turn): ask again until then.
    submit(d, "show-timeline")

    def timeline_with_action():
        entries = [e.text for e in d.find_elements(By.CSS_SELECTOR,
                                                   "ol.timeline li")]
        if any("contact made" in e for e in entries):
            return entries
        submit(d, "show-timeline")
        return None
    entries = wait_for(timeline_with_action, 10, "the action in the "
                       "timeline", interval=0.2)
    assert any("contact made by cw-anna: telefon — aftalt møde <i>" in e
               for e in entries), entries
    assert any("Fraværsindberetning" in e for e in entries), entries
    d.save_screenshot(str(SHOTS / "web-timeline.png"))

    # Another caseworker's person: refused, plainly.
    d.get(web.base + "/timeline")
    d.find_element(By.ID, "cpr").send_keys(bo_cpr)
    submit(d, "show-timeline")
    assert "Denne person er ikke tildelt dig eller dit team." in text_of(d)
    assert not d.find_elements(By.CSS_SELECTOR, "ol.timeline li")

    # CSRF: a POST with the session cookie but without the form's token is
    # refused, and nothing happens.
    session = {"ug_session": cookie["value"]}
    for path in (f"/alert/{hexid}/ack", f"/alert/{hexid}/action",
                 "/logout", "/timeline"):
        r, _ = web.request("POST", path, {"note": "x", "cpr": anna_cpr},
                           cookies=session)
        assert r.status == 403, path
        r, _ = web.request("POST", path, {"csrf": "0" * 32, "note": "x"},
                           cookies=session)
        assert r.status == 403, path
    r, page = web.request("GET", "/alerts", cookies=session)
    assert r.status == 200 and hexid in page   # still open, still logged in
    csp = r.getheader("Content-Security-Policy")
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    # One script, from webd itself (live updates); nothing inline.
    assert re.findall(r"<script[^>]*>(.*?)</script>", page, re.S) == [""]
    assert '<script src="/static/live.js">' in page
    assert "script-src 'self'" in csp and " style=" not in page
    assert r.getheader("Cache-Control") == "no-store"

    # A phone's width: no horizontal scrolling.
    d.set_window_size(375, 800)
    d.get(alert_url)
    assert no_horizontal_scroll(d)
    d.save_screenshot(str(SHOTS / "web-phone.png"))
    d.get(web.base + "/alerts")
    assert no_horizontal_scroll(d)
    d.set_window_size(1280, 900)

    # English, remembered in a cookie.
    d.get(web.base + "/alerts?lang=en")
    assert d.find_element(By.TAG_NAME, "h1").text == "Open alerts"
    d.get(web.base + "/alerts")
    assert d.find_element(By.TAG_NAME, "h1").text == "Open alerts"
    d.get(web.base + "/alerts?lang=da")

    # Acknowledge: the alert leaves the list.
    d.get(alert_url)
    d.find_element(By.ID, "ack-note").send_keys("set")
    submit(d, "ack")
    assert "Advarslen er kvitteret." in text_of(d)
    assert not d.find_elements(By.CSS_SELECTOR, "a.alert-link")
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 1)

    # Log out: the session is gone in webd and in the hub.
    submit(d, "logout")
    assert d.current_url.endswith("/login?out=1")
    assert d.get_cookie("ug_session") is None
    r, _ = web.request("GET", "/alerts", cookies=session)
    assert r.status == 303 and r.getheader("Location") == "/login"
    # Audit records are queued and written once a tick.
    wait_for(lambda: re.search(r"logout +logout",
                               hub.hubctl("audit", "show", "--actor",
                                          "cw-anna").stdout),
             20, "the logout in the audit trail", interval=0.3)
    audit = hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    assert re.search(r"login +ok", audit) and \
        re.search(r"login +denied", audit)



def test_a_cpr_typed_as_the_login_name_is_not_kept(make_hub):
    """Someone who types their CPR number where the caseworker id goes is
    refused like any wrong login. An id holds no CPR number, so the audit
    trail records the refusal as that of a name that is no id at all:
    without what was typed."""
    hub = web_hub(make_hub, settings={"login_gateway_failures": "3"})
    cpr = CprGen(7001).next()
    hub.cprs.add(cpr)
    web = Web(hub)
    try:
        for name in (cpr, f"{cpr[:6]}-{cpr[6:]}", "Anna Hansen"):
            assert web.raw_login(name, PASSWORD)[0].status == 401
        # Each was a failed login through web-1: its three a minute are
        # spent, the right password waits too.
        assert web.raw_login("cw-anna", PASSWORD)[0].status != 303
        # A name refused while the gateway waits is recorded as a name
        # refused at any other time is: no id, and said so.
        assert web.raw_login("Bo Jensen", PASSWORD)[0].status != 303
    finally:
        web.stop()
    # hubd writes refusals once a second: the waiting logins' `limited`
    # may come a flush after the three denials.
    wait_for(lambda: (lambda text: len(re.findall(r"login +denied", text))
                      == 3 and len(re.findall(r"login +limited", text))
                      == 2)(
        hub.hubctl("audit", "show").stdout), 10, "the refusals audited",
        interval=0.3)
    audit = hub.hubctl("audit", "show").stdout
    assert "xxxxxx" not in audit, audit
    # A name that is no caseworker id at all: recorded, without the name.
    assert len(re.findall(r"- +login +denied .* web-1: not a caseworker id",
                          audit)) == 3, audit
    assert re.search(r"cw-anna +login +limited .* web-1$", audit,
                     re.M), audit
    assert re.search(r"- +login +limited .* web-1: not a caseworker id",
                     audit), audit
    assert cpr[:6] not in audit and "Hansen" not in audit and \
        "Jensen" not in audit, audit


def session_cookie(cookies):
    [c] = [c for c in cookies if c.startswith("ug_session=")]
    return c.split(";")[0].split("=", 1)[1]


def anna_with_a_person(make_hub, seed):
    """A hub with gateway web-1 registered, cw-anna's web password set and
    a person (CprGen(seed)) assigned to her; returns (hub, cpr)."""
    hub = web_hub(make_hub)
    cpr = CprGen(seed).next()
    hub.assign(cpr, "cw-anna")
    return hub, cpr


def anna_session(web):
    """cw-anna logged in through webd: the cookies of her session."""
    return {"ug_session":
            session_cookie(web.raw_login("cw-anna", PASSWORD)[1])}


def open_new_alert(hub, web, session, cpr, salt):
    """An absence alert for cpr raised, seen in the session's list and its
    page opened: returns (its hex id, the page's CSRF token)."""
    hub.send(envelope("school-a", cpr, salt=salt,
                      period_start="2024-05-06", period_end="2024-05-10",
                      absent=12, expected=30))
    [hexid] = wait_for(lambda: alerts_listed(web, session), 20,
                       "the alert in the list", interval=0.3)
    page = web.request("GET", f"/alert/{hexid}", cookies=session)[1]
    return hexid, re.search(r'name="csrf" value="([0-9a-f]+)"',
                            page).group(1)


def alerts_listed(web, session):
    """The ids of the alerts on the session's open list."""
    page = web.request("GET", "/alerts", cookies=session)[1]
    return re.findall(r'href="/alert/([0-9a-f]{18})"', page)


def test_a_login_ends_the_session_the_browser_held(make_hub):
    """Session fixation: the session after a login is a new one, never the
    one the browser sent; and the one it held before — another
    caseworker's at a shared desk — ends at the hub, recorded as a
    logout, so no session is left alive that no browser can log out."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False})
    set_password(hub, "cw-bo", PASSWORD)
    web = Web(hub)
    try:
        planted = "ab" * 32
        r, cookies = web.raw_login("cw-anna", PASSWORD,
                                   cookies={"ug_session": planted})
        anna = session_cookie(cookies)
        assert r.status == 303 and anna != planted
        r, cookies = web.raw_login("cw-bo", PASSWORD,
                                   cookies={"ug_session": anna})
        bo = session_cookie(cookies)
        assert r.status == 303 and bo != anna
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": anna})
        assert r.status == 303 and r.getheader("Location") == "/login"
        r, page = web.request("GET", "/alerts", cookies={"ug_session": bo})
        assert r.status == 200 and "cw-bo" in page
        # A failed login leaves the session the browser holds as it is.
        r, _ = web.raw_login("cw-anna", "not the password",
                             cookies={"ug_session": bo})
        assert r.status == 401
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": bo})
        assert r.status == 200
    finally:
        web.stop()
    wait_for(lambda: re.search(r"logout +logout",
                               hub.hubctl("audit", "show", "--actor",
                                          "cw-anna").stdout),
             10, "anna's session ended as a logout", interval=0.3)


def test_a_restart_of_webd_logs_everyone_out(make_hub):
    """OPERATIONS.md: webd keeps sessions in memory; after a restart of
    webd alone a browser's next page leads to /login, and the hub ends
    the session it no longer hears of after web_session_idle, recorded
    `logout` `idle`."""
    hub = web_hub(make_hub, clock="2026-09-07T09:00:00")
    web = Web(hub)
    try:
        session = anna_session(web)
    finally:
        web.stop()
    web = Web(hub, name="webd-again")
    try:
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 303 and r.getheader("Location") == "/login"
        hub.advance("2026-09-07T09:31:00")
    finally:
        web.stop()
    wait_for(lambda: re.search(r"logout +idle", hub.hubctl(
        "audit", "show", "--actor", "cw-anna").stdout), 10,
        "the session's end audited", interval=0.3)


def test_revoked_sessions_stay_ended_after_registering_again(make_hub):
    """OPERATIONS.md: after revoke-gateway its sessions cannot be used any
    more, and a revoked caseworker's session ends: registering the gateway
    (same key) or the caseworker again does not bring an old session
    back, nor the revoked caseworker's password."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True, "cw-bo": False})
    set_password(hub, "cw-bo", PASSWORD)
    web = Web(hub)

    def ended(n):
        wait_for(lambda: len(re.findall(r"logout +revoked", hub.hubctl(
            "audit", "show").stdout)) >= n, 10, f"{n} sessions ended",
            interval=0.3)

    try:
        anna = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        bo = session_cookie(web.raw_login("cw-bo", PASSWORD)[1])
        for sid in (anna, bo):
            r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
            assert r.status == 200
        hub.hubctl("revoke-caseworker", "cw-anna")
        ended(1)
        hub.register_caseworker("cw-anna")
        # The revoke took the password with it: the id registered again
        # (perhaps for someone else) has none until set-password.
        assert web.raw_login("cw-anna", PASSWORD)[0].status == 401
        hub.hubctl("revoke-gateway", "web-1")
        ended(2)
        # The hub refuses the gateway itself: no caseworker is told that
        # their password is wrong.
        r, _ = web.raw_login("cw-bo", PASSWORD)
        assert r.status == 503, r.status
        login_says_gateway_not_connected(web, "cw-bo")
        hub.hubctl("register-gateway", "web-1")
        # The gateway serves again: a new login works, the old sessions
        # stay ended.
        wait_for(lambda: web.raw_login("cw-bo", PASSWORD)[0].status == 303,
                 10, "logins through web-1 again", interval=0.3)
        for sid in (anna, bo):
            r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
            assert r.status == 303 and \
                r.getheader("Location") == "/login?ended=1", sid
    finally:
        web.stop()


def login_says_gateway_not_connected(web, caseworker):
    """A login through the login page while the hub refuses the gateway:
    503 with the page's reason, not "wrong password"."""
    r, page = web.request("GET", "/login")
    pre = re.search(r"ug_pre=([0-9a-f]+)", r.getheader("Set-Cookie"))
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r, page = web.request("POST", "/login",
                          {"csrf": csrf, "caseworker": caseworker,
                           "password": PASSWORD},
                          cookies={"ug_pre": pre.group(1)})
    assert r.status == 503 and errors_of(page) == [
        "Webindbakken er ikke tilsluttet hubben lige nu. Prøv igen "
        "senere, eller kontakt driften."], page


def test_pages_of_a_revoked_gateway_lead_to_the_login(make_hub):
    """OPERATIONS.md: revoke-gateway ends the gateway's sessions within one
    loop turn of hubd, and a page whose session the hub ended (a revoke)
    leads to /login?ended=1; the list alone and `POST /session` are 401,
    and `GET /session` then says so too, so an open page leaves; so too
    once a restarted hubd refuses the key at the handshake. The hub
    does answer: not "Hubben svarer ikke" (503), nor, for a timeline, the
    403 of another caseworker's person. A login then says the web inbox is
    not connected to the hub."""
    hub, cpr = anna_with_a_person(make_hub, 7041)
    web = Web(hub)
    try:
        sessions = [anna_session(web) for _ in range(5)]
        csrfs = []
        for session in sessions:
            r, page = web.request("GET", "/timeline", cookies=session)
            assert r.status == 200
            csrfs.append(re.search(r'name="csrf" value="([0-9a-f]+)"',
                                   page).group(1))
        later = anna_session(web)
        hub.hubctl("revoke-gateway", "web-1")
        wait_for(lambda: len(re.findall(r"logout +revoked", hub.hubctl(
            "audit", "show").stdout)) == 6, 10, "the sessions ended",
            interval=0.3)
        alerts, listed, timeline, empty_form, keep = zip(sessions, csrfs)
        r, page = web.request("GET", "/alerts", cookies=alerts[0])
        assert (r.status, r.getheader("Location")) == \
            (303, "/login?ended=1"), (r.status, errors_of(page))
        assert "ug_session=;" in r.getheader("Set-Cookie")
        assert web.request("GET", "/session",
                           cookies=alerts[0])[0].status == 401
        assert web.request("GET", "/alerts/list",
                           cookies=listed[0])[0].status == 401
        r, page = web.request("POST", "/timeline",
                              {"csrf": timeline[1], "cpr": cpr},
                              cookies=timeline[0])
        assert (r.status, r.getheader("Location")) == \
            (303, "/login?ended=1"), (r.status, errors_of(page))
        r, page = web.request("GET", "/timeline", cookies=empty_form[0])
        assert (r.status, r.getheader("Location")) == \
            (303, "/login?ended=1"), (r.status, errors_of(page))
        r, _ = web.request("POST", "/session", {"csrf": keep[1]},
                           cookies=keep[0])
        assert r.status == 401
        login_says_gateway_not_connected(web, "cw-anna")
        # A hubd started since refuses the key at the handshake: a
        # session webd still holds is over all the same.
        hub.stop()
        hub.start()
        r, page = web.request("GET", "/alerts", cookies=later)
        assert (r.status, r.getheader("Location")) == \
            (303, "/login?ended=1"), (r.status, errors_of(page))
        login_says_gateway_not_connected(web, "cw-anna")
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert "the hub refuses this gateway's key" in log, log


def test_a_gateway_the_hub_does_not_admit_says_so_until_registered(
        make_hub):
    """OPERATIONS.md: a login while hubd refuses the gateway's key is 503
    "Webindbakken er ikke tilsluttet hubben lige nu. ...". That holds for
    a webd started before `register-gateway` (or after a revoke) too,
    whose connection the hub refuses at its handshake: not "the hub does
    not answer", and its log names the cause. Registered then, the
    gateway is admitted without restarting webd."""
    hub = make_hub()
    hub.keygen("web-1")
    set_password(hub, "cw-anna", PASSWORD)
    web = Web(hub, hub_timeout=2)
    try:
        login_says_gateway_not_connected(web, "cw-anna")
        hub.hubctl("register-gateway", "web-1")
        wait_for(lambda: web.raw_login("cw-anna", PASSWORD)[0].status ==
                 303, 15, "a login through web-1 once registered",
                 interval=0.5)
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert "the hub refuses this gateway's key" in log, log


def test_the_timeline_form_is_a_request_in_the_session(make_hub):
    """SECURITY.md: a session ends after web_session_idle minutes without
    a request; OPERATIONS.md: a page without a live session sends the
    caseworker to /login?ended=1. The empty timeline form is a page like
    any other: opening it keeps the session alive, and once the hub has
    ended the session (a password reset) it leads to the login."""
    hub = web_hub(make_hub, clock="2026-09-07T09:00:00",
                  settings={"web_session_idle": "30"})
    web = Web(hub)
    try:
        anna = {"ug_session":
                session_cookie(web.raw_login("cw-anna", PASSWORD)[1])}
        hub.advance("2026-09-07T09:20:00")
        r, page = web.request("GET", "/timeline", cookies=anna)
        assert r.status == 200 and 'name="cpr"' in page
        # 40 minutes after the login, 20 after the form: still alive.
        hub.advance("2026-09-07T09:40:00")
        r, _ = web.request("GET", "/alerts", cookies=anna)
        assert r.status == 200
        set_password(hub, "cw-anna", PASSWORD)
        r, _ = web.request("GET", "/timeline", cookies=anna)
        assert r.status == 303 and \
            r.getheader("Location") == "/login?ended=1"
    finally:
        web.stop()


SECURITY_HEADERS = ("Content-Security-Policy", "X-Frame-Options",
                    "X-Content-Type-Options", "Referrer-Policy")


def test_every_answer_carries_the_security_headers(make_hub):
    """SECURITY.md "Headers": every answer, redirects and refusals
    included, carries the CSP, X-Frame-Options, nosniff, no-referrer and
    Cache-Control: no-store; only /static/live.js may be cached."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        answers = {}
        r, cookies = web.raw_login("cw-anna", PASSWORD)
        answers["login"] = r
        sid = session_cookie(cookies)
        for path in ("/", "/alerts", "/events", "/nonexistent", "/login"):
            answers[path] = web.request("GET", path)[0]
        answers["/session"] = web.request("GET", "/session")[0]
        for path in ("/alerts", "/nonexistent", "/session"):
            answers["in session " + path] = web.request(
                "GET", path, cookies={"ug_session": sid})[0]
        answers["PUT"] = web.request("PUT", "/alerts")[0]
        statuses = {k: r.status for k, r in answers.items()}
        assert statuses["login"] == 303 and statuses["/alerts"] == 303 and \
            statuses["/events"] == 401 and statuses["PUT"] == 405, statuses
        assert answers["PUT"].getheader("Allow") == "GET, HEAD, POST"
        # The idle warning's question: what is left, or 401 without a
        # session (OPERATIONS.md).
        assert statuses["/session"] == 401 and \
            statuses["in session /session"] == 200, statuses
        r, said = web.request("GET", "/session", cookies={"ug_session": sid})
        assert r.getheader("Content-Type") == "application/json"
        said = json.loads(said)
        assert 1700 < said["left"] <= 1800 and said["warn"] == 120, said
        # A page that does not exist is 404 with or without a session.
        assert statuses["/nonexistent"] == 404 and \
            statuses["in session /nonexistent"] == 404, statuses
        r, page = web.request("GET", "/favicon.ico")
        assert r.status == 404 and "<title>Siden findes ikke – " in page
        # An alert's address whose id is not hex names no page either:
        # the same 404, with or without a session.
        for cookies in (None, {"ug_session": sid}):
            r, page = web.request("GET", "/alert/" + "z" * 18,
                                  cookies=cookies)
            assert r.status == 404 and \
                "<title>Siden findes ikke – " in page, (cookies, page)
        for what, r in answers.items():
            for h in SECURITY_HEADERS:
                assert r.getheader(h), (what, h)
            assert r.getheader("Cache-Control") == "no-store", what
        for path in ("/static/live.js", "/static/app.css"):
            r, _ = web.request("GET", path)
            assert r.status == 200 and r.getheader("Cache-Control") == \
                "max-age=3600", path
            # What a cache may keep sets no cookie, ?lang= or not.
            r, _ = web.request("GET", path + "?lang=en")
            assert r.status == 200 and not r.getheader("Set-Cookie"), path
            for h in SECURITY_HEADERS:
                assert r.getheader(h), (path, h)
        # A refused POST is logged with its path: a CPR or a line break
        # in it reaches no log (the teardown's sweep reads webd's).
        cpr = CprGen(7002).next()
        hub.cprs.add(cpr)
        forged = "2026-01-01T00:00:00.000Z webd notice WEB-LOGIN forged"
        r, _ = web.request("POST", f"/alert/{cpr}%0a{forged.replace(' ', '%20')}",
                           {"note": "x"}, cookies={"ug_session": sid})
        assert r.status == 403
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert "WEB-CSRF" in log and "xxxxxxxxxx?" + forged in log, log
    assert not any(ln.startswith(forged) for ln in log.splitlines()), log

def test_get_session_answers_from_what_webd_knows(make_hub):
    """OPERATIONS.md: GET /session asks hubd nothing, so a session the
    hub ended (a password reset) still answers its time until webd asks
    the hub about it; once a page is told, the page leads to
    /login?ended=1 and GET /session is 401."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        session = anna_session(web)
        set_password(hub, "cw-anna", "a new password")
        r, said = web.request("GET", "/session", cookies=session)
        assert r.status == 200 and json.loads(said)["left"] > 1700, said
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == "/login?ended=1"
        r, _ = web.request("GET", "/session", cookies=session)
        assert r.status == 401
        # What the list's stream hears of the end leaves no time.
        set_password(hub, "cw-anna", PASSWORD)
        session = anna_session(web)
        s = socket.create_connection(("127.0.0.1", web.port), timeout=10)
        s.sendall(("GET /events HTTP/1.1\r\nHost: x\r\nCookie: ug_session="
                   + session["ug_session"] + "\r\n\r\n").encode())
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        set_password(hub, "cw-anna", "a third password")
        wait_for(lambda: json.loads(web.request(
            "GET", "/session", cookies=session)[1])["left"] == 0, 20,
            "no time left", interval=0.3)
        s.close()
    finally:
        web.stop()


def test_a_cpr_in_a_path_reaches_no_log(make_hub):
    """A client that asks for a path with a CPR in it and hangs up before
    the answer: libmicrohttpd's own complaint about the failed send names
    the path, and goes to webd's log like every other line — one line in
    its format, the CPR masked."""
    import socket
    import struct
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    web = Web(hub)
    cpr = CprGen(7004).next()
    hub.cprs.add(cpr)
    try:
        for _ in range(30):
            s = socket.create_connection(("127.0.0.1", web.port))
            s.sendall(f"GET /alert/{cpr} HTTP/1.1\r\nHost: x\r\n\r\n"
                      .encode())
            # Reset, not close: webd's answer finds no one to take it.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                         struct.pack("ii", 1, 0))
            s.close()
        assert web.up()
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert cpr not in log, log
    assert "MHD_OPTION" not in log, log
    for line in log.splitlines():
        assert re.match(r"\d{4}-\d\d-\d\dT[\d:.]+Z webd \w+ WEB-", line), \
            line


def raw_http(port, data):
    """Send bytes as they are and read the answer until webd closes."""
    import socket
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(data)
    out = b""
    while True:
        piece = s.recv(65536)
        if not piece:
            break
        out += piece
    s.close()
    return out.decode(errors="replace")


def test_what_libmicrohttpd_refuses_it_answers_and_webd_serves_on(make_hub):
    """SECURITY.md "Headers": HTTP/1.1 without Host, a bad Content-Length,
    a request line or header over the memory limit and an unsupported
    version are answered by libmicrohttpd (400, 414, 431, 505), and webd
    serves on; a form over 16 KiB announced with "Expect: 100-continue"
    is answered 413 before its body is sent."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        def status(request):
            answer = raw_http(web.port, request.encode())
            return int(answer.split(" ", 2)[1]) if answer else None
        assert status("GET /login HTTP/1.1\r\n\r\n") == 400
        assert status("GET /login HTTP/1.0\r\n\r\n") == 200
        assert status("POST /login HTTP/1.1\r\nHost: x\r\n"
                      "Content-Length: many\r\n\r\n") == 400
        assert status(f"GET /{'a' * 100000} HTTP/1.1\r\nHost: x\r\n"
                      "\r\n") == 414
        assert status(f"GET /login HTTP/1.1\r\nHost: x\r\nX-Big: "
                      f"{'a' * 100000}\r\n\r\n") == 431
        assert status("GET /login HTTP/2.0\r\nHost: x\r\n\r\n") == 505
        sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        answer = raw_http(web.port, (
            "POST /timeline HTTP/1.1\r\nHost: x\r\n"
            f"Cookie: ug_session={sid}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            "Content-Length: 10000000\r\nExpect: 100-continue\r\n\r\n"
        ).encode())
        head = answer.split("\r\n\r\n", 1)[0]
        assert head.startswith("HTTP/1.1 413 "), answer[:200]
        for h in SECURITY_HEADERS:
            assert f"\r\n{h}: " in head, (h, head)
        assert "højst 16 KiB" in answer
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
        assert r.status == 200
    finally:
        web.stop()


def test_what_is_no_request_or_too_many_parameters_is_not_served(make_hub):
    """SECURITY.md "Headers", Not covered: what is not HTTP but looks like
    a request line (`hello world`) is answered 400 by libmicrohttpd,
    without webd's headers, and the connection closed; a query string of
    more parameters than its memory holds (some 450 short ones) is not
    answered at all and its connection is closed at once, not 30 s
    later; fewer are served; webd serves on after each."""
    import socket
    hub = web_hub(make_hub)
    web = Web(hub)

    def answer(request):
        """What webd sends back, and the seconds until it closed."""
        s = socket.create_connection(("127.0.0.1", web.port), timeout=40)
        start = time.monotonic()
        s.sendall(request)
        out = b""
        try:
            while True:
                piece = s.recv(65536)
                if not piece:
                    break
                out += piece
        except ConnectionResetError:   # closed with the request unread
            pass
        s.close()
        return out.decode(errors="replace"), time.monotonic() - start

    def query(n):
        q = "&".join(f"p{i}=v" for i in range(n))
        return f"GET /login?{q} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    try:
        text, _ = answer(b"hello world\r\n\r\n")
        head = text.split("\r\n\r\n", 1)[0]
        assert head.startswith("HTTP/1.1 400 "), text
        assert "\r\nConnection: close" in head, head
        for h in SECURITY_HEADERS:
            assert f"\r\n{h}: " not in head, (h, head)
        text, _ = answer(query(400))
        assert text.startswith("HTTP/1.1 200 "), text[:200]
        for n in (1000, 4000):
            text, took = answer(query(n))
            assert (text, took < 10) == ("", True), (n, text[:200], took)
        assert web.request("GET", "/login")[0].status == 200
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert log.count("WEB-HTTP Not enough memory in pool") == 2, log


def test_a_restarted_webd_forgets_its_sessions_and_hubd_ends_them_idle(
        make_hub):
    """OPERATIONS.md, "The web inbox": webd keeps its sessions in memory
    and tells hubd nothing when it is killed; the browser is sent to the
    login (without ?ended=1: the hub did not end it), and hubd ends the
    session web_session_idle minutes after its last request, recorded
    as `logout` `idle`. The login limits live in hubd: an id locked
    before stays locked."""
    hub = web_hub(make_hub, clock="2026-03-02T08:00:00",
                  settings={"login_failures_max": "2"})
    web = Web(hub)
    sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
    for _ in range(2):
        assert web.raw_login("cw-ghost", "x" * 10)[0].status == 401
    web.proc.kill()
    web.proc.wait()
    web.log.close()
    web = Web(hub, name="webd-2")
    try:
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
        assert (r.status, r.getheader("Location")) == (303, "/login")
        assert web.raw_login("cw-ghost", "x" * 10)[0].status == 429
        hub.set_clock("2026-03-02T08:30:00")
        hub.wait_log(r"HUB-WEB web session of cw-anna ended: idle")
    finally:
        web.stop()

    def ends():
        return [line.split()[3:5] for line in
                hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
                .splitlines() if " log" in line]
    wait_for(lambda: len(ends()) == 2, 10, "the logout recorded")
    assert ends() == [["login", "ok"], ["logout", "idle"]], ends()


def test_sighup_is_ignored_and_the_session_lives_on(make_hub):
    """OPERATIONS.md: SIGHUP is ignored by webd (it reads its settings at
    start only); left at its default it would end webd in a way systemd
    counts as clean and does not restart."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        web.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert web.proc.poll() is None
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
        assert r.status == 200
    finally:
        web.stop()


def test_cookies_secure_behind_tls_and_login_limits(make_hub):
    hub = web_hub(make_hub, settings={"login_failures_max": "3"})
    web = Web(hub, behind_tls="true")
    try:
        r, cookies = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 303 and r.getheader("Location") == "/alerts"
        [session] = [c for c in cookies if c.startswith("ug_session=")]
        # Each cookie's attributes as SECURITY.md and OPERATIONS.md write
        # them; the session and the login form's ug_pre end with the
        # browser, the language is kept a year.
        assert re.fullmatch(r"ug_session=[0-9a-f]{64}; HttpOnly; "
                            r"SameSite=Strict; Path=/; Secure", session), \
            session
        r, _ = web.request("GET", "/login?lang=en")
        said = sorted(r.headers.get_all("Set-Cookie"))
        assert len(said) == 2 and re.fullmatch(
            r"ug_lang=en; HttpOnly; SameSite=Strict; Path=/; Secure; "
            r"Max-Age=31536000", said[0]) and re.fullmatch(
            r"ug_pre=[0-9a-f]{32}; HttpOnly; SameSite=Strict; Path=/; "
            r"Secure", said[1]), said
        # A login form posted without the login CSRF token is refused.
        r, _ = web.request("POST", "/login", {"caseworker": "cw-anna",
                                              "password": PASSWORD})
        assert r.status == 403
        # Three failures lock the caseworker id, even for the right
        # password; an unknown id is locked the same way.
        for _ in range(3):
            r, page = web.raw_login("cw-anna", "wrong password")[0], None
            assert r.status == 401
        r, _ = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 429
        for _ in range(3):
            assert web.raw_login("cw-ghost", "x" * 10)[0].status == 401
        assert web.raw_login("cw-ghost", "x" * 10)[0].status == 429
        # A reset password ends the sessions opened with the old one.
        sid = session.split(";")[0].split("=", 1)[1]
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
        assert r.status == 200
        set_password(hub, "cw-anna", "a new password")
        r, _ = web.request("GET", "/alerts", cookies={"ug_session": sid})
        assert r.status == 303 and \
            r.getheader("Location") == "/login?ended=1"
    finally:
        web.stop()
    # A gateway key cannot act as a caseworker, nor a caseworker take the
    # gateway's id.
    p = hub.hubctl("register-gateway", "cw-anna", "--key",
                   str(hub.keys_dir / "web-1.key"), check=False)
    assert p.returncode == 1 and "is a registered caseworker" in p.stderr
    p = hub.hubctl("set-password", "web-1", check=False)
    assert p.returncode == 1
    # Nor does a gateway's id become a caseworker's, nor is a gateway
    # revoked as a caseworker.
    p = hub.hubctl("register-caseworker", "web-1", check=False)
    assert p.returncode == 1 and "is a registered gateway" in p.stderr
    p = hub.hubctl("revoke-caseworker", "web-1", check=False)
    assert p.returncode == 1 and "is a gateway: revoke-gateway" in p.stderr
    # Revoking a gateway that is not there is refused and recorded, like
    # revoke-caseworker's; a caseworker is no gateway.
    for who in ("web-9", "cw-anna"):
        p = hub.hubctl("revoke-gateway", who, check=False)
        assert p.returncode == 1 and f"no gateway '{who}'" in p.stderr
    audit = hub.hubctl("audit", "show", "--json").stdout
    refused = [json.loads(ln) for ln in audit.splitlines()
               if '"revoke-gateway"' in ln]
    assert [(r["result"], r["detail"]) for r in refused] == [
        ("not-found", "web-9"), ("not-found", "cw-anna")], refused
    assert html.escape("<") == "&lt;"
    time.sleep(0)


def test_forms_decoded_as_browsers_send_them(make_hub):
    """Forms are read by libmicrohttpd's decoder: url-encoded and
    multipart bodies both log in, a password of reserved characters
    arrives whole, and a body of another type is read as no form (403)."""
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    odd = "p&ss=w+rd %41 æøå;"
    set_password(hub, "cw-anna", odd)
    web = Web(hub)
    try:
        r, _ = web.raw_login("cw-anna", odd)
        assert r.status == 303 and r.getheader("Location") == "/alerts"
        # A NUL byte (%00) is part of what was typed: the password followed
        # by one is not the password, the id followed by one is no id.
        for who, password in (("cw-anna", odd + "\0"),
                              ("cw-anna", odd + "\0junk"),
                              ("cw-anna\0", odd)):
            r, _ = web.raw_login(who, password)
            assert r.status == 401, (who, password, r.status)
        # The same login as multipart/form-data.
        r, page = web.request("GET", "/login")
        pre = re.search(r"ug_pre=([0-9a-f]+)", r.getheader("Set-Cookie"))
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        fields = {"csrf": csrf, "caseworker": "cw-anna", "password": odd}
        body = "".join(f'--B0undary\r\nContent-Disposition: form-data; '
                       f'name="{k}"\r\n\r\n{v}\r\n'
                       for k, v in fields.items()) + "--B0undary--\r\n"

        def post(content_type, data):
            c = http.client.HTTPConnection("127.0.0.1", web.port,
                                           timeout=10)
            c.request("POST", "/login", body=data.encode(),
                      headers={"Content-Type": content_type,
                               "Cookie": f"ug_pre={pre.group(1)}"})
            resp = c.getresponse()
            resp.read()
            c.close()
            return resp

        r = post("multipart/form-data; boundary=B0undary", body)
        assert r.status == 303 and r.getheader("Location") == "/alerts"
        # The wrong password in the same shape is refused as wrong.
        r = post("multipart/form-data; boundary=B0undary",
                 body.replace(odd, "p&ss=w+rd %41 æøå"))
        assert r.status == 401
        # A JSON body is no form: its CSRF token is not read.
        r = post("application/json", '{"csrf": "%s"}' % csrf)
        assert r.status == 403
        # Only the first 16 fields are read; a 17th of the 16th's name,
        # long enough to arrive in pieces, changes nothing of it.
        fields = [("csrf", csrf), ("caseworker", "cw-anna")] + \
            [(f"pad{i}", "x") for i in range(13)] + \
            [("password", odd), ("password", "y" * 3000)]
        r = post("application/x-www-form-urlencoded",
                 urllib.parse.urlencode(fields))
        assert r.status == 303, r.status
    finally:
        web.stop()



def test_a_form_part_without_a_name_is_left_out(make_hub):
    """A multipart part whose name libmicrohttpd cannot read (an unclosed
    quote) is no field: webd leaves it out, reads the rest of the form
    (the login goes through) and serves on. It used to take the part's
    missing name as a string and crash on any POST, before any login."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        pre, csrf = web.login_form()
        parts = [f'name="csrf"\r\n\r\n{csrf}',
                 'name="note \r\n\r\ncalled her',
                 'name="caseworker"\r\n\r\ncw-anna',
                 f'name="password"\r\n\r\n{PASSWORD}']
        body = "".join(f"--B0undary\r\nContent-Disposition: form-data; "
                       f"{p}\r\n" for p in parts) + "--B0undary--\r\n"
        answer = raw_http(web.port, (
            "POST /login HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Cookie: ug_pre={pre}\r\n"
            "Content-Type: multipart/form-data; boundary=B0undary\r\n"
            f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
        ).encode())
        assert web.proc.poll() is None, "webd died on the form"
        assert answer.startswith("HTTP/1.1 303 "), answer[:300]
        r, _ = web.request("GET", "/login")
        assert r.status == 200
    finally:
        web.stop()

def test_webd_runs_as_the_example_service(make_hub, monkeypatch):
    """OPERATIONS.md "The web inbox": deploy/webd.service starts webd with
    a config like deploy/webd.conf.example and waits for its READY=1;
    SIGTERM ends it with STOPPING=1 and exit 0."""
    import socket
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    port = free_port()
    example = (ROOT / "deploy/webd.conf.example").read_text()
    lines = []
    for line in example.splitlines():
        name = line.split("=")[0].strip()
        if name == "keys_dir":
            line = f"keys_dir = {hub.keys_dir}"
        elif name == "delivery":
            line = f"delivery = {hub.delivery}"
        elif name == "port":
            line = f"port = {port}"
        lines.append(line)
    conf = hub.tmp / "webd.conf"
    conf.write_text("\n".join(lines) + "\n")
    unit = (ROOT / "deploy/webd.service").read_text()
    assert "ExecStart=/usr/local/bin/webd --config /etc/ungebro/webd.conf" \
        in unit and "Type=notify" in unit and "\nLimitCORE=0\n" in unit
    path = hub.tmp / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(15 * SLOW)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    log = open(hub.logs_dir / "webd-service.log", "wb")
    proc = subprocess.Popen([binary("webd"), "--config", str(conf)],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        assert sock.recv(256) == b"READY=1"
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/login")
        r = c.getresponse()
        r.read()
        c.close()
        # The example sits behind a TLS proxy: its cookies are Secure.
        assert r.status == 200 and "Secure" in r.getheader("Set-Cookie")
        proc.terminate()
        assert proc.wait(10) == 0
        assert sock.recv(256) == b"STOPPING=1"
    finally:
        if proc.poll() is None:
            proc.kill()
        log.close()
        sock.close()



def test_a_port_in_use_is_exit_1_naming_that_port(make_hub):
    """OPERATIONS.md "The web inbox": a port that cannot be bound is exit 1,
    `webd: cannot serve on ADDRESS:PORT`; every line of webd's names that
    port (libmicrohttpd's own message included), never port 0."""
    hub = web_hub(make_hub)
    first = Web(hub)
    try:
        p = subprocess.run(
            [binary("webd"), "--gateway", "web-1", "--keys_dir",
             str(hub.keys_dir), "--delivery", hub.delivery, "--port",
             str(first.port)], capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, p.stderr
        assert f"webd: cannot serve on 127.0.0.1:{first.port}\n" in \
            p.stderr, p.stderr
        assert "port 0" not in p.stderr, p.stderr
        assert first.request("GET", "/login")[0].status == 200
    finally:
        first.stop()


def test_beyond_connections_max_and_sessions_max(make_hub):
    """OPERATIONS.md, webd's settings: a connection beyond
    `connections_max` is closed unanswered and logged, and webd serves
    the next once one is free; a login beyond `sessions_max` makes webd
    forget the session used longest ago, whose browser is sent to log in
    again, while the others go on."""
    import socket
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False})
    set_password(hub, "cw-bo", PASSWORD)
    web = Web(hub, connections_max=2, streams_max=1, sessions_max=1)
    try:
        held = [socket.create_connection(("127.0.0.1", web.port))
                for _ in range(2)]
        try:
            answer = raw_http(web.port, b"GET /login HTTP/1.1\r\n"
                                        b"Host: x\r\n\r\n")
        except ConnectionResetError:
            answer = ""
        assert answer == "", answer[:200]
        for s in held:
            s.close()
        wait_for(web.up, 10, "webd serving again", interval=0.2)
        anna = anna_session(web)
        assert web.request("GET", "/alerts", cookies=anna)[0].status == 200
        bo = {"ug_session":
              session_cookie(web.raw_login("cw-bo", PASSWORD)[1])}
        r, _ = web.request("GET", "/alerts", cookies=anna)
        assert r.status == 303 and r.getheader("Location") == "/login"
        r, page = web.request("GET", "/alerts", cookies=bo)
        assert r.status == 200 and "cw-bo" in page
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert re.search(r"webd warn WEB-HTTP Server reached connection limit",
                     log), log


def errors_of(page):
    return [html.unescape(m) for m in
            re.findall(r'<p class="err" role="alert">(.*?)</p>', page)]


def notices_of(page):
    return [html.unescape(m) for m in
            re.findall(r'<p class="msg" role="status">(.*?)</p>', page)]


def action_without_ack(web, hexid, page, csrf, cookies, how):
    """The page of an alert not open to this caseworker offers the action
    form but no acknowledgement; a contact action saved there leads back
    to the alert with msg=saved."""
    assert f'action="/alert/{hexid}/action"' in page
    assert f'action="/alert/{hexid}/ack"' not in page
    r, _ = web.request("POST", f"/alert/{hexid}/action",
                       {"csrf": csrf, "kind": "contact", "how": how},
                       cookies=cookies)
    assert r.status == 303 and \
        r.getheader("Location") == f"/alert/{hexid}?msg=saved"


def test_logout_and_a_large_form_say_what_happened(make_hub):
    """After logging out the login page says so, in the chosen language;
    a form over 16 KiB is refused 413 with a page that says it is too
    large (not that it has expired)."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        r, page = web.request("GET", "/alerts", cookies={"ug_session": sid})
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", "/logout", {"csrf": csrf},
                           cookies={"ug_session": sid})
        assert r.status == 303 and r.getheader("Location") == "/login?out=1"
        r, page = web.request("GET", "/login?out=1")
        assert notices_of(page) == ["Du er logget ud."], page
        assert not errors_of(page)
        r, page = web.request("GET", "/login?out=1",
                              cookies={"ug_lang": "en"})
        assert notices_of(page) == ["You are logged out."], page
        # The language chosen is kept after the browser is closed (a
        # year), unlike the session.
        r, _ = web.request("GET", "/login?lang=en")
        [lang] = [c for c in r.headers.get_all("Set-Cookie")
                  if c.startswith("ug_lang=")]
        assert lang.startswith("ug_lang=en;") and \
            "Max-Age=31536000" in lang and "HttpOnly" in lang, lang
        r, page = web.request("GET", "/login?ended=1")
        assert notices_of(page) == ["Din session er udløbet. Log ind igen."]
        # Switching the language keeps what the page says.
        assert '<a href="?ended=1&amp;lang=en" lang="en">English</a>' \
            in page

        sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": "1" * (17 * 1024)},
                              cookies={"ug_session": sid})
        assert r.status == 413
        assert errors_of(page) == [
            "Formularen er for stor (højst 16 KiB). Gå tilbage, gør "
            "teksten kortere og prøv igen."], page
        for h in SECURITY_HEADERS:
            assert r.getheader(h), h
    finally:
        web.stop()


def test_a_login_form_that_expired_comes_back_to_log_in_from(make_hub):
    """A login form whose token no longer fits (webd restarted while it
    was open, or the browser closed and its ug_pre cookie gone) is 403,
    with the login form again and a fresh token: the caseworker logs in
    from that page, not by going back and reloading."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        pre, csrf = web.login_form()
    finally:
        web.stop()
    web = Web(hub, name="webd-again")
    try:
        for cookies in ({"ug_pre": pre}, None):
            r, page = web.request("POST", "/login",
                                  {"csrf": csrf, "caseworker": "cw-anna",
                                   "password": PASSWORD}, cookies=cookies)
            assert r.status == 403 and errors_of(page) == [
                "Formularen var udløbet eller ugyldig. Log ind igen."], page
            assert 'id="caseworker"' in page and 'id="password"' in page
            fresh = re.search(r'name="csrf" value="([0-9a-f]+)"',
                              page).group(1)
            said = re.search(r"ug_pre=([0-9a-f]+)",
                             r.getheader("Set-Cookie") or "")
            held = said.group(1) if said else pre
            r, _ = web.request("POST", "/login",
                               {"csrf": fresh, "caseworker": "cw-anna",
                                "password": PASSWORD},
                               cookies={"ug_pre": held})
            assert r.status == 303 and r.getheader("Location") == "/alerts"
        r, page = web.request("POST", "/login?lang=en", {"csrf": "0" * 32})
        assert r.status == 403 and errors_of(page) == [
            "The form had expired or was not valid. Log in again."], page
    finally:
        web.stop()


def test_webd_names_its_pages_from_the_root_of_its_host(make_hub):
    """OPERATIONS.md (nginx in front): webd is served from the root of a
    host name of its own, since its links, forms, redirects and cookies
    name its pages from /: none is relative to the page it is on."""
    hub, cpr = anna_with_a_person(make_hub, 7011)
    web = Web(hub)
    try:
        r, login_page = web.request("GET", "/login")
        assert "Path=/" in r.getheader("Set-Cookie")
        r, cookies = web.raw_login("cw-anna", PASSWORD)
        assert r.getheader("Location") == "/alerts" and \
            all("; Path=/" in c for c in cookies), cookies
        session = {"ug_session": session_cookie(cookies)}
        hexid, csrf = open_new_alert(hub, web, session, cpr, "root")
        pages = [login_page] + [web.request("GET", p, cookies=session)[1]
                                for p in ("/alerts", f"/alert/{hexid}",
                                          "/timeline")]
        for page in pages:
            for ref in re.findall(r'(?:href|src|action)="([^"]*)"', page):
                assert ref[:1] in ("/", "?", "#"), ref
        r, _ = web.request("GET", "/", cookies=session)
        assert r.getheader("Location") == "/alerts"
    finally:
        web.stop()


def test_the_language_link_of_a_page_answering_a_form(make_hub):
    """OPERATIONS.md: a page that answers a form keeps nothing of it in
    its language link: a timeline shown leads to the empty timeline form
    in the other language (no CPR in a URL), a refused action to the
    alert's page."""
    hub, cpr = anna_with_a_person(make_hub, 7012)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "lang-form")
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=session)
        assert r.status == 200 and 'href="?lang=en"' in page
        r, page = web.request("GET", "/timeline?lang=en", cookies=session)
        assert r.status == 200 and "<h1>Timeline</h1>" in page and \
            cpr not in page
        r, page = web.request("POST", f"/alert/{hexid}/action?lang=da",
                              {"csrf": csrf, "kind": "contact", "how": ""},
                              cookies=session)
        assert r.status == 400 and 'href="?lang=en"' in page
        r, _ = web.request("GET", f"/alert/{hexid}/action?lang=en",
                           cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == f"/alert/{hexid}" and \
            r.getheader("Set-Cookie").startswith("ug_lang=en;")
        r, page = web.request("GET", f"/alert/{hexid}",
                              cookies=dict(session, ug_lang="en"))
        assert r.status == 200 and '<html lang="en">' in page
    finally:
        web.stop()


def test_a_form_sent_without_a_session_offers_the_login(make_hub):
    """A form sent after webd forgot the session (a restart of webd) is
    403 and does nothing; the page is the login page it is titled as,
    saying why, with the form to log in from."""
    hub, cpr = anna_with_a_person(make_hub, 7013)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "no-session")
    finally:
        web.stop()
    web = Web(hub, name="webd-again")
    try:
        r, page = web.request("POST", f"/alert/{hexid}/ack",
                              {"csrf": csrf, "note": "x"}, cookies=session)
        assert r.status == 403 and errors_of(page) == [
            "Formularen blev ikke sendt, fordi du ikke er logget ind. "
            "Log ind, og prøv igen."], page
        assert "<title>Log ind – " in page and 'id="password"' in page
        fresh = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        pre = re.search(r"ug_pre=([0-9a-f]+)", r.getheader("Set-Cookie"))
        r, cookies = web.request("POST", "/login",
                                 {"csrf": fresh, "caseworker": "cw-anna",
                                  "password": PASSWORD},
                                 cookies={"ug_pre": pre.group(1)})
        assert r.status == 303 and r.getheader("Location") == "/alerts"
        session = {"ug_session": session_cookie(
            r.headers.get_all("Set-Cookie"))}
        assert hexid in alerts_listed(web, session)   # not acknowledged
    finally:
        web.stop()


def test_failed_logins_count_since_the_last_success_or_pause(make_hub):
    """SECURITY.md "Login limits": login_failures_max failures lock the
    id, counted since its last successful login, and a failure
    login_lockout minutes after the last one counts as the first."""
    hub = web_hub(make_hub, clock="2026-03-02T10:00:00",
                  settings={"login_failures_max": "2",
                            "login_lockout": "1"})
    web = Web(hub)
    try:
        def status(password):
            return web.raw_login("cw-anna", password)[0].status
        assert status("wrong password") == 401
        assert status(PASSWORD) == 303          # clears the count
        assert status("wrong password") == 401
        hub.set_clock("2026-03-02T10:01:00")   # a pause of login_lockout
        hub.settle()
        assert status("wrong password") == 401  # the first again
        assert status(PASSWORD) == 303
        assert [status("wrong password") for _ in range(2)] == [401, 401]
        assert status(PASSWORD) == 429
    finally:
        web.stop()


def test_a_refused_action_says_why_and_keeps_the_form(make_hub):
    """An action the hub refuses is not saved: the alert's page comes back
    (400 for a field that is wrong) with the reason in the page's language
    above the form, and the form holds what was typed. A `how` of blanks
    alone is as empty. The note's limit is 200 bytes, as its label says:
    150 Danish letters æ are 300."""
    hub, cpr = anna_with_a_person(make_hub, 7003)
    web = Web(hub)
    try:
        sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        session = {"ug_session": sid}
        hub.send(envelope("school-a", cpr, salt="web-refused",
                          period_start="2024-05-06", period_end="2024-05-10",
                          absent=12, expected=30))

        def listed():
            return alerts_listed(web, session)
        [hexid] = wait_for(listed, 20, "the alert in the list",
                           interval=0.3)
        r, page = web.request("GET", f"/alert/{hexid}", cookies=session)
        assert "200 bytes" in page
        # No kind is chosen for the caseworker (a contact made meets a
        # legal deadline); the browser asks for one before it sends.
        radios = re.findall(r'<input type="radio" name="kind"[^>]*>', page)
        assert len(radios) == 3 and all(" required" in r for r in radios)
        assert not any(" checked" in r for r in radios), radios
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        refused = "Handlingen blev ikke gemt: "
        cases = [
            ({"kind": "contact", "how": ""},
             "Skriv hvordan (telefon, møde, hjemmebesøg, brev ...)."),
            ({"kind": "offer", "how": ""}, "Skriv hvad der blev tilbudt."),
            # Blanks alone say no more than nothing, and would count as a
            # contact made.
            ({"kind": "contact", "how": "   "},
             "Skriv hvordan (telefon, møde, hjemmebesøg, brev ...)."),
            ({"kind": "offer", "how": " \t\r\n"},
             "Skriv hvad der blev tilbudt."),
            ({"kind": "contact", "how": "telefon", "date": "9.5.2024"},
             "Datoen skal være dagen, det skete, skrevet ÅÅÅÅ-MM-DD "
             "(eller tom for i dag)."),
            ({"kind": "contact", "how": "telefon", "date": "2199-01-01"},
             "Datoen ligger i fremtiden: registrér handlingen, når den er "
             "gjort."),
            ({"kind": "unreachable", "how": "h" * 257},
             "Hvordan er for lang: højst 256 bytes (æ, ø og å tæller for "
             "2)."),
            ({"kind": "offer", "how": "praktik", "note": "æ" * 150},
             "Noten er for lang: højst 200 bytes (æ, ø og å tæller for "
             "2)."),
            ({"kind": "something", "how": "telefon"},
             "Vælg hvad der skete: kontakt opnået, tilbud givet eller "
             "kunne ikke træffes."),
            ({"how": "telefon"},
             "Vælg hvad der skete: kontakt opnået, tilbud givet eller "
             "kunne ikke træffes."),
        ]
        # The field the reason is about is marked invalid and points at
        # the reason, for a screen reader (WCAG 3.3.1).
        wrong_fields = ["how", "how", "how", "how", "date", "date", "how",
                        "action-note", None, None]
        for (fields, reason), wrong in zip(cases, wrong_fields):
            r, page = web.request("POST", f"/alert/{hexid}/action",
                                  dict(fields, csrf=csrf), cookies=session)
            assert r.status == 400, (fields, r.status)
            assert errors_of(page) == [refused + reason], (fields, page)
            marked = re.findall(r'<input id="([\w-]+)"[^>]* aria-invalid='
                                r'"true" aria-describedby="action-error"',
                                page)
            assert marked == ([wrong] if wrong else []), (fields, marked)
            assert '<div id="action-error"><p class="err" role="alert">' \
                in page
            # What was typed is still there to correct.
            for name in ("how", "date"):
                if fields.get(name):
                    assert f'name="{name}"' in page and \
                        f'value="{html.escape(fields[name])}"' in page, name
            if fields.get("note"):
                assert f'value="{fields["note"]}"' in page
            if fields.get("kind", "something") != "something":
                assert re.search(r'id="kind-%s" value="%s" checked'
                                 % (fields["kind"], fields["kind"]), page)
        # In English when the page is.
        r, page = web.request("POST", f"/alert/{hexid}/action",
                              {"csrf": csrf, "kind": "contact", "how": ""},
                              cookies=dict(session, ug_lang="en"))
        assert r.status == 400 and errors_of(page) == [
            "The action was not saved: Say how (phone, meeting, home "
            "visit, letter, ...)."], page
        # The page's language link ("?lang=en") is relative to the
        # form's address: it leads back to the alert, in English.
        assert '<a href="?lang=da" lang="da">Dansk</a>' in page
        for form in ("action", "ack"):
            r, _ = web.request("GET", f"/alert/{hexid}/{form}?lang=en",
                               cookies=session)
            assert r.status == 303 and \
                r.getheader("Location") == f"/alert/{hexid}", form
            assert "ug_lang=en" in r.getheader("Set-Cookie"), form
        r, page = web.request("GET", f"/alert/{hexid}",
                              cookies=dict(session, ug_lang="en"))
        assert r.status == 200 and "Record what you did" in page
        # Likewise a refused logout form's; a GET never logs out.
        r, _ = web.request("GET", "/logout?lang=en", cookies=session)
        assert r.status == 303 and r.getheader("Location") == "/alerts"
        assert web.request("GET", "/alerts", cookies=session)[0].status \
            == 200
        # Nothing was recorded; a right one is.
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           {"csrf": csrf, "kind": "contact",
                            "how": "telefon", "note": "æ" * 100},
                           cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == f"/alert/{hexid}?msg=saved"
    finally:
        web.stop()
    wait_for(lambda: "action" in hub.hubctl("audit", "show", "--actor",
                                            "cw-anna").stdout,
             10, "the action audited", interval=0.3)
    audit = hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    assert len(re.findall(r"action +ok", audit)) == 1, audit


def test_a_field_cut_by_a_nul_byte_or_not_utf8_is_refused_in_the_pages_language(
        make_hub):
    """OPERATIONS.md: an action the hub refuses is not saved, and the page
    gives the reason in its own language. A `how`, `date` or note with a
    NUL byte (%00) in it is refused (PROTOCOL.md, Action), not saved cut
    at the NUL as if what came before were all that was typed; one whose
    bytes are not UTF-8 is refused with a reason in Danish on a Danish
    page, the field marked. A CPR cut by a NUL byte opens no timeline."""
    hub, cpr = anna_with_a_person(make_hub, 7016)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-nul")
        refused = "Handlingen blev ikke gemt: "
        cases = [
            ({"how": "tele\0fon"}, "how",
             "Hvordan indeholder et tegn, der ikke kan gemmes (NUL)."),
            ({"how": "telefon", "note": "ok\0x"}, "action-note",
             "Noten indeholder et tegn, der ikke kan gemmes (NUL)."),
            ({"how": "telefon", "date": "2024-05-06\0"}, "date",
             "Datoen skal være dagen, det skete, skrevet ÅÅÅÅ-MM-DD "
             "(eller tom for i dag)."),
            ({"how": b"m\xf8de"}, "how",
             "Hvordan er ikke gyldig tekst (UTF-8)."),
            ({"how": "telefon", "note": b"\xe6bler"}, "action-note",
             "Noten er ikke gyldig tekst (UTF-8)."),
        ]
        for fields, wrong, reason in cases:
            r, page = web.request("POST", f"/alert/{hexid}/action",
                                  dict(fields, csrf=csrf, kind="contact"),
                                  cookies=session)
            assert r.status == 400, (fields, r.status)
            assert errors_of(page) == [refused + reason], (fields, page)
            assert re.findall(r'<input id="([\w-]+)"[^>]* aria-invalid=',
                              page) == [wrong], fields
        r, page = web.request("POST", f"/alert/{hexid}/action",
                              {"csrf": csrf, "kind": "contact",
                               "how": b"m\xf8de"},
                              cookies=dict(session, ug_lang="en"))
        assert r.status == 400 and errors_of(page) == [
            "The action was not saved: How is not valid text (UTF-8)."], \
            page
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr + "\0"},
                              cookies=session)
        assert r.status == 400 and "ol class=\"timeline\"" not in page, \
            page
        # An acknowledgement's note cut by one is not kept (PROTOCOL.md
        # §4a); the acknowledgement is.
        r, _ = web.request("POST", f"/alert/{hexid}/ack",
                           {"csrf": csrf, "note": "ringet\0 op"},
                           cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=acked"
    finally:
        web.stop()

    def audit():
        return hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    wait_for(lambda: re.search(r"ack +ok", audit()), 10,
             "the acknowledgement audited", interval=0.3)
    assert not re.search(r"action +ok", audit()), audit()
    assert "ringet" not in audit(), audit()


def test_the_timeline_takes_a_cpr_as_it_is_pasted(make_hub):
    """The timeline form takes a CPR in the forms the hub knows (10
    digits, or a dash or a blank after the sixth), with blanks around it
    as a paste leaves them; one it cannot take is refused 400 with what
    is wrong, in the page's language."""
    hub, cpr = anna_with_a_person(make_hub, 7005)
    web = Web(hub)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        for typed in (cpr, f"{cpr[:6]}-{cpr[6:]}", f"{cpr[:6]} {cpr[6:]}",
                      f" {cpr} ", f"{cpr}\r\n", f"\t{cpr[:6]}-{cpr[6:]} "):
            r, page = web.request("POST", "/timeline",
                                  {"csrf": csrf, "cpr": typed},
                                  cookies=session)
            assert r.status == 200 and not errors_of(page), (typed, page)
            assert "ol class=\"timeline\"" in page, typed
            assert "aria-invalid" not in page, typed
        cases = [
            ("", "Skriv et CPR-nummer."),
            (cpr[1:], "CPR-nummeret har 9 cifre: et regneark kan have "
                      "fjernet det første 0."),
            ("3213991234", "Det er ikke et CPR-nummer: de første seks cifre "
                           "er ikke en rigtig fødselsdato (DDMMÅÅ)."),
            ("12345", "Skriv et CPR-nummer med 10 cifre (DDMMÅÅSSSS, "
                      "DDMMÅÅ-SSSS eller DDMMÅÅ SSSS)."),
        ]
        for typed, error in cases:
            r, page = web.request("POST", "/timeline",
                                  {"csrf": csrf, "cpr": typed},
                                  cookies=session)
            assert r.status == 400 and errors_of(page) == [error], \
                (typed, page)
            # The field says it is wrong and where the reason is, for a
            # screen reader (WCAG 3.3.1).
            field = re.search(r'<input id="cpr"[^>]*>', page).group(0)
            assert 'aria-invalid="true"' in field and \
                'aria-describedby="cpr-error"' in field, field
            assert '<div id="cpr-error"><p class="err" role="alert">' + \
                html.escape(error, quote=False) in page
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr[1:]},
                              cookies=dict(session, ug_lang="en"))
        assert r.status == 400 and errors_of(page) == [
            "The CPR number has 9 digits: a spreadsheet may have dropped "
            "its leading 0."], page
    finally:
        web.stop()


def test_a_recorded_actions_own_words_are_not_marked_english(make_hub):
    """OPERATIONS.md: the hub's own texts are English, marked lang="en" on
    a Danish page. A recorded action's timeline summary is the hub's
    "contact made by cw-anna:" and then the caseworker's own words (how,
    note): only the hub's words are marked English, so a screen reader
    does not read a Danish note with an English voice."""
    hub = web_hub(make_hub)
    cpr = CprGen(7032).next()
    hub.absence_alerts("cw-anna", [cpr], "tl-lang")
    hub.wait_applied()
    web = Web(hub)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/alerts", cookies=session)
        alert = re.search(r'href="/alert/([0-9a-f]{18})"', page).group(1)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{alert}/action",
                           {"csrf": csrf, "kind": "contact",
                            "how": "telefon", "note": "aftalt møde"},
                           cookies=session)
        assert r.status == 303
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=session)
        assert r.status == 200
        assert ('<span class="summary"><span lang="en">contact made by '
                'cw-anna:</span> telefon — aftalt møde</span>') in page, page
        # Another entry, the hub's words alone, is English as a whole.
        assert '<span class="summary" lang="en">absence 12 of 30 lessons' \
            in page, page
        r, page = web.request("POST", "/timeline", {"csrf": csrf, "cpr": cpr},
                              cookies=dict(session, ug_lang="en"))
        assert ('<span class="summary">contact made by cw-anna: telefon — '
                'aftalt møde</span>') in page, page
    finally:
        web.stop()


def test_a_timeline_day_shows_its_events_before_its_alerts(make_hub):
    """OPERATIONS.md: a timeline is oldest day first; an entry has a day,
    not a time, so within one day the events (a recorded action among
    them) come before the alerts: the alert raised today stands below
    the action recorded on it afterwards."""
    hub, cpr = anna_with_a_person(make_hub, 7037)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-day")
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           {"csrf": csrf, "kind": "contact",
                            "how": "telefon"}, cookies=session)
        assert r.status == 303
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=session)
        items = re.findall(r'<li class="(t-\w+)"><span class="date">'
                           r'([\d-]+)</span>', page)
        days = [d for _, d in items]
        assert days == sorted(days), items
        today = days[-1]
        assert [k for k, d in items if d == today] == ["t-event", "t-alert"]
        assert "contact made by cw-anna:" in page
    finally:
        web.stop()


def timeline_records(hub):
    """The audit trail's `timeline` records."""
    out = hub.hubctl("audit", "show", "--json").stdout
    return [r for r in (json.loads(line) for line in out.splitlines()
                        if line.startswith("{"))
            if r["action"] == "timeline"]


def weekly_reports(hub, cpr, n=420):
    """n weekly absence reports of cpr from 2017 on, sent: a timeline of
    more entries than the hub gives in one answer (400). Returns the
    weeks, (first day, last day) each."""
    import datetime
    monday = datetime.date(2017, 1, 2)
    weeks = []
    for i in range(n):
        start = monday + datetime.timedelta(weeks=i)
        weeks.append((start.isoformat(),
                       (start + datetime.timedelta(days=4)).isoformat()))
    for chunk in range(0, len(weeks), 60):
        hub.send(*[envelope("school-a", cpr, salt=f"long-{s}",
                            period_start=s, period_end=e, absent=1,
                            expected=30)
                   for s, e in weeks[chunk:chunk + 60]])
    return weeks


def test_a_long_timeline_is_shown_to_its_newest_entry(make_hub):
    """A young person followed for years has more entries than the hub
    gives in one answer (400): the timeline page still shows all of them
    in date order, the newest included."""
    hub, cpr = anna_with_a_person(make_hub, 7006)
    weeks = weekly_reports(hub, cpr)
    web = Web(hub)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)

        def all_there():
            r, page = web.request("POST", "/timeline",
                                  {"csrf": csrf, "cpr": cpr},
                                  cookies=session)
            assert r.status == 200
            dates = re.findall(r'<span class="date">([0-9-]+)</span> '
                               r'<span class="badge">Fraværsindberetning',
                               page)
            return dates if len(dates) == 420 else None
        dates = wait_for(all_there, 20, "every report in the timeline",
                         interval=0.5)
        assert dates == [e for _, e in weeks]
        # SECURITY.md, the audit trail: one `timeline` record per answer,
        # and the 421 entries (its contact person too) are two answers.
        # hubd writes its audit records a moment after it answers: the
        # count of those above first, when it has stopped growing.

        def settled():
            n = len(timeline_records(hub))
            time.sleep(1)
            return n if n and n == len(timeline_records(hub)) else None
        before = wait_for(settled, 20, "the records so far")
        r, _ = web.request("POST", "/timeline", {"csrf": csrf, "cpr": cpr},
                           cookies=session)
        assert r.status == 200
        wait_for(lambda: len(timeline_records(hub)) >= before + 2, 10,
                 "two timeline records")
        time.sleep(1)
        assert len(timeline_records(hub)) == before + 2
    finally:
        web.stop()


def test_a_long_timeline_cut_by_the_query_allowance_says_to_reload(
        make_hub):
    """OPERATIONS.md: webd asks for a long timeline 400 entries at a time;
    a later page the hub refuses for `query_rate` / `query_burst` ends
    the list with "... Vent et øjeblik, og genindlæs siden for at se
    resten." (in English too), since a reload a moment later shows the
    whole timeline, as it does here."""
    hub, cpr, web = anna_at_one_query_a_second(make_hub, 7022)
    weekly_reports(hub, cpr)
    hub.wait_applied(timeout=60)
    d = chrome(hub, "chromium-timeline-limited")
    try:
        login(d, web, "cw-anna", PASSWORD)
        cut = {"da": "Ikke alle poster kunne vises: listen slutter her, "
               "fordi du har bedt om mange sider på kort tid. Vent et "
               "øjeblik, og genindlæs siden for at se resten.",
               "en": "Not every entry could be shown: the list ends here "
               "because you asked for many pages in a short time. Wait a "
               "moment and reload the page to see the rest."}
        for lang in ("da", "en"):
            d.get(web.base + "/timeline?lang=" + lang)
            d.find_element(By.ID, "cpr").send_keys(cpr)
            time.sleep(3.5)     # the allowance whole again: 3 at once
            # Two of the three spent just before: the first 400 entries
            # take the last, and the page after them is refused.
            d.execute_script(
                "for (let i = 0; i < 2; i++) { const q = new "
                "XMLHttpRequest(); q.open('GET', '/alerts/list', false); "
                "q.send(); }")
            submit(d, "show-timeline")
            errors = [e.text for e in
                      d.find_elements(By.CSS_SELECTOR, "p.err")]
            shown = d.find_elements(By.CSS_SELECTOR, "ol.timeline li")
            assert (errors, len(shown)) == ([cut[lang]], 400), \
                (errors, len(shown))
        time.sleep(3.5)
        submit(d, "show-timeline")      # the form keeps the CPR
        assert d.find_elements(By.CSS_SELECTOR, "p.err") == []
        assert len(d.find_elements(By.CSS_SELECTOR,
                                   "ol.timeline li")) == 421
    finally:
        d.quit()
        web.stop()


def test_a_timeline_past_the_5000_the_hub_orders_says_so(make_hub):
    """OPERATIONS.md: a timeline is shown whole up to the 5,000 entries
    the hub orders per person. A person with more gets those 5,000 and
    a line saying that there are more and that the newest may be among
    those left out, not a page that looks whole."""
    hub, cpr = anna_with_a_person(make_hub, 7019)
    for i in range(0, 5001, 500):
        hub.send(*[envelope("school-a", cpr, salt=f"web-tl-{i + j}",
                            absent=1, expected=30)
                   for j in range(min(500, 5001 - i))])
    hub.wait_applied(timeout=120)
    web = Web(hub)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=session)
        assert r.status == 200 and page.count('<li class="t-') == 5000
        assert errors_of(page) == [
            "Tidslinjen har flere end 5.000 poster: kun 5.000 kan vises, "
            "og de nyeste kan mangle."], errors_of(page)
    finally:
        web.stop()


def anna_at_one_query_a_second(make_hub, seed):
    """A hub allowing cw-anna 1 query and 1 action a second, 3 at once,
    one person of hers, and a webd: (hub, cpr, web)."""
    hub = web_hub(make_hub, settings={"query_rate": "1",
                                      "query_burst": "3"})
    cpr = CprGen(seed).next()
    hub.assign(cpr, "cw-anna")
    return hub, cpr, Web(hub)


def test_asking_more_than_query_rate_is_told_as_such(make_hub):
    """The hub refuses a caseworker's queries beyond `query_rate` and
    `query_burst` (PROTOCOL.md, "Limits"): it answers, so the page does
    not say the hub does not answer (503) but 429 "Du har bedt om mange
    sider på kort tid. ...", the list, an alert's page and a timeline
    alike; a moment later the pages are there again."""
    hub, cpr, web = anna_at_one_query_a_second(make_hub, 7020)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        statuses = [web.request("GET", "/alerts", cookies=session)[0].status
                    for _ in range(4)]
        assert statuses[-1] == 429, statuses
        too_fast = ["Du har bedt om mange sider på kort tid. Vent et "
                    "øjeblik, og prøv igen."]
        for method, path, form in (("GET", "/alerts", None),
                                   ("GET", "/alert/" + "0" * 18, None),
                                   ("POST", "/timeline",
                                    {"csrf": csrf, "cpr": cpr})):
            r, page = web.request(method, path, form, cookies=session)
            assert r.status == 429 and errors_of(page) == too_fast, \
                (path, r.status, page)
        assert web.request("GET", "/alerts/list",
                           cookies=session)[0].status == 429
        wait_for(lambda: web.request("GET", "/alerts", cookies=session)[0]
                 .status == 200, 10, "the list again", interval=0.5)
    finally:
        web.stop()


def test_saving_more_actions_than_allowed_is_told_as_such(make_hub):
    """OPERATIONS.md: an action beyond the caseworker's allowance for
    actions (query_rate / query_burst, its own beside the queries') is
    `429` "Du har gemt mange handlinger på kort tid. ...", not the `503`
    of a hub that cannot store it; nothing of it is saved."""
    hub, cpr, web = anna_at_one_query_a_second(make_hub, 7021)
    try:
        session = anna_session(web)
        hub.send(envelope("school-a", cpr, salt="web-too-many",
                          period_start="2024-05-06", period_end="2024-05-10",
                          absent=12, expected=30))
        [hexid] = wait_for(lambda: alerts_listed(web, session), 20,
                           "the alert in the list", interval=0.5)
        r, page = web.request("GET", f"/alert/{hexid}", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        statuses = []
        for i in range(4):
            r, page = web.request("POST", f"/alert/{hexid}/action",
                                  {"csrf": csrf, "kind": "contact",
                                   "how": f"telefon {i}"}, cookies=session)
            statuses.append(r.status)
        assert statuses == [303, 303, 303, 429], statuses
        assert errors_of(page) == [
            "Handlingen blev ikke gemt: Du har gemt mange handlinger på "
            "kort tid. Vent et øjeblik, og prøv igen."], page
        def audited():
            audit = [json.loads(ln) for ln in hub.hubctl(
                "audit", "show", "--json").stdout.splitlines()]
            return [(r["action"], r["result"]) for r in audit
                    if r["action"].startswith("action")]
        wait_for(lambda: len(audited()) == 4, 10, "the actions audited")
        assert audited() == [("action", "ok")] * 3 + [
            ("action refused", "rate-limited")]
    finally:
        web.stop()


def test_what_the_hub_did_not_answer_is_not_done_later(make_hub):
    """A request webd could not get to hubd (hubd down) is answered 503
    "Hubben svarer ikke lige nu." and then forgotten: when hubd is back,
    a login the caseworker was told failed does not open a session and an
    action they were told was not saved is not recorded after all."""
    hub, cpr = anna_with_a_person(make_hub, 7007)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-down")
        r, page = web.request("GET", "/login")
        pre = re.search(r"ug_pre=([0-9a-f]+)", r.getheader("Set-Cookie"))
        login_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                               page).group(1)
        hub.stop()
        r, page = web.request("POST", f"/alert/{hexid}/action",
                              {"csrf": csrf, "kind": "contact",
                               "how": "telefon"}, cookies=session)
        assert r.status == 503 and \
            "Hubben svarer ikke lige nu. Prøv igen om lidt." in page
        r, page = web.request("POST", "/login",
                              {"csrf": login_csrf, "caseworker": "cw-anna",
                               "password": PASSWORD},
                              cookies={"ug_pre": pre.group(1)})
        # Said on the login page, with its form to try again.
        assert r.status == 503 and errors_of(page) == [
            "Hubben svarer ikke lige nu. Prøv igen om lidt."], page
        assert 'id="password"' in page and 'id="caseworker"' in page
        hub.start()
        # Back: the session it ended asks for a new login, which works.
        wait_for(lambda: web.raw_login("cw-anna", PASSWORD)[0].status ==
                 303, 20, "logins again", interval=0.5)
        hub.settle()
    finally:
        web.stop()

    def audit():
        return hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    # Two logins, before hubd stopped and after it came back (audit
    # records are written once a tick); no third, no action.
    wait_for(lambda: len(re.findall(r"login +ok", audit())) >= 2, 10,
             "the second login audited", interval=0.3)
    hub.settle()
    assert len(re.findall(r"login +ok", audit())) == 2, audit()
    assert not re.search(r"action +ok", audit()), audit()


def test_an_action_the_hub_does_not_answer_keeps_what_was_typed(make_hub):
    """OPERATIONS.md: an action that is not saved brings the page back
    with "Handlingen blev ikke gemt:" and the reason above the form, which
    still holds what was typed -- also when hubd does not answer (a
    restart of hubd while the caseworker typed a note): 503 "Hubben
    svarer ikke lige nu. Prøv igen om lidt.", the form as it was sent, to
    save again once the hub is back."""
    hub, cpr = anna_with_a_person(make_hub, 7034)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-typed")
        typed = {"kind": "offer", "how": "praktik hos smed",
                 "date": "2024-05-13", "note": "mødtes på skolen"}
        hub.stop()
        r, page = web.request("POST", f"/alert/{hexid}/action",
                              dict(typed, csrf=csrf), cookies=session)
        assert r.status == 503 and errors_of(page) == [
            "Handlingen blev ikke gemt: Hubben svarer ikke lige nu. Prøv "
            "igen om lidt."], page
        assert f'action="/alert/{hexid}/action"' in page
        for name in ("how", "date", "note"):
            assert f'name="{name}"' in page and \
                f'value="{html.escape(typed[name])}"' in page, name
        assert 'id="kind-offer" value="offer" checked' in page
        assert page.count("<h1") == 1
    finally:
        web.stop()


def test_a_store_that_cannot_be_read_ends_no_session(make_hub):
    """PROTOCOL.md §4 "Limits" and §4a, OPERATIONS.md (the web inbox):
    a store that cannot be read is answered E_UNAVAILABLE, never taken
    for an answer. While hubd cannot read log/ (no reader slot left)
    it cannot check the web session either; that is no revocation: the
    caseworker stays logged in, and nothing says `logout revoked`. The
    list is 503 "Hubbens data kan ikke læses lige nu. ...", an action 503
    "Hubben kan ikke gemme handlingen lige nu. Prøv igen om lidt." above
    the form as typed, an acknowledgement 503 "not stored, acknowledge
    again"; once the store reads again, all of it goes through."""
    from test_60_store_at_rest import readers_taken
    hub, cpr = anna_with_a_person(make_hub, 7035)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-unread")
        typed = {"kind": "offer", "how": "praktik hos smed",
                 "date": "2024-05-13", "note": "mødtes på skolen"}
        with readers_taken(hub.data_dir / "log"):
            r, page = web.request("GET", "/alerts", cookies=session)
            assert r.status == 503 and errors_of(page) == [
                "Hubbens data kan ikke læses lige nu. Kontakt driften "
                "(IT-support) og sig, hvilken side det drejer sig om; det "
                "hjælper ikke at prøve igen."], (r.status, page)
            r, page = web.request("POST", f"/alert/{hexid}/action",
                                  dict(typed, csrf=csrf), cookies=session)
            assert r.status == 503 and errors_of(page) == [
                "Handlingen blev ikke gemt: Hubben kan ikke gemme "
                "handlingen lige nu. Prøv igen om lidt."], (r.status, page)
            for name in ("how", "date", "note"):
                assert f'value="{html.escape(typed[name])}"' in page, name
            r, page = web.request("POST", f"/alert/{hexid}/ack",
                                  {"csrf": csrf}, cookies=session)
            assert r.status == 503 and "Kvitteringen blev ikke gemt" in \
                html.unescape(page), (r.status, page)
        hub.wait_log(r"hubd warn HUB-WEB web session of cw-anna not "
                     r"checked: the store cannot be read; answered "
                     r"E_UNAVAILABLE")
        assert "web session of cw-anna ended" not in hub.log_text()
        r, page = web.request("GET", "/alerts", cookies=session)
        assert r.status == 200 and hexid in page, (r.status, page)
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           dict(typed, csrf=csrf), cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == f"/alert/{hexid}?msg=saved"
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=session)
        assert r.getheader("Location") == "/alerts?msg=acked"
    finally:
        web.stop()
    shown = hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    assert not re.search(r"logout +revoked", shown), shown
    assert len(re.findall(r"action +ok", shown)) == 1, shown


def test_a_login_the_hub_cannot_check_is_no_failed_login(make_hub):
    """PROTOCOL.md §4a, Login: "wrong caseworker or password" is for an
    id or a password that is wrong, and five such failures lock the id.
    A login the hub cannot check because it cannot read its store (log/
    without a free reader slot) is neither: 503 "Hubbens data kan ikke
    læses lige nu. ...", not counted, not audited, so the right password
    logs in at once when the store reads again -- also for the gateway's
    own key read again after a registration changed."""
    from test_60_store_at_rest import readers_taken
    hub = web_hub(make_hub)
    web = Web(hub)

    def login():
        r, page = web.request("GET", "/login")
        pre = re.search(r"ug_pre=([0-9a-f]+)", r.getheader("Set-Cookie"))
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        return web.request("POST", "/login",
                           {"csrf": csrf, "caseworker": "cw-anna",
                            "password": PASSWORD},
                           cookies={"ug_pre": pre.group(1)})
    unreadable = ["Hubbens data kan ikke læses lige nu. Kontakt driften "
                  "(IT-support) og sig, hvilken side det drejer sig om; "
                  "det hjælper ikke at prøve igen."]
    try:
        r, _ = login()
        assert r.status == 303, r.status
        with readers_taken(hub.data_dir / "log"):
            for _ in range(6):
                r, page = login()
                assert r.status == 503 and errors_of(page) == unreadable, \
                    (r.status, errors_of(page))
        hub.wait_log(r"hubd warn HUB-WEB login through gateway web-1 not "
                     r"checked: the store cannot be read; answered "
                     r"E_UNAVAILABLE")
        r, _ = login()
        assert r.status == 303 and r.getheader("Location") == "/alerts", \
            r.status
        seen = hub.log_text().count("HUB-ZAP registrations changed")
        hub.keygen("cw-new")
        hub.register_caseworker("cw-new")
        hub.wait_log(r"HUB-ZAP registrations changed", count=seen + 1)
        with readers_taken(hub.data_dir / "log"):
            r, page = login()
            assert r.status == 503 and errors_of(page) == unreadable, \
                (r.status, errors_of(page))
        hub.wait_log(r"hubd warn HUB-DELIVER frame from web-1 not checked: "
                     r"the store cannot be read; answered E_UNAVAILABLE")
        r, _ = login()
        assert r.status == 303, r.status
    finally:
        web.stop()
    def shown():
        return hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    wait_for(lambda: len(re.findall(r"login +ok", shown())) == 3, 10,
             "the three logins audited", interval=0.3)
    assert not re.search(r"login +(denied|locked)", shown()), shown()
    assert "revoked" not in hub.log_text()


def test_an_ack_the_hub_does_not_answer_offers_to_acknowledge_again(
        make_hub):
    """OPERATIONS.md: an acknowledgement that is not stored is one the
    caseworker gives again. When hubd does not answer, the 503 page
    ("Hubben svarer ikke lige nu. Prøv igen om lidt.") has the
    acknowledgement form, the note as typed, to do so from."""
    hub, cpr = anna_with_a_person(make_hub, 7038)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-ack-down")
        hub.stop()
        r, page = web.request("POST", f"/alert/{hexid}/ack",
                              {"csrf": csrf, "note": "set på skolen"},
                              cookies=session)
        assert r.status == 503 and errors_of(page) == [
            "Hubben svarer ikke lige nu. Prøv igen om lidt."], page
        assert f'action="/alert/{hexid}/ack"' in page
        assert re.search(r'<input id="ack-note" name="note"[^>]* value="'
                         + html.escape("set på skolen") + '"', page), page
        assert page.count("<h1") == 1
    finally:
        web.stop()


def refused_for_good(page, hexid):
    """OPERATIONS.md: an action the hub refused as not the caseworker's
    (403) comes back without the action form and without "Har du
    kvitteret for den, kan du stadig registrere ...": saved again, it
    would only be refused again."""
    assert f'action="/alert/{hexid}/action"' not in page, page
    assert 'name="how"' not in page and "kan du stadig registrere" \
        not in page, page
    assert "Advarslen er ikke åben for dig" in page, page


def test_refusals_say_the_words_operations_md_quotes(make_hub):
    """OPERATIONS.md quotes each refusal's Danish text whole: another
    caseworker's person (403), an action on an alert not addressed to the
    caseworker (403), and hubd not answering (503)."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False})
    cpr, other = CprGen(7035).take(2)
    hub.assign(cpr, "cw-anna")
    hub.assign(other, "cw-bo")
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-words")
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": other}, cookies=session)
        assert r.status == 403 and errors_of(page) == [
            "Denne person er ikke tildelt dig eller dit team. Du kan ikke "
            "se tidslinjen."], page
        r, page = web.request("POST", "/alert/000000000000ffffff/action",
                              {"csrf": csrf, "kind": "contact",
                               "how": "telefon"}, cookies=session)
        assert r.status == 403 and errors_of(page)[0] == \
            "Handlingen blev ikke gemt: Advarslen er ikke stilet til dig " \
            "eller dit team.", page
        refused_for_good(page, "000000000000ffffff")
        # A POST to a page that takes none is as an unknown page.
        for path in ("/alerts", "/alerts/list", "/events", "/",
                     f"/alert/{hexid}"):
            r, page = web.request("POST", path, {"csrf": csrf},
                                  cookies=session)
            assert r.status == 404 and errors_of(page) == [
                "Siden findes ikke."], (path, page)
        hub.stop()
        for path in ("/alerts", f"/alert/{hexid}"):
            r, page = web.request("GET", path, cookies=session)
            assert r.status == 503 and errors_of(page) == [
                "Hubben svarer ikke lige nu. Prøv igen om lidt."], page
    finally:
        web.stop()


def test_what_the_hub_answers_too_late_may_be_done(make_hub):
    """OPERATIONS.md: a request hubd received but answers only after
    hub_timeout (a busy hub; here a stopped process) is 503 "Hubben svarer
    ikke lige nu." all the same, and done when hubd gets to it: the action
    saved again after that is stored once, not twice."""
    hub, cpr = anna_with_a_person(make_hub, 7033)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-slow")
        action = {"csrf": csrf, "kind": "contact", "how": "telefon"}
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            r, page = web.request("POST", f"/alert/{hexid}/action", action,
                                  cookies=session)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        assert r.status == 503 and \
            "Hubben svarer ikke lige nu. Prøv igen om lidt." in page
        hub.settle()

        def recorded():
            page = web.request("POST", "/timeline", {"csrf": csrf, "cpr": cpr},
                               cookies=session)[1]
            return page.count("contact made by cw-anna:")
        assert recorded() == 1     # told 503, yet stored
        r, _ = web.request("POST", f"/alert/{hexid}/action", action,
                           cookies=session)
        assert r.status == 303
        assert recorded() == 1
    finally:
        web.stop()


def test_an_ack_the_hub_cannot_store_now_says_whether_it_is_kept(
        make_hub):
    """PROTOCOL.md §4a: with the store full (log_map_mb = 1) the hub keeps
    an acknowledgement it cannot store yet, and the list then says it is
    received and stored as soon as the hub can (not "acknowledged"); once
    1,024 wait, one more is not kept, and the page says it was not stored
    and to acknowledge again (503)."""
    from test_53_delivery import until_refused
    hub = web_hub(make_hub, settings={"log_map_mb": "1"})
    cprs = CprGen(7009).take(20)
    hub.absence_alerts("cw-anna", cprs, "web-full", absent=30, expected=100)
    hexids = [a["alert_id"] for a in hub.peek("cw-anna", 20)]
    web = Web(hub)
    try:
        session = anna_session(web)
        page = web.request("GET", "/alerts", cookies=session)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        until_refused(hub, "web-full")
        until_refused(hub, "web-full-1", step=1)

        def ack(hexid):
            return web.request("POST", f"/alert/{hexid}/ack",
                               {"csrf": csrf}, cookies=session)
        # The few pages the refused events left may take an ack or two.
        for hexid in hexids:
            r, page = ack(hexid)
            if r.getheader("Location") != "/alerts?msg=acked":
                break
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=ack-kept", (r.status,
                                                               page)
        r, page = web.request("GET", "/alerts?msg=ack-kept",
                              cookies=session)
        assert notices_of(page) == [
            "Kvitteringen er modtaget og gemmes, så snart hubben kan. "
            "Advarslen kan stå som åben så længe."], page
        for _ in range(1023):
            r, _ = ack(hexid)
            assert r.getheader("Location") == "/alerts?msg=ack-kept"
        r, page = ack(hexid)
        assert r.status == 503, page
        assert "Kvitteringen blev ikke gemt: hubben kan ikke gemme den " \
            "lige nu. Kvittér igen om lidt." in html.unescape(page), page
    finally:
        web.stop()


def test_what_a_web_session_does_is_audited_with_the_gateways_key(
        make_hub):
    """SECURITY.md "Audit trail": each record names the key the connection
    authenticated with. Through webd that is the gateway's key, whose
    connection carried the request, never the caseworker's own (which
    may sit on a machine that took no part): the reads, the action and
    the acknowledgement of a web session name web-1's key, as its login
    and logout do, and `audit show --key` finds them under it."""
    hub, cpr = anna_with_a_person(make_hub, 7009)
    gateway = read_key_file(hub.keys_dir / "web-1.key")["public"]
    own = read_key_file(hub.keys_dir / "cw-anna.key")["public"]
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-key")
        r, _ = web.request("POST", "/timeline", {"csrf": csrf, "cpr": cpr},
                           cookies=session)
        assert r.status == 200
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           {"csrf": csrf, "kind": "contact",
                            "how": "telefon"}, cookies=session)
        assert r.status == 303
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303
        r, _ = web.request("POST", "/logout", {"csrf": csrf},
                           cookies=session)
    finally:
        web.stop()

    def records():
        out = hub.hubctl("audit", "show", "--json", "--actor",
                         "cw-anna").stdout
        return [json.loads(ln) for ln in out.splitlines()]
    # Reads are written once a second.
    wait_for(lambda: {"list", "listed", "timeline", "action", "ack",
                      "login", "logout"} <= {r["action"] for r in records()},
             10, "the session's records", interval=0.3)
    recs = records()
    assert {r["key"] for r in recs} == {gateway}, \
        [(r["action"], r["key"]) for r in recs if r["key"] != gateway]
    by_key = hub.hubctl("audit", "show", "--json", "--key",
                        gateway[:10]).stdout
    assert {json.loads(ln)["action"] for ln in by_key.splitlines()} >= \
        {"list", "timeline", "action", "ack"}, by_key
    assert own not in hub.hubctl("audit", "show", "--json").stdout


def test_an_alert_page_records_only_the_alert_it_shows(make_hub):
    """SECURITY.md "Audit trail": `listed` is recorded for each alert a
    list returned, so that a person's export shows who was shown their
    alerts. An alert's page shows one alert: its one `list` record (the
    alert id asked for as its detail, no person) is followed by `listed`
    for that alert alone, never for the other open alerts the hub passed
    to find it; a page of an alert not open shows none, and records no
    `listed`."""
    hub = web_hub(make_hub)
    cprs = CprGen(7014).take(3)
    for cpr in cprs:
        hub.assign(cpr, "cw-anna")
    web = Web(hub)
    try:
        session = anna_session(web)
        hub.send(*[envelope("school-a", cpr, salt=f"one-{i}",
                            period_start="2024-05-06",
                            period_end="2024-05-10", absent=12, expected=30)
                   for i, cpr in enumerate(cprs)])
        listed = wait_for(lambda: (lambda ids: ids if len(ids) == 3
                                   else None)(alerts_listed(web, session)),
                          20, "three alerts in the list", interval=0.3)

        def records():
            out = hub.hubctl("audit", "show", "--json", "--actor",
                             "cw-anna").stdout
            return [json.loads(ln) for ln in out.splitlines()
                    if json.loads(ln)["action"] in ("list", "listed")]
        time.sleep(1.5)               # reads are written once a second
        before = len(records())
        shown = listed[-1]            # the last: every other one before it
        r, page = web.request("GET", f"/alert/{shown}", cookies=session)
        assert r.status == 200
        wait_for(lambda: len(records()) >= before + 2, 10,
                 "the page audited", interval=0.3)
        r, page = web.request("GET", "/alert/" + "0" * 18, cookies=session)
        assert r.status == 404
        wait_for(lambda: len(records()) >= before + 3, 10,
                 "the 404 page audited", interval=0.3)
        time.sleep(1.5)               # reads are written once a second
        recs = records()[before:]
        assert [(r["action"], r["result"], r["detail"], bool(r["person"]))
                for r in recs] == [("list", "ok", shown, False),
                                   ("listed", "ok", shown, True),
                                   ("list", "ok", "0" * 18, False)], recs
    finally:
        web.stop()


def test_an_action_is_recorded_after_the_alert_is_acknowledged(make_hub):
    """Acknowledging says only "I have seen it"; what was done is often
    recorded days later. An acknowledged alert leaves the open list, but
    the young person's timeline links to it, and its page still takes an
    action (PROTOCOL.md: an Action answers an alert open or
    acknowledged)."""
    hub, cpr = anna_with_a_person(make_hub, 7008)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "web-later")
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303 and r.getheader("Location") == \
            "/alerts?msg=acked"
        assert not alerts_listed(web, session)
        r, page = web.request("POST", "/timeline", {"csrf": csrf,
                                                    "cpr": cpr},
                              cookies=session)
        assert f'href="/alert/{hexid}"' in page, page
        r, page = web.request("GET", f"/alert/{hexid}", cookies=session)
        assert "ikke åben for dig" in page
        assert 'id="save-action"' in page
        action_without_ack(web, hexid, page, csrf, session, "hjemmebesøg")
        r, page = web.request("GET", f"/alert/{hexid}?msg=saved",
                              cookies=session)
        assert "Handlingen er gemt." in notices_of(page)
        # Someone else's alert id: the form is there, the hub refuses.
        r, page = web.request("POST", "/alert/" + "0" * 18 + "/action",
                              {"csrf": csrf, "kind": "contact",
                               "how": "telefon"}, cookies=session)
        assert r.status == 403 and \
            "Handlingen blev ikke gemt: Advarslen er ikke stilet til dig " \
            "eller dit team." in errors_of(page), page
    finally:
        web.stop()
    wait_for(lambda: re.search(r"action +ok", hub.hubctl(
        "audit", "show", "--actor", "cw-anna").stdout), 10,
        "the action audited", interval=0.3)



def test_two_desk_members_acknowledge_the_same_alert(make_hub):
    """RULES.md §7: any desk member can take a desk alert; both see it.
    OPERATIONS.md: an alert that is not open for the caseworker is 404,
    and its page still offers the action form. A desk member who submits
    an acknowledgement after a colleague's gets that page, not a refusal,
    and can still record what they did."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True,
                                         "desk-eva": True})
    set_password(hub, "desk-dora", PASSWORD)
    set_password(hub, "desk-eva", PASSWORD)
    web = Web(hub)
    try:
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        eva = {"ug_session":
               session_cookie(web.raw_login("desk-eva", PASSWORD)[1])}
        # No contact person: the desk's alert, in both members' lists.
        cpr = CprGen(7011).next()
        hexid, dora_csrf = open_new_alert(hub, web, dora, cpr, "two-desk")
        assert alerts_listed(web, eva) == [hexid]
        r, page = web.request("GET", f"/alert/{hexid}", cookies=eva)
        assert r.status == 200 and f'action="/alert/{hexid}/ack"' in page
        eva_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                             page).group(1)
        r, _ = web.request("POST", f"/alert/{hexid}/ack",
                           {"csrf": dora_csrf}, cookies=dora)
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=acked"
        assert alerts_listed(web, eva) == []
        # Eva's page was still open: her acknowledgement comes second,
        # and its note is kept nowhere (Dora's acknowledgement stands).
        r, page = web.request("POST", f"/alert/{hexid}/ack",
                              {"csrf": eva_csrf, "note": "ringede"},
                              cookies=eva)
        assert r.status == 404, (r.status, page)
        assert "Advarslen er ikke åben for dig (den er kvitteret, eller " \
            "den er ikke din)." in errors_of(page), page
        assert "ringede" not in page
        assert re.findall(r"HUB-ALERT-ACK .*", hub.log_text()) == [
            f"HUB-ALERT-ACK alert {hexid} acknowledged by desk-dora"]
        assert 'href="/alerts"' in page
        action_without_ack(web, hexid, page, eva_csrf, eva, "telefon")
        # The same in English.
        r, page = web.request("POST", f"/alert/{hexid}/ack?lang=en",
                              {"csrf": eva_csrf}, cookies=eva)
        assert r.status == 404 and 'lang="en"' in page, page
    finally:
        web.stop()


def desk_web_hub(make_hub):
    """web_hub with every rule's agency, cw-anna and desk member
    desk-dora, on Monday 2026-09-07 08:00."""
    return web_hub(make_hub, agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "desk-dora": True},
                   clock="2026-09-07T08:00:00")


def referred_with_consent(hub, seed):
    """cw-anna's person, referred to the addiction centre on 2026-09-07
    with consent to share: one addiction alert for her. The cpr."""
    cpr = CprGen(seed).born("2003-04-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    return cpr


def test_a_health_notice_at_the_desk_names_nobody_and_takes_no_action(
        make_hub):
    """RULES.md §8: a health alert's escalation notice carries no CPR and
    none of the alert's content; SECURITY.md: it opens no timeline, and
    PROTOCOL.md: an action on it is refused, as it names nobody. Its page
    at the desk shows no person, no timeline button and no form to
    record what was done, only the acknowledgement, which closes it."""
    hub = desk_web_hub(make_hub)
    set_password(hub, "desk-dora", PASSWORD)
    web = Web(hub)
    try:
        cpr = referred_with_consent(hub, 7012)
        hub.advance("2026-09-10T09:00:00")   # HIGH: 24 office hours
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        [hexid] = wait_for(lambda: alerts_listed(web, dora), 20,
                           "the notice at the desk", interval=0.3)
        r, page = web.request("GET", f"/alert/{hexid}", cookies=dora)
        assert r.status == 200
        assert "An alert you may not read is overdue with cw-anna" in page
        assert cpr not in page and cpr[:6] not in page
        assert 'name="cpr"' not in page      # no timeline button
        assert "/action" not in page and 'id="save-action"' not in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=dora)
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=acked"
        assert alerts_listed(web, dora) == []
        # Acknowledged, it is not open: 404, and still no form for an
        # action the hub would refuse.
        assert_no_action_once_acknowledged(web, hexid, dora)
    finally:
        web.stop()


def assert_no_action_once_acknowledged(web, hexid, session):
    """OPERATIONS.md: an alert not open for the caseworker is 404, and a
    notice that names no person has no form to record what was done."""
    for lang, said in (("", "ikke åben for dig"), ("?lang=en", "not open")):
        r, page = web.request("GET", f"/alert/{hexid}{lang}",
                              cookies=session)
        assert r.status == 404 and \
            any(said in e for e in errors_of(page)), page
        assert "/action" not in page and 'id="save-action"' not in page
        assert "Har du kvitteret for den" not in page and \
            "If you have acknowledged it" not in page, page


def test_an_addiction_alert_withdrawn_between_list_and_page(make_hub):
    """RULES.md §4: consent is judged at every disclosure. The contact
    person's list shows the addiction alert; the youth withdraws the
    consent before she opens it: its page is 404 like any alert no
    longer open for her, and the `withdrawn` notice that takes its place
    names nobody (RULES.md §3): no CPR, no evidence, no timeline button,
    no form to record what was done -- only the acknowledgement."""
    hub = desk_web_hub(make_hub)
    web = Web(hub)
    try:
        cpr = referred_with_consent(hub, 7013)
        anna = anna_session(web)
        [alert] = wait_for(lambda: alerts_listed(web, anna), 20,
                           "the addiction alert", interval=0.3)
        hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_STARTED",
                             consent={"given": False}))
        assert hub.wait_applied()["alerts"] == 2
        r, page = web.request("GET", f"/alert/{alert}", cookies=anna)
        assert r.status == 404, r.status
        [notice] = alerts_listed(web, anna)
        r, page = web.request("GET", f"/alert/{notice}", cookies=anna)
        assert r.status == 200
        assert f"Withdrawn: alert {alert} (addiction)" in page
        assert cpr not in page and cpr[:6] not in page
        assert "2026-09-08" not in page          # the centre's statement
        assert 'name="cpr"' not in page      # no timeline button
        assert "/action" not in page and 'id="save-action"' not in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{notice}/ack", {"csrf": csrf},
                           cookies=anna)
        assert r.status == 303
        assert alerts_listed(web, anna) == []
        assert_no_action_once_acknowledged(web, notice, anna)
    finally:
        web.stop()


def missed_treatment_at_the_desk(hub, seed):
    """A referral with consent to share treatment stages on 2026-09-07
    and no treatment started: on 09-23 the missed start goes to the desk
    (RULES.md §4). The person's CPR."""
    cpr = CprGen(seed).born("2004-05-06")
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "scope": "stage"}))
    hub.wait_applied()
    hub.advance("2026-09-23T09:00:00")
    hub.wait_log(r"HUB-ALERT alert \S+ \(deadline.treatment.missed\) "
                 r"raised for duty-desk")
    return cpr


def test_a_desk_members_timeline_shows_the_desks_open_health_alert(
        make_hub):
    """PROTOCOL.md §4: a health alert appears in a timeline only to the
    caseworker it is addressed to, while it is open; the missed treatment
    start goes to the desk (RULES.md §4), so a desk member who opens the
    person's timeline from it finds it there, linked to its page, until
    it is acknowledged."""
    hub = desk_web_hub(make_hub)
    set_password(hub, "desk-dora", PASSWORD)
    web = Web(hub)
    try:
        cpr = missed_treatment_at_the_desk(hub, 7013)
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        [hexid] = wait_for(lambda: alerts_listed(web, dora), 20,
                           "the missed start at the desk", interval=0.3)
        r, page = web.request("GET", f"/alert/{hexid}", cookies=dora)
        assert r.status == 200 and 'name="cpr"' in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline", {"csrf": csrf,
                                                    "cpr": cpr},
                              cookies=dora)
        assert r.status == 200
        assert f'href="/alert/{hexid}"' in page, page
        assert "Legal deadline missed: the duty to start treatment" in page
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=dora)
        assert r.status == 303
        # Acknowledged, it no longer opens the timeline: the person has
        # no contact person, but the hub knows them only by a referral,
        # which no timeline shows (SECURITY.md, "Need to know").
        r, page = web.request("POST", "/timeline", {"csrf": csrf,
                                                    "cpr": cpr},
                              cookies=dora)
        assert r.status == 403 and f'href="/alert/{hexid}"' not in page
    finally:
        web.stop()


def test_the_list_shows_50_alerts_a_page(make_hub):
    """OPERATIONS.md: a page of the open list shows 50 alerts, most
    urgent first and newest first within a priority, with "Flere
    advarsler" ("More alerts") to the next 50 while there are more (a
    `from` that is no whole number from 0 to 5,000 shows the first). A
    later page whose alerts were acknowledged meanwhile does not say the
    caseworker has none (the first page has 50): it says there are no
    more, with the way back to the first."""
    hub = web_hub(make_hub)
    cprs = CprGen(7017).take(51)
    hub.absence_alerts("cw-anna", cprs, "web-page")
    hub.wait_applied()
    web = Web(hub)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/alerts", cookies=session)
        first = re.findall(r'href="/alert/([0-9a-f]{18})"', page)
        assert len(first) == 50 and first == sorted(first, reverse=True)
        assert '<a href="/alerts?from=50">Flere advarsler</a>' in page
        # A `from` that is no whole number from 0 to 5,000: the first page.
        for bad in ("50abc", "1e3", "-1", "5001", "%2050", ""):
            r, page = web.request("GET", f"/alerts?from={bad}",
                                  cookies=session)
            assert re.findall(r'href="/alert/([0-9a-f]{18})"', page) == \
                first, bad
            assert '<a href="/alerts?from=50">Flere advarsler</a>' in page
        r, page = web.request("GET", "/alerts?from=50&lang=en",
                              cookies=session)
        # The language link stays on this page of the list.
        assert '<a href="?from=50&amp;lang=da" lang="da">Dansk</a>' in page
        [last] = re.findall(r'href="/alert/([0-9a-f]{18})"', page)
        assert last < first[-1] and "More alerts" not in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{last}/ack", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303
        for path in ("/alerts?from=50&lang=da", "/alerts/list?from=50"):
            r, page = web.request("GET", path, cookies=session)
            assert r.status == 200 and notices_of(page) == [
                "Der er ikke flere åbne advarsler."], (path, page)
            assert '<a href="/alerts">Til de første advarsler</a>' in page
        r, page = web.request("GET", "/alerts", cookies=session)
        assert len(re.findall(r'href="/alert/[0-9a-f]{18}"', page)) == 50
        assert "Flere advarsler" not in page and not notices_of(page)
    finally:
        web.stop()


def test_the_list_ends_at_the_5000_the_hub_orders(make_hub):
    """OPERATIONS.md: the pages of the open list go up to the 5,000
    alerts the hub orders. With more open, the last of those pages does
    not offer "Flere advarsler" to a page that would be empty while
    alerts remain: it says only the first 5,000 can be shown."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True})
    set_password(hub, "desk-dora", PASSWORD)
    cprs = CprGen(7018).take(5001)
    for i in range(0, len(cprs), 500):   # no contact person: the desk's
        hub.send(*[envelope("school-a", cpr, salt=f"web-5000-{i + j}",
                            absent=12, expected=30)
                   for j, cpr in enumerate(cprs[i:i + 500])])
    hub.wait_applied(timeout=120)
    # The sweep at teardown reads every file once per CPR: a sample of
    # them keeps it to seconds.
    hub.cprs = set(cprs[::250])
    web = Web(hub)
    try:
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        r, page = web.request("GET", "/alerts?from=4900", cookies=dora)
        assert '<a href="/alerts?from=4950">Flere advarsler</a>' in page
        r, page = web.request("GET", "/alerts?from=4950", cookies=dora)
        assert len(re.findall(r'href="/alert/[0-9a-f]{18}"', page)) == 50
        assert "Flere advarsler" not in page and notices_of(page) == [
            "Kun de første 5.000 åbne advarsler kan vises."], page
        # Past them (a `from` of 5,000 typed): not "no more open alerts",
        # which would be false, but the same limit, and the way back.
        r, page = web.request("GET", "/alerts?from=5000", cookies=dora)
        assert r.status == 200 and notices_of(page) == [
            "Kun de første 5.000 åbne advarsler kan vises."], page
        assert '<a href="/alerts">Til de første advarsler</a>' in page
    finally:
        web.stop()


def test_a_desk_members_list_marks_the_desks_alerts(make_hub):
    """OPERATIONS.md: a desk member's list holds their own alerts and the
    desk's, each of the desk's marked "til vagtteamet" ("for the duty
    desk"), its page naming the recipient "vagtteamet"."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True})
    set_password(hub, "desk-dora", PASSWORD)
    web = Web(hub)
    try:
        gen = CprGen(7014)
        own, unassigned = gen.next(), gen.next()
        hub.assign(own, "desk-dora")
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        mine, _ = open_new_alert(hub, web, dora, own, "desk-own")
        for salt in ("desk-queue",):
            hub.send(envelope("school-a", unassigned, salt=salt,
                              period_start="2024-05-06",
                              period_end="2024-05-10", absent=12,
                              expected=30))
        ids = wait_for(lambda: len(alerts_listed(web, dora)) == 2 and
                       alerts_listed(web, dora), 20, "both alerts")
        [desk] = [i for i in ids if i != mine]
        r, page = web.request("GET", "/alerts", cookies=dora)
        items = re.findall(r"<li .*?</li>", page, re.S)
        marked = [i for i in items if "til vagtteamet" in i]
        assert len(items) == 2 and len(marked) == 1 and desk in marked[0]
        r, page = web.request("GET", "/alerts?lang=en", cookies=dora)
        items = re.findall(r"<li .*?</li>", page, re.S)
        assert [desk in i for i in items if "for the duty desk" in i] == \
            [True]
        r, page = web.request("GET", f"/alert/{desk}?lang=da", cookies=dora)
        assert "vagtteamet" in page
        r, page = web.request("GET", f"/alert/{mine}", cookies=dora)
        assert "vagtteamet" not in page
    finally:
        web.stop()


def test_what_a_row_and_an_alert_page_show(make_hub):
    """OPERATIONS.md, "The web inbox": a row of the open list shows the
    priority in words, the title, "Frist" and the due day ("-" for an
    alert without one, such as back_on_track), "Rejst" and the day it was
    raised, and the rule; an alert's page its evidence as what, agency,
    when and figures, in the page's language, and fields whose labels
    tell them apart."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "cw-anna", PASSWORD)
    cpr = CprGen(7019).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04"))
    hub.set_clock("2026-09-28T09:00:00")
    hub.send(ev_enrolment(cpr, "2026-09-28"))
    assert hub.wait_applied()["alerts"] == 2
    web = Web(hub)
    try:
        session = anna_session(web)

        def rows(lang):
            page = web.request("GET", f"/alerts?lang={lang}",
                               cookies=session)[1]
            return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip()
                    for li in re.findall(r"<li .*?</li>", page, re.S)]
        assert rows("da") == [
            "Høj Dropped out of eud-smed at college-x Frist 2026-09-14 · "
            "Rejst 2026-09-07 · dropout",
            "Lav Back on track: enrolled at fgu-vest Frist - · "
            "Rejst 2026-09-28 · back_on_track"], rows("da")
        assert [r.split(" ")[0] for r in rows("en")] == ["High", "Low"]
        page = web.request("GET", "/alerts", cookies=session)[1]
        back = re.findall(r'href="/alert/([0-9a-f]{18})"', page)[1]

        def evidence(lang):
            page = web.request("GET", f"/alert/{back}?lang={lang}",
                               cookies=session)[1]
            due = re.search(r'<dd id="due"><strong>(.*?)</strong>', page)
            return due.group(1), [
                re.findall(r"<td>(.*?)</td>", tr) for tr in
                re.findall(r"<tr><td>.*?</tr>", page)]
        assert evidence("da") == ("-", [["Optagelse", "college-a",
                                         "2026-09-28", "-"]])
        assert evidence("en") == ("-", [["Enrolment", "college-a",
                                         "2026-09-28", "-"]])
        # A screen reader's list of the page's fields tells each apart:
        # no two labels say the same (the action's and the
        # acknowledgement's notes).
        for lang in ("da", "en"):
            page = web.request("GET", f"/alert/{back}?lang={lang}",
                               cookies=session)[1]
            labels = re.findall(r'<label for="[^"]+">(.*?)</label>', page)
            assert len(labels) == len(set(labels)) == 7, labels
    finally:
        web.stop()


def test_a_desk_members_timelines_are_allowed_as_documented_and_audited(
        make_hub):
    """OPERATIONS.md, SECURITY.md: on the duty desk a caseworker may see
    the timeline of a known person without a contact person, not that of
    another caseworker's person (403); both are in the audit trail as
    `timeline` `ok` and `denied`."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True})
    set_password(hub, "desk-dora", PASSWORD)
    web = Web(hub)
    try:
        gen = CprGen(7015)
        annas, nobodys = gen.next(), gen.next()
        hub.assign(annas, "cw-anna")
        hub.send(envelope("school-a", nobodys, salt="tl-desk",
                          period_start="2024-05-06",
                          period_end="2024-05-10", absent=1, expected=30))
        hub.wait_applied()
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        r, page = web.request("GET", "/timeline", cookies=dora)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": nobodys}, cookies=dora)
        assert r.status == 200 and "school-a" in page, page
        assert_timeline_refused(web, csrf, annas, dora)
    finally:
        web.stop()

    def records():
        out = hub.hubctl("audit", "show", "--actor", "desk-dora").stdout
        return re.findall(r"timeline +(ok|denied)", out)
    wait_for(lambda: records() == ["ok", "denied"], 10,
             "both timelines audited", interval=0.3)
    for cpr, result in ((nobodys, "ok"), (annas, "denied")):
        out = hub.hubctl("audit", "show", "--cpr", cpr).stdout
        assert re.search(rf"desk-dora +timeline +{result}", out), out

def test_a_team_leads_notice_opens_the_timeline_while_it_is_open(make_hub):
    """RULES.md §8, OPERATIONS.md: the team lead's escalation notice is in
    their list, unmarked, addressed to them; while it is open they may
    see the person's timeline, whose entries link each alert to its page.
    The original is the owner's: its page is the 404 "not open for you",
    and an action on it is refused 403; the owner, the person's contact
    person, may record one on the notices as on any alert of the person.
    Once the owner acknowledges, the notices close and the lead's
    timeline is refused (403)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in ("cw-anna", "cw-lead"):
        set_password(hub, cw, PASSWORD)
    adult = CprGen(7016).born("2001-02-03")
    escalated_dropout(hub, adult)
    web = Web(hub)
    try:
        lead, anna = ({"ug_session":
                       session_cookie(web.raw_login(cw, PASSWORD)[1])}
                      for cw in ("cw-lead", "cw-anna"))
        r, page = web.request("GET", "/alerts", cookies=lead)
        [notice] = re.findall(r'href="/alert/([0-9a-f]{18})"', page)
        assert notice.endswith("84") and "til vagtteamet" not in page
        original = notice[:-2] + "04"
        r, page = web.request("GET", f"/alert/{notice}", cookies=lead)
        assert r.status == 200 and "<dt>Til</dt><dd>cw-lead</dd>" in page
        assert "Overdue with cw-anna" in page and 'name="cpr"' in page
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": adult}, cookies=lead)
        assert r.status == 200
        for hexid in (original, notice[:-2] + "44", notice):
            assert f'href="/alert/{hexid}"' in page, hexid
        r, page = web.request("GET", f"/alert/{original}", cookies=lead)
        assert r.status == 404 and f"/alert/{original}/action" in page
        r, page = web.request("POST", f"/alert/{original}/action",
                              {"csrf": csrf, "kind": "contact",
                               "how": "telefon"}, cookies=lead)
        assert r.status == 403 and "Handlingen blev ikke gemt: Advarslen " \
            "er ikke stilet til dig eller dit team." in errors_of(page)
        refused_for_good(page, original)
        r, page = web.request("GET", f"/alert/{original}", cookies=anna)
        anna_csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                              page).group(1)
        r, page = web.request("GET", f"/alert/{notice}", cookies=anna)
        assert r.status == 404
        action_without_ack(web, notice, page, anna_csrf, anna, "telefon")
        r, _ = web.request("POST", f"/alert/{original}/ack",
                           {"csrf": anna_csrf}, cookies=anna)
        assert r.status == 303
        r, page = web.request("GET", "/alerts", cookies=lead)
        assert "Du har ingen åbne advarsler." in page
        assert_timeline_refused(web, csrf, adult, lead)
    finally:
        web.stop()


def test_the_owner_acknowledging_the_desks_notice_acknowledges_the_alert(
        make_hub):
    """OPERATIONS.md, RULES.md §8: desk-dora is on the desk and the
    contact person whose dropout alert is overdue; her list has the alert
    and the desk's notice of it. Acknowledging the notice acknowledges
    her alert: "Advarslen er kvitteret." and both leave her list."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "desk-dora", PASSWORD)
    adult = CprGen(7036).born("2001-02-03")
    hub.assign(adult, "desk-dora")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T08:00:00")    # the desk's notice
    web = Web(hub)
    try:
        dora = {"ug_session":
                session_cookie(web.raw_login("desk-dora", PASSWORD)[1])}
        listed = alerts_listed(web, dora)
        [notice] = [i for i in listed if i.endswith("44")]
        assert sorted(listed) == sorted([notice[:-2] + "04", notice])
        r, page = web.request("GET", f"/alert/{notice}", cookies=dora)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{notice}/ack", {"csrf": csrf},
                           cookies=dora)
        assert (r.status, r.getheader("Location")) == (
            303, "/alerts?msg=acked")
        r, page = web.request("GET", "/alerts?msg=acked", cookies=dora)
        assert notices_of(page) == ["Advarslen er kvitteret.",
                                    "Du har ingen åbne advarsler."], page
    finally:
        web.stop()


def assert_timeline_refused(web, csrf, cpr, cookies):
    """POST /timeline for a person the session may not see: 403 and the
    page's own reason."""
    r, page = web.request("POST", "/timeline", {"csrf": csrf, "cpr": cpr},
                          cookies=cookies)
    assert r.status == 403 and \
        "Denne person er ikke tildelt dig eller dit team." in page, page


def tab_to(driver, element_id, most=20):
    """Press Tab until the element with this id has the focus."""
    for _ in range(most):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        if driver.switch_to.active_element.get_attribute("id") == \
                element_id:
            return driver.switch_to.active_element
    raise AssertionError(f"#{element_id} not reached with Tab")


def test_keyboard_only_and_accessibility_basics(make_hub):
    """A municipality's pages must meet WCAG 2.1 AA: everything works
    from the keyboard with a visible focus, the hub's English texts are
    marked as English on a Danish page (3.1.2), a priority is told by
    text and not by its colour alone, and every page's title says what
    the page is."""
    hub = web_hub(make_hub, agencies={"school-a": "absence",
                                      "college-a": "dropout"})
    cpr = CprGen(7011).born("2004-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt="web-a11y",
                      period_start="2024-05-06", period_end="2024-05-10",
                      absent=12, expected=30))
    hub.send(ev_dropout(cpr, "2024-05-10"))
    web = Web(hub)
    d = chrome(hub, "chromium-keyboard")
    try:
        # Log in with the keyboard alone; the skip link comes first and
        # shows itself when it has the focus.
        d.get(web.base + "/login")
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        skip = d.switch_to.active_element
        assert skip.get_attribute("class") == "skip"
        assert skip.rect["x"] >= 0 and skip.is_displayed()
        tab_to(d, "caseworker").send_keys("cw-anna")
        tab_to(d, "password").send_keys(PASSWORD)
        page = d.find_element(By.TAG_NAME, "html")
        d.switch_to.active_element.send_keys(Keys.ENTER)
        WebDriverWait(d, 20 * SLOW).until(left(page))
        assert d.current_url.endswith("/alerts")

        # The dropout, its transition gap (the dropout lies in the past)
        # and the absence.
        def listed():
            d.refresh()
            links = d.find_elements(By.CSS_SELECTOR, "a.alert-link")
            return links if len(links) == 3 else None
        wait_for(listed, 20, "the three alerts in the list", interval=0.3)
        assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") \
            == "da"
        items = d.find_elements(By.CSS_SELECTOR, "ol.alerts li")
        # Most urgent first, each priority said in words; its colour
        # only repeats it.
        assert [i.find_element(By.CLASS_NAME, "badge").text
                for i in items] == ["Høj", "Høj", "Normal"]
        colours = [i.value_of_css_property("border-left-color")
                   for i in items]
        assert colours[0] == colours[1] != colours[2], colours
        for link in d.find_elements(By.CSS_SELECTOR, "a.alert-link"):
            assert link.get_attribute("lang") == "en", link.text

        # The focus: an outline, and a dark ring inside it that stands
        # out on the light page.
        link = tab_to_class(d, "alert-link")
        assert link.value_of_css_property("outline-style") == "solid"
        assert "rgb(27, 27, 27)" in link.value_of_css_property("box-shadow")
        page = d.find_element(By.TAG_NAME, "html")
        link.send_keys(Keys.ENTER)
        WebDriverWait(d, 20 * SLOW).until(left(page))
        h1 = d.find_element(By.TAG_NAME, "h1")
        assert h1.get_attribute("lang") == "en"
        assert h1.value_of_css_property("border-left-color") == colours[0]
        assert d.find_element(By.ID, "explanation").get_attribute("lang") \
            == "en"
        assert d.title == h1.text + " – Ungeindbakke"
        # The date field's hint spells the format as its label does.
        assert "ÅÅÅÅ-MM-DD" in d.find_element(By.CSS_SELECTOR,
                                              "label[for=date]").text
        assert d.find_element(By.ID, "date").get_attribute(
            "placeholder") == "ÅÅÅÅ-MM-DD"
        submit(d, "show-timeline")
        summaries = d.find_elements(By.CSS_SELECTOR,
                                    "ol.timeline .summary")
        assert summaries and all(s.get_attribute("lang") == "en"
                                 for s in summaries)

        # In English nothing needs marking.
        d.get(web.base + "/alerts?lang=en")
        assert d.find_element(By.TAG_NAME, "html").get_attribute("lang") \
            == "en"
        assert all(not a.get_attribute("lang") for a in
                   d.find_elements(By.CSS_SELECTOR, "a.alert-link"))
        d.get(web.base + "/nowhere?lang=da")
        assert d.title == "Siden findes ikke – Ungeindbakke"
    finally:
        d.quit()
        web.stop()


def tab_to_class(driver, cls, most=20):
    """Press Tab until an element of this class has the focus."""
    for _ in range(most):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        el = driver.switch_to.active_element
        if cls in (el.get_attribute("class") or "").split():
            return el
    raise AssertionError(f".{cls} not reached with Tab")


def test_the_idle_waits_of_30_s_and_more(make_hub):
    """Four checks that each wait half a minute or more for webd's or the
    page's idle time, each on a hub, webd (and browser) of its own, run at
    the same time (so the suite spends one of their waits on them, not
    the sum of all four); each is checked as its own docstring says:

    - the idle warning and its button, then the login page
      (a_warning_before_the_idle_end_offers_to_stay);
    - the focus given back to the field
      (staying_logged_in_gives_the_focus_back_to_the_field);
    - the warning at a phone's width
      (the_warning_covers_no_field_at_a_phones_width);
    - webd's 30 s connection timeout
      (webd_closes_a_connection_after_30_s_in_which_nothing_came)."""
    together(
        lambda: a_warning_before_the_idle_end_offers_to_stay(make_hub),
        lambda: staying_logged_in_gives_the_focus_back_to_the_field(
            make_hub),
        lambda: the_warning_covers_no_field_at_a_phones_width(make_hub),
        lambda: webd_closes_a_connection_after_30_s_in_which_nothing_came(
            make_hub))


def a_warning_before_the_idle_end_offers_to_stay(make_hub):
    """WCAG 2.2.1 (OPERATIONS.md, "The web inbox"): before the hub ends an
    idle session, every page in it warns — `session_warning` seconds
    before the end, or halfway when the session is shorter than twice
    that — in a role="alert" paragraph, with a time left and one button,
    "Forbliv logget ind", that keeps the session at the hub without a
    reload. Left alone, the page goes to the login ("Din session er
    udløbet. Log ind igen.")."""
    hub = web_hub(make_hub, name="idle", clock="2026-09-07T09:00:00",
                  settings={"web_session_idle": "1"})
    web = Web(hub, session_warning=120)   # 60 s sessions: warn at 30 s
    d = chrome(hub, "idle")
    try:
        login(d, web, "cw-anna", PASSWORD)
        box = d.find_element(By.ID, "session-warning")
        assert not box.is_displayed()
        shown = time.monotonic()
        WebDriverWait(d, 45 * SLOW).until(lambda _: box.is_displayed())
        assert time.monotonic() - shown > 20
        text = d.find_element(By.ID, "session-warning-text")
        assert text.get_attribute("role") == "alert"
        assert text.text.startswith("Du bliver snart logget ud, fordi du "
                                    "ikke har været aktiv."), text.text
        assert re.fullmatch(r"0:[0-3]\d",
                            d.find_element(By.ID, "session-left").text)
        # It takes no focus; it is the first Tab stop after the skip link.
        assert d.switch_to.active_element.tag_name == "body"
        d.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        d.switch_to.active_element.send_keys(Keys.TAB)
        button = d.switch_to.active_element
        assert button.get_attribute("id") == "session-extend"
        assert button.text == "Forbliv logget ind"
        # 50 s after the login on the hub's clock: the button keeps the
        # session there, without a reload.
        hub.advance("2026-09-07T09:00:50")
        page = d.find_element(By.TAG_NAME, "html")
        button.send_keys(Keys.ENTER)
        WebDriverWait(d, 10 * SLOW).until(lambda _: not box.is_displayed())
        assert left(page)(d) is False     # the same page
        assert d.find_element(By.ID, "session-status").get_attribute(
            "textContent") == "Du er stadig logget ind."
        hub.advance("2026-09-07T09:01:30")
        session = {"ug_session": d.get_cookie("ug_session")["value"]}
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 200
        # Left alone, the warning comes again and then the login page.
        WebDriverWait(d, 45 * SLOW).until(lambda _: box.is_displayed())
        WebDriverWait(d, 45 * SLOW).until(
            lambda _: "/login?ended=1" in d.current_url)
        assert "Din session er udløbet. Log ind igen." in text_of(d)
    finally:
        d.quit()
        web.stop()


def staying_logged_in_gives_the_focus_back_to_the_field(make_hub):
    """Keyboard use (OPERATIONS.md, "The web inbox"): the warning takes no
    focus, so a note being typed keeps its keys; a keyboard user who goes
    up to "Forbliv logget ind" and presses it comes back to the field they
    left, with what they typed, not to a focus dropped with the warning."""
    hub = web_hub(make_hub, name="idle-focus", clock="2026-09-07T09:00:00",
                  settings={"web_session_idle": "1"})
    hub.absence_alerts("cw-anna", [CprGen(7031).next()], "stay-focus")
    hub.wait_applied()
    web = Web(hub, session_warning=120)   # 60 s sessions: warn at 30 s
    d = chrome(hub, "idle-focus")
    try:
        login(d, web, "cw-anna", PASSWORD)
        d.find_element(By.CSS_SELECTOR, "a.alert-link").click()
        WebDriverWait(d, 10 * SLOW).until(
            lambda _: "/alert/" in d.current_url)
        note = d.find_element(By.ID, "action-note")
        note.send_keys("ringede")
        box = d.find_element(By.ID, "session-warning")
        WebDriverWait(d, 45 * SLOW).until(lambda _: box.is_displayed())
        assert d.switch_to.active_element.get_attribute("id") == \
            "action-note"
        for _ in range(30):
            if d.switch_to.active_element.get_attribute("id") == \
                    "session-extend":
                break
            ActionChains(d).key_down(Keys.SHIFT).send_keys(Keys.TAB) \
                .key_up(Keys.SHIFT).perform()
        button = d.switch_to.active_element
        assert button.get_attribute("id") == "session-extend"
        button.send_keys(Keys.ENTER)
        WebDriverWait(d, 10 * SLOW).until(lambda _: not box.is_displayed())
        back = d.switch_to.active_element
        assert back.get_attribute("id") == "action-note", \
            back.get_attribute("outerHTML")[:100]
        assert back.get_attribute("value") == "ringede"
        assert back.value_of_css_property("outline-style") == "solid"
    finally:
        d.quit()
        web.stop()


def the_warning_covers_no_field_at_a_phones_width(make_hub):
    """README: the layout works at a phone's width; OPERATIONS.md: the
    warning at the bottom of the window takes no focus, so a field being
    typed in keeps its keys. On a phone the warning is a third of the
    window: the page makes room for it, so the field being typed in is
    not hidden behind it, and the page scrolls far enough to bring its
    last button up above it."""
    hub = web_hub(make_hub, name="idle-phone", clock="2026-09-07T09:00:00",
                  settings={"web_session_idle": "1"})
    web = Web(hub, session_warning=120)   # 60 s sessions: warn at 30 s
    d = chrome(hub, "idle-phone")
    try:
        d.set_window_size(320, 640)
        login(d, web, "cw-anna", PASSWORD)
        d.get(web.base + "/timeline")
        field = d.find_element(By.ID, "cpr")
        field.send_keys("0101")
        box = d.find_element(By.ID, "session-warning")
        WebDriverWait(d, 45 * SLOW).until(lambda _: box.is_displayed())
        time.sleep(0.5)

        def above_the_warning(element):
            return d.execute_script(
                "return arguments[0].getBoundingClientRect().bottom <= "
                "arguments[1].getBoundingClientRect().top",
                element, box)
        assert d.switch_to.active_element.get_attribute("id") == "cpr"
        assert above_the_warning(field)
        assert no_horizontal_scroll(d)
        d.execute_script("window.scrollTo(0, document.body.scrollHeight)")
        assert above_the_warning(d.find_element(By.ID, "show-timeline"))
        # The Tab key's next stop is scrolled up above it too.
        d.execute_script("window.scrollTo(0, 0)")
        field.send_keys(Keys.TAB)
        button = d.switch_to.active_element
        assert button.get_attribute("id") == "show-timeline"
        assert above_the_warning(button)
    finally:
        d.quit()
        web.stop()


def test_a_key_file_of_another_gateway_is_refused_at_start(make_hub):
    """OPERATIONS.md "The web inbox": keys_dir/ID.key_secret must hold
    the key of --gateway ID itself (its `id` line); another gateway's
    key copied under this name is exit 1, `webd: KEYS_DIR/ID.key_secret
    holds the key of 'OTHER', not of gateway 'ID'`, and nothing served."""
    hub = web_hub(make_hub)
    hub.keygen("web-2")
    shutil.copy(hub.keys_dir / "web-2.key_secret",
                hub.keys_dir / "web-3.key_secret")
    port = free_port()
    p = subprocess.run(
        [binary("webd"), "--gateway", "web-3", "--keys_dir",
         str(hub.keys_dir), "--delivery", hub.delivery, "--port",
         str(port)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert p.stderr == (f"webd: {hub.keys_dir}/web-3.key_secret holds the "
                        "key of 'web-2', not of gateway 'web-3'\n"), p.stderr



@pytest.mark.parametrize("broken", ["no-id", "other-public"])
def test_a_broken_key_file_is_named_at_start(make_hub, broken):
    """OPERATIONS.md "The web inbox": a key file that cannot be read is
    exit 1 with the file named (`webd: cannot open KEYS_DIR/...`), so is
    one missing a line or whose public is not its secret's; inbox, which
    loads its caseworker's file alike, names it too."""
    hub = web_hub(make_hub)
    for who in ("web-4", "cw-4"):
        hub.keygen(who)
        path = hub.keys_dir / f"{who}.key_secret"
        lines = path.read_text().splitlines(keepends=True)
        if broken == "no-id":
            lines = [x for x in lines if not x.startswith("id")]
        else:
            other = (hub.keys_dir / "hub.key").read_text()
            pub = [x for x in other.splitlines(keepends=True)
                   if x.startswith("public")][0]
            lines = [pub if x.startswith("public") else x for x in lines]
        path.write_text("".join(lines))
    p = subprocess.run(
        [binary("webd"), "--gateway", "web-4", "--keys_dir",
         str(hub.keys_dir), "--delivery", hub.delivery, "--port",
         str(free_port())], capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith(
        f"webd: {hub.keys_dir}/web-4.key_secret: "), p.stderr
    p = subprocess.run(
        [binary("inbox"), "--caseworker", "cw-4", "--keys_dir",
         str(hub.keys_dir), "--delivery", hub.delivery, "--list"],
        capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert p.stderr.startswith(
        f"inbox: {hub.keys_dir}/cw-4.key_secret: "), p.stderr
    # hubctl names the hub's own file alike.
    keys = hub.tmp / "broken-keys"
    shutil.copytree(hub.keys_dir, keys)
    shutil.copy(keys / "web-4.key_secret", keys / "hub.key_secret")
    r = hub.hubctl("audit", "show", "--keys_dir", str(keys), check=False)
    assert r.returncode == 1, r.stderr
    assert r.stderr.startswith("hubctl: cannot open the hub's keys and "
                               f"store: {keys}/hub.key_secret: "), r.stderr


def test_a_caseworker_key_replaced_ends_their_web_sessions(make_hub):
    """SECURITY.md, Sessions: registering a caseworker again with a new
    key (a lost laptop, a key that may be known to others) ends their web
    sessions as it ends their delivery sessions, recorded `logout`
    `revoked`; the next page of such a session is the login form
    (/login?ended=1). So does a key replaced and put back before hubd's
    next look (hubd paused), found in the audit trail. The same key
    written again ends nothing, nor does anything happen to another
    caseworker's session; a new login with the password works."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False})
    set_password(hub, "cw-bo", PASSWORD)
    web = Web(hub)

    def revoked():
        return len(re.findall(r"logout +revoked",
                              hub.hubctl("audit", "show").stdout))

    def status(session):
        r, _ = web.request("GET", "/alerts", cookies=session)
        return r.status, r.getheader("Location")

    try:
        anna = anna_session(web)
        bo = {"ug_session":
              session_cookie(web.raw_login("cw-bo", PASSWORD)[1])}
        hub.register_caseworker("cw-anna")
        hub.settle()
        assert status(anna) == (200, None) and revoked() == 0
        new = hub.tmp / "new"
        hub.hubctl("keygen", "--keys_dir", str(new), "cw-anna", config=False)
        hub.register_caseworker("cw-anna", key=new / "cw-anna.key")
        wait_for(lambda: revoked() == 1, 10, "anna's session ended",
                 interval=0.3)
        assert status(anna) == (303, "/login?ended=1")
        assert status(bo) == (200, None)
        anna = anna_session(web)
        assert status(anna) == (200, None)
        # Replaced and put back while hubd does not look: the key is the
        # one the session was opened with, but it was replaced meanwhile.
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            hub.register_caseworker("cw-anna")
            hub.register_caseworker("cw-anna", key=new / "cw-anna.key")
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: revoked() == 2, 10, "anna's second session ended",
                 interval=0.3)
        assert status(anna) == (303, "/login?ended=1")
        assert status(bo) == (200, None)
    finally:
        web.stop()


def test_blanks_around_the_caseworker_id_are_not_part_of_it(make_hub):
    """OPERATIONS.md, webd: an id pasted with a blank before or after it
    (a tab, a space) is the id; the login was refused as a wrong one
    and counted against a name that is no id."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        for name in (" cw-anna", "cw-anna ", "\tcw-anna \t"):
            r, _ = web.raw_login(name, PASSWORD)
            assert r.status == 303, (name, r.status)
        assert web.raw_login("cw- anna", PASSWORD)[0].status == 401
    finally:
        web.stop()


def test_an_id_of_blanks_alone_is_a_wrong_login(make_hub):
    """OPERATIONS.md, webd: blanks around the caseworker id are not part
    of it; an id of blanks alone (or none) is then no id, a wrong login,
    401 "Forkert sagsbehandler-id eller adgangskode.", not a hub that
    refuses the gateway."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        for name in ("", " ", "\t \t"):
            pre, csrf = web.login_form()
            r, page = web.request("POST", "/login",
                                  {"csrf": csrf, "caseworker": name,
                                   "password": PASSWORD},
                                  cookies={"ug_pre": pre})
            assert r.status == 401, (name, r.status, page)
            assert "Forkert sagsbehandler-id eller adgangskode." in page
        assert web.raw_login("cw-anna", PASSWORD)[0].status == 303
    finally:
        web.stop()


def test_a_password_reset_ends_the_web_sessions_at_once(make_hub):
    """SECURITY.md "Sessions": a reset password ends the caseworker's web
    sessions; like a revoke, hubd ends them within one loop turn and
    records `logout` `revoked` then, not at the session's next request or
    its idle end (a caseworker who never comes back would otherwise leave
    a trail saying their session lived until `web_session_idle`)."""
    hub = web_hub(make_hub)
    set_password(hub, "desk-dora", "doras password")
    web = Web(hub)
    try:
        web.raw_login("cw-anna", PASSWORD)
        dora = {"ug_session": session_cookie(
            web.raw_login("desk-dora", "doras password")[1])}
        set_password(hub, "cw-anna", "a new password")

        def ended():
            audit = hub.hubctl("audit", "show", "--json").stdout
            return [json.loads(ln) for ln in audit.splitlines()
                    if '"logout"' in ln]
        [end] = wait_for(ended, 15, "the session's end recorded")
        assert (end["actor"], end["result"]) == ("cw-anna", "revoked"), end
        # Another caseworker's session lives on.
        assert web.request("GET", "/alerts", cookies=dora)[0].status == 200
        assert len(ended()) == 1
    finally:
        web.stop()


def test_a_password_that_is_not_utf8_is_refused_by_set_password(make_hub):
    """OPERATIONS.md set-password: the password is UTF-8 text, as a
    browser sends it from the login form; one typed in a Latin-1 terminal
    (æøå as single bytes) could never be matched at the login, so it is
    refused (exit 1, recorded `failed`) and the password in force is
    kept. The same letters in UTF-8 are taken and log in."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "set-password", "cw-anna"],
                           input=b"\xe6bler og p\xe6rer\n",
                           capture_output=True, timeout=60 * SLOW)
        assert p.returncode == 1, p
        assert p.stderr.decode() == (
            "hubctl: set-password: the password (the first line of "
            "standard input) is not UTF-8 text, as the login form "
            "sends it\n"), p.stderr
        assert web.raw_login("cw-anna", PASSWORD)[0].status == 303
        set_password(hub, "cw-anna", "æbler og pærer")
        assert web.raw_login("cw-anna", "æbler og pærer")[0].status == 303
        audit = hub.hubctl("audit", "show", "--json").stdout
        recs = [json.loads(ln) for ln in audit.splitlines()
                if '"set-password"' in ln]
        assert [(r["result"], r["detail"]) for r in recs][-2:] == [
            ("failed", "cw-anna: the password is not UTF-8"),
            ("ok", "cw-anna")], recs
    finally:
        web.stop()


def webd_closes_a_connection_after_30_s_in_which_nothing_came(make_hub):
    """SECURITY.md "Headers": webd closes a connection after 30 s in
    which nothing arrived on it, not 30 s after it opened: a request sent
    a byte at a time is still read after more than 30 s (the proxy in
    front, which passes on only whole requests, is what bounds that);
    one that stops sending is closed 30 s after its last byte."""
    import socket
    hub = web_hub(make_hub, name="idle-connection")
    web = Web(hub)
    try:
        quiet = socket.create_connection(("127.0.0.1", web.port),
                                         timeout=60)
        quiet.sendall(b"GET /lo")
        slow = socket.create_connection(("127.0.0.1", web.port))
        slow.settimeout(0.2)
        start = time.monotonic()
        request = b"GET /login HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 40
        sent = 0
        while time.monotonic() - start < 36:
            slow.send(request[sent:sent + 1])
            sent += 1
            try:
                assert slow.recv(100) != b"", "closed while still sending"
            except socket.timeout:
                pass
            time.sleep(3)
        slow.sendall(request[sent:] + b"\r\n\r\n")
        slow.settimeout(10)
        assert slow.recv(100).startswith(b"HTTP/1.1 200 ")
        slow.close()
        # The quiet one was closed unanswered, 30 s after its bytes.
        assert quiet.recv(100) == b""
        quiet.close()
    finally:
        web.stop()


def test_a_timeline_the_hub_cannot_read_says_to_tell_operations(make_hub):
    """OPERATIONS.md: a timeline the hub cannot read its store for (one of
    the person's records does not open: the hub answers E_UNAVAILABLE
    "the hub cannot read its store right now") is `503` "Hubbens data kan
    ikke læses lige nu. ..." — neither "the hub does not answer" (it did)
    nor the `429` of too many pages, since waiting a moment does not
    help; what does is telling IT operations. Another person's timeline
    is shown as before. Seen in a browser, as the caseworker sees it."""
    from test_60_store_at_rest import damage_log_record
    hub = web_hub(make_hub)
    [cpr, other] = CprGen(7042).take(2)
    hub.assign(cpr, "cw-anna")
    hub.assign(other, "cw-anna")
    seqs = hub.send(*[envelope("school-a", cpr, salt=f"unread-{i}",
                               period_start="2026-09-07",
                               period_end="2026-09-11", absent=0,
                               expected=30) for i in range(3)])
    hub.send(envelope("school-a", other, salt="unread-other",
                      period_start="2026-09-07", period_end="2026-09-11",
                      absent=0, expected=30))
    hub.wait_applied()
    damage_log_record(hub, seqs[1])
    web = Web(hub)
    driver = chrome(hub, "chromium-unread")
    cannot_read = {
        "da": "Hubbens data kan ikke læses lige nu. Kontakt driften "
              "(IT-support) og sig, hvilken side det drejer sig om; det "
              "hjælper ikke at prøve igen.",
        "en": "The hub's data cannot be read right now. Contact IT "
              "operations and say which page it is; trying again does "
              "not help."}
    try:
        session = anna_session(web)
        for lang in ("da", "en"):
            r, page = web.request("GET", f"/timeline?lang={lang}",
                                  cookies=session)
            csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                             page).group(1)
            r, page = web.request("POST", "/timeline",
                                  {"csrf": csrf, "cpr": cpr},
                                  cookies=dict(session, ug_lang=lang))
            assert r.status == 503 and errors_of(page) == [
                cannot_read[lang]], (r.status, page)
            assert '<li class="t-' not in page, page
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": other},
                              cookies=session)
        # Its contact person and its one report.
        assert r.status == 200 and page.count('<li class="t-') == 2, page
        # Operations learn which caseworker and page from webd's log (no
        # CPR in it), and the record itself from hubd's.
        said = (hub.logs_dir / "webd.log").read_text()
        assert ("WEB-HUB timeline page for cw-anna not shown: the hub "
                "cannot read its store right now") in said, said
        assert cpr not in said
        login(driver, web, "cw-anna", PASSWORD)
        driver.get(web.base + "/timeline?lang=da")
        driver.find_element(By.ID, "cpr").send_keys(cpr)
        submit(driver, "show-timeline")
        body = text_of(driver)
        assert cannot_read["da"] in body, body
        assert "Prøv igen om lidt" not in body, body
        assert not driver.find_elements(By.CSS_SELECTOR, "ol.timeline li")
    finally:
        driver.quit()
        web.stop()
