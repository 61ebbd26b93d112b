"""122 durability and recovery, fourth round: hubd, inbox and hubctl
killed at the moments ARCHITECTURE.md, OPERATIONS.md and PROTOCOL.md
name, checked from outside against what those docs promise."""

import json
import re
import os
import shutil
import signal
import subprocess

from hubtest import (ACCEPTED, DUPLICATE, SLOW, AbsenceRow, CprGen, binary, envelope, ev_dropout, rules_hub,
                     wait_for)


def purge_audit(hub):
    shown = hub.hubctl("audit", "show", "--json").stdout
    return [r for r in map(json.loads, shown.splitlines())
            if r["action"] == "purge"]


def test_a_purge_killed_mid_run_is_finished_at_start_each_record_once(
        make_hub):
    """OPERATIONS.md, Retention: each turn is "deleted and recorded
    whole, or (a crash ...) not at all, and the next turn finds the
    records again"; a run starts "when it starts". SIGKILL in the middle
    of a run of one-record turns: the restart deletes the rest, and the
    audit trail names every record exactly once."""
    n = 120
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "1", "purge_batch": "1"})
    cprs = CprGen(12201).take(n)
    hub.cprs.update(cprs)
    hub.send(*[envelope("school-a", cpr, salt=f"pk-{i}", absent=1)
               for i, cpr in enumerate(cprs)])
    hub.wait_applied()
    hub.set_clock("2026-01-07T00:00:00")
    wait_for(lambda: purge_audit(hub), 20, "the first purge turn")
    hub.kill9()
    first = purge_audit(hub)
    hub.start()
    hub.wait_log(r"HUB-PURGE retention purge done: ", count=2)
    print(first and len(first), hub.current_log())
    st = hub.stats()
    assert (st["log_events"], st["person_index_entries"]) == (0, 0), st
    recs = purge_audit(hub)
    per_person = [r for r in recs if not r["detail"].startswith("batch:")]
    print(len(per_person), per_person[:3])
    assert len(per_person) == n
    assert hub.hubctl("audit", "verify").returncode == 0


def inbox_conf(hub, caseworker):
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    return conf


def listed(hub, caseworker):
    p = subprocess.run([binary("inbox"), "--config",
                        str(inbox_conf(hub, caseworker)), "--list", "--json"],
                       capture_output=True, text=True, timeout=30 * SLOW)
    assert p.returncode == 0, p.stderr
    return [json.loads(ln) for ln in p.stdout.splitlines()]


