"""04 restart: acked means durable, and nobody loses or doubles an event
when hubd or an adapter dies at a bad moment.

Every test ends with the privacy sweep (the hub fixture's teardown)."""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import zmq

import hubtest
from hubtest import (ACCEPTED, DUPLICATE, AbsenceRow, CprGen, IngestClient,
                     envelope, frame, wait_for)


def cohort(seed, n, every=5):
    """n rows; every `every`-th person is at 30 % (one alert each)."""
    cprs = CprGen(seed).take(n)
    rows = [AbsenceRow(c, absent=30 if i % every == 0 else 2, expected=100)
            for i, c in enumerate(cprs)]
    alerted = {c for i, c in enumerate(cprs) if i % every == 0}
    return rows, alerted


def check_alerts_once(hub, alerted):
    """Every expected alert exists exactly once (stats and the inbox)."""
    st = hub.stats()
    assert st["alerts"] == len(alerted), st
    assert st["alerts_open"] == len(alerted), st
    rc, alerts, err = hub.inbox("desk-dora", max_alerts=len(alerted),
                                idle_exit=10)
    assert rc == 0, err
    assert len(alerts) == len(alerted)
    assert len({a["alert_id"] for a in alerts}) == len(alerted)
    assert sorted(a["cpr"] for a in alerts) == sorted(alerted)
    assert {a["delivery"] for a in alerts} == {1}
    hub.wait_stats("alerts_open == 0", lambda s: s["alerts_open"] == 0)
    # Nothing more behind them.
    rc, more, _ = hub.inbox("desk-dora", idle_exit=2)
    assert more == []


def test_acked_means_durable_across_kill9(hub):
    rows, alerted = cohort(401, 600)
    path, _ = hub.csv("term.csv", rows)
    r = hub.adapter("import", path)
    assert r.rc == 0, str(r)
    assert r.summary["accepted"] == 600
    # The adapter has every ack: kill the hub before it can tidy up.
    hub.kill9()
    assert "HUB-STOP" not in hub.current_log()
    hub.start()
    st = hub.wait_stats("last_applied caught up",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert (st["log_events"], st["event_ids"], st["last_seq"]) == \
        (600, 600, 600)
    check_alerts_once(hub, alerted)
    # The adapter agrees: nothing left to send.
    again = hub.adapter("flush")
    assert again.rc == 0, str(again)
    assert again.summary["pending"] == 0
    assert again.summary["accepted"] == 0


def all_acks(client, quiet=3):
    """Every ack until none comes for `quiet` seconds."""
    acks = []
    while (ack := client.recv_ack(quiet)) is not None:
        acks.append(ack)
    return acks


def test_raw_client_resends_its_window_after_kill9(hub):
    """PROTOCOL.md §1 and §3: a vendor's DEALER with the hub down queues
    what it sends and delivers it once the hub is up; with 100 events in
    flight the hub is killed, restarted, and the client resends all 100
    on the same socket. Every event is stored once: each id is ACCEPTED
    at most once ever, an id acked before the kill is only DUPLICATE
    after it, and all acks of one id carry the same sequence (the socket
    may deliver a frame it still held besides the resend, so one id can
    be acked twice)."""
    cprs = CprGen(404).take(101)
    hub.cprs.update(cprs)
    early = envelope("school-a", cprs[100], salt="down")
    envs = [envelope("school-a", c, salt=f"w{i}")
            for i, c in enumerate(cprs[:100])]
    hub.stop()
    with IngestClient(hub, "school-a") as c:
        # Hub down: the socket queues the frame (ZMQ_IMMEDIATE 0).
        c.sock.send(frame(early), zmq.DONTWAIT)
        hub.start()
        ack = c.recv_ack(10)
        assert (ack.status, ack.event_id, ack.sequence) == \
            (ACCEPTED, early.event_id, 1), ack
        for env in envs:
            c.sock.send(frame(env), zmq.DONTWAIT)
        before = []
        while len(before) < 20:
            ack = c.recv_ack(10)
            assert ack is not None, f"{len(before)} acks before the kill"
            before.append(ack)
        hub.kill9()
        before += all_acks(c, 0.5)
        hub.start()
        for env in envs:
            c.sock.send(frame(env), zmq.DONTWAIT)
        after = all_acks(c)
    seqs = {}
    accepted = collections.Counter()
    for ack in before + after:
        assert ack.status in (ACCEPTED, DUPLICATE), ack
        accepted[ack.event_id] += ack.status == ACCEPTED
        assert seqs.setdefault(ack.event_id, ack.sequence) == ack.sequence
    assert set(seqs) == {e.event_id for e in envs}
    assert max(accepted.values()) == 1, accepted
    durable = {a.event_id for a in before}
    assert all(a.status == DUPLICATE for a in after
               if a.event_id in durable)
    # Every resend is answered.
    assert {a.event_id for a in after} == set(seqs)
    assert sorted(seqs.values()) == list(range(2, 102))
    st = hub.stats()
    assert (st["log_events"], st["event_ids"], st["last_seq"]) == \
        (101, 101, 101)


def test_hub_killed_mid_ingest_adapter_finishes(hub):
    rows, alerted = cohort(402, 1500)
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, window=1, timeout=60) as adapter:
        hub.wait_stats("some events stored", lambda s: s["log_events"] >= 50)
        hub.kill9()
        stored = hub.stats()["log_events"]
        assert stored < 1500, "the adapter finished before the kill"
        hub.start()
        r = hub.adapter_finish(adapter, wait=120)
    assert r.rc == 0, str(r)
    # Acks lost with the killed hub come back as DUPLICATE on resend.
    assert r.summary["accepted"] + r.summary["duplicates"] == 1500
    assert r.summary["pending"] == 0
    st = hub.wait_stats("last_applied caught up",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert (st["log_events"], st["event_ids"], st["last_seq"]) == \
        (1500, 1500, 1500)
    check_alerts_once(hub, alerted)


def test_sigterm_mid_ingest_loses_nothing(hub):
    rows, alerted = cohort(403, 1000)
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, window=1, timeout=60) as adapter:
        hub.wait_stats("some events stored", lambda s: s["log_events"] >= 50)
        hub.stop()                      # exit 0 and HUB-STOP asserted
        assert hub.stats()["log_events"] < 1000, \
            "the adapter finished before SIGTERM"
        hub.start()
        r = hub.adapter_finish(adapter, wait=120)
    assert r.rc == 0, str(r)
    assert r.summary["pending"] == 0
    st = hub.wait_stats("last_applied caught up",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert (st["log_events"], st["event_ids"]) == (1000, 1000)
    check_alerts_once(hub, alerted)


def test_adapter_started_while_hub_down(make_hub):
    hub = make_hub(start=False)
    rows, alerted = cohort(404, 40)
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, timeout=60) as adapter:
        # The adapter has queued its events and is waiting for the hub.
        wait_for(lambda: (hub.outbox_dir() / "data.mdb").exists(), 20,
                 "the adapter's outbox")
        assert adapter.poll() is None, "adapter gave up with the hub down"
        hub.start()
        r = hub.adapter_finish(adapter, wait=90)
    assert r.rc == 0, str(r)
    assert (r.summary["queued"], r.summary["accepted"],
            r.summary["pending"]) == (40, 40, 0)
    st = hub.wait_stats("last_applied == 40",
                        lambda s: s["last_applied"] == 40)
    assert (st["log_events"], st["event_ids"]) == (40, 40)
    check_alerts_once(hub, alerted)


