"""80 operations: hubd --check-config (exit 0, or 2 with FILE:LINE: reason
for each bad line of the config and of the rules file, without creating
the store), hubctl backup / restore under load, and make install /
uninstall into a DESTDIR. docs/OPERATIONS.md."""

import contextlib
import json
import os
import re
import shutil
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import hubtest


def check_config(*args):
    return subprocess.run([hubtest.binary("hubd"), "--check-config", *args],
                          capture_output=True, text=True, timeout=30)


def write_config(tmp, config_lines, rules_lines):
    rules = tmp / "rules.conf"
    rules.write_text("".join(line + "\n" for line in rules_lines))
    conf = tmp / "hubd.conf"
    conf.write_text("".join(line + "\n" for line in [
        f"data_dir = {tmp / 'data'}",
        f"keys_dir = {tmp / 'keys'}",
        f"rules = {rules}",
        *config_lines]))
    return conf, rules


def test_check_config_accepts_a_good_config(tmp_path):
    conf, _ = write_config(tmp_path, ["batch_max = 100", "log_level = warn"],
                           ["# a comment", "dropout.priority = urgent",
                            "absence.rolling.threshold_pct = 15"])
    p = check_config("--config", str(conf))
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    assert p.stdout == "hubd: configuration OK\n"
    # Given twice it is one check, as any option given twice.
    p = check_config("--config", str(conf), "--check-config")
    assert (p.returncode, p.stdout) == (0, "hubd: configuration OK\n"), \
        p.stderr
    assert not (tmp_path / "data").exists()


def test_check_config_names_every_bad_line_and_opens_no_store(tmp_path):
    conf, rules = write_config(
        tmp_path,
        ["batch_max = 0",             # line 4: out of range
         "log_level = loud",          # line 5
         "no_such_setting = 1",       # line 6
         "query_rate = 10"],          # line 7: fine
        ["dropout.priority = high",   # line 1: fine
         "dropout.priority = panic",  # line 2
         "absence.rolling.threshold_pct = many",  # line 3
         "nonsense.rule = yes"])      # line 4
    p = check_config("--config", str(conf))
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr
    for line in (4, 5, 6):
        assert f"{conf}:{line}: " in err, err
    assert f"{conf}:7:" not in err
    for line in (2, 3, 4):
        assert f"{rules}:{line}: " in err, err
    assert f"{rules}:1:" not in err
    assert "batch_max" in err and "no_such_setting" in err
    # Nothing opened: the store directory was never made.
    assert not (tmp_path / "data").exists()


def test_check_config_refuses_what_the_docs_rule_out(tmp_path):
    cpr = hubtest.CprGen(8001).next()
    conf, rules = write_config(
        tmp_path,
        ["sessions_per_caseworker = +5",              # line 4
         "ops_silence = school-a=5,school-a=6",       # line 5
         "mail_sendmail = sendmail -f x",             # line 6
         "mail_base_url = ftp://x",                   # line 7
         "mail_sendmail = /usr/sbin/sendmail",        # line 8: fine
         "mail_base_url = https://",                  # line 9: no host
         "mail_base_url = https://x.dk/?a=1",         # line 10
         "mail_base_url = https://unge.example.dk/",  # line 11: fine
         "mail_base_url = https://unge.example.dk/a b",   # line 12
         'mail_base_url = https://unge.example.dk/"x"',   # line 13
         "mail_base_url = https://unge.example.dk/<x>",   # line 14
         "ops_silence = School-A=5",                  # line 15
         "ops_silence = " + "s" * 64 + "=5",          # line 16
         f"ops_silence = school-{hubtest.dashed(cpr)}=5"],  # line 17
        [f"routing.desk = desk-{cpr}"])
    # An id holding a CPR is no id, and the refusal masks it
    # (SECURITY.md, "No id holds a CPR number").
    p = check_config("--config", str(conf))
    assert p.returncode == 2, p.stdout + p.stderr
    err = p.stderr
    assert f"{conf}:4: sessions_per_caseworker must be a whole number" \
        in err, err
    assert f"{conf}:5: ops_silence names agency 'school-a' twice" in err
    assert f"{conf}:6: mail_sendmail must be a program's path or name " \
        "alone" in err
    assert f"{conf}:7: mail_base_url must start with https://" in err
    assert f"{conf}:8:" not in err
    # The link is mail_base_url/alerts: a host is needed, and after a
    # query or fragment "/alerts" would not be in the path.
    for line in (9, 10):
        assert f"{conf}:{line}: mail_base_url must be https://HOST or " \
            "https://HOST/PATH (or http://), without ? or #" in err, err
    assert f"{conf}:11:" not in err
    # What a URL cannot hold unencoded is refused, blanks included.
    assert f"{conf}:12: mail_base_url must not hold spaces or control " \
        "characters" in err, err
    for line in (13, 14):
        assert f"{conf}:{line}: mail_base_url must not hold any of " \
            "\" < > \\ ^ ` { | } (a URL holds them only encoded)" in err, err
    # An agency that is no id is refused in the words of every program.
    rule = "is not a valid id (1-63 of a-z 0-9 . _ -, starting with a " \
        "letter or digit, holding no CPR number)"
    assert f"{conf}:15: ops_silence: 'School-A' {rule}" in err, err
    assert f"{conf}:16: ops_silence: '{'s' * 64}' {rule}" in err, err
    assert f"{conf}:17: ops_silence: 'school-xxxxxx-xxxx' {rule}" in err, err
    assert f"{rules}:1: routing.desk: 'desk-xxxxxxxxxx' {rule}" in err, err
    assert cpr not in err and hubtest.dashed(cpr) not in err, err


def test_a_mail_base_url_too_long_for_a_notice_is_refused(tmp_path):
    """OPERATIONS.md, "E-mail notices": mail_base_url is at most 400
    bytes. The notice names the link twice in a message of at most 2,048
    bytes: a longer URL was taken (on the command line: a settings line
    holds 510 bytes) and every notice then dropped without a word."""
    base = "https://unge.example.dk/"
    ok, long = base + "p" * (400 - len(base)), base + "p" * 1600
    p = check_config("--data_dir", str(tmp_path / "d"), "--keys_dir",
                     str(tmp_path / "k"), "--mail_base_url", ok)
    assert p.returncode == 0, p.stderr
    p = check_config("--data_dir", str(tmp_path / "d"), "--keys_dir",
                     str(tmp_path / "k"), "--mail_base_url", ok + "p")
    assert (p.returncode, p.stderr) == (
        2, "hubd: mail_base_url is longer than 400 bytes\n")
    p = check_config("--data_dir", str(tmp_path / "d"), "--keys_dir",
                     str(tmp_path / "k"), "--mail_base_url", long)
    assert p.returncode == 2, p.stderr


def test_mail_sendmail_empty_is_refused_a_missing_one_is_not(tmp_path):
    """OPERATIONS.md, "E-mail notices": mail_sendmail is a program's path
    or name alone; an empty value is refused at --check-config (exit 2)
    like one with arguments, while a program that does not exist passes
    (it fails each notice instead)."""
    dirs = ["--data_dir", str(tmp_path / "d"), "--keys_dir",
            str(tmp_path / "k")]
    reason = ("hubd: mail_sendmail must be a program's path or name "
              "alone, without arguments or spaces (it is run as "
              "mail_sendmail -t -i)\n")
    for value in ("", "sendmail -f x"):
        p = check_config(*dirs, f"--mail_sendmail={value}")
        assert (p.returncode, p.stderr) == (2, reason), (value, p.stderr)
    p = check_config(*dirs, "--mail_base_url", "https://unge.example.dk",
                     "--mail_sendmail", str(tmp_path / "no-mta"))
    assert p.returncode == 0, p.stderr


def test_check_config_reports_a_missing_rules_file(tmp_path):
    conf, rules = write_config(tmp_path, [], [])
    rules.unlink()
    p = check_config("--config", str(conf))
    assert p.returncode == 2
    assert str(rules) in p.stderr
    # A command-line option is checked too.
    conf2, _ = write_config(tmp_path, [], [])
    p = check_config("--config", str(conf2), "--sessions_max", "-3")
    assert p.returncode == 2
    assert "sessions_max" in p.stderr
    assert not (tmp_path / "data").exists()
    # A directory is no file to read: named as one that cannot be opened,
    # the config file and the rules file alike.
    rules.unlink()
    rules.mkdir()
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr) == (
        2, f"cannot open {rules}: Is a directory\n"), p.stderr
    p = check_config("--config", str(tmp_path))
    assert (p.returncode, p.stderr) == (
        2, f"cannot open {tmp_path}: Is a directory\n"), p.stderr


def test_check_config_help_gives_every_form_a_problem_is_printed_in(
        tmp_path):
    """hubd --help, --check-config: a tester reading only the help must
    find each form its lines take: FILE:LINE: reason for a line of a
    file, FILE: reason for rules that contradict each other, and hubd:
    reason for a value given on the command line or settings that do not
    go together (OPERATIONS.md, Checking the configuration)."""
    said = " ".join(subprocess.run(
        [hubtest.binary("hubd"), "--help"], capture_output=True, text=True,
        timeout=20).stdout.split())
    assert "hubd: reason for a value given on the command line or " \
        "settings that do not go together" in said, said
    for args, line in (
            (["--batch_max", "0"],
             "hubd: batch_max must be a whole number from 1 to 10000\n"),
            (["--ingest", "tcp://127.0.0.1:7601", "--delivery",
              "tcp://127.0.0.1:7601"],
             "hubd: delivery must be another endpoint than ingest, not "
             "'tcp://127.0.0.1:7601' beside 'tcp://127.0.0.1:7601'\n")):
        p = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--data_dir", str(tmp_path / "d"), *args],
                           capture_output=True, text=True, timeout=20)
        assert (p.returncode, p.stdout, p.stderr) == (2, "", line), p


def test_help_says_what_the_signals_and_settings_do():
    hubd = subprocess.run([hubtest.binary("hubd"), "--help"],
                          capture_output=True, text=True, timeout=20).stdout
    assert "SIGHUP reloads the rules file" in hubd
    assert "SIGTERM" in hubd and "SIGINT" in hubd
    # mail_interval is per recipient id (OPERATIONS.md), not per address.
    assert "between two notices to one recipient (a caseworker or the " \
        "desk's id)" in " ".join(hubd.split("--mail_interval")[1].split())
    assert "(1-100)" in hubd.split("--ops_map_percent")[1].split("--")[0]
    assert "(0-54750)" in \
        hubd.split("--retention_absence")[1].split("--")[0]
    # Every whole-number setting's range: test_59_settings.
    hubctl = subprocess.run([hubtest.binary("hubctl"), "--help"],
                            capture_output=True, text=True,
                            timeout=20).stdout
    inbox = subprocess.run([hubtest.binary("inbox"), "--help"],
                           capture_output=True, text=True,
                           timeout=20).stdout
    said = " ".join(inbox.split())
    assert "2 usage (a bad option, alert id or CPR number, --how missing " \
        "or white space alone: nothing sent), or no answer from the hub " \
        "within --timeout" in said
    # hubctl logs at warn whatever hubd.conf's log_level says.
    assert "hubctl's own is warn" in \
        hubctl.split("--log_level")[1].split("--")[0]
    # webd's exit statuses and each whole-number setting's range, as
    # OPERATIONS.md gives them.
    webd = subprocess.run([hubtest.binary("webd"), "--help"],
                          capture_output=True, text=True, timeout=20).stdout
    said = " ".join(webd.split())
    assert "Exit status: 0 stopped by SIGTERM or SIGINT; 1 could not " \
        "start" in said and "2 usage or settings" in said, webd
    for name, limits in (("port", "(1-65535)"), ("hub_timeout", "(1-600)"),
                         ("sessions_max", "1-1000000)"),
                         ("connections_max", "(2-10000)"),
                         ("events_poll", "(1-60)")):
        assert limits in " ".join(
            webd.split(f"--{name} ")[1].split("\n  --")[0].split()), name
    for page, words in (("hubctl", "an option of another command"),
                        ("inbox", "an option of another command")):
        man = (hubtest.ROOT / "deploy" / "man" / f"{page}.1").read_text()
        assert words in man.split(".SH EXIT STATUS")[1], page


def test_the_config_file_format_as_documented(tmp_path):
    conf, _ = write_config(tmp_path, ["# a comment", "",
                                      "  batch_max   =   7  ",
                                      "batch_max = 5 # more"], [])
    p = check_config("--config", str(conf))
    assert p.returncode == 2
    assert f"{conf}:7: batch_max must be a whole number" in p.stderr
    assert f"{conf}:6:" not in p.stderr and f"{conf}:4:" not in p.stderr
    # The command line wins over every file, wherever it stands.
    good, _ = write_config(tmp_path, ["batch_max = 7"], [])
    for args in (["--config", str(good), "--batch_max", "0"],
                 ["--batch_max", "0", "--config", str(good)]):
        p = check_config(*args)
        assert p.returncode == 2 and "hubd: batch_max" in p.stderr, args
    # A Windows editor's byte order mark and CRLF line ends are fine.
    bom = tmp_path / "bom.conf"
    bom.write_bytes(b"\xef\xbb\xbfbatch_max = 7\r\nlog_level = warn\r\n")
    p = check_config("--config", str(good), "--config", str(bom))
    assert p.returncode == 0, p.stderr
    # --name=value, --config=FILE too.
    p = check_config(f"--config={good}", "--batch_max=9")
    assert p.returncode == 0, p.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("batch_max = 5 # more\n")
    p = check_config(f"--config={good}", f"--config={bad}")
    assert p.returncode == 2 and f"{bad}:1: batch_max" in p.stderr
    # Two files, read in order: the second one's bad line is named.
    second = tmp_path / "second.conf"
    second.write_text("log_level = loud\n")
    p = check_config("--config", str(good), "--config", str(second))
    assert p.returncode == 2 and f"{second}:1: log_level" in p.stderr


def test_a_setting_of_another_program_is_unknown_in_a_config_file(
        tmp_path):
    """OPERATIONS.md: a name that is none of the program's own settings is
    refused, naming the file and line, also when another program has it:
    hubd.conf's data_dir in webd's file, hubctl's json in hubd.conf."""
    webd_conf = tmp_path / "webd.conf"
    webd_conf.write_text("gateway = web-1\ndata_dir = /srv/hub\n")
    p = subprocess.run([hubtest.binary("webd"), "--config", str(webd_conf)],
                       capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stderr) == (
        2, f"webd: {webd_conf}:2: unknown setting 'data_dir' (see "
        "--help)\n"), p.stderr
    conf, _ = write_config(tmp_path, ["json = true"], [])
    p = check_config("--config", str(conf))
    assert p.returncode == 2
    assert "unknown setting 'json' (see --help)" in p.stderr, p.stderr
    # hubctl takes hubd's settings and its own from the same file (one
    # of another command's only on the command line is an error).
    p = subprocess.run([hubtest.binary("hubctl"), "keygen", "x-1",
                        "--config", str(conf), "--keys_dir",
                        str(tmp_path / "keys")],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr


def test_a_config_line_is_no_include_in_any_program(tmp_path):
    """OPERATIONS.md: `--config` may be given more than once; inside a
    file, `config = FILE` is no setting (the --help lists --config as an
    option), refused by hubd as by hubctl and webd, naming its own line,
    never the lines of the file it names."""
    inner = tmp_path / "inner.conf"
    inner.write_text("batch_max = 0\n")
    conf = tmp_path / "hubd.conf"
    conf.write_text(f"config = {inner}\nquery_rate = 0\n")
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr) == (
        2, f"{conf}:1: unknown setting 'config' (see --help)\n"
        f"{conf}:2: query_rate must be a whole number from 1 to 100000\n")
    inner.write_text("batch_max = 5\n")
    conf.write_text(f"config = {inner}\n")
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr) == (
        2, f"{conf}:1: unknown setting 'config' (see --help)\n")
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(conf),
                        "stats"], capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stderr) == (
        2, f"hubctl: {conf}:1: unknown setting 'config' (see --help)\n")


def test_a_config_file_of_zeros_is_named_as_no_text(tmp_path):
    """OPERATIONS.md, --check-config: a line holding a NUL byte (a file a
    crash left full of zeros) is reported as such, not as a line too long
    nor skipped as an empty one."""
    for name, data in (("zeros.conf", bytes(300)),
                       ("tail.conf", b"log_level = warn\n" + bytes(8))):
        conf = tmp_path / name
        conf.write_bytes(data)
        p = check_config("--config", str(conf))
        line = 1 if name == "zeros.conf" else 2
        assert (p.returncode, p.stderr) == (
            2, f"{conf}:{line}: a NUL byte: not a text file\n"), p.stderr
    # A device of zeros is named at its first byte, not read forever.
    p = check_config("--config", "/dev/zero")
    assert (p.returncode, p.stderr) == (
        2, "/dev/zero:1: a NUL byte: not a text file\n"), p.stderr


def test_config_equals_file_is_checked_line_by_line_too(tmp_path):
    """OPERATIONS.md: `--config=FILE` is `--config FILE`. --check-config
    names every bad line of it, and of the rules file it names, as
    FILE:LINE: reason; a start logs each after HUB-START cannot start:
    SETTING: and exits 2. A --config that is another option's value is
    no file, and one after "--" is an argument."""
    conf, rules = write_config(tmp_path, ["batch_max = 0",
                                          "sessions_max = 0"],
                               ["dropout.priority = panic"])
    want = [f"{conf}:4: batch_max must be a whole number from 1 to 10000",
            f"{conf}:5: sessions_max must be a whole number from 1 to "
            f"100000",
            f"{rules}:1: 'panic' is not a valid value for "
            f"dropout.priority"]
    spaced = check_config("--config", str(conf))
    assert (spaced.returncode, spaced.stderr.splitlines()) == (2, want), \
        spaced.stderr
    joined = check_config(f"--config={conf}")
    assert (joined.returncode, joined.stderr.splitlines()) == (2, want), \
        joined.stderr
    start = subprocess.run([hubtest.binary("hubd"), f"--config={conf}"],
                           capture_output=True, text=True, timeout=30)
    assert start.returncode == 2
    logged = [re.sub(r"^\S+ hubd err ", "", line)
              for line in start.stderr.splitlines()]
    assert logged == [
        f"HUB-START cannot start: batch_max: {want[0]}",
        f"HUB-START cannot start: sessions_max: {want[1]}",
        f"HUB-START cannot start: dropout.priority: {want[2]}"], \
        start.stderr
    assert not (tmp_path / "data").exists()
    # The value of --rules, and what follows "--", are not config files.
    good, _ = write_config(tmp_path, ["batch_max = 7"], [])
    p = check_config("--config", str(good), "--rules", "--config")
    assert p.returncode == 2 and p.stderr.startswith(
        "cannot open --config"), p.stderr
    p = check_config("--config", str(good), "--", f"--config={conf}")
    assert (p.returncode, p.stderr) == (
        2, f"hubd: unexpected argument '--config={conf}' (see --help)\n")
    # The rules file checked is the one in force: --rules on the command
    # line wins over the file's, also when the file has a bad line.
    fine = tmp_path / "fine-rules.conf"
    fine.write_text("dropout.priority = high\n")
    panic = tmp_path / "panic-rules.conf"
    panic.write_text("dropout.priority = panic\n")
    mixed = tmp_path / "mixed.conf"
    mixed.write_text(f"rules = {panic}\nbatch_max = 0\n")
    for rules_arg in (["--rules", str(fine)], [f"--rules={fine}"]):
        p = check_config(f"--config={mixed}", *rules_arg)
        assert (p.returncode, p.stderr) == (
            2, f"{mixed}:2: batch_max must be a whole number from 1 to "
            f"10000\n"), p.stderr
    p = check_config(f"--config={mixed}")
    assert (p.returncode, p.stderr.splitlines()) == (
        2, [f"{mixed}:2: batch_max must be a whole number from 1 to 10000",
            f"{panic}:1: 'panic' is not a valid value for "
            f"dropout.priority"]), p.stderr


GATEWAY_CPR = hubtest.CprGen(8002).next()


