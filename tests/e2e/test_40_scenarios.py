"""40 scenarios: the municipal strategy's stories, end to end.

Every event reaches the hub through the real agency adapters
(adapter-school, adapter-college, adapter-addiction, adapter-youthunit)
from CSV exports written as docs/ADAPTERS.md describes them; a real hubd
runs the rules on the injectable clock (rules_hub); the alerts are read
with the real `inbox --json` (hub.peek). Each scenario asserts the exact
number of alerts in the store and, per recipient, exactly which alerts
(rule, priority, recipient, person) reach them: no storms, no silence.
"""

import re

from agencytest import run_adapter, write_export
from hubtest import CprGen, dashed, rules_hub

ASSIGN_HEADER = ["cpr", "caseworker", "role", "from", "to"]
DESK_HEADER = ["Vagtfunktion", "Sagsbehandler", "Fra", "Til", "Teamleder"]
COLLEGE_HEADER = ["cpr", "institution", "programme", "status", "date",
                  "start", "reason"]
ABSENCE_HEADER = ["cpr", "school", "period_start", "period_end",
                  "lessons_absent", "lessons_expected", "kind", "grade"]
READINESS_HEADER = ["cprnr", "skole", "klassetrin", "dato", "parat",
                    "områder"]
REFERRAL_HEADER = ["cpr", "anonymous", "record_id", "service", "date",
                   "stage", "consent", "consent_scope", "consent_expires"]

# The adapters run as the rules hub's agencies (hubtest.RULE_AGENCIES).
ADAPTER_AGENCY = {"school": "school-a", "college": "college-a",
                  "addiction": "addiction-a", "youthunit": "youth-a"}

_files = [0]


def import_rows(hub, adapter, header, rows, events=None):
    """Write rows as a fresh export and import it with adapter-<adapter>;
    every row must become an event the hub accepts (exit 0, nothing
    rejected, nothing pending). Returns the summary."""
    _files[0] += 1
    path, _ = write_export(hub, f"{_files[0]:02d}-{adapter}.csv", header,
                           [(r, None) for r in rows])
    result = run_adapter(hub, adapter, "import", path,
                         agency=ADAPTER_AGENCY[adapter])
    s = result.summary
    assert result.rc == 0 and s is not None, str(result)
    want = len(rows) if events is None else events
    got = {k: s[k] for k in ("rows", "accepted", "rejected_rows",
                             "rejected_by_hub", "pending")}
    assert got == {"rows": len(rows), "accepted": want, "rejected_rows": 0,
                   "rejected_by_hub": 0, "pending": 0}, \
        f"{adapter} summary {got}\n{result}"
    # The hub applies what it stored before any rule is judged.
    hub.wait_applied()
    return s


def summary(alerts):
    return sorted((a["rule"], a["priority"], a["recipient"]) for a in alerts)


def total_alerts(hub):
    return hub.stats()["alerts"]


# ---------------------------------------------------------------- 1


