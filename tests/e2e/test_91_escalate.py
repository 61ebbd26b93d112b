"""91 escalation, as the duty desk and team leads live it (docs/RULES.md
section 8, Office hours; section 9, public holidays). The due instants are
worked out from the documents alone: office hours Monday-Friday
08:00-16:00 Danish time (Europe/Copenhagen), closed on the public holidays
section 9 names (Easter moves: 2026-04-05, 2027-03-28; Great Prayer Day
abolished from 2024); a window counts from when the alert was raised, the
team lead's step as many office hours again from the instant the first
window ended. One hub carries every alert on one clock: the second before
each notice nothing, at it the notice, to exactly the desk, then the team
lead."""

import datetime as dt
import json
import re
import signal
import subprocess
import time
from zoneinfo import ZoneInfo

import pytest

from hubtest import (NO_ESCALATION, RULE_AGENCIES, RULE_CASEWORKERS, SLOW,
                     CprGen, binary, ev_desk, ev_dropout, ev_dropout_risk,
                     ops_silent_hub, rules_hub)

CPH = ZoneInfo("Europe/Copenhagen")
UTC = dt.timezone.utc
LEAD = {"routing.team_lead": "cw-lead"}


def easter(y):
    """Easter Sunday (the Gregorian computus)."""
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    g = (b - (b + 8) // 25 + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    return dt.date(y, (h + l_ - 7 * m + 114) // 31,
                   (h + l_ - 7 * m + 114) % 31 + 1)


def public_holidays(y, christmas_eve=True):
    """RULES.md section 9 (Christmas Eve a holiday by default)."""
    e, d = easter(y), dt.timedelta
    days = {dt.date(y, 1, 1), e - d(3), e - d(2), e, e + d(1), e + d(39),
            e + d(49), e + d(50), dt.date(y, 6, 5), dt.date(y, 12, 25),
            dt.date(y, 12, 26)}
    if christmas_eve:
        days.add(dt.date(y, 12, 24))
    if y <= 2023:
        days.add(e + d(26))
    return days


def local_instant(day, hhmm):
    """HH:MM on that day in Danish time, as UTC: a time the spring change
    skips is read as an hour later, one the autumn change repeats is its
    first occurrence (zoneinfo's fold=0 does both); 24:00 is the next
    day's midnight."""
    h, m = map(int, hhmm.split(":"))
    if h == 24:
        day, h = day + dt.timedelta(days=1), 0
    x = dt.datetime(day.year, day.month, day.day, h, m, tzinfo=CPH)
    return x.astimezone(UTC)


def office_end(start, hours, days=(0, 1, 2, 3, 4), opening="08:00",
               closing="16:00", christmas_eve=True):
    """start (naive UTC) + hours office hours, as naive UTC."""
    t = start.replace(tzinfo=UTC)
    left = dt.timedelta(hours=hours)
    day = t.astimezone(CPH).date() - dt.timedelta(days=1)
    while True:
        if day.weekday() in days and \
                day not in public_holidays(day.year, christmas_eve):
            o = local_instant(day, opening)
            c = local_instant(day, closing)
            begin = max(o, t)
            if begin < c:
                if begin + left <= c:
                    return (begin + left).replace(tzinfo=None)
                left -= c - begin
        day += dt.timedelta(days=1)


def utc_of(danish):
    """'YYYY-MM-DD HH:MM' Danish time (or '...Z', UTC) -> naive UTC."""
    if danish.endswith("Z"):
        return dt.datetime.fromisoformat(danish[:-1])
    x = dt.datetime.fromisoformat(danish).replace(tzinfo=CPH)
    return x.astimezone(UTC).replace(tzinfo=None)