def test_webd_refuses_bad_settings_with_exit_2_and_one_line():
    """OPERATIONS.md, webd's settings: each bad one is exit 2 with one
    line naming it, before anything is opened."""
    cases = [
        (["--log_level", "loud"], "webd: log_level must be err, warn, "
                                   "notice, info or debug"),
        (["--streams_max", "64"], "webd: streams_max must be less than "
                                  "connections_max"),
        # The most connections_max takes leaves room for 9999 streams:
        # the range the refusal names is one a value can have.
        (["--streams_max", "0"], "webd: streams_max must be a whole number "
                                 "from 1 to 9999"),
        (["--events_poll", "61"], "webd: events_poll must be a whole "
                                  "number from 1 to 60"),
        # One connection leaves no room for a stream beside a page.
        (["--connections_max", "1", "--streams_max", "1"],
         "webd: connections_max must be a whole number from 2 to 10000"),
        (["--port", "0"], "webd: port must be a whole number from 1 to "
                          "65535"),
        (["--hub_timeout", "601"], "webd: hub_timeout must be a whole "
                                   "number from 1 to 600"),
        (["--listen_address", "localhost"], "webd: listen_address must be "
         "an IPv4 address such as 127.0.0.1, not 'localhost'"),
        # An id hubctl would never register (and a path out of keys_dir).
        (["--gateway", "../web-x"], "webd: gateway '../web-x' is not a "
                                    "valid id (1-63 of a-z 0-9 . _ -, "
                                    "starting with a letter or digit, "
                                    "holding no CPR number)"),
        (["--gateway", "Web 1"], "webd: gateway 'Web 1' is not a valid "
                                 "id"),
        # An id holding a CPR is none, and is not repeated unmasked.
        (["--gateway", f"web-{GATEWAY_CPR}"], "webd: gateway "
         "'web-xxxxxxxxxx' is not a valid id"),
        # webd takes no arguments, only settings.
        (["8080"], "webd: unexpected argument '8080' (see --help)"),
        # A word after the yes/no setting is its bad value, named as in
        # the config file, not a stray argument.
        (["--behind_tls", "maybe"], "webd: behind_tls must be true or "
         "false (or yes/no, on/off, 1/0), not 'maybe'"),
        (["--behind_tls", "true", "8080"],
         "webd: unexpected argument '8080' (see --help)"),
        # The hub's endpoint is a value like any other: a typo in it is
        # found before the keys are read, not as a failed connect.
        (["--delivery", "127.0.0.1:7602"], "webd: delivery "
         "'127.0.0.1:7602' is not an endpoint (tcp://HOST:PORT or "
         "ipc://PATH)"),
        (["--delivery", "tcp://127.0.0.1:99999"], "webd: delivery "
         "'tcp://127.0.0.1:99999' is not an endpoint"),
        # ZeroMQ would take port 0 and connect to nothing.
        (["--delivery", "tcp://127.0.0.1:0"], "webd: delivery "
         "'tcp://127.0.0.1:0' is not an endpoint"),
        # Empty, it would name /hub.key: refused as hubd refuses it.
        (["--keys_dir", ""], "webd: keys_dir must name a directory"),
    ]
    for args, message in cases:
        p = subprocess.run([hubtest.binary("webd"), "--gateway", "web-x",
                            "--keys_dir", "/nonexistent", *args],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr.splitlines() == [p.stderr.splitlines()[0]] and \
            p.stderr.startswith(message), (args, p.stderr)


def test_inbox_usage_errors_send_nothing(tmp_path):
    """OPERATIONS.md, "Caseworkers": one command at a time, only its own
    options, no stray word, --timeout 1-3600; anything else is exit 2
    with one line on stderr before the keys are read or the hub asked
    (there are no keys here: a usage error is all it can say)."""
    cases = [
        (["--list", "--ack", "0" * 18],
         "inbox: --list and --ack: one command at a time"),
        (["--timeline", "0101900000", "--contact", "0" * 18, "--how", "x"],
         "inbox: --timeline and --contact: one command at a time"),
        (["--list", "--how", "phone"], "inbox: --how does not apply to --list"),
        (["--ack", "0" * 18, "--date", "2026-01-01"],
         "inbox: --date does not apply to --ack"),
        (["--timeline", "0101900000", "--note", "x"],
         "inbox: --note does not apply to --timeline"),
        (["--ack", "0" * 18, "--json"], "inbox: --json does not apply to --ack"),
        (["--list", "--max", "3"], "inbox: --max does not apply to --list"),
        (["--idle_exit", "1", "--how", "phone"],
         "inbox: --how does not apply to the live mode"),
        (["--list", "--timeout", "0"],
         "inbox: timeout must be a whole number from 1 to 3600"),
        (["--list", "--timeout", "ten"],
         "inbox: timeout must be a whole number from 1 to 3600"),
        (["--list", "stray"], "inbox: list must be true or false (or "
         "yes/no, on/off, 1/0), not 'stray'"),
        (["--list", "--", "stray"], "inbox: unexpected argument 'stray'"),
        (["--ack", ""], "inbox: --ack needs an alert id of 18 hex digits"),
        # The id names the key file: never a path out of keys_dir.
        (["--caseworker", "../keys/cw-anna", "--list"],
         "inbox: caseworker '../keys/cw-anna' is not a valid id (1-63 of "
         "a-z 0-9 . _ -, starting with a letter or digit, holding no CPR "
         "number)"),
        (["--caseworker", "CW Anna", "--list"],
         "inbox: caseworker 'CW Anna' is not a valid id"),
        (["--caseworker", f"cw-{hubtest.dashed(GATEWAY_CPR)}", "--list"],
         "inbox: caseworker 'cw-xxxxxx-xxxx' is not a valid id"),
        (["--offer", "0" * 18], "inbox: --offer needs --how: what was "
                                "offered"),
        # Blanks alone are no answer to how: as if --how were missing.
        (["--contact", "0" * 18, "--how", " \t\r\n "],
         "inbox: --contact needs --how: how (phone, meeting, home visit, "
         "letter, ...)"),
        # So are a no-break space and an ideographic one (PROTOCOL.md §4).
        (["--unreachable", "0" * 18, "--how", "\u00a0\u3000"],
         "inbox: --unreachable needs --how: how (phone, meeting, home "
         "visit, letter, ...)"),
        (["--timeline", "0101900000x"],
         "inbox: --timeline needs a CPR number (DDMMYY-SSSS): "),
        (["--list", "--delivery", "tcp://127.0.0.1"],
         "inbox: delivery 'tcp://127.0.0.1' is not an endpoint "
         "(tcp://HOST:PORT or ipc://PATH)"),
        (["--list", "--delivery", "localhost:7602"],
         "inbox: delivery 'localhost:7602' is not an endpoint"),
        (["--list", "--delivery", "tcp://127.0.0.1:0"],
         "inbox: delivery 'tcp://127.0.0.1:0' is not an endpoint"),
        (["--list", "--keys_dir", ""],
         "inbox: keys_dir must name a directory"),
    ]
    for args, message in cases:
        p = subprocess.run([hubtest.binary("inbox"), "--caseworker",
                            "cw-anna", "--keys_dir", str(tmp_path / "none"),
                            "--delivery", "tcp://127.0.0.1:1", *args],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr.startswith(message) and \
            len(p.stderr.splitlines()) == 1, (args, p.stderr)
        assert p.stdout == "", (args, p.stdout)


def test_inbox_live_takes_timeout_without_idle_exit(tmp_path):
    """OPERATIONS.md, "Caseworkers": --timeout is one of the live mode's
    options; it bounds the wait only with --idle_exit, and without it is
    taken, not refused as another command's: past the usage check, the
    missing keys are what stops it (exit 1)."""
    p = subprocess.run([hubtest.binary("inbox"), "--caseworker", "cw-anna",
                        "--keys_dir", str(tmp_path / "none"), "--delivery",
                        "tcp://127.0.0.1:1", "--timeout", "5"],
                       capture_output=True, text=True, timeout=20)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr.startswith(
        f"inbox: cannot open {tmp_path / 'none'}/cw-anna.key_secret"), \
        p.stderr


def test_a_bad_value_in_a_config_file_names_its_file_and_line(tmp_path):
    """OPERATIONS.md, "Start and stop": every program reads the same
    config format; a bad value read from a file is refused naming the
    file and line, as hubd --check-config does (the command line wins,
    and the last line of a name is the one in force)."""
    def conf(name, *lines):
        path = tmp_path / name
        path.write_text("".join(line + "\n" for line in lines))
        return str(path)

    school = conf("school.conf", "agency = school-a",
                  f"keys_dir = {tmp_path}", "window = 5", "window = 0")
    school2 = conf("school2.conf", "agency = school-a", "format = xml")
    web = conf("webd.conf", "gateway = web-1", "# the port", "port = 0")
    web2 = conf("webd2.conf", "gateway = web-1", "log_level = loud")
    box = conf("inbox.conf", "caseworker = cw-anna", "timeout = 0")
    ctl = conf("hubd.conf", f"keys_dir = {tmp_path / 'keys'}",
               f"data_dir = {tmp_path / 'data'}", "log_map_mb = 0")
    ctl2 = conf("hubd2.conf", "data_dir =")
    cases = [
        ("adapter-school", [school, "flush"], 3,
         f"adapter-school: {school}:4: window must be a whole number "
         "from 1 to 65536"),
        ("adapter-school", [school2, "flush"], 3,
         f"adapter-school: {school2}:2: format must be csv, jsonl or auto"),
        ("webd", [web], 2,
         f"webd: {web}:3: port must be a whole number from 1 to 65535"),
        ("webd", [web2], 2,
         f"webd: {web2}:2: log_level must be err, warn, notice, info or "
         "debug"),
        ("inbox", [box, "--list"], 2,
         f"inbox: {box}:2: timeout must be a whole number from 1 to 3600"),
        ("hubctl", [ctl, "stats"], 2,
         f"hubctl: {ctl}:3: log_map_mb must be a whole number from 1 to "
         "16777216"),
        ("hubctl", [ctl2, "stats"], 2,
         f"hubctl: {ctl2}:1: data_dir must name a directory"),
    ]
    for program, args, code, message in cases:
        p = subprocess.run([hubtest.binary(program), "--config", *args],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == code, (program, args, p.returncode, p.stderr)
        assert p.stderr.splitlines()[0] == message, (program, p.stderr)
    # Given on the command line, the same value names no file.
    p = subprocess.run([hubtest.binary("webd"), "--config", web, "--port",
                        "70000"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 2
    assert p.stderr.startswith("webd: port must be a whole number"), p.stderr
    assert not (tmp_path / "data").exists()


def test_an_adapter_refuses_an_option_of_another_command(tmp_path):
    """ADAPTERS.md: a setting for some commands only, given on the
    command line to one that does not use it, is refused (exit 3) before
    anything is read or sent; in the config file it stands for every
    command."""
    conf = tmp_path / "school.conf"
    conf.write_text(f"agency = school-a\nkeys_dir = {tmp_path}\n"
                    f"outbox = {tmp_path / 'outbox'}\nkind = absence\n"
                    "settle = 5\nrejects = \n")
    exe = hubtest.binary("adapter-school")
    for args, message in (
            (["flush", "--kind", "absence"], "--kind does not apply to flush"),
            (["flush", "--format", "csv"], "--format does not apply to flush"),
            (["import", "x.csv", "--settle", "3"],
             "--settle does not apply to import"),
            (["watch", str(tmp_path), "--timeout", "5"],
             "--timeout does not apply to watch"),
            (["watch", str(tmp_path), "--rejects", "r.csv"],
             "--rejects does not apply to watch")):
        p = subprocess.run([exe, "--config", str(conf), *args],
                           capture_output=True, text=True, timeout=20)
        assert p.returncode == 3, (args, p.returncode, p.stderr)
        assert p.stderr.splitlines() == [
            f"adapter-school: {message} (see --help)"], (args, p.stderr)
    assert not (tmp_path / "outbox").exists()
    # From the file they are no usage error: flush goes on to its keys.
    p = subprocess.run([exe, "--config", str(conf), "--window", "5",
                        "flush"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 3 and "does not apply" not in p.stderr and \
        "school-a.key_secret" in p.stderr, p.stderr


def test_a_file_name_not_in_utf8_is_said_in_utf8_on_stderr(tmp_path):
    """OPERATIONS.md, Monitoring: every program's messages on standard
    error are UTF-8; a quoted file name's byte that is not UTF-8 is read
    as Windows-1252 (0xE6 is æ, 0x85 an ellipsis), one Windows-1252
    leaves undefined (0x81) as '?', as hubd's own log lines do it. So
    --check-config's and hubctl's lines, not only hubd's log."""
    odd = os.fsencode(str(tmp_path)) + b"/frav\xe6r\x85\x81"
    shown = str(tmp_path) + "/fravær…?"
    runs = (
        [hubtest.binary("hubd"), "--check-config", "--data_dir",
         os.fsencode(str(tmp_path / "d")), "--rules", odd],
        [hubtest.binary("hubd"), "--data_dir",
         os.fsencode(str(tmp_path / "d")), "--rules", odd],
        [hubtest.binary("hubctl"), "stats", "--data_dir", odd],
    )
    for cmd in runs:
        p = subprocess.run(cmd, capture_output=True, timeout=20)
        assert p.returncode in (1, 2), (cmd, p.returncode, p.stderr)
        text = p.stderr.decode("utf-8")    # raises if it is not UTF-8
        assert shown in text, (cmd, text)


def test_ug_log_level_overrides_log_level_in_webd_too(tmp_path):
    """OPERATIONS.md, Monitoring: UG_LOG_LEVEL overrides log_level in
    every program. webd set its level from log_level past it."""
    import os
    import signal
    import socket
    keys = tmp_path / "keys"
    for name in ("hub", "web-1"):
        subprocess.run([hubtest.binary("hubctl"), "keygen", "--keys_dir",
                        str(keys), name], check=True, capture_output=True,
                       timeout=30)

    def run_webd(env_level, log_level):
        port = hubtest.free_port()
        env = dict(os.environ)
        env.pop("UG_LOG_LEVEL", None)
        if env_level:
            env["UG_LOG_LEVEL"] = env_level
        p = subprocess.Popen([hubtest.binary("webd"), "--gateway", "web-1",
                              "--keys_dir", str(keys), "--delivery",
                              "tcp://127.0.0.1:1", "--port", str(port),
                              "--log_level", log_level],
                             stderr=subprocess.PIPE, text=True, env=env)

        def serving():
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0
        try:
            hubtest.wait_for(lambda: p.poll() is not None or serving(), 10,
                             "webd serving")
        finally:
            p.send_signal(signal.SIGTERM)
            err = p.communicate(timeout=20)[1]
        assert p.returncode == 0, err
        return err

    assert "WEB-START" in run_webd(None, "info")
    assert "WEB-START" not in run_webd(None, "warn")
    assert "WEB-START" not in run_webd("warn", "info")
    assert "WEB-START" in run_webd("info", "err")


# -- hubctl usage errors


def test_hubctl_bad_option_values_are_usage_errors_and_change_nothing(
        make_hub):
    """hubctl --help: a usage error (a bad option) is exit 2. A bad value
    is refused before the store is opened: nothing registered, nothing
    audited."""
    hub = make_hub()
    hub.keygen("school-b")
    cpr = hubtest.CprGen(8503).next()
    hub.cprs.add(cpr)
    audit_before = hub.stats()["audit_records"]
    key_b = str(hub.keys_dir / "school-b.key")
    cases = [
        (["log", "--after", "x"], "log: after must be a whole number"),
        (["log", "--limit", "-1"], "log: limit must be a whole number"),
        (["register-agency", "school-b", "--types", "bogus"],
         "--types: unknown event type 'bogus'"),
        (["register-agency", "school-b", "--types", ""],
         "--types: name at least one event type"),
        (["register-agency", "school-b", "--types", "absence,,dropout"],
         "--types: unknown event type ''"),
        # A comma at the end names an empty type too: a list cut short.
        (["register-agency", "school-b", "--types", "absence,"],
         "--types: unknown event type ''"),
        # The id rule in the words of every program and the hub.
        (["register-agency", "School B"],
         "register-agency: 'School B' is not a valid id (1-63 of a-z 0-9 "
         ". _ -, starting with a letter or digit, holding no CPR number)"),
        (["register-caseworker", "cw/x"],
         "register-caseworker: 'cw/x' is not a valid id"),
        (["revoke-agency", "A"], "revoke-agency: 'A' is not a valid id"),
        (["keygen", "../hub"], "keygen: '../hub' is not a valid id"),
        (["keygen", ".hub"], "keygen: '.hub' is not a valid id (1-63 of "
                             "a-z 0-9 . _ -, starting with a letter or "
                             "digit, holding no CPR number)"),
        # `hub` is the hub's own name: the actor of its own records in
        # the audit trail, the sender of recorded actions in the log.
        # `hubctl` is the agency of the assignments hubctl logs: an
        # adapter of that name could pass its events off as the
        # municipality's own.
        (["register-agency", "hub", "--key", key_b],
         "register-agency: 'hub' is the hub's own name (in the audit "
         "trail and the log): choose another id"),
        (["register-agency", "hubctl", "--types", "assignment", "--key",
          key_b],
         "register-agency: 'hubctl' is hubctl's own name (the agency of "
         "its assignments in the log): choose another id"),
        *[([f"register-{kind}", name, "--key", key_b],
           f"register-{kind}: '{name}' is {owner} own name")
          for name, owner, kinds in (
              ("hub", "the hub's", ("caseworker", "gateway")),
              ("hubctl", "hubctl's", ("caseworker",)))
          for kind in kinds],
        (["register-caseworker", "c" * 64],
         f"register-caseworker: '{'c' * 64}' is not a valid id"),
        (["stats", "--log_map_mb", "0"], "log_map_mb must be a whole number"),
        (["stats", "--data_dir", ""], "data_dir must name a directory"),
        (["keygen", "x", "--keys_dir", ""], "keys_dir must name a directory"),
        # An id that is no id is a usage error for assign too, not an
        # unregistered caseworker (exit 1); swapped arguments would put
        # the CPR there, so the value is not quoted.
        (["assign", "--cpr", cpr, "--caseworker", "CW Anna"],
         "assign: --caseworker is not a valid id (1-63 of a-z 0-9 . _ -, "
         "starting with a letter or digit, holding no CPR number)"),
        (["assign", "--caseworker", cpr[:6] + " " + cpr[6:], "--cpr",
          "cw-anna"], "assign: --caseworker is not a valid id"),
    ]
    for args, message in cases:
        p = hub.hubctl(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert f"hubctl: {message}" in p.stderr, (args, p.stderr)
        assert cpr[6:] not in p.stderr, (args, p.stderr)
    registered = hub.hubctl("audit", "show", "--json").stdout
    assert "school-b" not in registered
    assert hub.stats()["principals"] == 3    # school-a, cw-anna, desk-dora
    assert hub.stats()["assignments"] == 0
    assert hub.stats()["audit_records"] == audit_before + 1  # the show
    # The same commands with good values work.
    hub.register_agency("school-b", "absence,dropout")
    assert hub.hubctl("log", "--after", "0", "--limit", "1").returncode == 0


def test_hubctl_checks_the_hubd_settings_it_uses_only(make_hub):
    """OPERATIONS.md: hubctl checks data_dir, keys_dir and the map sizes
    among hubd's settings and takes the others as they are (hubd
    --check-config is what checks a hubd.conf)."""
    hub = make_hub()
    p = hub.hubctl("stats", "--batch_max", "0", "--log_level", "loud",
                   check=False)
    assert p.returncode == 0, p.stderr
    p = hub.hubctl("stats", "--derived_map_mb", "0", check=False)
    assert (p.returncode, p.stderr) == (
        2, "hubctl: derived_map_mb must be a whole number from 1 to "
        "16777216\n"), p.stderr


def test_mkman_without_the_programs_writes_no_page(tmp_path):
    """OPERATIONS.md: deploy/man/mkman.py build/release/bin makes the man
    pages from each program's --help. Given a directory without them it
    says which program it could not run (exit 1, no traceback) and
    leaves every page as it was."""
    before = {p.name: p.read_bytes()
              for p in (hubtest.ROOT / "deploy" / "man").glob("*.1")}
    p = subprocess.run([sys.executable, str(hubtest.ROOT / "deploy" / "man" /
                                            "mkman.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (
        1, f"mkman.py: {tmp_path}/hubd --help failed: No such file or "
        "directory (build the programs first: make); no page written\n"), \
        p.stderr
    assert {p.name: p.read_bytes() for p in
            (hubtest.ROOT / "deploy" / "man").glob("*.1")} == before


def test_whole_numbers_are_taken_up_to_the_range_they_name(make_hub):
    """hubctl log: the refusal names the range 0 to 9223372036854775807;
    its top value is taken (and, as any, with leading zeros), one above
    it is refused in the same words."""
    hub = make_hub()
    top = "9223372036854775807"
    for args in (["--after", top], ["--limit", top],
                 ["--after", "0" * 30 + "1", "--limit", "1"]):
        p = hub.hubctl("log", *args, check=False)
        assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), (args, p)
    for name in ("after", "limit"):
        p = hub.hubctl("log", f"--{name}", "9223372036854775808",
                       check=False)
        assert (p.returncode, p.stderr) == (
            2, f"hubctl: log: {name} must be a whole number from 0 to "
            f"{top}\n"), p.stderr
    # --help names the same range, not an unbounded "0 or more".
    text = hub.hubctl("--help", config=False).stdout
    for name in ("after", "limit"):
        said = text.split(f"\n  --{name} VALUE\n", 1)[1].split("\n", 1)[0]
        assert f"(0-{top}" in said, said


def test_hubctl_refuses_an_option_of_another_command(make_hub, tmp_path):
    """OPERATIONS.md: an option given on the command line to a command it
    does not belong to is a usage error naming it (exit 2), found before
    the store is opened: nothing done, nothing audited. hubd's settings
    are taken by every command; "--" ends the options."""
    hub = make_hub()
    cpr = hubtest.CprGen(8502).next()
    hub.cprs.add(cpr)
    hub.keygen("cw-zed")
    audit_before = hub.stats()["audit_records"]
    csv = hub.inputs_dir / "assign.csv"
    csv.write_text(f"cpr;caseworker\n{cpr};cw-anna\n")
    cases = [
        (["stats", "--cpr", cpr], "stats: --cpr does not apply to stats"),
        (["log", "--year", "2026"], "log: --year does not apply to log"),
        (["audit", "verify", "--json"],
         "audit verify: --json does not apply to audit verify"),
        (["audit", "show", "--out", "x"],
         "audit show: --out does not apply to audit show"),
        (["report", "--year", "2026", "--out", str(tmp_path / "r.html"),
          "--json"], "report: --json does not apply to report"),
        (["register-caseworker", "cw-zed", "--types", "absence"],
         "register-caseworker: --types does not apply to "
         "register-caseworker"),
        (["register-agency", "school-a", "--desk"],
         "register-agency: --desk does not apply to register-agency"),
        (["export", "--cpr", cpr, "--reason", "x"],
         "export: --reason does not apply to export"),
        (["erase", "--cpr", cpr, "--reason", "a ruling", "--out", "x"],
         "erase: --out does not apply to erase"),
        (["backup", str(tmp_path / "bk"), "--json"],
         "backup: --json does not apply to backup"),
        (["keygen", "cw-zed2", "--desk"], "keygen: --desk does not apply"),
        (["assign", "--file", str(csv), "--from", "2026-01-01"],
         "assign: --from does not apply with --file"),
        (["assign", "--file", str(csv), "--cpr", cpr],
         "assign: --cpr does not apply with --file"),
        # A --role meant for every row would be dropped without a word:
        # counsellors stored as contact persons, who get every alert.
        (["assign", "--file", str(csv), "--role", "guidance"],
         "assign: --role does not apply with --file (the file's role "
         "column decides)"),
    ]
    for args, message in cases:
        p = hub.hubctl(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr == f"hubctl: {message}" + \
            p.stderr[len(message) + 8:] and len(p.stderr.splitlines()) == 1, \
            (args, p.stderr)
    assert not (tmp_path / "bk").exists()
    assert not (tmp_path / "r.html").exists()
    assert not (hub.keys_dir / "cw-zed2.key").exists()
    assert "cw-zed" not in hub.hubctl("audit", "show").stdout
    assert hub.stats()["audit_records"] == audit_before + 1  # the show
    assert hub.stats()["assignments"] == 0
    # hubd's settings go with every command, and an option in a --config
    # file is not refused: hubd.conf is shared.
    conf = tmp_path / "extra.conf"
    conf.write_text("json = true\n")
    assert hub.hubctl("stats", "--batch_max", "5").returncode == 0
    p = hub.hubctl("audit", "--config", str(conf), "verify")
    assert p.returncode == 0, p.stderr
    # The others' values are left alone; a yes/no one is checked by all.
    conf.write_text("after = x\ntypes = nonsense\n")
    assert hub.hubctl("stats", "--config", str(conf)).returncode == 0
    conf.write_text("\ndesk = maybe\n")
    p = hub.hubctl("stats", "--config", str(conf), check=False)
    assert (p.returncode, p.stderr) == (
        2, f"hubctl: {conf}:2: desk must be true or false (or yes/no, "
        "on/off, 1/0), not 'maybe'\n"), p.stderr
    # "--" ends the options: an address after it is an argument.
    p = hub.hubctl("set-email", "cw-anna", "--", "-", check=False)
    assert p.returncode == 1 and "has no address" in p.stderr, p.stderr
    assert hub.hubctl("--config", str(hub.conf), "--", "stats",
                      config=False).returncode == 0


def test_assign_refuses_a_web_gateway_as_caseworker(make_hub):
    """OPERATIONS.md, Contact persons: an unregistered caseworker is exit
    1, nothing stored. A web gateway is registered beside the caseworkers
    but is none (alerts addressed to it would reach no one): refused the
    same way, on the command line and in a file's row."""
    hub = make_hub(start=False)
    cpr = hubtest.CprGen(8504).next()
    hub.cprs.add(cpr)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    p = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "web-1",
                   check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: caseworker: this id is a web gateway (hubctl "
        "register-gateway), not a caseworker\n"), p.stderr
    csv = hub.inputs_dir / "assign.csv"
    csv.write_text(f"cpr;caseworker\n{cpr};web-1\n{cpr};cw-anna\n")
    p = hub.hubctl("assign", "--file", str(csv), check=False)
    assert p.returncode == 1, p.stderr
    assert p.stderr == f"{csv}:2: column caseworker: this id is a web " \
        "gateway (hubctl register-gateway), not a caseworker\n", p.stderr
    assert p.stdout == "assignments: 1 new, 0 already known, 1 rejected\n"
    assert [json.loads(line)["agency"] for line in
            hub.hubctl("log", "--json").stdout.splitlines()] == ["hubctl"]


def test_hubctl_on_a_data_dir_without_a_store_makes_none(make_hub,
                                                         tmp_path):
    """A wrong data_dir (a typo in a nightly backup's config) must not
    become an empty store that is backed up, counted or verified as a
    success: only register-* (before hubd's first start) and restore
    make a store."""
    hub = make_hub()
    cpr = hubtest.CprGen(8501).next()
    hub.cprs.add(cpr)
    typo = tmp_path / "typo" / "data"
    for args in (["backup", str(tmp_path / "bk")], ["stats"], ["log"],
                 ["audit", "verify"], ["audit", "show"],
                 ["export", "--cpr", cpr],
                 ["erase", "--cpr", cpr, "--reason", "a ruling"],
                 ["set-email", "duty-desk", "vagt@kommune.example.dk"],
                 ["report", "--year", "2026", "--out",
                  str(tmp_path / "r.html")]):
        p = hub.hubctl(*args, "--data_dir", str(typo), check=False)
        assert p.returncode == 1, (args, p.returncode, p.stderr)
        assert f"hubctl: {args[0]}: no store in {typo} (data_dir)" in \
            p.stderr, (args, p.stderr)
    # A usage error is found first, store or no store (exit 2).
    for args, message in (
            (["set-email", "cw-anna"], "set-email: missing ADDRESS"),
            (["set-email", "cw-anna", "anna"],
             "set-email: 'anna' is not a plain address"),
            (["export"], "export needs --cpr CPR")):
        p = hub.hubctl(*args, "--data_dir", str(typo), check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert p.stderr.startswith(f"hubctl: {message}"), (args, p.stderr)
    assert not typo.exists() and not (tmp_path / "bk").exists()
    # keygen needs no store (keys are made before there is one), and
    # makes none.
    hub.hubctl("keygen", "school-z", "--data_dir", str(typo))
    assert not typo.exists()
    hub.hubctl("register-agency", "school-z", "--data_dir", str(typo))
    assert (typo / "log" / "data.mdb").exists()


def test_revoke_of_an_unknown_id_and_an_unreadable_key_as_help_says(
        make_hub, tmp_path):
    """hubctl --help: revoke-* of an id not registered as that kind
    changes nothing, exit 1, audited not-found; a register-* whose key
    file cannot be read is exit 1, nothing changed or audited."""
    hub = make_hub()
    text = " ".join(hub.hubctl("--help").stdout.split())
    assert "revoke-*: an id not registered as that kind changes nothing: " \
        "exit 1, audited 'not-found'" in text, text
    assert "a key file that cannot be read: exit 1, nothing changed or " \
        "audited" in text, text
    before = hub.hubctl("audit", "show", "--json").stdout.splitlines()
    for kind in ("agency", "caseworker", "gateway"):
        p = hub.hubctl(f"revoke-{kind}", "nobody-here", check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: revoke: no {kind} 'nobody-here' is "
            "registered\n"), p
        p = hub.hubctl(f"register-{kind}", "nobody-here", "--key",
                       str(tmp_path / "missing.key"), check=False)
        assert p.returncode == 1 and p.stdout == "" and p.stderr.startswith(
            "hubctl: cannot read the public key: cannot open "), p
    recs = [json.loads(line) for line in
            hub.hubctl("audit", "show", "--json").stdout.splitlines()
            [len(before) + 1:]]
    assert [(r["action"], r["result"], r["detail"]) for r in recs
            if r["action"] != "audit-show"] == [
        (f"revoke-{kind}", "not-found", "nobody-here")
        for kind in ("agency", "caseworker", "gateway")], recs


def test_a_change_stands_when_its_line_cannot_be_written(make_hub):
    """OPERATIONS.md, Registering who may connect: a writing command's
    line is printed once the change is stored; standard output on a full
    disk does not undo it: exit 0, the change there."""
    hub = make_hub()
    hub.keygen("cw-full")
    with open("/dev/full", "w") as full:
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), "register-caseworker", "cw-full"],
                           stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=60)
    assert p.returncode == 0, p.stderr
    recs = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--actor", hubtest_actor(), "--json")
        .stdout.splitlines()]
    assert ("register-caseworker", "ok") in [
        (r["action"], r["result"]) for r in recs if
        r["detail"].startswith("cw-full ")], recs
    p = hub.hubctl("revoke-caseworker", "cw-full")
    assert p.stdout == "revoked caseworker cw-full\n"


def test_a_closed_standard_output_or_input_is_one_that_cannot_be_used(
        make_hub):
    """OPERATIONS.md: output that cannot be written is exit 1, `hubctl:
    stats: cannot write standard output: WHY`; set-password's standard
    input that cannot be read is `cannot read standard input: WHY`. One
    closed by the caller (`>&-`, `<&-` in a script) is such a one: not
    the next file hubctl opens, which would have taken its number and
    had stats written into the store's lock file, or the password read
    from it."""
    hub = make_hub(start=False)
    lock = hub.data_dir / "log" / "lock.mdb"
    before = lock.read_bytes()
    hubctl = f"{hubtest.binary('hubctl')} --config {hub.conf}"
    for cmd, rc, err in (
            ("stats >&-", 1, "hubctl: stats: cannot write standard "
             "output: Bad file descriptor\n"),
            ("set-password cw-anna <&-", 1, "hubctl: set-password: cannot "
             "read standard input: Bad file descriptor\n"),
            # A writing command's change stands all the same.
            ("register-caseworker cw-anna --desk >&-", 0, "")):
        cmd = cmd.split(" ", 1)
        p = subprocess.run(["bash", "-c", f"{hubtest.binary('hubctl')} "
                            f"{cmd[0]} --config {hub.conf} {cmd[1]}"],
                           capture_output=True, text=True, timeout=60)
        assert (p.returncode, p.stderr) == (rc, err), (cmd, p)
    after = lock.read_bytes()
    assert b"log_events" not in after and len(after) == len(before)
    recs = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--actor", hubtest_actor(), "--json")
        .stdout.splitlines()]
    assert [(r["action"], r["result"]) for r in recs][-2:] == [
        ("set-password", "failed"), ("register-caseworker", "ok")], recs


def hubtest_actor():
    import pwd
    return "hubctl:" + pwd.getpwuid(os.geteuid()).pw_name


def test_an_empty_key_option_is_no_key_file(make_hub):
    """OPERATIONS.md, Replacing and revoking keys: --key "" (an unset
    variable in a key replacement's script) names no file: exit 2,
    nothing changed or recorded -- not keys_dir/ID.key, perhaps the
    very key being replaced, registered again as a success."""
    hub = make_hub()
    before = hub.hubctl("audit", "show", "--json").stdout.count("\n")
    for kind in ("agency", "caseworker", "gateway"):
        for args in (["--key", ""], ["--key="]):
            p = hub.hubctl(f"register-{kind}", "school-a", *args,
                           check=False)
            assert (p.returncode, p.stdout, p.stderr) == (
                2, "", f"hubctl: register-{kind}: --key names no file "
                "(leave it out for keys_dir/ID.key)\n"), p
        # A `key =` line left empty in a --config file (hubctl's own
        # options file, "Registering who may connect") is the same
        # mistake: refused with its file and line, as every bad value
        # read from a file.
        ops = hub.tmp / "ops.conf"
        ops.write_text("# hubctl's options\nkey =\n")
        p = hub.hubctl(f"register-{kind}", "--config", str(ops), "school-a",
                       check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            2, "", f"hubctl: {ops}:2: register-{kind}: --key names no "
            "file (leave it out for keys_dir/ID.key)\n"), p
    recs = hub.hubctl("audit", "show", "--json").stdout.splitlines()
    assert len(recs) == before + 1, recs[before:]  # the first show's own


def test_hubctl_usage_errors_say_what_operations_md_quotes(tmp_path):
    """OPERATIONS.md, Registering who may connect: the words of an
    unknown or missing command, a missing or extra argument, each exit 2
    with that one line, nothing made."""
    data = tmp_path / "data"
    for args, line in (
            ([], "hubctl: unknown or missing command (see --help)"),
            (["frobnicate"], "hubctl: unknown or missing command (see "
             "--help)"),
            (["-x"], "hubctl: unknown option -x (see --help)"),
            (["--x"], "hubctl: unknown option --x (see --help)"),
            (["register-agency"], "hubctl: register-agency needs ID (see "
             "--help)"),
            (["set-password"], "hubctl: set-password needs CASEWORKER (see "
             "--help)"),
            (["audit"], "hubctl: audit needs verify or show (see --help)"),
            (["audit", "list"], "hubctl: audit needs verify or show (see "
             "--help)"),
            (["register-agency", "school-a", "X"], "hubctl: register-agency: "
             "unexpected argument 'X' (see --help)"),
            (["set-email", "cw-anna"], "hubctl: set-email: missing ADDRESS "
             "(or - to remove it)"),
            (["backup", ""], "hubctl: backup needs DIR (see --help)"),
            (["backup", "/tmp/" + "d" * 508], "hubctl: backup: DIR is "
             "longer than 512 bytes"),
            (["restore", "/tmp/" + "d" * 508], "hubctl: restore: DIR is "
             "longer than 512 bytes")):
        p = subprocess.run([hubtest.binary("hubctl"), *args, "--data_dir",
                            str(data), "--keys_dir", str(tmp_path / "k")],
                           capture_output=True, text=True, timeout=60)
        assert (p.returncode, p.stdout, p.stderr) == (2, "", line + "\n"), \
            (args, p)
    assert not data.exists() and not (tmp_path / "k").exists()


def test_a_short_unknown_option_after_the_command_is_one_too(make_hub):
    """OPERATIONS.md, Registering who may connect: an unknown option is
    `hubctl: unknown option --x (see --help)`, `-x` alike, exit 2, for
    every hubctl command: also where it follows the command or its id
    (`hubctl stats -x`), not an "unexpected argument" or an id that is
    not one. After `--` the word is an argument, taken as it is."""
    hub = make_hub(start=False)
    before = hub.hubctl("audit", "show", "--json").stdout.splitlines()
    for args in (["stats", "-x"], ["register-agency", "-x"],
                 ["register-agency", "school-q", "-x"],
                 ["audit", "show", "-j"], ["backup", "-n"],
                 ["set-email", "-q", "a@example.org"]):
        p = hub.hubctl(*args, check=False)
        dashed = [a for a in args if a.startswith("-")][0]
        assert (p.returncode, p.stdout, p.stderr) == (
            2, "", f"hubctl: unknown option {dashed} (see --help)\n"), p
    p = hub.hubctl("register-agency", "--", "-x", check=False)
    assert (p.returncode, p.stderr) == (
        2, "hubctl: register-agency: '-x' is not a valid id (1-63 of "
        "a-z 0-9 . _ -, starting with a letter or digit, holding no CPR "
        "number)\n"), p
    # set-email's ADDRESS is checked as one ("not starting with -").
    p = hub.hubctl("set-email", "cw-anna", "-q", check=False)
    assert (p.returncode, p.stderr) == (
        2, "hubctl: set-email: '-q' is not a plain address "
        "(name@example.dk)\n"), p
    after = hub.hubctl("audit", "show", "--json").stdout.splitlines()
    assert len(after) == len(before) + 1, after[len(before):]


def test_a_store_hubctl_may_not_read_is_not_called_missing(tmp_path):
    """OPERATIONS.md, "Registering who may connect": a data_dir that has
    a store this user may not look into (hubctl run without sudo) is
    named as one hubctl cannot open, with why, not as a data_dir
    without a store ("hubd makes it at its first start"), which would
    send the operator to look for a lost store."""
    import pwd
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("needs root to run hubctl as another user")
    svc = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="ug-perm-"))
    try:
        os.chmod(top, 0o755)
        keys, data = top / "keys", top / "data"
        hubctl = hubtest.binary("hubctl")
        common = ["--keys_dir", str(keys), "--data_dir", str(data)]
        for args in (["keygen", "hub"], ["keygen", "cw-anna"],
                     ["register-caseworker", "cw-anna"]):
            subprocess.run([hubctl, *args, *common], check=True,
                           capture_output=True, timeout=60)

        def as_nobody(*args):
            def demote():
                os.setgroups([])
                os.setgid(svc.pw_gid)
                os.setuid(svc.pw_uid)
            return subprocess.run([hubctl, *args, *common],
                                  capture_output=True, text=True,
                                  timeout=60, preexec_fn=demote)

        p = as_nobody("stats")
        assert p.returncode == 1 and p.stdout == "", p
        assert p.stderr == "hubctl: cannot open the hub's keys and " \
            f"store: cannot open {keys}/hub.key_secret: Permission " \
            "denied\n", p.stderr
        os.chmod(keys, 0o755)
        os.chmod(keys / "hub.key_secret", 0o644)
        for args in (["stats"], ["audit", "verify"], ["log"]):
            p = as_nobody(*args)
            assert p.returncode == 1 and p.stdout == "", (args, p)
            assert "no store" not in p.stderr, (args, p.stderr)
            assert p.stderr.endswith(
                "hubctl: cannot open the hub's keys and store: cannot "
                f"open {data}/log: Permission denied\n"), (args, p.stderr)
        os.chmod(data, 0o755)
        p = as_nobody("stats")
        assert p.returncode == 1 and p.stderr.endswith(
            "hubctl: cannot open the hub's keys and store: cannot open "
            "LMDB environment: Permission denied\n"), p.stderr
    finally:
        shutil.rmtree(top, ignore_errors=True)


# -- hubctl backup / restore


def test_backup_under_load_restores_every_acked_event(make_hub, tmp_path):
    import json
    import stat
    import threading

    hub = make_hub()
    cprs = hubtest.CprGen(8001).take(50)
    hub.cprs.update(cprs)
    acked = []          # event ids in ack order, appended by the loader
    failures = []
    started = threading.Event()

    def load():
        try:
            with hubtest.IngestClient(hub, "school-a") as client:
                for i in range(3000):
                    env = hubtest.envelope("school-a", cprs[i % len(cprs)],
                                           salt=f"load-{i}")
                    ack = client.ack_for(hubtest.frame(env))
                    assert ack.status == hubtest.ACCEPTED, ack
                    acked.append(env.event_id)
                    if i == 300:
                        started.set()
        except BaseException as e:  # reported by the test thread
            failures.append(e)
            started.set()

    loader = threading.Thread(target=load)
    loader.start()
    assert started.wait(60)
    before = set(acked)     # every one of these was acked before backup
    backup = tmp_path / "backup"
    p = hub.hubctl("backup", str(backup))
    still_loading = loader.is_alive()
    loader.join(120)
    assert not failures, failures
    assert still_loading, "the load ended before the backup did"
    assert len(acked) == 3000

    manifest_path = backup / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert stat.S_IMODE(manifest_path.stat().st_mode) == 0o600
    for name in ("log", "ids", "derived"):
        data = backup / name / "data.mdb"
        assert stat.S_IMODE(data.stat().st_mode) == 0o600
        assert not (backup / name / "lock.mdb").exists()
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    assert manifest["store_format"] == 4
    assert manifest["log_events"] >= len(before)
    assert manifest["log_last_seq"] >= manifest["log_events"]
    assert manifest["audit_verified"] and manifest["audit_intact"]
    assert manifest["audit_head"] == manifest["audit_records"] > 0
    # OPERATIONS.md: one line on stdout with the manifest's figures.
    assert p.stdout == (
        f"backup in {backup}: log up to sequence "
        f"{manifest['log_last_seq']} ({manifest['log_events']} events), "
        f"audit trail {manifest['audit_records']} records (intact)\n"), \
        p.stdout
    # A second backup into the same directory is refused.
    again = hub.hubctl("backup", str(backup), check=False)
    assert again.returncode == 1 and "not empty" in again.stderr
    shown = hub.hubctl("audit", "show", "--json").stdout
    assert '"action": "backup"' in shown
    hub.stop()

    # Restore into an empty data_dir of the same hub (same keys).
    old_data = hub.data_dir
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    # With another hub key the copy does not open: nothing is left
    # behind, and the right key can restore into the same data_dir.
    other_keys = tmp_path / "other-keys"
    hub.hubctl("keygen", "--keys_dir", str(other_keys), "hub", config=False)
    other_conf = tmp_path / "other-hubd.conf"
    other_conf.write_text(hub.conf.read_text().replace(
        f"keys_dir = {hub.keys_dir}", f"keys_dir = {other_keys}"))
    wrong = subprocess.run([hubtest.binary("hubctl"), "restore", "--config",
                            str(other_conf), str(backup)],
                           capture_output=True, text=True, timeout=120)
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    # Word for word as OPERATIONS.md "Store format" quotes it.
    assert ("hubctl: cannot open the hub's keys and store: the hub's "
            "storage key does not open this store (another "
            "hub.key_secret?)") in wrong.stderr, wrong.stderr
    assert "nothing restored" in wrong.stderr, wrong.stderr
    assert not hub.data_dir.exists() or \
        not any(p.is_file() for p in hub.data_dir.rglob("*")), \
        list(hub.data_dir.rglob("*"))
    hub.hubctl("restore", str(backup))
    # Not into a directory that holds anything.
    refused = hub.hubctl("restore", str(backup), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr
    # Nor from a directory that is not a backup.
    notbackup = hub.hubctl("restore", str(tmp_path), check=False)
    assert notbackup.returncode == 1 and "manifest" in notbackup.stderr
    # Derived state from scratch: hubd rebuilds it from the restored log.
    for f in (hub.data_dir / "derived").iterdir():
        f.unlink()
    hub.start()
    st = hub.wait_stats("derived state rebuilt",
                        lambda s: s["last_applied"] == s["last_seq"],
                        timeout=60)
    assert st["log_events"] >= manifest["log_events"]
    assert st["last_seq"] == manifest["log_last_seq"]
    assert st["person_index_entries"] >= st["log_events"] > 0
    stored = {bytes.fromhex(json.loads(line)["event_id"]) for line in
              hub.hubctl("log", "--json").stdout.splitlines()
              if line.startswith("{")}
    assert before <= stored, f"{len(before - stored)} acked events lost"
    verify = hub.hubctl("audit", "verify", check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # The restore is in the trail; the backup's own record came after
    # the copy, so only the old store has it.
    shown = hub.hubctl("audit", "show", "--json").stdout
    assert '"action": "restore"' in shown
    assert '"action": "backup"' not in shown


def test_what_a_restore_keeps_and_how_lost_events_come_back(make_hub,
                                                           tmp_path):
    """OPERATIONS.md, Backup and restore: an alert acknowledged before the
    backup stays acknowledged; one open at the backup and acknowledged
    after it is open again and delivered again; an event acked after the
    backup is gone with its alert. The adapter does not send it again by
    itself (its outbox remembers the ack): with the outbox moved aside,
    importing the exports again gives the hub the lost events, and the
    ones it holds are DUPLICATE."""
    import shutil

    hub = make_hub()
    cprs = hubtest.CprGen(8405).take(6)
    for c in cprs:
        hub.assign(c, "cw-anna")
    week1, _ = hub.csv("week1.csv", [hubtest.AbsenceRow(c, absent=30)
                                     for c in cprs[:2]])
    week2, _ = hub.csv("week2.csv", [
        hubtest.AbsenceRow(c, absent=30, period_start="2024-05-13",
                           period_end="2024-05-17") for c in cprs[2:]])
    assert hub.adapter("import", week1).summary["accepted"] == 2
    hub.wait_applied()
    rc, acked_before, _ = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and len(acked_before) == 1
    held = hub.stats()["log_events"]    # the assignments and week 1
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    assert hub.adapter("import", week2).summary["accepted"] == 4
    hub.wait_applied()
    rc, acked_after, _ = hub.inbox("cw-anna", max_alerts=5, idle_exit=10)
    assert rc == 0 and len(acked_after) == 5
    hub.stop()

    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    hub.hubctl("restore", str(backup))
    hub.start()
    st = hub.stats()
    assert (st["log_events"], st["alerts"], st["alerts_open"]) == \
        (held, 2, 1)
    reopened = hub.peek("cw-anna", 1)
    assert reopened[0]["alert_id"] != acked_before[0]["alert_id"]
    assert reopened[0]["alert_id"] in {a["alert_id"] for a in acked_after}

    again = hub.adapter("import", week2)
    assert (again.summary["queued"], again.summary["duplicates"]) == (0, 4)
    assert hub.stats()["log_events"] == held
    shutil.move(hub.outbox_dir(), tmp_path / "outbox-before-restore")
    resent = hub.adapter("import", week1, week2)
    assert resent.rc == 0, resent
    assert (resent.summary["accepted"], resent.summary["duplicates"]) == \
        (4, 2), resent.summary
    st = hub.wait_applied()
    assert (st["log_events"], st["alerts"]) == (held + 4, 6)


def test_set_email_takes_the_addresses_operations_md_describes(make_hub):
    """OPERATIONS.md, E-mail notices: 3-255 bytes of printable ASCII, one
    @ with text on both sides, none of the listed characters, not
    starting with -; an apostrophe is part of many a name."""
    hub = make_hub(start=False)
    for good in ("a@b", "o'brien@kommune.example.dk",
                 "a" * 250 + "@b.dk"):
        p = hub.hubctl("set-email", "cw-anna", good, check=False)
        assert (p.returncode, p.stdout) == (
            0, f"e-mail notices of new alerts for cw-anna go to {good}\n"), \
            (good, p.stderr)
    for bad in ("@b", "a@", "a@b@c", "-a@b", 'a"b@c', "a(b)@c", "a,b@c",
                "a:b@c", "a;b@c", "a<b@c", "a[b]@c", "a\\b@c", "a b@c",
                "\u00e6@b.dk", "a" * 251 + "@b.dk"):
        p = hub.hubctl("set-email", "cw-anna", bad, check=False)
        assert p.returncode == 2 and p.stderr == (
            f"hubctl: set-email: '{bad}' is not a plain address "
            "(name@example.dk)\n"), (bad, p.returncode, p.stderr)


def test_admin_commands_say_what_they_did(make_hub, tmp_path):
    """OPERATIONS.md, "Registering who may connect": what register-*,
    revoke-*, set-password, set-email and export print when done."""
    hub = make_hub()
    out = []
    for kind, flag in (("agency", ()), ("caseworker", ("--desk",)),
                       ("gateway", ())):
        hub.keygen(f"x-{kind}")
        key = hubtest.read_key_file(hub.keys_dir / f"x-{kind}.key")["public"]
        p = hub.hubctl(f"register-{kind}", f"x-{kind}", *flag)
        assert p.stdout == f"registered {kind} x-{kind} (key {key[:8]}...)\n"
        out.append(hub.hubctl(f"revoke-{kind}", f"x-{kind}").stdout)
    assert out == ["revoked agency x-agency\n",
                   "revoked caseworker x-caseworker\n",
                   "revoked gateway x-gateway\n"]
    for kind in ("agency", "caseworker", "gateway"):
        p = hub.hubctl(f"revoke-{kind}", f"x-{kind}", check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: revoke: no {kind} 'x-{kind}' is registered\n")
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "set-password", "cw-anna"], input="long enough\n",
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (
        0, "password set for cw-anna; their open web sessions end\n")
    assert hub.hubctl("set-email", "cw-anna", "anna@example.dk").stdout == \
        "e-mail notices of new alerts for cw-anna go to anna@example.dk\n"
    assert hub.hubctl("set-email", "cw-anna", "-").stdout == \
        "no more e-mail notices for cw-anna\n"
    cpr = hubtest.CprGen(8202).next()
    hub.cprs.add(cpr)
    hub.send(hubtest.envelope("school-a", cpr, salt="said"))
    p = hub.hubctl("export", "--cpr", cpr, "--out", str(tmp_path / "e.json"))
    assert (p.stdout, p.stderr) == ("", "hubctl: exported 1 events (0 "
                                    "actions), 0 alerts, 0 audit records "
                                    "to a file\n")
    # The document alone on stdout (it holds the CPR: not logged here).
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "export", "--cpr", cpr], capture_output=True,
                       text=True, timeout=60)
    assert (p.returncode, p.stderr) == (0, "")
    assert len(json.loads(p.stdout)["events"]) == 1


def test_log_and_stats_print_the_documented_fields(make_hub):
    hub = make_hub()
    cprs = hubtest.CprGen(8201).take(3)
    envs = [hubtest.envelope("school-a", c, salt=f"fields-{i}")
            for i, c in enumerate(cprs)]
    seqs = hub.send(*envs)
    stats = hub.stats()
    assert set(stats) == {
        "log_events", "last_seq", "last_applied", "event_ids",
        "assignments", "principals", "alerts", "alerts_open",
        "person_index_entries", "timers", "audit_records", "log_bytes",
        "derived_bytes", "ids_bytes", "log_map_bytes", "derived_map_bytes",
        "ids_map_bytes"}
    assert all(isinstance(v, int) for v in stats.values())
    text = hub.hubctl("stats").stdout.split("\n")
    assert f"log_events {stats['log_events']}" in \
        [" ".join(line.split()) for line in text]
    lines = hub.hubctl("log", "--json", "--after", str(seqs[0]),
                       "--limit", "1").stdout.splitlines()
    assert len(lines) == 1
    rec = json.loads(lines[0])
    assert set(rec) == {"seq", "type", "agency", "event_id", "supersedes",
                        "received_at", "person"}
    assert rec["seq"] == seqs[1] and rec["type"] == "AbsenceReport"
    assert rec["agency"] == "school-a" and rec["person"] is True
    assert rec["event_id"] == envs[1].event_id.hex()
    assert rec["supersedes"] == ""
    plain = hub.hubctl("log").stdout.splitlines()
    assert plain[0].split() == [str(seqs[0]), "AbsenceReport", "school-a",
                                envs[0].event_id.hex()]


def test_log_lists_every_record_that_opens_and_names_the_damaged(
        make_hub):
    """OPERATIONS.md, Monitoring and "Records that do not open": a log
    record that does not open with the storage key does not stop `hubctl
    log`. Every record that opens is listed, before and after it, in
    text and --json alike; each damaged one is named on stderr
    (STORE-SEAL) and after the listing, exit 3. --limit counts the
    records listed; a page past the damage is whole, exit 0."""
    from test_62_lifecycle import unread_hub
    hub, _, _, mine, theirs = unread_hub(make_hub)
    damaged = sorted([mine[1], theirs[0]])
    readable = sorted([mine[0], mine[2], theirs[1]])
    summary = (f"hubctl: log incomplete: 2 log records do not open with "
               f"the storage key and are not listed ({damaged[0]}, "
               f"{damaged[1]}; STORE-SEAL above); the others are. Treat "
               f"it as damage to the store: see OPERATIONS.md, \"Records "
               f"that do not open\"")
    p = hub.hubctl("log", check=False)
    assert p.returncode == 3, p
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == \
        readable, p
    for seq in damaged:
        assert f"STORE-SEAL log record {seq} does not open" in p.stderr, p
    assert summary in p.stderr.splitlines(), p
    p = hub.hubctl("log", "--json", check=False)
    assert p.returncode == 3 and summary in p.stderr, p
    assert [json.loads(ln)["seq"] for ln in p.stdout.splitlines()] == \
        readable, p
    # --limit 2: the first two that open, the damaged one between named.
    p = hub.hubctl("log", "--limit", "2", check=False)
    assert p.returncode == 3, p
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == \
        [mine[0], mine[2]], p
    assert f"not listed ({mine[1]}; STORE-SEAL above)" in p.stderr, p
    # A page that meets no damaged record says nothing of them.
    p = hub.hubctl("log", "--after", str(theirs[0]), check=False)
    assert p.returncode == 0 and p.stderr == "", p
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == \
        [theirs[1]], p


def test_log_names_five_damaged_records_and_counts_the_rest(make_hub):
    """OPERATIONS.md, Monitoring: `hubctl log`'s summary names at most
    five records that do not open, then `, ... (N in all)`; each is
    still named by its own STORE-SEAL line, and the one record that
    opens is listed."""
    from test_60_store_at_rest import dump, load
    hub = make_hub()
    cprs = hubtest.CprGen(8421).take(7)
    seqs = hub.send(*[hubtest.envelope("school-a", c, salt=f"six-{i}")
                      for i, c in enumerate(cprs)])
    hub.wait_applied()
    hub.stop()
    log = hub.data_dir / "log"
    damaged = []
    for k, v in dump(log, "log"):
        if int.from_bytes(k, "big") in seqs[:6]:
            v = bytearray(v)
            v[len(v) - 20] ^= 0x01
            damaged.append((k, bytes(v)))
    load(log, "log", damaged)
    p = hub.hubctl("log", check=False)
    assert p.returncode == 3, p
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == \
        [seqs[6]], p
    assert p.stderr.count("STORE-SEAL log record") == 6, p
    first = ", ".join(str(s) for s in seqs[:5])
    assert (f"hubctl: log incomplete: 6 log records do not open with the "
            f"storage key and are not listed ({first}, ... (6 in all); "
            f"STORE-SEAL above)") in p.stderr, p


def test_which_backup_holds_a_damaged_log_record_and_restoring_one_before(
        make_hub, tmp_path):
    """OPERATIONS.md, "Records that do not open": stats, audit verify and
    backup do not open log records and answer as without the damage; a
    backup copies the damaged record as it is, so `hubctl --data_dir COPY
    log` on a copy of each backup tells one taken before the damage
    (exit 0) from one taken since (exit 3); restoring the one before
    gives a log whose every record opens again."""
    import shutil
    hub = make_hub()
    cprs = hubtest.CprGen(8419).take(3)
    seqs = hub.send(*[hubtest.envelope("school-a", c, salt=f"bk-{i}")
                      for i, c in enumerate(cprs)])
    hub.wait_applied()
    before = tmp_path / "before"
    hub.hubctl("backup", str(before))
    from test_60_store_at_rest import damage_log_record
    damage_log_record(hub, seqs[1])
    assert hub.hubctl("log", check=False).returncode == 3
    assert hub.hubctl("stats").returncode == 0
    assert hub.hubctl("audit", "verify").returncode == 0
    since = tmp_path / "since"
    p = hub.hubctl("backup", str(since))
    assert p.returncode == 0 and "STORE-SEAL" not in p.stderr, p

    def log_of_copy(backup):
        copy = tmp_path / f"copy-of-{backup.name}"
        shutil.copytree(backup, copy)
        return hub.hubctl("log", "--data_dir", str(copy), check=False)
    p = log_of_copy(before)
    assert p.returncode == 0 and "STORE-SEAL" not in p.stderr, p
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == seqs, p
    p = log_of_copy(since)
    assert p.returncode == 3, p
    assert f"not listed ({seqs[1]}; STORE-SEAL above)" in p.stderr, p

    hub.stop()
    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    hub.hubctl("restore", str(before))
    hub.start()
    p = hub.hubctl("log")
    assert [int(ln.split()[0]) for ln in p.stdout.splitlines()] == seqs, p
    assert "STORE-SEAL" not in p.stderr, p


def test_a_reader_killed_inside_the_log_is_cleared_and_said(make_hub):
    """OPERATIONS.md, Monitoring: STORE-READERS `cleared N stale reader
    slots`, left by a process killed inside a read (notice); hubd clears
    them every 5 s. A hubctl log killed while it reads log/ leaves one."""
    hub = make_hub()
    cprs = hubtest.CprGen(8208).take(3000)
    with hubtest.IngestClient(hub, "school-a") as c:
        for i, cpr in enumerate(cprs):
            hub.cprs.add(cpr)
            c.send(hubtest.frame(hubtest.envelope("school-a", cpr,
                                                  salt=f"rd-{i}")))
        for _ in cprs:
            c.recv_ack(30)
    # A pipe nobody reads: hubctl blocks writing, inside its read of log/.
    r, w = os.pipe()
    p = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                          str(hub.conf), "log"], stdout=w)
    os.close(w)

    def reading():
        out = subprocess.run(["mdb_stat", "-r", str(hub.data_dir / "log")],
                             capture_output=True, text=True).stdout
        return re.search(rf"^\s*{p.pid}\s+\S+\s+\d+\s*$", out, re.M)
    hubtest.wait_for(reading, 20, "hubctl log inside a read of log/")
    p.kill()
    p.wait()
    os.close(r)
    hub.wait_log(r"hubd notice STORE-READERS cleared [1-9][0-9]* stale "
                 r"reader slots$", timeout=15)


def test_a_plain_copy_of_the_log_restored_by_hand(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: `mdb_copy -c data_dir/log DEST`
    restored by hand into data_dir/log/ of an empty data_dir; hubd
    rebuilds ids/ (STORE-IDS) and derived/ (HUB-REPLAY), and a resend is
    DUPLICATE with its first sequence. An old log under newer derived
    state is rebuilt from the log (HUB-REBUILD, warn)."""
    import shutil

    hub = make_hub()
    cprs = hubtest.CprGen(8401).take(4)
    first = [hubtest.envelope("school-a", c, salt=f"plain-{i}")
             for i, c in enumerate(cprs)]
    seqs = hub.send(*first)
    copy = tmp_path / "plain"
    copy.mkdir()
    subprocess.run(["mdb_copy", "-c", str(hub.data_dir / "log"), str(copy)],
                   check=True)
    hub.send(*[hubtest.envelope("school-a", c, salt=f"later-{i}")
               for i, c in enumerate(cprs)])
    hub.stop()
    # An old log under the newer derived/ and ids/ of the same data_dir.
    shutil.copy(copy / "data.mdb", hub.data_dir / "log" / "data.mdb")
    (hub.data_dir / "log" / "lock.mdb").unlink()
    hub.start()
    assert re.search(r"\bwarn HUB-REBUILD derived state is ahead of the "
                     r"log \(8 > 4\); rebuilding it", hub.current_log())
    st = hub.stats()
    assert (st["last_seq"], st["last_applied"]) == (4, 4), st
    hub.stop()
    # Into an empty data_dir: ids/ and derived/ are made from the log.
    old_data, hub.data_dir = hub.data_dir, tmp_path / "fresh" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    (hub.data_dir / "log").mkdir(parents=True)
    shutil.copy(copy / "data.mdb", hub.data_dir / "log" / "data.mdb")
    hub.start()
    log = hub.current_log()
    assert "STORE-IDS indexed the event ids of 4 log records" in log, log
    assert "HUB-REPLAY applying log entries 1..4" in log, log
    acks = hub.acks(*first)
    assert [(a.status, a.sequence) for a in acks] == \
        [(hubtest.DUPLICATE, s) for s in seqs]


def test_a_backup_without_the_signing_public_key_says_unverified(
        make_hub, tmp_path):
    """OPERATIONS.md, the manifest: without keys_dir/hub.sign_public the
    copy's chain is not checked: audit_verified and audit_intact are
    false, the chain's figures 0, and the backup is still made (exit 0)
    and restores."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"nosign-{i}")
               for i, c in enumerate(hubtest.CprGen(8406).take(3))])
    (hub.keys_dir / "hub.sign_public").rename(tmp_path / "sign_public")
    backup = tmp_path / "backup"
    p = hub.hubctl("backup", str(backup))
    assert "(not verified: no hub.sign_public)" in p.stdout, p.stdout
    m = json.loads((backup / "manifest.json").read_text())
    assert (m["audit_verified"], m["audit_intact"]) == (False, False)
    assert (m["audit_head"], m["audit_checkpoints"],
            m["audit_last_checkpoint"]) == (0, 0, 0)
    assert m["audit_records"] > 0 and m["log_events"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created"])
    assert abs(m["created_ms"] - time.time() * 1000) < 600_000
    hub.stop()
    (tmp_path / "sign_public").rename(hub.keys_dir / "hub.sign_public")
    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    hub.hubctl("restore", str(backup))
    assert hub.hubctl("audit", "verify").returncode == 0


def stopped_after_a_backup(make_hub, tmp_path, seed, events, salt):
    """A hub that stored `events` absence reports (CPRs of CprGen(seed)),
    was backed up to tmp_path/backup and stopped; the hub and DIR."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"{salt}-{i}")
               for i, c in enumerate(hubtest.CprGen(seed).take(events))])
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    return hub, backup


def test_a_restore_without_the_backups_signing_pair_warns(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, restore: keys_dir needs the hub's signing pair as
    well as hub.key_secret. On a new machine given hub.key_secret alone
    (a new signing pair, or none) the data is restored (exit 0) with a
    warning, and audit verify says why; restored again with the backup's
    pair, it verifies."""
    import shutil

    hub, backup = stopped_after_a_backup(make_hub, tmp_path, 8407, 3,
                                         "pair")
    keys = tmp_path / "new-machine-keys"
    shutil.copytree(hub.keys_dir, keys)
    for name in ("hub.sign_public", "hub.sign_secret"):
        (keys / name).unlink()
    data = tmp_path / "new-machine-data"
    conf = tmp_path / "new-machine.conf"
    conf.write_text(hub.conf.read_text()
                    .replace(f"data_dir = {hub.data_dir}",
                             f"data_dir = {data}")
                    .replace(f"keys_dir = {hub.keys_dir}",
                             f"keys_dir = {keys}"))

    def hubctl(*args):
        return subprocess.run([hubtest.binary("hubctl"), "--config",
                               str(conf), *args], capture_output=True,
                              text=True, timeout=60)

    p = hubctl("restore", str(backup))
    assert p.returncode == 0, p.stderr
    assert "hubctl: restore: warning: the restored audit trail cannot be " \
        "verified: " in p.stderr, p.stderr
    assert "restore again" in p.stderr
    shutil.rmtree(data)
    hub.hubctl("keygen", "--keys_dir", str(keys), "hub", config=False)
    p = hubctl("restore", str(backup))
    assert p.returncode == 0, p.stderr
    assert "hubctl: restore: warning: the restored audit trail does not " \
        f"verify with {keys}/hub.sign_public (record 1: " in p.stderr, \
        p.stderr
    v = hubctl("audit", "verify")
    assert v.returncode == 1 and "BROKEN" in v.stdout, v.stdout + v.stderr
    shutil.rmtree(data)
    for name in ("hub.sign_public", "hub.sign_secret"):
        shutil.copy(hub.keys_dir / name, keys / name)
    p = hubctl("restore", str(backup))
    assert p.returncode == 0 and "warning" not in p.stderr, p.stderr
    v = hubctl("audit", "verify")
    assert v.returncode == 0, v.stdout + v.stderr


def test_a_restored_trail_goes_on_from_the_copys_head(make_hub, tmp_path,
                                                     monkeypatch):
    """OPERATIONS.md, restore step 3: the restored trail goes on from the
    manifest's audit_head: the restore's own record is audit_head + 1, a
    number the old store had given its `backup` record, so the witness
    lines logged for the old records past audit_head name a trail that
    is gone, and the restore's own line is where the restored one
    begins."""
    monkeypatch.setenv("UG_LOG_LEVEL", "notice")
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8413).take(1)[0],
                              salt="witness"))
    backup = tmp_path / "backup"
    made = hub.hubctl("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    head = manifest["audit_head"]
    witness = r"STORE-AUDIT checkpoint signed at record (\d+), head ([0-9a-f]{64})"
    old = re.findall(witness, made.stderr)
    assert old and int(old[-1][0]) == head + 1, made.stderr
    hub.stop()
    data = tmp_path / "restored"
    done = hub.hubctl("restore", str(backup), "--data_dir", str(data))
    new = re.findall(witness, done.stderr)
    assert new and int(new[-1][0]) == head + 1, done.stderr
    assert new[-1][1] != old[-1][1]
    v = hub.hubctl("audit", "verify", "--data_dir", str(data))
    assert f"head at record {head + 1}" in v.stdout, v.stdout
    assert f"last checkpoint: record {head + 1}, head {new[-1][1]}" in \
        v.stdout, v.stdout


def test_a_backup_of_a_broken_trail_says_so_and_restores(make_hub,
                                                       tmp_path):
    """OPERATIONS.md, Backup and restore: a copy whose audit chain does
    not verify is still a backup (exit 0, `(BROKEN in the copy)`,
    audit_intact false). Restored with the same signing pair, the warning
    says it was broken already, not that another pair is needed."""
    from test_61_audit import flip_audit_byte
    hub = make_hub()
    hub.stop()
    flip_audit_byte(hub, 1)
    backup = tmp_path / "bk"
    p = hub.hubctl("backup", str(backup))
    assert p.stdout.endswith("records (BROKEN in the copy)\n"), p.stdout
    m = json.loads((backup / "manifest.json").read_text())
    assert (m["audit_verified"], m["audit_intact"]) == (True, False)
    p = hub.hubctl("restore", str(backup), "--data_dir",
                   str(tmp_path / "restored"))
    assert "hubctl: restore: warning: the restored audit trail is broken " \
        "(record 2: " in p.stderr, p.stderr
    assert "as it already was when the backup was made (manifest.json " \
        "audit_intact false)" in p.stderr, p.stderr
    assert "another signing pair" not in p.stderr, p.stderr
    assert p.stdout.startswith(f"restored from {backup}: "), p.stdout


def test_a_restore_onto_a_running_hub_is_refused_by_name(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, restore: hubd stopped first. A restore into the
    data_dir a hubd runs on is refused naming it (exit 1), and the store
    and hubd go on untouched. Once hubd is stopped and its store moved
    aside, the hubd.lock it left behind does not count as content."""
    import shutil

    hub = make_hub()
    envs = [hubtest.envelope("school-a", c, salt=f"busy-{i}")
            for i, c in enumerate(hubtest.CprGen(8408).take(4))]
    seqs = hub.send(*envs)
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    before = hub.stats()
    p = hub.hubctl("restore", str(backup), check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr == (f"hubctl: restore: hubd runs on {hub.data_dir} "
                        f"(pid {hub.proc.pid}): stop it first (a restore "
                        "never replaces the store in use)\n"), p.stderr
    assert hub.running
    assert hub.stats()["log_events"] == before["log_events"]
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8409).next(),
                              salt="busy-after"))
    hub.stop()
    aside = tmp_path / "aside"
    aside.mkdir()
    for name in ("log", "ids", "derived"):
        shutil.move(hub.data_dir / name, aside / name)
    assert [f.name for f in hub.data_dir.iterdir()] == ["hubd.lock"]
    hub.hubctl("restore", str(backup))
    hub.start()
    assert [(a.status, a.sequence) for a in hub.acks(*envs)] == \
        [(hubtest.DUPLICATE, s) for s in seqs]


def test_a_restore_cut_short_leaves_data_dir_empty_for_another_try(
        make_hub, tmp_path):
    """OPERATIONS.md, restore: when the copy cannot be restored, restore
    takes back the files it copied, says so, exits 1, and a second try
    into the same data_dir works."""
    import shutil

    hub = make_hub()
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    broken = tmp_path / "broken"
    shutil.copytree(backup, broken)
    (broken / "log" / "data.mdb").unlink()   # copied last: derived/, ids/
    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    p = hub.hubctl("restore", str(broken), check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"nothing restored; {hub.data_dir} is empty again" in p.stderr
    assert not [f for f in hub.data_dir.rglob("*") if f.is_file()]
    hub.hubctl("restore", str(backup))
    hub.start()


def test_a_damaged_backup_is_refused_and_nothing_is_restored(
        make_hub, tmp_path):
    """OPERATIONS.md, restore: the manifest records each data file's
    length and BLAKE2b-256 (file_bytes, file_blake2b); a file cut short
    or changed is refused with the file named, exit 1, and data_dir is
    left empty (no restore.unfinished), so a good copy restores into it
    at once. A file cut short under a manifest without those figures is
    refused too, from its LMDB header, rather than mapped past its end."""
    import hashlib
    import os
    import shutil

    hub, backup = stopped_after_a_backup(make_hub, tmp_path, 8403, 30,
                                         "dmg")
    manifest = json.loads((backup / "manifest.json").read_text())
    files = ["log/data.mdb", "ids/data.mdb", "derived/data.mdb"]
    assert list(manifest["file_bytes"]) == files
    for name in files:
        data = (backup / name).read_bytes()
        assert manifest["file_bytes"][name] == len(data)
        assert manifest["file_blake2b"][name] == \
            hashlib.blake2b(data, digest_size=32).hexdigest()
    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))

    def cut(path):
        os.truncate(path, path.stat().st_size // 2)

    def flip(path):
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))

    def older(b):
        m = json.loads((b / "manifest.json").read_text())
        del m["file_bytes"], m["file_blake2b"]
        (b / "manifest.json").write_text(json.dumps(m))

    cases = [("log/data.mdb", cut, "bytes, the backup wrote"),
             ("derived/data.mdb", cut, "bytes, the backup wrote"),
             ("log/data.mdb", flip, "its bytes are not the ones the "
              "backup wrote"),
             ("ids/data.mdb", Path.unlink, "No such file"),
             ("log/data.mdb", lambda f: (older(f.parent.parent), cut(f)),
              "but its LMDB header counts")]
    for i, (name, damage, why) in enumerate(cases):
        damaged = tmp_path / f"damaged-{i}"
        shutil.copytree(backup, damaged)
        damage(damaged / name)
        p = hub.hubctl("restore", str(damaged), check=False)
        assert p.returncode == 1, (name, p.returncode, p.stdout, p.stderr)
        first = p.stderr.splitlines()[0]
        assert first.startswith("hubctl: restore: ") and \
            str(damaged / name) in first and why in first, (name, first)
        assert f"nothing restored; {hub.data_dir} is empty again" in \
            p.stderr, p.stderr
        assert not [f for f in hub.data_dir.rglob("*") if f.is_file()], \
            (name, list(hub.data_dir.rglob("*")))
    # A manifest whose figures are themselves damaged turns no check off,
    # a length too large for any file (2^64, no figure the backup
    # writes) included: refused before anything is copied.
    for i, (table, value) in enumerate((
            ("file_blake2b", manifest["file_blake2b"]["log/data.mdb"][:10]),
            ("file_bytes", 2 ** 64))):
        torn = tmp_path / f"torn-manifest-{i}"
        shutil.copytree(backup, torn)
        m = json.loads((torn / "manifest.json").read_text())
        m[table]["log/data.mdb"] = value
        (torn / "manifest.json").write_text(json.dumps(m))
        p = hub.hubctl("restore", str(torn), check=False)
        assert p.returncode == 1, p.stdout + p.stderr
        assert p.stderr == f"hubctl: restore: {torn}/manifest.json is " \
            "damaged: no whole file_bytes and file_blake2b for " \
            "log/data.mdb\n", (table, p.stderr)
        assert not [f for f in hub.data_dir.rglob("*") if f.is_file()]
    # A manifest without its log_last_seq is damaged, not missing.
    noseq = tmp_path / "no-last-seq"
    shutil.copytree(backup, noseq)
    m = json.loads((noseq / "manifest.json").read_text())
    del m["log_last_seq"]
    (noseq / "manifest.json").write_text(json.dumps(m))
    p = hub.hubctl("restore", str(noseq), check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert p.stderr == f"hubctl: restore: {noseq}/manifest.json is " \
        "damaged: no log_last_seq\n", p.stderr
    assert not [f for f in hub.data_dir.rglob("*") if f.is_file()]
    # Files intact, but not the log the manifest describes.
    claims = tmp_path / "claims-more"
    shutil.copytree(backup, claims)
    m = json.loads((claims / "manifest.json").read_text())
    m["log_events"] += 1
    (claims / "manifest.json").write_text(json.dumps(m))
    p = hub.hubctl("restore", str(claims), check=False)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "hubctl: restore: the restored log (sequence 30, 30 events) " \
        "does not match the manifest (30, 31)" in p.stderr, p.stderr
    assert not [f for f in hub.data_dir.rglob("*") if f.is_file()]
    # The same manifest pretty-printed (jq .) is still the manifest.
    (backup / "manifest.json").write_text(json.dumps(manifest, indent=2))
    hub.hubctl("restore", str(backup))
    assert hub.hubctl("audit", "verify").returncode == 0
    assert hub.stats()["log_events"] == 30
    shown = hub.hubctl("audit", "show", "--json").stdout
    assert [json.loads(line)["result"] for line in shown.splitlines()
            if json.loads(line)["action"] == "restore"] == ["ok"]


def test_a_restore_killed_mid_copy_is_not_taken_for_the_store(
        make_hub, tmp_path):
    """OPERATIONS.md, restore: a restore killed during its copy (kill -9,
    the machine stopped) leaves part of a backup in data_dir: derived/
    and ids/ without their log. hubd must not serve that as the store
    (it would answer every resend as new and raise every alert again);
    it refuses to start, exit 1, and so does hubctl. Running restore
    again starts over, and the store is the backup."""
    import os
    import shutil
    import signal

    hub = make_hub()
    envs = [hubtest.envelope("school-a", c, salt=f"cut-{i}")
            for i, c in enumerate(hubtest.CprGen(8402).take(6))]
    seqs = hub.send(*envs)
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    # The log, copied last, never arrives: restore blocks on it.
    stuck = tmp_path / "stuck"
    shutil.copytree(backup, stuck)
    (stuck / "log" / "data.mdb").unlink()
    os.mkfifo(stuck / "log" / "data.mdb")
    old_data, hub.data_dir = hub.data_dir, tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        f"data_dir = {old_data}", f"data_dir = {hub.data_dir}"))
    p = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                          str(hub.conf), "restore", str(stuck)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        hubtest.wait_for(lambda: (hub.data_dir / "log").is_dir(), 20,
                         "restore copying into data_dir")
    finally:
        p.send_signal(signal.SIGKILL)
        p.communicate(timeout=10)
    assert p.returncode == -signal.SIGKILL

    refusal = (f"a restore into {hub.data_dir} did not finish "
               "(restore.unfinished is there): run hubctl restore again, "
               "it starts over")
    hub.start(wait=False)
    rc = hub._reap(15)
    hub.stopped_cleanly = True
    assert rc == 1, hub.current_log()
    assert f"HUB-START cannot start: data_dir: {refusal}" in \
        hub.current_log(), hub.current_log()
    st = hub.hubctl("stats", check=False)
    assert st.returncode == 1, st.stdout + st.stderr
    assert f"hubctl: cannot open the hub's keys and store: {refusal}" \
        in st.stderr, st.stderr

    done = hub.hubctl("restore", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    assert done.stdout == (
        f"restored from {backup}: log up to sequence "
        f"{manifest['log_last_seq']} ({manifest['log_events']} events); "
        f"run hubctl audit verify, then start hubd\n"), done.stdout
    assert not (hub.data_dir / "restore.unfinished").exists()
    hub.start()
    acks = hub.acks(*envs)
    assert [(a.status, a.sequence) for a in acks] == \
        [(hubtest.DUPLICATE, s) for s in seqs]


def test_root_gives_the_service_user_the_directories_it_makes(tmp_path):
    """OPERATIONS.md, Keys and "As a Debian service": keys_dir is made
    with any missing parents, and hubctl run as root gives what it makes
    for hubd the owner of the directory it makes it in. Parents it had
    to make as well are given that owner too (the nearest directory that
    was there decides): root's 0700 directories above keys_dir or
    data_dir would keep hubd, running as its own user, out."""
    import os
    import pwd
    import shutil
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("only root hands files to another user")
    svc = pwd.getpwnam("nobody")
    top = Path(tempfile.mkdtemp(prefix="ug-svc-"))
    try:
        os.chmod(top, 0o755)
        state = top / "state"
        state.mkdir()
        os.chown(state, svc.pw_uid, svc.pw_gid)
        keys = state / "etc" / "keys"
        data = state / "var" / "hub"
        conf = top / "hubd.conf"
        conf.write_text(f"data_dir = {data}\nkeys_dir = {keys}\n")
        for args in (["keygen", "hub"], ["keygen", "cw-anna"],
                     ["register-caseworker", "cw-anna"]):
            p = subprocess.run([hubtest.binary("hubctl"), "--config",
                                str(conf), *args], capture_output=True,
                               text=True, timeout=60)
            assert p.returncode == 0, (args, p.stderr)
        made = [state / "etc", keys, *keys.iterdir(), state / "var", data,
                *data.rglob("*")]
        for f in made:
            st = f.stat()
            assert (st.st_uid, st.st_gid) == (svc.pw_uid, svc.pw_gid), f
        # What was there keeps its owner.
        assert top.stat().st_uid == 0
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_restore_by_root_is_the_service_users_store(make_hub):
    """OPERATIONS.md, Backup and restore: root restores into the data_dir
    of a hubd that runs as its own user (ungebro under the unit), then
    starts hubd. The restored files are the service user's, so that
    hubd opens them, with the events intact."""
    import os
    import pwd
    import shutil
    import stat
    import tempfile

    if os.geteuid() != 0:
        pytest.skip("only root hands files to another user")
    svc = pwd.getpwnam("nobody")
    # Not under pytest's 0700 tmp: the service user must reach it.
    top = Path(tempfile.mkdtemp(prefix="ug-svc-"))
    try:
        os.chmod(top, 0o755)
        hub = make_hub()
        cprs = hubtest.CprGen(8101).take(3)
        hub.cprs.update(cprs)
        hub.send(*[hubtest.envelope("school-a", c, salt=f"svc-{i}")
                   for i, c in enumerate(cprs)])
        backup = top / "backup"
        hub.hubctl("backup", str(backup))
        hub.stop()
        # The service's state directory, as systemd's StateDirectory=
        # makes it; data_dir inside it does not exist yet.
        state = top / "state"
        state.mkdir()
        os.chown(state, svc.pw_uid, svc.pw_gid)
        keys = top / "keys"
        shutil.copytree(hub.keys_dir, keys)
        for f in [keys, *keys.iterdir()]:
            os.chown(f, svc.pw_uid, svc.pw_gid)
        data = state / "hub"
        conf = top / "hubd.conf"
        conf.write_text(hub.conf_elsewhere(data, keys))
        p = subprocess.run([hubtest.binary("hubctl"), "restore", "--config",
                            str(conf), str(backup)],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, p.stdout + p.stderr
        for f in [data, *data.rglob("*")]:
            st = f.stat()
            assert (st.st_uid, st.st_gid) == (svc.pw_uid, svc.pw_gid), f
            assert stat.S_IMODE(st.st_mode) & 0o077 == 0, f

        def as_service():
            os.setgroups([])
            os.setgid(svc.pw_gid)
            os.setuid(svc.pw_uid)

        log = top / "hubd.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([hubtest.binary("hubd"), "--config",
                                     str(conf)], stdout=out,
                                    stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL,
                                    preexec_fn=as_service)
        try:
            hubtest.wait_for(lambda: proc.poll() is not None or
                             "HUB-READY" in log.read_text(), 15,
                             "HUB-READY or an exit")
            assert proc.poll() is None, log.read_text()
        finally:
            proc.terminate()
            assert proc.wait(20) == 0, log.read_text()
        stats = subprocess.run([hubtest.binary("hubctl"), "stats", "--json",
                                "--config", str(conf)],
                               capture_output=True, text=True, timeout=60,
                               preexec_fn=as_service)
        assert stats.returncode == 0, stats.stderr
        assert json.loads(stats.stdout)["log_events"] == 3
    finally:
        shutil.rmtree(top)


def test_the_hubd_unit_is_what_operations_describes():
    """deploy/hubd.service as OPERATIONS.md describes it: notify, its own
    user, data_dir of the example config writable, SIGHUP on reload,
    no core dumps, no restart loop on a bad setting (exit 2), and SIGTERM
    to hubd alone (KillMode=mixed) so that a notice's sendmail finishes."""
    unit = {}
    for line in (hubtest.ROOT / "deploy/hubd.service").read_text() \
            .splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            unit.setdefault(name.strip(), []).append(value.strip())
    assert unit["Type"] == ["notify"]
    assert unit["User"] == ["ungebro"] and unit["Group"] == ["ungebro"]
    assert unit["ExecStart"] == [
        "/usr/local/bin/hubd --config /etc/ungebro/hubd.conf"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    # SIGTERM to hubd only: the sendmail of a notice in flight finishes.
    assert unit["KillSignal"] == ["SIGTERM"]
    assert unit["KillMode"] == ["mixed"]
    assert unit["LimitCORE"] == ["0"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["RestartPreventExitStatus"] == ["2"]
    # Retried however often: systemd's default start limit would give up.
    assert unit["RestartSec"] == ["2"]
    assert unit["StartLimitIntervalSec"] == ["0"]
    conf = (hubtest.ROOT / "deploy/hubd.conf.example").read_text()
    data_dir = next(line.split("=", 1)[1].strip()
                    for line in conf.splitlines()
                    if line.startswith("data_dir"))
    assert data_dir.startswith("/var/lib/" + unit["StateDirectory"][0] +
                               "/")
    assert unit["ProtectSystem"] == ["strict"]


def test_the_example_configs_are_taken_as_they_stand(tmp_path):
    """deploy/hubd.conf.example and adapter.conf.example, the files
    OPERATIONS.md and ADAPTERS.md start from, hold only settings their
    programs take, with values they accept (the paths pointed here)."""
    conf = hubtest.ROOT / "deploy" / "hubd.conf.example"
    p = check_config("--config", str(conf), "--data_dir",
                     str(tmp_path / "data"), "--rules", "")
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "hubd: configuration OK\n", ""), p.stderr
    keys = tmp_path / "keys"
    for name in ("hub", "school-hedemark"):
        subprocess.run([hubtest.binary("hubctl"), "--keys_dir", str(keys),
                        "keygen", name], check=True, capture_output=True)
    p = subprocess.run(
        [hubtest.binary("adapter-school"), "--config",
         str(hubtest.ROOT / "deploy" / "adapter.conf.example"),
         "--keys_dir", str(keys), "--outbox", str(tmp_path / "outbox"),
         "--hub", "tcp://127.0.0.1:1", "flush"],
        capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    assert p.stdout.startswith("summary: rows 0, events 0"), p.stdout


# -- make install / uninstall



def test_backup_into_an_existing_empty_directory_is_closed_to_others(
        make_hub, tmp_path):
    """A backup is as sensitive as the store: DIR ends up 0700 also when
    it existed (empty) with a looser mode, as a mount point or a
    directory someone made beforehand would be."""
    import stat
    hub = make_hub()
    backup = tmp_path / "existing"
    backup.mkdir()
    backup.chmod(0o755)
    hub.hubctl("backup", str(backup))
    assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    for name in ("log", "ids", "derived"):
        assert stat.S_IMODE((backup / name).stat().st_mode) == 0o700


def test_backup_and_restore_refuse_a_target_that_holds_something(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: backup's DIR and restore's
    data_dir must be missing or empty (else exit 1, `... is not empty`);
    a file there is refused alike. Nothing is written or taken back, so
    restore does not claim to have emptied what it never touched."""
    hub = make_hub()
    backup = tmp_path / "bk"
    hub.hubctl("backup", str(backup))
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("keep me\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("keep me\n")
    for target, why in ((full, f"{full} is not empty"),
                        (a_file, f"{a_file} is not empty (not a "
                                 "directory)")):
        p = hub.hubctl("backup", str(target), check=False)
        assert (p.returncode, p.stderr) == (
            1, f"hubctl: backup: {why}\n"), p.stderr
        p = hub.hubctl("restore", str(backup), "--data_dir", str(target),
                       check=False)
        assert (p.returncode, p.stderr) == (
            1, f"hubctl: restore: {why}\n"), p.stderr
    assert sorted(os.listdir(full)) == ["notes.txt"]
    assert a_file.read_text() == (full / "notes.txt").read_text()


SLOW_CHMOD = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
int chmod(const char *path, mode_t mode)
{
	static int (*real)(const char *, mode_t);
	if (!real)
		real = (int (*)(const char *, mode_t))dlsym(RTLD_NEXT, "chmod");
	const char *slow = getenv("SLOW_CHMOD_PATH");
	if (slow && strcmp(path, slow) == 0)
		sleep(3);
	return real(path, mode);
}
"""


def preload_shim(tmp_path, name, source):
    """A small library built from source to load in front of hubctl (the
    test is skipped where no C compiler builds it)."""
    shim, src = tmp_path / (name + ".so"), tmp_path / (name + ".c")
    src.write_text(source)
    if subprocess.run(["cc", "-shared", "-fPIC", "-o", str(shim), str(src),
                       "-ldl"], capture_output=True).returncode != 0:
        pytest.skip("cannot build the %s shim" % name)
    return shim


def preload_env(shim, **extra):
    """The environment that loads shim in front of a program; under
    AddressSanitizer (make asan) its runtime must then not insist on
    coming first."""
    asan = os.environ.get("ASAN_OPTIONS", "")
    return dict(os.environ, LD_PRELOAD=str(shim),
                ASAN_OPTIONS=(asan + ":" if asan else "") +
                "verify_asan_link_order=0", **extra)


def test_two_backups_into_one_dir_do_not_take_each_other_apart(make_hub,
                                                               tmp_path):
    """OPERATIONS.md, Backup and restore: DIR must be missing or empty,
    else `hubctl: backup: DIR is not empty`, nothing written. Two backups
    into the same DIR at once (a nightly run and a manual one of the same
    date) both found it empty and wrote into it; the one that then failed
    took back the other's files, so a backup reported written (exit 0)
    was left with a manifest and no data. Here the first is held after it
    made DIR, before it copies, while the second runs through."""
    shim = preload_shim(tmp_path, "slowchmod", SLOW_CHMOD)
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"two-{i}")
               for i, c in enumerate(hubtest.CprGen(8411).take(20))])
    target = tmp_path / "nightly"
    env = preload_env(shim, SLOW_CHMOD_PATH=str(target))
    first = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                              str(hub.conf), "backup", str(target)],
                             env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        hubtest.wait_for(target.exists, 20, "the first backup's DIR")
        second = hub.hubctl("backup", str(target), check=False)
    finally:
        out, err = first.communicate(timeout=60)
    assert second.returncode == 0, second.stderr
    assert (first.returncode, err) == (
        1, f"hubctl: backup: {target} is not empty\n"), out + err
    manifest = json.loads((target / "manifest.json").read_text())
    for name, size in manifest["file_bytes"].items():
        assert (target / name).stat().st_size == size, name
    hub.stop()
    hub.hubctl("restore", str(target), "--data_dir",
               str(tmp_path / "restored"))


SLOW_COPY_WRITE = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
ssize_t write(int fd, const void *buf, size_t n)
{
	static ssize_t (*real)(int, const void *, size_t);
	static int slept;
	if (!real)
		real = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT,
								    "write");
	const char *slow = getenv("SLOW_WRITE_PATH");
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t len = readlink(link, target, sizeof target - 1);
	if (slow && !slept && len > 0) {
		target[len] = 0;
		if (strcmp(target, slow) == 0) {
			slept = 1;
			sleep(3);
		}
	}
	return real(fd, buf, n);
}
"""


def test_a_backup_half_copied_is_never_readable_but_by_its_owner(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: DIR is 0700 and every file 0600
    from the moment it is created. Each store's
    copy was made 0666 less hubctl's umask and narrowed to 0600 only
    once whole: a backup killed mid-copy under the usual umask 022 left a
    data.mdb of sealed pages readable by everyone who could enter DIR.
    Here hubctl, under umask 000, is held in its first write to the log
    copy, and the file is looked at then."""
    shim = preload_shim(tmp_path, "slowcopywrite", SLOW_COPY_WRITE)
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"half-{i}")
               for i, c in enumerate(hubtest.CprGen(8413).take(20))])
    target = tmp_path / "nightly"
    copy = target / "log" / "data.mdb"
    env = preload_env(shim, SLOW_WRITE_PATH=str(copy))
    backup = subprocess.Popen(
        [hubtest.binary("hubctl"), "--config", str(hub.conf), "backup",
         str(target)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, preexec_fn=lambda: os.umask(0))
    try:
        hubtest.wait_for(copy.exists, 20, "the log's copy begun")
        mode = copy.stat().st_mode & 0o777
    finally:
        out, err = backup.communicate(timeout=60)
    assert backup.returncode == 0, out + err
    assert mode == 0o600, oct(mode)
    for f in target.rglob("*"):
        assert f.stat().st_mode & 0o077 == 0, (f, oct(f.stat().st_mode))


def test_a_restore_run_again_while_the_first_still_copies_is_refused(
        make_hub, tmp_path):
    """OPERATIONS.md, restore: run again into the same data_dir, a restore
    takes back what an unfinished one left and starts over. One that is
    not unfinished but still running (a large backup on a slow disk,
    a second terminal) was taken back all the same: the second restore
    went through, then the first failed on its files and took them back,
    leaving a restore reported done (exit 0) with no store, which hubd
    would have started on as a new, empty one. The second is refused
    now, and the first finishes."""
    shim = preload_shim(tmp_path, "slowchmod", SLOW_CHMOD)
    hub, backup = stopped_after_a_backup(make_hub, tmp_path, 8412, 20,
                                         "again")
    data = tmp_path / "restored"
    env = preload_env(shim, SLOW_CHMOD_PATH=str(data / "derived"))
    first = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                              str(hub.conf), "restore", str(backup),
                              "--data_dir", str(data)],
                             env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        hubtest.wait_for((data / "derived").exists, 20,
                         "the first restore copying")
        second = hub.hubctl("restore", str(backup), "--data_dir", str(data),
                            check=False)
    finally:
        out, err = first.communicate(timeout=60)
    assert (second.returncode, second.stdout, second.stderr) == (
        1, "", f"hubctl: restore: another hubctl restore is still copying "
        f"into {data}: let it finish, or stop it and run this again\n"), \
        second.stdout + second.stderr
    assert first.returncode == 0, out + err
    assert out.startswith(f"restored from {backup}: "), out
    assert not (data / "restore.unfinished").exists()
    v = hub.hubctl("audit", "verify", "--data_dir", str(data), check=False)
    assert v.returncode == 0, v.stdout + v.stderr
    st = json.loads(hub.hubctl("stats", "--json", "--data_dir",
                               str(data)).stdout)
    assert st["log_events"] == 20, st