def test_adapter_killed_mid_send_resumes(hub):
    cprs = CprGen(405).take(1200)
    rows = [AbsenceRow(c) for c in cprs]
    # A few bad rows among the good: they must stay out, however often
    # the file is imported.
    rows[100] = "3102090000;280017;2024-05-06;2024-05-10;2;100;ulovligt;8"
    rows[700] = AbsenceRow(cprs[700], absent=101, expected=100)
    good = 1198
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, window=1, timeout=60) as adapter:
        hub.wait_stats("some events stored", lambda s: s["log_events"] >= 50)
        adapter.send_signal(signal.SIGKILL)
        adapter.communicate(timeout=10)
    assert adapter.returncode == -signal.SIGKILL
    stored = hub.stats()["log_events"]
    assert 0 < stored < good, f"{stored} stored: not killed mid-send"
    # Resume from the outbox, then import again (what the kill cut short
    # of queueing gets queued now; what was sent is skipped).
    flushed = hub.adapter("flush")
    assert flushed.rc == 0, str(flushed)
    again = hub.adapter("import", path)
    assert again.rc == 1, str(again)         # the 2 bad rows
    assert again.summary["rejected_rows"] == 2
    assert again.summary["pending"] == 0
    st = hub.wait_stats(f"last_applied == {good}",
                        lambda s: s["last_applied"] == good)
    assert (st["log_events"], st["event_ids"], st["last_seq"]) == \
        (good, good, good)
    hub.cprs.update(cprs)


def test_store_full_is_retryable_and_nothing_is_lost(make_hub):
    """A full log map: the hub answers E_FULL (retryable), keeps serving,
    and the adapter keeps what was not stored; after a restart with a
    bigger map, flush delivers the rest. Nothing lost, nothing twice."""
    hub = make_hub(settings={"log_map_mb": "1"})
    rows = [AbsenceRow(c) for c in CprGen(406).take(6000)]
    path, _ = hub.csv("big.csv", rows)
    r = hub.adapter("import", path, timeout=3)
    assert r.rc == hubtest.EXIT_PENDING, str(r)
    stored = hub.stats()["log_events"]
    assert 0 < stored < 6000
    # What the hub acked within the adapter's 3 s is stored; on a busy
    # machine a few more may be stored whose acks came too late: those
    # stay pending in the outbox and come back DUPLICATE at the flush.
    # A batch the log took while ids/ (mapped at log_map_mb too) was full
    # is resent and answered DUPLICATE: stored, neither accepted nor
    # pending.
    known = r.summary["accepted"] + r.summary["duplicates"]
    late = stored - known
    assert 0 <= late <= 1000, (r.summary, stored)
    assert r.summary["pending"] == 6000 - known, r.summary
    assert r.summary["rejected_by_hub"] == 0
    assert "E_FULL" in r.stderr
    hub.wait_log(r"HUB-REJECT .*store is full.*\(retryable\)")
    # Still serving: new events are answered, not met with silence. The
    # adapter sends in queue order, so the map may still hold a page or two
    # that single events fit in: send our own until one gets E_FULL.
    extra = 0
    with hubtest.IngestClient(hub, "school-a") as c:
        for i, cpr in enumerate(CprGen(407).take(400)):
            hub.cprs.add(cpr)
            refused = hubtest.frame(hubtest.envelope("school-a", cpr,
                                                     salt=9 + i))
            ack = c.ack_for(refused)
            if ack.status == hubtest.ACCEPTED:
                extra += 1
                continue
            assert (ack.status, ack.code, ack.retryable) == \
                (hubtest.REJECTED, hubtest.E_FULL, True), ack
            break
        else:
            raise AssertionError("400 more events fitted a full store")
    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace("log_map_mb = 1\n",
                                                     "log_map_mb = 64\n"))
    hub.start()
    f = hub.adapter("flush")
    assert f.rc == hubtest.EXIT_OK, str(f)
    assert (f.summary["accepted"], f.summary["duplicates"],
            f.summary["pending"]) == (6000 - stored, late, 0), f.summary
    # The refused event is sent again, as a retryable refusal asks: the
    # log may have taken it while ids/ was full (PROTOCOL.md §3), so it is
    # stored now either way, once.
    with hubtest.IngestClient(hub, "school-a") as c:
        again = c.ack_for(refused)
    assert again.status in (hubtest.ACCEPTED, hubtest.DUPLICATE), again
    total = 6000 + extra + 1
    st = hub.wait_stats(f"last_applied == {total}",
                        lambda s: s["last_applied"] == total)
    assert (st["log_events"], st["event_ids"]) == (total, total)


