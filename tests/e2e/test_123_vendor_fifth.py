"""123 a vendor's agency and caseworker clients a fifth time, written from
docs/PROTOCOL.md alone (tests/e2e/vendorclient.py: its own key-file
reader, framing, CURVE set-up and wire encoder). Only the hub itself
(keys, registrations, the hub clock) and the envelopes' contents come
from hubtest.py. What the
earlier vendor tests left out:

- §6: a tag whose field number is over 2^29 - 1 is named as such "of any
  wire type", a group's tag (3, 4) and the wire types 6 and 7 included,
  on ingest and on delivery, at any depth;
- §3 "Key files": a key pair of the vendor's own whose Z85 holds `=` and
  `#`, in files written on Windows (byte order mark, CRLF, indented
  comments, tabs around `=`), registered and used; no comment after a
  value;
- §3 "Payload rules" and "Contact roles": the exact reasons no other
  test quotes whole (numbers of five digits repeated, of six not; the
  role table; ids);
- §4 Action: the event a recorded action becomes (`type` 12, agency
  `hub`, its id's first 8 bytes the action's day);
- §4 step 2: `Hello.window` over 256 "is taken as 256" with more than
  256 alerts open (earlier tests had fewer open than any window);
- §4a ALERTS_CHANGED: it moves by exactly one for an alert moved into
  the list, for a withdrawal and its notice, and when a desk membership
  begins and ends."""

import subprocess

import zmq

from hubtest import (CprGen, binary, day_ms, ev_assignment, ev_desk,
                     ev_dropout, ev_readiness, event, rules_hub)
from vendorclient import (ACK, ALERT, ALERT_ACK, RESULT, WELCOME, Client, ld,
                          schema, tag, varint)

TOO_HIGH = ("{} does not decode as protobuf: a field number is over "
            "536870911, the largest protobuf allows")


def referral(hub, cpr):
    """An AddictionReferral as the vendor's encoder writes it: the
    Envelope's bytes, then the payload (field 24) holding extra bytes
    inside its `consent` (field 4)."""
    hub.cprs.add(cpr)                   # for the privacy sweep
    env = event("addiction-a", cpr, "addiction_referral", service="rmc-a",
                date="2026-10-26", stage="REFERRED")
    payload = env.addiction_referral.SerializeToString()
    env.ClearField("addiction_referral")
    return env, env.SerializeToString(), payload


