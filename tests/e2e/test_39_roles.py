"""39 roles: a contact assignment's role is one of contact, guidance or
mentor, decided in one place (proto/wire.c wire_assignment_role) for
every way an assignment arrives.

- `hubctl assign --role X` with any other X exits 2 and stores nothing,
  --file or not (docs/OPERATIONS.md).
- A ContactAssignment frame with another role, a role_kind nobody knows,
  or a text and role_kind that disagree is REJECTED E_MALFORMED with the
  documented reason (docs/PROTOCOL.md); nothing is stored.
- role_kind alone routes: GUIDANCE gets the readiness alert, MENTOR
  routes nothing (the desk gets the alert).
- `hubctl assign --file` reads the youth unit's CSV dialect: a quoted
  field holding the separator is one field.
Every hub is privacy-swept at teardown."""

import json
import subprocess

import hubtest
from hubtest import (ACCEPTED, E_MALFORMED, REJECTED, CprGen, IngestClient,
                     ev_absence, ev_assignment, ev_readiness, frame,
                     rules_hub)

ROLE_REASON = ("contact_assignment.role is not one of contact, guidance "
               "or mentor (or empty, meaning contact)")


def log_events(hub):
    p = hub.hubctl("log", "--json")
    return [json.loads(line) for line in p.stdout.splitlines()]


def test_hubctl_unknown_role_exits_2_and_stores_nothing(hub):
    a, b = CprGen(3901).take(2)
    hub.cprs.update([a, b])
    before = hub.stats()
    for role in ("coach", "Contact", "kontaktperson", "contact "):
        p = hub.hubctl("assign", "--cpr", a, "--caseworker", "cw-anna",
                       "--from", "2024-01-01", "--role", role,
                       check=False)
        assert p.returncode == 2, (role, p.returncode, p.stderr)
        assert p.stdout == ""
        assert f"unknown role '{role}'" in p.stderr, p.stderr
        assert "--role must be contact, guidance or mentor" in p.stderr
        assert a not in p.stdout + p.stderr
    # With --file as well: the bad --role is refused before the file is
    # read, so a good file stores nothing either.
    path = hub.inputs_dir / "assign-ok.csv"
    path.write_text(f"cpr;caseworker;from\n{b};cw-anna;2024-01-01\n")
    p = hub.hubctl("assign", "--file", str(path), "--role", "coach",
                   check=False)
    assert p.returncode == 2, p.stderr
    assert "unknown role 'coach'" in p.stderr
    after = hub.stats()
    assert (after["log_events"], after["assignments"], after["last_seq"]) \
        == (before["log_events"], before["assignments"], before["last_seq"])
    assert log_events(hub) == []

    # The accepted roles still work, and say what they stored.
    for role in ("contact", "guidance", "mentor", ""):
        hub.hubctl("assign", "--cpr", a, "--caseworker", "cw-anna",
                   "--from", "2024-01-0%d" % (1 + len(role) % 9),
                   "--role", role)
    assert [e["type"] for e in log_events(hub)] == ["ContactAssignment"] * 4


