"""146 durability and recovery, sixth round: damaged stores and killed
processes, checked from outside against what ARCHITECTURE.md,
OPERATIONS.md and PROTOCOL.md promise."""

import hashlib
import json
import re
import shutil
import subprocess
import time

from hubtest import (ACCEPTED, DUPLICATE, E_FULL, QUIET, SLOW, CprGen,
                     IngestClient, binary, envelope, ev_dropout, rules_hub,
                     send_until_refused, wait_for)

from test_08_inbox_cli import conf_of
from test_60_store_at_rest import damage_log_record
from test_82_metrics import get, metrics_hub
from test_122_crash_fourth import listed

HOLDER = r"""
import ctypes, sys, time
lib = ctypes.CDLL("liblmdb.so.0")
env = ctypes.c_void_p()
assert lib.mdb_env_create(ctypes.byref(env)) == 0
lib.mdb_env_set_maxdbs(env, 64)
assert lib.mdb_env_open(env, sys.argv[1].encode(), 0x20000 | 0x10000,
                        0o600) == 0
print("open", flush=True)
time.sleep(600)
"""


def holder(env_dir):
    """A process that keeps env_dir open (read-only), as a hubctl would."""
    p = subprocess.Popen(["/usr/bin/python3", "-c", HOLDER, str(env_dir)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline() == "open\n"
    return p


def test_damaged_derived_and_ids_another_process_holds_are_not_emptied(
        make_hub):
    """OPERATIONS.md "Store format", damaged ids/ or derived/ files:
    "Files another hubd or hubctl has open are never emptied (it has them
    mapped): a process that finds them not opening then stops with exit
    1 and `... DATA_DIR/derived does not open (...), and another process
    has it open: stop every hubd and hubctl on the store, then start hubd
    again`". Once nothing holds them, the first hubctl to open the store
    empties them (warn, on its stderr), hubd replays the whole log
    (`HUB-REPLAY applying log entries 1..N`), and "Alerts raised again
    by the replay are the ones already stored, kept once; acknowledged
    ones stay acknowledged"; a resend is still DUPLICATE."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(14601)
    acked, kept = gen.born("2010-05-05"), gen.born("2010-06-06")
    hub.assign(acked, "cw-anna")
    hub.assign(kept, "cw-bob")
    sent = [ev_dropout(acked, "2026-09-04"), ev_dropout(kept, "2026-09-04")]
    first = hub.send(*sent)
    assert hub.wait_applied()["alerts"] == 2
    rc, got, _ = hub.inbox("cw-anna", max_alerts=1)
    assert rc == 0 and len(got) == 1, got
    assert hub.wait_stats("the ack stored",
                          lambda s: s["alerts_open"] == 1)
    hub.stop()
    data = hub.data_dir
    for env, msgid in (("derived", "STORE-DERIVED"), ("ids", "STORE-IDS")):
        h = holder(data / env)
        try:
            with open(data / env / "data.mdb", "r+b") as f:
                f.write(b"\xa5" * 16384)          # both meta pages gone
            damaged = (data / env / "data.mdb").read_bytes()
            said = (f"{data}/{env} does not open (MDB_INVALID: File is not "
                    "an LMDB file), and another process has it open: stop "
                    "every hubd and hubctl on the store, then start hubd "
                    "again")
            hub.start(wait=False)
            assert hub._reap(15) == 1
            hub.stopped_cleanly = True
            assert re.search(r"\berr HUB-START cannot start: .*"
                             + re.escape(said) + "$", hub.current_log(),
                             re.M), hub.current_log()
            r = hub.hubctl("stats", check=False)
            assert r.returncode == 1 and r.stdout == "", r
            assert r.stderr.endswith(
                "hubctl: cannot open the hub's keys and store: "
                + said + "\n"), r.stderr
            assert (data / env / "data.mdb").read_bytes() == damaged
        finally:
            h.kill()
            h.wait()
        r = hub.hubctl("stats")
        then = ("the derived state" if env == "derived"
                else "the event-id index")
        assert re.search(r"\bhubctl warn " + msgid + " " + re.escape(
            f"{data}/{env} does not open (MDB_INVALID: File is not an LMDB "
            f"file): emptied it; {then} is rebuilt from the log") + "$",
            r.stderr, re.M), r.stderr
        assert "log_events             4\n" in r.stdout, r.stdout
    hub.start()
    assert "HUB-REPLAY applying log entries 1..4 to derived state" in \
        hub.current_log(), hub.current_log()
    st = hub.wait_applied()
    assert (st["alerts"], st["alerts_open"], st["event_ids"]) == (2, 1, 4), st
    acks = hub.acks(*sent)
    assert [(a.status, a.sequence) for a in acks] == \
        [(DUPLICATE, s) for s in first], acks
    assert hub.stats()["log_events"] == 4
    rc, got, _ = hub.inbox("cw-bob", max_alerts=1)
    assert rc == 0 and [a["rule"] for a in got] == ["dropout"], got
    rc, got, _ = hub.inbox("cw-anna", idle_exit=1)
    assert got == [], got


def test_a_stop_while_derived_is_full_leaves_the_rest_to_the_next_start(
        make_hub):
    """OPERATIONS.md, Start and stop, SIGTERM: "the derived state is
    brought level with the log (as far as applying works: while it fails
    — a full derived/ map ... — the events waiting stay in the log,
    `last_applied` below `last_seq` in `hubctl stats`, and the next start
    applies them, `HUB-REPLAY applying log entries N..M to derived
    state`)", `HUB-STOP`, exit 0. A backup of that store says as much
    (`last_applied` in its manifest), and the hubd started on it once
    restored (Backup and restore, step 4) replays those entries. Every
    acked event is then applied once, and the alert raised before the map
    filled is kept once."""
    hub = make_hub(settings={"derived_map_mb": "1"})
    cpr = CprGen(14604).next()
    hub.send(envelope("school-a", cpr, salt="alerted", absent=30))
    hub.wait_stats("the alert raised", lambda s: s["alerts"] == 1)
    cprs = CprGen(14605).take(6000)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        accepted, refusals = send_until_refused(cli, cprs, "fill")
    assert refusals and refusals[0].code == E_FULL, refusals
    hub.stop()                       # exit 0 and HUB-STOP, asserted there
    st = hub.stats()
    assert st["last_seq"] == len(accepted) + 1 == st["log_events"], st
    assert 0 < st["last_applied"] < st["last_seq"], st
    # Backup and restore, step 4: the restored hubd "replays the log
    # entries the copied derived state had not applied (HUB-REPLAY)".
    backup = hub.tmp / "behind"
    hub.hubctl("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    assert (manifest["log_last_seq"], manifest["log_events"],
            manifest["last_applied"]) == \
        (st["last_seq"], st["log_events"], st["last_applied"]), manifest
    hub.data_dir.rename(hub.tmp / "old-data")
    hub.hubctl("restore", str(backup))
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    hub.start()
    assert re.search(
        r"\bnotice HUB-REPLAY applying log entries %d\.\.%d to derived "
        r"state\n" % (st["last_applied"] + 1, st["last_seq"]),
        hub.current_log()), hub.current_log()
    after = hub.wait_applied()
    assert (after["log_events"], after["event_ids"], after["alerts"]) == \
        (st["log_events"], st["log_events"], 1), after
    seq, data = accepted[-1]
    with IngestClient(hub, "school-a") as cli:
        ack = cli.ack_for(data)
    assert (ack.status, ack.sequence) == (DUPLICATE, seq), ack


def blake2b_of(backup):
    return {e: hashlib.blake2b((backup / e / "data.mdb").read_bytes(),
                               digest_size=32).hexdigest()
            for e in ("log", "ids", "derived")}


def test_reading_a_backup_leaves_it_restorable_writing_one_does_not(
        make_hub):
    """OPERATIONS.md, Backup and restore: "`stats`, `log` and `audit
    verify` leave its data files as they are while the machine has not
    restarted (they add LMDB's lock file `lock.mdb` beside each
    `data.mdb`, which restore does not read or copy)"; a writing hubctl
    command pointed at a backup (`--data_dir DIR`) "may write to it (a
    command recorded in its audit trail ...), and restore then refuses
    the changed file as damaged", `... is damaged: its bytes are not the
    ones the backup wrote (manifest.json file_blake2b)` (or, grown, `N
    bytes, the backup wrote M (manifest.json file_bytes)`), and takes back
    what it copied: `hubctl: restore: nothing restored; DATA_DIR is empty
    again`, exit 1."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(14606).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04"))
    hub.wait_applied()
    read, written = hub.tmp / "read", hub.tmp / "written"
    for d in (read, written):
        hub.hubctl("backup", str(d))
    hub.stop()
    copied = blake2b_of(read)

    def on(backup, *cmd):
        return hub.hubctl("--config", str(hub.conf), "--data_dir",
                          str(backup), *cmd, check=False, config=False)
    for cmd in (["stats"], ["log"], ["audit", "verify"]):
        r = on(read, *cmd)
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
        assert blake2b_of(read) == copied, cmd
    assert "log_events             2\n" in on(read, "stats").stdout
    for e in ("log", "ids", "derived"):
        assert (read / e / "lock.mdb").exists()
    hub.keygen("school-z")
    r = on(written, "register-agency", "school-z", "--types", "absence")
    assert r.returncode == 0, r.stderr
    assert blake2b_of(written)["log"] != copied["log"]

    hub.data_dir.rename(hub.tmp / "old-data")
    data = hub.data_dir
    r = hub.hubctl("restore", str(written), check=False)
    assert r.returncode == 1 and r.stdout == "", r
    # The record made the file longer here; had it not, its hash says it.
    assert re.fullmatch(re.escape(
        f"hubctl: restore: {written}/log/data.mdb is damaged: ") +
        r"(\d+ bytes, the backup wrote \d+ \(manifest\.json file_bytes\)"
        r"|its bytes are not the ones the backup wrote \(manifest\.json "
        r"file_blake2b\))\n" + re.escape(
            f"hubctl: restore: nothing restored; {data} is empty again\n"),
        r.stderr), r.stderr
    assert not data.exists() or list(data.iterdir()) == []
    r = hub.hubctl("restore", str(read))
    assert r.stdout == (f"restored from {read}: log up to sequence 2 (2 "
                        "events); run hubctl audit verify, then start "
                        "hubd\n"), r.stdout
    hub.start()
    st = hub.wait_applied()
    assert (st["log_events"], st["alerts"], st["alerts_open"]) == (2, 1, 1)


def test_a_log_record_that_does_not_open_after_derived_and_ids_are_lost(
        make_hub):
    """OPERATIONS.md, "Store format" and "Records that do not open": the
    runbook after an OS crash (delete `derived/`; `ids/` lost too) on a
    log holding a record that does not open. hubctl, first to open the
    store, says `STORE-SEAL log record SEQ does not open with the storage
    key` and indexes the others, `...; records without an id (from before
    format 4, or that do not open) skipped`; hubd's replay stops before
    the record and `/readyz` says `503 derived state behind the log:
    applying events fails`; the applier, trying again twice a second, says
    the record once (not at every try). That record no longer holds its
    event (it cannot be read): a resend of it is ACCEPTED as a new event, a resend
    of the others DUPLICATE with their sequences (PROTOCOL.md §3: "An id
    is ACCEPTED at most once while the hub holds its event"). Once the
    record is passed over, everything after it is applied and `/readyz`
    is 200."""
    hub = metrics_hub(make_hub)
    cprs = CprGen(14608).take(3)
    hub.cprs.update(cprs)
    envs = [envelope("school-a", c, salt=f"sealed-{i}")
            for i, c in enumerate(cprs)]
    assert hub.send(*envs) == [1, 2, 3]
    hub.wait_applied()
    damage_log_record(hub, 2)
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    shutil.rmtree(hub.data_dir / "ids")
    r = hub.hubctl("stats")
    assert re.search(r"\bhubctl err STORE-SEAL log record 2 does not open "
                     r"with the storage key\n", r.stderr), r.stderr
    assert "hubctl: STORE-IDS indexed the event ids of 2 log records that " \
        "ids/ had not seen (after a crash, a lost ids/ or a restore); " \
        "records without an id (from before format 4, or that do not " \
        "open) skipped\n" in r.stderr, r.stderr
    assert "event_ids              2\n" in r.stdout, r.stdout
    hub.start()
    assert "HUB-REPLAY applying log entries 1..3 to derived state" in \
        hub.current_log()
    assert get(hub.metrics_url + "/readyz") == \
        (503, "derived state behind the log: applying events fails\n")
    # The applier tries again twice a second; the record is said once a
    # minute, not at every try.
    time.sleep(1.5 * SLOW)
    said = re.findall(r"STORE-SEAL log record 2 does not open with the "
                      r"storage key\n", hub.current_log())
    assert len(said) == 1, hub.current_log()
    assert hub.stats()["last_applied"] == 1
    acks = hub.acks(*envs)
    assert [(a.status, a.sequence) for a in acks] == \
        [(DUPLICATE, 1), (ACCEPTED, 4), (DUPLICATE, 3)], acks
    acks = hub.acks(envs[1])
    assert [(a.status, a.sequence) for a in acks] == [(DUPLICATE, 4)], acks
    hub.hubctl("pass-damaged", "--seq", "2", "--reason", "INC-14608")
    st = hub.wait_applied()
    assert (st["log_events"], st["event_ids"]) == (4, 3), st
    wait_for(lambda: get(hub.metrics_url + "/readyz")[0] == 200, 10,
             "/readyz 200 once the record is passed over")


def test_inbox_killed_while_it_writes_alerts_to_a_file_loses_none(
        make_hub):
    """OPERATIONS.md, Caseworkers: "Standard output redirected to a file
    (`inbox >> alerts.log`) is synced to the disk after each alert's
    block or line and before it is acknowledged"; PROTOCOL.md §4:
    "Alerts not acknowledged are sent again on your next connection".
    inbox killed (SIGKILL) at moments while it writes 60 alerts into one
    file: every alert the hub holds acknowledged is in the file by then,
    the next runs get the rest, and in the end each alert is in the file
    (one written but not yet acknowledged again, with the next
    `delivery`) and none is open."""
    hub = make_hub()
    cprs = CprGen(14611).take(60)
    hub.cprs.update(cprs)
    hub.absence_alerts("cw-anna", cprs, "kill-inbox")
    hub.wait_stats("60 alerts", lambda s: s["alerts_open"] == 60)
    every = {a["alert_id"] for a in listed(hub, "cw-anna")}
    assert len(every) == 60
    conf = conf_of(hub, "cw-anna")
    shown = hub.client_dir / "alerts.jsonl"      # holds CPRs: not swept

    def written():
        """The whole lines in the file (inbox may be writing the next)."""
        text = shown.read_text() if shown.exists() else ""
        return [json.loads(ln) for ln in text.split("\n")[:-1]]
    for upto in (1, 20, 40, None):
        with open(shown, "a") as out:
            p = subprocess.Popen(
                [binary("inbox"), "--config", str(conf), "--json",
                 "--idle_exit", str(2 * QUIET)],
                stdout=out, stderr=subprocess.PIPE)
        if upto is None:
            assert p.wait(timeout=60 * SLOW) == 0
            p.stderr.close()
            break
        # Killed as soon as the file holds that many lines: while inbox
        # writes the next, or acknowledges the last.
        while len(written()) < upto and p.poll() is None:
            time.sleep(0.001)
        p.kill()
        p.wait()
        p.stderr.close()
        still_open = {a["alert_id"] for a in listed(hub, "cw-anna")}
        acked = every - still_open
        assert acked <= {a["alert_id"] for a in written()}, \
            "an acknowledged alert is not in the file"
    got = written()
    assert shown.read_text().endswith("}\n")     # no line cut short
    assert {a["alert_id"] for a in got} == every
    assert listed(hub, "cw-anna") == []
    assert hub.stats()["alerts_open"] == 0
    # An alert written again was delivered again: a higher `delivery`
    # (one delivered to a killed inbox that never wrote it can come
    # first with 2: PROTOCOL.md §4 item 5).
    deliveries = {}
    for a in got:
        deliveries.setdefault(a["alert_id"], []).append(a["delivery"])
    assert all(d == sorted(set(d)) for d in deliveries.values()), \
        deliveries