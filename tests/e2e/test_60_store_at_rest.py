"""60 the store at rest: the LMDB files alone neither link people nor say
what happened to them, and what grants access or routes data cannot be
forged without the hub's keys (SECURITY.md, "Personal data at rest";
OPERATIONS.md, "Records that do not open").

A hub takes events for several persons (an addiction referral with and
without consent, a dropout, assignments, a desk), raises alerts and
timers, and stops. Then `mdb_dump -a` of every environment: no agency id,
event type, rule, caseworker or CPR in any key or value, and no person key
anywhere. Then the store is forged with `mdb_load`, by someone who even
knows the hashing key (the strongest attacker short of the storage key):
a registration copied to a never-registered key, a queue entry moved to
another caseworker, a flipped byte in an alert. Each is refused and
reported STORE-FORGED, never used."""

import contextlib
import ctypes
import datetime
import json
import re
import subprocess
from pathlib import Path

import nacl.hash

import hubtest
from hubtest import (CprGen, TcpRelay, binary, ev_desk, ev_dropout,
                     ev_referral, read_key_file, rules_hub)
from hubtest import envelope as hubtest_envelope

TAG_PRINCIPAL = 3
TAG_ALERT = 5
TAG_QUEUE_RECIPIENT = 6
TAG_QUEUE_ID = 7
TAG_DESK = 14
TAG_DESK_MEMBER = 15

AGENCIES = ["school-a", "college-a", "addiction-a", "youth-a",
            "jobcenter-a"]
NAMES = ["cw-anna", "cw-bob", "desk-dora", "cw-lead", "duty-desk",
         "absence", "addiction", "referral", "dropout", "readiness",
         "assignment", "contact", "rmc-a", "college-x"]


def keys(hub):
    k = read_key_file(hub.keys_dir / "hub.key_secret")
    storage = bytes.fromhex(k["storage_key"])
    index = nacl.hash.blake2b(b"ungebro-store-index-v2", digest_size=32,
                              key=storage, encoder=nacl.encoding.RawEncoder)
    return storage, index, bytes.fromhex(k["hash_key"])


def h(index_key, tag, data, n):
    return nacl.hash.blake2b(bytes([tag]) + data, digest_size=32,
                             key=index_key,
                             encoder=nacl.encoding.RawEncoder)[:n]


def person_key(hash_key, cpr):
    return nacl.hash.blake2b(b"ungebro-person:" + cpr.encode(),
                             digest_size=16, key=hash_key,
                             encoder=nacl.encoding.RawEncoder)


def dump(env_dir, db):
    """Every (key, value) of one database, as bytes."""
    out = subprocess.run(["mdb_dump", "-s", db, str(env_dir)],
                         capture_output=True, text=True, check=True).stdout
    body = out.split("HEADER=END\n", 1)[1].splitlines()
    lines = [l.strip() for l in body if l.strip() and l != "DATA=END"]
    return [(bytes.fromhex(lines[i]), bytes.fromhex(lines[i + 1]))
            for i in range(0, len(lines), 2)]


def databases(env_dir):
    out = subprocess.run(["mdb_dump", "-l", str(env_dir)],
                         capture_output=True, text=True, check=True).stdout
    return [l.strip() for l in out.splitlines() if l.strip()]


def load(env_dir, db, pairs):
    """Write pairs into db with mdb_load (overwriting), as an attacker
    with write access to the files would."""
    text = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n" + \
        "".join(f" {k.hex()}\n {v.hex()}\n" for k, v in pairs) + "DATA=END\n"
    subprocess.run(["mdb_load", "-s", db, str(env_dir)], input=text,
                   text=True, check=True)



def damage_log_record(hub, seq):
    """Flip one bit in the sealed body of log record `seq`, hubd stopped
    for it and started again: the record no longer opens."""
    hub.stop()
    log = hub.data_dir / "log"
    key = seq.to_bytes(8, "big")
    [value] = [v for k, v in dump(log, "log") if k == key]
    value = bytearray(value)
    value[len(value) - 20] ^= 0x01      # in the sealed body
    load(log, "log", [(key, bytes(value))])
    hub.start()

