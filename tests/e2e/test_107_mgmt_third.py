"""107 the annual status and the law's clocks, a third reading
(OPERATIONS.md "The annual status", RULES.md sections 6 and 9): the
clocks table's last day on time and first day late across a year end,
Christmas Eve, New Year's Day, Easter with the change to summer time and
the summer holiday; the ages on the birthdays (29 February too); the
absence bands at exactly 10 % and 15 % and the quarter of a report that
runs over a quarter's end; the page opened in a real browser."""

import datetime
import os
import re
import shutil

import pytest

from hubtest import CprGen, ev_absence, ev_dropout, ev_enrolment, \
    ev_readiness, ev_referral, event, rules_hub
from test_81_report import report

QUIET = {"transition_gap.enabled": "no"}


def annas_youth(hub, seed, month, n, dropout=None):
    """n of cw-anna's persons, born on the first n days of `month`
    (YYYY-MM), each dropping out on `dropout` (a day) when given."""
    gen = CprGen(seed)
    youth = [gen.born(f"{month}-%02d" % (i + 1)) for i in range(n)]
    for c in youth:
        hub.assign(c, "cw-anna")
    if dropout:
        hub.send(*[ev_dropout(c, dropout) for c in youth])
        hub.wait_applied()
    return youth
CONTACT = "contact within 5 working days"
OFFER = "offer within 30 days"
COLS = ("met", "missed", "closed by enrolment", "pending", "Total")


def row(tables, table, label):
    head = tables[table][0]
    for r in tables[table][1:]:
        if r[0] == label:
            return dict(zip(head[1:], r[1:]))
    raise AssertionError(f"no row {label!r} in {tables[table]}")


def clock(tables, label):
    r = row(tables, "clocks", label)
    return [r[k] for k in COLS]


def act(hub, cprs, action, date):
    """inbox --contact/--offer dated `date` on each person's dropout
    alert, recorded by their contact person cw-anna."""
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=2)
    assert rc == 0, err
    ids = {a["cpr"]: a["alert_id"] for a in alerts
           if a["rule"] == "dropout" and a["cpr"] in cprs}
    assert len(ids) == len(cprs)
    for alert_id in ids.values():
        rc, out, err = hub.record("cw-anna", action, alert_id, "phone",
                                  date=date)
        assert rc == 0, err


def test_contact_due_across_christmas_and_new_year(make_hub, tmp_path):
    """Received Wednesday 2025-12-23: Christmas Eve (a public holiday by
    default), Christmas, Boxing Day and the weekend are not working days,
    nor is New Year's Day: the 5th working day is Monday 2026-01-05.
    Received Monday 2025-12-29: 30, 31, 2, 5, 6 January, due Tuesday
    2026-01-06. A contact dated the due day is met, the day after missed;
    the clocks count in the year the hub received the dropout (2025),
    the hub's miss alerts in the year they were raised (2026)."""
    hub = rules_hub(make_hub, "2025-12-23T08:00:00", rules=QUIET)
    youth = annas_youth(hub, 10701, "2009-06", 20)
    early, late = youth[:10], youth[10:]
    hub.send(*[ev_dropout(c, "2025-12-23") for c in early])
    hub.wait_applied()
    hub.set_clock("2025-12-29T08:00:00")
    hub.send(*[ev_dropout(c, "2025-12-29") for c in late])
    hub.wait_applied()
    hub.advance("2026-01-07T10:00:00")
    act(hub, early[:5], "contact", "2026-01-05")
    act(hub, early[5:], "contact", "2026-01-06")
    act(hub, late[:5], "contact", "2026-01-06")
    act(hub, late[5:], "contact", "2026-01-07")
    hub.wait_applied()
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    missed = [a for a in alerts if a["rule"] == "deadline.contact.missed"]
    assert len(missed) == 20

    _, tables = report(hub, tmp_path, "--year", "2025")
    assert clock(tables, CONTACT) == ["10", "10", "0", "0", "20"]
    assert row(tables, "alerts", "Total")["raised"] == "20"   # dropouts
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["0", "0", "0", "0", "0"]
    assert row(tables, "alerts", "deadline.contact.missed")["raised"] == "20"


