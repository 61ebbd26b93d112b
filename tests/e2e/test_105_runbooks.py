"""105 OPERATIONS.md's runbooks followed as the duty desk and municipal IT
operations would: restore refusals of a manifest, the purge after a
restore, the full disk freed, a rebuild of derived/ and the metrics that
watch all this. Each test quotes the sentence it checks."""

import json
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

import hubtest
from hubtest import (ACCEPTED, E_UNAVAILABLE, REJECTED, CprGen, IngestClient,
                     envelope, frame)
from test_82_metrics import get, metrics_hub, scrape, value


def moved(hub, data_dir):
    """Point hub's config at another data_dir (hubd stopped)."""
    hub.conf.write_text(re.sub(r"(?m)^data_dir = .*$",
                               f"data_dir = {data_dir}", hub.conf.read_text()))
    hub.data_dir = data_dir


def two_events_backed_up(make_hub, top, seed, salt):
    """A hub holding two events, backed up to top/backup and stopped:
    (hub, the backup)."""
    hub = make_hub()
    hub.send(*[envelope("school-a", c, salt=f"{salt}-{i}")
               for i, c in enumerate(CprGen(seed).take(2))])
    backup = top / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    return hub, backup


def test_a_manifest_without_a_whole_log_events_is_refused(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, Backup and restore, step 1: restore refuses a
    manifest that holds "no `log_events` number (`... damaged: no
    log_events`), a number being whole, in digits, as the backup writes
    it (`-1`, `1.5`, `1e3` or `"5"` is none). Nothing is written in any of
    these cases." Exit 1, and the missing data_dir is not made."""
    hub, backup = two_events_backed_up(make_hub, tmp_path, 10501, "le")
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["log_events"] == 2, manifest
    target = tmp_path / "restored" / "data"
    moved(hub, target)
    for i, bad in enumerate((None, -1, 1.5, "1e3", 1e3, "2")):
        copy = tmp_path / f"bad-{i}"
        shutil.copytree(backup, copy)
        m = dict(manifest)
        if bad is None:
            del m["log_events"]
        else:
            m["log_events"] = bad
        text = json.dumps(m)
        if bad == "1e3":    # a number in exponent form, unquoted
            text = text.replace('"1e3"', "1e3")
        (copy / "manifest.json").write_text(text)
        p = hub.hubctl("restore", str(copy), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: restore: {copy}/manifest.json is damaged: "
            "no log_events\n"), (bad, p)
        assert not target.exists(), bad
    p = hub.hubctl("restore", str(backup))
    assert p.stdout == (f"restored from {backup}: log up to sequence 2 "
                        "(2 events); run hubctl audit verify, then start "
                        "hubd\n"), p.stdout


def test_only_the_manifests_own_figures_count(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore, step 1: a manifest that "holds no
    `log_last_seq` number" or "no `log_events` number" is refused, exit
    1, nothing written. The figures are the manifest object's own
    members: one of the same name inside a nested object (an operator's
    note added with jq, say) is not the manifest's figure, neither when
    the figure is missing nor when it is there after it. So too for each
    file's figures, which are the members of `file_bytes` and
    `file_blake2b` only."""
    hub, backup = two_events_backed_up(make_hub, tmp_path, 10509, "nest")
    manifest = json.loads((backup / "manifest.json").read_text())
    target = tmp_path / "restored" / "data"
    moved(hub, target)
    figures = {"log_last_seq": 2, "log_events": 2}

    def restore(name, m):
        copy = tmp_path / name
        shutil.copytree(backup, copy)
        (copy / "manifest.json").write_text(json.dumps(m, indent=2))
        return copy, hub.hubctl("restore", str(copy), check=False)

    for missing in figures:
        m = {"note": dict(figures)}
        m.update({k: v for k, v in manifest.items() if k != missing})
        copy, p = restore(f"nested-{missing}", m)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: restore: {copy}/manifest.json is damaged: "
            f"no {missing}\n"), p
        assert not target.exists()
    # file_bytes without ids/data.mdb's length, which a nested object
    # after it holds: not a whole file_bytes.
    m = dict(manifest)
    m["file_bytes"] = {k: v for k, v in manifest["file_bytes"].items()
                       if k != "ids/data.mdb"}
    m["file_bytes"]["old"] = {"ids/data.mdb":
                              manifest["file_bytes"]["ids/data.mdb"]}
    copy, p = restore("nested-bytes", m)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: restore: {copy}/manifest.json is damaged: no whole "
        "file_bytes and file_blake2b for ids/data.mdb\n"), p
    assert not target.exists()
    # Other figures nested before the manifest's own: the own ones count.
    m = {"note": {"log_last_seq": 99, "log_events": 99}}
    m.update(manifest)
    copy, p = restore("nested-first", m)
    assert (p.returncode, p.stdout) == (
        0, f"restored from {copy}: log up to sequence 2 (2 events); run "
        "hubctl audit verify, then start hubd\n"), p


def test_a_restored_copy_is_purged_again_when_hubd_starts(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, Backups, retention and erasure: "The retention purge
    needs no help: hubd runs it at start and deletes again whatever the
    restored copy held past its time." A backup taken before the purge,
    restored after it: the first start's run deletes the same records,
    alerts and persons again, audited as the purge was."""
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "30"})
    cprs = CprGen(10502).take(2)
    hub.absence_alerts("cw-anna", cprs, "rp")
    hub.wait_applied()
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.set_clock("2026-02-05T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done: 4 records, 4 alerts "
                 r"deleted, 2 persons cleared")
    assert hub.stats()["log_events"] == 0
    hub.stop()
    moved(hub, tmp_path / "restored" / "data")
    hub.hubctl("restore", str(backup))
    st = hub.stats()
    assert (st["log_events"], st["alerts_open"]) == (4, 2), st
    hub.start()
    hubtest.wait_for(lambda: "HUB-PURGE retention purge done" in
                     hub.current_log(), 10, "the purge at start")
    assert re.search(r"notice HUB-PURGE retention purge done: 4 records, "
                     r"4 alerts deleted, 2 persons cleared",
                     hub.current_log()), hub.current_log()
    st = hub.stats()
    assert (st["log_events"], st["alerts"], st["person_index_entries"],
            st["timers"], st["assignments"]) == (0, 0, 0, 0, 0), st
    shown = hub.hubctl("audit", "show", "--json").stdout
    records = [json.loads(ln) for ln in shown.splitlines()]
    after = [r for r in records if r["action"] == "purge"]
    assert sorted(r["detail"] for r in after) == [
        "2 records deleted (retention)", "2 records deleted (retention)",
        "batch: 4 records, 4 alerts, 2 timers, 2 persons cleared"], after


def test_alerts_a_rebuild_raises_again_are_not_counted_again(make_hub):
    """OPERATIONS.md, Metrics: `ungebro_alerts_raised_total` counts
    alerts raised by the rules, "an alert a replay after a crash raises
    again is not counted again"; the rebuild of derived/ (delete it,
    start hubd) raises the stored alerts again, kept once: the counter
    stays 0 and `ungebro_alerts_open` is what it was."""
    hub = metrics_hub(make_hub)
    cprs = CprGen(10503).take(3)
    hub.absence_alerts("cw-anna", cprs, "rb")
    hub.wait_applied()
    s, _ = scrape(hub)
    assert value(s, "ungebro_alerts_raised_total") == 3
    assert value(s, "ungebro_alerts_open") == 3
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    assert "HUB-REPLAY applying log entries 1..6 to derived state" in \
        hub.current_log(), hub.current_log()
    hub.wait_applied()
    s, _ = scrape(hub)
    assert value(s, "ungebro_alerts_raised_total") == 0
    assert value(s, "ungebro_alerts_open") == 3
    assert hub.stats()["alerts"] == 3


def test_queue_depth_lists_the_50_deepest_deepest_first_then_by_id(
        make_hub):
    """OPERATIONS.md, Metrics: `ungebro_queue_depth` counts every
    registered caseworker and the desk id, "the 50 deepest are listed
    (deepest first, equal depths by id)"; the desk id is counted "once,
    also when a caseworker is registered under it", and a web gateway is
    not a queue."""
    port = hubtest.free_port()
    hub = make_hub(start=False,
                   settings={"metrics_listen": f"127.0.0.1:{port}"})
    hub.metrics_url = f"http://127.0.0.1:{port}"
    for i in range(52):
        hub.keygen(f"cw-{i:02d}")
        hub.register_caseworker(f"cw-{i:02d}")
    hub.keygen("duty-desk")
    hub.register_caseworker("duty-desk")     # a shared desk login
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    hub.start()
    deep, desk = CprGen(10504).take(3), CprGen(10505).take(1)
    hub.absence_alerts("cw-47", deep[:2], "qd")      # two for cw-47
    hub.absence_alerts("cw-51", deep[2:], "qe")      # one for cw-51
    hub.send(envelope("school-a", desk[0], salt="qf", absent=12,
                      expected=30))                  # no contact: the desk
    hub.cprs.update(desk)
    hub.wait_applied()
    status, text = get(hub.metrics_url + "/metrics")
    assert status == 200, text
    listed = re.findall(r'^ungebro_queue_depth\{recipient="([^"]+)"\} '
                        r'(\d+)$', text, re.M)
    assert len(listed) == 50, listed
    # 56 queues: 52 cw-NN, cw-anna, desk-dora, duty-desk (once). Equal
    # depths in byte order of the id: cw-00 ... cw-50 (cw-47 and cw-51
    # placed above them), and cw-anna, desk-dora left past the 50th.
    expected = [("cw-47", "2"), ("cw-51", "1"), ("duty-desk", "1")] + \
        [(f"cw-{i:02d}", "0") for i in range(52) if i not in (47, 51)]
    assert listed == expected[:50], listed
    assert [r for r, _ in listed].count("duty-desk") == 1
    assert "web-1" not in text


def test_a_full_disk_freed_takes_writes_again_without_a_restart(make_hub):
    """OPERATIONS.md, Where data lives: a full disk is answered
    `E_UNAVAILABLE` (retryable) and logged `STORE-LMDB WHAT: No space
    left on device: the disk under log/ is full; free space`. "Free
    space; the hub goes on by itself, no restart needed, and logs
    `STORE-LMDB log/ takes writes again` (notice) once a write goes
    through." The refused event's resend is then ACCEPTED by the same
    hubd, and the metrics count the refusal."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a small tmpfs")
    port = hubtest.free_port()
    hub = make_hub(start=False, register=False,
                   settings={"metrics_listen": f"127.0.0.1:{port}"})
    hub.metrics_url = f"http://127.0.0.1:{port}"
    hub.data_dir.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs",
                       str(hub.data_dir)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        hub.register_agency("school-a", "absence")
        hub.register_caseworker("cw-anna")
        hub.register_caseworker("desk-dora", True)
        hub.start()
        pid = hub.proc.pid
        cprs = CprGen(10506).take(3)
        hub.send(*[envelope("school-a", c, salt=f"fd-{i}")
                   for i, c in enumerate(cprs)])
        hubtest.fill_disk(hub.data_dir / "filler")
        refused = None
        with IngestClient(hub, "school-a") as c:
            for i in range(5000):
                env = envelope("school-a", cprs[i % 3], salt=f"fe-{i}")
                ack = c.ack_for(frame(env))
                if ack.status != ACCEPTED:
                    refused = (env, ack)
                    break
        assert refused, "the full disk refused nothing"
        env, ack = refused
        assert (ack.status, ack.code, ack.retryable) == \
            (REJECTED, E_UNAVAILABLE, True), ack
        hub.wait_log(r"(?m)hubd err STORE-LMDB .*: No space left on device: "
                     r"the disk under (log|ids|derived)/ is full; free "
                     r"space$")
        s, _ = scrape(hub)
        assert value(s, "ungebro_events_rejected_total",
                     code="E_UNAVAILABLE") >= 1
        assert "takes writes again" not in hub.log_text()
        (hub.data_dir / "filler").unlink()
        with IngestClient(hub, "school-a") as c:
            again = c.ack_for(frame(env))
        assert again.status == ACCEPTED, again
        hub.wait_log(r"(?m)hubd notice STORE-LMDB (log|ids|derived)/ takes "
                     r"writes again$")
        assert hub.proc.pid == pid and hub.running
        hub.wait_applied()
    finally:
        (hub.data_dir / "filler").unlink(missing_ok=True)
        try:
            hub.close()     # stopped and swept while the tmpfs is there
        finally:
            subprocess.run(["umount", "-l", str(hub.data_dir)])


def test_a_restore_by_root_gives_missing_parents_the_nearest_owner(
        make_hub):
    """hubctl --help (and OPERATIONS.md, Backup and restore, step 2: "run
    as root, they are given data_dir's owner, or its parent's when
    restore creates it"): "the nearest one that was there when it makes
    missing parents too, which take that owner as well". A data_dir two
    levels below the service's state directory is restored whole as the
    service user's, every directory 0700 and every file 0600."""
    if os.geteuid() != 0:
        pytest.skip("only root hands files to another user")
    svc = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="ug-rb-"))
    try:
        hub, backup = two_events_backed_up(make_hub, top, 10507, "own")
        state = top / "state"
        state.mkdir()
        os.chown(state, svc.pw_uid, svc.pw_gid)
        data = state / "a" / "b" / "hub"
        old = hub.data_dir
        moved(hub, data)
        p = hub.hubctl("restore", str(backup))
        assert p.returncode == 0, p.stderr
        made = [state / "a", state / "a" / "b", *[data, *data.rglob("*")]]
        assert {f.name for f in data.iterdir()} == {"log", "ids",
                                                    "derived"}
        for f in made:
            st = f.stat()
            assert (st.st_uid, st.st_gid) == (svc.pw_uid, svc.pw_gid), f
            want = 0o700 if f.is_dir() else 0o600
            assert st.st_mode & 0o777 == want, (f, oct(st.st_mode))
        moved(hub, old)
    finally:
        shutil.rmtree(top)


def test_deadlines_missed_counts_the_one_without_an_alert_too(make_hub):
    """OPERATIONS.md, Metrics: `ungebro_deadlines_missed_total` counts
    "legal deadlines missed (`HUB-DEADLINE`), also a missed treatment
    deadline that raises no alert for want of consent", while
    `ungebro_alerts_raised_total` counts only the alerts raised: the
    referral with consent and its deadline alert."""
    port = hubtest.free_port()
    hub = hubtest.rules_hub(make_hub, "2026-09-07T09:00:00", start=False,
                            settings={"metrics_listen":
                                      f"127.0.0.1:{port}"})
    hub.metrics_url = f"http://127.0.0.1:{port}"
    hub.start()
    shared, withheld = CprGen(10508).take(2)
    for cpr in (shared, withheld):
        hub.assign(cpr, "cw-anna")
    hub.send(hubtest.ev_referral(shared, "2026-09-07",
                                 consent={"given": True}),
             hubtest.ev_referral(withheld, "2026-09-07",
                                 consent={"given": False}))
    hub.wait_applied()
    s, types = scrape(hub)
    assert types["ungebro_deadlines_missed_total"] == "counter"
    assert value(s, "ungebro_deadlines_missed_total") == 0
    assert value(s, "ungebro_alerts_raised_total") == 1
    hub.advance("2026-09-22T06:00:00")      # day 15: both missed
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\."
                 r"missed", count=2)
    s, _ = scrape(hub)
    assert value(s, "ungebro_deadlines_missed_total") == 2
    assert value(s, "ungebro_alerts_raised_total") == 2
    assert hub.stats()["alerts"] == 2


def test_batch_sizes_count_resends_and_not_frames_refused_before(make_hub):
    """OPERATIONS.md, Metrics: `ungebro_ingest_batch_size` (histogram,
    `le` 1, 2, 4 ... 1024, 4096) counts "events handed to one append
    transaction (a resend the store finds already there is among them,
    answered DUPLICATE and not written again; frames refused before the
    store are not)"; `ungebro_events_rejected_total`: "every code is
    listed, 0 until it happens"; `ungebro_commit_seconds` buckets from
    0.0005 to 2.5."""
    hub = metrics_hub(make_hub)
    s, types = scrape(hub)
    codes = [n for n in hubtest.pb().ErrorCode.keys() if n != "OK"]
    for code in codes:
        assert ("ungebro_events_rejected_total",
                frozenset({("code", code)})) in s, code
        assert value(s, "ungebro_events_rejected_total", code=code) == 0
    les = sorted(float(dict(k[1])["le"]) for k in s
                 if k[0] == "ungebro_ingest_batch_size_bucket")
    assert les == [2.0 ** i for i in range(11)] + [4096.0, float("inf")]
    les = sorted(float(dict(k[1])["le"]) for k in s
                 if k[0] == "ungebro_commit_seconds_bucket")
    assert (les[0], les[-2], les[-1]) == (0.0005, 2.5, float("inf")), les
    [cpr] = CprGen(10510).take(1)
    env = envelope("school-a", cpr, salt="bs")
    hub.send(env)
    assert [a.status for a in hub.acks(env)] == [hubtest.DUPLICATE]
    with IngestClient(hub, "school-a") as c:   # another agency's envelope
        ack = c.ack_for(frame(envelope("school-b", cpr, salt="bs-2")))
    assert (ack.status, ack.code) == (REJECTED, hubtest.E_DENIED)
    s, _ = scrape(hub)
    assert value(s, "ungebro_events_in_total", agency="school-a",
                 type="ABSENCE_REPORT") == 1
    assert value(s, "ungebro_events_duplicate_total") == 1
    assert value(s, "ungebro_events_rejected_total", code="E_DENIED") == 1
    assert value(s, "ungebro_ingest_batch_size_count") == 2
    assert value(s, "ungebro_ingest_batch_size_sum") == 2
    assert value(s, "ungebro_ingest_batch_size_bucket", le="1") == 2


def test_the_metrics_port_is_closed_until_the_store_is_open(make_hub):
    """OPERATIONS.md, Metrics and health endpoints: "It listens from the
    moment the store is open and the ingest and delivery sockets are
    bound: before that ... a probe finds the port closed, which a health
    check must take as 'not ready'." hubd starting while another process
    holds log/'s write lock (a store slow to open) has the port closed;
    once the store opens, /readyz answers 200."""
    import socket

    hub = metrics_hub(make_hub)
    hub.send(envelope("school-a", CprGen(10511).next(), salt="mp"))
    hub.stop()
    port = int(hub.metrics_url.rsplit(":", 1)[1])

    def refused():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        except ConnectionRefusedError:
            return True
        return False

    with hubtest.log_write_held(hub):
        hub.start(wait=False)
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            assert hub.running, hub.current_log()
            assert refused(), "the port answered before the store opened"
            time.sleep(0.1)
        assert "HUB-READY" not in hub.current_log()
    hub.wait_ready()
    assert get(hub.metrics_url + "/readyz") == (200, "ready\n")
    assert get(hub.metrics_url + "/healthz") == (200, "ok\n")


def test_a_lost_hub_key_secret_is_put_back_not_made_anew(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, Keys: "a lost `hub.key_secret` is put back from its
    backup instead, since only its `storage_key` opens the store". A new
    one made with `keygen hub` (which keeps the signing pair) opens
    nothing: hubd exits 1, `HUB-START cannot start: storage_key: the
    hub's storage key does not open this store (another
    hub.key_secret?)`, hubctl says the same after `hubctl: cannot open
    the hub's keys and store: `, and a restore takes back what it
    copied. The key put back from its backup opens the store and the
    restore."""
    hub = make_hub()
    [cpr] = CprGen(10512).take(1)
    hub.send(envelope("school-a", cpr, salt="lk"))
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    aside = tmp_path / "key-backup"
    aside.mkdir()
    for f in ("hub.key", "hub.key_secret"):
        shutil.move(hub.keys_dir / f, aside / f)
    p = hub.hubctl("keygen", "--keys_dir", str(hub.keys_dir), "hub",
                   config=False)
    assert f"kept {hub.keys_dir}/hub.sign_public and " \
        f"{hub.keys_dir}/hub.sign_secret (they exist)" in p.stdout, p.stdout
    why = ("the hub's storage key does not open this store (another "
           "hub.key_secret?)")
    p = subprocess.run([hubtest.binary("hubd"), "--config", str(hub.conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert p.stderr.endswith(
        f"hubd err HUB-START cannot start: storage_key: {why}\n"), p.stderr
    p = hub.hubctl("stats", check=False)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: cannot open the hub's keys and store: {why}\n")
    old = hub.data_dir
    target = tmp_path / "restored" / "data"
    moved(hub, target)
    p = hub.hubctl("restore", str(backup), check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: cannot open the hub's keys and store: {why}\n"
        f"hubctl: restore: nothing restored; {target} is empty again\n")
    assert list(target.iterdir()) == []
    for f in ("hub.key", "hub.key_secret"):
        shutil.copy2(aside / f, hub.keys_dir / f)
    p = hub.hubctl("restore", str(backup))
    assert p.stdout.startswith(f"restored from {backup}: log up to "
                               "sequence 1 (1 events)"), p.stdout
    moved(hub, old)
    hub.start()
    assert [a.status for a in hub.acks(envelope("school-a", cpr,
                                                salt="lk"))] == \
        [hubtest.DUPLICATE]


def test_an_ops_alert_reaches_at_most_256_ops_caseworkers(make_hub):
    """OPERATIONS.md, Operational alerts: the alert goes "to every
    caseworker registered with `--ops` (at most 256 of them get it; keep
    the ops team smaller)". With 257 registered, one condition raises
    256 alerts, each naming no person; the log line is one."""
    hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                   settings={"ops_silence": "school-a=1"})
    for i in range(257):
        hub.keygen(f"ops-{i:03d}")
        hub.hubctl("register-caseworker", f"ops-{i:03d}", "--ops")
    hub.start()
    time.sleep(1.5 * hubtest.SLOW)       # the first check notes the start
    hub.set_clock("2026-01-05T10:00:01")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT adapter_silent \(school-a\)")
    st = hub.wait_stats("the ops alerts stored",
                        lambda s: s["alerts"] >= 256)
    time.sleep(1.5 * hubtest.SLOW)       # a second check adds none
    assert hub.stats()["alerts"] == st["alerts"] == 256, st
    assert hub.log_text().count("HUB-OPS-ADAPTER-SILENT") == 1
    [a] = hub.peek("ops-000", 1)
    assert (a["rule"], a["cpr"]) == ("ops.adapter_silent", ""), a


def test_a_restart_before_the_derived_map_is_raised_serves_all_the_same(
        make_hub):
    """OPERATIONS.md, Where data lives: "A hub that restarts before the
    map is raised (a crash, a reboot) starts in the same state: the
    replay fails (`HUB-REPLAY cannot apply the log to derived state yet
    (full): ...`), and hubd serves as above ... rather than exit":
    /readyz 503 naming derived_map_mb, /healthz 200, a resend DUPLICATE
    with its sequence, a new event REJECTED E_FULL (retryable). Raised and
    restarted, hubd "has nothing to end: it logs neither" (no `takes
    writes again`, no `works again`), replays and is ready."""
    hub = metrics_hub(make_hub, settings={"derived_map_mb": "1"})
    cprs = CprGen(10513).take(6000)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        accepted, refusals = hubtest.send_until_refused(cli, cprs, "rs")
    assert refusals and refusals[0].code == hubtest.E_FULL, refusals
    hub.stop()
    hub.start()
    log = hub.current_log()
    assert re.search(r"hubd err HUB-REPLAY cannot apply the log to derived "
                     r"state yet \(full\): ", log), log
    assert hub.running
    assert get(hub.metrics_url + "/readyz") == (
        503, "derived state behind the log: the derived map is full "
        "(derived_map_mb)\n")
    assert get(hub.metrics_url + "/healthz") == (200, "ok\n")
    seq, data = accepted[-1]
    with IngestClient(hub, "school-a") as cli:
        ack = cli.ack_for(data)
        assert (ack.status, ack.sequence) == (hubtest.DUPLICATE, seq), ack
        ack = cli.ack_for(frame(envelope("school-a", cprs[-1],
                                         salt="rs-new")))
    assert (ack.status, ack.code, ack.retryable, ack.reason) == (
        REJECTED, hubtest.E_FULL, True, "the hub cannot apply events: its "
        "store is full (derived_map_mb); retry later"), ack
    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    hub.start()
    st = hub.wait_stats("every accepted event applied",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert (st["last_seq"], st["log_events"]) == (seq, len(accepted)), st
    log = hub.current_log()
    assert "HUB-REPLAY applying log entries" in log, log
    assert "takes writes again" not in log and "works again" not in log
    assert get(hub.metrics_url + "/readyz") == (200, "ready\n")
