"""131 durability and recovery, fifth round: hubd killed at the moments
ARCHITECTURE.md, OPERATIONS.md, PROTOCOL.md and SECURITY.md name,
checked from outside against what those docs promise."""

import json
import re
import shutil
import subprocess
import time

import pytest

from hubtest import (ACCEPTED, DUPLICATE, OK, SLOW, AbsenceRow, CprGen,
                     IngestClient, envelope, frame, send_all_accepted,
                     strace_env)

from test_53_delivery import (adults, anna_with_one_dropout,  # noqa: F401
                              clients, ev_dropout, hub53, next_result,
                              open_ids, sentinel)
from test_07_recovery2 import an_ack_kept_in_memory
from test_98_architecture import thread_comms, traced_calls


def ack_records(hub, alert_id):
    shown = hub.hubctl("audit", "show", "--json").stdout
    return [r for r in map(json.loads, shown.splitlines())
            if r["action"] == "ack" and alert_id.hex() in json.dumps(r)]


def test_an_ack_kept_in_memory_is_lost_by_a_kill9_and_sent_again(
        make_hub, clients):  # noqa: F811
    """PROTOCOL.md §4 item 4: an AlertAck the store cannot take is kept
    and retried; "a crash loses it without a word, and either way its
    alert is open after the next start and sent again". SECURITY.md,
    What a crash can lose: an acknowledgement and its `ack` record are
    one transaction, "a crash keeps both or neither". hubd killed while
    the ack waits: the killed run says nothing of it at stop, and after
    the start (the map raised) the alert is open and pushed again (its
    `delivery` at most 2), with no `ack` record; or, when a retry got it in just
    before the kill, it is closed and audited once."""
    hub, a, x = an_ack_kept_in_memory(make_hub, clients, 13101)
    assert x.delivery == 1, x
    hub.kill9()
    a.close()
    killed = hub.current_log()
    assert "not stored at stop" not in killed, killed
    assert "HUB-STOP" not in killed, killed
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    st = hub.stats()
    stored = re.search(r"HUB-ALERT-ACK alert %s acknowledged by cw-anna"
                       % x.alert_id.hex(), killed)
    if st["alerts_open"] == 1:
        assert not stored, killed
        assert ack_records(hub, x.alert_id) == []
        hub.start()
        b = clients(hub, "cw-anna")
        [y] = b.wait_alerts(1)
        # §4 item 5: the count is written in the background (here into
        # the full map), so after a crash it "may be lower than the real
        # number of deliveries, never higher": 2 deliveries so far.
        assert y.alert_id == x.alert_id and 1 <= y.delivery <= 2, y
        b.ack(y.alert_id)
        assert open_ids(b, 904) == []
        [rec] = ack_records(hub, x.alert_id)
    else:
        assert st["alerts_open"] == 0, st
        [rec] = ack_records(hub, x.alert_id)
        hub.start()
        b = clients(hub, "cw-anna")
        assert open_ids(b, 903) == []
    assert hub.stats()["alerts_open"] == 0