# (raised, Danish time; priority hours; the desk's and the team lead's
# notice in Danish time, worked out by hand from RULES.md)
AWKWARD = [
    # Wednesday before Maundy Thursday 2026: Thu-Mon closed.
    ("2026-04-01 15:00", 4, "2026-04-07 11:00", "2026-04-07 15:00"),
    # The day before the Great Prayer Day that was (2026-05-01): open.
    ("2026-04-30 15:00", 4, "2026-05-01 11:00", "2026-05-01 15:00"),
    # The day before Ascension Day 2026 (05-14).
    ("2026-05-13 15:30", 4, "2026-05-15 11:30", "2026-05-15 15:30"),
    # Friday before Whit Monday 2026 (05-25).
    ("2026-05-22 14:00", 4, "2026-05-26 10:00", "2026-05-26 14:00"),
    # Thursday before Constitution Day (Friday 2026-06-05).
    ("2026-06-04 15:00", 4, "2026-06-08 11:00", "2026-06-08 15:00"),
    # In the summer holiday (06-27..08-09), which does not close it.
    ("2026-07-03 14:00", 4, "2026-07-06 10:00", "2026-07-06 14:00"),
    # A window that ends exactly at closing escalates at closing; the
    # team lead's counts from then.
    ("2026-09-08 12:00", 4, "2026-09-08 16:00", "2026-09-09 12:00"),
    # The minute before opening counts from the opening.
    ("2026-09-09 07:59", 4, "2026-09-09 12:00", "2026-09-09 16:00"),
    # The minute before closing: one minute that day.
    ("2026-09-10 15:59", 4, "2026-09-11 11:59", "2026-09-11 15:59"),
    # Friday at closing: nothing left that week.
    ("2026-09-11 16:00", 4, "2026-09-14 12:00", "2026-09-14 16:00"),
    # Saturday (RULES.md's table).
    ("2026-09-12 10:00", 4, "2026-09-14 12:00", "2026-09-14 16:00"),
    # Friday evening.
    ("2026-09-18 19:30", 4, "2026-09-21 12:00", "2026-09-21 16:00"),
    # RULES.md's table: Christmas Eve and Day holidays, then the weekend.
    ("2026-12-23 15:00", 4, "2026-12-28 11:00", "2026-12-28 15:00"),
    # HIGH across the year end: Wed 6 h, Thu 31st 8, New Year's Day
    # closed, Mon 8, Tue 2; then Tue 6, Wed 8, Thu 8, Fri 2.
    ("2026-12-30 10:00", 24, "2027-01-05 10:00", "2027-01-08 10:00"),
    # School holidays do not close the office: autumn (week 42) and
    # summer.
    ("2026-10-14 15:00", 4, "2026-10-15 11:00", "2026-10-15 15:00"),
    # New Year's Eve afternoon (a Thursday; 2027-01-01 a Friday).
    ("2026-12-31 15:00", 4, "2027-01-04 11:00", "2027-01-04 15:00"),
    # The day before Ascension Day 2027 (05-06).
    ("2027-05-05 14:00", 4, "2027-05-07 10:00", "2027-05-07 14:00"),
    # Friday before Whit Monday 2027 (05-17).
    ("2027-05-14 15:00", 4, "2027-05-18 11:00", "2027-05-18 15:00"),
]


def test_the_hand_worked_instants_are_the_documents():
    """The table above agrees with the reading of RULES.md coded here,
    and with the table RULES.md gives (so a slip in either shows)."""
    for raised, hours, desk, lead in AWKWARD:
        first = office_end(utc_of(raised), hours)
        assert (first, office_end(first, hours)) == \
            (utc_of(desk), utc_of(lead)), raised
    assert office_end(utc_of("2027-03-24 15:00"), 4) == \
        utc_of("2027-03-30 11:00")
    assert office_end(utc_of("2026-09-11 10:00"), 24) == \
        utc_of("2026-09-16 10:00")


