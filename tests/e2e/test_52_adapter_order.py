"""52 adapter order: the hub receives an adapter's events in the order
they were queued (the order the rows were read), not in event-id order.

Event ids begin with the event's date, so the rows here are dated in an
order unrelated to the file's (shuffled, or every row a week before the
one above it): an adapter that sent by id would store them in another
order. Each test compares the order the events arrived in (the hub's log
sequence, or what a stand-in hub recorded) with the file's order, for the
first send, across windows, and for resends after a lost connection,
after a retryable rejection and after a hub killed mid-delivery."""

import datetime
import random
import signal
import time

import zmq

import hubtest
from hubtest import (ACCEPTED, E_UNAVAILABLE, EXIT_OK, EXIT_PENDING,
                     FRAME_ACK, FRAME_EVENT, REJECTED, SLOW, AbsenceRow,
                     CprGen, frame, read_key_file, wait_for)
from runtimetest import event_id, wait_stored


def dated_rows(seed, n, order="shuffled"):
    """n absence rows, one a week each (Monday to Friday); "reverse":
    every row a week before the one above it; "shuffled": the weeks in a
    seeded random order."""
    weeks = list(range(n))
    if order == "reverse":
        weeks.reverse()
    else:
        random.Random(seed).shuffle(weeks)
    first_friday = datetime.date(2023, 1, 6)
    rows = []
    for cpr, w in zip(CprGen(seed).take(n), weeks):
        end = first_friday + datetime.timedelta(weeks=w)
        start = end - datetime.timedelta(days=4)
        rows.append(AbsenceRow(cpr, period_start=start.isoformat(),
                               period_end=end.isoformat()))
    return rows


def queue_ids(hub, rows):
    ids = [event_id(hub, r) for r in rows]
    # The test means something only if id order is not queue order.
    assert ids != sorted(ids)
    return ids


def log_order(hub, n):
    """The hub's stored event ids in log order, once it has n."""
    got = wait_stored(hub, n)
    return [e for e, _ in sorted(got.items(), key=lambda kv: kv[1]["seq"])]


def test_first_send_is_in_queue_order(hub):
    rows = dated_rows(5201, 80)
    want = queue_ids(hub, rows)
    path, _ = hub.csv("shuffled.csv", rows)
    r = hub.adapter("import", path)
    assert (r.rc, r.summary["accepted"]) == (EXIT_OK, 80), str(r)
    assert log_order(hub, 80) == want


def test_queue_order_across_windows_and_imports(make_hub):
    """The hub down while three files are imported (one with rows a week
    before the row above, two shuffled), then a flush through a window
    of 7: file after file, row after row."""
    hub = make_hub(start=False)
    files = [dated_rows(5202, 30, "reverse"), dated_rows(5203, 25),
             dated_rows(5204, 40)]
    paths = [hub.csv(f"w{i}.csv", rows)[0] for i, rows in enumerate(files)]
    for path in paths:
        r = hub.adapter("import", path, timeout=1)
        assert r.rc == EXIT_PENDING, str(r)
    want = [i for rows in files for i in queue_ids(hub, rows)]
    hub.start()
    f = hub.adapter("flush", window=7)
    assert (f.rc, f.summary["accepted"]) == (EXIT_OK, 95), str(f)
    assert log_order(hub, 95) == want


