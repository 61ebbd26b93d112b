"""85 operations, first half of docs/OPERATIONS.md read as municipal IT
operations read it (install, settings, start and stop, the log ids):
what the earlier ops tests (01, 58, 59, 62, 80) leave unasserted."""

import os
import re
import signal
import subprocess

import pytest
import zmq

import hubtest
from hubtest import binary


def test_check_config_ok_that_cannot_be_written_is_exit_1(tmp_path):
    """OPERATIONS.md "Checking the configuration": exit 0 prints `hubd:
    configuration OK` on stdout; exit 1 when that answer could not be
    written (stdout on a full disk or closed), `hubd: cannot write
    standard output: REASON`, so a script's `&&` does not go on."""
    conf = tmp_path / "hubd.conf"
    conf.write_text(f"data_dir = {tmp_path / 'data'}\nrules =\n")
    cmd = [binary("hubd"), "--check-config", "--config", str(conf)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "hubd: configuration OK\n", ""), p.stderr
    with open("/dev/full", "w") as full:
        p = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=20)
    assert (p.returncode, p.stderr) == (
        1, "hubd: cannot write standard output: No space left on "
        "device\n"), p.stderr
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=20,
                       preexec_fn=lambda: os.close(1))
    assert (p.returncode, p.stderr) == (
        1, "hubd: cannot write standard output: Bad file descriptor\n"), \
        p.stderr
    assert not (tmp_path / "data").exists()


def doc_text():
    return " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                    .split())


def test_hub_zap_lines_name_the_kind_and_the_endpoints_setting(make_hub):
    """OPERATIONS.md, Monitoring, HUB-ZAP: `admitted KIND 'ID' from
    ADDRESS on ENDPOINT` (info), KIND agency, caseworker or web gateway,
    ENDPOINT the endpoint's setting (ingest, delivery), not its address;
    a refused key `refused CURVE client from ADDRESS on ENDPOINT: REASON
    (key PREFIX...)` (warn). HUB-HELLO's line for a desk member."""
    doc = doc_text()
    assert "ENDPOINT in its lines is the endpoint's setting, `ingest` or " \
        "`delivery`, not its address" in doc
    assert "(KIND `agency`, `caseworker` or `web gateway`): info" in doc
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    hub.keygen("stranger")
    hub.settle()                       # school-a on ingest
    hub.peek("cw-anna", 0)             # cw-anna on delivery
    hub.peek("desk-dora", 0)           # a desk member
    ctx = zmq.Context()
    socks = []
    try:
        for who in ("web-1", "stranger"):
            socks.append(hubtest.curve_dealer(ctx, hub, who, hub.delivery))
        hub.wait_log(r"HUB-ZAP admitted web gateway 'web-1'")
        hub.wait_log(r"HUB-ZAP refused CURVE client")
    finally:
        for sock in socks:
            sock.close(0)
        ctx.destroy(linger=0)
    log = hub.log_text()
    stranger = hubtest.read_key_file(hub.keys_dir / "stranger.key")
    for line in ("info HUB-ZAP admitted agency 'school-a' from 127.0.0.1 "
                 "on ingest\n",
                 "info HUB-ZAP admitted caseworker 'cw-anna' from 127.0.0.1 "
                 "on delivery\n",
                 "info HUB-ZAP admitted web gateway 'web-1' from 127.0.0.1 "
                 "on delivery\n",
                 "warn HUB-ZAP refused CURVE client from 127.0.0.1 on "
                 "delivery: key not registered (key "
                 f"{stranger['public'][:8]}...)\n"):
        assert line in log, (line, log)
    # HUB-HELLO, the same reference: "(desk member)" after "connected".
    assert "Z hubd info HUB-HELLO caseworker cw-anna connected, 0 open " \
        "alerts\n" in log, log
    assert "Z hubd info HUB-HELLO caseworker desk-dora connected (desk " \
        "member), 0 open alerts\n" in log, log
    assert "for a member of the duty desk `caseworker ID connected (desk " \
        "member), N open alerts`: info" in doc


