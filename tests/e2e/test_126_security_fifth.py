"""126 SECURITY.md, a fifth reading by an auditor: the table of what the
store keeps in the clear, held against the files' own databases and meta
keys after purges and erasures; and the second cases earlier rounds left
open. Every hub is privacy-swept at teardown."""

import re

import hubtest
from hubtest import AbsenceRow, CprGen
from test_60_store_at_rest import databases, dump


def clear_table():
    """SECURITY.md's table of "Exactly this stays in the clear": for each
    environment, its databases, and for a meta database the keys its row
    names in quotes."""
    doc = (hubtest.ROOT / "docs" / "SECURITY.md").read_text()
    rows = re.findall(r"(?m)^  \| `(\w+)/(\w+)` \| (.*?) \|", doc)
    table = {}
    for env, db, key in rows:
        names = set(re.findall(r'"(\w+)"', key)) if db == "meta" else None
        table.setdefault(env, {})[db] = names
    return table


def test_the_clear_table_names_every_database_and_meta_key(make_hub):
    """SECURITY.md "Personal data at rest": "Exactly this stays in the
    clear" — the table names every database of each environment, and
    every key of the meta databases, which hold their keys and numbers
    in the clear. Held against a store that imported, alerted, ran an
    erasure (which numbers itself in both metas) and stopped."""
    hub = make_hub()
    cprs = CprGen(12601).take(3)
    hub.cprs.update(cprs)
    hub.assign(cprs[0], "cw-anna")
    path, _ = hub.csv("w19.csv", [AbsenceRow(c, absent=20, expected=100)
                                  for c in cprs])
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("an alert", lambda s: s["alerts"] >= 1)
    hub.hubctl("erase", "--cpr", cprs[1], "--reason", "art. 17 request")
    hub.stop()
    table = clear_table()
    assert set(table) == {"log", "ids", "derived"}, table
    for env, dbs in table.items():
        have = set(databases(hub.data_dir / env))
        assert have == set(dbs), (env, have, set(dbs))
        # The boot id's key is stored as its first 7 bytes ("ids_boo").
        keys = {k.decode() for k, _ in dump(hub.data_dir / env, "meta")}
        assert keys <= dbs["meta"], (env, keys - dbs["meta"])


def test_the_hubs_own_secret_file_open_by_any_bit_is_said_by_both(
        make_hub):
    """SECURITY.md "Personal data at rest": a secret key file whose mode
    gives its group or others any right (read, write or execute) is used
    but said, `KEYS-MODE PATH is open to others than its owner (mode
    0MMM): it holds secret keys; chmod 600 it` (warn), by every program
    that loads it, each time — here hub.key_secret, which hubd and
    hubctl load; a mode of the owner's alone says nothing."""
    hub = make_hub(start=False)
    path = hub.keys_dir / "hub.key_secret"

    def said(text, mode):
        return (f"warn KEYS-MODE {path} is open to others than its owner "
                f"(mode {mode}): it holds secret keys; chmod 600 it") in text
    for mode in ("0640", "0602", "0610", "0601"):
        path.chmod(int(mode, 8))
        p = hub.hubctl("stats")
        assert said(p.stderr, mode), (mode, p.stderr)
    for mode in ("0400", "0700", "0600"):
        path.chmod(int(mode, 8))
        p = hub.hubctl("stats")
        assert "KEYS-MODE" not in p.stderr, (mode, p.stderr)
    path.chmod(0o610)
    hub.start()
    hub.stop()
    assert said(hub.log_text(), "0610"), hub.log_text()
    path.chmod(0o600)
    hub.start()
    hub.stop()
    assert hub.log_text().count("KEYS-MODE") == 1, hub.log_text()


