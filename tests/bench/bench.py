#!/usr/bin/python3
"""ungebro bench: the hub's durable, acknowledged message path side by side
with Redis Streams (appendonly yes, appendfsync always) on this machine.

Run by `make bench` as  UG_BUILD=$(BUILD) /usr/bin/python3 tests/bench/bench.py

Everything runs on 127.0.0.1 under ./var/bench (removed first):

 1. Setup: keys, hubd.conf, agency school-bench-1 (type absence) and
    caseworker cw-bench; hubd is started and must print HUB-READY (with
    UG_LOG_LEVEL, JOURNAL_STREAM and NOTIFY_SOCKET cleared from the
    environment of every program the bench runs). Debian's
    redis-server is started with its own directory var/bench/redis:
      redis-server --port PORT --bind 127.0.0.1 --appendonly yes
                   --appendfsync always --save '' --dir DIR --daemonize no
    and must answer `redis-cli -p PORT ping`.
 2. Fresh store (empty at the start; the matrix itself adds its events):
    a. Matrix: for window W in 1, 10, 100, 1000, three rounds, each round
       one hub run then one Redis run:
         hub    $BUILD/bench/ug-loadgen --connections 1 --window W
                --events N --size 300, a new --tag and --phase (new pupils)
                per run; 50 of its pupils cross the absence threshold once
                (--alert-pupils 50, about 20 weekly reports per pupil) and
                are assigned to cw-bench beforehand (hubctl assign --file),
                and ug-loadgen, as cw-bench on the delivery endpoint
                (--delivery), times event-to-alert.
         Redis  redis-benchmark -p PORT -c 1 -P W -n N --csv
                XADD benchstream '*' f <300 random letters and digits>
       Window is events in flight on the one connection (hub: a sliding
       window; Redis: the pipeline depth). N is sized from a short warm-up
       run per window and system on the same store (and then from the
       previous round) so that a run lasts about 4 s. Per window the
       median of the rounds is reported: events/s, send-to-ack p50/p99
       (Redis: its p50/p99 latency), the ratio of hub to Redis events/s,
       and the hub's event-to-alert p50/p99.
    b. Concurrency, hub only: window 100 with 1, 8 and 64 connections
       (ug-loadgen --connections C --window 100, about 4 s each; 50 alert
       pupils too, on connection 0: each connection sends about 1/C of
       the events, so some of them may not get the third weekly report
       that makes them cross, and ug-loadgen's alerts_expected counts
       only those that did).
 3. Pre-fill the hub's store to BENCH_PREFILL events (default 5,000,000):
    ug-loadgen --connections 4 --window 1000 --seconds 30 --events (large)
    repeated, each with new pupils (about 5 weekly reports each, so 5 M
    events are about 1 M persons), until `hubctl stats --json` log_events
    reaches the target or BENCH_PREFILL_SECONDS (default 900) have passed;
    a progress line per run. Redis keeps its stream as it is (its length
    is printed).
 4. Populated store: 2a and 2b again.
 5. hubd is stopped (SIGTERM; its exit code is shown), then redis-server
    (SIGTERM to its PID). Printed: a table per store, the concurrency runs,
    the store's growth (log_events and size on disk at each step), and
    hubd's peak RSS per step: VmHWM and the highest RssAnon (heap, stacks)
    and RssFile (mapped files: LMDB pages) sampled from /proc/PID/status
    every 0.2 s. Everything goes to var/bench/results.json (its fields:
    docs/PERFORMANCE.md, "var/bench/results.json"; "ok" says whether the
    run passed).

BENCH_QUICK=1 (any value but empty or 0; or --quick): the same steps with one round, ~1 s runs and a
200,000-event pre-fill, for trying the bench itself. BENCH_KEEP=1 keeps
the hub's store and Redis's files (removed after a successful run).
One bench at a time per checkout: a second one, while var/bench.lock is
held, stops at once (exit 1) and leaves var/bench alone.
Exit 1 when a run fails, events are rejected or acked DUPLICATE (every
run sends new ids), alerts are missing, hubd logged errors or did not
exit 0 on SIGTERM. Ctrl-C, SIGTERM or SIGHUP stops the client of the moment,
hubd and redis-server and exits 1. A SIGKILL to bench.py stops hubd and
redis-server too (PR_SET_PDEATHSIG). Speed is printed, never asserted.
--help prints this text and starts nothing; any other argument but
--quick ends the bench before it starts (exit 1).
Every CPR is synthetic.
"""

import csv
import ctypes
import fcntl
import json
import os
import random
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(REPO, os.environ.get("UG_BUILD", "build/release"))
BIN = os.path.join(BUILD, "bin")
LOADGEN = os.path.join(BUILD, "bench", "ug-loadgen")
CW = "cw-bench"
AGENCY = "school-bench-1"


