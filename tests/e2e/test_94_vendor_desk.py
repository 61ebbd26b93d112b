"""94 a vendor's client once more, written from docs/PROTOCOL.md alone:
its own key-file reader (§3 "Key files"), its own framing (§2), the
schema compiled from proto/ungebro.proto with protoc as the page says,
CURVE set up as §1 says. Only the hub itself (keys, registrations, the
hub clock) comes from tests/e2e/hubtest.py. Each check quotes what the
page promises: exact reasons, the limits at the value and one past it,
and the escalation notices a desk and a team lead receive (§4; RULES.md
§8)."""

import hashlib
import time

from hubtest import CprGen, rules_hub
from vendorclient import (ACK, ALERT, ALERT_ACK, HELLO, QUERY, RESULT,
                          WELCOME, Client, schema, varint)


def eid(text):
    """§3 step 1: 8 bytes of time, 8 of a keyed hash of the record."""
    return (1790000000000).to_bytes(8, "big") + \
        hashlib.blake2b(text.encode(), key=b"vendor", digest_size=8).digest()


def dropout(cpr, key, programme="eud-smed", date="2026-09-07", **fields):
    m = schema()
    env = m.Envelope(event_id=eid(key), agency="college-a", schema_version=1,
                     type=m.DROPOUT, sensitivity=m.PERSONAL,
                     occurred_at=1790000000000, cpr=cpr)
    env.dropout.institution = "college-x"
    env.dropout.programme = programme
    env.dropout.date = date
    for k, v in fields.items():
        setattr(env, k, v)
    return env


def ingest(hub):
    return Client(hub, "college-a", hub.ingest)


def answer(c, data):
    c.raw(data)
    return c.want(ACK)


