"""97 docs/PERFORMANCE.md and `ug-loadgen --help` read as an engineer
reproducing the figures reads them: what ug-loadgen's JSON says a run
did (acked, DUPLICATE, rejected, -1 for a latency with nothing
measured, --seconds), and what tests/bench/bench.py does with its
options and with a second bench in the same checkout. Small runs only:
speed is never asserted, and no bench is run."""

import contextlib
import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

import hubtest

LOADGEN = hubtest.BUILD / "bench" / "ug-loadgen"


def loadgen(hub, *args, agency="school-a", timeout=60):
    assert LOADGEN.exists(), f"{LOADGEN} not built (run make)"
    return subprocess.run(
        [str(LOADGEN), "--endpoint", hub.ingest, "--server-key",
         str(hub.keys_dir / "hub.key"), "--key",
         str(hub.keys_dir / f"{agency}.key_secret"), *args],
        capture_output=True, text=True, timeout=timeout)


def test_loadgen_json_says_what_the_hub_answered(make_hub):
    """ug-loadgen --help: one JSON object with the fields it names;
    without --delivery alerts_expected is 0 and a latency with nothing
    measured is -1; frame_bytes, connections and window are the run's;
    exit 0 when every event is acked, DUPLICATE counting as acked (the
    same --tag and --phase again sends the same ids)."""
    hub = make_hub()
    run = ["--events", "60", "--window", "7", "--pupils", "20", "--tag",
           "3"]
    p = loadgen(hub, *run)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert list(r) == [
        "sent", "acked", "accepted", "duplicate", "rejected", "seconds",
        "rate", "p50_ms", "p99_ms", "p999_ms", "max_ms", "frame_bytes",
        "connections", "window", "alerts_expected", "alerts_seen",
        "e2a_p50_ms", "e2a_p99_ms", "reject_reason"], r
    assert (r["sent"], r["acked"], r["accepted"], r["duplicate"],
            r["rejected"]) == (60, 60, 60, 0, 0), r
    assert (r["frame_bytes"], r["connections"], r["window"]) == \
        (300, 1, 7), r
    assert (r["alerts_expected"], r["alerts_seen"], r["e2a_p50_ms"],
            r["e2a_p99_ms"], r["reject_reason"]) == (0, 0, -1, -1, ""), r
    assert 0 < r["p50_ms"] <= r["p99_ms"] <= r["p999_ms"] <= r["max_ms"]
    assert r["rate"] > 0 and r["seconds"] > 0
    # `seconds` is printed to the ms, `rate` from the exact time.
    assert abs(r["rate"] * r["seconds"] - r["acked"]) <= \
        r["rate"] * 0.0006 + 0.1, r
    assert hub.stats()["log_events"] == 60
    p = loadgen(hub, *run)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["sent"], r["acked"], r["accepted"], r["duplicate"],
            r["rejected"]) == (60, 60, 0, 60, 0), r
    assert hub.stats()["log_events"] == 60
    # --size: the frame it asks for is the frame it sends.
    p = loadgen(hub, *run, "--tag", "4", "--size", "320")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["frame_bytes"] == 320


def test_loadgen_rejected_events_fail_the_run_with_the_reason(make_hub):
    """ug-loadgen --help: exit 1 when not every event was acked or one was
    rejected; the JSON counts them and gives the hub's reason."""
    hub = make_hub(agencies={"school-a": "readiness"})
    p = loadgen(hub, "--events", "5", "--window", "5")
    assert p.returncode == 1, p.stderr
    r = json.loads(p.stdout)
    assert (r["sent"], r["acked"], r["accepted"], r["rejected"]) == \
        (5, 5, 0, 5), r
    assert r["reject_reason"], r
    assert hub.stats()["log_events"] == 0
    # `acked` counts every answer, a rejection too: the help says so.
    text = " ".join(subprocess.run([str(LOADGEN), "--help"],
                                   capture_output=True, text=True,
                                   timeout=20).stdout.split())
    assert "acked (events the hub answered: accepted + duplicate + " \
        "rejected)" in text, text


