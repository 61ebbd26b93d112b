"""82 metrics, health and operational alerts: hubd's /metrics (Prometheus
text format), /healthz and /readyz on metrics_listen, and the built-in
operational conditions (HUB-OPS-*, ungebro_ops_condition, ops.* alerts to
caseworkers registered with --ops). docs/OPERATIONS.md."""

import os
import pty
import re
import subprocess
import time
import urllib.error
import urllib.request

import hubtest
from hubtest import (ACCEPTED, E_DENIED, REJECTED, CprGen, IngestClient,
                     envelope, frame)

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def scrape(hub):
    """Parse /metrics: {(name, frozenset(labels)): value}, and the TYPEs."""
    status, text = get(hub.metrics_url + "/metrics")
    assert status == 200, text
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
            continue
        if not line or line.startswith("#"):
            continue
        m = LINE.match(line)
        assert m, f"not in the text format: {line!r}"
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in samples, f"sample twice: {line}"
        samples[key] = float(m.group(4))
        assert shortest(m.group(4)), f"more digits than it needs: {line}"
    return samples, types


def shortest(text):
    """A value printed with no more significant digits than it takes to
    read back the same (0.011, not 0.010999999999999999)."""
    v = float(text)
    if v != v or v in (float("inf"), float("-inf")):
        return True
    mantissa = re.sub(r"[eE].*", "", text).lstrip("-").replace(".", "")
    digits = len(mantissa.strip("0")) or 1
    return digits <= 15 or float(f"{v:.{digits - 1}g}") != v


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def metrics_hub(make_hub, settings=None, **kw):
    port = hubtest.free_port()
    hub = make_hub(start=False, settings=dict(
        {"metrics_listen": f"127.0.0.1:{port}"}, **(settings or {})), **kw)
    hub.metrics_url = f"http://127.0.0.1:{port}"
    hub.start()
    return hub


def test_health_endpoints_answer(make_hub):
    hub = metrics_hub(make_hub)
    assert get(hub.metrics_url + "/healthz") == (200, "ok\n")
    hubtest.wait_for(lambda: get(hub.metrics_url + "/readyz")[0] == 200, 10,
                     "/readyz 200")
    assert get(hub.metrics_url + "/nothing")[0] == 404


def test_health_endpoints_take_get_and_head_and_say_so(make_hub):
    """OPERATIONS.md, Metrics and health endpoints: GET and HEAD; any
    other method is 405, which names the methods allowed."""
    hub = metrics_hub(make_hub)
    for path in ("/healthz", "/readyz", "/metrics"):
        req = urllib.request.Request(hub.metrics_url + path, method="HEAD")
        with urllib.request.urlopen(req, timeout=10) as r:
            assert r.status == 200 and r.read() == b"", path
        for method in ("POST", "PUT", "DELETE", "OPTIONS"):
            req = urllib.request.Request(hub.metrics_url + path,
                                         method=method, data=b"")
            try:
                urllib.request.urlopen(req, timeout=10)
                raise AssertionError(f"{method} {path} answered")
            except urllib.error.HTTPError as e:
                assert e.code == 405, (method, path, e.code)
                assert e.headers["Allow"] == "GET, HEAD", \
                    (method, path, dict(e.headers))


def test_health_endpoints_answer_during_a_long_replay(make_hub):
    """OPERATIONS.md: /readyz answers 503 "replaying the log" until the
    start's replay is done, and /healthz 200 (the process is alive): a
    replay of the whole log (derived/ deleted) does not leave them
    unanswered until it ends."""
    import socket
    import threading

    hub = metrics_hub(make_hub)
    cprs = CprGen(8301).take(40)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as client:
        sent = 0
        while sent < 14000:      # several replay chunks of 4096
            window = [envelope("school-a", cprs[(sent + i) % len(cprs)],
                               salt=f"replay-{sent + i}")
                      for i in range(200)]
            for env in window:
                assert client.send(frame(env))
            for _ in window:
                ack = client.recv_ack(30)
                assert ack is not None and ack.status == ACCEPTED, ack
            sent += len(window)
    hub.stop()
    for f in (hub.data_dir / "derived").iterdir():
        f.unlink()
    port = int(hub.metrics_url.rsplit(":", 1)[1])
    answers = []

    def probe(path):
        # Connect as soon as the port is bound; the first answer counts.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port),
                                              timeout=60) as s:
                    s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
                    data = b""
                    while chunk := s.recv(4096):
                        data += chunk
                answers.append((path, data.decode(errors="replace"),
                                "HUB-READY" in hub.current_log()))
                return
            except OSError:
                time.sleep(0.002)

    threads = [threading.Thread(target=probe, args=(p,))
               for p in ("/readyz", "/healthz")]
    for t in threads:
        t.start()
    hub.start(wait=False)
    for t in threads:
        t.join(60)
    hub.wait_ready(60)
    hub.wait_log(r"HUB-REPLAY applying log entries 1\.\.")
    got = dict((path, (text, ready)) for path, text, ready in answers)
    text, ready = got["/readyz"]
    assert not ready, "answered only once the replay was over"
    assert text.startswith("HTTP/1.") and " 503 " in text.split("\r\n")[0]
    assert text.endswith("replaying the log\n"), text
    text, _ = got["/healthz"]
    assert " 200 " in text.split("\r\n")[0] and text.endswith("ok\n"), text
    hubtest.wait_for(lambda: get(hub.metrics_url + "/readyz")[0] == 200, 30,
                     "/readyz 200 after the replay")


def test_metrics_count_what_was_sent(make_hub):
    hub = metrics_hub(make_hub)
    before, types = scrape(hub)
    assert types["ungebro_events_in_total"] == "counter"
    assert types["ungebro_commit_seconds"] == "histogram"
    assert types["ungebro_ingest_batch_size"] == "histogram"
    assert types["ungebro_queue_depth"] == "gauge"
    cprs = CprGen(8201).take(7)
    hub.send(*[envelope("school-a", c, salt=f"m{i}")
                for i, c in enumerate(cprs)])
    # One refused frame: the envelope names another agency than the key.
    with IngestClient(hub, "school-a") as c:
        hub.cprs.add(cprs[0])
        ack = c.ack_for(frame(envelope("school-b", cprs[0], salt="bad")))
    assert (ack.status, ack.code) == (REJECTED, E_DENIED)
    after, _ = scrape(hub)
    key = dict(agency="school-a", type="ABSENCE_REPORT")
    assert value(after, "ungebro_events_in_total", **key) - \
        value(before, "ungebro_events_in_total", **key) == 7
    assert value(after, "ungebro_events_rejected_total", code="E_DENIED") - \
        value(before, "ungebro_events_rejected_total", code="E_DENIED") == 1
    for hist in ("ungebro_commit_seconds", "ungebro_ingest_batch_size"):
        buckets = sorted(
            ((float(dict(k[1])["le"]), v) for k, v in after.items()
             if k[0] == hist + "_bucket"), key=lambda b: b[0])
        assert buckets[-1][0] == float("inf")
        counts = [v for _, v in buckets]
        assert counts == sorted(counts), f"{hist} buckets not monotonic"
        assert counts[-1] == value(after, hist + "_count") >= 1
    assert value(after, "ungebro_ingest_batch_size_sum") - \
        value(before, "ungebro_ingest_batch_size_sum") == 7
    assert value(after, "ungebro_lmdb_map_used_bytes", env="log") > 0
    assert value(after, "ungebro_lmdb_map_size_bytes", env="log") == \
        16384 * 1024 * 1024
    assert value(after, "ungebro_log_last_sequence") == 7
    assert ("ungebro_ops_condition",
            frozenset({("condition", "adapter_silent")})) in after


def test_commit_time_is_real_time_and_ages_are_on_the_hub_clock(make_hub):
    """OPERATIONS.md, metrics: ages and overdue times are read on the hub
    clock (a clock_file in tests), while ungebro_commit_seconds is how
    long an append really took: a hub clock that stands still does not
    make it 0."""
    hub = metrics_hub(make_hub, clock="2026-01-05T08:00:00")
    cpr = CprGen(8214).take(1)[0]
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt="real", absent=30, expected=100))
    hub.wait_applied()
    hub.set_clock("2026-01-05T09:00:00")
    time.sleep(0.5)
    s, _ = scrape(hub)
    assert value(s, "ungebro_commit_seconds_sum") > 0
    assert value(s, "ungebro_commit_seconds_sum") < 60
    assert value(s, "ungebro_oldest_unacked_alert_age_seconds") == 3600
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "times are seconds on the hub clock)" not in doc


