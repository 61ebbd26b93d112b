"""92 timeline: a person's timeline as a caseworker, the desk and a
vendor ask for it (docs/PROTOCOL.md §4 Queries, OPERATIONS.md
"Caseworkers"), after what test_67, 70, 08 and 65 do not assert."""

import json
import subprocess

from hubtest import (E_DENIED, OK, binary, escalated_dropout, ev_assignment,
                     ev_desk, ev_dropout,
                     ev_referral, pb)
from test_53_delivery import adults, clients, hub53  # noqa: F401
from test_57_deliver2 import action

NOT_YOURS = "this person is not assigned to you or your desk"


def timeline(c, cpr, rid=1):
    return c.ask(rid, kind=pb().TIMELINE, cpr=cpr)


def annas_referred_adult(make_hub, clients, seed, day, consent):
    """A hub53 hub, cw-anna's adult referred on `day` with `consent`, and
    cw-anna connected (no Hello): (hub, the adult, cw-anna's client)."""
    hub = hub53(make_hub)
    [p] = adults(seed, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_referral(p, day, consent=consent))
    hub.wait_applied()
    anna = clients(hub, "cw-anna", hello=False)
    anna.connected()
    return hub, p, anna


def desk_refused_at_first(hub, clients, p):
    """desk-dora connected once what was sent is applied; p's timeline
    refused to her (no alert about p at the desk yet): her client."""
    hub.wait_applied()
    dora = clients(hub, "desk-dora", hello=False)
    dora.connected()
    r = timeline(dora, p, 1)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    return dora


def test_who_may_see_whose_timeline(make_hub, clients):
    hub = hub53(make_hub)
    own, moved, guided, future, ended, unassigned, referred = \
        adults(9201, 7)
    hub.assign(own, "cw-anna")
    hub.assign(moved, "cw-anna")
    hub.assign(moved, "cw-bob", start="2026-10-01")
    hub.send(ev_assignment(guided, "cw-bob", "2026-01-01", role="guidance"))
    hub.assign(future, "cw-bob", start="2026-12-01")
    hub.assign(ended, "cw-bob", start="2025-01-01", end="2026-10-31")
    hub.send(ev_dropout_risk_free(unassigned))
    hub.send(ev_referral(referred, "2026-10-20"))
    hub.wait_applied()
    anna = clients(hub, "cw-anna", hello=False)
    bob = clients(hub, "cw-bob", hello=False)
    dora = clients(hub, "desk-dora", hello=False)
    for c in (anna, bob, dora):
        c.connected()
    want = [(anna, own, OK), (bob, own, E_DENIED),
            (anna, moved, E_DENIED), (bob, moved, OK),
            (bob, guided, E_DENIED), (bob, future, E_DENIED),
            (bob, ended, E_DENIED), (dora, unassigned, OK),
            (anna, unassigned, E_DENIED), (dora, referred, E_DENIED),
            (dora, own, E_DENIED), (dora, future, OK), (dora, ended, OK)]
    got = []
    for i, (c, p, code) in enumerate(want):
        r = timeline(c, p, 10 + i)
        got.append((i, r.code, r.reason if r.code else ""))
    assert got == [(i, code, NOT_YOURS if code else "")
                   for i, (_, _, code) in enumerate(want)], got


def ev_dropout_risk_free(cpr):
    return ev_dropout(cpr, "2026-10-01")


def test_health_alert_by_the_consent_at_the_moment_of_asking(
        make_hub, clients):
    """SECURITY.md: consent is judged at every disclosure, by the Danish
    date at that instant; consent until 2026-11-04 (winter time) shares
    nothing from 23:00 UTC that day. The timeline asked at that instant,
    with nothing else in between, no longer shows the health alert."""
    hub, p, anna = annas_referred_adult(
        make_hub, clients, 9204, "2026-10-30",
        {"given": True, "expires": "2026-11-04"})

    def rules():
        r = timeline(anna, p, rules.n)
        rules.n += 1
        assert r.code == OK, r
        return [e.rule for e in r.timeline if e.is_alert]
    rules.n = 1
    assert rules() == ["addiction"]
    hub.set_clock("2026-11-04T22:59:59")
    assert rules() == ["addiction"]
    hub.set_clock("2026-11-04T23:00:00")
    assert rules() == [], "shown after the consent ended"


