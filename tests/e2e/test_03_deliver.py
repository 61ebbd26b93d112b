"""03 deliver: alerts reach the right caseworker, once per episode, and stay
open (redelivered, with a growing delivery counter) until acknowledged.

The absence rule (SPEC): over the last 20 school days ending at the latest
report, absent/expected of 10 % or more (any kind, permitted leave
included) raises one "absence.rolling" alert (NORMAL) per episode, to the assigned caseworker or else the desk.
Every test ends with the privacy sweep (the hub fixture's teardown)."""

import datetime
import json
import os
import select
import signal
import time
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


def test_threshold_is_inclusive_and_permitted_leave_counts(hub):
    """DOMAIN rule 2: chronic absence is 10 % or more, for any reason."""
    at, above, leave, below = CprGen(303).take(4)
    import_rows(hub, "w19.csv", [
        AbsenceRow(at, absent=10, expected=100),           # 10 %: reaches it
        AbsenceRow(above, absent=11, expected=100),        # 11 %: above
        AbsenceRow(leave, absent=60, expected=100, kind="lovligt"),
        AbsenceRow(below, absent=9, expected=100),         # 9 %: below
    ])
    wait_applied(hub, events=4, alerts=3)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=3, idle_exit=10)
    assert sorted(a["cpr"] for a in alerts) == sorted([at, above, leave])


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
    # The second: the window's 20 school days (Ascension Thursday and
    # the Friday after are none) reach into the week of 04-15, whose share
    # counts; its evidence in date order.
    assert [[e["period_start"] for e in a["evidence"]]
            for a in alerts] == [["2024-04-01"],
                                 ["2024-04-15", "2024-04-22", "2024-04-29",
                                  "2024-05-06", "2024-05-13"]]


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



