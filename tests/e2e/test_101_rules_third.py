"""101 rules, third round: docs/RULES.md read as a caseworker, the duty
desk and a team lead read it, each promise tried at its edge.

The ack deadlines are the defaults where a test escalates (HIGH 24 office
hours = three office days). 2026-09-07 is a Monday; 08:00 UTC is 10:00 in
Copenhagen (summer time)."""

import json

from hubtest import CprGen, dropout_alert, ev_desk, ev_dropout, rules_hub
from test_35_rules_routing import LEAD, escalations
from test_41_rules_followup import absence_alert_withdrawn
from test_08_inbox_cli import run



def lead_owns_an_overdue_dropout(hub, seed):
    """cw-lead, the team lead, is the contact person of an adult whose
    dropout alert (HIGH) goes unacknowledged: the desk's notice comes on
    Thursday 09-10 10:00, the team lead's step is due Tuesday 09-15
    10:00 (Danish time)."""
    adult = CprGen(seed).born("2001-04-05")
    a = dropout_alert(hub, adult, "cw-lead")
    assert a["recipient"] == "cw-lead"
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a["alert_id"], "duty-desk")]
    return adult, a["alert_id"]


def test_a_team_lead_who_owns_the_alert_gets_no_notice_of_it(make_hub):
    """RULES.md §8: the team lead's step tells the one above the desk of
    an overdue alert. A team lead who is the alert's owner is told
    nothing by a notice of their own alert (and acknowledging one would
    not acknowledge the alert): the desk's notice is the step above
    them, and the escalation ends there, logged."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult, alert_id = lead_owns_an_overdue_dropout(hub, 10101)
    hub.advance("2026-09-15T08:00:00")
    hub.wait_log(r"HUB-ESCALATE alert %s not acknowledged in time; no "
                 r"notice to the team lead cw-lead, who owns it: the "
                 r"desk's notice stands" % alert_id)
    assert escalations(hub) == [(alert_id, "duty-desk")]
    # Their own alert only; the desk's notice still open with the desk.
    [mine] = hub.peek("cw-lead", 1)
    assert (mine["alert_id"], mine["rule"]) == (alert_id, "dropout")
    [n] = hub.peek("desk-dora", 1)
    assert (n["rule"], n["title"]) == (
        "escalation", "Overdue with cw-lead: Dropped out of eud-smed at "
        "college-x")
    assert hub.stats()["alerts"] == 2
    # The step is over: handed on to cw-anna, the alert brings the team
    # lead no notice later either; the desk's stays open.
    hub.assign(adult, "cw-anna", start="2026-09-15")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-anna" % alert_id)
    hub.advance("2026-09-22T08:00:00")
    assert escalations(hub) == [(alert_id, "duty-desk")]
    hub.peek("cw-lead", 0)
    assert hub.peek("cw-anna", 1)[0]["alert_id"] == alert_id
    assert hub.peek("desk-dora", 1)[0]["rule"] == "escalation"


def test_the_desks_team_lead_who_owns_the_alert_gets_no_notice(make_hub):
    """The same for the team lead the youth unit names (a DeskMembership
    with team_lead = true, no routing.team_lead): on the desk too, they
    see the desk's notice of their own alert, and acknowledging it
    acknowledges the alert (RULES.md §8, "Acknowledging")."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True)
    hub.send(ev_desk("cw-lead", "2026-01-01", team_lead=True))
    hub.wait_applied()
    _, alert_id = lead_owns_an_overdue_dropout(hub, 10102)
    hub.advance("2026-09-15T08:00:00")
    hub.wait_log(r"no notice to the team lead cw-lead, who owns it")
    assert escalations(hub) == [(alert_id, "duty-desk")]
    mine = hub.peek("cw-lead", 2)
    assert sorted(a["rule"] for a in mine) == ["dropout", "escalation"]
    notice = [a for a in mine if a["rule"] == "escalation"][0]["alert_id"]
    assert run(hub, "cw-lead", "--ack", notice) == (0, "acknowledged\n", "")
    hub.wait_log(r"cw-lead acknowledged the desk's notice of their own "
                 r"alert %s: taken as the alert's" % alert_id)
    hub.peek("cw-lead", 0)
    hub.peek("desk-dora", 0)


