#!/usr/bin/python3
"""Seeded synthetic cohort for ungebro demos, tests and benches: a whole
municipality's worth of agency export files, every CPR number made up.

Writes, into --out DIR:
  absence-<school>.csv  weekly absence reports (Monday-Friday periods, 6
                        lessons expected per school day: 30 in a full week;
                        no report for a week the school is closed, such as
                        the autumn holiday), one row per pupil and week, in
                        week order, in the CSV format adapter-school reads
  assignments.csv       contact-person assignments for `hubctl assign --file`
  cohort.json           the pupils (CPR, school, grade, assignment) and the
                        alerts the hub is expected to raise, computed with the
                        hub's absence rule (SPEC "Absence rule"), so a demo or
                        test can assert exact counts

and, unless --agencies none (the default with --rows), one file per agency
and record kind, in the formats docs/ADAPTERS.md describes:
  readiness-<school>.csv      adapter-school, kind readiness: every pupil in
                              grades 8-10 assessed once; not education-ready
                              as in the strategy's figures (146 of 286 in
                              grade 8, 83 of 286 in grade 9; 20 % in grade 10)
  leaving-<school>.csv        adapter-school, kind leaving: last year's grade
                              9 and 10 leavers (completed, a few left early)
  college-<institution>.csv   adapter-college, kind status: gymnasium, EUD and
                              FGU starts of last year's leavers, dropouts
                              (more at EUD), dropout risks, transfers,
                              re-enrolments at FGU after a dropout, and last
                              June's completions
  addiction-<service>.csv     adapter-addiction: referrals, treatment starts
                              and ends, with and without consent, and
                              anonymous counselling rows (no CPR)
  benefit-<jobcenter>.csv     adapter-jobcenter, kind benefit: education,
                              cash and self-support benefit periods, some
                              stopped
  missed-<jobcenter>.csv      adapter-jobcenter, kind missed_activation
  youthunit-assignments.csv   adapter-youthunit, kind assignment: the rows of
                              assignments.csv plus contact persons for the
                              young people the other agencies report, and
                              some reassignments (a later `from`)
  youthunit-desk.csv          adapter-youthunit, kind desk: the duty desk
cohort.json then also lists, under "agencies", each agency with the event
types to register it for and, per file, its rows, valid rows, the events by
type and (with --bad-rows N: N hostile rows per file, bad date, bad CPR,
unknown value, missing field) the bad rows' line numbers; "people" lists
every CPR outside the pupils, so a privacy sweep can look for them all.

Every CPR number is made up: a valid DDMMYY birth date that fits the grade
(a grade-g pupil is born in the year the school year starts minus g + 6),
a century digit that fits the birth year and random serial digits. No
modulus-11 check is computed or relied on. Output is a pure function of
the arguments (same seed, same bytes); the absence files, assignments.csv
and the absence expectations do not depend on --agencies.

With --rows N the generator streams exactly N absence rows (week after week
until N rows are written) for a bench, holding only per-pupil state in
memory; cohort.json then carries the totals without the pupil list.

Expected alerts assume the adapter sends each file in order (one school's
pupils are in one file, so each pupil's reports reach the hub in week
order), a window of `--window-days` school days (the hub's default
calendar: no weekends, public holidays or --school-holidays) ending at the latest
report's period_end, counting reports whose period lies inside the window,
every kind (permitted leave included), once those reports cover at least
`--min-days` school days an alert when absent/expected reaches
`--threshold-pct`, one per episode, the episode ending when the rate falls
under the threshold. Each pupil has one row per week, so no period is
reported by two kind rows. Only the absence rule's alerts are predicted.
"""

import argparse
import datetime as dt
import json
import math
import os
import random
import sys

LESSONS_PER_DAY = 6
LESSONS_PER_WEEK = 5 * LESSONS_PER_DAY
HEADER_STANDARD = ["cpr", "school", "period_start", "period_end",
                   "lessons_absent", "lessons_expected", "kind", "grade"]
HEADER_DANISH = ["cprnr", "skole", "fra", "til", "fravaer", "lektioner",
                 "fravaerstype", "klassetrin"]
KIND_DANISH = {"illness": "sygdom", "permitted": "lovligt",
               "unlawful": "ulovligt", "all": "alle"}
# Albertslund-like school names; more schools get numbered ids.
SCHOOL_NAMES = ["hedemark", "kongsholm", "herstedlund", "herstedoester",
                "herstedvester", "egelund", "broendager", "roholm"]
BAD_KINDS = ["bad_date", "absent_over_expected", "bad_cpr_date",
             "missing_field"]
