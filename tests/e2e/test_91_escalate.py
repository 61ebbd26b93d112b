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
import re
from zoneinfo import ZoneInfo

from hubtest import CprGen, ev_dropout, ev_dropout_risk, rules_hub

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


def public_holidays(y):
    """RULES.md section 9, Christmas Eve a holiday (the default)."""
    e, d = easter(y), dt.timedelta
    days = {dt.date(y, 1, 1), e - d(3), e - d(2), e, e + d(1), e + d(39),
            e + d(49), e + d(50), dt.date(y, 6, 5), dt.date(y, 12, 24),
            dt.date(y, 12, 25), dt.date(y, 12, 26)}
    if y <= 2023:
        days.add(e + d(26))
    return days


def office_end(start, hours):
    """start (naive UTC) + hours office hours, as naive UTC."""
    t = start.replace(tzinfo=UTC)
    left = dt.timedelta(hours=hours)
    day = t.astimezone(CPH).date()
    while True:
        if day.weekday() < 5 and day not in public_holidays(day.year):
            o = dt.datetime(day.year, day.month, day.day, 8, tzinfo=CPH)
            c = dt.datetime(day.year, day.month, day.day, 16, tzinfo=CPH)
            o, c = o.astimezone(UTC), c.astimezone(UTC)
            begin = max(o, t)
            if begin < c:
                if begin + left <= c:
                    return (begin + left).replace(tzinfo=None)
                left -= c - begin
        day += dt.timedelta(days=1)


def utc_of(danish):
    """'YYYY-MM-DD HH:MM' Danish time -> naive UTC."""
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


def test_escalation_at_awkward_moments_comes_exactly_when_due(make_hub):
    hub = rules_hub(make_hub, stamp(utc_of(AWKWARD[0][0])), escalation=True,
                    rules=dict(LEAD, **{"dropout.priority": "urgent",
                                        "dropout_risk.priority": "high"}))
    gen = CprGen(9101)
    plan = []     # (instant UTC, order, what, scenario)
    for n, (raised, hours, desk, lead) in enumerate(AWKWARD):
        d, t = utc_of(desk), utc_of(lead)
        second = dt.timedelta(seconds=1)
        plan += [(utc_of(raised), 0, "raise", n),
                 (d - second, 1, 0, n), (d, 1, 1, n),
                 (t - second, 1, 1, n), (t, 1, 2, n)]
    plan.sort()
    ids = {}
    for when, _, what, n in plan:
        raised, hours, desk, lead = AWKWARD[n]
        if what == "raise":
            hub.set_clock(stamp(when))
            adult = gen.born("2001-04-04")
            hub.assign(adult, "cw-anna")
            date = raised[:10]
            ev = ev_dropout(adult, date) if hours == 4 else \
                ev_dropout_risk(adult, date)
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