def test_loadgen_seconds_stops_sending(make_hub):
    """ug-loadgen --help: --seconds S stops sending after S seconds; what
    was sent is acked (exit 0) and `seconds` is first send to last ack."""
    hub = make_hub()
    p = loadgen(hub, "--events", "10000000", "--seconds", "0.5",
                "--window", "10")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert 0 < r["sent"] < 10000000 and r["acked"] == r["sent"], r
    assert 0.4 < r["seconds"] < 10, r
    assert hub.stats()["log_events"] == r["sent"]
    # Whichever comes first: --events ends a run --seconds would not.
    p = loadgen(hub, "--events", "50", "--seconds", "60", "--tag", "2")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["sent"] == 50 and r["seconds"] < 30, r
    text = " ".join(subprocess.run([str(LOADGEN), "--help"],
                                   capture_output=True, text=True,
                                   timeout=20).stdout.split())
    assert "--seconds S stop sending after S seconds (0: no limit; 0 to " \
        "1000000, fractions too), or after --events if that comes " \
        "first" in text, text


def test_loadgen_alert_cprs_only_sends_nothing(make_hub):
    """ug-loadgen --help: --alert-cprs-only writes the alert pupils' CPRs
    and exits: no JSON, nothing sent; the same pupils' CPRs each time."""
    hub = make_hub()
    out = hub.inputs_dir / "cprs.txt"
    args = ["--pupils", "30", "--alert-pupils", "4", "--alert-cprs",
            str(out), "--alert-cprs-only"]
    p = loadgen(hub, *args)
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    first = out.read_text().splitlines()
    assert len(first) == 4 and len(set(first)) == 4, first
    assert all(len(c) == 10 and c.isdigit() for c in first), first
    p = loadgen(hub, *args)
    assert out.read_text().splitlines() == first
    assert hub.stats()["log_events"] == 0


def bench_copy(tmp_path):
    """tests/bench/bench.py copied under tmp_path, so its var/bench and
    var/bench.lock are the copy's, never the checkout's."""
    copy = tmp_path / "tests" / "bench"
    copy.mkdir(parents=True)
    shutil.copy(hubtest.ROOT / "tests" / "bench" / "bench.py", copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH")}
    return copy / "bench.py", env


def test_bench_help_and_a_stray_argument_start_nothing(tmp_path):
    """PERFORMANCE.md: `bench.py --help` prints its docstring and starts
    nothing; an argument other than --quick and --help ends it before it
    starts (`BENCH FAILED: unknown argument 'X' (bench.py takes --quick
    and --help)`, exit 1), var/bench untouched, rather than running the
    full bench. UG_BUILD names no build: had either started a bench, it
    would stop at once on the missing hubd, saying so."""
    bench, env = bench_copy(tmp_path)
    env["UG_BUILD"] = str(tmp_path / "no-build")
    var = tmp_path / "var" / "bench"
    var.mkdir(parents=True)
    (var / "keep").write_text("x")
    for arg in ("--help", "-h"):
        p = subprocess.run(["/usr/bin/python3", str(bench), arg], env=env,
                           capture_output=True, text=True, timeout=30)
        assert (p.returncode, p.stderr) == (0, ""), (arg, p.stdout)
        assert p.stdout.startswith("ungebro bench: "), p.stdout
        assert "BENCH_QUICK=1" in p.stdout and "--quick" in p.stdout
    for arg in ("--quik", "quick", "--windows=10"):
        p = subprocess.run(["/usr/bin/python3", str(bench), "--quick", arg],
                           env=env, capture_output=True, text=True,
                           timeout=30)
        assert (p.returncode, p.stdout) == (1, (
            f"BENCH FAILED: unknown argument '{arg}' (bench.py takes "
            "--quick and --help)\n")), (arg, p.stdout, p.stderr)
    assert [f.name for f in var.iterdir()] == ["keep"]
    assert not (tmp_path / "var" / "bench.lock").exists()
    doc = " ".join((hubtest.ROOT / "docs" / "PERFORMANCE.md").read_text()
                   .split())
    assert "`BENCH FAILED: unknown argument 'X' (bench.py takes --quick " \
        "and --help)` and exit 1" in doc
    assert "`bench.py --help` prints its docstring and starts nothing" \
        in doc


def test_a_second_bench_leaves_var_bench_to_the_first(tmp_path):
    """PERFORMANCE.md: while one bench holds var/bench.lock, another stops
    at once with the message the doc quotes and exit 1, var/bench left as
    it was."""
    bench, env = bench_copy(tmp_path)
    env["UG_BUILD"] = str(hubtest.BUILD)
    var = tmp_path / "var" / "bench"
    var.mkdir(parents=True)
    (var / "hubd.log").write_text("the first bench's\n")
    with open(tmp_path / "var" / "bench.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        p = subprocess.run(["/usr/bin/python3", str(bench)], env=env,
                           capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout) == (1, (
        "BENCH FAILED: another bench is running in this checkout "
        "(var/bench.lock is held); var/bench left to it\n")), \
        (p.stdout, p.stderr)
    assert [f.name for f in var.iterdir()] == ["hubd.log"]
    assert (var / "hubd.log").read_text() == "the first bench's\n"


def alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(") ", 1)[1][:1] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP,
                                 signal.SIGINT])
