"""hubd's own operational checks (OPERATIONS.md, "Operational alerts")
while the store cannot be read: a read that failed tells nothing, so it
neither raises a condition nor ends one. The store is made unreadable as
in test_60 (`readers_taken`: every LMDB reader slot of log/ or derived/
held by this process)."""
import re
import time

import hubtest
from hubtest import CprGen
from test_60_store_at_rest import readers_taken
from test_82_metrics import ops_hub, scrape, value


def test_a_stalled_queue_not_counted_is_not_worked(make_hub):
    """queue_stalled ends when the queue's count goes down. A count that
    could not be taken (log/ unreadable while the hub clock moves a
    minute, which makes hubd count the queues) says nothing of the queue:
    the condition is not cleared then, nor raised anew with a second ops
    alert once the store reads again."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00",
                  {"ops_queue_open": "1", "ops_queue_hours": "2"},
                  {"cw-anna": False, "desk-dora": True})
    hub.absence_alerts("cw-anna", CprGen(6902).take(2), "s", absent=30,
                       expected=100)
    hub.wait_applied()
    hubtest.wait_for(lambda: value(scrape(hub)[0], "ungebro_queue_depth",
                                   recipient="cw-anna") == 2, 10,
                     "two open alerts for cw-anna")
    hub.set_clock("2026-03-02T10:30:00")
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-anna\)")
    assert [a["rule"] for a in hub.peek("ops-olga", 1)] == \
        ["ops.queue_stalled"]
    with readers_taken(hub.data_dir / "log"):
        hub.set_clock("2026-03-02T10:32:00")
        hub.wait_log(r"STORE-LMDB begin read: MDB_READERS_FULL")
        time.sleep(2 * hubtest.SLOW)
    hub.set_clock("2026-03-02T10:34:00")
    time.sleep(2 * hubtest.SLOW)
    log = hub.log_text()
    assert "HUB-OPS-CLEARED" not in log, log
    assert log.count("HUB-OPS-QUEUE-STALLED") == 1, log
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="queue_stalled") == 1
    assert [a["rule"] for a in hub.peek("ops-olga", 1)] == \
        ["ops.queue_stalled"]


def test_a_desk_whose_members_cannot_be_read_is_not_uncovered(make_hub):
    """desk-dora is on the desk (hubctl --desk, kept in log/). The
    contact deadline's warning to the desk is raised while her
    registration cannot be read: one reader slot of log/ is left, so
    the timer fires (one read at a time), but reading a caseworker's
    registration while the list of them is read fails. That is not "no
    registered caseworker is a desk member": hubd says it checks again,
    and no ops alert goes to the ops people, neither then nor once the
    store reads again, when she is found on the desk."""
    hub = ops_hub(make_hub, "2026-09-07T08:00:00", {},
                  {"cw-anna": False, "desk-dora": True},
                  agencies=hubtest.RULE_AGENCIES,
                  rules=dict(hubtest.NO_ESCALATION))
    cpr = CprGen(6901).born("2010-09-07")
    hub.assign(cpr, "cw-anna")
    hub.send(hubtest.ev_dropout(cpr, "2026-09-07"))
    hub.wait_applied()
    time.sleep(1.5 * hubtest.SLOW)   # the audit trail verified first
    with readers_taken(hub.data_dir / "log", leave=1):
        hub.set_clock("2026-09-11T00:00:00")
        hub.wait_log(r"HUB-ALERT alert [0-9a-f]+ \(deadline\.[a-z_.]+\) "
                     r"raised for duty-desk")
        hub.wait_log(r"warn HUB-OPS a deadline alert went to the desk "
                     r"duty-desk and its members cannot be read now: "
                     r"checked again once they can")
        time.sleep(1.5 * hubtest.SLOW)
    time.sleep(1.5 * hubtest.SLOW)
    log = hub.log_text()
    assert "HUB-OPS-DESK-UNCOVERED" not in log, log
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="desk_uncovered") == 0
    hub.peek("ops-olga", 0)


def test_an_assignment_applied_while_derived_cannot_be_read(make_hub):
    """The youth unit's ContactAssignment is applied by hubd as it is
    stored; applying it reads the person's alerts in derived/.
    While that read fails (no reader slot left there), hubd goes on
    serving and applies it once the store reads again (OPERATIONS.md,
    HUB-APPLY: retried), rather than stop: the read that failed once
    left hubd sorting memory it never read, and it died of SIGSEGV."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00", {},
                  {"cw-anna": False, "desk-dora": True},
                  agencies=hubtest.RULE_AGENCIES)
    st = hub.wait_applied()
    cpr = CprGen(6905).born("2010-01-01")
    with readers_taken(hub.data_dir / "derived"):
        hub.cprs.add(cpr)
        hub.send(hubtest.ev_assignment(cpr, "cw-anna", "2026-03-02"))
        hub.wait_log(r"HUB-APPLY applying the log failed")
        time.sleep(1.5 * hubtest.SLOW)
        assert hub.running, hub.log_text()
    after = hub.wait_applied()
    assert after["assignments"] == st["assignments"] + 1, after
    hub.wait_log(r"HUB-APPLY applying the log works again")


