"""05 auth: only registered CURVE keys get in, each on its own endpoint.

ZAP admits agency keys on ingest and caseworker keys on delivery; anything
else never reaches the store: an unregistered adapter exits 3 with a clear
message, a plaintext client gets no answer, a refused inbox exits 3, and
re-registering an id with a new key revokes the old one.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import json
import re
import shutil
import subprocess
import time

import zmq
from zmq.utils.monitor import recv_monitor_message

import hubtest
from hubtest import (ACCEPTED, EXIT_FATAL, SLOW, AbsenceRow, CprGen,
                     IngestClient, envelope, frame, read_key_file)


def unchanged(hub, before):
    after = hub.stats()
    for key in ("log_events", "event_ids", "last_seq", "alerts"):
        assert after[key] == before[key], (key, before, after)


def test_unregistered_adapter_key_refused(hub):
    hub.keygen("school-x")              # a key, but never registered
    before = hub.stats()
    cprs = CprGen(501).take(5)
    path, _ = hub.csv("w19.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path, agency="school-x", wait=60)
    assert r.rc == EXIT_FATAL, str(r)
    assert "register-agency" in r.stderr, r.stderr
    assert "refused" in r.stderr, r.stderr
    unchanged(hub, before)
    hub.wait_log(r"HUB-ZAP refused CURVE client .* on ingest: key not "
                 r"registered")
    # The events wait in the outbox: registering the key lets them through.
    hub.register_agency("school-x")
    again = hub.adapter("flush", agency="school-x")
    assert again.rc == 0, str(again)
    assert (again.summary["accepted"], again.summary["pending"]) == (5, 0)
    assert hub.stats()["log_events"] == before["log_events"] + 5


def test_python_client_with_unregistered_key_gets_nothing(hub):
    hub.keygen("school-x")
    [cpr] = CprGen(502).take(1)
    hub.cprs.add(cpr)
    before = hub.stats()
    with IngestClient(hub, "school-x") as c:
        c.send(frame(envelope("school-x", cpr, salt=1)), timeout=1.5)
        assert c.recv_ack(1.5) is None
    hub.wait_log(r"HUB-ZAP refused CURVE client")
    unchanged(hub, before)


def handshake_events(hub, key_id, server_key=None, seconds=3):
    """(event, value) of every monitor event of a CURVE DEALER on the
    ingest endpoint during `seconds`."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    own = read_key_file(hub.keys_dir / f"{key_id}.key_secret")
    sock.curve_serverkey = (server_key or read_key_file(
        hub.keys_dir / "hub.key")["public"]).encode()
    sock.curve_publickey = own["public"].encode()
    sock.curve_secretkey = own["secret"].encode()
    mon = sock.get_monitor_socket()
    sock.connect(hub.ingest)
    seen = []
    deadline = time.monotonic() + seconds * SLOW
    while time.monotonic() < deadline:
        if mon.poll(100, zmq.POLLIN):
            e = recv_monitor_message(mon)
            seen.append((e["event"], e["value"]))
    sock.disable_monitor()
    mon.close(0)
    sock.close(0)
    ctx.destroy(linger=0)
    return seen


