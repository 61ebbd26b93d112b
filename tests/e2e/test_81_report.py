"""81 the annual status (hubctl report, docs/OPERATIONS.md "The annual
status"): figures computed from the log, cells of 1-4 persons shown as
"<5" with secondary suppression so no total gives one back, one
self-contained HTML page and a CSV per table, and never a CPR or a
person key in any of it. A crafted cohort with small cells, and a
generated one (deploy/gen_cohort.py) checked against counts computed
here from the generator's own files."""

import csv
import datetime
import json
import os
import re
import stat
import subprocess
import sys

from hubtest import CprGen, binary, envelope, ev_dropout, ev_enrolment, \
    ev_leaving, ev_readiness, ev_referral, event, pb, rules_hub

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
HEX_KEY = re.compile(r"[0-9a-f]{32,}")


def enrolled_at(make_hub, seed, institutions):
    """A hub on 2026-09-07 where five persons enrolled on 2026-08-10 at
    each of the institutions, whatever their ids hold."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(seed)
    for i in institutions:
        hub.send(*[ev_enrolment(c, "2026-08-10", institution=i,
                                programme="x") for c in gen.take(5)])
    hub.wait_applied()
    return hub


def report(hub, tmp, *period):
    out = tmp / "status" / "status.html"
    out.parent.mkdir(exist_ok=True)
    p = hub.hubctl("report", *period, "--out", str(out))
    assert p.stdout.startswith("wrote "), p.stdout
    tables = {}
    for name in os.listdir(out.parent):
        m = re.match(r"status-(\w+)\.csv$", name)
        if m:
            with open(out.parent / name, newline="") as f:
                tables[m.group(1)] = list(csv.reader(f))
    return out, tables


def cells(table):
    """{(row, col): text} of a CSV table (header row, label column)."""
    head = table[0]
    return {(r[0], head[i]): r[i] for r in table[1:]
            for i in range(1, len(r))}


def contact_clock(tables):
    """The clocks table's contact row: met, missed, closed by enrolment,
    pending and the total."""
    c = cells(tables["clocks"])
    return [c[("contact within 5 working days", k)] for k in
            ("met", "missed", "closed by enrolment", "pending", "Total")]


def assert_no_recompute(table):
    """On every line with a Total, 0 or at least 2 entries are hidden:
    a single hidden one would be the total minus the others."""
    if not table:
        return
    head = table[0]
    rows = table[1:]
    hidden = lambda t: t in ("<5", "x")
    if head[-1] == "Total":
        for r in rows:
            n = sum(hidden(t) for t in r[1:])
            assert n != 1, f"row {r} gives its hidden cell away"
    if rows and rows[-1][0] == "Total":
        for i in range(1, len(head)):
            n = sum(hidden(r[i]) for r in rows)
            assert n != 1, f"column {head[i]} gives its hidden cell away"


def assert_clean(paths, cprs):
    for path in paths:
        text = open(path, encoding="utf-8").read()
        for c in cprs:
            assert c not in text and f"{c[:6]}-{c[6:]}" not in text, path
        assert not HEX_KEY.search(text), f"{path}: a hex key"


def contrast_on_white(hex6):
    """WCAG 2.1's contrast ratio of an sRGB colour against white."""
    def linear(c):
        c /= 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(int(hex6[i:i + 2], 16)) for i in (0, 2, 4))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (lum + 0.05)


def test_small_cells_are_suppressed_and_totals_do_not_betray_them(
        make_hub, tmp_path):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8101)
    # Readiness: grade 8, 3 of 12 not ready; grade 9, 8 of 20.
    g8, g9 = gen.take(12), gen.take(20)
    hub.send(*[ev_readiness(c, "2026-01-15", 8, ready=i >= 3)
               for i, c in enumerate(g8)],
             *[ev_readiness(c, "2026-01-15", 9, ready=i >= 8)
               for i, c in enumerate(g9)])
    # Dropouts of 16-year-olds: 3 at a gymnasium, 6 at an EUD college;
    # 7 start at FGU, 2 at EUD. Contact is recorded for 6 of the 9.
    youth = [gen.born("2010-03-%02d" % (i + 1)) for i in range(9)]
    for c in youth:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-09-04", institution="gym-x",
                          programme="stx") for c in youth[:3]],
             *[ev_dropout(c, "2026-09-04", institution="eud-y",
                          programme="eud-tomrer") for c in youth[3:]])
    starters = gen.take(9)
    hub.send(*[ev_enrolment(c, "2026-08-10", institution="fgu-z",
                            programme="fgu-egu") for c in starters[:7]],
             *[ev_enrolment(c, "2026-08-10", institution="eud-y",
                            programme="eud-tomrer") for c in starters[7:]])
    # Anonymous counselling: 3 records, no CPR.
    hub.send(*[event("addiction-a", "", "addiction_referral",
                     sensitivity="ANONYMOUS", service="rmc-a",
                     date="2026-09-01", stage="REFERRED")
               for _ in range(3)])
    hub.wait_applied()
    alerts = [a for a in hub.peek("cw-anna", 9) if a["rule"] == "dropout"]
    assert len(alerts) == 9
    contacted = set(youth[:2] + youth[3:7])
    hub.set_clock("2026-09-09T10:00:00")
    for a in alerts:
        if a["cpr"] in contacted:
            rc, out, err = hub.record("cw-anna", "contact", a["alert_id"],
                                      "phone")
            assert rc == 0, err
    hub.wait_applied()

    out, tables = report(hub, tmp_path, "--year", "2026")
    html = out.read_text()
    assert "<svg" in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert "src=" not in html and "<link" not in html
    # Every chart is an image with a text alternative (WCAG 1.1.1) that
    # names what it draws and where its figures are.
    charts = re.findall(r"<svg [^>]*>", html)
    assert charts
    for svg in charts:
        name = re.search(r'role="img" aria-label="Chart: ([^"]+)"', svg)
        assert name and name.group(1).endswith(
            "; the figures are in the table above"), svg
    assert html.count("<title>Chart: ") == len(charts)
    assert 'aria-label="Chart: Education-readiness, grades 8 and 9, per ' \
        'school and year; bars: not ready, one per row; the figures are ' \
        'in the table above"' in html
    # The monthly chart's heading says "per month" once, and so does its
    # name.
    assert 'aria-label="Chart: Young people known to the hub without ' \
        'attachment to education, per month, against the baseline 360 ' \
        'and the goal 160; the figures are in the table above"' in html
    # Suppressed cells are greyed; their text still reads at the 4.5:1
    # contrast WCAG AA asks for, on the white page.
    grey = re.search(r"td\.sup\{color:#([0-9a-f]{3,6})\}", html).group(1)
    if len(grey) == 3:
        grey = "".join(c * 2 for c in grey)
    assert contrast_on_white(grey) >= 4.5, grey
    assert set(tables) >= {"readiness", "absence", "chronic", "dropouts",
                           "enrolments", "neet", "clocks", "alerts",
                           "anonymous"}
    for t in tables.values():
        assert_no_recompute(t)
    assert_starts_do_not_recompute(tables)

    r = cells(tables["readiness"])
    assert r[("280017 2026 grade 8", "not ready")] == "<5"
    assert r[("280017 2026 grade 8", "ready")] in ("x", "<5")
    assert r[("280017 2026 grade 9", "not ready")] in ("8", "x")
    assert r[("Total", "not ready")] == "11"
    assert r[("Total", "Total")] == "32"

    d = cells(tables["dropouts"])
    assert d[("gym-x (gymnasium)", "dropped out")] == "<5"
    assert d[("eud-y (EUD)", "dropped out")] in ("6", "x")
    assert d[("fgu-z (FGU)", "started")] in ("7", "x")
    assert d[("eud-y (EUD)", "started")] == "<5"
    assert d[("Total", "dropped out")] == "9"
    assert d[("Total", "started")] == "9"
    # The gymnasium's 3 cannot be recomputed as 9 - 6.
    assert d[("eud-y (EUD)", "dropped out")] == "x"

    e = cells(tables["enrolments"])
    assert e[("EUD", "started")] == "<5"
    assert e[("Total", "started")] == "9"
    assert e[("FGU", "started")] == "x"
    assert "(EUD): suppressed (too few persons)</li>" in html

    c = cells(tables["clocks"])
    row = "contact within 5 working days"
    assert c[(row, "met")] == "x"   # 9 - 6 would give the 3 away
    due = datetime.date(2026, 9, 14)
    late = "missed" if datetime.datetime.utcnow().date() > due else \
        "pending"
    assert c[(row, late)] == "<5"
    assert c[(row, "Total")] == "9"
    assert sum(c[(row, k)] in ("<5", "x") for k in
               ("met", "missed", "closed by enrolment", "pending")) >= 2

    # Fixed rows in the documented order, whatever the counts.
    assert [r[0] for r in tables["enrolments"][1:]] == \
        ["gymnasium", "EUD", "FGU", "other", "Total"]
    assert [r[0] for r in tables["anonymous"][1:]] == \
        ["referred", "treatment started", "treatment ended", "other",
         "Total"]

    a = cells(tables["anonymous"])
    assert a[("referred", "records")] == "<5"
    assert a[("Total", "records")] == "<5"

    # No CPR, no person key: not even the one export shows for a person.
    exported = tmp_path / "export.json"   # holds a CPR: not swept
    hub.hubctl("export", "--cpr", youth[0], "--out", str(exported))
    key = json.loads(exported.read_text())["person"]
    files = [out] + [out.parent / f"status-{n}.csv" for n in tables]
    assert_clean(files, hub.cprs | set(g8) | set(g9) | set(youth))
    for f in files:
        assert key not in f.read_text()


