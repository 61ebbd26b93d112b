"""50 history: a real hubd SIGKILLed at random moments while load clients,
an adapter and caseworker clients run against it; at the end the whole
history is checked, not just the final counters.

What runs at the same time (threads of this process, each with its own
ZeroMQ context, written from docs/PROTOCOL.md alone):

  - two load clients (DEALER + CURVE, agencies load-1 and load-2): a paced
    stream of AbsenceReports (low rates: no alert) with a Dropout every
    DROPOUT_EVERY-th event for a person assigned to one of three
    caseworkers; a window of events in flight; an event without an ack is
    resent after RESEND_AFTER seconds and everything in flight after every
    reconnect (socket monitor: HANDSHAKE_SUCCEEDED); every ACCEPTED /
    DUPLICATE ack is recorded with its sequence;
  - adapter-school (the real one) importing CSV files one after another,
    a fifth of the rows at 30 % absence for assigned persons;
  - a quarter of the dropout persons get a new caseworker (a
    ContactAssignment from the load client, some events after the
    Dropout): their open alerts move to the new caseworker;
  - one caseworker client per caseworker (DEALER + CURVE), connected for
    the whole test on one socket that is never closed: Hello after every
    handshake, each Alert acknowledged with AlertAck, then Query
    {OPEN_ALERTS}. An ack counts as durable once a Result that the client
    asked for after the AlertAck (same socket; frames are handled in order)
    does not list the alert and is not truncated. A Result that still
    lists it means the ack was lost with a killed hub: the client acks
    again (on a connection that held throughout, that is a failure).

Meanwhile hubd is SIGKILLed UG_HISTORY_KILLS times (default 20) after
random delays of 0.2-3 s and started again; the load goes on for TAIL
events after the last restart (alerts raised then reach the clients only
by the hub's pushes, with no Hello after them). The hub clock is fixed at
2026-11-20 (rules on): each Dropout (of an adult: no legal clocks) raises a
`dropout` alert at once and, its 30-day gap having passed, a
`transition_gap` alert from a timer, both to the person's caseworker; each
30 % CSV row raises one `absence.rolling` alert.

Checked at the end, with the hub up and every client drained:
  1. every event acked ACCEPTED or DUPLICATE is stored exactly once
     (`hubctl log --json`), at the sequence its acks named; lost = 0,
     duplicated = 0; the adapter's rows are all stored, once;
  2. every alert the rules raise (derived from the stored events) exists
     (`hubctl stats`) and was delivered to the running client of its
     caseworker (or, for a reassigned person, of the old or the new one),
     and nothing else was delivered; all are acked, none open;
  3. no alert was delivered to a client again after that client's ack of
     it was proven durable (late = 0). Deliveries before that are allowed
     (redeliveries).

UG_HISTORY_SEED picks the schedule and the data (printed; default: a new
seed each run); UG_HISTORY_KILLS the number of kills.
"""

import collections
import datetime
import json
import os
import random
import subprocess
import threading
import time

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

import hubtest
from hubtest import (ACCEPTED, DUPLICATE, FRAME_ALERT,
                     FRAME_ALERT_ACK, FRAME_HELLO, FRAME_WELCOME, REJECTED,
                     SLOW, WIRE_VERSION, AbsenceRow, CprGen, wait_for)

FRAME_QUERY, FRAME_RESULT = 7, 8

CLOCK = "2026-11-20T12:00:00"
CASEWORKERS = ["cw-anna", "cw-bob", "cw-carl"]
DESK = "desk-dora"
LOAD_AGENCIES = ["load-1", "load-2"]
AGENCIES = {"load-1": "absence,dropout,assignment",
            "load-2": "absence,dropout,assignment", "school-a": "absence"}

# events/s per load client, on average (less for a hub under valgrind)
RATE = 30 if hubtest.VALGRIND else 150
WINDOW = 32              # load client: events in flight
RESEND_AFTER = 2.0       # load client: resend an unacked event after (s)
DROPOUT_EVERY = 8        # every n-th load event is a Dropout
DROPOUT_POOL = 40        # assigned dropout persons per load client, a kill
REASSIGN_EVERY = 4       # every n-th dropout person gets a new caseworker
REASSIGNED_FROM = "2026-11-01"
ABSENCE_POOL = 100       # unassigned absence persons per load client
CSV_FILES, CSV_ROWS = 8, 50
TAIL = 200                # events per load client after the last restart

