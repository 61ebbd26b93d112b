"""adapter-school's readiness and leaving kinds against a real hub: one run
imports a readiness export (English header, ';', LF) and a leaving export
(Danish header and values, BOM, CRLF), each file's kind found from its
header; good rows are stored as ReadinessAssessment and SchoolLeaving
events, hostile rows (bad date, bad CPR, unknown value, missing field,
out-of-range grade, contradictions) are rejected with the file's column
and a reason, a repeated row is stored once. Absence is
test_06_adapter's."""

from agencytest import Bad, Dup, Ok, check_run, run_adapter, stored, \
    write_export
from hubtest import ROOT, CprGen, dashed

AGENCY = "school-a"
TYPES = "absence,readiness,school_leaving"


def test_readiness_and_leaving(make_hub):
    hub = make_hub(agencies={AGENCY: TYPES})
    p = CprGen(1101).take(12)
    ra = "ReadinessAssessment"
    readiness = [
        ([dashed(p[0]), "280017", "8a", "2024-01-15", "ikke parat",
          "faglig, social"], Ok(ra)),
        ([p[1], "280017", "9", "15-01-2024", "parat", ""], Ok(ra)),
        ([p[2], "280017", "10 x", "15.01.2024", "no", "personal"], Ok(ra)),
        ([p[3], "280017", "8b", "2024-02-30", "no", "faglig"],
         Bad("date", "date is not a date")),
        ([p[4][:2] + "13" + p[4][4:], "280017", "8b", "2024-01-15", "no",
          "faglig"], Bad("cpr", "cpr is not a CPR number")),
        ([p[5], "280017", "8b", "2024-01-15", "m\u00e5ske", "faglig"],
         Bad("ready", "ready must be yes or no")),
        ([p[6], "", "8b", "2024-01-15", "no", "faglig"],
         Bad("school", "school is empty")),
        ([p[7], "280017", "6", "2024-01-15", "no", "faglig"],
         Bad("grade", "grade 6 is not from 7 to 10")),
        ([p[8], "280017", "9", "2024-01-15", "parat", "social"],
         Bad("areas", "areas must be empty when ready is yes")),
        ([p[9], "280017", "9", "2024-01-15", "nej", "sproglig"],
         Bad("areas", "areas must be a list of academic, personal, "
                      "social")),
        ([dashed(p[0]), "280017", "8a", "2024-01-15", "ikke parat",
          "faglig, social"], Dup()),
        ([p[10], "280017", "9", "2024-01-15", "nej", "faglig/personlig"],
         Ok(ra)),
    ]
    r_path, r_rows = write_export(
        hub, "upv.csv", ["cpr", "school", "grade", "date", "ready", "areas"],
        readiness)
    sl = "SchoolLeaving"
    leaving = [
        ([p[0], "280017", "9", "26-06-2024", "afgang"], Ok(sl)),
        ([dashed(p[11]), "280017", "10", "2024-06-26", "Udmeldt"], Ok(sl)),
        ([p[1], "280017", "8", "26-06-2024", "afgang"],
         Bad("Klassetrin", "grade 8 is not 9 or 10")),
        ([p[2], "280017", "10", "26-06-2024", "flyttet"],
         Bad("Afgangstype", "leaving must be completed or left")),
        ([p[3], "280017", "9", "", "afgang"],
         Bad("Dato", "date is empty")),
        (["", "280017", "9", "26-06-2024", "afgang"],
         Bad("CPRnr", "cpr is empty")),
        ([dashed(p[11]), "280017", "10", "2024-06-26", "Udmeldt"], Dup()),
    ]
    l_path, l_rows = write_export(
        hub, "afgang.csv", ["CPRnr", "Skole", "Klassetrin", "Dato",
                            "Afgangstype"],
        leaving, eol="\r\n", bom=True)

    r = run_adapter(hub, "school", "import", r_path, l_path, agency=AGENCY)
    events = check_run(hub, r, [(r_path, r_rows), (l_path, l_rows)], AGENCY)
    assert len(events) == 6
    # Exported again: nothing new.
    again = run_adapter(hub, "school", "import", r_path, l_path,
                        agency=AGENCY)
    assert (again.summary["queued"], again.summary["accepted"],
            again.summary["duplicates"]) == (0, 0, 8), str(again)
    assert len(stored(hub)) == 6
    for cpr in p:
        assert cpr not in r.stderr and dashed(cpr) not in r.stderr
    hub.sweep()