def stamp(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S")


def check_instants(hub, rows, seed):
    """Raise each row's alert at its instant (URGENT dropouts, HIGH
    dropout risks when its hours are 24; cw-anna's person) and check that
    the second before each notice nothing came, at it the notice, to the
    desk, then the team lead, all on the one hub clock."""
    gen = CprGen(seed)
    plan = []     # (instant UTC, order, what, row)
    second = dt.timedelta(seconds=1)
    for n, (raised, hours, desk, lead) in enumerate(rows):
        d, t = utc_of(desk), utc_of(lead)
        plan += [(utc_of(raised), 0, "raise", n),
                 (d - second, 1, 0, n), (d, 1, 1, n),
                 (t - second, 1, 1, n), (t, 1, 2, n)]
    plan.sort()
    ids = {}
    for when, _, what, n in plan:
        raised, hours, desk, lead = rows[n]
        if what == "raise":
            hub.set_clock(stamp(when))
            adult = gen.born("2001-04-04")
            hub.assign(adult, "cw-anna")
            date = raised[:10]
            ev = ev_dropout_risk(adult, date) if hours == 24 else \
                ev_dropout(adult, date)
            hub.send(ev)
            hub.wait_applied()
            raised_ids = re.findall(r"HUB-ALERT alert (\w+) \(dropout\w*\) "
                                    r"raised for cw-anna", hub.log_text())
            ids[n] = raised_ids[-1]
            assert len(set(raised_ids)) == len(ids)
            continue
        hub.advance(stamp(when))
        got = re.findall(rf"HUB-ESCALATE alert {ids[n]} not acknowledged "
                         rf"in time; notice \w+ to ([\w.-]+)", hub.log_text())
        assert got == ["duty-desk", "cw-lead"][:what], \
            (raised, stamp(when), got)


def escalating_hub(make_hub, first, settings=None, **rules):
    return rules_hub(make_hub, stamp(utc_of(first)), escalation=True,
                     rules=dict(LEAD, **dict({"dropout.priority": "urgent",
                                              "dropout_risk.priority":
                                              "high"}, **rules)),
                     settings=settings)


def annas_monday_dropout(make_hub, seed, born):
    """An escalating hub on Monday 2026-09-07 10:00 Danish time and one
    dropout alert, raised then, for an adult born on born assigned to
    cw-anna: (hub, the adult, the alert's id)."""
    hub = escalating_hub(make_hub, "2026-09-07 10:00")
    adult = CprGen(seed).born(born)
    hub.assign(adult, "cw-anna")
    hub.send(ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    [alert] = re.findall(r"HUB-ALERT alert (\w+) \(dropout\)",
                         hub.log_text())
    return hub, adult, alert


def test_escalation_at_awkward_moments_comes_exactly_when_due(make_hub):
    hub = escalating_hub(make_hub, AWKWARD[0][0])
    check_instants(hub, AWKWARD, 9101)


# A Sunday office open all day (office.days = sun, 00:00-24:00; URGENT
# 24 office hours): the spring Sunday counts 23 hours, the autumn one 25;
# Easter Sunday is closed; a window ending at 24:00 ends at midnight.
SUNDAYS = [
    # 03-29: 23 h; 04-05 Easter Sunday closed; 04-12: 1 h, then 23 h,
    # 04-19: 1 h.
    ("2026-03-28 12:00", 4, "2026-04-12 01:00", "2026-04-19 01:00"),
    # 10-25: 25 hours, 24 of them up at 23:00 CET; then 1 h, and 23 on
    # 11-01.
    ("2026-10-24 12:00", 4, "2026-10-25 23:00", "2026-11-01 23:00"),
    # Sunday 12-27 whole: ends at its midnight; then Sunday 2027-01-03.
    ("2026-12-26 12:00", 4, "2026-12-28 00:00", "2027-01-04 00:00"),
]


def test_a_sunday_office_open_all_day_across_the_clock_changes(make_hub):
    for raised, _, desk, lead in SUNDAYS:
        first = office_end(utc_of(raised), 24, days=(6,), opening="00:00",
                           closing="24:00")
        assert (first, office_end(first, 24, days=(6,), opening="00:00",
                                  closing="24:00")) == \
            (utc_of(desk), utc_of(lead)), raised
    hub = escalating_hub(make_hub, SUNDAYS[0][0], **{
        "office.days": "SUN", "office.hours": "00:00 - 24:00",
        "ack.urgent_hours": "24"})
    check_instants(hub, SUNDAYS, 9102)
    # A notice's `due` is the day it is raised, a UTC day (RULES.md §1):
    # 01:00 Danish time on 04-12 is 23:00 UTC on 04-11.
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert rc == 0, err
    assert sorted(n["due"] for n in alerts if n["rule"] == "escalation" and
                  n["title"].startswith("Overdue with cw-anna: Dropped")) \
        == ["2026-04-11", "2026-10-25", "2026-12-27"]


# Sunday 02:30-04:00 (URGENT 1 office hour): on the spring Sunday the
# opening 02:30 does not exist and is read as 03:30 (half an hour that
# day); on the autumn Sunday 02:30 is its first occurrence (CEST), so
# the day has 2.5 hours.
SKIPPED = [
    # 03-29: 03:30-04:00 CEST; Easter Sunday closed; 04-12 from 02:30
    # CEST: half an hour -> 03:00; the lead's: the hour to closing.
    ("2026-03-28 12:00", 1, "2026-04-12 03:00", "2026-04-12 04:00"),
    # 10-25: opens 02:30 CEST (00:30 UTC): +1 h is 02:30 CET (01:30 UTC,
    # the repeated hour), +1 h more 03:30 CET (written in UTC).
    ("2026-10-24 12:00", 1, "2026-10-25T01:30:00Z", "2026-10-25T02:30:00Z"),
]


def test_an_opening_the_clock_change_skips_or_repeats(make_hub):
    for raised, _, desk, lead in SKIPPED:
        first = office_end(utc_of(raised), 1, days=(6,), opening="02:30",
                           closing="04:00")
        assert (first, office_end(first, 1, days=(6,), opening="02:30",
                                  closing="04:00")) == \
            (utc_of(desk), utc_of(lead)), raised
    hub = escalating_hub(make_hub, SKIPPED[0][0], **{
        "office.days": "sun", "office.hours": "02:30-04:00",
        "ack.urgent_hours": "1"})
    check_instants(hub, SKIPPED, 9103)


def test_christmas_eve_open_when_it_is_no_holiday(make_hub):
    rows = [("2026-12-23 15:00", 4, "2026-12-24 11:00", "2026-12-24 15:00")]
    assert office_end(utc_of(rows[0][0]), 4, christmas_eve=False) == \
        utc_of(rows[0][2])
    hub = escalating_hub(make_hub, rows[0][0], **{
        "calendar.christmas_eve_is_holiday": "no"})
    check_instants(hub, rows, 9104)


def escalations(hub):
    return re.findall(r"HUB-ESCALATE alert (\w+) not acknowledged in time; "
                      r"notice \w+ to ([\w.-]+)", hub.log_text())


def test_hubd_down_when_the_window_ends(make_hub):
    """RULES.md §8, "The next step": with hubd down at the instant the
    window ended, the desk's notice goes out when it is back, and the team
    lead's follows a period after the window's end (at once, if that has
    passed too). URGENT dropouts raised Monday 2026-09-07 10:00 Danish
    time: the window ends 14:00 (12:00 UTC), the team lead's step Tuesday
    10:00 (08:00 UTC)."""
    hub = escalating_hub(make_hub, "2026-09-07 10:00")
    gen = CprGen(9105)
    one, two = gen.born("2001-05-05"), gen.born("2001-06-06")
    hub.assign(one, "cw-anna")
    hub.send(ev_dropout(one, "2026-09-07"))
    hub.wait_applied()
    [first] = re.findall(r"HUB-ALERT alert (\w+) \(dropout\)",
                         hub.log_text())
    hub.stop()
    hub.set_clock("2026-09-08T07:00:00")       # Tuesday 09:00
    hub.start()
    hub.settle()
    assert escalations(hub) == [(first, "duty-desk")]
    hub.advance("2026-09-08T07:59:59")
    assert escalations(hub) == [(first, "duty-desk")]
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(first, "duty-desk"), (first, "cw-lead")]
    # Down over both instants: both at once when it is back.
    hub.set_clock("2026-09-14T08:00:00")        # Monday 10:00
    hub.assign(two, "cw-anna")
    hub.send(ev_dropout(two, "2026-09-14"))
    hub.wait_applied()
    second = re.findall(r"HUB-ALERT alert (\w+) \(dropout\)",
                        hub.log_text())[-1]
    hub.stop()
    hub.set_clock("2026-09-16T08:00:00")
    hub.start()
    hub.settle()
    assert escalations(hub)[2:] == [(second, "duty-desk"),
                                    (second, "cw-lead")]
    # The notices' due is the day they went out (PROTOCOL.md §4).
    notices = hub.peek("cw-lead", 2)
    assert sorted(n["due"] for n in notices) == ["2026-09-08", "2026-09-16"]


def test_a_queue_at_ops_queue_open_is_not_stalled_one_more_is(make_hub):
    """OPERATIONS.md, Operational alerts: queue_stalled holds when a
    recipient has *more than* ops_queue_open open alerts and their number
    has not gone down for ops_queue_hours, counted from hubd's start; the
    queues are counted once a minute of hub clock. Two open with
    ops_queue_open 2: never stalled; a third, with the hours long passed
    and the number never down: stalled at the next count, to the --ops
    caseworker, HIGH, naming only the recipient."""
    hub = make_hub(start=False, clock="2026-09-07T08:00:00",
                   agencies=RULE_AGENCIES, caseworkers=RULE_CASEWORKERS,
                   settings={"ops_queue_open": "2", "ops_queue_hours": "2"},
                   rules=dict(NO_ESCALATION))
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.start()
    gen = CprGen(9106)
    people = [gen.born(f"2001-0{i + 1}-0{i + 1}") for i in range(3)]
    for p in people:
        hub.assign(p, "cw-anna")
    hub.send(*[ev_dropout(p, "2026-09-07") for p in people[:2]])
    hub.wait_applied()
    for minute in (1, 150, 300):            # five hours, a count each
        hub.set_clock(f"2026-09-07T{8 + minute // 60:02d}:"
                      f"{minute % 60:02d}:00")
        time.sleep(1.2 * SLOW)
    assert "HUB-OPS-QUEUE-STALLED" not in hub.log_text()
    hub.send(ev_dropout(people[2], "2026-09-07"))
    hub.wait_applied()
    hub.set_clock("2026-09-07T13:01:00")
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-anna\)")
    [a] = hub.peek("ops-olga", 1)
    assert (a["rule"], a["priority"], a["cpr"], a["recipient"]) == \
        ("ops.queue_stalled", "HIGH", "", "ops-olga"), a
    assert "cw-anna" in a["title"] + a["explanation"], a
    # A reassignment takes one off cw-anna's queue: the number went down,
    # the condition ends (logged, the alert stays open), and it is raised
    # again, with a new alert, only once it holds again.
    hub.assign(people[0], "cw-bob", start="2026-09-07")
    hub.set_clock("2026-09-07T13:02:00")
    hub.wait_log(r"notice HUB-OPS-CLEARED queue_stalled \(cw-anna\) no "
                 r"longer holds")
    hub.peek("ops-olga", 1)
    hub.assign(people[0], "cw-anna", start="2026-09-07")
    for minute in (3, 4):                 # three open again, counted
        hub.set_clock(f"2026-09-07T13:0{minute}:00")
        time.sleep(1.2 * SLOW)
    assert hub.log_text().count("HUB-OPS-QUEUE-STALLED") == 1
    hub.set_clock("2026-09-07T15:05:00")  # two hours not down
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-anna\)",
                 count=2)
    hub.peek("ops-olga", 2)


