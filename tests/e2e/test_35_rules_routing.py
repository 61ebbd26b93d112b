"""35 rules, routing: acknowledgement escalation and reassignment
(docs/RULES.md). An alert not acknowledged within its priority's ack hours
— office hours, Monday-Friday 08:00-16:00 Danish time — stays with its
owner, who remains accountable, and the duty desk gets a notice of it; the
team lead gets one after another period (unless the desk acknowledged its
notice). A new contact person takes over the person's open alerts when the
assignment takes effect.

The ack deadlines are the defaults here (HIGH 24 office hours = three
working days, NORMAL 72) unless a test says otherwise. 2026-09-07 is a
Monday; 08:00 UTC is 10:00 in Copenhagen (summer time)."""

import csv
import json
import re
import shutil
import signal
import subprocess

import hubtest

from hubtest import (NO_ESCALATION, RULE_AGENCIES, RULE_CASEWORKERS, CprGen,
                     binary, dropout_alert, event,
                     ev_assignment, ev_desk, ev_dropout, ev_dropout_risk,
                     ev_readiness, ev_referral, rules_hub)

LEAD = {"routing.team_lead": "cw-lead"}


def show_audit(hub):
    p = hub.hubctl("audit", "show", "--json")
    return [json.loads(line) for line in p.stdout.splitlines()
            if line.startswith("{")]


def escalations(hub):
    return re.findall(r"HUB-ESCALATE alert (\w+) not acknowledged in time; "
                      r"notice \w+ to ([\w.-]+)", hub.log_text())


def test_unacknowledged_high_alert_stays_and_notices_climb(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(3501).born("2001-02-03")
    alert_id = dropout_alert(hub, adult)["alert_id"]
    # HIGH: 24 office hours from Monday 10:00 (local): Mon 6 h, Tue 8,
    # Wed 8, Thu 2 -> Thursday 09-10 10:00 local, 08:00 UTC.
    hub.advance("2026-09-10T07:59:59")
    assert escalations(hub) == []
    audit = hub.stats()["audit_records"]
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(alert_id, "duty-desk")]
    # The escalation is itself recorded in the audit log.
    assert hub.stats()["audit_records"] > audit
    escalated = [r for r in show_audit(hub) if r["action"] == "escalate"]
    assert len(escalated) == 1, escalated
    # About the person (SECURITY.md): an access request finds it.
    assert escalated[0]["person"] != "", escalated
    p = hub.hubctl("audit", "show", "--json", "--cpr", adult)
    assert "escalate" in [json.loads(line)["action"]
                          for line in p.stdout.splitlines()], p.stdout
    # The alert stays with its owner; the desk has a notice of it.
    [mine] = hub.peek("cw-anna", 1)
    assert (mine["alert_id"], mine["recipient"]) == (alert_id, "cw-anna")
    [n] = hub.peek("desk-dora", 1)
    assert (n["rule"], n["recipient"], n["cpr"]) == \
        ("escalation", "duty-desk", adult)
    assert n["alert_id"] != alert_id and n["alert_id"][:16] == alert_id[:16]
    assert n["title"] == "Overdue with cw-anna: Dropped out of eud-smed " \
        "at college-x"
    assert "it stays with cw-anna, who remains responsible" in \
        n["explanation"]
    hub.peek("cw-lead", 0)
    # Another 24 office hours (Thu 6, Fri 8, Mon 8, Tue 2): the team lead.
    hub.advance("2026-09-15T07:00:00")
    assert len(escalations(hub)) == 1
    hub.advance("2026-09-15T08:00:00")
    assert escalations(hub) == [(alert_id, "duty-desk"), (alert_id, "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert (n["rule"], n["recipient"]) == ("escalation", "cw-lead")
    # The top of the ladder: nothing further.
    hub.advance("2026-09-30")
    assert len(escalations(hub)) == 2
    st = hub.stats()
    assert (st["alerts"], st["alerts_open"]) == (3, 3)
    # The owner acknowledges: the notices have served their purpose.
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and [x["alert_id"] for x in alerts] == [alert_id], err
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 0)
    # The annual status counts it escalated, not acknowledged in time
    # (OPERATIONS.md, the alerts table); the notices are no row.
    out = hub.tmp / "status" / "status.html"
    out.parent.mkdir()
    hub.hubctl("report", "--year", "2026", "--out", str(out))
    with open(out.parent / "status-alerts.csv", newline="") as f:
        table = list(csv.reader(f))
    head = table[0]
    rows = {r[0]: dict(zip(head, r)) for r in table[1:]}
    assert "escalation" not in rows
    # One alert: small counts show as <5, and a zero as 0.
    assert (rows["dropout"]["raised"], rows["dropout"]["acknowledged"],
            rows["dropout"]["acknowledged in time"],
            rows["dropout"]["escalated"]) == ("<5", "<5", "0", "<5"), rows
    # The audit record counts every alert raised from the log, the two
    # escalation notices too (OPERATIONS.md, "The annual status").
    [detail] = [json.loads(line)["detail"] for line in hub.hubctl(
        "audit", "show", "--json").stdout.splitlines()
        if json.loads(line)["action"] == "report"]
    assert ", 3 alerts, 9 tables" in detail, detail


def test_a_friday_alert_reaches_the_desk_after_office_hours(make_hub):
    # HIGH on Friday 2026-09-11 at 15:00 local (13:00 UTC): 1 h on Friday,
    # 8 on Monday, 8 on Tuesday, 7 on Wednesday -> Wednesday 15:00 local.
    hub = rules_hub(make_hub, "2026-09-11T13:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(3512).born("2001-07-07")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-11"))
    hub.wait_applied()
    hub.advance("2026-09-13T12:00:00")   # Sunday: nothing
    hub.advance("2026-09-16T12:59:59")
    assert escalations(hub) == []
    hub.advance("2026-09-16T13:00:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]


def urgent_escalations_across(make_hub, seed, raised, steps):
    """An URGENT dropout alert raised at `raised` (UTC); steps: (instant
    just before, instant of) each notice, desk then team lead."""
    hub = rules_hub(make_hub, raised, escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent"}))
    adult = CprGen(seed).born("2001-07-07")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, raised[:10]))
    hub.wait_applied()
    for n, (before, at) in enumerate(steps):
        hub.advance(before)
        assert len(escalations(hub)) == n, before
        hub.advance(at)
        assert len(escalations(hub)) == n + 1, at
    return [to for _, to in escalations(hub)]


def test_office_hours_across_the_spring_clock_change(make_hub):
    """RULES.md §8's example: URGENT on Friday 2026-03-27 14:00 CET
    (13:00 UTC): 2 hours that day; the clocks go forward on Sunday 03-29,
    so Monday 08:00 is 06:00 UTC: the desk's notice at 10:00 CEST (08:00
    UTC), the team lead's at 14:00 CEST (12:00 UTC)."""
    assert urgent_escalations_across(
        make_hub, 3515, "2026-03-27T13:00:00",
        [("2026-03-30T07:59:59", "2026-03-30T08:00:00"),
         ("2026-03-30T11:59:59", "2026-03-30T12:00:00")]) == \
        ["duty-desk", "cw-lead"]


