"""What the agency adapters' end-to-end tests share (test_1x_agency_*.py).

Each test writes an agency's export with good and hostile rows, every row
labelled with what must become of it, runs the real adapter-<name> against
a real hubd (hubtest.Hub), and checks exactly: which lines were rejected
(stderr and the rejects file, with the column and the reason), what the
summary counts, and that the hub's store (`hubctl log --json`) holds
exactly the accepted rows, per event type. The labels:

  Ok("Enrolment")               must be stored as one event of that type
                                (person=False: one about nobody, no CPR)
  Bad("column", "reason")       must be rejected, naming the file's column
                                and giving a reason that contains this
  Dup()                         repeats an earlier row: counted as a
                                duplicate, stored once

CPR numbers are synthetic (hubtest.CprGen) and registered with the hub
for its privacy sweep.
"""

import collections
import csv
import dataclasses
import io
import json
import re
import subprocess
from pathlib import Path

import hubtest
from hubtest import binary


@dataclasses.dataclass
class Ok:
    type: str
    person: bool = True   # False: stored without a person (no CPR)


@dataclasses.dataclass
class Bad:
    column: str
    reason: str


@dataclasses.dataclass
class Dup:
    pass


# Each adapter and the kinds of rows it reads, as ADAPTERS.md gives them.
TYPES = {
    "school": "absence,readiness,school_leaving",
    "college": "enrolment,dropout,dropout_risk",
    "addiction": "addiction",
    "jobcenter": "benefit,missed_activation",
    "youthunit": "assignment,desk",
}


def run_adapter(hub, adapter, *args, agency, wait=60, **settings):
    """Run adapter-<adapter> --json with a config for agency (written by
    hub.school_conf, which fits every adapter) and parse its summary."""
    conf = hub.school_conf(agency, **settings)
    cmd = [binary("adapter-" + adapter), "--config", str(conf), "--json",
           *map(str, args)]
    p = subprocess.run(cmd, capture_output=True, text=True,
                       timeout=wait * hubtest.SLOW)
    return hub._adapter_result(p.returncode, p.stdout, p.stderr)


def write_export(hub, name, header, rows, sep=";", eol="\n", bom=False,
                 encoding="utf-8"):
    """Write header and rows (each (fields, label)) to inputs/name; every
    field that reads as a CPR (10 digits, dash or not) is remembered for
    the privacy sweep. Returns (path, [(line, label)])."""
    lines = [sep.join(header)]
    labelled = []
    for fields, label in rows:
        out = []
        for f in fields:
            f = str(f)
            digits = f.replace("-", "")
            if len(digits) == 10 and digits.isdigit():
                hub.cprs.add(digits)
            if sep in f or '"' in f or "\n" in f:
                f = '"' + f.replace('"', '""') + '"'
            out.append(f)
        lines.append(sep.join(out))
        labelled.append((len(lines), label))
    data = (eol.join(lines) + eol).encode(encoding)
    if bom:
        data = b"\xef\xbb\xbf" + data
    path = hub.inputs_dir / name
    path.write_bytes(data)
    return path, labelled


def stored(hub):
    """The hub's stored events: hubctl log --json (type, agency, id,
    supersedes, whether it concerns a person; never the CPR)."""
    p = hub.hubctl("log", "--json")
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def reported_lines(result, path):
    """Lines the adapter reported on stderr as FILE:LINE: column COL:
    reason, as {line: (column, reason)}."""
    rx = re.compile(r"^%s:(\d+): column (.*?): (.*)$" % re.escape(str(path)),
                    re.M)
    return {int(m.group(1)): (m.group(2), m.group(3))
            for m in rx.finditer(result.stderr)}


