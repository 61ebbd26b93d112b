"""61 audit: the audit trail records deliveries, reads, acknowledgements,
actions and admin actions (SECURITY.md "Audit trail"); `hubctl audit
verify` finds it intact after a clean stop and names the first broken
record after a flipped byte, a deleted record or a cut tail, each done
to the LMDB files with mdb_dump / mdb_load as an attacker would.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import array
import fcntl
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import termios

import pytest

import hubtest
from hubtest import AbsenceRow, CprGen


def import_rows(hub, name, rows):
    path, _ = hub.csv(name, rows)
    r = hub.adapter("import", path)
    assert r.rc == 0, str(r)


def inbox_once(hub, caseworker, *args):
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                        *args], capture_output=True, text=True, timeout=60)
    return p


def verify(hub):
    return hub.hubctl("audit", "verify", check=False)


def show(hub, *args):
    p = hub.hubctl("audit", "show", "--json", *args)
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def alert_for_anna(hub, cpr):
    """cpr assigned to cw-anna, an absence alert raised and delivered to
    her (not acknowledged); returns its id."""
    hub.assign(cpr, "cw-anna")
    import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=20, expected=100)])
    hub.wait_stats("one alert", lambda s: s["alerts"] == 1)
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, max_alerts=1,
                                idle_exit=10)
    assert rc == 0 and len(alerts) == 1, err
    return alerts[0]["alert_id"]


def busy_hub(make_hub):
    """A hub that delivered, was read, acked, recorded an action, and
    registered and revoked a key; stopped. Returns (hub, cpr, alert id)."""
    hub = make_hub()
    cpr = CprGen(6101).next()
    hub.cprs.add(cpr)
    alert_id = alert_for_anna(hub, cpr)
    p = inbox_once(hub, "cw-anna", "--timeline", cpr)
    assert p.returncode == 0, p.stderr
    p = inbox_once(hub, "desk-dora", "--timeline", cpr)   # not hers: denied
    assert p.returncode != 0
    rc, out, err = hub.record("cw-anna", "contact", alert_id, "phone")
    assert rc == 0, err
    # Refused: not desk-dora's alert nor person; a day still to come.
    rc, out, err = hub.record("desk-dora", "contact", alert_id, "phone")
    assert rc != 0, out
    rc, out, err = hub.record("cw-anna", "offer", alert_id, "a course",
                              date="2099-01-01")
    assert rc != 0, out
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note", "called")
    assert p.returncode == 0, p.stderr
    hub.keygen("cw-zed")
    hub.register_caseworker("cw-zed")
    hub.hubctl("revoke-caseworker", "cw-zed")
    hub.stop()
    return hub, cpr, alert_id


def test_trail_records_every_kind_and_verifies(make_hub):
    hub, cpr, alert_id = busy_hub(make_hub)
    p = verify(hub)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "intact" in p.stdout
    recs = show(hub)
    seen = {(r["actor"], r["action"], r["result"]) for r in recs}
    for want in [("cw-anna", "deliver", "ok"), ("cw-anna", "timeline", "ok"),
                 ("desk-dora", "timeline", "denied"),
                 ("cw-anna", "ack", "ok"), ("cw-anna", "action", "ok"),
                 ("desk-dora", "action refused", "denied"),
                 ("cw-anna", "action refused", "malformed")]:
        assert want in seen, (want, sorted(seen))
    # Actions, accepted or refused, name the key the caseworker connected
    # with (the same one their acknowledgement names) and the person the
    # alert is about.
    keys = {r["actor"]: r["key"] for r in recs
            if r["action"] in ("ack", "deliver") and r["key"]}
    acks = [r for r in recs if r["action"] == "ack"]
    for r in recs:
        if r["action"] in ("action", "action refused"):
            assert r["key"], r
            assert r["key"] == keys.get(r["actor"], r["key"]), r
            assert r["person"] == acks[0]["person"], r
            assert r["detail"].startswith(alert_id), r
    acted = [r for r in recs if r["action"] == "action"]
    assert acted and acted[0]["key"] == acks[0]["key"], (acted, acks)
    dora = [r for r in recs if r["actor"] == "desk-dora"
            and r["action"] == "action refused"]
    assert len(dora) == 1 and dora[0]["key"] != acks[0]["key"], dora
    admin = [r for r in recs if r["actor"].startswith("hubctl:")]
    actions = {(r["action"], r["result"]) for r in admin}
    assert ("register-caseworker", "ok") in actions, actions
    assert ("revoke-caseworker", "ok") in actions, actions
    assert ("assign", "ok") in actions, actions
    deliver = [r for r in recs if r["action"] == "deliver"]
    assert deliver[0]["detail"].startswith(alert_id), deliver
    assert deliver[0]["key"], "the key the caseworker used is recorded"
    # --cpr is hashed locally: it finds the person's records, and the CPR
    # itself is printed nowhere.
    mine = show(hub, "--cpr", cpr)
    assert {r["action"] for r in mine} >= {"deliver", "timeline", "ack",
                                           "assign"}, mine
    assert all(r["person"] == mine[0]["person"] for r in mine)
    p = hub.hubctl("audit", "show", "--cpr", cpr)
    assert cpr not in p.stdout and cpr[:6] not in p.stdout.replace("-", "")
    assert show(hub, "--actor", "cw-zed") == []
    assert show(hub, "--to", "2000-01-01") == []
    # Usage errors: exit 2.
    assert hub.hubctl("audit", check=False).returncode == 2
    assert hub.hubctl("audit", "frobnicate", check=False).returncode == 2
    assert hub.hubctl("audit", "show", "--from", "2026-13-01",
                      check=False).returncode == 2
    p = hub.hubctl("audit", "show", "--from", "2026-03-02", "--to",
                   "2026-03-01", check=False)
    assert p.returncode == 2 and p.stdout == "", p.stdout
    assert "hubctl: audit show: --from 2026-03-02 is after --to " \
        "2026-03-01" in p.stderr, p.stderr
    assert show(hub, "--from", "2026-03-01", "--to", "2026-03-01") == []
    p = hub.hubctl("audit", "verify", "extra", check=False)
    assert p.returncode == 2 and "unexpected argument 'extra'" in p.stderr
    p = hub.hubctl("backup", check=False)
    assert p.returncode == 2 and "backup needs DIR" in p.stderr, p.stderr
    # An empty DIR (an unset variable in a cron line) is no DIR either:
    # a usage error, nothing tried, nothing recorded.
    before = hub.stats()["audit_records"]
    for cmd in ("backup", "restore"):
        p = hub.hubctl(cmd, "", check=False)
        assert p.returncode == 2, (cmd, p.returncode, p.stderr)
        assert p.stderr == f"hubctl: {cmd} needs DIR (see --help)\n", \
            p.stderr
    assert hub.stats()["audit_records"] == before
    # The signing key: made with the hub's keys, secret 0600.
    assert (hub.keys_dir / "hub.sign_public").exists()
    assert os.stat(hub.keys_dir / "hub.sign_secret").st_mode & 0o077 == 0



def test_a_cpr_typed_into_the_trail_is_masked(make_hub):
    """The trail never holds a CPR: one a caseworker writes into an
    acknowledgement's note, or an operator gives as an audit show filter,
    is kept with its digits masked, in every written form. A line break
    in a note does not split its record in audit show's listing."""
    hub = make_hub()
    cpr, sibling = CprGen(6102).take(2)
    hub.cprs.update({cpr, sibling})
    alert_id = alert_for_anna(hub, cpr)
    dashed = f"{sibling[:6]}-{sibling[6:]}"
    # A line break in the note, followed by what looks like a record.
    forged = "     999  2026-01-01T00:00:00Z  hubctl:root  erase  ok"
    # Pasted from a letter: an en dash, or a non-breaking space.
    pasted = (f"{sibling[:6]}\u2013{sibling[6:]}",
              f"{sibling[:6]}\u00a0{sibling[6:]}")
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note",
                   f"sister {dashed}, brother {sibling}, "
                   f"{sibling[:6]} {sibling[6:]}, {pasted[0]} "
                   f"{pasted[1]}\n{forged}")
    assert p.returncode == 0, p.stderr
    show(hub, "--actor", sibling)
    recs = show(hub)
    [ack] = [r for r in recs if r["action"] == "ack"]
    assert ack["detail"] == (f"{alert_id} sister xxxxxx-xxxx, brother "
                             f"xxxxxxxxxx, xxxxxx xxxx, xxxxxx\u2013xxxx "
                             f"xxxxxx\u00a0xxxx\n{forged}"), ack
    [filt] = [r for r in recs if r["action"] == "audit-show"
              and "actor" in r["detail"]]
    assert filt["detail"].endswith("actor xxxxxxxxxx"), filt
    # The whole filter is recorded, the days included.
    show(hub, "--from", "2026-01-01", "--to", "2026-01-31")
    last = show(hub)[-1]
    assert last["action"] == "audit-show" and last["detail"] == \
        "0 records shown from 2026-01-01 to 2026-01-31", last
    text = hub.hubctl("audit", "show").stdout
    for form in (sibling, dashed, f"{sibling[:6]} {sibling[6:]}", cpr,
                 *pasted):
        assert form not in text, form
    # The text listing keeps one record to a line: the break is shown.
    assert not any(line.startswith(forged) for line in text.splitlines())
    assert f"xxxxxx\u00a0xxxx\\x0a{forged}" in text, text



def test_a_long_ack_note_keeps_its_first_200_bytes(make_hub):
    """OPERATIONS.md, "Caseworkers": of an acknowledgement's note the
    trail keeps the first 200 bytes, cut at a character boundary; the
    acknowledgement is stored and --ack says `acknowledged` (exit 0)."""
    hub = make_hub()
    [cpr] = CprGen(6103).take(1)
    alert_id = alert_for_anna(hub, cpr)
    note = "x" + "æøå" * 50                         # 301 bytes
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note", note)
    assert (p.returncode, p.stdout) == (0, "acknowledged\n"), p.stderr
    [ack] = [r for r in show(hub) if r["action"] == "ack"]
    kept = note[:100]                              # 199 bytes: no half ø
    assert len(kept.encode()) == 199
    assert ack["detail"] == f"{alert_id} {kept}", ack
    assert hub.stats()["alerts_open"] == 0


def test_a_cpr_across_the_notes_200_byte_cut_is_masked(make_hub):
    """PROTOCOL.md §4 step 4: of a note the first 200 bytes are kept,
    "with the digits of any CPR number in it replaced by x". A number
    that the cut goes through is a number as written: masked before the
    cut, its birth date is not left behind as a stump too short to be
    recognised."""
    hub = make_hub()
    cpr, sibling = CprGen(6104).take(2)
    hub.cprs.update({cpr, sibling})
    alert_id = alert_for_anna(hub, cpr)
    note = "a" * 190 + f" {sibling[:6]}-{sibling[6:]}"  # 202 bytes
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note", note)
    assert (p.returncode, p.stdout) == (0, "acknowledged\n"), p.stderr
    [ack] = [r for r in show(hub) if r["action"] == "ack"]
    assert ack["detail"] == f"{alert_id} {'a' * 190} xxxxxx-xx", ack


