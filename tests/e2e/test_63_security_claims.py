"""63 SECURITY.md claim by claim, as an auditor reads it: what each
program says on standard error, what its process allows (no core dump),
what crosses the wire and what each endpoint refuses. Every test ends
with the privacy sweep (the hub fixture's teardown)."""

import subprocess

import pytest

from hubtest import CprGen, binary, dashed


@pytest.mark.parametrize("args", [
    ["webd", "--config", "/nonexistent/{cpr}"],
    ["webd", "--{cpr}"],
    ["webd", "--gateway", "web-1", "extra-{cpr}"],
    ["hubd", "--check-config", "--config", "/nonexistent/{cpr}"],
])
def test_a_cpr_typed_on_a_command_line_is_masked_on_stderr(args, tmp_path):
    """SECURITY.md: every program's logger and its own messages on
    standard error keep a CPR number masked (`xxxxxxxxxx`), also where
    they echo what was typed (a file name, an option)."""
    cpr = CprGen(6301).next()
    for form in (cpr, dashed(cpr)):
        cmd = [binary(args[0])] + [a.format(cpr=form) for a in args[1:]]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                           cwd=tmp_path)
        assert p.returncode != 0, p
        out = p.stdout + p.stderr
        assert cpr not in out and dashed(cpr) not in out, out
        assert "xxxxxx" in out, out


def tcp_payloads(pcap):
    """(source port, destination port, payload) of each TCP segment in a
    pcap file of the loopback interface (Ethernet or Linux cooked)."""
    import struct
    data = pcap.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    link = struct.unpack(order + "I", data[20:24])[0]
    skip = {1: 14, 113: 16, 276: 20}[link]
    out, at = [], 24
    while at + 16 <= len(data):
        incl = struct.unpack(order + "I", data[at + 8:at + 12])[0]
        pkt = data[at + 16:at + 16 + incl]
        at += 16 + incl
        ip = pkt[skip:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack(">H", ip[2:4])[0]
        tcp = ip[ihl:total]
        sport, dport = struct.unpack(">HH", tcp[:4])
        out.append((sport, dport, tcp[(tcp[12] >> 4) * 4:]))
    return out


def test_the_loopback_capture_holds_personal_data_only_on_webds_http(
        make_hub, tmp_path):
    """SECURITY.md: both ZeroMQ endpoints speak CURVE only, every byte
    encrypted; webd serves plain HTTP to the TLS proxy in front of it. A
    capture of the loopback interface while an adapter sends, inbox
    receives the alert and the web inbox logs in and serves the alert's
    page and the person's timeline: no CPR (any written form), password,
    agency, caseworker or rule name on the ingest or delivery port; the
    HTTP port carries them in the clear, as the doc says it does."""
    import re
    import shutil
    import signal
    import time
    from hubtest import AbsenceRow
    from test_70_web import PASSWORD, Web, anna_session, anna_with_a_person
    if not shutil.which("tcpdump"):
        pytest.skip("needs tcpdump")
    hub, cpr = anna_with_a_person(make_hub, 6302)
    hub.cprs.add(cpr)
    web = Web(hub)
    pcap = tmp_path / "lo.pcap"
    ports = [int(e.rsplit(":", 1)[1]) for e in (hub.ingest, hub.delivery)]
    ports.append(web.port)
    cap = subprocess.Popen(
        ["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(pcap)] +
        " or ".join(f"tcp port {p}" for p in ports).split(),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        time.sleep(1.5)                       # tcpdump listening
        path, _ = hub.csv("w.csv", [AbsenceRow(cpr, absent=20,
                                               expected=100)])
        r = hub.adapter("import", path)
        assert r.rc == 0, str(r)
        hub.wait_stats("one alert", lambda s: s["alerts"] == 1)
        rc, alerts, err = hub.inbox("cw-anna", no_ack=True, max_alerts=1,
                                    idle_exit=10)
        assert rc == 0 and len(alerts) == 1, err
        session = anna_session(web)
        page = web.request("GET", "/alerts", cookies=session)[1]
        [hexid] = re.findall(r'href="/alert/([0-9a-f]{18})"', page)
        web.request("GET", f"/alert/{hexid}", cookies=session)
        r, page = web.request("GET", "/timeline", cookies=session)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=session)
        assert r.status == 200 and hexid in page, page
        time.sleep(1)
    finally:
        cap.send_signal(signal.SIGINT)
        cap.wait(10)
        web.stop()
    segments = tcp_payloads(pcap)
    zmq_bytes = b"".join(p for s, d, p in segments
                         if s in ports[:2] or d in ports[:2])
    http_bytes = b"".join(p for s, d, p in segments
                          if web.port in (s, d))
    assert len(zmq_bytes) > 2000 and len(http_bytes) > 2000, \
        (len(zmq_bytes), len(http_bytes))
    for needle in (cpr, f"{cpr[:6]}-{cpr[6:]}", f"{cpr[:6]} {cpr[6:]}",
                   PASSWORD, "school-a", "cw-anna", "web-1", "absence",
                   "rolling"):
        assert needle.encode() not in zmq_bytes, needle
    # The proxy's leg: plain HTTP, what the web inbox section says.
    assert (cpr.encode() in http_bytes or
            f"{cpr[:6]}-{cpr[6:]}".encode() in http_bytes)
    assert urllib_quote(PASSWORD).encode() in http_bytes


def urllib_quote(text):
    import urllib.parse
    return urllib.parse.quote_plus(text)


@pytest.mark.parametrize("program", ["webd", "inbox", "adapter-school",
                                     "hubctl"])
def test_no_core_dumps_of_the_other_programs(make_hub, tmp_path, program):
    """SECURITY.md "No core dumps": not hubd alone — webd, inbox and the
    adapters too lower their core limit to 0, soft and hard, however they
    were started, and a signal that would dump leaves no core."""
    import resource
    import hubtest
    if hubtest.VALGRIND:
        pytest.skip("valgrind, not the program, would take the signal")
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    cwd = tmp_path / "cwd"            # where a plain core_pattern writes
    cwd.mkdir()
    watched = tmp_path / "drop"
    watched.mkdir()
    conf = hub.tmp / "inbox-cw-anna.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    cmd = {"webd": [binary("webd"), "--gateway", "web-1", "--keys_dir",
                    str(hub.keys_dir), "--delivery", hub.delivery,
                    "--port", str(hubtest.free_port())],
           "inbox": [binary("inbox"), "--config", str(conf), "--json"],
           "adapter-school": hub.adapter_cmd("watch", watched),
           # waits for the password on its standard input
           "hubctl": [binary("hubctl"), "--config", str(hub.conf),
                      "set-password", "cw-anna"]}[program]

    def unlimited():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))

    log = open(hub.logs_dir / f"{program}-core.log", "wb")
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log,
                            stderr=subprocess.STDOUT,
                            stdin=subprocess.PIPE, preexec_fn=unlimited)
    try:
        def limit():
            with open(f"/proc/{proc.pid}/limits") as f:
                core = next(ln for ln in f
                            if ln.startswith("Max core file size"))
            return core.split()[4:6]
        hubtest.wait_for(lambda: limit() == ["0", "0"], 10,
                         "core limit 0")
        import time
        time.sleep(0.5)
        assert proc.poll() is None, program + " exited"
    finally:
        try:
            hubtest.abort_leaves_no_core(proc, cwd)
        finally:
            proc.stdin.close()
            log.close()


