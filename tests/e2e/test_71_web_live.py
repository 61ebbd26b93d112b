"""71 the web inbox's live updates and e-mail notices. In headless
Chromium, an alert raised while the list is open appears without a reload
(server-sent events on /events, live.js fetching /alerts/list); with
JavaScript off the page works and shows it after a reload; /events refuses
without a session and ends at logout. hubd's notices of new alerts go
through a sendmail stand-in that appends what it is given to a file: two
alerts raised together make one notice saying 2, with the link and nothing
about the person; without an address, no notice."""

import http.client
import json
import re
import shutil
import socket
import stat
import time

import pytest

from hubtest import (ROOT, RULE_AGENCIES, SLOW, CprGen, envelope, event,
                     escalated_dropout, ev_dropout, ev_referral, rules_hub,
                     together, wait_for)
import test_70_web
# pytestmark: the same skip as test_70 (no browser, no test).
from test_70_web import (HAVE_SELENIUM, PASSWORD, Web, chrome, left, login,
                         missed_treatment_at_the_desk, set_password, submit,
                         web_hub, pytestmark)  # noqa: F401

# A caseworker and a member of the duty desk.
ANNA_AND_DORA = {"cw-anna": False, "desk-dora": True}

if HAVE_SELENIUM:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait


def alert_links(driver):
    return driver.find_elements(By.CSS_SELECTOR, "a.alert-link")


def absence(cpr, salt):
    return envelope("school-a", cpr, salt=salt, period_start="2024-05-06",
                    period_end="2024-05-10", absent=12, expected=30)


def logged_in(web, caseworker):
    """The session cookie of a login with PASSWORD, for web.request."""
    _, cookies = web.raw_login(caseworker, PASSWORD)
    sid = re.search(r"ug_session=([0-9a-f]+)", " ".join(cookies))
    return {"ug_session": sid.group(1)}


def open_events(web, cookies=None):
    """GET /events on a raw socket; returns (status line, socket)."""
    s = socket.create_connection(("127.0.0.1", web.port), timeout=10)
    head = "GET /events HTTP/1.1\r\nHost: x\r\n"
    if cookies:
        head += "Cookie: " + "; ".join(f"{k}={v}"
                                       for k, v in cookies.items()) + "\r\n"
    s.sendall((head + "\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace"), s


def test_live_list_and_no_javascript(make_hub):
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, streams_max=3, events_poll=1)
    gen = CprGen(7101)
    first, second = gen.next(), gen.next()
    hub.assign(first, "cw-anna")
    hub.assign(second, "cw-anna")
    live = chrome(hub, "chromium-live")
    plain = chrome(hub, "chromium-plain", javascript=False)
    try:
        login(live, web, "cw-anna", PASSWORD)
        login(plain, web, "cw-anna", PASSWORD)
        assert live.current_url.endswith("/alerts")
        assert plain.current_url.endswith("/alerts")
        assert not alert_links(live) and not alert_links(plain)
        region = live.find_element(By.ID, "live-status")
        assert region.get_attribute("aria-live") == "polite"

        # An alert raised while the list is open appears without a reload.
        marker = live.execute_script("window.ugNoReload = 1; return 1")
        assert marker == 1
        hub.send(absence(first, "live-1"))
        links = wait_for(lambda: alert_links(live), 5 * SLOW + 2,
                         "the alert in the open list, live", interval=0.2)
        assert len(links) == 1
        assert live.execute_script("return window.ugNoReload") == 1, \
            "the page was reloaded"
        assert live.find_element(By.ID, "live-status").get_attribute(
            "textContent") == "Listen over åbne advarsler er opdateret."

        # Without JavaScript the page still works: the alert is there
        # after a reload, and its page opens.
        assert not alert_links(plain)
        plain.refresh()
        [link] = alert_links(plain)
        href = link.get_attribute("href")
        plain.get(href)
        assert plain.find_element(By.ID, "cpr").text == first
        assert plain.find_element(By.ID, "rule").text == "absence.rolling"

        # A second alert arrives live too.
        hub.send(absence(second, "live-2"))
        wait_for(lambda: len(alert_links(live)) == 2, 5 * SLOW + 2,
                 "the second alert, live", interval=0.2)
        assert live.execute_script("return window.ugNoReload") == 1
    finally:
        live.quit()
        plain.quit()
        web.stop()


def test_a_live_update_keeps_the_keyboard_focus(make_hub):
    """README, OPERATIONS.md: everything works from the keyboard, and the
    element with the focus shows it. A keyboard user on an alert's link
    when the list updates itself stays on that link (Enter opens it), not
    on a focus dropped to the page's start; with no link left, on the
    list, which says it is empty."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, events_poll=1)
    gen = CprGen(7109)
    cprs = gen.take(3)
    for cpr in cprs:
        hub.assign(cpr, "cw-anna")
    hub.send(absence(cprs[0], "focus-1"), absence(cprs[1], "focus-2"))
    d = chrome(hub, "chromium-focus")
    try:
        login(d, web, "cw-anna", PASSWORD)
        d.get(web.base + "/alerts?lang=en")
        assert len(alert_links(d)) == 2
        # Tab from the page's start to the second alert's link.
        target = alert_links(d)[1].get_attribute("href")
        for _ in range(20):
            ActionChains(d).send_keys(Keys.TAB).perform()
            if d.switch_to.active_element.get_attribute("href") == target:
                break
        assert d.switch_to.active_element.get_attribute("href") == target

        hub.send(absence(cprs[2], "focus-3"))
        wait_for(lambda: len(alert_links(d)) == 3, 5 * SLOW + 2,
                 "the third alert, live", interval=0.2)
        focused = d.switch_to.active_element
        assert focused.get_attribute("href") == target, \
            focused.get_attribute("outerHTML")[:120]
        assert focused.value_of_css_property("outline-style") == "solid"
        # What the screen reader hears, as README says it in English.
        assert d.find_element(By.ID, "live-status").get_attribute(
            "textContent") == "The list of open alerts was updated."
        page = d.find_element(By.TAG_NAME, "html")
        ActionChains(d).send_keys(Keys.ENTER).perform()
        WebDriverWait(d, 20 * SLOW).until(left(page))
        assert d.current_url == target

        # Every alert moves to another contact person: with no link
        # left, the focus is on the list, which says it is empty, not
        # dropped to the page's start.
        d.get(web.base + "/alerts?lang=en")
        d.execute_script("arguments[0].focus()", alert_links(d)[0])
        for cpr in cprs:
            hub.assign(cpr, "desk-dora")
        wait_for(lambda: not alert_links(d), 5 * SLOW + 2,
                 "the list emptied, live", interval=0.2)
        focused = d.switch_to.active_element
        assert focused.get_attribute("id") == "alert-list", \
            focused.get_attribute("outerHTML")[:120]
        assert "You have no open alerts." in focused.text
    finally:
        d.quit()
        web.stop()


# Every page's EventSource, held back until the test lets it connect (a
# slow network between the page's load and its stream's opening).
HOLD_EVENTS = """
(function () {
  var Real = window.EventSource;
  if (!Real) return;
  window.EventSource = function (url) {
    var real = null, added = [], closed = false;
    window.ugOpenEvents = function () {
      if (closed || real) return;
      real = new Real(url);
      added.forEach(function (a) { real.addEventListener(a[0], a[1]); });
    };
    return {
      addEventListener: function (t, f) {
        added.push([t, f]);
        if (real) real.addEventListener(t, f);
      },
      close: function () { closed = true; if (real) real.close(); }
    };
  };
})();
"""


def test_an_alert_raised_before_the_stream_opens_appears_live(make_hub):
    """OPERATIONS.md, live updates: an alert raised while the list is
    open appears without a reload -- also one raised after the page was
    served and before its /events stream opened, which the page does not
    show and the stream had not started to watch."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, events_poll=1)
    [cpr] = CprGen(7104).take(1)
    hub.assign(cpr, "cw-anna")
    d = chrome(hub, "chromium-late-stream")
    try:
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                          {"source": HOLD_EVENTS})
        login(d, web, "cw-anna", PASSWORD)
        assert d.current_url.endswith("/alerts")
        assert not alert_links(d)
        d.execute_script("window.ugNoReload = 1")
        hub.send(absence(cpr, "late-stream"))
        hub.wait_stats("the alert raised", lambda s: s["alerts"] == 1)
        d.execute_script("window.ugOpenEvents()")
        wait_for(lambda: alert_links(d), 5 * SLOW + 2,
                 "the alert raised before the stream opened, live",
                 interval=0.2)
        assert d.execute_script("return window.ugNoReload") == 1, \
            "the page was reloaded"
    finally:
        d.quit()
        web.stop()


