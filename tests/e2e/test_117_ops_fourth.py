"""OPERATIONS.md as municipal IT operations use it, a fourth reading:
what the Monitoring list and the runbooks quote, checked against what
the programs say."""

import hubtest


def ops_doc():
    """OPERATIONS.md with its line breaks taken as blanks, as a reader
    (and a search for a quoted line) takes them."""
    return " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text(
        encoding="utf-8").split())


def test_dropped_answer_summaries_are_quoted_as_hubd_logs_them():
    """OPERATIONS.md, Monitoring: `HUB-QUERY result not sent` runs as
    `HUB-DELIVER answer not sent` does, its reason on the first line and
    on the summary (test_66_vendor_error_paths checks the lines hubd
    writes: `N more results not sent since the last HUB-QUERY line
    (Resource temporarily unavailable)`); HUB-WEB's two kinds share one
    count and carry no reason. The list said both summaries came
    "without a reason", so a journal search built from it missed the
    HUB-QUERY one."""
    doc = ops_doc()
    assert ("`HUB-QUERY result not sent: REASON` runs the same way on its "
            "own, summed up as `N more results not sent since the last "
            "HUB-QUERY line (REASON)`") in doc
    assert ("`N more answers not sent since the last HUB-WEB line`"
            in doc)
    assert "`N more results ...` and `N more answers ...` without a " \
        "reason" not in doc
