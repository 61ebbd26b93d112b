"""115 SECURITY.md, a fourth reading by an auditor: the second cases of
sentences whose first case earlier rounds test (a CURVE client with
another server key, each kind of key refused on the other endpoint, a
login name that is no id spending the gateway's allowance and taking a
wrong password's work, the notice address a revoke takes with it, an
outbox's origins, a CPR in every path hubctl confirms), the `audit
verify` wordings no test quoted whole, an export on a store too full to
record it, and consents that end together taking back every alert
before the next list. Every hub is privacy-swept at teardown."""

import re
import shutil
import signal
import statistics
import time

import zmq

from hubtest import (ROOT, AbsenceRow, CprGen, curve_dealer, dashed,
                     read_key_file, rules_hub, wait_for)
from test_53_delivery import clients  # noqa: F401 (a fixture)
from test_54_gateway_frames import Gateway, gateway_and_passwords, \
    login_asker
from test_61_audit import edit_audit, show, verify


def unanswered(s, ms, what):
    """A frame tried on a socket whose handshake is refused (none
    completes: nowhere to queue it, or queued and never sent) draws no
    answer within ms; the socket is closed."""
    try:
        s.send(b"\x01\x07", zmq.DONTWAIT)
    except zmq.Again:
        pass
    assert not s.poll(ms, zmq.POLLIN), what
    s.close()


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
            unanswered(s, 1500, endpoint)
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


def test_every_refused_handshake_is_logged_counted_and_recorded(make_hub):
    """SECURITY.md "Who can connect": a key is admitted only on its own
    endpoint; each refusal is logged (`HUB-ZAP`, warn) with the first 8
    characters of the key, counted and recorded (`connect` `refused`,
    actor the id the key is registered to, `-` for none; detail the
    endpoint, address and why) — for each kind on the other endpoint
    and for a revoked caseworker's key, not only the table's example."""
    hub = make_hub()
    for name in ("web-1", "cw-old"):
        hub.keygen(name)
    hub.hubctl("register-gateway", "web-1")
    hub.register_caseworker("cw-old")
    hub.hubctl("revoke-caseworker", "cw-old")
    tries = (("web-1", "ingest", "web-1", "key registered as a web gateway"),
             ("school-a", "delivery", "school-a",
              "key registered as an agency"),
             ("cw-old", "delivery", "-", "key not registered"),
             ("desk-dora", "ingest", "desk-dora",
              "key registered as a caseworker"))
    ctx = zmq.Context()
    try:
        for who, endpoint, _, _ in tries:
            s = curve_dealer(ctx, hub, who, getattr(hub, endpoint))
            unanswered(s, 1000, who)
    finally:
        ctx.destroy(linger=0)
    keys = {who: read_key_file(hub.keys_dir / f"{who}.key")["public"]
            for who, _, _, _ in tries}

    def refusals():
        return [(r["actor"], r["result"], r["key"], r["detail"])
                for r in show(hub) if r["action"] == "connect"]
    wait_for(lambda: len(refusals()) == 4, 10, "four refusals written",
             interval=0.3)
    assert sorted(refusals()) == sorted(
        (actor, "refused", keys[who], f"{endpoint} from 127.0.0.1: {why}")
        for who, endpoint, actor, why in tries)
    hub.stop()
    log = hub.log_text()
    for who, endpoint, _, why in tries:
        line = f"HUB-ZAP refused CURVE client from 127.0.0.1 on " \
            f"{endpoint}: {why} (key {keys[who][:8]}...)"
        assert f"hubd warn {line}" in log, line
    assert "keys admitted 0, refused 4," in log, log


def test_password_less_revoked_and_no_id_logins_take_the_same_work(
        make_hub):
    """SECURITY.md "Passwords": a wrong password and an unknown "(or
    revoked, or password-less)" caseworker get the same answer after the
    same work — and so does a name that is no id at all (a name, a CPR
    number, `hub`): none of them answers sooner than a registered
    caseworker's wrong password, which would tell a guesser that the id
    has no password to find. Measured as hubd's CPU time per login
    (test_84's measure), the median of three each."""
    from test_84_auditor import cpu_ticks
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True,
                                "cw-nopw": False, "cw-rev": False},
                   settings={"login_failures_max": "1000",
                             "login_gateway_failures": "1000"})
    gateway_and_passwords(hub, "cw-anna", "cw-rev")
    hub.hubctl("revoke-caseworker", "cw-rev")
    cpr = CprGen(11507).next()
    hub.cprs.add(cpr)
    g = Gateway(hub)
    log_in = login_asker(g)
    try:
        def work(who):
            before = cpu_ticks(hub.proc.pid)
            assert log_in(who, "wrong") == (3, "wrong caseworker or "
                                            "password"), who
            return cpu_ticks(hub.proc.pid) - before
        work("cw-anna")             # the first login makes the dummy hash
        medians = {who: statistics.median(work(who) for _ in range(3))
                   for who in ("cw-anna", "cw-nopw", "cw-rev", "Anna Hansen",
                               dashed(cpr), "hub")}
    finally:
        g.close()
    known = medians.pop("cw-anna")
    assert known >= 3, known            # argon2id: some 70 ms of CPU
    short = {who: t for who, t in medians.items() if t < known * 0.6}
    assert not short, (known, medians)