def test_live_inbox_says_connected_before_any_alert(hub):
    """OPERATIONS.md, "What inbox prints": live, `connected as ID: N open
    alerts` and an empty line as soon as the hub has given the connection
    a session, not only once an alert comes: on a pipe too (a log, a
    script waiting for it), with nothing open and nothing raised."""
    inbox = subprocess.Popen(
        [hubtest.binary("inbox"), "--caseworker", "cw-anna",
         "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        os.set_blocking(inbox.stdout.fileno(), False)
        out = b""
        deadline = time.monotonic() + 20 * hubtest.SLOW
        while b"\n\n" not in out and time.monotonic() < deadline:
            select.select([inbox.stdout], [], [], 0.2)
            out += inbox.stdout.read() or b""
        assert out == b"connected as cw-anna: 0 open alerts\n\n", out
    finally:
        inbox.terminate()
        rest, err = inbox.communicate(timeout=20)
    assert inbox.returncode == 0, err
    assert rest == b"0 alerts received and acknowledged\n", rest


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


def test_reports_outside_the_window_do_not_count(hub):
    [cpr] = CprGen(308).take(1)
    # The latest report ends 2024-05-10: the 20-school-day window starts
    # 2024-04-15, so January's 50 % arrives late and counts for nothing.
    import_rows(hub, "may.csv", [AbsenceRow(cpr, absent=5, expected=100)])
    import_rows(hub, "jan.csv", [AbsenceRow(
        cpr, period_start="2024-01-08", period_end="2024-01-12", absent=50,
        expected=100)])
    wait_applied(hub, events=2, alerts=0)


def test_threshold_and_window_settings(make_hub):
    hub = make_hub(rules={"absence.rolling.threshold_pct": "25",
                          "absence.rolling.window_school_days": "5"})
    a, b = CprGen(309).take(2)
    week = lambda cpr, mon, fri, absent: AbsenceRow(  # noqa: E731
        cpr, period_start=mon, period_end=fri, absent=absent, expected=100)
    # a: 30 % then 0 % then 30 %: with a one-week window each 30 % week
    # is an episode of its own. b: 20 % stays under 25 %.
    import_rows(hub, "w1.csv", [week(a, "2024-04-01", "2024-04-05", 30),
                                week(b, "2024-04-01", "2024-04-05", 20)])
    wait_applied(hub, events=2, alerts=1)
    import_rows(hub, "w2.csv", [week(a, "2024-04-08", "2024-04-12", 0)])
    wait_applied(hub, events=3, alerts=1)
    import_rows(hub, "w3.csv", [week(a, "2024-04-15", "2024-04-19", 30)])
    wait_applied(hub, events=4, alerts=2)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=2, idle_exit=10)
    assert [x["cpr"] for x in alerts] == [a, a]
    assert "25 %" in alerts[0]["title"] + alerts[0]["explanation"]


def test_desk_alert_reaches_every_connected_desk_member(make_hub):
    hub = make_hub(caseworkers={"cw-anna": False, "desk-dora": True,
                                "desk-erik": True})
    [cpr] = CprGen(310).take(1)
    procs = {}
    try:
        for cw in ("desk-dora", "desk-erik", "cw-anna"):
            conf = hub.tmp / f"inbox-live-{cw}.conf"
            conf.write_text(f"caseworker = {cw}\nkeys_dir = {hub.keys_dir}"
                            f"\ndelivery = {hub.delivery}\n")
            procs[cw] = subprocess.Popen(
                [hubtest.binary("inbox"), "--config", str(conf), "--json",
                 "--no_ack", "--max", "1", "--idle_exit",
                 str(8 * hubtest.SLOW)],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            hub.wait_log(f"HUB-HELLO caseworker {cw} connected")
        import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=25,
                                                expected=100)])
        out = {cw: p.communicate(timeout=60 * hubtest.SLOW)[0]
               for cw, p in procs.items()}
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.communicate()
    for cw, text in out.items():
        (hub.client_dir / f"inbox-live-{cw}.out").write_text(text)
    got = {cw: [l for l in text.splitlines() if l.startswith("{")]
           for cw, text in out.items()}
    assert len(got["desk-dora"]) == 1 and cpr in got["desk-dora"][0]
    assert len(got["desk-erik"]) == 1 and cpr in got["desk-erik"][0]
    assert got["cw-anna"] == []
    assert hub.stats()["alerts"] == 1


def test_expired_assignment_goes_to_desk(hub):
    [cpr] = CprGen(311).take(1)
    hub.assign(cpr, "cw-anna", start="2024-01-01", end="2024-02-29")
    import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=25, expected=100)])
    wait_applied(hub, events=2, alerts=1)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    assert [(a["cpr"], a["recipient"]) for a in alerts] == \
        [(cpr, "duty-desk")]


