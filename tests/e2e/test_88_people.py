"""88 the caseworkers' side as README.md, docs/RULES.md and
docs/OPERATIONS.md ("Caseworkers", "The web inbox") describe it, read
without the code: what an alert's evidence is called in `inbox` and on
its web page, and what each rule gives as evidence."""

import html
import re
import subprocess
import time
from pathlib import Path

from hubtest import (NO_ESCALATION, RULE_AGENCIES, RULE_CASEWORKERS, SLOW,
                     CprGen, binary, ev_absence, ev_dropout,
                     ev_dropout_risk, ev_enrolment, ev_leaving,
                     ev_missed_activation, ev_readiness, ev_referral)
from test_70_web import (PASSWORD, Web, chrome, left, login, submit,
                         text_of, web_hub)
from test_70_web import pytestmark as needs_chromium

try:
    from selenium.webdriver.common.by import By
except ImportError:
    By = None

DOCS = Path(__file__).resolve().parents[2] / "docs"


def flat(text):
    return " ".join(text.split())


def live_blocks(hub, caseworker):
    """inbox live, --no_ack: each alert's block by its rule."""
    p = subprocess.run(
        [binary("inbox"), "--caseworker", caseworker,
         "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery,
         "--no_ack", "--idle_exit", str(2 * SLOW)],
        capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    return {b.split("(", 1)[1].split(")", 1)[0]: b.splitlines()
            for b in p.stdout.split("=== ")[1:]}


def evidence_lines(block):
    """The lines under "evidence:", up to the empty line that ends the
    block."""
    rest = block[block.index("    evidence:") + 1:]
    return rest[:rest.index("")]


def session(web, caseworker="cw-anna", password=PASSWORD):
    r, cookies = web.raw_login(caseworker, password)
    assert r.status == 303, r.status
    return dict(c.split(";", 1)[0].split("=", 1) for c in cookies)


def evidence_rows(page):
    """The alert page's "Grundlag" table: (what, agency, when, figures)
    for each row."""
    table = re.search(r"<table.*?</table>", page, re.S).group(0)
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [html.unescape(flat(re.sub(r"<[^>]+>", " ", c)))
                 for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        if cells:
            rows.append(tuple(cells))
    return rows


def test_each_kind_of_evidence_is_named_in_inbox_and_on_the_page(make_hub):
    """OPERATIONS.md, "Caseworkers": an evidence line is the event's day
    (FIRST..LAST for a period) padded to 22, its figures for an absence
    report, else its kind as the web inbox names it in English -- `Dropout
    risk`, `Readiness assessment`, `School leaving`, `Missed activation`,
    `Addiction referral`, `Enrolment` -- and the agency. "The web inbox":
    the page's evidence table names each in Danish (`Risiko for frafald`,
    `Uddannelsesparathedsvurdering`, `Skoleafgang`, `Udeblivelse fra
    aktivering`, `Henvisning til misbrugsbehandling`, `Optagelse`,
    `Fraværsindberetning`, `Frafald`), in English as inbox does, the day
    or `FIRST – LAST`, and `12 af 30 lektioner fravær` / `12 of 30 lessons
    absent` for an absence report, `-` for any other event."""
    hub = web_hub(make_hub, agencies=RULE_AGENCIES,
                  caseworkers=RULE_CASEWORKERS, clock="2026-09-07T08:00:00",
                  rules=dict(NO_ESCALATION, **{"combined.enabled": "no"}))
    g = CprGen(8808)
    young = {k: g.born(born) for k, born in (
        ("dropout_risk", "2008-01-01"), ("readiness", "2012-02-02"),
        ("transition_gap", "2010-03-03"), ("missed_activation", "2000-04-04"),
        ("addiction", "2001-05-05"), ("absence.rolling", "2011-06-06"),
        ("back_on_track", "1999-07-07"))}
    for cpr in young.values():
        hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(young["dropout_risk"], "2026-09-04"),
             ev_readiness(young["readiness"], "2026-09-01", 8,
                          not_ready_academic=True),
             # Left in June, reported after its 30th day: the gap at once.
             ev_leaving(young["transition_gap"], "2026-06-01"),
             ev_missed_activation(young["missed_activation"], "2026-09-01"),
             ev_missed_activation(young["missed_activation"], "2026-09-03"),
             ev_referral(young["addiction"], "2026-09-07",
                         consent={"given": True}),
             ev_absence(young["absence.rolling"], "2026-08-31", 12),
             ev_dropout(young["back_on_track"], "2026-09-04"),
             ev_enrolment(young["back_on_track"], "2026-09-07"))
    hub.wait_applied()
    alerts = {a["rule"]: a for a in hub.peek("cw-anna", 8)}
    assert set(alerts) == set(young) | {"dropout"}, alerts

    expected = {
        # rule: (day in inbox, English, Danish, day on the page, figures)
        "dropout_risk": ("2026-09-04", "Dropout risk", "Risiko for frafald",
                         "college-a"),
        "readiness": ("2026-09-01", "Readiness assessment",
                      "Uddannelsesparathedsvurdering", "school-a"),
        "transition_gap": ("2026-06-01", "School leaving", "Skoleafgang",
                           "school-a"),
        "missed_activation": ("2026-09-03", "Missed activation",
                              "Udeblivelse fra aktivering", "jobcenter-a"),
        "addiction": ("2026-09-07", "Addiction referral",
                      "Henvisning til misbrugsbehandling", "addiction-a"),
        "dropout": ("2026-09-04", "Dropout", "Frafald", "college-a"),
        "back_on_track": ("2026-09-07", "Enrolment", "Optagelse",
                          "college-a"),
    }
    blocks = live_blocks(hub, "cw-anna")
    for rule, (day, english, _, agency) in expected.items():
        assert evidence_lines(blocks[rule]) == [
            f"      {day:<22}  {english}  ({agency})"], (rule, blocks[rule])
    assert evidence_lines(blocks["absence.rolling"]) == [
        "      2026-08-31..2026-09-04   12 of  30 lessons absent  "
        "(school-a)"]

    web = Web(hub)
    try:
        cookies = session(web)
        for rule, (day, english, danish, agency) in expected.items():
            for lang, what in (("da", danish), ("en", english)):
                r, page = web.request(
                    "GET", f"/alert/{alerts[rule]['alert_id']}?lang={lang}",
                    cookies=cookies)
                assert r.status == 200, (rule, r.status)
                assert evidence_rows(page) == [(what, agency, day, "-")], \
                    (rule, lang, evidence_rows(page))
        absence = alerts["absence.rolling"]["alert_id"]
        for lang, what, figures in (
                ("da", "Fraværsindberetning", "12 af 30 lektioner fravær"),
                ("en", "Absence report", "12 of 30 lessons absent")):
            r, page = web.request("GET", f"/alert/{absence}?lang={lang}",
                                  cookies=cookies)
            assert evidence_rows(page) == [
                (what, "school-a", "2026-08-31 – 2026-09-04", figures)], \
                (lang, evidence_rows(page))
    finally:
        web.stop()


def test_a_missed_activation_alerts_evidence_is_the_miss_that_counted(
        make_hub):
    """RULES.md §1 has every alert list "the events behind it" as
    evidence; for `missed_activation` that is the miss that reached the
    count, alone (RULES.md §3, "Missed activations"), the explanation
    giving how many fell in the window. The example of §3: misses on
    03-02 and 03-20 alert with the second, whose day the alert names."""
    rules_text = flat((DOCS / "RULES.md").read_text())
    assert ("Its evidence is the miss that reached the count alone (its "
            "day and agency, `2026-03-20 Missed activation (jobcenter-a)` "
            "in `inbox`), not the window's earlier misses: the "
            "explanation gives how many there were.") in rules_text
    hub = web_hub(make_hub, agencies=RULE_AGENCIES,
                  caseworkers=RULE_CASEWORKERS, clock="2026-03-20T08:00:00",
                  rules=dict(NO_ESCALATION))
    cpr = CprGen(8809).born("2000-04-04")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_missed_activation(cpr, "2026-03-02"),
             ev_missed_activation(cpr, "2026-03-20"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "missed_activation"
    assert [(e["type"], e["period_start"], e["agency"])
            for e in a["evidence"]] == \
        [("MissedActivation", "2026-03-20", "jobcenter-a")], a["evidence"]
    assert ("jc-albertslund (sent by jobcenter-a) reported a missed "
            "activation on 2026-03-20 (activity akt-1): 2 missed within 30 "
            "days.") in a["explanation"], a["explanation"]
    assert evidence_lines(live_blocks(hub, "cw-anna")["missed_activation"]) \
        == ["      2026-03-20              Missed activation  (jobcenter-a)"]


def web_hub_with_one_alert(make_hub, seed):
    """A web hub whose cw-anna has one open alert (an adult's dropout on
    2026-09-07, the hub clock's day); the hub and that alert."""
    hub = web_hub(make_hub, agencies=RULE_AGENCIES,
                  caseworkers=RULE_CASEWORKERS, clock="2026-09-07T08:00:00",
                  rules=dict(NO_ESCALATION))
    cpr = CprGen(seed).born("2000-01-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    return hub, a


@needs_chromium
def test_an_action_typed_too_long_in_a_browser_is_refused_not_cut(
        make_hub):
    """OPERATIONS.md, "The web inbox": an action the hub refuses for a
    `how` over 256 bytes or a note over 200 is not saved, and the page
    comes back with the reason above the form, which still holds what was
    typed. The form's fields had maxlength 256 and 200, which a browser
    enforces in characters: what was typed past them was dropped without a
    word and the action saved cut short ("Handlingen er gemt.")."""
    hub, a = web_hub_with_one_alert(make_hub, 8815)
    web = Web(hub)
    driver = chrome(hub, "chromium-88")
    try:
        login(driver, web, "cw-anna", PASSWORD)
        refused = "Handlingen blev ikke gemt: "
        for how, note, reason in (
                ("p" * 257, "", "Hvordan er for lang: højst 256 bytes (æ, ø "
                 "og å tæller for 2)."),
                ("telefon", "n" * 201, "Noten er for lang: højst 200 bytes "
                 "(æ, ø og å tæller for 2).")):
            driver.get(f"{web.base}/alert/{a['alert_id']}")
            driver.find_element(By.ID, "kind-contact").click()
            driver.find_element(By.ID, "how").send_keys(how)
            driver.find_element(By.ID, "action-note").send_keys(note)
            submit(driver, "save-action")
            assert refused + reason in text_of(driver), text_of(driver)
            assert driver.find_element(By.ID, "how").get_attribute(
                "value") == how
            assert driver.find_element(By.ID, "action-note").get_attribute(
                "value") == note
    finally:
        driver.quit()
        web.stop()
    assert "CaseworkerAction" not in hub.hubctl("log").stdout


@needs_chromium
def test_the_browser_asks_for_what_a_form_needs_before_sending_it(
        make_hub):
    """OPERATIONS.md, "The web inbox": the browser asks for a choice of
    what happened, for a `how` and for a date of digits in the form
    YYYY-MM-DD before it sends an action; for a CPR before it sends the
    timeline form; for both fields of the login. The docs said only the
    choice, and promised the hub's `400` for an empty `how` or CPR and a
    `date` such as 9.5.2024, which a browser never sends: the page stays,
    nothing is asked of the hub. Blanks alone are sent, and answered as
    the docs say."""
    ops = flat((DOCS / "OPERATIONS.md").read_text())
    for promise in (
            "Likewise the browser asks for a `how` when the field is empty, "
            "and for a `date` of digits in the form `YYYY-MM-DD` (or none), "
            "before it sends the form",
            "ignored (a browser asks for one before it sends the field "
            "empty), and one it cannot read is `400` with what is wrong "
            "(empty or blanks alone, \"Skriv et CPR-nummer.\";",
            "A browser asks for both fields before it sends the login form "
            "with either empty."):
        assert promise in ops, promise
    hub, a = web_hub_with_one_alert(make_hub, 8816)
    web = Web(hub)
    driver = chrome(hub, "chromium-88b")

    def refused_by_the_browser(field, button):
        """The button sends nothing: the page stays, and `field` says
        why."""
        page = driver.find_element(By.TAG_NAME, "html")
        driver.find_element(By.ID, button).click()
        time.sleep(0.5)       # a form sent would have left the page by now
        assert not left(page)(driver), f"{button} sent the form"
        return driver.execute_script(
            "const v = document.getElementById(arguments[0]).validity;"
            "return [v.valueMissing, v.patternMismatch];", field)

    try:
        driver.get(web.base + "/login")
        driver.find_element(By.ID, "caseworker").send_keys("cw-anna")
        assert refused_by_the_browser("password", "login") == [True, False]
        login(driver, web, "cw-anna", PASSWORD)
        driver.get(f"{web.base}/alert/{a['alert_id']}")
        driver.find_element(By.ID, "kind-contact").click()
        assert refused_by_the_browser("how", "save-action") == \
            [True, False]
        driver.find_element(By.ID, "how").send_keys("telefon")
        driver.find_element(By.ID, "date").send_keys("9.5.2024")
        assert refused_by_the_browser("date", "save-action") == \
            [False, True]
        driver.get(web.base + "/timeline")
        assert refused_by_the_browser("cpr", "show-timeline") == \
            [True, False]
        driver.find_element(By.ID, "cpr").send_keys("   ")
        submit(driver, "show-timeline")
        assert "Skriv et CPR-nummer." in text_of(driver)
    finally:
        driver.quit()
        web.stop()
    assert "CaseworkerAction" not in hub.hubctl("log").stdout
