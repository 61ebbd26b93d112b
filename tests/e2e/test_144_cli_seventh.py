"""144 the terminal programs as their users run them, a seventh look:
inbox and the day-to-day hubctl verbs, from README.md, OPERATIONS.md and
PROTOCOL.md alone. Goes after what tests 08, 61, 93, 100 and 112 do not
assert exactly."""

import fcntl
import json
import os
import re
import signal
import subprocess
import termios

import hubtest
from hubtest import SLOW, CprGen, binary, wait_for


def _pipe_held(fd):
    buf = bytearray(4)
    fcntl.ioctl(fd, termios.FIONREAD, buf)
    return int.from_bytes(buf, "little")


def _drain(fd):
    out = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            return out
        out += chunk


def test_audit_show_interrupted_names_the_last_record_the_reader_has(
        make_hub):
    """OPERATIONS.md, The audit trail: Ctrl-C, SIGTERM or SIGHUP (a pager
    quit with Ctrl-C, a closed terminal) ends the listing *where it was*,
    `hubctl: audit show: interrupted after record N`, exit 1, and the show
    is recorded `failed`, its detail saying how many records were shown
    and ending `; interrupted after record N`. Into a pipe its reader
    stopped reading, N is the last record whose line the reader got
    whole, and the count is of those lines: not records stdio still held,
    which never reached the reader."""
    hub = make_hub(start=False)
    cprs = CprGen(14401).take(700)
    hub.cprs.update(cprs)
    rows = hub.inputs_dir / "many.csv"
    rows.write_text("cpr;caseworker\n" + "".join(f"{c};cw-anna\n"
                                                 for c in cprs))
    hub.hubctl("assign", "--file", str(rows))
    for sig in (signal.SIGTERM, signal.SIGHUP):
        r, w = os.pipe()
        try:
            proc = subprocess.Popen(
                [binary("hubctl"), "--config", str(hub.conf), "audit",
                 "show"], stdout=w, stderr=subprocess.PIPE, text=True)
            os.close(w)
            w = None
            # 700 records are more than a pipe holds: it waits to write.
            wait_for(lambda: _pipe_held(r) >= 60000, 30 * SLOW,
                     "the pipe full")
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=60 * SLOW)
            got = _drain(r).decode()
        finally:
            if w is not None:
                os.close(w)
            os.close(r)
        assert proc.returncode == 1, err
        whole = got.splitlines()[:-1] if not got.endswith("\n") \
            else got.splitlines()
        last = int(whole[-1].split()[0])
        assert err == \
            f"hubctl: audit show: interrupted after record {last}\n", \
            (sig, err, whole[-1])
        shows = [json.loads(line) for line in hub.hubctl(
            "audit", "show", "--json").stdout.splitlines()]
        shows = [s for s in shows if s["action"] == "audit-show"]
        assert shows[-1]["result"] == "failed", shows[-1]
        assert re.fullmatch(
            rf"{len(whole)} records shown; interrupted after record "
            rf"{last}", shows[-1]["detail"]), (sig, len(whole), shows[-1])


def _blocked_on_the_pipe(proc):
    try:
        with open(f"/proc/{proc.pid}/wchan") as f:
            return f.read().endswith("pipe_write")
    except OSError:
        return False


def test_ctrl_c_ends_a_live_run_whose_reader_stopped_reading(make_hub):
    """OPERATIONS.md, Caseworkers: Ctrl-C (SIGINT) or SIGTERM ends a live
    run at once, exit 0; into a pipe an alert counts as shown once the
    pipe took it, and an alert whose block or line could not be written
    is not acknowledged (it comes again). So `inbox | less` left
    unscrolled, inbox waiting to write: the signal ends it at once, exit
    0, nothing on stderr, and exactly the alerts whose lines the pipe
    took whole are acknowledged -- not the one being written."""
    hub = make_hub()
    cprs = CprGen(14402).take(150)
    hub.cprs.update(cprs)
    rows = hub.inputs_dir / "many.csv"
    rows.write_text("cpr;caseworker;from\n" + "".join(
        f"{c};cw-anna;2024-01-01\n" for c in cprs))
    hub.hubctl("assign", "--file", str(rows))
    hubtest.send_all_accepted(hub, [hubtest.frame(hubtest.envelope(
        "school-a", c, salt=f"s144-{i}", absent=12))
        for i, c in enumerate(cprs)])
    hub.wait_stats("150 alerts", lambda s: s["alerts"] == 150)
    base = [binary("inbox"), "--caseworker", "cw-anna", "--keys_dir",
            str(hub.keys_dir), "--delivery", hub.delivery]
    # 150 alerts, some 600 bytes each, are more than a pipe holds.
    for args, sig in ((["--no_ack"], signal.SIGINT),
                      (["--json"], signal.SIGTERM)):
        r, w = os.pipe()
        proc = subprocess.Popen(base + args, stdout=w,
                                stderr=subprocess.PIPE, text=True)
        try:
            os.close(w)
            w = None
            wait_for(lambda: _blocked_on_the_pipe(proc), 30 * SLOW,
                     "inbox waiting to write into the full pipe")
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=10 * SLOW)
            got = _drain(r).decode()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            if w is not None:
                os.close(w)
            os.close(r)
        assert (proc.returncode, err) == (0, ""), (args, proc.returncode,
                                                   err)
        if "--json" in args:
            whole = [json.loads(x) for x in got.split("\n")[:-1]]
            assert 0 < len(whole) < 150, len(whole)
            hub.wait_stats(f"the {len(whole)} alerts shown acknowledged",
                           lambda s: s["alerts_open"] == 150 - len(whole))
            hub.settle()
            assert hub.stats()["alerts_open"] == 150 - len(whole)
        else:
            assert got.startswith("connected as cw-anna: 150 open "
                                  "alerts\n\n=== "), got[:80]
            assert hub.stats()["alerts_open"] == 150