def test_contact_due_across_easter_and_summer_time(make_hub, tmp_path):
    """Received Friday 2026-03-27; summer time begins Sunday 03-29 and
    Maundy Thursday 04-02 to Easter Monday 04-06 are off: 03-30, 03-31,
    04-01, 04-07, 04-08, due Wednesday 04-08. The hub raises the miss at
    04-09 00:00 UTC, not an hour earlier; the table judges by the
    contact's date."""
    hub = rules_hub(make_hub, "2026-03-27T08:00:00", rules=QUIET)
    youth = annas_youth(hub, 10702, "2010-05", 10,
                        dropout="2026-03-27")
    # Warned at the start of 04-07, the working day before the deadline
    # (a warning more than 24 hours late raises nothing: step there).
    hub.advance("2026-04-06T23:30:00")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert not [a for a in alerts if a["rule"].startswith("deadline.")]
    hub.advance("2026-04-07T00:00:30")
    hub.advance("2026-04-08T23:30:00")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert not [a for a in alerts if a["rule"] == "deadline.contact.missed"]
    assert len([a for a in alerts
                if a["rule"] == "deadline.contact.warn"]) == 10
    hub.advance("2026-04-09T00:00:30")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert len([a for a in alerts
                if a["rule"] == "deadline.contact.missed"]) == 10
    act(hub, youth[:5], "contact", "2026-04-08")
    act(hub, youth[5:], "contact", "2026-04-09")
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--from", "2026-03-01",
                       "--to", "2026-03-31")
    assert clock(tables, CONTACT) == ["5", "5", "0", "0", "10"]


def test_offer_due_across_the_summer_holiday(make_hub, tmp_path):
    """A contact on Friday 2026-06-26, the day before the summer holiday
    (06-27..08-09, not counted): the offer is due 09-08 (RULES.md section
    6's own example). An offer dated 09-08 is met, one dated 09-09
    missed."""
    hub = rules_hub(make_hub, "2026-06-22T08:00:00", rules=QUIET)
    youth = annas_youth(hub, 10703, "2010-02", 10,
                        dropout="2026-06-22")
    hub.set_clock("2026-06-26T09:00:00")
    act(hub, youth, "contact", None)
    hub.wait_applied()
    hub.advance("2026-09-10T10:00:00")
    act(hub, youth[:5], "offer", "2026-09-08")
    act(hub, youth[5:], "offer", "2026-09-09")
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["10", "0", "0", "0", "10"]
    assert clock(tables, OFFER) == ["5", "5", "0", "0", "10"]
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert len([a for a in alerts
                if a["rule"] == "deadline.offer.missed"]) == 10


def test_the_clocks_start_by_the_age_on_the_dropout_date(make_hub,
                                                         tmp_path):
    """15-17 on the dropout date: one who turns 15 that day has clocks,
    one who turns 15 the day after has none; one who turns 18 that day
    has none, one who turns 18 the day after has them; born on 29
    February, 17 on 2026-02-28 and 18 on 2026-03-01."""
    hub = rules_hub(make_hub, "2026-03-02T08:00:00", rules=QUIET)
    gen = CprGen(10704)
    five = lambda born: [gen.born(born) for _ in range(5)]
    leap = five("2008-02-29") + five("2008-02-29")
    hub.send(*[ev_dropout(c, "2026-02-28") for c in leap[:5]],
             *[ev_dropout(c, "2026-03-01") for c in leap[5:]])
    hub.wait_applied()
    hub.set_clock("2026-09-07T08:00:00")
    turns15, almost15 = five("2011-09-07"), five("2011-09-08")
    turns18, almost18 = five("2008-09-07"), five("2008-09-08")
    hub.send(*[ev_dropout(c, "2026-09-07")
               for c in turns15 + almost15 + turns18 + almost18])
    hub.wait_applied()
    # Contact is due 03-09 and 09-14; both passed, none recorded.
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["0", "15", "0", "0", "15"]
    _, tables = report(hub, tmp_path, "--from", "2026-03-02",
                       "--to", "2026-03-02")
    assert clock(tables, CONTACT) == ["0", "5", "0", "0", "5"]