def test_grade8_not_ready_then_absence_climbs(make_hub):
    """A grade-8 pupil assessed not education-ready (UPV, January), whose
    absence then climbs week by week over 10 % of the last 20 school days:
    exactly one readiness alert, to the guidance counsellor (UU-vejleder,
    DOMAIN rule 3), and one absence alert, to the contact person, however
    the absence goes on. The coverage minimum, the
    quarter measure and the combined rule are on, as in production
    (two kinds of signal do not combine)."""
    hub = rules_hub(make_hub, "2027-01-18T08:00:00",
                    rules={"absence.rolling.min_days": "10",
                           "absence.rolling.threshold_pct": "10",
                           "absence.quarter.enabled": "yes",
                           "combined.enabled": "yes",
                           "readiness.grades": "8,9"})
    pupil = CprGen(4001).born("2012-10-03")
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(pupil), "cw-anna", "kontaktperson", "2026-08-10", ""],
        # The UU counsellor receives the readiness alert; everything
        # else follows the contact person (docs/RULES.md).
        [dashed(pupil), "cw-bob", "UU-vejleder", "2026-08-10", ""]])
    assert total_alerts(hub) == 0

    import_rows(hub, "school", READINESS_HEADER, [
        [dashed(pupil), "280017", "8b", "15-01-2027", "ikke parat",
         "faglig, social"]])
    assert total_alerts(hub) == 1
    [a] = hub.peek("cw-bob", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("readiness", "NORMAL", "cw-bob", pupil)
    assert "(areas: academic, social)" in a["explanation"]

    # Weekly unlawful-absence reports, 30 lessons a week (no holiday in
    # 2027-01-18..02-12). 2/30, 2/30: 6.7 %, and under 10 school days at
    # first; then 6/30: 10 of 90 = 11.1 % -> the episode starts; then
    # 5/30: 15 of 120 = 12.5 %, still the same episode (and under the
    # quarter's 15 % notify level: the warn level is used up by the
    # rolling alert of the same report).
    weeks = [("2027-01-18", "2027-01-22", 2, "2027-01-25"),
             ("2027-01-25", "2027-01-29", 2, "2027-02-01"),
             ("2027-02-01", "2027-02-05", 6, "2027-02-08"),
             ("2027-02-08", "2027-02-12", 5, "2027-02-15")]
    expected_total = [1, 1, 2, 2]
    for (start, end, absent, monday), want in zip(weeks, expected_total):
        hub.advance(monday + "T07:30:00")
        import_rows(hub, "school", ABSENCE_HEADER, [
            [dashed(pupil), "280017", start, end, absent, 30, "ulovligt",
             "8b"]])
        hub.settle()
        assert total_alerts(hub) == want, f"after the week of {start}"
    hub.advance("2027-03-01")
    assert total_alerts(hub) == 2

    [absence] = hub.peek("cw-anna", 1)
    assert summary([absence]) == [("absence.rolling", "NORMAL", "cw-anna")]
    assert absence["cpr"] == pupil
    assert "10 of 90 expected lessons absent (11.1 %)" in \
        absence["explanation"], absence["explanation"]
    assert summary(hub.peek("cw-bob", 1)) == [("readiness", "NORMAL",
                                                "cw-bob")]
    hub.peek("desk-dora", 0)


# ---------------------------------------------------------------- 2


def test_eud_dropout_then_fgu_after_40_days(make_hub):
    """The strategy's vocational student (19: no 15-17 legal clocks) drops
    out of EUD on 2026-09-07 and starts at FGU 40 days later: the dropout
    alert at once, the transition-gap alert after day 30 (none on day 29
    or 30), the back-on-track notice at the FGU enrolment: exactly 3."""
    hub = rules_hub(make_hub, "2026-08-20T08:00:00",
                    rules={"combined.enabled": "yes"})
    student = CprGen(4002).born("2007-03-14")
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(student), "cw-anna", "kontaktperson", "2026-01-05", ""]])
    # The college's export in August: the start.
    import_rows(hub, "college", COLLEGE_HEADER, [
        [dashed(student), "eud-vestegnen", "eud-tomrer", "optaget",
         "10-08-2026", "", ""]])
    assert total_alerts(hub) == 0

    # Monday 2026-09-07: the next export repeats the start (sent once)
    # and adds the dropout.
    hub.advance("2026-09-07T08:00:00")
    import_rows(hub, "college", COLLEGE_HEADER, [
        [dashed(student), "eud-vestegnen", "eud-tomrer", "optaget",
         "10-08-2026", "", ""],
        [dashed(student), "eud-vestegnen", "eud-tomrer", "frafald",
         "07-09-2026", "10-08-2026", "FRA-03"]], events=1)
    assert total_alerts(hub) == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("dropout", "HIGH", "cw-anna", student)
    assert "reason FRA-03" in a["explanation"], a["explanation"]

    # Day 29 to its last second, and day 30 (still in time): nothing new.
    hub.advance("2026-10-06T23:59:59")
    assert total_alerts(hub) == 1
    hub.advance("2026-10-07T23:59:59")
    assert total_alerts(hub) == 1
    # Day 31 begins: the gap alert, once.
    hub.advance("2026-10-08T00:00:00")
    assert total_alerts(hub) == 2
    hub.advance("2026-10-16T12:00:00")
    assert total_alerts(hub) == 2

    # 2026-10-17, 40 days after: the FGU's own export.
    hub.advance("2026-10-17T10:00:00")
    import_rows(hub, "college", COLLEGE_HEADER, [
        [dashed(student), "fgu-vestegnen", "fgu-egu", "optaget",
         "17-10-2026", "", ""]])
    assert total_alerts(hub) == 3
    # Nothing further, however long.
    hub.advance("2027-01-31")
    assert total_alerts(hub) == 3

    alerts = hub.peek("cw-anna", 3)
    assert summary(alerts) == [("back_on_track", "LOW", "cw-anna"),
                               ("dropout", "HIGH", "cw-anna"),
                               ("transition_gap", "HIGH", "cw-anna")]
    assert {a["cpr"] for a in alerts} == {student}
    back = next(a for a in alerts if a["rule"] == "back_on_track")
    assert "started fgu-egu at fgu-vestegnen on 2026-10-17 (40 days " \
        "later)" in back["explanation"], back["explanation"]
    hub.peek("desk-dora", 0)
    assert "HUB-DEADLINE" not in hub.log_text()


