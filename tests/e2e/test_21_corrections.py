"""21 corrections: re-imports, overlapping exports and corrected rows.

An event's id comes from its natural key and its content: the same file
again, or a later export that repeats rows unchanged, sends nothing new;
a row whose values changed (same pupil, school, period and kind) becomes
exactly one correction event whose `supersedes` is the id sent before.
Each test compares the hub's store (hubctl log --json) with the ids
computed independently. Every test ends with the privacy sweep."""

import dataclasses

import zmq

from hubtest import (EXIT_OK, SLOW, AbsenceRow, CprGen, curve_dealer,
                     ev_absence, ev_dropout, ev_dropout_risk, pb, rules_hub)
from runtimetest import assert_store, event_id, stored, wait_stored


def rows_for(seed, n, **kw):
    return [AbsenceRow(c, **kw) for c in CprGen(seed).take(n)]


def imported(hub, name, rows, **kw):
    hub.cprs.update(r.cpr for r in rows)
    path, _ = hub.csv(name, rows, **kw)
    r = hub.adapter("import", path)
    assert r.rc == EXIT_OK, str(r)
    return r.summary


def counts(s):
    return (s["rows"], s["queued"], s["corrections"], s["duplicates"],
            s["accepted"])


def test_reimport_sends_nothing(hub):
    rows = rows_for(2101, 20)
    assert counts(imported(hub, "w19.csv", rows)) == (20, 20, 0, 0, 20)
    # The same rows again, in another file, CPRs written the other way.
    again = imported(hub, "w19-again.csv", rows, dash_every=0)
    assert counts(again) == (20, 0, 0, 20, 0)
    assert_store(hub, rows)


def test_overlapping_later_export(hub):
    rows = rows_for(2102, 15)
    assert counts(imported(hub, "week1.csv", rows[:10])) == \
        (10, 10, 0, 0, 10)
    # The next export repeats rows 3-10 and adds five new ones.
    later = imported(hub, "week1-2.csv", rows[2:])
    assert counts(later) == (13, 5, 0, 8, 5)
    assert_store(hub, rows)


def test_changed_row_sends_one_correction(hub):
    rows = rows_for(2103, 10, absent=4)
    imported(hub, "w20.csv", rows)
    before = wait_stored(hub, 10)
    old = event_id(hub, rows[6])
    fixed = list(rows)
    fixed[6] = dataclasses.replace(rows[6], absent=30)
    again = imported(hub, "w20-fixed.csv", fixed)
    assert counts(again) == (10, 1, 1, 9, 1)
    after = wait_stored(hub, 11)
    new = set(after) - set(before)
    assert new == {event_id(hub, fixed[6])}, new
    [rec] = [after[i] for i in new]
    assert rec["supersedes"] == old
    # Nothing else supersedes anything.
    assert [r["event_id"] for r in after.values() if r["supersedes"]] == \
        [rec["event_id"]]
    # Re-importing the corrected file changes nothing more.
    assert counts(imported(hub, "w20-fixed-again.csv", fixed)) == \
        (10, 0, 0, 10, 0)
    assert_store(hub, rows + [fixed[6]])


def test_correction_back_to_the_first_values(hub):
    """A -> B -> A: the third import is a correction too, and cannot take
    A's id (the hub holds it): it gets a new one, superseding B."""
    [a] = rows_for(2104, 1, absent=4)
    b = dataclasses.replace(a, absent=40)
    imported(hub, "a.csv", [a])
    imported(hub, "b.csv", [b])
    third = imported(hub, "a-again.csv", [a])
    assert counts(third) == (1, 1, 1, 0, 1)
    got = wait_stored(hub, 3)
    ida, idb = event_id(hub, a), event_id(hub, b)
    assert got[idb]["supersedes"] == ida
    [reissued] = set(got) - {ida, idb}
    assert got[reissued]["supersedes"] == idb
    assert reissued[:16] == ida[:16]        # the same occurred_at
    # The same file once more: nothing.
    assert counts(imported(hub, "a-again2.csv", [a])) == (1, 0, 0, 1, 0)
    assert hub.stats()["log_events"] == 3


def test_corrections_reach_the_hub_after_what_they_correct(make_hub):
    """Forty records and a correction of each, in one file, while the hub
    is down; then flush. Ids sort at random within a day, but the hub must
    store every correction after the event it corrects (and the second
    correction of one record after the first), or it would hold the old
    values as the latest."""
    hub = make_hub(start=False)
    rows = rows_for(2105, 40, absent=4)
    fixed = [dataclasses.replace(r, absent=9) for r in rows]
    again = [dataclasses.replace(rows[0], absent=12)]
    hub.cprs.update(r.cpr for r in rows)
    path, _ = hub.csv("both.csv", rows + fixed + again)
    r = hub.adapter("import", path, timeout=1)
    assert r.rc == 2, str(r)
    assert counts(r.summary) == (81, 81, 41, 0, 0)
    hub.start()
    f = hub.adapter("flush")
    assert (f.rc, f.summary["accepted"]) == (0, 81), str(f)
    got = wait_stored(hub, 81)
    for a, b in zip(rows, fixed):
        ia, ib = event_id(hub, a), event_id(hub, b)
        assert got[ib]["supersedes"] == ia
        assert got[ia]["supersedes"] == ""
        assert got[ib]["seq"] > got[ia]["seq"], (got[ia], got[ib])
    ic = event_id(hub, again[0])
    assert got[ic]["supersedes"] == event_id(hub, fixed[0])
    assert got[ic]["seq"] > got[event_id(hub, fixed[0])]["seq"]