def test_hubctl_confirmations_mask_a_cpr_that_was_typed(make_hub, tmp_path):
    """SECURITY.md: a CPR is wanted only in inbox's and `hubctl export`'s
    answers on standard output. hubctl's confirmations echo what was
    typed — a key's id, a backup's directory, an address — and mask a
    CPR number in it there as its messages on standard error do."""
    hub = make_hub(start=False)
    cpr = CprGen(6303).next()
    hub.cprs.add(cpr)
    outs = []

    def run(*args):
        p = hub.hubctl(*args)
        outs.append(p.stdout + p.stderr)
        return p

    # An id holds no CPR (the next test): the CPR goes where hubctl
    # echoes free text, an address and a directory.
    run("keygen", "cw-mail")
    run("register-caseworker", "cw-mail")
    outs.clear()
    run("set-email", "cw-mail", f"{cpr}@kommune.example.dk")
    run("backup", str(tmp_path / f"backup-{dashed(cpr)}"))
    for out in outs:
        assert cpr not in out and dashed(cpr) not in out, out
    assert all("xxxxxx" in out for out in outs), outs


ID_RULE = ("(1-63 of a-z 0-9 . _ -, starting with a letter or digit, "
           "holding no CPR number)")


def test_an_id_holding_a_cpr_is_refused_without_echoing_it(make_hub):
    """SECURITY.md: ids reach logs, key file names, metric labels and the
    audit trail, so an id holding a CPR number (alone, or after a dash or
    dot) is no id: every hubctl command refuses it as a usage error (exit
    2) with the id rule, masking the CPR it quotes, and writes nothing."""
    hub = make_hub()
    cpr = CprGen(6304).next()
    hub.cprs.add(cpr)
    for form in (cpr, dashed(cpr), f"cw-{cpr}", f"{dashed(cpr)}.desk"):
        for args in (["keygen", "--keys_dir", str(hub.keys_dir), form],
                     ["register-caseworker", form],
                     ["register-agency", form, "--types", "absence"],
                     ["set-email", form, "-"]):
            p = hub.hubctl(*args, check=False, config=args[0] != "keygen")
            out = p.stdout + p.stderr
            assert p.returncode == 2, (args[0], out)
            assert f"is not a valid id {ID_RULE}" in out, (args[0], out)
            assert cpr not in out and dashed(cpr) not in out, out
            assert "xxxxxx" in out, out
    names = [p.name for p in hub.tmp.rglob("*")]
    assert not [n for n in names if cpr in n or dashed(cpr) in n], names


