"""23 big files: a 100 MB export streams in constant memory, and a file
that grows while it is imported is stopped and imported again whole.

The 100 MB file is generated here (100,000 absence rows, each with a wide
remark column the adapter is told to leave out) and deleted afterwards.
The adapter's peak resident set (as `/usr/bin/time -v` reports it; it
counts the outbox's LMDB pages mapped from the page cache too) must stay
under 64 MB, a fraction of the file; the figures are printed
(run pytest with -s to see them). Every test ends with the privacy sweep
(over a sample of the CPRs: 100,000 would make the sweep itself slow).
Under AddressSanitizer (make asan) the RSS bound is not asserted: ASan's
quarantine and shadow memory dwarf the adapter's own."""

import random
import re
import subprocess
import threading
import time

import hubtest
from hubtest import EXIT_FATAL, EXIT_OK, AbsenceRow, CprGen, csv_line
from runtimetest import event_id, stored, wait_stored

ROWS = 100_000
TARGET_BYTES = 100 * 1024 * 1024
RSS_LIMIT_KB = 64 * 1024


def sanitized():
    """Is adapter-school built with AddressSanitizer (make asan)? Its
    quarantine and shadow memory make the RSS figure meaningless."""
    return b"__asan_init" in open(hubtest.binary("adapter-school"),
                                  "rb").read()


def big_rows(seed, n):
    """n distinct reports: 20,000 pupils x 5 weeks, counts varied."""
    rng = random.Random(seed)
    cprs = CprGen(seed).take(n // 5)
    weeks = [("2024-04-08", "2024-04-12"), ("2024-04-15", "2024-04-19"),
             ("2024-04-22", "2024-04-26"), ("2024-04-29", "2024-05-03"),
             ("2024-05-06", "2024-05-10")]
    rows = []
    for c in cprs:
        for start, end in weeks:
            rows.append(AbsenceRow(c, period_start=start, period_end=end,
                                   absent=rng.randrange(0, 6), expected=30))
    return rows[:n], cprs


def write_big(path, rows, target):
    """A CSV of about target bytes: the remark column pads each row."""
    header = hubtest.DEFAULT_HEADER + ["bemaerkning"]
    base = sum(len(csv_line(r.fields())) + 2 for r in rows[:100]) / 100
    pad = max(0, int(target / len(rows) - base))
    filler = ("Elev har v\u00e6ret syg, for\u00e6ldre kontaktet. " *
              (pad // 40 + 1))[:pad]
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(csv_line(header) + "\r\n")
        for r in rows:
            f.write(csv_line(r.fields() + [filler]) + "\r\n")
    return path.stat().st_size


def run_measured(cmd, tmp):
    """Run cmd under /usr/bin/time -v; return (rc, stdout, stderr, peak
    RSS kB, peak anonymous kB). time's figure is the adapter's own: a
    child's ru_maxrss as Python's wait4 reports it would include the
    pytest process it was forked from. The anonymous (heap) figure is
    sampled from /proc while it runs."""
    report = tmp / "time.txt"
    out, err = tmp / "stdout.txt", tmp / "stderr.txt"
    with open(out, "w") as fo, open(err, "w") as fe:
        p = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(report),
                              *cmd], stdout=fo, stderr=fe)
        anon = [0]

        def sample():
            while p.poll() is None:
                try:
                    with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                        kids = f.read().split()
                    for kid in kids:
                        with open(f"/proc/{kid}/status") as f:
                            for line in f:
                                if line.startswith("RssAnon:"):
                                    anon[0] = max(anon[0],
                                                  int(line.split()[1]))
                except (OSError, ValueError):
                    pass
                time.sleep(0.02)    # a sampling rate, not a synchronisation

        t = threading.Thread(target=sample, daemon=True)
        t.start()
        rc = p.wait()
        t.join()
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                  report.read_text())
    assert m, report.read_text()
    return rc, out.read_text(), err.read_text(), int(m.group(1)), anon[0]