def test_a_backup_dir_of_512_bytes_is_backed_up_and_restored(make_hub,
                                                             tmp_path):
    """OPERATIONS.md, Backup and restore: DIR is at most 512 bytes, for
    backup and restore alike. A DIR past about 490 bytes was refused once
    the copy was opened to be read back (`cannot open LMDB environment`,
    or a restore that `did not finish`), the store's own paths being cut
    at 512 bytes with `/log` or `/restore.unfinished` after DIR; and a
    refusal naming such a DIR lost its reason, cut at 512 bytes."""
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8414).take(1)[0],
                              salt="long-dir"))
    parent = tmp_path
    while len(str(parent)) < 380:
        parent = parent / ("d" * 50)
    parent.mkdir(parents=True)
    target = parent / ("b" * (512 - len(str(parent)) - 1))
    assert len(str(target)) == 512
    made = hub.hubctl("backup", str(target), check=False)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"backup in {target}: "), made.stdout
    hub.stop()
    done = hub.hubctl("restore", str(target), "--data_dir",
                      str(tmp_path / "restored"), check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"restored from {target}: "), done.stdout
    longer = hub.hubctl("backup", str(target) + "x", check=False)
    assert (longer.returncode, longer.stderr) == (
        2, "hubctl: backup: DIR is longer than 512 bytes\n"), longer.stderr
    # Refused, a DIR that long is named whole, with why after it.
    again = hub.hubctl("backup", str(target), check=False)
    assert (again.returncode, again.stderr) == (
        1, f"hubctl: backup: {target} is not empty\n"), again.stderr
    orphan = parent / "nope" / ("c" * (len(target.name) - 5))
    assert len(str(orphan)) == 512
    p = hub.hubctl("backup", str(orphan), check=False)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: backup: cannot create {orphan}: No such file or "
        "directory\n"), p.stderr