@contextlib.contextmanager
def readers_taken(env_dir, leave=0):
    """Every free reader slot of the LMDB environment env_dir (hubd's
    log/ or derived/) but `leave` of them held by a live read transaction
    of this process: while the block runs, hubd's reads of it fail
    (MDB_READERS_FULL), as a store that cannot be read does; with leave=1
    one read at a time succeeds, and only a read made inside another
    fails. Yields how many were taken."""
    lib = ctypes.CDLL("liblmdb.so.0")
    MDB_RDONLY, MDB_NOTLS, MDB_READERS_FULL = 0x20000, 0x200000, -30790
    env = ctypes.c_void_p()
    assert lib.mdb_env_create(ctypes.byref(env)) == 0
    lib.mdb_env_set_maxdbs(env, 64)
    rc = lib.mdb_env_open(env, str(env_dir).encode(),
                          MDB_RDONLY | MDB_NOTLS, 0o600)
    assert rc == 0, rc
    txns = []
    try:
        while True:
            txn = ctypes.c_void_p()
            rc = lib.mdb_txn_begin(env, None, MDB_RDONLY,
                                   ctypes.byref(txn))
            if rc:
                break
            txns.append(txn)
        assert rc == MDB_READERS_FULL and len(txns) > leave, rc
        for _ in range(leave):
            lib.mdb_txn_abort(txns.pop())
        yield len(txns)
    finally:
        for txn in txns:
            lib.mdb_txn_abort(txn)
        lib.mdb_env_close(env)


def z85_of(hub, name):
    return read_key_file(hub.keys_dir / f"{name}.key")["public"].encode()


