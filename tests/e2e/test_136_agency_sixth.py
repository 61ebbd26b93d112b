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
