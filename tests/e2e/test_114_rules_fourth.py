"""114 rules, fourth round: docs/RULES.md's worked examples and tables run
literally, as a municipal analyst checks them: the same dates, ages and
counts as the page, and every detail it states compared.

2026-09-07 is a Monday; escalation is out of the way (rules_hub)."""

import re
import shutil
import signal
import subprocess

from hubtest import (NO_ESCALATION, QUIET, ROOT, SLOW, CprGen, binary,
                     ev_absence, ev_dropout, ev_dropout_risk, ev_enrolment,
                     ev_missed_activation, ev_readiness, ev_referral, event,
                     rules_hub)
from test_41_rules_followup import corrected
from test_59_settings import check_config
from test_81_report import report


def rules_table():
    """RULES.md §2's table: rule name -> its number and default
    priority, as the page states them."""
    text = (ROOT / "docs" / "RULES.md").read_text()
    return {name: (int(n), prio) for n, name, prio in re.findall(
        r"^\| (\d+) \| `([a-z_.]+)` \| [^|]+\| ([A-Z]+) \|", text, re.M)}


def every_rule_raised(make_hub, rules):
    """Each rule of RULES.md §2 raised once by its own case, on a hub
    with `rules`: (the hub, {rule: its alert}), each alert checked on the
    way against the page's due dates and recipients, its id against the
    sequence of the event that raised it or started its timer, and its
    log lines."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules=dict({"combined.enabled": "yes",
                                "absence.quarter.enabled": "yes"}, **rules))
    gen = CprGen(11401)
    adult = lambda: gen.born("2001-02-03")      # no legal clocks
    rolling, warn, notify, risk, ready, shared, comb, miss, back, fixed = \
        (adult() for _ in range(10))
    late, offered = gen.born("2010-05-01"), gen.born("2010-06-01")   # 16
    treat = adult()
    people = [rolling, warn, notify, risk, ready, shared, comb, miss, back,
              fixed, late, offered, treat]
    for cpr in people:
        hub.assign(cpr, "cw-anna")
    not_ready = ev_readiness(fixed, "2026-09-04", 9, not_ready_social=True)
    sent = dict(zip([
        "absence.rolling", "warn-1", "absence.quarter.warn", "notify-1",
        "absence.quarter.notify", "dropout_risk", "readiness", "addiction",
        "comb-1", "comb-2", "combined", "miss-1", "missed_activation",
        "back", "fixed", "dropout", "offered", "treat"], hub.send(
        ev_absence(rolling, "2026-08-31", 6),
        # 6 of 30 then 0 of 30: rolling 20 % (its alert), then the
        # quarter's 6 of 60 over 10 school days, 10 %: the warning.
        ev_absence(warn, "2026-08-10", 6), ev_absence(warn, "2026-08-17", 0),
        # 9 of 60, 15 %: the notify level, one alert.
        ev_absence(notify, "2026-08-10", 9),
        ev_absence(notify, "2026-08-17", 0),
        ev_dropout_risk(risk, "2026-09-04"),
        ev_readiness(ready, "2026-09-04", 9, not_ready_academic=True),
        ev_referral(shared, "2026-09-07", consent={"given": True}),
        ev_absence(comb, "2026-08-31", 6), ev_dropout_risk(comb, "2026-09-03"),
        ev_missed_activation(comb, "2026-09-04"),
        ev_missed_activation(miss, "2026-09-01"),
        ev_missed_activation(miss, "2026-09-03"),
        ev_dropout(back, "2026-09-07"), not_ready,
        ev_dropout(late, "2026-09-07"), ev_dropout(offered, "2026-09-07"),
        ev_referral(treat, "2026-09-07",
                    consent={"given": True, "scope": "all"}))))
    hub.wait_applied()
    alerts = {}

    def collect(who, n):
        for a in hub.peek(who, n):
            alerts.setdefault(a["alert_id"], a)

    collect("cw-anna", 17)
    dropout_id = [a for a in alerts.values() if a["rule"] == "dropout"
                  and a["cpr"] == offered][0]["alert_id"]
    hub.set_clock("2026-09-09T10:00:00")
    rc, _, err = hub.record("cw-anna", "contact", dropout_id, "phone")
    assert rc == 0, err
    [sent["enrolment"], sent["ready again"]] = hub.send(
        ev_enrolment(back, "2026-09-14"),
        corrected(not_ready, ev_readiness(fixed, "2026-09-04", 9,
                                          ready=True)))
    hub.advance("2026-09-11T00:00:00")      # late's contact warning
    hub.advance("2026-09-15T00:00:00")      # ... and its miss
    hub.advance("2026-09-22T00:00:00")      # treat's treatment deadline
    hub.advance("2026-10-08T00:00:00")      # gaps; offered's offer warning
    hub.advance("2026-10-10T00:00:00")      # offered's offer missed
    collect("cw-anna", 20)
    collect("desk-dora", 6)
    owner = {"absence.rolling": rolling, "absence.quarter.warn": warn,
             "absence.quarter.notify": notify, "dropout": late,
             "dropout_risk": risk, "readiness": ready, "addiction": shared,
             "combined": comb, "transition_gap": late, "back_on_track": back,
             "deadline.contact.warn": late, "deadline.contact.missed": late,
             "deadline.offer.warn": offered, "deadline.offer.missed": offered,
             "deadline.treatment.missed": treat, "missed_activation": miss,
             "withdrawn": fixed}
    got = {a["rule"]: a for a in alerts.values()
           if owner.get(a["rule"]) == a["cpr"]}
    assert len(got) == 17, sorted(got)
    seq = dict(sent, **{"absence.quarter.warn": sent["absence.quarter.warn"],
                        "dropout": sent["dropout"],
                        "transition_gap": sent["dropout"],
                        "deadline.contact.warn": sent["dropout"],
                        "deadline.contact.missed": sent["dropout"],
                        "deadline.offer.warn": sent["offered"],
                        "deadline.offer.missed": sent["offered"],
                        "deadline.treatment.missed": sent["treat"],
                        "back_on_track": sent["enrolment"],
                        "withdrawn": sent["ready again"]})
    desk = {"deadline.contact.warn", "deadline.contact.missed",
            "deadline.offer.warn", "deadline.offer.missed",
            "deadline.treatment.missed"}
    due = {"absence.rolling": "2026-09-14",
           "absence.quarter.warn": "2026-09-14",
           "absence.quarter.notify": "2026-09-09",       # 2 working days
           "dropout": "2026-09-14", "dropout_risk": "2026-09-14",
           "readiness": "2026-09-21",                    # 10 working days
           "addiction": "2026-09-14", "combined": "2026-09-14",
           "transition_gap": "2026-10-15",               # from Thu 10-08
           "back_on_track": "",
           "deadline.contact.warn": "2026-09-14",        # the deadline
           "deadline.contact.missed": "2026-09-15",      # today
           "deadline.offer.warn": "2026-10-09",
           "deadline.offer.missed": "2026-10-10",        # a Saturday
           "deadline.treatment.missed": "2026-09-22",
           "missed_activation": "2026-09-14", "withdrawn": ""}
    log = hub.log_text()
    for rule, a in got.items():
        recipient = "duty-desk" if rule in desk else "cw-anna"
        assert (a["alert_id"][:16], a["recipient"], a["due"]) == \
            ("%016x" % seq[rule], recipient, due[rule]), (rule, a)
        assert f"HUB-ALERT alert {a['alert_id']} ({rule}) raised for " \
            f"{recipient}" in log, rule
        if rule.endswith(".missed"):
            assert f"HUB-DEADLINE deadline missed: {rule} (seq " \
                f"{seq[rule]})" in log, rule
    return hub, got


def inbox_evidence(hub, caseworker):
    """`inbox` as a caseworker reads it (text, not acknowledged): each
    open alert's evidence lines, by alert id."""
    p = subprocess.run(
        [binary("inbox"), "--caseworker", caseworker, "--keys_dir",
         str(hub.keys_dir), "--delivery", hub.delivery, "--no_ack",
         "--idle_exit", str(QUIET)],
        capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    shown = {}
    for block in p.stdout.split("=== ")[1:]:
        lines = block.splitlines()
        after = lines[lines.index("    evidence:") + 1:] \
            if "    evidence:" in lines else []
        shown[lines[0].split()[2]] = [
            line for line in after if line.startswith("      ")]
    return shown


def quarter_pupil(make_hub, clock, seed, born):
    """A hub at clock with the quarter rule alone (the rolling one off)
    and a pupil born on born assigned to cw-anna: (hub, the pupil)."""
    hub = rules_hub(make_hub, clock,
                    rules={"absence.quarter.enabled": "yes",
                           "absence.rolling.enabled": "no"})
    cpr = CprGen(seed).born(born)
    hub.assign(cpr, "cw-anna")
    return hub, cpr


def test_every_row_of_the_rules_table_as_raised(make_hub, tmp_path):
    """RULES.md §2, row by row: each rule raised once by its own case,
    with the number the table gives in the last byte of its id (the
    raising event's sequence before it: for a timer, the event that
    started it), the default priority, the recipient and the due date
    the table states ("working days" counted from the hub's today when
    the alert is raised), and logged `HUB-ALERT alert <id> (<rule>)
    raised for <recipient>`."""
    table = rules_table()
    assert len(table) == 17, table
    hub, got = every_rule_raised(make_hub, {})
    assert sorted(got) == sorted(table)
    for rule, (number, priority) in table.items():
        assert (got[rule]["alert_id"][16:], got[rule]["priority"]) == \
            ("%02x" % number, priority), rule
    # The annual status counts them by rule, a row each (OPERATIONS.md,
    # "The tables, exactly": `back_on_track` and `withdrawn` too).
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert [r[0] for r in tables["alerts"][1:]] == sorted(table) + ["Total"]


# RULES.md §10's settings table: a priority setting for each rule but the
# missed deadlines (always HIGH) and `withdrawn` (always LOW); the two
# warnings share deadline.priority.
PRIORITIES = {
    "dropout.priority": ("low", ["dropout"]),
    "dropout_risk.priority": ("urgent", ["dropout_risk"]),
    "absence.rolling.priority": ("high", ["absence.rolling"]),
    "absence.quarter.priority": ("urgent", ["absence.quarter.warn"]),
    "absence.quarter.notify_priority": ("low", ["absence.quarter.notify"]),
    "readiness.priority": ("high", ["readiness"]),
    "addiction.priority": ("low", ["addiction"]),
    "combined.priority": ("low", ["combined"]),
    "transition_gap.priority": ("normal", ["transition_gap"]),
    "back_on_track.priority": ("urgent", ["back_on_track"]),
    "deadline.priority": ("normal", ["deadline.contact.warn",
                                     "deadline.offer.warn"]),
    "missed_activation.priority": ("urgent", ["missed_activation"]),
}


def test_every_priority_setting_of_the_settings_table(make_hub):
    """RULES.md §10, each `*.priority` row set away from its default:
    the alerts of its rule carry it (written in any case); a missed
    deadline stays HIGH and a `withdrawn` notice LOW (§2)."""
    _, got = every_rule_raised(make_hub, {
        name: value.upper() if i % 2 else value
        for i, (name, (value, _)) in enumerate(PRIORITIES.items())})
    want = {rule: value.upper() for value, rules in PRIORITIES.values()
            for rule in rules}
    want.update({r: "HIGH" for r in ("deadline.contact.missed",
                                     "deadline.offer.missed",
                                     "deadline.treatment.missed")},
                withdrawn="LOW")
    assert {r: a["priority"] for r, a in got.items()} == want


def test_the_missed_activation_example_as_written(make_hub):
    """RULES.md §3, "Missed activations", its example with the defaults:
    misses on 03-02 and 03-20 alert with the second; 03-25 and 04-10 add
    nothing (before 04-19); 04-25 alerts (04-10 and 04-25 within
    03-27..04-25); a single miss on 06-30 does not. The explanation as
    the page words it, for a miss with activity A1 sent by jobcenter-a
    for jc-albertslund."""
    hub = rules_hub(make_hub, "2026-07-01T08:00:00")
    cpr = CprGen(11402).born("2004-04-04")
    hub.assign(cpr, "cw-anna")

    def miss(day):
        return event("jobcenter-a", cpr, "missed_activation",
                     jobcenter="jc-albertslund", date=day, activity="A1")

    raised = []
    for day, alerts in (("2026-03-02", 0), ("2026-03-20", 1),
                        ("2026-03-25", 1), ("2026-04-10", 1),
                        ("2026-04-25", 2), ("2026-06-30", 2)):
        [seq] = hub.send(miss(day))
        assert hub.wait_applied()["alerts"] == alerts, day
        if len(raised) < alerts:
            raised.append(seq)
    got = sorted(hub.peek("cw-anna", 2), key=lambda a: a["alert_id"])
    assert [a["alert_id"] for a in got] == \
        ["%016x10" % s for s in raised]
    first, second = got
    assert (first["rule"], first["priority"], first["due"]) == \
        ("missed_activation", "NORMAL", "2026-07-08")
    assert first["explanation"].startswith(
        "jc-albertslund (sent by jobcenter-a) reported a missed activation "
        "on 2026-03-20 (activity A1): 2 missed within 30 days."), first
    assert second["explanation"].startswith(
        "jc-albertslund (sent by jobcenter-a) reported a missed activation "
        "on 2026-04-25 (activity A1): 2 missed within 30 days."), second
    # Its evidence is the miss that reached the count alone.
    assert [(e["type"], e["agency"], e["period_start"])
            for e in first["evidence"]] == \
        [("MissedActivation", "jobcenter-a", "2026-03-20")]
    # As `inbox` shows it (RULES.md quotes the line).
    assert inbox_evidence(hub, "cw-anna")[first["alert_id"]] == \
        ["      2026-03-20              Missed activation  (jobcenter-a)"]


def test_the_quarter_split_of_7_of_31_over_3_and_2_school_days(make_hub):
    """RULES.md §3, "A report that spans a quarter boundary": 7 of 31
    over 3 + 2 school days is 4 of 19 in Q3 and 3 of 12 in Q4. The week
    2026-09-28..10-02 (Monday to Friday) after two Q3 weeks of 3 and 2
    unlawful of 30 makes Q3 9 of 79 over 13 school days (11.4 %, Q3's
    warning: its part reaches back); the week after and the week after
    the autumn holiday (0 and 5 of 30) make Q4 8 of 72 over 12 (11.1 %)."""
    hub, cpr = quarter_pupil(make_hub, "2026-10-26T08:00:00", 11403,
                             "2011-03-03")
    hub.send(ev_absence(cpr, "2026-09-14", 3),
             ev_absence(cpr, "2026-09-21", 2),
             ev_absence(cpr, "2026-09-28", 7, expected=31))
    assert hub.wait_applied()["alerts"] == 1
    [q3] = hub.peek("cw-anna", 1)
    assert q3["title"] == "Unlawful absence 11.4 % last quarter (level 10 %)"
    assert "In the quarter 2026-07-01 to 2026-09-30 the school reported 9 " \
        "of 79 expected lessons as unlawful absence (11.4 %, 13 school " \
        "days reported)" in q3["explanation"], q3
    # The evidence is the report with its own period and figures.
    assert [(e["period_start"], e["period_end"]) for e in q3["evidence"]] \
        == [("2026-09-28", "2026-10-02")]
    assert inbox_evidence(hub, "cw-anna")[q3["alert_id"]] == [
        "      2026-09-28..2026-10-02    7 of  31 lessons absent  "
        "(school-a)"]
    hub.send(ev_absence(cpr, "2026-10-05", 0),
             ev_absence(cpr, "2026-10-19", 5))
    assert hub.wait_applied()["alerts"] == 2
    [q4] = [a for a in hub.peek("cw-anna", 2) if a["alert_id"] !=
            q3["alert_id"]]
    assert q4["title"] == "Unlawful absence 11.1 % this quarter (level 10 %)"
    assert "In the quarter 2026-10-01 to 2026-12-31 the school reported 8 " \
        "of 72 expected lessons as unlawful absence (11.1 %, 12 school " \
        "days reported)" in q4["explanation"], q4


def test_rules_switched_off_still_give_their_signals(make_hub):
    """RULES.md §10's `*.enabled` rows set to no, the combined rule on:
    §5 notes a signal "even if the signal's own alert is disabled", so a
    dropout, a dropout risk and one missed activation combine with none
    of their own alerts, as do a not-ready assessment, a shared referral
    (`addiction.enabled`: consent always applies) and two misses.
    `dropout.enabled = no` (§3): no alert and no legal clock for a
    16-year-old, the gap clock and the signal remain."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules={
        "combined.enabled": "yes", "dropout.enabled": "no",
        "dropout_risk.enabled": "no", "readiness.enabled": "no",
        "addiction.enabled": "no", "missed_activation.enabled": "no"})
    gen = CprGen(11404)
    first, second, gap = (gen.born("2010-05-05") for _ in range(3))
    for cpr in (first, second, gap):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(first, "2026-09-01"),
             ev_dropout_risk(first, "2026-09-02"),
             ev_readiness(second, "2026-09-01", 9, not_ready_social=True),
             ev_referral(second, "2026-09-02", consent={"given": True}),
             ev_dropout(gap, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 0
    [seq] = hub.send(ev_missed_activation(first, "2026-09-03"))
    assert hub.wait_applied()["alerts"] == 1
    [c] = hub.peek("cw-anna", 1)
    assert (c["rule"], c["cpr"], c["alert_id"]) == \
        ("combined", first, "%016x08" % seq)
    assert c["explanation"].startswith(
        "Signals for this young person: dropout (college-a, 2026-09-01), "
        "dropout risk (college-a, 2026-09-02), missed activation "
        "(jobcenter-a, 2026-09-03)."), c
    [seq] = hub.send(ev_missed_activation(second, "2026-09-04"))
    hub.send(ev_missed_activation(second, "2026-09-05"))
    assert hub.wait_applied()["alerts"] == 2
    [c] = [a for a in hub.peek("cw-anna", 2) if a["cpr"] == second]
    assert (c["rule"], c["alert_id"]) == ("combined", "%016x08" % seq)
    assert c["explanation"].startswith(
        "Signals for this young person: not education-ready (school-a, "
        "2026-09-01), addiction referral (addiction-a, 2026-09-02), missed "
        "activation (jobcenter-a, 2026-09-04)."), c
    # No legal clock: nothing on 09-11 (the warning) or 09-15 (the miss).
    hub.advance("2026-09-15T00:00:00")
    assert hub.stats()["alerts"] == 2
    hub.peek("desk-dora", 0)
    # The gap clock remains: 30 days on, the gap alerts.
    hub.advance("2026-10-08T00:00:00")
    gaps = [a for a in hub.peek("cw-anna", 3) if a["rule"] ==
            "transition_gap"]
    assert [a["cpr"] for a in gaps] == [gap], gaps


def test_a_rebuild_raises_the_table_again_and_nothing_more(make_hub):
    """RULES.md §1: "A replay after a crash raises the same ids, and the
    store keeps each once"; §6: a replay "raises the alerts that were
    raised, and no others". Every rule of the table raised, derived/
    deleted (OPERATIONS.md), hubd replays the whole log with its timers
    in the hub clock's order: the same open alerts, no new one."""
    hub, got = every_rule_raised(make_hub, {})
    before = hub.stats()["alerts"]
    lists = {who: sorted(a["alert_id"] for a in hub.peek(who, n))
             for who, n in (("cw-anna", 20), ("desk-dora", 6))}
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(r"HUB-REPLAY")
    hub.settle()
    assert hub.stats()["alerts"] == before
    for who, ids in lists.items():
        assert sorted(a["alert_id"] for a in hub.peek(who, len(ids))) == \
            ids, who
    hub.peek("cw-bob", 0)


def test_the_rolling_withdrawal_example_as_written(make_hub):
    """RULES.md §3, "Corrections", AbsenceReport: a correction that takes
    the rolling rate back under the threshold withdraws the open alert:
    "school-a corrected its report for 2026-09-07 to 2026-09-11: absence
    is now 4 of 120 expected lessons (3.3 %), under the threshold of
    10 %" (the window's figures after the correction), in a notice worded
    as "Withdrawing" says, with the correction as its evidence (its
    period and figures), no due, to the alert's recipient."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00",
                    rules={"absence.rolling.min_days": "10"})
    cpr = CprGen(11405).born("2011-06-06")
    hub.assign(cpr, "cw-anna")
    week = ev_absence(cpr, "2026-09-07", 12)
    hub.send(ev_absence(cpr, "2026-08-17", 0),
             ev_absence(cpr, "2026-08-24", 1),
             ev_absence(cpr, "2026-08-31", 1), week)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "absence.rolling"
    [seq] = hub.send(corrected(week, ev_absence(cpr, "2026-09-07", 2)))
    assert hub.wait_applied()["alerts"] == 2
    [w] = hub.peek("cw-anna", 1)
    assert (w["alert_id"], w["rule"], w["priority"], w["cpr"], w["due"]) == \
        ("%016x11" % seq, "withdrawn", "LOW", cpr, "")
    assert w["title"] == f"Withdrawn: alert {a['alert_id']} (absence.rolling)"
    assert w["explanation"] == (
        f"Alert {a['alert_id']} (absence.rolling) is withdrawn: school-a "
        "corrected its report for 2026-09-07 to 2026-09-11: absence is now "
        "4 of 120 expected lessons (3.3 %), under the threshold of 10 %. "
        "Nothing more is expected of you for it.")
    assert [(e["type"], e["agency"], e["period_start"], e["period_end"],
             e["lessons_absent"], e["lessons_expected"])
            for e in w["evidence"]] == \
        [("AbsenceReport", "school-a", "2026-09-07", "2026-09-11", 2, 30)]
    hub.wait_log(r"HUB-WITHDRAW alert %s withdrawn after a correction"
                 % a["alert_id"])


def test_a_dropout_of_a_16_year_old_back_already_names_no_clock(make_hub):
    """RULES.md §3: a dropout reported after an enrolment that started
    later opens no episode ("Back on track"), so no legal clock runs for
    a 16-year-old either: the dropout alert asks for contact "as soon as
    possible", not by a deadline the hub would keep, and no warning or
    miss follows; `due` is still 5 working days after the hub learned."""
    hub = rules_hub(make_hub, "2026-10-05T08:00:00")
    cpr = CprGen(11406).born("2010-05-01")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_enrolment(cpr, "2026-10-01"))
    hub.send(ev_dropout(cpr, "2026-09-07", institution="eud-vest"))
    assert hub.wait_applied()["alerts"] == 1
    [d] = hub.peek("cw-anna", 1)
    assert (d["rule"], d["due"], d["explanation"]) == (
        "dropout", "2026-10-12",
        "college-a reported that the young person left eud-vest on "
        "2026-09-07. Rule dropout: a dropout alerts the contact person at "
        "once. Expected of you: make contact as soon as possible.")
    hub.advance("2026-10-13T00:00:00")
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()


def test_a_late_report_reaching_back_alerts_once_then_the_next_judges(
        make_hub):
    """RULES.md §3, "Which quarter judges a report": a report that reaches
    back into the quarter just before is judged there first; if its part
    reaches a level there, "that is the report's alert ... and the
    current quarter is judged again with its next report". Q3 ended at
    5 of 60 (8.3 %); Q4 holds 5 of 60 over 10 school days. The week
    2026-09-28..10-02 arriving late with 7 of 31 gives Q3 4 of 19 (9 of
    79, 11.4 %: Q3's warning, the report's one alert) and Q4 3 of 12 (8
    of 72, 11.1 %: not judged by this report). The next report, 3 of 30,
    makes Q4 11 of 102 (10.8 %): Q4's warning."""
    hub, cpr = quarter_pupil(make_hub, "2026-11-02T08:00:00", 11407,
                             "2011-05-01")
    hub.send(ev_absence(cpr, "2026-09-14", 3),
             ev_absence(cpr, "2026-09-21", 2),
             ev_absence(cpr, "2026-10-05", 2),
             ev_absence(cpr, "2026-10-19", 3))
    assert hub.wait_applied()["alerts"] == 0
    hub.send(ev_absence(cpr, "2026-09-28", 7, expected=31))
    assert hub.wait_applied()["alerts"] == 1
    [q3] = hub.peek("cw-anna", 1)
    assert q3["explanation"].startswith(
        "In the quarter 2026-07-01 to 2026-09-30 the school reported 9 of 79 "
        "expected lessons as unlawful absence (11.4 %, 13 school days "
        "reported)."), q3
    hub.send(ev_absence(cpr, "2026-10-26", 3))
    assert hub.wait_applied()["alerts"] == 2
    [q4] = [a for a in hub.peek("cw-anna", 2) if a["alert_id"] !=
            q3["alert_id"]]
    assert (q4["rule"], q4["title"]) == (
        "absence.quarter.warn",
        "Unlawful absence 10.8 % this quarter (level 10 %)")
    assert q4["explanation"].startswith(
        "In the quarter 2026-10-01 to 2026-12-31 the school reported 11 of "
        "102 expected lessons as unlawful absence (10.8 %, 17 school days "
        "reported)."), q4


def test_the_texts_rules_md_quotes_word_for_word(make_hub):
    """The explanations RULES.md quotes, built as the page builds them
    (its agencies, dates and ages; the hub clock on 2026-09-08 where the
    page's due is 09-15) and compared whole: the dropout of a 16-year-old
    with a reason (§3), the dropout risk (§3), the desk's combined alert
    that leaves a shared referral out (§5), and the contact and offer
    deadlines' misses (§6)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"combined.enabled": "yes"})
    gen = CprGen(11408)
    young, risky, desk, offered = (gen.born("2010-03-03"),
                                   gen.born("2003-03-03"),
                                   gen.born("2003-04-04"),
                                   gen.born("2010-04-04"))
    for cpr in (young, risky, offered):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(young, "2026-09-07", institution="college-a",
                        reason="12"),
             ev_dropout(offered, "2026-09-07"),
             ev_dropout_risk(risky, "2026-09-04", reason="absence"),
             ev_absence(desk, "2026-08-31", 6),
             ev_referral(desk, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 4
    hub.wait_log(r"HUB-WITHHELD alert of seq \d+ \(addiction\) withheld: "
                 r"no contact person")
    hub.set_clock("2026-09-08T09:00:00")
    hub.send(ev_dropout_risk(desk, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 5
    mine = {a["cpr"]: a for a in hub.peek("cw-anna", 3)}
    assert mine[young]["explanation"] == (
        "college-a reported that the young person left college-a on "
        "2026-09-07, reason 12. Rule dropout: a dropout alerts the contact "
        "person at once. The young person is 16 (the legal deadlines apply "
        "from 15 to 17): the municipality must make contact within 5 "
        "working days of learning of the dropout and offer a new activity "
        "within 30 days of the contact; the hub keeps both clocks. "
        "Expected of you: make contact by 2026-09-14 and record it (inbox "
        "--contact).")
    assert mine[risky]["explanation"] == (
        "college-x sees an imminent risk that the young person drops out "
        "(assessed 2026-09-04, reason absence). Rule dropout_risk: "
        "institutions must tell the municipality before the dropout "
        "happens. Expected of you: contact the young person and the "
        "institution by 2026-09-14.")
    [c] = [a for a in hub.peek("desk-dora", 2) if a["rule"] == "combined"]
    assert (c["cpr"], c["title"], c["explanation"]) == (
        desk, "3 warning signs within 90 days: cross-disciplinary meeting "
        "proposed",
        "Signals for this young person: absence (school-a, 2026-09-04), "
        "dropout risk (college-a, 2026-09-08), and one more that only the "
        "young person's contact person may see. Rule combined: 3 or more "
        "different signals within 90 days raise one combined alert. "
        "Expected of you: assign a contact person and call a "
        "cross-disciplinary meeting with the agencies involved by "
        "2026-09-15.")
    assert [e["type"] for e in c["evidence"]] == ["DropoutRisk"]
    # The contact made for one of them on 09-09: its offer is due 10-09.
    hub.set_clock("2026-09-09T10:00:00")
    rc, _, err = hub.record("cw-anna", "contact",
                            mine[offered]["alert_id"], "phone")
    assert rc == 0, err
    hub.advance("2026-09-15T00:00:00")
    hub.advance("2026-10-08T00:00:00")
    hub.advance("2026-10-10T00:00:00")
    missed = {a["rule"]: a for a in hub.peek("desk-dora", 6)
              if a["rule"].endswith(".missed")}
    m = missed["deadline.contact.missed"]
    assert (m["cpr"], m["title"], m["explanation"]) == (
        young, "Legal deadline missed: the duty to contact the young person "
        "(5 working days after the municipality learned of the dropout)",
        "The hub keeps the legal clocks. college-a reported the dropout on "
        "2026-09-07. The deadline passed on 2026-09-14. Rule "
        "deadline.contact.missed: a missed deadline goes to the duty desk "
        "and is a fact in the annual status report. Expected of you now: "
        "make contact with the young person today (phone, then a home "
        "visit if there is no answer), record it with inbox --contact, and "
        "note in the case why the deadline was missed.")
    m = missed["deadline.offer.missed"]
    assert (m["cpr"], m["title"], m["due"]) == (
        offered, "Legal deadline missed: the duty to offer a new activity "
        "(30 days after the contact was made)", "2026-10-10")
    assert m["explanation"].endswith(
        "Expected of you now: offer the young person an education, job or "
        "other activity within the next working days, record it with inbox "
        "--offer, and note in the case why the deadline was missed."), m
    [w] = [a for a in hub.peek("desk-dora", 6)
           if a["rule"] == "deadline.offer.warn"]
    assert w["explanation"].endswith(
        "Expected of you: make sure an activity is offered and recorded "
        "(inbox --offer) before the deadline."), w


def test_a_withdrawn_notice_names_16_alerts_and_closes_the_17th(make_hub):
    """RULES.md §11: "One `withdrawn` notice names at most 16 alerts: a
    withdrawal of consent that takes back more of a person's open
    `addiction` alerts closes the others too, without naming them." 17
    shared referrals, then the consent withdrawn: one notice naming 16
    of them (oldest first), and no addiction alert left open. (The
    treatment clocks out of the way: 60 days.)"""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"deadline.treatment_days": "60"})
    cpr = CprGen(11409).born("2002-02-02")
    hub.assign(cpr, "cw-anna")
    days = ["2026-08-%02d" % d for d in range(15, 32)]
    hub.send(ev_referral(cpr, days[0], consent={"given": True}),
             *[ev_referral(cpr, day) for day in days[1:]])
    assert hub.wait_applied()["alerts"] == 17
    ids = sorted(a["alert_id"] for a in hub.peek("cw-anna", 17))
    [seq] = hub.send(ev_referral(cpr, "2026-09-07", stage="TREATMENT_ENDED",
                                 consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 18
    [n] = hub.peek("cw-anna", 1)
    assert (n["alert_id"], n["rule"], n["cpr"], n["evidence"]) == \
        ("%016x11" % seq, "withdrawn", "", [])
    assert n["title"] == "Withdrawn: 16 alerts (addiction)"
    assert n["explanation"] == "Alerts " + ", ".join(ids[:15]) + \
        f" and {ids[15]} (addiction) are withdrawn: the young person " \
        "withdrew the consent to share it. Nothing more is expected of " \
        "you for them."
    assert hub.stats()["alerts_open"] == 1
    hub.wait_log(r"HUB-WITHDRAW alert %s withdrawn after a correction"
                 % ids[16])


def test_a_desks_combined_alert_keeps_its_text_with_a_contact_person(
        make_hub):
    """RULES.md §11: "A combined alert raised for the desk (without the
    referral) keeps that text when a later contact person takes it
    over": §7 moves the desk's open alerts to the person's new contact
    person (logged HUB-REROUTE), the alert unchanged but its recipient."""
    hub = rules_hub(make_hub, "2026-09-08T09:00:00",
                    rules={"combined.enabled": "yes"})
    cpr = CprGen(11410).born("2003-04-04")
    hub.send(ev_absence(cpr, "2026-08-31", 6),
             ev_referral(cpr, "2026-09-07", consent={"given": True}),
             ev_dropout_risk(cpr, "2026-09-08"))
    assert hub.wait_applied()["alerts"] == 2
    [c] = [a for a in hub.peek("desk-dora", 2) if a["rule"] == "combined"]
    hub.assign(cpr, "cw-anna", start="2026-09-08")
    hub.wait_log(r"HUB-REROUTE alert %s moved to cw-anna" % c["alert_id"])
    [moved] = [a for a in hub.peek("cw-anna", 2) if a["rule"] == "combined"]
    assert moved["recipient"] == "cw-anna"
    assert (moved["alert_id"], moved["title"], moved["explanation"],
            moved["due"], moved["evidence"]) == \
        (c["alert_id"], c["title"], c["explanation"], c["due"],
         c["evidence"])
    assert "one more that only the young person's contact person may " \
        "see" in moved["explanation"]
    hub.peek("desk-dora", 0)


def test_a_report_in_days_adds_up_with_one_in_lessons(make_hub):
    """RULES.md §11: both measures add a report's figures as they come,
    whatever its `unit_days`: "a report of 2 of 5 days beside one of 0
    of 30 lessons is 2 of 35" (5.7 %, over a threshold of 5 %)."""
    hub = rules_hub(make_hub, "2026-09-14T08:00:00",
                    rules={"absence.rolling.threshold_pct": "5"})
    cpr = CprGen(11411).born("2011-07-07")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_absence(cpr, "2026-08-31", 0))
    assert hub.wait_applied()["alerts"] == 0
    days = ev_absence(cpr, "2026-09-07", 2, expected=5)
    days.absence_report.unit_days = True
    hub.send(days)
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("cw-anna", 1)
    assert a["explanation"].startswith(
        "From 2026-08-31 to 2026-09-11 (10 school days reported) the school "
        "reported 2 of 35 expected lessons absent (5.7 %) in 2 reports."), a


