#!/usr/bin/python3
"""Write deploy/man/PROGRAM.1 for every program from its --help text (the
OPTIONS section, verbatim) and the few lines below. Run after changing a
program's options or this file:

    deploy/man/mkman.py build/release/bin

The pages are committed, so `make install` needs neither this script nor
a build of it; tests/e2e/test_80_ops.py checks they render cleanly and
that each is what this script makes of the program's --help now (so a
forgotten rerun fails there)."""

import datetime
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ADAPTER_EXIT = [
    ("0", "everything delivered, no row rejected; watch: stopped by "
          "SIGTERM or SIGINT (what is queued stays in the outbox and is "
          "sent after the next start)"),
    ("1", "everything delivered, some rows rejected (or refused by the "
          "hub: their rows are kept in the rejects file too)"),
    ("2", "not everything delivered yet: the hub was unreachable or "
          "slow, or import or flush was stopped (SIGINT, SIGTERM) once "
          "every file was queued; the outbox keeps the events"),
    ("3", "fatal: usage or settings, a whole-file problem, a file that "
          "changed while read, an import interrupted (SIGINT, SIGTERM) "
          "while it reads a file or before the next one, the hub refused "
          "the key, the outbox failed, the run's report (import, flush) "
          "could not be written on standard output (a full disk, stdout "
          "closed); watch ends only for settings, DIR "
          "that cannot be read, a full disk (DIR's or the outbox's), the "
          "key refused or the outbox failing: a whole-file problem moves "
          "the file to DIR/failed/, a changed one is imported again"),
]
ADAPTER_FILES = [
    ("/etc/ungebro/adapter-NAME.conf", "settings (adapter.conf.example)"),
    ("/var/spool/ungebro/NAME", "watched directory (done/, failed/)"),
    ("/var/lib/ungebro/adapters/NAME/outbox", "the sealed outbox, as "
     "adapter.conf.example sets it, in the unit's StateDirectory"),
]
ADAPTER_SEE = ["hubd(1)", "hubctl(1)", "ADAPTERS.md"]


def adapter(name, what):
    return dict(
        summary=f"import {what} into the ungebro hub",
        description=f"adapter-{name} reads the agency's export files "
                    f"(CSV or JSON Lines), turns each good row into an event, "
                    f"keeps it in a sealed outbox and delivers it to the "
                    f"hub until the hub acknowledges it. It runs once "
                    f"(import, flush) or as a service watching a "
                    f"directory (watch; systemd unit "
                    f"ungebro-adapter@{name}).",
        files=[(p.replace("NAME", name), w) for p, w in ADAPTER_FILES],
        exit=ADAPTER_EXIT, see=ADAPTER_SEE)


