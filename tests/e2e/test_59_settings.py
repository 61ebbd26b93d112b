"""59 settings: every documented setting's range, its refusal and the
file format, read as a tester reads docs/OPERATIONS.md ("Start and stop",
"Checking the configuration", the web inbox, the adapters' table in
docs/ADAPTERS.md) and docs/RULES.md section 10. hubd is checked with
--check-config (no store, no socket); webd, inbox and the adapters check
their settings before they read a key, so a keys_dir that does not exist
tells a value taken (the key cannot be read: exit 1, or 3 for the
adapters) from one refused (exit 2, or 3 naming the setting)."""

import re
import signal
import subprocess

import pytest

import hubtest

# OPERATIONS.md, "Start and stop": hubd's whole-number settings.
HUBD_NUMBERS = {
    "log_map_mb": (1, 16777216), "derived_map_mb": (1, 16777216),
    "batch_max": (1, 10000), "sessions_max": (1, 100000),
    "sessions_per_caseworker": (1, 1000), "query_rate": (1, 100000),
    "query_burst": (1, 100000), "web_sessions_max": (1, 100000),
    "web_session_idle": (1, 1440), "login_lockout": (1, 1440),
    "login_failures_max": (1, 1000), "login_gateway_failures": (1, 100000),
    "mail_delay": (0, 86400), "mail_interval": (1, 10080),
    "mail_timeout": (1, 3600), "purge_batch": (1, 10000),
    "retention_age": (0, 150), "ops_queue_open": (1, 1000000),
    "ops_queue_hours": (1, 8784), "ops_map_percent": (1, 100),
    "ops_audit_hours": (0, 8784),
    **{f"retention_{t}": (0, 54750) for t in (
        "absence", "readiness", "dropout_risk", "missed_activation",
        "addiction", "dropout", "enrolment", "school_leaving", "benefit",
        "action", "assignment", "desk")},
}

# Written in a file: taken as they are, or refused (a number is decimal
# digits with an optional leading '-'; blanks around a value are dropped).
def number_cases(low, high):
    return [(str(low), True), (str(high), True),
            (f"  {high}\t", True), ("000" + str(high), True),
            (str(low - 1), False), (str(high + 1), False),
            (f"+{high}", False), (f"{high}.0", False), (f"{high}k", False),
            ("0x10", False), ("", False), (f"{high} # note", False),
            ("99999999999999999999999", False)]


def check_config(*args, cwd=None):
    p = subprocess.run([hubtest.binary("hubd"), "--check-config", *args],
                       capture_output=True, text=True, timeout=30, cwd=cwd)
    return p.returncode, p.stdout, p.stderr


def file_numbers_checked(base, conf, program, name, low, high):
    """Each of number_cases written to conf as its only line: taken (the
    program goes on to its missing keys) or refused naming conf:1.
    Returns the refusal's reason."""
    reason = f"{name} must be a whole number from {low} to {high}"
    for value, good in number_cases(low, high):
        conf.write_text(f"{name} = {value}\n")
        rc, err = run(base + ["--config", str(conf)])
        if good:
            assert rc == 1 and "cannot open" in err, (value, err)
        else:
            assert rc == 2 and err == f"{program}: {conf}:1: {reason}\n", \
                (value, err)
    return reason


@pytest.mark.parametrize("name", sorted(HUBD_NUMBERS))
def test_hubd_whole_numbers(tmp_path, name):
    low, high = HUBD_NUMBERS[name]
    # --help shows the range the docs give.
    help_text = subprocess.run([hubtest.binary("hubd"), "--help"],
                               capture_output=True, text=True).stdout
    entry = re.search(rf"--{name} VALUE\n(.*?)\n", help_text).group(1)
    assert f"{low}-{high}" in entry, entry
    reason = f"{name} must be a whole number from {low} to {high}"
    conf = tmp_path / "hubd.conf"
    for value, good in number_cases(low, high):
        conf.write_text(f"# a comment\n{name} = {value}\n")
        rc, out, err = check_config("--config", str(conf))
        if good:
            assert (rc, out, err) == (0, "hubd: configuration OK\n", ""), \
                (value, err)
        else:
            assert rc == 2 and err == f"{conf}:2: {reason}\n", (value, err)
    # On the command line: no file and line.
    rc, _, err = check_config(f"--{name}", str(high + 1))
    assert rc == 2 and err == f"hubd: {reason}\n", err
    rc, out, _ = check_config(f"--{name}={low}")
    assert rc == 0, out


