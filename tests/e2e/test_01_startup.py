"""01 startup: hubd comes up (HUB-READY), reports an empty store, stops on
SIGTERM with exit 0 (HUB-STOP) and starts again on the same store; every
program answers --help; keygen never overwrites; config errors are named;
hubd never leaves a core dump; the demo prints what README.md quotes of it.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import os
import re
import shutil
import socket
import subprocess
import sys

import pytest

import hubtest
from hubtest import BUILD, Hub, binary


def test_ready_and_empty(hub):
    assert "HUB-READY" in hub.current_log()
    st = hub.stats()
    assert st["log_events"] == 0
    assert st["event_ids"] == 0
    assert st["last_seq"] == 0
    assert st["last_applied"] == 0
    assert st["alerts"] == 0
    assert st["alerts_open"] == 0
    assert st["assignments"] == 0
    # school-a, cw-anna, desk-dora
    assert st["principals"] == 3


def test_systemd_told_ready_once_serving_and_stopping(make_hub, tmp_path,
                                                     monkeypatch):
    """OPERATIONS.md: READY=1 (Type=notify) when hubd serves — HUB-READY
    logged, its threads running — and STOPPING=1 when it stops."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(15 * hubtest.SLOW)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    hub = make_hub(start=False)
    hub.start(wait=False)
    assert sock.recv(256) == b"READY=1"
    assert "HUB-READY" in hub.current_log()
    assert {"hubd-writer", "hubd-applier", "hubd-flusher"} <= \
        thread_names(hub.proc.pid)
    hub.stop()
    assert sock.recv(256) == b"STOPPING=1"
    sock.close()


def test_under_systemd_log_lines_keep_msgid_then_text(make_hub,
                                                      monkeypatch):
    """OPERATIONS.md quotes log lines as "MSGID text" (e.g. "STORE-AUDIT
    checkpoint signed at record N", to be found with journalctl -g and
    compared with audit verify): under the journal (JOURNAL_STREAM set) a
    line is the priority for journald, the level, then exactly that (as a
    plain line has it after the time and the program)."""
    hub = make_hub(start=False)
    # systemd names the stream it gave the unit: here, the log file the
    # harness opens for hubd's standard error (opened "wb": same inode).
    log = hub.logs_dir / f"hubd-{hub.runs + 1}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.touch()
    st = os.stat(log)
    monkeypatch.setenv("JOURNAL_STREAM", f"{st.st_dev}:{st.st_ino}")
    hub.start()
    hub.stop()
    lines = hub.current_log().splitlines()
    assert any(line == "<5>notice HUB-READY store open, sockets bound; "
               "serving" for line in lines), lines
    assert any(line.startswith("<5>notice HUB-STOP accepted 0, ")
               for line in lines), lines
    assert all(re.match(r"<[3-7]>(err|warn|notice|info|debug) [A-Z-]+ ",
                        line) for line in lines), lines


def test_a_journal_stream_that_is_not_stderr_gets_plain_lines(tmp_path,
                                                              monkeypatch):
    """OPERATIONS.md, Monitoring: JOURNAL_STREAM names the stream systemd
    gave the unit; a program whose standard error goes elsewhere (hubctl
    in a unit's script, 2>>FILE) inherits the variable and still writes
    plain lines, with the time and the program."""
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    keys = tmp_path / "keys"
    for name in ("hub", "school-a"):
        subprocess.run([binary("hubctl"), "keygen", "--keys_dir",
                        str(keys), name], check=True, capture_output=True,
                       timeout=20)
    (keys / "hub.key_secret").chmod(0o640)
    err = tmp_path / "hubctl.err"
    with open(err, "wb") as f:
        p = subprocess.run([binary("hubctl"), "register-agency", "school-a",
                            "--keys_dir", str(keys),
                            "--data_dir", str(tmp_path / "data")],
                           stderr=f, stdout=subprocess.DEVNULL, timeout=20)
    line = err.read_text().splitlines()[0]
    assert p.returncode == 0
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z hubctl warn "
                    r"KEYS-MODE ", line), line


def thread_names(pid):
    names = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            names.add(f.read().strip())
    return names


def test_threads_are_named(hub):
    """ARCHITECTURE.md: top -H shows the loop, writer, applier, flusher,
    and libzmq's ZMQbg/... threads; no other."""
    names = thread_names(hub.proc.pid)
    assert {"hubd", "hubd-writer", "hubd-applier",
            "hubd-flusher"} <= names, names
    assert {n for n in names if not n.startswith("ZMQbg/")} == {
        "hubd", "hubd-writer", "hubd-applier", "hubd-flusher"}, names