def test_absence_bands_at_exactly_10_and_15_percent(make_hub, tmp_path):
    """Under 10 % is below 10 %; 10-15 % at least 10 % and below 15 %;
    15 % and over. 2 of 21 (9.5 %), 3 of 30 (10 %), 21 of 140 (15 %),
    5 of 34 (14.7 %); a report running 03-30..04-03 counts in the
    quarter of its last day, Q2."""
    hub = rules_hub(make_hub, "2026-04-06T08:00:00")
    gen = CprGen(10705)
    five = lambda: [gen.born("2012-01-%02d" % (i + 1)) for i in range(5)]
    under, ten, fifteen, below15, q2 = five(), five(), five(), five(), five()
    hub.send(*[ev_absence(c, "2026-03-02", 2, expected=21) for c in under],
             *[ev_absence(c, "2026-03-02", 3, expected=30) for c in ten],
             *[ev_absence(c, "2026-03-02", 21, expected=140)
               for c in fifteen],
             *[ev_absence(c, "2026-03-02", 5, expected=34) for c in below15],
             *[ev_absence(c, "2026-03-30", 6, expected=30) for c in q2])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    q1 = row(tables, "absence", "280017 2026 Q1")
    assert [q1[k] for k in ("under 10 %", "10-15 %", "15 % and over",
                            "Total")] == ["5", "10", "5", "20"]
    q2row = row(tables, "absence", "280017 2026 Q2")
    assert q2row["15 % and over"] == "5" and q2row["Total"] == "5"
    c1 = row(tables, "chronic", "280017 2026 Q1")
    assert [c1[k] for k in ("chronic (10 % or more)", "under 10 %",
                            "Total")] == ["15", "5", "20"]
    # The period ending 03-31 holds no report ending in it for q2.
    _, tables = report(hub, tmp_path, "--from", "2026-01-01",
                       "--to", "2026-03-31")
    assert [r[0] for r in tables["absence"][1:]] == ["280017 2026 Q1"]


