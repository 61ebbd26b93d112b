"""Every libFuzzer target (tests/fuzz/*_fuzz.c) built with clang and run
briefly from its committed seed corpus, as part of make test: a crash, a
sanitizer report or a leak in a decoder of outside input fails the case.
`make fuzz FUZZ_SECONDS=600` runs the same targets for longer."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = sorted(p.stem for p in (ROOT / "tests/fuzz").glob("*_fuzz.c"))
# As make fuzz's FUZZ_SECONDS: libFuzzer reads 0 or "abc" as no limit,
# and int() of a typo would stop the collection of every test in make test.
SECONDS_TEXT = os.environ.get("UG_FUZZ_SECONDS", "6")
SECONDS = (int(SECONDS_TEXT)
           if re.fullmatch(r"[1-9][0-9]{0,8}", SECONDS_TEXT) else None)


@pytest.fixture(scope="module")
def built():
    r = subprocess.run(["make", "--no-print-directory", "-j2", "fuzz-build"],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return ROOT / "build/fuzz"


def fuzz_command(built, name, tmp_path, seconds):
    """One target's run as make fuzz runs it; new inputs go to a scratch
    dir, so the committed seeds stay as they are."""
    work = tmp_path / "corpus"
    work.mkdir(exist_ok=True)
    return [str(built / name), f"-max_total_time={seconds}",
            "-max_len=4096", f"-artifact_prefix={built}/{name}-", str(work),
            str(ROOT / "tests/fuzz/corpus" / name)]


# The decoders of outside input README.md names, by target: frames and
# envelopes; one JSON Lines object, the encodings and field parsers; the
# CSV reader and every adapter's row parsers; a JSON Lines file through
# its reader and every adapter's row parsers; a whole file through the
# adapter's first pass (format, encoding, header, kind); settings, rules,
# key, clock and backup manifest files; what a browser sends webd, before
# and behind the login.
DOCUMENTED = {"wire_fuzz", "adapter_input_fuzz", "csv_fuzz", "jsonl_fuzz",
              "plan_fuzz", "files_fuzz", "webd_fuzz", "webd_session_fuzz"}


def test_every_target_has_a_seed_corpus():
    assert TARGETS, "no fuzz targets found"
    assert DOCUMENTED <= set(TARGETS), DOCUMENTED - set(TARGETS)
    for name in TARGETS:
        seeds = list((ROOT / "tests/fuzz/corpus" / name).glob("*"))
        assert seeds, f"tests/fuzz/corpus/{name} has no seeds"


def test_a_changed_header_rebuilds_the_targets_that_include_it(built):
    """A fuzz target is rebuilt when a header it includes changes, as
    every other program is: a stale target would fuzz the old code.
    make -W pretends the header is new without touching it; it is not
    passed to a sub-make, so the targets are named as fuzz-build's second
    make names them."""
    header = "tests/fuzz/webd_harness.h"
    users = sorted(p.stem for p in (ROOT / "tests/fuzz").glob("*_fuzz.c")
                   if header.split("/")[-1] + '"' in p.read_text())
    assert users, header
    r = subprocess.run(["make", "-n", "--no-print-directory", "-W", header,
                        "VARIANT=fuzz", "CC=clang",
                        *[f"build/fuzz/{t}" for t in TARGETS]],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rebuilt = sorted(set(re.findall(r"-o build/fuzz/(\w+_fuzz)\b",
                                    r.stdout)))
    assert rebuilt == users, r.stdout[-3000:]


@pytest.mark.parametrize("seconds", ["abc", "10m", "0", "-5", "1.5",
                                     "1000000000"])
def test_make_fuzz_refuses_a_time_that_is_no_whole_number(seconds):
    """README.md: make fuzz FUZZ_SECONDS=N runs each target N seconds.
    libFuzzer reads "abc" or "0" as no limit at all (and keeps the time
    in an int), so any other value stops make before anything is built
    or run, naming the value."""
    r = subprocess.run(["make", "-n", "--no-print-directory", "fuzz",
                        f"FUZZ_SECONDS={seconds}"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stdout[-2000:]
    assert "FUZZ_SECONDS must be a whole number of seconds from 1 to " \
        f"999999999, not '{seconds}'" in r.stderr, r.stderr
    ok = subprocess.run(["make", "-n", "--no-print-directory", "fuzz",
                         "FUZZ_SECONDS=600"], cwd=ROOT, capture_output=True,
                        text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "-max_total_time=600 " in ok.stdout


def test_a_failing_input_is_saved_where_readme_says(built, tmp_path):
    """README.md: a crash, a leak or a sanitizer report stops the run
    with the input saved, as build/fuzz/NAME-crash-SHA1 (leak-, oom-,
    timeout-), by make fuzz and by make test alike, not in whatever
    directory make or pytest ran in. An rss limit of 1 MB makes any run
    fail at once, so the saving is seen without a real crash."""
    out = subprocess.run(["make", "-n", "--no-print-directory", "fuzz"],
                         cwd=ROOT, capture_output=True, text=True,
                         timeout=120).stdout
    assert "-artifact_prefix=build/fuzz/$name- " in out, out[-2000:]
    name = "csv_fuzz"
    before = {f: f.stat().st_mtime_ns
              for f in (ROOT / "build/fuzz").glob(f"{name}-oom-*")}
    r = subprocess.run(fuzz_command(built, name, tmp_path, 5) +
                       ["-rss_limit_mb=1"], cwd=tmp_path,
                       capture_output=True, text=True, errors="replace",
                       timeout=120)
    assert r.returncode != 0, r.stderr[-2000:]
    # Written now (the same input as an earlier run's has its name).
    saved = [f for f in (ROOT / "build/fuzz").glob(f"{name}-oom-*")
             if before.get(f) != f.stat().st_mtime_ns]
    assert saved, r.stderr[-2000:]
    assert not list(tmp_path.glob("oom-*"))
    for f in saved:
        if f not in before:
            f.unlink()


@pytest.mark.parametrize("seconds", ["abc", "0", "1000000000"])
def test_a_bad_ug_fuzz_seconds_fails_only_the_fuzz_runs(seconds, tmp_path):
    """README.md: make test runs each target UG_FUZZ_SECONDS, bounded as
    FUZZ_SECONDS is; another value fails the runs, naming it, and the
    other tests of make test still run."""
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(Path(__file__)), "-k", "seed_corpus or runs_clean and wire"],
        env={**os.environ, "UG_FUZZ_SECONDS": seconds,
             "PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert "1 failed, 1 passed" in r.stdout, r.stdout[-3000:]
    assert ("UG_FUZZ_SECONDS must be a whole number of seconds from 1 to "
            f"999999999, not '{seconds}'") in r.stdout, r.stdout[-3000:]


@pytest.mark.parametrize("name", TARGETS)
def test_fuzz_target_runs_clean(request, name, tmp_path):
    assert SECONDS, ("UG_FUZZ_SECONDS must be a whole number of seconds "
                     f"from 1 to 999999999, not '{SECONDS_TEXT}'")
    built = request.getfixturevalue("built")
    r = subprocess.run(
        fuzz_command(built, name, tmp_path, SECONDS) +
        ["-print_final_stats=1"], capture_output=True, text=True,
        errors="replace", timeout=SECONDS * 6 + 60)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "stat::number_of_executed_units" in r.stderr
    runs = int(r.stderr.split("stat::number_of_executed_units:")[1].split()[0])
    assert runs > 100, f"{name} ran only {runs} inputs"
