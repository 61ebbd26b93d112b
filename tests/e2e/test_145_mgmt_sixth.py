"""145 the annual status, a sixth reading (OPERATIONS.md "The annual
status", "The tables, exactly"; PROTOCOL.md "Corrections"): a
correction of a type the report counts nothing of (a MissedActivation
naming a benefit period) still takes out what it names; each table
dates a fact by its own day (dated, received, raised) across a year's
end; and what ends or keeps an enrolment for the without-attachment
measure, in the second cases earlier rounds left out."""

import datetime

from hubtest import CprGen, ev_dropout, ev_dropout_risk, ev_enrolment, \
    ev_leaving, ev_missed_activation, ev_referral, event, rules_hub
from test_81_report import report
from test_107_mgmt_third import CONTACT, QUIET, annas_youth
from test_119_mgmt_fourth import MEASURES, born_in, rows


def benefit(cpr, start, stop=""):
    return event("jobcenter-a", cpr, "benefit_status", jobcenter="jc-a",
                 benefit="EDUCATION_BENEFIT", start=start, stop=stop)


def test_a_correction_of_another_type_takes_the_event_out(make_hub,
                                                          tmp_path):
    """OPERATIONS.md: "an event superseded by a correction (a later event
    of the same agency about the same person whose supersedes names it,
    as in the rules and the timeline ...) is not counted"; PROTOCOL.md:
    "Nothing checks that the corrected event is of the same type". A
    Jobcenter's benefit period corrected by its MissedActivation is no
    benefit: 5 persons whose only tie to the measure was that benefit
    are not without attachment; 6 whose MissedActivation corrects
    nothing still are. A known person's referral naming an anonymous
    record is about another person (none): the 5 records still count."""
    hub = rules_hub(make_hub, "2026-04-01T08:00:00", rules=MEASURES)
    gen = CprGen(14511)
    fixed = born_in(gen, "2006-01", 5)
    kept = born_in(gen, "2006-02", 6)
    firsts = {c: benefit(c, "2026-01-01") for c in fixed + kept}
    hub.send(*firsts.values())
    fixes = []
    for c in fixed + kept:
        fix = ev_missed_activation(c, "2026-01-05")
        if c in fixed:
            fix.supersedes = firsts[c].event_id
        fixes.append(fix)
    anonymous = [event("addiction-a", "", "addiction_referral",
                       sensitivity="ANONYMOUS", service="rmc-a",
                       date="2026-02-02", stage="REFERRED")
                 for _ in range(5)]
    hub.send(*anonymous)
    for c, anon in zip(born_in(gen, "2006-03", 5), anonymous):
        known = ev_referral(c, "2026-02-02")
        known.supersedes = anon.event_id
        fixes.append(known)
    hub.send(*fixes)
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--from", "2026-01-01",
                       "--to", "2026-03-31")
    assert rows(tables, "neet") == {
        "2026-01": ["6"], "2026-02": ["6"], "2026-03": ["6"]}
    assert rows(tables, "anonymous")["referred"] == ["5"]