def test_an_assignment_opens_the_timeline_from_its_first_to_its_last_day(
        make_hub, clients):
    """OPERATIONS.md "Contact persons": the latest `from` on or before the
    day wins, until its `to`; a timeline is shown to the contact person
    "on the hub's today". Asked at the instant the day changes (no settle
    in between), the new day counts: the assignment that ended yesterday
    no longer opens the timeline, the one from today does, and the
    former contact person is refused."""
    hub = hub53(make_hub)                       # 2026-11-02T08:00 UTC
    today, last_today, ended, tomorrow, handed = adults(9206, 5)
    hub.assign(today, "cw-bob", start="2026-11-02")
    hub.assign(last_today, "cw-bob", start="2025-01-01", end="2026-11-02")
    hub.assign(ended, "cw-bob", start="2025-01-01", end="2026-11-01")
    hub.assign(tomorrow, "cw-bob", start="2026-11-03")
    hub.assign(handed, "cw-anna", start="2025-01-01")
    hub.assign(handed, "cw-bob", start="2026-11-03")
    bob = clients(hub, "cw-bob", hello=False)
    anna = clients(hub, "cw-anna", hello=False)
    bob.connected()
    anna.connected()
    ps = [today, last_today, ended, tomorrow, handed]
    rid = [100]

    def codes():
        got = []
        for p in ps:
            rid[0] += 1
            got.append(timeline(bob, p, rid[0]).code)
        rid[0] += 1
        return got, timeline(anna, handed, rid[0]).code
    d = E_DENIED
    assert codes() == ([OK, OK, d, d, d], OK)
    hub.set_clock("2026-11-02T23:59:59")
    assert codes() == ([OK, OK, d, d, d], OK)
    hub.set_clock("2026-11-03T00:00:00")
    assert codes() == ([OK, d, d, OK, OK], d)


def test_a_timeline_asked_right_after_hubctl_assign_opens(make_hub, clients):
    """OPERATIONS.md "Contact persons": once `hubctl assign` has printed
    `assigned`, the caseworker's next frame is judged with it: a timeline
    asked at once opens to the new contact person, and the one it was
    handed over from is refused at once (hubd picks up what hubctl wrote
    before it answers, not at its next half-second catch-up)."""
    hub = hub53(make_hub)
    bob = clients(hub, "cw-bob", hello=False)
    anna = clients(hub, "cw-anna", hello=False)
    bob.connected()
    anna.connected()
    for i, p in enumerate(adults(9207, 4)):
        assert timeline(bob, p, 200 + i).code == E_DENIED
        hub.assign(p, "cw-bob", start="2026-11-02")
        assert timeline(bob, p, 300 + i).code == OK, i
        hub.assign(p, "cw-anna", start="2026-11-02")
        assert timeline(anna, p, 400 + i).code == OK, i
        assert timeline(bob, p, 500 + i).code == E_DENIED, i


def test_the_desk_sees_a_person_by_a_missed_treatment_start_alone(
        make_hub, clients):
    """PROTOCOL.md §4 TIMELINE: a person known only by addiction referrals
    (and the actions on their health alerts) is refused to the desk; an
    open alert addressed to the desk that names the person opens the
    timeline, and a missed treatment start at the desk shows to each
    member while it is open. Consent taken back (RULES.md §4) withdraws
    it: the desk is refused again, its action on it no longer tells."""
    hub = hub53(make_hub)                        # 2026-11-02
    [p] = adults(9207, 1)
    # Referred a month ago with consent covering stages, no contact
    # person: the addiction alert is withheld, the missed start (past its
    # 14 days at once) goes to the desk.
    hub.send(ev_referral(p, "2026-10-01",
                         consent={"given": True, "scope": "all"}))
    hub.settle()
    dora = clients(hub, "desk-dora", hello=False)
    bob = clients(hub, "cw-bob", hello=False)
    dora.connected()
    bob.connected()
    r = timeline(dora, p, 1)
    assert r.code == OK, r
    [e] = r.timeline
    assert (e.is_alert, e.rule, e.open, e.date) == (
        True, "deadline.treatment.missed", True, "2026-11-02"), e
    r = timeline(bob, p, 2)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    r = action(dora, 3, e.alert_id, how="called the service",
               date="2026-11-02")
    assert r.code == OK, r
    r = timeline(dora, p, 4)
    assert [(x.is_alert, x.summary) for x in r.timeline] == [
        (False, "contact made by desk-dora: called the service"),
        (True, e.summary)], r
    hub.send(ev_referral(p, "2026-11-02", consent={"given": False}))
    hub.settle()
    r = timeline(dora, p, 5)
    assert (r.code, r.reason, len(r.timeline)) == (E_DENIED, NOT_YOURS, 0), r


