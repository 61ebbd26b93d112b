"""24 a refused import queues nothing: a file that changes while `import`
reads it, an import killed with SIGKILL and one stopped with SIGTERM
leave nothing of that file in the outbox, so the next `flush` sends
none of it, and importing the complete file again delivers every row
exactly once (docs/ADAPTERS.md, "Whole-file problems and bad rows");
`watch` takes the changed file's events out too and imports it again
whole once it settles.

How the test catches the adapter mid-file, without timing: the file has
1,000 good rows, then 2,000 bad ones, then more good rows. The adapter
writes one diagnostic line on stderr per bad row, and stderr is a pipe
this test stops reading once it has seen the first bad row's line. By
then the 1,000 good rows are read and seven full batches of 128 (896
events) are committed to the outbox. The 2,000 diagnostics are several
times what the pipe holds, so the adapter blocks inside the bad block
until the test reads on: whatever the test does meanwhile (append to the
file, kill, signal) happens in the middle of the import, every time."""

import json
import os
import re
import signal
import subprocess
import threading
import time

import hubtest
from hubtest import (EXIT_FATAL, EXIT_OK, EXIT_PENDING, EXIT_ROWS_REJECTED,
                     AbsenceRow,
                     CprGen, csv_line)
from runtimetest import event_id, wait_stored

GOOD_BEFORE = 1_000
BAD = 2_000
GOOD_AFTER = 1_000
APPENDED = 50
COMMITTED = (GOOD_BEFORE // 128) * 128   # batches on disk at the block
FIRST_BAD_LINE = 1 + GOOD_BEFORE + 1     # the header is line 1


def layout(hub, seed):
    """The rows: good, bad (lessons_absent not a number), good, and
    some to append."""
    cprs = CprGen(seed).take(GOOD_BEFORE + BAD + GOOD_AFTER + APPENDED)
    hub.cprs.update(cprs[::40])   # a sample for the teardown's sweep
    before = [AbsenceRow(c) for c in cprs[:GOOD_BEFORE]]
    bad = [AbsenceRow(c, absent="x")
           for c in cprs[GOOD_BEFORE:GOOD_BEFORE + BAD]]
    after = [AbsenceRow(c) for c in
             cprs[GOOD_BEFORE + BAD:GOOD_BEFORE + BAD + GOOD_AFTER]]
    extra = [AbsenceRow(c) for c in cprs[-APPENDED:]]
    return before, bad, after, extra


def write(hub, name, rows):
    path = hub.inputs_dir / name
    hubtest.write_absence_csv(path, rows, dash_every=0)
    return path


def start_blocked(hub, *paths):
    """Start `import PATHS` and return once the adapter has written the
    first bad row's diagnostic: it is then inside the bad block, with
    COMMITTED events in the outbox, and cannot leave it until stderr is
    read on. An adapter that never gets there is killed."""
    p = hub.adapter_popen("import", *paths)
    seen = []

    def in_bad_block():
        line = p.stderr.readline()
        if not line:
            raise AssertionError("the adapter ended before the bad "
                                 "rows:\n" + "".join(seen))
        seen.append(line)
        return f":{FIRST_BAD_LINE}: column lessons_absent" in line
    try:
        hubtest.wait_for(in_bad_block, 60, "the first bad row's "
                         "diagnostic", interval=0)
    except BaseException:
        p.kill()
        p.communicate()
        raise
    return p, seen


def assert_fatal_nothing_queued(r):
    """An import that failed as a whole: exit 3, its file "fatal", none
    of its rows queued."""
    assert r.rc == EXIT_FATAL, str(r)[-3000:]
    assert (file_line(r)["status"], file_line(r)["queued"]) == \
        ("fatal", 0), r.stdout


def file_line(r):
    """The per-file JSON line of an import's stdout."""
    lines = [json.loads(x) for x in r.stdout.splitlines()
             if x.startswith('{"file"')]
    assert len(lines) == 1, r.stdout
    return lines[0]


def assert_nothing_sent(hub):
    """flush finds nothing to send, and the hub holds no event."""
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 0, 0), str(f)[-3000:]
    assert hub.stats()["log_events"] == 0
    return f


