"""Every example file in docs/ADAPTERS.md's section on the adapters
imports as written: each is given to the adapter its section names, the
kind found from its header, and every row is accepted and stored as the
event the section says (its kind's "→ Type", or for a college's status
the type its status word maps to). The JSON Lines example of the
general part is the absence example's record again, so it is a
duplicate; and a run prints its lines with the members and in the
words of the doc's output samples. Keeps the documentation honest as
the adapters change."""

import collections
import json
import re
import subprocess
import sys

from agencytest import TYPES, column_tables, run_adapter, stored
from hubtest import ROOT, binary



def adapters_md():
    return (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")


def status_types(text):
    """The college status table: each status word -> its event type."""
    words = {}
    for m in re.finditer(r"^\| ((?:`[^`]+` ?)+)/ ((?:`[^`]+` ?)+)\| (\w+) \|",
                         text, re.M):
        for w in re.findall(r"`([^`]+)`", m.group(1) + m.group(2)):
            words[w.lower()] = m.group(3)
    return words


def examples():
    """(adapter, body, the types its rows become, in row order)."""
    text = adapters_md()
    text = text[text.index("<!-- agencies:begin"):
                text.index("<!-- agencies:end")]
    statuses = status_types(text)
    adapter, kind_type, found = None, None, []
    for m in re.finditer(r"^### adapter-(\w+)|^\*\*Kind `(\w+)`\*\*( → (\w+))?"
                         r"|^```\n(.*?)```", text, re.M | re.S):
        if m.group(1):
            adapter = m.group(1)
        elif m.group(2):
            kind_type = m.group(4)
        elif adapter:
            body = m.group(5)
            lines = body.strip().splitlines()
            if kind_type:
                types = [kind_type] * (len(lines) - 1)
            else:
                col = lines[0].split(";").index("status")
                types = [statuses[r.split(";")[col].lower()]
                         for r in lines[1:]]
            found.append((adapter, body, types))
    return found


def test_every_example_imports(make_hub):
    found = examples()
    assert {a for a, _, _ in found} == set(TYPES), found
    hub = make_hub(agencies={f"{a}-docs": t for a, t in TYPES.items()},
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "cw-desk": True})
    want = collections.Counter()
    for i, (adapter, body, types) in enumerate(found):
        for cpr in re.findall(r"\b(\d{6})-?(\d{4})\b", body):
            hub.cprs.add("".join(cpr))
        path = hub.inputs_dir / f"example-{i}.csv"
        path.write_text(body, encoding="utf-8")
        rows = len(body.strip().splitlines()) - 1
        r = run_adapter(hub, adapter, "import", path,
                        agency=f"{adapter}-docs")
        assert r.rc == 0, f"example {i} ({adapter}):\n{body}\n{r}"
        assert (r.summary["rows"], r.summary["accepted"]) == (rows, rows), \
            f"example {i} ({adapter}):\n{body}\n{r}"
        want.update(types)
    got = collections.Counter(e["type"] for e in stored(hub))
    assert got == want
    # No CPR, no person: the anonymous counselling row and the desk.
    assert sorted(e["type"] for e in stored(hub) if not e["person"]) == \
        ["AddictionReferral", "DeskMembership"]
    hub.sweep()


def output_samples(text):
    """The general part's JSON Lines row and the --json and text samples
    of "Output and exit codes"."""
    jsonl = re.search(r"^```\n(\{\"cpr\".*?)```", text, re.M | re.S).group(1)
    out = text[text.index("### Output and exit codes"):]
    blocks = re.findall(r"^```\n(.*?)```", out, re.M | re.S)
    return jsonl, blocks[0].splitlines(), blocks[1].splitlines()