# ---------------------------------------------------------------- 3


def test_addiction_referral_with_and_without_consent(make_hub):
    """Two referrals from the addiction centre in one export: the youth
    who consented (to sharing referrals) -> one addiction alert to the
    contact person; the youth who did not -> nothing to anyone, not the
    contact person and not the desk, also after the treatment clock has
    run out. Anonymous counselling in the same export: counted only."""
    hub = rules_hub(make_hub, "2026-09-16T08:00:00",
                    rules={"combined.enabled": "yes"})
    gen = CprGen(4003)
    consented, refused = gen.born("2008-04-04"), gen.born("2009-05-05")
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(consented), "cw-anna", "kontaktperson", "2026-01-05", ""],
        [dashed(refused), "cw-bob", "kontaktperson", "2026-01-05", ""]])
    import_rows(hub, "addiction", REFERRAL_HEADER, [
        [dashed(consented), "", "", "rmc-albertslund", "2026-09-14",
         "henvist", "ja", "henvisning", "2027-09-13"],
        [dashed(refused), "", "", "rmc-albertslund", "2026-09-15",
         "henvist", "nej", "", ""],
        ["", "ja", "A-2026-001", "rmc-albertslund", "2026-09-10",
         "henvist", "", "", ""]])
    hub.settle()
    assert total_alerts(hub) == 1
    [a] = hub.peek("cw-anna", 1)
    assert (a["rule"], a["priority"], a["recipient"], a["cpr"]) == \
        ("addiction", "HIGH", "cw-anna", consented)
    hub.peek("cw-bob", 0)
    hub.peek("desk-dora", 0)

    # Past both treatment deadlines (14 days): the consent covers
    # referrals only, not stages, and the other youth gave none, so a
    # missed start reaches nobody either.
    hub.advance("2026-10-05T08:00:00")
    assert total_alerts(hub) == 1
    hub.peek("cw-bob", 0)
    hub.peek("desk-dora", 0)
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"


def test_withdrawal_row_keeping_the_old_scope_and_expiry(make_hub):
    """The centre's clerk records a withdrawal by setting consent to
    "tilbagekaldt" and leaves the scope and expiry of the consent it ends
    in the row. The row is a withdrawal all the same (ADAPTERS.md): it is
    sent, as a correction of the row, with a note naming the column
    (ADP-NOTE), and the hub takes the open addiction alert back at once
    (RULES.md section 4). Refusing the row kept the hub sharing on the
    old "yes" until someone fixed the export."""
    hub = rules_hub(make_hub, "2026-09-16T08:00:00")
    youth = CprGen(4013).born("2008-04-04")
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(youth), "cw-anna", "kontaktperson", "2026-01-05", ""]])
    row = [dashed(youth), "", "", "rmc-albertslund", "2026-09-14",
           "henvist", "ja", "henvisning", "2027-09-13"]
    import_rows(hub, "addiction", REFERRAL_HEADER, [row])
    [a] = hub.peek("cw-anna", 1)
    assert a["rule"] == "addiction"

    row[6] = "tilbagekaldt"
    path, _ = write_export(hub, "withdrawn-stale.csv", REFERRAL_HEADER,
                           [(row, None)])
    r = run_adapter(hub, "addiction", "import", path,
                    agency=ADAPTER_AGENCY["addiction"])
    s = r.summary
    assert (r.rc, s["accepted"], s["corrections"], s["rejected_rows"]) == \
        (0, 1, 1, 0), str(r)
    assert f"ADP-NOTE {path}:2: column consent_scope: consent is no, so " \
        "consent_scope and consent_expires are ignored: sent as a " \
        "withdrawal" in r.stderr, r.stderr
    assert not (path.parent / (path.name + ".rejects.csv")).exists()
    hub.wait_applied()
    [w] = hub.peek("cw-anna", 1)
    assert w["rule"] == "withdrawn"
    assert f"Alert {a['alert_id']} (addiction) is withdrawn: the young " \
        "person withdrew the consent to share it." in w["explanation"]
    assert total_alerts(hub) == 2


# ---------------------------------------------------------------- 4


