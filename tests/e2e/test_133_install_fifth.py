"""133 install, fifth round: README.md, the Makefile's targets and the
Debian units as a new operator meets them, for what test_01, test_80,
test_98, test_104 and test_121 do not assert exactly."""

import os
import pty
import re
import signal
import subprocess
import sys
import time

import hubtest

ADAPTERS = ["adapter-addiction", "adapter-college", "adapter-jobcenter",
            "adapter-school", "adapter-youthunit"]


def readme():
    return (hubtest.ROOT / "README.md").read_text(encoding="utf-8")


def help_text(program):
    p = subprocess.run([hubtest.binary(program), "--help"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def hubctl_commands():
    """The commands `hubctl --help` lists under "commands:", as one types
    them (`audit verify` two words)."""
    text = help_text("hubctl")
    block = text[text.index("\ncommands:\n") + 11:]
    block = block[:block.index("\n\n")]
    return [m.group(1) for m in
            re.finditer(r"^  ([a-z][a-z-]*(?: [a-z]+)?)(?= |$)", block, re.M)
            if not m.group(1).startswith("register-*")]


def test_readmes_hubctl_row_names_every_command_hubctl_takes():
    """README.md, "The programs": hubctl's row is the reader's list of
    what it does. It left out `pass-damaged`, which --help lists beside
    `erase`: an operator with a record that does not open (STORE-SEAL)
    found no hint of it there."""
    commands = hubctl_commands()
    assert "pass-damaged" in commands and "audit verify" in commands, \
        commands
    row = next(ln for ln in readme().splitlines()
               if ln.startswith("| `hubctl` |"))
    named = set(re.findall(r"`([^`]+)`", row))
    # `register-agency`/`-caseworker`/`-gateway` and `revoke-*`.
    for short in [n for n in named if n.startswith("-")]:
        named.add("register" + short)
    for cmd in commands:
        if cmd.startswith("revoke-") and "revoke-*" in named:
            continue
        assert cmd in named, (cmd, row)


def test_readmes_adapter_paragraph_names_every_command_they_take():
    """README.md: every adapter imports files once (`import FILE...`) or
    watches a drop directory (`watch DIR`); each adapter's usage also
    gives `flush` (deliver what the outbox holds), which README did not
    name, though an import cut short (exit 2) is finished by it."""
    text = readme()
    para = text[text.index("Every adapter reads CSV"):]
    para = " ".join(para[:para.index("\n\n")].split())
    for program in ADAPTERS:
        usage = help_text(program).split("\n\n")[0]
        commands = re.findall(
            rf"^\s*(?:Usage: )?{program} --config FILE (\w+)", usage, re.M)
        assert sorted(commands) == ["flush", "import", "watch"], usage
        for cmd in commands:
            assert f"`{cmd}`" in para or f"`{cmd} " in para, (cmd, para)


def own_processes(marker):
    """Pids of the processes whose command line names marker (a test's
    temp dir): the hubd and webd a demo there started."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmd and ("/hubd " in cmd or "/webd " in cmd):
            pids.append(int(d))
    return pids


def start_demo(tmp_path, wait=None, terminal=None):
    """deploy/demo.py in tmp_path, as test_01 runs it (var/demo there), in
    a session of its own as a terminal's foreground job would be; its
    output into a pipe, or onto the terminal (a pty's slave) given."""
    rel_build = os.environ.get("UG_BUILD", "build/release")
    if not os.path.isabs(rel_build):
        (tmp_path / rel_build).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel_build).symlink_to(hubtest.BUILD)
    (tmp_path / "deploy").mkdir()
    for name in ("demo.py", "gen_cohort.py"):
        (tmp_path / "deploy" / name).symlink_to(hubtest.ROOT / "deploy" / name)
    env = dict(os.environ, UG_BUILD=rel_build)
    env.pop("DEMO_WEB_WAIT", None)
    if wait:
        env["DEMO_WEB_WAIT"] = wait
    out = subprocess.PIPE if terminal is None else terminal
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "deploy/demo.py")], cwd=tmp_path,
        env=env, stdin=subprocess.DEVNULL if terminal is None else terminal,
        stdout=out, stderr=subprocess.STDOUT if terminal is None else out,
        text=True, start_new_session=True)


