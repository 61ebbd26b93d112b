"""129 the annual status, a fifth reading (OPERATIONS.md "The annual
status", "The tables, exactly", "Suppression of small cells"), and a
crash sentence of SECURITY.md ("What a crash can lose", "Checkpoints"):
figures worked out by hand from the doc alone for the second cases its
sentences name that earlier rounds left out: the ages 15-24 on the
month's last day, a benefit period as one Jobcenter, benefit and start,
the doc's own programme-type examples, every anonymous stage, a
correction chain and a correction of another type, what an erasure does
to last year's figures, the offer row's and the dropout risks' twins in
the alerts table, the report's printed line and its standard output,
and the records a kill -9 left unsigned."""

import json
import os
import re
import shutil
import signal
import subprocess
import time

from hubtest import ROOT, CprGen, binary, dropout_alert, ev_absence, \
    ev_dropout, ev_dropout_risk, ev_enrolment, ev_leaving, ev_readiness, \
    event, rules_hub, wait_for
from test_80_ops import preload_env, preload_shim
from test_81_report import SLOW_FCHMOD, assert_no_recompute, cells, \
    report, signalled_once_it_writes, three_readiness_and_twenty
from test_107_mgmt_third import CONTACT, OFFER, QUIET, act, annas_youth, \
    clock
from test_119_mgmt_fourth import MEASURES, born_in, rows


def benefit(cpr, start, stop="", kind="EDUCATION_BENEFIT"):
    return event("jobcenter-a", cpr, "benefit_status", jobcenter="jc-a",
                 benefit=kind, start=start, stop=stop)


def anonymous(stage):
    return event("addiction-a", "", "addiction_referral",
                 sensitivity="ANONYMOUS", service="rmc-a",
                 date="2026-03-02", stage=stage)


def corrected(fixes, firsts):
    for fix, first in zip(fixes, firsts):
        fix.supersedes = first.event_id
    return fixes


