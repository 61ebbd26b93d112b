"""100 hubctl as operations, the clerk and the auditor use it, third
round: docs/OPERATIONS.md's hubctl sections read without the code, what
the earlier hubctl tests (35, 58, 61, 62, 69, 80, 82, 86, 96) leave
unasserted."""

import re
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


# OPERATIONS.md "The audit trail": audit show's columns, by their place.
AUDIT_COLUMNS = (("seq", 8, 2), ("time", 20, 2), ("actor", 18, 1),
                 ("action", 19, 1), ("result", 13, 1), ("key", 10, 1),
                 ("person", 19, 1))


def audit_columns(line):
    """One audit show line cut as OPERATIONS.md describes it: each
    column at its place, padded to its width; the detail after them."""
    row, at = {}, 0
    for name, width, gap in AUDIT_COLUMNS:
        row[name] = line[at:at + width].strip()
        assert line[at + width:at + width + gap] == " " * gap, (name, line)
        at += width + gap
    row["detail"] = line[at:]
    return row


def test_audit_show_columns_line_up_for_every_action(make_hub):
    """OPERATIONS.md "The audit trail": every line's columns are at the
    same places, whatever the action (register-caseworker, the longest,
    `action refused` with its blank), the result (already-known) and
    whether the record is about a person; read so, each holds what the
    doc says."""
    hub = make_hub()
    cpr = hubtest.CprGen(10042).next()
    hub.cprs.add(cpr)
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna", "--from",
               "2024-01-01")
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna", "--from",
               "2024-01-01")
    rc, _, _ = hub.record("cw-anna", "contact", "0" * 18, "phone")
    assert rc != 0
    hub.hubctl("revoke-caseworker", "desk-dora")
    hub.hubctl("audit", "show")
    lines = hub.hubctl("audit", "show").stdout.splitlines()
    rows = [audit_columns(line) for line in lines]
    seen = {(r["action"], r["result"]) for r in rows}
    for want in (("register-agency", "ok"), ("register-caseworker", "ok"),
                 ("assign", "ok"), ("assign", "already-known"),
                 ("action refused", "denied"), ("revoke-caseworker", "ok"),
                 ("audit-show", "ok")):
        assert want in seen, (want, lines)
    for r in rows:
        assert r["seq"].isdigit() and r["time"].endswith("Z"), r
        assert r["actor"] in ("hubctl:" + r["actor"][7:], "cw-anna"), r
        assert r["key"] and " " not in r["key"], r
        assert r["person"] == "" or re.fullmatch(r"person [0-9a-f]{12}",
                                                 r["person"]), r
        assert not r["detail"].startswith(" "), r
    about = [r for r in rows if r["action"] == "assign"]
    assert [r["person"] for r in about] == [about[0]["person"]] * 2
    assert about[0]["detail"] == "contact cw-anna from 2024-01-01"
    flat = doc_text()
    assert "the action (19, the longest the hub writes being " \
        "`register-caseworker`;" in flat
