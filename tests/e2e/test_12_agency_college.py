"""adapter-college against a real hub: one student status export holds
starts, completions, transfers, dropouts and dropout risks (English and
Danish status words); good rows are stored as Enrolment, Dropout and
DropoutRisk events, hostile rows are rejected with the file's column and
a reason, a repeated row is stored once; and the hub refuses, as
rejected by hub (E_DENIED), the event types a college is not registered
for."""

import re

from agencytest import Bad, Dup, Ok, check_run, run_adapter, stored, \
    write_export
from hubtest import EXIT_ROWS_REJECTED, CprGen, dashed

AGENCY = "college-a"
HEADER = ["cpr", "institution", "programme", "status", "date", "start",
          "reason"]


def test_status_export(make_hub):
    hub = make_hub(agencies={AGENCY: "enrolment,dropout,dropout_risk"})
    p = CprGen(1201).take(14)
    en, do, dr = "Enrolment", "Dropout", "DropoutRisk"
    rows = [
        ([p[0], "751021", "eud-smed", "start", "2024-08-12", "", ""],
         Ok(en)),
        ([dashed(p[1]), "751021", "stx", "Optaget", "12-08-2024", "", ""],
         Ok(en)),
        ([p[2], "751021", "hhx", "completed", "2024-06-21", "2021-08-09",
          ""], Ok(en)),
        ([p[3], "751021", "eud-smed", "Overflyttet", "30.09.2024",
          "12.08.2024", ""], Ok(en)),
        ([p[4], "751021", "eud-smed", "dropped_out", "2024-10-04",
          "2024-08-12", "FRA-03"], Ok(do)),
        ([p[5], "751021", "stx", "Frafald", "04-10-2024", "", ""], Ok(do)),
        ([p[6], "751021", "eud-smed", "risk", "2024-09-20", "", "ABS"],
         Ok(dr)),
        ([p[7], "751021", "stx", "frafaldstruet", "2024-09-20", "", ""],
         Ok(dr)),
        # Hostile rows.
        ([p[8], "751021", "stx", "start", "2024-09-31", "", ""],
         Bad("date", "date is not a date")),
        ([p[9][:2] + "00" + p[9][4:], "751021", "stx", "start",
          "2024-08-12", "", ""], Bad("cpr", "cpr is not a CPR number")),
        ([p[10], "751021", "stx", "pause", "2024-08-12", "", ""],
         Bad("status", "status must be start, completed, transferred")),
        ([p[11], "751021", "", "start", "2024-08-12", "", ""],
         Bad("programme", "programme is empty")),
        ([p[12], "751021", "stx", "completed", "2024-06-21", "", ""],
         Bad("start", "start is empty; a completed row needs")),
        ([p[13], "751021", "stx", "frafald", "2024-08-01", "2024-08-12",
          ""], Bad("date", "date 2024-08-01 is before start 2024-08-12")),
        ([p[13], "751021", "stx", "frafald", "2024-10-01", "",
          "ikke motiveret"], Bad("reason", "reason must be a code")),
        ([p[0], "", "eud-smed", "start", "2024-08-12", "", ""],
         Bad("institution", "institution is empty")),
        ([p[4], "751021", "eud-smed", "dropped_out", "2024-10-04",
          "2024-08-12", "FRA-03"], Dup()),
        # FGU takes the dropout back in: a start at another institution.
        ([p[4], "fgu-vest", "fgu-agu", "start", "2024-10-21", "", ""],
         Ok(en)),
    ]
    path, labelled = write_export(hub, "status.csv", HEADER, rows, sep=",",
                                  eol="\r\n")
    r = run_adapter(hub, "college", "import", path, agency=AGENCY)
    events = check_run(hub, r, [(path, labelled)], AGENCY)
    assert len(events) == 9

    # The rejects file, the bad reason code fixed, imports again with its
    # own columns ignored, though it has two reason columns (its own
    # first): the row is sent, the others are rejected again.
    rejects = path.parent / "status.csv.rejects.csv"
    fixed = hub.inputs_dir / "status-fixed.csv"
    fixed.write_text(rejects.read_text(encoding="utf-8-sig").replace(
        "ikke motiveret", "FRA-07"), encoding="utf-8")
    r = run_adapter(hub, "college", "import", fixed, agency=AGENCY,
                    ignore_columns="line,column,reason")
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    assert (r.summary["queued"], r.summary["rejected_rows"]) == (1, 7), str(r)
    [redone] = [e for e in stored(hub) if e not in events]
    assert redone["type"] == "Dropout"
    events.append(redone)

    # A later export: the completion corrected to a transfer (same
    # enrolment, another value) supersedes the event the hub holds; the
    # rest is as before and sends nothing.
    later = [(f, lab) for f, lab in rows if not isinstance(lab, (Bad, Dup))]
    later[2] = ([p[2], "751021", "hhx", "transferred", "2024-06-21",
                 "2021-08-09", ""], Ok(en))
    path2, _ = write_export(hub, "status-2.csv", HEADER, later)
    r2 = run_adapter(hub, "college", "import", path2, agency=AGENCY)
    assert r2.rc == 0, str(r2)
    assert (r2.summary["accepted"], r2.summary["corrections"],
            r2.summary["duplicates"]) == (1, 1, 8), str(r2)
    after = stored(hub)
    assert len(after) == 11
    fixed = [e for e in after if e["supersedes"]]
    assert len(fixed) == 1 and fixed[0]["type"] == en
    assert fixed[0]["supersedes"] in {e["event_id"] for e in events}
    hub.sweep()