def env_number(name, default, convert, what):
    """A setting from the environment; a typo ends the run before it
    starts anything rather than in a traceback."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = convert(text)
    except ValueError:
        value = -1
    # inf (and nan) would mean no budget, and json.dump writes them as
    # Infinity and NaN, which no JSON reader of results.json takes.
    if not 0 <= value < float("inf"):
        print("BENCH FAILED: %s must be %s, not '%s'" % (name, what, text),
              flush=True)
        sys.exit(1)
    return value


# An argument it does not know (a typo of --quick, a --help) must not
# start the full bench, which empties var/bench and loads the machine for
# a quarter of an hour. (Run only: a test that imports this module has
# arguments of its own.)
if __name__ == "__main__" and {"-h", "--help"} & set(sys.argv[1:]):
    print(__doc__.strip())
    sys.exit(0)
for arg in sys.argv[1:] if __name__ == "__main__" else ():
    if arg != "--quick":
        print("BENCH FAILED: unknown argument '%s' (bench.py takes --quick "
              "and --help)" % arg, flush=True)
        sys.exit(1)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0") or \
    "--quick" in sys.argv[1:]
PREFILL = env_number("BENCH_PREFILL", 200000 if QUICK else 5000000, int,
                     "a whole number of events (0 or more)")
PREFILL_SECONDS = env_number("BENCH_PREFILL_SECONDS", 900.0, float,
                             "a number of seconds (0 or more)")
KEEP = os.environ.get("BENCH_KEEP", "") not in ("", "0")

WINDOWS = (1, 10, 100, 1000)
ROUNDS = 1 if QUICK else 3
RUN_S = 1.0 if QUICK else 4.0      # target length of one measured run
PROBE_S = 0.5 if QUICK else 1.0    # warm-up run that sizes the next ones
CONNECTIONS = (1, 8, 64)
CONC_WINDOW = 100
ALERT_PUPILS = 50
WEEKS = 20                         # weekly reports per pupil in a run
SIZE = 300                         # bytes per hub frame / Redis value
PREFILL_CONNS = 4
PREFILL_WINDOW = 1000
PREFILL_CHUNK_S = 10 if QUICK else 30
PREFILL_WEEKS = 5
# First guesses (events/s) for the Redis warm-up runs' sizes.
REDIS_GUESS = {1: 4000, 10: 25000, 100: 100000, 1000: 120000}
CPR_SPACE = 730 * 6000             # distinct CPRs ug-loadgen can make
# Redis's field value: SIZE letters and digits, fixed but not one repeated
# byte (an AOF rewrite's RDB compresses a run like "vvv...").
VALUE = "".join(random.Random(12).choice(string.ascii_letters +
                                         string.digits) for _ in range(SIZE))


def log(text=""):
    print(text, flush=True)


class BenchError(Exception):
    pass


# Ctrl-C, kill and a closed terminal end the run through main's finally,
# which stops hubd and redis-server; Python's default for SIGTERM and
# SIGHUP would exit at once and leave both running.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def interrupted(signum, frame):
    raise BenchError("interrupted by %s; hubd and redis-server stopped, "
                     "var/bench left as it was" % signal.Signals(signum).name)


BENCH_PID = os.getpid()
# Loaded here: between fork and exec the child should only call it.
LIBC = ctypes.CDLL(None, use_errno=True)


def die_with_bench():
    """Run in a server's child before its exec: SIGTERM it when bench.py
    dies. A SIGKILL (a timeout's, the OOM killer's) skips main's finally,
    and a hubd or redis-server left behind holds its port and the store
    the next bench removes."""
    LIBC.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    # bench.py died before the prctl: stop now.
    if os.getppid() != BENCH_PID:
        os.kill(os.getpid(), signal.SIGTERM)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(argv, what, ok=(0,), timeout=120):
    try:
        p = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout, cwd=REPO)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: timed out" % what)
    if p.returncode not in ok:
        raise BenchError("%s: exit %d\n%s%s" % (what, p.returncode,
                                                 p.stdout[-2000:],
                                                 p.stderr[-2000:]))
    return p


def write_conf(path, pairs):
    with open(path, "w", encoding="utf-8") as f:
        for k, v in pairs:
            f.write("%s = %s\n" % (k, v))


def proc_status(pid):
    """VmHWM, VmRSS, RssAnon, RssFile of a process, in kB."""
    vals = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                    vals[k] = int(v.split()[0])
    except OSError:
        pass
    return vals


def cpu_s(pid):
    """A process's user + system CPU seconds so far."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def dir_bytes(path):
    used = 0
    for d, _, files in os.walk(path):
        for name in files:
            try:
                used += os.stat(os.path.join(d, name)).st_blocks * 512
            except OSError:
                pass
    return used