def test_handshake_failures_as_a_socket_monitor_sees_them(hub):
    """PROTOCOL.md §1: an unregistered key is refused once with
    HANDSHAKE_FAILED_AUTH 400 and the socket does not try again; a wrong CURVE_SERVERKEY fails with
    HANDSHAKE_FAILED_NO_DETAIL at every reconnect; and an adapter with
    the wrong hub.key exits 3 naming it, its events kept."""
    hub.keygen("school-x")
    seen = handshake_events(hub, "school-x")
    failed = [(e, v) for e, v in seen if e & (
        zmq.EVENT_HANDSHAKE_FAILED_AUTH |
        zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL |
        zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL)]
    assert failed == [(zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)], seen
    assert [e for e, _ in seen].count(zmq.EVENT_CONNECTED) == 1, seen
    wrong = read_key_file(hub.keys_dir / "cw-anna.key")["public"]
    seen = handshake_events(hub, "school-a", server_key=wrong)
    events = [e for e, _ in seen]
    assert events.count(zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL) >= 3, seen
    assert zmq.EVENT_HANDSHAKE_SUCCEEDED not in events, seen
    assert zmq.EVENT_HANDSHAKE_FAILED_AUTH not in events, seen
    keys = hub.tmp / "wrong-hub-key"
    keys.mkdir()
    (keys / "hub.key").write_text(f"public = {wrong}\n")
    (keys / "school-a.key_secret").write_bytes(
        (hub.keys_dir / "school-a.key_secret").read_bytes())
    (keys / "school-a.key_secret").chmod(0o600)
    path, _ = hub.csv("w19.csv", [AbsenceRow(c) for c in CprGen(506).take(2)])
    r = hub.adapter("import", path, keys_dir=keys)
    assert r.rc == EXIT_FATAL, str(r)
    assert r.summary["pending"] == 2, str(r)
    assert "keys_dir/hub.key is not the hub's public key" in r.stderr, \
        r.stderr


def test_plaintext_client_gets_nowhere(hub):
    [cpr] = CprGen(503).take(1)
    hub.cprs.add(cpr)
    before = hub.stats()
    with IngestClient(hub, curve=False) as c:
        c.send(frame(envelope("school-a", cpr, salt=2)), timeout=1.5)
        assert c.recv_ack(1.5) is None
    unchanged(hub, before)
    assert "HUB-REJECT" not in hub.log_text()
    assert not re.search(r"HUB-ZAP admitted", hub.log_text())


def test_caseworker_key_refused_on_ingest(hub):
    before = hub.stats()
    [cpr] = CprGen(504).take(1)
    path, _ = hub.csv("w19.csv", [AbsenceRow(cpr)])
    r = hub.adapter("import", path, agency="cw-anna", wait=60)
    assert r.rc == EXIT_FATAL, str(r)
    unchanged(hub, before)
    hub.wait_log(r"HUB-ZAP refused CURVE client .* on ingest: key "
                 r"registered as a caseworker")


def test_gateway_key_named_as_a_gateway(hub):
    """A web gateway's key is never a caseworker of its own (PROTOCOL.md
    §4a): refused on ingest as a gateway's, and admitted on delivery as
    one, so an operator reading the log is not told of a caseworker
    that does not exist."""
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    [cpr] = CprGen(507).take(1)
    hub.cprs.add(cpr)
    before = hub.stats()
    with IngestClient(hub, "web-1") as c:
        c.send(frame(envelope("web-1", cpr, salt=1)), timeout=1.5)
        assert c.recv_ack(1.5) is None
    hub.wait_log(r"HUB-ZAP refused CURVE client .* on ingest: key "
                 r"registered as a web gateway")
    unchanged(hub, before)
    c = IngestClient(hub, "web-1")
    try:                     # the same key on the delivery endpoint
        c.sock.disconnect(hub.ingest)
        c.sock.connect(hub.delivery)
        c.send(b"\x01\x07")
        assert c.sock.poll(10000), "no answer on delivery"
    finally:
        c.close()
    hub.wait_log(r"HUB-ZAP admitted web gateway 'web-1' from .* on "
                 r"delivery")
    assert "admitted caseworker 'web-1'" not in hub.log_text()


def test_agency_key_refused_on_delivery(hub):
    rc, alerts, err = hub.inbox("school-a", idle_exit=20)
    assert rc == 3, err
    assert alerts == []
    assert "register-caseworker" in err
    hub.wait_log(r"HUB-ZAP refused CURVE client .* on delivery: key "
                 r"registered as an agency")


def test_unregistered_caseworker_refused(hub):
    hub.keygen("cw-ghost")
    rc, alerts, err = hub.inbox("cw-ghost", idle_exit=20)
    assert rc == 3, err
    assert alerts == []
    hub.wait_log(r"HUB-ZAP refused CURVE client .* on delivery: key not "
                 r"registered")