AGENCIES = ["school", "college", "addiction", "jobcenter", "youthunit"]


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Generate a seeded synthetic cohort: absence CSVs, "
                    "assignments.csv and cohort.json (made-up CPR numbers).")
    p.add_argument("--seed", type=int, default=1, help="random seed (1)")
    p.add_argument("--pupils", type=int, default=286,
                   help="pupils per grade (286, a cohort in the domain brief)")
    p.add_argument("--grades", default="8,9", help="grades, e.g. 8,9 (8,9)")
    p.add_argument("--weeks", type=int, default=6,
                   help="weeks of reports (6); ignored with --rows")
    p.add_argument("--start", default="2026-09-07",
                   help="Monday of the first week (2026-09-07)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--schools", type=int, default=1, help="schools (1)")
    p.add_argument("--school-ids", default="",
                   help="comma-separated school ids (default school-hedemark, "
                        "school-kongsholm, ...)")
    p.add_argument("--high-absence-share", type=float, default=0.12,
                   help="share of pupils whose absence climbs (0.12)")
    p.add_argument("--caseworkers", default="cw-anna,cw-bo",
                   help="caseworker ids for assignments (cw-anna,cw-bo)")
    p.add_argument("--assigned-share", type=float, default=0.8,
                   help="share of pupils with a contact person (0.8); the "
                        "rest go to the desk")
    p.add_argument("--desk", default="duty-desk",
                   help="the hub's desk id (duty-desk)")
    p.add_argument("--threshold-pct", type=int, default=10,
                   help="hub absence_threshold_pct (10)")
    p.add_argument("--window-days", type=int, default=20,
                   help="hub absence_window_days (20)")
    p.add_argument("--min-days", type=int, default=10,
                   help="hub absence_min_days (10)")
    p.add_argument("--school-holidays", default=DEFAULT_SCHOOL_HOLIDAYS,
                   help="school holidays as the hub's rules calendar has "
                        "them ('week N', 'MM-DD..MM-DD', 'YYYY-MM-DD.."
                        "YYYY-MM-DD', comma-separated; 'none'): no report "
                        "for a week closed all through, and the absence "
                        "window counts school days only (%s)"
                        % DEFAULT_SCHOOL_HOLIDAYS)
    p.add_argument("--bad-rows", type=int, default=0,
                   help="add N bad rows to every file, which its adapter "
                        "must reject (absence: bad date, absent > expected, "
                        "bad CPR date, missing field; the other agencies' "
                        "files: bad date, bad CPR, unknown value, missing "
                        "field); each is a spoilt copy of one of the file's "
                        "good rows, so a file without good rows (a "
                        "college's that no one of a small --pupils cohort "
                        "started at) gets none; cohort.json lists their "
                        "lines")
    p.add_argument("--rows", type=int, default=0,
                   help="bench mode: stream exactly N absence rows in total "
                        "(weeks as needed), constant memory per row")
    p.add_argument("--dialect", choices=["standard", "danish"],
                   default="standard",
                   help="standard: SPEC header names, ';', LF; danish: "
                        "Danish header names and kinds, BOM, CRLF")
    p.add_argument("--agencies", default=None,
                   help="agency files to write besides absence: all, none, "
                        "or a list of school,college,addiction,jobcenter,"
                        "youthunit (all; none with --rows)")
    p.add_argument("--desk-members", default="cw-desk",
                   help="caseworkers on the duty desk in youthunit-desk.csv "
                        "(cw-desk)")
    p.add_argument("--quiet", action="store_true", help="print nothing")
    a = p.parse_args(argv)
    try:
        a.start_date = dt.date.fromisoformat(a.start)
    except ValueError:
        p.error("--start must be YYYY-MM-DD")
    if a.start_date.weekday() != 0:
        p.error("--start must be a Monday")
    try:
        a.grade_list = [int(g) for g in a.grades.split(",") if g.strip()]
    except ValueError:
        p.error("--grades must be numbers, e.g. 8,9")
    if not a.grade_list or any(g < 0 or g > 10 for g in a.grade_list):
        p.error("--grades must be within 0-10")
    if a.pupils < 1 or a.schools < 1 or a.weeks < 1 or a.rows < 0:
        p.error("--pupils, --schools, --weeks must be >= 1, --rows >= 0")
    if not 0 <= a.high_absence_share <= 1 or not 0 <= a.assigned_share <= 1:
        p.error("shares must be within 0-1")
    try:
        a.holidays = parse_holidays(a.school_holidays)
    except ValueError:
        p.error("--school-holidays: 'week N', 'MM-DD..MM-DD' or "
                "'YYYY-MM-DD..YYYY-MM-DD', comma-separated, or 'none'")
    a.cw_list = [c for c in a.caseworkers.split(",") if c]
    a.desk_list = [c for c in a.desk_members.split(",") if c]
    agencies = a.agencies if a.agencies is not None else \
        ("none" if a.rows else "all")
    if agencies == "all":
        a.agency_set = set(AGENCIES)
    elif agencies == "none":
        a.agency_set = set()
    else:
        a.agency_set = {x for x in agencies.split(",") if x}
        unknown = a.agency_set - set(AGENCIES)
        if unknown:
            p.error("--agencies: unknown %s (all, none, or %s)"
                    % (",".join(sorted(unknown)), ",".join(AGENCIES)))
    if a.school_ids:
        a.school_list = [s for s in a.school_ids.split(",") if s]
        if len(a.school_list) != a.schools:
            if a.schools == 1:
                a.schools = len(a.school_list)
            else:
                p.error("--school-ids must name --schools schools")
    else:
        a.school_list = [("school-" + SCHOOL_NAMES[i]) if i < len(SCHOOL_NAMES)
                         else "school-%02d" % (i + 1)
                         for i in range(a.schools)]
    return a


# ---- dates -------------------------------------------------------------

# The school calendar, as the hub's rules calendar has it by default
# (hub/calendar.c): Monday to Friday, without Danish public holidays and
# without the school holidays --school-holidays names.
DEFAULT_SCHOOL_HOLIDAYS = "week 7,easter,week 42,12-21..01-02,06-27..08-09"