def test_sighup_with_no_rules_file_and_sigint_stop_as_documented(make_hub):
    """OPERATIONS.md "Start and stop": SIGHUP logs `HUB-RELOAD rules
    reloaded from FILE` (notice; `(defaults)` when `rules` is empty);
    Monitoring: HUB-METRICS `metrics and health on http://HOST:PORT/` at
    start (notice); SIGINT stops as SIGTERM does, exit 0, HUB-STOP
    (notice) with the counters in the order the reference lists them."""
    port = hubtest.free_port()
    hub = make_hub(start=False,
                   settings={"metrics_listen": f"127.0.0.1:{port}"})
    hub.conf.write_text(re.sub(r"(?m)^rules = .*$", "rules = ",
                               hub.conf.read_text()))
    hub.start()
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD")
    hub.proc.send_signal(signal.SIGINT)
    assert hub._reap(20) == 0
    hub.stopped_cleanly = True
    log = hub.log_text()
    assert f"Z hubd notice HUB-METRICS metrics and health on " \
        f"http://127.0.0.1:{port}/\n" in log, log
    assert "Z hubd notice HUB-RELOAD rules reloaded from (defaults)\n" \
        in log, log
    assert re.search(
        r"Z hubd notice HUB-STOP accepted 0, duplicates 0, rejected 0, "
        r"alerts raised 0, delivered 0, acked 0, keys admitted 0, "
        r"refused 0, sessions reclaimed 0, refused 0, queries "
        r"rate-limited 0, actions rate-limited 0\n", log), log


def test_web_csrf_is_logged_for_a_sessions_post_only(make_hub):
    """OPERATIONS.md, webd's message ids: `WEB-CSRF POST PATH without a
    valid CSRF token refused` (warn) for a POST in a session; a stale
    login form and a POST without a session are 403 and log nothing."""
    from test_70_web import PASSWORD, Web, web_hub
    assert "refused`: warn, for a POST in a session; a login form whose " \
        "token no longer fits and a POST without a session are answered " \
        "`403` as \"The web inbox\" says and log nothing" in doc_text()
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        pre, _ = web.login_form()
        r, _ = web.request("POST", "/login",
                           {"csrf": "0" * 32, "caseworker": "cw-anna",
                            "password": PASSWORD}, cookies={"ug_pre": pre})
        assert r.status == 403
        r, _ = web.request("POST", "/logout", {"csrf": "0" * 32})
        assert r.status == 403
        r, cookies = web.raw_login("cw-anna", PASSWORD)
        assert r.status == 303
        session = re.search(r"ug_session=([0-9a-f]+)", " ".join(cookies))
        r, _ = web.request("POST", "/logout", {"csrf": "0" * 32},
                           cookies={"ug_session": session.group(1)})
        assert r.status == 403
    finally:
        web.stop()
    lines = [line for line in (hub.logs_dir / "webd.log").read_text()
             .splitlines() if "WEB-CSRF" in line]
    assert len(lines) == 1, lines
    assert lines[0].endswith(
        " webd warn WEB-CSRF POST /logout without a valid CSRF token "
        "refused"), lines


def signals_caught(pid):
    """The signal numbers the process has handlers for (SigCgt)."""
    [mask] = [line.split()[1] for line in
              open(f"/proc/{pid}/status").read().splitlines()
              if line.startswith("SigCgt:")]
    return {n for n in range(1, 65) if int(mask, 16) >> (n - 1) & 1}