# ---------------------------------------------------------------- tamper


def dump(env):
    p = subprocess.run(["mdb_dump", "-a", str(env)], capture_output=True,
                       text=True, check=True)
    return p.stdout


def load(env, text):
    """Replace env's files with what mdb_load makes of text."""
    fresh = env.parent / (env.name + ".new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    subprocess.run(["mdb_load", "-f", "/dev/stdin", str(fresh)],
                   input=text, text=True, check=True)
    for name in ("data.mdb", "lock.mdb"):
        (env / name).unlink(missing_ok=True)
    shutil.move(str(fresh / "data.mdb"), str(env / "data.mdb"))
    shutil.rmtree(fresh)


def edit_audit(hub, change, db="audit"):
    """Apply change(pairs) to the audit db's (key hex, value hex) list
    (or to db's, in log/)."""
    env = hub.data_dir / "log"
    text = dump(env)
    sections = re.split(r"(?m)^(?=VERSION=)", text)
    out = []
    for sec in sections:
        if f"\ndatabase={db}\n" in sec:
            head, rest = sec.split("HEADER=END\n", 1)
            body, tail = rest.split("DATA=END\n", 1)
            lines = body.splitlines()
            pairs = [(lines[i], lines[i + 1])
                     for i in range(0, len(lines), 2)]
            pairs = change(pairs)
            body = "".join(f"{k}\n{v}\n" for k, v in pairs)
            sec = head + "HEADER=END\n" + body + "DATA=END\n" + tail
        out.append(sec)
    load(env, "".join(out))


def flip_audit_byte(hub, index):
    """Alter one hex digit near the end of the audit record at index (in
    key order), as a hand editing the store would."""
    def flip(pairs):
        k, v = pairs[index]
        v = v[:-12] + ("0" if v[-12] != "0" else "1") + v[-11:]
        pairs[index] = (k, v)
        return pairs
    edit_audit(hub, flip)


def seq_of(pair):
    return int(pair[0].strip(), 16)


def broken_at(hub):
    p = verify(hub)
    assert p.returncode == 1, p.stdout + p.stderr
    m = re.search(r"BROKEN at record (\d+): (.*)", p.stdout)
    assert m, p.stdout
    return int(m.group(1)), m.group(2)


