"""95 the rules file as an operator writes it (docs/RULES.md sections 9
and 10, OPERATIONS.md "Checking the configuration"): blanks in list and
range values (tabs as well as spaces), checked by hubd --check-config,
at start and on SIGHUP, and what the rules then in force do on the hub
clock."""

import re
import signal
import subprocess

from hubtest import (CprGen, binary, ev_dropout, ev_readiness, rules_hub)


def check_config(hub, rules_bytes):
    """hubd --check-config with hub's settings and rules_bytes as the
    rules file: (exit code, stdout, stderr)."""
    (hub.tmp / "rules.conf").write_bytes(rules_bytes)
    p = subprocess.run([binary("hubd"), "--check-config", "--config",
                        str(hub.conf)], capture_output=True, text=True,
                       timeout=30)
    return p.returncode, p.stdout, p.stderr


def test_tabs_in_list_and_range_values_are_blanks(make_hub):
    """RULES.md: blanks (tabs too) around names and values are ignored,
    spaces around `..` are allowed, grades are comma-separated: a tab
    where an editor put one is no error, in any list or range setting;
    a tab between two items without their separator still is."""
    hub = make_hub(start=False)
    rules = hub.tmp / "rules.conf"
    for line in (b"calendar.school_holiday = 12-21\t..\t01-02\n",
                 b"calendar.school_holiday = 2026-10-12 ..\t2026-10-16\n",
                 b"calendar.school_holiday = easter\t-3\t..\t+1\n",
                 b"calendar.school_holiday = week\t7\n",
                 b"readiness.grades = 8,\t9\n",
                 b"readiness.grades = 8\t,\t10\n",
                 b"office.days = mon\t-\tfri\n",
                 b"office.hours = 08:00\t-\t16:00\n"):
        rc, out, err = check_config(hub, line)
        assert (rc, out, err) == (0, "hubd: configuration OK\n", ""), line
    rc, out, err = check_config(hub, b"# grades\nreadiness.grades = 8\t9\n")
    assert rc == 2 and out == ""
    assert err == (f"{rules}:2: '8?9' is not a list of grades (whole "
                   "numbers 0-10, comma-separated, such as 8,9)\n")


def test_grades_with_a_tab_are_the_grades_in_force(make_hub):
    """readiness.grades = 8,<TAB>10 at start: grade 10 alerts, grade 9
    does not; then the same file with `9,<TAB>10` by SIGHUP: grade 9
    alerts."""
    hub = make_hub(start=False, agencies={"school-a": "absence,readiness"},
                   clock="2026-01-20T08:00:00",
                   rules={"readiness.grades": "8,\t10"})
    hub.start()
    g9, g10, later9 = CprGen(9501).take(3)
    hub.send(ev_readiness(g9, "2026-01-15", 9),
             ev_readiness(g10, "2026-01-15", 10))
    assert hub.wait_applied()["alerts"] == 1
    [a] = hub.peek("desk-dora", 1)
    assert (a["cpr"], a["rule"]) == (g10, "readiness")
    assert "a not-ready assessment in grade 8 or 10 goes" in \
        a["explanation"]
    hub.write_rules({"absence.rolling.min_days": "0",
                     "readiness.grades": "9,\t10"})
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"hubd notice HUB-RELOAD rules reloaded from "
                 + re.escape(str(hub.tmp / "rules.conf")) + r"\n")
    hub.send(ev_readiness(later9, "2026-01-16", 9))
    assert hub.wait_applied()["alerts"] == 2