def easter(year):
    """Easter Sunday (Gregorian; Meeus/Jones/Butcher)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    month = (h + l - 7 * m + 114) // 31
    return dt.date(year, month, (h + l - 7 * m + 114) % 31 + 1)


def is_public_holiday(d):
    if (d.month, d.day) in ((1, 1), (6, 5), (12, 24), (12, 25), (12, 26)):
        return True
    offset = (d - easter(d.year)).days
    return offset in (-3, -2, 0, 1, 39, 49, 50) or \
        (offset == 26 and d.year < 2024)


def parse_holidays(text):
    """"week 42", "easter" / "easter -N..+M" (days from Easter Sunday),
    "MM-DD..MM-DD" (yearly, may wrap New Year) or
    "YYYY-MM-DD..YYYY-MM-DD", comma-separated; "none" for none."""
    ranges = []
    if text.strip() in ("", "none"):
        return ranges
    for part in text.split(","):
        part = part.strip()
        if part.startswith("week "):
            ranges.append(("week", int(part[5:])))
            continue
        if part == "easter":  # Palm Sunday to Easter Monday
            ranges.append(("easter", -7, 1))
            continue
        if part.startswith("easter "):
            a, b = part[7:].split("..")
            ranges.append(("easter", int(a), int(b)))
            continue
        a, b = part.split("..")
        if len(a) == 5:
            ranges.append(("yearly", (int(a[:2]), int(a[3:])),
                           (int(b[:2]), int(b[3:]))))
        else:
            ranges.append(("dates", dt.date.fromisoformat(a),
                           dt.date.fromisoformat(b)))
    return ranges


_SCHOOL_DAY = {}
_HOLIDAYS = []


def is_school_day(d):
    if d in _SCHOOL_DAY:
        return _SCHOOL_DAY[d]
    ok = d.weekday() < 5 and not is_public_holiday(d)
    for r in _HOLIDAYS if ok else ():
        if r[0] == "week" and d.isocalendar()[1] == r[1]:
            ok = False
        elif r[0] == "yearly":
            md = (d.month, d.day)
            ok = not (r[1] <= md <= r[2] if r[1] <= r[2]
                      else md >= r[1] or md <= r[2])
        elif r[0] == "dates":
            ok = not r[1] <= d <= r[2]
        elif r[0] == "easter":
            ok = not r[1] <= (d - easter(d.year)).days <= r[2]
        if not ok:
            break
    _SCHOOL_DAY[d] = ok
    return ok


_BACK = {}


def school_days_back(end, n):
    """The first day of the n school days ending at end (as the hub's
    calendar_school_days_back)."""
    key = (end, n)
    if key in _BACK:
        return _BACK[key]
    d = end
    counted = 1 if is_school_day(d) else 0
    while counted < n:
        d -= dt.timedelta(days=1)
        if is_school_day(d):
            counted += 1
    _BACK[key] = d
    return d


def report_weeks(start, n):
    """The first n weeks from the Monday start that have a school day:
    (Monday, Friday, school days). A school reports no week it was closed
    all of (the autumn holiday, week 42)."""
    weeks = []
    monday = start
    while len(weeks) < n:
        days = sum(1 for i in range(5)
                   if is_school_day(monday + dt.timedelta(days=i)))
        if days:
            weeks.append((monday, monday + dt.timedelta(days=4), days))
        monday += dt.timedelta(weeks=1)
    return weeks


def school_year_start(day):
    return dt.date(day.year if day.month >= 8 else day.year - 1, 8, 1)


# ---- people ------------------------------------------------------------

def century_digits(year):
    """7th CPR digits that place a birth year in its century."""
    if 2000 <= year <= 2036:
        return "456789"
    if 1937 <= year <= 1999:
        return "0123"
    raise ValueError("birth year out of the generator's range")


def make_cpr(rng, born, used):
    digits = century_digits(born.year)
    while True:
        serial = rng.choice(digits) + "%03d" % rng.randrange(1000)
        cpr = born.strftime("%d%m%y") + serial
        if cpr not in used:
            used.add(cpr)
            return cpr


def birth_date(rng, grade, year_start):
    # Most pupils are born in the year the school year starts minus
    # (grade + 6); a few a year early or late (held back, started early).
    year = year_start.year - (grade + 6)
    r = rng.random()
    if r < 0.04:
        year -= 1
    elif r < 0.06:
        year += 1
    first = dt.date(year, 1, 1)
    days = (dt.date(year, 12, 31) - first).days + 1
    return first + dt.timedelta(days=rng.randrange(days))


class Pupil:
    __slots__ = ("index", "cpr", "school", "grade", "high", "onset", "level",
                 "step", "recover", "relapse", "ill_share", "permitted",
                 "window", "in_episode", "alerts", "last_end", "assignment",
                 "ready")

    def to_json(self):
        out = {
            "cpr": self.cpr, "school": self.school, "grade": self.grade,
            "high_absence": self.high,
            "contact": self.assignment,
            "alerts": self.alerts,
        }
        if self.ready is not None:   # assessed (readiness file written)
            out["ready"] = self.ready
        return out


def make_pupils(a, rng):
    used = set()
    pupils = []
    year_start = school_year_start(a.start_date)
    weeks = a.weeks_total
    for g in a.grade_list:
        for _ in range(a.pupils):
            p = Pupil()
            p.index = len(pupils)
            p.grade = g
            p.school = a.school_list[rng.randrange(a.schools)]
            p.cpr = make_cpr(rng, birth_date(rng, g, year_start), used)
            p.high = rng.random() < a.high_absence_share
            # A high-absence pupil starts low, then from the onset week
            # misses `level` lessons a week, climbing by `step` a week;
            # some recover (and some of those relapse).
            p.onset = rng.randrange(max(1, weeks - 1)) if p.high else -1
            p.level = rng.randint(4, 8)
            p.step = rng.choice((0, 1, 1, 2))
            p.recover = -1
            p.relapse = -1
            if p.high and rng.random() < 0.25:
                p.recover = p.onset + rng.randint(2, 3)
                if rng.random() < 0.5:
                    p.relapse = p.recover + rng.randint(4, 6)
            p.ill_share = 0.3 if p.high else rng.choice((0.3, 0.5, 0.7))
            # Permitted leave only for pupils who stay low (see module doc).
            p.permitted = (not p.high) and rng.random() < 0.15
            p.window = []
            p.in_episode = False
            p.alerts = []
            p.last_end = None
            p.assignment = None
            p.ready = None
            pupils.append(p)
    return pupils


def is_high_week(p, w):
    if not p.high or w < p.onset:
        return False
    if p.recover >= 0 and w >= p.recover:
        return p.relapse >= 0 and w >= p.relapse
    return True


def week_row(p, w, rng, expected=LESSONS_PER_WEEK):
    """(lessons_absent, kind) for pupil p in report week w, of `expected`
    lessons (30 in a full week, 6 a school day)."""
    if is_high_week(p, w):
        since = w - (p.relapse if p.relapse >= 0 and w >= p.relapse
                     else p.onset)
        absent = min(LESSONS_PER_WEEK, p.level + p.step * since
                     + rng.randint(-1, 1))
        kind = "illness" if rng.random() < p.ill_share else "unlawful"
        return min(expected, max(absent, 4)), kind
    # Low weeks: at most 10 % of the lessons (3 of 30; not strictly
    # above), so no window of low weeks ever crosses the threshold.
    r = rng.random()
    absent = 0 if r < 0.5 else 1 if r < 0.75 else 2 if r < 0.92 else 3
    absent = min(absent, expected // 10)
    if p.permitted and rng.random() < 0.2:
        return min(expected, rng.randint(1, 10)), "permitted"
    if absent == 0:
        return 0, "unlawful"
    kind = "illness" if rng.random() < p.ill_share else "unlawful"
    return absent, kind


def apply_rule(a, p, start, end, absent, expected, kind):
    """The hub's absence rule for one report in arrival order."""
    p.window.append((start, end, absent, expected))
    if p.last_end is None or end > p.last_end:
        p.last_end = end
    wstart = school_days_back(p.last_end, a.window_days)
    p.window = [r for r in p.window if r[0] >= wstart]
    inside = [r for r in p.window if r[1] <= p.last_end]
    sum_abs = sum(r[2] for r in inside)
    sum_exp = sum(r[3] for r in inside)
    covered = set()
    for r in inside:
        d = r[0]
        while d <= r[1]:
            if is_school_day(d):
                covered.add(d)
            d += dt.timedelta(days=1)
    if len(covered) < a.min_days:
        return None  # too few school days reported to judge either way
    # "10 % or more ... for any reason" (DOMAIN rule 2): reaching the
    # threshold counts, and so does permitted leave.
    above = sum_exp > 0 and sum_abs * 100 >= a.threshold_pct * sum_exp
    if above and not p.in_episode:
        p.in_episode = True
        alert = {"period_end": end.isoformat(),
                 "lessons_absent": sum_abs, "lessons_expected": sum_exp,
                 "rate_pct": round(100.0 * sum_abs / sum_exp, 2)}
        p.alerts.append(alert)
        return alert
    if not above and p.in_episode:
        p.in_episode = False
    return None


# ---- assignments ---------------------------------------------------------

def make_assignments(a, pupils, rng):
    """Rows for assignments.csv; sets p.assignment to the current contact."""
    rows = []
    if not a.cw_list:
        return rows
    year_start = school_year_start(a.start_date)
    for p in pupils:
        if rng.random() >= a.assigned_share:
            continue
        cw = a.cw_list[rng.randrange(len(a.cw_list))]
        frm = year_start - dt.timedelta(days=rng.randrange(400))
        r = rng.random()
        if r < 0.03:
            # The assignment ended before the reports: the desk gets alerts.
            to = a.start_date - dt.timedelta(days=rng.randint(7, 60))
            frm = min(frm, to - dt.timedelta(days=30))
            rows.append((p.cpr, cw, frm.isoformat(), to.isoformat(),
                         "contact"))
        elif r < 0.06 and len(a.cw_list) > 1:
            # Handover before the reports: the second caseworker is current.
            other = a.cw_list[(a.cw_list.index(cw) + 1) % len(a.cw_list)]
            switch = a.start_date - dt.timedelta(days=rng.randint(5, 30))
            frm = min(frm, switch - dt.timedelta(days=30))
            rows.append((p.cpr, cw, frm.isoformat(),
                         (switch - dt.timedelta(days=1)).isoformat(),
                         "contact"))
            rows.append((p.cpr, other, switch.isoformat(), "", "contact"))
            p.assignment = other
        else:
            rows.append((p.cpr, cw, frm.isoformat(), "", "contact"))
            p.assignment = cw
    return rows


# ---- files ---------------------------------------------------------------