def ended(p, tmp_path):
    """Waits for the demo; returns the hubd and webd it left running,
    killed here."""
    try:
        p.wait(timeout=60 * hubtest.SLOW)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        left = own_processes(str(tmp_path))
        for pid in left:
            os.kill(pid, signal.SIGKILL)
    return left


def test_a_sigterm_while_hubd_starts_leaves_no_hubd(tmp_path):
    """A SIGTERM to the demo (kill, a CI job's timeout) while hubd starts,
    before the demo saw its HUB-READY, ended the demo and left that hubd
    running, in a session of its own; now the demo stops it and exits
    128 + 15."""
    p = start_demo(tmp_path)
    out = []
    for line in p.stdout:
        out.append(line)
        if "Start hubd" in line:
            break
    # The moment hubd runs, well before the demo reads its HUB-READY.
    deadline = time.monotonic() + 30 * hubtest.SLOW
    while not own_processes(str(tmp_path)) and p.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.002)
    p.send_signal(signal.SIGTERM)
    try:
        out.append(p.stdout.read())
    finally:
        left = ended(p, tmp_path)
    text = "".join(out)
    assert left == [], text[-3000:]
    # Stopped (hubd, just exec'd, may not yet have its handlers: a
    # SIGTERM then ends it as the kernel does, -15).
    assert "Stop hubd (SIGTERM)" in text, text[-3000:]
    assert p.returncode == 128 + signal.SIGTERM, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


def test_a_terminal_closed_in_the_web_wait_stops_hubd_and_webd(tmp_path):
    """README.md: `make demo DEMO_WEB_WAIT=600` keeps hubd and webd for
    the wait, and Ctrl-C ends it with both stopped. They run in sessions
    of their own, so when the terminal closed (an ssh connection lost:
    SIGHUP to the foreground group, and every line written after it
    fails) the demo died and left both running on 7601/7602 and 8080
    for good; once it took the SIGHUP, its next line failed and stopped
    it after webd, before hubd."""
    master, slave = pty.openpty()
    p = start_demo(tmp_path, wait="600", terminal=slave)
    os.close(slave)
    seen = b""
    try:
        while b"(Ctrl-C ends)" not in seen:
            try:
                chunk = os.read(master, 65536)
            except OSError:   # EIO: the demo closed its end
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(master)
    assert b"(Ctrl-C ends)" in seen, seen[-3000:]
    assert len(own_processes(str(tmp_path))) == 2
    os.killpg(p.pid, signal.SIGHUP)
    left = ended(p, tmp_path)
    assert left == []
    assert p.returncode == 0
    log = (tmp_path / "var/demo/hubd.log").read_text(errors="replace")
    assert re.search(r"hubd \w+ HUB-STOP", log), log[-2000:]


def test_make_demo_execs_the_demo_so_its_sigterm_reaches_it():
    """The recipe's shell would take make's SIGTERM and die, leaving
    demo.py (and its hubd and webd) running out the wait; exec'd, as
    make bench's is, the demo gets it and stops them."""
    out = subprocess.run(["make", "-n", "--no-print-directory", "demo"],
                         cwd=hubtest.ROOT, capture_output=True, text=True,
                         timeout=120).stdout
    [line] = [ln for ln in out.splitlines() if "deploy/demo.py" in ln]
    assert re.search(r"\bexec \S*python3? deploy/demo\.py$", line), line


def test_readmes_bootstrap_list_is_every_package_bootstrap_installs():
    """README.md lists what `make bootstrap` installs (for make demo and
    make test) as if whole, but left out a third of the Makefile's list:
    clang and libclang-rt-14-dev, without which make test's fuzz runs
    fail, clang-format, lmdb-utils, the tests' Python modules, and the
    build's own -dev packages under the libraries' names. An operator
    preparing a machine without network from README missed them."""
    mk = (hubtest.ROOT / "Makefile").read_text()
    packages = re.search(r"^DEB_PACKAGES := (.*?)\n\n", mk, re.S | re.M) \
        .group(1).replace("\\", " ").split()
    assert "clang" in packages and "redis-tools" in packages, packages
    text = readme()
    para = text[text.index("`make demo` and `make test` install"):]
    para = " ".join(para[:para.index("`make test` runs")].split())
    named = set(re.findall(r"[a-z0-9][a-z0-9+-]*[a-z0-9]", para))
    assert [p for p in packages if p not in named] == [], para


