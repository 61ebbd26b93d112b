"""96 the clerk: hubctl as the youth unit's clerk and agency IT use it,
checked against docs/OPERATIONS.md ("Contact persons", "Registering who
may connect", "The web inbox") sentence by sentence, for what the other
tests do not assert exactly:

- `assign --file`: each bad row's reason, word for word, under the
  column's own name however the header writes it, never quoting a
  value; the good rows of the same file stored; the limits at the value
  and one past it (a value of 4 KiB, a row of 64 KiB with either line
  end, a header of 256 columns).
- `assign` alone: the date range 1900-2199 at both ends, `to` before
  `from`, and what it prints for a replaced assignment given again.
- `set-password`: 8 to 1,024 bytes counted after the line end and a
  byte order mark are dropped, UTF-8 only, each refusal recorded
  `failed` and the password in force kept.
- `register-gateway` of a caseworker's id and `register-caseworker` of a
  gateway's, each refused and recorded `refused`.

None of these needs hubd running: hubctl works on the store itself."""

import json
import subprocess

from hubtest import SLOW, CprGen, binary, dashed, envelope, wait_for

HUBCTL_ID = ("is not a valid id (1-63 of a-z 0-9 . _ -, starting with a "
             "letter or digit, holding no CPR number)")
DATES = "dates must be a real day YYYY-MM-DD in the years 1900-2199"
FILE_DATES = ("dates must be a real day YYYY-MM-DD, DD-MM-YYYY or "
              "DD.MM.YYYY in the years 1900-2199")


def clerk_hub(make_hub):
    return make_hub(start=False, clock="2026-09-01",
                    caseworkers={"cw-anna": False, "cw-bob": False,
                                 "desk-dora": True})


def assign_file(hub, name, data):
    path = hub.inputs_dir / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path, hub.hubctl("assign", "--file", str(path), check=False)


def audit(hub, action):
    p = hub.hubctl("audit", "show", "--json")
    return [r for r in map(json.loads, p.stdout.splitlines())
            if r["action"] == action]


def test_each_bad_row_is_named_by_its_column_and_the_good_rows_stored(
        make_hub):
    """OPERATIONS.md: `FILE:LINE: column NAME: reason`, NAME `cpr`,
    `caseworker`, `from`, `to` or `role` however the header writes it
    (`CPR`, `Case worker` too), another column as the header names it;
    the reasons those of --cpr, --caseworker, --from and --to; a web
    gateway's id is no caseworker; never quoting the row's values; the
    other rows stored; `assignments: N new, N already known, N rejected`
    and exit 1."""
    hub = clerk_hub(make_hub)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    a, b = CprGen(9601).take(2)
    hub.cprs.update([a, b])
    rows = [f"{b};cw-anna;2026-08-01;;;",              # 2: stored
            "3102101234;cw-anna;;;;",                  # 3: no real day
            f"{a};Bad Id;;;;",                         # 4
            f"{a};{a};;;;",                            # 5: a CPR misplaced
            f"{a};cw-anna;2026-02-30;;;",              # 6
            f"{a};cw-anna;2026-09-01;2026-08-31;;",    # 7
            f"{a};cw-anna;;31/12/2026;;",              # 8
            f"{a};cw-anna;;;Coach;",                   # 9
            f"{a};web-1;;;;",                          # 10
            f"{a};cw-nobody;;;;",                      # 11
            f"{dashed(b)};cw-bob;2026-08-01;;guidance;ok"]   # 12: stored
    data = ("\ufeff CPR ;Case worker; From ;TO;Role;Note \r\n"
            + "\r\n".join(rows) + "\r\n").encode()
    data += f"{a};cw-anna;;;;\xe6\r\n".encode("latin-1")   # 13
    path, p = assign_file(hub, "clerk.csv", data)
    assert p.returncode == 1, p
    assert p.stdout == "assignments: 2 new, 0 already known, 10 rejected\n"
    f = str(path)
    assert p.stderr.splitlines() == [
        f"{f}:3: column cpr: cpr is not a CPR number: DDMMYY is not a "
        "real birth date",
        f"{f}:4: column caseworker: the caseworker {HUBCTL_ID}",
        f"{f}:5: column caseworker: the caseworker {HUBCTL_ID}",
        f"{f}:6: column from: {FILE_DATES}",
        f"{f}:7: column to: to is before from",
        f"{f}:8: column to: {FILE_DATES}; leave to empty (or "
        "9999-12-31) for no end",
        f"{f}:9: column role: the role must be contact, guidance or "
        "mentor (kontaktperson, UU-vejleder, mentor; empty means contact)",
        f"{f}:10: column caseworker: this id is a web gateway (hubctl "
        "register-gateway), not a caseworker",
        f"{f}:11: column caseworker: the caseworker is not registered "
        "(hubctl register-caseworker)",
        f"{f}:13: column Note: the value is not UTF-8 text (save the file "
        "as \"CSV UTF-8\")"], p.stderr
    for cpr in (a, b, dashed(a), dashed(b), "3102101234"):
        assert cpr not in p.stderr
    # The two good rows are stored with their audit records, each once.
    stored = [(r["result"], r["detail"]) for r in audit(hub, "assign")]
    assert stored == [("ok", "contact cw-anna from 2026-08-01"),
                      ("ok", "guidance cw-bob from 2026-08-01")], stored
    _, again = assign_file(hub, "clerk.csv", data)
    assert again.stdout == \
        "assignments: 0 new, 2 already known, 10 rejected\n", again
    assert [r["result"] for r in audit(hub, "assign")][2:] == \
        ["already-known"] * 2