def test_hubd_file_rules_last_line_wins_and_every_line_is_checked(tmp_path):
    conf = tmp_path / "hubd.conf"
    reason = "batch_max must be a whole number from 1 to 10000"
    # hubd checks every line, also one a later line overrides.
    conf.write_text("batch_max = 0\nbatch_max = 5\n")
    assert check_config("--config", str(conf))[2] == f"{conf}:1: {reason}\n"
    conf.write_text("batch_max = 5\nbatch_max = 0\n")
    assert check_config("--config", str(conf))[2] == f"{conf}:2: {reason}\n"
    # Every bad line is reported, not only the first.
    conf.write_text("batch_max = 0\nlog_level = loud\nx = 1\n")
    rc, _, err = check_config("--config", str(conf))
    assert rc == 2 and err.splitlines() == [
        f"{conf}:1: {reason}",
        f"{conf}:2: log_level must be err, warn, notice, info or debug",
        f"{conf}:3: unknown setting 'x' (see --help)"], err
    # A byte order mark, CRLF and blanks are fine; names are exact.
    conf.write_bytes(b"\xef\xbb\xbf  batch_max\t=  7 \r\nlog_level = DeBuG\r\n")
    assert check_config("--config", str(conf))[0] == 0
    conf.write_text("Batch_Max = 7\n")
    assert check_config("--config", str(conf))[2] == \
        f"{conf}:1: unknown setting 'Batch_Max' (see --help)\n"
    # Other programs' settings are unknown to hubd.
    for other in ("json = true", "port = 80", "config = x"):
        conf.write_text(other + "\n")
        assert check_config("--config", str(conf))[0] == 2, other
    # Empty data_dir / keys_dir.
    for name in ("data_dir", "keys_dir"):
        conf.write_text(f"{name} =\n")
        assert check_config("--config", str(conf))[2] == \
            f"{conf}:1: {name} must name a directory\n"


@pytest.mark.parametrize("value,good", [
    ("err", True), ("WARN", True), ("Notice", True), ("info", True),
    ("debug", True), ("", False), ("verbose", False), ("info,", False)])
def test_hubd_log_level(value, good):
    rc, _, err = check_config("--log_level", value)
    assert rc == (0 if good else 2), err
    if not good:
        assert err == \
            "hubd: log_level must be err, warn, notice, info or debug\n"


# -- the rules file (RULES.md section 10)

RULES_NUMBERS = {
    "absence.rolling.threshold_pct": (0, 100),
    "absence.rolling.window_school_days": (10, 200),   # >= min_days 10
    "absence.rolling.min_days": (0, 20),               # <= window 20
    "absence.quarter.warn_pct": (0, 15),               # <= notify 15
    "absence.quarter.notify_pct": (10, 100),           # >= warn 10
    "absence.quarter.min_days": (0, 100),
    "combined.window_days": (1, 730), "combined.min_signals": (2, 7),
    "transition_gap.days": (1, 365),
    "deadline.contact_working_days": (2, 60),          # > warn 1
    "deadline.offer_days": (1, 365), "deadline.treatment_days": (1, 365),
    "deadline.warn_working_days": (0, 4),              # < contact 5
    "deadline.min_age": (0, 17), "deadline.max_age": (15, 30),
    "ack.low_hours": (1, 8760), "ack.normal_hours": (1, 8760),
    "ack.high_hours": (1, 8760), "ack.urgent_hours": (1, 8760),
    "missed_activation.count": (1, 10), "missed_activation.days": (1, 365),
}
RULES_RANGE = {
    "absence.rolling.window_school_days": (1, 200),
    "absence.rolling.min_days": (0, 200),
    "absence.quarter.warn_pct": (0, 100),
    "absence.quarter.notify_pct": (0, 100),
    "deadline.contact_working_days": (1, 60),
    "deadline.warn_working_days": (0, 30),
    "deadline.min_age": (0, 30), "deadline.max_age": (0, 30),
}