def test_a_full_disk_is_said_once_a_minute_and_ends_by_itself(make_hub,
                                                             tmp_path):
    """OPERATIONS.md, Where data lives: a full disk under data_dir is
    answered E_UNAVAILABLE (retryable) and logged STORE-LMDB; the hub goes
    on by itself once there is room. An adapter resends several times a
    second: the journal gets one STORE-LMDB line per part of the store
    a minute, not one per resend, and a notice when writes go through
    again. Every event acked is stored."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                       str(disk)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        hub = make_hub(start=False, settings={
            "data_dir": str(disk / "data"), "log_map_mb": "64",
            "derived_map_mb": "64"})
        hub.data_dir = disk / "data"
        hub.start()
        cprs = CprGen(4041).take(20000)
        hub.cprs.update(cprs)
        accepted, refused = 0, None
        with IngestClient(hub, "school-a") as c:
            for i, cpr in enumerate(cprs):
                ack = c.ack_for(frame(envelope("school-a", cpr, salt=i)))
                if ack.status == ACCEPTED:
                    accepted += 1
                    continue
                assert (ack.status, ack.code, ack.retryable) == \
                    (hubtest.REJECTED, hubtest.E_UNAVAILABLE, True), ack
                refused = i
                break
            assert refused is not None, "20,000 events fitted in 2 MiB"
            # The adapter's resends, ten a second for two seconds.
            for _ in range(20):
                ack = c.ack_for(frame(envelope("school-a", cprs[refused],
                                               salt=refused)))
                if ack.status != hubtest.REJECTED:
                    break
                time.sleep(0.1)
        lines = [ln for ln in hub.log_text().splitlines()
                 if "STORE-LMDB" in ln]
        # At most one a part (log/, ids/, derived/). LMDB reports a write
        # the full disk cut short as an I/O error; hubd says it is the disk.
        assert 1 <= len(lines) <= 3, "\n".join(lines)
        assert any(re.search(r"hubd err STORE-LMDB .*No space left on "
                             r"device: the disk under (log|ids|derived)/ "
                             r"is full; free space$", ln)
                   for ln in lines), "\n".join(lines)
        # The batches refused are said as the disk is: when it starts,
        # not once per resend (it was one err line each).
        batches = [ln for ln in hub.log_text().splitlines()
                   if "HUB-STORE" in ln]
        # Which fills first, log/ or ids/ (each on the same disk), varies:
        # a batch the log took but ids/ did not is said as such.
        assert len(batches) == 1 and re.search(
            r"hubd err HUB-STORE batch of \d+ events (not stored: .*; "
            r"rejected as retryable|stored in the log, but the event-id "
            r"index \(ids/\) not written: .*; rejected as retryable, "
            r"resends are answered DUPLICATE)$", batches[0]), \
            "\n".join(batches)
        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)],
                       check=True)
        with IngestClient(hub, "school-a") as c:
            for i in range(refused, refused + 5):
                ack = c.ack_for(frame(envelope("school-a", cprs[i],
                                               salt=i)))
                assert ack.status in (ACCEPTED, DUPLICATE), ack
                accepted += ack.status == ACCEPTED
        hub.wait_log(r"hubd notice STORE-LMDB (log|ids|derived)/ takes "
                     r"writes again")
        hub.wait_log(r"hubd notice HUB-STORE batches are stored again "
                     r"after \d+ s and [1-9]\d* batches not stored\n")
        st = hub.wait_applied()
        assert st["log_events"] >= accepted
        assert st["log_events"] == refused + 5, st
        hub.stop()
    finally:
        subprocess.run(["umount", "-l", str(disk)])


def test_a_lost_event_id_index_is_rebuilt_from_the_log(make_hub):
    """OPERATIONS.md "Store format": ids/ is an index of the log; deleted
    with hubd stopped, hubd indexes the log again at start (STORE-IDS)
    and every resend is still DUPLICATE with its first sequence."""
    hub = make_hub()
    envs = [hubtest.envelope("school-a", c, salt=f"ids-{i}")
            for i, c in enumerate(CprGen(4401).take(20))]
    first = hub.send(*envs)
    hub.stop()
    ids = hub.data_dir / "ids"
    assert (ids / "data.mdb").is_file()
    for f in ids.iterdir():
        f.unlink()
    ids.rmdir()

    hub.start()
    assert "STORE-IDS indexed the event ids of 20 log records" in \
        hub.current_log(), hub.current_log()
    resent = hub.acks(*envs)
    assert [a.status for a in resent] == [hubtest.DUPLICATE] * 20, resent
    assert [a.sequence for a in resent] == first
    assert hub.send(hubtest.envelope("school-a", envs[0].cpr,
                                     salt="ids-new")) == [max(first) + 1]
    assert hub.stats()["event_ids"] == 21


def test_an_event_id_index_that_no_longer_fits_refuses_e_full(make_hub):
    """OPERATIONS.md "Store format": when ids/ is full the open goes on
    without it (STORE-IDS ... until log_map_mb is raised, warn), hubctl
    stats still shows the store, and appends are refused E_FULL, as for
    a full log; raised, the index is made whole and resends are
    DUPLICATE. Here ids/ is lost with log_map_mb lowered below what the
    log's index needs, as when it filled up before a restart."""
    hub = make_hub(settings={"log_map_mb": "64"})
    cprs = CprGen(4402).take(9000)
    hub.cprs.update(cprs[::500])  # a sample: the sweep reads each file
    datas = [frame(envelope("school-a", c, salt=f"fit-{i}"))
             for i, c in enumerate(cprs)]
    hubtest.send_all_accepted(hub, datas)
    hub.stop()
    shutil.rmtree(hub.data_dir / "ids")
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 64\n", "log_map_mb = 1\n"))
    full = ("STORE-IDS ids/ is full: the event-id index stays behind the "
            "log (lookups read the log past it) until log_map_mb is raised")
    p = hub.hubctl("stats", check=False)
    assert p.returncode == 0 and full in p.stderr, p.stderr
    assert "log_events             9000" in p.stdout, p.stdout

    hub.start()
    assert f"hubd warn {full}" in hub.current_log()
    with IngestClient(hub, "school-a") as cli:
        ack = cli.ack_for(frame(envelope("school-a", cprs[0],
                                         salt="fit-new")))
        assert (ack.status, ack.code, ack.retryable, ack.reason) == (
            hubtest.REJECTED, hubtest.E_FULL, True,
            "the hub's store is full (log_map_mb); retry later"), ack
        # A resend too: the index must take what it lacks first.
        ack = cli.ack_for(datas[7])
        assert (ack.status, ack.code) == (hubtest.REJECTED,
                                          hubtest.E_FULL), ack
    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    hub.start()
    with IngestClient(hub, "school-a") as cli:
        ack = cli.ack_for(datas[7])
        assert (ack.status, ack.sequence) == (DUPLICATE, 8), ack
        ack = cli.ack_for(frame(envelope("school-a", cprs[0],
                                         salt="fit-new")))
        assert (ack.status, ack.sequence) == (ACCEPTED, 9001), ack


def test_a_stop_during_the_starts_replay_ends_it_between_chunks(make_hub):
    """OPERATIONS.md, Start and stop: SIGTERM during the start's replay of
    the log (derived/ deleted, a whole log to apply) stops hubd between
    two chunks, exit 0, without HUB-READY, instead of after the whole
    replay (past the unit's TimeoutStopSec on a big log); what was
    applied stays, and the next start goes on from there. It is a clean
    stop all the same: SECURITY.md, "Checkpoints", hubd signs one at its
    clean stop when records are not yet signed, so the audit record a
    crash left unsigned is signed then."""
    hub = make_hub()
    cprs = CprGen(4403).take(40)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        for at in range(0, 16000, 250):
            for i in range(at, at + 250):
                assert cli.send(frame(envelope(
                    "school-a", cprs[i % len(cprs)], salt=f"stop-{i}")))
            for _ in range(250):
                ack = cli.recv_ack(30)
                assert ack is not None and ack.status == ACCEPTED, ack
    # An audited query, written within a second; the crash leaves it
    # chained but not covered by a signed checkpoint.
    records = hub.stats()["audit_records"]
    conf = hub.tmp / "inbox-list.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                    "--list"], check=True, capture_output=True, timeout=30)
    records = hub.wait_stats("the list audited",
                             lambda s: s["audit_records"] > records)[
                                 "audit_records"]
    hub.kill9()
    unsigned = hub.hubctl("audit", "verify").stdout
    assert f"records {records}..{records} come after the last checkpoint" \
        in unsigned, unsigned
    for f in (hub.data_dir / "derived").iterdir():
        f.unlink()
    hub.start(wait=False)
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.16000 ")
    hub.proc.send_signal(signal.SIGTERM)
    assert hub._reap(10) == 0, hub.current_log()
    hub.stopped_cleanly = True
    log = hub.current_log()
    assert "HUB-READY" not in log, log
    m = re.search(r"notice HUB-REPLAY stopped at log entry (\d+) of 16000: "
                  r"the next start applies the rest\n.*notice STORE-AUDIT "
                  rf"checkpoint signed at record {records}, head [0-9a-f]{{64}}"
                  r"\n.*notice HUB-STOP ", log)
    assert m, log
    verified = hub.hubctl("audit", "verify").stdout
    assert "come after the last checkpoint" not in verified, verified
    assert f"(last at record {records})" in verified, verified
    st = hub.stats()
    assert st["last_applied"] == int(m.group(1)) < 16000, st
    hub.start()
    assert f"HUB-REPLAY applying log entries {st['last_applied'] + 1}.." \
        "16000 to derived state" in hub.current_log()
    hub.wait_stats("replayed", lambda s: s["last_applied"] == 16000)


