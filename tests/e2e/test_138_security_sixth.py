"""138 SECURITY.md, a sixth reading by an auditor: the exact details the
audit table gives a refused action (each why, the person or none, one
beyond the allowance), a timeline asked for a CPR the hub never saw
(refused as a known one is, and yet found under that CPR by `audit show
--cpr` and the person's export), a signed checkpoint after every writing
hubctl command, and a key of one kind refused for every other kind with
the holder recorded. Every hub is privacy-swept at teardown."""

import json
import re
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
    hubctl alone writes), and restore in the store it restored — and its
    `last checkpoint:` line names it.
    hubctl's standard error stays as it was: empty for a command that
    succeeds, but for `export --out`'s one line."""
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
        # Its stderr is unchanged by the checkpoint's witness line, which
        # goes to the system log: empty, but for export --out's line.
        if p.returncode == 0:
            assert p.stderr == ("" if command[0] != "export" else
                                "hubctl: exported 3 events (0 actions), 1 "
                                "alerts, 3 audit records to a file\n"), \
                (command, p.stderr)
        records += 1
        v = verify(hub)
        lines = v.stdout.splitlines()
        assert (v.returncode, lines[0]) == (
            0, f"audit trail intact: {records} records, {records} signed "
            f"checkpoints (last at record {records}), head at record "
            f"{records}"), (command, v.stdout)
        assert lines[1].startswith(f"last checkpoint: record {records}, "
                                   "head "), (command, v.stdout)
    # restore: the backup (taken before its own record) restored into
    # another data_dir holds its `restore` record, signed too.
    conf = hub.tmp / "restored.conf"
    conf.write_text(hub.conf_elsewhere(hub.tmp / "restored", hub.keys_dir))
    hubctl = [hubtest.binary("hubctl"), "--config", str(conf)]
    p = subprocess.run(hubctl + ["restore", str(out / "backup")],
                       capture_output=True, text=True,
                       timeout=60 * hubtest.SLOW)
    assert p.returncode == 0, p.stderr
    v = subprocess.run(hubctl + ["audit", "verify"], capture_output=True,
                       text=True, timeout=60 * hubtest.SLOW)
    head = re.search(r"head at record (\d+)", v.stdout).group(1)
    assert (v.returncode, v.stdout.splitlines()[0].split(", ", 1)[1]) == (
        0, f"{head} signed checkpoints (last at record {head}), head at "
        f"record {head}"), v.stdout
    last = subprocess.run(hubctl + ["audit", "show", "--json"],
                          capture_output=True, text=True).stdout
    assert json.loads(last.splitlines()[-1])["action"] == "restore", last


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


def test_a_multipart_message_and_a_kind_not_taken_on_either_endpoint(
        make_hub):
    """SECURITY.md "Audit trail": `frame` `malformed` for a multi-part
    message (detail `a message must be exactly one frame`, on either
    endpoint) and for a frame of a kind the endpoint does not take
    (detail: why), the sender's id as actor and the key its connection
    authenticated with; each is answered and the connection lives on."""
    import zmq
    from hubtest import (E_MALFORMED, IngestClient, curve_dealer, envelope,
                         frame, read_key_file)
    from test_53_delivery import FRAME_RESULT
    hub = make_hub()
    cpr = CprGen(13804).next()
    hub.cprs.add(cpr)
    one = "a message must be exactly one frame"
    with IngestClient(hub, key_id="school-a") as c:
        c.sock.send_multipart([frame(envelope("school-a", cpr, salt=1)),
                               b"x"])
        a = c.recv_ack(10)
        assert (a.code, a.reason) == (E_MALFORMED, one), a
        a = c.ack_for(b"\x01\x03")
        assert (a.code, a.reason) == (E_MALFORMED, "only event frames are "
                                      "accepted on the ingest endpoint"), a
    ctx = zmq.Context()
    s = curve_dealer(ctx, hub, "cw-anna", hub.delivery)
    m = hubtest.pb()
    try:
        for data in ([b"\x01\x02", b"y"],
                     [frame(envelope("school-a", cpr, salt=2))]):
            s.send_multipart(data)
            assert s.poll(10000), data
            got = s.recv()
            assert got[:2] == bytes([1, FRAME_RESULT]), got
            r = m.Result.FromString(got[2:])
            assert r.code == E_MALFORMED, r
    finally:
        s.close()
        ctx.destroy(linger=0)
    hub.stop()
    keys = {who: read_key_file(hub.keys_dir / f"{who}.key")["public"]
            for who in ("school-a", "cw-anna")}
    got = [(r["actor"], r["result"], r["detail"], r["key"], r["person"])
           for r in show(hub) if r["action"] == "frame"]
    assert got == [
        ("school-a", "malformed", one, keys["school-a"], ""),
        ("school-a", "malformed",
         "only event frames are accepted on the ingest endpoint",
         keys["school-a"], ""),
        ("cw-anna", "malformed", one, keys["cw-anna"], ""),
        ("cw-anna", "malformed", "only Hello, AlertAck, Query and Action "
         "frames are accepted on the delivery endpoint", keys["cw-anna"],
         "")], got