def test_assign_from_file(hub):
    a, b, c = CprGen(312).take(3)
    hub.cprs.update([a, b, c])
    path = hub.inputs_dir / "assign.csv"
    path.write_text("cpr;caseworker;from;to;role\n"
                    f"{hubtest.dashed(a)};cw-anna;2024-01-01;;contact\n"
                    f"{b};desk-dora;2024-01-01;;mentor\n"
                    f"{c};cw-nobody;2024-01-01;;contact\n"
                    # A CPR where the caseworker goes: not quoted either.
                    f"{c};{a};2024-01-01;;contact\n"
                    # A bad day in to, and in from: each column named.
                    f"{c};cw-anna;2024-01-01;2024-13-01;contact\n"
                    f"{c};cw-anna;2024-02-30;;contact\n"
                    # A row wrong as a whole names no column.
                    f"{c};cw-anna;2024-01-01;;contact;x\n")
    p = hub.hubctl("assign", "--file", str(path), check=False)
    for cpr in (a, b, c):
        assert cpr not in p.stdout + p.stderr
    assert f"{path}:4: column caseworker: the caseworker is not " \
        "registered (hubctl register-caseworker)\n" in p.stderr, p.stderr
    assert f"{path}:5: column caseworker: the caseworker is not a valid " \
        "id (1-63 of a-z 0-9 . _ -, starting with a letter or digit, " \
        "holding no CPR number)\n" in p.stderr, p.stderr
    assert (f"{path}:6: column to: dates must be a real day YYYY-MM-DD, "
            "DD-MM-YYYY or DD.MM.YYYY in the years 1900-2199; leave to "
            "empty (or 9999-12-31) for no end") in p.stderr
    assert (f"{path}:7: column from: dates must be a real day YYYY-MM-DD, "
            "DD-MM-YYYY or DD.MM.YYYY in the years 1900-2199") in p.stderr
    assert f"{path}:8: the row has 6 fields, the header has 5 (is a " \
        "separator inside an unquoted value?)\n" in p.stderr, p.stderr
    st = hub.stats()
    # b's mentor is logged but routes nothing: one contact assignment.
    assert (st["assignments"], st["log_events"]) == (1, 2)
    import_rows(hub, "w19.csv", [AbsenceRow(a, absent=25, expected=100),
                                 AbsenceRow(b, absent=25, expected=100)])
    wait_applied(hub, events=4, alerts=2)
    rc, alerts, _ = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert [(x["cpr"], x["recipient"]) for x in alerts] == [(a, "cw-anna")]
    # b has no contact person: the duty desk (desk-dora is on it) gets it.
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    assert [(x["cpr"], x["recipient"]) for x in alerts] == \
        [(b, "duty-desk")]


def test_many_assignments_from_file_are_applied_at_once(hub):
    """ARCHITECTURE.md: hubd picks hubctl's appended assignments up
    within 0.5 s -- all of a file's, not a few per half second."""
    cprs = CprGen(314).take(300)
    hub.cprs.update(cprs)
    path = hub.inputs_dir / "assign-many.csv"
    path.write_text("cpr;caseworker;from;to;role\n" + "".join(
        f"{c};cw-anna;2024-01-01;;contact\n" for c in cprs))
    hub.hubctl("assign", "--file", str(path))
    t = time.monotonic()
    st = hub.wait_applied(timeout=20)
    assert st["log_events"] == 300 and st["assignments"] == 300
    assert time.monotonic() - t < 3, "applied %.1f s after the import" % (
        time.monotonic() - t)


def test_desk_setting_names_the_desk(make_hub):
    """The rules' routing.desk (default duty-desk) names the recipient
    of alerts for unassigned persons."""
    hub = make_hub(rules={"routing.desk": "youth-desk"})
    [cpr] = CprGen(313).take(1)
    import_rows(hub, "w19.csv", [AbsenceRow(cpr, absent=25, expected=100)])
    wait_applied(hub, events=1, alerts=1)
    rc, alerts, _ = hub.inbox("desk-dora", max_alerts=1, idle_exit=10)
    assert [a["recipient"] for a in alerts] == ["youth-desk"]