def test_a_stopped_bench_stops_its_servers_and_leaves_var_bench(tmp_path,
                                                                sig):
    """PERFORMANCE.md, "How it is measured": var/bench is removed at the
    start; hubd runs without the caller's UG_LOG_LEVEL, JOURNAL_STREAM and
    NOTIFY_SOCKET; redis-server runs on 127.0.0.1 in its own directory
    (var/bench/redis); a SIGTERM, a SIGHUP or a Ctrl-C's SIGINT to
    bench.py stops hubd and redis-server, leaves var/bench as it was (the
    stores too, no results.json) and exits 1 with `BENCH FAILED:
    interrupted by SIGTERM; hubd and redis-server stopped, var/bench left
    as it was`."""
    bench, env = bench_copy(tmp_path)
    env.update(BENCH_QUICK="1", UG_BUILD=str(hubtest.BUILD),
               UG_LOG_LEVEL="err", JOURNAL_STREAM="8:1234",
               NOTIFY_SOCKET=str(tmp_path / "notify"))
    stale = tmp_path / "var" / "bench" / "stale"
    stale.parent.mkdir(parents=True)
    stale.write_text("a run before\n")
    proc = subprocess.Popen(["/usr/bin/python3", str(bench)], env=env,
                            stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    pids = []
    try:
        line = proc.stdout.readline()
        m = re.match(r"== setup: var/bench; hubd pid (\d+) on "
                     r"tcp://127\.0\.0\.1:\d+; redis-server pid (\d+) on "
                     r"port (\d+)$", line)
        assert m, line
        pids = [int(m.group(1)), int(m.group(2))]
        assert not stale.exists()
        environ = Path(f"/proc/{pids[0]}/environ").read_bytes().split(b"\0")
        assert not [v for v in environ if v.split(b"=")[0] in (
            b"UG_LOG_LEVEL", b"JOURNAL_STREAM", b"NOTIFY_SOCKET")], environ
        redis = pids[1]
        title = Path(f"/proc/{redis}/cmdline").read_bytes()
        assert title.startswith(
            f"redis-server 127.0.0.1:{m.group(3)}".encode()), title
        assert os.readlink(f"/proc/{redis}/cwd") == \
            str(tmp_path / "var" / "bench" / "redis")
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=90)
        assert proc.returncode == 1, out
        assert out.splitlines()[-1] == (
            f"BENCH FAILED: interrupted by {sig.name}; hubd and "
            "redis-server stopped, var/bench left as it was"), out
        assert not any(alive(p) for p in pids), pids
        var = tmp_path / "var" / "bench"
        assert (var / "hub").is_dir() and (var / "redis").is_dir()
        assert not (var / "results.json").exists()
    finally:
        proc.kill()
        proc.wait()
        kill_all(pids)