def stop_server(proc, logf, grace):
    """SIGTERM a server the bench started, wait `grace` seconds, then
    SIGKILL; close its log. Its exit code, None if it had to be killed
    (or never started)."""
    code = None
    if proc:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        else:
            code = proc.returncode
    if logf:
        logf.close()
    return code


class Env:
    """The hub: keys, config, registrations, the hubd process."""

    def __init__(self, root):
        self.root = root
        self.keys = os.path.join(root, "keys")
        self.etc = os.path.join(root, "etc")
        self.data = os.path.join(root, "hub", "data")
        self.work = os.path.join(root, "work")
        self.ingest = "tcp://127.0.0.1:%d" % free_port()
        self.delivery = "tcp://127.0.0.1:%d" % free_port()
        self.conf = os.path.join(self.etc, "hubd.conf")
        self.log_path = os.path.join(root, "hubd.log")
        self.proc = self.logf = None

    def setup(self):
        shutil.rmtree(self.root, ignore_errors=True)
        for d in (self.keys, self.etc, self.data, self.work):
            os.makedirs(d)
        hubctl = os.path.join(BIN, "hubctl")
        for ident in ("hub", CW, AGENCY):
            run([hubctl, "keygen", "--keys_dir", self.keys, ident], "keygen")
        write_conf(self.conf, [
            ("data_dir", self.data), ("keys_dir", self.keys),
            ("ingest", self.ingest), ("delivery", self.delivery),
            ("log_level", "info")])
        run([hubctl, "register-agency", "--config", self.conf, AGENCY,
             "--types", "absence"], "register-agency")
        run([hubctl, "register-caseworker", "--config", self.conf, CW],
            "register-caseworker")

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "hubd"), "--config",
                                      self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=REPO,
                                     preexec_fn=die_with_bench)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                if "HUB-READY" in f.read():
                    return
            if self.proc.poll() is not None:
                raise BenchError("hubd exited %d before HUB-READY"
                                 % self.proc.returncode)
            time.sleep(0.05)
        raise BenchError("hubd: no HUB-READY within 30 s")

    def stop(self):
        return stop_server(self.proc, self.logf, 60)

    def stats(self):
        p = run([os.path.join(BIN, "hubctl"), "stats", "--config", self.conf,
                 "--json"], "hubctl stats", timeout=60)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def store_point(self, step):
        """log_events and size on disk now: one point of the growth."""
        st = self.stats()
        return {"step": step, "log_events": st.get("log_events", 0),
                "disk_mb": dir_bytes(self.data) / 1e6, "stats": st}


class Redis:
    """Debian's redis-server, durable: AOF with an fsync per write."""

    def __init__(self, root):
        self.dir = os.path.join(root, "redis")
        self.port = free_port()
        self.log_path = os.path.join(root, "redis.log")
        self.proc = self.logf = None

    def start(self):
        os.makedirs(self.dir)
        self.logf = open(self.log_path, "ab")
        self.argv = ["redis-server", "--port", str(self.port), "--bind",
                     "127.0.0.1", "--appendonly", "yes", "--appendfsync",
                     "always", "--save", "", "--dir", self.dir,
                     "--daemonize", "no"]
        self.proc = subprocess.Popen(self.argv, stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=self.dir,
                                     preexec_fn=die_with_bench)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("redis-server exited %d at start (see %s)"
                                 % (self.proc.returncode, self.log_path))
            p = subprocess.run(["redis-cli", "-p", str(self.port), "ping"],
                               capture_output=True, text=True)
            if p.stdout.strip() == "PONG":
                return
            time.sleep(0.1)
        raise BenchError("redis-server: no PONG within 20 s")

    def stop(self):
        return stop_server(self.proc, self.logf, 30)

    def version(self):
        return run(["redis-server", "--version"], "redis-server "
                   "--version").stdout.strip()

    def stream(self):
        p = run(["redis-cli", "-p", str(self.port), "xlen", "benchstream"],
                "redis-cli xlen")
        return {"xlen": int(p.stdout.strip() or 0),
                "disk_mb": dir_bytes(self.dir) / 1e6}

    def bench(self, window, n):
        argv = ["redis-benchmark", "-p", str(self.port), "-c", "1", "-P",
                str(window), "-n", str(n), "--csv", "XADD", "benchstream",
                "*", "f", VALUE]
        c0 = cpu_s(self.proc.pid)
        p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                           timeout=600)
        cpu = cpu_s(self.proc.pid) - c0
        rows = list(csv.reader(p.stdout.strip().splitlines()))
        # Debian 12's redis-benchmark 7.0 prints a header row ("test",
        # "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms",
        # "p95_latency_ms", "p99_latency_ms", "max_latency_ms"), then one.
        if p.returncode != 0 or len(rows) < 2 or "rps" not in rows[0]:
            raise BenchError("redis-benchmark: exit %d\n%s%s"
                             % (p.returncode, p.stdout[-1000:],
                                p.stderr[-1000:]))
        row = dict(zip(rows[0], rows[-1]))
        rate = float(row["rps"])
        return {"window": window, "events": n, "rate": rate,
                "seconds": n / rate if rate else None,
                "p50_ms": float(row["p50_latency_ms"]),
                "p99_ms": float(row["p99_latency_ms"]),
                "avg_ms": float(row["avg_latency_ms"]),
                "max_ms": float(row["max_latency_ms"]),
                "cpu_pct": 100.0 * cpu * rate / n if n else None}