def test_a_cohort_worked_out_by_hand_from_the_doc(make_hub, tmp_path):
    """One cohort, every figure from the doc alone (January to May 2026):

    neet, "aged 15 to 24 on D" (D the month's last day; a year older from
    the birthday on): a Dropout on 01-15 of 5 who turn 25 on 02-28 (Jan
    only), 6 who turn 25 on 03-01 (Jan, Feb), 7 who turn 15 on 02-28
    (from Feb) and 8 who turn 15 on 03-01 (from Mar). A benefit period
    is "one Jobcenter, benefit and start": 5 with an education and a
    cash benefit from 01-01, the education benefit stopped 02-10 (still
    on benefit: every month); 6 whose period of 01-01 stopped 01-20 and
    another of 02-01 runs (from Feb); 7 stopped on 03-31, "the stop day
    itself still counts" (Jan-Mar). 8 on benefit enrolled from 03-15
    (Jan, Feb); 9 who left school 02-10 and enrolled from 04-01 (Feb,
    Mar). Corrections ("a later event of the same agency about the same
    person whose supersedes names it"): 5 Dropouts superseded by a
    DropoutRisk (no dropout: a risk, and not without attachment); 6
    Dropouts corrected twice, to eud-d on 03-04 (one dropout, at eud-d);
    7 Dropouts at eud-e naming an event stored only after them, the one
    at eud-f (no correction: both count; from Mar).

    Programme types as the doc's examples write them (`STX`,
    `Eud-tomrer`, `GYM-nord`, the prefixes), five each; every anonymous
    stage; readiness assessed in grades 7 and 10 (not counted)."""
    hub = rules_hub(make_hub, "2026-06-01T08:00:00", rules=MEASURES)
    gen = CprGen(12901)
    turn25_feb = [gen.born("2001-02-28") for _ in range(5)]
    turn25_mar = [gen.born("2001-03-01") for _ in range(6)]
    turn15_feb = [gen.born("2011-02-28") for _ in range(7)]
    turn15_mar = [gen.born("2011-03-01") for _ in range(8)]
    two_kinds = born_in(gen, "2005-01", 5)
    two_starts = born_in(gen, "2005-02", 6)
    stop_day = born_in(gen, "2005-03", 7)
    enrolled = born_in(gen, "2005-04", 8)
    left = born_in(gen, "2005-05", 9)
    risk_fix = born_in(gen, "2005-06", 5)
    chain = born_in(gen, "2005-07", 6)
    forward = born_in(gen, "2005-08", 7)
    pupils = born_in(gen, "2011-06", 5)
    ages = turn25_feb + turn25_mar + turn15_feb + turn15_mar
    hub.send(*[ev_dropout(c, "2026-01-15") for c in ages],
             *[benefit(c, "2026-01-01", kind=k) for c in two_kinds
               for k in ("EDUCATION_BENEFIT", "CASH_BENEFIT")],
             *[benefit(c, start) for c in two_starts
               for start in ("2026-01-01", "2026-02-01")],
             *[benefit(c, "2026-01-01") for c in stop_day + enrolled],
             *[ev_leaving(c, "2026-02-10") for c in left])
    hub.send(*[benefit(c, "2026-01-01", "2026-02-10") for c in two_kinds],
             *[benefit(c, "2026-01-01", "2026-01-20") for c in two_starts],
             *[benefit(c, "2026-01-01", "2026-03-31") for c in stop_day],
             *[ev_enrolment(c, "2026-03-15") for c in enrolled],
             *[ev_enrolment(c, "2026-04-01") for c in left])
    # Corrections.
    dropped = [ev_dropout(c, "2026-03-02", institution="eud-a")
               for c in risk_fix]
    first = [ev_dropout(c, "2026-03-02", institution="eud-b") for c in chain]
    hub.send(*dropped, *first)
    second = corrected([ev_dropout(c, "2026-03-03", institution="eud-c")
                        for c in chain], first)
    hub.send(*second,
             *corrected([ev_dropout_risk(c, "2026-03-02",
                                         institution="eud-a")
                         for c in risk_fix], dropped))
    hub.send(*corrected([ev_dropout(c, "2026-03-04", institution="eud-d")
                         for c in chain], second))
    later = [ev_dropout(c, "2026-03-02", institution="eud-f")
             for c in forward]
    hub.send(*corrected([ev_dropout(c, "2026-03-02", institution="eud-e")
                         for c in forward], later))
    hub.send(*later)
    # Programme types, anonymous stages, readiness outside grades 8-9.
    types = [("x-inst", "STX"), ("y-inst", "Eud-tomrer"), ("GYM-nord", "zzz"),
             ("h", "HF2"), ("i", "IB"), ("j", "eux"), ("m", "htx"),
             ("n", "hhx"), ("Fgu-a", "x"), ("o", "other")]
    starters = [gen.born("2008-06-15") for _ in range(5 * len(types))]
    hub.send(*[ev_enrolment(starters[5 * i + j], "2026-03-02",
                            institution=inst, programme=prog)
               for i, (inst, prog) in enumerate(types) for j in range(5)],
             *[anonymous(stage) for stage, n in
               (("REFERRED", 5), ("TREATMENT_STARTED", 6),
                ("TREATMENT_ENDED", 7)) for _ in range(n)],
             *[ev_readiness(c, "2026-03-02", g) for c in pupils
               for g in (7, 10)])
    hub.wait_applied()
    period = ("--from", "2026-01-01", "--to", "2026-05-31")
    out, tables = report(hub, tmp_path, *period)
    assert rows(tables, "neet") == {
        "2026-01": ["31"],   # 5+6 (ages), 5, 7, 8 (benefits)
        "2026-02": ["48"],   # 6+7, 5, 6, 7, 8, 9
        "2026-03": ["55"],   # 7+8, 5, 6, 7, 9, 6 (chain), 7 (forward)
        "2026-04": ["39"],   # 7+8, 5, 6, 6, 7
        "2026-05": ["39"]}
    assert tables["enrolments"][1:] == [
        ["gymnasium", "30"], ["EUD", "10"], ["FGU", "22"], ["other", "5"],
        ["Total", "67"]]
    assert "<li>Share of enrolments heading for vocational education " \
        "(EUD): 14.9 % (10 of 67)</li>" in out.read_text()
    assert tables["dropouts"][1:] == [
        ["Fgu-a (FGU)", "5", "0", "0"],
        ["GYM-nord (gymnasium)", "5", "0", "0"],
        ["college-x (EUD)", "0", "0", "26"],
        ["eud-a (EUD)", "0", "5", "0"],
        ["eud-d (EUD)", "0", "0", "6"],
        ["eud-e (EUD)", "0", "0", "7"],
        ["eud-f (EUD)", "0", "0", "7"],
        ["fgu-vest (FGU)", "17", "0", "0"],
        ["h (gymnasium)", "5", "0", "0"],
        ["i (gymnasium)", "5", "0", "0"],
        ["j (EUD)", "5", "0", "0"],
        ["m (gymnasium)", "5", "0", "0"],
        ["n (gymnasium)", "5", "0", "0"],
        ["o (other)", "5", "0", "0"],
        ["x-inst (gymnasium)", "5", "0", "0"],
        ["y-inst (EUD)", "5", "0", "0"],
        ["Total", "67", "5", "46"]]
    assert tables["anonymous"][1:] == [
        ["referred", "5"], ["treatment started", "6"],
        ["treatment ended", "7"], ["other", "0"], ["Total", "18"]]
    assert tables["readiness"][1:] == [["Total", "0", "0", "0"]]
    # An erasure takes the person out of last year's figures too: one
    # who turned 25 on 03-01 no longer counts in January or February.
    hub.hubctl("erase", "--cpr", turn25_mar[0], "--reason", "case 129")
    _, tables = report(hub, tmp_path, *period)
    assert rows(tables, "neet") == {
        "2026-01": ["30"], "2026-02": ["47"], "2026-03": ["55"],
        "2026-04": ["39"], "2026-05": ["39"]}
    assert rows(tables, "dropouts")["college-x (EUD)"] == ["0", "0", "25"]
    for t in tables.values():
        assert_no_recompute(t)