def test_the_team_lead_sees_a_person_while_its_notice_is_open(
        make_hub, clients):
    """OPERATIONS.md (web inbox): an escalation notice addressed to a team
    lead opens the person's timeline; PROTOCOL.md §4: alerts stay in the
    timeline once closed, an escalation notice closed with its alert
    too, with `open` false. Acknowledged by the owner, the notices close
    and the team lead (no contact person, not on the desk) is refused."""
    hub = hub53(make_hub, escalation=True)
    hub.set_clock("2026-09-07T08:00:00")
    [p] = adults(9203, 1)
    hub.send(ev_desk("cw-lead", "2026-01-01", team_lead=True))
    escalated_dropout(hub, p)
    lead = clients(hub, "cw-lead", hello=False)
    anna = clients(hub, "cw-anna", hello=False)
    lead.connected()
    anna.connected()
    want = [("2024-01-01", False, "", True),
            ("2026-09-07", False, "", True),
            ("2026-09-07", True, "dropout", True),
            ("2026-09-10", True, "escalation", True),
            ("2026-09-16", True, "escalation", True)]

    def seen(r):
        assert r.code == OK, r
        return [(e.date, e.is_alert, e.rule, e.open or not e.is_alert)
                for e in r.timeline]
    assert seen(timeline(lead, p, 1)) == want
    assert seen(timeline(anna, p, 2)) == want
    [aid] = [e.alert_id for e in timeline(anna, p, 3).timeline
             if e.rule == "dropout"]
    anna.ack(aid)
    r = anna.ask(4, alert_id=aid)          # frames are handled in order
    assert not r.alerts, r
    closed = [(d, a, rule, not a) for d, a, rule, _ in want]
    assert seen(timeline(anna, p, 5)) == closed
    r = timeline(lead, p, 6)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r


def run_inbox(hub, caseworker, *args):
    conf = hub.tmp / f"inbox92-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), *args],
                       capture_output=True, text=True, timeout=60)
    # stdout holds the person's CPR by design: kept out of the swept logs
    (hub.client_dir / "inbox92.out").write_text(p.stdout)
    return p.returncode, p.stdout, p.stderr


def test_inbox_timeline_lines_exactly(make_hub, clients):
    """OPERATIONS.md "What inbox prints": `DATE  event SUMMARY` or `DATE
    ALERT SUMMARY` (`  [open]` after an open alert only), then `N
    entries`; the CPR in any of its three forms; an action on its day
    with its note after " — ", before the alert raised that morning."""
    hub = hub53(make_hub)                        # 2026-11-02
    [p, other] = adults(9209, 2)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-26"), ev_dropout(p, "2026-10-28",
                                                     programme="hhx"))
    anna = clients(hub, "cw-anna", hello=False)
    anna.connected()
    r = anna.ask(1)
    first, second = sorted(a.alert_id for a in r.alerts)
    assert action(anna, 2, first, how="phone", note="agreed to meet",
                  date="2026-11-02").code == OK
    anna.ack(second)
    assert not anna.ask(3, alert_id=second).alerts
    want = ("2024-01-01  event contact person: cw-anna (contact)\n"
            "2026-10-26  event dropped out of eud-smed at college-x\n"
            "2026-10-28  event dropped out of hhx at college-x\n"
            "2026-11-02  event contact made by cw-anna: phone — agreed to "
            "meet\n"
            "2026-11-02  ALERT Dropped out of eud-smed at college-x  [open]\n"
            "2026-11-02  ALERT Dropped out of hhx at college-x\n"
            "6 entries\n")
    for form in (p, p[:6] + "-" + p[6:], p[:6] + " " + p[6:]):
        assert run_inbox(hub, "cw-anna", "--timeline", form) == \
            (0, want, ""), form
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", p, "--json")
    got = [json.loads(x) for x in out.splitlines()]
    assert [(x["kind"], x.get("open"), x.get("type"), x.get("agency"))
            for x in got] == [
        ("event", None, "ContactAssignment", "hubctl"),
        ("event", None, "Dropout", "college-a"),
        ("event", None, "Dropout", "college-a"),
        ("event", None, "CaseworkerAction", "hub"),
        ("alert", True, None, None), ("alert", False, None, None)], got
    assert run_inbox(hub, "cw-anna", "--timeline", other) == (
        4, "", f"inbox: the hub refused: {NOT_YOURS}\n")
    hub.cprs.add(other)