FAILING_FSYNC = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int fsync(int fd)
{
	static int (*real)(int);
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	char link[64], path[1024];
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof path - 1);
	path[n > 0 ? n : 0] = '\0';
	if (n > 5 && strcmp(path + n - 5, ".part") == 0) {
		errno = EDQUOT;
		return -1;
	}
	return real(fd);
}
"""


def test_a_manifest_that_cannot_be_written_says_why(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: a backup that fails says why,
    exit 1, and takes back what it wrote. A manifest the disk would not
    take (here a quota, as an NFS backup share reports it when the file
    is synced) said only `cannot write DIR/manifest.json`."""
    shim = preload_shim(tmp_path, "failfsync", FAILING_FSYNC)
    hub = make_hub()
    target = tmp_path / "quota"
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "backup", str(target)],
                       env=preload_env(shim),
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: backup: cannot write {target}/manifest.json: Disk "
        f"quota exceeded\nhubctl: backup: nothing backed up; {target} is "
        f"removed\n"), p.stdout + p.stderr
    assert not target.exists()


def test_a_backup_that_fails_leaves_no_partial_copy(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: a backup that fails (here onto a
    full disk) exits 1 with the reason, is recorded `backup failed`, and
    takes back what it wrote: a DIR it made is gone, an empty one it was
    given is empty again, so the same command succeeds once there is
    room."""
    with hubtest.small_disk(tmp_path / "disk", "48k") as disk:
        hub = make_hub()
        hub.send(*[hubtest.envelope("school-a", c, salt=f"full-{i}")
                   for i, c in enumerate(hubtest.CprGen(8404).take(100))])
        given = disk / "given"
        given.mkdir()
        for target, left in ((disk / "made", "is removed"),
                             (given, "is empty again")):
            p = hub.hubctl("backup", str(target), check=False)
            assert p.returncode == 1, p.stdout + p.stderr
            assert re.search(r"hubctl: backup: copy of \w+/ failed: No "
                             r"space left on device", p.stderr), p.stderr
            assert f"hubctl: backup: nothing backed up; {target} {left}" \
                in p.stderr, p.stderr
            # The disk that is full is DIR's: nothing else is said, least
            # of all that the store's log/ needs space.
            assert len(p.stderr.splitlines()) == 2, p.stderr
            assert given.is_dir() and not any(given.iterdir())
            assert not (disk / "made").exists()
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)],
                       check=True)
        for target in (disk / "made", given):
            hub.hubctl("backup", str(target))
            assert (target / "manifest.json").exists()
        shown = [json.loads(line) for line in
                 hub.hubctl("audit", "show", "--json").stdout.splitlines()]
        assert [(r["result"], r["detail"]) for r in shown
                if r["action"] == "backup"] == [
            ("failed", str(disk / "made")), ("failed", str(given)),
            ("ok", str(disk / "made")), ("ok", str(given))]



def test_a_backup_whose_copy_does_not_fit_says_the_disk_is_dirs(make_hub,
                                                                 tmp_path):
    """OPERATIONS.md, Backup and restore: a copy that fails (a full disk,
    a copy that does not open) is said with why and followed by `nothing
    backed up`. On a disk with room for the copied data files but not
    for the lock file LMDB makes when the copy is opened to be read
    back, hubctl said `hubctl: backup: cannot open LMDB environment: No
    space left on device`, the words it uses for its own store on a full
    disk, sending the operator to free space under data_dir. Every size
    of disk, from too small for the data to big enough, is refused in
    words that name DIR's copy, or backed up."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"fit-{i}")
               for i, c in enumerate(hubtest.CprGen(8431).take(40))])
    hub.stop()
    probe = tmp_path / "probe"
    hub.hubctl("backup", str(probe))
    data = sum((probe / e / "data.mdb").stat().st_size
               for e in ("log", "ids", "derived"))
    disk = tmp_path / "disk"
    said = []
    with hubtest.small_disk(disk, "4m"):
        target = disk / "bk"
        for kib in range(data // 1024 - 8, data // 1024 + 512, 4):
            subprocess.run(["mount", "-o", f"remount,size={kib}k",
                            str(disk)], check=True)
            p = hub.hubctl("backup", str(target), check=False)
            if p.returncode == 0:
                break
            assert p.returncode == 1, p.stderr
            first, last = p.stderr.splitlines()
            assert last == (f"hubctl: backup: nothing backed up; {target} "
                            "is removed"), p.stderr
            assert not target.exists()
            said.append(first)
        else:
            raise AssertionError(f"never backed up: {said[-1]}")
    copying = [s for s in said if re.fullmatch(
        r"hubctl: backup: copy of (log|ids|derived)/ failed: No space left "
        r"on device", s)]
    opening = [s for s in said if s == (
        f"hubctl: backup: the copy in {target} does not open: cannot open "
        "LMDB environment: No space left on device")]
    assert copying and opening, said
    assert len(copying) + len(opening) == len(said), said



def test_a_restore_the_disk_cannot_record_is_taken_back(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: restore copies the files, opens
    the store, checks it and records `restore` in the audit trail; a full
    disk takes back what it copied (`nothing restored; DATA_DIR is empty
    again`, exit 1). On a disk with room for the files and the lock files
    but not for the audit record, restore said `restore was not recorded
    in the audit trail` and exit 0, `restored from DIR`: a store whose
    trail does not say where it began, on a disk hubd could store
    nothing on. Every size of disk either restores with its record or
    takes everything back."""
    hub = make_hub()
    hub.send(*[hubtest.envelope("school-a", c, salt=f"rfit-{i}")
               for i, c in enumerate(hubtest.CprGen(8432).take(40))])
    hub.stop()
    backup = tmp_path / "bk"
    hub.hubctl("backup", str(backup))
    manifest = json.loads((backup / "manifest.json").read_text())
    data = sum(manifest["file_bytes"].values())
    disk = tmp_path / "disk"
    unrecorded = 0
    with hubtest.small_disk(disk, "4m"):
        target = disk / "data"
        for kib in range(data // 1024 - 8, data // 1024 + 512, 4):
            subprocess.run(["mount", "-o", f"remount,size={kib}k",
                            str(disk)], check=True)
            p = hub.hubctl("restore", str(backup), "--data_dir",
                           str(target), check=False)
            if p.returncode == 0:
                break
            assert p.returncode == 1, p.stderr
            assert p.stderr.endswith(f"hubctl: restore: nothing restored; "
                                     f"{target} is empty again\n"), p.stderr
            assert not any(target.iterdir()), p.stderr
            unrecorded += "restore was not recorded" in p.stderr
        else:
            raise AssertionError(f"never restored: {p.stderr}")
        assert "not recorded" not in p.stderr, p.stderr
        shown = [json.loads(line) for line in hub.hubctl(
            "audit", "show", "--json", "--data_dir", str(target),
            check=False).stdout.splitlines()]
        assert [(r["seq"], r["action"], r["detail"]) for r in shown
                if r["action"] == "restore"] == [
            (manifest["audit_head"] + 1, "restore", str(backup))], shown
    assert unrecorded, "no disk size left the audit record out"


def test_each_unit_names_its_man_page_and_doc():
    """`systemctl help UNIT` opens what the unit's Documentation= names:
    the program's man page (make install puts one per program) and the
    installed document that tells how to run it."""
    deploy = hubtest.ROOT / "deploy"
    for unit, page, doc in (("hubd.service", "hubd", "OPERATIONS.md"),
                            ("webd.service", "webd", "OPERATIONS.md"),
                            ("ungebro-adapter@.service", "adapter-%i",
                             "ADAPTERS.md")):
        docs = re.search(r"^Documentation=(.*)$",
                         (deploy / unit).read_text(), re.M)
        assert docs, unit
        uris = docs.group(1).split()
        assert uris[0] == f"man:{page}(1)", (unit, uris)
        assert f"file:///usr/local/share/doc/ungebro/{doc}" in uris, uris
        assert (hubtest.ROOT / "docs" / doc).is_file()
        assert (deploy / "man" / f"{page.replace('%i', 'school')}.1") \
            .is_file()


def test_the_units_are_hardened_alike(tmp_path):
    """OPERATIONS.md "Start and stop" / ADAPTERS.md: hubd's and webd's
    units have the adapters' hardening, no core dumps; systemd-analyze
    rates all three OK."""
    import re
    import shutil
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        import pytest
        pytest.skip("needs systemd-analyze")
    deploy = hubtest.ROOT / "deploy"
    (tmp_path / "ungebro-adapter@school.service").write_text(
        (deploy / "ungebro-adapter@.service").read_text())
    shutil.copy(deploy / "hubd.service", tmp_path / "hubd.service")
    shutil.copy(deploy / "webd.service", tmp_path / "webd.service")
    for unit in ("hubd.service", "ungebro-adapter@school.service",
                 "webd.service"):
        assert "\nLimitCORE=0\n" in (tmp_path / unit).read_text(), unit
        p = subprocess.run([analyze, "security", "--offline=true",
                            str(tmp_path / unit)], capture_output=True,
                           text=True, timeout=60)
        m = re.search(r"Overall exposure level for \S+: ([0-9.]+) OK",
                      p.stdout)
        assert m and float(m.group(1)) <= 4.0, (unit, p.stdout[-300:])

def test_the_adapter_units_restarts_are_what_adapters_md_says():
    """ADAPTERS.md says what systemd does when a watcher exits 3 (a full
    disk under the outbox, a refused key): it used to say only that
    systemd starts it again, while the unit gives up after its start
    limit, and the watcher then stays stopped whatever becomes right."""
    unit = {}
    for line in (hubtest.ROOT / "deploy/ungebro-adapter@.service") \
            .read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            unit[name.strip()] = value.strip()
    assert unit["Restart"] == "on-failure"
    doc = " ".join((hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
                   .split())
    said = (f"`RestartSec={unit['RestartSec']}`, "
            f"`StartLimitIntervalSec={unit['StartLimitIntervalSec']}`, "
            f"`StartLimitBurst={unit['StartLimitBurst']}`: a watcher that "
            f"exits")
    assert said in doc
    assert (f"started again {unit['RestartSec']} s later, but once it has "
            f"been started {unit['StartLimitBurst']} times within "
            f"{int(unit['StartLimitIntervalSec']) // 60} minutes systemd "
            f"gives up") in doc
    assert "systemctl restart ungebro-adapter@school" in doc
    assert "exit 3; systemd starts it again)" not in doc


def test_the_adapter_units_steps_make_what_it_needs():
    """ADAPTERS.md, "Running unattended": the steps shown for
    ungebro-adapter@school, run on a machine of their own, make what the
    unit and adapter.conf.example need: the unit's user, its config file,
    its writable spool directory, the agency's key and the hub's public
    key in keys_dir; and the example's outbox lies in the unit's
    StateDirectory, the one place under /var/lib it may write."""
    deploy = hubtest.ROOT / "deploy"
    unit = (deploy / "ungebro-adapter@.service").read_text()

    def setting(text, name, sep="="):
        m = re.search(rf"^{name}\s*{sep}\s*(.*?)\s*$", text, re.M)
        assert m, name
        return m.group(1).replace("%i", "school")

    example = (deploy / "adapter.conf.example").read_text()
    keys_dir, agency = setting(example, "keys_dir"), setting(example, "agency")
    outbox = setting(example, "outbox")
    assert outbox.startswith(
        "/var/lib/" + setting(unit, "StateDirectory") + "/"), outbox
    doc = (hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
    part = doc[doc.index("Under systemd, `deploy/ungebro-adapter@.service`"):]
    steps = re.search(r"```sh\n(.*?)```", part, re.S).group(1)
    user = setting(unit, "User")
    assert re.search(rf"^adduser .*--group .*\b{user}\b", steps, re.M), \
        steps
    config = setting(unit, "ExecStart").split("--config ")[1].split()[0]
    assert re.search(rf"^install .* {re.escape(config)}\b", steps, re.M), \
        steps
    spool = setting(unit, "ReadWritePaths")
    assert re.search(rf"^install -d .*-o {user} .*{re.escape(spool)}\b",
                     steps, re.M), steps
    assert re.search(rf"^install -d .*-o {user} .*{re.escape(keys_dir)}\b",
                     steps, re.M), steps
    assert re.search(rf"^hubctl keygen --keys_dir {re.escape(keys_dir)} "
                     rf"{agency}\b", steps, re.M), steps
    assert re.search(rf"^install .*\bhub\.key {re.escape(keys_dir)}/",
                     steps, re.M), steps
    # The unit copied by hand runs /usr/local/bin's programs: in
    # /etc/systemd/system it would hide the one make install put in
    # PREFIX/lib/systemd/system with PREFIX's paths (PREFIX=/usr: 203/EXEC).
    copy = re.search(r"^install .*ungebro-adapter@\.service "
                     r"/etc/systemd/system/(.*)$", steps, re.M)
    assert copy and "not after make install" in copy.group(1), steps


def test_the_example_endpoints_and_agencies_on_other_machines(make_hub):
    """hubd.conf.example binds ingest and delivery on 127.0.0.1, which
    only clients on the hub's own machine reach, while
    adapter.conf.example connects from an agency's machine: the example
    says so and how to bind for them (tcp://*:7601, tcp://*:7602), and
    an agency connecting to the machine's address is served that way
    and not the other."""
    import socket
    deploy = hubtest.ROOT / "deploy"
    example = (deploy / "hubd.conf.example").read_text()
    assert re.search(r"^ingest = tcp://127\.0\.0\.1:7601$", example, re.M)
    comments = " ".join(ln.lstrip("# ") for ln in example.splitlines()
                        if ln.startswith("#"))
    assert "only" in comments and "this machine" in comments, comments
    assert "tcp://*:7601" in comments and "tcp://*:7602" in comments, \
        comments
    adapter = (deploy / "adapter.conf.example").read_text()
    assert not re.search(r"^hub = tcp://127\.", adapter, re.M)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect(("10.255.255.255", 1))
        address = s.getsockname()[0]
    except OSError:
        address = "127.0.0.1"
    finally:
        s.close()
    if address.startswith("127."):
        pytest.skip("needs an IPv4 address besides the loopback")
    cpr = hubtest.CprGen(8311).take(1)[0]
    env = hubtest.envelope("school-a", cpr, salt="elsewhere")
    loopback = make_hub()
    port = int(loopback.ingest.rsplit(":", 1)[1])
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((address, port), timeout=10).close()
    port = hubtest.free_port()
    everywhere = make_hub(settings={"ingest": f"tcp://*:{port}"})
    everywhere.ingest = f"tcp://{address}:{port}"
    assert everywhere.send(env)


def test_make_install_and_uninstall_into_a_destdir(tmp_path):
    import shutil
    import stat

    dest = tmp_path / "dest"
    build = hubtest.BUILD
    make = ["make", "-s", "-C", str(hubtest.ROOT), f"BUILD={build}",
            f"DESTDIR={dest}", "PREFIX=/usr"]
    p = subprocess.run(make + ["install"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    usr = dest / "usr"
    programs = sorted(f.name for f in (build / "bin").iterdir())
    assert {"hubd", "hubctl", "inbox", "adapter-school"} <= set(programs)
    for name in programs:
        exe = usr / "bin" / name
        assert stat.S_IMODE(exe.stat().st_mode) == 0o755, name
        page = usr / "share/man/man1" / f"{name}.1"
        assert stat.S_IMODE(page.stat().st_mode) == 0o644, name
        # SEE ALSO sends the reader to the documents where this install
        # put them, not to /usr/local's or a PREFIX to work out.
        see = page.read_text().split(".SH SEE ALSO")[1]
        if ".md" in see:
            assert "(in /usr/share/doc/ungebro)" in see, (name, see)
    for unit in ("hubd.service", "ungebro-adapter@.service",
                 "webd.service"):
        text = (usr / "lib/systemd/system" / unit).read_text()
        assert "ExecStart=/usr/bin/" in text and "/usr/local" not in text
    doc = usr / "share/doc/ungebro"
    for name in ("README.md", "OPERATIONS.md", "examples/hubd.conf.example",
                 "examples/rules.conf.example",
                 "examples/adapter.conf.example",
                 "examples/webd.conf.example",
                 "examples/grafana-ungebro.json",
                 "proto/ungebro.proto"):
        assert stat.S_IMODE((doc / name).stat().st_mode) == 0o644, name
    # PROTOCOL.md sends a vendor to proto/ungebro.proto for the fields:
    # beside the installed page, it is the schema the hub was built from.
    assert "`proto/ungebro.proto`" in (doc / "PROTOCOL.md").read_text()
    assert (doc / "proto/ungebro.proto").read_bytes() == \
        (hubtest.ROOT / "proto/ungebro.proto").read_bytes()
    # Each page renders without a warning.
    renderer = shutil.which("groff")
    if renderer:
        for page in (usr / "share/man/man1").iterdir():
            r = subprocess.run([renderer, "-man", "-Tutf8", "-ww", "-z",
                                str(page)], capture_output=True, text=True)
            assert r.returncode == 0 and r.stderr == "", \
                f"{page.name}: {r.stderr}"
    installed = [f for f in dest.rglob("*") if not f.is_dir()]
    assert len(installed) > len(programs) * 2
    # The docs sit beside README.md there: every link and image of the
    # installed README.md and docs opens.
    for md in doc.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)",
                                 md.read_text()):
            assert (doc / target).is_file(), (md.name, target)

    p = subprocess.run(make + ["uninstall"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    left = [str(f) for f in dest.rglob("*") if not f.is_dir()]
    assert left == []
    assert not doc.exists()


def install_under_opt(tmp_path):
    """make install into a staged root with PREFIX=/opt/ungebro and the
    units where systemd reads them for such a PREFIX: the root and the
    make command line (for the uninstall)."""
    dest = tmp_path / "dest"
    make = ["make", "-s", "-C", str(hubtest.ROOT), f"BUILD={hubtest.BUILD}",
            f"DESTDIR={dest}", "PREFIX=/opt/ungebro",
            "UNITDIR=/etc/systemd/system"]
    p = subprocess.run(make + ["install"], capture_output=True, text=True,
                       timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    return dest, make


def test_make_install_writes_in_etc_only_the_units_unitdir_puts_there(
        tmp_path):
    """OPERATIONS.md, "Build and install": make install writes nothing in
    /etc but for the units, when UNITDIR is /etc/systemd/system (a PREFIX
    whose lib/systemd/system systemd does not read); the doc said nothing
    at all, which that documented UNITDIR belies."""
    dest, make = install_under_opt(tmp_path)
    in_etc = sorted(str(f.relative_to(dest)) for f in (dest / "etc").rglob("*")
                    if not f.is_dir())
    assert in_etc == ["etc/systemd/system/hubd.service",
                      "etc/systemd/system/ungebro-adapter@.service",
                      "etc/systemd/system/webd.service"], in_etc
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "It writes nothing in `/etc` but the units when `UNITDIR` is " \
        "there, and creates no user, key or data directory" in doc
    p = subprocess.run(make + ["uninstall"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert [f for f in dest.rglob("*") if not f.is_dir()] == []


def test_make_install_prefix_with_a_trailing_slash_is_the_same_prefix(
        tmp_path):
    """OPERATIONS.md, "Build and install": a trailing `/` of PREFIX is
    ignored; PREFIX=/usr/ wrote `/usr//bin/hubd` into the units."""
    dest = tmp_path / "dest"
    p = subprocess.run(["make", "-s", "-C", str(hubtest.ROOT),
                        f"BUILD={hubtest.BUILD}", f"DESTDIR={dest}",
                        "PREFIX=/usr/", "install"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    unit = (dest / "usr/lib/systemd/system/hubd.service").read_text()
    assert "ExecStart=/usr/bin/hubd " in unit, unit
    written = [f for f in dest.rglob("*") if f.is_file()
               and f.suffix in (".service", ".1")]
    assert written
    for f in written:
        assert "//" not in f.read_text().replace("://", ""), f


def test_the_installed_units_verify_clean(tmp_path):
    """The units make install puts in UNITDIR, their programs and man
    pages where it put them, pass systemd-analyze verify without a word
    (the adapters' template as an instance: verify names a template's
    instance `i`)."""
    import shutil
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        pytest.skip("needs systemd-analyze")
    dest = tmp_path / "dest"
    p = subprocess.run(["make", "-s", "-C", str(hubtest.ROOT),
                        f"BUILD={hubtest.BUILD}", f"DESTDIR={dest}",
                        "PREFIX=/usr", "install"], capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    units = []
    for name, as_name in (("hubd.service", "hubd.service"),
                          ("webd.service", "webd.service"),
                          ("ungebro-adapter@.service",
                           "ungebro-adapter@school.service")):
        text = (dest / "usr/lib/systemd/system" / name).read_text()
        # Staged: the programs are under DESTDIR, not yet in /usr/bin.
        (tmp_path / as_name).write_text(
            text.replace("=/usr/bin/", f"={dest}/usr/bin/"))
        units.append(str(tmp_path / as_name))
    env = dict(os.environ, MANPATH=str(dest / "usr/share/man"))
    p = subprocess.run([analyze, "verify", *units], capture_output=True,
                       text=True, timeout=120, env=env)
    assert (p.returncode, p.stdout + p.stderr) == (0, ""), p.stderr


def test_make_uninstall_again_says_nothing(tmp_path):
    """make uninstall where nothing (or nothing more) is installed, run a
    second time say, removes nothing and exits 0 without make's `Error 1
    (ignored)` on stderr, which reads as a failed uninstall."""
    # Without -s, as OPERATIONS.md gives it: -s hides make's message.
    make = ["make", "-C", str(hubtest.ROOT), f"BUILD={hubtest.BUILD}",
            f"DESTDIR={tmp_path / 'dest'}", "PREFIX=/usr"]
    for target in ("install", "uninstall", "uninstall"):
        p = subprocess.run(make + [target], capture_output=True, text=True,
                           timeout=600)
        assert (p.returncode, p.stderr) == (0, ""), (target, p.stderr)
    # make -s says nothing at all.
    make.insert(1, "-s")
    for target in ("install", "uninstall"):
        p = subprocess.run(make + [target], capture_output=True, text=True,
                           timeout=600)
        assert (p.returncode, p.stdout + p.stderr) == (0, ""), target


def test_the_runtime_packages_are_what_each_program_links(tmp_path):
    """OPERATIONS.md, "Build and install": the table of the Debian
    packages a machine needs to run each installed program (a package's
    Depends) names exactly the libraries the program is linked to, libc
    aside."""
    import shutil
    readelf, dpkg = shutil.which("readelf"), shutil.which("dpkg")
    if not (readelf and dpkg):
        pytest.skip("needs readelf and dpkg")
    ops = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    part = ops[ops.index("| program | Debian packages it needs to run |"):]
    part = part[:part.index("\n\n")]
    documented = {}
    for row in part.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split("|")]
        packages = set(re.findall(r"`([a-z0-9.+-]+)`", cells[1]))
        for name in re.findall(r"`([\w*-]+)`", cells[0]):
            documented[name] = packages

    def package_of(soname):
        p = subprocess.run([dpkg, "-S", f"*/{soname}"], capture_output=True,
                           text=True, timeout=60)
        owners = {line.split(":")[0] for line in p.stdout.splitlines()
                  if "i386" not in line and "/lib32/" not in line}
        assert len(owners) == 1, (soname, p.stdout)
        return owners.pop()

    programs = sorted(f.name for f in (hubtest.BUILD / "bin").iterdir())
    for name in programs:
        row = documented.get(name) or documented.get(
            "adapter-*" if name.startswith("adapter-") else name)
        assert row is not None, (name, sorted(documented))
        p = subprocess.run([readelf, "-d", str(hubtest.BUILD / "bin" / name)],
                           capture_output=True, text=True, timeout=60)
        needed = re.findall(r"\(NEEDED\).*\[(.+)\]", p.stdout)
        if any(re.match(r"lib(asan|ubsan)\.so", s) for s in needed):
            # make asan's programs link the sanitizers' runtimes and keep
            # libraries they do not use: not what make install installs.
            pytest.skip("a sanitizer build links more than a release one")
        linked = {package_of(s) for s in needed} - {"libc6"}
        assert linked == row, (name, linked, row)


@pytest.mark.parametrize("where", ["command line", "environment"])
def test_a_packagers_build_flags_are_added_to_the_builds_own(tmp_path,
                                                            where):
    """OPERATIONS.md, "Build and install": CFLAGS, CPPFLAGS and LDFLAGS
    given to make (dpkg-buildflags' hardening, say) are added to the
    build's own flags, on the command line as in the environment: every
    C file, the generated protobuf-c code included, still compiles as C11
    under -Wall -Wextra -Werror with the tree's include paths. make -n
    -B prints what a full build would run (nothing is built)."""
    flags = {"CFLAGS": "-DUG_PKG_CFLAGS", "CPPFLAGS": "-DUG_PKG_CPPFLAGS",
             "LDFLAGS": "-Wl,-z,relro"}
    args = ["make", "-n", "-B", "--no-print-directory", "all",
            f"BUILD={tmp_path}"]
    env = dict(os.environ)
    for k in flags:
        env.pop(k, None)
    if where == "command line":
        args += [f"{k}={v}" for k, v in flags.items()]
    else:
        env.update(flags)
    out = subprocess.run(args, cwd=hubtest.ROOT, env=env, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    lines = out.replace("\\\n", " ").splitlines()
    compiles = [c.split() for c in lines
                if re.match(r"\s*(gcc|cc)\s.*\s-c\s", c)]
    links = [c.split() for c in lines
             if re.match(r"\s*(gcc|cc)\s", c) and " -c " not in c]
    assert len(compiles) > 100 and len(links) > 10, out[-2000:]
    want = {"-std=c11", "-Wall", "-Wextra", "-Werror", "-I.",
            flags["CFLAGS"], flags["CPPFLAGS"]}
    bad = [" ".join(c) for c in compiles if not want <= set(c)]
    assert not bad, "\n".join(bad[:5])
    bad = [" ".join(c) for c in links if flags["LDFLAGS"] not in c]
    assert not bad, "\n".join(bad[:5])


def test_units_go_where_systemd_reads_them_or_to_unitdir(tmp_path):
    """OPERATIONS.md, "Build and install": the units go to
    PREFIX/lib/systemd/system, which systemd reads for PREFIX /usr and
    /usr/local; for another PREFIX, UNITDIR=/etc/systemd/system puts them
    where it does, their paths still rewritten to PREFIX, and uninstall
    with the same settings removes them."""
    import shutil
    ops = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    row = next(ln for ln in ops.splitlines()
               if ln.startswith("| the systemd units"))
    assert "UNITDIR=/etc/systemd/system" in row, row
    analyze = shutil.which("systemd-analyze")
    if analyze:
        paths = subprocess.run([analyze, "unit-paths"], capture_output=True,
                               text=True, timeout=60).stdout.split()
        for prefix in ("/usr", "/usr/local"):
            assert f"{prefix}/lib/systemd/system" in paths, paths
    dest, make = install_under_opt(tmp_path)
    units = dest / "etc/systemd/system"
    assert sorted(u.name for u in units.iterdir()) == [
        "hubd.service", "ungebro-adapter@.service", "webd.service"]
    assert "ExecStart=/opt/ungebro/bin/hubd " in \
        (units / "hubd.service").read_text()
    assert not (dest / "opt/ungebro/lib").exists()
    p = subprocess.run(make + ["uninstall"], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert [f for f in dest.rglob("*") if not f.is_dir()] == []


def test_install_settings_work_from_the_environment_too(tmp_path):
    """OPERATIONS.md, "Build and install": PREFIX, DESTDIR and UNITDIR
    are given alike; from the environment, as a packaging script may set
    them, UNITDIR is not dropped while PREFIX and DESTDIR are taken."""
    dest = tmp_path / "dest"
    env = dict(os.environ, DESTDIR=str(dest), PREFIX="/opt/ungebro",
               UNITDIR="/etc/systemd/system")
    make = ["make", "-s", "-C", str(hubtest.ROOT), f"BUILD={hubtest.BUILD}"]
    p = subprocess.run(make + ["install"], env=env, capture_output=True,
                       text=True, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    units = dest / "etc/systemd/system"
    assert units.is_dir() and sorted(u.name for u in units.iterdir()) == [
        "hubd.service", "ungebro-adapter@.service", "webd.service"]
    assert not (dest / "opt/ungebro/lib").exists()
    assert (dest / "opt/ungebro/bin/hubd").is_file()
    p = subprocess.run(make + ["uninstall"], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert [f for f in dest.rglob("*") if not f.is_dir()] == []


def test_results_json_keys_are_where_performance_md_puts_them():
    """PERFORMANCE.md, "var/bench/results.json": the names its `config`
    item lists are the keys of bench.py's config object, and what
    bench.py puts at the top level (redis_version, redis_argv, ...) is
    documented as a top-level item, not inside config. Read from the
    source: a bench run would load the machine for a minute."""
    doc = (hubtest.ROOT / "docs" / "PERFORMANCE.md").read_text()
    part = doc[doc.index("### `var/bench/results.json`"):]
    part = part[:part.index("\n## ")]
    items = re.split(r"\n- ", part)
    config_item = next(i for i in items if i.startswith("`config`:"))
    documented = set(re.findall(r"`(\w+)`", config_item)) - {"config"}
    src = (hubtest.ROOT / "tests" / "bench" / "bench.py").read_text()
    literal = src[src.index('res = {"config": {'):]
    literal = literal[:literal.index("}")]
    config_keys = set(re.findall(r'"(\w+)":', literal)) - {"config"}
    assert documented == config_keys, (sorted(documented - config_keys),
                                       sorted(config_keys - documented))
    top = set(re.findall(r'res\["(\w+)"\] =', src))
    top_doc = set()
    for item in items:
        if not item.startswith("`config`:"):
            top_doc |= set(re.findall(r"`(\w+)`", item))
    assert top <= top_doc, sorted(top - top_doc)


def test_every_make_target_the_docs_name_has_a_rule():
    """README.md and docs/: every `make TARGET` they show is a rule of
    the Makefile, and every target declared phony has one: a phony name
    without a rule (`make unit`) would succeed having run nothing."""
    text = (hubtest.ROOT / "Makefile").read_text()
    rules = set(re.findall(r"^([a-z][\w-]*)\s*:(?!=)", text, re.M))
    phony = {n for line in re.findall(r"^\.PHONY:(.*)$", text, re.M)
             for n in line.split()}
    assert phony and not phony - rules, sorted(phony - rules)
    docs = [hubtest.ROOT / "README.md",
            *sorted((hubtest.ROOT / "docs").glob("*.md"))]
    named = set()
    for doc in docs:
        for span in re.findall(r"`([^`]*)`|```sh\n(.*?)```",
                               doc.read_text(), re.S):
            named |= set(re.findall(r"^\s*(?:sudo\s+)?make ([a-z][\w-]*)",
                                    "\n".join(span), re.M))
    assert {"demo", "test", "install", "uninstall", "asan", "bench",
            "fuzz", "format", "bootstrap"} <= named, named
    assert not named - rules, sorted(named - rules)


def test_the_wire_code_is_generated_once_per_build(tmp_path):
    """make -j2 (README.md) generates the protobuf-c code once: two
    protoc-c runs at once rewrite the header another compile is
    reading."""
    for args in (["all", f"BUILD={tmp_path}"], ["fuzz-build"]):
        out = subprocess.run(["make", "-n", "-B", "--no-print-directory",
                              *args], cwd=hubtest.ROOT, capture_output=True,
                             text=True, check=True, timeout=120).stdout
        runs = [ln for ln in out.splitlines()
                if ln.lstrip().startswith("protoc-c ")]
        want = 2 if args[0] == "fuzz-build" else 1  # fuzz-build: 2 makes
        assert len(runs) == want, (args, runs)


def test_bootstrap_installs_what_the_targets_run():
    """OPERATIONS.md, "Build and install": make bootstrap installs the
    Debian packages it lists there, and so every tool a target it runs
    before calls: valgrind for make valgrind, redis for make bench."""
    text = (hubtest.ROOT / "Makefile").read_text()
    packages = re.search(r"^DEB_PACKAGES := (.*?)\n\n", text,
                         re.M | re.S).group(1).replace("\\", " ").split()
    ops = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    para = ops[ops.index("`make bootstrap` (run by"):]
    para = para[:para.index("\n\n")]
    named = set(re.findall(r"[a-z0-9][a-z0-9.+-]*[a-z0-9]", para))
    assert not [p for p in packages if p not in named], packages
    for tool, target in (("valgrind", "valgrind"), ("redis-server", "bench"),
                         ("clang-format", "format"), ("clang", "fuzz")):
        assert tool in packages, (tool, target)
        assert re.search(rf"^{target}: .*bootstrap", text, re.M) or \
            target == "fuzz", target


def test_a_format_2_store_is_upgraded_once_and_keeps_its_event_ids(
        make_hub):
    """OPERATIONS.md "Store format": the first hubctl (or hubd) to open a
    format 2 store upgrades it to 4 and says so once; the event ids stored
    before still count."""
    import re

    hub = make_hub()
    cprs = hubtest.CprGen(8101).take(3)
    envs = [hubtest.envelope("school-a", c, salt=f"format-{i}")
            for i, c in enumerate(cprs)]
    first = hub.send(*envs)
    hub.stop()

    # Record format 2 in log/meta, as a hub of the older version left it.
    log = str(hub.data_dir / "log")
    dump = subprocess.run(["mdb_dump", "-s", "meta", log], check=True,
                          capture_output=True, text=True).stdout
    older, n = re.subn(r"\n 666f726d6174\n 00000004\n",
                       "\n 666f726d6174\n 00000002\n", dump)
    assert n == 1, dump
    subprocess.run(["mdb_load", "-s", "meta", log], input=older, text=True,
                   check=True, capture_output=True)

    upgraded = hub.hubctl("stats", "--json")
    assert "hubctl: STORE-UPGRADED store format 2 upgraded to 4" in \
        upgraded.stderr, upgraded.stderr
    again = hub.hubctl("stats", "--json")
    assert "STORE-UPGRADED" not in again.stderr
    meta = subprocess.run(["mdb_dump", "-p", "-s", "meta", log], check=True,
                          capture_output=True, text=True).stdout
    assert "ids_legacy" in meta

    hub.start()
    resent = hub.acks(*envs)
    assert [a.status for a in resent] == [hubtest.DUPLICATE] * 3, resent
    assert [a.sequence for a in resent] == first
    hub.send(hubtest.envelope("school-a", cprs[0], salt="format-new"))
    assert "STORE-UPGRADED" not in hub.current_log()


def both_refuse_the_store(hub, why):
    """hubd (HUB-START) and hubctl refuse the stopped hub's store, exit
    1, saying why; log/data.mdb is not changed."""
    before = (hub.data_dir / "log" / "data.mdb").read_bytes()
    p = subprocess.run([hubtest.binary("hubd"), "--config", str(hub.conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 1, p.stderr
    assert f"hubd err HUB-START cannot start: log: {why}\n" in p.stderr, \
        p.stderr
    c = hub.hubctl("stats", check=False)
    assert c.returncode == 1
    assert c.stderr == f"hubctl: cannot open the hub's keys and store: " \
        f"{why}\n", c.stderr
    assert (hub.data_dir / "log" / "data.mdb").read_bytes() == before


def test_a_store_of_a_newer_format_is_refused_and_left_as_it_is(make_hub):
    """OPERATIONS.md "Store format": a store in a format above 4 (written
    by a newer hub) stops hubd at start (exit 1, HUB-START cannot start:
    log: ...) and hubctl (exit 1), naming the format; nothing in it is
    changed."""
    hub = make_hub()
    hub.stop()
    log = str(hub.data_dir / "log")

    def set_format(old, new):
        dump = subprocess.run(["mdb_dump", "-s", "meta", log], check=True,
                              capture_output=True, text=True).stdout
        changed, n = re.subn(rf"\n 666f726d6174\n {old:08x}\n",
                             f"\n 666f726d6174\n {new:08x}\n", dump)
        assert n == 1, dump
        subprocess.run(["mdb_load", "-s", "meta", log], input=changed,
                       text=True, check=True, capture_output=True)
    set_format(4, 5)
    both_refuse_the_store(hub, "store format 5 was written by a newer "
                          "hub; this one reads formats 2 to 4: run the "
                          "version that wrote it (see OPERATIONS.md, "
                          "\"Store format\")")
    set_format(5, 4)
    hub.start()


def test_a_store_format_value_of_the_wrong_length_is_said_damaged(make_hub):
    """OPERATIONS.md "Store format": a log/data.mdb whose format value is
    damaged (not the 4 bytes every hub writes) stops hubd (exit 1) and
    hubctl (exit 1) naming the file as damaged and saying to restore
    log/ from a backup, not "store format 0 ... re-create the store"
    (which would throw the events away); nothing in it is changed."""
    hub = make_hub()
    hub.stop()
    log = str(hub.data_dir / "log")
    dump = subprocess.run(["mdb_dump", "-s", "meta", log], check=True,
                          capture_output=True, text=True).stdout

    def load(text):
        subprocess.run(["mdb_load", "-s", "meta", log], input=text,
                       text=True, check=True, capture_output=True)
    for value, size in (("000004", 3), ("0000000400", 5)):
        changed, n = re.subn(r"\n 666f726d6174\n 00000004\n",
                             f"\n 666f726d6174\n {value}\n", dump)
        assert n == 1, dump
        load(changed)
        both_refuse_the_store(
            hub, f"{hub.data_dir}/log/data.mdb is damaged: its store "
            f"format value is {size} bytes, not 4; restore log/ from a "
            "backup (see OPERATIONS.md, \"Backup and restore\")")
    load(dump)
    hub.start()


def test_adapters_log_id_table_lists_every_level_each_id_is_logged_at():
    """ADAPTERS.md's log-id table: an operator filtering by level must
    find each ADP-* and OUTBOX-* id at every level the table gives it, and
    at no other; ids sharing a row share their levels."""
    text = (hubtest.ROOT / "docs" / "ADAPTERS.md").read_text()
    table = text.split("| id | level | what |")[1].split("\n\n")[0]
    documented = {}
    for row in table.splitlines()[2:]:
        cells = row.split(" | ")
        ids = re.findall(r"`([A-Z]+-[A-Z]+)`", cells[0])
        levels = {w.strip() for w in cells[1].split(",")}
        for i in ids:
            documented[i] = levels
    logged = {}
    sources = [*(hubtest.ROOT / "adapters").glob("*.c"),
               hubtest.ROOT / "store" / "outbox.c"]
    for src in sources:
        for level, i in re.findall(r'log_(\w+)\("((?:ADP|OUTBOX)-[A-Z]+)"',
                                   src.read_text()):
            logged.setdefault(i, set()).add(level)
    assert documented == logged


def test_hubd_log_ids_are_listed_with_every_level_they_are_logged_at():
    """OPERATIONS.md, Monitoring: the log ids hubd writes, each with the
    levels it is written at, so that `journalctl -p LEVEL` finds what the
    list promises. Every level of every id hubd logs (debug aside) is
    named with that id."""
    text = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    section = text.split("\n## Monitoring\n")[1].split("\n### ")[0]
    mark = re.compile(r"`((?:HUB|STORE|KEYS)-[A-Z-]*\*?)[`\s]")
    marks = list(mark.finditer(section))
    said, pending = {}, []
    for n, m in enumerate(marks):
        end = marks[n + 1].start() if n + 1 < len(marks) else len(section)
        seg = section[m.end():end]
        pending.append(m.group(1))
        # Ids listed together ("`A`, `B`: info", "`A` and `B` (...)")
        # share what follows the last of them.
        if not seg.strip(" ,:and\n`"):
            continue
        for i in pending:
            said[i] = said.get(i, "") + seg
        pending = []
    logged = {}
    sources = [p for d in ("hub", "store", "common")
               for p in (hubtest.ROOT / d).glob("*.c")
               if not re.match(r"(hubctl|inbox)", p.name)]
    for src in sources:
        for level, i in re.findall(
                r'log_(err|warn|notice|info)\(\s*"((?:HUB|STORE|KEYS)-'
                r'[A-Z-]+)"', src.read_text()):
            logged.setdefault(i, set()).add(level)
    # The operational conditions log under the id of their condition.
    for level in re.findall(r"log_(err|warn|notice|info)\(conds\[cond\]"
                            r"\.msgid", (hubtest.ROOT / "hub" /
                                         "ops_alerts.c").read_text()):
        logged.setdefault("HUB-OPS-*", set()).add(level)
    missing = {}
    for i, levels in logged.items():
        words = said.get(i, "") + (said.get("HUB-OPS-*", "")
                                   if i.startswith("HUB-OPS-") else "")
        gone = {lv for lv in levels if not re.search(rf"\b{lv}\b", words)}
        if gone:
            missing[i] = sorted(gone)
    assert missing == {}


def test_man_exit_status_gives_the_causes_help_gives():
    """A man page's EXIT STATUS is the short form of --help's exit
    statuses: a cause --help puts under a code is under the same code
    there, so a reader of the page alone expects the status the program
    gives (inbox: a Hello refused before the first Welcome, as with a
    gateway's key, is 1, not the 3 of a refused caseworker key)."""
    import re

    def status(text, code):
        m = re.search(rf"^\.TP\n\.B {code}\n(.*?)(?=^\.(?:TP|SH))",
                      text, re.M | re.S)
        assert m, (code, text[-1500:])
        return " ".join(m.group(1).replace("\\-", "-").split())

    for program, code, cause in (
            ("inbox", 1, "a Hello refused before the first Welcome"),
            ("webd", 1, "a key file holding another's key"),
            ("inbox", 1, "standard output cannot be written"),
            ("hubctl", 3, "log records that do not open")):
        help_text = " ".join(subprocess.run(
            [hubtest.binary(program), "--help"], capture_output=True,
            text=True, timeout=20).stdout.split())
        assert cause in help_text, (program, help_text)
        page = (hubtest.ROOT / "deploy" / "man" / f"{program}.1").read_text()
        assert cause in status(page, code), (program, status(page, code))


def test_man_pages_match_each_programs_help():
    """OPERATIONS.md: the man pages are made from each program's --help
    by deploy/man/mkman.py. A page is what the script makes of today's
    --help (its own date aside), so an option, a command or an exit
    status added to --help without rerunning the script fails here."""
    import importlib.util
    import re

    spec = importlib.util.spec_from_file_location(
        "mkman", hubtest.ROOT / "deploy" / "man" / "mkman.py")
    mkman = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mkman)
    programs = sorted(f.name for f in (hubtest.BUILD / "bin").iterdir())
    assert set(programs) == set(mkman.PAGES), \
        "deploy/man/mkman.py must have a page for every program"
    stale = []
    for name in programs:
        path = hubtest.ROOT / "deploy" / "man" / f"{name}.1"
        text = path.read_text()
        date = re.match(r'\.TH \S+ 1 "([^"]*)"', text).group(1)
        help_text = subprocess.run([hubtest.binary(name), "--help"],
                                   capture_output=True, text=True,
                                   timeout=20).stdout
        assert "--config" in help_text, name
        if text != mkman.page(name, mkman.PAGES[name], help_text, date):
            stale.append(name)
    assert not stale, (f"{', '.join(stale)}: the man page differs from "
                       f"--help; run deploy/man/mkman.py build/release/bin")


@pytest.mark.parametrize("program", ["hubd", "hubctl", "inbox", "webd",
                                     "adapter-school"])
def test_help_gives_every_whole_number_options_range(program):
    """Every whole-number option's --help line says which values it takes
    (N-M, or "N or more"), as the program checks them: a value outside is
    a usage error, and --help is where a user looks first."""
    help_text = subprocess.run([hubtest.binary(program), "--help"],
                               capture_output=True, text=True,
                               timeout=20).stdout
    options = help_text.split("Options (")[1]
    missing = []
    for m in re.finditer(r"^  --(\w+) VALUE\n((?:      .*\n)+)", options,
                         re.M):
        default = re.search(r"\(default: (\S+)\)", m.group(2))
        if default and re.fullmatch(r"\d+", default.group(1)) and \
                not re.search(r"\d+-\d+|\d+ or more", m.group(2)):
            missing.append(m.group(1))
    assert not missing, f"{program} --help gives no range for {missing}"


def test_log_map_mb_bounds_the_log_and_the_id_index_each(make_hub):
    """hubd --help: log_map_mb is the most log/ and ids/ may each grow
    to (OPERATIONS.md: ids/ is mapped at log_map_mb too); derived/ has
    derived_map_mb."""
    hub = make_hub(settings={"log_map_mb": 48, "derived_map_mb": 40})
    st = hub.stats()
    assert st["log_map_bytes"] == st["ids_map_bytes"] == 48 << 20, st
    assert st["derived_map_bytes"] == 40 << 20, st
    help_text = subprocess.run([hubtest.binary("hubd"), "--help"],
                               capture_output=True, text=True,
                               timeout=20).stdout
    entry = " ".join(help_text.split("--log_map_mb VALUE")[1]
                     .split("--derived_map_mb")[0].split())
    assert "(log/)" in entry and "(ids/)" in entry, entry


def test_assign_exits_as_hubctl_help_says(make_hub):
    """hubctl --help, assign: an unknown --role is exit 2, nothing stored;
    an unregistered caseworker or a bad CPR or date exit 1; a missing
    --cpr or --caseworker exit 2."""
    hub = make_hub()
    cpr = hubtest.CprGen(8503).next()
    hub.cprs.add(cpr)
    help_text = subprocess.run([hubtest.binary("hubctl"), "--help"],
                               capture_output=True, text=True,
                               timeout=20).stdout
    assert "Exit 0 stored, 1 a row skipped, a header that is not UTF-8, " \
        "an unregistered caseworker, a bad CPR or date, 2 usage" in \
        " ".join(help_text.split())
    for args, rc in ((["--cpr", cpr, "--caseworker", "cw-anna", "--role",
                       "coach"], 2),
                     (["--cpr", cpr], 2),
                     (["--cpr", cpr, "--caseworker", "cw-nobody"], 1),
                     (["--cpr", "123", "--caseworker", "cw-anna"], 1),
                     (["--cpr", cpr, "--caseworker", "cw-anna", "--from",
                       "2026-02-30"], 1)):
        p = hub.hubctl("assign", *args, check=False)
        assert p.returncode == rc, (args, p.returncode, p.stderr)
    assert hub.stats()["assignments"] == 0
    p = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna")
    assert p.returncode == 0 and hub.stats()["assignments"] == 1


def test_set_password_exits_as_help_says(make_hub):
    """hubctl --help, set-password: exit 0 set, 1 for an id that is not a
    registered caseworker or a password outside 8-1024 bytes (OPERATIONS.md,
    "The web inbox"), nothing changed; the help says so, as it does for
    set-email, so no one takes a short password for a usage error."""
    help_text = subprocess.run([hubtest.binary("hubctl"), "--help"],
                               capture_output=True, text=True,
                               timeout=20).stdout
    entry = help_text.split("  set-password CASEWORKER")[1].split(
        "\n  set-email")[0]
    entry = " ".join(entry.split())
    assert ("Exit 0 set, 1 ID not a registered caseworker or a password "
            "of another length, with a NUL byte or not UTF-8 (nothing "
            "changed), 2 usage") in entry, entry
    hub = make_hub()
    for who, password, rc in (("cw-anna", "x" * 7, 1),
                              ("cw-anna", "x" * 1025, 1),
                              ("cw-ghost", "x" * 8, 1),
                              ("cw-anna", "x" * 8, 0),
                              ("cw-anna", "x" * 1024, 0)):
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), "set-password", who],
                           input=password + "\n", capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == rc, (who, len(password), p.stderr)
    p = hub.hubctl("set-password", check=False)
    assert p.returncode == 2, p.stderr
    # The first line is all of it up to its line end (a CRLF one too): a
    # carriage return inside the line is part of the password, not its
    # end, or a password would be stored cut short without a word.
    for text, rc in (("1234567\rXYZ\n", 0), ("1234567\r\n", 1),
                     ("12345678\r\n", 0), ("x" * 1024 + "\r\n", 0),
                     ("x" * 1025 + "\r\n", 1)):
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), "set-password", "cw-anna"],
                           input=text.encode(), capture_output=True,
                           timeout=60)
        assert p.returncode == rc, (text, p.stderr)


def test_set_password_at_a_terminal_asks_and_does_not_show_it(make_hub):
    """OPERATIONS.md, The web inbox: set-password run at a terminal asks
    for the password on stderr and does not show what is typed; the
    terminal's echo is back afterwards, also after Ctrl-C at the prompt
    (nothing changed then). Standard input that cannot be read is exit
    1, named."""
    import pty
    import termios
    hub = make_hub()
    secret = "tty-secret-4711"

    def at_a_terminal(then):
        master, slave = pty.openpty()
        proc = subprocess.Popen(
            [hubtest.binary("hubctl"), "--config", str(hub.conf),
             "set-password", "cw-anna"], stdin=slave,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            hubtest.wait_for(lambda: not termios.tcgetattr(slave)[3] &
                             termios.ECHO, 30, "echo turned off")
            then(master, proc)
            out, err = proc.communicate(timeout=60)
            os.set_blocking(master, False)
            try:
                shown = os.read(master, 4096).decode(errors="replace")
            except BlockingIOError:
                shown = ""
            assert termios.tcgetattr(slave)[3] & termios.ECHO, \
                "echo left off"
            return proc.returncode, out, err, shown
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            os.close(master)
            os.close(slave)

    rc, out, err, shown = at_a_terminal(
        lambda master, proc: os.write(master, (secret + "\n").encode()))
    assert rc == 0, err
    assert err == "password for cw-anna (8-1024 bytes, not shown): \n", err
    assert out == "password set for cw-anna; their open web sessions end\n"
    assert secret not in shown, shown
    rc, out, err, shown = at_a_terminal(
        lambda master, proc: proc.send_signal(2))
    assert rc != 0 and out == "", (rc, out, err)
    p = hub.hubctl("audit", "show", "--actor", f"hubctl:{_me()}")
    assert len(re.findall(r"set-password +ok ", p.stdout)) == 1, p.stdout
    a_directory = os.open("/tmp", os.O_RDONLY | os.O_DIRECTORY)
    try:
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), "set-password", "cw-anna"],
                           stdin=a_directory, capture_output=True,
                           text=True, timeout=60)
    finally:
        os.close(a_directory)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: set-password: cannot read standard input: Is a "
        "directory\n"), p.stderr