def test_without_attachment_on_the_months_last_day(make_hub, tmp_path):
    """The neet measure on each month's last day D: a Dropout dated D
    leaves the enrolment running on D (counted from the next month); an
    enrolment whose `end` (its last day) is D runs on D; an end that
    names a programme ends that programme alone.
    A: enrolled 01-10 at fgu-vest, dropped out from it 03-31: April on.
    B: dropped out 01-15, enrolled 03-01 to 04-30: January, February
       (after the end, no exit since that enrolment).
    C: on benefit all year, in two programmes of fgu-vest from 02-01,
       one of them ended 03-15: January only."""
    hub = rules_hub(make_hub, "2026-01-05T08:00:00", rules=QUIET)
    gen = CprGen(10707)
    five = lambda: [gen.born("2009-08-%02d" % (i + 1)) for i in range(5)]
    a, b, c = five(), five(), five()
    benefit = lambda cpr, **kw: event(
        "jobcenter-a", cpr, "benefit_status", jobcenter="jc-a",
        benefit="EDUCATION_BENEFIT", start="2026-01-01", **kw)
    hub.send(*[ev_enrolment(x, "2026-01-10") for x in a],
             *[ev_dropout(x, "2026-01-15") for x in b],
             *[benefit(x) for x in c],
             *[ev_enrolment(x, "2026-02-01", programme=p)
               for x in c for p in ("fgu-a", "fgu-b")])
    hub.send(*[ev_enrolment(x, "2026-03-01") for x in b])
    hub.send(*[ev_enrolment(x, "2026-03-01", end="2026-04-30")
               for x in b],
             *[ev_enrolment(x, "2026-02-01", programme="fgu-a",
                            end="2026-03-15") for x in c])
    hub.send(*[ev_dropout(x, "2026-03-31", institution="fgu-vest",
                          programme="fgu") for x in a])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--from", "2026-01-01",
                       "--to", "2026-06-30")
    got = {r[0]: r[1] for r in tables["neet"][1:]}
    assert got == {"2026-01": "10", "2026-02": "5", "2026-03": "0",
                   "2026-04": "5", "2026-05": "5", "2026-06": "5"}


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def test_the_page_renders_in_a_browser_without_errors(make_hub, tmp_path):
    """One self-contained page: opened from the file in headless
    chromium it logs no error, fetches nothing, and draws each chart
    with a size; every chart's aria-label is read out as the docs give
    it."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
        from selenium.webdriver.common.by import By
    except ImportError:
        pytest.skip("needs python3-selenium")
    if not (os.path.exists(CHROMIUM) and os.path.exists(DRIVER)):
        pytest.skip("needs chromium and chromium-driver")
    hub = rules_hub(make_hub, "2026-03-02T08:00:00", rules=QUIET)
    gen = CprGen(10706)
    youth = [gen.born("2010-03-%02d" % (i + 1)) for i in range(12)]
    hub.send(*[ev_dropout(c, "2026-03-02") for c in youth],
             *[ev_absence(c, "2026-02-23", 4, expected=30) for c in youth])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    opts = Options()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
              "--disable-dev-shm-usage", f"--user-data-dir={tmp_path}/c"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(DRIVER), options=opts)
    try:
        drv.get(out.as_uri())
        assert drv.title.startswith("Annual status 2026-01-01 to 2026-12-31")
        errors = [e for e in drv.get_log("browser")
                  if e["level"] in ("SEVERE", "WARNING")]
        assert errors == []
        # Nothing fetched: the page is its only resource.
        names = drv.execute_script(
            "return performance.getEntriesByType('resource')"
            ".map(function (e) { return e.name; })")
        assert names == []
        charts = drv.find_elements(By.CSS_SELECTOR, "svg[role=img]")
        labels = [c.get_attribute("aria-label") for c in charts]
        assert "Chart: The legal clocks for 15-17-year-olds who dropped " \
            "out; bars: missed, one per row; the figures are in the table " \
            "above" in labels
        assert any(l.startswith("Chart: Young people known to the hub "
                                "without attachment to education, per "
                                "month, against the baseline 360")
                   for l in labels)
        for c in charts:
            assert c.size["width"] > 0 and c.size["height"] > 0
            assert c.find_element(By.TAG_NAME, "title").get_attribute(
                "textContent") == c.get_attribute("aria-label")
        # Printable: no chart wider than the page.
        width = drv.execute_script(
            "return document.documentElement.clientWidth")
        for c in charts:
            assert c.rect["x"] + c.rect["width"] <= width + 1
    finally:
        drv.quit()


def test_the_clocks_follow_the_rules_files_calendar(make_hub, tmp_path):
    """The report's calendar is the rules file's (OPERATIONS.md: "as
    hubd uses them"). With calendar.christmas_eve_is_holiday = no, a
    dropout received Wednesday 2025-12-23 has contact due Friday
    2026-01-02 (24, 29, 30, 31 December, 2 January): a contact dated
    01-02 is met, one dated 01-05 missed. With the summer holiday
    07-01..07-31 alone, a contact on 06-26 has the offer due 08-26
    (06-27..06-30 and 26 days of August): an offer dated 08-26 is met,
    one dated 08-27 missed."""
    hub = rules_hub(make_hub, "2025-12-23T08:00:00", rules=dict(
        QUIET, **{"calendar.christmas_eve_is_holiday": "no",
                  "calendar.school_holiday": "07-01..07-31"}))
    gen = CprGen(10708)
    yule = [gen.born("2009-07-%02d" % (i + 1)) for i in range(10)]
    summer = [gen.born("2010-07-%02d" % (i + 1)) for i in range(10)]
    for c in yule + summer:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2025-12-23") for c in yule])
    hub.wait_applied()
    hub.advance("2026-01-06T10:00:00")
    act(hub, yule[:5], "contact", "2026-01-02")
    act(hub, yule[5:], "contact", "2026-01-05")
    hub.set_clock("2026-06-22T08:00:00")
    hub.send(*[ev_dropout(c, "2026-06-22") for c in summer])
    hub.wait_applied()
    hub.set_clock("2026-06-26T09:00:00")
    act(hub, summer, "contact", None)
    hub.advance("2026-08-28T10:00:00")
    act(hub, summer[:5], "offer", "2026-08-26")
    act(hub, summer[5:], "offer", "2026-08-27")
    hub.wait_applied()
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert len([a for a in alerts
                if a["rule"] == "deadline.contact.missed"]) == 10
    # December's ten offers, never made, were missed in February too.
    assert len([a for a in alerts
                if a["rule"] == "deadline.offer.missed"]) == 20
    _, tables = report(hub, tmp_path, "--year", "2025")
    assert clock(tables, CONTACT) == ["5", "5", "0", "0", "10"]
    assert clock(tables, OFFER) == ["0", "10", "0", "0", "10"]
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["10", "0", "0", "0", "10"]
    assert clock(tables, OFFER) == ["5", "5", "0", "0", "10"]


def test_reported_ahead_and_closed_by_enrolment_on_the_due_day(make_hub,
                                                               tmp_path):
    """A Dropout of Wednesday 2026-09-16 received 2026-09-07 counts from
    its date: contact due 09-23, a contact dated 09-23 met, 09-24 missed.
    Dropouts received Monday 09-07 (due 09-14) and an enrolment starting
    after the dropout received on the due day: closed by enrolment;
    received the day after, with no contact: missed."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=QUIET)
    gen = CprGen(10709)
    ahead = [gen.born("2010-09-%02d" % (i + 1)) for i in range(10)]
    closed = [gen.born("2010-10-%02d" % (i + 1)) for i in range(10)]
    for c in ahead:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-09-16") for c in ahead],
             *[ev_dropout(c, "2026-09-07") for c in closed])
    hub.wait_applied()
    hub.advance("2026-09-14T20:00:00")
    hub.send(*[ev_enrolment(c, "2026-10-01") for c in closed[:5]])
    hub.wait_applied()
    hub.advance("2026-09-15T08:00:00")
    hub.send(*[ev_enrolment(c, "2026-10-01") for c in closed[5:]])
    hub.wait_applied()
    hub.advance("2026-09-25T10:00:00")
    act(hub, ahead[:5], "contact", "2026-09-23")
    act(hub, ahead[5:], "contact", "2026-09-24")
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["5", "10", "5", "0", "20"]


