"""89 the annual status and the law's clocks as management and the
data-protection officer read them (docs/OPERATIONS.md "The annual
status", docs/RULES.md §6 and §9): the page as a browser shows it, and
what test_81 and test_34 leave out."""

import os
import re

import pytest

from hubtest import CprGen, ev_enrolment, event, rules_hub

from test_70_web import CHROMIUM, DRIVER, HAVE_SELENIUM, chrome

needs_chromium = pytest.mark.skipif(
    not (HAVE_SELENIUM and os.path.exists(CHROMIUM) and
         os.path.exists(DRIVER)),
    reason="needs chromium, chromium-driver and python3-selenium "
           "(make bootstrap installs them)")


def report(hub, tmp, *period):
    out = tmp / "status" / "status.html"
    out.parent.mkdir(exist_ok=True)
    p = hub.hubctl("report", *period, "--out", str(out))
    assert p.stdout.startswith(f"wrote {out} and 9 tables"), p
    return out


@needs_chromium
def test_the_page_shows_every_label_of_its_charts_whole(make_hub, tmp_path):
    """OPERATIONS.md: an id is shown up to 40 bytes, and each table's
    chart draws its rows. Headless Chromium opens the page (fetching
    nothing, no error in its console) and every text of every chart lies
    inside the chart: a row labelled with a 40-byte school or institution
    id (wide letters, its programme type after it) was cut off at the
    chart's left edge, the id's beginning lost."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8901)
    school = "SKOLE-" + "W" * 34                 # 40 bytes, shown whole
    inst = "GYM-" + "M" * 36
    assert len(school) == len(inst) == 40
    hub.send(*[event("school-a", c, "readiness_assessment", school=school,
                     grade=8, date="2026-01-15", ready=i < 5)
               for i, c in enumerate(gen.take(12))],
             *[ev_enrolment(c, "2026-08-10", institution=inst,
                            programme="stx") for c in gen.take(6)])
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
    finally:
        driver.quit()