@pytest.mark.parametrize("name", sorted(RULES_NUMBERS))
def test_rules_whole_numbers(tmp_path, name):
    low, high = RULES_NUMBERS[name]
    rlow, rhigh = RULES_RANGE.get(name, (low, high))
    reason = f"{name} must be a whole number from {rlow} to {rhigh}"
    rules = tmp_path / "rules.conf"
    for value, good in number_cases(low, high):
        if not good and value in (str(low - 1), str(high + 1)):
            if (low, high) != (rlow, rhigh):
                continue        # a contradiction, not a range error
        rules.write_text(f"  # comment\n\n{name} = {value}\n")
        rc, out, err = check_config("--rules", str(rules))
        if good:
            assert rc == 0, (value, err)
        else:
            assert rc == 2 and err == f"{rules}:3: {reason}\n", (value, err)
    for value in (rlow - 1, rhigh + 1):
        rules.write_text(f"{name} = {value}\n")
        assert check_config("--rules", str(rules))[2] == \
            f"{rules}:1: {reason}\n"


@pytest.mark.parametrize("value,good", [
    ("yes", True), ("no", True), ("true", True), ("false", True),
    ("on", True), ("off", True), (" yes ", True),
    ("Yes", False), ("TRUE", False), ("1", False), ("0", False),
    ("", False), ("ja", False)])
def test_rules_booleans(tmp_path, value, good):
    rules = tmp_path / "rules.conf"
    rules.write_text(f"dropout.enabled = {value}\n")
    rc, _, err = check_config("--rules", str(rules))
    assert rc == (0 if good else 2), err
    if not good:
        assert err == f"{rules}:1: '{value.strip()}' is not a valid value " \
            "for dropout.enabled\n"


@pytest.mark.parametrize("value,good", [
    ("low", True), ("NORMAL", True), ("High", True), ("urgent", True),
    ("severe", False), ("", False), ("1", False)])
def test_rules_priorities(tmp_path, value, good):
    rules = tmp_path / "rules.conf"
    rules.write_text(f"dropout.priority = {value}\n")
    rc, _, err = check_config("--rules", str(rules))
    assert rc == (0 if good else 2), err
    if not good:
        assert err == f"{rules}:1: '{value}' is not a valid value for " \
            "dropout.priority\n"


def test_rules_contradictions_are_each_reported(tmp_path):
    rules = tmp_path / "rules.conf"
    rules.write_text("absence.rolling.min_days = 30\n"
                     "absence.quarter.notify_pct = 5\n"
                     "deadline.warn_working_days = 5\n"
                     "deadline.min_age = 18\n")
    rc, _, err = check_config("--rules", str(rules))
    assert rc == 2 and err.splitlines() == [
        f"{rules}: min_days is larger than window_school_days",
        f"{rules}: notify_pct is below warn_pct",
        f"{rules}: warn_working_days must be below contact_working_days",
        f"{rules}: min_age is above max_age"], err


# -- webd, inbox, the adapters: refused before any key is read

def run(cmd, timeout=20):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stderr


WEBD_NUMBERS = {"port": (1, 65535), "hub_timeout": (1, 600),
                "sessions_max": (1, 1000000),
                "connections_max": (2, 10000), "events_poll": (1, 60),
                "session_warning": (20, 3600)}


