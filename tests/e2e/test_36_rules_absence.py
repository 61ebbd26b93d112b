"""36 rules, absence (DOMAIN rule 2) through a real hubd: the rolling
window counts school days only (the autumn holiday, week 42, is no school
day), the coverage minimum, and the unlawful-absence quarter levels (at
10 % a warning, at 15 % a notification; one alert per level per quarter;
a new quarter starts afresh; a report spanning a quarter boundary is
apportioned between the quarters by school days, through the school
adapter). docs/RULES.md.

The harness turns the quarter rule off and the rolling rule's coverage
minimum to 0 by default; these tests set what they exercise."""

import datetime

import pytest

import hubtest
from hubtest import AbsenceRow, CprGen, ev_absence, rules_hub

# Weeks 40, 41, 43 and 44 of 2026 (week 42 is the autumn holiday).
AROUND_AUTUMN = [("2026-09-28", 4), ("2026-10-05", 3), ("2026-10-19", 3),
                 ("2026-10-26", 3)]


@pytest.mark.parametrize("calendar,alerts", [
    ({}, 1),                                          # Danish defaults
    ({"calendar.school_holiday": "week 7"}, 0),      # week 42 a school week
], ids=["week-42-holiday", "week-42-school"])
def test_rolling_window_counts_school_days_only(make_hub, calendar, alerts):
    """20 school days ending Friday 2026-10-30 reach back to 2026-09-28 over
    the autumn holiday: the four weekly reports cover all 20, so the rule
    judges (13 of 120 lessons, 10.8 %: above 10 %). Were week 42 a school
    week, the window would start 2026-10-05, the reports would cover 15 of
    its 20 days, and the rule would not judge yet."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00",
                    rules={"absence.rolling.min_days": "20", **calendar})
    cpr = CprGen(3601).next()
    hub.assign(cpr, "cw-anna")
    hub.send(*(ev_absence(cpr, monday, absent)
               for monday, absent in AROUND_AUTUMN[:3]))
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_absence(cpr, *AROUND_AUTUMN[3]))
    assert hub.wait_applied()["alerts"] == alerts
    if not alerts:
        return
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"], a["recipient"]) == \
        ("absence.rolling", "NORMAL", "cw-anna")
    assert a["title"] == \
        "Absence 10.8 % over the last 20 school days (threshold 10 %)"
    assert "From 2026-09-28 to 2026-10-30 (20 school days reported) the " \
        "school reported 13 of 120 expected lessons absent (10.8 %) in 4 " \
        "reports" in a["explanation"]
    assert [e["period_start"] for e in sorted(
        a["evidence"], key=lambda e: e["period_start"])] == \
        [m for m, _ in AROUND_AUTUMN]


def test_rolling_waits_for_min_days(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.rolling.min_days": "10"})
    cpr = CprGen(3602).next()
    hub.send(ev_absence(cpr, "2026-09-07", 9))
    # One week (5 school days) of 30 % absence: not judged yet.
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_absence(cpr, "2026-09-14", 0))
    # 9 of 60 (15 %) over 10 school days.
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "absence.rolling"



def test_rolling_explanation_counts_one_day_and_one_report(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.rolling.min_days": "1"})
    cpr = CprGen(3603).next()
    hub.send(ev_absence(cpr, "2026-09-14", 2, expected=6, days=1))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert "From 2026-09-14 to 2026-09-14 (1 school day reported) the " \
        "school reported 2 of 6 expected lessons absent (33.3 %) in 1 " \
        "report. Rule absence.rolling" in a["explanation"]

QUARTER = {"absence.quarter.enabled": "yes",
           "absence.rolling.enabled": "no"}


def test_quarter_warns_at_10_and_notifies_at_15(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00", rules=QUARTER)
    cpr = CprGen(3603).next()
    hub.assign(cpr, "cw-anna")
    hub.send(ev_absence(cpr, "2026-09-07", 3))
    # 10 % but only 5 school days: the quarter needs 10.
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_absence(cpr, "2026-09-14", 3))
    # 6 of 60: exactly 10 %, and "at 10 %" warns.
    assert hub.wait_applied()["alerts"] == 1
    [w] = hub.peek("cw-anna", 1)
    assert (w["rule"], w["priority"], w["recipient"]) == \
        ("absence.quarter.warn", "NORMAL", "cw-anna")
    assert w["title"] == "Unlawful absence 10.0 % this quarter (level 10 %)"
    assert "In the quarter 2026-07-01 to 2026-09-30 the school reported 6 " \
        "of 60 expected lessons as unlawful absence (10.0 %, 10 school " \
        "days reported)" in w["explanation"]
    assert "check with the school that the parents were warned by " \
        "2026-09-28" in w["explanation"]
    # The evidence is the report that reached the level, with its own
    # period and figures, as the rolling rule's evidence shows them.
    [e] = w["evidence"]
    assert (e["agency"], e["type"], e["period_start"], e["period_end"],
            e["lessons_absent"], e["lessons_expected"]) == \
        ("school-a", "AbsenceReport", "2026-09-14", "2026-09-18", 3, 30)
    # 12 of 90 (13.3 %): between the levels, nothing new.
    hub.send(ev_absence(cpr, "2026-09-21", 6))
    assert hub.wait_applied()["alerts"] == 1
    # 21 of 120 (17.5 %): the notification, once.
    hub.send(ev_absence(cpr, "2026-09-28", 9, days=3))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_absence(cpr, "2026-09-28", 12, days=3))   # a correction
    assert hub.wait_applied()["alerts"] == 2
    alerts = hub.peek("cw-anna", 2)
    n = next(a for a in alerts if a["rule"] == "absence.quarter.notify")
    assert n["priority"] == "HIGH"
    assert n["title"] == "Unlawful absence 17.5 % this quarter (level 15 %)"
    assert "take up the school's notification and decide on the child " \
        "benefit by 2026-09-23" in n["explanation"]


def test_quarter_straight_to_15_is_one_alert_and_a_new_quarter_resets(
        make_hub):
    hub = rules_hub(make_hub, "2026-10-20T08:00:00", rules=QUARTER)
    cpr = CprGen(3604).next()
    hub.send(ev_absence(cpr, "2026-09-14", 3),
             ev_absence(cpr, "2026-09-21", 6))
    # 9 of 60 = 15 %: warn and notify at once -> one alert, notify.
    assert hub.wait_applied()["alerts"] == 1
    # Q4: week 41, then week 42 (autumn holiday: no school day), then
    # week 43 -> 10 school days covered, 6 of 90 = 6.7 %: quiet; a late
    # Q3 report with 100 % changes nothing (its quarter is closed).
    hub.send(ev_absence(cpr, "2026-10-05", 6),
             ev_absence(cpr, "2026-10-12", 0),
             ev_absence(cpr, "2026-10-19", 0),
             ev_absence(cpr, "2026-09-28", 30, days=3))
    assert hub.wait_applied()["alerts"] == 1
    # Q4 reaches 10 %: the warning of the new quarter.
    hub.send(ev_absence(cpr, "2026-10-26", 6))
    assert hub.wait_applied()["alerts"] == 2
    alerts = hub.peek("desk-dora", 2)
    assert sorted((a["rule"], a["priority"]) for a in alerts) == [
        ("absence.quarter.notify", "HIGH"), ("absence.quarter.warn",
                                             "NORMAL")]
    warn = next(a for a in alerts if a["rule"] == "absence.quarter.warn")
    assert "In the quarter 2026-10-01 to 2026-12-31" in warn["explanation"]


def test_quarter_counts_unlawful_absence_only(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00", rules=QUARTER)
    cpr = CprGen(3605).next()
    illness = hubtest.pb().ILLNESS
    hub.send(ev_absence(cpr, "2026-09-07", 15, kind=illness),
             ev_absence(cpr, "2026-09-14", 15, kind=illness))
    assert hub.wait_applied()["alerts"] == 0


def test_both_absence_measures_are_computed(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.quarter.enabled": "yes",
                           "absence.rolling.min_days": "10"})
    cpr = CprGen(3606).next()
    hub.send(ev_absence(cpr, "2026-09-07", 5))
    assert hub.wait_applied()["alerts"] == 0
    # 10 school days, 10 of 60 (16.7 %): above the rolling threshold and
    # over the quarter's notify level: two alerts, one per rule.
    hub.send(ev_absence(cpr, "2026-09-14", 5))
    assert hub.wait_applied()["alerts"] == 2
    assert sorted(a["rule"] for a in hub.peek("desk-dora", 2)) == \
        ["absence.quarter.notify", "absence.rolling"]


def test_one_report_one_absence_alert_below_the_notify_level(make_hub):
    """A report that starts a rolling episode and reaches the quarter's
    warning level raises the rolling alert only; the warning level is
    still used up for the quarter (no warning later)."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.quarter.enabled": "yes",
                           "absence.rolling.min_days": "10"})
    cpr = CprGen(3607).next()
    hub.send(ev_absence(cpr, "2026-09-07", 3))
    assert hub.wait_applied()["alerts"] == 0
    # 7 of 60 (11.7 %): rolling above 10 %, quarter at its 10 % level.
    hub.send(ev_absence(cpr, "2026-09-14", 4))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "absence.rolling"
    # Still between the levels a week later: nothing new.
    hub.send(ev_absence(cpr, "2026-09-21", 4))
    assert hub.wait_applied()["alerts"] == 1