def assert_starts_do_not_recompute(tables):
    """The dropouts table's starts of each programme type's institutions
    add up to the enrolments table's figure of that type (and the Total
    to the Total): 0 or at least 2 hidden entries on each such line."""
    hidden = lambda t: t in ("<5", "x")
    e = cells(tables["enrolments"])
    d = tables["dropouts"]
    col = d[0].index("started")
    for kind in ("gymnasium", "EUD", "FGU", "other", "Total"):
        line = [r[col] for r in d[1:] if r[0].endswith(f"({kind})") or
                r[0] == kind] + [e[(kind, "started")]]
        n = sum(hidden(t) for t in line)
        assert n != 1, f"{kind}: {line} gives its hidden start away"


def test_starts_per_institution_not_given_back_by_the_types(make_hub,
                                                            tmp_path):
    # 3 start at one gymnasium, 12 at another, 10 at an EUD college: the
    # 3 is hidden, and with it the EUD college's 10 (the column's
    # smallest); the enrolments table's gymnasium 15 and EUD 10 would
    # give both back (15 - 12, and 10 itself) unless hidden with them.
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8103)
    hub.send(*[ev_enrolment(c, "2026-08-10", institution="gym-a",
                            programme="stx") for c in gen.take(3)],
             *[ev_enrolment(c, "2026-08-10", institution="gym-b",
                            programme="htx") for c in gen.take(12)],
             *[ev_enrolment(c, "2026-08-10", institution="eud-c",
                            programme="eud-smed") for c in gen.take(10)])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    d, e = cells(tables["dropouts"]), cells(tables["enrolments"])
    assert d[("gym-a (gymnasium)", "started")] == "<5"
    assert d[("Total", "started")] == e[("Total", "started")] == "25"
    assert_starts_do_not_recompute(tables)
    for t in tables.values():
        assert_no_recompute(t)
    # The key figure needs EUD and Total both shown.
    assert "(EUD): suppressed (too few persons)</li>" in out.read_text()
    # The page says how a type is found as OPERATIONS.md does.
    assert "(a programme code starting stx, hhx, htx, hf, ib or gym: " \
        "gymnasium; eud or eux: EUD; fgu: FGU; else the institution id's " \
        "prefix gym-, eud-, fgu-; else other)" in out.read_text()


def test_long_institution_ids_that_begin_alike_are_two_rows(make_hub,
                                                           tmp_path):
    """OPERATIONS.md "Never in the report": an id of more than 40 bytes is
    shown as its first 23 bytes, ~ and 16 hex digits of a BLAKE2b hash of
    the whole id; two ids alike in their first 40 bytes are two rows."""
    import hashlib
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8104)
    common = "gym-" + "x" * 40
    a, b = common + "-north", common + "-south"
    hub.send(*[ev_enrolment(c, "2026-08-10", institution=a,
                            programme="stx") for c in gen.take(6)],
             *[ev_enrolment(c, "2026-08-10", institution=b,
                            programme="stx") for c in gen.take(7)])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    d = cells(tables["dropouts"])

    def shown(inst):
        h = hashlib.blake2b(inst.encode(), digest_size=8).hexdigest()
        return f"{inst[:23]}~{h} (gymnasium)"
    assert len(shown(a)) == 40 + len(" (gymnasium)")
    assert d[(shown(a), "started")] == "6"
    assert d[(shown(b), "started")] == "7"
    assert d[("Total", "started")] == "13"


def test_a_long_id_is_cut_on_a_whole_character(make_hub, tmp_path):
    """An id of more than 40 bytes keeps at most its first 23 bytes, and
    never half a character: the page and the CSV files are UTF-8, and an
    id whose 23rd byte is the first of an "ø" keeps 22."""
    import hashlib
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8108)
    inst = "gym-" + "x" * 18 + "ø" * 12     # "ø" at bytes 23-24, ...
    hub.send(*[ev_enrolment(c, "2026-08-10", institution=inst,
                            programme="stx") for c in gen.take(6)])
    hub.wait_applied()
    out, _ = report(hub, tmp_path, "--year", "2026")
    raw = (out.parent / "status-dropouts.csv").read_bytes()
    rows = list(csv.reader(raw.decode("utf-8").splitlines()))
    h = hashlib.blake2b(inst.encode(), digest_size=8).hexdigest()
    assert rows[1][:2] == [f"{inst[:22]}~{h} (gymnasium)", "6"], rows
    out.read_bytes().decode("utf-8")



def test_a_cpr_sent_as_an_institution_or_school_is_masked(make_hub,
                                                          tmp_path):
    """OPERATIONS.md "Never in the report": no CPR number, also where an
    agency's export put one in the institution or school column (the
    hub takes any text there). It is masked as the audit trail masks
    one, its digits as x, in the page and in every CSV file; a long id
    is cut and hashed after that (a hash of the id with the CPR in it
    could be searched back to the CPR)."""
    import hashlib
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8111)
    inst, school = gen.next(), gen.next()
    long = f"eud-{inst}-" + "y" * 30
    hub.cprs.update({inst, school})
    hub.send(*[ev_enrolment(c, "2026-08-10", institution=inst,
                            programme="eud-smed") for c in gen.take(5)],
             *[ev_enrolment(c, "2026-08-10", institution=long,
                            programme="eud-smed") for c in gen.take(5)],
             *[event("school-a", c, "readiness_assessment", school=school,
                     grade=9, date="2026-01-15", ready=True)
               for c in gen.take(5)])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert_clean([out] + [out.parent / f"status-{t}.csv" for t in tables],
                 [inst, school])
    d = cells(tables["dropouts"])
    assert d[("xxxxxxxxxx (EUD)", "started")] == "5", tables["dropouts"]
    masked = long.replace(inst, "x" * 10)
    h = hashlib.blake2b(masked.encode(), digest_size=8).hexdigest()
    assert d[(f"{masked[:23]}~{h} (EUD)", "started")] == "5", d
    assert [r[0] for r in tables["readiness"][1:]] == \
        ["xxxxxxxxxx 2026 grade 9", "Total"], tables["readiness"]

def test_a_cpr_run_together_with_letters_in_an_id_is_masked(make_hub,
                                                            tmp_path):
    """OPERATIONS.md "Never in the report": a CPR number. An export can
    run one together with the institution's letters (`eud0101901234`):
    the audit trail's rule would take that for a word, the report masks
    it all the same, also where a long id keeps its first 23 bytes. A
    number of 11 digits is no CPR number and stays."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8120)
    a, b, c, d = gen.take(4)
    hub.cprs.update({a, b, c, d})
    ids = [f"eud{a}", f"{b}gym", f"{c}" + "z" * 40,
           f"fgu{d[:6]}-{d[6:]}x", "other12345678901"]
    for i in ids:
        hub.send(*[ev_enrolment(x, "2026-08-10", institution=i,
                                programme="x") for x in gen.take(5)])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert_clean([out] + [out.parent / f"status-{t}.csv" for t in tables],
                 [a, b, c, d])
    rows = [r[0] for r in tables["dropouts"][1:-1]]
    for row in ("eudxxxxxxxxxx", "xxxxxxxxxxgym", "fguxxxxxx-xxxxx",
                "other12345678901"):
        assert f"{row} (other)" in rows, rows
    assert any(r.startswith("xxxxxxxxxx" + "z" * 13 + "~") for r in rows), \
        rows


def test_a_label_a_spreadsheet_would_run_is_quoted_in_the_csv(make_hub,
                                                              tmp_path):
    """OPERATIONS.md, the CSV files: an id is any text an agency sent,
    and a CSV cell that begins with =, +, - or @ is a formula to a
    spreadsheet (which can fetch a URL or run a command): such a label is
    written with a ' before it in the CSV, as it is on the page; so is one
    that begins with a tab or a carriage return, which some spreadsheets
    skip before they look for the formula's sign."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8112)
    ids = ["=1+2", "+gym-a", "-eud-b", "@fgu-c", "\tgym-d", "\rgym-e"]
    hub.send(*[ev_enrolment(c, "2026-08-10", institution=i,
                            programme="x") for i, c in zip(ids, gen.take(6))])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    rows = [r[0] for r in tables["dropouts"][1:-1]]
    assert rows == sorted(f"'{i} (other)" for i in ids), rows
    page = out.read_bytes().decode()  # a CR as it is, not a newline
    for i in ids:
        assert f"<th>{i} (other)</th>" in page


