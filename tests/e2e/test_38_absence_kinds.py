"""38 absence exported one row per pupil, period and kind (docs/ADAPTERS.md),
through the real adapter-school import: the expected lessons of one pupil,
school and period count once however many kind rows report them (8 of 60,
not 8 of 120); a corrected row replaces its row; chronic absence is
"10 % or more ... for any reason" (DOMAIN rule 2), permitted leave
included, both configurable. docs/RULES.md, section 3 "Absence".

The harness turns the quarter rule off and the rolling rule's coverage
minimum to 0 by default; these tests set what they exercise."""

import datetime

import pytest

from hubtest import AbsenceRow, CprGen, rules_hub

CLOCK = "2026-09-21T08:00:00"
ROLLING = {"absence.rolling.min_days": "10"}
QUARTER = {"absence.quarter.enabled": "yes",
           "absence.rolling.enabled": "no"}
ILLNESS, PERMITTED, UNLAWFUL = "sygdom", "lovligt", "ulovligt"

_files = [0]


def week(cpr, monday, absent, kind, expected=30):
    end = datetime.date.fromisoformat(monday) + datetime.timedelta(days=4)
    return AbsenceRow(cpr, period_start=monday, period_end=end.isoformat(),
                      absent=absent, expected=expected, kind=kind)


def import_rows(hub, rows):
    """Import rows as one school export; every row must reach the hub.
    Returns the hub's stats once it has applied them."""
    _files[0] += 1
    path, _ = hub.csv(f"fravaer-{_files[0]:02d}.csv", rows)
    r = hub.adapter("import", path)
    assert r.rc == 0 and r.summary is not None, str(r)
    assert (r.summary["accepted"], r.summary["rejected_rows"]) == \
        (len(rows), 0), str(r)
    return hub.wait_applied()


@pytest.mark.parametrize("rules", [{}, {"absence.rolling.strictly_above":
                                        "yes"}],
                         ids=["default", "strictly-above"])
def test_kind_rows_count_expected_lessons_once(make_hub, rules):
    """Two weeks of 30 expected lessons, each exported as an illness and an
    unlawful row: 8 of 60 absent (13.3 %), an alert under either
    threshold rule. Summing every row's expected lessons made it 8 of 120
    (6.7 %) and no alert."""
    hub = rules_hub(make_hub, CLOCK, rules={**ROLLING, **rules})
    cpr = CprGen(3801).next()
    hub.assign(cpr, "cw-anna")
    # The rows are applied in file order: 2 of 30, then 5 of 60 (8.3 %),
    # then 8 of 60.
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 1, ILLNESS),
        week(cpr, "2026-09-07", 1, UNLAWFUL),
        week(cpr, "2026-09-14", 3, ILLNESS),
        week(cpr, "2026-09-14", 3, UNLAWFUL)])["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "absence.rolling"
    assert a["title"] == \
        "Absence 13.3 % over the last 20 school days (threshold 10 %)"
    assert "From 2026-09-07 to 2026-09-18 (10 school days reported) the " \
        "school reported 8 of 60 expected lessons absent (13.3 %) in 4 " \
        "reports" in a["explanation"]
    assert len(a["evidence"]) == 4


def test_corrected_kind_row_replaces_not_adds(make_hub):
    """Corrections of the unlawful rows bring the rate to 4 of 60 (the
    episode ends, and its alert is withdrawn: a `withdrawn` notice); a
    further correction to 7 of 60 starts a new episode. Had the
    corrections been added to the rows they correct, the rate would never
    have fallen and there would be one alert, not three."""
    hub = rules_hub(make_hub, CLOCK, rules=ROLLING)
    cpr = CprGen(3802).next()
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 2, ILLNESS),
        week(cpr, "2026-09-07", 2, UNLAWFUL),
        week(cpr, "2026-09-14", 2, ILLNESS),
        week(cpr, "2026-09-14", 2, UNLAWFUL)])["alerts"] == 1
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 0, UNLAWFUL),
        week(cpr, "2026-09-14", 0, UNLAWFUL)])["alerts"] == 2
    assert import_rows(hub, [
        week(cpr, "2026-09-14", 3, UNLAWFUL)])["alerts"] == 3
    alerts = hub.peek("desk-dora", 2)
    assert sorted(a["rule"] for a in alerts) == ["absence.rolling",
                                                 "withdrawn"]
    latest = next(a for a in alerts if a["rule"] == "absence.rolling")
    assert "the school reported 7 of 60 expected lessons absent (11.7 %) " \
        "in 4 reports" in latest["explanation"]


