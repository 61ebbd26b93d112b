"""adapter-jobcenter against a real hub: a benefit-period export (Danish
header and benefit names) and a missed-activation export in one run, each
file's kind found from its header; good rows are stored as BenefitStatus
and MissedActivation events, hostile rows are rejected with the file's
column and a reason, a repeated row is stored once. Exported again once a
benefit stopped, only the stop is new: a stop is its own fact, not a
correction of the start."""

from pathlib import Path

from agencytest import Bad, Dup, Ok, check_run, reported_lines, \
    run_adapter, stored, write_export
from hubtest import CprGen, dashed

AGENCY = "jobcenter-a"
BENEFIT_HEADER = ["CPRnr", "Jobcenter", "Ydelse", "Fra", "Til",
                  "Oph\u00f8rs\u00e5rsag"]
MISSED_HEADER = ["cpr", "jobcenter", "date", "activity"]
BS, MA = "BenefitStatus", "MissedActivation"


def test_benefits_and_missed_activations(make_hub):
    hub = make_hub(agencies={AGENCY: "benefit,missed_activation"})
    p = CprGen(1401).take(13)
    uh = "uddannelseshj\u00e6lp"
    benefits = [
        ([p[0], "jc-a", uh, "01-02-2024", "", ""], Ok(BS)),
        ([dashed(p[1]), "jc-a", "Kontanthj\u00e6lp", "2024-01-15", "", ""],
         Ok(BS)),
        ([p[2], "jc-a", "selvfors\u00f8rgelses- og hjemrejseydelse",
          "2024-03-01", "", ""], Ok(BS)),
        ([p[3], "jc-a", uh, "2024-01-02", "2024-03-28", "UDD"], Ok(BS)),
        # "No end", as many systems write it: the benefit runs.
        ([p[12], "jc-a", uh, "2024-04-01", "31-12-9999", ""], Ok(BS)),
        # Hostile rows.
        ([p[4], "jc-a", uh, "2024-02-30", "", ""],
         Bad("Fra", "start is not a date")),
        ([p[5][:2] + "13" + p[5][4:], "jc-a", uh, "2024-02-01", "", ""],
         Bad("CPRnr", "cpr is not a CPR number")),
        ([p[6], "jc-a", "boligst\u00f8tte", "2024-02-01", "", ""],
         Bad("Ydelse", "benefit must be education, cash or integration")),
        ([p[7], "jc-a", "", "2024-02-01", "", ""],
         Bad("Ydelse", "benefit is empty")),
        ([p[8], "jc-a", uh, "2024-02-01", "2024-01-31", ""],
         Bad("Til", "stop 2024-01-31 is before start 2024-02-01")),
        ([p[8], "jc-a", uh, "2024-02-01", "", "JOB"],
         Bad("Oph\u00f8rs\u00e5rsag", "reason is set but stop is empty")),
        ([p[8], "", uh, "2024-02-01", "", ""],
         Bad("Jobcenter", "jobcenter is empty")),
        ([p[0], "jc-a", uh, "01-02-2024", "", ""], Dup()),
    ]
    missed = [
        ([p[0], "jc-a", "2024-03-05", "VIRK-PRAK"], Ok(MA)),
        ([p[0], "jc-a", "2024-03-12", "VIRK-PRAK"], Ok(MA)),
        ([p[3], "jc-a", "06.03.2024", ""], Ok(MA)),
        ([p[9], "jc-a", "2024-13-01", "SAMTALE"],
         Bad("date", "date is not a date")),
        ([p[9], "jc-a", "2024-03-05", "m\u00f8dte ikke op"],
         Bad("activity", "activity must be a code")),
        # A code is ASCII: the reason says which letters.
        ([p[9], "jc-a", "2024-03-06", "SAMTALE-F\u00d8R"],
         Bad("activity", "activity must be a code of at most 32 of A-Z "
                         "a-z 0-9 . _ - /")),
        ([p[10], "jc-a", "2024-03-05", p[11]],
         Bad("activity", "activity looks like a CPR number")),
        (["", "jc-a", "2024-03-05", "SAMTALE"], Bad("cpr", "cpr is empty")),
        ([p[0], "jc-a", "2024-03-12", "VIRK-PRAK"], Dup()),
    ]
    b_path, b_rows = write_export(hub, "ydelser.csv", BENEFIT_HEADER,
                                  benefits, eol="\r\n", bom=True)
    m_path, m_rows = write_export(hub, "udeblivelser.csv", MISSED_HEADER,
                                  missed, sep=",")
    r = run_adapter(hub, "jobcenter", "import", b_path, m_path,
                    agency=AGENCY)
    events = check_run(hub, r, [(b_path, b_rows), (m_path, m_rows)], AGENCY)
    assert len(events) == 8

    # The rejects file, a bad row corrected, imports again with the
    # documented command, though its own "reason" column and the export's
    # "Ophørsårsag" both mean reason: the rejects file's goes, the
    # export's is read.
    rejects = b_path.parent / "ydelser.csv.rejects.csv"
    fixed = hub.inputs_dir / "ydelser-fixed.csv"
    fixed.write_text(rejects.read_text(encoding="utf-8-sig").replace(
        f"{p[8]};jc-a;{uh};2024-02-01;2024-01-31;",
        f"{p[8]};jc-a;{uh};2024-02-01;2024-03-31;JOB"), encoding="utf-8")
    r = run_adapter(hub, "jobcenter", "import", fixed, agency=AGENCY,
                    ignore_columns="line,column,reason")
    assert r.rc == 1, str(r)
    assert (r.summary["queued"], r.summary["rejected_rows"]) == (1, 6), str(r)
    # The log names every column left unread, the first "reason" too.
    assert f"{fixed}: ignoring column(s) line, column, reason\n" in \
        r.stderr, r.stderr
    [redone] = [e for e in stored(hub) if e not in events]
    assert redone["type"] == BS

    # The next export: the same periods, one of them stopped since.
    again = [(f, lab) for f, lab in benefits if isinstance(lab, Ok)]
    again[0] = ([p[0], "jc-a", uh, "01-02-2024", "30-04-2024", "JOB"],
                Ok(BS))
    # The open-ended row with an empty stop: the very event sent for
    # 9999-12-31, so a duplicate.
    again[4] = ([p[12], "jc-a", uh, "2024-04-01", "", ""], Ok(BS))
    path2, _ = write_export(hub, "ydelser-2.csv", BENEFIT_HEADER, again)
    r2 = run_adapter(hub, "jobcenter", "import", path2, agency=AGENCY)
    assert r2.rc == 0, str(r2)
    assert (r2.summary["queued"], r2.summary["accepted"],
            r2.summary["corrections"], r2.summary["duplicates"]) == \
        (1, 1, 0, 4), str(r2)
    after = stored(hub)
    assert len(after) == 10
    assert not any(e["supersedes"] for e in after)
    hub.sweep()


