"""adapter-youthunit against a real hub: contact-person assignments and
duty-desk memberships in one run, each file's kind found from its header;
good rows are stored as ContactAssignment (with a CPR) and DeskMembership
(organisational, no CPR) events, hostile rows are rejected with the
file's column and a reason, a repeated row is stored once. A reassignment
(a later `from`) routes the young person's next alert to the new
caseworker; an end date filled in later corrects the assignment; a youth
unit registered without desk has its desk rows refused by the hub."""

import re

from agencytest import Bad, Dup, Ok, check_run, run_adapter, stored, \
    write_export
from hubtest import EXIT_ROWS_REJECTED, CprGen, dashed, envelope, frame, \
    IngestClient, ACCEPTED

AGENCY = "youth-a"
ASSIGN_HEADER = ["cpr", "caseworker", "role", "from", "to"]
DESK_HEADER = ["Vagtfunktion", "Sagsbehandler", "Fra", "Til", "Teamleder"]
CA, DM = "ContactAssignment", "DeskMembership"
CASEWORKERS = {"cw-anna": False, "cw-bo": False, "desk-dora": True}


def test_assignments_desk_and_reassignment(make_hub):
    hub = make_hub(agencies={AGENCY: "assignment,desk",
                             "school-a": "absence"},
                   caseworkers=CASEWORKERS)
    p = CprGen(1501).take(10)
    assignments = [
        ([p[0], "cw-anna", "", "2024-01-01", ""], Ok(CA)),
        ([dashed(p[1]), "cw-anna", "UU-vejleder", "01-01-2024", ""], Ok(CA)),
        ([p[2], "cw-bo", "kontaktperson", "2024-02-01", "31.12.2024"],
         Ok(CA)),
        # p[0] handed over to cw-bo: a later `from`.
        ([p[0], "cw-bo", "contact", "2024-06-01", ""], Ok(CA)),
        # Hostile rows.
        ([p[3], "cw-anna", "", "2024-06-31", ""],
         Bad("from", "from is not a date")),
        ([p[4][:2] + "13" + p[4][4:], "cw-anna", "", "2024-01-01", ""],
         Bad("cpr", "cpr is not a CPR number")),
        ([p[5], "cw-anna", "chef", "2024-01-01", ""],
         Bad("role", "role must be contact, guidance or mentor")),
        ([p[6], "", "", "2024-01-01", ""],
         Bad("caseworker", "caseworker is empty")),
        ([p[7], "Anna Berg", "", "2024-01-01", ""],
         Bad("caseworker", "caseworker must be an id as registered")),
        ([p[8], "cw-anna", "", "2024-03-01", "2024-02-28"],
         Bad("to", "to 2024-02-28 is before from 2024-03-01")),
        ([p[9], p[9], "", "2024-03-01", ""],
         Bad("caseworker", "caseworker looks like a CPR number")),
        ([dashed(p[1]), "cw-anna", "UU-vejleder", "01-01-2024", ""], Dup()),
    ]
    desk = [
        (["duty-desk", "desk-dora", "01-08-2023", "", "ja"], Ok(DM, False)),
        (["duty-desk", "cw-anna", "01-08-2023", "31-12-2023", "nej"],
         Ok(DM, False)),
        # Not the hub's routing.desk: stored all the same.
        (["ungevagt-nord", "cw-bo", "01-08-2023", "", ""], Ok(DM, False)),
        (["duty desk", "desk-dora", "01-08-2023", "", ""],
         Bad("Vagtfunktion", "desk must be an id as registered")),
        (["duty-desk", "desk-dora", "01-08-2023", "", "m\u00e5ske"],
         Bad("Teamleder", "team_lead must be yes or no")),
        (["duty-desk", "", "01-08-2023", "", ""],
         Bad("Sagsbehandler", "caseworker is empty")),
        (["duty-desk", "cw-bo", "01-08-2023", "31-07-2023", ""],
         Bad("Til", "to 2023-07-31 is before from 2023-08-01")),
        (["duty-desk", "desk-dora", "2023-08-01", "", "ja"], Dup()),
    ]
    a_path, a_rows = write_export(hub, "kontaktpersoner.csv", ASSIGN_HEADER,
                                  assignments)
    d_path, d_rows = write_export(hub, "vagt.csv", DESK_HEADER, desk,
                                  eol="\r\n", bom=True)
    r = run_adapter(hub, "youthunit", "import", a_path, d_path,
                    agency=AGENCY)
    events = check_run(hub, r, [(a_path, a_rows), (d_path, d_rows)], AGENCY)
    assert len(events) == 7
    # p[0] and p[2] (contact persons) and p[1]'s guidance counsellor
    # (UU-vejleder), who receives readiness alerts.
    assert hub.stats()["assignments"] == 3

    # An alert for p[0] goes to the caseworker of the later assignment.
    hub.cprs.add(p[0])
    with IngestClient(hub, "school-a") as c:
        ack = c.ack_for(frame(envelope("school-a", p[0], salt=1501,
                                       absent=40, expected=100)))
        assert ack.status == ACCEPTED, ack
    rc, alerts, err = hub.inbox("cw-bo", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    assert [(a["cpr"], a["recipient"]) for a in alerts] == \
        [(p[0], "cw-bo")], alerts
    rc, alerts, err = hub.inbox("cw-anna", idle_exit=1)
    assert (rc, alerts) == (0, []), err

    # The next export ends p[2]'s assignment earlier: the same assignment
    # corrected (it supersedes the stored one), nothing else new.
    later = [(f, lab) for f, lab in assignments if isinstance(lab, Ok)]
    later[2] = ([p[2], "cw-bo", "kontaktperson", "2024-02-01",
                 "2024-09-30"], Ok(CA))
    path2, _ = write_export(hub, "kontaktpersoner-2.csv", ASSIGN_HEADER,
                            later)
    r2 = run_adapter(hub, "youthunit", "import", path2, agency=AGENCY)
    assert r2.rc == 0, str(r2)
    assert (r2.summary["accepted"], r2.summary["corrections"],
            r2.summary["duplicates"]) == (1, 1, 3), str(r2)
    fixed = [e for e in stored(hub) if e["supersedes"]]
    assert len(fixed) == 1 and fixed[0]["type"] == CA
    assert hub.stats()["assignments"] == 3
    hub.sweep()


def test_desk_not_registered_is_refused_by_the_hub(make_hub):
    hub = make_hub(agencies={AGENCY: "assignment"}, caseworkers=CASEWORKERS)
    p = CprGen(1502).take(1)
    a_path, _ = write_export(hub, "a.csv", ASSIGN_HEADER,
                             [([p[0], "cw-anna", "", "2024-01-01", ""],
                               None)])
    d_path, _ = write_export(hub, "d.csv", DESK_HEADER,
                             [(["duty-desk", "desk-dora", "2024-01-01", "",
                                "ja"], None)])
    r = run_adapter(hub, "youthunit", "import", a_path, d_path,
                    agency=AGENCY)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["accepted"], r.summary["rejected_by_hub"],
            r.summary["pending"]) == (1, 1, 0), str(r)
    assert len(re.findall(r"\b[0-9a-f]{32}\b.*E_DENIED", r.stderr)) == 1
    assert [e["type"] for e in stored(hub)] == [CA]
    hub.sweep()


