"""116 ADAPTERS.md read a fourth time as each agency's IT staff read it:
the second cases of its sentences that the earlier agency tests (06,
11-16, 20-25, 52, 87, 103) leave unasserted, each checked on the real
adapters against a real hub."""

import json

import hubtest
from agencytest import TYPES, run_adapter
from hubtest import EXIT_FATAL

def file_lines(result):
    """The per-file lines of an --json run (the summary left out)."""
    return [json.loads(line) for line in result.stdout.splitlines()
            if line.startswith('{"file"')]


ABSENCE = ("cpr;school;period_start;period_end;lessons_absent;"
           "lessons_expected;kind")


def test_two_columns_for_one_are_the_message_wherever_they_stand(make_hub):
    """ADAPTERS.md, "Whole-file problems": two header columns that mean
    the same are a whole-file problem, `columns "cpr" and "CPRnr" (1 and
    9) both mean cpr; keep one`. Where the pair stands in the header
    does not change what the file is: a clash in the first columns is
    that message alone too, not a kind the file is not ("closest is
    readiness"), in CSV and in JSON Lines alike."""
    hub = make_hub(start=False, agencies={"school-a": TYPES["school"]})
    cases = [
        ("front.csv", "cpr;cprnr;" + ABSENCE[4:] + "\n",
         'columns "cpr" and "cprnr" (1 and 2) both mean cpr; keep one'),
        ("back.csv", ABSENCE + ";CPRnr\n",
         'columns "cpr" and "CPRnr" (1 and 8) both mean cpr; keep one'),
        ("fra.csv", "cpr;school;period_start;fra;period_end;"
         "lessons_absent;lessons_expected;kind\n",
         'columns "period_start" and "fra" (3 and 4) both mean '
         'period_start; keep one'),
        ("keys.jsonl", '{"cpr": null, "cprnr": null, "skole": "1", '
         '"fra": null, "til": null, "fravær": 1, "lektioner": 2, '
         '"type": "alle"}\n',
         'keys "cpr" and "cprnr" both mean cpr; keep one'),
    ]
    for name, text, message in cases:
        path = hub.inputs_dir / name
        path.write_text(text)
        r = run_adapter(hub, "school", "import", path, agency="school-a")
        assert r.rc == EXIT_FATAL, r
        where = f"{path}:1" if name.endswith(".csv") else str(path)
        assert f"adapter-school: {where}: {message}\n" in r.stderr, r
        assert "closest is" not in r.stderr, r
        assert file_lines(r)[0]["error"] == message, r