class CsvOut:
    def __init__(self, path, dialect):
        self.path = path
        self.danish = dialect == "danish"
        self.nl = "\r\n" if self.danish else "\n"
        self.f = open(path, "w", encoding="utf-8", newline="")
        if self.danish:
            self.f.write("\ufeff")
        self.line = 0
        self.rows = 0
        self.bad = []
        self.write(HEADER_DANISH if self.danish else HEADER_STANDARD)

    def write(self, fields):
        self.f.write(";".join(fields) + self.nl)
        self.line += 1

    def row(self, cpr, school, start, end, absent, expected, kind, grade):
        if self.danish:
            kind = KIND_DANISH[kind]
        cpr_text = cpr[:6] + "-" + cpr[6:]
        self.write([cpr_text, school, start, end, str(absent), str(expected),
                    kind, str(grade)])
        self.rows += 1

    def close(self):
        self.f.close()


def bad_row(kind, p, start, end, csv):
    """A realistic bad row of the given kind, as fields."""
    cpr = p.cpr[:6] + "-" + p.cpr[6:]
    k = "ulovligt" if csv.danish else "unlawful"
    s, e = start.isoformat(), end.isoformat()
    if kind == "bad_date":
        # A day that does not exist in the month of the period.
        s = "%04d-%02d-31" % (start.year, 9 if start.month != 9 else 11)
        return [cpr, p.school, s, e, "2", "30", k, str(p.grade)]
    if kind == "absent_over_expected":
        return [cpr, p.school, s, e, "31", "30", k, str(p.grade)]
    if kind == "bad_cpr_date":
        # 30 February does not exist.
        bad = "3002" + p.cpr[4:6] + "-" + p.cpr[6:]
        return [bad, p.school, s, e, "1", "30", k, str(p.grade)]
    # missing_field: the lessons_absent column is left out.
    return [cpr, p.school, s, e, "30", k, str(p.grade)]


# ---- the other agencies' files -------------------------------------------

# Each record kind: its columns as (standard name, Danish name), in the
# order written. The standard names are the adapters' canonical column
# names; the Danish ones are among their documented aliases.
KIND_COLUMNS = {
    "readiness": [("cpr", "cprnr"), ("school", "skole"),
                  ("grade", "klassetrin"), ("date", "dato"),
                  ("ready", "parat"), ("areas", "omr\u00e5der")],
    "leaving": [("cpr", "cprnr"), ("school", "skole"),
                ("grade", "klassetrin"), ("date", "dato"),
                ("leaving", "afgangstype")],
    "status": [("cpr", "cprnr"), ("institution", "institutionsnummer"),
               ("programme", "uddannelse"), ("status", "h\u00e6ndelse"),
               ("date", "dato"), ("start", "startdato"),
               ("reason", "\u00e5rsag")],
    "referral": [("cpr", "cprnr"), ("anonymous", "anonym"),
                 ("record_id", "l\u00f8benr"), ("service", "tilbud"),
                 ("date", "dato"), ("stage", "forl\u00f8b"),
                 ("consent", "samtykke"), ("consent_scope", "omfang"),
                 ("consent_expires", "samtykke udl\u00f8ber")],
    "benefit": [("cpr", "cprnr"), ("jobcenter", "jobcenter"),
                ("benefit", "ydelse"), ("start", "fra"), ("stop", "til"),
                ("reason", "oph\u00f8rs\u00e5rsag")],
    "missed_activation": [("cpr", "cprnr"), ("jobcenter", "jobcenter"),
                          ("date", "dato"), ("activity", "aktivitet")],
    "assignment": [("cpr", "cprnr"), ("caseworker", "sagsbehandler"),
                   ("role", "rolle"), ("from", "fra"), ("to", "til")],
    "desk": [("desk", "vagtfunktion"), ("caseworker", "sagsbehandler"),
             ("from", "fra"), ("to", "til"), ("team_lead", "teamleder")],
}

# Values are kept in English; the Danish dialect writes these instead.
DANISH_VALUES = {
    "ready": {"yes": "parat", "no": "ikke parat"},
    "areas": {"academic": "faglig", "personal": "personlig",
              "social": "social"},
    "leaving": {"completed": "afgang", "left": "udmeldt"},
    "status": {"start": "optaget", "completed": "gennemf\u00f8rt",
               "transferred": "overflyttet", "dropped_out": "frafald",
               "risk": "frafaldstruet"},
    "anonymous": {"yes": "ja", "no": "nej"},
    "stage": {"referred": "henvist", "started": "startet",
              "ended": "afsluttet"},
    "consent": {"yes": "ja", "no": "nej"},
    "consent_scope": {"referral": "henvisning", "all": "alt",
                      "referral,stage": "henvisning, forl\u00f8b"},
    "benefit": {"education": "uddannelseshj\u00e6lp",
                "cash": "kontanthj\u00e6lp",
                "integration": "selvfors\u00f8rgelses- og hjemrejseydelse"},
    "role": {"contact": "kontaktperson", "guidance": "UU-vejleder",
             "mentor": "mentor"},
    "team_lead": {"yes": "ja", "no": "nej"},
}

# The column a bad row of each kind spoils, and how: an impossible date in
# the kind's main date column, an enumeration value the adapter does not
# know, an empty required field (bad_cpr spoils the CPR's birth date).
BAD_AGENCY_KINDS = ["bad_date", "bad_cpr", "unknown_value", "missing_field"]
BAD_SPOILS = {
    "readiness": {"bad_date": "date", "unknown_value": ("ready", "maybe"),
                  "missing_field": "school"},
    "leaving": {"bad_date": "date", "unknown_value": ("leaving", "moved"),
                "missing_field": "grade"},
    "status": {"bad_date": "date", "unknown_value": ("status", "paused"),
               "missing_field": "programme"},
    "referral": {"bad_date": "date", "unknown_value": ("stage", "waiting"),
                 "missing_field": "consent"},
    "benefit": {"bad_date": "start",
                "unknown_value": ("benefit", "housing"),
                "missing_field": "benefit"},
    "missed_activation": {"bad_date": "date",
                          "unknown_value": ("activity", "did not show"),
                          "missing_field": "jobcenter"},
    "assignment": {"bad_date": "from", "unknown_value": ("role", "boss"),
                   "missing_field": "caseworker"},
    "desk": {"bad_date": "from", "unknown_value": ("team_lead", "maybe"),
             "missing_field": "caseworker"},
}

DANISH_UNKNOWN = {"maybe": "m\u00e5ske", "moved": "flyttet", "paused": "pause",
                  "waiting": "venter", "housing": "boligst\u00f8tte",
                  "did not show": "m\u00f8dte ikke op", "boss": "chef"}

COLLEGES = [  # id, programmes
    ("gym-albertslund", ["stx", "hhx", "htx"]),
    ("eud-vestegnen", ["eud-tomrer", "eud-elektriker", "eud-frisor",
                       "eux-data"]),
    ("fgu-vestegnen", ["fgu-agu", "fgu-pgu", "fgu-egu"]),
]
ADDICTION_ID = "rmc-albertslund"
JOBCENTER_ID = "jc-albertslund"
YOUTHUNIT_ID = "ungeenheden"
REGISTER_TYPES = {
    "school": "absence,readiness,school_leaving",
    "college": "enrolment,dropout,dropout_risk",
    "addiction": "addiction",
    "jobcenter": "benefit,missed_activation",
    "youthunit": "assignment,desk",
}