def forty_imported_ten_sent(hub, seed, send_seed, salt):
    """40 rows of a term imported, 10 events sent straight, all applied:
    the store the damaged-file tests spoil. (envs, sequences, alerted)."""
    rows, alerted = cohort(seed, 40)
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    envs = [hubtest.envelope("school-a", c, salt=f"{salt}-{i}")
            for i, c in enumerate(CprGen(send_seed).take(10))]
    first = hub.send(*envs)
    hub.wait_stats("applied", lambda s: s["last_applied"] == s["last_seq"])
    return envs, first, alerted


def all_fifty_rebuilt(hub, log, envs, first, alerted):
    """After derived/ and ids/ were made again: all 50 records indexed and
    applied, every resend DUPLICATE at its first sequence, each alert one."""
    assert "STORE-IDS indexed the event ids of 50 log records" in log, log
    assert "HUB-REPLAY applying log entries 1..50 to derived state" in log
    st = hub.wait_stats("last_applied caught up",
                        lambda s: s["last_applied"] == s["last_seq"] == 50)
    assert (st["log_events"], st["event_ids"]) == (50, 50)
    resent = hub.acks(*envs)
    assert [a.status for a in resent] == [hubtest.DUPLICATE] * 10, resent
    assert [a.sequence for a in resent] == first
    check_alerts_once(hub, alerted)


def test_unreadable_derived_and_ids_files_are_rebuilt_from_the_log(make_hub):
    """ARCHITECTURE.md: derived/ and ids/ hold only what the log rebuilds
    (OPERATIONS.md: "rebuildable, no backup needed"). Files there that are
    no LMDB environment any more (overwritten by hand, a disk error) are
    emptied at start, logged, and made again from the log: the hub starts,
    every resend is still DUPLICATE at its first sequence, and each alert
    stays one."""
    hub = make_hub()
    envs, first, alerted = forty_imported_ten_sent(hub, 408, 4402, "torn")
    hub.stop()
    for env in ("derived", "ids"):
        with open(hub.data_dir / env / "data.mdb", "r+b") as f:
            f.write(b"\xa5" * 16384)        # both meta pages gone

    hub.start()
    log = hub.current_log()
    data = hub.data_dir
    assert re.search(r"\bwarn STORE-DERIVED " + re.escape(
        f"{data}/derived does not open (MDB_INVALID: File is not an LMDB "
        "file): emptied it; the derived state is rebuilt from the log"),
        log), log
    assert re.search(r"\bwarn STORE-IDS " + re.escape(
        f"{data}/ids does not open (MDB_INVALID: File is not an LMDB "
        "file): emptied it; the event-id index is rebuilt from the log"),
        log), log
    for env in ("derived", "ids"):
        assert oct((data / env / "data.mdb").stat().st_mode & 0o777) == \
            "0o600"
    all_fifty_rebuilt(hub, log, envs, first, alerted)


def lmdb_need(env_dir):
    """The bytes an environment's header counts: (last page + 1) * page
    size, as mdb_stat -e reports them."""
    out = subprocess.run(["mdb_stat", "-e", str(env_dir)], check=True,
                         capture_output=True, text=True).stdout
    psize = int(re.search(r"Page size: (\d+)", out).group(1))
    pages = int(re.search(r"Number of pages used: (\d+)", out).group(1))
    return psize, psize * pages


@pytest.mark.parametrize("stop", ["sigterm", "kill9"])
@pytest.mark.parametrize("keep", ["half", "meta pages"])
def test_derived_and_ids_files_cut_short_are_rebuilt_from_the_log(
        make_hub, stop, keep):
    """OPERATIONS.md "Store format", damaged ids/ or derived/ files: an OS
    crash may leave a data file of these environments (committed without
    fsync) shorter than the pages its LMDB header counts. Reading there
    would kill the process (SIGBUS); instead the first hubd to open the
    store empties the environment, says so, and makes it again from the
    log. Every event and alert is still there, once."""
    hub = make_hub()
    envs, first, alerted = forty_imported_ten_sent(hub, 410, 4403, "short")
    if stop == "kill9":
        time.sleep(6)            # the flusher wrote both files once
        hub.kill9()
    else:
        hub.stop()
    data = hub.data_dir
    short = {}
    for env in ("derived", "ids"):
        psize, need = lmdb_need(data / env)
        size = need // psize // 2 * psize if keep == "half" else 2 * psize
        os.truncate(data / env / "data.mdb", size)
        short[env] = (size, need)

    hub.start()
    log = hub.current_log()
    for env, msgid, then in (
            ("derived", "STORE-DERIVED",
             "the derived state is rebuilt from the log"),
            ("ids", "STORE-IDS", "the event-id index is rebuilt from the log")):
        size, need = short[env]
        assert re.search(r"\bwarn " + msgid + " " + re.escape(
            f"{data}/{env}/data.mdb is damaged: {size} bytes, but its LMDB "
            f"header counts {need} (cut short): emptied it; {then}"),
            log), log
    all_fifty_rebuilt(hub, log, envs, first, alerted)
    hub.stop()
    hub.start()                  # made whole: nothing to say again
    assert "damaged" not in hub.current_log(), hub.current_log()


def refused_by_hubd_and_hubctl(hub, said, *commands):
    """hubd stops at start with exit 1 and HUB-START naming the damage,
    and each hubctl command exits 1 with the same words on stderr."""
    hub.start(wait=False)
    assert hub.proc.wait(timeout=20) == 1
    hub._reap(1)
    hub.stopped_cleanly = True
    assert re.search(r"\berr HUB-START " + re.escape(
        f"cannot start: {hub.data_dir}/log: {said}") + "$",
        hub.current_log(), re.M), hub.current_log()
    for args in commands:
        p = hub.hubctl(*args, check=False)
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        assert p.stderr == ("hubctl: cannot open the hub's keys and store: "
                            f"{said}\n"), (args, p.stderr)


def test_a_log_file_cut_short_is_refused_by_name(make_hub):
    """OPERATIONS.md "Store format": log/ is never emptied. A log data
    file shorter than the pages its header counts (a disk error, a copy
    cut short) stops hubd with exit 1 and every hubctl command that opens
    the store with exit 1, naming the file and saying to restore it from
    a backup; none dies of a signal, and the file is left as it is."""
    hub = make_hub()
    rows, _ = cohort(411, 40)
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.wait_applied()
    hub.stop()
    log_file = hub.data_dir / "log" / "data.mdb"
    psize, need = lmdb_need(hub.data_dir / "log")
    size = need // psize // 2 * psize
    os.truncate(log_file, size)
    said = (f"cannot open LMDB environment: {log_file} is damaged: {size} "
            f"bytes, but its LMDB header counts {need} (cut short); restore "
            'log/ from a backup (see OPERATIONS.md, "Backup and restore")')

    refused_by_hubd_and_hubctl(hub, said, ["stats"], ["audit", "verify"],
                               ["backup", str(hub.tmp / "bk")])
    assert not (hub.tmp / "bk").exists()
    assert log_file.stat().st_size == size


@pytest.mark.parametrize("what", ["data.mdb of 0 bytes", "lock.mdb garbage",
                                  "lock.mdb of 0 bytes", "directory gone"])