def test_an_audit_trail_not_read_is_verified_again_and_alerted(make_hub):
    """audit_broken holds when verifying the audit chain "finds it broken
    or cannot read it" and ends "when a verification finds it intact
    again". A verification that could not read it (log/ unreadable when
    ops_audit_hours came round) is not left standing until the next
    ops_audit_hours: hubd verifies again at its next checks, and the
    condition ends once the trail reads intact."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00", {"ops_audit_hours": "1"},
                  {"cw-anna": False, "desk-dora": True})
    time.sleep(1.5 * hubtest.SLOW)   # verified once the signing key loads
    assert "HUB-OPS-AUDIT-BROKEN" not in hub.log_text()
    with readers_taken(hub.data_dir / "log"):
        hub.set_clock("2026-03-02T09:00:30")
        hub.wait_log(r"warn HUB-OPS-AUDIT-BROKEN audit_broken \(audit\): "
                     r"the audit trail cannot be read")
        time.sleep(1.5 * hubtest.SLOW)
    hub.wait_log(r"HUB-OPS-CLEARED audit_broken \(audit\) no longer holds",
                 timeout=5)
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="audit_broken") == 0
    assert hub.log_text().count("warn HUB-OPS-AUDIT-BROKEN") == 1


def test_an_ops_alert_raised_while_its_people_cannot_be_listed(make_hub):
    """An operational condition queues its alert to every caseworker
    registered with --ops. school-a falls silent (ops_silence) while
    log/, which holds the registrations, cannot be read: the ops people
    cannot be listed then (HUB-OPS-ADAPTER-SILENT ... cannot list the ops
    caseworkers), and the alert goes to them at a later check, once they
    can be, as the condition still holds: not the log line alone. It is
    raised once all the same (one warn line), and that the ops people
    cannot be listed is said once, not at every check."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00", {"ops_silence": "school-a=1"},
                  {"cw-anna": False, "desk-dora": True})
    time.sleep(1.5 * hubtest.SLOW)   # the audit trail verified first
    with readers_taken(hub.data_dir / "log"):
        hub.set_clock("2026-03-02T09:30:00")
        hub.wait_log(r"HUB-OPS-ADAPTER-SILENT cannot list the ops "
                     r"caseworkers")
        # Asked again at every check, said once.
        time.sleep(2.5 * hubtest.SLOW)
    assert hub.log_text().count("HUB-OPS-ADAPTER-SILENT cannot list the "
                                "ops caseworkers") == 1
    [a] = hub.peek("ops-olga", 1)
    assert (a["rule"], a["priority"], a["cpr"]) == \
        ("ops.adapter_silent", "HIGH", "")
    assert hub.log_text().count("warn HUB-OPS-ADAPTER-SILENT") == 1


def test_a_start_that_cannot_read_the_store_says_why(make_hub):
    """OPERATIONS.md, Start and stop: a store hubd cannot read stops it
    at start, exit 1, with a reason after `HUB-START cannot start:`
    (here derived/ has no reader slot left: STORE-LMDB names that just
    before), not the words "cannot start:" and nothing after them."""
    hub = make_hub()
    hub.stop()
    with readers_taken(hub.data_dir / "derived"):
        hub.start(wait=False)
        rc = hub._reap(15)
        hub.stopped_cleanly = True
    assert rc == 1
    log = hub.current_log()
    assert "STORE-LMDB read last_applied: MDB_READERS_FULL" in log, log
    assert re.search(r"err HUB-START cannot start: input/output error\n",
                     log), log
