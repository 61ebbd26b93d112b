"""06 adapter: adapter-school's CSV reading, rejects and delivery modes.

Bad rows land in the rejects file (with their line numbers) and on stderr
as FILE:LINE: column COL: reason, without a CPR; good rows are stored.
Every CSV dialect the SPEC allows reads the same; event ids follow the
SPEC's formula, so a re-import in another dialect sends nothing.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import hashlib
import hubtest
import json
import os
import re
import signal
import subprocess
import time

import pytest

from hubtest import (EXIT_FATAL, EXIT_OK, EXIT_PENDING, EXIT_ROWS_REJECTED,
                     AbsenceRow, CprGen, csv_line, dashed, read_key_file)


def test_bad_rows_go_to_rejects_file(hub):
    gen = CprGen(601)
    good = [AbsenceRow(c) for c in gen.take(4)]
    bad = [
        ("310299-1234;280017;2024-05-06;2024-05-10;2;100;ulovligt;8",
         "cpr"),
        (csv_line(AbsenceRow(gen.next(), period_end="2024-02-30").fields()),
         "period_end"),
        (csv_line(AbsenceRow(gen.next(), absent=120).fields()),
         "lessons_absent"),
        (csv_line(AbsenceRow(gen.next(), kind="vacation").fields()), "kind"),
        (csv_line(AbsenceRow(gen.next(), grade="11").fields()), "grade"),
        (csv_line(AbsenceRow(gen.next(), absent=-1).fields()),
         "lessons_absent"),
        (csv_line(AbsenceRow(gen.next(), expected=0, absent=0).fields()),
         "lessons_expected"),
        (csv_line(AbsenceRow(gen.next(), period_start="2024-05-11")
                  .fields()), "period_end"),
    ]
    rows = good[:2] + [b for b, _ in bad[:4]] + good[2:] + \
        [b for b, _ in bad[4:]]
    hub.cprs.update(re.match(r"[\d-]+", b).group().replace("-", "")
                    for b, _ in bad)
    path, lines = hub.csv("mixed.csv", rows)
    bad_lines = lines[2:6] + lines[8:12]
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert r.summary == {"rows": 12, "events": 4, "queued": 4,
                         "corrections": 0, "accepted": 4, "duplicates": 0, "rejected_rows": 8,
                         "rejected_by_hub": 0, "pending": 0}, r.summary
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == (4, 4)

    # stderr: FILE:LINE: column COL: reason, one per bad row, no CPR.
    diag = re.findall(r"^(.*):(\d+): column (\w+): (.+)$", r.stderr, re.M)
    assert [(f, int(n), col) for f, n, col, _ in diag] == \
        [(str(path), n, col) for n, (_, col) in zip(bad_lines, bad)]
    for cpr in hub.cprs:
        assert cpr not in r.stderr and dashed(cpr) not in r.stderr

    # The rejects file: a header, then line;column;reason;original line.
    rejects = path.parent / (path.name + ".rejects.csv")
    text = rejects.read_text().splitlines()
    assert text[0] == "line;column;reason;cpr;school;period_start;" \
        "period_end;lessons_absent;lessons_expected;kind;grade"
    assert len(text) == 1 + len(bad)
    for out, n, (original, col) in zip(text[1:], bad_lines, bad):
        line_no, column, rest = out.split(";", 2)
        assert (int(line_no), column) == (n, col)
        assert rest.endswith(";" + original)

    # It holds CPRs: the owner's alone.
    assert rejects.stat().st_mode & 0o777 == 0o600

    # Importing it again queues nothing and still reports the bad rows;
    # the rejects file made again is private again, even one opened up
    # by hand meanwhile.
    rejects.chmod(0o644)
    again = hub.adapter("import", path)
    assert again.rc == EXIT_ROWS_REJECTED, str(again)
    assert (again.summary["queued"], again.summary["rejected_rows"]) == (0, 8)
    assert hub.stats()["log_events"] == 4
    assert rejects.stat().st_mode & 0o777 == 0o600
    assert len(rejects.read_text().splitlines()) == 1 + len(bad)


def test_csv_dialects_and_kinds(hub):
    """Comma separator, quoting, BOM, CRLF, Danish aliases in another order,
    upper-case names and kinds, dashed CPRs, empty lines: all read alike,
    and the kinds mean what the SPEC says (chronic absence is absence for any
    reason: permitted leave counts too)."""
    p = CprGen(602).take(6)
    header = ["Skole", "CPRNR", "Til", "Fra", "Fravær", "Lektioner",
              "Fraværstype", "Klassetrin"]

    def row(cpr, absent, kind, school="Skolen, Nord"):
        return csv_line([school, dashed(cpr), "2024-05-10", "2024-05-06",
                         absent, 100, kind, ""], sep=",")

    rows = [row(p[0], 30, "Sygdom"),          # illness: counts
            row(p[1], 30, "lovligt"),         # permitted: counts
            "",
            row(p[2], 30, "ALLE"),            # all kinds: counts
            row(p[3], 30, "ulovligt", school='Skole "Syd"'),
            row(p[4], 5, "illness"),          # under the threshold
            row(p[5], 40, "Permitted")]      # counts
    hub.cprs.update(p)
    path, _ = hub.csv("dialect.csv", rows, sep=",", header=header, bom=True,
                      crlf=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["rows"], r.summary["events"], r.summary["accepted"],
            r.summary["rejected_rows"]) == (6, 6, 6, 0)
    st = hub.wait_stats("last_applied == 6", lambda s: s["last_applied"] == 6)
    assert st["alerts"] == 5, st
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=5, idle_exit=10)
    assert sorted(a["cpr"] for a in alerts) == \
        sorted([p[0], p[1], p[2], p[3], p[5]])


def natural_event_id(hash_key_hex, school, cpr, start, end, kind_number,
                     agency="school-a", absent=50, expected=100, grade=8):
    """The event id (docs/ADAPTERS.md, "Corrections"): BE64 occurred_at
    (period_end's midnight, ms), then the first 8 bytes of BLAKE2b-128
    keyed with the agency's hash key over the natural key ("absence" 0x1f
    school 0x1f cpr10 0x1f start 0x1f end 0x1f kind), 0x1e, and the
    content: the envelope's protobuf encoding with sent_at 0 and no
    event_id."""
    import datetime
    m = hubtest.pb()
    days = (datetime.date.fromisoformat(end) -
            datetime.date(1970, 1, 1)).days
    occurred = days * 86400000
    natural = "\x1f".join(["absence", school, cpr, start, end,
                           str(kind_number)]).encode()
    env = m.Envelope(agency=agency, schema_version=1, type=m.ABSENCE_REPORT,
                     sensitivity=m.PERSONAL, occurred_at=occurred, cpr=cpr)
    a = env.absence_report
    a.school, a.period_start, a.period_end = school, start, end
    a.lessons_absent, a.lessons_expected = absent, expected
    a.kind, a.grade = kind_number, grade
    content = env.SerializeToString()
    digest = hashlib.blake2b(natural + b"\x1e" + content, digest_size=16,
                             key=bytes.fromhex(hash_key_hex)).digest()
    return (occurred.to_bytes(8, "big") + digest[:8]).hex()


def test_event_ids_follow_the_spec(hub):
    [cpr] = CprGen(603).take(1)
    path, _ = hub.csv("one.csv", [AbsenceRow(cpr, absent=50, expected=100)])
    assert hub.adapter("import", path).rc == EXIT_OK
    hub.wait_stats("alert raised", lambda s: s["alerts"] == 1)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    [evidence] = alerts[0]["evidence"]
    key = read_key_file(hub.keys_dir / "school-a.key_secret")["hash_key"]
    assert evidence["event_id"] == natural_event_id(
        key, "280017", cpr, "2024-05-06", "2024-05-10", 3)   # 3 = UNLAWFUL


def test_same_rows_in_another_dialect_send_nothing(hub):
    [cpr] = CprGen(608).take(1)
    path, _ = hub.csv("one.csv", [AbsenceRow(cpr, absent=50, expected=100,
                                             grade="")])
    assert hub.adapter("import", path).rc == EXIT_OK
    header = ["Fraværstype", "Lektioner", "Fravær", "Til", "Fra", "Skole",
              "cpr_nr"]
    other, _ = hub.csv("other.csv", [csv_line(
        ["Ulovligt", 100, 50, "2024-05-10", "2024-05-06", "280017",
         dashed(cpr)], sep=",")], sep=",", header=header)
    r = hub.adapter("import", other)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["events"], r.summary["queued"]) == (1, 0)
    assert hub.stats()["log_events"] == 1


def test_corrected_row_reaches_the_hub(hub):
    """A school corrects a count (same pupil, period and kind): the hub
    must see the correction (the absence rule replaces the report), or a
    wrong 8 % could hide a real 30 %."""
    [cpr] = CprGen(609).take(1)
    path, _ = hub.csv("w19.csv", [AbsenceRow(cpr, absent=8, expected=100)])
    assert hub.adapter("import", path).rc == EXIT_OK
    hub.wait_stats("applied", lambda s: s["last_applied"] == 1)
    fixed, _ = hub.csv("w19-fixed.csv", [AbsenceRow(cpr, absent=30,
                                                    expected=100)])
    r = hub.adapter("import", fixed)
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["queued"], r.summary["accepted"]) == (1, 1)
    st = hub.wait_stats("applied", lambda s: s["last_applied"] == 2)
    assert st["alerts"] == 1
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    [evidence] = alerts[0]["evidence"]
    assert (evidence["lessons_absent"], evidence["lessons_expected"]) == \
        (30, 100)


def test_hub_down_exit_2_then_flush(make_hub):
    hub = make_hub(start=False)
    cprs = CprGen(604).take(25)
    path, _ = hub.csv("w19.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path, timeout=2)
    assert r.rc == EXIT_PENDING, str(r)
    assert (r.summary["queued"], r.summary["accepted"],
            r.summary["pending"]) == (25, 0, 25)
    # Never connected: the message says what to check.
    assert f"no progress from {hub.ingest} for 2 s (never connected: is " \
        "hubd running there, and are the host and port right?)" in \
        r.stderr, r.stderr
    hub.start()
    f = hub.adapter("flush")
    assert f.rc == EXIT_OK, str(f)
    assert (f.summary["accepted"], f.summary["pending"]) == (25, 0)
    assert hub.stats()["log_events"] == 25
    # Nothing left: a second flush sends nothing.
    f2 = hub.adapter("flush")
    assert f2.rc == EXIT_OK, str(f2)
    assert (f2.summary["accepted"], f2.summary["pending"]) == (0, 0)
    assert hub.stats()["log_events"] == 25


@pytest.mark.parametrize("cut", ["half", "0 bytes", "garbage"])
def test_a_damaged_outbox_is_refused_by_name(make_hub, cut):
    """ADAPTERS.md "A damaged outbox": an outbox data file cut short (a
    disk error, a copy cut short), emptied to 0 bytes or no LMDB file is
    refused with exit 3, naming the file (the outbox) and what to do,
    before anything reads it: no SIGBUS, no new empty outbox in its
    place. Importing the exports again into a new outbox sends what the
    hub lacks."""
    hub = make_hub(start=False)
    cprs = CprGen(605).take(25)
    path, _ = hub.csv("w20.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path, timeout=2)
    assert r.rc == EXIT_PENDING, str(r)
    outbox = hub.outbox_dir()
    data = outbox / "data.mdb"
    if cut == "half":
        out = subprocess.run(["mdb_stat", "-e", str(outbox)], check=True,
                             capture_output=True, text=True).stdout
        psize = int(re.search(r"Page size: (\d+)", out).group(1))
        pages = int(re.search(r"Number of pages used: (\d+)", out).group(1))
        size, need = pages // 2 * psize, pages * psize
        said = (f"{data} is damaged: {size} bytes, but its LMDB header "
                f"counts {need} (cut short); ")
    elif cut == "0 bytes":
        size = 0
        said = f"{data} is empty (0 bytes); "
    else:
        size = data.stat().st_size
        said = (f"adapter-school: {outbox}: cannot open LMDB environment: "
                "MDB_INVALID: File is not an LMDB file\n")
    if cut == "garbage":
        with open(data, "r+b") as f:
            f.write(b"\xa5" * 16384)
    else:
        os.truncate(data, size)
        said += ("move the outbox aside and import the agency's exports "
                 'again (ADAPTERS.md, "A damaged outbox")')
    hub.start()
    f = hub.adapter("flush")
    assert f.rc == EXIT_FATAL, str(f)
    assert said in f.stderr, f.stderr
    assert data.stat().st_size == size

    outbox.rename(outbox.with_name("outbox.damaged"))
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)
    assert hub.stats()["log_events"] == 25


def test_an_outbox_sealed_with_another_storage_key_is_refused_at_once(
        make_hub):
    """ADAPTERS.md "Replacing the adapter's key": a key file whose
    storage_key did not seal the outbox (replaced whole by a new keygen's)
    is refused, exit 3 with OUTBOX-SEAL, before a file is read: nothing
    is queued under the wrong key, so with the old key file back every
    event is delivered."""
    hub = make_hub(start=False)
    cprs = CprGen(611).take(5)
    first, _ = hub.csv("w21.csv", [AbsenceRow(c) for c in cprs[:3]])
    later, _ = hub.csv("w22.csv", [AbsenceRow(c) for c in cprs[3:]])
    r = hub.adapter("import", first, timeout=0)
    assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 3), str(r)
    key_file = hub.keys_dir / "school-a.key_secret"
    kept = key_file.read_text()
    hub.keygen("school-other")
    other = read_key_file(hub.keys_dir / "school-other.key_secret")
    key_file.write_text(re.sub(r"(?m)^storage_key = .*$",
                               f"storage_key = {other['storage_key']}",
                               kept))
    r = hub.adapter("import", later, timeout=0)
    assert r.rc == EXIT_FATAL, str(r)
    assert "OUTBOX-SEAL" in r.stderr and "storage_key" in r.stderr, \
        r.stderr
    assert "w22.csv" not in r.stdout + r.stderr, str(r)
    key_file.write_text(kept)
    hub.start()
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 3, 0), str(f)
    r = hub.adapter("import", later)
    assert (r.rc, r.summary["accepted"]) == (EXIT_OK, 2), str(r)
    assert hub.stats()["log_events"] == 5


def test_one_process_per_outbox(hub):
    """ADAPTERS.md: one process uses an outbox at a time; a second one
    (an import by hand while the watcher runs) exits 3 with that one
    line on stderr, before it reads a file: no file's line, no summary."""
    [cpr] = CprGen(612).take(1)
    path, _ = hub.csv("lock.csv", [AbsenceRow(cpr)])
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    w = hub.adapter_popen("watch", drop)
    try:
        hubtest.wait_for(lambda: "ADP-WATCH watching" in
                         w.stderr.readline(), 10, "the watcher to start",
                         interval=0)
        for args in (("import", path), ("flush",)):
            r = hub.adapter(*args)
            assert r.rc == EXIT_FATAL, str(r)
            assert (r.stdout, r.stderr) == ("", "adapter-school: another "
                                            "adapter process is using the "
                                            f"outbox {hub.outbox_dir()}; "
                                            "run one at a time\n"), str(r)
    finally:
        w.send_signal(signal.SIGTERM)
        w.communicate(timeout=30)
    assert w.returncode == 0
    r = hub.adapter("import", path)
    assert (r.rc, r.summary["accepted"]) == (EXIT_OK, 1), str(r)


def test_stopped_while_delivering_exits_2_and_keeps_the_events(make_hub):
    """SIGTERM or SIGINT once every file is queued, while the adapter
    waits for the hub: nothing is lost, so it is exit 2 (flush later),
    not the 3 of an import stopped inside a file."""
    hub = make_hub(start=False)
    cprs = CprGen(619).take(20)
    path, _ = hub.csv("w20.csv", [AbsenceRow(c) for c in cprs])
    def catches(pid, sig):
        with open(f"/proc/{pid}/status") as f:
            mask = next(ln for ln in f if ln.startswith("SigCgt:"))
        return int(mask.split()[1], 16) >> (sig - 1) & 1

    for cmd, sig in ((("import", path), signal.SIGTERM),
                     (("flush",), signal.SIGINT)):
        p = hub.adapter_popen(*cmd, timeout=60)
        hubtest.wait_for(lambda: catches(p.pid, sig), 20, "its handler")
        if cmd[0] == "import":
            # Past the file's import, into the wait for the hub.
            hubtest.wait_for(lambda: "20 rows, 0 rejected" in
                             p.stderr.readline(), 20, "the file's line",
                             interval=0)
        p.send_signal(sig)
        r = hub.adapter_finish(p)
        assert r.rc == EXIT_PENDING, str(r)
        assert r.summary["pending"] == 20, r.summary
        assert "ADP-STOP interrupted; the outbox keeps what was not " \
            "acknowledged" in r.stderr, r.stderr
    hub.start()
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 20, 0), str(f)


