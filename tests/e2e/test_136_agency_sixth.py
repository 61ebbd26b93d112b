"""136 ADAPTERS.md read a sixth time as each agency's IT staff read it:
the second cases of sentences the earlier agency tests (06, 11-16, 20-25,
52, 87, 103, 116, 124) leave unasserted, each run on the real programs.
Several cases share one hub, so the file stays within its time budget."""

import json
import subprocess

import hubtest
from agencytest import TYPES, run_adapter, stored
from hubtest import EXIT_OK, EXIT_ROWS_REJECTED, CprGen, dashed

REPEAT = ("the row repeats the header row (are two exports joined into one "
          "file?): delete it")


def test_hubctl_assign_reads_joined_exports_as_the_adapter_does(make_hub):
    """ADAPTERS.md, adapter-youthunit: `hubctl assign --file` "reads the
    same file with the same parser" as the adapter, and "Input files"
    says a row that is the header row again (exports joined with `cat`
    or `copy /b`, a byte order mark before it or not) is a bad row as a
    whole, "the row repeats the header row (are two exports joined into
    one file?): delete it", the rows after it read as usual. hubctl
    blamed such a row on its role cell ("the role must be contact, ..."),
    a cause the clerk cannot find in the file."""
    hub = make_hub(agencies={"ungeenheden": TYPES["youthunit"]})
    cprs = CprGen(13601).take(3)
    hub.cprs.update(cprs)
    header = "CPRnr;Sagsbehandler;Rolle;Fra;Til\r\n"
    one = header + f"{dashed(cprs[0])};cw-anna;kontaktperson;2026-01-05;\r\n"
    two = header + "".join(f"{dashed(c)};cw-anna;UU-vejleder;2026-08-10;\r\n"
                           for c in cprs[1:])
    three = header + f"{dashed(cprs[0])};cw-anna;mentor;2026-02-01;\r\n"
    path = hub.inputs_dir / "joined.csv"
    # The second export as copy /b joins it: its byte order mark kept.
    path.write_bytes(b"\xef\xbb\xbf" + one.encode() + b"\xef\xbb\xbf" +
                     two.encode() + three.encode())
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.returncode == 1, p
    assert p.stdout == "assignments: 4 new, 0 already known, 2 rejected\n", p
    assert p.stderr == f"{path}:3: {REPEAT}\n{path}:6: {REPEAT}\n", p.stderr
    # The adapter reads the same file to the same verdict.
    r = run_adapter(hub, "youthunit", "import", path, agency="ungeenheden")
    assert r.rc == EXIT_ROWS_REJECTED, r
    assert f"{path}:3: {REPEAT}\n" in r.stderr, r.stderr
    assert f"{path}:6: {REPEAT}\n" in r.stderr, r.stderr
    assert (r.summary["rows"], r.summary["events"],
            r.summary["rejected_rows"]) == (6, 4, 2), r