def check_rules(tmp_path, text):
    """hubd --check-config of a rules file holding text: (rc, output)."""
    rules = tmp_path / "rules.conf"
    rules.write_text(text)
    p = subprocess.run([binary("hubd"), "--check-config", "--rules",
                        str(rules), "--data_dir", str(tmp_path / "d"),
                        "--keys_dir", str(tmp_path / "k")],
                       capture_output=True, text=True, timeout=20)
    return p.returncode, (p.stdout + p.stderr).strip(), str(rules)


WEEKDAYS = ("is not a list of weekdays (mon, tue, wed, thu, fri, sat, sun; "
            "ranges Monday-first such as mon-fri; comma-separated)")
OPENING = ("is not an opening time (HH:MM-HH:MM, 00:00 to 24:00, opening "
           "before closing, such as 08:00-16:00)")


@pytest.mark.parametrize("line, reason", [
    ("ack.urgent_hours = 8760", None),
    ("ack.urgent_hours = 8761",
     "ack.urgent_hours must be a whole number from 1 to 8760"),
    ("ack.high_hours = 1", None),
    ("ack.high_hours = 0",
     "ack.high_hours must be a whole number from 1 to 8760"),
    ("ack.normal_hours = +72",
     "ack.normal_hours must be a whole number from 1 to 8760"),
    ("ack.low_hours = 4.5",
     "ack.low_hours must be a whole number from 1 to 8760"),
    ("office.days = Mon - thu , SAT", None),
    # Blanks (spaces, tabs) around each `,` and `-`, as around a value.
    ("office.days = mon\t-\tthu ,\tsat", None),
    ("office.days = sun", None),
    ("office.days = fri-mon", f"'fri-mon' {WEEKDAYS}"),
    ("office.days = monday-friday", f"'monday-friday' {WEEKDAYS}"),
    ("office.days = mon,,tue", f"'mon,,tue' {WEEKDAYS}"),
    ("office.days = ", f"'' {WEEKDAYS}"),
    ("office.hours = 00:00 - 24:00", None),
    ("office.hours = 08:00\t-\t16:00", None),
    ("office.hours = 16:00-08:00", f"'16:00-08:00' {OPENING}"),
    ("office.hours = 08:00-08:00", f"'08:00-08:00' {OPENING}"),
    ("office.hours = 08:00-24:01", f"'08:00-24:01' {OPENING}"),
    ("office.hours = 8:00-16:00", f"'8:00-16:00' {OPENING}"),
    ("routing.team_lead = ", None),
    ("routing.team_lead = Lead", "routing.team_lead: 'Lead' is not a valid "
     "id (1-63 of a-z 0-9 . _ -, starting with a letter or digit, holding "
     "no CPR number)"),
])
def test_escalation_settings_at_the_value_and_one_past(tmp_path, line,
                                                        reason):
    """RULES.md §8 Settings and §10's table, through hubd --check-config:
    a good value passes, a bad one is named with file and line, exit 2."""
    rc, out, rules = check_rules(tmp_path, f"# escalation\n{line}\n")
    if reason is None:
        assert (rc, out) == (0, "hubd: configuration OK"), out
    else:
        assert (rc, out) == (2, f"{rules}:2: {reason}"), out