def test_hub_endpoint_of_an_ipv6_address(hub):
    """ADAPTERS.md, `hub`: tcp://HOST:PORT with HOST "a name, an address
    or [IPv6]". The tests' hubs listen on 127.0.0.1 only, so the IPv6
    form here is that address IPv4-mapped, [::ffff:127.0.0.1]."""
    cprs = CprGen(610).take(3)
    path, _ = hub.csv("v6.csv", [AbsenceRow(c) for c in cprs])
    port = hub.ingest.rsplit(":", 1)[1]
    r = hub.adapter("import", path, timeout=10,
                    hub=f"tcp://[::ffff:127.0.0.1]:{port}")
    assert r.rc == EXIT_OK, str(r)
    assert (r.summary["accepted"], r.summary["pending"]) == (3, 0)
    assert hub.stats()["log_events"] == 3


def test_an_ipc_path_too_long_for_a_socket_is_refused_first(hub):
    """ADAPTERS.md `hub`: ipc://PATH, PATH at most 107 bytes (a Unix
    socket's name). A longer one is a bad setting like any other: exit 3
    before a file is read, nothing queued, not a failed connect after
    the files were queued."""
    path, _ = hub.csv("w53.csv", [AbsenceRow(c) for c in CprGen(624).take(1)])
    for n, ok in ((107, True), (108, False)):
        endpoint = "ipc://" + str(hub.tmp / "s").ljust(n, "s")
        r = hub.adapter("import", path, hub=endpoint, timeout=1)
        if ok:
            assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 1), str(r)
            continue
        assert (r.rc, r.stdout) == (EXIT_FATAL, ""), str(r)
        assert r.stderr == f"adapter-school: {hub.adapters_dir}/" \
            f"school-a.conf:3: hub '{endpoint}' is not an endpoint " \
            "(tcp://HOST:PORT or ipc://PATH)\n", r.stderr


