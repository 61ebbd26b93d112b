"""138 SECURITY.md, a sixth reading by an auditor: the exact details the
audit table gives a refused action (each why, the person or none, one
beyond the allowance), a timeline asked for a CPR the hub never saw
(refused as a known one is, and yet found under that CPR by `audit show
--cpr` and the person's export), a signed checkpoint after every writing
hubctl command, and a key of one kind refused for every other kind with
the holder recorded. Every hub is privacy-swept at teardown."""

import json
import subprocess

import hubtest
from hubtest import CprGen
from test_61_audit import alert_for_anna, inbox_once, show, verify

DENIED_ACTION = ("inbox: the hub refused: this alert is not addressed to "
                 "you or your desk\n")


def cpr_records(hub, cpr):
    p = hub.hubctl("audit", "show", "--json", "--cpr", cpr)
    return [json.loads(ln) for ln in p.stdout.splitlines()
            if ln.startswith("{")]


def test_refused_actions_and_timelines_name_why_and_whom(make_hub):
    """SECURITY.md "Audit trail": `action refused` `denied` has the alert
    id and why as its detail — `not the caseworker's alert or person`
    naming the alert's person, `no such alert` naming no one — and one
    beyond the caseworker's allowance for actions is `rate-limited`, not
    read: the alert id alone, no person. "Need to know": a timeline asked
    for a CPR the hub never saw gets the same answer as one for a person
    who is not the caller's, and its `timeline` `denied` record names the
    person asked about, so `audit show --cpr` and that CPR's export find
    it (the export's audit holds it, and nothing else about them)."""
    hub = make_hub(settings={"query_rate": "1", "query_burst": "2"})
    cpr, never = CprGen(13801).take(2)
    hub.cprs.update({cpr, never})
    alert_id = alert_for_anna(hub, cpr)
    unknown = "00" * 9
    assert hub.record("desk-dora", "contact", alert_id, "phone") == \
        (4, "", DENIED_ACTION)
    assert hub.record("cw-anna", "contact", unknown, "phone") == \
        (4, "", DENIED_ACTION)
    # Two actions at once are desk-dora's burst; a third within the
    # second is beyond it (whatever the refill, one of four is).
    tries = [hub.record("desk-dora", "contact", alert_id, "phone")[0]
             for _ in range(4)]
    assert 4 in tries and 1 in tries, tries
    asked = {who: inbox_once(hub, "desk-dora", "--timeline", who)
             for who in (never, cpr)}
    for p in asked.values():
        assert (p.returncode, p.stdout, p.stderr) == (
            4, "", "inbox: the hub refused: this person is not assigned to "
            "you or your desk\n"), p
    hub.stop()   # its refusals written (once a second, and at stop)
    out = hub.tmp / "never.json"
    hub.hubctl("export", "--cpr", never, "--out", str(out))
    recs = show(hub)
    person = {r["detail"]: r["person"] for r in recs
              if r["action"] == "deliver"}[alert_id]
    refused = [(r["actor"], r["result"], r["detail"], r["person"])
               for r in recs if r["action"] == "action refused"]
    assert refused[:2] == [
        ("desk-dora", "denied",
         f"{alert_id} not the caseworker's alert or person", person),
        ("cw-anna", "denied", f"{unknown} no such alert", "")], refused
    limited = [r for r in refused[2:] if r[1] == "rate-limited"]
    assert limited and all(r == ("desk-dora", "rate-limited", alert_id, "")
                           for r in limited), refused
    assert all(r == ("desk-dora", "denied",
                     f"{alert_id} not the caseworker's alert or person",
                     person) for r in refused[2:] if r not in limited), \
        refused
    timelines = [(r["actor"], r["result"], r["person"]) for r in recs
                 if r["action"] == "timeline"]
    [theirs] = [r for r in cpr_records(hub, never) if r["action"] ==
                "timeline"]
    assert timelines == [("desk-dora", "denied", theirs["person"]),
                         ("desk-dora", "denied", person)], timelines
    assert theirs["person"] != person and theirs["actor"] == "desk-dora"
    exported = json.loads(out.read_text())
    assert [(a["actor"], a["action"], a["result"])
            for a in exported["audit"]] == [
        ("desk-dora", "timeline", "denied")], exported["audit"]
    assert exported["audit"][0]["seq"] == theirs["seq"]
    assert exported["events"] == [] and exported["alerts"] == [], exported