# Through the school adapter: its export is one row per pupil, period and
# kind (docs/ADAPTERS.md).
UNLAWFUL, ILLNESS = "ulovligt", "sygdom"
_exports = [0]


def school_export(hub, rows):
    """Import rows as one school export file, every row accepted; the
    hub's stats once it has applied them."""
    _exports[0] += 1
    path, _ = hub.csv(f"fravaer-36-{_exports[0]:02d}.csv", rows)
    r = hub.adapter("import", path)
    assert r.rc == 0 and r.summary is not None, str(r)
    assert (r.summary["accepted"], r.summary["rejected_rows"]) == \
        (len(rows), 0), str(r)
    return hub.wait_applied()


def test_quarter_apportions_a_report_across_the_boundary(make_hub):
    """2026-09-28 to 10-09 has 3 school days in Q3 and 7 in Q4: of its 60
    expected lessons 18 are Q3's and 42 Q4's. Q4 then holds 6 unlawful of
    42 + 18 = 60 lessons over 7 + 3 school days: exactly 10 %, the
    warning. Counting the whole report in Q4 made it 6 of 78 (7.7 %)."""
    hub = rules_hub(make_hub, "2026-10-26T08:00:00", rules=QUARTER)
    cpr = CprGen(3608).next()
    hub.assign(cpr, "cw-anna")
    assert school_export(hub, [
        AbsenceRow(cpr, period_start="2026-09-21", period_end="2026-09-25",
                   absent=0, expected=30, kind=UNLAWFUL),
        AbsenceRow(cpr, period_start="2026-09-28", period_end="2026-10-09",
                   absent=4, expected=60, kind=ILLNESS),
        AbsenceRow(cpr, period_start="2026-09-28", period_end="2026-10-09",
                   absent=0, expected=60, kind=UNLAWFUL)])["alerts"] == 0
    # Monday to Wednesday after the autumn holiday (week 42).
    assert school_export(hub, [
        AbsenceRow(cpr, period_start="2026-10-19", period_end="2026-10-21",
                   absent=6, expected=18, kind=UNLAWFUL)])["alerts"] == 1
    [w] = hub.peek("cw-anna", 1)
    assert (w["rule"], w["priority"]) == ("absence.quarter.warn", "NORMAL")
    assert w["title"] == "Unlawful absence 10.0 % this quarter (level 10 %)"
    assert "In the quarter 2026-10-01 to 2026-12-31 the school reported 6 " \
        "of 60 expected lessons as unlawful absence (10.0 %, 10 school " \
        "days reported)" in w["explanation"]


