"""150 the web inbox, a seventh round as caseworkers, the duty desk and
team leads use it: what OPERATIONS.md ("The web inbox (webd)") promises
that the earlier web rounds do not assert exactly. Real hubd, real webd
(test_70's helpers), raw HTTP where the doc describes requests and
answers."""

import html
import re

from hubtest import CprGen
# pytestmark: the same skip as test_70 (no browser, no test).
from test_70_web import (PASSWORD, Web, pytestmark,  # noqa: F401
                         session_cookie, set_password, web_hub)
from test_70_web import anna_with_a_person, open_new_alert
from test_140_web_sixth import open_events
from test_60_store_at_rest import readers_taken

NO_ANSWER = {"da": "Hubben svarer ikke lige nu. Prøv igen om lidt.",
             "en": "The hub does not answer right now. Try again shortly."}


def logged_in(web, caseworker="cw-anna"):
    return {"ug_session":
            session_cookie(web.raw_login(caseworker, PASSWORD)[1])}


def lang_link(page):
    """The page's own language link (the one marked with its language)."""
    m = re.search(r'<a href="([^"]*)" lang="(?:da|en)">', page)
    assert m, page
    return m.group(1).replace("&amp;", "&")


def test_a_too_large_form_to_what_is_no_page_links_to_a_page(make_hub):
    """OPERATIONS.md: "the page's own language link keeps the page where
    it is ..., except on a page that answers a form, which is not in its
    address". A body over 16 KiB is `413`, a page of the session; sent
    to what answers scripts, not pages (`POST /session`, `/events`,
    `/alerts/list`, the static files), its language link may not lead
    to that address (JSON, a stream, the list alone, a script): it leads
    to a page, the list, in the other language — with or without a
    session; so does a `403` or `404` answering a POST there."""
    hub = web_hub(make_hub)
    web = Web(hub, name="webd-413")
    try:
        anna = logged_in(web)
        page = web.request("GET", "/alerts", cookies=anna)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        for cookies in (anna, None):
            for path in ("/session", "/events", "/alerts/list"):
                r, page = web.request("POST", path,
                                      {"csrf": csrf, "x": "y" * 17000},
                                      cookies=cookies)
                assert r.status == 413, (path, r.status)
                link = lang_link(page)
                assert link == "/alerts?lang=en", (path, link)
                r, page = web.request("GET", link, cookies=cookies)
                if cookies:
                    assert r.status == 200 and '<html lang="en">' in page \
                        and "<h1" in page, (path, r.status, page)
                else:
                    assert r.status == 303 and \
                        r.getheader("Location").startswith("/login"), \
                        (path, r.status)
        # So does any page answering a POST there: a 403 (no CSRF token),
        # a 404 (a POST, with the token, to what takes none).
        for path, form, status in (("/session", {}, 403),
                                   ("/events", {"csrf": csrf}, 404),
                                   ("/alerts/list", {"csrf": csrf}, 404),
                                   ("/static/live.js", {"csrf": csrf}, 404),
                                   ("/static/app.css", {}, 403)):
            r, page = web.request("POST", path, form, cookies=anna)
            assert r.status == status and \
                lang_link(page) == "/alerts?lang=en", (path, r.status)
        # A form to a page keeps its address: the timeline form.
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": "x" * 17000},
                              cookies=anna)
        assert r.status == 413 and lang_link(page) == "?lang=en"
    finally:
        web.stop()


def errors_of(page):
    """The texts of the page's role="alert" paragraphs, the empty one
    live.js fills (the warning before the idle end) left out."""
    return [html.unescape(t) for t in
            re.findall(r'role="alert"[^>]*>(.*?)</p>', page, re.S) if t]