def populated(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    anna_with, anna_without, bob_dropout = CprGen(6001).take(3)
    hub.assign(anna_with, "cw-anna")
    hub.assign(anna_without, "cw-anna")
    hub.assign(bob_dropout, "cw-bob")
    hub.send(ev_desk("desk-dora", "2026-01-01", team_lead=True))
    hub.send(ev_referral(anna_with, "2026-09-07",
                         consent={"given": True, "scope": "referral,stage",
                                  "expires": "2027-06-30"}),
             ev_referral(anna_without, "2026-09-07",
                         consent={"given": False}),
             ev_dropout(bob_dropout, "2026-09-07"))
    st = hub.wait_applied()
    assert st["alerts"] == 2, st
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"
    [b] = hub.peek("cw-bob", 1)
    return hub, [anna_with, anna_without, bob_dropout], a, b


def test_files_alone_reveal_nothing(make_hub):
    hub, cprs, _, _ = populated(make_hub)
    hub.stop()
    _, _, hash_key = keys(hub)
    pkeys = [person_key(hash_key, c) for c in cprs]
    secrets = [s.encode() for s in AGENCIES + NAMES + cprs]
    secrets += [c[:6].encode() + b"-" + c[6:].encode() for c in cprs]
    seen = 0
    for env in ("log", "ids", "derived"):
        env_dir = hub.data_dir / env
        for db in databases(env_dir):
            for k, v in dump(env_dir, db):
                seen += 1
                for s in secrets:
                    assert s not in k and s.lower() not in v.lower(), \
                        (env, db, s, k.hex())
                for pk in pkeys:
                    # No person key at all: so none next to a sequence.
                    assert pk not in k and pk not in v, (env, db, k.hex())
    assert seen > 20, seen
    hub.start()


def test_a_backup_alone_reveals_nothing(make_hub):
    """SECURITY.md: backups are as sensitive as the store, and no more:
    `hubctl backup` copies the sealed store and adds a manifest of
    figures. Taken while hubd runs, every file in the backup (the three
    data files and manifest.json) holds no CPR in any written form, no
    person key (raw or hex), and every database in it no agency,
    caseworker, event type or rule name."""
    hub, cprs, _, _ = populated(make_hub)
    out = hub.tmp / "backup-60"
    p = hub.hubctl("backup", str(out))
    assert "(intact)" in p.stdout, p.stdout
    _, _, hash_key = keys(hub)
    pkeys = [person_key(hash_key, c) for c in cprs]
    forms = [c.encode() for c in cprs]
    forms += [f"{c[:6]}-{c[6:]}".encode() for c in cprs]
    forms += [f"{c[:6]} {c[6:]}".encode() for c in cprs]
    files = sorted(f for f in out.rglob("*") if f.is_file())
    assert {f.relative_to(out).as_posix() for f in files} >= {
        "manifest.json", "log/data.mdb", "ids/data.mdb",
        "derived/data.mdb"}, files
    for f in files:
        data = f.read_bytes()
        for needle in forms + pkeys + [k.hex().encode() for k in pkeys]:
            assert needle not in data, (f, needle)
    secrets = [s.encode() for s in AGENCIES + NAMES]
    seen = 0
    for env in ("log", "ids", "derived"):
        for db in databases(out / env):
            for k, v in dump(out / env, db):
                seen += 1
                for s in secrets:
                    assert s not in k and s.lower() not in v.lower(), \
                        (env, db, s, k.hex())
    assert seen > 20, seen


def documented_databases():
    """The databases SECURITY.md's at-rest table lists ("env/db")."""
    doc = (Path(__file__).resolve().parents[2] / "docs" /
           "SECURITY.md").read_text()
    return set(re.findall(r"^  \| `(\w+/\w+)` \|", doc, re.M))


def test_every_database_is_in_the_at_rest_table(make_hub):
    """"Exactly this stays in the clear" holds only if the table names
    every database the store has, and none it does not."""
    hub, _, _, _ = populated(make_hub)
    hub.stop()
    present = {f"{env}/{db}" for env in ("log", "ids", "derived")
               for db in databases(hub.data_dir / env)}
    assert present == documented_databases(), \
        (sorted(present - documented_databases()),
         sorted(documented_databases() - present))
    hub.start()


def architecture_databases():
    """The databases ARCHITECTURE.md's LMDB layout tables list ("env/db"),
    each table under its environment's heading (**`log/` ...)."""
    doc = (Path(__file__).resolve().parents[2] / "docs" /
           "ARCHITECTURE.md").read_text()
    layout = doc.split("## The LMDB layout", 1)[1].split("\n## ", 1)[0]
    found, env = set(), None
    for line in layout.splitlines():
        m = re.match(r"\*\*`(\w+)/`", line)
        if m:
            env = m.group(1)
        m = re.match(r"\| `(\w+)` \|", line)
        if m and env:
            found.add(f"{env}/{m.group(1)}")
    return found


def test_the_architecture_layout_names_every_database(make_hub):
    """ARCHITECTURE.md, "The LMDB layout": its tables say what each
    database of the three environments holds, so they name every one
    the store has, and none it does not."""
    hub, _, _, _ = populated(make_hub)
    hub.stop()
    present = {f"{env}/{db}" for env in ("log", "ids", "derived")
               for db in databases(hub.data_dir / env)}
    assert present == architecture_databases(), \
        (sorted(present - architecture_databases()),
         sorted(architecture_databases() - present))
    hub.start()


def architecture_row(env, db):
    """The key cell of ARCHITECTURE.md's LMDB layout row for env/db, on
    one line."""
    doc = (Path(__file__).resolve().parents[2] / "docs" /
           "ARCHITECTURE.md").read_text()
    layout = doc.split("## The LMDB layout", 1)[1].split("\n## ", 1)[0]
    table = layout.split(f"**`{env}/`", 1)[1].split("\n\n**", 1)[0]
    row = re.search(rf"^\| `{db}` \| ([^|]*) \|", table, re.M)
    return " ".join(row.group(1).split())


def test_ids_keys_are_as_the_architecture_says(make_hub):
    """ARCHITECTURE.md, "The LMDB layout": an ids/ key begins with the
    event id's first 8 bytes only when they read as a time; any other id
    (here 0xff bytes, a year past 2099) is keyed by a keyed hash of the
    whole id alone, so bytes that are no time never stay in the clear."""
    hub = make_hub()
    timed = hubtest_envelope("school-a", CprGen(6101).take(1)[0], "t")
    untimed = hubtest_envelope("school-a", CprGen(6102).take(1)[0], "u")
    untimed.event_id = b"\xff" * 8 + untimed.event_id[8:]
    hub.send(timed, untimed)
    hub.wait_applied()
    hub.stop()
    keys_ = [k for k, _ in dump(hub.data_dir / "ids", "ids")]
    assert len(keys_) == 2 and {len(k) for k in keys_} == {24}, keys_
    assert sum(k.startswith(timed.event_id[:8]) for k in keys_) == 1
    assert not any(b"\xff" * 4 in k[:12] for k in keys_), keys_
    row = architecture_row("ids", "ids")
    assert "read as a time" in row and "alone" in row, row
    hub.start()


def test_the_architecture_keys_say_what_is_hashed(make_hub):
    """ARCHITECTURE.md's key cells, SECURITY.md's table and the head
    comments of store_alerts.c and store_rules.c say what the store keys
    by: a queue entry's 4 bytes hash the recipient with the alert id, a
    desk record's key the desk, then the caseworker and the first day; a
    format-2 store's log/ids keys are a keyed hash of the id alone."""
    hub, _, a, _ = populated(make_hub)
    hub.stop()
    _, index, _ = keys(hub)
    aid = bytes.fromhex(a["alert_id"])
    anna = h(index, TAG_QUEUE_RECIPIENT, b"cw-anna", 16)
    [queued] = [k for k, _ in dump(hub.data_dir / "log", "queue")
                if k.startswith(anna)]
    assert queued == anna + aid[:8] + \
        h(index, TAG_QUEUE_ID, b"cw-anna" + aid, 4), queued.hex()
    day = (datetime.date(2026, 1, 1) - datetime.date(1970, 1, 1)).days
    desk = h(index, TAG_DESK, b"duty-desk", 8) + \
        h(index, TAG_DESK_MEMBER, b"duty-desk\0desk-dora\0" +
          day.to_bytes(4, "big"), 8)
    assert [k for k, _ in dump(hub.data_dir / "derived", "desk")] == [desk]
    hub.start()
    assert "of the recipient and the alert id" in \
        architecture_row("log", "queue")
    assert "desk + caseworker + from" in architecture_row("derived", "desk")
    assert "alone" in architecture_row("log", "ids")
    root = Path(__file__).resolve().parents[2]
    security = (root / "docs" / "SECURITY.md").read_text()
    cell = re.search(r"^ *\| `derived/desk` \| ([^|]*) \|", security,
                     re.M).group(1)
    assert "first day" in cell, cell
    assert "H(recipient | alert_id)[4]" in \
        (root / "store/store_alerts.c").read_text()
    assert "H(desk | 0 | caseworker | 0 | from BE32)[8]" in \
        (root / "store/store_rules.c").read_text()


def test_forged_principal_is_refused(make_hub):
    hub, _, _, _ = populated(make_hub)
    hub.keygen("cw-mallory")           # never registered
    hub.stop()
    _, index, _ = keys(hub)
    log = hub.data_dir / "log"
    records = dict(dump(log, "principal"))
    anna = records[h(index, TAG_PRINCIPAL, z85_of(hub, "cw-anna"), 16)]
    # Anna's sealed registration, under the key Mallory's would have.
    load(log, "principal",
         [(h(index, TAG_PRINCIPAL, z85_of(hub, "cw-mallory"), 16), anna)])
    hub.start()
    rc, alerts, err = hub.inbox("cw-mallory", no_ack=True, idle_exit=1)
    assert rc == 3 and alerts == [], (rc, err)
    hub.wait_log(r"STORE-FORGED principal: a record does not open")
    hub.wait_log(r"HUB-ZAP refused CURVE client .* key not registered")
    # Anna herself is still admitted.
    hub.peek("cw-anna", 1)


def test_moved_queue_entry_is_not_delivered(make_hub):
    hub, _, a, _ = populated(make_hub)
    hub.stop()
    _, index, _ = keys(hub)
    log = hub.data_dir / "log"
    anna = h(index, TAG_QUEUE_RECIPIENT, b"cw-anna", 16)
    bob = h(index, TAG_QUEUE_RECIPIENT, b"cw-bob", 16)
    queue = dump(log, "queue")
    moved = [(bob + k[16:], v) for k, v in queue if k.startswith(anna)]
    assert len(moved) == 1, queue
    load(log, "queue", moved)
    hub.start()
    [b] = hub.peek("cw-bob", 1)        # his own, not Anna's
    assert b["rule"] != "addiction" and b["alert_id"] != a["alert_id"]
    assert a["cpr"] not in b.values()
    hub.wait_log(r"STORE-FORGED queue: a record does not open")
    hub.peek("cw-anna", 1)


def hub_with_bobs_alert_flipped(make_hub):
    """The populated hub, restarted with one byte of cw-bob's alert's
    sealed body flipped in the store."""
    hub, _, a, b = populated(make_hub)
    damage_alert(hub, b["alert_id"])
    return hub


def damage_alert(hub, alert_id):
    """Flip one bit in the sealed body of the alert `alert_id` (hex),
    hubd stopped for it and started again: the alert no longer opens."""
    hub.stop()
    _, index, _ = keys(hub)
    log = hub.data_dir / "log"
    key = h(index, TAG_ALERT, bytes.fromhex(alert_id), 16)
    value = bytearray(dict(dump(log, "alerts"))[key])
    value[len(value) - 20] ^= 0x01     # in the sealed body
    load(log, "alerts", [(key, bytes(value))])
    hub.start()


def test_flipped_alert_byte_is_not_delivered(make_hub):
    hub = hub_with_bobs_alert_flipped(make_hub)
    hub.peek("cw-bob", 0)
    hub.wait_log(r"STORE-FORGED alerts: a record does not open")
    hub.peek("cw-anna", 1)


def test_nothing_personal_crosses_the_wire_in_clear(make_hub):
    """SECURITY.md: both endpoints speak CURVE only, every byte on the
    wire is encrypted. Through relays on the ingest and delivery paths:
    an import, the alert it raises delivered to inbox, a timeline; the
    bytes that crossed hold no CPR in any written form, no agency,
    caseworker or rule name, no date of the report."""
    from hubtest import AbsenceRow
    import hubtest
    hub = make_hub()
    cpr = CprGen(6003).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    ingest, delivery = TcpRelay(hub.ingest), TcpRelay(
        hub.delivery)
    try:
        path, _ = hub.csv("w.csv", [AbsenceRow(cpr, absent=20,
                                               expected=100)])
        r = hub.adapter("import", path, hub=ingest.endpoint)
        assert r.rc == 0, str(r)
        hub.wait_stats("one alert", lambda s: s["alerts"] == 1)
        hub.delivery = delivery.endpoint
        rc, alerts, err = hub.inbox("cw-anna", no_ack=True, max_alerts=1,
                                    idle_exit=10)
        assert rc == 0 and len(alerts) == 1, err
        conf = hub.tmp / "inbox-cw-anna.conf"
        p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                            "--timeline", cpr], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 0, p.stderr
    finally:
        ingest.close()
        delivery.close()
    assert len(ingest.seen) > 200 and len(delivery.seen) > 200
    for seen in (bytes(ingest.seen), bytes(delivery.seen)):
        for needle in (cpr, f"{cpr[:6]}-{cpr[6:]}", f"{cpr[:6]} {cpr[6:]}",
                       "school-a", "cw-anna", "absence", "rolling"):
            assert needle.encode() not in seen, needle


