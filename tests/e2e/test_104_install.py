"""104 install: README.md and docs/OPERATIONS.md's installation, settings
and start-up parts, as municipal IT operations read them: every program's
--help, what it promises about its output and exit status."""

import os
import subprocess

import pytest

import hubtest

PROGRAMS = ["hubd", "hubctl", "inbox", "webd", "adapter-addiction",
            "adapter-college", "adapter-jobcenter", "adapter-school",
            "adapter-youthunit"]


def program_path(name):
    if name == "ug-loadgen":
        path = hubtest.BUILD / "bench" / "ug-loadgen"
        if not path.exists():
            pytest.skip(f"{path} not built")
        return str(path)
    return hubtest.binary(name)


@pytest.mark.parametrize("name", PROGRAMS + ["ug-loadgen"])
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_into_a_pipe_whose_reader_has_gone_is_no_error(name, flag):
    """OPERATIONS.md, "Build and install": --help (-h the same, in every
    program, ug-loadgen too) "while a reader that stops early, `| head`,
    is no error". The reader here is gone before the program writes a
    byte, so the first write meets a broken pipe every time (with SIGPIPE
    at its default, as a shell leaves it): exit 0, nothing on stderr, not
    a death by SIGPIPE (141 in the shell)."""
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([program_path(name), flag], stdout=w,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                           timeout=30)
    finally:
        os.close(w)
    assert p.returncode == 0, (p.returncode, p.stderr)
    assert p.stderr == b""
