"""130 A second reading of the stop's C changes, as its users meet them:
each case is a defect the review found, run on the real hub."""

import time

import hubtest
from hubtest import CprGen, IngestClient


def test_timers_that_cannot_fire_are_not_said_to_work_again(make_hub):
    """OPERATIONS.md, "Where data lives": `HUB-APPLY` is logged when the
    condition starts, then at most once a minute while it lasts, and once
    more (notice, `HUB-APPLY applying the log works again after N s
    ...`) when writes go through again. With every event applied and the
    log/ map full, a due timer (an acknowledgement's escalation, whose
    notice is an alert stored in the log) cannot fire: that holds until
    the operator acts. Each loop turn found nothing to apply and said
    "works again", and the next firing that failed said it failed again:
    two lines five times a second instead of one."""
    hub = make_hub(clock="2026-03-02T08:00:00",
                   settings={"log_map_mb": "1"})
    hub.absence_alerts("cw-anna", CprGen(13001).take(1), "timer",
                       absent=30)
    hub.wait_applied()
    fillers = iter(CprGen(13002).take(3000))
    # Events padded with an unknown field (kept in the stored event,
    # PROTOCOL.md §6) fill log/ before ids/; then smaller ones fill the
    # gaps, until not even an event without padding fits.
    with IngestClient(hub, "school-a") as cli:
        for pad in (4000, 1000, 200, 0):
            while True:
                cpr = next(fillers)
                hub.cprs.add(cpr)
                data = hubtest.frame(hubtest.envelope(
                    "school-a", cpr, salt=f"fill-{cpr}"))
                if pad:
                    data += b"\xc2\x3e" + bytes([pad & 0x7f | 0x80,
                                                 pad >> 7]) + b"x" * pad
                ack = cli.ack_for(data)
                if ack.status != hubtest.ACCEPTED:
                    assert ack.code == hubtest.E_FULL, ack
                    break
    hub.wait_applied()
    # The acknowledgement deadline (72 office hours) passes.
    hub.set_clock("2026-03-30T08:00:00")
    hub.wait_log(r"err HUB-APPLY firing timers failed: ")
    time.sleep(2 * hubtest.QUIET)
    lines = [l for l in hub.log_text().splitlines() if " HUB-APPLY " in l]
    assert not [l for l in lines if "works again" in l], "\n".join(lines)
    assert len([l for l in lines if "firing timers failed" in l]) == 1, \
        "\n".join(lines)
    assert "HUB-ESCALATE" not in hub.log_text()