def test_hello_log_line_says_a_desk_member_as_documented(hub):
    """OPERATIONS.md, Monitoring: `HUB-HELLO` `caseworker ID connected,
    N open alerts`, with ` (desk member)` after the id of a desk member
    (registered with --desk): the line a log watcher matches."""
    for cw in ("cw-anna", "desk-dora"):
        rc, alerts, err = hub.inbox(cw, idle_exit=2)
        assert rc == 0, err
    hub.wait_log(r"HUB-HELLO caseworker cw-anna connected, 0 open alerts")
    hub.wait_log(r"HUB-HELLO caseworker desk-dora connected \(desk "
                 r"member\), 0 open alerts")


def test_inbox_pointed_at_the_ingest_endpoint_is_refused_its_key(hub):
    """OPERATIONS.md, "Caseworkers": a registered caseworker's key is
    refused on the ingest endpoint, which admits agencies only: inbox
    says the key was refused and exits 3, for every command; hubd logs
    why."""
    for args in (["--list"], ["--contact", "00" * 9, "--how", "phone"],
                 ["--idle_exit", "5"]):
        p = subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery", hub.ingest,
             *args], capture_output=True, text=True, timeout=60)
        assert (p.returncode, p.stdout, p.stderr) == (
            3, "", "inbox: the hub refused this caseworker's key: "
            "register it with hubctl register-caseworker\n"), (args, p)
    hub.wait_log(r"HUB-ZAP refused CURVE client .* on ingest: key "
                 r"registered as a caseworker")


def test_reregistered_key_revokes_old(hub):
    cprs = CprGen(505).take(2)
    hub.cprs.update(cprs)
    hub.keygen("school-a-2024")
    hub.register_agency("school-a",
                        key=hub.keys_dir / "school-a-2024.key")
    before = hub.stats()
    with IngestClient(hub, "school-a") as old:       # the revoked key
        old.send(frame(envelope("school-a", cprs[0], salt=3)), timeout=1.5)
        assert old.recv_ack(1.5) is None
    unchanged(hub, before)
    with IngestClient(hub, "school-a-2024") as new:  # same agency, new key
        ack = new.ack_for(frame(envelope("school-a", cprs[1], salt=4)))
        assert ack.status == ACCEPTED, ack
    assert hub.stats()["log_events"] == before["log_events"] + 1
    hub.wait_log(r"HUB-ZAP refused CURVE client .* key not registered")


def test_registering_again_for_permissions_names_the_key_in_force(hub):
    """OPERATIONS.md, Replacing and revoking keys: the key is read from
    --key or keys_dir/ID.key, also for an id registered already; naming
    the key in force changes the permissions alone, leaving it out takes
    keys_dir/ID.key (here the old key) back."""
    cprs = CprGen(506).take(2)
    hub.cprs.update(cprs)
    hub.keygen("school-a-2025")
    new = hub.keys_dir / "school-a-2025.key"
    hub.register_agency("school-a", key=new)
    new_public = read_key_file(new)["public"]
    r = hub.hubctl("register-agency", "school-a", "--key", str(new),
                   "--types", "absence,readiness")
    assert r.stdout == f"registered agency school-a (key {new_public[:8]}...)\n"
    with IngestClient(hub, "school-a-2025") as client:
        ack = client.ack_for(frame(envelope("school-a", cprs[0], salt=5)))
        assert ack.status == ACCEPTED, ack
    r = hub.hubctl("register-agency", "school-a", "--types", "absence")
    old_public = read_key_file(hub.keys_dir / "school-a.key")["public"]
    assert r.stdout == f"registered agency school-a (key {old_public[:8]}...)\n"
    with IngestClient(hub, "school-a") as client:
        ack = client.ack_for(frame(envelope("school-a", cprs[1], salt=6)))
        assert ack.status == ACCEPTED, ack