def test_nothing_personal_crosses_webds_path_to_the_hub_in_clear(make_hub):
    """SECURITY.md: the delivery endpoint speaks CURVE only, and webd is a
    client of it like inbox. Through a relay between webd and hubd: a
    login (the password travels in it), the open list with an alert, the
    alert's page and a timeline asked by CPR; the bytes that crossed hold
    no CPR in any written form, no password, no caseworker, agency or
    rule name."""
    from test_70_web import PASSWORD, Web, anna_session, \
        anna_with_a_person, open_new_alert
    hub, cpr = anna_with_a_person(make_hub, 6004)
    hub.cprs.add(cpr)
    relay = TcpRelay(hub.delivery)
    real, hub.delivery = hub.delivery, relay.endpoint
    web = Web(hub)
    hub.delivery = real
    try:
        session = anna_session(web)
        hexid, _ = open_new_alert(hub, web, session, cpr, "wire-web")
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=session)
        assert r.status == 200 and hexid in page, page
    finally:
        web.stop()
        relay.close()
    seen = bytes(relay.seen)
    assert len(seen) > 1000, len(seen)
    for needle in (cpr, f"{cpr[:6]}-{cpr[6:]}", f"{cpr[:6]} {cpr[6:]}",
                   PASSWORD, "cw-anna", "web-1", "school-a", "absence",
                   "rolling"):
        assert needle.encode() not in seen, needle


