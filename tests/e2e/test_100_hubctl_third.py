"""100 hubctl as operations, the clerk and the auditor use it, third
round: docs/OPERATIONS.md's hubctl sections read without the code, what
the earlier hubctl tests (35, 58, 61, 62, 69, 80, 82, 86, 96) leave
unasserted."""

import json
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
        # An audit verb is named with it, as in its other messages.
        (["hubctl", "--data_dir", data, "audit", "verify", "extra"],
         "hubctl: audit verify: unexpected argument 'extra' (see "
         "--help)\n"),
        (["hubctl", "--data_dir", data, "audit", "show", "--json", "x"],
         f"hubctl: json {BOOL_RULE}, not 'x'\n"),
        (["hubctl", "--data_dir", data, "audit", "--json", "maybe"],
         f"hubctl: json {BOOL_RULE}, not 'maybe'\n"),
        (["hubctl", "--data_dir", data, "--json", "audit", "maybe"],
         "hubctl: audit needs verify or show (see --help)\n"),
        (["webd", "--gateway", "web-1", "--keys_dir", keys,
          "--listen_address", "127.0.0"],
         "webd: listen_address must be an IPv4 address such as 127.0.0.1, "
         "not '127.0.0'\n"),
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
                   "`hubctl: audit verify: unexpected argument 'X' (see "
                   "--help)`",
                   f"`inbox: list {BOOL_RULE}, not 'WORD'`",
                   f"`inbox: list {BOOL_RULE}, not 'stray'`"):
        assert quoted in flat, quoted


def test_import_takes_a_stray_word_after_a_yes_no_option_as_its_value(
        tmp_path):
    """OPERATIONS.md "Start and stop": `adapter-school import --json maybe
    uge19.csv` names the setting, exit 3, and imports nothing; a file that
    is there under such a name is a file to import, not a value."""
    keys = str(tmp_path / "nokeys")
    (tmp_path / "uge19.csv").write_text("cpr,date\n")
    cmd = ["adapter-school", "--agency", "school-a", "--keys_dir", keys,
           "import", "--json", "maybe", str(tmp_path / "uge19.csv")]
    p = run(*cmd)
    assert (p.returncode, p.stdout, p.stderr) == (
        3, "", f"adapter-school: json {BOOL_RULE}, not 'maybe'\n")
    (tmp_path / "maybe").write_text("cpr,date\n")
    p = subprocess.run([binary(cmd[0]), *cmd[1:]], capture_output=True,
                       text=True, timeout=20, cwd=tmp_path)
    assert p.returncode == 3 and "must be true or false" not in p.stderr, \
        p.stderr
    assert "keys" in p.stderr, p.stderr
    flat = doc_text()
    assert "`adapter-school import --json maybe uge19.csv`" in flat
    assert "`webd: listen_address must be an IPv4 address such as " \
        "127.0.0.1, not 'X'`" in flat


def a_backup_to_restore(make_hub, tmp_path, seed, salt):
    """A hub with one event, backed up to tmp_path/backup and stopped, its
    config pointing at an empty data_dir to restore into: (hub, the
    backup, its manifest.json, the manifest's text as written)."""
    hub = make_hub()
    cpr = hubtest.CprGen(seed).next()
    hub.cprs.add(cpr)
    hub.send(hubtest.envelope("school-a", cpr, salt=salt))
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    manifest = backup / "manifest.json"
    whole = manifest.read_text()
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    return hub, backup, manifest, whole


def test_a_manifest_saved_with_a_byte_order_mark_restores(make_hub,
                                                          tmp_path):
    """OPERATIONS.md "Backup and restore": a manifest.json a Windows
    editor saved, with a UTF-8 byte order mark before its `{` and CRLF
    line ends, is the same manifest and restores; behind the mark the
    same checks hold (`[]`: not a JSON object; the mark alone: cut
    short)."""
    hub, backup, manifest, whole = a_backup_to_restore(
        make_hub, tmp_path, 10041, "manifest-bom")
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
        if name == "actor":
            # An actor has no blank; a longer one pushes the rest right.
            width = max(width, len(line[at:].split(" ", 1)[0]))
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


FILE_DATES = ("dates must be a real day YYYY-MM-DD, DD-MM-YYYY or "
              "DD.MM.YYYY in the years 1900-2199")