def test_a_cpr_typed_as_an_id_or_file_is_masked_in_messages(make_hub,
                                                            tmp_path):
    """What hubctl and inbox print about what was typed (an id that is a
    CPR, a file named after one) is masked as the trail masks it: their
    standard error ends up in journals and cron mails. The trail holds
    none of them in the clear."""
    hub = make_hub()
    cpr, other = CprGen(6103).take(2)
    hub.cprs.update({cpr, other})
    hub.assign(cpr, "cw-anna")
    dashed = f"{other[:6]}-{other[6:]}"
    runs = [
        hub.hubctl("revoke-caseworker", dashed, check=False),
        hub.hubctl("set-password", other, check=False),
        hub.hubctl("register-caseworker", other, check=False),
        hub.hubctl("export", "--cpr", cpr, "--out",
                   str(tmp_path / "no-such-dir" / f"{cpr}.json"),
                   check=False),
    ]
    # An id holding a CPR is no id (SECURITY.md): a usage error, exit 2.
    for p, rc in zip(runs, (2, 2, 2, 1)):
        assert p.returncode == rc, p
        assert "xxxxxx" in p.stderr, p.stderr
        for form in (cpr, other, dashed):
            assert form not in p.stdout + p.stderr, (form, p.stderr)
    assert "revoke-caseworker: 'xxxxxx-xxxx' is not a valid id" \
        in runs[0].stderr, runs[0].stderr
    assert "xxxxxxxxxx.json" in runs[3].stderr, runs[3].stderr
    conf = hub.tmp / "inbox-cpr.conf"
    conf.write_text(f"caseworker = {other}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                        "--list"], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode != 0 and "xxxxxxxxxx" in p.stderr, p.stderr
    assert other not in p.stderr, p.stderr
    text = hub.hubctl("audit", "show").stdout
    for form in (cpr, other, dashed):
        assert form not in text, (form, text)
    # An adapter's messages name the file: one named after a CPR is
    # masked on standard error (the journal), its rows reported by line.
    path, _ = hub.csv(f"{cpr}.csv", [AbsenceRow(cpr),
                                     f"{other};280017;x;y;1;2;ulovligt;1"])
    r = hub.adapter("import", path)
    assert "xxxxxxxxxx.csv:3: " in r.stderr, r.stderr
    for form in (cpr, other, dashed):
        assert form not in r.stderr, (form, r.stderr)


def test_what_was_typed_is_echoed_on_one_line(make_hub):
    """SECURITY.md, Personal data at rest: hubctl's and inbox's messages
    on standard error, which echo what was typed, are kept to one line
    as every program's log lines are (a control character becomes `?`):
    a value with a line break cannot add a line that looks like another
    message to the journal or the cron mail that keeps them."""
    hub = make_hub()
    p = hub.hubctl("set-email", "cw-anna", "anna@example.org\r\nBcc: x@y",
                   check=False)
    assert (p.returncode, p.stderr) == (
        2, "hubctl: set-email: 'anna@example.org??Bcc: x@y' is not a "
        "plain address (name@example.dk)\n"), p.stderr
    p = hub.hubctl("revoke-caseworker", "cw-x\nhubctl: revoked",
                   check=False)
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and \
        "'cw-x?hubctl: revoked'" in p.stderr, p.stderr
    p = subprocess.run([hubtest.binary("inbox"), "--config",
                        str(hub.tmp / "no\nsuch.conf"), "--list"],
                       capture_output=True, text=True, timeout=60)
    assert (p.returncode, p.stderr) == (
        2, f"inbox: cannot open {hub.tmp}/no?such.conf: No such file or "
        "directory\n"), p.stderr
    # So is a control character of the C1 range (U+0085 is a line break
    # to many a reader), in its two UTF-8 bytes.
    p = hub.hubctl("revoke-caseworker", "cw-x\u0085hubctl: revoked",
                   check=False)
    assert p.returncode == 2 and len(p.stderr.splitlines()) == 1 and \
        "'cw-x?hubctl: revoked'" in p.stderr, p.stderr

def test_an_agencys_refused_frames_are_recorded(make_hub):
    """SECURITY.md "Audit trail": `frame` `refused` / `malformed` for a
    frame from a revoked key and an undecodable frame, on ingest as on
    delivery, with the agency as actor and the key its connection
    authenticated with; so are a frame naming another agency and one of
    a type the agency is not registered for. A frame refused for its
    content is answered, not recorded."""
    hub = make_hub(agencies={"school-a": "absence", "school-b": "absence"})
    cpr = CprGen(6104).next()
    hub.cprs.add(cpr)
    key = hubtest.read_key_file(hub.keys_dir / "school-a.key")["public"]
    with hubtest.IngestClient(hub, key_id="school-a") as c:
        def code(data):
            return c.ack_for(data).code
        assert code(hubtest.frame(hubtest.envelope(
            "school-b", cpr, salt=1))) == hubtest.E_DENIED
        dropout = hubtest.ev_dropout(cpr, "2026-09-07")
        dropout.agency = "school-a"
        assert code(hubtest.frame(dropout)) == hubtest.E_DENIED
        assert code(b"\x01\x01garbage") == hubtest.E_MALFORMED
        assert code(hubtest.frame(hubtest.envelope(
            "school-a", cpr, salt=2, absent=99, expected=30))) == \
            hubtest.E_MALFORMED
        hub.hubctl("revoke-agency", "school-a")
        hubtest.wait_for(
            lambda: code(hubtest.frame(hubtest.envelope(
                "school-a", cpr, salt=3))) == hubtest.E_DENIED, 10,
            "the revoked key refused")

    def frames():
        return [r for r in show(hub, "--actor", "school-a")
                if r["action"] == "frame"]
    recs = hubtest.wait_for(lambda: (lambda r: r if len(r) >= 4 else None)(
        frames()), 10, "the refusals audited", interval=0.3)
    assert all(r["key"] == key and r["person"] == "" for r in recs), recs
    assert [(r["result"], r["detail"]) for r in recs] == [
        ("refused", "envelope agency does not match the connection's key"),
        ("refused", "agency is not registered for this event type"),
        ("malformed", "Envelope does not decode as protobuf"),
        ("refused", "key revoked or replaced")], recs


def test_flipped_byte_is_named(make_hub):
    hub, _, _ = busy_hub(make_hub)
    n = len(show(hub))
    flip_audit_byte(hub, 2)
    seq, what = broken_at(hub)
    assert seq == 3 and "altered" in what, (seq, what)
    assert n > 3


def test_a_show_cut_short_by_a_broken_record_is_recorded(make_hub):
    """OPERATIONS.md, The audit trail: every `audit show` is recorded,
    also one that a record which does not open cut short (exit 1): the
    records before it were shown all the same."""
    import pwd
    actor = "hubctl:" + pwd.getpwuid(os.geteuid()).pw_name
    hub, _, _ = busy_hub(make_hub)
    kept = []
    edit_audit(hub, lambda pairs: kept.extend(pairs) or pairs)
    flip_audit_byte(hub, 2)
    p = hub.hubctl("audit", "show", "--json", "--actor", actor,
                   check=False)
    assert p.returncode == 1, p.stderr
    assert [json.loads(l)["seq"] for l in p.stdout.splitlines()] == [1, 2]
    assert p.stderr == "hubctl: reading the audit trail stopped after " \
        "record 2: malformed input (run hubctl audit verify)\n", p.stderr
    # The record put back as it was, the trail reads again: the show that
    # stopped is in it, chained like any other.
    edit_audit(hub, lambda pairs: kept + pairs[len(kept):])
    last = show(hub, "--actor", actor)[-1]
    assert (last["action"], last["result"], last["detail"]) == (
        "audit-show", "failed", f"2 records shown actor {actor}; "
        "reading stopped after record 2"), last
    assert verify(hub).returncode == 0


def test_deleted_record_is_named(make_hub):
    hub, _, _ = busy_hub(make_hub)
    edit_audit(hub, lambda pairs: [p for p in pairs if seq_of(p) != 4])
    seq, what = broken_at(hub)
    assert seq == 4 and "missing" in what, (seq, what)


def swap_3_and_4(pairs):
    (k3, v3), (k4, v4) = pairs[2], pairs[3]
    pairs[2], pairs[3] = (k3, v4), (k4, v3)
    return pairs


def flip_value_of(key):
    def flip(pairs):
        return [(k, v[:-12] + ("0" if v[-12] != "0" else "1") + v[-11:]
                 if k.strip() == key else v) for k, v in pairs]
    return flip


@pytest.mark.parametrize("db,change,named", [
    ("audit", swap_3_and_4,
     (3, "record 3 altered: it does not open with the storage key")),
    # A key of 9 bytes sorts between records 3 and 4.
    ("audit", lambda pairs: pairs[:3] + [(pairs[2][0].rstrip() + "00",
                                          pairs[2][1])] + pairs[3:],
     (4, "a record with a malformed sequence sits before record 4")),
    ("audit_ckpt", lambda pairs: [p for p in pairs if p[0].strip() != "68"],
     (None, "the chain's recorded head is missing")),
    ("audit_ckpt", flip_value_of("68"),
     (None, "the chain's recorded head is altered (does not open)")),
], ids=["swapped", "malformed sequence", "head removed", "head altered"])
def test_a_swap_a_bad_sequence_and_a_changed_head_are_named(make_hub, db,
                                                            change, named):
    """SECURITY.md "Verifying": two records swapped (a record moved opens
    no more), a key that is no sequence added to the trail, the recorded
    head ("h" in log/audit_ckpt) removed or changed — each is BROKEN with
    the wording the doc quotes, exit 1, and the trail verifies again once
    put back."""
    hub, _, _ = busy_hub(make_hub)
    records = []
    edit_audit(hub, lambda pairs: records.extend(pairs) or pairs)
    kept = []
    edit_audit(hub, lambda pairs: kept.extend(pairs) or change(pairs), db=db)
    # A head that cannot be read is named at the last record.
    assert broken_at(hub) == (named[0] or seq_of(records[-1]), named[1])
    edit_audit(hub, lambda pairs: kept, db=db)
    assert verify(hub).returncode == 0


def test_a_record_of_a_diverged_copy_is_named_by_the_hashes(make_hub):
    """SECURITY.md "Verifying": a record copied in from another trail
    that shares the records before it (a copy of the store that went on
    differently) opens with the storage key, but the next record's hash
    of it does not match (`record S: hash mismatch (the record before it
    was changed or replaced)`; the last record replaced, the one before
    it signed at its place: `record S: hash mismatch (record S itself was
    replaced: the record before it is signed and intact)`; unsigned
    there, the last record is named by the recorded head: `... (record S
    itself was replaced: it is not the record the recorded head
    holds)`), nor does the checkpoint signed over the original (`record S: hash mismatch with its signed checkpoint (the
    trail up to it was rewritten)`)."""
    hub = make_hub(start=False)
    env = hub.data_dir / "log"
    hub.keygen("cw-x")
    hub.keygen("cw-y")
    saved = hub.tmp / "saved-log"
    shutil.copytree(env, saved)
    hub.hubctl("register-caseworker", "cw-x")
    hub.hubctl("register-caseworker", "cw-y")
    other = []
    edit_audit(hub, lambda pairs: other.extend(pairs) or pairs)
    shutil.rmtree(env)
    shutil.copytree(saved, env)
    hub.hubctl("register-caseworker", "cw-y")
    hub.hubctl("register-caseworker", "cw-x")
    own = []
    edit_audit(hub, lambda pairs: own.extend(pairs) or pairs)
    n = len(own)
    assert [seq_of(p) for p in other] == [seq_of(p) for p in own] and \
        other[:n - 2] == own[:n - 2] and other[n - 2] != own[n - 2]
    # The last record replaced: the one before it is the original, as
    # its own signed checkpoint says, so the record itself is named.
    edit_audit(hub, lambda pairs: pairs[:n - 1] + [other[n - 1]])
    assert broken_at(hub) == (n, f"record {n}: hash mismatch (record {n} "
                              "itself was replaced: the record before it "
                              "is signed and intact)")
    # With no checkpoint at the record before it, the record before it
    # may be the one replaced: it is named as the doc quotes.
    ckpts = []
    edit_audit(hub, lambda pairs: ckpts.extend(pairs) or [
        p for p in pairs if p[0].strip() != "63%016x" % (n - 1)],
        db="audit_ckpt")
    assert len(ckpts) > 2
    edit_audit(hub, lambda pairs: own[:n - 2] + [other[n - 2], own[n - 1]])
    assert broken_at(hub) == (n, f"record {n}: hash mismatch (the record "
                              "before it was changed or replaced)")
    # The last record replaced there: the chain's recorded head holds
    # another record's hash, so it is named itself all the same.
    edit_audit(hub, lambda pairs: own[:n - 1] + [other[n - 1]])
    assert broken_at(hub) == (n, f"record {n}: hash mismatch (record {n} "
                              "itself was replaced: it is not the record "
                              "the recorded head holds)")
    edit_audit(hub, lambda pairs: ckpts, db="audit_ckpt")
    # The one before the last replaced: signed at its place, it is named
    # by its checkpoint before the last record names it.
    edit_audit(hub, lambda pairs: own[:n - 2] + [other[n - 2], own[n - 1]])
    assert broken_at(hub) == (n - 1, f"record {n - 1}: hash mismatch with "
                              "its signed checkpoint (the trail up to it "
                              "was rewritten)")
    edit_audit(hub, lambda pairs: own)
    assert verify(hub).returncode == 0


def test_hubd_signs_a_checkpoint_at_every_1000th_record(make_hub):
    """SECURITY.md "Checkpoints": hubd signs one every 1000 records,
    logged `STORE-AUDIT checkpoint signed at record N, head HEX` once
    committed; `audit verify` names it as the last one, and the records
    after it as not yet signed, until hubd's stop signs them too."""
    from test_53_delivery import CaseworkerClient
    hub = make_hub()
    c = CaseworkerClient(hub, "cw-anna")
    c.wait(lambda: c.frames, 10, "the Welcome")
    for _ in range(1100):          # each a `frame` `malformed` record
        c.raw(b"\x01\x63x")
    hub.wait_log(r"STORE-AUDIT checkpoint signed at record 1000, head ")
    head = re.search(r"STORE-AUDIT checkpoint signed at record 1000, head "
                     r"([0-9a-f]{64})", hub.log_text()).group(1)
    # hubctl stats and audit verify write no record (audit show would,
    # and sign it).
    hubtest.wait_for(lambda: hub.stats()["audit_records"] > 1100, 10,
                     "1100 refusals written")
    p = verify(hub)
    assert p.returncode == 0, p.stdout
    lines = p.stdout.splitlines()
    assert lines[0].startswith("audit trail intact: ") and \
        "(last at record 1000)" in lines[0], p.stdout
    assert lines[1] == f"last checkpoint: record 1000, head {head}", lines
    assert lines[2].startswith("records 1001..") and \
        lines[2].endswith(" come after the last checkpoint: chained and "
                          "sealed, not yet signed"), lines
    hub.stop()
    assert len(re.findall(r"STORE-AUDIT checkpoint signed at record 1000,",
                          hub.log_text())) == 1


def test_verify_counts_the_problems_and_needs_the_public_key(make_hub):
    """OPERATIONS.md, The audit trail: BROKEN names the first broken
    record and how many problems in all; records after the last
    checkpoint are named as not yet signed; no readable hub.sign_public
    is exit 1, NOT VERIFIED."""
    hub, _, _ = busy_hub(make_hub)
    secret = hub.keys_dir / "hub.sign_secret"
    secret.rename(hub.keys_dir / "aside")
    hub.hubctl("audit", "show")          # a record no checkpoint covers
    p = verify(hub)
    n = int(re.search(r"head at record (\d+)", p.stdout).group(1))
    assert p.returncode == 0 and f"records {n}..{n} come after the last " \
        "checkpoint: chained and sealed, not yet signed\n" in p.stdout, \
        p.stdout
    (hub.keys_dir / "aside").rename(secret)
    public = hub.keys_dir / "hub.sign_public"
    public.rename(hub.keys_dir / "aside")
    p = verify(hub)
    assert p.returncode == 1 and p.stdout == (
        "audit trail NOT VERIFIED: cannot read the signing public key: "
        f"cannot open {public}: No such file or directory\n"), p.stdout
    (hub.keys_dir / "aside").rename(public)
    edit_audit(hub, lambda pairs: [p for p in pairs
                                   if seq_of(p) not in (4, 6)])
    p = verify(hub)
    assert p.returncode == 1
    assert p.stdout.startswith("audit trail BROKEN at record 4: record 4 "
                               "missing (gap: the next record is 5)\n2 "
                               "problems in all; "), p.stdout


def test_verify_that_cannot_open_the_store_says_so_on_stderr(make_hub):
    """OPERATIONS.md, The audit trail: audit verify prints its findings
    on stdout; a store it cannot open (none yet, or one the user may not
    read) is no finding about the trail: exit 1, said on stderr as every
    command says it, stdout empty."""
    hub = make_hub(start=False, register=False)
    p = verify(hub)
    assert (p.returncode, p.stdout) == (1, ""), p
    assert p.stderr == (f"hubctl: audit: no store in {hub.data_dir} "
                        "(data_dir): hubd makes it at its first start, "
                        "hubctl register-* before that\n"), p.stderr
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "its findings on stdout; a usage error and a store it cannot " \
        "open (exit 1) on stderr" in doc


def test_removed_checkpoints_are_caught(make_hub):
    """SECURITY.md "Verifying": the signed checkpoints are in the clear
    in log/audit_ckpt, so deleting them needs no key; the sealed head
    names the last one, and verify says it is missing rather than taking
    the trail for records not yet signed. hubd, started on such a trail,
    neither signs it again nor makes the gap go away."""
    hub, _, _ = busy_hub(make_hub)
    p = verify(hub)
    last = int(re.search(r"last checkpoint: record (\d+)", p.stdout)[1])

    def checkpoint(pair):
        return pair[0].strip().startswith("63")     # 'c' and the record
    edit_audit(hub, lambda pairs: [p for p in pairs if not checkpoint(p)],
               db="audit_ckpt")
    p = verify(hub)
    assert p.returncode == 1, p.stdout
    assert p.stdout.startswith(
        f"audit trail BROKEN at record {last}: checkpoint at record {last} "
        "missing (the recorded head names it as the last one signed)\n"), \
        p.stdout
    hub.start()
    hub.stop()
    p = verify(hub)
    assert p.returncode == 1 and f"checkpoint at record {last} missing" \
        in p.stdout, p.stdout


def test_an_older_head_put_back_is_caught(make_hub):
    """SECURITY.md "Verifying": the sealed head cannot be forged without
    the storage key, but an older one (from a backup, say) can be put
    back by hand: the records after it are named appended outside the
    hub, and the next append records what it found."""
    hub = make_hub()
    hub.stop()
    head = {}

    def keep(pairs):
        head.update(p for p in pairs if p[0].strip() == "68")
        return pairs
    edit_audit(hub, keep, db="audit_ckpt")
    older = show(hub)[-1]["seq"]        # its own record comes after
    edit_audit(hub, lambda pairs: [(k, head.get(k, v)) for k, v in pairs],
               db="audit_ckpt")
    assert broken_at(hub) == (older + 1, f"records after the recorded head "
                              f"({older}): appended outside the hub")
    hub.hubctl("register-caseworker", "cw-anna")
    assert broken_at(hub) == (older + 2, f"record {older + 2}: the trail "
                              "was changed outside the hub before it: "
                              "the chain's recorded head was record "
                              f"{older}, the last record {older + 1}")


def test_truncated_tail_is_caught(make_hub):
    hub, _, _ = busy_hub(make_hub)
    last = len(show(hub))   # show itself appends a record: count after
    edit_audit(hub, lambda pairs: pairs[:-2])
    seq, what = broken_at(hub)
    assert seq == last, (seq, last, what)
    assert "truncated" in what, what


def test_a_cut_tail_stays_named_after_hubd_appends(make_hub):
    """SECURITY.md "The chain": the sealed head catches a removed tail.
    Records after the last checkpoint (here: a refusal hubd wrote before
    a crash) cut off while hubd was down stay caught once hubd runs and
    appends again (another refusal), which chains from the last record
    there is: it records what it found (`audit-changed` `found`,
    hub), and verify names that record, exit 1."""
    hub = make_hub(start=False)
    (hub.keys_dir / "hub.sign_secret").rename(hub.tmp / "aside")
    hub.start()
    hub.keygen("school-x")

    def refused_once():
        with hubtest.IngestClient(hub, "school-x") as c:  # not registered
            c.send(b"\x01\x07", timeout=1.0)
            c.sock.poll(1000)
    refused_once()
    hubtest.wait_for(lambda: any(r["action"] == "connect" for r in show(
        hub)), 10, "the refusal written", interval=0.3)
    hub.kill9()
    recs = show(hub)    # audit show appends one more, unsigned too
    [refusal] = [r for r in recs if r["action"] == "connect"]
    cut, head = refusal["seq"], recs[-1]["seq"] + 1
    edit_audit(hub, lambda pairs: [p for p in pairs if seq_of(p) < cut])
    seq, what = broken_at(hub)
    assert (seq, what) == (cut, f"tail truncated: the recorded head is "
                           f"record {head}, the last record is "
                           f"{cut - 1}"), (seq, what)
    (hub.tmp / "aside").rename(hub.keys_dir / "hub.sign_secret")
    hub.start()
    refused_once()                  # appended, and flushed at the stop
    hub.stop()
    seq, what = broken_at(hub)
    assert (seq, what) == (cut, f"record {cut}: the trail was changed "
                           "outside the hub before it: the chain's "
                           f"recorded head was record {head}, the last "
                           f"record {cut - 1}"), (seq, what)
    [found] = [r for r in show(hub) if r["seq"] == cut]
    assert (found["actor"], found["action"], found["result"]) == (
        "hub", "audit-changed", "found"), found
    assert "STORE-AUDIT the audit trail was changed outside the hub" in \
        hub.log_text()


def test_hubd_makes_the_signing_key_and_signs_what_hubctl_left(make_hub):
    """A hub started without a signing key makes one (0600) and, at its
    first tick, signs a checkpoint over the records hubctl chained
    without one."""
    hub = make_hub(start=False, register=False)
    (hub.keys_dir / "hub.sign_secret").unlink()
    (hub.keys_dir / "hub.sign_public").unlink()
    for name, desk in hub.caseworkers.items():   # chained, not signed
        hub.register_caseworker(name, desk)
    hub.start()
    hub.wait_log(r"checkpoint signed at record")
    # The operator learns of the new pair: it is not backed up yet.
    assert re.search(r"\bwarn HUB-AUDIT no audit signing key in "
                     r"keys_dir: wrote a new pair, hub\.sign_public and "
                     r"hub\.sign_secret", hub.log_text()), hub.log_text()
    hub.stop()
    hub.start()         # the pair is there now: nothing more is said
    hub.wait_log(r"HUB-READY")
    hub.stop()
    assert hub.log_text().count("wrote a new pair") == 1
    assert os.stat(hub.keys_dir / "hub.sign_secret").st_mode & 0o077 == 0
    p = verify(hub)
    assert p.returncode == 0, p.stdout
    m = re.search(r"(\d+) signed checkpoints", p.stdout)
    assert m and int(m.group(1)) >= 1, p.stdout


def test_hubd_that_cannot_write_the_signing_key_says_keys_dir(make_hub):
    """OPERATIONS.md, Keys: under the unit /etc is read-only, so hubd
    cannot make a missing signing pair: err `HUB-AUDIT no audit signing
    key (keys_dir: cannot create DIR/hub.sign_public: Read-only file
    system); the trail is chained but its checkpoints are not signed`,
    and it serves all the same."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount keys_dir read-only")
    hub = make_hub(start=False)
    (hub.keys_dir / "hub.sign_secret").unlink()
    (hub.keys_dir / "hub.sign_public").unlink()
    keys = str(hub.keys_dir)
    if subprocess.run(["mount", "--bind", keys, keys],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot bind-mount here")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", keys], check=True)
        hub.start()
        hub.wait_log(r"HUB-AUDIT no audit signing key")
        hub.stop()
    finally:
        subprocess.run(["umount", "-l", keys])
    assert f"hubd err HUB-AUDIT no audit signing key (keys_dir: cannot " \
        f"create {keys}/hub.sign_public: Read-only file system); the " \
        "trail is chained but its checkpoints are not signed\n" in \
        hub.log_text(), hub.log_text()


WITNESS = re.compile(r"STORE-AUDIT checkpoint signed at record (\d+), "
                     r"head ([0-9a-f]{64})$", re.M)


class SyslogCatcher:
    """A syslog socket at /dev/log for the length of a test (CI has none;
    with a real one in place the test is skipped rather than steal it)."""

    PATH = "/dev/log"

    def __enter__(self):
        if os.path.exists(self.PATH):
            pytest.skip("/dev/log exists: a system logger owns it")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            self.sock.bind(self.PATH)
        except OSError as e:
            pytest.skip(f"cannot bind {self.PATH}: {e}")
        self.sock.settimeout(0.5)
        return self

    def lines(self):
        out = []
        while True:
            try:
                out.append(self.sock.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                return out

    def __exit__(self, *exc):
        self.sock.close()
        os.unlink(self.PATH)


def test_hubctl_checkpoints_are_witnessed_in_the_system_log(make_hub):
    """Every checkpoint hubctl signs is logged STORE-AUDIT to the system
    log (hubctl logs at warn; its stderr stays as it was), with the record
    number and head hash that `audit verify` then reports."""
    hub, _, _ = busy_hub(make_hub)
    hub.keygen("cw-wit")
    with SyslogCatcher() as log:
        p = hub.hubctl("register-caseworker", "cw-wit")
        assert "STORE-AUDIT" not in p.stderr, p.stderr
        # /dev/log is the machine's: keep the lines of this hub's chain
        # (another test's hubctl may write there too).
        lines = log.lines()
        p = verify(hub)
        assert p.returncode == 0, p.stdout
        m = re.search(r"last checkpoint: record (\d+), head ([0-9a-f]{64})",
                      p.stdout)
        assert m, p.stdout
        seq, head = int(m.group(1)), m.group(2)
        assert f"head at record {seq}\n" in p.stdout, (seq, p.stdout)
        mine = [x for x in lines if f"record {seq}, head {head}" in x]
        assert len(mine) == 1, lines
        # authpriv (10) * 8 + notice (5), tagged with the program name.
        assert mine[0].startswith("<85>") and " hubctl[" in mine[0], mine
        # The registration is that record; a refused one is witnessed too.
        [rec] = [r for r in show(hub) if r["seq"] == seq]
        assert (rec["action"], rec["result"]) == ("register-caseworker", "ok")
        assert rec["detail"].startswith("cw-wit "), rec
        p = hub.hubctl("register-caseworker", "cw-other", "--key",
                       str(hub.keys_dir / "cw-wit.key"), check=False)
        assert p.returncode == 1
        lines = log.lines()
        p = verify(hub)
        m = re.search(r"last checkpoint: record (\d+), head ([0-9a-f]{64})",
                      p.stdout)
        assert m and int(m.group(1)) > seq, p.stdout
        assert any(f"record {m.group(1)}, head {m.group(2)}" in x
                   for x in lines), lines
    # hubd's own checkpoints are in its log, whatever its level: at its
    # stop it signs the records it wrote last (when its last one came
    # before hubctl's, hubctl's checkpoint covers it and hubd signs none).
    hub.start()
    p = inbox_once(hub, "cw-anna", "--list")
    assert p.returncode == 0, p.stderr
    hub.stop()
    assert WITNESS.search(hub.log_text()), "hubd logged no STORE-AUDIT"


def test_inbox_timeline_of_no_cpr_is_a_usage_error(make_hub):
    """OPERATIONS.md, inbox's --list and --timeline outcomes: a --timeline
    that is no CPR number is refused by inbox itself (exit 2, nothing sent,
    so nothing audited); another caseworker's person is exit 4."""
    hub = make_hub(caseworkers={"cw-anna": False, "cw-bo": False})
    cpr = CprGen(6190).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    before = len(show(hub))
    for bad in ("12345", "320199-1234", "abcdefghij"):
        p = inbox_once(hub, "cw-anna", "--timeline", bad)
        assert p.returncode == 2, (bad, p.stderr)
        assert p.stderr.startswith("inbox: --timeline needs a CPR number "
                                   "(DDMMYY-SSSS): cpr"), p.stderr
        assert "nothing sent" in p.stderr and bad not in p.stderr
    # Each audit show is itself recorded: one more, no timeline record.
    after = show(hub)
    assert [r["action"] for r in after[before:]] == ["audit-show"]
    p = inbox_once(hub, "cw-bo", "--timeline", cpr)
    assert p.returncode == 4 and "the hub refused" in p.stderr, p.stderr
    p = inbox_once(hub, "cw-anna", "--timeline", cpr)
    assert p.returncode == 0 and "entries" in p.stdout, p.stderr


def test_refused_password_and_address_settings_are_recorded(make_hub):
    """SECURITY.md, Audit trail: set-password (`ok`, `failed`) and
    set-email (`ok`, `removed`, `failed`) are recorded, refusals included
    (OPERATIONS.md: every hubctl command but stats, log and audit
    verify): an id that is not a registered caseworker (exit 1) and a
    password of the wrong length (exit 1) leave a `failed` record naming
    the id, never the address or the password."""
    hub = make_hub()

    def set_password(who, password):
        return subprocess.run([hubtest.binary("hubctl"), "--config",
                               str(hub.conf), "set-password", who],
                              input=password + "\n", capture_output=True,
                              text=True, timeout=60)

    assert set_password("cw-nobody", "long enough secret").returncode == 1
    assert set_password("cw-anna", "short").returncode == 1
    p = hub.hubctl("set-email", "cw-nobody", "nobody@example.org",
                   check=False)
    assert p.returncode == 1 and "neither a registered caseworker" in \
        p.stderr, p.stderr
    assert set_password("cw-anna", "long enough secret").returncode == 0
    recs = [(r["action"], r["result"], r["detail"]) for r in show(hub)
            if r["action"] in ("set-password", "set-email")]
    assert [(a, res) for a, res, _ in recs] == [
        ("set-password", "failed"), ("set-password", "failed"),
        ("set-email", "failed"), ("set-password", "ok")], recs
    assert recs[0][2].startswith("cw-nobody"), recs
    assert recs[1][2].startswith("cw-anna"), recs
    assert recs[2][2].startswith("cw-nobody"), recs
    assert recs[3][2] == "cw-anna", recs
    text = json.dumps(recs)
    assert "nobody@example.org" not in text and "secret" not in text
    assert "short" not in text
    # `-` with no address to remove is refused (exit 1) and recorded
    # `failed` with the id and why, as the other refusals are.
    p = hub.hubctl("set-email", "cw-anna", "-", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: set-email: cw-anna has no address\n"), p
    last = [r for r in show(hub) if r["action"] == "set-email"][-1]
    assert (last["result"], last["detail"]) == (
        "failed", "cw-anna: no address to remove"), last


def test_a_registrations_flags_in_the_trail_read_as_documented(make_hub):
    """SECURITY.md, Audit trail: a registration's record gives its flags,
    `flags 0x..`: for an agency one bit per event type it may send, bit N
    for the type numbered N in PROTOCOL.md's table; for a caseworker 0x1
    the desk, 0x4 operational alerts. So an auditor can tell from the
    trail alone what each registration allowed."""
    hub = make_hub()
    hub.keygen("school-f")
    hub.keygen("cw-f")
    hub.hubctl("register-agency", "school-f", "--types",
               "absence,readiness,desk")
    hub.hubctl("register-caseworker", "cw-f", "--desk", "--ops")
    recs = {r["action"]: r["detail"] for r in show(hub)
            if r["detail"].startswith(("school-f ", "cw-f "))}
    types = (1 << 1) | (1 << 6) | (1 << 11)
    assert recs["register-agency"].endswith(f" flags 0x{types:x}"), recs
    assert recs["register-caseworker"].endswith(" flags 0x5"), recs
    doc = " ".join((hubtest.ROOT / "docs" / "SECURITY.md").read_text()
                   .split())
    assert ("for an agency, bit N set for each event type it may send, N "
            "the type's number in PROTOCOL.md's table (`absence` alone: "
            "`0x2`); for a caseworker, `0x1` a desk member and `0x4` "
            "operational alerts") in doc


def test_the_trail_tells_who_is_registered_as_operations_says(make_hub):
    """OPERATIONS.md, Registering who may connect: no command lists the
    registrations; the latest `ok` register-KIND / revoke-KIND record of
    an id says whether it is registered, and `stats` counts them."""
    hub = make_hub()
    hub.keygen("school-r")
    hub.register_agency("school-r")
    hub.hubctl("revoke-agency", "school-r")
    hub.hubctl("revoke-agency", "school-r", check=False)  # not-found
    latest = {}
    for r in show(hub):
        if r["result"] == "ok" and r["action"].split("-")[0] in (
                "register", "revoke"):
            kind = r["action"].split("-", 1)[1]
            latest[(kind, r["detail"].split(" ")[0])] = r["action"]
    registered = {k for k, a in latest.items() if a.startswith("register")}
    assert registered == {("agency", "school-a"), ("caseworker", "cw-anna"),
                          ("caseworker", "desk-dora")}, latest
    assert hub.stats()["principals"] == len(registered)


def test_a_registration_refused_for_the_other_kinds_id_is_recorded(
        make_hub):
    """OPERATIONS.md: register-gateway refuses the id of a registered
    caseworker, register-caseworker that of a registered gateway (exit
    1, nothing changed); a registration refused is recorded `refused`,
    like one refused for its key (SECURITY.md's table: the id, the key's
    first 8 characters, and why)."""
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    p = hub.hubctl("register-gateway", "cw-anna", "--key",
                   str(hub.keys_dir / "web-1.key"), check=False)
    assert p.returncode == 1 and "is a registered caseworker" in p.stderr
    p = hub.hubctl("register-caseworker", "web-1", check=False)
    assert p.returncode == 1 and "is a registered gateway" in p.stderr
    key = hubtest.read_key_file(hub.keys_dir / "web-1.key")["public"]
    recs = [(r["action"], r["result"], r["detail"]) for r in show(hub)
            if r["action"] in ("register-gateway", "register-caseworker")
            and r["result"] != "ok"]
    assert recs == [
        ("register-gateway", "refused", f"cw-anna key {key[:8]}... gateway: "
         "'cw-anna' is a registered caseworker"),
        ("register-caseworker", "refused", f"web-1 key {key[:8]}... "
         "flags 0x0: 'web-1' is a registered gateway")], recs
    # Nothing changed: web-1 is still the gateway, cw-anna a caseworker.
    assert hub.hubctl("revoke-gateway", "web-1").returncode == 0


def test_a_bad_audit_show_filter_is_found_before_the_store(make_hub,
                                                           tmp_path):
    """hubctl --help: a bad option value is a usage error, exit 2, found
    before the store is opened. audit show's --cpr, --from and --to are
    checked so, also where data_dir holds no store (exit 1 would say the
    store is missing, not that the command was mistyped)."""
    hub = make_hub(start=False)
    before = hub.stats()["audit_records"]
    cases = [(["--from", "2026-13-01"],
              "hubctl: --from must be a date, YYYY-MM-DD\n"),
             (["--to", "2026-02-30"],
              "hubctl: --to must be a date, YYYY-MM-DD\n"),
             (["--to", "2200-01-01"],
              "hubctl: --to must be a date, YYYY-MM-DD\n"),
             (["--from", "1899-12-31"],
              "hubctl: --from must be a date, YYYY-MM-DD\n"),
             # Given empty (an unset variable) it is no date either, not
             # a period left open that shows every record.
             (["--from", ""],
              "hubctl: --from must be a date, YYYY-MM-DD\n"),
             (["--to="], "hubctl: --to must be a date, YYYY-MM-DD\n"),
             (["--cpr", "123"], None),
             (["--from", "2026-03-02", "--to", "2026-03-01"],
              "hubctl: audit show: --from 2026-03-02 is after --to "
              "2026-03-01\n")]
    for where in ([], ["--data_dir", str(tmp_path / "none")]):
        for args, said in cases:
            p = hub.hubctl("audit", "show", *args, *where, check=False)
            assert (p.returncode, p.stdout) == (2, ""), (args, where,
                                                          p.stderr)
            if said:
                assert p.stderr == said, (args, where, p.stderr)
            else:
                assert p.stderr.startswith("hubctl: --cpr: "), p.stderr
    # A filter that is not UTF-8 (a Latin-1 terminal) is no id or key,
    # and kept in the show's record it would make --json, and with
    # --cpr the person's export, invalid UTF-8.
    for name in ("actor", "key"):
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), "audit", "show", f"--{name}",
                            "j\udcf8rn"], capture_output=True)
        assert (p.returncode, p.stdout, p.stderr) == (
            2, b"", f"hubctl: audit show: --{name} must be UTF-8 "
            "text\n".encode()), (name, p.stderr)
    # So is a `from =` line left empty in a --config file, named.
    ops = tmp_path / "ops.conf"
    ops.write_text("from =\n")
    p = hub.hubctl("audit", "--config", str(ops), "show", check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", f"hubctl: {ops}:1: --from must be a date, YYYY-MM-DD\n"), p
    assert not (tmp_path / "none").exists()
    assert hub.stats()["audit_records"] == before


def test_keygen_is_recorded_when_it_writes_keys(make_hub):
    """hubctl --help, SECURITY.md: keygen is recorded once the store
    exists, when it writes keys; one refused because the files exist
    changes nothing and leaves no record."""
    hub = make_hub()
    hub.hubctl("keygen", "cw-kim")
    p = hub.hubctl("keygen", "cw-kim", check=False)
    assert p.returncode == 1 and "keys are never overwritten" in p.stderr
    recs = [(r["action"], r["result"], r["detail"]) for r in show(hub)
            if r["action"] == "keygen"]
    assert ("keygen", "ok", "cw-kim") in recs, recs
    assert sum(1 for r in recs if r[2] == "cw-kim") == 1, recs
    p = subprocess.run([hubtest.binary("hubctl"), "--help"],
                       capture_output=True, text=True, timeout=20)
    assert "a refusal to overwrite changes nothing and is\nnot recorded" \
        in p.stdout


def test_a_revoke_record_names_the_key_it_revoked(make_hub):
    """SECURITY.md's table: a register-* or revoke-* record's detail is
    the id, the key's first 8 characters and the flags. A revoke names
    the key that stopped being admitted (after a key replacement, which
    one is gone); a revoke of an id not registered names the id alone."""
    hub = make_hub(start=False)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    hub.hubctl("register-caseworker", "desk-dora", "--desk", "--ops")
    keys = {n: hubtest.read_key_file(hub.keys_dir / f"{n}.key")["public"]
            for n in ("school-a", "desk-dora", "web-1")}
    hub.hubctl("revoke-agency", "school-a")
    hub.hubctl("revoke-caseworker", "desk-dora")
    hub.hubctl("revoke-gateway", "web-1")
    assert hub.hubctl("revoke-agency", "school-a",
                      check=False).returncode == 1
    recs = [(r["action"], r["result"], r["detail"]) for r in show(hub)
            if r["action"].startswith("revoke-")]
    assert recs == [
        ("revoke-agency", "ok", f"school-a key {keys['school-a'][:8]}... "
         "flags 0x2"),
        ("revoke-caseworker", "ok", f"desk-dora key "
         f"{keys['desk-dora'][:8]}... flags 0x5"),
        ("revoke-gateway", "ok", f"web-1 key {keys['web-1'][:8]}... "
         "gateway"),
        ("revoke-agency", "not-found", "school-a")], recs


def test_a_signing_pair_replaced_as_operations_says(make_hub):
    """OPERATIONS.md "Replacing the hub's own key": a new signing pair
    (keygen hub with the old one moved aside) is recorded; verify with
    it names the first checkpoint as a bad signature, and with the old
    public key the first one signed after the change."""
    hub = make_hub()
    hub.stop()
    old = hub.tmp / "old-sign"
    old.mkdir()
    for name in ("hub.sign_public", "hub.sign_secret"):
        (hub.keys_dir / name).rename(old / name)
    p = hub.hubctl("keygen", "hub")
    assert "kept" in p.stdout and "wrote" in p.stdout, p.stdout
    shutil.copy(hub.keys_dir / "hub.key_secret", old)
    [keygen] = [r for r in show(hub) if r["action"] == "keygen"]
    assert keygen["detail"] == "hub", keygen
    changed = keygen["seq"]
    assert broken_at(hub) == (1, "checkpoint at record 1: bad signature "
                              "(not made with this hub's signing key, or "
                              "altered)")
    p = hub.hubctl("audit", "verify", "--keys_dir", str(old), check=False)
    assert p.returncode == 1 and p.stdout.startswith(
        f"audit trail BROKEN at record {changed}: checkpoint at record "
        f"{changed}: bad signature"), p.stdout


def test_an_assignment_stored_again_is_recorded_already_known(make_hub):
    """SECURITY.md, `assign`: each assignment hubctl stores is recorded,
    `ok`, or `already-known` for one the store holds already; the record
    is written in the assignment's own transaction, so it says which."""
    cpr = CprGen(6161).next()
    hub = make_hub()
    hub.assign(cpr, "cw-anna", start="2025-03-01")
    hub.assign(cpr, "cw-anna", start="2025-03-01")
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna",
               "--role", "guidance", "--from", "2025-04-01", "--to",
               "2025-06-30")
    recs = [r for r in show(hub) if r["action"] == "assign"]
    assert [r["result"] for r in recs] == ["ok", "already-known", "ok"], \
        recs
    assert recs[0]["person"] == recs[1]["person"] == recs[2]["person"] \
        and recs[0]["person"]
    # Word for word as SECURITY.md gives it: role, caseworker, dates.
    assert [r["detail"] for r in recs] == [
        "contact cw-anna from 2025-03-01", "contact cw-anna from 2025-03-01",
        "guidance cw-anna from 2025-04-01 to 2025-06-30"], recs
    assert verify(hub).returncode == 0