# ------------------------------------------------- supersedes in a timeline

def timeline(hub, caseworker, cpr):
    """TIMELINE over the caseworker's own CURVE connection: the Result."""
    m = pb()
    ctx = zmq.Context()
    sock = curve_dealer(ctx, hub, caseworker, hub.delivery)
    try:
        sock.send(bytes([1, 7]) + m.Query(request_id=21, kind=m.TIMELINE,
                                          cpr=cpr).SerializeToString())
        assert sock.poll(int(10 * SLOW * 1000), zmq.POLLIN), "no Result"
        data = sock.recv()
        assert data[:2] == bytes([1, 8]), data[:2]
        r = m.Result.FromString(data[2:])
        assert (r.request_id, r.code) == (21, 0), r
        return {e.event_id: e for e in r.timeline if not e.is_alert}
    finally:
        sock.close(0)
        ctx.destroy(linger=0)


def test_only_a_later_event_of_the_same_agency_supersedes(make_hub):
    """PROTOCOL.md §3 "supersedes" and §4 TIMELINE: an entry is marked
    superseded only when a later event of the same agency names it. Another
    agency's event naming it is a new event and marks nothing; an id the
    hub does not hold marks nothing, not even when that id arrives later;
    an event naming itself is refused."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = pb()
    cpr = CprGen(2106).next()
    hub.assign(cpr, "cw-anna")
    report = ev_absence(cpr, "2026-08-31", 2)
    fixed = ev_absence(cpr, "2026-08-31", 3)
    fixed.supersedes = report.event_id
    # The college names the school's report: not a correction of it.
    foreign = ev_dropout(cpr, "2026-09-01")
    foreign.supersedes = report.event_id
    # Named before the event it names is stored: a new event.
    early = ev_dropout_risk(cpr, "2026-09-02")
    late = ev_dropout_risk(cpr, "2026-09-03")
    early.supersedes = late.event_id
    hub.send(report, foreign, early, late)
    got = timeline(hub, "cw-anna", cpr)
    assert not any(e.superseded for e in got.values()), got
    assert not got[report.event_id].summary.endswith("(superseded)")

    # The school's own later correction marks its report, and only it.
    hub.send(fixed)
    got = timeline(hub, "cw-anna", cpr)
    assert got[report.event_id].superseded
    assert got[report.event_id].summary.endswith(" (superseded)")
    assert [i for i, e in got.items() if e.superseded] == [report.event_id]

    # An event naming itself: E_MALFORMED, nothing stored.
    stored_before = hub.wait_applied()["log_events"]
    own = ev_dropout(cpr, "2026-09-04")
    own.supersedes = own.event_id
    [ack] = hub.acks(own)
    assert (ack.status, ack.code, ack.event_id) == \
        (m.REJECTED, m.E_MALFORMED, own.event_id), ack
    assert ack.reason == ("supersedes names the event itself (it must be "
                          "the id of the earlier event it corrects)")
    assert own.event_id not in timeline(hub, "cw-anna", cpr)
    assert hub.wait_applied()["log_events"] == stored_before


def test_long_summary_keeps_its_superseded_mark(make_hub):
    """§4 TIMELINE: a corrected event's summary ends " (superseded)",
    also when the summary was shortened to fit: the mark is never the
    part cut off."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(2107).next()
    hub.assign(cpr, "cw-anna")
    # 250 bytes of two-byte characters: a summary far over its length.
    first = ev_dropout(cpr, "2026-09-01", programme="\u00f8" * 125)
    fixed = ev_dropout(cpr, "2026-09-01", programme="\u00e6" * 125)
    fixed.supersedes = first.event_id
    hub.send(first)
    hub.send(fixed)
    got = timeline(hub, "cw-anna", cpr)
    old, new = got[first.event_id], got[fixed.event_id]
    assert old.superseded and not new.superseded
    assert old.summary.endswith("\u00f8 (superseded)"), old.summary
    assert new.summary.startswith("dropped out of \u00e6"), new.summary
    assert len(old.summary.encode()) <= len(new.summary.encode()) + 1


def test_file_with_a_row_and_its_correction_imported_again(hub):
    """ADAPTERS.md, the caveat: a file holding a record and its
    correction (A then B, one key) sends both; imported again, A reads
    as a correction back to A and B as one back to B: both go again,
    each superseding the one before, and the hub ends with B."""
    [cpr] = CprGen(2111).take(1)
    a = AbsenceRow(cpr, absent=4)
    b = dataclasses.replace(a, absent=6)
    assert counts(imported(hub, "ab.csv", [a, b])) == (2, 2, 1, 0, 2)
    again = imported(hub, "ab.csv", [a, b])
    assert counts(again) == (2, 2, 2, 0, 2)
    got = wait_stored(hub, 4)
    chain = {r["supersedes"]: r["event_id"] for r in got.values()
             if r["supersedes"]}
    first = event_id(hub, a)
    assert not got[first]["supersedes"]
    # One line of supersession: A <- B <- A' <- B'.
    link, seen = first, [first]
    while link in chain:
        link = chain[link]
        seen.append(link)
    assert len(seen) == 4, got
    assert seen[1] == event_id(hub, b)