PAGES = {
    "hubd": dict(
        summary="the ungebro early-warning hub daemon",
        description="hubd receives the agencies' events on the ingest "
                    "endpoint, stores them durably in its LMDB store, "
                    "applies the early-warning rules and delivers the "
                    "alerts they raise to caseworkers on the delivery "
                    "endpoint. SIGTERM or SIGINT finish the batch in "
                    "flight and stop it cleanly; SIGHUP reloads the rules "
                    "file. hubd --check-config checks the configuration "
                    "and the rules file without opening the store.",
        files=[("/etc/ungebro/hubd.conf", "settings (hubd.conf.example)"),
               ("/etc/ungebro/rules.conf", "the rules (rules.conf.example)"),
               ("/etc/ungebro/keys/hub.key_secret", "the hub's secrets"),
               ("/etc/ungebro/keys/hub.sign_secret",
                "the audit trail's signing key (with hub.sign_public; "
                "made at start when missing and keys_dir is writable)"),
               ("/var/lib/ungebro/hub",
                "data_dir: log/, ids/ and derived/, and hubd.lock, "
                "locked while a hubd runs on the store")],
        exit=[("0", "stopped cleanly, or --check-config found no problem"),
              ("1", "could not start (keys, store, sockets)"),
              ("2", "usage or settings (an option, a line of the config "
                    "file, the rules file), found at start or by "
                    "--check-config")],
        see=["hubctl(1)", "inbox(1)", "webd(1)", "OPERATIONS.md",
             "RULES.md"]),
    "hubctl": dict(
        summary="administer the ungebro hub",
        description="hubctl makes keys, registers and revokes agencies, "
                    "caseworkers and the web gateway, sets web passwords "
                    "and e-mail addresses for notices, assigns contact "
                    "persons, shows statistics and the event log, verifies "
                    "and shows the audit trail, exports and erases a "
                    "person's data, passes over a log record that does not "
                    "open (pass-damaged), writes the annual status report, "
                    "and backs the store "
                    "up and restores it. It works on the store named by "
                    "the hub's configuration, also while hubd runs "
                    "(restore excepted).",
        files=[("/etc/ungebro/hubd.conf", "the hub's settings"),
               ("/etc/ungebro/keys", "keys_dir"),
               ("/var/lib/ungebro/hub", "data_dir: log/, ids/ and derived/")],
        exit=[("0", "done"), ("1", "failed, or refused (the audit trail "
                                    "is broken; register-* with a key "
                                    "registered to another id)"),
              ("2", "usage: an unknown command, a missing or extra "
                    "argument, an id that is not 1-63 of a-z 0-9 . _ -, "
                    "starting with a letter or digit, holding no CPR "
                    "number, a bad option "
                    "value, an option of another command; nothing "
                    "changed"),
              ("3", "log, export, erase: done but for log records that "
                    "do not open with the storage key (named on stderr; "
                    "OPERATIONS.md, \"Records that do not open\")")],
        see=["hubd(1)", "OPERATIONS.md", "SECURITY.md"]),
    "inbox": dict(
        summary="a caseworker's terminal inbox of early-warning alerts",
        description="inbox connects to the hub's delivery endpoint with a "
                    "caseworker's key, shows their alerts as they arrive "
                    "and acknowledges them, or runs one command: list the "
                    "open alerts, show a person's timeline, acknowledge an "
                    "alert or record what was done.",
        files=[("keys_dir/ID.key_secret", "the caseworker's key"),
               ("keys_dir/hub.key", "the hub's public key")],
        exit=[("0", "done (live, also ended by Ctrl-C or SIGTERM, after "
                    "its count line; live with --idle_exit: also when no "
                    "hub answered within --timeout, nothing printed)"),
              ("1", "failed (keys, connection, or the hub refused for "
                    "another reason, such as an action's --date that is "
                    "no day or is after today, or its --how or --note too "
                    "long: the hub checks those; live, a Hello refused "
                    "before the first Welcome, as a web gateway's key "
                    "is), or a one-shot command interrupted (SIGINT, "
                    "SIGTERM) before the hub answered, or standard "
                    "output cannot be written (a full disk: live, what "
                    "it could not show is not acknowledged)"),
              ("2", "usage (a bad option, alert id or CPR number, --how "
                    "missing or white space alone, two commands, an option "
                    "of another command, a stray word; nothing sent), or "
                    "no answer from the "
                    "hub within --timeout (a one-shot command)"),
              ("3", "the hub refused this caseworker's key, or "
                    "keys_dir/hub.key is not the hub's public key"),
              ("4", "not the caseworker's alert or person, or the alert "
                    "is not open for them (OPERATIONS.md, Caseworkers)")],
        see=["hubd(1)", "webd(1)", "hubctl(1)"]),
    "webd": dict(
        summary="the caseworkers' web inbox for the ungebro hub",
        description="webd serves the web inbox over plain HTTP for a "
                    "reverse proxy with TLS: caseworkers log in with a "
                    "password, see their open alerts and why they fired, "
                    "record what was done and open a timeline. It talks "
                    "to hubd on the delivery endpoint with the gateway's "
                    "key; hubd checks the passwords.",
        files=[("/etc/ungebro/webd.conf", "settings, as deploy/webd.service "
                "runs it (webd.conf.example)"),
               ("keys_dir/ID.key_secret", "the gateway's key"),
               ("keys_dir/hub.key", "the hub's public key")],
        exit=[("0", "stopped cleanly (SIGTERM or SIGINT)"),
              ("1", "could not start (keys that cannot be read, a key "
                    "file holding another's key, a port that cannot be "
                    "bound)"),
              ("2", "usage or settings (a bad value, a word that is no "
                    "setting), before the keys are read or a port bound")],
        see=["hubd(1)", "hubctl(1)", "OPERATIONS.md"]),
    "adapter-addiction": adapter("addiction", "the addiction centre's "
                                 "referrals"),
    "adapter-college": adapter("college", "youth education student "
                               "status"),
    "adapter-jobcenter": adapter("jobcenter", "the Jobcenter's benefit "
                                 "periods and missed activations"),
    "adapter-school": adapter("school", "a school's absence, readiness "
                              "and school leaving"),
    "adapter-youthunit": adapter("youthunit", "the youth unit's contact "
                                 "assignments and desk memberships"),
}


