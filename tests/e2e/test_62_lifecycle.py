"""62 lifecycle: retention, access and erasure (SECURITY.md "Retention",
"Right of access", "Erasure"; OPERATIONS.md). A real hubd on the
injectable clock purges what its retention settings make due, audits it
and frees the pages; `hubctl export` writes a person's events, alerts
and the audit records about them; `hubctl erase` (while hubd runs)
leaves none of the person's records in the store's files, in an
mdb_dump of them, or in a compacted copy, and a restart brings nothing
back. The fixture's teardown sweeps every file for the test CPRs."""

import datetime
import json
import re
import shutil
import subprocess

import pytest

import hubtest

from hubtest import DUPLICATE, CprGen, RULE_AGENCIES, binary, ev_absence, \
    ev_dropout, wait_for

CASEWORKERS = {"cw-anna": False, "desk-dora": True}


def free_pages(env_dir):
    out = subprocess.run(["mdb_stat", "-ef", str(env_dir)],
                         capture_output=True, text=True, check=True).stdout
    m = re.search(r"Free pages: (\d+)", out)
    assert m, out
    return int(m.group(1))


def audit(hub, *args):
    p = hub.hubctl("audit", "show", "--json", *args)
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def dump(env_dir, db):
    """mdb_dump -p of one database: {key hex: value hex}."""
    out = subprocess.run(["mdb_dump", "-s", db, str(env_dir)],
                         capture_output=True, text=True, check=True).stdout
    lines = out.split("HEADER=END\n", 1)[1].splitlines()
    pairs = [l.strip() for l in lines if l.startswith(" ")]
    return dict(zip(pairs[0::2], pairs[1::2]))


def seqs_of(hub, event_ids):
    p = hub.hubctl("log", "--json")
    recs = [json.loads(l) for l in p.stdout.splitlines()]
    return [r["seq"] for r in recs if r["event_id"] in event_ids]


def followed_hub(make_hub, cpr, clock, settings=None, start=None):
    """A hub running every rule with its clock at `clock` and `settings`,
    the privacy checks looking for `cpr`, assigned to cw-anna from
    `start` when given."""
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock=clock, settings=settings or {})
    hub.cprs.add(cpr)
    if start:
        hub.assign(cpr, "cw-anna", start=start)
    return hub


def test_retention_purges_due_records_audits_and_frees_pages(make_hub):
    gen = CprGen(6201)
    young = gen.born("2010-03-01")
    turning = gen.born("1996-06-01")     # 30 on 2026-06-01
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05",
                   settings={"retention_age": "30",
                             "retention_absence": "30",
                             "purge_batch": "2"})
    hub.send(ev_absence(young, "2025-12-01", 2),
             ev_absence(young, "2025-12-08", 3),
             ev_dropout(young, "2025-12-20"),
             ev_absence(turning, "2025-12-01", 1),
             ev_dropout(turning, "2025-12-20"))
    hub.assign(turning, "cw-anna", start="2025-12-01")
    st = hub.wait_applied()
    assert st["log_events"] == 6 and st["assignments"] == 1, st
    free_before = free_pages(hub.data_dir / "log")

    # 36 days on: the three absence reports are past their 30 days.
    hub.set_clock("2026-02-10")
    st = hub.wait_stats("absence reports purged",
                        lambda s: s["log_events"] == 3)
    assert st["person_index_entries"] == 3, st
    purges = [r for r in audit(hub) if r["action"] == "purge"]
    assert {r["actor"] for r in purges} == {"hub"}
    per_person = [r for r in purges if r["person"]]
    assert sorted(r["detail"] for r in per_person) == \
        ["1 record deleted (retention)", "2 records deleted (retention)"]
    assert all(young not in r["detail"] for r in purges)
    assert hub.stats()["assignments"] == 1    # B still has their dropout

    # B's 30th birthday: the age limit takes the rest of B, assignment
    # included; A's dropout stays.
    hub.set_clock("2026-06-02")
    st = hub.wait_stats("the age limit applied",
                        lambda s: s["log_events"] == 1 and
                        s["assignments"] == 0)
    assert st["person_index_entries"] == 1, st
    hub.stop()
    assert free_pages(hub.data_dir / "log") > free_before
    # The purge took effect durably and does not come back.
    hub.start()
    assert hub.stats()["log_events"] == 1


def test_retention_age_of_a_leap_day_birth_is_1_march(make_hub):
    # Born 1996-02-29: 30 on 2026-03-01, a year without 29 February.
    leap = CprGen(6203).born("1996-02-29")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-02-27", settings={"retention_age": "30"})
    hub.send(ev_absence(leap, "2026-02-16", 1))
    hub.wait_applied()
    hub.set_clock("2026-02-28T23:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    assert hub.stats()["log_events"] == 1
    hub.set_clock("2026-03-01T00:00:00")
    hub.wait_stats("the age limit applied",
                   lambda s: s["log_events"] == 0)


def test_export_then_erase_leaves_no_trace(make_hub):
    gen = CprGen(6202)
    cpr, other = gen.next(), gen.next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05")
    hub.cprs.update({cpr, other})
    hub.assign(cpr, "cw-anna", start="2025-11-01")
    hub.assign(other, "cw-anna", start="2025-11-01")
    mine = [ev_absence(cpr, "2025-12-01", 20, expected=30),
            ev_absence(cpr, "2025-12-08", 25, expected=30),
            ev_dropout(cpr, "2025-12-20")]
    hub.send(*mine, ev_absence(other, "2025-12-01", 1))
    hub.wait_applied()
    hub.peek("cw-anna", 2)                 # delivered: audited
    # hubd writes its queued audit records once a tick.
    wait_for(lambda: any(r["action"] == "deliver" for r in audit(hub)), 10,
             "the deliveries audited")

    out = hub.client_dir / "export.json"   # holds the CPR: not swept
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    doc = json.loads(out.read_text())
    types = sorted(e["type"] for e in doc["events"])
    assert types == ["AbsenceReport", "AbsenceReport", "ContactAssignment",
                     "Dropout"], types
    assert all(e["envelope"]["cpr"] == cpr for e in doc["events"])
    assert doc["alerts"] and all(a["recipient"] == "cw-anna"
                                 for a in doc["alerts"])
    assert any(a["alert"] for a in doc["alerts"])
    actions = {r["action"] for r in doc["audit"]}
    assert {"assign", "deliver"} <= actions, actions
    person = doc["person"]
    exports = [r for r in audit(hub) if r["action"] == "export"]
    assert len(exports) == 1 and exports[0]["person"] == person

    # What the files hold of the person before: their log records.
    log_env = hub.data_dir / "log"
    ids = {e.event_id.hex() for e in mine}
    seqs = seqs_of(hub, ids)
    assert len(seqs) == 3
    before = dump(log_env, "log")
    sealed = [before[f"{s:016x}"] for s in seqs]
    before_stats = hub.stats()

    # Usage errors: no reason, a reason holding the CPR.
    assert hub.hubctl("erase", "--cpr", cpr, check=False).returncode == 2
    # (run directly: the harness's hubctl log would keep this CPR)
    for form in (f"{cpr[:6]}-{cpr[6:]}", f"{cpr[:6]} {cpr[6:]}", cpr):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "erase", "--cpr", cpr, "--reason",
                            f"asked by {form}"],
                           capture_output=True, text=True)
        assert p.returncode == 2 and "must not contain" in p.stderr, \
            (form, p.stderr)
    # Erased while hubd runs.
    p = hub.hubctl("erase", "--cpr", cpr, "--reason",
                   "GDPR art. 17 request 2026-014")
    assert "erased: 4 records" in p.stdout, p.stdout
    # Every count OPERATIONS.md names, in its order, on one line.
    assert re.fullmatch(
        r"erased: 4 records, \d+ ids entries, \d+ index entries, \d+ "
        r"alerts, \d+ queue entries, \d+ person-alert entries, \d+ timers, "
        r"\d+ rule states, \d+ assignments\n", p.stdout), p.stdout
    st = hub.stats()
    assert st["log_events"] == before_stats["log_events"] - 4, st
    assert st["assignments"] == before_stats["assignments"] - 1, st
    assert st["alerts"] == 0 and st["alerts_open"] == 0, st
    hub.peek("cw-anna", 0)
    erases = [r for r in audit(hub) if r["action"] == "erase"]
    assert len(erases) == 1 and erases[0]["person"] == person
    # The printed line's numbers, in the documented form.
    n = dict((k, v) for v, k in re.findall(r"(\d+) ([a-z -]+?)(?:,|\n)",
                                           p.stdout))
    assert erases[0]["detail"] == (
        f"4 records, {n['alerts']} alerts, {n['rule states']} rule states, "
        f"{n['assignments']} assignments deleted; reason: GDPR art. 17 "
        "request 2026-014"), (erases[0], n)
    assert cpr not in json.dumps(erases)

    # hubd keeps nothing that brings the person back, nor does a restart.
    hub.stop()
    hub.start()
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    again = json.loads(out.read_text())
    assert again["events"] == [] and again["alerts"] == [], again
    # The audit records that name them stay, their erasure among them.
    assert "erase" in [r["action"] for r in again["audit"]], again
    doc_other = hub.client_dir / "other.json"
    hub.hubctl("export", "--cpr", other, "--out", str(doc_other))
    assert len(json.loads(doc_other.read_text())["events"]) == 2
    hub.stop()

    after = dump(log_env, "log")
    assert not any(f"{s:016x}" in after for s in seqs)
    needles = [cpr.encode(), f"{cpr[:6]}-{cpr[6:]}".encode(),
               person.encode(), bytes.fromhex(person)]
    files = [p for p in hub.data_dir.rglob("*") if p.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for n in needles:
            assert n not in data, f"{path} holds {n!r}"
    dumps = "".join(subprocess.run(["mdb_dump", "-a", str(env)],
                                   capture_output=True, text=True,
                                   check=True).stdout
                    for env in (log_env, hub.data_dir / "ids",
                                hub.data_dir / "derived"))
    for n in (person, bytes.fromhex(person).hex()):
        assert n not in dumps
    for value in sealed:
        assert value not in dumps
    # A compacted copy (OPERATIONS.md) holds none of the old pages.
    copy = hub.tmp / "compact"
    copy.mkdir()
    subprocess.run(["mdb_copy", "-c", str(log_env), str(copy)], check=True)
    raw = (copy / "data.mdb").read_bytes()
    for value in sealed:
        assert bytes.fromhex(value[:64]) not in raw


def test_event_after_two_tail_erasures_is_applied(make_hub):
    """Erasing the person whose event is the newest, then the person whose
    event is newest after that, keeps the highest sequence handed out:
    the next event gets a new one and is applied (not skipped as if
    applied already), also across a restart."""
    gen = CprGen(6203)
    a, b, c = (gen.born(d) for d in ("2004-05-05", "2003-01-20",
                                     "2005-07-07"))
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    [sa] = hub.send(ev_dropout(a, "2026-09-07"))
    [sb] = hub.send(ev_dropout(b, "2026-09-07"))
    assert sb == sa + 1
    hub.wait_stats("both applied", lambda s: s["last_applied"] == sb)
    for cpr in (b, a):
        p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 62-3")
        assert "erased: 1 records" in p.stdout, p.stdout
    st = hub.stats()
    assert (st["log_events"], st["last_seq"], st["last_applied"]) == \
        (0, sb, sb), st

    [sc] = hub.send(ev_dropout(c, "2026-09-07"))
    assert sc == sb + 1
    st = hub.wait_stats("the new event applied",
                        lambda s: s["last_applied"] == sc)
    assert st["last_seq"] == sc and st["alerts"] == 1, st
    [al] = hub.peek("desk-dora", 1)
    assert (al["rule"], al["cpr"]) == ("dropout", c)
    hub.stop()
    hub.start()
    st = hub.stats()
    assert (st["last_seq"], st["last_applied"]) == (sc, sc), st
    assert "HUB-REBUILD" not in hub.log_text()


def test_derived_state_rebuilt_after_a_tail_erasure_is_level_with_the_log(
        make_hub):
    """OPERATIONS.md: `last_applied` equals `last_seq` when hubd is idle,
    and derived/ deleted is rebuilt from the whole log. The newest record
    erased, the rebuild has nothing left to apply at `last_seq`: it must
    still count itself level with the log, not one behind for ever."""
    gen = CprGen(6217)
    a, b = (gen.born(d) for d in ("2004-05-05", "2003-01-20"))
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    hub.send(ev_dropout(a, "2026-09-07"))
    [sb] = hub.send(ev_dropout(b, "2026-09-07"))
    hub.wait_stats("both applied", lambda s: s["last_applied"] == sb)
    hub.hubctl("erase", "--cpr", b, "--reason", "request 62-17")
    hub.stop()
    for f in (hub.data_dir / "derived").iterdir():
        f.unlink()
    hub.start()
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.%d" % sb)
    st = hub.wait_stats("the rebuild level with the log",
                        lambda s: s["last_applied"] == s["last_seq"],
                        timeout=5)
    assert (st["last_seq"], st["log_events"], st["alerts"]) == \
        (sb, 1, 1), st


def test_an_erased_event_resent_is_stored_as_new(make_hub):
    """PROTOCOL.md §3 step 3: an id is ACCEPTED at most once while the hub
    holds its event. An erasure takes the id with it (the id is about
    the person), so the same frame sent again afterwards is ACCEPTED with
    a new sequence, and DUPLICATE from then on."""
    cpr = CprGen(6209).born("2004-05-05")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    ev = ev_dropout(cpr, "2026-09-07")
    [first] = hub.send(ev)
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 62-9")
    assert "erased: 1 records, 1 ids entries" in p.stdout, p.stdout
    again, dup = hub.acks(ev, ev)
    assert (again.status, again.sequence) == (1, first + 1), again
    assert (dup.status, dup.sequence) == (2, first + 1), dup


def test_a_purge_runs_its_turns_one_after_another(make_hub):
    """OPERATIONS.md, Retention: a run deletes at most purge_batch
    records per loop turn "so ingest goes on between turns" — between
    them, not instead of them: an idle hub must not wait its 200 ms poll
    between two turns of a purge (at purge_batch 2, 800 due records were
    80 s of purging; at the default 128, 640 records a second). Ingest
    is still answered while it runs."""
    from hubtest import AbsenceRow, envelope
    import time

    hub = make_hub(clock="2026-11-02T10:00:00",
                   settings={"retention_absence": "1", "purge_batch": "2"})
    rows = [AbsenceRow(c) for c in CprGen(6209).take(800)]
    path, _ = hub.csv("term.csv", rows)
    assert hub.adapter("import", path).rc == 0
    hub.wait_applied()
    hub.set_clock("2026-11-04T10:00:00")
    started = time.monotonic()
    # Ingest is answered during the run.
    cpr = CprGen(6210).next()
    hub.send(envelope("school-a", cpr, salt="during-purge"))
    hub.wait_log(r"HUB-PURGE retention purge done: 800 records", timeout=60)
    took = time.monotonic() - started
    assert took < 20, f"800 records purged in {took:.1f} s"
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == (1, 1), st


def test_an_erasure_keeps_its_whole_reason(make_hub):
    """OPERATIONS.md, Erasure: the reason (1-200 bytes) is kept in the
    erase audit record with the counts: all of it, also at 200 bytes and
    with counts in front of it."""
    cpr = CprGen(6204).next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    reason = ("Case 2026-0417: the person's request under GDPR art. 17 "
              "(right to erasure), granted by the municipality's DPO; "
              "no legal obligation to keep the data remains. ")
    reason = (reason * 2)[:200]
    assert len(reason.encode()) == 200
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", reason)
    assert "erased: 1 records" in p.stdout, p.stdout
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "erase"]
    assert rec["detail"].startswith("1 records, 1 alerts"), rec
    assert rec["detail"].endswith("reason: " + reason), rec["detail"]
    # One byte more is a usage error, and nothing is recorded.
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", reason + "x",
                   check=False)
    assert p.returncode == 2 and "1-200 bytes" in p.stderr, p.stderr
    assert len([r for r in audit(hub) if r["action"] == "erase"]) == 1


