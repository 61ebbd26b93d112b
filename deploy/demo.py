#!/usr/bin/python3
"""ungebro end-to-end demo: a municipality's agencies, three caseworkers,
one hub.

Every agency's adapter imports the seeded synthetic files deploy/gen_cohort.py
writes (a school, three youth education institutions, the addiction centre,
the Jobcenter and the youth unit, whose adapter also sets up the contact
persons and the duty desk); the demo checks each import against
cohort.json (rows, accepted, rejected lines), that the hub stored exactly
the accepted rows per agency and event type, that the absence alerts reach
the right caseworkers, that a re-import stores nothing, and that no CPR is
in a log, the store or an outbox.


Run by `make demo` as  UG_BUILD=build/release /usr/bin/python3 deploy/demo.py
Everything lives under ./var/demo (removed first, so the demo runs again
cleanly), the hub listens on 127.0.0.1 only, and every CPR number is made
up by deploy/gen_cohort.py. Exits non-zero if any step or check fails.
"""

import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(REPO, os.environ.get("UG_BUILD", "build/release"))
BIN = os.path.join(BUILD, "bin")
VAR = os.path.join(REPO, "var", "demo")
KEYS = os.path.join(VAR, "keys")
ETC = os.path.join(VAR, "etc")
COHORT = os.path.join(VAR, "cohort")
PY = sys.executable or "/usr/bin/python3"

SCHOOL = "school-hedemark"
CASEWORKERS = ["cw-anna", "cw-bo"]
DESK_MEMBER = "cw-desk"
DESK = "duty-desk"
SEED = 2026
PUPILS_PER_GRADE = 286
BAD_ROWS = 4
SHOW_LINES = 45  # lines of cw-anna's inbox shown

T0 = time.monotonic()
failures = []


class DemoError(Exception):
    pass


_section = [0]
LOGS = {}  # name -> text, checked for CPR numbers at the end


def heading(text):
    _section[0] += 1
    print()
    print("=" * 72)
    print("%d. %s" % (_section[0], text))
    print("=" * 72, flush=True)


def note(text=""):
    print("   " + text if text else "", flush=True)


def check(ok, what):
    print("   [%s] %s" % ("ok" if ok else "FAIL", what), flush=True)
    if not ok:
        failures.append(what)
    return ok


def rel(path):
    return os.path.relpath(path, REPO)


def run(argv, what, ok_codes=(0,), timeout=60, show=True):
    """Run a program; returns (rc, stdout, stderr). Raises on a bad code."""
    if show:
        print("   $ " + " ".join(rel(a) if a.startswith(REPO) else a
                                 for a in argv), flush=True)
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        raise DemoError("%s: no answer within %d s" % (what, timeout))
    except OSError as e:
        raise DemoError("%s: cannot run %s: %s" % (what, argv[0], e))
    if p.returncode not in ok_codes:
        sys.stdout.write(indent(p.stdout))
        sys.stdout.write(indent(p.stderr))
        raise DemoError("%s: exit code %d (expected %s)"
                        % (what, p.returncode,
                           "/".join(str(c) for c in ok_codes)))
    return p.returncode, p.stdout, p.stderr