def test_timeout_0_sends_one_round(make_hub):
    """timeout = 0: one window of events goes, its acks are awaited (at
    most 1 s), and the rest stays pending (exit 2) for a later flush;
    with the hub down nothing goes and the run ends within about 1 s."""
    hub = make_hub()
    rows = [AbsenceRow(c) for c in CprGen(611).take(25)]
    path, _ = hub.csv("round.csv", rows)
    r = hub.adapter("import", path, timeout=0, window=10)
    assert r.rc == EXIT_PENDING, str(r)
    assert (r.summary["queued"], r.summary["accepted"],
            r.summary["pending"]) == (25, 10, 15), str(r)
    f = hub.adapter("flush", timeout=0, window=10)
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_PENDING, 10, 5), str(f)
    f = hub.adapter("flush", timeout=0, window=10)
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 5, 0), str(f)
    assert hub.stats()["log_events"] == 25
    hub.stop()
    more = [AbsenceRow(c) for c in CprGen(612).take(3)]
    path, _ = hub.csv("round-2.csv", more)
    began = time.monotonic()
    r = hub.adapter("import", path, timeout=0)
    assert time.monotonic() - began < 5 * hubtest.SLOW
    assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 3), str(r)


def test_text_output_counts_as_the_json_names_them(hub):
    """Without --json the per-file line and the summary name the same
    counts as the JSON: a re-import's rows are duplicates."""
    rows = [AbsenceRow(c) for c in CprGen(613).take(2)]
    path, _ = hub.csv("text.csv", rows)
    for dup in (0, 2):
        cmd = [c for c in hub.adapter_cmd("import", path) if c != "--json"]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        assert p.returncode == EXIT_OK, p.stderr
        assert (f"file {path}: csv, utf-8 (detected), kind absence: rows 2, "
                f"events 2, queued {2 - dup} (corrections 0), duplicates "
                f"{dup}, rejected rows 0\n") in p.stdout, p.stdout
        assert f"duplicates {dup}, rejected rows 0, rejected by hub 0" \
            in p.stdout, p.stdout