def test_an_erasure_reason_of_white_space_alone_is_refused(make_hub):
    """OPERATIONS.md, Erasure: the reason is the lawful ground, the
    controller's evidence in the audit trail; one of blanks, tabs or line
    breaks alone states none, so it is a usage error as an empty one is:
    exit 2, nothing erased, nothing recorded."""
    cpr = CprGen(6224).next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    # A non-breaking space (what a word processor puts in a blank field)
    # and Unicode's own line breaks are blanks too.
    # So is every other space Unicode calls white space: an em space,
    # the ideographic space of an East Asian keyboard, a thin space.
    for reason in (" ", "   ", "\t", " \n ", "\r\n", "\u00a0",
                   " \u00a0\u202f", "\u2028", "\u0085", "\u2003",
                   "\u3000", "\u2000\u2009\u200a", "\u205f", "\u1680"):
        p = hub.hubctl("erase", "--cpr", cpr, "--reason", reason,
                       check=False)
        assert (p.returncode, p.stdout) == (2, ""), (reason, p)
        assert "not white space alone" in p.stderr, p.stderr
    assert hub.stats()["log_events"] == 1
    assert not [r for r in audit(hub) if r["action"] == "erase"]
    # Text with blanks around it is a reason.
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", " art. 17 ")
    assert "erased: 1 records" in p.stdout, p.stdout


def test_an_erasure_reason_holding_the_cpr_is_refused(make_hub):
    """OPERATIONS.md, Erasure: the reason must not contain the CPR, in
    any written form (exit 2, nothing erased): the CPR is never stored.
    Its ten digits with anything between them are that CPR - the forms
    the hub reads, a word processor's dash, digits typed in pairs."""
    cpr = CprGen(6206).next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    d = cpr
    for written in (d, f"{d[:6]}-{d[6:]}", f"{d[:6]} {d[6:]}",
                    f"{d[:6]}\u2013{d[6:]}", f"{d[:6]}\u2010{d[6:]}",
                    " ".join(d[i:i + 2] for i in range(0, 10, 2)),
                    f"{d[:6]}/{d[6:]}"):
        p = hub.hubctl("erase", "--cpr", cpr, "--reason",
                       f"request of {written} (case 17)", check=False)
        assert (p.returncode, p.stderr) == (
            2, "hubctl: --reason must not contain the CPR number\n"), \
            (written, p.stderr)
    assert not [r for r in audit(hub) if r["action"] == "erase"]
    assert hub.stats()["log_events"] == 1
    # Other numbers are no CPR: case numbers, dates, a part of the CPR.
    # A reason typed in a Latin-1 terminal ("afgørelse", ø one byte) is
    # no UTF-8: kept, it would make the person's export and `audit show
    # --json` invalid UTF-8. Refused as a usage error, nothing erased.
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "erase", "--cpr", cpr, "--reason",
                        "afg\udcf8relse 17"], capture_output=True)
    assert (p.returncode, p.stderr) == (
        2, b"hubctl: --reason must be UTF-8 text\n"), p.stderr
    assert not [r for r in audit(hub) if r["action"] == "erase"]
    p = hub.hubctl("erase", "--cpr", cpr, "--reason",
                   f"case 2026-0417 of {d[:6]}, decided 2026-09-07")
    assert "erased: 1 records" in p.stdout, p.stdout


def test_a_failed_export_is_audited(make_hub):
    """OPERATIONS.md, Access: the export is audited, `ok` or `failed`;
    one whose --out cannot be created (exit 1) is recorded as a failed
    export of that person, and the file's name (which may hold what the
    operator typed) is not kept."""
    cpr = CprGen(6205).next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    missing = hub.client_dir / "no-such-dir" / "export.json"
    p = hub.hubctl("export", "--cpr", cpr, "--out", str(missing),
                   check=False)
    assert p.returncode == 1 and "cannot write" in p.stderr, p.stderr
    assert not missing.exists()
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert rec["result"] == "failed", rec
    assert rec["actor"].startswith("hubctl:"), rec
    assert "no-such-dir" not in rec["detail"], rec


def hub_with_a_broken_audit_record(make_hub, seed):
    """A stopped hub with one assigned person whose first audit record
    does not open; the mend puts the trail back as it was."""
    from test_61_audit import edit_audit, flip_audit_byte
    cpr = CprGen(seed).next()
    hub = make_hub()
    hub.assign(cpr, "cw-anna")
    hub.stop()
    kept = []
    edit_audit(hub, lambda pairs: kept.extend(pairs) or pairs)
    flip_audit_byte(hub, 1)
    return hub, cpr, lambda: edit_audit(
        hub, lambda pairs: kept + pairs[len(kept):])


def test_an_export_needs_an_audit_trail_that_reads(make_hub):
    """OPERATIONS.md, Access: an audit record that does not open could
    be one about the person, so the export fails (exit 1, nothing
    written, recorded `failed`) and says where the trail stopped."""
    hub, cpr, mend = hub_with_a_broken_audit_record(make_hub, 6211)
    out = hub.client_dir / "export.json"
    p = hub.hubctl("export", "--cpr", cpr, "--out", str(out), check=False)
    assert (p.returncode, p.stderr) == (
        1, "hubctl: export failed; reading the audit trail stopped after "
        "record 1: malformed input (run hubctl audit verify)\n")
    assert not out.exists()
    mend()
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert (rec["result"], rec["detail"]) == (
        "failed", "1 events (0 actions), 0 alerts, 0 audit records to a "
        "file; reading the audit trail stopped after record 1"), rec


def test_an_export_is_written_whole_or_not_at_all(make_hub):
    """OPERATIONS.md, Access: FILE is written whole or not at all. A
    symbolic link at FILE is replaced, not written through; an export
    that runs out of space (a 4 KiB tmpfs) exits 1, leaves no part of the
    person's data in the directory and an existing FILE as it was."""
    cpr = CprGen(6207).next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    mondays = ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22",
               "2026-08-10", "2026-08-17", "2026-08-24", "2026-08-31"]
    hub.send(*[ev_absence(cpr, m, 1) for m in mondays])
    hub.wait_applied()

    elsewhere = hub.client_dir / "elsewhere.json"
    link = hub.client_dir / "export.json"
    link.symlink_to(elsewhere)
    hub.hubctl("export", "--cpr", cpr, "--out", str(link))
    assert not elsewhere.exists(), "the export went through the link"
    assert not link.is_symlink() and link.stat().st_mode & 0o777 == 0o600
    assert len(json.loads(link.read_text())["events"]) == len(mondays)

    small = hub.client_dir / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4k", "tmpfs",
                    str(small)], check=True)
    try:
        out = small / "export.json"
        out.write_text("before\n")
        p = hub.hubctl("export", "--cpr", cpr, "--out", str(out),
                       check=False)
        assert p.returncode == 1 and "export failed" in p.stderr, p.stderr
        assert [f.name for f in small.iterdir()] == ["export.json"]
        assert out.read_text() == "before\n"
    finally:
        subprocess.run(["umount", "-l", str(small)])
    [*_, rec] = [r for r in audit(hub, "--cpr", cpr)
                 if r["action"] == "export"]
    assert rec["result"] == "failed", rec


def test_assignments_go_with_the_persons_last_other_record(make_hub):
    """SECURITY.md, Retention: assignments have no period of their own;
    "they route alerts for as long as the person has anything else here;
    a person none of whose records is left loses their assignments too".
    Assignments made with hubctl first (as an operator does before the
    agencies' events arrive) neither end the purge's walk nor outlive
    the person's last other record; one for a person the hub holds
    nothing else about waits for their first event."""
    gen = CprGen(6206)
    a, b, c = gen.next(), gen.next(), gen.next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "30",
                             "retention_dropout": "60"})
    for cpr in (a, b, c):
        hub.assign(cpr, "cw-anna", start="2025-11-01")
    hub.send(ev_absence(a, "2025-12-01", 2), ev_dropout(a, "2026-01-02"),
             ev_absence(c, "2025-12-01", 3))
    st = hub.wait_applied()
    assert (st["log_events"], st["assignments"]) == (6, 3), st

    # 36 days on: both absence reports are due. C has nothing else, so
    # C's assignment goes with it; A keeps theirs beside the dropout.
    hub.set_clock("2026-02-10")
    st = hub.wait_stats("the absence reports purged",
                        lambda s: s["log_events"] == 3)
    assert (st["assignments"], st["person_index_entries"]) == (2, 3), st
    purged = {r["person"]: r["detail"] for r in audit(hub)
              if r["action"] == "purge" and r["person"]}
    [c_key] = [r["person"] for r in audit(hub, "--cpr", c)
               if r["action"] == "assign"]
    assert purged[c_key] == "2 records deleted (retention)", purged
    assert len(purged) == 2, purged
    out = hub.client_dir / "c.json"
    hub.hubctl("export", "--cpr", c, "--out", str(out))
    doc = json.loads(out.read_text())
    assert doc["events"] == [] and doc["alerts"] == [], doc

    # A's dropout is past its 60 days: A's assignment goes with it. B's,
    # the only thing held about B, stays.
    hub.set_clock("2026-03-10")
    st = hub.wait_stats("the dropout purged",
                        lambda s: s["log_events"] == 1)
    assert (st["assignments"], st["person_index_entries"]) == (1, 1), st
    hub.hubctl("export", "--cpr", b, "--out", str(out))
    [ev] = json.loads(out.read_text())["events"]
    assert ev["type"] == "ContactAssignment", ev
    # Durably: a restart (and its replay) brings nothing back.
    hub.stop()
    hub.start()
    st = hub.stats()
    assert (st["log_events"], st["assignments"]) == (1, 1), st


def test_export_of_an_escalated_alert_and_nothing_of_others(make_hub):
    """OPERATIONS.md, Access: each exported alert has `escalations`, the
    escalation notices it raised; the notice itself (exported too: it
    names the person) raised none. The `escalate` audit record is in the
    export; another person's export holds nothing of this one."""
    gen = CprGen(6207)
    a, b = gen.next(), gen.next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05T08:00:00")
    hub.cprs.update({a, b})
    hub.send(ev_dropout(a, "2026-01-05"), ev_dropout(b, "2026-01-05"))
    hub.assign(a, "cw-anna", start="2025-11-01")
    hub.wait_applied()
    hub.advance("2026-01-20T08:00:00")      # past the ack deadline
    wait_for(lambda: any(r["action"] == "escalate" for r in audit(hub)),
             10, "the escalation audited")
    out = hub.client_dir / "a.json"
    hub.hubctl("export", "--cpr", a, "--out", str(out))
    doc = json.loads(out.read_text())
    alerts = {x["alert"]["rule"]: x for x in doc["alerts"]}
    assert sorted(alerts) == ["dropout", "escalation"], alerts
    dropout, notice = alerts["dropout"], alerts["escalation"]
    assert (dropout["recipient"], dropout["escalations"]) == ("cw-anna", 1)
    assert (notice["recipient"], notice["escalations"]) == ("duty-desk", 0)
    assert dropout["id"] in notice["alert"]["explanation"]
    [esc] = [r for r in doc["audit"] if r["action"] == "escalate"]
    assert (esc["actor"], esc["detail"]) == ("hub", notice["id"]), esc

    other = hub.client_dir / "b.json"
    hub.hubctl("export", "--cpr", b, "--out", str(other))
    text = other.read_text()
    for needle in (a, f"{a[:6]}-{a[6:]}", doc["person"], dropout["id"],
                   notice["id"]):
        assert needle not in text, needle
    doc_b = json.loads(text)
    assert [x["alert"]["rule"] for x in doc_b["alerts"]] == ["dropout"]
    assert all(e["envelope"]["cpr"] == b for e in doc_b["events"])


def test_a_purge_of_records_about_no_one_is_audited_without_a_person(
        make_hub):
    """OPERATIONS.md, Retention: each turn that deletes writes one purge
    record per person, one of the same form without a person key for
    records about no one (an anonymous referral), and one with the
    turn's totals."""
    from hubtest import event
    cpr = CprGen(6208).next()
    hub = followed_hub(make_hub, cpr, "2026-01-05T10:00:00",
                       settings={"retention_addiction": "30"})
    hub.send(event("addiction-a", None, "addiction_referral",
                   sensitivity="ANONYMOUS", service="rmc-a",
                   date="2026-01-05", stage="REFERRED"),
             event("addiction-a", cpr, "addiction_referral",
                   service="rmc-a", date="2026-01-05", stage="REFERRED"))
    hub.wait_applied()
    hub.set_clock("2026-02-10")
    hub.wait_stats("both purged", lambda s: s["log_events"] == 0)
    purges = [r for r in audit(hub) if r["action"] == "purge"]
    details = sorted((bool(r["person"]), r["detail"]) for r in purges)
    assert details == [
        (False, "1 record deleted (retention)"),
        (False, "batch: 2 records, 0 alerts, 0 timers, 1 persons cleared"),
        (True, "1 record deleted (retention)")], details


