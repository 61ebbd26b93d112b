"""OPERATIONS.md as municipal IT operations use it, a fourth reading:
what the Monitoring list and the runbooks quote, checked against what
the programs say."""

import fcntl
import json
import os
import re
import shutil
import subprocess
import time

import hubtest
from hubtest import CprGen, IngestClient
from test_82_metrics import metrics_hub, scrape, value


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


def test_no_timer_fires_while_the_log_cannot_be_applied(make_hub):
    """OPERATIONS.md, "Where data lives": while the log cannot be applied
    (the derived map full) no timer fires — no acknowledgement
    escalation —, and they fire at the first loop turn after the log is
    applied again; Metrics: `ungebro_timers_overdue_seconds` is how long
    the earliest timer has been due without firing, 0 when none is due.
    A full derived map is what keeps it firing late here."""
    hub = metrics_hub(make_hub, clock="2026-03-02T08:00:00",
                      settings={"derived_map_mb": "1"})
    hub.absence_alerts("cw-anna", CprGen(11701).take(1), "timer",
                       absent=30)
    hub.wait_applied()
    s, _ = scrape(hub)
    assert (value(s, "ungebro_timers"),
            value(s, "ungebro_timers_overdue_seconds")) == (1, 0)
    fillers = CprGen(11702).take(8000)
    hub.cprs.update(fillers)
    with IngestClient(hub, "school-a") as cli:
        _, refused = hubtest.send_until_refused(cli, fillers, "fill")
    assert refused and refused[0].code == hubtest.E_FULL, refused
    # The acknowledgement deadline (72 office hours) passes on the hub
    # clock while nothing can be applied.
    hub.set_clock("2026-03-30T08:00:00")
    hubtest.wait_for(lambda: value(scrape(hub)[0],
                                   "ungebro_timers_overdue_seconds") > 0,
                     10, "the escalation timer due and not fired")
    time.sleep(1.5 * hubtest.SLOW)
    s, _ = scrape(hub)
    assert value(s, "ungebro_timers") == 1
    assert value(s, "ungebro_timers_overdue_seconds") > 86400
    assert "HUB-ESCALATE" not in hub.log_text()
    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    hub.start()
    hub.wait_log(r"notice HUB-ESCALATE alert [0-9a-f]+ not acknowledged "
                 r"in time; notice [0-9a-f]+ to duty-desk")
    s, _ = scrape(hub)
    assert value(s, "ungebro_timers_overdue_seconds") == 0


def hubctl(*args):
    return subprocess.run([hubtest.binary("hubctl"), *map(str, args)],
                          capture_output=True, text=True, timeout=60)


def test_restore_with_other_signing_keys_restores_and_warns(make_hub):
    """OPERATIONS.md, Backup and restore, step 3: with another signing
    pair in keys_dir, or none, the data is still restored (exit 0) and
    restore warns `the restored audit trail does not verify with
    KEYS_DIR/hub.sign_public (record N: ...)`, or `... cannot be
    verified: ...` without hub.sign_public; a data_dir or DIR that is a
    file is `not empty (not a directory)`, exit 1."""
    hub = make_hub()
    hub.send(hubtest.envelope("school-a", CprGen(11703).take(1)[0], "r"))
    backup = hub.tmp / "backup"
    hub.hubctl("backup", str(backup))
    hub.stop()
    other = hub.tmp / "other-pair"
    shutil.copytree(hub.keys_dir, other)
    for name in ("hub.sign_public", "hub.sign_secret"):
        (other / name).unlink()
    assert hubctl("keygen", "--keys_dir", other, "hub").returncode == 0
    none = hub.tmp / "no-public"
    shutil.copytree(hub.keys_dir, none)
    (none / "hub.sign_public").unlink()
    line = (f"restored from {backup}: log up to sequence 1 (1 events); "
            "run hubctl audit verify, then start hubd\n")
    p = hubctl("restore", backup, "--keys_dir", other, "--data_dir",
               hub.tmp / "d-other")
    assert (p.returncode, p.stdout) == (0, line), p
    assert p.stderr.startswith(
        "hubctl: restore: warning: the restored audit trail does not "
        f"verify with {other}/hub.sign_public (record 1: "), p.stderr
    p = hubctl("restore", backup, "--keys_dir", none, "--data_dir",
               hub.tmp / "d-none")
    assert (p.returncode, p.stdout) == (0, line), p
    assert p.stderr.startswith(
        "hubctl: restore: warning: the restored audit trail cannot be "
        f"verified: cannot open {none}/hub.sign_public: No such file or "
        "directory"), p.stderr
    # Both stores hold the backup's events all the same.
    for d in ("d-other", "d-none"):
        p = hubctl("stats", "--json", "--keys_dir", hub.keys_dir,
                   "--data_dir", hub.tmp / d)
        assert json.loads(p.stdout)["log_events"] == 1, p
    afile = hub.tmp / "a-file"
    afile.write_text("x")
    p = hubctl("restore", backup, "--keys_dir", hub.keys_dir,
               "--data_dir", afile)
    assert (p.returncode, p.stderr) == (
        1, f"hubctl: restore: {afile} is not empty (not a directory)\n"), p
    hub.start()
    p = hub.hubctl("backup", str(afile), check=False)
    assert (p.returncode, p.stdout, p.stderr) == (
        1, "", f"hubctl: backup: {afile} is not empty (not a directory)\n")
    assert afile.read_text() == "x"


