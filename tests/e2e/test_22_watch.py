"""22 watch: the unattended mode, `adapter-school watch DIR`.

Files dropped into DIR are imported once complete and moved to done/ (or
failed/ for a whole-file problem) with NAME.report.json beside them; a
file still open for writing, or still growing, is never imported half-way;
delivery goes on in the background while the hub comes and goes; SIGTERM
stops cleanly (exit 0) and the outbox keeps what is pending. Waits poll
with deadlines; the only sleeps pace a simulated slow writer. Every test
ends with the privacy sweep, which also reads the watcher's log; the
reports are swept here (the rejects files, like the inputs, hold CPRs by
design)."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import hubtest
from hubtest import (AbsenceRow, CprGen, csv_line, privacy_sweep,
                     read_key_file, wait_for, write_absence_csv)
from runtimetest import assert_store, wait_stored

SETTLE = 1


class Watcher:
    """adapter-PROGRAM watch DIR (adapter-school unless program names
    another), its log in the hub's (swept) logs dir."""

    def __init__(self, hub, drop, program="school", **settings):
        self.hub, self.drop = hub, drop
        drop.mkdir(exist_ok=True)
        settings.setdefault("settle", SETTLE)
        settings.setdefault("log_level", "debug")
        self.log = hub.logs_dir / f"watch-{id(self)}.log"
        cmd = hub.adapter_cmd("watch", drop, **settings)
        cmd[0] = hubtest.binary("adapter-" + program)
        self.out = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.out,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        wait_for(lambda: "ADP-WATCH watching" in self.text(), 10,
                 "the watcher to start")

    def text(self):
        return self.log.read_text(errors="replace")

    def stop(self, expect=0):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=30 * hubtest.SLOW)
        self.out.close()
        assert rc == expect, f"watcher exited {rc}:\n{self.text()}"
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


@pytest.fixture
def watchers():
    started = []
    yield started
    for w in started:
        w.kill()


def drop_file(hub, drop, name, rows, **kw):
    """Write a CSV beside drop as NAME.part, then rename it in: the way an
    export job should hand a file over."""
    for r in rows:
        if isinstance(r, AbsenceRow):
            hub.cprs.add(r.cpr)
    part = drop / (name + ".part")
    lines = write_absence_csv(part, rows, **kw)
    os.rename(part, drop / name)
    return lines


def wait_moved(drop, sub, name, timeout=20):
    path = drop / sub / name
    wait_for(lambda: (drop / sub / (name + ".report.json")).exists() and
             path.exists(), timeout, f"{sub}/{name}")
    return json.loads((drop / sub / (name + ".report.json")).read_text())


def sweep_reports(hub, drop):
    n = privacy_sweep(list(drop.glob("*/*.report.json")), hub.cprs)
    assert n > 0


def test_watch_imports_moves_and_reports(hub, watchers):
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    gen = CprGen(2201)
    good = [AbsenceRow(c) for c in gen.take(5)]
    bad_cpr = gen.next()
    hub.cprs.add(bad_cpr)
    mixed = [AbsenceRow(c) for c in gen.take(3)]
    # Not to be touched: a dotfile, a .tmp and a .part that stays, in
    # any case (a Windows export job's EXPORT.CSV.PART, ~X.TMP), and a
    # file in a subdirectory.
    (drop / "sub").mkdir()
    for name in (".hidden.csv", "x.tmp", "y.csv.part", "Z.CSV.PART",
                 "~W.TMP", "sub/v.csv"):
        write_absence_csv(drop / name, [AbsenceRow(gen.next())])
        hub.cprs.update(gen.seen)
    drop_file(hub, drop, "good.csv", good)
    lines = drop_file(hub, drop, "mixed.csv", [
        mixed[0], f"{bad_cpr};280017;2024-05-06;2024-05-32;1;100;ulovligt;8",
        mixed[1], mixed[2]])
    (drop / "utf16.csv").write_bytes(
        "cpr;school\n0101101234;1\n".encode("utf-16"))
    hub.cprs.add("0101101234")

    rep = wait_moved(drop, "done", "good.csv")
    assert (rep["status"], rep["rows"], rep["queued"],
            rep["rejected_rows"], rep["rejects"], rep["rejects_file"]) == \
        ("done", 5, 5, 0, [], None)
    assert (rep["format"], rep["encoding"], rep["kind"]) == \
        ("csv", "utf-8", "absence")
    rep = wait_moved(drop, "done", "mixed.csv")
    assert (rep["rows"], rep["queued"], rep["rejected_rows"]) == (4, 3, 1)
    assert rep["rejects"] == [{"line": lines[1], "column": "period_end",
                               "reason": "period_end is not a date "
                               "(YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)"}]
    assert rep["rejects_file"] == "mixed.csv.rejects.csv"
    rejects = (drop / "done" / "mixed.csv.rejects.csv").read_text()
    assert rejects.splitlines()[1].startswith(f"{lines[1]};period_end;")
    rep = wait_moved(drop, "failed", "utf16.csv")
    assert rep["status"] == "failed"
    assert "wrong encoding: the file is UTF-16" in rep["error"]
    assert rep["rows"] == 0
    # Delivered in the background, exactly the good rows.
    assert_store(hub, good + mixed)
    # The ignored files are where they were; nothing else is left.
    left = sorted(p.name for p in drop.iterdir() if p.is_file())
    assert left == [".hidden.csv", "Z.CSV.PART", "x.tmp", "y.csv.part",
                    "~W.TMP"]
    assert (drop / "sub" / "v.csv").is_file()
    w.stop()
    assert "ADP-STOP" in w.text()
    sweep_reports(hub, drop)