def fill_log_map(hub):
    """With hubd stopped, fill what its refused batch left of log/ (pages
    it held) with `audit show` records, until one is not recorded."""
    for _ in range(500):
        p = hub.hubctl("audit", "show", "--actor", "a" * 63)
        if "audit-show was not recorded in the audit trail" in p.stderr:
            return
    raise AssertionError("the log/ map never filled")


def test_each_admin_change_is_recorded_and_signed(make_hub):
    """SECURITY.md's table: a registration is recorded `ok` with the id,
    the key's first 8 characters and `flags 0x..` (or `gateway`);
    set-password `ok` and set-email `ok` / `removed` with the id alone,
    never the password or the address; and each is signed into a
    checkpoint at once ("checkpoints hubctl signs (after each of its
    writing commands)"). OPERATIONS.md: a revoke-* of an id that is not
    registered as that kind changes nothing: the desk's id, which holds
    a notice address, keeps it."""
    hub = make_hub(start=False)
    hub.keygen("web-1")
    hub.keygen("cw-kim")
    first = show(hub)[-1]["seq"]

    def signed_to_the_end():
        p = verify(hub)
        m = re.search(r"\(last at record (\d+)\), head at record (\d+)",
                      p.stdout)
        assert p.returncode == 0 and m and m[1] == m[2], p.stdout

    for args in (["register-gateway", "web-1"],
                 ["register-caseworker", "cw-kim", "--ops"],
                 ["set-email", "duty-desk", "desk@example.org"],
                 ["set-email", "cw-kim", "kim@example.org"],
                 ["set-email", "cw-kim", "-"]):
        hub.hubctl(*args)
        signed_to_the_end()
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "set-password", "cw-kim"],
                       input="kims secret word\n", capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    signed_to_the_end()
    p = hub.hubctl("revoke-caseworker", "duty-desk", check=False)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: revoke: no caseworker 'duty-desk' is registered\n")
    p = hub.hubctl("set-email", "duty-desk", "-")
    assert p.stdout == "no more e-mail notices for duty-desk\n"
    keys = {n: hubtest.read_key_file(hub.keys_dir / f"{n}.key")["public"]
            for n in ("web-1", "cw-kim")}
    recs = [(r["action"], r["result"], r["detail"]) for r in show(hub)
            if r["seq"] > first and r["action"] != "audit-show"]
    assert recs == [
        ("register-gateway", "ok", f"web-1 key {keys['web-1'][:8]}... "
         "gateway"),
        ("register-caseworker", "ok", f"cw-kim key {keys['cw-kim'][:8]}... "
         "flags 0x4"),
        ("set-email", "ok", "duty-desk"), ("set-email", "ok", "cw-kim"),
        ("set-email", "removed", "cw-kim"), ("set-password", "ok", "cw-kim"),
        ("revoke-caseworker", "not-found", "duty-desk"),
        ("set-email", "removed", "duty-desk")], recs