def test_kind_chosen_by_option(make_hub):
    """--kind names the kind when a header could be read either way; a
    file whose header lacks that kind's columns is refused whole."""
    hub = make_hub(agencies={AGENCY: TYPES})
    p = CprGen(1102).take(2)
    path, rows = write_export(
        hub, "leaving.csv", ["cpr", "school", "grade", "date", "kind"],
        [([p[0], "280017", "9", "2024-06-26", "completed"],
          Ok("SchoolLeaving")),
         ([p[1], "280017", "10", "2024-06-26", "left"],
          Ok("SchoolLeaving"))])
    r = run_adapter(hub, "school", "import", path, agency=AGENCY,
                    kind="leaving")
    check_run(hub, r, [(path, rows)], AGENCY)
    wrong = run_adapter(hub, "school", "import", path, agency=AGENCY,
                        kind="readiness")
    assert wrong.rc == 3, str(wrong)
    assert "ready" in wrong.stderr
    assert len(stored(hub)) == 2
    hub.sweep()


def test_readiness_area_columns_blame_the_column_that_says_it(make_hub):
    """The areas as one yes/no column per area (docs/ADAPTERS.md): a
    contradiction is reported under the column that holds it, one the
    file has, never under a list column it does not have."""
    hub = make_hub(agencies={AGENCY: TYPES})
    p = CprGen(1103).take(5)
    ra = "ReadinessAssessment"
    rows = [
        ([p[0], "280017", "8a", "15-01-2027", "ikke parat", "x", "", ""],
         Ok(ra)),
        ([p[1], "280017", "8a", "15-01-2027", "parat", "", "", ""], Ok(ra)),
        ([p[2], "280017", "8a", "15-01-2027", "parat", "", "", "x"],
         Bad("Sociale", "not_ready_social must be no or empty when ready "
                        "is yes")),
        ([p[3], "280017", "8a", "15-01-2027", "ikke parat", "nej", "", ""],
         Bad("Faglig", "ready is no, so name the areas")),
        ([p[4], "280017", "8a", "15-01-2027", "ikke parat", "", "ja", "x"],
         Ok(ra)),
    ]
    path, labelled = write_export(
        hub, "upv-omraader.csv", ["CPRnr", "Skole", "Klassetrin", "Dato",
                                  "Parat", "Faglig", "Personlig", "Sociale"],
        rows)
    r = run_adapter(hub, "school", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()


def test_cpr_in_the_school_column_is_refused(make_hub):
    """A CPR where the school belongs (a column mix-up) is refused, never
    sent as the school's id: the hub labels its counts and reports with
    it. The reason names the column and quotes nothing."""
    hub = make_hub(agencies={AGENCY: TYPES})
    p = CprGen(1104).take(4)
    rows = [
        ([p[0], "280017", "9", "26-06-2024", "afgang"],
         Ok("SchoolLeaving")),
        ([p[1], dashed(p[2]), "9", "26-06-2024", "afgang"],
         Bad("Skole", "school looks like a CPR number")),
        ([p[3], p[2], "10", "26-06-2024", "udmeldt"],
         Bad("Skole", "school looks like a CPR number")),
    ]
    path, labelled = write_export(
        hub, "afgang-cpr.csv", ["CPRnr", "Skole", "Klassetrin", "Dato",
                                "Afgangstype"], rows)
    r = run_adapter(hub, "school", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    for cpr in p:
        assert cpr not in r.stderr and dashed(cpr) not in r.stderr
    hub.sweep()


def test_absence_kind_reclassified_is_a_new_row_until_undone(make_hub):
    """docs/ADAPTERS.md, kind absence: the kind is part of the natural
    key, so a week exported as unlawful and later as illness (the sick
    note came) is a second row, the unlawful one staying in the hub;
    exported again with 0 lessons absent, the unlawful row is corrected
    to no absence."""
    hub = make_hub(agencies={AGENCY: TYPES})
    [cpr] = CprGen(1105).take(1)
    header = ["cpr", "school", "period_start", "period_end",
              "lessons_absent", "lessons_expected", "kind"]
    week = [cpr, "280017", "2024-03-04", "2024-03-08"]
    runs = [(["4", "30", "ulovligt"], (1, 0)),
            (["4", "30", "sygdom"], (1, 0)),
            (["0", "30", "ulovligt"], (1, 1))]
    for i, (values, (queued, corrections)) in enumerate(runs):
        path, _ = write_export(hub, f"fravaer-{i}.csv", header,
                               [(week + values, None)])
        r = run_adapter(hub, "school", "import", path, agency=AGENCY)
        assert (r.rc, r.summary["queued"], r.summary["corrections"]) == \
            (0, queued, corrections), str(r)
    events = stored(hub)
    assert [e["type"] for e in events] == ["AbsenceReport"] * 3
    assert events[2]["supersedes"] == events[0]["event_id"]
    hub.sweep()


def test_counts_in_a_spreadsheets_number_format(make_hub):
    """docs/ADAPTERS.md, kind absence: lessons_expected is a whole number
    from 1 to 65,535, written in digits only. A Danish spreadsheet's
    thousands point (1.000) or decimal comma (4,5) is refused with a
    reason that gives the column's own range: one that said "0 or more"
    for lessons_expected would send the clerk to write 0, which is then
    refused as "must be more than 0"."""
    hub = make_hub(agencies={AGENCY: TYPES})
    p = CprGen(1106).take(5)
    week = ["280017", "2024-03-04", "2024-03-08"]
    rows = [
        ([p[0], *week, "4", "30", "ulovligt"], Ok("AbsenceReport")),
        ([p[1], *week, "4", "1.000", "ulovligt"],
         Bad("lessons_expected", "lessons_expected is not a whole number "
             "from 1 to 65535 (digits only)")),
        ([p[2], *week, "4,5", "30", "ulovligt"],
         Bad("lessons_absent", "lessons_absent is not a whole number of 0 "
             "or more (digits only)")),
        ([p[3], *week, "4", "0", "ulovligt"],
         Bad("lessons_expected", "lessons_expected must be more than 0")),
        ([p[4], *week, "0", "30", "ulovligt"], Ok("AbsenceReport")),
    ]
    path, labelled = write_export(
        hub, "fravaer-tal.csv", ["cpr", "school", "period_start",
                                 "period_end", "lessons_absent",
                                 "lessons_expected", "kind"], rows)
    r = run_adapter(hub, "school", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()


def test_areas_separated_by_a_tab_or_a_non_breaking_space(make_hub):
    """docs/ADAPTERS.md, kind readiness: the areas are separated by
    ',', ';', '/', '+', '&', blanks, 'og' or 'and'. A blank is a space or
    a tab, and values read a non-breaking space (U+00A0, which a list
    pasted in a spreadsheet cell may hold) as a space: each such list
    names its areas, none is refused."""
    hub = make_hub(agencies={AGENCY: TYPES})
    p = CprGen(1107).take(5)
    ra = "ReadinessAssessment"
    rows = [
        ([p[0], "280017", "8", "2024-01-15", "nej", "faglig\tsocial"],
         Ok(ra)),
        ([p[1], "280017", "8", "2024-01-15", "nej",
          "faglig\u00a0og\u00a0social"], Ok(ra)),
        ([p[2], "280017", "8", "2024-01-15", "nej", "personlig,\u00a0social"],
         Ok(ra)),
        ([p[4], "280017", "8", "2024-01-15", "nej", "faglig\u202fsocial"],
         Ok(ra)),
        ([p[3], "280017", "8", "2024-01-15", "nej", "faglig\u00a0sproglig"],
         Bad("areas", "areas must be a list of academic, personal, "
             "social")),
    ]
    path, labelled = write_export(
        hub, "upv-blanks.csv", ["cpr", "school", "grade", "date", "ready",
                                "areas"], rows)
    r = run_adapter(hub, "school", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()


def test_absence_grade_zero_is_sent_as_not_known(make_hub):
    """docs/ADAPTERS.md, kind absence: grade is 0-10, as 9 or the class
    9a, 9.b, 10 x, its number sent; the message holds 0 for a grade not
    known (PROTOCOL.md), so a grade 0 (børnehaveklasse) reaches the hub
    as an empty grade does, and the doc says so."""
    import json
    hub = make_hub(agencies={AGENCY: TYPES})
    [cpr] = CprGen(1108).take(1)
    weeks = [("2024-03-04", "2024-03-08", "0"),
             ("2024-03-11", "2024-03-15", ""),
             ("2024-03-18", "2024-03-22", "9.b"),
             ("2024-03-25", "2024-03-29", "10 x")]
    rows = [([cpr, "280017", a, b, "1", "30", "sygdom", g],
             Ok("AbsenceReport")) for a, b, g in weeks]
    path, labelled = write_export(
        hub, "fravaer-klasse.csv", ["cpr", "school", "period_start",
                                    "period_end", "lessons_absent",
                                    "lessons_expected", "kind", "grade"],
        rows)
    r = run_adapter(hub, "school", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    out = hub.client_dir / "export.json"   # holds the CPR: not swept
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    doc = json.loads(out.read_text())
    grades = {e["envelope"]["absence_report"]["period_start"]:
              e["envelope"]["absence_report"]["grade"]
              for e in doc["events"]}
    assert grades == {"2024-03-04": 0, "2024-03-11": 0, "2024-03-18": 9,
                      "2024-03-25": 10}, grades
    text = (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    assert "0 (børnehaveklasse) reaches the hub as 0, \"not known\", " \
        "as an empty grade does" in text
    hub.sweep()


def test_areas_in_both_forms_are_added_up(make_hub):
    """docs/ADAPTERS.md, kind readiness: a file may give the areas as a
    list and as one yes/no column each. Where the two differ, an area
    named by either is one the pupil is not ready in: a "nej" in its
    column does not take it off the list."""
    import json
    hub = make_hub(agencies={AGENCY: TYPES})
    [cpr] = CprGen(1109).take(1)
    rows = [([cpr, "280017", "8", "2024-01-15", "nej", "faglig", "nej", ""],
             Ok("ReadinessAssessment")),
            ([cpr, "280017", "8", "2024-01-16", "nej", "", "nej", "x"],
             Ok("ReadinessAssessment"))]
    path, labelled = write_export(
        hub, "upv-begge.csv", ["cpr", "school", "grade", "date", "ready",
                               "areas", "faglig", "social"], rows)
    r = run_adapter(hub, "school", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    out = hub.client_dir / "export.json"   # holds the CPR: not swept
    hub.hubctl("export", "--cpr", cpr, "--out", str(out))
    got = {e["envelope"]["readiness_assessment"]["date"]:
           {k: v for k, v in e["envelope"]["readiness_assessment"].items()
            if k.startswith("not_ready_") and v}
           for e in json.loads(out.read_text())["events"]}
    assert got == {"2024-01-15": {"not_ready_academic": True},
                   "2024-01-16": {"not_ready_social": True}}, got
    text = (ROOT / "docs" / "ADAPTERS.md").read_text(encoding="utf-8")
    assert "an area named by either is one the pupil is not ready in" \
        in " ".join(text.split())
    hub.sweep()