def test_an_action_on_a_health_alert_leaves_the_timeline_with_it(
        make_hub, clients):
    """PROTOCOL.md §4 TIMELINE: an action recorded on a health alert shows
    only where that alert itself appears (to its recipient, while it is
    open). Acknowledged (p), or taken back by a consent whose scope no
    longer covers referrals (q, RULES.md §4): alert and action leave the
    timeline, and the `withdrawn` notice is in none."""
    hub = hub53(make_hub)
    p, q = adults(9211, 2)
    for x in (p, q):
        hub.assign(x, "cw-anna")
        hub.send(ev_referral(x, "2026-10-30", consent={"given": True}))
    hub.wait_applied()
    anna = clients(hub, "cw-anna", hello=False)
    anna.connected()
    alert_of = {a.cpr: a.alert_id for a in anna.ask(1).alerts}
    for i, x in enumerate((p, q)):
        assert action(anna, 10 + i, alert_of[x], how="called",
                      date="2026-11-02").code == OK
        r = timeline(anna, x, 20 + i)
        assert [(e.is_alert, e.rule, e.summary) for e in r.timeline[1:]] \
            == [(False, "", "contact made by cw-anna: called"),
                (True, "addiction", "Referred to addiction treatment "
                 "(shared with consent)")], r
    anna.ack(alert_of[p])
    hub.send(ev_referral(q, "2026-11-02", stage="TREATMENT_STARTED",
                         consent={"given": True, "scope": "stage"}))
    hub.settle()
    [w] = anna.ask(30).alerts
    assert (w.rule, w.cpr) == ("withdrawn", ""), w
    for i, x in enumerate((p, q)):
        r = timeline(anna, x, 40 + i)
        assert r.code == OK and [e.summary for e in r.timeline] == [
            "contact person: cw-anna (contact)"], r


def timeline_records(hub, cpr):
    out = hub.hubctl("audit", "show", "--json", "--cpr", cpr).stdout
    return [(r["actor"], r["result"]) for r in map(json.loads,
                                                    out.splitlines())
            if r["action"] == "timeline"]


def test_inbox_timeline_of_400_and_401_entries_is_one_and_two_records(
        make_hub):
    """SECURITY.md "Audit trail": one `timeline` record per answer, and
    `inbox --timeline` asks 400 entries at a time, so showing a person of
    401 to 800 entries once is two `timeline` `ok` records (400: one)."""
    from hubtest import envelope
    from test_53_delivery import cw_annas_adult_of_400_entries
    hub, p = cw_annas_adult_of_400_entries(make_hub, 9213, "r400")
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", p)
    assert (rc, out.splitlines()[-1], err) == (0, "400 entries", "")
    hub.wait_stats("the reads recorded",
                   lambda s: len(timeline_records(hub, p)) >= 1)
    assert timeline_records(hub, p) == [("cw-anna", "ok")]
    hub.send(envelope("school-a", p, salt="r400-last",
                      period_start="2026-09-14", period_end="2026-09-18",
                      absent=0, expected=30))
    hub.wait_applied()
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", p)
    assert (rc, out.splitlines()[-1], err) == (0, "401 entries", "")
    hub.wait_stats("the reads recorded",
                   lambda s: len(timeline_records(hub, p)) >= 3)
    assert timeline_records(hub, p) == [("cw-anna", "ok")] * 3


def test_an_ended_assignment_leaves_the_addiction_alert_and_its_timeline(
        make_hub, clients):
    """RULES.md §7: an assignment that ends hands the open alerts to the
    desk, but an open `addiction` alert never moves to the desk: it stays
    with the caseworker it was shared with. PROTOCOL.md §4: that open
    alert, naming the person, still opens the timeline to her, health
    alert included; the desk now sees the person (no contact person,
    known by events a timeline shows) without it."""
    hub = hub53(make_hub)                        # 2026-11-02
    [p] = adults(9214, 1)
    hub.assign(p, "cw-anna", start="2025-01-01", end="2026-11-05")
    hub.send(ev_referral(p, "2026-10-30", consent={"given": True}),
             ev_dropout(p, "2026-10-30"))
    hub.wait_applied()
    anna = clients(hub, "cw-anna", hello=False)
    dora = clients(hub, "desk-dora", hello=False)
    anna.connected()
    dora.connected()

    def alerts(c, rid):
        r = timeline(c, p, rid)
        assert r.code == OK, r
        return sorted(e.rule for e in r.timeline if e.is_alert)
    assert alerts(anna, 1) == ["addiction", "dropout"]
    r = timeline(dora, p, 2)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r
    hub.advance("2026-11-06T08:00:00")
    assert [(a.rule, a.recipient) for a in anna.ask(3).alerts] == [
        ("addiction", "cw-anna")]
    assert [(a.rule, a.recipient) for a in dora.ask(4).alerts] == [
        ("dropout", "duty-desk")]
    assert alerts(anna, 5) == ["addiction", "dropout"]
    assert alerts(dora, 6) == ["dropout"]


