"""142 what OPERATIONS.md says of `hubctl stats`' figures that move only
at a moment it names, checked from outside with a real hubd."""

import shutil

from test_53_delivery import (anna_with_one_dropout, clients,  # noqa: F401
                              hub53, open_ids)


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