def test_quarter_counts_a_spanning_report_in_the_quarter_before(make_hub):
    """Q3 has 5 unlawful of 60 (8.3 %). The two weeks 2026-09-28 to 10-09,
    exported illness row first, bring 3 of their 10 school days into Q3:
    3 of the unlawful row's 10 lessons and 18 of its 60 expected, so Q3 is
    8 of 78 (10.3 %) over 13 school days, Q3's warning, though the report
    ends in Q4. Q4 gets 7 of 42; a week after the autumn holiday with 1 of
    30 makes it 8 of 72 (11.1 %) over 12 school days, Q4's warning."""
    hub = rules_hub(make_hub, "2026-10-26T08:00:00", rules=QUARTER)
    cpr = CprGen(3609).next()
    assert school_export(hub, [
        AbsenceRow(cpr, period_start="2026-09-14", period_end="2026-09-18",
                   absent=3, expected=30, kind=UNLAWFUL),
        AbsenceRow(cpr, period_start="2026-09-21", period_end="2026-09-25",
                   absent=2, expected=30, kind=UNLAWFUL),
        AbsenceRow(cpr, period_start="2026-09-28", period_end="2026-10-09",
                   absent=9, expected=60, kind=ILLNESS),
        AbsenceRow(cpr, period_start="2026-09-28", period_end="2026-10-09",
                   absent=10, expected=60, kind=UNLAWFUL)])["alerts"] == 1
    [q3] = hub.peek("desk-dora", 1)
    assert q3["rule"] == "absence.quarter.warn"
    assert q3["title"] == "Unlawful absence 10.3 % last quarter (level 10 %)"
    assert "In the quarter 2026-07-01 to 2026-09-30 the school reported 8 " \
        "of 78 expected lessons as unlawful absence (10.3 %, 13 school " \
        "days reported)" in q3["explanation"]
    assert school_export(hub, [
        AbsenceRow(cpr, period_start="2026-10-19", period_end="2026-10-23",
                   absent=1, expected=30, kind=UNLAWFUL)])["alerts"] == 2
    q4 = [a for a in hub.peek("desk-dora", 2)
          if "In the quarter 2026-10-01 to 2026-12-31" in a["explanation"]]
    assert len(q4) == 1
    assert q4[0]["rule"] == "absence.quarter.warn"
    assert q4[0]["title"] == \
        "Unlawful absence 11.1 % this quarter (level 10 %)"
    assert "the school reported 8 of 72 expected lessons as unlawful " \
        "absence (11.1 %, 12 school days reported)" in q4[0]["explanation"]