def csrf_of(web, session):
    page = web.request("GET", "/timeline", cookies=session)[1]
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def test_every_page_while_the_hub_is_down_and_after_it_restarts(make_hub):
    """OPERATIONS.md: while hubd is stopped a page is `503` "Hubben svarer
    ikke lige nu. Prøv igen om lidt." (English after ?lang=en), an
    action's and an acknowledgement's form come back as sent without the
    alert's facts, a login is the login page with its form (the empty
    timeline form too, which asks hubd as any page does), `GET
    /session` answers from what webd knows, `POST /session` and
    `/events` are `503`; webd logs `WEB-HUB request not sent: no
    connection to the hub`. An open list's stream stays while hubd is
    stopped and ends seconds after it answers again, `GET /session` then
    says `left` 0; after the restart each session's first page or form
    leads to `/login?ended=1` with the cookie cleared, what scripts ask
    for (`/alerts/list`, `POST /session`) is `401`."""
    hub, cpr = anna_with_a_person(make_hub, 1501)
    # Each request while hubd is down takes hub_timeout; 1 s could fail
    # the logins before it on a busy machine.
    web = Web(hub, name="webd-down", hub_timeout=2)
    try:
        anna = logged_in(web)
        hexid, csrf = open_new_alert(hub, web, anna, cpr, "down")
        others = [logged_in(web) for _ in range(6)]
        other_csrf = [csrf_of(web, s) for s in others]
        stream = open_events(web, anna)
        hub.stop()
        for lang, path in (("en", "/alerts?lang=en"),
                           ("da", f"/alert/{hexid}?lang=da")):
            r, page = web.request("GET", path, cookies=anna)
            assert r.status == 503 and \
                errors_of(page) == [NO_ANSWER[lang]], (path, page)
        # The empty timeline form asks hubd too (a request in the
        # session): 503 with the form, to send once the hub is back.
        r, page = web.request("GET", "/timeline", cookies=anna)
        assert r.status == 503 and errors_of(page) == [NO_ANSWER["da"]] \
            and 'name="cpr"' in page, (r.status, errors_of(page))
        r, page = web.request("POST", "/timeline?lang=da",
                              {"csrf": csrf, "cpr": cpr}, cookies=anna)
        assert r.status == 503 and errors_of(page) == [NO_ANSWER["da"]]
        # Nothing of the timeline; the CPR stays in its field to send
        # again.
        assert f'value="{cpr}"' in page
        r, page = web.request("POST", f"/alert/{hexid}/action",
                              {"csrf": csrf, "kind": "offer",
                               "how": "ringede til moren", "note": "n1"},
                              cookies=anna)
        assert r.status == 503 and \
            errors_of(page) == ["Handlingen blev ikke gemt: " +
                                NO_ANSWER["da"]], page
        assert "ringede til moren" in page and \
            re.search(r'value="offer" checked', page) and \
            "Hvorfor advarslen kom" not in page
        r, page = web.request("POST", f"/alert/{hexid}/ack",
                              {"csrf": csrf, "note": "kvitteret æ"},
                              cookies=anna)
        assert r.status == 503 and errors_of(page) == [NO_ANSWER["da"]]
        assert "kvitteret æ" in page and "Hvorfor advarslen kom" not in page
        r, body = web.request("GET", "/session", cookies=anna)
        assert r.status == 200 and re.fullmatch(
            r'\{"left":\d+,"warn":120\}\s*', body), body
        r, _ = web.request("POST", "/session", {"csrf": csrf}, cookies=anna)
        assert r.status == 503
        r, _ = web.request("GET", "/events", cookies=others[0])
        assert r.status == 503
        pre, login_csrf = web.login_form()
        r, page = web.request("POST", "/login",
                              {"csrf": login_csrf, "caseworker": "cw-anna",
                               "password": PASSWORD},
                              cookies={"ug_pre": pre})
        assert r.status == 503 and errors_of(page) == [NO_ANSWER["da"]] \
            and 'name="password"' in page
        log = (hub.logs_dir / "webd-down.log").read_text()
        assert "webd warn WEB-HUB request not sent: no connection to the " \
            "hub" in log, log
        # The list's stream stayed open while hubd was stopped.
        stream.setblocking(False)
        try:
            said = stream.recv(4096)
            assert said and b"event: ended" not in said, said
        except BlockingIOError:
            pass
        stream.setblocking(True)
        stream.settimeout(30)
        hub.start()
        said = b""
        while b"event: ended" not in said:
            chunk = stream.recv(4096)
            assert chunk, said
            said += chunk
        stream.close()
        r, body = web.request("GET", "/session", cookies=anna)
        assert r.status == 200 and body.startswith('{"left":0,'), body
        r, _ = web.request("GET", "/alerts", cookies=anna)
        assert r.status == 303 and \
            r.getheader("Location") == "/login?ended=1"
        # A page was told the hub ended it: webd holds it no more.
        r, _ = web.request("GET", "/session", cookies=anna)
        assert r.status == 401
        firsts = (("GET", f"/alert/{hexid}", None),
                  ("GET", "/timeline", None),
                  ("POST", "/timeline", {"cpr": cpr}),
                  ("POST", f"/alert/{hexid}/action",
                   {"kind": "contact", "how": "x"}),
                  ("POST", f"/alert/{hexid}/ack", {"note": ""}))
        for (method, path, form), s, token in zip(firsts, others,
                                                  other_csrf):
            if form is not None:
                form = dict(form, csrf=token)
            r, _ = web.request(method, path, form, cookies=s)
            assert r.status == 303 and \
                r.getheader("Location") == "/login?ended=1", (path, r.status)
            assert "ug_session=;" in r.getheader("Set-Cookie")
        r, _ = web.request("GET", "/alerts/list", cookies=others[5])
        assert r.status == 401
        r, _ = web.request("POST", "/session", {"csrf": other_csrf[5]},
                           cookies=others[5])
        assert r.status == 401
        # "a request made while hubd is down is dropped, not sent when it
        # is back: what the caseworker was told failed did not happen":
        # the alert is open, the action typed then is nowhere.
        again = logged_in(web)
        r, page = web.request("GET", "/alerts", cookies=again)
        assert r.status == 200 and f'href="/alert/{hexid}"' in page
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf_of(web, again), "cpr": cpr},
                              cookies=again)
        assert r.status == 200 and f'href="/alert/{hexid}"' in page
        assert "ringede til moren" not in page and "offer" not in page, \
            page
    finally:
        web.stop()