def test_rejects_setting_names_the_file(hub):
    [cpr] = CprGen(605).take(1)
    path, lines = hub.csv("x.csv", [AbsenceRow(cpr),
                                    "0101101234;280017;x;y;1;2;ulovligt;1"])
    hub.cprs.add("0101101234")
    target = hub.inputs_dir / "my-rejects.csv"
    r = hub.adapter("import", path, rejects=target)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    rows = target.read_text().splitlines()
    assert len(rows) == 2
    assert rows[1].startswith(f"{path};{lines[1]};period_start;")
    assert not (hub.inputs_dir / "x.csv.rejects.csv").exists()


def test_unreadable_file_is_fatal(hub):
    missing = hub.inputs_dir / "no-such-file.csv"
    r = hub.adapter("import", missing)
    assert r.rc == EXIT_FATAL, str(r)
    assert str(missing) in r.stderr
    assert hub.stats()["log_events"] == 0


def test_a_directory_or_a_named_pipe_is_no_file(hub):
    """A whole-file problem, exit 3 at once: a directory, or a named pipe
    no one writes to (which must not hang the run), is not an export
    file; the message says what to give instead."""
    import os
    pipe = hub.inputs_dir / "export.fifo"
    os.mkfifo(pipe)
    for target in (hub.inputs_dir, pipe):
        r = hub.adapter("import", target, wait=20)
        assert r.rc == EXIT_FATAL, str(r)
        assert (f"{target}: not a regular file (a directory, a pipe or a "
                "device): give the path of the export file") in r.stderr, \
            r.stderr
    assert hub.stats()["log_events"] == 0