def assert_clean_reimport(hub, path, good):
    """The complete file imported again: every good row delivered once;
    and once more: nothing new."""
    r = hub.adapter("import", path, wait=120)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)[-3000:]
    assert (r.summary["rows"], r.summary["queued"], r.summary["accepted"],
            r.summary["duplicates"], r.summary["rejected_rows"],
            r.summary["pending"]) == \
        (len(good) + BAD, len(good), len(good), 0, BAD, 0), r.summary
    got = wait_stored(hub, len(good), timeout=60)
    assert len(got) == len(good)
    assert {event_id(hub, x) for x in good} == set(got)
    again = hub.adapter("import", path, wait=120)
    assert (again.summary["queued"], again.summary["duplicates"],
            again.summary["accepted"]) == (0, len(good), 0), again.summary
    assert hub.stats()["log_events"] == len(good)


def test_file_changed_during_import_leaves_nothing_queued(hub):
    before, bad, after, extra = layout(hub, 2401)
    path = write(hub, "refused.csv", before + bad + after)
    p, seen = start_blocked(hub, path)
    # The export job is still writing: rows are appended mid-import.
    with open(path, "a", encoding="utf-8") as f:
        for row in extra:
            f.write(csv_line(row.fields()) + "\n")
    r = hub.adapter_finish(p)
    r.stderr = "".join(seen) + r.stderr
    assert r.rc == EXIT_FATAL, str(r)[-3000:]
    assert "refused.csv changed while it was imported" in r.stderr
    assert "nothing of it was queued" in r.stderr
    # What it had committed before it saw the change is taken out again.
    assert (f"refused.csv: not imported; the {COMMITTED} events queued "
            "from it are taken out of the outbox again") in r.stderr
    line = file_line(r)
    assert (line["status"], line["queued"]) == ("changed", 0), line
    assert (r.summary["queued"], r.summary["accepted"],
            r.summary["pending"]) == (0, 0, 0), r.summary
    assert_nothing_sent(hub)
    assert_clean_reimport(hub, path, before + after + extra)


def test_import_killed_mid_file_leaves_nothing_queued(hub):
    before, bad, after, _ = layout(hub, 2402)
    path = write(hub, "killed.csv", before + bad + after)
    p, _ = start_blocked(hub, path)
    p.kill()
    p.communicate(timeout=30)
    assert p.returncode == -signal.SIGKILL
    # The next process to open the outbox takes the half import out.
    f = assert_nothing_sent(hub)
    assert (f"took {COMMITTED} events of an import that did not finish "
            "out of the outbox") in f.stderr
    assert_clean_reimport(hub, path, before + after)


def test_import_stopped_mid_file_leaves_nothing_queued(hub):
    before, bad, after, _ = layout(hub, 2403)
    path = write(hub, "stopped.csv", before + bad + after)
    p, seen = start_blocked(hub, path)
    p.send_signal(signal.SIGTERM)
    r = hub.adapter_finish(p)
    r.stderr = "".join(seen) + r.stderr
    assert r.rc == EXIT_FATAL, str(r)[-3000:]
    assert "interrupted: nothing of" in r.stderr
    assert "stopped.csv was queued; import it again" in r.stderr
    assert (file_line(r)["status"], r.summary["queued"],
            r.summary["pending"]) == ("stopped", 0, 0), r.stdout
    assert_nothing_sent(hub)
    assert_clean_reimport(hub, path, before + after)