def test_an_event_ids_time_stays_in_the_clear_only_for_2000_to_2099(
        make_hub):
    """SECURITY.md's table, `ids/ids`: the key is the event id's first 8
    bytes when they read as a time — ms since the epoch, years 2000-2099
    — then a keyed hash; any other id is keyed by a hash alone. At each
    end of that range and one millisecond past it: 2000-01-01T00:00:00.000
    and 2099-12-31T23:59:59.999 stay in the clear, 1999-12-31T23:59:59.999
    and 2100-01-01T00:00:00.000 do not (their last 6 bytes stand nowhere
    in a key)."""
    from hubtest import envelope
    from test_60_store_at_rest import dump
    hub = make_hub()
    cprs = CprGen(13805).take(4)
    hub.cprs.update(cprs)
    first, past = 946684800000, 4102444800000
    times = {first - 1: False, first: True, past - 1: True, past: False}
    envs = []
    for (ms, _), cpr in zip(times.items(), cprs):
        env = envelope("school-a", cpr, salt=f"ids-{ms}")
        env.event_id = ms.to_bytes(8, "big") + env.event_id[8:]
        envs.append(env)
    hub.send(*envs)
    hub.wait_applied()
    hub.stop()
    keys = [k for k, _ in dump(hub.data_dir / "ids", "ids")]
    assert len(keys) == 4 and {len(k) for k in keys} == {24}, keys
    for ms, clear in times.items():
        prefix = ms.to_bytes(8, "big")
        assert any(k.startswith(prefix) for k in keys) == clear, (ms, keys)
        assert not any(prefix[2:] in k for k in keys) or clear, (ms, keys)


def test_audit_show_days_end_at_utc_midnight(make_hub):
    """SECURITY.md "Audit trail": hubd's records carry the hub clock's
    time; `hubctl audit show --from DAY` starts at that UTC day's 00:00
    and `--to DAY` takes in the whole of that day (hubctl --help). A
    record of 23:59:59 is the day's, one of 00:00:00 the next day's, at
    either end. hubctl's records are on the system clock: it does not
    read the clock_file for them."""
    import time
    hub = make_hub(clock="2026-03-05T23:59:59")
    cprs = CprGen(13806).take(2)
    hub.cprs.update(cprs)
    for cpr, when in zip(cprs, ("2026-03-05T23:59:59",
                                "2026-03-06T00:00:00")):
        hub.set_clock(when)
        hub.settle()
        p = inbox_once(hub, "desk-dora", "--timeline", cpr)
        assert p.returncode == 4, p.stderr
    # hubctl's records are on the system clock, also assign's, which
    # dates the assignment by the clock_file.
    before = time.time() * 1000
    hub.assign(cprs[0], "cw-anna", start="2026-03-01")
    after = time.time() * 1000
    hub.stop()
    [assign] = [r for r in show(hub) if r["action"] == "assign"]
    assert before - 1000 <= assign["at"] <= after + 1000, (before, assign)

    def timelines(*args):
        return [r["time"] for r in show(hub, *args)
                if r["action"] == "timeline"]
    assert timelines() == ["2026-03-05T23:59:59Z", "2026-03-06T00:00:00Z"]
    assert timelines("--to", "2026-03-05") == ["2026-03-05T23:59:59Z"]
    assert timelines("--from", "2026-03-06") == ["2026-03-06T00:00:00Z"]
    assert timelines("--from", "2026-03-05", "--to", "2026-03-05") == \
        ["2026-03-05T23:59:59Z"]
    assert timelines("--from", "2026-03-06", "--to", "2026-03-06") == \
        ["2026-03-06T00:00:00Z"]


def test_a_head_removed_or_altered_is_recorded_by_the_next_append(
        make_hub):
    """SECURITY.md "The chain": hubctl, about to append to a chain whose
    recorded head was removed or altered, first appends what it found
    (`audit-changed` `found`, actor `hub`), logs it (`STORE-AUDIT the
    audit trail was changed outside the hub: ...`, err) and `audit
    verify` names that record from then on — before, it names the head
    itself (`the chain's recorded head is missing` / `... is altered
    (does not open)`)."""
    import shutil
    from test_61_audit import broken_at, edit_audit
    hub = make_hub()
    hub.stop()
    last = show(hub)[-1]["seq"] + 1      # that show's own record
    saved = hub.tmp / "log-as-it-was"
    shutil.copytree(hub.data_dir / "log", saved)

    def removed(pairs):
        return [p for p in pairs if p[0].strip() != "68"]

    def altered(pairs):
        return [(k, v[:-4] + ("0000" if v[-4:] != "0000" else "1111"))
                if k.strip() == "68" else (k, v) for k, v in pairs]
    for change, was, said in (
            (removed, "missing", "is missing"),
            (altered, "altered (does not open)",
             "is altered (does not open)")):
        shutil.rmtree(hub.data_dir / "log")
        shutil.copytree(saved, hub.data_dir / "log")
        edit_audit(hub, change, db="audit_ckpt")
        assert broken_at(hub) == (last, f"the chain's recorded head {said}")
        p = hub.hubctl("register-caseworker", "cw-anna")
        what = f"the chain's recorded head was {was}, the last record {last}"
        assert p.stderr.endswith(
            f" hubctl err STORE-AUDIT the audit trail was changed outside "
            f"the hub: {what}; recorded as record {last + 1} (hubctl audit "
            "verify names it)\n"), p.stderr
        assert broken_at(hub) == (last + 1, f"record {last + 1}: the trail "
                                  f"was changed outside the hub before it: "
                                  f"{what}")
        [found] = [r for r in show(hub) if r["seq"] == last + 1]
        assert (found["actor"], found["action"], found["result"],
                found["detail"]) == ("hub", "audit-changed", "found",
                                     what), found