def test_missing_column_is_fatal(hub):
    cprs = CprGen(606).take(2)
    header = ["cpr", "school", "period_start", "period_end",
              "lessons_absent", "kind"]           # no lessons_expected
    rows = [csv_line([c, "280017", "2024-05-06", "2024-05-10", 2,
                      "ulovligt"]) for c in cprs]
    hub.cprs.update(cprs)
    path, _ = hub.csv("nocol.csv", rows, header=header)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, str(r)
    assert "lessons_expected" in r.stderr
    assert hub.stats()["log_events"] == 0
    for c in cprs:
        assert c not in r.stderr


def test_events_refused_by_hub_are_dropped_and_reported(make_hub):
    hub = make_hub(agencies={"school-a": "assignment"})  # not absence
    cprs = CprGen(607).take(5)
    path, _ = hub.csv("w19.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["queued"], r.summary["accepted"],
            r.summary["rejected_by_hub"], r.summary["pending"]) == \
        (5, 0, 5, 0)
    # Each refusal is logged with the event id (hex) and the reason.
    refusals = re.findall(r"\b([0-9a-f]{32})\b.*E_DENIED", r.stderr)
    assert len(set(refusals)) == 5, r.stderr
    assert hub.stats()["log_events"] == 0
    # Not kept for retry...
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 0, 0)
    # ...nor remembered as sent: once the agency may send absence, the
    # same file goes through.
    hub.register_agency("school-a", "absence")
    again = hub.adapter("import", path)
    assert again.rc == EXIT_OK, str(again)
    assert (again.summary["accepted"], again.summary["pending"]) == (5, 0)
    assert hub.stats()["log_events"] == 5


def test_bad_usage_is_fatal(hub):
    import subprocess
    import hubtest
    conf = hub.school_conf()
    cases = [
        ["--config", str(conf), "--json", "export"],          # no such command
        ["--config", str(conf), "--json", "import"],          # no file
        ["--config", str(conf), "--json", "--bogus", "1", "flush"],
        ["--json", "--keys_dir", str(hub.keys_dir), "flush"],  # no agency
    ]
    for args in cases:
        p = subprocess.run([hubtest.binary("adapter-school"), *args],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == EXIT_FATAL, (args, p.stdout, p.stderr)
        assert p.stderr.strip(), args
    # A key file that is not there: fatal, and says which.
    r = hub.adapter("flush", agency="school-nokey")
    assert r.rc == EXIT_FATAL, str(r)
    assert "school-nokey" in r.stderr
    assert hub.stats()["log_events"] == 0


def test_bad_delivery_settings_refused_before_anything_is_queued(hub):
    """A bad timeout or window, a hub that is no endpoint, or a rejects
    file that cannot be made, is a settings error (exit 3) found before a file is read: nothing
    queued, so the next flush sends nothing."""
    [cpr] = CprGen(608).take(1)
    path, _ = hub.csv("s1.csv", [AbsenceRow(cpr)])
    for setting, value, reason in [
            ("window", "0", "window must be a whole number from 1 to 65536"),
            ("timeout", "abc", "timeout must be a whole number from 0 to"),
            ("timeout", "-5", "timeout must be a whole number from 0 to"),
            ("settle", "x", "settle must be a whole number from 0 to 3600"),
            ("rescan", "0", "rescan must be a whole number from 1 to 3600"),
            ("rejects", str(hub.tmp / "no-such-dir" / "r.csv"),
             "cannot make the rejects file in"),
            ("hub", hub.ingest.replace("tcp://", ""),
             "is not an endpoint (tcp://HOST:PORT or ipc://PATH)"),
            # A bind address ('*') or an IPv6 address without its
            # brackets is no host to connect to: refused here, not after
            # the files were queued.
            ("hub", "tcp://*:7601", "hub 'tcp://*:7601' is not an endpoint"),
            ("hub", "tcp://::1:7601",
             "hub 'tcp://::1:7601' is not an endpoint"),
            ("hub", "tcp://[]:7601", "hub 'tcp://[]:7601' is not an endpoint"),
            # A name starts with a letter or digit (libzmq refuses the
            # connect otherwise), and digits and dots are an IPv4
            # address or nothing: no name lookup would find them.
            ("hub", "tcp://-hub:7601",
             "hub 'tcp://-hub:7601' is not an endpoint"),
            ("hub", "tcp://10.0.0.1.5:7601",
             "hub 'tcp://10.0.0.1.5:7601' is not an endpoint"),
            # An id as hubctl and the hub word the rule.
            ("agency", "School A", "agency 'School A' is not a valid id "
             "(1-63 of a-z 0-9 . _ -, starting with a letter or digit, "
             "holding no CPR number)"),
            # A CPR in it makes it none, and is not repeated.
            ("agency", f"school-{hubtest.dashed(cpr)}",
             "agency 'school-xxxxxx-xxxx' is not a valid id (1-63 of a-z "
             "0-9 . _ -, starting with a letter or digit, holding no CPR "
             "number)"),
            # Empty, keys_dir would name /AGENCY.key_secret.
            ("keys_dir", "", "keys_dir must name a directory"),
            ("outbox", "", "outbox must name a directory")]:
        r = hub.adapter("import", path, **{setting: value})
        assert r.rc == EXIT_FATAL, (setting, str(r))
        assert reason in r.stderr, (setting, r.stderr)
        assert '{"file"' not in r.stdout, (setting, r.stdout)
        assert cpr not in r.stderr and hubtest.dashed(cpr) not in r.stderr
    # The test's own config file holds the CPR it typed; the sweep would
    # find it there, not in anything the adapter wrote.
    (hub.adapters_dir / f"school-{hubtest.dashed(cpr)}.conf").unlink()
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 0, 0), str(f)
    assert hub.stats()["log_events"] == 0


