#!/usr/bin/python3
"""ungebro bench: durable ingest throughput and latency of a real hubd.

Run by `make bench` as  UG_BUILD=build/release /usr/bin/python3 tests/bench/bench.py

What it does, all on 127.0.0.1 under ./var/bench (removed first):
  1. keys, hubd.conf, N agencies (school-bench-1..N, type absence) and one
     caseworker (cw-bench); starts hubd and waits for HUB-READY.
  2. Fresh store:
     a. adapter-school: N concurrent real adapter processes, one per agency,
        each importing its own CSV (>= 100,000 rows in all, made by
        deploy/gen_cohort.py --rows). Figure: durable acked events/s over
        the wall clock of the whole import (parse, outbox, send, ack), and
        the hub's own ingest rate seen in `hubctl stats` while it ran.
     b. load client: N Python sender processes (pyzmq, CURVE, as the agencies)
        each keeping a window of 100 events in flight, recording each event's
        send and ack time: acked events/s and send-to-ack p50/p99. Some
        pupils (assigned to cw-bench) cross the absence threshold mid-run;
        `inbox --json` for cw-bench prints their alerts, and the time of each
        printed line minus the send time of the event that raised the alert
        (matched by the evidence event ids) gives event-to-alert p50/p99.
  3. Pre-fill: the load client at full speed until the store holds
     --prefill events (default 3 M) or --prefill-seconds (300) pass.
  4. Populated store: 2a and 2b again, with new events.
  5. hubd's VmHWM (peak RSS) from /proc, store size on disk, SIGTERM and
     exit code; a table of the figures (and var/bench/results.json).

Load is bounded (fixed event counts, a time budget for the pre-fill).
Every CPR number is synthetic.
"""

import argparse
import array
import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
BUILD = os.path.join(REPO, os.environ.get("UG_BUILD", "build/release"))
BIN = os.path.join(BUILD, "bin")
PY = "/usr/bin/python3"
GEN = os.path.join(REPO, "deploy", "gen_cohort.py")
EPOCH = dt.date(1970, 1, 1)
CW = "cw-bench"


def log(text=""):
    print(text, flush=True)


class BenchError(Exception):
    pass


# ---- protobuf, by hand (only the fields the bench needs) ---------------

def _varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire_type):
    return _varint(field << 3 | wire_type)


def _bytes(field, data):
    return _key(field, 2) + _varint(len(data)) + data


def _uint(field, v):
    return _key(field, 0) + _varint(v) if v else b""


KIND_NUM = {"illness": 1, "permitted": 2, "unlawful": 3, "all": 4}


def encode_event(event_id, agency_b, cpr_b, school_b, start_b, end_b,
                 occurred_ms, sent_ms, absent, expected, kind, grade):
    """A FRAME_EVENT frame: [0x01][0x01][Envelope]."""
    report = (_bytes(1, school_b) + _bytes(2, start_b) + _bytes(3, end_b)
              + _uint(4, absent) + _uint(5, expected) + _uint(6, kind)
              + _uint(8, grade))
    env = (_bytes(1, event_id) + _bytes(2, agency_b) + _uint(3, 1)
           + _uint(4, 1) + _uint(5, 1) + _uint(6, occurred_ms)
           + _uint(7, sent_ms) + _bytes(9, cpr_b) + _bytes(20, report))
    return b"\x01\x01" + env


def decode_fields(buf):
    """{field: value} of a flat message (last value wins)."""
    out = {}
    i, n = 0, len(buf)
    while i < n:
        key = 0
        shift = 0
        while True:
            b = buf[i]
            i += 1
            key |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        field, wt = key >> 3, key & 7
        if wt == 0:
            v = 0
            shift = 0
            while True:
                b = buf[i]
                i += 1
                v |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            out[field] = v
        elif wt == 2:
            ln = 0
            shift = 0
            while True:
                b = buf[i]
                i += 1
                ln |= (b & 0x7F) << shift
                shift += 7
                if not b & 0x80:
                    break
            out[field] = bytes(buf[i:i + ln])
            i += ln
        elif wt == 1:
            out[field] = buf[i:i + 8]
            i += 8
        elif wt == 5:
            out[field] = buf[i:i + 4]
            i += 4
        else:
            raise ValueError("wire type %d" % wt)
    return out


# ---- the load client ------------------------------------------------------

