"""128 the web inbox, a fifth round as caseworkers, the duty desk and
team leads use it: what OPERATIONS.md ("The web inbox (webd)") and
SECURITY.md promise that tests 70, 71, 90, 102, 106, 111 and 118 do not
assert exactly. Real hubd, real webd (test_70's helpers), raw HTTP where
the doc describes requests and answers."""

import re
import signal
import socket
import subprocess
import time

from hubtest import (SLOW, CprGen, binary, escalated_dropout, ev_dropout,
                     rules_hub)
# pytestmark: the same skip as test_70 (no browser, no test).
from test_70_web import (HAVE_SELENIUM, PASSWORD, Web,  # noqa: F401
                         alerts_listed, chrome, errors_of, login,
                         notices_of, open_new_alert, pytestmark,
                         session_cookie, set_password, submit, text_of,
                         web_hub)

if HAVE_SELENIUM:
    from selenium.webdriver.common.by import By


def escalation_web_hub(make_hub, *caseworkers, **rules):
    """A rules hub on 2026-09-07 with escalation on, the gateway web-1
    registered and each caseworker's web password set."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=rules or None,
                    escalation=True)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in caseworkers:
        set_password(hub, cw, PASSWORD)
    return hub


def logged_in(web, caseworker):
    """A session of caseworker's. Some tests here give webd a hub_timeout
    of 1 s, which a password check can exceed on a loaded machine (the
    login page comes back without a session): tried up to 3 times."""
    for _ in range(3):
        cookies = web.raw_login(caseworker, PASSWORD)[1]
        if any(c.startswith("ug_session=") for c in cookies):
            break
    return {"ug_session": session_cookie(cookies)}


def open_events(web, session, with_head=False):
    """GET /events on a raw socket, its answer's head read: the socket
    (and with with_head the head too)."""
    s = socket.create_connection(("127.0.0.1", web.port), timeout=10)
    s.sendall(f"GET /events HTTP/1.1\r\nHost: x\r\n"
              f"Cookie: ug_session={session['ug_session']}\r\n\r\n"
              .encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return (s, head) if with_head else s


def ack(web, hexid, session):
    """Acknowledge from the alert's page, as its form does: the answer's
    status and Location."""
    page = web.request("GET", f"/alert/{hexid}", cookies=session)[1]
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    r, _ = web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                       cookies=session)
    return r.status, r.getheader("Location")



def three_caseworkers_two_places(make_hub):
    """A web hub of cw-anna, cw-bo and cw-cai (each with PASSWORD) and
    places for 2 web sessions (web_sessions_max), and webd: (hub, web)."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False,
                                         "cw-cai": False},
                  settings={"web_sessions_max": "2"})
    for cw in ("cw-bo", "cw-cai"):
        set_password(hub, cw, PASSWORD)
    return hub, Web(hub)

def test_a_desk_member_acks_the_desks_notice_of_an_alert_now_the_desks(
        make_hub):
    """OPERATIONS.md (the list of open alerts), RULES.md §8: a member's
    acknowledgement of the desk's notice of an alert that moved to the
    desk after the notice went out acknowledges that alert too: both
    leave the list, "Advarslen er kvitteret."."""
    hub = escalation_web_hub(make_hub, "desk-dora")
    adult = CprGen(12801).born("2001-02-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T08:00:00")    # the desk's notice
    # cw-anna's assignment ends on 09-10: the alert is the desk's on 09-11.
    hub.assign(adult, "cw-anna", end="2026-09-10")
    hub.advance("2026-09-11T08:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to duty-desk")
    web = Web(hub)
    try:
        dora = logged_in(web, "desk-dora")
        listed = alerts_listed(web, dora)
        [notice] = [i for i in listed if i.endswith("44")]
        original = notice[:-2] + "04"
        assert sorted(listed) == sorted([original, notice]), listed
        page = web.request("GET", "/alerts", cookies=dora)[1]
        assert page.count("til vagtteamet") == 2, page
        assert ack(web, notice, dora) == (303, "/alerts?msg=acked")
        r, page = web.request("GET", "/alerts?msg=acked", cookies=dora)
        assert notices_of(page) == ["Advarslen er kvitteret.",
                                    "Du har ingen åbne advarsler."], page
        r, page = web.request("GET", f"/alert/{original}", cookies=dora)
        assert r.status == 404
    finally:
        web.stop()
    hub.wait_log(r"HUB-ALERT-ACK desk-dora acknowledged the desk's notice "
                 r"of the desk's own alert %s: taken as the alert's"
                 % original)