def test_export_names_who_was_shown_the_persons_alerts_in_a_list(make_hub):
    """SECURITY.md, Right of access: the export holds every audit record
    that names the person, "who received, read, acknowledged or acted on
    what about them". An open-alerts list (`inbox --list`, and every page
    of the web inbox) hands over whole alerts, CPR included: each alert
    it returned is recorded (`listed`, the alert's person, its id),
    besides the query's own `list` record, which names no one."""
    gen = CprGen(6209)
    a, b = gen.next(), gen.next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05T08:00:00")
    hub.cprs.update({a, b})
    hub.assign(a, "cw-anna", start="2025-11-01")
    hub.send(ev_dropout(a, "2026-01-05"), ev_dropout(b, "2026-01-05"))
    hub.wait_stats("two alerts", lambda s: s["alerts"] == 2)
    conf = hub.tmp / "inbox-list.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--list",
                        "--json"], capture_output=True, text=True,
                       timeout=60)
    (hub.client_dir / "list.out").write_text(p.stdout)    # holds the CPR
    assert p.returncode == 0, p.stderr
    [shown] = [json.loads(l) for l in p.stdout.splitlines()
               if l.startswith("{")]
    assert shown["cpr"] == a
    wait_for(lambda: any(r["action"] == "listed" for r in audit(hub)), 10,
             "the list's alerts audited")
    lists = [r for r in audit(hub) if r["action"] in ("list", "listed")]
    assert [(r["action"], r["actor"], r["result"], r["detail"])
            for r in lists] == [
        ("list", "cw-anna", "ok", ""),
        ("listed", "cw-anna", "ok", shown["alert_id"])], lists
    assert lists[0]["person"] == "" and lists[1]["person"], lists
    out = hub.client_dir / "a.json"
    hub.hubctl("export", "--cpr", a, "--out", str(out))
    doc = json.loads(out.read_text())
    assert lists[1]["person"] == doc["person"]
    assert [(r["actor"], r["detail"]) for r in doc["audit"]
            if r["action"] == "listed"] == [("cw-anna", shown["alert_id"])]
    hub.hubctl("export", "--cpr", b, "--out", str(out))
    assert not [r for r in json.loads(out.read_text())["audit"]
                if r["action"] == "listed"]


def test_a_cpr_typed_into_an_action_is_not_kept(make_hub):
    """A recorded action is the person's record: their access export
    holds it, their erasure deletes it. A CPR number a caseworker types
    into its note or `how` (a sibling's) is masked before it is stored
    (OPERATIONS.md, Caseworkers), so the person's export holds no other
    person's CPR and nothing of the sibling outlives the sibling's
    erasure."""
    from hubtest import NO_ESCALATION
    gen = CprGen(6210)
    a, sibling = gen.next(), gen.next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05T10:00:00", rules=NO_ESCALATION)
    hub.cprs.update({a, sibling})
    hub.assign(a, "cw-anna", start="2025-11-01")
    hub.send(ev_dropout(a, "2026-01-05"))
    [al] = hub.peek("cw-anna", 1)
    dashed = f"{sibling[:6]}-{sibling[6:]}"
    rc, out, err = hub.record("cw-anna", "contact", al["alert_id"],
                              f"phone, via {sibling}",
                              note=f"sister {dashed} too")
    assert rc == 0, err
    hub.wait_applied()
    path = hub.client_dir / "a.json"
    hub.hubctl("export", "--cpr", a, "--out", str(path))
    text = path.read_text()
    for form in (sibling, dashed, f"{sibling[:6]} {sibling[6:]}"):
        assert form not in text, form
    [act] = [e["envelope"]["caseworker_action"]
             for e in json.loads(text)["events"] if e["action"]]
    assert (act["how"], act["note"]) == \
        ("phone, via xxxxxxxxxx", "sister xxxxxx-xxxx too"), act


def test_an_erasure_on_a_full_store_is_recorded_or_not_done(make_hub):
    """SECURITY.md "What a crash can lose": an erasure commits with its
    `erase` record. On a log/ map too full for the record (log_map_mb =
    1, filled by ingest) `hubctl erase` deletes nothing and says so
    (exit 1, "erase failed"); it never prints "erased" while its record
    is missing from the trail. With room, the same command erases and
    records it."""
    from test_53_delivery import until_refused
    cpr = CprGen(6291).next()
    hub = make_hub(settings={"log_map_mb": "1"})
    hub.cprs.add(cpr)
    hub.send(ev_absence(cpr, "2025-12-01", 1))
    hub.wait_applied()
    until_refused(hub, "erase-full")
    until_refused(hub, "erase-full-1", step=1)
    hub.stop()
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 7",
                   check=False)
    assert (p.returncode, p.stdout) == (1, ""), (p.stdout, p.stderr)
    assert "hubctl: erase failed: " in p.stderr, p.stderr
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    out = hub.client_dir / "export.json"   # holds the CPR: not swept
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    assert len(json.loads(out.read_text())["events"]) == 1
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 7")
    assert p.stdout.startswith("erased: 1 records"), p.stdout
    erased = [r for r in audit(hub) if r["action"] == "erase"]
    # The refusal's own `failed` record is written when there is room.
    assert [r["result"] for r in erased] in (["ok"], ["failed", "ok"]), \
        erased


def test_an_acknowledgements_note_outlives_an_erasure(make_hub):
    """SECURITY.md, Erasure: the audit trail is not erased, and what was
    typed into it stays with the person's pseudonym: an
    acknowledgement's note is shown by `audit show --cpr` after the
    erasure as before, beside the `erase` record."""
    from test_61_audit import alert_for_anna, inbox_once
    cpr = CprGen(6213).next()
    hub = make_hub()
    hub.cprs.add(cpr)
    alert_id = alert_for_anna(hub, cpr)
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note",
                   "called the family")
    assert p.returncode == 0, p.stderr
    hub.hubctl("erase", "--cpr", cpr, "--reason", "art. 17 request")
    assert hub.stats()["log_events"] == 0
    recs = [(r["action"], r["detail"]) for r in audit(hub, "--cpr", cpr)]
    assert ("ack", f"{alert_id} called the family") in recs, recs
    assert recs[-1][0] == "erase", recs


def test_an_export_onto_a_directory_says_why_and_records_it(make_hub):
    """OPERATIONS.md, Access: an export that cannot put FILE in place (a
    directory there) exits 1 saying why, writes nothing, and is recorded
    `failed` with `nothing written` and why, never the file's name."""
    cpr = CprGen(6214).next()
    hub = make_hub()
    hub.assign(cpr, "cw-anna")
    target = hub.client_dir / "export-dir"
    target.mkdir()
    p = hub.hubctl("export", "--cpr", cpr, "--out", str(target),
                   check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == f"hubctl: export failed: cannot write {target}: " \
        "Is a directory (nothing written)\n", p.stderr
    assert sorted(f.name for f in hub.client_dir.iterdir()) == \
        ["export-dir"] and not any(target.iterdir())
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert (rec["result"], rec["detail"]) == (
        "failed", "1 events (0 actions), 0 alerts, 1 audit records to a "
        "file; nothing written (Is a directory)"), rec


def test_an_assignment_past_retention_assignment_routes_nothing(make_hub):
    """OPERATIONS.md, Retention: `retention_assignment = DAYS` deletes an
    assignment record DAYS days after the hub received it, also for a
    person the hub still holds other records about; with the record
    goes what it routed: the person's next alert goes to the desk, not
    to the caseworker it named, and `hubctl stats` counts no
    assignment."""
    gen = CprGen(6215)
    a = gen.next()
    hub = followed_hub(make_hub, a, "2026-01-05T10:00:00",
                       settings={"retention_assignment": "30"}, start="2025-11-01")
    hub.send(ev_dropout(a, "2026-01-02"))
    hub.wait_applied()
    [first] = hub.peek("cw-anna", 1)
    assert first["rule"] == "dropout"
    hub.set_clock("2026-02-10")
    st = hub.wait_stats("the assignment purged",
                        lambda s: s["log_events"] == 1)
    assert st["assignments"] == 0, st
    purged = [r["detail"] for r in audit(hub, "--cpr", a)
              if r["action"] == "purge"]
    assert purged == ["1 record deleted (retention)"], purged
    hub.send(ev_dropout(a, "2026-02-10", institution="college-y"))
    wait_for(lambda: hub.stats()["alerts"] >= 2, 10, "the second alert")
    rc, anna, err = hub.inbox("cw-anna", no_ack=True, idle_exit=2)
    assert rc == 0 and "college-y" not in json.dumps(anna), anna
    rc, desk, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    [second] = [x for x in desk if "college-y" in json.dumps(x)]
    assert (second["rule"], second["recipient"]) == ("dropout",
                                                     "duty-desk"), second


def purged_then_anna_is_sent_the_next(hub, a, what, left):
    """On 2026-02-10 `what` is purged, `left` log records stay, one
    assignment stands, and the person's next dropout goes to cw-anna."""
    hub.set_clock("2026-02-10T10:00:00")
    st = hub.wait_stats(what + " purged",
                        lambda s: s["log_events"] == left)
    assert st["assignments"] == 1, st
    hub.send(ev_dropout(a, "2026-02-09", institution="college-y"))
    wait_for(lambda: hub.stats()["alerts"] >= 2, 10, "the second alert")
    rc, anna, err = hub.inbox("cw-anna", no_ack=True, idle_exit=2)
    assert rc == 0 and "college-y" in json.dumps(anna), (anna, err)


def test_a_purged_assignment_record_leaves_the_one_a_later_record_made(
        make_hub):
    """OPERATIONS.md and RULES.md, Retention: with an assignment's record
    goes the assignment it made, and only that: the person's alerts go
    to whoever another assignment still names. A correction (the same
    start date) replaces an assignment; two records naming the same
    caseworker from the same day make one assignment. The first record's
    purge must not take the assignment the later records still make:
    cw-anna, by the correction back from cw-bob, stays the contact
    person until those records go too."""
    from hubtest import ev_assignment
    a = CprGen(6217).next()
    hub = make_hub(agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "cw-bob": False,
                                "desk-dora": True},
                   clock="2026-01-05T10:00:00",
                   settings={"retention_assignment": "30"})
    hub.cprs.add(a)
    hub.send(ev_assignment(a, "cw-anna", "2025-11-01"))
    hub.wait_applied()
    hub.set_clock("2026-01-20T10:00:00")
    hub.send(ev_assignment(a, "cw-bob", "2025-11-01"))
    hub.send(ev_assignment(a, "cw-anna", "2025-11-01"))
    hub.send(ev_dropout(a, "2026-01-19"))
    [first] = hub.peek("cw-anna", 1)
    assert first["rule"] == "dropout", first
    # The first record is past its 30 days, the later two are not.
    purged_then_anna_is_sent_the_next(hub, a, "the first assignment record",
                                      3)
    # The same after a restart, when derived/ is as the log makes it.
    hub.restart()
    assert hub.stats()["assignments"] == 1
    # The later records' turn: nothing names a contact person any more.
    hub.set_clock("2026-02-25T10:00:00")
    st = hub.wait_stats("the later assignment records purged",
                        lambda s: s["log_events"] == 2)
    assert st["assignments"] == 0, st


def test_a_purged_correction_gives_back_the_assignment_it_corrected(
        make_hub):
    """OPERATIONS.md, Retention: hubctl writes assignments on its own
    reading of the clock, so a correction can be due before the record
    it corrected (here hubctl's clock was behind hubd's; with the age
    limit on the whole log is walked). With the correction goes what it
    made: the person is cw-anna's again, as the kept record says, not
    no one's (the desk's) and not cw-bob's."""
    a = CprGen(6218).born("2004-05-01")
    hub = make_hub(agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "cw-bob": False,
                                "desk-dora": True},
                   clock="2026-01-20T10:00:00",
                   settings={"retention_assignment": "30",
                             "retention_age": "120"})
    hub.assign(a, "cw-anna", start="2025-11-01")
    behind = hub.client_dir / "behind.clock"
    behind.write_text("2026-01-05T10:00:00\n")
    hub.hubctl("assign", "--cpr", a, "--caseworker", "cw-bob",
               "--from", "2025-11-01", "--clock_file", str(behind))
    hub.send(ev_dropout(a, "2026-01-19"))
    [first] = hub.peek("cw-bob", 1)
    assert first["rule"] == "dropout", first
    purged_then_anna_is_sent_the_next(hub, a, "the correction", 2)


def test_a_desk_membership_past_retention_desk_routes_nothing(make_hub):
    """OPERATIONS.md, Retention: `retention_desk = DAYS` deletes a desk
    membership record DAYS days after the hub received it, and with it
    the membership: the caseworker is no longer sent the desk's alerts,
    before a restart as after one, as when the derived state is rebuilt
    from the log."""
    from hubtest import ev_desk
    cpr = CprGen(6216).next()
    hub = make_hub(agencies=RULE_AGENCIES,
                   caseworkers={"cw-anna": False, "cw-bob": False},
                   clock="2026-01-05T10:00:00",
                   settings={"retention_desk": "30"})
    hub.cprs.add(cpr)
    hub.send(ev_desk("cw-bob", "2026-01-01"), ev_dropout(cpr, "2026-01-05"))
    [alert] = hub.peek("cw-bob", 1)
    assert alert["recipient"] == "duty-desk", alert
    hub.set_clock("2026-02-10")
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    assert [r["detail"] for r in audit(hub) if r["action"] == "purge"
            and not r["person"] and "batch" not in r["detail"]] == \
        ["1 record deleted (retention)"]
    hub.peek("cw-bob", 0)
    hub.restart()
    hub.peek("cw-bob", 0)