def test_a_stop_cannot_be_taken_back(make_hub):
    """docs/ADAPTERS.md: the period exported again without its stop is the
    start the hub already has, so nothing is sent; a benefit that runs
    again is a new period with its own start."""
    hub = make_hub(agencies={AGENCY: "benefit,missed_activation"})
    [cpr] = CprGen(1402).take(1)
    uh = "uddannelseshj\u00e6lp"
    runs = [([cpr, "jc-a", uh, "2024-02-01", "", ""], (1, 0)),
            ([cpr, "jc-a", uh, "2024-02-01", "2024-03-31", "JOB"], (1, 0)),
            ([cpr, "jc-a", uh, "2024-02-01", "", ""], (0, 1)),
            ([cpr, "jc-a", uh, "2024-05-01", "", ""], (1, 0))]
    for i, (fields, (queued, duplicates)) in enumerate(runs):
        path, _ = write_export(hub, f"ydelser-{i}.csv", BENEFIT_HEADER,
                               [(fields, None)])
        r = run_adapter(hub, "jobcenter", "import", path, agency=AGENCY)
        assert r.rc == 0, str(r)
        assert (r.summary["queued"], r.summary["duplicates"],
                r.summary["corrections"]) == (queued, duplicates, 0), str(r)
    assert len(stored(hub)) == 3
    # A period first seen stopped sends its stop alone; exported again
    # without the stop, its start, never sent, goes now.
    [other] = CprGen(1403).take(1)
    for i, (fields, queued) in enumerate([
            ([other, "jc-a", uh, "2024-02-01", "2024-03-31", "JOB"], 1),
            ([other, "jc-a", uh, "2024-02-01", "", ""], 1),
            ([other, "jc-a", uh, "2024-02-01", "2024-03-31", "JOB"], 0)]):
        path, _ = write_export(hub, f"ydelser-s{i}.csv", BENEFIT_HEADER,
                               [(fields, None)])
        r = run_adapter(hub, "jobcenter", "import", path, agency=AGENCY)
        assert (r.rc, r.summary["queued"], r.summary["corrections"]) == \
            (0, queued, 0), str(r)
    assert len(stored(hub)) == 5
    hub.sweep()