def test_deliver_list_listed_and_ack_records_of_an_owner_and_a_desk_member(
        make_hub):
    """SECURITY.md "Audit trail": `deliver`'s detail is the alert id,
    followed by `for RECIPIENT` when it went to a desk member as such;
    `inbox --ack` asks for its one alert before and after it
    acknowledges — two `list` records, the alert id their detail and no
    person, and one `listed` (the alert's person, the id its detail) for
    the open alert — then `ack` with the id and the note, the person
    named; each with the key the caseworker connected with."""
    from test_61_audit import inbox_once, show
    hub = make_hub()
    mine, desks = CprGen(12603).take(2)
    hub.cprs.update({mine, desks})
    hub.assign(mine, "cw-anna")
    path, _ = hub.csv("w19.csv", [AbsenceRow(c, absent=20, expected=100)
                                  for c in (mine, desks)])
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("two alerts", lambda s: s["alerts"] == 2)
    ids = {}
    for who in ("cw-anna", "desk-dora"):
        rc, got, err = hub.inbox(who, no_ack=True, max_alerts=1,
                                 idle_exit=5)
        assert rc == 0 and len(got) == 1, err
        ids[who] = got[0]["alert_id"]
    for who, note in (("cw-anna", None), ("desk-dora", "ringede")):
        args = ["--ack", ids[who]] + (["--note", note] if note else [])
        p = inbox_once(hub, who, *args)
        assert (p.returncode, p.stdout) == (0, "acknowledged\n"), p.stderr
    hub.stop()
    keys = {who: hubtest.read_key_file(hub.keys_dir / f"{who}.key")
            ["public"] for who in ids}
    recs = [r for r in show(hub) if r["actor"] in ids]
    for r in recs:
        assert r["key"] == keys[r["actor"]], r
    got = sorted((r["actor"], r["action"], r["result"], r["detail"],
                  bool(r["person"])) for r in recs)
    anna, dora = ids["cw-anna"], ids["desk-dora"]
    assert got == sorted([
        ("cw-anna", "deliver", "ok", anna, True),
        ("cw-anna", "list", "ok", anna, False),
        ("cw-anna", "listed", "ok", anna, True),
        ("cw-anna", "ack", "ok", anna, True),
        ("cw-anna", "list", "ok", anna, False),
        ("desk-dora", "deliver", "ok", f"{dora} for duty-desk", True),
        ("desk-dora", "list", "ok", dora, False),
        ("desk-dora", "listed", "ok", dora, True),
        ("desk-dora", "ack", "ok", f"{dora} ringede", True),
        ("desk-dora", "list", "ok", dora, False)]), got
    # The person of each is the alert's: the owner's is not the desk's.
    person = {(r["actor"], r["action"]): r["person"] for r in recs
              if r["person"]}
    assert person[("cw-anna", "deliver")] == person[("cw-anna", "ack")] \
        != person[("desk-dora", "deliver")]


def test_a_gateway_beyond_16_wins_no_whole_allowance_when_a_place_frees(
        make_hub):
    """SECURITY.md "Login limits": beyond 16 gateways short of a whole
    allowance the others share one, "so none gets more than its own".
    web-17 spends the shared allowance (2 a minute here); 30 s on, the 16
    others' allowances are whole again and give their places up, and the
    shared one has refilled by one failure: web-17, taking a place, gets
    that one failure, not a whole allowance of 2 (4 failures in 30 s,
    where its own allows 3)."""
    from test_54_gateway_frames import FRAME_LOGIN, Gateway, \
        gateway_and_passwords
    hub = make_hub(clock="2026-11-02T08:00:00",
                   settings={"login_gateway_failures": "2",
                             "login_failures_max": "1000"})
    gateway_and_passwords(hub, "cw-anna")
    names = [f"web-{i:02d}" for i in range(1, 18)]
    for name in names:
        hub.keygen(name)
        hub.hubctl("register-gateway", name)
    m = hubtest.pb()
    gateways = {n: Gateway(hub, n) for n in names}
    rid = [0]

    def wrong(name):
        rid[0] += 1
        return gateways[name].ask(FRAME_LOGIN, m.Login(
            request_id=rid[0], caseworker="cw-anna",
            password="wrong one")).code
    denied, limited = hubtest.E_DENIED, hubtest.E_UNAVAILABLE
    try:
        assert [wrong(n) for n in names[:16]] == [denied] * 16
        assert [wrong("web-17") for _ in range(3)] == \
            [denied, denied, limited]
        hub.advance("2026-11-02T08:00:30")
        assert [wrong("web-17") for _ in range(2)] == [denied, limited]
        # A gateway that shared nothing and keeps its place is unchanged.
        assert wrong("web-01") == denied
    finally:
        for g in gateways.values():
            g.close()