def test_a_list_whose_session_ended_before_its_stream_opened_leaves(
        make_hub):
    """SECURITY.md, "Sessions": an open list whose session ends elsewhere
    goes to the login page within seconds -- also when it ended after the
    page was served and before its /events stream opened (the stream is
    then refused, 401, and never says "ended")."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, events_poll=1)
    d = chrome(hub, "chromium-ended-early")
    try:
        d.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                          {"source": HOLD_EVENTS})
        login(d, web, "cw-anna", PASSWORD)
        assert d.current_url.endswith("/alerts")
        session = {"ug_session": d.get_cookie("ug_session")["value"]}
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", "/logout", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303
        d.execute_script("window.ugOpenEvents()")
        WebDriverWait(d, 15 * SLOW).until(
            lambda _: "/login?ended=1" in d.current_url)
    finally:
        d.quit()
        web.stop()


def test_an_open_list_leaves_when_its_session_ends_elsewhere(make_hub):
    """SECURITY.md, "Sessions": the personal data a page shows must not
    stay on an unattended screen. An open list whose session ends
    elsewhere (a logout in another tab, a password reset at the hub, a
    revoke of the gateway, OPERATIONS.md "The web inbox") goes to the
    login page, /login?ended=1, within seconds, not only at the idle end;
    its own "Log ud" still leads to /login?out=1."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, events_poll=1)
    d = chrome(hub, "chromium-ended")

    def open_list():
        login(d, web, "cw-anna", PASSWORD)
        assert d.current_url.endswith("/alerts")
        return {"ug_session": d.get_cookie("ug_session")["value"]}

    def gone_to_login():
        WebDriverWait(d, 15 * SLOW).until(
            lambda _: "/login?ended=1" in d.current_url)
    try:
        session = open_list()
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", "/logout", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303
        gone_to_login()
        open_list()
        set_password(hub, "cw-anna", PASSWORD)
        gone_to_login()
        open_list()
        hub.hubctl("revoke-gateway", "web-1")
        gone_to_login()
        hub.hubctl("register-gateway", "web-1")
        open_list()
        submit(d, "logout")
        time.sleep(2)
        assert d.current_url.endswith("/login?out=1"), d.current_url
    finally:
        d.quit()
        web.stop()


def test_a_list_leaves_when_a_login_in_another_tab_ends_its_session(
        make_hub):
    """SECURITY.md, "Sessions": a login in a browser that holds a session
    ends that session, and a list whose session ended elsewhere leaves the
    screen. At a shared desk, cw-anna's open list in one tab must not stay
    (nor be kept alive by) desk-dora's login in another: the cookie now
    holds dora's session, which is not the page's. GET /session says 401
    to a page whose token (X-CSRF-Token) is not the cookie's session's."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    set_password(hub, "desk-dora", PASSWORD)
    web = Web(hub, events_poll=1)
    d = chrome(hub, "chromium-shared-desk")
    try:
        login(d, web, "cw-anna", PASSWORD)
        assert d.current_url.endswith("/alerts")
        annas = d.current_window_handle
        page_token = d.find_element(
            By.CSS_SELECTOR, "#session-warning input[name=csrf]"
        ).get_attribute("value")
        d.switch_to.new_window("tab")
        login(d, web, "desk-dora", PASSWORD)
        assert d.current_url.endswith("/alerts")
        doras = {"ug_session": d.get_cookie("ug_session")["value"]}
        d.switch_to.window(annas)
        WebDriverWait(d, 15 * SLOW).until(
            lambda _: "/login?ended=1" in d.current_url)
        # dora's own page is not affected, and her session lives on.
        d.switch_to.new_window("tab")
        d.get(web.base + "/alerts")
        assert d.current_url.endswith("/alerts")
        assert "Logget ind som desk-dora" in d.find_element(
            By.TAG_NAME, "body").text
        c = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
        c.request("GET", "/session", headers={
            "Cookie": f"ug_session={doras['ug_session']}",
            "X-CSRF-Token": page_token})
        assert c.getresponse().status == 401
        c.close()
        r, said = web.request("GET", "/session", cookies=doras)
        assert r.status == 200 and json.loads(said)["left"] > 0
    finally:
        d.quit()
        web.stop()


def test_an_open_list_leaves_when_webd_restarts(make_hub, monkeypatch):
    """OPERATIONS.md: a restart of webd logs everyone out; a page's next
    request goes to /login, while an open list learns it from its script
    (its stream reconnects and is refused) and goes to /login?ended=1
    within seconds, as for any session that ended."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, events_poll=1)
    d = chrome(hub, "chromium-webd-restart")
    try:
        login(d, web, "cw-anna", PASSWORD)
        assert d.current_url.endswith("/alerts")
        web.stop()
        # The new webd where the page finds its stream: the same port.
        monkeypatch.setattr(test_70_web, "free_port", lambda: web.port)
        web = Web(hub, name="webd-again", events_poll=1)
        WebDriverWait(d, 20 * SLOW).until(
            lambda _: "/login?ended=1" in d.current_url)
    finally:
        d.quit()
        web.stop()


def test_an_open_list_leaves_once_a_restarted_hub_answers(make_hub):
    """OPERATIONS.md, SECURITY.md: a stop of hubd ends every session, but
    webd learns it only from hubd: while hubd is stopped an open list
    stays (until its idle end), and once hubd answers again the list goes
    to /login?ended=1 within seconds."""
    hub = web_hub(make_hub, caseworkers=ANNA_AND_DORA)
    web = Web(hub, events_poll=1)
    d = chrome(hub, "chromium-hub-restart")
    try:
        login(d, web, "cw-anna", PASSWORD)
        assert d.current_url.endswith("/alerts")
        hub.stop()
        time.sleep(6)
        assert d.current_url.endswith("/alerts")
        hub.start()
        WebDriverWait(d, 30 * SLOW).until(
            lambda _: "/login?ended=1" in d.current_url)
    finally:
        d.quit()
        web.stop()


