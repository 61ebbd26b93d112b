"""OPERATIONS.md as municipal IT operations use it, a fifth reading:
what the programs say while the store cannot be read, checked against
what the document promises. The store is made unreadable as in test_60
(`readers_taken`: every LMDB reader slot of one environment held by
this process)."""

import re

import hubtest
from hubtest import ACCEPTED, CprGen, IngestClient, envelope, frame
from test_53_delivery import clients  # noqa: F401 (a fixture)
from test_60_store_at_rest import readers_taken
from test_82_metrics import get, metrics_hub

STORE_LMDB = re.compile(r"^\S+ hubctl err STORE-LMDB .*MDB_READERS_FULL.*$",
                        re.M)


def test_hubctl_names_why_a_store_it_opened_cannot_be_read(make_hub):
    """OPERATIONS.md, "Start and stop": a store opened but not read (no
    reader slot left, `STORE-LMDB ...` just before names it) stops hubd
    with `HUB-START cannot start: input/output error`, and every hubctl
    command that opens the store says `hubctl: cannot open the hub's keys
    and store: input/output error`, exit 1, nothing recorded. hubctl said
    `hubctl: cannot open the hub's keys and store` and nothing after it,
    where every other such line ends in its reason."""
    hub = make_hub()
    records = hub.stats()["audit_records"]
    for env in ("log", "derived"):
        with readers_taken(hub.data_dir / env):
            for args in (["stats"], ["log"], ["audit", "verify"],
                         ["register-agency", "school-a"]):
                r = hub.hubctl(*args, check=False)
                assert (r.returncode, r.stdout) == (1, ""), (env, args, r)
                assert STORE_LMDB.search(r.stderr), (env, args, r.stderr)
                assert r.stderr.endswith(
                    "\nhubctl: cannot open the hub's keys and store: "
                    "input/output error\n"), (env, args, r.stderr)
    assert hub.stats()["audit_records"] == records


def test_metrics_and_readyz_while_the_store_cannot_be_read(make_hub):
    """OPERATIONS.md, "Metrics and health endpoints": `/metrics` is `503`
    if the store cannot be read, while `/healthz` stays `200 ok`; and
    `/readyz`, which cannot tell whether the derived state is level while
    the log cannot be read, says `store unreadable` rather than
    `derived state behind the log`, which sent an operator after a
    backlog of rules that was not there. Once the slots are free, all
    three answer 200 again."""
    hub = metrics_hub(make_hub)
    hub.wait_log(r"HUB-READY")
    url = hub.metrics_url
    hubtest.wait_for(lambda: get(url + "/readyz") == (200, "ready\n"), 10,
                     "/readyz 200 ready")
    for env in ("log", "derived", "ids"):
        with readers_taken(hub.data_dir / env):
            assert get(url + "/metrics") == (503, "store unreadable\n"), env
            assert get(url + "/healthz") == (200, "ok\n"), env
            if env == "log":
                assert get(url + "/readyz") == (503, "store unreadable\n")
    hubtest.wait_for(lambda: get(url + "/readyz") == (200, "ready\n"), 10,
                     "/readyz 200 ready again")
    status, text = get(url + "/metrics")
    assert status == 200 and "ungebro_log_last_sequence 0" in text, text


def test_a_purge_that_cannot_read_the_log_says_so_and_when_it_works(
        make_hub):
    """OPERATIONS.md, "Retention": a purge turn that fails is logged
    `HUB-PURGE ...; retrying next turn` (err) when it starts failing, and
    `HUB-PURGE the purge works again after S s and N failed turns`
    (notice) once a turn goes through in the same run. A run whose first
    turn could not read the log (no reader slot left) was retried in
    silence, only `STORE-LMDB` saying anything, and its recovery was not
    said either. The records due are deleted once the log reads again."""
    hub = make_hub(clock="2026-03-02T10:00:00",
                   settings={"retention_absence": "1"})
    cprs = CprGen(12504).take(3)
    hub.send(*[envelope("school-a", c, salt=c) for c in cprs])
    hub.wait_applied()
    hub.wait_log(r"HUB-PURGE retention purge done: 0 records")
    with readers_taken(hub.data_dir / "log"):
        hub.set_clock("2026-03-04T00:00:00")
        hub.wait_log(r"(?m)err HUB-PURGE reading the log for the purge: "
                     r"input/output error; retrying next turn$")
    hub.wait_log(r"(?m)notice HUB-PURGE the purge works again after \d+ s "
                 r"and \d+ failed turns$")
    hub.wait_log(r"HUB-PURGE retention purge done: 3 records, 0 alerts "
                 r"deleted, 3 persons cleared")
    log = hub.log_text()
    assert log.count("retrying next turn") == 1, log
    assert log.index("the purge works again") < \
        log.index("retention purge done: 3 records"), log
    assert hub.stats()["log_events"] == 0


def test_a_derived_read_that_fails_is_not_said_of_the_log(make_hub):
    """OPERATIONS.md, Monitoring: `STORE-LMDB` is logged at most once a
    minute per part of the store, with a notice when that part takes
    writes again. A read of derived/ that failed (no reader slot left
    there: the rules' read of a person's entries as an event came in)
    was counted against log/, so the next write to the log, which had
    never failed, logged `STORE-LMDB log/ takes writes again`: an
    operator read it as log/ mended while derived/ was the part that
    failed. The event is stored and acked all the same."""
    hub = make_hub(clock="2026-03-02T10:00:00")
    cprs = CprGen(12505).take(2)
    with readers_taken(hub.data_dir / "derived"):
        hub.send(envelope("school-a", cprs[0], salt=cprs[0]))
        hub.wait_log(r"err STORE-LMDB begin read: MDB_READERS_FULL")
        hub.send(envelope("school-a", cprs[1], salt=cprs[1]))
    hub.wait_applied()
    log = hub.log_text()
    assert "STORE-LMDB log/ takes writes again" not in log, log
    assert hub.stats()["log_events"] == 2