def test_a_reload_gives_running_clocks_the_priority_then_in_force(make_hub):
    """RULES.md §10, "On SIGHUP": timers already scheduled keep their due
    instants "but are judged, when they fire, by the rules then in force
    ... a changed priority is the priority of what they raise". A
    16-year-old's dropout on Monday 2026-09-07 starts the contact clock
    and the gap clock; a reload then sets the warnings (deadline.priority)
    to normal and the gap to low: the warning of 09-11 is NORMAL, the
    miss of 09-15 still HIGH (always), the gap of 10-08 LOW, each at the
    instant scheduled before the reload."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(11412).born("2010-02-02")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.write_rules(dict(NO_ESCALATION, **{
        "absence.rolling.min_days": "0", "absence.quarter.enabled": "no",
        "combined.enabled": "no", "deadline.priority": "normal",
        "transition_gap.priority": "low"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    for instant, alerts in (("2026-09-10T23:59:59", 1),
                            ("2026-09-11T00:00:00", 2),
                            ("2026-09-14T23:59:59", 2),
                            ("2026-09-15T00:00:00", 3),
                            ("2026-10-07T23:59:59", 3),
                            ("2026-10-08T00:00:00", 4)):
        hub.advance(instant)
        assert hub.stats()["alerts"] == alerts, instant
    got = {a["rule"]: a["priority"] for a in
           hub.peek("desk-dora", 2) + hub.peek("cw-anna", 2)}
    assert got == {"dropout": "HIGH", "deadline.contact.warn": "NORMAL",
                   "deadline.contact.missed": "HIGH",
                   "transition_gap": "LOW"}


def test_a_comment_or_blank_line_may_begin_with_no_break_spaces(tmp_path):
    """RULES.md §10: a line whose first character other than a space, a
    tab or a no-break space is `#` is a comment, and a line of such
    blanks alone is blank (a rules file typed in a word processor); the
    line after them is counted as an editor counts it."""
    rules = tmp_path / "rules.conf"
    rules.write_bytes(b"\xc2\xa0# Albertslund\n\t\xc2\xa0 # stricter\n"
                      b"\xc2\xa0\xc2\xa0\n\xc2\xa0dropout.priority = bad\n")
    assert check_config("--rules", str(rules)) == (
        2, "", f"{rules}:4: 'bad' is not a valid value for "
        "dropout.priority\n")
    rules.write_bytes(b"\xc2\xa0# Albertslund\n\xc2\xa0\n"
                      b"absence.rolling.threshold_pct = 8\n")
    assert check_config("--rules", str(rules))[0] == 0