def test_loadgen_acknowledges_every_alert_its_pupils_raise(make_hub):
    """PERFORMANCE.md, "How it is measured": the alert pupils cross the
    absence threshold once; ug-loadgen, connected as their caseworker,
    times each alert from the send of the event that raised it and
    acknowledges it, and, untimed, their `absence.quarter.notify` alerts
    (the crossing report's and the next quarter's): after a run of 20 weekly reports per pupil (hubd's
    built-in rules, as the bench runs them) nothing is left open for the
    caseworker, and only the crossing alerts are counted."""
    hub = make_hub(rules={"absence.rolling.min_days": "10",
                          "absence.quarter.enabled": "yes",
                          "combined.enabled": "yes"})
    pupils = ["--pupils", "10", "--alert-pupils", "4", "--tag", "9"]
    cprs_file = hub.inputs_dir / "alert-cprs.txt"
    p = loadgen(hub, *pupils, "--alert-cprs", str(cprs_file),
                "--alert-cprs-only")
    assert p.returncode == 0, p.stderr
    for cpr in cprs_file.read_text().split():
        hub.assign(cpr, "cw-anna", start="2020-01-01")
    p = loadgen(hub, *pupils, "--events", "200", "--window", "10",
                "--delivery", hub.delivery, "--caseworker-key",
                str(hub.keys_dir / "cw-anna.key_secret"), "--alert-wait",
                "10")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["accepted"], r["alerts_expected"], r["alerts_seen"]) == \
        (200, 4, 4), r
    assert 0 < r["e2a_p50_ms"] <= r["e2a_p99_ms"], r
    log = hub.log_text()
    raised = re.findall(r"HUB-ALERT alert (\w+) \(([\w.]+)\) raised for "
                        r"cw-anna", log)
    kinds = sorted(k for _, k in raised)
    # Each alert pupil: the rolling alert and the quarter's notify with the
    # crossing report (14 of 90 lessons), the next quarter's notify later.
    assert kinds == ["absence.quarter.notify"] * 8 + \
        ["absence.rolling"] * 4, log
    for alert, _ in raised:
        assert f"HUB-ALERT-ACK alert {alert} acknowledged by cw-anna" in log
    # The other pupils' alerts go to the duty desk, stored and left open.
    desk = len(re.findall(r"HUB-ALERT alert \w+ \(absence\.rolling\) "
                          r"raised for duty-desk", log))
    assert hub.stats()["alerts_open"] == desk, log