def test_an_id_holding_a_cpr_is_no_id_wherever_it_is_given(make_hub):
    """SECURITY.md "No id holds a CPR number": an id in which a CPR
    number stands alone is no id "wherever one is given" — the
    `register-*` and `revoke-*` commands, `set-password`, `ops_silence`,
    `inbox --caseworker`, webd's `--gateway`, an adapter's agency — with
    the usual refusal, the CPR masked where the id is quoted, and no file
    named after it."""
    import subprocess
    from hubtest import binary, dashed
    hub = make_hub(start=False)
    cpr = CprGen(12604).next()
    hub.cprs.add(cpr)
    rule = ("is not a valid id (1-63 of a-z 0-9 . _ -, starting with a "
            "letter or digit, holding no CPR number)")
    empty, _ = hub.csv("none.csv", [])
    for form, masked in ((f"cw-{cpr}", "cw-xxxxxxxxxx"),
                         (dashed(cpr), "xxxxxx-xxxx")):
        said = []
        for args in (["register-gateway", form], ["revoke-gateway", form],
                     ["revoke-caseworker", form], ["revoke-agency", form],
                     ["set-password", form]):
            p = hub.hubctl(*args, check=False)
            assert p.returncode == 2, (args, p.stderr)
            said.append(p.stderr)
        conf = hub.tmp / "ops.conf"
        conf.write_text(hub.conf.read_text() + f"ops_silence = {form}=3\n")
        # A usage error, exit 2; an adapter's setting, exit 3 (ADAPTERS.md).
        runs = [
            (2, [binary("hubd"), "--config", conf, "--check-config"]),
            (2, [binary("inbox"), "--caseworker", form, "--keys_dir",
                 hub.keys_dir, "--delivery", hub.delivery, "--list"]),
            (2, [binary("webd"), "--gateway", form, "--keys_dir",
                 hub.keys_dir, "--delivery", hub.delivery]),
            (3, [binary("adapter-school"), "--config", hub.school_conf(),
                 "--agency", form, "import", empty])]
        for rc, cmd in runs:
            p = subprocess.run([str(a) for a in cmd], capture_output=True,
                               text=True, timeout=30)
            assert (p.returncode, p.stdout) == (rc, ""), (cmd, p)
            said.append(p.stderr)
        for text in said:
            assert f"'{masked}' {rule}" in text, text
            assert cpr not in text and dashed(cpr) not in text, text
    names = [p.name for p in hub.tmp.rglob("*")]
    assert not [n for n in names if cpr in n or dashed(cpr) in n], names


def test_a_cpr_typed_into_a_note_is_in_no_file_the_flow_leaves(make_hub):
    """SECURITY.md "Personal data at rest" and "Audit trail": after a
    flow — an import, an alert delivered and acknowledged with a note
    naming another young person's CPR (in both written forms), a
    timeline, a backup, the annual report and the person's export to a
    file — no file holds the other person's CPR in either form: not the
    store, the backup, the report, the logs, nor the export, whose `ack`
    record shows the note masked. The person's own CPR is in the export
    alone (made 0600)."""
    import os
    from hubtest import dashed, privacy_sweep
    from test_61_audit import inbox_once
    hub = make_hub()
    cpr, other = CprGen(12605).take(2)
    hub.cprs.update({cpr, other})
    hub.assign(cpr, "cw-anna")
    path, _ = hub.csv("w19.csv", [AbsenceRow(cpr, absent=20, expected=100)])
    assert hub.adapter("import", path).rc == 0
    hub.wait_stats("an alert", lambda s: s["alerts"] == 1)
    note = f"talked about {other} and {dashed(other)} at home"
    rc, got, err = hub.inbox("cw-anna", no_ack=True, max_alerts=1,
                             idle_exit=5)
    assert rc == 0 and len(got) == 1, err
    p = inbox_once(hub, "cw-anna", "--ack", got[0]["alert_id"],
                   "--note", note)
    assert p.returncode == 0, p.stderr
    p = inbox_once(hub, "cw-anna", "--timeline", cpr)
    assert p.returncode == 0 and other not in p.stdout, p.stdout
    hub.stop()
    hub.hubctl("backup", str(hub.tmp / "backup"))
    report = hub.tmp / "report" / "status.html"
    report.parent.mkdir()
    hub.hubctl("report", "--year", "2024", "--out", str(report))
    export = hub.client_dir / "export.json"
    hub.hubctl("export", "--cpr", cpr, "--out", str(export))
    assert os.stat(export).st_mode & 0o777 == 0o600
    doc = export.read_text()
    assert cpr in doc or dashed(cpr) in doc
    masked = "talked about xxxxxxxxxx and xxxxxx-xxxx at home"
    assert f'{got[0]["alert_id"]} {masked}' in doc, doc
    assert privacy_sweep([export, hub.tmp / "backup", report.parent,
                          hub.data_dir, hub.logs_dir], {other}) > 10
    assert privacy_sweep([hub.tmp / "backup", report.parent], {cpr}) > 3