@pytest.mark.parametrize("name", sorted(WEBD_NUMBERS) + ["streams_max"])
def test_webd_whole_numbers(tmp_path, name):
    low, high = WEBD_NUMBERS.get(name, (1, 9999))
    base = [hubtest.binary("webd"), "--gateway", "web-1", "--keys_dir",
            str(tmp_path / "nokeys")]
    # streams_max must stay below connections_max: the other one is set
    # so that only the range is judged.
    if name == "streams_max":
        base += ["--connections_max", "10000"]
    if name == "connections_max":
        base += ["--streams_max", "1"]
    conf = tmp_path / "webd.conf"
    reason = file_numbers_checked(base, conf, "webd", name, low, high)
    # The command line wins over the file, wherever it stands.
    conf.write_text(f"{name} = {high + 1}\n")
    rc, err = run(base + [f"--{name}", str(low), "--config", str(conf)])
    assert rc == 1, err
    rc, err = run(base + [f"--{name}", str(low - 1)])
    assert rc == 2 and err == f"webd: {reason}\n", err


INBOX_NUMBERS = {"max": (0, 1073741824), "idle_exit": (0, 86400),
                 "timeout": (1, 3600)}


@pytest.mark.parametrize("name", sorted(INBOX_NUMBERS))
def test_inbox_whole_numbers(tmp_path, name):
    low, high = INBOX_NUMBERS[name]
    base = [hubtest.binary("inbox"), "--caseworker", "cw-anna",
            "--keys_dir", str(tmp_path / "nokeys")]
    file_numbers_checked(base, tmp_path / "inbox.conf", "inbox", name, low,
                         high)


ADAPTER_NUMBERS = {"timeout": (0, 604800), "window": (1, 65536),
                   "settle": (0, 3600), "rescan": (1, 3600)}


@pytest.mark.parametrize("name", sorted(ADAPTER_NUMBERS))
def test_adapter_whole_numbers(tmp_path, name):
    low, high = ADAPTER_NUMBERS[name]
    conf = tmp_path / "school.conf"
    exe = hubtest.binary("adapter-school")
    reason = f"{name} must be a whole number from {low} to {high}"
    (tmp_path / "drop").mkdir()
    for value, good in number_cases(low, high):
        conf.write_text(f"agency = school-a\nkeys_dir = {tmp_path}/nokeys\n"
                        f"outbox = {tmp_path}/outbox\n{name} = {value}\n")
        rc, err = run([exe, "--config", str(conf), "watch",
                       str(tmp_path / "drop")])
        assert rc == 3, (value, err)
        if good:
            assert "school-a.key_secret" in err, (value, err)
        else:
            assert err == f"adapter-school: {conf}:4: {reason}\n", \
                (value, err)


@pytest.mark.parametrize("prog,name", [
    ("webd", "behind_tls"), ("inbox", "json"), ("inbox", "no_ack"),
    ("adapter-school", "json"), ("hubctl", "json")])
@pytest.mark.parametrize("value,good", [
    ("true", True), ("FALSE", True), ("Yes", True), ("no", True),
    ("ON", True), ("off", True), ("1", True), ("0", True),
    ("ja", False), ("2", False), ("", False), ("y", False)])
def test_yes_no_settings(tmp_path, prog, name, value, good):
    nokeys = str(tmp_path / "nokeys")
    cmd = {"webd": ["webd", "--gateway", "web-1", "--keys_dir", nokeys],
           "inbox": ["inbox", "--caseworker", "cw-anna", "--keys_dir",
                     nokeys],
           "adapter-school": ["adapter-school", "--agency", "school-a",
                              "--keys_dir", nokeys, "--outbox",
                              str(tmp_path / "outbox"), "flush"],
           "hubctl": ["hubctl", "keygen", "--keys_dir",
                      str(tmp_path / "keys"), "k1"]}[prog]
    cmd[0] = hubtest.binary(cmd[0])
    conf = tmp_path / "p.conf"
    conf.write_text(f"{name} = {value}\n")
    rc, err = run(cmd[:1] + ["--config", str(conf)] + cmd[1:])
    bad = {"adapter-school": 3}.get(prog, 2)
    reason = f"{name} must be true or false (or yes/no, on/off, 1/0), " \
        f"not '{value}'"
    if good:
        assert reason not in err and (rc != bad or prog == "adapter-school"), \
            (value, rc, err)
    else:
        assert rc == bad and err == f"{prog}: {conf}:1: {reason}\n", \
            (value, rc, err)
    rc, err = run(cmd[:1] + [f"--{name}={value}"] + cmd[1:])
    if not good:
        assert rc == bad and err == f"{prog}: {reason}\n", (value, rc, err)


