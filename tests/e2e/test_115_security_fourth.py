"""115 SECURITY.md, a fourth reading by an auditor: the second cases of
sentences whose first case earlier rounds test (a CURVE client with
another server key, a login name that is no id spending the gateway's
allowance, the notice address a revoke takes with it), the `audit
verify` wordings no test quoted whole, and an erased person's export and
trail. Every hub is privacy-swept at teardown."""

import json
import shutil
import subprocess
import time

import zmq

from hubtest import (AbsenceRow, CprGen, dashed, read_key_file, rules_hub,
                     wait_for)
from test_54_gateway_frames import Gateway, gateway_and_passwords, \
    login_asker
from test_61_audit import edit_audit, show, verify


def test_a_curve_client_with_another_server_key_is_not_seen(make_hub):
    """SECURITY.md "Who can connect": a client that speaks CURVE to
    another server key fails its handshake inside libzmq before ZAP is
    asked — "nothing about it is logged, counted or recorded" — on both
    endpoints, with a key that is registered there."""
    hub = make_hub()
    before = hub.stats()["audit_records"]
    wrong = read_key_file(hub.keys_dir / "desk-dora.key")["public"].encode()
    ctx = zmq.Context()
    try:
        for endpoint, who in ((hub.ingest, "school-a"),
                              (hub.delivery, "cw-anna")):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            own = read_key_file(hub.keys_dir / f"{who}.key_secret")
            s.curve_serverkey = wrong
            s.curve_publickey = own["public"].encode()
            s.curve_secretkey = own["secret"].encode()
            s.connect(endpoint)
            try:           # no handshake completes: nowhere to queue it
                s.send(b"\x01\x07", zmq.DONTWAIT)
            except zmq.Again:
                pass
            assert not s.poll(1500, zmq.POLLIN), endpoint
            s.close()
    finally:
        ctx.destroy(linger=0)
    time.sleep(1.2)                # refusals are written once a second
    assert hub.stats()["audit_records"] == before
    hub.stop()
    log = hub.log_text()
    assert "HUB-ZAP" not in log, log
    assert "keys admitted 0, refused 0," in log, log


