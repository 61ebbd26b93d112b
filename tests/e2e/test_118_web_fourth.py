"""118 the web inbox, a fourth round as caseworkers, the duty desk and
team leads use it: what OPERATIONS.md ("The web inbox (webd)") and
SECURITY.md promise that tests 70, 71, 90, 102 and 106 do not assert
exactly. Real hubd, real webd (test_70's helpers): raw HTTP where the doc
describes requests and answers."""

import html
import re

from hubtest import CprGen
from test_70_web import (PASSWORD, Web, anna_session, errors_of,  # noqa: F401
                         notices_of, open_new_alert, web_hub)


def lang_link(page):
    """The href of the page's own language link."""
    return html.unescape(re.search(r'<a href="([^"]*)" lang="(?:da|en)">',
                                   page).group(1))


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
    hub = web_hub(make_hub)
    cpr = CprGen(11801).next()
    hub.assign(cpr, "cw-anna")
    web = Web(hub)
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
    finally:
        web.stop()
