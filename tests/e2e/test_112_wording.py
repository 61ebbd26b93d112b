"""Wordings the docs quote, checked as a user meets them (OPERATIONS.md)."""

import subprocess

import hubtest
from hubtest import binary
from test_100_hubctl_third import a_backup_to_restore

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
    assert ("`adapter-school flush --json maybe` and `adapter-school "
            "import --json maybe uge19.csv`: `adapter-school: json "
            f"{BOOL_RULE}, not 'maybe'`") in flat


def test_a_manifest_with_json_escapes_restores(make_hub, tmp_path):
    """OPERATIONS.md "Backup and restore": the manifest's member names
    are read as JSON strings, so one re-saved by a tool writing `\\/`
    for `/` (and `\\u006c` for `l`) is the same manifest and restores;
    a name that escapes to another one is still refused by name."""
    hub, backup, manifest, whole = a_backup_to_restore(
        make_hub, tmp_path, 11201, "manifest-escape")
    assert '"log/data.mdb"' in whole
    manifest.write_text(whole.replace("/", "\\/").replace(
        '"log\\/data.mdb"', '"\\u006cog\\/data.mdb"', 1))
    p = hub.hubctl("restore", str(backup), check=False)
    manifest.write_text(whole)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert (hub.data_dir / "log" / "data.mdb").exists()
    assert "`log\\/data.mdb`" in " ".join(
        (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text().split())


def test_a_manifest_with_an_escape_naming_another_file_is_damaged(
        make_hub, tmp_path):
    """A `\\u` escape decoded to another name is no file_bytes member
    for log/data.mdb: restore names it, as before, nothing written."""
    hub = make_hub()
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    manifest = backup / "manifest.json"
    manifest.write_text(manifest.read_text().replace(
        '"log/data.mdb"', '"\\u006dog/data.mdb"'))
    target = tmp_path / "restored"
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "--data_dir", str(target), "restore", str(backup)],
                       capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: restore: {manifest} is damaged: no whole "
        "file_bytes and file_blake2b for log/data.mdb\n")
    assert not target.exists()


def test_restore_of_the_root_names_its_manifest_with_one_slash(tmp_path):
    """OPERATIONS.md "Backup and restore": `/` stays `/`, its manifest
    `/manifest.json`, not `//manifest.json`."""
    data = tmp_path / "d"
    for where in ("/", "//"):
        p = run("hubctl", "--data_dir", str(data), "restore", where)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", "hubctl: restore: /manifest.json is missing or "
            "unreadable: not a backup made by hubctl backup\n"), where
    assert not data.exists()


def test_a_web_ack_note_over_200_bytes_is_refused_not_cut(make_hub):
    """OPERATIONS.md "The web inbox": the acknowledgement form has no
    character limit of its own (a browser's maxlength counts characters,
    and 150 æ are 300 bytes the hub would cut), and a note over 200
    bytes is not sent: the form comes back, 400, the note as typed under
    its reason, the alert still open; at 200 bytes exactly it is kept."""
    import html
    import re
    from test_70_web import (Web, alerts_listed, anna_session,
                             anna_with_a_person, errors_of, open_new_alert)
    hub, cpr = anna_with_a_person(make_hub, 11202)
    web = Web(hub)
    try:
        session = anna_session(web)
        hexid, csrf = open_new_alert(hub, web, session, cpr, "ack-long")
        page = web.request("GET", f"/alert/{hexid}", cookies=session)[1]
        field = re.search(r'<input id="ack-note"[^>]*>', page).group(0)
        assert "maxlength" not in field, field
        note = "æ" * 100 + "x"  # 100 characters; 201 bytes
        r, page = web.request("POST", f"/alert/{hexid}/ack",
                              {"csrf": csrf, "note": note}, cookies=session)
        assert r.status == 400 and errors_of(page) == [
            "Kvitteringen blev ikke gemt: Noten er for lang: højst 200 "
            "bytes (æ, ø og å tæller for 2)."], page
        assert re.search(r'<input id="ack-note" name="note"[^>]* value="'
                         + html.escape(note) + '"', page), page
        assert alerts_listed(web, session) == [hexid]
        r, _ = web.request("POST", f"/alert/{hexid}/ack",
                           {"csrf": csrf, "note": "æ" * 100},
                           cookies=session)
        assert r.status == 303
        assert alerts_listed(web, session) == []
    finally:
        web.stop()
    shown = hub.hubctl("audit", "show").stdout
    assert "æ" * 100 in shown
    flat = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                    .split())
    assert ('"Kvitteringen blev ikke gemt: Noten er for lang: højst 200 '
            'bytes (æ, ø og å tæller for 2)."') in flat