def test_a_file_swapped_for_a_pipe_before_its_turn_is_not_waited_on(hub):
    """Of `import FIRST SECOND`, SECOND replaced by a named pipe while
    FIRST is imported (after the first pass read it) is a file that
    changed: exit 3, nothing of it queued, FIRST's rows stay queued. The
    second pass opened the path blocking, and waited for ever for a
    writer to the pipe."""
    before, bad, after, extra = layout(hub, 2405)
    first = write(hub, "first.csv", before + bad + after)
    second = write(hub, "second.csv", extra)
    p, seen = start_blocked(hub, first, second)
    try:
        pipe = hub.inputs_dir / "pipe"
        os.mkfifo(pipe)
        os.rename(pipe, second)
        r = hub.adapter_finish(p, wait=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    r.stderr = "".join(seen) + r.stderr
    assert r.rc == EXIT_FATAL, str(r)[-3000:]
    assert f"{second} changed while it was imported" in r.stderr, \
        r.stderr[-2000:]
    lines = {x["file"]: x for x in map(json.loads, r.stdout.splitlines())
             if "file" in x}
    assert (lines[str(first)]["status"], lines[str(first)]["queued"]) == \
        ("done", len(before) + len(after)), lines
    assert (lines[str(second)]["status"], lines[str(second)]["queued"]) \
        == ("changed", 0), lines


def test_watch_takes_a_changed_file_out_and_imports_it_whole(hub):
    before, bad, after, extra = layout(hub, 2404)
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    part = write(hub, "drop/grow.csv.part", before + bad + after)
    cmd = hub.adapter_cmd("watch", drop, settle=1)
    w = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    try:
        seen = []

        def in_bad_block():
            line = w.stderr.readline()
            seen.append(line)
            assert line, "".join(seen)
            return f"grow.csv:{FIRST_BAD_LINE}: column" in line
        os.rename(part, drop / "grow.csv")
        hubtest.wait_for(in_bad_block, 60, "the first bad row", interval=0)
        with open(drop / "grow.csv", "a", encoding="utf-8") as f:
            for row in extra:
                f.write(csv_line(row.fields()) + "\n")
        reader = threading.Thread(target=lambda: seen.extend(w.stderr),
                                  daemon=True)
        reader.start()
        report = drop / "done" / "grow.csv.report.json"
        hubtest.wait_for(report.exists, 120, "grow.csv in done/")
        text = "".join(seen)
        assert (f"grow.csv: not imported; the {COMMITTED} events queued "
                "from it are taken out of the outbox again") in text, text
        # The second import found nothing of the first in the outbox.
        rep = json.loads(report.read_text())
        good = before + after + extra
        assert (rep["rows"], rep["queued"], rep["duplicates"],
                rep["rejected_rows"]) == (len(good) + BAD, len(good), 0,
                                          BAD), rep
        got = wait_stored(hub, len(good), timeout=60)
        assert {event_id(hub, x) for x in good} == set(got)
        w.send_signal(signal.SIGTERM)
        assert w.wait(timeout=30) == 0
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def test_a_watcher_killed_mid_file_imports_it_whole_when_started_again(
        hub):
    """ADAPTERS.md: an adapter killed mid-file (kill -9) leaves the
    file's events held back in the outbox; the next `watch` takes them
    out when it opens the outbox, before it sends anything (OUTBOX-STAGE),
    and, the file still being in DIR, imports it again whole: every good
    row delivered once."""
    from test_22_watch import Watcher, wait_moved
    before, bad, after, _ = layout(hub, 2404)
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    part = write(hub, "drop/killed.csv.part", before + bad + after)
    w = subprocess.Popen(hub.adapter_cmd("watch", drop, settle=1),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    try:
        def in_bad_block():
            line = w.stderr.readline()
            assert line, "the watcher ended before the bad rows"
            return f"killed.csv:{FIRST_BAD_LINE}: column" in line
        os.rename(part, drop / "killed.csv")
        hubtest.wait_for(in_bad_block, 60, "the first bad row's "
                         "diagnostic", interval=0)
    finally:
        w.kill()
        w.communicate(timeout=30)
    assert (drop / "killed.csv").exists()
    again = Watcher(hub, drop, log_level="notice")
    try:
        rep = wait_moved(drop, "done", "killed.csv", timeout=120)
        good = before + after
        assert (rep["queued"], rep["duplicates"], rep["rejected_rows"]) \
            == (len(good), 0, BAD), rep
        got = wait_stored(hub, len(good), timeout=60)
        assert {event_id(hub, x) for x in good} == set(got)
        log = again.text()
        stage = (f"OUTBOX-STAGE took {COMMITTED} events of an import that "
                 "did not finish out of the outbox; import that file again")
        assert stage in log, log
        assert log.index(stage) < log.index("ADP-WATCH watching")
    finally:
        again.stop()
    assert hub.stats()["log_events"] == len(good)


def test_full_disk_under_the_outbox_queues_nothing_of_the_file(hub, tmp_path):
    """The outbox's disk fills up mid-file: that file is "fatal", nothing
    of it is counted pending or sent, the message says the disk is full;
    the file before it stays queued. With room again, flush takes the
    held-back events out and delivers the first file; the big file
    imported again is delivered whole, once."""
    # Sized so that the big file fills it, and taking its events out again
    # finds no room either (the outbox keeps each event's origin too).
    with hubtest.small_disk(tmp_path / "disk", "3m") as disk:
        cprs = CprGen(2410).take(3_001)
        hub.cprs.update(cprs[::40])
        first = write(hub, "first.csv", [AbsenceRow(cprs[0])])
        rows = [AbsenceRow(c) for c in cprs[1:]]
        big = write(hub, "big.csv", rows)
        hub.stop()
        outbox = disk / "outbox"
        r = hub.adapter("import", first, big, outbox=outbox, timeout=1)
        assert r.rc == EXIT_FATAL, str(r)[-3000:]
        lines = [json.loads(x) for x in r.stdout.splitlines()
                 if x.startswith('{"file"')]
        assert [(x["status"], x["queued"]) for x in lines] == \
            [("done", 1), ("fatal", 0)], r.stdout
        assert r.summary["pending"] == 1, r.summary
        assert re.search(rf"big\.csv: cannot write to the outbox: .*the "
                         rf"disk is full \(\d+ KiB free for {outbox}\); "
                         rf"free space there, then import the file again",
                         r.stderr), r.stderr
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)],
                       check=True)
        hub.start()
        f = hub.adapter("flush", outbox=outbox)
        assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
            (EXIT_OK, 1, 0), str(f)[-3000:]
        assert "of an import that did not finish out of the outbox" \
            in f.stderr, f.stderr
        again = hub.adapter("import", big, outbox=outbox, wait=120)
        assert (again.rc, again.summary["queued"],
                again.summary["accepted"], again.summary["pending"]) == \
            (EXIT_OK, len(rows), len(rows), 0), again.summary
        got = wait_stored(hub, 1 + len(rows), timeout=60)
        assert set(got) == {event_id(hub, x)
                            for x in [AbsenceRow(cprs[0])] + rows}


