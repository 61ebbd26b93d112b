"""103 ADAPTERS.md read a third time as an agency's IT staff read it: the
priority the journal files an adapter's own lines at (bad rows, what
stops a run), a run whose report on standard output is lost, and the
second case of sentences the earlier agency tests (06, 11-16, 20-25, 52,
87) leave unasserted."""

import os
import subprocess

import hubtest
from hubtest import (CprGen, AbsenceRow, EXIT_FATAL, EXIT_OK,
                     EXIT_ROWS_REJECTED)

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
    p, err = journal_run(hub.adapter_cmd("watch", not_dir), tmp_path,
                         "watch")
    assert p.returncode == EXIT_FATAL
    stops = [line for line in err if "adapter-school:" in line]
    assert stops and all(line.startswith("<3>adapter-school: ")
                         for line in stops), err
    assert any(f"{not_dir} is not a directory" in line
               for line in stops), err

    # A whole-file problem stops the run: err too.
    empty = hub.inputs_dir / "tom.csv"
    empty.write_text("")
    p, err = journal_run(hub.adapter_cmd("import", empty), tmp_path,
                         "empty")
    assert p.returncode == EXIT_FATAL
    stops = [line for line in err if "adapter-school:" in line]
    assert stops and all(line.startswith("<3>adapter-school: ")
                         for line in stops), err

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
    # flush into a full disk: exit 3 too.
    with open("/dev/full", "w") as full:
        p = subprocess.run(hub.adapter_cmd("flush"), stdout=full,
                           stderr=subprocess.PIPE, text=True,
                           timeout=60 * hubtest.SLOW)
    assert p.returncode == EXIT_FATAL, p.stderr
