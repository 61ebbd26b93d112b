"""119 the annual status, a fourth reading (OPERATIONS.md "The annual
status", "The tables, exactly"): figures worked out by hand from the
doc alone for the second cases its sentences name: a period that cuts a
quarter, the largest expected lessons of one period, the without-
attachment measure on the month's last day (a dropout or an end dated
that day, an end without a programme, two Jobcenters' periods), the
corrections that move a fact across the year's end, and what meets a
legal clock (an offer as the first contact, "could not reach", an
acknowledgement, a contact recorded on the missed-deadline alert)."""

import datetime
import os
import re

from hubtest import CprGen, envelope, ev_absence, ev_dropout, \
    ev_enrolment, ev_readiness, event, pb, rules_hub
from test_81_report import assert_no_recompute, enrolled_at, report
from test_107_mgmt_third import CONTACT, OFFER, QUIET, act, annas_youth, \
    clock

# Measures alone: no dropout alerts or clocks in the way.
MEASURES = dict(QUIET, **{"dropout.enabled": "no",
                          "deadline.enabled": "no"})


def ev_benefit(cpr, jobcenter, start, stop=""):
    return event("jobcenter-a", cpr, "benefit_status", jobcenter=jobcenter,
                 benefit="EDUCATION_BENEFIT", start=start, stop=stop)


def rows(tables, name):
    return {r[0]: r[1:] for r in tables[name][1:]}


def born_in(gen, month, n):
    """n persons born on the 1st to the nth of month ("YYYY-MM")."""
    return [gen.born("%s-%02d" % (month, i + 1)) for i in range(n)]


def test_absence_of_a_period_that_cuts_a_quarter(make_hub, tmp_path):
    """The absence tables count the reports whose last day is in the
    period, in the quarter of that day: 10 of 30 unlawful in the week
    of 12 January and 0 of 30 in the week of 2 February is 0 % for a
    period from 1 February (the January week is outside it) and 33 % for
    January alone. One period's expected lessons count once, the
    largest of its kind rows: illness 2 of 30 and unlawful 3 of 20 is 3
    of 30 unlawful (10-15 %), 5 of 30 of every kind (chronic). A pupil
    of two schools is a pupil of each."""
    m = pb()
    hub = rules_hub(make_hub, "2026-06-01T08:00:00", rules=MEASURES)
    gen = CprGen(11901)
    cut = born_in(gen, "2012-01", 5)
    kinds = born_in(gen, "2012-02", 6)
    two = born_in(gen, "2012-03", 7)
    hub.send(*[ev_absence(c, "2026-01-12", 10) for c in cut],
             *[ev_absence(c, "2026-02-02", 0) for c in cut],
             *[ev_absence(c, "2026-02-02", 2, kind=m.ILLNESS)
               for c in kinds],
             *[ev_absence(c, "2026-02-02", 3, expected=20, kind=m.UNLAWFUL)
               for c in kinds],
             *[ev_absence(c, "2026-02-02", 0) for c in two],
             *[envelope("school-a", c, salt=f"other-school-{c}",
                        period_start="2026-02-02",
                        period_end="2026-02-06", absent=3, expected=30,
                        school="280018") for c in two])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--from", "2026-02-01",
                         "--to", "2026-04-30")
    assert tables["absence"] == [
        ["", "under 10 %", "10-15 %", "15 % and over", "Total"],
        ["280017 2026 Q1", "12", "6", "0", "18"],
        ["280018 2026 Q1", "0", "7", "0", "7"]]
    assert tables["chronic"] == [
        ["", "chronic (10 % or more)", "under 10 %", "Total"],
        ["280017 2026 Q1", "6", "12", "18"],
        ["280018 2026 Q1", "7", "0", "7"]]
    # The page says which reports count, as the doc does.
    page = out.read_text()
    assert "over the reports whose last day is in the period, each in " \
        "the quarter of that day (a period that cuts a quarter counts " \
        "only its reports of that quarter)." in page, page
    assert "of their expected lessons in the quarter (the reports whose " \
        "last day is in the period, as above)." in page
    _, tables = report(hub, tmp_path, "--from", "2026-01-01",
                       "--to", "2026-01-31")
    assert rows(tables, "absence") == {
        "280017 2026 Q1": ["0", "0", "5", "5"]}
    assert rows(tables, "chronic") == {"280017 2026 Q1": ["5", "0", "5"]}