def test_webd_is_one_thread_beside_libzmqs(make_hub, tmp_path):
    """ARCHITECTURE.md, "The web inbox": webd is one thread of its own
    (libmicrohttpd's event loop, external polling) beside libzmq's
    ZMQbg/... threads."""
    import http.client
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    port = hubtest.free_port()
    with open(tmp_path / "webd.log", "wb") as log:
        proc = subprocess.Popen([binary("webd"), "--gateway", "web-1",
                                 "--keys_dir", str(hub.keys_dir),
                                 "--delivery", hub.delivery,
                                 "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        def serving():
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/login")
                ok = c.getresponse().status == 200
                c.close()
                return ok
            except OSError:
                return False
        hubtest.wait_for(serving, 10, "webd serving")
        names = thread_names(proc.pid)
        assert {n for n in names if not n.startswith("ZMQbg/")} == \
            {"webd"}, names
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_the_outbox_transaction_size_is_the_same_everywhere():
    """ARCHITECTURE.md ("The life of one event") and ADAPTERS.md give the
    number of events an adapter writes to its outbox in one synced
    transaction; both are the runtime's ADAPTER_BATCH_MAX."""
    root = hubtest.ROOT
    batch = int(re.search(r"#define ADAPTER_BATCH_MAX (\d+)",
                          (root / "adapters/adapter_int.h").read_text())
                .group(1))
    arch = " ".join((root / "docs/ARCHITECTURE.md").read_text().split())
    m = re.search(r"into its outbox \(one synced transaction per ([^)]*)\)",
                  arch)
    assert m and m.group(1).startswith(f"{batch} events"), m and m.group(1)
    adapters = " ".join((root / "docs/ADAPTERS.md").read_text().split())
    assert f"the outbox is written in transactions of {batch} events" in \
        adapters


def test_the_senders_window_is_the_adapters_setting():
    """ARCHITECTURE.md ("The life of one event") says how many events an
    adapter's sender keeps in flight: that is the `window` setting, whose
    default ADAPTERS.md gives and the adapters' --help prints."""
    root = hubtest.ROOT
    arch = " ".join((root / "docs/ARCHITECTURE.md").read_text().split())
    m = re.search(r"The sender sends up to (.*?) in flight", arch)
    assert m, "the sender's step is gone"
    adapters = (root / "docs/ADAPTERS.md").read_text()
    default = re.search(r"^\| `window` \| `(\d+)` \|", adapters,
                        re.M).group(1)
    assert "`window`" in m.group(1) and default in m.group(1), m.group(1)
    out = subprocess.run([binary("adapter-school"), "--help"],
                         capture_output=True, text=True, timeout=20).stdout
    assert re.search(rf"--window\b.*?default: {default}\)", out, re.S), out


def test_the_absence_window_is_the_rules_setting():
    """ARCHITECTURE.md ("The life of one event") says over how many school
    days the absence rate is computed: RULES.md's
    absence.rolling.window_school_days, whose default it gives."""
    root = hubtest.ROOT
    arch = " ".join((root / "docs/ARCHITECTURE.md").read_text().split())
    m = re.search(r"the rate over the last (.*?) school days computed", arch)
    assert m, "the absence step is gone"
    rules = (root / "docs/RULES.md").read_text()
    default = re.search(r"^\| `absence\.rolling\.window_school_days` \| "
                        r"(\d+) \|", rules, re.M).group(1)
    assert "`absence.rolling.window_school_days`" in m.group(1) and \
        default in m.group(1), m.group(1)


def architecture_layout():
    """ARCHITECTURE.md's LMDB layout as {environment: {database, ...}}
    (each **`ENV/` — ...** paragraph and the table after it), and the
    process diagram's text."""
    text = (hubtest.ROOT / "docs" / "ARCHITECTURE.md").read_text()
    layout = text[text.index("## The LMDB layout"):
                  text.index("## The life of one event")]
    envs = {}
    parts = re.split(r"^\*\*`(\w+)/` — ", layout, flags=re.M)
    for name, body in zip(parts[1::2], parts[2::2]):
        envs[name] = set(re.findall(r"^\| `(\w+)` \|", body, re.M))
    processes = text[text.index("## The processes"):
                     text.index("## The folders")]
    diagram = re.search(r"```\n(.*?)```", processes, re.S).group(1)
    return envs, diagram


def test_data_dir_is_as_architecture_lays_it_out(hub):
    """ARCHITECTURE.md: three environments under data_dir (the diagram
    and the LMDB layout name each), each holding exactly the databases
    its table lists; beside them only hubd.lock (OPERATIONS.md, "Where
    data lives")."""
    envs, diagram = architecture_layout()
    assert set(envs) == {"log", "ids", "derived"}, envs
    for name in envs:
        assert f"{name}/" in diagram, (name, diagram)
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(101).take(1)[0],
                              salt="layout"))
    hub.wait_applied()
    entries = {p.name: p.is_dir() for p in hub.data_dir.iterdir()}
    assert entries == {"hubd.lock": False,
                       **{name: True for name in envs}}, entries
    dump = shutil.which("mdb_dump")
    if not dump:
        pytest.skip("needs mdb_dump (lmdb-utils, make bootstrap)")
    for name, databases in envs.items():
        p = subprocess.run([dump, "-l", str(hub.data_dir / name)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 0, p.stderr
        assert set(p.stdout.split()) == databases, (name, p.stdout)


def test_sigterm_then_restart(hub):
    hub.stop()                      # asserts exit 0 and HUB-STOP
    assert hub.log_text().count("HUB-READY") == 1
    hub.start()
    assert hub.log_text().count("HUB-READY") == 2
    assert hub.stats()["principals"] == 3
    hub.stop()
    assert hub.log_text().count("HUB-STOP") == 2


def test_sigint_stops_cleanly(hub):
    hub.proc.send_signal(2)
    assert hub._reap(20) == 0
    assert "HUB-STOP" in hub.current_log()


@pytest.mark.parametrize("program", ["hubd", "hubctl", "inbox",
                                     "adapter-school"])
def test_help(program):
    p = subprocess.run([binary(program), "--help"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert "usage" in p.stdout.lower()
    assert "--config" in p.stdout


@pytest.mark.parametrize("program", [
    "hubd", "hubctl", "inbox", "webd", "adapter-school", "adapter-college",
    "adapter-jobcenter", "adapter-youthunit", "adapter-addiction",
    "ug-loadgen"])
def test_dash_h_is_listed_and_is_help(program):
    """Every program's --help lists `-h, --help`, and -h prints the same
    text, exit 0."""
    exe = (str(BUILD / "bench" / program) if program == "ug-loadgen"
           else binary(program))
    long = subprocess.run([exe, "--help"], capture_output=True, text=True,
                          timeout=20)
    short = subprocess.run([exe, "-h"], capture_output=True, text=True,
                           timeout=20)
    assert (long.returncode, short.returncode) == (0, 0), short.stderr
    assert short.stdout == long.stdout
    assert re.search(r"^  -h, --help\b", long.stdout, re.M), long.stdout


@pytest.mark.parametrize("program", [
    "hubd", "hubctl", "inbox", "webd", "adapter-school"])
def test_help_wins_over_a_config_that_cannot_be_read(program, tmp_path):
    """OPERATIONS.md: -h/--help prints the text, exit 0, wherever it
    stands: a --config before it that cannot be read does not keep it."""
    missing = str(tmp_path / "missing.conf")
    want = subprocess.run([binary(program), "--help"], capture_output=True,
                          text=True, timeout=20).stdout
    for argv in (["--config", missing, "--help"],
                 ["--help", "--config", missing],
                 ["--config=" + missing, "-h"]):
        p = subprocess.run([binary(program)] + argv, capture_output=True,
                           text=True, timeout=20)
        assert (p.returncode, p.stdout, p.stderr) == (0, want, ""), argv


def test_check_config_help_wins_over_a_config_that_cannot_be_read(
        tmp_path):
    """OPERATIONS.md: -h prints the text, exit 0, wherever it stands,
    also after a --config file that cannot be read: hubd --check-config
    is no exception (it checks nothing then, as -h alone does)."""
    missing = str(tmp_path / "missing.conf")
    bad = tmp_path / "bad.conf"
    bad.write_text("no_such_setting = 1\n")
    hubd = binary("hubd")
    want = subprocess.run([hubd, "--help"], capture_output=True, text=True,
                          timeout=20).stdout
    for argv in (["--check-config", "--config", missing, "-h"],
                 ["--config", missing, "--check-config", "--help"],
                 ["--check-config", "--config=" + str(bad), "-h"]):
        p = subprocess.run([hubd] + argv, capture_output=True, text=True,
                           timeout=20)
        assert (p.returncode, p.stdout, p.stderr) == (0, want, ""), argv


def test_check_config_with_a_value_is_named_as_such(tmp_path):
    """hubd --help: --check-config is an option without a value, not a
    setting: `--check-config=yes` is a usage error (exit 2) that names
    it, not an "unknown setting 'check-config'", and opens nothing."""
    p = subprocess.run([binary("hubd"), "--check-config=yes",
                        "--data_dir", str(tmp_path / "data")],
                       capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stdout) == (2, ""), p
    assert p.stderr == ("hubd: --check-config takes no value: give it "
                        "alone, as in hubd --check-config --config FILE\n")
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("program", [
    "hubd", "hubctl", "inbox", "webd", "adapter-school", "ug-loadgen"])
def test_help_wins_over_a_bad_option_before_it(program):
    """OPERATIONS.md: -h is the same in every program, ug-loadgen too:
    the text, exit 0, wherever it stands among the options, so an
    unknown option or a bad value before it does not keep it."""
    exe = (str(BUILD / "bench" / program) if program == "ug-loadgen"
           else binary(program))
    want = subprocess.run([exe, "--help"], capture_output=True, text=True,
                          timeout=20).stdout
    for argv in (["--no-such-option", "-h"], ["--window", "abc", "--help"],
                 ["--seconds=x", "-h"]):
        p = subprocess.run([exe] + argv, capture_output=True, text=True,
                           timeout=20)
        assert (p.returncode, p.stdout, p.stderr) == (0, want, ""), argv


@pytest.mark.parametrize("program", [
    "hubd", "hubctl", "inbox", "webd", "adapter-school", "ug-loadgen"])
def test_help_that_cannot_be_written_is_no_success(program):
    """OPERATIONS.md: -h is the text, exit 0; a text that could not be
    written (standard output on a full disk, or closed, >&-) is exit 1,
    PROGRAM: cannot write standard output: WHY, as every program's other
    output; a reader that went away (| head) took what it wanted."""
    exe = (str(BUILD / "bench" / program) if program == "ug-loadgen"
           else binary(program))
    with open("/dev/full", "w") as full:
        p = subprocess.run([exe, "--help"], stdout=full,
                           stderr=subprocess.PIPE, text=True, timeout=20)
    assert (p.returncode, p.stderr) == (
        1, f"{program}: cannot write standard output: No space left on "
        "device\n"), p.stderr
    p = subprocess.run([exe, "-h"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=20,
                       preexec_fn=lambda: os.close(1))
    assert (p.returncode, p.stderr) == (
        1, f"{program}: cannot write standard output: Bad file "
        "descriptor\n"), p.stderr
    p = subprocess.run(f"'{exe}' --help | head -c 1", shell=True,
                       capture_output=True, text=True, timeout=20)
    assert (p.stdout.lower(), p.stderr) == ("u", ""), p.stderr


def test_keygen_refuses_overwrite(hub):
    before = (hub.keys_dir / "hub.key_secret").read_bytes()
    p = hub.keygen("hub", check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "hub.key_secret and the signing pair exist (keys are never " \
        "overwritten)" in p.stderr, p.stderr
    assert (hub.keys_dir / "hub.key_secret").read_bytes() == before
    mode = (hub.keys_dir / "hub.key_secret").stat().st_mode & 0o777
    assert mode == 0o600
    p = hub.keygen("cw-anna", check=False)
    assert p.returncode == 1
    assert f"hubctl: keygen: {hub.keys_dir}/cw-anna.key_secret exists " \
        "(keys are never overwritten)" in p.stderr, p.stderr


def test_a_key_or_store_that_cannot_be_made_is_named(tmp_path):
    """What hubctl cannot create is named, so the operator knows which
    path to fix: a key file in a keys_dir that is a file, a store in a
    data_dir that is one (exit 1)."""
    a_file = tmp_path / "a-file"
    a_file.write_text("not a directory\n")
    p = subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                        str(a_file), "cw-x"], capture_output=True,
                       text=True, timeout=30)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: keygen: cannot create {a_file}/cw-x.key_secret: Not "
        "a directory\n"), p.stderr
    keys = tmp_path / "keys"
    for name in ("hub", "school-a"):
        subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                        str(keys), name], check=True, capture_output=True,
                       timeout=30)
    p = subprocess.run([hubtest.binary("hubctl"), "register-agency",
                        "school-a", "--keys_dir", str(keys), "--data_dir",
                        str(a_file)], capture_output=True, text=True,
                       timeout=30)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: cannot open the hub's keys and store: cannot create "
        f"{a_file}/log: Not a directory\n"), p.stderr
    assert a_file.read_text() == "not a directory\n"