def _me():
    import pwd
    return pwd.getpwuid(os.geteuid()).pw_name


def test_hubctl_help_names_every_event_type_register_takes():
    """hubctl --help gives the words --types takes: those PROTOCOL.md's
    table registers agencies for, which the refusal lists too."""
    help_text = subprocess.run([hubtest.binary("hubctl"), "--help"],
                               capture_output=True, text=True,
                               timeout=20).stdout
    entry = help_text.split("  --types VALUE\n")[1].split("\n  --")[0]
    entry = " ".join(entry.split())
    table = (hubtest.ROOT / "docs" / "PROTOCOL.md").read_text()
    table = table.split("### Event types and who sends them")[1]
    types = re.findall(r"^\| \w+ \| \d+ \| [^|]+ \| (\w+) \|$", table, re.M)
    assert len(types) == 11, types
    for t in types:
        assert re.search(rf"\b{t}\b", entry), (t, entry)
    p = subprocess.run([hubtest.binary("hubctl"), "register-agency", "x",
                        "--types", "bogus"], capture_output=True, text=True,
                       timeout=20)
    listed = p.stderr.split("(")[1].split(")")[0].split(", ")
    assert p.returncode == 2 and sorted(listed) == sorted(types), p.stderr


def test_man_pages_say_what_help_and_the_docs_say():
    """A man page's own text (description, exit status, see also) is
    written beside --help, not made from it: it must say the same. inbox
    exits 3 for a hub.key that is not the hub's as for a refused key; an
    adapter's events are sealed in its outbox, not signed (PROTOCOL.md);
    a page that names no document does not point to share/doc."""
    inbox = subprocess.run([hubtest.binary("inbox"), "--help"],
                           capture_output=True, text=True, timeout=20).stdout
    assert "keys_dir/hub.key is not the hub's public key" in inbox
    assert "0-1073741824" in inbox and "0-86400" in inbox
    # An adapter's exit 1 as ADAPTERS.md gives it: rows refused by the
    # hub count as rejected ones.
    adapter = subprocess.run([hubtest.binary("adapter-school"), "--help"],
                             capture_output=True, text=True,
                             timeout=20).stdout
    assert "1 all delivered but rows rejected (see the rejects file)\n" \
        "      or refused by the hub" in adapter, adapter
    # Whose timeline: as ARCHITECTURE.md, "Caseworker queries".
    assert "or one with an open alert addressed to you" in inbox
    man = {p.stem: p.read_text()
           for p in (hubtest.ROOT / "deploy" / "man").glob("*.1")}
    exit3 = man["inbox"].split(".SH EXIT STATUS")[1].split(".B 3")[1]
    exit3 = exit3.split(".TP")[0]
    assert "keys_dir/hub.key is not the hub's public key" in exit3, exit3
    for name, text in man.items():
        assert "signed event" not in text, name
        see = text.split(".SH SEE ALSO")[1]
        assert ("share/doc/ungebro" in see) == (".md" in see), (name, see)