def test_a_desk_membership_counts_from_the_instant_its_day_begins(
        make_hub, clients):
    """PROTOCOL.md §4: desk members are those on the duty desk on the
    hub's today, a DeskMembership from its first day to its last. Asked
    at the instant the day changes, the new member may see an unassigned
    person and the one whose last day it was may not; the desk's open
    alerts are listed to the one and no longer to the other."""
    hub = hub53(make_hub)                        # 2026-11-02T08:00 UTC
    [p] = adults(9215, 1)
    hub.send(ev_desk("cw-bob", "2026-11-03"), ev_desk("cw-anna", "2026-01-01"),
             ev_dropout(p, "2026-10-26"))
    hub.send(ev_desk_end("cw-anna", "2026-01-01", "2026-11-02"))
    hub.wait_applied()
    anna = clients(hub, "cw-anna", hello=False)
    bob = clients(hub, "cw-bob", hello=False)
    anna.connected()
    bob.connected()
    rid = [0]

    def view():
        got = []
        for c in (anna, bob):
            rid[0] += 2
            got.append((timeline(c, p, rid[0]).code,
                        len(c.ask(rid[0] + 1).alerts)))
        return got
    assert view() == [(OK, 1), (E_DENIED, 0)]
    hub.set_clock("2026-11-02T23:59:59")
    assert view() == [(OK, 1), (E_DENIED, 0)]
    hub.set_clock("2026-11-03T00:00:00")
    assert view() == [(E_DENIED, 0), (OK, 1)]


def ev_desk_end(caseworker, start, end):
    from hubtest import event
    return event("youth-a", "", "desk_membership", desk="duty-desk",
                 caseworker=caseworker, salt=f"desk-end-{caseworker}",
                 **{"from": start, "to": end})


def test_the_desk_sees_an_assigned_person_while_a_desk_alert_names_them(
        make_hub, clients):
    """PROTOCOL.md §4 TIMELINE: an open alert addressed to the caseworker's
    desk that names the person opens the timeline, even of a person with
    a contact person (a deadline warning stays at the desk, RULES.md §7);
    acknowledged, it opens it no more."""
    from hubtest import CprGen
    hub = hub53(make_hub)
    hub.set_clock("2026-09-07T08:00:00")
    p = CprGen(9216).born("2010-09-07")          # 16 on the dropout's day
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-09-07"))
    dora = desk_refused_at_first(hub, clients, p)
    hub.advance("2026-09-11T00:00:00")           # the desk is warned
    [w] = dora.ask(2).alerts
    assert (w.rule, w.recipient, w.cpr) == (
        "deadline.contact.warn", "duty-desk", p), w
    r = timeline(dora, p, 3)
    assert r.code == OK and [(e.rule, e.open) for e in r.timeline
                             if e.is_alert] == [
        ("dropout", True), ("deadline.contact.warn", True)], r
    dora.ack(w.alert_id)
    assert not dora.ask(4, alert_id=w.alert_id).alerts
    r = timeline(dora, p, 5)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r


def test_a_counsellor_sees_a_person_by_an_alert_addressed_to_them(
        make_hub, clients):
    """OPERATIONS.md "Caseworkers": a guidance counsellor's or mentor's
    assignment opens no timeline, but an open alert addressed to them
    does: a dropout of a person without a contact person goes to the
    counsellor (SECURITY.md, RULES.md §7), a mentor routes nothing (the
    desk gets it). The desk sees both persons (no contact person)."""
    hub = hub53(make_hub)
    guided, mentored = adults(9219, 2)
    hub.send(ev_assignment(guided, "cw-bob", "2026-01-01", role="guidance"),
             ev_assignment(mentored, "cw-bob", "2026-01-01", role="mentor"))
    hub.send(ev_dropout(guided, "2026-10-26"),
             ev_dropout(mentored, "2026-10-26"))
    hub.wait_applied()
    bob = clients(hub, "cw-bob", hello=False)
    dora = clients(hub, "desk-dora", hello=False)
    bob.connected()
    dora.connected()
    assert [(a.recipient, a.cpr) for a in bob.ask(1).alerts] == [
        ("cw-bob", guided)]
    assert [(a.recipient, a.cpr) for a in dora.ask(2).alerts] == [
        ("duty-desk", mentored)]
    got = [timeline(c, p, 10 + i).code for i, (c, p) in enumerate(
        [(bob, guided), (bob, mentored), (dora, guided), (dora, mentored)])]
    assert got == [OK, E_DENIED, OK, OK], got