def test_hubctl_assign_reads_less_than_the_adapter_as_the_doc_says(
        make_hub):
    """ADAPTERS.md, adapter-youthunit, and OPERATIONS.md, "Contact
    persons": hubctl assign --file reads CSV only, in UTF-8, and leaves a
    column it does not read unread; the adapter reads Windows-1252 and
    JSON Lines too and refuses a column it does not know. A JSON Lines
    file given to hubctl is refused as a whole, saying what it is and
    what reads it, not blamed on a quote of its first line ("header row:
    text follows the closing quote"), exit 1 and nothing stored."""
    hub = make_hub(agencies={"ungeenheden": TYPES["youthunit"]})
    cprs = CprGen(13602).take(2)
    hub.cprs.update(cprs)
    jsonl = hub.inputs_dir / "assign.jsonl"
    jsonl.write_text(json.dumps({"cpr": dashed(cprs[0]),
                                 "caseworker": "cw-anna", "role": "mentor",
                                 "from": "2026-02-01"}) + "\n")
    p = hub.hubctl("assign", "--file", str(jsonl), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr == (f"hubctl: {jsonl}: the file is JSON Lines; assign "
                        "--file reads CSV only (import JSON Lines with "
                        "adapter-youthunit)\n"), p.stderr
    # A byte order mark before the '{' does not hide it.
    bom = hub.inputs_dir / "assign-bom.txt"
    bom.write_bytes(b"\xef\xbb\xbf" + jsonl.read_bytes())
    p = hub.hubctl("assign", "--file", str(bom), check=False)
    assert p.returncode == 1 and "the file is JSON Lines" in p.stderr, p
    r = run_adapter(hub, "youthunit", "import", jsonl, agency="ungeenheden")
    assert (r.rc, r.summary["accepted"]) == (EXIT_OK, 1), r
    # A column hubctl does not read is left unread, a letter that is not
    # UTF-8 in it rejects its row; the adapter refuses the file as a
    # whole for the column.
    extra = hub.inputs_dir / "navn.csv"
    extra.write_bytes(
        (f"cpr;caseworker;role;from;Navn\n"
         f"{dashed(cprs[1])};cw-anna;mentor;2026-07-01;S").encode() +
        b"\xf8" + (f"ren\n{dashed(cprs[1])};cw-anna;mentor;2026-07-02;Bo\n"
                   ).encode())
    p = hub.hubctl("assign", "--file", str(extra), check=False)
    assert p.returncode == 1, p
    assert p.stdout == "assignments: 1 new, 0 already known, 1 rejected\n"
    assert p.stderr == (f"{extra}:2: column Navn: the value is not UTF-8 "
                        "text (save the file as \"CSV UTF-8\")\n"), p.stderr
    r = run_adapter(hub, "youthunit", "import", extra, agency="ungeenheden")
    assert r.rc == hubtest.EXIT_FATAL, r
    assert (f"adapter-youthunit: {extra}:1: unknown column for assignment: "
            "Navn (list in ignore_columns what may be left out)\n"
            ) in r.stderr, r.stderr
    # An empty or missing from is the day hubctl runs; the adapter needs
    # the day.
    nofrom = hub.inputs_dir / "uden-fra.csv"
    nofrom.write_text(f"cpr;caseworker\n{dashed(cprs[0])};cw-anna\n")
    p = hub.hubctl("assign", "--file", str(nofrom), check=False)
    assert (p.returncode, p.stdout) == \
        (0, "assignments: 1 new, 0 already known, 0 rejected\n"), p
    empty = hub.inputs_dir / "tom-fra.csv"
    empty.write_text(f"cpr;caseworker;from\n{dashed(cprs[1])};cw-anna;\n")
    p = hub.hubctl("assign", "--file", str(empty), check=False)
    assert p.returncode == 0, p
    r = run_adapter(hub, "youthunit", "import", nofrom, agency="ungeenheden")
    assert r.rc == hubtest.EXIT_FATAL, r
    assert "missing required column(s): from (or fra, " in r.stderr, r
    r = run_adapter(hub, "youthunit", "import", empty, agency="ungeenheden")
    assert r.rc == EXIT_ROWS_REJECTED, r
    assert f"{empty}:2: column from: from is empty\n" in r.stderr, r.stderr
    doc = " ".join((hubtest.ROOT / "docs" / "ADAPTERS.md").read_text(
        encoding="utf-8").split())
    assert ("is JSON Lines; assign --file reads CSV only (import JSON Lines "
            "with adapter-youthunit)`") in doc
    assert "it leaves a column it does not read unread" in doc
    assert ("An empty or missing `from` is the day hubctl runs, where the "
            "adapter rejects the row (`from is empty`) or the file "
            "(`missing required column(s): from ...`)") in doc


def test_the_rejects_setting_names_its_twin_by_the_path_s_extension(
        make_hub):
    """ADAPTERS.md, "The `rejects` setting": CSV rows go to PATH, JSON
    Lines rows to PATH with its extension swapped (`.csv` <-> `.jsonl`;
    `.jsonl` added if PATH ends in neither; PATH ending in `.jsonl` takes
    the JSON Lines rows and the CSV rows go to it with `.csv`), and the
    twin, like PATH, must be neither a directory nor one of the run's
    inputs (exit 3 before a file is read). Earlier tests give PATH as a
    .csv only."""
    hub = make_hub(agencies={"school-a": TYPES["school"]})
    cprs = CprGen(13603).take(2)
    hub.cprs.update(cprs)
    csv_in = hub.inputs_dir / "uge19.csv"
    csv_in.write_text(
        "cpr;school;period_start;period_end;lessons_absent;"
        "lessons_expected;kind\n"
        f"{dashed(cprs[0])};280017;2026-05-04;2026-05-32;1;30;alle\n")
    json_in = hub.inputs_dir / "uge19.jsonl"
    json_in.write_text(json.dumps({
        "cpr": dashed(cprs[1]), "school": "280017", "period_start": "x",
        "period_end": "2026-05-08", "lessons_absent": 1,
        "lessons_expected": 30, "kind": "alle"}) + "\n")
    d = hub.inputs_dir
    for path, csv_out, json_out in (
            (d / "run.jsonl", d / "run.csv", d / "run.jsonl"),
            (d / "run.txt", d / "run.txt", d / "run.txt.jsonl"),
            (d / "run", d / "run", d / "run.jsonl")):
        for f in (d / "run.csv", d / "run.jsonl", d / "run.txt",
                  d / "run.txt.jsonl", d / "run"):
            f.unlink(missing_ok=True)
        r = run_adapter(hub, "school", "import", csv_in, json_in,
                        agency="school-a", rejects=path)
        assert (r.rc, r.summary["rejected_rows"]) == \
            (EXIT_ROWS_REJECTED, 2), r
        assert f"ADP-REJECTS rejected rows go to {csv_out}\n" in r.stderr
        assert f"ADP-REJECTS rejected rows go to {json_out}\n" in r.stderr
        lines = csv_out.read_text(encoding="utf-8").splitlines()
        assert lines[0].startswith("file;line;column;reason;cpr;"), lines
        assert lines[1].startswith(f"{csv_in};2;period_end;"), lines
        [obj] = [json.loads(x) for x in json_out.read_text().splitlines()]
        assert (obj["file"], obj["line"], obj["column"]) == \
            (str(json_in), 1, "period_start"), obj
        assert sorted(p.name for p in d.glob("run*")) == \
            sorted({csv_out.name, json_out.name})
    # The twin of PATH is held to PATH's rules: not a directory, not an
    # input of the run. Nothing is read or queued.
    for f in (d / "run.csv", d / "run.jsonl"):
        f.unlink(missing_ok=True)
    (d / "run.jsonl").mkdir()
    r = run_adapter(hub, "school", "import", csv_in, agency="school-a",
                    rejects=d / "run.csv")
    assert r.rc == hubtest.EXIT_FATAL, r
    assert (f"adapter-school: rejects = {d / 'run.csv'}: {d / 'run.jsonl'} "
            "is a directory, not a file: name the file the rejected rows go "
            "to\n") in r.stderr, r.stderr
    assert not (d / "run.csv").exists()
    (d / "run.jsonl").rmdir()
    twin = d / "fix.jsonl"
    twin.write_bytes(json_in.read_bytes())
    r = run_adapter(hub, "school", "import", csv_in, twin, agency="school-a",
                    rejects=d / "fix.csv")
    assert r.rc == hubtest.EXIT_FATAL, r
    assert (f"adapter-school: rejects = {d / 'fix.csv'}: {twin} is one of "
            "the files to import; nothing was imported: name another file\n"
            ) in r.stderr, r.stderr
    assert twin.read_bytes() == json_in.read_bytes()
    assert not (d / "fix.csv").exists()
    assert stored(hub) == []    # every row was a bad one


def test_codes_ids_and_names_at_their_limit_and_one_past(make_hub):
    """ADAPTERS.md, "What every kind shares": a code is at most 32 of
    `A-Z a-z 0-9 . _ - /`, an id 1-63 of `a-z 0-9 . _ -`, a name at most
    256 bytes (bytes: an `æ` is two). The value at the limit reaches the
    hub (which holds text to the same bounds), one past it is a bad row
    with its reason, the rest of the file going on. And `--` ends the
    options (`import -- --odd-name.csv`)."""
    hub = make_hub(agencies={"jc-a": TYPES["jobcenter"],
                             "ungeenheden": TYPES["youthunit"]})
    cpr = CprGen(13604).next()
    hub.cprs.add(cpr)
    code = "VIRK-PRAK/" + "A" * 22
    name = "jc-" + "n" * 251 + "\u00e6"           # 256 bytes in UTF-8
    assert (len(code), len(name.encode())) == (32, 256)
    rows = [(code, "jc-a", "2026-09-01"), (code + "B", "jc-a", "2026-09-02"),
            ("", name, "2026-09-03"), ("", name + "x", "2026-09-04"),
            ("", "jc-" + "n" * 253, "2026-09-05")]   # 256 ASCII bytes
    misses = hub.inputs_dir / "--odd-name.csv"
    misses.write_text("cpr;jobcenter;date;activity\n" + "".join(
        f"{dashed(cpr)};{jc};{day};{act}\n" for act, jc, day in rows),
        encoding="utf-8")
    r = run_adapter(hub, "jobcenter", "import", "--", misses, agency="jc-a")
    assert r.rc == EXIT_ROWS_REJECTED, r
    bad = sorted(line for line in r.stderr.splitlines()
                 if line.startswith(f"{misses}:"))
    assert bad == [
        f"{misses}:3: column activity: activity must be a code of at most "
        "32 of A-Z a-z 0-9 . _ - / (no free text, no blank, no æ ø å)",
        f"{misses}:5: column jobcenter: jobcenter is longer than 256 bytes",
    ], r.stderr
    assert (r.summary["accepted"], r.summary["rejected_rows"]) == (3, 2), r
    desk = hub.inputs_dir / "vagt.csv"
    desk.write_text("Vagtfunktion;Sagsbehandler;Fra;Til;Teamleder\n"
                    f"duty-desk;{'a' * 63};01-10-2025;;j\n"
                    f"duty-desk;{'a' * 64};01-10-2025;;n\n"
                    f"{'d' * 63};cw-desk;01-10-2025;;\n"
                    f"{'d' * 64};cw-desk;01-10-2025;;\n")
    r = run_adapter(hub, "youthunit", "import", desk, agency="ungeenheden")
    assert r.rc == EXIT_ROWS_REJECTED, r
    bad = sorted(line for line in r.stderr.splitlines()
                 if line.startswith(f"{desk}:"))
    assert [b.split(": ", 2)[:2] for b in bad] == [
        [f"{desk}:3", "column Sagsbehandler"],
        [f"{desk}:5", "column Vagtfunktion"]], r.stderr
    assert "at most 63 of a-z 0-9 . _ -" in bad[0], bad
    assert (r.summary["accepted"], r.summary["rejected_rows"]) == (2, 2), r
    assert sorted(e["type"] for e in stored(hub)) == \
        ["DeskMembership"] * 2 + ["MissedActivation"] * 3


def test_a_withdrawal_is_sent_whatever_its_scope_and_expiry_hold(make_hub):
    """ADAPTERS.md, adapter-addiction: a consent of "no" is sent as no
    consent, "its consent_scope and consent_expires are ignored, whatever
    they hold", noted once per row under the file's own column ("the
    scope's when both are filled"), no rejection and no exit code. The
    earlier tests fill them with valid values only: here a scope of free
    text, an expiry that is no date, one before the row's date."""
    hub = make_hub(agencies={"rmc-a": TYPES["addiction"]})
    cprs = CprGen(13605).take(4)
    hub.cprs.update(cprs)
    path = hub.inputs_dir / "rmc.csv"
    path.write_text(
        "CPRnr;Tilbud;Dato;Forløb;Samtykke;Omfang;Udløb\n"
        f"{dashed(cprs[0])};rmc-a;2026-10-14;henvist;nej;hele sagen!;"
        "2020-01-01\n"
        f"{dashed(cprs[1])};rmc-a;2026-10-15;henvist;tilbagekaldt;;1.1.20\n"
        f"{dashed(cprs[2])};rmc-a;2026-10-16;henvist;Ikke givet;;"
        "2026-10-01\n"
        f"{dashed(cprs[3])};rmc-a;2026-10-17;henvist;NEJ;;9999-12-31\n",
        encoding="utf-8")
    r = run_adapter(hub, "addiction", "import", path, agency="rmc-a")
    assert r.rc == EXIT_OK, r
    assert (r.summary["accepted"], r.summary["rejected_rows"]) == (4, 0), r
    notes = [line.split(" ADP-NOTE ", 1)[1] for line in r.stderr.splitlines()
             if " ADP-NOTE " in line]
    why = ("consent is no, so consent_scope and consent_expires are "
           "ignored: sent as a withdrawal (clear them in the source)")
    assert notes == [f"{path}:2: column Omfang: {why}",
                     f"{path}:3: column Udløb: {why}",
                     f"{path}:4: column Udløb: {why}"], r.stderr
    assert not (hub.inputs_dir / "rmc.csv.rejects.csv").exists()


def test_a_spreadsheet_s_case_worker_heading_is_the_caseworker(make_hub):
    """ADAPTERS.md, adapter-youthunit: hubctl assign --file reads the
    youth unit's file with the adapter's column names and aliases, "this
    table's for both". hubctl also found a spreadsheet's `Case worker`
    (OPERATIONS.md, "Contact persons"), which the adapter refused as a
    file with no caseworker column: the alias `case_worker` is now in
    the tables, for the assignment and the desk alike."""
    hub = make_hub(agencies={"ungeenheden": TYPES["youthunit"]})
    cpr = CprGen(13606).next()
    hub.cprs.add(cpr)
    assign = hub.inputs_dir / "kontakt.csv"
    assign.write_text(f"CPR;Case worker;From\n{dashed(cpr)};cw-anna;"
                      "2026-10-01\n")
    desk = hub.inputs_dir / "vagt.csv"
    desk.write_text("Vagt;Case-worker;Fra\nduty-desk;cw-desk;2026-10-01\n")
    r = run_adapter(hub, "youthunit", "import", assign, desk,
                    agency="ungeenheden")
    assert (r.rc, r.summary["accepted"]) == (EXIT_OK, 2), r
    assert sorted(e["type"] for e in stored(hub)) == \
        ["ContactAssignment", "DeskMembership"]
    p = hub.hubctl("assign", "--file", str(assign))
    assert p.stdout == "assignments: 1 new, 0 already known, 0 rejected\n"
    helptext = subprocess.run([hubtest.binary("adapter-youthunit"), "--help"],
                              capture_output=True, text=True, timeout=60)
    assert helptext.stdout.count("caseworker (or case_worker, ") == 2, \
        helptext.stdout