def test_key_of_another_id_is_refused(hub):
    """A key admits one id: registering it for a second id (any kind) is
    refused with exit 1, naming the holder, and changes nothing, so the
    holder is neither taken over nor audited as someone else."""
    before = hub.stats()
    cw_anna = hub.keys_dir / "cw-anna.key"
    for args, holder in (
            (["register-caseworker", "cw-new", "--key", str(cw_anna)],
             "caseworker cw-anna"),
            (["register-agency", "school-new", "--key", str(cw_anna)],
             "caseworker cw-anna"),
            (["register-gateway", "web-new", "--key", str(cw_anna)],
             "caseworker cw-anna"),
            (["register-caseworker", "cw-new", "--key",
              str(hub.keys_dir / "school-a.key")], "agency school-a")):
        p = hub.hubctl(*args, check=False)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        assert holder in p.stderr, (args, p.stderr)
        assert "registered" not in p.stdout, p.stdout
    after = hub.stats()
    assert after["principals"] == before["principals"], (before, after)
    # cw-anna is still cw-anna: admitted as herself.
    rc, alerts, err = hub.inbox("cw-anna", idle_exit=3)
    assert rc == 0, err
    hub.wait_log(r"HUB-ZAP admitted caseworker 'cw-anna'")
    assert "cw-new" not in hub.log_text()
    # Each refusal is audited, naming the holder.
    recs = [json.loads(line) for line in
            hub.hubctl("audit", "show", "--json").stdout.splitlines()
            if line.startswith("{")]
    refused = [r for r in recs if r["result"] == "refused"
               and r["action"].startswith("register-")]
    assert {r["action"] for r in refused} == {
        "register-caseworker", "register-agency", "register-gateway"}, recs
    assert len(refused) == 4
    assert all("already registered to" in r["detail"] for r in refused)
    # The holder itself re-registering (new flags) still works.
    p = hub.hubctl("register-caseworker", "cw-anna", "--key", str(cw_anna),
                   "--desk")
    assert "registered caseworker cw-anna" in p.stdout
    assert hub.stats()["principals"] == before["principals"]


def test_a_key_registered_to_the_same_id_of_another_kind_is_refused(hub):
    """OPERATIONS.md, Replacing and revoking keys: a key registered to an
    agency is refused for a caseworker or gateway, also one of the same
    id; the refusal says which registration is missing, not that the id,
    registered as an agency, is not registered at all."""
    key = hub.keys_dir / "school-a.key"
    for kind in ("caseworker", "gateway"):
        p = hub.hubctl(f"register-{kind}", "school-a", "--key", str(key),
                       check=False)
        assert (p.returncode, p.stdout) == (1, ""), p.stderr
        assert p.stderr == (
            f"hubctl: register: the key is already registered to agency "
            f"school-a ({key}): {kind} school-a is not registered; a key "
            f"identifies one registration, so give {kind} school-a a key "
            f"of its own\n"), p.stderr


def test_an_agency_and_a_caseworker_may_share_an_id(hub):
    """OPERATIONS.md, Registering who may connect: agencies and
    caseworkers are registered apart, so one id may be both, each with
    its own key; revoking one leaves the other."""
    before = hub.stats()["principals"]
    hub.keygen("shared-1")
    hub.keygen("shared-1-cw")
    hub.register_agency("shared-1", key=hub.keys_dir / "shared-1.key")
    p = hub.hubctl("register-caseworker", "shared-1", "--key",
                   str(hub.keys_dir / "shared-1-cw.key"))
    assert p.stdout.startswith("registered caseworker shared-1 "), p
    assert hub.stats()["principals"] == before + 2
    assert hub.hubctl("revoke-agency", "shared-1").stdout == \
        "revoked agency shared-1\n"
    assert hub.stats()["principals"] == before + 1
    assert hub.hubctl("revoke-caseworker", "shared-1").returncode == 0


