"""08 the inbox terminal client as a caseworker uses it: the layouts,
refusals and exit codes docs/OPERATIONS.md ("Caseworkers") and
`inbox --help` promise."""

import json
import signal
import subprocess
import time
from pathlib import Path

from hubtest import (SLOW, CprGen, binary, ev_dropout, ops_alert_hub, rules_hub,
                     strace_env)

DOCS = Path(__file__).resolve().parents[2] / "docs"


def conf_of(hub, caseworker):
    conf = hub.tmp / f"inbox-{caseworker}.conf"
    conf.write_text(f"caseworker = {caseworker}\n"
                    f"keys_dir = {hub.keys_dir}\n"
                    f"delivery = {hub.delivery}\n")
    return conf


def run(hub, caseworker, *args, timeout=30):
    p = subprocess.run([binary("inbox"), "--config",
                        str(conf_of(hub, caseworker)), *args],
                       capture_output=True, text=True, timeout=timeout * SLOW)
    return p.returncode, p.stdout, p.stderr


def help_text():
    p = subprocess.run([binary("inbox"), "--help"], capture_output=True,
                       text=True, timeout=30)
    return " ".join(p.stdout.split())


def flat(text):
    return " ".join(text.split())


def dropout_hub(make_hub, seed=801):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(seed).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    [d] = hub.peek("cw-anna", 1)
    return hub, cpr, d


def test_every_documented_refusal_of_an_action(make_hub):
    hub, cpr, d = dropout_hub(make_hub)
    aid = d["alert_id"]
    refused = "inbox: the hub refused: "
    assert hub.record("cw-anna", "contact", aid, "phone",
                      date="2026-09-08") == (
        1, "", refused + "date is in the future: record an action once "
        "it is done\n")
    for bad in ("2026-02-30", "yesterday", "2026-9-7", "1899-12-31"):
        assert hub.record("cw-anna", "contact", aid, "phone", date=bad) == (
            1, "", refused + "date must be the day it was done, "
            "YYYY-MM-DD\n"), bad
    # Limits in bytes: a Danish letter is two.
    assert hub.record("cw-anna", "contact", aid, "phone",
                      note="æ" * 100)[:2] == (0, "recorded\n")
    assert hub.record("cw-anna", "contact", aid, "phone",
                      note="æ" * 100 + "x") == (
        1, "", refused + "note is longer than 200 bytes\n")
    assert hub.record("cw-anna", "offer", aid, "ø" * 128)[:2] == \
        (0, "recorded\n")
    assert hub.record("cw-anna", "offer", aid, "ø" * 128 + "x") == (
        1, "", refused + "how is longer than 256 bytes\n")
    assert hub.record("cw-bob", "contact", aid, "phone") == (
        4, "", refused + "this alert is not addressed to you or your "
        "desk\n")
    assert hub.record("cw-anna", "contact", "0" * 18, "phone")[0] == 4
    assert hub.record("cw-anna", "contact", "12", "phone") == (
        2, "", "inbox: --contact needs an alert id of 18 hex digits\n")
    # Before the dropout: recorded, it only meets no deadline.
    assert hub.record("cw-anna", "contact", aid, "phone",
                      date="2026-09-01")[:2] == (0, "recorded\n")


def test_how_of_white_space_alone_is_a_usage_error(make_hub):
    """--help said exit 2 for "--how missing" and exit 1 for what the hub
    refuses; a --how of white space alone (any of the spaces PROTOCOL.md
    lists) is caught before anything is sent, exit 2, as OPERATIONS.md's
    table says: the help must say so too."""
    hub, cpr, d = dropout_hub(make_hub)
    for how in (" ", "\t", "\u00a0", "\u200b", "\u3000 "):
        assert hub.record("cw-anna", "offer", d["alert_id"], how) == (
            2, "", "inbox: --offer needs --how: what was offered\n"), \
            repr(how)
    assert "--how missing or white space alone: nothing sent" in \
        help_text()