class Sampler(threading.Thread):
    """hubd's /proc status every 0.2 s; the highest value per step."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid = pid
        self.step = "setup"
        self.peaks = {}
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            st = proc_status(self.pid)
            pk = self.peaks.setdefault(self.step, {})
            for k, v in st.items():
                pk[k] = max(pk.get(k, 0), v)
            self.halt.wait(0.2)


class Bench:
    def __init__(self, env, redis):
        self.env, self.redis = env, redis
        self.tag = 0
        self.next_g = 0      # first unused pupil slot (CPR) of ug-loadgen
        self.failures = []

    def pupils_phase(self, pupils, conns):
        """A --phase whose pupils no earlier run used (ug-loadgen's pupil
        (phase, k, c) is CPR number (phase * pupils + k) * conns + c)."""
        span = pupils * conns
        phase = -(-self.next_g // span)
        self.next_g = (phase + 1) * span
        if self.next_g > CPR_SPACE:
            raise BenchError("out of distinct synthetic CPRs")
        return phase

    def loadgen_argv(self, window, events, conns, pupils, phase, start):
        self.tag += 1
        k = self.env.keys
        return [LOADGEN, "--endpoint", self.env.ingest, "--server-key",
                os.path.join(k, "hub.key"), "--key",
                os.path.join(k, AGENCY + ".key_secret"), "--window",
                str(window), "--connections", str(conns), "--events",
                str(events), "--size", str(SIZE), "--tag", str(self.tag),
                "--phase", str(phase), "--pupils", str(pupils), "--start",
                start]

    def assign_alert_pupils(self, argv, alerts):
        """Have ug-loadgen write the alert pupils' CPRs (--alert-cprs-only:
        the same options, nothing sent), then assign them to cw-bench."""
        cprs = os.path.join(self.env.work, "alert-cprs-%d.txt" % self.tag)
        subprocess.run(list(argv) + ["--alert-pupils", str(alerts),
                                     "--alert-cprs", cprs,
                                     "--alert-cprs-only"],
                       capture_output=True, cwd=REPO, timeout=30)
        try:
            with open(cprs, encoding="utf-8") as f:
                lines = [x.strip() for x in f if x.strip()]
        except OSError:
            lines = []
        if len(lines) != alerts:
            raise BenchError("ug-loadgen --alert-cprs wrote %d of %d CPRs"
                             % (len(lines), alerts))
        path = cprs + ".csv"
        with open(path, "w", encoding="utf-8") as f:
            f.write("cpr;caseworker;from;to;role\n")
            for cpr in lines:
                f.write("%s;%s;2020-01-01;;contact\n" % (cpr, CW))
        run([os.path.join(BIN, "hubctl"), "assign", "--config",
             self.env.conf, "--file", path], "hubctl assign")

    def hub_run(self, window, events, conns=1, alerts=ALERT_PUPILS,
                seconds=None, pupils=None, start="2025-01-06"):
        """One ug-loadgen run; its JSON plus what the bench adds."""
        per_conn = events // conns
        if pupils is None:
            pupils = max(alerts + 1, per_conn // WEEKS)
            if alerts and per_conn < 3 * pupils:
                alerts = 0
        phase = self.pupils_phase(pupils, conns)
        argv = self.loadgen_argv(window, events, conns, pupils, phase, start)
        if seconds:
            argv += ["--seconds", "%g" % seconds]
        if alerts:
            self.assign_alert_pupils(argv, alerts)
            k = self.env.keys
            argv += ["--alert-pupils", str(alerts), "--delivery",
                     self.env.delivery, "--caseworker-key",
                     os.path.join(k, CW + ".key_secret")]
        before = self.env.stats().get("log_events", 0)
        c0 = cpu_s(self.env.proc.pid)
        p = subprocess.run(argv, capture_output=True, text=True, cwd=REPO,
                           timeout=(seconds or 0) + 600)
        cpu = cpu_s(self.env.proc.pid) - c0
        lines = [x for x in p.stdout.splitlines() if x.startswith("{")]
        if not lines:
            raise BenchError("ug-loadgen: exit %d, no JSON\n%s"
                             % (p.returncode, p.stderr[-2000:].rstrip()))
        r = json.loads(lines[-1])
        r.update({"exit": p.returncode, "tag": self.tag, "phase": phase,
                  "pupils": pupils, "store_events_before": before,
                  "hub_cpu_pct": 100.0 * cpu / r["seconds"]
                  if r.get("seconds") else None,
                  "argv": " ".join(os.path.relpath(a, REPO) if
                                   a.startswith(REPO) else a
                                   for a in argv)})
        if not alerts:
            r["e2a_p50_ms"] = r["e2a_p99_ms"] = None
        # Every run sends new ids: a DUPLICATE would mean the hub stored
        # less than it acked as new, and would flatter the rate.
        if p.returncode != 0 or r.get("rejected") or r.get("duplicate"):
            self.failures.append("ug-loadgen tag %d: exit %d, %s rejected "
                                 "(%s), %s duplicate %s"
                                 % (self.tag, p.returncode,
                                    r.get("rejected"),
                                    r.get("reject_reason"),
                                    r.get("duplicate"),
                                    p.stderr.strip()[-300:]))
        # alerts_expected counts only the alert pupils whose crossing
        # report was sent, so runs of several connections are checked too.
        if r.get("alerts_seen", 0) < r.get("alerts_expected", 0):
            self.failures.append("ug-loadgen tag %d: %d of %d alerts"
                                 % (self.tag, r["alerts_seen"],
                                    r["alerts_expected"]))
        return r

    def matrix(self, label):
        out = {}
        for w in WINDOWS:
            # Warm-up runs size the measured ones (and are not counted).
            hp = self.hub_run(w, 100000, alerts=0, seconds=PROBE_S,
                              pupils=1000)
            rp = self.redis.bench(w, size_n(REDIS_GUESS[w] * PROBE_S, w))
            est = {"hub": hp["rate"], "redis": rp["rate"]}
            runs = {"hub": [], "redis": []}
            for rnd in range(ROUNDS):
                n = size_n(est["hub"] * RUN_S, w)
                h = self.hub_run(w, max(n, 3 * (ALERT_PUPILS + 1)))
                est["hub"] = h["rate"] or est["hub"]
                runs["hub"].append(h)
                time.sleep(0.3)
                r = self.redis.bench(w, size_n(est["redis"] * RUN_S, w))
                est["redis"] = r["rate"]
                runs["redis"].append(r)
                log("   %s w=%-4d round %d: hub %8s/s p50 %s p99 %s ms, "
                    "alert p50 %s p99 %s ms (%d/%d) | Redis %8s/s p50 %s "
                    "p99 %s ms" % (label, w, rnd + 1, fr(h["rate"]),
                                   fm(h["p50_ms"]), fm(h["p99_ms"]),
                                   fm(h["e2a_p50_ms"]), fm(h["e2a_p99_ms"]),
                                   h.get("alerts_seen", 0),
                                   h.get("alerts_expected", 0),
                                   fr(r["rate"]), fm(r["p50_ms"]),
                                   fm(r["p99_ms"])))
                time.sleep(0.3)
            out[w] = {"hub": runs["hub"], "redis": runs["redis"],
                      "warmup": {"hub": hp, "redis": rp},
                      "median": summarize(runs)}
        return out

    def concurrency(self, label, est):
        out = {}
        for c in CONNECTIONS:
            n = size_n(est * RUN_S, CONC_WINDOW * c)
            r = self.hub_run(CONC_WINDOW, max(n, c * 3 * (ALERT_PUPILS + 1)),
                             conns=c)
            est = r["rate"] or est
            out[c] = r
            log("   %s %2d connections x window %d: hub %8s/s p50 %s p99 %s "
                "ms, alert p50 %s p99 %s ms" % (label, c, CONC_WINDOW,
                                                fr(r["rate"]),
                                                fm(r["p50_ms"]),
                                                fm(r["p99_ms"]),
                                                fm(r["e2a_p50_ms"]),
                                                fm(r["e2a_p99_ms"])))
            time.sleep(0.3)
        return out

    def prefill(self, target, budget, est):
        """ug-loadgen runs of PREFILL_CHUNK_S until the store holds target
        events or budget seconds pass."""
        t0 = time.monotonic()
        have = self.env.stats().get("log_events", 0)
        start_have, runs, persons = have, [], 0
        while have < target:
            left = budget - (time.monotonic() - t0)
            if left < 2:
                break
            secs = min(PREFILL_CHUNK_S, left)
            need = target - have
            events = min(need, int(max(est, 1000) * secs * 2) + 1000)
            # About PREFILL_WEEKS reports per person at the expected rate.
            pupils = max(100, int(min(need, est * secs) /
                                  (PREFILL_CONNS * PREFILL_WEEKS)))
            r = self.hub_run(PREFILL_WINDOW, events, conns=PREFILL_CONNS,
                             alerts=0, seconds=secs, pupils=pupils,
                             start="2019-01-07")
            est = r["rate"] or est
            persons += min(r["acked"], pupils * PREFILL_CONNS)
            have = self.env.stats().get("log_events", 0)
            el = time.monotonic() - t0
            runs.append({k: r[k] for k in ("acked", "seconds", "rate",
                                           "p50_ms", "p99_ms", "exit",
                                           "pupils", "argv")})
            log("   pre-fill: %11s events in the store (%5.1f %%), %4.0f s, "
                "last run %s/s p99 %s ms" % (fr(have), 100.0 * have / target,
                                             el, fr(r["rate"]),
                                             fm(r["p99_ms"])))
        wall = time.monotonic() - t0
        return {"target": target, "budget_s": budget, "reached": have,
                "added": have - start_have, "wall_s": wall,
                "rate": (have - start_have) / wall if wall else 0,
                "persons_added": persons, "runs": runs,
                "complete": have >= target}


def size_n(events, window):
    """An event count near `events`, a multiple of the window, >= 2 windows."""
    n = max(2 * window, int(events))
    return -(-n // window) * window


def summarize(runs):
    def med(xs):
        xs = [x for x in xs if x is not None and x >= 0]
        return statistics.median(xs) if xs else None
    h, r = runs["hub"], runs["redis"]
    m = {"hub_rate": med([x["rate"] for x in h]),
         "hub_p50_ms": med([x["p50_ms"] for x in h]),
         "hub_p99_ms": med([x["p99_ms"] for x in h]),
         "e2a_p50_ms": med([x["e2a_p50_ms"] for x in h]),
         "e2a_p99_ms": med([x["e2a_p99_ms"] for x in h]),
         "hub_cpu_pct": med([x["hub_cpu_pct"] for x in h]),
         "alerts": "%d/%d" % (sum(x.get("alerts_seen", 0) for x in h),
                              sum(x.get("alerts_expected", 0) for x in h)),
         "redis_rate": med([x["rate"] for x in r]),
         "redis_p50_ms": med([x["p50_ms"] for x in r]),
         "redis_p99_ms": med([x["p99_ms"] for x in r])}
    m["ratio"] = (m["hub_rate"] / m["redis_rate"]
                  if m["hub_rate"] and m["redis_rate"] else None)
    return m


def fr(x):
    return "-" if x is None else "{:,.0f}".format(x)


def fm(x):
    return "-" if x is None or x < 0 else "%.2f" % x


def mb(kb):
    """/proc's kB (1024 bytes) as MiB: not the MB (10^6) of disk sizes."""
    return "%.1f" % (kb / 1024.0) if kb else "-"