def test_events_need_a_session_are_bounded_and_end(make_hub):
    hub = web_hub(make_hub)
    web = Web(hub, streams_max=2, events_poll=1)
    try:
        # No session, or a made-up one: 401, nothing streamed.
        head, s = open_events(web)
        s.close()
        assert head.startswith("HTTP/1.1 401"), head
        head, s = open_events(web, {"ug_session": "ab" * 32})
        s.close()
        assert head.startswith("HTTP/1.1 401"), head
        r, _ = web.request("GET", "/alerts/list")
        assert r.status == 401

        session = logged_in(web, "cw-anna")
        head, one = open_events(web, session)
        assert head.startswith("HTTP/1.1 200"), head
        assert "content-type: text/event-stream" in head.lower()
        assert "x-accel-buffering: no" in head.lower()
        head2, two = open_events(web, session)
        assert head2.startswith("HTTP/1.1 200"), head2
        # streams_max is 2: a third is refused, and pages still load.
        head3, three = open_events(web, session)
        three.close()
        assert head3.startswith("HTTP/1.1 503"), head3
        r, page = web.request("GET", "/alerts", cookies=session)
        assert r.status == 200 and 'id="alert-list"' in page
        r, frag = web.request("GET", "/alerts/list", cookies=session)
        assert r.status == 200 and "<html" not in frag and \
            "Du har ingen åbne advarsler." in frag

        # Logout ends the session's streams: an "ended" event, then the
        # end of the response.
        r, page = web.request("GET", "/alerts", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", "/logout", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303
        for sock in (one, two):
            sock.settimeout(10 * SLOW)
            rest = b""
            while True:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                rest += chunk
            sock.close()
            assert b"event: ended" in rest, rest
        head, s = open_events(web, session)
        s.close()
        assert head.startswith("HTTP/1.1 401"), head

        # A stream still open when webd stops: ended, and webd exits 0.
        head, open_one = open_events(web, logged_in(web, "cw-anna"))
        assert head.startswith("HTTP/1.1 200"), head
        time.sleep(1.5)   # parked (suspended) by now
    finally:
        web.stop()
    open_one.settimeout(10)
    rest = b""
    while True:
        chunk = open_one.recv(4096)
        if not chunk:
            break
        rest += chunk
    open_one.close()
    assert b"event: ended" in rest, rest


def test_a_closed_tabs_stream_frees_its_place_at_once(make_hub):
    """streams_max counts the tabs open on the list: a tab closed or
    reloaded gives its stream's place up within a few seconds, not after
    the 15 s pings find the connection gone, so a reload of the list at
    streams_max gets its live updates back (OPERATIONS.md)."""
    hub = web_hub(make_hub)
    web = Web(hub, streams_max=1, events_poll=1)
    try:
        session = logged_in(web, "cw-anna")

        def admitted():
            head, s = open_events(web, session)
            if head.startswith("HTTP/1.1 200"):
                return s
            s.close()
            return None
        # Each stream is parked (suspended) before its tab closes; the
        # next one is let in within seconds, three times over.
        for _ in range(3):
            stream = wait_for(admitted, 5, "the closed stream's place",
                              interval=0.3)
            time.sleep(1.5)
            stream.close()
    finally:
        web.stop()


def sendmail_stand_in(d):
    """A sendmail that appends its arguments and stdin to d/out.txt."""
    d.mkdir(parents=True, exist_ok=True)
    out = d / "out.txt"
    script = d / "sendmail"
    script.write_text("#!/bin/sh\n"
                      f"{{ echo \"ARGS: $*\"; cat; echo '--END--'; }} "
                      f">> '{out}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, out


def mails(out):
    """The mails the stand-in has finished writing: one read while
    sendmail still copies its input is not a mail yet."""
    if not out.exists():
        return []
    return [m for m in out.read_text().split("--END--\n")[:-1] if m.strip()]


def test_notice_mail_debounced_and_without_person(make_hub, tmp_path):
    # In the hub's directory, which the privacy sweep reads too.
    script, out = sendmail_stand_in(tmp_path / "mailhub" / "mail")
    hub = make_hub(name="mailhub",
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "desk-dora": True},
                   settings={"mail_base_url": "https://inbox.example.dk/",
                             "mail_sendmail": str(script),
                             "mail_delay": "2", "mail_interval": "15"})
    # A malformed address is refused; cw-anna gets one, cw-bo none.
    p = hub.hubctl("set-email", "cw-anna", "anna@x.dk\nBcc: e@vil",
                   check=False)
    assert p.returncode == 2
    p = hub.hubctl("set-email", "cw-anna", "Anna <anna@x.dk>", check=False)
    assert p.returncode == 2
    # Only for an id alerts are raised for: a caseworker or the desk.
    p = hub.hubctl("set-email", "nobody", "a@b.dk", check=False)
    assert p.returncode == 1, p.stderr
    assert "'nobody' is neither a registered caseworker" in p.stderr
    hub.hubctl("set-email", "duty-desk", "vagt@kommune.example.dk")
    hub.hubctl("set-email", "duty-desk", "-")
    hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    gen = CprGen(7201)
    a1, a2, b1 = gen.next(), gen.next(), gen.next()
    hub.assign(a1, "cw-anna")
    hub.assign(a2, "cw-anna")
    hub.assign(b1, "cw-bo")
    hub.send(absence(a1, "mail-1"), absence(a2, "mail-2"),
             absence(b1, "mail-3"))
    hub.wait_stats("three alerts", lambda s: s["alerts_open"] == 3)
    [mail] = wait_for(lambda: mails(out), 15 * SLOW, "the notice mail",
                      interval=0.3)
    # Let a second notice (there must be none) have its chance.
    time.sleep(4)
    assert len(mails(out)) == 1, mails(out)
    assert mail.startswith("ARGS: -t -i\n")
    # The message OPERATIONS.md shows, whole, but for the base URL.
    doc = (ROOT / "docs" / "OPERATIONS.md").read_text(encoding="utf-8")
    sample = re.search(r"^```\n(To: .*?)```", doc, re.M | re.S).group(1)
    assert mail == "ARGS: -t -i\n" + sample.replace(
        "https://unge.example.dk/", "https://inbox.example.dk/"), mail
    # Nothing about the person: no CPR, no birth date, no rule, no agency,
    # no figures.
    for cpr in (a1, a2, b1):
        assert cpr not in mail and cpr[:6] not in mail
    for fact in ("absence", "school", "fravær", "Fravær", "12", "30",
                 "2024-05"):
        assert fact not in mail, fact
    # A third alert within mail_interval: counted, not mailed yet.
    a3 = gen.next()
    hub.assign(a3, "cw-anna")
    hub.send(absence(a3, "mail-4"))
    hub.wait_stats("four alerts", lambda s: s["alerts_open"] == 4)
    time.sleep(4)
    assert len(mails(out)) == 1
    # Removing the address: no more notices; the trail has the admin act.
    hub.hubctl("set-email", "cw-anna", "-")
    assert re.search(r"set-email", hub.hubctl("audit", "show").stdout)
    assert re.search(r"notice-mail +ok",
                     hub.hubctl("audit", "show", "--actor", "hub").stdout)


def test_the_desks_notice_is_the_documented_message(make_hub, tmp_path):
    """OPERATIONS.md, "E-mail notices of new alerts": the message hubd
    hands the MTA is exactly the one shown there, in the singular for one
    alert, with the link `mail_base_url/alerts` (a trailing `/` of the
    setting dropped); the desk's id gets the desk's alerts counted, and a
    desk member is not mailed one by one."""
    script, out = sendmail_stand_in(tmp_path / "deskmail" / "mail")
    hub = make_hub(name="deskmail",
                   settings={"mail_base_url": "https://unge.example.dk/",
                             "mail_sendmail": str(script),
                             "mail_delay": "1"})
    hub.hubctl("set-email", "duty-desk", "vagt@kommune.example.dk")
    hub.hubctl("set-email", "desk-dora", "dora@kommune.example.dk")
    cpr = CprGen(7202).next()
    hub.cprs.add(cpr)
    hub.send(absence(cpr, "desk-mail"))   # no contact person: the desk's
    [mail] = wait_for(lambda: mails(out), 15 * SLOW, "the desk's notice",
                      interval=0.3)
    time.sleep(3)   # a second notice, to dora, would have come by now
    assert mails(out) == [mail]
    assert mail == (
        "ARGS: -t -i\n"
        "To: vagt@kommune.example.dk\n"
        "Subject: Ungebro: 1 ny advarsel / 1 new alert\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        "Content-Transfer-Encoding: 8bit\n"
        "Auto-Submitted: auto-generated\n"
        "\n"
        "Du har 1 ny advarsel i Ungebro.\n"
        "Log ind for at se den: https://unge.example.dk/alerts\n"
        "\n"
        "You have 1 new alert in Ungebro.\n"
        "Log in to see it: https://unge.example.dk/alerts\n"), mail


def flaky_sendmail(d):
    """A sendmail that lists the files it was given open (d/fds.PID),
    fails with exit 75 while d/down exists, takes 2 s while d/slow
    exists, else appends its arguments and stdin to d/out.txt."""
    d.mkdir(parents=True, exist_ok=True)
    out = d / "out.txt"
    script = d / "sendmail"
    script.write_text(
        "#!/bin/sh\n"
        f"ls -l /proc/$$/fd > '{d}/fds.'$$\n"
        "msg=$(cat)\n"
        f"if [ -e '{d}/down' ]; then\n"
        "  echo 'sendmail: cannot reach the mail server' >&2; exit 75\n"
        "fi\n"
        f"[ -e '{d}/slow' ] && sleep 2\n"
        f"{{ echo \"ARGS: $*\"; printf '%s\\n' \"$msg\"; "
        f"echo '--END--'; }} >> '{out}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, out


def anna_mail_hub(make_hub, script, start=True,
                  email="anna@kommune.example.dk",
                  base_url="https://inbox.example.dk", name="mailhub",
                  **mail):
    """A hub (name, "mailhub" unless told) that mails notices through
    script at once (mail_delay 0; mail=... sets other mail_* settings),
    with cw-anna, whose address is email, and desk-dora."""
    settings = {"mail_base_url": base_url, "mail_sendmail": str(script),
                "mail_delay": "0"}
    settings.update({f"mail_{k}": str(v) for k, v in mail.items()})
    hub = make_hub(name=name, start=start,
                   caseworkers={"cw-anna": False, "desk-dora": True},
                   settings=settings)
    hub.hubctl("set-email", "cw-anna", email)
    return hub


def notice_records(hub):
    return re.findall(r"notice-mail +(ok|failed) .*?(cw-\S+): (.*)",
                      hub.hubctl("audit", "show", "--actor", "hub").stdout)


def a_failed_notice_counts_into_the_next_and_the_mta_gets_no_store(
        make_hub, tmp_path):
    """OPERATIONS.md: a notice sendmail fails (the mail server down) is
    logged and audited `notice-mail failed`, and its alerts are counted
    into the next notice, tried once mail_interval has passed since the
    failed one; sendmail is given the message, not hubd's open files."""
    d = tmp_path / "failmail" / "mail"
    script, out = flaky_sendmail(d)
    hub = anna_mail_hub(make_hub, script, interval=1, name="failmail")
    gen = CprGen(7221)
    a1, a2 = gen.next(), gen.next()
    hub.assign(a1, "cw-anna")
    hub.assign(a2, "cw-anna")
    (d / "down").touch()
    hub.send(absence(a1, "fail-1"))
    hub.wait_log(r"hubd warn HUB-MAIL \S+ failed for the notice to cw-anna",
                 timeout=15)
    failed_at = time.monotonic()
    wait_for(lambda: notice_records(hub), 10, "the audit record")
    assert notice_records(hub) == [
        ("failed", "cw-anna", "the MTA refused it (exit status 75)")]
    # The mail server is back; a second alert comes meanwhile. Nothing
    # goes out before the interval since the failed attempt has passed.
    (d / "down").unlink()
    hub.send(absence(a2, "fail-2"))
    hub.wait_stats("two alerts", lambda s: s["alerts_open"] == 2)
    time.sleep(3)
    assert mails(out) == []
    [mail] = wait_for(lambda: mails(out), 90, "the notice after the "
                      "interval", interval=0.5)
    assert time.monotonic() - failed_at >= 55
    assert "2 nye advarsler" in mail and "2 new alerts" in mail, mail
    wait_for(lambda: ("ok", "cw-anna", "sent") in notice_records(hub), 10,
             "notice-mail ok")
    # Neither sendmail had a descriptor on the store or the keys.
    lists = list(d.glob("fds.*"))
    assert len(lists) == 2, lists
    for f in lists:
        text = f.read_text()
        assert "data.mdb" not in text and str(hub.data_dir) not in text \
            and str(hub.keys_dir) not in text, text


def test_a_sendmail_that_cannot_be_run_is_a_failed_notice(make_hub,
                                                        tmp_path):
    """A mail_sendmail that does not exist (no MTA installed) fails each
    notice as an MTA that refuses does: once per mail_interval, logged
    and audited `notice-mail failed`, not retried every second."""
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True},
                   settings={"mail_base_url": "https://inbox.example.dk",
                             "mail_sendmail": str(tmp_path / "no-mta"),
                             "mail_delay": "0", "mail_interval": "1"})
    hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    a1 = CprGen(7222).next()
    hub.assign(a1, "cw-anna")
    hub.send(absence(a1, "nomta-1"))
    hub.wait_log(r"HUB-MAIL \S+no-mta failed for the notice to cw-anna "
                 r"\(cannot run it: No such file or directory\)")
    time.sleep(4)
    assert hub.log_text().count("failed for the notice to cw-anna") == 1
    wait_for(lambda: notice_records(hub), 10, "the audit record")
    assert notice_records(hub) == [
        ("failed", "cw-anna",
         "the MTA cannot be run (No such file or directory)")]