def test_a_field_number_over_the_limit_is_named_whatever_its_wire_type(
        make_hub):
    """§6: "A field number runs from 1 to 536,870,911 ...: a tag of a
    larger one ..., of any wire type (a group's start or end too, and 6
    or 7 ...), in the message or in any message field it holds at any
    depth, is refused ... with the reason naming it", with no `event_id`
    on ingest and `request_id` 0 on delivery; a group of a field number
    in range is "answered as one that does not decode", unnamed."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(12301)
    agency = Client(hub, "addiction-a", hub.ingest)
    cw = Client(hub, "cw-anna", hub.delivery)
    number = 2 ** 29
    try:
        for wire_type in (3, 4, 6, 7):
            high = tag(number, wire_type) + (b"\x01" if wire_type > 4
                                             else b"")
            env, head, payload = referral(hub, g.next())
            # In the Envelope itself, then in its consent, two levels down.
            for frame in (bytes([1, 1]) + head + ld(24, payload) + high,
                          bytes([1, 1]) + head + ld(24, payload + ld(
                              4, varint(8) + b"\x01" + high))):
                a = agency.ask(frame, ACK)
                assert (a.status, a.code, a.reason, a.event_id) == \
                    (m.REJECTED, m.E_MALFORMED, TOO_HIGH.format("Envelope"),
                     b""), (wire_type, a)
            for kind, name in ((3, "Hello"), (5, "AlertAck"), (7, "Query"),
                               (9, "Action")):
                r = cw.ask(bytes([1, kind]) + high, RESULT)
                assert (r.request_id, r.code, r.reason) == \
                    (0, m.E_MALFORMED, TOO_HIGH.format(name)), (wire_type, r)
        # A group in range stays the plain "does not decode", also when a
        # high tag follows it: the first tag that fails decides.
        env, head, payload = referral(hub, g.next())
        for extra in (tag(99, 3) + tag(99, 4),
                      tag(99, 3) + tag(number, 0) + b"\x01"):
            a = agency.ask(bytes([1, 1]) + head + ld(24, payload) + extra,
                           ACK)
            assert (a.code, a.reason, a.event_id) == \
                (m.E_MALFORMED, "Envelope does not decode as protobuf",
                 b""), a
        # The envelope itself is fine: sent plain it is ACCEPTED.
        a = agency.ask(bytes([1, 1]) + head + ld(24, payload), ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, env.event_id), a
    finally:
        agency.close()
        cw.close()


def test_a_vendors_own_key_pair_holding_equals_and_hash_signs(make_hub):
    """§3 "Key files": "you may also write them yourself from any CURVE
    key pair"; lines `name = value`, "spaces around `=` optional, ...
    LF or CRLF line ends, or a CR alone", blank and `#` lines (after blanks or tabs)
    ignored, a byte order mark not counted; "The value is all that
    follows the first `=`, blanks at its ends trimmed: a Z85 key may
    itself hold `=` and `#` ... takes no `#` after a value for a comment
    (there are none)": such a value is refused with the file and line
    (`vendor.key:2: bad value for 'public'`)."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    for _ in range(5000):
        public, secret = zmq.curve_keypair()
        text = public.decode()
        if "=" in text and "#" in text and not text.startswith("#"):
            break
    else:
        raise AssertionError("no key pair with = and # in 5000")
    key = hub.tmp / "vendor.key"
    key.write_bytes(("\ufeff  \t# written by the vendor's tool\r\n\r\n"
                     "id\t=\tvendor-five\r"
                     f"public\t= {text} \t\r\n").encode())
    # A comment after the value makes it no key: refused, naming the
    # file and line, nothing registered.
    bad = hub.tmp / "commented.key"
    bad.write_text(f"id = vendor-five\npublic = {text} # ours\n")
    r = hub.hubctl("register-agency", "vendor-five", "--key", str(bad),
                   "--types", "dropout", check=False)
    assert r.returncode == 1, r
    assert r.stderr.rstrip().endswith(
        f"{bad}:2: bad value for 'public'"), r.stderr
    hub.hubctl("register-agency", "vendor-five", "--key", str(key),
               "--types", "dropout")
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    hub_public = [line.split("=", 1)[1].strip() for line in
                  (hub.keys_dir / "hub.key").read_text().splitlines()
                  if line.split("=", 1)[0].strip() == "public"][-1]
    s.curve_serverkey = hub_public.encode()
    s.curve_publickey = public
    s.curve_secretkey = secret
    s.connect(hub.ingest)
    try:
        cpr = CprGen(12302).next()
        hub.cprs.add(cpr)
        env = event("vendor-five", cpr, "dropout", institution="college-x",
                    date="2026-10-26")
        s.send(bytes([1, 1]) + env.SerializeToString())
        assert s.poll(10000), "no ack: the key was not taken"
        data = s.recv()
        a = m.Ack.FromString(data[2:])
        assert (data[:2], a.status, a.event_id) == \
            (bytes([1, 2]), m.ACCEPTED, env.event_id), a
    finally:
        s.close()
        ctx.term()