def test_applying_that_failed_with_nothing_waiting_says_it_works_again(
        make_hub):
    """OPERATIONS.md, Monitoring and "Where data lives": HUB-APPLY is
    logged (err) when applying the log fails and once more (notice,
    `HUB-APPLY applying the log works again after N s ...`) when it works
    again. While the log could not be read (no reader slot left) the
    applier's attempts failed with no event waiting; once it read again
    there was still nothing to apply, and the notice waited for the next
    event, perhaps hours on, counting all that time as failing."""
    hub = make_hub()
    with readers_taken(hub.data_dir / "log"):
        hub.wait_log(r"err HUB-APPLY applying the log failed: input/output "
                     r"error; retried, 1 failed attempts so far")
    hub.wait_log(r"notice HUB-APPLY applying the log works again after "
                 r"\d+ s and \d+ failed attempts", timeout=5)
    assert hub.log_text().count("HUB-APPLY applying the log works "
                                "again") == 1


def test_a_stop_while_applying_fails_leaves_the_rest_to_the_next_start(
        make_hub):
    """OPERATIONS.md, "Start and stop": at SIGTERM "the derived state is
    brought level with the log" — as far as applying works. An event
    stored while the log could not be read for applying waits: the stop
    is clean all the same (exit 0, HUB-STOP), `last_applied` stays below
    `last_seq`, and the next start applies it (HUB-REPLAY). The document
    said the state is level at every stop, which a store with a full
    derived/ map (where hubd serves on) cannot be."""
    hub = make_hub()
    cprs = CprGen(12508).take(2)
    with IngestClient(hub, "school-a") as cli:
        assert cli.ack_for(frame(envelope("school-a", cprs[0],
                                          salt="lvl-0"))).status == ACCEPTED
        hub.wait_applied()
        with readers_taken(hub.data_dir / "log"):
            ack = cli.ack_for(frame(envelope("school-a", cprs[1],
                                             salt="lvl-1")))
            assert (ack.status, ack.sequence) == (ACCEPTED, 2), ack
            hub.wait_log(r"err HUB-APPLY applying the log failed")
            hub.stop()
    st = hub.stats()
    assert (st["last_seq"], st["last_applied"]) == (2, 1), st
    hub.start()
    hub.wait_log(r"notice HUB-REPLAY applying log entries 2\.\.2 to "
                 r"derived state")
    assert hub.wait_applied()["last_applied"] == 2
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text(
        encoding="utf-8").split())
    assert ("the derived state is brought level with the log (as far as "
            "applying works: while it fails") in doc



def test_acknowledgements_not_stored_are_one_line_a_minute(make_hub,
                                                          clients):
    """OPERATIONS.md, Monitoring, HUB-DELIVER: "acknowledgements not
    stored, stored alerts that cannot be read: err, at most once a minute
    with the count of the others since". Each acknowledgement the store
    could not take (here: the log's map full, log_map_mb = 1) was a line
    of its own, so a caseworker working through a full inbox flooded the
    journal. The first is a line; the others are kept all the same."""
    from test_53_delivery import (adults, ev_dropout, hub53, open_ids,
                                  until_refused)
    hub = hub53(make_hub, settings={"log_map_mb": "1"})
    people = adults(12511, 3)
    for p in people:
        hub.assign(p, "cw-anna")
    hub.send(*[ev_dropout(p, "2026-10-26") for p in people])
    hub.wait_applied()
    until_refused(hub, "acks")
    until_refused(hub, "acks-1", step=1)
    a = clients(hub, "cw-anna", hello=False)
    a.connected()
    ids = open_ids(a)
    assert len(ids) == 3
    for i in ids:
        a.ack(i)
    hub.wait_log(r"(?m)err HUB-DELIVER ack of alert [0-9a-f]{18} by "
                 r"cw-anna not stored yet: .*; retried every second$")
    # Answered in order on the connection: the acks were handled first.
    a.ask(950)
    log = hub.log_text()
    assert len(re.findall(r"HUB-DELIVER ack of alert \S+ by cw-anna not "
                          r"stored", log)) == 1, log
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text(
        encoding="utf-8").split())
    assert ("`ack of alert ID by CASEWORKER not stored yet: REASON; "
            "retried every second`") in doc


def test_stats_that_cannot_read_a_part_of_the_store_says_so(make_hub):
    """OPERATIONS.md, Monitoring, `hubctl stats`: exit 1 when the store
    cannot be read, nothing on stdout — with ids/ out of reader slots,
    `hubctl: cannot read statistics` after the STORE-LMDB line naming the
    failure; the list of stats' exit statuses was missing, so a script
    could not tell a failure from figures."""
    hub = make_hub()
    with readers_taken(hub.data_dir / "ids"):
        r = hub.hubctl("stats", "--json", check=False)
    assert (r.returncode, r.stdout) == (1, ""), r
    assert STORE_LMDB.search(r.stderr), r.stderr
    assert r.stderr.endswith("\nhubctl: cannot read statistics\n"), r.stderr
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text(
        encoding="utf-8").split())
    assert ("`hubctl: cannot read statistics` after the `STORE-LMDB` line "
            "naming the failure; nothing on stdout) or standard output "
            "cannot be written, 2 usage.") in doc