def test_ingest_answers_and_limits_as_the_page_quotes_them(make_hub):
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = schema()
    gen = CprGen(8301)
    cpr = gen.born("2001-01-01")
    hub.cprs.add(cpr)
    c = ingest(hub)
    try:
        env = dropout(cpr, "a")
        ok = answer(c, bytes([1, 1]) + env.SerializeToString())
        assert (ok.status, ok.code, ok.event_id) == \
            (m.ACCEPTED, m.OK, env.event_id), ok
        dup = answer(c, bytes([1, 1]) + env.SerializeToString())
        assert (dup.status, dup.sequence) == (m.DUPLICATE, ok.sequence)

        def refused(data, code, reason, with_id=True):
            a = answer(c, data)
            assert (a.status, a.code, a.reason, a.retryable,
                    a.sequence) == (m.REJECTED, code, reason, False, 0), a
            if with_id:
                assert len(a.event_id) == 16, a

        def frame(e):
            return bytes([1, 1]) + e.SerializeToString()

        refused(b"\x01", m.E_MALFORMED, "frame of 1 bytes is shorter than "
                "the 2-byte header", with_id=False)
        refused(bytes([2, 1]) + env.SerializeToString(), m.E_VERSION,
                "wire version 2 is not supported (expected 1)", False)
        refused(bytes([1, 99]), m.E_MALFORMED, "unknown frame kind 99", False)
        refused(bytes([1, HELLO]), m.E_MALFORMED, "only event frames are "
                "accepted on the ingest endpoint", False)
        refused(bytes([1, 1, 0xff]), m.E_MALFORMED,
                "Envelope does not decode as protobuf", False)
        refused(frame(dropout(cpr, "v7", schema_version=7)), m.E_VERSION,
                "schema version 7 is not supported (expected 1)")
        refused(frame(dropout(cpr, "v6", schema_version=123456)),
                m.E_VERSION, "schema version is not supported (expected 1)")
        short = dropout(cpr, "short")
        short.event_id = short.event_id[:15]
        refused(frame(short), m.E_MALFORMED, "event_id must be 16 bytes, "
                "got 15", with_id=False)
        refused(frame(dropout(cpr, "no-agency", agency="")), m.E_DENIED,
                "agency is empty; it must be the id the connection's key "
                "is registered under")
        refused(frame(dropout(cpr, "other", agency="school-a")), m.E_DENIED,
                "envelope agency does not match the connection's key")
        refused(frame(dropout(cpr, "stale", valid_until=-1)), m.E_STALE,
                "event expired before it reached the hub")
        refused(frame(dropout(cpr, "t12", type=12)), m.E_MALFORMED,
                "unknown event type 12")
        refused(frame(dropout(cpr, "t1", type=m.ABSENCE_REPORT)),
                m.E_MALFORMED, "payload does not match type AbsenceReport")
        refused(frame(dropout(cpr, "t0", occurred_at=0)), m.E_MALFORMED,
                "occurred_at must be above 0 (ms since the epoch)")
        refused(frame(dropout(cpr, "self", supersedes=eid("self"))),
                m.E_MALFORMED, "supersedes names the event itself (it must "
                "be the id of the earlier event it corrects)")
        refused(frame(dropout(cpr, "sup15", supersedes=eid("x")[:15])),
                m.E_MALFORMED, "supersedes must be empty or 16 bytes")
        # Strings: 256 bytes as sent, 257 one past (multi-byte counted in
        # bytes); a NUL byte.
        at = answer(c, frame(dropout(cpr, "s256", programme="p" * 254 +
                                     "\u00e6")))
        assert at.status == m.ACCEPTED, at
        refused(frame(dropout(cpr, "s257", programme="p" * 255 + "\u00e6")),
                m.E_MALFORMED, "dropout.programme is 257 bytes, over the "
                "limit of 256")
        refused(frame(dropout(cpr, "nul", programme="a\0b")), m.E_MALFORMED,
                "dropout.programme contains a NUL byte")
        # §3 cpr: 29 February of 1900 refused, of 2000 accepted.
        refused(frame(dropout("2902001234", "feb1900")), m.E_MALFORMED,
                "cpr must be 10 digits with a valid date")
        hub.cprs.add("2902004234")
        leap = answer(c, frame(dropout("2902004234", "feb2000")))
        assert leap.status == m.ACCEPTED, leap
        # §2 sizes: 65,536 bytes processed, 65,537 E_TOO_LARGE with the
        # id. A vendor pads with a field the schema does not know (a
        # newer client's), which a proto3 decoder passes over.
        def padded(key, size):
            body = dropout(cpr, key).SerializeToString()
            for n in range(size - len(body) - 8, size):
                data = bytes([1, 1]) + body + bytes([0x9a, 0x06]) + \
                    varint(n) + b"x" * n      # field 99, length-delimited
                if len(data) == size:
                    return data
            raise AssertionError("no padding found")
        big = answer(c, padded("65536", 65536))
        assert big.status == m.ACCEPTED, big
        refused(padded("65537", 65537), m.E_TOO_LARGE,
                "frame of 65537 bytes exceeds the limit of 65536")
        # §3 step 4: a resend is DUPLICATE with the stored sequence
        # whatever steps 7-9 would say now (content, type, staleness);
        # steps 1-6 still answer first, with the id and sequence 0.
        stored = dropout(cpr, "a")
        for changed in (dict(valid_until=-1), dict(occurred_at=0),
                        dict(type=m.ABSENCE_REPORT)):
            again = dropout(cpr, "a", **changed)
            d = answer(c, frame(again))
            assert (d.status, d.sequence, d.event_id) == \
                (m.DUPLICATE, ok.sequence, stored.event_id), (changed, d)
        longer = dropout(cpr, "a", programme="p" * 257)
        d = answer(c, frame(longer))
        assert (d.status, d.sequence) == (m.DUPLICATE, ok.sequence), d
        a = answer(c, frame(dropout(cpr, "a", schema_version=2)))
        assert (a.status, a.code, a.event_id, a.sequence) == \
            (m.REJECTED, m.E_VERSION, stored.event_id, 0), a
        a = answer(c, frame(dropout(cpr, "a", agency="school-a")))
        assert (a.status, a.code, a.event_id, a.sequence) == \
            (m.REJECTED, m.E_DENIED, stored.event_id, 0), a
        a = answer(c, padded("65536", 65537))
        assert (a.status, a.code, a.event_id, a.sequence) == \
            (m.REJECTED, m.E_TOO_LARGE, eid("65536"), 0), a
        d = answer(c, padded("65536", 65536))
        assert (d.status, d.sequence) == (m.DUPLICATE, big.sequence), d
    finally:
        c.close()


def delivery(hub, who, window=16):
    c = Client(hub, who, hub.delivery)
    c.send(HELLO, schema().Hello(client="vendor83/1", window=window))
    w = c.want(WELCOME)
    assert (w.caseworker, w.code) == (who, schema().OK), w
    return c