def a_notice_address_that_does_not_open_is_a_failed_notice(make_hub,
                                                           tmp_path):
    """OPERATIONS.md, "E-mail notices": an address that cannot be read
    (its record does not open: STORE-FORGED, someone wrote to the store)
    is not the same as none. The notice is a failed one: logged (warn),
    audited `notice-mail failed` with why, its count kept for the next
    notice, tried after mail_interval; set again, the address gets it,
    counting every alert since."""
    from test_60_store_at_rest import dump, load
    script, out = sendmail_stand_in(tmp_path / "forgedmail" / "mail")
    hub = anna_mail_hub(make_hub, script, interval=1, name="forgedmail")
    a1, a2 = CprGen(7229).take(2)
    hub.assign(a1, "cw-anna")
    hub.assign(a2, "cw-anna")
    hub.stop()
    log = hub.data_dir / "log"
    [(key, value)] = [(k, v) for k, v in dump(log, "password")
                      if len(v) == 368]         # the address record
    value = bytearray(value)
    value[-20] ^= 0x01
    load(log, "password", [(key, bytes(value))])
    hub.start()
    hub.send(absence(a1, "forged-1"))
    hub.wait_log(r"hubd warn HUB-MAIL the notice address of cw-anna cannot "
                 r"be read \(it does not open with the storage key: "
                 r"STORE-FORGED; set it again with hubctl set-email\); its "
                 r"1 alert\(s\) count into the next notice, tried after "
                 r"mail_interval", timeout=15)
    assert "STORE-FORGED e-mail" in hub.log_text()
    wait_for(lambda: notice_records(hub), 10, "the audit record")
    assert notice_records(hub) == [
        ("failed", "cw-anna", "the address cannot be read (it does not "
         "open with the storage key: STORE-FORGED; set it again with "
         "hubctl set-email)")]
    hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    hub.send(absence(a2, "forged-2"))
    [mail] = wait_for(lambda: mails(out), 90, "the notice after the "
                      "interval", interval=0.5)
    assert "2 nye advarsler" in mail and "2 new alerts" in mail, mail


