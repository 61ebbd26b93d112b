"""131 durability and recovery, fifth round: hubd killed at the moments
ARCHITECTURE.md, OPERATIONS.md, PROTOCOL.md and SECURITY.md name,
checked from outside against what those docs promise."""

import json
import re
import signal
import subprocess

from hubtest import SLOW, CprGen, binary, wait_for

from test_53_delivery import (adults, clients, ev_dropout,  # noqa: F401
                              hub53, open_ids, until_refused)


def ack_records(hub, alert_id):
    shown = hub.hubctl("audit", "show", "--json").stdout
    return [r for r in map(json.loads, shown.splitlines())
            if r["action"] == "ack" and alert_id.hex() in json.dumps(r)]


def test_an_ack_kept_in_memory_is_lost_by_a_kill9_and_sent_again(
        make_hub, clients):  # noqa: F811
    """PROTOCOL.md §4 item 4: an AlertAck the store cannot take is kept
    and retried; "a crash loses it without a word, and either way its
    alert is open after the next start and sent again". SECURITY.md,
    What a crash can lose: an acknowledgement and its `ack` record are
    one transaction, "a crash keeps both or neither". hubd killed while
    the ack waits: the killed run says nothing of it at stop, and after
    the start (the map raised) the alert is open and pushed again (its
    `delivery` at most 2), with no `ack` record; or, when a retry got it in just
    before the kill, it is closed and audited once."""
    hub = hub53(make_hub, settings={"log_map_mb": "1"})
    [p] = adults(13101, 1)
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-27"))
    hub.wait_applied()
    until_refused(hub, "kept")
    until_refused(hub, "kept-1", step=1)
    a = clients(hub, "cw-anna")
    [x] = a.wait_alerts(1)
    assert x.delivery == 1, x
    a.ack(x.alert_id)
    hub.wait_log(r"err HUB-DELIVER ack of alert [0-9a-f]{18} by cw-anna "
                 r"not stored yet: .*; retried every second")
    hub.kill9()
    a.close()
    killed = hub.current_log()
    assert "not stored at stop" not in killed, killed
    assert "HUB-STOP" not in killed, killed
    hub.conf.write_text(hub.conf.read_text().replace(
        "log_map_mb = 1\n", "log_map_mb = 64\n"))
    st = hub.stats()
    stored = re.search(r"HUB-ALERT-ACK alert %s acknowledged by cw-anna"
                       % x.alert_id.hex(), killed)
    if st["alerts_open"] == 1:
        assert not stored, killed
        assert ack_records(hub, x.alert_id) == []
        hub.start()
        b = clients(hub, "cw-anna")
        [y] = b.wait_alerts(1)
        # §4 item 5: the count is written in the background (here into
        # the full map), so after a crash it "may be lower than the real
        # number of deliveries, never higher": 2 deliveries so far.
        assert y.alert_id == x.alert_id and 1 <= y.delivery <= 2, y
        b.ack(y.alert_id)
        assert open_ids(b, 904) == []
        [rec] = ack_records(hub, x.alert_id)
    else:
        assert st["alerts_open"] == 0, st
        [rec] = ack_records(hub, x.alert_id)
        hub.start()
        b = clients(hub, "cw-anna")
        assert open_ids(b, 903) == []
    assert hub.stats()["alerts_open"] == 0



def test_hubctl_assign_file_killed_keeps_whole_batches_and_a_rerun_ends_it(
        make_hub):
    """OPERATIONS.md, Contact persons: each assignment is stored with its
    `assign` audit record in one transaction, `--file` 512 rows at a
    time; hubctl killed partway through a file (`kill -9`; "its
    `assignments:` line is not printed then"): "the batches it committed
    stay, each row whole with its audit record, none half; run the same
    file again, and its line counts those as `already known` and stores
    the rest, each row once". hubd runs beside it and applies them all."""
    hub = make_hub()
    n = 20000
    cprs = CprGen(13102).take(n)
    hub.cprs.update(cprs)
    path = hub.inputs_dir / "assign.csv"
    path.write_text("cpr;caseworker;from\n" + "".join(
        f"{c};cw-anna;2026-01-05\n" for c in cprs))
    before = hub.stats()
    p = subprocess.Popen([binary("hubctl"), "--config", str(hub.conf),
                          "assign", "--file", str(path)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: hub.stats()["assignments"] > 0, 30 * SLOW,
                 "a first batch of assignments committed")
    finally:
        p.send_signal(signal.SIGKILL)
        out, err = p.communicate(timeout=30)
    assert (p.returncode, out) == (-signal.SIGKILL, b""), (out, err)
    st = hub.stats()
    k = st["assignments"]
    assert 0 < k < n and k % 512 == 0, st
    assert st["log_events"] - before["log_events"] == k, st
    assert st["audit_records"] - before["audit_records"] == k, st
    assert err == b"", err
    again = hub.hubctl("assign", "--file", str(path), check=False)
    assert (again.returncode, again.stdout, again.stderr) == (
        0, f"assignments: {n - k} new, {k} already known, 0 rejected\n",
        ""), again
    st = hub.wait_applied()
    assert (st["assignments"], st["log_events"] - before["log_events"],
            st["last_applied"]) == (n, n, st["last_seq"]), st
    # SECURITY.md, Audit trail: `assign` `ok` for each stored, one per
    # person; `already-known` for each the rerun found stored.
    recs = [r for r in map(json.loads, hub.hubctl(
        "audit", "show", "--json").stdout.splitlines())
        if r["action"] == "assign"]
    ok = [r for r in recs if r["result"] == "ok"]
    known = [r for r in recs if r["result"] == "already-known"]
    assert (len(ok), len({r["person"] for r in ok}), len(known)) == \
        (n, n, k), (len(ok), len(known))
    assert {r["person"] for r in known} <= {r["person"] for r in ok}
