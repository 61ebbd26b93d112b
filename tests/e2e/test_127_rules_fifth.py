"""127 rules, fifth round: docs/RULES.md read as a caseworker and a
municipal analyst read it, each case built as the page states it and
compared detail by detail with what a real hubd raises.

rules_hub keeps escalation out of the way; 2026-09-07 is a Monday."""

import hubtest
from hubtest import (NO_ESCALATION, RULE_AGENCIES, RULE_CASEWORKERS, CprGen,
                     envelope, ev_absence, ev_dropout, ev_dropout_risk,
                     ev_missed_activation, ev_readiness, ev_referral, event,
                     rules_hub)
from test_41_rules_followup import corrected


def test_a_missed_activation_names_long_names_whole(make_hub):
    """RULES.md §3, "Missed activations": the explanation names the
    Jobcenter, "the event's `jobcenter`, then "(sent by AGENCY)" when the
    sending agency's id differs", and the miss's "activity code if any";
    §1: only an explanation longer than 1023 bytes is cut (the names an
    agency sent may be 256 bytes each). A jobcenter and an activity code
    of 256 bytes each make an explanation of about 700 bytes: both are
    named whole, and the sender too. (They were cut at 143 and 83 bytes
    on the way, taking "(sent by jobcenter-a)" and the activity's closing
    parenthesis with them.)"""
    hub = rules_hub(make_hub, "2026-09-14T09:00:00")
    cpr = CprGen(12701).born("2000-03-03")
    hub.assign(cpr, "cw-anna")
    jobcenter = "jc-" + "æ" * 125 + "END"        # 3 + 250 + 3 bytes
    activity = "a" * 253 + "END"                  # 256 bytes
    assert len(jobcenter.encode()) == len(activity.encode()) == 256
    hub.send(*(event("jobcenter-a", cpr, "missed_activation",
                     jobcenter=jobcenter, date=day, activity=activity)
               for day in ("2026-09-01", "2026-09-02")))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "missed_activation"
    assert a["explanation"] == (
        f"{jobcenter} (sent by jobcenter-a) reported a missed activation "
        f"on 2026-09-02 (activity {activity}): 2 missed within 30 days. "
        "Rule missed_activation: 2 missed activations within 30 days call "
        "for close follow-up. Expected of you: contact the young person "
        "and the Jobcenter about the activation by 2026-09-21.")
    assert len(a["explanation"].encode()) <= 1023


def seven_kinds(cpr):
    """One signal of each kind but the gap, dated 2026-08-25 to 09-04 (an
    adult: no legal clocks); the dropout of 09-01 opens the gap at
    2026-10-02 00:00, the seventh kind."""
    return [ev_absence(cpr, "2026-08-31", 6),
            ev_dropout_risk(cpr, "2026-08-25"),
            ev_dropout(cpr, "2026-09-01"),
            ev_readiness(cpr, "2026-09-02", 9),
            ev_referral(cpr, "2026-09-03", consent={"given": True}),
            ev_missed_activation(cpr, "2026-09-03")]


def test_seven_kinds_at_the_largest_min_signals(make_hub):
    """RULES.md §10: `combined.min_signals` is 2-7; §5: the kinds are
    named "absence, dropout, dropout risk, not education-ready, addiction
    referral, missed activation, transition gap", each once, in the order
    they first appear. At 7 only the transition gap, the seventh kind,
    tips the alert: "7 warning signs within 90 days", due in 5 working
    days, with the referral named to the contact person; for a person
    without one the desk's alert counts it unnamed ("and one more that
    only the young person's contact person may see") and asks to assign
    a contact person. The six signals before went out on their own."""
    hub = rules_hub(make_hub, "2026-09-04T08:00:00", rules={
        "combined.enabled": "yes", "combined.min_signals": "7"})
    gen = CprGen(12702)
    anna, nobody = gen.born("2000-03-03"), gen.born("2000-04-04")
    hub.assign(anna, "cw-anna")
    hub.send(*seven_kinds(anna), *seven_kinds(nobody))
    hub.wait_applied()
    # anna's five (a single missed activation raises none); the desk's
    # four (the referral withheld: no contact person).
    assert hub.stats()["alerts"] == 9
    hub.advance("2026-10-01T23:59:59")       # + the treatment deadlines
    assert hub.stats()["alerts"] == 11
    hub.advance("2026-10-02T00:00:00")       # the gaps open: combined
    assert hub.stats()["alerts"] == 13
    [mine] = [a for a in hub.peek("cw-anna", 6) if a["rule"] == "combined"]
    named = ("absence (school-a, 2026-09-04), dropout risk (college-a, "
             "2026-08-25), dropout (college-a, 2026-09-01), not "
             "education-ready (school-a, 2026-09-02), {}missed activation "
             "(jobcenter-a, 2026-09-03), transition gap (college-a, "
             "2026-10-02)")
    title = "7 warning signs within 90 days: cross-disciplinary meeting " \
        "proposed"
    assert (mine["title"], mine["priority"], mine["due"]) == \
        (title, "URGENT", "2026-10-09")
    assert mine["explanation"] == (
        "Signals for this young person: " +
        named.format("addiction referral (addiction-a, 2026-09-03), ") +
        ". Rule combined: 7 or more different signals within 90 days raise "
        "one combined alert instead of separate ones; further signals "
        "within the window are merged into it. Expected of you: call a "
        "cross-disciplinary meeting with the agencies involved by "
        "2026-10-09.")
    [desk] = [a for a in hub.peek("desk-dora", 7) if a["rule"] == "combined"]
    assert (desk["cpr"], desk["title"], desk["recipient"]) == \
        (nobody, title, "duty-desk")
    assert desk["explanation"] == (
        "Signals for this young person: " + named.format("") +
        ", and one more that only the young person's contact person may "
        "see. Rule combined: 7 or more different signals within 90 days "
        "raise one combined alert. Expected of you: assign a contact "
        "person and call a cross-disciplinary meeting with the agencies "
        "involved by 2026-10-09.")


