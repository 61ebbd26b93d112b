"""121 install, fourth round: README.md and docs/OPERATIONS.md's
installation, settings and service parts as a municipal IT operator
reads them, for what the earlier rounds (test_01, test_80, test_98,
test_104) do not assert exactly."""

import datetime
import grp
import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import types
import urllib.request
from pathlib import Path

import pytest

import hubtest


@pytest.mark.parametrize("word", ["--nightly", "-x", "--help"])
def test_hubctl_takes_a_word_after_double_dash_as_it_is(word):
    """OPERATIONS.md, "Start and stop": "`--` ends the options: every
    argument after it is taken as it is, even one that starts with
    `--`", and a mistyped command word is `hubctl: unknown or missing
    command (see --help)`. `hubctl -- --nightly` said `unknown option
    --nightly`, as if the word were still an option (and `hubctl --
    --help` so refused --help); before the `--` it is one."""
    hubctl = hubtest.binary("hubctl")
    p = subprocess.run([hubctl, "--", word], capture_output=True,
                       text=True, timeout=30)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", "hubctl: unknown or missing command (see --help)\n"), p
    if word != "--help":
        p = subprocess.run([hubctl, word], capture_output=True, text=True,
                           timeout=30)
        assert (p.returncode, p.stderr) == (
            2, f"hubctl: unknown option {word} (see --help)\n"), p


def test_mkman_rerun_rewrites_only_the_pages_whose_text_changed(tmp_path):
    """OPERATIONS.md, "Build and install": the man pages are made by
    `deploy/man/mkman.py build/release/bin`, rerun when options change. A
    rerun dated every page today, so one changed option rewrote all nine
    (a commit of eight date-only changes, and a merge conflict in each
    beside another branch's rerun). A page whose text is what --help
    makes keeps its file and date; a page that differs is written anew,
    dated today."""
    man = tmp_path / "man"
    shutil.copytree(hubtest.ROOT / "deploy" / "man", man)
    old_date = "2001-02-03"
    pages = sorted(man.glob("*.1"))
    assert len(pages) == 9, pages
    for page in pages:
        text = re.sub(r'^(\.TH \S+ 1 )"[^"]*"', rf'\1"{old_date}"',
                      page.read_text(), count=1)
        page.write_text(text)
    stale = man / "inbox.1"
    stale.write_text(stale.read_text().replace(
        ".SH OPTIONS", ".SH OPTIONS\nan option since removed"))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in pages}
    p = subprocess.run([sys.executable, str(man / "mkman.py"),
                        str(hubtest.BUILD / "bin")], capture_output=True,
                       text=True, timeout=120)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    today = datetime.date.today().isoformat()
    for page in pages:
        if page.name == "inbox.1":
            text = page.read_text()
            assert text.startswith(f'.TH INBOX 1 "{today}"'), text[:80]
            assert "an option since removed" not in text
            # The same as the committed page but for its date.
            committed = (hubtest.ROOT / "deploy" / "man" /
                         "inbox.1").read_text()
            assert re.sub(r'"\d{4}-\d\d-\d\d"', "D", text, count=1) == \
                re.sub(r'"\d{4}-\d\d-\d\d"', "D", committed, count=1)
        else:
            assert (page.read_bytes(), page.stat().st_mtime_ns) == \
                before[page.name], page.name


def doc_block(text, after):
    """The first ```sh block of `text` after the words `after`."""
    part = text[text.index(after):]
    return re.search(r"```sh\n(.*?)```", part, re.S).group(1)


