"""32 rules, addiction (DOMAIN rule 4) and the treatment deadline (rule 8):
a referral reaches the contact person only with the youth's consent in
scope and unexpired; without it nothing about the referral reaches anyone
(not the desk, not the combined rule); a withdrawal stops later sharing;
anonymous counselling is only counted. Treatment must start within 14 days
of a referral; a missed start is alerted to the desk only when the consent
in force covers treatment stages (docs/RULES.md)."""

import json
import re
import subprocess

from hubtest import ACCEPTED, ROOT, SLOW, CprGen, IngestClient, binary, \
    ev_dropout, ev_referral, frame, \
    event, rules_hub, wait_for


def summary(alerts):
    return sorted((a["rule"], a["priority"], a["recipient"]) for a in alerts)


def assigned_hub(make_hub, seed, n=1, clock="2026-09-07T09:00:00", **kw):
    hub = rules_hub(make_hub, clock, **kw)
    cprs = CprGen(seed).take(n)
    for cpr in cprs:
        hub.assign(cpr, "cw-anna")
    return hub, cprs


def test_referral_with_consent_reaches_contact_person(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3201)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "scope": "referral,stage",
                                  "expires": "2027-06-30"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("addiction", "HIGH", "cw-anna", cpr)
    assert a["title"] == \
        "Referred to addiction treatment (shared with consent)"
    assert "rmc-a registered a referral on 2026-09-07 and the young " \
        "person consented to share it with the contact person until " \
        "2027-06-30" in a["explanation"]
    assert "treatment must start within 14 days" in a["explanation"]
    [ev] = a["evidence"]
    assert (ev["agency"], ev["period_start"]) == ("addiction-a",
                                                  "2026-09-07")
    hub.peek("desk-dora", 0)


def test_consent_expiring_on_the_referral_day_still_shares(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3202)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-07"}))
    assert hub.wait_applied()["alerts"] == 1


def test_a_referral_after_danish_midnight_of_the_last_day_is_not_shared(
        make_hub):
    """RULES.md §1, §4: a consent's last day is a Danish day. Consent
    until 2026-09-20 does not share a referral the hub receives at 23:30
    UTC that day: 01:30 on 09-21 in Danish summer time, after it ended.
    It was judged by the UTC day and shared."""
    hub, [cpr] = assigned_hub(make_hub, 3226, clock="2026-09-20T23:30:00")
    hub.send(ev_referral(cpr, "2026-09-20",
                         consent={"given": True, "expires": "2026-09-20"}))
    st = hub.wait_applied()
    assert st["alerts"] == 0
    assert st["log_events"] == 2          # the assignment, the referral
    hub.peek("cw-anna", 0)
    hub.peek("desk-dora", 0)


def test_consent_ends_at_danish_midnight(make_hub):
    """RULES.md §4, Shared and Taken back: received at 21:30 UTC on the
    last day (23:30 Danish summer time) a referral is shared; the alert
    is taken back at 00:00 Danish time, 22:00 UTC, and not before (it
    was taken back at 00:00 UTC, two hours later)."""
    hub, [cpr] = assigned_hub(make_hub, 3227, clock="2026-09-20T21:30:00")
    hub.send(ev_referral(cpr, "2026-09-20",
                         consent={"given": True, "expires": "2026-09-20"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"
    hub.advance("2026-09-20T21:59:59")
    st = hub.stats()
    assert (st["alerts"], st["alerts_open"]) == (1, 1)
    hub.advance("2026-09-20T22:00:00")
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 2)
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    assert f"Alert {a['alert_id']} (addiction) is withdrawn: the young " \
        "person's consent to share it ended on 2026-09-20." in \
        w["explanation"]


def test_consent_ends_at_danish_midnight_in_winter(make_hub):
    """RULES.md §4: in winter (CET) Danish midnight is 23:00 UTC. Consent
    until 2026-12-20 shares a referral received at 22:30 UTC (23:30
    Danish time) and is taken back at 23:00 UTC, not before."""
    hub, [cpr] = assigned_hub(make_hub, 3228, clock="2026-12-20T22:30:00")
    hub.send(ev_referral(cpr, "2026-12-20",
                         consent={"given": True, "expires": "2026-12-20"}))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-12-20T22:59:59")
    st = hub.stats()
    assert (st["alerts"], st["alerts_open"]) == (1, 1)
    hub.peek("cw-anna", 1)
    hub.advance("2026-12-20T23:00:00")
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 2)
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    assert "consent to share it ended on 2026-12-20" in w["explanation"]


def test_a_rebuild_judges_consent_by_the_danish_date_as_the_hub_did(
        make_hub):
    """RULES.md §4, OPERATIONS.md: a rebuild of derived/ judges each
    referral by the Danish date at the instant the hub received it.
    Consent until 2026-09-20: the referral received at 21:30 UTC was
    shared and taken back at 22:00 UTC; the one received at 23:30 UTC
    was not shared. Rebuilt the same evening (still 09-20 in UTC), the
    replay raises nothing new, and consent given again on the first
    referral's row shares it no second time."""
    import shutil
    hub, [shared, late] = assigned_hub(make_hub, 3229, n=2,
                                       clock="2026-09-20T21:30:00")
    first = ev_referral(shared, "2026-09-20",
                        consent={"given": True, "expires": "2026-09-20"})
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-09-20T22:00:00")
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 2)
    hub.set_clock("2026-09-20T23:30:00")
    hub.send(ev_referral(late, "2026-09-20",
                         consent={"given": True, "expires": "2026-09-20"}))
    assert hub.wait_applied()["alerts"] == 2
    before = hub.stats()
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.set_clock("2026-09-20T23:50:00")
    hub.start()
    hub.settle()
    after = hub.stats()
    assert (after["alerts"], after["alerts_open"]) == \
        (before["alerts"], before["alerts_open"]) == (2, 1)
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    again = ev_referral(shared, "2026-09-20", consent={"given": True})
    again.supersedes = first.event_id
    hub.send(again)
    hub.settle()
    assert hub.stats()["alerts"] == 2
    hub.peek("cw-anna", 1)
    hub.peek("desk-dora", 0)