# Rates are shown with one decimal, rounded half up, but never onto a
# threshold the exact rate is not at: the figure must not contradict the
# verdict beside it.

def test_a_rate_just_under_the_threshold_is_not_shown_as_it(make_hub):
    """Corrected to 199 of 2000 lessons (9.95 %): the withdrawal says
    9.9 %, not "10.0 %, under the threshold of 10 %"."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00",
                    rules={"absence.rolling.min_days": "5"})
    cpr = CprGen(3611).next()
    first = ev_absence(cpr, "2026-09-07", 400, expected=2000)
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    fix = ev_absence(cpr, "2026-09-07", 199, expected=2000)
    fix.supersedes = first.event_id
    hub.send(fix)
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("desk-dora", 1)
    assert "absence is now 199 of 2000 expected lessons (9.9 %), under " \
        "the threshold of 10 %" in w["explanation"]


def test_a_rate_just_above_a_strict_threshold_is_not_shown_as_it(make_hub):
    """With strictly_above, 1001 of 10000 (10.01 %) alerts: shown 10.1 %,
    not "10.0 %" in an alert about absence above 10 %."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00",
                    rules={"absence.rolling.min_days": "5",
                           "absence.rolling.strictly_above": "yes"})
    cpr = CprGen(3612).next()
    hub.send(ev_absence(cpr, "2026-09-07", 1001, expected=10000))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["title"] == \
        "Absence 10.1 % over the last 20 school days (threshold 10 %)"
    assert "1001 of 10000 expected lessons absent (10.1 %)" in \
        a["explanation"]