def test_help_names_the_roles():
    p = subprocess.run([hubtest.binary("hubctl"), "--help"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 0
    assert "[--role contact|guidance|mentor]" in p.stdout
    said = " ".join(p.stdout.split())
    assert "an unknown --role: exit 2, nothing stored" in said


def test_frame_with_unknown_role_rejected_with_reason(make_hub):
    hub = rules_hub(make_hub, "2026-01-20T08:00:00")
    [cpr] = CprGen(3902).take(1)
    hub.cprs.add(cpr)
    m = hubtest.pb()
    cases = []
    env = ev_assignment(cpr, "cw-anna", "2026-01-05", role="coach")
    cases.append((env, "role", ROLE_REASON))
    env = ev_assignment(cpr, "cw-anna", "2026-01-05", role="Contact")
    cases.append((env, "role", ROLE_REASON))
    env = ev_assignment(cpr, "cw-anna", "2026-01-05", role="contact")
    env.contact_assignment.role_kind = m.CONTACT_ROLE_MENTOR
    cases.append((env, "role", "contact_assignment.role contradicts "
                  "contact_assignment.role_kind"))
    env = ev_assignment(cpr, "cw-anna", "2026-01-05", role="")
    env.contact_assignment.role_kind = 7
    cases.append((env, "role_kind", "contact_assignment.role_kind 7 is "
                  "not a known ContactRole"))
    with IngestClient(hub, "youth-a") as client:
        for env, field, reason in cases:
            ack = client.ack_for(frame(env))
            assert (ack.status, ack.code, ack.reason) == \
                (REJECTED, E_MALFORMED, reason), (field, ack)
            assert not ack.retryable
            assert ack.event_id == env.event_id
            assert cpr not in ack.reason
    st = hub.stats()
    assert (st["log_events"], st["assignments"]) == (0, 0)
    assert hub.log_text().count("HUB-REJECT") == len(cases)


def test_role_kind_alone_decides_routing(make_hub):
    hub = rules_hub(make_hub, "2026-01-20T08:00:00")
    counselled, mentored = CprGen(3903).take(2)
    m = hubtest.pb()
    g = ev_assignment(counselled, "cw-bob", "2026-01-05", role="")
    g.contact_assignment.role_kind = m.CONTACT_ROLE_GUIDANCE
    c = ev_assignment(counselled, "cw-anna", "2026-01-05", role="")
    c.contact_assignment.role_kind = m.CONTACT_ROLE_CONTACT
    mt = ev_assignment(mentored, "cw-anna", "2026-01-05", role="")
    mt.contact_assignment.role_kind = m.CONTACT_ROLE_MENTOR
    hub.send(g, c, mt)
    hub.wait_applied()
    # A readiness alert goes to the guidance counsellor (RULES.md), an
    # absence alert of the mentored person to the desk: a mentor routes
    # nothing.
    hub.send(ev_readiness(counselled, "2026-01-15", 9,
                          not_ready_personal=True),
             ev_absence(mentored, "2026-01-12", absent=10, expected=30))
    assert hub.wait_applied()["alerts"] == 2
    [r] = hub.peek("cw-bob", 1)
    assert (r["rule"], r["cpr"], r["recipient"]) == \
        ("readiness", counselled, "cw-bob")
    [d] = hub.peek("desk-dora", 1)
    assert (d["cpr"], d["recipient"]) == (mentored, "duty-desk")
    hub.peek("cw-anna", 0)


def test_assign_file_reads_quoted_fields(hub):
    a, b, c = CprGen(3904).take(3)
    hub.cprs.update([a, b, c])
    path = hub.inputs_dir / "assign.csv"
    # ',' separated, a note column whose quoted text holds commas and a
    # quote, a quoted role, CRLF line ends: as a spreadsheet writes it.
    path.write_bytes(
        ("\ufeffCPR,Caseworker,note,From,Role\r\n"
         f"{hubtest.dashed(a)},cw-anna,\"called, no answer, \"\"later\"\"\","
         "2024-01-01,\"contact\"\r\n"
         f"{b},cw-anna,\"mentor, not contact\",2024-01-01,\"mentor\"\r\n"
         f"{c},cw-anna,\"x\",2024-01-01,coach\r\n").encode())
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.returncode == 1, p
    assert p.stdout == "assignments: 2 new, 0 already known, 1 rejected\n"
    assert p.stderr == (f"{path}:4: column role: the role must be contact, "
                        "guidance or mentor (kontaktperson, UU-vejleder, "
                        "mentor; empty means contact)\n")
    for cpr in (a, b, c):
        assert cpr not in p.stdout + p.stderr
    st = hub.stats()
    # The mentor is logged but routes nothing: one routing assignment.
    assert (st["log_events"], st["assignments"]) == (2, 1)
    # The same file again: nothing new.
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.stdout == "assignments: 0 new, 2 already known, 1 rejected\n"


def test_assign_file_header_names_as_spreadsheets_write_them(hub):
    """OPERATIONS.md "Contact persons": in the file's header, case, blanks
    and '-' do not matter: `Case worker`, `CASE-WORKER` and ` From ` name
    the caseworker and from columns."""
    for n, header in enumerate(("CPR;Case worker;From", "cpr;CASE-WORKER; From ",
                                "Cpr;caseworker;from")):
        cpr = CprGen(3910 + n).next()
        hub.cprs.add(cpr)
        path = hub.inputs_dir / f"assign-{n}.csv"
        path.write_text(f"{header}\n{cpr};cw-anna;2024-01-01\n")
        p = hub.hubctl("assign", "--file", str(path), check=False)
        assert (p.returncode, p.stdout, p.stderr) == \
            (0, "assignments: 1 new, 0 already known, 0 rejected\n", ""), \
            (header, p)
    # A bad row names the column in hubctl's words, whatever is wrong
    # with it: one column is not "CPR" for one row and "cpr" for another.
    path = hub.inputs_dir / "assign-names.csv"
    path.write_text(f"CPR;Case worker;From\n{cpr};cw-anna;2024-1-1\n"
                    f"{cpr};cw-nobody;2024-01-01\n{'1' * 5000};cw-anna;\n")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.stderr == (
        f"{path}:2: column from: dates must be a real day YYYY-MM-DD, "
        "DD-MM-YYYY or DD.MM.YYYY in the years 1900-2199\n"
        f"{path}:3: column caseworker: the "
        "caseworker is not registered (hubctl register-caseworker)\n"
        f"{path}:4: column cpr: the value is 5000 bytes, over the limit "
        "of 4096\n"), p
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "(NAME is `cpr`, `caseworker`, `from`, `to` or `role`, however " \
        "the header writes it" in doc


def test_assign_file_is_utf8_text(hub):
    """OPERATIONS.md "Contact persons": hubctl reads the file as UTF-8
    only, unlike the youth unit's adapter: a Windows-1252 export (Danish
    Excel's "CSV") is refused at its header, exit 1, nothing stored, and
    a value that is not UTF-8 rejects its row, in a column hubctl
    otherwise ignores too."""
    cpr, other = CprGen(3920).take(2)
    hub.cprs.update({cpr, other})
    path = hub.inputs_dir / "assign-cp1252.csv"
    path.write_bytes(f"cpr;caseworker;from;bem\xe6rkning\n"
                     f"{cpr};cw-anna;2024-01-01;x\n".encode("latin-1"))
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr == f"hubctl: {path}:1: header row: the value is not " \
        'UTF-8 text (save the file as "CSV UTF-8")\n', p.stderr
    path.write_bytes(f"cpr;caseworker;from;note\n{cpr};cw-anna;2024-01-01;"
                     f"s\xf8ren\n{other};cw-anna;2024-01-01;ok\n"
                     .encode("latin-1"))
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert (p.returncode, p.stdout) == (
        1, "assignments: 1 new, 0 already known, 1 rejected\n"), p
    assert p.stderr == f"{path}:2: column note: the value is not UTF-8 " \
        'text (save the file as "CSV UTF-8")\n', p.stderr
    # --help says so too, not only OPERATIONS.md.
    text = " ".join(hub.hubctl("--help", config=False).stdout.split())
    assert 'or --file CSV, UTF-8 text (save Excel\'s as "CSV UTF-8")' \
        in text, text


def test_assign_file_whole_file_problems_name_no_line_zero(hub):
    """OPERATIONS.md "Contact persons" reads the file as the adapters do
    (ADAPTERS.md "Input files"): lines ending in CR alone are a problem
    of the whole file, not of a line 0, and a directory cannot be read,
    as a missing file cannot be opened; exit 1, nothing stored."""
    cpr = CprGen(3930).next()
    hub.cprs.add(cpr)
    path = hub.inputs_dir / "assign-mac.csv"
    path.write_bytes(f"cpr;caseworker\r{cpr};cw-anna\r".encode())
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr == (f"hubctl: {path}: the lines end in a carriage "
                        "return alone (an old Mac format): save the file "
                        'as "CSV UTF-8" or with Windows or Unix line '
                        "ends\n"), p.stderr
    # Empty, or blank lines alone: the whole file, no line of it (not a
    # line 3 of a file of two), as the adapters say it.
    for data in (b"", b"\xef\xbb\xbf\r\n  \r\n"):
        path.write_bytes(data)
        p = hub.hubctl("assign", "--file", str(path), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: {path}: the file is empty; a header row "
            "naming the columns is required\n"), p
    folder = hub.inputs_dir / "assign-dir"
    folder.mkdir()
    p = hub.hubctl("assign", "--file", str(folder), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr == f"hubctl: cannot read {folder}: Is a directory\n"
    assert hub.stats()["log_events"] == 0
    # A row over the 64 KiB documented is rejected; the next one stored.
    other = CprGen(3931).next()
    hub.cprs.add(other)
    path = hub.inputs_dir / "assign-long.csv"
    path.write_text(f"cpr;caseworker;note\n{cpr};cw-anna;{'x' * 70000}\n"
                    f"{other};cw-anna;ok\n")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "assignments: 1 new, 0 already known, 1 rejected\n",
        f"{path}:2: the row is longer than 65536 bytes\n"), p


def test_assign_file_tabs_and_sep_line_are_named_as_the_adapter_does(hub):
    """OPERATIONS.md "Contact persons": the file is read as the adapters
    read it (ADAPTERS.md "Input files"), which name a tab-separated
    header and Excel's `sep=;` line for what they are, not as missing
    columns the clerk can plainly see; exit 1, nothing stored."""
    cpr = CprGen(3932).next()
    hub.cprs.add(cpr)
    for name, text, reason in (
            ("assign-tabs.csv", f"cpr\tcaseworker\n{cpr}\tcw-anna\n",
             "the header row is separated by tabs; the separator must be "
             "';' or ',' (save or export the file as CSV)"),
            ("assign-sep.csv", f"sep=;\ncpr;caseworker\n{cpr};cw-anna\n",
             "the first line is a spreadsheet's \"sep=\" line, not the "
             "header row: delete that line")):
        path = hub.inputs_dir / name
        path.write_text(text)
        p = hub.hubctl("assign", "--file", str(path), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: {path}:1: {reason}\n"), p
    assert hub.stats()["log_events"] == 0


def test_assign_file_empty_from_is_the_day_of_the_run(make_hub):
    """OPERATIONS.md "Contact persons": an empty from column is the day
    hubctl runs by the hub clock, as --from left out is; the same file
    run again that day stores nothing new, on a later day it is an
    assignment from that day, so the docs must say so."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    cpr = CprGen(3933).born("2009-09-09")
    path = hub.inputs_dir / "assign-nofrom.csv"
    path.write_text(f"cpr;caseworker;from\n{cpr};cw-anna;\n")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.stdout == "assignments: 1 new, 0 already known, 0 rejected\n"
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.stdout == "assignments: 0 new, 1 already known, 0 rejected\n"
    hub.set_clock("2026-11-03T08:00:00")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.stdout == "assignments: 1 new, 0 already known, 0 rejected\n"
    assert hub.stats()["log_events"] == 2
    doc = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    assert "an empty or missing `from` column is the day hubctl runs" in \
        " ".join(doc.split()), "OPERATIONS.md is silent on an empty from"


def test_assign_empty_file_option_is_named_not_called_missing(hub):
    """OPERATIONS.md "Contact persons": an empty `--file ""` (an unset
    variable) is a usage error, exit 2, nothing read or stored; it is
    named as such, not as a --file that was not given, in a --config
    file with its file and line."""
    p = hub.hubctl("assign", "--file", "", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", "hubctl: assign: --file is empty\n"), p
    ops = hub.inputs_dir / "ops.conf"
    ops.write_text("# assignments\nfile =\n")
    p = hub.hubctl("assign", "--config", str(ops), check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", f"hubctl: {ops}:2: assign: --file is empty\n"), p
    assert hub.stats()["log_events"] == 0


def test_timeline_is_the_contact_persons_not_every_role(make_hub):
    """inbox --help and OPERATIONS.md, "Caseworkers": a timeline is shown
    to the person's contact person on the day (SECURITY.md, "Need to
    know"). A guidance counsellor and a mentor are assigned with `hubctl
    assign --role` too, but the timeline is not theirs: exit 4, although
    the counsellor may record an action on the person's alert. The help
    must say which assignment opens it, or a counsellor reads "a person
    assigned to you" as theirs."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    p = CprGen(3904).born("2009-09-09")
    hub.assign(p, "cw-anna", "2026-01-01")
    hub.hubctl("assign", "--cpr", p, "--caseworker", "cw-bob", "--from",
               "2026-01-01", "--role", "guidance")
    hub.hubctl("assign", "--cpr", p, "--caseworker", "cw-lead", "--from",
               "2026-01-01", "--role", "mentor")
    hub.send(hubtest.ev_dropout_risk(p, "2026-11-01"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)

    def inbox(who, *args):
        return subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", who, "--keys_dir",
             str(hub.keys_dir), "--delivery", hub.delivery, *args],
            capture_output=True, text=True, timeout=60 * hubtest.SLOW)

    assert inbox("cw-anna", "--timeline", p).returncode == 0
    rc, _, _ = hub.record("cw-bob", "contact", a["alert_id"], "phone")
    assert rc == 0
    for who in ("cw-bob", "cw-lead"):
        t = inbox(who, "--timeline", p)
        assert (t.returncode, t.stdout) == (4, ""), (who, t.stderr)
    said = " ".join(inbox("cw-anna", "--help").stdout.split())
    assert "whose contact person you are" in said, said
    assert "not as guidance counsellor or mentor" in said, said


def test_revoking_a_shared_desk_login_takes_the_desks_address(hub):
    """OPERATIONS.md, "Replacing and revoking keys": revoke-caseworker of
    the desk's id leaves the desk's notice address while that id is no
    caseworker; registered as one (a shared desk login), it is revoked
    and the address goes with it."""
    hub.hubctl("set-email", "duty-desk", "desk@example.org")
    p = hub.hubctl("revoke-caseworker", "duty-desk", check=False)
    assert p.returncode == 1, p.stderr
    hub.hubctl("set-email", "duty-desk", "-")       # it was still there
    hub.hubctl("set-email", "duty-desk", "desk@example.org")
    hub.keygen("duty-desk")
    hub.register_caseworker("duty-desk", desk=True)
    hub.hubctl("revoke-caseworker", "duty-desk")
    p = hub.hubctl("set-email", "duty-desk", "-", check=False)
    assert p.returncode == 1 and "duty-desk has no address" in p.stderr, \
        p.stderr