def test_the_csv_files_are_utf8_without_a_bom_and_end_lines_in_lf(
        make_hub, tmp_path):
    """OPERATIONS.md: each status-*.csv is UTF-8 without a byte-order
    mark, every line ending in LF alone; an id with an ø stays one."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    people = CprGen(8119).take(5)
    hub.send(*[ev_enrolment(c, "2026-08-10", institution="eud-sønderå",
                            programme="eud-tomrer") for c in people])
    hub.wait_applied()
    out, _ = report(hub, tmp_path, "--year", "2026")
    for name in os.listdir(out.parent):
        if not name.endswith(".csv"):
            continue
        raw = (out.parent / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), name
        assert b"\r" not in raw and raw.endswith(b"\n"), name
        raw.decode("utf-8")
    dropouts = (out.parent / "status-dropouts.csv").read_bytes()
    assert "eud-sønderå (EUD),5,0,0\n".encode() in dropouts


def test_a_label_with_a_line_break_stays_one_row_of_the_csv(make_hub,
                                                            tmp_path):
    # An id may hold any control character an agency sent (PROTOCOL.md):
    # a carriage return left unquoted ends the CSV record to a reader,
    # and the row breaks in two.
    ids = ["a\rb", "c\nd", "e\r\nf", "x\ty"]
    hub = enrolled_at(make_hub, 8113, ids)
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert tables["dropouts"][1:] == \
        [[f"{i} (other)", "5", "0", "0"] for i in sorted(ids)] + \
        [["Total", "20", "0", "0"]], tables["dropouts"]


def test_absence_a_school_does_not_split_is_no_unlawful_absence(make_hub,
                                                              tmp_path):
    # OPERATIONS.md, the absence table: only lessons of kind UNLAWFUL
    # count there; a school that reports ALL_KINDS alone (it cannot
    # split) has its pupils under 10 %, and the chronic table counts
    # them by every kind.
    m = pb()
    hub = rules_hub(make_hub, "2026-06-01T08:00:00")
    hub.send(*[envelope("school-a", c, salt=f"{c}-all",
                        period_start="2026-03-02", period_end="2026-03-06",
                        absent=6, expected=30, kind=m.ALL_KINDS)
               for c in CprGen(8114).take(5)])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert tables["absence"][1] == ["280017 2026 Q1", "5", "0", "0", "5"]
    assert tables["chronic"][1] == ["280017 2026 Q1", "5", "0", "5"]


def test_an_out_that_is_one_of_the_csv_names_is_refused(make_hub, tmp_path):
    # The page and its CSV files are distinct files: a page named as one
    # of them would be overwritten by that table (or the table by it)
    # while hubctl said it wrote both. A name ending in / is a directory,
    # not the page's file.
    hub = make_hub()
    d = tmp_path / "s"
    d.mkdir()
    for name in ("status-alerts.csv", "status-readiness.csv",
                 "status-neet.csv"):
        p = hub.hubctl("report", "--year", "2026", "--out", str(d / name),
                       check=False)
        assert (p.returncode, p.stderr) == \
            (2, "hubctl: report: --out names the page, not one of its "
             f"status-*.csv files (not '{name}')\n"), p.stderr
    p = hub.hubctl("report", "--year", "2026", "--out", f"{d}/page/",
                   check=False)
    assert (p.returncode, p.stderr) == \
        (2, "hubctl: report needs --out FILE.html\n"), p.stderr
    # A directory named without its / is the same mistake (OPERATIONS.md:
    # "an --out that names a directory, ending in / or not"), found
    # before the store is opened.
    (d / "page").mkdir()
    p = hub.hubctl("report", "--year", "2026", "--out", f"{d}/page",
                   check=False)
    assert (p.returncode, p.stderr) == \
        (2, "hubctl: report needs --out FILE.html\n"), p.stderr
    # So is a symbolic link to a directory (the usual /srv/status ->
    # /srv/status-2026): the link is not replaced by the page, nor the
    # CSV files put in its parent.
    os.symlink(d / "page", d / "latest")
    p = hub.hubctl("report", "--year", "2026", "--out", f"{d}/latest",
                   check=False)
    assert (p.returncode, p.stderr) == \
        (2, "hubctl: report needs --out FILE.html\n"), p.stderr
    assert os.path.islink(d / "latest")
    assert sorted(os.listdir(d)) == ["latest", "page"]
    os.unlink(d / "latest")
    (d / "page").rmdir()
    assert os.listdir(d) == []
    # Not recorded: a usage error is found before the store is opened.
    p = hub.hubctl("audit", "show", "--json")
    assert not [l for l in p.stdout.splitlines()
                if json.loads(l)["action"] == "report"]
    # A name that only looks alike is a page like any other.
    report_at = d / "status-alerts.html"
    p = hub.hubctl("report", "--year", "2026", "--out", str(report_at))
    assert report_at.read_text().startswith("<!DOCTYPE html>")
    assert (d / "status-alerts.csv").read_text().startswith(",raised,")


def test_an_out_of_a_dash_is_refused_not_written_as_a_file(make_hub,
                                                          tmp_path):
    """OPERATIONS.md: the page and its CSV files are files, never
    standard output: `--out -` is exit 2 with its own message, nothing
    read or recorded, and no file `-` left in the working directory;
    `--out ./-` names that file and is a page like any other."""
    hub = make_hub()
    d = tmp_path / "cwd"
    d.mkdir()

    def run(out):
        return subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                               "report", "--year", "2026", "--out", out],
                              capture_output=True, text=True, cwd=d,
                              timeout=60)
    p = run("-")
    assert (p.returncode, p.stdout, p.stderr) == \
        (2, "", "hubctl: report: --out names the page's file, not "
         "standard output (not '-')\n"), p
    assert os.listdir(d) == []
    p = hub.hubctl("audit", "show", "--json")
    assert not [l for l in p.stdout.splitlines()
                if json.loads(l)["action"] == "report"]
    p = run("./-")
    assert (p.returncode, p.stdout) == \
        (0, "wrote ./- and 9 tables as ./status-*.csv\n"), p
    assert (d / "-").read_text().startswith("<!DOCTYPE html>")
    assert len([n for n in os.listdir(d) if n.startswith("status-")]) == 9
    # --help says so where it describes --out.
    text = " ".join(hub.hubctl("--help", config=False).stdout.split())
    assert "report: the HTML page (status-*.csv beside it; a file, not - " \
        "for standard output: exit 2)" in text, text


def test_the_csv_files_beside_a_page_at_the_root_are_named_once(make_hub):
    """OPERATIONS.md: `wrote FILE and N tables as DIR/status-*.csv`, at
    the root `/status-*.csv`, not `//status-*.csv`. Writes to / only
    where it may and holds no file of the report's names already."""
    import pytest
    names = ["status-%s.csv" % t for t in (
        "readiness", "absence", "chronic", "dropouts", "enrolments", "neet",
        "clocks", "alerts", "anonymous")]
    page = "/ug-test-report-%d.html" % os.getpid()
    if not os.access("/", os.W_OK) or \
            any(os.path.lexists("/" + n) for n in names + [page[1:]]):
        pytest.skip("/ is not writable, or holds a status-*.csv")
    hub = make_hub()
    try:
        p = hub.hubctl("report", "--year", "2026", "--out", page)
        assert p.stdout == f"wrote {page} and 9 tables as " \
            "/status-*.csv\n", p.stdout
        assert all(os.path.isfile("/" + n) for n in names)
    finally:
        for n in names + [page[1:]]:
            if os.path.lexists("/" + n):
                os.unlink("/" + n)


def test_a_report_that_fails_leaves_the_last_one_as_it_was(make_hub,
                                                           tmp_path):
    """OPERATIONS.md: the page and its CSV files are replaced together,
    once all are written; a report that fails (a file not writable:
    exit 1, audited `failed`) leaves no file of its own and the last
    report's files as they were, not a page beside another run's
    figures."""
    hub = make_hub()
    d = tmp_path / "status"
    d.mkdir()
    (d / "status.html").write_text("last year's page")
    (d / "status-readiness.csv").write_text("last year's figures")
    (d / "status-neet.csv").mkdir()       # cannot be replaced by a file
    p = hub.hubctl("report", "--year", "2026", "--out",
                   str(d / "status.html"), check=False)
    assert p.returncode == 1 and p.stdout == "", p
    assert p.stderr == f"hubctl: cannot write {d}/status-neet.csv: Is " \
        "a directory\n", p.stderr
    assert sorted(os.listdir(d)) == ["status-neet.csv", "status-readiness.csv",
                                     "status.html"]
    assert (d / "status.html").read_text() == "last year's page"
    assert (d / "status-readiness.csv").read_text() == "last year's figures"
    (d / "status-neet.csv").rmdir()
    # Made anew: a replaced file's own mode is not kept (OPERATIONS.md).
    os.chmod(d / "status-readiness.csv", 0o600)
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert len(tables) == 9 and "<svg" in out.read_text()
    assert os.stat(out).st_mode & 0o777 == 0o666 & ~current_umask()
    assert os.stat(d / "status-readiness.csv").st_mode & 0o777 == \
        0o666 & ~current_umask()
    results = [(r["result"], r["detail"]) for r in map(json.loads, hub.hubctl(
        "audit", "show", "--json", "--actor", hubctl_actor()).stdout
        .splitlines()) if r["action"] == "report"]
    assert [r for r, _ in results] == ["failed", "ok"], results
    # The failed one says that none of its tables was put in place.
    assert results[0][1].endswith(" 9 tables; nothing written"), results
    assert results[1][1].endswith(" 9 tables"), results


