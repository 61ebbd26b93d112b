"""103 ADAPTERS.md read a third time as an agency's IT staff read it: the
priority the journal files an adapter's own lines at (bad rows, what
stops a run), a run whose report on standard output is lost, and the
second case of sentences the earlier agency tests (06, 11-16, 20-25, 52,
87) leave unasserted."""

import json
import os
import shutil
import signal
import stat
import subprocess

import hubtest
from hubtest import (CprGen, AbsenceRow, EXIT_FATAL, EXIT_OK,
                     EXIT_ROWS_REJECTED, dashed, wait_for, write_absence_csv)

CPRS = CprGen(10301).take(8)


def journal_run(cmd, tmp_path, name, stream=None):
    """Run cmd with its standard error a file that JOURNAL_STREAM names,
    as systemd names the stream it gives a unit (stream: another value
    for the variable). Returns the process and stderr's lines."""
    err = tmp_path / f"{name}.err"
    err.touch()
    st = os.stat(err)
    env = dict(os.environ,
               JOURNAL_STREAM=stream or f"{st.st_dev}:{st.st_ino}")
    env.pop("UG_LOG_LEVEL", None)
    with open(err, "r+b") as f:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=f, env=env,
                           timeout=60 * hubtest.SLOW)
    return p, err.read_text().splitlines()


def stopped_at_err(cmd, tmp_path, name):
    """cmd run under a journal stream stops the run (exit 3), and every
    line it wrote of why carries the err priority: (its stderr lines, the
    adapter's own)."""
    p, err = journal_run(cmd, tmp_path, name)
    assert p.returncode == EXIT_FATAL
    stops = [line for line in err if "adapter-school:" in line]
    assert stops and all(line.startswith("<3>adapter-school: ")
                         for line in stops), err
    return err, stops


def test_under_the_journal_bad_rows_are_warnings_and_what_stops_a_run_err(
        make_hub, tmp_path):
    """ADAPTERS.md, "Running unattended": under the unit the bad rows
    (FILE:LINE: ...) carry priority warning and what stops a run
    (adapter-NAME: ...) priority err, as the log lines carry theirs, so
    journalctl -p err shows why a watcher stopped; outside the journal
    (or with JOURNAL_STREAM naming another stream) no mark."""
    hub = make_hub()
    path, lines = hub.csv("uge19.csv", [
        AbsenceRow(CPRS[0], period_start="2026-03-02",
                   period_end="2026-03-06", absent=4, expected=30),
        AbsenceRow(CPRS[1], period_start="2026-03-02",
                   period_end="2026-03-06", absent=31, expected=30)])
    p, err = journal_run(hub.adapter_cmd("import", path), tmp_path, "rows")
    assert p.returncode == EXIT_ROWS_REJECTED, err
    bad = (f"<4>{path}:{lines[1]}: column lessons_absent: lessons_absent "
           "31 is more than lessons_expected 30")
    assert bad in err, err
    # Every line of the run bears a priority journald reads.
    assert all(line[:3] in ("<3>", "<4>", "<5>", "<6>", "<7>")
               for line in err), err

    p, err = journal_run(hub.adapter_cmd("--window", "0", "import", path),
                         tmp_path, "setting")
    assert p.returncode == EXIT_FATAL
    assert err == ["<3>adapter-school: window must be a whole number "
                   "from 1 to 65536"], err

    # A watcher that cannot watch its directory stops at err.
    not_dir = tmp_path / "spool"
    not_dir.write_text("")
    err, stops = stopped_at_err(hub.adapter_cmd("watch", not_dir),
                                tmp_path, "watch")
    assert any(f"{not_dir} is not a directory" in line
               for line in stops), err

    # A whole-file problem stops the run: err too.
    empty = hub.inputs_dir / "tom.csv"
    empty.write_text("")
    stopped_at_err(hub.adapter_cmd("import", empty), tmp_path, "empty")

    # JOURNAL_STREAM naming another stream (a script's 2>>FILE): plain.
    p, err = journal_run(hub.adapter_cmd("--window", "0", "import", path),
                         tmp_path, "elsewhere", stream="8:12345")
    assert p.returncode == EXIT_FATAL
    assert err == ["adapter-school: window must be a whole number "
                   "from 1 to 65536"], err
    # No journal at all: plain, the bad row as quoted.
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED
    assert bad[3:] in r.stderr.splitlines(), r.stderr