def test_the_files_limits_at_the_value_and_one_past_it(make_hub):
    """OPERATIONS.md: a row is at most 65,536 bytes, a value 4,096, a
    header 256 columns: a longer row is rejected, `FILE:LINE: the row is
    longer than 65536 bytes`, and the rows after it are read; a longer
    value rejects its row, `FILE:LINE: column NAME: the value is N
    bytes, over the limit of 4096`. CRLF line ends are fine: the line
    end is not the row's."""
    hub = clerk_hub(make_hub)
    a, b = CprGen(9602).take(2)
    hub.cprs.update([a, b])

    def value_file(n):
        return (f"cpr;caseworker;note\n{a};cw-anna;" + "x" * n
                + f"\n{b};cw-bob;\n")
    path, p = assign_file(hub, "value.csv", value_file(4096))
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "assignments: 2 new, 0 already known, 0 rejected\n", ""), p
    path, p = assign_file(hub, "value.csv", value_file(4097))
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "assignments: 0 new, 1 already known, 1 rejected\n",
        f"{path}:2: column note: the value is 4097 bytes, over the limit "
        "of 4096\n"), p

    header = "cpr;caseworker;" + ";".join(f"n{i}" for i in range(17))

    def row_file(total, end):
        # 17 values of at most 4,000 bytes make a row of exactly `total`
        left = total - len(f"{a};cw-anna;") - 16
        sizes = []
        for _ in range(17):
            sizes.append(min(4000, left))
            left -= sizes[-1]
        row = f"{a};cw-anna;" + ";".join("x" * n for n in sizes)
        assert len(row) == total
        return header + end + row + end + f"{b};cw-anna" + ";" * 17 + end
    for end in ("\n", "\r\n"):
        path, p = assign_file(hub, "row.csv", row_file(65536, end))
        assert (p.returncode, p.stderr) == (0, ""), (end, p)
        assert p.stdout.endswith(" 0 rejected\n"), p
        path, p = assign_file(hub, "row.csv", row_file(65537, end))
        assert (p.returncode, p.stderr) == (
            1, f"{path}:2: the row is longer than 65536 bytes\n"), (end, p)
        # ... and the row after it was read: b's row, stored by now
        assert p.stdout.endswith(" 1 already known, 1 rejected\n"), p

    def wide(n):
        names = ["cpr", "caseworker"] + [f"c{i}" for i in range(n - 2)]
        return ";".join(names) + f"\n{a};cw-bob" + ";" * (n - 2) + "\n"
    path, p = assign_file(hub, "wide.csv", wide(256))
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "assignments: 1 new, 0 already known, 0 rejected\n", ""), p
    path, p = assign_file(hub, "wide.csv", wide(257))
    assert p.returncode == 1 and p.stdout == "", p
    assert p.stderr.startswith(f"hubctl: {path}:1: header row: "), p


