"""20 inputs: hostile files through the adapter runtime (adapter-school).

Each test feeds a file as agencies' systems really write them and asserts
exactly which rows became events and which were rejected (line, column,
reason), and that the hub's store holds exactly the accepted ones (event
ids computed here independently). Whole-file problems (empty, UTF-16,
binary, missing or unknown columns) exit 3 and queue nothing at all.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import json
import re

import pytest

from hubtest import (EXIT_FATAL, EXIT_OK, EXIT_ROWS_REJECTED, ROOT,
                     AbsenceRow, CprGen, csv_line, dashed, wait_for)
from runtimetest import assert_store, event_id, rejects_csv, stored

HEADER_DK = ["CPR", "Skole", "Fra", "Til", "Fravær", "Lektioner",
             "Fraværstype", "Klasse"]


def write(hub, name, data):
    path = hub.inputs_dir / name
    path.write_bytes(data)
    return path


def quoted_line(fields, sep=";"):
    """Like hubtest.csv_line, but quotes line breaks too."""
    out = []
    for f in map(str, fields):
        if sep in f or '"' in f or "\n" in f or "\r" in f:
            f = '"' + f.replace('"', '""') + '"'
        out.append(f)
    return sep.join(out)


def text_file(hub, name, header, lines, sep=";", eol="\n"):
    """A CSV as text: header list, then lines (lists or raw strings)."""
    out = [quoted_line(header, sep)]
    for line in lines:
        out.append(line if isinstance(line, str) else quoted_line(line, sep))
    return eol.join(out) + eol


def remember(hub, rows):
    for r in rows:
        hub.cprs.add(r.cpr.replace("-", "").replace(" ", ""))


def danish_fields(row, kind="ulovligt"):
    return [dashed(row.cpr), row.school, row.period_start, row.period_end,
            row.absent, row.expected, kind, row.grade]


# ------------------------------------------------------------ encodings


@pytest.mark.parametrize("encoding,setting", [
    ("cp1252", None), ("latin-1", None), ("latin-1", "latin1"),
    ("cp1252", "cp1252"), ("cp850", None), ("cp850", "cp850")])
def test_windows_1252_and_latin1_with_danish_letters(hub, encoding, setting):
    """The header's æ and the values' æ ø å arrive as UTF-8: detected, or
    as asked. A school named with Danish letters changes the event id, so
    a wrong conversion could not pass the store comparison. Code page 850
    (Excel's "CSV (MS-DOS)") puts æ ø å at bytes Windows-1252 gives to
    quotes and a dagger: taken for Windows-1252 the header's "Fravær"
    would be no column at all."""
    cprs = CprGen(2001).take(4)
    schools = ["Ærtebjerg Skole", "Søholt Skole", "Åbjerg Skole",
               "Vestskolen"]
    rows = [AbsenceRow(c, school=s, absent=3 + i)
            for i, (c, s) in enumerate(zip(cprs, schools))]
    remember(hub, rows)
    text = text_file(hub, "x", HEADER_DK,
                     [danish_fields(r) for r in rows], eol="\r\n")
    path = write(hub, f"{encoding}.csv", text.encode(encoding))
    settings = {"encoding": setting} if setting else {}
    r = hub.adapter("import", path, log_level="info", **settings)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["accepted"]) == (4, 4, 4)
    # Latin-1 letters are cp1252's too.
    used = setting or ("cp850" if encoding == "cp850" else "cp1252")
    detected = "" if setting else r" \(detected\)"
    assert re.search(rf"ADP-FILE .*: CSV, {used}{detected}, kind absence",
                     r.stderr), r.stderr
    # The per-file line before the summary says so too.
    [f] = [json.loads(line) for line in r.stdout.splitlines()
           if line.startswith('{"file"')]
    assert (f["encoding"], f["encoding_detected"], f["rows"]) == \
        (used, not setting, 4)
    assert_store(hub, rows)


def test_rejects_file_imports_again_under_encoding_cp1252(hub):
    """A site that sets encoding = cp1252 for its exports gets rejects
    files in UTF-8 with a byte order mark; corrected, they import again
    under the same setting: the mark says UTF-8, so the header's æ and
    the school's ø read right (the event ids would differ otherwise)."""
    cprs = CprGen(2015).take(2)
    rows = [AbsenceRow(cprs[0], school="Søholt Skole"),
            AbsenceRow(cprs[1], school="Ærtebjerg Skole", absent=3)]
    remember(hub, rows)
    bad = danish_fields(rows[1])
    bad[4] = "300"
    text = text_file(hub, "x", HEADER_DK,
                     [danish_fields(rows[0]), bad], eol="\r\n")
    path = write(hub, "cp.csv", text.encode("cp1252"))
    r = hub.adapter("import", path, encoding="cp1252")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    rejects = path.parent / "cp.csv.rejects.csv"
    assert rejects.read_bytes().startswith(b"\xef\xbb\xbf")
    fixed = write(hub, "cp-fixed.csv", rejects.read_bytes().replace(
        b";300;", b";3;"))
    r = hub.adapter("import", fixed, encoding="cp1252",
                    ignore_columns="line,column,reason")
    assert r.rc == EXIT_OK, str(r)
    [f] = [json.loads(line) for line in r.stdout.splitlines()
           if line.startswith('{"file"')]
    assert (f["encoding"], f["encoding_detected"]) == ("utf-8", True)
    assert_store(hub, rows)


def test_utf8_bom_crlf_quoted_newlines_and_separators(hub):
    """A BOM, CRLF line ends, quoted values holding the separator, quotes
    and line breaks (in a column the operator told us to leave out)."""
    cprs = CprGen(2002).take(3)
    rows = [AbsenceRow(c, school=s) for c, s in
            zip(cprs, ["Skole; øst", 'Skolen "Nord"', "Vest"])]
    remember(hub, rows)
    header = HEADER_DK + ["Bemærkning"]
    lines = [danish_fields(rows[0]) + ["første linje\r\nanden linje"],
             danish_fields(rows[1]) + ['han sagde "nej"; gik'],
             danish_fields(rows[2]) + [""]]
    text = text_file(hub, "x", header, lines, eol="\r\n")
    assert text.count('"') >= 6
    path = write(hub, "bom.csv", b"\xef\xbb\xbf" + text.encode())
    r = hub.adapter("import", path, ignore_columns="bemærkning")
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["queued"]) == (3, 3)
    assert_store(hub, rows)


def test_dos_end_of_file_mark_is_no_row(hub):
    """A DOS program's export ends with the end-of-file mark, Ctrl-Z
    (byte 1A), after the last line break: a line of only that mark is
    skipped like an empty line, in CSV and JSON Lines alike, not a bad
    row."""
    rows = [AbsenceRow(c, school="Søholt") for c in CprGen(2032).take(3)]
    remember(hub, rows)
    text = text_file(hub, "x", HEADER_DK, [danish_fields(r)
                                           for r in rows[:2]], eol="\r\n")
    dos = write(hub, "dos.csv", text.encode("cp850") + b"\x1a")
    obj = dict(zip(hubtest_header(), rows[2].fields()))
    jl = write(hub, "dos.jsonl", (json.dumps(obj) + "\r\n\x1a").encode())
    r = hub.adapter("import", dos, jl)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (3, 3, 0), str(r)
    assert_store(hub, rows)


def test_pasted_windows_1252_row_rejected_into_a_utf8_rejects_file(hub):
    """A UTF-8 file with one row pasted from a Windows-1252 export keeps
    its good rows and rejects that one; the rejects file (CSV and JSON
    Lines) stays UTF-8 text, the row's letters as the clerk typed them,
    so it opens and parses, and imports again once looked over."""
    cprs = CprGen(2012).take(3)
    rows = [AbsenceRow(cprs[0], school="Ærtebjerg Skole"),
            AbsenceRow(cprs[1], school="Søholt Skole"),
            AbsenceRow(cprs[2], school="Vestskolen")]
    remember(hub, rows)
    lines = [quoted_line(f) + "\n" for f in
             [HEADER_DK] + [danish_fields(row) for row in rows]]
    data = (lines[0] + lines[1]).encode() + lines[2].encode("cp1252") + \
        lines[3].encode()
    path = write(hub, "pasted.csv", data)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (3, 2, 1), str(r)
    rejects = path.parent / "pasted.csv.rejects.csv"
    text = rejects.read_bytes().decode("utf-8")      # strict
    assert "Søholt Skole" in text
    assert [(n, c) for n, c, _ in rejects_csv(rejects)] == [(3, "Skole")]
    fixed = write(hub, "pasted-fixed.csv", rejects.read_bytes())
    r = hub.adapter("import", fixed, ignore_columns="line,column,reason")
    assert r.rc == EXIT_OK, str(r)
    assert_store(hub, rows)

    jl = [json.dumps(dict(zip(HEADER_DK, danish_fields(row))),
                     ensure_ascii=False) for row in rows]
    jpath = write(hub, "pasted.jsonl", (jl[0] + "\n").encode() +
                  (jl[1] + "\n").encode("cp1252"))
    r = hub.adapter("import", jpath)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert r.summary["rejected_rows"] == 1, str(r)
    raw = (jpath.parent / "pasted.jsonl.rejects.jsonl").read_bytes()
    [rec] = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    assert (rec["line"], rec["column"]) == (2, "Skole")
    assert "Søholt Skole" in rec["record"]


def test_padded_values_read_as_unpadded(hub):
    """Blanks around values are dropped, inside quotes and in JSON
    strings too: a database export that quotes and pads every value
    (" 8b ") sends the events the plain file would."""
    cprs = CprGen(2014).take(4)
    rows = [AbsenceRow(c) for c in cprs]
    remember(hub, rows)
    padded = ";".join(f'" {v}  "' for v in rows[0].fields()) + "\r\n" + \
        ";".join(f'"{v}\t"' for v in rows[1].fields()) + "\r\n"
    path = write(hub, "padded-values.csv",
                 (csv_line(hubtest_header()) + "\r\n" + padded).encode())
    jl = "".join(json.dumps(dict(zip(hubtest_header(),
                                     [f" {v} " for v in r.fields()]))) +
                 "\n" for r in rows[2:])
    jpath = write(hub, "padded-values.jsonl", jl.encode())
    r = hub.adapter("import", path, jpath)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["queued"]) == (4, 4), str(r)
    assert_store(hub, rows)