def test_an_export_into_a_missing_directory_says_it_as_documented(make_hub):
    """OPERATIONS.md, Access: an export whose FILE cannot be created (its
    directory missing) fails as every export that writes nothing does:
    `hubctl: export failed: cannot write FILE: WHY (nothing written)`,
    exit 1, recorded `failed` with why and never the file's name."""
    cpr = CprGen(6216).next()
    hub = make_hub()
    hub.assign(cpr, "cw-anna")
    target = hub.client_dir / "no-such-dir" / "export.json"
    p = hub.hubctl("export", "--cpr", cpr, "--out", str(target),
                   check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == f"hubctl: export failed: cannot write {target}: " \
        "No such file or directory (nothing written)\n", p.stderr
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert (rec["result"], rec["detail"]) == (
        "failed", "nothing written: cannot create the file (No such file "
        "or directory)"), rec


def test_an_export_onto_a_device_or_a_pipe_replaces_neither(make_hub):
    """OPERATIONS.md, Access: FILE is written whole by renaming a new file
    onto it, which would put the person's data in place of whatever is
    at FILE: a named pipe, or a device (`--out /dev/null`, run as root,
    would leave /dev/null a file of their data). A FILE that is neither a
    regular file, a symbolic link nor a directory is refused as one that
    cannot be created: exit 1, nothing written, recorded `failed`, and
    the pipe or device left as it was."""
    import os
    import stat
    cpr = CprGen(6226).next()
    hub = make_hub()
    hub.assign(cpr, "cw-anna")
    targets = [hub.client_dir / "pipe"]
    os.mkfifo(targets[0])
    if os.geteuid() == 0:
        targets.append(hub.client_dir / "null")
        os.mknod(targets[1], 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    for target in targets:
        kind = stat.S_IFMT(os.lstat(target).st_mode)
        p = hub.hubctl("export", "--cpr", cpr, "--out", str(target),
                       check=False)
        assert (p.returncode, p.stdout) == (1, ""), p.stderr
        assert p.stderr == f"hubctl: export failed: cannot write " \
            f"{target}: it is not a regular file (nothing written)\n", \
            p.stderr
        assert stat.S_IFMT(os.lstat(target).st_mode) == kind, target
    assert sorted(os.listdir(hub.client_dir)) == \
        sorted(t.name for t in targets)
    recs = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert [(r["result"], r["detail"]) for r in recs] == [
        ("failed", "nothing written: cannot create the file (it is not a "
         "regular file)")] * len(targets), recs


def caught_signals(pid):
    """The signals a process has a handler for, from /proc (SigCgt)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except OSError:
        pass
    return 0


def test_an_export_ended_by_ctrl_c_leaves_nothing_and_is_recorded(make_hub):
    """OPERATIONS.md, Access: Ctrl-C, SIGTERM or SIGHUP during an export
    ends it with nothing written (no FILE, no file beside it), exit 1,
    `hubctl: export interrupted (nothing written)`, recorded `failed`
    with `; interrupted`."""
    import datetime
    import os
    import signal
    import subprocess
    cpr = CprGen(6227).next()
    hub = make_hub()
    hub.assign(cpr, "cw-anna")
    # Enough of the person's events that reading them outlasts the poll.
    monday = datetime.date(2020, 1, 6)
    hub.send(*[ev_absence(cpr, (monday + datetime.timedelta(weeks=w))
                          .isoformat(), 1) for w in range(1500)])
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        out = hub.client_dir / f"export-{sig.name}.json"
        p = subprocess.Popen([binary("hubctl"), "--config", str(hub.conf),
                              "export", "--cpr", cpr, "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        while p.poll() is None and \
                not caught_signals(p.pid) & (1 << (sig - 1)):
            pass
        p.send_signal(sig)
        _, err = p.communicate(timeout=30)
        assert (p.returncode, err) == (1, "hubctl: export interrupted "
                                       "(nothing written)\n"), err
        assert [n for n in os.listdir(hub.client_dir)
                if n.startswith("export-")] == []
    recs = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert [(r["result"], r["detail"].split(" to a file")[1])
            for r in recs] == [("failed", "; interrupted")] * 3, recs


def test_a_purge_that_cannot_commit_is_logged_once_a_minute(make_hub):
    """OPERATIONS.md, Retention: a turn that fails (a log_map_mb too full
    for the records) is not done and retried. Like STORE-FULL, it is
    logged when it starts and then at most once a minute with the count
    since, not at every retry (five lines a second, all day). With
    log_map_mb raised and hubd restarted, the run deletes what is due."""
    from test_53_delivery import until_refused
    import time
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"log_map_mb": "1", "retention_absence": "10"})
    hub.send(*[ev_absence(c, "2025-12-01", 1)
               for c in CprGen(6218).take(20)])
    hub.wait_applied()
    until_refused(hub, "purge-full")
    until_refused(hub, "purge-full-1", step=1)
    hub.set_clock("2026-02-05T10:00:00")
    hub.wait_log(r"HUB-PURGE purge: full; retrying next turn")
    time.sleep(3)
    failed = re.findall(r"HUB-PURGE purge: full; retrying.*", hub.log_text())
    assert len(failed) == 1, failed
    assert hub.stats()["log_events"] > 3000
    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    hub.start()
    hub.wait_stats("the purge done", lambda s: s["log_events"] == 0)


@pytest.mark.parametrize("copying, next_env", [("derived", "ids"),
                                               ("ids", "log")])
def test_an_erasure_while_a_backup_copies_is_not_undone_by_restoring_it(
        make_hub, tmp_path, copying, next_env):
    """OPERATIONS.md, Backup and restore: derived/ and ids/ are copied
    before log/. An erasure committed between them left the copy's
    derived state holding the person (profile, index, timers) whom its
    log no longer held: restored, that state raised alerts about the
    erased person and no purge ever found it; and its event-id index the
    erased events' ids. Such a backup keeps neither (`last_applied` 0);
    the restored hub rebuilds both from the log, and holds nothing of
    the person."""
    import os
    import signal
    import time
    from hubtest import AbsenceRow
    gen = CprGen(6219)
    cpr = gen.born("2004-05-05")
    hub = followed_hub(make_hub, cpr, "2026-01-05T10:00:00",
                       start="2025-11-01")
    hub.send(ev_dropout(cpr, "2026-01-04"))
    # Enough derived state that its copy takes a while.
    path, _ = hub.csv("bulk.csv", [AbsenceRow(c, period_start="2025-12-01",
                                              period_end="2025-12-05")
                                   for c in gen.take(3000)])
    assert hub.adapter("import", path).rc == 0
    hub.wait_applied(timeout=120)
    live_before = hub.stats()

    # Stop hubctl backup once it copies derived/ and before ids/ and log/.
    for attempt in range(30):
        target = tmp_path / f"bk-{attempt}"
        proc = subprocess.Popen([binary("hubctl"), "--config",
                                 str(hub.conf), "backup", str(target)],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        data = target / copying / "data.mdb"
        deadline = time.monotonic() + 30
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if data.stat().st_size > 0:
                    break
            except FileNotFoundError:
                pass
        stopped = proc.poll() is None
        if stopped:
            os.kill(proc.pid, signal.SIGSTOP)
        hit = stopped and not (target / next_env).exists()
        if hit:
            p = hub.hubctl("erase", "--cpr", cpr, "--reason", "62-19")
            assert p.stdout.startswith("erased: 2 records"), p.stdout
        if stopped:
            os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        if hit:
            break
    else:
        pytest.skip("never caught the backup between its copies")

    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["last_applied"] == 0, manifest
    live = hub.stats()
    assert live["person_index_entries"] == \
        live_before["person_index_entries"] - 2, live
    hub.stop()
    hub.data_dir = tmp_path / "restored" / "data"
    hub.conf.write_text(hub.conf.read_text().replace(
        str(hub.tmp / "hub" / "data"), str(hub.data_dir)))
    hub.hubctl("restore", str(target))
    hub.start()
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.")
    st = hub.wait_stats("the rebuild done",
                        lambda s: s["last_applied"] == s["last_seq"],
                        timeout=60)
    assert st["person_index_entries"] == live["person_index_entries"], st
    assert st["event_ids"] == live["event_ids"] == st["log_events"], st
    # A new day on the hub clock: its purge run comes after that loop
    # turn's timers.
    hub.set_clock("2026-03-10T10:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "62-19 again")
    assert p.stdout.startswith(
        "erased: 0 records, 0 ids entries, 0 index entries, 0 alerts"), \
        p.stdout


def test_a_record_about_someone_past_the_age_limit_goes_the_next_day(
        make_hub):
    """OPERATIONS.md, Retention: the age limit is applied by the daily
    run, not at ingest. An event about someone already past
    retention_age is accepted, stored and acted on like any other, and
    deleted by the next day's run (00:00 UTC on the hub clock)."""
    old = CprGen(6220).born("1990-03-03")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05T10:00:00",
                   settings={"retention_age": "30"})
    [ack] = hub.acks(ev_dropout(old, "2026-01-04"))
    assert ack.status == 1, ack
    st = hub.wait_applied()
    assert (st["log_events"], st["alerts"]) == (1, 1), st
    hub.set_clock("2026-01-05T23:59:59")
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    assert hub.stats()["log_events"] == 1
    hub.set_clock("2026-01-06T00:00:00")
    hub.wait_stats("deleted by the next day's run",
                   lambda s: s["log_events"] == 0 and s["alerts"] == 0)


def test_a_period_ends_at_the_run_after_its_days_have_passed(make_hub):
    """OPERATIONS.md, Retention, its own example: a record received at
    10:00 with retention_absence = 30 is deleted by the run at 00:00 UTC
    31 days later, at most a day after its period ends, never before:
    the run 30 days later (and a later loop turn that day) keeps it."""
    cpr = CprGen(6221).next()
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "30"})
    hub.send(ev_absence(cpr, "2025-12-29", 1))
    hub.wait_applied()
    hub.set_clock("2026-02-04T00:00:00")     # 29 days 14 hours after
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    hub.set_clock("2026-02-04T12:00:00")     # 30 days 2 hours: no run
    hub.set_clock("2026-02-04T23:59:59")
    assert hub.stats()["log_events"] == 1
    hub.set_clock("2026-02-05T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done: 1 records", count=1)
    assert hub.stats()["log_events"] == 0


def test_keygen_makes_a_missing_keys_dir_0700_or_says_why_not(tmp_path):
    """OPERATIONS.md, Keys: keygen makes a missing keys_dir (and its
    parents) 0700; one it cannot make is said like its other refusals,
    `hubctl: keygen: cannot create DIR: WHY`, exit 1."""
    import stat
    keys = tmp_path / "new" / "keys"
    p = subprocess.run([binary("hubctl"), "keygen", "--keys_dir", str(keys),
                        "cw-anna"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert stat.S_IMODE(keys.parent.stat().st_mode) == 0o700
    blocker = tmp_path / "file"
    blocker.write_text("")
    p = subprocess.run([binary("hubctl"), "keygen", "--keys_dir",
                        str(blocker / "keys"), "cw-anna"],
                       capture_output=True, text=True)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == f"hubctl: keygen: cannot create {blocker}/keys: " \
        "Not a directory\n", p.stderr


def test_keygen_hub_names_a_lost_hub_key_beside_half_a_signing_pair(
        tmp_path):
    """OPERATIONS.md, Keys: a hub.key lost beside its hub.key_secret is
    named whatever else keygen hub refuses: with half a signing pair
    there too, both are said, and nothing is written (exit 1)."""
    keys = tmp_path / "keys"
    run = lambda: subprocess.run([binary("hubctl"), "keygen", "--keys_dir",
                                  str(keys), "hub"],
                                 capture_output=True, text=True)
    assert run().returncode == 0
    (keys / "hub.key").unlink()
    (keys / "hub.sign_secret").unlink()
    before = sorted(f.name for f in keys.iterdir())
    p = run()
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == (
        f"hubctl: keygen: {keys}/hub.sign_public exists without "
        f"{keys}/hub.sign_secret: half a signing pair (keys are never "
        "overwritten); move it aside, or put its other half back; "
        f"{keys}/hub.key is missing: copy the id and public lines of "
        f"{keys}/hub.key_secret into it\n"), p.stderr
    assert sorted(f.name for f in keys.iterdir()) == before


def test_keygen_names_a_lost_public_key_file_of_any_id(make_hub):
    """OPERATIONS.md, Keys: keygen ID whose ID.key is lost beside its
    ID.key_secret writes nothing, exit 1, and says how to make it again
    (its id and public lines are in the secret file); made so, it
    registers the same key."""
    hub = make_hub()
    keys = hub.keys_dir
    hub.keygen("school-lost")
    public = (keys / "school-lost.key").read_text()
    (keys / "school-lost.key").unlink()
    p = hub.keygen("school-lost", check=False)
    assert (p.returncode, p.stdout) == (1, ""), p.stderr
    assert p.stderr == (
        f"hubctl: keygen: {keys}/school-lost.key_secret exists (keys are "
        f"never overwritten); {keys}/school-lost.key is missing: copy the "
        f"id and public lines of {keys}/school-lost.key_secret into it\n"), \
        p.stderr
    assert not (keys / "school-lost.key").exists()
    lines = (keys / "school-lost.key_secret").read_text().splitlines()
    (keys / "school-lost.key").write_text("".join(
        line + "\n" for line in lines if line.startswith(("id ", "public "))))
    key = re.search(r"public = (\S+)", public).group(1)
    p = hub.hubctl("register-agency", "school-lost")
    assert p.stdout == f"registered agency school-lost (key {key[:8]}...)\n"
    # With the public file there and the secret lost, only that is named.
    (keys / "school-lost.key_secret").unlink()
    p = hub.keygen("school-lost", check=False)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: keygen: {keys}/school-lost.key exists (keys are never "
        "overwritten)\n"), p.stderr


def test_an_export_to_standard_output_that_fails_writes_nothing(make_hub):
    """OPERATIONS.md, Access: an audit record that does not open fails
    the export, nothing written - to standard output too: a document
    that looked whole there (its events and CPR, no audit records) would
    be handed over as the person's export."""
    hub, cpr, mend = hub_with_a_broken_audit_record(make_hub, 6212)
    # Run directly: the harness's hubctl log would keep what it prints.
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "export", "--cpr", cpr], capture_output=True,
                       text=True)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", "hubctl: export failed; reading the audit trail stopped "
        "after record 1: malformed input (run hubctl audit verify)\n")
    mend()
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert (rec["result"], rec["detail"]) == (
        "failed", "1 events (0 actions), 0 alerts, 0 audit records to "
        "standard output; reading the audit trail stopped after record 1"), \
        rec
    # Whole, it is the same document as in a file; `--out -` is standard
    # output too, not a file named "-" left in the working directory.
    for extra in ([], ["--out", "-"]):
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "export", "--cpr", cpr] + extra,
                           capture_output=True, text=True, cwd=hub.tmp)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert [e["type"] for e in doc["events"]] == \
            ["ContactAssignment"], doc
        assert not (hub.tmp / "-").exists()