def test_type_not_registered_is_refused_by_the_hub(make_hub):
    """Registered without dropout: the hub answers E_DENIED for each
    dropout; the adapter counts them as rejected by hub and drops them;
    the store holds only the rest."""
    hub = make_hub(agencies={AGENCY: "enrolment,dropout_risk"})
    p = CprGen(1202).take(5)
    rows = [
        ([p[0], "751021", "stx", "start", "2024-08-12", "", ""],
         Ok("Enrolment")),
        ([p[1], "751021", "stx", "start", "2024-08-12", "", ""],
         Ok("Enrolment")),
        ([p[2], "751021", "stx", "frafald", "2024-10-04", "", ""], None),
        ([p[3], "751021", "stx", "dropped_out", "2024-10-11", "", ""],
         None),
        ([p[4], "751021", "stx", "risk", "2024-09-20", "", ""],
         Ok("DropoutRisk")),
    ]
    path, _ = write_export(hub, "status.csv", HEADER, rows)
    r = run_adapter(hub, "college", "import", path, agency=AGENCY)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    s = r.summary
    assert (s["rows"], s["events"], s["accepted"], s["rejected_rows"],
            s["rejected_by_hub"], s["pending"]) == (5, 5, 3, 0, 2, 0), str(r)
    denied = set(re.findall(r"\b([0-9a-f]{32})\b.*E_DENIED", r.stderr))
    assert len(denied) == 2, r.stderr
    events = stored(hub)
    assert sorted(e["type"] for e in events) == \
        ["DropoutRisk", "Enrolment", "Enrolment"]
    assert not denied & {e["event_id"] for e in events}
    assert hub.stats()["log_events"] == 3
    hub.sweep()


