"""89 the annual status as management reads it (docs/OPERATIONS.md "The
annual status"): the page opened in headless Chromium, which test_81's
checks of its text and CSV files leave out: nothing fetched, no console
error, and every chart legible (no label cut off, none over another)."""

import os

import pytest

from hubtest import CprGen, envelope, ev_enrolment, ev_leaving, event, \
    rules_hub

from test_70_web import CHROMIUM, DRIVER, HAVE_SELENIUM, chrome

needs_chromium = pytest.mark.skipif(
    not (HAVE_SELENIUM and os.path.exists(CHROMIUM) and
         os.path.exists(DRIVER)),
    reason="needs chromium, chromium-driver and python3-selenium "
           "(make bootstrap installs them)")


def report(hub, tmp, *period):
    out = tmp / "status" / "status.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    p = hub.hubctl("report", *period, "--out", str(out))
    assert p.stdout.startswith(f"wrote {out} and 9 tables"), p
    return out


@needs_chromium
def test_the_page_shows_every_label_of_its_charts_whole(make_hub, tmp_path):
    """OPERATIONS.md: an id is shown up to 40 bytes, and each table's
    chart draws its rows. Headless Chromium opens the page (fetching
    nothing, no error in its console) and every text of every chart lies
    inside the chart: a row labelled with a 40-byte school or institution
    id (wide letters, Latin or Cyrillic, its programme type after it)
    was cut off at the chart's left edge, the id's beginning lost."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8901)
    school = "SKOLE-" + "W" * 34                 # 40 bytes, shown whole
    inst = "GYM-" + "M" * 36
    cyrillic = "Ж" * 20                         # 40 bytes too
    assert len(school) == len(inst) == len(cyrillic.encode()) == 40
    hub.send(*[event("school-a", c, "readiness_assessment", school=school,
                     grade=8, date="2026-01-15", ready=i < 5)
               for i, c in enumerate(gen.take(12))],
             *[ev_enrolment(c, "2026-08-10", institution=inst,
                            programme="stx") for c in gen.take(6)],
             *[envelope("school-a", c, f"89-{c}", "2026-03-02",
                        "2026-03-06", absent=4, expected=30,
                        school=cyrillic) for c in gen.take(6)])
    hub.wait_applied()
    out = report(hub, tmp_path, "--year", "2026")
    driver = chrome(hub, "report")
    try:
        driver.get(out.as_uri())
        assert driver.title == "Annual status 2026-01-01 to 2026-12-31"
        assert driver.execute_script(
            "return performance.getEntriesByType('resource').length") == 0
        assert [e for e in driver.get_log("browser")
                if e["level"] == "SEVERE"] == []
        outside = driver.execute_script("""
            const bad = [];
            for (const svg of document.querySelectorAll('svg.chart')) {
              const width = svg.viewBox.baseVal.width;
              for (const t of svg.querySelectorAll('text')) {
                const b = t.getBBox();
                if (b.x < 0 || b.x + b.width > width)
                  bad.push([svg.closest('section').id, t.textContent,
                            Math.round(b.x), Math.round(b.x + b.width),
                            width]);
              }
            }
            return bad;""")
        assert outside == [], outside
        labels = driver.execute_script("""
            return Array.from(document.querySelectorAll(
              'section#readiness svg text, section#dropouts svg text'))
              .map(t => t.textContent);""")
        assert f"{school} 2026 grade 8" in labels, labels
        assert f"{inst} (gymnasium)" in labels, labels
        assert driver.execute_script("""
            return Array.from(document.querySelectorAll(
              'section#absence svg text')).map(t => t.textContent);""")[1] \
            == f"{cyrillic} 2026 Q1"
    finally:
        driver.quit()


def overlapping(driver, section):
    """The pairs of texts of a section's chart whose boxes overlap."""
    return driver.execute_script("""
        const boxes = Array.from(document.querySelectorAll(
          'section#' + arguments[0] + ' svg text')).map(t => {
            const b = t.getBBox();
            return [t.textContent, b.x, b.y, b.x + b.width, b.y + b.height];
          });
        const bad = [];
        for (let i = 0; i < boxes.length; i++)
          for (let j = i + 1; j < boxes.length; j++) {
            const [a, b] = [boxes[i], boxes[j]];
            if (a[1] < b[3] && b[1] < a[3] && a[2] < b[4] && b[2] < a[4])
              bad.push([a[0], b[0]]);
          }
        return bad;""", section)


