"""25 a row whose event the hub refuses for good does not vanish
(docs/ADAPTERS.md, "Output and exit codes"): every row ends as an event
in the hub or as a line in a rejects file with the reason. The hub's
refusal comes after the row was queued (this run's delivery, or a later
`flush`); the adapter then appends the row to the rejects file its bad
rows go to, made with its header when the import left none, with its
line, an empty column and the hub's code and reason, and logs
`ADP-REJECT` with the event's id, the hub's reason, the file and the
line. Once the cause is fixed, importing the file again sends exactly
the refused rows.

The refusal used is the one an agency meets: E_DENIED, "agency is not
registered for this event type", for every adapter with the examples of
its own section of ADAPTERS.md."""

import csv
import io
import json
import os
import re
import stat
import subprocess

import pytest

import hubtest
from agencytest import run_adapter, stored
from hubtest import ROOT, EXIT_OK, EXIT_PENDING, EXIT_ROWS_REJECTED
from test_16_agency_docs import TYPES, examples
from test_22_watch import Watcher, wait_moved, watchers  # noqa: F401

# Registered for a type none of its rows makes: every row is refused.
OTHER = {"school": "missed_activation", "college": "desk",
         "addiction": "absence", "jobcenter": "addiction",
         "youthunit": "enrolment"}
REASON = "agency is not registered for this event type"
ABSENCE_HEADER = "cpr;skole;fra;til;fravær;lektioner;type"
ABSENCE_ROWS = ["150309-4321;280017;04.03.2024;08.03.2024;4;30;ulovligt",
                "150309-4321;280017;11.03.2024;15.03.2024;2;30;ulovligt"]


def read_rejects(path):
    """The CSV rejects file as (header, {line: row})."""
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    return rows[0], {int(r[0]): r for r in rows[1:] if r}


def body_lines(body):
    return body.strip().splitlines()


@pytest.mark.parametrize("adapter", sorted(TYPES))
def test_each_adapter_keeps_a_refused_row_with_file_and_line(make_hub,
                                                             adapter):
    found = [(b, t) for a, b, t in examples() if a == adapter]
    assert found, adapter
    agency = f"{adapter}-x"
    hub = make_hub(agencies={agency: OTHER[adapter]},
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "cw-desk": True})
    for i, (body, _) in enumerate(found):
        for cpr in re.findall(r"\b(\d{6})-?(\d{4})\b", body):
            hub.cprs.add("".join(cpr))
        path = hub.inputs_dir / f"export-{i}.csv"
        path.write_text(body, encoding="utf-8")
        lines = body_lines(body)
        rows = len(lines) - 1
        r = run_adapter(hub, adapter, "import", path, agency=agency)
        assert r.rc == EXIT_ROWS_REJECTED, str(r)
        s = r.summary
        assert (s["rows"], s["queued"], s["accepted"], s["rejected_rows"],
                s["rejected_by_hub"], s["pending"]) == \
            (rows, rows, 0, 0, rows, 0), str(r)
        # Each refusal names the event, the hub's reason, file and line.
        rejects = path.with_name(path.name + ".rejects.csv")
        logged = re.findall(
            r"ADP-REJECT the hub rejected event ([0-9a-f]{32}): E_DENIED: "
            + re.escape(REASON) + r"; row " + re.escape(str(path))
            + r":(\d+), kept in " + re.escape(str(rejects)) + r"\n",
            r.stderr)
        assert sorted(int(n) for _, n in logged) == \
            list(range(2, rows + 2)), r.stderr
        # ... and the row is in the rejects file, as the file had it.
        header, kept = read_rejects(rejects)
        assert header == ["line", "column", "reason"] + lines[0].split(";")
        assert sorted(kept) == list(range(2, rows + 2)), kept
        ids = dict((int(n), h) for h, n in logged)
        for line, row in kept.items():
            assert row[1] == "", row
            assert row[2].startswith(
                f"the hub refused the row's event {ids[line]}: E_DENIED: "
                f"{REASON} (ask the hub's operator"), row
            assert ";".join(row[3:]) == lines[line - 1], row
    assert stored(hub) == []

    # The operator registers the types: the rejects files, imported as
    # bad rows' are, send every row; the files themselves then send
    # nothing more, and a file whose every row went through loses its
    # rejects file.
    hub.register_agency(agency, TYPES[adapter])
    for i, (body, types) in enumerate(found):
        path = hub.inputs_dir / f"export-{i}.csv"
        rejects = path.with_name(path.name + ".rejects.csv")
        rows = len(body_lines(body)) - 1
        r = run_adapter(hub, adapter, "import", rejects, agency=agency,
                        ignore_columns="line,column,reason")
        assert r.rc == EXIT_OK, str(r)
        assert (r.summary["queued"], r.summary["accepted"]) == (rows, rows)
        r = run_adapter(hub, adapter, "import", path, agency=agency)
        assert r.rc == EXIT_OK, str(r)
        assert (r.summary["queued"], r.summary["duplicates"]) == (0, rows)
        assert not rejects.exists()
    assert len(stored(hub)) == sum(len(t) for _, t in found)
    hub.sweep()