def test_the_offer_rows_misses_not_given_back_by_the_alerts(make_hub,
                                                            tmp_path):
    """OPERATIONS.md, suppression rule 2: the clocks table's `missed` of
    the offer row and the alerts table's `raised` of
    `deadline.offer.missed` count mostly the same misses. 23 contacted
    16-year-olds, 3 offered in time, 20 not: the 3 is `<5`, the 20 `x`
    beside it, and the 20 offer-missed alerts must not show it either
    (23 - 20 = 3); the alerts' raised column then hides a second figure,
    the dropouts, and so the dropouts table's Total of dropped out."""
    hub = rules_hub(make_hub, "2026-09-01T08:00:00", rules=QUIET)
    youth = annas_youth(hub, 12903, "2010-02", 23, dropout="2026-09-01")
    hub.set_clock("2026-09-02T09:00:00")
    act(hub, youth, "contact", None)
    hub.wait_applied()
    hub.set_clock("2026-09-20T09:00:00")
    act(hub, youth[:3], "offer", None)
    hub.wait_applied()
    hub.advance("2026-10-06T10:00:00")     # the offers were due 10-02
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert clock(tables, OFFER) == ["<5", "x", "0", "0", "23"]
    a = cells(tables["alerts"])
    assert (a[("deadline.offer.missed", "raised")],
            a[("dropout", "raised")], a[("Total", "raised")]) == \
        ("x", "x", "43")
    assert cells(tables["dropouts"])[("Total", "dropped out")] == "x"
    for t in tables.values():
        assert_no_recompute(t)


def test_dropout_risks_not_given_back_by_the_alerts(make_hub, tmp_path):
    """OPERATIONS.md, suppression rule 2: every DropoutRisk raises one
    `dropout_risk` alert, so the dropouts table's Total of `dropout risk`
    and the alerts' raised of `dropout_risk` count the same. 3 readiness
    alerts beside 20 risk alerts: the 3 is hidden, the 20 with it, and
    the dropouts table's 20 risks (its row and its Total) too."""
    tables = three_readiness_and_twenty(make_hub, tmp_path, 12904,
                                        ev_dropout_risk)
    a = cells(tables["alerts"])
    assert (a[("readiness", "raised")], a[("dropout_risk", "raised")],
            a[("Total", "raised")]) == ("<5", "x", "23")
    assert tables["dropouts"][1:] == [["eud-a (EUD)", "0", "x", "0"],
                                      ["Total", "0", "x", "0"]]
    for t in tables.values():
        assert_no_recompute(t)


