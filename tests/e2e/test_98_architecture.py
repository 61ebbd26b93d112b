"""docs/ARCHITECTURE.md read as a new engineer and an auditor read it: the
claims about the order of durability, the threads and what each LMDB
environment holds, checked on a real hubd and webd. The folder boundaries
are tests/test_layout.py's, the databases' names test_01's."""

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

import hubtest

ROOT = Path(__file__).resolve().parents[2]
ARCH = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")

# One strace -ff line: TIME NAME(FD<PATH>, ...) = RET <DURATION>
CALL = re.compile(r"^(\d+\.\d+) (\w+)\((\d+)<(TCP:\[[^\]]*\]|[^>]*)>"
                  r".*\) = (-?\d+)(?: [A-Z]\w* \([^)]*\))? <(\d+\.\d+)>$")


def traced_calls(prefix):
    """Every complete call of the per-thread traces strace -ff wrote:
    (tid, start, end, name, fd path)."""
    calls = []
    for f in prefix.parent.glob(prefix.name + ".*"):
        tid = int(f.suffix[1:])
        for line in f.read_text(errors="replace").splitlines():
            m = CALL.match(line)
            if m:
                start = float(m.group(1))
                calls.append((tid, start, start + float(m.group(6)),
                              m.group(2), m.group(4)))
    return calls


def thread_comms(pid):
    names = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            names[int(tid)] = f.read().strip()
    return names