def read_keyfile(path):
    vals = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                vals[k.strip()] = v.strip()
    return vals


def client_cpr(phase, sender, nsenders, k):
    """Synthetic CPR for pupil k of a sender in a phase; unique per
    (phase, sender, k). Born 2011-2012; century digit 4-9; made-up serial."""
    u = k * nsenders + sender
    day, rest = u % 730, u // 730
    born = dt.date(2011, 1, 1) + dt.timedelta(days=day)
    serial = "456789"[rest // 100 % 6] + str(phase % 10) + "%02d" % (rest % 100)
    return born.strftime("%d%m%y") + serial


def sender_main(cfg, go, results):
    """One sender process: a DEALER with CURVE keeping `window` in flight."""
    import random
    import zmq
    rng = random.Random(cfg["seed"])
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.curve_serverkey = cfg["hub_public"].encode()
    s.curve_publickey = cfg["public"].encode()
    s.curve_secretkey = cfg["secret"].encode()
    s.setsockopt(zmq.LINGER, 0)
    s.setsockopt(zmq.SNDHWM, 0)
    s.setsockopt(zmq.RCVHWM, 0)
    s.connect(cfg["endpoint"])

    n = cfg["events"]
    pupils = cfg["pupils"]
    alert_pupils = cfg["alert_pupils"]
    weeks = max(1, -(-n // pupils))
    agency_b = cfg["agency"].encode()
    school_b = agency_b
    start0 = dt.date.fromisoformat(cfg["start"])
    cprs = [client_cpr(cfg["phase"], cfg["sender"], cfg["nsenders"], k)
            .encode() for k in range(pupils)]
    # Pupils 0..alert_pupils-1 cross the threshold once, at a week spread
    # over the run; a share of the others has high absence too (their
    # alerts go to the desk) when cfg["high_share"] > 0.
    # 12 of 30 lessons in the crossing week puts any 4-week window that
    # holds it above 10 % (1+1+1+12 of 120), so each of these pupils raises
    # exactly one alert, in a week every one of them gets a report.
    full_weeks = n // pupils
    if alert_pupils and full_weeks < 3:
        raise ValueError("alert pupils need at least 3 full weeks")
    cross_week = [2 + (k % max(1, full_weeks - 2)) if k < alert_pupils
                  else -1 for k in range(pupils)]
    high = [k >= alert_pupils and rng.random() < cfg["high_share"]
            for k in range(pupils)]
    tag = struct.pack(">I", cfg["tag"])

    send_ns = array.array("q", bytes(8 * n))
    lat_ns = array.array("q")
    alert_sends = {}  # event id hex -> wall ms, for alert pupils only
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
    reasons = {}
    go.wait()
    deadline = cfg.get("deadline") or 0
    t_first = time.monotonic_ns()
    t_last_ack = t_first
    sent = acked = 0
    inflight = 0
    window = cfg["window"]
    week = -1
    wk = None
    stall_limit = 30 * 10**9
    error = None
    while True:
        while inflight < window and sent < n:
            if deadline and sent % 256 == 0 and time.time() > deadline:
                n = sent
                break
            w, k = divmod(sent, pupils)
            if w != week:
                week = w
                st = start0 + dt.timedelta(weeks=w)
                en = st + dt.timedelta(days=4)
                wk = (st.isoformat().encode(), en.isoformat().encode(),
                      (en - EPOCH).days * 86400000)
            if cross_week[k] >= 0:
                absent = 12 if w >= cross_week[k] else 1
            elif high[k]:
                absent = rng.randint(4, 9)
            else:
                absent = rng.randint(0, 3)
            kind = 3 if rng.random() < 0.6 else 1
            eid = wk[2].to_bytes(8, "big") + tag + sent.to_bytes(4, "big")
            now_ns = time.time_ns()
            frame = encode_event(eid, agency_b, cprs[k], school_b, wk[0],
                                 wk[1], wk[2], now_ns // 10**6, absent, 30,
                                 kind, 8)
            t = time.monotonic_ns()
            s.send(frame, copy=False)
            send_ns[sent] = t
            if cross_week[k] >= 0:
                alert_sends[eid.hex()] = now_ns / 1e6
            sent += 1
            inflight += 1
        if inflight == 0 and sent >= n:
            break
        if s.poll(1000) == 0:
            if time.monotonic_ns() - t_last_ack > stall_limit:
                error = "no ack for 30 s (%d in flight)" % inflight
                break
            continue
        while True:
            try:
                msg = s.recv(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                break
            t = time.monotonic_ns()
            if len(msg) < 2 or msg[1] != 2:
                continue
            f = decode_fields(msg[2:])
            eid = f.get(1, b"")
            if len(eid) != 16 or eid[8:12] != tag:
                continue
            idx = int.from_bytes(eid[12:16], "big")
            status = f.get(2, 0)
            if status == 1:
                counts["accepted"] += 1
            elif status == 2:
                counts["duplicates"] += 1
            else:
                counts["rejected"] += 1
                r = f.get(4, b"").decode("utf-8", "replace")
                reasons[r] = reasons.get(r, 0) + 1
            lat_ns.append(t - send_ns[idx])
            inflight -= 1
            acked += 1
            t_last_ack = t
    s.close(0)
    ctx.term()
    results.put({
        "sender": cfg["sender"], "sent": sent, "acked": acked,
        "counts": counts, "reasons": reasons, "error": error,
        "t_first": t_first, "t_last": t_last_ack,
        "lat": lat_ns.tobytes(), "alert_sends": alert_sends,
    })


def run_load(env, phase, events, senders, window, start, alert_pupils=0,
             high_share=0.0, deadline=None, pupils=None, seed=1):
    """Run `senders` sender processes; returns merged results."""
    ctx = mp.get_context("fork")
    go = ctx.Event()
    results = ctx.Queue()
    procs = []
    per = events // senders
    hub_public = read_keyfile(os.path.join(env.keys, "hub.key"))["public"]
    for i in range(senders):
        agency = env.agencies[i % len(env.agencies)]
        sec = read_keyfile(os.path.join(env.keys, agency + ".key_secret"))
        n = per + (1 if i < events % senders else 0)
        cfg = {
            "endpoint": env.ingest, "hub_public": hub_public,
            "public": sec["public"], "secret": sec["secret"],
            "agency": agency, "events": n, "window": window,
            "pupils": pupils or max(1, min(5000, n // 8)),
            "alert_pupils": alert_pupils if i == 0 else 0,
            "high_share": high_share, "phase": phase, "sender": i,
            "nsenders": senders, "start": start, "deadline": deadline,
            "tag": (phase << 8 | i) & 0xFFFFFFFF, "seed": seed * 100 + i,
        }
        p = ctx.Process(target=sender_main, args=(cfg, go, results))
        p.start()
        procs.append(p)
    time.sleep(0.5)  # let the CURVE handshakes finish before the clock starts
    t0 = time.monotonic_ns()
    go.set()
    out = []
    wait_until = time.time() + (deadline - time.time() + 120 if deadline
                                else 600)
    while len(out) < senders:
        try:
            out.append(results.get(timeout=max(1, wait_until - time.time())))
        except Exception:
            for p in procs:
                if p.is_alive():
                    p.kill()
            raise BenchError("load client: a sender did not finish")
    for p in procs:
        p.join(10)
    t1 = max(r["t_last"] for r in out)
    lat = array.array("q")
    alert_sends = {}
    counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
    reasons = {}
    errors = []
    for r in out:
        lat.frombytes(r["lat"])
        alert_sends.update(r["alert_sends"])
        for k in counts:
            counts[k] += r["counts"][k]
        for k, v in r["reasons"].items():
            reasons[k] = reasons.get(k, 0) + v
        if r["error"]:
            errors.append("sender %d: %s" % (r["sender"], r["error"]))
    acked = sum(r["acked"] for r in out)
    wall = (t1 - t0) / 1e9
    return {
        "sent": sum(r["sent"] for r in out), "acked": acked,
        "counts": counts, "reasons": reasons, "errors": errors,
        "wall_s": wall, "rate": acked / wall if wall > 0 else 0,
        "lat_ms": sorted(x / 1e6 for x in lat), "alert_sends": alert_sends,
    }


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, max(0, int(round(p / 100.0 *
                                                   (len(sorted_vals) - 1)))))
    return sorted_vals[i]


# ---- environment -----------------------------------------------------------

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


class Env:
    def __init__(self, root, nagencies):
        self.root = root
        self.keys = os.path.join(root, "keys")
        self.etc = os.path.join(root, "etc")
        self.data = os.path.join(root, "hub", "data")
        self.work = os.path.join(root, "work")
        self.agencies = ["school-bench-%d" % (i + 1) for i in range(nagencies)]
        self.ingest = "tcp://127.0.0.1:%d" % free_port()
        self.delivery = "tcp://127.0.0.1:%d" % free_port()
        self.conf = os.path.join(self.etc, "hubd.conf")
        self.log_path = os.path.join(root, "hubd.log")
        self.proc = None

    def setup(self, batch_max=None):
        shutil.rmtree(self.root, ignore_errors=True)
        for d in (self.keys, self.etc, self.data, self.work):
            os.makedirs(d)
        hubctl = os.path.join(BIN, "hubctl")
        for ident in ["hub", CW] + self.agencies:
            run([hubctl, "keygen", "--keys_dir", self.keys, ident], "keygen")
        pairs = [("data_dir", self.data), ("keys_dir", self.keys),
                 ("ingest", self.ingest), ("delivery", self.delivery),
                 ("log_level", "info")]
        if batch_max:
            pairs.append(("batch_max", str(batch_max)))
        write_conf(self.conf, pairs)
        for a in self.agencies:
            run([hubctl, "register-agency", "--config", self.conf, a,
                 "--types", "absence"], "register-agency")
            write_conf(os.path.join(self.etc, a + ".conf"), [
                ("agency", a), ("keys_dir", self.keys), ("hub", self.ingest),
                ("outbox", os.path.join(self.root, "adapters", a, "outbox")),
                ("timeout", "120")])
        run([hubctl, "register-caseworker", "--config", self.conf, CW],
            "register-caseworker")
        write_conf(os.path.join(self.etc, "inbox.conf"), [
            ("caseworker", CW), ("keys_dir", self.keys),
            ("delivery", self.delivery)])

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen([os.path.join(BIN, "hubd"), "--config",
                                      self.conf], stdout=self.logf,
                                     stderr=subprocess.STDOUT, cwd=REPO)
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
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            rc = None
        self.logf.close()
        return rc

    def status(self):
        vals = {}
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
                        vals[k] = int(v.split()[0])  # kB
        except OSError:
            pass
        return vals

    def cpu_s(self):
        """hubd's user + system CPU seconds so far."""
        try:
            with open("/proc/%d/stat" % self.proc.pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf(
                "SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")

    def stats(self):
        p = run([os.path.join(BIN, "hubctl"), "stats", "--config", self.conf,
                 "--json"], "hubctl stats", timeout=30)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def store_bytes(self):
        used = apparent = 0
        for d, _, files in os.walk(self.data):
            for name in files:
                st = os.stat(os.path.join(d, name))
                used += st.st_blocks * 512
                apparent += st.st_size
        return used, apparent


class StatsSampler(threading.Thread):
    """Polls hubctl stats: when did log_events start and stop growing."""

    def __init__(self, env, interval=0.25):
        super().__init__(daemon=True)
        self.env, self.interval = env, interval
        self.samples = []
        self.stop_evt = threading.Event()

    def run(self):
        while not self.stop_evt.is_set():
            try:
                st = self.env.stats()
                self.samples.append((time.monotonic(), st.get("log_events",
                                                              0)))
            except (BenchError, ValueError):
                pass
            self.stop_evt.wait(self.interval)

    def rate(self):
        """Events/s between the first sample after growth began and the
        first sample at the final count."""
        if len(self.samples) < 2:
            return float("nan")
        base = self.samples[0][1]
        final = self.samples[-1][1]
        t_start = next((t for (t, n), (_, n2) in
                        zip(self.samples, self.samples[1:]) if n2 > base),
                       None)
        t_end = next((t for t, n in self.samples if n == final), None)
        first_n = next((n for t, n in self.samples if t == t_start), base)
        if t_start is None or t_end is None or t_end <= t_start:
            return float("nan")
        return (final - first_n) / (t_end - t_start)


class InboxReader:
    """inbox --json for cw-bench; timestamps every printed alert."""

    def __init__(self, env):
        argv = [os.path.join(BIN, "inbox"), "--config",
                os.path.join(env.etc, "inbox.conf"), "--json"]
        if shutil.which("stdbuf"):
            argv = ["stdbuf", "-oL"] + argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, cwd=REPO)
        self.alerts = []  # (wall ms when printed, alert)
        self.bad_lines = 0
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.proc.stdout:
            now = time.time_ns() / 1e6
            try:
                alert = json.loads(line)
            except ValueError:
                self.bad_lines += 1
                continue
            # The load's expectations are the rolling absence rule's; the
            # quarter measure may add its own alerts for the same pupils.
            if alert.get("rule") == "absence.rolling":
                self.alerts.append((now, alert))

    def wait_for(self, n, timeout):
        deadline = time.monotonic() + timeout
        while len(self.alerts) < n and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.t.join(5)
        return self.proc.returncode


# ---- phases -----------------------------------------------------------------

def phase_adapters(env, label, rows, seed, start):
    """N concurrent adapter-school imports; returns figures."""
    out = os.path.join(env.work, label)
    pupils_per_grade = max(100, rows // (2 * 20))  # about 20 weeks of rows
    t = time.monotonic()
    run([PY, GEN, "--seed", str(seed), "--rows", str(rows), "--pupils",
         str(pupils_per_grade), "--grades", "8,9", "--start", start,
         "--schools", str(len(env.agencies)), "--school-ids",
         ",".join(env.agencies), "--out", out, "--quiet"], "gen_cohort",
        timeout=600)
    gen_s = time.monotonic() - t
    with open(os.path.join(out, "cohort.json"), encoding="utf-8") as f:
        cohort = json.load(f)
    log("   %s: %d rows in %d CSVs (generated in %.1f s)"
        % (label, cohort["expected"]["events"], len(cohort["files"]), gen_s))
    before = env.stats()
    sampler = StatsSampler(env)
    sampler.start()
    procs = []
    cpu0 = env.cpu_s()
    t0 = time.monotonic()
    for fi in cohort["files"]:
        agency = fi["school"]
        procs.append((agency, subprocess.Popen(
            [os.path.join(BIN, "adapter-school"), "--config",
             os.path.join(env.etc, agency + ".conf"), "--json", "import",
             os.path.join(out, fi["file"])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO)))
    summaries = []
    errors = []
    for agency, p in procs:
        try:
            so, se = p.communicate(timeout=600)
        except subprocess.TimeoutExpired:
            p.kill()
            so, se = p.communicate()
            errors.append("%s: timed out" % agency)
        if p.returncode != 0:
            errors.append("%s: exit %s: %s" % (agency, p.returncode,
                                                se.strip()[-300:]))
        try:
            summaries.append(json.loads([x for x in so.splitlines()
                                         if x.startswith("{")][-1]))
        except (IndexError, ValueError):
            errors.append("%s: no JSON summary" % agency)
    wall = time.monotonic() - t0
    cpu = env.cpu_s() - cpu0
    time.sleep(0.6)
    sampler.stop_evt.set()
    sampler.join()
    after = env.stats()
    acked = sum(s.get("accepted", 0) + s.get("duplicates", 0)
                for s in summaries)
    return {
        "rows": cohort["expected"]["events"], "wall_s": wall,
        "acked": acked, "rate": acked / wall if wall else 0,
        "hub_rate": sampler.rate(),
        "accepted": sum(s.get("accepted", 0) for s in summaries),
        "rejected_by_hub": sum(s.get("rejected_by_hub", 0)
                               for s in summaries),
        "pending": sum(s.get("pending", 0) for s in summaries),
        "log_events_added": after.get("log_events", 0)
        - before.get("log_events", 0),
        "errors": errors, "hub_cpu_pct": 100.0 * cpu / wall if wall else 0,
    }


def phase_latency(env, label, events, senders, window, start, phase,
                  alert_pupils):
    # Assign the alert pupils (sender 0's first ones) to cw-bench.
    path = os.path.join(env.work, "assign-%s.csv" % label)
    with open(path, "w", encoding="utf-8") as f:
        f.write("cpr;caseworker;from;to;role\n")
        for k in range(alert_pupils):
            f.write("%s;%s;2020-01-01;;contact\n"
                    % (client_cpr(phase, 0, senders, k), CW))
    run([os.path.join(BIN, "hubctl"), "assign", "--config", env.conf,
         "--file", path], "hubctl assign")
    inbox = InboxReader(env)
    time.sleep(0.5)
    cpu0 = env.cpu_s()
    res = run_load(env, phase, events, senders, window, start,
                   alert_pupils=alert_pupils,
                   pupils=max(alert_pupils + 1, events // senders // 10))
    cpu = env.cpu_s() - cpu0
    res["hub_cpu_pct"] = 100.0 * cpu / res["wall_s"] if res["wall_s"] else 0
    inbox.wait_for(alert_pupils, 15)
    rc = inbox.stop()
    e2a, e2r = [], []
    unmatched = 0
    for printed, a in inbox.alerts:
        sends = [res["alert_sends"].get(ev.get("event_id", ""))
                 for ev in a.get("evidence", [])]
        sends = [x for x in sends if x is not None]
        if not sends:
            unmatched += 1
            continue
        cause = max(sends)
        e2a.append(printed - cause)
        e2r.append(a.get("raised_at", 0) - cause)
    res["alerts_expected"] = alert_pupils
    res["alerts_seen"] = len(inbox.alerts)
    res["alerts_unmatched"] = unmatched
    res["inbox_rc"] = rc
    res["e2a_ms"] = sorted(e2a)
    res["e2r_ms"] = sorted(e2r)
    return res


def prefill(env, target, seconds, senders, window):
    have = env.stats().get("log_events", 0)
    need = max(0, target - have)
    if need == 0:
        return {"events": 0, "wall_s": 0.0, "rate": 0.0}
    deadline = time.time() + seconds
    stop = threading.Event()

    def progress():
        t0, n0 = time.monotonic(), have
        while not stop.wait(15):
            try:
                n = env.stats().get("log_events", 0)
            except BenchError:
                continue
            el = time.monotonic() - t0
            log("   ... %9d events in the store after %4.0f s (%.0f/s)"
                % (n, el, (n - n0) / el if el else 0))
    th = threading.Thread(target=progress, daemon=True)
    th.start()
    res = run_load(env, 9, need, senders, window, "2019-01-07",
                   high_share=0.12, deadline=deadline,
                   pupils=max(1000, min(20000, need // senders // 100)),
                   seed=9)
    stop.set()
    res.pop("lat_ms", None)
    return res


# ---- report -------------------------------------------------------------------

def fmt_rate(x):
    return "—" if x != x else "{:,.0f}".format(x)


def fmt_ms(vals, p):
    return "—" if not vals else "%.2f" % pct(vals, p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", default=os.path.join(REPO, "var", "bench"))
    ap.add_argument("--agencies", type=int, default=4)
    ap.add_argument("--rows", type=int, default=100000,
                    help="adapter-school rows per phase (100000)")
    ap.add_argument("--events", type=int, default=100000,
                    help="load-client events per phase (100000)")
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--alert-pupils", type=int, default=200)
    ap.add_argument("--prefill", type=int, default=3000000,
                    help="events in the store before the second run")
    ap.add_argument("--prefill-seconds", type=float, default=300)
    ap.add_argument("--prefill-window", type=int, default=500)
    ap.add_argument("--quick", action="store_true",
                    help="small sizes, for checking the bench itself")
    ap.add_argument("--keep", action="store_true",
                    help="keep the store, outboxes and CSVs afterwards "
                         "(always kept when the bench fails)")
    a = ap.parse_args()
    if a.quick:
        a.rows, a.events, a.prefill = 8000, 8000, 60000
        a.alert_pupils = min(a.alert_pupils, 50)
        a.prefill_seconds = min(a.prefill_seconds, 60)
    for prog in ("hubd", "hubctl", "inbox", "adapter-school"):
        if not os.access(os.path.join(BIN, prog), os.X_OK):
            raise BenchError("%s/%s missing: run make first" % (BIN, prog))

    t_all = time.monotonic()
    env = Env(a.dir, a.agencies)
    log("== setup: %s, %d agencies, hub on %s" % (os.path.relpath(env.root,
                                                                  REPO),
                                                  a.agencies, env.ingest))
    env.setup()
    env.start()
    log("   hubd pid %d ready" % env.proc.pid)
    results = {"config": vars(a), "phases": {}}
    try:
        for label, phase, astart, lstart in (
                ("fresh", 1, "2025-01-06", "2024-01-01"),
                ("populated", 2, "2025-08-04", "2023-01-02")):
            if label == "populated":
                log("== pre-fill to %d events (at most %.0f s)"
                    % (a.prefill, a.prefill_seconds))
                pf = prefill(env, a.prefill, a.prefill_seconds, a.agencies,
                             a.prefill_window)
                results["prefill"] = {k: v for k, v in pf.items()
                                      if k != "alert_sends"}
                log("   pre-fill: %d events acked in %.1f s (%s/s)%s"
                    % (pf.get("acked", 0), pf.get("wall_s", 0),
                       fmt_rate(pf.get("rate", 0)),
                       ("; errors: %s" % pf["errors"]) if pf.get("errors")
                       else ""))
            st = env.stats()
            used, _ = env.store_bytes()
            log("== %s store: %d events, %.1f MB on disk"
                % (label, st.get("log_events", 0), used / 1e6))
            ph = {"store_events_before": st.get("log_events", 0),
                  "store_mb_before": used / 1e6}
            log("   adapter-school x %d ..." % a.agencies)
            ph["adapters"] = phase_adapters(env, label, a.rows, 11 + phase,
                                            astart)
            ad = ph["adapters"]
            log("   adapter-school: %d acked in %.1f s = %s/s (hub ingest "
                "%s/s)%s" % (ad["acked"], ad["wall_s"], fmt_rate(ad["rate"]),
                             fmt_rate(ad["hub_rate"]),
                             ("; errors: %s" % ad["errors"]) if ad["errors"]
                             else ""))
            log("   load client: %d senders x window %d ..."
                % (a.agencies, a.window))
            lt = phase_latency(env, label, a.events, a.agencies, a.window,
                               lstart, phase, a.alert_pupils)
            log("   load client: %d acked in %.1f s = %s/s, ack p50 %s ms "
                "p99 %s ms; alerts %d/%d, event->alert p50 %s p99 %s ms%s"
                % (lt["acked"], lt["wall_s"], fmt_rate(lt["rate"]),
                   fmt_ms(lt["lat_ms"], 50), fmt_ms(lt["lat_ms"], 99),
                   lt["alerts_seen"], lt["alerts_expected"],
                   fmt_ms(lt["e2a_ms"], 50), fmt_ms(lt["e2a_ms"], 99),
                   ("; errors: %s" % lt["errors"]) if lt["errors"] else ""))
            ph["load"] = {k: v for k, v in lt.items()
                          if k not in ("lat_ms", "alert_sends", "e2a_ms",
                                       "e2r_ms")}
            for key, vals in (("ack", lt["lat_ms"]), ("e2a", lt["e2a_ms"]),
                              ("e2r", lt["e2r_ms"])):
                ph["load"][key + "_p50_ms"] = pct(vals, 50) if vals else None
                ph["load"][key + "_p99_ms"] = pct(vals, 99) if vals else None
                ph["load"][key + "_max_ms"] = vals[-1] if vals else None
            ph["rss"] = env.status()
            results["phases"][label] = ph
        st = env.stats()
        used, apparent = env.store_bytes()
        results["final"] = {"stats": st, "store_mb": used / 1e6,
                            "store_apparent_mb": apparent / 1e6,
                            "proc": env.status()}
    finally:
        rc = env.stop()
        results["hubd_exit"] = rc
    results["total_s"] = time.monotonic() - t_all
    results["hubd_errors"] = log_errors(env.log_path)
    with open(os.path.join(env.root, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)
    report(results, a)
    ok = rc == 0 and not results["hubd_errors"] and not any(
        ph["adapters"]["errors"] or ph["load"]["errors"]
        or ph["load"]["counts"]["rejected"]
        or ph["adapters"]["accepted"] != ph["adapters"]["rows"]
        or ph["load"]["alerts_seen"] != ph["load"]["alerts_expected"]
        for ph in results["phases"].values())
    log("bench %s (results in %s)" % ("OK" if ok else "FAILED: see above",
                                      os.path.relpath(os.path.join(
                                          env.root, "results.json"), REPO)))
    if not a.keep and ok:
        # Keep hubd.log and results.json; the store and CSVs are big.
        for sub in ("work", "hub", "adapters"):
            shutil.rmtree(os.path.join(env.root, sub), ignore_errors=True)
    return 0 if ok else 1


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


def report(r, a):
    ph = r["phases"]
    fr, po = ph.get("fresh"), ph.get("populated")
    cols = [("fresh", fr), ("populated", po)]

    def row(name, fn):
        cells = [fn(p) if p else "—" for _, p in cols]
        log("| %-46s | %16s | %16s |" % (name, cells[0], cells[1]))

    log("")
    log("== ungebro bench (%s, %d CPUs, loopback, CURVE)"
        % (os.path.relpath(BUILD, REPO), os.cpu_count()))
    log("| %-46s | %16s | %16s |" % ("", "fresh store", "populated store"))
    log("|%s|%s|%s|" % ("-" * 48, "-" * 18, "-" * 18))
    row("events in the store before the run",
        lambda p: "{:,}".format(p["store_events_before"]))
    row("adapter-school x%d: acked events/s (wall)" % a.agencies,
        lambda p: fmt_rate(p["adapters"]["rate"]))
    row("  hub ingest while importing, events/s",
        lambda p: fmt_rate(p["adapters"]["hub_rate"]))
    row("  events (accepted/rows)",
        lambda p: "%d/%d" % (p["adapters"]["accepted"], p["adapters"]["rows"]))
    row("  hubd CPU while importing, % of one core",
        lambda p: "%.0f" % p["adapters"]["hub_cpu_pct"])
    row("load client x%d, window %d: acked events/s" % (a.agencies, a.window),
        lambda p: fmt_rate(p["load"]["rate"]))
    row("  send->ack p50 / p99 ms",
        lambda p: "%s / %s" % (_f(p["load"]["ack_p50_ms"]),
                               _f(p["load"]["ack_p99_ms"])))
    row("  event->alert printed by inbox p50 / p99 ms",
        lambda p: "%s / %s" % (_f(p["load"]["e2a_p50_ms"]),
                               _f(p["load"]["e2a_p99_ms"])))
    row("  event->alert raised_at p50 / p99 ms",
        lambda p: "%s / %s" % (_f(p["load"]["e2r_p50_ms"]),
                               _f(p["load"]["e2r_p99_ms"])))
    row("  hubd CPU during the run, % of one core",
        lambda p: "%.0f" % p["load"]["hub_cpu_pct"])
    row("  alerts seen / expected",
        lambda p: "%d/%d" % (p["load"]["alerts_seen"],
                             p["load"]["alerts_expected"]))
    row("hubd VmRSS after the run, MB",
        lambda p: "%.0f" % (p["rss"].get("VmRSS", 0) / 1024))
    pf = r.get("prefill", {})
    fin = r.get("final", {})
    log("")
    log("pre-fill: %s events acked in %.1f s (%s events/s, %d senders, "
        "window %d)" % ("{:,}".format(pf.get("acked", 0)),
                        pf.get("wall_s", 0), fmt_rate(pf.get("rate", 0)),
                        a.agencies, a.prefill_window))
    log("store at the end: %s events, %.0f MB on disk (%.0f MB apparent)"
        % ("{:,}".format(fin.get("stats", {}).get("log_events", 0)),
           fin.get("store_mb", 0), fin.get("store_apparent_mb", 0)))
    proc = fin.get("proc", {})
    log("hubd peak RSS (VmHWM): %.0f MB (RssAnon %.0f MB, RssFile %.0f MB: "
        "mapped LMDB pages count here)"
        % (proc.get("VmHWM", 0) / 1024, proc.get("RssAnon", 0) / 1024,
           proc.get("RssFile", 0) / 1024))
    log("hubd exit code after SIGTERM: %s; bench took %.0f s"
        % (r.get("hubd_exit"), r.get("total_s", 0)))
    for msgid, (count, first) in sorted(r.get("hubd_errors", {}).items()):
        log("hubd logged %d error(s) %s, the first: %s" % (count, msgid, first))
    for label, p in cols:
        if not p:
            continue
        if p["load"]["alerts_seen"] != p["load"]["alerts_expected"]:
            log("ALERTS MISSING (%s): inbox printed %d of %d expected"
                % (label, p["load"]["alerts_seen"],
                   p["load"]["alerts_expected"]))
        for what in ("adapters", "load"):
            if p[what].get("errors"):
                log("ERRORS (%s %s): %s" % (label, what, p[what]["errors"]))
        if p["load"]["counts"]["rejected"]:
            log("REJECTED (%s): %s" % (label, p["load"]["reasons"]))


def _f(x):
    return "—" if x is None else "%.2f" % x


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as e:
        log("BENCH FAILED: %s" % e)
        sys.exit(1)