def test_modes_of_done_failed_and_what_goes_there_whatever_the_umask(
        hub, watchers):
    """ADAPTERS.md: done/ and failed/ are made 0700, each report and
    rejects file 0600 whatever the umask, the input keeps its own mode;
    a done/ or failed/ already there keeps its mode (as a data_dir does,
    OPERATIONS.md), which the docs did not say."""
    import stat
    doc = " ".join((hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
                   .split())
    assert "a `done/` or `failed/` already there keeps its mode" in doc
    mode = lambda p: stat.S_IMODE(os.stat(p).st_mode)  # noqa: E731
    drop = hub.inputs_dir / "drop"
    old = os.umask(0)
    try:
        w = Watcher(hub, drop)
    finally:
        os.umask(old)
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2252).take(2)]
    hub.cprs.update(r.cpr for r in rows)
    hub.cprs.add("0101101234")
    part = drop / "modes.csv.part"
    write_absence_csv(part, rows + ["0101101234;280017;x;y;1;2;ulovligt;1"])
    os.chmod(part, 0o664)
    os.rename(part, drop / "modes.csv")
    (drop / "bad.csv").write_bytes(b"x;y\n1;2\n")
    wait_moved(drop, "done", "modes.csv")
    wait_moved(drop, "failed", "bad.csv")
    assert (mode(drop / "done"), mode(drop / "failed")) == (0o700, 0o700)
    for name in ("done/modes.csv.report.json", "done/modes.csv.rejects.csv",
                 "failed/bad.csv.report.json"):
        assert mode(drop / name) == 0o600, name
    assert mode(drop / "done" / "modes.csv") == 0o664
    w.stop()
    # Made wider by an operator: left so.
    drop2 = hub.inputs_dir / "drop2"
    drop2.mkdir()
    (drop2 / "done").mkdir()
    os.chmod(drop2 / "done", 0o750)
    w2 = Watcher(hub, drop2)
    watchers.append(w2)
    drop_file(hub, drop2, "again.csv", rows)
    wait_moved(drop2, "done", "again.csv")
    assert (mode(drop2 / "done"), mode(drop2 / "failed")) == (0o750, 0o700)
    assert mode(drop2 / "done" / "again.csv.report.json") == 0o600
    w2.stop()


def test_report_reads_as_adapters_md_shows_it(hub, watchers):
    """The report ADAPTERS.md shows, character by character: a file of
    four rows whose third line has a bad period_end gives that text, but
    for the time it finished."""
    doc = (hubtest.ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    sample = re.search(r"```json\n(.*?)```", doc, re.S).group(1)
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2202).take(4)]
    rows[1].period_end = "2024-05-1x"
    drop_file(hub, drop, "uge19.csv", rows)
    rep = wait_moved(drop, "done", "uge19.csv")
    text = (drop / "done" / "uge19.csv.report.json").read_text()
    assert text == sample.replace("2026-05-11T06:00:03Z",
                                  rep["finished_at"]), text
    w.stop()
    sweep_reports(hub, drop)


def test_sighup_is_ignored_and_the_watcher_imports_on(hub, watchers):
    """ADAPTERS.md: SIGHUP is ignored; the watcher goes on importing and
    a SIGTERM still stops it with exit 0."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    w.proc.send_signal(signal.SIGHUP)
    rows = [AbsenceRow(c) for c in CprGen(2209).take(2)]
    drop_file(hub, drop, "after-hup.csv", rows)
    wait_moved(drop, "done", "after-hup.csv")
    assert w.proc.poll() is None
    w.stop()


def test_file_open_for_writing_is_not_imported(hub, watchers):
    """The export job keeps the file open and pauses longer than settle:
    the file looks complete but is not. It is imported only once closed,
    and then whole."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    cprs = CprGen(2202).take(10)
    rows = [AbsenceRow(c) for c in cprs]
    hub.cprs.update(cprs)
    path = drop / "aa-growing.csv"
    f = open(path, "w")
    f.write(csv_line(hubtest.DEFAULT_HEADER) + "\n")
    for r in rows[:5]:
        f.write(csv_line(r.fields()) + "\n")
    f.flush()
    # A complete file dropped after it: once it is done, the watcher has
    # seen the growing file settled (it was older) and passed it over.
    marker = [AbsenceRow(c) for c in CprGen(2203).take(1)]
    drop_file(hub, drop, "zz-marker.csv", marker)
    wait_moved(drop, "done", "zz-marker.csv")
    assert path.exists()
    assert "aa-growing.csv is still open for writing" in w.text()
    assert wait_stored(hub, 1)
    for r in rows[5:]:
        f.write(csv_line(r.fields()) + "\n")
    f.close()
    rep = wait_moved(drop, "done", "aa-growing.csv")
    assert (rep["rows"], rep["queued"]) == (10, 10)
    assert_store(hub, rows + marker)
    w.stop()
    sweep_reports(hub, drop)


