"""adapter-addiction against a real hub: referrals and treatment stages
with and without consent are stored as AddictionReferral events about a
person; anonymous counselling rows (no CPR, marked anonymous) are stored
as events about nobody; hostile rows (a blank CPR not marked anonymous, a
CPR in an anonymous row, a missing contact number, bad date, unknown
stage, no consent) are rejected with the file's column and a reason; a
repeated row is stored once; and no CPR reaches the hub's store, logs or
the outbox."""

import json
import re

from agencytest import Bad, Dup, Ok, check_run, run_adapter, stored, \
    write_export
from hubtest import CprGen, dashed

AGENCY = "addiction-a"
HEADER = ["cpr", "anonymous", "record_id", "service", "date", "stage",
          "consent", "consent_scope", "consent_expires"]
AR = "AddictionReferral"


def test_referrals_and_anonymous_counselling(make_hub):
    hub = make_hub(agencies={AGENCY: "addiction"})
    p = CprGen(1301).take(10)
    rows = [
        ([p[0], "", "", "rmc-a", "2024-03-01", "henvist", "ja",
          "henvisning", "2025-02-28"], Ok(AR)),
        ([p[0], "", "", "rmc-a", "08-03-2024", "startet", "ja", "alt", ""],
         Ok(AR)),
        ([dashed(p[1]), "nej", "", "rmc-a", "2024-03-04", "referred", "no",
          "", ""], Ok(AR)),
        ([p[2], "", "", "rmc-a", "2024-03-05", "ended", "tilbagekaldt", "",
          ""], Ok(AR)),
        (["", "ja", "A-2024-001", "rmc-a", "2024-03-01", "henvist", "", "",
          ""], Ok(AR, person=False)),
        (["", "yes", "A-2024-002", "rmc-a", "2024-03-01", "started", "nej",
          "", ""], Ok(AR, person=False)),
        (["anonym", "", "A-2024-003", "rmc-a", "2024-03-02", "henvist", "",
          "", ""], Ok(AR, person=False)),
        # Hostile rows.
        (["", "", "", "rmc-a", "2024-03-01", "henvist", "ja", "alt", ""],
         Bad("cpr", "cpr is empty; for anonymous counselling write yes")),
        ([p[3], "ja", "A-2024-004", "rmc-a", "2024-03-01", "henvist", "",
          "", ""], Bad("cpr", "cpr must be empty in an anonymous row")),
        (["", "ja", "", "rmc-a", "2024-03-01", "henvist", "", "", ""],
         Bad("record_id", "record_id is empty")),
        (["", "ja", p[4], "rmc-a", "2024-03-01", "henvist", "", "", ""],
         Bad("record_id", "record_id looks like a CPR number")),
        # Within the contact's number, too: it would tie the anonymous
        # count to the person as surely (ADAPTERS.md, Codes).
        (["", "ja", "A-" + p[4], "rmc-a", "2024-03-01", "henvist", "", "",
          ""], Bad("record_id", "record_id holds a CPR number; it must be "
                   "a code")),
        (["", "ja", dashed(p[4]) + "/A", "rmc-a", "2024-03-01", "henvist",
          "", "", ""], Bad("record_id", "record_id holds a CPR number")),
        (["", "ja", "A-2024-005", "rmc-a", "2024-03-01", "henvist", "ja",
          "alt", ""], Bad("consent", "an anonymous row cannot carry a "
                                     "consent")),
        ([p[5], "", "", "rmc-a", "2024-02-30", "henvist", "ja", "alt", ""],
         Bad("date", "date is not a date")),
        ([p[6], "", "", "rmc-a", "2024-03-01", "venter", "ja", "alt", ""],
         Bad("stage", "stage must be referred, started or ended")),
        ([p[7], "", "", "rmc-a", "2024-03-01", "henvist", "", "", ""],
         Bad("consent", "consent is empty; write yes or no")),
        ([p[8], "", "", "rmc-a", "2024-03-01", "henvist", "ja", "", ""],
         Bad("consent_scope", "consent_scope is empty")),
        ([p[9][:2] + "13" + p[9][4:], "", "", "rmc-a", "2024-03-01",
          "henvist", "ja", "alt", ""], Bad("cpr", "not a CPR number")),
        # A withdrawal that kept the old scope: a withdrawal all the
        # same, the scope ignored (with a note, not a refusal).
        ([p[9], "", "", "rmc-a", "2024-03-01", "henvist", "nej", "alt", ""],
         Ok(AR)),
        ([p[9], "", "", "", "2024-03-01", "henvist", "ja", "alt", ""],
         Bad("service", "service is empty")),
        # A CPR in the service column would tie the count to a person.
        (["", "ja", "A-2024-006", dashed(p[9]), "2024-03-01", "henvist",
          "", "", ""], Bad("service", "service looks like a CPR number")),
        (["", "ja", "A-2024-001", "rmc-a", "2024-03-01", "henvist", "", "",
          ""], Dup()),
        ([p[0], "", "", "rmc-a", "2024-03-01", "henvist", "ja",
          "henvisning", "2025-02-28"], Dup()),
    ]
    path, labelled = write_export(hub, "rmc.csv", HEADER, rows)
    r = run_adapter(hub, "addiction", "import", path, agency=AGENCY)
    events = check_run(hub, r, [(path, labelled)], AGENCY)
    assert len(events) == 8
    assert sum(1 for e in events if not e["person"]) == 3

    # The consent given later for the young person referred without it:
    # the same referral, corrected; the hub holds both, the later one
    # superseding.
    later = [([dashed(p[1]), "nej", "", "rmc-a", "2024-03-04", "referred",
               "ja", "referral", ""], Ok(AR))]
    path2, _ = write_export(hub, "rmc-2.csv", HEADER, later)
    r2 = run_adapter(hub, "addiction", "import", path2, agency=AGENCY)
    assert (r2.rc, r2.summary["accepted"], r2.summary["corrections"]) == \
        (0, 1, 1), str(r2)
    after = stored(hub)
    assert len(after) == 9
    assert sum(1 for e in after if e["supersedes"]) == 1
    hub.sweep()