def test_the_report_names_each_cause_and_a_short_pre_fill(capsys):
    """PERFORMANCE.md, "How it is measured": a failed run prints a
    `FAILED:` or `hubd logged N error(s)` line per cause; a pre-fill short
    of its target says `TARGET NOT REACHED (N of TARGET)`; a latency with
    nothing measured (-1 in ug-loadgen's JSON) is no figure. The report
    is fed results as bench.py keeps them (no bench is run)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_for_test97", hubtest.ROOT / "tests" / "bench" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = {"stores": {}, "growth": [],
           "prefill": {"added": 150000, "wall_s": 10.0, "rate": 15000.0,
                       "complete": False, "reached": 150000,
                       "target": 200000, "persons_added": 30000},
           "redis_end": {"xlen": 5, "disk_mb": 0.1}, "hubd_exit": 0,
           "redis_exit": 0, "total_s": 12,
           "hubd_errors": {"HUB-STORE": [2, "the first line"]},
           "failures": ["window 10: 1 of 50 alerts missing",
                        "hubd exit 1"]}
    bench.report(res)
    out = capsys.readouterr().out.splitlines()
    assert "pre-fill: 150,000 events added in 10 s (15,000/s), TARGET NOT " \
        "REACHED (150,000 of 200,000) (about 30,000 new persons)" in out, \
        out
    assert "hubd logged 2 error(s) HUB-STORE, the first: the first line" \
        in out, out
    assert out[-2:] == ["FAILED: window 10: 1 of 50 alerts missing",
                        "FAILED: hubd exit 1"], out
    assert bench.fm(-1) == bench.fm(None) == "-"


def test_loadgen_gives_up_after_30_s_without_an_ack(make_hub):
    """ug-loadgen --help: exit 1 when not every event was acked; "it gives
    up after 30 s without an ack, the JSON then says what came": here a
    hub stopped (SIGSTOP) after a first run takes the frames of one window
    and answers none. Latencies with nothing measured are -1."""
    hub = make_hub()
    assert loadgen(hub, "--events", "3", "--tag", "1").returncode == 0
    os.kill(hub.proc.pid, signal.SIGSTOP)
    try:
        p = loadgen(hub, "--events", "5", "--window", "3", "--tag", "2")
    finally:
        os.kill(hub.proc.pid, signal.SIGCONT)
    assert p.returncode == 1, p.stderr
    assert p.stderr == "ug-loadgen: no ack for 30 s, 3 in flight\n"
    r = json.loads(p.stdout)
    assert (r["sent"], r["acked"], r["accepted"], r["rejected"]) == \
        (3, 0, 0, 0), r
    assert (r["rate"], r["p50_ms"], r["p99_ms"], r["max_ms"]) == \
        (0, -1, -1, -1), r
    # Never acked, so never taken: the stopped hub had not even finished
    # the connection's handshake, and ug-loadgen drops its queue at exit.
    assert hub.stats()["log_events"] == 3


def run_bench(bench, env, timeout):
    """Run the bench copy; (its result, its stdout lines, the pids of
    the hubd and redis-server its first line names). The caller kills
    those pids in the end (kill_all), whatever happened."""
    p = subprocess.run(["/usr/bin/python3", str(bench)], env=env,
                       capture_output=True, text=True, timeout=timeout)
    lines = p.stdout.splitlines()
    m = re.match(r"== setup: .*hubd pid (\d+) .*redis-server pid (\d+)",
                 lines[0] if lines else "")
    assert m, p.stdout + p.stderr
    return p, lines, [int(m.group(1)), int(m.group(2))]


def kill_all(pids):
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def test_a_signal_as_the_sampler_starts_still_stops_the_servers(tmp_path):
    """PERFORMANCE.md: a SIGTERM to bench.py at any moment stops hubd and
    redis-server and ends with `BENCH FAILED: interrupted by SIGTERM; ...`
    and exit 1. Right after the setup line bench.py starts its memory
    sampler; a signal there left a thread not yet started, whose join()
    raised in the cleanup ("cannot join thread before it is started"), a
    traceback instead of the message, and the servers not stopped by it.
    The copy sends itself the SIGTERM at that moment, every time."""
    bench, env = bench_copy(tmp_path)
    text = bench.read_text()
    hook = '''        self.halt = threading.Event()
'''
    assert hook in text
    bench.write_text(text.replace(hook, hook + '''
    def start(self):
        os.kill(os.getpid(), signal.SIGTERM)
        super().start()
''', 1))
    env.update(BENCH_QUICK="1", UG_BUILD=str(hubtest.BUILD))
    p, lines, pids = run_bench(bench, env, 90)
    try:
        assert (p.returncode, p.stderr, lines[1:]) == (1, "", [
            "BENCH FAILED: interrupted by SIGTERM; hubd and redis-server "
            "stopped, var/bench left as it was"]), (p.stdout, p.stderr)
        # Stopped, not killed: hubd's last line is its HUB-STOP summary.
        log = (tmp_path / "var" / "bench" / "hubd.log").read_text()
        assert " HUB-STOP " in log.splitlines()[-1], log[-2000:]
        assert not any(alive(pid) for pid in pids), pids
    finally:
        kill_all(pids)


def fake_build(tmp_path, loadgen_script):
    """A build directory with the real hubd and hubctl and a stand-in for
    ug-loadgen, for UG_BUILD."""
    build = tmp_path / "fake-build"
    (build / "bin").mkdir(parents=True)
    (build / "bench").mkdir()
    for name in ("hubd", "hubctl"):
        (build / "bin" / name).symlink_to(hubtest.BUILD / "bin" / name)
    stand_in = build / "bench" / "ug-loadgen"
    stand_in.write_text(loadgen_script)
    stand_in.chmod(0o755)
    return build


def test_a_step_that_cannot_go_on_ends_the_bench_at_once(tmp_path):
    """PERFORMANCE.md: a step that cannot go on (here `ug-loadgen` without
    its JSON line) ends the run at once: hubd and redis-server are
    stopped, `BENCH FAILED: <reason>`, exit 1, no results.json; a failed
    run leaves var/bench's stores."""
    bench, env = bench_copy(tmp_path)
    real = hubtest.BUILD / "bench" / "ug-loadgen"
    build = fake_build(tmp_path, f"""#!/bin/sh
case " $* " in *" --alert-cprs-only "*) exec {real} "$@";; esac
echo "no figures today" >&2
exit 3
""")
    env.update(BENCH_QUICK="1", UG_BUILD=str(build))
    p, lines, pids = run_bench(bench, env, 120)
    try:
        assert p.returncode == 1, p.stdout + p.stderr
        assert lines[-2:] == ["BENCH FAILED: ug-loadgen: exit 3, no JSON",
                              "no figures today"], p.stdout
        assert not any(alive(pid) for pid in pids), pids
        var = tmp_path / "var" / "bench"
        assert not (var / "results.json").exists()
        assert (var / "hub").is_dir() and (var / "redis").is_dir()
        assert " HUB-STOP " in (var / "hubd.log").read_text()
    finally:
        kill_all(pids)


