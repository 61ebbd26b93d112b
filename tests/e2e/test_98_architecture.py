"""docs/ARCHITECTURE.md read as a new engineer and an auditor read it: the
claims about the order of durability and what each LMDB environment
holds, checked on a real hubd. The folder boundaries are tests/test_layout.py's,
the threads' names and the databases' names test_01's."""

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
CALL = re.compile(r"^(\d+\.\d+) (\w+)\((\d+)<(TCP:\[[^\]]*\]|[^>]*)>.*\) = (-?\d+)"
                  r"(?: [A-Z]\w* \([^)]*\))? <(\d+\.\d+)>$")


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
        cprs = hubtest.CprGen(9801).take(2)
        with hubtest.IngestClient(hub, "school-a") as cli:
            # The first event connects (and, under strace, attaches).
            first = hubtest.envelope("school-a", cprs[0], salt="arch-1")
            assert cli.ack_for(hubtest.frame(first), timeout=30).status == \
                hubtest.ACCEPTED
            env = hubtest.envelope("school-a", cprs[1], salt="arch-2")
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