def test_every_writing_hubctl_command_signs_a_checkpoint_over_its_record(
        make_hub):
    """SECURITY.md "Checkpoints": hubctl signs a checkpoint after every
    command that writes a record, so `audit verify` finds the last
    checkpoint at the head after each of them — register-*, assign,
    set-password, set-email, keygen, export, audit show, backup, report,
    revoke-*, pass-damaged (not-found) and erase (hubd stopped, so that
    hubctl alone writes) — and its `last checkpoint:` line names it."""
    hub = make_hub()
    cpr = CprGen(13803).next()
    hub.cprs.add(cpr)
    alert_for_anna(hub, cpr)
    hub.stop()
    out = hub.tmp / "out"
    out.mkdir()
    commands = [
        ("keygen", "cw-new"),
        ("register-caseworker", "cw-new"),
        ("assign", "--cpr", cpr, "--caseworker", "cw-new", "--role",
         "guidance", "--from", "2024-01-01"),
        ("set-password", "cw-new"),
        ("set-email", "cw-new", "ny@kommune.example.dk"),
        ("export", "--cpr", cpr, "--out", str(out / "person.json")),
        ("audit", "show"),
        ("backup", str(out / "backup")),
        ("report", "--year", "2024", "--out", str(out / "status.html")),
        ("set-email", "cw-new", "-"),
        ("revoke-caseworker", "cw-new"),
        ("pass-damaged", "--seq", "99999", "--reason", "none such"),
        ("revoke-agency", "no-such-agency"),
        ("erase", "--cpr", cpr, "--reason", "art. 17 request"),
    ]
    records = len(show(hub)) + 1     # and that show's own record
    for command in commands:
        p = subprocess.run([hubtest.binary("hubctl"), "--config",
                            str(hub.conf), *command],
                           input="et godt kodeord\n", capture_output=True,
                           text=True, timeout=60 * hubtest.SLOW)
        assert p.returncode in (0, 1), (command, p.stderr)
        records += 1
        v = verify(hub)
        lines = v.stdout.splitlines()
        assert (v.returncode, lines[0]) == (
            0, f"audit trail intact: {records} records, {records} signed "
            f"checkpoints (last at record {records}), head at record "
            f"{records}"), (command, v.stdout)
        assert lines[1].startswith(f"last checkpoint: record {records}, "
                                   "head "), (command, v.stdout)


def test_a_key_of_one_kind_is_refused_for_every_other_kind(make_hub):
    """SECURITY.md "A key identifies one id": every `register-*` refuses
    a key registered to another id of any kind, exit 1, naming the
    holder (`hubctl: register: the key is already registered to KIND
    ID ...`), and the hub's own key alike (`the key is the hub's own`);
    each refusal is recorded `refused` with the holder in the detail,
    and nothing is changed: the holder's key still connects as it."""
    hub = make_hub()
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    tries = [("register-caseworker", "cw-x", "web-1", "gateway web-1"),
             ("register-agency", "agency-x", "web-1", "gateway web-1"),
             ("register-gateway", "web-2", "cw-anna", "caseworker cw-anna"),
             ("register-agency", "agency-y", "desk-dora",
              "caseworker desk-dora"),
             ("register-gateway", "web-3", "school-a", "agency school-a"),
             ("register-caseworker", "cw-y", "school-a", "agency school-a"),
             ("register-agency", "agency-z", "hub", None),
             ("register-caseworker", "cw-z", "hub", None),
             ("register-gateway", "web-4", "hub", None)]
    for command, new, key, holder in tries:
        path = hub.keys_dir / f"{key}.key"
        p = hub.hubctl(command, new, "--key", str(path), check=False)
        said = (f"the key is already registered to {holder}" if holder
                else "the key is the hub's own")
        assert p.returncode == 1 and p.stdout == "" and \
            p.stderr.startswith(f"hubctl: register: {said} ({path}): "), \
            (command, p.stderr)
    recs = [r for r in show(hub) if r["result"] == "refused"]
    assert [(r["action"], r["detail"].split(" ", 1)[0],
             r["detail"].rsplit(": ", 1)[1]) for r in recs] == [
        (command, new, f"the key is already registered to {holder}"
         if holder else "the key is the hub's own")
        for command, new, _, holder in tries], recs
    # Nothing changed: the holders' keys are still theirs.
    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=3)
    assert rc == 0, err
    assert hub.hubctl("revoke-gateway", "web-1").returncode == 0
    for command, new, _, _ in tries:
        kind = command.split("-", 1)[1]
        p = hub.hubctl(f"revoke-{kind}", new, check=False)
        assert p.returncode == 1, (new, p.stdout, p.stderr)