def test_a_caseworker_the_hub_has_not_registered_yet(make_hub):
    """docs/ADAPTERS.md: the adapter checks a caseworker id for its form
    only; the hub takes an assignment (and a desk membership) naming an
    id it has not registered yet, so the row is neither a rejected row
    nor refused by the hub."""
    hub = make_hub(agencies={AGENCY: "assignment,desk"},
                   caseworkers=CASEWORKERS)
    [cpr] = CprGen(1503).take(1)
    a_path, a_rows = write_export(hub, "ny.csv", ASSIGN_HEADER,
                                  [([cpr, "cw-ny", "", "2024-01-01", ""],
                                    Ok(CA))])
    d_path, d_rows = write_export(hub, "ny-vagt.csv", DESK_HEADER,
                                  [(["duty-desk", "cw-ny", "01-01-2024",
                                     "", ""], Ok(DM, False))])
    r = run_adapter(hub, "youthunit", "import", a_path, d_path,
                    agency=AGENCY)
    check_run(hub, r, [(a_path, a_rows), (d_path, d_rows)], AGENCY)
    hub.sweep()


def test_what_hubctl_assign_file_refuses_the_adapter_takes(make_hub):
    """docs/ADAPTERS.md, adapter-youthunit: `hubctl assign --file` reads
    the file with the adapter's parser (its role words, its date forms,
    9999-12-31 as an open end) but takes registered caseworkers only;
    the adapter takes every one of those rows."""
    hub = make_hub(agencies={AGENCY: "assignment"}, caseworkers=CASEWORKERS)
    p = CprGen(1504).take(4)
    rows = [
        ([p[0], "cw-anna", "contact", "2024-01-01", ""], Ok(CA)),
        ([p[1], "cw-anna", "kontaktperson", "2024-01-01", ""], Ok(CA)),
        ([p[2], "cw-anna", "contact", "01-01-2024", ""], Ok(CA)),
        ([p[3], "cw-anna", "contact", "2024-01-01", "9999-12-31"], Ok(CA)),
        ([p[3], "cw-ny", "guidance", "2024-01-01", ""], Ok(CA)),
    ]
    path, labelled = write_export(hub, "tildeling.csv", ASSIGN_HEADER, rows)
    h = hub.hubctl("assign", "--file", str(path), check=False)
    assert h.returncode == 1, h.stdout + h.stderr
    assert "assignments: 4 new, 0 already known, 1 rejected" in h.stdout
    refused = dict(re.findall(r"^%s:(\d+): (column \w+: .*)$"
                              % re.escape(str(path)), h.stderr, re.M))
    assert refused.keys() == {"6"}, h.stderr
    assert refused["6"].startswith("column caseworker: the caseworker is "
                                   "not registered")
    before = stored(hub)
    r = run_adapter(hub, "youthunit", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY, before=before)
    hub.sweep()