def test_readiness_over_a_school_year(make_hub, tmp_path):
    """The period 2026-08-01..2027-07-31: rows by the year of the
    assessment date, so one school year is two rows per grade. A
    person's latest assessment (in log order) dated in the period
    decides: not ready in 2026-09, ready in 2026-11: ready. One dated
    outside the period later in the same year does not: not ready in
    2027-06, ready in 2027-09: not ready. Grade 10 is not counted."""
    hub = rules_hub(make_hub, "2026-09-01T08:00:00", rules=QUIET)
    gen = CprGen(10710)
    ten = lambda: [gen.born("2011-04-%02d" % (i + 1)) for i in range(10)]
    autumn, spring, grade10 = ten(), ten(), ten()
    hub.send(*[ev_readiness(c, "2026-09-15", 9) for c in autumn],
             *[ev_readiness(c, "2026-09-15", 10) for c in grade10])
    hub.wait_applied()
    hub.set_clock("2026-11-16T08:00:00")
    hub.send(*[ev_readiness(c, "2026-11-16", 9, ready=True)
               for c in autumn[:5]])
    hub.wait_applied()
    hub.set_clock("2027-06-01T08:00:00")
    hub.send(*[ev_readiness(c, "2027-06-01", 9) for c in spring])
    hub.wait_applied()
    hub.set_clock("2027-09-01T08:00:00")
    hub.send(*[ev_readiness(c, "2027-09-01", 9, ready=True)
               for c in spring[:5]])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--from", "2026-08-01",
                       "--to", "2027-07-31")
    got = {r[0]: r[1:] for r in tables["readiness"][1:]}
    assert got == {"280017 2026 grade 9": ["5", "5", "10"],
                   "280017 2027 grade 9": ["0", "10", "10"],
                   "Total": ["5", "15", "20"]}
    _, tables = report(hub, tmp_path, "--year", "2027")
    got = {r[0]: r[1:] for r in tables["readiness"][1:]}
    assert got == {"280017 2027 grade 9": ["5", "5", "10"],
                   "Total": ["5", "5", "10"]}


def test_an_absence_report_sent_again_replaces_the_first(make_hub,
                                                        tmp_path):
    """An AbsenceReport for the same person, school, period and kind as
    an earlier one replaces it: 5 of 30 (16.7 %) sent again as 2 of 30
    (6.7 %) is under 10 %; sent again as 3 of 30, 10-15 %."""
    hub = rules_hub(make_hub, "2026-03-09T08:00:00")
    gen = CprGen(10711)
    five = lambda: [gen.born("2012-02-%02d" % (i + 1)) for i in range(5)]
    down, mid = five(), five()
    hub.send(*[ev_absence(c, "2026-03-02", 5) for c in down + mid])
    hub.wait_applied()
    hub.send(*[ev_absence(c, "2026-03-02", 2) for c in down],
             *[ev_absence(c, "2026-03-02", 3) for c in mid])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    q1 = row(tables, "absence", "280017 2026 Q1")
    assert [q1[k] for k in ("under 10 %", "10-15 %", "15 % and over",
                            "Total")] == ["5", "5", "0", "10"]


def benefit_from(cpr, start):
    return event("jobcenter-a", cpr, "benefit_status", jobcenter="jc-a",
                 benefit="EDUCATION_BENEFIT", start=start)


def test_without_attachment_measured_on_the_periods_end_or_today(
        make_hub, tmp_path):
    """Each month's measure is taken on its last day, or the period's end
    or today if earlier. Period 2026-01-01..2026-02-14: a benefit from
    02-14 counts in February, one from 02-15 does not. A period that
    runs on past today: the months up to today, this month measured on
    today (a benefit from today counts, one from tomorrow not), and the
    key figure names this month. (Run on a day after 2026-02-15.)"""
    today = datetime.datetime.utcnow().date()
    tomorrow = today + datetime.timedelta(days=1)
    hub = rules_hub(make_hub, "2026-01-05T08:00:00", rules=QUIET)
    gen = CprGen(10712)
    five = lambda: [gen.born("2005-05-%02d" % (i + 1)) for i in range(5)]
    on_end, after_end, now, later = five(), five(), five(), five()
    hub.send(*[benefit_from(c, "2026-02-14") for c in on_end],
             *[benefit_from(c, "2026-02-15") for c in after_end],
             *[benefit_from(c, today.isoformat()) for c in now],
             *[benefit_from(c, tomorrow.isoformat()) for c in later])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--from", "2026-01-01",
                       "--to", "2026-02-14")
    assert [r[:2] for r in tables["neet"][1:]] == \
        [["2026-01", "0"], ["2026-02", "5"]]
    first = today.replace(day=1)
    out, tables = report(hub, tmp_path, "--from", first.isoformat(),
                         "--to", (first + datetime.timedelta(days=70))
                         .isoformat())
    month = today.isoformat()[:7]
    # The two benefits of February run on; tomorrow's is not yet.
    assert [r[:2] for r in tables["neet"][1:]] == [[month, "15"]]
    assert f"<li>Without attachment to education in {month}: 15 " \
        "(baseline 360, goal 160)</li>" in out.read_text()