def test_no_expiry_written_as_9999_12_31(make_hub):
    """consent_expires 9999-12-31 means "until withdrawn", no expiry
    (docs/ADAPTERS.md): exports that write it in every row keep their
    refusals and anonymous rows, which carry no expiry. A real expiry
    beside a "no" (the consent it withdraws) is ignored with a note: the
    row is a withdrawal, and nothing of it is held back."""
    hub = make_hub(agencies={AGENCY: "addiction"})
    p = CprGen(1303).take(4)
    rows = [
        ([p[0], "", "", "rmc-a", "2024-03-01", "henvist", "nej", "",
          "9999-12-31"], Ok(AR)),
        ([p[1], "", "", "rmc-a", "2024-03-01", "henvist", "tilbagekaldt",
          "", "31-12-9999"], Ok(AR)),
        (["", "ja", "A-2024-101", "rmc-a", "2024-03-01", "henvist", "", "",
          "31.12.9999"], Ok(AR, person=False)),
        ([p[2], "", "", "rmc-a", "2024-03-01", "henvist", "ja", "alt",
          "9999-12-31"], Ok(AR)),
        ([p[3], "", "", "rmc-a", "2024-03-01", "henvist", "nej", "",
          "2025-02-28"], Ok(AR)),
    ]
    path, labelled = write_export(hub, "rmc-9999.csv", HEADER, rows)
    r = run_adapter(hub, "addiction", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    # Only the row whose expiry is ignored has a note, under the file's
    # column; 9999-12-31 beside a "no" is no expiry and needs none.
    assert re.findall(r"ADP-NOTE .*rmc-9999\.csv:(\d+): column (\S+):",
                      r.stderr) == [("6", "consent_expires")], r.stderr
    hub.sweep()


def test_anonymous_row_with_a_consent_names_the_column_holding_it(make_hub):
    """An anonymous row that carries a consent scope or expiry is refused
    under the column that holds it, one the file has: a counselling
    export need not have a consent column at all."""
    hub = make_hub(agencies={AGENCY: "addiction"})
    rows = [
        (["anonym", "A-2024-201", "rmc-a", "2024-03-01", "henvist", "", ""],
         Ok(AR, person=False)),
        (["anonym", "A-2024-202", "rmc-a", "2024-03-01", "henvist", "alt",
          ""], Bad("Omfang", "an anonymous row cannot carry a consent")),
        (["anonym", "A-2024-203", "rmc-a", "2024-03-01", "henvist", "",
          "2024-12-31"],
         Bad("Udl\u00f8b", "an anonymous row cannot carry a consent")),
    ]
    path, labelled = write_export(
        hub, "anonym.csv", ["CPRnr", "L\u00f8benr", "Tilbud", "Dato",
                            "Forl\u00f8b", "Omfang", "Udl\u00f8b"], rows)
    r = run_adapter(hub, "addiction", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()


def test_anonymous_json_lines_need_the_cpr_key(make_hub):
    """docs/ADAPTERS.md: the cpr column is required even in a file of
    anonymous rows only; in JSON Lines a null cpr will do, and a file
    where no line has the key is refused as a whole."""
    hub = make_hub(agencies={AGENCY: "addiction"})
    line = {"anonymous": True, "record_id": "A-2024-301", "service": "rmc-a",
            "date": "2024-03-01", "stage": "henvist"}
    without = hub.inputs_dir / "anonym-uden.jsonl"
    without.write_text(json.dumps(line) + "\n")
    r = run_adapter(hub, "addiction", "import", without, agency=AGENCY)
    assert r.rc == 3, str(r)
    assert "missing required column(s): cpr" in r.stderr, r.stderr
    with_null = hub.inputs_dir / "anonym.jsonl"
    with_null.write_text(json.dumps(dict(line, cpr=None)) + "\n")
    r = run_adapter(hub, "addiction", "import", with_null, agency=AGENCY)
    assert (r.rc, r.summary["accepted"]) == (0, 1), str(r)
    assert [e["person"] for e in stored(hub)] == [False]
    hub.sweep()


def test_help_says_a_personal_row_needs_a_consent():
    """adapter-addiction --help listed consent and consent_scope as
    optional, while a personal row without them is rejected (ADAPTERS.md:
    required "yes in a personal row", "with consent yes")."""
    import subprocess
    from hubtest import binary
    p = subprocess.run([binary("adapter-addiction"), "--help"],
                       capture_output=True, text=True, timeout=30)
    text = " ".join((p.stdout + p.stderr).split())
    assert "a personal row needs consent, and consent_scope when consent " \
        "is yes" in text, text


def test_scope_separated_by_a_tab_or_a_non_breaking_space(make_hub):
    """consent_scope is a list separated as the readiness areas are
    (docs/ADAPTERS.md): blanks, a tab among them, and a non-breaking
    space, which values read as a space, separate it too."""
    hub = make_hub(agencies={AGENCY: "addiction"})
    p = CprGen(1306).take(3)
    rows = [
        ([p[0], "", "", "rmc-a", "2024-03-01", "henvist", "ja",
          "henvisning\tforl\u00f8b", ""], Ok(AR)),
        ([p[1], "", "", "rmc-a", "2024-03-01", "henvist", "ja",
          "henvisning\u00a0og\u00a0forl\u00f8b", ""], Ok(AR)),
        ([p[2], "", "", "rmc-a", "2024-03-01", "henvist", "ja",
          "henvisning\u00a0journal", ""],
         Bad("consent_scope", "consent_scope must be referral, stage or "
             "all")),
    ]
    path, labelled = write_export(hub, "rmc-blanks.csv", HEADER, rows)
    r = run_adapter(hub, "addiction", "import", path, agency=AGENCY)
    check_run(hub, r, [(path, labelled)], AGENCY)
    hub.sweep()
