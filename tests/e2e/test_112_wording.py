"""Wordings the docs quote, checked as a user meets them (OPERATIONS.md)."""

import subprocess

import hubtest
from hubtest import binary

BOOL_RULE = "must be true or false (or yes/no, on/off, 1/0)"


def run(*cmd, cwd=None):
    return subprocess.run([binary(cmd[0]), *cmd[1:]], capture_output=True,
                          text=True, timeout=20, cwd=cwd)


def test_a_yes_no_option_word_is_named_in_every_verb_and_adapter(tmp_path):
    """OPERATIONS.md "Start and stop": a word right after a yes/no option
    that leaves a word too many, or no command an adapter knows, is
    refused naming the option and its accepted values (hubctl exit 2,
    the adapters 3), in every verb, not as the word after it."""
    data = str(tmp_path / "d")
    conf = tmp_path / "school.conf"
    conf.write_text("agency = school-a\n")
    cases = [
        (["hubctl", "--data_dir", data, "audit", "--json", "maybe", "show"],
         2, "hubctl", "maybe"),
        (["hubctl", "--data_dir", data, "--json", "maybe", "stats"],
         2, "hubctl", "maybe"),
        (["hubctl", "--data_dir", data, "show", "--json", "maybe", "42",
          "43"], 2, "hubctl", "maybe"),
        (["hubctl", "--data_dir", data, "register", "--desk", "often",
          "cw-x", "extra"], 2, "hubctl", "often"),
        (["hubctl", "--data_dir", data, "register", "--ops", "often",
          "cw-x", "extra"], 2, "hubctl", "often"),
    ]
    for name in ("school", "college", "jobcenter", "addiction",
                 "youthunit"):
        cases.append(([f"adapter-{name}", "--config", str(conf), "flush",
                       "--json", "maybe"], 3, f"adapter-{name}", "maybe"))
    for cmd, rc, program, word in cases:
        p = run(*cmd, cwd=tmp_path)
        option = cmd[cmd.index(word) - 1][2:]
        assert (p.returncode, p.stdout, p.stderr) == (
            rc, "", f"{program}: {option} {BOOL_RULE}, not '{word}'\n"), cmd
    # The other cases keep their own words.
    p = run("hubctl", "--data_dir", data, "--json", "stat")
    assert p.stderr == "hubctl: unknown or missing command (see --help)\n"
    p = run("adapter-school", "--config", str(conf), "flush", "maybe",
            cwd=tmp_path)
    assert p.returncode == 3
    assert p.stderr == ("adapter-school: expected `import FILE...`, "
                        "`watch DIR` or `flush` (see --help)\n")
    assert not (tmp_path / "d").exists()
    flat = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                    .split())
    assert ("`adapter-school flush --json maybe`: `adapter-school: json "
            f"{BOOL_RULE}, not 'maybe'`") in flat