def indent(text, prefix="   | "):
    if not text:
        return ""
    return "".join(prefix + line + "\n" for line in text.rstrip("\n").split("\n"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ports_lock():
    """A lock held from choosing a port until the server binds it: two
    demos started together (two checkouts, or two tests) would otherwise
    both find 7601 or 8080 free and both bind it, one failing. Closed (or
    at the demo's exit) it is released. Another user's lock file that
    cannot be opened leaves the demo as it was without one: None."""
    path = os.path.join(tempfile.gettempdir(), "ungebro-demo-ports.lock")
    for flags in (os.O_RDONLY, os.O_RDONLY | os.O_CREAT):
        try:
            fd = os.open(path, flags, 0o644)
        except OSError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd
    return None


def ports_unlock(fd):
    if fd is not None:
        os.close(fd)


def port_free(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def write_conf(path, settings):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# written by deploy/demo.py\n")
        for k, v in settings:
            f.write("%s = %s\n" % (k, v))


def hubctl(*args, **kw):
    return run([os.path.join(BIN, "hubctl")] + list(args),
               kw.pop("what", "hubctl " + args[0]), **kw)


def stats(conf):
    _, out, _ = run([os.path.join(BIN, "hubctl"), "stats", "--config", conf,
                     "--json"], "hubctl stats", show=False)
    return json.loads(out.strip().splitlines()[-1])


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise DemoError("no JSON summary in output:\n" + text)


# Ctrl-C, SIGTERM and SIGHUP end the demo; it stops hubd and webd first.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


class Hub:
    def __init__(self, conf, log_path):
        self.conf = conf
        self.log_path = log_path
        self.proc = None

    def start(self, timeout=15.0):
        self.log = open(self.log_path, "ab")
        # A session of its own: Ctrl-C in the terminal (ending the
        # DEMO_WEB_WAIT wait) reaches the demo, which then stops hubd
        # with SIGTERM and checks how it ended, as after any run.
        # A stop signal inside Popen, hubd already running but not yet
        # self.proc, would leave it to no one: held until it is ours
        # (hubd unblocks them first thing, OPERATIONS.md).
        held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        try:
            self.proc = subprocess.Popen(
                [os.path.join(BIN, "hubd"), "--config", self.conf],
                stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO,
                start_new_session=True)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "HUB-READY" in self.text():
                return
            if self.proc.poll() is not None:
                raise DemoError("hubd exited with code %d before HUB-READY:\n%s"
                                % (self.proc.returncode, indent(self.tail())))
            time.sleep(0.05)
        raise DemoError("hubd did not log HUB-READY within %.0f s:\n%s"
                        % (timeout, indent(self.tail())))

    def text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def tail(self, n=15):
        return "\n".join(self.text().splitlines()[-n:])

    def stop(self, timeout=15.0):
        """SIGTERM; returns the exit code (None if it had to be killed)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            self.log.close()


def inbox_argv(cw, json_mode, extra=()):
    argv = [os.path.join(BIN, "inbox"), "--config",
            os.path.join(ETC, "inbox-%s.conf" % cw), "--idle_exit", "2"]
    if json_mode:
        argv.append("--json")
    return argv + list(extra)


def run_inboxes(cws, timeout=60, no_ack=()):
    """Run `inbox --json --idle_exit 2` for several caseworkers at once;
    those in no_ack read their alerts without acknowledging them."""
    results = {}

    def one(cw):
        extra = ["--no_ack"] if cw in no_ack else []
        try:
            p = subprocess.run(inbox_argv(cw, True, extra),
                               capture_output=True,
                               text=True, timeout=timeout, cwd=REPO)
            results[cw] = (p.returncode, p.stdout, p.stderr)
        except subprocess.TimeoutExpired:
            results[cw] = (None, "", "timed out")
    threads = [threading.Thread(target=one, args=(cw,)) for cw in cws]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    alerts = {}
    for cw in cws:
        rc, out, err = results[cw]
        LOGS["inbox %s stderr" % cw] = LOGS.get("inbox %s stderr" % cw,
                                                "") + err
        if rc != 0:
            sys.stdout.write(indent(err))
            raise DemoError("inbox for %s: exit code %s" % (cw, rc))
        got = []
        for line in out.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                got.append(json.loads(line))
            except ValueError:
                raise DemoError("inbox --json for %s printed a line that is "
                                "not JSON: %r" % (cw, line[:120]))
        alerts[cw] = got
    return alerts


def adapter_conf(agency):
    return os.path.join(ETC, "%s.conf" % agency)


def import_files(agency, adapter, paths, what, timeout=120):
    """adapter-<adapter> import paths...; returns (rc, summary, stderr)."""
    rc, out, err = run([os.path.join(BIN, "adapter-" + adapter), "--config",
                        adapter_conf(agency), "--json", "import"] + paths,
                       what, ok_codes=(0, 1), timeout=timeout)
    LOGS["adapter-%s %s stderr (%s)" % (adapter, agency, what)] = err
    return rc, last_json(out), err


def rejected_lines(err, path):
    """Line numbers the adapter reported as rejected for one input file
    ("FILE:LINE: column COL: reason" on stderr)."""
    rx = re.compile(r"^%s:(\d+): " % re.escape(path), re.M)
    return sorted(int(m) for m in rx.findall(err))


def check_import(agency, files, rc, summary, err, indent_note=True):
    """The adapter's summary and its rejected lines against cohort.json's
    expectations for these files; returns the figures for the summary."""
    rows = sum(f["rows"] for f in files)
    valid = sum(f["valid_rows"] for f in files)
    bad = sum(len(f["bad_rows"]) for f in files)
    ok = (summary.get("rows") == rows and summary.get("accepted") == valid
          and summary.get("rejected_rows") == bad
          and summary.get("rejected_by_hub") == 0
          and summary.get("pending") == 0 and rc == (1 if bad else 0))
    check(ok, "%-16s rows %s = %d, accepted %s = %d, rejected %s = %d, "
          "pending %s, exit %d" % (agency, summary.get("rows"), rows,
                                   summary.get("accepted"), valid,
                                   summary.get("rejected_rows"), bad,
                                   summary.get("pending"), rc))
    for f in files:
        path = os.path.join(COHORT, f["file"])
        want = sorted(b["line"] for b in f["bad_rows"])
        got = rejected_lines(err, path)
        check(got == want, "%-16s %s: rejected lines %s = %s"
              % ("", f["file"], got, want))
        rejects = path + ".rejects.csv"
        if want:
            n = -1
            if os.path.exists(rejects):
                with open(rejects, encoding="utf-8-sig") as fh:
                    n = sum(1 for line in fh if line.strip()) - 1
            check(n == len(want), "%-16s %s holds the %d rejected rows"
                  % ("", rel(rejects), len(want)))
    return {"rows": summary.get("rows"), "accepted": summary.get("accepted"),
            "rejected": summary.get("rejected_rows"),
            "rejected_by_hub": summary.get("rejected_by_hub")}


def hub_log(conf):
    """hubctl log --json: the stored events (type, agency, id; no CPR)."""
    _, out, _ = run([os.path.join(BIN, "hubctl"), "log", "--config", conf,
                     "--json"], "hubctl log", show=False, timeout=120)
    return [json.loads(line) for line in out.splitlines()
            if line.startswith("{")]


def all_cprs(cohort):
    return [p["cpr"] for p in cohort.get("pupils", [])] + \
        [p["cpr"] for p in cohort.get("people", [])]


def main():
    for prog in ("hubd", "hubctl", "inbox", "webd", "adapter-school",
                 "adapter-college", "adapter-addiction", "adapter-jobcenter",
                 "adapter-youthunit"):
        if not os.access(os.path.join(BIN, prog), os.X_OK):
            raise DemoError("%s/%s is missing: run make first"
                            % (rel(BIN), prog))
    web_wait()

    heading("A clean place: %s" % rel(VAR))
    shutil.rmtree(VAR, ignore_errors=True)
    for d in (KEYS, ETC, COHORT, os.path.join(VAR, "hub", "data")):
        os.makedirs(d, exist_ok=True)
    os.chmod(KEYS, 0o700)
    note("removed and recreated %s" % rel(VAR))

    heading("Synthetic municipality (made-up CPR numbers)")
    _, out, _ = run([PY, os.path.join(REPO, "deploy", "gen_cohort.py"),
                     "--seed", str(SEED), "--pupils", str(PUPILS_PER_GRADE),
                     "--grades", "8,9", "--weeks", "6", "--start",
                     "2026-09-07", "--schools", "1", "--school-ids", SCHOOL,
                     "--caseworkers", ",".join(CASEWORKERS), "--desk", DESK,
                     "--desk-members", DESK_MEMBER,
                     "--bad-rows", str(BAD_ROWS), "--out", COHORT],
                    "gen_cohort")
    sys.stdout.write(indent(out))
    with open(os.path.join(COHORT, "cohort.json"), encoding="utf-8") as f:
        cohort = json.load(f)
    exp = cohort["expected"]
    note("%d pupils in grades 8 and 9, %d weekly reports (Mon-Fri, 30 lessons)"
         % (len(cohort["pupils"]), exp["events"]))
    note("%d pupils with high absence; %d expected to cross %d %% over %d "
         "school days" % (exp["pupils_high_absence"], exp["pupils_crossing"],
                          cohort["rule"]["threshold_pct"],
                          cohort["rule"]["window_days"]))
    for g, r in sorted(cohort.get("readiness", {}).items()):
        note("grade %s: %d of %d assessed not education-ready"
             % (g, r["not_ready"], r["assessed"]))
    note("%d more young people (last year's leavers, young adults) in the "
         "colleges', addiction centre's, Jobcenter's and youth unit's files"
         % len(cohort["people"]))
    for ag in cohort["agencies"]:
        for fi in ag["files"]:
            note("%-22s %-32s %5d rows (%d bad)"
                 % (ag["id"], fi["file"], fi["rows"], len(fi["bad_rows"])))

    agencies = [ag["id"] for ag in cohort["agencies"]]
    heading("Keys (hubctl keygen)")
    idents = ["hub"] + agencies + CASEWORKERS + [DESK_MEMBER]
    for ident in idents:
        hubctl("keygen", "--keys_dir", KEYS, ident, show=ident in
               ("hub", SCHOOL, "cw-anna"))
    note("... and %d more (every agency and caseworker)" % (len(idents) - 3))
    check(all(os.path.exists(os.path.join(KEYS, i + ".key_secret"))
              and (os.stat(os.path.join(KEYS, i + ".key_secret")).st_mode
                   & 0o077) == 0 for i in idents),
          "%d secret key files exist with mode 0600" % len(idents))
    rc, _, _ = run([os.path.join(BIN, "hubctl"), "keygen", "--keys_dir", KEYS,
                    "hub"], "hubctl keygen (again)", ok_codes=(1,),
                   show=False)
    check(rc == 1, "keygen refuses to overwrite an existing key (exit 1)")

    heading("Configuration")
    lock = ports_lock()
    ingest_port, delivery_port = 7601, 7602
    if not (port_free(ingest_port) and port_free(delivery_port)):
        ingest_port, delivery_port = free_port(), free_port()
        note("7601/7602 are busy here: using %d/%d"
             % (ingest_port, delivery_port))
    ingest = "tcp://127.0.0.1:%d" % ingest_port
    delivery = "tcp://127.0.0.1:%d" % delivery_port
    hub_conf = os.path.join(ETC, "hubd.conf")
    # The hub's absence rule defaults (10 % over 20 school days, judged
    # from 10 covered days) are the generator's defaults.
    write_conf(hub_conf, [
        ("data_dir", os.path.join(VAR, "hub", "data")),
        ("keys_dir", KEYS),
        ("ingest", ingest),
        ("delivery", delivery),
        ("log_level", "info"),
        ("log_map_mb", "1024"),
        ("derived_map_mb", "512"),
    ])
    for ag in agencies:
        write_conf(adapter_conf(ag), [
            ("agency", ag),
            ("keys_dir", KEYS),
            ("hub", ingest),
            ("outbox", os.path.join(VAR, "adapters", ag, "outbox")),
            ("timeout", "30"),
        ])
    for cw in CASEWORKERS + [DESK_MEMBER]:
        write_conf(os.path.join(ETC, "inbox-%s.conf" % cw), [
            ("caseworker", cw), ("keys_dir", KEYS), ("delivery", delivery)])
    note("one .conf per agency adapter and per caseworker's inbox in %s"
         % rel(ETC))
    with open(hub_conf, encoding="utf-8") as f:
        sys.stdout.write(indent(f.read()))

    heading("Register the agencies and the caseworkers (hubctl)")
    for ag in cohort["agencies"]:
        hubctl("register-agency", "--config", hub_conf, ag["id"],
               "--types", ag["types"])
    for cw in CASEWORKERS:
        hubctl("register-caseworker", "--config", hub_conf, cw)
    hubctl("register-caseworker", "--config", hub_conf, DESK_MEMBER, "--desk")

    heading("Start hubd")
    hub = Hub(hub_conf, os.path.join(VAR, "hubd.log"))
    t = time.monotonic()
    started = {}
    # From hubd's start on: one that does not get ready in time, or a
    # signal while it or webd starts, must not leave it running.
    try:
        hub.start()
        ports_unlock(lock)
        note("hubd pid %d logged HUB-READY after %.2f s (log: %s)"
             % (hub.proc.pid, time.monotonic() - t, rel(hub.log_path)))
        start_web(hub_conf, delivery, started)
        demo_with_hub(hub, hub_conf, cohort)
        hold_web(started["web"])
    finally:
        web = started.get("web")
        if web is not None and web.poll() is None:
            web.send_signal(signal.SIGTERM)
            try:
                check(web.wait(10) == 0, "webd exited with code 0")
            except subprocess.TimeoutExpired:
                web.kill()
                check(False, "webd did not stop on SIGTERM")
        if hub.proc is None:
            pass
        elif hub.proc.poll() is None:
            heading("Stop hubd (SIGTERM)")
            rc = hub.stop()
            check(rc == 0, "hubd exited with code %s" % rc)
            check("HUB-STOP" in hub.text(), "hubd logged HUB-STOP")
        else:
            check(False, "hubd had exited before the end (exit code %s)"
                  % hub.proc.returncode)
            sys.stdout.write(indent(hub.tail()))


WEB_USER = CASEWORKERS[0]
WEB_PASSWORD = "demo-adgangskode"


def start_web(hub_conf, delivery, started):
    """The web inbox: a gateway key, a demo password, webd on 8080 (or a
    free port), as started["web"] once it runs, for the caller to stop."""
    heading("Start the web inbox (webd)")
    hubctl("keygen", "--keys_dir", KEYS, "web-1")
    hubctl("register-gateway", "--config", hub_conf, "web-1")
    note("$ echo '%s' | hubctl set-password --config %s %s"
         % (WEB_PASSWORD, rel(hub_conf), WEB_USER))
    p = subprocess.run([os.path.join(BIN, "hubctl"), "set-password",
                        "--config", hub_conf, WEB_USER],
                       input=WEB_PASSWORD + "\n", capture_output=True,
                       text=True, timeout=60)
    if p.returncode != 0:
        raise DemoError("hubctl set-password: " + p.stderr.strip())
    lock = ports_lock()
    port = 8080 if port_free(8080) else free_port()
    log = open(os.path.join(VAR, "webd.log"), "ab")
    held = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        web = started["web"] = subprocess.Popen(
            [os.path.join(BIN, "webd"), "--gateway", "web-1", "--keys_dir",
             KEYS, "--delivery", delivery, "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    deadline = time.monotonic() + 10
    while port_free(port) and web.poll() is None and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    ports_unlock(lock)
    if web.poll() is not None or port_free(port):
        raise DemoError("webd did not start (log: var/demo/webd.log)")
    note("web inbox: http://127.0.0.1:%d/  log in as %s, password %s"
         % (port, WEB_USER, WEB_PASSWORD))
    web.demo_port = port
    return web


def web_wait():
    """DEMO_WEB_WAIT, whole seconds (empty or unset: 0). Read before the
    demo starts: a typo found after it would cost the whole run."""
    text = os.environ.get("DEMO_WEB_WAIT", "").strip()
    if not text:
        return 0
    # isdigit alone takes '²' (which int refuses) and other scripts' digits.
    if not (text.isascii() and text.isdigit()):
        raise DemoError("DEMO_WEB_WAIT must be a whole number of seconds, "
                        "not '%s'" % text)
    return int(text)


def hold_web(web):
    """DEMO_WEB_WAIT=SECONDS keeps hubd and webd running after the demo,
    to try the web inbox (Ctrl-C ends it early)."""
    wait = web_wait()
    if wait <= 0:
        note("to try the web inbox after the demo: make demo "
             "DEMO_WEB_WAIT=600")
        return
    heading("The web inbox stays up for %d s" % wait)
    # In steps: one sleep cannot take more than about 292 years in ns, and
    # a longer wait is still whole seconds. The line inside the try: a
    # Ctrl-C (or SIGTERM) as soon as it shows ends the wait, not the demo.
    try:
        note("http://127.0.0.1:%d/  log in as %s, password %s (Ctrl-C ends)"
             % (web.demo_port, WEB_USER, WEB_PASSWORD))
        while wait > 0:
            step = min(wait, 86400)
            time.sleep(step)
            wait -= step
    except KeyboardInterrupt:
        pass


def agency_entry(cohort, ident):
    return next(ag for ag in cohort["agencies"] if ag["id"] == ident)


def wait_applied(conf, timeout=30):
    """Until the hub has run its rules over every stored event."""
    deadline = time.monotonic() + timeout
    while True:
        st = stats(conf)
        if st.get("last_applied") == st.get("last_seq") or \
                time.monotonic() > deadline:
            return st
        time.sleep(0.1)


def inbox_round(members, cohort, exp=None, no_ack=()):
    """Every caseworker's inbox, JSON, acknowledging (but those in no_ack).
    With exp, the absence.rolling alerts must be exactly those cohort.json
    predicts, to the same pupils and recipients. Returns ({cw: alerts},
    {rule: n})."""
    alerts = run_inboxes(members, no_ack=no_ack)
    by_rule = {}
    for cw in members:
        got = alerts[cw]
        rcpt = DESK if cw == DESK_MEMBER else cw
        for a in got:
            by_rule[a.get("rule")] = by_rule.get(a.get("rule"), 0) + 1
        check(all(a.get("recipient") in (cw, DESK if cw == DESK_MEMBER
                                         else cw) for a in got),
              "%-8s every one of its %d alerts is addressed to %s"
              % (cw, len(got), rcpt if cw == DESK_MEMBER else cw))
        if exp is None:
            continue
        rolling = [a for a in got if a.get("rule") == "absence.rolling"]
        want = exp["by_recipient"].get(rcpt, 0)
        want_cprs = sorted(p["cpr"] for p in cohort["pupils"]
                           for _ in p["alerts"]
                           if (p["contact"] or DESK) == rcpt)
        got_cprs = sorted(a.get("cpr", "") for a in rolling)
        check(len(rolling) == want and got_cprs == want_cprs,
              "%-8s received %d absence.rolling alerts for %s, expected %d "
              "(same pupils: %s)" % (cw, len(rolling), rcpt, want,
                                     "yes" if got_cprs == want_cprs
                                     else "NO"))
    note("alerts delivered by rule: " + (", ".join(
        "%s %d" % kv for kv in sorted(by_rule.items())) or "none"))
    return alerts, by_rule


def demo_with_hub(hub, hub_conf, cohort):
    exp = cohort["expected"]
    figures = {}   # agency -> import figures, for the summary
    members = CASEWORKERS + [DESK_MEMBER]
    youth = agency_entry(cohort, "ungeenheden")
    heading("Contact persons and the duty desk (adapter-youthunit)")
    paths = [os.path.join(COHORT, f["file"]) for f in youth["files"]]
    t = time.monotonic()
    rc, summary, err = import_files("ungeenheden", "youthunit", paths,
                                    "adapter-youthunit import")
    note("took %.2f s; summary: %s" % (time.monotonic() - t,
                                       json.dumps(summary)))
    figures["ungeenheden"] = check_import("ungeenheden", youth["files"], rc,
                                          summary, err)
    st = stats(hub_conf)
    persons = cohort["youthunit"]["assigned_persons"]
    check(st.get("assignments") == persons,
          "hubctl stats: assignments %s = %d persons (%d reassigned: a "
          "later `from`)" % (st.get("assignments"), persons,
                             cohort["youthunit"]["reassignments"]))
    note("%d pupils have a contact person; the other %d go to %s"
         % (cohort["assignments"]["pupils_with_contact"],
            len(cohort["pupils"])
            - cohort["assignments"]["pupils_with_contact"], DESK))

    heading("School absence import (adapter-school)")
    school = agency_entry(cohort, SCHOOL)
    absence = [f for f in school["files"] if f["kind"] == "absence"]
    others = [f for f in school["files"] if f["kind"] != "absence"]
    csv_path = os.path.join(COHORT, absence[0]["file"])
    log_before = stats(hub_conf).get("log_events", 0)
    t = time.monotonic()
    rc, summary, err = import_files(SCHOOL, "school", [csv_path],
                                    "adapter-school import absence")
    import_s = time.monotonic() - t
    note("took %.2f s, exit code %d" % (import_s, rc))
    note("adapter-school stderr (the rejected rows, and its log lines):")
    sys.stdout.write(indent(err))
    note("summary: " + json.dumps(summary))
    school_fig = check_import(SCHOOL, absence, rc, summary, err)
    absence_summary = summary
    st = wait_applied(hub_conf)
    added = st.get("log_events", 0) - log_before
    check(added == exp["events"],
          "events added to the hub's log %d = %d" % (added, exp["events"]))
    note("hubctl stats: " + json.dumps(st))

    heading("cw-anna's inbox, as she sees it (inbox, not acknowledged)")
    _, out, err = run(inbox_argv("cw-anna", False, ["--no_ack"]),
                      "inbox cw-anna", timeout=60)
    lines = out.rstrip("\n").split("\n") if out.strip() else []
    sys.stdout.write(indent("\n".join(lines[:SHOW_LINES])))
    if len(lines) > SHOW_LINES:
        note("... %d more lines" % (len(lines) - SHOW_LINES))
    LOGS["inbox cw-anna (human) stderr"] = err
    shown_ids = set(re.findall(r"^=== \S+ alert ([0-9a-f]+)", out, re.M))
    others_cprs = {p["cpr"] for p in cohort["pupils"]
                   if p["contact"] != "cw-anna"}
    leaked = {c for c in others_cprs
              if c in out or (c[:6] + "-" + c[6:]) in out}
    check(shown_ids, "cw-anna sees %d alerts" % len(shown_ids))
    check(not leaked, "cw-anna sees no pupil of another caseworker or the "
          "desk (%d seen)" % len(leaked))

    heading("Absence alerts in every inbox, JSON, acknowledging")
    alerts, first_rules = inbox_round(members, cohort, exp)
    got = alerts["cw-anna"]
    again = [a for a in got if a.get("alert_id") in shown_ids]
    check(len(again) == len(shown_ids) and
          all(a.get("delivery", 0) >= 2 for a in again),
          "cw-anna's %d alerts seen without acknowledging came again "
          "(delivery >= 2)" % len(again))
    delivered = {cw: len(alerts[cw]) for cw in members}
    sample = next((a for cw in members for a in alerts[cw]
                   if a.get("rule") == "absence.rolling"), None)
    if sample:
        note("one alert as JSON (%s):" % sample.get("recipient"))
        sys.stdout.write(indent(json.dumps(sample, indent=1,
                                           ensure_ascii=False)))

    heading("Every other agency's exports")
    # Colleges before the schools' leaving file: the hub's clock is today,
    # so it judges a transition gap as soon as a leaving arrives; an
    # enrolment it already holds closes the gap.
    t = time.monotonic()
    jobs = [(ag["id"], ag["adapter"], ag["files"]) for ag in
            cohort["agencies"] if ag["adapter"] not in ("school",
                                                       "youthunit")] + \
        [(SCHOOL, "school", others)]
    for ident, adapter, files in jobs:
        paths = [os.path.join(COHORT, f["file"]) for f in files]
        rc, summary, err = import_files(ident, adapter, paths,
                                        "adapter-%s import" % adapter)
        note("adapter-%s %s: %s" % (adapter, " ".join(f["file"]
                                                       for f in files),
                                    json.dumps(summary)))
        fig = check_import(ident, files, rc, summary, err)
        if ident == SCHOOL:
            for k in ("rows", "accepted", "rejected", "rejected_by_hub"):
                school_fig[k] += fig[k]
        else:
            figures[ident] = fig
    figures[SCHOOL] = school_fig
    note("all agencies imported in %.2f s" % (time.monotonic() - t))
    # One refusal per file, as the clerk sees it.
    samples = {}
    for name, text in LOGS.items():
        for line in text.splitlines():
            m = re.match(r"^.*/([^/:]+):(\d+): column (\S+): (.*)$", line)
            if m and m.group(1) not in samples:
                samples[m.group(1)] = "%s:%s: column %s: %s" % m.groups()
    note("one refused row per file, as stderr and the rejects file say:")
    for text in samples.values():
        note("  " + text)

    heading("What the hub stored (hubctl log --json: no personal data)")
    st = wait_applied(hub_conf)
    events = hub_log(hub_conf)
    by_agency, by_type = {}, {}
    for e in events:
        by_agency[e["agency"]] = by_agency.get(e["agency"], 0) + 1
        by_type[e["type"]] = by_type.get(e["type"], 0) + 1
    for ident, want in exp["events_by_agency"].items():
        check(by_agency.get(ident, 0) == want == figures[ident]["accepted"],
              "%-16s %5d events stored = %d accepted rows"
              % (ident, by_agency.get(ident, 0), want))
    for name, want in exp["events_by_type"].items():
        check(by_type.get(name, 0) == want, "%-20s %5d stored = %d expected"
              % (name, by_type.get(name, 0), want))
    total = sum(exp["events_by_agency"].values())
    check(len(events) == total == st.get("log_events"),
          "%d events in the log = %d accepted rows = hubctl stats "
          "log_events %s" % (len(events), total, st.get("log_events")))
    check(not (set(by_agency) - set(exp["events_by_agency"])),
          "no event from anyone else")

    # cw-anna reads these without acknowledging them: they stay open for
    # her in the web inbox (make demo DEMO_WEB_WAIT=600).
    heading("The other rules' alerts in every inbox, acknowledging "
            "(%s's stay open for the web inbox)" % WEB_USER)
    alerts, later_rules = inbox_round(members, cohort, no_ack=(WEB_USER,))
    for cw in members:
        delivered[cw] += len(alerts[cw])
    left_open = {a.get("alert_id") for a in alerts[WEB_USER]}
    by_rule = dict(first_rules)
    for rule, n in later_rules.items():
        by_rule[rule] = by_rule.get(rule, 0) + n

    heading("Import everything again: the hub stores nothing twice")
    before = wait_applied(hub_conf)
    again_dups = 0
    for ag in cohort["agencies"]:
        paths = [os.path.join(COHORT, f["file"]) for f in ag["files"]]
        rc, again, err = import_files(ag["id"], ag["adapter"], paths,
                                      "import again")
        again_dups += again.get("duplicates", 0)
        check(again.get("queued") == 0 and again.get("accepted") == 0 and
              again.get("duplicates") == exp["events_by_agency"][ag["id"]],
              "%-16s queued %s, accepted %s, duplicates %s"
              % (ag["id"], again.get("queued"), again.get("accepted"),
                 again.get("duplicates")))
    after = wait_applied(hub_conf)
    check(after.get("log_events") == before.get("log_events")
          and after.get("alerts") == before.get("alerts"),
          "log_events %s -> %s, alerts %s -> %s (unchanged)"
          % (before.get("log_events"), after.get("log_events"),
             before.get("alerts"), after.get("alerts")))
    second = run_inboxes(members, no_ack=(WEB_USER,))
    others = [cw for cw in members if cw != WEB_USER]
    check(all(len(second[cw]) == 0 for cw in others),
          "no alert is delivered again once acknowledged (%s)"
          % ", ".join("%s %d" % (cw, len(second[cw])) for cw in others))
    again = second[WEB_USER]
    check({a.get("alert_id") for a in again} == left_open and
          len(again) == len(left_open) and
          all(a.get("delivery", 0) >= 2 for a in again),
          "%s: the %d alerts left open come again, and no other"
          % (WEB_USER, len(left_open)))

    write_report(hub_conf, cohort)
    privacy_check(hub, cohort)

    heading("Summary")
    note("%-18s %6s %9s %9s %8s" % ("agency", "rows", "accepted",
                                    "rejected", "stored"))
    for ident in exp["events_by_agency"]:
        f = figures[ident]
        note("%-18s %6d %9d %9d %8d" % (ident, f["rows"], f["accepted"],
                                        f["rejected"],
                                        by_agency.get(ident, 0)))
    rows_total = sum(f["rows"] for f in figures.values())
    acc_total = sum(f["accepted"] for f in figures.values())
    rej_total = sum(f["rejected"] for f in figures.values())
    note("%-18s %6d %9d %9d %8d" % ("total", rows_total, acc_total,
                                    rej_total, len(events)))
    note("(rejected rows: file:line and reason on stderr, the rows in "
         "FILE.rejects.csv)")
    note()
    total = sum(delivered.values())
    rows = [
        ("events stored (hubctl log)", len(events)),
        ("rejected by hub", sum(f["rejected_by_hub"] or 0
                                for f in figures.values())),
        ("re-import: duplicates, nothing stored", again_dups),
        ("alerts raised (hubctl stats)", after.get("alerts")),
    ]
    rows += [("alerts delivered to %s" % cw, delivered[cw]) for cw in members]
    rows += [("alerts delivered, total", total)]
    rows += [("  %s" % rule, n) for rule, n in sorted(by_rule.items())]
    rows += [("absence.rolling expected (cohort.json)", exp["alerts"])]
    for name, value in rows:
        note("%-40s %s" % (name, value))
    check(first_rules.get("absence.rolling", 0) == exp["alerts"],
          "absence.rolling alerts delivered %d = expected %d"
          % (first_rules.get("absence.rolling", 0), exp["alerts"]))
    check(total == after.get("alerts"),
          "every alert raised was delivered once (%d = %s)"
          % (total, after.get("alerts")))
    st = stats(hub_conf)
    check(st.get("alerts_open") == len(left_open),
          "%d alerts open, all %s's: the web inbox lists them"
          % (st.get("alerts_open", -1), WEB_USER))


REPORT = os.path.join(VAR, "status", "status.html")


def write_report(hub_conf, cohort):
    """hubctl report: the annual status, its figures against the
    generator's own counts, and no CPR in any of its files."""
    heading("The annual status (hubctl report)")
    os.makedirs(os.path.dirname(REPORT), exist_ok=True)
    hubctl("report", "--config", hub_conf, "--year", "2026", "--out", REPORT)
    tables = {}
    for name in sorted(os.listdir(os.path.dirname(REPORT))):
        m = re.match(r"status-(\w+)\.csv$", name)
        if m:
            with open(os.path.join(os.path.dirname(REPORT), name),
                      encoding="utf-8") as f:
                tables[m.group(1)] = [line.rstrip("\n").split(",")
                                      for line in f]
    check(len(tables) == 9, "%d tables written as status-*.csv"
          % len(tables))
    total = {row[0]: row for row in tables.get("readiness", [])}
    want = sum(r["assessed"] for r in cohort.get("readiness", {}).values())
    got = total.get("Total", ["", "", "", "?"])[-1]
    check(got == str(want), "readiness: %s assessed = %d in cohort.json"
          % (got, want))
    anon = {row[0]: row for row in tables.get("anonymous", [])}
    want = cohort.get("addiction", {}).get("anonymous_rows", 0)
    got = anon.get("Total", ["", "?"])[-1]
    check(got == (str(want) if want >= 5 else "<5"),
          "anonymous counselling: %s records = %d in cohort.json"
          % (got, want))
    n, hits = files_with_cprs(os.path.dirname(REPORT), all_cprs(cohort))
    check(n > 0 and not hits, "%d report files, none holds a CPR" % n)
    note("the annual status: %s (open it in a browser; print it as it is)"
         % REPORT)
    print("REPORT %s" % REPORT, flush=True)


CPR_RX = re.compile(rb"(?<![0-9])([0-9]{6})-?([0-9]{4})(?![0-9])")


def files_with_cprs(root, cprs):
    """(files read, [(file, count)]) of files under root holding any of
    the CPRs in either form, raw bytes."""
    wanted = {c.encode() for c in cprs}
    hits, n = [], 0
    for base, _, names in os.walk(root):
        for name in names:
            path = os.path.join(base, name)
            if os.path.islink(path):
                continue
            n += 1
            with open(path, "rb") as f:
                data = f.read()
            found = sum(1 for m in CPR_RX.finditer(data)
                        if m.group(1) + m.group(2) in wanted)
            if found:
                hits.append((rel(path), found))
    return n, hits


def privacy_check(hub, cohort):
    heading("No CPR number in the logs, the hub's store or the outboxes")
    cprs = all_cprs(cohort)
    texts = dict(LOGS)
    texts["hubd.log"] = hub.text()
    wanted = set(cprs)
    leaked = {}
    for name, text in texts.items():
        found = sum(1 for m in CPR_RX.finditer(text.encode())
                    if (m.group(1) + m.group(2)).decode() in wanted)
        if found:
            leaked[name] = found
    check(not leaked, "%d logs mention none of the %d CPR numbers%s"
          % (len(texts), len(cprs), (": " + json.dumps(leaked))
             if leaked else ""))
    for root in (os.path.join(VAR, "hub", "data"),
                 os.path.join(VAR, "adapters")):
        n, hits = files_with_cprs(root, cprs)
        check(n > 0 and not hits, "%s: %d files, none holds a CPR%s"
              % (rel(root), n, (": " + str(hits)) if hits else ""))


class Stopped(KeyboardInterrupt):
    """SIGTERM (kill, a make stopped, a CI timeout) or SIGHUP (the
    terminal closed) taken as Ctrl-C: hubd and webd run in sessions of
    their own, so a demo that died of the signal left them running, on
    7601/7602 and 8080, for good."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def stop_on_signal(signum, frame):
    # Once: a second signal must not cut short the stopping of hubd and
    # webd that the first one began.
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_IGN)
    if signum == signal.SIGHUP:
        # The terminal is gone: a line written to it fails (EIO), which
        # broke off the stopping after webd and left hubd running. What
        # the demo still says goes nowhere.
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.dup2(null, 2)
        os.close(null)
    raise Stopped(signum)


if __name__ == "__main__":
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, stop_on_signal)
    code = 0
    try:
        main()
    except DemoError as e:
        print("\nDEMO FAILED: %s" % e, flush=True)
        code = 1
    except KeyboardInterrupt as e:
        code = 128 + getattr(e, "signum", signal.SIGINT)
    if failures and not code:
        print("\nDEMO FAILED: %d check(s) failed:" % len(failures))
        for f in failures:
            print("  - " + f)
        code = 1
    if not code:
        print("\nDemo finished in %.1f s: all checks passed."
              % (time.monotonic() - T0))
    sys.exit(code)
