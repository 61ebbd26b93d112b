"""124 ADAPTERS.md read a fifth time as each agency's IT staff read it:
exports as spreadsheets and agency systems really write them, and the
second cases of sentences the earlier agency tests (06, 11-16, 20-25,
52, 87, 103, 116) leave unasserted, each run on the real adapters."""

import json

import hubtest
from agencytest import TYPES, run_adapter
from hubtest import EXIT_FATAL

ABSENCE = ("cpr;school;period_start;period_end;lessons_absent;"
           "lessons_expected;kind")


def file_lines(result):
    """The per-file lines of an --json run (the summary left out)."""
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith('{"file"')]


def test_a_sep_line_a_spreadsheet_padded_is_still_the_sep_line(make_hub):
    """ADAPTERS.md, "Input files": a file that begins with Excel's
    `sep=;` line is refused as a whole, "the first line is a
    spreadsheet's "sep=" line, not the header row: delete that line".
    A spreadsheet that saved such a file again pads that line with
    separators as it pads every row (`sep=;;;;;;`), and trailing empty
    fields do not count in the header ("trailing empty ones aside"):
    the same line, the same message, not "the columns fit no kind"."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    message = ("the first line is a spreadsheet's \"sep=\" line, not the "
               "header row: delete that line")
    cases = {"plain.csv": "sep=;\n", "padded.csv": "sep=;;;;;;\n",
             "comma.csv": "sep=,,,,,,\r\n",
             "bom.csv": "\ufeffsep=;;;;;;\r\n"}
    for name, first in cases.items():
        path = hub.inputs_dir / name
        path.write_text(first + ABSENCE + "\n", encoding="utf-8")
        r = run_adapter(hub, "school", "import", path, agency="school-a")
        assert r.rc == EXIT_FATAL, r
        assert f"adapter-school: {path}:1: {message}\n" in r.stderr, r
        [line] = file_lines(r)
        assert (line["status"], line["error"]) == ("failed", message), r


def test_non_breaking_spaces_around_any_value_are_dropped(make_hub):
    """ADAPTERS.md, "Input files": blanks around values are dropped, and
    non-breaking spaces (U+00A0, which a cell pasted from a web page or a
    word processor brings along, invisible in the spreadsheet) with
    them, in CSV (UTF-8 or Windows-1252, byte A0) and in JSON Lines
    alike, whatever the value: a CPR, a date, a number, a school id. So
    an export whose cells carry them is the same record as one without:
    a duplicate, not a bad row "cpr is not a CPR number" the clerk cannot
    see the cause of, nor another school the hub counts apart."""
    hub = make_hub(agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(12401).take(2)
    hub.cprs.update(cprs)
    nb = "\u00a0"
    plain = hub.inputs_dir / "plain.csv"
    plain.write_text(ABSENCE + ";grade\n" + "".join(
        f"{hubtest.dashed(c)};280017;2026-03-02;2026-03-06;4;30;ulovligt;8b\n"
        for c in cprs))
    r = run_adapter(hub, "school", "import", plain, agency="school-a")
    assert (r.rc, r.summary["queued"]) == (0, 2), r
    padded = "".join(
        f"{nb}{hubtest.dashed(c)}{nb};280017{nb};{nb}2026-03-02;"
        f"2026-03-06{nb} ;{nb}4;30{nb};ulovligt;\" 8b{nb}\"\n"
        for c in cprs)
    utf8 = hub.inputs_dir / "nbsp-utf8.csv"
    utf8.write_text(ABSENCE + ";grade\n" + padded, encoding="utf-8")
    cp1252 = hub.inputs_dir / "nbsp-cp1252.csv"
    cp1252.write_bytes((ABSENCE + ";grade\n" + padded).encode("cp1252"))
    jsonl = hub.inputs_dir / "nbsp.jsonl"
    jsonl.write_text("".join(json.dumps({
        "cpr": f"{hubtest.dashed(c)}{nb}", "school": f"{nb}280017{nb}",
        "period_start": f"2026-03-02{nb}", "period_end": f"{nb}2026-03-06",
        "lessons_absent": f"4{nb}", "lessons_expected": 30,
        "kind": "ulovligt", "grade": f"8b{nb}"}) + "\n" for c in cprs))
    r = run_adapter(hub, "school", "import", utf8, cp1252, jsonl,
                    agency="school-a")
    assert r.rc == 0, r
    assert [(f["file"], f["rejected_rows"], f["queued"], f["duplicates"])
            for f in file_lines(r)] == [
        (str(utf8), 0, 0, 2), (str(cp1252), 0, 0, 2), (str(jsonl), 0, 0, 2)
    ], r
    assert r.stderr.count(": column ") == 0, r.stderr


def test_a_file_of_blank_lines_and_ctrl_z_alone_is_empty(make_hub):
    """ADAPTERS.md, "Whole-file problems": a file that is empty, or only
    blank lines, is refused as a whole, and a line of only Ctrl-Z (the
    end-of-file mark an old DOS program writes, even after no rows) is
    skipped as a blank line is, in CSV and JSON Lines alike: such a
    file is empty ("the file is empty; JSON Lines holds one JSON object
    per line"), not "no line of the file is a JSON object (is it JSON
    Lines? ...)", which sends the clerk after the wrong format."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cases = [
        ("dos.csv", b"\r\n\x1a\r\n",
         "the file is empty; a header row naming the columns is required"),
        ("dos.jsonl", b"\r\n\x1a\r\n",
         "the file is empty; JSON Lines holds one JSON object per line"),
        ("eof.ndjson", b"\x1a",
         "the file is empty; JSON Lines holds one JSON object per line"),
        ("blank.jsonl", b"\n \n\t\r\n",
         "the file is empty; JSON Lines holds one JSON object per line"),
    ]
    for name, data, message in cases:
        path = hub.inputs_dir / name
        path.write_bytes(data)
        r = run_adapter(hub, "school", "import", path, agency="school-a")
        assert r.rc == EXIT_FATAL, r
        assert f"adapter-school: {path}: {message}\n" in r.stderr, r
        [line] = file_lines(r)
        assert (line["status"], line["error"]) == ("failed", message), r


def test_json_lines_files_joined_with_their_byte_order_marks(make_hub):
    """ADAPTERS.md, "Input files": JSON Lines files joined into one
    (`cat uge19.jsonl uge20.jsonl`), each beginning with a byte order
    mark, read as the files would: the mark that opens a later line is
    passed over as the file's own is, so that line is a row like the
    others, not "the line is not a JSON object (it must start with
    '{')" for a line the clerk sees start with '{'; a line of only the
    mark is a blank line."""
    hub = make_hub(agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(12403).take(2)
    hub.cprs.update(cprs)
    parts = []
    for n, cpr in enumerate(cprs):
        row = {"cpr": hubtest.dashed(cpr), "skole": "280017",
               "fra": "02.03.2026", "til": "06.03.2026", "fravær": 4,
               "lektioner": 30, "type": "ulovligt"}
        parts.append(b"\xef\xbb\xbf" + json.dumps(row).encode() + b"\r\n")
    joined = hub.inputs_dir / "uge10-11.jsonl"
    joined.write_bytes(parts[0] + b"\xef\xbb\xbf\r\n" + parts[1])
    r = run_adapter(hub, "school", "import", joined, agency="school-a")
    assert r.rc == 0, r
    [line] = file_lines(r)
    assert (line["rows"], line["queued"], line["rejected_rows"]) == \
        (2, 2, 0), r


def test_exports_joined_into_one_csv_file(make_hub):
    """ADAPTERS.md, "Input files": two weeks' exports joined into one
    file (`cat uge10.csv uge11.csv`, each from a spreadsheet that began
    it with a byte order mark) bring the second header row along. That
    row is a bad row as a whole, "the row repeats the header row (are
    two exports joined into one file?): delete it", with an empty column
    in the rejects file (not "column cpr: cpr is not a CPR number");
    the rows of both weeks go through."""
    hub = make_hub(agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(12404).take(2)
    hub.cprs.update(cprs)
    weeks = []
    for cpr, (start, end) in zip(cprs, (("2026-03-02", "2026-03-06"),
                                        ("2026-03-09", "2026-03-13"))):
        weeks.append(b"\xef\xbb\xbf" + (
            f"{ABSENCE}\r\n{hubtest.dashed(cpr)};280017;{start};{end};"
            "4;30;ulovligt\r\n").encode())
    joined = hub.inputs_dir / "uge10-11.csv"
    joined.write_bytes(weeks[0] + weeks[1])
    r = run_adapter(hub, "school", "import", joined, agency="school-a")
    assert r.rc == hubtest.EXIT_ROWS_REJECTED, r
    reason = ("the row repeats the header row (are two exports joined "
              "into one file?): delete it")
    assert f"{joined}:3: {reason}\n" in r.stderr, r
    assert ": column " not in r.stderr, r
    [line] = file_lines(r)
    assert (line["rows"], line["queued"], line["rejected_rows"]) == \
        (3, 2, 1), r
    rejects = (hub.inputs_dir / "uge10-11.csv.rejects.csv").read_text(
        encoding="utf-8-sig").splitlines()
    assert rejects[1] == f"3;;{reason};\ufeff{ABSENCE}", rejects


def test_empty_fields_count_as_written_up_to_the_headers_names(make_hub):
    """ADAPTERS.md, "Input files": a row has as many fields as the header
    names, its empty ones counted as written: `1;2;;` fits a header of
    four names (the benefit example's running period ends `;;`), `1;2;`
    is three fields, "the row has 3 fields, the header has 4 (a
    separator is missing, or the row is cut short)"; empty fields past
    the header's last name, in the row or the header, do not count."""
    hub = make_hub(agencies={"jc-a": TYPES["jobcenter"]})
    cpr = hubtest.dashed(hubtest.CprGen(12405).take(1)[0])
    hub.cprs.add(cpr.replace("-", ""))
    path = hub.inputs_dir / "missed.csv"
    path.write_text("cpr;jobcenter;date;activity;;\n"
                    f"{cpr};jc-a;2026-09-14;;\n"          # 4 fields
                    f"{cpr};jc-a;2026-09-15;A;;;;\n"      # 4, then empty
                    f"{cpr};jc-a;\n"                       # 3 fields
                    f"{cpr};jc-a\n"                        # 2 fields
                    f"{cpr};jc-a;2026-09-16;A;;x\n")       # 6 fields
    r = run_adapter(hub, "jobcenter", "import", path, agency="jc-a")
    assert r.rc == hubtest.EXIT_ROWS_REJECTED, r
    short = "(a separator is missing, or the row is cut short)"
    assert [ln for ln in r.stderr.splitlines()
            if ln.startswith(f"{path}:")] == [
        f"{path}:4: the row has 3 fields, the header has 4 {short}",
        f"{path}:5: the row has 2 fields, the header has 4 {short}",
        f"{path}:6: the row has 6 fields, the header has 4 (is a "
        "separator inside an unquoted value?)"], r.stderr
    [line] = file_lines(r)
    assert (line["rows"], line["queued"], line["rejected_rows"]) == \
        (5, 2, 3), r


def test_a_directory_where_the_rejects_file_goes(make_hub):
    """ADAPTERS.md, "The rejects file": a FILE.rejects.csv that is not a
    regular file is never written to, a directory of that name as much
    as a named pipe or a device: that file is not imported ("fatal",
    nothing of it queued, exit 3) with `FILE: cannot create the rejects
    file FILE.rejects.csv: it is not a regular file; nothing of FILE was
    queued: remove it, or import it again with --rejects PATH`, not
    "Is a directory ... in a directory you can write to", which sends
    the clerk after permissions; the directory is left as it was."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cpr = hubtest.CprGen(12406).take(1)[0]
    hub.cprs.add(cpr)
    for name in ("uge19.csv", "uge19.jsonl"):
        path = hub.inputs_dir / name
        if name.endswith(".csv"):
            path.write_text(f"{ABSENCE}\n{hubtest.dashed(cpr)};280017;"
                            "2026-03-02;2026-03-06;4;30;nogle\n")
        else:
            path.write_text(json.dumps({
                "cpr": hubtest.dashed(cpr), "school": "280017",
                "period_start": "2026-03-02", "period_end": "2026-03-06",
                "lessons_absent": 4, "lessons_expected": 30,
                "kind": "nogle"}) + "\n")
        ext = "csv" if name.endswith(".csv") else "jsonl"
        rejects = hub.inputs_dir / f"{name}.rejects.{ext}"
        rejects.mkdir()
        (rejects / "kept").write_text("x")
        r = run_adapter(hub, "school", "import", path, agency="school-a")
        assert r.rc == EXIT_FATAL, r
        assert (f"adapter-school: {path}: cannot create the rejects file "
                f"{rejects}: it is not a regular file; nothing of {path} "
                "was queued: remove it, or import it again with --rejects "
                "PATH\n") in r.stderr, r
        [line] = file_lines(r)
        assert (line["status"], line["queued"]) == ("fatal", 0), r
        assert r.summary["pending"] == 0, r
        assert (rejects / "kept").read_text() == "x"


def test_ctrl_z_stuck_to_the_last_row_is_the_files_end(make_hub):
    """ADAPTERS.md, "Input files": the DOS end-of-file mark (Ctrl-Z, byte
    1A) that old DOS programs write after the last line is no row. Such
    a program may write it right after the last row, with no line break
    between: it still ends the file, and the last row goes through as
    it would without it (not a bad row for a value ending in an
    invisible byte), in CSV and in JSON Lines. A Ctrl-Z inside a row,
    with more after it, is still part of the value."""
    hub = make_hub(agencies={"school-a": TYPES["school"]})
    cprs = hubtest.CprGen(12408).take(4)
    hub.cprs.update(cprs)

    def row(c):
        return (f"{hubtest.dashed(c)};280017;2026-03-02;2026-03-06;4;30;"
                "ulovligt")
    csv_crlf = hub.inputs_dir / "dos.csv"
    csv_crlf.write_bytes((ABSENCE + "\r\n" + row(cprs[0]) + "\r\n"
                          + row(cprs[1])).encode() + b"\x1a")
    jsonl = hub.inputs_dir / "dos.jsonl"
    jsonl.write_bytes(json.dumps({
        "cpr": hubtest.dashed(cprs[2]), "school": "280017",
        "period_start": "2026-03-02", "period_end": "2026-03-06",
        "lessons_absent": 4, "lessons_expected": 30,
        "kind": "ulovligt"}).encode() + b"\x1a")
    r = run_adapter(hub, "school", "import", csv_crlf, jsonl,
                    agency="school-a")
    assert r.rc == 0, (r.stdout, r.stderr)
    assert [(f["file"], f["rejected_rows"], f["queued"])
            for f in file_lines(r)] == [
        (str(csv_crlf), 0, 2), (str(jsonl), 0, 1)], r
    inside = hub.inputs_dir / "inside.csv"
    inside.write_bytes((ABSENCE + "\n" + row(cprs[3])).encode()
                       + b"\x1a;\n")
    r = run_adapter(hub, "school", "import", inside, agency="school-a")
    assert [(f["rejected_rows"], f["queued"]) for f in file_lines(r)] == \
        [(1, 0)], r
