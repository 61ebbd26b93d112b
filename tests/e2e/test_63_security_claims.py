"""63 SECURITY.md claim by claim, as an auditor reads it: what each
program says on standard error, what its process allows (no core dump),
what crosses the wire and what each endpoint refuses. Every test ends
with the privacy sweep (the hub fixture's teardown)."""

import subprocess

import pytest

from hubtest import CprGen, binary, dashed


@pytest.mark.parametrize("args", [
    ["webd", "--config", "/nonexistent/{cpr}"],
    ["webd", "--{cpr}"],
    ["webd", "--gateway", "web-1", "extra-{cpr}"],
    ["hubd", "--check-config", "--config", "/nonexistent/{cpr}"],
])
def test_a_cpr_typed_on_a_command_line_is_masked_on_stderr(args, tmp_path):
    """SECURITY.md: every program's logger and its own messages on
    standard error keep a CPR number masked (`xxxxxxxxxx`), also where
    they echo what was typed (a file name, an option)."""
    cpr = CprGen(6301).next()
    for form in (cpr, dashed(cpr)):
        cmd = [binary(args[0])] + [a.format(cpr=form) for a in args[1:]]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                           cwd=tmp_path)
        assert p.returncode != 0, p
        out = p.stdout + p.stderr
        assert cpr not in out and dashed(cpr) not in out, out
        assert "xxxxxx" in out, out