def test_loadgen_alert_pupils_over_several_connections(make_hub):
    """PERFORMANCE.md, step 3: the alert pupils are the first
    connection's, which sends about 1/C of the events; an alert is
    expected from each of them whose third weekly report was sent, and
    only those are waited for. Without --delivery none is expected."""
    hub = make_hub(rules={"absence.rolling.min_days": "10"})
    pupils = ["--pupils", "10", "--alert-pupils", "4", "--tag", "5"]
    # Other pupils (--phase 1): an alert pupil that crosses here is done.
    p = loadgen(hub, *pupils, "--events", "60", "--connections", "2",
                "--phase", "1")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["alerts_expected"] == 0
    cprs_file = hub.inputs_dir / "alert-cprs.txt"
    # Written for one connection, they are other pupils than the run's.
    p = loadgen(hub, *pupils, "--alert-cprs", str(cprs_file),
                "--alert-cprs-only")
    one = cprs_file.read_text().split()
    p = loadgen(hub, *pupils, "--connections", "2", "--alert-cprs",
                str(cprs_file), "--alert-cprs-only")
    assert p.returncode == 0, p.stderr
    assert cprs_file.read_text().split() != one
    text = " ".join(subprocess.run([str(LOADGEN), "--help"],
                                   capture_output=True, text=True,
                                   timeout=20).stdout.split())
    assert "--alert-cprs FILE write those pupils' CPRs, one a line (a " \
        "pupil's CPR follows from --phase, --pupils and --connections: " \
        "give the run's own)" in text, text
    for cpr in cprs_file.read_text().split():
        hub.assign(cpr, "cw-anna", start="2020-01-01")
    delivery = ["--delivery", hub.delivery, "--caseworker-key",
                str(hub.keys_dir / "cw-anna.key_secret"), "--alert-wait",
                "10"]
    # 2 x about 25 events: connection 0 sends weeks 0 and 1 and a part
    # of week 2 (however many its window took), so some alert pupils
    # cross and some do not.
    p = loadgen(hub, *pupils[:4], "--tag", "6", "--events", "50",
                "--connections", "2", "--window", "1", *delivery)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert 0 < r["alerts_expected"] <= 4, r
    assert r["alerts_seen"] == r["alerts_expected"], r
    raised = re.findall(r"HUB-ALERT alert \w+ \(absence\.rolling\) raised "
                        r"for cw-anna", hub.log_text())
    assert len(raised) == r["alerts_expected"], hub.log_text()


def test_loadgen_names_itself_for_an_unknown_option(tmp_path):
    """PERFORMANCE.md: an option ug-loadgen does not know, or one without
    its value, is exit 2, no JSON, with `ug-loadgen: unknown option --X
    (see --help)` or `ug-loadgen: --events needs a value` and the usage,
    named "ug-loadgen:" as its every other message, not by the path it
    was run as."""
    base = ["--endpoint", "tcp://127.0.0.1:1", "--server-key",
            str(tmp_path / "none.key"), "--key",
            str(tmp_path / "none.key_secret")]
    for args, message in (
            (["--bogus"], "unknown option --bogus (see --help)"),
            (["--windw=5"], "unknown option --windw=5 (see --help)"),
            (["-x"], "unknown option -x (see --help)"),
            (["--events"], "--events needs a value"),
            (["--window", "5", "--seconds"], "--seconds needs a value")):
        p = subprocess.run([str(LOADGEN), *base, *args],
                           capture_output=True, text=True, timeout=20)
        assert (p.returncode, p.stdout) == (2, ""), (args, p.stderr)
        assert p.stderr.startswith(f"ug-loadgen: {message}\nusage: "
                                   "ug-loadgen --endpoint "), \
            (args, p.stderr)
    doc = " ".join((hubtest.ROOT / "docs" / "PERFORMANCE.md").read_text()
                   .split())
    assert "(`ug-loadgen: unknown option --X (see --help)`)" in doc
    assert "(`ug-loadgen: --events needs a value`)" in doc