def test_without_attachment_on_the_months_last_day(make_hub, tmp_path):
    """The neet measure on D, the month's last day, read from the doc
    alone: a Dropout from the institution dated D ends the enrolment
    only after D ("before D"), so it counts from the next month; so does
    an enrolment's `end` dated D; an end that names no programme ends
    every programme of that institution and start; a Jobcenter's stop
    stops its own period, not another Jobcenter's; a period's stop dated
    within the month stops it for that month."""
    hub = rules_hub(make_hub, "2026-06-01T08:00:00", rules=MEASURES)
    gen = CprGen(11902)
    left_on_d = born_in(gen, "2006-01", 5)
    two_jcs = born_in(gen, "2006-02", 6)
    no_prog = born_in(gen, "2006-03", 7)
    end_on_d = born_in(gen, "2006-04", 8)
    stopped = born_in(gen, "2006-05", 9)
    hub.send(*[ev_enrolment(c, "2026-01-05", institution="eud-x",
                            programme="eud") for c in left_on_d],
             *[ev_benefit(c, jc, "2026-01-01") for c in two_jcs
               for jc in ("jc-a", "jc-b")],
             *[ev_enrolment(c, "2026-01-05", institution="fgu-v",
                            programme=p) for c in no_prog
               for p in ("fgu-a", "fgu-b")],
             *[ev_enrolment(c, "2026-01-05", institution="fgu-v",
                            programme="fgu") for c in end_on_d],
             *[ev_benefit(c, "jc-a", "2026-01-01")
               for c in no_prog + end_on_d + stopped])
    hub.send(*[ev_dropout(c, "2026-03-31", institution="eud-x",
                          programme="eud") for c in left_on_d],
             *[ev_benefit(c, "jc-b", "2026-01-01", "2026-02-10")
               for c in two_jcs],
             *[ev_enrolment(c, "2026-01-05", institution="fgu-v",
                            programme="", end="2026-02-10")
               for c in no_prog],
             *[ev_enrolment(c, "2026-01-05", institution="fgu-v",
                            programme="fgu", end="2026-03-31")
               for c in end_on_d],
             *[ev_benefit(c, "jc-a", "2026-01-01", "2026-05-10")
               for c in stopped])
    hub.wait_applied()
    out, tables = report(hub, tmp_path, "--from", "2026-01-01",
                         "--to", "2026-06-30")
    # January: two_jcs 6 + stopped 9; February: + no_prog 7; March the
    # same (left and ended on the 31st: still enrolled that day); April:
    # + left_on_d 5 + end_on_d 8; May and June: stopped 9 gone.
    assert rows(tables, "neet") == {
        "2026-01": ["15"], "2026-02": ["22"], "2026-03": ["22"],
        "2026-04": ["35"], "2026-05": ["26"], "2026-06": ["26"]}
    assert "<li>Without attachment to education in 2026-06: 26 " \
        "(baseline 360, goal 160)</li>" in out.read_text()


def test_corrections_move_a_fact_across_the_years_end(make_hub, tmp_path):
    """A superseded event is not counted; its correction counts by its
    own date. Received in December 2026: a Dropout corrected from 12-18
    to 2027-01-04, an Enrolment start corrected from 12-28 to
    2027-01-04, a start corrected to one with an end (no longer a
    start), a not-ready assessment of 11-01 corrected to ready on
    2027-01-10. The year 2026 counts none of them; 2027 the moved ones.
    The dropout's contact clock stays where the hub received the first
    report (2026), one clock, not two."""
    hub = rules_hub(make_hub, "2026-12-21T08:00:00", rules=QUIET)
    gen = CprGen(11903)
    drop = born_in(gen, "2010-01", 5)
    moved = born_in(gen, "2008-01", 6)
    ended = born_in(gen, "2008-02", 7)
    pupils = born_in(gen, "2011-02", 8)
    for c in drop:
        hub.assign(c, "cw-anna")
    first = {c: ev_dropout(c, "2026-12-18") for c in drop}
    first.update({c: ev_enrolment(c, "2026-12-28", institution="gym-a",
                                  programme="stx") for c in moved})
    first.update({c: ev_enrolment(c, "2026-12-01", institution="eud-a",
                                  programme="eud") for c in ended})
    first.update({c: ev_readiness(c, "2026-11-01", 9) for c in pupils})
    hub.send(*first.values())
    hub.wait_applied()
    fixes = [ev_dropout(c, "2027-01-04") for c in drop]
    fixes += [ev_enrolment(c, "2027-01-04", institution="gym-a",
                           programme="stx") for c in moved]
    fixes += [ev_enrolment(c, "2026-12-01", institution="eud-a",
                           programme="eud", end="2026-12-15")
              for c in ended]
    fixes += [ev_readiness(c, "2027-01-10", 9, ready=True) for c in pupils]
    for fix, c in zip(fixes, drop + moved + ended + pupils):
        fix.supersedes = first[c].event_id
    hub.send(*fixes)
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert tables["readiness"][1:] == [["Total", "0", "0", "0"]]
    assert tables["dropouts"][1:] == [["Total", "0", "0", "0"]]
    assert [r[1] for r in tables["enrolments"][1:]] == ["0"] * 5
    assert clock(tables, CONTACT)[4] == "5"
    assert set(r[0] for r in tables["neet"][1:] if r[1] != "0") == set()
    _, tables = report(hub, tmp_path, "--year", "2027")
    assert rows(tables, "readiness") == {
        "280017 2027 grade 9": ["8", "0", "8"], "Total": ["8", "0", "8"]}
    assert rows(tables, "dropouts") == {
        "college-x (EUD)": ["0", "0", "5"],
        "gym-a (gymnasium)": ["6", "0", "0"], "Total": ["6", "0", "5"]}
    assert rows(tables, "enrolments")["gymnasium"] == ["6"]
    assert clock(tables, CONTACT)[4] == "0"
    for t in tables.values():
        assert_no_recompute(t)