def unit_settings(name):
    unit = {}
    for line in (hubtest.ROOT / "deploy" / name).read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            unit.setdefault(key.strip(), []).append(value.strip())
    return unit


# OPERATIONS.md, "Start and stop": hubd.service's hardening, each phrase
# with the directive that gives it.
HARDENING = {
    "no new privileges": ("NoNewPrivileges", "yes"),
    "the file system read-only": ("ProtectSystem", "strict"),
    "no home directories": ("ProtectHome", "yes"),
    "private `/tmp`": ("PrivateTmp", "yes"),
    "and `/dev`": ("PrivateDevices", "yes"),
    "no capabilities": ("CapabilityBoundingSet", ""),
    "kernel tunables": ("ProtectKernelTunables", "yes"),
    "modules": ("ProtectKernelModules", "yes"),
    "logs": ("ProtectKernelLogs", "yes"),
    "clock": ("ProtectClock", "yes"),
    "control groups protected": ("ProtectControlGroups", "yes"),
    "no namespaces": ("RestrictNamespaces", "yes"),
    "realtime": ("RestrictRealtime", "yes"),
    "setuid/setgid files": ("RestrictSUIDSGID", "yes"),
    "writable-executable memory": ("MemoryDenyWriteExecute", "yes"),
    "native system calls only": ("SystemCallArchitectures", "native"),
    "`UMask=0077`": ("UMask", "0077"),
    "`LimitCORE=0`": ("LimitCORE", "0"),
}


def test_the_units_say_what_operations_md_says_of_them():
    """OPERATIONS.md names each unit's settings: hubd's hardening phrase
    by phrase (webd's is "the hardening of hubd.service", the adapters'
    the same but for AF_NETLINK), its open files and its stop and start
    timeouts; webd's notify, restarts, order after hubd, no reload and no
    state directory. test_80 checks hubd's restarts and rates the units
    as a whole; these are the sentences it does not hold them to."""
    ops = " ".join((hubtest.ROOT / "docs/OPERATIONS.md").read_text()
                   .split())
    hubd = unit_settings("hubd.service")
    webd = unit_settings("webd.service")
    adapter = unit_settings("ungebro-adapter@.service")
    para = ops[ops.index("`deploy/hubd.service` runs hubd as user "
                         "`ungebro` with the hardening"):]
    para = para[:para.index("- `SIGHUP`")]
    for phrase, (key, value) in HARDENING.items():
        assert phrase in para, phrase
        for name, unit in (("hubd", hubd), ("webd", webd),
                           ("adapter", adapter)):
            assert unit.get(key) == [value], (name, key, unit.get(key))
    families = "RestrictAddressFamilies"
    assert hubd[families] == webd[families] == [
        "AF_INET AF_INET6 AF_UNIX AF_NETLINK"]
    assert adapter[families] == ["AF_INET AF_INET6 AF_UNIX"]
    assert hubd["ReadWritePaths"] == ["/var/lib/ungebro"]

    assert "`deploy/hubd.service` sets `LimitNOFILE=131072`" in ops
    assert hubd["LimitNOFILE"] == ["131072"]
    # sessions_max at most 100000, and 1024 more.
    assert 100000 + 1024 <= 131072
    assert "`deploy/webd.service` sets `LimitNOFILE=16384`" in ops
    assert webd["LimitNOFILE"] == ["16384"]
    assert 10000 + 64 <= 16384   # connections_max at most 10000, 64 more
    assert "the unit's `TimeoutStopSec` (30 s)" in ops
    assert hubd["TimeoutStopSec"] == webd["TimeoutStopSec"] == ["30"]
    assert "the unit allows 15 minutes" in ops
    assert hubd["TimeoutStartSec"] == ["15min"]

    para = ops[ops.index("As a service: `deploy/webd.service`"):]
    para = para[:para.index("```sh")]
    assert "`Type=notify`" in para and webd["Type"] == ["notify"]
    assert webd["User"] == webd["Group"] == ["ungebro"]
    assert webd["ExecStart"] == [
        "/usr/local/bin/webd --config /etc/ungebro/webd.conf"]
    assert "`Restart=on-failure` (`RestartSec=2`, " \
        "`StartLimitIntervalSec=0`: however often) but not after exit 2" \
        in para
    assert webd["Restart"] == ["on-failure"]
    assert webd["RestartSec"] == ["2"]
    assert webd["StartLimitIntervalSec"] == ["0"]
    assert webd["RestartPreventExitStatus"] == ["2"]
    assert "starts after `hubd.service`" in para
    assert "hubd.service" in webd["After"][0].split()
    assert "no state directory" in para
    assert "StateDirectory" not in webd and "ReadWritePaths" not in webd
    assert "the unit has no reload" in ops and "ExecReload" not in webd