def test_compacting_as_documented_leaves_nothing_of_an_erased_person(
        make_hub):
    """OPERATIONS.md, Erasure: deleted records leave their old bytes in
    free pages, and the doc's steps take them out of the files at once.
    Each environment keeps its own: the event-id index (ids/) keeps the
    erased events' keys — their occurrence times in the clear — and
    sealed values in free pages as the log does, so the steps cover
    ids/ as well as log/ and derived/, and hubd starts on the result."""
    gen = CprGen(6222)
    cpr, other = gen.next(), gen.next()
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05")
    hub.cprs.update({cpr, other})
    hub.send(ev_absence(cpr, "2025-12-01", 2), ev_dropout(cpr, "2025-12-20"),
             ev_absence(other, "2025-12-01", 1))
    hub.wait_applied()
    hub.stop()                        # ids/ flushed
    envs = ("log", "ids", "derived")
    dbs = {"log": "log", "ids": "ids", "derived": "person"}
    before = {e: dump(hub.data_dir / e, dbs[e]) for e in envs}
    hub.start()
    hub.hubctl("erase", "--cpr", cpr, "--reason", "art. 17 request 9")
    hub.stop()
    gone = {}
    for e in envs:
        after = dump(hub.data_dir / e, dbs[e])
        gone[e] = [(bytes.fromhex(k), bytes.fromhex(v)[:32])
                   for k, v in before[e].items() if k not in after]
        assert gone[e], e
    # Stop hubd (done), compact log/ and ids/ into place, delete derived/.
    for e in ("log", "ids"):
        copy = hub.tmp / f"compact-{e}"
        copy.mkdir()
        subprocess.run(["mdb_copy", "-c", str(hub.data_dir / e), str(copy)],
                       check=True)
        (copy / "data.mdb").chmod(0o600)
        (copy / "data.mdb").replace(hub.data_dir / e / "data.mdb")
    subprocess.run(["rm", "-r", str(hub.data_dir / "derived")], check=True)
    for e in ("log", "ids"):
        raw = (hub.data_dir / e / "data.mdb").read_bytes()
        for key, value in gone[e]:
            # (a log key is a sequence number: bytes found anywhere)
            assert value not in raw, (e, key.hex())
            assert len(key) < 16 or key not in raw, (e, key.hex())
    hub.start()
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == (1, 1), st


def test_the_audit_records_about_a_person_outlive_the_retention_purge(
        make_hub):
    """SECURITY.md, Retention: the audit trail has no period of its own.
    No purge deletes an audit record (the trail is hash-chained), so
    once the purge has cleared a person, what the trail holds about them
    — their pseudonym with each delivery, acknowledgement (its note
    included) and assignment, and the purge itself — is still shown by
    `audit show --cpr` and the person's export."""
    import datetime
    from test_61_audit import alert_for_anna, inbox_once
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    cpr = CprGen(6223).next()
    hub = make_hub(clock=now.strftime("%Y-%m-%dT%H:%M:%S"),
                   settings={"retention_absence": "30"})
    hub.cprs.add(cpr)
    alert_id = alert_for_anna(hub, cpr)
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note",
                   "called the family")
    assert p.returncode == 0, p.stderr
    # hubd writes its queued audit records once a second.
    wait_for(lambda: any(r["action"] == "deliver" for r in audit(hub)), 10,
             "the delivery audited")
    later = (now + datetime.timedelta(days=32)).date().isoformat()
    hub.set_clock(later + "T00:00:00")
    hub.wait_stats("the person cleared", lambda s: s["log_events"] == 0 and
                   s["assignments"] == 0 and s["alerts"] == 0)
    recs = [(r["action"], r["detail"]) for r in audit(hub, "--cpr", cpr)]
    actions = [a for a, _ in recs]
    assert {"assign", "deliver", "ack", "purge"} <= set(actions), recs
    assert ("ack", f"{alert_id} called the family") in recs, recs
    out = hub.client_dir / "purged.json"
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    doc = json.loads(out.read_text())
    assert (doc["events"], doc["alerts"]) == ([], []), doc
    assert {"assign", "deliver", "ack", "purge"} <= \
        {r["action"] for r in doc["audit"]}, doc["audit"]


def test_a_withdrawn_notice_naming_no_one_is_exported_and_erased(make_hub):
    """OPERATIONS.md, Access and Erasure: a `withdrawn` notice names no
    person on the wire (SECURITY.md, Need to know), yet it is an alert of
    theirs: the person's export lists it beside the addiction alert it
    takes back, and their erasure deletes both and takes the notice out
    of the caseworker's inbox."""
    from hubtest import referred_then_withdrawn, rules_hub
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(6225).next()
    referred_then_withdrawn(hub, cpr, "2026-09-07", "2026-09-10")
    [notice] = hub.peek("cw-anna", 1)
    assert (notice["rule"], notice["cpr"]) == ("withdrawn", ""), notice
    out = hub.client_dir / "withdrawn.json"
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    alerts = json.loads(out.read_text())["alerts"]
    assert sorted(a["alert"]["rule"] for a in alerts) == \
        ["addiction", "withdrawn"], alerts
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "art. 17 request 12")
    assert ", 2 alerts, 1 queue entries, 2 person-alert entries," in \
        p.stdout, p.stdout
    assert hub.stats()["alerts"] == 0
    hub.peek("cw-anna", 0)


def test_ids_and_derived_deleted_after_compacting_are_rebuilt(make_hub):
    """OPERATIONS.md, Erasure: after compacting log/, ids/ and derived/
    may be deleted instead of compacted; hubd rebuilds both from the log
    at its start (STORE-IDS, HUB-REPLAY), so a resent event is still
    DUPLICATE and the alerts are still there."""
    cpr = CprGen(6225).next()
    hub = followed_hub(make_hub, cpr, "2026-01-05")
    ev = ev_dropout(cpr, "2025-12-20")
    hub.send(ev_absence(cpr, "2025-12-01", 2), ev)
    hub.wait_applied()
    before = hub.stats()
    hub.stop()
    copy = hub.tmp / "compact-log"
    copy.mkdir()
    subprocess.run(["mdb_copy", "-c", str(hub.data_dir / "log"), str(copy)],
                   check=True)
    (copy / "data.mdb").chmod(0o600)
    (copy / "data.mdb").replace(hub.data_dir / "log" / "data.mdb")
    for e in ("ids", "derived"):
        subprocess.run(["rm", "-r", str(hub.data_dir / e)], check=True)
    hub.start()
    hub.wait_applied()
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == \
        (before["log_events"], before["event_ids"]), (before, st)
    assert "STORE-IDS" in hub.log_text()
    acks = hub.acks(ev)
    assert [a.status for a in acks] == [DUPLICATE], acks


def test_an_export_killed_leaves_no_part_of_the_data_behind(make_hub):
    """OPERATIONS.md, Access: an export is written whole or not at all,
    and leaves no part of the person's data behind. hubctl killed with
    SIGKILL (or the machine losing power) at any moment runs no handler:
    the file it was writing must not be left beside FILE with the
    person's data in it. Run again, it writes the whole export."""
    import datetime
    import os
    import random
    import signal
    import subprocess
    import time
    from hubtest import privacy_sweep
    cpr = CprGen(6228).next()
    hub = make_hub()
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    monday = datetime.date(2020, 1, 6)
    hub.send(*[ev_absence(cpr, (monday + datetime.timedelta(weeks=w))
                          .isoformat(), 1) for w in range(1500)])
    out = hub.client_dir / "export.json"
    rnd = random.Random(6228)
    killed = 0
    for _ in range(8):
        p = subprocess.Popen([binary("hubctl"), "--config", str(hub.conf),
                              "export", "--cpr", cpr, "--out", str(out)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0, 0.3))
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        left = [n for n in os.listdir(hub.client_dir)
                if n.startswith("export.json.")]
        assert left == [], left
        if p.returncode == -signal.SIGKILL:
            killed += 1
        else:
            assert p.returncode == 0
        # Killed before the export was put in place: no file. Ended, or
        # killed after the rename on its way out (an asan build's exit
        # takes its time): the whole export.
        if out.exists():
            assert len(json.loads(out.read_text())["events"]) == 1501
            out.unlink()
        else:
            assert p.returncode == -signal.SIGKILL
    assert killed, "no export was killed before it ended"
    privacy_sweep([hub.client_dir], [cpr])
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    assert len(json.loads(out.read_text())["events"]) == 1501
    out.unlink()


def test_a_purged_persons_open_alert_leaves_the_caseworkers_view(make_hub):
    """OPERATIONS.md, Retention: with a record go the alerts it raised
    (open ones leave their recipient's inbox); a person with nothing
    left loses their assignments, so their contact person no longer
    sees a timeline of them. The run of the 30th birthday (29 February
    born: 1 March) does it, not the day before."""
    from test_61_audit import alert_for_anna, inbox_once
    cpr = CprGen(6224).born("1996-02-29")
    hub = make_hub(clock="2026-02-28T09:00:00",
                   settings={"retention_age": "30"})
    hub.cprs.add(cpr)
    alert_id = alert_for_anna(hub, cpr)
    hub.set_clock("2026-02-28T23:59:59")
    assert hub.stats()["alerts"] == 1
    p = inbox_once(hub, "cw-anna", "--timeline", cpr)
    assert p.returncode == 0, p.stderr
    hub.set_clock("2026-03-01T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done: \d+ records, 1 alerts "
                 r"deleted, 1 persons cleared", count=1)
    st = hub.stats()
    assert (st["log_events"], st["alerts"], st["assignments"]) == \
        (0, 0, 0), st
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=3)
    assert rc == 0 and alerts == [], (alerts, err)
    p = inbox_once(hub, "cw-anna", "--timeline", cpr)
    assert p.returncode == 4 and cpr not in p.stdout, (p.stdout, p.stderr)
    p = inbox_once(hub, "cw-anna", "--ack", alert_id, "--note", "x")
    print("ACK", p.returncode, p.stdout, p.stderr)
    assert cpr not in p.stdout + p.stderr


def test_a_purged_persons_timers_go_and_fire_nothing(make_hub):
    """OPERATIONS.md, Retention: with a record go the timers it started;
    the turn's totals record counts them ("batch: R records, A alerts,
    T timers, P persons cleared"), and no clock of the purged person
    raises an alert afterwards."""
    cpr = CprGen(6225).born("1996-03-02")
    hub = followed_hub(make_hub, cpr, "2026-02-27T09:00:00",
                       settings={"retention_age": "30"})
    hub.send(ev_dropout(cpr, "2026-02-26"))
    st = hub.wait_applied()
    assert st["timers"] >= 1 and st["alerts"] >= 1, st
    timers, alerts = st["timers"], st["alerts"]
    hub.set_clock("2026-03-01T12:00:00")
    assert hub.stats()["log_events"] == 1
    hub.set_clock("2026-03-02T00:00:00")
    hub.wait_stats("the age limit applied",
                   lambda s: s["log_events"] == 0 and s["timers"] == 0
                   and s["alerts"] == 0)
    details = [r["detail"] for r in audit(hub) if r["action"] == "purge"
               and not r["person"]]
    assert any(d.startswith(f"batch: 1 records, {alerts} alerts, "
                            f"{timers} timers, 1 persons cleared")
               for d in details), details
    for day in ("2026-03-20", "2026-04-30", "2026-06-30"):
        hub.set_clock(day + "T12:00:00")
        hub.settle()
        st = hub.stats()
        assert (st["alerts"], st["timers"]) == (0, 0), (day, st)


def test_nothing_keyed_by_a_purged_person_is_left_in_the_store(make_hub):
    """SECURITY.md, Retention: the person with nothing left loses their
    profile, rule states, alert list, timers and assignments; what stays
    of them is the audit trail, sealed. So no live entry of any
    environment holds their person key (hex or raw) once the run of
    their 30th birthday has gone through, and neither does any file
    hold their CPR."""
    cpr = CprGen(6226).born("1996-03-02")
    hub = followed_hub(make_hub, cpr, "2026-02-27T09:00:00",
                       settings={"retention_age": "30"}, start="2026-01-01")
    hub.send(ev_dropout(cpr, "2026-02-26"),
             ev_absence(cpr, "2026-02-16", 5, expected=10))
    hub.wait_applied()
    hub.peek("cw-anna", 1)
    out = hub.client_dir / "before.json"
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    person = json.loads(out.read_text())["person"].lower()
    out.unlink()
    hub.set_clock("2026-03-02T00:00:00")
    hub.wait_stats("the age limit applied",
                   lambda s: s["log_events"] == 0 and s["timers"] == 0
                   and s["alerts"] == 0 and s["assignments"] == 0)
    hub.stop()
    for env in ("log", "derived", "ids"):
        d = hub.data_dir / env
        if not d.exists():
            continue
        txt = subprocess.run(["mdb_dump", "-a", str(d)], capture_output=True,
                             text=True, check=True).stdout.lower()
        assert person not in txt, (env, person)
        assert cpr.encode().hex() not in txt, env


@pytest.mark.parametrize("age,keep,due", [
    ("32", "2028-02-28T23:59:59", "2028-02-29T00:00:00"),
    ("31", "2027-02-28T23:59:59", "2027-03-01T00:00:00")])
def test_a_leap_day_birthday_in_a_leap_year_is_that_day(make_hub, age, keep,
                                                        due):
    """OPERATIONS.md, Retention: one born on 29 February has the
    birthday on 1 March only in the years without that day; in a leap
    year it is 29 February itself."""
    leap = CprGen(6227).born("1996-02-29")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock=keep[:4] + "-02-20", settings={"retention_age": age})
    hub.send(ev_absence(leap, keep[:4] + "-02-14", 1))
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    hub.set_clock(keep)
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    assert hub.stats()["log_events"] == 1
    hub.set_clock(due)
    hub.wait_stats("the age limit applied",
                   lambda s: s["log_events"] == 0)


def test_a_partly_purged_person_keeps_the_rest_and_loses_the_alert(
        make_hub):
    """OPERATIONS.md, Retention: a record past its period goes with the
    alerts it raised (an open one leaves its recipient's inbox) and its
    place in the timeline; the person's other records, alerts and their
    contact person stay."""
    from test_61_audit import inbox_once
    cpr = CprGen(6228).next()
    hub = followed_hub(make_hub, cpr, "2026-01-05T09:00:00",
                       settings={"retention_absence": "30"}, start="2025-11-01")
    hub.send(ev_absence(cpr, "2025-12-08", 25, expected=30))
    hub.wait_applied()
    hub.set_clock("2026-01-20T09:00:00")
    hub.send(ev_dropout(cpr, "2026-01-19"))
    st = hub.wait_applied()
    rc, before, err = hub.inbox("cw-anna", no_ack=True, idle_exit=3)
    assert rc == 0 and len(before) == 2, (before, err)
    hub.set_clock("2026-02-05T00:00:00")
    st = hub.wait_stats("the absence report purged",
                        lambda s: s["log_events"] == 2)
    assert st["assignments"] == 1, st
    rc, after, err = hub.inbox("cw-anna", no_ack=True, idle_exit=3)
    assert rc == 0 and 1 <= len(after) < len(before), (after, err)
    assert all("absence" not in a["rule"] for a in after), after
    rc, desk, err = hub.inbox("desk-dora", no_ack=True, idle_exit=3)
    # Its escalation notice, the desk's, went with it.
    [gone] = [a["alert_id"] for a in before if "absence" in a["rule"]]
    assert rc == 0 and all(gone not in a["explanation"] for a in desk), desk
    p = inbox_once(hub, "cw-anna", "--timeline", cpr, "--json")
    assert p.returncode == 0, p.stderr
    assert "AbsenceReport" not in p.stdout and "absence" not in \
        p.stdout.lower(), p.stdout
    assert "ropout" in p.stdout, p.stdout