def test_a_sendmail_that_hangs_is_killed_after_mail_timeout(make_hub,
                                                           tmp_path):
    """OPERATIONS.md: a sendmail still running `mail_timeout` seconds
    after it was started is killed with its process group and the notice
    is failed like a refused one: logged `(timed out after N s)`, audited
    `notice-mail failed` and counted into the next notice."""
    d = tmp_path / "mailhub" / "mail"
    d.mkdir(parents=True)
    script = d / "sendmail"
    # The MTA hangs in a child of its own, as a relay helper would.
    script.write_text("#!/bin/sh\n"
                      "cat > /dev/null\n"
                      "sleep 600 &\n"
                      f"echo $! > '{d}/child.pid'\n"
                      "wait\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    hub = anna_mail_hub(make_hub, script, interval=1, timeout=2)
    a1 = CprGen(7224).next()
    hub.assign(a1, "cw-anna")
    hub.send(absence(a1, "hang-1"))
    hub.wait_log(r"HUB-MAIL notice of 1 new alert\(s\) for cw-anna")
    started = time.monotonic()
    hub.wait_log(r"hubd warn HUB-MAIL \S+sendmail failed for the notice to "
                 r"cw-anna \(timed out after 2 s\); its 1 alert\(s\) count "
                 r"into the next notice, tried after mail_interval",
                 timeout=15 * SLOW)
    assert time.monotonic() - started >= 1.5
    wait_for(lambda: notice_records(hub), 10, "the audit record")
    assert notice_records(hub) == [
        ("failed", "cw-anna", "the MTA did not finish (timed out after 2 s)")]
    # The MTA's own child went with it.
    pid = int((d / "child.pid").read_text())

    def gone():
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1]
        except FileNotFoundError:
            return True
        return state.split()[0] == "Z"
    wait_for(gone, 10, "the hung MTA's child killed")


def test_a_notice_with_the_mta_at_stop_is_still_audited(make_hub, tmp_path):
    """SECURITY.md: each notice handed to the MTA is audited. One still
    with sendmail when hubd is stopped is waited for (a few seconds at
    most) and recorded before hubd exits."""
    d = tmp_path / "mailhub" / "mail"
    script, out = flaky_sendmail(d)
    (d / "slow").touch()
    hub = anna_mail_hub(make_hub, script)
    a1 = CprGen(7223).next()
    hub.assign(a1, "cw-anna")
    hub.send(absence(a1, "stop-1"))
    hub.wait_log(r"HUB-MAIL notice of 1 new alert\(s\) for cw-anna")
    hub.stop()
    assert len(mails(out)) == 1
    assert notice_records(hub) == [("ok", "cw-anna", "sent")]
    log = hub.log_text()
    assert "hubd info HUB-MAIL notice of 1 new alert(s) for cw-anna" in log
    assert "hubd info HUB-MAIL notice to cw-anna handed to the MTA" in log
    assert log.index("handed to the MTA") < log.index("HUB-STOP")


