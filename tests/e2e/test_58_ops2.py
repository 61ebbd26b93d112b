"""58 operations, as an operator reads docs/OPERATIONS.md: bad values in
a --config file named by file and line (hubctl's own options, inbox's),
what hubd opens first at start, the metrics_listen refusal, a stop
while the event-id index is rebuilt, and a revoked caseworker's open alerts."""

import os
import subprocess

import hubtest


def test_hubctl_names_the_file_and_line_of_a_bad_option_value(make_hub,
                                                              tmp_path):
    """OPERATIONS.md "Start and stop": a bad value read from a file is
    reported with that file and line before the reason, in every program;
    hubctl's own options may stand in a --config file of their own
    ("hubctl --config hubd.conf --config ops.conf stats"). The exit
    status is the one the same value has on the command line, and nothing
    is stored or audited."""
    hub = make_hub(start=False)
    cpr = hubtest.CprGen(5801).next()
    hub.cprs.add(cpr)
    audit_before = hub.stats()["audit_records"]
    report = str(tmp_path / "status.html")
    rows = tmp_path / "assign.csv"
    rows.write_text(f"cpr;caseworker\n{cpr};cw-anna\n")
    cases = [
        ("types = bogus", ["register-agency", "school-b"], 2),
        ("types = absence,", ["register-agency", "school-b"], 2),
        ("role = boss", ["assign", "--cpr", cpr, "--caseworker", "cw-anna"],
         2),
        ("caseworker = Cw Anna", ["assign", "--cpr", cpr], 2),
        ("from = 2026-13-01",
         ["assign", "--cpr", cpr, "--caseworker", "cw-anna"], 1),
        ("to = 2026-02-30",
         ["assign", "--cpr", cpr, "--caseworker", "cw-anna"], 1),
        ("from = 2026-13-01", ["audit", "show"], 2),
        ("cpr = 123", ["audit", "show"], 2),
        ("actor = caf\xe9", ["audit", "show"], 2),
        ("year = 20x", ["report", "--out", report], 2),
        ("after = -1", ["log"], 2),
        # Refused with --file as on the command line: kept in a file, a
        # role would otherwise be dropped without a word and every row
        # without a role column made a contact person.
        ("role = guidance", ["assign", "--file", str(rows)], 2),
        ("from = 2026-01-01", ["assign", "--file", str(rows)], 2),
        (f"out = {tmp_path}/", ["report", "--year", "2026"], 2),
        (f"out = {tmp_path}/status-alerts.csv", ["report", "--year", "2026"],
         2),
        ("limit = x", ["log"], 2),
        ("cpr = 123", ["export"], 2),
        ("cpr = 123", ["erase", "--reason", "lawful ground"], 2),
        (f"reason = case {cpr}", ["erase", "--cpr", cpr], 2),
    ]
    failures = []
    for line, args, rc in cases:
        ops = tmp_path / "ops.conf"
        ops.write_bytes((line + "\n").encode("latin-1"))
        p = hub.hubctl(*args, "--config", str(ops), check=False)
        if p.returncode != rc or f"{ops}:1: " not in p.stderr \
                or p.stdout:
            failures.append(f"{line!r} {args[0]}: exit {p.returncode} "
                            f"(expected {rc}), stderr {p.stderr!r}")
        # The same words as on the command line, the file and line
        # before them: "hubctl: FILE:LINE: WORDS" (a Latin-1 value is
        # valid UTF-8 typed, so not compared).
        if not line.isascii():
            continue
        name, value = (x.strip() for x in line.split("=", 1))
        typed = hub.hubctl(*args, f"--{name}", value, check=False)
        want = f"hubctl: {ops}:1: " + typed.stderr[len("hubctl: "):]
        if typed.returncode != rc or p.stderr != want:
            failures.append(f"{line!r} {args[0]}: {p.stderr!r}, typed "
                            f"exit {typed.returncode} {typed.stderr!r}")
    assert not failures, "\n".join(failures)
    assert hub.stats()["audit_records"] == audit_before, \
        hub.hubctl("audit", "show").stdout
    assert not (tmp_path / "status.html").exists()