def test_list_ack_and_timeline_refusals(make_hub):
    hub, cpr, d = dropout_hub(make_hub)
    aid = d["alert_id"]
    dashed = f"{cpr[:6]}-{cpr[6:]}"
    assert run(hub, "cw-anna", "--list") == (
        0, f"HIGH    {aid}  2026-09-07  due 2026-09-14  cw-anna      "
        f"{dashed}  Dropped out of eud-smed at college-x\n1 open alerts\n",
        "")
    not_open = (f"inbox: alert {aid} is not open for cw-bob (unknown, "
                "another caseworker's, or acknowledged already); nothing "
                "sent\n")
    assert run(hub, "cw-bob", "--ack", aid) == (4, "", not_open)
    assert run(hub, "cw-anna", "--ack", aid, "--note", "ringede") == \
        (0, "acknowledged\n", "")
    assert run(hub, "cw-anna", "--ack", aid) == \
        (4, "", not_open.replace("cw-bob", "cw-anna"))
    assert run(hub, "cw-bob", "--timeline", cpr) == (
        4, "", "inbox: the hub refused: this person is not assigned to "
        "you or your desk\n")
    rc, out, err = run(hub, "cw-anna", "--timeline", "320101-0000")
    assert (rc, out) == (2, "") and err.endswith("; nothing sent\n")


def test_no_hub(make_hub):
    hub = make_hub(start=False)
    assert run(hub, "cw-anna", "--list", "--timeout", "2") == \
        (2, "", "inbox: no answer from the hub within 2 s\n")
    assert run(hub, "cw-anna", "--idle_exit", "1", "--timeout", "2") == \
        (0, "", "")


