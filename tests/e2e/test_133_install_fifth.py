"""133 install, fifth round: README.md, the Makefile's targets and the
Debian units as a new operator meets them, for what test_01, test_80,
test_98, test_104 and test_121 do not assert exactly."""

import re
import subprocess

import hubtest

ADAPTERS = ["adapter-addiction", "adapter-college", "adapter-jobcenter",
            "adapter-school", "adapter-youthunit"]


def readme():
    return (hubtest.ROOT / "README.md").read_text(encoding="utf-8")


def help_text(program):
    p = subprocess.run([hubtest.binary(program), "--help"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout


def hubctl_commands():
    """The commands `hubctl --help` lists under "commands:", as one types
    them (`audit verify` two words)."""
    text = help_text("hubctl")
    block = text[text.index("\ncommands:\n") + 11:]
    block = block[:block.index("\n\n")]
    return [m.group(1) for m in
            re.finditer(r"^  ([a-z][a-z-]*(?: [a-z]+)?)(?= |$)", block, re.M)
            if not m.group(1).startswith("register-*")]


def test_readmes_hubctl_row_names_every_command_hubctl_takes():
    """README.md, "The programs": hubctl's row is the reader's list of
    what it does. It left out `pass-damaged`, which --help lists beside
    `erase`: an operator with a record that does not open (STORE-SEAL)
    found no hint of it there."""
    commands = hubctl_commands()
    assert "pass-damaged" in commands and "audit verify" in commands, \
        commands
    row = next(ln for ln in readme().splitlines()
               if ln.startswith("| `hubctl` |"))
    named = set(re.findall(r"`([^`]+)`", row))
    # `register-agency`/`-caseworker`/`-gateway` and `revoke-*`.
    for short in [n for n in named if n.startswith("-")]:
        named.add("register" + short)
    for cmd in commands:
        if cmd.startswith("revoke-") and "revoke-*" in named:
            continue
        assert cmd in named, (cmd, row)


def test_readmes_adapter_paragraph_names_every_command_they_take():
    """README.md: every adapter imports files once (`import FILE...`) or
    watches a drop directory (`watch DIR`); each adapter's usage also
    gives `flush` (deliver what the outbox holds), which README did not
    name, though an import cut short (exit 2) is finished by it."""
    text = readme()
    para = text[text.index("Every adapter reads CSV"):]
    para = " ".join(para[:para.index("\n\n")].split())
    for program in ADAPTERS:
        usage = help_text(program).split("\n\n")[0]
        commands = re.findall(
            rf"^\s*(?:Usage: )?{program} --config FILE (\w+)", usage, re.M)
        assert sorted(commands) == ["flush", "import", "watch"], usage
        for cmd in commands:
            assert f"`{cmd}`" in para or f"`{cmd} " in para, (cmd, para)