def test_inbox_with_a_hub_key_that_is_not_the_hubs(hub):
    """PROTOCOL.md §1: a handshake that fails with NO_DETAIL again and
    again means CURVE_SERVERKEY is not the hub's public key; "the hub
    logs nothing about it; fix the key on your side". inbox must say so
    (exit 3) rather than send the operator to register a key that is
    registered already."""
    keys = hub.tmp / "keys-wrong-hub"
    keys.mkdir()
    shutil.copy(hub.keys_dir / "cw-anna.key_secret", keys)
    # A public key file, but cw-anna's own, not the hub's.
    shutil.copy(hub.keys_dir / "cw-anna.key", keys / "hub.key")
    for args in (["--idle_exit", "5"], ["--list"]):
        p = subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(keys), "--delivery", hub.delivery,
             "--timeout", "5", *args],
            capture_output=True, text=True, timeout=60)
        assert p.returncode == 3, (args, p.stderr)
        assert p.stderr == (
            "inbox: the CURVE handshake with the hub failed 3 times: "
            "keys_dir/hub.key is not the hub's public key (or --delivery "
            "is not the hub's delivery endpoint)\n"), (args, p.stderr)
    assert "admitted caseworker 'cw-anna'" not in hub.log_text()


def test_the_hubs_own_key_replaced_as_operations_says(make_hub):
    """OPERATIONS.md "Replacing the hub's own key": a new CURVE pair
    written into the existing hub.key_secret's `public` and `secret`
    lines (its storage_key and hash_key kept) opens the same store; a
    client given the new hub.key gets in, one still holding the old one
    fails its handshake and is told so (exit 3, its events kept)."""
    hub = make_hub()
    cprs = CprGen(508).take(2)
    hub.cprs.update(cprs)
    path, _ = hub.csv("w19.csv", [AbsenceRow(cprs[0])])
    assert hub.adapter("import", path).rc == 0
    old_public = (hub.keys_dir / "hub.key").read_text()
    new = hub.tmp / "new"
    subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                    str(new), "hub"], check=True, capture_output=True,
                   timeout=30)
    pair = read_key_file(new / "hub.key_secret")
    secret = hub.keys_dir / "hub.key_secret"
    secret.write_text("".join(
        f"{ln.split('=')[0].strip()} = {pair[ln.split('=')[0].strip()]}\n"
        if ln.split("=")[0].strip() in ("public", "secret") else ln + "\n"
        for ln in secret.read_text().splitlines()))
    shutil.copy(new / "hub.key", hub.keys_dir / "hub.key")
    hub.restart()
    assert hub.stats()["log_events"] == 1          # the same store
    stale = hub.tmp / "stale-keys"                 # a client not told yet
    stale.mkdir()
    (stale / "hub.key").write_text(old_public)
    shutil.copy(hub.keys_dir / "school-a.key_secret", stale)
    path, _ = hub.csv("w20.csv", [AbsenceRow(cprs[1])])
    r = hub.adapter("import", path, keys_dir=stale)
    assert r.rc == EXIT_FATAL and r.summary["pending"] == 1, str(r)
    assert "keys_dir/hub.key is not the hub's public key" in r.stderr
    r = hub.adapter("flush")
    assert r.rc == 0 and r.summary["accepted"] == 1, str(r)
    assert hub.stats()["log_events"] == 2


