"""106 timeline, third review: a person's timeline and the other queries
(docs/PROTOCOL.md §4 Queries, OPERATIONS.md "Caseworkers", SECURITY.md
"Audit trail"), after what test_67, 70, 08, 65, 92 and 93 assert."""

import json

from hubtest import E_DENIED, OK, ev_assignment, ev_dropout, pb
from test_53_delivery import adults, clients, hub53  # noqa: F401
from test_92_timeline import desk_refused_at_first

NOT_YOURS = "this person is not assigned to you or your desk"


def timeline(c, cpr, rid, **kw):
    return c.ask(rid, kind=pb().TIMELINE, cpr=cpr, **kw)


def records(hub, actor, *actions):
    out = hub.hubctl("audit", "show", "--json", "--actor", actor).stdout
    return [(r["action"], r["result"], r["person"], r["detail"])
            for r in map(json.loads, out.splitlines())
            if r["action"] in actions]


def test_an_assignment_to_the_desks_own_id_opens_no_timeline_to_its_login(
        make_hub, clients):
    """RULES.md §7: a caseworker registered under the desk's own id (a
    shared desk login) without `--desk` "opens the timeline of a person
    only while an alert about them addressed to the desk is open", and an
    assignment that names the desk's own id "names no contact person".
    So a person assigned to `duty-desk` alone is not the login's; the
    desk's members see them (known, no contact person); a dropout of
    another such person, alerted to the desk, opens theirs to the login
    until it is acknowledged."""
    hub = hub53(make_hub)
    hub.keygen("duty-desk")
    hub.register_caseworker("duty-desk")
    p, q = adults(10606, 2)
    hub.send(ev_assignment(p, "duty-desk", "2026-01-01"),
             ev_assignment(q, "duty-desk", "2026-01-01"))
    hub.send(ev_dropout(q, "2026-10-26"))
    hub.wait_applied()
    login = clients(hub, "duty-desk", hello=False)
    dora = clients(hub, "desk-dora", hello=False)
    login.connected()
    dora.connected()
    [a] = login.ask(1).alerts
    assert (a.cpr, a.recipient) == (q, "duty-desk"), a
    got = [(timeline(c, x, 10 + i).code)
           for i, (c, x) in enumerate([(login, p), (login, q), (dora, p),
                                       (dora, q)])]
    assert got == [E_DENIED, OK, OK, OK], got
    r = timeline(login, p, 20)
    assert (r.code, r.reason, list(r.timeline)) == (E_DENIED, NOT_YOURS,
                                                    []), r
    login.ack(a.alert_id)
    login.wait(lambda: not login.ask(30 + len(login.frames),
                                     alert_id=a.alert_id).alerts, 10,
               "the acknowledgement stored")
    assert timeline(login, q, 40).code == E_DENIED
    assert timeline(dora, q, 41).code == OK



def test_an_assignment_to_the_desks_own_id_lets_its_login_act_on_nothing(
        make_hub, clients):
    """PROTOCOL.md §4 Action, step 2: beside an alert's recipient and the
    desk's members, only the young person's "current contact person or
    guidance counsellor" records what was done; an assignment naming the
    desk's own id names no contact person (RULES.md §7). A dropout of a
    person assigned so goes to their counsellor (no contact person), and
    the desk's login (not a member) may not record on it; the
    counsellor may."""
    from test_57_deliver2 import action
    hub = hub53(make_hub)
    hub.keygen("duty-desk")
    hub.register_caseworker("duty-desk")
    [p] = adults(10607, 1)
    hub.send(ev_assignment(p, "duty-desk", "2026-01-01"),
             ev_assignment(p, "cw-bob", "2026-01-01", role="guidance"))
    hub.send(ev_dropout(p, "2026-10-26"))
    hub.wait_applied()
    login = clients(hub, "duty-desk", hello=False)
    bob = clients(hub, "cw-bob", hello=False)
    login.connected()
    bob.connected()
    assert not login.ask(1).alerts
    [a] = bob.ask(2).alerts
    assert (a.cpr, a.recipient) == (p, "cw-bob"), a
    r = action(login, 3, a.alert_id, how="phone", date="2026-11-02")
    assert (r.code, r.reason) == (
        E_DENIED, "this alert is not addressed to you or your desk"), r
    assert action(bob, 4, a.alert_id, how="phone",
                  date="2026-11-02").code == OK
    r = timeline(bob, p, 5)
    assert [e.summary for e in r.timeline if not e.is_alert][-1] == \
        "contact made by cw-bob: phone", r


