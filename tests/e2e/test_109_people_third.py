"""109 the caseworkers' `inbox`, a third time, from docs/OPERATIONS.md
("Caseworkers") read without the code: what a one-shot command says when
Ctrl-C ends it after it sent what the hub may carry out. Goes after what
tests 03, 08 and 93 do not assert (they interrupt only before the
handshake, when nothing was sent)."""

import signal
import subprocess
import threading
import time

import zmq

from hubtest import (SLOW, CprGen, binary, ev_dropout, ev_dropout_risk,
                     free_port, pb, read_key_file, rules_hub, wait_for)

ALERT = "000000000000000304"


class SilentHub:
    """What inbox meets when hubd is stopped by the system or too busy
    after the handshake: a CURVE server with the hub's key that reads each
    frame and answers only what `answer(kind, body)` returns (None: no
    answer)."""

    def __init__(self, hub, answer):
        keys = read_key_file(hub.keys_dir / "hub.key_secret")
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self.ctx = zmq.Context()
        self.s = self.ctx.socket(zmq.ROUTER)
        self.s.setsockopt(zmq.LINGER, 0)
        self.s.curve_server = True
        self.s.curve_secretkey = keys["secret"].encode()
        self.s.curve_publickey = keys["public"].encode()
        self.s.bind(self.endpoint)
        self.answer = answer
        self.kinds = []
        self.stop = False
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        while not self.stop:
            if not self.s.poll(100):
                continue
            who, data = self.s.recv_multipart()
            self.kinds.append(data[1])
            reply = self.answer(data[1], data[2:])
            if reply is not None:
                self.s.send_multipart([who, bytes([1, 8]) +
                                       reply.SerializeToString()])

    def close(self):
        self.stop = True
        self.t.join(5)
        self.s.close()
        self.ctx.term()