def test_a_log_record_that_does_not_open_is_named_and_nothing_written(
        make_hub, tmp_path):
    """OPERATIONS.md, The annual status and "Records that do not open":
    a status that silently leaves an event out is worse than none, so a
    log record that does not open with the storage key fails the report:
    every such record is named (STORE-SEAL, and the sequences in one
    line saying what to do), exit 1, nothing written (the last report's
    files stay), audited `failed` naming them."""
    from test_62_lifecycle import unread_hub
    hub, _, _, mine, theirs = unread_hub(make_hub)
    damaged = sorted([mine[1], theirs[0]])
    d = tmp_path / "status"
    d.mkdir()
    (d / "status.html").write_text("last year's page")
    p = hub.hubctl("report", "--year", "2025", "--out",
                   str(d / "status.html"), check=False)
    assert p.returncode == 1 and p.stdout == "", p
    for seq in damaged:
        assert f"STORE-SEAL log record {seq} does not open" in p.stderr, p
    assert (f"hubctl: report failed: 2 log records do not open with the "
            f"storage key ({damaged[0]}, {damaged[1]}; STORE-SEAL above): "
            f"the status would leave their events out of its figures; "
            f"nothing written. Treat it as damage to the store: see "
            f"OPERATIONS.md, \"Records that do not open\"") in \
        p.stderr.splitlines(), p
    assert os.listdir(d) == ["status.html"]
    assert (d / "status.html").read_text() == "last year's page"
    [rec] = [r for r in map(json.loads, hub.hubctl(
        "audit", "show", "--json", "--actor", hubctl_actor()).stdout
        .splitlines()) if r["action"] == "report"]
    assert rec["result"] == "failed" and rec["detail"].endswith(
        f"; 2 log records do not open ({damaged[0]}, {damaged[1]}); "
        f"nothing written"), rec


def test_a_pipe_or_a_device_at_a_name_is_not_replaced(make_hub, tmp_path):
    """OPERATIONS.md: a named pipe, a socket or a device at one of the
    report's names is not replaced: `hubctl: cannot write FILE: it is not
    a regular file`, exit 1, nothing written, recorded `failed`."""
    hub = make_hub()
    d = tmp_path / "status"
    d.mkdir()
    os.mkfifo(d / "status-alerts.csv")
    p = hub.hubctl("report", "--year", "2026", "--out",
                   str(d / "status.html"), check=False)
    assert p.returncode == 1 and p.stdout == "", p
    assert p.stderr == f"hubctl: cannot write {d}/status-alerts.csv: it " \
        "is not a regular file\n", p.stderr
    assert stat.S_ISFIFO(os.lstat(d / "status-alerts.csv").st_mode)
    assert os.listdir(d) == ["status-alerts.csv"]
    os.mkfifo(tmp_path / "page.html")
    p = hub.hubctl("report", "--year", "2026", "--out",
                   str(tmp_path / "page.html"), check=False)
    assert p.returncode == 1 and "it is not a regular file" in p.stderr, p
    assert stat.S_ISFIFO(os.lstat(tmp_path / "page.html").st_mode)
    results = [r["result"] for r in map(json.loads, hub.hubctl(
        "audit", "show", "--json", "--actor", hubctl_actor()).stdout
        .splitlines()) if r["action"] == "report"]
    assert results == ["failed", "failed"], results
    # --out /dev/null, the doc's own example: refused, /dev/null still
    # the device, and nothing of the report left beside it.
    before = set(os.listdir("/dev"))
    p = hub.hubctl("report", "--year", "2026", "--out", "/dev/null",
                   check=False)
    assert p.returncode == 1 and "it is not a regular file" in p.stderr, p
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert set(os.listdir("/dev")) - before == set()


def current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def hubctl_actor():
    import pwd
    return "hubctl:" + pwd.getpwuid(os.geteuid()).pw_name


def test_usage_errors_exit_2(make_hub):
    hub = make_hub()
    for args in (["--year", "2026"], ["--year", "26x", "--out", "x.html"],
                 ["--from", "2026-01-01", "--out", "x.html"],
                 ["--from", "2026-02-01", "--to", "2026-01-01",
                  "--out", "x.html"],
                 ["--year", "2026", "--from", "2026-01-01", "--out",
                  "x.html"]):
        p = hub.hubctl("report", *args, check=False)
        assert p.returncode == 2, (args, p.stderr)
    # No enrolments at all: nothing is suppressed, there is nothing.
    out, _ = report(hub, hub.tmp, "--year", "2027")
    assert "(EUD): no enrolments in the period</li>" in out.read_text()
    # The page says what its counts are of, as OPERATIONS.md does: the
    # clocks table counts clocks and the anonymous table records, not
    # persons.
    assert "Counts of persons (the legal clocks: of clocks; alerts: of " \
        "alerts; anonymous counselling: of records)" in out.read_text()
    # The hub's rules file does not load: exit 1, the file named once.
    bad = hub.tmp / "bad.rules"
    bad.write_text("not a setting\n")
    p = hub.hubctl("report", "--year", "2026", "--out", "x.html",
                   "--rules", str(bad), check=False)
    assert p.returncode == 1
    assert p.stderr.startswith(f"hubctl: report: {bad}:1: ") and \
        p.stderr.count(str(bad)) == 1, p.stderr
    # A report that fails is recorded (OPERATIONS.md, "hubctl"), with
    # its period; the usage errors above are not.
    p = hub.hubctl("audit", "show", "--json")
    reports = [json.loads(l) for l in p.stdout.splitlines()
               if json.loads(l)["action"] == "report"]
    assert [(r["result"], r["detail"].split(":")[0]) for r in reports] == \
        [("ok", "annual status 2027-01-01 to 2027-12-31"),
         ("failed", "annual status 2026-01-01 to 2026-12-31")]
    # Nothing was written, and the record says so as every failed
    # report's does.
    assert reports[1]["detail"].endswith("; nothing written"), reports
    period = "hubctl: report needs --year YYYY, or --from DATE --to " \
        "DATE (YYYY-MM-DD, from not after to)\n"
    for a, b in (("2026-02-30", "2026-03-01"), ("2027-02-29", "2027-03-01"),
                 ("2026-1-5", "2026-03-01"), ("2026-03-02", "2026-03-01")):
        p = hub.hubctl("report", "--from", a, "--to", b, "--out", "x.html",
                       check=False)
        assert (p.returncode, p.stderr) == (2, period), (a, b)
    p = hub.hubctl("report", "--year", "2026", check=False)
    assert (p.returncode, p.stderr) == \
        (2, "hubctl: report needs --out FILE.html\n")
    # A leap day is a day, and one day is a period.
    report(hub, hub.tmp, "--from", "2028-02-29", "--to", "2028-02-29")
    # Every year of the documented range is a period, also those after
    # the last year an event may be dated in (2199): an empty one.
    for year in ("1970", "2200", "9999"):
        out, tables = report(hub, hub.tmp, "--year", year)
        assert f"<title>Annual status {year}-01-01 to {year}-12-31" \
            "</title>" in out.read_text()
        months = 12 if year == "1970" else 0
        assert len(tables["neet"]) == 1 + months, tables["neet"]
    report(hub, hub.tmp, "--from", "2199-12-31", "--to", "2400-02-29")
    p = hub.hubctl("report", "--from", "2200-02-29", "--to", "2200-03-01",
                   "--out", "x.html", check=False)
    assert (p.returncode, p.stderr) == (2, period)
    for year in ("26", "0", "99999", "2026x"):
        p = hub.hubctl("report", "--year", year, "--out", "x.html",
                       check=False)
        assert p.returncode == 2
        assert p.stderr == "hubctl: report: --year must be a year of four " \
            f"digits, 1970-9999 (not '{year}')\n", p.stderr


def test_a_correction_about_another_person_replaces_nothing(make_hub,
                                                           tmp_path):
    """OPERATIONS.md, Corrections: a superseded event is not counted, "as
    in the rules and the timeline", which take a correction only about
    the same person (PROTOCOL.md, "Corrections"). Six dropouts, each
    then named in `supersedes` by the same college's Dropout of another
    person: twelve dropouts stand. Six others corrected about the same
    person are six."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8107)
    first, second = gen.take(6), gen.take(6)
    fixed = gen.take(6)
    drops = [ev_dropout(c, "2026-09-01", institution="eud-a")
             for c in first + fixed]
    hub.send(*drops)
    hub.wait_applied()
    fixes = []
    for c, d in zip(second + fixed, drops):
        fix = ev_dropout(c, "2026-09-02", institution="eud-a")
        fix.supersedes = d.event_id
        fixes.append(fix)
    hub.send(*fixes)
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    d = cells(tables["dropouts"])
    assert d[("eud-a (EUD)", "dropped out")] == "18", tables["dropouts"]


def test_an_anonymous_record_corrects_nothing(make_hub, tmp_path):
    """PROTOCOL.md, "Corrections": an event without a cpr (an ANONYMOUS
    referral) corrects nothing, so an anonymous record naming another in
    its supersedes is one more record and the one it names still counts
    (the report's corrections are of one person's events)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    first = [event("addiction-a", "", "addiction_referral",
                   sensitivity="ANONYMOUS", service="rmc-a",
                   date="2026-09-01", stage="REFERRED") for _ in range(5)]
    hub.send(*first)
    later = []
    for e in first:
        c = event("addiction-a", "", "addiction_referral",
                  sensitivity="ANONYMOUS", service="rmc-a",
                  date="2026-09-02", stage="TREATMENT_STARTED")
        c.supersedes = e.event_id
        later.append(c)
    hub.send(*later)
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    a = cells(tables["anonymous"])
    assert a[("referred", "records")] == "5"
    assert a[("treatment started", "records")] == "5"
    assert a[("Total", "records")] == "10"