def test_a_team_lead_acks_their_notice_of_an_alert_now_theirs(make_hub):
    """RULES.md §8, OPERATIONS.md: the team lead's notice sent before the
    alert moved to the team lead (a reassignment) is of their own alert
    from then on: their acknowledgement of it in the web inbox
    acknowledges the alert and closes the desk's notice too, so it leaves
    a desk member's list."""
    hub = escalation_web_hub(make_hub, "cw-lead", "desk-dora",
                             **{"routing.team_lead": "cw-lead"})
    adult = CprGen(12802).born("2001-02-03")
    escalated_dropout(hub, adult)
    hub.assign(adult, "cw-lead", start="2026-09-16")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-lead")
    web = Web(hub)
    try:
        lead, dora = logged_in(web, "cw-lead"), logged_in(web, "desk-dora")
        listed = alerts_listed(web, lead)
        [notice] = [i for i in listed if i.endswith("84")]
        original, desks = notice[:-2] + "04", notice[:-2] + "44"
        assert sorted(listed) == sorted([original, notice]), listed
        assert alerts_listed(web, dora) == [desks]
        assert ack(web, notice, lead) == (303, "/alerts?msg=acked")
        r, page = web.request("GET", "/alerts?msg=acked", cookies=lead)
        assert notices_of(page) == ["Advarslen er kvitteret.",
                                    "Du har ingen åbne advarsler."], page
        assert alerts_listed(web, dora) == []
    finally:
        web.stop()
    hub.wait_log(r"HUB-ALERT-ACK cw-lead acknowledged the team lead's notice "
                 r"of their own alert %s: taken as the alert's" % original)


def test_a_login_that_takes_the_hubs_last_place_ends_the_idlest(make_hub):
    """SECURITY.md "Sessions", OPERATIONS.md "What the pages answer": a
    session ends when the table of `web_sessions_max` sessions is full
    and a login takes the place of the one idle longest; the hub ended
    it, so its browser's next page leads to /login?ended=1 ("Din session
    er udløbet. Log ind igen."), while the others go on."""
    hub, web = three_caseworkers_two_places(make_hub)
    try:
        anna = logged_in(web, "cw-anna")
        bo = logged_in(web, "cw-bo")
        time.sleep(0.1)
        assert web.request("GET", "/alerts", cookies=anna)[0].status == 200
        cai = logged_in(web, "cw-cai")      # bo's is the idlest: it ends
        r, _ = web.request("GET", "/alerts", cookies=bo)
        assert (r.status, r.getheader("Location")) == (303,
                                                       "/login?ended=1")
        r, page = web.request("GET", "/login?ended=1")
        assert notices_of(page) == ["Din session er udløbet. Log ind igen."]
        for s in (anna, cai):
            assert web.request("GET", "/alerts", cookies=s)[0].status == 200
    finally:
        web.stop()
    hub.wait_log(r"HUB-WEB web session of cw-bo ended: full")


def test_a_stream_is_kept_alive_every_15_s_and_refused_while_hubd_is_mute(
        make_hub):
    """OPERATIONS.md, live updates: `GET /events` is `503` when hubd does
    not answer (within `hub_timeout`), and every 15 s a comment line
    keeps an open stream alive, a stopped hub or not. While the first
    one is awaited, the parts below run on webds of their own beside it
    (the file's time is short)."""
    hub = web_hub(make_hub)
    web = Web(hub, hub_timeout=1)
    try:
        anna = logged_in(web, "cw-anna")
        stream = open_events(web, anna)
        opened = time.monotonic()
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            r, _ = web.request("GET", "/events", cookies=anna)
            assert r.status == 503
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        # The first comment comes 15 s after the stream opened: what
        # else this file asserts of webd runs meanwhile, each part on a
        # webd of its own beside this one.
        a_form_too_large_in_a_session_is_a_page_of_the_session(hub)
        log_level_warn_in_any_case_keeps_only_warnings(hub)
        busy = time.monotonic() - opened
        stream.settimeout(20)
        said = b""
        while b"\n: ping\n" not in said and b": ping" not in said:
            chunk = stream.recv(4096)
            assert chunk, said
            said += chunk
        waited = time.monotonic() - opened
        stream.close()
        # (A ping that came while the parts above still ran has waited
        # for them in the socket.)
        assert 14 <= waited and (busy > 14 or waited < 15 + 6 * SLOW), \
            (waited, busy)
        # The comment is the stream's only line since it opened: no
        # event, no data.
        assert b"event:" not in said and b"data:" not in said, said
    finally:
        web.stop()