# The strategy's figures: not education-ready in January 2018.
NOT_READY_SHARE = {8: 146 / 286, 9: 83 / 286, 10: 0.20}
# Areas a not-ready pupil is assessed not ready in, and how often.
AREA_PATTERNS = [(("academic",), 35), (("personal",), 10), (("social",), 10),
                 (("academic", "personal"), 15), (("academic", "social"), 10),
                 (("personal", "social"), 10),
                 (("academic", "personal", "social"), 10)]


class AgencyCsv:
    """One agency export: rows as dicts of canonical column -> value (dates
    as datetime.date), written in the dialect, counted by event type."""

    def __init__(self, out, name, kind, dialect):
        self.file = name
        self.kind = kind
        self.danish = dialect == "danish"
        self.columns = KIND_COLUMNS[kind]
        self.nl = "\r\n" if self.danish else "\n"
        self.lines = []
        self.events = {}
        self.valid = 0
        self.bad = []
        self.path = os.path.join(out, name)
        self.write_fields([c[1] if self.danish else c[0]
                           for c in self.columns])

    def text(self, column, value):
        if value is None:
            return ""
        if isinstance(value, dt.date):
            return value.strftime("%d-%m-%Y") if self.danish \
                else value.isoformat()
        if isinstance(value, (list, tuple)):
            words = [self.text(column, v) for v in value]
            return (", " if self.danish else ",").join(words)
        value = str(value)
        if self.danish:
            return DANISH_VALUES.get(column, {}).get(value, value)
        return value

    def write_fields(self, fields):
        out = []
        for f in fields:
            if ";" in f or '"' in f or "\n" in f:
                f = '"' + f.replace('"', '""') + '"'
            out.append(f)
        self.lines.append(";".join(out))

    def row(self, values, event_type):
        self.write_fields([self.text(c[0], values.get(c[0]))
                           for c in self.columns])
        self.valid += 1
        self.events[event_type] = self.events.get(event_type, 0) + 1

    def bad_row(self, values, kind):
        """A hostile copy of a good row that the adapter must reject."""
        v = dict(values)
        spoil = BAD_SPOILS[self.kind]
        if kind == "bad_date":
            col = spoil["bad_date"]
            d = v.get(col) or dt.date(2026, 9, 1)
            v[col] = ("30-02-%04d" if self.danish else "%04d-02-30") % d.year
        elif kind == "bad_cpr":
            if "cpr" in v and v["cpr"]:
                c = v["cpr"].replace("-", "")
                v["cpr"] = "3002" + c[4:6] + "-" + c[6:]
            else:  # the desk has no CPR: a desk id a person typed
                v["desk"] = "duty desk"
        elif kind == "unknown_value":
            col, text = spoil["unknown_value"]
            v[col] = DANISH_UNKNOWN.get(text, text) if self.danish else text
        else:
            v[spoil["missing_field"]] = ""
        self.write_fields([self.text(c[0], v.get(c[0]))
                           for c in self.columns])
        self.bad.append({"line": len(self.lines), "kind": kind})

    def close(self):
        data = self.nl.join(self.lines) + self.nl
        with open(self.path, "w", encoding="utf-8", newline="") as f:
            if self.danish:
                f.write("\ufeff")
            f.write(data)

    def to_json(self):
        return {"file": self.file, "kind": self.kind,
                "rows": self.valid + len(self.bad), "valid_rows": self.valid,
                "events": dict(sorted(self.events.items())),
                "bad_rows": self.bad}


def spoils(kind, bad, values):
    """Whether spoiling this good row in this way makes it a bad one: a
    CPR can only be spoilt where there is one (not in an anonymous
    counselling row, which must have none), and an anonymous row needs
    no consent."""
    if kind == "referral" and bad in ("bad_cpr", "missing_field"):
        return bool(values.get("cpr"))
    return True


def write_rows(a, csv, rows, brng):
    """rows: (values, event_type) in file order; with --bad-rows N, N bad
    rows are mixed in at seeded places, each a spoilt copy of a good row."""
    plan = {}
    if rows and a.bad_rows:
        for i in range(a.bad_rows):
            bad = BAD_AGENCY_KINDS[i % len(BAD_AGENCY_KINDS)]
            fit = [n for n, (v, _) in enumerate(rows)
                   if spoils(csv.kind, bad, v)]
            if fit:
                plan.setdefault(fit[brng.randrange(len(fit))], []).append(
                    bad)
    for pos, (values, etype) in enumerate(rows):
        csv.row(values, etype)
        for kind in plan.get(pos, ()):
            csv.bad_row(values, kind)
    csv.close()
    return csv


def school_days(first, last):
    days = []
    d = first
    while d <= last:
        if is_school_day(d):
            days.append(d)
        d += dt.timedelta(days=1)
    return days


def weekday_on_or_after(d):
    """The first working day (Monday-Friday, no public holiday) on or
    after d."""
    while d.weekday() >= 5 or is_public_holiday(d):
        d += dt.timedelta(days=1)
    return d


def last_friday_of_june(year):
    d = dt.date(year, 6, 30)
    while d.weekday() != 4:
        d -= dt.timedelta(days=1)
    return d


class Person:
    __slots__ = ("cpr", "group", "born", "school", "grade", "left_early",
                 "college", "programme", "facts", "contact")

    def __init__(self, cpr, group, born):
        self.cpr, self.group, self.born = cpr, group, born
        self.school = self.grade = self.college = self.programme = None
        self.contact = None
        self.left_early = False
        self.facts = []

    def to_json(self):
        # contact: the caseworker assigned last (youthunit-assignments.csv)
        return {"cpr": self.cpr, "group": self.group, "contact": self.contact,
                "facts": self.facts}


def make_people(rng, used, group, n, first_year, last_year):
    people = []
    for _ in range(n):
        year = rng.randint(first_year, last_year)
        first = dt.date(year, 1, 1)
        born = first + dt.timedelta(
            days=rng.randrange((dt.date(year, 12, 31) - first).days + 1))
        people.append(Person(make_cpr(rng, born, used), group, born))
    return people


def readiness_rows(a, pupils, rng, window):
    """One assessment per pupil in grades 8-10; exactly the strategy's
    share not ready per grade (rounded), chosen at random."""
    day_of = {9: 4, 10: 11, 8: 18}   # days after the start (Fridays)
    rows = {s: [] for s in a.school_list}
    summary = {}
    for g in sorted(set(a.grade_list)):
        if g not in NOT_READY_SHARE:
            continue
        group = [p for p in pupils if p.grade == g]
        not_ready = set(rng.sample(range(len(group)),
                                   round(len(group) * NOT_READY_SHARE[g])))
        date = a.start_date + dt.timedelta(days=day_of[g])
        while not is_school_day(date) and date < window[1]:
            date += dt.timedelta(days=1)
        date = min(date, window[1])
        weights = [w for _, w in AREA_PATTERNS]
        for i, p in enumerate(group):
            ready = i not in not_ready
            areas = () if ready else rng.choices(
                [pat for pat, _ in AREA_PATTERNS], weights)[0]
            p.ready = ready
            rows[p.school].append(({
                "cpr": p.cpr[:6] + "-" + p.cpr[6:], "school": p.school,
                "grade": "%d%s" % (g, "abc"[p.index % 3]), "date": date,
                "ready": "yes" if ready else "no", "areas": list(areas),
            }, "ReadinessAssessment"))
        summary[str(g)] = {"assessed": len(group),
                           "not_ready": len(not_ready)}
    for s in rows:  # a school exports by grade, then class
        rows[s].sort(key=lambda r: (r[0]["grade"], r[0]["cpr"]))
    return rows, summary