def test_a_locked_id_and_a_form_without_its_token_say_so_exactly(make_hub):
    """OPERATIONS.md: a locked id is `429` "For mange mislykkede forsøg.
    Vent lidt, og prøv igen." on the login page — the right password
    too, once `login_failures_max` failures locked it —, while a wrong
    password before that is `401` "Forkert sagsbehandler-id eller
    adgangskode."; a POST in a session without the form's CSRF token is
    `403` "Formularen er udløbet eller ugyldig. Gå tilbage, genindlæs
    siden og prøv igen." and does nothing, logged `WEB-CSRF POST PATH
    without a valid CSRF token refused` (warn); a login the hub cannot
    check, its store unreadable, is `503` "Hubbens data kan ikke læses
    lige nu. ..." (here in English), logged `WEB-LOGIN login not checked:
    the hub cannot read its store`, and no failed login."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False},
                  settings={"login_failures_max": "2"})
    set_password(hub, "cw-bo", PASSWORD)
    cpr = CprGen(1504).next()
    hub.assign(cpr, "cw-anna")
    web = Web(hub, name="webd-lock")
    try:
        anna = logged_in(web)
        hexid, csrf = open_new_alert(hub, web, anna, cpr, "lock")
        for path, form in ((f"/alert/{hexid}/ack", {"note": "x"}),
                           (f"/alert/{hexid}/ack", {"csrf": "0" * 32})):
            r, page = web.request("POST", path, form, cookies=anna)
            assert r.status == 403 and errors_of(page) == [
                "Formularen er udløbet eller ugyldig. Gå tilbage, "
                "genindlæs siden og prøv igen."], page
        log = (hub.logs_dir / "webd-lock.log").read_text()
        assert log.count(f"webd warn WEB-CSRF POST /alert/{hexid}/ack "
                         "without a valid CSRF token refused") == 2, log
        # Nothing was done: the alert is still open.
        r, page = web.request("GET", "/alerts", cookies=anna)
        assert f'href="/alert/{hexid}"' in page

        def login(password):
            pre, token = web.login_form()
            r, page = web.request("POST", "/login",
                                  {"csrf": token, "caseworker": "cw-bo",
                                   "password": password},
                                  cookies={"ug_pre": pre})
            return r.status, errors_of(page), 'name="password"' in page

        # A login the hub cannot check (its store unreadable) is 503 on
        # the login page, in the page's language, and logged; it is no
        # failed login, so cw-bo is not a step nearer the lock.
        with readers_taken(hub.data_dir / "log"):
            pre, token = web.login_form()
            r, page = web.request("POST", "/login?lang=en",
                                  {"csrf": token, "caseworker": "cw-bo",
                                   "password": "not it"},
                                  cookies={"ug_pre": pre})
        assert r.status == 503 and errors_of(page) == [
            "The hub's data cannot be read right now. Contact IT operations "
            "and say which page it is; trying again does not help."], page
        assert 'name="password"' in page
        log = (hub.logs_dir / "webd-lock.log").read_text()
        assert "webd warn WEB-LOGIN login not checked: the hub cannot read "\
            "its store" in log, log
        wrong = (401, ["Forkert sagsbehandler-id eller adgangskode."], True)
        assert login("not it") == wrong
        assert login("not it either") == wrong
        locked = (429, ["For mange mislykkede forsøg. Vent lidt, og prøv "
                        "igen."], True)
        assert login("still not it") == locked
        assert login(PASSWORD) == locked
    finally:
        web.stop()


def test_what_a_caseworker_is_told_in_english(make_hub):
    """OPERATIONS.md quotes the English of each message a form leads to:
    an action sent without a kind is `400` "Choose what happened: contact
    made, offer made or could not reach." with nothing chosen again; one
    stored leads (`303`) to `/alert/ID?msg=saved`, "The action is
    saved."; an acknowledgement to `/alerts?msg=acked`, "The alert is
    acknowledged."; a later page of the list whose alerts are gone says
    "There are no more open alerts." with the link "To the first
    alerts" to the first page."""
    hub, cpr = anna_with_a_person(make_hub, 1505)
    web = Web(hub, name="webd-en")
    try:
        # The cookie ?lang=en sets, as a browser sends it back.
        anna = dict(logged_in(web), ug_lang="en")
        hexid, csrf = open_new_alert(hub, web, anna, cpr, "en")
        r, page = web.request("POST", f"/alert/{hexid}/action",
                              {"csrf": csrf, "how": "phoned her"},
                              cookies=anna)
        assert r.status == 400 and errors_of(page) == [
            "The action was not saved: Choose what happened: contact "
            "made, offer made or could not reach."], errors_of(page)
        assert " checked" not in page and "phoned her" in page
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           {"csrf": csrf, "kind": "contact",
                            "how": "phoned her"}, cookies=anna)
        assert r.status == 303 and \
            r.getheader("Location") == f"/alert/{hexid}?msg=saved"
        r, page = web.request("GET", f"/alert/{hexid}?msg=saved",
                              cookies=anna)
        assert r.status == 200 and "The action is saved." in page
        r, _ = web.request("POST", f"/alert/{hexid}/ack",
                           {"csrf": csrf, "note": ""}, cookies=anna)
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=acked"
        r, page = web.request("GET", "/alerts?msg=acked", cookies=anna)
        assert "The alert is acknowledged." in page
        r, page = web.request("GET", "/alerts?from=50", cookies=anna)
        assert r.status == 200 and "There are no more open alerts." in page
        assert '<a href="/alerts">To the first alerts</a>' in page, page
    finally:
        web.stop()