def test_what_the_mta_says_reaches_hubds_log_as_it_is(make_hub, tmp_path):
    """SECURITY.md names the one exception to "log lines never carry a
    name": what the MTA writes to its standard error goes to hubd's log as
    it is (OPERATIONS.md, "E-mail notices of new alerts"), and an MTA's
    message can name the recipient's address."""
    import stat
    from hubtest import envelope
    from test_71_web_live import anna_mail_hub
    d = tmp_path / "mailhub" / "mail"
    d.mkdir(parents=True)
    script = d / "sendmail"
    script.write_text("#!/bin/sh\ncat >/dev/null\n"
                      "echo 'sendmail: <anna.hansen@kommune.example.dk>: "
                      "recipient rejected' >&2\nexit 67\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    hub = anna_mail_hub(make_hub, script,
                        email="anna.hansen@kommune.example.dk")
    cpr = CprGen(6304).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt="mta", absent=12, expected=30))
    hub.wait_log(r"HUB-MAIL \S+ failed for the notice to cw-anna",
                 timeout=20)
    text = hub.log_text()
    assert "<anna.hansen@kommune.example.dk>: recipient rejected" in text
    doc = (hubtest_root() / "docs" / "SECURITY.md").read_text()
    assert "what the MTA" in doc and "writes to its standard error" in doc


def hubtest_root():
    import hubtest
    return hubtest.ROOT


def test_the_login_forms_token_is_tied_to_its_ug_pre(make_hub):
    """SECURITY.md "CSRF": the login form's token is a keyed hash of
    `ug_pre`; a login POST without it, with another browser's `ug_pre`,
    or with a session's token instead, is refused 403 and logs no one in
    (no `ug_session` set, no `login` record)."""
    import re
    from test_70_web import PASSWORD, Web, web_hub
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        def form():
            r, text = web.request("GET", "/login")
            pre = re.search(r"ug_pre=([0-9a-f]+)",
                            r.getheader("Set-Cookie")).group(1)
            return pre, re.search(r'name="csrf" value="([0-9a-f]+)"',
                                  text).group(1)
        pre_a, csrf_a = form()
        pre_b, csrf_b = form()
        creds = {"caseworker": "cw-anna", "password": PASSWORD}
        for body, cookies in (
                (dict(creds, csrf=csrf_a), {}),
                (dict(creds, csrf=csrf_a), {"ug_pre": pre_b}),
                (dict(creds), {"ug_pre": pre_a}),
                (dict(creds, csrf=csrf_a.upper()), {"ug_pre": pre_a})):
            r, _ = web.request("POST", "/login", body, cookies=cookies)
            assert r.status == 403, (body, cookies, r.status)
            assert not any(c.startswith("ug_session=") and
                           not c.startswith("ug_session=;")
                           for c in r.headers.get_all("Set-Cookie") or [])
        assert "login" not in hub.hubctl("audit", "show", "--actor",
                                         "cw-anna").stdout
        r, _ = web.request("POST", "/login", dict(creds, csrf=csrf_b),
                           cookies={"ug_pre": pre_b})
        assert r.status == 303, r.status
    finally:
        web.stop()