def test_assign_alone_dates_at_both_ends_and_a_replaced_one(make_hub):
    """OPERATIONS.md: a date is a real day of 1900-2199 (exit 1 with
    `hubctl: from: dates must be ...`, for `to` with `; leave to empty
    for no end`, `hubctl: to: to is before from`); a `to` on the `from`
    day is one day, not before it. Stored, `assigned to CASEWORKER from
    DAY`, ` (already known)` when stored before; one replaced since by
    another with the same `from` is stored anew."""
    hub = clerk_hub(make_hub)
    a = CprGen(9603).next()
    hub.cprs.add(a)

    def assign(*extra):
        return hub.hubctl("assign", "--cpr", a, "--caseworker", "cw-anna",
                          *extra, check=False)
    for extra, err in (
            (("--from", "1899-12-31"), f"hubctl: from: {DATES}\n"),
            (("--from", "2200-01-01"), f"hubctl: from: {DATES}\n"),
            (("--from", "2026-2-1"), f"hubctl: from: {DATES}\n"),
            (("--to", "9999-12-31"),
             f"hubctl: to: {DATES}; leave to empty for no end\n"),
            (("--from", "2026-10-01", "--to", "2026-09-30"),
             "hubctl: to: to is before from\n")):
        p = assign(*extra)
        assert (p.returncode, p.stdout, p.stderr) == (1, "", err), \
            (extra, p)
    assert audit(hub, "assign") == []   # refused for its values: none
    for extra, out in ((("--from", "1900-01-01"), "from 1900-01-01"),
                       (("--from", "2199-12-31"), "from 2199-12-31"),
                       (("--from", "2026-10-01", "--to", "2026-10-01"),
                        "from 2026-10-01"),
                       ((), "from 2026-09-01"),     # the hub clock's today
                       ((), "from 2026-09-01 (already known)")):
        p = assign(*extra)
        assert (p.returncode, p.stdout, p.stderr) == (
            0, f"assigned to cw-anna {out}\n", ""), (extra, p)
    hub.hubctl("assign", "--cpr", a, "--caseworker", "cw-bob")
    p = assign()
    assert p.stdout == "assigned to cw-anna from 2026-09-01\n", p
    # SECURITY.md's table: `ok`, `already-known` for one held already.
    assert [(r["result"], r["detail"]) for r in audit(hub, "assign")] == [
        ("ok", "contact cw-anna from 1900-01-01"),
        ("ok", "contact cw-anna from 2199-12-31"),
        ("ok", "contact cw-anna from 2026-10-01 to 2026-10-01"),
        ("ok", "contact cw-anna from 2026-09-01"),
        ("already-known", "contact cw-anna from 2026-09-01"),
        ("ok", "contact cw-bob from 2026-09-01"),
        ("ok", "contact cw-anna from 2026-09-01")]


def set_password(hub, data, who="cw-anna"):
    return subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                           "set-password", who], input=data,
                          capture_output=True, timeout=60 * SLOW)


