"""37 rules, operations: timers are stored (a timer scheduled before a hubd
restart or crash fires after it, also one that fell due while hubd was
down); SIGHUP reloads the rules file (a bad one is refused, logged
HUB-RELOAD at err, and the old rules stay; a good one applies to later
events; nothing in flight is lost); a bad rules file at start stops hubd
with a non-zero exit naming file:line. docs/RULES.md."""

import re
import signal
import subprocess
import threading

import pytest

import hubtest
from hubtest import CprGen, ev_absence, ev_dropout, rules_hub


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
def test_timer_scheduled_before_a_restart_fires_after_it(make_hub, how):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3701).born("2003-03-03")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    # The gap timer and the alert's acknowledgement timer (an adult: no
    # legal deadline clocks), stored.
    assert hub.stats()["timers"] == 2
    if how == "sigterm":
        hub.stop()
    else:
        hub.kill9()
    hub.start()
    assert hub.stats()["timers"] == 2
    # Day 29: still nothing; day 31: the transition gap, from the stored
    # timer.
    hub.advance("2026-10-06T12:00:00")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 2
    # Fired once: another restart does not fire it again.
    hub.restart()
    hub.advance("2026-10-20")
    assert hub.stats()["alerts"] == 2
    assert sorted(a["rule"] for a in hub.peek("cw-anna", 2)) == \
        ["dropout", "transition_gap"]


def test_timer_due_while_hubd_was_down_fires_at_start(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(3702).born("2003-04-04")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    hub.stop()
    hub.set_clock("2026-11-01T08:00:00")
    hub.start()
    hub.settle()
    assert hub.stats()["alerts"] == 2
    gap = next(a for a in hub.peek("desk-dora", 2)
               if a["rule"] == "transition_gap")
    assert gap["recipient"] == "duty-desk"


def test_sighup_with_a_bad_file_keeps_the_old_rules(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00")
    rules_path = hub.tmp / "rules.conf"
    good = rules_path.read_text()
    rules_path.write_text(good + "absence.rolling.threshold_pct = 30\n"
                          "absence.rolling.treshold = 40\n")
    bad_line = len((good + "x\n").splitlines()) + 1
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"hubd err HUB-RELOAD rules not reloaded, the old ones "
                 rf"stay: {re.escape(str(rules_path))}:{bad_line}: unknown "
                 r"rule setting "
                 r"'absence\.rolling\.treshold'; the next start refuses "
                 r"this file \(exit 2\): fix it \(hubd --check-config\)")
    assert hub.running
    # The old threshold (10 %) is still in force, not the 30 % of the
    # refused file's valid first line.
    cpr = CprGen(3703).next()
    hub.send(ev_absence(cpr, "2026-09-14", 6))       # 20 %
    assert hub.wait_applied()["alerts"] == 1


def test_sighup_with_a_good_file_applies_to_later_events(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00")
    before, at_15, at_25 = CprGen(3704).take(3)
    hub.send(ev_absence(before, "2026-09-14", 5))     # 16.7 % > 10 %
    assert hub.wait_applied()["alerts"] == 1
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.min_days": "0",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no",
                    "absence.rolling.threshold_pct": "20"})
    hub.write_rules(rules)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    hub.send(ev_absence(at_15, "2026-09-14", 5))      # 16.7 %: not > 20 %
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_absence(at_25, "2026-09-14", 8))      # 26.7 % > 20 %
    assert hub.wait_applied()["alerts"] == 2
    alerts = hub.peek("desk-dora", 2)
    assert {a["cpr"] for a in alerts} == {before, at_25}
    late = next(a for a in alerts if a["cpr"] == at_25)
    assert "(threshold 20 %)" in late["title"]



