"""OPERATIONS.md as municipal IT operations use it, a sixth reading: the
limits it names taken at the value and one past it, and the second case
of sentences whose first case earlier rounds assert (a correction and an
event about no one in `hubctl log`, the roles `assignments` counts,
endpoints named by interface), and a start that reads the files the
check read (a rules file and clock file named by more than 511 bytes)."""

import json
import signal
import subprocess
import time

import hubtest
from hubtest import CprGen, envelope
from test_80_ops import check_config

SILENCE = ("ops_silence must be agency=HOURS[,agency=HOURS]... (1 to 8784 "
           "hours, at most 32 agencies): ")


def test_ops_silence_at_its_limits_and_one_past(tmp_path):
    """OPERATIONS.md, "Operational alerts": ops_silence takes 1 to 8784
    whole hours and at most 32 agencies, blanks (spaces, tabs) around an
    item or its `=` ignored; anything else is refused at start and by
    --check-config, exit 2, `ops_silence must be ... : 'ITEM'`. A start
    refuses it before it opens anything (no data_dir is made)."""
    ok = (0, "hubd: configuration OK\n", "")
    many = [f"school-{i}=1" for i in range(33)]
    for value, want in (
            (",".join(many[:32]), ok),
            (",".join(many), (2, "", f"hubd: {SILENCE}'school-32=1'\n")),
            ("school-a=8784", ok),
            ("school-a=8785", (2, "", f"hubd: {SILENCE}'school-a=8785'\n")),
            ("school-a=1", ok),
            ("school-a=0", (2, "", f"hubd: {SILENCE}'school-a=0'\n")),
            ("\tschool-a\t=\t3 ,\tcollege-a = 48\t", ok)):
        p = check_config("--ops_silence", value)
        assert (p.returncode, p.stdout, p.stderr) == want, value
    conf = tmp_path / "hubd.conf"
    data = tmp_path / "data"
    conf.write_text(f"data_dir = {data}\nkeys_dir = {tmp_path / 'keys'}\n"
                    f"ops_silence = {','.join(many)}\n")
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr) == (
        2, f"{conf}:3: {SILENCE}'school-32=1'\n"), p.stderr
    p = subprocess.run([hubtest.binary("hubd"), "--config", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, p.stderr
    assert p.stderr.endswith(
        f" hubd err HUB-START cannot start: ops_silence: {conf}:3: "
        f"{SILENCE}'school-32=1'\n"), p.stderr
    assert not data.exists()


def test_endpoints_by_interface_name_and_wildcard_in_the_check():
    """OPERATIONS.md, "Checking the configuration": an ADDRESS may be an
    interface name of 1 to 15 bytes (16 is none); delivery on the port of
    ingest is refused where either address is `*` or `0.0.0.0`, an
    interface-named ingest too; metrics_listen on delivery's port is
    named as delivery's, with a wildcard on either side."""
    ingest_rule = "ingest must be tcp://ADDRESS:PORT (port 1-65535) or " \
        "ipc://PATH, not "
    for args, err in (
            (["--ingest", "tcp://abcdefghijklmno:7601"], ""),
            (["--ingest", "tcp://abcdefghijklmnop:7601"],
             f"hubd: {ingest_rule}'tcp://abcdefghijklmnop:7601'\n"),
            (["--ingest", "tcp://1.2.3:7601"],
             f"hubd: {ingest_rule}'tcp://1.2.3:7601'\n"),
            (["--ingest", "tcp://eth0:7601", "--delivery", "tcp://*:7601"],
             "hubd: delivery must be another endpoint than ingest, not "
             "'tcp://*:7601' beside 'tcp://eth0:7601'\n"),
            (["--ingest", "tcp://eth0:7601", "--delivery",
              "tcp://0.0.0.0:7601"],
             "hubd: delivery must be another endpoint than ingest, not "
             "'tcp://0.0.0.0:7601' beside 'tcp://eth0:7601'\n"),
            (["--delivery", "tcp://10.0.0.1:7602", "--metrics_listen",
              "0.0.0.0:7602"],
             "hubd: metrics_listen must be another port than delivery's, "
             "not '0.0.0.0:7602' beside 'tcp://10.0.0.1:7602'\n"),
            (["--ingest", "tcp://*:7601", "--metrics_listen",
              "127.0.0.1:7601"],
             "hubd: metrics_listen must be another port than ingest's, "
             "not '127.0.0.1:7601' beside 'tcp://*:7601'\n"),
            (["--ingest", "ipc:///run/ungebro/ingest", "--metrics_listen",
              "127.0.0.1:7601"], "")):
        p = check_config(*args)
        assert (p.returncode, p.stderr) == ((2 if err else 0), err), args


def test_log_names_corrections_and_events_about_no_one(make_hub):
    """OPERATIONS.md, "Monitoring": `hubctl log` prints `supersedes ID`
    after a correction's event id (`--json`: `supersedes` in hex),
    `person` false for an event about no one (a desk membership),
    `received_at` in ms of the hub clock, hubctl's assignments among
    the events (agency `hubctl`); `stats` counts `assignments` one per
    person and role (`contact`, `guidance`: a mentor, kept only in the
    log, routes nothing and makes none), `person_index_entries` one per
    stored event about a person and `log_events` every event."""
    hub = make_hub(clock="2026-03-02T10:00:00",
                   agencies={"school-a": "absence",
                             "youth-a": "desk,assignment"})
    cpr, other = CprGen(13701).take(2)
    first = envelope("school-a", cpr, salt="first")
    fixed = envelope("school-a", cpr, salt="fixed", absent=3,
                     supersedes=first.event_id)
    desk = hubtest.ev_desk("cw-anna", "2026-03-01")
    youth = [hubtest.ev_assignment(other, "cw-anna", "2026-01-01"),
             hubtest.ev_assignment(other, "desk-dora", "2026-02-01"),
             hubtest.ev_assignment(other, "cw-anna", "2026-01-01",
                                   role="guidance")]
    hub.send(first, fixed, desk, *youth)
    hub.assign(other, "cw-anna", start="2026-03-01")
    hub.hubctl("assign", "--cpr", other, "--caseworker", "desk-dora",
               "--role", "mentor")
    hub.wait_applied()

    plain = [line.split() for line in hub.hubctl("log").stdout.splitlines()]
    assert [line[1:3] for line in plain] == [
        ["AbsenceReport", "school-a"], ["AbsenceReport", "school-a"],
        ["DeskMembership", "youth-a"], *[["ContactAssignment",
                                          "youth-a"]] * 3,
        *[["ContactAssignment", "hubctl"]] * 2]
    assert plain[1][3:] == [fixed.event_id.hex(), "supersedes",
                            first.event_id.hex()], plain[1]
    assert all(len(line) == 4 for i, line in enumerate(plain) if i != 1)

    recs = [json.loads(line) for line in
            hub.hubctl("log", "--json").stdout.splitlines()]
    assert [r["seq"] for r in recs] == list(range(1, 9))
    assert [r["supersedes"] for r in recs] == \
        ["", first.event_id.hex()] + [""] * 6
    assert [r["person"] for r in recs] == [True, True, False] + [True] * 5
    clock_ms = hubtest.day_ms("2026-03-02") + 10 * 3600 * 1000
    assert {r["received_at"] for r in recs} == {clock_ms}, recs

    st = hub.stats()
    assert (st["log_events"], st["assignments"],
            st["person_index_entries"]) == (8, 2, 7), st


def test_a_rules_file_and_clock_file_of_long_names_are_the_ones_read(
        make_hub, tmp_path):
    """OPERATIONS.md, "Checking the configuration": a start refuses
    exactly what --check-config reports, and SIGHUP reloads the file the
    `rules` setting named. Named by a path of more than 511 bytes (given
    on the command line), the check read the files by their whole names
    and said OK, while hubd cut both names at 511 bytes: the start failed,
    exit 1, `HUB-START cannot start: cannot open` a file no one named
    (and the clock file was never read). Now the start takes them whole:
    the rules are reloaded from the file named, and the hub clock is the
    clock file's."""
    hub = make_hub(start=False, clock="2026-03-02T10:00:00")
    deep = tmp_path
    for i in range(6):
        deep = deep / (f"{i}" * 99)
    deep.mkdir(parents=True)
    rules, clock = deep / "rules.conf", deep / "clock"
    rules.write_text((hub.tmp / "rules.conf").read_text())
    clock.write_text("2026-03-05T12:00:00\n")
    assert len(str(rules)) > 600
    args = ["--rules", str(rules), "--clock_file", str(clock)]
    p = check_config("--config", str(hub.conf), *args)
    assert (p.returncode, p.stdout, p.stderr) == (
        0, "hubd: configuration OK\n", ""), p.stderr
    log = hub.logs_dir / "long-names.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([hubtest.binary("hubd"), "--config",
                                 str(hub.conf), *args], stdout=out,
                                stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
    try:
        hubtest.wait_for(lambda: proc.poll() is not None or
                         "HUB-READY" in log.read_text(), 15 * hubtest.SLOW,
                         "HUB-READY")
        assert proc.poll() is None, log.read_text()
        [seq] = hub.send(envelope("school-a", CprGen(13708).next(),
                                  salt="long"))
        proc.send_signal(signal.SIGHUP)
        hubtest.wait_for(lambda: "HUB-RELOAD" in log.read_text(),
                         10 * hubtest.SLOW, "HUB-RELOAD")
        assert f" hubd notice HUB-RELOAD rules reloaded from {rules}\n" \
            in log.read_text(), log.read_text()
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=20 * hubtest.SLOW)
    assert rc == 0, log.read_text()
    [rec] = [json.loads(line) for line in hub.hubctl(
        "log", "--json", "--after", str(seq - 1)).stdout.splitlines()]
    assert rec["received_at"] == hubtest.day_ms("2026-03-05") + \
        12 * 3600 * 1000, rec


