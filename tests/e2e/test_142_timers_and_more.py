"""142 what OPERATIONS.md says of `hubctl stats`' figures that move only
at a moment it names, checked from outside with a real hubd."""

import json
import shutil

from hubtest import CprGen, ev_dropout
from test_53_delivery import (anna_with_one_dropout, clients,  # noqa: F401
                              hub53, open_ids)
from test_81_report import report
from test_107_mgmt_third import CONTACT, clock


def test_an_acknowledged_alerts_deadline_counts_until_a_rebuild(
        make_hub, clients):  # noqa: F811
    """OPERATIONS.md, hubctl stats: `timers` counts the stored timers;
    one stays stored until it falls due, so an alert acknowledged
    before its deadline still counts its deadline, and a rebuild of
    `derived/` stores none for alerts already acknowledged. A dropout
    of an adult stores two timers, one of them its alert's
    acknowledgement deadline; acknowledged, still two; rebuilt, one."""
    hub = hub53(make_hub)
    _, a, _ = anna_with_one_dropout(hub, clients, 13190)
    assert hub.stats()["timers"] == 2
    a.hello()
    [x] = a.wait_alerts(1)
    a.ack(x.alert_id)
    assert open_ids(a, 905) == []
    st = hub.stats()
    assert (st["timers"], st["alerts_open"]) == (2, 0), st
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    st = hub.wait_applied()
    assert (st["timers"], st["alerts_open"]) == (1, 0), st


def test_corrected_twice_naming_the_first_report_counts_once(make_hub,
                                                              tmp_path):
    """RULES.md §3: a correction may name the first report or any
    correction of it, and corrects the fact as the latest of them left
    it. OPERATIONS.md, the annual status: a superseded event is not
    counted, "as in the rules and the timeline"; PROTOCOL.md §4: the
    timeline marks what a later correction replaced. Six dropouts
    corrected twice, both corrections naming the first report, and six
    corrected once, all 16 years old: twelve dropouts and twelve
    contact clocks in the report, and the timeline marks the first
    report and the first correction superseded, the second not. (The
    second correction opened a clock of its own, 18, and the first was
    shown as in force.)"""
    from test_92_timeline import run_inbox
    hub = hub53(make_hub)
    gen = CprGen(14201)
    twice = [gen.born("2010-03-%02d" % (i + 1)) for i in range(6)]
    once = [gen.born("2010-04-%02d" % (i + 1)) for i in range(6)]
    hub.assign(twice[0], "cw-anna")
    firsts = {p: ev_dropout(p, "2026-10-20") for p in twice + once}
    hub.send(*firsts.values())
    fixes, lasts = [], {}
    for p in twice + once:
        fix = ev_dropout(p, "2026-10-21", programme="hhx")
        fix.supersedes = firsts[p].event_id
        fixes.append(fix)
    hub.send(*fixes)
    for p in twice:
        last = ev_dropout(p, "2026-10-22", programme="htx")
        last.supersedes = firsts[p].event_id
        lasts[p] = last
    hub.send(*lasts.values())
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    total = {r[0]: r[1:] for r in tables["dropouts"][1:]}["Total"]
    assert sum(int(v) for v in total) == 12, tables["dropouts"]
    assert clock(tables, CONTACT) == ["0", "12", "0", "0", "12"], \
        tables["clocks"]
    rc, out, err = run_inbox(hub, "cw-anna", "--timeline", twice[0],
                             "--json")
    assert (rc, err) == (0, ""), err
    shown = [json.loads(line) for line in out.splitlines()]
    marks = [(e["summary"], e["superseded"]) for e in shown
             if e.get("type") == "Dropout"]
    assert marks == [
        ("dropped out of eud-smed at college-x (superseded)", True),
        ("dropped out of hhx at college-x (superseded)", True),
        ("dropped out of htx at college-x", False)], marks