def interrupted(hub, fake, *args, sent_kind=None, until=None):
    """inbox ARGS against fake, SIGINT once the frame of sent_kind came
    (or until() holds)."""
    until = until or (lambda: sent_kind in fake.kinds)
    p = subprocess.Popen(
        [binary("inbox"), "--caseworker", "cw-anna",
         "--keys_dir", str(hub.keys_dir), "--delivery", fake.endpoint,
         "--timeout", "60", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(until, 20, "the frame sent")
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    return p.returncode, out, err


def test_an_action_interrupted_after_it_was_sent_says_it_may_be_recorded(
        make_hub):
    """OPERATIONS.md, "Caseworkers": a one-shot command interrupted before
    the hub answered says `inbox: interrupted before the hub answered`,
    exit 1; "an action already sent adds `; the action may have been
    recorded: send it again (it is stored once)`"."""
    hub = make_hub(start=False)
    fake = SilentHub(hub, lambda kind, body: None)
    try:
        for command in ("--contact", "--offer", "--unreachable"):
            fake.kinds.clear()
            rc, out, err = interrupted(hub, fake, command, ALERT,
                                       "--how", "phone", sent_kind=9)
            assert (rc, out, err) == (
                1, "", "inbox: interrupted before the hub answered; the "
                "action may have been recorded: send it again (it is "
                "stored once)\n"), command
    finally:
        fake.close()


def test_an_ack_interrupted_after_it_was_sent_says_to_run_it_again(
        make_hub):
    """OPERATIONS.md, "Caseworkers": `--ack` asks the open list for the
    alert first; interrupted after the acknowledgement went out it adds
    `; the acknowledgement was sent: run --ack again (exit 4 "not open"
    then means it was stored)`. Interrupted while the list had not
    answered, nothing was sent: the line alone."""
    hub = make_hub(start=False)
    P = pb()
    answered = []

    def open_list(kind, body):
        if kind != 7 or answered:
            return None                 # the ack, and the list after it
        q = P.Query()
        q.ParseFromString(body)
        answered.append(q.request_id)
        r = P.Result(request_id=q.request_id, code=0)
        a = r.alerts.add()
        a.alert_id = bytes.fromhex(ALERT)
        a.rule = "dropout"
        a.recipient = "cw-anna"
        return r

    fake = SilentHub(hub, open_list)
    try:
        rc, out, err = interrupted(hub, fake, "--ack", ALERT, sent_kind=5)
        assert (rc, out, err) == (
            1, "", "inbox: interrupted before the hub answered; the "
            "acknowledgement was sent: run --ack again (exit 4 \"not "
            "open\" then means it was stored)\n")
        assert fake.kinds[:2] == [7, 5], fake.kinds

        answered.append("silent from the start")
        fake.kinds.clear()
        rc, out, err = interrupted(hub, fake, "--ack", ALERT, sent_kind=7)
        assert (rc, out, err) == (
            1, "", "inbox: interrupted before the hub answered\n")
        assert 5 not in fake.kinds, fake.kinds
    finally:
        fake.close()


def test_a_list_interrupted_after_a_page_says_it_is_not_whole(make_hub):
    """OPERATIONS.md, "Caseworkers": interrupted, `--list` says so on
    stderr "after what `--list` or `--timeline` had printed, which is
    followed by `N open alerts (more not shown)` / `N entries (more not
    shown)`"; with `--json` no count (as for a later page not answered)."""
    hub = make_hub(start=False)
    P = pb()
    pages = []

    def first_page_only(kind, body):
        q = P.Query()
        q.ParseFromString(body)
        pages.append(q.offset)
        if len(pages) > 1:
            return None
        r = P.Result(request_id=q.request_id, code=0, truncated=True)
        if q.kind == P.TIMELINE:
            for i in range(3):
                e = r.timeline.add()
                e.date = f"2026-09-0{i + 1}"
                e.summary = f"entry {i}"
                e.event_id = bytes(16)
            return r
        for i in range(2):
            a = r.alerts.add()
            a.alert_id = bytes.fromhex(f"{i + 1:018x}")
            a.rule = "dropout"
            a.priority = P.HIGH
            a.recipient = "cw-anna"
            a.title = f"alert {i}"
        return r

    fake = SilentHub(hub, first_page_only)
    try:
        for args, count in ((["--list"], "2 open alerts (more not shown)"),
                            (["--list", "--json"], None),
                            (["--timeline", "0101901234"],
                             "3 entries (more not shown)")):
            pages.clear()
            fake.kinds.clear()
            rc, out, err = interrupted(hub, fake, *args,
                                       until=lambda: len(pages) == 2)
            lines = out.splitlines()
            assert (rc, err) == (
                1, "inbox: interrupted before the hub answered\n"), args
            shown = 3 if args[0] == "--timeline" else 2
            if count is None:
                assert len(lines) == shown and \
                    all(line.startswith("{") for line in lines), lines
            else:
                assert len(lines) == shown + 1 and lines[-1] == count, lines
    finally:
        fake.close()


def test_no_answer_after_an_ack_or_action_was_sent_says_it_was_sent(
        make_hub):
    """OPERATIONS.md, "Caseworkers": a hub that does not answer within
    --timeout is `inbox: no answer from the hub within N s`, exit 2. When
    the acknowledgement or the action had gone out (the hub took the
    handshake, then was too busy to answer), the hub may still carry it
    out, as after Ctrl-C: the line says so with the same words. It said
    "no answer" alone, which reads as "nothing happened"."""
    hub = make_hub(start=False)
    P = pb()
    answered = []

    def open_list_once(kind, body):
        if kind != 7 or answered:
            return None
        q = P.Query()
        q.ParseFromString(body)
        answered.append(q.request_id)
        r = P.Result(request_id=q.request_id, code=0)
        r.alerts.add(alert_id=bytes.fromhex(ALERT), rule="dropout",
                     recipient="cw-anna")
        return r

    fake = SilentHub(hub, open_list_once)

    def run(*args):
        return subprocess.run(
            [binary("inbox"), "--caseworker", "cw-anna",
             "--keys_dir", str(hub.keys_dir), "--delivery", fake.endpoint,
             "--timeout", "2", *args],
            capture_output=True, text=True, timeout=60)
    try:
        p = run("--ack", ALERT)
        assert (p.returncode, p.stdout, p.stderr) == (
            2, "", "inbox: no answer from the hub within 2 s; the "
            "acknowledgement was sent: run --ack again (exit 4 \"not "
            "open\" then means it was stored)\n")
        p = run("--offer", ALERT, "--how", "FGU basic course")
        assert (p.returncode, p.stdout, p.stderr) == (
            2, "", "inbox: no answer from the hub within 2 s; the action "
            "may have been recorded: send it again (it is stored once)\n")
        # The open list not answered: nothing was sent, the line alone.
        p = run("--ack", ALERT)
        assert (p.returncode, p.stderr) == (
            2, "inbox: no answer from the hub within 2 s\n")
        assert fake.kinds.count(5) == 1, fake.kinds
    finally:
        fake.close()


def test_a_desk_member_gets_their_own_alerts_live_before_the_desks(
        make_hub):
    """OPERATIONS.md, "Caseworkers": live, inbox shows the alerts "in the
    order the hub sends them (PROTOCOL.md §4, "Order": on connecting, the
    caseworker's own open alerts by the event that raised them ...,
    then the desk's ...), not the order of `--list`", which is most
    urgent first. A desk member with a desk alert raised first (HIGH)
    and an own one raised after it (NORMAL): live the own one first,
    `--list` the desk's first; the count on connecting holds both."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    unassigned, own = CprGen(1093).take(2)
    hub.cprs |= {unassigned, own}
    hub.assign(own, "desk-dora")
    hub.send(ev_dropout(unassigned, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    hub.send(ev_dropout_risk(own, "2026-09-04"))
    assert hub.wait_applied()["alerts"] == 2
    base = [binary("inbox"), "--caseworker", "desk-dora",
            "--keys_dir", str(hub.keys_dir), "--delivery", hub.delivery]
    p = subprocess.run(base + ["--no_ack", "--idle_exit", str(2 * SLOW)],
                       capture_output=True, text=True, timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "connected as desk-dora: 2 open alerts", lines
    heads = [line for line in lines if line.startswith("=== ")]
    assert [h.split("(")[1].split(")")[0] for h in heads] == \
        ["dropout_risk", "dropout"], heads
    assert heads[0].startswith("=== NORMAL alert "), heads
    fors = [line.split()[1] for line in lines
            if line.startswith("    for ")]
    assert fors == ["desk-dora,", "duty-desk,"], fors
    p = subprocess.run(base + ["--list"], capture_output=True, text=True,
                       timeout=60 * SLOW)
    assert p.returncode == 0, p.stderr
    rows = p.stdout.splitlines()
    assert [r.split()[0] for r in rows[:2]] == ["HIGH", "NORMAL"], rows
    assert [r.split()[5] for r in rows[:2]] == \
        ["duty-desk", "desk-dora"], rows
    assert rows[2] == "2 open alerts", rows
