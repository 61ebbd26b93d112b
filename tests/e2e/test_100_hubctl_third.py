"""100 hubctl as operations, the clerk and the auditor use it, third
round: docs/OPERATIONS.md's hubctl sections read without the code, what
the earlier hubctl tests (35, 58, 61, 62, 69, 80, 82, 86, 96) leave
unasserted."""

import subprocess

import hubtest
from hubtest import binary

BOOL_RULE = "must be true or false (or yes/no, on/off, 1/0)"


def doc_text():
    return " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                    .split())


def run(*cmd):
    return subprocess.run([binary(cmd[0]), *cmd[1:]], capture_output=True,
                          text=True, timeout=20)


def test_a_stray_word_after_a_yes_no_option_names_the_option(tmp_path):
    """OPERATIONS.md "Start and stop": `hubctl stats --json maybe` and
    `inbox --list stray` name the setting and its accepted values, as
    webd does, exit 2; a stray word elsewhere is unexpected, as before,
    and a command word after a flag is still the command."""
    data, keys = str(tmp_path / "d"), str(tmp_path / "nokeys")
    cases = [
        (["hubctl", "--data_dir", data, "stats", "--json", "maybe"],
         f"hubctl: json {BOOL_RULE}, not 'maybe'\n"),
        (["hubctl", "--data_dir", data, "log", "--json", "Maybe"],
         f"hubctl: json {BOOL_RULE}, not 'Maybe'\n"),
        (["hubctl", "--data_dir", data, "stats", "maybe"],
         "hubctl: stats: unexpected argument 'maybe' (see --help)\n"),
        (["hubctl", "--data_dir", data, "stats", "--json", "--", "maybe"],
         "hubctl: stats: unexpected argument 'maybe' (see --help)\n"),
        (["hubctl", "--data_dir", data, "--json", "stat"],
         "hubctl: unknown or missing command (see --help)\n"),
        (["inbox", "--caseworker", "cw-anna", "--keys_dir", keys, "--list",
          "stray"], f"inbox: list {BOOL_RULE}, not 'stray'\n"),
        (["inbox", "--caseworker", "cw-anna", "--keys_dir", keys,
          "--no_ack", "often"], f"inbox: no_ack {BOOL_RULE}, not 'often'\n"),
        (["inbox", "--caseworker", "cw-anna", "--keys_dir", keys, "stray",
          "--list"], "inbox: unexpected argument 'stray' (see --help)\n"),
        (["webd", "--gateway", "web-1", "--keys_dir", keys, "--behind_tls",
          "maybe"], f"webd: behind_tls {BOOL_RULE}, not 'maybe'\n")]
    for cmd, said in cases:
        p = run(*cmd)
        assert (p.returncode, p.stdout, p.stderr) == (2, "", said), cmd
    assert not (tmp_path / "d").exists()
    flat = doc_text()
    for quoted in (f"`hubctl: json {BOOL_RULE}, not 'maybe'`",
                   f"`inbox: list {BOOL_RULE}, not 'stray'`"):
        assert quoted in flat, quoted


def test_a_manifest_saved_with_a_byte_order_mark_restores(make_hub,
                                                          tmp_path):
    """OPERATIONS.md "Backup and restore": a manifest.json a Windows
    editor saved, with a UTF-8 byte order mark before its `{` and CRLF
    line ends, is the same manifest and restores; behind the mark the
    same checks hold (`[]`: not a JSON object; the mark alone: cut
    short)."""
    hub = make_hub()
    cpr = hubtest.CprGen(10041).next()
    hub.cprs.add(cpr)
    hub.send(hubtest.envelope("school-a", cpr, salt="manifest-bom"))
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    manifest = backup / "manifest.json"
    whole = manifest.read_text()
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    bom = b"\xef\xbb\xbf"
    for text, said in (
            ("[]\n", "damaged: not a JSON object"),
            ("", "damaged: cut short (not a whole JSON object)")):
        manifest.write_bytes(bom + text.encode())
        p = hub.hubctl("restore", str(backup), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: restore: {manifest} is {said}\n"), text
        assert not hub.data_dir.exists()
    manifest.write_bytes(bom + whole.replace("\n", "\r\n").encode())
    p = hub.hubctl("restore", str(backup), check=False)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert (hub.data_dir / "log" / "data.mdb").exists()
    assert "byte order mark before it" in doc_text()