def loadgen(hub, *args, timeout=60):
    """The bench's load client (make builds it with everything else) as
    agency school-a of `hub`."""
    path = hubtest.BUILD / "bench" / "ug-loadgen"
    assert path.exists(), f"{path} not built (run make)"
    return subprocess.run(
        [str(path), "--endpoint", hub.ingest, "--server-key",
         str(hub.keys_dir / "hub.key"), "--key",
         str(hub.keys_dir / "school-a.key_secret"), *args],
        capture_output=True, text=True, timeout=timeout)


def test_loadgen_expects_only_the_alerts_whose_crossing_report_it_sent(
        make_hub):
    """ug-loadgen --help and PERFORMANCE.md: alerts_expected counts the
    alert pupils whose third weekly report, the one that crosses, was
    sent; a run cut short expects (and waits for) only those."""
    hub = make_hub(rules={"absence.rolling.min_days": "10"})
    pupils = ["--pupils", "20", "--alert-pupils", "10", "--tag", "7"]
    cprs_file = hub.inputs_dir / "alert-cprs.txt"
    p = loadgen(hub, *pupils, "--alert-cprs", str(cprs_file),
                "--alert-cprs-only")
    assert p.returncode == 0, p.stderr
    cprs = cprs_file.read_text().split()
    assert len(cprs) == 10
    for cpr in cprs:
        hub.assign(cpr, "cw-anna", start="2020-01-01")
    # 45 events of 20 pupils: weeks 0 and 1 for all, week 2 for pupils
    # 0-4 only, so 5 of the 10 alert pupils cross.
    p = loadgen(hub, *pupils, "--events", "45", "--window", "10",
                "--delivery", hub.delivery, "--caseworker-key",
                str(hub.keys_dir / "cw-anna.key_secret"), "--alert-wait",
                "10")
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert (r["sent"], r["accepted"]) == (45, 45), r
    assert (r["alerts_expected"], r["alerts_seen"]) == (5, 5), r