def stopped_while_reading_its_settings(program, fifo, text, check):
    """Start `program --config fifo` and, while it waits on the FIFO
    (open() for writing returns once it has opened it to read: it is
    then inside its reading of the settings), run check(pid); then feed
    it `text` and SIGTERM it. Its (exit status, stderr)."""
    proc = subprocess.Popen([binary(program), "--config", str(fifo)],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        with open(fifo, "w") as f:
            check(proc.pid)
            # It reads its settings again to check every line: from
            # here on the path is a regular file with the same text.
            regular = fifo.with_name(fifo.name + ".regular")
            regular.write_text(text)
            os.replace(regular, fifo)
            f.write(text)
        # (Not while it waits on the FIFO: a signal handled there
        # interrupts the wait, as on no regular file.)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return rc, proc.stderr.read()


def test_hubd_catches_sigterm_from_before_it_reads_its_settings(make_hub,
                                                               tmp_path):
    """OPERATIONS.md "Start and stop": SIGTERM/SIGINT stop hubd cleanly,
    HUB-STOP and exit 0; hubd "sets its own handlers at start". They were
    set only after the settings and the rules file were read and checked,
    so a stop that came in those first milliseconds (systemctl stop right
    after a start) killed hubd by the signal, without a word. Here hubd
    waits on its --config, a FIFO, until the test writes it: SIGTERM,
    SIGINT and SIGHUP are caught already; a SIGTERM right after is a
    clean stop, exit 0, HUB-STOP."""
    if hubtest.VALGRIND:
        pytest.skip("valgrind keeps handlers of its own")
    hub = make_hub(start=False)
    fifo = tmp_path / "hubd.fifo"
    os.mkfifo(fifo)

    def check(pid):
        caught = signals_caught(pid)
        assert {signal.SIGTERM, signal.SIGINT, signal.SIGHUP} <= caught, \
            caught
    rc, err = stopped_while_reading_its_settings(
        "hubd", fifo, hub.conf.read_text(), check)
    assert rc == 0, (rc, err)
    assert re.search(r"hubd notice HUB-STOP accepted 0, ", err), err


def test_webd_catches_sigterm_from_before_it_reads_its_settings(make_hub,
                                                               tmp_path):
    """webd --help, webd(1): exit 0 "stopped by SIGTERM or SIGINT"; its
    handlers were set only once it served, so a stop during its start
    (reading its settings and keys, binding) killed it by the signal, no
    WEB-STOP. Held on a FIFO --config, it has them already (and SIGHUP
    ignored, as it is once it serves); a SIGTERM right after is exit 0."""
    if hubtest.VALGRIND:
        pytest.skip("valgrind keeps handlers of its own")
    hub = make_hub(start=False)
    hub.keygen("web-1")
    fifo = tmp_path / "webd.fifo"
    os.mkfifo(fifo)
    text = (f"gateway = web-1\nkeys_dir = {hub.keys_dir}\n"
            f"delivery = {hub.delivery}\nport = {hubtest.free_port()}\n")

    def check(pid):
        caught = signals_caught(pid)
        assert {signal.SIGTERM, signal.SIGINT} <= caught, caught
        [ignored] = [line.split()[1] for line in
                     open(f"/proc/{pid}/status").read()
                     .splitlines() if line.startswith("SigIgn:")]
        assert int(ignored, 16) >> (signal.SIGHUP - 1) & 1, ignored
    rc, err = stopped_while_reading_its_settings("webd", fifo, text, check)
    assert rc == 0, (rc, err)
    assert err.endswith(" webd info WEB-STOP stopped\n"), err


@pytest.mark.parametrize("inside,refused", [
    ("\u0085", True), ("\u0080", True), ("\u009f", True), ("\u00a0", True),
    ("\t", True), ("\x7f", True), ("\u00e6", False), ("%C2%85", False)])
def test_mail_base_url_refuses_every_control_character(tmp_path, inside,
                                                       refused):
    """OPERATIONS.md, "E-mail notices of new alerts": mail_base_url
    without blanks or control characters; a control character is
    U+0000-U+001F and U+007F-U+009F in every program's terms (Monitoring).
    The C1 controls (U+0085 a line break to some mail clients) and a
    no-break space passed, and cut the link in the notice in two."""
    conf = tmp_path / "hubd.conf"
    conf.write_text(f"rules =\nmail_base_url = https://unge.example.dk/"
                    f"a{inside}b\n", encoding="utf-8")
    p = subprocess.run([binary("hubd"), "--check-config", "--config",
                        str(conf)], capture_output=True, text=True,
                       timeout=20)
    if refused:
        assert (p.returncode, p.stdout, p.stderr) == (
            2, "", f"{conf}:2: mail_base_url must not hold spaces or "
            "control characters\n"), p.stderr
    else:
        assert (p.returncode, p.stderr) == (0, ""), p.stderr


def test_a_word_after_a_yes_no_option_is_the_next_argument(tmp_path):
    """OPERATIONS.md "Start and stop": a yes/no word right after --name
    is its value; another word is the next argument, and one none of
    hubctl, inbox and webd takes is refused naming the setting (exit 2),
    as --name=value with any other value is."""
    doc = doc_text()
    assert "Another word right after `--name` is not its value but the " \
        "next argument" in doc
    keys = str(tmp_path / "nokeys")
    cases = [
        (["hubctl", "--data_dir", str(tmp_path / "d"), "stats", "--json",
          "maybe"],
         "hubctl: json must be true or false (or yes/no, on/off, 1/0), "
         "not 'maybe'\n"),
        (["hubctl", "--data_dir", str(tmp_path / "d"), "stats",
          "--json=maybe"],
         "hubctl: json must be true or false (or yes/no, on/off, 1/0), "
         "not 'maybe'\n"),
        (["inbox", "--caseworker", "cw-anna", "--keys_dir", keys, "--list",
          "stray"], "inbox: list must be true or false (or yes/no, "
         "on/off, 1/0), not 'stray'\n"),
        (["webd", "--gateway", "web-1", "--keys_dir", keys, "--behind_tls",
          "maybe"], "webd: behind_tls must be true or false (or yes/no, "
         "on/off, 1/0), not 'maybe'\n")]
    for cmd, said in cases:
        p = subprocess.run([binary(cmd[0])] + cmd[1:], capture_output=True,
                           text=True, timeout=20)
        assert (p.returncode, p.stdout, p.stderr) == (2, "", said), cmd