def test_adapter_silent_counts_accepted_events_only_for_longer_than(
        make_hub):
    """OPERATIONS.md, "Operational alerts": adapter_silent holds when the
    agency "has had no event accepted for longer than its hours": at
    exactly its hours since the last accepted event it does not hold; a
    resend answered DUPLICATE and an event refused (a type the agency may
    not send, E_DENIED) are no accepted events and do not put it off."""
    hub = make_hub(clock="2026-03-02T08:00:00",
                   settings={"ops_silence": "school-a=1"})
    cpr = CprGen(13711).next()
    first = envelope("school-a", cpr, salt="first")
    hub.send(first)
    hub.set_clock("2026-03-02T09:00:00")
    time.sleep(2 * hubtest.SLOW)          # two checks, at least
    assert "HUB-OPS-ADAPTER-SILENT" not in hub.log_text()
    denied = hubtest.event("school-a", cpr, "dropout",
                           institution="college-x", programme="eud-smed",
                           date="2026-03-01")
    again, refused = hub.acks(first, denied)
    assert (again.status, refused.status, refused.code) == (
        hubtest.DUPLICATE, hubtest.REJECTED, hubtest.E_DENIED), refused
    assert refused.reason == "agency is not registered for this event type"
    hub.set_clock("2026-03-02T09:00:01")
    hub.wait_log(r"hubd warn HUB-OPS-ADAPTER-SILENT adapter_silent "
                 r"\(school-a\): no event from school-a accepted for 1 hour "
                 r"\(expected at least every 1 hour; ops_silence\)\n",
                 timeout=5 * hubtest.SLOW)