def test_file_open_for_writing_with_settle_0_holds_up_nothing(hub,
                                                             watchers):
    """settle = 0 (a documented value): a file held open for writing is
    looked at again later, not in a loop of its own, so the files after
    it are imported and delivered meanwhile, and the log is not flooded
    with its "still open" line."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, settle=0)
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2207).take(4)]
    hub.cprs.update(r.cpr for r in rows)
    path = drop / "aa-open.csv"
    f = open(path, "w")
    f.write(csv_line(hubtest.DEFAULT_HEADER) + "\n")
    for r in rows[:2]:
        f.write(csv_line(r.fields()) + "\n")
    f.flush()
    wait_for(lambda: "aa-open.csv is still open for writing" in w.text(),
             10, "the watcher to find aa-open.csv open")
    marker = [AbsenceRow(c) for c in CprGen(2208).take(1)]
    drop_file(hub, drop, "zz-marker.csv", marker)
    wait_moved(drop, "done", "zz-marker.csv")
    assert_store(hub, marker)
    assert path.exists()
    assert w.text().count("aa-open.csv is still open for writing") < 50
    for r in rows[2:]:
        f.write(csv_line(r.fields()) + "\n")
    f.close()
    rep = wait_moved(drop, "done", "aa-open.csv")
    assert (rep["rows"], rep["queued"]) == (4, 4)
    assert_store(hub, rows + marker)
    w.stop()
    sweep_reports(hub, drop)


def test_file_appended_in_bursts_is_imported_whole(hub, watchers):
    """A writer that closes the file between appends (`>>`), faster than
    settle: only the complete file is imported."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, settle=2)
    watchers.append(w)
    cprs = CprGen(2204).take(12)
    rows = [AbsenceRow(c) for c in cprs]
    hub.cprs.update(cprs)
    path = drop / "bursts.csv"
    with open(path, "w") as f:
        f.write(csv_line(hubtest.DEFAULT_HEADER) + "\n")
    for r in rows:
        with open(path, "a") as f:
            f.write(csv_line(r.fields()) + "\n")
        time.sleep(0.25)   # paces the writer; synchronises nothing
    rep = wait_moved(drop, "done", "bursts.csv")
    assert (rep["rows"], rep["queued"]) == (12, 12)
    assert_store(hub, rows)
    assert "changed while it was imported" not in w.text()
    w.stop()


def log_ms(line):
    """The monotonic-enough wall time of a log line, in ms."""
    stamp = line.split(" ", 1)[0]
    hms = stamp[stamp.index("T") + 1:-1]
    h, m, s = hms.split(":")
    return round(((int(h) * 60 + int(m)) * 60 + float(s)) * 1000)