def test_a_start_names_what_the_service_user_cannot_open(make_hub):
    """OPERATIONS.md "As a Debian service": hubd reads its keys first,
    then locks data_dir, then opens the store, and names the first of
    them its user cannot open (exit 1): the key file, then
    data_dir/hubd.lock, then log/. Each fixed in turn, the next is
    named, and the last fix lets it start."""
    hub = make_hub(start=False)
    with hubtest.service_user_copy(hub, "ug-order-") as copy:
        keys, data, svc = copy.keys, copy.data, copy.svc
        os.chmod(data, 0o755)     # root's, not writable by the user

        def start():
            p = subprocess.run([hubtest.binary("hubd"), "--config",
                                str(copy.conf)], capture_output=True,
                               text=True, timeout=30,
                               preexec_fn=copy.preexec)
            assert p.returncode == 1, p.stderr
            return [line.split(" err ", 1)[1] for line in
                    p.stderr.splitlines() if "HUB-START" in line]

        assert start() == [f"HUB-START cannot start: cannot open {keys}/"
                           f"hub.key_secret: Permission denied"]
        for f in [keys, *keys.iterdir()]:
            os.chown(f, svc.pw_uid, svc.pw_gid)
        assert start() == [f"HUB-START cannot start: data_dir: cannot open "
                           f"{data}/hubd.lock: Permission denied"]
        os.chown(data, svc.pw_uid, svc.pw_gid)
        assert start() == [f"HUB-START cannot start: {data}/log: cannot "
                           f"open LMDB environment: Permission denied"]


def test_a_bad_metrics_listen_is_refused_in_the_documented_words(tmp_path):
    """OPERATIONS.md "Metrics and health endpoints": a metrics_listen that
    is not A.B.C.D:PORT is refused by --check-config and at start, exit 2,
    in one text that names the value; at start after `HUB-START cannot
    start: metrics_listen: `, the setting not named twice."""
    for value in ["localhost:7610", "127.0.0.1", "127.0.0.1:0",
                  ":7610", "127.0.0.1:65536", "1.2.3:7610",
                  "127.0.0.1:+7610"]:
        text = ("metrics_listen must be HOST:PORT (an IPv4 address and a "
                f"port 1-65535, e.g. 127.0.0.1:7610) or empty, not "
                f"'{value}'")
        p = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--metrics_listen", value],
                           capture_output=True, text=True, timeout=30)
        assert (p.returncode, p.stderr) == (2, f"hubd: {text}\n"), value
        p = subprocess.run([hubtest.binary("hubd"), "--data_dir",
                            str(tmp_path / "data"), "--keys_dir",
                            str(tmp_path / "keys"), "--metrics_listen",
                            value],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 2, p.stderr
        assert p.stderr.endswith(f" hubd err HUB-START cannot start: "
                                 f"metrics_listen: {text}\n"), p.stderr
    assert not (tmp_path / "data").exists()


def test_a_stop_during_the_rebuild_of_the_event_id_index_ends_it(make_hub):
    """OPERATIONS.md, Start and stop: a SIGTERM while hubd indexes the
    event ids of the whole log again at open (ids/ lost, or the first
    start after the machine restarted: minutes on a big log, longer than
    the unit's TimeoutStopSec) stops it between two chunks of 100,000
    records, exit 0 with HUB-STOP and without HUB-READY; the next start
    goes on from there, and the ids indexed before still count."""
    import shutil
    import signal

    hub = make_hub(settings={"batch_max": "1000"})
    p = subprocess.run([str(hubtest.BUILD / "bench" / "ug-loadgen"),
                        "--endpoint", hub.ingest, "--server-key",
                        str(hub.keys_dir / "hub.key"), "--key",
                        str(hub.keys_dir / "school-a.key_secret"),
                        "--events", "300000", "--window", "1000",
                        "--connections", "2"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    hub.stop()
    shutil.rmtree(hub.data_dir / "ids")
    log = hub.logs_dir / "rebuild-stop.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([hubtest.binary("hubd"), "--config",
                                 str(hub.conf)], stdout=out,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)

    def catches_sigterm():
        with open(f"/proc/{proc.pid}/status") as f:
            caught = next(int(line.split()[1], 16) for line in f
                          if line.startswith("SigCgt:"))
        return caught & (1 << (signal.SIGTERM - 1))
    hubtest.wait_for(catches_sigterm, 10, "hubd's SIGTERM handler")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, log.read_text()
    text = log.read_text()
    assert "HUB-READY" not in text and "HUB-STOP" in text, text
    assert "STORE-IDS indexing the event ids stopped for a stop: the next " \
        "start goes on from there" in text, text
    indexed = [int(line.split("event ids of ")[1].split()[0])
               for line in text.splitlines() if "STORE-IDS indexed" in line]
    assert sum(indexed) < 300000, text
    hub.start()
    assert "STORE-IDS indexed" in hub.current_log()
    st = hub.stats()
    assert st["event_ids"] == st["log_events"] == 300000, st


def test_inbox_names_the_file_and_line_of_a_bad_command_value(tmp_path):
    """OPERATIONS.md "Start and stop": a bad value read from a file is
    reported with that file and line before the reason, in every program,
    inbox's command values (an alert id, --how, a CPR to --timeline)
    too; exit 2, nothing sent."""
    cases = [("timeline = 123", []), ("ack = zz", []),
             ("contact = zz", ["--how", "phone"]),
             ("how = ", ["--contact", "0" * 18]),
             ("how =   ", ["--unreachable", "0" * 18])]
    failures = []
    for line, args in cases:
        conf = tmp_path / "inbox.conf"
        conf.write_text(f"caseworker = cw-anna\n{line}\n")
        p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                            "--keys_dir", str(tmp_path), *args],
                           capture_output=True, text=True, timeout=30)
        if p.returncode != 2 or not p.stderr.startswith(
                f"inbox: {conf}:2: --"):
            failures.append(f"{line!r}: exit {p.returncode}, {p.stderr!r}")
    assert not failures, "\n".join(failures)