def pushed(c, n, timeout=10):
    """The next n alerts pushed (those already read first)."""
    out = [f[1] for f in c.other if f[0] == ALERT]
    c.other = [f for f in c.other if f[0] != ALERT]
    while len(out) < n:
        out.append(c.want(ALERT, timeout))
    return out


def quiet(c, seconds=1.0):
    got = c.recv(seconds)
    assert got is None or got[0] != ALERT, got


_rid = [100]


def open_ids(c):
    m = schema()
    _rid[0] += 1
    c.send(QUERY, m.Query(request_id=_rid[0], kind=m.OPEN_ALERTS))
    r = c.want(RESULT)
    assert (r.request_id, r.code) == (_rid[0], m.OK), r
    return [a.alert_id for a in r.alerts]


def test_escalation_notices_as_desk_and_team_lead_clients_see_them(
        make_hub):
    """URGENT (4 office hours) dropouts raised Monday 2026-09-07 10:00
    Danish time: due 14:00 (12:00 UTC); the team lead's step 4 office hours
    later, Tuesday 10:00 (08:00 UTC)."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"routing.team_lead": "cw-lead",
                           "dropout.priority": "urgent"})
    m = schema()
    gen = CprGen(8302)
    x, y, z = gen.born("2001-02-02"), gen.born("2001-03-03"), \
        gen.born("2001-04-04")
    hub.cprs.update([x, y, z])
    hub.assign(x, "cw-anna")
    hub.assign(y, "cw-anna")       # z has no contact person: the desk's
    c = ingest(hub)
    acks = {p: answer(c, bytes([1, 1]) + dropout(p, p).SerializeToString())
            for p in (x, y, z)}
    c.close()
    assert all(a.status == m.ACCEPTED for a in acks.values()), acks
    hub.wait_applied()
    anna, bob, dora, lead = (delivery(hub, w) for w in
                             ("cw-anna", "cw-bob", "desk-dora", "cw-lead"))
    try:
        mine = {a.cpr: a for a in pushed(anna, 2)}
        [desks] = pushed(dora, 1)
        ax, ay, az = mine[x].alert_id, mine[y].alert_id, desks.alert_id
        assert (desks.cpr, desks.recipient) == (z, "duty-desk"), desks
        # Someone else's AlertAck changes nothing (§4 step 4): x still
        # escalates. The owner's at the last second before the window
        # ends stops y's.
        bob.send(ALERT_ACK, m.AlertAck(alert_id=ax))
        assert ax in open_ids(anna)
        hub.advance("2026-09-07T11:59:59")
        anna.send(ALERT_ACK, m.AlertAck(alert_id=ay))
        assert open_ids(anna) == [ax]
        quiet(dora, 0.5)
        quiet(lead, 0.2)
        hub.advance("2026-09-07T12:00:00")
        # x: the desk's notice (0x40); z, owned by the desk: straight to
        # the team lead (0x80); y: nothing.
        [n] = pushed(dora, 1)
        assert n.alert_id == ax[:8] + bytes([ax[8] | 0x40])
        assert (n.rule, n.priority, n.cpr, n.recipient, n.due,
                len(n.evidence), n.delivery) == \
            ("escalation", mine[x].priority, x, "duty-desk", "2026-09-07",
             0, 1), n
        assert n.title == "Overdue with cw-anna: " + mine[x].title
        [t] = pushed(lead, 1)
        assert t.alert_id == az[:8] + bytes([az[8] | 0x80])
        assert (t.rule, t.recipient, t.cpr) == ("escalation", "cw-lead", z)
        assert t.title == "Overdue with duty-desk: " + desks.title
        assert t.explanation == (
            f"Alert {az.hex()} (dropout), addressed to duty-desk, due "
            f"{desks.due}, has not been acknowledged within 4 office hours; "
            "it stays with duty-desk, who remains responsible. Expected of "
            "you: make sure it is handled today, by duty-desk or by the "
            "desk."), t.explanation
        quiet(dora, 0.5)
        # A desk member acknowledges the desk's alert: its notice to the
        # team lead closes.
        dora.send(ALERT_ACK, m.AlertAck(alert_id=az))
        assert az not in open_ids(dora)
        assert open_ids(lead) == []
        # The team lead's step for x: a period after the window ended.
        hub.advance("2026-09-08T07:59:59")
        quiet(lead, 0.5)
        hub.advance("2026-09-08T08:00:00")
        [t2] = pushed(lead, 1)
        assert t2.alert_id == ax[:8] + bytes([ax[8] | 0x80])
        assert t2.due == "2026-09-08", t2
        # The team lead acknowledging its notice closes only that notice.
        lead.send(ALERT_ACK, m.AlertAck(alert_id=t2.alert_id))
        assert open_ids(lead) == []
        assert open_ids(anna) == [ax]
        assert open_ids(dora) == [n.alert_id]
        # The owner acknowledges: the desk's notice closes too.
        anna.send(ALERT_ACK, m.AlertAck(alert_id=ax))
        assert open_ids(anna) == []
        assert open_ids(dora) == []
        hub.advance("2026-09-30T08:00:00")
        quiet(lead, 0.5)
        quiet(dora, 0.2)
    finally:
        for cl in (anna, bob, dora, lead):
            cl.close()


def test_a_health_alerts_notice_after_one_office_hour(make_hub):
    """PROTOCOL.md §4 and RULES.md §8, "Health alerts": the desk's notice
    of an `addiction` alert carries no CPR and none of its content, and
    says "office hour" when the hours are 1. The referral raised Monday
    2026-09-07 10:00 Danish time (HIGH, ack.high_hours 1): 11:00."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"ack.high_hours": "1"})
    m = schema()
    cpr = CprGen(8303).born("2008-04-04")
    hub.cprs.add(cpr)
    hub.assign(cpr, "cw-anna")
    env = m.Envelope(event_id=eid("referral"), agency="addiction-a",
                     schema_version=1, type=m.ADDICTION_REFERRAL,
                     sensitivity=m.SPECIAL_CATEGORY,
                     occurred_at=1790000000000, cpr=cpr)
    env.addiction_referral.service = "rmc-a"
    env.addiction_referral.date = "2026-09-07"
    env.addiction_referral.stage = m.REFERRED
    env.addiction_referral.consent.given = True
    c = Client(hub, "addiction-a", hub.ingest)
    try:
        ok = answer(c, bytes([1, 1]) + env.SerializeToString())
        assert ok.status == m.ACCEPTED, ok
    finally:
        c.close()
    hub.wait_applied()
    anna, dora = delivery(hub, "cw-anna"), delivery(hub, "desk-dora")
    try:
        [al] = pushed(anna, 1)
        assert (al.rule, al.priority) == ("addiction", m.HIGH), al
        hub.advance("2026-09-07T08:59:59")
        quiet(dora, 0.5)
        hub.advance("2026-09-07T09:00:00")
        [n] = pushed(dora, 1)
        aid = al.alert_id
        assert n.alert_id == aid[:8] + bytes([aid[8] | 0x40])
        assert (n.rule, n.cpr, n.recipient, n.due, len(n.evidence)) == \
            ("escalation", "", "duty-desk", "2026-09-07", 0), n
        assert n.title == "An alert you may not read is overdue with cw-anna"
        assert n.explanation == (
            f"Alert {aid.hex()}, addressed to cw-anna, has not been "
            "acknowledged within 1 office hour. It holds data that only its "
            "recipient may see, so its content is not shown here. Expected "
            "of you: make sure cw-anna handles it today."), n.explanation
        # The owner acknowledges: the notice closes with it.
        assert open_ids(dora) == [n.alert_id]
        anna.send(ALERT_ACK, m.AlertAck(alert_id=aid, note="seen"))
        assert open_ids(anna) == []
        assert open_ids(dora) == []
    finally:
        anna.close()
        dora.close()