def test_file_changed_while_read_with_settle_0_waits_a_second(hub,
                                                               watchers):
    """ADAPTERS.md: a file changed while it was read is looked at again
    after settle seconds, 1 s at the least (with settle = 0 too). The
    change itself used to reset that wait, so with settle 0 a file still
    being written was read again at once, over and over; now it waits,
    what it queued taken out again, and is then imported whole.
    Its taken-out attempt owed no ADP-IDLE but logged one."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, settle=0)
    watchers.append(w)
    gen = CprGen(2261)
    rows = [AbsenceRow(c) for c in gen.take(40000)]
    hub.cprs.update(r.cpr for r in rows)
    part = drop / "big.csv.part"
    write_absence_csv(part, rows)
    os.rename(part, drop / "big.csv")
    wait_for(lambda: "big.csv: CSV" in w.text(), 20, "big.csv being read")
    more = [AbsenceRow(c) for c in gen.take(2)]
    hub.cprs.update(r.cpr for r in more)
    with open(drop / "big.csv", "a") as f:
        for r in more:
            f.write(csv_line(r.fields()) + "\n")
    rep = wait_moved(drop, "done", "big.csv", timeout=120)
    assert (rep["rows"], rep["queued"]) == (40002, 40002), rep
    lines = w.text().splitlines()
    changed = next(i for i, ln in enumerate(lines) if "ADP-CHANGED" in ln)
    assert "changed while it was imported" in lines[changed]
    # (ADP-UNQUEUED only when a batch of it was queued before the change
    # was seen: a loaded machine may see it sooner.)
    again = next(ln for ln in lines[changed:] if "big.csv: CSV" in ln)
    assert log_ms(again) - log_ms(lines[changed]) >= 1000, \
        (lines[changed], again)
    wait_stored(hub, 40002, timeout=120)
    # ADP-IDLE is owed for files moved to done/: the attempt taken out
    # again owes none ("0 accepted so far"), the file imported whole one.
    wait_for(lambda: "ADP-IDLE" in w.text(), 20, "ADP-IDLE")
    idle = [ln for ln in w.text().splitlines() if "ADP-IDLE" in ln]
    assert len(idle) == 1 and idle[0].endswith(
        "everything queued is delivered (40002 accepted so far)"), idle
    w.stop()


def test_hub_down_then_up_and_sigterm_keeps_pending(make_hub, watchers):
    hub = make_hub(start=False)
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    first = [AbsenceRow(c) for c in CprGen(2205).take(6)]
    drop_file(hub, drop, "w1.csv", first)
    rep = wait_moved(drop, "done", "w1.csv")
    assert rep["queued"] == 6          # queued: safe in the outbox
    hub.start()                        # delivery resumes by itself
    wait_stored(hub, 6)
    hub.stop()
    second = [AbsenceRow(c) for c in CprGen(2206).take(4)]
    drop_file(hub, drop, "w2.csv", second)
    assert wait_moved(drop, "done", "w2.csv")["queued"] == 4
    w.stop(expect=0)
    assert "4 pending in the outbox" in w.text()
    hub.start()
    r = hub.adapter("flush")
    assert (r.rc, r.summary["accepted"], r.summary["pending"]) == (0, 4, 0)
    assert_store(hub, first + second)


def test_watch_exit_statuses_as_its_man_page_gives_them(make_hub, watchers):
    """adapter-NAME(1), EXIT STATUS, said for import alone: 0 "everything
    delivered" and 3 for "a whole-file problem, a file that changed while
    read". A watcher stopped by SIGINT (as by SIGTERM) exits 0 with
    events pending, and a whole-file problem never ends it: the page
    says so now, and ADAPTERS.md's list of what makes the unit restart
    it names DIR as well as the outbox."""
    man = " ".join((hubtest.ROOT / "deploy" / "man" / "adapter-school.1")
                   .read_text().replace("\\-", "-").split())
    status = man.split(".SH EXIT STATUS")[1]
    assert "watch: stopped by SIGTERM or SIGINT (what is queued stays in " \
        "the outbox and is sent after the next start)" in status
    assert "a whole-file problem moves the file to DIR/failed/, a " \
        "changed one is imported again" in status
    doc = " ".join((hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
                   .split())
    assert "a full disk under the outbox or under DIR, DIR gone or " \
        "unreadable, a key the hub refuses; a whole-file problem or a " \
        "file changed while read never ends it" in doc
    hub = make_hub(start=False)
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2253).take(2)]
    drop_file(hub, drop, "w1.csv", rows)
    (drop / "bad.csv").write_bytes(b"x;y\n1;2\n")
    wait_moved(drop, "failed", "bad.csv")
    assert wait_moved(drop, "done", "w1.csv")["queued"] == 2
    assert w.proc.poll() is None
    w.proc.send_signal(signal.SIGINT)
    assert w.proc.wait(timeout=30 * hubtest.SLOW) == 0, w.text()
    w.out.close()
    assert "ADP-STOP stopping: 2 rows imported, 0 events accepted by the " \
        "hub, 2 pending in the outbox" in w.text()


def test_a_hub_never_reached_is_said_once_and_delivery_goes_on(
        make_hub, watchers):
    """ADAPTERS.md, ADP-WAITING: a watcher never gives up on the hub, but
    once events have waited 30 s with none taken it says so in the log
    (under systemd, the journal), once per wait, naming the endpoint;
    when the hub comes, they go and ADP-IDLE follows."""
    hub = make_hub(start=False)
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, log_level="info")
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2241).take(3)]
    drop_file(hub, drop, "w1.csv", rows)
    assert wait_moved(drop, "done", "w1.csv")["queued"] == 3
    said = (f"ADP-WAITING 3 events wait in the outbox and {hub.ingest} has "
            "taken none of them for 30 s (never connected: is hubd running "
            "there, and are the host and port right?); still trying")
    wait_for(lambda: said in w.text(), 45, "ADP-WAITING")
    time.sleep(2)
    assert w.text().count("ADP-WAITING") == 1, w.text()
    hub.start()
    wait_stored(hub, 3)
    wait_for(lambda: "ADP-IDLE" in w.text(), 20, "ADP-IDLE")
    w.stop(expect=0)
    assert w.text().count("ADP-WAITING") == 1, w.text()


def test_events_the_hub_refuses_are_logged_and_go_when_dropped_again(
        make_hub, watchers):
    """ADAPTERS.md, "Running unattended": an event the hub refuses for
    good (the agency not registered for its type) is logged ADP-REJECT
    and does not hold up the next file; once the cause is fixed, the file
    dropped again from done/ sends the refused rows, the others being
    duplicates."""
    hub = make_hub(agencies={"school-a": "assignment"})
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2251).take(3)]
    drop_file(hub, drop, "w1.csv", rows)
    assert wait_moved(drop, "done", "w1.csv")["queued"] == 3
    wait_for(lambda: w.text().count("ADP-REJECT ") == 3, 20, "ADP-REJECT")
    assert "E_DENIED" in w.text()
    assert hub.stats()["log_events"] == 0
    hub.register_agency("school-a", "absence")
    time.sleep(1)  # OPERATIONS.md: the hub sees it well within a second
    os.rename(drop / "done" / "w1.csv", drop / "w1.csv")
    rep = wait_moved(drop, "done", "w1.2.csv")
    assert (rep["queued"], rep["duplicates"]) == (3, 0), rep
    assert_store(hub, rows)
    w.stop(expect=0)


def test_sigterm_while_a_file_is_imported_leaves_it_for_the_next_start(
        hub, watchers):
    """SIGTERM while a file is being read: the watcher exits 0, the file
    stays in DIR with nothing of it queued (nothing pending, and the stop
    line counts none of its rows as imported), and the next watcher
    imports it whole."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, settle=0, log_level="info")
    watchers.append(w)
    rows = [AbsenceRow(c, school=f"28{i % 97:04d}")
            for i, c in enumerate(CprGen(2209).take(100000))]
    hub.cprs.update(r.cpr for r in rows)
    drop_file(hub, drop, "big.csv", rows)
    wait_for(lambda: "ADP-FILE " in w.text(), 30, "the import to start")
    w.stop(expect=0)
    assert (drop / "big.csv").exists()
    assert not (drop / "done" / "big.csv").exists()
    assert "ADP-UNQUEUED" in w.text(), w.text()[-2000:]
    assert "stopping: 0 rows imported" in w.text(), w.text()[-2000:]
    assert "0 pending in the outbox" in w.text()
    w2 = Watcher(hub, drop, settle=0, log_level="info")
    watchers.append(w2)
    rep = wait_moved(drop, "done", "big.csv", timeout=120)
    assert (rep["rows"], rep["queued"]) == (100000, 100000), rep
    w2.stop()