def test_a_chart_draws_no_bar_or_point_for_a_hidden_cell(make_hub,
                                                         tmp_path):
    """Suppression rule 3: charts draw what the table shows. Three on
    benefit from January, three more from February: January is <5 in
    the table and has no point on the line, only its label. Dropouts
    of 3 and 7 at two colleges: <5 and x, no bar at all."""
    hub = rules_hub(make_hub, "2026-01-05T08:00:00", rules=QUIET)
    gen = CprGen(10713)
    jan = [gen.born("2005-01-%02d" % (i + 1)) for i in range(3)]
    feb = [gen.born("2005-02-%02d" % (i + 1)) for i in range(3)]
    adults = [gen.born("2000-03-%02d" % (i + 1)) for i in range(10)]
    hub.send(*[benefit_from(c, "2026-01-01") for c in jan],
             *[benefit_from(c, "2026-02-01") for c in feb],
             *[ev_dropout(c, "2026-01-05", institution="eud-a")
               for c in adults[:3]],
             *[ev_dropout(c, "2026-01-05", institution="eud-b")
               for c in adults[3:]])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--from", "2026-01-01",
                         "--to", "2026-03-31")
    assert [r[:2] for r in tables["neet"][1:]] == \
        [["2026-01", "<5"], ["2026-02", "6"], ["2026-03", "6"]]
    html = out.read_text()
    svg = lambda sec: re.search(
        r'<section id="%s">.*?(<svg .*?</svg>)' % sec, html, re.S).group(1)
    line = svg("neet")
    assert line.count("<circle") == 2
    assert "&lt;5</text>" in line and ">2026-01</text>" in line
    assert [r[3] for r in tables["dropouts"][1:]] == ["<5", "x", "10"]
    bars = svg("dropouts")
    assert "<rect" not in bars
    assert ">eud-a (EUD)</text>" in bars and "&lt;5</text>" in bars
    assert ">eud-b (EUD)</text>" in bars and ">x</text>" in bars


@pytest.mark.parametrize("expires,last,end", [
    # Summer time ends at 01:00 UTC on Sunday 10-25: midnight starting
    # 10-25 is still summer time, midnight starting 10-26 winter time.
    ("2026-10-24", "2026-10-24T21:59:59", "2026-10-24T22:00:00"),
    ("2026-10-25", "2026-10-25T22:59:59", "2026-10-25T23:00:00"),
    # Summer time begins at 01:00 UTC on Sunday 03-29: midnight starting
    # 03-29 is winter time, midnight starting 03-30 summer time.
    ("2026-03-28", "2026-03-28T22:59:59", "2026-03-28T23:00:00"),
    ("2026-03-29", "2026-03-29T21:59:59", "2026-03-29T22:00:00")])
def test_consent_ends_at_danish_midnight_around_the_clock_change(
        make_hub, expires, last, end):
    """RULES.md section 6, consent end: 00:00 Danish time on the day after
    `expires` (22:00 UTC on `expires` in summer time, 23:00 in winter),
    on the days the clocks change too."""
    hub = rules_hub(make_hub, expires + "T12:00:00")
    [cpr] = CprGen(10714).take(1)
    hub.assign(cpr, "cw-anna")
    hub.send(event("addiction-a", cpr, "addiction_referral",
                   service="rmc-a", date=expires, stage="REFERRED",
                   consent={"given": True, "expires": expires}))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance(last)
    st = hub.stats()
    assert (st["alerts"], st["alerts_open"]) == (1, 1)
    hub.advance(end)
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 2)


