"""07 recovery, part 2: what the docs promise about crashes, restarts and
recovery, seen from the clients (webd, inbox) and the operator."""

import re
import shutil
import subprocess
import time

import pytest

import hubtest
from hubtest import CprGen, AbsenceRow, binary, envelope, wait_for, QUIET, SLOW
from test_53_delivery import clients  # noqa: F401
from test_70_web import (Web, alerts_listed, anna_with_a_person,
                         anna_session, open_new_alert)


@pytest.mark.parametrize("how", ["stop", "kill9"])
def test_web_sessions_end_with_a_hub_restart(make_hub, how):
    """OPERATIONS.md: restarting hubd logs everyone out; a page then goes
    to /login?ended=1 and the list alone is 401; a stop of hubd records
    each session's end as logout stopped."""
    hub, cpr = anna_with_a_person(make_hub, 7101)
    web = Web(hub)
    try:
        session = anna_session(web)
        open_new_alert(hub, web, session, cpr, "rec-web")
        if how == "stop":
            hub.stop()
        else:
            hub.kill9()
        hub.start()
        r, _ = web.request("GET", "/alerts", cookies=session)
        assert r.status == 303, r.status
        assert r.getheader("Location") == "/login?ended=1"
        r, _ = web.request("GET", "/alerts/list", cookies=session)
        assert r.status == 401
    finally:
        web.stop()
    audit = hub.hubctl("audit", "show", "--actor", "cw-anna").stdout
    if how == "stop":
        assert re.search(r"logout +stopped", audit), audit
    else:
        # SECURITY.md, Sessions: a crash records nothing; the end lies
        # between the last request and the next start's HUB-READY.
        assert "logout" not in audit, audit
        assert "notice HUB-READY " in hub.current_log()


def inbox_popen(hub, caseworker, *args):
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    return subprocess.Popen([binary("inbox"), "--config", str(conf), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_live_inbox_across_a_hub_restart(hub, how):
    """OPERATIONS.md (inbox, live): `connected as ID: N open alerts` again
    after every reconnect; alerts not acknowledged come again after a
    hub restart, marked `[delivered again]`; the final count is every
    alert received."""
    cprs = CprGen(7102).take(2)
    for c in cprs:
        hub.assign(c, "cw-anna")
    hub.absence_alerts("cw-anna", cprs, "rec-live", absent=30,
                       expected=100)
    p = inbox_popen(hub, "cw-anna", "--no_ack", "--idle_exit",
                    str(8 * QUIET))
    time.sleep(3)
    if how == "restart":
        hub.restart()
    else:
        hub.kill9()
        hub.start()
    out, err = p.communicate(timeout=60 * SLOW)
    print(out, err)
    assert p.returncode == 0, err
    assert out.count("connected as cw-anna: 2 open alerts") == 2, out
    assert out.count("[delivered again]") == 2, out
    assert out.rstrip().endswith("4 alerts received (not acknowledged)"), out


def test_sigterm_brings_derived_level_with_the_log(hub):
    """OPERATIONS.md, SIGTERM: the batch in flight is committed and acked,
    the derived state is brought level with the log, HUB-STOP, exit 0:
    the next start has nothing to replay."""
    rows = [AbsenceRow(c, absent=30 if i % 7 == 0 else 2, expected=100)
            for i, c in enumerate(CprGen(7103).take(3000))]
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, timeout=60) as adapter:
        hub.wait_stats("some events stored",
                       lambda s: s["log_events"] >= 300)
        hub.stop()
        st = hub.stats()
        assert st["last_applied"] == st["last_seq"], st
        hub.start()
        assert "HUB-REPLAY" not in hub.current_log()
        r = hub.adapter_finish(adapter, wait=120)
    assert r.rc == 0, str(r)
    assert r.summary["accepted"] + r.summary["duplicates"] == 3000


def test_an_event_id_index_behind_the_log_catches_up(make_hub):
    """OPERATIONS.md "Store format": ids/ that lost its last commits
    (a crash) is indexed from the log for what it had not seen; resends
    are DUPLICATE with their first sequence."""
    import shutil
    hub = make_hub()
    envs = [envelope("school-a", c, salt=f"idb-{i}")
            for i, c in enumerate(CprGen(7104).take(30))]
    first = hub.send(*envs[:10])
    hub.stop()
    old = hub.tmp / "ids-old"
    shutil.copytree(hub.data_dir / "ids", old)
    hub.start()
    later = hub.send(*envs[10:])
    hub.kill9()
    shutil.rmtree(hub.data_dir / "ids")
    shutil.copytree(old, hub.data_dir / "ids")
    hub.start()
    assert ("STORE-IDS indexed the event ids of 20 log records that ids/ "
            "had not seen (after a crash, a lost ids/ or a restore)") in \
        hub.current_log(), hub.current_log()
    resent = hub.acks(*envs)
    assert [a.status for a in resent] == [hubtest.DUPLICATE] * 30
    assert [a.sequence for a in resent] == first + later


def test_delivery_count_survives_a_clean_stop_at_once(make_hub, clients):
    """PROTOCOL.md §4 item 5: a send after a restart carries the next
    number; only a crash may leave the count lower."""
    from test_53_delivery import hub53, anna_with_one_dropout
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 7105)
    a.hello()
    [x] = a.wait_alerts(1)
    assert x.delivery == 1
    hub.restart()
    c = clients(hub, "cw-anna")
    [z] = c.wait_alerts(1)
    assert z.delivery == 2, z