def test_set_password_bounds_and_utf8(make_hub):
    """OPERATIONS.md set-password: the first line of standard input,
    8 to 1,024 bytes, its CRLF line end and a leading byte order mark
    dropped first; UTF-8 text as the login form sends it (`... is not
    UTF-8 text, as the login form sends it`); exit 1 otherwise, recorded
    in the audit trail; `password set for ID; their open web sessions
    end` when stored."""
    hub = clerk_hub(make_hub)
    short = ("hubctl: set-password: the password (the first line of "
             "standard input) must be 8 to 1024 bytes\n")
    latin1 = ("hubctl: set-password: the password (the first line of "
              "standard input) is not UTF-8 text, as the login form "
              "sends it\n")
    for data, err in ((b"1234567\n", short), (b"1234567\r\n", short),
                      (b"\xef\xbb\xbf1234567\n", short), (b"", short),
                      (b"\n", short), (b"a" * 1025, short),
                      (b"kodeord\xe6\n", latin1)):
        p = set_password(hub, data)
        assert (p.returncode, p.stdout, p.stderr.decode()) == \
            (1, b"", err), (data[:20], p)
    done = b"password set for cw-anna; their open web sessions end\n"
    for data in (b"12345678\n", b"12345678", b"\xef\xbb\xbf12345678\r\n",
                 b"a" * 1024 + b"\n", "kodeord\u00e6\n".encode()):
        p = set_password(hub, data)
        assert (p.returncode, p.stdout, p.stderr) == (0, done, b""), \
            (data[:20], p)
    results = [r["result"] for r in audit(hub, "set-password")]
    assert results == ["failed"] * 7 + ["ok"] * 5, results
    p = set_password(hub, b"12345678\n", who="cw-nobody")
    assert (p.returncode, p.stderr.decode()) == (
        1, "hubctl: set-password: 'cw-nobody' is not a registered "
        "caseworker (hubctl register-caseworker)\n"), p