@pytest.mark.parametrize("prog", ["webd", "inbox", "adapter-school",
                                  "hubctl", "hubd"])
def test_line_of_510_bytes_and_no_more(tmp_path, prog):
    nokeys = str(tmp_path / "nokeys")
    name, cmd = {
        "webd": ("listen_address",
                 ["webd", "--gateway", "web-1", "--keys_dir", nokeys]),
        "inbox": ("note", ["inbox", "--caseworker", "cw-anna",
                           "--keys_dir", nokeys]),
        "adapter-school": ("ignore_columns",
                           ["adapter-school", "--agency", "school-a",
                            "--keys_dir", nokeys, "flush"]),
        "hubctl": ("mail_sendmail", ["hubctl", "stats", "--data_dir",
                                     str(tmp_path / "data")]),
        "hubd": ("mail_sendmail", ["hubd", "--check-config"])}[prog]
    cmd[0] = hubtest.binary(cmd[0])
    conf = tmp_path / "p.conf"
    line = f"{name} = "
    line += "a" * (511 - len(line))
    conf.write_bytes(b"\xef\xbb\xbf" + line.encode() + b"\r\n")
    rc, err = run(cmd[:1] + ["--config", str(conf)] + cmd[1:])
    prefix = "" if prog == "hubd" else f"{prog}: "
    assert err == f"{prefix}{conf}:1: line longer than 510 bytes\n", err
    conf.write_bytes(b"\xef\xbb\xbf" + line[:-1].encode() + b"\r\n")
    rc, err = run(cmd[:1] + ["--config", str(conf)] + cmd[1:])
    assert "longer than 510" not in err, err


# -- SIGHUP: only the rules file; a bad one is refused whole

def test_sighup_refuses_a_bad_rules_file_whole(make_hub):
    hub = make_hub()
    rules = hub.tmp / "rules.conf"
    rules.write_text("deadline.min_age = 16\ndeadline.max_age = 15\n")
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"hubd err HUB-RELOAD rules not reloaded, the old ones "
                 rf"stay: {re.escape(str(rules))}: min_age is above max_age; "
                 r"the next start refuses this file \(exit 2\): fix it "
                 r"\(hubd --check-config\)")
    rules.unlink()
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"hubd err HUB-RELOAD rules not reloaded, the old ones "
                 rf"stay: cannot open {re.escape(str(rules))}: No such file")
    assert hub.running


# -- clock_file and dated holidays: a real day in the years 1900-2199

@pytest.mark.parametrize("text,good", [
    ("2026-01-01", True), ("2026-01-01T10:00", True),
    ("2026-01-01T10:00:00Z", True), ("\ufeff2026-01-01T10:00:00 \r", True),
    ("1900-01-01", True), ("2199-12-31T23:59:59", True),
    ("1899-12-31", False), ("2200-01-01", False), ("2026-02-29", False),
    ("2026-01-01T24:00:00", False), ("2026-01-01 10:00:00", False),
    (" 2026-01-01", False), ("", False)])
def test_clock_file(tmp_path, text, good):
    clock = tmp_path / "clock"
    clock.write_text(text + "\n")
    rc, _, err = check_config("--clock_file", str(clock))
    if good:
        assert rc == 0, err
    else:
        assert rc == 2 and err == (
            f"hubd: clock_file {clock} does not hold a time: its first "
            "line must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)\n"), err