def test_a_revoked_caseworkers_open_alerts_wait_until_reassigned(make_hub):
    """OPERATIONS.md, "Replacing and revoking keys": revoke-caseworker
    ends the registration, not the alerts: the caseworker's open alerts
    stay open, addressed to the id (delivered to no one else meanwhile,
    and no longer among ungebro_queue_depth's queues), until their
    persons are assigned to another caseworker (hubctl assign), which
    moves them to the new contact person."""
    import urllib.request

    port = hubtest.free_port()
    hub = make_hub(settings={"metrics_listen": f"127.0.0.1:{port}"},
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "desk-dora": True})
    cprs = hubtest.CprGen(5803).take(2)
    hub.absence_alerts("cw-bo", cprs, "revoked")
    hub.wait_applied()
    hub.hubctl("revoke-caseworker", "cw-bo")
    hub.peek("cw-anna", 0)
    hub.peek("desk-dora", 0)
    assert hub.stats()["alerts_open"] == 2
    hubtest.wait_for(lambda: 'recipient="cw-bo"' not in urllib.request.urlopen(
        f"http://127.0.0.1:{port}/metrics").read().decode(), 10,
        "cw-bo's queue out of ungebro_queue_depth")
    for cpr in cprs:
        hub.assign(cpr, "cw-anna", start="2024-02-01")
    alerts = hub.peek("cw-anna", 2)
    assert {a["recipient"] for a in alerts} == {"cw-anna"}, alerts


def test_inbox_reaches_the_hub_at_an_ipv6_address(make_hub):
    """OPERATIONS.md: inbox's --delivery, like an adapter's hub
    (ADAPTERS.md), may be tcp://[IPv6]:PORT, which the settings check
    takes; inbox then never connected to it (libzmq resolves IPv4 only
    unless told otherwise) and said "no answer from the hub". hubd binds
    IPv4 only, so the hub is reached here through a relay on [::1], as a
    site would through a proxy."""
    import pytest

    hub = make_hub()
    relay = ipv6_relay(int(hub.delivery.rsplit(":", 1)[1]))
    if relay is None:
        pytest.skip("no IPv6 loopback here")
    listener, _ = relay
    try:
        p = subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery",
             f"tcp://[::1]:{listener.getsockname()[1]}", "--list",
             "--timeout", "10"],
            capture_output=True, text=True, timeout=60)
    finally:
        listener.close()
    assert (p.returncode, p.stdout, p.stderr) == (0, "0 open alerts\n", ""), p


def ipv6_relay(target):
    """A relay on [::1] to 127.0.0.1:target (hubd binds IPv4 only);
    returns its listening socket and the list of connections it took, or
    None without an IPv6 loopback."""
    import socket
    import threading

    listener = socket.socket(socket.AF_INET6)
    try:
        listener.bind(("::1", 0))
    except OSError:
        return None
    listener.listen(4)
    taken = []

    def pipe(a, b):
        while True:
            try:
                data = a.recv(65536)
                if not data:
                    return
                b.sendall(data)
            except OSError:
                return

    def accept():
        while True:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            taken.append(c)
            u = socket.create_connection(("127.0.0.1", target))
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=pipe, args=(a, b),
                                 daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return listener, taken


def test_webd_reaches_the_hub_at_an_ipv6_address(make_hub):
    """OPERATIONS.md: webd's delivery endpoint takes HOST as inbox's
    --delivery does, an IPv6 address in brackets too; a login through it
    reaches the hub. The endpoint is given twice on the command line, the
    last one counting, as for any setting."""
    import pytest
    from test_70_web import PASSWORD, Web, set_password

    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "cw-anna", PASSWORD)
    relay = ipv6_relay(int(hub.delivery.rsplit(":", 1)[1]))
    if relay is None:
        pytest.skip("no IPv6 loopback here")
    listener, taken = relay
    web = Web(hub, delivery=f"tcp://[::1]:{listener.getsockname()[1]}")
    try:
        r, _ = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 303, r.status
        assert r.getheader("Location").endswith("/alerts")
        assert taken, "webd did not connect through [::1]"
    finally:
        web.stop()
        listener.close()