def test_inbox_killed_between_receiving_an_alert_and_its_ack(make_hub):
    """OPERATIONS.md, Caseworkers and PROTOCOL.md §4: an alert is
    acknowledged only once inbox has written it; inbox killed while its
    write waits on a full pipe leaves the alert open, and the next run
    gets it again, `delivery` 2 (`[delivered again]`), and acks it."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(12202).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    r, w = os.pipe()
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b"x" * 4096)
    except BlockingIOError:
        pass
    os.set_blocking(w, True)
    p = subprocess.Popen([binary("inbox"), "--config",
                          str(inbox_conf(hub, "cw-anna")), "--json"],
                         stdout=w, stderr=subprocess.PIPE)
    os.close(w)
    try:
        # Pushed: inbox has it, and its write cannot go through.
        [a] = wait_for(lambda: [x for x in listed(hub, "cw-anna")
                                if x["delivery"] >= 1], 20 * SLOW,
                       "the alert pushed to the killed inbox")
    finally:
        p.kill()
        p.wait()
        p.stderr.close()
        os.close(r)
    [a] = listed(hub, "cw-anna")
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1)
    assert rc == 0, err
    assert [(x["alert_id"], x["delivery"]) for x in alerts] == [
        (a["alert_id"], 2)]
    assert listed(hub, "cw-anna") == []


def test_hubd_killed_before_it_applied_a_reassignment_moves_alerts_once(
        make_hub):
    """ARCHITECTURE.md, Crash and restart: an entry in the log not yet
    applied (here hubctl's reassignment, written while hubd could not
    apply it) is replayed at start (`HUB-REPLAY`); the open alerts follow
    the new contact person, each kept once, none left with the old."""
    hub = make_hub(caseworkers={"cw-anna": False, "cw-bent": False,
                                "desk-dora": True})
    cprs = CprGen(12203).take(3)
    hub.cprs.update(cprs)
    hub.absence_alerts("cw-anna", cprs, "ra")
    before = hub.wait_applied()
    assert before["alerts_open"] == 3, before
    ids = sorted(a["alert_id"] for a in listed(hub, "cw-anna"))
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        for cpr in cprs:
            hub.assign(cpr, "cw-bent")
    finally:
        hub.kill9()
    st = hub.stats()
    assert st["last_seq"] == before["last_seq"] + 3, st
    assert st["last_applied"] == before["last_seq"], st
    hub.start()
    assert (f"HUB-REPLAY applying log entries {before['last_seq'] + 1}.."
            f"{before['last_seq'] + 3} to derived state") in \
        hub.current_log(), hub.current_log()
    st = hub.wait_applied()
    assert (st["alerts"], st["alerts_open"]) == (3, 3), st
    assert listed(hub, "cw-anna") == []
    assert sorted(a["alert_id"] for a in listed(hub, "cw-bent")) == ids
    rc, alerts, err = hub.inbox("cw-bent", max_alerts=3)
    assert (rc, sorted(a["alert_id"] for a in alerts)) == (0, ids), err
    assert listed(hub, "cw-bent") == []


def test_a_purges_lost_ids_commit_does_not_make_a_resend_duplicate(
        make_hub):
    """ARCHITECTURE.md, ids/: "an entry counts only while the log still
    holds its record with that id (a purge's ids/ commit lost ...)";
    OPERATIONS.md, Retention: with a record goes its idempotency entry,
    "so a resend of its event id afterwards is accepted and stored as
    new", and purged sequences are never handed out again. ids/ as it
    was before the purge (its commit lost to a crash) beside the purged
    log: the resend is ACCEPTED under a new sequence, stored once."""
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "1"})
    cprs = CprGen(12204).take(2)
    envs = [envelope("school-a", cpr, salt=f"il-{i}", absent=1)
            for i, cpr in enumerate(cprs)]
    assert hub.send(*envs) == [1, 2]
    hub.wait_applied()
    hub.stop()
    old_ids = hub.tmp / "ids-before-purge"
    shutil.copytree(hub.data_dir / "ids", old_ids)
    hub.start()
    hub.set_clock("2026-01-07T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done: 2 records", timeout=20)
    hub.kill9()
    shutil.rmtree(hub.data_dir / "ids")
    shutil.copytree(old_ids, hub.data_dir / "ids")
    hub.start()
    acks = hub.acks(*envs)
    assert [(a.status, a.sequence) for a in acks] == [
        (ACCEPTED, 3), (ACCEPTED, 4)], acks
    assert [(a.status, a.sequence) for a in hub.acks(*envs)] == [
        (DUPLICATE, 3), (DUPLICATE, 4)]
    st = hub.wait_applied()
    assert (st["log_events"], st["event_ids"], st["last_seq"]) == \
        (2, 2, 4), st


def test_an_action_recorded_just_before_a_kill9_is_kept_and_once(make_hub):
    """PROTOCOL.md, Action: `OK` "once the action is durably stored", and
    the same action sent again "is stored once and answered OK again",
    logged `... (seq N, already recorded)`: so also when hubd was killed
    right after the OK and the caseworker, unsure, sends it again."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(12205).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    [d] = hub.peek("cw-anna", 1)
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone",
                      date="2026-09-07") == (0, "recorded\n", "")
    hub.kill9()
    m = re.search(r"HUB-ACTION cw-anna recorded contact_made for alert "
                  rf"{d['alert_id']} \(seq (\d+)\)", hub.log_text())
    assert m, hub.log_text()
    before = hub.stats()
    assert before["last_seq"] == int(m.group(1)), before
    hub.start()
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone",
                      date="2026-09-07") == (0, "recorded\n", "")
    hub.wait_log(rf"HUB-ACTION cw-anna recorded contact_made for alert "
                 rf"{d['alert_id']} \(seq {m.group(1)}, already recorded\)")
    st = hub.wait_applied()
    assert (st["log_events"], st["last_seq"]) == \
        (before["log_events"], before["last_seq"]), st


def test_events_the_hub_stored_without_their_ack_count_twice_on_reimport(
        hub):
    """ADAPTERS.md, Duplicates: an event pending from an earlier run, met
    again, "is counted as a duplicate (not queued twice ...). If the hub
    already had it (the earlier run ... lost the connection, after the hub
    stored it and before its ack was recorded), its ack is DUPLICATE and
    counts once more among duplicates: the summary's duplicates may then
    be more than its rows (each file's line counts the row once)". The
    hub frozen (SIGSTOP) while the import sends: the adapter gives up,
    the hub then stores what it had taken in; the re-import sends it
    again and the hub answers DUPLICATE."""
    n = 300
    path, _ = hub.csv("frozen.csv",
                      [AbsenceRow(c) for c in CprGen(12206).take(n)])
    with hub.adapter_running("import", path, window=1, timeout=2) as proc:
        hub.wait_stats("some events stored", lambda s: s["log_events"] >= 20)
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            first = hub.adapter_finish(proc)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
    s = first.summary
    assert (first.rc, s["queued"], s["pending"]) == \
        (2, n, n - s["accepted"]), first
    # What the frozen hub had taken in, it stores once thawed: events
    # whose ack the adapter never got.
    stored = hub.wait_applied()["log_events"]
    assert stored > s["accepted"], (stored, s)
    r = hub.adapter("import", path)
    assert r.rc == 0, r
    [line] = [json.loads(ln) for ln in r.stdout.splitlines()
              if ln.startswith('{"file"')]
    assert (line["rows"], line["queued"], line["duplicates"]) == (n, 0, n)
    again = r.summary
    assert (again["rows"], again["queued"], again["accepted"],
            again["duplicates"], again["pending"]) == \
        (n, 0, n - stored, n + stored - s["accepted"], 0), (again, stored)
    st = hub.wait_applied()
    assert (st["log_events"], st["event_ids"]) == (n, n), st