@pytest.mark.parametrize("cmd", ["register-agency", "register-caseworker",
                                 "register-gateway"])
def test_a_registration_without_its_key_file_makes_no_store(tmp_path, cmd):
    """hubctl --help: only register-* and restore make a store; OPERATIONS.md:
    a key file that cannot be read changes nothing. A mistyped key path
    before hubd's first start leaves no empty store behind (exit 1)."""
    keys, data = tmp_path / "keys", tmp_path / "data"
    subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                    str(keys), "hub"], check=True, capture_output=True,
                   timeout=30)
    p = subprocess.run([hubtest.binary("hubctl"), cmd, "x-1", "--keys_dir",
                        str(keys), "--data_dir", str(data)],
                       capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: cannot read the public key: cannot open {keys}/x-1.key:"
        " No such file or directory\n"), p.stderr
    assert not data.exists()


def test_keygen_hub_makes_a_missing_signing_pair(tmp_path):
    """OPERATIONS.md "Keys": when the signing pair is missing (hubd cannot
    write keys_dir under its unit), `hubctl keygen hub` makes it beside
    the hub's existing keys, which it leaves as they are."""
    h = Hub(tmp_path, register=False)
    before = (h.keys_dir / "hub.key_secret").read_bytes()
    for name in ("hub.sign_public", "hub.sign_secret"):
        (h.keys_dir / name).unlink()
    p = h.keygen("hub")
    assert "kept" in p.stdout and "hub.sign_secret" in p.stdout, p.stdout
    assert (h.keys_dir / "hub.key_secret").read_bytes() == before
    assert (h.keys_dir / "hub.sign_secret").stat().st_mode & 0o777 == 0o600
    # Everything there: nothing is overwritten, and the file is named.
    p = h.keygen("hub", check=False)
    assert p.returncode == 1 and "the signing pair exist" in p.stderr \
        and "never overwritten" in p.stderr, p.stderr


def test_keygen_hub_says_a_lost_hub_key_is_missing(tmp_path):
    """OPERATIONS.md "Keys": a hub.key lost beside hub.key_secret is not
    said to exist, nor written again; keygen hub says how to make it."""
    h = Hub(tmp_path, register=False)
    keys = h.keys_dir
    (keys / "hub.key").unlink()
    p = h.keygen("hub", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: keygen: {keys}/hub.key_secret and the signing "
        f"pair exist (keys are never overwritten); {keys}/hub.key is "
        f"missing: copy the id and public lines of {keys}/hub.key_secret "
        "into it\n")
    for name in ("hub.sign_public", "hub.sign_secret"):
        (keys / name).unlink()
    p = h.keygen("hub")
    assert p.stdout == (
        f"kept {keys}/hub.key_secret (it exists); {keys}/hub.key is "
        f"missing: copy the id and public lines of {keys}/hub.key_secret "
        f"into it\nwrote {keys}/hub.sign_public (0644) and "
        f"{keys}/hub.sign_secret (0600)\n"), p.stdout
    assert not (keys / "hub.key").exists()


def test_a_signing_secret_without_its_public_key_is_said_at_start(
        make_hub):
    """OPERATIONS.md "Keys": hub.sign_secret without hub.sign_public still
    signs, but audit verify checks only against hub.sign_public; hubd
    says so at start, and the file made from the secret's id and
    sign_public lines makes the trail verify."""
    hub = make_hub(start=False)
    public = hub.keys_dir / "hub.sign_public"
    public.unlink()
    hub.start()
    hub.wait_log(r"HUB-AUDIT " + re.escape(
        f"{public} is missing beside {hub.keys_dir}/hub.sign_secret: "
        "checkpoints are signed, but hubctl audit verify cannot check "
        "them (NOT VERIFIED) until it is back: copy the id and "
        "sign_public lines of hub.sign_secret into it"))
    p = hub.hubctl("audit", "verify", check=False)
    assert p.returncode == 1 and "NOT VERIFIED" in p.stdout, p.stdout
    lines = (hub.keys_dir / "hub.sign_secret").read_text().splitlines()
    public.write_text("".join(line + "\n" for line in lines
                              if line.startswith(("id", "sign_public"))))
    p = hub.hubctl("audit", "verify", check=False)
    assert p.returncode == 0, p.stdout + p.stderr