def test_ctrl_c_ends_a_live_run_with_its_count(make_hub):
    """Ctrl-C is how a live run without --idle_exit ends: the help said
    nothing of its exit status. So too when whatever started inbox had
    SIGINT and SIGTERM blocked (a blocked mask survives exec): it never
    ended."""
    hub, cpr, d = dropout_hub(make_hub)

    def blocked():
        signal.pthread_sigmask(signal.SIG_BLOCK,
                               {signal.SIGINT, signal.SIGTERM})

    for sig, pre in ((signal.SIGINT, None), (signal.SIGTERM, None),
                     (signal.SIGINT, blocked), (signal.SIGTERM, blocked)):
        hello = "HUB-HELLO caseworker cw-anna connected"
        seen = hub.log_text().count(hello)
        p = subprocess.Popen([binary("inbox"), "--config",
                              str(conf_of(hub, "cw-anna")), "--no_ack"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=pre)
        hub.wait_log(hello, count=seen + 1,
                     timeout=20)
        time.sleep(1)
        p.send_signal(sig)
        out, err = p.communicate(timeout=20 * SLOW)
        assert p.returncode == 0, err
        assert out.endswith("\n1 alerts received (not acknowledged)\n"), out
    assert "live, also ended by Ctrl-C or SIGTERM" in help_text()
    assert "so too when whatever started inbox had them blocked: it " \
        "unblocks them" in flat((DOCS / "OPERATIONS.md").read_text())


def test_a_live_run_into_a_file_syncs_each_alert_before_its_ack(make_hub,
                                                                 tmp_path):
    """OPERATIONS.md, Caseworkers: an alert acknowledged is not sent
    again, so `inbox >> alerts.log` must have it on disk, not only in
    the page cache a power loss takes, before it acknowledges it: each
    alert written to a regular file is synced (fdatasync) first."""
    import pytest
    import shutil
    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    hub, cpr, d = dropout_hub(make_hub)
    out, trace = tmp_path / "alerts.log", tmp_path / "trace"
    with open(out, "w") as f:
        p = subprocess.run(["strace", "-f", "-qq", "-e", "trace=fdatasync",
                            "-o", str(trace), binary("inbox"), "--config",
                            str(conf_of(hub, "cw-anna")), "--idle_exit", "2"],
                           stdout=f, stderr=subprocess.PIPE, text=True,
                           timeout=60 * SLOW, env=strace_env())
    assert p.returncode == 0, p.stderr
    assert d["alert_id"] in out.read_text()
    import re
    assert re.search(r"fdatasync\(1\)\s+= 0", trace.read_text()), \
        trace.read_text()
    assert run(hub, "cw-anna", "--list") == (0, "0 open alerts\n", "")


def test_a_second_inbox_of_the_same_caseworker_at_once(make_hub):
    """Both live runs get the new alert; the second shows it as
    `[delivered again]`: the count is the alert's, over all of the
    caseworker's connections, which the docs must say."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(804).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    conf = conf_of(hub, "cw-anna")
    ps = [subprocess.Popen([binary("inbox"), "--config", str(conf),
                            "--no_ack", "--idle_exit", str(4 * SLOW)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True) for _ in range(2)]
    hub.wait_log("HUB-HELLO caseworker cw-anna connected", count=2,
                 timeout=20)
    hub.send(ev_dropout(cpr, "2026-09-04"))
    outs = []
    for p in ps:
        out, err = p.communicate(timeout=60 * SLOW)
        assert p.returncode == 0, err
        outs.append(out)
    heads = sorted(line for out in outs for line in out.splitlines()
                   if line.startswith("=== "))
    assert heads == ["=== HIGH alert 000000000000000204  (dropout)",
                     "=== HIGH alert 000000000000000204  (dropout)  "
                     "[delivered again]"]
    ops = flat((DOCS / "OPERATIONS.md").read_text()).lower()
    assert "a second `inbox` of the same caseworker running at once" in ops


def test_an_action_on_an_alert_that_names_no_one_is_exit_4(make_hub):
    """The hub records actions only about a person: its own recipient's
    --contact on an operational alert is refused with the words of an
    alert not addressed to them, which OPERATIONS.md's table must say
    so that exit 4 there is not read as a routing fault."""
    import json
    hub = ops_alert_hub(make_hub)
    rc, out, err = run(hub, "ops-olga", "--list", "--json")
    [alert] = [json.loads(line) for line in out.splitlines()]
    assert (alert["cpr"], alert["recipient"]) == ("", "ops-olga")
    assert hub.record("ops-olga", "contact", alert["alert_id"],
                      "phone") == (
        4, "", "inbox: the hub refused: this alert is not addressed to "
        "you or your desk\n")
    assert run(hub, "ops-olga", "--ack", alert["alert_id"]) == \
        (0, "acknowledged\n", "")
    ops = flat((DOCS / "OPERATIONS.md").read_text())
    assert "an alert that names no one — an operational alert, a health " \
        "alert's escalation notice, the `withdrawn` notice of an " \
        "addiction alert — even to its own recipient" in ops


def test_output_that_cannot_be_written_is_no_success(make_hub):
    """A cron job's `inbox ... > file` on a full disk exited 0 with the
    file empty, and live it acknowledged alerts no one could read: the
    failure must show in the exit status, and live the alert must stay
    open to come again."""
    hub, cpr, d = dropout_hub(make_hub)
    full = ("inbox: cannot write standard output: No space left on "
            "device\n")

    def to_full(*args):
        with open("/dev/full", "w") as f:
            p = subprocess.run([binary("inbox"), "--config",
                                str(conf_of(hub, "cw-anna")), *args],
                               stdout=f, stderr=subprocess.PIPE, text=True,
                               timeout=30 * SLOW)
        return p.returncode, p.stderr

    assert to_full("--list") == (1, full)
    assert to_full("--list", "--json") == (1, full)
    assert to_full("--timeline", cpr) == (1, full)
    assert to_full("--idle_exit", "2") == (
        1, full.replace("\n", "; the alerts it could not show were not "
                        "acknowledged\n"))
    rc, out, err = run(hub, "cw-anna", "--list", "--json")
    assert (rc, err) == (0, "") and d["alert_id"] in out
    closed = subprocess.run(
        ["sh", "-c", '"$0" --config "$1" --list >&-', binary("inbox"),
         str(conf_of(hub, "cw-anna"))],
        capture_output=True, text=True, timeout=30 * SLOW)
    assert (closed.returncode, closed.stderr) == (
        1, "inbox: cannot write standard output: Bad file descriptor\n")
    assert to_full("--ack", d["alert_id"]) == (1, full)
    assert run(hub, "cw-anna", "--list") == (0, "0 open alerts\n", "")
    ops = flat((DOCS / "OPERATIONS.md").read_text())
    assert "`inbox: cannot write standard output: No space left on " \
        "device`" in ops
    assert "or standard output cannot be written" in help_text()


def test_no_ack_shows_at_most_256_of_the_open_alerts(make_hub):
    """inbox --help and OPERATIONS.md: live with --no_ack "shows at most
    256 of the open alerts in one run, the most the hub keeps
    unacknowledged on one connection"; --list prints them all."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cprs = CprGen(802).take(260)
    hub.cprs.update(cprs)
    hub.send(*[ev_dropout(cpr, "2026-09-04") for cpr in cprs])
    assert hub.wait_applied()["alerts"] == 260
    rc, alerts, err = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert rc == 0, err
    assert len(alerts) == 256, len(alerts)
    assert len({a["alert_id"] for a in alerts}) == 256
    rc, out, err = run(hub, "desk-dora", "--list")
    assert rc == 0, err
    assert out.endswith("\n260 open alerts\n"), out[-200:]


def test_into_a_pipe_an_alert_counts_as_shown_once_the_pipe_took_it(
        make_hub):
    """OPERATIONS.md, Caseworkers: into a pipe an alert counts as shown
    once the pipe took it, so what the reader had not read when it went
    away was acknowledged all the same; a write after the reader went
    ends inbox by SIGPIPE, that alert not acknowledged."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cprs = CprGen(803).take(3)
    hub.cprs.update(cprs)
    hub.send(*[ev_dropout(cpr, "2026-09-04") for cpr in cprs])
    assert hub.wait_applied()["alerts"] == 3
    cmd = [binary("inbox"), "--config", str(conf_of(hub, "desk-dora")),
           "--json", "--idle_exit", "2"]
    # The reader is gone before the first alert: SIGPIPE, none acked.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()
    assert p.wait(timeout=60 * SLOW) == -signal.SIGPIPE
    p.stderr.close()
    rc, out, err = run(hub, "desk-dora", "--list")
    assert (rc, out.splitlines()[-1:]) == (0, ["3 open alerts"]), err
    # The reader takes one line once inbox is done: all three were
    # written into the pipe, so all three were acknowledged.
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert p.wait(timeout=60 * SLOW) == 0
    assert p.stdout.readline().startswith(b"{")
    p.stdout.close()
    p.stderr.close()
    assert run(hub, "desk-dora", "--list") == (0, "0 open alerts\n", "")


def test_a_live_session_ended_by_a_newer_one_is_replaced(make_hub):
    """OPERATIONS.md, Caseworkers: live inbox says Hello again every
    15 s; "a session the hub ended for sessions_per_caseworker is
    replaced, and the alerts still open come again"."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00",
                    settings={"sessions_per_caseworker": "1"})
    cpr = CprGen(805).born("2010-05-05")
    hub.assign(cpr, "cw-anna")
    hub.send(ev_dropout(cpr, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 1
    conf = conf_of(hub, "cw-anna")
    hello = "HUB-HELLO caseworker cw-anna connected"
    first = subprocess.Popen([binary("inbox"), "--config", str(conf),
                              "--no_ack", "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        hub.wait_log(hello, count=1, timeout=20)
        # The second run's Hello ends the first run's session.
        assert run(hub, "cw-anna", "--no_ack", "--json", "--idle_exit",
                   "2")[0] == 0
        # Within the next 15 s the first run's Hello finds its session
        # gone and takes a new one: the open alert is pushed again.
        hub.wait_log(hello, count=3, timeout=30 * SLOW)
        time.sleep(2)
    finally:
        first.send_signal(signal.SIGTERM)
        out, err = first.communicate(timeout=20 * SLOW)
    assert first.returncode == 0, err
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    assert [a["delivery"] for a in lines] == [1, 3], out
    # --json: one object per alert and line, nothing else (no count).
    assert len(out.splitlines()) == 2, out


def test_a_long_note_is_cut_not_a_lost_acknowledgement(make_hub):
    """OPERATIONS.md, Caseworkers: of an acknowledgement's note (--ack,
    or live with --note) the hub keeps "its first 200 bytes (a longer
    note is cut at a character boundary, not refused)"; "either way the
    acknowledgement is stored". A note of a few kilobytes made the
    AlertAck too large to send: live said `ack not sent`, counted the
    alert as acknowledged and it stayed open for good."""
    hub, cpr, d = dropout_hub(make_hub)
    # 'ø' is two bytes: any cut the client makes lands mid-character
    # unless it looks for the boundary.
    note = "called the family " + "ø" * 5000
    rc, out, err = run(hub, "cw-anna", "--note", note, "--idle_exit", "2")
    assert (rc, err) == (0, ""), err
    assert out.endswith("\n1 alerts received and acknowledged\n"), out
    assert run(hub, "cw-anna", "--list") == (0, "0 open alerts\n", "")
    assert "the note is not kept" not in hub.log_text()
    hub.send(ev_dropout(cpr, "2026-09-05", institution="college-y"))
    assert hub.wait_applied()["alerts"] == 2
    [d2] = hub.peek("cw-anna", 1)
    assert run(hub, "cw-anna", "--ack", d2["alert_id"], "--note", note) == \
        (0, "acknowledged\n", "")
    assert run(hub, "cw-anna", "--list") == (0, "0 open alerts\n", "")


def test_an_action_too_long_is_the_hubs_refusal(make_hub):
    """inbox --help: exit 1 when the hub refused, "such as an action's
    --date that is no day ..., or its --how or --note too long: the hub
    checks those". A --how or --note of some kilobytes made the Action
    too large to send: nothing reached the hub and inbox waited out its
    --timeout (exit 2, "no answer from the hub")."""
    hub, cpr, d = dropout_hub(make_hub)
    for extra, reason in ((["--how", "x" * 5000],
                           "how is longer than 256 bytes"),
                          (["--how", "phone", "--note", "ø" * 5000],
                           "note is longer than 200 bytes")):
        rc, out, err = run(hub, "cw-anna", "--contact", d["alert_id"],
                           *extra, "--timeout", "5")
        assert (rc, out, err) == (
            1, "", f"inbox: the hub refused: {reason}\n"), (rc, err)


def test_a_live_run_ends_when_its_key_is_replaced(make_hub):
    """OPERATIONS.md, Caseworkers: "a key revoked or replaced since the
    connection was made ends the run within those 15 s" with the hub's
    reason, exit 3 (test_53 runs the revoked case). The run had a
    session, so its count line is printed all the same."""
    hub, cpr, d = dropout_hub(make_hub)
    p = subprocess.Popen([binary("inbox"), "--config",
                          str(conf_of(hub, "cw-anna"))],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    try:
        # The second: dropout_hub's peek said Hello first, and replacing
        # the key before this run has connected refuses its handshake.
        hub.wait_log("HUB-HELLO caseworker cw-anna connected", timeout=20,
                     count=2)
        hub.hubctl("keygen", "--keys_dir", str(hub.tmp / "new"), "cw-anna",
                   config=False)
        hub.register_caseworker("cw-anna",
                                key=hub.tmp / "new" / "cw-anna.key")
        out, err = p.communicate(timeout=15 + 10 * SLOW)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 3, (out, err)
    assert err == ("inbox: the hub refused this caseworker's key: the key "
                   "this connection authenticated with has been revoked "
                   "or replaced\n"), err
    assert d["alert_id"] in out
    assert out.endswith("\n1 alerts received and acknowledged\n"), out