def esc(text):
    """Roff-safe text: backslashes, and a leading '.' or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def page(name, info, help_text, date):
    out = [f'.TH {name.upper()} 1 "{date}" "ungebro" "ungebro manual"',
           ".SH NAME", f"{esc(name)} \\- {esc(info['summary'])}",
           ".SH SYNOPSIS", ".nf"]
    usage = [ln for ln in help_text.splitlines()
             if ln.lower().startswith("usage:") or
             (ln.startswith("       ") and ln.strip().startswith(name))]
    out += [esc(ln.split(":", 1)[1].strip() if ln.lower().startswith(
        "usage:") else ln.strip()) for ln in usage]
    out += [".fi", ".SH DESCRIPTION", esc(info["description"]),
            ".SH OPTIONS", "The text of", f".B {esc(name)} \\-\\-help:",
            ".PP", ".nf"]
    out += [esc(ln) if ln.strip() else "" for ln in help_text.splitlines()]
    out += [".fi", ".SH FILES"]
    for path, what in info["files"]:
        out += [".TP", f".I {esc(path)}", esc(what)]
    out += [".SH EXIT STATUS"]
    for code, what in info["exit"]:
        out += [".TP", f".B {code}", esc(what)]
    # Only the documents live under share/doc; a page that names none
    # would otherwise send the reader there for the other man pages.
    # make install rewrites the directory to its PREFIX's, as in the units.
    where = (" (in /usr/local/share/doc/ungebro)"
             if any(s.endswith(".md") for s in info["see"]) else "")
    out += [".SH SEE ALSO", esc(", ".join(info["see"])) + where]
    return "\n".join(ln if ln else ".sp" for ln in out) + "\n"


def main():
    bindir = Path(sys.argv[1] if len(sys.argv) > 1 else "build/release/bin")
    date = datetime.date.today().isoformat()
    # Every page from a --help that answered, or none: a page written
    # from a missing or failing program would lose its options silently.
    pages, help_texts = {}, {}
    for name, info in PAGES.items():
        try:
            p = subprocess.run([str(bindir / name), "--help"],
                               capture_output=True, text=True)
            failed = p.returncode != 0 or not p.stdout.strip()
        except OSError as e:
            failed = e.strerror
        if failed:
            sys.exit(f"mkman.py: {bindir / name} --help failed"
                     f"{': ' + failed if isinstance(failed, str) else ''}"
                     " (build the programs first: make); no page written")
        pages[name] = page(name, info, p.stdout, date)
        help_texts[name] = p.stdout
    for name, text in pages.items():
        path = HERE / f"{name}.1"
        # A page keeps its date until its text changes: a rerun after one
        # program's options changed touches that page alone, not every
        # page for a new date (noise in a commit, a conflict in a merge).
        try:
            old = path.read_text()
        except OSError:
            old = None
        kept = re.match(r'\.TH \S+ 1 "([^"]*)"', old or "")
        if kept and old == page(name, PAGES[name], help_texts[name],
                                kept.group(1)):
            continue
        path.write_text(text)


if __name__ == "__main__":
    main()