def test_a_former_owner_on_the_desk_acknowledges_the_notice_as_the_desk(
        make_hub):
    """RULES.md §8, "Acknowledging": an owner on the desk who acknowledges
    the desk's notice of their alert *while the alert is open and still
    theirs* acknowledges the alert. Once a reassignment has moved the
    alert to cw-bob, desk-dora's acknowledgement of the notice is the
    desk's: it closes only the notice, the alert stays open with cw-bob,
    and the desk's acknowledgement stops the team lead's step."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00", escalation=True,
                    rules={"routing.team_lead": "cw-lead",
                           "dropout.priority": "urgent"})
    m = schema()
    p = CprGen(8304).born("2001-09-09")
    hub.cprs.add(p)
    hub.assign(p, "desk-dora")
    c = ingest(hub)
    try:
        assert answer(c, bytes([1, 1]) + dropout(p, "dora").
                      SerializeToString()).status == m.ACCEPTED
    finally:
        c.close()
    hub.wait_applied()
    hub.advance("2026-09-07T12:00:00")        # the desk's notice, 14:00
    dora = delivery(hub, "desk-dora")
    bob = delivery(hub, "cw-bob")
    try:
        alerts = {a.rule: a for a in pushed(dora, 2)}
        original, notice = alerts["dropout"], alerts["escalation"]
        assert notice.title.startswith("Overdue with desk-dora: ")
        hub.assign(p, "cw-bob", start="2026-09-07")
        hub.settle()
        [moved] = pushed(bob, 1)
        assert (moved.alert_id, moved.recipient) == \
            (original.alert_id, "cw-bob")
        assert open_ids(dora) == [notice.alert_id]
        dora.send(ALERT_ACK, m.AlertAck(alert_id=notice.alert_id))
        assert open_ids(dora) == []
        assert open_ids(bob) == [original.alert_id]
        assert "acknowledged the desk's notice of their own" not in \
            hub.log_text()
        hub.advance("2026-09-08T08:00:00")    # the team lead's step
        hub.advance("2026-09-30T08:00:00")
        lead = delivery(hub, "cw-lead")
        try:
            assert open_ids(lead) == []
        finally:
            lead.close()
    finally:
        dora.close()
        bob.close()


def test_hello_client_is_neither_checked_nor_logged(make_hub):
    """PROTOCOL.md §4 step 2: `Hello.client` "is for your own use: the hub
    neither checks nor logs nor stores it" — not valid UTF-8 with a NUL
    byte in it, or a name of its own, the Hello is welcomed alike, and the
    name is nowhere in hubd's log."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = schema()
    c = Client(hub, "cw-anna", hub.delivery)
    try:
        # field 1 (client), 3 bytes: 0xff 0x00 0xfe; field 2 (window) 5
        c.raw(bytes([1, HELLO, 0x0a, 3, 0xff, 0x00, 0xfe, 0x10, 5]))
        w = c.want(WELCOME)
        assert (w.caseworker, w.code, w.reason) == ("cw-anna", m.OK, ""), w
        c.send(HELLO, m.Hello(client="vendor83-marker/9.9", window=2))
        w = c.want(WELCOME)
        assert (w.caseworker, w.code) == ("cw-anna", m.OK), w
        c.send(QUERY, m.Query(request_id=3, kind=m.OPEN_ALERTS))
        assert c.want(RESULT).request_id == 3
    finally:
        c.close()
    assert "vendor83-marker" not in hub.log_text()