@pytest.mark.parametrize("how", ["restart", "kill9"])
def test_an_open_lists_stream_ends_with_a_hub_restart(make_hub, how):
    """OPERATIONS.md (web inbox): an open list whose session the hub
    ended (a hub restart among the causes) goes to /login?ended=1 within
    a few seconds: its stream ends and GET /session says left 0."""
    from test_71_web_live import open_events, read_until
    hub, cpr = anna_with_a_person(make_hub, 7106)
    web = Web(hub, events_poll=1)
    try:
        session = anna_session(web)
        head, s = open_events(web, session)
        assert " 200 " in head.split("\r\n")[0], head
        if how == "restart":
            hub.restart()
        else:
            hub.kill9()
            hub.start()
        t0 = time.monotonic()
        data = read_until(s, b"\r\n0\r\n\r\n", 20 * SLOW)
        took = time.monotonic() - t0
        s.close()
        assert data.endswith(b"0\r\n\r\n"), (data, took)
        assert took < 10, took
        r, body = web.request("GET", "/session", cookies=session)
        assert (r.status, body[:9]) == (200, '{"left":0'), (r.status, body)
    finally:
        web.stop()


def test_a_map_lowered_below_the_store_takes_the_files_length(make_hub):
    """OPERATIONS.md "Where data lives": lowering log_map_mb below what
    the log holds does not shrink it; the map is the file's own length
    (log_map_bytes = log_bytes in hubctl stats), no room to grow."""
    hub = make_hub()
    rows = [AbsenceRow(c) for c in CprGen(7107).take(4000)]
    path, _ = hub.csv("big.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.stop()
    st = hub.stats()
    assert st["log_bytes"] > 1 << 20, st
    with open(hub.conf, "a") as f:
        f.write("log_map_mb = 1\n")
    hub.start()
    st = hub.stats()
    print(st)
    assert st["log_map_bytes"] == st["log_bytes"], st


def test_an_ack_proved_stored_survives_kill9(make_hub, clients):
    """PROTOCOL.md §4 item 4: an answer to OPEN_ALERTS after the AlertAck
    without the alert proves the acknowledgement durable: a kill -9 right
    after it does not bring the alert back."""
    from test_53_delivery import hub53, anna_with_one_dropout, open_ids
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 7109)
    a.ack(aid)
    assert open_ids(a, 901) == []
    hub.kill9()
    hub.start()
    c = clients(hub, "cw-anna")
    assert open_ids(c, 902) == []
    time.sleep(2)
    assert c.alerts == []
    assert hub.stats()["alerts_open"] == 0