@needs_chromium
def test_the_monthly_chart_of_a_longer_period_stays_legible(make_hub,
                                                            tmp_path):
    """OPERATIONS.md: `--from`/`--to` is any period, and the neet table
    a line chart, one point per month. Over two years (24 months) the
    month labels and figures were written 26px apart, each some 46px
    wide: one smear. Now every month has its point, and the labels and
    figures that are written do not overlap; the last month (the page's
    key figure) is always labelled, and a year still labels all 12."""
    hub = rules_hub(make_hub, "2024-01-05T08:00:00")
    gen = CprGen(8902)
    hub.send(*[ev_leaving(gen.born("2008-01-01"), "2024-01-10")
               for _ in range(7)])
    hub.wait_applied()
    two_years = report(hub, tmp_path / "two", "--from", "2024-01-01",
                       "--to", "2025-11-30")
    one_year = report(hub, tmp_path / "one", "--year", "2024")
    thirteen = report(hub, tmp_path / "13", "--from", "2024-01-01",
                      "--to", "2025-01-31")
    fourteen = report(hub, tmp_path / "14", "--from", "2024-01-01",
                      "--to", "2025-02-28")
    driver = chrome(hub, "report")

    def month_labels(page):
        driver.get(page.as_uri())
        assert overlapping(driver, "neet") == []
        return driver.execute_script("""
            return Array.from(document.querySelectorAll(
              'section#neet svg text.cap')).map(t => t.textContent);""")[2:]
    try:
        # Up to 13 months every month is labelled; from 14 on, every
        # second month, the last one among them.
        assert len(month_labels(thirteen)) == 13
        assert month_labels(fourteen) == \
            ["2024-%02d" % m for m in range(2, 13, 2)] + \
            ["2025-02"]
        driver.get(two_years.as_uri())
        assert overlapping(driver, "neet") == []
        months = driver.execute_script("""
            return Array.from(document.querySelectorAll(
              'section#neet svg text.cap')).map(t => t.textContent);""")
        assert months[:2] == ["baseline 360", "goal 160"], months
        assert months[-1] == "2025-11" and len(months) - 2 < 23, months
        assert driver.execute_script(
            "return document.querySelectorAll('section#neet svg circle')"
            ".length") == 23
        driver.get(one_year.as_uri())
        assert overlapping(driver, "neet") == []
        months = driver.execute_script("""
            return Array.from(document.querySelectorAll(
              'section#neet svg text.cap')).map(t => t.textContent);""")
        assert months == ["baseline 360", "goal 160"] + \
            ["2024-%02d" % m for m in range(1, 13)], months
    finally:
        driver.quit()


def test_a_period_on_the_command_line_wins_over_one_in_a_file(make_hub,
                                                              tmp_path):
    """OPERATIONS.md: `--from`/`--to` belong to `audit show` and `report`,
    a `--config` file may hold them, and the command line wins over every
    file. An ops.conf kept for `audit show` (from, to) made `report
    --year 2025` fail as "not both"; the period given on the command line
    now sets aside the other kind read from a file, either way. Both on
    the command line, or both in files, are still the usage error."""
    import json
    hub = make_hub()
    ops = tmp_path / "ops.conf"
    out = str(tmp_path / "status.html")

    def period(*args):
        p = hub.hubctl("report", "--config", str(ops), *args, "--out", out,
                       check=False)
        if p.returncode:
            return p.returncode, p.stderr
        [last] = [r for r in map(json.loads, hub.hubctl(
            "audit", "show", "--json").stdout.splitlines())
            if r["action"] == "report"][-1:]
        return last["detail"].split(":")[0]

    ops.write_text("from = 2026-01-01\nto = 2026-06-30\n")
    assert period("--year", "2025") == \
        "annual status 2025-01-01 to 2025-12-31"
    assert period() == "annual status 2026-01-01 to 2026-06-30"
    assert period("--to", "2026-03-31") == \
        "annual status 2026-01-01 to 2026-03-31"
    ops.write_text("year = 2024\n")
    assert period("--from", "2025-03-01", "--to", "2025-03-31") == \
        "annual status 2025-03-01 to 2025-03-31"
    assert period() == "annual status 2024-01-01 to 2024-12-31"
    both = (2, "hubctl: report: --year YYYY, or --from DATE --to DATE "
            "(not both)\n")
    assert period("--year", "2025", "--from", "2025-03-01",
                  "--to", "2025-03-31") == both
    ops.write_text("year = 2024\nfrom = 2025-03-01\nto = 2025-03-31\n")
    assert period() == both