def inbox_once(hub, *args):
    """inbox --caseworker cw-anna with a one-shot command; stdout holds
    CPRs, so it is returned, not written anywhere."""
    p = subprocess.run([hubtest.binary("inbox"), "--caseworker", "cw-anna",
                        "--keys_dir", str(hub.keys_dir),
                        "--delivery", hub.delivery, *args],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.splitlines()


def test_every_open_alert_shown_beyond_one_window_or_page(hub):
    """`inbox --no_ack` reads the open alerts without acknowledging them,
    `--list` prints them and `--timeline` a person's entries: a
    caseworker with 60 open alerts sees all 60 each way (not the first
    32 the hub keeps in flight by default, nor the first page of 40 it
    answers a query with), and a timeline of 450 entries comes whole."""
    cprs = CprGen(309).take(60)
    hub.absence_alerts("cw-anna", cprs, "many")
    # One person with 449 more weekly reports, none absent, before the
    # week that raised the alert: 452 entries with the assignment, that
    # report and the alert.
    busy = cprs[0]
    weeks = []
    for i in range(1, 450):
        start = datetime.date(2015, 1, 5) + datetime.timedelta(weeks=i)
        weeks.append(hubtest.envelope(
            "school-a", busy, salt=f"week-{i}",
            period_start=start.isoformat(),
            period_end=(start + datetime.timedelta(days=4)).isoformat(),
            absent=0, expected=30))
    hub.send(*weeks)
    wait_applied(hub, events=120 + 449, alerts=60)

    rc, alerts, err = hub.inbox("cw-anna", no_ack=True, idle_exit=2)
    assert rc == 0, err
    assert sorted(a["cpr"] for a in alerts) == sorted(cprs)
    assert hub.stats()["alerts_open"] == 60

    lines = inbox_once(hub, "--list")
    assert lines[-1] == "60 open alerts", lines[-3:]
    assert sorted(line.split()[6].replace("-", "") for line in lines[:-1]) \
        == sorted(cprs)
    assert len(inbox_once(hub, "--list", "--json")) == 60

    lines = inbox_once(hub, "--timeline", busy)
    assert lines[-1] == "452 entries", lines[-3:]
    assert len(lines) == 453


def test_idle_exit_counts_from_the_hubs_answer(hub):
    """--idle_exit N is N seconds without an alert once the hub has
    answered: a handshake slower than N (a busy machine) does not end the
    run before the alerts could come; the wait for the hub itself is at
    least --timeout, and with no hub the run ends after it (exit 0,
    nothing printed: OPERATIONS.md, "Caseworkers")."""
    [cpr] = CprGen(311).take(1)
    hub.assign(cpr, "cw-anna")
    hub.send(hubtest.envelope("school-a", cpr, salt="slow", absent=12,
                              expected=30))
    wait_applied(hub, events=2, alerts=1)

    def inbox(endpoint, *extra):
        return subprocess.Popen(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery", endpoint,
             "--json", "--idle_exit", "1", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    relay = hubtest.TcpRelay(hub.delivery)
    relay.frozen.set()
    try:
        p = inbox(relay.endpoint)
        time.sleep(2.5)
        relay.frozen.clear()
        out, err = p.communicate(timeout=30 * hubtest.SLOW)
    finally:
        relay.close()
    assert p.returncode == 0, err
    assert [json.loads(line)["cpr"] for line in out.splitlines()
            if line.startswith("{")] == [cpr]

    t = time.monotonic()
    p = inbox(f"tcp://127.0.0.1:{hubtest.free_port()}", "--timeout", "2")
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and out == "", err
    assert 2 <= time.monotonic() - t < 8
    # Without --json too: no "0 alerts received" when no hub answered.
    p = subprocess.run(
        [hubtest.binary("inbox"), "--caseworker", "cw-anna",
         "--keys_dir", str(hub.keys_dir),
         "--delivery", f"tcp://127.0.0.1:{hubtest.free_port()}",
         "--idle_exit", "1", "--timeout", "1"],
        capture_output=True, text=True, timeout=30)
    assert (p.returncode, p.stdout) == (0, ""), p


def test_a_one_shot_command_interrupted_says_so(hub):
    """OPERATIONS.md, "Caseworkers": Ctrl-C (SIGINT) or SIGTERM before the
    hub answered ends a one-shot command with exit 1 and says it was
    interrupted, not that the hub failed to answer within --timeout."""
    for args in (["--list"], ["--contact", "0" * 18, "--how", "phone"]):
        for sig in (signal.SIGINT, signal.SIGTERM):
            p = subprocess.Popen(
                [hubtest.binary("inbox"), "--caseworker", "cw-anna",
                 "--keys_dir", str(hub.keys_dir), "--delivery",
                 f"tcp://127.0.0.1:{hubtest.free_port()}", *args],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(1)
            t = time.monotonic()
            p.send_signal(sig)
            out, err = p.communicate(timeout=30)
            assert time.monotonic() - t < 5
            assert (p.returncode, out, err) == (
                1, "", "inbox: interrupted before the hub answered\n"), \
                (args, sig, p.returncode, out, err)


def test_inbox_output_a_script_can_parse(hub):
    """OPERATIONS.md, "What inbox prints": the JSON objects' keys in
    their order, the --list line and the --timeline lines."""
    [cpr] = CprGen(312).take(1)
    hub.assign(cpr, "cw-anna")
    hub.send(hubtest.envelope("school-a", cpr, salt="fmt", absent=12,
                              expected=30))
    wait_applied(hub, events=2, alerts=1)
    [a] = [json.loads(line) for line in inbox_once(hub, "--list", "--json")]
    assert list(a) == ["alert_id", "rule", "priority", "cpr", "recipient",
                       "raised_at", "title", "explanation", "due",
                       "delivery", "evidence"], a
    assert (len(a["alert_id"]), a["priority"], a["cpr"], a["delivery"]) \
        == (18, "NORMAL", cpr, 0), a
    [e] = a["evidence"]
    assert list(e) == ["event_id", "agency", "type", "period_start",
                       "period_end", "lessons_absent",
                       "lessons_expected"], e
    assert (len(e["event_id"]), e["type"], e["lessons_absent"]) == \
        (32, "AbsenceReport", 12), e
    line, count = inbox_once(hub, "--list")
    assert count == "1 open alerts"
    assert line.startswith(f"NORMAL  {a['alert_id']}  ") and \
        f"  due {a['due']}  cw-anna      {cpr[:6]}-{cpr[6:]}  " \
        f"{a['title']}" in line, line
    entries = [json.loads(x) for x in
               inbox_once(hub, "--timeline", cpr, "--json")]
    assert [list(x) for x in entries] == [
        ["date", "kind", "id", "summary", "type", "agency", "superseded"],
        ["date", "kind", "id", "summary", "type", "agency", "superseded"],
        ["date", "kind", "id", "summary", "rule", "open"]], entries
    lines = inbox_once(hub, "--timeline", cpr)
    assert lines[-1] == "3 entries" and lines[-2].endswith("  [open]") and \
        " ALERT " in lines[-2] and " event " in lines[0], lines


def test_inbox_shows_what_each_piece_of_evidence_is(make_hub):
    """OPERATIONS.md, "What inbox prints": an evidence line says what the
    event behind the alert is. An absence report gives its period and
    figures; any other event (a dropout, an enrolment, a referral, a
    readiness assessment) its kind, its day and the agency, never an
    absence line of 0 of 0 lessons. --json gives the figures of an
    absence report only (null for any other kind)."""
    hub = hubtest.rules_hub(make_hub, "2026-09-07T08:00:00")
    adult = CprGen(313).born("2004-05-05")
    hub.assign(adult, "cw-anna")
    hub.send(hubtest.ev_absence(adult, "2026-08-31", 6),
             hubtest.ev_dropout(adult, "2026-09-07"),
             hubtest.ev_referral(adult, "2026-09-07",
                                 consent={"given": True}))
    assert hub.wait_applied()["alerts"] == 3
    hub.send(hubtest.ev_referral(adult, "2026-09-08",
                                 stage="TREATMENT_STARTED",
                                 consent={"given": False}))
    assert hub.wait_applied()["alerts"] == 4
    hub.set_clock("2026-09-28T09:00:00")
    hub.send(hubtest.ev_enrolment(adult, "2026-09-28"))
    assert hub.wait_applied()["alerts"] == 5

    def live(*extra):
        p = subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery,
             "--no_ack", "--idle_exit", str(2 * hubtest.QUIET), *extra],
            capture_output=True, text=True, timeout=60 * hubtest.SLOW)
        assert p.returncode == 0, p.stderr
        return p.stdout

    blocks = {b.split("(")[1].split(")")[0]: b.splitlines()
              for b in live().split("=== ")[1:]}
    assert blocks.keys() == {"absence.rolling", "dropout", "withdrawn",
                             "back_on_track"}, blocks

    def evidence(rule):
        lines = blocks[rule][blocks[rule].index("    evidence:") + 1:]
        return [line for line in lines if line.startswith("      ")]
    assert evidence("absence.rolling") == [
        "      2026-08-31..2026-09-04    6 of  30 lessons absent  "
        "(school-a)"]
    assert evidence("dropout") == [
        "      2026-09-07              Dropout  (college-a)"]
    # The notice of a withdrawn consent names no one and has no
    # evidence: the statement that withdrew the consent (a treatment
    # stage here) is the centre's, no longer shared (RULES.md §3).
    assert "    evidence:" not in blocks["withdrawn"]
    assert "    person" not in "\n".join(blocks["withdrawn"])
    assert evidence("back_on_track") == [
        "      2026-09-28              Enrolment  (college-a)"]
    # A notice has no due day: no "act by" with nothing after it.
    assert "    for      cw-anna" in blocks["withdrawn"]
    assert "    for      cw-anna, act by 2026-09-14" in blocks["dropout"]
    # --list: "-" for no due day, as for no person: a script that splits
    # a line at blanks finds every column where it expects it.
    rules = {b[0].split()[2]: rule for rule, b in blocks.items()}
    for line in inbox_once(hub, "--list")[:-1]:
        _, alert_id, _, due, day, recipient, person = line.split()[:7]
        rule = rules[alert_id]
        assert (due, recipient) == ("due", "cw-anna"), line
        assert (day == "-") == (rule in ("withdrawn", "back_on_track")), \
            line
        assert (person == "-") == (rule == "withdrawn"), line

    alerts = {a["rule"]: a for a in map(json.loads,
                                        live("--json").splitlines())}
    [absence] = alerts["absence.rolling"]["evidence"]
    assert (absence["type"], absence["lessons_absent"],
            absence["lessons_expected"]) == ("AbsenceReport", 6, 30)
    assert (alerts["withdrawn"]["cpr"], alerts["withdrawn"]["evidence"]) \
        == ("", [])
    for rule, kind, day in (("dropout", "Dropout", "2026-09-07"),
                            ("back_on_track", "Enrolment", "2026-09-28")):
        [e] = alerts[rule]["evidence"]
        assert list(e) == ["event_id", "agency", "type", "period_start",
                           "period_end", "lessons_absent",
                           "lessons_expected"], e
        assert (e["type"], e["period_start"], e["period_end"],
                e["lessons_absent"], e["lessons_expected"]) == \
            (kind, day, day, None, None), e


def test_live_explanation_wraps_between_characters(make_hub):
    """OPERATIONS.md, "What inbox prints": stdout is UTF-8 and the
    explanation is wrapped at 72 characters. An institution's name in
    Danish, longer than a line and without a blank, is cut between two
    characters, never inside one; æ, ø and å count one each."""
    hub = hubtest.rules_hub(make_hub, "2026-09-07T08:00:00")
    long_name, two_blanks = CprGen(314).take(2)
    for cpr in (long_name, two_blanks):
        hub.assign(cpr, "cw-anna")
    hub.send(hubtest.ev_dropout(long_name, "2026-09-07",
                                institution="a" + "Ø" * 100),
             # The break falls between the two blanks: no line ends in one.
             hubtest.ev_dropout(two_blanks, "2026-09-07",
                                reason="m" * 59 + "  away"))
    assert hub.wait_applied()["alerts"] == 2
    p = subprocess.run(
        [hubtest.binary("inbox"), "--caseworker", "cw-anna",
         "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery,
         "--no_ack", "--max", "2", "--idle_exit", str(10 * hubtest.QUIET)],
        capture_output=True, timeout=60 * hubtest.SLOW)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode("utf-8").splitlines()   # raises if not UTF-8
    for a in hub.peek("cw-anna", 2):
        start = lines.index(f"    person   {a['cpr'][:6]}-{a['cpr'][6:]}")
        wrapped = lines[start + 3:lines.index("    evidence:", start)]
        assert all(line.startswith("      ") and len(line) <= 6 + 72 and
                   not line.endswith(" ") for line in wrapped), wrapped
        assert "".join(line[6:] for line in wrapped).replace(" ", "") == \
            a["explanation"].replace(" ", ""), wrapped
        if a["cpr"] == long_name:
            assert "      aØØØ" in "\n".join(wrapped) and \
                any(len(line) == 6 + 72 for line in wrapped), wrapped


def send_quiet_weeks(hub, cpr, weeks):
    """A week's report without absence for each of `weeks` weeks from
    2015: timeline entries that raise nothing."""
    hub.send(*[hubtest.envelope(
        "school-a", cpr, salt=f"quiet-{i}",
        period_start=(datetime.date(2015, 1, 5) +
                      datetime.timedelta(weeks=i)).isoformat(),
        period_end=(datetime.date(2015, 1, 9) +
                    datetime.timedelta(weeks=i)).isoformat(),
        absent=0, expected=30) for i in range(1, weeks + 1)])


def test_a_later_page_refused_says_the_list_is_not_whole(make_hub):
    """OPERATIONS.md, `--list` and `--timeline CPR`: each page is a query
    of its own, counted against query_rate; a page refused ("too many
    queries") is asked again until --timeout, and when a later page is
    refused still then, what was printed stays, followed by `N open
    alerts (more not shown)` / `N entries (more not shown)`, the reason
    on stderr, exit 1. `--ack` asks for its alert alone: refused before
    the acknowledgement, it sends nothing; refused after it, the
    acknowledgement was sent but not seen stored, and `--ack` again says
    "not open" (exit 4)."""
    hub = make_hub(settings={"query_rate": "1", "query_burst": "1"})
    cprs = CprGen(315).take(51)
    hub.absence_alerts("cw-anna", cprs, "page")
    busy = cprs[0]
    send_quiet_weeks(hub, busy, 399)
    wait_applied(hub, events=102 + 399, alerts=51)

    def run(*args, wait=True):
        if wait:
            time.sleep(1.1)                 # a full allowance: one query
        return subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery,
             *args], capture_output=True, text=True, timeout=60)
    too_many = "inbox: the hub refused: too many queries; wait a moment " \
               "and ask again\n"
    # One query a second: the second page waits for it, beyond a
    # --timeout of 1 s.
    p = run("--list", "--timeout", "1")
    lines = p.stdout.splitlines()
    assert (p.returncode, p.stderr) == (1, too_many), p
    assert len(lines) == 51 and lines[-1] == \
        "50 open alerts (more not shown)", lines[-2:]
    p = run("--list", "--json", "--timeout", "1")
    assert (p.returncode, p.stderr) == (1, too_many), p
    assert [json.loads(x)["rule"] for x in p.stdout.splitlines()] == \
        ["absence.rolling"] * 50
    p = run("--timeline", busy, "--timeout", "1")
    lines = p.stdout.splitlines()
    assert (p.returncode, p.stderr) == (1, too_many), p
    assert len(lines) == 401 and lines[-1] == \
        "400 entries (more not shown)", lines[-2:]
    first = json.loads(run("--list", "--json").stdout.splitlines()[0])
    # The list's second page took the allowance: refused before.
    p = run("--ack", first["alert_id"], wait=False)
    assert (p.returncode, p.stdout, p.stderr) == (1, "", too_many), p
    assert hub.stats()["alerts_open"] == 51
    # One query allowed: the one before; the one after is refused.
    p = run("--ack", first["alert_id"])
    assert (p.returncode, p.stdout, p.stderr) == (1, "", too_many), p
    hub.wait_stats("acknowledged", lambda s: s["alerts_open"] == 50)
    p = run("--ack", first["alert_id"])
    assert p.returncode == 4 and "is not open for cw-anna" in p.stderr, p


