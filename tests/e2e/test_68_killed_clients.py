"""68 client programs killed at a random moment (SIGKILL: no handler
runs, as with a power loss): what the docs tell an operator to do next
(run it again) ends with everything stored once, nothing doubled, the
store opening, and no file of personal data left behind."""

import json
import os
import random
import signal
import subprocess
import time

from hubtest import AbsenceRow, CprGen, binary


def kill_at_random(cmd, rnd, upto=0.3):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(rnd.uniform(0, upto))
    p.send_signal(signal.SIGKILL)
    out, err = p.communicate(timeout=60)
    return p.returncode, out, err


def hubctl_cmd(hub, *args):
    return [binary("hubctl"), "--config", str(hub.conf), *args]


def assignments_file(hub, cprs):
    """An assign --file of cprs, all to cw-anna from 2026-01-01."""
    path = hub.client_dir / "assignments.csv"
    path.write_text("cpr;caseworker;from\n" + "".join(
        f"{c};cw-anna;2026-01-01\n" for c in cprs))
    return path


def stored_assignments(make_hub, seed, n, every):
    """A hub whose store holds n assignments, and their CPRs (every
    `every`-th one of the test CPRs the privacy checks look for)."""
    hub = make_hub()
    cprs = CprGen(seed).take(n)
    hub.cprs.update(cprs[::every])
    path = assignments_file(hub, cprs)
    hub.hubctl("assign", "--file", str(path))
    path.unlink()
    return hub, cprs


def test_assign_file_killed_then_run_again_stores_each_row_once(make_hub):
    """OPERATIONS.md, Contact persons: assign --file stores 512 rows a
    transaction; run again, what was stored is already known. Killed at
    a random moment and run again, every row is stored exactly once."""
    hub = make_hub()
    cprs = CprGen(6601).take(3000)
    hub.cprs.update(cprs)
    path = assignments_file(hub, cprs)
    rnd = random.Random(6601)
    before = hub.stats()["log_events"]
    killed = 0
    for _ in range(4):
        rc, out, err = kill_at_random(
            hubctl_cmd(hub, "assign", "--file", str(path)), rnd, 0.1)
        assert rc in (0, -signal.SIGKILL), (rc, err)
        st = subprocess.run(hubctl_cmd(hub, "stats", "--json"),
                            capture_output=True, text=True)
        assert st.returncode == 0, st.stderr
        killed += rc == -signal.SIGKILL
    assert killed, "no run was killed before it ended"
    again = hub.hubctl("assign", "--file", str(path))
    new, known = [int(again.stdout.split()[i]) for i in (1, 3)]
    assert new + known == len(cprs), again.stdout
    assert hub.stats()["log_events"] - before == len(cprs)
    recs = [json.loads(l) for l in hub.hubctl(
        "audit", "show", "--json").stdout.splitlines() if l.startswith("{")]
    stored = [r["detail"] for r in recs
              if (r["action"], r["result"]) == ("assign", "ok")]
    assert len(stored) == len(cprs)
    # A writer killed inside its transaction leaves LMDB's write lock to
    # the next: hubd, running all along, still stores what it is sent.
    from hubtest import envelope
    hub.send(*[envelope("school-a", c, salt=f"after-{i}")
               for i, c in enumerate(cprs[:3])])
    assert hub.stats()["log_events"] - before == len(cprs) + 3