@pytest.mark.parametrize("rules,alerts", [
    ({}, 1),                                          # 10 % or more
    ({"absence.rolling.strictly_above": "yes"}, 0),   # above 10 % only
], ids=["default-inclusive", "strictly-above"])
def test_exactly_10_percent(make_hub, rules, alerts):
    """6 of 60 lessons, in illness and unlawful rows: exactly 10.0 %."""
    hub = rules_hub(make_hub, CLOCK, rules={**ROLLING, **rules})
    cpr = CprGen(3803).next()
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 2, ILLNESS),
        week(cpr, "2026-09-07", 1, UNLAWFUL),
        week(cpr, "2026-09-14", 2, ILLNESS),
        week(cpr, "2026-09-14", 1, UNLAWFUL)])["alerts"] == alerts
    if not alerts:
        hub.peek("desk-dora", 0)
        return
    [a] = hub.peek("desk-dora", 1)
    assert a["title"] == \
        "Absence 10.0 % over the last 20 school days (threshold 10 %)"
    assert "Rule absence.rolling: absence at or above 10 % of expected " \
        "lessons" in a["explanation"]


@pytest.mark.parametrize("rules,alerts", [
    ({}, 1),
    ({"absence.rolling.count_permitted_leave": "no"}, 0),
], ids=["default-counts-leave", "leave-not-counted"])
def test_permitted_leave_counts_toward_chronic_absence(make_hub, rules,
                                                       alerts):
    """6 lessons of permitted leave and none unlawful over two weeks of 30:
    absence "for any reason" is 6 of 60 (10 %). Without permitted leave it
    is 0 of 60; the leave row's expected lessons count either way."""
    hub = rules_hub(make_hub, CLOCK, rules={**ROLLING, **rules})
    cpr = CprGen(3804).next()
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 6, PERMITTED),
        week(cpr, "2026-09-07", 0, UNLAWFUL),
        week(cpr, "2026-09-14", 0, UNLAWFUL)])["alerts"] == alerts
    if not alerts:
        hub.peek("desk-dora", 0)
        return
    [a] = hub.peek("desk-dora", 1)
    assert "6 of 60 expected lessons absent (10.0 %) in 3 reports" in \
        a["explanation"]


def test_permitted_leave_left_out_of_an_all_kinds_total(make_hub):
    """Without permitted leave, a period exported as an "alle" total of 6
    and a permitted-leave row of 6 has no absence that counts: 0 of 60,
    no alert. The total used as it stood counted the leave all the same
    (6 of 60, 10 %)."""
    hub = rules_hub(make_hub, CLOCK, rules={
        **ROLLING, "absence.rolling.count_permitted_leave": "no"})
    cpr = CprGen(3806).next()
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 6, "alle"),
        week(cpr, "2026-09-07", 6, PERMITTED),
        week(cpr, "2026-09-14", 0, UNLAWFUL)])["alerts"] == 0
    # A total of 6 for the second week, no leave in it: 6 of 60, the alert.
    assert import_rows(hub, [
        week(cpr, "2026-09-14", 6, "alle")])["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert "6 of 60 expected lessons absent (10.0 %) in 4 reports" in \
        a["explanation"]


def test_quarter_counts_expected_lessons_once(make_hub):
    """The quarter rule counts unlawful absence only, but every kind's row
    tells its period's expected lessons and school days: an unlawful row
    of 6 and an illness row of 9 in the first week, an illness row only in
    the second: 6 of 60 unlawful (10 %) over 10 school days, a warning."""
    hub = rules_hub(make_hub, CLOCK, rules=QUARTER)
    cpr = CprGen(3805).next()
    assert import_rows(hub, [
        week(cpr, "2026-09-07", 6, UNLAWFUL),
        week(cpr, "2026-09-07", 9, ILLNESS),
        week(cpr, "2026-09-14", 3, ILLNESS)])["alerts"] == 1
    [w] = hub.peek("desk-dora", 1)
    assert w["rule"] == "absence.quarter.warn"
    assert "the school reported 6 of 60 expected lessons as unlawful " \
        "absence (10.0 %, 10 school days reported)" in w["explanation"]