def test_reassignment_moves_open_alerts(make_hub):
    """A 20-year-old at EUD has two open alerts with contact person
    cw-anna (dropout risk, then dropout). The youth unit's next export
    hands the person to cw-bob from today (a later `from`): cw-bob's inbox holds both alerts, cw-anna's none;
    no new alert is raised."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    rules={"combined.enabled": "yes"})
    youth = CprGen(4004).born("2006-06-21")
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(youth), "cw-anna", "kontaktperson", "2026-01-05", ""]])
    import_rows(hub, "college", COLLEGE_HEADER, [
        [dashed(youth), "eud-vestegnen", "eud-tomrer", "frafaldstruet",
         "02-09-2026", "", "ABS"],
        [dashed(youth), "eud-vestegnen", "eud-tomrer", "frafald",
         "07-09-2026", "10-08-2026", "FRA-03"]])
    assert total_alerts(hub) == 2
    before = hub.peek("cw-anna", 2)
    assert summary(before) == [("dropout", "HIGH", "cw-anna"),
                               ("dropout_risk", "NORMAL", "cw-anna")]
    hub.peek("cw-bob", 0)

    hub.advance("2026-09-10T09:00:00")
    # (Only the new row: with the old row's `to` filled in as well, the
    # two events may be applied in one loop turn or in two, and in the
    # latter case the alerts pass through the duty desk on the way -
    # timing-dependent, see the report.)
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(youth), "cw-bob", "kontaktperson", "2026-09-10", ""]])
    hub.settle()
    after = hub.peek("cw-bob", 2)
    assert summary(after) == [("dropout", "HIGH", "cw-bob"),
                              ("dropout_risk", "NORMAL", "cw-bob")]
    assert {a["alert_id"] for a in after} == \
        {a["alert_id"] for a in before}
    hub.peek("cw-anna", 0)
    hub.peek("desk-dora", 0)
    assert total_alerts(hub) == 2
    moved = re.findall(r"HUB-REROUTE alert (\w+) moved to ([\w.-]+)",
                       hub.log_text())
    assert sorted(moved) == sorted((a["alert_id"], "cw-bob")
                                   for a in before), moved


# ---------------------------------------------------------------- 5


def test_unacknowledged_dropout_escalates_to_desk(make_hub):
    """An 18+ youth's dropout alert (HIGH) is not acknowledged by the
    contact person within ack.high_hours (24 office hours: from Monday
    10:00 Danish time to Thursday 10:00): it stays with the contact person,
    who remains responsible, and the duty desk gets a notice of it, which
    every member sees (desk-dora, registered with --desk, and cw-lead,
    named by the youth unit's desk export). No team lead is configured, so
    nothing climbs further."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"ack.high_hours": "24",
                           "combined.enabled": "yes"})
    youth = CprGen(4005).born("2005-12-01")
    import_rows(hub, "youthunit", DESK_HEADER, [
        ["duty-desk", "cw-lead", "01-08-2026", "", "nej"]])
    import_rows(hub, "youthunit", ASSIGN_HEADER, [
        [dashed(youth), "cw-anna", "kontaktperson", "2026-01-05", ""]])
    import_rows(hub, "college", COLLEGE_HEADER, [
        [dashed(youth), "eud-vestegnen", "eud-smed", "frafald",
         "07-09-2026", "10-08-2026", ""]])
    assert total_alerts(hub) == 1
    [a] = hub.peek("cw-anna", 1)
    alert_id = a["alert_id"]
    assert (a["rule"], a["priority"], a["recipient"]) == \
        ("dropout", "HIGH", "cw-anna")
    hub.peek("desk-dora", 0)
    hub.peek("cw-lead", 0)

    # One second before the 24 office hours: nothing at the desk.
    hub.advance("2026-09-10T07:59:59")
    hub.peek("desk-dora", 0)
    [a] = hub.peek("cw-anna", 1)
    assert a["alert_id"] == alert_id

    hub.advance("2026-09-10T08:00:00")
    for member in ("desk-dora", "cw-lead"):
        [n] = hub.peek(member, 1)
        assert (n["rule"], n["priority"], n["recipient"], n["cpr"]) == \
            ("escalation", "HIGH", "duty-desk", youth), member
        assert n["alert_id"][:16] == alert_id[:16]
        assert n["title"].startswith("Overdue with cw-anna: ")
    [a] = hub.peek("cw-anna", 1)
    assert (a["alert_id"], a["recipient"]) == (alert_id, "cw-anna")
    st = hub.stats()
    assert (st["alerts"], st["alerts_open"]) == (2, 2)
    assert re.findall(r"HUB-ESCALATE alert (\w+) not acknowledged in "
                      r"time; notice \w+ to ([\w.-]+)", hub.log_text()) == \
        [(alert_id, "duty-desk")]

    # Another 24 office hours: no team lead anywhere, so nothing more.
    hub.advance("2026-09-16T12:00:00")
    assert total_alerts(hub) == 2