def test_a_refusal_at_a_later_flush_still_names_file_and_line(make_hub):
    """Queued while the hub was down, refused by the `flush` of a later
    run: the outbox kept where each event came from. Of a file with a bad
    row, the refused row joins that row in its rejects file."""
    hub = make_hub(start=False, agencies={"school-a": "readiness"})
    lines = [ABSENCE_HEADER] + ABSENCE_ROWS
    hub.cprs.add("1503094321")
    bad = lines[1].split(";")
    bad[0] = "not-a-cpr"
    path = hub.inputs_dir / "uge19.csv"
    path.write_text("\n".join(lines + [";".join(bad)]) + "\n",
                    encoding="utf-8")
    rows = len(lines) - 1
    r = run_adapter(hub, "school", "import", path, agency="school-a",
                    timeout=0)
    assert r.rc == EXIT_PENDING, str(r)
    assert (r.summary["rejected_rows"], r.summary["pending"]) == (1, rows)
    rejects = path.with_name(path.name + ".rejects.csv")
    _, kept = read_rejects(rejects)
    assert sorted(kept) == [rows + 2]

    hub.start()
    r = run_adapter(hub, "school", "flush", agency="school-a")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rejected_by_hub"], r.summary["pending"]) == (rows, 0)
    for line in range(2, rows + 2):
        assert re.search(r"ADP-REJECT the hub rejected event [0-9a-f]{32}: "
                         r"E_DENIED: " + re.escape(REASON) + r"; row "
                         + re.escape(f"{path}:{line}") + ", kept in "
                         + re.escape(str(rejects)), r.stderr), r.stderr
    _, kept = read_rejects(rejects)
    assert sorted(kept) == list(range(2, rows + 3)), kept
    assert kept[rows + 2][1] == "cpr"        # the bad row, as before
    for line in range(2, rows + 2):
        assert ";".join(kept[line][3:]) == lines[line - 1]
    hub.sweep()


def test_json_lines_and_the_rejects_setting(make_hub):
    """A JSON Lines file's refused line goes to FILE.rejects.jsonl as the
    adapter's own bad lines do; with `rejects = PATH` the refused rows of
    every file of the run go there, each with its file."""
    hub = make_hub(agencies={"school-a": "readiness"})
    record = next(line for line in
                  (ROOT / "docs" / "ADAPTERS.md")
                  .read_text(encoding="utf-8").splitlines()
                  if line.startswith('{"cpr": '))
    cpr = json.loads(record)["cpr"].replace("-", "")
    hub.cprs.add(cpr)
    path = hub.inputs_dir / "uge19.jsonl"
    path.write_text(record + "\n", encoding="utf-8")
    r = run_adapter(hub, "school", "import", path, agency="school-a")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    kept = [json.loads(line) for line in
            path.with_name("uge19.jsonl.rejects.jsonl").read_text(
                encoding="utf-8").splitlines()]
    assert len(kept) == 1 and kept[0]["line"] == 1, kept
    assert kept[0]["column"] == "" and kept[0]["record"] == record
    assert f"E_DENIED: {REASON}" in kept[0]["reason"]

    # Two CSV files, one run-wide rejects file.
    header, rows = ABSENCE_HEADER, ABSENCE_ROWS
    hub.cprs.add("1503094321")
    paths = []
    for i, row in enumerate(rows):
        p = hub.inputs_dir / f"week{i}.csv"
        p.write_text(header + "\n" + row + "\n", encoding="utf-8")
        paths.append(p)
    shared = hub.inputs_dir / "refused.csv"
    r = run_adapter(hub, "school", "import", *paths, agency="school-a",
                    rejects=shared)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    text = shared.read_text(encoding="utf-8-sig")
    table = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert table[0] == ["file", "line", "column", "reason"] + \
        header.split(";")
    assert sorted((t[0], t[1]) for t in table[1:]) == \
        [(str(paths[0]), "2"), (str(paths[1]), "2")]
    assert not any(p.with_name(p.name + ".rejects.csv").exists()
                   for p in paths)
    hub.sweep()


