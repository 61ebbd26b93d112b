"""33 rules, combined (DOMAIN rule 5): several different signals for one
person within the window (default 3 within 90 days) raise one combined
URGENT alert proposing a cross-disciplinary meeting instead of the tipping
signal's own alert; further signals within the window merge into it (no
new alerts), except a dropout, which always alerts (rule 1).

The harness disables the combined rule by default; every test here turns
it on. A signal is what would raise an alert of its own: an absence
episode (rolling or quarter), a dropout, a dropout risk, a not-ready
assessment, a shared addiction referral, a missed activation, a
transition gap (docs/RULES.md)."""

import re
import signal

import hubtest
from hubtest import (CprGen, ev_absence, ev_dropout, ev_dropout_risk,
                     ev_missed_activation, ev_readiness, ev_referral, event,
                     rules_hub)

COMBINED = {"combined.enabled": "yes"}


def summary(alerts):
    return sorted((a["rule"], a["priority"], a["recipient"]) for a in alerts)


def combined_hub(make_hub, seed, n=1, clock="2026-09-08T09:00:00", **rules):
    hub = rules_hub(make_hub, clock, rules=dict(COMBINED, **rules))
    # Adults: no legal deadline clocks start on their dropouts.
    gen = CprGen(seed)
    cprs = [gen.born(f"2000-0{i + 1}-15") for i in range(n)]
    for cpr in cprs:
        hub.assign(cpr, "cw-anna")
    return hub, cprs


def three_signals(cpr):
    """Absence (week to 2026-09-04), a consented referral (09-07) and a
    dropout risk (09-08): the third tips the person over."""
    return [ev_absence(cpr, "2026-08-31", 6),
            ev_referral(cpr, "2026-09-07", consent={"given": True}),
            ev_dropout_risk(cpr, "2026-09-08")]


def test_three_signals_raise_one_combined_alert(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3301)
    absence, referral, risk = three_signals(cpr)
    hub.send(absence, referral)
    # The first two go out on their own.
    assert hub.wait_applied()["alerts"] == 2
    hub.send(risk)
    # The third: one combined alert, and none for the risk itself.
    assert hub.wait_applied()["alerts"] == 3
    alerts = hub.peek("cw-anna", 3)
    assert summary(alerts) == [("absence.rolling", "NORMAL", "cw-anna"),
                               ("addiction", "HIGH", "cw-anna"),
                               ("combined", "URGENT", "cw-anna")]
    c = next(a for a in alerts if a["rule"] == "combined")
    assert c["cpr"] == cpr
    assert c["title"] == "3 warning signs within 90 days: " \
        "cross-disciplinary meeting proposed"
    # Each signal: what, from which agency, when.
    assert "Signals for this young person: absence (school-a, " \
        "2026-09-04), addiction referral (addiction-a, 2026-09-07), " \
        "dropout risk (college-a, 2026-09-08)." in c["explanation"]
    assert "call a cross-disciplinary meeting with the agencies involved " \
        "by 2026-09-15" in c["explanation"]
    assert c["due"] == "2026-09-15"
    [ev] = c["evidence"]
    assert (ev["agency"], ev["type"]) == ("college-a", "DropoutRisk")
    # With its date, as the risk's own alert would give it.
    assert (ev["period_start"], ev["period_end"]) == \
        ("2026-09-08", "2026-09-08")
    hub.peek("desk-dora", 0)


def test_further_signals_merge_but_a_dropout_alerts(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3302)
    hub.send(*three_signals(cpr))
    assert hub.wait_applied()["alerts"] == 3
    # Within the window: a not-ready assessment, a missed activation,
    # another risk, a new absence episode: merged, nothing new.
    hub.send(ev_readiness(cpr, "2026-09-10", 9),
             ev_missed_activation(cpr, "2026-09-11"),
             ev_dropout_risk(cpr, "2026-09-14"),
             # the episode ends (10 % is not above) ...
             ev_absence(cpr, "2026-09-07", 0),
             ev_absence(cpr, "2026-09-14", 0),
             ev_absence(cpr, "2026-09-21", 0),
             ev_absence(cpr, "2026-09-28", 0),
             # ... and a new one begins (30 of 120 in the window)
             ev_absence(cpr, "2026-10-05", 30))
    assert hub.wait_applied()["alerts"] == 3
    hub.wait_log(r"HUB-MERGE signal at seq \d+ merged into combined alert",
                 count=4)
    # A dropout always goes out at once; its signal merges all the same.
    [dropout_seq] = hub.send(ev_dropout(cpr, "2026-09-15"))
    assert hub.wait_applied()["alerts"] == 4
    hub.wait_log(rf"HUB-MERGE signal at seq {dropout_seq} merged into "
                 r"combined alert")
    alerts = hub.peek("cw-anna", 4)
    assert summary(alerts) == [("absence.rolling", "NORMAL", "cw-anna"),
                               ("addiction", "HIGH", "cw-anna"),
                               ("combined", "URGENT", "cw-anna"),
                               ("dropout", "HIGH", "cw-anna")]