def test_sighup_with_an_emptied_file_puts_every_rule_back_to_default(
        make_hub):
    """RULES.md §10: a file that names no setting is all the defaults, on
    SIGHUP too: an emptied file is reloaded, not refused."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00",
                    rules={"absence.rolling.min_days": "0",
                           "absence.quarter.enabled": "no",
                           "combined.enabled": "no"})
    first, second = CprGen(3706).take(2)
    for cpr in (first, second):
        hub.assign(cpr, "cw-anna")
    hub.send(ev_absence(first, "2026-09-14", 6))       # 20 % of one week
    assert hub.wait_applied()["alerts"] == 1
    (hub.tmp / "rules.conf").write_text("# emptied by mistake\n\n")
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    # The defaults: the rolling rule judges only after 10 school days, so
    # the week that alerted under min_days 0 raises nothing now.
    hub.send(ev_absence(second, "2026-09-14", 6))
    assert hub.wait_applied()["alerts"] == 1
    assert [a["cpr"] for a in hub.peek("cw-anna", 1)] == [first]


def test_sighup_rereads_the_rules_file_and_no_other_setting(make_hub):
    """OPERATIONS.md: SIGHUP reloads the rules file hubd started with and
    nothing else; hubd.conf (log_level, rules, mail_*, ...) is read at
    start only."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00")
    rules_path = hub.tmp / "rules.conf"
    with open(hub.conf, "a") as conf:
        conf.write("log_level = err\n"
                   f"rules = {hub.tmp / 'other-rules.conf'}\n")
    hub.proc.send_signal(signal.SIGHUP)
    # Still at info (a notice is shown), still the file it started with.
    hub.wait_log(r"hubd notice HUB-RELOAD rules reloaded from "
                 + re.escape(str(rules_path)) + r"\n")


def test_sighup_moves_no_timer_already_scheduled(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    before = CprGen(3705).born("2000-01-15")   # an adult: no legal clocks
    hub.assign(before, "cw-anna")
    hub.send(ev_dropout(before, "2026-09-07"))   # gap due 2026-10-08 00:00
    assert hub.wait_applied()["alerts"] == 1
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.min_days": "0",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no",
                    "transition_gap.days": "40"})
    hub.write_rules(rules)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    # The clock scheduled before the reload keeps its instant.
    hub.advance("2026-10-07T23:59:59")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-10-08T00:00:00")
    assert hub.stats()["alerts"] == 2
    gap = next(a for a in hub.peek("cw-anna", 2)
               if a["rule"] == "transition_gap")
    assert gap["cpr"] == before
    # It names the 30 days it ran, not the 40 now configured.
    assert gap["title"] == "No new education 30 days after leaving"
    assert "no new enrolment within 30 days" in gap["explanation"]
    # A dropout after the reload gets the new 40 days.
    after = CprGen(3706).born("2000-02-15")
    hub.assign(after, "cw-anna")
    hub.send(ev_dropout(after, "2026-10-08"))
    assert hub.wait_applied()["alerts"] == 3
    # 40 days outside the autumn holiday (week 42): the 40th is 11-24.
    hub.advance("2026-11-24T23:59:59")
    assert hub.stats()["alerts"] == 3
    hub.advance("2026-11-25T00:00:00")
    assert hub.stats()["alerts"] == 4
    late = next(a for a in hub.peek("cw-anna", 4)
                if a["rule"] == "transition_gap" and a["cpr"] == after)
    assert late["title"] == "No new education 40 days after leaving"


def test_sighup_switching_the_legal_clocks_off_stops_those_running(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3707).born("2010-03-03")        # 16: the legal clocks
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.min_days": "0",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no",
                    "deadline.enabled": "no"})
    hub.write_rules(rules)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    # The warning (09-11) and the miss (09-15) are judged by the rules
    # in force when they fire: no legal clock any more.
    hub.advance("2026-09-15T00:00:00")
    assert hub.stats()["alerts"] == 1
    assert "HUB-DEADLINE" not in hub.log_text()
    hub.peek("desk-dora", 0)