def test_loadgen_refuses_a_size_it_cannot_make(make_hub):
    """ug-loadgen --help: --size is the bytes per event frame; one the
    padded school id cannot reach ends the run before anything is sent
    (exit 2, no JSON), rather than silently sending other frames."""
    hub = make_hub()
    for size in ("1000", "10"):
        p = loadgen(hub, "--size", size, "--events", "10")
        assert p.returncode == 2, (size, p.stdout, p.stderr)
        assert p.stdout == ""
        assert re.search(rf"^ug-loadgen: --size {size}: an event frame of "
                         r"this agency is \d+ to \d+ bytes$", p.stderr,
                         re.M), p.stderr
    p = loadgen(hub, "--size", "abc")
    assert p.returncode == 2 and p.stdout == ""
    assert "ug-loadgen: --size: not a whole number of 0 or more: abc" in \
        p.stderr
    # Digits past a long's range are a whole number, only too large one.
    p = loadgen(hub, "--window", "9223372036854775808")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr == "ug-loadgen: --window: too large, at most " \
        "9223372036854775807: 9223372036854775808\n", p.stderr
    assert hub.stats()["log_events"] == 0


def test_loadgen_refuses_more_events_than_memory_can_time(make_hub):
    """ug-loadgen --help: exit 2 for more --events than memory can time
    (a send time and a latency are kept per event), naming --events, no
    JSON, nothing sent."""
    hub = make_hub()
    text = " ".join(subprocess.run(
        [str(hubtest.BUILD / "bench" / "ug-loadgen"), "--help"],
        capture_output=True, text=True, timeout=20).stdout.split())
    assert "2: bad options, keys, --start, an --alert-cprs file that " \
        "cannot be written whole, or more --events than memory can time " \
        "(no JSON)." in text, text
    p = loadgen(hub, "--events", str(2 ** 63 - 1))
    assert (p.returncode, p.stdout) == (2, ""), p.stderr
    assert p.stderr == "ug-loadgen: --events 9223372036854775807: out of " \
        "memory to time them\n", p.stderr
    assert hub.stats()["log_events"] == 0


def test_loadgen_output_that_cannot_be_written_is_no_success(make_hub):
    """ug-loadgen --help: exit 1 when the JSON could not be written
    (standard output on a full disk or closed), not 0 with the run's
    figures lost; exit 2 for an --alert-cprs file that cannot be written
    whole (a full disk: the bench would assign only some of the pupils
    and count their alerts missing), named with the program's name."""
    hub = make_hub()
    path = str(hubtest.BUILD / "bench" / "ug-loadgen")
    base = [path, "--endpoint", hub.ingest, "--server-key",
            str(hub.keys_dir / "hub.key"), "--key",
            str(hub.keys_dir / "school-a.key_secret")]
    with open("/dev/full", "w") as full:
        p = subprocess.run(base + ["--events", "5", "--window", "5"],
                           stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=60)
    assert p.returncode == 1, p.stderr
    assert p.stderr == "ug-loadgen: cannot write standard output: No " \
        "space left on device\n", p.stderr
    p = subprocess.run(base + ["--events", "5", "--window", "5"],
                       stderr=subprocess.PIPE, text=True, timeout=60,
                       stdout=subprocess.DEVNULL,
                       preexec_fn=lambda: os.close(1))
    assert p.returncode == 1, p.stderr
    assert p.stderr == "ug-loadgen: cannot write standard output: Bad " \
        "file descriptor\n", p.stderr
    # the pupils' CPRs: 400 of them fill more than stdio's buffer
    p = subprocess.run(base + ["--pupils", "1000", "--alert-pupils", "400",
                               "--alert-cprs", "/dev/full",
                               "--alert-cprs-only"],
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (2, ""), p.stderr
    assert p.stderr == "ug-loadgen: --alert-cprs /dev/full: cannot " \
        "write: No space left on device\n", p.stderr
    p = subprocess.run(base + ["--alert-pupils", "1", "--alert-cprs",
                               str(hub.tmp / "no" / "cprs"),
                               "--alert-cprs-only"],
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stdout) == (2, ""), p.stderr
    assert p.stderr == f"ug-loadgen: --alert-cprs {hub.tmp}/no/cprs: No " \
        "such file or directory\n", p.stderr
    # a small file, kept whole in stdio's buffer, fails at its close
    p = subprocess.run(base + ["--alert-pupils", "1", "--alert-cprs",
                               "/dev/full", "--alert-cprs-only"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr
    assert "cannot write: No space left on device" in p.stderr, p.stderr


def test_loadgen_refuses_a_stray_word(make_hub):
    """ug-loadgen --help lists options only: a word that is none (a value
    whose option was left out, "5000" for --events) is a bad option, exit
    2 and no JSON, not a run of the defaults."""
    hub = make_hub()
    p = loadgen(hub, "--window", "10", "5000")
    assert (p.returncode, p.stdout) == (2, ""), p.stdout
    assert p.stderr.startswith("ug-loadgen: unexpected argument '5000'\n"
                               "usage: ug-loadgen "), p.stderr
    assert hub.stats()["log_events"] == 0


def test_registrations_changed_is_logged_for_a_change_only(make_hub):
    """OPERATIONS.md, Monitoring: HUB-ZAP `registrations changed` says
    hubd has seen a change hubctl made while it runs; a start, with
    nothing changed since the registrations were made, says nothing of
    the kind."""
    hub = make_hub()
    hub.wait_log(r"HUB-READY")
    hub.settle()
    assert "registrations changed" not in hub.log_text()
    hub.keygen("cw-new")
    hub.register_caseworker("cw-new")
    hub.wait_log(r"HUB-ZAP registrations changed \(generation \d+\); "
                 r"connections are checked against them from now on")
    # The same registration written again (same key, same flags) is no
    # change: nothing logged. The next real change is logged once more.
    hub.register_caseworker("cw-new")
    hub.register_agency("school-a")
    hub.settle()
    assert hub.log_text().count("registrations changed") == 1, \
        hub.log_text()
    hub.register_caseworker("cw-new", desk=True)
    hub.wait_log(r"HUB-ZAP registrations changed", count=2)
    # --ops, as the doc lists it beside --desk, is a change too.
    hub.hubctl("register-caseworker", "cw-new", "--desk", "--ops")
    hub.wait_log(r"HUB-ZAP registrations changed", count=3)
    assert "other event types, `--desk` or `--ops`" in " ".join(
        (Path(__file__).parents[2] / "docs" /
         "OPERATIONS.md").read_text().split())


def test_a_change_made_as_soon_as_hubd_is_ready_is_logged(make_hub):
    """OPERATIONS.md, Monitoring: `registrations changed` once hubd has
    seen a change hubctl made while it runs. HUB-READY says it runs: a
    change made at once after it (a deploy script's register-* right
    after the start) is one, not taken for the registrations it started
    with."""
    hub = make_hub()
    hub.hubctl("register-caseworker", "cw-anna", "--ops")
    hub.wait_log(r"HUB-ZAP registrations changed \(generation \d+\)")


def test_set_email_reads_the_rules_for_the_desks_id_only(make_hub):
    """OPERATIONS.md, E-mail notices: the desk's id comes from the rules
    file, read when the id is no registered caseworker; one that does
    not load is exit 1 naming it, nothing stored, recorded failed."""
    hub = make_hub(start=False)
    bad = hub.tmp / "bad.rules"
    bad.write_text("dropout.priority = panic\n")
    p = hub.hubctl("set-email", "cw-anna", "a@b.dk", "--rules", str(bad),
                   check=False)
    assert (p.returncode, p.stderr) == (0, ""), p.stderr
    for rules, why in ((bad, f"{bad}:1: 'panic' is not a valid value for "
                        "dropout.priority"),
                       (hub.tmp / "none.rules",
                        f"cannot open {hub.tmp / 'none.rules'}: No such "
                        "file or directory")):
        p = hub.hubctl("set-email", "duty-desk", "v@b.dk", "--rules",
                       str(rules), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: set-email: {why}\n")
        last = hub.hubctl("audit", "show", "--json").stdout.splitlines()
        rec = json.loads(last[-1])
        assert (rec["action"], rec["result"]) == ("set-email", "failed")
    p = hub.hubctl("set-email", "duty-desk", "-", check=False)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: set-email: duty-desk has no address\n")


def test_check_config_says_the_command_lines_problems_once_files_are_fine(
        tmp_path):
    """OPERATIONS.md, Checking the configuration: a problem only the
    command line causes is reported as `hubd: reason`, once every line
    of the files is fine."""
    conf = tmp_path / "hubd.conf"
    conf.write_text("batch_max = 0\n")
    p = check_config("--config", str(conf), "--query_rate", "0")
    assert (p.returncode, p.stderr) == (
        2, f"{conf}:1: batch_max must be a whole number from 1 to 10000\n")
    conf.write_text("batch_max = 5\n")
    p = check_config("--config", str(conf), "--query_rate", "0")
    assert (p.returncode, p.stderr) == (
        2, "hubd: query_rate must be a whole number from 1 to 100000\n")


def test_check_config_goes_on_after_a_line_that_is_no_setting(tmp_path):
    """OPERATIONS.md, Checking the configuration: every bad line of both
    files is reported; a line that is not `name = value` or is longer
    than 510 bytes is one of them and the lines after it are still
    checked; only a NUL byte ends the check of its file (RULES.md
    section 10 says the same)."""
    conf = tmp_path / "hubd.conf"
    conf.write_text("batch_max = 0\nno setting here\n" + "# " + "x" * 600
                    + "\nquery_rate = 0\n")
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr.splitlines()) == (2, [
        f"{conf}:1: batch_max must be a whole number from 1 to 10000",
        f"{conf}:2: expected name = value",
        f"{conf}:3: line longer than 510 bytes",
        f"{conf}:4: query_rate must be a whole number from 1 to 100000"]), \
        p.stderr
    conf.write_bytes(b"batch_max = 0\nquery\0_rate = 0\nquery_rate = 0\n")
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr.splitlines()) == (2, [
        f"{conf}:1: batch_max must be a whole number from 1 to 10000",
        f"{conf}:2: a NUL byte: not a text file"]), p.stderr
    text = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md")
                    .read_text(encoding="utf-8").split())
    assert "is reported and ends the check of that file" not in text
    assert "only a NUL byte ends the check of its file" in text


def test_an_adapter_whose_events_the_hub_refuses_exits_1(make_hub):
    """OPERATIONS.md, Adapters: exit 1 is also events the hub refused for
    good (ADP-REJECT on stderr), as adapter-NAME --help says: an agency
    registered without the event type it sends."""
    hub = make_hub()
    hub.hubctl("register-agency", "school-a", "--types", "readiness")
    cprs = hubtest.CprGen(8031).take(2)
    path, _ = hub.csv("refused.csv",
                      [hubtest.AbsenceRow(cpr) for cpr in cprs])
    r = hub.adapter("import", path)
    assert r.rc == 1, r
    assert "ADP-REJECT " in r.stderr, r.stderr
    assert (r.summary["accepted"], r.summary["rejected_by_hub"]) == (0, 2)


def test_check_config_with_help_prints_the_help_alone():
    """OPERATIONS.md: -h and --help print the text, exit 0, in every
    program; given to hubd --check-config too, nothing follows it."""
    hubd = hubtest.binary("hubd")
    text = subprocess.run([hubd, "--help"], capture_output=True, text=True,
                          timeout=20).stdout
    for flag in ("--help", "-h"):
        p = subprocess.run([hubd, "--check-config", flag],
                           capture_output=True, text=True, timeout=20)
        assert (p.returncode, p.stdout, p.stderr) == (0, text, ""), flag


def test_a_manifest_without_its_log_figures_is_named_damaged(make_hub,
                                                            tmp_path):
    """OPERATIONS.md, restore: a manifest.json without the log_last_seq
    or the log_events number the restore checks the log against is
    damaged, said before anything is copied (exit 1, data_dir left as
    it was), not a mismatch with a count of 0 after the copy. So is one
    whose figure is no whole number (negative, a fraction, quoted, too
    large): not taken as 18446744073709551615, or as 0."""
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8405).next(),
                              salt="manifest-figures"))
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    whole = json.loads((backup / "manifest.json").read_text())
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    for name in ("log_last_seq", "log_events"):
        for bad in (None, -1, whole[name] + 0.5, f"{whole[name]}", 1e400):
            m = dict(whole, **{name: bad})
            if bad is None:
                del m[name]
            (backup / "manifest.json").write_text(json.dumps(m))
            p = hub.hubctl("restore", str(backup), check=False)
            assert (p.returncode, p.stdout) == (1, ""), (bad, p.stderr)
            assert p.stderr == f"hubctl: restore: {backup}/manifest.json " \
                f"is damaged: no {name}\n", (bad, p.stderr)
            assert not hub.data_dir.exists()
    (backup / "manifest.json").write_text(json.dumps(whole))
    hub.hubctl("restore", str(backup))


def test_a_manifest_that_is_no_file_is_missing_or_unreadable(make_hub,
                                                             tmp_path):
    """OPERATIONS.md, restore: a DIR without a readable manifest.json is
    no backup. A directory where the manifest should be cannot be read
    as one: named so, not taken for a damaged manifest."""
    hub = make_hub()
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    (backup / "manifest.json").unlink()
    (backup / "manifest.json").mkdir()
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    p = hub.hubctl("restore", str(backup), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == f"hubctl: restore: {backup}/manifest.json is " \
        "missing or unreadable: not a backup made by hubctl backup\n", \
        p.stderr
    assert not hub.data_dir.exists()


def test_a_backup_restored_after_the_machine_restarted_says_why_it_indexes(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: a backup carries the kernel
    boot id of the machine it was made on. Restored after that machine
    restarted, or on another one, its event ids are indexed anew as the
    restore opens it ("Store format"): the restore says so on stderr, as
    the doc quotes it, and still succeeds."""
    from test_07_recovery2 import under_boot_id
    if subprocess.run(["unshare", "-m", "true"]).returncode != 0:
        pytest.skip("no mount namespaces here")
    hub, backup = stopped_after_a_backup(make_hub, tmp_path, 8431, 4,
                                         "boot-restore")
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    r = under_boot_id("11111111-2222-3333-4444-555555555555",
                      [hubtest.binary("hubctl"), "--config", str(hub.conf),
                       "restore", str(backup)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"restored from {backup}: log up to "
                               "sequence 4 (4 events)"), r.stdout
    assert r.stderr == (
        "hubctl: STORE-IDS the machine has restarted since ids/ was last "
        "checked: rebuilding the event-id index from the log\n"
        "hubctl: STORE-IDS indexed the event ids of 4 log records that "
        "ids/ had not seen (after a crash, a lost ids/ or a restore)\n"), \
        r.stderr
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "A backup made before the machine last started, or on another " \
        "machine, is restored with its event ids indexed anew" in doc


def test_a_log_that_does_not_match_its_manifest_is_named_and_taken_back(
        make_hub, tmp_path):
    """OPERATIONS.md, restore: the restored log must hold exactly the
    manifest's log_last_seq and log_events. A manifest whose figures were
    changed (its files untouched, so their lengths and hashes still
    match) is refused after the copy, in the words the doc quotes, and
    data_dir is left empty for another try."""
    hub, backup = stopped_after_a_backup(make_hub, tmp_path, 8433, 3,
                                         "mismatch")
    whole = json.loads((backup / "manifest.json").read_text())
    (backup / "manifest.json").write_text(json.dumps(
        dict(whole, log_events=whole["log_events"] + 1)))
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    p = hub.hubctl("restore", str(backup), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == (
        "hubctl: restore: the restored log (sequence 3, 3 events) does "
        "not match the manifest (3, 4)\n"
        f"hubctl: restore: nothing restored; {hub.data_dir} is empty "
        "again\n"), p.stderr
    assert list(hub.data_dir.iterdir()) == []
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`hubctl: restore: the restored log (sequence N, E events) " \
        "does not match the manifest (N2, E2)`" in doc
    (backup / "manifest.json").write_text(json.dumps(whole))
    hub.hubctl("restore", str(backup))


def test_a_backup_beside_a_damaged_signing_public_key_says_why(make_hub,
                                                              tmp_path):
    """OPERATIONS.md, the manifest: a keys_dir/hub.sign_public that is
    there but does not read is not "no hub.sign_public": the backup is
    made all the same (exit 0, audit_verified false), says that the key
    does not read, and gives the reason on stderr, as audit verify
    does."""
    hub = make_hub()
    (hub.keys_dir / "hub.sign_public").write_text("garbage\n")
    backup = tmp_path / "backup"
    p = hub.hubctl("backup", str(backup))
    assert p.stdout.endswith(
        "records (not verified: hub.sign_public does not read)\n"), p.stdout
    assert p.stderr == (
        "hubctl: backup: warning: the copy's audit trail is not verified: "
        "cannot read the signing public key: "
        f"{hub.keys_dir}/hub.sign_public:1: expected name = value\n"), \
        p.stderr
    m = json.loads((backup / "manifest.json").read_text())
    assert (m["audit_verified"], m["audit_intact"]) == (False, False)
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`(not verified: hub.sign_public does not read)`" in doc


def test_a_manifest_cut_short_is_damaged_not_taken_for_an_older_one(
        make_hub, tmp_path):
    """OPERATIONS.md, restore: only a manifest from an earlier version,
    without file_bytes and file_blake2b, is checked for length only. One
    cut short before those figures (the machine stopped while it was
    written) is no such manifest: it is refused as damaged before
    anything is copied, whatever its last whole field."""
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8435).next(),
                              salt="manifest-cut"))
    backup = tmp_path / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    whole = (backup / "manifest.json").read_text()
    # Written aside and renamed once whole: nothing else is left.
    assert sorted(p.name for p in backup.iterdir()) == \
        ["derived", "ids", "log", "manifest.json"]
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    # Cut at its first byte too: a file made but never written is the
    # likeliest manifest cut short, not one without log_last_seq.
    # Text after the closing brace is no whole object either, and the
    # doc says it gets the same message.
    # Text after it that ends in a brace too (a second object, a stray
    # brace), or behind a NUL, is text after the closing brace all the
    # same.
    after = {"after": "\nx\n", "brace": "}\n", "object": "\n{}\n",
             "nul": "\0x"}
    for cut in (whole.index('"file_bytes"'), whole.index('"files"'),
                len(whole) - 3, 0, *after):
        text = whole.rstrip() + after[cut] if cut in after else whole[:cut]
        (backup / "manifest.json").write_text(text)
        p = hub.hubctl("restore", str(backup), check=False)
        assert (p.returncode, p.stdout) == (1, ""), (cut, p.stdout)
        assert p.stderr == f"hubctl: restore: {backup}/manifest.json is " \
            "damaged: cut short (not a whole JSON object)\n", (cut, p.stderr)
        assert not hub.data_dir.exists()
    # Whole JSON, but no object: no manifest hubctl backup wrote.
    for other in ("[]\n", '"log_last_seq": 5\n'):
        (backup / "manifest.json").write_text(other)
        p = hub.hubctl("restore", str(backup), check=False)
        assert (p.returncode, p.stderr) == (1, f"hubctl: restore: {backup}/"
            "manifest.json is damaged: not a JSON object\n"), (other, p)
        assert not hub.data_dir.exists()
    # A whole one without the figures, as an earlier version wrote it,
    # is still taken (length only).
    older = json.loads(whole)
    del older["file_bytes"], older["file_blake2b"]
    (backup / "manifest.json").write_text(json.dumps(older, indent=2) + "\n")
    hub.hubctl("restore", str(backup))
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`hubctl: restore: DIR/manifest.json is damaged: cut short " \
        "(not a whole JSON object)`" in doc
    assert "`... is damaged: not a JSON object`" in doc


def test_of_bad_command_line_values_one_is_said_whatever_their_order(
        tmp_path):
    """OPERATIONS.md, Checking the configuration: of the problems only
    the command line causes, one is reported, the same whatever their
    order on the command line (not necessarily the first given); a start
    names the same one."""
    conf, _ = write_config(tmp_path, [], [])
    bad = {"query_rate": "query_rate must be a whole number from 1 to "
           "100000", "batch_max": "batch_max must be a whole number from 1 "
           "to 10000", "log_map_mb": "log_map_mb must be a whole number "
           "from 1 to 16777216"}
    said = set()
    for order in (["query_rate", "batch_max", "log_map_mb"],
                  ["log_map_mb", "batch_max", "query_rate"],
                  ["batch_max", "query_rate", "log_map_mb"]):
        args = [a for name in order for a in (f"--{name}", "0")]
        p = check_config("--config", str(conf), *args)
        assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr
        said.add(p.stderr)
        p = subprocess.run([hubtest.binary("hubd"), "--config", str(conf),
                            *args], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 2 and "HUB-START cannot start: " in p.stderr
        said.add("hubd: " + p.stderr.split("cannot start: ", 1)[1]
                 .split(": ", 1)[1])
    assert len(said) == 1 and said.pop()[len("hubd: "):-1] in \
        bad.values(), said
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "`hubd: reason` without a line (only one of them, the same " \
        "whatever their order on the command line, not necessarily the " \
        "first given; and only once" in doc


def test_a_bad_rules_file_does_not_hold_back_the_command_lines_problem(
        tmp_path):
    """OPERATIONS.md, Checking the configuration: the command line's
    problem waits for the lines of the --config files only; a bad rules
    file is reported after it, in the same run."""
    conf, rules = write_config(tmp_path, ["batch_max = 5"],
                               ["dropout.priority = panic"])
    p = check_config("--config", str(conf), "--query_rate", "0")
    assert (p.returncode, p.stderr) == (2, (
        "hubd: query_rate must be a whole number from 1 to 100000\n"
        f"{rules}:1: 'panic' is not a valid value for dropout.priority\n")), \
        p.stderr
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "every line of the `--config` files is fine: fix those, then " \
        "check again; the rules file's problems do not hold it back, and " \
        "are listed after it" in doc


@contextlib.contextmanager
def parent_blocking_sigterm(monkeypatch):
    """subprocess.Popen, for the with-block, as a parent that starts its
    child with SIGTERM and SIGHUP blocked (a mask survives exec)."""
    popen = subprocess.Popen

    def blocking_sigterm(cmd, *args, **kw):
        return popen(["/usr/bin/python3", "-c",
                      "import os, signal, sys; "
                      "signal.pthread_sigmask(signal.SIG_BLOCK, "
                      "{signal.SIGTERM, signal.SIGHUP}); "
                      "os.execvp(sys.argv[1], sys.argv[1:])", *cmd],
                     *args, **kw)
    with monkeypatch.context() as m:
        m.setattr(subprocess, "Popen", blocking_sigterm)
        yield


def sigterm_blocked(pid):
    """Whether the process's main thread has SIGTERM blocked (under
    valgrind, which keeps signals blocked for its own reasons, not
    asked: the stop that follows says it)."""
    if hubtest.VALGRIND:
        return False
    [mask] = [line.split()[1] for line in
              Path(f"/proc/{pid}/status").read_text().splitlines()
              if line.startswith("SigBlk:")]
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def test_webd_stops_on_sigterm_though_its_parent_blocked_it(make_hub,
                                                           monkeypatch):
    """OPERATIONS.md, webd: SIGTERM or SIGINT stops it (exit 0), whatever
    mask its parent started it with."""
    from test_70_web import Web, web_hub
    hub = web_hub(make_hub)
    with parent_blocking_sigterm(monkeypatch):
        web = Web(hub)
    try:
        assert not sigterm_blocked(web.proc.pid)
        web.proc.send_signal(signal.SIGTERM)
        assert web.proc.wait(timeout=30) == 0
    finally:
        # A webd that did not stop must not outlive the test.
        web.proc.kill()
        web.proc.wait(timeout=30)


def test_ctrl_c_stops_hubd_and_webd_cleanly(make_hub):
    """hubd --help, hubd(1): "Stops cleanly on SIGTERM or SIGINT", exit 0
    "stopped cleanly", HUB-STOP logged; webd --help, webd(1): exit 0
    "stopped by SIGTERM or SIGINT". Ctrl-C in a terminal is SIGINT, and
    a clean stop is no failure."""
    from test_70_web import Web, web_hub
    hub = web_hub(make_hub)
    web = Web(hub)
    try:
        web.proc.send_signal(signal.SIGINT)
        assert web.proc.wait(timeout=30) == 0
    finally:
        web.proc.kill()
        web.proc.wait(timeout=30)
    assert b"WEB-STOP stopped" in (hub.logs_dir / "webd.log").read_bytes()
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8415).next(),
                              salt="ctrl-c"))
    hub.proc.send_signal(signal.SIGINT)
    assert hub.proc.wait(timeout=30) == 0
    hub.wait_log(r"hubd \w+ HUB-STOP", timeout=5)
    hub.proc = None


def test_hubd_stops_on_sigterm_though_its_parent_blocked_it(make_hub,
                                                           monkeypatch):
    """OPERATIONS.md, "Start and stop": SIGTERM stops hubd, exit 0, also
    when whatever started it had SIGTERM blocked: a blocked mask survives
    exec, and every thread hubd started inherited it, so the SIGTERM
    waited forever."""
    hub = make_hub(start=False)
    with parent_blocking_sigterm(monkeypatch):
        hub.start()
    assert not sigterm_blocked(hub.proc.pid)
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8414).next(),
                              salt="blocked-term"))
    hub.proc.send_signal(signal.SIGTERM)
    assert hub.proc.wait(timeout=30) == 0
    hub.wait_log(r"hubd \w+ HUB-STOP", timeout=5)


@pytest.mark.parametrize("jobs", ["abc", "0", "-2", "1.5", "100"])
def test_make_test_refuses_test_jobs_that_are_no_whole_number(jobs):
    """README.md: TEST_JOBS=N runs the test files in N pytest processes,
    1 to 99; anything else stops make before it starts, naming it."""
    r = subprocess.run(["make", "-n", "--no-print-directory", "test",
                        f"TEST_JOBS={jobs}"], cwd=hubtest.ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stdout[-2000:]
    assert "TEST_JOBS must be a whole number of processes from 1 to 99, " \
        f"not '{jobs}'" in r.stderr, r.stderr


def test_make_test_runs_the_files_in_two_processes_unless_told():
    """README.md: two pytest processes by default, each file's tests in
    one of them; TEST_JOBS=1 one process, as pytest alone."""
    def pytest_line(*args):
        out = subprocess.run(["make", "-n", "--no-print-directory", "test",
                              *args], cwd=hubtest.ROOT, capture_output=True,
                             text=True, timeout=120).stdout
        [line] = [ln for ln in out.splitlines() if " -m pytest " in ln]
        return line
    # Other pytest options (--durations) may follow the processes'.
    assert " -n 2 --dist loadfile " in pytest_line()
    assert " -n 3 --dist loadfile " in pytest_line("TEST_JOBS=3")
    assert " -n " not in pytest_line("TEST_JOBS=1")


def test_loadgen_help_names_every_limit_it_enforces(tmp_path):
    """ug-loadgen --help (PERFORMANCE.md): each option's text names the
    range its value is held to, and a value just outside it is refused
    with that range (exit 2, no JSON), before any key is read."""
    path = str(hubtest.BUILD / "bench" / "ug-loadgen")
    text = subprocess.run([path, "--help"], capture_output=True, text=True,
                          timeout=20).stdout
    base = ["--endpoint", "tcp://127.0.0.1:1", "--server-key",
            str(tmp_path / "none.key"), "--key",
            str(tmp_path / "none.key_secret")]

    def help_of(option):
        lines = text.splitlines()
        at = next(i for i, l in enumerate(lines)
                  if l.startswith(f"  {option} "))
        own = [lines[at]]
        for l in lines[at + 1:]:
            if not l.startswith(" " * 20):
                break
            own.append(l)
        return " ".join(" ".join(own).split())
    for option, bad, limit, refused in (
            ("--seconds", "1000001", "0 to 1000000", "(0 to 1000000)"),
            ("--seconds", "-1", "0 to 1000000", "(0 to 1000000)"),
            ("--alert-wait", "1000000.5", "0 to 1000000", "(0 to 1000000)"),
            ("--events", "0", "1 or more", "of 1 or more"),
            ("--window", "0", "1 or more", "of 1 or more"),
            ("--pupils", "0", "1 or more", "of 1 or more"),
            ("--phase", "-1", "0 or more", "of 0 or more"),
            ("--connections", "0", "at least 1", "from 1 to 256"),
            ("--connections", "257", "at most 256", "from 1 to 256"),
            ("--tag", "4294967296", "0 to 4294967295",
             "from 0 to 4294967295")):
        assert limit in help_of(option), (option, help_of(option))
        p = subprocess.run([path, *base, option, bad], capture_output=True,
                           text=True, timeout=20)
        assert (p.returncode, p.stdout) == (2, ""), (option, bad, p.stderr)
        assert p.stderr.startswith(f"ug-loadgen: {option}: ") and \
            f"{refused}: {bad}\n" in p.stderr, (option, bad, p.stderr)
    # The upper limit itself is a value it takes (here: on to the keys).
    for option in ("--seconds", "--alert-wait"):
        p = subprocess.run([path, *base, option, "1000000"],
                           capture_output=True, text=True, timeout=20)
        assert "not a number of seconds" not in p.stderr, p.stderr
    assert "at most --pupils" in help_of("--alert-pupils")
    assert "needs --alert-cprs" in help_of("--alert-cprs-only")


def test_loadgen_refuses_pupil_numbers_past_a_long(tmp_path):
    """ug-loadgen --help: --phase P takes (P + 1) x pupils x connections
    up to 9223372036854775807; past it a pupil's number would wrap, so it
    is exit 2 naming the three, and --alert-cprs-only writes no file."""
    path = str(hubtest.BUILD / "bench" / "ug-loadgen")
    text = " ".join(subprocess.run([path, "--help"], capture_output=True,
                                   text=True, timeout=20).stdout.split())
    assert "--phase P selects the run's pupils (0; 0 or more, (P + 1) x " \
        "pupils x connections at most 9223372036854775807)" in text, text
    cprs = tmp_path / "cprs"
    most = 2 ** 63 - 1
    for phase, pupils, conns in ((most, 3, 1), (most // 3, 3, 1),
                                 (0, most, 2), (most // 512, 2, 256)):
        p = subprocess.run([path, "--phase", str(phase), "--pupils",
                            str(pupils), "--connections", str(conns),
                            "--alert-pupils", "2", "--alert-cprs",
                            str(cprs), "--alert-cprs-only"],
                           capture_output=True, text=True, timeout=20)
        assert (p.returncode, p.stdout) == (2, ""), (phase, p.stderr)
        assert p.stderr == f"ug-loadgen: --phase {phase}, --pupils " \
            f"{pupils}, --connections {conns}: (phase + 1) x pupils x " \
            f"connections is more than {most}\n", p.stderr
        assert not cprs.exists()
    # The last phase that fits is a run's, its pupils CPRs of 10 digits.
    p = subprocess.run([path, "--phase", str(most // 3 - 1), "--pupils",
                        "3", "--alert-pupils", "3", "--alert-cprs",
                        str(cprs), "--alert-cprs-only"],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    lines = cprs.read_text().splitlines()
    assert len(lines) == 3 and all(re.fullmatch(r"\d{10}", l)
                                   for l in lines), lines


def test_loadgen_names_the_option_a_run_cannot_take(tmp_path):
    """ug-loadgen --help: a count of 0 (events, window, pupils,
    connections), more connections than it can open, more alert pupils
    than pupils, --delivery without --caseworker-key (or the other way
    round),
    --alert-cprs-only without a file to write and a --start that is not
    a Monday are bad options: exit 2,
    no JSON, and a line saying which, before any key is read; not a
    bare usage text, nor (--alert-cprs-only) exit 0 having written
    nothing."""
    path = str(hubtest.BUILD / "bench" / "ug-loadgen")
    base = ["--endpoint", "tcp://127.0.0.1:1", "--server-key",
            str(tmp_path / "none.key"), "--key",
            str(tmp_path / "none.key_secret")]
    cases = [
        (["--window", "0"], "--window: not a whole number of 1 or more: 0"),
        (["--events", "0"], "--events: not a whole number of 1 or more: 0"),
        (["--pupils", "0"], "--pupils: not a whole number of 1 or more: 0"),
        (["--connections", "0"],
         "--connections: not a whole number from 1 to 256: 0"),
        (["--connections", "257"],
         "--connections: not a whole number from 1 to 256: 257"),
        (["--tag", "4294967296"],
         "--tag: not a whole number from 0 to 4294967295: 4294967296"),
        (["--pupils", "10", "--alert-pupils", "11"],
         "--alert-pupils 11: more than --pupils 10"),
        (["--delivery", "tcp://127.0.0.1:2"],
         "--delivery needs --caseworker-key"),
        (["--caseworker-key", str(tmp_path / "cw.key_secret")],
         "--caseworker-key needs --delivery"),
        (["--alert-cprs-only"], "--alert-cprs-only needs --alert-cprs FILE"),
        (["--start", "2025-01-07"], "--start: 2025-01-07 is not a Monday"),
        (["--start", "2025-02-30"], "--start: not a date: 2025-02-30"),
    ]
    for args, message in cases:
        p = subprocess.run([path, *base, *args], capture_output=True,
                           text=True, timeout=20)
        assert (p.returncode, p.stdout) == (2, ""), (args, p.stdout)
        assert p.stderr.startswith(f"ug-loadgen: {message}\n"), \
            (args, p.stderr)
    p = subprocess.run([path, "--events", "5"], capture_output=True,
                       text=True, timeout=20)
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr.startswith("ug-loadgen: --endpoint, --server-key and "
                               "--key are needed\nusage: "), p.stderr
    help_text = subprocess.run([path, "--help"], capture_output=True,
                               text=True, timeout=20).stdout
    assert "at most 256" in help_text
    assert "30 s without an ack" in help_text, help_text


def test_a_bad_bench_setting_ends_make_bench_before_it_starts():
    """PERFORMANCE.md, "How it is measured": a BENCH_PREFILL or
    BENCH_PREFILL_SECONDS that is not a whole number of events or a
    number of seconds (0 or more) ends the bench before anything starts
    (var/bench untouched) with the message the doc gives; bench.py exits
    1, and `make bench` 2, as make does for a command that failed."""
    bench = hubtest.ROOT / "tests" / "bench" / "bench.py"
    var = hubtest.ROOT / "var" / "bench"
    before = var.stat().st_mtime_ns if var.exists() else None
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH")}
    cases = [("BENCH_PREFILL", v, "a whole number of events (0 or more)")
             for v in ("abc", "-1", "1.5")]
    # inf would go on without a budget and be written to results.json as
    # Infinity, which is not JSON.
    cases += [("BENCH_PREFILL_SECONDS", v, "a number of seconds (0 or more)")
              for v in ("soon", "inf", "-1")]
    for name, value, what in cases:
        p = subprocess.run(["/usr/bin/python3", str(bench)],
                           env={**env, name: value}, capture_output=True,
                           text=True, timeout=30)
        assert (p.returncode, p.stdout) == (
            1, f"BENCH FAILED: {name} must be {what}, not '{value}'\n"), \
            (name, value, p.stdout, p.stderr)
    # -o bootstrap: a test must not install packages.
    p = subprocess.run(["make", "--no-print-directory", "-o", "bootstrap",
                        "bench", f"BUILD={hubtest.BUILD}"], cwd=hubtest.ROOT,
                       env={**env, "BENCH_PREFILL": "abc"},
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stdout + p.stderr
    assert "BENCH FAILED: BENCH_PREFILL must be a whole number of events " \
        "(0 or more), not 'abc'\n" in p.stdout, p.stdout
    assert (var.stat().st_mtime_ns if var.exists() else None) == before
    doc = (hubtest.ROOT / "docs" / "PERFORMANCE.md").read_text()
    doc = " ".join(doc.split())
    assert "BENCH_PREFILL_SECONDS must be a number of seconds (0 or " \
        "more), not 'X'" in doc
    assert "`make bench` itself then exits 2" in doc
    # make passes on a SIGTERM to its command, not a SIGINT or SIGHUP.
    assert "make passes on a SIGTERM only" in doc


def test_the_bench_prints_memory_in_the_unit_it_names(capsys):
    """PERFORMANCE.md, "var/bench/results.json": results.json keeps
    memory in the kB of /proc/PID/status (1024 bytes) and disk in MB of
    10^6 bytes; the printed report divides the kB by 1024, so it must
    call them MiB, not the MB the disk sizes beside them are given in."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "bench_for_test", hubtest.ROOT / "tests" / "bench" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = {"stores": {}, "growth": [{
        "step": "start", "log_events": 0, "disk_mb": 2.0,
        "rss": {"RssAnon": 2048, "RssFile": 10240}}],
        "redis_end": {"xlen": 0, "disk_mb": 0.0}, "hubd_exit": 0,
        "redis_exit": 0, "total_s": 1}
    bench.report(res)
    out = capsys.readouterr().out
    assert "peak RssAnon / RssFile MiB during it" in out, out
    assert re.search(r"^   start +0 events +2\.0 MB   2\.0 / 10\.0$", out,
                     re.M), out
    doc = " ".join((hubtest.ROOT / "docs" / "PERFORMANCE.md").read_text()
                   .split())
    assert "printed report gives memory in MiB (kB / 1024)" in doc
    readme = " ".join((hubtest.ROOT / "README.md").read_text().split())
    assert re.search(r"anonymous memory was [0-9.]+ MiB", readme), \
        "README gives hubd's memory in MiB"


