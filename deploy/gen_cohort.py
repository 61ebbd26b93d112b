#!/usr/bin/python3
"""Seeded synthetic school cohort for ungebro demos, tests and benches.

Writes, into --out DIR:
  absence-<school>.csv  weekly absence reports (Monday-Friday periods, 30
                        lessons expected), one row per pupil and week, in
                        week order, in the CSV format adapter-school reads
  assignments.csv       contact-person assignments for `hubctl assign --file`
  cohort.json           the pupils (CPR, school, grade, assignment) and the
                        alerts the hub is expected to raise, computed with the
                        hub's absence rule (SPEC "Absence rule"), so a demo or
                        test can assert exact counts

Every CPR number is made up: a valid DDMMYY birth date that fits the grade
(a grade-g pupil is born in the year the school year starts minus g + 6),
a century digit that fits the birth year and random serial digits. No
modulus-11 check is computed or relied on. Output is a pure function of
the arguments (same seed, same bytes).

With --rows N the generator streams exactly N absence rows (week after week
until N rows are written) for a bench, holding only per-pupil state in
memory; cohort.json then carries the totals without the pupil list.

Expected alerts assume the adapter sends each file in order (one school's
pupils are in one file, so each pupil's reports reach the hub in week
order), a window of `--window-days` school days ending at the latest
report's period_end, counting reports whose period lies inside the window,
kind permitted excluded, once those reports cover at least `--min-days`
school days an alert when absent/expected is strictly above
`--threshold-pct`, one per episode, the episode ending when the rate falls
to the threshold or below. Pupils who take permitted leave are kept well
below the threshold, so how the hub treats a permitted report's date does
not change any count.
"""

import argparse
import datetime as dt
import json
import math
import os
import random
import sys

LESSONS_PER_WEEK = 30
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
    p.add_argument("--bad-rows", type=int, default=0,
                   help="add N bad rows (bad date, absent > expected, bad CPR "
                        "date, missing field) that adapter-school must reject")
    p.add_argument("--rows", type=int, default=0,
                   help="bench mode: stream exactly N absence rows in total "
                        "(weeks as needed), constant memory per row")
    p.add_argument("--dialect", choices=["standard", "danish"],
                   default="standard",
                   help="standard: SPEC header names, ';', LF; danish: "
                        "Danish header names and kinds, BOM, CRLF")
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
    a.cw_list = [c for c in a.caseworkers.split(",") if c]
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

_BACK = {}


def school_days_back(end, n):
    """The first day of the n school days (Mon-Fri) ending at end."""
    key = (end, n)
    if key in _BACK:
        return _BACK[key]
    d = end
    counted = 1 if d.weekday() < 5 else 0
    while counted < n:
        d -= dt.timedelta(days=1)
        if d.weekday() < 5:
            counted += 1
    _BACK[key] = d
    return d


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
                 "window", "in_episode", "alerts", "last_end", "assignment")

    def to_json(self):
        return {
            "cpr": self.cpr, "school": self.school, "grade": self.grade,
            "high_absence": self.high,
            "contact": self.assignment,
            "alerts": self.alerts,
        }


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
            pupils.append(p)
    return pupils


def is_high_week(p, w):
    if not p.high or w < p.onset:
        return False
    if p.recover >= 0 and w >= p.recover:
        return p.relapse >= 0 and w >= p.relapse
    return True


def week_row(p, w, rng):
    """(lessons_absent, kind) for pupil p in week w."""
    if is_high_week(p, w):
        since = w - (p.relapse if p.relapse >= 0 and w >= p.relapse
                     else p.onset)
        absent = min(LESSONS_PER_WEEK, p.level + p.step * since
                     + rng.randint(-1, 1))
        kind = "illness" if rng.random() < p.ill_share else "unlawful"
        return max(absent, 4), kind
    # Low weeks: at most 3 of 30 lessons (10 %, not strictly above), so
    # no window of low weeks ever crosses the threshold.
    r = rng.random()
    absent = 0 if r < 0.5 else 1 if r < 0.75 else 2 if r < 0.92 else 3
    if p.permitted and rng.random() < 0.2:
        return rng.randint(1, 10), "permitted"
    if absent == 0:
        return 0, "unlawful"
    kind = "illness" if rng.random() < p.ill_share else "unlawful"
    return absent, kind


def apply_rule(a, p, start, end, absent, expected, kind):
    """The hub's absence rule for one report in arrival order."""
    if kind == "permitted":
        return None
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
            if d.weekday() < 5:
                covered.add(d)
            d += dt.timedelta(days=1)
    if len(covered) < a.min_days:
        return None  # too few school days reported to judge either way
    above = sum_exp > 0 and sum_abs * 100 > a.threshold_pct * sum_exp
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


def generate(a):
    rng = random.Random(a.seed)
    if a.rows:
        total_pupils = a.pupils * len(a.grade_list)
        a.weeks_total = max(1, math.ceil(a.rows / total_pupils))
    else:
        a.weeks_total = a.weeks
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
    for w in range(a.weeks_total):
        if rows_left == 0:
            break
        start = a.start_date + dt.timedelta(weeks=w)
        end = start + dt.timedelta(days=4)
        weeks_written = w + 1
        last_end = end
        s_iso, e_iso = start.isoformat(), end.isoformat()
        for school in a.school_list:
            csv = files[school]
            for pos, p in enumerate(by_school[school]):
                if rows_left == 0:
                    break
                absent, kind = week_row(p, w, rng)
                csv.row(p.cpr, school, s_iso, e_iso, absent, LESSONS_PER_WEEK,
                        kind, p.grade)
                valid_rows += 1
                if rows_left > 0:
                    rows_left -= 1
                alert = apply_rule(a, p, start, end, absent, LESSONS_PER_WEEK,
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
    }
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