def test_watch_keeps_a_refused_row_beside_its_file_in_done(make_hub,
                                                           watchers):
    """Under `watch` the hub answers after the file is in done/: its
    refused rows join its rejects file there (made with the header if the
    file had no bad row), under the name the file has in done/ (a second
    uge19.csv is uge19.2.csv), and ADP-REJECT names the file and line as
    it was dropped."""
    hub = make_hub(agencies={"school-a": "readiness"})
    hub.cprs.add("1503094321")
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    lines = [ABSENCE_HEADER] + ABSENCE_ROWS
    for n, body in enumerate([lines, lines[:2] + ["x" + lines[2][11:]]]):
        part = drop / "uge19.csv.part"
        part.write_text("\n".join(body) + "\n", encoding="utf-8")
        part.rename(drop / "uge19.csv")
        name = "uge19.csv" if n == 0 else "uge19.2.csv"
        wait_moved(drop, "done", name)
        rejects = drop / "done" / (name + ".rejects.csv")
        hubtest.wait_for(lambda: rejects.exists() and len(
            read_rejects(rejects)[1]) == 2, 20, f"{name}'s refused row")
        header, kept = read_rejects(rejects)
        assert header == ["line", "column", "reason"] + \
            ABSENCE_HEADER.split(";")
        assert sorted(kept) == [2, 3], kept
        assert f"E_DENIED: {REASON}" in kept[2][2]
        assert ";".join(kept[2][3:]) == lines[1]
        if n == 1:
            assert kept[3][1] == "cpr" and "E_DENIED" not in kept[3][2]
        hubtest.wait_for(lambda: re.search(
            r"ADP-REJECT the hub rejected event [0-9a-f]{32}: E_DENIED: "
            + re.escape(REASON) + r"; row "
            + re.escape(str(drop / "uge19.csv")) + r":2, kept in "
            + re.escape(str(rejects)), w.text()), 10, "ADP-REJECT")
    w.stop()
    assert stored(hub) == []
    hub.sweep()


def test_a_refused_row_never_waits_on_a_pipe_nor_follows_a_link(make_hub):
    """ADAPTERS.md: a refused row is logged `..., which cannot be kept in
    REJECTS: WHY` at err when that file cannot be written, a symbolic
    link or not a regular file included, and both are left as they were.
    A named pipe where FILE.rejects.csv goes held the delivery in open()
    until something read the row (its CPR verbatim): the run never
    ended."""
    hub = make_hub(agencies={"school-a": "readiness"})
    hub.cprs.add("1503094321")
    target = hub.inputs_dir / "elsewhere.csv"
    kinds = {}
    for name, row in zip(("piped", "linked"), ABSENCE_ROWS):
        path = hub.inputs_dir / f"{name}.csv"
        path.write_text(ABSENCE_HEADER + "\n" + row + "\n", encoding="utf-8")
        rejects = path.with_name(path.name + ".rejects.csv")
        if name == "piped":
            os.mkfifo(rejects)
        else:
            rejects.symlink_to(target)
        kinds[name] = (path, rejects)
    r = run_adapter(hub, "school", "import", *(p for p, _ in kinds.values()),
                    agency="school-a", wait=30)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rejected_by_hub"], r.summary["pending"]) == (2, 0)
    whys = {"piped": "it is not a regular file",
            "linked": "it is a symbolic link, which the adapter never "
                      "writes through"}
    for name, (path, rejects) in kinds.items():
        assert re.search(
            r"adapter-school err ADP-REJECT the hub rejected event "
            r"[0-9a-f]{32}: E_DENIED: " + re.escape(REASON) + "; row "
            + re.escape(f"{path}:2, which cannot be kept in {rejects}: "
                        f"{whys[name]}") + "\n", r.stderr), r.stderr
    assert stat.S_ISFIFO(os.lstat(kinds["piped"][1]).st_mode)
    assert os.readlink(kinds["linked"][1]) == str(target)
    assert not target.exists()
    hub.sweep()