def test_the_age_limit_takes_a_recorded_action_too(make_hub):
    """OPERATIONS.md, Retention: retention_age deletes every record
    about a person on their Nth birthday — a caseworker's recorded
    action as well, so the person is cleared whole."""
    from test_61_audit import alert_for_anna
    cpr = CprGen(6229).born("1996-03-02")
    hub = make_hub(clock="2026-02-27T09:00:00",
                   settings={"retention_age": "30"})
    hub.cprs.add(cpr)
    alert_id = alert_for_anna(hub, cpr)
    rc, out, err = hub.record("cw-anna", "contact", alert_id, "phone")
    assert rc == 0, err
    hub.wait_stats("the action stored", lambda s: s["log_events"] == 3)
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    hub.set_clock("2026-03-02T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    st = hub.stats()
    assert (st["log_events"], st["alerts"], st["assignments"],
            st["person_index_entries"], st["timers"]) == (0, 0, 0, 0, 0), st


def test_a_lone_assignment_goes_at_the_age_limit(make_hub):
    """SECURITY.md, Retention: an assignment for a person the hub holds
    nothing else about waits for their first event, kept until then or
    until the age limit."""
    young = CprGen(6230).born("2008-05-05")
    old = CprGen(6231).born("1996-03-02")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-02-27T09:00:00",
                   settings={"retention_age": "30"})
    hub.assign(young, "cw-anna", start="2026-01-01")
    hub.assign(old, "cw-anna", start="2026-01-01")
    hub.wait_stats("both stored", lambda s: s["assignments"] == 2)
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    hub.set_clock("2026-03-01T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    assert hub.stats()["assignments"] == 2
    hub.set_clock("2026-03-02T00:00:00")
    st = hub.wait_stats("the age limit applied",
                        lambda s: s["assignments"] == 1)
    assert st["log_events"] == 1, st


def test_an_alert_in_flight_when_its_person_is_purged(make_hub):
    """OPERATIONS.md, Retention, and PROTOCOL.md §4: an open alert whose
    person the purge clears leaves its recipient's list while her session
    holds it unacknowledged; her AlertAck of it afterwards changes
    nothing and is not answered, her open list no longer names it, and
    nothing of the person comes again on a new Hello."""
    from test_53_delivery import CaseworkerClient, open_ids
    from hubtest import FRAME_ALERT
    cpr = CprGen(6232).born("1996-03-02")
    hub = followed_hub(make_hub, cpr, "2026-02-27T09:00:00",
                       settings={"retention_age": "30"}, start="2026-01-01")
    hub.send(ev_dropout(cpr, "2026-02-26"))
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    a = CaseworkerClient(hub, "cw-anna")
    try:
        [alert] = a.wait_alerts(1)
        hub.set_clock("2026-03-02T00:00:00")
        hub.wait_stats("the person cleared",
                       lambda s: s["log_events"] == 0 and s["alerts"] == 0)
        assert open_ids(a) == []
        before = len(a.frames)
        a.ack(alert.alert_id, note="called")
        assert open_ids(a, 910) == []
        assert [k for k, _, _ in a.frames[before:]] == \
            [k for k, _, _ in a.frames[before:] if k != FRAME_ALERT]
        a.hello()
        assert not [f for f in a.quiet(1) if f[0] == FRAME_ALERT]
    finally:
        a.close()
    assert hub.running
    acks = [r for r in audit(hub) if r["action"] == "ack"]
    # Recorded as one that changed nothing: no note, and no person, as
    # the hub no longer holds the alert (SECURITY.md, the ack row).
    assert [(r["result"], r["person"], r["detail"]) for r in acks] == \
        [("not-open", "", alert.alert_id.hex())], acks


def test_an_erasure_after_the_purge_finds_nothing_and_is_recorded(make_hub):
    """OPERATIONS.md, Erasure: an erasure of a person the hub holds
    nothing about (here: cleared by the age limit) is exit 0 with every
    count 0, recorded as an erasure beside the purge in the trail."""
    cpr = CprGen(6233).born("1996-03-02")
    hub = followed_hub(make_hub, cpr, "2026-02-27T09:00:00",
                       settings={"retention_age": "30"})
    hub.send(ev_dropout(cpr, "2026-02-26"))
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    hub.set_clock("2026-03-02T00:00:00")
    hub.wait_stats("the person cleared", lambda s: s["log_events"] == 0)
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "case 2026-17")
    assert p.stdout.strip() == (
        "erased: 0 records, 0 ids entries, 0 index entries, 0 alerts, "
        "0 queue entries, 0 person-alert entries, 0 timers, 0 rule "
        "states, 0 assignments"), p.stdout
    recs = [(r["action"], r["detail"]) for r in audit(hub, "--cpr", cpr)]
    assert ("erase", "0 records, 0 alerts, 0 rule states, 0 assignments "
            "deleted; reason: case 2026-17") in recs, recs
    assert ("purge", "1 record deleted (retention)") in recs, recs


def test_the_annual_status_counts_only_what_the_purge_left(make_hub):
    """OPERATIONS.md, The annual status: the report counts what the
    store holds when it runs; the records the age limit deleted are not
    in it, so the same period reported on again shows fewer."""
    cpr = CprGen(6234).born("1996-03-02")
    keep = CprGen(6235).born("2008-05-05")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-02-27T09:00:00",
                   settings={"retention_age": "30"})
    hub.cprs.update({cpr, keep})
    hub.send(ev_dropout(cpr, "2026-02-26"), ev_dropout(keep, "2026-02-26"))
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    out = hub.client_dir / "status" / "status.html"
    out.parent.mkdir()

    def report():
        p = hub.hubctl("report", "--year", "2026", "--out", str(out))
        assert p.returncode == 0, p.stderr
        return [r["detail"] for r in audit(hub) if r["action"] == "report"]
    assert report()[-1].startswith(
        "annual status 2026-01-01 to 2026-12-31: 2 events read, 2 alerts")
    hub.set_clock("2026-03-02T00:00:00")
    hub.wait_stats("one person cleared", lambda s: s["log_events"] == 1)
    assert report()[-1].startswith(
        "annual status 2026-01-01 to 2026-12-31: 1 events read, 1 alerts")


def test_a_purged_event_resent_is_accepted_as_new(make_hub):
    """OPERATIONS.md, Retention, and PROTOCOL.md §3 step 3: with a record
    goes its idempotency entry, so the same frame sent after the purge is
    ACCEPTED again with a new sequence (and purged again the next run)."""
    cpr = CprGen(6236).next()
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "30"})
    hub.cprs.add(cpr)
    ev = ev_absence(cpr, "2025-12-29", 1)
    [first] = hub.acks(ev)
    assert first.status == 1, first
    [dup] = hub.acks(ev)
    assert (dup.status, dup.sequence) == (DUPLICATE, first.sequence), dup
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    hub.set_clock("2026-02-05T00:00:00")
    hub.wait_stats("purged", lambda s: s["log_events"] == 0 and
                   s["event_ids"] == 0)
    [again] = hub.acks(ev)
    assert again.status == 1 and again.sequence > first.sequence, again
    assert hub.wait_applied()["log_events"] == 1


def test_the_gauges_drop_what_the_purge_deleted(make_hub):
    """OPERATIONS.md, Monitoring: gauges are read at the scrape, so once
    the age limit cleared a person their open alert leaves
    ungebro_alerts_open and their recipient's ungebro_queue_depth, and
    their timers ungebro_timers."""
    from test_82_metrics import metrics_hub, scrape, value
    cpr = CprGen(6237).born("1996-03-02")
    hub = metrics_hub(make_hub, agencies=RULE_AGENCIES,
                      caseworkers=CASEWORKERS, clock="2026-02-27T09:00:00",
                      settings={"retention_age": "30"})
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna", start="2026-01-01")
    hub.send(ev_dropout(cpr, "2026-02-26"))
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    m, _ = scrape(hub)
    assert value(m, "ungebro_alerts_open") >= 1
    assert value(m, "ungebro_queue_depth", recipient="cw-anna") == 1
    assert value(m, "ungebro_timers") >= 1
    hub.set_clock("2026-03-02T00:00:00")
    hub.wait_stats("the person cleared", lambda s: s["log_events"] == 0)
    m, _ = scrape(hub)
    assert (value(m, "ungebro_alerts_open"),
            value(m, "ungebro_queue_depth", recipient="cw-anna"),
            value(m, "ungebro_timers"),
            value(m, "ungebro_oldest_unacked_alert_age_seconds")) == \
        (0, 0, 0, 0), m


def test_a_withdrawn_notice_goes_with_the_record_that_raised_it(make_hub):
    """OPERATIONS.md, Retention: with a record go the alerts it raised,
    a `withdrawn` notice (which names no one on the wire) included: the
    referral that raised the addiction alert goes first and takes that
    alert; the later one goes at the end of its own period and takes the
    notice out of the caseworker's inbox."""
    from hubtest import referred_then_withdrawn, rules_hub
    hub = rules_hub(make_hub, "2026-09-07T09:00:00",
                    settings={"retention_addiction": "30"})
    cpr = CprGen(6238).next()
    hub.cprs.add(cpr)
    referred_then_withdrawn(hub, cpr, "2026-09-07", "2026-09-10",
                            clock="2026-09-10T09:00:00")
    [notice] = hub.peek("cw-anna", 1)
    assert notice["rule"] == "withdrawn", notice
    hub.set_clock("2026-10-08T00:00:00")
    st = hub.wait_stats("the first referral purged",
                        lambda s: s["log_events"] == 2)
    assert st["alerts"] == 1, st
    [left] = hub.peek("cw-anna", 1)
    assert left["alert_id"] == notice["alert_id"], left
    hub.set_clock("2026-10-11T00:00:00")
    st = hub.wait_stats("the person cleared",
                        lambda s: s["log_events"] == 0)
    assert (st["alerts"], st["assignments"]) == (0, 0), st
    hub.peek("cw-anna", 0)


def test_a_purged_tail_leaves_its_sequences_unused_after_a_restart(make_hub):
    """OPERATIONS.md, Erasure: the sequences of erased or purged records
    are never handed out again, also when the newest records go and hubd
    restarts: last_seq keeps the highest handed out."""
    cpr = CprGen(6239).next()
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "30"})
    hub.cprs.add(cpr)
    [a] = hub.acks(ev_absence(cpr, "2025-12-29", 1))
    [b] = hub.acks(ev_absence(cpr, "2025-12-30", 2))
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    hub.set_clock("2026-02-05T00:00:00")
    hub.wait_stats("purged", lambda s: s["log_events"] == 0)
    hub.restart()
    assert hub.stats()["last_seq"] == b.sequence
    [c] = hub.acks(ev_absence(cpr, "2026-02-02", 3))
    assert c.status == 1 and c.sequence == b.sequence + 1, (b, c)


def alter_record(hub, seq):
    """Alter log record seq's sealed value (hubd stopped) wherever a copy
    of it lies in log/data.mdb, so that it no longer opens."""
    val = bytes.fromhex(dump(hub.data_dir / "log", "log")[f"{seq:016x}"])
    needle = val[len(val) // 2 - 16:len(val) // 2 + 16]
    f = hub.data_dir / "log" / "data.mdb"
    data = bytearray(f.read_bytes())
    at = data.find(needle)
    assert at >= 0
    while at >= 0:
        data[at + 16] ^= 0xFF
        at = data.find(needle, at + 1)
    f.write_bytes(bytes(data))


def purged_up_to_a_damaged_record(make_hub, cprs):
    """Three absence reports, the second damaged, a month later: the
    first run of the purge deleted the first and stopped at the second."""
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"retention_absence": "30"})
    hub.cprs.update(cprs)
    for i, c in enumerate(cprs):
        hub.acks(ev_absence(c, "2025-12-29", i + 1))
    hub.wait_applied()
    hub.stop()
    alter_record(hub, 2)
    hub.set_clock("2026-02-05T00:00:00")
    hub.start()
    hub.wait_log(r"HUB-PURGE retention purge done: 1 records", count=1)
    return hub


@pytest.mark.parametrize("same_person", [False, True])
def test_a_record_that_does_not_open_stops_the_walk_once_a_run(make_hub,
                                                               same_person):
    """OPERATIONS.md, Retention: the walk stops at a record that does not
    open (STORE-SEAL). The run ends there — what was due before it is
    deleted, `retention purge done` is logged — rather than retrying the
    record five times a second and deleting nothing, for ever; also when
    the record is about the person whose record before it is due (it
    keeps them, as a record of theirs that is not due does)."""
    import time
    cprs = CprGen(6240).take(3)
    if same_person:
        cprs[1] = cprs[0]
    hub = purged_up_to_a_damaged_record(make_hub, cprs)
    seals = hub.log_text().count("STORE-SEAL log record 2 does not open")
    time.sleep(2)
    log = hub.log_text()
    assert 1 <= seals <= 2, log
    assert log.count("STORE-SEAL log record 2 does not open") == seals, log
    assert "HUB-PURGE reading the log" not in log, log
    assert "HUB-PURGE purge:" not in log, log
    st = hub.stats()
    assert (st["log_events"], st["person_index_entries"]) == (2, 2), st



def test_a_damaged_record_passed_over_lets_the_purge_go_on(make_hub):
    """OPERATIONS.md, Retention and "Records that do not open": once
    `hubctl pass-damaged` passed the record over, the next run's walk
    goes on past it and deletes what is due after it; the damaged record
    itself is kept (its type and date are sealed in it), still named by
    hubctl log and by the walk's STORE-SEAL line."""
    hub = purged_up_to_a_damaged_record(make_hub, CprGen(6242).take(3))
    assert hub.stats()["log_events"] == 2
    p = hub.hubctl("pass-damaged", "--seq", "2", "--reason",
                   "disk error INC-17, no backup before it")
    assert "passed over log record 2" in p.stdout, p
    hub.set_clock("2026-02-06T00:00:00")
    hub.wait_log(r"HUB-PURGE retention purge done", count=2)
    st = hub.wait_stats("record 3 purged", lambda s: s["log_events"] == 1)
    assert st["person_index_entries"] == 1, st
    assert "STORE-SEAL log record 2 does not open with the storage key; " \
        "passed over" in hub.log_text()
    p = hub.hubctl("log", check=False)
    assert p.returncode == 3 and "STORE-SEAL log record 2 does not open" \
        in p.stderr, p