def test_a_role_put_right_is_another_assignment_until_ended(make_hub):
    """docs/ADAPTERS.md: the role is part of an assignment's key, so a
    contact person corrected to mentor is a second assignment, the first
    staying in force; exported again with its `to`, the first is
    corrected (ended)."""
    hub = make_hub(agencies={AGENCY: "assignment"}, caseworkers=CASEWORKERS)
    [cpr] = CprGen(1505).take(1)
    runs = [(["cw-anna", "kontaktperson", "2024-01-01", ""], (1, 0)),
            (["cw-anna", "mentor", "2024-01-01", ""], (1, 0)),
            (["cw-anna", "kontaktperson", "2024-01-01", "2024-01-01"],
             (1, 1))]
    for i, (values, (queued, corrections)) in enumerate(runs):
        path, _ = write_export(hub, f"tildeling-{i}.csv", ASSIGN_HEADER,
                               [([cpr] + values, None)])
        r = run_adapter(hub, "youthunit", "import", path, agency=AGENCY)
        assert (r.rc, r.summary["queued"], r.summary["corrections"]) == \
            (0, queued, corrections), str(r)
    events = stored(hub)
    assert [e["type"] for e in events] == [CA] * 3
    assert events[2]["supersedes"] == events[0]["event_id"]
    hub.sweep()