def test_a_gateway_and_a_caseworker_may_not_share_an_id(make_hub):
    """OPERATIONS.md, The web inbox: `register-gateway ID` refuses an id
    that is a registered caseworker (exit 1), and `register-caseworker
    ID` one that is a registered gateway (exit 1, `hubctl: 'ID' is a
    registered gateway; a caseworker needs an id of its own ...`),
    nothing changed, recorded `refused`; `revoke-caseworker` does not
    revoke a gateway (`... ('ID' is a gateway: revoke-gateway)`,
    recorded `not-found`); `revoke-gateway` of an id that is none, exit 1
    `hubctl: revoke: no gateway 'ID' is registered`."""
    hub = clerk_hub(make_hub)
    hub.keygen("web-1")
    p = hub.hubctl("register-gateway", "web-1")
    assert p.stdout.startswith("registered gateway web-1 (key "), p
    before = hub.stats()["principals"]
    p = hub.hubctl("register-gateway", "cw-anna", check=False)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr.startswith(
        "hubctl: 'cw-anna' is a registered caseworker; a gateway needs an "
        "id of its own"), p
    p = hub.hubctl("register-caseworker", "web-1", check=False)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr.startswith(
        "hubctl: 'web-1' is a registered gateway; a caseworker needs an "
        "id of its own"), p
    p = hub.hubctl("revoke-caseworker", "web-1", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: revoke: no caseworker 'web-1' is registered "
        "('web-1' is a gateway: revoke-gateway)\n"), p
    assert hub.stats()["principals"] == before
    assert [r["result"] for r in audit(hub, "register-gateway")] == \
        ["ok", "refused"]
    assert [r["result"] for r in audit(hub, "register-caseworker")][-1] \
        == "refused"
    assert [r["result"] for r in audit(hub, "revoke-caseworker")] == \
        ["not-found"]
    p = hub.hubctl("revoke-gateway", "web-1")
    assert p.stdout == "revoked gateway web-1\n", p
    p = hub.hubctl("revoke-gateway", "web-1", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: revoke: no gateway 'web-1' is registered\n"), p
    # The id is free again: a caseworker may take it now.
    p = hub.hubctl("register-caseworker", "web-1")
    assert p.stdout.startswith("registered caseworker web-1 (key "), p


def test_registering_again_without_desk_takes_the_desk_away_at_once(
        make_hub):
    """OPERATIONS.md, Registering who may connect: registering the id
    again without --desk takes the desk away (a registration's flags are
    those of its latest register-caseworker), and a registration change
    takes effect on connections already open; one written again with the
    key in force ends nothing. So a desk member's live inbox, left open,
    is sent no desk alert raised while the flag is off, and is sent it
    once --desk is given back, on the same connection."""
    hub = make_hub()
    a, b = CprGen(9604).take(2)
    hub.cprs.update([a, b])
    conf = hub.tmp / "inbox-live.conf"
    conf.write_text(f"caseworker = desk-dora\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    live = subprocess.Popen(
        [binary("inbox"), "--config", str(conf), "--json", "--no_ack",
         "--max", "2", "--idle_exit", str(60 * SLOW)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hub.send(envelope("school-a", a, salt="clerk-a", absent=12))
        wait_for(lambda: len(audit(hub, "deliver")) == 1, 20 * SLOW,
                 "a's desk alert pushed to desk-dora")
        p = hub.hubctl("register-caseworker", "desk-dora")
        assert p.stdout.startswith("registered caseworker desk-dora"), p
        hub.send(envelope("school-a", b, salt="clerk-b", absent=12))
        hub.settle()
        hub.settle()   # two loop turns: a push would have gone by now
        assert len(audit(hub, "deliver")) == 1, audit(hub, "deliver")
        assert live.poll() is None, live.communicate()
        hub.register_caseworker("desk-dora", desk=True)
        out, err = live.communicate(timeout=30 * SLOW)
    finally:
        if live.poll() is None:
            live.kill()
            live.communicate()
    assert live.returncode == 0, err
    cprs = [json.loads(line)["cpr"] for line in out.splitlines()
            if line.startswith("{")]
    assert cprs == [a, b], (cprs, err)


def test_a_mentor_given_again_after_another_is_already_known(make_hub):
    """OPERATIONS.md, Contact persons: a contact (or guidance) assignment
    given again after another with the same `from` replaced it is stored
    anew; a mentor's, which the hub keeps only in the log, is `already
    known` whenever the same one was stored before, also after another
    the same day, and nothing is stored again: the timeline keeps the
    two entries, no third."""
    hub = make_hub(clock="2026-09-01",
                   caseworkers={"cw-anna": False, "cw-bob": False})
    a = CprGen(9605).next()
    hub.cprs.add(a)
    hub.assign(a, "cw-anna", start="2026-08-01")   # opens her timeline

    def mentor(cw):
        return hub.hubctl("assign", "--cpr", a, "--caseworker", cw,
                          "--role", "mentor", "--from", "2026-08-01").stdout
    assert [mentor(cw) for cw in ("cw-anna", "cw-bob", "cw-anna")] == [
        "assigned to cw-anna from 2026-08-01\n",
        "assigned to cw-bob from 2026-08-01\n",
        "assigned to cw-anna from 2026-08-01 (already known)\n"]
    assert [r["result"] for r in audit(hub, "assign")] == \
        ["ok", "ok", "ok", "already-known"]
    hub.wait_applied()
    p = subprocess.run(
        [binary("inbox"), "--caseworker", "cw-anna", "--keys_dir",
         str(hub.keys_dir), "--delivery", hub.delivery, "--timeline", a,
         "--json"], capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    mentors = sorted(json.loads(line)["summary"]
                     for line in p.stdout.splitlines()
                     if "(mentor)" in line)
    assert mentors == ["contact person: cw-anna (mentor)",
                       "contact person: cw-bob (mentor)"], p.stdout


def test_a_file_with_the_youth_units_column_names_is_read_by_them(
        make_hub):
    """OPERATIONS.md: `--file` reads the columns by the youth unit
    adapter's names for them too (ADAPTERS.md: `cprnr`, `sagsbehandler`,
    `rolle`, `fra`, `til` ...). A `rolle` column was ignored as another
    column, so the adapter's file made every mentor a contact person;
    its Danish role words are read as the adapter reads them (one
    parser, common/assignment_file.h): `vejleder` is the guidance
    counsellor."""
    hub = clerk_hub(make_hub)
    a, b = CprGen(9611).take(2)
    hub.cprs.update([a, b])
    data = ("CPRnr;Sagsbehandler;Rolle;Fra;Til\n"
            f"{a};cw-anna;mentor;2026-08-01;2026-12-31\n"
            f"{b};cw-bob;vejleder;2026-08-01;\n")
    path, p = assign_file(hub, "ungeenhed.csv", data)
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "assignments: 2 new, 0 already known, 0 rejected\n", ""), p
    stored = [(r["result"], r["detail"]) for r in audit(hub, "assign")]
    assert stored == [("ok", "mentor cw-anna from 2026-08-01 to "
                       "2026-12-31"),
                      ("ok", "guidance cw-bob from 2026-08-01")], stored