def test_admin_changes_on_a_full_store_are_recorded_or_not_done(make_hub):
    """SECURITY.md "What a crash can lose": a registration, a revoke, a
    password and an address are each stored with their audit record or
    not at all. On a log/ map too full for the record (log_map_mb = 1,
    filled by ingest) each command changes nothing and says so (exit 1,
    `hubctl: COMMAND: the store is full (log_map_mb): nothing changed`);
    with room again, everything is as it was and the trail holds no `ok`
    for any of them."""
    from test_53_delivery import until_refused
    hub = make_hub(settings={"log_map_mb": "1"})
    for name in ("web-1", "web-2", "cw-kim", "school-b"):
        hub.keygen(name)
    hub.hubctl("register-gateway", "web-1")
    hub.hubctl("set-email", "cw-anna", "anna@example.org")
    until_refused(hub, "admin-full")
    until_refused(hub, "admin-full-1", step=1)
    hub.stop()
    # What hubd's refused batch left (pages it held): filled by records.
    fill_log_map(hub)
    before = len(show(hub))
    said = {}
    for args in (["register-agency", "school-b"],
                 ["register-caseworker", "cw-kim"],
                 ["register-gateway", "web-2"],
                 ["revoke-agency", "school-a"],
                 ["revoke-caseworker", "cw-anna"],
                 ["revoke-gateway", "web-1"],
                 ["set-email", "desk-dora", "dora@example.org"],
                 ["set-email", "cw-anna", "-"]):
        p = hub.hubctl(*args, check=False)
        said[args[0]] = p.stderr
        assert (p.returncode, p.stdout) == (1, ""), (args, p.stdout,
                                                     p.stderr)
        cmd = args[0].split("-")[0] if args[0] != "set-email" else args[0]
        assert f"hubctl: {cmd}: the store is full (log_map_mb): " \
            "nothing changed" in p.stderr, (args, p.stderr)
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "set-password", "cw-anna"],
                       input="long enough secret\n", capture_output=True,
                       text=True, timeout=60)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert "hubctl: set-password: the store is full (log_map_mb): " \
        "nothing changed" in p.stderr, p.stderr
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    recs = show(hub)[before:]
    assert [r for r in recs if r["result"] == "ok"
            and r["action"] != "audit-show"] == [], recs
    # Nothing changed: each registration is as it was.
    for args in (["revoke-agency", "school-b"],
                 ["revoke-caseworker", "cw-kim"],
                 ["revoke-gateway", "web-2"]):
        assert hub.hubctl(*args, check=False).returncode == 1, args
    p = hub.hubctl("set-email", "cw-anna", "-")
    assert p.stdout == "no more e-mail notices for cw-anna\n"
    for args in (["revoke-agency", "school-a"],
                 ["revoke-caseworker", "cw-anna"],
                 ["revoke-gateway", "web-1"]):
        hub.hubctl(*args)
    assert verify(hub).returncode == 0