def a_form_too_large_in_a_session_is_a_page_of_the_session(hub):
    """OPERATIONS.md: a body over 16 KiB is `413` ("Formularen er for stor
    (højst 16 KiB). Gå tilbage, gør teksten kortere og prøv igen."), and
    every page in a session loads /static/live.js (the warning before the
    idle end; SECURITY.md: "on every page in a session"). An action's
    `how` and note take text of any length, so a caseworker who pastes a
    long text gets this page in their session: with the menu, "Log ud"
    and the script, as any page of theirs; without a session it is the
    page alone."""
    web = Web(hub, name="webd-large")
    try:
        anna = logged_in(web, "cw-anna")
        page = web.request("GET", "/timeline", cookies=anna)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        for lang, said in (
                ("da", "Formularen er for stor (højst 16 KiB). Gå tilbage, "
                       "gør teksten kortere og prøv igen."),
                ("en", "The form is too large (at most 16 KiB). Go back, "
                       "shorten the text and try again.")):
            r, page = web.request("POST", f"/timeline?lang={lang}",
                                  {"csrf": csrf, "cpr": "x" * 17000},
                                  cookies=anna)
            assert r.status == 413 and errors_of(page) == [said], page
            assert page.count("<h1") == 1
            assert '<script src="/static/live.js"></script>' in page, page
            assert 'id="session-warning"' in page and \
                'action="/logout"' in page and 'href="/alerts"' in page
            assert f'name="csrf" value="{csrf}"' in page
        # Nothing of the session without its cookie.
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": "x" * 17000})
        assert r.status == 413 and "live.js" not in page and \
            'action="/logout"' not in page
    finally:
        web.stop()


def test_webd_logs_a_hub_that_is_down_and_a_key_it_refuses(make_hub):
    """OPERATIONS.md, "Monitoring" (webd's message ids): a page asked for
    while hubd is stopped is 503 "Hubben svarer ikke lige nu. Prøv igen om
    lidt." and logged `WEB-HUB request not sent: no connection to the
    hub` (warn); once a restart ended the session, its page leads to
    /login?ended=1. A page whose frame the hub refuses for the gateway's
    key (revoke-gateway) is logged `request refused: the hub refuses this
    gateway's key (revoked or replaced: hubctl register-gateway); its
    session ended` (warn) and leads to /login?ended=1 too."""
    hub = web_hub(make_hub)
    web = Web(hub, hub_timeout=1)
    try:
        anna = logged_in(web, "cw-anna")
        hub.stop()
        r, page = web.request("GET", "/alerts", cookies=anna)
        assert r.status == 503 and errors_of(page) == [
            "Hubben svarer ikke lige nu. Prøv igen om lidt."], page
        hub.start()
        r, _ = web.request("GET", "/alerts", cookies=anna)
        assert (r.status, r.getheader("Location")) == (303,
                                                       "/login?ended=1")
        anna = logged_in(web, "cw-anna")
        hub.hubctl("revoke-gateway", "web-1")
        hub.wait_log(r"HUB-WEB web session of cw-anna ended: revoked")
        r, _ = web.request("GET", "/alerts", cookies=anna)
        assert (r.status, r.getheader("Location")) == (303,
                                                       "/login?ended=1")
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    for line in ("webd warn WEB-HUB request not sent: no connection to the "
                 "hub\n",
                 "webd warn WEB-HUB request refused: the hub refuses this "
                 "gateway's key (revoked or replaced: hubctl "
                 "register-gateway); its session ended\n"):
        assert line in log, (line, log)


def log_level_warn_in_any_case_keeps_only_warnings(hub):
    """OPERATIONS.md, webd's settings: `log_level` is err, warn, notice,
    info or debug, in any case. At `WARN` webd's info lines (`WEB-START`,
    `WEB-LOGIN ... logged in`, `WEB-STOP stopped`) are not logged; a
    warning (`WEB-CSRF POST PATH without a valid CSRF token refused`) is."""
    web = Web(hub, name="webd-warn", log_level="WARN")
    try:
        anna = logged_in(web, "cw-anna")
        r, _ = web.request("POST", "/timeline", {"csrf": "00"},
                           cookies=anna)
        assert r.status == 403
    finally:
        web.stop()
    log = (hub.logs_dir / "webd-warn.log").read_text()
    assert log.splitlines() != [] and all(
        " webd warn " in line for line in log.splitlines()), log
    assert "webd warn WEB-CSRF POST /timeline without a valid CSRF token " \
        "refused" in log, log