def test_a_reload_reads_the_rules_file_named_at_start_and_nothing_else(
        make_hub):
    """OPERATIONS.md, "Start and stop": SIGHUP reloads "the file the
    `rules` setting named at start, and nothing else: hubd.conf and the
    command line are read at start only". hubd.conf changed meanwhile --
    `rules` naming another (bad) file, `log_level = debug`, a `batch_max`
    out of range -- changes nothing until a restart: the reload reads the
    first file, says so at notice, and no debug line follows."""
    hub = make_hub()
    other = hub.tmp / "other-rules.conf"
    other.write_text("dropout.priority = panic\n")
    text = hub.conf.read_text()
    hub.conf.write_text(
        text.replace(f"rules = {hub.tmp / 'rules.conf'}", f"rules = {other}")
        .replace("log_level = info", "log_level = debug") +
        "batch_max = 0\n")
    before = len(hub.log_text().splitlines())
    hub.proc.send_signal(signal.SIGHUP)
    hub.wait_log(r"HUB-RELOAD")
    hub.send(envelope("school-a", CprGen(13712).next(), salt="reload"))
    lines = hub.log_text().splitlines()[before:]
    assert [ln.split(" ", 1)[1] for ln in lines if "HUB-RELOAD" in ln] == [
        f"hubd notice HUB-RELOAD rules reloaded from "
        f"{hub.tmp / 'rules.conf'}"], lines
    assert not [ln for ln in lines if " debug " in ln], lines
    assert hub.running
    hub.conf.write_text(text)


def test_an_ops_silence_of_32_long_ids_goes_on_the_command_line(tmp_path):
    """OPERATIONS.md, "Operational alerts": 32 agencies with ids of
    registered length do not fit on a hubd.conf line of 510 bytes, which
    the document now says, naming the way that takes them: the command
    line, where the whole list passes the check."""
    value = ",".join(f"school-hedemark-{i:02d}=48" for i in range(32))
    conf = tmp_path / "hubd.conf"
    conf.write_text(f"ops_silence = {value}\n")
    p = check_config("--config", str(conf))
    assert (p.returncode, p.stderr) == (
        2, f"{conf}:1: line longer than 510 bytes\n"), p.stderr
    p = check_config("--ops_silence", value)
    assert (p.returncode, p.stdout) == (0, "hubd: configuration OK\n"), \
        p.stderr
    text = " ".join(open(hubtest.ROOT / "docs" / "OPERATIONS.md").read()
                    .split())
    assert "give it as `--ops_silence LIST` on hubd's command line " \
        "instead, where it has no such limit (under systemd, a drop-in " \
        "made with `systemctl edit hubd` that empties `ExecStart=` and " \
        "gives it again: `ExecStart=/usr/local/bin/hubd --config " \
        "/etc/ungebro/hubd.conf --ops_silence LIST`)" in text