def test_sighup_leaves_a_running_legal_clock_and_its_warning_as_they_were(
        make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3708).born("2010-03-03")        # 16: the legal clocks
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"))      # contact due 09-14
    assert hub.wait_applied()["alerts"] == 1
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.min_days": "0",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no",
                    "deadline.contact_working_days": "7"})
    hub.write_rules(rules)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    # The clock started before keeps its deadline: warned on 09-11 for
    # 09-14, missed at the end of 09-14.
    hub.advance("2026-09-11T00:00:00")
    assert hub.stats()["alerts"] == 2
    [w] = hub.peek("desk-dora", 1)
    assert w["rule"] == "deadline.contact.warn"
    assert w["due"] == "2026-09-14"
    assert "the deadline is 2026-09-14" in w["explanation"]
    # It names the 5 working days the clock runs, not the 7 now set.
    assert w["title"].endswith("the duty to contact the young person (5 "
                               "working days after the municipality "
                               "learned of the dropout)"), w["title"]
    hub.advance("2026-09-15T00:00:00")
    assert hub.stats()["alerts"] == 3
    m = next(a for a in hub.peek("desk-dora", 2)
             if a["rule"] == "deadline.contact.missed")
    assert "(5 working days after" in m["title"], m["title"]


def test_sighup_leaves_the_offer_and_treatment_clocks_their_length(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(3709).born("2010-03-03")        # 16: the legal clocks
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-07"),
             hubtest.ev_referral(cpr, "2026-09-07", consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 2
    d = next(a for a in hub.peek("cw-anna", 2) if a["rule"] == "dropout")
    hub.set_clock("2026-09-08T09:00:00")
    assert hub.record("cw-anna", "contact", d["alert_id"], "phone")[0] == 0
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.min_days": "0",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no",
                    "deadline.treatment_days": "21",
                    "deadline.offer_days": "40"})
    hub.write_rules(rules)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    # Treatment due 09-21 (14 days), offer due 10-08 (30 days): missed at
    # the instants they were scheduled with, and named with those days.
    hub.advance("2026-10-09T00:00:00")
    # (The offer warning, more than a day late by then, is skipped.)
    missed = {a["rule"]: a for a in hub.peek("desk-dora", 2)}
    assert missed["deadline.treatment.missed"]["title"] == \
        "Legal deadline missed: the duty to start treatment (14 days " \
        "after the referral)"
    assert missed["deadline.offer.missed"]["title"] == \
        "Legal deadline missed: the duty to offer a new activity (30 days " \
        "after the contact was made)"
    assert "The deadline passed on 2026-10-08" in \
        missed["deadline.offer.missed"]["explanation"]


def test_sighup_loses_nothing_in_flight(make_hub):
    hub = rules_hub(make_hub, "2026-09-21T08:00:00")
    cprs = CprGen(3705).take(60)
    sent = []
    errors = []

    def sender():
        try:
            for cpr in cprs:
                sent.extend(hub.send(ev_absence(cpr, "2026-09-14", 1)))
        except Exception as e:       # reported by the main thread
            errors.append(e)

    t = threading.Thread(target=sender)
    t.start()
    reloads = 0
    while t.is_alive() and reloads < 20:
        hub.proc.send_signal(signal.SIGHUP)
        reloads += 1
        hub.wait_log("HUB-RELOAD rules reloaded", count=reloads)
    t.join(60 * hubtest.SLOW)
    assert not errors, errors
    assert len(sent) == 60 and len(set(sent)) == 60
    st = hub.wait_applied()
    assert st["log_events"] == 60
    assert hub.running


def start_refused(make_hub, text):
    """Start hubd on rules.conf holding text; it must exit 2 (settings).
    Returns the file's path and hubd's log."""
    hub = make_hub(start=False, agencies=hubtest.RULE_AGENCIES)
    path = hub.tmp / "rules.conf"
    path.write_text(text)
    hub.start(wait=False)
    rc = hub.proc.wait(timeout=15 * hubtest.SLOW)
    hub._reap(1)
    hub.stopped_cleanly = True
    assert rc == 2, hub.current_log()   # settings, not a failure to start
    return path, hub.current_log()


