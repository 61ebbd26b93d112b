"""hubd's own operational checks (OPERATIONS.md, "Operational alerts")
while the store cannot be read: a read that failed tells nothing, so it
neither raises a condition nor ends one. The store is made unreadable as
in test_60 (`readers_taken`: every LMDB reader slot of log/ or derived/
held by this process)."""
import time

import hubtest
from hubtest import CprGen
from test_60_store_at_rest import readers_taken
from test_82_metrics import ops_hub


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