def test_done_taken_away_while_watching_is_made_again(hub, watchers):
    """ADAPTERS.md: each file imported is moved to done/ (made 0700). A
    clean-up of old files that took done/ itself (rm -r done, a find
    -delete) left every later file imported and sent but never moved:
    "cannot move ... No such file or directory", the file in DIR for
    good. done/ and failed/ are made again before a file is read; a file
    in their place stops the watcher (exit 3), at start as later."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    a = [AbsenceRow(c) for c in CprGen(2262).take(2)]
    b = [AbsenceRow(c) for c in CprGen(2263).take(2)]
    drop_file(hub, drop, "w1.csv", a)
    wait_moved(drop, "done", "w1.csv")
    shutil.rmtree(drop / "done")
    shutil.rmtree(drop / "failed")
    drop_file(hub, drop, "w2.csv", b)
    rep = wait_moved(drop, "done", "w2.csv")
    assert rep["queued"] == 2
    assert not (drop / "w2.csv").exists()
    assert os.stat(drop / "done").st_mode & 0o777 == 0o700
    (drop / "bad.csv").write_bytes(b"x;y\n1;2\n")
    wait_moved(drop, "failed", "bad.csv")
    assert "cannot move" not in w.text()
    assert_store(hub, a + b)
    # A file where failed/ should be: said, exit 3, the input left as is.
    shutil.rmtree(drop / "failed")
    (drop / ".failed.part").write_text("not a directory")
    os.rename(drop / ".failed.part", drop / "failed")
    drop_file(hub, drop, "w3.csv", a)
    assert w.proc.wait(timeout=30) == 3, w.text()
    w.out.close()
    assert f"adapter-school: cannot create {drop}/failed: a file of that " \
        "name is in the way" in w.text(), w.text()
    assert (drop / "w3.csv").exists()
    start = subprocess.run(hub.adapter_cmd("watch", drop), timeout=30,
                           capture_output=True, text=True)
    assert start.returncode == 3, start.stderr
    assert f"cannot create {drop}/failed: a file of that name is in the " \
        "way" in start.stderr


def test_no_room_for_the_report_is_said_and_the_file_kept(hub, watchers,
                                                          tmp_path):
    """A drop directory too full for a good file's report (no rejects
    file to write first): the table's ADP-WATCH err "a report that
    cannot be written". Nothing was logged and the file sat in DIR,
    beside a half-written work file; now it is said, the work file
    removed, and once there is room the next start moves the file to
    done/, its events then duplicates."""
    with hubtest.small_disk(tmp_path / "small", "64k") as drop:
        w = Watcher(hub, drop)
        watchers.append(w)
        rows = [AbsenceRow(c) for c in CprGen(2264).take(5)]
        hub.cprs.update(r.cpr for r in rows)
        part = drop / "full.csv.part"
        write_absence_csv(part, rows)
        hubtest.fill_disk(drop / ".filler")
        os.rename(part, drop / "full.csv")
        said = (f"ADP-WATCH cannot write the report of full.csv "
                f"({drop}/.full.csv.report.json.tmp): No space left on "
                "device; its events are queued and it stays in the "
                "directory: make room, and it is imported again (as "
                "duplicates) when the watcher is started again")
        wait_for(lambda: said in w.text(), 20, "the report's error")
        assert " err " + said in w.text()
        assert_store(hub, rows)
        assert sorted(p.name for p in drop.iterdir()) == \
            [".filler", "done", "failed", "full.csv"]
        w.stop()
        # ADP-STOP counts the rows of the files moved to done/: none.
        assert "ADP-STOP stopping: 0 rows imported, 5 events accepted " \
            "by the hub, 0 pending in the outbox" in w.text(), w.text()
        os.unlink(drop / ".filler")
        w = Watcher(hub, drop)
        watchers.append(w)
        rep = wait_moved(drop, "done", "full.csv")
        assert (rep["queued"], rep["duplicates"]) == (0, 5), rep
        w.stop()


def test_same_name_again_and_whole_file_failure(hub, watchers):
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    a = [AbsenceRow(c) for c in CprGen(2207).take(2)]
    b = [AbsenceRow(c) for c in CprGen(2208).take(3)]
    drop_file(hub, drop, "week.csv", a)
    wait_moved(drop, "done", "week.csv")
    hub.cprs.add("0101101234")
    drop_file(hub, drop, "week.csv",
              b + ["0101101234;280017;x;y;1;2;ulovligt;1"])
    # The number goes before the extension: week.2.csv still opens as a
    # CSV, and its rejects file and report are named after it.
    rep = wait_moved(drop, "done", "week.2.csv")
    assert rep["file"] == "week.csv"
    assert (rep["queued"], rep["rejected_rows"]) == (3, 1)
    assert rep["rejects_file"] == "week.2.csv.rejects.csv"
    assert (drop / "done" / "week.2.csv.rejects.csv").exists()
    assert not (drop / "done" / "week.csv.2").exists()
    # The log names the rejects file where it ends up, not a work file.
    wait_for(lambda: "ADP-REJECTS" in w.text(), 10, "ADP-REJECTS")
    rej = [ln for ln in w.text().splitlines() if "ADP-REJECTS" in ln]
    assert rej and all(".tmp" not in ln for ln in rej), rej
    assert any(ln.endswith(f"{drop}/done/week.2.csv.rejects.csv")
               for ln in rej), rej
    # A missing column: failed/, nothing queued from it.
    c = [AbsenceRow(x) for x in CprGen(2209).take(2)]
    drop_file(hub, drop, "nocols.csv", c,
              header=["cpr", "school", "period_start", "period_end",
                      "lessons_absent", "kind", "grade", "x"])
    rep = wait_moved(drop, "failed", "nocols.csv")
    assert "missing required column(s): lessons_expected" in rep["error"]
    assert rep["error_line"] == 1
    # A failed file's report has the members a done one has, as import's
    # line for a failed file: what it was read as is null, its counts 0.
    for key in ("format", "encoding", "encoding_detected", "kind"):
        assert key in rep and rep[key] is None, (key, rep)
    assert (rep["status"], rep["rows"], rep["queued"],
            rep["rejects_file"]) == ("failed", 0, 0, None)
    # About the file as a whole, not one of its lines: error_line 0.
    part = drop / "mac.csv.part"
    write_absence_csv(part, c)
    part.write_bytes(part.read_bytes().replace(b"\n", b"\r"))
    os.rename(part, drop / "mac.csv")
    rep = wait_moved(drop, "failed", "mac.csv")
    assert rep["error"].startswith("the lines end in a carriage return "
                                   "alone"), rep
    assert rep["error_line"] == 0, rep
    assert_store(hub, a + b)
    w.stop()
    sweep_reports(hub, drop)


def test_key_replaced_while_watching_keeps_the_events(hub, watchers):
    """PROTOCOL.md §1 and §3 step 4: once the agency's key is replaced,
    an event on the connection made with the old key is refused E_DENIED
    "... revoked or replaced", and goes through as soon as it is sent
    with the new key. The watcher does not count that as the event's
    fate: it stops with exit 3 (the hub refused the key), its outbox
    keeps the events of the file it already moved to done/, and a flush
    with the new key delivers them."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    first = [AbsenceRow(c) for c in CprGen(2231).take(3)]
    drop_file(hub, drop, "w1.csv", first)
    wait_stored(hub, 3)
    hub.keygen("school-a-new")
    hub.register_agency("school-a", key=hub.keys_dir / "school-a-new.key")
    time.sleep(1)  # OPERATIONS.md: the hub sees it well within a second
    second = [AbsenceRow(c) for c in CprGen(2232).take(4)]
    drop_file(hub, drop, "w2.csv", second)
    assert wait_moved(drop, "done", "w2.csv")["queued"] == 4
    rc = w.proc.wait(timeout=30 * hubtest.SLOW)
    assert rc == 3, w.text()
    assert "revoked or replaced" in w.text()
    assert "ADP-REJECT" not in w.text(), w.text()
    assert hub.stats()["log_events"] == 3
    # The new key pair in the agency's secret key file, its storage_key
    # and hash_key kept (ADAPTERS.md, "Replacing the adapter's key").
    new_keys = hub.tmp / "new-keys"
    new_keys.mkdir()
    shutil.copy(hub.keys_dir / "hub.key", new_keys / "hub.key")
    old = read_key_file(hub.keys_dir / "school-a.key_secret")
    new = read_key_file(hub.keys_dir / "school-a-new.key_secret")
    (new_keys / "school-a.key_secret").write_text(
        f"id = school-a\npublic = {new['public']}\n"
        f"secret = {new['secret']}\nstorage_key = {old['storage_key']}\n"
        f"hash_key = {old['hash_key']}\n")
    os.chmod(new_keys / "school-a.key_secret", 0o600)
    r = hub.adapter("flush", keys_dir=new_keys)
    assert (r.rc, r.summary["accepted"], r.summary["rejected_by_hub"],
            r.summary["pending"]) == (0, 4, 0, 0), str(r)
    assert_store(hub, first + second)