def test_the_quarter_notify_level_goes_out_within_the_merge_window(
        make_hub):
    """RULES section 3: the quarter's notify level, a legal duty (the
    school's notification, the child benefit), always goes out. Within a
    combined alert's merge window it was merged like any signal, and the
    combined alert says nothing of 15 % or the child benefit. Now it goes
    out like a dropout does, and the signal still merges."""
    hub, [cpr] = combined_hub(make_hub, 3317,
                              **{"absence.quarter.enabled": "yes"})
    hub.send(*three_signals(cpr))
    assert hub.wait_applied()["alerts"] == 3
    # 6 + 3 of 60 unlawful over 10 school days of Q3: 15 %.
    hub.send(ev_absence(cpr, "2026-09-07", 3))
    assert hub.wait_applied()["alerts"] == 4
    hub.wait_log(r"HUB-MERGE signal at seq \d+ merged into combined alert")
    assert summary(hub.peek("cw-anna", 4)) == [
        ("absence.quarter.notify", "HIGH", "cw-anna"),
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("addiction", "HIGH", "cw-anna"),
        ("combined", "URGENT", "cw-anna")]


def test_signals_further_apart_than_the_window_stay_separate(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3303)
    # Absence ending 2026-06-05 is 95 days before the risk: outside.
    hub.send(ev_absence(cpr, "2026-06-01", 6),
             ev_referral(cpr, "2026-09-07", consent={"given": True}),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 3
    assert summary(hub.peek("cw-anna", 3)) == [
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("addiction", "HIGH", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna")]


def test_same_signal_twice_is_one_kind(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3304)
    hub.send(ev_dropout_risk(cpr, "2026-09-01"),
             ev_dropout_risk(cpr, "2026-09-04"),
             ev_readiness(cpr, "2026-09-07", 9))
    # Two kinds only: three separate alerts.
    assert hub.wait_applied()["alerts"] == 3
    assert summary(hub.peek("cw-anna", 3)) == [
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna")]


def test_events_that_are_no_warning_sign_raise_nothing(make_hub):
    """RULES section 2: the events that raise no alert and are no
    signal. A benefit that starts and stops (a fact for the annual
    status report), an enrolment without a dropout and an ended one, a
    mentor assigned: beside a dropout risk and a not-ready assessment
    they make no third kind, and nothing of their own."""
    hub, [cpr] = combined_hub(make_hub, 3318)
    benefit = dict(jobcenter="jc-albertslund", benefit="CASH_BENEFIT",
                   start="2026-08-01")
    hub.send(event("jobcenter-a", cpr, "benefit_status", **benefit),
             event("jobcenter-a", cpr, "benefit_status", stop="2026-09-02",
                   **benefit),
             event("college-a", cpr, "enrolment", institution="fgu-vest",
                   programme="fgu", start="2026-08-10"),
             event("college-a", cpr, "enrolment", institution="fgu-vest",
                   programme="fgu", start="2026-08-10", end="2026-09-03"),
             event("youth-a", cpr, "contact_assignment", caseworker="cw-bob",
                   role="mentor", **{"from": "2026-09-01"}),
             ev_dropout_risk(cpr, "2026-09-04"),
             ev_readiness(cpr, "2026-09-07", 9))
    assert hub.wait_applied()["alerts"] == 2
    assert summary(hub.peek("cw-anna", 2)) == [
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna")]
    hub.peek("cw-bob", 0)


def test_referral_without_consent_is_no_signal(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3305)
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_referral(cpr, "2026-09-07", consent={"given": False}),
             ev_dropout_risk(cpr, "2026-09-08"))
    # A combined alert would reveal the referral: two separate alerts.
    assert hub.wait_applied()["alerts"] == 2
    assert summary(hub.peek("cw-anna", 2)) == [
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna")]


def test_merge_window_ends(make_hub):
    hub, [inside, outside] = combined_hub(make_hub, 3306, n=2)
    hub.send(*three_signals(inside), *three_signals(outside))
    assert hub.wait_applied()["alerts"] == 6
    # Combined on 2026-09-08 merges signals until 90 days later,
    # 2026-12-07 inclusive.
    hub.send(ev_readiness(inside, "2026-12-07", 9),
             ev_readiness(outside, "2026-12-08", 9))
    assert hub.wait_applied()["alerts"] == 7
    alerts = hub.peek("cw-anna", 7)
    [late] = [a for a in alerts if a["rule"] == "readiness"]
    assert late["cpr"] == outside


def test_dropout_tipping_raises_combined_and_dropout_and_gap_merges(
        make_hub):
    hub, [cpr] = combined_hub(make_hub, 3307)
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_dropout_risk(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_dropout(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 4
    # 30 days on, the transition gap is a signal within the window:
    # merged, no gap alert of its own.
    hub.advance("2026-10-10")
    assert hub.stats()["alerts"] == 4
    hub.wait_log(r"HUB-MERGE", count=1)
    assert summary(hub.peek("cw-anna", 4)) == [
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("combined", "URGENT", "cw-anna"),
        ("dropout", "HIGH", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna")]


def test_window_and_count_are_configuration(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3308,
                              **{"combined.min_signals": "2",
                                 "combined.window_days": "10",
                                 "combined.priority": "high"})
    hub.send(ev_dropout_risk(cpr, "2026-08-20"),
             ev_readiness(cpr, "2026-09-01", 9))   # 12 days apart
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_missed_activation(cpr, "2026-09-05"))  # 4 days after
    assert hub.wait_applied()["alerts"] == 3
    alerts = hub.peek("cw-anna", 3)
    c = next(a for a in alerts if a["rule"] == "combined")
    assert c["priority"] == "HIGH"
    assert c["title"].startswith("2 warning signs within 10 days")


def test_signals_arriving_out_of_order_combine_only_within_the_window(
        make_hub):
    hub, [apart, close] = combined_hub(make_hub, 3309, n=2)
    # The risk (09-01) is reported first; the not-ready assessment of
    # 05-01 and the missed activation of 05-10 come late. 05-01..09-01
    # is 124 days: no 90 days hold three kinds.
    hub.send(ev_dropout_risk(apart, "2026-09-01"),
             ev_readiness(apart, "2026-05-01", 9),
             ev_missed_activation(apart, "2026-05-10"))
    # A late signal in the middle: 06-20..09-01 fits in 90 days.
    hub.send(ev_dropout_risk(close, "2026-09-01"),
             ev_readiness(close, "2026-06-20", 9),
             ev_missed_activation(close, "2026-07-10"))
    assert hub.wait_applied()["alerts"] == 5
    alerts = hub.peek("cw-anna", 5)
    assert summary(a for a in alerts if a["cpr"] == apart) == [
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna")]
    [c] = [a for a in alerts if a["cpr"] == close and
           a["rule"] == "combined"]
    assert "Signals for this young person: dropout risk (college-a, " \
        "2026-09-01), not education-ready (school-a, 2026-06-20), " \
        "missed activation (jobcenter-a, 2026-07-10)." in c["explanation"]


def test_a_later_dated_signal_in_between_does_not_hide_earlier_ones(
        make_hub):
    """RULES section 5: whatever the order of arrival. A signal dated
    months later, reported before a late one, made the hub forget the
    signals more than 90 days before its own date: the late miss of
    05-10 then found neither the not-ready assessment of 05-01 nor the
    risk of 05-05, though the three lie within 90 days. Now they
    combine as they would have in date order."""
    hub, [late, ordered] = combined_hub(make_hub, 3316, n=2)
    hub.send(ev_readiness(late, "2026-05-01", 9),
             ev_dropout_risk(late, "2026-05-05"),
             ev_dropout_risk(late, "2026-09-01"),
             ev_missed_activation(late, "2026-05-10"))
    hub.send(ev_readiness(ordered, "2026-05-01", 9),
             ev_dropout_risk(ordered, "2026-05-05"),
             ev_missed_activation(ordered, "2026-05-10"),
             ev_dropout_risk(ordered, "2026-09-01"))
    assert hub.wait_applied()["alerts"] == 8
    alerts = hub.peek("cw-anna", 8)
    for cpr in (late, ordered):
        assert summary(a for a in alerts if a["cpr"] == cpr) == [
            ("combined", "URGENT", "cw-anna"),
            ("dropout_risk", "NORMAL", "cw-anna"),
            ("dropout_risk", "NORMAL", "cw-anna"),
            ("readiness", "NORMAL", "cw-anna")]
        [c] = [a for a in alerts if a["cpr"] == cpr and
               a["rule"] == "combined"]
        assert "Signals for this young person: not education-ready " \
            "(school-a, 2026-05-01), dropout risk (college-a, 2026-05-05), " \
            "missed activation (jobcenter-a, 2026-05-10)." in \
            c["explanation"]


def test_referral_no_longer_shared_is_no_signal(make_hub):
    hub, [withdrawn, expired] = combined_hub(make_hub, 3310, n=2)
    # Shared when it came (an addiction alert each), then the consent
    # was withdrawn, or ended on 09-10.
    hub.send(ev_referral(withdrawn, "2026-09-07", consent={"given": True}),
             ev_referral(expired, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-10"}))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_referral(withdrawn, "2026-09-09", stage="TREATMENT_STARTED",
                         consent={"given": False}))
    hub.advance("2026-09-14T09:00:00")
    assert hub.stats()["alerts"] == 4      # the two `withdrawn` notices
    # Absence and a dropout risk later: the referral, no longer shared
    # on this day, is not a third signal and is named to nobody.
    for cpr in (withdrawn, expired):
        hub.send(ev_absence(cpr, "2026-09-07", 6),
                 ev_dropout_risk(cpr, "2026-09-14"))
    assert hub.wait_applied()["alerts"] == 8
    alerts = hub.peek("cw-anna", 6)
    assert summary(a for a in alerts if a["rule"] != "withdrawn") == [
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna")]


def test_a_signal_counts_with_its_own_alert_switched_off(make_hub):
    hub, [gap, absent] = combined_hub(
        make_hub, 3311, n=2, clock="2026-09-07T08:00:00",
        **{"transition_gap.enabled": "no",
           "absence.rolling.enabled": "no"})
    # Not ready and a dropout; 30 days on the gap opens: the third kind,
    # though the gap raises no alert of its own.
    hub.send(ev_readiness(gap, "2026-09-02", 9), ev_dropout(gap, "2026-09-07"))
    # Not ready and a dropout risk; then an absence episode starts:
    # the third kind, though the rolling rule raises no alert.
    hub.send(ev_readiness(absent, "2026-09-02", 9),
             ev_dropout_risk(absent, "2026-09-03"),
             ev_absence(absent, "2026-08-31", 6))
    assert hub.wait_applied()["alerts"] == 5
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 6
    alerts = hub.peek("cw-anna", 6)
    assert summary(a for a in alerts if a["cpr"] == gap) == [
        ("combined", "URGENT", "cw-anna"), ("dropout", "HIGH", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna")]
    assert summary(a for a in alerts if a["cpr"] == absent) == [
        ("combined", "URGENT", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna")]
    # The evidence is the tipping event with its dates: the dropout that
    # started the gap clock; the absence report, its period and figures.
    [ev] = next(a for a in alerts if a["cpr"] == gap and
                a["rule"] == "combined")["evidence"]
    assert (ev["type"], ev["period_start"], ev["period_end"]) == \
        ("Dropout", "2026-09-07", "2026-09-07")
    [ev] = next(a for a in alerts if a["cpr"] == absent and
                a["rule"] == "combined")["evidence"]
    assert (ev["type"], ev["period_start"], ev["period_end"],
            ev["lessons_absent"], ev["lessons_expected"]) == \
        ("AbsenceReport", "2026-08-31", "2026-09-04", 6, 30)


def test_a_late_signal_long_before_the_combined_alert_is_not_merged(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3312)
    hub.send(*three_signals(cpr))
    assert hub.wait_applied()["alerts"] == 3       # combined on 09-08
    # Reported late: a not-ready assessment of 2026-03-02, more than 90
    # days before the combined alert, and one of 06-15, within them.
    hub.send(ev_readiness(cpr, "2026-03-02", 9))
    assert hub.wait_applied()["alerts"] == 4
    hub.send(ev_readiness(cpr, "2026-06-15", 9))
    assert hub.wait_applied()["alerts"] == 4
    hub.wait_log(r"HUB-MERGE", count=1)
    [r] = [a for a in hub.peek("cw-anna", 4) if a["rule"] == "readiness"]
    assert r["evidence"][0]["period_start"] == "2026-03-02"


def test_a_late_combined_alert_does_not_cut_the_merge_window_short(
        make_hub):
    hub, [cpr] = combined_hub(make_hub, 3313)
    hub.send(ev_dropout_risk(cpr, "2026-09-01"),
             ev_readiness(cpr, "2026-09-02", 9),
             ev_missed_activation(cpr, "2026-09-03"))
    assert hub.wait_applied()["alerts"] == 3       # combined on 09-03
    # Reported late, three kinds of April: long before the window, they
    # are judged on their own and raise a combined alert of their own.
    hub.send(ev_readiness(cpr, "2026-04-01", 9),
             ev_missed_activation(cpr, "2026-04-02"),
             ev_dropout_risk(cpr, "2026-04-03"))
    assert hub.wait_applied()["alerts"] == 5
    # A new absence episode (week to 09-11) is still within 90 days
    # after the September combined alert: it merges, no alert at all.
    hub.send(ev_absence(cpr, "2026-09-07", 6))
    assert hub.wait_applied()["alerts"] == 5
    assert summary(hub.peek("cw-anna", 5)) == [
        ("combined", "URGENT", "cw-anna"), ("combined", "URGENT", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna"),
        ("readiness", "NORMAL", "cw-anna")]


def test_late_signals_merge_from_window_days_before(make_hub):
    hub, [edge, before] = combined_hub(make_hub, 3314, n=2)
    hub.send(*three_signals(edge), *three_signals(before))
    assert hub.wait_applied()["alerts"] == 6       # combined on 09-08
    # As the days after (up to 12-07, 90 days after, included), the days
    # before: 06-10, 90 days before, merges; 06-09 is judged on its own.
    hub.send(ev_readiness(edge, "2026-06-10", 9),
             ev_readiness(before, "2026-06-09", 9))
    assert hub.wait_applied()["alerts"] == 7
    hub.wait_log(r"HUB-MERGE", count=1)
    [r] = [a for a in hub.peek("cw-anna", 7) if a["rule"] == "readiness"]
    assert r["cpr"] == before


def test_after_the_merge_window_merged_signals_count_again(make_hub):
    hub, [cpr] = combined_hub(make_hub, 3315)
    hub.send(*three_signals(cpr))
    assert hub.wait_applied()["alerts"] == 3       # combined on 09-08
    # Merged: no alert of their own, but still signals of their days.
    hub.send(ev_missed_activation(cpr, "2026-10-01"),
             ev_readiness(cpr, "2026-11-01", 9))
    assert hub.wait_applied()["alerts"] == 3
    # 12-08 is past the merge window (12-07): with the two merged kinds
    # within its 90 days, it raises a new combined alert that names them.
    hub.send(ev_dropout_risk(cpr, "2026-12-08"))
    assert hub.wait_applied()["alerts"] == 4
    late = [a for a in hub.peek("cw-anna", 4) if a["rule"] == "combined"
            and "2026-12-08" in a["explanation"]]
    assert len(late) == 1, late
    assert "Signals for this young person: missed activation " \
        "(jobcenter-a, 2026-10-01), not education-ready (school-a, " \
        "2026-11-01), dropout risk (college-a, 2026-12-08)." in \
        late[0]["explanation"]


def test_a_window_of_one_day_is_singular(make_hub):
    """combined.window_days takes 1: three signals of one day combine,
    "within 1 day", not "within 1 days"."""
    hub, [cpr] = combined_hub(make_hub, 3320,
                              **{"combined.window_days": "1"})
    hub.send(ev_dropout_risk(cpr, "2026-09-01"),
             ev_missed_activation(cpr, "2026-09-01"),
             ev_readiness(cpr, "2026-09-01", 9))
    assert hub.wait_applied()["alerts"] == 2     # dropout_risk, combined
    c = next(a for a in hub.peek("cw-anna", 2) if a["rule"] == "combined")
    assert c["title"] == "3 warning signs within 1 day: " \
        "cross-disciplinary meeting proposed"
    assert "3 or more different signals within 1 day raise one combined " \
        "alert" in c["explanation"]


def test_a_reload_of_the_window_does_not_move_an_open_merge_window(
        make_hub):
    """Combined alert of 2026-09-08 under 90 days; a reload to 30 days.
    A dropout risk of 09-20, 12 days after, merges (within both the old
    and the new window): the merge window was computed as 90 days after
    the tip but its start as 60 days before that end, 10-08, so 09-20 was
    judged afresh and raised a second combined alert over the same
    signals."""
    hub, [cpr] = combined_hub(make_hub, 3321, clock="2026-09-21T08:00:00")
    hub.send(ev_dropout_risk(cpr, "2026-09-01"),
             ev_missed_activation(cpr, "2026-09-02"),
             ev_readiness(cpr, "2026-09-08", 9))
    assert hub.wait_applied()["alerts"] == 2     # dropout_risk, combined
    hub.write_rules(dict(hubtest.NO_ESCALATION, **COMBINED,
                         **{"combined.window_days": "30",
                            "absence.quarter.enabled": "no",
                            "absence.rolling.min_days": "0"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    hub.send(ev_dropout_risk(cpr, "2026-09-20"))
    assert hub.wait_applied()["alerts"] == 2
    hub.wait_log(r"HUB-MERGE signal at seq \d+ merged into combined alert")


def test_the_combined_alert_names_a_long_agency_id_whole(make_hub):
    """RULES section 5: the combined alert names each signal with the
    agency that reported it, and an agency id may have 63 characters
    (OPERATIONS.md). The profile kept 31 of them: "dropout risk
    (college-of-the-western-region-v, 2026-09-01)"."""
    long_id = "college-of-the-western-region-vocational-training-" \
        "and-guidances"
    assert len(long_id) == 63
    agencies = dict(hubtest.RULE_AGENCIES,
                    **{long_id: "dropout,dropout_risk,enrolment"})
    hub = make_hub(agencies=agencies, caseworkers=hubtest.RULE_CASEWORKERS,
                   clock="2026-09-10T09:00:00",
                   rules=dict(hubtest.NO_ESCALATION, **COMBINED))
    cpr = CprGen(3340).born("2011-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(event(long_id, cpr, "dropout_risk", institution="college-x",
                   programme="eud-smed", date="2026-09-01"))
    hub.send(ev_missed_activation(cpr, "2026-09-03"),
             ev_readiness(cpr, "2026-09-08", 9, not_ready_social=True))
    hub.wait_applied()
    [c] = [a for a in hub.peek("cw-anna", 2) if a["rule"] == "combined"]
    assert c["explanation"].startswith(
        f"Signals for this young person: dropout risk ({long_id}, "
        "2026-09-01), missed activation (jobcenter-a, 2026-09-03), not "
        "education-ready (school-a, 2026-09-08).")


def test_the_17th_signal_pushes_out_the_first_noted(make_hub):
    """RULES.md section 5: the profile keeps the last 16 signals noted;
    the 17th pushes out the one noted first. A not-ready assessment, then
    14 missed activations: a dropout risk, the 16th signal, is the third
    kind and tips a combined alert. After 15 missed activations the
    dropout risk is the 17th: the assessment is gone, and the risk is
    only the second kind, with its own alert."""
    hub, [kept, pushed] = combined_hub(
        make_hub, 3322, n=2, **{"missed_activation.enabled": "no"})
    for cpr, misses in ((kept, 14), (pushed, 15)):
        hub.send(ev_readiness(cpr, "2026-09-01", 9))
        hub.send(*(ev_missed_activation(cpr, f"2026-09-{2 + i:02d}")
                   for i in range(misses)))
    assert hub.wait_applied()["alerts"] == 2          # the two readiness
    hub.send(ev_dropout_risk(kept, "2026-09-20"),
             ev_dropout_risk(pushed, "2026-09-20"))
    assert hub.wait_applied()["alerts"] == 4
    alerts = hub.peek("cw-anna", 4)
    assert sorted((a["cpr"] == kept, a["rule"]) for a in alerts) == [
        (False, "dropout_risk"), (False, "readiness"),
        (True, "combined"), (True, "readiness")]


def test_a_combined_alert_naming_a_referral_stays_when_consent_ends(
        make_hub):
    """RULES.md §7: a combined alert that names a referral moves to a new
    contact person only while the consent shares referrals on the day of
    the move. A consent ending the day before the new contact person's
    first day keeps it where it is, and the addiction alert is withdrawn,
    not moved: the consent ends at 00:00 Danish time (22:00 UTC), before
    the move at 00:00 UTC (RULES.md §4)."""
    hub = rules_hub(make_hub, "2026-09-08T09:00:00", rules=COMBINED)
    cpr = CprGen(3390).born("2000-05-15")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_referral(cpr, "2026-09-07",
                         consent={"given": True, "expires": "2026-09-10"}),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 3
    hub.assign(cpr, "cw-bob", start="2026-09-11")
    hub.wait_applied()
    hub.advance("2026-09-10T21:59:59")
    assert hub.stats()["alerts"] == 3
    hub.advance("2026-09-10T22:00:00")
    hub.wait_stats("withdrawn", lambda s: s["alerts"] == 4)
    hub.advance("2026-09-11T00:00:00")
    bob = hub.peek("cw-bob", 1)
    assert [a["rule"] for a in bob] == ["absence.rolling"]
    anna = sorted(a["rule"] for a in hub.peek("cw-anna", 2))
    assert anna == ["combined", "withdrawn"]


def test_a_combined_alert_no_longer_names_a_referral_the_consent_ended(
        make_hub):
    """RULES.md §4, §5: consent is judged at every disclosure. A combined
    alert that names a shared referral to the contact person stays open
    with them when the consent stops sharing referrals, but it no longer
    names the referral: it was delivered after the withdrawal, first or
    again after a reconnect, with "addiction referral (addiction-a,
    2026-09-07)" in it, and with the referral as its evidence when the
    referral tipped it."""
    hub, [named, tipped, ended] = combined_hub(make_hub, 3393, n=3)
    # named: delivered once (not acknowledged) before the withdrawal.
    hub.send(*three_signals(named))
    assert hub.wait_applied()["alerts"] == 3
    [seen] = [a for a in hub.peek("cw-anna", 3) if a["rule"] == "combined"]
    assert "addiction referral (addiction-a, 2026-09-07)" in \
        seen["explanation"]
    # tipped: the referral is the third signal, and the evidence.
    hub.send(ev_absence(tipped, "2026-08-31", 6),
             ev_dropout_risk(tipped, "2026-09-04"),
             ev_referral(tipped, "2026-09-07", consent={"given": True}))
    # ended: the consent ends after 09-09; never delivered before.
    absence, referral, risk = three_signals(ended)
    referral.addiction_referral.consent.expires = "2026-09-09"
    hub.send(absence, referral, risk)
    # The tipping referral raised the combined alert instead of its own.
    assert hub.wait_applied()["alerts"] == 9
    for cpr in (named, tipped):
        hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_STARTED",
                             consent={"given": False}))
    # The third consent ends at 00:00 Danish time on 09-10, 22:00 UTC on
    # 09-09 (RULES.md §4): its combined alert stops naming the referral
    # then, not before.
    renamed = r"HUB-WITHDRAW alert [0-9a-f]{18} \(combined\) no longer " \
        r"names the referral"
    hub.advance("2026-09-09T21:59:59")
    hub.wait_log(renamed, count=2)
    assert len(re.findall(renamed, hub.log_text())) == 2
    hub.advance("2026-09-09T22:00:00")
    assert hub.stats()["alerts"] == 11     # two `withdrawn` notices
    alerts = hub.peek("cw-anna", 9)
    combined = {a["cpr"]: a for a in alerts if a["rule"] == "combined"}
    assert sorted(combined) == sorted([named, tipped, ended])
    for a in combined.values():
        assert "addiction" not in a["explanation"] + a["title"]
        assert not [e for e in a["evidence"]
                    if e["type"] == "AddictionReferral"]
        assert a["recipient"] == "cw-anna"
    assert combined[named]["explanation"].startswith(
        "Signals for this young person: absence (school-a, 2026-09-04), "
        "dropout risk (college-a, 2026-09-08), and one more that may no "
        "longer be shown. Rule combined: 3 or more different signals "
        "within 90 days raise one combined alert")
    assert combined[named]["title"] == seen["title"]
    assert combined[tipped]["evidence"] == []
    assert combined[tipped]["explanation"].startswith(
        "Signals for this young person: absence (school-a, 2026-09-04), "
        "dropout risk (college-a, 2026-09-04), and one more that may no "
        "longer be shown. Rule combined")
    assert [e["type"] for e in combined[ended]["evidence"]] == \
        ["DropoutRisk"]
    hub.wait_log(r"HUB-WITHDRAW alert [0-9a-f]{18} \(combined\) no longer "
                 r"names the referral: the consent no longer shares it",
                 count=3)
    # The consent given again shares the referrals that follow, not
    # this one: the text stays as it is.
    hub.send(ev_referral(named, "2026-09-09", stage="TREATMENT_ENDED",
                         consent={"given": True}))
    hub.wait_applied()
    again = [a for a in hub.peek("cw-anna", 9)
             if a["rule"] == "combined" and a["cpr"] == named]
    assert again[0]["explanation"] == combined[named]["explanation"]
    # RULES.md §7: it stays where it is on a reassignment, as before.
    hub.advance("2026-09-10T00:00:00")
    hub.assign(named, "cw-bob", start="2026-09-10")
    hub.wait_applied()
    hub.wait_log(r"HUB-REROUTE alert [0-9a-f]{18} moved to cw-bob")
    rc, bob, err = hub.inbox("cw-bob", no_ack=True, idle_exit=1)
    assert rc == 0, err
    assert [a["rule"] for a in bob] == ["absence.rolling"]


def test_a_referral_named_first_in_a_combined_alert_goes_with_its_comma(
        make_hub):
    """As above, with the referral the first signal named."""
    hub, [cpr] = combined_hub(make_hub, 3394)
    hub.send(ev_referral(cpr, "2026-09-03", consent={"given": True}))
    hub.wait_applied()
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 3
    [c] = [a for a in hub.peek("cw-anna", 3) if a["rule"] == "combined"]
    assert c["explanation"].startswith(
        "Signals for this young person: addiction referral (addiction-a, "
        "2026-09-03), absence (school-a, 2026-09-04), dropout risk")
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_STARTED",
                         consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 4
    [c] = [a for a in hub.peek("cw-anna", 3) if a["rule"] == "combined"]
    assert c["explanation"].startswith(
        "Signals for this young person: absence (school-a, 2026-09-04), "
        "dropout risk (college-a, 2026-09-08), and one more that may no "
        "longer be shown. Rule combined: ")


def test_a_referral_taken_back_stays_no_signal_when_consent_comes_again(
        make_hub):
    """RULES.md §4, §5: a shared referral whose consent was withdrawn is
    no signal from then on. Consent given again shares the referrals
    that follow it; it did make the one taken back a signal again, and
    the next combined alert named it ("addiction referral (addiction-a,
    2026-09-07)") to the contact person, whose addiction alert had been
    withdrawn with "nothing more is expected of you"."""
    hub, [cpr] = combined_hub(make_hub, 3392, clock="2026-09-10T09:00:00")
    hub.send(ev_referral(cpr, "2026-09-07", consent={"given": True}))
    hub.wait_applied()
    hub.send(ev_referral(cpr, "2026-09-08", stage="TREATMENT_STARTED",
                         consent={"given": False}))
    hub.wait_applied()
    hub.send(ev_referral(cpr, "2026-09-09", stage="TREATMENT_ENDED",
                         consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 2
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 4
    alerts = hub.peek("cw-anna", 3)
    assert sorted(a["rule"] for a in alerts) == [
        "absence.rolling", "dropout_risk", "withdrawn"]
    assert not [a for a in alerts if "addiction referral" in
                a["explanation"]]


def test_a_referral_withheld_stays_no_signal_when_consent_comes_later(
        make_hub):
    """RULES.md §4: a referral is judged once, when it is applied; one
    not shared then is no signal for the combined rule, also after a
    consent given afterwards on another event (which shares the
    referrals that follow it), and also when the referral was
    shared, taken back by a withdrawal and a consent given again later
    shares the referrals that follow."""
    hub, [withheld] = combined_hub(make_hub, 3391)
    hub.send(ev_referral(withheld, "2026-09-07", consent={"given": False}))
    hub.wait_applied()
    hub.send(ev_referral(withheld, "2026-09-08", stage="TREATMENT_STARTED",
                         consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_absence(withheld, "2026-08-31", 6),
             ev_dropout_risk(withheld, "2026-09-08"))
    hub.wait_applied()
    alerts = hub.peek("cw-anna", 2)
    assert summary(alerts) == [
        ("absence.rolling", "NORMAL", "cw-anna"),
        ("dropout_risk", "NORMAL", "cw-anna")]