def test_each_table_dates_a_fact_by_its_own_day(make_hub, tmp_path):
    """OPERATIONS.md, "The tables, exactly": the dropouts and enrolments
    tables count what is *dated* in the period, the clocks what the hub
    *received* in it (the hub clock's UTC day), the alerts table what
    was *raised* in it. Six 16-year-olds' Dropouts dated 2025-12-31 and
    seven DropoutRisks dated 12-30, received 2026-01-02, are 2025's
    dropouts and risks but 2026's clocks and alerts; five Enrolments
    starting 2026-01-05, received 2025-12-20, are 2026's starts only."""
    hub = rules_hub(make_hub, "2025-12-20T08:00:00", rules=QUIET)
    gen = CprGen(14512)
    ahead = born_in(gen, "2009-05", 5)
    late = annas_youth(hub, 14513, "2010-03", 6)
    risks = born_in(gen, "2008-05", 7)
    hub.send(*[ev_enrolment(c, "2026-01-05", institution="eud-q",
                            programme="eud") for c in ahead])
    hub.wait_applied()
    hub.set_clock("2026-01-02T08:00:00")
    hub.send(*[ev_dropout(c, "2025-12-31") for c in late],
             *[ev_dropout_risk(c, "2025-12-30") for c in risks])
    hub.wait_applied()
    tables = {}
    for year in ("2025", "2026"):
        (tmp_path / year).mkdir()
        tables[year] = report(hub, tmp_path / year, "--year", year)[1]
    assert tables["2025"]["dropouts"][1:] == [
        ["college-x (EUD)", "0", "7", "6"], ["Total", "0", "7", "6"]]
    assert rows(tables["2025"], "enrolments")["Total"] == ["0"]
    assert rows(tables["2025"], "clocks")[CONTACT][-1] == "0"
    assert tables["2025"]["alerts"][1:] == [["Total"] + ["0"] * 6]
    assert tables["2026"]["dropouts"][1:] == [
        ["eud-q (EUD)", "5", "0", "0"], ["Total", "5", "0", "0"]]
    assert rows(tables["2026"], "enrolments")["EUD"] == ["5"]
    # Received 01-02, due 01-09: missed once the report's today (the
    # system clock's) is past it.
    late_day = datetime.datetime.now(datetime.timezone.utc).date() > \
        datetime.date(2026, 1, 9)
    assert rows(tables["2026"], "clocks")[CONTACT] == \
        (["0", "6", "0", "0", "6"] if late_day else ["0", "0", "0", "6", "6"])
    assert rows(tables["2026"], "alerts")["dropout"][0] == "6"
    assert rows(tables["2026"], "alerts")["dropout_risk"][0] == "7"


def test_what_ends_and_what_keeps_an_enrolment_on_the_months_last_day(
        make_hub, tmp_path):
    """The neet measure's second cases: a Dropout from *another*
    institution ends no enrolment (5); a Dropout from the institution
    dated before the start ends nothing (6); an Enrolment start between
    the latest exit and D takes the person out even once it ended (7);
    an Enrolment starting on D itself runs on D (8, on benefit since
    01-01). Nobody of them is without attachment in any month."""
    hub = rules_hub(make_hub, "2026-04-01T08:00:00", rules=MEASURES)
    gen = CprGen(14514)
    other = born_in(gen, "2006-01", 5)
    before = born_in(gen, "2006-02", 6)
    between = born_in(gen, "2006-03", 7)
    on_d = born_in(gen, "2006-04", 8)
    hub.send(*[ev_enrolment(c, "2026-01-05", institution="eud-a",
                            programme="eud") for c in other],
             *[ev_dropout(c, "2026-01-10", institution="eud-b",
                          programme="eud") for c in other],
             *[ev_dropout(c, "2026-01-03", institution="eud-c",
                          programme="eud") for c in before],
             *[ev_enrolment(c, "2026-01-05", institution="eud-c",
                            programme="eud") for c in before],
             *[ev_leaving(c, "2026-01-05") for c in between],
             *[ev_enrolment(c, "2026-01-10", institution="fgu-x",
                            programme="fgu") for c in between],
             *[benefit(c, "2026-01-01") for c in on_d],
             *[ev_enrolment(c, "2026-01-31", institution="fgu-y",
                            programme="fgu") for c in on_d])
    hub.send(*[ev_enrolment(c, "2026-01-10", institution="fgu-x",
                            programme="fgu", end="2026-01-20")
               for c in between])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--from", "2026-01-01",
                       "--to", "2026-03-31")
    assert rows(tables, "neet") == {
        "2026-01": ["0"], "2026-02": ["0"], "2026-03": ["0"]}
    # The starts are counted all the same, the ended one too.
    assert rows(tables, "enrolments")["Total"] == ["26"]