def test_yes_no_settings_take_a_value_or_none(hub):
    """--json alone, --json true, --json=yes and json = On in the file
    all mean true; --json false and json = no false; json = ja is an
    error naming the setting and the line (exit 3), never a quiet no."""
    import subprocess
    [cpr] = CprGen(609).take(1)
    path, _ = hub.csv("b1.csv", [AbsenceRow(cpr)])
    conf = hub.school_conf()
    exe = hubtest.binary("adapter-school")

    def run(*args, conf_extra=""):
        c = conf.parent / "bool.conf"
        c.write_text(conf.read_text() + conf_extra)
        return subprocess.run([exe, "--config", str(c), *args],
                              capture_output=True, text=True, timeout=60)

    for args, extra, as_json in [
            (["--json", "true"], "", True), (["--json=yes"], "", True),
            ([], "json = On\n", True), (["--json", "FALSE"], "", False),
            ([], "json = no\n", False), (["--json", "0"], "json = yes\n",
                                         False)]:
        p = run(*args, "import", str(path), conf_extra=extra)
        assert p.returncode == EXIT_OK, (args, extra, p.stderr)
        last = p.stdout.splitlines()[-1]
        assert last.startswith("{") == as_json, (args, extra, p.stdout)
    p = run("import", str(path), conf_extra="json = ja\n")
    assert p.returncode == EXIT_FATAL, p.stderr
    assert re.search(r"bool\.conf:\d+: json must be true or false", p.stderr)
    p = run("--json=ja", "flush")
    assert p.returncode == EXIT_FATAL, p.stderr
    assert "json must be true or false" in p.stderr
    # --help shows it as the parser takes it.
    h = subprocess.run([exe, "--help"], capture_output=True, text=True)
    assert "  --json [true|false]\n" in h.stdout
    assert "  --window VALUE\n" in h.stdout
    # The other programs read yes/no settings the same way.
    for prog, code in [("hubctl", 2), ("inbox", 2), ("webd", 2)]:
        flag = {"hubctl": "json", "inbox": "json", "webd": "behind_tls"}[prog]
        q = subprocess.run([hubtest.binary(prog), f"--{flag}=ja", "x"],
                           capture_output=True, text=True, timeout=30)
        assert q.returncode == code, (prog, q.returncode, q.stderr)
        assert f"{flag} must be true or false" in q.stderr, (prog, q.stderr)


def test_pending_rows_of_an_earlier_run_count_as_duplicates(make_hub):
    """Imported again while its events are still pending (hub down), a
    file's rows count as duplicates: rows = queued + duplicates +
    rejected rows, on every run."""
    hub = make_hub(start=False)
    cprs = CprGen(610).take(2)
    path, _ = hub.csv("pend.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path, timeout=1)
    assert (r.rc, r.summary["queued"], r.summary["duplicates"],
            r.summary["pending"]) == (EXIT_PENDING, 2, 0, 2), str(r)
    r = hub.adapter("import", path, timeout=1)
    assert (r.rc, r.summary["rows"], r.summary["events"],
            r.summary["queued"], r.summary["duplicates"],
            r.summary["pending"]) == (EXIT_PENDING, 2, 2, 0, 2, 2), str(r)
    assert "ADP-REPEAT" not in r.stderr
    hub.start()
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 2, 0), str(f)