def test_full_disk_while_delivering_says_so_and_loses_nothing(hub, tmp_path):
    """ADAPTERS.md, "Output and exit codes": the outbox's disk full while
    the hub's acks are recorded stops the run, exit 3, saying the disk is
    full; the events stay pending, and once there is room the next flush
    delivers every one of them once (what the hub took meanwhile is
    answered as a duplicate). The hub is held (SIGSTOP) until everything
    is in flight, so that its acks come in bursts whose records need
    pages the outbox has not freed yet."""
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        cprs = CprGen(2420).take(2_000)
        hub.cprs.update(cprs[::40])
        rows = [AbsenceRow(c) for c in cprs]
        big = write(hub, "big.csv", rows)
        hub.stop()
        outbox = disk / "outbox"
        r = hub.adapter("import", big, outbox=outbox, timeout=1)
        assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 2_000), str(r)
        fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, bytes(65536)):
                pass
        except OSError:
            pass
        os.close(fd)
        hub.start()
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            p = hub.adapter_popen("flush", outbox=outbox, window=65536,
                                  timeout=60)
            # Long enough for all 2,000 to be sent on a loaded machine:
            # acks that came in smaller bursts could reuse the pages
            # the outbox frees, and the disk would never fill (once).
            time.sleep(8 * hubtest.SLOW)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        f = hub.adapter_finish(p)
        assert f.rc == EXIT_FATAL, str(f)[-3000:]
        assert re.search(rf"cannot record acks in the outbox: input/output "
                         rf"error: the disk is full \(\d+ KiB free for "
                         rf"{outbox}\); free space there, then run again "
                         rf"\(what the hub took meanwhile is sent again "
                         rf"and answered as a duplicate\)", f.stderr), \
            f.stderr
        # Nothing names one of the hub's maps (STORE-LMDB, when LMDB
        # says ENOSPC rather than EIO: "the disk under the outbox").
        assert "log/" not in f.stderr, f.stderr
        assert f.summary["pending"] > 0, f.summary
        os.remove(disk / "filler")
        g = hub.adapter("flush", outbox=outbox)
        assert (g.rc, g.summary["pending"]) == (EXIT_OK, 0), str(g)[-3000:]
        assert g.summary["accepted"] + g.summary["duplicates"] == \
            f.summary["pending"], (f.summary, g.summary)
        got = wait_stored(hub, len(rows), timeout=60)
        assert set(got) == {event_id(hub, x) for x in rows}