def unread_hub(make_hub, damage_other=True):
    """cpr with three events, other with two; one of cpr's records and
    (damage_other) one of other's damaged so that they do not open."""
    from test_60_store_at_rest import damage_log_record
    cpr, other = CprGen(6241).take(2)
    hub = make_hub(clock="2026-01-05T10:00:00")
    hub.cprs.update({cpr, other})
    mine = [hub.acks(ev_absence(cpr, "2025-12-29", i + 1))[0].sequence
            for i in range(3)]
    theirs = [hub.acks(ev_absence(other, "2025-12-29", i + 1))[0].sequence
              for i in range(2)]
    hub.wait_applied()
    damage_log_record(hub, mine[1])
    if damage_other:
        damage_log_record(hub, theirs[0])
    return hub, cpr, other, mine, theirs


def export_of(hub, cpr):
    """hubctl export to a file beside the client's (holds the CPR: not
    swept): (the process, the document or None)."""
    out = hub.client_dir / "export.json"
    out.unlink(missing_ok=True)
    p = hub.hubctl("export", "--cpr", cpr, "--out", str(out), check=False)
    return p, json.loads(out.read_text()) if out.exists() else None


def test_a_record_that_does_not_open_leaves_the_rest_exported_and_erased(
        make_hub):
    """OPERATIONS.md, Access and Erasure: a log record that does not open
    blocks neither. The export holds every event that opens and lists
    the others under `unread` (`theirs` when the person's index names
    them), exit 3, audited `partial`; the erasure deletes everything of
    the person it finds, their unopened record by their index too, keeps
    the one whose owner it cannot tell, names it, exit 3, audited
    `partial`; running it again, once that record opens, finishes it."""
    hub, cpr, other, mine, theirs = unread_hub(make_hub)
    p, doc = export_of(hub, cpr)
    assert p.returncode == 3, p
    assert [e["seq"] for e in doc["events"]] == [mine[0], mine[2]], doc
    assert doc["unread"] == [{"seq": theirs[0], "theirs": False},
                             {"seq": mine[1], "theirs": True}] or \
        doc["unread"] == [{"seq": mine[1], "theirs": True},
                          {"seq": theirs[0], "theirs": False}], doc
    assert f"STORE-SEAL log record {mine[1]} does not open" in p.stderr, p
    assert "hubctl: export incomplete: 2 log records do not open" in \
        p.stderr and f"theirs by the person's index: {mine[1]}; whose " \
        f"hubctl cannot tell: {theirs[0]}" in p.stderr, p
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "export"]
    assert rec["result"] == "partial" and "2 log records not read" in \
        rec["detail"], rec

    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "case 9", check=False)
    assert p.returncode == 3, p
    assert p.stdout.startswith("erased: 3 records, 2 ids entries, "
                               "3 index entries"), p
    assert f"hubctl: erase: 1 log records of the person that do not open " \
        f"were deleted unread ({mine[1]};" in p.stderr, p
    assert f"hubctl: erase incomplete: 1 log records that do not open " \
        f"with the storage key were kept ({theirs[0]};" in p.stderr, p
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "erase"]
    assert rec["result"] == "partial" and re.fullmatch(
        rf"3 records, 1 alerts, \d+ rule states, 0 assignments deleted; 1 "
        rf"log records that do not open kept \({theirs[0]}\); reason: "
        rf"case 9", rec["detail"]), rec
    st = hub.stats()
    assert st["log_events"] == 2, st

    # Nothing of the person is left to find; the kept record is still
    # named until it opens.
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "case 9", check=False)
    assert p.returncode == 3 and p.stdout.startswith("erased: 0 records"), p
    # Its line lost on a full disk, an erasure that kept a record stays
    # exit 3, and says the line was lost (OPERATIONS.md, Erasure).
    with open("/dev/full", "w") as full:
        p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                            "erase", "--cpr", cpr, "--reason", "case 9"],
                           stdout=full, stderr=subprocess.PIPE, text=True,
                           timeout=60)
    assert p.returncode == 3 and p.stderr.endswith(
        "hubctl: erase: cannot write standard output: No space left on "
        "device; the person was erased all the same\n"), p
    p, doc = export_of(hub, cpr)
    assert p.returncode == 3 and doc["events"] == [] and \
        doc["unread"] == [{"seq": theirs[0], "theirs": False}], p
    # The other person's export names their own unopened record as theirs.
    p, doc = export_of(hub, other)
    assert p.returncode == 3 and [e["seq"] for e in doc["events"]] == \
        [theirs[1]] and doc["unread"] == [{"seq": theirs[0],
                                           "theirs": True}], p


def test_an_alert_that_does_not_open_is_left_out_of_the_export(make_hub):
    """OPERATIONS.md, Access and "Records that do not open": a forged
    alert (its sealed body changed in the store) is refused as if absent,
    reported STORE-FORGED, and the command goes on as hubd does: the
    person's export holds their events without it, exit 0, audited `ok`;
    another person's alert is exported as before."""
    from test_60_store_at_rest import damage_alert, populated
    hub, [anna, _, bob], a, b = populated(make_hub)
    damage_alert(hub, b["alert_id"])
    p, doc = export_of(hub, bob)
    assert p.returncode == 0, p
    assert "STORE-FORGED alerts: a record does not open" in p.stderr, p
    assert doc["alerts"] == [] and doc["unread"] == [], doc
    assert [e["type"] for e in doc["events"]] == [
        "ContactAssignment", "Dropout"], doc
    [rec] = [r for r in audit(hub, "--cpr", bob) if r["action"] == "export"]
    assert rec["result"] == "ok" and ", 0 alerts," in rec["detail"], rec
    p, doc = export_of(hub, anna)
    assert p.returncode == 0 and [x["id"] for x in doc["alerts"]] == \
        [a["alert_id"]], p


def test_a_persons_own_record_that_does_not_open_is_erased_whole(make_hub):
    """OPERATIONS.md, Erasure: a record that does not open which the
    person's index names as theirs is deleted unread with the rest: the
    erasure is whole, exit 0, audited `ok`."""
    hub, cpr, other, mine, theirs = unread_hub(make_hub, damage_other=False)
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "case 9", check=False)
    assert p.returncode == 0 and p.stdout.startswith(
        "erased: 3 records"), p
    assert "deleted unread" in p.stderr and "incomplete" not in p.stderr, p
    [rec] = [r for r in audit(hub, "--cpr", cpr) if r["action"] == "erase"]
    assert rec["result"] == "ok", rec
    assert hub.stats()["log_events"] == 2
    p, doc = export_of(hub, cpr)
    assert p.returncode == 0 and doc["events"] == [] and doc["unread"] == [], doc


def test_a_purge_on_a_full_derived_map_names_derived_map_mb(make_hub):
    """OPERATIONS.md, Where data lives and Retention: a purge turn that
    a full derived/ map refuses (deleting takes pages too) is not done
    and retried, and STORE-FULL names the map that is full and the one
    setting to raise, derived_map_mb, as it does for the applier: not a
    guess among log/, ids/ and derived/. Raised and restarted, the run
    deletes what is due."""
    import hubtest
    from test_53_delivery import until_refused
    hub = make_hub(clock="2026-01-05T10:00:00",
                   settings={"derived_map_mb": "1", "retention_absence": "10"})
    hub.send(*[ev_absence(c, "2025-12-01", 1)
               for c in CprGen(6221).take(20)])
    hub.wait_applied()
    until_refused(hub, "purge-dfull")
    hub.set_clock("2026-02-05T10:00:00")
    hub.wait_log(r"HUB-PURGE purge: full; retrying next turn")
    # The applier met the full map first: the purge's refusals belong to
    # the same condition of derived/, counted in its next line.
    full = [l for l in hub.log_text().splitlines() if " STORE-FULL " in l]
    assert full, hub.log_text()
    for line in full:
        assert line.endswith(": the derived/ map is full; raise "
                             "derived_map_mb and restart"), line
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "a full `derived/` map takes raising `derived_map_mb` and a " \
        "restart" in doc
    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    hub.start()
    hub.wait_stats("the purge done", lambda s: s["log_events"] == 0,
                   timeout=120)


def test_an_erasure_on_a_full_derived_map_says_which_setting(make_hub):
    """OPERATIONS.md, erasure: deleting takes room in a map too, so a
    person's erasure on a full derived/ map (derived_map_mb = 1, filled
    by ingest about that person) deletes nothing, and the error names
    the map and the setting to raise; running it again does not help
    until derived_map_mb is raised, and then it erases."""
    import hubtest
    from hubtest import IngestClient, REJECTED, envelope, frame
    cpr = CprGen(6293).next()
    hub = make_hub(settings={"derived_map_mb": "1"})
    hub.cprs.add(cpr)
    refused = None
    with IngestClient(hub, "school-a") as ing:
        for i in range(0, 20000, 64):
            envs = [envelope("school-a", cpr, salt=f"dfull-{j}", absent=0,
                             expected=1, period_start="2000-01-03",
                             period_end="2000-01-07")
                    for j in range(i, i + 64)]
            for e in envs:
                assert ing.send(frame(e))
            acks = [ing.recv_ack(20) for _ in envs]
            refused = next((a for a in acks if a.status == REJECTED), None)
            if refused:
                break
    assert refused and refused.code == hubtest.E_FULL, refused
    hub.stop()
    held = hub.stats()["log_events"]
    for _ in range(2):
        p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 8",
                       check=False)
        assert (p.returncode, p.stdout) == (1, ""), (p.stdout, p.stderr)
        assert "hubctl: erase failed: full (nothing or part deleted; run " \
            "it again)" in p.stderr, p.stderr
        assert re.search(r"hubctl err STORE-FULL [a-z ]+: MDB_MAP_FULL: "
                         r".*: the derived/ map is full; raise "
                         r"derived_map_mb and restart\n", p.stderr), p.stderr
    assert hub.stats()["log_events"] == held
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "a full `derived/` map (`derived_map_mb`) refuses an erasure " \
        "too" in doc
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 8")
    assert p.stdout.startswith(f"erased: {held} records"), p.stdout



def dropout_in_bucket_2(hub, cpr, others, seed):
    """8,300 other persons' events, then a dropout of cpr's: its record
    lands in the person index's third bucket of 4,096 sequences, far from
    cpr's earlier ones."""
    hub.set_clock("2026-01-20T09:00:00")
    datas = [hubtest.frame(hubtest.envelope(
        "school-a", others[i % len(others)], salt=f"fill-{seed}-{i}",
        absent=0)) for i in range(8300)]
    hubtest.send_all_accepted(hub, datas, window=512)
    [seq] = hub.send(ev_dropout(cpr, "2026-01-19"))
    assert seq >> 12 == 2, seq

def spread_person(make_hub, seed, settings=None):
    """A hub (clock 2026-01-05) holding person A's contact assignment and
    an absence report in the person index's first bucket of 4,096 log
    sequences, then 8,300 other persons' events (received 2026-01-20),
    then A's dropout in the third bucket: A has no entry in the second
    (SECURITY.md's table: derived/person is keyed by the bucket first)."""
    gen = CprGen(seed)
    a = gen.next()
    others = gen.take(40)
    hub = followed_hub(make_hub, a, "2026-01-05T09:00:00",
                       settings=settings, start="2025-11-01")
    hub.send(ev_absence(a, "2025-12-08", 25, expected=30))
    dropout_in_bucket_2(hub, a, others, seed)
    hub.wait_applied(timeout=60)
    return hub, a


def test_a_person_in_buckets_far_apart_is_read_and_erased_whole(make_hub):
    """SECURITY.md and ARCHITECTURE.md: the person index is kept in
    buckets of 4,096 log sequences, the person's hash differing per
    bucket. A person with records in the first and third bucket (none
    in the second) still has every record in their timeline and export,
    and an erasure leaves no entry of theirs in any bucket."""
    from test_61_audit import inbox_once
    hub, a = spread_person(make_hub, 6240)
    p = inbox_once(hub, "cw-anna", "--timeline", a, "--json")
    assert p.returncode == 0, p.stderr
    assert "AbsenceReport" in p.stdout and "Dropout" in p.stdout, p.stdout
    out = hub.client_dir / "spread.json"
    hub.hubctl("export", "--cpr", a, "--out", str(out))
    doc = json.loads(out.read_text())
    out.unlink()
    assert sorted(e["type"] for e in doc["events"]) == \
        ["AbsenceReport", "ContactAssignment", "Dropout"], doc["events"]
    person = doc["person"].lower()
    before = hub.stats()
    # Key length and bucket of each entry, as SECURITY.md gives them.
    keys = dump(hub.data_dir / "derived", "person")
    assert len(keys) == before["person_index_entries"]
    assert all(len(k) == 2 * (4 + 16 + 8) for k in keys), list(keys)[:3]
    assert {int(k[:8], 16) for k in keys} == {0, 1, 2}
    # "the person's hash differs from bucket to bucket": the 40 others
    # have entries in every bucket, yet no hash is in two of them.
    hashes = {b: {k[8:40] for k in keys if int(k[:8], 16) == b}
              for b in (0, 1, 2)}
    assert all(len(h) > 40 - 1 for h in hashes.values()), hashes
    assert not (hashes[0] & hashes[1] or hashes[1] & hashes[2] or
                hashes[0] & hashes[2])
    assert len({len(v) for v in keys.values()}) == 1
    assert all(person not in k and person not in v
               for k, v in keys.items())

    # Rebuilt from the log (OPERATIONS.md, derived/ deleted by hand): the
    # same entries, in the same buckets, the timeline whole again.
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    assert "HUB-REPLAY applying log entries 1.." in hub.current_log()
    st = hub.wait_applied(timeout=60)
    assert st["person_index_entries"] == before["person_index_entries"], st
    assert dump(hub.data_dir / "derived", "person").keys() == keys.keys()
    p = inbox_once(hub, "cw-anna", "--timeline", a, "--json")
    assert "AbsenceReport" in p.stdout and "Dropout" in p.stdout, p.stdout
    before = hub.stats()

    p = hub.hubctl("erase", "--cpr", a, "--reason", "request 2026-099")
    assert "erased: 3 records" in p.stdout, p.stdout
    n = dict((k, v) for v, k in re.findall(r"(\d+) ([a-z -]+?)(?:,|\n)",
                                           p.stdout))
    assert n["index entries"] == "3", p.stdout
    st = hub.stats()
    assert st["person_index_entries"] == \
        before["person_index_entries"] - 3, st
    assert st["log_events"] == before["log_events"] - 3, st
    assert st["assignments"] == 0, st
    gone = keys.keys() - dump(hub.data_dir / "derived", "person").keys()
    assert sorted(int(k[:8], 16) for k in gone) == [0, 0, 2], gone
    hub.hubctl("export", "--cpr", a, "--out", str(out))
    assert json.loads(out.read_text())["events"] == []
    p = inbox_once(hub, "cw-anna", "--timeline", a, "--json")
    assert "Dropout" not in p.stdout and "Absence" not in p.stdout, p.stdout