def test_an_ack_leaves_only_after_the_log_is_fdatasynced(hub, tmp_path):
    """ARCHITECTURE.md, "The life of one event" 4-5 and "Crash and
    restart": the batch is committed on log/ with fsync by the writer
    thread, the ids/ index is committed after it without fsync, and only
    then is the ack sent. Traced with strace on the running hubd: the ack's
    bytes leave on the ingest connection after the writer's fdatasync of
    log/data.mdb returned and after ids/ was written; nobody but the
    flusher syncs ids/ or derived/."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    pid = hub.proc.pid
    comms = thread_comms(pid)
    prefix = tmp_path / "trace"
    st = subprocess.Popen(
        ["strace", "-f", "-ff", "-qq", "-ttt", "-T", "-yy",
         "-e", "trace=fdatasync,fsync,pwrite64,pwritev,writev,write,"
               "sendto,sendmsg",
         "-o", str(prefix), "-p", str(pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        cprs = hubtest.CprGen(9801).take(4)
        with hubtest.IngestClient(hub, "school-a") as cli:
            # The first events connect and give strace, on a loaded
            # machine, time to attach to every thread (one was not enough
            # once: the writer's sync went untraced).
            for i, cpr in enumerate(cprs[:3]):
                first = hubtest.envelope("school-a", cpr, salt=f"arch-{i}")
                assert cli.ack_for(hubtest.frame(first),
                                   timeout=30).status == hubtest.ACCEPTED
            time.sleep(0.5)
            env = hubtest.envelope("school-a", cprs[3], salt="arch-3")
            t0 = time.time()
            ack = cli.ack_for(hubtest.frame(env), timeout=30)
            t1 = time.time()
        assert ack.status == hubtest.ACCEPTED, ack
        time.sleep(0.2)
    finally:
        st.terminate()
        st.wait(timeout=20)
    calls = [c for c in traced_calls(prefix) if t0 <= c[1] <= t1]
    port = hub.ingest.rsplit(":", 1)[1]
    sends = [c for c in calls if c[3] in ("sendto", "sendmsg", "write",
                                         "writev")
             and c[4].startswith(f"TCP:[127.0.0.1:{port}->")]
    assert sends, f"no send on the ingest connection traced: {calls}"
    ack_sent = sends[-1][1]
    log_file = str(hub.data_dir / "log" / "data.mdb")
    ids_file = str(hub.data_dir / "ids" / "data.mdb")
    syncs = [c for c in calls if c[3] in ("fdatasync", "fsync")
             and c[4] == log_file]
    assert syncs, f"no fdatasync of {log_file} while the event was sent"
    assert comms.get(syncs[0][0]) == "hubd-writer", (syncs, comms)
    assert syncs[0][2] <= ack_sent, \
        f"the ack left at {ack_sent} before the log's sync ended: {syncs}"
    # LMDB writes the meta page that makes the commit count after the
    # data's sync, through a descriptor opened O_DSYNC: that too first.
    log_writes = [c for c in calls if c[4] == log_file
                  and c[3] in ("pwrite64", "pwritev", "writev", "write")]
    assert log_writes and max(c[2] for c in log_writes) <= ack_sent, \
        (log_writes, ack_sent)
    ids_writes = [c for c in calls if c[4] == ids_file
                  and c[3] in ("pwrite64", "pwritev", "writev", "write")]
    assert ids_writes, "ids/ was not committed with the batch"
    assert syncs[0][2] <= ids_writes[0][1] <= ack_sent, (syncs, ids_writes,
                                                         ack_sent)
    unsynced = {ids_file, str(hub.data_dir / "derived" / "data.mdb")}
    stray = [c for c in calls if c[3] in ("fdatasync", "fsync")
             and c[4] in unsynced and comms.get(c[0]) != "hubd-flusher"]
    assert not stray, f"ids/ or derived/ synced outside the flusher: {stray}"


def log_row():
    row = [line for line in ARCH.splitlines() if line.startswith("| `log` |")]
    assert len(row) == 1, row
    return row[0]


def test_the_log_table_names_every_kind_of_record_the_log_holds(hub):
    """ARCHITECTURE.md, "The LMDB layout": the `log` database's row says
    what it holds. hubctl's assignments are records of the log too
    (OPERATIONS.md, "Contact persons": a ContactAssignment event, agency
    `hubctl`), so the row names them beside the agencies' events and the
    recorded actions; an auditor reading the table would otherwise look
    for them elsewhere."""
    cprs = hubtest.CprGen(9802).take(2)
    hub.assign(cprs[0], "cw-anna")
    hub.send(hubtest.envelope("school-a", cprs[1], salt="arch-log"))
    hub.wait_applied()
    assert hub.stats()["log_events"] == 2, hub.stats()
    if shutil.which("mdb_stat"):
        out = subprocess.run(["mdb_stat", "-s", "log",
                              str(hub.data_dir / "log")],
                             capture_output=True, text=True, timeout=30)
        assert re.search(r"Entries: 2$", out.stdout, re.M), out.stdout
    row = log_row()
    assert "agencies' events" in row, row
    assert "CaseworkerAction, agency `hub`" in row, row
    assert "ContactAssignment, agency `hubctl`" in row, row


SYSCALL = re.compile(r"^(\d+\.\d+) (\w+)\((.*)$")


def traced_lines(prefix, tid):
    """(start, name, rest) of each call one thread made, in order."""
    path = prefix.parent / f"{prefix.name}.{tid}"
    out = []
    for line in path.read_text(errors="replace").splitlines():
        m = SYSCALL.match(line)
        if m:
            out.append((float(m.group(1)), m.group(2), m.group(3)))
    return out


def test_who_writes_the_derived_state_and_who_flushes_it(hub, tmp_path):
    """ARCHITECTURE.md, "The processes": a batch of 16 entries or fewer
    the loop applies itself while the applier is idle, a larger one the
    applier applies; the flusher writes the dirty pages of derived/ and
    ids/ every 5 s, an fdatasync of each and nothing else."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    pid = hub.proc.pid
    comms = thread_comms(pid)
    tids = {name: tid for tid, name in comms.items()}
    prefix = tmp_path / "trace"
    st = subprocess.Popen(["strace", "-f", "-ff", "-qq", "-ttt", "-yy",
                           "-o", str(prefix), "-p", str(pid)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    derived = str(hub.data_dir / "derived" / "data.mdb")
    ids = str(hub.data_dir / "ids" / "data.mdb")
    try:
        time.sleep(0.5 * hubtest.SLOW)     # strace attaches every thread
        cprs = hubtest.CprGen(9803).take(201)
        with hubtest.IngestClient(hub, "school-a") as cli:
            one = hubtest.envelope("school-a", cprs[0], salt="arch-one")
            assert cli.ack_for(hubtest.frame(one), timeout=30).status == \
                hubtest.ACCEPTED
            hub.wait_applied()
            t_small = time.time()
            # Many at once: the loop drains what is ready into batches
            # larger than 16 while the writer syncs the one before.
            for i, cpr in enumerate(cprs[1:]):
                env = hubtest.envelope("school-a", cpr, salt=f"arch-{i}")
                assert cli.send(hubtest.frame(env), timeout=30)
            for _ in cprs[1:]:
                ack = cli.recv_ack(30)
                assert ack is not None and ack.status == hubtest.ACCEPTED
        hub.wait_applied()
        # Two flushes at least: they are 5 s apart.
        time.sleep(10.5)
    finally:
        st.terminate()
        st.wait(timeout=20)

    def writes(name, until=None):
        return [c for c in traced_lines(prefix, tids[name])
                if c[1] in ("pwrite64", "pwritev", "writev", "write")
                and f"<{derived}>" in c[2].split(",", 1)[0]
                and (until is None or c[0] < until)]

    assert writes("hubd", until=t_small), \
        "the loop did not apply the batch of one itself"
    assert not writes("hubd-applier", until=t_small), \
        "the applier applied a batch of one while idle"
    assert writes("hubd-applier"), "the applier applied no large batch"

    flusher = traced_lines(prefix, tids["hubd-flusher"])
    syncs = [c for c in flusher if c[1] == "fdatasync"]
    files = [c[2].split("<", 1)[1].split(">", 1)[0] for c in syncs]
    assert len(syncs) >= 4 and set(files) == {derived, ids}, syncs
    turns = []                      # the syncs of one turn, < 1 s apart
    for (when, _, _), f in zip(syncs, files):
        if turns and when - turns[-1][0] < 1:
            turns[-1][1].add(f)
        else:
            turns.append((when, {f}))
    # Each turn syncs both (the trace may cut the first or the last).
    assert all(t[1] == {derived, ids} for t in turns[1:-1]), turns
    rounds = [t[0] for t in turns]
    gaps = [b - a for a, b in zip(rounds, rounds[1:])]
    assert gaps and all(4.5 <= g <= 5.5 + hubtest.SLOW for g in gaps), gaps
    # Nothing else: waiting for its next turn is all the flusher does.
    other = {c[1] for c in flusher} - {"fdatasync", "futex",
                                       "restart_syscall", "clock_nanosleep",
                                       "nanosleep"}
    assert not other, f"the flusher made other calls: {other}"


def test_the_mta_runs_in_a_group_of_its_own_with_sigpipe_at_default(
        make_hub, tmp_path):
    """ARCHITECTURE.md, "E-mail notices of new alerts": the notice is
    written to `mail_sendmail -t -i` started in a process group of its
    own, with SIGPIPE at its default (hubd itself ignores it), so an MTA
    that writes to a closed pipe ends as it would from a shell."""
    from test_71_web_live import absence, anna_mail_hub
    d = tmp_path / "mailhub" / "mail"
    d.mkdir(parents=True)
    script = d / "sendmail"
    script.write_text("#!/bin/sh\n"
                      f"grep '^SigIgn:' /proc/$$/status > '{d}/sig.'$$\n"
                      f"cut -d' ' -f5 /proc/$$/stat > '{d}/pgid.'$$\n"
                      "cat > /dev/null\n")
    script.chmod(0o755)
    hub = anna_mail_hub(make_hub, script)
    cpr = hubtest.CprGen(9804).next()
    hub.assign(cpr, "cw-anna")
    hub.send(absence(cpr, "arch-mail"))
    hubtest.wait_for(lambda: list(d.glob("pgid.*")), 30 * hubtest.SLOW,
                     "the MTA started")
    [sig] = list(d.glob("sig.*"))
    [pgid_file] = list(d.glob("pgid.*"))
    pid = int(pgid_file.suffix[1:])
    hubtest.wait_for(lambda: pgid_file.read_text().strip(), 10, "pgid")
    assert int(pgid_file.read_text()) == pid, "not a group of its own"
    assert int(pgid_file.read_text()) != os.getpgid(hub.proc.pid)
    ignored = int(sig.read_text().split()[1], 16)
    assert not ignored & (1 << (13 - 1)), f"SIGPIPE ignored: {ignored:x}"
    with open(f"/proc/{hub.proc.pid}/status") as f:
        hub_ignored = int(re.search(r"^SigIgn:\s*(\S+)", f.read(),
                                    re.M).group(1), 16)
    assert hub_ignored & (1 << (13 - 1)), \
        "hubd does not ignore SIGPIPE: the check above proves nothing"


def test_an_erasure_syncs_ids_and_derived_at_once(hub, tmp_path):
    """ARCHITECTURE.md, "The LMDB layout": ids/ (committed without fsync,
    flushed with derived/ every 5 s) is flushed at once after an
    erasure, so an OS crash after `hubctl erase` said so cannot bring
    the person's index entries back: hubctl fdatasyncs log/, ids/ and
    derived/ before it exits."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    cpr = hubtest.CprGen(9805).next()
    hub.cprs.add(cpr)
    hub.send(hubtest.envelope("school-a", cpr, salt="arch-erase"))
    hub.wait_applied()
    trace = tmp_path / "trace"
    p = subprocess.run(["strace", "-f", "-qq", "-yy", "-e",
                        "trace=fdatasync,fsync", "-o", str(trace),
                        hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "erase", "--cpr", cpr, "--reason", "arch test"],
                       capture_output=True, text=True, timeout=60,
                       env=hubtest.strace_env())
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("erased: 1 records, 1 ids entries,"), p.stdout
    synced = set(re.findall(r"f(?:data)?sync\(\d+<([^>]*)>\) = 0",
                            trace.read_text()))
    for env in ("log", "ids", "derived"):
        assert str(hub.data_dir / env / "data.mdb") in synced, (env, synced)


def test_webd_is_one_thread_beside_libzmqs(make_hub):
    """ARCHITECTURE.md, "The web inbox": webd is one thread of its own
    (beside libzmq's ZMQbg/... threads): libmicrohttpd's event loop with
    external polling serves pages and live-update streams on it, so no
    thread of libmicrohttpd's appears, also with a login answered, a page
    served and a stream open."""
    import socket
    from test_70_web import Web, anna_session, web_hub
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        session = anna_session(web)
        r, page = web.request("GET", "/alerts", cookies=session)
        assert r.status == 200, page
        since = re.search(r'data-events="/events\?since=(\d+)"', page)
        assert since, page
        stream = socket.create_connection(("127.0.0.1", web.port),
                                          timeout=10)
        try:
            stream.sendall(
                f"GET /events?since={since.group(1)} HTTP/1.1\r\n"
                f"Host: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Cookie: ug_session={session['ug_session']}\r\n\r\n"
                .encode())
            head = stream.recv(4096).decode(errors="replace")
            assert head.startswith("HTTP/1.1 200"), head
            assert "text/event-stream" in head, head
            names = sorted(thread_comms(web.proc.pid).values())
        finally:
            stream.close()
        # A thread left unnamed would show as "webd" too: count them.
        assert [n for n in names if not n.startswith("ZMQbg/")] == \
            ["webd"], names
    finally:
        web.stop()


FOLDERS = ("common", "proto", "store", "hub", "web", "adapters")


def test_where_the_code_is_names_every_source_file_and_no_other():
    """ARCHITECTURE.md, "Where the code is" and "The rules engine": a new
    engineer finds every product source file there (an agency's program
    through "`NAME_main.c` is the program `adapter-NAME`"), and every
    path the page names is a file of the tree."""
    named = set(re.findall(r"`((?:%s)/[\w.]+\.[ch])`" % "|".join(FOLDERS),
                           ARCH))
    gone = sorted(n for n in named if not (ROOT / n).is_file())
    assert not gone, f"ARCHITECTURE.md names files that do not exist: {gone}"
    unnamed = []
    for folder in FOLDERS:
        for p in sorted((ROOT / folder).glob("*.c")):
            rel = f"{folder}/{p.name}"
            if rel in named or re.search(r"[`, ]%s[`,]" % re.escape(p.name),
                                         ARCH):
                continue
            if folder == "adapters" and p.name.endswith("_main.c") and \
                    "`NAME_main.c` is the program `adapter-NAME`" in ARCH:
                continue
            unnamed.append(rel)
    assert not unnamed, f"source files ARCHITECTURE.md does not place: " \
        f"{unnamed}"


def test_derived_and_ids_deleted_together_come_back_from_the_log(hub):
    """ARCHITECTURE.md, "The LMDB layout" and "Crash and restart": log/
    holds only what cannot be recomputed; ids/ (an index of the log) and
    derived/ (rebuilt from the log) may both be lost. Deleted together,
    the next start replays the whole log (HUB-REPLAY applying log entries
    1..N): the same alerts, an acknowledged one still acknowledged (it
    stays as a tombstone, so a replay never reopens it), the open one
    still open for its recipient, and a resent event DUPLICATE with the
    sequence it was stored under."""
    cprs = hubtest.CprGen(9806).take(4)
    hub.cprs.update(cprs)
    seqs = hub.absence_alerts("cw-anna", cprs[:3], "arch-rebuild")
    desk_env = hubtest.envelope("school-a", cprs[3], salt="arch-desk",
                                absent=12, expected=30)
    [desk_seq] = hub.send(desk_env)
    hub.wait_stats("four alerts", lambda s: s["alerts"] == 4)
    rc, acked, err = hub.inbox("cw-anna", max_alerts=3, idle_exit=10)
    assert rc == 0 and len(acked) == 3, err
    before = hub.wait_stats("three acknowledged",
                            lambda s: s["alerts_open"] == 1)
    [open_alert] = hub.peek("desk-dora", 1)
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    shutil.rmtree(hub.data_dir / "ids")
    hub.start()
    last = before["last_seq"]
    hub.wait_log(rf"HUB-REPLAY applying log entries 1\.\.{last} to "
                 r"derived state")
    after = hub.wait_applied()
    for k in ("last_seq", "alerts", "alerts_open"):
        assert after[k] == before[k], (k, before, after)
    hub.peek("cw-anna", 0)
    [again] = hub.peek("desk-dora", 1)
    assert again["alert_id"] == open_alert["alert_id"], (open_alert, again)
    [dup] = hub.acks(desk_env)
    assert (dup.status, dup.sequence) == (hubtest.DUPLICATE, desk_seq), dup
    [dup] = hub.acks(hubtest.envelope("school-a", cprs[0],
                                      salt="arch-rebuild-0", absent=12,
                                      expected=30))
    assert (dup.status, dup.sequence) == (hubtest.DUPLICATE, seqs[0]), dup


def test_hubd_runs_one_of_each_thread(hub):
    """ARCHITECTURE.md, "The processes": one loop thread and three
    helpers, `hubd`, `hubd-writer`, `hubd-applier`, `hubd-flusher`,
    beside libzmq's ZMQbg/... threads. A thread started without a name
    would show as a second `hubd`: counted, not only listed."""
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(9807).next(),
                              salt="arch-threads"))
    hub.wait_applied()
    names = sorted(n for n in thread_comms(hub.proc.pid).values()
                   if not n.startswith("ZMQbg/"))
    assert names == ["hubd", "hubd-applier", "hubd-flusher",
                     "hubd-writer"], names