def test_the_lead_who_takes_over_acknowledges_the_alert_by_its_notice(
        make_hub):
    """A team lead's notice already sent stays where it is on a
    reassignment (RULES.md §7, §8). When the alert then moves to the team
    lead themselves, their notice is of their own alert: acknowledging
    it acknowledges the alert, as the owner's acknowledgement of the
    desk's notice does, and closes the desk's notice too."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(10103).born("2001-06-07")
    alert_id = dropout_alert(hub, adult)["alert_id"]
    hub.advance("2026-09-15T08:00:00")
    assert [to for _, to in escalations(hub)] == ["duty-desk", "cw-lead"]
    [n] = hub.peek("cw-lead", 1)
    hub.assign(adult, "cw-lead", start="2026-09-15")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-lead" % alert_id)
    assert sorted(x["rule"] for x in hub.peek("cw-lead", 2)) == \
        ["dropout", "escalation"]
    assert run(hub, "cw-lead", "--ack", n["alert_id"]) == \
        (0, "acknowledged\n", "")
    hub.wait_log(r"cw-lead acknowledged the team lead's notice of their "
                 r"own alert %s: taken as the alert's" % alert_id)
    hub.peek("cw-lead", 0)
    hub.peek("desk-dora", 0)
    hub.peek("cw-anna", 0)
    # SECURITY.md, the audit trail: the `ack` names the alert.
    acks = [(r["actor"], r["detail"]) for r in
            (json.loads(line) for line in
             hub.hubctl("audit", "show", "--json").stdout.splitlines()
             if line.startswith("{")) if r["action"] == "ack"]
    assert acks == [("cw-lead", alert_id)], acks


def test_strictly_above_a_correction_to_the_threshold_withdraws(make_hub):
    """RULES.md §3: with strictly_above = yes the episode ends when the
    rate is at or under the threshold, and "a withdrawal with
    strictly_above = yes says 'not above the threshold' instead of
    'under the threshold'". 4 of 30 (13.3 %) alerts; corrected to 3 of
    30, exactly 10 %, the alert is withdrawn, shown 10.0 %."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"absence.rolling.min_days": "5",
                           "absence.rolling.strictly_above": "yes"})
    a, w = absence_alert_withdrawn(hub, 10104, 4, 3)
    assert (w["rule"], w["title"]) == (
        "withdrawn", f"Withdrawn: alert {a['alert_id']} (absence.rolling)")
    assert w["explanation"] == (
        f"Alert {a['alert_id']} (absence.rolling) is withdrawn: school-a "
        "corrected its report for 2026-08-31 to 2026-09-04: absence is now "
        "3 of 30 expected lessons (10.0 %), not above the threshold of "
        "10 %. Nothing more is expected of you for it.")


def test_offer_deadline_skips_only_the_summer_days_of_a_range(make_hub):
    """RULES.md §6: the offer deadline does not count "a day in June,
    July or August that lies inside any school-holiday range", while
    "holiday days in May or September" count. With one range
    2026-08-25..09-04, a contact on 08-20 counts 08-21..08-24, skips
    08-25..08-31 and counts on from 09-01: day 30 is Saturday 09-26
    (not moved), warned at the start of Friday 09-25."""
    hub = rules_hub(make_hub, "2026-08-18T08:00:00",
                    rules={"calendar.school_holiday":
                           "2026-08-25..2026-09-04"})
    cpr = CprGen(10106).born("2010-02-03")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-08-18"))
    hub.wait_applied()
    [a] = hub.peek("cw-anna", 1)
    hub.advance("2026-08-20T08:00:00")
    assert hub.record("cw-anna", "contact", a["alert_id"], "phone")[:2] == \
        (0, "recorded\n")
    hub.wait_applied()
    hub.advance("2026-09-24T23:59:59")
    hub.peek("desk-dora", 0)
    hub.advance("2026-09-25T00:00:00")
    [w] = hub.peek("desk-dora", 1)
    assert (w["rule"], w["due"]) == ("deadline.offer.warn", "2026-09-26")
    assert "Not recorded as done, and the deadline is 2026-09-26." in \
        w["explanation"]


def test_an_alert_moved_to_the_lead_before_their_step_brings_none(
        make_hub):
    """RULES.md §8: who owns the alert is judged on the day of the team
    lead's step. cw-anna's overdue alert, the desk told on Thursday, is
    handed to cw-lead on Friday: at Tuesday's step cw-lead owns it, and
    no notice of it comes to them."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=LEAD,
                    escalation=True)
    adult = CprGen(10107).born("2001-06-08")
    a = dropout_alert(hub, adult)
    hub.advance("2026-09-10T08:00:00")
    assert escalations(hub) == [(a["alert_id"], "duty-desk")]
    hub.set_clock("2026-09-11T08:00:00")
    hub.assign(adult, "cw-lead", start="2026-09-11")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-lead" % a["alert_id"])
    hub.advance("2026-09-15T08:00:00")
    hub.wait_log(r"no notice to the team lead cw-lead, who owns it")
    assert escalations(hub) == [(a["alert_id"], "duty-desk")]
    [mine] = hub.peek("cw-lead", 1)
    assert (mine["alert_id"], mine["recipient"]) == (a["alert_id"],
                                                     "cw-lead")