def test_empty_or_missing_derived_and_ids_files_are_made_again(make_hub,
                                                               what):
    """OPERATIONS.md "Store format": a data.mdb of 0 bytes or a missing
    ids/ or derived/ is an empty environment, made again and filled from
    the log without a warning; a lock.mdb that is empty or garbage is
    written afresh, nothing lost. No process dies of a signal."""
    hub = make_hub()
    rows, alerted = cohort(412, 30)
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("applied", lambda s: s["last_applied"] == s["last_seq"])
    hub.stop()
    for env in ("derived", "ids"):
        d = hub.data_dir / env
        if what == "data.mdb of 0 bytes":
            os.truncate(d / "data.mdb", 0)
        elif what == "lock.mdb garbage":
            (d / "lock.mdb").write_bytes(b"\xa5" * 8192)
        elif what == "lock.mdb of 0 bytes":
            os.truncate(d / "lock.mdb", 0)
        else:
            for f in d.iterdir():
                f.unlink()
            d.rmdir()
    p = hub.hubctl("stats", "--json")      # hubctl opens it first
    assert json.loads(p.stdout)["log_events"] == 30

    hub.start()
    log = hub.log_text()
    assert " warn " not in log, log
    assert "damaged" not in log and "does not open" not in log, log
    if what in ("data.mdb of 0 bytes", "directory gone"):
        # ids/ was indexed again by hubctl, which opened the store first.
        assert "HUB-REPLAY applying log entries 1..30 to derived state" \
            in log, log
    hub.wait_stats("last_applied caught up",
                   lambda s: s["last_applied"] == s["last_seq"] == 30)
    assert hub.stats()["event_ids"] == 30
    check_alerts_once(hub, alerted)


@pytest.mark.parametrize("what", ["lock.mdb garbage", "lock.mdb of 0 bytes"])
def test_a_log_lock_file_emptied_or_garbage_is_made_again(make_hub, what):
    """OPERATIONS.md "Store format": a lock.mdb that is empty or garbage
    is written afresh by the first process to open the environment, the
    synced log/ too: every event and alert is still there."""
    hub = make_hub()
    rows, alerted = cohort(413, 30)
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("applied", lambda s: s["last_applied"] == s["last_seq"])
    hub.stop()
    lock = hub.data_dir / "log" / "lock.mdb"
    if what == "lock.mdb garbage":
        lock.write_bytes(b"\x5a" * 8192)
    else:
        os.truncate(lock, 0)
    hub.start()
    assert " warn " not in hub.current_log(), hub.current_log()
    st = hub.wait_stats("applied",
                        lambda s: s["last_applied"] == s["last_seq"] == 30)
    assert st["log_events"] == 30
    check_alerts_once(hub, alerted)


@pytest.mark.parametrize("what", ["garbage", "0 bytes"])
def test_a_log_data_file_of_garbage_or_0_bytes_is_refused_by_name(
        make_hub, what):
    """OPERATIONS.md "Store format": a log/data.mdb that does not open,
    or has 0 bytes (which LMDB would take for a new, empty store), stops
    hubd and hubctl with exit 1, naming the file and saying to restore
    it from a backup; the file is not changed."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"log-{i}")
               for i, c in enumerate(CprGen(4404).take(5))])
    hub.stop()
    data_file = hub.data_dir / "log" / "data.mdb"
    if what == "garbage":
        with open(data_file, "r+b") as f:
            f.write(b"\xa5" * 16384)       # both meta pages gone
        said = ("cannot open LMDB environment: MDB_INVALID: File is not "
                f"an LMDB file: {data_file} is damaged; restore log/ from "
                'a backup (see OPERATIONS.md, "Backup and restore")')
    else:
        os.truncate(data_file, 0)
        said = (f"cannot open LMDB environment: {data_file} is empty (0 "
                "bytes); restore log/ from a backup (see OPERATIONS.md, "
                '"Backup and restore")')
    before = data_file.read_bytes()

    refused_by_hubd_and_hubctl(hub, said, ["stats"], ["audit", "verify"])
    assert data_file.read_bytes() == before

@pytest.mark.parametrize("what", ["keys of another program",
                                  "a database of another program",
                                  "another program's format record",
                                  "the store's derived/", "the store's ids/"])
def test_a_log_environment_the_hub_did_not_make_is_refused(make_hub, what):
    """OPERATIONS.md "Store format": an LMDB environment at data_dir/log
    that is not a hub store's log (made with mdb_load, or another part of
    a store) is not taken for an empty store: hubd and every hubctl
    command that opens the store exit 1 naming the file, and the file is
    left as it is."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"foreign-{i}")
               for i, c in enumerate(CprGen(4407).take(3))])
    hub.wait_applied()
    hub.stop()
    log = hub.data_dir / "log"
    shutil.rmtree(log)
    log.mkdir(mode=0o700)
    if what.startswith("the store's"):
        part = hub.data_dir / what.split()[-1].rstrip("/")
        shutil.copyfile(part / "data.mdb", log / "data.mdb")
        shutil.rmtree(part)
    else:
        if "format" in what:          # a "format" a hub did not write
            subprocess.run(["mdb_load", "-T", "-s", "meta", str(log)],
                           input=b"format\nv1\n", check=True)
        load = ["mdb_load", "-T"] + (["-s", "people"] if "key" not in what
                                     else []) + [str(log)]
        subprocess.run(load, input=b"name\nalice\nage\n42\n", check=True)
    data_file = log / "data.mdb"
    before = data_file.read_bytes()
    said = (f"{data_file} is not a hub store's log (an LMDB environment "
            "another program made, or another part of a store: derived/, "
            "ids/, an adapter's outbox); it is left as it is: point "
            f"data_dir at the hub's own store, or move {log} aside to start "
            'an empty one (see OPERATIONS.md, "Store format")')

    refused_by_hubd_and_hubctl(hub, said, ["stats"], ["audit", "verify"],
                               ["register-agency", "school-a", "--types",
                                "absence"],
                               ["backup", str(hub.tmp / "bk")])
    assert data_file.read_bytes() == before
    assert not (hub.tmp / "bk").exists()


def test_a_store_from_before_formats_is_refused_unchanged(make_hub):
    """OPERATIONS.md "Store format": a store with events but no format
    number (from a hub before format 2) is refused by hubd and hubctl
    with exit 1, and nothing is written to it."""
    hub = make_hub(start=False)
    log = hub.data_dir / "log"
    shutil.rmtree(log)
    log.mkdir(mode=0o700)
    subprocess.run(["mdb_load", "-T", "-s", "log", str(log)],
                   input=b"1\nsealed\n", check=True)
    before = (log / "data.mdb").read_bytes()
    said = ("this store was written by an older hub (no store format "
            "recorded) and cannot be read by this one: re-create it (see "
            'OPERATIONS.md, "Store format")')
    hub.start(wait=False)
    assert hub.proc.wait(timeout=20) == 1
    hub._reap(1)
    hub.stopped_cleanly = True
    assert f"err HUB-START cannot start: log: {said}\n" in hub.current_log()
    p = hub.hubctl("stats", check=False)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: cannot open the hub's keys and store: {said}\n")
    assert (log / "data.mdb").read_bytes() == before