@pytest.mark.parametrize("value,good", [
    ("1900-01-01..1900-01-02", True), ("2199-12-30..2199-12-31", True),
    ("1899-12-31..1900-01-02", False), ("2199-12-31..2200-01-01", False),
    ("2026-10-12 .. 2026-10-16", True), ("WEEK 7", True),
    ("week 0", False), ("easter -60..+60", True), ("easter -61..+1", False),
    ("02-29..03-01", True), ("02-30..03-01", False)])
def test_rules_holiday_ranges(tmp_path, value, good):
    rules = tmp_path / "rules.conf"
    rules.write_text(f"calendar.school_holiday = {value}\n")
    rc, _, err = check_config("--rules", str(rules))
    assert rc == (0 if good else 2), err
    if not good:
        assert err.startswith(f"{rules}:1: '{value}' is not a holiday "
                              "range ("), err


# -- webd's connections_max needs as many open files

def test_webd_connections_max_fits_the_open_file_limit(tmp_path):
    """OPERATIONS.md, the web inbox: connections_max takes 2-10000. webd
    raises its open-file limit to fit them (and 64 more); where the hard
    limit is too low it exits 2 naming both. Left as it was, webd served
    up to the limit and then logged libmicrohttpd's 'Hit process or system
    resource limit' hundreds of thousands of times a second."""
    import resource
    import socket
    import time
    keys = tmp_path / "keys"
    for name in ("hub", "web-1"):
        subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                        str(keys), name], check=True, capture_output=True,
                       timeout=30)
    port = hubtest.free_port()
    cmd = [hubtest.binary("webd"), "--gateway", "web-1", "--keys_dir",
           str(keys), "--delivery", "tcp://127.0.0.1:1", "--port",
           str(port), "--connections_max", "10000"]

    def limited(soft, hard):
        return lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                          (soft, hard))
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20,
                       preexec_fn=limited(256, 256))
    assert p.returncode == 2 and p.stderr == (
        "webd: connections_max 10000 needs 10064 open files, but the "
        "limit is 256 (LimitNOFILE, ulimit -n): lower connections_max or "
        "raise the limit\n"), p.stderr
    # --help says so beside the setting, not only OPERATIONS.md.
    text = " ".join(subprocess.run([hubtest.binary("webd"), "--help"],
                                   capture_output=True, text=True,
                                   timeout=20).stdout.split())
    assert ("streams included; the hard open-file limit must allow it "
            "and 64 more, else exit 2 (2-10000)") in text, text
    # A soft limit below a high enough hard one is raised.
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 10064:
        pytest.skip(f"hard open-file limit {hard} below 10064")
    log = tmp_path / "webd.log"
    with open(log, "w") as out:
        w = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                             preexec_fn=limited(256, hard))
    try:
        hubtest.wait_for(lambda: "WEB-START" in log.read_text(), 10,
                         "webd serving")
        limits = open(f"/proc/{w.pid}/limits").read()
        soft = int(re.search(r"Max open files\s+(\d+)", limits).group(1))
        assert soft >= 10064, limits
        # More connections than the old limit allowed, and than select()
        # can watch (descriptors from 1024 on), are served.
        socks = [socket.create_connection(("127.0.0.1", port))
                 for _ in range(1100)]
        time.sleep(1)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /login HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            assert s.recv(64).startswith(b"HTTP/1.1 200"), "not served"
        for s in socks:
            s.close()
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait(timeout=20)
    assert "resource limit" not in log.read_text()
    assert "FD_SETSIZE" not in log.read_text()