def test_retention_judges_a_persons_other_buckets_too(make_hub):
    """OPERATIONS.md, Retention, with the person index in buckets of
    4,096 log sequences: A's absence report (first bucket) goes, and her
    dropout in the third bucket keeps her and her assignment; C's only
    other record, an absence report in the first bucket, takes his
    assignment stored in the third bucket with it, and C keeps no
    index entry, rule state or assignment."""
    from test_61_audit import inbox_once
    gen = CprGen(6241)
    a, c = gen.next(), gen.next()
    others = gen.take(40)
    hub = followed_hub(make_hub, a, "2026-01-05T09:00:00",
                       settings={"retention_absence": "30"},
                       start="2025-11-01")
    hub.cprs.add(c)
    seqs = hub.send(ev_absence(a, "2025-12-08", 25, expected=30),
                    ev_absence(c, "2025-12-08", 25, expected=30))
    assert all(s >> 12 == 0 for s in seqs), seqs
    dropout_in_bucket_2(hub, a, others, 6241)
    hub.assign(c, "cw-anna", start="2026-01-15")
    st = hub.wait_applied(timeout=60)
    assert st["last_seq"] >> 12 == 2 and st["assignments"] == 2, st
    before = hub.stats()

    hub.set_clock("2026-02-05T00:00:00")
    st = hub.wait_stats("both absence reports purged",
                        lambda s: s["log_events"] ==
                        before["log_events"] - 3)
    assert st["assignments"] == 1, st
    assert st["person_index_entries"] == \
        before["person_index_entries"] - 3, st
    p = inbox_once(hub, "cw-anna", "--timeline", a, "--json")
    assert p.returncode == 0 and "ropout" in p.stdout, (p.stdout, p.stderr)
    assert "AbsenceReport" not in p.stdout, p.stdout
    out = hub.client_dir / "c.json"
    hub.hubctl("export", "--cpr", c, "--out", str(out))
    doc = json.loads(out.read_text())
    out.unlink()
    assert doc["events"] == [] and doc["alerts"] == [], doc
    purges = [r for r in audit(hub) if r["action"] == "purge" and
              r["person"] == doc["person"]]
    assert [r["detail"] for r in purges] == \
        ["2 records deleted (retention)"], purges


def test_an_erasure_before_hubd_rebuilt_an_older_derived_format(make_hub):
    """OPERATIONS.md, Erasure: derived/ still in the format of an older
    hubd (upgraded, hubd not started since) cannot be searched for the
    person's entries by this version, so `hubctl erase` throws it away
    whole, saying so on stderr; nothing of it is left (an entry keyed
    the old way included), and hubd rebuilds it from the log at its next
    start (ARCHITECTURE.md, the derived schema)."""
    gen = CprGen(6242)
    a, other = gen.next(), gen.next()
    hub = followed_hub(make_hub, a, "2026-01-05T09:00:00",
                       start="2025-11-01")
    hub.cprs.add(other)
    hub.send(ev_absence(a, "2025-12-08", 25, expected=30),
             ev_absence(other, "2025-12-08", 1, expected=30),
             ev_dropout(other, "2026-01-02"))
    st = hub.wait_applied()
    hub.stop()
    derived = str(hub.data_dir / "derived")
    lines = subprocess.run(["mdb_dump", "-s", "meta", derived],
                           capture_output=True, text=True,
                           check=True).stdout.splitlines()
    at = lines.index(" " + b"schema".hex()) + 1
    ours = int(lines[at], 16)
    lines[at] = " " + (ours - 1).to_bytes(8, "big").hex()
    subprocess.run(["mdb_load", "-s", "meta", derived],
                   input="\n".join(lines) + "\n", text=True, check=True)
    # An entry keyed as the older format keyed the person index (a hash
    # of 16 bytes, then 8): this version cannot tell whose it is.
    old = ("VERSION=3\nformat=bytevalue\ndatabase=person\ntype=btree\n"
           "HEADER=END\n " + "ab" * 24 + "\n " + "cd" * 44 + "\nDATA=END\n")
    subprocess.run(["mdb_load", "-s", "person", derived], input=old,
                   text=True, check=True)

    p = hub.hubctl("erase", "--cpr", a, "--reason", "request 2026-100")
    assert "erased: 2 records" in p.stdout, p.stdout
    assert "hubctl: derived/ was written in another format (hubd not " \
        "started since an upgrade): thrown away whole, with the person's " \
        "index and state in it; hubd rebuilds it from the log at its " \
        "next start\n" in p.stderr, p.stderr
    assert dump(hub.data_dir / "derived", "person") == {}
    assert dump(hub.data_dir / "derived", "rule") == {}
    hub.start()
    last = st["last_seq"]
    assert f"HUB-REPLAY applying log entries 1..{last} to derived state" \
        in hub.current_log()
    st = hub.wait_applied()
    assert st["person_index_entries"] == st["log_events"], st
    keys = dump(hub.data_dir / "derived", "person")
    assert keys and all(len(k) == 2 * 28 for k in keys), keys
    out = hub.client_dir / "other.json"
    hub.hubctl("export", "--cpr", other, "--out", str(out))
    assert len(json.loads(out.read_text())["events"]) == 2
    out.unlink()
    # Derived state of this format is not touched by an erasure.
    p = hub.hubctl("erase", "--cpr", other, "--reason", "request 2026-101")
    assert "another format" not in p.stderr, p.stderr
    assert "erased: 2 records" in p.stdout and \
        ", 2 index entries," in p.stdout, p.stdout
    assert hub.stats()["person_index_entries"] == \
        st["person_index_entries"] - 2


def test_keys_of_another_length_hide_no_entry_of_the_person(make_hub):
    """SECURITY.md, "Records that grant access or route data are
    authenticated": a key added to derived/person by hand is refused as
    if absent. Keys one byte short, put in the second bucket between
    every pair of person hashes, leave the timeline and the erasure of a
    person with entries in the first and third bucket whole."""
    from test_61_audit import inbox_once
    hub, a = spread_person(make_hub, 6243)
    before = hub.stats()
    hub.stop()
    lines = ["VERSION=3", "format=bytevalue", "database=person",
             "type=btree", "HEADER=END"]
    for x in range(65536):
        lines += [" 00000001%04x" % x + "ff" * 21, " " + "00" * 44]
    subprocess.run(["mdb_load", "-s", "person",
                    str(hub.data_dir / "derived")],
                   input="\n".join(lines + ["DATA=END"]) + "\n", text=True,
                   check=True)
    hub.start()
    p = inbox_once(hub, "cw-anna", "--timeline", a, "--json")
    assert p.returncode == 0, p.stderr
    assert "AbsenceReport" in p.stdout and "Dropout" in p.stdout, p.stdout
    # Passed over, and reported like any other record that does not open:
    # one line for the lot (a minute's rate limit), never the key.
    hub.wait_log(r"STORE-FORGED person: a record does not open")
    assert hub.current_log().count("STORE-FORGED person:") == 1
    p = hub.hubctl("erase", "--cpr", a, "--reason", "request 2026-102")
    assert "erased: 3 records" in p.stdout and \
        ", 3 index entries," in p.stdout, p.stdout
    assert p.stderr.count("STORE-FORGED person: a record does not open") \
        == 1, p.stderr
    assert hub.stats()["person_index_entries"] == \
        before["person_index_entries"] - 3 + 65536


def test_a_short_key_in_the_alert_list_hides_no_alert(make_hub):
    """SECURITY.md, "Records that grant access or route data are
    authenticated": a key of another length added by hand to a
    person's alert list (derived/palerts, under their hash) is refused
    as if absent; their timeline still shows their alerts and an
    erasure deletes them."""
    from test_61_audit import inbox_once
    cpr = CprGen(6244).next()
    hub = followed_hub(make_hub, cpr, "2026-01-05T09:00:00",
                       start="2025-11-01")
    hub.send(ev_absence(cpr, "2025-12-08", 25, expected=30),
             ev_dropout(cpr, "2026-01-02"))
    hub.wait_applied()
    hub.peek("cw-anna", 2)
    hub.stop()
    derived = hub.data_dir / "derived"
    keys = dump(derived, "palerts")
    assert len({k[:32] for k in keys}) == 1, keys   # one person's list
    short = next(iter(keys))[:32] + "00"            # sorts first
    subprocess.run(["mdb_load", "-s", "palerts", str(derived)],
                   input="VERSION=3\nformat=bytevalue\ndatabase=palerts\n"
                   "type=btree\nHEADER=END\n " + short + "\n " + "00" * 41
                   + "\nDATA=END\n", text=True, check=True)
    hub.start()
    p = inbox_once(hub, "cw-anna", "--timeline", cpr, "--json")
    assert p.returncode == 0, p.stderr
    assert '"kind": "alert"' in p.stdout, p.stdout
    hub.wait_log(r"STORE-FORGED palerts: a record does not open")
    p = hub.hubctl("erase", "--cpr", cpr, "--reason", "request 2026-103")
    assert ", 0 alerts," not in p.stdout, p.stdout
    assert "STORE-FORGED palerts: a record does not open" in p.stderr, \
        p.stderr
    st = hub.stats()
    assert st["alerts"] == 0 and st["alerts_open"] == 0, st
    assert dump(derived, "palerts") == {}


def test_an_export_the_audit_trail_cannot_take_is_not_handed_over(
        make_hub, tmp_path):
    """OPERATIONS.md, Access / SECURITY.md, Audit trail: every export is
    audited, who read what about the person. With the store's disk full,
    the export was written (to FILE or standard output), then its record
    failed: `export was not recorded in the audit trail`, exit 0, the
    person's data handed over with no trace. It is recorded before it is
    handed over, and one whose record the store cannot take is exit 1
    with nothing written."""
    with hubtest.small_disk(tmp_path / "disk", "8m") as disk:
        hub = make_hub(start=False, register=False,
                       settings={"data_dir": str(disk / "data")})
        hub.data_dir = disk / "data"
        for name, types in hub.agencies.items():
            hub.register_agency(name, types)
        for name, desk in hub.caseworkers.items():
            hub.register_caseworker(name, desk)
        hub.start()
        cprs = CprGen(6240).take(30)
        hub.send(*[hubtest.envelope("school-a", c, salt=f"unrec-{i}",
                                    absent=12) for i, c in enumerate(cprs)])
        hub.wait_applied()
        hub.stop()
        hubtest.fill_disk(disk / "filler")
        out = tmp_path / "out"
        out.mkdir()
        refused = 0
        for i, cpr in enumerate(cprs):
            before = hub.stats()["audit_records"]
            target = out / f"export-{i}.json"
            args = ["--out", str(target)] if i % 2 else []
            p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                                "export", "--cpr", cpr, *args],
                               capture_output=True, text=True, timeout=60)
            recorded = hub.stats()["audit_records"] - before
            if p.returncode == 0:
                assert recorded == 1, p.stderr
                assert "not recorded" not in p.stderr, p.stderr
                assert target.exists() if args else \
                    json.loads(p.stdout)["events"], p.stderr
                continue
            refused += 1
            assert (p.returncode, p.stdout, recorded) == (1, "", 0), \
                p.stderr
            assert p.stderr.endswith(
                "hubctl: export failed: it cannot be recorded in the audit "
                "trail (nothing written)\n"), p.stderr
            assert sorted(f.name for f in out.iterdir()) == sorted(
                f"export-{j}.json" for j in range(i) if j % 2 and
                (out / f"export-{j}.json").exists())
        assert refused, "every export's record fitted on the full disk"


def test_each_type_goes_after_its_default_period(make_hub):
    """OPERATIONS.md, Retention, the defaults table (and hubd --help):
    with no retention setting given, addiction records are kept 730 days,
    absence, readiness, dropout_risk and missed_activation 1095, dropout,
    enrolment, school_leaving and benefit 1825, each deleted by the run
    at 00:00 UTC the day after its days have passed, never before; and no
    age limit (retention_age 0) takes the person earlier."""
    from hubtest import event, ev_dropout_risk, ev_enrolment, ev_leaving, \
        ev_missed_activation, ev_readiness, ev_referral
    cpr = CprGen(6222).born("2010-03-03")
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=CASEWORKERS,
                   clock="2026-01-05T10:00:00")
    hub.cprs.add(cpr)
    hub.send(ev_referral(cpr, "2026-01-02"),
             ev_absence(cpr, "2025-12-29", 1),
             ev_readiness(cpr, "2026-01-02", 9, ready=True),
             ev_dropout_risk(cpr, "2026-01-02"),
             ev_missed_activation(cpr, "2026-01-02"),
             ev_dropout(cpr, "2026-01-02"),
             ev_enrolment(cpr, "2026-01-02"),
             ev_leaving(cpr, "2026-01-02"),
             event("jobcenter-a", cpr, "benefit_status",
                   jobcenter="jc-albertslund", benefit="CASH_BENEFIT",
                   start="2026-01-02"))
    assert hub.wait_applied()["log_events"] == 9
    runs = 1
    # (the day the period ends, received 10:00: the run that day keeps
    # the record; the next day's, events left)
    for last_day, before, left in (("2028-01-05", 9, 8),
                                   ("2029-01-04", 8, 4),
                                   ("2031-01-04", 4, 0)):
        hub.set_clock(f"{last_day}T00:00:00")
        runs += 1
        hub.wait_log(r"HUB-PURGE retention purge done", count=runs)
        hub.set_clock(f"{last_day}T23:59:59")
        assert hub.stats()["log_events"] == before, last_day
        nxt = datetime.date.fromisoformat(last_day) + \
            datetime.timedelta(days=1)
        hub.set_clock(f"{nxt.isoformat()}T00:00:00")
        runs += 1
        hub.wait_log(r"HUB-PURGE retention purge done", count=runs)
        hub.wait_stats(f"the run of {nxt}",
                       lambda s, n=left: s["log_events"] == n)