def test_referrals_of_known_persons_count_only_as_alerts(make_hub,
                                                          tmp_path):
    """OPERATIONS.md, the anonymous table: referrals of known persons are
    not counted there; the alerts raised from them, shared with consent,
    are the alerts table's `addiction` row."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    known = CprGen(8109).take(5)
    for c in known:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_referral(c, "2026-09-07",
                           consent={"given": True, "scope": "referral",
                                    "expires": "2027-06-30"})
               for c in known])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert cells(tables["anonymous"])[("Total", "records")] == "0"
    assert cells(tables["alerts"])[("addiction", "raised")] == "5"
    # The audit record counts what was read (OPERATIONS.md): the log's
    # events, the five assignments hubctl logged too, and the alerts.
    details = [r["detail"] for r in map(json.loads, hub.hubctl(
        "audit", "show", "--json").stdout.splitlines())
        if r["action"] == "report"]
    assert details == ["annual status 2026-01-01 to 2026-12-31: 10 events "
                       "read, 5 alerts, 9 tables"], details


def test_an_enrolments_end_reason_is_kept_not_counted(make_hub, tmp_path):
    """PROTOCOL.md, Enrolment.end_reason: the reason is kept with the
    event (hubctl export shows it); the report counts starts, not ends
    or their reasons."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    people = CprGen(8110).take(5)
    hub.send(*[ev_enrolment(c, "2026-01-12", institution="eud-a",
                            programme="eud-smed") for c in people])
    hub.send(*[ev_enrolment(c, "2026-01-12", institution="eud-a",
                            programme="eud-smed", end="2026-06-26",
                            end_reason="COMPLETED") for c in people])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert cells(tables["enrolments"])[("EUD", "started")] == "5"
    # The key figure as OPERATIONS.md ("Headings and charts") writes it.
    assert "<li>Share of enrolments heading for vocational education " \
        "(EUD): 100.0 % (5 of 5)</li>" in out.read_text()
    labels = [t[0] + [r[0] for r in t[1:]] for t in tables.values()]
    assert not [x for t in labels for x in t if "omplet" in x], labels
    exported = hub.client_dir / "export.json"
    hub.hubctl("export", "--cpr", people[0], "--out", str(exported))
    ends = [e["envelope"]["enrolment"] for e in
            json.loads(exported.read_text())["events"]
            if e["envelope"]["enrolment"].get("end")]
    assert [e["end_reason"] for e in ends] == ["COMPLETED"], ends


def test_the_vocational_share_is_rounded_half_up(make_hub, tmp_path):
    """OPERATIONS.md, "Headings and charts": the share is EUD / Total with
    one decimal, rounded half up as every rate the hub shows (RULES.md):
    5 of 16, 31.25 %, reads 31.3 %, not 31.2 %."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    people = CprGen(8117).take(16)
    hub.send(*[ev_enrolment(c, "2026-08-10", institution="eud-y",
                            programme="eud-tomrer") for c in people[:5]],
             *[ev_enrolment(c, "2026-08-10", institution="fgu-z",
                            programme="fgu-egu") for c in people[5:]])
    hub.wait_applied()
    out, _ = report(hub, tmp_path, "--year", "2026")
    assert "<li>Share of enrolments heading for vocational education " \
        "(EUD): 31.3 % (5 of 16)</li>" in out.read_text()


def test_what_followed_an_alert(make_hub, tmp_path):
    """OPERATIONS.md, the alerts table: acknowledged (no longer open), in
    time (acknowledged, never escalated), escalated (an escalation
    notice), an Enrolment start received from the alert's day to 90
    days after and logged after the event that raised it, and a
    back_on_track notice raised so. Six groups of five adults drop out
    on 09-07: A acknowledged the next day; B never; C acknowledged after
    its escalation; D enrolled, received on day 90; E on day 91; F had
    reported an enrolment before the dropout."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    gen = CprGen(8121)
    groups = {k: [gen.born("1995-01-%02d" % (i + 1)) for i in range(5)]
              for k in "ABCDEF"}
    owner = {"A": "cw-anna", "C": "cw-lead"}
    for k, cprs in groups.items():
        for c in cprs:
            hub.assign(c, owner.get(k, "cw-bob"))
    hub.send(*[ev_enrolment(c, "2026-10-01") for c in groups["F"]])
    hub.send(*[ev_dropout(c, "2026-09-04") for k in "ABCDEF"
               for c in groups[k]])
    hub.wait_applied()
    hub.advance("2026-09-08T08:00:00")
    assert len(hub.inbox("cw-anna", max_alerts=5)[1]) == 5
    hub.advance("2026-09-11T09:00:00")     # escalated after 09-10
    assert len(hub.inbox("cw-lead", max_alerts=5)[1]) == 5
    hub.advance("2026-12-06T09:00:00")     # 09-07 + 90 days
    hub.send(*[ev_enrolment(c, "2027-01-04") for c in groups["D"]])
    hub.advance("2026-12-07T09:00:00")
    hub.send(*[ev_enrolment(c, "2027-01-04") for c in groups["E"]])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    a = {r[0]: r[1:] for r in tables["alerts"][1:]}
    assert a["dropout"] == ["30", "10", "5", "25", "5", "5"], \
        tables["alerts"]
    assert a["back_on_track"] == ["10", "0", "0", "0", "0", "0"], \
        tables["alerts"]


def test_the_year_ends_at_midnight_utc(make_hub, tmp_path):
    """OPERATIONS.md: an alert counts in the UTC day of its raised_at, a
    clock in the UTC day the hub received the Dropout; 23:30 UTC on 31
    December (00:30 on 1 January in Denmark) is still the old year."""
    hub = rules_hub(make_hub, "2026-12-31T23:30:00")
    youth = [CprGen(8118).born("2010-03-%02d" % (i + 1)) for i in range(5)]
    for c in youth:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-12-30") for c in youth])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert cells(tables["alerts"])[("dropout", "raised")] == "5"
    assert cells(tables["clocks"])[("contact within 5 working days",
                                    "Total")] == "5"
    _, tables = report(hub, tmp_path, "--year", "2027")
    assert tables["alerts"][1:] == [["Total", "0", "0", "0", "0", "0", "0"]]
    assert cells(tables["clocks"])[("contact within 5 working days",
                                    "Total")] == "0"


def ev_benefit(cpr, start, stop=""):
    return event("jobcenter-a", cpr, "benefit_status", jobcenter="jc-a",
                 benefit="EDUCATION_BENEFIT", start=start, stop=stop)


def test_without_attachment_month_by_month(make_hub, tmp_path):
    # Five whose benefit started 2026-02-01 and stopped 2026-03-31 (the
    # Jobcenter's start event, then the same period's stop event): in
    # February and March, not after. Five on benefit all year who turn
    # 25 on 2026-07-15: counted up to June. Five who left school in
    # January and turn 15 on 2026-03-31, the month's last day: from
    # March on.
    hub = rules_hub(make_hub, "2026-01-05T08:00:00")
    gen = CprGen(8104)
    stopped = [gen.born("2005-06-%02d" % (i + 1)) for i in range(5)]
    aged_out = [gen.born("2001-07-15") for _ in range(5)]
    leavers = [gen.born("2011-03-31") for _ in range(5)]
    hub.send(*[ev_benefit(c, "2026-02-01") for c in stopped],
             *[ev_benefit(c, "2026-01-01") for c in aged_out],
             *[ev_leaving(c, "2026-01-10") for c in leavers])
    hub.send(*[ev_benefit(c, "2026-02-01", "2026-03-31") for c in stopped])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    want = {"2026-01": 5, "2026-02": 10, "2026-03": 15, "2026-04": 10,
            "2026-05": 10, "2026-06": 10}
    want.update({"2026-%02d" % m: 5 for m in range(7, 13)})
    today = datetime.datetime.utcnow().date().isoformat()[:7]
    got = {r[0]: r[1] for r in tables["neet"][1:]}
    assert got == {m: str(n) for m, n in want.items() if m <= today}
    # The page's key figure: the last month shown.
    if got:
        last = max(got)
        assert f"<li>Without attachment to education in {last}: " \
            f"{got[last]} (baseline 360, goal 160)</li>" in out.read_text()


def record_contact(hub, cprs, date=None):
    """A contact recorded on one open dropout alert of each person."""
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=2)
    assert rc == 0, err
    ids = {a["cpr"]: a["alert_id"] for a in alerts
           if a["rule"] == "dropout" and a["cpr"] in cprs}
    assert len(ids) == len(cprs)
    for alert_id in ids.values():
        rc, out, err = hub.record("cw-anna", "contact", alert_id, "phone",
                                  date=date)
        assert rc == 0, err


