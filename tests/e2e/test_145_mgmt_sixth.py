"""145 the annual status, a sixth reading (OPERATIONS.md "The annual
status", "The tables, exactly"; PROTOCOL.md "Corrections")."""

from hubtest import CprGen, ev_missed_activation, ev_referral, event, \
    rules_hub
from test_81_report import report
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