def test_what_meets_a_legal_clock(make_hub, tmp_path):
    """Dropouts of 16-year-olds received Monday 2026-09-07, contact due
    09-14. An offer recorded as the first contact meets both clocks;
    "could not reach" is no contact and an acknowledgement meets
    nothing: missed, and no offer clock; a contact recorded on any alert
    of the person — the desk's deadline.contact.missed, dated 09-15 —
    misses the contact and starts an offer clock (due 10-15: missed
    once the report's today, the system clock's, is past it)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=QUIET)
    offered = annas_youth(hub, 11904, "2010-01", 5, dropout="2026-09-04")
    unreached = annas_youth(hub, 11905, "2010-02", 6, dropout="2026-09-04")
    acked = annas_youth(hub, 11906, "2010-03", 7, dropout="2026-09-04")
    late = annas_youth(hub, 11907, "2010-04", 8, dropout="2026-09-04")
    hub.set_clock("2026-09-09T08:00:00")
    act(hub, offered, "offer", "2026-09-08")
    act(hub, unreached, "unreachable", "2026-09-08")
    rc, alerts, err = hub.inbox("cw-anna", idle_exit=2)   # acknowledges
    assert rc == 0 and len(alerts) == 26, err
    hub.advance("2026-09-15T08:00:00")
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    missed = [a["alert_id"] for a in alerts
              if a["rule"] == "deadline.contact.missed" and a["cpr"] in late]
    assert len(missed) == 8, alerts
    for alert_id in missed:
        rc, out, err = hub.record("desk-dora", "contact", alert_id, "phone",
                                  date="2026-09-15")
        assert rc == 0, err
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, CONTACT) == ["5", "21", "0", "0", "26"]
    late_offer = ["5", "8", "0", "0", "13"] if \
        datetime.datetime.utcnow().date() > datetime.date(2026, 10, 15) \
        else ["5", "0", "0", "8", "13"]
    assert clock(tables, OFFER) == late_offer
    a = rows(tables, "alerts")
    assert a["deadline.contact.missed"][0] == "21"
    assert a["dropout"][:3] == ["26", "26", "26"]
    # The rules file names one age: the heading and the note say it
    # once, and every 16-year-old's clock is still counted.
    hub.write_rules(dict(QUIET, **{"deadline.min_age": "16",
                                   "deadline.max_age": "16"}))
    out, tables = report(hub, tmp_path, "--year", "2026")
    page = out.read_text()
    assert "<h2>The legal clocks for 16-year-olds who dropped out</h2>" \
        in page
    assert "a contact clock for each dropout of a 16-year-old the hub " \
        "received in the period" in page
    assert clock(tables, CONTACT) == ["5", "21", "0", "0", "26"]


def test_a_purged_enrolment_no_longer_counts_as_attachment(make_hub,
                                                           tmp_path):
    """OPERATIONS.md: the report counts what the store holds when it
    runs. An Enrolment purged by `retention_enrolment` while the benefit
    is kept no longer counts as attachment, so a month reported on again
    counts persons it did not count before; a person erased with
    `hubctl erase` is in no table any more."""
    hub = rules_hub(make_hub, "2026-03-02T10:00:00", rules=MEASURES,
                    settings={"retention_enrolment": "1"})
    gen = CprGen(11908)
    youth = born_in(gen, "2006-06", 6)
    hub.send(*[ev_benefit(c, "jc-a", "2026-01-01") for c in youth],
             *[ev_enrolment(c, "2026-01-05") for c in youth])
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done", count=1)
    period = ("--from", "2026-01-01", "--to", "2026-02-28")
    _, tables = report(hub, tmp_path, *period)
    assert rows(tables, "neet") == {"2026-01": ["0"], "2026-02": ["0"]}
    assert rows(tables, "enrolments")["FGU"] == ["6"]
    # 1 day (24 hours) after receipt: deleted by the run of 03-04 00:00.
    hub.set_clock("2026-03-04T00:00:00")
    hub.wait_stats("the enrolments purged",
                   lambda s: s["log_events"] == 6)
    _, tables = report(hub, tmp_path, *period)
    assert rows(tables, "neet") == {"2026-01": ["6"], "2026-02": ["6"]}
    assert rows(tables, "enrolments")["FGU"] == ["0"]
    hub.hubctl("erase", "--cpr", youth[0], "--reason", "case 119")
    _, tables = report(hub, tmp_path, *period)
    assert rows(tables, "neet") == {"2026-01": ["5"], "2026-02": ["5"]}
    # Four left: the key figure is suppressed as its cell is.
    hub.hubctl("erase", "--cpr", youth[1], "--reason", "case 119")
    out, tables = report(hub, tmp_path, *period)
    assert rows(tables, "neet") == {"2026-01": ["<5"], "2026-02": ["<5"]}
    assert "<li>Without attachment to education in 2026-02: &lt;5 " \
        "(baseline 360, goal 160)</li>" in out.read_text()


def test_a_control_character_of_a_label_is_a_space_on_the_page(make_hub,
                                                               tmp_path):
    """OPERATIONS.md, the files: an id is any text an agency sent. A
    control character HTML allows in no text (an escape, a DEL, a C1
    control) shows as one space on the page, as in an alert's title;
    the CSV file keeps the id as sent, and a tab stays a tab on both. A
    symbolic link at a name, to a file or to nothing, is replaced by the
    file, never written through."""
    ids = ["gym-\x1b[31mred", "eud-\x7fdel", "fgu-\u0085nel", "x\ty"]
    hub = enrolled_at(make_hub, 11909, ids)
    d = tmp_path / "status"
    d.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("keep\n")
    os.symlink(precious, d / "status.html")
    os.symlink(precious, d / "status-neet.csv")
    os.symlink(tmp_path / "nothing", d / "status-alerts.csv")
    out, tables = report(hub, tmp_path, "--year", "2026")
    assert precious.read_text() == "keep\n"
    assert not os.path.exists(tmp_path / "nothing")
    assert not any(os.path.islink(d / n) for n in os.listdir(d))
    assert [r[0] for r in tables["dropouts"][1:-1]] == [
        "eud-\x7fdel (EUD)", "fgu-\u0085nel (FGU)", "gym-\x1b[31mred "
        "(gymnasium)", "x\ty (other)"]
    page = out.read_text()
    for shown in ("gym- [31mred (gymnasium)", "eud- del (EUD)",
                  "fgu- nel (FGU)", "x\ty (other)"):
        assert f"<th>{shown}</th>" in page, shown
        assert f">{shown}</text>" in page, shown
    assert not re.search("[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f]", page)


def test_each_section_names_the_strategys_figures_and_its_file(make_hub,
                                                               tmp_path):
    """OPERATIONS.md, headings: each section's note says what it counts,
    the strategy's figures it is read against and its CSV file."""
    hub = make_hub()
    out, tables = report(hub, tmp_path, "--year", "2026")
    notes = re.findall(r'<section id="(\w+)"><h2>[^<]*</h2>\s*'
                       r'<p class="note">([^<]*)</p>', out.read_text())
    assert [n for n, _ in notes] == [
        "readiness", "absence", "chronic", "dropouts", "enrolments", "neet",
        "clocks", "alerts", "anonymous"]
    for name, note in notes:
        assert note.endswith(f"(status-{name}.csv)"), (name, note)
    note = dict(notes)
    assert "Baseline January 2018: 146 of 286 not ready in grade 8, 83 " \
        "of 286 in grade 9." in note["readiness"]
    assert "Goal: at least 35 % of 25-year-olds with a vocational " \
        "education by 2030; 14.7 % of the 2016 grade-9 cohort were " \
        "projected to." in note["enrolments"]
    assert "Goal: halve the number, from 360 (2017) to 160." in note["neet"]