def test_an_outboxs_origins_are_sealed_and_emptied_once_delivered(
        make_hub):
    """SECURITY.md "Personal data at rest": an adapter's outbox seals
    the row each queued event was read from (`OUTBOX/origins`, 0600),
    "the file emptied whenever nothing is pending". While the hub is
    down the rows wait there, with no CPR in any form, nor the file's
    name or the agency; once the hub has acknowledged every event the
    file is empty."""
    from test_65_privacy_flow import forms
    hub = make_hub(start=False)
    cprs = CprGen(11508).take(3)
    hub.cprs.update(cprs)
    path, _ = hub.csv("uge19.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path, timeout=0)
    assert (r.rc, r.summary["pending"]) == (2, 3), str(r)
    origins = hub.outbox_dir() / "origins"
    data = origins.read_bytes()
    assert data and origins.stat().st_mode & 0o777 == 0o600
    assert not [c for c in cprs for n in forms(c) if n in data]
    for clear in (b"school-a", b"uge19", str(path.parent).encode()):
        assert clear not in data, clear
    hub.start()
    r = hub.adapter("flush")
    assert r.rc == 0, str(r)
    assert origins.stat().st_size == 0


def test_an_export_the_trail_cannot_take_is_not_handed_over(make_hub):
    """SECURITY.md "What a crash can lose": hubctl's records of what
    changed nothing in the store are written after it, and one the store
    cannot take leaves the command's result standing — `audit show`'s
    output, say. An export is no such record: a disclosure, it is
    recorded before it is handed over, so on a log/ map too full for its
    record (log_map_mb = 1, filled) nothing is handed over (exit 1, no
    document, OPERATIONS.md "Retention, access and erasure"). The page
    said `export` was among those whose result stands."""
    from test_53_delivery import until_refused
    from test_61_audit import fill_log_map
    hub = make_hub(settings={"log_map_mb": "1"})
    cpr = CprGen(11509).next()
    hub.assign(cpr, "cw-anna")
    until_refused(hub, "export-full")
    until_refused(hub, "export-full-1", step=1)
    hub.stop()
    fill_log_map(hub)
    out = hub.client_dir / "export.json"
    for args in ([], ["--out", str(out)]):
        p = hub.hubctl("export", "--cpr", cpr, *args, check=False)
        assert (p.returncode, p.stdout) == (1, ""), p.stderr
        assert p.stderr.endswith(
            "hubctl: export was not recorded in the audit trail: full\n"
            "hubctl: export failed: it cannot be recorded in the audit "
            "trail (nothing written)\n"), p.stderr
    assert not out.exists()
    # audit show's record is written after it: its output stands.
    p = hub.hubctl("audit", "show", "--actor", "cw-anna", check=False)
    assert p.returncode == 0 and p.stderr.endswith(
        "hubctl: audit-show was not recorded in the audit trail: full\n"), \
        p.stderr
    doc = " ".join((ROOT / "docs" / "SECURITY.md").read_text().split())
    after = re.search(r"hubctl's other records \(([^)]*)\) record something "
                      r"that changed nothing in the store, and are written "
                      r"after it", doc)
    assert after and "`export`" not in after.group(1), \
        after and after.group(1)
    assert "An `export` is recorded before the document is handed over" \
        in doc


def test_every_consent_that_ends_at_once_takes_its_alert_back_first(
        make_hub, clients):
    """SECURITY.md "Need to know": consent is judged at every
    disclosure, by the Danish date at that instant, and its open alert
    is taken back at that instant. With more consents ending at one
    instant than hubd fired timers in one batch (256), the open-alerts
    list asked at that instant still showed the addiction alerts of the
    batch after the first: 44 of 300 disclosed after their consent had
    ended. Every timer due is fired before a frame is judged."""
    from hubtest import ev_referral, frame, send_all_accepted
    from test_53_delivery import adults, hub53
    hub = hub53(make_hub)
    people = adults(11513, 300)
    hub.cprs.update(people)
    path = hub.inputs_dir / "assign.csv"
    path.write_text("cpr;caseworker;from;to;role\n" + "".join(
        f"{p};cw-anna;2024-01-01;;contact\n" for p in people))
    hub.hubctl("assign", "--file", str(path))
    send_all_accepted(hub, [frame(ev_referral(
        p, "2026-10-30", consent={"given": True, "expires": "2026-11-04"}))
        for p in people], agency="addiction-a")
    hub.wait_applied(60)
    assert hub.stats()["alerts_open"] == 300
    anna = clients(hub, "cw-anna", hello=False)
    anna.connected()

    def rules_listed(rid):
        return {a.rule for a in anna.result(rid)[0].alerts}
    anna.query(1)
    assert rules_listed(1) == {"addiction"}
    hub.set_clock("2026-11-04T22:59:59")
    hub.settle()
    # The clock passes the consents' end and the list is asked while
    # hubd is held, so that it meets both in one turn.
    hub.proc.send_signal(signal.SIGSTOP)
    try:
        hub.set_clock("2026-11-04T23:00:00")
        anna.query(2)
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    assert rules_listed(2) == {"withdrawn"}
    assert hub.stats()["alerts_open"] == 300      # the withdrawn notices


def test_every_confirmation_masks_a_cpr_in_a_path(make_hub, tmp_path):
    """SECURITY.md "Personal data at rest": hubctl's confirmations on
    standard output (`wrote FILE`, `backup in DIR`, `restored from
    DIR`, a report's files) and its messages on standard error mask a
    CPR number in what was typed, and the trail keeps it masked (the
    `restore` record's directory) — the cases test_63 leaves out: a
    keys_dir, a report's directory, a restore, an export's FILE."""
    hub = make_hub(start=False)
    cpr = CprGen(11515).next()
    hub.cprs.add(cpr)
    said = {}

    def run(*args, **kw):
        p = hub.hubctl(*args, check=False, **kw)
        said[args[0]] = (p.returncode, p.stdout + p.stderr)

    keys = tmp_path / f"keys-{cpr}"
    run("keygen", "--keys_dir", str(keys), "cw-z", config=False)
    report = tmp_path / f"status {dashed(cpr)}"
    report.mkdir()
    run("report", "--year", "2025", "--out", str(report / "status.html"))
    backup = tmp_path / f"backup-{cpr}"
    run("backup", str(backup))
    shutil.rmtree(hub.data_dir)
    run("restore", str(backup))
    run("export", "--cpr", cpr, "--out",
        str(tmp_path / f"gone-{cpr}" / "export.json"))

    def masked(path):
        return str(path).replace(cpr, "x" * 10).replace(
            dashed(cpr), "xxxxxx-xxxx")
    assert said == {
        "keygen": (0, f"wrote {masked(keys)}/cw-z.key (0644) and "
                   f"{masked(keys)}/cw-z.key_secret (0600)\n"),
        "report": (0, f"wrote {masked(report)}/status.html and 9 tables as "
                   f"{masked(report)}/status-*.csv\n"),
        "backup": (0, f"backup in {masked(backup)}: log up to sequence 0 "
                   "(0 events), audit trail 4 records (intact)\n"),
        "restore": (0, f"restored from {masked(backup)}: log up to "
                    "sequence 0 (0 events); run hubctl audit verify, then "
                    "start hubd\n"),
        "export": (1, "hubctl: export failed: cannot write "
                   f"{masked(tmp_path)}/gone-xxxxxxxxxx/export.json: No "
                   "such file or directory (nothing written)\n")}, said
    [restore] = [r for r in show(hub) if r["action"] == "restore"]
    assert restore["detail"] == masked(backup), restore


def test_a_stop_records_sessions_already_ended_by_why(make_hub):
    """SECURITY.md "Sessions": a stop records `stopped` for each web
    session still live then, "(`idle` or `revoked` for one that had
    already run out or lost its caseworker)": the clock moved past one
    session's web_session_idle and another's caseworker revoked while
    hubd was held, then SIGTERM — each end is recorded by its own
    cause, and only the live one as `stopped`."""
    from test_54_gateway_frames import login
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    gateway_and_passwords(hub, "cw-anna", "cw-bob", "desk-dora")
    g = Gateway(hub)
    try:
        login(g, "cw-anna", 1)
        hub.advance("2026-11-02T08:10:00")
        login(g, "cw-bob", 2)
        login(g, "desk-dora", 3)
        # Held only once the logins are written (a second at most): a
        # hubd held in the middle of a write would hold hubctl up.
        wait_for(lambda: [r["action"] for r in show(hub)].count("login")
                 == 3, 10, "the logins written", interval=0.3)
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            hub.set_clock("2026-11-02T08:35:00")   # anna 35 min, bob 25
            hub.hubctl("revoke-caseworker", "desk-dora")
            hub.proc.send_signal(signal.SIGTERM)
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        hub.stop()
    finally:
        g.close()
    assert sorted((r["actor"], r["result"]) for r in show(hub)
                  if r["action"] == "logout") == [
        ("cw-anna", "idle"), ("cw-bob", "stopped"), ("desk-dora", "revoked")]