def test_a_signing_public_key_that_does_not_check_is_said_at_start(
        make_hub, tmp_path):
    """OPERATIONS.md "Keys": a signing key file that holds no key is said
    at start, naming the file. hub.sign_public emptied, or one of another
    pair put back, leaves the secret signing while audit verify cannot
    check its checkpoints (NOT VERIFIED), or finds them BROKEN: hubd
    says so at start, as for a missing one."""
    other = tmp_path / "other"
    subprocess.run([binary("hubctl"), "keygen", "--keys_dir", str(other),
                    "hub"], check=True, capture_output=True)
    for case in ("empty", "another pair"):
        hub = make_hub(start=False)
        public = hub.keys_dir / "hub.sign_public"
        if case == "empty":
            public.write_text("")
        else:
            public.write_text((other / "hub.sign_public").read_text())
        hub.start()
        why, verify, said = {
            "empty": ("not a signing public key file (needs sign_public)",
                      "cannot check them (NOT VERIFIED)", "NOT VERIFIED"),
            "another pair": ("another pair's public key",
                             "finds them BROKEN (bad signature)",
                             "BROKEN")}[case]
        hub.wait_log(r"HUB-AUDIT " + re.escape(
            f"{public} does not match {hub.keys_dir}/hub.sign_secret "
            f"({why}): checkpoints are signed, but hubctl audit verify "
            f"{verify} until it does: copy the id and sign_public lines "
            "of hub.sign_secret into it"))
        hub.stop()
        p = hub.hubctl("audit", "verify", check=False)
        assert p.returncode == 1 and said in p.stdout, (case, p.stdout)
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`HUB-AUDIT DIR/hub.sign_public does not match " \
        "DIR/hub.sign_secret (REASON): checkpoints are signed" in doc


def test_keygen_hub_names_half_a_signing_pair(make_hub, tmp_path):
    """OPERATIONS.md "Keys": keygen hub writes the signing pair too and
    never overwrites a key file. With one half of the pair there (the
    other lost, or only the public copy put back) it can write neither:
    it says which half is there, exit 1, and leaves it; with the whole
    pair there it keeps it and says so."""
    keys = tmp_path / "keys"

    def keygen():
        return subprocess.run([binary("hubctl"), "keygen", "--keys_dir",
                               str(keys), "hub"], capture_output=True,
                              text=True, timeout=20)
    for half, other in (("hub.sign_public", "hub.sign_secret"),
                        ("hub.sign_secret", "hub.sign_public")):
        shutil.rmtree(keys, ignore_errors=True)
        keys.mkdir()
        (keys / half).write_text("kept as it is\n")
        for _ in range(2):  # fresh hub keys, then the hub's keys kept
            p = keygen()
            assert p.returncode == 1, (half, p.stdout, p.stderr)
            # The secret alone holds its public half: moved aside, the
            # key of every checkpoint signed so far would be lost.
            advice = ("move it aside, or put its other half back"
                      if half == "hub.sign_public" else
                      f"it still signs: copy the id and sign_public lines "
                      f"of {keys}/{half} into {keys}/{other}")
            assert p.stderr == (
                f"hubctl: keygen: {keys}/{half} exists without {keys}/"
                f"{other}: half a signing pair (keys are never "
                f"overwritten); {advice}\n"), p.stderr
            assert "signing pair exist" not in p.stderr
            assert (keys / half).read_text() == "kept as it is\n"
            assert not (keys / other).exists()
            assert (keys / "hub.key_secret").exists()
    # hubd cannot complete half a pair either: it says which half is
    # there, leaves it, and runs with its checkpoints unsigned.
    h = make_hub(start=False, name="hub", register=False)
    (h.keys_dir / "hub.sign_secret").unlink()
    h.start()
    h.wait_log(
        rf"hubd err HUB-AUDIT no audit signing key \(keys_dir: "
        rf"{re.escape(str(h.keys_dir))}/hub.sign_public exists without "
        rf"{re.escape(str(h.keys_dir))}/hub.sign_secret: half a signing "
        rf"pair \(keys are never overwritten\); move it aside, or put its "
        rf"other half back\); the trail is chained but its checkpoints are "
        rf"not signed\n")
    h.stop()
    assert not (h.keys_dir / "hub.sign_secret").exists()
    # The whole pair there, the hub's keys not: both kept, and said so.
    shutil.rmtree(keys)
    subprocess.run([binary("hubctl"), "keygen", "--keys_dir", str(keys),
                    "hub"], check=True, capture_output=True, timeout=20)
    pair = {n: (keys / n).read_bytes()
            for n in ("hub.sign_public", "hub.sign_secret")}
    for n in ("hub.key", "hub.key_secret"):
        (keys / n).unlink()
    p = keygen()
    assert p.returncode == 0, p.stderr
    assert f"kept {keys}/hub.sign_public and {keys}/hub.sign_secret " \
        "(they exist)" in p.stdout, p.stdout
    assert {n: (keys / n).read_bytes() for n in pair} == pair


def test_keygen_modes_do_not_follow_the_umask(tmp_path):
    """PROTOCOL.md: ID.key is mode 0644 and ID.key_secret 0600; OPERATIONS.md
    the same for hub.sign_public and hub.sign_secret. An operator's umask
    neither opens the secrets (umask 000) nor closes the public files
    (umask 077)."""
    for umask in (0o000, 0o077):
        keys = tmp_path / f"keys-{umask:03o}"
        said = ""
        for name in ("hub", "school-a"):
            said += subprocess.run(
                [binary("hubctl"), "keygen", "--keys_dir", str(keys), name],
                check=True, capture_output=True, text=True, timeout=20,
                preexec_fn=lambda: os.umask(umask)).stdout
        # What keygen says is what it made: the public files are not 0600.
        assert said == (
            f"wrote {keys}/hub.key (0644) and {keys}/hub.key_secret (0600)\n"
            f"wrote {keys}/hub.sign_public (0644) and "
            f"{keys}/hub.sign_secret (0600)\n"
            f"wrote {keys}/school-a.key (0644) and "
            f"{keys}/school-a.key_secret (0600)\n"), said
        modes = {p.name: p.stat().st_mode & 0o777 for p in keys.iterdir()}
        assert modes == {"hub.key": 0o644, "hub.key_secret": 0o600,
                         "hub.sign_public": 0o644, "hub.sign_secret": 0o600,
                         "school-a.key": 0o644,
                         "school-a.key_secret": 0o600}, (umask, modes)


def test_keygen_as_root_gives_the_files_keys_dirs_owner(tmp_path):
    """OPERATIONS.md "Keys" and "As a Debian service": run as root,
    keygen gives the key files (the signing pair too) keys_dir's owner
    and group, so hubd running as that user can read them; where
    keys_dir is root's, they stay root's."""
    import pwd
    if os.geteuid() != 0:
        pytest.skip("only root hands files to another user")
    svc = pwd.getpwnam("nobody")
    for owner in ((svc.pw_uid, svc.pw_gid), (0, 0)):
        keys = tmp_path / f"keys-{owner[0]}"
        keys.mkdir(mode=0o700)
        os.chown(keys, *owner)
        for name in ("hub", "cw-x"):
            subprocess.run([binary("hubctl"), "keygen", "--keys_dir",
                            str(keys), name], check=True,
                           capture_output=True, timeout=20)
        files = sorted(keys.iterdir())
        assert len(files) == 6, files
        for f in files:
            st = f.stat()
            assert (st.st_uid, st.st_gid) == owner, (f, st.st_uid)


def test_a_secret_key_file_open_to_others_is_warned_about(make_hub):
    """SECURITY.md: key files are made 0600; one that others may read
    still works, and every program that loads it says so (KEYS-MODE)."""
    hub = make_hub(start=False)
    secret = hub.keys_dir / "hub.key_secret"
    secret.chmod(0o640)
    hub.start()
    hub.wait_log(r"hubd warn KEYS-MODE .*hub\.key_secret is open to others "
                 r"than its owner \(mode 0640\)")
    p = hub.hubctl("stats")
    assert "KEYS-MODE" in p.stderr and "chmod 600" in p.stderr, p.stderr
    secret.chmod(0o600)
    assert "KEYS-MODE" not in hub.hubctl("stats").stderr

def test_unknown_setting_is_named(tmp_path):
    h = Hub(tmp_path, settings={"absense_threshold_pct": "15"},
            register=False)
    p = subprocess.run([binary("hubd"), "--config", str(h.conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2
    assert "absense_threshold_pct" in p.stderr
    lines = h.conf.read_text().splitlines()
    lineno = 1 + next(i for i, line in enumerate(lines)
                      if line.startswith("absense_threshold_pct"))
    assert f"{h.conf}:{lineno}:" in p.stderr   # the line that has it
    h.sweep()


def start_bad(tmp_path, settings=None, args=()):
    """hubd with a setting it must refuse: (exit code, its stderr)."""
    h = Hub(tmp_path, settings=settings, register=False)
    p = subprocess.run([binary("hubd"), "--config", str(h.conf), *args],
                       capture_output=True, text=True, timeout=20)
    assert "HUB-READY" not in p.stderr
    assert not h.data_dir.exists(), "settings are checked before the store"
    return p.returncode, p.stderr, h


@pytest.mark.parametrize("args,reason", [
    (["--log_level", "loud"],
     "log_level must be err, warn, notice, info or debug"),
    (["--batch_max", "0"], "batch_max must be a whole number from 1 to"),
    (["--metrics_listen", "foo"], "metrics_listen must be HOST:PORT"),
    (["--ops_silence", "school-a"], "ops_silence must be agency=HOURS"),
    (["--no_such_option", "1"], "unknown option --no_such_option"),
    (["stray"], "unexpected argument 'stray'"),
    (["--ingest", "127.0.0.1:7601"],
     "ingest must be tcp://ADDRESS:PORT (port 1-65535) or ipc://PATH, "
     "not '127.0.0.1:7601'"),
    (["--delivery", "tcp://127.0.0.1:76020"],
     "delivery must be tcp://ADDRESS:PORT"),
    # ADDRESS is an IPv4 address, an interface name or *: hubd binds
    # no IPv6, and these are neither an address nor an interface's name.
    (["--ingest", "tcp://[::1]:7601"],
     "ingest must be tcp://ADDRESS:PORT (port 1-65535) or ipc://PATH, "
     "not 'tcp://[::1]:7601'"),
    (["--delivery", "tcp://127.0.0.256:7602"],
     "delivery must be tcp://ADDRESS:PORT"),
    (["--delivery", "tcp://eth 0:7602"],
     "delivery must be tcp://ADDRESS:PORT"),
    (["--ingest", "tcp://a-name-longer-than-15:7601"],
     "ingest must be tcp://ADDRESS:PORT"),
    (["--data_dir", ""], "data_dir must name a directory"),
    (["--keys_dir", ""], "keys_dir must name a directory"),
    # One port for both would stop the start with "Address already in
    # use", as if another process held it: a setting, said as one.
    (["--ingest", "tcp://127.0.0.1:7601", "--delivery",
      "tcp://127.0.0.1:7601"],
     "delivery must be another endpoint than ingest, not "
     "'tcp://127.0.0.1:7601' beside 'tcp://127.0.0.1:7601'"),
    (["--ingest", "tcp://*:7601", "--delivery", "tcp://127.0.0.1:7601"],
     "delivery must be another endpoint than ingest"),
    (["--ingest", "tcp://127.0.0.1:7601", "--metrics_listen",
      "0.0.0.0:7601"],
     "metrics_listen must be another port than ingest's, not "
     "'0.0.0.0:7601' beside 'tcp://127.0.0.1:7601'"),
], ids=["log_level", "batch_max", "metrics_listen", "ops_silence",
        "unknown", "argument", "ingest", "delivery", "ingest_ipv6",
        "delivery_bad_ipv4", "delivery_blank", "ingest_long_name",
        "data_dir", "keys_dir", "same_endpoint", "same_port_any",
        "metrics_port"])
def test_bad_option_at_start_exits_2(tmp_path, args, reason):
    """hubd.1 EXIT STATUS: 2 usage or settings, each problem logged as
    --check-config reports it."""
    rc, err, _ = start_bad(tmp_path, args=args)
    assert rc == 2, err
    # OPERATIONS.md: HUB-START cannot start: [SETTING: ]reason
    assert re.search(r"HUB-START cannot start: ([a-z_]+: )?"
                     + re.escape(reason), err), err
    check = subprocess.run([binary("hubd"), "--check-config", *args],
                           capture_output=True, text=True, timeout=20)
    assert check.returncode == 2 and reason in check.stderr, check.stderr


def test_endpoints_of_each_documented_form_pass_the_check():
    """OPERATIONS.md, Checking the configuration: tcp://ADDRESS:PORT with
    ADDRESS an IPv4 address, an interface name or *, or ipc://PATH."""
    for ingest, delivery in (("tcp://127.0.0.1:7601", "tcp://*:7602"),
                             ("tcp://lo:7601", "tcp://eth0.100:7602"),
                             ("ipc:///run/ungebro/ingest",
                              "tcp://0.0.0.0:65535")):
        check = subprocess.run([binary("hubd"), "--check-config",
                                "--ingest", ingest, "--delivery", delivery],
                               capture_output=True, text=True, timeout=20)
        assert (check.returncode, check.stdout) == (
            0, "hubd: configuration OK\n"), (ingest, check.stderr)


def test_endpoints_are_checked_against_the_ones_in_force(tmp_path):
    """OPERATIONS.md, Checking the configuration: delivery must be another
    endpoint than ingest, metrics_listen another port: the ones in force,
    not the defaults a line of the file or the command line overrides
    (ports swapped, metrics on the port ingest left). A clash the mix
    makes is said as one, `hubd: reason` without a line."""
    conf = tmp_path / "hubd.conf"
    for lines, args in (
            (["ingest = tcp://127.0.0.1:7602",
              "delivery = tcp://127.0.0.1:7601"], []),
            (["ingest = tcp://127.0.0.1:7700",
              "metrics_listen = 127.0.0.1:7601"], []),
            (["metrics_listen = 127.0.0.1:7601"],
             ["--ingest", "tcp://127.0.0.1:7700"])):
        conf.write_text("\n".join(lines) + "\n")
        check = subprocess.run([binary("hubd"), "--check-config",
                                "--config", str(conf), *args],
                               capture_output=True, text=True, timeout=20)
        assert (check.returncode, check.stdout, check.stderr) == (
            0, "hubd: configuration OK\n", ""), (lines, args)
    conf.write_text("ingest = tcp://127.0.0.1:7602\n")
    check = subprocess.run([binary("hubd"), "--check-config",
                            "--config", str(conf)],
                           capture_output=True, text=True, timeout=20)
    assert (check.returncode, check.stderr) == (
        2, "hubd: delivery must be another endpoint than ingest, not "
        "'tcp://127.0.0.1:7602' beside 'tcp://127.0.0.1:7602'\n")


def test_bad_settings_in_the_file_are_each_named_at_start(tmp_path):
    rc, err, h = start_bad(tmp_path, settings={
        "retention_age": "200", "batch_max": "5", "query_rate": "0"})
    assert rc == 2, err
    lines = h.conf.read_text().splitlines()

    def where(name):
        i = next(i for i, ln in enumerate(lines) if ln.startswith(name))
        return f"{h.conf}:{i + 1}: "
    assert where("retention_age") + "retention_age must be" in err, err
    assert where("query_rate") + "query_rate must be" in err, err
    assert "batch_max" not in err
    h.sweep()


def test_bad_rules_value_at_start_exits_2(tmp_path):
    h = Hub(tmp_path, register=False, rules={"dropout.priority": "panic"})
    p = subprocess.run([binary("hubd"), "--config", str(h.conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 2, p.stderr
    rules = tmp_path / "rules.conf"
    line = 1 + rules.read_text().splitlines().index(
        "dropout.priority = panic")
    assert f"{rules}:{line}: 'panic' is not a valid value" in p.stderr


def test_a_clock_file_that_holds_no_time_is_refused(tmp_path):
    """OPERATIONS.md, Start and stop: clock_file (tests and demos) holds
    YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC. One that cannot be read or
    holds no such time is refused at start and by --check-config, exit 2,
    naming it (else hubd would run on the system clock without a word),
    and by hubctl assign, which dates by it; other hubctl commands do not
    read it."""
    h = Hub(tmp_path, clock="2026-01-05T08:00:00", register=False)
    lines = h.conf.read_text().splitlines()
    line = 1 + next(i for i, ln in enumerate(lines)
                    if ln.startswith("clock_file"))
    where = f"{h.conf}:{line}: "
    for text in ("2026-01-05", "2026-01-05T08:00:00", "2026-01-05T23:59:59Z",
                 "2026-01-05T08:00"):
        h.clock_path.write_text(text + "\n")
        check = subprocess.run([binary("hubd"), "--check-config", "--config",
                                str(h.conf)], capture_output=True, text=True,
                               timeout=20)
        assert check.returncode == 0, (text, check.stderr)
    for text in ("", "tomorrow", "2026-02-30", "2026-01-05T24:00:00",
                 "2026-01-05T08:60:00", "2026-01-05 08:00:00",
                 "2026-01-05T08:00:00 and more", "/", None):
        if text is None:
            h.clock_path.rmdir()
            reason = f"clock_file {h.clock_path} cannot be read: No such " \
                "file or directory"
        elif text == "/":       # a directory opens, but cannot be read
            h.clock_path.unlink()
            h.clock_path.mkdir()
            reason = f"clock_file {h.clock_path} cannot be read: Is a " \
                "directory"
        else:
            h.clock_path.write_text(text + "\n")
            reason = f"clock_file {h.clock_path} does not hold a time: its " \
                "first line must be YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)"
        p = subprocess.run([binary("hubd"), "--config", str(h.conf)],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 2, (text, p.stderr)
        assert f"HUB-START cannot start: clock_file: {where}{reason}" \
            in p.stderr, (text, p.stderr)
        check = subprocess.run([binary("hubd"), "--check-config", "--config",
                                str(h.conf)], capture_output=True, text=True,
                               timeout=20)
        assert check.returncode == 2 and where + reason in check.stderr, \
            (text, check.stderr)
        assert not h.data_dir.exists()
    h.register_caseworker("cw-anna")
    cpr = hubtest.CprGen(113).take(1)[0]
    h.cprs.add(cpr)
    p = h.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna",
                 check=False)
    assert p.returncode == 2, p.stderr
    assert f"hubctl: assign: {where}{reason}" in p.stderr, p.stderr
    assert h.stats()["assignments"] == 0
    h.sweep()


def test_missing_keys_at_start_exits_1(tmp_path):
    """Keys, store and sockets are not settings: exit 1."""
    h = Hub(tmp_path, register=False)
    (h.keys_dir / "hub.key_secret").unlink()
    p = subprocess.run([binary("hubd"), "--config", str(h.conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, p.stderr
    assert "HUB-START cannot start: " in p.stderr


def test_port_in_use_fails_fast(make_hub, tmp_path):
    first = make_hub()
    second = Hub(tmp_path / "second")
    second.conf.write_text(second.conf.read_text().replace(
        second.ingest, first.ingest))
    p = subprocess.run([binary("hubd"), "--config", str(second.conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1
    assert "HUB-READY" not in p.stderr
    assert first.running
    second.sweep()


def test_a_second_hubd_on_the_same_store_is_refused(hub):
    """OPERATIONS.md, Start and stop: one hubd per data_dir. A second one
    (other ports, same store) would apply, fire timers, deliver and purge
    twice over: it stops at start, exit 1, naming the first; hubctl works
    beside hubd; once the first stops, a start works."""
    other = hub.conf.read_text() \
        .replace(hub.ingest, f"tcp://127.0.0.1:{hubtest.free_port()}") \
        .replace(hub.delivery, f"tcp://127.0.0.1:{hubtest.free_port()}")
    conf = hub.tmp / "second.conf"
    conf.write_text(other)
    p = subprocess.run([binary("hubd"), "--config", str(conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, p.stderr
    assert (f"HUB-START cannot start: data_dir: {hub.data_dir} is in use "
            f"by another hubd (pid {hub.proc.pid}): one hubd per store") \
        in p.stderr, p.stderr
    assert "HUB-READY" not in p.stderr
    assert hub.running and hub.stats()["principals"] == 3
    hub.stop()
    hub.start()


def test_no_core_dumps(tmp_path):
    """SECURITY.md "No core dumps": hubd lowers its own core limit to 0
    however it was started, and a signal that would dump leaves no core."""
    import resource
    if hubtest.VALGRIND:
        pytest.skip("valgrind, not hubd, would take the signal")
    h = Hub(tmp_path / "hub", register=False)
    cwd = tmp_path / "cwd"          # where a plain core_pattern would write
    cwd.mkdir()
    log = tmp_path / "hubd.log"

    def unlimited():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,
                                                  resource.RLIM_INFINITY))

    with open(log, "wb") as out:
        proc = subprocess.Popen([binary("hubd"), "--config", str(h.conf)],
                                cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                preexec_fn=unlimited)
    try:
        hubtest.wait_for(lambda: "HUB-READY" in log.read_text(), 15,
                         "HUB-READY")
        with open(f"/proc/{proc.pid}/limits") as f:
            core = next(ln for ln in f if ln.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"], core   # soft, hard
    finally:
        hubtest.abort_leaves_no_core(proc, cwd)
    h.sweep()


def readme_demo_blocks():
    """The two blocks README.md, "What the demo shows", quotes from the
    demo's output: cw-anna's first alert as `inbox` prints it, and the
    summary."""
    text = (hubtest.ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## What the demo shows", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```\n(.*?)```", section, re.S)
    assert len(blocks) == 2, blocks
    return [[ln.rstrip() for ln in b.rstrip("\n").split("\n")]
            for b in blocks]


def holds_in_order(lines, want):
    """The index in `lines` where the lines `want` stand one after the
    other, or -1."""
    for i in range(len(lines) - len(want) + 1):
        if lines[i:i + len(want)] == want:
            return i
    return -1


def loaded_summary(summary):
    """README.md's summary as it reads on a heavily loaded machine (README
    says so): two referrals judged before their treatment starts arrived,
    two `deadline.treatment.missed` alerts more, both to the desk."""
    out = []
    for ln in summary:
        for was, now in (("514", "516"), ("131", "133")):
            if ln.rstrip().endswith(f" {was}") and (
                    "alerts raised" in ln or "delivered, total" in ln or
                    "delivered to cw-desk" in ln):
                ln = ln[:-len(was)] + now
        ln = ln.replace("(514 = 514)", "(516 = 516)")
        out.append(ln)
        if ln.strip().startswith("combined "):
            out.append("     deadline.treatment.missed              2")
    return out


def test_demo_prints_what_the_readme_shows(tmp_path):
    """README.md, "What the demo shows": `make demo` prints cw-anna's first
    alert and the checked summary exactly as quoted there (the due days
    aside: they count from the day it runs), the web inbox's address and
    login, the annual status's path, and keeps the rejected rows in
    FILE.rejects.csv under var/demo. The demo runs from a copy of the tree's
    layout in a temp dir, so a var/demo of the tree is left alone."""
    build = hubtest.BUILD
    rel_build = os.environ.get("UG_BUILD", "build/release")
    if not os.path.isabs(rel_build):
        (tmp_path / rel_build).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel_build).symlink_to(build)
    (tmp_path / "deploy").mkdir()
    for name in ("demo.py", "gen_cohort.py"):
        (tmp_path / "deploy" / name).symlink_to(hubtest.ROOT / "deploy" / name)
    env = dict(os.environ, UG_BUILD=rel_build)
    env.pop("DEMO_WEB_WAIT", None)
    p = subprocess.run([sys.executable, str(tmp_path / "deploy" / "demo.py")],
                       cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=600 * hubtest.SLOW)
    out = p.stdout
    assert p.returncode == 0, out[-6000:] + p.stderr[-3000:]
    assert "all checks passed" in out

    def undated(lines):
        return [re.sub(r"\bby \d{4}-\d\d-\d\d\b", "by DUE", ln)
                for ln in lines]

    lines = undated([ln.rstrip() for ln in out.split("\n")])
    inbox, summary = readme_demo_blocks()
    # The command line as the demo shows it, then what inbox printed.
    assert inbox[0].lstrip().startswith("$ build/release/bin/inbox ")
    assert holds_in_order(lines, undated(inbox[1:])) >= 0, \
        "README's inbox sample not in the demo's output:\n" + out[:20000]
    assert holds_in_order(lines, summary) >= 0 or \
        holds_in_order(lines, loaded_summary(summary)) >= 0, \
        "README's summary not in the demo's output:\n" + \
        out[out.find("Summary"):]
    # The prose around the blocks gives the same number of open alerts.
    readme = (hubtest.ROOT / "README.md").read_text(encoding="utf-8")
    open_n = re.search(r"\[ok\] (\d+) alerts open, all cw-anna's",
                       "\n".join(summary)).group(1)
    assert re.search(r"cw-anna's\s+%s\s+of\s+the\s+other" % open_n, readme)

    assert re.search(r"web inbox: http://127\.0\.0\.1:\d+/  log in as "
                     r"cw-anna, password demo-adgangskode", out)
    status = tmp_path / "var" / "demo" / "status" / "status.html"
    assert status.is_file()
    assert str(status) in out
    rejects = sorted(p.name for p in
                     (tmp_path / "var" / "demo" / "cohort").glob(
                         "*.rejects.csv"))
    assert len(rejects) == 11, rejects


@pytest.mark.parametrize("wait", ["10m", "\u00b2", "\u0663"])
def test_demo_refuses_a_bad_web_wait_before_it_starts(tmp_path, wait):
    """README.md: DEMO_WEB_WAIT is whole seconds; anything else fails the
    demo at once (exit 1), not after the whole run, and var/demo is left
    as it was. Digits of other scripts (a superscript two, an Arabic
    three) are no whole number of seconds either."""
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "demo.py").symlink_to(
        hubtest.ROOT / "deploy" / "demo.py")
    env = dict(os.environ, UG_BUILD=str(hubtest.BUILD), DEMO_WEB_WAIT=wait,
               PYTHONIOENCODING="utf-8")
    p = subprocess.run([sys.executable, str(tmp_path / "deploy" / "demo.py")],
                       cwd=tmp_path, env=env, capture_output=True, text=True,
                       encoding="utf-8", timeout=60)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "DEMO FAILED: DEMO_WEB_WAIT must be a whole number of seconds, " \
        f"not '{wait}'" in p.stdout, p.stdout
    assert "Traceback" not in p.stderr, p.stderr
    assert not (tmp_path / "var").exists()


def test_demo_holds_the_web_inbox_for_any_whole_number(tmp_path):
    """README.md: DEMO_WEB_WAIT is whole seconds, and Ctrl-C ends the
    wait: the demo still stops hubd and webd and checks how they ended.
    A wait longer than a sleep can take at once is still a wait, not a
    traceback after the run."""
    import signal
    import time
    (tmp_path / "deploy").mkdir()
    for name in ("demo.py", "gen_cohort.py"):
        (tmp_path / "deploy" / name).symlink_to(hubtest.ROOT / "deploy" / name)
    env = dict(os.environ, UG_BUILD=str(hubtest.BUILD),
               DEMO_WEB_WAIT="99999999999")
    p = subprocess.Popen([sys.executable, str(tmp_path / "deploy" / "demo.py")],
                         cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    out = []
    try:
        for line in p.stdout:
            out.append(line)
            if "(Ctrl-C ends)" in line:
                time.sleep(1)
                p.send_signal(signal.SIGINT)
                break
        rest, _ = p.communicate(timeout=120 * hubtest.SLOW)
    finally:
        # SIGINT first: the demo then stops the hubd and webd it started
        # in sessions of their own, which a kill of it would leave.
        if p.poll() is None:
            p.send_signal(signal.SIGINT)
            try:
                p.wait(60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    out = "".join(out) + rest
    assert "Traceback" not in out, out[-3000:]
    assert p.returncode == 0, out[-3000:]
    assert "[ok] webd exited with code 0" in out
    assert "[ok] hubd exited with code 0" in out
    assert "all checks passed" in out


def test_make_demo_with_a_bad_web_wait_exits_as_readme_says(tmp_path):
    """README.md: `make demo DEMO_WEB_WAIT=...` with anything but whole
    seconds fails before the demo starts; the exit status it gives is
    make's, as README says (the demo's 1 becomes make's 2)."""
    readme = (hubtest.ROOT / "README.md").read_text(encoding="utf-8")
    para = readme[readme.index("`make demo DEMO_WEB_WAIT=600` keeps"):]
    para = " ".join(para[:para.index("\n\n")].split())
    m = re.search(r"anything else fails the demo before it starts: "
                  r"`DEMO FAILED: ([^`]*)`, the demo exits (\d) and make "
                  r"(\d)", para)
    assert m, para
    p = subprocess.run(["make", "-s", "--no-print-directory", "-C",
                        str(hubtest.ROOT), f"BUILD={hubtest.BUILD}", "demo",
                        "DEMO_WEB_WAIT=10m"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == int(m.group(3)), p.stdout + p.stderr
    assert f"Error {m.group(2)}" in p.stderr, p.stderr
    assert "DEMO FAILED: " + m.group(1) in p.stdout, p.stdout


def test_log_level_is_read_in_any_case(tmp_path):
    """OPERATIONS.md, Logs: `log_level` is err, warn, notice, info or
    debug in any case, as every other word setting is: on the command
    line, in the file, and for webd too (it gets past the setting to its
    keys, exit 1, not 2)."""
    check = subprocess.run([binary("hubd"), "--check-config",
                            "--log_level", "DEBUG"],
                           capture_output=True, text=True, timeout=20)
    assert (check.returncode, check.stdout, check.stderr) == (
        0, "hubd: configuration OK\n", ""), check.stderr
    conf = tmp_path / "hubd.conf"
    conf.write_text("log_level = Info\n")
    check = subprocess.run([binary("hubd"), "--check-config",
                            "--config", str(conf)],
                           capture_output=True, text=True, timeout=20)
    assert (check.returncode, check.stdout, check.stderr) == (
        0, "hubd: configuration OK\n", ""), check.stderr
    web = subprocess.run([binary("webd"), "--gateway", "web-1",
                          "--keys_dir", str(tmp_path / "none"),
                          "--log_level", "Warn"],
                         capture_output=True, text=True, timeout=20)
    assert web.returncode == 1 and "cannot open" in web.stderr, web.stderr


def test_log_lines_go_nowhere_with_standard_error_closed(make_hub):
    """OPERATIONS.md: hubd logs to stderr. Started with stderr and stdout
    closed (`hubd ... >&- 2>&-` in a script), its lines are lost, not
    written into the file that took their number, the store's lock file
    or a data file, which a line could damage."""
    import signal
    import time
    hub = make_hub(start=False)
    proc = subprocess.Popen(["bash", "-c", f"exec {binary('hubd')} "
                             f"--config {hub.conf} >&- 2>&-"],
                            stdin=subprocess.DEVNULL)
    try:
        hubtest.wait_for(lambda: hub.hubctl("stats", check=False)
                         .returncode == 0 and proc.poll() is None, 10,
                         "hubd running")
        time.sleep(1.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    for path in hub.data_dir.rglob("*"):
        if path.is_file():
            assert b"HUB-" not in path.read_bytes(), path


def test_a_keys_dir_given_with_a_trailing_slash_names_its_files_once(
        tmp_path):
    """A directory setting names a directory, `keys/` as `keys`: the
    files keygen wrote are named `keys/ID.key`, not `keys//ID.key`."""
    keys = tmp_path / "keys"
    p = subprocess.run([binary("hubctl"), "keygen", "--keys_dir",
                        f"{keys}//", "cw-anna"], capture_output=True,
                       text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    assert f"wrote {keys}/cw-anna.key (0644) and {keys}/cw-anna.key_secret" \
        in p.stdout, p.stdout
    assert "//" not in p.stdout, p.stdout
    assert (keys / "cw-anna.key_secret").exists()


def test_a_keys_dir_at_the_root_names_its_files_with_one_slash(tmp_path):
    """keys_dir = / (the root, whose one slash cannot be dropped) names
    its files `/ID.key`, as the operator would write them, not
    `//ID.key`: in hubctl's, inbox's, webd's and an adapter's
    messages."""
    conf = tmp_path / "adapter.conf"
    conf.write_text("agency = school-ug-nosuch\nkeys_dir = /\n"
                    "hub = tcp://127.0.0.1:1\n"
                    f"outbox = {tmp_path / 'outbox'}\n")
    for cmd, rc, err in (
            (["hubctl", "--keys_dir", "/", "--data_dir",
              str(tmp_path / "data"), "register-caseworker", "cw-ug-nosuch"],
             1, "hubctl: cannot read the public key: cannot open "
             "/cw-ug-nosuch.key: No such file or directory\n"),
            (["inbox", "--keys_dir", "/", "--caseworker", "cw-ug-nosuch",
              "--list"], 1, "inbox: cannot open /cw-ug-nosuch.key_secret: "
             "No such file or directory\n"),
            (["adapter-school", "--config", str(conf), "flush"], 3,
             "adapter-school: cannot open /school-ug-nosuch.key_secret: "
             "No such file or directory\n")):
        p = subprocess.run([binary(cmd[0]), *cmd[1:]], capture_output=True,
                           text=True, timeout=20, cwd=tmp_path)
        assert (p.returncode, p.stderr) == (rc, err), (cmd, p)
    p = subprocess.run([binary("webd"), "--keys_dir", "/", "--gateway",
                        "gw-ug-nosuch"], capture_output=True, text=True,
                       timeout=20, cwd=tmp_path)
    assert p.returncode == 1 and \
        "cannot open /hub.key: No such file or directory" in p.stderr, p
    assert "//" not in p.stderr, p


def test_a_broken_hub_key_secret_is_named_as_a_file_not_a_setting(
        make_hub):
    """hubd --help: a start that cannot load the hub's keys exits 1 and
    logs HUB-START cannot start: with the reason; a value that is not a
    key is named by the file and line (PROTOCOL.md, Key files), not
    after a setting 'secret' that hubd does not have."""
    hub = make_hub(start=False)
    secret = hub.keys_dir / "hub.key_secret"
    lines = secret.read_text().splitlines(keepends=True)
    lineno = next(i for i, line in enumerate(lines, 1)
                  if line.startswith("secret"))
    secret.write_text("".join(lines[:lineno - 1]) + "secret = short\n")
    p = subprocess.run([binary("hubd"), "--config", str(hub.conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    [line] = [x.split(" err ", 1)[1] for x in p.stderr.splitlines()
              if "HUB-START" in x]
    assert line == (f"HUB-START cannot start: {secret}:{lineno}: bad value "
                    "for 'secret'"), line


def test_a_hub_key_secret_of_another_id_is_refused(tmp_path):
    """OPERATIONS.md "Keys": the hub's own keys are those `hubctl keygen
    hub` writes, and hubd makes its signing pair as hub.sign_public and
    hub.sign_secret. Another party's secret key file put in the place of
    hub.key_secret (a caseworker's, here, on a hub not started yet) is
    refused by hubd and hubctl alike, naming the file and whose key it
    holds, as adapters, inbox and webd refuse another id's file: hubd
    does not serve under that key, nor write a signing pair named after
    it."""
    h = Hub(tmp_path, register=False)
    keys = h.keys_dir
    for name in ("hub.sign_public", "hub.sign_secret"):
        (keys / name).unlink()
    shutil.copy(keys / "cw-anna.key_secret", keys / "hub.key_secret")
    want = (f"{keys}/hub.key_secret holds the key of 'cw-anna', not the "
            "hub's (its id line must be hub, as hubctl keygen hub writes "
            "it)")
    p = subprocess.run([binary("hubd"), "--config", str(h.conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert "HUB-READY" not in p.stderr
    assert [x.split(" err ", 1)[1] for x in p.stderr.splitlines()
            if "HUB-START" in x] == [f"HUB-START cannot start: {want}"]
    assert sorted(x.name for x in keys.iterdir() if "sign" in x.name) == []
    p = h.hubctl("register-agency", "school-a", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: cannot open the hub's keys and store: {want}\n")
    assert not h.data_dir.exists()


def test_hubd_help_says_what_keys_dir_holds():
    """OPERATIONS.md "Keys": keys_dir holds hub.key_secret, whose id line
    is hub (another id's file is refused), and the audit signing pair,
    which hubd writes there at start when it is missing: hubd --help
    says so where it names keys_dir."""
    p = subprocess.run([binary("hubd"), "--help"], capture_output=True,
                       text=True, timeout=30)
    text = " ".join(p.stdout.split())
    assert "--keys_dir VALUE directory holding hub.key_secret (its id " \
        "hub) and the audit signing pair hub.sign_public and " \
        "hub.sign_secret, which hubd writes there when they are missing " \
        "(at most 400 bytes)" in text, text