def test_value_sizes_are_what_the_at_rest_table_says(make_hub):
    """SECURITY.md, "Personal data at rest": log records are padded to
    64 bytes (a size class, not a type), a password record is 240 bytes
    and an address record 368 whatever they hold; what is not padded
    says as much as its length: an ids/ value the length of the sending
    agency's id (nothing about whose event it is)."""
    hub, _, _, _ = populated(make_hub)
    for cw, password in (("cw-anna", "short password"),
                         ("cw-bob", "a much longer password " * 8)):
        subprocess.run([binary("hubctl"),
                        "--config", str(hub.conf), "set-password", cw],
                       input=password + "\n", text=True, check=True,
                       capture_output=True)
    hub.hubctl("set-email", "cw-anna", "a@example.org")
    hub.hubctl("set-email", "cw-bob",
               "a.much.longer.address.than.the.other@kommune.example.dk")
    hub.stop()
    overhead = 40                     # the nonce and the tag of a seal
    sizes = {len(v) for _, v in dump(hub.data_dir / "log", "log")}
    assert all((n - 1 - overhead) % 64 == 0 for n in sizes), sizes
    assert sorted(len(v) for _, v in dump(hub.data_dir / "log",
                                          "password")) == [240, 240, 368,
                                                           368]
    ids = {len(v) - overhead - 9 for _, v in dump(hub.data_dir / "ids",
                                                  "ids")}
    senders = {json.loads(line)["agency"] for line in
               hub.hubctl("log", "--json").stdout.splitlines()}
    assert ids == {len(a) for a in senders} and len(ids) > 1, (ids,
                                                                senders)
    hub.start()


