"""03 deliver: alerts reach the right caseworker, once per episode, and stay
open (redelivered, with a growing delivery counter) until acknowledged.

The absence rule (SPEC): over the last 20 school days ending at the latest
report, absent/expected strictly above 10 % raises one "absence.rolling"
alert (NORMAL) per episode, to the assigned caseworker or else the desk.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import subprocess

import hubtest
from hubtest import AbsenceRow, CprGen


def import_rows(hub, name, rows, expect_rc=0):
    path, _ = hub.csv(name, rows)
    r = hub.adapter("import", path)
    assert r.rc == expect_rc, str(r)
    return r


def wait_applied(hub, events, alerts):
    """Wait until the hub applied every logged event; check the alerts."""
    st = hub.wait_stats(f"last_applied == {events}",
                        lambda s: s["last_applied"] == events)
    assert st["log_events"] == events
    assert st["alerts"] == alerts, st
    return st


def test_alert_to_assigned_caseworker(hub):
    high, low = CprGen(301).take(2)
    hub.assign(high, "cw-anna")
    hub.assign(low, "cw-anna")
    import_rows(hub, "w19.csv", [AbsenceRow(high, absent=20, expected=100),
                                 AbsenceRow(low, absent=5, expected=100)])
    st = wait_applied(hub, events=4, alerts=1)   # 2 assignments + 2 reports
    assert st["alerts_open"] == 1
    assert st["assignments"] == 2

    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert a["rule"] == "absence.rolling"
    assert a["priority"] == "NORMAL"
    assert a["cpr"] == high
    assert a["recipient"] == "cw-anna"
    assert a["delivery"] == 1
    assert len(a["alert_id"]) == 18          # 9 bytes, hex
    assert len(a["evidence"]) == 1
    ev = a["evidence"][0]
    assert (ev["agency"], ev["period_start"], ev["period_end"],
            ev["lessons_absent"], ev["lessons_expected"]) == \
        ("school-a", "2024-05-06", "2024-05-10", 20, 100)
    assert len(ev["event_id"]) == 32
    # Acknowledged: closed for good.
    hub.wait_stats("alerts_open == 0", lambda s: s["alerts_open"] == 0)
    rc, alerts, _ = hub.inbox("cw-anna", idle_exit=2)
    assert (rc, alerts) == (0, [])
    # The desk sees nothing of an assigned person.
    rc, alerts, _ = hub.inbox("desk-dora", idle_exit=2)
    assert (rc, alerts) == (0, [])
    assert hub.stats()["alerts"] == 1


def test_unassigned_goes_to_desk(hub):
    [cpr] = CprGen(302).take(1)
    import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=30, expected=100)])
    wait_applied(hub, events=1, alerts=1)
    rc, alerts, _ = hub.inbox("cw-anna", idle_exit=2)
    assert (rc, alerts) == (0, [])
    rc, alerts, err = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    assert rc == 0, err
    assert [(a["cpr"], a["recipient"]) for a in alerts] == \
        [(cpr, "duty-desk")]
    hub.wait_stats("alerts_open == 0", lambda s: s["alerts_open"] == 0)


def test_threshold_is_strict_and_permitted_leave_ignored(hub):
    at, above, leave = CprGen(303).take(3)
    import_rows(hub, "w19.csv", [
        AbsenceRow(at, absent=10, expected=100),           # 10 %: not above
        AbsenceRow(above, absent=11, expected=100),        # 11 %: above
        AbsenceRow(leave, absent=60, expected=100, kind="lovligt"),
    ])
    wait_applied(hub, events=3, alerts=1)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    assert [a["cpr"] for a in alerts] == [above]


def test_one_alert_per_episode(hub):
    [cpr] = CprGen(304).take(1)
    week = lambda mon, fri, absent: AbsenceRow(  # noqa: E731
        cpr, period_start=mon, period_end=fri, absent=absent, expected=100)
    # Two weeks above the threshold: one episode, one alert.
    import_rows(hub, "a.csv", [week("2024-04-01", "2024-04-05", 20),
                               week("2024-04-08", "2024-04-12", 20)])
    wait_applied(hub, events=2, alerts=1)
    # Four clean weeks bring the 20-day rate to 0: the episode ends.
    import_rows(hub, "b.csv", [week("2024-04-15", "2024-04-19", 0),
                               week("2024-04-22", "2024-04-26", 0),
                               week("2024-04-29", "2024-05-03", 0),
                               week("2024-05-06", "2024-05-10", 0)])
    wait_applied(hub, events=6, alerts=1)
    # 60 of the last 400 lessons (15 %): a new episode, a second alert.
    import_rows(hub, "c.csv", [week("2024-05-13", "2024-05-17", 60)])
    wait_applied(hub, events=7, alerts=2)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=2, idle_exit=10)
    assert len(alerts) == 2
    assert len({a["alert_id"] for a in alerts}) == 2
    assert [len(a["evidence"]) for a in alerts] == [1, 4]


def test_offline_caseworker_gets_alert_on_connect(hub):
    [cpr] = CprGen(305).take(1)
    hub.assign(cpr, "cw-anna")
    import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=25, expected=100)])
    # Raised while nobody was connected.
    wait_applied(hub, events=2, alerts=1)
    assert "HUB-HELLO" not in hub.log_text()
    rc, alerts, _ = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert [(a["cpr"], a["delivery"]) for a in alerts] == [(cpr, 1)]


def test_connected_caseworker_gets_alert_live(hub):
    [cpr] = CprGen(306).take(1)
    hub.assign(cpr, "cw-anna")
    conf = hub.tmp / "inbox-live.conf"
    conf.write_text(f"caseworker = cw-anna\nkeys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    inbox = subprocess.Popen(
        [hubtest.binary("inbox"), "--config", str(conf), "--json",
         "--max", "1", "--idle_exit", str(60 * hubtest.SLOW)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hub.wait_log(r"HUB-HELLO caseworker cw-anna connected")
        import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=25,
                                                expected=100)])
        out, err = inbox.communicate(timeout=60 * hubtest.SLOW)
    finally:
        if inbox.poll() is None:
            inbox.kill()
            inbox.communicate()
    (hub.client_dir / "inbox-live.out").write_text(out)
    assert inbox.returncode == 0, err
    alerts = [l for l in out.splitlines() if l.startswith("{")]
    assert len(alerts) == 1
    assert cpr in alerts[0]
    hub.wait_stats("alerts_open == 0", lambda s: s["alerts_open"] == 0)


def test_unacked_alert_redelivered_on_connect_and_restart(hub):
    [cpr] = CprGen(307).take(1)
    hub.assign(cpr, "cw-anna")
    import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=40, expected=100)])
    wait_applied(hub, events=2, alerts=1)
    rc, first, _ = hub.inbox("cw-anna", no_ack=True, max_alerts=1,
                             idle_exit=10)
    assert [a["delivery"] for a in first] == [1]
    rc, second, _ = hub.inbox("cw-anna", no_ack=True, max_alerts=1,
                              idle_exit=10)
    assert [a["delivery"] for a in second] == [2]
    assert second[0]["alert_id"] == first[0]["alert_id"]
    assert hub.stats()["alerts_open"] == 1

    hub.restart()
    rc, third, _ = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert [a["delivery"] for a in third] == [3]
    assert third[0]["alert_id"] == first[0]["alert_id"]
    st = hub.wait_stats("alerts_open == 0", lambda s: s["alerts_open"] == 0)
    assert st["alerts"] == 1
    rc, after, _ = hub.inbox("cw-anna", idle_exit=2)
    assert after == []
