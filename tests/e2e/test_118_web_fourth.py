"""118 the web inbox, a fourth round as caseworkers, the duty desk and
team leads use it: what OPERATIONS.md ("The web inbox (webd)") and
SECURITY.md promise that tests 70, 71, 90, 102 and 106 do not assert
exactly. Real hubd, real webd (test_70's helpers): raw HTTP where the doc
describes requests and answers."""

import html
import re

from hubtest import (SLOW, CprGen, envelope, ev_absence, ev_desk, ev_dropout,
                     ev_dropout_risk, ev_referral, rules_hub, wait_for)
# pytestmark: the same skip as test_70 (no browser, no test).
from test_70_web import (HAVE_SELENIUM, PASSWORD, Web, anna_session,
                         chrome, errors_of, login, notices_of,  # noqa: F401
                         open_new_alert, pytestmark, session_cookie,
                         set_password, web_hub)

if HAVE_SELENIUM:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys


def lang_link(page):
    """The href of the page's own language link."""
    return html.unescape(re.search(r'<a href="([^"]*)" lang="(?:da|en)">',
                                   page).group(1))


def annas_person_on_the_web(make_hub, seed):
    """A hub with webd, and a person assigned to cw-anna: (hub, the
    person's CPR, the Web client)."""
    hub = web_hub(make_hub)
    cpr = CprGen(seed).next()
    hub.assign(cpr, "cw-anna")
    return hub, cpr, Web(hub)


def test_the_language_link_keeps_every_message_of_the_login(make_hub):
    """OPERATIONS.md: the page's own language link keeps the page where
    it is, with the message it shows (`?msg=`, `?ended=1`,
    `?ended=lifetime`, `?out=1`): a caseworker told in Danish that the
    session ended because it lasted as long as a session may is told the
    same in English, not only that it ended."""
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        said = {
            ("ended=1", "da"): "Din session er udløbet. Log ind igen.",
            ("ended=1", "en"): "Your session has ended. Log in again.",
            ("ended=lifetime", "da"):
                "Din session er udløbet, fordi den har varet så længe, som "
                "en session må. Log ind igen.",
            ("ended=lifetime", "en"):
                "Your session has ended because it has lasted as long as a "
                "session may. Log in again.",
            ("out=1", "da"): "Du er logget ud.",
            ("out=1", "en"): "You are logged out."}
        for (query, lang), text in said.items():
            r, page = web.request("GET", f"/login?{query}&lang={lang}")
            assert r.status == 200 and notices_of(page) == [text], \
                (query, lang, page)
            other = "da" if lang == "en" else "en"
            link = lang_link(page)
            assert link == f"?{query}&lang={other}", (query, lang, link)
            # Followed, the link says the same in the other language.
            r, page = web.request("GET", "/login" + link)
            assert notices_of(page) == [said[(query, other)]], (link, page)
    finally:
        web.stop()


def field(page, field_id):
    return re.search(r'<input id="%s"[^>]*>' % field_id, page).group(0)


def described_error(page, tag):
    """The text of the element that the field's aria-describedby names."""
    ref = re.search(r'aria-describedby="([^"]+)"', tag).group(1)
    return html.unescape(re.sub(r"<[^>]+>", "", re.search(
        r'<div id="%s">(.*?)</div>' % ref, page, re.S).group(1)))