def test_a_team_lead_that_is_the_desk_is_a_whole_file_problem(tmp_path):
    rc, out, rules = check_rules(tmp_path, "routing.desk = front\n"
                                 "routing.team_lead = front\n")
    assert (rc, out) == (2, f"{rules}: team_lead is the desk itself "
                         "(routing.desk): name the caseworker above the "
                         "desk, or none"), out


# Sunday 00:00-02:30 (URGENT 2 office hours): on the spring Sunday the
# closing 02:30 does not exist and is read as 03:30 CEST (01:30 UTC: the
# day has 2.5 real hours); on the autumn Sunday it is the first 02:30
# (CEST, 00:30 UTC), 2.5 hours too. (Written in UTC.)
CLOSING = [
    # 03-29 00:00 CET (03-28 23:00 UTC) + 2 h; then half an hour left,
    # Easter Sunday closed, 04-12 from 00:00 CEST (04-11 22:00 UTC).
    ("2026-03-28 12:00", 2, "2026-03-29T01:00:00Z", "2026-04-11T23:30:00Z"),
    # 10-25 00:00 CEST (10-24 22:00 UTC) + 2 h; then half an hour, and
    # 11-01 from 00:00 CET (10-31 23:00 UTC).
    ("2026-10-24 12:00", 2, "2026-10-25T00:00:00Z", "2026-11-01T00:30:00Z"),
]


def test_a_closing_the_clock_change_skips_or_repeats(make_hub):
    office = dict(days=(6,), opening="00:00", closing="02:30")
    for raised, _, desk, lead in CLOSING:
        first = office_end(utc_of(raised), 2, **office)
        assert (first, office_end(first, 2, **office)) == \
            (utc_of(desk), utc_of(lead)), raised
    hub = escalating_hub(make_hub, CLOSING[0][0], **{
        "office.days": "sun", "office.hours": "00:00-02:30",
        "ack.urgent_hours": "2"})
    check_instants(hub, CLOSING, 9107)


def test_the_longest_window_8760_office_hours(make_hub):
    """ack.urgent_hours at its maximum, 8760 office hours (1,095 office
    days): Monday 2026-09-07 10:00 escalates to the desk on 2031-01-08
    10:00, to the team lead on 2035-05-09 10:00, counting every public
    holiday and clock change on the way. (The dropout is kept that long:
    retention_dropout 0, OPERATIONS.md "Retention"; by default it is
    deleted, with its alert, after 1,825 days.)"""
    rows = [("2026-09-07 10:00", 8760, "2031-01-08 10:00",
             "2035-05-09 10:00")]
    first = office_end(utc_of(rows[0][0]), 8760)
    assert (first, office_end(first, 8760)) == \
        (utc_of(rows[0][2]), utc_of(rows[0][3]))
    hub = escalating_hub(make_hub, rows[0][0],
                         settings={"retention_dropout": "0"},
                         **{"ack.urgent_hours": "8760"})
    check_instants(hub, rows, 9108)