def test_a_checkpoint_added_before_record_1_breaks_the_trail(make_hub):
    """SECURITY.md "Verifying": a checkpoint that is malformed is named,
    also one added (no key needed: they are in the clear) under a key
    that names no record or record 0, which no record comes before."""
    hub = make_hub()
    hub.stop()
    assert verify(hub).returncode == 0
    for key, value in ((" 63ffff", " 01"), (" 63" + "00" * 8, None)):
        kept = []

        def add(pairs):
            kept.extend(pairs)
            return [(key, value or pairs[0][1])] + pairs
        edit_audit(hub, add, db="audit_ckpt")
        assert broken_at(hub) == (1, "checkpoint at record 0 is "
                                  "malformed"), key
        edit_audit(hub, lambda pairs: kept, db="audit_ckpt")
        assert verify(hub).returncode == 0


def test_an_assignment_on_a_full_store_changes_nothing_and_says_so(
        make_hub):
    """SECURITY.md "What a crash can lose": `hubctl assign`'s assignments
    and their `assign` records are one transaction; on a log/ map too
    full for them nothing is stored and hubctl says so as the other
    writing commands do (OPERATIONS.md, "Contact persons"): exit 1,
    nothing on stdout, no `assign` record."""
    from test_53_delivery import until_refused
    hub = make_hub(settings={"log_map_mb": "1"})
    cpr, other = CprGen(6120).take(2)
    hub.cprs.update({cpr, other})
    until_refused(hub, "assign-full")
    until_refused(hub, "assign-full-1", step=1)
    hub.stop()
    fill_log_map(hub)
    p = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna",
                   check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr.endswith("hubctl: assign: the store is full "
                             "(log_map_mb): nothing changed\n"), p.stderr
    rows = hub.inputs_dir / "assignments.csv"
    rows.write_text(f"cpr;caseworker\n{cpr};cw-anna\n{other};cw-anna\n")
    p = hub.hubctl("assign", "--file", str(rows), check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr.endswith(
        "hubctl: assign: the store is full (log_map_mb): 0 assignments "
        f"stored, the rest of {rows} not: run it again\n"), p.stderr
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    assert [r for r in show(hub) if r["action"] == "assign"] == []
    p = hub.hubctl("assign", "--file", str(rows))
    assert p.stdout == "assignments: 2 new, 0 already known, 0 rejected\n"


def test_an_assignment_file_on_a_full_disk_says_what_was_stored(
        make_hub, tmp_path):
    """OPERATIONS.md, "Contact persons": `assign --file` on a store that
    cannot take a batch says `hubctl: assign: REASON: N assignments
    stored, the rest of FILE not: run it again` (another store error in
    place of the full map's), exit 1. On a full disk it said only
    `hubctl: storing assignments: ` with no reason and no count, as if
    the file could not be read. Freed, the same file stores every row."""
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        hub = make_hub(start=False, settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        cprs = CprGen(6121).take(3000)
        hub.cprs.update(cprs)
        rows = hub.inputs_dir / "assignments.csv"
        rows.write_text("cpr;caseworker\n" +
                        "".join(f"{c};cw-anna\n" for c in cprs))
        filler = disk / "filler"
        hubtest.fill_disk(filler)
        p = hub.hubctl("assign", "--file", str(rows), check=False)
        assert (p.returncode, p.stdout) == (1, ""), p.stderr
        assert re.search(r"hubctl err STORE-LMDB .*: No space left on "
                         r"device: the disk under (log|ids)/ is full; free "
                         r"space\n", p.stderr), p.stderr
        assert re.search(r"\nhubctl: assign: input/output error: \d+ "
                         rf"assignments stored, the rest of "
                         rf"{re.escape(str(rows))} not: run it again\n$",
                         p.stderr), p.stderr
        stored = int(re.search(r"error: (\d+) assignments", p.stderr)[1])
        filler.unlink()
        p = hub.hubctl("assign", "--file", str(rows))
        assert p.stdout == (f"assignments: {3000 - stored} new, {stored} "
                            "already known, 0 rejected\n"), p.stdout


def test_an_assignment_stored_when_only_its_index_fails_says_stored(
        make_hub, tmp_path):
    """OPERATIONS.md, "Contact persons": hubctl says `nothing changed`
    only when nothing is stored. On a full disk the log's commit can go
    through (room in its file) while the event-id index's, after it,
    cannot: the assignment and its `assign` record are then stored, and
    the index catches up from the log at the next open ("Store format").
    hubctl said `hubctl: assign: input/output error: nothing changed`,
    exit 1, for an assignment it had stored."""
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        hub = make_hub(start=False, settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        cpr = CprGen(6122).take(1)[0]
        hub.cprs.add(cpr)
        filler = disk / "filler"
        hubtest.fill_disk(filler)
        p = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna",
                       check=False)
        # The case: the log took it, the index after it did not.
        assert "STORE-LMDB commit event ids: No space left on device: the " \
            "disk under ids/ is full; free space\n" in p.stderr, p.stderr
        assert "nothing changed" not in p.stderr, p.stderr
        assert p.returncode == 0, p.stderr
        assert re.fullmatch(r"assigned to cw-anna from \d{4}-\d\d-\d\d\n",
                            p.stdout), p.stdout
        filler.unlink()
        st = hub.stats()
        assert (st["assignments"], st["log_events"], st["event_ids"]) == \
            (1, 1, 1), st
        assert [r["action"] for r in show(hub)].count("assign") == 1
        again = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna")
        assert again.stdout.endswith("(already known)\n"), again.stdout


def test_long_output_that_cannot_be_written_names_why(make_hub, tmp_path):
    """OPERATIONS.md, The audit trail: output that cannot be written is
    `cannot write standard output: No space left on device` (`... Broken
    pipe`), for `log` and `audit show` too. A listing longer than
    hubctl's output buffer fails at its first write, not at the end: the
    reason is still that write's, not `Input/output error`, which would
    send the operator after a failing disk."""
    hub = make_hub(start=False)
    rows = "".join(f"0101101234;cw-anna;{y}-{m:02d}-{d:02d}\n"
                   for y in (2024, 2025) for m in range(1, 13)
                   for d in range(1, 29))
    (tmp_path / "many.csv").write_text("cpr;caseworker;from\n" + rows)
    hub.hubctl("assign", "--file", str(tmp_path / "many.csv"))
    for args in (["log"], ["log", "--json"], ["audit", "show"],
                 ["audit", "show", "--json"]):
        what = " ".join(args[:2]) if args[0] == "audit" else args[0]
        with open("/dev/full", "w") as full:
            p = subprocess.run([hubtest.binary("hubctl"), "--config",
                                str(hub.conf), *args], stdout=full,
                               stderr=subprocess.PIPE, text=True)
        assert (p.returncode, p.stderr) == (1, f"hubctl: {what}: cannot "
            "write standard output: No space left on device\n"), args
        p = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                              str(hub.conf), *args], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        p.stdout.close()
        err = p.stderr.read()
        assert (p.wait(), err) == (1, f"hubctl: {what}: cannot write "
            "standard output: Broken pipe\n"), args


def test_a_detail_that_is_not_utf8_is_kept_as_question_marks(make_hub):
    """SECURITY.md, Audit trail: a detail is kept as UTF-8 text, a byte
    that is not UTF-8 as `?` (a backup's directory named in a Latin-1
    terminal), so `audit show --json` stays one JSON object per line."""
    hub = make_hub()
    target = os.fsencode(str(hub.tmp)) + b"/bk-\xe6\xf8\xe5"
    p = subprocess.run([os.fsencode(hubtest.binary("hubctl")), b"--config",
                        os.fsencode(str(hub.conf)), b"backup", target],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([hubtest.binary("hubctl"), "--config", str(hub.conf),
                        "audit", "show", "--json"], capture_output=True,
                       timeout=60)
    recs = [json.loads(line.decode("utf-8")) for line in
            p.stdout.splitlines()]
    assert recs[-1]["action"] == "backup", recs[-1]
    assert recs[-1]["detail"] == f"{hub.tmp}/bk-???", recs[-1]


def test_a_signal_ends_log_as_any_program_and_records_nothing(make_hub):
    """OPERATIONS.md, The audit trail: Ctrl-C ends `audit show` with a
    line and a `failed` record; `stats`, `log` and `audit verify`, which
    change and record nothing, a signal ends as any program, without a
    word: no "interrupted" line, no record."""
    hub = make_hub(start=False)
    rows = "".join(f"0101101234;cw-anna;{y}-{m:02d}-{d:02d}\n"
                   for y in range(2020, 2027) for m in range(1, 13)
                   for d in range(1, 29))
    (hub.tmp / "many.csv").write_text("cpr;caseworker;from\n" + rows)
    hub.hubctl("assign", "--file", str(hub.tmp / "many.csv"))
    before = hub.stats()["audit_records"]
    # Standard output a pipe nobody reads: log blocks in a write once it
    # is full (64 KiB; some 2,300 lines wait), and the signal finds it
    # in the middle of its listing.
    p = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                          str(hub.conf), "log"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    size = fcntl.fcntl(p.stdout.fileno(), 1032)  # F_GETPIPE_SZ

    def waiting():
        n = array.array("i", [0])
        fcntl.ioctl(p.stdout.fileno(), termios.FIONREAD, n)
        return n[0] >= size - 4096
    hubtest.wait_for(waiting, 30, "hubctl log's pipe full")
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=30) == -signal.SIGINT
    assert p.stderr.read() == b""
    p.stdout.close()
    p.stderr.close()
    assert hub.stats()["audit_records"] == before


def test_output_that_cannot_be_written_is_exit_1_not_shown(make_hub):
    """OPERATIONS.md, The audit trail: `audit show` exits 0 only when
    what it shows was written. Redirected to a full disk (/dev/full),
    it exits 1 saying so and records the show `failed`, as an export
    does; `stats`, `log` and `audit verify` likewise exit 1 rather than
    0 with nothing written (a verdict nobody can read is no "intact")."""
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", CprGen(6119).next(), salt="full"))
    for args in (["audit", "show"], ["audit", "show", "--json"],
                 ["stats"], ["log"], ["audit", "verify"]):
        with open("/dev/full", "w") as full:
            p = subprocess.run([hubtest.binary("hubctl"), "--config",
                                str(hub.conf), *args], stdout=full,
                               stderr=subprocess.PIPE, text=True)
        assert p.returncode == 1, (args, p.stderr)
        what = " ".join(args[:2]) if args[0] == "audit" else args[0]
        assert p.stderr == f"hubctl: {what}: cannot write standard " \
            "output: No space left on device\n", (args, p.stderr)
    shows = [r for r in show(hub) if r["action"] == "audit-show"]
    assert [r["result"] for r in shows][:2] == ["failed", "failed"], shows
    assert shows[0]["detail"].endswith(
        "; output failed (No space left on device)"), shows[0]


def test_a_flood_of_refusals_is_counted_and_leaves_room_for_reads(
        make_hub):
    """SECURITY.md "What a crash can lose" and "Known limits": records
    wait in memory for the once-a-second write; refusals at most 3072 of
    the 4096, so that a flood of them (an agency sending frames of
    another agency in a loop) never costs the record of a read. Beyond
    that they are counted, not kept, in `audit-dropped` `lost` records of
    hub's that say how many, and the trail still verifies."""
    import threading
    hub = make_hub(agencies={"school-a": "absence", "college-a": "dropout"})
    cpr = CprGen(6105).next()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    data = hubtest.frame(hubtest.envelope("college-a", cpr, salt="flood"))
    sent, done = [0], threading.Event()

    def flood(c):
        while not done.is_set():
            for _ in range(2000):
                c.sock.send(data)
            for _ in range(2000):
                assert c.recv_ack(20).code == hubtest.E_DENIED
            sent[0] += 2000
    with hubtest.IngestClient(hub, key_id="school-a") as c:
        t = threading.Thread(target=flood, args=(c,))
        t.start()
        try:
            hubtest.wait_for(lambda: sent[0] >= 10000, 20, "a flood")
            for _ in range(3):
                p = inbox_once(hub, "cw-anna", "--timeline", cpr)
                assert p.returncode == 0, p.stderr
        finally:
            done.set()
            t.join()

    def counted():
        recs = show(hub)
        kept = [r for r in recs if r["action"] in ("frame", "timeline")]
        lost = [r for r in recs if r["action"] == "audit-dropped"]
        n = sum(int(r["detail"].split()[0]) for r in lost)
        return (recs, lost) if len(kept) + n == sent[0] + 3 else None
    recs, lost = hubtest.wait_for(counted, 20, "every refusal kept or "
                                  "counted", interval=0.5)
    assert lost, recs[-5:]
    for r in lost:
        assert (r["actor"], r["result"], r["key"], r["person"]) == \
            ("hub", "lost", "", ""), r
        assert re.fullmatch(r"\d+ records not kept: the audit queue was "
                            r"full", r["detail"]), r
    reads = [r for r in recs if r["action"] == "timeline"]
    assert [r["result"] for r in reads] == ["ok"] * 3, reads
    hub.stop()
    p = verify(hub)
    assert p.returncode == 0 and "audit trail intact" in p.stdout, p.stdout


def test_a_store_on_read_only_media_is_verified_from_a_copy(make_hub):
    """OPERATIONS.md "The audit trail": every hubctl command, audit verify
    and audit show included, opens the store as hubd does, with LMDB's
    lock file beside each data file: a store (or a backup) on read-only
    media is refused, exit 1, and verifies once copied to a writable
    disk."""
    hub = make_hub()
    hub.stop()
    ro = hub.tmp / "ro"
    ro.mkdir()
    subprocess.run(["mount", "--bind", str(hub.data_dir), str(ro)],
                   check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(ro)],
                       check=True)
        for args in (("audit", "verify"), ("audit", "show")):
            p = hub.hubctl(*args, "--data_dir", str(ro), check=False)
            assert (p.returncode, p.stdout, p.stderr) == (
                1, "", "hubctl: cannot open the hub's keys and store: "
                "cannot open LMDB environment: Read-only file system\n"), p
    finally:
        subprocess.run(["umount", "-l", str(ro)])
    copy = hub.tmp / "copy"
    shutil.copytree(hub.data_dir, copy)
    p = hub.hubctl("audit", "verify", "--data_dir", str(copy))
    assert p.stdout.startswith("audit trail intact: "), p.stdout