def test_a_run_whose_report_cannot_be_written_does_not_exit_0(make_hub):
    """ADAPTERS.md, "Output and exit codes": the per-file lines and the
    summary are the run's report; when standard output is a full disk or
    closed, import and flush exit 3 (never 0) and say so, the events
    queued and delivered all the same."""
    hub = make_hub()
    path, _ = hub.csv("uge20.csv", [
        AbsenceRow(CPRS[2], period_start="2026-03-09",
                   period_end="2026-03-13", absent=2, expected=30)])
    cmd = hub.adapter_cmd("import", path)
    with open("/dev/full", "w") as full:
        p = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=60 * hubtest.SLOW)
    assert p.returncode == EXIT_FATAL, p.stderr
    assert ("adapter-school: cannot write the run's report on standard "
            "output: No space left on device; the events were queued and "
            "sent as usual (run flush to see what is pending)"
            in p.stderr.splitlines()), p.stderr
    # Delivered all the same: imported again, a duplicate, exit 0.
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, r.stderr
    assert r.summary["duplicates"] == 1 and r.summary["pending"] == 0

    # Standard output closed (>&-): the same, with its cause.
    for args in (["import", str(path)], ["flush"]):
        p = subprocess.run(
            [*hub.adapter_cmd(*args)], stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, text=True, timeout=60 * hubtest.SLOW,
            preexec_fn=lambda: os.close(1))
        assert p.returncode == EXIT_FATAL, (args, p.stderr)
        assert ("adapter-school: cannot write the run's report on "
                "standard output: Bad file descriptor; the events were "
                "queued and sent as usual (run flush to see what is "
                "pending)" in p.stderr.splitlines()), p.stderr
    # adapter-NAME(1), EXIT STATUS, where OPERATIONS.md sends the reader
    # for every case of exit 3, names this one.
    page = (hubtest.ROOT / "deploy" / "man" / "adapter-school.1").read_text()
    assert ("the run's report (import, flush) could not be written on "
            "standard output (a full disk, stdout closed)") in page
    # flush into a full disk: exit 3 too.
    with open("/dev/full", "w") as full:
        p = subprocess.run(hub.adapter_cmd("flush"), stdout=full,
                           stderr=subprocess.PIPE, text=True,
                           timeout=60 * hubtest.SLOW)
    assert p.returncode == EXIT_FATAL, p.stderr