def test_hubd_fits_the_open_file_limit_to_sessions_max(make_hub):
    """sessions_max (default 1024) delivery sessions, each a connection
    and an open file: hubd raises its soft open-file limit (up to the hard
    one) to sessions_max and 1024 more, and warns where the hard limit is
    lower. It kept a shell's usual 1024 before, so far fewer sessions
    than the default could connect, and past the limit ZeroMQ retried its
    accept in a tight loop."""
    import os
    import resource
    hub = make_hub(start=False)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"hard open-file limit {hard} below 2048")

    def run(soft, hard_limit, wait_for):
        log = hub.tmp / f"hubd-{soft}-{hard_limit}.log"
        with open(log, "w") as out:
            p = subprocess.Popen(
                [hubtest.binary("hubd"), "--config", str(hub.conf)],
                stdout=out, stderr=subprocess.STDOUT,
                preexec_fn=lambda: resource.setrlimit(
                    resource.RLIMIT_NOFILE, (soft, hard_limit)))
        try:
            hubtest.wait_for(lambda: wait_for in log.read_text()
                             or p.poll() is not None, 20, wait_for)
            limits = open(f"/proc/{p.pid}/limits").read()
            return int(re.search(r"Max open files\s+(\d+)",
                                 limits).group(1)), log.read_text()
        finally:
            p.send_signal(signal.SIGTERM)
            assert p.wait(timeout=30) == 0
    soft, text = run(256, hard, "HUB-READY")
    assert soft >= 2048 and "open files" not in text, (soft, text)
    soft, text = run(256, 256, "HUB-READY")
    assert soft == 256
    assert re.search(
        r"hubd warn HUB-START open files are limited to 256, fewer than "
        r"sessions_max \(1024\) and 1024 more: raise LimitNOFILE or lower "
        r"sessions_max", text), text
    # A start that succeeds: its HUB-START line is a warning, and
    # SECURITY.md bounds a crashed session by this HUB-READY.
    assert "HUB-READY" in text and "cannot start" not in text, text
    # hubd --help says so beside the setting, not only OPERATIONS.md.
    said = " ".join(subprocess.run([hubtest.binary("hubd"), "--help"],
                                   capture_output=True, text=True,
                                   timeout=20).stdout.split())
    assert ("until one ends; hubd raises its open-file limit to it and "
            "1024 more, warning where the hard limit is lower "
            "(1-100000)") in said, said
    assert os.path.exists(hub.data_dir)


@pytest.mark.parametrize("prog,name,bad,good,refused", [
    ("hubd", "batch_max", "0", "5", 2), ("webd", "port", "0", "80", 2),
    ("inbox", "timeout", "0", "5", 2), ("adapter-school", "window", "0",
                                        "5", 3)])
def test_twice_on_the_command_line_the_last_wins(tmp_path, prog, name, bad,
                                                  good, refused):
    nokeys = str(tmp_path / "nokeys")
    cmd = {"hubd": ["hubd", "--check-config"],
           "webd": ["webd", "--gateway", "web-1", "--keys_dir", nokeys],
           "inbox": ["inbox", "--caseworker", "cw-anna", "--keys_dir",
                     nokeys, "--list"],
           "adapter-school": ["adapter-school", "--agency", "school-a",
                              "--keys_dir", nokeys, "flush"]}[prog]
    cmd[0] = hubtest.binary(cmd[0])
    rc, err = run(cmd + [f"--{name}", bad, f"--{name}", good])
    assert f"{name} must be" not in err, err
    rc, err = run(cmd + [f"--{name}", good, f"--{name}", bad])
    assert rc == refused and f"{name} must be a whole number" in err, err


@pytest.mark.parametrize("name", ["after", "limit"])
def test_hubctl_log_after_and_limit(make_hub, name):
    hub = make_hub(start=False)
    high = 9223372036854775807
    for value, good in number_cases(0, high):
        if value != value.strip():
            continue        # blanks are dropped in a file, not here
        p = hub.hubctl("log", f"--{name}", value, check=False)
        if good:
            assert p.returncode == 0, (value, p.stderr)
        else:
            assert p.returncode == 2 and p.stderr == (
                f"hubctl: log: {name} must be a whole number from 0 to "
                f"{high}\n"), (value, p.stderr)