def test_a_c1_control_character_in_a_note_is_shown_escaped(make_hub):
    """OPERATIONS.md "The audit trail": in audit show's listing a control
    character of a detail is shown as `\\xNN`, a UTF-8 one of the C1
    range (U+0080-U+009F: U+0085 is a line break to many a reader, U+009B
    a terminal's command start) byte by byte, so a note keeps to its
    record's line."""
    hub = make_hub()
    cpr = CprGen(6106).next()
    hub.cprs.add(cpr)
    alert_id = alert_for_anna(hub, cpr)
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note",
                   "called\u0085 999 forged\u009b2J")
    assert p.returncode == 0, p.stderr
    [ack] = [r for r in show(hub) if r["action"] == "ack"]
    assert ack["detail"] == f"{alert_id} called\u0085 999 forged\u009b2J"
    text = hub.hubctl("audit", "show").stdout
    assert f"{alert_id} called\\xc2\\x85 999 forged\\xc2\\x9b2J\n" in \
        text, text
    assert len(text.splitlines()) == text.count("\n"), text


def test_a_user_without_a_name_is_recorded_by_uid(tmp_path):
    """OPERATIONS.md, The audit trail: hubctl's commands are recorded as
    hubctl:USER, or hubctl:uid=N for a user id the user database does not
    name (a container's --user), and --actor finds them by it."""
    import pwd
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("needs root to run hubctl as another user")
    uid = 12345
    while True:
        try:
            pwd.getpwuid(uid)
            uid += 1
        except KeyError:
            break
    from pathlib import Path
    top = Path(tempfile.mkdtemp(prefix="ug-uid-"))
    try:
        os.chmod(top, 0o755)
        hubctl = hubtest.binary("hubctl")
        where = ["--keys_dir", str(top / "k"), "--data_dir", str(top / "d")]
        for name in ("hub", "school-u"):
            subprocess.run([hubctl, "keygen", name, *where], check=True,
                           capture_output=True, timeout=60)
        os.chown(top, uid, uid)
        for f in (top / "k").iterdir():
            os.chown(f, uid, uid)
        os.chown(top / "k", uid, uid)

        def as_uid(*args):
            def demote():
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            return subprocess.run([hubctl, *args, *where],
                                  capture_output=True, text=True,
                                  timeout=60, preexec_fn=demote)
        p = as_uid("register-agency", "school-u")
        assert p.returncode == 0, p.stderr
        p = as_uid("audit", "show", "--actor", f"hubctl:uid={uid}",
                   "--json")
        recs = [json.loads(line) for line in p.stdout.splitlines()]
        assert [(r["actor"], r["action"]) for r in recs] == [
            (f"hubctl:uid={uid}", "register-agency")], p.stdout
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_audit_show_with_an_empty_cpr_is_a_usage_error(make_hub):
    """OPERATIONS.md, The audit trail: --cpr "" (an unset variable in a
    script asking who read a person's data) is a usage error, exit 2,
    nothing shown or recorded -- not every person's records."""
    hub = make_hub()
    before = hub.hubctl("audit", "show", "--json").stdout.count("\n")
    for args in (["--cpr", ""], ["--cpr="], ["--json", "--cpr", ""]):
        p = hub.hubctl("audit", "show", *args, check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            2, "", "hubctl: --cpr: cpr is empty\n"), (args, p)
    # A `cpr =` line left empty in a --config file asks as little.
    conf = hub.tmp / "with-empty-cpr.conf"
    conf.write_text(hub.conf.read_text() + "cpr =\n")
    line = len(conf.read_text().splitlines())
    p = hub.hubctl("--config", str(conf), "audit", "show", check=False,
                   config=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        2, "", f"hubctl: {conf}:{line}: --cpr: cpr is empty\n"), p
    after = hub.hubctl("audit", "show", "--json").stdout.count("\n")
    assert after == before + 1, (before, after)  # the first show's own
    # --help says so too: its "(default: empty)" alone read as if an
    # empty --cpr were the default, every person's records.
    text = " ".join(hub.hubctl("--help", config=False).stdout.split())
    assert "audit show: only records about this person (given empty: " \
        "exit 2)" in text, text