def traced_while(hub, steps):
    """Run each step (a callable) with strace on hubd; returns the
    hubd threads' names and, per step, the calls traced while it ran
    (test_98's reading of strace -ff: tid, start, end, name, fd path)."""
    prefix = hub.tmp / "trace"
    st = subprocess.Popen(
        ["strace", "-f", "-ff", "-qq", "-ttt", "-T", "-yy",
         "-e", "trace=fdatasync,fsync,pwrite64,pwritev,writev,write,"
               "sendto,sendmsg",
         "-o", str(prefix), "-p", str(hub.proc.pid)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=strace_env())
    spans = []
    try:
        time.sleep(1.0 * SLOW)      # attached to every thread
        comms = thread_comms(hub.proc.pid)
        for step in steps:
            t0 = time.time()
            step()
            spans.append((t0, time.time()))
        # A call still under way when strace detaches is cut off
        # (`<detached ...>`) and not read: let the last send finish.
        time.sleep(0.3 * SLOW)
    finally:
        st.terminate()
        st.wait(timeout=20)
    calls = traced_calls(prefix)
    return comms, [[c for c in calls if lo <= c[1] <= hi]
                   for lo, hi in spans]


def test_an_action_is_answered_and_an_alert_pushed_only_once_synced(
        make_hub, clients):  # noqa: F811
    """PROTOCOL.md, Action item 4: "`OK` once the action is durably
    stored: ... in a synchronous transaction ... and answers only after
    the commit"; ARCHITECTURE.md, The life of one event, 7-8: alerts are
    committed (synced), and a connected caseworker is sent the alert
    then. Traced on the running hubd: the Result's bytes, and the
    Alert's, leave on the delivery connection after the fdatasync of
    log/data.mdb that holds them (and LMDB's meta page written after
    it), the alert's sync not the ingest writer's."""
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    hub = hub53(make_hub)
    p, a, aid = anna_with_one_dropout(hub, clients, 13103)
    [q] = adults(13104, 1)
    hub.assign(q, "cw-anna")
    got = {}

    def act():
        got["result"] = next_result(a, lambda: a.send(9, a.m.Action(
            request_id=7, alert_id=aid, kind=a.m.CONTACT_MADE,
            how="phone")))

    def raise_one():
        hub.send(ev_dropout(q, "2026-10-27"))
        a.wait(lambda: [x for x in a.alerts if x.cpr == q], 15,
               "the new dropout's alert")
    a.hello()
    a.wait_alerts(1)
    comms, (acting, raising) = traced_while(hub, [act, raise_one])
    assert got["result"].code == OK, got["result"]
    log_file = str(hub.data_dir / "log" / "data.mdb")
    port = hub.delivery.rsplit(":", 1)[1]

    def sends(calls):
        return [c for c in calls if c[3] in ("sendto", "sendmsg", "write",
                                             "writev")
                and c[4].startswith(f"TCP:[127.0.0.1:{port}->")]

    def log_syncs(calls):
        return [c for c in calls if c[3] in ("fdatasync", "fsync")
                and c[4] == log_file]

    def log_writes(calls):
        return [c for c in calls if c[4] == log_file
                and c[3] in ("pwrite64", "pwritev", "writev", "write")]
    for what, calls in (("the action's Result", acting),
                        ("the alert", raising)):
        out = sends(calls)
        assert out, f"{what}: nothing sent on delivery: {calls}"
        sent = out[-1][1]
        synced = [c for c in log_syncs(calls) if c[2] <= sent
                  and comms.get(c[0]) != "hubd-writer"]
        assert synced, f"{what} left at {sent} before a sync of the log " \
            f"that holds it: {log_syncs(calls)}"
        assert all(c[2] <= sent for c in log_syncs(calls)
                   if c[1] <= sent), (what, log_syncs(calls), sent)
        # LMDB's meta page, written by the committing thread after its
        # fdatasync, is down before the send too. (libzmq's I/O thread
        # sends; the committing thread may meanwhile write the next
        # transaction, which holds nothing of this one.)
        tid, synced_at = synced[-1][0], synced[-1][2]
        meta = [c for c in log_writes(calls)
                if c[0] == tid and c[1] >= synced_at]
        assert meta and meta[0][2] <= sent, (what, log_writes(calls), sent)



def test_hubd_killed_during_a_rebuild_goes_on_and_keeps_each_alert_once(
        make_hub, clients):  # noqa: F811
    """OPERATIONS.md, Store format, after an OS crash: delete derived/
    and start hubd; it replays the whole log (`HUB-REPLAY applying log
    entries 1..N to derived state`) and "the alerts it raises again are
    the ones already stored, kept once; acknowledged ones stay
    acknowledged, and nothing acked is lost". ARCHITECTURE.md, Crash and
    restart, "kill -9 at any moment": here hubd is killed during that
    rebuild, a few times; each start replays from what `hubctl stats`
    shows applied (`HUB-REPLAY applying log entries L+1..N`), and at the
    end the derived state counts what it counted before (no person entry
    twice, the same timers), the alerts are those stored, the acked one
    still acked, the open ones delivered."""
    hub = hub53(make_hub)
    adults_ = adults(13106, 3)
    minor = CprGen(13107).born("2010-05-05")
    for cpr in adults_ + [minor]:
        hub.assign(cpr, "cw-anna")
    hub.send(*[ev_dropout(c, "2026-10-27") for c in adults_[:2]])
    hub.cprs.add(hub.SENTINEL_CPR)
    send_all_accepted(hub, [frame(sentinel(i, "rb")) for i in range(12000)])
    hub.send(ev_dropout(adults_[2], "2026-10-28"),
             ev_dropout(minor, "2026-10-28"))
    before = hub.wait_applied()
    assert (before["alerts"], before["alerts_open"]) == (4, 4), before
    assert before["timers"] > 0, before
    a = clients(hub, "cw-anna")
    first = a.wait_alerts(4)[0]
    a.ack(first.alert_id)
    assert first.alert_id not in open_ids(a, 910)
    a.close()
    # The reference is an uninterrupted rebuild: the acked alert's
    # deadline timer stays stored until it falls due, and a rebuild
    # schedules none for it (RULES.md §6, "an acknowledged alert has no
    # deadline left"), so `timers` is one less after any rebuild.
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_applied()
    hub.stop()
    before = hub.stats()
    n = before["last_seq"]
    shutil.rmtree(hub.data_dir / "derived")
    applied = 0
    for kill in range(3):
        hub.start(wait=False)
        hub.wait_log(rf"HUB-REPLAY applying log entries {applied + 1}\.\."
                     rf"{n} to derived state", count=1)
        time.sleep(0.15 * kill)
        if "HUB-READY" in hub.current_log():
            break           # a fast machine: the replay ended first
        hub.kill9()
        st = hub.stats()
        assert applied <= st["last_applied"] <= n, (applied, st)
        assert st["person_index_entries"] == st["last_applied"] or \
            st["last_applied"] == n, st
        applied = st["last_applied"]
    if hub.proc is None:
        hub.start()
        if applied < n:
            assert f"HUB-REPLAY applying log entries {applied + 1}..{n} " \
                "to derived state" in hub.current_log(), hub.current_log()
    after = hub.wait_applied()
    for key in ("log_events", "last_seq", "alerts", "alerts_open",
                "person_index_entries", "timers", "assignments"):
        assert after[key] == before[key], (key, before, after)
    b = clients(hub, "cw-anna")
    got = b.wait_alerts(3)
    assert first.alert_id not in {x.alert_id for x in got}
    assert len(open_ids(b, 920)) == 3



def test_events_lost_by_a_restore_come_back_by_the_runbook_each_once(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore, "events acked since": with the
    outbox moved aside, import the exports made since the backup into a
    new one (the hub answers DUPLICATE for what it holds and takes the
    lost ones), "Then run one `flush` with `outbox` set to the old
    directory: it sends what that outbox still held that no export gave
    again (the rest is answered DUPLICATE)". Here the old outbox still
    holds two exports queued while hubd was down: one imported again
    (DUPLICATE from the old outbox), one whose file is gone (stored by
    that flush). Each event ends stored once."""
    hub = make_hub()
    weeks = [("2024-05-06", "2024-05-10"), ("2024-05-13", "2024-05-17"),
             ("2024-05-20", "2024-05-24"), ("2024-05-27", "2024-05-31")]
    cprs = CprGen(13108).take(3)
    files = [hub.csv(f"week{i + 1}.csv", [
        AbsenceRow(c, period_start=a, period_end=b) for c in cprs])[0]
        for i, (a, b) in enumerate(weeks)]
    w1, w2, w3, w4 = files
    assert hub.adapter("import", w1).summary["accepted"] == 3
    held = hub.stats()["log_events"]
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    assert hub.adapter("import", w2).summary["accepted"] == 3
    hub.stop()
    for f in (w3, w4):
        r = hub.adapter("import", f, timeout=0)
        assert (r.rc, r.summary["queued"]) == (2, 3), r
    assert r.summary["pending"] == 6, r.summary
    w4.unlink()             # that export is not kept
    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    hub.hubctl("restore", str(backup))
    hub.start()
    assert hub.stats()["log_events"] == held
    old_outbox = tmp_path / "outbox-before-restore"
    shutil.move(hub.outbox_dir(), old_outbox)
    again = hub.adapter("import", w1, w2, w3)
    assert (again.rc, again.summary["accepted"], again.summary["duplicates"],
            again.summary["pending"]) == (0, 6, 3, 0), again
    old = hub.adapter("flush", outbox=old_outbox)
    assert (old.rc, old.summary["accepted"], old.summary["duplicates"],
            old.summary["pending"]) == (0, 3, 3, 0), old
    st = hub.wait_applied()
    assert st["log_events"] == held + 9, st
    assert st["person_index_entries"] == st["log_events"], st
    assert hub.adapter("flush", outbox=old_outbox).summary["accepted"] == 0



def answers(hub, envs):
    with IngestClient(hub, "school-a") as cli:
        return [(a.status, a.sequence) for a in
                (cli.ack_for(frame(e)) for e in envs)]


def test_a_log_restored_alone_from_an_older_copy_beside_newer_ids(
        make_hub, tmp_path):
    """ARCHITECTURE.md, ids/: "an entry counts only while the log still
    holds its record with that id (... a log restored alone from an
    older copy)", and Crash and restart: derived state ahead of the log
    is dropped and rebuilt (`HUB-REBUILD derived state is ahead of the
    log (N > M); rebuilding it`). log/data.mdb put back from a copy
    taken before five more events, ids/ and derived/ left as they were:
    those five are lost, so their resend is ACCEPTED anew (behind two
    new events, under other sequences than ids/ remembers), then
    DUPLICATE with the new sequence, also after a restart; each event
    held once (PROTOCOL.md §3: an id is ACCEPTED at most once while the
    hub holds its event)."""
    hub = make_hub()
    cprs = CprGen(13111).take(12)
    hub.cprs.update(cprs)
    held, lost, new = (
        [envelope("school-a", c, salt=f"{tag}{i}") for i, c in
         enumerate(part)]
        for tag, part in (("a", cprs[:5]), ("b", cprs[5:10]),
                          ("c", cprs[10:])))
    assert answers(hub, held) == [(ACCEPTED, s) for s in range(1, 6)]
    hub.stop()
    shutil.copy(hub.data_dir / "log" / "data.mdb", tmp_path / "old.mdb")
    hub.start()
    assert answers(hub, lost) == [(ACCEPTED, s) for s in range(6, 11)]
    hub.stop()
    shutil.copy(tmp_path / "old.mdb", hub.data_dir / "log" / "data.mdb")
    hub.start()
    assert "warn HUB-REBUILD derived state is ahead of the log (10 > 5); " \
        "rebuilding it" in hub.current_log(), hub.current_log()
    assert hub.stats()["log_events"] == 5
    assert answers(hub, new) == [(ACCEPTED, 6), (ACCEPTED, 7)]
    assert answers(hub, lost) == [(ACCEPTED, s) for s in range(8, 13)]
    assert answers(hub, lost + held) == \
        [(DUPLICATE, s) for s in list(range(8, 13)) + list(range(1, 6))]
    hub.restart()
    assert answers(hub, lost) == [(DUPLICATE, s) for s in range(8, 13)]
    st = hub.wait_applied()
    assert (st["log_events"], st["event_ids"], st["person_index_entries"]) \
        == (12, 12, 12), st



def an_alert_with_anna_then_stopped(make_hub, seed):
    """A person assigned to cw-anna, a dropout that raised her alert,
    hubd stopped: (hub, cpr, alert)."""
    hub = hub53(make_hub)
    [p] = adults(seed, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-27"))
    [alert] = hub.peek("cw-anna", 1)
    hub.stop()
    return hub, p, alert


def test_hubctl_first_on_a_log_restored_alone_leaves_nothing_unapplied(
        make_hub, tmp_path):
    """ARCHITECTURE.md, Crash and restart: "Derived state is never
    trusted beyond the log: if it is ahead (log restored from an older
    backup) it is dropped and rebuilt". log/data.mdb put back alone from
    an older copy, and a `hubctl assign` run before hubd starts: its
    record takes the log's next sequence, one derived/ had counted as
    applied (a lost event's). The first program to open the store throws
    derived/ away (hubctl says so on stderr), hubd's start replays the
    whole log, and the reassignment is applied: the person's open alert
    follows the new contact person (RULES.md §7), kept once. Before,
    hubd's start saw derived/ no longer ahead, replayed nothing of it and
    the alert stayed with the old one."""
    hub, p, alert = an_alert_with_anna_then_stopped(make_hub, 13113)
    shutil.copy(hub.data_dir / "log" / "data.mdb", tmp_path / "old.mdb")
    old = hub.stats()["last_seq"]
    hub.start()
    hub.cprs.add(hub.SENTINEL_CPR)
    send_all_accepted(hub, [frame(sentinel(i, "gone")) for i in range(5)])
    assert hub.wait_applied()["last_applied"] == old + 5
    hub.stop()
    shutil.copy(tmp_path / "old.mdb", hub.data_dir / "log" / "data.mdb")
    r = hub.hubctl("assign", "--cpr", p, "--caseworker", "cw-bob",
                   "--from", "2026-10-28", check=False)
    assert (r.returncode, r.stdout, r.stderr) == (
        0, "assigned to cw-bob from 2026-10-28\n",
        f"hubctl: derived state is ahead of the log ({old + 5} > {old}): "
        "thrown away; hubd rebuilds it from the log at its next start\n"), r
    hub.start()
    log = hub.current_log()
    assert f"HUB-REPLAY applying log entries 1..{old + 1} to derived " \
        "state" in log, log
    st = hub.wait_applied()
    assert (st["last_applied"], st["alerts"], st["alerts_open"]) == \
        (old + 1, 1, 1), st
    [moved] = hub.peek("cw-bob", 1)
    assert (moved["alert_id"], moved["recipient"]) == \
        (alert["alert_id"], "cw-bob"), moved
    hub.peek("cw-anna", 0)


def test_a_rebuild_moves_an_alert_by_an_assignment_applied_in_it(make_hub):
    """OPERATIONS.md, Store format, after an OS crash: delete derived/,
    start hubd, it replays the whole log, "the rules and the timers";
    the alerts raised again are the ones stored, kept once. RULES.md §7:
    a person's open alerts follow the contact person. A `hubctl assign`
    hubd had not applied yet (hubd stopped, or an OS crash right after
    it) is applied by the rebuild in the same chunk as the event that
    raised the alert: the alert, kept as stored with the old contact
    person, moves to the new one. Before, the person's alert list read
    outside the chunk's transaction lacked it, and it stayed with the
    old contact person for good."""
    hub, p, alert = an_alert_with_anna_then_stopped(make_hub, 13114)
    hub.hubctl("assign", "--cpr", p, "--caseworker", "cw-bob", "--from",
               "2026-10-28")
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    st = hub.wait_applied()
    assert (st["last_applied"], st["alerts"], st["alerts_open"]) == \
        (3, 1, 1), st
    assert f"HUB-REROUTE alert {alert['alert_id']} moved to cw-bob" in \
        hub.current_log(), hub.current_log()
    [moved] = hub.peek("cw-bob", 1)
    assert (moved["alert_id"], moved["recipient"]) == \
        (alert["alert_id"], "cw-bob"), moved
    hub.peek("cw-anna", 0)