def test_legal_clocks_as_the_rules_keep_them(make_hub, tmp_path):
    # 16-year-olds, each group's answer as RULES.md section 6 gives it:
    # twice: drop out in February and September, contacted in time both
    #   times: two clocks each (10 met), the first offer closed by the
    #   enrolment in March;
    # fixed: the dropout corrected after the contact: met, no new clock;
    # early: a contact dated before the dropout answers no duty: missed;
    # late: the start of the education they left, reported after the
    #   dropout, closes nothing: missed;
    # back: enrolled in an education starting after the dropout, reported
    #   first: no episode, no clock;
    # later: a school leaving dated after the dropout, applied before the
    #   contact recorded between the two: the dropout's day counts, met.
    hub = rules_hub(make_hub, "2026-03-02T08:00:00")
    gen = CprGen(8105)
    born = lambda n: [gen.born("2010-03-%02d" % (i + 1)) for i in range(n)]
    twice, fixed, early, late, back, later = born(5), born(6), born(5), \
        born(7), born(8), born(4)
    for c in twice + fixed + early + late + back + later:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-02-27") for c in twice])
    hub.wait_applied()
    record_contact(hub, twice)
    hub.send(*[ev_enrolment(c, "2026-03-10", institution="fgu-z",
                            programme="fgu-egu") for c in twice])
    hub.wait_applied()
    hub.set_clock("2026-09-07T08:00:00")
    hub.send(*[ev_enrolment(c, "2026-09-21", institution="fgu-z",
                            programme="fgu-egu") for c in back])
    drops = {c: ev_dropout(c, "2026-09-04")
             for c in twice + fixed + early + late + back + later}
    hub.send(*drops.values())
    hub.send(*[ev_leaving(c, "2026-09-09", grade=10) for c in later])
    hub.wait_applied()
    hub.set_clock("2026-09-08T10:00:00")
    record_contact(hub, twice + fixed + later)
    record_contact(hub, early, date="2026-09-01")
    hub.send(*[ev_enrolment(c, "2025-08-11", institution="college-x",
                            programme="eud-smed") for c in late])
    hub.set_clock("2026-09-10T10:00:00")
    fixes = []
    for c in fixed:
        fix = ev_dropout(c, "2026-09-03")
        fix.supersedes = drops[c].event_id
        fixes.append(fix)
    hub.send(*fixes)
    hub.wait_applied()
    hub.advance("2026-09-16T10:00:00")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    missed = [a for a in alerts if a["rule"] == "deadline.contact.missed"]
    assert len(missed) == 12

    out, tables = report(hub, tmp_path, "--year", "2026")
    c = cells(tables["clocks"])
    contact = "contact within 5 working days"
    assert [c[(contact, k)] for k in ("met", "missed", "closed by enrolment",
                                      "pending", "Total")] == \
        ["20", "12", "0", "0", "32"]
    # The offers of September's contacts (09-08) are due 10-08.
    late_offer = "missed" if datetime.datetime.utcnow().date() > \
        datetime.date(2026, 10, 8) else "pending"
    offer = "offer within 30 days"
    assert c[(offer, "closed by enrolment")] == "5"
    assert c[(offer, late_offer)] == "15"
    assert c[(offer, "Total")] == "20"
    # The misses are the hub's own missed-deadline alerts.
    a = cells(tables["alerts"])
    assert a[("deadline.contact.missed", "raised")] == "12"


def test_a_second_dropout_keeps_the_first_clock_answerable(make_hub,
                                                           tmp_path):
    """OPERATIONS.md, the legal clocks: a person who dropped out twice has
    two of each, and a contact recorded while an episode is open counts
    for it; only an enrolment closes an episode. Ten 16-year-olds leave
    an EUD college (received Monday 09-07, contact due 09-14) and a
    gymnasium (received 09-08, due 09-15) with no enrolment between. Five
    are contacted on 09-09: in time for both clocks. Five on 09-15: late
    for the first, in time for the second."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    youth = [CprGen(8120).born("2010-04-%02d" % (i + 1)) for i in range(10)]
    for c in youth:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-09-03", institution="eud-a")
               for c in youth])
    hub.wait_applied()
    hub.set_clock("2026-09-08T08:00:00")
    hub.send(*[ev_dropout(c, "2026-09-04", institution="gym-b",
                          programme="stx") for c in youth])
    hub.wait_applied()
    alert = {a["cpr"]: a["alert_id"] for a in hub.peek("cw-anna", 20)
             if a["rule"] == "dropout"}
    hub.set_clock("2026-09-15T10:00:00")
    for i, c in enumerate(youth):
        rc, _, err = hub.record("cw-anna", "contact", alert[c], "phone",
                                date="2026-09-09" if i < 5 else
                                "2026-09-15")
        assert rc == 0, err
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert contact_clock(tables) == ["15", "5", "0", "0", "20"]
    c = cells(tables["clocks"])
    # Every one of the 20 episodes has a recorded contact, so an offer
    # clock; none has an offer.
    assert c[("offer within 30 days", "Total")] == "20"


def test_the_clocks_rows_name_the_deadlines_in_force(make_hub, tmp_path):
    """OPERATIONS.md: the clocks are the rules file's (`deadline.*`); the
    rows and the title say which: 3 working days, 1 day, ages 16-18."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules={
        "deadline.contact_working_days": "3", "deadline.offer_days": "1",
        "deadline.min_age": "16", "deadline.max_age": "18"})
    youth = [CprGen(8111).born("2008-03-%02d" % (i + 1)) for i in range(5)]
    hub.send(*[ev_dropout(c, "2026-09-04") for c in youth])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    rows = [r[0] for r in tables["clocks"][1:]]
    assert rows == ["contact within 3 working days", "offer within 1 day"]
    assert cells(tables["clocks"])[(rows[0], "Total")] == "5"
    assert "<h2>The legal clocks for 16-18-year-olds who dropped out</h2>" \
        in out.read_text()
    # One working day is singular, as the doc writes it.
    hub.write_rules({"deadline.contact_working_days": "1",
                     "deadline.warn_working_days": "0"})
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert [r[0] for r in tables["clocks"][1:]] == \
        ["contact within 1 working day", "offer within 30 days"]


def test_not_ready_pupils_not_given_back_by_the_alerts(make_hub,
                                                       tmp_path):
    """OPERATIONS.md, suppression: every not-ready assessment in grade 8
    or 9 raises one `readiness` alert, so the alerts table's raised of
    `readiness` is the readiness table's Total of not ready. 3 pupils
    ready and 20 not: the 3 is hidden, the 20 with it (23 - 20 would
    give it back), and the alerts' 20 must not show it either."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    pupils = CprGen(8121).take(23)
    hub.send(*[ev_readiness(c, "2026-09-01", 8, ready=i < 3)
               for i, c in enumerate(pupils)])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    r = cells(tables["readiness"])
    assert (r[("Total", "ready")], r[("Total", "not ready")],
            r[("Total", "Total")]) == ("<5", "x", "23")
    a = cells(tables["alerts"])
    assert a[("readiness", "raised")] == "x"
    for t in tables.values():
        assert_no_recompute(t)


def signalled_once_it_writes(cmd, env, d, sig):
    """Run cmd (env) and send it sig the moment it holds a file open in
    directory d (/proc/PID/fd): (the finished process, whether it was
    caught so)."""
    import time
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    fds = f"/proc/{p.pid}/fd"
    deadline = time.monotonic() + 20
    caught = False
    while p.poll() is None and time.monotonic() < deadline:
        try:
            held = [os.readlink(f"{fds}/{n}") for n in os.listdir(fds)]
        except OSError:
            continue
        if any(t.startswith(str(d)) for t in held):
            p.send_signal(sig)
            caught = True
            break
    p.wait(timeout=30)
    return p, caught


def three_readiness_and_twenty(make_hub, tmp_path, seed, ev):
    """A hub whose year 2026 holds 3 readiness alerts beside 20 events
    ev(cpr, "2026-09-04", institution="eud-a") of adults at eud-a: the
    annual status's tables."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(seed)
    hub.send(*[ev_readiness(c, "2026-09-01", 8) for c in gen.take(3)])
    adults = [gen.born("2007-01-%02d" % (i + 1)) for i in range(20)]
    hub.send(*[ev(c, "2026-09-04", institution="eud-a") for c in adults])
    hub.wait_applied()
    return report(hub, tmp_path, "--year", "2026")[1]


def test_dropouts_not_given_back_by_the_alerts(make_hub, tmp_path):
    """OPERATIONS.md, suppression: every Dropout raises one `dropout`
    alert and every DropoutRisk one `dropout_risk` alert, so the
    dropouts table's Total of dropped out (of dropout risk) and the
    alerts table's raised of `dropout` (`dropout_risk`) count the same.
    3 readiness alerts beside 20 dropout alerts: the 3 is hidden and the
    20 with it (23 - 20); the dropouts table's Total of 20 must not give
    the 20 back, and so the 3."""
    tables = three_readiness_and_twenty(make_hub, tmp_path, 8122,
                                        ev_dropout)
    a = cells(tables["alerts"])
    assert (a[("readiness", "raised")], a[("dropout", "raised")]) == \
        ("<5", "x")
    d = cells(tables["dropouts"])
    assert d[("Total", "dropped out")] == "x"
    for t in tables.values():
        assert_no_recompute(t)