def test_full_disk_under_the_rejects_file_names_it(hub, tmp_path):
    """The input's disk has no room for its rejects file: the file is
    "fatal", nothing of it queued, and the message names the input and
    the rejects file it could not write."""
    with hubtest.small_disk(tmp_path / "disk", "200k") as disk:
        cprs = CprGen(2411).take(3_000)
        hub.cprs.update(cprs[::40])
        rows = [AbsenceRow(c, absent="x" if i % 2 else 1)
                for i, c in enumerate(cprs)]
        path = disk / "full.csv"
        hubtest.write_absence_csv(path, rows, dash_every=0)
        r = hub.adapter("import", path)
        assert r.rc == EXIT_FATAL, str(r)[-3000:]
        assert (file_line(r)["status"], file_line(r)["queued"],
                r.summary["pending"]) == ("fatal", 0, 0), r.stdout
        assert (f"adapter-school: {path}: cannot write the rejects file "
                f"{path}.rejects.csv: No space left on device; nothing of "
                f"{path} was queued") in r.stderr, r.stderr[-2000:]
        assert hub.stats()["log_events"] == 0


def test_input_on_a_read_only_share_points_to_the_rejects_setting(
        hub, tmp_path):
    """An input whose directory cannot take its rejects file (a share
    mounted read-only) is "fatal" at its first bad row, nothing of it
    queued, and the message says how to import it: with --rejects."""
    with hubtest.small_disk(tmp_path / "share", "1m") as share:
        cprs = CprGen(2412).take(3)
        hub.cprs.update(cprs)
        rows = [AbsenceRow(cprs[0]), AbsenceRow(cprs[1], absent="x"),
                AbsenceRow(cprs[2])]
        path = share / "week.csv"
        hubtest.write_absence_csv(path, rows, dash_every=0)
        subprocess.run(["mount", "-o", "remount,ro", str(share)],
                       check=True)
        r = hub.adapter("import", path)
        assert_fatal_nothing_queued(r)
        assert (f"adapter-school: {path}: cannot create the rejects file "
                f"{path}.rejects.csv: Read-only file system; nothing of "
                f"{path} was queued: import it again with --rejects PATH "
                "in a directory you can write to") in r.stderr, r.stderr
        assert hub.stats()["log_events"] == 0
        rejects = tmp_path / "rejects.csv"
        again = hub.adapter("import", "--rejects", rejects, path)
        assert (again.rc, again.summary["accepted"],
                again.summary["rejected_rows"]) == \
            (EXIT_ROWS_REJECTED, 2, 1), str(again)[-3000:]
        assert rejects.read_text().splitlines()[1].startswith(
            f"{path};3;lessons_absent;")