def test_a_desk_from_put_right_is_another_period_until_ended(make_hub):
    """docs/ADAPTERS.md, kind desk: team_lead and to are values (a
    correction); a from put right is another period, the first one
    ended by its row again with a to."""
    hub = make_hub(agencies={AGENCY: "desk"}, caseworkers=CASEWORKERS)
    runs = [(["duty-desk", "cw-bo", "01-08-2024", "", ""], (1, 0)),
            (["duty-desk", "cw-bo", "01-08-2024", "", "ja"], (1, 1)),
            (["duty-desk", "cw-bo", "01-09-2024", "", "ja"], (1, 0)),
            (["duty-desk", "cw-bo", "01-08-2024", "01-08-2024", "ja"],
             (1, 1))]
    for i, (values, (queued, corrections)) in enumerate(runs):
        path, _ = write_export(hub, f"vagt-{i}.csv", DESK_HEADER,
                               [(values, None)])
        r = run_adapter(hub, "youthunit", "import", path, agency=AGENCY)
        assert (r.rc, r.summary["queued"], r.summary["corrections"]) == \
            (0, queued, corrections), str(r)
    assert [e["type"] for e in stored(hub)] == [DM] * 4
    hub.sweep()


def test_an_assignment_export_with_a_team_column_is_assignments(make_hub):
    """docs/ADAPTERS.md, "The kind of a file": a header with a CPR column
    that also fits the duty desk's kind through its alias `team` is read
    as assignments (the kind that reads a CPR), `Team` a column the kind
    does not know; a desk file without a CPR column is still the desk's."""
    hub = make_hub(agencies={AGENCY: "assignment,desk"},
                   caseworkers=CASEWORKERS)
    [cpr] = CprGen(1507).take(1)
    path, _ = write_export(hub, "kontaktpersoner-team.csv",
                           ["CPR", "Sagsbehandler", "Team", "Fra", "Til"],
                           [([cpr, "cw-anna", "nord", "2024-01-01", ""],
                             None)])
    r = run_adapter(hub, "youthunit", "import", path, agency=AGENCY)
    assert r.rc == 3 and "fit two kinds" not in r.stderr, str(r)
    assert "unknown column for assignment: Team" in r.stderr, \
        r.stderr
    r = run_adapter(hub, "youthunit", "import", path, agency=AGENCY,
                    ignore_columns="Team")
    assert r.rc == 0, str(r)
    assert [e["type"] for e in stored(hub)] == [CA]
    d_path, _ = write_export(hub, "vagt-team.csv",
                             ["Team", "Sagsbehandler", "Fra", "Til"],
                             [(["duty-desk", "desk-dora", "2024-01-01", ""],
                               None)])
    r = run_adapter(hub, "youthunit", "import", d_path, agency=AGENCY)
    assert r.rc == 0, str(r)
    assert [e["type"] for e in stored(hub)] == [CA, DM]
    hub.sweep()


def test_hubctl_assign_stands_until_the_export_changes_the_row(make_hub):
    """docs/OPERATIONS.md, "Contact persons": hubctl assign and the youth
    unit's rows make one history per person and role, the one received
    last for a `from` wins; the adapter sends a row only when it changed,
    so the same export run again leaves hubctl's assignment in force."""
    from hubtest import RULE_AGENCIES, RULE_CASEWORKERS, ev_dropout_risk
    hub = make_hub(agencies=RULE_AGENCIES, caseworkers=RULE_CASEWORKERS,
                   clock="2026-09-07T08:00:00")
    [cpr] = CprGen(1508).take(1)
    hub.cprs.add(cpr)
    path, _ = write_export(hub, "tildeling.csv", ASSIGN_HEADER,
                           [([cpr, "cw-anna", "kontaktperson",
                              "2026-09-01", ""], Ok(CA))])
    assert run_adapter(hub, "youthunit", "import", path,
                       agency="youth-a").summary["accepted"] == 1
    hub.hubctl("assign", "--cpr", cpr, "--caseworker", "cw-bob", "--from",
               "2026-09-01")
    r = run_adapter(hub, "youthunit", "import", path, agency="youth-a")
    assert (r.summary["accepted"], r.summary["duplicates"]) == (0, 1)
    hub.send(ev_dropout_risk(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    assert hub.peek("cw-bob", 1)[0]["recipient"] == "cw-bob"
    hub.sweep()