def log_errors(path):
    """hubd's err-level lines, grouped by message id: {msgid: [count, first]}"""
    out = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split(None, 4)
                if len(parts) >= 4 and parts[2] == "err":
                    e = out.setdefault(parts[3], [0, line.strip()])
                    e[0] += 1
    except OSError:
        pass
    return out


def report(res):
    log("")
    log("== ungebro bench: hub vs Redis Streams (appendfsync always), %s, "
        "%d CPUs, loopback%s" % (os.path.relpath(BUILD, REPO),
                                 os.cpu_count(), ", QUICK" if QUICK else ""))
    log("   one connection, %d-byte events; window = events in flight (Redis:"
        " pipeline depth); median of %d round(s)" % (SIZE, ROUNDS))
    for label in ("fresh", "populated"):
        st = res["stores"].get(label)
        if not st:
            continue
        log("")
        log("-- %s store: %s events at the start, %s at the end; Redis "
            "stream %s entries at the start" % (
                label, fr(st["start"]["log_events"]),
                fr(st["end"]["log_events"]),
                fr(st["redis_stream_start"]["xlen"])))
        log("| window | hub ev/s |  p50 ms |  p99 ms | Redis ev/s |  p50 ms |"
            "  p99 ms | hub/Redis | alert p50 | alert p99 |  alerts |")
        log("|-------:|---------:|--------:|--------:|-----------:|--------:|"
            "--------:|----------:|----------:|----------:|--------:|")
        for w in WINDOWS:
            m = st["matrix"][w]["median"]
            log("| %6d | %8s | %7s | %7s | %10s | %7s | %7s | %9s | %9s | "
                "%9s | %7s |" % (w, fr(m["hub_rate"]), fm(m["hub_p50_ms"]),
                                 fm(m["hub_p99_ms"]), fr(m["redis_rate"]),
                                 fm(m["redis_p50_ms"]),
                                 fm(m["redis_p99_ms"]),
                                 "-" if m["ratio"] is None else
                                 "%.2f" % m["ratio"], fm(m["e2a_p50_ms"]),
                                 fm(m["e2a_p99_ms"]), m["alerts"]))
        log("")
        log("| connections x window %d | hub ev/s |  p50 ms |  p99 ms | "
            "alert p50 | alert p99 | alerts | store events before |"
            % CONC_WINDOW)
        log("|-----------------------:|---------:|--------:|--------:|"
            "----------:|----------:|-------:|-------------------:|")
        for c in CONNECTIONS:
            r = st["concurrency"][c]
            log("| %22d | %8s | %7s | %7s | %9s | %9s | %6s | %18s |"
                % (c, fr(r["rate"]), fm(r["p50_ms"]), fm(r["p99_ms"]),
                   fm(r["e2a_p50_ms"]), fm(r["e2a_p99_ms"]),
                   "%d/%d" % (r.get("alerts_seen", 0),
                              r.get("alerts_expected", 0)),
                   fr(r["store_events_before"])))
        pk = st["rss"]
        log("hubd peak RSS during the %s-store runs: VmHWM %s MiB, RssAnon "
            "%s MiB, RssFile %s MiB (mapped LMDB pages)" % (
                label, mb(pk.get("VmHWM")), mb(pk.get("RssAnon")),
                mb(pk.get("RssFile"))))
    log("")
    pf = res.get("prefill")
    if pf:
        log("pre-fill: %s events added in %.0f s (%s/s), %s (about %s new "
            "persons)" % (fr(pf["added"]), pf["wall_s"], fr(pf["rate"]),
                          "target reached" if pf["complete"] else
                          "TARGET NOT REACHED (%s of %s)"
                          % (fr(pf["reached"]), fr(pf["target"])),
                          fr(pf["persons_added"])))
    log("store growth: log_events and MB on disk after each step; hubd's "
        "peak RssAnon / RssFile MiB during it")
    for g in res["growth"]:
        pk = g.get("rss", {})
        log("   %-27s %11s events %9.1f MB   %s / %s" % (
            g["step"], fr(g["log_events"]), g["disk_mb"],
            mb(pk.get("RssAnon")), mb(pk.get("RssFile"))))
    rs = res.get("redis_end", {})
    log("Redis at the end: stream %s entries, %.1f MB on disk (%s)"
        % (fr(rs.get("xlen")), rs.get("disk_mb", 0), res.get("redis_version",
                                                             "")))
    log("hubd exit code after SIGTERM: %s; redis-server: %s; bench took "
        "%.0f s" % (res.get("hubd_exit"), res.get("redis_exit"),
                    res.get("total_s", 0)))
    for msgid, (count, first) in sorted(res.get("hubd_errors", {}).items()):
        log("hubd logged %d error(s) %s, the first: %s" % (count, msgid,
                                                          first))
    for f in res.get("failures", []):
        log("FAILED: %s" % f)