def test_a_caseworker_sees_and_acknowledges_only_their_own_alerts_on_the_web(
        make_hub):
    """SECURITY.md "Who can connect, and as whom": a caseworker sees only
    their own alerts and persons — in the web inbox too. cw-bo, logged in
    through the same webd, asks for cw-anna's alert by its id: its page
    is the page of an alert that is not there (no CPR, no title), it is
    not on his list, and his acknowledgement of it changes nothing."""
    import re
    from hubtest import envelope, wait_for
    from test_70_web import (PASSWORD, Web, alerts_listed, session_cookie,
                             set_password, web_hub)
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False,
                                         "desk-dora": True})
    set_password(hub, "cw-bo", PASSWORD)
    cpr = CprGen(6305).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    web = Web(hub)
    try:
        anna = {"ug_session": session_cookie(
            web.raw_login("cw-anna", PASSWORD)[1])}
        bo = {"ug_session": session_cookie(
            web.raw_login("cw-bo", PASSWORD)[1])}
        hub.send(envelope("school-a", cpr, salt="own", absent=12,
                          expected=30))
        [hexid] = wait_for(lambda: alerts_listed(web, anna), 20,
                           "anna's alert", interval=0.3)
        r, mine = web.request("GET", f"/alert/{hexid}", cookies=anna)
        assert r.status == 200 and (cpr in mine or dashed(cpr) in mine)
        r, page = web.request("GET", f"/alert/{hexid}", cookies=bo)
        assert r.status == 404, r.status
        assert cpr not in page and dashed(cpr) not in page
        assert alerts_listed(web, bo) == []
        r, page = web.request("GET", "/alerts", cookies=bo)
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        web.request("POST", f"/alert/{hexid}/ack", {"csrf": csrf},
                    cookies=bo)
        assert alerts_listed(web, anna) == [hexid]
        assert hub.stats()["alerts_open"] == 1
    finally:
        web.stop()


def test_what_an_agency_sent_is_escaped_on_every_page(make_hub):
    """SECURITY.md "Headers": every value on a page is HTML-escaped. A
    dropout whose institution and programme hold markup, sent by an
    agency, is shown on the list, the alert page and the timeline as
    text, never as markup."""
    import re
    from hubtest import ev_dropout, wait_for
    from test_70_web import PASSWORD, Web, alerts_listed, session_cookie, \
        web_hub
    hub = web_hub(make_hub, agencies={"school-a": "absence",
                                      "college-a": "dropout"})
    cpr = CprGen(6306).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    evil = "<img src=x onerror=alert(1)>"
    web = Web(hub)
    try:
        anna = {"ug_session": session_cookie(
            web.raw_login("cw-anna", PASSWORD)[1])}
        acks = hub.acks(ev_dropout(cpr, "2024-05-10", institution=evil,
                                   programme=evil + "'\"&"),
                        agency="college-a")
        ids = wait_for(lambda: alerts_listed(web, anna), 20,
                       "the dropout's alerts", interval=0.3)
        pages = [web.request("GET", "/alerts", cookies=anna)[1]] + [
            web.request("GET", f"/alert/{i}", cookies=anna)[1] for i in ids]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"',
                         pages[-1]).group(1)
        r, page = web.request("POST", "/timeline",
                              {"csrf": csrf, "cpr": cpr}, cookies=anna)
        assert r.status == 200
        pages.append(page)
        for page in pages:
            assert "<img" not in page, page
        assert "&lt;img" in pages[-1], acks
        assert any("&lt;img" in page for page in pages[1:-1]), acks
    finally:
        web.stop()


def test_webd_is_not_dumpable_for_its_own_user():
    """SECURITY.md "No core dumps": every program marks itself not
    dumpable (prctl), which also keeps other processes of the same user
    from reading its memory through /proc. The kernel then gives its
    /proc files to root: webd run as `nobody` has /proc/PID/mem and
    /proc/PID/environ owned by root, not by nobody."""
    import os
    import pwd
    import shutil
    import tempfile
    from pathlib import Path
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run webd as nobody")
    nobody = pwd.getpwnam("nobody")
    # pytest's own tmp_path is root's alone: nobody could not reach it.
    with tempfile.TemporaryDirectory(prefix="ug-nodump-") as top:
        os.chmod(top, 0o755)
        run_webd_as(nobody, Path(top) / "keys")


def run_webd_as(nobody, keys):
    import os
    import hubtest
    subprocess.run([binary("hubctl"), "keygen", "--keys_dir", str(keys),
                    "hub"], check=True, capture_output=True)
    subprocess.run([binary("hubctl"), "keygen", "--keys_dir", str(keys),
                    "web-1"], check=True, capture_output=True)
    for p in [keys] + list(keys.iterdir()):
        os.chown(p, nobody.pw_uid, nobody.pw_gid)
    port = hubtest.free_port()
    proc = subprocess.Popen(
        ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}",
         "--clear-groups", binary("webd"), "--gateway", "web-1",
         "--keys_dir", str(keys), "--delivery",
         f"tcp://127.0.0.1:{hubtest.free_port()}", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def serving():
            try:
                import socket
                socket.create_connection(("127.0.0.1", port), 1).close()
                return True
            except OSError:
                return proc.poll() is not None
        hubtest.wait_for(serving, 10, "webd serving")
        assert proc.poll() is None, proc.stdout.read()
        assert os.stat(f"/proc/{proc.pid}/status").st_uid == 0
        for name in ("mem", "environ"):
            assert os.stat(f"/proc/{proc.pid}/{name}").st_uid == 0, name
    finally:
        proc.terminate()
        proc.wait(10)