def test_import_killed_at_random_moments_delivers_each_row_once(hub):
    """ADAPTERS.md, "A file is queued whole or not at all": an adapter
    killed at any moment (reading, queuing, taking a half import out,
    sending) and then run again as the docs say (import the file again,
    flush) ends with every row of the file at the hub exactly once, and
    a half import never sent."""
    import hubtest
    from hubtest import AbsenceRow, EXIT_OK
    from runtimetest import event_id, wait_stored
    cprs = CprGen(6602).take(30000)
    hub.cprs.update(cprs[::400])
    rows = [AbsenceRow(c) for c in cprs]
    path = hub.inputs_dir / "big.csv"
    hubtest.write_absence_csv(path, rows, dash_every=0)
    rnd = random.Random(6602)
    killed = 0
    for i in range(12):
        cmd = hub.adapter_cmd("import", path) if i % 3 else \
            hub.adapter_cmd("flush")
        rc, out, err = kill_at_random(cmd, rnd, 1.5)
        assert rc in (0, 2, -signal.SIGKILL), (rc, err[-2000:])
        killed += rc == -signal.SIGKILL
        # Never a part of the file at the hub: none or a whole file's
        # rows, once each, in the order they were queued.
        n = hub.stats()["log_events"]
        assert n <= len(rows)
    assert killed, "no run was killed before it ended"
    r = hub.adapter("import", path, wait=180)
    assert r.rc == EXIT_OK, str(r)[-3000:]
    assert r.summary["queued"] + r.summary["duplicates"] == len(rows)
    assert r.summary["pending"] == 0, r.summary
    got = wait_stored(hub, len(rows), timeout=60)
    assert sorted(got) == sorted(event_id(hub, x) for x in rows)
    assert hub.stats()["log_events"] == len(rows)


def test_watch_killed_at_random_moments_moves_each_file_once(hub):
    """ADAPTERS.md, "Running unattended": a watcher killed (a power
    loss, kill -9) at any moment and started again imports each file
    dropped into DIR whole, moves it to done/ with its report beside it,
    and every row reaches the hub once; nothing stays in DIR but done/
    (and an empty failed/)."""
    import hubtest
    from runtimetest import event_id, wait_stored
    from test_22_watch import Watcher
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    gen = CprGen(6603)
    files = {}
    for i in range(6):
        rows = [AbsenceRow(c) for c in gen.take(3000)]
        hub.cprs.update(r.cpr for r in rows[::300])
        # Bad rows too: the rejects work file holds them, CPRs and all.
        bad = [AbsenceRow(c, absent="x") for c in gen.take(500)]
        hub.cprs.update(r.cpr for r in bad[::50])
        part = drop / f"uge{i}.csv.part"
        hubtest.write_absence_csv(part, rows[:1500] + bad + rows[1500:],
                                  dash_every=0)
        files[f"uge{i}.csv"] = rows
    for name in files:
        os.rename(drop / (name + ".part"), drop / name)
    rnd = random.Random(6603)
    cmd = hub.adapter_cmd("watch", drop, settle=0)
    killed = 0
    for _ in range(6):
        rc, _, err = kill_at_random(cmd, rnd, 1.0)
        assert rc in (0, -signal.SIGKILL), (rc, err[-2000:])
        killed += rc == -signal.SIGKILL
    assert killed
    # The rejected rows' work files of a killed watcher are taken back
    # when it imports that file again.
    w = Watcher(hub, drop, settle=0, log_level="notice")
    try:
        want = [x for rows in files.values() for x in rows]
        got = wait_stored(hub, len(want), timeout=120)
        assert sorted(got) == sorted(event_id(hub, x) for x in want)
        hubtest.wait_for(lambda: set(os.listdir(drop)) <= {"done", "failed"},
                         60, "every file moved")
        assert not os.listdir(drop / "failed")
        done = sorted(os.listdir(drop / "done"))
        assert done == sorted(n + s for n in files for s in
                              ("", ".report.json", ".rejects.csv")), done
    finally:
        w.stop()
    assert hub.stats()["log_events"] == len(want)


def test_erase_killed_then_run_again_leaves_nothing_of_the_person(make_hub):
    """OPERATIONS.md, Erasure: `erase` failed or cut short is run again
    (exit 0); the person's records, alerts and assignment are gone, and
    the other persons' records all stay."""
    import datetime
    from hubtest import ev_absence
    hub = make_hub()
    gen = CprGen(6604)
    cpr, other = gen.next(), gen.next()
    hub.assign(cpr, "cw-anna")
    monday = datetime.date(2015, 1, 5)
    weeks = [(monday + datetime.timedelta(weeks=w)).isoformat()
             for w in range(1500)]
    hub.send(*[ev_absence(cpr, d, 1) for d in weeks])
    hub.send(*[ev_absence(other, d, 1) for d in weeks[:100]])
    hub.wait_applied()
    rnd = random.Random(6604)
    killed = 0
    for _ in range(5):
        rc, out, err = kill_at_random(hubctl_cmd(
            hub, "erase", "--cpr", cpr, "--reason", "art. 17"), rnd, 0.05)
        assert rc in (0, -signal.SIGKILL), (rc, err)
        killed += rc == -signal.SIGKILL
    assert killed, "no erase was killed before it ended"
    again = hub.hubctl("erase", "--cpr", cpr, "--reason", "art. 17")
    assert again.stdout.startswith("erased: "), again.stdout
    def export(who):
        out = hub.client_dir / "export.json"
        hub.hubctl("export", "--cpr", who, "--out", str(out))
        doc = json.loads(out.read_text())
        out.unlink()
        return doc
    doc = export(cpr)
    assert (doc["events"], doc["alerts"]) == ([], []), doc
    assert len(export(other)["events"]) == 100
    assert hub.stats()["log_events"] == 100
    assert hub.stats()["assignments"] == 0