RULE_NO = {"absence.rolling": 1, "dropout": 4, "transition_gap": 9}
MONDAYS = [(datetime.date(2026, 1, 5) + datetime.timedelta(weeks=k))
           for k in range(46)]                  # the last: 2026-11-16


def env_int(name, default):
    """A whole number from 0 up in the environment, or default when unset:
    anything else fails the test with a line saying what was wrong, not a
    traceback from int()."""
    value = os.environ.get(name)
    if not value:
        return default
    if not value.isdigit():
        pytest.fail(f"{name} must be a whole number from 0 up, not "
                    f"{value!r}", pytrace=False)
    return int(value)


def adult_cpr(gen, rng):
    """A CPR of someone 20-27 in 2026: no legal deadline clocks."""
    born = datetime.date(1999, 1, 1) + datetime.timedelta(
        days=rng.randrange(8 * 365))
    return gen.born(born.isoformat())


def alert_hex(seq, rule):
    return f"{seq:016x}{RULE_NO[rule]:02x}"


def new_monitored_dealer(ctx, hub, key_id, endpoint):
    sock = ctx.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.SNDHWM, 100000)   # queue, never block, while away
    server = hubtest.read_key_file(hub.keys_dir / "hub.key")["public"]
    own = hubtest.read_key_file(hub.keys_dir / f"{key_id}.key_secret")
    sock.curve_serverkey = server.encode()
    sock.curve_publickey = own["public"].encode()
    sock.curve_secretkey = own["secret"].encode()
    # Monitor before connect: the first handshake is seen too.
    mon = sock.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED |
                                  zmq.EVENT_DISCONNECTED)
    sock.connect(endpoint)
    return sock, mon


class Worker(threading.Thread):
    """A thread that keeps its exception for the test to re-raise."""

    def __init__(self, name):
        super().__init__(name=name, daemon=True)
        self.stop = threading.Event()
        self.error = None

    def run(self):
        try:
            self.body()
        except BaseException as e:   # noqa: BLE001 - re-raised by check()
            self.error = e

    def check(self):
        if self.error is not None:
            raise AssertionError(f"{self.name} failed: {self.error!r}") \
                from self.error


class LoadClient(Worker):
    """PROTOCOL.md section 3: a window of events in flight, resends after a
    timeout and after every reconnect, every ack recorded."""

    def __init__(self, hub, agency, make_event, rng):
        super().__init__(f"load {agency}")
        self.hub, self.agency, self.make_event = hub, agency, make_event
        self.rng = rng
        self.envs = {}            # event id -> Envelope, in sending order
        self.in_flight = {}       # event id -> [frame, last sent (mono)]
        self.acks = collections.defaultdict(list)  # id -> [(status, seq)]
        self.rejected = []        # (id hex, code, reason): never retryable
        self.handshakes = self.resends = self.frames_sent = 0
        self.retryable = 0

    def body(self):
        ctx = zmq.Context()
        sock, mon = new_monitored_dealer(ctx, self.hub, self.agency,
                                         self.hub.ingest)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(mon, zmq.POLLIN)
        due = time.monotonic()
        burst = 0
        i = 0
        try:
            while not (self.stop.is_set() and not self.in_flight):
                now = time.monotonic()
                # New events in bursts of 1..WINDOW (as an export comes),
                # RATE a second on average, at most WINDOW in flight.
                if burst == 0 and now >= due:
                    burst = self.rng.randint(1, WINDOW)
                    due = max(due, now - 1.0) + burst / RATE
                while (burst and not self.stop.is_set() and
                       len(self.in_flight) < WINDOW):
                    env = self.make_event(i)
                    i += 1
                    burst -= 1
                    self.envs[env.event_id] = env
                    f = hubtest.frame(env)
                    self.in_flight[env.event_id] = [f, now]
                    self._send(sock, f)
                # No ack in time: send the same frame again.
                for rec in self.in_flight.values():
                    if now - rec[1] > RESEND_AFTER:
                        rec[1] = now
                        self.resends += 1
                        self._send(sock, rec[0])
                for s, _ in poller.poll(20):
                    if s is mon:
                        self._monitor(mon, sock)
                    else:
                        self._acks(sock)
        finally:
            sock.disable_monitor()
            mon.close(0)
            sock.close(0)
            ctx.destroy(linger=0)

    def _send(self, sock, f):
        try:
            sock.send(f, zmq.DONTWAIT)
            self.frames_sent += 1
        except zmq.Again:
            pass                  # resent after RESEND_AFTER

    def _monitor(self, mon, sock):
        while mon.poll(0):
            ev = recv_monitor_message(mon)
            if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.handshakes += 1
                if self.handshakes > 1:
                    # Reconnected: whatever was in flight may be lost.
                    now = time.monotonic()
                    for rec in self.in_flight.values():
                        rec[1] = now
                        self.resends += 1
                        self._send(sock, rec[0])

    def _acks(self, sock):
        while True:
            try:
                data = sock.recv(zmq.DONTWAIT)
            except zmq.Again:
                return
            ack = hubtest.parse_ack(data)
            eid = bytes(ack.event_id)
            if ack.status in (ACCEPTED, DUPLICATE):
                self.acks[eid].append((ack.status, ack.sequence))
                self.in_flight.pop(eid, None)
            elif ack.status == REJECTED and ack.retryable and \
                    eid in self.in_flight:
                self.retryable += 1
                self.in_flight[eid][1] = time.monotonic()  # back off
            else:
                self.rejected.append((eid.hex(), ack.code, ack.reason))
                self.in_flight.pop(eid, None)


