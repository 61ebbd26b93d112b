"""OPERATIONS.md as municipal IT operations use it, a fifth reading:
what the programs say while the store cannot be read, checked against
what the document promises. The store is made unreadable as in test_60
(`readers_taken`: every LMDB reader slot of one environment held by
this process)."""

import re

import hubtest
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