def test_a_list_longer_than_the_query_burst_is_shown_whole(make_hub):
    """OPERATIONS.md: --list prints every open alert (up to the 5,000 the
    hub orders), --timeline every entry, page after page, each page a
    query counted against query_rate. A list of more pages than
    query_burst allows at once (here 2 a second, 1 at once: 4 pages)
    must not end part way: "too many queries; wait a moment and ask
    again" is waited out within --timeout."""
    hub = make_hub(settings={"query_rate": "2", "query_burst": "1"})
    cprs = CprGen(316).take(160)
    hub.absence_alerts("cw-anna", cprs, "burst")
    busy = cprs[0]
    send_quiet_weeks(hub, busy, 899)
    wait_applied(hub, events=320 + 899, alerts=160)
    for args, count in ((["--list"], "160 open alerts"),
                        (["--timeline", busy], "902 entries")):
        time.sleep(1.1)
        p = subprocess.run(
            [hubtest.binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery,
             *args], capture_output=True, text=True, timeout=60)
        assert (p.returncode, p.stderr) == (0, ""), p
        assert p.stdout.splitlines()[-1] == count, p.stdout[-200:]


def test_a_later_page_unanswered_says_the_list_is_not_whole(make_hub):
    """OPERATIONS.md, `--list` and `--timeline CPR`: a later page with no
    answer within --timeout leaves what was printed, followed, as for a
    refused page, by `N open alerts (more not shown)` / `N entries (more
    not shown)`; then `no answer from the hub within T s`, exit 2. A
    stand-in for hubd (the hub's keys, no ZAP) answers the first page,
    `truncated`, and never the second."""
    import zmq
    hub = make_hub(start=False)
    m = hubtest.pb()
    keys = hubtest.read_key_file(hub.keys_dir / "hub.key_secret")
    ctx = zmq.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.curve_server = True
    sock.curve_secretkey = keys["secret"].encode()
    sock.curve_publickey = keys["public"].encode()
    sock.bind(hub.delivery)
    alert = m.Alert(alert_id=bytes(8) + b"\x04", rule="dropout",
                    priority=3, recipient="cw-anna", raised_at=0,
                    title="Dropped out", due="1970-01-08")
    entry = m.TimelineEntry(date="1970-01-01", summary="dropped out")
    try:
        for args, page, count in (
                (["--list"], m.Result(alerts=[alert], truncated=True),
                 "1 open alerts (more not shown)"),
                (["--timeline", "0101900000"],
                 m.Result(timeline=[entry], truncated=True),
                 "1 entries (more not shown)")):
            p = subprocess.Popen(
                [hubtest.binary("inbox"), "--caseworker", "cw-anna",
                 "--keys_dir", str(hub.keys_dir), "--delivery",
                 hub.delivery, "--timeout", "2", *args],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            assert sock.poll(20000 * hubtest.SLOW), "no query came"
            ident, data = sock.recv_multipart()
            query = m.Query.FromString(data[2:])
            page.request_id = query.request_id
            sock.send_multipart([ident, bytes([1, 8]) +
                                 page.SerializeToString()])
            out, err = p.communicate(timeout=30)
            while sock.poll(0):
                sock.recv_multipart()          # the second page: unanswered
            assert (p.returncode, err) == (
                2, "inbox: no answer from the hub within 2 s\n"), (args, err)
            lines = out.splitlines()
            assert len(lines) == 2 and lines[-1] == count, (args, lines)
    finally:
        sock.close(0)
        ctx.destroy(linger=0)
