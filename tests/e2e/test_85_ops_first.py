"""85 operations, first half of docs/OPERATIONS.md read as municipal IT
operations read it (install, settings, start and stop, the log ids):
what the earlier ops tests (01, 58, 59, 62, 80) leave unasserted."""

import os
import subprocess

import pytest

from hubtest import binary


def test_check_config_ok_that_cannot_be_written_is_exit_1(tmp_path):
    """OPERATIONS.md "Checking the configuration": exit 0 prints `hubd:
    configuration OK` on stdout; exit 1 when that answer could not be
    written (stdout on a full disk or closed), `hubd: cannot write
    standard output: REASON`, so a script's `&&` does not go on."""
    conf = tmp_path / "hubd.conf"
    conf.write_text(f"data_dir = {tmp_path / 'data'}\nrules =\n")
    cmd = [binary("hubd"), "--check-config", "--config", str(conf)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "hubd: configuration OK\n", ""), p.stderr
    with open("/dev/full", "w") as full:
        p = subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE,
                           text=True, timeout=20)
    assert (p.returncode, p.stderr) == (
        1, "hubd: cannot write standard output: No space left on "
        "device\n"), p.stderr
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, timeout=20,
                       preexec_fn=lambda: os.close(1))
    assert (p.returncode, p.stderr) == (
        1, "hubd: cannot write standard output: Bad file descriptor\n"), \
        p.stderr
    assert not (tmp_path / "data").exists()