def test_a_login_name_that_is_no_id_spends_the_gateways_allowance(
        make_hub):
    """SECURITY.md "Login limits": "a login whose name is no caseworker
    id at all counts too" against the gateway's `login_gateway_failures`
    a minute — a name, a CPR number, the hub's own id — after which a
    right password is refused unchecked (`limited`) until one failure's
    worth refills (60 / 3 = 20 s). Each such login is recorded with
    actor `-` and detail `GATEWAY: not a caseworker id`, what was typed
    not kept."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00",
                    settings={"login_gateway_failures": "3"})
    gateway_and_passwords(hub, "cw-anna")
    cpr = CprGen(11502).next()
    hub.cprs.add(cpr)
    g = Gateway(hub)
    log_in = login_asker(g)
    wrong = (3, "wrong caseworker or password")
    try:
        for name in ("Anna Hansen", dashed(cpr), "hub"):
            assert log_in(name, "a guess") == wrong, name
        assert log_in("cw-anna") == (7, "too many failed logins through "
                                     "this gateway; wait a minute and try "
                                     "again")
        hub.advance("2026-11-02T08:00:20")
        assert log_in("cw-anna")[0] == 0
    finally:
        g.close()

    def logins():
        return [(r["actor"], r["result"], r["detail"]) for r in show(hub)
                if r["action"] == "login"]
    wait_for(lambda: len(logins()) == 5, 10, "the logins written",
             interval=0.3)
    assert logins() == [("-", "denied", "web-1: not a caseworker id")] * 3 \
        + [("cw-anna", "limited", "web-1"), ("cw-anna", "ok", "web-1")]
    trail = hub.hubctl("audit", "show", "--json").stdout
    assert "Anna" not in trail and "Hansen" not in trail


def test_a_revoke_takes_the_notice_address_with_it(make_hub):
    """SECURITY.md "Passwords": `hubctl revoke-caseworker` deletes the
    caseworker's password hash "(and notice address)" with the
    registration, so registering the id again brings neither back:
    removing the address then finds none (OPERATIONS.md: exit 1,
    `hubctl: set-email: ID has no address`)."""
    hub = make_hub(start=False)
    p = hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    assert p.stdout == "e-mail notices of new alerts for cw-anna go to " \
        "anna@kommune.example.dk\n"
    hub.hubctl("revoke-caseworker", "cw-anna")
    hub.register_caseworker("cw-anna")
    p = hub.hubctl("set-email", "cw-anna", "-", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: set-email: cw-anna has no address\n"), p
    assert [(r["result"], r["detail"]) for r in show(hub)
            if r["action"] == "set-email"] == [
        ("ok", "cw-anna"), ("failed", "cw-anna: no address to remove")]


def verify_out(hub):
    p = verify(hub)
    return p.returncode, p.stdout


def test_verify_names_a_replaced_last_record_and_a_cut_tail_word_for_word(
        make_hub):
    """SECURITY.md "Verifying", the wordings no other test quotes whole:
    the last record replaced by one that chains from the record before
    it (a copy of the store that went on differently) and no checkpoint
    over it — `record S: hash mismatch with the recorded head`, `1
    problem in all`; records cut from a tail a checkpoint signed —
    `tail truncated: the signed checkpoint covers N records, only M
    exist`, one problem per checkpoint past the end and one for the head;
    and a trail emptied whole, records, head and checkpoints, verifies
    as a new store's does (`audit trail intact: 0 records`, "What it does
    not protect against")."""
    hub = make_hub(start=False, register=False)
    env = hub.data_dir / "log"
    for name in ("cw-x", "cw-y"):
        hub.keygen(name)
    hub.hubctl("register-caseworker", "cw-x")
    saved = hub.tmp / "saved-log"
    shutil.copytree(env, saved)
    secret = hub.keys_dir / "hub.sign_secret"
    secret.rename(hub.tmp / "aside")      # record 2 signed by no one
    hub.hubctl("register-caseworker", "cw-y")
    other = []
    edit_audit(hub, lambda pairs: other.extend(pairs) or pairs)
    shutil.rmtree(env)
    shutil.copytree(saved, env)
    hub.hubctl("register-caseworker", "cw-y", "--desk")
    own = []
    edit_audit(hub, lambda pairs: own.extend(pairs) or pairs)
    assert len(own) == len(other) == 2 and own[0] == other[0] and \
        own[1] != other[1]
    edit_audit(hub, lambda pairs: [own[0], other[1]])
    assert verify_out(hub) == (1, "audit trail BROKEN at record 2: record "
                               "2: hash mismatch with the recorded head\n"
                               "1 problem in all; 2 records, 1 "
                               "checkpoints\n")
    edit_audit(hub, lambda pairs: own)
    (hub.tmp / "aside").rename(secret)
    hub.hubctl("register-caseworker", "cw-x", "--ops")   # 3, signed
    hub.hubctl("register-caseworker", "cw-x")            # 4, signed
    rc, out = verify_out(hub)
    assert rc == 0 and out.startswith(
        "audit trail intact: 4 records, 3 signed checkpoints (last at "
        "record 4), head at record 4\nlast checkpoint: record 4, head "), out
    edit_audit(hub, lambda pairs: pairs[:-1])
    assert verify_out(hub) == (1, "audit trail BROKEN at record 4: tail "
                               "truncated: the signed checkpoint covers 4 "
                               "records, only 3 exist\n2 problems in all; "
                               "3 records, 3 checkpoints\n")
    edit_audit(hub, lambda pairs: pairs[:-1])
    assert verify_out(hub) == (1, "audit trail BROKEN at record 3: tail "
                               "truncated: the signed checkpoint covers 3 "
                               "records, only 2 exist\n3 problems in all; "
                               "2 records, 3 checkpoints\n")
    edit_audit(hub, lambda pairs: [])
    edit_audit(hub, lambda pairs: [], db="audit_ckpt")
    rc, out = verify_out(hub)
    assert rc == 0 and out.startswith("audit trail intact: 0 records, "), out