def test_a_rejects_file_that_is_a_symbolic_link_is_named_as_such(hub):
    """ADAPTERS.md "The rejects file": it is made again and truncated by
    the next import with a bad row, so one that is a symbolic link (to
    any file) is never written through: the input is "fatal", nothing of
    it queued, the link and its target kept, and the message says it is
    a link and what to do, not a bare "Too many levels of symbolic
    links"."""
    cprs = CprGen(2413).take(3)
    hub.cprs.update(cprs)
    rows = [AbsenceRow(cprs[0]), AbsenceRow(cprs[1], absent="x"),
            AbsenceRow(cprs[2])]
    path = hub.inputs_dir / "linked.csv"
    hubtest.write_absence_csv(path, rows, dash_every=0)
    target = hub.inputs_dir / "other.txt"
    target.write_text("not to be truncated\n")
    link = hub.inputs_dir / "linked.csv.rejects.csv"
    os.symlink(target, link)
    r = hub.adapter("import", path)
    assert_fatal_nothing_queued(r)
    assert (f"adapter-school: {path}: cannot create the rejects file "
            f"{link}: it is a symbolic link, which the adapter never "
            f"writes through; nothing of {path} was queued: remove the "
            "link, or import it again with --rejects PATH") in r.stderr, \
        r.stderr
    assert os.path.islink(link)
    assert target.read_text() == "not to be truncated\n"
    assert hub.stats()["log_events"] == 0
    os.unlink(link)
    again = hub.adapter("import", path)
    assert (again.rc, again.summary["accepted"],
            again.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 2, 1), str(again)[-3000:]


def test_a_rejects_file_that_is_a_pipe_or_a_device_is_named_as_such(hub):
    """ADAPTERS.md "The rejects file": only a regular file takes the
    rejected rows, which hold CPRs verbatim. A named pipe where the
    rejects file goes made the import wait for ever for a reader (who
    would have got the rows), a device would swallow them: the input is
    "fatal", nothing of it queued, the pipe or device left as it was, and
    the message says what is there and what to do."""
    import stat
    cprs = CprGen(2414).take(3)
    hub.cprs.update(cprs)
    rows = [AbsenceRow(cprs[0]), AbsenceRow(cprs[1], absent="x"),
            AbsenceRow(cprs[2])]
    path = hub.inputs_dir / "piped.csv"
    hubtest.write_absence_csv(path, rows, dash_every=0)
    there = hub.inputs_dir / "piped.csv.rejects.csv"
    makers = [lambda: os.mkfifo(there)]
    if os.geteuid() == 0:
        makers.append(lambda: os.mknod(there, 0o666 | stat.S_IFCHR,
                                       os.makedev(1, 3)))
    for make in makers:
        make()
        kind = stat.S_IFMT(os.lstat(there).st_mode)
        r = hub.adapter("import", path, wait=30)
        assert_fatal_nothing_queued(r)
        assert (f"adapter-school: {path}: cannot create the rejects file "
                f"{there}: it is not a regular file; nothing of {path} "
                "was queued: remove it, or import it again with "
                "--rejects PATH") in r.stderr, r.stderr
        assert stat.S_IFMT(os.lstat(there).st_mode) == kind
        assert hub.stats()["log_events"] == 0
        os.unlink(there)
    again = hub.adapter("import", path)
    assert (again.rc, again.summary["accepted"],
            again.summary["rejected_rows"]) == \
        (EXIT_ROWS_REJECTED, 2, 1), str(again)[-3000:]