# What hubctl(1)'s DESCRIPTION says for each command.
HUBCTL_DESCRIBED = {
    "keygen": "makes keys", "register": "registers", "revoke": "revokes",
    "set-password": "web passwords", "set-email": "e-mail addresses",
    "assign": "assigns contact persons", "stats": "statistics",
    "log": "the event log", "audit": "the audit trail", "export": "exports",
    "erase": "erases", "pass-damaged": "(pass-damaged)",
    "report": "annual status report", "backup": "backs the store up",
    "restore": "restores it",
}


def test_hubctls_man_page_describes_every_command():
    """man hubctl, the page make install puts in man1: its DESCRIPTION
    is what hubctl is for, and it said nothing of revoking a
    registration or of pass-damaged, both in hubctl --help (OPTIONS,
    below it)."""
    page = (hubtest.ROOT / "deploy/man/hubctl.1").read_text()
    desc = page.split(".SH DESCRIPTION\n")[1].split("\n.SH ")[0]
    desc = " ".join(desc.replace("\\-", "-").split())
    for cmd in hubctl_commands():
        key = cmd.split()[0]
        key = next((k for k in HUBCTL_DESCRIBED
                    if key == k or key.startswith(k + "-")), key)
        assert key in HUBCTL_DESCRIBED, f"{cmd}: not described in this test"
        assert HUBCTL_DESCRIBED[key] in desc, (cmd, desc)


def test_readmes_history_command_prints_what_it_checked():
    """README.md: test_50_history "prints what it checked"; under make
    test (pytest -q, in worker processes) a passing test's output is never
    shown, so README now gives the command that shows it. Run as written
    (2 kills: a few seconds), it prints the line README names."""
    text = " ".join(readme().split())
    m = re.search(r"`(UG_HISTORY_KILLS=(\d+) /usr/bin/python3 -m pytest -s "
                  r"tests/e2e/test_50_history\.py)`", text)
    assert m, "README gives no command that shows what test_50 checked"
    env = dict(os.environ, UG_HISTORY_KILLS=m.group(2))
    env.pop("UG_HISTORY_SEED", None)
    p = subprocess.run(m.group(1).split()[1:] + ["-p", "no:cacheprovider"],
                       cwd=hubtest.ROOT, env=env, capture_output=True,
                       text=True, timeout=300 * hubtest.SLOW)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-2000:]
    assert re.search(rf"^history: seed=\d+ kills={m.group(2)} events sent=",
                     p.stdout, re.M), p.stdout[-3000:]
    assert " lost=0 duplicated=0 " in p.stdout, p.stdout[-3000:]


def test_two_demos_started_at_once_both_run(tmp_path):
    """README.md, "What the demo shows": two demos started at once, from
    two checkouts, take turns choosing their ports, so the second takes
    free ones and both run. Each found 7601 and 8080 free before either
    bound them, and one hubd or webd then failed to bind."""
    demos = []
    for n in (1, 2):
        (tmp_path / f"d{n}").mkdir()
        demos.append(start_demo(tmp_path / f"d{n}"))
    outs = []
    for n, p in enumerate(demos, 1):
        out, _ = p.communicate(timeout=300 * hubtest.SLOW)
        outs.append(out)
        assert p.returncode == 0, out[-3000:]
        assert "all checks passed" in out, out[-3000:]
        assert ended(p, tmp_path / f"d{n}") == []
    addresses = [re.search(r"web inbox: (http://127\.0\.0\.1:\d+/)", o)
                 .group(1) for o in outs]
    assert addresses[0] != addresses[1], addresses