@pytest.mark.parametrize("text,line,reason", [
    ("dropout.enabled = yes\n\nabsence.rolling.treshold_pct = 12\n", 3,
     "unknown rule setting 'absence.rolling.treshold_pct'"),
    ("# priorities\ndropout.priority = severe\n", 2,
     "'severe' is not a valid value for dropout.priority"),
    ("calendar.school_holiday = week 42\ncalendar.school_holiday = "
     "autumn\n", 2, "'autumn' is not a holiday range"),
    ("deadline.min_age = 19\n", None, "min_age is above max_age"),
], ids=["unknown-name", "bad-value", "bad-holiday", "inconsistent"])
def test_bad_rules_file_at_start_stops_hubd(make_hub, text, line, reason):
    path, log = start_refused(make_hub, text)
    where = f"{path}:{line}: " if line else f"{path}: "
    assert "HUB-START cannot start: " in log
    assert where + reason in log, log
    if line is None:
        # A whole-file problem, under the first setting it names.
        assert f"HUB-START cannot start: deadline.min_age: {path}: " \
            "min_age is above max_age" in log, log
    assert "HUB-READY" not in log


CLASHES = ("absence.rolling.min_days = 30\n"
           "absence.quarter.notify_pct = 5\n"
           "deadline.warn_working_days = 9\n"
           "deadline.min_age = 20\n")
CLASH_REASONS = [
    ("absence.rolling.min_days", "min_days is larger than window_school_days"),
    ("absence.quarter.notify_pct", "notify_pct is below warn_pct"),
    ("deadline.warn_working_days",
     "warn_working_days must be below contact_working_days"),
    ("deadline.min_age", "min_age is above max_age")]


def test_every_contradiction_is_reported_not_only_the_first(make_hub):
    """hubd --help: the check prints each problem, and a start logs each:
    a file with all four contradictions of RULES.md section 10 names all
    four, so one check shows everything there is to fix."""
    path, log = start_refused(make_hub, CLASHES)
    for setting, reason in CLASH_REASONS:
        assert f"HUB-START cannot start: {setting}: {path}: {reason}" \
            in log, log
    check = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--rules", str(path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 2
    assert check.stderr.splitlines() == \
        [f"{path}: {reason}" for _, reason in CLASH_REASONS]
    helptext = subprocess.run([hubtest.binary("hubd"), "--help"],
                              capture_output=True, text=True,
                              timeout=30).stdout
    assert "(FILE: reason for rules settings that contradict each " \
        "other;" in " ".join(helptext.split())


@pytest.mark.parametrize("text", [
    "routing.team_lead = duty-desk\n",
    "routing.desk = night\nrouting.team_lead = night\n",
], ids=["default-desk", "named-desk"])
def test_the_team_lead_cannot_be_the_desk_itself(make_hub, text):
    """RULES.md section 8: the team lead is the step above the desk. A
    routing.team_lead naming the desk's own id would send the desk a
    second notice of what it has (or, for its own alerts, a notice of
    them): a contradiction, refused at a check and at start."""
    path, log = start_refused(make_hub, text)
    reason = ("team_lead is the desk itself (routing.desk): name the "
              "caseworker above the desk, or none")
    assert f"HUB-START cannot start: routing.team_lead: {path}: " \
        f"{reason}" in log, log
    check = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--rules", str(path)],
                           capture_output=True, text=True, timeout=30)
    assert (check.returncode, check.stderr) == (2, f"{path}: {reason}\n")


@pytest.mark.parametrize("text,setting", [
    ("readiness.grades = 11\n", "readiness.grades"),
    ("calendar.school_holiday = easter -61..+1\n", "calendar.school_holiday"),
    ("office.days = mon-funday\n", "office.days"),
    ("office.hours = 16:00-08:00\n", "office.hours"),
], ids=["grades", "holiday", "office-days", "office-hours"])
def test_bad_rules_value_names_the_setting(make_hub, text, setting):
    """RULES.md section 10: HUB-START cannot start: <setting>: <file>:<line>:
    <reason>, the setting as the file spells it."""
    path, log = start_refused(make_hub, text)
    assert f"HUB-START cannot start: {setting}: {path}:1: " in log, log