def anna_with_one_queued_alert(hub, seed, salt):
    """One absence alert for a youth of cw-anna's (CprGen(seed)), waited
    for until ungebro_queue_depth counts it."""
    cpr = CprGen(seed).take(1)[0]
    hub.assign(cpr, "cw-anna")
    hub.send(envelope("school-a", cpr, salt=salt, absent=30, expected=100))
    hub.wait_applied()
    hubtest.wait_for(lambda: value(scrape(hub)[0], "ungebro_queue_depth",
                                   recipient="cw-anna") == 1, 10,
                     "cw-anna's queue depth 1")


def test_queue_depth_and_oldest_alert(make_hub):
    hub = metrics_hub(make_hub)
    # A web gateway is registered like a caseworker; it has no queue.
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    anna_with_one_queued_alert(hub, 8202, "q1")
    s, _ = scrape(hub)
    assert value(s, "ungebro_alerts_raised_total") == 1
    assert value(s, "ungebro_oldest_unacked_alert_age_seconds") >= 0
    _, text = get(hub.metrics_url + "/metrics")
    assert 'ungebro_queue_depth{recipient="cw-anna"}' in text, text
    assert 'recipient="web-1"' not in text, text


def test_adapter_silent_raised_once_and_cleared(make_hub):
    port = hubtest.free_port()
    hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                   settings={"metrics_listen": f"127.0.0.1:{port}",
                             "ops_silence": "school-a=1"})
    hub.metrics_url = f"http://127.0.0.1:{port}"
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.start()
    time.sleep(1.5 * hubtest.SLOW)   # the first check notes the start
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="adapter_silent") == 0
    hub.set_clock("2026-01-05T11:00:00")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT")
    time.sleep(2.5 * hubtest.SLOW)   # more checks: no second raise
    assert hub.log_text().count("HUB-OPS-ADAPTER-SILENT") == 1
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="adapter_silent") == 1
    alerts = hub.peek("ops-olga", 1)
    assert alerts[0]["rule"] == "ops.adapter_silent"
    assert "school-a" in alerts[0]["title"]
    assert "no event from school-a accepted for 3 hours (expected at " \
        "least every 1 hour; ops_silence)" in alerts[0]["explanation"], \
        alerts[0]["explanation"]
    hub.peek("cw-anna", 0)           # nobody else gets it
    # The agency sends: cleared, and raised again only after silence.
    hub.send(envelope("school-a", CprGen(8203).take(1)[0], salt="back"))
    hub.wait_log(r"HUB-OPS-CLEARED.*adapter_silent")
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="adapter_silent") == 0
    assert hub.log_text().count("HUB-OPS-ADAPTER-SILENT") == 1
    hub.set_clock("2026-01-05T14:00:00")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT", count=2)
    hub.peek("ops-olga", 2)


def test_silence_is_counted_from_the_start_not_from_the_first_check(
        make_hub):
    """OPERATIONS.md, Operational alerts: adapter_silent counts from the
    agency's last accepted event, "or from hubd's start if it sent none
    since". The hub clock moved on at once after HUB-READY is time since
    the start: the agency silent for longer than its hours is raised,
    not counted afresh from whenever the first check ran."""
    for run in range(3):
        hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                       settings={"ops_silence": "school-a=1"})
        hub.start()
        hub.set_clock("2026-01-05T09:30:00")
        hub.wait_log(r"warn HUB-OPS-ADAPTER-SILENT adapter_silent "
                     r"\(school-a\): no event from school-a accepted for 1 "
                     r"hour \(expected at least every 1 hour; ops_silence\)",
                     timeout=5 * hubtest.SLOW)
        hub.stop()


def test_watched_agency_after_64_others_is_not_taken_for_silent(make_hub):
    # ungebro_events_in_total keeps series for the first 64 agencies
    # seen; a watched agency seen after them still counts as heard from.
    agencies = {f"school-{i:02d}": "absence" for i in range(65)}
    hub = metrics_hub(make_hub, clock="2026-01-05T08:00:00",
                      agencies=agencies,
                      settings={"ops_silence": "school-64=1"})
    time.sleep(1.5 * hubtest.SLOW)   # the first check notes the start
    cprs = CprGen(8207).take(65)
    hub.send(*[envelope(f"school-{i:02d}", cprs[i], salt=f"s{i}")
               for i in range(64)])
    hub.set_clock("2026-01-05T08:50:00")
    hub.send(envelope("school-64", cprs[64], salt="s64"))
    s, _ = scrape(hub)
    assert value(s, "ungebro_events_in_total", agency="other",
                 type="ABSENCE_REPORT") == 1
    # 40 minutes after its event, 90 after the start: not silent.
    hub.set_clock("2026-01-05T09:30:00")
    time.sleep(2.5 * hubtest.SLOW)   # checks run on the new time
    assert "HUB-OPS-ADAPTER-SILENT" not in hub.log_text()
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="adapter_silent") == 0
    # Silent an hour after its event: raised.
    hub.set_clock("2026-01-05T10:00:00")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT adapter_silent \(school-64\)")


def test_an_agency_named_other_shares_the_series_of_the_later_ones(
        make_hub):
    """OPERATIONS.md, the metrics table: agencies after the first 64 count
    under agency="other". An agency registered as `other` among the first
    64 is that same series, not a second sample of it (which would make
    Prometheus refuse the whole scrape)."""
    agencies = {"other": "absence"}
    agencies.update({f"school-{i:02d}": "absence" for i in range(64)})
    hub = metrics_hub(make_hub, agencies=agencies)
    cprs = CprGen(8210).take(65)
    hub.send(envelope("other", cprs[0], salt="o0"))
    hub.send(*[envelope(f"school-{i:02d}", cprs[i + 1], salt=f"o{i + 1}")
               for i in range(64)])
    s, _ = scrape(hub)       # asserts every sample is there once
    assert value(s, "ungebro_events_in_total", agency="other",
                 type="ABSENCE_REPORT") == 2
    assert sum(v for (name, _), v in s.items()
               if name == "ungebro_events_in_total") == 65