def test_an_ack_note_too_long_is_marked_as_the_field_at_fault(make_hub):
    """OPERATIONS.md, accessibility: an error is a role="alert" paragraph
    and the field it is about is marked aria-invalid="true" with
    aria-describedby naming the reason. An acknowledgement's note over
    200 bytes (æ, ø and å count 2) comes back 400 as typed, under
    "Kvitteringen blev ikke gemt: Noten er for lang: ...", the note field
    marked; the alert stays open, and a note of exactly 200 bytes is
    taken."""
    hub, cpr, web = annas_person_on_the_web(make_hub, 11801)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "ack-long")
        for lang, reason in (
                ("da", "Kvitteringen blev ikke gemt: Noten er for lang: "
                       "højst 200 bytes (æ, ø og å tæller for 2)."),
                ("en", "The acknowledgement was not saved: The note is too "
                       "long: at most 200 bytes (æ, ø and å count as 2).")):
            note = "ø" * 100 + "."
            r, page = web.request("POST", f"/alert/{hexid}/ack?lang={lang}",
                                  {"csrf": csrf, "note": note},
                                  cookies=session)
            assert r.status == 400 and errors_of(page) == [reason], page
            tag = field(page, "ack-note")
            assert f'value="{note}"' in tag, tag
            assert 'aria-invalid="true"' in tag, tag
            assert described_error(page, tag) == reason, page
        r, page = web.request("GET", f"/alert/{hexid}", cookies=session)
        assert r.status == 200 and 'aria-invalid' not in page
        r, _ = web.request("POST", f"/alert/{hexid}/ack",
                           {"csrf": csrf, "note": "ø" * 100},
                           cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=acked"
        # A note whose bytes are not UTF-8 is not kept; the
        # acknowledgement is (PROTOCOL.md §4).
        other = CprGen(11821).next()
        hub.assign(other, "cw-anna")
        second, csrf = open_new_alert(hub, web, session, other, "ack-utf8")
        r, _ = web.request("POST", f"/alert/{second}/ack",
                           {"csrf": csrf, "note": b"\xe6bler"},
                           cookies=session)
        assert r.status == 303 and \
            r.getheader("Location") == "/alerts?msg=acked"
        assert web.request("GET", f"/alert/{second}",
                           cookies=session)[0].status == 404
    finally:
        web.stop()
    trail = hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    assert len(re.findall(r" ack +ok ", trail)) == 2, trail
    assert "bler" not in trail and "ø" * 100 in trail, trail


AMBER, DARK = "rgba(242, 169, 0, 1)", "rgb(27, 27, 27)"


def test_the_focus_shows_amber_on_the_list_a_live_update_emptied(make_hub):
    """OPERATIONS.md: the element with the focus has an amber outline with
    a dark ring inside it; a keyboard user on an alert's link when the
    live list loses its last alert has the focus on the list itself,
    which says "Du har ingen åbne advarsler.": that focus shows the same
    amber outline and dark ring as a link's, not the browser's own."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False,
                                         "desk-dora": True})
    web = Web(hub, events_poll=1)
    cpr = CprGen(11806).next()
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt="focus-amber",
                      period_start="2024-05-06", period_end="2024-05-10",
                      absent=12, expected=30))
    hub.wait_applied()
    d = chrome(hub, "chromium-amber")
    try:
        login(d, web, "cw-anna", PASSWORD)

        def links():
            return d.find_elements(By.CSS_SELECTOR, "a.alert-link")
        wait_for(lambda: links() or d.refresh(), 10, "the alert listed",
                 interval=0.3)
        for _ in range(20):
            ActionChains(d).send_keys(Keys.TAB).perform()
            if "alert-link" in (d.switch_to.active_element.get_attribute(
                    "class") or ""):
                break
        link = d.switch_to.active_element
        assert "alert-link" in link.get_attribute("class")
        assert (link.value_of_css_property("outline-style"),
                link.value_of_css_property("outline-color")) == \
            ("solid", AMBER)
        assert DARK in link.value_of_css_property("box-shadow")
        hub.assign(cpr, "desk-dora")       # the alert moves to the desk
        wait_for(lambda: not links(), 5 * SLOW + 2, "the list emptied",
                 interval=0.2)
        focused = d.switch_to.active_element
        assert focused.get_attribute("id") == "alert-list" and \
            "Du har ingen åbne advarsler." in focused.text
        assert (focused.value_of_css_property("outline-style"),
                focused.value_of_css_property("outline-color")) == \
            ("solid", AMBER), focused.value_of_css_property("outline")
        assert DARK in focused.value_of_css_property("box-shadow")
    finally:
        d.quit()
        web.stop()


def test_every_priority_is_written_out_most_urgent_first(make_hub):
    """OPERATIONS.md: the open list is most urgent first, each row's
    priority in words (`Akut`, `Høj`, `Normal`, `Lav`; `Urgent`, `High`,
    `Normal`, `Low`), and an alert's page says its priority too. A
    combined alert (RULES.md §5, URGENT) above the addiction alert (HIGH)
    above the absence (NORMAL), though it was raised last."""
    hub = rules_hub(make_hub, "2026-09-08T09:00:00",
                    rules={"combined.enabled": "yes"})
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "cw-anna", PASSWORD)
    cpr = CprGen(11810).born("2000-01-15")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_referral(cpr, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 3
    web = Web(hub)
    try:
        session = anna_session(web)
        # The combined alert's evidence is the tipping event (RULES.md §5).
        evidence = {"da": ["Risiko for frafald",
                           "Henvisning til misbrugsbehandling",
                           "Fraværsindberetning"],
                    "en": ["Dropout risk", "Addiction referral",
                           "Absence report"]}
        for lang, words in (("da", ["Akut", "Høj", "Normal"]),
                            ("en", ["Urgent", "High", "Normal"])):
            page = web.request("GET", f"/alerts?lang={lang}",
                               cookies=session)[1]
            rows = re.findall(r"<li .*?</li>", page, re.S)
            assert [re.search(r'class="badge">([^<]*)<', r).group(1)
                    for r in rows] == words, rows
            rules = [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", r))
                     .strip().rsplit(" · ", 1)[-1] for r in rows]
            assert rules == ["combined", "addiction", "absence.rolling"], \
                rules
            for row, word, what in zip(rows, words, evidence[lang]):
                hexid = re.search(r'href="/alert/([0-9a-f]{18})"',
                                  row).group(1)
                page = web.request("GET", f"/alert/{hexid}?lang={lang}",
                                   cookies=session)[1]
                assert f"<dd>{word}</dd>" in page, (word, page)
                # Its evidence: what the event is, in the page's language.
                assert re.findall(r"<tr><td>([^<]*)</td>", page) == [what]
    finally:
        web.stop()


def test_webd_logs_logins_logouts_and_refused_forms_as_documented(make_hub):
    """OPERATIONS.md "Monitoring", webd's message ids: `WEB-START`
    (`serving http://ADDRESS:PORT/ for gateway ID`), `WEB-LOGIN` (`ID
    logged in`, `ID logged out`), `WEB-CSRF` (`POST PATH without a valid
    CSRF token refused`, warn, for a POST in a session; a POST without a
    session and a login form whose token no longer fits log nothing),
    `WEB-STOP stopped`; no CPR in any of it."""
    hub = web_hub(make_hub)
    web = Web(hub)
    cpr = CprGen(11814).next()
    try:
        session = anna_session(web)
        page = web.request("GET", "/alerts", cookies=session)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        assert web.request("POST", "/timeline", {"csrf": "00", "cpr": cpr},
                           cookies=session)[0].status == 403
        assert web.request("POST", "/timeline",
                           {"csrf": csrf, "cpr": cpr})[0].status == 403
        pre, _ = web.login_form()
        assert web.request("POST", "/login",
                           {"csrf": "00", "caseworker": "cw-anna",
                            "password": PASSWORD},
                           cookies={"ug_pre": pre})[0].status == 403
        r, _ = web.request("POST", "/logout", {"csrf": csrf},
                           cookies=session)
        assert r.status == 303 and r.getheader("Location") == "/login?out=1"
    finally:
        web.stop()
    log = (hub.logs_dir / "webd.log").read_text()
    said = [re.sub(r"^\S+ ", "", line) for line in log.splitlines()]
    assert said == [
        f"webd info WEB-START serving http://127.0.0.1:{web.port}/ for "
        "gateway web-1",
        "webd info WEB-LOGIN cw-anna logged in",
        "webd warn WEB-CSRF POST /timeline without a valid CSRF token "
        "refused",
        "webd info WEB-LOGIN cw-anna logged out",
        "webd info WEB-STOP stopped"], log
    assert cpr not in log


def test_the_timeline_takes_one_space_or_dash_inside_blanks_around(make_hub):
    """OPERATIONS.md: the timeline form takes a CPR as 10 digits, or with
    a dash or a space after the sixth (one, not a tab), blanks (spaces,
    tabs, line ends) around it ignored; another form is 400 "Skriv et
    CPR-nummer med 10 cifre (DDMMÅÅSSSS, DDMMÅÅ-SSSS eller DDMMÅÅ
    SSSS).", the field marked."""
    hub, cpr, web = annas_person_on_the_web(make_hub, 11815)
    try:
        session = anna_session(web)
        page = web.request("GET", "/timeline", cookies=session)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        for typed in (f"\t{cpr[:6]} {cpr[6:]}\n", f" \t{cpr[:6]}-{cpr[6:]}"):
            r, page = web.request("POST", "/timeline",
                                  {"csrf": csrf, "cpr": typed},
                                  cookies=session)
            assert r.status == 200 and not errors_of(page), typed
        for typed in (f"{cpr[:6]}\t{cpr[6:]}", f"{cpr[:6]}  {cpr[6:]}",
                      f"{cpr[:6]} - {cpr[6:]}", f"{cpr[:2]}-{cpr[2:]}"):
            r, page = web.request("POST", "/timeline",
                                  {"csrf": csrf, "cpr": typed},
                                  cookies=session)
            assert r.status == 400 and errors_of(page) == [
                "Skriv et CPR-nummer med 10 cifre (DDMMÅÅSSSS, DDMMÅÅ-SSSS "
                "eller DDMMÅÅ SSSS)."], (typed, page)
            assert 'aria-invalid="true"' in field(page, "cpr")
    finally:
        web.stop()


def test_the_desks_alerts_as_each_member_and_the_desks_own_id_see_them(
        make_hub):
    """OPERATIONS.md: a desk member (register-caseworker --desk, or a
    DeskMembership valid today) has their own open alerts and the desk's
    in one list, most urgent first, newest first within a priority; each
    of the desk's marked "til vagtteamet" ("for the duty desk"), its page
    naming the recipient "vagtteamet" ("the duty desk"); a caseworker
    registered under the desk's own id sees them unmarked, as their own."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    hub.keygen("duty-desk")
    hub.hubctl("register-caseworker", "duty-desk")
    hub.send(ev_desk("cw-bob", "2026-09-01"))
    for cw in ("desk-dora", "duty-desk", "cw-bob"):
        set_password(hub, cw, PASSWORD)
    gen = CprGen(11816)
    own, dropped, absent = gen.next(), gen.next(), gen.next()
    hub.assign(own, "desk-dora")
    hub.send(ev_absence(own, "2026-08-24", 12))       # dora's, NORMAL
    hub.send(ev_dropout(dropped, "2026-09-04"))       # the desk's, HIGH
    hub.send(ev_absence(absent, "2026-08-24", 12))    # the desk's, NORMAL
    assert hub.wait_applied()["alerts"] == 3
    web = Web(hub)
    try:
        def rows(session, lang):
            page = web.request("GET", f"/alerts?lang={lang}",
                               cookies=session)[1]
            return [(re.search(r'href="/alert/([0-9a-f]{18})"', li).group(1),
                     re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", li)).strip())
                    for li in re.findall(r"<li .*?</li>", page, re.S)]

        def recipient(session, hexid, lang):
            page = web.request("GET", f"/alert/{hexid}?lang={lang}",
                               cookies=session)[1]
            return re.search(r"<dt>(?:Til|For)</dt><dd>([^<]*)</dd>",
                             page).group(1)
        mark = {"da": " · til vagtteamet", "en": " · for the duty desk"}
        desk = {"da": "vagtteamet", "en": "the duty desk"}
        sessions = {cw: {"ug_session": session_cookie(
            web.raw_login(cw, PASSWORD)[1])}
            for cw in ("desk-dora", "cw-bob", "duty-desk")}
        for lang in ("da", "en"):
            dora = rows(sessions["desk-dora"], lang)
            assert [r.split(" ")[0] for _, r in dora] == \
                (["Høj", "Normal", "Normal"] if lang == "da"
                 else ["High", "Normal", "Normal"]), dora
            # Newest first within a priority: the desk's absence, raised
            # after dora's own.
            assert dora[1][0] > dora[2][0]
            assert [r.endswith(mark[lang]) for _, r in dora] == \
                [True, True, False], dora
            assert [recipient(sessions["desk-dora"], i, lang)
                    for i, _ in dora] == [desk[lang], desk[lang],
                                          "desk-dora"]
            bob = rows(sessions["cw-bob"], lang)
            assert bob == dora[:2], bob
            own_id = rows(sessions["duty-desk"], lang)
            assert [i for i, _ in own_id] == [i for i, _ in dora[:2]]
            assert not any(r.endswith(mark[lang]) for _, r in own_id)
            assert [recipient(sessions["duty-desk"], i, lang)
                    for i, _ in own_id] == ["duty-desk", "duty-desk"]
    finally:
        web.stop()


def tab_until(driver, element_id, most=60):
    """Press Tab until the element with this id has the focus."""
    for _ in range(most):
        ActionChains(driver).send_keys(Keys.TAB).perform()
        if driver.switch_to.active_element.get_attribute("id") == \
                element_id:
            return driver.switch_to.active_element
    raise AssertionError(f"#{element_id} not reached with Tab")


def test_an_action_and_an_acknowledgement_from_the_keyboard_alone(make_hub):
    """README, OPERATIONS.md: everything works from the keyboard. On an
    alert's page a keyboard user reaches the kinds with Tab, picks one
    with the arrow keys (none is chosen when the form opens), types how
    and saves with Enter ("Handlingen er gemt."), then acknowledges with
    a note and Enter ("Advarslen er kvitteret.", the alert gone)."""
    hub, cpr, web = annas_person_on_the_web(make_hub, 11819)
    d = chrome(hub, "chromium-keys")
    try:
        hexid, _ = open_new_alert(hub, web, anna_session(web), cpr, "keys")
        login(d, web, "cw-anna", PASSWORD)
        d.get(web.base + f"/alert/{hexid}")
        first = tab_until(d, "kind-contact")
        assert not any(e.is_selected() for e in
                       d.find_elements(By.CSS_SELECTOR, "input[name=kind]"))
        ActionChains(d).send_keys(Keys.ARROW_DOWN).perform()
        chosen = d.switch_to.active_element
        assert chosen.get_attribute("id") == "kind-offer" and \
            chosen.is_selected() and not first.is_selected()
        ActionChains(d).send_keys(Keys.TAB).perform()
        assert d.switch_to.active_element.get_attribute("id") == "how"
        ActionChains(d).send_keys("tilbud om FGU", Keys.ENTER).perform()
        wait_for(lambda: d.current_url.endswith(f"/alert/{hexid}?msg=saved"),
                 10 * SLOW, "the action saved")
        assert "Handlingen er gemt." in d.find_element(
            By.CSS_SELECTOR, "main p.msg").text
        tab_until(d, "ack-note")
        ActionChains(d).send_keys("set", Keys.ENTER).perform()
        wait_for(lambda: d.current_url.endswith("/alerts?msg=acked"),
                 10 * SLOW, "the alert acknowledged")
        assert "Advarslen er kvitteret." in d.find_element(
            By.TAG_NAME, "main").text
        assert not d.find_elements(By.CSS_SELECTOR, "a.alert-link")
    finally:
        d.quit()
        web.stop()