def test_a_sendmail_still_running_at_stop_is_logged_not_audited(
        make_hub, tmp_path):
    """OPERATIONS.md and SECURITY.md: at a stop hubd waits up to 5 s for
    a sendmail still running; one that still runs then is logged
    (`... still runs with the notice to ID at stop; its outcome is not
    recorded`, warn) and has no `notice-mail` record, since hubd never
    learns how it ended. Each one still running is, not only one: the
    desk's notice too."""
    d = tmp_path / "mailhub" / "mail"
    d.mkdir(parents=True)
    script = d / "sendmail"
    script.write_text("#!/bin/sh\ncat > /dev/null\nexec sleep 30\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    hub = anna_mail_hub(make_hub, script)
    hub.hubctl("set-email", "duty-desk", "vagt@kommune.example.dk")
    a1, unassigned = CprGen(7226).take(2)
    hub.cprs.add(unassigned)
    hub.assign(a1, "cw-anna")
    hub.send(absence(a1, "stophung-1"), absence(unassigned, "stophung-2"))
    for who in ("cw-anna", "duty-desk"):
        hub.wait_log(r"HUB-MAIL notice of 1 new alert\(s\) for %s" % who)
    started = time.monotonic()
    hub.stop()
    assert 4.5 <= time.monotonic() - started < 20 * SLOW
    for who in ("cw-anna", "duty-desk"):
        assert re.search(r"hubd warn HUB-MAIL \S+sendmail still runs with "
                         r"the notice to %s at stop; its outcome is not "
                         r"recorded" % who, hub.log_text()), hub.log_text()
    assert notice_records(hub) == []
    assert "notice-mail" not in hub.hubctl("audit", "show").stdout


def test_a_notice_sent_is_audited_ok_when_hubd_inherits_sigchld_ignored(
        make_hub, tmp_path, monkeypatch):
    """OPERATIONS.md: a notice sendmail took (exit 0) is `handed to the
    MTA`, audited `notice-mail ok`, and its alerts are in no later notice.
    A hubd started by a parent that ignores SIGCHLD (inherited across
    exec) had its sendmail reaped by the kernel: every notice sent was
    audited failed ("lost track of it") and mailed again an interval
    later."""
    import subprocess
    script, out = sendmail_stand_in(tmp_path / "mailhub" / "mail")
    hub = anna_mail_hub(make_hub, script, start=False, interval=1)
    popen = subprocess.Popen

    def ignoring_sigchld(cmd, *args, **kw):
        return popen(["/usr/bin/python3", "-c",
                      "import os, signal, sys; "
                      "signal.signal(signal.SIGCHLD, signal.SIG_IGN); "
                      "os.execvp(sys.argv[1], sys.argv[1:])", *cmd],
                     *args, **kw)
    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", ignoring_sigchld)
        hub.start()
    a1 = CprGen(7227).next()
    hub.assign(a1, "cw-anna")
    hub.send(absence(a1, "sigchld-1"))
    wait_for(lambda: mails(out), 15 * SLOW, "the notice", interval=0.3)
    hub.wait_log(r"hubd info HUB-MAIL notice to cw-anna handed to the MTA",
                 timeout=10)
    wait_for(lambda: notice_records(hub), 10, "the audit record")
    assert notice_records(hub) == [("ok", "cw-anna", "sent")]
    assert "failed for the notice" not in hub.log_text()


class SmtpRelay:
    """A mail server on 127.0.0.1 that speaks just enough SMTP for an
    MTA relaying to it: it keeps each message taken (MAIL FROM, RCPT TO,
    the data) in .got, and answers RCPT TO with 550 while .refuse is
    set."""

    def __init__(self):
        import socketserver
        import threading
        relay = self
        self.got, self.refuse = [], False

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                def say(line):
                    self.wfile.write(line.encode() + b"\r\n")
                say("220 relay.kommune.example.dk ESMTP")
                mail = {"rcpt": []}
                while True:
                    line = self.rfile.readline().decode(errors="replace")
                    if not line:
                        return
                    cmd = line.strip().upper()
                    if cmd.startswith(("EHLO", "HELO")):
                        say("250 relay.kommune.example.dk")
                    elif cmd.startswith("MAIL FROM"):
                        mail = {"from": line.strip()[10:], "rcpt": []}
                        say("250 ok")
                    elif cmd.startswith("RCPT TO"):
                        if relay.refuse:
                            say("550 5.1.1 recipient rejected")
                        else:
                            mail["rcpt"].append(line.strip()[8:])
                            say("250 ok")
                    elif cmd == "DATA":
                        say("354 go on")
                        data = []
                        while True:
                            d = self.rfile.readline().decode()
                            if d in (".\r\n", ".\n", ""):
                                break
                            data.append(d.replace("\r\n", "\n"))
                        mail["data"] = "".join(data)
                        relay.got.append(mail)
                        say("250 queued")
                    elif cmd == "QUIT":
                        say("221 bye")
                        return
                    else:
                        say("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0),
                                                      Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever,
                         daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.skipif(not shutil.which("msmtp"), reason="msmtp not installed")
def test_msmtp_as_operations_md_sets_it_up_relays_the_notice(make_hub,
                                                             tmp_path):
    """OPERATIONS.md, "E-mail notices": with msmtp configured as the
    example there (but for the relay on 127.0.0.1, without TLS or login)
    and run through a small script that adds its options, a notice
    reaches the mail server for the recipient's address, from the
    configured sender, with the documented message and a From: the MTA
    added; a relay that refuses the recipient makes it a failed notice
    whose reason, msmtp's own, is in hubd's log."""
    relay = SmtpRelay()
    d = tmp_path / "mailhub" / "mail"
    d.mkdir(parents=True)
    rc = d / "msmtprc"
    rc.write_text("defaults\ntls off\ntimeout 30\n\naccount default\n"
                  f"host 127.0.0.1\nport {relay.port}\n"
                  "from ungebro@kommune.example.dk\nauth off\n")
    rc.chmod(0o600)
    script = d / "sendmail"
    script.write_text(f"#!/bin/sh\nexec msmtp -C '{rc}' \"$@\"\n")
    script.chmod(0o755)
    try:
        hub = anna_mail_hub(make_hub, script, interval=1,
                            base_url="https://unge.example.dk")
        a1, a2 = CprGen(7228).take(2)
        hub.assign(a1, "cw-anna")
        hub.assign(a2, "cw-anna")
        hub.send(absence(a1, "msmtp-1"))
        [mail] = wait_for(lambda: relay.got, 15 * SLOW, "the relayed notice",
                          interval=0.3)
        assert mail["from"] == "<ungebro@kommune.example.dk>", mail
        assert mail["rcpt"] == ["<anna@kommune.example.dk>"], mail
        data = mail["data"]
        assert "\nFrom: ungebro@kommune.example.dk\n" in "\n" + data, data
        assert "To: anna@kommune.example.dk\n" in data, data
        assert data.endswith(
            "\n\nDu har 1 ny advarsel i Ungebro.\n"
            "Log ind for at se den: https://unge.example.dk/alerts\n\n"
            "You have 1 new alert in Ungebro.\n"
            "Log in to see it: https://unge.example.dk/alerts\n"), data
        assert a1 not in data and a1[:6] not in data
        wait_for(lambda: ("ok", "cw-anna", "sent") in notice_records(hub),
                 10, "notice-mail ok")
        # The relay refuses the recipient: msmtp's reason in hubd's log.
        relay.refuse = True
        hub.restart()                       # no wait for mail_interval
        hub.send(absence(a2, "msmtp-2"))
        hub.wait_log(r"hubd warn HUB-MAIL \S+sendmail failed for the notice "
                     r"to cw-anna \(exit status \d+\)", timeout=15 * SLOW)
        assert "recipient rejected" in hub.log_text(), hub.log_text()
        assert len(relay.got) == 1
    finally:
        relay.close()


def test_a_restart_forgets_the_count_and_when_the_last_notice_went(
        make_hub, tmp_path):
    """OPERATIONS.md, "E-mail notices": counts and each recipient's last
    notice are kept in memory. An alert counted while mail_interval
    holds the next notice back is forgotten by a restart, and the first
    alert after the start is mailed mail_delay later, counting only
    itself, although the last notice went out seconds before."""
    script, out = sendmail_stand_in(tmp_path / "mailhub" / "mail")
    hub = make_hub(name="mailhub",
                   settings={"mail_base_url": "https://inbox.example.dk",
                             "mail_sendmail": str(script),
                             "mail_delay": "1", "mail_interval": "15"})
    hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    a1, a2, a3 = CprGen(7224).take(3)
    for cpr in (a1, a2, a3):
        hub.assign(cpr, "cw-anna")
    hub.send(absence(a1, "restart-1"))
    wait_for(lambda: mails(out), 15 * SLOW, "the first notice",
             interval=0.3)
    hub.send(absence(a2, "restart-2"))      # held back by mail_interval
    hub.wait_stats("two alerts", lambda s: s["alerts_open"] == 2)
    hub.restart()
    hub.send(absence(a3, "restart-3"))
    [_, second] = wait_for(lambda: (lambda m: m if len(m) == 2 else None)(
        mails(out)), 15 * SLOW, "a notice after the restart", interval=0.3)
    assert "Du har 1 ny advarsel" in second, second
    time.sleep(2.5)                         # and no third for a2
    assert len(mails(out)) == 2

def test_an_alert_a_reassignment_moves_in_counts_into_a_notice(make_hub,
                                                              tmp_path):
    """OPERATIONS.md, "E-mail notices": the count is of the alerts new in
    the recipient's list, an open alert a reassignment (RULES.md §7) moves
    to them included: a caseworker who takes over a colleague's persons
    is told their alerts wait. An assignment that moves nothing (the
    alert is with that caseworker already) counts nothing."""
    script, out = sendmail_stand_in(tmp_path / "mailhub" / "mail")
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", name="mailhub",
                    settings={"mail_base_url": "https://inbox.example.dk",
                              "mail_sendmail": str(script),
                              "mail_delay": "0", "mail_interval": "1"})
    hub.hubctl("set-email", "cw-bob", "bob@kommune.example.dk")
    adult = CprGen(7225).born("2001-02-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.assign(adult, "cw-bob", start="2026-09-07")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    [mail] = wait_for(lambda: mails(out), 15 * SLOW, "cw-bob's notice",
                      interval=0.3)
    assert mail.startswith("ARGS: -t -i\nTo: bob@kommune.example.dk\n")
    assert "Du har 1 ny advarsel" in mail, mail
    # The same assignment again moves nothing: no second notice.
    hub.assign(adult, "cw-bob", start="2026-09-07")
    time.sleep(3)
    assert len(mails(out)) == 1, mails(out)


def live_web(hub, *caseworkers):
    """webd for hub (web-1 registered, streams polled each second), the
    caseworkers given PASSWORD."""
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in caseworkers:
        set_password(hub, cw, PASSWORD)
    return Web(hub, events_poll=1)


def test_an_idle_session_ends_with_its_stream_and_a_lockout_expires(
        make_hub):
    """SECURITY.md: a session ends after web_session_idle minutes without
    a request — an open live list does not keep it alive, its stream ends
    with it — and the next page sends the caseworker to log in again
    ("Din session er udløbet."). A locked caseworker id opens again
    login_lockout minutes after its last failure."""
    hub = make_hub(clock="2026-09-07T09:00:00",
                   caseworkers={"cw-anna": False, "cw-bo": False},
                   settings={"web_session_idle": "30",
                             "login_failures_max": "3",
                             "login_lockout": "15"})
    web = live_web(hub, "cw-anna", "cw-bo")
    try:
        session = logged_in(web, "cw-anna")
        head, stream = open_events(web, session)
        assert head.startswith("HTTP/1.1 200"), head
        # 29 minutes with only the stream's polls: still alive.
        hub.advance("2026-09-07T09:29:00")
        time.sleep(2.5)   # a few of webd's polls at the new time
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 200
        # That page was a request: 30 minutes from it the session ends,
        # and the stream with it.
        hub.advance("2026-09-07T09:59:30")
        stream.settimeout(10 * SLOW)
        rest = b""
        while b"event: ended" not in rest:
            chunk = stream.recv(4096)
            if not chunk:
                break
            rest += chunk
        stream.close()
        assert b"event: ended" in rest, rest
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == "/login?ended=1"
        r, page = web.request("GET", "/login?ended=1")
        assert "Din session er udløbet. Log ind igen." in page

        # Three failures lock cw-bo, the right password too ...
        for _ in range(3):
            assert web.raw_login("cw-bo", "not the password")[0].status \
                == 401
        hub.advance("2026-09-07T10:10:00")
        assert web.raw_login("cw-bo", "not the password")[0].status == 429
        r, page = web.raw_login("cw-bo", PASSWORD)[0], None
        assert r.status == 429
        # ... until 15 minutes after the last failure (09:59:30 on the
        # hub's clock; a refused try while locked is no new failure).
        hub.advance("2026-09-07T10:14:00")
        assert web.raw_login("cw-bo", PASSWORD)[0].status == 429
        hub.advance("2026-09-07T10:15:00")
        r, _ = web.raw_login("cw-bo", PASSWORD)
        assert r.status == 303 and r.getheader("Location") == "/alerts"
    finally:
        web.stop()


def read_until(sock, needle, seconds):
    """What the stream sends until `needle` arrives or `seconds` pass."""
    sock.settimeout(0.5)
    data, end = b"", time.monotonic() + seconds
    while needle not in data and time.monotonic() < end:
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            continue
        if not chunk:
            break
        data += chunk
    return data


def test_a_moved_alert_updates_both_live_lists(make_hub):
    """README: new alerts appear in the open list by themselves. An alert
    the desk held that a new contact person takes over (RULES.md §7) is
    new in the contact person's list and gone from the desk's: both
    lists' streams say `event: alerts`, and /alerts/list shows the move."""
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True})
    web = live_web(hub, "cw-anna", "desk-dora")
    streams = []
    try:
        cpr = CprGen(7131).next()
        hub.send(absence(cpr, "moved-1"))
        hub.wait_log(r"HUB-ALERT alert \S+ \(absence.rolling\) raised for "
                     r"duty-desk")
        sessions = {cw: logged_in(web, cw)
                    for cw in ("cw-anna", "desk-dora")}
        r, desk = web.request("GET", "/alerts/list",
                              cookies=sessions["desk-dora"])
        assert r.status == 200 and "absence.rolling" in desk, desk
        r, anna = web.request("GET", "/alerts/list",
                              cookies=sessions["cw-anna"])
        assert "Du har ingen åbne advarsler." in anna, anna
        for cw in ("cw-anna", "desk-dora"):
            head, s = open_events(web, sessions[cw])
            assert head.startswith("HTTP/1.1 200"), head
            streams.append(s)
        time.sleep(1.5)
        hub.assign(cpr, "cw-anna")
        hub.wait_log(r"HUB-REROUTE alert \S+ moved to cw-anna")
        for s in streams:
            got = read_until(s, b"event: alerts", 5 * SLOW + 3)
            assert b"event: alerts" in got, got
        r, anna = web.request("GET", "/alerts/list",
                              cookies=sessions["cw-anna"])
        assert "absence.rolling" in anna, anna
        r, desk = web.request("GET", "/alerts/list",
                              cookies=sessions["desk-dora"])
        assert "Du har ingen åbne advarsler." in desk, desk
    finally:
        for s in streams:
            s.close()
        web.stop()