def rejects_file(path):
    """FILE.rejects.csv as {line: (column, reason)}; {} if there is none."""
    rejects = Path(str(path) + ".rejects.csv")
    if not rejects.exists():
        return {}
    text = rejects.read_text(encoding="utf-8-sig")
    sep = ";" if text.split("\n", 1)[0].count(";") >= \
        text.split("\n", 1)[0].count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    assert rows[0][:3] == ["line", "column", "reason"], rows[0]
    return {int(r[0]): (r[1], r[2]) for r in rows[1:] if r}


def expect(files):
    """From [(path, labelled)]: the rejections per file, and the totals
    (rows, accepted, rejected, duplicates, stored types)."""
    totals = collections.Counter()
    types = collections.Counter()
    persons = collections.Counter()
    bad = {}
    for path, labelled in files:
        bad[path] = {}
        for line, label in labelled:
            totals["rows"] += 1
            if isinstance(label, Ok):
                totals["accepted"] += 1
                types[label.type] += 1
                persons[label.person] += 1
            elif isinstance(label, Bad):
                totals["rejected"] += 1
                bad[path][line] = label
            else:
                totals["duplicates"] += 1
    return bad, totals, types, persons


def check_run(hub, result, files, agency, before=()):
    """The whole verdict on one adapter run over files: exit code, summary,
    every rejected line with its column and reason (stderr and rejects
    file alike), and the store holding exactly the accepted rows.
    before: the events stored before this run."""
    bad, totals, types, persons = expect(files)
    s = result.summary
    assert s is not None, str(result)
    assert result.rc == (hubtest.EXIT_ROWS_REJECTED if totals["rejected"]
                         else hubtest.EXIT_OK), str(result)
    got = {k: s[k] for k in ("rows", "accepted", "rejected_rows",
                             "duplicates", "rejected_by_hub", "pending")}
    want = {"rows": totals["rows"], "accepted": totals["accepted"],
            "rejected_rows": totals["rejected"],
            "duplicates": totals["duplicates"], "rejected_by_hub": 0,
            "pending": 0}
    assert got == want, f"summary {got}, expected {want}\n{result}"
    for path, rejected in bad.items():
        for where, lines in (("stderr", reported_lines(result, path)),
                             ("rejects file", rejects_file(path))):
            assert sorted(lines) == sorted(rejected), \
                f"{path.name}: {where} rejected lines {sorted(lines)}, " \
                f"expected {sorted(rejected)}\n{result.stderr}"
            for line, label in rejected.items():
                column, reason = lines[line]
                assert column == label.column and label.reason in reason, \
                    f"{path.name}:{line} ({where}): column {column!r}: " \
                    f"{reason!r}; expected column {label.column!r}: " \
                    f"{label.reason!r}"
    events = [e for e in stored(hub) if e["event_id"] not in
              {b["event_id"] for b in before}]
    assert collections.Counter(e["type"] for e in events) == types, \
        f"stored {collections.Counter(e['type'] for e in events)}, " \
        f"expected {types}"
    assert {e["agency"] for e in events} <= {agency}
    assert collections.Counter(e["person"] for e in events) == persons
    assert len({e["event_id"] for e in events}) == len(events)
    return events


def column_tables():
    """Each adapter's kinds with their column table rows (name, aliases,
    whether the column must be in the file), as the agency part gives
    them."""
    text = (hubtest.ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    text = text[text.index("<!-- agencies:begin"):
                text.index("<!-- agencies:end")]
    tables, adapter, kind = {}, None, None
    for line in text.splitlines():
        m = re.match(r"^### adapter-(\w+)", line)
        if m:
            adapter = m.group(1)
        m = re.match(r"^\*\*Kind `(\w+)`", line)
        if m:
            kind = m.group(1)
            tables.setdefault(adapter, {})[kind] = []
        m = re.match(r"^\| (\w+) \| ([^|]*) \| ([^|]*) \|", line)
        if m and kind and m.group(1) != "column":
            aliases = [a.strip() for a in m.group(2).split(",")
                       if a.strip()]
            required = m.group(3).strip() in ("yes", "yes (the column)")
            tables[adapter][kind].append((m.group(1), aliases, required))
    return tables