def generate_agencies(a, pupils, assignments):
    """Write every other agency's files; returns (agencies, people, extra)
    for cohort.json. Seeded apart from the absence generator, so the
    absence files never change with --agencies."""
    rng = random.Random(a.seed * 15485863 + 11)
    brng = random.Random(a.seed * 32452843 + 13)
    used = {p.cpr for p in pupils}
    year_start = school_year_start(a.start_date)
    window = (a.start_date, a.report_weeks[-1][1])
    window_days = school_days(*window)
    ys = year_start.year
    agencies = []
    people = []
    extra = {}
    files_out = []

    def register(ident, adapter, files):
        agencies.append({"id": ident, "adapter": adapter,
                         "types": REGISTER_TYPES[adapter],
                         "files": [f.to_json() for f in files]})
        files_out.extend(files)

    # Last school year's grade 9 and 10 leavers: most completed (afgang),
    # a few left grade 9 early; in August most start a youth education.
    leavers = make_people(rng, used, "leaver", a.pupils, ys - 17, ys - 16)
    june = last_friday_of_june(ys)
    for p in leavers:
        p.school = a.school_list[rng.randrange(len(a.school_list))]
        r = rng.random()
        p.grade = 10 if r < 0.16 else 9
        p.left_early = r >= 0.94
    people += leavers

    if "school" in a.agency_set:
        readiness, extra["readiness"] = readiness_rows(a, pupils, rng,
                                                       window)
        leaving = {s: [] for s in a.school_list}
        for p in leavers:
            date = june
            if p.left_early:
                date = weekday_on_or_after(
                    dt.date(ys, 2, 1) + dt.timedelta(days=rng.randrange(110)))
            leaving[p.school].append(({
                "cpr": p.cpr, "school": p.school, "grade": str(p.grade),
                "date": date, "leaving": "left" if p.left_early
                else "completed"}, "SchoolLeaving"))
            p.facts.append("left grade %d" % p.grade if p.left_early
                           else "completed grade %d" % p.grade)
        for s in a.school_list:
            files = []
            if readiness.get(s):
                files.append(write_rows(a, AgencyCsv(
                    a.out, "readiness-%s.csv" % s, "readiness", a.dialect),
                    readiness[s], brng))
            files.append(write_rows(a, AgencyCsv(
                a.out, "leaving-%s.csv" % s, "leaving", a.dialect),
                sorted(leaving[s], key=lambda r: r[0]["cpr"]), brng))
            register(s, "school", files)

    # Youth education: gymnasium, EUD, FGU.
    adults = make_people(rng, used, "adult", max(60, a.pupils // 3),
                         ys - 29, ys - 18)
    people += adults
    contacts = []   # (person, from) the youth unit assigns a contact for
    college_rows = {c[0]: [] for c in COLLEGES}
    first_day = weekday_on_or_after(dt.date(ys, 8, 10))
    programmes = dict(COLLEGES)
    dropout_share = {"gym-albertslund": 0.04, "eud-vestegnen": 0.12,
                     "fgu-vestegnen": 0.08}
    if "college" in a.agency_set:
        late = [d for d in window_days if d >= a.start_date
                + dt.timedelta(days=14)] or window_days

        def start(p, inst, day, kind="start"):
            prog = rng.choice(programmes[inst])
            p.college, p.programme = inst, prog
            college_rows[inst].append(({
                "cpr": p.cpr, "institution": inst, "programme": prog,
                "status": kind, "date": day}, "Enrolment"))
            p.facts.append("started %s at %s" % (prog, inst))

        for p in leavers:
            r = rng.random()
            if p.left_early:
                inst = "fgu-vestegnen" if r < 0.6 else None
            else:
                inst = ("gym-albertslund" if r < 0.58 else
                        "eud-vestegnen" if r < 0.80 else
                        "fgu-vestegnen" if r < 0.88 else None)
            if inst is None:
                p.facts.append("no youth education")
                continue
            start(p, inst, first_day)
            if rng.random() < dropout_share[inst]:
                out = rng.choice(late)
                if rng.random() < 0.7:   # most are seen at risk first
                    seen = out - dt.timedelta(days=rng.randint(7, 13))
                    college_rows[inst].append(({
                        "cpr": p.cpr, "institution": inst,
                        "programme": p.programme, "status": "risk",
                        "date": weekday_on_or_after(seen),
                        "reason": rng.choice(["ABS", "MOT", ""])},
                        "DropoutRisk"))
                college_rows[inst].append(({
                    "cpr": p.cpr, "institution": inst,
                    "programme": p.programme, "status": "dropped_out",
                    "date": out, "start": first_day,
                    "reason": rng.choice(["FRA-01", "FRA-02", "FRA-03",
                                          ""])}, "Dropout"))
                p.facts.append("dropped out %s" % out.isoformat())
                contacts.append((p, out))
                back = weekday_on_or_after(
                    out + dt.timedelta(days=rng.randint(7, 12)))
                if inst != "fgu-vestegnen" and back <= window[1] and \
                        rng.random() < 0.5:
                    start(p, "fgu-vestegnen", back)   # back on track
            elif inst == "gym-albertslund" and rng.random() < 0.03:
                moved = rng.choice(late)
                college_rows[inst].append(({
                    "cpr": p.cpr, "institution": inst,
                    "programme": p.programme, "status": "transferred",
                    "date": moved, "start": first_day}, "Enrolment"))
                start(p, "eud-vestegnen",
                      weekday_on_or_after(moved + dt.timedelta(days=1)))
            elif rng.random() < 0.03:
                college_rows[inst].append(({
                    "cpr": p.cpr, "institution": inst,
                    "programme": p.programme, "status": "risk",
                    "date": rng.choice(late), "reason": "ABS"},
                    "DropoutRisk"))
        # Last June's completions, by young adults.
        for p in adults[:max(10, len(adults) // 3)]:
            inst = "gym-albertslund" if rng.random() < 0.75 \
                else "eud-vestegnen"
            years = 3 if inst == "gym-albertslund" else 4
            college_rows[inst].append(({
                "cpr": p.cpr, "institution": inst,
                "programme": rng.choice(programmes[inst]),
                "status": "completed", "date": june,
                "start": weekday_on_or_after(dt.date(ys - years, 8, 10))},
                "Enrolment"))
            p.facts.append("completed at %s" % inst)
        for inst, _ in COLLEGES:
            rows = sorted(college_rows[inst],
                          key=lambda r: (r[0]["date"], r[0]["cpr"]))
            register(inst, "college", [write_rows(a, AgencyCsv(
                a.out, "college-%s.csv" % inst, "status", a.dialect),
                rows, brng)])

    # The addiction centre: a few referrals (most start treatment within
    # 14 days, a few end), with and without consent; anonymous counselling
    # rows without CPR. Some of those referred are young adults on
    # benefits, some last year's leavers.
    referred = rng.sample(adults, min(8, len(adults))) + \
        rng.sample(leavers, min(3, len(leavers)))
    if "addiction" in a.agency_set:
        rows = []
        for p in referred:
            day = rng.choice(window_days[:max(1, len(window_days) - 5)])
            consent = rng.random() < 0.6
            scope = rng.choice(["referral", "all", "referral,stage"])
            expires = day + dt.timedelta(days=365) \
                if consent and rng.random() < 0.5 else None
            base = {"cpr": p.cpr, "service": ADDICTION_ID,
                    "consent": "yes" if consent else "no",
                    "consent_scope": scope if consent else "",
                    "consent_expires": expires}
            rows.append((dict(base, date=day, stage="referred"),
                         "AddictionReferral"))
            p.facts.append("referred to %s, consent %s"
                           % (ADDICTION_ID, "given" if consent else "not "
                              "given"))
            contacts.append((p, day))
            if rng.random() < 0.8:
                started = weekday_on_or_after(
                    day + dt.timedelta(days=rng.randint(5, 12)))
                if started <= window[1]:
                    rows.append((dict(base, date=started, stage="started"),
                                 "AddictionReferral"))
                    ended = weekday_on_or_after(
                        started + dt.timedelta(days=rng.randint(10, 20)))
                    if ended <= window[1] and rng.random() < 0.25:
                        rows.append((dict(base, date=ended, stage="ended"),
                                     "AddictionReferral"))
        anonymous = 8
        for i in range(anonymous):
            rows.append(({"cpr": "", "anonymous": "yes",
                          "record_id": "A-%d-%03d" % (ys, i + 1),
                          "service": ADDICTION_ID,
                          "date": rng.choice(window_days),
                          "stage": "referred" if rng.random() < 0.6
                          else "started"}, "AddictionReferral"))
        extra["addiction"] = {"persons": len(referred),
                              "anonymous_rows": anonymous}
        rows.sort(key=lambda r: (r[0]["date"], r[0]["cpr"],
                                 r[0].get("record_id", "")))
        register(ADDICTION_ID, "addiction", [write_rows(a, AgencyCsv(
            a.out, "addiction-%s.csv" % ADDICTION_ID, "referral",
            a.dialect), rows, brng)])

    # The Jobcenter: benefit periods of young adults without a youth
    # education (mostly education benefit), some stopped in the window,
    # and missed activations.
    on_benefit = rng.sample(adults, min(36, len(adults)))
    if "jobcenter" in a.agency_set:
        benefits, missed = [], []
        for i, p in enumerate(on_benefit):
            kind = ("education" if i < len(on_benefit) * 0.72 else
                    "cash" if i < len(on_benefit) * 0.89 else
                    "integration")
            if rng.random() < 0.6:
                began = weekday_on_or_after(
                    a.start_date - dt.timedelta(days=rng.randint(20, 200)))
            else:
                began = rng.choice(window_days)
            values = {"cpr": p.cpr, "jobcenter": JOBCENTER_ID,
                      "benefit": kind, "start": began}
            p.facts.append("%s benefit from %s" % (kind, began.isoformat()))
            later = [d for d in window_days if d > began]
            if later and rng.random() < 0.25:
                values["stop"] = rng.choice(later)
                values["reason"] = rng.choice(["UDD", "JOB", "FLYT", ""])
                p.facts.append("benefit stopped")
            benefits.append((values, "BenefitStatus"))
            if kind == "education" and later and rng.random() < 0.5:
                for day in sorted(rng.sample(later, min(len(later),
                                                        rng.randint(1, 2)))):
                    missed.append(({"cpr": p.cpr, "jobcenter": JOBCENTER_ID,
                                    "date": day,
                                    "activity": rng.choice(
                                        ["VIRK-PRAK", "SAMTALE", "KURSUS"])},
                                   "MissedActivation"))
        benefits.sort(key=lambda r: (r[0]["start"], r[0]["cpr"]))
        missed.sort(key=lambda r: (r[0]["date"], r[0]["cpr"]))
        register(JOBCENTER_ID, "jobcenter", [
            write_rows(a, AgencyCsv(a.out, "benefit-%s.csv" % JOBCENTER_ID,
                                    "benefit", a.dialect), benefits, brng),
            write_rows(a, AgencyCsv(a.out, "missed-%s.csv" % JOBCENTER_ID,
                                    "missed_activation", a.dialect), missed,
                       brng)])

    # The youth unit: the pupils' assignments (as assignments.csv), a
    # contact person for those the other agencies report, reassignments
    # (the same young person, another caseworker, a later `from`), and
    # the duty desk.
    if "youthunit" in a.agency_set:
        rows = [({"cpr": r[0], "caseworker": r[1], "role": r[4],
                  "from": dt.date.fromisoformat(r[2]),
                  "to": dt.date.fromisoformat(r[3]) if r[3] else None},
                 "ContactAssignment") for r in assignments]
        assigned = {r[0] for r in assignments}
        reassigned = 0
        seen = set()
        for p, day in contacts:
            if p.cpr in assigned or p.cpr in seen or not a.cw_list:
                continue
            seen.add(p.cpr)
            cw = a.cw_list[rng.randrange(len(a.cw_list))]
            rows.append(({"cpr": p.cpr, "caseworker": cw, "role": "contact",
                          "from": day}, "ContactAssignment"))
            p.contact = cw
            if len(a.cw_list) > 1 and rng.random() < 0.2:
                other = a.cw_list[(a.cw_list.index(cw) + 1)
                                  % len(a.cw_list)]
                rows.append(({"cpr": p.cpr, "caseworker": other,
                              "role": "contact",
                              "from": day + dt.timedelta(days=14)},
                             "ContactAssignment"))
                p.contact = other
                reassigned += 1
        extra["youthunit"] = {
            "assigned_persons": len({r[0]["cpr"] for r in rows}),
            "reassignments": reassigned}
        desk = [({"desk": a.desk, "caseworker": cw,
                  "from": year_start - dt.timedelta(days=300),
                  "team_lead": "yes" if i == 0 else "no"}, "DeskMembership")
                for i, cw in enumerate(a.desk_list)]
        register(YOUTHUNIT_ID, "youthunit", [
            write_rows(a, AgencyCsv(a.out, "youthunit-assignments.csv",
                                    "assignment", a.dialect), rows, brng),
            write_rows(a, AgencyCsv(a.out, "youthunit-desk.csv", "desk",
                                    a.dialect), desk, brng)])

    by_type = {}
    for f in files_out:
        for t, n in f.events.items():
            by_type[t] = by_type.get(t, 0) + n
    extra["events"] = sum(f.valid for f in files_out)
    extra["rejected_rows"] = sum(len(f.bad) for f in files_out)
    extra["events_by_type"] = dict(sorted(by_type.items()))
    mentioned = [p for p in people if p.facts or p.group == "leaver"]
    return agencies, mentioned, extra


def generate(a):
    rng = random.Random(a.seed)
    if a.rows:
        total_pupils = a.pupils * len(a.grade_list)
        a.weeks_total = max(1, math.ceil(a.rows / total_pupils))
    else:
        a.weeks_total = a.weeks
    _HOLIDAYS[:] = a.holidays
    a.report_weeks = report_weeks(a.start_date, a.weeks_total)
    pupils = make_pupils(a, rng)
    arng = random.Random(a.seed * 7919 + 1)
    assignments = make_assignments(a, pupils, arng)

    os.makedirs(a.out, exist_ok=True)
    files = {s: CsvOut(os.path.join(a.out, "absence-%s.csv" % s), a.dialect)
             for s in a.school_list}
    by_school = {s: [p for p in pupils if p.school == s] for s in a.school_list}
    # Order within a file: by grade, then pupil (as a school's export would).
    for s in by_school:
        by_school[s].sort(key=lambda p: (p.grade, p.index))

    # Bad rows: placed at seeded positions (week, file, after which pupil).
    brng = random.Random(a.seed * 104729 + 3)
    bad_plan = {}
    for i in range(a.bad_rows):
        school = a.school_list[i % len(a.school_list)]
        if not by_school[school]:
            continue
        w = brng.randrange(a.weeks_total)
        pos = brng.randrange(len(by_school[school]))
        bad_plan.setdefault((school, w, pos), []).append(
            BAD_KINDS[i % len(BAD_KINDS)])

    rows_left = a.rows if a.rows else -1
    alerts_total = 0
    by_recipient = {}
    weeks_written = 0
    last_end = None
    valid_rows = 0
    for w, (start, end, days) in enumerate(a.report_weeks):
        if rows_left == 0:
            break
        expected = LESSONS_PER_DAY * days
        weeks_written = w + 1
        last_end = end
        s_iso, e_iso = start.isoformat(), end.isoformat()
        for school in a.school_list:
            csv = files[school]
            for pos, p in enumerate(by_school[school]):
                if rows_left == 0:
                    break
                absent, kind = week_row(p, w, rng, expected)
                csv.row(p.cpr, school, s_iso, e_iso, absent, expected,
                        kind, p.grade)
                valid_rows += 1
                if rows_left > 0:
                    rows_left -= 1
                alert = apply_rule(a, p, start, end, absent, expected,
                                   kind)
                if alert:
                    alerts_total += 1
                    rcpt = p.assignment or a.desk
                    alert["recipient"] = rcpt
                    by_recipient[rcpt] = by_recipient.get(rcpt, 0) + 1
                for bk in bad_plan.get((school, w, pos), ()):
                    csv.write(bad_row(bk, p, start, end, csv))
                    csv.bad.append({"line": csv.line, "kind": bk})
    for csv in files.values():
        csv.close()

    with open(os.path.join(a.out, "assignments.csv"), "w",
              encoding="utf-8", newline="") as f:
        f.write("cpr;caseworker;from;to;role\n")
        for r in assignments:
            f.write(";".join(r) + "\n")

    agencies, people, extra = generate_agencies(a, pupils, assignments)
    crossing = [p for p in pupils if p.alerts]
    cohort = {
        "generator": "deploy/gen_cohort.py",
        "synthetic": True,
        "seed": a.seed,
        "params": {
            "pupils_per_grade": a.pupils, "grades": a.grade_list,
            "weeks": weeks_written, "start": a.start,
            "end": last_end.isoformat() if last_end else None,
            "schools": a.school_list,
            "high_absence_share": a.high_absence_share,
            "assigned_share": a.assigned_share,
            "caseworkers": a.cw_list, "desk": a.desk,
            "bad_rows": a.bad_rows, "rows": a.rows, "dialect": a.dialect,
        },
        "rule": {"name": "absence.rolling",
                 "threshold_pct": a.threshold_pct,
                 "window_days": a.window_days,
                 "min_days": a.min_days,
                 "counted_kinds": ["illness", "unlawful", "all"]},
        "files": [{
            "school": s, "file": os.path.basename(files[s].path),
            "rows": files[s].rows + len(files[s].bad),
            "valid_rows": files[s].rows,
            "bad_rows": files[s].bad,
            "pupils": len(by_school[s]),
        } for s in a.school_list],
        "assignments": {"file": "assignments.csv", "rows": len(assignments),
                        "persons": len({r[0] for r in assignments}),
                        "pupils_with_contact": sum(
                            1 for p in pupils if p.assignment)},
        "expected": {
            "events": valid_rows,
            "rejected_rows": sum(len(c.bad) for c in files.values()),
            "alerts": alerts_total,
            "pupils_crossing": len(crossing),
            "pupils_high_absence": sum(1 for p in pupils if p.high),
            "by_recipient": dict(sorted(by_recipient.items())),
        },
        "crossing": sorted(p.cpr for p in crossing),
        # Every agency (schools first) with the event types to register
        # it for and its files; absence files are also under "files".
        "agencies": [{"id": s, "adapter": "school",
                      "types": REGISTER_TYPES["school"],
                      "files": [{"file": os.path.basename(files[s].path),
                                 "kind": "absence",
                                 "rows": files[s].rows + len(files[s].bad),
                                 "valid_rows": files[s].rows,
                                 "events": {"AbsenceReport": files[s].rows},
                                 "bad_rows": files[s].bad}]}
                     for s in a.school_list],
        "people": [p.to_json() for p in people],
    }
    for ag in agencies:
        same = [x for x in cohort["agencies"] if x["id"] == ag["id"]]
        if same:
            same[0]["files"] += ag["files"]
        else:
            cohort["agencies"].append(ag)
    cohort["expected"]["agency_events"] = extra.pop("events", 0)
    cohort["expected"]["agency_rejected_rows"] = extra.pop("rejected_rows",
                                                           0)
    by_type = {"AbsenceReport": valid_rows}
    for t, n in extra.pop("events_by_type", {}).items():
        by_type[t] = by_type.get(t, 0) + n
    cohort["expected"]["events_by_type"] = dict(sorted(by_type.items()))
    cohort["expected"]["events_by_agency"] = {
        ag["id"]: sum(f["valid_rows"] for f in ag["files"])
        for ag in cohort["agencies"]}
    cohort.update(extra)
    if not a.rows:
        cohort["pupils"] = [p.to_json() for p in pupils]
    with open(os.path.join(a.out, "cohort.json"), "w",
              encoding="utf-8") as f:
        json.dump(cohort, f, indent=1, sort_keys=False)
        f.write("\n")
    return cohort


def main(argv=None):
    a = parse_args(sys.argv[1:] if argv is None else argv)
    cohort = generate(a)
    if not a.quiet:
        e = cohort["expected"]
        print("gen_cohort: %d pupils, %d weeks, %d schools -> %s"
              % (a.pupils * len(a.grade_list), cohort["params"]["weeks"],
                 len(a.school_list), a.out))
        print("gen_cohort: rows %d (+%d bad), expected alerts %d "
              "(%d pupils crossing) %s"
              % (e["events"], e["rejected_rows"], e["alerts"],
                 e["pupils_crossing"],
                 " ".join("%s=%d" % kv for kv in e["by_recipient"].items())))
        if e["agency_events"] or e["agency_rejected_rows"]:
            print("gen_cohort: other agencies: %d files, %d rows (+%d bad): %s"
                  % (sum(len(ag["files"]) for ag in cohort["agencies"])
                     - len(cohort["files"]), e["agency_events"],
                     e["agency_rejected_rows"],
                     " ".join("%s=%d" % kv
                              for kv in e["events_by_type"].items()
                              if kv[0] != "AbsenceReport")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
