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