def test_a_key_file_without_a_public_line_is_named(hub):
    """OPERATIONS.md, Registering who may connect: a registration whose
    key file cannot be read changes nothing, exit 1, naming the file; an
    empty (or truncated) file is one, and so is a hub.key without its
    public line beside an inbox: which file is wrong is said, as for a
    file that cannot be opened."""
    before = hub.stats()["principals"]
    empty = hub.tmp / "school-b.key"
    empty.write_text("")
    cut = hub.tmp / "school-c.key"
    cut.write_text((hub.keys_dir / "school-a.key").read_text()
                   .split("public")[0])
    for path in (empty, cut):
        r = hub.hubctl("register-agency", "school-b", "--key", str(path),
                       check=False)
        assert (r.returncode, r.stdout, r.stderr) == (
            1, "", f"hubctl: cannot read the public key: {path}: not a "
            "public key file (needs public)\n"), r.stderr
    assert hub.stats()["principals"] == before
    keys = hub.tmp / "inbox-keys"
    keys.mkdir()
    shutil.copy(hub.keys_dir / "cw-anna.key_secret", keys)
    (keys / "hub.key").write_text("")
    p = subprocess.run([hubtest.binary("inbox"), "--keys_dir", str(keys),
                        "--caseworker", "cw-anna", "--delivery",
                        hub.delivery, "--list"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1 and \
        f"inbox: {keys}/hub.key: not a public key file (needs public)" \
        in p.stderr, p.stderr


def test_a_refused_handshake_is_recorded_with_whose_key_it_is(hub):
    """SECURITY.md, Audit trail: every handshake ZAP refuses is recorded
    `connect` `refused` with the endpoint, address and why, and the key.
    Its actor says whose key it is: `-` for a key no one registered, the
    id it is registered to when it came to the other endpoint, so that
    `audit show --actor ID` finds an id's refused handshakes too."""
    hub.keygen("school-x")
    for key_id in ("school-x", "cw-anna"):
        with IngestClient(hub, key_id) as c:
            c.send(b"\x01\x07", timeout=1.0)
            c.sock.poll(1000)

    def refusals():
        p = hub.hubctl("audit", "show", "--json")
        return [json.loads(x) for x in p.stdout.splitlines()
                if '"connect"' in x]
    recs = hubtest.wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
        refusals()), 10, "two refusals recorded", interval=0.3)
    got = {(r["actor"], r["result"], r["key"][:8], r["detail"])
           for r in recs}
    keys = {k: read_key_file(hub.keys_dir / f"{k}.key")["public"]
            for k in ("school-x", "cw-anna")}
    assert got == {
        ("-", "refused", keys["school-x"][:8],
         "ingest from 127.0.0.1: key not registered"),
        ("cw-anna", "refused", keys["cw-anna"][:8],
         "ingest from 127.0.0.1: key registered as a caseworker")}, got


def test_the_hubs_own_key_is_no_key_to_register(hub):
    """OPERATIONS.md, Replacing and revoking keys: a key belongs to one
    id, and `hub` is the hub's own (register-* refuse that id). So the
    hub's own public key (keys_dir/hub.key, given by mistake for an
    agency's file) is refused for every kind as a key registered to
    another id is: exit 1, nothing changed, recorded `refused`."""
    hub_key = hub.keys_dir / "hub.key"
    public = read_key_file(hub_key)["public"]
    before = hub.stats()["principals"]
    for kind in ("agency", "caseworker", "gateway"):
        r = hub.hubctl(f"register-{kind}", "school-z", "--key", str(hub_key),
                       check=False)
        assert (r.returncode, r.stdout, r.stderr) == (
            1, "", f"hubctl: register: the key is the hub's own ({hub_key}):"
            f" {kind} school-z is not registered; a key identifies one "
            f"registration, so give {kind} school-z a key of its own\n"), \
            r.stderr
    assert hub.stats()["principals"] == before
    recs = [json.loads(x) for x in hub.hubctl(
        "audit", "show", "--json").stdout.splitlines()]
    refused = [r for r in recs if r["action"].startswith("register-")
               and r["result"] == "refused"]
    assert len(refused) == 3 and all(
        r["detail"].startswith(f"school-z key {public[:8]}... ") and
        r["detail"].endswith(": the key is the hub's own")
        for r in refused), refused


