#!/usr/bin/python3
"""What one adapter-school import costs: time, rows/s and memory, the
figures docs/ADAPTERS.md ("Limits and figures") states.

  UG_BUILD=build/release /usr/bin/python3 tests/bench/adapter_import.py \\
      --rows 150000 [--phases import,flush,e2e] [--work DIR]

Generates one absence CSV of --rows rows with deploy/gen_cohort.py --rows
(synthetic CPRs), sets up a hub with the e2e harness (tests/e2e/hubtest.py,
agency school-a) in --work (removed first), and runs adapter-school under
`/usr/bin/time -v`:
  import  `import FILE` with the hub down: parse and queue into the outbox
          (exit 2, everything pending)
  flush   the hub started, `flush`: deliver what the outbox holds
  e2e     a fresh outbox and hub, the hub up, `import FILE`: parse, queue
          and deliver, as a clerk runs it
Each phase prints its wall time, rows/s, the peak resident set as
`/usr/bin/time -v` reports it, and the peaks of RssAnon (the adapter's own
memory: heap, stacks) and RssFile (file pages mapped: the binary, the
libraries and the outbox's LMDB file, which is page cache the kernel may
drop at will) sampled from /proc/PID/status every 20 ms. e2e also prints
its two parts, split at the log line that ends the file's import (the
adapter delivers once every file is queued): "import" and "deliver".
Load is bounded: one file, each phase once.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "e2e"))
os.chdir(REPO)

import hubtest  # noqa: E402

PY = "/usr/bin/python3"


KEYS = ("RssAnon", "RssFile", "VmHWM")
# adapter__import's last log line for a file: the import part is over.
IMPORTED = re.compile(r"ADP-FILE .*: \d+ rows, \d+ rejected, \d+ queued")


def measured(cmd):
    """Run cmd under /usr/bin/time -v; sample the child's /proc status.
    Returns (rc, stdout, seconds, figures), figures holding the peaks of
    the whole run ("all"), and, split where the import of the file
    ended, of the import ("import") and of what followed ("deliver"),
    each with its seconds."""
    report = "/tmp/adapter_import.time.%d" % os.getpid()
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-v", "-o", report, *cmd],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    parts = {"import": dict.fromkeys(KEYS, 0),
             "deliver": dict.fromkeys(KEYS, 0)}
    state = {"part": "import", "split": None}

    def sample():
        while p.poll() is None:
            try:
                with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
                    kids = f.read().split()
                for kid in kids:
                    with open(f"/proc/{kid}/status") as f:
                        for line in f:
                            name = line.split(":")[0]
                            if name in KEYS:
                                peak = parts[state["part"]]
                                peak[name] = max(peak[name],
                                                 int(line.split()[1]))
            except (OSError, ValueError):
                pass
            time.sleep(0.02)

    err = []

    def read_stderr():
        for line in p.stderr:
            err.append(line)
            if state["split"] is None and IMPORTED.search(line):
                state["split"] = time.monotonic() - t0
                state["part"] = "deliver"

    threads = [threading.Thread(target=sample, daemon=True),
               threading.Thread(target=read_stderr, daemon=True)]
    for t in threads:
        t.start()
    out = p.stdout.read()
    p.wait()
    seconds = time.monotonic() - t0
    for t in threads:
        t.join()
    text = open(report).read()
    os.unlink(report)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    whole = {k: max(parts["import"][k], parts["deliver"][k]) for k in KEYS}
    whole["time_max_rss"] = int(m.group(1)) if m else 0
    whole["seconds"] = seconds
    split = state["split"] or seconds
    parts["import"]["seconds"] = split
    parts["deliver"]["seconds"] = seconds - split
    if p.returncode not in (0, 2):
        sys.stderr.write("".join(err[-20:]))
    return p.returncode, out, seconds, {"all": whole, **parts}


def show(label, rows, rc, figures, size):
    """One line per part that took time."""
    mb = lambda kb: kb / 1024  # noqa: E731
    for part in ("all", "import", "deliver"):
        f = figures[part]
        if part != "all" and (label != "e2e" or not f["seconds"]):
            continue
        name = label if part == "all" else f"  {part}"
        rss = (f"peak RSS {mb(f['time_max_rss']):6.1f} MB"
               if part == "all" else
               f"peak VmHWM {mb(f['VmHWM']):6.1f} MB")
        print(f"{name:9s} rc {rc}  {f['seconds']:7.1f} s  "
              f"{rows / f['seconds']:8,.0f} rows/s  "
              f"{size / 1e6 / f['seconds']:5.1f} MB/s  {rss}  (RssAnon "
              f"{mb(f['RssAnon']):5.1f} MB, RssFile "
              f"{mb(f['RssFile']):6.1f} MB)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=150_000)
    ap.add_argument("--phases", default="import,flush,e2e")
    ap.add_argument("--work", default="var/bench-adapter")
    ap.add_argument("--seed", type=int, default=24)
    args = ap.parse_args()
    if args.rows > 1_500_000:
        ap.error("--rows: at most 1,500,000 (bounded load)")
    phases = args.phases.split(",")
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    gen = os.path.join(args.work, "gen")
    pupils = max(100, args.rows // (2 * 20))   # about 20 weeks of rows
    subprocess.run([PY, "deploy/gen_cohort.py", "--seed", str(args.seed),
                    "--rows", str(args.rows), "--pupils", str(pupils),
                    "--grades", "8,9", "--school-ids", "280017",
                    "--out", gen, "--quiet"], check=True)
    csv = [os.path.join(gen, n) for n in os.listdir(gen)
           if n.startswith("absence-")]
    assert len(csv) == 1, csv
    size = os.path.getsize(csv[0])
    print(f"{args.rows:,} rows, {size / 1e6:.1f} MB ({csv[0]}); "
          f"{os.cpu_count()} cores", flush=True)
    hubs = []

    def new_hub(name):
        hubs.append(hubtest.Hub(os.path.abspath(os.path.join(args.work,
                                                             name))))
        return hubs[-1]
    try:
        hub = new_hub("hub")
        if "import" in phases:
            rc, out, _, fig = measured(
                hub.adapter_cmd("import", csv[0], timeout=0))
            show("import", args.rows, rc, fig, size)
        if "flush" in phases:
            hub.start()
            rc, out, _, fig = measured(
                hub.adapter_cmd("flush", timeout=600))
            show("flush", args.rows, rc, fig, size)
            hub.stop()
        if "e2e" in phases:
            hub = new_hub("hub-e2e")
            hub.start()
            rc, out, _, fig = measured(
                hub.adapter_cmd("import", csv[0], timeout=600))
            show("e2e", args.rows, rc, fig, size)
            hub.stop()
    finally:
        for h in hubs:
            if h.proc is not None and h.proc.poll() is None:
                h.proc.kill()
    shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