def test_office_hours_across_the_autumn_clock_change(make_hub):
    """RULES.md §8: URGENT on Friday 2026-10-23 15:00 CEST (13:00 UTC):
    1 hour that day; the clocks go back on Sunday 10-25, so Monday 08:00
    is 07:00 UTC: the desk's notice at 11:00 CET (10:00 UTC), the team
    lead's at 15:00 CET (14:00 UTC)."""
    assert urgent_escalations_across(
        make_hub, 3516, "2026-10-23T13:00:00",
        [("2026-10-26T09:59:59", "2026-10-26T10:00:00"),
         ("2026-10-26T13:59:59", "2026-10-26T14:00:00")]) == \
        ["duty-desk", "cw-lead"]


def test_office_hours_over_easter_and_the_clock_change(make_hub):
    """RULES.md §8, §9: URGENT on Wednesday 2027-03-24 15:00 CET (14:00
    UTC): 1 hour that day; Maundy Thursday, Good Friday, the weekend (the
    clocks go forward on Sunday 03-28) and Easter Monday are closed: the
    desk's notice on Tuesday 03-30 at 11:00 CEST (09:00 UTC), the team
    lead's at 15:00 CEST (13:00 UTC)."""
    assert urgent_escalations_across(
        make_hub, 3517, "2027-03-24T14:00:00",
        [("2027-03-30T08:59:59", "2027-03-30T09:00:00"),
         ("2027-03-30T12:59:59", "2027-03-30T13:00:00")]) == \
        ["duty-desk", "cw-lead"]


def test_a_rebuilt_derived_state_keeps_the_acknowledgement_window(make_hub):
    """OPERATIONS.md: derived/ deleted, hubd replays the whole log and
    the alerts it raises again are the ones stored. Their windows still
    count from when they were raised (RULES.md section 8), not from the
    replay: the HIGH alert of Monday 10:00 escalates on Thursday 10:00,
    not three office days after the start."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(3519).born("2001-03-13")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.set_clock("2026-09-09T08:00:00")
    hub.start()
    hub.wait_log(r"HUB-REPLAY")
    hub.advance("2026-09-10T07:59:59")
    assert escalations(hub) == []
    hub.advance("2026-09-10T08:00:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]
    assert hub.stats()["alerts"] == 2
    # Rebuilt again: the team lead's step still counts from the desk's
    # notice, Tuesday 09-15 10:00 local.
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(r"HUB-REPLAY", count=2)
    hub.advance("2026-09-15T07:59:59")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]
    hub.advance("2026-09-15T08:00:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk", "cw-lead"]


def test_team_lead_from_desk_membership(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    adult = CprGen(3502).born("2002-02-02")
    hub.send(ev_desk("cw-lead", "2026-01-01", team_lead=True),
             ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    # Unassigned: the desk owns it; 24 office hours later its team lead
    # gets a notice.
    [a] = hub.peek("desk-dora", 1)
    assert a["recipient"] == "duty-desk"
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a["alert_id"], "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert (n["rule"], n["recipient"]) == ("escalation", "cw-lead")
    assert hub.peek("desk-dora", 1)[0]["alert_id"] == a["alert_id"]


def test_a_later_desk_period_does_not_end_the_current_one(make_hub):
    """PROTOCOL.md §3 Corrections, ADAPTERS.md kind `desk`: a membership
    is a period known by desk, caseworker and `from`. cw-bob on the desk
    this winter and again from September is a member today, whichever
    period was sent last; the winter period sent again with an earlier
    `to` replaces it, and he is a member no more until September."""
    hub = rules_hub(make_hub, "2026-02-16T08:00:00")
    winter = ev_desk("cw-bob", "2026-01-05")
    winter.desk_membership.to = "2026-03-31"
    hub.send(winter, ev_desk("cw-bob", "2026-09-01"))
    adult = CprGen(3516).born("2003-03-03")
    hub.send(ev_dropout(adult, "2026-02-13"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-bob", 1)
    assert a["recipient"] == "duty-desk"
    ended = ev_desk("cw-bob", "2026-01-05")
    ended.desk_membership.to = "2026-02-13"
    hub.send(ended)
    hub.wait_applied()
    hub.peek("cw-bob", 0)
    hub.advance("2026-09-01T08:00:00")
    rc, alerts, err = hub.inbox("cw-bob", no_ack=True, idle_exit=1)
    assert rc == 0, err
    assert a["alert_id"] in [x["alert_id"] for x in alerts], alerts


def test_team_lead_named_after_the_desk_notice_gets_the_second(make_hub):
    """RULES.md section 8: the team lead's notice goes to the desk's team
    lead valid on the day of that step. A DeskMembership as team lead
    that starts between the desk's notice and the team lead's step still
    gets the second notice."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    adult = CprGen(3513).born("2001-08-08")
    hub.assign(adult, "cw-anna")
    hub.send(ev_desk("cw-lead", "2026-09-14", team_lead=True),
             ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a["alert_id"], "duty-desk")]
    # Another 24 office hours: Tuesday 09-15, the lead in office since
    # Monday.
    hub.advance("2026-09-15T07:59:59")
    assert len(escalations(hub)) == 1
    hub.advance("2026-09-15T08:00:00")
    assert escalations(hub) == [(a["alert_id"], "duty-desk"),
                                (a["alert_id"], "cw-lead")]