def test_missing_rules_file_at_start_stops_hubd(make_hub):
    hub = make_hub(start=False)
    (hub.tmp / "rules.conf").unlink()
    hub.start(wait=False)
    rc = hub.proc.wait(timeout=15 * hubtest.SLOW)
    hub._reap(1)
    hub.stopped_cleanly = True
    assert rc == 2
    assert f"cannot open {hub.tmp / 'rules.conf'}" in hub.current_log()


def holidays(n):
    """n one-day school holidays of 2027, one a line."""
    return "".join(f"calendar.school_holiday = 2027-{1 + i // 28:02d}-"
                   f"{1 + i % 28:02d}..2027-{1 + i // 28:02d}-"
                   f"{1 + i % 28:02d}\n" for i in range(n))


def test_64_school_holidays_start_65_do_not(make_hub):
    # The file's ranges replace the five defaults: 64 of its own fit.
    hub = make_hub(start=False, agencies=hubtest.RULE_AGENCIES)
    (hub.tmp / "rules.conf").write_text(holidays(64))
    hub.start()
    assert hub.running
    path, log = start_refused(make_hub, holidays(65))
    assert f"HUB-START cannot start: calendar.school_holiday: {path}:65: " \
        "more than 64 school holidays" in log
    assert f"{path}:64:" not in log


def test_an_empty_school_holiday_is_refused(make_hub):
    """RULES.md section 9: there is no calendar without school holidays;
    an empty value is a bad range like any other, naming file and line."""
    path, log = start_refused(make_hub,
                              "calendar.school_holiday = week 7\n"
                              "calendar.school_holiday =\n")
    assert f"HUB-START cannot start: calendar.school_holiday: {path}:2: " \
        "'' is not a holiday range" in log


