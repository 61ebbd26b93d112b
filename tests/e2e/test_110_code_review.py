"""110 a second reading of this session's C changes: what a review of the
code found that the docs promise otherwise, each checked as a user would
meet it."""

import hubtest


def test_no_end_is_9999_12_31_as_a_date_not_any_spelling(make_hub):
    """OPERATIONS.md "Contact persons": in `hubctl assign --file`, `to`
    takes `9999-12-31`, "in any of the three forms", for no end, and a
    date in none of the forms is rejected, `column to: dates must be a
    real day ...`. Blanks or '_' between its parts are no date form:
    such a row is rejected, not stored as an assignment without end."""
    hub = make_hub(start=False)
    cprs = hubtest.CprGen(11001).take(7)
    hub.cprs.update(cprs)
    ok = ["9999-12-31", "31-12-9999", "31.12.9999"]
    bad = ["9999 12 31", "31_12_9999", "31 12 9999", "31-12.9999"]
    path = hub.inputs_dir / "assign.csv"
    path.write_text("cpr;caseworker;from;to\n" + "".join(
        f"{cpr};cw-anna;2024-01-01;{to}\n"
        for cpr, to in zip(cprs, ok + bad)))
    p = hub.hubctl("assign", "--file", str(path), check=False)
    reason = ("column to: dates must be a real day YYYY-MM-DD, DD-MM-YYYY "
              "or DD.MM.YYYY in the years 1900-2199; leave to empty (or "
              "9999-12-31) for no end\n")
    assert p.stderr == "".join(f"{path}:{line}: {reason}"
                               for line in range(5, 9)), p.stderr
    assert p.stdout == "assignments: 3 new, 0 already known, 4 rejected\n"
    assert p.returncode == 1
    assert hub.stats()["assignments"] == 3