def test_a_form_of_16_kib_is_read_and_one_byte_more_refused(make_hub):
    """SECURITY.md "CSRF": "a body over 16 KiB is refused 413" — a login
    form of exactly 16,384 bytes logs in, one of 16,385 is refused 413,
    sent whole, announced with `Expect: 100-continue` (refused at once,
    never sent; 16,384 is asked for) or chunked."""
    import socket
    import urllib.parse
    from test_70_web import PASSWORD, Web, web_hub
    hub = web_hub(make_hub)
    web = Web(hub)

    def answer(data, then=None):
        """The status of each answer to one request (Connection: close,
        so the answer ends with the connection); `then` is sent once
        the server says 100 Continue."""
        s = socket.create_connection(("127.0.0.1", web.port), timeout=10)
        s.sendall(data)
        out = b""
        while True:
            got = s.recv(65536)
            if not got:
                break
            out += got
            if then and b"HTTP/1.1 100 Continue\r\n\r\n" in out:
                s.sendall(then)
                then = None
        s.close()
        return [line.split(b" ")[1].decode() for line in out.split(b"\r\n")
                if line.startswith(b"HTTP/1.1 ")]
    try:
        for size, status in ((16384, "303"), (16385, "413")):
            pre, csrf = web.login_form()
            start = urllib.parse.urlencode(
                {"csrf": csrf, "caseworker": "cw-anna",
                 "password": PASSWORD}) + "&pad="
            body = (start + "x" * (size - len(start))).encode()
            head = ("POST /login HTTP/1.1\r\nHost: x\r\nConnection: "
                    f"close\r\nCookie: ug_pre={pre}\r\nContent-Type: "
                    "application/x-www-form-urlencoded\r\n").encode()
            length = f"Content-Length: {size}\r\n".encode()
            assert answer(head + length + b"\r\n" + body) == [status], size
            expect = head + length + b"Expect: 100-continue\r\n\r\n"
            assert answer(expect, then=body) == (
                ["100", "303"] if size == 16384 else ["413"]), size
            chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 4000]),
                                                  body[i:i + 4000])
                              for i in range(0, size, 4000))
            assert answer(head + b"Transfer-Encoding: chunked\r\n\r\n" +
                          chunks + b"0\r\n\r\n") == [status], size
    finally:
        web.stop()


def test_the_hubs_own_withdraw_and_escalate_records_exactly(make_hub):
    """SECURITY.md's audit table: `withdraw` and `escalate` are the hub's
    own changes to an alert — actor `hub`, no key, no result (the table's
    result column is empty), the person the alert is about, detail the
    withdrawn alert's id or the escalation notice's."""
    from hubtest import escalated_dropout, referred_then_withdrawn, \
        rules_hub
    from test_61_audit import show
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    young, adult = CprGen(12606).born("2008-03-03"), \
        CprGen(12607).born("2001-02-03")
    hub.cprs.update({young, adult})
    referred_then_withdrawn(hub, young, "2026-09-07", "2026-09-08")
    [referral] = re.findall(r"HUB-ALERT alert (\w+) \(addiction\) raised",
                            hub.log_text())
    escalated_dropout(hub, adult)
    recs = [r for r in show(hub) if r["action"] in ("withdraw", "escalate")]
    assert {r["action"] for r in recs} == {"withdraw", "escalate"}, recs
    for r in recs:
        assert (r["actor"], r["key"], r["result"]) == ("hub", "", ""), r
        assert re.fullmatch(r"[0-9a-f]{18}", r["detail"]) and r["person"], r
    [withdrawn] = [r for r in recs if r["action"] == "withdraw"]
    assert withdrawn["detail"] == referral, (withdrawn, referral)
    notices = [r["detail"] for r in recs if r["action"] == "escalate"]
    assert notices and referral not in notices, recs
    young_key = show(hub, "--cpr", young)
    assert [r["action"] for r in young_key if r["action"] in
            ("withdraw", "escalate")] == ["withdraw"], young_key