def test_payload_reasons_word_for_word(make_hub):
    """§3 "Payload rules", "Contact roles" and "Validation order": each
    refusal's reason as the page writes it, a number of up to five
    digits repeated and one of six or more left out, the checks in the
    order the page lists them, and the values at each limit accepted."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(12303)
    clients = {}
    not_an_id = ("is not an id (1-63 of a-z 0-9 . _ -, starting with a "
                 "letter or digit, holding no CPR number)")
    not_a_role = ("contact_assignment.role is not one of contact, guidance "
                  "or mentor (or empty, meaning contact)")
    absence = dict(school="280017", period_start="2026-10-19",
                   period_end="2026-10-23", kind="UNLAWFUL",
                   lessons_expected=30, lessons_absent=3)
    assignment = {"caseworker": "cw-anna", "from": "2026-10-01"}
    referral = dict(service="rmc-a", date="2026-10-26", stage="REFERRED")
    cases = [
        # (agency, payload, base fields, changes, sensitivity, answer)
        ("school-a", "absence_report", absence, {}, None, "ACCEPTED"),
        ("school-a", "absence_report", absence,
         dict(lessons_expected=65535, lessons_absent=65535), None,
         "ACCEPTED"),
        ("school-a", "absence_report", absence,
         dict(lessons_expected=70000), None,
         "absence_report.lessons_expected 70000 is over the limit of "
         "65535"),
        ("school-a", "absence_report", absence,
         dict(lessons_expected=123456), None,
         "absence_report.lessons_expected is over the limit of 65535"),
        ("school-a", "absence_report", absence,
         dict(lessons_absent=31, kind=0, grade=11), None,
         "absence_report.lessons_absent 31 is more than "
         "absence_report.lessons_expected 30"),
        ("school-a", "absence_report", absence,
         dict(lessons_absent=123456), None,
         "absence_report.lessons_absent is more than "
         "absence_report.lessons_expected 30"),
        ("school-a", "absence_report", absence, dict(kind=0, grade=11),
         None, "absence_report.kind is required"),
        ("school-a", "absence_report", absence,
         dict(period_start="2025-10-22"), None, "ACCEPTED"),
        ("school-a", "absence_report", absence,
         dict(period_start="2025-10-21"), None,
         "absence_report.period_end is more than 366 days after "
         "absence_report.period_start"),
        ("school-a", "absence_report", absence, dict(period_start=""),
         None, "absence_report.period_start is required (YYYY-MM-DD)"),
        ("school-a", "readiness_assessment",
         dict(school="280017", grade=9, date="2026-10-26"),
         dict(grade=11, date=""), None,
         "readiness_assessment.grade 11 is not 7-10"),
        ("school-a", "school_leaving",
         dict(school="280017", grade=9, date="2026-10-26",
              kind="LEFT_SCHOOL"), dict(grade=99999), None,
         "school_leaving.grade 99999 is not 9 or 10"),
        ("college-a", "enrolment", dict(institution="fgu",
                                        start="2026-08-01"),
         dict(end_reason=4), None,
         "enrolment.end_reason 4 is not a known EnrolmentEndReason"),
        ("college-a", "dropout_risk", dict(institution="college-x"), {},
         None, "dropout_risk.date is required (YYYY-MM-DD)"),
        ("addiction-a", "addiction_referral", referral, dict(stage=4),
         None, "addiction_referral.stage 4 is not a known ReferralStage"),
        ("addiction-a", "addiction_referral", referral, {}, "PERSONAL",
         "sensitivity PERSONAL is not allowed for an addiction referral "
         "(SPECIAL_CATEGORY or ANONYMOUS)"),
        ("addiction-a", "addiction_referral", referral,
         dict(consent={"given": True, "expires": "never"}), None,
         "addiction_referral.consent.expires is not a valid date "
         "(YYYY-MM-DD)"),
        ("addiction-a", "addiction_referral", referral,
         dict(consent={"given": False, "scope": "s" * 300}), None,
         "addiction_referral.consent.scope is 300 bytes, over the limit "
         "of 256"),
        # Contact roles, row by row.
        ("youth-a", "contact_assignment", assignment, dict(role="guidance",
                                                           role_kind=2),
         None, "ACCEPTED"),
        ("youth-a", "contact_assignment", assignment, dict(role_kind=3),
         None, "ACCEPTED"),
        ("youth-a", "contact_assignment", assignment, dict(role="Contact"),
         None, not_a_role),
        ("youth-a", "contact_assignment", assignment,
         dict(role="contact "), None, not_a_role),
        ("youth-a", "contact_assignment", assignment,
         dict(role="mentor", role_kind=1), None,
         "contact_assignment.role contradicts "
         "contact_assignment.role_kind"),
        ("youth-a", "contact_assignment", assignment,
         dict(role="coach", role_kind=1), None,
         "contact_assignment.role contradicts "
         "contact_assignment.role_kind"),
        ("youth-a", "contact_assignment", assignment,
         dict(role="coach", role_kind=4), None,
         "contact_assignment.role_kind 4 is not a known ContactRole"),
        ("youth-a", "contact_assignment", assignment, dict(role_kind=-3),
         None, "contact_assignment.role_kind -3 is not a known "
         "ContactRole"),
        ("youth-a", "contact_assignment", assignment,
         dict(role_kind=-123456), None,
         "contact_assignment.role_kind is not a known ContactRole"),
        # The role is checked after the caseworker.
        ("youth-a", "contact_assignment", assignment,
         dict(caseworker="Cw Anna!", role="coach"), None,
         "contact_assignment.caseworker " + not_an_id),
        ("youth-a", "contact_assignment", assignment,
         dict(caseworker="a" * 63), None, "ACCEPTED"),
        ("youth-a", "contact_assignment", assignment,
         dict(caseworker="a" * 64), None,
         "contact_assignment.caseworker is 64 bytes, over the limit of 63 "
         "for an id"),
        ("youth-a", "desk_membership",
         {"desk": "duty-desk", "caseworker": "cw-anna",
          "from": "2026-10-01"}, dict(desk="Duty"), None,
         "desk_membership.desk " + not_an_id),
    ]
    # Ids: a CPR number with a real birth date standing alone makes no
    # id (29 February 1900 is none, of 2000 is one: §3 step 1).
    for cw, ok in (("010110-1234", False), ("cw-0101101234", False),
                   ("0101101234.desk", False), ("cw_0101101234", False),
                   ("cw-2902004234", False), ("cw-290200-4234", False),
                   ("cw0101101234", True), ("school-2024", True),
                   ("cw-2902001234", True), ("cw-01011012345", True)):
        cases.append(("youth-a", "contact_assignment", assignment,
                      dict(caseworker=cw), None,
                      "ACCEPTED" if ok else
                      "contact_assignment.caseworker " + not_an_id))
    try:
        wrong = []
        for agency, payload, base, changes, sensitivity, want in cases:
            if agency not in clients:
                clients[agency] = Client(hub, agency, hub.ingest)
            cpr = g.next()
            hub.cprs.add(cpr)
            env = event(agency, cpr, payload, sensitivity=sensitivity,
                        **dict(base, **changes))
            a = clients[agency].ask(bytes([1, 1]) + env.SerializeToString(),
                                    ACK)
            got = "ACCEPTED" if a.status == m.ACCEPTED else a.reason
            if a.status == m.REJECTED:
                assert (a.code, a.retryable, a.event_id, a.sequence) == \
                    (m.E_MALFORMED, False, env.event_id, 0), a
            if got != want:
                wrong.append((payload, changes, got))
        assert not wrong, "\n".join(map(str, wrong))
    finally:
        for c in clients.values():
            c.close()


def test_a_recorded_action_as_an_event(make_hub):
    """§4 Action: "the hub appends it to its log as an event of type
    CaseworkerAction (12) from agency hub"; "The event's id is the
    action's day (8 bytes, big-endian ms) and a keyed hash of those
    fields"; "an empty date is the day it arrives" (the hub's today);
    it appears in the timeline on its `date`."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    p = CprGen(12304).born("2004-02-11")
    hub.assign(p, "cw-anna")
    hub.send(ev_dropout(p, "2026-10-26"))
    hub.wait_applied()
    c = Client(hub, "cw-anna", hub.delivery)
    try:
        r = c.ask(bytes([1, 7]) + m.Query(
            request_id=1, kind=m.OPEN_ALERTS).SerializeToString(), RESULT)
        [alert] = r.alerts
        for rid, date in ((2, "2026-10-30"), (3, "")):
            r = c.ask(bytes([1, 9]) + m.Action(
                request_id=rid, alert_id=alert.alert_id, kind=2,
                how="a place at fgu", date=date).SerializeToString(), RESULT)
            assert (r.request_id, r.code) == (rid, m.OK), r
        r = c.ask(bytes([1, 7]) + m.Query(
            request_id=4, kind=m.TIMELINE, cpr=p).SerializeToString(),
            RESULT)
        actions = [(e.date, e.type, e.agency, e.event_id[:8], e.summary)
                   for e in r.timeline if e.type == 12]
        assert actions == [
            (day, 12, "hub", day_ms(day).to_bytes(8, "big"),
             "offer made by cw-anna: a place at fgu")
            for day in ("2026-10-30", "2026-11-02")], actions
    finally:
        c.close()