def test_a_warning_just_under_the_notify_level_is_not_shown_as_it(
        make_hub):
    """299 of 2000 unlawful (14.95 %): the warning says 14.9 %; "15.0 %"
    beside "at 15 % it must notify" would contradict the warning level."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.quarter.enabled": "yes",
                           "absence.rolling.enabled": "no"})
    cpr = CprGen(3613).next()
    hub.send(ev_absence(cpr, "2026-09-07", 0, expected=1000),
             ev_absence(cpr, "2026-09-14", 299, expected=1000))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["title"]) == (
        "absence.quarter.warn",
        "Unlawful absence 14.9 % this quarter (level 10 %)")
    assert "299 of 2000 expected lessons as unlawful absence (14.9 %, 10 " \
        "school days reported)" in a["explanation"]


def test_rolling_window_takes_its_share_of_a_longer_report(make_hub):
    """A school exporting monthly: September 2026 has 22 school days, more
    than the window's 20, so the window ending 09-30 starts 09-03 and the
    month begins before it. It counts with its 20 school days inside: 60
    of its 66 absent lessons and 120 of its 132 expected (apportioned as
    across a quarter boundary), 50 %. Left out whole, it made a pupil
    absent half the month never judged."""
    hub = rules_hub(make_hub, "2026-10-01T08:00:00",
                    rules={"absence.rolling.min_days": "10"})
    cpr = CprGen(3614).next()
    hub.assign(cpr, "cw-anna")
    hub.send(hubtest.envelope("school-a", cpr, "month-2026-09",
                              period_start="2026-09-01",
                              period_end="2026-09-30", absent=66,
                              expected=132))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["title"] == \
        "Absence 50.0 % over the last 20 school days (threshold 10 %)"
    assert "From 2026-09-03 to 2026-09-30 (20 school days reported) the " \
        "school reported 60 of 120 expected lessons absent (50.0 %) in 1 " \
        "report" in a["explanation"]


def test_one_school_day_is_singular_in_both_measures(make_hub):
    """A window of one school day, and a quarter part of one school day
    (2026-09-30 to 10-01 splits 1 + 1 across the boundary, the halves
    rounded up into Q3), say "school day", as the rolling rule's count of
    days reported already did."""
    hub = rules_hub(make_hub, "2026-10-05T08:00:00",
                    rules={"absence.rolling.min_days": "1",
                           "absence.rolling.window_school_days": "1"})
    cpr = CprGen(3615).next()
    hub.send(ev_absence(cpr, "2026-09-07", 3, expected=6, days=1))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert a["title"] == \
        "Absence 50.0 % over the last 1 school day (threshold 10 %)"
    assert "over the last 1 school day raises one alert" in \
        a["explanation"]

    hub = rules_hub(make_hub, "2026-10-05T08:00:00",
                    rules=dict(QUARTER, **{"absence.quarter.min_days": "1"}))
    cpr = CprGen(3616).next()
    hub.send(hubtest.envelope("school-a", cpr, "split-1-1",
                              period_start="2026-09-30",
                              period_end="2026-10-01", absent=1, expected=2))
    assert hub.wait_applied()["alerts"] == 1
    [q] = hub.peek("desk-dora", 1)
    assert "In the quarter 2026-07-01 to 2026-09-30 the school reported 1 " \
        "of 1 expected lessons as unlawful absence (100.0 %, 1 school " \
        "day reported)" in q["explanation"]


def test_a_resent_period_replaces_the_row_but_withdraws_nothing(make_hub):
    """The same school, period and kind sent again without `supersedes`
    replaces the row (the week is 0 of 30 now, the episode ends), but it
    is a new report, not a correction: the alert stays open. The week
    sent again with 9 absent starts a new episode and alerts again."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00",
                    rules={"absence.rolling.min_days": "5"})
    cpr = CprGen(3617).next()

    def week(salt, absent):
        return hubtest.envelope("school-a", cpr, salt,
                                period_start="2026-09-07",
                                period_end="2026-09-11", absent=absent,
                                expected=30)

    hub.send(week("resent-1", 6))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(week("resent-2", 0))
    stats = hub.wait_applied()
    assert (stats["alerts"], stats["alerts_open"]) == (1, 1)
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "absence.rolling"
    hub.send(week("resent-3", 9))
    stats = hub.wait_applied()
    assert (stats["alerts"], stats["alerts_open"]) == (2, 2)
    titles = sorted(a["title"] for a in hub.peek("desk-dora", 2))
    assert titles == [
        "Absence 20.0 % over the last 20 school days (threshold 10 %)",
        "Absence 30.0 % over the last 20 school days (threshold 10 %)"]