def main():
    for path in [os.path.join(BIN, p) for p in ("hubd", "hubctl")] + [
            LOADGEN]:
        if not os.access(path, os.X_OK):
            raise BenchError("%s missing: run make first" % path)
    for prog in ("redis-server", "redis-cli", "redis-benchmark"):
        if not shutil.which(prog):
            raise BenchError("%s missing: run make bootstrap" % prog)
    for sig in STOP_SIGNALS:
        signal.signal(sig, interrupted)
    # hubd runs on its built-in defaults: a UG_LOG_LEVEL of the caller's
    # would change what it logs (at err, no HUB-READY), a JOURNAL_STREAM
    # its line format (and hide its errors from log_errors), and a
    # NOTIFY_SOCKET would have it report READY to the caller's service
    # manager.
    for name in ("UG_LOG_LEVEL", "JOURNAL_STREAM", "NOTIFY_SOCKET"):
        os.environ.pop(name, None)
    # env.setup() empties var/bench: a second bench in this checkout must
    # stop here, not pull the store from under the first one's hubd.
    os.makedirs(os.path.join(REPO, "var"), exist_ok=True)
    lock = open(os.path.join(REPO, "var", "bench.lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        raise BenchError("another bench is running in this checkout "
                         "(var/bench.lock is held); var/bench left to it")
    t_all = time.monotonic()
    env = Env(os.path.join(REPO, "var", "bench"))
    redis = Redis(env.root)
    env.setup()
    res = {"config": {
        "quick": QUICK, "windows": WINDOWS, "rounds": ROUNDS,
        "run_seconds": RUN_S, "warmup_seconds": PROBE_S, "size": SIZE,
        "alert_pupils": ALERT_PUPILS, "weeks_per_pupil": WEEKS,
        "connections": CONNECTIONS, "concurrency_window": CONC_WINDOW,
        "prefill": PREFILL, "prefill_seconds": PREFILL_SECONDS,
        "prefill_connections": PREFILL_CONNS,
        "prefill_window": PREFILL_WINDOW, "prefill_chunk_s": PREFILL_CHUNK_S,
        "redis_benchmark": "redis-benchmark -p PORT -c 1 -P W -n N --csv "
                           "XADD benchstream '*' f <%d letters/digits>"
                           % SIZE,
        "build": os.path.relpath(BUILD, REPO), "cpus": os.cpu_count()},
        "stores": {}, "growth": [], "rss": {}}
    sampler = None
    bench = None
    try:
        env.start()
        redis.start()
        res["redis_version"] = redis.version()
        res["redis_argv"] = " ".join(a if a else "''" for a in redis.argv)
        log("== setup: %s; hubd pid %d on %s; redis-server pid %d on port %d"
            % (os.path.relpath(env.root, REPO), env.proc.pid, env.ingest,
               redis.proc.pid, redis.port))
        sampler = Sampler(env.proc.pid)
        sampler.start()
        bench = Bench(env, redis)

        def point(name):
            """A growth point; with hubd's peak RSS of the step it ends."""
            g = env.store_point(name)
            g["rss"] = dict(sampler.peaks.get(sampler.step, {}))
            res["growth"].append(g)
            return g

        point("start")
        for label in ("fresh", "populated"):
            if label == "populated":
                sampler.step = "pre-fill"
                log("== pre-fill to %s events (at most %.0f s)"
                    % (fr(PREFILL), PREFILL_SECONDS))
                est = res["stores"]["fresh"]["matrix"][PREFILL_WINDOW][
                    "median"]["hub_rate"] or 10000
                res["prefill"] = bench.prefill(PREFILL, PREFILL_SECONDS,
                                               est)
                point("after pre-fill")
            start = env.store_point(label + " start")
            rstart = redis.stream()
            log("== %s store: %s events (%.1f MB); Redis stream %s entries "
                "(%.1f MB)" % (label, fr(start["log_events"]),
                               start["disk_mb"], fr(rstart["xlen"]),
                               rstart["disk_mb"]))
            st = {"start": start, "redis_stream_start": rstart}
            sampler.step = label + " matrix"
            st["matrix"] = bench.matrix(label)
            point(label + " after matrix")
            sampler.step = label + " concurrency"
            st["concurrency"] = bench.concurrency(
                label, st["matrix"][CONC_WINDOW]["median"]["hub_rate"]
                or 10000)
            st["end"] = point(label + " after concurrency")
            st["redis_stream_end"] = redis.stream()
            st["rss"] = {k: max(sampler.peaks.get(label + s, {}).get(k, 0)
                                for s in (" matrix", " concurrency"))
                         for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile")}
            res["stores"][label] = st
        res["redis_end"] = redis.stream()
    finally:
        # A second Ctrl-C must not cut the stopping short.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if sampler:
            sampler.halt.set()
            # A signal in sampler.start() leaves a thread join() refuses
            # ("cannot join thread before it is started"): that must not
            # skip stopping the servers below. Halted, it ends by itself.
            try:
                sampler.join()
            except RuntimeError:
                pass
            res["rss"] = sampler.peaks
        res["hubd_exit"] = env.stop()
        res["redis_exit"] = redis.stop()
    res["total_s"] = time.monotonic() - t_all
    res["hubd_errors"] = log_errors(env.log_path)
    res["failures"] = bench.failures
    if res["hubd_exit"] != 0:
        res["failures"].append("hubd exit %s" % res["hubd_exit"])
    if res.get("prefill") and not res["prefill"]["complete"]:
        log("note: the pre-fill did not reach its target in time")
    ok = not res["failures"] and not res["hubd_errors"]
    # First in the file: whether the run passed, without redoing the test.
    res = dict(ok=ok, **res)
    path = os.path.join(env.root, "results.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, default=str)
    report(res)
    if ok and not KEEP:
        # Keep hubd.log, redis.log and results.json; the stores are big.
        for sub in ("hub", "redis", "work"):
            shutil.rmtree(os.path.join(env.root, sub), ignore_errors=True)
    log("bench %s; results in %s" % ("OK" if ok else "FAILED: see above",
                                     os.path.relpath(path, REPO)))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("BENCH FAILED: %s" % e)
        sys.exit(1)