def test_a_contact_not_registered_yet_opens_the_desk_only_by_its_notice(
        make_hub, clients):
    """PROTOCOL.md §3 / RULES.md §7: a ContactAssignment to an id no one
    has registered counts; "a desk member can open that person's
    timeline only while an alert about them addressed to the desk is
    open". Before the overdue alert's desk notice the desk is refused,
    while it is open the desk sees the person, once a member has
    acknowledged it the desk is refused again; the caseworker registered
    under the id later sees the person as their contact person."""
    hub = hub53(make_hub, escalation=True)          # Monday 08:00
    [p] = adults(10611, 1)
    hub.send(ev_assignment(p, "cw-new", "2026-01-01"))
    hub.send(ev_dropout(p, "2026-10-30"))
    dora = desk_refused_at_first(hub, clients, p)
    assert not dora.ask(2).alerts
    hub.advance("2026-11-06T12:00:00")         # 24 office hours passed
    [n] = dora.ask(3).alerts
    assert (n.rule, n.cpr, n.recipient) == ("escalation", p, "duty-desk"), n
    assert timeline(dora, p, 4).code == OK
    hub.keygen("cw-new")
    hub.register_caseworker("cw-new")
    new = clients(hub, "cw-new", hello=False)
    new.connected()
    r = timeline(new, p, 5)
    assert r.code == OK and [e.rule for e in r.timeline if e.is_alert] == \
        ["dropout", "escalation"], r
    dora.ack(n.alert_id)
    dora.wait(lambda: not dora.ask(10 + len(dora.frames)).alerts, 10,
              "the notice acknowledged")
    r = timeline(dora, p, 6)
    assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), r


def test_every_timeline_ask_is_audited_by_its_answer(make_hub, clients):
    """SECURITY.md "Audit trail": `timeline` `ok`, `denied`, `malformed`,
    one record per answer; a timeline's record names the person asked
    about, also when denied (so `audit show --cpr` finds it), a
    malformed one names no one and its detail is the reason, which
    never repeats what was sent; an unknown kind is `query` `malformed`,
    one beyond the allowance `query` `rate-limited` (no person). No
    record holds the CPR in any form."""
    from hubtest import wait_for
    hub = hub53(make_hub, settings={"query_rate": "1", "query_burst": "6"})
    mine, other = adults(10612, 2)
    hub.assign(mine, "cw-anna")
    hub.cprs.add(other)
    anna = clients(hub, "cw-anna", hello=False)
    anna.connected()
    dashed_nine = mine[:6] + "-" + mine[6:9]
    answers = [timeline(anna, mine, 1).code,
               timeline(anna, other, 2).code,
               timeline(anna, dashed_nine, 3).code,
               timeline(anna, mine[:9], 4).code,
               anna.ask(5, kind=0).code]
    while anna.ask(6 + len(anna.frames), kind=pb().TIMELINE,
                   cpr=mine).code == OK:
        pass
    assert answers == [OK, E_DENIED, 1, 1, 1], answers
    wait_for(lambda: ("query", "rate-limited", "", "") in
             records(hub, "cw-anna", "timeline", "query"), 10,
             "the records")
    got = records(hub, "cw-anna", "timeline", "query")
    person = {json.loads(x)["person"] for x in hub.hubctl(
        "audit", "show", "--json", "--cpr", mine).stdout.splitlines()}
    assert len(person) == 1, person
    [mine_key] = person
    assert got[:5] == [
        ("timeline", "ok", mine_key, ""),
        ("timeline", "denied", got[1][2], ""),
        ("timeline", "malformed", "",
         "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or DDMMYYSSSS)"),
        ("timeline", "malformed", "",
         "cpr has 9 digits: a spreadsheet may have dropped its leading zero "
         "(format the column as text)"),
        ("query", "malformed", "", "unknown query kind")], got
    assert got[1][2] not in ("", mine_key)
    other_rec = hub.hubctl("audit", "show", "--json", "--cpr",
                           other).stdout.splitlines()
    assert [(r["action"], r["result"]) for r in map(json.loads, other_rec)] \
        == [("timeline", "denied")], other_rec
    assert got[-1] == ("query", "rate-limited", "", ""), got
    trail = hub.hubctl("audit", "show", "--json").stdout
    for form in (mine, other, mine[:9], dashed_nine):
        assert form not in trail, form