def test_32_streams_and_64_connections_by_default(make_hub):
    """OPERATIONS.md, webd's settings: `streams_max` is 32 by default (one
    more stream is answered 503, and pages still load) and
    `connections_max` 64 (live-update streams included; a connection
    beyond them is closed unanswered, logged `WEB-HTTP Server reached
    connection limit. Closing inbound connection.`). A HEAD of
    /events answers as its GET would, without a body."""
    hub = web_hub(make_hub)
    web = Web(hub)
    streams, held = [], []
    try:
        anna = logged_in(web, "cw-anna")
        for _ in range(32):
            streams.append(open_events(web, anna, with_head=True))
        assert all(h.startswith(b"HTTP/1.1 200") for _, h in streams)
        r, _ = web.request("GET", "/events", cookies=anna)
        assert r.status == 503
        assert web.request("GET", "/alerts", cookies=anna)[0].status == 200
        # HEAD: the GET's status and headers, and no body (SECURITY.md,
        # the headers on every answer), also for /events.
        streams.pop()[0].close()
        time.sleep(1.5 * SLOW)  # its place given up
        probe = socket.create_connection(("127.0.0.1", web.port),
                                         timeout=10)
        probe.sendall(f"HEAD /events HTTP/1.1\r\nHost: x\r\nCookie: "
                      f"ug_session={anna['ug_session']}\r\n\r\n".encode())
        said = b""
        while True:
            chunk = probe.recv(4096)
            if not chunk:
                break
            said += chunk
        probe.close()
        head, _, body = said.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200") and \
            b"Content-Type: text/event-stream" in head, said
        assert body == b"", said
        # The HEAD held no stream's place: the 32nd stream opens.
        streams.append(open_events(web, anna, with_head=True))
        assert streams[-1][1].startswith(b"HTTP/1.1 200"), streams[-1][1]
        # 32 streams and 32 idle connections: 64 in all.
        for _ in range(32):
            held.append(socket.create_connection(("127.0.0.1", web.port)))
        time.sleep(1 * SLOW)    # all accepted by webd
        extra = socket.create_connection(("127.0.0.1", web.port))
        extra.settimeout(10)
        extra.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            said = extra.recv(100)
        except ConnectionResetError:
            said = b""
        extra.close()
        assert said == b"", said
    finally:
        for s in held + [s for s, _ in streams]:
            s.close()
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    assert "webd warn WEB-HTTP Server reached connection limit. Closing " \
        "inbound connection.\n" in log, log


def test_a_long_text_pasted_into_an_action_in_a_browser(make_hub):
    """OPERATIONS.md: the form's `how` takes text of any length, so a
    browser sends what was pasted; over 16 KiB the answer is the 413 page
    ("Formularen er for stor ...") in the caseworker's session: its menu
    and "Log ud" are there to go on from, and nothing was saved."""
    hub = web_hub(make_hub)
    cpr = CprGen(12803).next()
    hub.assign(cpr, "cw-anna")
    web = Web(hub)
    d = chrome(hub, "long-how")
    try:
        session = logged_in(web, "cw-anna")
        hexid, _ = open_new_alert(hub, web, session, cpr, "long-how")
        login(d, web, "cw-anna", PASSWORD)
        d.get(f"{web.base}/alert/{hexid}")
        d.find_element(By.ID, "kind-offer").click()
        d.execute_script("document.getElementById('how').value = "
                         "'praktik '.repeat(2200)")
        submit(d, "save-action")
        assert "Formularen er for stor (højst 16 KiB). Gå tilbage, gør " \
            "teksten kortere og prøv igen." in text_of(d)
        assert d.find_element(By.ID, "logout").text == "Log ud"
        assert d.find_element(By.ID, "session-warning").get_attribute(
            "hidden") is not None
        d.find_element(By.LINK_TEXT, "Åbne advarsler").click()
        assert d.current_url == f"{web.base}/alerts"
        assert alerts_listed(web, session) == [hexid]
    finally:
        d.quit()
        web.stop()
    audit = hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    assert not re.search(r"\baction\b", audit), audit


def test_keys_dir_is_var_keys_of_the_start_directory_by_default(tmp_path):
    """OPERATIONS.md, webd's settings: `keys_dir` is `./var/keys` by
    default, taken from the directory webd is started in; keys that
    cannot be read are exit 1 naming the file."""
    p = subprocess.run([binary("webd"), "--gateway", "web-1"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=10 * SLOW)
    assert (p.returncode, p.stderr) == (
        1, "webd: cannot open ./var/keys/hub.key: No such file or "
           "directory\n"), p