def test_resends_after_a_killed_hub_keep_queue_order(make_hub):
    """SIGKILL the hub while events are in flight, start it again: what
    it had committed stays, the adapter resends the rest (and what it
    cannot know was committed), and the log is still in queue order."""
    hub = make_hub()
    rows = dated_rows(5205, 2000, "reverse")
    want = queue_ids(hub, rows)
    path, _ = hub.csv("big.csv", rows)
    proc = hub.adapter_popen("import", path, window=4, timeout=60)
    try:
        wait_for(lambda: hub.stats()["log_events"] >= 50, 60,
                 "50 events stored")
        # Frozen at once, so the adapter cannot finish while it dies.
        hub.proc.send_signal(signal.SIGSTOP)
        hub.kill9()
        time.sleep(0.5)
        hub.start()
        r = hub.adapter_finish(proc, wait=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (r.rc, r.summary["pending"]) == (EXIT_OK, 0), str(r)
    assert "lost the connection" in r.stderr, \
        "the hub was not killed mid-delivery:\n" + r.stderr
    assert log_order(hub, 2000) == want


class StandInHub:
    """A ROUTER on the hub's ingest endpoint with the hub's CURVE key (no
    ZAP handler: any client key is let in) that records what arrives and
    answers as the test says."""

    def __init__(self, hub):
        self.hub = hub
        self.ctx = zmq.Context()
        self.sock = None
        self.arrived = []   # event ids (hex), in arrival order
        self.seq = 0
        self.open()

    def open(self):
        keys = read_key_file(self.hub.keys_dir / "hub.key_secret")
        sock = self.ctx.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.curve_server = True
        sock.curve_secretkey = keys["secret"].encode()
        sock.curve_publickey = keys["public"].encode()
        # The port the dropped socket held may take a moment to free.
        deadline = time.monotonic() + 10 * SLOW
        while True:
            try:
                sock.bind(self.hub.ingest)
                break
            except zmq.ZMQError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock = sock

    def drop(self):
        """Close the socket: the adapter loses its connection."""
        self.sock.close(0)
        self.sock = None

    def take(self, n, timeout=20):
        """The next n events: [(identity, event id hex)]."""
        m = hubtest.pb()
        out = []
        deadline = time.monotonic() + timeout * SLOW
        while len(out) < n:
            left = deadline - time.monotonic()
            assert left > 0, f"only {len(out)} of {n} events arrived"
            if not self.sock.poll(int(left * 1000), zmq.POLLIN):
                continue
            ident, data = self.sock.recv_multipart()
            assert data[:2] == bytes([1, FRAME_EVENT]), data[:2]
            env = m.Envelope()
            env.ParseFromString(data[2:])
            out.append((ident, env.event_id.hex()))
            self.arrived.append(env.event_id.hex())
        return out

    def quiet(self, seconds):
        """Nothing arrives for this long."""
        return not self.sock.poll(int(seconds * 1000), zmq.POLLIN)

    def answer(self, ident, eid, status=ACCEPTED, code=0, retryable=False):
        m = hubtest.pb()
        self.seq += 1
        ack = m.Ack(event_id=bytes.fromhex(eid), status=status, code=code,
                    retryable=retryable, sequence=self.seq,
                    reason="stand-in hub: try again" if retryable else "")
        self.sock.send_multipart([ident, frame(ack, kind=FRAME_ACK)])

    def close(self):
        if self.sock is not None:
            self.sock.close(0)
        self.ctx.destroy(linger=0)


def test_resends_keep_queue_order(make_hub):
    """With a stand-in hub: the first window arrives in queue order; after
    a lost connection it arrives again in the same order; events the hub
    asks to retry are resent in queue order, and nothing queued after
    them is sent before them."""
    hub = make_hub(start=False)
    rows = dated_rows(5206, 25)
    want = queue_ids(hub, rows)
    path, _ = hub.csv("w.csv", rows)
    fake = StandInHub(hub)
    proc = hub.adapter_popen("import", path, window=10, timeout=30)
    try:
        first = fake.take(10)
        assert [e for _, e in first] == want[:10]
        assert fake.quiet(0.5), "more than a window in flight"

        # Lost connection: the window again, in the same order.
        fake.drop()
        time.sleep(0.2)
        fake.open()
        again = fake.take(10)
        assert [e for _, e in again] == want[:10]

        # The hub asks to retry the first three (E_UNAVAILABLE, as when
        # it cannot store a batch) and stores the other seven. After a
        # backoff the first comes again alone, and nothing follows it
        # until it is answered; stored, the other two follow, then what
        # was queued after them.
        for i, (ident, eid) in enumerate(again):
            if i < 3:
                fake.answer(ident, eid, REJECTED, E_UNAVAILABLE, True)
            else:
                fake.answer(ident, eid)
        [(ident, eid)] = fake.take(1)
        assert eid == want[0]
        assert fake.quiet(0.5), "an event went along with the retry"
        fake.answer(ident, eid)
        while len(fake.arrived) < 10 + 10 + 1 + 2 + 15:
            for ident, eid in fake.take(1):
                fake.answer(ident, eid)
        assert fake.arrived[21:] == want[1:3] + want[10:]
        out, err = proc.communicate(timeout=60 * SLOW)
        r = hub._adapter_result(proc.returncode, out, err)
        assert (r.rc, r.summary["accepted"], r.summary["pending"]) == \
            (EXIT_OK, 25, 0), str(r)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        fake.close()


def test_retry_backoff_as_documented(make_hub):
    """ADAPTERS.md "Delivery order": an event the hub asks to retry goes
    again after 0.5 s, then 1 s, 2 s, 4 s ... (doubling, at most 30 s),
    each plus up to a quarter at random; stored, the run ends."""
    hub = make_hub(start=False)
    rows = dated_rows(5207, 1)
    [want] = [event_id(hub, r) for r in rows]
    path, _ = hub.csv("w.csv", rows)
    fake = StandInHub(hub)
    proc = hub.adapter_popen("import", path, window=1, timeout=30)
    try:
        [(ident, eid)] = fake.take(1)
        assert eid == want
        for nominal in (0.5, 1, 2, 4):
            fake.answer(ident, eid, REJECTED, E_UNAVAILABLE, True)
            asked = time.monotonic()
            [(ident, eid)] = fake.take(1)
            waited = time.monotonic() - asked
            assert nominal <= waited <= nominal * 1.25 + 1.0 * SLOW, \
                (nominal, waited)
        fake.answer(ident, eid)
        out, err = proc.communicate(timeout=60 * SLOW)
        r = hub._adapter_result(proc.returncode, out, err)
        assert (r.rc, r.summary["accepted"], r.summary["pending"]) == \
            (EXIT_OK, 1, 0), str(r)
        assert "ADP-RETRY the hub asks to retry later (E_UNAVAILABLE" in \
            r.stderr, r.stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        fake.close()


def test_watch_order_pending_first_then_files_by_name_bytes(make_hub):
    """ADAPTERS.md, "Delivery order": under watch, what an earlier run
    left in the outbox goes first, then the files in the order the
    watcher imports them: among files ready at the same time (dropped
    while it was stopped), by name compared byte by byte, so uge10.csv
    comes before uge9.csv and B.csv before b.csv."""
    from test_22_watch import Watcher, drop_file, wait_moved
    hub = make_hub(start=False)
    drop = hub.inputs_dir / "drop"
    first = dated_rows(5231, 6, "reverse")
    w = Watcher(hub, drop)
    try:
        drop_file(hub, drop, "z-pending.csv", first)
        assert wait_moved(drop, "done", "z-pending.csv")["queued"] == 6
    finally:
        w.stop()
    names = ["uge9.csv", "uge10.csv", "b.csv", "B.csv"]
    files = {n: dated_rows(5232 + i, 5, "reverse")
             for i, n in enumerate(names)}
    for n in names:
        hubtest.write_absence_csv(drop / n, files[n])
        hub.cprs.update(r.cpr for r in files[n])
    hub.start()
    w = Watcher(hub, drop)
    try:
        for n in names:
            wait_moved(drop, "done", n)
        order = ["B.csv", "b.csv", "uge10.csv", "uge9.csv"]
        want = queue_ids(hub, first) + [
            i for n in order for i in queue_ids(hub, files[n])]
        assert log_order(hub, 26) == want
        moved = [ln.split("ADP-WATCH ")[1].split(" ->")[0]
                 for ln in w.text().splitlines() if " -> done/" in ln]
        assert moved == order, moved
    finally:
        w.stop()