def test_a_non_breaking_space_in_a_header_reads_as_a_space(hub):
    """A header pasted in a spreadsheet may hold U+00A0 between its
    words: "CPR NR" and "Fraværs type" so written name their columns
    (cpr_nr, an alias of cpr) as with a space, in a UTF-8 file and in a
    Windows-1252 one (byte A0), and so does an ignore_columns entry. Around
    a name it is dropped, as blanks are ("Skole\u00a0" is school): such a
    file was refused, "missing required column(s)" naming a column its
    header shows."""
    cprs = CprGen(2015).take(4)
    rows = [AbsenceRow(c) for c in cprs]
    remember(hub, rows)
    header = ["CPR\u00a0NR", "Skole", "Fra", "Til", "Fravær", "Lektioner",
              "Type", "Klasse", "Elevens\u00a0navn"]
    padded = ["CPR\u00a0NR\u00a0", "\u00a0Skole", "Fra", "Til",
              "\u00a0Fravær\u00a0\u00a0", "Lektioner", "Type", "Klasse",
              "Elevens\u00a0navn\u00a0"]
    paths = []
    for row, enc, head in zip(rows, ("utf-8", "cp1252") * 2,
                              (header, header, padded, padded)):
        text = csv_line(head) + "\n" + \
            csv_line(danish_fields(row) + ["x"]) + "\n"
        paths.append(write(hub, f"nbsp-{len(paths)}-{enc}.csv",
                           text.encode(enc)))
    r = hub.adapter("import", *paths, ignore_columns="elevens navn")
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["queued"]) == (4, 4), str(r)
    assert_store(hub, rows)


def test_a_listed_word_with_a_non_breaking_space_around_it_is_the_word(
        hub):
    """ADAPTERS.md: values from a fixed list match as column names do, so
    a cell pasted from a spreadsheet with U+00A0 before or after its word
    ("ulovligt" + U+00A0) reads as that word; it was a bad row, "kind must
    be illness, permitted, unlawful or all". Whatever else stands there
    is still one."""
    rows = [AbsenceRow(c) for c in CprGen(2016).take(3)]
    remember(hub, rows)
    kinds = ["ulovligt\u00a0", "\u00a0Alle\u00a0", "ulovligt\u00a0x"]
    path = write(hub, "nbsp-words.csv", text_file(hub, "", HEADER_DK, [
        danish_fields(r, kind=k) for r, k in zip(rows, kinds)]).encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["queued"], r.summary["rejected_rows"]) == (2, 1), \
        str(r)
    assert f"{path}:4: column Fraværstype: kind must be illness, " \
        "permitted, unlawful or all" in r.stderr, r.stderr
    assert_store(hub, [rows[0], dataclasses_replace(rows[1], kind="all")])


# ------------------------------------------------------------ bad rows


def test_mixed_separators_and_field_counts(hub):
    """A ';' file with one row written with ',' and one with an unquoted
    ';' inside a value: both rejected, saying how many fields they have,
    not blaming whichever column shifted."""
    cprs = CprGen(2003).take(4)
    good = [AbsenceRow(c) for c in cprs[:3]]
    remember(hub, good + [AbsenceRow(cprs[3])])
    comma = csv_line(AbsenceRow(cprs[3]).fields(), sep=",")
    inner = ";".join(AbsenceRow(cprs[3], school="Nord;Syd").fields())
    short = ";".join(AbsenceRow(cprs[3]).fields()[:7])
    lines = [good[0].fields(), comma, good[1].fields(), inner, short,
             good[2].fields()]
    path = write(hub, "mixed.csv", text_file(
        hub, "x", hubtest_header(), lines).encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["events"], r.summary["queued"],
            r.summary["rejected_rows"]) == (6, 3, 3, 3)
    rej = rejects_csv(path.parent / "mixed.csv.rejects.csv")
    assert [(n, c) for n, c, _ in rej] == [(3, ""), (5, ""), (6, "")]
    # The reasons ADAPTERS.md quotes, whole: which way the row is off.
    assert [r for _, _, r in rej] == [
        "the row has 1 fields, the header has 8 (a separator is missing, "
        "or the row is cut short)",
        "the row has 9 fields, the header has 8 (is a separator inside an "
        "unquoted value?)",
        "the row has 7 fields, the header has 8 (a separator is missing, "
        "or the row is cut short)"]
    assert_store(hub, good)