def test_password_hashes_swapped_in_the_file_log_no_one_in(make_hub):
    """SECURITY.md "Passwords": hashes are stored sealed and bound to the
    caseworker. Someone who can write the store's files but holds no key
    swaps the two password records (they cannot tell whose is whose, so
    both ways round): then neither password logs anyone in, and hubd
    reports the records STORE-FORGED."""
    import hubtest
    from test_60_store_at_rest import dump, load
    from test_70_web import Web, set_password, web_hub
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False,
                                         "desk-dora": True})
    set_password(hub, "cw-bo", "bo's own password")
    hub.stop()
    env = hub.data_dir / "log"
    records = [(k, v) for k, v in dump(env, "password") if len(v) == 240]
    assert len(records) == 2, records
    (ka, va), (kb, vb) = records
    load(env, "password", [(ka, vb), (kb, va)])
    hub.start()
    web = Web(hub)
    try:
        for who in ("cw-anna", "cw-bo"):
            for password in ("korrekt hest batteri", "bo's own password"):
                r, cookies = web.raw_login(who, password)
                assert r.status == 401, (who, password, r.status)
                assert not any(c.startswith("ug_session=") and
                               not c.startswith("ug_session=;")
                               for c in cookies)
        # OPERATIONS.md, "Records that do not open": named by the
        # database the record is in, one of those the doc lists.
        hub.wait_log(r"STORE-FORGED password: a record does not open")
        doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md")
                       .read_text().split())
        assert "`timer`, `desk`, `password`, `e-mail`, `log`)" in doc
    finally:
        web.stop()


def test_a_leaked_gateway_key_replaced_as_security_md_says(make_hub):
    """SECURITY.md "A leaked gateway key": the remedy is a new key for the
    gateway — `hubctl keygen` one (same id, in another directory: keys
    are never overwritten), `register-gateway ID --key NEW.key`, the new
    pair into webd's keys_dir — and a restart of webd, which reads its key
    at start: until then it still speaks with the old key, which the hub
    refuses, so every login is 503; after it, caseworkers log in again."""
    import shutil
    from test_70_web import PASSWORD, Web, web_hub
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        assert web.raw_login("cw-anna", PASSWORD)[0].status == 303
        new = hub.tmp / "new"
        hub.hubctl("keygen", "--keys_dir", str(new), "web-1", config=False)
        hub.hubctl("register-gateway", "web-1", "--key",
                   str(new / "web-1.key"))
        for name in ("web-1.key", "web-1.key_secret"):
            (hub.keys_dir / name).unlink()
            shutil.copy2(new / name, hub.keys_dir / name)
        from hubtest import wait_for
        wait_for(lambda: web.raw_login("cw-anna", PASSWORD)[0].status
                 == 503, 10, "the old key refused", interval=0.3)
    finally:
        web.stop()
    web = Web(hub, name="webd-new-key")
    try:
        assert web.raw_login("cw-anna", PASSWORD)[0].status == 303
    finally:
        web.stop()
    doc = " ".join((hubtest_root() / "docs" / "SECURITY.md").read_text()
                   .split())
    assert "the new pair into webd's `keys_dir`, and webd restarted" in doc