def test_metrics_answer_beside_more_than_1024_connections(make_hub):
    """With sessions_max above a thousand, hubd holds descriptors from
    1024 (FD_SETSIZE) on; /readyz must still answer. libmicrohttpd on
    select() refused every connection from that descriptor on."""
    import os
    import resource
    import socket
    import urllib.request
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 4096:
        pytest.skip(f"hard open-file limit {hard} below 4096")
    port = hubtest.free_port()
    hub = make_hub(settings={"metrics_listen": f"127.0.0.1:{port}",
                             "sessions_max": "2000"})
    endpoint = hub.ingest.rsplit(":", 1)
    socks = []
    try:
        for _ in range(1100):
            socks.append(socket.create_connection(
                (endpoint[0][len("tcp://"):], int(endpoint[1]))))
        hubtest.wait_for(lambda: len(os.listdir(
            f"/proc/{hub.proc.pid}/fd")) > 1100, 20, "hubd accepted")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz",
                                    timeout=10) as r:
            assert r.status == 200
    finally:
        for s in socks:
            s.close()
    assert "FD_SETSIZE" not in hub.log_text()


def long_dir(tmp_path, length):
    """A directory path of exactly length bytes (components of at most
    100 bytes), made."""
    path = str(tmp_path)
    while len(path) < length - 101:
        path += "/" + "d" * 100
    path += "/" + "m" * (length - len(path) - 1)
    assert len(path) == length
    hubtest.Path(path).mkdir(parents=True)
    return path


def test_directories_of_more_than_400_bytes_are_refused(tmp_path):
    """OPERATIONS.md, "Start and stop": data_dir and keys_dir are at most
    400 bytes in hubd, hubctl, inbox and webd. A longer one was taken and
    the file names under it cut short: hubctl keygen wrote ID.key_sec
    and said it wrote ID.key_secret, hubd made data_dir/deriv."""
    ok, long = long_dir(tmp_path / "a", 400), long_dir(tmp_path / "b", 401)
    rc, _, err = check_config("--data_dir", ok, "--keys_dir", ok)
    assert rc == 0, err
    for name in ("data_dir", "keys_dir"):
        rc, _, err = check_config(f"--{name}", long)
        assert (rc, err) == (2, f"hubd: {name} is longer than 400 bytes\n")
    ctl = [hubtest.binary("hubctl"), "--data_dir", ok, "--keys_dir", ok]
    assert run(ctl + ["keygen", "cw-" + "k" * 60])[0] == 0
    assert (hubtest.Path(ok) / ("cw-" + "k" * 60 + ".key_secret")).exists()
    for name, cmd in (("keys_dir", "keygen"), ("data_dir", "stats")):
        rc, err = run(ctl + [f"--{name}", long, cmd] +
                      (["cw-a"] if cmd == "keygen" else []))
        assert (rc, err) == (2, f"hubctl: {name} is longer than 400 "
                                "bytes\n"), err
    rc, err = run([hubtest.binary("inbox"), "--caseworker", "cw-a",
                   "--keys_dir", long, "--list"])
    assert (rc, err) == (2, "inbox: keys_dir is longer than 400 bytes\n")
    rc, err = run([hubtest.binary("webd"), "--gateway", "web-1",
                   "--keys_dir", long])
    assert (rc, err) == (2, "webd: keys_dir is longer than 400 bytes\n")


def test_a_key_file_name_longer_than_511_bytes_is_named_so(tmp_path):
    """hubctl register-* --key FILE: a file that cannot be read is exit 1,
    nothing changed. A name over 511 bytes was cut short and another
    file looked for ("cannot open" the cut name, or a file of that name
    read): it is refused as too long."""
    d = long_dir(tmp_path, 600)
    key = hubtest.Path(d) / "school-a.key"
    ctl = [hubtest.binary("hubctl"), "--data_dir", str(tmp_path / "data"),
           "--keys_dir", str(tmp_path / "keys")]
    assert run(ctl + ["keygen", "hub"])[0] == 0
    assert run(ctl + ["keygen", "school-a"])[0] == 0
    (tmp_path / "keys" / "school-a.key").rename(key)
    rc, err = run(ctl + ["register-agency", "school-a", "--key", str(key)])
    assert (rc, err) == (1, "hubctl: cannot read the public key: --key "
                            "is longer than 511 bytes\n"), err