def an_ack_kept_in_memory(make_hub, clients, seed):
    """cw-anna's dropout alert acknowledged while log/ (log_map_mb = 1)
    is full: the ack is kept and retried (`HUB-DELIVER ack ... not stored
    yet`). (hub, cw-anna's client, the alert as first pushed)."""
    from test_53_delivery import (hub53, adults, until_refused,
                                  ev_dropout)
    hub = hub53(make_hub, settings={"log_map_mb": "1"})
    [p] = adults(seed, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-27"))
    hub.wait_applied()
    until_refused(hub, "kept")
    until_refused(hub, "kept-1", step=1)
    a = clients(hub, "cw-anna")
    [x] = a.wait_alerts(1)
    a.ack(x.alert_id)
    hub.wait_log(r"err HUB-DELIVER ack of alert [0-9a-f]{18} by cw-anna "
                 r"not stored yet: .*; retried every second")
    return hub, a, x


def test_acks_kept_at_a_stop_are_said_and_the_alert_comes_again(
        make_hub, clients):
    """PROTOCOL.md §4 item 4: an AlertAck the store cannot take is kept;
    a stop before it is written logs `HUB-DELIVER N acknowledgement(s)
    not stored at stop; their alerts stay open and are delivered again`
    (err), hubd exits 0, and the alert is open and sent again after the
    next start."""
    from test_53_delivery import open_ids
    hub, a, x = an_ack_kept_in_memory(make_hub, clients, 7110)
    a.close()
    hub.stop()
    log = hub.current_log()
    # The stop tries once more; LMDB may reuse pages the readers held.
    lost = re.search(r"\berr HUB-DELIVER 1 acknowledgement\(s\) not stored "
                     r"at stop; their alerts stay open and are delivered "
                     r"again", log)
    stored = re.search(r"HUB-ALERT-ACK alert %s acknowledged by cw-anna"
                       % x.alert_id.hex(), log)
    assert bool(lost) != bool(stored), log
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    hub.start()
    b = clients(hub, "cw-anna")
    if lost:
        [y] = b.wait_alerts(1)
        assert y.alert_id == x.alert_id and y.delivery >= 2, y
    else:
        assert open_ids(b, 903) == []


def test_a_rebuild_after_the_rules_changed_judges_by_the_new_rules(
        make_hub):
    """RULES.md §6: a replay judges by the rules hubd read at this start.
    A restart with a changed rules file replays nothing already applied
    (no alert about old events); a rebuild of derived state then judges
    the whole log by the new rules: a lowered threshold raises alerts the
    old rules did not, and the alerts the old ones raised stay."""
    import shutil
    base = {"absence.rolling.min_days": "0",
            "absence.quarter.enabled": "no", "combined.enabled": "no"}
    hub = make_hub(rules=dict(base, **{"absence.rolling.threshold_pct":
                                       "50"}))
    cprs = CprGen(7111).take(3)
    hub.absence_alerts("cw-anna", cprs[:2], "rules-change", absent=12,
                       expected=30)
    hub.absence_alerts("cw-anna", cprs[2:], "rules-change-hi", absent=20,
                       expected=30)
    hub.wait_stats("applied", lambda s: s["last_applied"] == s["last_seq"])
    assert hub.stats()["alerts"] == 1
    hub.stop()
    hub.write_rules(dict(base, **{"absence.rolling.threshold_pct": "80"}))
    hub.start()
    time.sleep(1)
    assert hub.stats()["alerts"] == 1
    hub.stop()
    hub.write_rules(dict(base, **{"absence.rolling.threshold_pct": "10"}))
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    st = hub.wait_stats("rebuilt, the new rules' alerts raised",
                        lambda s: s["last_applied"] == s["last_seq"] and
                        s["alerts"] == 3)
    assert st["alerts_open"] == 3, st
    got = hub.peek("cw-anna", 3)
    assert sorted(a["cpr"] for a in got) == sorted(cprs), got




def test_a_backup_killed_mid_copy_is_refused_and_can_be_taken_again(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: a backup cut short (hubctl
    killed) has no manifest.json: restore refuses it, and a backup into
    the same DIR is refused as not empty; delete DIR and take it again."""
    import shutil
    import signal
    hub = make_hub()
    rows = [AbsenceRow(c) for c in CprGen(7114).take(3000)]
    path, _ = hub.csv("big.csv", rows)
    assert hub.adapter("import", path).rc == 0
    dest = tmp_path / "backup"
    for attempt in range(20):
        p = subprocess.Popen([binary("hubctl"), "--config", str(hub.conf),
                              "backup", str(dest)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while p.poll() is None and not (dest / "derived" /
                                        "data.mdb").exists():
            pass
        p.send_signal(signal.SIGKILL)
        p.communicate()
        if p.returncode == -signal.SIGKILL and dest.exists() and \
                not (dest / "manifest.json").exists():
            break
        shutil.rmtree(dest, ignore_errors=True)
    else:
        pytest.skip("could not kill hubctl backup mid-copy")
    r = hub.hubctl("backup", str(dest), check=False)
    assert (r.returncode, r.stderr.strip()) == (
        1, f"hubctl: backup: {dest} is not empty"), r
    target = tmp_path / "restored"
    r = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "--data_dir", str(target), "restore", str(dest)],
                       capture_output=True, text=True)
    assert (r.returncode, r.stderr.strip()) == (
        1, f"hubctl: restore: {dest}/manifest.json is missing or "
        "unreadable: not a backup made by hubctl backup"), r
    shutil.rmtree(dest)
    r = hub.hubctl("backup", str(dest))
    assert r.stdout.startswith(f"backup in {dest}: log up to sequence "
                               "3000 (3000 events)"), r.stdout


def test_a_resend_after_a_restart_and_a_narrower_registration(make_hub):
    """PROTOCOL.md §3 step 4: a resend of a stored event is DUPLICATE
    with its sequence whatever would refuse it now, the agency no longer
    registered for its type included; across a restart too."""
    hub = make_hub()
    env = envelope("school-a", CprGen(7115).next(), salt="narrow")
    [seq] = hub.send(env)
    hub.kill9()
    key = hub.keys_dir / "school-a.key"
    hub.hubctl("register-agency", "school-a", "--types", "dropout",
               "--key", str(key))
    hub.start()
    [ack] = hub.acks(env)
    assert (ack.status, ack.sequence) == (hubtest.DUPLICATE, seq), ack
    other = envelope("school-a", CprGen(7116).next(), salt="narrow-2")
    [ack] = hub.acks(other)
    assert (ack.status, ack.code) == (hubtest.REJECTED, hubtest.E_DENIED), ack


def under_boot_id(boot, argv, tmp):
    """argv run in a mount namespace whose kernel boot id reads `boot`
    (None: an empty file, a boot id that cannot be read)."""
    fake = tmp / "boot_id"
    fake.write_text("" if boot is None else boot + "\n")
    return subprocess.run(
        ["unshare", "-m", "sh", "-c",
         'mount --bind "$0" /proc/sys/kernel/random/boot_id && exec "$@"',
         str(fake), *argv], capture_output=True, text=True, timeout=60)


def test_ids_are_rebuilt_after_the_machine_restarted(make_hub, tmp_path):
    """OPERATIONS.md "Store format": the first hubd or hubctl to open the
    store after the machine started again (another kernel boot id than
    the one in log/) empties ids/ and indexes the whole log anew, logging
    `STORE-IDS the machine has restarted since ids/ was last checked:
    rebuilding the event-id index from the log` first (hubctl prints it
    and the indexed line after `hubctl: `); resends stay
    DUPLICATE. A process that cannot read the boot id says so at every
    open (warn) and rebuilds nothing."""
    if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("no mount namespaces here")
    hub = make_hub()
    envs = [envelope("school-a", c, salt=f"boot-{i}")
            for i, c in enumerate(CprGen(7117).take(12))]
    first = hub.send(*envs)
    hub.stop()
    hubctl = [binary("hubctl"), "--config", str(hub.conf), "stats"]
    r = under_boot_id("11111111-2222-3333-4444-555555555555", hubctl,
                      tmp_path)
    assert r.returncode == 0, r.stderr
    said = ("STORE-IDS the machine has restarted since ids/ was last "
            "checked: rebuilding the event-id index from the log")
    # hubctl logs warnings only, but says these as it says STORE-UPGRADED.
    assert f"hubctl: {said}\n" in r.stderr, r.stderr
    assert "hubctl: STORE-IDS indexed the event ids of 12 log records" in \
        r.stderr.split(said, 1)[1], r.stderr
    # The same boot again: nothing more to rebuild.
    r = under_boot_id("11111111-2222-3333-4444-555555555555", hubctl,
                      tmp_path)
    assert "STORE-IDS" not in r.stderr, r.stderr
    r = under_boot_id(None, hubctl, tmp_path)
    assert r.returncode == 0, r.stderr
    assert ("STORE-IDS cannot read the kernel's boot id: ids/ is not "
            "rebuilt after a restart of the machine (delete data_dir/ids "
            "after an OS crash)") in r.stderr, r.stderr
    assert "indexed" not in r.stderr, r.stderr
    # hubd on the real boot id: another boot than the one recorded.
    hub.start()
    log = hub.current_log()
    assert said in log and "STORE-IDS indexed the event ids of 12 log " \
        "records" in log, log
    resent = hub.acks(*envs)
    assert [a.status for a in resent] == [hubtest.DUPLICATE] * 12
    assert [a.sequence for a in resent] == first


def test_a_kill9_during_the_starts_replay_goes_on_from_there(make_hub):
    """ARCHITECTURE.md "Crash and restart": kill -9 at any moment, also
    during the start's replay of a whole log: the next start replays
    what is left (HUB-REPLAY applying log entries K..N), each alert is
    kept once."""
    import shutil
    from test_04_restart import cohort, check_alerts_once
    hub = make_hub()
    rows, alerted = cohort(7118, 6000, every=50)
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("applied", lambda s: s["last_applied"] == 6000)
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start(wait=False)
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.6000 ")
    time.sleep(0.3)
    hub.kill9()
    applied = hub.stats()["last_applied"]
    hub.start()
    log = hub.current_log()
    if applied < 6000:
        assert f"HUB-REPLAY applying log entries {applied + 1}..6000 to " \
            "derived state" in log, log
    st = hub.wait_stats("replayed", lambda s: s["last_applied"] == 6000)
    assert st["alerts"] == len(alerted), st
    check_alerts_once(hub, alerted)


def test_events_while_hubd_is_down_are_503(make_hub):
    """OPERATIONS.md (web inbox): GET /events is 503 when hubd does not
    answer; once hubd is back the session it held is gone: 401."""
    from test_71_web_live import open_events
    hub, cpr = anna_with_a_person(make_hub, 7119)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hub.stop()
        head, s = open_events(web, session)
        s.close()
        assert head.split("\r\n")[0].split()[1] == "503", head
        hub.start()
        # webd answers 503 until its own connection to hubd is back (a
        # moment on a loaded machine, with its 1-s timeout); then 401.
        deadline = time.monotonic() + 15
        while True:
            head, s = open_events(web, session)
            s.close()
            status = head.split("\r\n")[0].split()[1]
            if status != "503" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert status == "401", head
    finally:
        web.stop()


def test_a_hubd_restart_clears_a_login_lock(make_hub):
    """SECURITY.md, web logins: the limits live in hubd's memory; a
    restart of hubd clears them (a locked id logs in again at once), a
    restart of webd changes nothing."""
    from test_70_web import web_hub, PASSWORD
    hub = web_hub(make_hub, settings={"login_failures_max": "2"})
    web = Web(hub)
    try:
        for _ in range(2):
            r, _ = web.raw_login("cw-anna", "wrong-password-1")
            assert r.status == 401, r.status
        r, _ = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 429, r.status
        web.stop()
        web = Web(hub)
        r, _ = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 429, r.status
        hub.restart()
        r, _ = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 303, r.status
    finally:
        web.stop()


def test_hub_stop_counts_the_sessions_ended_while_it_ran(make_hub, clients):
    """OPERATIONS.md, Caseworker connections: HUB-STOP logs `sessions
    reclaimed`, every session ended while hubd ran, whatever ended it,
    not those still open at the stop."""
    from test_53_delivery import hub53
    hub = hub53(make_hub)
    a = clients(hub, "cw-anna")
    b = clients(hub, "cw-anna")
    c = clients(hub, "cw-anna")
    for x in (a, b, c):
        assert x.welcome().code == hubtest.OK
    c.close()
    hub.wait_log(r"HUB-SESSION session of cw-anna ended: its connection "
                 r"closed")
    hub.stop()
    m = re.search(r"HUB-STOP .*sessions reclaimed (\d+)", hub.current_log())
    assert m and m.group(1) == "1", hub.current_log()


def test_an_adapter_says_it_lost_the_hub_and_resends(hub):
    """ADAPTERS.md, log ids: ADP-CONNECT (notice) when the connection is
    lost, and when it is made again and what was in flight is resent;
    every event is stored once."""
    rows = [AbsenceRow(c) for c in CprGen(7120).take(1500)]
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, window=1, timeout=60) as adapter:
        hub.wait_stats("some events stored",
                       lambda s: s["log_events"] >= 50)
        hub.kill9()
        time.sleep(0.5)
        hub.start()
        r = hub.adapter_finish(adapter, wait=120)
    assert r.rc == 0, str(r)
    assert re.search(r"notice ADP-CONNECT lost the connection to tcp://",
                     r.stderr), r.stderr
    assert re.search(r"notice ADP-CONNECT reconnected to tcp://\S+; "
                     r"resending what is in flight", r.stderr), r.stderr
    st = hub.wait_stats("applied",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert (st["log_events"], st["event_ids"]) == (1500, 1500)


def test_stay_logged_in_while_hubd_is_down_and_after(make_hub):
    """OPERATIONS.md (web inbox): POST /session is 503 when hubd does not
    answer (the warning stays), and 401 with the cookie cleared once the
    hub has ended the session (a hub restart)."""
    hub, cpr = anna_with_a_person(make_hub, 7121)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        page = web.request("GET", "/alerts", cookies=session)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        hub.stop()
        r, _ = web.request("POST", "/session", {"csrf": csrf},
                           cookies=session)
        assert r.status == 503, r.status
        hub.start()
        r, _ = web.request("POST", "/session", {"csrf": csrf},
                           cookies=session)
        assert r.status == 401, r.status
        cleared = [c for c in r.headers.get_all("Set-Cookie") or []
                   if c.startswith("ug_session=")]
        assert cleared and ("Max-Age=0" in cleared[0] or
                            "ug_session=;" in cleared[0]), cleared
    finally:
        web.stop()


def test_hubd_killed_and_restarted_while_a_backup_runs(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: hubctl backup takes a hot,
    consistent copy while hubd runs (it takes no lock); hubd killed and
    started again meanwhile changes nothing: every event acked before
    the backup began is in the copy, which restores."""
    hub = make_hub()
    rows = [AbsenceRow(c) for c in CprGen(7122).take(6000)]
    path, _ = hub.csv("big.csv", rows)
    assert hub.adapter("import", path).rc == 0
    dest = tmp_path / "backup"
    p = subprocess.Popen([binary("hubctl"), "--config", str(hub.conf),
                          "backup", str(dest)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    hub.kill9()
    hub.start()
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert out.startswith(f"backup in {dest}: log up to sequence 6000 "
                          "(6000 events)"), out
    hub.stop()
    target = tmp_path / "restored"
    r = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "--data_dir", str(target), "restore", str(dest)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"restored from {dest}: log up to sequence "
                               "6000 (6000 events)"), r.stdout


def test_a_refused_rules_file_stops_the_start_after_a_crash(make_hub):
    """RULES.md §10 / OPERATIONS.md, Rules: a rules file a SIGHUP refused
    and left as it is stops the next start, after a crash too: exit 2,
    HUB-START cannot start naming the file and line, before the store
    is opened (nothing replayed)."""
    import signal
    hub = make_hub()
    rules = hub.tmp / "rules.conf"
    bad_line = len(rules.read_text().splitlines()) + 1
    rules.write_text(rules.read_text() + "absence.rolling.treshold = 40\n")
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"err HUB-RELOAD rules not reloaded")
    hub.kill9()
    hub.start(wait=False)
    assert hub._reap(20) == 2
    hub.stopped_cleanly = True
    log = hub.current_log()
    assert f"HUB-START cannot start: absence.rolling.treshold: {rules}:" \
        f"{bad_line}: unknown rule setting 'absence.rolling.treshold'" \
        in log, log
    assert "HUB-REPLAY" not in log and "HUB-READY" not in log, log


def test_a_log_put_back_from_an_older_copy_beside_newer_ids(make_hub):
    """ARCHITECTURE.md, Crash and restart: derived state is never trusted
    beyond the log (ahead: HUB-REBUILD); the event-id index neither: an
    id the put-back log no longer holds is ACCEPTED again, as a new
    event, and one it holds is DUPLICATE with its sequence."""
    import shutil
    hub = make_hub()
    envs = [envelope("school-a", c, salt=f"older-{i}")
            for i, c in enumerate(CprGen(7123).take(20))]
    first = hub.send(*envs[:10])
    hub.stop()
    old = hub.tmp / "log-old"
    shutil.copytree(hub.data_dir / "log", old)
    hub.start()
    hub.send(*envs[10:])
    hub.wait_applied()
    hub.stop()
    shutil.rmtree(hub.data_dir / "log")
    shutil.copytree(old, hub.data_dir / "log")
    hub.start()
    log = hub.current_log()
    assert "HUB-REBUILD derived state is ahead of the log (" in log, log
    acks = hub.acks(*envs)
    assert [a.status for a in acks[:10]] == [hubtest.DUPLICATE] * 10, acks
    assert [a.sequence for a in acks[:10]] == first
    assert [a.status for a in acks[10:]] == [hubtest.ACCEPTED] * 10, acks
    assert sorted(a.sequence for a in acks[10:]) == list(range(11, 21))
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == (20, 20), st


def test_a_frozen_hub_is_waited_for_and_nothing_is_doubled(hub):
    """ADAPTERS.md, log ids: events unanswered for 10 s are sent again
    after their backoff (ADP-LATE); a hub frozen for a while (SIGSTOP)
    and thawed stores every event once, the resends DUPLICATE."""
    import signal
    rows = [AbsenceRow(c) for c in CprGen(7124).take(800)]
    path, _ = hub.csv("term.csv", rows)
    with hub.adapter_running("import", path, window=1, timeout=60) as adapter:
        hub.wait_stats("some events stored",
                       lambda s: s["log_events"] >= 50)
        hub.proc.send_signal(signal.SIGSTOP)
        time.sleep(12)
        hub.proc.send_signal(signal.SIGCONT)
        r = hub.adapter_finish(adapter, wait=120)
    assert r.rc == 0, str(r)
    assert "ADP-LATE" in r.stderr, r.stderr
    assert r.summary["accepted"] + r.summary["duplicates"] == 800, r.summary
    st = hub.wait_stats("applied",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert (st["log_events"], st["event_ids"]) == (800, 800), st


def test_what_a_slow_hub_answers_too_late_may_still_be_done(make_hub):
    """OPERATIONS.md (web inbox): a request hubd does not answer within
    hub_timeout is 503 "Hubben svarer ikke lige nu."; only one made while
    hubd is down is sure not to happen. One that reached a hub too slow
    to answer (here: frozen) is done when it gets to it: the action is
    recorded (sent again, it is stored once) and the acknowledgement
    stored (sent again, the alert is no longer open: 404), and a login
    opens a session the browser never got."""
    import signal
    from test_70_web import PASSWORD
    hub, cpr = anna_with_a_person(make_hub, 7125)
    web = Web(hub, hub_timeout=1)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "slow")
        pre, login_csrf = web.login_form()
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            r, _ = web.request("POST", "/login",
                               {"csrf": login_csrf, "caseworker": "cw-anna",
                                "password": PASSWORD},
                               cookies={"ug_pre": pre})
            assert r.status == 503, r.status
            for what, form in (("action", {"kind": "contact",
                                           "how": "telefon"}),
                               ("ack", {})):
                r, page = web.request("POST", f"/alert/{hexid}/{what}",
                                      dict(form, csrf=csrf),
                                      cookies=session)
                assert r.status == 503 and \
                    "Hubben svarer ikke lige nu." in page, (what, r.status)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: alerts_listed(web, session) == [], 10,
                 "the acknowledgement done after all", interval=0.3)
        r, page = web.request("POST", f"/alert/{hexid}/ack",
                              {"csrf": csrf}, cookies=session)
        assert r.status == 404, r.status
        r, _ = web.request("POST", f"/alert/{hexid}/action",
                           {"csrf": csrf, "kind": "contact",
                            "how": "telefon"}, cookies=session)
        assert r.status in (200, 303), r.status
    finally:
        web.stop()
    hub.settle()

    def actions():
        return re.findall(r"action +ok", hub.hubctl(
            "audit", "show", "--actor", "cw-anna").stdout)
    wait_for(lambda: actions(), 10, "the action audited", interval=0.3)
    # The login hubd got to: a session of its own, the browser never got
    # (login records are written within a second).
    wait_for(lambda: len(re.findall(r"login +ok", hub.hubctl(
        "audit", "show", "--actor", "cw-anna").stdout)) == 2, 10,
        "the late login audited", interval=0.3)
    st = hub.stats()
    assert st["alerts_open"] == 0, st


def test_hubctl_says_it_indexed_a_lost_ids(make_hub):
    """OPERATIONS.md "Store format": hubd or hubctl indexes what ids/ had
    not seen when it opens the store; hubctl prints the notice after
    `hubctl: ` on stderr (a lost ids/, not only the machine's restart)."""
    hub = make_hub()
    envs = [envelope("school-a", c, salt=f"lost-{i}")
            for i, c in enumerate(CprGen(7118).take(5))]
    hub.send(*envs)
    hub.stop()
    shutil.rmtree(hub.data_dir / "ids")
    p = hub.hubctl("stats", check=False)
    assert p.returncode == 0, p.stderr
    assert ("hubctl: STORE-IDS indexed the event ids of 5 log records "
            "that ids/ had not seen") in p.stderr, p.stderr
    p = hub.hubctl("stats", check=False)
    assert "STORE-IDS" not in p.stderr, p.stderr