def test_a_relative_path_is_kept_beside_its_file_from_anywhere(make_hub):
    """`import uge19.csv` in the clerk's directory, the hub down; the
    `flush` that meets the refusal runs elsewhere (cron, another shell):
    the row still joins uge19.csv.rejects.csv beside the input, not a
    file of that name wherever flush happens to run."""
    hub = make_hub(start=False, agencies={"school-a": "readiness"})
    hub.cprs.add("1503094321")
    (hub.inputs_dir / "uge19.csv").write_text(
        ABSENCE_HEADER + "\n" + ABSENCE_ROWS[0] + "\n", encoding="utf-8")
    elsewhere = hub.tmp / "elsewhere"
    elsewhere.mkdir()
    conf = hub.school_conf("school-a", timeout=0)
    cmd = [hubtest.binary("adapter-school"), "--config", str(conf),
           "--json"]
    p = subprocess.run(cmd + ["import", "uge19.csv"], cwd=hub.inputs_dir,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == EXIT_PENDING, p.stderr
    hub.start()
    conf = hub.school_conf("school-a")
    p = subprocess.run(cmd + ["flush"], cwd=elsewhere, capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == EXIT_ROWS_REJECTED, p.stderr
    rejects = hub.inputs_dir / "uge19.csv.rejects.csv"
    assert re.search(r"; row uge19\.csv:2, kept in "
                     + re.escape(str(rejects)) + r"\n", p.stderr), p.stderr
    _, kept = read_rejects(rejects)
    assert sorted(kept) == [2]
    assert list(elsewhere.iterdir()) == []
    hub.sweep()


def test_a_whole_file_refused_keeps_every_row_once(make_hub):
    """An agency registered without its type imports a big export: every
    row is refused, and every row is in the rejects file exactly once,
    under its own line, with its bad rows among them, in one run."""
    hub = make_hub(agencies={"school-a": "readiness"})
    cprs = hubtest.CprGen(2501).take(3000)
    hub.cprs.update(cprs[::50])
    rows = [hubtest.AbsenceRow(c) for c in cprs]
    rows[1234] = hubtest.AbsenceRow(cprs[1234], absent="x")
    path, numbers = hub.csv("big.csv", rows)
    r = hub.adapter("import", path, wait=120)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)[-2000:]
    assert (r.summary["rejected_rows"], r.summary["rejected_by_hub"],
            r.summary["pending"]) == (1, 2999, 0), r.summary
    rejects = path.with_name("big.csv.rejects.csv")
    _, kept = read_rejects(rejects)
    assert sorted(kept) == numbers, len(kept)
    assert len(rejects.read_text().splitlines()) == 1 + len(numbers)
    assert kept[numbers[1234]][1] == "lessons_absent"
    assert sum(1 for k in kept.values() if "E_DENIED" in k[2]) == 2999
    hub.sweep()


@pytest.mark.parametrize("damage", ["cut_short", "cannot_open"])
def test_a_refusal_without_its_row_says_why(make_hub, damage):
    """When the outbox cannot name a refused event's row, ADP-REJECT says
    why, so the operator knows whether the disk or OUTBOX/origins needs
    looking at: its record cut short (a crash), or the file not opened
    (here a directory in its place; OUTBOX-ORIGINS warned at the start).
    The row is not in the rejects file then, and the flush still ends
    with every event accounted for."""
    hub = make_hub(start=False, agencies={"school-a": "readiness"})
    hub.cprs.add("1503094321")
    path = hub.inputs_dir / "uge19.csv"
    path.write_text("\n".join([ABSENCE_HEADER] + ABSENCE_ROWS) + "\n",
                    encoding="utf-8")
    r = run_adapter(hub, "school", "import", path, agency="school-a",
                    timeout=0)
    assert r.rc == EXIT_PENDING, str(r)
    origins = hub.outbox_dir("school-a") / "origins"
    assert origins.stat().st_size > 0
    if damage == "cut_short":
        with open(origins, "r+b") as f:
            f.truncate(origins.stat().st_size // 3)
        why = "its record in OUTBOX/origins is cut short or damaged"
    else:
        origins.unlink()
        origins.mkdir()
        why = "OUTBOX/origins cannot be opened"
    hub.start()
    r = run_adapter(hub, "school", "flush", agency="school-a")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["rejected_by_hub"], r.summary["pending"]) == (2, 0)
    said = re.findall(r"ADP-REJECT the hub rejected event [0-9a-f]{32}: "
                      r"E_DENIED: " + re.escape(REASON) + r" \(the outbox "
                      r"does not say which row it was: (.*)\)", r.stderr)
    if damage == "cut_short":
        # The first record may have survived the cut: named by its row.
        assert why in said and set(said) == {why}, r.stderr
        assert len(said) + r.stderr.count("; row ") == 2, r.stderr
    else:
        assert said == [why, why], r.stderr
        assert "OUTBOX-ORIGINS" in r.stderr
        assert "queued by an older adapter" not in r.stderr
    hub.sweep()