def test_holiday_range_with_tabs_counts_for_the_transition_gap(make_hub):
    """RULES.md §9: the transition gap counts days outside school
    holidays; a file's `calendar.school_holiday` replaces the defaults.
    A range written with tabs around `..` is that range: 5 days of
    holiday after a dropout on 2026-09-07 move the gap from 2026-10-08
    00:00 to 2026-10-13 00:00 (the default autumn week 42, 10-12..18, is
    replaced and does not count)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"calendar.school_holiday":
                           "2026-09-14\t..\t2026-09-18"})
    adult = CprGen(9502).born("2000-01-15")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2026-10-12T23:59:00")
    assert hub.stats()["alerts"] == 1
    hub.advance("2026-10-13T00:00:00")
    assert hub.stats()["alerts"] == 2
    gap = next(a for a in hub.peek("cw-anna", 2)
               if a["rule"] == "transition_gap")
    assert "No new education 30 days after leaving" in gap["title"]


def test_a_year_of_holidays_stops_the_gap_count_at_4000_days(make_hub):
    """RULES.md §9: ranges covering every day of the year are accepted;
    the transition gap then stops counting at the 4,000th day after the
    exit and falls due at the start of the day after it: a dropout on
    2026-09-07, day 4,000 is 2037-08-20, due 2037-08-21 00:00. (No
    retention for the records involved: 11 years would purge them.)"""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"calendar.school_holiday": "01-01 .. 12-31"},
                    settings={"retention_dropout": "0",
                              "retention_absence": "0"})
    adult = CprGen(9503).born("2000-01-15")
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.advance("2037-08-20T23:59:00")
    # Only the dropout's acknowledgement escalation (a year) since.
    before = hub.stats()["alerts"]
    rules = [a["rule"] for a in hub.peek("cw-anna", 1)]
    assert rules == ["dropout"]
    hub.advance("2037-08-21T00:00:00")
    assert hub.stats()["alerts"] == before + 1
    assert sorted(a["rule"] for a in hub.peek("cw-anna", 2)) == \
        ["dropout", "transition_gap"]


def test_sighup_swaps_the_calendar_due_dates_count_by(make_hub):
    """RULES.md §9/§10: `calendar.christmas_eve_is_holiday` decides
    whether December 24 is a working day; a reload (a file with a byte
    order mark, CRLF line ends and a comment) applies to what is applied
    after it; a bad file (`No`: booleans in lower case) is refused with
    the HUB-RELOAD err line and the rules in force stay; an emptied file
    puts the default back. A dropout on Tuesday 2026-12-22 is due 5
    working days later: 12-31 with Christmas Eve a holiday, 12-30
    without."""
    hub = rules_hub(make_hub, "2026-12-22T09:00:00")
    path = hub.tmp / "rules.conf"
    gen = CprGen(9504)

    def due_of_a_dropout():
        cpr = gen.born("2000-01-01")      # an adult: no legal clocks
        hub.assign(cpr, "cw-anna", start="2020-01-01")
        hub.send(ev_dropout(cpr, "2026-12-22"))
        hub.wait_applied()
        rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=1)
        assert rc == 0, err
        return [a["due"] for a in alerts if a["cpr"] == cpr]

    def reload(pattern):
        n = len(hub.log_text())
        hub.proc.send_signal(signal.SIGHUP)
        hub.wait_log(pattern)
        return hub.log_text()[n:]

    assert due_of_a_dropout() == ["2026-12-31"]
    path.write_bytes(b"\xef\xbb\xbf# the office works on the 24th\r\n\r\n"
                     b"absence.rolling.min_days = 0\r\n"
                     b"calendar.christmas_eve_is_holiday\t=\tno\r\n")
    reload(r"hubd notice HUB-RELOAD rules reloaded from "
           + re.escape(str(path)) + r"\n")
    assert due_of_a_dropout() == ["2026-12-30"]
    path.write_bytes(b"calendar.christmas_eve_is_holiday = no\r\n"
                     b"calendar.christmas_eve_is_holiday = No\r\n")
    reload(r"hubd err HUB-RELOAD rules not reloaded, the old ones stay: "
           + re.escape(f"{path}:2: 'No' is not a valid value for "
                       "calendar.christmas_eve_is_holiday; the next start "
                       "refuses this file (exit 2): fix it (hubd "
                       "--check-config)") + r"\n")
    assert hub.running
    assert due_of_a_dropout() == ["2026-12-30"]
    path.write_bytes(b"")
    reload(r"hubd notice HUB-RELOAD rules reloaded from "
           + re.escape(str(path)) + r"\n")
    assert due_of_a_dropout() == ["2026-12-31"]


def test_a_cr_alone_ends_a_line(make_hub):
    """RULES.md §10 / OPERATIONS.md: lines are counted as an editor
    counts them, and a CR alone ends a line as CRLF does. A file saved
    with CR line ends whose first line is a comment is not one comment
    line (which would check OK and run on the defaults): its bad value
    is named on its own line, in hubd.conf and the rules file alike."""
    hub = make_hub(start=False)
    rules = hub.tmp / "rules.conf"
    rc, out, err = check_config(
        hub, b"# Albertslund\rabsence.rolling.threshold_pct = 8\r\r"
             b"dropout.priority = severe\r")
    assert (rc, out) == (2, "")
    assert err == (f"{rules}:4: 'severe' is not a valid value for "
                   "dropout.priority\n")
    rc, out, err = check_config(
        hub, b"# Albertslund\rabsence.rolling.threshold_pct = 8\r")
    assert (rc, out, err) == (0, "hubd: configuration OK\n", "")
    conf = hub.conf.read_bytes()
    hub.conf.write_bytes(b"# hub\r" + conf.replace(b"\n", b"\r") +
                         b"batch_max = 0\r")
    lines = conf.count(b"\n") + 2
    p = subprocess.run([binary("hubd"), "--check-config", "--config",
                        str(hub.conf)], capture_output=True, text=True,
                       timeout=30)
    assert (p.returncode, p.stdout) == (2, "")
    assert p.stderr == (f"{hub.conf}:{lines}: batch_max must be a whole "
                        "number from 1 to 10000\n")


def test_sighup_without_a_rules_file_reloads_the_defaults(make_hub):
    """OPERATIONS.md: SIGHUP logs `HUB-RELOAD rules reloaded from FILE`
    (notice; `(defaults)` when `rules` is empty); the rules file written
    meanwhile where none was named is not read."""
    hub = make_hub(start=False)
    text = hub.conf.read_text()
    hub.conf.write_text(re.sub(r"(?m)^rules = .*$", "rules = ", text))
    (hub.tmp / "rules.conf").write_text("dropout.priority = severe\n")
    hub.start()
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"hubd notice HUB-RELOAD rules reloaded from "
                 r"\(defaults\)\n")
    assert hub.running
    assert "HUB-RELOAD rules not reloaded" not in hub.log_text()