def test_the_json_lines_example_and_the_output_samples(make_hub):
    """ADAPTERS.md's JSON Lines row is the absence example's record in
    other words (aliases, dates with dots, numbers as numbers): the same
    event id, so a duplicate. Its run prints what "Output and exit
    codes" shows: the per-file line and the summary with the sample's
    members in the sample's order, and, without --json, the sample's
    words around the counts."""
    text = adapters_md()
    jsonl, json_sample, text_sample = output_samples(text)
    absence = next(b for a, b, t in examples() if t == ["AbsenceReport"])
    hub = make_hub(agencies={"school-docs": TYPES["school"]})
    for cpr in re.findall(r"\b(\d{6})-?(\d{4})\b", absence + jsonl):
        hub.cprs.add("".join(cpr))
    csv_path = hub.inputs_dir / "absence.csv"
    csv_path.write_text(absence, encoding="utf-8")
    r = run_adapter(hub, "school", "import", csv_path, agency="school-docs")
    assert (r.rc, r.summary["queued"]) == (0, 1), str(r)
    path = hub.inputs_dir / "example.jsonl"
    path.write_text(jsonl, encoding="utf-8")
    r = run_adapter(hub, "school", "import", path, agency="school-docs")
    assert r.rc == 0, str(r)
    assert (r.summary["rows"], r.summary["queued"],
            r.summary["duplicates"]) == (1, 0, 1), str(r)
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    assert [list(l) for l in lines] == \
        [list(json.loads(l)) for l in json_sample]
    assert (lines[0]["format"], lines[0]["kind"]) == ("jsonl", "absence")

    conf = hub.school_conf("school-docs")
    p = subprocess.run([binary("adapter-school"), "--config", str(conf),
                        "import", str(path)], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr

    def shape(line, name, how):
        return re.sub(r"\d+", "N", line.replace(name, "FILE")
                      .replace(how, "HOW"))
    assert [shape(l, str(path), "jsonl, utf-8") for l in
            p.stdout.splitlines()] == \
        [shape(l, "uge19.csv", "csv, cp1252") for l in text_sample]
    hub.sweep()


def test_help_lists_the_documented_kinds_and_columns():
    """Each adapter's --help gives every kind of its section, each with
    the section's columns, aliases and required ones, in its order; and
    says how columns are named in either format (a CSV header row, or
    JSON Lines keys, which have no header row)."""
    tables = column_tables()
    assert set(tables) == set(TYPES)
    for adapter, kinds in tables.items():
        out = subprocess.run([binary("adapter-" + adapter), "--help"],
                             capture_output=True, text=True,
                             timeout=20).stdout
        assert "JSON Lines" in out.split("\nKind ")[0], out
        assert "header row required" not in out
        assert re.findall(r"^Kind (\w+):", out, re.M) == list(kinds)
        for kind, columns in kinds.items():
            block = out.split(f"\nKind {kind}:")[1].split("\n\n")[0]
            want = [f"  {name}" + (f" (or {', '.join(aliases)})"
                                   if aliases else "") +
                    ("" if required else ", optional")
                    for name, aliases, required in columns]
            assert block.splitlines()[1:] == want, (adapter, kind, block)


def test_gen_cohort_help_says_every_file_gets_bad_rows(tmp_path):
    """ADAPTERS.md: with --bad-rows N, cohort.json gives the bad rows'
    line numbers of every file; the generator's --help says so, not that
    only adapter-school's file has them."""
    gen = [sys.executable, str(ROOT / "deploy" / "gen_cohort.py")]
    text = subprocess.run(gen + ["--help"], capture_output=True, text=True,
                          timeout=60).stdout
    assert "adapter-school must reject" not in text
    assert "to every file" in " ".join(text.split())
    subprocess.run(gen + ["--out", str(tmp_path), "--pupils", "30",
                          "--weeks", "1", "--bad-rows", "2", "--quiet"],
                   check=True, timeout=120)
    cohort = json.loads((tmp_path / "cohort.json").read_text())
    files = [f for ag in cohort["agencies"] for f in ag["files"]]
    assert len(files) > 5
    assert all(len(f["bad_rows"]) == 2 for f in files), files
