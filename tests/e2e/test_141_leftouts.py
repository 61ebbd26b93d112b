"""141 small promises left open by earlier reviews, each checked as the
docs now word it: a varint over 64 bits (PROTOCOL.md §6), a stray
carriage return in an adapter's file (ADAPTERS.md), invisible-only
text in an Action's `how` (PROTOCOL.md), a 413 past a web session's
lifetime (OPERATIONS.md), and what RULES.md says ingest refuses."""

import re
import time

from hubtest import (ACCEPTED, E_MALFORMED, EXIT_FATAL, EXIT_ROWS_REJECTED,
                     OK, REJECTED, CprGen, envelope, event, rules_hub)
from test_70_web import PASSWORD, Web, anna_session, set_password, web_hub
from test_81_report import cells, report
from test_102_web_session import cleared
from test_53_delivery import (anna_with_one_dropout,  # noqa: F401
                              clients, hub53)
from test_57_deliver2 import action
from vendorclient import ACK, EVENT, Client, ld, schema, tag, varint


def absence_body(cpr, key, occurred=varint(1714000000000), expected=30,
                 payload_extra=b""):
    """An AbsenceReport envelope for school-a, field by field, with
    occurred_at and lessons_expected as the bytes given."""
    eid = (1714000000000).to_bytes(8, "big") + key.encode().ljust(8, b".")
    exp = expected if isinstance(expected, bytes) else varint(expected)
    payload = (ld(1, b"school-x") + ld(2, b"2024-05-06") +
               ld(3, b"2024-05-10") + tag(4, 0) + varint(3) +
               tag(5, 0) + exp + tag(6, 0) + varint(3) + payload_extra)
    body = (ld(1, eid) + ld(2, b"school-a") + tag(3, 0) + varint(1) +
            tag(4, 0) + varint(1) + tag(5, 0) + varint(2) +
            tag(6, 0) + occurred + ld(9, cpr.encode()) + ld(20, payload))
    return eid, body


def test_varint_over_64_bits_is_refused_naming_the_field(make_hub):
    """PROTOCOL.md §6: ten varint bytes hold 64 bits only when the tenth
    is 00 or 01; a wider one is a frame that does not decode, the reason
    naming the field by its path, with no event_id; the connection
    stays open."""
    hub = make_hub()
    m = schema()
    cpr = CprGen(14101).born("2009-03-01")
    hub.cprs.add(cpr)
    c = Client(hub, "school-a", hub.ingest)
    try:
        wide = varint(1 << 64)  # ten bytes, the tenth 02
        assert len(wide) == 10 and wide[-1] == 2
        for key, kw, path in [
                ("occ", {"occurred": wide}, "occurred_at"),
                ("exp", {"expected": wide},
                 "absence_report.lessons_expected"),
                ("unk", {"payload_extra": tag(15, 0) + wide},
                 "an unknown field in absence_report")]:
            _, body = absence_body(cpr, key, **kw)
            a = c.ask(bytes([1, EVENT]) + body, ACK)
            assert (a.status, a.code, a.reason, a.retryable,
                    a.event_id) == (
                m.REJECTED, m.E_MALFORMED,
                "Envelope does not decode as protobuf: "
                f"{path} is a varint of more than 64 bits",
                False, b""), (key, a)
        # At the limit: 30 padded to ten bytes, the tenth 00, is 30.
        padded = bytes([30 | 0x80]) + b"\x80" * 8 + b"\x00"
        eid, body = absence_body(cpr, "pad", expected=padded)
        a = c.ask(bytes([1, EVENT]) + body, ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, eid), a
    finally:
        c.close()


ABSENCE = ("cpr;school;period_start;period_end;lessons_absent;"
           "lessons_expected;kind")
STRAY = ("line {}, column {} holds a carriage return alone, which ends no "
         "line here (are two lines joined into this row?): save the file "
         "with Windows or Unix line ends")