def test_what_the_programs_write_is_theirs_alone_whatever_the_umask(
        make_hub):
    """OPERATIONS.md, "Where data lives": the store's directories are
    made 0700 and its files 0600, an adapter's outbox likewise, and a
    watcher's done/ and failed/ 0700 with its reports and rejects files
    0600 - under a umask of 0 too, so no setting of the operator's shell
    opens them to others."""
    import os
    import time
    from test_22_watch import SETTLE, drop_file, wait_moved
    from hubtest import AbsenceRow
    old = os.umask(0)
    try:
        hub = make_hub()
        cpr, bad = CprGen(6010).take(2)
        hub.cprs.update({cpr, bad})
        rows = [AbsenceRow(cpr), AbsenceRow(bad, period_end="2024-13-10")]
        path, _ = hub.csv("uge19.csv", rows)
        assert hub.adapter("import", path).rc == 1
        drop = hub.inputs_dir / "drop"
        drop.mkdir()
        watch = subprocess.Popen(
            hub.adapter_cmd("watch", drop, settle=SETTLE),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            drop_file(hub, drop, "uge20.csv", rows)
            wait_moved(drop, "done", "uge20.csv")
            time.sleep(0.2)
        finally:
            watch.terminate()
            watch.wait(timeout=30)
        hub.stop()
        hub.hubctl("backup", str(hub.tmp / "backup"))
    finally:
        os.umask(old)

    def modes(base):
        return {str(p.relative_to(base.parent)):
                (p.stat().st_mode & 0o777, p.is_dir())
                for p in [base, *base.rglob("*")]}

    rejects = path.parent / (path.name + ".rejects.csv")
    made = {**modes(hub.data_dir), **modes(hub.outbox_dir()),
            **modes(hub.tmp / "backup"), **modes(drop / "done"),
            **modes(drop / "failed"), **modes(rejects)}
    # The input the watcher moved keeps the mode the agency gave it.
    del made["done/uge20.csv"]
    assert {"data/hubd.lock", "data/log/data.mdb", "outbox/data.mdb",
            "done/uge20.csv.report.json", "done/uge20.csv.rejects.csv",
            "uge19.csv.rejects.csv", "backup/manifest.json"} <= set(made), \
        made
    wrong = {p: oct(m) for p, (m, is_dir) in made.items()
             if m != (0o700 if is_dir else 0o600)}
    assert not wrong, wrong


def test_a_forged_alert_is_said_once_a_minute_not_at_every_pump(make_hub):
    """OPERATIONS.md, "Records that do not open": a forged alert is never
    delivered and HUB-DELIVER says so; like STORE-FORGED, at most once a
    minute with the count of the others, not at every turn that offers
    the queue again (once a second while its caseworker is connected)."""
    import hubtest
    hub = hub_with_bobs_alert_flipped(make_hub)
    rc, got, err = hub.inbox("cw-bob", no_ack=True, idle_exit=5)
    assert (rc, got) == (0, []), err
    said = [l for l in hub.log_text().splitlines()
            if "HUB-DELIVER reading a queued alert" in l]
    assert len(said) == 1, "\n".join(said)
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "stored alerts that cannot be read (`reading a queued alert: " \
        "REASON` for one alert, such as one whose record does not open" \
        in doc
    assert "for the queue): err, at most once a minute each" in doc


def test_the_derived_state_is_as_large_as_operations_md_says(make_hub):
    """OPERATIONS.md, "Where data lives": derived/ takes about 1.5 to 5 KiB
    per person the hub holds and 0.2 KiB per event (absence reports that
    raise nothing), so the disk can be sized for it as for the log and
    ids/; derived_bytes in hubctl stats is what it holds. Its length
    varies from run to run with the applier's commits."""
    import datetime
    from hubtest import AbsenceRow
    hub = make_hub()
    persons, weeks = 1000, 5
    cprs = CprGen(6020).take(persons)
    hub.cprs.update(cprs)
    rows = []
    for w in range(weeks):
        start = datetime.date(2024, 1, 8) + datetime.timedelta(weeks=w)
        end = start + datetime.timedelta(days=4)
        rows += [AbsenceRow(c, period_start=start.isoformat(),
                            period_end=end.isoformat(), absent=2,
                            expected=30) for c in cprs]
    path, _ = hub.csv("weeks.csv", rows)
    assert hub.adapter("import", path, timeout=300).rc == 0
    st = hub.wait_applied(timeout=120)
    assert (st["log_events"], st["alerts"]) == (persons * weeks, 0), st
    hub.stop()
    st = hub.stats()
    events = persons * weeks
    low = 1.5 * 1024 * persons + 0.2 * 1024 * events
    high = 5 * 1024 * persons + 0.2 * 1024 * events
    assert low <= st["derived_bytes"] <= high, (st, low, high)
    assert st["derived_bytes"] == \
        (hub.data_dir / "derived" / "data.mdb").stat().st_size
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "by about 1.5 to 5 KiB for each person it holds" in doc
    assert "and 0.2 KiB for each event" in doc
    hub.start()


def test_a_timer_key_of_another_length_stops_no_deadline(make_hub):
    """OPERATIONS.md, "Records that do not open": a forged timer is
    dropped, refused as if absent and logged STORE-FORGED. A key of
    another length added to derived/timer sorts before every timer (a
    timer's key begins with its due time): it must not keep the real
    ones from firing, nor stay."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(6061).born("2010-09-07")       # 16: the legal clocks run
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.stop()
    derived = hub.data_dir / "derived"
    real = dump(derived, "timer")
    assert real and all(len(k) == 16 for k, _ in real), real
    load(derived, "timer", [(b"\x00", b"\x00" * 41)])
    hub.start()
    # The contact deadline's warning falls due at the start of 09-11
    # (test_34): it fires past the forged key.
    hub.advance("2026-09-11T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.wait_log(r"STORE-FORGED timer: a record does not open")
    assert all(len(k) == 16 for k, _ in dump(derived, "timer"))


def test_a_log_key_of_another_length_is_no_record(make_hub):
    """OPERATIONS.md, "Records that do not open": a log record's key is
    its sequence, 8 bytes. A key of another length added to log/ (with
    mdb_load, a record's sealed value copied under it) is passed over by
    every reader and reported `STORE-FORGED log`, hiding none of the
    records after it: a 9-byte key beginning with a real sequence is
    not a second copy of that record (in `hubctl log`, an export, an
    erasure), and a shorter key sorted after every sequence does not
    become the log's last sequence (the next event still gets the one
    after the log's)."""
    hub = make_hub()
    cpr, other = CprGen(6071).take(2)
    seqs = hub.send(hubtest_envelope("school-a", cpr, salt="k-1"),
                    hubtest_envelope("school-a", other, salt="k-2"))
    hub.wait_applied()
    hub.stop()
    log = hub.data_dir / "log"
    first = dict(dump(log, "log"))[seqs[0].to_bytes(8, "big")]
    load(log, "log", [(seqs[0].to_bytes(8, "big") + b"\x00", first),
                      (b"\x00\x00\x07", first)])
    hub.start()
    p = hub.hubctl("log")
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == seqs, p
    assert "STORE-FORGED log: a record does not open" in p.stderr, p
    assert hub.stats()["last_seq"] == seqs[1]
    assert hub.send(hubtest_envelope("school-a", other, salt="k-3")) == \
        [seqs[1] + 1]
    hub.wait_applied()
    hub.hubctl("erase", "--cpr", cpr, "--reason", "request 2026-105")
    out = hub.client_dir / "export.json"
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    assert json.loads(out.read_text())["events"] == []
    p = hub.hubctl("log")
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == \
        [seqs[1], seqs[1] + 1], p
    hub.wait_log(r"STORE-FORGED log: a record does not open")


def test_an_erasure_reports_the_forged_timers_it_passes(make_hub):
    """OPERATIONS.md, "Records that do not open": every record that does
    not open is logged STORE-FORGED with the database's name — also by a
    `hubctl erase`, which reads every timer to find the person's. The
    person's own timers go; the forged one, no one's, is left to hubd."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(6062).born("2010-09-07")       # 16: the legal clocks run
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["timers"] > 0
    hub.stop()
    derived = hub.data_dir / "derived"
    forged = b"\x7f" + b"\x00" * 15             # due in a far future
    load(derived, "timer", [(forged, b"\x00" * 81)])
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 2026-104")
    assert "STORE-FORGED timer: a record does not open" in p.stderr, \
        p.stderr
    assert [k for k, _ in dump(derived, "timer")] == [forged]


def test_a_damaged_record_not_yet_applied_is_passed_over_by_hand(make_hub):
    """OPERATIONS.md, "Records that do not open": a record hubd has not
    applied yet stops the applier there (a rebuild of derived/ too), the
    records before it applied, said once with the sequence and what to
    do, and raised to the ops caseworkers as `log_damaged` until it is
    passed; the events after it are stored and acked but no rule runs. Only
    `hubctl pass-damaged --seq N --reason TEXT` gets past it: refused for
    a record that opens or is absent, usage errors exit 2, every attempt
    audited; once passed, the applier goes on and the later events raise
    their alerts, while hubctl log still names the record."""
    import shutil
    import time
    cprs = CprGen(6061).take(4)
    hub = make_hub()
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.cprs.update(cprs)
    seqs = hub.absence_alerts("cw-anna", cprs[:3], "stuck")
    st = hub.wait_applied()
    assert st["alerts"] == 3, st
    damage_log_record(hub, seqs[1])
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(rf"HUB-APPLY log record {seqs[1]} does not open with the "
                 rf"storage key: applying the log stops there .* hubctl "
                 rf"pass-damaged --seq {seqs[1]} --reason TEXT")
    st = hub.wait_stats("applied up to the damaged record",
                        lambda s: s["last_applied"] == seqs[1] - 1)
    hub.wait_log(rf"warn HUB-OPS-LOG-DAMAGED log_damaged \(log\): log record "
                 rf"{seqs[1]} does not open with the storage key and "
                 rf"applying the log stops there.* hubctl pass-damaged "
                 rf"--seq {seqs[1]} --reason TEXT")
    [ops] = hub.peek("ops-olga", 1)
    assert ops["rule"] == "ops.log_damaged" and \
        f"log record {seqs[1]}" in ops["explanation"], ops
    # Stored and acked, but no rule runs past the damaged record.
    hub.assign(cprs[3], "cw-anna")
    [late] = hub.send(hubtest_envelope("school-a", cprs[3], salt="stuck-late",
                                       absent=12, expected=30))
    time.sleep(1.5)
    st = hub.stats()
    assert (st["last_applied"], st["last_seq"], st["alerts"]) == \
        (seqs[1] - 1, late, 4), st      # 3 and the ops alert

    p = hub.hubctl("pass-damaged", "--seq", str(seqs[1]), check=False)
    assert p.returncode == 2 and "needs --reason TEXT" in p.stderr, p
    p = hub.hubctl("pass-damaged", "--reason", "x", check=False)
    assert p.returncode == 2 and "needs --seq N" in p.stderr, p
    p = hub.hubctl("pass-damaged", "--seq", str(seqs[0]), "--reason",
                   "wrong one", check=False)
    assert p.returncode == 1 and f"log record {seqs[0]} opens with the " \
        "storage key" in p.stderr, p
    p = hub.hubctl("pass-damaged", "--seq", str(late + 100), "--reason",
                   "absent", check=False)
    assert p.returncode == 1 and f"no record {late + 100}" in p.stderr, p
    time.sleep(1)
    assert hub.stats()["last_applied"] == seqs[1] - 1

    p = hub.hubctl("pass-damaged", "--seq", str(seqs[1]), "--reason",
                   "disk error INC-4711; the backup lacks a week")
    assert p.stdout.startswith(f"passed over log record {seqs[1]}"), p
    st = hub.wait_applied()
    hub.wait_log(r"notice HUB-OPS-CLEARED log_damaged \(log\) no longer "
                 r"holds")
    assert st["alerts"] == 5, st     # the ops alert and cprs[3]'s
    assert f"STORE-SEAL log record {seqs[1]} does not open with the " \
        "storage key; passed over (hubctl pass-damaged, audited)" in \
        hub.log_text()
    p = hub.hubctl("log", check=False)
    assert p.returncode == 3 and f"STORE-SEAL log record {seqs[1]} does " \
        "not open" in p.stderr, p
    recs = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--json").stdout.splitlines()
        if line.startswith("{")]
    passes = [(r["result"], r["detail"]) for r in recs
              if r["action"] == "pass-damaged"]
    assert passes == [
        ("refused", f"log record {seqs[0]}: wrong one"),
        ("not-found", f"log record {late + 100}: absent"),
        ("ok", f"log record {seqs[1]}: disk error INC-4711; the backup "
               "lacks a week")], passes