def test_100mb_file_streams_in_constant_memory(hub):
    rows, cprs = big_rows(2301, ROWS)
    hub.cprs.update(cprs[::40])          # a sample for the sweep
    path = hub.inputs_dir / "big.csv"
    try:
        size = write_big(path, rows, TARGET_BYTES)
        assert size >= TARGET_BYTES, size
        cmd = hub.adapter_cmd("import", path, ignore_columns="bemaerkning",
                              timeout=60)
        t0 = time.monotonic()
        rc, out, err, max_rss, anon = run_measured(cmd, hub.logs_dir)
        elapsed = time.monotonic() - t0
        (hub.logs_dir / "big-adapter.log").write_text(out + err)
        assert rc == EXIT_OK, out + err[-3000:]
        summary = hubtest.Hub._adapter_result(hub, rc, out, err).summary
        assert (summary["rows"], summary["queued"], summary["accepted"],
                summary["rejected_rows"], summary["pending"]) == \
            (ROWS, ROWS, ROWS, 0, 0)
        print(f"\n100 MB import: {size / 1e6:.1f} MB, {ROWS} rows, "
              f"{elapsed:.1f} s end to end ({ROWS / elapsed:,.0f} rows/s "
              f"imported and delivered), peak RSS {max_rss / 1024:.1f} MB "
              f"(anonymous {anon / 1024:.1f} MB)")
        if not sanitized():
            assert max_rss < RSS_LIMIT_KB, f"peak RSS {max_rss} kB"
        got = wait_stored(hub, ROWS, timeout=120)
        sample = rows[::97]
        assert all(event_id(hub, r) in got for r in sample)
        assert len(got) == ROWS
    finally:
        path.unlink(missing_ok=True)


def test_file_growing_during_import_is_imported_again(hub):
    """The second pass sees the file grow: it stops (exit 3, saying so);
    what it had queued is recognised when the complete file is imported
    again, so nothing is sent twice and nothing is lost."""
    rows, cprs = big_rows(2302, 24_000)
    hub.cprs.update(cprs[::40])
    path = hub.inputs_dir / "growing.csv"
    try:
        write_big(path, rows[:20_000], 10 * 1024 * 1024)
        filler_line = path.open().readlines()[1].rsplit(";", 1)[1]
        p = hub.adapter_popen("import", path, ignore_columns="bemaerkning",
                              log_level="info")
        # Append once the second pass has begun (its ADP-FILE line).
        seen = []

        def started():
            line = p.stderr.readline()
            seen.append(line)
            return "ADP-FILE" in line and "kind absence" in line
        hubtest.wait_for(started, 60, "the second pass to begin",
                         interval=0)
        with open(path, "a", encoding="utf-8", newline="") as f:
            for r in rows[20_000:]:
                f.write(csv_line(r.fields() + [filler_line.strip()]) +
                        "\r\n")
        r = hub.adapter_finish(p)
        r.stderr = "".join(seen) + r.stderr
        assert r.rc == EXIT_FATAL, str(r)[-3000:]
        assert "changed while it was imported" in r.stderr
        # Batches queued before the change was seen stay queued (their
        # ids are the complete file's too); usually none or a few.
        first = r.summary["queued"]
        assert 0 <= first < 20_000, r.summary
        # Complete now: the whole file, and only what was missing.
        again = hub.adapter("import", path, ignore_columns="bemaerkning",
                            wait=300)
        assert again.rc == EXIT_OK, str(again)[-3000:]
        assert (again.summary["rows"], again.summary["queued"],
                again.summary["duplicates"]) == \
            (24_000, 24_000 - first, first)
        got = wait_stored(hub, 24_000, timeout=120)
        assert all(event_id(hub, x) in got for x in rows[::211])
        assert not [x for x in stored(hub).values() if x["supersedes"]]
    finally:
        path.unlink(missing_ok=True)