def test_a_report_over_three_quarters_and_corrections_into_the_last(
        make_hub):
    """RULES.md §3 and §11: "A report spanning more than two quarters
    counts only in the last two", apportioned by school days. On
    2026-10-12, 30 of 300 unlawful from 2026-06-22 to 10-09: 5 school days
    in Q2 (the summer holiday from 06-27), 38 in Q3, 7 in Q4, 50 in all.
    Q3's part is round(30·43/50) − round(30·5/50) = 26 − 3 = 23 of
    258 − 30 = 228: 10.1 %, the warning, in "the quarter 2026-07-01 to
    2026-09-30" (the quarter just before stays open to a report reaching
    back into it). A correction of such a row is open to it too: a
    fortnight 09-28..10-09 (3 school days in Q3) corrected from 0 to 30 of
    60 gives Q3 9 of 78 over 13 school days, 11.5 %; a correction of a
    row wholly inside Q3, the quarter that has ended, changes nothing."""
    hub = rules_hub(make_hub, "2026-10-12T09:00:00", rules={
        "absence.quarter.enabled": "yes", "absence.rolling.enabled": "no"})
    gen = CprGen(12703)
    wide, span, late = (gen.born("2011-03-03") for _ in range(3))
    for cpr in (wide, span, late):
        hub.assign(cpr, "cw-anna")
    fortnight = ev_absence(span, "2026-09-28", 0, expected=60, days=12)
    september = ev_absence(late, "2026-09-21", 0)
    hub.send(envelope("school-a", wide, "wide", period_start="2026-06-22",
                      period_end="2026-10-09", absent=30, expected=300),
             ev_absence(span, "2026-09-14", 0),
             ev_absence(span, "2026-09-21", 0), fortnight,
             ev_absence(late, "2026-09-14", 0), september,
             ev_absence(late, "2026-10-05", 0))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(corrected(fortnight, ev_absence(span, "2026-09-28", 30,
                                             expected=60, days=12)),
             corrected(september, ev_absence(late, "2026-09-21", 30)))
    assert hub.wait_applied()["alerts"] == 2
    got = {a["cpr"]: a for a in hub.peek("cw-anna", 2)}
    assert sorted(got) == sorted([wide, span])
    tail = (" Rule absence.quarter: at 10 % the school warns the parents, "
            "at 15 % it must notify the municipality, which may stop the "
            "child benefit. Expected of you: check with the school that "
            "the parents were warned by 2026-10-19.")
    for cpr, figures in ((wide, "23 of 228 expected lessons as unlawful "
                                "absence (10.1 %, 38 school days"),
                         (span, "9 of 78 expected lessons as unlawful "
                                "absence (11.5 %, 13 school days")):
        a = got[cpr]
        assert a["rule"] == "absence.quarter.warn"
        assert a["title"] == "Unlawful absence {} % last quarter (level " \
            "10 %)".format(figures.split("(")[1].split(" %")[0])
        assert a["explanation"] == "In the quarter 2026-07-01 to " \
            f"2026-09-30 the school reported {figures} reported)." + tail


def test_a_kind_is_named_by_its_most_recently_noted_signal(make_hub):
    """RULES.md §5: "Each kind is named once, with its most recently
    noted signal's agency and day; the kinds come in the order they first
    appear". A dropout risk of 09-05, an absence week to 09-04, then a
    dropout risk of 08-20 reported late (noted last, though dated first):
    the not-ready assessment of 09-06 tips the combined alert, which names
    the risk by the late one's day, first."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(12704).born("2000-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout_risk(cpr, "2026-09-05"),
             ev_absence(cpr, "2026-08-31", 6),
             ev_dropout_risk(cpr, "2026-08-20", institution="college-y"))
    assert hub.wait_applied()["alerts"] == 3
    hub.send(ev_readiness(cpr, "2026-09-06", 9))
    assert hub.wait_applied()["alerts"] == 4
    [c] = [a for a in hub.peek("cw-anna", 4) if a["rule"] == "combined"]
    assert c["explanation"].startswith(
        "Signals for this young person: dropout risk (college-a, "
        "2026-08-20), absence (school-a, 2026-09-04), not education-ready "
        "(school-a, 2026-09-06). Rule combined: 3 or more"), c["explanation"]