class CaseworkerClient(Worker):
    """PROTOCOL.md section 4, on one socket for the whole test."""

    def __init__(self, hub, caseworker):
        super().__init__(f"caseworker {caseworker}")
        self.hub, self.caseworker = hub, caseworker
        self.received = {}        # alert id hex -> dict(rule, cpr, ...)
        self.frames = collections.Counter()   # alert id hex -> deliveries
        self.max_delivery = {}    # alert id hex -> highest Alert.delivery
        self.recipients = collections.defaultdict(set)
        self.confirmed = set()    # acks proven durable by a Result
        self.unconfirmed = set()  # acked, not yet proven
        self.late = []            # (id, Alert.delivery) after confirmation
        self.handshakes = self.hellos = self.welcomes = 0
        self.queries = self.results = self.reacks = 0
        # request id -> ({id acked: epoch of its ack before the query},
        # epoch of the query)
        self.pending_queries = {}
        self.epoch = 0             # monitor events seen: connections
        self.ack_epoch = {}        # alert id hex -> epoch of its last ack
        self.ignored_acks = []     # listed open after an ack, same epoch
        self.last_query = 0.0      # when the latest query went (mono)
        self.answered = True       # the latest query has its Result

    def body(self):
        m = hubtest.pb()
        ctx = zmq.Context()
        sock, mon = new_monitored_dealer(ctx, self.hub, self.caseworker,
                                         self.hub.delivery)
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        poller.register(mon, zmq.POLLIN)
        try:
            while not self.stop.is_set():
                for s, _ in poller.poll(50):
                    self._monitor(sock, mon, m)
                    if s is sock:
                        self._drain(sock, mon, m)
                now = time.monotonic()
                # One query in flight; a lost one (killed hub) is
                # repeated after a second.
                since = now - self.last_query
                if self.unconfirmed and (
                        (self.answered and since > 0.05) or since > 1.0):
                    self.answered = False
                    self.queries += 1
                    # The acks that went before this query: one sent
                    # after it (an alert delivered again meanwhile)
                    # cannot have been stored when it was answered.
                    self.pending_queries[self.queries] = (
                        {aid: self.ack_epoch.get(aid)
                         for aid in self.unconfirmed}, self.epoch)
                    self.last_query = now
                    self._send(sock, FRAME_QUERY, m.Query(
                        request_id=self.queries, kind=m.OPEN_ALERTS,
                        limit=50))
        finally:
            sock.disable_monitor()
            mon.close(0)
            sock.close(0)
            ctx.destroy(linger=0)

    def _send(self, sock, kind, msg):
        # A DEALER queues while reconnecting; it never blocks here.
        sock.send(hubtest.frame(msg, kind=kind))

    def _monitor(self, sock, mon, m):
        while mon.poll(0):
            ev = recv_monitor_message(mon)
            self.epoch += 1           # connected, or lost the connection
            if ev["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.handshakes += 1
                self._send(sock, FRAME_HELLO, m.Hello(
                    client="test_50_history", window=32))
                self.hellos += 1

    def _drain(self, sock, mon, m):
        to_ack = []
        while True:
            self._monitor(sock, mon, m)
            try:
                data = sock.recv(zmq.DONTWAIT)
            except zmq.Again:
                break
            assert len(data) >= 2 and data[0] == WIRE_VERSION, \
                f"bad frame from the hub: {data[:8]!r}"
            kind, body = data[1], data[2:]
            if kind == FRAME_WELCOME:
                w = m.Welcome()
                w.ParseFromString(body)
                assert w.caseworker == self.caseworker, w
                self.welcomes += 1
            elif kind == FRAME_ALERT:
                a = m.Alert()
                a.ParseFromString(body)
                aid = bytes(a.alert_id).hex()
                self.frames[aid] += 1
                self.max_delivery[aid] = max(a.delivery,
                                             self.max_delivery.get(aid, 0))
                self.recipients[aid].add(a.recipient)
                if aid in self.confirmed:
                    self.late.append((aid, a.delivery))
                self.received.setdefault(aid, {
                    "rule": a.rule, "cpr": a.cpr, "recipient": a.recipient,
                    "first_delivery": a.delivery})
                to_ack.append(bytes(a.alert_id))
            elif kind == FRAME_RESULT:
                r = m.Result()
                r.ParseFromString(body)
                self._result(sock, mon, m, r)
            else:
                raise AssertionError(f"unexpected frame kind {kind}")
        for raw in to_ack:
            self._send(sock, FRAME_ALERT_ACK, m.AlertAck(
                alert_id=raw, note="seen (test_50_history)"))
            aid = raw.hex()
            self.ack_epoch[aid] = self.epoch
            if aid not in self.confirmed:
                self.unconfirmed.add(aid)

    def _result(self, sock, mon, m, r):
        self.results += 1
        # libzmq posts a reconnect's monitor events before the first frame
        # of the new connection, but the check before recv() may have run
        # before either: look again, or a Result from a restarted hub
        # would be taken for one on the connection the acks went out on.
        self._monitor(sock, mon, m)
        asked = self.pending_queries.pop(r.request_id, None)
        if r.request_id == self.queries:
            self.answered = True          # the next may go
        if asked is None:
            return
        asked, epoch = asked
        assert r.code == hubtest.OK, r
        listed = {bytes(a.alert_id).hex() for a in r.alerts}
        for aid in asked:
            if aid in listed:
                # The ack did not reach the store (lost with a killed
                # hub): acknowledge again.
                self.reacks += 1
                if asked[aid] == epoch == self.epoch:
                    # No reconnect between the ack and this Result.
                    self.ignored_acks.append((aid, datetime.datetime.now(
                        datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]))
                self._send(sock, FRAME_ALERT_ACK, m.AlertAck(
                    alert_id=bytes.fromhex(aid), note="again"))
                self.ack_epoch[aid] = self.epoch
            elif not r.truncated and aid in self.unconfirmed:
                self.unconfirmed.discard(aid)
                self.confirmed.add(aid)


class AdapterRunner(Worker):
    """adapter-school imports the CSV files one after another, paced over
    the kill phase (the pauses pace; nothing waits on them)."""

    def __init__(self, hub, paths, rng):
        super().__init__("adapter-school")
        self.hub, self.paths, self.rng = hub, paths, rng
        self.results = []

    def body(self):
        for path in self.paths:
            p = self.hub.adapter_popen("import", path, window=4, timeout=60)
            try:
                r = self.hub.adapter_finish(p, wait=180)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.communicate()
            self.results.append(r)
            assert r.rc in (hubtest.EXIT_OK, hubtest.EXIT_PENDING), str(r)
            self.stop.wait(self.rng.uniform(0.3, 2.5))


def open_alerts(hub, cws, expected, moved_to):
    """What `inbox --list` shows open, with which clients got each alert
    (no CPR in the text: it ends up in the test report)."""
    out = []
    for cw in cws:
        conf = hub.tmp / f"inbox-list-{cw}.conf"
        conf.write_text(f"caseworker = {cw}\nkeys_dir = {hub.keys_dir}\n"
                        f"delivery = {hub.delivery}\n")
        p = subprocess.run([hubtest.binary("inbox"), "--config", str(conf),
                            "--list", "--json"], capture_output=True,
                           text=True, timeout=60 * SLOW)
        (hub.client_dir / f"inbox-list-{cw}.out").write_text(p.stdout)
        for line in p.stdout.splitlines():
            if not line.startswith("{"):
                continue
            a = json.loads(line)
            aid = a["alert_id"]
            got = [c for c, w in cws.items() if aid in w.received]
            moved = " (person reassigned)" if a["cpr"] in moved_to else ""
            out.append(f"{aid} ({a['rule']}) for {a['recipient']}{moved}"
                       f"{'' if aid in expected else ' (NOT EXPECTED)'}, "
                       f"delivered to {', '.join(got) or 'no client'}")
    return out or ["(inbox --list shows none)"]


def test_history_under_random_kills(make_hub):
    seed = env_int("UG_HISTORY_SEED", random.SystemRandom().randrange(10**9))
    kills = env_int("UG_HISTORY_KILLS", 20)
    print(f"\nhistory: UG_HISTORY_SEED={seed} UG_HISTORY_KILLS={kills}")
    rng = random.Random(seed)
    started = time.monotonic()

    caseworkers = {cw: False for cw in CASEWORKERS}
    caseworkers[DESK] = True
    hub = make_hub(agencies=AGENCIES, caseworkers=caseworkers, clock=CLOCK,
                   rules=dict(hubtest.NO_ESCALATION))

    def sweep():                    # Hub.sweep (at teardown), one pass
        n = hubtest.privacy_sweep([hub.data_dir, hub.adapters_dir,
                                hub.logs_dir], hub.cprs)
        assert n > 0, "privacy sweep read no file"
        return n
    hub.sweep = sweep
    hubtest.pb()                    # generate ungebro_pb2 before the threads

    # -- the cohort: who drops out, who is absent, who is assigned to whom
    gen = CprGen(seed)
    contact = {}                    # cpr -> caseworker
    pools = {}
    for agency in LOAD_AGENCIES:
        drop = [adult_cpr(gen, rng) for _ in range(DROPOUT_POOL * kills
                                                   + 200)]
        for cpr in drop:
            contact[cpr] = rng.choice(CASEWORKERS)
        pools[agency] = (drop, gen.take(ABSENCE_POOL))
    csv_paths, csv_high = [], set()
    for n in range(CSV_FILES):
        rows = []
        for k in range(CSV_ROWS):
            cpr = adult_cpr(gen, rng)
            high = k % 5 == 0
            if high:
                csv_high.add(cpr)
                contact[cpr] = rng.choice(CASEWORKERS)
            rows.append(AbsenceRow(cpr, period_start="2026-10-05",
                                   period_end="2026-10-09",
                                   absent=30 if high else 2, expected=100))
        csv_paths.append(hub.csv(f"absence-{n}.csv", rows)[0])
    for drop, absent in pools.values():
        hub.cprs.update(drop)
        hub.cprs.update(absent)
    hub.cprs.update(contact)
    assign = hub.inputs_dir / "assign.csv"
    assign.write_text("cpr;caseworker;from;to;role\n" + "".join(
        f"{cpr};{cw};2026-01-01;;contact\n" for cpr, cw in contact.items()))
    hub.hubctl("assign", "--file", str(assign))
    st = hub.stats()
    assert st["assignments"] == len(contact), st
    assignments = st["log_events"]

    dropout_of = {}                 # event id -> cpr (load Dropouts)
    moved_to = {}                   # cpr -> caseworker of a reassignment

    def maker(agency):
        erng = random.Random(f"{seed}-{agency}")
        drop, absent = pools[agency]
        counters = {"drop": 0, "abs": 0}
        later = []                  # [(event index, cpr)]: reassignments

        def make(i):
            if later and later[0][0] <= i:
                # A new contact person, some events after the dropout:
                # applied before it, after it, or after its alerts were
                # acknowledged, as the kills have it.
                _, cpr = later.pop(0)
                new = erng.choice([c for c in CASEWORKERS
                                   if c != contact[cpr]])
                moved_to[cpr] = new
                return hubtest.event(agency, cpr, "contact_assignment",
                                     salt=f"{seed}-{agency}-move-{i}",
                                     caseworker=new, role="contact",
                                     **{"from": REASSIGNED_FROM})
            if i % DROPOUT_EVERY == 0 and counters["drop"] < len(drop):
                cpr = drop[counters["drop"]]
                counters["drop"] += 1
                day = datetime.date(2026, 9, 1) + datetime.timedelta(
                    days=erng.randrange(30))
                if day.weekday() >= 5:
                    day -= datetime.timedelta(days=day.weekday() - 4)
                env = hubtest.event(agency, cpr, "dropout",
                                    salt=f"{seed}-{agency}-drop-{i}",
                                    institution="college-x",
                                    programme="eud-smed",
                                    date=day.isoformat())
                dropout_of[env.event_id] = cpr
                if counters["drop"] % REASSIGN_EVERY == 0:
                    later.append((i + erng.randint(1, 3 * WINDOW), cpr))
                    later.sort()
                return env
            # Absence, low (never an alert), week after week; after the
            # last week the same weeks again (a report replacing the
            # earlier one for its period: still no alert).
            j = counters["abs"]
            counters["abs"] += 1
            monday = MONDAYS[j // len(absent) % len(MONDAYS)]
            return hubtest.envelope(
                agency, absent[j % len(absent)],
                salt=f"{seed}-{agency}-abs-{i}",
                period_start=monday.isoformat(),
                period_end=(monday + datetime.timedelta(days=4)).isoformat(),
                absent=erng.randrange(3), expected=30)
        return make

    loads = [LoadClient(hub, a, maker(a), random.Random(f"{seed}-{a}-pace"))
             for a in LOAD_AGENCIES]
    cws = {cw: CaseworkerClient(hub, cw) for cw in CASEWORKERS + [DESK]}
    adapter = AdapterRunner(hub, csv_paths, random.Random(f"{seed}-adapter"))
    workers = list(cws.values()) + loads + [adapter]
    failures = []
    try:
        for w in cws.values():
            w.start()
        wait_for(lambda: all(w.welcomes for w in cws.values()), 20,
                 "a Welcome for every caseworker client")
        for w in loads + [adapter]:
            w.start()
        wait_for(lambda: all(w.acks for w in loads), 20,
                 "the first acks of every load client")

        # -- the kills
        in_flight_at_kill = []
        for k in range(kills):
            time.sleep(rng.uniform(0.2, 3.0))     # a random moment
            for w in workers:
                w.check()
            assert hub.running, \
                f"hubd died on its own before kill {k + 1} (seed {seed}):" \
                f"\n{hub.current_log()[-3000:]}"
            in_flight_at_kill.append(sum(len(w.in_flight) for w in loads))
            hub.kill9()
            time.sleep(rng.uniform(0.0, 0.3))     # down for a moment
            hub.start()

        # The load goes on after the last restart: alerts raised now
        # reach the clients only through the pushes of a running hub, no
        # Hello comes after them.
        base = [len(w.acks) for w in loads]
        wait_for(lambda: all(len(w.acks) >= b + TAIL
                             for w, b in zip(loads, base)), 60,
                 f"{TAIL} more events acked by each load client after the "
                 f"last restart")

        # -- drain: no new events; every event acked; the adapter done
        for w in loads:
            w.stop.set()
        adapter.stop.set()
        wait_for(lambda: not any(w.is_alive() for w in loads + [adapter]),
                 120, "load clients and the adapter drained (all acked)")
        for w in loads + [adapter]:
            w.check()
        flushes = 0
        while adapter.results[-1].rc == hubtest.EXIT_PENDING or \
                adapter.results[-1].summary["pending"]:
            flushes += 1
            assert flushes <= 5, str(adapter.results[-1])
            adapter.results.append(hub.adapter("flush", timeout=60,
                                               wait=180))
        csv_acked = CSV_FILES * CSV_ROWS - \
            adapter.results[-1].summary["pending"]
        st = hub.wait_stats("every logged event applied",
                            lambda s: s["last_applied"] == s["last_seq"],
                            timeout=60)

        # -- 1. events: every acked event stored exactly once
        log = [json.loads(line) for line in
               hub.hubctl("log", "--json").stdout.splitlines()
               if line.startswith("{")]
        stored_at = collections.defaultdict(list)
        for e in log:
            stored_at[bytes.fromhex(e["event_id"])].append(e["seq"])
        sent = {eid for w in loads for eid in w.envs}
        acked = {eid for w in loads for eid in w.acks}
        acks = {eid: a for w in loads for eid, a in w.acks.items()}
        never_acked = sent - acked
        lost = sorted(eid.hex() for eid in acked if eid not in stored_at)
        duplicated = sorted(eid.hex() for eid, seqs in stored_at.items()
                            if len(seqs) > 1)
        wrong_seq = sorted(
            eid.hex() for eid in acked if len(stored_at.get(eid, [])) == 1
            and {s for _, s in acks[eid]} != set(stored_at[eid]))
        load_stored = sum(1 for e in log if e["agency"] in LOAD_AGENCIES)
        unsent_stored = sum(1 for e in log if e["agency"] in LOAD_AGENCIES
                            and bytes.fromhex(e["event_id"]) not in sent)
        csv_stored = sum(1 for e in log if e["agency"] == "school-a")
        rejected = [r for w in loads for r in w.rejected]
        accepted_acks = sum(1 for a in acks.values() for s, _ in a
                            if s == ACCEPTED)
        dup_acks = sum(1 for a in acks.values() for s, _ in a
                       if s == DUPLICATE)
        if never_acked:
            failures.append(f"{len(never_acked)} events sent, never acked")
        if rejected:
            failures.append(f"events rejected for good: {rejected[:5]}")
        if lost:
            failures.append(f"LOST: {len(lost)} acked events not stored, "
                            f"e.g. {lost[:5]}")
        if duplicated:
            failures.append(f"DUPLICATED: {len(duplicated)} event ids "
                            f"stored twice, e.g. {duplicated[:5]}")
        if wrong_seq:
            failures.append(f"{len(wrong_seq)} events stored at another "
                            f"sequence than their acks said, e.g. "
                            f"{wrong_seq[:5]}")
        if unsent_stored or load_stored != len(acked):
            failures.append(f"load events stored {load_stored} (not sent: "
                            f"{unsent_stored}), acked {len(acked)}")
        if csv_stored != CSV_FILES * CSV_ROWS:
            failures.append(f"adapter rows stored {csv_stored}, expected "
                            f"{CSV_FILES * CSV_ROWS}")
        if not (st["log_events"] == st["event_ids"] == st["last_seq"] ==
                len(log) == assignments + load_stored + csv_stored):
            failures.append(f"store counters disagree with the log "
                            f"({len(log)} entries): {st}")

        # -- 2. alerts: derived from what was stored
        # An alert's holders: the person's caseworker and, after a
        # reassignment, the new one (open alerts move; acked ones stay).
        expected = {}               # alert id hex -> (rule, holders)
        for eid, seqs in stored_at.items():
            if eid in dropout_of:
                cpr = dropout_of[eid]
                holders = {contact[cpr], moved_to.get(cpr, contact[cpr])}
                for rule in ("dropout", "transition_gap"):
                    expected[alert_hex(seqs[0], rule)] = (rule, holders)
        n_expected = len(expected) + len(csv_high)

        def clients_done():
            if any(c.unconfirmed for c in cws.values()):
                return False
            if any(not any(aid in cws[h].received for h in holders)
                   for aid, (_, holders) in expected.items()):
                return False
            csv_got = {c.received[aid]["cpr"] for c in cws.values()
                       for aid in c.received
                       if c.received[aid]["rule"] == "absence.rolling"}
            return csv_high <= csv_got

        def all_delivered():
            # Every alert delivered and acked: none open at the hub (an
            # ack of an alert that had moved on does not close it).
            return clients_done() and hub.stats()["alerts_open"] == 0

        try:
            hub.wait_stats(f"{n_expected} alerts raised",
                           lambda s: s["alerts"] >= n_expected, timeout=30)
        except AssertionError as e:
            failures.append(str(e))
        try:
            wait_for(all_delivered, 60,
                     "every alert delivered to its caseworker's client, "
                     "its ack proven durable, none open", interval=0.2)
        except AssertionError as e:
            failures.append(str(e).split(" (last")[0])
        for w in cws.values():
            w.stop.set()
        for w in cws.values():
            w.join(10 * SLOW)
            w.check()
        st = hub.stats()

        delivered, missing, wrong_client, unexpected = 0, [], [], []
        csv_seen = {}
        for aid, (rule, holders) in sorted(expected.items()):
            got = sorted(c for c, w in cws.items() if aid in w.received)
            if set(got) & holders:
                delivered += 1
            else:
                missing.append(f"{aid} ({rule}) for {'/'.join(holders)}")
            if set(got) - holders:
                wrong_client.append(f"{aid} ({rule}) for "
                                    f"{'/'.join(holders)} went to {got}")
        for cw, w in cws.items():
            for aid, a in w.received.items():
                if aid in expected:
                    continue
                if a["rule"] == "absence.rolling" and a["cpr"] in csv_high \
                        and contact[a["cpr"]] == cw and \
                        a["cpr"] not in csv_seen:
                    csv_seen[a["cpr"]] = aid
                    delivered += 1
                else:
                    unexpected.append(f"{aid} ({a['rule']}) to {cw}")
        missing += [f"absence.rolling for a CSV row to {contact[c]}"
                    for c in csv_high - set(csv_seen)]
        bad_recipient = [f"{aid} to {w.caseworker} named {sorted(r)}"
                         for w in cws.values()
                         for aid, r in w.recipients.items()
                         if r != {w.caseworker}]
        unconfirmed = sorted(aid for w in cws.values()
                             for aid in w.unconfirmed)
        late = [(w.caseworker, aid, d) for w in cws.values()
                for aid, d in w.late]
        frames = sum(sum(w.frames.values()) for w in cws.values())
        distinct = sum(len(w.frames) for w in cws.values())
        redeliveries = frames - distinct
        if missing:
            failures.append(f"NOT DELIVERED: {len(missing)} alerts, e.g. "
                            f"{missing[:6]}")
        if wrong_client:
            failures.append(f"delivered to the wrong client: "
                            f"{wrong_client[:6]}")
        if unexpected:
            failures.append(f"unexpected alerts: {unexpected[:6]}")
        if bad_recipient:
            failures.append(f"wrong Alert.recipient: {bad_recipient[:6]}")
        if unconfirmed:
            failures.append(f"acked but not proven durable: "
                            f"{unconfirmed[:6]}")
        if st["alerts"] != n_expected or st["alerts_open"] != 0:
            failures.append(f"hub counts {st['alerts']} alerts "
                            f"({st['alerts_open']} open), the events "
                            f"stored raise {n_expected}")
        if st["alerts_open"]:
            failures.append("open at the hub: " + "; ".join(
                open_alerts(hub, cws, expected, moved_to)))
        ignored = [(w.caseworker, aid, when) for w in cws.values()
                   for aid, when in w.ignored_acks]
        if ignored:
            ids = {aid for _, aid, _ in ignored}
            lines = [line for line in hub.log_text().splitlines()
                     if any(aid in line for aid in ids)]
            failures.append(
                f"acks not stored although the connection held (the Result "
                f"after them, received at the UTC time given, still lists "
                f"the alert): {ignored[:6]}; hub log lines of these alerts "
                f"(logs in {hub.logs_dir}):\n    " + "\n    ".join(lines[-20:]))
        # -- 3. nothing delivered after its ack was proven durable
        if late:
            failures.append(f"LATE: {len(late)} deliveries after the ack "
                            f"was durable, e.g. {late[:6]}")

        print(f"history: seed={seed} kills={kills} "
              f"events sent={len(sent) + CSV_FILES * CSV_ROWS} "
              f"(load {len(sent)}, csv {CSV_FILES * CSV_ROWS}) "
              f"acked={len(acked) + csv_acked} (accepted acks "
              f"{accepted_acks}, "
              f"duplicate acks {dup_acks}) "
              f"stored={load_stored + csv_stored} lost={len(lost)} "
              f"duplicated={len(duplicated)} "
              f"alerts raised={st['alerts']}/{n_expected} "
              f"delivered={delivered} late={len(late)} "
              f"redeliveries={redeliveries} "
              f"(kills with events in flight "
              f"{sum(1 for n in in_flight_at_kill if n)}, load resends "
              f"{sum(w.resends for w in loads)}, hellos "
              f"{sum(w.hellos for w in cws.values())}, re-acks "
              f"{sum(w.reacks for w in cws.values())} (on one connection "
              f"{sum(len(w.ignored_acks) for w in cws.values())}), "
              f"{time.monotonic() - started:.0f}s)")
    finally:
        for w in workers:
            w.stop.set()
        for w in workers:
            if w.is_alive():
                w.join(10 * SLOW)
    if failures:
        pytest.fail(f"history (UG_HISTORY_SEED={seed} UG_HISTORY_KILLS="
                    f"{kills}):\n  " + "\n  ".join(failures), pytrace=False)