def test_sighup_to_a_longer_window_counts_only_the_reports_kept(make_hub):
    """RULES.md section 10: the rolling measure keeps only the reports
    its window in force can reach. Under a window of 5 school days, week
    1 (30 of 30: the alert) falls out when week 2 (0 of 30) arrives and
    ends the episode. After a reload to 15 school days, week 3 (0 of 30)
    is judged over weeks 2 and 3 alone: 10 school days, under min_days
    15, no judgement, though week 1 was reported (30 of 90 would alert);
    the window fills again with the reports that follow."""
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.window_school_days": "5",
                    "absence.rolling.min_days": "5",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no"})
    hub = rules_hub(make_hub, "2026-09-28T08:00:00", rules=rules)
    cpr = CprGen(3705).next()
    hub.send(ev_absence(cpr, "2026-09-07", 30))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_absence(cpr, "2026-09-14", 0))
    assert hub.wait_applied()["alerts"] == 1
    hub.write_rules(dict(rules, **{"absence.rolling.window_school_days": "15",
                                   "absence.rolling.min_days": "15"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    hub.send(ev_absence(cpr, "2026-09-21", 0))
    assert hub.wait_applied()["alerts"] == 1
    # Weeks 2-4: 15 school days, 6 of 90 (6.7 %): judged, under 10 %.
    hub.send(ev_absence(cpr, "2026-09-28", 6))
    assert hub.wait_applied()["alerts"] == 1
    # Weeks 3-5: 12 of 90 (13.3 %): a new episode, the alert.
    hub.send(ev_absence(cpr, "2026-10-05", 6))
    assert hub.wait_applied()["alerts"] == 2


@pytest.mark.parametrize("setting", ["routing.desk", "routing.team_lead"])
def test_a_rules_id_holding_a_cpr_is_refused_as_no_id(make_hub, setting):
    """SECURITY.md: no id holds a CPR number, the rules' ids included; the
    refusal is the usual one for an id that is none, the CPR masked."""
    path, log = start_refused(make_hub, f"{setting} = desk-0101101234\n")
    assert f"HUB-START cannot start: {setting}: {path}:1: {setting}: " \
        "'desk-xxxxxxxxxx' is not a valid id (1-63 of a-z 0-9 . _ -, " \
        "starting with a letter or digit, holding no CPR number)" in log, log
    assert "0101101234" not in log
    check = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--rules", str(path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 2
    assert check.stderr == f"{path}:1: {setting}: 'desk-xxxxxxxxxx' is " \
        "not a valid id (1-63 of a-z 0-9 . _ -, starting with a letter " \
        "or digit, holding no CPR number)\n"


def test_sighup_with_several_problems_logs_the_first_one(make_hub):
    """RULES.md section 10: a reload refused logs one HUB-RELOAD line, the
    file's first problem; hubd --check-config lists every one."""
    hub = rules_hub(make_hub, "2026-09-21T08:00:00")
    rules_path = hub.tmp / "rules.conf"
    rules_path.write_text(rules_path.read_text() + CLASHES)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"hubd err HUB-RELOAD rules not reloaded, the old ones "
                 rf"stay: {re.escape(str(rules_path))}: min_days is larger "
                 r"than window_school_days; the next start refuses")
    hub.settle()
    assert hub.log_text().count("HUB-RELOAD") == 1, hub.log_text()
    assert hub.running
    check = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--rules", str(rules_path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 2
    assert len(check.stderr.splitlines()) == 4


def test_check_goes_on_after_a_line_that_is_no_setting(make_hub, tmp_path):
    """hubd --help and RULES.md section 10: --check-config prints each
    problem and a start logs each, a line without '=' and a line longer
    than 510 bytes too: the lines after them are still checked."""
    path = tmp_path / "rules.conf"
    path.write_text("dropout.enabled = maybe\n"
                    "absence.rolling.threshold_pct 8\n"
                    "# " + "x" * 600 + "\n"
                    "absence.rolling.treshold_pct = 8\n"
                    " = 3\n"
                    "dropout.priority = severe\n")
    check = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--rules", str(path)],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 2
    assert check.stderr.splitlines() == [
        f"{path}:1: 'maybe' is not a valid value for dropout.enabled",
        f"{path}:2: expected name = value",
        f"{path}:3: line longer than 510 bytes",
        f"{path}:4: unknown rule setting 'absence.rolling.treshold_pct'",
        f"{path}:5: expected a name before '='",
        f"{path}:6: 'severe' is not a valid value for dropout.priority"]
    _, log = start_refused(make_hub, path.read_text())
    assert "unknown rule setting 'absence.rolling.treshold_pct'" in log, log
    assert "'severe' is not a valid value for dropout.priority" in log, log


def test_sighup_to_another_calendar_leaves_running_clocks_their_length(
        make_hub):
    """RULES.md section 10: what an already scheduled clock raises names
    the period it ran with, not the new setting; a school calendar
    changed by a reload counts its days differently, but the gap clock
    of 30 days and the offer clock of 30 days still say 30."""
    hub = rules_hub(make_hub, "2026-06-15T08:00:00")
    adult = CprGen(3740).born("2000-01-15")
    young = CprGen(3741).born("2010-01-15")
    hub.assign(adult, "cw-anna")
    hub.assign(young, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))    # gap due 2026-10-08 00:00
    hub.send(ev_dropout(young, "2026-06-15"))
    hub.wait_applied()
    d = next(a for a in hub.peek("cw-anna", 2)
             if a["rule"] == "dropout" and a["cpr"] == young)
    rc, out, err = hub.record("cw-anna", "contact", d["alert_id"], "phone")
    assert (rc, out.strip()) == (0, "recorded"), err   # offer due 08-28
    rules = dict(hubtest.NO_ESCALATION,
                 **{"absence.rolling.min_days": "0",
                    "absence.quarter.enabled": "no",
                    "combined.enabled": "no",
                    "calendar.school_holiday": "06-27..08-01",
                    "calendar.school_holiday ": "09-14..09-18"})
    hub.write_rules(rules)
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded from .*rules\.conf")
    hub.advance("2026-08-27T00:00:00")
    [w] = [a for a in hub.peek("desk-dora", 1)]
    assert w["rule"] == "deadline.offer.warn"
    assert w["title"] == "Legal deadline near, not handled: the duty to " \
        "offer a new activity (30 days after the contact was made)"
    hub.advance("2026-10-08T00:00:00")
    gap = next(a for a in hub.peek("cw-anna", 4)
               if a["rule"] == "transition_gap" and a["cpr"] == adult)
    assert gap["title"] == "No new education 30 days after leaving"
    assert "no new enrolment within 30 days" in gap["explanation"]


def check_rules_file(path, data):
    """hubd --check-config of the rules file path, written with the bytes
    data first: the finished process."""
    path.write_bytes(data)
    return subprocess.run([hubtest.binary("hubd"), "--check-config",
                           "--rules", str(path)],
                          capture_output=True, text=True, timeout=30)


@pytest.mark.parametrize("alone,partner,reason", [
    ("deadline.contact_working_days = 1", "deadline.warn_working_days = 0",
     "warn_working_days must be below contact_working_days"),
    ("absence.quarter.warn_pct = 100", "absence.quarter.notify_pct = 100",
     "notify_pct is below warn_pct"),
    ("absence.quarter.notify_pct = 0", "absence.quarter.warn_pct = 0",
     "notify_pct is below warn_pct"),
    ("deadline.min_age = 30", "deadline.max_age = 30",
     "min_age is above max_age"),
    ("deadline.max_age = 0", "deadline.min_age = 0",
     "min_age is above max_age"),
    ("absence.rolling.min_days = 200",
     "absence.rolling.window_school_days = 200",
     "min_days is larger than window_school_days"),
    ("deadline.warn_working_days = 30",
     "deadline.contact_working_days = 31",
     "warn_working_days must be below contact_working_days"),
    ("absence.rolling.window_school_days = 1",
     "absence.rolling.min_days = 0",
     "min_days is larger than window_school_days"),
], ids=["contact-1", "warn-100", "notify-0", "min-age-30", "max-age-0",
        "min-days-200", "warn-days-30", "window-1"])
def test_a_bound_of_the_table_alone_may_contradict_a_default(
        tmp_path, alone, partner, reason):
    """RULES.md section 10, "Every setting": a setting at the end of its
    range may contradict another setting's default; the table says which
    to change with it, and the check names the contradiction."""
    path = tmp_path / "rules.conf"

    def check(text):
        return check_rules_file(path, text.encode())
    refused = check(alone + "\n")
    assert (refused.returncode, refused.stderr) == \
        (2, f"{path}: {reason}\n")
    taken = check(alone + "\n" + partner + "\n")
    assert taken.returncode == 0, taken.stderr
    table = (hubtest.ROOT / "docs" / "RULES.md").read_text()
    name = alone.split(" =")[0]
    row = next(line for line in table.splitlines()
               if line.startswith(f"| `{name}` |"))
    assert "`" + partner.split(" =")[0].split(".")[-1] in row, row


def test_rules_file_as_a_windows_editor_saves_it(tmp_path):
    """RULES.md section 10: the rules file is UTF-8 text as the settings
    files are; a byte order mark and CRLF line ends are fine, and a bad
    line among them is still named by its own line."""
    path = tmp_path / "rules.conf"

    def check(data):
        return check_rules_file(path, data)
    good = (b"\xef\xbb\xbf# saved by Notepad\r\n\r\ndropout.priority = high"
            b"\r\ncalendar.school_holiday = week 7\r\n")
    r = check(good)
    assert (r.returncode, r.stdout, r.stderr) == \
        (0, "hubd: configuration OK\n", ""), r
    r = check(good + b"dropout.priority = panic\r\n")
    assert (r.returncode, r.stderr) == (2, f"{path}:5: 'panic' is not a "
                                        "valid value for dropout.priority\n")
    doc = " ".join((hubtest.ROOT / "docs" / "RULES.md").read_text().split())
    assert "a byte order mark at its start and CRLF line ends are fine" \
        in doc[doc.index("## 10. The rules file"):]