PASSWORD = "korrekt hest batteri"


def test_alerts_changed_counts_each_change_once(make_hub):
    """§4a ALERTS_CHANGED "moves by one when an alert is raised for its
    caseworker ...; when a reassignment ... moves an open alert into or
    out of that list; when one of the list's alerts is withdrawn ...;
    and when the caseworker's membership of the desk ends or begins ...,
    which the hub notices at the session's next frame, an ALERTS_CHANGED
    poll included"."""
    hub = rules_hub(make_hub, "2026-11-02T23:40:00", start=False)
    hub.keygen("web-1")
    hub.hubctl("register-gateway", "web-1")
    for cw in ("cw-anna", "cw-bob"):
        subprocess.run([binary("hubctl"), "--config", str(hub.conf),
                        "set-password", cw], input=PASSWORD + "\n",
                       capture_output=True, text=True, check=True)
    hub.start()
    m = schema()
    gw = Client(hub, "web-1", hub.delivery)
    rid = [0]

    def ask(kind, msg):
        rid[0] += 1
        msg.request_id = rid[0]
        r = gw.ask(bytes([1, kind]) + msg.SerializeToString(), RESULT)
        assert (r.request_id, r.code) == (rid[0], m.OK), r
        return r

    def log_in(cw):
        return ask(10, m.Login(caseworker=cw, password=PASSWORD)).session

    def version(session):
        return ask(7, m.Query(kind=m.ALERTS_CHANGED,
                              session=session)).alerts_version

    def rules(session):
        return sorted(a.rule for a in ask(7, m.Query(
            kind=m.OPEN_ALERTS, session=session)).alerts)

    try:
        anna, bob = log_in("cw-anna"), log_in("cw-bob")
        g = CprGen(12305)
        adult, pupil, nobody = (g.born("2004-02-02"), g.born("2011-03-03"),
                                g.born("2004-04-04"))
        hub.send(ev_assignment(adult, "cw-bob", "2026-01-01"),
                 ev_assignment(pupil, "cw-anna", "2026-01-01"))
        hub.send(ev_dropout(adult, "2026-10-27"))
        hub.wait_applied()
        assert (version(anna), version(bob)) == (0, 1)
        # Moved into anna's list (and out of bob's) by a reassignment.
        hub.send(ev_assignment(adult, "cw-anna", "2026-11-02"))
        hub.wait_applied()
        assert (version(anna), version(bob), rules(anna)) == \
            (1, 2, ["dropout"])
        # Raised, then withdrawn by a correction: the withdrawal is one
        # move, the `withdrawn` notice raised for her another.
        orig = ev_readiness(pupil, "2026-10-30", 9)
        hub.send(orig)
        hub.wait_applied()
        assert version(anna) == 2
        fixed = ev_readiness(pupil, "2026-10-30", 9, ready=True)
        fixed.supersedes = orig.event_id
        hub.send(fixed)
        hub.wait_applied()
        assert (version(anna), rules(anna)) == (4, ["dropout", "withdrawn"])
        # A desk alert, and bob on the desk from tomorrow for one day.
        hub.send(ev_dropout(nobody, "2026-10-27"))
        tomorrow = ev_desk("cw-bob", "2026-11-03")
        tomorrow.desk_membership.to = "2026-11-03"
        hub.send(tomorrow)
        hub.wait_applied()
        assert (version(bob), rules(bob)) == (2, [])
        # Midnight (UTC, the hub's day) within the session's idle time:
        # the membership begins, the desk's alert joins bob's list.
        hub.set_clock("2026-11-03T00:05:00")
        hub.settle()
        assert version(bob) == 3
        assert (version(bob), rules(bob)) == (3, ["dropout"])
        # A fresh session late that day, then past its last day.
        hub.set_clock("2026-11-03T23:50:00")
        hub.settle()
        bob = log_in("cw-bob")
        assert (version(bob), rules(bob)) == (0, ["dropout"])
        hub.set_clock("2026-11-04T00:05:00")
        hub.settle()
        assert version(bob) == 1
        assert (version(bob), rules(bob)) == (1, [])
    finally:
        gw.close()