def test_a_desk_alert_one_member_acknowledges_leaves_the_others_lists(
        make_hub):
    """RULES.md §7: any desk member can take a desk alert. When one
    acknowledges it, the other members' open lists are told at once
    (`event: alerts`), so nobody at the desk takes it up a second time."""
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True,
                                "desk-eva": True})
    web = live_web(hub, "desk-dora", "desk-eva")
    stream = None
    try:
        cpr = CprGen(7132).next()
        hub.send(absence(cpr, "desk-ack-1"))
        hub.wait_log(r"HUB-ALERT alert \S+ \(absence.rolling\) raised for "
                     r"duty-desk")
        sessions = {cw: logged_in(web, cw)
                    for cw in ("desk-dora", "desk-eva")}
        r, page = web.request("GET", "/alerts", cookies=sessions["desk-eva"])
        [hexid] = re.findall(r'href="/alert/([0-9a-f]{18})"', page)
        head, stream = open_events(web, sessions["desk-eva"])
        assert head.startswith("HTTP/1.1 200"), head
        time.sleep(1.5)
        r, page = web.request("GET", f"/alert/{hexid}",
                              cookies=sessions["desk-dora"])
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=sessions["desk-dora"])
        assert r.status == 303
        got = read_until(stream, b"event: alerts", 5 * SLOW + 3)
        assert b"event: alerts" in got, got
        r, frag = web.request("GET", "/alerts/list",
                              cookies=sessions["desk-eva"])
        assert "Du har ingen åbne advarsler." in frag, frag
    finally:
        if stream:
            stream.close()
        web.stop()


def test_a_desk_membership_that_ends_empties_the_open_list(make_hub):
    """OPERATIONS.md: a member of the desk by a DeskMembership valid today
    has the desk's alerts in their list; RULES.md §7: valid on the day.
    When the membership's last day passes, the member's open list is told
    (`event: alerts`) and no longer shows the desk's alerts, as when they
    move out of it; and the next day's member is told they moved in."""
    hub = rules_hub(make_hub, "2026-09-07T23:50:00")
    hub.send(event("youth-a", "", "desk_membership", desk="duty-desk",
                   caseworker="cw-bob", **{"from": "2026-09-01",
                                           "to": "2026-09-07"}),
             event("youth-a", "", "desk_membership", desk="duty-desk",
                   caseworker="cw-anna", **{"from": "2026-09-08"}))
    cpr = CprGen(7145).born("2001-02-03")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_log(r"HUB-ALERT alert \S+ \(dropout\) raised for duty-desk")
    web = live_web(hub, "cw-bob", "cw-anna")
    streams = {}
    try:
        sessions = {cw: logged_in(web, cw) for cw in ("cw-bob", "cw-anna")}
        r, page = web.request("GET", "/alerts/list",
                              cookies=sessions["cw-bob"])
        assert "til vagtteamet" in page, page
        for cw in sessions:
            head, streams[cw] = open_events(web, sessions[cw])
            assert head.startswith("HTTP/1.1 200"), head
        time.sleep(1.5)
        hub.advance("2026-09-08T00:01:00")
        for cw, stream in streams.items():
            got = read_until(stream, b"event: alerts", 5 * SLOW + 3)
            assert b"event: alerts" in got, (cw, got)
        r, page = web.request("GET", "/alerts/list",
                              cookies=sessions["cw-bob"])
        assert "Du har ingen åbne advarsler." in page, page
        r, page = web.request("GET", "/alerts/list",
                              cookies=sessions["cw-anna"])
        assert "til vagtteamet" in page, page
    finally:
        for stream in streams.values():
            stream.close()
        web.stop()