def test_missed_clocks_not_given_back_by_the_alerts(make_hub, tmp_path):
    # 29 dropouts of 16-year-olds: 20 contacted in time, 2 enrolled
    # before the deadline, 7 missed. The 2 are hidden and the 7 with
    # them, as the row's smallest figure; the alerts table's 7
    # deadline.contact.missed alerts are the same misses, and shown they
    # would give back the 2 as 29 - 20 - 7. (Five readiness alerts make
    # the alerts' raised column hide its own second figure elsewhere.)
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(8106)
    youth = [gen.born("2010-04-%02d" % (i + 1)) for i in range(29)]
    pupils = gen.take(5)
    for c in youth + pupils:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-09-04") for c in youth],
             *[ev_readiness(c, "2026-09-01", 9) for c in pupils])
    hub.wait_applied()
    hub.set_clock("2026-09-08T10:00:00")
    record_contact(hub, youth[:20])
    hub.send(*[ev_enrolment(c, "2026-09-10", institution="fgu-z",
                            programme="fgu-egu") for c in youth[20:22]])
    hub.wait_applied()
    hub.advance("2026-09-16T10:00:00")
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert contact_clock(tables) == ["20", "x", "<5", "0", "29"]
    a = cells(tables["alerts"])
    assert a[("deadline.contact.missed", "raised")] == "x"
    for t in tables.values():
        assert_no_recompute(t)


# ---------------------------------------------------------------- generated


def quarter(day):
    d = datetime.date.fromisoformat(day)
    return f"{d.year} Q{(d.month - 1) // 3 + 1}"


def programme_type(prog, inst):
    for p, t in (("stx", "gymnasium"), ("hhx", "gymnasium"),
                 ("htx", "gymnasium"), ("hf", "gymnasium"),
                 ("ib", "gymnasium"), ("gym", "gymnasium"), ("eud", "EUD"),
                 ("eux", "EUD"), ("fgu", "FGU")):
        if prog.startswith(p):
            return t
    for p, t in (("fgu-", "FGU"), ("eud-", "EUD"), ("gym-", "gymnasium")):
        if inst.startswith(p):
            return t
    return "other"


def rows_of(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f, delimiter=";"))


def expected_from_files(cohort_dir, cohort):
    """The report's figures computed here from the generator's files."""
    ready, bands, chronic, drop, types, anon = ({} for _ in range(6))

    def add(table, row, col, who):
        table.setdefault((row, col), set()).add(who)

    files = [f["file"] for ag in cohort["agencies"] for f in ag["files"]]
    absence = {}
    for name in sorted(os.listdir(cohort_dir)):
        path = os.path.join(cohort_dir, name)
        if name.startswith("absence-") and name.endswith(".csv"):
            for r in rows_of(path):
                key = (r["cpr"], r["school"], quarter(r["period_end"]))
                a = absence.setdefault(key, [0, 0, 0])
                a[0] += int(r["lessons_absent"]) if r["kind"] == \
                    "unlawful" else 0
                a[1] += int(r["lessons_absent"])
                a[2] += int(r["lessons_expected"])   # one row a week
        if name not in files:
            continue
        if name.startswith("readiness-"):
            for r in rows_of(path):
                g = r["grade"][:1]
                row = f"{r['school']} {r['date'][:4]} grade {g}"
                add(ready, row, "ready" if r["ready"] == "yes"
                    else "not ready", r["cpr"])
        elif name.startswith("college-"):
            for r in rows_of(path):
                col = {"start": "started", "risk": "dropout risk",
                       "dropped_out": "dropped out"}.get(r["status"])
                if col and r["date"].startswith("2026"):
                    t = programme_type(r["programme"], r["institution"])
                    add(drop, f"{r['institution']} ({t})", col, r["cpr"])
                    if col == "started":
                        add(types, t, "started", r["cpr"])
        elif name.startswith("addiction-"):
            for i, r in enumerate(rows_of(path)):
                if r["anonymous"] == "yes" and r["date"].startswith("2026"):
                    stage = {"referred": "referred",
                             "started": "treatment started",
                             "ended": "treatment ended"}[r["stage"]]
                    add(anon, stage, "records", i)
    for (cpr, school, q), (unl, anyk, exp) in absence.items():
        if not q.startswith("2026") or not exp:
            continue
        row = f"{school} {q}"
        band = "under 10 %" if unl * 100 < exp * 10 else "10-15 %" \
            if unl * 100 < exp * 15 else "15 % and over"
        add(bands, row, band, cpr)
        add(chronic, row, "chronic (10 % or more)" if anyk * 100 >=
            exp * 10 else "under 10 %", cpr)
    count = lambda t: {k: len(v) for k, v in t.items()}
    return {"readiness": count(ready), "absence": count(bands),
            "chronic": count(chronic), "dropouts": count(drop),
            "enrolments": count(types), "anonymous": count(anon)}


def check_against(name, table, want):
    """Every shown cell equals the count computed here, every "<5" is
    1-4, and every figure computed here is in the table."""
    got = cells(table)
    for (row, col), n in want.items():
        assert (row, col) in got, f"{name}: no cell {row} / {col}"
    checked = 0
    for (row, col), text in got.items():
        if row == "Total" or col == "Total":
            continue
        n = want.get((row, col), 0)
        if text == "<5":
            assert 1 <= n <= 4, f"{name} {row} / {col}: <5 but {n}"
        elif text != "x":
            assert int(text) == n, f"{name} {row} / {col}: {text} != {n}"
            checked += 1
    assert checked > 0, f"{name}: no figure shown"