def test_of_two_team_leads_the_one_named_last_gets_the_notice(make_hub):
    """RULES.md section 8: with two DeskMembership periods as team lead
    in force on the day (a new lead named before the old period's end
    was sent), the notice goes to the lead whose period began last; of
    two that began the same day, to the lower id. Periods of another
    desk, or ended the day before, name no lead."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    gone = ev_desk("cw-anna", "2026-09-02", team_lead=True)
    gone.desk_membership.to = "2026-09-09"
    hub.send(ev_desk("cw-lead", "2026-01-01", team_lead=True),
             ev_desk("cw-bob", "2026-09-01", team_lead=True),
             gone,
             ev_desk("desk-dora", "2026-09-03", team_lead=True,
                     desk="other-desk"))
    gen = CprGen(3518)
    first = gen.born("2001-12-12")
    hub.send(ev_dropout(first, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-09-10T08:00:00")
    assert [to for _, to in escalations(hub)] == ["cw-bob"]
    # cw-bob's period again, now ended; cw-anna and cw-lead both named
    # from 09-10: the lower id.
    ended = ev_desk("cw-bob", "2026-09-01", team_lead=True)
    ended.desk_membership.to = "2026-09-10"
    hub.send(ended, ev_desk("cw-lead", "2026-09-10", team_lead=True),
             ev_desk("cw-anna", "2026-09-10", team_lead=True))
    second = gen.born("2002-12-12")
    hub.send(ev_dropout(second, "2026-09-10"))
    hub.advance("2026-09-15T08:00:00")
    assert [to for _, to in escalations(hub)] == ["cw-bob", "cw-anna"]


def test_a_caseworker_registered_under_the_desk_id_sees_each_alert_once(
        make_hub):
    """A shared desk login registered under the desk's own id (and
    --desk): its queue is the desk's, and the open list (PROTOCOL.md
    section 4, OPEN_ALERTS) names each of the desk's alerts once."""
    hub = make_hub(agencies=RULE_AGENCIES, clock="2026-09-07T08:00:00",
                   caseworkers=dict(RULE_CASEWORKERS, **{"duty-desk": True}),
                   rules=dict(NO_ESCALATION))
    adult = CprGen(3514).born("2001-09-09")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    conf = hub.tmp / "inbox-duty-desk.conf"
    conf.write_text(f"caseworker = duty-desk\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--list"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[-1] == "1 open alerts", p.stdout
    [a] = hub.peek("duty-desk", 1)
    assert a["recipient"] == "duty-desk"


def test_alerts_left_at_a_former_desk_are_for_its_own_id(make_hub):
    """RULES.md section 10: a reload naming another routing.desk sends
    new desk alerts there; those queued for the former desk stay
    addressed to its id. The desk's members now serve the new desk and
    no longer see them: a caseworker registered under the former desk's
    id does."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    before, after = CprGen(3520).take(2)
    hub.cprs.update([before, after])
    hub.send(ev_dropout_risk(before, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.write_rules(dict(NO_ESCALATION, **{"routing.desk": "new-desk"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    hub.send(ev_dropout_risk(after, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    [a] = hub.peek("desk-dora", 1)
    assert (a["cpr"], a["recipient"]) == (after, "new-desk")
    hub.keygen("duty-desk")
    hub.register_caseworker("duty-desk")
    [a] = hub.peek("duty-desk", 1)
    assert (a["cpr"], a["recipient"]) == (before, "duty-desk")


def test_desk_without_team_lead_keeps_the_alert(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    adult = CprGen(3503).born("2002-03-03")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-20")
    assert escalations(hub) == []
    [a] = hub.peek("desk-dora", 1)
    assert a["recipient"] == "duty-desk"


def test_acknowledged_alert_does_not_escalate(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(3504).born("2001-04-04")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.set_clock("2026-09-07T15:00:00")
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and len(alerts) == 1, err
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 0)
    hub.advance("2026-09-20")
    assert escalations(hub) == []


def test_ack_hours_follow_the_priority(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"ack.normal_hours": "48"})
    cpr = CprGen(3505).born("2008-08-08")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-07"))     # NORMAL
    hub.wait_applied()
    # 48 office hours: six working days, Tuesday 09-15 10:00 local.
    hub.advance("2026-09-15T07:59:00")
    assert escalations(hub) == []
    hub.advance("2026-09-15T08:00:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]


def test_desk_acknowledging_its_notice_stops_the_ladder(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(3506).born("2001-06-06")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T09:00:00")
    rc, alerts, err = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    assert rc == 0 and [(a["rule"], a["recipient"]) for a in alerts] == \
        [("escalation", "duty-desk")], err
    hub.wait_stats("notice acknowledged", lambda s: s["alerts_open"] == 1)
    # The desk took it on: the team lead never gets a notice, and the
    # alert is still the owner's.
    hub.advance("2026-09-25")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]
    hub.peek("cw-lead", 0)
    assert hub.peek("cw-anna", 1)[0]["rule"] == "dropout"


def test_reassignment_moves_open_alerts(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3507).born("2011-01-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_readiness(cpr, "2026-09-03", 9),
             ev_dropout_risk(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 2
    # cw-anna handles the first one only.
    rc, done, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and len(done) == 1, err
    hub.wait_stats("one acknowledged", lambda s: s["alerts_open"] == 1)
    hub.set_clock("2026-09-08T09:00:00")
    hub.assign(cpr, "cw-bob", start="2026-09-08")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    [moved] = hub.peek("cw-bob", 1)
    assert moved["alert_id"] != done[0]["alert_id"]
    assert moved["recipient"] == "cw-bob"
    hub.peek("cw-anna", 0)
    # cw-anna is told nothing; the alert is no longer hers to
    # acknowledge (RULES.md section 7).
    conf = hub.tmp / "inbox-cw-anna.conf"
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--ack",
                        moved["alert_id"]], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 4, p.stderr
    assert f"alert {moved['alert_id']} is not open for cw-anna" in p.stderr
    hub.peek("cw-bob", 1)
    # What comes next is cw-bob's from the start.
    hub.send(ev_dropout_risk(cpr, "2026-09-09"))
    assert hub.wait_applied()["alerts"] == 3
    assert {a["recipient"] for a in hub.peek("cw-bob", 2)} == {"cw-bob"}


def test_assigning_back_the_same_day_takes_the_alerts_back(make_hub):
    """RULES.md section 7: an assignment with the same `from` as one held
    replaces it. Assigned cw-anna, then cw-bob, then cw-anna again the
    same day, the last one is the contact person: it is stored (it used
    to be `already known`, as the first one was, and cw-bob kept the
    person) and takes the open alert back; once more, it is known."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3517).born("2004-12-12")
    hub.cprs.add(cpr)

    def assign(who):
        return hub.hubctl("assign", "--cpr", cpr, "--caseworker",
                          who).stdout

    assert assign("cw-anna") == "assigned to cw-anna from 2026-09-07\n"
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    assert assign("cw-bob") == "assigned to cw-bob from 2026-09-07\n"
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    assert assign("cw-anna") == "assigned to cw-anna from 2026-09-07\n"
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-anna")
    assert hub.peek("cw-anna", 1)[0]["recipient"] == "cw-anna"
    hub.peek("cw-bob", 0)
    assert assign("cw-anna") == ("assigned to cw-anna from 2026-09-07 "
                                 "(already known)\n")
    audit = [r for r in show_audit(hub) if r["action"] == "assign"]
    assert [r["result"] for r in audit] == ["ok", "ok", "ok",
                                           "already-known"]


def test_assigning_back_the_same_day_in_one_file_takes_the_alerts_back(
        make_hub, tmp_path):
    """RULES.md section 7 and OPERATIONS.md "Contact persons": the rows
    of an assign --file are assignments received in their order, so
    cw-anna, cw-bob, cw-anna from one day in one file leave cw-anna the
    contact person: the third row is stored anew, not `already known` as
    the first is (it was, and cw-bob kept the person and the alert), and
    the same file again changes nothing."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3518).born("2004-12-13")
    hub.cprs.add(cpr)
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    rows = tmp_path / "back.csv"
    rows.write_text("cpr;caseworker;from\n" + "".join(
        f"{cpr};{who};2026-09-07\n"
        for who in ("cw-bob", "cw-anna", "cw-bob", "cw-anna", "cw-anna")))
    p = hub.hubctl("assign", "--file", str(rows))
    assert p.stdout == "assignments: 4 new, 1 already known, 0 rejected\n", \
        p.stdout
    hub.settle()
    assert hub.peek("cw-anna", 1)[0]["recipient"] == "cw-anna"
    hub.peek("cw-bob", 0)
    p = hub.hubctl("assign", "--file", str(rows))
    assert p.stdout == "assignments: 4 new, 1 already known, 0 rejected\n", \
        p.stdout
    hub.settle()
    assert hub.peek("cw-anna", 1)[0]["recipient"] == "cw-anna"
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "cw-anna again after cw-bob the same day (rows of one " \
        "`--file` alike, in their order)" in doc
    assert "is stored anew and replaces that one in turn" in doc


def anna_with_a_dropout_risk(make_hub, seed, born):
    """A hub on 2026-09-07 with a person of cw-anna's since August and
    one dropout-risk alert for her: (hub, cpr)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(seed).born(born)
    hub.send(ev_assignment(cpr, "cw-anna", "2026-08-01"),
             ev_dropout_risk(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    return hub, cpr


def test_reassignment_by_the_youth_unit(make_hub):
    hub, cpr = anna_with_a_dropout_risk(make_hub, 3508, "2011-02-02")
    assert hub.peek("cw-anna", 1)[0]["recipient"] == "cw-anna"
    hub.send(ev_assignment(cpr, "cw-bob", "2026-09-07"))
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    assert hub.peek("cw-bob", 1)[0]["recipient"] == "cw-bob"
    hub.peek("cw-anna", 0)


def test_two_reassignments_on_one_day_move_the_alert_once(make_hub):
    # Both take effect in one turn, each decided before either is stored:
    # the second finds the alert already with cw-bob, moves nothing and
    # tells no list it left.
    hub, cpr = anna_with_a_dropout_risk(make_hub, 3515, "2011-02-12")
    hub.send(ev_assignment(cpr, "cw-bob", "2026-09-21"),
             ev_assignment(cpr, "cw-bob", "2026-09-21"))
    hub.wait_applied()
    hub.advance("2026-09-21T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    hub.settle()
    assert len(re.findall(r"HUB-REROUTE alert \w+ moved to cw-bob",
                          hub.log_text())) == 1
    assert hub.peek("cw-bob", 1)[0]["recipient"] == "cw-bob"
    hub.peek("cw-anna", 0)
    assert hub.running


def test_dated_reassignment_moves_alerts_on_its_first_day(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3509).born("2011-03-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    hub.wait_applied()
    # Decided today, in force from 2026-09-21.
    hub.assign(cpr, "cw-bob", start="2026-09-21")
    hub.wait_applied()
    hub.advance("2026-09-20T23:59:00")
    assert "HUB-REROUTE" not in hub.log_text()
    assert hub.peek("cw-anna", 1)[0]["recipient"] == "cw-anna"
    hub.advance("2026-09-21T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    assert hub.peek("cw-bob", 1)[0]["recipient"] == "cw-bob"
    hub.peek("cw-anna", 0)


def test_a_planned_handover_called_off_moves_nothing(make_hub):
    """RULES.md section 7: a handover planned ahead is called off by
    assigning the current contact person from the same day, which
    replaces it: on that day nothing moves, and the alerts stay."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3518).born("2005-01-13")
    hub.assign(cpr, "cw-anna", start="2026-09-01")
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    hub.wait_applied()
    hub.assign(cpr, "cw-bob", start="2026-09-21")
    hub.assign(cpr, "cw-anna", start="2026-09-21")
    hub.wait_applied()
    hub.advance("2026-09-21T00:00:00")
    hub.send(ev_dropout_risk(cpr, "2026-09-21"))
    hub.wait_applied()
    assert "HUB-REROUTE" not in hub.log_text()
    assert {a["recipient"] for a in hub.peek("cw-anna", 2)} == {"cw-anna"}
    hub.peek("cw-bob", 0)


def test_ended_assignment_hands_open_alerts_to_the_desk(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3510).born("2011-04-04")
    hub.assign(cpr, "cw-anna", start="2026-01-01", end="2026-09-15")
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    hub.wait_applied()
    hub.advance("2026-09-15T23:00:00")
    assert hub.peek("cw-anna", 1)[0]["recipient"] == "cw-anna"
    hub.advance("2026-09-16T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to duty-desk")
    assert hub.peek("desk-dora", 1)[0]["recipient"] == "duty-desk"
    hub.peek("cw-anna", 0)


def test_a_former_counsellor_keeps_the_alerts_addressed_to_them(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3513)
    pupil, dropped = gen.born("2011-06-06"), gen.born("2001-06-07")
    # The counsellor (cw-bob) gets the pupil's readiness alert and, with
    # no contact person, the dropout alert.
    hub.send(ev_assignment(pupil, "cw-anna", "2026-01-01"),
             ev_assignment(pupil, "cw-bob", "2026-01-01", role="guidance"),
             ev_assignment(dropped, "cw-bob", "2026-01-01",
                           role="guidance"))
    hub.send(ev_readiness(pupil, "2026-09-07", 9),
             ev_dropout(dropped, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    assert sorted(a["rule"] for a in hub.peek("cw-bob", 2)) == \
        ["dropout", "readiness"]
    # A new counsellor takes over neither; nor does the contact person
    # named afterwards: they stay with the counsellor they went to.
    for cpr in (pupil, dropped):
        hub.send(ev_assignment(cpr, "uu-carl", "2026-09-08",
                               role="guidance"))
    hub.advance("2026-09-09T08:00:00")
    for cpr in (pupil, dropped):
        hub.send(ev_assignment(cpr, "cw-lead", "2026-09-09"))
    hub.settle()
    assert "HUB-REROUTE" not in hub.log_text()
    assert {a["recipient"] for a in hub.peek("cw-bob", 2)} == {"cw-bob"}
    hub.peek("cw-lead", 0)


def test_a_contact_person_who_is_also_the_counsellor_hands_over(make_hub):
    """RULES.md sections 4 and 7: the consent shares a referral with the
    contact person, and a reassignment moves the open alerts to the new
    one; only what went to the counsellor as counsellor stays. A
    caseworker who was both kept everything addressed to her as contact
    person once someone else took over: the addiction alert stayed
    readable by a caseworker who was no longer the contact person, and a
    withdrawal closed the new contact person's addiction alert without
    telling them."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(3530).born("2009-03-03")
    hub.cprs.add(cpr)
    hub.send(ev_assignment(cpr, "cw-anna", "2026-01-01"),
             ev_assignment(cpr, "cw-anna", "2026-01-01", role="guidance"))
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}),
             ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_assignment(cpr, "cw-bob", "2026-09-08"))
    hub.advance("2026-09-08T09:00:00")
    assert sorted(a["rule"] for a in hub.peek("cw-bob", 2)) == \
        ["addiction", "dropout"]
    hub.peek("cw-anna", 0)
    hub.send(ev_referral(cpr, "2026-09-08", consent={"given": True}))
    hub.send(ev_referral(cpr, "2026-09-09", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    hub.settle()
    alerts = hub.peek("cw-bob", 2)
    assert sorted(a["rule"] for a in alerts) == ["dropout", "withdrawn"]
    [w] = [a for a in alerts if a["rule"] == "withdrawn"]
    assert w["title"] == "Withdrawn: 2 alerts (addiction)", w
    hub.peek("cw-anna", 0)


def test_an_ended_contact_hands_alerts_to_the_desk_not_the_counsellor(
        make_hub):
    """RULES.md section 7: an assignment that ends hands the open alerts
    to the desk when nobody takes over as contact person -- also a
    dropout alert, though a new one would go to the guidance counsellor:
    the counsellor takes over no open alert, and the alert follows the
    next contact person from the desk."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    hub.keygen("uu-carl")
    hub.register_caseworker("uu-carl")
    cpr = CprGen(3532).born("2001-04-04")
    hub.cprs.add(cpr)
    hub.send(event("youth-a", cpr, "contact_assignment",
                   caseworker="cw-bob", role="contact",
                   **{"from": "2026-01-01", "to": "2026-09-08"}),
             ev_assignment(cpr, "uu-carl", "2026-01-01", role="guidance"))
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-09-09T09:00:00")
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["recipient"]) == ("dropout", "duty-desk")
    hub.peek("uu-carl", 0)
    hub.assign(cpr, "cw-anna", start="2026-09-09")
    hub.settle()
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["recipient"]) == ("dropout", "cw-anna")


def test_a_two_row_reassignment_keeps_health_data_from_the_desk(make_hub):
    """RULES.md section 11: a reassignment applied as two rows (the old
    one's end, then the new one) passes the open alerts through the
    desk -- all but an addiction alert, which waits with the caseworker
    it was shared with and goes on to the new contact person."""
    hub = rules_hub(make_hub, "2026-09-08T09:00:00")
    cpr = CprGen(3533).born("2001-06-06")
    hub.assign(cpr, "cw-anna", start="2026-01-01")
    hub.send(ev_referral(cpr, "2026-09-08", consent={"given": True}),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 2
    hub.assign(cpr, "cw-anna", start="2026-01-01", end="2026-09-07")
    hub.settle()
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "dropout_risk"
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"
    hub.assign(cpr, "cw-bob", start="2026-09-08")
    hub.settle()
    assert sorted(a["rule"] for a in hub.peek("cw-bob", 2)) == \
        ["addiction", "dropout_risk"]
    hub.peek("cw-anna", 0)


def test_a_revoked_contact_person_keeps_the_persons_alerts(make_hub):
    """RULES.md section 7: a caseworker revoked is no longer registered,
    and the docs said nothing of the people they were contact person
    for. The assignment stays in force: the person's alerts, open and
    new, wait for that id (nobody else gets them, not the desk) until
    another contact person is assigned, who takes them over."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(3531).born("2001-03-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    hub.hubctl("revoke-caseworker", "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-07"))
    hub.settle()
    assert re.search(r"HUB-ALERT alert \w+ \(dropout_risk\) raised for "
                     r"cw-anna", hub.log_text())
    hub.peek("desk-dora", 0)
    refused = hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-anna",
                         check=False)
    assert refused.returncode == 1
    assert "the caseworker is not registered" in refused.stderr
    hub.assign(cpr, "cw-bob", start="2026-09-07")
    hub.settle()
    assert sorted(a["rule"] for a in hub.peek("cw-bob", 2)) == \
        ["dropout", "dropout_risk"]


def test_reassignment_moves_an_escalated_alert_not_its_notice(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    adult = CprGen(3511).born("2001-05-05")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T09:00:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]
    hub.assign(adult, "cw-bob", start="2026-09-10")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    assert hub.peek("cw-bob", 1)[0]["rule"] == "dropout"
    assert hub.peek("desk-dora", 1)[0]["rule"] == "escalation"
    hub.peek("cw-anna", 0)


def test_notices_name_the_owner_of_the_day_the_clock_passed_both(make_hub):
    """RULES.md section 8: later notices name the new owner, and an alert
    whose owner is the desk escalates straight to the team lead. Also
    when the day an assignment takes effect and the escalation step are
    passed together (the hub clock moved over both, a hub that was
    down): the move comes first, and the notice names where the alert
    is then."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    gen = CprGen(3517)
    moved, ended = gen.born("2001-10-10"), gen.born("2001-11-11")
    hub.assign(moved, "cw-anna")
    hub.assign(ended, "cw-anna", start="2026-01-01", end="2026-09-09")
    hub.send(ev_dropout(moved, "2026-09-07"), ev_dropout(ended, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    # cw-anna's assignment of `ended` ends on 09-09: from 09-10 the alert
    # is the desk's, so when its window passes (Thursday 09-10 10:00
    # local) the team lead gets the notice, the desk none.
    hub.advance("2026-09-10T08:00:00")
    [mine] = hub.peek("cw-anna", 1)
    steps = escalations(hub)
    assert sorted(to for _, to in steps) == ["cw-lead", "duty-desk"], steps
    [lead] = hub.peek("cw-lead", 1)
    assert lead["title"] == "Overdue with duty-desk: Dropped out of " \
        "eud-smed at college-x", lead
    assert "addressed to duty-desk," in lead["explanation"], lead
    desk = [a for a in hub.peek("desk-dora", 2) if a["rule"] == "escalation"]
    assert [a["cpr"] for a in desk] == [moved], desk
    # cw-bob takes `moved` over from 09-11; the clock passes that day and
    # the team lead's step (Tuesday 09-15 10:00 local) at once.
    hub.assign(moved, "cw-bob", start="2026-09-11")
    hub.advance("2026-09-15T08:00:00")
    [n] = [a for a in hub.peek("cw-lead", 2) if a["cpr"] == moved]
    assert n["title"] == "Overdue with cw-bob: Dropped out of eud-smed " \
        "at college-x", n
    assert "addressed to cw-bob, due 2026-09-14," in n["explanation"], n
    assert "it stays with cw-bob, who remains responsible" in \
        n["explanation"], n
    assert hub.peek("cw-bob", 1)[0]["alert_id"] == mine["alert_id"]


def test_an_ended_assignment_brings_no_earlier_one_back(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3512)
    covered, corrected = gen.born("2004-07-07"), gen.born("2004-08-08")
    # cw-bob covers September after cw-anna; for the other person the
    # youth unit corrects the row of 2026-01-01 to name cw-bob instead.
    hub.send(ev_assignment(covered, "cw-anna", "2026-01-01"),
             event("youth-a", covered, "contact_assignment",
                   caseworker="cw-bob", role="contact",
                   **{"from": "2026-09-01", "to": "2026-09-30"}),
             ev_assignment(corrected, "cw-anna", "2026-01-01"),
             ev_assignment(corrected, "cw-bob", "2026-01-01"),
             ev_dropout_risk(covered, "2026-09-07"),
             ev_dropout_risk(corrected, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    assert {a["cpr"] for a in hub.peek("cw-bob", 2)} == {covered,
                                                         corrected}
    hub.peek("cw-anna", 0)
    # The cover ends with its last day: nobody is the contact person
    # then, not cw-anna again.
    hub.advance("2026-09-30T23:59:59")
    hub.peek("desk-dora", 0)
    hub.advance("2026-10-01T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to duty-desk")
    [a] = hub.peek("desk-dora", 1)
    assert (a["cpr"], a["recipient"]) == (covered, "duty-desk")
    hub.peek("cw-anna", 0)


def test_handovers_planned_ahead_keep_todays_contact_person(make_hub):
    """RULES.md section 7: the latest `from` on or before the day wins,
    and at most 8 `from` days per person and role are kept. With 8
    handovers planned ahead, a ninth start drops the one planned
    furthest ahead, never the assignment in force today (it used to drop
    the earliest, and the person's alerts went to the desk); a start a
    later one has replaced by the day of receipt goes first."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    gen = CprGen(3514)
    ahead, behind = gen.born("2004-09-09"), gen.born("2004-10-10")
    hub.send(ev_assignment(ahead, "cw-anna", "2026-01-01"),
             *[ev_assignment(ahead, "cw-bob", f"2026-10-0{d}")
               for d in range(1, 9)],
             ev_dropout_risk(ahead, "2026-09-07"))
    # Eight starts already past (cw-bob's last on 2026-09-01), then
    # cw-anna from today: the oldest past start goes, not hers.
    hub.send(*[ev_assignment(behind, "cw-bob", f"2026-0{m}-01")
               for m in range(2, 10)],
             ev_assignment(behind, "cw-anna", "2026-09-07"),
             ev_dropout_risk(behind, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 2
    got = hub.peek("cw-anna", 2)
    assert {a["cpr"] for a in got} == {ahead, behind}, got
    hub.peek("desk-dora", 0)
    # Only the handover planned furthest ahead is logged as not kept: a
    # start of the past that decides no day goes without a word.
    assert re.findall(r"HUB-ASSIGN .* the assignment to ([\w-]+) from "
                      r"(\S+) is not kept", hub.log_text()) == \
        [("cw-bob", "2026-10-08")]
    # The first seven handovers are kept (2026-10-08 was dropped).
    hub.advance("2026-10-01T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-bob")
    assert [a["cpr"] for a in hub.peek("cw-bob", 1)] == [ahead]
    hub.peek("desk-dora", 0)


def test_a_handover_past_the_limit_is_named_not_kept(make_hub):
    """RULES.md section 7: plan at most 7 handovers ahead; past that the
    one planned furthest ahead is dropped, which may be the new one. It
    routes nothing then, so whoever planned it is told: hubctl on stderr
    (FILE:LINE: for --file, exit 0 all the same: it is stored), hubd's
    log (HUB-ASSIGN warn) for the youth unit's (its ack is ACCEPTED)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3516).born("2004-11-11")
    hub.assign(cpr, "cw-anna", start="2026-09-01")
    for d in range(1, 8):
        p = hub.assign(cpr, "cw-bob", start=f"2026-10-0{d}")
        assert p.stderr == "", p.stderr
    p = hub.assign(cpr, "cw-lead", start="2026-10-09")
    assert p.returncode == 0
    assert p.stdout == "assigned to cw-lead from 2026-10-09\n"
    assert p.stderr == ("hubctl: assign: the assignment to cw-lead from "
                        "2026-10-09 is not kept: at most 8 from days are "
                        "kept per person and role, and it is the one "
                        "planned furthest ahead; assign it again once "
                        "another has begun\n"), p.stderr
    # An earlier start drops the latest planned one instead.
    f = hub.tmp / "handover.csv"
    f.write_text(f"cpr;caseworker;from\n{cpr};cw-lead;2026-09-20\n")
    p = hub.hubctl("assign", "--file", str(f), check=False)
    assert p.returncode == 0, p.stderr
    assert p.stderr == (f"{f}:2: the assignment to cw-bob from 2026-10-07 "
                        "is not kept: at most 8 from days are kept per "
                        "person and role, and it is the one planned "
                        "furthest ahead; assign it again once another has "
                        "begun\n"), p.stderr
    # The audit trail does not show them as made and nothing more.
    assert [r["detail"] for r in show_audit(hub)
            if r["action"] == "assign"][-2:] == [
        "contact cw-lead from 2026-10-09; not kept: cw-lead from "
        "2026-10-09 (8 from days)",
        "contact cw-lead from 2026-09-20; not kept: cw-bob from "
        "2026-10-07 (8 from days)"]
    hub.send(ev_assignment(cpr, "cw-anna", "2026-10-10"))
    hub.wait_applied()
    hub.wait_log(r"HUB-ASSIGN event \w+ from youth-a: the assignment to "
                 r"cw-anna from 2026-10-10 is not kept")
    # RULES.md: hubctl's are said on its stderr only, not in hubd's log.
    assert hub.log_text().count("HUB-ASSIGN") == 1, hub.log_text()
    assert hub.running


def test_a_handover_not_kept_is_kept_when_assigned_again_later(make_hub):
    """RULES.md section 7 and OPERATIONS.md: a handover past the 8 from
    days is not kept, "assign it again once another has begun". Assigned
    again then, hubctl said `(already known)` and stored nothing, since
    its first try was stored: the handover never came. Now it is stored
    and routes from its day; the same once more is already known."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3519).born("2004-11-12")
    hub.assign(cpr, "cw-anna", start="2026-09-01")
    for d in range(1, 8):
        hub.assign(cpr, "cw-bob", start=f"2026-10-0{d}")
    p = hub.assign(cpr, "cw-lead", start="2026-10-09")
    assert "is not kept" in p.stderr, p.stderr
    hub.advance("2026-10-02T08:00:00")
    p = hub.assign(cpr, "cw-lead", start="2026-10-09")
    assert (p.stdout, p.stderr) == \
        ("assigned to cw-lead from 2026-10-09\n", ""), p.stdout + p.stderr
    p = hub.assign(cpr, "cw-lead", start="2026-10-09")
    assert p.stdout == "assigned to cw-lead from 2026-10-09 (already " \
        "known)\n", p.stdout
    hub.send(ev_dropout_risk(cpr, "2026-10-02"))
    hub.wait_applied()
    hub.advance("2026-10-09T00:00:00")
    hub.wait_log(r"HUB-REROUTE alert \w+ moved to cw-lead")
    assert [a["recipient"] for a in hub.peek("cw-lead", 1)] == ["cw-lead"]


def test_assign_without_from_starts_on_the_hub_clocks_today(make_hub):
    """OPERATIONS: "`--from` defaults to today"; RULES section 1: "today"
    is the hub clock, a test's clock_file when one is set. With the hub
    clock months before the system clock, an assignment made without
    --from is in force at once: the next alert goes to the caseworker,
    not to the desk as if the assignment began in the machine's today."""
    hub = rules_hub(make_hub, "2026-03-02T08:00:00")
    adult = CprGen(3561).born("2001-02-03")
    hub.cprs.add(adult)
    hub.hubctl("assign", "--cpr", adult, "--caseworker", "cw-anna")
    hub.send(ev_dropout(adult, "2026-03-02"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["recipient"] == "cw-anna", a


def timeline_rc(hub, caseworker, cpr):
    """inbox --timeline CPR as caseworker: its exit code (0 shown, 4 the
    hub refused: not theirs). Its stdout holds the CPR: not kept."""
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf),
                        "--timeline", cpr], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode in (0, 4), p.stderr
    return p.returncode


def test_an_open_notice_naming_the_person_opens_the_timeline(make_hub):
    """SECURITY.md "Need to know": a timeline is given for a person with
    an open alert addressed to the caller or their desk that names the
    person. An escalation notice names its person: while it is open the
    desk member and the team lead may read the timeline, and once the
    owner acknowledges the alert (closing the notices) neither may; a
    health alert's notice names nobody and opens none; another
    caseworker is refused throughout."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    gen = CprGen(3515)
    adult, young = gen.born("2001-02-03"), gen.born("2008-04-04")
    for cpr in (adult, young):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"),
             ev_referral(young, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 2
    for who in ("desk-dora", "cw-lead", "cw-bob"):
        assert timeline_rc(hub, who, adult) == 4, who
    hub.advance("2026-09-15T08:00:00")
    assert len(escalations(hub)) == 4        # both alerts, desk and lead
    for who in ("desk-dora", "cw-lead"):
        assert timeline_rc(hub, who, adult) == 0, who
        assert timeline_rc(hub, who, young) == 4, who
    assert timeline_rc(hub, "cw-bob", adult) == 4
    [dropout] = [a for a in hub.peek("cw-anna", 2) if a["rule"] == "dropout"]
    conf = hub.tmp / "inbox-cw-anna.conf"
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--ack",
                        dropout["alert_id"]], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    for who in ("desk-dora", "cw-lead"):
        assert timeline_rc(hub, who, adult) == 4, who


def test_a_rebuilt_derived_state_keeps_each_open_alerts_deadlines(make_hub):
    """RULES.md §6, §8; OPERATIONS.md "Store format": derived/ rebuilt
    from the log (deleted by hand, or of an earlier version's format
    after an upgrade) raises the alerts that were raised, and no others:
    an open alert's acknowledgement deadline still runs from when it was
    raised, not from the rebuild, and an alert already at the desk
    reaches the team lead a period after its deadline, not at once."""
    import shutil

    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(3520).born("2001-02-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    [a] = hub.peek("cw-anna", 1)
    alert_id = a["alert_id"]

    def rebuild(when):
        hub.advance(when)
        hub.stop()
        shutil.rmtree(hub.data_dir / "derived")
        hub.start()
        assert "HUB-REPLAY applying log entries 1.." in hub.current_log()
        hub.wait_applied()

    # HIGH: due Thursday 2026-09-10 08:00 UTC, as if nothing was rebuilt.
    rebuild("2026-09-09T08:00:00")
    hub.advance("2026-09-10T07:59:59")
    assert escalations(hub) == []
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(alert_id, "duty-desk")]
    # The team lead's step, Tuesday 09-15 08:00, neither sooner nor later.
    rebuild("2026-09-11T08:00:00")
    hub.advance("2026-09-15T07:00:00")
    assert escalations(hub) == [(alert_id, "duty-desk")]
    hub.advance("2026-09-15T08:00:00")
    assert escalations(hub) == [(alert_id, "duty-desk"),
                                (alert_id, "cw-lead")]


def test_rule_numbers_in_rules_md_are_the_alert_ids(make_hub):
    """RULES.md §2: "The number in the first column is the rule's number
    in alert ids". The same page names rules by number elsewhere (each
    rule's heading in §3, the settings table in §10): a caseworker who
    reads "rule 4" must find the rule whose alerts end in 04 (no other
    document's numbering, which the reader does not have). Checked
    against a real alert's id, too."""
    text = (hubtest.ROOT / "docs" / "RULES.md").read_text()
    table = dict((name, int(n)) for n, name in re.findall(
        r"^\| (\d+) \| `([a-z_.]+)` \|", text, re.M))
    assert table["dropout"] == 4 and len(table) == 17, table
    # A numbering of a document the reader does not have.
    wrong = re.findall(r".*DOMAIN.*", text)
    for line in re.findall(r"^### .*\(rules? [^)]*\).*$", text, re.M):
        names = re.findall(r"`([a-z_.]+)`", line)
        numbers = [int(n) for n in re.findall(r"\d+", line.split("(")[1])]
        known = [table[n] for n in names if n in table]
        if known and not set(known) & set(numbers):
            wrong.append(line)
    for name, numbers in re.findall(
            r"^\| `([a-z_]+)\.enabled` \| [^|]*\| [^|]*\| rules? ([\d-]+)",
            text, re.M):
        first = int(numbers.split("-")[0])
        ids = [n for r, n in table.items()
               if r == name or r.startswith(name + ".")]
        if first not in ids:
            wrong.append(f"{name}.enabled: rule {numbers}")
    assert not wrong, "numbers that are not the rule's alert id: " + \
        "; ".join(wrong)
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3541).born("2001-01-01")
    hub.send(ev_dropout(adult, "2026-09-07"))
    [a] = hub.peek("desk-dora", 1)
    assert int(a["alert_id"][-2:], 16) == table["dropout"], a


def test_an_operational_alert_has_no_acknowledgement_deadline(make_hub):
    """RULES.md §8: the acknowledgement windows are the rules' alerts';
    an operational alert (PROTOCOL.md §4, `ops.*`, to the `--ops`
    caseworkers) left unacknowledged for weeks stays with them and
    brings neither the desk nor the team lead a notice."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True, start=False,
                    settings={"ops_silence": "jobcenter-a=1,nobody-a=8784"})
    hub.hubctl("register-caseworker", "cw-bob", "--ops")
    hub.start()
    # hubd's first check (it warns of the unregistered id then) counts
    # the silence from the start.
    hub.wait_log(r"HUB-OPS ops_silence names 'nobody-a'")
    hub.advance("2026-09-07T09:30:00")
    [a] = hub.peek("cw-bob", 1)
    assert (a["rule"], a["priority"]) == ("ops.adapter_silent", "HIGH"), a
    hub.advance("2026-10-30T09:30:00")
    assert escalations(hub) == []
    hub.peek("desk-dora", 0)
    hub.peek("cw-lead", 0)
    assert hub.peek("cw-bob", 1)[0]["alert_id"] == a["alert_id"]


def test_registering_again_without_desk_takes_the_desk_away(make_hub):
    """OPERATIONS.md, Registering who may connect: the flags are those of
    the latest registration, so registering a desk member again without
    --desk ends their membership (a DeskMembership of theirs still
    counts)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3542).born("2001-01-01")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.peek("desk-dora", 1)
    hub.register_caseworker("desk-dora", desk=False)
    hub.peek("desk-dora", 0)
    hub.send(ev_desk("desk-dora", "2026-09-07"))
    hub.wait_applied()
    hub.peek("desk-dora", 1)


def test_a_shared_desk_login_without_desk_is_no_member(make_hub):
    """RULES.md section 7: a caseworker registered under the desk's own
    id has the desk's queue; without --desk it is no desk member, so the
    timeline of a person without a contact person is its only while an
    alert about them addressed to the desk is open. A member's is always
    (PROTOCOL.md section 4, TIMELINE)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", start=False)
    hub.keygen("duty-desk")
    hub.hubctl("register-caseworker", "duty-desk")
    hub.start()
    adult = CprGen(3543).born("2002-02-02")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()

    def timeline(caseworker):
        conf = hub.tmp / f"inbox-{caseworker}.conf"
        conf.write_text(f"caseworker = {caseworker}\n"
                        f"keys_dir = {hub.keys_dir}\n"
                        f"delivery = {hub.delivery}\n")
        return subprocess.run([binary("inbox"), "--config", str(conf),
                               "--timeline", adult], capture_output=True,
                              text=True, timeout=60).returncode
    [a] = hub.peek("duty-desk", 1)
    assert timeline("duty-desk") == 0
    rc, alerts, err = hub.inbox("duty-desk", max_alerts=1, idle_exit=10)
    assert rc == 0 and [x["alert_id"] for x in alerts] == [a["alert_id"]]
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 0)
    assert timeline("duty-desk") == 4
    assert timeline("desk-dora") == 0


def test_a_notice_to_an_unregistered_team_lead_waits_for_the_id(make_hub):
    """RULES.md section 8: routing.team_lead may name an id no caseworker
    is registered under yet; the notice waits in its queue and is
    delivered once one is registered under it and connects."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"routing.team_lead": "cw-ghost"}, escalation=True)
    adult = CprGen(3544).born("2002-02-02")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T08:00:00")
    assert [to for _, to in escalations(hub)] == ["cw-ghost"]
    assert hub.stats()["alerts_open"] == 2
    hub.keygen("cw-ghost")
    hub.register_caseworker("cw-ghost")
    [n] = hub.peek("cw-ghost", 1)
    assert (n["rule"], n["recipient"], n["cpr"]) == \
        ("escalation", "cw-ghost", adult)


def test_a_lead_period_ending_on_the_step_day_still_names_the_lead(
        make_hub):
    """RULES.md section 8: the team lead is the one valid on the day of
    the step; a DeskMembership's `to` day is still in force."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    lead = ev_desk("cw-lead", "2026-01-01", team_lead=True)
    lead.desk_membership.to = "2026-09-10"
    hub.send(lead)
    adult = CprGen(3545).born("2002-02-02")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-10T08:00:00")
    assert [to for _, to in escalations(hub)] == ["cw-lead"]


def test_office_hours_skip_a_holiday_and_start_at_the_minute(make_hub):
    """RULES.md section 8, Office hours: Ascension Day (Thursday
    2026-05-14) is closed; a 4-hour window raised Wednesday 15:59 local
    has one minute that day and ends Friday 11:59 local (09:59 UTC)."""
    hub = rules_hub(make_hub, "2026-05-13T13:59:00",
                    rules={"ack.high_hours": "4"}, escalation=True)
    adult = CprGen(3546).born("2001-02-03")
    hub.assign(adult, "cw-anna", start="2026-01-01")
    hub.send(ev_dropout(adult, "2026-05-13"))
    hub.wait_applied()
    hub.advance("2026-05-15T09:58:59")
    assert escalations(hub) == []
    hub.advance("2026-05-15T09:59:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk"]


def open_list(hub, caseworker):
    """(alert id, rule, recipient, title) of the caseworker's open alerts,
    as `inbox --list --json` gives them (nothing delivered)."""
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--list",
                        "--json"], capture_output=True, text=True,
                       timeout=30 * hubtest.SLOW)
    assert p.returncode == 0, p.stderr
    return sorted((a["rule"], a["recipient"], a["title"]) for a in
                  (json.loads(line) for line in p.stdout.splitlines()
                   if line.startswith("{")))


def test_a_clock_passing_a_handover_and_a_consents_end_moves_first(make_hub):
    """RULES.md section 7: an assignment dated in the future moves the
    open alerts on its first day, an addiction alert while the consent
    shares referrals that day (section 4); the consent's end after it
    takes the alert back from the new contact person, who gets the
    `withdrawn` notice (section 3). So also when the hub clock passes
    both at once (a clock jump; a hub that was down: section 6, timers
    fire in the order they fell due): the former contact person is told
    nothing."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3531).born("2005-02-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-02",
                         consent={"given": True, "expires": "2026-09-09"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    # cw-bob from Wednesday 09-09 (00:00 UTC); the consent ends at
    # 22:00 UTC that day. The clock passes both in one step.
    hub.assign(cpr, "cw-bob", start="2026-09-09")
    hub.settle()
    hub.advance("2026-09-11T08:00:00")
    assert open_list(hub, "cw-anna") == []
    assert open_list(hub, "cw-bob") == [
        ("withdrawn", "cw-bob", f"Withdrawn: alert {a['alert_id']} "
         "(addiction)")]
    assert re.search(r"HUB-REROUTE alert %s moved to cw-bob" %
                     a["alert_id"], hub.log_text())


def test_a_hub_down_over_steps_a_handover_and_a_consents_end(make_hub):
    """RULES.md sections 6-8 as a running hub would have it, with hubd
    down over them all: the combined alert's desk step (Monday 14:00)
    and team lead step (Tuesday 10:00) name cw-anna, whose alert it was
    then; on Wednesday cw-bob takes over the person's open alerts (the
    consent still shares the referral: the combined alert that names it
    and the addiction alert go too); the consent's end that night takes
    the addiction alert back from cw-bob and the combined alert stops
    naming the referral, with him."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules=dict(LEAD, **{"combined.enabled": "yes"}),
                    escalation=True)
    cpr = CprGen(3532).born("2005-02-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-01"),
             ev_referral(cpr, "2026-09-02",
                         consent={"given": True, "expires": "2026-09-09"}),
             ev_readiness(cpr, "2026-09-03", 9))
    assert hub.wait_applied()["alerts"] == 3
    hub.assign(cpr, "cw-bob", start="2026-09-09")
    hub.settle()
    hub.stop()
    hub.set_clock("2026-09-11T08:00:00")
    hub.start()
    hub.settle()
    combined = "3 warning signs within 90 days: cross-disciplinary " \
        "meeting proposed"
    assert open_list(hub, "cw-anna") == []
    assert open_list(hub, "cw-bob") == [
        ("combined", "cw-bob", combined),
        ("dropout_risk", "cw-bob", "Risk of dropping out of college-x"),
        ("withdrawn", "cw-bob",
         "Withdrawn: alert 000000000000000307 (addiction)")]
    assert open_list(hub, "desk-dora") == [
        ("escalation", "duty-desk", f"Overdue with cw-anna: {combined}")]
    assert open_list(hub, "cw-lead") == [
        ("escalation", "cw-lead", f"Overdue with cw-anna: {combined}")]
    # A rebuild of the derived state replays it so (section 6).
    lists = {cw: open_list(hub, cw)
             for cw in ("cw-anna", "cw-bob", "desk-dora", "cw-lead")}
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(r"HUB-REPLAY")
    hub.settle()
    assert {cw: open_list(hub, cw) for cw in lists} == lists


def test_a_handover_and_a_withdrawal_applied_together(make_hub):
    """RULES.md sections 3, 4 and 7: a new contact person takes over the
    open addiction alert (the former one is told nothing), and a consent
    withdrawn after it takes the alert back from them, with their
    `withdrawn` notice. So also when the hub applies both events in one
    go (they arrive together, here on one connection back to back);
    in the other order the alert is withdrawn with cw-anna, who is told,
    and moves nowhere."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    hub.keygen("youth-b")
    hub.register_agency("youth-b", "assignment,addiction")
    gen = CprGen(3533)
    moved_first, withdrawn_first = gen.born("2005-02-03"), \
        gen.born("2005-03-03")
    for cpr, order in ((moved_first, 1), (withdrawn_first, -1)):
        hub.assign(cpr, "cw-anna")
        hub.send(ev_referral(cpr, "2026-09-02", consent={"given": True}))
        assert hub.wait_applied()
        hub.cprs.add(cpr)
        move = event("youth-b", cpr, "contact_assignment",
                     caseworker="cw-bob", role="contact",
                     **{"from": "2026-09-07"})
        withdrawal = event("youth-b", cpr, "addiction_referral",
                           service="rmc-a", date="2026-09-02",
                           stage="TREATMENT_STARTED",
                           consent={"given": False})
        client = hubtest.IngestClient(hub, "youth-b")
        try:
            for env in (move, withdrawal)[::order]:
                assert client.send(hubtest.frame(env))
            for _ in range(2):
                ack = client.recv_ack(10)
                assert ack is not None and ack.status == hubtest.ACCEPTED
        finally:
            client.close()
        hub.wait_applied()
    ids = dict(zip((moved_first, withdrawn_first),
                   re.findall(r"HUB-ALERT alert (\w+) \(addiction\) "
                              r"raised for cw-anna", hub.log_text())))
    assert open_list(hub, "cw-bob") == [
        ("withdrawn", "cw-bob",
         f"Withdrawn: alert {ids[moved_first]} (addiction)")]
    assert open_list(hub, "cw-anna") == [
        ("withdrawn", "cw-anna",
         f"Withdrawn: alert {ids[withdrawn_first]} (addiction)")]
    moves = re.findall(r"HUB-REROUTE alert (\w+) moved", hub.log_text())
    assert moves == [ids[moved_first]], moves


def test_an_assignment_written_while_hubd_was_down_moves_as_on_its_day(
        make_hub):
    """RULES.md section 6: at a start, an assignment hubctl wrote while
    hubd was down is applied in the hub clock's order with the timers,
    as a running hub would have: cw-bob takes the open addiction alert
    over on Tuesday, under the consent in force then, and the consent's
    end on Wednesday night takes it back from him (his `withdrawn`
    notice), not from cw-anna."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3534).born("2005-02-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-02",
                         consent={"given": True, "expires": "2026-09-09"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    hub.stop()
    hub.set_clock("2026-09-08T08:00:00")
    hub.assign(cpr, "cw-bob", start="2026-09-08")
    hub.set_clock("2026-09-11T08:00:00")
    hub.start()
    hub.settle()
    assert open_list(hub, "cw-anna") == []
    assert open_list(hub, "cw-bob") == [
        ("withdrawn", "cw-bob", f"Withdrawn: alert {a['alert_id']} "
         "(addiction)")]