def test_files_another_process_has_open_are_never_emptied(make_hub):
    """OPERATIONS.md "Store format": derived/ files that do not open are
    emptied only when no other process has them open. With hubd running
    (it has them mapped), hubctl stops with exit 1 and says to stop
    every process first; the data file is left as it is."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"busy-{i}")
               for i, c in enumerate(CprGen(4406).take(5))])
    hub.wait_applied()
    derived = hub.data_dir / "derived"
    size = (derived / "data.mdb").stat().st_size
    # Its magic number and format only, in place: hubd, which has the
    # rest mapped, goes on.
    with open(derived / "lock.mdb", "r+b") as f:
        f.write(b"\xa5" * 8)
    p = hub.hubctl("stats", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(
        "^hubctl: cannot open the hub's keys and store: " + re.escape(
            f"{derived} does not open (") + r"[^)]+\), and another process "
        "has it open: stop every hubd and hubctl on the store, then start "
        "hubd again$", p.stderr, re.M), p.stderr
    assert (derived / "data.mdb").stat().st_size == size
    assert hub.running
    hub.kill9()

def test_a_lost_log_beside_derived_state_is_refused(make_hub):
    """OPERATIONS.md "Store format": a data_dir whose log/ is gone but
    whose derived/ is there lost its log. hubd and hubctl refuse it
    (exit 1), saying what to do, rather than start an empty store beside
    it that takes events a restore would then lose. With derived/ moved
    aside too, hubd starts an empty store, as documented for
    re-creating one."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"lost-{i}")
               for i, c in enumerate(CprGen(4405).take(5))])
    hub.wait_applied()
    hub.stop()
    data = hub.data_dir
    for f in (data / "log").iterdir():
        f.unlink()
    (data / "log").rmdir()
    said = (f"cannot open LMDB environment: {data}/log/data.mdb is "
            f"missing, but {data}/derived holds a store's derived state: "
            "the log is lost; restore the store from a backup (see "
            'OPERATIONS.md, "Backup and restore"), or move '
            f"{data}/derived aside to start an empty store")

    refused_by_hubd_and_hubctl(hub, said, ["register-caseworker", "cw-anna"])
    p = hub.hubctl("stats", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr.startswith(f"hubctl: stats: no store in {data} "
                               "(data_dir)"), p.stderr
    assert not (data / "log" / "data.mdb").exists()

    (data / "derived").rename(hub.tmp / "derived-aside")
    hub.start()
    assert hub.stats()["log_events"] == 0

def test_derived_state_of_another_format_is_rebuilt_from_the_log(make_hub):
    """ARCHITECTURE.md, "The derived schema": derived state recorded
    under another format (`schema` in derived/'s `meta` database) is
    thrown away at start, logged as HUB-REBUILD with the hub's own
    format, and rebuilt by replaying the whole log; every alert stays
    one, and the format recorded afterwards is the hub's."""
    hub = make_hub()
    rows, alerted = cohort(409, 30)
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("applied", lambda s: s["last_applied"] == s["last_seq"])
    hub.stop()

    derived = str(hub.data_dir / "derived")
    key = " " + b"schema".hex()

    def schema_lines():
        lines = subprocess.run(["mdb_dump", "-s", "meta", derived],
                               capture_output=True, text=True,
                               check=True).stdout.splitlines()
        return lines, lines.index(key) + 1

    lines, at = schema_lines()
    ours = int(lines[at], 16)
    lines[at] = " " + (ours + 1).to_bytes(8, "big").hex()
    subprocess.run(["mdb_load", "-s", "meta", derived],
                   input="\n".join(lines) + "\n", text=True, check=True)

    hub.start()
    log = hub.current_log()
    assert re.search(r"\bwarn HUB-REBUILD " + re.escape(
        "derived state was written in another format; rebuilding it "
        f"from the log (format {ours})"), log), log
    assert "HUB-REPLAY applying log entries 1..30 to derived state" in log
    hub.wait_stats("last_applied caught up",
                   lambda s: s["last_applied"] == s["last_seq"] == 30)
    check_alerts_once(hub, alerted)
    hub.stop()
    lines, at = schema_lines()
    assert int(lines[at], 16) == ours

def test_a_replay_fires_timers_between_the_entries_as_they_fired_then(
        make_hub):
    """ARCHITECTURE.md, "Crash and restart" and "The rules engine": a
    replay raises the same alerts, kept once, and the timers it schedules
    again fire in the hub clock's order between the entries. A dropout's
    transition gap opened (a signal) before a dropout risk came in that
    made three signals: one combined alert. Rebuilt from the log, the
    gap's timer fires before the dropout risk is applied again, so
    neither a dropout risk alert nor a second combined alert appears."""
    hub = hubtest.rules_hub(make_hub, "2026-09-07T08:00:00",
                            rules={"combined.enabled": "yes"})
    person = CprGen(4099).born("2003-03-03")
    hub.assign(person, "cw-anna")
    hub.send(hubtest.ev_dropout(person, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-10-08T08:00:00")          # the gap: day 31
    hub.set_clock("2026-10-10T08:00:00")
    hub.send(hubtest.ev_dropout_risk(person, "2026-10-10"))
    hub.wait_applied()

    def open_alerts():
        rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=1)
        assert rc == 0, err
        return sorted((a["rule"], a["alert_id"]) for a in alerts)
    before = open_alerts()
    assert [r for r, _ in before] == ["combined", "dropout",
                                      "transition_gap"], before
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.5 to derived state")
    hub.settle()
    assert open_alerts() == before
    assert hub.stats()["alerts"] == 3


def test_a_restart_with_derived_still_full_serves_what_is_stored(make_hub):
    """OPERATIONS.md, "Where data lives": with derived/ full, events are
    refused retryable beyond 1,024 waiting, and "in every case alerts
    already stored are still delivered". A hub restarted before
    derived_map_mb is raised (a crash, a reboot) is in the same case: it
    starts and serves (the replay's failure logged HUB-REPLAY), instead
    of exiting and leaving every caseworker without their alerts.
    Raising the map and restarting then applies everything."""
    hub = make_hub(settings={"derived_map_mb": "1"})
    cpr = CprGen(4403).next()
    hub.send(hubtest.envelope("school-a", cpr, salt="alerted", absent=30))
    hub.wait_stats("the alert raised", lambda s: s["alerts"] == 1)
    cprs = CprGen(4404).take(6000)
    hub.cprs.update(cprs)
    with hubtest.IngestClient(hub, "school-a") as cli:
        accepted, refusals = hubtest.send_until_refused(cli, cprs, "fill")
    assert refusals and refusals[0].code == hubtest.E_FULL, refusals
    hub.kill9()

    hub.start()                 # HUB-READY, not exit 1
    assert re.search(r"\berr HUB-REPLAY cannot apply the log to derived "
                     r"state yet \(full\): serving without it; events are "
                     r"refused retryable until it is applied",
                     hub.current_log()), hub.current_log()
    with hubtest.IngestClient(hub, "school-a") as cli:
        ack = cli.ack_for(hubtest.frame(hubtest.envelope(
            "school-a", cprs[-1], salt="after-restart")))
        assert (ack.status, ack.code, ack.retryable) == \
            (hubtest.REJECTED, hubtest.E_FULL, True), ack
        assert "derived_map_mb" in ack.reason, ack.reason
        seq, data = accepted[-1]
        ack = cli.ack_for(data)
        assert (ack.status, ack.sequence) == (hubtest.DUPLICATE, seq), ack
    [alert] = hub.peek("desk-dora", 1)
    assert alert["cpr"] == cpr

    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    hub.start()
    st = hub.wait_stats("every stored event applied",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert st["log_events"] == len(accepted) + 1, st
    assert st["alerts"] == 1, st


def test_a_map_filling_up_is_said_once_not_at_every_write_that_fits(
        make_hub):
    """OPERATIONS.md, "Where data lives": STORE-FULL is logged when the
    condition starts, then at most once a minute while it lasts, and
    once when writes go through again. A map that fills while the rules
    store alerts is met by writes of every size: the small ones still
    fit between the big ones that do not. That is one condition, not a
    new one at every write that fits: a line or two, not dozens within
    the second."""
    hub = make_hub(settings={"log_map_mb": "1"})
    cprs = CprGen(4311).take(3000)
    hub.cprs.update(cprs)
    with hubtest.IngestClient(hub, "school-a") as cli:
        for i, cpr in enumerate(cprs):
            ack = cli.ack_for(hubtest.frame(hubtest.envelope(
                "school-a", cpr, salt=f"fill-{i}", absent=12, expected=30)))
            if ack.status != hubtest.ACCEPTED:
                assert ack.code == hubtest.E_FULL, ack
                break
        else:
            raise AssertionError("3000 events fitted a 1 MiB log")
    # Whether the appends or the rules' alerts meet the full map first
    # depends on timing; either way it is one condition.
    hub.wait_log(r"err STORE-FULL ")
    time.sleep(3 * hubtest.QUIET)
    lines = hub.log_text().splitlines()
    full = [l for l in lines if " STORE-FULL " in l]
    apply = [l for l in lines if " HUB-APPLY " in l]
    # At most a line that it holds and one that it ended, per part of
    # the store that filled (log/, and ids/ mapped at the same size).
    for part in ("log/", "ids/"):
        said = [l for l in full if f" {part} map" in l]
        assert len(said) <= 2, "\n".join(said)
    assert 1 <= len(full) <= 4, "\n".join(full)
    assert len(apply) <= 4, "\n".join(apply)
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "A map nearly full still takes the small writes between the " \
        "ones it refuses" in doc


def test_delivery_counts_not_stored_are_said_once_a_minute(make_hub):
    """OPERATIONS.md, Caseworker connections: with the log map full,
    alerts already stored are still delivered and their delivery counts
    wait (HUB-DELIVER ... delivery counts not stored yet). The map stays
    full until the operator acts; the line is said once a minute, as
    STORE-FULL is, not at every second's retry."""
    hub = make_hub(settings={"log_map_mb": "1"})
    cprs = CprGen(4321).take(60)
    for cpr in cprs:
        hub.assign(cpr, "cw-anna")
    more = CprGen(4322).take(3000)
    hub.cprs.update(cprs + more)
    with IngestClient(hub, "school-a") as cli:
        for i, cpr in enumerate(cprs + more):
            ack = cli.ack_for(frame(envelope("school-a", cpr,
                                             salt=f"counts-{i}", absent=12,
                                             expected=30)))
            if ack.status != ACCEPTED:
                break
        else:
            raise AssertionError("3060 events fitted a 1 MiB log")
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=5)
    assert rc == 0 and len(alerts) >= 60, (rc, len(alerts), err)
    said = [l for l in hub.log_text().splitlines()
            if "delivery counts not stored yet" in l]
    assert len(said) <= 1, "\n".join(said)
    # The deliveries' audit records wait likewise, said likewise.
    kept = [l for l in hub.log_text().splitlines()
            if "HUB-AUDIT audit records not written yet" in l]
    assert len(kept) <= 1, "\n".join(kept)
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`HUB-DELIVER ... delivery counts not stored yet`, at most " \
        "once a minute" in doc
    assert "audit records kept for the next second because they could " \
        "not be written yet: warn, at most once a minute" in doc


def test_a_store_on_a_read_only_mount_is_refused_by_name(make_hub):
    """OPERATIONS.md, "Where data lives": a data_dir on a read-only mount
    (a disk the kernel remounted read-only after errors, a mistaken
    fstab line) stops hubd at start, exit 1, naming the lock it cannot
    open and why; every hubctl command that opens the store says it
    too, exit 1; nothing is changed. The same for a data_dir hubd would
    make under a read-only parent."""
    if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("no mount namespaces here")
    ro_cmd = ["unshare", "-m", "sh", "-c",
              'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0"'
              ' && exec "$@"']
    hub = make_hub()
    hub.stop()
    before = (hub.data_dir / "log" / "data.mdb").read_bytes()

    def run(mount, conf, *args):
        return subprocess.run([*ro_cmd, str(mount), *args, "--config",
                               str(conf)] if args[0].endswith("hubd") else
                              [*ro_cmd, str(mount), args[0], "--config",
                               str(conf), *args[1:]],
                              capture_output=True, text=True, timeout=60)
    p = run(hub.data_dir, hub.conf, hubtest.binary("hubd"))
    assert p.returncode == 1, p.stderr
    assert f"hubd err HUB-START cannot start: data_dir: cannot open " \
        f"{hub.data_dir}/hubd.lock: Read-only file system\n" in p.stderr, \
        p.stderr
    for args in (["stats"], ["register-agency", "school-a"]):
        p = run(hub.data_dir, hub.conf, hubtest.binary("hubctl"), *args)
        assert (p.returncode, p.stdout) == (1, ""), p.stderr
        assert p.stderr.endswith("hubctl: cannot open the hub's keys and "
                                 "store: cannot open LMDB environment: "
                                 "Read-only file system\n"), p.stderr
    assert (hub.data_dir / "log" / "data.mdb").read_bytes() == before
    ro = hub.tmp / "ro"
    ro.mkdir()
    conf = hub.tmp / "new.conf"
    conf.write_text(hub.conf.read_text().replace(str(hub.data_dir),
                                                 str(ro / "data")))
    p = run(ro, conf, hubtest.binary("hubd"))
    assert p.returncode == 1, p.stderr
    assert f"hubd err HUB-START cannot start: data_dir: cannot create " \
        f"{ro}/data: Read-only file system\n" in p.stderr, p.stderr
    # A registration, which would make the store there, says the same.
    p = run(ro, conf, hubtest.binary("hubctl"), "register-agency",
            "school-a")
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: cannot open the hub's keys and store: cannot "
        f"create {ro}/data: Read-only file system\n")
    assert list(ro.iterdir()) == []
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "a `data_dir` on a read-only mount" in doc
    assert "(`cannot create DATA_DIR: Read-only file system` when hubd, " \
        "or a `register-*`, would make it)" in doc
    hub.start()


def test_a_full_disk_at_start_is_said_not_a_crash(make_hub, tmp_path):
    """OPERATIONS.md, Where data lives: on a full disk, opening a store
    whose ids/ or derived/ must be made again (deleted, as "Store format"
    tells after an OS crash), or whose lock.mdb is empty, stops hubd and
    hubctl with exit 1 and "No space left on device", naming the
    directory. LMDB writes lock.mdb through a shared map: a page of it
    without a block on a full disk ended both with SIGBUS, saying
    nothing, at every start. With room again, hubd starts and rebuilds;
    nothing is lost."""
    import shutil
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs",
                       str(disk)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")

    try:
        hub = make_hub(start=False, settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        hub.start()
        cprs = CprGen(4051).take(50)
        hub.send(*[hubtest.envelope("school-a", c, salt=f"fd-{c}")
                   for c in cprs])
        hub.wait_applied()
        hub.stop()
        filler = disk / "filler"
        for gone in ("ids", "derived", "log/lock.mdb"):
            if gone.endswith(".mdb"):
                os.truncate(hub.data_dir / gone, 0)
            else:
                shutil.rmtree(hub.data_dir / gone)
            hubtest.fill_disk(filler)

            def files():
                return {str(f.relative_to(hub.data_dir)): f.read_bytes()
                        for f in hub.data_dir.rglob("*.mdb")}

            before = files()
            p = subprocess.run([hubtest.binary("hubd"), "--config",
                                str(hub.conf)], capture_output=True,
                               text=True, timeout=60)
            assert p.returncode == 1, (gone, p.returncode, p.stderr)
            assert re.search(r"hubd err HUB-START cannot start: "
                             rf"{re.escape(str(hub.data_dir))}/(log|ids|"
                             r"derived): cannot open LMDB environment: No "
                             r"space left on device\n", p.stderr), \
                (gone, p.stderr)
            c = hub.hubctl("stats", check=False)
            assert (c.returncode, c.stdout) == (1, ""), (gone, c.returncode)
            assert c.stderr.endswith(
                "hubctl: cannot open the hub's keys and store: cannot open "
                "LMDB environment: No space left on device\n"), c.stderr
            # Nothing changed but an empty lock.mdb where there was none.
            after = files()
            # (a lock.mdb holds LMDB's readers, no data: it may change)
            assert [k for k in before if k.endswith("data.mdb") and
                    after.get(k) != before[k]] == [], gone
            assert {k: v for k, v in after.items() if k not in before} in \
                ({}, {gone.split("/")[0] + "/lock.mdb": b""}), (gone, after)
            filler.unlink()
            hub.start()
            st = hub.wait_applied()
            assert (st["log_events"], st["event_ids"],
                    st["person_index_entries"]) == (50, 50, 50), st
            hub.stop()
        doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                       .split())
        assert "cannot open LMDB environment: No space left on device" in doc
        assert "nothing is changed but for an empty `lock.mdb` where " \
            "there was none" in doc
    finally:
        try:
            hub.close()
        finally:
            subprocess.run(["umount", "-l", str(disk)])


def test_a_first_start_on_a_full_disk_says_hub_start(make_hub, tmp_path):
    """OPERATIONS.md, Where data lives and Start and stop: the first hubd
    start on a store hubctl register-* made records derived/'s format,
    which takes a page more. On a full disk that stops hubd with exit 1,
    STORE-LMDB naming the full disk and then HUB-START cannot start, as
    every start that fails (it said only "HUB-REPLAY cannot apply the log
    to derived state", which reads as a failed replay, with no reason).
    With room again it starts."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        hub = make_hub(start=False, settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        assert (hub.data_dir / "derived" / "data.mdb").exists()
        filler = disk / "filler"
        hubtest.fill_disk(filler)
        p = subprocess.run([hubtest.binary("hubd"), "--config",
                            str(hub.conf)], capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == 1, p.stderr
        said = [ln.split(" ", 3)[3] for ln in p.stderr.splitlines()
                if " err " in ln]
        assert said[-2:] == [
            "STORE-LMDB write derived schema: No space left on device: "
            "the disk under derived/ is full; free space",
            "HUB-START cannot start: input/output error"], p.stderr
        filler.unlink()
        hub.start()
        hub.send(envelope("school-a", CprGen(4061).take(1)[0], salt="fs"))
        hub.wait_applied()
        hub.stop()
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "the first start on a store `hubctl register-*` made" in doc


def test_a_resend_of_an_event_stored_before_its_index_failed_is_duplicate(
        make_hub, tmp_path):
    """ARCHITECTURE.md and OPERATIONS.md "Store format": when the event-id
    index's commit fails after the log's (a full disk), the batch is
    stored but answered REJECTED retryable, and a resend is DUPLICATE.
    The resend's own append indexed the missing id again and failed on
    the same full disk, so every resend was refused E_UNAVAILABLE for as
    long as the disk stayed full; the adapter kept an event in its
    outbox that the hub held."""
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        hub = make_hub(start=False, settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        hub.start()
        filler = disk / "filler"
        hubtest.fill_disk(filler)
        cprs = CprGen(4071).take(3000)
        hub.cprs.update(cprs)
        with IngestClient(hub, "school-a") as cli:
            last = 0
            for i, cpr in enumerate(cprs):
                env = envelope("school-a", cpr, salt=f"ix-{i}")
                ack = cli.ack_for(frame(env))
                if ack.status != ACCEPTED:
                    break
                last = ack.sequence
            assert (ack.status, ack.code, ack.retryable) == \
                (hubtest.REJECTED, hubtest.E_UNAVAILABLE, True), ack
            # The case: the log took it, the index after it did not.
            assert re.search(r"err STORE-LMDB commit event ids: No space "
                             r"left on device", hub.log_text()), \
                hub.log_text()
            # The batch is in the log: HUB-STORE says so, not "not stored"
            # (it did, sending the operator after events the log held).
            batches = [ln for ln in hub.log_text().splitlines()
                       if "HUB-STORE" in ln]
            assert batches and re.search(
                r"hubd err HUB-STORE batch of 1 events stored in the log, "
                r"but the event-id index \(ids/\) not written: .*; "
                r"rejected as retryable, resends are answered DUPLICATE$",
                batches[0]), "\n".join(batches)
            again = cli.ack_for(frame(env))
            assert (again.status, again.sequence) == (DUPLICATE, last + 1), \
                again
        # Opening the store with ids/ behind on the full disk goes on
        # without it, as with a full ids/ map: hubctl stats shows the
        # store (it failed, exit 1), and hubd starts again and serves.
        said = ("STORE-IDS the disk under ids/ is full: the event-id "
                "index stays behind the log (lookups read the log past "
                "it) until there is room; free space")
        c = hub.hubctl("stats", check=False)
        assert c.returncode == 0 and said in c.stderr, c.stderr
        # Nothing was indexed: a commit that failed is not said to have
        # indexed the id (it was, at every resend and every open).
        assert "STORE-IDS indexed" not in hub.log_text() + c.stderr
        assert "last_seq               " + str(last + 1) in c.stdout
        hub.stop()
        hub.start()
        assert said in hub.current_log(), hub.current_log()
        with IngestClient(hub, "school-a") as cli:
            again = cli.ack_for(frame(env))
            assert (again.status, again.sequence) == (DUPLICATE, last + 1), \
                again
        filler.unlink()
        # Room again: new events are taken, by themselves.
        hub.send(envelope("school-a", cprs[-1], salt="room-again"))
        st = hub.wait_applied()
        assert st["event_ids"] == st["log_events"] == last + 2, st
        assert re.search(r"notice STORE-IDS indexed the event ids of 1 log "
                         r"records that ids/ had not seen", hub.log_text())
        hub.stop()