def test_watch_on_a_full_disk_stops_and_keeps_the_file(hub, tmp_path):
    """watch whose outbox's disk fills up mid-file: exit 3 (systemd
    restarts it), the file stays in DIR, not in failed/, nothing of it
    sent; started again with room, it imports the file whole, once."""
    with hubtest.small_disk(tmp_path / "disk", "2m") as disk:
        cprs = CprGen(2413).take(3_000)
        hub.cprs.update(cprs[::40])
        rows = [AbsenceRow(c) for c in cprs]
        drop = hub.inputs_dir / "drop"
        drop.mkdir()
        write(hub, "drop/big.csv", rows)
        outbox = disk / "outbox"
        r = hub.adapter("watch", drop, outbox=outbox, settle=0)
        assert r.rc == EXIT_FATAL, str(r)[-3000:]
        assert re.search(
            r"big\.csv: cannot write to the outbox: .*the disk is full "
            r".*; free space there; the file stays in the directory and "
            r"is imported again when the watcher is started again",
            r.stderr), r.stderr
        assert (drop / "big.csv").exists()
        assert not any((drop / "failed").iterdir())
        assert hub.stats()["log_events"] == 0
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)],
                       check=True)
        p = hub.adapter_popen("watch", drop, outbox=outbox, settle=0)
        try:
            hubtest.wait_for(lambda: (drop / "done" / "big.csv").exists(),
                             60, "the file in done/")
            got = wait_stored(hub, len(rows), timeout=60)
        finally:
            p.send_signal(signal.SIGTERM)
            w = hub.adapter_finish(p)
        assert w.rc == EXIT_OK, str(w)[-3000:]
        assert set(got) == {event_id(hub, x) for x in rows}


def test_watch_without_room_for_rejects_keeps_the_file(hub, tmp_path):
    """watch on a drop directory too full for the rejects file: exit 3,
    the file stays in DIR, nothing of it sent, and the message says it
    is imported again when the watcher runs again."""
    with hubtest.small_disk(tmp_path / "drop", "200k") as drop:
        cprs = CprGen(2414).take(3_000)
        hub.cprs.update(cprs[::40])
        rows = [AbsenceRow(c, absent="x" if i % 2 else 1)
                for i, c in enumerate(cprs)]
        hubtest.write_absence_csv(drop / "full.csv", rows, dash_every=0)
        r = hub.adapter("watch", drop, settle=0)
        assert r.rc == EXIT_FATAL, str(r)[-3000:]
        assert ("full.csv: cannot write the rejects file "
                f"{drop}/.full.csv.rejects.tmp: No space left on device; "
                f"nothing of {drop}/full.csv was queued: make room; the "
                "file stays in the directory and is imported again when "
                "the watcher is started again") in r.stderr, \
            r.stderr[-2000:]
        assert sorted(p.name for p in drop.iterdir()) == \
            ["done", "failed", "full.csv"]
        assert hub.stats()["log_events"] == 0


def test_rejects_path_that_is_a_device_or_a_pipe_is_refused_first(hub):
    """ADAPTERS.md "The rejects setting": PATH must not be a device
    (/dev/null) — nor a named pipe —: the run is refused before a file is
    read, exit 3, "rejects = PATH: PATH is not a regular file: ...",
    nothing queued and the device or pipe left as it was."""
    import stat
    cprs = CprGen(2415).take(2)
    hub.cprs.update(cprs)
    path = hub.inputs_dir / "to-null.csv"
    hubtest.write_absence_csv(path, [AbsenceRow(cprs[0]),
                                     AbsenceRow(cprs[1], absent="x")],
                              dash_every=0)
    fifo = hub.inputs_dir / "rejects.csv"
    os.mkfifo(fifo)
    for where in ("/dev/null", str(fifo)):
        kind = stat.S_IFMT(os.lstat(where).st_mode)
        r = hub.adapter("import", "--rejects", where, path, wait=30)
        assert r.rc == EXIT_FATAL, str(r)[-3000:]
        assert f"rejects = {where}: {where} is not a regular file" \
            in r.stderr, r.stderr
        assert stat.S_IFMT(os.lstat(where).st_mode) == kind
        assert hub.stats()["log_events"] == 0