def test_a_mentor_opens_no_timeline_and_leaves_the_person_to_the_desk(
        make_hub, clients):
    """OPERATIONS.md "Caseworkers": only an assignment with role
    `contact` opens a timeline ("a guidance counsellor or mentor ...
    opens none"); a mentor "is stored and shown in the timeline but
    routes nothing" (PROTOCOL.md "Contact roles"), so a person with a
    mentor and a counsellor has no contact person: the duty desk sees
    them, their assignments in the timeline with their roles."""
    hub = hub53(make_hub)
    [p] = adults(10615, 1)
    hub.send(ev_assignment(p, "cw-anna", "2026-01-01", role="mentor"),
             ev_assignment(p, "cw-bob", "2026-02-01", role="guidance"))
    hub.wait_applied()
    anna = clients(hub, "cw-anna", hello=False)
    bob = clients(hub, "cw-bob", hello=False)
    dora = clients(hub, "desk-dora", hello=False)
    for c in (anna, bob, dora):
        c.connected()
    for i, c in enumerate((anna, bob)):
        r = timeline(c, p, 1 + i)
        assert (r.code, r.reason) == (E_DENIED, NOT_YOURS), (c.name, r)
    r = timeline(dora, p, 3)
    assert r.code == OK and [(e.date, e.summary) for e in r.timeline] == [
        ("2026-01-01", "contact person: cw-anna (mentor)"),
        ("2026-02-01", "contact person: cw-bob (guidance)")], r


def test_inbox_timeline_json_of_a_corrected_event_exactly(make_hub):
    """OPERATIONS.md "What inbox prints", `--timeline CPR --json`: an
    event `{"date", "kind": "event", "id": HEX (32 digits), "summary",
    "type", "agency", "superseded"}`, an alert `{"date", "kind":
    "alert", "id": HEX (18 digits), "summary", "rule", "open"}`, in that
    order; the event a later one of the same agency corrects has
    `superseded` true and " (superseded)" at the end of its summary, in
    the plain lines too (PROTOCOL.md §4)."""
    from test_92_timeline import run_inbox
    hub = hub53(make_hub)
    [p] = adults(10616, 1)
    hub.assign(p, "cw-anna")
    first = ev_dropout(p, "2026-10-20")
    hub.send(first)
    fix = ev_dropout(p, "2026-10-21", programme="hhx")
    fix.supersedes = first.event_id
    hub.send(fix)
    hub.wait_applied()
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", p, "--json")
    assert (rc, err) == (0, ""), err
    lines = out.splitlines()
    assign_id = json.loads(lines[0])["id"]
    assert lines == [
        '{"date": "2024-01-01", "kind": "event", "id": "%s", "summary": '
        '"contact person: cw-anna (contact)", "type": "ContactAssignment", '
        '"agency": "hubctl", "superseded": false}' % assign_id,
        '{"date": "2026-10-20", "kind": "event", "id": "%s", "summary": '
        '"dropped out of eud-smed at college-x (superseded)", "type": '
        '"Dropout", "agency": "college-a", "superseded": true}'
        % first.event_id.hex(),
        '{"date": "2026-10-21", "kind": "event", "id": "%s", "summary": '
        '"dropped out of hhx at college-x", "type": "Dropout", "agency": '
        '"college-a", "superseded": false}' % fix.event_id.hex(),
        '{"date": "2026-11-02", "kind": "alert", "id": "000000000000000204", '
        '"summary": "Dropped out of eud-smed at college-x", "rule": '
        '"dropout", "open": true}'], lines
    assert len(assign_id) == 32
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", p)
    assert (rc, out.splitlines()[1:3], err) == (0, [
        "2026-10-20  event dropped out of eud-smed at college-x "
        "(superseded)",
        "2026-10-21  event dropped out of hhx at college-x"], ""), out


def test_a_health_alert_by_the_consent_given_later_withdrawn_and_again(
        make_hub, clients):
    """RULES.md §4 and PROTOCOL.md §4 TIMELINE, asked between statements:
    a referral withheld (scope `stage` only) stays out of the timeline
    after a later statement shares referrals ("a consent given
    afterwards on another event shares the referrals that follow it, not
    one withheld before"); the next referral is in it; a withdrawal takes
    it out at once (its `withdrawn` notice in no timeline); consent given
    again shares the referral after it."""
    from hubtest import ev_referral
    from test_92_timeline import annas_referred_adult
    hub, p, anna = annas_referred_adult(
        make_hub, clients, 10618, "2026-10-28",
        {"given": True, "scope": "stage"})
    rid = [0]

    def alerts():
        rid[0] += 1
        r = timeline(anna, p, rid[0])
        assert r.code == OK, r
        return [(e.rule, e.open) for e in r.timeline if e.is_alert]
    assert alerts() == []
    hub.send(ev_referral(p, "2026-10-29", stage="TREATMENT_STARTED",
                         consent={"given": True, "scope": "referral"}))
    hub.wait_applied()
    assert alerts() == []
    hub.send(ev_referral(p, "2026-10-30"))
    hub.wait_applied()
    assert alerts() == [("addiction", True)]
    hub.send(ev_referral(p, "2026-10-31", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    hub.wait_applied()
    assert alerts() == []
    assert [(a.rule, a.cpr) for a in anna.ask(100).alerts] == [
        ("withdrawn", "")]
    hub.send(ev_referral(p, "2026-11-01", consent={"given": True}))
    hub.wait_applied()
    assert alerts() == [("addiction", True)]