def test_webd_with_another_hubs_key_says_so(make_hub, tmp_path):
    """A wrong key, as OPERATIONS.md lists webd's messages: webd whose
    keys_dir/hub.key is not the hub's fails the CURVE handshake inside
    libzmq (the hub sees nothing); every login is `503` with a page that
    sends the caseworker to operations instead of trying again, and
    webd's log says why: `WEB-HUB request not sent: the CURVE handshake
    with the hub failed (is keys_dir/hub.key the hub's public key?)`."""
    import shutil
    from hubtest import wait_for
    from test_70_web import PASSWORD, Web, web_hub
    hub = web_hub(make_hub)
    other = tmp_path / "other"
    hub.hubctl("keygen", "--keys_dir", str(other), "hub", config=False)
    shutil.copy2(hub.keys_dir / "hub.key", tmp_path / "hub.key.real")
    (hub.keys_dir / "hub.key").unlink()
    shutil.copy2(other / "hub.key", hub.keys_dir / "hub.key")
    web = Web(hub)
    page = []

    def refused():
        pre, csrf = web.login_form()
        r, text = web.request("POST", "/login",
                              {"csrf": csrf, "caseworker": "cw-anna",
                               "password": PASSWORD},
                              cookies={"ug_pre": pre})
        page[:] = [text]
        return r.status == 503 and "nøgle passer ikke" in text
    try:
        wait_for(refused, 20, "a login answered 503, the key named",
                 interval=0.5)
        assert ("Webindbakken kan ikke oprette en sikker forbindelse til "
                "hubben (dens nøgle passer ikke). Kontakt driften; det "
                "hjælper ikke at prøve igen.") in page[0], page[0]
        assert "Prøv igen om lidt" not in page[0]
    finally:
        web.stop()
        (hub.keys_dir / "hub.key").unlink()
        shutil.copy2(tmp_path / "hub.key.real", hub.keys_dir / "hub.key")
    log = (hub.logs_dir / "webd.log").read_text()
    said = ("WEB-HUB request not sent: the CURVE handshake with the hub "
            "failed (is keys_dir/hub.key the hub's public key?)")
    assert said in log, log
    doc = " ".join((hubtest_root() / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`request not sent: the CURVE handshake with the hub failed " \
        "(is keys_dir/hub.key the hub's public key?)`" in doc


def test_what_an_adapters_outbox_keeps_in_the_clear(make_hub):
    """SECURITY.md "Personal data at rest": an adapter's outbox seals each
    frame with the adapter's own key and deletes it once the hub has
    acknowledged it; what stays, in the clear, is as the page says: the
    id of every event sent (its first 8 bytes the time it occurred, as in
    the hub's `ids/`) and, per keyed hash of a record's natural key, the
    ids of its last event — no CPR, no agency, no sealed frame."""
    import struct
    from hubtest import AbsenceRow
    from test_60_store_at_rest import databases

    def dump(env, db):
        """(key, value) pairs of db; a value may be empty (`sent`)."""
        out = subprocess.run(["mdb_dump", "-s", db, str(env)],
                             capture_output=True, text=True,
                             check=True).stdout
        body = [ln[1:] for ln in out.split("HEADER=END\n", 1)[1]
                .splitlines() if ln != "DATA=END"]
        return [(bytes.fromhex(body[i]), bytes.fromhex(body[i + 1]))
                for i in range(0, len(body), 2)]
    hub = make_hub()
    cprs = CprGen(6307).take(3)
    path, _ = hub.csv("w.csv", [AbsenceRow(c) for c in cprs])
    r = hub.adapter("import", path)
    assert r.rc == 0, str(r)
    outbox = hub.outbox_dir()
    dbs = set(databases(outbox))
    assert dump(outbox, "pending") == []
    sent = dump(outbox, "sent")
    assert len(sent) == 3 and all(v == b"" for _, v in sent), sent
    occurred = {struct.unpack(">Q", k[:8])[0] for k, _ in sent}
    assert len(occurred) == 1 and \
        occurred.pop() % 86_400_000 == 0, occurred   # a day, in ms
    latest = dump(outbox, "latest")
    assert len(latest) == 3 and all(len(v) == 32 for _, v in latest)
    assert {v[16:] for _, v in latest} == {k for k, _ in sent}
    everything = b"".join(k + v for db in dbs for k, v in dump(outbox, db))
    for needle in cprs + [dashed(c) for c in cprs] + ["school-a"]:
        assert needle.encode() not in everything, needle
    doc = " ".join((hubtest_root() / "docs" / "SECURITY.md").read_text()
                   .split())
    assert "the id of every event it sent" in doc


@pytest.mark.parametrize("endpoint", ["ingest", "delivery"])
def test_a_plain_client_gets_nowhere_and_is_not_recorded(make_hub, endpoint):
    """SECURITY.md: the NULL and PLAIN mechanisms are never accepted; a
    client that does not speak CURVE fails its handshake inside libzmq
    before ZAP is asked — nothing about it is logged, counted or
    recorded. A PLAIN client naming a registered agency and a NULL client,
    on either endpoint."""
    import time
    import zmq
    from hubtest import envelope, frame
    hub = make_hub()
    cpr = CprGen(6308).next()
    hub.cprs.add(cpr)
    before = hub.hubctl("audit", "show").stdout
    ctx = zmq.Context()
    try:
        for plain in (True, False):
            s = ctx.socket(zmq.DEALER)
            s.setsockopt(zmq.LINGER, 0)
            if plain:
                s.plain_username = b"school-a"
                s.plain_password = b"secret"
            s.connect(getattr(hub, endpoint))
            try:          # no handshake completes: nowhere to queue it
                s.send(frame(envelope("school-a", cpr,
                                      salt=f"plain-{plain}")),
                       zmq.DONTWAIT)
            except zmq.Again:
                pass
            assert not s.poll(1500, zmq.POLLIN)
            s.close()
    finally:
        # A failed assertion leaves its socket open, and a bare term()
        # would wait for it for good.
        ctx.destroy(linger=0)
    time.sleep(1.5)                    # refusals are written once a second
    assert hub.stats()["log_events"] == 0
    assert hub.hubctl("audit", "show").stdout.count("connect") == \
        before.count("connect")
    log = hub.log_text()
    assert "HUB-ZAP refused" not in log and "HUB-ZAP admitted" not in log, \
        log


def test_the_metrics_endpoint_names_no_one(make_hub):
    """SECURITY.md "Personal data at rest": no CPR readable anywhere the
    product writes or serves — the metrics endpoint included. After
    alerts for persons whose ids a caseworker and an agency sent (an
    event with a CPR as its school too), /metrics, /healthz and /readyz
    hold no CPR in any written form."""
    from hubtest import envelope
    from test_82_metrics import get, metrics_hub
    hub = metrics_hub(make_hub)
    cprs = CprGen(6309).take(3)
    for c in cprs:
        hub.assign(c, "cw-anna")
    hub.cprs.update(cprs)
    hub.send(*[envelope("school-a", c, salt=f"m{i}", absent=12,
                        expected=30, school=cprs[0])
               for i, c in enumerate(cprs)])
    hub.wait_stats("three alerts", lambda s: s["alerts_open"] == 3)
    text = "".join(get(hub.metrics_url + path)[1]
                   for path in ("/metrics", "/healthz", "/readyz"))
    assert "ungebro_alerts_open 3" in text, text
    for c in cprs:
        for form in (c, dashed(c), f"{c[:6]} {c[6:]}"):
            assert form not in text, form


def test_notice_addresses_swapped_in_the_file_mail_no_one(make_hub,
                                                          tmp_path):
    """SECURITY.md "E-mail notices": addresses are stored sealed and bound
    to their id like password hashes. Swapped in the store's file by
    someone without a key, neither opens: cw-anna's new alert is mailed
    to no one (least of all to cw-bo's address), and hubd reports the
    record STORE-FORGED."""
    import stat
    import time
    from hubtest import envelope
    from test_60_store_at_rest import dump, load
    d = tmp_path / "mailhub" / "mail"
    d.mkdir(parents=True)
    out = d / "out.txt"
    script = d / "sendmail"
    script.write_text(f"#!/bin/sh\ncat >> '{out}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    hub = make_hub(name="mailhub",
                   caseworkers={"cw-anna": False, "cw-bo": False,
                                "desk-dora": True},
                   settings={"mail_base_url": "https://inbox.example.dk",
                             "mail_sendmail": str(script),
                             "mail_delay": "0"})
    hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    hub.hubctl("set-email", "cw-bo", "bo@kommune.example.dk")
    hub.stop()
    env = hub.data_dir / "log"
    records = [(k, v) for k, v in dump(env, "password") if len(v) == 368]
    assert len(records) == 2, records
    (ka, va), (kb, vb) = records
    load(env, "password", [(ka, vb), (kb, va)])
    hub.start()
    cpr = CprGen(6310).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt="swap", absent=12, expected=30))
    hub.wait_stats("the alert", lambda s: s["alerts_open"] == 1)
    hub.wait_log(r"STORE-FORGED e-mail: a record does not open", timeout=15)
    time.sleep(3)                 # a notice would be handed over by now
    assert not out.exists(), out.read_text()