def test_an_alert_withdrawn_with_the_consent_counts_as_acknowledged(
        make_hub, tmp_path):
    """The alerts table: a withdrawal closes an alert as an
    acknowledgement does, in time unless it escalated before. Ten
    referrals shared Monday 2026-09-07 10:00 (HIGH: 24 office hours, the
    desk's notice Thursday 10:00); five withdraw their consent on
    Tuesday, five on Friday after the notice."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    youth = annas_youth(hub, 10715, "2010-06", 10)
    hub.send(*[ev_referral(c, "2026-09-07", consent={"given": True})
               for c in youth])
    assert hub.wait_applied()["alerts"] == 10
    withdraw = lambda cprs: hub.send(*[
        ev_referral(c, "2026-09-07", stage="TREATMENT_STARTED",
                    consent={"given": False}) for c in cprs])
    hub.advance("2026-09-08T08:00:00")
    withdraw(youth[:5])
    hub.wait_applied()
    hub.advance("2026-09-10T09:00:00")
    hub.wait_stats("the desk's notices", lambda s: s["alerts"] == 20)
    hub.advance("2026-09-11T08:00:00")
    withdraw(youth[5:])
    hub.wait_stats("withdrawn", lambda s: s["alerts_open"] <= 15)
    _, tables = report(hub, tmp_path, "--year", "2026")
    r = row(tables, "alerts", "addiction")
    assert [r[k] for k in ("raised", "acknowledged", "acknowledged in time",
                           "escalated")] == ["10", "10", "5", "5"]
    assert row(tables, "alerts", "withdrawn")["raised"] == "10"


def test_every_missed_legal_deadline_is_counted_in_the_metrics(make_hub):
    """OPERATIONS.md, metrics: ungebro_deadlines_missed_total counts the
    legal deadlines missed (HUB-DEADLINE), also a missed treatment
    deadline that raises no alert for want of consent. Two dropouts of
    16-year-olds, no contact: two contact misses at 09-15 00:00; one
    referral of 09-07 without consent: its miss at 09-22 00:00, logged
    and counted, no alert."""
    from hubtest import NO_ESCALATION, RULE_AGENCIES, RULE_CASEWORKERS
    from test_82_metrics import metrics_hub, scrape, value
    hub = metrics_hub(make_hub, agencies=RULE_AGENCIES,
                      caseworkers=RULE_CASEWORKERS,
                      clock="2026-09-07T08:00:00",
                      rules=dict(NO_ESCALATION, **QUIET))
    youth = annas_youth(hub, 10716, "2010-08", 3)
    hub.send(*[ev_dropout(c, "2026-09-07") for c in youth[:2]],
             ev_referral(youth[2], "2026-09-07", consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 2
    missed = lambda: value(scrape(hub)[0], "ungebro_deadlines_missed_total")
    hub.advance("2026-09-14T23:59:59")
    assert missed() == 0
    hub.advance("2026-09-15T00:00:00")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.contact\.missed",
                 count=2)
    assert missed() == 2
    hub.advance("2026-09-22T00:00:00")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\."
                 r"missed")
    assert missed() == 3
    assert hub.stats()["alerts"] == 4


def danish_working_day(d):
    """RULES.md section 9, the defaults: Monday to Friday but the Danish
    public holidays (Christmas Eve one of them; Great Prayer Day until
    2023)."""
    y = d.year
    # Easter Sunday: the anonymous Gregorian computus (Meeus/Jones/
    # Butcher).
    a, b, c = y % 19, y // 100, y % 100
    dd, e = b // 4, b % 4
    g = (8 * b + 13) // 25
    h = (19 * a + b - dd - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 19 * l_) // 433
    month = (h + l_ - 7 * m + 90) // 25
    easter = datetime.date(y, month, (h + l_ - 7 * m + 33 * month + 19) % 32)
    off = {-3, -2, 0, 1, 39, 49, 50} | ({26} if y <= 2023 else set())
    holidays = {easter + datetime.timedelta(days=n) for n in off} | {
        datetime.date(y, 1, 1), datetime.date(y, 6, 5),
        datetime.date(y, 12, 24), datetime.date(y, 12, 25),
        datetime.date(y, 12, 26)}
    return d.weekday() < 5 and d not in holidays


def contact_due(received):
    d, n = received, 0
    while n < 5:
        d += datetime.timedelta(days=1)
        n += danish_working_day(d)
    return d


def test_pending_is_judged_on_the_system_clocks_today(make_hub, tmp_path):
    """OPERATIONS.md: "today" is the UTC day the report runs, by the
    system clock (the config's clock_file is not read): a clock with
    nothing recorded whose due day is today or later is pending, one
    due before today missed; the page names that day."""
    today = datetime.datetime.utcnow().date()
    day = datetime.timedelta(days=1)
    past = today - day
    while contact_due(past) >= today:
        past -= day
    due_today = None
    if danish_working_day(today):
        due_today = today - day
        while contact_due(due_today) != today:
            due_today -= day
    gen = CprGen(10717)
    five = lambda: [gen.born(f"{today.year - 16}-01-%02d" % (i + 1))
                    for i in range(5)]
    late, on_due, fresh = five(), five(), five()
    hub = rules_hub(make_hub, f"{past}T08:00:00", rules=QUIET)
    hub.send(*[ev_dropout(c, past.isoformat()) for c in late])
    hub.wait_applied()
    if due_today:
        hub.set_clock(f"{due_today}T08:00:00")
        hub.send(*[ev_dropout(c, due_today.isoformat()) for c in on_due])
        hub.wait_applied()
    hub.set_clock(f"{today}T00:00:01")
    hub.send(*[ev_dropout(c, today.isoformat()) for c in fresh])
    hub.wait_applied()
    # The hub's own clock runs ahead: the report does not follow it.
    hub.set_clock(f"{today + 60 * day}T08:00:00")
    out, tables = report(hub, tmp_path, "--from", past.isoformat(),
                         "--to", today.isoformat())
    pending = "10" if due_today else "5"
    assert clock(tables, CONTACT) == \
        ["0", "5", "0", pending, "15" if due_today else "10"]
    assert f"Computed by the hub from its log on {today.isoformat()}." \
        in out.read_text()


def test_starts_and_dropouts_per_institution_and_type(make_hub, tmp_path):
    """The dropouts table counts persons per institution (its Total row
    person-institution pairs), the enrolments table persons per
    programme type: five who start at two gymnasiums are five starts at
    each and five gymnasium starts; the end of an enrolment is no start;
    five who drop out twice from one college are five. The share
    heading for EUD is 0 of 5, not suppressed: a 0 points at nobody."""
    hub = rules_hub(make_hub, "2026-08-10T08:00:00", rules=QUIET)
    gen = CprGen(10718)
    pupils = [gen.born("2008-05-%02d" % (i + 1)) for i in range(5)]
    adults = [gen.born("1999-05-%02d" % (i + 1)) for i in range(5)]
    hub.send(*[ev_enrolment(c, "2026-08-10", institution="gym-a",
                            programme="STX") for c in pupils])
    hub.send(*[ev_enrolment(c, "2026-08-10", institution="gym-a",
                            programme="STX", end="2026-08-31")
               for c in pupils],
             *[ev_enrolment(c, "2026-09-01", institution="Nord-Gymnasium",
                            programme="hhx-int") for c in pupils],
             *[ev_dropout(c, "2026-08-20", institution="EUD-syd",
                          programme="") for c in adults])
    hub.send(*[ev_dropout(c, "2026-10-20", institution="EUD-syd",
                          programme="") for c in adults])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    got = {r[0]: r[1:] for r in tables["dropouts"][1:]}
    assert got == {"EUD-syd (EUD)": ["0", "0", "5"],
                   "Nord-Gymnasium (gymnasium)": ["5", "0", "0"],
                   "gym-a (gymnasium)": ["5", "0", "0"],
                   "Total": ["10", "0", "5"]}
    assert [r[:2] for r in tables["enrolments"][1:]] == \
        [["gymnasium", "5"], ["EUD", "0"], ["FGU", "0"], ["other", "0"],
         ["Total", "5"]]
    assert "<li>Share of enrolments heading for vocational education " \
        "(EUD): 0.0 % (0 of 5)</li>" in out.read_text()


def test_the_day_of_receipt_is_the_utc_day(make_hub, tmp_path):
    """RULES.md section 6: the contact clock counts from the hub clock's
    UTC day at receipt. Dropouts received Thursday 2026-09-10 23:30 UTC
    (Friday 01:30 in Denmark) count from Thursday: due Thursday 09-17,
    missed at 09-18 00:00 UTC; a contact dated 09-17 is met, one dated
    09-18 missed."""
    hub = rules_hub(make_hub, "2026-09-10T23:30:00", rules=QUIET)
    youth = annas_youth(hub, 10719, "2010-11", 10,
                        dropout="2026-09-10")
    hub.advance("2026-09-17T23:59:00")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert not [a for a in alerts if a["rule"] == "deadline.contact.missed"]
    hub.advance("2026-09-18T00:00:30")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    missed = [a for a in alerts if a["rule"] == "deadline.contact.missed"]
    assert len(missed) == 10
    assert "The deadline passed on 2026-09-17" in missed[0]["explanation"]
    hub.advance("2026-09-18T10:00:00")
    act(hub, youth[:5], "contact", "2026-09-17")
    act(hub, youth[5:], "contact", "2026-09-18")
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["5", "5", "0", "0", "10"]