def test_backup_cut_short_is_refused_and_taken_again(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: a backup cut short (hubctl
    killed, Ctrl-C) has no manifest.json: restore refuses it, a backup
    into the same DIR is refused as not empty; DIR deleted, the backup
    is taken again and restores. hubd goes on taking events meanwhile."""
    import shutil
    hub, cprs = stored_assignments(make_hub, 6605, 8000, 400)
    rnd = random.Random(6605)
    cut = 0
    for i in range(8):
        sig = signal.SIGINT if i % 2 else signal.SIGKILL
        dest = tmp_path / f"b{i}"
        p = subprocess.Popen(hubctl_cmd(hub, "backup", str(dest)),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        time.sleep(rnd.uniform(0, 0.05))
        p.send_signal(sig)
        out, err = p.communicate(timeout=60)
        if p.returncode == 0 or (dest / "manifest.json").exists() or \
                not dest.exists() or not os.listdir(dest):
            continue    # done, or not begun: DIR absent or empty
        cut += 1
        assert p.returncode == -sig, (p.returncode, err)
        assert out == ""
        again = subprocess.run(hubctl_cmd(hub, "backup", str(dest)),
                               capture_output=True, text=True)
        assert (again.returncode, again.stderr) == (
            1, f"hubctl: backup: {dest} is not empty\n"), again.stderr
        r = subprocess.run(
            hubctl_cmd(hub, "restore", str(dest)) +
            ["--data_dir", str(tmp_path / f"restored{i}")],
            capture_output=True, text=True)
        assert r.returncode == 1, r.stdout
        assert "manifest.json is missing or unreadable" in r.stderr, r.stderr
        shutil.rmtree(dest)
        hub.hubctl("backup", str(dest))
        assert (dest / "manifest.json").exists()
    assert cut, "no backup was cut short"
    assert hub.stats()["log_events"] == len(cprs)
    from hubtest import envelope
    hub.send(*[envelope("school-a", c, salt=f"after-{i}")
               for i, c in enumerate(cprs[:3])])
    assert hub.stats()["log_events"] == len(cprs) + 3


def test_audit_trail_verifies_after_commands_killed_at_random(make_hub):
    """OPERATIONS.md, The audit trail: every command that changes the
    store is stored with its record or not at all. Commands killed at
    random moments (set-password while it hashes, register-*, assign,
    erase) leave a trail `audit verify` finds intact, and each one run
    again does what it says."""
    hub = make_hub()
    rnd = random.Random(6606)
    cprs = CprGen(6606).take(40)
    keys = hub.keys_dir
    runs = []
    for i in range(6):
        hub.keygen(f"cw-k{i}")
        runs += [
            (hubctl_cmd(hub, "register-caseworker", f"cw-k{i}",
                        "--key", str(keys / f"cw-k{i}.key")), None),
            (hubctl_cmd(hub, "set-password", f"cw-k{i}"),
             b"a good long password\n"),
            (hubctl_cmd(hub, "assign", "--cpr", cprs[i], "--caseworker",
                        "cw-anna"), None),
            (hubctl_cmd(hub, "erase", "--cpr", cprs[20 + i], "--reason",
                        "art. 17"), None),
        ]
    for cmd, stdin in runs:
        p = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
        if stdin:
            p.stdin.write(stdin)
        p.stdin.close()
        time.sleep(rnd.uniform(0, 0.3))
        p.kill()
        p.wait(timeout=30)
        err = p.stderr.read()
        # A register-caseworker killed before its commit leaves nobody
        # to set a password for, which set-password says (exit 1).
        assert p.returncode in (0, -signal.SIGKILL) or (
            p.returncode == 1 and b"is not a registered caseworker" in err), \
            (cmd, err)
    v = subprocess.run(hubctl_cmd(hub, "audit", "verify"),
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    for cmd, stdin in runs:
        r = subprocess.run(cmd, input=stdin, capture_output=True)
        assert r.returncode == 0, (cmd, r.stderr)
    v = subprocess.run(hubctl_cmd(hub, "audit", "verify"),
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    hub.stop()
    hub.start()
    assert hub.stats()["assignments"] == 6


def test_the_first_register_killed_while_it_makes_the_store(make_hub):
    """OPERATIONS.md: register-* before hubd's first start makes the
    store. Killed while it makes it (a power loss at installation), it
    left an empty log/data.mdb that hubd and every command then refused
    as a lost log ("restore log/ from a backup": there is none). The
    store held nothing yet: the same register run again makes it, and
    hubd starts on it; a command that makes no store says there is
    none."""
    import shutil
    hub = make_hub(start=False)
    data = hub.data_dir
    reg = hubctl_cmd(hub, "register-agency", "school-a", "--key",
                     str(hub.keys_dir / "school-a.key"))
    rnd = random.Random(6607)
    cut = 0
    for i in range(60):
        if data.exists():
            shutil.rmtree(data)
        p = subprocess.Popen(reg, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.002, 0.015))
        p.kill()
        p.wait()
        cut += p.returncode == -signal.SIGKILL and \
            (data / "log" / "data.mdb").exists()
        r = subprocess.run(reg, capture_output=True, text=True)
        assert (r.returncode, r.stdout) == (
            0, "registered agency school-a (key "
            f"{r.stdout.split('(key ')[1]}"), r.stderr
        assert not (data / "store.new").exists()
    assert cut, "no register was killed while it made the store"
    # The state such a kill leaves, every time.
    shutil.rmtree(data)
    (data / "log").mkdir(parents=True)
    (data / "log" / "data.mdb").write_bytes(b"")
    (data / "store.new").write_bytes(b"")
    st = subprocess.run(hubctl_cmd(hub, "stats"), capture_output=True,
                        text=True)
    assert (st.returncode, st.stderr) == (
        1, f"hubctl: stats: no store in {data} (data_dir): hubd makes it "
        "at its first start, hubctl register-* before that\n"), st.stderr
    # keygen records itself only in a store there is: it makes none.
    subprocess.run(hubctl_cmd(hub, "keygen", "cw-late"), check=True,
                   capture_output=True)
    assert (data / "store.new").exists()
    assert (data / "log" / "data.mdb").stat().st_size == 0
    hub.start()
    assert hub.stats()["principals"] == 0
    assert not (data / "store.new").exists()


def test_the_first_import_killed_while_it_makes_the_outbox(hub):
    """ADAPTERS.md, "A damaged outbox": an outbox being made is marked
    (outbox.new); an adapter killed while LMDB made it left a data.mdb
    of 0 bytes that every later run refused as a damaged outbox, to be
    moved aside. The next run makes it again and imports."""
    import shutil
    import hubtest
    from hubtest import AbsenceRow, EXIT_OK
    rows = [AbsenceRow(c) for c in CprGen(6608).take(5)]
    hub.cprs.update(r.cpr for r in rows)
    path = hub.inputs_dir / "first.csv"
    hubtest.write_absence_csv(path, rows, dash_every=0)
    ob = hub.outbox_dir()
    cmd = hub.adapter_cmd("import", path)
    rnd = random.Random(6608)
    for _ in range(40):
        if ob.exists():
            shutil.rmtree(ob)
        rc, _, _ = kill_at_random(cmd, rnd, 0.01)
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == EXIT_OK, r.stderr[-1000:]
        assert not (ob / "outbox.new").exists()
    # The state such a kill leaves, every time.
    shutil.rmtree(ob)
    ob.mkdir(mode=0o700)
    (ob / "data.mdb").write_bytes(b"")
    (ob / "outbox.new").write_bytes(b"")
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)[-2000:]
    assert r.summary["duplicates"] == len(rows), r.summary
    assert not (ob / "outbox.new").exists()
    # A data.mdb of 0 bytes without the mark is still a damaged outbox.
    shutil.rmtree(ob)
    ob.mkdir(mode=0o700)
    (ob / "data.mdb").write_bytes(b"")
    r = hub.adapter("flush")
    assert r.rc == 3 and "data.mdb is empty (0 bytes)" in r.stderr


def test_a_watcher_killed_mid_file_leaves_its_work_files_until_run_again(
        hub):
    """ADAPTERS.md, "Running unattended": a watcher killed while it
    imports a file with bad rows leaves `.NAME.rejects.tmp` (the rows,
    CPRs included) and `.NAME.report.json.tmp` in DIR; the next watch
    deletes them when it imports the file again."""
    import hubtest
    from test_22_watch import Watcher, wait_moved
    from test_24_import_refused import FIRST_BAD_LINE, layout
    before, bad, after, _ = layout(hub, 6609)
    drop = hub.inputs_dir / "drop"
    drop.mkdir()
    part = drop / "uge9.csv.part"
    hubtest.write_absence_csv(part, before + bad + after, dash_every=0)
    w = subprocess.Popen(hub.adapter_cmd("watch", drop, settle=0),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True)
    try:
        os.rename(part, drop / "uge9.csv")
        hubtest.wait_for(
            lambda: f"uge9.csv:{FIRST_BAD_LINE}: column" in
            w.stderr.readline(), 60, "the first bad row", interval=0)
        # Unread, the 2,000 diagnostics fill the pipe: the watcher
        # blocks inside the bad block, its rejects work file made.
        hubtest.wait_for(lambda: (drop / ".uge9.csv.rejects.tmp").exists(),
                         60, "the rejects work file")
    finally:
        w.kill()
        w.communicate(timeout=30)
    assert {".uge9.csv.rejects.tmp", ".uge9.csv.report.json.tmp"} <= \
        set(os.listdir(drop)), os.listdir(drop)
    again = Watcher(hub, drop, settle=0, log_level="notice")
    try:
        wait_moved(drop, "done", "uge9.csv", timeout=120)
    finally:
        again.stop()
    assert set(os.listdir(drop)) == {"done", "failed"}, os.listdir(drop)


def test_restore_killed_at_random_moments_then_run_again(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, Backup and restore: a restore killed at any moment
    leaves restore.unfinished (or a finished restore); `hubctl restore
    DIR` run again into the same data_dir starts over and restores the
    whole backup, and hubd starts on it with every event once."""
    import shutil
    hub, cprs = stored_assignments(make_hub, 6610, 6000, 600)
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    shutil.rmtree(hub.data_dir)
    rnd = random.Random(6610)
    # Once killed while it copies, for certain: at its mark.
    p = subprocess.Popen(hubctl_cmd(hub, "restore", str(backup)),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while p.poll() is None and \
            not (hub.data_dir / "restore.unfinished").exists():
        pass
    p.kill()
    p.wait()
    unfinished = int((hub.data_dir / "restore.unfinished").exists())
    if p.returncode == 0:
        shutil.rmtree(hub.data_dir)
    for _ in range(6):
        rc, _, err = kill_at_random(
            hubctl_cmd(hub, "restore", str(backup)), rnd, 0.15)
        if rc == 0:
            shutil.rmtree(hub.data_dir)
            continue
        assert rc == -signal.SIGKILL, err
        if (hub.data_dir / "restore.unfinished").exists():
            unfinished += 1
            st = subprocess.run(hubctl_cmd(hub, "stats"),
                                capture_output=True, text=True)
            assert st.returncode == 1 and "did not finish" in st.stderr
        else:
            # Killed before it began, or once the restore was whole: the
            # next round restores into an empty data_dir again.
            shutil.rmtree(hub.data_dir, ignore_errors=True)
    r = hub.hubctl("restore", str(backup))
    assert r.stdout.startswith(f"restored from {backup}: "), r.stdout
    hub.start()
    assert hub.stats()["log_events"] == len(cprs)
    assert unfinished, "no restore was killed while it copied"