def test_report_of_a_windows_1252_file_name_is_json(hub, watchers):
    """A file whose name is not UTF-8 (fravær.csv in Windows-1252, off a
    share with the wrong character set) still gets a report that is
    UTF-8 JSON, its name read as Windows-1252."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    rows = [AbsenceRow(c) for c in CprGen(2211).take(2)]
    hub.cprs.update(r.cpr for r in rows)
    name = "fravær.csv".encode("cp1252")
    part = drop / "export.part"
    write_absence_csv(part, rows)
    os.rename(part, os.fsencode(drop) + b"/" + name)
    report = os.fsencode(drop) + b"/done/" + name + b".report.json"
    wait_for(lambda: os.path.exists(report), 20, "the report")
    rep = json.loads(open(report, "rb").read().decode("utf-8"))
    assert (rep["file"], rep["status"], rep["queued"]) == \
        ("fravær.csv", "done", 2), rep
    assert_store(hub, rows)
    w.stop()
    sweep_reports(hub, drop)


def test_report_of_a_file_named_after_a_cpr_masks_it(hub, watchers):
    """ADAPTERS.md: a report holds the file's line from import, which
    masks a CPR number in the file's name (a clerk's export per pupil),
    and never a row; SECURITY.md: no file the adapters leave behind holds
    a CPR but the input and its rejects. The files keep their names."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    pupil, other, whole = CprGen(2212).take(3)
    hub.cprs.update({pupil, other, whole})
    drop_file(hub, drop, f"{pupil}.csv", [
        AbsenceRow(pupil),
        f"{other};280017;2024-05-06;2024-05-32;1;100;ulovligt;8"])
    rep = wait_moved(drop, "done", f"{pupil}.csv")
    assert (rep["file"], rep["rejects_file"], rep["queued"]) == \
        ("xxxxxxxxxx.csv", "xxxxxxxxxx.csv.rejects.csv", 1), rep
    assert (drop / "done" / f"{pupil}.csv.rejects.csv").is_file()
    name = f"{whole[:6]}-{whole[6:]}.csv"
    drop_file(hub, drop, name, ["no;header"], header=["cpr", "nonsense"])
    rep = wait_moved(drop, "failed", name)
    assert (rep["file"], rep["status"]) == ("xxxxxx-xxxx.csv", "failed"), \
        rep
    w.stop()
    assert pupil not in w.text() and whole not in w.text()
    sweep_reports(hub, drop)