def test_quarter_counts_an_all_kinds_row_as_lessons_not_absence(make_hub):
    """An ALL_KINDS row's 10 absent lessons are no unlawful absence, but
    its week tells 30 expected lessons and 5 school days: 6 of 60 over 10
    school days, the warning (RULES.md, Known limits)."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00", rules=QUARTER)
    cpr = CprGen(3618).next()
    hub.send(ev_absence(cpr, "2026-09-07", 6),
             ev_absence(cpr, "2026-09-14", 10, kind=4))   # ALL_KINDS
    assert hub.wait_applied()["alerts"] == 1
    [w] = hub.peek("desk-dora", 1)
    assert w["rule"] == "absence.quarter.warn"
    assert "the school reported 6 of 60 expected lessons as unlawful " \
        "absence (10.0 %, 10 school days reported)" in w["explanation"]


def _school_days(start, n):
    """n school days from start under the default calendar (autumn and
    Christmas holidays; no public holiday falls in 2026-08-17..12-18)."""
    day, out = datetime.date.fromisoformat(start), []
    holidays = [(datetime.date(2026, 10, 12), datetime.date(2026, 10, 16)),
                (datetime.date(2026, 12, 21), datetime.date(2027, 1, 2))]
    while len(out) < n:
        if day.weekday() < 5 and not any(a <= day <= b for a, b in holidays):
            out.append(day.isoformat())
        day += datetime.timedelta(days=1)
    return out


@pytest.mark.parametrize("min_days,alerts", [("64", 1), ("65", 0)])
def test_rolling_keeps_64_rows_so_a_longer_minimum_never_judges(
        make_hub, min_days, alerts):
    """RULES.md, Known limits: 75 daily rows of 1 of 6 lessons under a
    window of 100 school days: the measure keeps the 64 latest, so it
    judges with min_days 64 (over those 64 days) and never with 65."""
    hub = rules_hub(make_hub, "2026-12-07T08:00:00",
                    rules={"absence.rolling.window_school_days": "100",
                           "absence.rolling.min_days": min_days})
    cpr = CprGen(3619).next()
    days = _school_days("2026-08-17", 75)
    hub.send(*(ev_absence(cpr, d, 1, expected=6, days=1) for d in days))
    assert hub.wait_applied()["alerts"] == alerts
    if alerts:
        [a] = hub.peek("desk-dora", 1)
        assert f"From {days[0]} to {days[63]} (64 school days reported) " \
            "the school reported 64 of 384 expected lessons absent " \
            "(16.7 %) in 64 reports" in a["explanation"]


@pytest.mark.parametrize("min_days,alerts", [("38", 1), ("39", 0)])
def test_quarter_min_days_above_the_quarters_school_days_never_judges(
        make_hub, min_days, alerts):
    """Q3 2026 has 38 school days under the default calendar (the summer
    holiday ends 08-09): reports covering all of them at 20 % unlawful
    notify with min_days 38 and never with 39 (RULES.md, settings)."""
    hub = rules_hub(make_hub, "2026-10-01T08:00:00",
                    rules=dict(QUARTER,
                               **{"absence.quarter.min_days": min_days}))
    cpr = CprGen(3620).next()
    mondays = [(datetime.date(2026, 8, 10) + datetime.timedelta(weeks=w))
               .isoformat() for w in range(7)]
    hub.send(*(ev_absence(cpr, m, 6) for m in mondays),
             ev_absence(cpr, "2026-09-28", 3, expected=18, days=3))
    assert hub.wait_applied()["alerts"] == alerts


def test_a_correction_under_min_days_withdraws_nothing(make_hub):
    """RULES.md, Corrections: two weeks, 6 of 60 (10 %) over 10 school
    days, alert. The first week corrected to a single day of no absence
    leaves 6 school days reported, under min_days 10: the rule does not
    judge, the episode does not end and the alert stays open."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.rolling.min_days": "10"})
    cpr = CprGen(3621).next()
    first = ev_absence(cpr, "2026-09-07", 6)
    hub.send(first, ev_absence(cpr, "2026-09-14", 0))
    assert hub.wait_applied()["alerts"] == 1
    fix = ev_absence(cpr, "2026-09-07", 0, expected=6, days=1)
    fix.supersedes = first.event_id
    hub.send(fix)
    stats = hub.wait_applied()
    assert (stats["alerts"], stats["alerts_open"]) == (1, 1)
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "absence.rolling"


def test_a_200_school_day_window_over_the_summer_counts_every_day(
        make_hub):
    """RULES.md, settings: window_school_days takes 200 and weekly rows
    of one kind cover it. 200 school days ending Friday 2027-09-03 reach
    back over the summer holiday to Tuesday 2026-09-08, 361 calendar
    days: weekly reports of 6 of 30 from 2026-09-07 cover all 200 then,
    so the rule judges with min_days 200 (20 %: the alert). The days
    after the summer counted too, not only the first 320 of the span."""
    hub = rules_hub(make_hub, "2027-10-04T08:00:00",
                    rules={"absence.rolling.window_school_days": "200",
                           "absence.rolling.min_days": "200"})
    cpr = CprGen(3622).next()
    mondays = [(datetime.date(2026, 9, 7) + datetime.timedelta(weeks=w))
               .isoformat() for w in range(56)]
    hub.send(*(ev_absence(cpr, m, 6) for m in mondays))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert "From 2026-09-08 to 2027-09-03 (200 school days reported)" \
        in a["explanation"], a["explanation"]