def test_architecture_says_what_log_lines_carry_as_security_does():
    """One truth: ARCHITECTURE.md ("Security boundaries") and SECURITY.md
    name the same ids a log line carries, and both tell of the one
    exception (the MTA's own standard error)."""
    def said(name, start, end):
        doc = " ".join((hubtest_root() / "docs" / name).read_text().split())
        i = doc.index(start)
        return doc[i:doc.index(end, i)]
    ids = "event ids, agency ids, caseworker ids and alert ids"
    arch = said("ARCHITECTURE.md", "Logs carry", "Tests search")
    sec = said("SECURITY.md", "Log lines carry", "Where a line quotes")
    assert ids in arch and ids in sec, (arch, sec)
    assert "never a CPR or a name" in arch and "never a CPR or a name" in sec
    assert "MTA" in arch and "MTA" in sec, arch


def test_every_program_says_when_a_secret_key_file_is_open_to_others(
        make_hub):
    """SECURITY.md "Personal data at rest": a secret key file
    (`ID.key_secret`, `hub.sign_secret`) that its group or others may read
    or write is still used, not refused, but every program that loads it
    logs `KEYS-MODE PATH is open to others than its owner (mode 0MMM): it
    holds secret keys; chmod 600 it` (warn), each time: hubd and hubctl
    for the signing key, inbox, an adapter and webd for their own."""
    from test_70_web import Web
    hub = make_hub(start=False)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")

    def said(text, name, mode):
        path = hub.keys_dir / name
        return (f"warn KEYS-MODE {path} is open to others than its owner "
                f"(mode {mode}): it holds secret keys; chmod 600 it") in text
    modes = {"hub.sign_secret": "0640", "cw-anna.key_secret": "0604",
             "school-a.key_secret": "0660", "web-1.key_secret": "0644"}
    for name, mode in modes.items():
        (hub.keys_dir / name).chmod(int(mode, 8))
    hub.start()
    # hubd loads its signing key at its first loop turn, after HUB-READY.
    hub.wait_log(r"KEYS-MODE .*hub\.sign_secret")
    assert said(hub.log_text(), "hub.sign_secret", "0640")
    p = hub.hubctl("audit", "verify")
    assert said(p.stderr, "hub.sign_secret", "0640"), p.stderr
    rc, _, err = hub.inbox("cw-anna", idle_exit=1)
    assert rc == 0 and said(err, "cw-anna.key_secret", "0604"), err
    r = hub.adapter("import", str(hub.csv("none.csv", [])[0]))
    assert r.rc == 0 and said(r.stderr, "school-a.key_secret", "0660"), \
        str(r)
    web = Web(hub)
    try:
        assert web.request("GET", "/login")[0].status == 200
    finally:
        web.stop()
    assert said((hub.logs_dir / "webd.log").read_text(), "web-1.key_secret",
                "0644")
    # Made 0600 again, nothing is said.
    for name in modes:
        (hub.keys_dir / name).chmod(0o600)
    rc, _, err = hub.inbox("cw-anna", idle_exit=1)
    assert rc == 0 and "KEYS-MODE" not in err, err
    assert "KEYS-MODE" not in hub.hubctl("audit", "verify").stderr