def test_the_debian_service_steps_run_as_written(tmp_path):
    """OPERATIONS.md, "As a Debian service" and "The web inbox (webd)":
    the steps "Once, as root" run as written, with /etc/ungebro and
    /var/lib/ungebro under a temp root and `nobody` standing in for the
    user ungebro (adduser aside). hubd then runs as the unit runs it
    (that user, UMask=0077, hubd.conf.example and rules.conf.example as
    installed, the keys root's hubctl keygen made); root's hubctl
    registers an agency beside it, whose event the running hub
    acknowledges as stored. ADAPTERS.md's steps for ungebro-adapter@school
    follow (on the hub's machine): the watcher, as its unit runs it,
    imports a file the export job drops into the setgid spool and moves
    it to done/, its event stored. webd's steps follow, and webd, as that
    user, serves its login page. SIGTERM stops all three, exit 0."""
    if os.geteuid() != 0:
        pytest.skip("only root installs files for another user")
    svc = pwd.getpwnam("nobody")
    group = grp.getgrgid(svc.pw_gid).gr_name
    # Under /tmp, not pytest's tmp_path: its parents are root's 0700.
    top = Path(tempfile.mkdtemp(prefix="ug-steps-"))
    try:
        os.chmod(top, 0o755)
        steps_under(top, tmp_path, svc, group)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def steps_under(top, tmp_path, svc, group):
    """The steps of test_the_debian_service_steps_run_as_written, with
    / at `top`."""
    etc, state = top / "etc/ungebro", top / "var/lib/ungebro"
    # What systemd makes for the unit's StateDirectory.
    state.mkdir(parents=True)
    os.chown(state, svc.pw_uid, svc.pw_gid)
    ingest, delivery, port = (hubtest.free_port() for _ in range(3))
    deploy = hubtest.ROOT / "deploy"
    examples = tmp_path / "examples"
    examples.mkdir()
    for name, text in (
            ("hubd.conf.example", (deploy / "hubd.conf.example").read_text()
             .replace(":7601", f":{ingest}").replace(":7602",
                                                     f":{delivery}")),
            ("rules.conf.example", (deploy / "rules.conf.example")
             .read_text()),
            ("webd.conf.example", (deploy / "webd.conf.example").read_text()
             .replace(":7602", f":{delivery}")
             .replace("port = 8080", f"port = {port}"))):
        (examples / name).write_text(text.replace("/etc/ungebro", str(etc))
                                     .replace("/var/lib/ungebro", str(state)))
    adapter_conf = re.sub(
        r"^hub = .*$", f"hub = tcp://127.0.0.1:{ingest}",
        (deploy / "adapter.conf.example").read_text(), flags=re.M)
    (examples / "adapter.conf.example").write_text(
        adapter_conf.replace("/etc/ungebro", str(etc))
        .replace("/var/lib/ungebro", str(state)))
    spool = top / "var/spool/ungebro"

    def as_root(block):
        for line in block.splitlines():
            line = line.split("  #")[0].strip()
            if not line or line.startswith((
                    "adduser ", "systemctl ", "journalctl ", "usermod ")) \
                    or "/usr/local/bin" in line or "/etc/systemd" in line:
                continue
            line = (line.replace("/usr/local/share/doc/ungebro/examples",
                                 str(examples))
                    .replace("deploy/adapter.conf.example",
                             str(examples / "adapter.conf.example"))
                    .replace("/var/spool/ungebro", str(spool))
                    .replace("/etc/ungebro", str(etc))
                    .replace("-o ungebro", f"-o {svc.pw_name}")
                    .replace("-g ungebro", f"-g {group}"))
            words = shlex.split(line.split("|")[-1])
            if words[0] == "hubctl":
                words[0] = hubtest.binary("hubctl")
            feed = None
            if "|" in line:
                feed = subprocess.run(shlex.split(line.split("|")[0]),
                                      capture_output=True, check=True,
                                      timeout=30).stdout
            p = subprocess.run(words, input=feed, capture_output=True,
                               timeout=60, cwd=tmp_path)
            assert p.returncode == 0, (line, p.stderr)

    def as_service(unit, log):
        exec_start = re.search(r"^ExecStart=(.*)$", (deploy / unit)
                               .read_text(), re.M).group(1)
        words = [w.replace("%i", "school").replace("/etc/ungebro", str(etc))
                 .replace("/var/spool/ungebro", str(spool))
                 for w in exec_start.replace("/usr/local/bin/", "").split()]
        words[0] = hubtest.binary(words[0])

        def drop():
            os.umask(0o077)
            os.setgroups([])
            os.setgid(svc.pw_gid)
            os.setuid(svc.pw_uid)
        return subprocess.Popen(words, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, preexec_fn=drop)

    ops = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    as_root(doc_block(ops, "`deploy/hubd.service` runs hubd as the user"))
    hub_log = tmp_path / "hubd.log"
    procs = []
    try:
        with open(hub_log, "wb") as out:
            hubd = as_service("hubd.service", out)
        procs.append(hubd)
        hubtest.wait_for(lambda: hubd.poll() is not None or
                         "HUB-READY" in hub_log.read_text(), 20, "HUB-READY")
        assert hubd.poll() is None, hub_log.read_text()
        # ADAPTERS.md, "Running unattended": the school's steps, here on
        # the hub's machine; its key goes to the hub's operator, the
        # hub's public key comes back.
        shutil.copy(etc / "keys" / "hub.key", tmp_path / "hub.key")
        adapters = (hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
        as_root(doc_block(adapters, "Under systemd, `deploy/ungebro-"
                          "adapter@.service` is a template unit"))
        # "then register the agencies and caseworkers with hubctl as root"
        conf = etc / "hubd.conf"
        for args in (["register-agency", "school-hedemark"],
                     ["keygen", "cw-anna"],
                     ["register-caseworker", "cw-anna"]):
            p = subprocess.run([hubtest.binary("hubctl"), "--config",
                                str(conf), *args], capture_output=True,
                               text=True, timeout=60)
            assert p.returncode == 0, (args, p.stderr)
        hub = types.SimpleNamespace(keys_dir=etc / "keys",
                                    ingest=f"tcp://127.0.0.1:{ingest}")
        cpr = hubtest.CprGen(12101).take(1)[0]
        env = hubtest.envelope("school-hedemark", cpr, salt="service")
        # The running hub sees root's registration on its own.
        hubtest.wait_for(lambda: "registrations changed" in
                         hub_log.read_text(), 20, "HUB-ZAP")
        with hubtest.IngestClient(hub, "school-hedemark") as c:
            ack = c.ack_for(hubtest.frame(env))
        assert ack.status == hubtest.ACCEPTED, ack
        # The watcher, as ungebro-adapter@school runs it: its
        # StateDirectory made by systemd, 0700.
        outbox_state = state / "adapters" / "school"
        outbox_state.mkdir(parents=True)
        os.chmod(outbox_state, 0o700)
        for d in (state / "adapters", outbox_state):
            os.chown(d, svc.pw_uid, svc.pw_gid)
        watch_log = tmp_path / "adapter.log"
        with open(watch_log, "wb") as out:
            watcher = as_service("ungebro-adapter@.service", out)
        procs.append(watcher)
        hubtest.wait_for(lambda: watcher.poll() is not None or
                         "ADP-WATCH watching" in watch_log.read_text(), 20,
                         "ADP-WATCH watching")
        assert watcher.poll() is None, watch_log.read_text()
        # The export job (root here, the group's member) drops a file.
        part = spool / "school" / "uge19.csv.part"
        hubtest.write_absence_csv(part, [hubtest.AbsenceRow(
            hubtest.CprGen(12102).take(1)[0])])
        part.rename(spool / "school" / "uge19.csv")
        done = spool / "school" / "done" / "uge19.csv"
        hubtest.wait_for(lambda: watcher.poll() is not None or
                         done.exists(), 30, "uge19.csv in done/")
        assert done.exists(), watch_log.read_text()

        def stored():
            p = subprocess.run([hubtest.binary("hubctl"), "--config",
                                str(conf), "stats", "--json"],
                               capture_output=True, text=True, timeout=60)
            return p.returncode == 0 and \
                json.loads(p.stdout)["log_events"] == 2
        hubtest.wait_for(stored, 20, "the file's event in the hub's log")
        as_root(doc_block(ops, "Once, as root, after hubd's steps there"))
        web_log = tmp_path / "webd.log"
        with open(web_log, "wb") as out:
            webd = as_service("webd.service", out)
        procs.append(webd)
        url = f"http://127.0.0.1:{port}/login"

        def login_page():
            assert webd.poll() is None, web_log.read_text()
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return r.status
            except OSError:
                return None
        assert hubtest.wait_for(login_page, 20, "webd's login page") == 200
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
    for p, log in zip(procs, (hub_log, tmp_path / "adapter.log",
                              tmp_path / "webd.log")):
        assert p.wait(timeout=30) == 0, log.read_text()
    assert "HUB-STOP" in hub_log.read_text()


def test_readmes_inbox_command_after_the_demo_says_what_readme_says(
        tmp_path):
    """README.md, "What the demo shows": the inbox command it shows, run
    as written once the demo has ended (hubd stopped, its delivery port
    closed), waits --timeout and exits 0 with nothing printed, as README
    now says; it said nothing of it, and a reader who copied the command
    after `make demo` saw only silence. The demo's config for cw-anna is
    stood in for by one of the same settings (timeout 1 to keep it
    short)."""
    readme = (hubtest.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What the demo shows", 1)[1]
    command = re.search(r"\$ (build/release/bin/inbox [^\n]*)",
                        section).group(1)
    flat = " ".join(section.split())
    assert ("The demo stops `hubd` when it ends, so that command run after "
            "it finds no hub: it waits `--timeout` (10 s) and exits 0 with "
            "nothing printed (`inbox --help`); run it while `make demo "
            "DEMO_WEB_WAIT=600` keeps the hub") in flat
    words = shlex.split(command)
    conf = tmp_path / words[words.index("--config") + 1]
    conf.parent.mkdir(parents=True)
    keys = tmp_path / "var/demo/keys"
    for name in ("hub", "cw-anna"):
        subprocess.run([hubtest.binary("hubctl"), "--keys_dir", str(keys),
                        "keygen", name], check=True, capture_output=True,
                       timeout=60)
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {keys}\n"
                    f"delivery = tcp://127.0.0.1:{hubtest.free_port()}\n"
                    "timeout = 1\n")
    words[0] = hubtest.binary("inbox")
    help_text = subprocess.run([words[0], "--help"], capture_output=True,
                               text=True, timeout=30).stdout
    assert "(default: 10)" in help_text.split("--timeout VALUE")[1] \
        .split("\n  --")[0]
    p = subprocess.run(words, cwd=tmp_path, capture_output=True, text=True,
                       timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), p
