"""Runs every C unit-test binary in $UG_BUILD/tests as one pytest case, so
`make test` ends with pytest's one summary line over unit and e2e tests.
A binary prints one line per case; on failure pytest shows that output."""

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_build = Path(os.environ.get("UG_BUILD", "build/release"))
BUILD = _build if _build.is_absolute() else ROOT / _build
UNIT_DIR = BUILD / "tests"
BINARIES = sorted(p for p in UNIT_DIR.glob("*_test")
                  if p.is_file() and os.access(p, os.X_OK)) \
    if UNIT_DIR.is_dir() else []
VALGRIND = os.environ.get("UG_VALGRIND") == "1"


def test_unit_binaries_built():
    """A run that found no binary must not pass quietly."""
    sources = sorted(p.stem for p in (ROOT / "tests" / "unit").glob("*_test.c"))
    built = sorted(p.name for p in BINARIES)
    assert built, f"no unit test binaries in {UNIT_DIR}: run make"
    missing = sorted(set(sources) - set(built))
    assert not missing, f"not built in {UNIT_DIR}: {missing} (run make)"


@pytest.mark.parametrize("binary", BINARIES, ids=lambda p: p.name)
def test_unit(binary, tmp_path):
    cmd = [str(binary)]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    if VALGRIND:
        # Cases run in-process (UT_NOFORK) so valgrind sees each one; the
        # helper processes some cases fork on purpose (a second store
        # user, a killed writer) exit without cleanup and stay silent.
        cmd = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
               "--child-silent-after-fork=yes", *cmd]
        env["UT_NOFORK"] = "1"
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=1800 if VALGRIND else 600,
                       cwd=ROOT, env=env)
    assert p.returncode == 0, \
        f"{binary.name} exited {p.returncode}:\n{p.stdout}"
    assert " passed, 0 failed" in p.stdout, \
        f"{binary.name} printed no summary:\n{p.stdout}"