def test_rejects_file_of_an_export_without_a_reason_column(make_hub):
    """A benefit export without the optional reason column: the
    rejects file's own reason, before its columns, is left unread with
    --ignore_columns line,column,reason, never read as the stop's
    reason (which a start alone may not have)."""
    hub = make_hub(agencies={AGENCY: "benefit,missed_activation"})
    p = CprGen(1404).take(2)
    header = ["cpr", "jobcenter", "benefit", "start", "stop"]
    path, labelled = write_export(hub, "ydelser.csv", header, [
        ([p[0], "jc-a", "cash", "2024-02-30", ""],
         Bad("start", "start is not a date")),
        ([p[1], "jc-a", "cash", "2024-02-01", "2024-03-31"], Ok(BS))])
    r = run_adapter(hub, "jobcenter", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    # A first correction still wrong: the rejects file of the rejects
    # file has the leading columns twice, and is left without both.
    fixed = hub.inputs_dir / "ydelser-fixed.csv"
    fixed.write_text((path.parent / "ydelser.csv.rejects.csv").read_text(
        encoding="utf-8-sig").replace("2024-02-30", "2024-13-01"),
        encoding="utf-8")
    r = run_adapter(hub, "jobcenter", "import", fixed, agency=AGENCY,
                    ignore_columns="line,column,reason")
    assert (r.rc, r.summary["rejected_rows"]) == (1, 1), str(r)
    assert reported_lines(r, fixed) == \
        {2: ("start", "start is not a date (YYYY-MM-DD, DD-MM-YYYY or "
                      "DD.MM.YYYY)")}, r.stderr
    again = hub.inputs_dir / "ydelser-fixed-2.csv"
    again.write_text(Path(str(fixed) + ".rejects.csv").read_text(
        encoding="utf-8-sig").replace("2024-13-01", "2024-02-29"),
        encoding="utf-8")
    r = run_adapter(hub, "jobcenter", "import", again, agency=AGENCY,
                    ignore_columns="line,column,reason")
    assert (r.rc, r.summary["queued"], r.summary["rejected_rows"]) == \
        (0, 1, 0), str(r)
    assert len(stored(hub)) == 2
    hub.sweep()


def test_a_miss_put_right_on_another_day_is_another_miss(make_hub):
    """docs/ADAPTERS.md: a miss is known by its date and activity (its
    natural key), so a row whose date is put right is another miss, not
    a correction: the miss sent before stays in the hub (no frame takes
    an event back) and still counts for the rule."""
    hub = make_hub(agencies={AGENCY: "benefit,missed_activation"})
    [cpr] = CprGen(1404).take(1)
    first, _ = write_export(hub, "udeblevet-1.csv", MISSED_HEADER,
                            [([cpr, "jc-a", "2024-03-02", "VIRK"], None),
                             ([cpr, "jc-a", "2024-03-20", "VIRK"], None)])
    r = run_adapter(hub, "jobcenter", "import", first, agency=AGENCY)
    assert (r.rc, r.summary["queued"]) == (0, 2), str(r)
    later, _ = write_export(hub, "udeblevet-2.csv", MISSED_HEADER,
                            [([cpr, "jc-a", "2024-02-01", "VIRK"], None),
                             ([cpr, "jc-a", "2024-03-20", "VIRK"], None)])
    r = run_adapter(hub, "jobcenter", "import", later, agency=AGENCY)
    assert (r.rc, r.summary["queued"], r.summary["corrections"],
            r.summary["duplicates"]) == (0, 1, 0, 1), str(r)
    events = stored(hub)
    assert [e["type"] for e in events] == [MA] * 3
    assert not any(e["supersedes"] for e in events)
    hub.sweep()


def test_a_header_that_fits_two_kinds_alike_needs_the_kind(make_hub):
    """docs/ADAPTERS.md, "The kind of a file": a missed-activation export
    that also carries the person's benefit (Ydelse, Fra) fits benefit and
    missed_activation with as many columns each. Neither is guessed (with
    ignore_columns = * the misses would go as benefit periods): the file
    is refused as a whole, naming both kinds, and imports with --kind."""
    hub = make_hub(agencies={AGENCY: "benefit,missed_activation"})
    [cpr] = CprGen(1405).take(1)
    path, _ = write_export(
        hub, "udeblivelser.csv",
        ["cpr", "jobcenter", "dato", "aktivitet", "ydelse", "fra"],
        [([cpr, "jc-a", "2024-03-05", "VIRK", "kontanthj\u00e6lp",
           "2024-01-01"], None)])
    r = run_adapter(hub, "jobcenter", "import", path, agency=AGENCY,
                    ignore_columns="*")
    assert r.rc == 3, str(r)
    assert "the columns fit two kinds alike, benefit and " \
        "missed_activation (4 columns each): name the file's kind with " \
        "--kind" in r.stderr, r.stderr
    assert stored(hub) == []
    r = run_adapter(hub, "jobcenter", "--kind", "missed_activation",
                    "import", path, agency=AGENCY, ignore_columns="*")
    assert r.rc == 0, str(r)
    assert [e["type"] for e in stored(hub)] == [MA]
    # The message's other way: kind = in the config file.
    [cpr2] = CprGen(1406).take(1)
    path2, _ = write_export(
        hub, "udeblivelser-2.csv",
        ["cpr", "jobcenter", "dato", "aktivitet", "ydelse", "fra"],
        [([cpr2, "jc-a", "2024-03-06", "VIRK", "kontanthj\u00e6lp",
           "2024-01-01"], None)])
    r = run_adapter(hub, "jobcenter", "import", path2, agency=AGENCY,
                    ignore_columns="*", kind="missed_activation")
    assert r.rc == 0, str(r)
    assert [e["type"] for e in stored(hub)] == [MA, MA]
    hub.sweep()
