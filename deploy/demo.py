#!/usr/bin/python3
"""ungebro end-to-end demo: one school, three caseworkers, one hub.

Run by `make demo` as  UG_BUILD=build/release /usr/bin/python3 deploy/demo.py
Everything lives under ./var/demo (removed first, so the demo runs again
cleanly), the hub listens on 127.0.0.1 only, and every CPR number is made
up by deploy/gen_cohort.py. Exits non-zero if any step or check fails.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
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


class Hub:
    def __init__(self, conf, log_path):
        self.conf = conf
        self.log_path = log_path
        self.proc = None

    def start(self, timeout=15.0):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "hubd"), "--config", self.conf],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=REPO)
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


def run_inboxes(cws, timeout=60):
    """Run `inbox --json --idle_exit 2` for several caseworkers at once."""
    results = {}

    def one(cw):
        try:
            p = subprocess.run(inbox_argv(cw, True), capture_output=True,
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


def main():
    for prog in ("hubd", "hubctl", "inbox", "adapter-school"):
        if not os.access(os.path.join(BIN, prog), os.X_OK):
            raise DemoError("%s/%s is missing: run make first"
                            % (rel(BIN), prog))

    heading("A clean place: %s" % rel(VAR))
    shutil.rmtree(VAR, ignore_errors=True)
    for d in (KEYS, ETC, COHORT, os.path.join(VAR, "hub", "data")):
        os.makedirs(d, exist_ok=True)
    os.chmod(KEYS, 0o700)
    note("removed and recreated %s" % rel(VAR))

    heading("Synthetic cohort (made-up CPR numbers)")
    _, out, _ = run([PY, os.path.join(REPO, "deploy", "gen_cohort.py"),
                     "--seed", str(SEED), "--pupils", str(PUPILS_PER_GRADE),
                     "--grades", "8,9", "--weeks", "6", "--start",
                     "2026-09-07", "--schools", "1", "--school-ids", SCHOOL,
                     "--caseworkers", ",".join(CASEWORKERS), "--desk", DESK,
                     "--bad-rows", str(BAD_ROWS), "--out", COHORT],
                    "gen_cohort")
    sys.stdout.write(indent(out))
    with open(os.path.join(COHORT, "cohort.json"), encoding="utf-8") as f:
        cohort = json.load(f)
    exp = cohort["expected"]
    csv_path = os.path.join(COHORT, cohort["files"][0]["file"])
    note("%d pupils in grades 8 and 9, %d weekly reports (Mon-Fri, 30 lessons)"
         % (len(cohort["pupils"]), exp["events"]))
    note("%d pupils with high absence; %d expected to cross %d %% over %d "
         "school days" % (exp["pupils_high_absence"], exp["pupils_crossing"],
                          cohort["rule"]["threshold_pct"],
                          cohort["rule"]["window_days"]))

    heading("Keys (hubctl keygen)")
    for ident in ["hub", SCHOOL] + CASEWORKERS + [DESK_MEMBER]:
        hubctl("keygen", "--keys_dir", KEYS, ident)
    check(all(os.path.exists(os.path.join(KEYS, i + ".key_secret"))
              and (os.stat(os.path.join(KEYS, i + ".key_secret")).st_mode
                   & 0o077) == 0
              for i in ["hub", SCHOOL] + CASEWORKERS + [DESK_MEMBER]),
          "secret key files exist with mode 0600")
    rc, _, _ = run([os.path.join(BIN, "hubctl"), "keygen", "--keys_dir", KEYS,
                    "hub"], "hubctl keygen (again)", ok_codes=(1,),
                   show=False)
    check(rc == 1, "keygen refuses to overwrite an existing key (exit 1)")

    heading("Configuration")
    ingest_port, delivery_port = 7601, 7602
    if not (port_free(ingest_port) and port_free(delivery_port)):
        ingest_port, delivery_port = free_port(), free_port()
        note("7601/7602 are busy here: using %d/%d"
             % (ingest_port, delivery_port))
    ingest = "tcp://127.0.0.1:%d" % ingest_port
    delivery = "tcp://127.0.0.1:%d" % delivery_port
    hub_conf = os.path.join(ETC, "hubd.conf")
    write_conf(hub_conf, [
        ("data_dir", os.path.join(VAR, "hub", "data")),
        ("keys_dir", KEYS),
        ("ingest", ingest),
        ("delivery", delivery),
        ("log_level", "info"),
        ("log_map_mb", "1024"),
        ("derived_map_mb", "512"),
        ("absence_threshold_pct", str(cohort["rule"]["threshold_pct"])),
        ("absence_window_days", str(cohort["rule"]["window_days"])),
    ])
    school_conf = os.path.join(ETC, "%s.conf" % SCHOOL)
    write_conf(school_conf, [
        ("agency", SCHOOL),
        ("keys_dir", KEYS),
        ("hub", ingest),
        ("outbox", os.path.join(VAR, "adapters", SCHOOL, "outbox")),
        ("timeout", "30"),
    ])
    for cw in CASEWORKERS + [DESK_MEMBER]:
        write_conf(os.path.join(ETC, "inbox-%s.conf" % cw), [
            ("caseworker", cw), ("keys_dir", KEYS), ("delivery", delivery)])
    for name in sorted(os.listdir(ETC)):
        note(rel(os.path.join(ETC, name)))
    with open(hub_conf, encoding="utf-8") as f:
        sys.stdout.write(indent(f.read()))

    heading("Register the school and the caseworkers (hubctl)")
    hubctl("register-agency", "--config", hub_conf, SCHOOL,
           "--types", "absence")
    for cw in CASEWORKERS:
        hubctl("register-caseworker", "--config", hub_conf, cw)
    hubctl("register-caseworker", "--config", hub_conf, DESK_MEMBER, "--desk")

    heading("Start hubd")
    hub = Hub(hub_conf, os.path.join(VAR, "hubd.log"))
    t = time.monotonic()
    hub.start()
    note("hubd pid %d logged HUB-READY after %.2f s (log: %s)"
         % (hub.proc.pid, time.monotonic() - t, rel(hub.log_path)))
    try:
        demo_with_hub(hub, hub_conf, school_conf, cohort, csv_path)
    finally:
        if hub.proc.poll() is None:
            heading("Stop hubd (SIGTERM)")
            rc = hub.stop()
            check(rc == 0, "hubd exited with code %s" % rc)
            check("HUB-STOP" in hub.text(), "hubd logged HUB-STOP")
        else:
            check(False, "hubd was still running at the end (exit code %s)"
                  % hub.proc.returncode)
            sys.stdout.write(indent(hub.tail()))


def demo_with_hub(hub, hub_conf, school_conf, cohort, csv_path):
    exp = cohort["expected"]
    heading("Contact persons (hubctl assign --file)")
    hubctl("assign", "--config", hub_conf, "--file",
           os.path.join(COHORT, "assignments.csv"))
    st = stats(hub_conf)
    note("assignments rows %d (%d pupils with a contact person; the other "
         "%d go to %s)" % (cohort["assignments"]["rows"],
                           cohort["assignments"]["pupils_with_contact"],
                           len(cohort["pupils"])
                           - cohort["assignments"]["pupils_with_contact"],
                           DESK))
    persons = cohort["assignments"]["persons"]
    check(st.get("assignments") == persons,
          "hubctl stats: assignments %s = %d persons (some have a handover: "
          "two rows)" % (st.get("assignments"), persons))

    heading("School import (adapter-school)")
    log_before = stats(hub_conf).get("log_events", 0)
    t = time.monotonic()
    rc, out, err = run([os.path.join(BIN, "adapter-school"), "--config",
                        school_conf, "--json", "import", csv_path],
                       "adapter-school import", ok_codes=(0, 1), timeout=120)
    import_s = time.monotonic() - t
    LOGS["adapter-school stderr"] = err
    summary = last_json(out)
    note("took %.2f s, exit code %d" % (import_s, rc))
    note("adapter-school stderr (the rejected rows, and its log lines):")
    sys.stdout.write(indent(err))
    note("summary: " + json.dumps(summary))
    check(rc == (1 if exp["rejected_rows"] else 0),
          "exit code %d (1 = delivered, some rows rejected)" % rc)
    check(summary.get("rows") == exp["events"] + exp["rejected_rows"],
          "rows read %s = %d" % (summary.get("rows"),
                                 exp["events"] + exp["rejected_rows"]))
    check(summary.get("rejected_rows") == exp["rejected_rows"],
          "rejected rows %s = %d" % (summary.get("rejected_rows"),
                                     exp["rejected_rows"]))
    check(summary.get("accepted") == exp["events"],
          "accepted %s = %d" % (summary.get("accepted"), exp["events"]))
    check(summary.get("pending") == 0, "nothing pending in the outbox")
    expected_lines = sorted(b["line"] for b in cohort["files"][0]["bad_rows"])
    seen_lines = sorted(int(m) for m in re.findall(r":(\d+): column", err))
    check(seen_lines == expected_lines,
          "rejected lines %s are the bad rows the generator wrote %s"
          % (seen_lines, expected_lines))
    rejects = csv_path + ".rejects.csv"
    if os.path.exists(rejects):
        with open(rejects, encoding="utf-8") as f:
            n = sum(1 for line in f if line.strip()) - 1
        check(n == exp["rejected_rows"], "%s holds %d rejected rows"
              % (rel(rejects), n))
    else:
        check(False, "rejects file %s exists" % rel(rejects))

    heading("Alerts raised by the hub")
    deadline = time.monotonic() + 20
    while True:
        st = stats(hub_conf)
        if st.get("alerts") == exp["alerts"] or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    note("hubctl stats: " + json.dumps(st))
    added = st.get("log_events", 0) - log_before
    check(added == exp["events"],
          "events added to the hub's log %d = %d" % (added, exp["events"]))
    check(st.get("alerts") == exp["alerts"],
          "alerts raised %s = %d expected by cohort.json"
          % (st.get("alerts"), exp["alerts"]))

    heading("cw-anna's inbox, as she sees it (inbox, not acknowledged)")
    _, out, err = run(inbox_argv("cw-anna", False, ["--no_ack"]),
                      "inbox cw-anna", timeout=60)
    lines = out.rstrip("\n").split("\n") if out.strip() else []
    sys.stdout.write(indent("\n".join(lines[:SHOW_LINES])))
    if len(lines) > SHOW_LINES:
        note("... %d more lines" % (len(lines) - SHOW_LINES))
    LOGS["inbox cw-anna (human) stderr"] = err
    anna_cprs = {p["cpr"] for p in cohort["pupils"]
                 if p["contact"] == "cw-anna" and p["alerts"]}
    others = {p["cpr"] for p in cohort["pupils"]} - anna_cprs
    blocks = sum(1 for line in lines if line.startswith("==="))
    shown = {c for c in anna_cprs if c in out or
             (c[:6] + "-" + c[6:]) in out}
    leaked = {c for c in others if c in out or
              (c[:6] + "-" + c[6:]) in out}
    # The inbox asks for a window of unacknowledged alerts, so without
    # acks it may show fewer than all of them.
    check(blocks > 0 and len(shown) == min(blocks, len(anna_cprs)),
          "cw-anna sees %d alerts, about %d of her %d pupils who crossed"
          % (blocks, len(shown), len(anna_cprs)))
    check(not leaked, "cw-anna sees no pupil of another caseworker or the "
          "desk (%d seen)" % len(leaked))

    heading("Every inbox, JSON, acknowledging (inbox --json)")
    members = CASEWORKERS + [DESK_MEMBER]
    alerts = run_inboxes(members)
    delivered = {}
    for cw in members:
        got = alerts[cw]
        rcpt = DESK if cw == DESK_MEMBER else cw
        want = exp["by_recipient"].get(rcpt, 0)
        delivered[cw] = len(got)
        want_cprs = sorted(p["cpr"] for p in cohort["pupils"]
                           for _ in p["alerts"]
                           if (p["contact"] or DESK) == rcpt)
        got_cprs = sorted(a.get("cpr", "") for a in got)
        check(len(got) == want and got_cprs == want_cprs,
              "%-8s received %d alerts for %s, expected %d (same pupils: %s)"
              % (cw, len(got), rcpt, want,
                 "yes" if got_cprs == want_cprs else "NO"))
        check(all(a.get("recipient") == rcpt and
                  a.get("rule") == "absence.rolling" for a in got),
              "%-8s every alert is absence.rolling addressed to %s"
              % (cw, rcpt))
        if cw == "cw-anna" and got:
            check(all(a.get("delivery", 0) >= 2 for a in got),
                  "cw-anna's alerts came again (delivery >= 2): the unacked "
                  "ones from step 10 were redelivered")
    sample = next((a for cw in members for a in alerts[cw]), None)
    if sample:
        note("one alert as JSON (%s):" % sample.get("recipient"))
        sys.stdout.write(indent(json.dumps(sample, indent=1,
                                           ensure_ascii=False)))

    heading("Import again: the hub stores nothing twice")
    before = stats(hub_conf)
    rc, out, err = run([os.path.join(BIN, "adapter-school"), "--config",
                        school_conf, "--json", "import", csv_path],
                       "adapter-school import (again)", ok_codes=(0, 1),
                       timeout=120)
    LOGS["adapter-school stderr (again)"] = err
    again = last_json(out)
    note("summary: " + json.dumps(again))
    after = stats(hub_conf)
    check(after.get("log_events") == before.get("log_events")
          and after.get("alerts") == before.get("alerts"),
          "log_events %s -> %s, alerts %s -> %s (unchanged)"
          % (before.get("log_events"), after.get("log_events"),
             before.get("alerts"), after.get("alerts")))
    second = run_inboxes(members)
    check(all(len(second[cw]) == 0 for cw in members),
          "no alert is delivered again once acknowledged (%s)"
          % ", ".join("%s %d" % (cw, len(second[cw])) for cw in members))

    privacy_check(hub, cohort)

    heading("Summary")
    total = sum(delivered.values())
    rows = [
        ("rows read", summary.get("rows")),
        ("events sent (queued)", summary.get("queued", summary.get("events"))),
        ("accepted", summary.get("accepted")),
        ("duplicates", summary.get("duplicates")),
        ("rejected rows", summary.get("rejected_rows")),
        ("rejected by hub", summary.get("rejected_by_hub")),
        ("alerts raised (hubctl stats)", after.get("alerts")),
    ]
    rows += [("alerts delivered to %s" % cw, delivered[cw]) for cw in members]
    rows += [("alerts delivered, total", total),
             ("alerts expected (cohort.json)", exp["alerts"])]
    for name, value in rows:
        note("%-34s %s" % (name, value))
    check(total == exp["alerts"], "delivered %d = expected %d"
          % (total, exp["alerts"]))


def privacy_check(hub, cohort):
    heading("No CPR number in the logs")
    cprs = [p["cpr"] for p in cohort["pupils"]]
    texts = dict(LOGS)
    texts["hubd.log"] = hub.text()
    for name, text in sorted(texts.items()):
        found = sum(1 for c in cprs
                    if c in text or (c[:6] + "-" + c[6:]) in text)
        check(found == 0, "%s mentions none of the %d CPR numbers (%d found)"
              % (name, len(cprs), found))


if __name__ == "__main__":
    code = 0
    try:
        main()
    except DemoError as e:
        print("\nDEMO FAILED: %s" % e, flush=True)
        code = 1
    except KeyboardInterrupt:
        code = 130
    if failures and not code:
        print("\nDEMO FAILED: %d check(s) failed:" % len(failures))
        for f in failures:
            print("  - " + f)
        code = 1
    if not code:
        print("\nDemo finished in %.1f s: all checks passed."
              % (time.monotonic() - T0))
    sys.exit(code)