def test_hub_cpu_pct_is_documented_as_bench_py_counts_it():
    """PERFORMANCE.md, "var/bench/results.json": hub_cpu_pct is hubd's
    CPU while the whole ug-loadgen process ran (its connecting and its
    wait for the last alerts too) over the run's `seconds` (first send
    to last ack); the doc must say so, or a reader takes it for hubd's
    load during `seconds` and is puzzled by a value above the cores.
    Read from the source: a bench run would load the machine."""
    src = (hubtest.ROOT / "tests" / "bench" / "bench.py").read_text()
    run = src[src.index("        c0 = cpu_s(self.env.proc.pid)"):]
    run = run[:run.index('"argv":')]
    assert "subprocess.run(argv" in run
    assert '"hub_cpu_pct": 100.0 * cpu / r["seconds"]' in run
    doc = " ".join((hubtest.ROOT / "docs" / "PERFORMANCE.md").read_text()
                   .split())
    assert "`hub_cpu_pct` (hubd's CPU seconds from ug-loadgen's start to " \
        "its exit" in doc
    assert "over the run's `seconds`" in doc


def test_a_killed_bench_takes_its_servers_with_it(tmp_path):
    """PERFORMANCE.md, "How it is measured": the bench stops hubd and
    redis-server however it ends. A SIGKILL (a test's or a CI's timeout,
    the OOM killer) cannot be caught, so the servers must not outlive
    bench.py: left running they hold their ports and an emptied store.
    Run from a copy of bench.py, so var/bench is the copy's."""
    copy = tmp_path / "tests" / "bench"
    copy.mkdir(parents=True)
    shutil.copy(hubtest.ROOT / "tests" / "bench" / "bench.py", copy)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH")}
    env.update(BENCH_QUICK="1", UG_BUILD=str(hubtest.BUILD))
    proc = subprocess.Popen(["/usr/bin/python3", str(copy / "bench.py")],
                            env=env, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)
    pids = []
    try:
        line = proc.stdout.readline()
        m = re.match(r"== setup: .*hubd pid (\d+) .*redis-server pid (\d+)",
                     line)
        assert m, line
        pids = [int(m.group(1)), int(m.group(2))]
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(
                Path(f"/proc/{p}").exists() and "Z" not in
                Path(f"/proc/{p}/stat").read_text().split(") ")[1][:1]
                for p in pids):
            time.sleep(0.1)
        alive = [p for p in pids if Path(f"/proc/{p}").exists() and "Z" not in
                 Path(f"/proc/{p}/stat").read_text().split(") ")[1][:1]]
        assert not alive, alive
    finally:
        proc.kill()
        for p in pids:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)


def test_the_table_of_hubctl_options_is_what_hubctl_takes(tmp_path):
    """OPERATIONS.md, Registering who may connect: the table of hubctl's
    own options names the commands each belongs to; given on the command
    line to any other, it is refused naming it (`... does not apply to
    ...`, exit 2). Every option of hubctl's own in `--help` is in the
    table, and for every command the table is what hubctl does."""
    ops = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    table = ops[ops.index("| option | commands |"):].splitlines()[2:]
    belongs = {}
    for line in table:
        if not line.startswith("|"):
            break
        opts, cmds = [cell.strip() for cell in line.strip("|").split("|")]
        for opt in re.findall(r"`(--\w+)`", opts):
            belongs[opt] = set(re.findall(r"`([a-z-]+(?: verify| show)?)`",
                                          cmds))
    usage = subprocess.run([hubtest.binary("hubctl"), "--help"],
                           capture_output=True, text=True).stdout
    own = re.findall(r"^  (--\w+)", usage[usage.index("  --key VALUE"):],
                     re.M)
    assert own and [o for o in own if o not in belongs] == [], belongs
    commands = {
        "keygen": ["x"], "register-agency": ["x"],
        "register-caseworker": ["x"], "register-gateway": ["x"],
        "revoke-agency": ["x"], "revoke-caseworker": ["x"],
        "revoke-gateway": ["x"], "set-password": ["x"],
        "set-email": ["x", "a@example.org"], "assign": [], "stats": [],
        "log": [], "audit verify": [], "audit show": [], "export": [],
        "pass-damaged": [], "erase": [], "backup": [str(tmp_path / "bk")],
        "restore": [str(tmp_path / "bk")], "report": []}
    wrong = []
    for opt in own:
        for cmd, args in commands.items():
            value = [] if opt in ("--desk", "--ops", "--json") else ["1"]
            # No store and no keys: a command the option belongs to fails
            # for another reason, and nothing is made.
            p = subprocess.run(
                [hubtest.binary("hubctl"), "--data_dir",
                 str(tmp_path / "data"), "--keys_dir", str(tmp_path / "k"),
                 *cmd.split(), *args, opt, *value], capture_output=True,
                text=True, stdin=subprocess.DEVNULL, timeout=60)
            refused = p.stderr == (f"hubctl: {cmd}: {opt} does not apply "
                                   f"to {cmd} (see --help)\n")
            if refused != (cmd not in belongs[opt]):
                wrong.append((opt, cmd, p.returncode, p.stderr))
            if refused:
                assert p.returncode == 2 and p.stdout == "", p
    assert wrong == [], wrong
    assert not (tmp_path / "data").exists() and \
        not (tmp_path / "bk").exists()


def test_a_yes_no_setting_given_twice_is_checked_as_the_last(tmp_path):
    """OPERATIONS.md, Start and stop: given twice on the command line,
    the last one wins and only it is checked, in every program; hubctl,
    inbox, webd and the adapters check the value in force of a file's
    lines too. A yes/no setting (`--json`, `--list`, `--behind_tls`) is
    no exception: `--json=ja --json=no` runs, `--json=ja` alone is
    refused naming it (hubctl, inbox and webd exit 2, the adapters 3)."""
    conf = tmp_path / "ops.conf"
    hubctl = [hubtest.binary("hubctl"), "--data_dir", str(tmp_path / "d"),
              "--keys_dir", str(tmp_path / "k")]
    # No store: a usage error is exit 2, a run that got past it exit 1.
    for args, rc in ((["stats", "--json=ja", "--json=no"], 1),
                     (["stats", "--json=ja"], 2)):
        p = subprocess.run(hubctl + args, capture_output=True, text=True,
                           timeout=60)
        assert p.returncode == rc, (args, p.stderr)
        if rc == 2:
            assert p.stderr == "hubctl: json must be true or false (or " \
                "yes/no, on/off, 1/0), not 'ja'\n", p.stderr
    conf.write_text("json = ja\njson = no\n")
    p = subprocess.run(hubctl + ["--config", str(conf), "stats"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "json" not in p.stderr, p.stderr
    conf.write_text("json = no\njson = ja\n")
    p = subprocess.run(hubctl + ["--config", str(conf), "stats"],
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (2, f"hubctl: {conf}:2: json must "
                                        "be true or false (or yes/no, "
                                        "on/off, 1/0), not 'ja'\n"), p
    # The others: the last one taken, they go on to what they lack.
    for prog, args, rc, lacks in (
            ("inbox", ["--caseworker", "cw-anna", "--keys_dir",
                       str(tmp_path / "k"), "--list=ja", "--list=yes"], 1,
             "cw-anna.key_secret"),
            ("webd", ["--gateway", "web-1", "--behind_tls=ja",
                      "--behind_tls=yes", "--port", "0"], 2, "port"),
            ("adapter-school", ["--agency", "school-a", "--keys_dir",
                                str(tmp_path / "k"), "--outbox",
                                str(tmp_path / "o"), "flush", "--json=ja",
                                "--json=no"], 3, "school-a.key_secret")):
        p = subprocess.run([hubtest.binary(prog), *args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == rc and lacks in p.stderr and \
            "must be true or false" not in p.stderr, (prog, p.stderr)
        bad = [a for a in args if a.endswith("=ja")]
        p = subprocess.run([hubtest.binary(prog), *args[:args.index(
            bad[0]) + 1]], capture_output=True, text=True, timeout=60)
        name = bad[0][2:-3]
        assert (p.returncode, p.stderr) == (
            3 if prog.startswith("adapter") else 2,
            f"{prog}: {name} must be true or false (or yes/no, on/off, "
            "1/0), not 'ja'\n"), (prog, p.stderr)


def test_log_range_errors_are_the_ones_operations_md_quotes(make_hub):
    """OPERATIONS.md, Monitoring: `hubctl log`'s `--after` and `--limit`
    out of range are exit 2 with the message the document quotes for
    each. It quoted the `limit` one alone for both, so a check written
    from it expected that text for a bad `--after` too."""
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    quoted = dict(re.findall(
        r"`(hubctl: log: (after|limit) must be a whole number from 0 to "
        r"9223372036854775807)` for `--\2`", doc))
    quoted = {option: text for text, option in quoted.items()}
    assert sorted(quoted) == ["after", "limit"], quoted
    hub = make_hub()
    for option, text in quoted.items():
        for bad in ("-1", "9223372036854775808", "1.5", "x"):
            p = hub.hubctl("log", f"--{option}", bad, check=False)
            assert (p.returncode, p.stdout, p.stderr) == \
                (2, "", text + "\n"), (option, bad, p.stderr)


def test_a_dir_too_long_is_refused_in_the_words_quoted(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: DIR is at most 512 bytes for
    backup and restore alike, a longer one exit 2 with the message the
    document quotes, nothing made. It quoted backup's alone, so a check
    of restore written from it expected `hubctl: backup: ...` there."""
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    quoted = re.findall(r"`(hubctl: (backup|restore): DIR is longer than "
                        r"512 bytes)`", doc)
    assert sorted(cmd for _, cmd in quoted) == ["backup", "restore"], quoted
    hub = make_hub()
    hub.stop()
    longer = tmp_path / ("d" * 200) / ("e" * 200)
    longer = longer / ("f" * (513 - len(str(longer)) - 1))
    assert len(str(longer)) == 513
    for text, cmd in quoted:
        p = hub.hubctl(cmd, str(longer), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (2, "", text + "\n"), \
            (cmd, p.stderr)
        assert not longer.exists()


def test_a_backup_the_full_store_cannot_record_stands(make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: the backup is recorded after
    its copy; with the store's own disk full the record may not fit.
    The backup stands then, whole, exit 0, and hubctl says the record is
    missing in the words the document quotes: the copy is what a full
    disk under data_dir calls for (the document said nothing of it)."""
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "A backup whose record the store's own disk cannot take " \
        "(full) stands all the same, exit 0, with `hubctl: backup was " \
        "not recorded in the audit trail: ...` on stderr" in doc
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        hub = make_hub(start=False, register=False,
                       settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        hub.register_agency("school-a", "absence")
        hub.start()
        hub.send(*[hubtest.envelope("school-a", c, salt=f"bfull-{i}")
                   for i, c in enumerate(hubtest.CprGen(8433).take(30))])
        hub.stop()
        hubtest.fill_disk(disk / "filler")
        for i in range(200):
            before = hub.stats()["audit_records"]
            target = tmp_path / f"bk-{i}"
            p = hub.hubctl("backup", str(target), check=False)
            assert p.returncode == 0, p.stderr
            assert json.loads((target / "manifest.json").read_text())[
                "log_events"] == 30
            if "backup was not recorded" in p.stderr:
                assert re.search(
                    r"err STORE-LMDB .*the disk under log/ is full; free "
                    r"space\nhubctl: backup was not recorded in the audit "
                    r"trail: .*\n$", p.stderr), p.stderr
                assert hub.stats()["audit_records"] == before
                break
        else:
            raise AssertionError("every backup's record fitted")


def test_a_restore_run_again_over_more_than_its_own_leaves_the_mark(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: run again into the data_dir an
    unfinished restore left, restore takes back what that one left and
    starts over; a data_dir that holds anything else is refused as not
    empty, and nothing is written. It took the unfinished restore's files
    and its restore.unfinished away first and then refused: the mark that
    keeps hubd off a data_dir holding part of a backup was gone, and
    hubd started an empty store there, whose events a restore into it
    would be refused over."""
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", hubtest.CprGen(8434).next(),
                              salt="mark"))
    backup = tmp_path / "bk"
    hub.hubctl("backup", str(backup))
    hub.stop()
    data = tmp_path / "data"
    (data / "log").mkdir(parents=True)
    (data / "restore.unfinished").write_bytes(b"")
    half = (backup / "log" / "data.mdb").read_bytes()
    (data / "log" / "data.mdb").write_bytes(half[:len(half) // 2])
    (data / "notes.txt").write_text("the operator's, not the restore's\n")
    before = {str(p.relative_to(data)): p.read_bytes()
              for p in data.rglob("*") if p.is_file()}
    p = hub.hubctl("restore", str(backup), "--data_dir", str(data),
                   check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: restore: {data} is not empty\n"), p.stderr
    assert {str(p.relative_to(data)): p.read_bytes()
            for p in data.rglob("*") if p.is_file()} == before
    p = hub.hubctl("stats", "--data_dir", str(data), check=False)
    assert p.returncode == 1 and "a restore into " + str(data) + \
        " did not finish (restore.unfinished is there)" in p.stderr, p
    # Without the operator's file it is what the doc says: taken back,
    # and restored anew.
    (data / "notes.txt").unlink()
    p = hub.hubctl("restore", str(backup), "--data_dir", str(data),
                   check=False)
    assert p.returncode == 0, p.stderr
    assert not (data / "restore.unfinished").exists()


def test_a_manifest_without_file_figures_names_log_first(make_hub,
                                                         tmp_path):
    """OPERATIONS.md, Backup and restore: a manifest whose file figures
    are there but not whole is refused before anything is copied, `...
    is damaged: no whole file_bytes and file_blake2b for log/data.mdb`.
    With either figure gone whole, restore named derived/data.mdb (its
    copy order), not the file the document quotes; it checks in the
    manifest's order, log/ first."""
    hub = make_hub()
    backup = tmp_path / "bk"
    hub.hubctl("backup", str(backup))
    hub.stop()
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["files"] == ["log/data.mdb", "ids/data.mdb",
                                 "derived/data.mdb"]
    for gone in ("file_bytes", "file_blake2b"):
        damaged = tmp_path / f"no-{gone}"
        shutil.copytree(backup, damaged)
        (damaged / "manifest.json").write_text(json.dumps(
            {k: v for k, v in manifest.items() if k != gone}))
        data = tmp_path / f"data-{gone}"
        p = hub.hubctl("restore", str(damaged), "--data_dir", str(data),
                       check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: restore: {damaged}/manifest.json is damaged: "
            "no whole file_bytes and file_blake2b for log/data.mdb\n"), \
            (gone, p.stderr)
        assert not data.exists()


def test_a_reporting_line_that_cannot_be_written_is_exit_1_done_all_the_same(
        make_hub, tmp_path):
    """OPERATIONS.md: backup, restore, erase and report print one line
    saying what they did; where standard output cannot take it (a full
    disk, or closed, `>&-`) the action stands all the same, and hubctl
    says so on stderr, `hubctl: backup: cannot write standard output: No
    space left on device; the backup was made all the same`, exit 1, as
    stats, log and audit do with their output."""
    hub = make_hub()
    cpr = hubtest.CprGen(8080).next()
    hub.send(hubtest.envelope("school-a", cpr, salt="lost-line"))
    hub.wait_applied()
    before = hub.stats()

    def run(*args, out="full", config=None):
        cmd = [hubtest.binary("hubctl"), "--config", str(config or hub.conf),
               *args]
        if out == "closed":
            return subprocess.run(
                ["bash", "-c", " ".join(map(shlex.quote, cmd)) + " >&-"],
                stderr=subprocess.PIPE, text=True, timeout=120)
        with open("/dev/full", "w") as full:
            return subprocess.run(cmd, stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=120)

    full = "cannot write standard output: No space left on device"
    backup = tmp_path / "backup"
    p = run("backup", str(backup))
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: backup: {full}; the backup was made all the same\n"), p
    assert json.loads((backup / "manifest.json").read_text())[
        "log_events"] == before["log_events"]

    page = tmp_path / "status.html"
    p = run("report", "--year", "2026", "--out", str(page))
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: report: {full}; the report was written all the "
        "same\n"), p
    assert page.stat().st_size > 0 and list(tmp_path.glob("status-*.csv"))

    p = run("erase", "--cpr", cpr, "--reason", "80 full stdout")
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: erase: {full}; the person was erased all the same\n"), p
    assert hub.stats()["log_events"] == before["log_events"] - 1

    recs = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--actor", hubtest_actor(), "--json")
        .stdout.splitlines()]
    assert [(r["action"], r["result"]) for r in recs
            if r["action"] in ("backup", "report", "erase")] == [
        ("backup", "ok"), ("report", "ok"), ("erase", "ok")], recs
    hub.stop()

    # A restore whose line is lost is kept, not taken back as a failed
    # one is: hubd starts on it.
    restored = tmp_path / "restored"
    conf = tmp_path / "restored.conf"
    conf.write_text(hub.conf_elsewhere(restored, hub.keys_dir))
    p = run("restore", str(backup), out="closed", config=conf)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: restore: cannot write standard output: Bad file "
        "descriptor; the store was restored all the same\n"), p
    p = hub.hubctl("--config", str(conf), "stats", "--json", config=False)
    assert json.loads(p.stdout)["log_events"] == before["log_events"]
    assert hub.hubctl("--config", str(conf), "audit", "verify",
                      config=False).returncode == 0


def test_a_backup_dir_given_with_a_trailing_slash_names_its_files_once(
        make_hub, tmp_path):
    """OPERATIONS.md, Backup and restore: DIR given as `DIR/` (as a
    shell completes it) is DIR, as a `_dir` setting is: `backup in DIR:
    ...`, `hubctl: restore: DIR/manifest.json is missing or unreadable:
    ...`, never `DIR//manifest.json`."""
    hub = make_hub(start=False)
    backup = tmp_path / "backup"
    p = hub.hubctl("backup", f"{backup}//")
    assert p.stdout.startswith(f"backup in {backup}: log up to sequence "), p
    assert (backup / "manifest.json").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    p = hub.hubctl("restore", f"{empty}/", "--data_dir",
                   str(tmp_path / "restored"), check=False)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: restore: {empty}/manifest.json is missing or "
        "unreadable: not a backup made by hubctl backup\n"), p