def test_watch_ignores_the_rejects_setting_and_delivers_what_a_stop_left(
        make_hub):
    """ADAPTERS.md: `rejects` is for import ("watch ignores it in a config
    file", even one naming a directory that does not exist, which import
    refuses, exit 3): a watched file's rejected rows go beside it in
    done/, NAME.rejects.csv, or NAME.rejects.jsonl for JSON Lines (one
    object per rejected line: line, column, reason, record). SIGTERM
    exits 0 with its totals (ADP-STOP), the outbox keeping what the hub,
    down meanwhile, did not take; the next start delivers it
    (ADP-IDLE), each event once."""
    hub = make_hub(start=False)
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    a, b = CPRS[3], CPRS[4]
    hub.cprs.update([a, b])
    nowhere = hub.inputs_dir / "nodir" / "rejects.csv"

    plain, _ = hub.csv("plain.csv", [AbsenceRow(CPRS[5])])
    r = hub.adapter("import", plain, rejects=nowhere)
    assert r.rc == EXIT_FATAL, r
    assert f"rejects = {nowhere}" in r.stderr, r.stderr

    def start(n):
        log = hub.logs_dir / f"watch-{n}.log"
        with open(log, "wb") as err:
            proc = subprocess.Popen(
                hub.adapter_cmd("watch", drop, settle=0, rescan=1,
                                rejects=nowhere),
                stdout=subprocess.PIPE, stderr=err,
                stdin=subprocess.DEVNULL)
        wait_for(lambda: "ADP-WATCH watching" in log.read_text(), 10,
                 "the watcher to start")
        return proc, log

    def stop(proc):
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30 * hubtest.SLOW)
        assert proc.returncode == EXIT_OK
        assert out == b""  # json = true or not: watch prints nothing

    proc, log = start(1)
    try:
        write_absence_csv(drop / "uge01.csv.part", [AbsenceRow(a), "x;y"])
        os.rename(drop / "uge01.csv.part", drop / "uge01.csv")
        good = {"cpr": dashed(b), "school": "280017",
                "period_start": "2024-05-06", "period_end": "2024-05-10",
                "lessons_absent": 2, "lessons_expected": 30,
                "kind": "ulovligt"}
        (drop / "uge02.jsonl.part").write_text(json.dumps(good) +
                                               "\n{bad\n")
        os.rename(drop / "uge02.jsonl.part", drop / "uge02.jsonl")
        wait_for(lambda: (drop / "done" / "uge02.jsonl.report.json")
                 .exists() and (drop / "done" / "uge01.csv.report.json")
                 .exists(), 20, "both files in done/")
    finally:
        stop(proc)
    assert ("ADP-STOP stopping: 4 rows imported, 0 events accepted by the "
            "hub, 2 pending in the outbox") in log.read_text()
    assert not nowhere.parent.exists()
    done = drop / "done"
    assert (done / "uge01.csv.rejects.csv").read_text() == (
        "line;column;reason;cpr;school;period_start;period_end;"
        "lessons_absent;lessons_expected;kind;grade\n"
        "3;;the row has 2 fields, the header has 8 (a separator is "
        "missing, or the row is cut short);x;y\n")
    rejected = (done / "uge02.jsonl.rejects.jsonl").read_text()
    assert [json.loads(line) for line in rejected.splitlines()] == [
        {"line": 2, "column": "", "reason": "expected a key in double "
         "quotes", "record": "{bad"}]
    for name in ("uge01.csv.rejects.csv", "uge02.jsonl.rejects.jsonl",
                 "uge01.csv.report.json", "uge02.jsonl.report.json"):
        assert stat.S_IMODE(os.stat(done / name).st_mode) == 0o600, name
    report = json.loads((done / "uge02.jsonl.report.json").read_text())
    assert report["rejects_file"] == "uge02.jsonl.rejects.jsonl"
    assert report["rejects"] == [{"line": 2, "column": "",
                                  "reason": "expected a key in double "
                                  "quotes"}]

    hub.start()
    proc, log = start(2)
    try:
        wait_for(lambda: "ADP-IDLE everything queued is delivered (2 "
                 "accepted so far)" in log.read_text(), 40 * hubtest.SLOW,
                 "the pending events delivered")
    finally:
        stop(proc)
    assert ("ADP-STOP stopping: 0 rows imported, 2 events accepted by the "
            "hub, 0 pending in the outbox") in log.read_text()
    stored = hub.hubctl("log", "--json").stdout.splitlines()
    assert len(stored) == 2, stored


def test_the_last_line_of_a_watcher_that_stops_says_why(make_hub, tmp_path):
    """ADAPTERS.md, "Running unattended": a watcher stops (exit 3) when
    DIR is gone, and its last line, at err under the unit, says why
    (`adapter-school: watch DIR stops: cannot read DIR: No such file or
    directory`), not an error code; a cause already said at err (done/
    with a file in its way) is said once."""
    hub = make_hub()
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    err = tmp_path / "watch.err"
    err.touch()
    st = os.stat(err)
    env = dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}")
    env.pop("UG_LOG_LEVEL", None)
    with open(err, "r+b") as f:
        proc = subprocess.Popen(hub.adapter_cmd("watch", drop, settle=0,
                                                rescan=1),
                                stdout=subprocess.DEVNULL, stderr=f,
                                stdin=subprocess.DEVNULL, env=env)
    try:
        wait_for(lambda: "ADP-WATCH watching" in err.read_text(), 10,
                 "the watcher to start")
        shutil.rmtree(drop)
        rc = proc.wait(timeout=30 * hubtest.SLOW)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert rc == EXIT_FATAL
    lines = err.read_text().splitlines()
    assert lines[-1] == (f"<3>adapter-school: watch {drop} stops: cannot "
                         f"read {drop}: No such file or directory"), lines

    # done/ with a file in its way at start: one line, the cause.
    drop.mkdir()
    (drop / "done").write_text("")
    p, lines = journal_run(hub.adapter_cmd("watch", drop), tmp_path,
                           "in-the-way")
    assert p.returncode == EXIT_FATAL
    stops = [line for line in lines if "adapter-school:" in line]
    assert stops == [f"<3>adapter-school: cannot create {drop}/done: a "
                     "file of that name is in the way"], lines