def test_a_reload_of_office_hours_counts_for_windows_after_it(make_hub):
    """RULES.md §8 Settings: "A reload changes the hours of windows that
    start after it; escalations already scheduled keep their instants.
    The team lead's step is scheduled only when the desk's notice goes
    out, so it counts the office hours ... in force at that moment."
    URGENT (4 office hours). A raised Monday 2026-09-07 10:00 under
    08:00-16:00: due 14:00. At 11:00 the office becomes 08:00-12:00. B
    raised then: 1 hour Monday, 3 on Tuesday, due Tuesday 11:00. A's team
    lead step, counted from 14:00 under the new hours: Tuesday 12:00
    (ends at closing). B's: Tuesday 11:00-12:00, Wednesday 08:00-11:00."""
    hub = escalating_hub(make_hub, "2026-09-07 10:00")
    gen = CprGen(9109)
    a, b = gen.born("2001-07-07"), gen.born("2001-08-08")

    def raise_for(p, date):
        hub.assign(p, "cw-anna")
        hub.send(ev_dropout(p, date))
        hub.wait_applied()
        return re.findall(r"HUB-ALERT alert (\w+) \(dropout\)",
                          hub.log_text())[-1]

    ida = raise_for(a, "2026-09-07")
    hub.set_clock(stamp(utc_of("2026-09-07 11:00")))
    hub.write_rules(dict(LEAD, **{"dropout.priority": "urgent",
                                  "office.hours": "08:00-12:00"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    idb = raise_for(b, "2026-09-07")
    steps = [("2026-09-07 14:00", (ida, "duty-desk")),
             ("2026-09-08 11:00", (idb, "duty-desk")),
             ("2026-09-08 12:00", (ida, "cw-lead")),
             ("2026-09-09 11:00", (idb, "cw-lead"))]
    done = []
    for when, notice in steps:
        t = utc_of(when)
        hub.advance(stamp(t - dt.timedelta(seconds=1)))
        assert escalations(hub) == done, when
        hub.advance(stamp(t))
        done.append(notice)
        assert escalations(hub) == done, when


def test_adapter_silent_for_longer_than_its_hours_not_at_them(make_hub):
    """OPERATIONS.md, Operational alerts: adapter_silent holds when the
    agency "has had no event accepted for longer than its hours", counted
    from hubd's start when it sent none: at exactly 2 hours nothing, a
    second past them the log line, to the --ops caseworker only."""
    hub = ops_silent_hub(make_hub)
    time.sleep(1.2 * SLOW)               # the first check notes the start
    hub.set_clock("2026-01-05T10:00:00")
    time.sleep(2.5 * SLOW)               # two checks or more
    assert "HUB-OPS-ADAPTER-SILENT" not in hub.log_text()
    hub.set_clock("2026-01-05T10:00:01")
    hub.wait_log(r"warn HUB-OPS-ADAPTER-SILENT adapter_silent \(school-a\): "
                 r"no event from school-a accepted for 2 hours \(expected at "
                 r"least every 2 hours; ops_silence\)")
    [a] = hub.peek("ops-olga", 1)
    assert (a["rule"], a["priority"], a["cpr"], a["due"]) == \
        ("ops.adapter_silent", "HIGH", "", ""), a
    hub.peek("cw-anna", 0)
    hub.peek("desk-dora", 0)


@pytest.mark.parametrize("priority, rows", [
    # NORMAL, 72 office hours (nine office days): over Christmas and New
    # Year; over Ascension Day, Whit Monday and Constitution Day 2026.
    ("normal", [("2026-05-11 09:30", 72, "2026-05-26 09:30",
                 "2026-06-09 09:30"),
                ("2026-12-21 10:00", 72, "2027-01-06 10:00",
                 "2027-01-19 10:00")]),
    # LOW, 120 office hours (fifteen office days): over Easter 2027 (03-25
    # to 03-29 closed), then over Ascension Day 2027 (05-06).
    ("low", [("2027-03-22 10:00", 120, "2027-04-15 10:00",
              "2027-05-07 10:00")]),
], ids=["normal", "low"])
def test_the_default_normal_and_low_windows(make_hub, priority, rows):
    for raised, hours, desk, lead in rows:
        first = office_end(utc_of(raised), hours)
        assert (first, office_end(first, hours)) == \
            (utc_of(desk), utc_of(lead)), raised
    hub = escalating_hub(make_hub, rows[0][0],
                         **{"dropout.priority": priority})
    check_instants(hub, rows, 9110 + len(priority))


def test_the_export_counts_each_alerts_notices(make_hub):
    """OPERATIONS.md, Access: the export's `escalations` is how many
    escalation notices the alert raised, 0-2, and 0 for a notice; the
    notices are alerts of the person too. URGENT dropouts raised Monday
    2026-09-07 10:00: cw-anna's escalates to the desk at 14:00 and to the
    team lead on Tuesday 10:00 (two); the desk's own, of a person without
    a contact person, straight to the team lead at 14:00 (one)."""
    hub = escalating_hub(make_hub, "2026-09-07 10:00")
    gen = CprGen(9112)
    mine, desks = gen.born("2001-10-10"), gen.born("2001-11-11")
    hub.assign(mine, "cw-anna")
    hub.cprs.add(desks)
    hub.send(ev_dropout(mine, "2026-09-07"), ev_dropout(desks, "2026-09-07"))
    hub.wait_applied()
    hub.advance("2026-09-08T08:00:00")

    def alerts_of(cpr):
        out = hub.client_dir / f"export-{cpr}.json"   # holds the CPR
        hub.hubctl("export", "--cpr", cpr, "--out", str(out))
        doc = json.loads(out.read_text())
        return sorted((a["alert"]["rule"], a["recipient"], a["escalations"])
                      for a in doc["alerts"])

    assert alerts_of(mine) == [("dropout", "cw-anna", 2),
                               ("escalation", "cw-lead", 0),
                               ("escalation", "duty-desk", 0)]
    assert alerts_of(desks) == [("dropout", "duty-desk", 1),
                                ("escalation", "cw-lead", 0)]
    # RULES.md §8: every notice is logged and recorded in the audit
    # trail as `escalate`, by the hub, with the notice's id
    # (SECURITY.md: detail the notice's id, the person the alert is about).
    logged = re.findall(r"HUB-ESCALATE alert \w+ not acknowledged in time; "
                        r"notice (\w+) to [\w.-]+", hub.log_text())
    records = [json.loads(line) for line in hub.hubctl(
        "audit", "show", "--json").stdout.splitlines()
        if line.startswith("{")]
    escalated = [r for r in records if r["action"] == "escalate"]
    assert sorted(r["detail"] for r in escalated) == sorted(logged)
    assert len(logged) == 3
    assert all(r["actor"] == "hub" and r["person"] for r in escalated), \
        escalated


def test_an_alert_left_at_a_former_desk_escalates_to_the_new_one(make_hub):
    """RULES.md §10 (after the table): alerts queued for the old desk stay
    addressed to its id and, "unacknowledged, they escalate as alerts of
    an owner other than the desk (section 8): the new desk gets a notice
    'Overdue with <old desk>: ...'" — then, a period later, the team
    lead. URGENT, raised Monday 2026-09-07 10:00 for a person without a
    contact person (the desk's); the desk renamed at 11:00."""
    hub = escalating_hub(make_hub, "2026-09-07 10:00")
    p = CprGen(9113).born("2001-12-12")
    hub.cprs.add(p)
    hub.send(ev_dropout(p, "2026-09-07"))
    hub.wait_applied()
    [alert] = re.findall(r"HUB-ALERT alert (\w+) \(dropout\) raised for "
                         r"duty-desk", hub.log_text())
    hub.set_clock(stamp(utc_of("2026-09-07 11:00")))
    hub.write_rules(dict(LEAD, **{"dropout.priority": "urgent",
                                  "routing.desk": "new-desk"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    hub.advance("2026-09-07T11:59:59")
    assert escalations(hub) == []
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(alert, "new-desk")]
    [n] = hub.peek("desk-dora", 1)        # a member serves the new desk
    assert (n["rule"], n["recipient"], n["alert_id"]) == \
        ("escalation", "new-desk", alert[:16] + "%02x" %
         (int(alert[16:], 16) | 0x40)), n
    assert n["title"].startswith("Overdue with duty-desk: "), n["title"]
    hub.advance("2026-09-08T07:59:59")
    assert escalations(hub) == [(alert, "new-desk")]
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(alert, "new-desk"), (alert, "cw-lead")]


def test_an_alert_handed_to_the_desk_escalates_straight_to_the_lead(
        make_hub):
    """RULES.md §8: "An alert whose owner is the desk itself ... escalates
    straight to the team lead when its window has passed" — also one the
    desk got when its contact person's assignment ended within the
    window. URGENT, raised Monday 2026-09-07 14:00 Danish time; cw-anna's
    assignment ends that day, so the alert is the desk's from Tuesday;
    the window ends Tuesday 10:00 (08:00 UTC): the team lead's notice
    (0x80), none to the desk, naming the desk as the owner."""
    hub = escalating_hub(make_hub, "2026-09-07 14:00")
    p = CprGen(9114).born("2001-02-14")
    hub.assign(p, "cw-anna", start="2026-01-01", end="2026-09-07")
    hub.send(ev_dropout(p, "2026-09-07"))
    hub.wait_applied()
    [alert] = re.findall(r"HUB-ALERT alert (\w+) \(dropout\) raised for "
                         r"cw-anna", hub.log_text())
    hub.advance("2026-09-08T07:59:59")
    assert escalations(hub) == []
    [a] = hub.peek("desk-dora", 1)
    assert (a["alert_id"], a["recipient"]) == (alert, "duty-desk"), a
    hub.advance("2026-09-08T08:00:00")
    assert escalations(hub) == [(alert, "cw-lead")]
    [n] = hub.peek("cw-lead", 1)
    assert n["alert_id"] == alert[:16] + "%02x" % (int(alert[16:], 16) |
                                                   0x80), n
    assert n["title"].startswith("Overdue with duty-desk: "), n["title"]
    hub.peek("desk-dora", 1)              # the alert alone, no notice


def test_a_rebuild_after_a_reload_escalates_by_the_new_hours(make_hub):
    """RULES.md §8, "The window starts": "A rebuild counts them with the
    ack.<priority>_hours and office hours in force at the rebuild: after
    a reload changed those, a rebuilt state escalates the alerts already
    waiting by the new ones, not at the instants the reload kept."
    URGENT raised Monday 2026-09-07 10:00 Danish time under 4 hours (due
    14:00); reloaded to 2 hours; derived/ rebuilt at 11:00: due 12:00
    (10:00 UTC), the team lead's step 14:00 (12:00 UTC)."""
    import shutil

    hub, p, alert = annas_monday_dropout(make_hub, 9115,
                                                  "2001-03-15")
    hub.write_rules(dict(LEAD, **{"dropout.priority": "urgent",
                                  "ack.urgent_hours": "2"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.set_clock("2026-09-07T09:00:00")
    hub.start()
    hub.wait_log(r"HUB-REPLAY")
    hub.advance("2026-09-07T09:59:59")
    assert escalations(hub) == []
    hub.advance("2026-09-07T10:00:00")
    assert escalations(hub) == [(alert, "duty-desk")]
    hub.advance("2026-09-07T11:59:59")
    assert escalations(hub) == [(alert, "duty-desk")]
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(alert, "duty-desk"), (alert, "cw-lead")]


def test_routing_team_lead_wins_over_the_desks_team_lead(make_hub):
    """RULES.md §8 step 2: the team lead is `routing.team_lead` if set,
    else the desk's team lead from DeskMembership events. With both, the
    notice goes to routing.team_lead alone. URGENT, the desk's own alert
    (no contact person), raised Monday 2026-09-07 10:00 Danish time:
    straight to the team lead at 14:00 (12:00 UTC)."""
    hub = escalating_hub(make_hub, "2026-09-07 10:00")
    p = CprGen(9116).born("2001-04-16")
    hub.cprs.add(p)
    hub.send(ev_desk("cw-bob", "2026-01-01", team_lead=True),
             ev_dropout(p, "2026-09-07"))
    hub.wait_applied()
    [alert] = re.findall(r"HUB-ALERT alert (\w+) \(dropout\) raised for "
                         r"duty-desk", hub.log_text())
    hub.advance("2026-09-07T12:00:00")
    assert escalations(hub) == [(alert, "cw-lead")]
    # cw-bob, on the desk by his membership, has the desk's alert only.
    assert [a["rule"] for a in hub.peek("cw-bob", 1)] == ["dropout"]
    # Without routing.team_lead (a reload), the desk's team lead is the
    # one: a second alert goes to cw-bob.
    hub.write_rules({"dropout.priority": "urgent"})
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    q = CprGen(9117).born("2001-05-17")
    hub.cprs.add(q)
    hub.set_clock("2026-09-08T08:00:00")      # Tuesday 10:00
    hub.send(ev_dropout(q, "2026-09-08"))
    hub.wait_applied()
    second = re.findall(r"HUB-ALERT alert (\w+) \(dropout\) raised for "
                        r"duty-desk", hub.log_text())[-1]
    hub.advance("2026-09-08T12:00:00")
    assert escalations(hub) == [(alert, "cw-lead"), (second, "cw-bob")]


def test_an_operational_alerts_id_and_fields(make_hub):
    """PROTOCOL.md §4, "Operational alerts": the id is 0xFF, the
    wall-clock second of raising (4 bytes, big-endian: the system clock,
    not the hub clock), a raise counter (2 bytes, from 0 at every start),
    the recipient's index among the ops caseworkers (1 byte) and 0x30 +
    the condition (0 adapter_silent); priority HIGH, `cpr`, `due` and
    `evidence` empty; each --ops caseworker gets their own."""
    hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                   settings={"ops_silence": "school-a=2"})
    for who in ("ops-olga", "ops-otto"):
        hub.keygen(who)
        hub.hubctl("register-caseworker", who, "--ops")
    hub.start()
    time.sleep(1.2 * SLOW)               # the first check notes the start
    before = int(time.time())
    hub.set_clock("2026-01-05T11:00:00")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT")
    after = int(time.time())
    ids = []
    for who in ("ops-olga", "ops-otto"):
        [a] = hub.peek(who, 1)
        assert (a["rule"], a["priority"], a["cpr"], a["due"],
                a["recipient"], a.get("evidence") or []) == \
            ("ops.adapter_silent", "HIGH", "", "", who, []), a
        ids.append(bytes.fromhex(a["alert_id"]))
    for index, aid in enumerate(sorted(ids, key=lambda i: i[7])):
        assert len(aid) == 9 and aid[0] == 0xFF and aid[8] == 0x30, aid
        assert before <= int.from_bytes(aid[1:5], "big") <= after, aid
        assert int.from_bytes(aid[5:7], "big") == 0, aid
        assert aid[7] == index, aid
