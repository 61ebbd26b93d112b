"""136 ADAPTERS.md read a sixth time as each agency's IT staff read it:
the second cases of sentences the earlier agency tests (06, 11-16, 20-25,
52, 87, 103, 116, 124) leave unasserted, each run on the real programs.
Several cases share one hub, so the file stays within its time budget."""

import json

import hubtest
from agencytest import TYPES, run_adapter
from hubtest import EXIT_OK, EXIT_ROWS_REJECTED, CprGen, dashed

REPEAT = ("the row repeats the header row (are two exports joined into one "
          "file?): delete it")


def file_lines(result):
    """The per-file lines of an --json run (the summary left out)."""
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith('{"file"')]


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
    doc = " ".join((hubtest.ROOT / "docs" / "ADAPTERS.md").read_text(
        encoding="utf-8").split())
    assert ("is JSON Lines; assign --file reads CSV only (import JSON Lines "
            "with adapter-youthunit)`") in doc
    assert "it leaves a column it does not read unread" in doc