def test_a_window_over_256_is_taken_as_256(make_hub):
    """§4 step 2: "`Hello.window` is the most unacknowledged alerts you
    want in flight (0 = 32; more than 256 is taken as 256)"; step 3:
    "each acknowledgement makes room for the next". With 260 alerts open,
    a Hello with window 1000 gets 256 pushed and then nothing until two
    are acknowledged: then two more, the last of the 260."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(12306)
    people = [g.born("2004-02-11") for _ in range(260)]
    hub.cprs.update(people)
    youth = Client(hub, "youth-a", hub.ingest)
    college = Client(hub, "college-a", hub.ingest)
    try:
        for sender, envs in ((youth, [ev_assignment(p, "cw-anna",
                                                    "2026-01-01")
                                      for p in people]),
                             (college, [ev_dropout(p, "2026-10-26")
                                        for p in people])):
            for env in envs:
                sender.raw(bytes([1, 1]) + env.SerializeToString())
            acks = [sender.want(ACK).status for _ in envs]
            assert acks == [m.ACCEPTED] * len(envs), set(acks)
    finally:
        youth.close()
        college.close()
    assert hub.wait_applied()["alerts"] == 260
    c = Client(hub, "cw-anna", hub.delivery)
    try:
        w = c.ask(bytes([1, 3]) + m.Hello(window=1000).SerializeToString(),
                  WELCOME)
        assert (w.code, w.open_alerts) == (m.OK, 260), w
        pushed = [c.want(ALERT) for _ in range(256)]
        assert c.recv(1.0) is None, "more than 256 in flight"
        for a in pushed[:2]:
            c.raw(bytes([1, ALERT_ACK]) + m.AlertAck(
                alert_id=a.alert_id).SerializeToString())
        more = [c.want(ALERT), c.want(ALERT)]
        assert c.recv(1.0) is None, "more than 256 in flight"
        assert len({a.alert_id for a in pushed + more}) == 258
    finally:
        c.close()