def test_a_cpr_split_by_a_byte_that_is_not_utf8_is_masked_when_echoed(
        make_hub, tmp_path):
    """SECURITY.md "Log lines" and "Audit trail": a log line or a message
    masks a CPR number as the audit trail does, and there a byte that is
    not UTF-8 between its halves counts as the dash (a Windows-1252 dash
    in a file name, or any other such byte). The line shows the byte as
    Windows-1252 (`ÿ` for 0xFF), but the number is masked all the same:
    in hubctl's messages, in an adapter's log lines and per-file line,
    and in webd's WEB-CSRF line, which quotes the path a client sent."""
    import re
    import urllib.parse
    from hubtest import DEFAULT_HEADER
    from test_70_web import PASSWORD, Web, set_password, session_cookie
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    set_password(hub, "cw-anna", PASSWORD)
    seps = (b"\xff", b"\x85", b"\xad", b"\xb7", b"\x96")
    cprs = CprGen(6311).take(len(seps))
    hub.cprs.update(cprs)

    def named(cpr, sep):
        return cpr[:6].encode() + sep + cpr[6:].encode()

    def unmasked(text):
        return [c for c in cprs if re.search(
            c[:6] + r"\D{1,3}" + c[6:], text)]
    outs = []
    for cpr, sep in zip(cprs, seps):
        # hubctl: a file it cannot write, named after the person.
        out = bytes(tmp_path) + b"/no-such-dir/" + named(cpr, sep) + b".json"
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "export", "--cpr", cprs[0], "--out", out],
                           capture_output=True, timeout=60)
        assert p.returncode == 1, p
        outs.append(("hubctl", p.stderr.decode()))
        # An adapter: a file named after the person, its name in the log
        # lines on stderr and in the per-file line on stdout.
        path = bytes(hub.inputs_dir) + b"/" + named(cpr, sep) + b".csv"
        with open(path, "wb") as f:
            f.write(";".join(DEFAULT_HEADER).encode() + b"\n")
        p = subprocess.run(hub.adapter_cmd("import", path.decode(
            errors="surrogateescape")), capture_output=True, timeout=60)
        assert p.returncode == 0, p
        outs.append(("adapter", (p.stdout + p.stderr).decode()))
    web = Web(hub)
    try:
        sid = session_cookie(web.raw_login("cw-anna", PASSWORD)[1])
        for cpr, sep in zip(cprs, seps):
            r, _ = web.request("POST", "/" + urllib.parse.quote(
                named(cpr, sep)), cookies={"ug_session": sid})
            assert r.status == 403
    finally:
        web.stop()
    outs.append(("webd", (hub.logs_dir / "webd.log").read_text()))
    assert (hub.logs_dir / "webd.log").read_text().count("WEB-CSRF") == 5
    for who, text in outs:
        assert not unmasked(text), (who, text)
        assert "xxxxxx" in text, (who, text)