def test_report_of_a_column_named_after_a_cpr_masks_it(hub, watchers):
    """A report never holds a CPR number: a column whose name is one (an
    export's extra column, left unread with ignore_columns = *) is named
    by its position in a rejected row's "column", as on stderr and in the
    rejects file (ADAPTERS.md: such a header cell is never quoted)."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, ignore_columns="*")
    watchers.append(w)
    pupil, named = CprGen(2213).take(2)
    hub.cprs.update({pupil, named})
    row = csv_line(AbsenceRow(pupil).fields())
    drop_file(hub, drop, "extra.csv", [row + ";" + "n" * 4097],
              header=hubtest.DEFAULT_HEADER + [named])
    rep = wait_moved(drop, "done", "extra.csv")
    assert [(x["line"], x["column"]) for x in rep["rejects"]] == \
        [(2, "9 (its name looks like a CPR number)")], rep
    w.stop()
    assert named not in w.text()
    sweep_reports(hub, drop)


def test_work_files_left_in_dir_are_replaced_whatever_they_are(hub,
                                                              watchers):
    """ADAPTERS.md: the work files a watcher leaves in DIR
    (.NAME.report.json.tmp, .NAME.rejects.tmp) are deleted when it
    imports that file again. Whatever stands under such a name (DIR is
    the export job's to write) is replaced, never written through: a
    named pipe held the watcher in open() for ever, and a symbolic link
    stopped it (exit 3)."""
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    target = hub.inputs_dir / "elsewhere.json"
    target.write_text("keep\n")
    planted = [drop / ".piped.csv.report.json.tmp",
               drop / ".linked.csv.report.json.tmp",
               drop / ".linked.csv.rejects.tmp"]
    os.mkfifo(planted[0])
    os.symlink(target, planted[1])
    os.mkfifo(planted[2])
    w = Watcher(hub, drop, settle=0)
    watchers.append(w)
    gen = CprGen(2215)
    drop_file(hub, drop, "piped.csv", [AbsenceRow(gen.next())])
    drop_file(hub, drop, "linked.csv", [
        AbsenceRow(gen.next()),
        f"{gen.next()};280017;2024-05-06;2024-05-32;1;100;ulovligt;8"])
    hub.cprs.update(gen.seen)
    rep = wait_moved(drop, "done", "piped.csv")
    assert (rep["status"], rep["queued"]) == ("done", 1), rep
    rep = wait_moved(drop, "done", "linked.csv")
    assert (rep["status"], rep["queued"], rep["rejected_rows"]) == \
        ("done", 1, 1), rep
    assert (drop / "done" / "linked.csv.rejects.csv").is_file()
    assert target.read_text() == "keep\n"
    assert not any(os.path.lexists(p) for p in planted)
    w.stop()
    sweep_reports(hub, drop)


def test_watch_of_a_missing_directory_or_a_file_is_fatal(hub):
    """watch DIR where DIR does not exist, or is a file: exit 3 with the
    reason, before anything is watched."""
    for target, reason in (
            (hub.inputs_dir / "nowhere",
             f"cannot watch {hub.inputs_dir / 'nowhere'}: No such file or "
             "directory"),
            (hub.tmp / "hubd.conf",
             f"{hub.tmp / 'hubd.conf'} is not a directory")):
        r = hub.adapter("watch", target)
        assert r.rc == hubtest.EXIT_FATAL, str(r)
        assert f"adapter-school: {reason}\n" in r.stderr, r.stderr
        assert "ADP-WATCH" not in r.stderr


def test_names_near_the_file_name_limit_are_imported(hub, watchers):
    """A file whose name is as long as the file system allows (255 bytes)
    is imported like any other: its work files and its report, rejects
    file and number in done/ or failed/ would not fit such a name, so
    there its stem is shortened (at a whole character, the extension
    kept) and the report's "file" keeps the name it came with. The
    watcher goes on with the next file."""
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop)
    watchers.append(w)
    gen = CprGen(2241)
    good = [AbsenceRow(c) for c in gen.take(2)]
    more = [AbsenceRow(c) for c in gen.take(2)]
    again = [AbsenceRow(c) for c in gen.take(1)]
    after = [AbsenceRow(c) for c in gen.take(1)]
    bad_cpr = gen.next()
    hub.cprs.add(bad_cpr)
    long_ascii = "a" * 251 + ".csv"                    # 255 bytes
    long_danish = "fravær-" + "æ" * 120 + ".csv"        # 252 bytes

    def drop_long(name, rows, **kw):
        # NAME.part would be over the limit: the export job's own short
        # work name, renamed in.
        lines = drop_file(hub, drop, "export", rows, **kw)
        os.rename(drop / "export", drop / name)
        return lines

    drop_long(long_ascii, good)
    lines = drop_long(long_danish, more + [
        f"{bad_cpr};280017;2024-05-06;2024-05-32;1;100;ulovligt;8"])
    drop_long("zz-" + "b" * 248 + ".csv", [], header=["cpr", "school"])
    wait_for(lambda: len(list((drop / "done").glob("*.report.json"))) == 2
             and len(list((drop / "failed").glob("*.report.json"))) == 1,
             20, "three reports")
    drop_long(long_ascii, again)
    drop_file(hub, drop, "after.csv", after)
    wait_moved(drop, "done", "after.csv")
    assert w.proc.poll() is None, w.text()
    reports = {}
    for sub in ("done", "failed"):
        for p in (drop / sub).glob("*.report.json"):
            assert len(p.name.encode()) <= 255
            rep = json.loads(p.read_text())
            reports.setdefault(rep["file"], []).append((sub, p, rep))
    assert sorted(len(v) for v in reports.values()) == [1, 1, 1, 2]
    for sub, p, rep in reports[long_ascii]:
        base = p.name[:-len(".report.json")]
        assert sub == "done" and (drop / sub / base).is_file()
        assert base.endswith(".csv") and base.startswith("a" * 200)
        assert rep["status"] == "done" and rep["rejects_file"] is None
    assert sorted(r["queued"] for _, _, r in reports[long_ascii]) == [1, 2]
    [(sub, p, rep)] = reports[long_danish]
    base = p.name[:-len(".report.json")]
    assert sub == "done" and base.startswith("fravær-æææ")
    assert base.endswith("æ.csv")
    assert (rep["queued"], rep["rejected_rows"]) == (2, 1)
    assert rep["rejects_file"] == base + ".rejects.csv"
    assert rep["rejects"][0]["line"] == lines[2]
    assert (drop / "done" / rep["rejects_file"]).is_file()
    [(sub, p, rep)] = reports["zz-" + "b" * 248 + ".csv"]
    assert sub == "failed" and rep["status"] == "failed"
    assert (drop / "failed" / p.name[:-len(".report.json")]).is_file()
    assert sorted(x.name for x in drop.iterdir()) == ["done", "failed"]
    assert_store(hub, good + more + again + after)
    w.stop()
    sweep_reports(hub, drop)


def test_adp_idle_follows_every_file_delivered(make_hub, watchers):
    """ADAPTERS.md: ADP-IDLE says everything queued is delivered. The
    youth unit's watcher logs it after each file dropped, once the
    file's events are acknowledged, however fast the hub answers (the
    ack may come back before the watcher looks again); a file the
    watcher refuses as a whole queues nothing and owes none."""
    hub = make_hub(agencies={"youth-a": "assignment"},
                   caseworkers={"cw-anna": False})
    drop = hub.inputs_dir / "drop"
    w = Watcher(hub, drop, program="youthunit", agency="youth-a", settle=0)
    watchers.append(w)
    cprs = CprGen(2230).take(5)
    hub.cprs.update(cprs)
    for i, cpr in enumerate(cprs, 1):
        part = drop / f"kontakt-{i}.csv.part"
        part.write_text(f"cpr;caseworker;from\n{cpr};cw-anna;2026-0{i}-01\n")
        os.rename(part, drop / f"kontakt-{i}.csv")
        rep = wait_moved(drop, "done", f"kontakt-{i}.csv")
        assert (rep["kind"], rep["queued"]) == ("assignment", 1), rep
        wait_for(lambda: w.text().count("ADP-IDLE") == i, 10,
                 f"ADP-IDLE after kontakt-{i}.csv")
        assert f"ADP-IDLE everything queued is delivered ({i} accepted " \
            "so far)" in w.text()
    (drop / "tom.csv").write_text("")
    wait_moved(drop, "failed", "tom.csv")
    assert w.text().count("ADP-IDLE") == 5
    w.stop()
    sweep_reports(hub, drop)