def test_audit_show_into_a_pipe_closed_early_is_recorded(make_hub):
    """OPERATIONS.md, The audit trail: showing is itself recorded, also
    when the output cannot be written -- a pipe whose reader has gone
    (audit show | head) included: hubctl is not killed by the pipe, says
    so, exit 1, and the show is recorded failed, output failed."""
    hub = make_hub()
    r, w = os.pipe()
    os.close(r)
    try:
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), "audit", "show"], stdout=w,
                           stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: audit show: cannot write standard output: Broken "
        "pipe\n"), p
    recs = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--json", "--actor", hubctl_actor()).stdout
        .splitlines()]
    shows = [r for r in recs if r["action"] == "audit-show"]
    assert [r["result"] for r in shows] == ["failed"], shows
    assert shows[0]["detail"].endswith("; output failed (Broken pipe)"), \
        shows[0]


def hubctl_actor():
    import pwd
    return "hubctl:" + pwd.getpwuid(os.geteuid()).pw_name


def test_audit_show_ended_by_ctrl_c_is_recorded(make_hub, tmp_path):
    """OPERATIONS.md, The audit trail: Ctrl-C (as in a pager waiting on
    `audit show | less`) ends the listing where it was, says so, exit 1,
    and the show is recorded failed, interrupted -- not lost with the
    process, after it disclosed what it printed."""
    import signal
    hub = make_hub()
    rows = "".join(f"0101101234;cw-anna;{y}-{m:02d}-{d:02d}\n"
                   for y in (2024, 2025) for m in range(1, 13)
                   for d in range(1, 29))
    (tmp_path / "many.csv").write_text("cpr;caseworker;from\n" + rows)
    hub.hubctl("assign", "--file", str(tmp_path / "many.csv"))
    r, w = os.pipe()
    try:
        proc = subprocess.Popen([hubtest.binary("hubctl"), "--config",
                                 str(hub.conf), "audit", "show"], stdout=w,
                                stderr=subprocess.PIPE, text=True)
        os.close(w)
        w = None
        # 672 records are more than a pipe holds: it waits to write.
        hubtest.wait_for(lambda: _pipe_full(r), 30, "the pipe full")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if w is not None:
            os.close(w)
        os.close(r)
    assert proc.returncode == 1, err
    m = re.fullmatch(r"hubctl: audit show: interrupted after record "
                     r"(\d+)\n", err)
    assert m, err
    shows = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--json", "--actor", hubctl_actor()).stdout
        .splitlines()]
    shows = [s for s in shows if s["action"] == "audit-show"]
    assert [s["result"] for s in shows] == ["failed"], shows
    assert shows[0]["detail"].endswith(
        f"; interrupted after record {m.group(1)}"), shows[0]


def _pipe_full(fd):
    import fcntl
    import termios
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little") >= 60000


def test_a_cpr_across_the_show_filters_cut_is_masked(make_hub):
    """SECURITY.md, Audit trail: an `audit show --actor` filter is kept
    in the show's own record with every CPR number masked. The record
    keeps the filter's first bytes only (an id is at most 63, a key 40):
    a CPR typed where that cut falls is masked all the same, its birth
    date not left behind in the clear."""
    hub = make_hub()
    cpr = CprGen(6120).next()
    hub.cprs.add(cpr)
    dashed = f"{cpr[:6]}-{cpr[6:]}"
    hub.hubctl("audit", "show", "--actor", "a" * 57 + " " + dashed)
    hub.hubctl("audit", "show", "--key", "k" * 34 + " " + dashed)
    shows = [r["detail"] for r in show(hub) if r["action"] == "audit-show"]
    assert shows[:2] == [
        "0 records shown actor " + "a" * 57 + " xxxxx",
        "0 records shown key " + "k" * 34 + " xxxxx"], shows
    # Cut at a character's end: no half character kept as '?'.
    hub.hubctl("audit", "show", "--actor", "\u00e9" * 40)
    last = [r for r in show(hub) if " actor \u00e9" in r["detail"]][0]
    assert last["detail"] == "0 records shown actor " + "\u00e9" * 31, last


def test_audit_show_with_an_empty_actor_or_key_is_a_usage_error(make_hub):
    """OPERATIONS.md, The audit trail: --actor "" or --key "" (an unset
    variable in a script asking what one caseworker or one webd did)
    is a usage error, exit 2, nothing shown or recorded -- as --cpr ""
    is -- not everyone's records."""
    hub = make_hub()
    before = hub.hubctl("audit", "show", "--json").stdout.count("\n")
    for name in ("actor", "key"):
        for args in ([f"--{name}", ""], [f"--{name}="],
                     ["--json", f"--{name}", ""]):
            p = hub.hubctl("audit", "show", *args, check=False)
            assert (p.returncode, p.stdout, p.stderr) == (
                2, "", f"hubctl: audit show: --{name} is empty\n"), (args, p)
    after = hub.hubctl("audit", "show", "--json").stdout.count("\n")
    assert after == before + 1, (before, after)  # the first show's own


def test_a_signing_key_file_that_is_no_key_is_named(make_hub):
    """OPERATIONS.md, Keys: hubd that cannot load its signing pair says
    `HUB-AUDIT no audit signing key (keys_dir: WHY)` and serves with its
    checkpoints unsigned; `audit verify` without a readable
    hub.sign_public is `NOT VERIFIED: cannot read the signing public
    key: WHY`. WHY names the file that is wrong, once: an empty
    hub.sign_secret, one with a bad line, an empty hub.sign_public."""
    hub = make_hub(start=False)
    secret = hub.keys_dir / "hub.sign_secret"
    text = secret.read_text()
    lines = text.splitlines(keepends=True)
    n = next(i for i, x in enumerate(lines, 1) if x.startswith("sign_secret"))
    for content, why in (
            ("", f"{secret}: not a signing key file (needs sign_public and "
                 "the matching sign_secret)"),
            ("".join(lines[:n - 1]) + "sign_secret = 12\n",
             f"{secret}:{n}: bad value for 'sign_secret'")):
        secret.write_text(content)
        hub.start()
        hub.wait_log(r"HUB-AUDIT no audit signing key", count=hub.runs)
        hub.stop()
        assert f"hubd err HUB-AUDIT no audit signing key (keys_dir: {why}); " \
            "the trail is chained but its checkpoints are not signed\n" in \
            hub.current_log(), hub.current_log()
    secret.write_text(text)
    public = hub.keys_dir / "hub.sign_public"
    public.write_text("")
    p = verify(hub)
    assert p.returncode == 1 and p.stdout == (
        "audit trail NOT VERIFIED: cannot read the signing public key: "
        f"{public}: not a signing public key file (needs sign_public)\n"), \
        p.stdout