def adapters_role_words():
    """The role words ADAPTERS.md's youth unit table lists."""
    doc = (hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
    [row] = [line for line in doc.splitlines()
             if line.startswith("| role | rolle, funktion |")]
    return re.findall(r"`([^`]+)`", row)


def test_assign_file_reads_the_youth_units_role_words_and_date_forms(
        make_hub):
    """OPERATIONS.md "Contact persons" and ADAPTERS.md's youth unit
    table: `hubctl assign --file` reads the adapter's Danish role words
    (any case, `-` or blank alike) and its date forms (DD-MM-YYYY,
    DD.MM.YYYY, 9999-12-31 as no end) as the adapter does; a word or date
    in none of them is rejected naming the column and what it takes; the
    same file written the ISO way is the same assignments."""
    hub = make_hub(start=False, clock="2026-09-01",
                   caseworkers={"cw-anna": False, "cw-bob": False,
                                "desk-dora": True})
    cprs = hubtest.CprGen(10043).take(8)
    hub.cprs.update(cprs)
    a, b, c, d, e, f, g, h = cprs
    rows = [f"{a};cw-anna;Kontaktperson;05.01.2026;31-08-2026",   # 2
            f"{b};cw-bob;UU-vejleder;10-08-2026;9999-12-31",      # 3
            f"{c};cw-anna;MENTOR;2026-08-01;31.12.9999",          # 4
            f"{d};cw-bob;uu vejleder;01.08.2026;",                # 5
            f"{e};cw-anna;coach;01.08.2026;",                     # 6
            f"{f};cw-anna;kontakt;01-08.2026;",                   # 7
            f"{g};cw-anna;vejleder;30.02.2026;",                  # 8
            f"{h};cw-anna;;01.08.2026;31-12-2027"]                # 9
    path = hub.inputs_dir / "ungeenheden.csv"
    path.write_text("CPRnr;Sagsbehandler;Rolle;Fra;Til\n"
                    + "\n".join(rows) + "\n")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert (p.returncode, p.stdout) == (
        1, "assignments: 5 new, 0 already known, 3 rejected\n"), p
    assert p.stderr.splitlines() == [
        f"{path}:6: column role: the role must be contact, guidance or "
        "mentor (kontaktperson, UU-vejleder, mentor; empty means contact)",
        f"{path}:7: column from: {FILE_DATES}",
        f"{path}:8: column from: {FILE_DATES}"], p.stderr
    p = hub.hubctl("audit", "show", "--json")
    stored = [r["detail"] for r in map(json.loads, p.stdout.splitlines())
              if r["action"] == "assign"]
    assert stored == ["contact cw-anna from 2026-01-05 to 2026-08-31",
                      "guidance cw-bob from 2026-08-10",
                      "mentor cw-anna from 2026-08-01",
                      "guidance cw-bob from 2026-08-01",
                      "contact cw-anna from 2026-08-01 to 2027-12-31"], \
        stored
    # The same rows written the ISO way, with hubctl's names: known.
    iso = hub.inputs_dir / "iso.csv"
    iso.write_text("cpr;caseworker;role;from;to\n"
                   f"{a};cw-anna;contact;2026-01-05;2026-08-31\n"
                   f"{b};cw-bob;guidance;2026-08-10;\n"
                   f"{c};cw-anna;mentor;2026-08-01;\n")
    p = hub.hubctl("assign", "--file", str(iso), check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "assignments: 0 new, 3 already known, 0 rejected\n", ""), p
    # Every role word ADAPTERS.md lists for the adapter, hubctl takes.
    words = adapters_role_words()
    assert {"kontaktperson", "UU-vejleder", "vejledning", "mentor"} <= \
        set(words), words
    each = hub.inputs_dir / "words.csv"
    each.write_text("cpr;caseworker;rolle;fra\n" + "".join(
        f"{a};cw-bob;{w};2026-0{1 + i % 9}-{10 + i:02d}\n"
        for i, w in enumerate(words)))
    p = hub.hubctl("assign", "--file", str(each), check=False)
    assert (p.returncode, p.stderr) == (0, ""), p
    assert p.stdout == f"assignments: {len(words)} new, 0 already known, " \
        "0 rejected\n", p.stdout
    flat = doc_text()
    assert "DD-MM-YYYY or DD.MM.YYYY" in flat


def test_assign_file_header_missing_or_doubled_columns_and_a_tie(make_hub):
    """OPERATIONS.md "Contact persons": a header without cpr or
    caseworker, or with two columns meaning one, is refused as a whole,
    exit 1, nothing stored, with the words quoted there; with as many
    `,` as `;` in the header, `;` separates."""
    hub = make_hub(start=False, clock="2026-09-01")
    cpr = hubtest.CprGen(10044).next()
    hub.cprs.add(cpr)
    cw = ("caseworker (or case_worker, caseworker_id, sagsbehandler, "
          "kontaktperson, medarbejder)")
    cases = [
        ("nocw.csv", f"cpr;from\n{cpr};2026-01-01\n",
         f"1: missing required column(s): {cw} (is the first line the "
         "header row?)"),
        ("none.csv", "navn;fra\nx;2026-01-01\n",
         f"1: missing required column(s): cpr (or cprnr, cpr_nr); {cw} (is "
         "the first line the header row?)"),
        ("twice.csv", f"cpr;caseworker;sagsbehandler\n{cpr};cw-anna;cw-anna\n",
         '1: columns "caseworker" and "sagsbehandler" (2 and 3) both mean '
         "caseworker; keep one")]
    for name, text, said in cases:
        path = hub.inputs_dir / name
        path.write_text(text)
        p = hub.hubctl("assign", "--file", str(path), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: {path}:{said}\n"), p
    assert hub.stats()["log_events"] == 0
    path = hub.inputs_dir / "tie.csv"
    path.write_text(f"cpr;caseworker,note\n{cpr};cw-anna,x\n")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert (p.returncode, p.stderr) == (1, f"hubctl: {path}:1: missing "
                                        f"required column(s): {cw} (is the "
                                        "first line the header row?)\n"), p
    flat = doc_text()
    assert "whichever the header uses more (`;` on a tie)" in flat
    assert "`hubctl: FILE:1: columns \"caseworker\" and \"sagsbehandler\" " \
        "(2 and 3) both mean caseworker; keep one`" in flat


def test_an_empty_export_out_is_refused_not_printed(make_hub, tmp_path):
    """OPERATIONS.md "Retention, access and erasure": `--out ""` (an
    unset variable) or an empty `out =` line is exit 2, `hubctl: export:
    --out is empty (...)`, the file's line before it; nothing is printed
    or recorded. Left out, or `--out -`, the document goes to standard
    output as before."""
    hub = make_hub(start=False)
    cpr = hubtest.CprGen(10045).next()
    hub.cprs.add(cpr)
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna", "--from",
               "2024-01-01")
    records = hub.stats()["audit_records"]
    said = ("export: --out is empty (leave it out, or give --out -, for "
            "standard output)\n")
    p = hub.hubctl("export", "--cpr", cpr, "--out", "", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (2, "", f"hubctl: {said}")
    ops = tmp_path / "ops.conf"
    ops.write_text("out =\n")
    p = hub.hubctl("export", "--cpr", cpr, "--config", str(ops),
                   check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", f"hubctl: {ops}:1: {said}"), p
    assert hub.stats()["audit_records"] == records
    # The document holds the CPR: read here, not logged by hub.hubctl.
    for out in ([], ["--out", "-"]):
        p = run("hubctl", "export", "--config", str(hub.conf), "--cpr", cpr,
                *out)
        assert (p.returncode, p.stderr) == (0, ""), p.stderr
        assert json.loads(p.stdout)["events"][0]["agency"] == "hubctl"
    assert "`hubctl: export: --out is empty (leave it out, or give --out -, " \
        "for standard output)`" in doc_text()


def test_assign_empty_from_and_to_are_today_and_no_end(make_hub):
    """OPERATIONS.md "Contact persons": an empty `--from ""` or `--to ""`
    is the same as leaving it out: today by the hub clock, no end."""
    hub = make_hub(start=False, clock="2026-09-01")
    cpr = hubtest.CprGen(10046).next()
    hub.cprs.add(cpr)
    p = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna",
                   "--from", "", "--to", "")
    assert (p.stdout, p.stderr) == ("assigned to cw-anna from 2026-09-01\n",
                                    ""), p
    p = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna")
    assert p.stdout == "assigned to cw-anna from 2026-09-01 (already " \
        "known)\n", p
    assert "an empty `--from \"\"` or `--to \"\"` is the same as leaving " \
        "it out (today; no end)" in doc_text()