def test_without_consent_nothing_reaches_anyone(make_hub):
    hub, [refused, silent] = assigned_hub(make_hub, 3203, n=2)
    unassigned = CprGen(32031).next()
    hub.send(ev_referral(refused, "2026-09-07", consent={"given": False}),
             ev_referral(silent, "2026-09-07"),          # no Consent at all
             ev_referral(unassigned, "2026-09-07", consent={"given": False}))
    st = hub.wait_applied()
    # Stored (for the service's own trail), alerted to nobody.
    assert st["alerts"] == 0
    assert st["log_events"] == 2 + 3      # 2 assignments + 3 referrals
    hub.peek("cw-anna", 0)
    hub.peek("desk-dora", 0)
    assert "HUB-ALERT" not in hub.log_text()


def timeline(hub, caseworker, cpr):
    """inbox --timeline: (exit code, entries, stderr). stdout holds the
    CPR by design, so it is kept out of the swept logs."""
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf),
                        "--timeline", cpr, "--json"], capture_output=True,
                       text=True, timeout=60)
    return p.returncode, p.stdout.splitlines(), p.stderr


def test_a_referral_alone_opens_no_timeline_to_the_desk(make_hub):
    """SECURITY.md "Need to know": the desk may see the timeline of a
    known person without a contact person; no timeline shows addiction
    data, and without consent nothing about a referral reaches anyone.
    So a person the hub knows only by referrals is refused exactly like a
    CPR it never saw -- an empty timeline would tell the desk that the
    person was referred. Once the person has an event a timeline shows,
    the desk sees it, and still no referral."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    gen = CprGen(3216)
    refused, withheld, never = gen.take(3)
    hub.cprs.update({refused, withheld, never})
    hub.send(ev_referral(refused, "2026-09-07", consent={"given": False}),
             # consent given, but no contact person: withheld
             ev_referral(withheld, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 0
    unknown = timeline(hub, "desk-dora", never)
    assert unknown[0] == 4 and unknown[1] == [], unknown
    for cpr in (refused, withheld):
        assert timeline(hub, "desk-dora", cpr) == unknown
    hub.send(ev_dropout(refused, "2026-09-07"))
    hub.wait_applied()
    rc, lines, err = timeline(hub, "desk-dora", refused)
    assert rc == 0, err
    assert lines and not any("ddiction" in line or "eferr" in line
                             for line in lines), lines
    # Each refusal is audited as any other (hubd writes them once a
    # second).
    wait_for(lambda: len(re.findall(r"timeline +denied", hub.hubctl(
        "audit", "show", "--actor", "desk-dora").stdout)) == 3, 10,
        "the three refusals audited", interval=0.3)


def test_an_action_on_a_closed_health_alert_opens_no_timeline(make_hub):
    """PROTOCOL.md §4, Queries: the desk may see the timeline of a person
    the hub knows "by an event a timeline shows"; an action recorded on a
    health alert shows only to its recipient while the alert is open. A
    desk member recorded a contact on the missed treatment start of a
    person the hub knew only by a referral and acknowledged it: from then
    on the timeline opened to every desk member, empty, which told them
    of the referral."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(3217).next()
    hub.cprs.add(cpr)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "scope": "referral,stage"}))
    hub.wait_applied()
    refused = timeline(hub, "desk-dora", cpr)
    assert refused[0] == 4, refused
    hub.advance("2026-09-22T00:00:00")
    [m] = hub.peek("desk-dora", 1)
    assert m["rule"] == "deadline.treatment.missed"
    # Open and addressed to the desk: it opens the timeline (its alert).
    assert timeline(hub, "desk-dora", cpr)[0] == 0
    assert hub.record("desk-dora", "contact", m["alert_id"], "phone")[0] == 0
    p = subprocess.run([binary("inbox"), "--config",
                        str(hub.tmp / "inbox-desk-dora.conf"), "--ack",
                        m["alert_id"]], capture_output=True, text=True,
                       timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    hub.settle()
    assert timeline(hub, "desk-dora", cpr) == refused


def test_inbox_help_says_a_referral_alone_opens_no_timeline():
    """inbox --help promised a desk member the timeline of any unassigned
    person; one the hub knows only by addiction referrals is refused
    (above), and an alert that names no one opens none."""
    p = subprocess.run([binary("inbox"), "--help"], capture_output=True,
                       text=True, timeout=30)
    text = " ".join((p.stdout + p.stderr).split())
    assert "unless the hub knows them only by addiction referrals" in text
    assert "an open alert addressed to you or your desk that names them" \
        in text


def test_only_its_recipient_acts_on_an_addiction_alert(make_hub):
    """RULES.md section 4: the consent shares a referral with the contact
    person it reached, and "a later contact person sees no sign" of it.
    The person's guidance counsellor and a later contact person may act
    on the person's other alerts (PROTOCOL.md, Action), but an action on
    the addiction alert addressed to someone else is refused exactly
    like one on an alert id that does not exist -- an OK would tell them
    of the referral, and store an action about it."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    hub.keygen("uu-carl")
    hub.register_caseworker("uu-carl")
    cpr = CprGen(3217).born("2010-03-03")
    hub.cprs.add(cpr)
    hub.send(event("youth-a", cpr, "contact_assignment",
                   caseworker="cw-anna", role="contact",
                   **{"from": "2026-01-01"}),
             event("youth-a", cpr, "contact_assignment",
                   caseworker="uu-carl", role="guidance",
                   **{"from": "2026-01-01"}))
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"
    never = a["alert_id"][:-2] + "05"          # an id no alert has
    refused = hub.record("uu-carl", "contact", never, "phone")
    assert refused[0] == 4, refused
    assert hub.record("uu-carl", "contact", a["alert_id"], "phone") == \
        refused
    # Acknowledged, the alert stays with cw-anna when cw-bob takes over.
    rc, _, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    hub.send(event("youth-a", cpr, "contact_assignment",
                   caseworker="cw-bob", role="contact",
                   **{"from": "2026-09-07"}))
    hub.wait_applied()
    assert hub.record("cw-bob", "contact", never, "phone") == refused
    assert hub.record("cw-bob", "contact", a["alert_id"], "phone") == \
        refused
    assert "CaseworkerAction" not in hub.hubctl("log").stdout
    # Its recipient still records what she did.
    rc, out, err = hub.record("cw-anna", "contact", a["alert_id"], "phone")
    assert rc == 0, err


def test_expired_consent_shares_nothing(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3204)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-06"}))
    assert hub.wait_applied()["alerts"] == 0


def test_consent_scope_without_referral_shares_nothing(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3205)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "scope": "stage"}))
    assert hub.wait_applied()["alerts"] == 0
    # A later referral without a Consent message is judged by the latest
    # statement, scope included.
    hub.send(ev_referral(cpr, "2026-09-21"))
    assert hub.wait_applied()["alerts"] == 0


def test_withdrawn_consent_stops_later_sharing(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3206)
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"
    assert a["evidence"][0]["period_start"] == "2026-09-07"
    # The youth withdraws consent (stated with a treatment stage): the
    # open addiction alert is taken back and the contact person told why
    # ...
    hub.send(ev_referral(cpr, "2026-09-10", stage="TREATMENT_STARTED",
                         consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    assert f"Alert {a['alert_id']} (addiction) is withdrawn: the young " \
        "person withdrew the consent to share it." in w["explanation"]
    # ... and a later referral, with or without a Consent message of its
    # own, is shared with nobody.
    hub.send(ev_referral(cpr, "2026-10-05"))
    hub.send(ev_referral(cpr, "2026-10-12", consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 2
    hub.advance("2026-11-30")
    assert hub.stats()["alerts"] == 2
    hub.peek("desk-dora", 0)


def test_a_withdrawal_carrying_a_scope_and_expiry_is_a_withdrawal(
        make_hub):
    """RULES section 4: given = false is a withdrawal whatever its scope
    and expires say. The open alert is taken back as withdrawn (not
    "ended on"), no end of consent is timed, and nothing later is
    shared, a missed treatment start included."""
    hub, [cpr] = assigned_hub(make_hub, 3219)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "scope": "referral,stage",
                                  "expires": "2027-06-30"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_ENDED",
                         consent={"given": False, "scope": "referral,stage",
                                  "expires": "2027-06-30"}))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["explanation"] == f"Alert {a['alert_id']} (addiction) is " \
        "withdrawn: the young person withdrew the consent to share it. " \
        "Nothing more is expected of you for it."
    hub.send(ev_referral(cpr, "2026-09-09"))
    hub.advance("2026-10-05T09:00:00")
    assert hub.stats()["alerts"] == 2
    hub.peek("desk-dora", 0)


def test_the_statement_received_last_rules_whatever_its_date(make_hub):
    """RULES section 4, the latest statement rules: the latest to reach
    the hub. The centre's adapter sends a consent withdrawn later as a
    correction of the row it is recorded on (ADAPTERS.md: the consent is
    a value of the row), so it carries that row's older date; it rules
    all the same over a statement on a later-dated event."""
    hub, [cpr] = assigned_hub(make_hub, 3216)
    referral = ev_referral(cpr, "2026-09-01", consent={"given": True})
    hub.send(referral,
             ev_referral(cpr, "2026-09-05", stage="TREATMENT_STARTED",
                         consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    withdrawal = ev_referral(cpr, "2026-09-01", consent={"given": False})
    withdrawal.supersedes = referral.event_id
    hub.send(withdrawal)
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    assert "the young person withdrew the consent to share it" in \
        w["explanation"]


def test_a_consent_changed_on_the_referral_row_is_the_same_referral(
        make_hub):
    """ADAPTERS.md: the centre sends a consent given, extended or
    withdrawn later as a correction of the row it is recorded on. A
    correction of a REFERRED row was taken for a new referral: an
    extended consent raised a second addiction alert for the same
    referral, reopened a referral whose treatment had started and
    restarted its clock, so the desk was told treatment had not started
    and a missed deadline was counted. Now it is the same referral: its
    consent is updated, it is shared once, and its clock runs on."""
    hub, [extended, late] = assigned_hub(make_hub, 3217, n=2,
                                         clock="2026-09-14T09:00:00")
    first = ev_referral(extended, "2026-09-14",
                        consent={"given": True, "scope": "referral,stage",
                                 "expires": "2026-12-31"})
    # Consent not given at first, given later on the same row.
    refused = ev_referral(late, "2026-09-14", consent={"given": False})
    hub.send(first, refused)
    assert hub.wait_applied()["alerts"] == 1
    hub.set_clock("2026-09-22T09:00:00")
    hub.send(ev_referral(extended, "2026-09-22",
                         stage="TREATMENT_STARTED"))
    # The other's treatment start is never reported: its deadline (day
    # 14, 09-28) is missed, logged and counted only (no consent then).
    hub.advance("2026-10-05T09:00:00")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\.")
    more = ev_referral(extended, "2026-09-14",
                       consent={"given": True, "scope": "referral,stage",
                                "expires": "2027-06-30"})
    more.supersedes = first.event_id
    given = ev_referral(late, "2026-09-14", consent={"given": True})
    given.supersedes = refused.event_id
    hub.send(more, given)
    # The late consent shares the referral now; the extended one adds
    # nothing, and no treatment deadline is missed for it.
    assert hub.wait_applied()["alerts"] == 2
    hub.advance("2026-10-06T09:00:00")
    alerts = hub.peek("cw-anna", 2)
    assert sorted((a["cpr"] == late, a["rule"]) for a in alerts) == [
        (False, "addiction"), (True, "addiction")]
    assert hub.stats()["alerts"] == 2
    assert len(re.findall(r"HUB-DEADLINE", hub.log_text())) == 1
    hub.peek("desk-dora", 0)


def test_consent_that_no_longer_covers_referrals_takes_the_alert_back(
        make_hub):
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    gen = CprGen(3213)
    narrowed, shortened = gen.born("2008-04-04"), gen.born("2008-05-05")
    for cpr in (narrowed, shortened):
        hub.assign(cpr, "cw-anna")
        hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 2
    first = {a["cpr"]: a["alert_id"] for a in hub.peek("cw-anna", 2)}
    # Still given, but now only for treatment stages; and given with an
    # expiry that has already passed: neither shares the referral any
    # more, so the open alert is taken back at once, like a withdrawal.
    hub.set_clock("2026-09-10T09:00:00")
    hub.send(ev_referral(narrowed, "2026-09-10", stage="TREATMENT_ENDED",
                         consent={"given": True, "scope": "stage"}),
             ev_referral(shortened, "2026-09-10", stage="TREATMENT_ENDED",
                         consent={"given": True, "expires": "2026-09-09"}))
    assert hub.wait_applied()["alerts"] == 4
    # A notice names no one (the consent no longer shares the referral):
    # the alert id it withdraws says which it is.
    peeked = hub.peek("cw-anna", 2)
    notes = {cpr: a for a in peeked for cpr in first
             if first[cpr] in a["explanation"]}
    assert {a["rule"] for a in notes.values()} == {"withdrawn"}
    assert [a["cpr"] for a in peeked] == ["", ""]
    assert f"Alert {first[narrowed]} (addiction) is withdrawn: the young " \
        "person's consent no longer covers the referral." in \
        notes[narrowed]["explanation"]
    assert f"Alert {first[shortened]} (addiction) is withdrawn: the young " \
        "person's consent to share it ended on 2026-09-09." in \
        notes[shortened]["explanation"]
    # A new contact person gets nothing of it.
    hub.assign(narrowed, "cw-bob", start="2026-09-10")
    hub.assign(shortened, "cw-bob", start="2026-09-10")
    hub.settle()
    hub.peek("cw-bob", 0)


def test_the_end_of_consent_takes_back_every_open_addiction_alert(make_hub):
    """RULES section 4, Taken back: a second referral while the first
    alert is still open gives the contact person two addiction alerts.
    A withdrawal, or the end of the consent, took back only the latest:
    the first stayed open, readable outside the consent. Now both are
    withdrawn, with one notice naming both."""
    hub, [withdrawn, lapsing] = assigned_hub(make_hub, 3215, n=2)
    hub.send(ev_referral(withdrawn, "2026-09-01", consent={"given": True}),
             ev_referral(withdrawn, "2026-09-05"),
             ev_referral(lapsing, "2026-09-01",
                         consent={"given": True, "expires": "2026-09-20"}),
             ev_referral(lapsing, "2026-09-05"))
    assert hub.wait_applied()["alerts"] == 4
    ids = {}
    for a in hub.peek("cw-anna", 4):
        ids.setdefault(a["cpr"], []).append(a["alert_id"])
    for cpr in ids:
        ids[cpr].sort()
    hub.send(ev_referral(withdrawn, "2026-09-07", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 5
    # Open now: the other person's two alerts and this notice.
    [w] = [a for a in hub.peek("cw-anna", 3) if a["rule"] == "withdrawn"]
    first, second = ids[withdrawn]
    assert (w["cpr"], w["priority"]) == ("", "LOW")
    assert w["title"] == "Withdrawn: 2 alerts (addiction)"
    assert w["explanation"] == f"Alerts {first} and {second} (addiction) " \
        "are withdrawn: the young person withdrew the consent to share " \
        "it. Nothing more is expected of you for them."
    # The other consent, covering stages too, lets the missed start of
    # the latest referral (due 09-19) reach the desk; it ends after
    # 2026-09-20 (00:00 Danish time, 22:00 UTC) and takes back all
    # three then.
    hub.advance("2026-09-20T21:59:59")
    assert hub.stats()["alerts"] == 6
    [m] = hub.peek("desk-dora", 1)
    assert m["rule"] == "deadline.treatment.missed"
    hub.advance("2026-09-20T22:00:00")
    assert hub.stats()["alerts"] == 7
    hub.peek("desk-dora", 0)
    alerts = hub.peek("cw-anna", 2)
    assert sorted(a["rule"] for a in alerts) == ["withdrawn", "withdrawn"]
    first, second = ids[lapsing]
    [w] = [a for a in alerts if first in a["explanation"]]
    assert f"Alerts {first} and {second} (addiction) are withdrawn: the " \
        "young person's consent to share it ended on 2026-09-20." in \
        w["explanation"]
    # A later contact person sees no sign of either notice.
    hub.advance("2026-09-21T00:00:00")
    hub.assign(withdrawn, "cw-bob", start="2026-09-21")
    hub.settle()
    conf = hub.tmp / "inbox-timeline-bob.conf"
    conf.write_text(f"caseworker = cw-bob\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    p = subprocess.run([binary("inbox"), "--config", str(conf), "--json",
                        "--timeline", withdrawn], capture_output=True,
                       text=True, timeout=30 * SLOW)
    assert p.returncode == 0, p.stderr
    assert "cw-bob" in p.stdout and "addiction" not in p.stdout.lower()


def test_consent_given_again_shares_again(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3207)
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": False}),
             ev_referral(cpr, "2026-09-14", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["evidence"][0]["period_start"] == "2026-09-14"



def test_consent_given_on_a_later_event_shares_no_earlier_referral(
        make_hub):
    """RULES section 4: a referral is judged on the day the hub applies
    it. Consent given afterwards on another event of the service (a
    treatment start) rules what comes after it; it does not share the
    referral the hub withheld before -- only a correction of the
    referral's own row does (section 3, Corrections)."""
    hub, [cpr] = assigned_hub(make_hub, 3241)
    referral = ev_referral(cpr, "2026-09-07", consent={"given": False})
    hub.send(referral,
             ev_referral(cpr, "2026-09-09", stage="TREATMENT_STARTED",
                         consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 0
    hub.peek("cw-anna", 0)
    given = ev_referral(cpr, "2026-09-07", consent={"given": True})
    given.supersedes = referral.event_id
    hub.send(given)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"


def test_a_rebuilt_derived_state_judges_a_referral_on_the_day_it_came(
        make_hub):
    """OPERATIONS.md: a rebuild of derived/ replays the log as the hub
    lived it. It judged each referral's consent on the day of the
    rebuild: a consent that had ended since made the replayed referral
    "never shared", so the end of that consent took nothing back (the
    addiction alert stayed open, readable outside the consent) and consent
    given again on its row shared it a second time. Now the replay judges
    a referral on the day the hub received it."""
    import shutil
    hub, [cpr] = assigned_hub(make_hub, 3242)
    first = ev_referral(cpr, "2026-09-07",
                        consent={"given": True, "expires": "2026-09-10"})
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.set_clock("2026-09-14T09:00:00")
    hub.start()
    hub.settle()
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn", w
    assert f"Alert {a['alert_id']} (addiction) is withdrawn: the young " \
        "person's consent to share it ended on 2026-09-10." in \
        w["explanation"], w
    again = ev_referral(cpr, "2026-09-07", consent={"given": True})
    again.supersedes = first.event_id
    hub.send(again)
    hub.settle()
    assert hub.stats()["alerts"] == 2
    hub.peek("cw-anna", 1)


def test_consent_given_again_on_a_withdrawn_referral_raises_nothing(
        make_hub):
    """RULES section 3, Corrections: a referral is shared once. Its alert
    taken back by a withdrawal on the referral's row, consent given again
    on that row shares nothing again (the contact person was told nothing
    more is expected of them); the next referral is shared."""
    hub, [cpr] = assigned_hub(make_hub, 3218)
    first = ev_referral(cpr, "2026-09-07", consent={"given": True})
    hub.send(first)
    assert hub.wait_applied()["alerts"] == 1
    withdrawal = ev_referral(cpr, "2026-09-07", consent={"given": False})
    withdrawal.supersedes = first.event_id
    hub.send(withdrawal)
    assert hub.wait_applied()["alerts"] == 2
    again = ev_referral(cpr, "2026-09-07", consent={"given": True})
    again.supersedes = withdrawal.event_id
    hub.send(again)
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    hub.send(ev_referral(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 3
    alerts = hub.peek("cw-anna", 2)
    assert sorted(a["rule"] for a in alerts) == ["addiction", "withdrawn"]


def test_referral_judged_by_the_earlier_statement_says_until_when(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3212)
    # The statement came on an earlier event of the service; the
    # referral itself carries none and is judged by it.
    hub.send(ev_referral(cpr, "2026-09-01", stage="TREATMENT_ENDED",
                         consent={"given": True, "expires": "2027-06-30"}),
             ev_referral(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert "rmc-a registered a referral on 2026-09-07 and the young " \
        "person consented to share it with the contact person until " \
        "2027-06-30." in a["explanation"]

def test_anonymous_referral_is_only_counted(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    hub.send(event("addiction-a", "", "addiction_referral",
                   sensitivity="ANONYMOUS", service="rmc-a",
                   date="2026-09-07", stage="REFERRED"))
    st = hub.wait_applied()
    assert (st["log_events"], st["alerts"]) == (1, 0)
    # Not about a person: no timeline entry, no treatment clock.
    assert st["person_index_entries"] == 0
    hub.advance("2026-10-01")
    assert hub.stats()["alerts"] == 0
    assert "HUB-DEADLINE" not in hub.log_text()


def test_treatment_started_in_time_stops_the_clock(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3208)
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    hub.set_clock("2026-09-21T10:00:00")
    hub.send(ev_referral(cpr, "2026-09-21", stage="TREATMENT_STARTED"))
    hub.advance("2026-10-15")
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()


def test_a_treatment_start_dated_before_the_referral_stops_no_clock(
        make_hub):
    """RULES section 6: the treatment clock fires unless treatment started
    since the referral. A start of an earlier course (08-01), exported
    after the new referral of 09-07, is no start since it: the clock ran
    out unalerted on 09-22. One dated the referral's day stops it."""
    hub, [late, same_day] = assigned_hub(make_hub, 3230, n=2)
    for cpr in (late, same_day):
        hub.send(ev_referral(cpr, "2026-09-07",
                             consent={"given": True,
                                      "scope": "referral,stage"}))
    hub.send(ev_referral(late, "2026-08-01", stage="TREATMENT_STARTED"),
             ev_referral(same_day, "2026-09-07", stage="TREATMENT_STARTED"))
    assert hub.wait_applied()["alerts"] == 2
    hub.advance("2026-09-22T00:00:00")
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["cpr"]) == ("deadline.treatment.missed", late)


def test_a_treatment_start_counts_from_the_corrected_referral_date(
        make_hub):
    """A referral of 09-07 corrected to 09-01 (its clock stays): a start
    dated 09-03 is a start since the referral as corrected."""
    hub, [cpr] = assigned_hub(make_hub, 3232)
    consent = {"given": True, "scope": "referral,stage"}
    first = ev_referral(cpr, "2026-09-07", consent=consent)
    fix = ev_referral(cpr, "2026-09-01", consent=consent)
    fix.supersedes = first.event_id
    hub.send(first, fix,
             ev_referral(cpr, "2026-09-03", stage="TREATMENT_STARTED"))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-09-22T00:00:00")
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()


def test_treatment_missed_goes_to_desk(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3209)
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    # Day 14 (2026-09-21) is the last day treatment may start.
    hub.advance("2026-09-21T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-09-22T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\."
                 r"missed")
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("deadline.treatment.missed", "HIGH", "duty-desk", cpr)
    assert a["title"] == "Legal deadline missed: the duty to start " \
        "treatment (14 days after the referral)"
    assert "The deadline passed on 2026-09-21" in a["explanation"]
    # A treatment start reported late changes nothing more.
    hub.send(ev_referral(cpr, "2026-09-25", stage="TREATMENT_STARTED"))
    hub.advance("2026-10-30")
    assert hub.stats()["alerts"] == 2


def test_a_referral_reported_after_its_deadline_is_missed_at_once(make_hub):
    """RULES section 6: the treatment clock counts from the referral's
    date, not from the day the hub received it. A referral of 08-01
    reported on 09-07 is missed at the next loop turn."""
    hub, [cpr] = assigned_hub(make_hub, 3231)
    hub.send(ev_referral(cpr, "2026-08-01",
                         consent={"given": True, "scope": "referral,stage"}))
    hub.settle()
    [a] = hub.peek("desk-dora", 1)
    assert (a["rule"], a["due"]) == ("deadline.treatment.missed",
                                     "2026-09-07")
    assert "The deadline passed on 2026-08-15" in a["explanation"]


def test_treatment_missed_without_consent_is_only_recorded(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3210)
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": False}))
    hub.wait_applied()
    hub.advance("2026-09-22T06:00:00")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\."
                 r"missed")
    assert hub.stats()["alerts"] == 0
    hub.peek("desk-dora", 0)


def test_treatment_missed_needs_stage_scope_and_unexpired_consent(
        make_hub):
    hub, [referral_only, lapsing] = assigned_hub(make_hub, 3211, n=2)
    hub.send(ev_referral(referral_only, "2026-09-07",
                         consent={"given": True, "scope": "referral"}),
             ev_referral(lapsing, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-15"}))
    # Both referrals are shared.
    assert hub.wait_applied()["alerts"] == 2
    hub.advance("2026-09-23")
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\."
                 r"missed", count=2)
    # Neither consent allows telling that treatment has not started: the
    # first does not cover stages, the second has expired by day 15 (and
    # its expiry took the open addiction alert back: a withdrawn notice).
    assert hub.stats()["alerts"] == 3
    assert summary(hub.peek("cw-anna", 2)) == [
        ("addiction", "HIGH", "cw-anna"), ("withdrawn", "LOW", "cw-anna")]
    hub.peek("desk-dora", 0)


def test_missed_treatment_alert_is_taken_back_with_the_consent(make_hub):
    hub, [withdrawn, lapsing, narrowed] = assigned_hub(make_hub, 3214, n=3)
    hub.send(ev_referral(withdrawn, "2026-09-07", consent={"given": True}),
             ev_referral(lapsing, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-30"}),
             ev_referral(narrowed, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 3
    hub.advance("2026-09-22T00:00:00")
    assert hub.stats()["alerts"] == 6
    missed = {a["cpr"]: a["alert_id"] for a in hub.peek("desk-dora", 3)}
    assert set(missed) == {withdrawn, lapsing, narrowed}
    # One withdraws the consent, one narrows it to referrals: the desk's
    # alert about a treatment stage is closed, with no notice that would
    # tell the desk more about the consent; the contact person hears of
    # the withdrawn addiction alert as before.
    hub.set_clock("2026-09-23T09:00:00")
    hub.send(ev_referral(withdrawn, "2026-09-23", stage="TREATMENT_ENDED",
                         consent={"given": False}),
             ev_referral(narrowed, "2026-09-23", stage="TREATMENT_ENDED",
                         consent={"given": True, "scope": "referral"}))
    assert hub.wait_applied()["alerts"] == 7
    hub.wait_log(f"HUB-WITHDRAW alert {missed[withdrawn]} withdrawn")
    hub.wait_log(f"HUB-WITHDRAW alert {missed[narrowed]} withdrawn")
    [left] = hub.peek("desk-dora", 1)
    assert (left["cpr"], left["rule"]) == (lapsing,
                                           "deadline.treatment.missed")
    # (The notice names no one: the consent no longer shares it.)
    assert sorted((a["cpr"], a["rule"])
                  for a in hub.peek("cw-anna", 3)) == sorted([
        (lapsing, "addiction"), (narrowed, "addiction"), ("", "withdrawn")])
    # The other consent ends after 09-30, at 00:00 Danish time (22:00
    # UTC in summer): its two alerts go then, not before.
    hub.advance("2026-09-30T21:59:59")
    hub.peek("desk-dora", 1)
    assert hub.stats()["alerts"] == 7
    hub.advance("2026-09-30T22:00:00")
    hub.wait_log(f"HUB-WITHDRAW alert {missed[lapsing]} withdrawn")
    hub.peek("desk-dora", 0)
    assert hub.stats()["alerts"] == 8
    assert [a["cpr"] for a in hub.peek("cw-anna", 3)
            if "the young person's consent to share it ended on "
            "2026-09-30" in a["explanation"]] == [""]


def test_treatment_clock_is_configuration(make_hub):
    hub, [cpr] = assigned_hub(make_hub, 3212,
                              rules={"deadline.treatment_days": "7"})
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    hub.advance("2026-09-14T23:00:00")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-09-15T00:00:00")
    assert hub.stats()["alerts"] == 2
    [a] = hub.peek("desk-dora", 1)
    assert "(7 days after the referral)" in a["title"]


def test_more_open_addiction_alerts_than_referrals_kept_all_go_back(
        make_hub):
    """RULES section 4, Taken back: every open addiction alert, not only
    the latest referral's. The profile keeps the 8 latest referrals; a
    withdrawal or the end of consent took back only theirs, and the
    alerts of older referrals stayed open with the contact person,
    readable outside the consent. Now every open one goes back, named
    oldest first in the one notice."""
    hub, [withdrawn, lapsing] = assigned_hub(make_hub, 3220, n=2)
    days = [f"2026-08-{d}" for d in range(25, 32)] + \
        [f"2026-09-0{d}" for d in range(1, 4)]
    for cpr, consent in ((withdrawn, {"given": True}),
                         (lapsing, {"given": True,
                                    "expires": "2026-09-10"})):
        hub.send(ev_referral(cpr, days[0], consent=consent),
                 *[ev_referral(cpr, day) for day in days[1:]])
    assert hub.wait_applied()["alerts"] == 20
    ids = {}
    for a in hub.peek("cw-anna", 20):
        ids.setdefault(a["cpr"], []).append(a["alert_id"])
    hub.send(ev_referral(withdrawn, "2026-09-07", stage="TREATMENT_ENDED",
                         consent={"given": False}))
    hub.advance("2026-09-11T00:00:00")
    hub.wait_stats("two notices", lambda s: s["alerts"] == 22)
    notices = hub.peek("cw-anna", 2)
    why = {withdrawn: "the young person withdrew the consent to share it",
           lapsing: "the young person's consent to share it ended on "
                    "2026-09-10"}
    for cpr in (withdrawn, lapsing):
        listed = sorted(ids[cpr])
        [n] = [n for n in notices if listed[0] in n["explanation"]]
        assert n["title"] == "Withdrawn: 10 alerts (addiction)"
        assert n["explanation"] == "Alerts " + ", ".join(listed[:-1]) + \
            f" and {listed[-1]} (addiction) are withdrawn: {why[cpr]}. " \
            "Nothing more is expected of you for them."
    assert hub.stats()["alerts_open"] == 2


def test_a_desk_named_as_contact_person_gets_no_health_data(make_hub):
    """RULES sections 4 and 7: consent shares a referral with the contact
    person, never the desk. A ContactAssignment naming the desk's own id
    (the wire takes any id) made the desk the "contact person": the
    addiction alert went to duty-desk, to every member, and an open one
    moved there. The desk's id names no person: such a person has no
    contact person, the referral is withheld, and an open alert stays
    with the caseworker it was shared with."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    desk_only, moved = CprGen(3221).take(2)
    hub.cprs.update({desk_only, moved})
    hub.assign(moved, "cw-anna")
    hub.send(event("youth-a", desk_only, "contact_assignment",
                   caseworker="duty-desk", role="contact",
                   **{"from": "2026-01-01"}),
             ev_referral(desk_only, "2026-09-07", consent={"given": True}),
             ev_referral(moved, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 1
    assert re.search(r"HUB-WITHHELD alert of seq \d+ \(addiction\) "
                     r"withheld: no contact person", hub.log_text())
    [a] = hub.peek("cw-anna", 1)
    assert a["cpr"] == moved
    # Known by an event a timeline shows and without a contact person,
    # the person's timeline is the desk's, and shows no referral.
    rc, lines, err = timeline(hub, "desk-dora", desk_only)
    assert rc == 0, err
    assert not any("ddiction" in line or "eferr" in line
                   for line in lines), lines
    hub.send(event("youth-a", moved, "contact_assignment",
                   caseworker="duty-desk", role="contact",
                   **{"from": "2026-09-07"}))
    hub.settle()
    assert "HUB-REROUTE" not in hub.log_text()
    hub.peek("cw-anna", 1)
    hub.peek("desk-dora", 0)


def test_a_consent_shortened_ends_on_its_new_day(make_hub):
    """RULES section 4: the latest statement rules, expiry included. A
    consent until 2027 shortened to 09-12 ends then: the open alert is
    withdrawn at 09-13 00:00 Danish time (09-12 22:00 UTC), not before.
    On the day it ends a new contact
    person takes nothing over: the withdrawn notice goes to the
    caseworker the alert was shared with."""
    hub, [cpr] = assigned_hub(make_hub, 3222)
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2027-06-30"}))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_STARTED",
                         consent={"given": True, "expires": "2026-09-12"}))
    hub.assign(cpr, "cw-bob", start="2026-09-13")
    hub.advance("2026-09-12T21:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-09-12T22:00:00")
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 2)
    hub.advance("2026-09-13T00:00:00")
    [w] = hub.peek("cw-anna", 1)
    assert "consent to share it ended on 2026-09-12" in w["explanation"]
    hub.peek("cw-bob", 0)


def test_the_scope_is_read_word_by_word(make_hub):
    """RULES section 4, Shared: the scope names what may be shared, as
    words (`all`, `referral`, `stage`). It was searched as text, so a
    scope that only names stages shared the referral when another word
    held the letters "all" ("overall"), and "Referral" shared nothing.
    Now whole words count, in any case."""
    hub, [stages, capital] = assigned_hub(make_hub, 3223, n=2)
    hub.send(ev_referral(stages, "2026-09-07",
                         consent={"given": True,
                                  "scope": "stage (overall treatment)"}),
             ev_referral(capital, "2026-09-07",
                         consent={"given": True, "scope": "Referral; Stage"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["cpr"]) == ("addiction", capital)


def test_a_referral_reported_late_is_told_with_both_days(make_hub):
    """RULES section 6: the treatment clock counts from the referral's
    date, so one reported after its 14th day is missed at once. The
    explanation said the centre "reported the referral on 2026-09-01",
    the referral's own date; it names the day the hub learned of it and
    the referral's date, as the contact and offer alerts do."""
    hub, [cpr] = assigned_hub(make_hub, 3240)
    hub.set_clock("2026-09-21T10:00:00")
    hub.send(ev_referral(cpr, "2026-09-01",
                         consent={"given": True, "scope": "referral,stage"}))
    hub.wait_log(r"HUB-DEADLINE deadline missed: deadline\.treatment\.missed")
    [a] = hub.peek("desk-dora", 1)
    assert a["rule"] == "deadline.treatment.missed"
    assert "addiction-a reported the referral on 2026-09-21, dated " \
        "2026-09-01. The deadline passed on 2026-09-15." in \
        a["explanation"], a["explanation"]


def test_a_desks_combined_alert_counts_a_shared_referral_unnamed(make_hub):
    """SECURITY.md "Need to know", RULES.md §5: a shared referral of a
    person without a contact person raises no alert, but counts toward a
    combined alert, which goes to the desk naming the other signals and
    "one more that only the young person's contact person may see" -
    no service, date, stage or evidence of the referral. A referral the
    consent does not share counts for nothing."""
    from hubtest import ev_dropout_risk, ev_missed_activation
    hub = rules_hub(make_hub, "2026-09-10T08:00:00",
                    rules={"combined.enabled": "yes"})
    shared, unshared = CprGen(3299).take(2)
    hub.cprs.update({shared, unshared})
    for cpr, given in ((shared, True), (unshared, False)):
        hub.send(ev_dropout_risk(cpr, "2026-09-08"),
                 ev_missed_activation(cpr, "2026-09-09"),
                 ev_referral(cpr, "2026-09-07", consent={"given": given}))
    hub.wait_applied()
    alerts = hub.peek("desk-dora", 3)
    assert summary(alerts) == [("combined", "URGENT", "duty-desk"),
                               ("dropout_risk", "NORMAL", "duty-desk"),
                               ("dropout_risk", "NORMAL", "duty-desk")], \
        summary(alerts)
    [c] = [a for a in alerts if a["rule"] == "combined"]
    assert c["cpr"] == shared
    assert c["title"] == "3 warning signs within 90 days: " \
        "cross-disciplinary meeting proposed"
    assert c["explanation"].startswith(
        "Signals for this young person: dropout risk (college-a, "
        "2026-09-08), missed activation (jobcenter-a, 2026-09-09), and one "
        "more that only the young person's contact person may see."), c
    assert c["evidence"] == [], c
    for word in ("addiction", "referral", "rmc-a", "2026-09-07",
                 "treatment", "consent"):
        assert word not in (c["explanation"] + c["title"]).lower(), word


def test_a_hub_restarted_after_the_consent_ended_never_redelivers_it(
        make_hub):
    """RULES.md §4: the open alert is withdrawn when consent ends. A hub
    that was down over that midnight must take it back before anything
    is sent, not redeliver the referral to a caseworker already waiting
    for the hub to come back."""
    hub = rules_hub(make_hub, "2026-09-07T09:00:00")
    cpr = CprGen(4140).born("2008-03-13")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-10"}))
    assert hub.wait_applied()["alerts"] == 1
    hub.stop()
    hub.set_clock("2026-09-15T09:00:00")
    conf = hub.tmp / "inbox-cw-anna.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    # The caseworker's inbox is already reconnecting when hubd starts.
    inbox = subprocess.Popen(
        [binary("inbox"), "--config", str(conf), "--json", "--no_ack",
         "--idle_exit", "4"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    hub.start()
    out, err = inbox.communicate(timeout=60 * SLOW)
    rules = [json.loads(l)["rule"] for l in out.splitlines()
             if l.startswith("{")]
    assert "addiction" not in rules, (rules, err)
    assert rules == ["withdrawn"], (rules, err)


def test_a_health_alert_takes_actions_from_its_recipient_only(make_hub):
    """ARCHITECTURE.md, "Recorded actions" (PROTOCOL.md §4, "Recording
    what was done"): the person's guidance counsellor may record what was
    done about the person's alerts, but not about a health alert, which is
    for the one it was shared with alone."""
    hub, [cpr] = assigned_hub(make_hub, 3290)
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-bob",
               "--from", "2024-01-01", "--role", "guidance")
    hub.send(ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "scope": "referral,stage",
                                  "expires": "2027-06-30"}))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"
    rc, _, err = hub.record("cw-bob", "contact", a["alert_id"], "phone")
    assert rc == 4 and "not addressed to you or your desk" in err, err
    rc, out, err = hub.record("cw-anna", "contact", a["alert_id"], "phone")
    assert (rc, out.strip()) == (0, "recorded"), err
    arch = " ".join((ROOT / "docs/ARCHITECTURE.md").read_text()
                    .split())
    assert "for a health alert only the first two" in arch


def test_a_late_referral_and_its_start_sent_together_are_judged_together(
        make_hub):
    """RULES.md section 1 ("Timers fire only after the log is fully
    applied"): a due timer waits for the events the hub is storing. An
    export reporting a referral of 08-01 after its deadline, and the
    treatment start of 08-05 in the rows after it, arrive together; the
    hub cuts them into batches of one (batch_max = 1), and the clock of
    the referral, due at once, fired between the two: a missed deadline
    at the desk for a treatment that started in time."""
    hub, [cpr] = assigned_hub(make_hub, 3240, settings={"batch_max": "1"})
    consent = {"given": True, "scope": "referral,stage"}
    hub.cprs.add(cpr)
    with IngestClient(hub, "addiction-a") as c:
        for env in (ev_referral(cpr, "2026-08-01", consent=consent),
                    ev_referral(cpr, "2026-08-05",
                                stage="TREATMENT_STARTED")):
            assert c.send(frame(env))
        acks = [c.recv_ack(10) for _ in range(2)]
    assert [a.status for a in acks] == [ACCEPTED, ACCEPTED], acks
    hub.settle()
    assert hub.stats()["alerts"] == 1      # the referral's, to cw-anna
    assert "HUB-DEADLINE" not in hub.log_text()
    hub.peek("desk-dora", 0)