def test_a_pending_event_the_hub_already_had_counts_twice(make_hub):
    """ADAPTERS.md, "Re-imports and corrections": an event still pending
    from an earlier run, met again, is a duplicate row; if the hub had
    already stored it (the earlier run was killed after the hub stored
    it, before its ack was recorded) the hub's DUPLICATE answer counts
    once more, so the summary's duplicates exceed its rows. Made here
    with a second outbox that delivered the same events first."""
    hub = make_hub()
    cprs = CprGen(623).take(3)
    path, _ = hub.csv("w52.csv", [AbsenceRow(c) for c in cprs])
    first = hub.adapter("import", path, outbox=hub.tmp / "first-outbox")
    assert (first.rc, first.summary["accepted"]) == (EXIT_OK, 3), str(first)
    hub.stop()
    r = hub.adapter("import", path, timeout=1)
    assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 3), str(r)
    hub.start()
    r = hub.adapter("import", path)
    [line] = [json.loads(x) for x in r.stdout.splitlines()
              if x.startswith('{"file"')]
    assert (line["rows"], line["queued"], line["duplicates"]) == (3, 0, 3)
    assert (r.rc, r.summary["rows"], r.summary["accepted"],
            r.summary["duplicates"], r.summary["pending"]) == \
        (EXIT_OK, 3, 0, 6, 0), str(r)
    assert hub.stats()["log_events"] == 3


def test_agency_in_the_outbox_setting_is_the_agency(make_hub):
    """--help: the outbox setting's AGENCY is the agency setting, in any
    outbox path as in the default: one config for two agencies gives
    each its own outbox, not one directory named AGENCY sealed with one
    agency's key and refused by the other."""
    hub = make_hub(agencies={"school-a": "absence", "school-b": "absence"})
    outboxes = hub.tmp / "outboxes"
    for agency, seed in (("school-a", 611), ("school-b", 612)):
        path, _ = hub.csv(f"{agency}.csv",
                          [AbsenceRow(c) for c in CprGen(seed).take(2)])
        r = hub.adapter("import", path, agency=agency,
                        outbox=outboxes / "AGENCY" / "outbox")
        assert (r.rc, r.summary["accepted"]) == (EXIT_OK, 2), str(r)
    assert sorted(p.name for p in outboxes.iterdir()) == \
        ["school-a", "school-b"]
    assert (outboxes / "school-b" / "outbox" / "data.mdb").is_file()


def test_an_outbox_an_earlier_version_left_at_a_literal_agency_is_named(
        make_hub):
    """ADAPTERS.md `outbox`: versions before took AGENCY literally in a
    path of one's own. After the upgrade such an outbox, with events the
    hub has not taken, is not replaced by an empty new one: exit 3,
    naming it and where to move it; moved there, its events are sent."""
    hub = make_hub(start=False)
    outboxes = hub.tmp / "outboxes"
    path, _ = hub.csv("w41.csv", [AbsenceRow(c) for c in CprGen(613).take(2)])
    r = hub.adapter("import", path, timeout=1,
                    outbox=outboxes / "made-by-the-earlier" / "outbox")
    assert (r.rc, r.summary["pending"]) == (EXIT_PENDING, 2), str(r)
    (outboxes / "made-by-the-earlier").rename(outboxes / "AGENCY")
    hub.start()
    setting = outboxes / "AGENCY" / "outbox"
    r = hub.adapter("flush", outbox=setting)
    conf = hub.adapters_dir / "school-a.conf"
    line = next(i for i, l in enumerate(conf.read_text().splitlines(), 1)
                if l.startswith("outbox"))
    assert r.rc == EXIT_FATAL, str(r)
    assert f"adapter-school: {conf}:{line}: outbox: {setting} is the " \
        "outbox an earlier version made for this setting, which took " \
        "AGENCY literally; AGENCY now stands for the agency: move it to " \
        f"{outboxes / 'school-a' / 'outbox'} (the events it still holds " \
        "go with it) and run the adapter again" in r.stderr, r.stderr
    assert sorted(p.name for p in outboxes.iterdir()) == ["AGENCY"]
    (outboxes / "AGENCY").rename(outboxes / "school-a")
    r = hub.adapter("flush", outbox=setting)
    assert (r.rc, r.summary["accepted"], r.summary["pending"]) == \
        (EXIT_OK, 2, 0), str(r)


def test_a_key_file_line_that_is_no_setting_is_named_once(make_hub):
    """PROTOCOL.md §3 "Key files": the adapters read hub.key and their
    AGENCY.key_secret with the reader of hubd's configuration, with its
    errors: the file and line, then what is wrong
    (`adapter-school: KEYS/hub.key:1: bad value for 'public'`), the path
    said once; a file missing is `cannot open PATH: ...`, and a key file
    without its key names the file before saying so."""
    hub = make_hub(start=False)
    hub_key = hub.keys_dir / "hub.key"
    secret = hub.keys_dir / "school-a.key_secret"
    kept_hub, kept_secret = hub_key.read_text(), secret.read_text()
    cases = [
        (hub_key, "public = abc\n" + kept_hub,
         f"adapter-school: {hub_key}:1: bad value for 'public'\n"),
        (hub_key, " = x\n" + kept_hub,
         f"adapter-school: {hub_key}:1: expected a name before '='\n"),
        (hub_key, "# nothing\n",
         f"adapter-school: {hub_key}: not a public key file (needs "
         "public)\n"),
        (secret, "secret\n" + kept_secret,
         f"adapter-school: {secret}:1: expected name = value\n"),
    ]
    for path, text, want in cases:
        hub_key.write_text(kept_hub)
        secret.write_text(kept_secret)
        path.write_text(text)
        r = hub.adapter("flush")
        assert r.rc == EXIT_FATAL and r.stderr.endswith(want), (want, str(r))
    hub_key.write_text(kept_hub)
    secret.unlink()
    r = hub.adapter("flush")
    assert r.rc == EXIT_FATAL and r.stderr.endswith(
        f"adapter-school: cannot open {secret}: No such file or "
        "directory\n"), str(r)
    secret.write_text(kept_secret)