def test_window_redelivery_on_reconnect_and_restart(make_hub):
    """PROTOCOL.md §4: alerts go out until `window` are unacknowledged on
    the connection, each acknowledgement makes room for the next; those
    not acknowledged come again on the next connection (after its Hello)
    and after a hub restart, `delivery` counting every send; an
    acknowledged one never again."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = schema()
    gen = CprGen(8305)
    people = [gen.born(f"2001-0{i + 1}-1{i}") for i in range(3)]
    for p in people:
        hub.assign(p, "cw-anna")
    c = ingest(hub)
    try:
        for p in people:
            assert answer(c, bytes([1, 1]) + dropout(p, p).
                          SerializeToString()).status == m.ACCEPTED
    finally:
        c.close()
    hub.wait_applied()
    a = delivery(hub, "cw-anna", window=2)
    try:
        first = pushed(a, 2)
        quiet(a, 1.0)                      # the window is full
        assert [x.delivery for x in first] == [1, 1]
        a.send(ALERT_ACK, m.AlertAck(alert_id=first[0].alert_id))
        [third] = pushed(a, 1)
        assert third.alert_id not in {x.alert_id for x in first}
    finally:
        a.close()
    a = delivery(hub, "cw-anna", window=8)
    try:
        again = {x.alert_id: x.delivery for x in pushed(a, 2)}
        assert again == {first[1].alert_id: 2, third.alert_id: 2}, again
        quiet(a, 0.5)
        a.send(ALERT_ACK, m.AlertAck(alert_id=third.alert_id))
        assert open_ids(a) == [first[1].alert_id]
    finally:
        a.close()
    hub.restart()
    a = delivery(hub, "cw-anna", window=8)
    try:
        [last] = pushed(a, 1)
        assert (last.alert_id, last.delivery) == (first[1].alert_id, 3)
        quiet(a, 0.5)
    finally:
        a.close()