def test_header_ending_in_a_separator(hub):
    """Some systems end every line, or only the header, with a separator:
    a trailing empty field is no field, so a row with one more or one
    fewer of them still has as many fields as the header."""
    cprs = CprGen(2011).take(5)
    rows = [AbsenceRow(c) for c in cprs]
    remember(hub, rows)
    # A value past the header's last name is no cell of that empty
    # header field: the row has one field too many (shifted), as it
    # would have past a header without the trailing separator.
    lines = [csv_line(rows[0].fields()),
             csv_line(rows[1].fields()) + ";",
             csv_line(rows[2].fields()) + ";;",
             csv_line(rows[3].fields()[:7]),
             csv_line(rows[4].fields()) + ";x"]
    path = write(hub, "trailing.csv", (csv_line(hubtest_header()) + ";\r\n" +
                                       "\r\n".join(lines)).encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (5, 3, 2), str(r)
    rej = rejects_csv(path.parent / "trailing.csv.rejects.csv")
    assert [(n, c) for n, c, _ in rej] == [(5, ""), (6, "")]
    assert "the row has 7 fields, the header has 8" in rej[0][2]
    assert "the row has 9 fields, the header has 8" in rej[1][2]
    assert_store(hub, rows[:3])


def test_rows_padded_with_separators_past_the_column_limit(hub):
    """A spreadsheet pads rows (and the header) with separators out to
    the widest row it ever held: empty fields past the 256-column limit
    are no fields; a value out there still makes the row too wide."""
    cprs = CprGen(2013).take(3)
    rows = [AbsenceRow(c) for c in cprs]
    remember(hub, rows)
    pad = ";" * 300
    text = (csv_line(hubtest_header()) + pad + "\n" +
            csv_line(rows[0].fields()) + pad + "\n" +
            pad + "\n" +
            csv_line(rows[1].fields()) + "\n" +
            csv_line(rows[2].fields()) + pad + "x\n")
    path = write(hub, "padded.csv", text.encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (3, 2, 1), str(r)
    rej = rejects_csv(path.parent / "padded.csv.rejects.csv")
    assert [(n, c, why) for n, c, why in rej] == \
        [(5, "", "the row has more than 256 fields")]
    assert_store(hub, rows[:2])


@pytest.mark.parametrize("extra", [
    # 240 columns of 300-byte names, each column within every limit.
    [f"x{i:03d}" + "y" * 300 for i in range(240)],
    # One name longer than the row limit itself.
    ["N" * 70000]])
def test_header_row_over_64_kib_is_named_as_such(hub, extra):
    """ADAPTERS.md "Limits and figures": a row is at most 64 KiB; a
    header row over it refuses the file as a whole, saying so, not with
    an empty reason or the size of the part that fitted."""
    [cpr] = CprGen(2041).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    text = (";".join(hubtest_header() + extra) + "\n" +
            csv_line(row.fields()) + ";" * len(extra) + "\n")
    path = write(hub, "wide.csv", text.encode())
    r = hub.adapter("import", path, ignore_columns="*")
    assert r.rc == EXIT_FATAL, str(r)
    assert f"{path}:1: header row: the row is longer than 65536 bytes" \
        in r.stderr, r.stderr
    [f] = [json.loads(line) for line in r.stdout.splitlines()
           if line.startswith('{"file"')]
    assert (f["status"], f["error"]) == \
        ("failed", "header row: the row is longer than 65536 bytes"), f
    assert stored(hub) == {}


def test_a_quote_left_open_loses_no_row_past_64_kib(hub):
    """ADAPTERS.md: every row ends as an event or as a line in the
    rejects file. A stray opening quote makes the lines after it one
    quoted value; once that runs past the 64 KiB row limit, the row is
    cut there, so the line with the quote is rejected as such and the
    lines after it are read as the rows they are, not lost past the
    cut."""
    gen = CprGen(2044)
    stray = AbsenceRow(gen.next())
    rows = [AbsenceRow(gen.next()) for _ in range(1500)]
    remember(hub, [stray] + rows)
    fields = stray.fields()
    fields[1] = '"' + fields[1]
    text = (csv_line(hubtest_header()) + "\n" + ";".join(fields) + "\n" +
            "".join(csv_line(r.fields()) + "\n" for r in rows))
    assert len(text) > 70000
    path = write(hub, "stray.csv", text.encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (1501, 1500, 1), str(r)
    rej = rejects_csv(path.parent / "stray.csv.rejects.csv")
    assert len(rej) == 1 and rej[0][:2] == (2, ""), rej
    assert "quote" in rej[0][2] and "not closed" in rej[0][2], rej
    assert_store(hub, rows)


def test_a_line_over_64_kib_with_its_quote_open_loses_no_row(hub):
    """The same when the line with the open quote is itself over 64
    KiB: it is the bad row ("the row is longer than 65536 bytes"), cut
    at its end, and the rows after it are read."""
    gen = CprGen(2050)
    stray = AbsenceRow(gen.next())
    rows = [AbsenceRow(gen.next()) for _ in range(3)]
    remember(hub, [stray] + rows)
    fields = stray.fields()
    fields[1] = '"' + "x" * 70000
    text = (csv_line(hubtest_header()) + "\n" + ";".join(fields) + "\n" +
            "".join(csv_line(r.fields()) + "\n" for r in rows))
    path = write(hub, "stray-long.csv", text.encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (4, 3, 1), str(r)
    assert f"{path}:2: the row is longer than 65536 bytes" in r.stderr
    assert_store(hub, rows)


def hubtest_header():
    from hubtest import DEFAULT_HEADER
    return DEFAULT_HEADER


def test_bad_dates_and_cprs_danish_forms_accepted(hub):
    gen = CprGen(2004)
    ok = [AbsenceRow(gen.next(), period_start="06.05.2024",
                     period_end="10.05.2024"),
          AbsenceRow(gen.next(), period_start="06-05-2024",
                     period_end="2024-05-10"),
          AbsenceRow(gen.next()),
          # A blank for the dash: read as the same person's CPR.
          AbsenceRow(dashed(gen.next()).replace("-", " "))]
    c = gen.take(6)
    bad = [
        (AbsenceRow(c[0], period_end="2024-02-30"), "period_end",
         "period_end is not a date"),
        (AbsenceRow(c[1], period_start="31.04.2024"), "period_start",
         "period_start is not a date"),
        (AbsenceRow(c[2], period_start="2024/05/06"), "period_start",
         "period_start is not a date"),
        (AbsenceRow("320309" + c[3][6:]), "cpr", "not a CPR number"),
        # Nine digits: a spreadsheet ate the leading zero.
        (AbsenceRow(c[4][1:]), "cpr",
         "cpr has 9 digits: a spreadsheet may have dropped its leading "
         "zero (format the column as text)"),
        (AbsenceRow(c[5], absent=101), "lessons_absent",
         "lessons_absent 101 is more than lessons_expected 100"),
    ]
    remember(hub, ok + [b for b, _, _ in bad])
    rows = [ok[0], bad[0][0], bad[1][0], ok[1], bad[2][0], bad[3][0],
            bad[4][0], ok[2], bad[5][0], ok[3]]
    path, lines = hub.csv("dates.csv", rows, dash_every=0)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (10, 4, 6)
    rej = rejects_csv(path.parent / "dates.csv.rejects.csv")
    bad_lines = [lines[i] for i in (1, 2, 4, 5, 6, 8)]
    assert [(n, col) for n, col, _ in rej] == \
        list(zip(bad_lines, [col for _, col, _ in bad]))
    for (_, _, reason), (_, _, want) in zip(rej, bad):
        assert want in reason, (reason, want)
    # stderr names file, line and column; never a CPR.
    for n, col, _ in rej:
        assert f"dates.csv:{n}: column {col}:" in r.stderr
    assert_store(hub, ok)


def test_a_cpr_that_lost_its_leading_zero_is_never_quoted(hub):
    """A column mix-up can put a CPR in a count, and a spreadsheet drops
    its leading zero (0405094321 becomes the 9 digits 405094321): a
    reason quotes a count only while it is a small number, so those
    digits never reach stderr, the journal or a report."""
    gen = CprGen(2033)
    pupil = gen.born("2009-05-04")
    nine = pupil[1:]
    hub.cprs.add(pupil)
    rows = [AbsenceRow(gen.next(), expected=nine),
            AbsenceRow(gen.next(), absent=nine),
            AbsenceRow(gen.next(), expected=pupil),
            AbsenceRow(gen.next(), absent=pupil)]
    path, lines = hub.csv("nine.csv", rows)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    # The whole CPR, ten digits, gets the same reasons as its nine.
    for i in (0, 2):
        assert f"{path}:{lines[i]}: column lessons_expected: " \
            "lessons_expected is more than 65535\n" in r.stderr, r.stderr
    for i in (1, 3):
        assert f"{path}:{lines[i]}: column lessons_absent: lessons_absent " \
            "is more than lessons_expected 100\n" in r.stderr, r.stderr
    assert nine not in r.stderr + r.stdout


def test_absence_period_of_at_most_366_days(hub):
    """period_end at most 366 days after period_start: 366 (a school
    year over a leap day) goes through, 367 is a bad row whose reason
    gives the limit."""
    gen = CprGen(2005)
    ok = AbsenceRow(gen.next(), period_start="2024-03-04",
                    period_end="2025-03-05")
    long = AbsenceRow(gen.next(), period_start="2024-03-04",
                      period_end="2025-03-06")
    remember(hub, [ok, long])
    path, lines = hub.csv("year.csv", [ok, long])
    r = hub.adapter("import", path)
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 1, 1), str(r)
    assert f"year.csv:{lines[1]}: column period_end: the period from " \
        "2024-03-04 to 2025-03-06 is longer than a year (period_end at " \
        "most 366 days after period_start)" in r.stderr, r.stderr
    assert_store(hub, [ok])


def test_placeholder_date_named_by_the_files_column(hub):
    gen = CprGen(2012)
    good = AbsenceRow(gen.next())
    start = AbsenceRow(gen.next(), period_start="1900-01-01",
                       period_end="1900-01-01")
    end = AbsenceRow(gen.next(), period_end="01.01.1900")
    remember(hub, [good, start, end])
    header = ["CPR", "Skole", "Fra", "Til", "Frav\u00e6r", "Lektioner",
              "Type", "Klasse"]
    data = text_file(hub, "placeholder.csv", header,
                     [danish_fields(r) for r in (good, start, end)])
    path = write(hub, "placeholder.csv", data.encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    # The file's own column, and why: not the envelope's occurred_at.
    assert "placeholder.csv:3: column Fra: period_start 1900-01-01 is a " \
        "placeholder date, not a real one" in r.stderr, r.stderr
    assert "placeholder.csv:4: column Til: period_end 1900-01-01 is a " \
        "placeholder date, not a real one" in r.stderr, r.stderr
    assert "occurred_at" not in r.stderr
    assert_store(hub, [good])


def test_every_real_date_outside_the_range_is_out_of_range(hub):
    """ADAPTERS.md "What every kind shares": a date outside 1990-2099
    that is not a placeholder is "out of range (1990-01-01 to
    2099-12-31)", also before 1900 or after 2199 (the hub's own range),
    in any of the three forms; a day no calendar has is "not a date"."""
    gen = CprGen(2014)
    dates = ["1989-12-31", "31.12.1899", "0001-01-01", "01-01-2200",
             "2100-01-01", "9999-12-30", "29.02.1900", "29-02-2400",
             "0000-01-01", "2200-02-29", "29.02.2000"]
    rows = [AbsenceRow(gen.next(), period_start=d) for d in dates[:-1]]
    rows.append(AbsenceRow(gen.next(), period_start=dates[-1],
                           period_end="2000-03-03"))
    remember(hub, rows)
    path = write(hub, "range.csv", text_file(
        hub, "range.csv", hubtest_header(),
        [r.fields() for r in rows]).encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    iso = ["1989-12-31", "1899-12-31", "0001-01-01", "2200-01-01",
           "2100-01-01", "9999-12-30", None, "2400-02-29", None, None]
    for line, d in enumerate(iso, start=2):
        why = (f"period_start {d} is out of range (1990-01-01 to "
               "2099-12-31)" if d else "period_start is not a date "
               "(YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)")
        assert f"range.csv:{line}: column period_start: {why}\n" \
            in r.stderr, r.stderr
    assert_store(hub, rows[-1:])


def test_duplicate_rows_become_one_event(hub):
    cprs = CprGen(2005).take(3)
    rows = [AbsenceRow(c) for c in cprs]
    remember(hub, rows)
    # Row 1 again (CPR without the dash, kind in English), row 2 again.
    again = AbsenceRow(cprs[0], kind="Unlawful")
    path, lines = hub.csv("dups.csv", rows + [again, rows[1]], dash_every=2)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["events"], r.summary["queued"],
            r.summary["duplicates"], r.summary["corrections"]) == \
        (5, 5, 3, 2, 0)
    assert len(re.findall(r"ADP-REPEAT .*dups.csv:(\d+)", r.stderr)) == 2
    assert_store(hub, rows)


def test_jsonl_with_bad_lines(hub):
    """JSON Lines: keys are the CSV names and aliases, numbers and null
    allowed; a bad line is a rejected row with its line number."""
    gen = CprGen(2006)
    good = [AbsenceRow(gen.next(), absent=4, grade="9"),
            AbsenceRow(gen.next(), school="Åbjerg"),
            AbsenceRow(gen.next(), period_end="10.05.2024", grade="")]
    c = gen.take(4)
    remember(hub, good + [AbsenceRow(x) for x in c])

    def obj(row, **extra):
        d = {"cpr": dashed(row.cpr), "skole": row.school,
             "Fra": row.period_start, "period_end": row.period_end,
             "lessons_absent": row.absent, "lektioner": row.expected,
             "kind": row.kind, "grade": int(row.grade) if row.grade
             else None}
        d.update(extra)
        return json.dumps(d)

    lines = [
        obj(good[0]),                                            # 1
        "",                                                      # 2
        obj(good[1]),                                            # 3
        obj(AbsenceRow(c[0]), school={"id": 1}).replace(
            '"skole": "280017", ', ""),                          # 4 nested
        '{"cpr": "' + c[1] + '", "skole": "280017"',             # 5 cut
        obj(AbsenceRow(c[2])).replace('"cpr": "' + dashed(c[2]) + '", ',
                                      ""),                       # 6 no cpr
        obj(AbsenceRow(c[3]), lessons_absent="12x"),             # 7 bad n
        obj(good[2]) + "\r",                                     # 8 CRLF
    ]
    path = write(hub, "export.ndjson", ("\n".join(lines) + "\n").encode())
    r = hub.adapter("import", path, log_level="info")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert "JSON Lines" in r.stderr
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (7, 3, 4)
    rej = [json.loads(l) for l in (path.parent / "export.ndjson"
                                   ".rejects.jsonl").read_text().splitlines()]
    assert [(x["line"], x["column"]) for x in rej] == \
        [(4, "school"), (5, ""), (6, "cpr"), (7, "lessons_absent")]
    assert "object" in rej[0]["reason"]
    assert "not closed" in rej[1]["reason"]
    assert rej[2]["reason"] == "cpr is empty"
    assert rej[1]["record"] == lines[4]
    assert_store(hub, good)


def test_a_value_over_4_kib_is_a_bad_row_in_either_format(hub):
    """ADAPTERS.md "Limits and figures": a value is at most 4 KiB, in a
    CSV cell and a JSON Lines value alike, also in a column the adapter
    leaves unread (ignore_columns): 4096 bytes go through, 4097 are a
    bad row naming the column."""
    rows = [AbsenceRow(c) for c in CprGen(2031).take(4)]
    remember(hub, rows)
    notes = ["n" * 4096, "n" * 4097]
    header = hubtest_header() + ["Note"]
    csv_path = write(hub, "long.csv", text_file(
        hub, "long.csv", header,
        [r.fields() + [n] for r, n in zip(rows, notes)]).encode())
    json_path = write(hub, "long.jsonl", "".join(
        json.dumps(dict(zip(header, r.fields() + [n]))) + "\n"
        for r, n in zip(rows[2:], notes)).encode())
    r = hub.adapter("import", csv_path, json_path, ignore_columns="Note")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    for path, line in ((csv_path, 3), (json_path, 2)):
        assert f"{path}:{line}: column Note: the value is 4097 bytes, " \
            "over the limit of 4096" in r.stderr, r.stderr
    assert (r.summary["queued"], r.summary["rejected_rows"]) == (2, 2)
    assert_store(hub, [rows[0], rows[2]])
    # A file of such lines only is still JSON Lines: bad rows, not a
    # whole-file problem.
    only = write(hub, "only-long.jsonl", json_path.read_bytes()
                 .splitlines(keepends=True)[1])
    r = hub.adapter("import", only, ignore_columns="Note")
    assert (r.rc, r.summary["rows"], r.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 1, 1), str(r)


def test_a_bad_value_under_a_long_or_cpr_like_name_names_its_position(hub):
    """ADAPTERS.md: a header cell with more than five digits or longer
    than 64 bytes is never quoted but named by its position. A bad row in
    such a column (ignore_columns leaves it unread, its value is still
    held to the limits) names it so too, on stderr, in the rejects file
    and in the watch report; it was cut at 63 bytes, inside its 'æ'."""
    rows = [AbsenceRow(c) for c in CprGen(2032).take(3)]
    remember(hub, rows)
    [cpr] = CprGen(2033).take(1)
    hub.cprs.add(cpr)
    long_name = "n" * 62 + "æ" + "x" * 6  # 70 bytes, æ at bytes 63-64
    header = hubtest_header() + [cpr, long_name]
    body = [rows[0].fields() + ["v" * 5000, "ok"],
            rows[1].fields() + ["ok", "w" * 5000],
            rows[2].fields() + ["ok", "ok"]]
    data = text_file(hub, "long-names.csv", header, body).encode()
    path = write(hub, "long-names.csv", data)
    r = hub.adapter("import", path, ignore_columns="*")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert f"{path}:2: column 9 (its name looks like a CPR number): the " \
        "value is 5000 bytes, over the limit of 4096" in r.stderr, r.stderr
    assert f"{path}:3: column 10 (a 70-byte name): the value is 5000 " \
        "bytes, over the limit of 4096" in r.stderr, r.stderr
    assert "n" * 20 not in r.stderr, r.stderr
    assert rejects_csv(path.with_name(path.name + ".rejects.csv")) == [
        (2, "9 (its name looks like a CPR number)",
         "the value is 5000 bytes, over the limit of 4096"),
        (3, "10 (a 70-byte name)",
         "the value is 5000 bytes, over the limit of 4096")]
    assert_store(hub, [rows[2]])
    # watch: the report's rejects name the columns the same way.
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    (drop / "long-names.csv").write_bytes(data)
    with hub.adapter_running("watch", drop, settle=0,
                             ignore_columns="*") as proc:
        report = drop / "done" / "long-names.csv.report.json"
        wait_for(report.exists, 20, "the watch report")
        proc.terminate()
        hub.adapter_finish(proc)
    got = json.loads(report.read_text(encoding="utf-8"))["rejects"]
    assert [(j["line"], j["column"]) for j in got] == [
        (2, "9 (its name looks like a CPR number)"),
        (3, "10 (a 70-byte name)")], got


def padded_to(fields, extra, length):
    """fields then `extra` unread columns, filled so the row is exactly
    `length` bytes (line end not counted), no value over 4 KiB."""
    base = csv_line(fields) + ";" * extra
    need = length - len(base)
    per = need // extra
    cells = ["n" * per] * (extra - 1) + ["n" * (need - per * (extra - 1))]
    line = csv_line(fields) + ";" + ";".join(cells)
    assert len(line) == length
    return line


@pytest.mark.parametrize("eol", ["\n", "\r\n"])
def test_a_row_of_64_kib_is_a_row_whatever_its_line_end(hub, eol):
    """ADAPTERS.md "Limits and figures": a row or JSON line is at most
    64 KiB. A line end is not part of the row, so a Windows export's CR
    before the LF leaves a row of exactly 65536 bytes a row, as on Unix;
    one byte more is a bad row either way."""
    rows = [AbsenceRow(c) for c in CprGen(2057).take(4)]
    remember(hub, rows)
    extra = 20
    header = hubtest_header() + [f"x{i}" for i in range(extra)]
    csv_path = write(hub, "wide-rows.csv", (eol.join(
        [csv_line(header), padded_to(rows[0].fields(), extra, 65536),
         padded_to(rows[1].fields(), extra, 65537)]) + eol).encode())
    lines = []
    for row, length in ((rows[2], 65536), (rows[3], 65537)):
        rec = dict(zip(hubtest_header(), row.fields()))
        pads = {f"p{i}": "p" * 4000 for i in range(16)}
        line = json.dumps(dict(rec, **pads, Pad="")).encode()
        line = json.dumps(dict(rec, **pads,
                               Pad="p" * (length - len(line)))).encode()
        assert len(line) == length, len(line)
        lines.append(line)
    json_path = write(hub, "wide-rows.jsonl",
                      b"".join(line + eol.encode() for line in lines))
    r = hub.adapter("import", csv_path, json_path, ignore_columns="*")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert f"{csv_path}:3: the row is longer than 65536 bytes" in r.stderr
    assert f"{json_path}:2: the line is longer than 65536 bytes" \
        in r.stderr, r.stderr
    assert (r.summary["queued"], r.summary["rejected_rows"]) == (2, 2), \
        r.stderr
    assert_store(hub, [rows[0], rows[2]])


def test_a_json_object_of_more_than_256_keys_is_a_bad_row(hub):
    """ADAPTERS.md "Limits and figures": a JSON Lines object has at most
    256 keys, as a CSV row at most 256 fields (keys ignore_columns leaves
    unread count too): 256 go through, 257 are a bad row that says so."""
    rows = [AbsenceRow(c) for c in CprGen(2058).take(3)]
    remember(hub, rows)
    lines = []
    for row, keys in zip(rows, (256, 257, 8)):
        rec = dict(zip(hubtest_header(), row.fields()))
        rec.update({f"k{i}": "v" for i in range(keys - len(rec))})
        assert len(rec) == keys
        lines.append(json.dumps(rec))
    path = write(hub, "keys.jsonl", ("\n".join(lines) + "\n").encode())
    r = hub.adapter("import", path, ignore_columns="*")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert f"{path}:2: the object has more than 256 keys\n" in r.stderr
    assert (r.summary["queued"], r.summary["rejected_rows"]) == (2, 1)
    assert_store(hub, [rows[0], rows[2]])


def test_json_objects_of_more_than_256_keys_between_them(hub):
    """ADAPTERS.md "Limits and figures": the objects of one JSON Lines
    file use at most 256 different keys between them, as a CSV header
    names at most 256 columns: a file whose objects each hold few keys
    but more than 256 between them is a whole-file problem, which the
    docs did not say (only the 256 keys of one object)."""
    rows = [AbsenceRow(c) for c in CprGen(2059).take(2)]
    lines = []
    for n, row in enumerate(rows):
        rec = dict(zip(hubtest_header(), row.fields()))
        rec.update({f"k{n}-{i}": "v" for i in range(150)})
        lines.append(json.dumps(rec))
    path = write(hub, "spread.jsonl", ("\n".join(lines) + "\n").encode())
    r = hub.adapter("import", path, ignore_columns="*")
    assert r.rc == EXIT_FATAL, str(r)
    assert f"{path}: the objects use more than 256 different keys\n" \
        in r.stderr, r.stderr
    assert r.summary["queued"] == 0
    doc = " ".join((ROOT / "docs" / "ADAPTERS.md").read_text()
                   .split())
    assert "use at most 256 different keys between them" in doc
    assert "(`the objects use more than 256 different keys`)" in doc


def test_a_jsonl_line_over_64_kib_is_kept_cut_at_64_kib(hub):
    """ADAPTERS.md "The rejects file": a JSON Lines line over 64 KiB is
    rejected ("the line is longer than 65536 bytes") and its `record`
    holds its first 65,536 bytes, as a CSV row over the limit is cut
    there; the lines after it are read as they are."""
    rows = [AbsenceRow(c) for c in CprGen(2059).take(2)]
    remember(hub, rows)
    rec = dict(zip(hubtest_header(), rows[0].fields()))
    rec.update({f"p{i}": "p" * 4000 for i in range(17)})
    long = json.dumps(rec)
    assert len(long) > 65536
    good = json.dumps(dict(zip(hubtest_header(), rows[1].fields())))
    path = write(hub, "long-line.jsonl", (long + "\n" + good + "\n").encode())
    r = hub.adapter("import", path, ignore_columns="*")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert f"{path}:1: the line is longer than 65536 bytes" in r.stderr
    [rej] = [json.loads(line) for line in
             (hub.inputs_dir / "long-line.jsonl.rejects.jsonl")
             .read_text().splitlines()]
    assert (rej["line"], rej["column"], rej["record"]) == \
        (1, "", long[:65536]), {k: rej[k] for k in ("line", "column")}
    assert_store(hub, rows[1:])



def test_a_line_cut_at_64_kib_keeps_whole_characters(hub):
    """ADAPTERS.md "The rejects file": a line over 64 KiB is kept cut at
    64 KiB, and the rejects file is UTF-8: a character the limit falls
    inside (an ø, two bytes) is left out whole, not kept as half a byte
    that would read as another character."""
    rows = [AbsenceRow(c) for c in CprGen(2061).take(3)]
    remember(hub, rows)
    rec = dict(zip(hubtest_header(), rows[0].fields()))
    head = json.dumps(dict(rec, Note=""))[:-2]
    long = head + "a" * (65535 - len(head)) + "ø" * 3000 + '"}'
    assert len(long.encode()[:65535].decode()) == 65535
    good = json.dumps(dict(zip(hubtest_header(), rows[1].fields())))
    jpath = write(hub, "cut-char.jsonl",
                  (long + "\r\n" + good + "\r\n").encode())
    fields = rows[2].fields()
    line = ",".join(fields) + ","
    row = line + "a" * (65535 - len(line)) + "ø" * 3000
    cpath = write(hub, "cut-char.csv", (
        ",".join(hubtest_header() + ["Note"]) + "\r\n" + row + "\r\n")
        .encode())
    r = hub.adapter("import", jpath, cpath, ignore_columns="*")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    [rej] = [json.loads(x) for x in
             (hub.inputs_dir / "cut-char.jsonl.rejects.jsonl")
             .read_bytes().decode("utf-8").splitlines()]
    assert rej["record"] == long[:65535], rej["record"][-4:]
    text = (hub.inputs_dir / "cut-char.csv.rejects.csv").read_bytes() \
        .decode("utf-8")
    assert text.rstrip("\r\n").endswith("a" * 40 + '"'), text[-10:]


@pytest.mark.parametrize("length", [129, 300, 5000])
def test_a_long_unknown_json_key_refuses_the_file(hub, length):
    """ADAPTERS.md "Unknown columns": a key that is none of the kind's
    columns refuses the whole file, named by its length when it is too
    long to quote (`a key (a 300-byte name)`), however long it is; it is
    never read past as if it were not there."""
    [cpr] = CprGen(2046).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    obj = dict(zip(hubtest_header(), row.fields()))
    obj["k" * length] = "lost data"
    path = write(hub, f"longkey{length}.jsonl",
                 (json.dumps(obj) + "\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert f"unknown column for absence: a key (a {length}-byte name)" \
        in r.stderr, r.stderr
    assert stored(hub) == {}
    r = hub.adapter("import", path, ignore_columns="*")
    assert (r.rc, r.summary["queued"]) == (EXIT_OK, 1), str(r)


def test_jsonl_missing_key_is_not_blamed_on_a_header_row(hub):
    """A JSON Lines file has no header row: a key no line has is named
    as such, without the CSV hint about the first line."""
    [cpr] = CprGen(2016).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    obj = dict(zip(hubtest_header(), row.fields()))
    del obj["lessons_expected"]
    path = write(hub, "nokey.jsonl", (json.dumps(obj) + "\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert "missing required column(s): lessons_expected" in r.stderr
    assert "no line of the file has a key of that name" in r.stderr
    assert "header row" not in r.stderr, r.stderr


def test_jsonl_detected_by_content_and_by_option(hub):
    [cpr] = CprGen(2007).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    line = json.dumps(dict(zip(hubtest_header(), row.fields())))
    path = write(hub, "export.txt", ("\n" + line + "\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)
    assert r.summary["queued"] == 1
    # Told it is CSV, the same file has no header row that fits.
    r = hub.adapter("import", path, format="csv")
    assert r.rc == EXIT_FATAL, str(r)
    assert cpr not in r.stderr and dashed(cpr) not in r.stderr
    # The words of format read in any case, as those of encoding and kind.
    r = hub.adapter("import", path, format="JSONL", encoding="UTF-8",
                    kind="Absence")
    assert (r.rc, r.summary["duplicates"]) == (EXIT_OK, 1), str(r)
    r = hub.adapter("import", path, format="CSV")
    assert r.rc == EXIT_FATAL and "format must be" not in r.stderr, str(r)
    assert_store(hub, [row])


# ------------------------------------------------------------ whole files


UTF16 = "cpr;school\n".encode("utf-16")


@pytest.mark.parametrize("name,data,reason", [
    ("empty.csv", b"", "the file is empty"),
    ("blank.csv", b"\xef\xbb\xbf\r\n  \r\n", "the file is empty"),
    ("utf16.csv", None, "wrong encoding: the file is UTF-16"),
    ("utf16-nobom.csv", None, "wrong encoding: the file is UTF-16"),
    ("book.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" * 8,
     "wrong encoding: the file is not text"),
    ("missing.csv", b"cpr;school;period_start;period_end;lessons_expected;"
     b"kind\n", "missing required column(s): lessons_absent"),
    ("unknown.csv", None, "unknown column for absence: Navn"),
    ("duplicate.csv", None, 'columns "cpr" and "CPRnr" (1 and 9) both '
     'mean cpr; keep one'),
    ("noheader.csv", None, "missing required column(s)"),
    ("mac.csv", None, "the lines end in a carriage return alone"),
    ("array.json", b'\xef\xbb\xbf [{"cpr": null, "skole": "280017"},\n'
     b'{"cpr": null, "skole": "280017"}]\n',
     "the file is one JSON array; the adapter reads JSON Lines"),
    ("sep.csv", b"sep=;\ncpr;school;period_start;period_end;"
     b"lessons_absent;lessons_expected;kind\n",
     "the first line is a spreadsheet's \"sep=\" line, not the header "
     "row: delete that line"),
    ("tabs.csv", b"cpr\tschool\tperiod_start\tperiod_end\tlessons_absent"
     b"\tlessons_expected\tkind\n", "the header row is separated by tabs; "
     "the separator must be ';' or ','"),
    ("empty.jsonl", b"[1]\n{broken\n", "no line of the file is a JSON"),
    # One broken object: the reason is the line's, not "not an object".
    ("broken.jsonl", b'\n{"cpr": "x", "cpr": "y"}\n',
     "no line of the file is a JSON object the adapter can read (line 2: "
     "a key appears twice in the object; is it JSON Lines?"),
    ("blank.jsonl", b"\n \n", "the file is empty; JSON Lines holds one "
     "JSON object per line"),
    # Two names for one column in JSON Lines: keys have no numbers.
    ("twokeys.jsonl", b'{"cpr": null, "school": "1", "period_start": "",'
     b' "period_end": "", "lessons_absent": 1, "lessons_expected": 2,'
     b' "type": "alle"}\n{"cpr": null, "kind": "alle"}\n',
     'keys "type" and "kind" both mean kind; keep one'),
])
def test_whole_file_problems_queue_nothing(hub, name, data, reason):
    cprs = CprGen(2010).take(3)
    rows = [AbsenceRow(c) for c in cprs]
    remember(hub, rows)
    body = "\n".join(csv_line(r.fields()) for r in rows) + "\n"
    if name == "utf16.csv":
        data = (csv_line(hubtest_header()) + "\n" + body).encode("utf-16")
    elif name == "utf16-nobom.csv":
        data = (csv_line(hubtest_header()) + "\n" + body) \
            .encode("utf-16-le")
    elif name == "unknown.csv":
        data = (csv_line(hubtest_header() + ["Navn"]) + "\n" +
                "\n".join(csv_line(r.fields() + ["A B"]) for r in rows) +
                "\n").encode()
    elif name == "duplicate.csv":
        data = (csv_line(hubtest_header() + ["CPRnr"]) + "\n" +
                "\n".join(csv_line(r.fields() + [r.cpr]) for r in rows) +
                "\n").encode()
    elif name == "noheader.csv":
        data = body.encode()
    elif name == "mac.csv":
        data = (csv_line(hubtest_header()) + "\r" +
                body.replace("\n", "\r")).encode()
    # A good file beside it: nothing of it is queued either.
    good, _ = hub.csv("good.csv", rows[:2])
    path = write(hub, name, data)
    r = hub.adapter("import", good, path)
    assert r.rc == EXIT_FATAL, str(r)
    assert reason in r.stderr, r.stderr
    if name == "duplicate.csv":
        # Every column of the kind is there: it fits, only twice.
        assert "fit no kind" not in r.stderr, r.stderr
    assert f"{name}" in r.stderr
    assert "nothing imported: 1 of 2 file(s)" in r.stderr
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["pending"]) == (0, 0, 0)
    # One line per file, the summary last: the refused file with its
    # reason, the good one not imported.
    lines = [json.loads(line) for line in r.stdout.splitlines()
             if line.startswith("{")]
    assert [(f.get("file"), f.get("status")) for f in lines[:-1]] == \
        [(str(good), "not_imported"), (str(path), "failed")], r.stdout
    assert reason in lines[1]["error"]
    assert "1 other file(s) of the run cannot be imported" in \
        lines[0]["error"]
    assert all(f["queued"] == 0 for f in lines)
    assert (lines[1]["format"], lines[1]["kind"]) == (None, None)
    assert not list(hub.inputs_dir.glob("*.rejects.*"))
    for c in cprs:
        assert c not in r.stderr and dashed(c) not in r.stderr
    assert hub.stats()["log_events"] == 0
    # The good file alone goes through.
    r = hub.adapter("import", good)
    assert r.rc == EXIT_OK, str(r)
    assert_store(hub, rows[:2])


def test_whole_file_problem_names_the_header_line(hub):
    """Blank lines before the header are skipped: a header problem is
    reported on the line the header is on."""
    path = write(hub, "late-header.csv",
                 b"\r\n\r\ncpr;school;period_start;period_end;kind\r\n")
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert f"{path}:3: " in r.stderr, r.stderr
    assert "missing required column(s): lessons_absent" in r.stderr


def test_a_long_ignore_columns_list_is_read_whole(hub):
    """ignore_columns lists columns the adapter may leave out, as many as
    the export has: a list of over 1 KiB (on the command line; a config
    file's line holds 510 bytes) still lets the columns it names pass,
    not none of them while the message says to list them there."""
    import subprocess
    import hubtest
    [cpr] = CprGen(2047).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    extra = [f"ekstra_kolonne_nummer_{i}" for i in range(60)] + ["Navn"]
    path = write(hub, "many-extra.csv", text_file(
        hub, "x", hubtest_header() + ["Navn"],
        [row.fields() + ["Anna"]]).encode())
    listed = ",".join(extra)
    assert len(listed) > 1100
    p = subprocess.run([hubtest.binary("adapter-school"), "--config",
                        str(hub.school_conf()), "--json", "--ignore_columns",
                        listed, "import", str(path)],
                       capture_output=True, text=True,
                       timeout=60 * hubtest.SLOW)
    assert p.returncode == EXIT_OK, p.stderr
    assert json.loads(p.stdout.splitlines()[-1])["queued"] == 1, p.stdout
    # In the config file the line is too long, and refused as such.
    conf = hub.school_conf(ignore_columns=listed)
    p = subprocess.run([hubtest.binary("adapter-school"), "--config",
                        str(conf), "import", str(path)],
                       capture_output=True, text=True,
                       timeout=60 * hubtest.SLOW)
    assert p.returncode == EXIT_FATAL, p.stderr
    assert "line longer than 510 bytes" in p.stderr, p.stderr


def test_header_only_is_fine_and_unknown_columns_can_be_allowed(hub):
    path = write(hub, "none.csv", (csv_line(hubtest_header()) +
                                   "\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)
    assert r.summary["rows"] == 0
    [cpr] = CprGen(2011).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    path = write(hub, "extra.csv", (
        csv_line(hubtest_header() + ["Navn", "Adresse"]) + "\n" +
        csv_line(row.fields() + ["Ane Hansen", "Vej 1"]) + "\n").encode())
    # Unknown columns refuse the file unless ignore_columns lists them.
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert "unknown columns for absence: Navn, Adresse" in r.stderr
    r = hub.adapter("import", path, ignore_columns="navn, adresse")
    assert r.rc == EXIT_OK, str(r)
    assert "ignoring column(s) Navn, Adresse" in r.stderr, r.stderr
    r2 = hub.adapter("import", path, ignore_columns="*")
    assert (r2.rc, r2.summary["duplicates"]) == (EXIT_OK, 1), str(r2)
    # A column without a name is no column: its cells are not read.
    h = hubtest_header()
    path = write(hub, "unnamed.csv", (
        csv_line(h[:2] + [""] + h[2:]) + "\n" +
        csv_line(row.fields()[:2] + ["note"] + row.fields()[2:]) +
        "\n").encode())
    r3 = hub.adapter("import", path)
    assert (r3.rc, r3.summary["duplicates"]) == (EXIT_OK, 1), str(r3)
    # Not read, so not checked either: a long note, or one pasted from
    # a Windows-1252 export into this UTF-8 file, costs no row.
    a, b = (AbsenceRow(c, school=s) for c, s in
            zip(CprGen(2034).take(2), ["Søholt", "Vest"]))
    remember(hub, [a, b])

    def line(r, note):
        f = r.fields()
        return (";".join(f[:2]) + ";").encode() + note + \
            (";" + ";".join(f[2:]) + "\n").encode()
    path = write(hub, "unnamed2.csv", (csv_line(h[:2] + [""] + h[2:]) +
                                       "\n").encode() +
                 line(a, b"n" * 5000) + line(b, b"sm\xf8r"))
    r4 = hub.adapter("import", path)
    assert (r4.rc, r4.summary["rows"], r4.summary["rejected_rows"]) == \
        (EXIT_OK, 2, 0), str(r4)
    assert_store(hub, [row, a, b])


def test_kind_option(hub):
    [cpr] = CprGen(2012).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    path, _ = hub.csv("k.csv", [row])
    r = hub.adapter("import", path, kind="nonsense")
    assert r.rc == EXIT_FATAL, str(r)
    assert "kind must be one of: absence" in r.stderr
    r = hub.adapter("import", path, kind="Absence")
    assert r.rc == EXIT_OK, str(r)
    assert_store(hub, [row])
    assert event_id(hub, row) in stored(hub)


def test_corrected_rejects_file_imports_again(hub):
    """The rejects file opens like the input; with its three first
    columns ignored it imports again: the fixed row is sent, the row
    still wrong is rejected again (docs/ADAPTERS.md)."""
    gen = CprGen(2013)
    good = AbsenceRow(gen.next())
    wrong_date = AbsenceRow(gen.next(), period_end="2024-05-32")
    wrong_cpr = AbsenceRow("311399" + gen.next()[6:])
    remember(hub, [good, wrong_date, wrong_cpr])
    path, lines = hub.csv("w21.csv", [good, wrong_date, wrong_cpr])
    r = hub.adapter("import", path)
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 1, 2), str(r)
    rejects = path.parent / "w21.csv.rejects.csv"
    text = rejects.read_text().replace("2024-05-32", "2024-05-10")
    fixed = hub.inputs_dir / "w21-fixed.csv"
    fixed.write_text(text)
    r = hub.adapter("import", fixed, ignore_columns="line,column,reason")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["rejected_rows"]) == (2, 1, 1)
    assert_store(hub, [good, dataclasses_replace(wrong_date,
                                                 period_end="2024-05-10")])


def test_ignore_columns_does_not_drop_a_column_of_the_kind(hub):
    """ignore_columns lists what may be there unread; a column of the
    kind it names (grade) is still read, and its bad value rejected."""
    gen = CprGen(2014)
    good, odd = AbsenceRow(gen.next()), AbsenceRow(gen.next(), grade="99")
    remember(hub, [good, odd])
    path, lines = hub.csv("ig.csv", [good, odd])
    r = hub.adapter("import", path, ignore_columns="grade,Navn")
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 1, 1), str(r)
    assert f"{path}:{lines[1]}: column grade: grade 99 is not from 0 to " \
        "10" in r.stderr, r.stderr
    assert_store(hub, [good])


def dataclasses_replace(row, **kw):
    import dataclasses
    return dataclasses.replace(row, **kw)


# ------------------------------------------------------------ rejects files


def test_names_with_c1_control_characters_are_rejected(hub):
    """A Windows-1252 export read with encoding = latin1 makes its dash
    (0x96) the control character U+0096; in a name (school) that is a
    bad row whose reason says what to set, as a \\u0085 in JSON Lines
    is. The same file read as cp1252 imports. Only a file read as latin1
    is told to set encoding = cp1252: a UTF-8 file so set would have its
    every æ ø å read as two characters, and pass."""
    gen = CprGen(2015)
    a, b = AbsenceRow(gen.next()), AbsenceRow(gen.next())
    remember(hub, [a, b])
    path = write(hub, "l1.csv", (text_file(hub, "", HEADER_DK, [
        danish_fields(dataclasses_replace(a, school="Vest–Nord"))]))
        .encode("cp1252"))
    r = hub.adapter("import", path, encoding="latin1")
    assert (r.rc, r.summary["rejected_rows"]) == (EXIT_ROWS_REJECTED, 1)
    assert f"{path}:2: column Skole: school contains a control character " \
        "(U+0080-U+009F: a Windows-1252 file read as latin1? set " \
        "encoding = cp1252)" in r.stderr, r.stderr
    j = write(hub, "c1.jsonl", (json.dumps(
        {"cpr": b.cpr, "school": "Syd\u0085Vest",
         "period_start": b.period_start, "period_end": b.period_end,
         "lessons_absent": 1, "lessons_expected": 30, "kind": "alle"})
        + "\n").encode())
    r = hub.adapter("import", j)
    assert (r.rc, r.summary["rejected_rows"]) == (EXIT_ROWS_REJECTED, 1)
    assert f"{j}:1: column school: school contains a control " \
        "character\n" in r.stderr, r.stderr
    assert "set encoding" not in r.stderr, r.stderr
    r = hub.adapter("import", path, encoding="cp1252")
    assert (r.rc, r.summary["queued"]) == (EXIT_OK, 1), str(r)
    assert hub.stats()["log_events"] == 1


def test_run_wide_rejects_file_has_one_header_and_a_file_column(hub):
    """rejects = PATH: one header (file;line;column;reason; and the
    inputs' header), the file each row came from, JSON Lines rows in
    PATH with .jsonl; re-imported with the four columns ignored, the
    corrected rows are sent."""
    gen = CprGen(2020)
    good = [AbsenceRow(gen.next()) for _ in range(2)]
    bad = [AbsenceRow(gen.next(), period_end="2024-05-32"),
           AbsenceRow(gen.next(), period_end="2024-05-32")]
    jbad = AbsenceRow(gen.next(), period_end="x")
    remember(hub, good + bad + [jbad])
    a, la = hub.csv("ra.csv", [good[0], bad[0]])
    b, lb = hub.csv("rb.csv", [bad[1], good[1]])
    j = write(hub, "rc.jsonl", (json.dumps(
        {"cpr": jbad.cpr, "school": jbad.school,
         "period_start": jbad.period_start, "period_end": "x",
         "lessons_absent": 1, "lessons_expected": 30,
         "kind": "sygdom"}) + "\n").encode())
    target = hub.inputs_dir / "all.rejects.csv"
    # An earlier import's own rejects file would read as this run's.
    stale = hub.inputs_dir / "ra.csv.rejects.csv"
    stale.write_text("line;column;reason;\n")
    r = hub.adapter("import", a, b, j, rejects=target)
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 2, 3), str(r)
    assert not stale.exists()
    assert (f"ADP-REJECTS {a}: its rejected rows went to {target}; "
            f"removed {stale} of an earlier import") in r.stderr, r.stderr
    lines = target.read_text().splitlines()
    assert lines[0] == "file;line;column;reason;cpr;school;period_start;" \
        "period_end;lessons_absent;lessons_expected;kind;grade"
    assert len(lines) == 3 and all(not ln.startswith("file;")
                                   for ln in lines[1:])
    assert lines[1].startswith(f"{a};{la[1]};period_end;")
    assert lines[2].startswith(f"{b};{lb[0]};period_end;")
    jl = [json.loads(x) for x in
          (hub.inputs_dir / "all.rejects.jsonl").read_text().splitlines()]
    assert [(x["file"], x["line"], x["column"]) for x in jl] == \
        [(str(j), 1, "period_end")]
    assert not (hub.inputs_dir / "ra.csv.rejects.csv").exists()
    fixed = hub.inputs_dir / "all-fixed.csv"
    fixed.write_text(target.read_text().replace("2024-05-32", "2024-05-10"))
    r = hub.adapter("import", fixed, ignore_columns="file,line,column,reason")
    assert (r.rc, r.summary["rows"], r.summary["queued"]) == \
        (EXIT_OK, 2, 2), str(r)
    assert_store(hub, good + [dataclasses_replace(x, period_end="2024-05-10")
                              for x in bad])
    # A clean run removes the earlier run's files.
    r = hub.adapter("import", a, rejects=target)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    r = hub.adapter("import", fixed, rejects=target,
                    ignore_columns="file,line,column,reason")
    assert r.rc == EXIT_OK, str(r)
    assert not target.exists()
    assert not (hub.inputs_dir / "all.rejects.jsonl").exists()


def test_run_wide_rejects_leaves_no_twin_of_an_earlier_run(hub):
    """rejects = PATH sends the run's rejected rows to PATH and its
    .jsonl twin; a later run whose rejected rows are all CSV ones leaves
    no .jsonl of the earlier run beside its PATH, where the clerk would
    take its rows for this run's (as a clean run removes both)."""
    gen = CprGen(2043)
    bad = [AbsenceRow(gen.next(), period_end="2024-05-32")
           for _ in range(2)]
    remember(hub, bad)
    a, _ = hub.csv("ta.csv", [bad[0]])
    j = write(hub, "tj.jsonl", (json.dumps(
        dict(zip(hubtest_header(), bad[1].fields()))) + "\n").encode())
    target = hub.inputs_dir / "run.csv"
    twin = hub.inputs_dir / "run.jsonl"
    r = hub.adapter("import", a, j, rejects=target)
    assert (r.rc, r.summary["rejected_rows"]) == (EXIT_ROWS_REJECTED, 2), \
        str(r)
    assert target.exists() and twin.exists()
    r = hub.adapter("import", a, rejects=target)
    assert (r.rc, r.summary["rejected_rows"]) == (EXIT_ROWS_REJECTED, 1), \
        str(r)
    assert len(target.read_text().splitlines()) == 2
    assert not twin.exists(), twin.read_text()
    assert f"ADP-REJECTS no row of this run went to {twin}; removed it, " \
        "of an earlier run" in r.stderr, r.stderr
    # And the other way round.
    r = hub.adapter("import", j, rejects=target)
    assert (r.rc, r.summary["rejected_rows"]) == (EXIT_ROWS_REJECTED, 1), \
        str(r)
    assert twin.exists() and not target.exists()


def test_run_wide_rejects_refuses_csv_files_with_other_headers(hub):
    """With rejects, CSV inputs whose header lines differ (here only the
    separator) cannot share its one header: exit 3, nothing queued."""
    gen = CprGen(2021)
    a, _ = hub.csv("ha.csv", [AbsenceRow(gen.next())])
    b, _ = hub.csv("hb.csv", [AbsenceRow(gen.next())], sep=",")
    r = hub.adapter("import", a, b, rejects=hub.inputs_dir / "x.csv")
    assert r.rc == EXIT_FATAL, str(r)
    assert f"{b}: its header line is not the one of {a}" in r.stderr
    assert r.summary["queued"] == 0
    assert hub.stats()["log_events"] == 0


def test_run_wide_rejects_file_of_a_windows_1252_input_has_a_bom(hub):
    """rejects = PATH over a UTF-8 file and a Windows-1252 one with the
    same header: the run's CSV rejects file begins with a byte order
    mark whichever file came first, so a spreadsheet shows the
    Windows-1252 rows' æ ø å right; a run of UTF-8 files alone gets
    none."""
    gen = CprGen(2026)
    a = AbsenceRow(gen.next(), school="Højvang", absent=40, expected=30)
    b = AbsenceRow(gen.next(), school="Ærø", absent=40, expected=30)
    remember(hub, [a, b])
    utf8 = write(hub, "s-utf8.csv", text_file(
        hub, "", HEADER_DK, [danish_fields(a)]).encode())
    cp = write(hub, "s-cp.csv", text_file(
        hub, "", HEADER_DK, [danish_fields(b)]).encode("cp1252"))
    target = hub.inputs_dir / "run.rejects.csv"
    r = hub.adapter("import", utf8, cp, rejects=target)
    assert (r.rc, r.summary["rejected_rows"]) == (EXIT_ROWS_REJECTED, 2), \
        str(r)
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbffile;line;column;reason;CPR;"), raw
    assert ";Ærø;".encode() in raw and ";Højvang;".encode() in raw
    r = hub.adapter("import", utf8, rejects=target)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert target.read_bytes().startswith(b"file;line;"), target.read_bytes()


def test_a_rejects_file_that_is_an_input_of_the_run_is_never_written(hub):
    """An input of the run that is also where rejected rows would go (the
    corrected uge19.csv.rejects.csv imported with uge19.csv, as
    `import *.csv` does; rejects = one of the inputs) would be truncated,
    or removed by a clean import, before it is read: the run is refused,
    exit 3, nothing read or queued, the file as it was. So is a rejects
    setting naming a directory."""
    gen = CprGen(2025)
    good = AbsenceRow(gen.next())
    wrong = AbsenceRow(gen.next(), absent=40, expected=30)
    other = AbsenceRow(gen.next())
    remember(hub, [good, wrong, other])
    path, _ = hub.csv("u19.csv", [good, wrong])
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    rejects = hub.inputs_dir / "u19.csv.rejects.csv"
    fixed = rejects.read_bytes().replace(b";40;30;", b";4;30;")
    assert fixed != rejects.read_bytes()
    rejects.write_bytes(fixed)
    r = hub.adapter("import", path, rejects,
                    ignore_columns="line,column,reason")
    assert r.rc == EXIT_FATAL, str(r)
    assert (f"{rejects} is to be imported and is also where the rejected "
            f"rows of {path} go; nothing was imported: import it in a run "
            "of its own, or give --rejects PATH") in r.stderr, r.stderr
    # Nothing read, yet each file has its line, saying why.
    assert [(x["file"], x["status"], x["error"]) for x in map(
        json.loads, r.stdout.splitlines()[:-1])] == \
        [(str(f), "not_imported", r.stderr.split(": ", 1)[1].strip())
         for f in (path, rejects)], r.stdout
    assert rejects.read_bytes() == fixed
    second, _ = hub.csv("u20.csv", [other])
    before = second.read_bytes()
    for target in (second, hub.inputs_dir / "u20.jsonl"):
        r = hub.adapter("import", path, second, rejects=target)
        assert r.rc == EXIT_FATAL, str(r)
        assert f"{second} is one of the files to import" in r.stderr
        assert second.read_bytes() == before
    r = hub.adapter("import", path, rejects=hub.inputs_dir)
    assert r.rc == EXIT_FATAL, str(r)
    assert f"{hub.inputs_dir} is a directory, not a file" in r.stderr
    # A settings error, as a bad window is: no file's line.
    assert '{"file"' not in r.stdout
    r = hub.adapter("import", path, rejects="/dev/null")
    assert r.rc == EXIT_FATAL, str(r)
    assert "rejects = /dev/null: /dev/null is not a regular file" in \
        r.stderr, r.stderr
    assert "column lessons_absent" not in r.stderr, r.stderr
    assert hub.stats()["log_events"] == 1
    # In a run of its own, the corrected row goes through.
    r = hub.adapter("import", rejects, ignore_columns="line,column,reason")
    assert (r.rc, r.summary["queued"]) == (EXIT_OK, 1), str(r)
    assert_store(hub, [good, dataclasses_replace(wrong, absent=4)])


def test_rejected_row_with_a_stray_quote_keeps_its_fields(hub):
    """A '"' inside an unquoted value is a plain character: the row goes
    into the rejects file as it was, with the same fields."""
    import csv as pycsv
    gen = CprGen(2022)
    row = AbsenceRow(gen.next(), grade='x"y')
    remember(hub, [row])
    path, _ = hub.csv("q.csv", [";".join(row.fields())])
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    rejects = hub.inputs_dir / "q.csv.rejects.csv"
    lines = rejects.read_text().splitlines()
    assert lines[1].endswith(';8b'.replace("8b", 'x"y')), lines
    fields = next(pycsv.reader([lines[1]], delimiter=";"))
    assert len(fields) == 3 + 8 and fields[-1] == 'x"y', fields
    # Imported again, it is the grade that is wrong, not the field count.
    r = hub.adapter("import", rejects, ignore_columns="line,column,reason")
    assert "column grade" in r.stderr and "fields" not in r.stderr, r.stderr


def test_clean_import_removes_a_stale_rejects_file(hub):
    gen = CprGen(2023)
    row = AbsenceRow(gen.next())
    wrong = AbsenceRow(gen.next(), period_end="2024-05-32")
    remember(hub, [row, wrong])
    path, _ = hub.csv("st.csv", [row, wrong])
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    rejects = hub.inputs_dir / "st.csv.rejects.csv"
    assert rejects.exists()
    hub.csv("st.csv", [row, dataclasses_replace(wrong,
                                                period_end="2024-05-10")])
    r = hub.adapter("import", path, log_level="info")
    assert r.rc == EXIT_OK, str(r)
    assert not rejects.exists()
    assert f"removed {rejects}" in r.stderr


@pytest.mark.parametrize("data", [
    lambda line: line.encode("cp1252"),
    lambda line: b"\xef\xbb\xbf" + line.encode()])
def test_jsonl_rejects_have_no_byte_order_mark(hub, data):
    [cpr] = CprGen(2024).take(1)
    hub.cprs.add(cpr)
    line = json.dumps({"cpr": cpr, "skole": "280017", "fra": "14.10.2024",
                       "til": "18.10.2024", "fravær": 4, "lektioner": 30,
                       "type": "ulovligt", "klasse": "8ø"},
                      ensure_ascii=False) + "\n"
    path = write(hub, "jw.jsonl", data(line))
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    raw = (hub.inputs_dir / "jw.jsonl.rejects.jsonl").read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert json.loads(raw)["column"] == "klasse"


def test_header_cell_like_a_cpr_is_never_echoed(hub):
    """A CPR pasted into the header (or a data row taken for it) is named
    by its position in the message, the log and the watch report."""
    [cpr] = CprGen(2025).take(1)
    hub.cprs.add(cpr)
    header = ["cpr", "school", "period_start", "period_end",
              "lessons_absent", "lessons_expected", "kind", cpr]
    path, _ = hub.csv("ch.csv", [], header=header)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert "unknown column for absence: column 8 (its name looks like a " \
        "CPR number)" in r.stderr, r.stderr
    assert cpr not in r.stderr and cpr[:6] not in r.stderr
    # Listed for ignore_columns, the log does not quote it either.
    r = hub.adapter("import", path, ignore_columns="*", log_level="info")
    assert r.rc == EXIT_OK, str(r)
    assert "ignoring column(s) column 8 (its name looks like a CPR " \
        "number)" in r.stderr and cpr not in r.stderr, r.stderr
    # A JSON Lines key has no position a clerk could find: "a key".
    j = write(hub, "ch.jsonl", (json.dumps(
        {"cpr": None, "school": "1", "period_start": "", "period_end": "",
         "lessons_absent": 1, "lessons_expected": 2, "kind": "alle",
         cpr: 1}) + "\n").encode())
    r = hub.adapter("import", j)
    assert r.rc == EXIT_FATAL, str(r)
    assert "unknown column for absence: a key (its name looks like a CPR " \
        "number)" in r.stderr, r.stderr
    assert cpr not in r.stderr and cpr[:6] not in r.stderr


@pytest.mark.parametrize("brk", ["\n", "\u0085"])
def test_a_line_break_in_a_file_name_stays_one_line(hub, brk):
    """A file name holding a line break (an export job's doing) cannot
    split a bad row's message, or the file's line on stdout, into two
    lines that read as something else (stderr goes to the journal under
    watch): the break shows as '?', as in the log -- U+0085 (NEL), a C1
    control character and a line break to many a reader, too."""
    gen = CprGen(2016 if brk == "\n" else 2017)
    good, bad = AbsenceRow(gen.next()), AbsenceRow(gen.next(), absent=101)
    remember(hub, [good, bad])
    path, lines = hub.csv(f"x{brk}fake.csv", [good, bad])
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    shown = str(path).replace(brk, "?")
    assert f"{shown}:{lines[1]}: column lessons_absent: lessons_absent " \
        "101 is more than lessons_expected 100\n" in r.stderr, r.stderr
    assert not any(ln.startswith("fake.csv") for ln in
                   (r.stderr + r.stdout).splitlines()), r.stderr
    assert json.loads(r.stdout.splitlines()[0])["file"] == shown, r.stdout


@pytest.mark.parametrize("program", ["school", "college", "addiction",
                                     "jobcenter", "youthunit"])
def test_whole_file_messages_are_complete(hub, program):
    """The longest whole-file messages (no column a kind knows; hundreds
    of unknown columns) end with their hint, not cut off."""
    import subprocess
    import hubtest
    conf = hub.school_conf()
    exe = hubtest.binary(f"adapter-{program}")
    path = write(hub, f"none-{program}.csv", b"x\n1\n")
    p = subprocess.run([exe, "--config", str(conf), "import", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == EXIT_FATAL, p.stderr
    msg = p.stderr.splitlines()[0]
    assert msg.startswith(f"adapter-{program}: {path}:1: "), msg
    assert msg.endswith("(is the first line the header row?)"), msg
    assert "missing required column(s): cpr" in msg or program == "youthunit"
    names = ";".join(["cpr", "school", "period_start", "period_end",
                      "lessons_absent", "lessons_expected", "kind"] +
                     [f"ukendt_kolonne_nummer_{i}" for i in range(200)])
    path = write(hub, "wide.csv", (names + "\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    msg = [ln for ln in r.stderr.splitlines() if "unknown columns" in ln][0]
    assert re.search(r", and \d+ more \(list in ignore_columns what may be "
                     r"left out\)$", msg), msg


def test_a_windows_1252_file_name_reads_as_utf8_everywhere(hub):
    """ADAPTERS.md: a file name that is not UTF-8 (fravær.csv written in
    Windows-1252 by a share with the wrong character set) is given as
    Windows-1252 read into UTF-8, as in the output of import: the file's
    text line too, its bad rows' messages and the log lines on stderr,
    which under systemd go to the journal (a line that is not UTF-8
    shows there as a blob)."""
    import os
    import subprocess
    import hubtest
    gen = CprGen(2042)
    good, bad = AbsenceRow(gen.next()), AbsenceRow(gen.next(), absent=101)
    remember(hub, [good, bad])
    path, lines = hub.csv("x.csv", [good, bad])
    raw = os.fsencode(path.parent) + b"/" + "fravær.csv".encode("cp1252")
    os.rename(path, raw)
    shown = f"{path.parent}/fravær.csv"
    for json_flag in ([], ["--json"]):
        p = subprocess.run(
            [hubtest.binary("adapter-school"), "--config",
             str(hub.school_conf()), "--log_level", "info", *json_flag,
             "import", raw], capture_output=True, timeout=60 * hubtest.SLOW)
        assert p.returncode == EXIT_ROWS_REJECTED, p.stderr
        out, err = p.stdout.decode("utf-8"), p.stderr.decode("utf-8")
        assert f"{shown}:{lines[1]}: column lessons_absent: lessons_absent" \
            " 101 is more than lessons_expected 100\n" in err, err
        assert f"ADP-FILE {shown}: CSV, utf-8" in err, err
        if json_flag:
            assert json.loads(out.splitlines()[0])["file"] == shown, out
        else:
            assert out.startswith(f"file {shown}: csv, utf-8"), out
    assert os.path.exists(raw + b".rejects.csv")
    assert_store(hub, [good])


def test_a_cpr_in_a_file_name_is_masked_where_it_stands_alone(hub):
    """ADAPTERS.md "Output and exit codes": a CPR number in a file's name
    is masked in the per-file lines and on stderr where it stands alone
    (no letter or digit right beside it), as SECURITY.md masks the logs;
    run into a word it is not one."""
    gen = CprGen(2045)
    pupil, bad = gen.next(), AbsenceRow(gen.next(), absent=101)
    remember(hub, [bad])
    hub.cprs.discard(pupil)  # in a file name only, where it may stay
    for name, masked in ((f"elev_{pupil}.csv", True),
                         (f"{pupil}-uge19.csv", True),
                         (f"elev{pupil}.csv", False)):
        path, _ = hub.csv(name, [bad])
        r = hub.adapter("import", path)
        assert r.rc == EXIT_ROWS_REJECTED, str(r)
        shown = json.loads(r.stdout.splitlines()[0])["file"]
        assert (pupil not in shown and pupil not in r.stderr) == masked, \
            (shown, r.stderr)
        if masked:
            assert shown == str(path).replace(pupil, "x" * 10), shown


def test_a_whole_file_problem_names_a_long_path_whole(hub):
    """ADAPTERS.md: a whole-file problem's message names the file. In a
    directory whose path runs past 255 bytes it names the file, not the
    directory the path was cut at."""
    [cpr] = CprGen(2048).take(1)
    row = AbsenceRow(cpr)
    remember(hub, [row])
    deep = hub.inputs_dir / ("d" * 120) / ("e" * 120)
    deep.mkdir(parents=True)
    path = deep / "navn.csv"
    path.write_bytes(text_file(hub, "x", hubtest_header() + ["Navn"],
                               [row.fields() + ["Anna"]]).encode())
    assert len(str(path)) > 255
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert f"adapter-school: {path}:1: unknown column for absence: Navn" \
        in r.stderr, r.stderr


def test_an_input_named_near_the_limit_points_to_the_rejects_setting(hub):
    """ADAPTERS.md: a rejects file that cannot be made leaves its input
    not imported (exit 3) and says how to import it: an input whose name
    leaves no room for ".rejects.csv" (over 243 bytes) needs --rejects
    PATH, not a directory one can write to; with it, the file imports."""
    gen = CprGen(2049)
    good, bad = AbsenceRow(gen.next()), AbsenceRow(gen.next(), absent=101)
    remember(hub, [good, bad])
    path, _ = hub.csv("a" * 246 + ".csv", [good, bad])
    r = hub.adapter("import", path)
    assert (r.rc, r.summary["queued"]) == (EXIT_FATAL, 0), str(r)
    assert f"nothing of {path} was queued: import it again with --rejects " \
        "PATH (the input's name leaves no room for the rejects file's)" \
        in r.stderr, r.stderr
    r = hub.adapter("import", path, rejects=hub.inputs_dir / "short.csv")
    assert (r.rc, r.summary["queued"]) == (EXIT_ROWS_REJECTED, 1), str(r)
    assert_store(hub, [good])