def test_an_outbox_that_cannot_be_created_names_the_directory(make_hub):
    """ADAPTERS.md `outbox`: a path that cannot be created (elsewhere than
    the unit's state directory) exits 3 at start, `adapter-school: PATH:
    cannot create DIR: Read-only file system`, DIR being the directory
    that failed: a parent, or the outbox's own directory; nothing is
    read or queued."""
    if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("no mount namespaces here")
    hub = make_hub()
    ro = hub.tmp / "read-only"
    ro.mkdir()
    path, _ = hub.csv("w50.csv", [AbsenceRow(c) for c in CprGen(621).take(1)])
    for outbox, blocked in ((ro / "outbox", ro / "outbox"),
                            (ro / "a" / "outbox", ro / "a")):
        p = subprocess.run(
            ["unshare", "-m", "sh", "-c",
             'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0"'
             ' && exec "$@"', str(ro),
             *hub.adapter_cmd("import", path, outbox=outbox)],
            capture_output=True, text=True, timeout=60)
        assert p.returncode == EXIT_FATAL, p.stderr
        assert p.stderr == f"adapter-school: {outbox}: cannot create " \
            f"{blocked}: Read-only file system\n", p.stderr
        assert p.stdout == ""
    assert list(ro.iterdir()) == []
    # An outbox directory made there before (by hand, as root) is no
    # better: the adapter cannot take its lock.
    (ro / "outbox").mkdir()
    p = subprocess.run(
        ["unshare", "-m", "sh", "-c",
         'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0"'
         ' && exec "$@"', str(ro),
         *hub.adapter_cmd("import", path, outbox=ro / "outbox")],
        capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (EXIT_FATAL, ""), p.stderr
    assert p.stderr == f"adapter-school: cannot open {ro}/outbox/" \
        "adapter.lock: Read-only file system\n", p.stderr
    assert hub.stats()["log_events"] == 0


def test_a_key_the_hub_refuses_stops_at_once_and_keeps_the_events(make_hub):
    """ADAPTERS.md, "A key the hub refuses": a key the hub has not
    registered, or a hub.key that is not the hub's, ends import, flush
    and watch with exit 3 within seconds (not after `timeout`), naming
    the cause; the events stay in the outbox and go once it is put
    right."""
    hub = make_hub(agencies={"school-a": "absence", "school-z": "absence"},
                   register=False)
    hub.register_agency("school-a", "absence")
    path, _ = hub.csv("w51.csv", [AbsenceRow(c) for c in CprGen(622).take(2)])
    refused = ("adapter-school: the hub refused this adapter's key: "
               "register it with hubctl register-agency (or hub = "
               f"{hub.ingest} is not the hub's ingest endpoint)\n")
    wrong_hub = ("adapter-school: the hub refused this adapter's key: "
                 "register it with hubctl register-agency (or "
                 "keys_dir/hub.key is not the hub's public key): the hub "
                 "closed the connection during 3 CURVE handshakes in a "
                 "row\n")
    start = time.monotonic()
    r = hub.adapter("import", path, agency="school-z", timeout=120)
    assert time.monotonic() - start < 10 * hubtest.SLOW, str(r)
    assert (r.rc, r.summary["queued"], r.summary["pending"]) == \
        (EXIT_FATAL, 2, 2), str(r)
    assert r.stderr.endswith(refused), r.stderr
    keys = hub.tmp / "wrong-hub-key"
    keys.mkdir()
    wrong = read_key_file(hub.keys_dir / "cw-anna.key")["public"]
    (keys / "hub.key").write_text(f"public = {wrong}\n")
    (keys / "school-z.key_secret").write_bytes(
        (hub.keys_dir / "school-z.key_secret").read_bytes())
    (keys / "school-z.key_secret").chmod(0o600)
    for cmd in (("flush",), ("watch", hub.inputs_dir / "drop")):
        (hub.inputs_dir / "drop").mkdir(exist_ok=True)
        start = time.monotonic()
        p = subprocess.run(hub.adapter_cmd(*cmd, agency="school-z",
                                           keys_dir=keys, timeout=120),
                           capture_output=True, text=True,
                           timeout=60 * hubtest.SLOW)
        assert time.monotonic() - start < 10 * hubtest.SLOW, p.stderr
        assert p.returncode == EXIT_FATAL, p.stderr
        assert p.stderr.endswith(wrong_hub), p.stderr
    hub.register_agency("school-z", "absence")
    # The delivery endpoint refuses an agency's key as the ingest one
    # refuses an unknown key: the message names the endpoint too.
    r = hub.adapter("flush", agency="school-z", hub=hub.delivery)
    assert (r.rc, r.summary["pending"]) == (EXIT_FATAL, 2), str(r)
    assert r.stderr.endswith(
        "adapter-school: the hub refused this adapter's key: register it "
        f"with hubctl register-agency (or hub = {hub.delivery} is not the "
        "hub's ingest endpoint)\n"), r.stderr
    f = hub.adapter("flush", agency="school-z")
    assert (f.rc, f.summary["accepted"], f.summary["pending"]) == \
        (EXIT_OK, 2, 0), str(f)