def test_generated_cohort_figures(make_hub, tmp_path):
    cohort_dir = tmp_path / "cohort"
    subprocess.run([sys.executable, os.path.join(REPO, "deploy",
                                                 "gen_cohort.py"),
                    "--seed", "81", "--pupils", "60", "--grades", "8,9",
                    "--weeks", "4", "--schools", "2", "--quiet",
                    "--out", str(cohort_dir)], check=True, timeout=60)
    cohort = json.loads((cohort_dir / "cohort.json").read_text())
    agencies = {ag["id"]: ag["types"] for ag in cohort["agencies"]}
    hub = make_hub(agencies=agencies,
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "cw-desk": True})
    hub.cprs |= {p["cpr"] for p in cohort["pupils"]} | \
        {p["cpr"] for p in cohort["people"]}
    for ag in cohort["agencies"]:
        paths = [str(cohort_dir / f["file"]) for f in ag["files"]]
        conf = hub.school_conf(ag["id"])
        p = subprocess.run([binary("adapter-" + ag["adapter"]), "--config",
                            str(conf), "--json", "import", *paths],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr[-2000:]
    hub.wait_applied(timeout=60)

    out, tables = report(hub, tmp_path, "--year", "2026")
    want = expected_from_files(str(cohort_dir), cohort)
    for name, figures in want.items():
        check_against(name, tables[name], figures)
        assert_no_recompute(tables[name])
    assert_starts_do_not_recompute(tables)
    # The generator's own counts: the strategy's share not ready.
    for g, r in cohort["readiness"].items():
        rows = [k for k in want["readiness"] if k[0].endswith(f"grade {g}")]
        assert sum(want["readiness"][k] for k in rows
                   if k[1] == "not ready") == r["not_ready"]
    total = cells(tables["readiness"])[("Total", "Total")]
    assert total == str(sum(r["assessed"]
                            for r in cohort["readiness"].values()))
    anon = cells(tables["anonymous"])[("Total", "records")]
    assert anon == str(cohort["addiction"]["anonymous_rows"])
    files = [out] + [out.parent / f"status-{n}.csv" for n in tables]
    assert_clean(files, hub.cprs)
    # The key figure: EUD starts / all starts, from the same files.
    starts = want["enrolments"]
    eud = starts.get(("EUD", "started"), 0)
    total = sum(starts.values())
    tenths = (2000 * eud + total) // (2 * total)   # half up
    share = "%d.%d %% (%d of %d)" % (tenths // 10, tenths % 10, eud, total)
    assert "heading for vocational education (EUD): " + share in \
        out.read_text()


def test_each_section_has_its_heading_and_chart(make_hub, tmp_path):
    """OPERATIONS.md, "Headings and charts": the sections in the order of
    "The tables, exactly", each under its heading, and a chart of the
    named column under each table that has a row; a table without one
    (the monthly one of a period after today too) has no chart."""
    hub = make_hub()
    heads = [
        ("readiness", "Education-readiness, grades 8 and 9, per school "
         "and year", "not ready"),
        ("absence", "Unlawful absence per pupil, school and quarter",
         "15 % and over"),
        ("chronic", "Chronic absence (any reason) per school and quarter",
         "chronic (10 % or more)"),
        ("dropouts", "Enrolments, dropout risks and dropouts per "
         "institution and programme type", "dropped out"),
        ("enrolments", "Enrolments per programme type (the share heading "
         "for vocational education)", "started"),
        ("neet", "Young people known to the hub without attachment to "
         "education, per month", None),
        ("clocks", "The legal clocks for 15-17-year-olds who dropped out",
         "missed"),
        ("alerts", "Alerts per rule, and what followed", "raised"),
        ("anonymous", "Anonymous addiction counselling (counts only)",
         "records")]
    for year, with_rows in (("1970", {"enrolments", "neet", "clocks",
                                      "anonymous"}),
                            ("2200", {"enrolments", "clocks",
                                      "anonymous"})):
        out, _ = report(hub, tmp_path, "--year", year)
        html = out.read_text()
        sections = re.findall(r'<section id="(\w+)"><h2>([^<]*)</h2>'
                              r'(.*?)</section>', html, re.S)
        assert [(n, h.replace("&amp;", "&")) for n, h, _ in sections] == \
            [(n, h) for n, h, _ in heads], sections
        for (name, head, col), (_, _, body) in zip(heads, sections):
            charts = re.findall(r'aria-label="([^"]*)"', body)
            if name not in with_rows:
                assert charts == [], (year, name, charts)
            elif col:
                assert charts == [f"Chart: {head}; bars: {col}, one per "
                                  "row; the figures are in the table "
                                  "above"], (year, charts)
            else:
                assert charts == [f"Chart: {head}, against the baseline "
                                  "360 and the goal 160; the figures are "
                                  "in the table above"], (year, charts)


def test_a_period_without_data_writes_every_table_empty(make_hub, tmp_path):
    """OPERATIONS.md: a table with nothing to count is still written, its
    header, its named rows with 0 and its Total row of 0s where it has
    one; a month up to today is a row of neet, 0 included."""
    hub = make_hub()
    _, tables = report(hub, tmp_path, "--year", "2200")
    assert tables == {
        "readiness": [["", "ready", "not ready", "Total"],
                      ["Total", "0", "0", "0"]],
        "absence": [["", "under 10 %", "10-15 %", "15 % and over",
                     "Total"]],
        "chronic": [["", "chronic (10 % or more)", "under 10 %", "Total"]],
        "dropouts": [["", "started", "dropout risk", "dropped out"],
                     ["Total", "0", "0", "0"]],
        "enrolments": [["", "started"], ["gymnasium", "0"], ["EUD", "0"],
                       ["FGU", "0"], ["other", "0"], ["Total", "0"]],
        "neet": [["", "without attachment"]],
        "clocks": [["", "met", "missed", "closed by enrolment", "pending",
                    "Total"],
                   ["contact within 5 working days", "0", "0", "0", "0",
                    "0"],
                   ["offer within 30 days", "0", "0", "0", "0", "0"]],
        "alerts": [["", "raised", "acknowledged", "acknowledged in time",
                    "escalated", "enrolment within 90 days",
                    "back on track within 90 days"],
                   ["Total", "0", "0", "0", "0", "0", "0"]],
        "anonymous": [["", "records"], ["referred", "0"],
                      ["treatment started", "0"], ["treatment ended", "0"],
                      ["other", "0"], ["Total", "0"]]}
    _, tables = report(hub, tmp_path, "--year", "1970")
    assert tables["neet"][1:] == [[f"1970-{m:02d}", "0"]
                                  for m in range(1, 13)]


def test_no_clocks_when_the_rules_switch_them_off(make_hub, tmp_path):
    """OPERATIONS.md, the legal clocks: with deadline.enabled = no or
    dropout.enabled = no in the rules file there are no clocks."""
    for switch in ("deadline.enabled", "dropout.enabled"):
        hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                        rules={switch: "no"})
        youth = [CprGen(8112).born("2010-05-%02d" % (i + 1))
                 for i in range(5)]
        hub.send(*[ev_dropout(c, "2026-09-04") for c in youth])
        hub.wait_applied()
        _, tables = report(hub, tmp_path, "--year", "2026")
        c = cells(tables["clocks"])
        assert c[("contact within 5 working days", "Total")] == "0", switch
        assert c[("offer within 30 days", "Total")] == "0", switch
        assert cells(tables["dropouts"])[("Total", "dropped out")] == "5"
        hub.close()


def test_a_contact_recorded_after_the_miss_dated_in_time_is_met(
        make_hub, tmp_path):
    """OPERATIONS.md, the legal clocks: the table judges a contact by its
    date, the rules by when it was recorded (RULES.md section 6). Ten
    16-year-olds' dropouts received Monday 09-07, contact due 09-14; the
    hub alerts ten misses at 09-15 00:00. The next morning five contacts
    are recorded dated 09-14 (made in time, recorded late) and five dated
    09-15: the table counts five met and five missed, beside the ten
    deadline.contact.missed alerts the hub raised."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"transition_gap.enabled": "no"})
    youth = [CprGen(8130).born("2010-04-%02d" % (i + 1)) for i in range(10)]
    for c in youth:
        hub.assign(c, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-09-07") for c in youth])
    hub.wait_applied()
    hub.advance("2026-09-15T10:00:00")
    record_contact(hub, youth[:5], date="2026-09-14")
    record_contact(hub, youth[5:], date="2026-09-15")
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert contact_clock(tables) == ["5", "5", "0", "0", "10"]
    a = cells(tables["alerts"])
    assert a[("deadline.contact.missed", "raised")] == "10"
    # The page says so to its readers, who have no OPERATIONS.md: met by
    # the date, whenever recorded (not "recorded within 5 working days",
    # which these five were not).
    page = " ".join(out.read_text().split())
    assert "Contact: met when the first contact (or offer) recorded with " \
        "the inbox is dated within 5 working days after the day the hub " \
        "received the dropout, whenever it was recorded. Offer: met when " \
        "the first offer is dated within 30 days after the contact's " \
        "date (the summer holiday not counted)." in page
    assert "Missed: dated later, or none by the deadline." in page


SLOW_FCHMOD = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int fchmod(int fd, mode_t mode)
{
	static int (*real)(int, mode_t);
	static int seen;
	if (!real)
		real = (int (*)(int, mode_t))dlsym(RTLD_NEXT, "fchmod");
	const char *dir = getenv("SLOW_FCHMOD_DIR");
	const char *nth = getenv("SLOW_FCHMOD_NTH");
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t len = readlink(link, target, sizeof target - 1);
	if (dir && nth && len > 0) {
		target[len] = 0;
		if (strncmp(target, dir, strlen(dir)) == 0 &&
		    ++seen == atoi(nth))
			usleep(300000);
	}
	return real(fd, mode);
}
"""


def test_a_report_killed_while_it_writes_leaves_no_file_of_its_own(
        make_hub, tmp_path):
    """OPERATIONS.md: a report that fails leaves no file of its own and
    the last report's files as they were. hubctl killed (kill -9, a power
    loss) or interrupted (Ctrl-C) while it writes the files takes nothing
    back itself: none of its files may be left in the directory all the
    same. Caught inside the write: the moment it holds a file open in
    the directory (/proc/PID/fd), it is killed."""
    import signal
    import time
    from test_80_ops import preload_env, preload_shim
    # The window is microseconds; on a busy machine the poll below
    # missed it in all twelve runs. Each run's Nth file is held open
    # 0.3 s (in its fchmod, before its first byte) so it is seen.
    shim = preload_shim(tmp_path, "slowfchmod", SLOW_FCHMOD)
    hub = make_hub()
    d = tmp_path / "status"
    d.mkdir()
    (d / "status.html").write_text("last year's page")
    caught = 0
    for i, sig in enumerate([signal.SIGKILL, signal.SIGINT] * 6):
        env = preload_env(shim, SLOW_FCHMOD_DIR=str(d),
                          SLOW_FCHMOD_NTH=str(i // 2 % 3 + 1))
        p, hit = signalled_once_it_writes(
            [binary("hubctl"), "--config", str(hub.conf), "report",
             "--year", "2026", "--out", str(d / "status.html")], env, d,
            sig)
        caught += hit
        left = sorted(os.listdir(d))
        if p.returncode == 0:
            for n in left:
                if n != "status.html":
                    os.unlink(d / n)
            (d / "status.html").write_text("last year's page")
            continue
        assert left == ["status.html"], left
        assert (d / "status.html").read_text() == "last year's page"
    assert caught >= 6, f"only {caught} of 12 reports caught while they wrote"


def test_a_report_writes_nothing_to_the_store_but_its_audit_record(
        make_hub, tmp_path):
    """ARCHITECTURE.md ("The rules engine"): `hubctl report` reads the log
    and the alerts' states and writes nothing to the store but one audit
    record: every file of log/, ids/ and derived/ is as long as before
    but for the record, and every count but audit_records stays."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    [cpr] = CprGen(8190).take(1)
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    before = hub.stats()
    report(hub, tmp_path, "--year", "2026")
    after = hub.stats()
    assert after["audit_records"] == before["audit_records"] + 1
    same = {k: v for k, v in before.items()
            if k != "audit_records" and not k.endswith(("_bytes", "_map"))}
    assert {k: after[k] for k in same} == same
    p = hub.hubctl("audit", "show", "--json")
    actions = [json.loads(line)["action"] for line in p.stdout.splitlines()]
    assert actions[-1] == "report", actions