def test_a_store_that_cannot_be_read_refuses_no_key(make_hub):
    """PROTOCOL.md §1 and §3, ADAPTERS.md (ADP-AUTH): a key is refused
    only when it is not registered. While hubd cannot read its store
    (log/ without a free reader slot) it cannot tell: an open
    connection's frame, read again since a registration changed, is
    answered E_UNAVAILABLE, retryable, not "key revoked or replaced"; a
    new connection's handshake is ZAP's temporary failure (300), which
    leaves the adapter waiting (exit 2, the events kept) instead of
    stopping as for a refused key (exit 3). Once the store reads again
    the same connection and the next flush are accepted."""
    from agencytest import run_adapter
    from hubtest import E_UNAVAILABLE, EXIT_PENDING, REJECTED
    from test_25_hub_refused import ABSENCE_HEADER, ABSENCE_ROWS
    from test_60_store_at_rest import readers_taken
    hub = make_hub(agencies={"school-a": "absence"})
    cprs = CprGen(5141).take(3)
    hub.cprs.update(cprs)
    hub.cprs.add("1503094321")
    path = hub.inputs_dir / "uge19.csv"
    path.write_text("\n".join([ABSENCE_HEADER] + ABSENCE_ROWS) + "\n",
                    encoding="utf-8")
    with IngestClient(hub, "school-a") as client:
        ack = client.ack_for(frame(envelope("school-a", cprs[0], salt=1)))
        assert ack.status == ACCEPTED, ack
        # A registration changed: hubd reads the registrations again.
        seen = hub.log_text().count("HUB-ZAP registrations changed")
        hub.register_agency("school-a", "absence,dropout")
        hub.wait_log(r"HUB-ZAP registrations changed \(generation \d+\)",
                     count=seen + 1)
        with readers_taken(hub.data_dir / "log"):
            ack = client.ack_for(frame(envelope("school-a", cprs[1],
                                                salt=2)))
            assert (ack.status, ack.code, ack.retryable) == \
                (REJECTED, E_UNAVAILABLE, True), ack
            assert ack.reason == "the hub cannot read its store right " \
                "now; retry later", ack
            r = run_adapter(hub, "school", "import", path,
                            agency="school-a", timeout=3)
        assert r.rc == EXIT_PENDING, str(r)
        assert r.summary["pending"] == 2, str(r)
        assert "refused" not in r.stderr, r.stderr
        hub.wait_log(r"warn HUB-ZAP CURVE client from 127\.0\.0\.1 on "
                     r"ingest not checked: the store cannot be read")
        ack = client.ack_for(frame(envelope("school-a", cprs[1], salt=2)))
        assert ack.status == ACCEPTED, ack
    r = run_adapter(hub, "school", "flush", agency="school-a")
    assert r.rc == 0 and r.summary["accepted"] == 2, str(r)
    assert "revoked" not in hub.log_text()
    assert "key not registered" not in hub.log_text()


def test_a_handshake_the_store_cannot_check_waits_then_goes_on(make_hub):
    """PROTOCOL.md §1: a handshake the hub cannot check because its store
    cannot be read is held (up to 25 s) and answered as usual as soon as
    the store reads again: an adapter started while no read could be made
    sees no close (three closes in a row would stop it as refused) and
    delivers once the store reads, with no ZAP 300 answered."""
    import threading
    from agencytest import run_adapter
    from test_25_hub_refused import ABSENCE_HEADER, ABSENCE_ROWS
    from test_60_store_at_rest import readers_taken
    hub = make_hub(agencies={"school-a": "absence"})
    hub.cprs.add("1503094321")
    path = hub.inputs_dir / "uge19.csv"
    path.write_text("\n".join([ABSENCE_HEADER] + ABSENCE_ROWS) + "\n",
                    encoding="utf-8")
    done = {}
    with readers_taken(hub.data_dir / "log"):
        runner = threading.Thread(target=lambda: done.update(r=run_adapter(
            hub, "school", "import", path, agency="school-a", timeout=30)))
        runner.start()
        hub.wait_log(r"warn HUB-ZAP CURVE client from 127\.0\.0\.1 on "
                     r"ingest not checked: the store cannot be read \(key "
                     r".{8}\.\.\.\); the handshake waits up to 25 s for it")
        time.sleep(3)
    runner.join(60 * SLOW)
    r = done["r"]
    assert r.rc == 0, str(r)
    assert r.summary["accepted"] == 2, str(r)
    assert "closed the connection" not in r.stderr, r.stderr
    log = hub.log_text()
    assert "answered ZAP 300" not in log
    assert "info HUB-ZAP admitted agency 'school-a'" in log