def test_enrolment_within_90_days_of_a_timers_alert(make_hub, tmp_path):
    """OPERATIONS.md, the alerts table: enrolment within 90 days is an
    Enrolment start received "from the alert's day to 90 days after,
    logged after the event that raised the alert (for a timer's alert,
    the event that started the timer)". 11 16-year-olds drop out on
    09-07 and nobody makes contact: the miss is alerted on 09-15. An
    Enrolment start of the education they left (08-01: it closes
    nothing) received on 09-10 counts for the dropout alert of 09-07,
    not for the miss of 09-15; one received on 09-16 counts for both."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", rules=QUIET)
    youth = annas_youth(hub, 12933, "2010-02", 11, dropout="2026-09-07")
    hub.advance("2026-09-10T09:00:00")
    hub.send(*[ev_enrolment(c, "2026-08-01") for c in youth[:5]])
    hub.wait_applied()
    hub.advance("2026-09-16T09:00:00")
    hub.send(*[ev_enrolment(c, "2026-08-01") for c in youth[5:]])
    hub.wait_applied()
    _, tables = report(hub, tmp_path, "--year", "2026")
    assert tables["alerts"][1:] == [
        ["deadline.contact.missed", "11", "0", "0", "0", "6", "0"],
        ["dropout", "11", "0", "0", "0", "11", "0"],
        ["Total", "22", "0", "0", "0", "17", "0"]]
    assert clock(tables, CONTACT) == ["0", "11", "0", "0", "11"]


def test_more_than_five_records_that_do_not_open_fail_the_report(make_hub,
                                                                tmp_path):
    """OPERATIONS.md, The annual status: every log record that does not
    open is named on stderr, the summary names "at most five sequences,
    then `, ... (N in all)`", and the `failed` record's detail is
    `annual status FROM to TO: E events read, 0 alerts, 0 tables; N log
    records do not open (SEQ, ...); nothing written` (E the records that
    opened). 7 of 9 records damaged."""
    from test_60_store_at_rest import dump, load
    hub = make_hub(clock="2026-01-05T10:00:00")
    cprs = CprGen(12932).take(9)
    hub.cprs.update(cprs)
    seqs = [hub.acks(ev_absence(c, "2025-12-29", 1))[0].sequence
            for c in cprs]
    hub.wait_applied()
    hub.stop()
    log = hub.data_dir / "log"
    records = dict(dump(log, "log"))
    damaged = []
    for seq in seqs[1:8]:
        key = seq.to_bytes(8, "big")
        value = bytearray(records[key])
        value[len(value) - 20] ^= 0x01          # in the sealed body
        damaged.append((key, bytes(value)))
    load(log, "log", damaged)
    hub.start()
    d = tmp_path / "status"
    d.mkdir()
    p = hub.hubctl("report", "--year", "2025", "--out",
                   str(d / "status.html"), check=False)
    named = ", ".join(str(s) for s in seqs[1:6]) + ", ... (7 in all)"
    assert (p.returncode, p.stdout, os.listdir(d)) == (1, "", []), p
    for seq in seqs[1:8]:
        assert f"STORE-SEAL log record {seq} does not open with the " \
            "storage key" in p.stderr, p.stderr
    assert p.stderr.splitlines()[-1] == (
        f"hubctl: report failed: 7 log records do not open with the "
        f"storage key ({named}; STORE-SEAL above): the status would leave "
        f"their events out of its figures; nothing written. Treat it as "
        f"damage to the store: see OPERATIONS.md, \"Records that do not "
        f"open\"")
    assert report_audit(hub) == [(
        "failed", f"annual status 2025-01-01 to 2025-12-31: 2 events read, "
        f"0 alerts, 0 tables; 7 log records do not open ({named}); "
        f"nothing written")]


def report_audit(hub):
    shown = hub.hubctl("audit", "show", "--json").stdout
    return [(r["result"], r["detail"]) for r in map(json.loads,
                                                    shown.splitlines())
            if r["action"] == "report"]


def test_the_reports_line_and_its_standard_output(make_hub, tmp_path):
    """OPERATIONS.md: `wrote status.html and 9 tables as ./status-*.csv`
    for a FILE without a directory; the line standard output cannot
    take (a full disk, or closed, `>&-`) leaves the files written and
    the report recorded `ok`, exit 1, `hubctl: report: cannot write
    standard output: WHY; the report was written all the same`; and
    hubctl stopped with SIGTERM while it writes leaves none of its
    files, the last report's as they were."""
    hub = make_hub()
    cmd = f"{binary('hubctl')} --config {hub.conf} report --year 2026 --out"
    p = subprocess.run(cmd.split() + ["status.html"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "wrote status.html and 9 tables as ./status-*.csv\n", "")
    for redirect, why in ((">/dev/full", "No space left on device"),
                          (">&-", "Bad file descriptor")):
        d = tmp_path / why.split()[0]
        d.mkdir()
        p = subprocess.run(f"{cmd} {d}/status.html {redirect}", shell=True,
                           stderr=subprocess.PIPE, text=True)
        assert (p.returncode, p.stderr) == (
            1, f"hubctl: report: cannot write standard output: {why}; "
            "the report was written all the same\n")
        assert len([n for n in os.listdir(d)
                    if re.fullmatch(r"status(-\w+\.csv|\.html)", n)]) == 10
    assert report_audit(hub) == [
        ("ok", "annual status 2026-01-01 to 2026-12-31: 0 events read, "
         "0 alerts, 9 tables")] * 3
    # SIGTERM while it writes: each run's Nth file is held open 0.3 s.
    shim = preload_shim(tmp_path, "slowfchmod", SLOW_FCHMOD)
    d = tmp_path / "term"
    d.mkdir()
    (d / "status.html").write_text("last year's page")
    caught = 0
    for nth in (1, 5, 10):
        env = preload_env(shim, SLOW_FCHMOD_DIR=str(d),
                          SLOW_FCHMOD_NTH=str(nth))
        p, hit = signalled_once_it_writes(
            cmd.split() + [str(d / "status.html")], env, d, signal.SIGTERM)
        caught += hit
        if p.returncode == 0:            # finished before it was caught
            for n in os.listdir(d):
                os.unlink(d / n)
            (d / "status.html").write_text("last year's page")
            continue
        assert sorted(os.listdir(d)) == ["status.html"]
        assert (d / "status.html").read_text() == "last year's page"
    assert caught >= 2, f"only {caught} of 3 reports caught while they wrote"


def test_records_a_kill9_left_unsigned_are_kept_and_signed_at_start(
        make_hub):
    """SECURITY.md: deliveries are written in one synced transaction once
    a second, so a crash of hubd loses at most the last second's; a
    checkpoint is signed "at hubd's first loop turn (covering what
    hubctl or a crash left unsigned)". An alert delivered, more than a
    second, then kill -9: its `deliver` record is there, unsigned, and
    the restart signs it without a stop; the export still counts the
    delivery."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    [cpr] = CprGen(12910).take(1)
    dropout_alert(hub, cpr)
    # audit verify writes no record (no checkpoint of hubctl's either):
    # wait for hubd's once-a-second write of the delivery.
    wait_for(lambda: "not yet signed" in hub.hubctl("audit",
                                                    "verify").stdout,
             10, "the deliver record written")
    hub.kill9()
    p = hub.hubctl("audit", "verify")
    m = re.fullmatch(r"audit trail intact: (\d+) records, \d+ signed "
                     r"checkpoints \(last at record (\d+)\), head at record "
                     r"(\d+)\nlast checkpoint: record \d+, head [0-9a-f]{64}\n"
                     r"records (\d+)\.\.(\d+) come after the last checkpoint: "
                     r"chained and sealed, not yet signed\n", p.stdout)
    assert m, p.stdout
    records = int(m.group(1))
    assert int(m.group(2)) < records == int(m.group(3)) == int(m.group(5))
    hub.start()
    # No hubctl command that writes a record (its checkpoint would cover
    # them) until hubd signed them.
    signed = f"(last at record {records}), head at record {records}"
    deadline = time.monotonic() + 10
    while True:
        p = hub.hubctl("audit", "verify")
        if signed in p.stdout or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert signed in p.stdout and "not yet signed" not in p.stdout, p.stdout
    # Run directly: the harness's hubctl log would keep what it prints.
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "export", "--cpr", cpr], capture_output=True,
                       text=True)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    [alert] = doc["alerts"]
    assert alert["deliveries"] == 1, alert
    assert [(r["action"], r["detail"]) for r in doc["audit"]
            if r["action"] == "deliver"] == [("deliver", alert["id"])]


STATS = ("log_events", "last_seq", "last_applied", "event_ids",
         "assignments", "principals", "alerts", "alerts_open",
         "person_index_entries", "timers", "audit_records", "log_bytes",
         "derived_bytes", "ids_bytes", "log_map_bytes", "derived_map_bytes",
         "ids_map_bytes")


def test_stats_lines_as_the_doc_shows_them(make_hub):
    """OPERATIONS.md, Monitoring: `hubctl stats` prints one line each, the
    name padded with blanks to 22 characters, a blank and the value
    (the doc's own example line, `log_events             12`), in the
    doc's order; `--json` one object on one line, in the same order.
    (The doc said "one `name value` line", which a reader splits on the
    one blank it names.)"""
    doc = (ROOT / "docs" / "OPERATIONS.md").read_text()
    assert "(`%-22s 12`;" % "log_events" in doc
    assert '`{"log_events": 12, "last_seq": 12, ...}`, in this order' in doc
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    hub.send(*[ev_dropout(c, "2026-09-07") for c in CprGen(12914).take(2)])
    hub.wait_applied()
    p = subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "stats", "--json"], capture_output=True, text=True)
    assert p.returncode == 0 and p.stdout.count("\n") == 1, p
    values = json.loads(p.stdout)
    assert list(values) == list(STATS)
    assert p.stdout == "{" + ", ".join(f'"{k}": {v}' for k, v in
                                       values.items()) + "}\n"
    lines = hub.hubctl("stats").stdout.splitlines()
    assert [line[:23] for line in lines] == ["%-22s " % k for k in STATS]
    assert all(line[23:].isdigit() for line in lines), lines
    # The same figures (but the files' bytes and hubd's audit records,
    # written once a second, which may grow in between).
    steady = [k for k in STATS if "_bytes" not in k and k != "audit_records"]
    assert [line for line in lines if line.split()[0] in steady] == \
        ["%-22s %d" % (k, values[k]) for k in steady]
    assert "%-22s 2" % "log_events" in lines


def test_the_status_is_the_same_after_derived_is_rebuilt(make_hub, tmp_path):
    """OPERATIONS.md, "After an OS crash or a power loss": stop hubd,
    delete `data_dir/derived/`, start it; it replays the whole log, "the
    alerts it raises again are the ones already stored, kept once;
    acknowledged ones stay acknowledged" (an open alert keeps its
    escalation steps). So last year's status reads the same after it:
    every table, the alerts', clocks' and acknowledgements' included,
    and `hubctl stats` counts as many alerts, as many open."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules=QUIET)
    youth = annas_youth(hub, 12935, "2010-02", 12, dropout="2026-09-07")
    annas_youth(hub, 12936, "1995-03", 6, dropout="2026-09-07")
    hub.advance("2026-09-08T09:00:00")
    act(hub, youth[:7], "contact", None)
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=5)  # acknowledged
    assert rc == 0 and len(alerts) == 5, err
    hub.advance("2026-09-16T09:00:00")
    hub.send(*[ev_enrolment(c, "2026-10-01") for c in youth[7:10]])
    hub.wait_applied()
    hub.advance("2026-10-20T09:00:00")
    (tmp_path / "before").mkdir()
    (tmp_path / "after").mkdir()
    _, before = report(hub, tmp_path / "before", "--year", "2026")
    counted = hub.stats()
    hub.stop()
    shutil.rmtree(hub.data_dir / "derived")
    hub.start()
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.")
    hub.wait_applied()
    _, after = report(hub, tmp_path / "after", "--year", "2026")
    assert after == before
    a = cells(after["alerts"])
    assert (a[("dropout", "raised")], a[("dropout", "acknowledged")],
            a[("Total", "raised")]) == ("18", "5", "33"), after["alerts"]
    assert clock(after, OFFER) == ["0", "7", "0", "0", "7"]
    now = hub.stats()
    assert (now["alerts"], now["alerts_open"]) == \
        (counted["alerts"], counted["alerts_open"])