def test_hub_stop_counts_what_operations_md_says(make_hub):
    """OPERATIONS.md, Monitoring: HUB-STOP (notice) gives the counters
    since the start, in the words and order listed there; `sessions
    reclaimed` counts every delivery session ended, whatever ended it,
    and the second `refused` the Hellos refused for want of a session."""
    hub = make_hub(settings={"sessions_max": "1"})
    cpr = CprGen(8212).take(1)[0]
    hub.assign(cpr, "cw-anna")
    env = envelope("school-a", cpr, salt="stop", absent=30, expected=100)
    hub.send(env)
    hub.acks(env)                    # DUPLICATE
    hub.peek("cw-anna", 1)           # a session, ended by its client
    hub.peek("cw-anna", 1)           # another
    hold = subprocess.Popen(
        [hubtest.binary("inbox"), "--config",
         str(hub.tmp / "inbox-cw-anna.conf"), "--no_ack", "--idle_exit",
         "30"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        hub.wait_log(r"HUB-HELLO caseworker cw-anna connected", count=3)
        hub.inbox("desk-dora", no_ack=True, idle_exit=1)  # no session left
        hub.wait_log(r"HUB-HELLO no session for desk-dora")
    finally:
        hold.kill()
        hold.wait()
    hub.wait_log(r"HUB-SESSION session of cw-anna ended", count=3)
    hub.stop()
    line = next(ln for ln in hub.log_text().splitlines()
                if "HUB-STOP" in ln)
    assert re.search(r" notice HUB-STOP accepted 1, duplicates 1, rejected "
                     r"0, alerts raised 1, delivered \d+, acked 0, keys "
                     r"admitted \d+, refused 0, sessions reclaimed 3, "
                     r"refused (\d+), queries rate-limited 0, actions "
                     r"rate-limited 0$", line), line
    assert int(re.search(r"refused (\d+), queries", line).group(1)) == \
        len(re.findall(r"HUB-HELLO no session for desk-dora: .*"
                       r"\(sessions_max\)", hub.log_text()))
    doc = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    assert "`sessions reclaimed N` every delivery session ended" in \
        " ".join(doc.split())


def test_ops_flag_combines_with_desk_and_goes_when_registered_again(
        make_hub):
    """OPERATIONS.md, Registering: --ops may be combined with --desk;
    registering the id again without --ops takes it away."""
    hub = make_hub(start=False, clock="2026-01-05T08:00:00",
                   settings={"ops_silence": "school-a=2"})
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops", "--desk")
    hub.start()
    time.sleep(1.5 * hubtest.SLOW)   # the first check notes the start
    hub.set_clock("2026-01-05T11:00:00")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT")
    alerts = hub.peek("ops-olga", 1)
    assert alerts[0]["rule"] == "ops.adapter_silent"
    # Still a desk member: an alert for a person without a contact
    # person reaches her too.
    hub.send(envelope("school-a", CprGen(8204).take(1)[0], salt="desk",
                      absent=20, expected=30))
    hub.wait_log(r"HUB-OPS-CLEARED.*adapter_silent")
    rules = {a["rule"] for a in hub.peek("ops-olga", 2)}
    assert rules == {"ops.adapter_silent", "absence.rolling"}, rules
    # Without --ops: the next ops alert goes to nobody.
    hub.hubctl("register-caseworker", "ops-olga", "--desk")
    hub.set_clock("2026-01-05T14:00:00")
    hub.wait_log(r"HUB-OPS-ADAPTER-SILENT", count=2)
    time.sleep(1.5 * hubtest.SLOW)
    rules = [a["rule"] for a in hub.peek("ops-olga", 2)]
    assert sorted(rules) == ["absence.rolling", "ops.adapter_silent"], rules


def test_ops_silence_naming_no_registered_agency_is_warned_at_start(
        make_hub):
    """OPERATIONS.md: ops_silence takes agency ids as registered. A
    misspelt one would be reported silent hours later while the agency
    meant goes unwatched: hubd warns at start, naming it."""
    hub = make_hub(settings={"ops_silence": "school-a=2,school-x=3"})
    hub.wait_log(r"warn HUB-OPS ops_silence names 'school-x', which is "
                 r"not a registered agency")
    time.sleep(1.5 * hubtest.SLOW)
    assert "'school-a'" not in hub.log_text()
    assert hub.log_text().count("ops_silence names") == 1


def test_map_use_over_the_limit(make_hub):
    hub = metrics_hub(make_hub, settings={"log_map_mb": "1",
                                          "ops_map_percent": "2"})
    hub.wait_log(r"HUB-OPS-MAP-FULL.*\(log\)")
    # A figure that says how full: not "0 of 1 MiB".
    line = next(ln for ln in hub.log_text().splitlines()
                if "HUB-OPS-MAP-FULL" in ln and "(log)" in ln)
    assert re.search(r"log uses [1-9][0-9]* KiB of 1\.0 MiB, [0-9]+ % "
                     r"\(over 2 %; raise log_map_mb", line), line
    s, _ = scrape(hub)
    assert value(s, "ungebro_ops_condition", condition="map_full") == 1
    assert value(s, "ungebro_lmdb_map_use_ratio", env="log") > 0.02
    # hubd itself holds a reader slot in each environment.
    for env in ("log", "derived", "ids"):
        assert value(s, "ungebro_lmdb_readers", env=env) >= 1
        assert value(s, "ungebro_lmdb_max_readers", env=env) >= \
            value(s, "ungebro_lmdb_readers", env=env)


def test_map_use_is_the_files_length_which_a_purge_does_not_lower(
        make_hub):
    """OPERATIONS.md: ungebro_lmdb_map_used_bytes (and `log_bytes` etc. of
    hubctl stats, and what map_full measures) is the length of the
    environment's data file, up to its last page; records deleted by a
    purge leave their pages free inside it, reused by later writes, so
    the figure does not go down until the file is compacted."""
    hub = metrics_hub(make_hub, clock="2026-01-05T08:00:00",
                      settings={"retention_absence": "30"})
    cprs = CprGen(8213).take(1000)
    hub.cprs.update(cprs)
    hubtest.send_all_accepted(
        hub, [frame(envelope("school-a", c, salt=f"purge-{c}"))
              for c in cprs], window=200)
    hub.wait_applied()
    before, _ = scrape(hub)
    log_file = hub.data_dir / "log" / "data.mdb"
    used = value(before, "ungebro_lmdb_map_used_bytes", env="log")
    assert used == log_file.stat().st_size == hub.stats()["log_bytes"]
    hub.set_clock("2026-03-01T08:00:00")
    hub.wait_stats("the absence records purged",
                   lambda st: st["log_events"] == 0, timeout=60)
    after, _ = scrape(hub)
    # The purge's own writes may even lengthen it.
    assert value(after, "ungebro_lmdb_map_used_bytes", env="log") == \
        log_file.stat().st_size >= used
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "| `ungebro_lmdb_map_used_bytes` | gauge | `env` (`log`, " \
        "`derived`, `ids`) | the length of the environment's data file" \
        in doc


def test_conditions_are_checked_every_second_of_real_time(make_hub):
    """OPERATIONS.md, Operational alerts: the checks run about once a
    second of real time; the hours a condition measures are on the hub
    clock. A hub clock that stands still (clock_file) does not stop them:
    a map over its limit is reported within seconds."""
    hub = metrics_hub(make_hub, clock="2026-01-05T08:00:00",
                      settings={"log_map_mb": "1", "ops_map_percent": "2"})
    hub.wait_log(r"HUB-OPS-MAP-FULL map_full \(log\)", timeout=5)
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "checks them about once a second (on the hub clock)" not in doc


def test_map_just_over_the_limit_is_said_over_it(make_hub):
    """A map used 6.6 % with ops_map_percent = 6 holds map_full; the line
    and the alert say a figure over the limit, not "6 % (over 6 %)"."""
    hub = make_hub(start=False, settings={"log_map_mb": "1"})
    st = hub.stats()
    limit = st["log_bytes"] * 100 // st["log_map_bytes"]
    assert st["log_bytes"] * 100 % st["log_map_bytes"], st
    hub.conf.write_text(hub.conf.read_text()
                        + f"ops_map_percent = {limit}\n")
    hub.start()
    hub.wait_log(r"HUB-OPS-MAP-FULL.*\(log\)")
    line = next(ln for ln in hub.log_text().splitlines()
                if "HUB-OPS-MAP-FULL" in ln and "(log)" in ln)
    m = re.search(rf"MiB, ([0-9]+) % \(over {limit} %;", line)
    assert m and int(m.group(1)) > limit, line


def test_bad_metrics_settings_are_refused(make_hub):
    hub = make_hub(start=False, settings={"metrics_listen": "localhost"})
    r = subprocess.run([hubtest.binary("hubd"), "--check-config",
                        "--config", str(hub.conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "metrics_listen" in r.stderr, r.stderr
    hub.conf.write_text(hub.conf.read_text().replace(
        "metrics_listen = localhost", "metrics_listen = 127.0.0.1:7610"))
    for bad in ("School A=2", "school-a=0", "school-a", "school-a=2x",
                "school-a=2,", ",school-a=2", "school-a=2,,college-a=3"):
        r = subprocess.run([hubtest.binary("hubd"), "--check-config",
                            "--config", str(hub.conf), "--ops_silence",
                            bad],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 2 and "ops_silence" in r.stderr, \
            (bad, r.stderr)


def test_ops_silence_takes_blanks_around_items_and_their_equals(make_hub):
    """OPERATIONS.md, Operational alerts: blanks around an ops_silence item
    and its `=` are layout, as in the rules file's lists; the names are
    then the same ids (one named twice is still refused)."""
    hub = make_hub(start=False)

    def check(value):
        return subprocess.run([hubtest.binary("hubd"), "--check-config",
                               "--config", str(hub.conf), "--ops_silence",
                               value],
                              capture_output=True, text=True, timeout=30)
    for good in ("school-a=3, college-a=48", " school-a = 3 ,college-a=48 "):
        r = check(good)
        assert (r.returncode, r.stdout) == (0, "hubd: configuration OK\n"), \
            (good, r.stderr)
    r = check("school-a=3, school-a =4")
    assert r.returncode == 2 and \
        "ops_silence names agency 'school-a' twice" in r.stderr, r.stderr
    for bad in ("school a=3", "school-a=3, ", " =3"):
        r = check(bad)
        assert r.returncode == 2 and "ops_silence" in r.stderr, \
            (bad, r.stderr)


def test_metrics_port_in_use_stops_the_start_with_one_log_line(make_hub):
    """OPERATIONS.md: a metrics port in use stops hubd at start, exit 1,
    with the HUB-START line it quotes; every line is a hub log line (no
    bare libmicrohttpd text in the journal)."""
    first = metrics_hub(make_hub)
    second = make_hub(start=False, settings={
        "metrics_listen": first.metrics_url.split("//")[1]})
    p = subprocess.run([hubtest.binary("hubd"), "--config", str(second.conf)],
                       capture_output=True, text=True, timeout=20)
    assert p.returncode == 1, p.stderr
    assert (f"HUB-START cannot start: metrics_listen: cannot listen on "
            f"{first.metrics_url.split('//')[1]} (in use, or not a local "
            f"address)") in p.stderr, p.stderr
    line = re.compile(r"^(\S+Z hubd |<[3-7]>)(err|warn|notice|info|debug) "
                      r"[A-Z-]+ ")
    for text in p.stderr.splitlines():
        assert line.match(text), text
    # libmicrohttpd's own line names the port asked for, not port 0.
    assert "port 0" not in p.stderr, p.stderr
    assert get(first.metrics_url + "/healthz")[0] == 200


def run_on_pty(cmd, timeout=120):
    """Run cmd with stderr on a pseudo-terminal; (rc, stdout, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=slave,
                         stdin=subprocess.DEVNULL)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:        # EIO: the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    out = p.stdout.read()
    p.wait(timeout=timeout * hubtest.SLOW)
    os.close(master)
    return p.returncode, out.decode(), err.decode(errors="replace")


def test_import_progress_only_on_a_terminal(make_hub):
    hub = make_hub()
    cprs = CprGen(8204).take(3000)
    path, _ = hub.csv("big.csv", [hubtest.AbsenceRow(cpr=c) for c in cprs])
    json_cmd = hub.adapter_cmd("import", path)
    plain = [a for a in json_cmd if a != "--json"]
    rc, out, err = run_on_pty(plain)
    assert rc == 0, out + err
    assert re.search(r"big\.csv: 3000 rows, \d+ rows/s, done", err), err
    # Not a terminal, or --json: no progress at all.
    hub.csv("big2.csv", [hubtest.AbsenceRow(cpr=c, absent=3) for c in cprs])
    p = subprocess.run([a if a != str(path) else str(path).replace(
        "big.csv", "big2.csv") for a in plain], capture_output=True,
        text=True, timeout=120 * hubtest.SLOW)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rows/s" not in p.stderr
    hub.csv("big3.csv", [hubtest.AbsenceRow(cpr=c, absent=4) for c in cprs])
    rc, out, err = run_on_pty([a if a != str(path) else str(path).replace(
        "big.csv", "big3.csv") for a in json_cmd])
    assert rc == 0, out + err
    assert "rows/s" not in err


def test_grafana_dashboard_uses_served_names(make_hub):
    import json
    from pathlib import Path
    hub = metrics_hub(make_hub)
    _, types = scrape(hub)
    dash = json.loads((Path(__file__).resolve().parents[2] / "deploy" /
                       "grafana-ungebro.json").read_text())
    names = {re.sub(r"_(bucket|sum|count)$", "", n)
             for p in dash["panels"] for t in p["targets"]
             for n in re.findall(r"ungebro_[a-z_]+", t["expr"])}
    assert names and names <= set(types), names - set(types)


def ops_hub(make_hub, clock, settings, caseworkers, **kw):
    port = hubtest.free_port()
    hub = make_hub(start=False, clock=clock, caseworkers=caseworkers,
                   settings=dict({"metrics_listen": f"127.0.0.1:{port}"},
                                 **settings), **kw)
    hub.metrics_url = f"http://127.0.0.1:{port}"
    hub.keygen("ops-olga")
    hub.hubctl("register-caseworker", "ops-olga", "--ops")
    hub.start()
    return hub


def dropout_to_the_desk(make_hub, seed, second, *extra):
    """A hub whose ops person is ops-olga, cw-anna and `second` are
    registered (neither on the desk), and a 15-year-old's dropout assigned
    to cw-anna (with `extra` events) applied: the contact deadline's
    warning goes to the duty desk on Friday 09-11."""
    hub = ops_hub(make_hub, "2026-09-07T08:00:00", {},
                  {"cw-anna": False, second: False},
                  agencies=hubtest.RULE_AGENCIES,
                  rules=dict(hubtest.NO_ESCALATION))
    cpr = CprGen(seed).born("2010-09-07")
    hub.assign(cpr, "cw-anna")
    hub.send(hubtest.ev_dropout(cpr, "2026-09-07"), *extra)
    hub.wait_applied()
    return hub


def test_deadline_to_an_empty_desk_is_an_ops_alert(make_hub):
    hub = dropout_to_the_desk(make_hub, 8205, "desk-dora")
    assert "HUB-OPS-DESK-UNCOVERED" not in hub.log_text()
    # The contact deadline's warning goes to the desk on Friday 09-11,
    # and nobody is a desk member.
    hub.advance("2026-09-11T00:00:00")
    hub.wait_log(r"HUB-OPS-DESK-UNCOVERED desk_uncovered \(duty-desk\)")
    [a] = hub.peek("ops-olga", 1)
    assert (a["rule"], a["priority"], a["cpr"]) == \
        ("ops.desk_uncovered", "HIGH", "")
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="desk_uncovered") == 1
    # A desk member registered: the condition ends.
    hub.register_caseworker("desk-dora", desk=True)
    hub.wait_log(r"HUB-OPS-CLEARED desk_uncovered \(duty-desk\)")
    assert hub.log_text().count("HUB-OPS-DESK-UNCOVERED") == 1


def test_a_shared_desk_login_covers_the_desk(make_hub):
    """RULES.md section 7: a caseworker registered under the desk's own
    id has the desk's queue as their own. A deadline alert that reaches
    it is received, so the desk is not uncovered (OPERATIONS.md,
    Operational alerts)."""
    hub = dropout_to_the_desk(make_hub, 8217, "duty-desk")
    hub.advance("2026-09-11T00:00:00")
    [a] = hub.peek("duty-desk", 1)
    assert a["rule"].startswith("deadline."), a
    time.sleep(1.5 * hubtest.SLOW)
    assert "HUB-OPS-DESK-UNCOVERED" not in hub.log_text()
    hub.peek("ops-olga", 0)


def uncovered_desk_renamed(make_hub, seed):
    """desk_uncovered raised for duty-desk (a desk alert, nobody on the
    desk), then a reload (SIGHUP) naming night-desk the routing.desk."""
    import signal
    hub = dropout_to_the_desk(make_hub, seed, "desk-dora")
    hub.advance("2026-09-11T00:00:00")
    hub.wait_log(r"HUB-OPS-DESK-UNCOVERED desk_uncovered \(duty-desk\)")
    hub.write_rules(dict(hubtest.NO_ESCALATION,
                         **{"routing.desk": "night-desk"}))
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD rules reloaded")
    return hub


def test_an_uncovered_desk_renamed_by_a_reload_ends(make_hub):
    """OPERATIONS.md, Operational alerts: desk_uncovered ends when a member
    is registered. After a SIGHUP naming another routing.desk (RULES.md),
    registering a member of the desk now in force ends it too: the
    condition of the former desk id is not left standing for good."""
    hub = uncovered_desk_renamed(make_hub, 8215)
    hub.register_caseworker("desk-dora", desk=True)
    hub.wait_log(r"HUB-OPS-CLEARED desk_uncovered \(duty-desk\)")
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="desk_uncovered") == 0


def test_queue_growing_without_acks(make_hub):
    hub = ops_hub(make_hub, "2026-03-02T08:00:00",
                  {"ops_queue_open": "1", "ops_queue_hours": "2"},
                  {"cw-anna": False, "desk-dora": True})
    cprs = CprGen(8206).take(2)
    hub.absence_alerts("cw-anna", cprs, "s", absent=30, expected=100)
    hub.wait_applied()
    hubtest.wait_for(lambda: value(scrape(hub)[0], "ungebro_queue_depth",
                                   recipient="cw-anna") == 2, 10,
                     "two open alerts for cw-anna")
    hub.set_clock("2026-03-02T09:00:00")
    time.sleep(2 * hubtest.SLOW)
    assert "HUB-OPS-QUEUE-STALLED" not in hub.log_text()
    hub.set_clock("2026-03-02T10:30:00")
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-anna\)")
    assert [a["rule"] for a in hub.peek("ops-olga", 1)] == \
        ["ops.queue_stalled"]
    # One acknowledged: the count went down, the condition ends.
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and len(alerts) == 1, err
    hub.wait_log(r"HUB-OPS-CLEARED queue_stalled \(cw-anna\)")
    assert hub.log_text().count("HUB-OPS-QUEUE-STALLED") == 1


def test_a_queue_left_from_before_a_restart_counts_from_the_start(
        make_hub):
    """OPERATIONS.md, Operational alerts: queue_stalled counts "from
    hubd's start at the earliest". A queue stored before a restart whose
    count has not gone down since the start is stalled once
    ops_queue_hours have passed on the hub clock since then, also when
    the clock moved on at once after HUB-READY."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00",
                  {"ops_queue_open": "1", "ops_queue_hours": "2"},
                  {"cw-anna": False, "desk-dora": True})
    hub.absence_alerts("cw-anna", CprGen(8214).take(2), "rs", absent=30,
                       expected=100)
    hub.wait_stats("two open alerts", lambda st: st["alerts_open"] == 2)
    for run in range(3):
        hub.stop()
        hub.set_clock(f"2026-03-0{2 + run}T08:00:00")
        hub.start()
        hub.set_clock(f"2026-03-0{2 + run}T10:30:00")
        hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-anna\)",
                     count=run + 1, timeout=5 * hubtest.SLOW)


def test_every_stalled_queue_is_raised_however_many(make_hub):
    """OPERATIONS.md, Operational alerts: queue_stalled holds for each
    recipient whose queue is not worked, and each is raised (log line,
    ungebro_ops_active, alert): the 257th of them too, not dropped
    without a word once some table of conditions is full."""
    n = 257
    caseworkers = {f"cw-{i:03d}": False for i in range(n)}
    caseworkers["desk-dora"] = True
    hub = ops_hub(make_hub, "2026-03-02T08:00:00",
                  {"ops_queue_open": "1", "ops_queue_hours": "2"},
                  caseworkers, agencies=hubtest.RULE_AGENCIES)
    cprs = CprGen(8211).take(2 * n)
    hub.send(*[hubtest.ev_assignment(c, f"cw-{i // 2:03d}", "2024-01-01")
               for i, c in enumerate(cprs)])
    hub.send(*[envelope("school-a", c, salt=f"many-{i}", absent=30,
                        expected=100) for i, c in enumerate(cprs)])
    hub.wait_stats("two alerts each", lambda st: st["alerts_open"] == 2 * n,
                   timeout=60)
    time.sleep(1.5 * hubtest.SLOW)   # the queues counted at two
    hub.set_clock("2026-03-02T10:30:00")
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED", count=n, timeout=30)
    time.sleep(1.5 * hubtest.SLOW)
    stalled = set(re.findall(r"HUB-OPS-QUEUE-STALLED queue_stalled "
                             r"\((cw-\d+)\)", hub.log_text()))
    assert stalled == set(caseworkers) - {"desk-dora"}
    s, _ = scrape(hub)
    # ops-olga's own queue filled with these alerts may count among them.
    assert {dict(labels)["subject"] for (name, labels) in s
            if name == "ungebro_ops_active" and
            ("condition", "queue_stalled") in labels} - {"ops-olga"} == \
        stalled


def test_broken_audit_chain_is_an_ops_alert(make_hub):
    from test_61_audit import flip_audit_byte
    hub = ops_hub(make_hub, "2026-03-02T08:00:00", {},
                  {"cw-anna": False, "desk-dora": True})
    time.sleep(1.5 * hubtest.SLOW)   # verified once the signing key loads
    assert "HUB-OPS-AUDIT-BROKEN" not in hub.log_text()
    hub.stop()
    flip_audit_byte(hub, 1)
    hub.start()
    hub.wait_log(r"HUB-OPS-AUDIT-BROKEN audit_broken \(audit\): the audit "
                 r"chain is broken at record 2")
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="audit_broken") == 1
    assert [a["rule"] for a in hub.peek("ops-olga", 1)] == \
        ["ops.audit_broken"]


def test_a_condition_still_holding_after_a_quick_restart_is_a_new_alert(
        make_hub):
    """OPERATIONS.md, Operational alerts: after a restart a condition that
    still holds is raised again, with a new log line and a new alert --
    also when hubd is restarted within the second it raised the first
    (the raise counter in the alert id starts again at every start)."""
    from test_61_audit import edit_audit
    hub = ops_hub(make_hub, "2026-03-02T08:00:00", {},
                  {"cw-anna": False, "desk-dora": True})
    hub.stop()

    def flip(pairs):
        k, v = pairs[1]
        pairs[1] = (k, v[:-12] + ("0" if v[-12] != "0" else "1") + v[-11:])
        return pairs
    edit_audit(hub, flip)
    hub.start()
    hub.wait_log(r"HUB-OPS-AUDIT-BROKEN")
    for _ in range(2):
        hub.restart()
    hub.wait_log(r"HUB-OPS-AUDIT-BROKEN", count=3)
    alerts = hub.peek("ops-olga", 3)
    assert [a["rule"] for a in alerts] == ["ops.audit_broken"] * 3
    assert len({a["alert_id"] for a in alerts}) == 3


def audit_hub_and_its_second_record(make_hub, settings=None):
    """An ops hub with ops_audit_hours = 1 (or `settings`), once its
    chain was verified;
    the audit trail's second record as mdb_dump prints it, and put(value)
    overwriting that record in the live store (LMDB takes writers of
    several processes)."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00",
                  {"ops_audit_hours": "1"} if settings is None else settings,
                  {"cw-anna": False, "desk-dora": True})
    time.sleep(1.5 * hubtest.SLOW)   # verified once the signing key loads
    env = hub.data_dir / "log"
    text = subprocess.run(["mdb_dump", "-s", "audit", str(env)],
                          capture_output=True, text=True, check=True).stdout
    head, rest = text.split("HEADER=END\n", 1)
    lines = rest.split("DATA=END\n", 1)[0].splitlines()
    key, val = lines[2], lines[3]

    def put(value):
        subprocess.run(["mdb_load", "-s", "audit", "-f", "/dev/stdin",
                        str(env)], text=True, check=True,
                       input=f"{head}HEADER=END\n{key}\n{value}\n"
                             "DATA=END\n")
    return hub, val, put


def test_audit_chain_is_verified_again_every_ops_audit_hours(make_hub):
    """OPERATIONS.md, Operational alerts: the conditions are checked on
    the hub clock; audit_broken is verified at start, then every
    ops_audit_hours. A record changed while hubd runs is found by the
    next verification once the hub clock has moved that far, not by an
    hour of real time."""
    hub, val, put = audit_hub_and_its_second_record(make_hub)
    put(val[:-12] + ("0" if val[-12] != "0" else "1") + val[-11:])
    assert "BROKEN at record 2" in \
        hub.hubctl("audit", "verify", check=False).stdout
    hub.set_clock("2026-03-02T08:30:00")
    time.sleep(2.5 * hubtest.SLOW)
    assert "HUB-OPS-AUDIT-BROKEN" not in hub.log_text()
    hub.set_clock("2026-03-02T09:00:30")
    hub.wait_log(r"warn HUB-OPS-AUDIT-BROKEN audit_broken \(audit\): the "
                 r"audit chain is broken at record 2")
    assert [a["rule"] for a in hub.peek("ops-olga", 1)] == \
        ["ops.audit_broken"]


def test_audit_chain_is_verified_every_24_hours_by_default(make_hub):
    """hubd --help and OPERATIONS.md, Operational alerts: ops_audit_hours
    defaults to 24: a record changed while hubd runs is not found 23
    hours on (hub clock), and is found once 24 have passed."""
    hub, val, put = audit_hub_and_its_second_record(make_hub, {})
    put(val[:-12] + ("0" if val[-12] != "0" else "1") + val[-11:])
    hub.set_clock("2026-03-03T07:00:00")
    time.sleep(2.5 * hubtest.SLOW)
    assert "HUB-OPS-AUDIT-BROKEN" not in hub.log_text()
    hub.set_clock("2026-03-03T08:00:30")
    hub.wait_log(r"warn HUB-OPS-AUDIT-BROKEN audit_broken \(audit\): the "
                 r"audit chain is broken at record 2")


def test_ops_audit_hours_0_verifies_at_start_only(make_hub):
    """hubd --help: ops_audit_hours 0 verifies the audit chain at start
    only: a record changed while hubd runs is not found however far the
    hub clock moves on, and is found by the next start."""
    hub, val, put = audit_hub_and_its_second_record(
        make_hub, {"ops_audit_hours": "0"})
    put(val[:-12] + ("0" if val[-12] != "0" else "1") + val[-11:])
    hub.set_clock("2028-03-02T08:00:00")   # past 8784 hours
    time.sleep(2.5 * hubtest.SLOW)
    assert "HUB-OPS-AUDIT-BROKEN" not in hub.log_text()
    hub.stop()
    hub.start()
    hub.wait_log(r"warn HUB-OPS-AUDIT-BROKEN audit_broken \(audit\): the "
                 r"audit chain is broken at record 2")


def test_good_metrics_settings_pass_the_check(make_hub):
    hub = make_hub(start=False, settings={
        "metrics_listen": "127.0.0.1:7610",
        "ops_silence": "school-a=26,college-a=170",
        "ops_queue_open": "20", "ops_queue_hours": "8",
        "ops_map_percent": "90", "ops_audit_hours": "0"})
    r = subprocess.run([hubtest.binary("hubd"), "--check-config",
                        "--config", str(hub.conf)], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def test_full_derived_map_refuses_events_and_is_not_ready(make_hub):
    """derived/ full (derived_map_mb = 1): the applier cannot apply, so
    once it is HUB_APPLY_LAG_MAX (1,024) behind, events are answered
    REJECTED E_FULL retryable naming derived_map_mb instead of waiting
    unanswered; a resend of a stored event is still DUPLICATE; /readyz is
    503 naming the full derived map; STORE-FULL names derived_map_mb and
    is not repeated at every retry. Nothing acked is lost: with a bigger
    map, a restart applies every accepted event."""
    hub = metrics_hub(make_hub, settings={"derived_map_mb": "1"})
    cprs = CprGen(8206).take(6000)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        accepted, refusals = hubtest.send_until_refused(cli, cprs, "full")
        assert refusals, "derived/ never filled up"
        refused = refusals[0]
        assert (refused.status, refused.code, refused.retryable) == \
            (REJECTED, hubtest.E_FULL, True), refused
        assert "derived_map_mb" in refused.reason, refused.reason
        # Still refused, and answered, while it lasts.
        ack = cli.ack_for(frame(envelope("school-a", cprs[-1],
                                         salt="full-again")), timeout=10)
        assert (ack.status, ack.code, ack.retryable) == \
            (REJECTED, hubtest.E_FULL, True), ack
        # A resend of an accepted event is DUPLICATE all the same.
        seq, data = accepted[-1]
        ack = cli.ack_for(data)
        assert (ack.status, ack.sequence) == (hubtest.DUPLICATE, seq), ack
    st = hub.stats()
    assert st["last_seq"] == accepted[-1][0], st
    assert st["last_seq"] - st["last_applied"] > 1024, st
    status, body = get(hub.metrics_url + "/readyz")
    assert status == 503 and "derived map is full (derived_map_mb)" in \
        body, (status, body)
    s, _ = scrape(hub)
    assert value(s, "ungebro_events_rejected_total", code="E_FULL") >= 2
    # The applier retries twice a second; STORE-FULL says so once a minute.
    time.sleep(2 * hubtest.QUIET)
    full = [l for l in hub.log_text().splitlines() if "STORE-FULL" in l]
    assert full and all("raise derived_map_mb" in l for l in full), full
    assert len(full) <= 2, full
    assert "log_map_mb" not in "".join(full)

    hub.stop()
    hub.conf.write_text(hub.conf.read_text().replace(
        "derived_map_mb = 1\n", "derived_map_mb = 64\n"))
    hub.start()
    st = hub.wait_stats("every accepted event applied",
                        lambda s: s["last_applied"] == s["last_seq"])
    assert st["last_seq"] == accepted[-1][0]
    assert st["log_events"] == len(accepted), st
    assert get(hub.metrics_url + "/readyz")[0] == 200


FIRST_FULL = (r"warn HUB-REJECT event [0-9a-f]{32} from school-a: the "
              r"hub's store is full \(log_map_mb\); retry later "
              r"\(retryable\)\n")
SUMMARY_FULL = (r"warn HUB-REJECT (\d+) more events refused retryable since "
                r"the last HUB-REJECT line, the last from school-a: the "
                r"hub's store is full \(log_map_mb\); retry later "
                r"\(retryable\)\n")


def test_retryable_refusals_are_summed_up_once_a_minute(make_hub):
    """OPERATIONS.md, HUB-REJECT: of the frames a full store refuses
    retryable only the first is a line of its own; the others are counted
    and summed up in one line once a minute has passed since it, so a
    busy adapter does not flood the journal, and no refusal goes
    uncounted."""
    hub = metrics_hub(make_hub, settings={"log_map_mb": "1"})
    cprs = CprGen(8213).take(8000)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        _, refusals = hubtest.send_until_refused(cli, cprs, "minute")
    refused = len(refusals)
    assert refused > 1, refused
    assert len(re.findall(FIRST_FULL, hub.log_text())) == 1
    assert not re.search(SUMMARY_FULL, hub.log_text())
    hub.wait_log(SUMMARY_FULL, timeout=75)
    assert [int(n) for n in re.findall(SUMMARY_FULL, hub.log_text())] == \
        [refused - 1]
    s, _ = scrape(hub)
    assert value(s, "ungebro_events_rejected_total", code="E_FULL") == refused


DENIED_TYPE = "agency is not registered for this event type"


def test_refusals_for_good_are_a_hundred_lines_then_summed_up(make_hub):
    """OPERATIONS.md, HUB-REJECT: an export an agency may not send is
    refused for good row by row. The first 100 refusals are lines of
    their own (event id, sender, reason); the rest are counted and summed
    up in one line once a minute has passed since the first, or at stop,
    so a large refused export does not flood the journal; every refusal
    counts in ungebro_events_rejected_total."""
    hub = metrics_hub(make_hub, agencies=hubtest.RULE_AGENCIES)
    cprs = CprGen(8230).take(130)
    hub.cprs.update(cprs)
    # school-a is not registered for dropouts.
    envs = [hubtest.event("school-a", c, "dropout", institution="college-x",
                          programme="eud-smed", date="2026-03-02")
            for c in cprs]
    with IngestClient(hub, "school-a") as cli:
        for env in envs:
            ack = cli.ack_for(frame(env))
            assert (ack.status, ack.code, ack.reason, ack.retryable) == \
                (REJECTED, E_DENIED, DENIED_TYPE, False), ack
    line = re.compile(r"warn HUB-REJECT event ([0-9a-f]{32}) from school-a: "
                      + re.escape(DENIED_TYPE) + r"\n")
    summary = re.compile(r"warn HUB-REJECT (\d+) more events refused since "
                         r"the last HUB-REJECT line, the last from "
                         r"school-a: " + re.escape(DENIED_TYPE) + r"\n")
    hubtest.wait_for(lambda: value(scrape(hub)[0],
                                   "ungebro_events_rejected_total",
                                   code="E_DENIED") == 130, 10,
                     "130 refusals counted")
    assert line.findall(hub.log_text()) == \
        [e.event_id.hex() for e in envs[:100]]
    assert not summary.search(hub.log_text())
    hub.stop()
    log = hub.log_text()
    assert [int(n) for n in summary.findall(log)] == [30], log[-2000:]
    assert len(line.findall(log)) == 100
    assert "HUB-STOP" in log.split("HUB-REJECT")[-1]


def test_a_full_log_map_leaves_readyz_ready_and_says_so_elsewhere(make_hub):
    """OPERATIONS.md, Metrics and health endpoints: /readyz is about the
    derived state; a full log/ map (log_map_mb = 1) refuses new events
    E_FULL while the store stays readable and the derived state level, so
    /readyz stays 200 and /metrics 200: the full map is seen in
    ungebro_events_rejected_total{code="E_FULL"}, map_full and STORE-FULL."""
    hub = metrics_hub(make_hub, settings={"log_map_mb": "1"})
    cprs = CprGen(8212).take(8000)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        _, refusals = hubtest.send_until_refused(cli, cprs, "logfull")
    for ack in refusals:
        assert (ack.code, ack.retryable) == (hubtest.E_FULL, True), ack
        assert "log_map_mb" in ack.reason, ack.reason
    refused = len(refusals)
    assert refused, "log/ never filled up"
    hub.wait_stats("level", lambda s: s["last_applied"] == s["last_seq"])
    assert get(hub.metrics_url + "/readyz") == (200, "ready\n")
    s, _ = scrape(hub)
    assert value(s, "ungebro_events_rejected_total", code="E_FULL") == refused
    hub.wait_log(r"HUB-OPS-MAP-FULL map_full \((log|ids)\)")
    # Which of the two, both mapped at log_map_mb, fills first varies.
    assert re.search(r"STORE-FULL .*the (log|ids)/ map is full; raise "
                     r"log_map_mb", hub.log_text())
    # The first refusal is a HUB-REJECT line of its own, said retryable;
    # the rest are counted, not one line each (a busy adapter would flood
    # the journal), and summed up at the minute's end, or at stop.
    assert len(re.findall(FIRST_FULL, hub.log_text())) == 1, \
        hub.log_text()[-3000:]
    hub.stop()
    counts = [int(n) for n in re.findall(SUMMARY_FULL, hub.log_text())]
    assert counts == ([refused - 1] if refused > 1 else []), counts
    assert "HUB-STOP" in hub.log_text().split("HUB-REJECT")[-1]
    hub.start()
    text = " ".join(open(hubtest.ROOT / "docs" / "OPERATIONS.md").read()
                    .split())
    assert "A full `log/` or `ids/` map does not make `/readyz` `503`" in \
        text
    assert "`HUB-REJECT` (a frame answered REJECTED, warn. A bad event " \
        "or one refused for good is a line of its own" in text


def test_a_map_that_refused_a_write_is_map_full_whatever_its_percent(
        make_hub):
    """OPERATIONS.md, the ops conditions: map_full also holds once a map
    has refused a write for want of room, whatever share its data file
    uses (a refused batch can leave it under ops_map_percent), and holds
    until hubd ends: only a restart with a larger map ends it. With
    ops_map_percent = 100 nothing but the refusal can raise it."""
    hub = metrics_hub(make_hub, settings={"log_map_mb": "1",
                                          "ops_map_percent": "100"})
    cprs = CprGen(8213).take(8000)
    hub.cprs.update(cprs)
    with IngestClient(hub, "school-a") as cli:
        _, refusals = hubtest.send_until_refused(cli, cprs, "refusedfull")
    assert refusals, "log/ never filled up"
    line = hub.wait_log(r"HUB-OPS-MAP-FULL map_full \((log|ids)\): "
                        r"(log|ids) refused a write: its map is full \(it "
                        r"uses [0-9.]+ (KiB|MiB) of 1.0 MiB, \d+ %, and the "
                        r"write did not fit\); raise log_map_mb and "
                        r"restart hubd")
    assert line
    # The ops alert itself is a small write that fits: the condition
    # still holds, with no HUB-OPS-CLEARED after it.
    time.sleep(3)
    s, _ = scrape(hub)
    assert value(s, "ungebro_ops_condition", condition="map_full") == 1
    assert "HUB-OPS-CLEARED map_full" not in hub.log_text()
    text = " ".join(open(hubtest.ROOT / "docs" / "OPERATIONS.md").read()
                    .split())
    assert "or it has refused a write for want of room since hubd " \
        "started, whatever its share" in text


def test_map_used_bytes_help_says_what_the_table_says(make_hub):
    """OPERATIONS.md, the metrics table: ungebro_lmdb_map_used_bytes is
    the length of the environment's data file, free pages inside it
    included, in bytes; its HELP line says that, not "pages in use"."""
    hub = metrics_hub(make_hub)
    _, text = get(hub.metrics_url + "/metrics")
    [help_line] = [l for l in text.splitlines()
                   if l.startswith("# HELP ungebro_lmdb_map_used_bytes ")]
    assert "bytes" in help_line and "data file" in help_line and \
        "free" in help_line and "pages in use" not in help_line, help_line


def test_oldest_open_alert_is_the_one_raised_first_in_any_queue(make_hub):
    """OPERATIONS.md: ungebro_oldest_unacked_alert_age_seconds is the age
    of the oldest open alert. A queue is kept in the order of the events
    that raised its alerts, so an alert a timer raised late for an early
    event (the transition gap of a dropout) stands before one raised
    weeks earlier by a later event: the oldest is still that one. And a
    caseworker registered under the desk's own id is one queue, not two
    series of the same name."""
    hub = metrics_hub(make_hub, agencies=hubtest.RULE_AGENCIES,
                      caseworkers=dict(hubtest.RULE_CASEWORKERS,
                                       **{"duty-desk": False}),
                      clock="2026-09-07T08:00:00",
                      rules=dict(hubtest.NO_ESCALATION))
    gen = CprGen(8208)
    left, risk = gen.born("2001-02-03"), gen.born("2002-03-04")
    hub.assign(left, "cw-anna")
    hub.assign(risk, "cw-anna")
    hub.send(hubtest.ev_dropout(left, "2026-09-07"))
    hub.set_clock("2026-09-08T08:00:00")
    hub.send(hubtest.ev_dropout_risk(risk, "2026-09-08"))
    hub.wait_applied()
    [dropout] = [a for a in hub.peek("cw-anna", 2) if a["rule"] == "dropout"]
    p = subprocess.run([hubtest.binary("inbox"), "--config",
                        str(hub.tmp / "inbox-cw-anna.conf"), "--ack",
                        dropout["alert_id"]], capture_output=True,
                       text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    # No enrolment: the gap alert comes weeks later, for the dropout.
    hub.advance("2026-11-02T08:00:00")
    rules = [a["rule"] for a in hub.peek("cw-anna", 2)]
    assert rules == ["transition_gap", "dropout_risk"], rules
    s, _ = scrape(hub)
    assert value(s, "ungebro_queue_depth", recipient="cw-anna") == 2
    # The dropout risk of 2026-09-08 08:00, 55 days before.
    assert value(s, "ungebro_oldest_unacked_alert_age_seconds") == \
        55 * 86400
    # The desk's queue is listed once.
    _, text = get(hub.metrics_url + "/metrics")
    assert text.count('ungebro_queue_depth{recipient="duty-desk"}') == 1, \
        text


def test_alert_counters_after_escalation_ack_and_withdrawal(make_hub):
    """OPERATIONS.md, the metrics table: escalation notices count in
    ungebro_escalations_total (desk and team lead each), not in
    ungebro_alerts_raised_total, which counts the rules' alerts and
    `withdrawn` notices; an acknowledgement counts once, however many
    notices it closes, and a withdrawal is no acknowledgement."""
    from test_41_rules_followup import corrected
    hub = metrics_hub(make_hub, agencies=hubtest.RULE_AGENCIES,
                      caseworkers=hubtest.RULE_CASEWORKERS,
                      clock="2026-09-07T08:00:00",
                      rules={"routing.team_lead": "cw-lead"})
    gen = CprGen(8209)
    adult, pupil = gen.born("2001-02-03"), gen.born("2011-01-11")
    hub.assign(adult, "cw-anna")
    hub.assign(pupil, "cw-anna")
    hub.send(hubtest.ev_dropout(adult, "2026-09-07"))
    hub.wait_applied()
    # HIGH, 24 office hours twice: the desk on 09-10, the lead on 09-15.
    hub.advance("2026-09-15T08:00:00")
    s, _ = scrape(hub)
    assert (value(s, "ungebro_alerts_raised_total"),
            value(s, "ungebro_escalations_total"),
            value(s, "ungebro_alerts_open"),
            value(s, "ungebro_queue_depth", recipient="duty-desk"),
            value(s, "ungebro_queue_depth", recipient="cw-lead"),
            value(s, "ungebro_oldest_unacked_alert_age_seconds")) == \
        (1, 2, 3, 1, 1, 8 * 86400)
    rc, alerts, err = hub.inbox("cw-anna", max_alerts=1, idle_exit=10)
    assert rc == 0 and [a["rule"] for a in alerts] == ["dropout"], err
    hub.wait_stats("acknowledged", lambda st: st["alerts_open"] == 0)
    s, _ = scrape(hub)
    assert (value(s, "ungebro_alerts_acked_total"),
            value(s, "ungebro_alerts_open"),
            value(s, "ungebro_queue_depth", recipient="duty-desk"),
            value(s, "ungebro_oldest_unacked_alert_age_seconds")) == \
        (1, 0, 0, 0)
    first = hubtest.ev_readiness(pupil, "2026-09-03", 9,
                                 not_ready_academic=True)
    hub.send(first)
    hub.send(corrected(first, hubtest.ev_readiness(pupil, "2026-09-03", 9,
                                                   ready=True)))
    hub.wait_applied()
    s, _ = scrape(hub)
    assert (value(s, "ungebro_alerts_raised_total"),
            value(s, "ungebro_alerts_acked_total"),
            value(s, "ungebro_alerts_open"),
            value(s, "ungebro_queue_depth", recipient="cw-anna")) == \
        (3, 1, 1, 1)


def test_a_revoked_caseworkers_open_alerts_wait_outside_queue_depth(
        make_hub):
    """OPERATIONS.md, Replacing and revoking keys: revoke-caseworker
    neither closes nor moves their open alerts; ungebro_queue_depth no
    longer counts that queue, ungebro_alerts_open and hubctl stats'
    alerts_open still do; registered again, the queue is counted again."""
    hub = metrics_hub(make_hub)
    anna_with_one_queued_alert(hub, 8207, "rv")

    def alerts_open_in_stats():
        for line in hub.hubctl("stats").stdout.splitlines():
            name, _, n = line.partition(" ")
            if name == "alerts_open":
                return int(n)

    hub.hubctl("revoke-caseworker", "cw-anna")
    hubtest.wait_for(lambda: 'ungebro_queue_depth{recipient="cw-anna"}'
                     not in get(hub.metrics_url + "/metrics")[1], 10,
                     "cw-anna's queue no longer counted")
    s, _ = scrape(hub)
    assert value(s, "ungebro_alerts_open") == 1
    assert alerts_open_in_stats() == 1
    hub.register_caseworker("cw-anna")
    hubtest.wait_for(lambda: value(scrape(hub)[0], "ungebro_queue_depth",
                                   recipient="cw-anna") == 1, 10,
                     "cw-anna's queue counted again")


def test_a_ninth_connection_waits_for_one_of_eight_to_close(make_hub):
    """OPERATIONS.md, Metrics and health endpoints: at most 8 HTTP
    connections at once. A ninth is not answered while eight are open,
    and is answered once one of them closes; nothing is logged of it."""
    import socket
    import threading
    hub = metrics_hub(make_hub)
    port = int(hub.metrics_url.rsplit(":", 1)[1])
    held = [socket.create_connection(("127.0.0.1", port)) for _ in range(8)]
    try:
        time.sleep(0.5)
        answers = []
        ninth = threading.Thread(target=lambda: answers.append(
            get(hub.metrics_url + "/healthz", timeout=30)))
        ninth.start()
        time.sleep(2)
        assert answers == [], "the ninth was answered beside eight open"
        held.pop().close()
        ninth.join(8)
        assert answers == [(200, "ok\n")], answers
    finally:
        for s in held:
            s.close()
    assert "HUB-METRICS libmicrohttpd" not in hub.log_path.read_text()
    doc = " ".join((hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
                   .split())
    assert "ninth is closed at once" not in doc
    assert "a ninth is not accepted while eight are open; it waits" in doc


def test_a_broken_audit_chain_mended_clears_at_the_next_verification(
        make_hub):
    """OPERATIONS.md, Operational alerts: audit_broken ends when a
    verification finds the chain intact again. The record changed behind
    hubd's back is put back as it was; the verification ops_audit_hours
    later logs HUB-OPS-CLEARED and the metric returns to 0, while the
    ops alert stays until acknowledged."""
    hub, val, put = audit_hub_and_its_second_record(make_hub)
    put(val[:-12] + ("0" if val[-12] != "0" else "1") + val[-11:])
    hub.set_clock("2026-03-02T09:00:30")
    hub.wait_log(r"warn HUB-OPS-AUDIT-BROKEN audit_broken \(audit\)")
    put(val)
    assert hub.hubctl("audit", "verify", check=False).returncode == 0
    hub.set_clock("2026-03-02T10:01:00")
    hub.wait_log(r"notice HUB-OPS-CLEARED audit_broken \(audit\) no longer "
                 r"holds")
    s, _ = scrape(hub)
    assert value(s, "ungebro_ops_condition", condition="audit_broken") == 0
    assert ("ungebro_ops_active", frozenset({("condition", "audit_broken"),
                                             ("subject", "audit")})) \
        not in s
    assert [a["rule"] for a in hub.peek("ops-olga", 1)] == \
        ["ops.audit_broken"]


def test_an_uncovered_desk_ends_when_a_members_day_comes(make_hub):
    """OPERATIONS.md, Operational alerts: desk_uncovered ends when a
    member is registered "or starts": a DeskMembership sent ahead of its
    first day leaves the desk uncovered until that day comes on the hub
    clock, and then ends the condition without anything else happening."""
    hub = dropout_to_the_desk(make_hub, 8225, "desk-dora",
                              hubtest.ev_desk("desk-dora", "2026-09-14"))
    hub.advance("2026-09-11T00:00:00")
    hub.wait_log(r"HUB-OPS-DESK-UNCOVERED desk_uncovered \(duty-desk\)")
    time.sleep(2 * hubtest.SLOW)
    assert "HUB-OPS-CLEARED" not in hub.log_text()
    hub.advance("2026-09-14T00:00:01")
    hub.wait_log(r"HUB-OPS-CLEARED desk_uncovered \(duty-desk\)")
    assert value(scrape(hub)[0], "ungebro_ops_condition",
                 condition="desk_uncovered") == 0


def test_no_metric_counts_mail_notices_the_trail_and_log_do(make_hub,
                                                            tmp_path):
    """OPERATIONS.md, "E-mail notices": no metric counts notices, sent or
    failed; a failed one is seen in hubd's log (HUB-MAIL, warn) and in
    the trail (`notice-mail failed`, actor hub), where the doc points."""
    hub = metrics_hub(make_hub,
                      settings={"mail_base_url": "https://unge.example.dk",
                                "mail_sendmail": str(tmp_path / "no-mta"),
                                "mail_delay": "0"})
    hub.hubctl("set-email", "cw-anna", "anna@kommune.example.dk")
    cpr = hubtest.CprGen(8290).next()
    hub.absence_alerts("cw-anna", [cpr], "nomail")
    hub.wait_log(r"hubd warn HUB-MAIL \S+no-mta failed for the notice to "
                 r"cw-anna")
    samples, types = scrape(hub)
    names = {name for name, _ in samples} | set(types)
    assert not [n for n in names if "mail" in n or "notice" in n], names
    hubtest.wait_for(lambda: re.search(r"notice-mail +failed .*cw-anna: ",
                                       hub.hubctl("audit", "show", "--actor",
                                                  "hub").stdout),
                     10, "notice-mail failed")


def test_metrics_are_served_by_the_loop_thread(make_hub):
    """ARCHITECTURE.md ("The rules engine", operations): libmicrohttpd's
    sockets are polled with the ZeroMQ ones, so no extra thread serves
    HTTP: with /metrics on and scraped, hubd has the loop, the writer,
    the applier, the flusher and libzmq's ZMQbg/... threads, no other."""
    hub = metrics_hub(make_hub)
    samples, _ = scrape(hub)
    assert samples
    assert get(hub.metrics_url + "/healthz") == (200, "ok\n")
    names = set()
    for tid in os.listdir(f"/proc/{hub.proc.pid}/task"):
        with open(f"/proc/{hub.proc.pid}/task/{tid}/comm") as f:
            names.add(f.read().strip())
    assert {n for n in names if not n.startswith("ZMQbg/")} == {
        "hubd", "hubd-writer", "hubd-applier", "hubd-flusher"}, names


def test_a_forged_registration_is_reported_when_listed(make_hub):
    """SECURITY.md, "Records that grant access or route data are
    authenticated": a record added to principal_id by hand is refused as
    if absent and logged STORE-FORGED with the database's name — also
    where hubd walks every registration (the queue depths here), not only
    where it looks one up. The caseworkers registered stay listed."""
    from test_60_store_at_rest import load
    hub = metrics_hub(make_hub)
    hub.stop()
    load(hub.data_dir / "log", "principal_id",
         [(b"\x01" * 16, b"\x02" * 90), (b"\x03" * 5, b"\x04" * 40)])
    hub.start()
    status, text = get(hub.metrics_url + "/metrics")
    assert status == 200 and \
        'ungebro_queue_depth{recipient="cw-anna"}' in text, text
    hub.wait_log(r"STORE-FORGED principal_id: a record does not open")
    assert hub.current_log().count("STORE-FORGED principal_id:") == 1


def test_every_condition_of_the_table_is_listed_as_the_doc_counts(make_hub):
    """OPERATIONS.md: ungebro_ops_condition lists every condition of the
    "Operational alerts" table, 0 while it does not hold, and the metrics
    table says how many that is. It said "all five" beside a table of
    six (log_damaged came later), so a dashboard built from the sentence
    missed one."""
    doc = (hubtest.ROOT / "docs" / "OPERATIONS.md").read_text()
    ops = doc.split("### Operational alerts", 1)[1].split("\n\n", 2)[1:]
    table = ops[1].split("\n\n", 1)[0]
    named = re.findall(r"^\| `([a-z_]+)` \|", table, re.M)
    words = {5: "five", 6: "six", 7: "seven"}
    assert f"hubd watches {words[len(named)]} conditions" in \
        " ".join(ops[0].split())
    row = re.search(r"^\| `ungebro_ops_condition` \|.*$", doc, re.M).group(0)
    assert f"all {words[len(named)]} are always listed" in row, row
    hub = metrics_hub(make_hub)
    s, _ = scrape(hub)
    listed = sorted(dict(k[1])["condition"] for k in s
                    if k[0] == "ungebro_ops_condition")
    assert listed == sorted(named)
    assert all(value(s, "ungebro_ops_condition", condition=c) == 0
               for c in named)


def test_queue_stalled_by_default_past_50_open_for_24_hours(make_hub):
    """hubd --help: ops_queue_open (default 50) open alerts a recipient
    must exceed, ops_queue_hours (default 24) hours without the count
    going down. cw-anna with 50 open alerts is never stalled; cw-bob
    with 51 is, at 24 hours and not before."""
    hub = ops_hub(make_hub, "2026-03-02T08:00:00", {},
                  {"cw-anna": False, "cw-bob": False, "desk-dora": True},
                  rules=dict(hubtest.NO_ESCALATION))
    cprs = CprGen(8230).take(101)
    hub.absence_alerts("cw-anna", cprs[:50], "a", absent=30, expected=100)
    hub.absence_alerts("cw-bob", cprs[50:], "b", absent=30, expected=100)
    hub.wait_stats("101 open alerts", lambda s: s["alerts_open"] == 101)
    hub.set_clock("2026-03-03T07:59:00")
    time.sleep(2 * hubtest.SLOW)
    assert "HUB-OPS-QUEUE-STALLED" not in hub.log_text()
    hub.set_clock("2026-03-03T08:01:00")
    hub.wait_log(r"HUB-OPS-QUEUE-STALLED queue_stalled \(cw-bob\)")
    hub.set_clock("2026-03-04T08:01:00")
    time.sleep(2 * hubtest.SLOW)
    assert "queue_stalled (cw-anna)" not in hub.log_text()