def test_the_owners_ack_takes_its_notices_out_of_the_live_lists(make_hub):
    """OPERATIONS.md, live updates: an escalation notice closed by the
    owner's acknowledgement of the alert (RULES.md §8) leaves the desk's
    and the team lead's open lists, and each is told (`event: alerts`)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-lead"}, escalation=True)
    adult = CprGen(7140).born("2001-02-03")
    escalated_dropout(hub, adult)
    web = live_web(hub, "cw-anna", "desk-dora", "cw-lead")
    streams = {}
    try:
        sessions = {cw: logged_in(web, cw)
                    for cw in ("cw-anna", "desk-dora", "cw-lead")}
        for cw in ("desk-dora", "cw-lead"):
            r, page = web.request("GET", "/alerts", cookies=sessions[cw])
            assert len(re.findall(r'href="/alert/[0-9a-f]{18}"', page)) \
                == 1, (cw, page)
            head, streams[cw] = open_events(web, sessions[cw])
            assert head.startswith("HTTP/1.1 200"), head
        time.sleep(1.5)
        r, page = web.request("GET", "/alerts", cookies=sessions["cw-anna"])
        [hexid] = re.findall(r'href="/alert/([0-9a-f]{18})"', page)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                           cookies=sessions["cw-anna"])
        assert r.status == 303
        for cw, stream in streams.items():
            got = read_until(stream, b"event: alerts", 5 * SLOW + 3)
            assert b"event: alerts" in got, (cw, got)
            r, frag = web.request("GET", "/alerts/list",
                                  cookies=sessions[cw])
            assert "Du har ingen åbne advarsler." in frag, (cw, frag)
    finally:
        for stream in streams.values():
            stream.close()
        web.stop()


def test_a_withdrawn_desk_alert_leaves_the_live_list(make_hub):
    """RULES.md §4: a missed treatment start at the desk is withdrawn,
    without a notice, when the consent stops sharing treatment stages.
    The desk members' open lists are told (`event: alerts`) and no longer
    show it."""
    hub = make_hub(agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "desk-dora": True},
                   clock="2026-09-07T08:00:00")
    web = live_web(hub, "desk-dora")
    stream = None
    try:
        cpr = missed_treatment_at_the_desk(hub, 7133)
        dora = logged_in(web, "desk-dora")
        r, frag = web.request("GET", "/alerts/list", cookies=dora)
        assert "deadline.treatment.missed" in frag, frag
        head, stream = open_events(web, dora)
        assert head.startswith("HTTP/1.1 200"), head
        time.sleep(1.5)
        hub.send(ev_referral(cpr, "2026-09-23", stage="TREATMENT_ENDED",
                             consent={"given": False}))
        hub.wait_log(r"HUB-WITHDRAW alert \S+ withdrawn")
        got = read_until(stream, b"event: alerts", 5 * SLOW + 3)
        assert b"event: alerts" in got, got
        r, frag = web.request("GET", "/alerts/list", cookies=dora)
        assert "Du har ingen åbne advarsler." in frag, frag
    finally:
        if stream:
            stream.close()
        web.stop()


def test_notices_a_withdrawal_closes_leave_the_desks_and_leads_lists(
        make_hub):
    """RULES.md §3: withdrawing an alert closes its open escalation
    notices too; OPERATIONS.md: a withdrawal that takes an alert out of a
    list tells that list's open pages. The notices of cw-anna's addiction
    alert sit in the desk member's and the team lead's lists; when the
    young person withdraws the consent, both streams say `event: alerts`
    and both lists are empty."""
    hub = make_hub(agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "desk-dora": True,
                                "cw-lead": False},
                   rules={"routing.team_lead": "cw-lead"},
                   clock="2026-09-07T08:00:00")
    web = live_web(hub, "desk-dora", "cw-lead")
    streams = []
    try:
        cpr = CprGen(7134).born("2003-04-05")
        hub.assign(cpr, "cw-anna")
        hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
        assert hub.wait_applied()["alerts"] == 1
        # HIGH: 24 office hours to the desk, another 24 to the team lead.
        hub.advance("2026-09-10T09:00:00")
        hub.advance("2026-09-15T09:00:00")
        hub.wait_log(r"HUB-ESCALATE .* to cw-lead")
        sessions = {}
        for cw in ("desk-dora", "cw-lead"):
            sessions[cw] = logged_in(web, cw)
            r, frag = web.request("GET", "/alerts/list",
                                  cookies=sessions[cw])
            assert "An alert you may not read is overdue" in frag, frag
            head, s = open_events(web, sessions[cw])
            assert head.startswith("HTTP/1.1 200"), head
            streams.append(s)
        time.sleep(1.5)
        hub.send(ev_referral(cpr, "2026-09-15", stage="TREATMENT_STARTED",
                             consent={"given": False}))
        hub.wait_log(r"HUB-WITHDRAW alert \S+ withdrawn")
        for s in streams:
            got = read_until(s, b"event: alerts", 5 * SLOW + 3)
            assert b"event: alerts" in got, got
        for cw in ("desk-dora", "cw-lead"):
            r, frag = web.request("GET", "/alerts/list",
                                  cookies=sessions[cw])
            assert "Du har ingen åbne advarsler." in frag, frag
    finally:
        for s in streams:
            s.close()
        web.stop()


def test_an_open_list_left_alone_ends_while_alerts_arrive(make_hub):
    """SECURITY.md: the live list's own work does not count as a request:
    an open page left alone still ends after web_session_idle. New alerts
    arriving in it meanwhile (live.js fetching /alerts/list) do not keep
    the session of an unattended screen alive."""
    hub = make_hub(clock="2026-09-07T09:00:00",
                   caseworkers={"cw-anna": False, "desk-dora": True},
                   settings={"web_session_idle": "30"})
    web = live_web(hub, "cw-anna")
    cpr = CprGen(7135).next()
    hub.assign(cpr, "cw-anna")
    d = chrome(hub, "chromium-unattended")
    try:
        login(d, web, "cw-anna", PASSWORD)
        session = {"ug_session": d.get_cookie("ug_session")["value"]}
        hub.advance("2026-09-07T09:20:00")
        hub.send(absence(cpr, "unattended-1"))
        wait_for(lambda: alert_links(d), 5 * SLOW + 2,
                 "the alert in the open list, live", interval=0.2)
        # 30 minutes after the login, the last thing the caseworker did.
        hub.advance("2026-09-07T09:30:00")
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == "/login?ended=1"
    finally:
        d.quit()
        web.stop()


def test_the_minute_long_mail_waits(make_hub, tmp_path):
    """Four checks that each wait a real minute for a mail setting,
    each on a hub of its own, run at the same time (so the suite spends
    one minute on them, not four); each is checked as its own docstring
    says:

    - mail_delay's default of 60 s
      (a_notice_waits_mail_delay_60_s_by_default);
    - mail_timeout's default of 60 s (mail_timeout_is_60_s_by_default);
    - a notice address that does not open is a failed notice, tried
      again after mail_interval's minute
      (a_notice_address_that_does_not_open_is_a_failed_notice);
    - a notice the MTA refuses is counted into the next, tried after
      mail_interval's minute, and the MTA gets none of hubd's files
      (a_failed_notice_counts_into_the_next_and_the_mta_gets_no_store)."""
    together(
        lambda: a_notice_waits_mail_delay_60_s_by_default(make_hub, tmp_path),
        lambda: mail_timeout_is_60_s_by_default(make_hub, tmp_path),
        lambda: a_notice_address_that_does_not_open_is_a_failed_notice(
            make_hub, tmp_path),
        lambda:
        a_failed_notice_counts_into_the_next_and_the_mta_gets_no_store(
            make_hub, tmp_path))


def a_notice_waits_mail_delay_60_s_by_default(make_hub, tmp_path):
    """hubd --help and OPERATIONS.md, "E-mail notices of new alerts":
    mail_delay defaults to 60 seconds: the notice is not handed to
    sendmail before a minute after the first new alert, and then it is."""
    script, out = sendmail_stand_in(tmp_path / "delaymail" / "mail")
    hub = make_hub(name="delaymail",
                   settings={"mail_base_url": "https://unge.example.dk",
                             "mail_sendmail": str(script)})
    hub.hubctl("set-email", "duty-desk", "vagt@kommune.example.dk")
    cpr = CprGen(7209).next()
    hub.cprs.add(cpr)
    hub.send(absence(cpr, "delay-mail"))
    hub.wait_stats("the alert", lambda s: s["alerts_open"] == 1)
    seen = time.monotonic()
    # The alert was raised before it was seen: 55 s on is under 60 s
    # after it, with room for a slow look.
    wait_for(lambda: time.monotonic() - seen >= 55 or mails(out), 60,
             "55 s", interval=0.5)
    assert mails(out) == [], "a notice before mail_delay's 60 s"
    [mail] = wait_for(lambda: mails(out), 20 * SLOW, "the notice",
                      interval=0.3)
    assert "Subject: Ungebro: 1 ny advarsel / 1 new alert" in mail


def mail_timeout_is_60_s_by_default(make_hub, tmp_path):
    """hubd --help: mail_timeout (default 60) seconds a sendmail may run
    before hubd kills it: one that hangs runs past 55 s, and is then
    killed and said `timed out after 60 s`."""
    d = tmp_path / "hangmail" / "mail"
    d.mkdir(parents=True)
    script = d / "sendmail"
    script.write_text("#!/bin/sh\ncat > /dev/null\nexec sleep 600\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    hub = anna_mail_hub(make_hub, script, name="hangmail")
    a1 = CprGen(7229).next()
    hub.assign(a1, "cw-anna")
    hub.send(absence(a1, "hang-60"))
    hub.wait_log(r"HUB-MAIL notice of 1 new alert\(s\) for cw-anna")
    started = time.monotonic()
    hub.wait_log(r"hubd warn HUB-MAIL \S+sendmail failed for the notice to "
                 r"cw-anna \(timed out after 60 s\)", timeout=80 * SLOW)
    assert time.monotonic() - started >= 55