def test_hub_stop_counts_refused_keys_and_hello_names_a_desk_member(
        make_hub):
    """OPERATIONS.md, Monitoring: HUB-STOP's `keys admitted N, refused N`
    are the CURVE keys HUB-ZAP let in and refused (a key registered as
    another kind on an endpoint is refused too); HUB-HELLO says a desk
    member's session as `caseworker ID connected (desk member), N open
    alerts` (info)."""
    import zmq
    hub = make_hub()
    ctx = zmq.Context()
    try:
        for key, endpoint in (("cw-anna", "ingest"),
                              ("school-a", "delivery")):
            sock = hubtest.curve_dealer(ctx, hub, key,
                                        getattr(hub, endpoint))
            hub.wait_log(r"warn HUB-ZAP refused CURVE client from "
                         rf"127\.0\.0\.1 on {endpoint}: key registered "
                         r"as an? (caseworker|agency) \(key ")
            sock.close()
    finally:
        ctx.destroy(linger=0)
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=1)
    assert rc == 0 and alerts == [], err
    hub.wait_log(r"info HUB-HELLO caseworker desk-dora connected \(desk "
                 r"member\), 0 open alerts\n")
    hub.stop()
    log = hub.log_text()
    refused = len(re.findall(r"warn HUB-ZAP refused CURVE client", log))
    admitted = len(re.findall(r"info HUB-ZAP admitted ", log))
    assert refused >= 2, log
    assert re.search(rf"HUB-STOP accepted 0, duplicates 0, rejected 0, "
                     rf"alerts raised 0, delivered 0, acked 0, keys "
                     rf"admitted {admitted}, refused {refused}, ", log), log


def test_a_backup_into_a_dir_another_backup_holds_is_refused(make_hub):
    """OPERATIONS.md, Backup and restore: a second backup started into a
    DIR that another one is writing is refused as not empty, "even while
    it is still empty: the first keeps it" (exit 1, nothing written), and
    recorded `backup` `failed`; once the first lets go, the same DIR
    takes a backup."""
    hub = make_hub()
    target = hub.tmp / "nightly"
    target.mkdir()
    held = os.open(target, os.O_RDONLY)
    try:
        fcntl.flock(held, fcntl.LOCK_EX)   # as the first backup holds it
        p = hub.hubctl("backup", str(target), check=False)
        assert (p.returncode, p.stdout, p.stderr) == (
            1, "", f"hubctl: backup: {target} is not empty\n"), p
        assert target.is_dir() and not any(target.iterdir())
    finally:
        os.close(held)
    shown = hub.hubctl("audit", "show", "--json").stdout.splitlines()
    last = json.loads(shown[-1])
    assert (last["action"], last["result"], last["detail"]) == \
        ("backup", "failed", str(target)), last
    p = hub.hubctl("backup", str(target))
    assert p.stdout.startswith(f"backup in {target}: log up to sequence "), p


def test_a_reload_naming_another_desk_ends_desk_uncovered(make_hub):
    """OPERATIONS.md, Operational alerts: desk_uncovered ends "when a
    reload (SIGHUP) names another routing.desk (then only the desk in
    force is watched)": the reload alone ends it, with HUB-OPS-CLEARED
    and the metric back at 0, nobody registered for either desk."""
    from test_82_metrics import uncovered_desk_renamed
    hub = uncovered_desk_renamed(make_hub, 11704)
    hub.wait_log(r"notice HUB-OPS-CLEARED desk_uncovered \(duty-desk\) no "
                 r"longer holds\n")
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="desk_uncovered") == 0
    assert "night-desk" not in hub.log_text().split("HUB-RELOAD")[-1]
