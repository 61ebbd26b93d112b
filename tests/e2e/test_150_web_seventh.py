"""150 the web inbox, a seventh round as caseworkers, the duty desk and
team leads use it: what OPERATIONS.md ("The web inbox (webd)") promises
that the earlier web rounds do not assert exactly. Real hubd, real webd
(test_70's helpers), raw HTTP where the doc describes requests and
answers."""

import re

# pytestmark: the same skip as test_70 (no browser, no test).
from test_70_web import (PASSWORD, Web, pytestmark,  # noqa: F401
                         session_cookie, web_hub)


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
    `/alerts/list`), its language link may not lead to that address
    (JSON, a stream, the list alone): it leads to a page, the list, in
    the other language — with or without a session."""
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
        # A form to a page keeps its address: the timeline form.
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": "x" * 17000},
                              cookies=anna)
        assert r.status == 413 and lang_link(page) == "?lang=en"
    finally:
        web.stop()