def test_cpr_in_institution_or_programme_is_refused(make_hub):
    """A CPR in the institution or programme column (a column mix-up) is
    refused, never sent as a name the hub's reports show."""
    hub = make_hub(agencies={AGENCY: "enrolment,dropout,dropout_risk"})
    p = CprGen(1203).take(5)
    rows = [
        ([p[0], "751021", "stx", "start", "2024-08-12", "", ""],
         Ok("Enrolment")),
        ([p[1], p[3], "stx", "frafald", "2024-10-04", "", ""],
         Bad("institution", "institution looks like a CPR number")),
        ([p[2], "751021", dashed(p[3]), "risk", "2024-10-04", "", ""],
         Bad("programme", "programme looks like a CPR number")),
        # Within a name, too (ADAPTERS.md, Names).
        ([p[4], "751021", "stx " + dashed(p[3]), "risk", "2024-10-04", "",
          ""], Bad("programme", "programme holds a CPR number; it must be "
                   "an id or a name, never a person's number")),
    ]
    path, labelled = write_export(hub, "status-cpr.csv", HEADER, rows)
    r = run_adapter(hub, "college", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()


def test_a_row_needing_a_column_the_file_lacks(make_hub):
    """An export without the optional start column: its start rows go
    through, a completed row (which needs the start) is refused with a
    reason that says the column is missing, not just the cell empty."""
    hub = make_hub(agencies={AGENCY: "enrolment,dropout,dropout_risk"})
    p = CprGen(1204).take(2)
    rows = [
        ([p[0], "751021", "stx", "start", "2024-08-12"], Ok("Enrolment")),
        ([p[1], "751021", "stx", "completed", "2024-06-21"],
         Bad("start", "start is empty; a completed row needs the day the "
                      "enrolment started (the file has no start column)")),
    ]
    path, labelled = write_export(
        hub, "status-nostart.csv",
        ["cpr", "institution", "programme", "status", "date"], rows)
    r = run_adapter(hub, "college", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()


def test_rejects_file_imported_as_it_is_names_its_unknown_columns(make_hub):
    """A college's rejects file has its own reason column before the
    export's: imported (or dropped for watch) without ignore_columns it is
    refused for what a rejects file has that no export has, "unknown
    columns ... line, column" (ADAPTERS.md, "Running unattended"), not
    for two reason columns; with the documented --ignore_columns
    line,column,reason its corrected row goes through."""
    hub = make_hub(agencies={AGENCY: "enrolment,dropout,dropout_risk"})
    [p] = CprGen(1205).take(1)
    rows = [([p, "751021", "stx", "frafald", "2024-10-01", "", "FRA 03"],
             Bad("reason", "reason must be a code"))]
    path, _ = write_export(hub, "status.csv", HEADER, rows)
    r = run_adapter(hub, "college", "import", path, agency=AGENCY)
    assert r.rc == EXIT_ROWS_REJECTED, str(r)
    rejects = path.parent / "status.csv.rejects.csv"
    fixed = hub.inputs_dir / "status-fixed.csv"
    fixed.write_text(rejects.read_text(encoding="utf-8-sig")
                     .replace(";FRA 03", ";FRA-03"), encoding="utf-8")
    r = run_adapter(hub, "college", "import", fixed, agency=AGENCY)
    assert r.rc == 3, str(r)
    assert f"{fixed}:1: unknown columns for status: line, column (list " \
        "in ignore_columns what may be left out)" in r.stderr, r.stderr
    r = run_adapter(hub, "college", "import", fixed, agency=AGENCY,
                    ignore_columns="line,column,reason")
    assert (r.rc, r.summary["queued"]) == (0, 1), str(r)
    assert [e["type"] for e in stored(hub)] == ["Dropout"]
    hub.sweep()


def test_rejects_file_of_an_export_without_a_reason_column(make_hub):
    """An export without the optional reason column: its rejects file's
    only reason is the rejects file's own, and the documented
    --ignore_columns line,column,reason leaves it unread, as it does
    file,line,column,reason of a run-wide rejects file, instead of
    reading the reason text as the dropout's reason code."""
    hub = make_hub(agencies={AGENCY: "enrolment,dropout,dropout_risk"})
    p = CprGen(1206).take(2)
    header = HEADER[:-1]
    rows = [([p[0], "751021", "stx", "frafald", "2024-10-32", "2024-08-12"],
             Bad("date", "date is not a date")),
            ([p[1], "751021", "stx", "start", "2024-08-12", ""],
             Ok("Enrolment"))]
    path, labelled = write_export(hub, "status.csv", header, rows)
    r = run_adapter(hub, "college", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    fixed = hub.inputs_dir / "status-fixed.csv"
    fixed.write_text((path.parent / "status.csv.rejects.csv").read_text(
        encoding="utf-8-sig").replace("2024-10-32", "2024-10-31"),
        encoding="utf-8")
    r = run_adapter(hub, "college", "import", fixed, agency=AGENCY,
                    ignore_columns="line,column,reason")
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (0, 1, 0), str(r)
    assert f"{fixed}: ignoring column(s) line, column, reason\n" in \
        r.stderr, r.stderr
    assert sorted(e["type"] for e in stored(hub)) == ["Dropout",
                                                      "Enrolment"]

    # The same with the rejects setting's run-wide file.
    more = [([p[0], "751021", "stx", "risk", "2024-09-32", "2024-08-12"],
             None)]
    path2, _ = write_export(hub, "status-2.csv", header, more)
    run_wide = hub.inputs_dir / "afviste.csv"
    r = run_adapter(hub, "college", "import", path2, agency=AGENCY,
                    rejects=run_wide)
    assert (r.rc, r.summary["rejected_rows"]) == (1, 1), str(r)
    fixed2 = hub.inputs_dir / "afviste-fixed.csv"
    fixed2.write_text(run_wide.read_text(encoding="utf-8-sig").replace(
        "2024-09-32", "2024-09-30"), encoding="utf-8")
    r = run_adapter(hub, "college", "import", fixed2, agency=AGENCY,
                    ignore_columns="file,line,column,reason")
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (0, 1, 0), str(r)
    assert sorted(e["type"] for e in stored(hub)) == \
        ["Dropout", "DropoutRisk", "Enrolment"]
    hub.sweep()


def test_a_dropout_put_right_on_another_day_is_a_second_dropout(make_hub):
    """docs/ADAPTERS.md: a dropout is known by (institution, CPR,
    programme, date): its reason code corrected is a correction, its date
    corrected is a second Dropout, the first staying in the hub."""
    hub = make_hub(agencies={AGENCY: "enrolment,dropout,dropout_risk"})
    [cpr] = CprGen(1206).take(1)
    runs = [("2024-10-04", "FRA-03", (1, 0)),
            ("2024-10-04", "FRA-07", (1, 1)),
            ("2024-10-11", "FRA-07", (1, 0))]
    for i, (date, reason, (queued, corrections)) in enumerate(runs):
        path, _ = write_export(hub, f"frafald-{i}.csv", HEADER,
                               [([cpr, "751021", "stx", "frafald", date, "",
                                  reason], None)])
        r = run_adapter(hub, "college", "import", path, agency=AGENCY)
        assert (r.rc, r.summary["queued"], r.summary["corrections"]) == \
            (0, queued, corrections), str(r)
    events = stored(hub)
    assert [e["type"] for e in events] == ["Dropout"] * 3
    assert [bool(e["supersedes"]) for e in events] == [False, True, False]
    hub.sweep()