def test_a_stray_carriage_return_is_named_by_line_and_column(make_hub):
    """ADAPTERS.md, "Input files": a CR outside quotes (outside strings)
    with text after it on its line ends no line; the row it joined is a
    bad row named by the CR's line and column, not by its field count;
    CR CR LF is a line end. A JSON Lines file of CR line ends alone is
    the whole-file "the lines end in a carriage return alone"."""
    hub = make_hub()
    a, b, c = CprGen(14103).take(3)
    hub.cprs.update([a, b, c])

    def row(cpr):
        return f"{cpr};school-x;2024-05-06;2024-05-10;3;30;ulovligt"
    path = hub.inputs_dir / "joined.csv"
    path.write_bytes((ABSENCE + "\n" + row(a) + "\r" + row(b) + "\n" +
                      row(c) + "\r\r\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, r
    assert f"{path}:2: {STRAY.format(2, len(row(a)) + 1)}" in \
        r.stderr.splitlines(), r.stderr
    assert "fields, the header has" not in r.stderr, r.stderr
    assert (r.summary["rows"], r.summary["queued"]) == (2, 1), r

    def obj(cpr):
        return ('{"cpr": "%s", "school": "school-x", "period_start": '
                '"2024-05-06", "period_end": "2024-05-10", '
                '"lessons_absent": 3, "lessons_expected": 30, '
                '"kind": "ulovligt"}' % cpr)
    path = hub.inputs_dir / "joined.jsonl"
    path.write_bytes((obj(a) + "\n" + obj(b) + "\r" + obj(c) +
                      "\n").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_ROWS_REJECTED, r
    assert f"{path}:2: {STRAY.format(2, len(obj(b)) + 1)}" in \
        r.stderr.splitlines(), r.stderr
    # hubctl assign --file reads CSV as the adapters do (OPERATIONS.md).
    path = hub.tmp / "assignments.csv"
    path.write_bytes(f"cpr;caseworker\n{a};cw-anna\r{b};cw-anna\n"
                     f"{c};cw-anna\n".encode())
    p = hub.hubctl("assign", "--file", str(path), check=False)
    assert p.returncode == 1, p
    assert p.stdout == "assignments: 1 new, 0 already known, 1 rejected\n"
    assert p.stderr.splitlines() == [
        f"{path}:2: {STRAY.format(2, len(a) + len(';cw-anna') + 1)}"], p
    path = hub.inputs_dir / "mac.jsonl"
    path.write_bytes((obj(a) + "\r" + obj(b) + "\r").encode())
    r = hub.adapter("import", path)
    assert r.rc == EXIT_FATAL, r  # a whole-file problem
    assert "the lines end in a carriage return alone" in r.stderr, r


def test_a_how_of_invisible_format_characters_is_refused_as_empty(
        make_hub, clients):
    """PROTOCOL.md §4, "Recording what was done": a `how` shows nothing
    when each character is white space or a format character that shows
    nothing (a soft hyphen, zero-width ones, direction marks, the word
    joiner, the byte order mark); it is refused as an empty one."""
    hub = hub53(make_hub)
    _, a, aid = anna_with_one_dropout(hub, clients, 14104)
    say_how = "how must say how (phone, meeting, home visit, letter, ...)"
    for i, how in enumerate(["\u00ad", " \u00ad\u00ad ", "\u200e\u200f",
                             "\u202a\u202e", "\u2061\u2064", "\u2066\u2069",
                             "\u180e",
                             "\u00ad\u200b\u200c\u200d\u2060\ufeff"]):
        r = action(a, 10 + i, aid, how=how)
        assert (r.code, r.reason) == (E_MALFORMED, say_how), (i, r)
    r = action(a, 30, aid, kind=2, how="\u00ad")
    assert (r.code, r.reason) == (E_MALFORMED,
                                  "how must say what was offered"), r
    # One visible character beside them is text.
    r = action(a, 31, aid, how="tele\u00adfon")
    assert r.code == OK, r


def test_a_form_too_large_past_the_lifetime_ends_the_session(make_hub):
    """OPERATIONS.md, webd: a session's next request after
    session_lifetime is not done: a form redirects (303) to
    /login?ended=lifetime with the cookie cleared, one over 16 KiB too
    (not the 413 page of a session that has ended); POST /session is 401
    with the session kept. Before the lifetime such a form is 413."""
    hub = web_hub(make_hub, caseworkers={"cw-anna": False, "cw-bo": False})
    set_password(hub, "cw-bo", PASSWORD)
    web = Web(hub, session_lifetime=1)
    try:
        anna = anna_session(web)
        bo = {"ug_session": re.search(
            r"ug_session=([0-9a-f]+)",
            " ".join(web.raw_login("cw-bo", PASSWORD)[1])).group(1)}
        # Both logins answered: a minute from here both lifetimes are out
        # (2 s for the clocks of webd and hubd, however slow the logins).
        born = time.monotonic()
        page = web.request("GET", "/timeline", cookies=anna)[1]
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        big = {"csrf": csrf, "cpr": "x" * 17000}
        r, _ = web.request("POST", "/timeline", big, cookies=anna)
        assert r.status == 413, r.status
        time.sleep(max(0, born + 62 - time.monotonic()))
        r, _ = web.request("POST", "/session", big, cookies=bo)
        assert r.status == 401 and not cleared(r), r.status
        r, _ = web.request("POST", "/timeline", big, cookies=anna)
        assert r.status == 303, r.status
        assert r.getheader("Location") == "/login?ended=lifetime"
        assert cleared(r)
        # Bo's session was kept for the page his script goes to.
        r, _ = web.request("POST", "/timeline", big, cookies=bo)
        assert (r.status, r.getheader("Location")) == \
            (303, "/login?ended=lifetime")
        # Told once: the token opens nothing again.
        r, _ = web.request("POST", "/timeline", big, cookies=anna)
        assert r.status == 413, r.status
    finally:
        web.stop()


def test_what_the_report_tables_never_count_is_refused_at_ingest(
        make_hub, tmp_path):
    """OPERATIONS.md, the report's tables: the `anonymous` table's
    `other` row is always 0, as ingest refuses a stage outside 1-3 ("...
    stage is required", "... stage 4 is not a known ReferralStage"),
    anonymous or not; and a report of 0 expected lessons never reaches
    the store ("absence_report.lessons_expected must be above 0")."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    [cpr] = CprGen(14106).take(1)

    def referral(stage, **kw):
        return event("addiction-a", cpr, "addiction_referral",
                     service="rmc-a", date="2026-09-01", stage=stage, **kw)
    sent = [(referral(0, sensitivity="ANONYMOUS"),
             "addiction_referral.stage is required"),
            (referral(4, sensitivity="ANONYMOUS"),
             "addiction_referral.stage 4 is not a known ReferralStage"),
            (referral(4), "addiction_referral.stage 4 is not a known "
             "ReferralStage"),
            (envelope("school-a", cpr, "none", period_start="2026-08-31",
                      period_end="2026-09-04", absent=0, expected=0),
             "absence_report.lessons_expected must be above 0")]
    acks = hub.acks(*[e for e, _ in sent])
    for (_, reason), a in zip(sent, acks):
        assert (a.status, a.code, a.reason) == \
            (REJECTED, E_MALFORMED, reason), a
    # Five good ones, so that no cell is suppressed (1-4 show "<5").
    ok = hub.acks(*[referral("REFERRED", sensitivity="ANONYMOUS")
                    for _ in range(5)])
    assert [a.status for a in ok] == [ACCEPTED] * 5, ok
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    a = cells(tables["anonymous"])
    assert (a[("other", "records")], a[("Total", "records")]) == \
        ("0", "5"), a
