"""51 protocol input: what docs/PROTOCOL.md promises about the frames and
envelopes a vendor sends, checked against a real hubd over real CURVE
sockets, with Python's protobuf as the other side.

- Alert and timeline text the hub shortens is still valid UTF-8, so a
  proto3 decoder (Python's, here) takes it: push delivery, OPEN_ALERTS and
  TIMELINE.
- Every string field of the Envelope and of every payload: at most 256
  bytes and valid UTF-8, else E_MALFORMED with the field's path in the
  reason. Every date field is a real date.
- The order of the checks, an empty agency (E_DENIED), E_CONFLICT without
  the other agency's sequence, a resend after valid_until (DUPLICATE).
- Frame sizes: up to 65,536 bytes processed; up to 1 MiB answered
  E_TOO_LARGE with the event_id; above that the connection is closed and
  the hub lives on.
- A routing id already in use: the connection is ignored.
- Fields of a newer sender are ignored; an event type v1 does not know is
  refused.
- The key files' lines, as documented."""

import json
import re
import time

import pytest
import zmq
from zmq.utils.monitor import recv_monitor_message

import hubtest
from hubtest import (ACCEPTED, DUPLICATE, REJECTED, E_CONFLICT, E_DENIED,
                     E_MALFORMED, E_STALE, E_TOO_LARGE, E_VERSION, CprGen,
                     IngestClient, SLOW, event, envelope, frame, pb,
                     read_key_file, rules_hub, wait_for)

FRAME_HELLO, FRAME_ALERT, FRAME_WELCOME, FRAME_QUERY, FRAME_RESULT = \
    3, 4, 6, 7, 8
MAX_FRAME = 65536
MAX_MESSAGE = 1024 * 1024

ALL_TYPES = ("absence,dropout,dropout_risk,enrolment,addiction,readiness,"
             "assignment,benefit,missed_activation,school_leaving,desk")

# One valid event of each payload, every optional string set, so each
# string field can be broken on its own.
SAMPLES = {
    "absence_report": dict(school="280017", period_start="2024-05-06",
                           period_end="2024-05-10", lessons_absent=1,
                           lessons_expected=30, kind="UNLAWFUL", grade=8),
    "dropout": dict(institution="eud-vest", programme="smed",
                    date="2024-05-02", reason="r1"),
    "dropout_risk": dict(institution="eud-vest", programme="smed",
                         date="2024-05-02", reason="r1"),
    "enrolment": dict(institution="gym-a", programme="stx",
                      start="2024-08-12", end="2024-12-20",
                      end_reason="COMPLETED"),
    "addiction_referral": dict(service="rmc", date="2024-05-02",
                               stage="REFERRED",
                               consent={"given": True, "scope": "referral",
                                        "expires": "2025-05-01"}),
    "readiness_assessment": dict(school="280017", grade=8,
                                 date="2024-01-15", ready=True),
    "contact_assignment": {"caseworker": "cw-anna", "role": "mentor",
                           "from": "2024-01-01", "to": "2024-12-31"},
    "benefit_status": dict(jobcenter="jc-a", benefit="CASH_BENEFIT",
                           start="2024-02-01", stop="2024-03-01",
                           reason="job"),
    "missed_activation": dict(jobcenter="jc-a", date="2024-02-05",
                              activity="a7"),
    "school_leaving": dict(school="280017", grade=9, date="2024-06-21",
                           kind="COMPLETED_GRADE"),
    "desk_membership": {"desk": "duty-desk", "caseworker": "cw-anna",
                        "from": "2024-01-01", "to": "2024-12-31"},
}

# PROTOCOL.md §3 "Date fields".
DATE_FIELDS = {
    "absence_report.period_start", "absence_report.period_end",
    "dropout.date", "dropout_risk.date", "enrolment.start", "enrolment.end",
    "addiction_referral.date", "addiction_referral.consent.expires",
    "readiness_assessment.date", "contact_assignment.from",
    "contact_assignment.to", "benefit_status.start", "benefit_status.stop",
    "missed_activation.date", "school_leaving.date", "desk_membership.from",
    "desk_membership.to",
}
# PROTOCOL.md §3: ids the hub keeps as ids (at most 63 bytes).
ID_FIELDS = {"contact_assignment.caseworker", "desk_membership.desk",
             "desk_membership.caseworker"}


def all_hub(make_hub):
    return make_hub(agencies={"all-a": ALL_TYPES, "school-b": "absence"})


def sample(hub, payload, cpr, **kw):
    env = event("all-a", cpr, payload, **dict(SAMPLES[payload], **kw))
    if env.cpr:
        hub.cprs.add(env.cpr)
    return env


def string_paths(msg, prefix=""):
    """Every string field set in msg, by dotted path, found from the
    descriptors (so a field added to the schema is tried too)."""
    for f in msg.DESCRIPTOR.fields:
        oneof = f.containing_oneof
        if oneof is not None and msg.WhichOneof(oneof.name) != f.name:
            continue
        path = f"{prefix}.{f.name}" if prefix else f.name
        if f.type == f.TYPE_STRING:
            yield path
        elif f.type == f.TYPE_MESSAGE and msg.HasField(f.name):
            yield from string_paths(getattr(msg, f.name), path)


def set_path(msg, path, value):
    *parents, name = path.split(".")
    for p in parents:
        msg = getattr(msg, p)
    setattr(msg, name, value)


def with_raw(env, path, raw):
    """The frame of env with the string at path replaced by raw bytes
    (which Python's protobuf would refuse to put there itself)."""
    marker = "\x7f" * len(raw)
    set_path(env, path, marker)
    data = frame(env)
    assert data.count(marker.encode()) == 1
    return data.replace(marker.encode(), raw)


def expect(ack, status, code=0, event_id=None, reason=None):
    assert (ack.status, ack.code) == (status, code), ack
    if event_id is not None:
        assert ack.event_id == event_id, ack
    if reason is not None:
        assert ack.reason == reason, ack
    if status == REJECTED:
        assert ack.sequence == 0, ack
        assert not ack.retryable, ack


# ---------------------------------------------------------------- item 9


class DeliveryClient:
    """A caseworker's DEALER on the delivery endpoint (CURVE)."""

    def __init__(self, hub, caseworker):
        self.ctx = zmq.Context()
        self.sock = hubtest.curve_dealer(self.ctx, hub, caseworker,
                                         hub.delivery)

    def send(self, kind, msg):
        self.sock.send(bytes([1, kind]) + msg.SerializeToString())

    def recv(self, timeout=10):
        """(kind, raw protobuf bytes) of the next frame."""
        assert self.sock.poll(int(timeout * SLOW * 1000), zmq.POLLIN), \
            "nothing from the hub"
        data = self.sock.recv()
        assert data[0] == 1, data[:2]
        return data[1], data[2:]

    def close(self):
        self.sock.close(0)
        self.ctx.destroy(linger=0)


def cut_cleanly(text, full):
    """text is a proper prefix of full, cut at a character boundary (the
    strings came through Python's protobuf, so they are valid UTF-8)."""
    assert full.startswith(text) and len(text) < len(full), (text, full)


def test_shortened_alert_text_decodes_everywhere(make_hub):
    """A programme name long enough to overflow the alert title and the
    timeline summary, of 3-byte characters shifted by 0, 1 and 2 bytes:
    wherever the hub cuts, at least two of the three would be cut inside
    a character. Every Alert, Result and TimelineEntry must still decode
    in a proto3 decoder that checks UTF-8."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    m = pb()
    cprs = [CprGen(5101).born("2004-05-05"), CprGen(5102).born("2005-06-06"),
            CprGen(5103).born("2006-07-07")]
    institution = "K\u00f8ge Handelsskole \u00c6r\u00f8"
    fulls = {}
    for shift, cpr in enumerate(cprs):
        hub.assign(cpr, "cw-anna")
        programme = "x" * shift + "\u00d8" + "\u20ac" * 84     # 254-256 bytes
        assert len(programme.encode()) <= 256
        hub.send(hubtest.ev_dropout(cpr, "2026-09-07", programme=programme,
                                    institution=institution,
                                    reason="s\u00e6rlig \u00e5rsag"))
        fulls[cpr] = (f"Dropped out of {programme} at {institution}",
                      f"dropped out of {programme} at {institution}")
    assert hub.wait_applied()["alerts"] == 3

    c = DeliveryClient(hub, "cw-anna")
    try:
        # Push delivery: Hello, Welcome, then the alerts.
        c.send(FRAME_HELLO, m.Hello(client="test_51", window=8))
        kind, body = c.recv()
        assert kind == FRAME_WELCOME
        assert m.Welcome.FromString(body).open_alerts == 3
        pushed = {}
        for _ in range(3):
            kind, body = c.recv()
            assert kind == FRAME_ALERT
            alert = m.Alert.FromString(body)      # raises on bad UTF-8
            pushed[alert.cpr] = alert
        assert set(pushed) == set(cprs)
        for cpr, alert in pushed.items():
            cut_cleanly(alert.title, fulls[cpr][0])
            assert institution in alert.explanation
            assert "s\u00e6rlig \u00e5rsag" in alert.explanation

        # The same alerts by query.
        c.send(FRAME_QUERY, m.Query(request_id=7, kind=m.OPEN_ALERTS))
        kind, body = c.recv()
        assert kind == FRAME_RESULT
        result = m.Result.FromString(body)
        assert (result.request_id, result.code) == (7, 0)
        assert sorted(a.cpr for a in result.alerts) == sorted(cprs)
        for alert in result.alerts:
            assert alert.title == pushed[alert.cpr].title
            assert alert.explanation == pushed[alert.cpr].explanation

        # Each person's timeline: the event's summary and the alert's.
        for n, cpr in enumerate(cprs):
            c.send(FRAME_QUERY, m.Query(request_id=100 + n, kind=m.TIMELINE,
                                        cpr=cpr))
            kind, body = c.recv()
            assert kind == FRAME_RESULT
            result = m.Result.FromString(body)
            assert (result.request_id, result.code) == (100 + n, 0)
            summaries = {e.is_alert: e.summary for e in result.timeline
                         if e.type == m.DROPOUT or e.rule == "dropout"}
            cut_cleanly(summaries[False], fulls[cpr][1])
            assert pushed[cpr].title.startswith(summaries[True])
    finally:
        c.close()


# ---------------------------------------------------------- items 10, 13


def test_invalid_utf8_refused_in_every_string(make_hub):
    """Windows-1252 text (0xD8 is Ø there) in any string field of any
    payload, or of the envelope: E_MALFORMED naming the field."""
    hub = all_hub(make_hub)
    cpr = CprGen(5104).next()
    bad = b"\xd8rhus"                       # "Ørhus" in Windows-1252
    tried = []
    with IngestClient(hub, "all-a") as c:
        for payload in SAMPLES:
            for path in string_paths(sample(hub, payload, cpr)):
                env = sample(hub, payload, cpr)
                ack = c.ack_for(with_raw(env, path, bad))
                if path == "agency":
                    # Compared with the connection's identity first.
                    expect(ack, REJECTED, E_DENIED, env.event_id)
                else:
                    expect(ack, REJECTED, E_MALFORMED, env.event_id,
                           f"{path} is not valid UTF-8")
                tried.append(path)
        # The example of the issue, and a cut 2-byte character.
        env = sample(hub, "dropout", cpr)
        expect(c.ack_for(with_raw(env, "dropout.programme", b"\xd8konomi")),
               REJECTED, E_MALFORMED, env.event_id,
               "dropout.programme is not valid UTF-8")
        env = sample(hub, "addiction_referral", cpr)
        expect(c.ack_for(with_raw(env, "addiction_referral.consent.scope",
                                  b"ref\xc3")),
               REJECTED, E_MALFORMED, env.event_id,
               "addiction_referral.consent.scope is not valid UTF-8")
        # Proper UTF-8 Danish is welcome.
        ok = sample(hub, "dropout", cpr, programme="\u00f8konomi",
                    institution="K\u00f8ge \u00c6r\u00f8", reason="\u00e5")
        expect(c.ack_for(frame(ok)), ACCEPTED)
    # agency and cpr of 11 envelopes (desk memberships carry no cpr, but
    # the field is there) and the 38 strings of the payloads.
    assert len(tried) == 60, tried
    assert hub.stats()["log_events"] == 1


def test_nul_byte_refused_in_every_string(make_hub):
    """A NUL byte is valid UTF-8 but ends a C string: in any string field
    of any payload, or of the envelope, it is refused naming the field,
    and the bytes after it count towards the 256-byte limit."""
    hub = all_hub(make_hub)
    cpr = CprGen(5112).next()
    tried = []
    with IngestClient(hub, "all-a") as c:
        for payload in SAMPLES:
            for path in string_paths(sample(hub, payload, cpr)):
                env = sample(hub, payload, cpr)
                ack = c.ack_for(with_raw(env, path, b"ab\x00\xff"))
                if path == "agency":
                    # Not the connection's identity, as sent.
                    expect(ack, REJECTED, E_DENIED, env.event_id)
                else:
                    expect(ack, REJECTED, E_MALFORMED, env.event_id,
                           f"{path} contains a NUL byte")
                tried.append(path)
        # The agency's own id and a NUL: still not the identity.
        env = sample(hub, "dropout", cpr)
        expect(c.ack_for(with_raw(env, "agency", b"all-a\x00")), REJECTED,
               E_DENIED, env.event_id,
               "envelope agency does not match the connection's key")
        # 300 bytes after a short text and a NUL: over the limit.
        env = sample(hub, "dropout", cpr)
        expect(c.ack_for(with_raw(env, "dropout.programme",
                                  b"smed\x00" + b"x" * 300)),
               REJECTED, E_MALFORMED, env.event_id,
               "dropout.programme is 305 bytes, over the limit of 256")
        env = sample(hub, "addiction_referral", cpr)
        expect(c.ack_for(with_raw(env, "addiction_referral.consent.scope",
                                  b"referral\x00")),
               REJECTED, E_MALFORMED, env.event_id,
               "addiction_referral.consent.scope contains a NUL byte")
    assert len(tried) == 60, tried
    assert hub.stats()["log_events"] == 0


def test_text_limit_holds_for_every_string(make_hub):
    """257 bytes in any string field: E_MALFORMED naming the field; 256
    bytes of two-byte characters are accepted in every free-text field
    and the rules take the event in their stride."""
    hub = all_hub(make_hub)
    cprs = iter(CprGen(5105).take(200))
    over = "\u00f8" * 128 + "x"
    at_limit = "\u00f8" * 128
    accepted = 0
    with IngestClient(hub, "all-a") as c:
        for payload in SAMPLES:
            for path in list(string_paths(sample(hub, payload, "0101900000"))):
                env = sample(hub, payload, next(cprs))
                set_path(env, path, over)
                ack = c.ack_for(frame(env))
                if path == "agency":
                    expect(ack, REJECTED, E_DENIED, env.event_id)
                    continue
                expect(ack, REJECTED, E_MALFORMED, env.event_id,
                       f"{path} is 257 bytes, over the limit of 256")
                # A role is one of three words: 256 bytes of it is refused.
                if path in DATE_FIELDS | ID_FIELDS or path in (
                        "cpr", "contact_assignment.role"):
                    continue
                env = sample(hub, payload, next(cprs))
                set_path(env, path, at_limit)
                expect(c.ack_for(frame(env)), ACCEPTED)
                accepted += 1
        # Ids are kept as ids: 63 bytes at most.
        for payload, path in (("contact_assignment", "caseworker"),
                              ("desk_membership", "desk"),
                              ("desk_membership", "caseworker")):
            # A contact (not a mentor) is what the hub keeps.
            role = {"role": "contact"} if payload == "contact_assignment" \
                else {}
            env = sample(hub, payload, next(cprs), **{path: "c" * 64},
                         **role)
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id, f"{payload}.{path} is 64 bytes, over the "
                   "limit of 63 for an id")
            env = sample(hub, payload, next(cprs), **{path: "c" * 63},
                         **role)
            expect(c.ack_for(frame(env)), ACCEPTED)
            accepted += 1
    # The 38 payload strings but dates, ids and the role (one of three
    # words), and the three 63-byte ids.
    assert accepted == 38 - len(DATE_FIELDS) - len(ID_FIELDS) - 1 + 3
    st = hub.wait_applied()
    assert st["log_events"] == accepted


def test_every_date_field_is_a_date(make_hub):
    hub = all_hub(make_hub)
    cpr = CprGen(5106).next()
    seen = set()
    with IngestClient(hub, "all-a") as c:
        for payload in SAMPLES:
            for path in string_paths(sample(hub, payload, cpr)):
                if path not in DATE_FIELDS:
                    continue
                seen.add(path)
                for text in ("2026-02-30", "never", "2026-2-3",
                             "2026-02-03T10:00"):
                    env = sample(hub, payload, cpr)
                    set_path(env, path, text)
                    expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                           env.event_id,
                           f"{path} is not a valid date (YYYY-MM-DD)")
        # Consent.expires: a date, or empty for "until withdrawn".
        env = sample(hub, "addiction_referral", cpr,
                     consent={"given": True, "scope": "referral",
                              "expires": ""})
        expect(c.ack_for(frame(env)), ACCEPTED)
        env = sample(hub, "addiction_referral", cpr,
                     consent={"given": True, "scope": "referral",
                              "expires": "2026-02-28"})
        expect(c.ack_for(frame(env)), ACCEPTED)
    assert seen == DATE_FIELDS


ID_RULE = ("(1-63 of a-z 0-9 . _ -, starting with a letter or digit, "
           "holding no CPR number)")

# PROTOCOL.md §3 "Payload rules": (payload, fields changed, reason).
REFUSED = [
    ("enrolment", dict(end="2024-08-11"),
     "enrolment.end is before enrolment.start"),
    ("enrolment", dict(end="", end_reason="COMPLETED"),
     "enrolment.end_reason is set without enrolment.end"),
    ("enrolment", dict(end_reason=9),
     "enrolment.end_reason 9 is not a known EnrolmentEndReason"),
    ("enrolment", dict(institution=""), "enrolment.institution is required"),
    ("enrolment", dict(start=""),
     "enrolment.start is required (YYYY-MM-DD)"),
    ("addiction_referral", dict(stage=0),
     "addiction_referral.stage is required"),
    ("addiction_referral", dict(stage=7),
     "addiction_referral.stage 7 is not a known ReferralStage"),
    ("addiction_referral", dict(service=""),
     "addiction_referral.service is required"),
    ("absence_report", dict(kind=0), "absence_report.kind is required"),
    ("absence_report", dict(kind=5),
     "absence_report.kind 5 is not a known AbsenceKind"),
    ("absence_report", dict(school=""), "absence_report.school is required"),
    ("absence_report", dict(period_end="2024-05-05"),
     "absence_report.period_end is before absence_report.period_start"),
    ("absence_report", dict(period_start="2023-05-09"),
     "absence_report.period_end is more than 366 days after "
     "absence_report.period_start"),
    ("absence_report", dict(lessons_expected=0, lessons_absent=0),
     "absence_report.lessons_expected must be above 0"),
    # Six digits or more are not repeated: a CPR number without its
    # leading zero, put in the wrong column, would be logged.
    ("absence_report", dict(lessons_expected=101904217, lessons_absent=60000),
     "absence_report.lessons_expected is over the limit of 65535"),
    ("absence_report", dict(lessons_expected=100000, lessons_absent=60000),
     "absence_report.lessons_expected is over the limit of 65535"),
    ("absence_report", dict(lessons_expected=99999, lessons_absent=0),
     "absence_report.lessons_expected 99999 is over the limit of 65535"),
    ("absence_report", dict(lessons_absent=101904217),
     "absence_report.lessons_absent is more than "
     "absence_report.lessons_expected 30"),
    ("absence_report", dict(grade=101904217),
     "absence_report.grade is not 0-10"),
    ("absence_report", dict(lessons_expected=65536, lessons_absent=70000),
     "absence_report.lessons_expected 65536 is over the limit of 65535"),
    ("absence_report", dict(lessons_absent=31),
     "absence_report.lessons_absent 31 is more than "
     "absence_report.lessons_expected 30"),
    ("absence_report", dict(grade=11), "absence_report.grade 11 is not 0-10"),
    ("dropout", dict(institution=""), "dropout.institution is required"),
    ("dropout", dict(date=""), "dropout.date is required (YYYY-MM-DD)"),
    ("dropout_risk", dict(institution=""),
     "dropout_risk.institution is required"),
    ("readiness_assessment", dict(school=""),
     "readiness_assessment.school is required"),
    ("readiness_assessment", dict(grade=6),
     "readiness_assessment.grade 6 is not 7-10"),
    ("readiness_assessment", dict(grade=101904217),
     "readiness_assessment.grade is not 7-10"),
    ("readiness_assessment", dict(date=""),
     "readiness_assessment.date is required (YYYY-MM-DD)"),
    ("contact_assignment", dict(caseworker="Cw Anna!"),
     f"contact_assignment.caseworker is not an id {ID_RULE}"),
    ("contact_assignment", dict(caseworker="CW-ANNA"),
     f"contact_assignment.caseworker is not an id {ID_RULE}"),
    ("contact_assignment", dict(caseworker="-anna"),
     f"contact_assignment.caseworker is not an id {ID_RULE}"),
    ("contact_assignment", dict(caseworker=""),
     "contact_assignment.caseworker is required"),
    ("contact_assignment", dict(caseworker="a" * 64),
     "contact_assignment.caseworker is 64 bytes, over the limit of 63 for "
     "an id"),
    ("contact_assignment", {"from": ""},
     "contact_assignment.from is required (YYYY-MM-DD)"),
    ("contact_assignment", {"to": "2023-12-31"},
     "contact_assignment.to is before contact_assignment.from"),
    ("benefit_status", dict(jobcenter=""),
     "benefit_status.jobcenter is required"),
    ("benefit_status", dict(benefit=0), "benefit_status.benefit is required"),
    ("benefit_status", dict(benefit=4),
     "benefit_status.benefit 4 is not a known BenefitKind"),
    ("benefit_status", dict(benefit=101904217),
     "benefit_status.benefit is not a known BenefitKind"),
    ("benefit_status", dict(stop="2024-01-31"),
     "benefit_status.stop is before benefit_status.start"),
    ("missed_activation", dict(jobcenter=""),
     "missed_activation.jobcenter is required"),
    ("school_leaving", dict(school=""), "school_leaving.school is required"),
    ("school_leaving", dict(grade=8), "school_leaving.grade 8 is not 9 or 10"),
    ("school_leaving", dict(grade=101904217),
     "school_leaving.grade is not 9 or 10"),
    ("school_leaving", dict(kind=0), "school_leaving.kind is required"),
    ("school_leaving", dict(kind=3),
     "school_leaving.kind 3 is not a known LeavingKind"),
    ("desk_membership", dict(desk="Duty Desk"),
     f"desk_membership.desk is not an id {ID_RULE}"),
    ("desk_membership", dict(caseworker="anna@desk"),
     f"desk_membership.caseworker is not an id {ID_RULE}"),
    ("desk_membership", {"to": "2023-12-31"},
     "desk_membership.to is before desk_membership.from"),
]


def set_fields(env, payload, fields):
    body = getattr(env, payload)
    for name, value in fields.items():
        if isinstance(value, str) and hasattr(pb(), value):
            value = getattr(pb(), value)
        setattr(body, name, value)


@pytest.mark.parametrize("payload,fields,reason", REFUSED,
                         ids=[r for _, _, r in REFUSED])
def test_payload_rules_refused_with_reason(make_hub, payload, fields, reason):
    """Each payload rule: E_MALFORMED, the exact reason naming the field
    by its path, nothing stored."""
    hub = all_hub(make_hub)
    cpr = CprGen(5120).next()
    env = sample(hub, payload, cpr)
    if payload == "absence_report":
        env.absence_report.lessons_expected = 30
    set_fields(env, payload, fields)
    with IngestClient(hub, "all-a") as c:
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, env.event_id,
               reason)
    assert hub.stats()["log_events"] == 0


def test_an_id_holding_a_cpr_is_refused_and_not_logged(make_hub):
    """PROTOCOL.md §3: an id holds no CPR number, alone or after a dash
    or dot: a CPR typed where the caseworker or desk belongs is refused
    with the id rule, and the CPR reaches neither the store nor hubd's
    log (the teardown sweeps both)."""
    hub = all_hub(make_hub)
    gen = CprGen(5125)
    subject, staff = gen.next(), gen.next()
    hub.cprs.add(staff)
    with IngestClient(hub, "all-a") as c:
        for field, value in (("caseworker", staff),
                             ("caseworker", hubtest.dashed(staff)),
                             ("caseworker", f"cw-{staff}"),
                             ("desk", f"{hubtest.dashed(staff)}.desk")):
            payload = "contact_assignment" if field == "caseworker" \
                else "desk_membership"
            env = sample(hub, payload, subject)
            set_fields(env, payload, {field: value})
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id,
                   f"{payload}.{field} is not an id {ID_RULE}")
    assert hub.stats()["log_events"] == 0
    log = hub.log_text()
    assert staff not in log and hubtest.dashed(staff) not in log, log


def test_dates_from_1900_to_2199(make_hub):
    """PROTOCOL.md §3 "Date fields": a real date in the years 1900 to
    2199; a day outside them is refused like one that does not exist."""
    hub = all_hub(make_hub)
    cpr = CprGen(5115).next()
    with IngestClient(hub, "all-a") as c:
        for date in ("1900-01-01", "2199-12-31"):
            env = sample(hub, "dropout", cpr)
            env.dropout.date = date
            expect(c.ack_for(frame(env)), ACCEPTED)
        for date in ("1899-12-31", "2200-01-01", "0001-01-01"):
            env = sample(hub, "dropout", cpr)
            env.dropout.date = date
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id,
                   "dropout.date is not a valid date (YYYY-MM-DD)")


def test_payload_edges_accepted(make_hub):
    """What the rules still let through: an enrolment ending on its first
    day, with or without a reason; a reason of each kind; every referral
    stage; a caseworker id no one has registered (yet)."""
    hub = all_hub(make_hub)
    cprs = iter(CprGen(5121).take(20))
    m = pb()
    envs = [sample(hub, "enrolment", next(cprs), end="2024-08-12",
                   end_reason=m.DROPPED_OUT),
            sample(hub, "enrolment", next(cprs), end="2024-12-20",
                   end_reason=0),
            sample(hub, "enrolment", next(cprs), end="", end_reason=0),
            sample(hub, "enrolment", next(cprs), end_reason=m.TRANSFERRED),
            sample(hub, "contact_assignment", next(cprs),
                   caseworker="nobody", role="contact"),
            sample(hub, "contact_assignment", next(cprs),
                   caseworker="9.cw_x-y", role="contact")]
    for stage in (m.REFERRED, m.TREATMENT_STARTED, m.TREATMENT_ENDED):
        envs.append(sample(hub, "addiction_referral", next(cprs),
                           stage=stage))
    # The most lessons a report may count.
    envs.append(sample(hub, "absence_report", next(cprs),
                       lessons_expected=65535, lessons_absent=65535))
    # sent_at is the sender's own record: not checked, any value.
    for sent_at in (0, -1, 2 ** 62):
        envs.append(sample(hub, "dropout", next(cprs)))
        envs[-1].sent_at = sent_at
    with IngestClient(hub, "all-a") as c:
        for env in envs:
            expect(c.ack_for(frame(env)), ACCEPTED, event_id=env.event_id)
    assert hub.wait_applied()["log_events"] == len(envs)


def test_sensitivity_before_cpr(make_hub):
    """§3 validation order: the sensitivity the type allows is checked
    before the cpr that sensitivity implies."""
    hub = all_hub(make_hub)
    cpr = CprGen(5122).next()
    m = pb()
    cases = [
        ("readiness_assessment", m.ORGANISATIONAL, cpr,
         "sensitivity ORGANISATIONAL is only for desk memberships"),
        ("readiness_assessment", m.ANONYMOUS, cpr,
         "sensitivity ANONYMOUS is only for addiction referrals"),
        ("desk_membership", m.PERSONAL, "",
         "sensitivity of a desk membership must be ORGANISATIONAL"),
        ("addiction_referral", m.PERSONAL, cpr,
         "sensitivity PERSONAL is not allowed for an addiction referral "
         "(SPECIAL_CATEGORY or ANONYMOUS)"),
        ("dropout", 0, cpr, "sensitivity is required"),
        ("dropout", 9, cpr, "sensitivity 9 is not a known Sensitivity"),
        ("desk_membership", m.ORGANISATIONAL, cpr,
         "cpr must be empty in an ORGANISATIONAL event"),
        ("addiction_referral", m.ANONYMOUS, cpr,
         "cpr must be empty in an ANONYMOUS event"),
        ("dropout", m.SPECIAL_CATEGORY, "",
         "cpr must be 10 digits with a valid date"),
    ]
    with IngestClient(hub, "all-a") as c:
        for payload, sensitivity, with_cpr, reason in cases:
            env = sample(hub, payload, cpr)
            env.sensitivity = sensitivity
            env.cpr = with_cpr
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id, reason)
        # SPECIAL_CATEGORY on another type is taken as it is.
        env = sample(hub, "absence_report", cpr)
        env.sensitivity = m.SPECIAL_CATEGORY
        expect(c.ack_for(frame(env)), ACCEPTED)
    assert hub.wait_applied()["log_events"] == 1


# ---------------------------------------------------------- items 15, 16


def test_resend_after_valid_until_is_duplicate(make_hub):
    """valid_until is judged by the hub's system clock at receipt; a
    resend of an event already stored is DUPLICATE with its sequence,
    however late, and never a conflict with itself."""
    hub = all_hub(make_hub)
    cprs = CprGen(5107).take(3)
    hub.cprs.update(cprs)
    soon = int(time.time() * 1000) + 1500
    env = envelope("all-a", cprs[0], salt="valid-1", valid_until=soon)
    late = envelope("all-a", cprs[1], salt="valid-2", valid_until=soon)
    with IngestClient(hub, "all-a") as c:
        first = c.ack_for(frame(env))
        expect(first, ACCEPTED, event_id=env.event_id)
        wait_for(lambda: time.time() * 1000 > soon + 50, 5, "valid_until")
        again = c.ack_for(frame(env))
        expect(again, DUPLICATE, event_id=env.event_id)
        assert again.sequence == first.sequence
        # An event never stored: now stale.
        expect(c.ack_for(frame(late)), REJECTED, E_STALE, late.event_id)
        # A stored event's resend wins over any later check: a resend
        # whose content fails today's rules is still that event.
        env.absence_report.school = ""
        again = c.ack_for(frame(env))
        expect(again, DUPLICATE, event_id=env.event_id)
        assert again.sequence == first.sequence
    # Another agency's stale event with that id: a conflict, no sequence.
    with IngestClient(hub, "school-b") as b:
        env.agency = "school-b"
        env.absence_report.school = "280017"
        expect(b.ack_for(frame(env)), REJECTED, E_CONFLICT, env.event_id)
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == (1, 1)


def test_resend_in_the_same_batch_is_duplicate(make_hub):
    """The id alone decides, also when the resend arrives right behind
    the first frame (one batch): a resend whose valid_until has passed,
    whose content fails or whose type the agency may not send is acked
    DUPLICATE with the first one's sequence, as it is a moment later."""
    hub = all_hub(make_hub)
    cprs = CprGen(5118).take(3)
    hub.cprs.update(cprs)
    m = pb()
    with IngestClient(hub, "school-b") as c:
        for n, cpr in enumerate(cprs):
            env = envelope("school-b", cpr, salt=f"batch-{n}")
            again = m.Envelope()
            again.CopyFrom(env)
            if n == 0:
                again.valid_until = 1000
            elif n == 1:
                again.absence_report.school = ""
            else:
                again.type = m.DROPOUT
                again.dropout.institution = "eud-vest"
                again.dropout.date = "2024-05-02"
            c.sock.send(frame(env))
            c.sock.send(frame(again))
            first, second = c.recv_ack(10), c.recv_ack(10)
            expect(first, ACCEPTED, event_id=env.event_id)
            expect(second, DUPLICATE, event_id=env.event_id)
            assert second.sequence == first.sequence == n + 1
    st = hub.stats()
    assert (st["log_events"], st["event_ids"]) == (3, 3)


def test_conflict_ack_carries_no_sequence(make_hub):
    hub = all_hub(make_hub)
    cprs = CprGen(5108).take(4)
    hub.cprs.update(cprs)
    with IngestClient(hub, "all-a") as a:
        for n in range(3):      # the other agency's event is not seq 1
            expect(a.ack_for(frame(envelope("all-a", cprs[n],
                                            salt=f"c{n}"))), ACCEPTED)
        env = envelope("all-a", cprs[3], salt="conflict")
        ack = a.ack_for(frame(env))
        expect(ack, ACCEPTED)
        assert ack.sequence == 4
    with IngestClient(hub, "school-b") as b:
        env.agency = "school-b"
        ack = b.ack_for(frame(env))
        # Not 4: that is the other agency's event (expect checks 0).
        expect(ack, REJECTED, E_CONFLICT, env.event_id,
               "event id already used by another agency")


def test_validation_order(make_hub):
    """PROTOCOL.md §3 "Validation order": an envelope wrong in several
    ways gets the code of the first failing check."""
    hub = all_hub(make_hub)
    cpr = CprGen(5109).next()
    hub.cprs.add(cpr)
    past = 1000
    with IngestClient(hub, "school-b") as c:
        # Empty agency: E_DENIED (the identity check), even with a bad
        # payload and an expired valid_until.
        env = envelope("", cpr, salt="o1", valid_until=past)
        env.absence_report.period_start = "never"
        expect(c.ack_for(frame(env)), REJECTED, E_DENIED, env.event_id,
               "agency is empty; it must be the id the connection's key "
               "is registered under")
        # Someone else's agency: E_DENIED.
        env = envelope("all-a", cpr, salt="o2")
        expect(c.ack_for(frame(env)), REJECTED, E_DENIED, env.event_id)
        # The schema version before the agency.
        env = envelope("", cpr, salt="o3", schema_version=2)
        expect(c.ack_for(frame(env)), REJECTED, E_VERSION, env.event_id)
        # The event_id's length before the agency (and nothing echoed).
        env = envelope("", cpr, salt="o4", event_id=b"short")
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, b"")
        # Content before permission: a payload not permitted and broken.
        env = event("school-b", cpr, "dropout", **SAMPLES["dropout"])
        env.dropout.date = "2026-02-30"
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, env.event_id,
               "dropout.date is not a valid date (YYYY-MM-DD)")
        # Permission before staleness.
        env = event("school-b", cpr, "dropout", **SAMPLES["dropout"])
        env.valid_until = past
        expect(c.ack_for(frame(env)), REJECTED, E_DENIED, env.event_id,
               "agency is not registered for this event type")
        # Content before staleness.
        env = envelope("school-b", cpr, salt="o5", valid_until=past)
        env.absence_report.school = ""
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, env.event_id)
        env.absence_report.school = "280017"
        expect(c.ack_for(frame(env)), REJECTED, E_STALE, env.event_id)
    assert hub.stats()["log_events"] == 0


def test_refusals_not_about_a_field_say_the_documented_reason(make_hub):
    """PROTOCOL.md §3 "Error codes": the texts of the refusals that name
    no field, each answered on a connection that lives on."""
    hub = all_hub(make_hub)
    cpr = CprGen(5114).next()
    hub.cprs.add(cpr)
    stored = envelope("all-a", cpr, salt="r0")
    body = envelope("all-a", cpr, salt="r1").SerializeToString()
    with IngestClient(hub, "all-a") as c, \
            IngestClient(hub, "school-b") as other:
        expect(c.ack_for(frame(stored)), ACCEPTED)
        c.sock.send_multipart([frame(envelope("all-a", cpr, salt="r2")),
                               b"", b"x"])
        expect(c.recv_ack(10), REJECTED, E_MALFORMED, b"",
               "a message must be exactly one frame")
        for data, code, reason in (
                (b"\x01", E_MALFORMED,
                 "frame of 1 bytes is shorter than the 2-byte header"),
                (b"\x01\x0c" + body, E_MALFORMED, "unknown frame kind 12"),
                (b"\x01\x01\xff\xff", E_MALFORMED,
                 "Envelope does not decode as protobuf"),
                (b"\x01\x03", E_MALFORMED,
                 "only event frames are accepted on the ingest endpoint"),
                (b"\x07\x01" + body, E_VERSION,
                 "wire version 7 is not supported (expected 1)")):
            expect(c.ack_for(data), REJECTED, code, b"", reason)
        env = envelope("all-a", cpr, salt="r3", schema_version=3)
        expect(c.ack_for(frame(env)), REJECTED, E_VERSION, env.event_id,
               "schema version 3 is not supported (expected 1)")
        env = envelope("school-b", cpr, salt="r4")
        expect(c.ack_for(frame(env)), REJECTED, E_DENIED, env.event_id,
               "envelope agency does not match the connection's key")
        env = envelope("all-a", cpr, salt="r5", valid_until=1000)
        expect(c.ack_for(frame(env)), REJECTED, E_STALE, env.event_id,
               "event expired before it reached the hub")
        stored.agency = "school-b"
        expect(other.ack_for(frame(stored)), REJECTED, E_CONFLICT,
               stored.event_id, "event id already used by another agency")
    assert hub.stats()["log_events"] == 1


def test_envelope_field_refusals_say_the_documented_reason(make_hub):
    """PROTOCOL.md §3 "Validation the hub applies": the exact reasons for
    an event_id of another length, a type its payload is not, an
    occurred_at of 0 or less and a supersedes of another length. The
    type is named as its payload's message (Dropout), as the timeline and
    hubctl log name it."""
    hub = all_hub(make_hub)
    cpr = CprGen(5115).next()
    hub.cprs.add(cpr)
    m = pb()
    with IngestClient(hub, "all-a") as c:
        for n in (0, 5, 17):
            env = envelope("all-a", cpr, salt=f"f{n}",
                           event_id=b"\x01" * n)
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, b"",
                   f"event_id must be 16 bytes, got {n}")
        for type_, name in ((m.DROPOUT, "Dropout"),
                            (m.CONTACT_ASSIGNMENT, "ContactAssignment")):
            env = envelope("all-a", cpr, salt=f"t{name}", type=type_)
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id, f"payload does not match type {name}")
        for when in (0, -1):
            env = envelope("all-a", cpr, salt=f"o{when}", occurred_at=when)
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id,
                   "occurred_at must be above 0 (ms since the epoch)")
        env = envelope("all-a", cpr, salt="s15", supersedes=b"\x02" * 15)
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, env.event_id,
               "supersedes must be empty or 16 bytes")
    assert hub.stats()["log_events"] == 0


def test_envelope_numbers_of_six_digits_are_not_repeated(make_hub):
    """PROTOCOL.md §3: `reason` never contains personal data, so a number
    of six digits or more (a CPR number without its leading zero, put in
    the wrong field) is left out of the Envelope's `type`,
    `schema_version` and `sensitivity` refusals as it is of a payload's,
    in the ack and in hubd's log; five digits are still repeated."""
    hub = all_hub(make_hub)
    cpr = CprGen(5116).next()
    hub.cprs.add(cpr)
    big = 101904217
    with IngestClient(hub, "all-a") as c:
        for n, what in ((big, "a"), (-big, "b"), (100000, "c")):
            env = envelope("all-a", cpr, salt=f"big-t{what}", type=n)
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id, "unknown event type")
            env = envelope("all-a", cpr, salt=f"big-s{what}",
                           sensitivity=n)
            expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED,
                   env.event_id, "sensitivity is not a known Sensitivity")
        for n in (big, 100000):
            env = envelope("all-a", cpr, salt=f"big-v{n}",
                           schema_version=n)
            expect(c.ack_for(frame(env)), REJECTED, E_VERSION,
                   env.event_id,
                   "schema version is not supported (expected 1)")
        env = envelope("all-a", cpr, salt="t99999", type=99999)
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, env.event_id,
               "unknown event type 99999")
        env = envelope("all-a", cpr, salt="s-99999", sensitivity=-99999)
        expect(c.ack_for(frame(env)), REJECTED, E_MALFORMED, env.event_id,
               "sensitivity -99999 is not a known Sensitivity")
        env = envelope("all-a", cpr, salt="v99999", schema_version=99999)
        expect(c.ack_for(frame(env)), REJECTED, E_VERSION, env.event_id,
               "schema version 99999 is not supported (expected 1)")
    hub.wait_log("unknown event type 99999")
    assert str(big) not in hub.log_text()
    assert hub.stats()["log_events"] == 0


def test_frame_of_another_kind_refused_whatever_it_holds(make_hub):
    """§2: "A frame of a kind the endpoint does not take (..., a Hello on
    ingest) is answered ... with E_MALFORMED: on ingest 'only event frames
    are accepted on the ingest endpoint'": so says the ack of every other
    known kind, whether its bytes would decode as that kind's message or
    not (a vendor who sent the wrong kind byte learns that, not that an
    Ack or a Hello is broken); nothing is stored."""
    hub = all_hub(make_hub)
    cpr = CprGen(5118).next()
    hub.cprs.add(cpr)
    body = envelope("all-a", cpr, salt="k1").SerializeToString()
    with IngestClient(hub, "all-a") as c:
        for kind in range(2, 12):
            for what in (b"", b"\xff\xff", body):
                expect(c.ack_for(bytes([1, kind]) + what), REJECTED,
                       E_MALFORMED, b"",
                       "only event frames are accepted on the ingest "
                       "endpoint")
    assert hub.stats()["log_events"] == 0

    def refused():
        out = hub.hubctl("audit", "show", "--json", "--actor",
                         "all-a").stdout
        recs = [r for r in map(json.loads, out.splitlines())
                if r["action"] == "frame"]
        return recs if len(recs) >= 30 else None
    # Refusals are written once a second.
    recs = wait_for(refused, 10, "the refusals audited", interval=0.3)
    assert {(r["result"], r["detail"]) for r in recs} == {
        ("malformed", "only event frames are accepted on the ingest "
         "endpoint")}, recs


# ---------------------------------------------------------------- item 12


def sized(cpr, salt, total):
    """An absence envelope whose event frame is exactly total bytes."""
    env = envelope("all-a", cpr, salt=salt)
    pad = total
    for _ in range(5):
        env.absence_report.school = "s" * max(pad, 0)
        pad += total - len(frame(env))
    data = frame(env)
    assert len(data) == total, (len(data), total)
    return env, data


class Monitored(IngestClient):
    """An IngestClient that sees its connection's handshakes and drops."""

    def __init__(self, hub, key_id, routing_id=None):
        # Watched from before the connect: on a loaded machine the
        # handshake could succeed before a monitor attached after it.
        super().__init__(hub, key_id, routing_id=routing_id,
                         monitor=zmq.EVENT_HANDSHAKE_SUCCEEDED |
                         zmq.EVENT_DISCONNECTED)

    def wait_event(self, event, timeout=10):
        deadline = time.monotonic() + timeout * SLOW
        while time.monotonic() < deadline:
            if self.mon.poll(100, zmq.POLLIN):
                if recv_monitor_message(self.mon)["event"] == event:
                    return True
        return False

    def close(self):
        self.sock.disable_monitor()
        self.mon.close(0)
        super().close()


def test_oversized_frames_answered_with_their_id(make_hub):
    hub = all_hub(make_hub)
    cprs = CprGen(5110).take(8)
    hub.cprs.update(cprs)
    goods = [envelope("all-a", cpr, salt=f"g{n}")
             for n, cpr in enumerate(cprs[:4])]
    big, big_frame = sized(cprs[4], "big", 100 * 1024)
    edge, edge_frame = sized(cprs[5], "edge", MAX_FRAME)
    over, over_frame = sized(cprs[6], "over", MAX_FRAME + 1)
    cap, cap_frame = sized(cprs[7], "cap", MAX_MESSAGE)
    with Monitored(hub, "all-a") as c:
        assert c.wait_event(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        # In flight together on one connection: every one acked.
        for data in (frame(goods[0]), frame(goods[1]), big_frame,
                     frame(goods[2]), over_frame, cap_frame,
                     frame(goods[3])):
            assert c.send(data)
        acks = {}
        for _ in range(7):
            ack = c.recv_ack(20)
            assert ack is not None, f"only {len(acks)} acks of 7"
            acks[ack.event_id] = ack
        for env in goods:
            expect(acks[env.event_id], ACCEPTED)
        for env in (big, over, cap):
            expect(acks[env.event_id], REJECTED, E_TOO_LARGE, env.event_id)
            assert re.fullmatch(r"frame of \d+ bytes exceeds the limit of "
                                r"65536", acks[env.event_id].reason)
        # 65,536 bytes exactly: processed (and refused for its school
        # name, which is over 256 bytes, not for its size).
        expect(c.ack_for(edge_frame), REJECTED, E_MALFORMED, edge.event_id,
               f"absence_report.school is {len(edge.absence_report.school)}"
               " bytes, over the limit of 256")
        # The id only from an event frame (01 01) whose envelope decodes
        # with a 16-byte id: another header, or another id, gets none.
        short = envelope("all-a", cprs[4], salt="short")
        short.event_id = b"12345"
        short.absence_report.school = "s" * (MAX_FRAME + 10)
        for data in (b"\x07" + big_frame[1:], b"\x01\x03" + big_frame[2:],
                     frame(short)):
            expect(c.ack_for(data), REJECTED, E_TOO_LARGE, b"")
        assert not c.wait_event(zmq.EVENT_DISCONNECTED, timeout=0.5)
    assert hub.stats()["log_events"] == 4


def test_frame_over_the_cap_drops_the_connection(make_hub):
    hub = all_hub(make_hub)
    cprs = CprGen(5111).take(5)
    hub.cprs.update(cprs)
    with Monitored(hub, "all-a") as c:
        assert c.wait_event(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        first = envelope("all-a", cprs[0], salt="d0")
        expect(c.ack_for(frame(first)), ACCEPTED)
        # One byte over the cap: libzmq closes the connection.
        _, huge = sized(cprs[1], "d1", MAX_MESSAGE + 1)
        assert c.send(huge)
        assert c.wait_event(zmq.EVENT_DISCONNECTED)
        # And 2 MB. The DEALER reconnects by itself.
        assert c.wait_event(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        _, huge = sized(cprs[2], "d2", 2 * 1000 * 1000)
        assert c.send(huge)
        assert c.wait_event(zmq.EVENT_DISCONNECTED)
        assert c.recv_ack(0.5) is None
    assert hub.running
    # The hub lives on: a new connection works, a resend is DUPLICATE.
    with IngestClient(hub, "all-a") as c:
        expect(c.ack_for(frame(first)), DUPLICATE, event_id=first.event_id)
        expect(c.ack_for(frame(envelope("all-a", cprs[3], salt="d3"))),
               ACCEPTED)
    assert hub.stats()["log_events"] == 2


def test_frames_wait_in_the_sender_while_the_hub_reads_none(make_hub):
    """While hubd reads nothing (its writer waits for the disk), a
    connection that keeps sending frames holds at most 256 of them in
    hubd (256 MiB at the 1 MiB cap; frames of 128 KiB here, to keep the
    test light); the rest wait on the sender's side, where a ZMQ_DONTWAIT
    send fails EAGAIN. None is lost."""
    hub = all_hub(make_hub)
    cprs = CprGen(5112).take(2)
    hub.cprs.update(cprs)
    first = envelope("all-a", cprs[0], salt="w0")
    size = 128 * 1024
    big, data = sized(cprs[1], "w1", size)
    with Monitored(hub, "all-a") as c:
        assert c.wait_event(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        expect(c.ack_for(frame(envelope("all-a", cprs[0], salt="w"))),
               ACCEPTED)
        before = hubtest.rss_anon_kb(hub.proc.pid)
        with hubtest.log_write_held(hub):
            assert c.send(frame(first))
            sent, stalled = 0, None
            while sent < 3000:
                try:
                    c.sock.send(data, zmq.DONTWAIT)
                    sent, stalled = sent + 1, None
                except zmq.Again:
                    stalled = stalled or time.monotonic()
                    if time.monotonic() - stalled > 2:
                        break
                    time.sleep(0.01)
            grown = hubtest.rss_anon_kb(hub.proc.pid) - before
            assert sent < 3000, "no EAGAIN: the hub took every frame"
            assert grown < 256 * (size + 64) // 1024 + 40 * 1024, \
                f"hubd grew {grown} KiB holding unread frames"
        expect(c.recv_ack(20), ACCEPTED, event_id=first.event_id)
        for n in range(sent):
            ack = c.recv_ack(20)
            assert ack is not None, f"{n} acks of {sent}"
            expect(ack, REJECTED, E_TOO_LARGE, big.event_id)
        assert not c.wait_event(zmq.EVENT_DISCONNECTED, timeout=0.2)
    assert f"from all-a: frame of {size} bytes exceeds" in \
        hub.log_text()


def test_routing_id_in_use_is_ignored(make_hub):
    """PROTOCOL.md §1 "Routing ids": a routing id set by the client must
    be unique among every connection to the endpoint. A second agency's
    connection with one already in use gets through its handshake, but
    nothing it sends is answered, even after the first one closed; the
    same client without a routing id is served."""
    hub = all_hub(make_hub)
    cprs = CprGen(5124).take(4)
    hub.cprs.update(cprs)
    first = Monitored(hub, "all-a", routing_id=b"our-adapter")
    second = None
    try:
        # The second connects only once the first is served: which of
        # two connecting at once gets the id is a race.
        assert first.wait_event(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        expect(first.ack_for(frame(envelope("all-a", cprs[0], salt="i1"))),
               ACCEPTED)
        second = Monitored(hub, "school-b", routing_id=b"our-adapter")
        assert second.wait_event(zmq.EVENT_HANDSHAKE_SUCCEEDED)
        assert second.send(frame(envelope("school-b", cprs[1], salt="i2")))
        assert second.recv_ack(2) is None
        first.close()
        first = None
        assert second.send(frame(envelope("school-b", cprs[2], salt="i3")))
        assert second.recv_ack(2) is None
    finally:
        if first is not None:
            first.close()
        if second is not None:
            second.close()
    with IngestClient(hub, "school-b") as c:
        expect(c.ack_for(frame(envelope("school-b", cprs[3], salt="i4"))),
               ACCEPTED)
    assert hub.stats()["log_events"] == 2


def test_newer_sender_fields_are_ignored(make_hub):
    """PROTOCOL.md §6: fields a v1 hub does not know, of every wire type
    (varint, 64-bit, length-delimited, 32-bit), in the Envelope, in its
    payload and in a payload's sub-message, are ignored: the event is
    ACCEPTED and its resend with other unknown fields is DUPLICATE. An
    event type v1 does not know, with its payload in a field v1 does not
    know, is refused E_MALFORMED "unknown event type 13" (not
    retryable)."""
    hub = all_hub(make_hub)
    cprs = CprGen(5126).take(3)
    hub.cprs.update(cprs)
    # Field 100 in each wire type: varint, fixed64, bytes, fixed32.
    extra = bytes.fromhex("a00605" "a1060102030405060708" "a20602ff00"
                          "a50601020304")

    def varint(n):
        out = b""
        while n >= 0x80:
            out += bytes([n & 0x7f | 0x80])
            n >>= 7
        return out + bytes([n])

    def nested(body, number, inner):
        """body with the length-delimited field `number` holding inner."""
        return body + varint(number << 3 | 2) + varint(len(inner)) + inner

    with IngestClient(hub, "all-a") as c:
        env = sample(hub, "absence_report", cprs[0])
        expect(c.ack_for(frame(env) + extra), ACCEPTED, 0, env.event_id)
        expect(c.ack_for(frame(env) + extra[:3]), DUPLICATE, 0,
               env.event_id)
        env = sample(hub, "addiction_referral", cprs[1])
        consent = env.addiction_referral.consent.SerializeToString()
        referral = env.addiction_referral
        referral.ClearField("consent")
        payload = nested(referral.SerializeToString() + extra, 4,
                         consent + extra)
        env.ClearField("addiction_referral")
        assert env.WhichOneof("payload") is None
        data = b"\x01\x01" + nested(env.SerializeToString(), 24,
                                     payload) + extra
        expect(c.ack_for(data), ACCEPTED, 0, env.event_id)
        env = sample(hub, "dropout", cprs[2])
        env.type = 13
        env.ClearField("dropout")
        data = frame(env) + bytes.fromhex("8a02020801")
        expect(c.ack_for(data), REJECTED, E_MALFORMED, env.event_id,
               "unknown event type 13")
    assert hub.stats()["log_events"] == 2
    log = hub.hubctl("log", "--json").stdout
    assert log.count('"type"') == 2, log


def test_a_message_field_sent_in_pieces_is_refused(make_hub):
    """PROTOCOL.md §3: a message field (the payload, `consent`) sent more
    than once, which a proto3 decoder would merge, is refused
    E_MALFORMED naming it, with the event_id: the hub does not merge the
    pieces, so it would otherwise read something other than the sender
    meant (here a consent given, read as withdrawn). A string field
    sent twice counts with its last value, as in any decoder."""
    hub = all_hub(make_hub)
    cprs = CprGen(5128).take(4)
    hub.cprs.update(cprs)

    def _tag(number):
        key = number << 3 | 2
        return bytes([key]) if key < 0x80 else \
            bytes([key & 0x7f | 0x80, key >> 7])

    def field(number, body):
        return _tag(number) + bytes([len(body)]) + body

    with IngestClient(hub, "all-a") as c:
        env = sample(hub, "dropout", cprs[0])
        extra = field(21, field(2, b"smed"))
        expect(c.ack_for(frame(env) + extra), REJECTED, E_MALFORMED,
               env.event_id, "dropout is sent more than once (the hub "
               "does not merge a message sent in pieces)")
        expect(c.ack_for(frame(env) + field(
            21, env.dropout.SerializeToString())), REJECTED, E_MALFORMED,
            env.event_id, "dropout is sent more than once (the hub does "
            "not merge a message sent in pieces)")
        # A consent given, its scope and expiry in a second piece.
        env = sample(hub, "addiction_referral", cprs[1])
        referral = env.addiction_referral
        given = field(4, referral.consent.SerializeToString()[:2])
        assert given == b"\x22\x02\x08\x01"
        rest = pb().Consent(scope="referral", expires="2025-05-01")
        referral.ClearField("consent")
        body = referral.SerializeToString() + given + \
            field(4, rest.SerializeToString())
        env.ClearField("addiction_referral")
        data = b"\x01\x01" + env.SerializeToString() + field(24, body)
        expect(c.ack_for(data), REJECTED, E_MALFORMED, env.event_id,
               "addiction_referral.consent is sent more than once (the "
               "hub does not merge a message sent in pieces)")
        # Sent once, the same consent is taken.
        env = sample(hub, "addiction_referral", cprs[2])
        expect(c.ack_for(frame(env)), ACCEPTED, 0, env.event_id)
        # A string twice: the last one counts.
        env = sample(hub, "dropout", cprs[3])
        expect(c.ack_for(frame(env) + field(2, b"all-a")), ACCEPTED, 0,
               env.event_id)
    assert hub.stats()["log_events"] == 2


def test_a_group_field_does_not_decode(make_hub):
    """PROTOCOL.md §6: a group (wire types 3 and 4, proto2 only), empty
    or not, in the Envelope or in its payload, is not read: the frame is
    answered as one that does not decode, without its event_id, and the
    same frame without the group is then ACCEPTED. On delivery a Query
    with one is "Query does not decode as protobuf", request_id 0."""
    hub = all_hub(make_hub)
    cpr = CprGen(5127).next()
    hub.cprs.add(cpr)
    group = bytes.fromhex("a306" "0801" "a406")  # field 100, holding 1: 1
    with IngestClient(hub, "all-a") as c:
        env = sample(hub, "dropout", cpr)
        for data in (frame(env) + bytes.fromhex("a306a406"),
                     frame(env) + group):
            expect(c.ack_for(data), REJECTED, E_MALFORMED, b"",
                   "Envelope does not decode as protobuf")
        inner = env.dropout.SerializeToString() + group
        body = env.SerializeToString().replace(
            b"\xaa\x01" + bytes([len(env.dropout.SerializeToString())]) +
            env.dropout.SerializeToString(),
            b"\xaa\x01" + bytes([len(inner)]) + inner)
        assert body != env.SerializeToString()
        expect(c.ack_for(b"\x01\x01" + body), REJECTED, E_MALFORMED, b"",
               "Envelope does not decode as protobuf")
        expect(c.ack_for(frame(env)), ACCEPTED, 0, env.event_id)
    d = DeliveryClient(hub, "cw-anna")
    try:
        d.sock.send(bytes([1, FRAME_QUERY]) + pb().Query(
            request_id=7, kind=pb().OPEN_ALERTS).SerializeToString() + group)
        kind, raw = d.recv()
        r = pb().Result.FromString(raw)
        assert (kind, r.request_id, r.code, r.reason) == (
            FRAME_RESULT, 0, E_MALFORMED,
            "Query does not decode as protobuf"), r
    finally:
        d.close()
    assert hub.stats()["log_events"] == 1


# ---------------------------------------------------------------- keys


def test_key_files_as_documented(make_hub):
    """PROTOCOL.md §3 "Key files": what a vendor reads from them."""
    hub = make_hub(start=False)
    pub_text = (hub.keys_dir / "school-a.key").read_text()
    sec_path = hub.keys_dir / "school-a.key_secret"
    assert sec_path.stat().st_mode & 0o777 == 0o600
    for text, names in ((pub_text, ["id", "public"]),
                        (sec_path.read_text(),
                         ["id", "public", "secret", "storage_key",
                          "hash_key"])):
        lines = [l for l in text.splitlines()
                 if l.strip() and not l.startswith("#")]
        assert [l.split(" = ")[0] for l in lines] == names
    pub = read_key_file(hub.keys_dir / "school-a.key")
    sec = read_key_file(sec_path)
    assert pub == {"id": "school-a", "public": sec["public"]}
    assert re.fullmatch(r"[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}",
                        sec["public"])
    assert re.fullmatch(r"[0-9A-Za-z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}",
                        sec["secret"])
    assert zmq.curve_public(sec["secret"].encode()) == sec["public"].encode()
    for name in ("storage_key", "hash_key"):
        assert re.fullmatch(r"[0-9a-f]{64}", sec[name])


def test_public_key_file_of_one_public_line(make_hub):
    """PROTOCOL.md §3 "Key files": the hub uses only the `public` line;
    a vendor's own file of that one line (CRLF, no blanks around `=`,
    a comment and a name the hub does not know) registers its key."""
    hub = all_hub(make_hub)
    hub.keygen("vendor-x")
    pub = read_key_file(hub.keys_dir / "vendor-x.key")["public"]
    own = hub.tmp / "vendor-x.pub"
    own.write_bytes(f"# made with zmq_curve_keypair\r\npublic={pub}\r\n"
                    "made_by = our adapter 2.1\r\n".encode())
    r = hub.hubctl("register-agency", "vendor-x", "--key", str(own),
                   "--types", "absence", check=False)
    assert r.returncode == 0, r.stderr
    cpr = CprGen(5113).next()
    hub.cprs.add(cpr)
    with IngestClient(hub, "vendor-x") as c:
        expect(c.ack_for(frame(envelope("vendor-x", cpr, salt="k1"))),
               ACCEPTED)
    # The id line is not read: not even one that is no id at all.
    hub.keygen("vendor-v")
    vpub = read_key_file(hub.keys_dir / "vendor-v.key")["public"]
    own.write_text(f"id = Vendor V!\npublic = {vpub}\n")
    r = hub.hubctl("register-agency", "vendor-v", "--key", str(own),
                   "--types", "absence", check=False)
    assert r.returncode == 0, r.stderr
    # A name given twice: its last line counts, as in every file of
    # that format.
    hub.keygen("vendor-w")
    other = read_key_file(hub.keys_dir / "vendor-w.key")["public"]
    own.write_text(f"public = {pub}\npublic = {other}\n")
    r = hub.hubctl("register-agency", "vendor-w", "--key", str(own),
                   "--types", "absence", check=False)
    assert r.returncode == 0 and f"(key {other[:8]}..." in r.stdout, \
        (r.stdout, r.stderr)
    # Without a public line it is no key file.
    own.write_text("id = vendor-x\n")
    r = hub.hubctl("register-agency", "vendor-y", "--key", str(own),
                   "--types", "absence", check=False)
    assert r.returncode == 1 and \
        "not a public key file (needs public)" in r.stderr, r.stderr


def test_key_values_must_be_curve_keys(make_hub):
    """PROTOCOL.md §3 "Key files": `public` and `secret` are Z85 CURVE
    keys, and in a secret key file `public` belongs to `secret`. A
    40-character value that is not Z85 is refused by hubctl with the
    line (it would match no client ever); an adapter whose secret key
    file pairs one key's public with another's secret exits 3 saying
    so, before anything is read."""
    hub = all_hub(make_hub)
    own = hub.tmp / "vendor.pub"
    own.write_text("id = vendor-z\npublic = " + "~" * 40 + "\n")
    r = hub.hubctl("register-agency", "vendor-z", "--key", str(own),
                   "--types", "absence", check=False)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert f"{own}:2: bad value for 'public'" in r.stderr, r.stderr
    keys = hub.tmp / "mixed-keys"
    keys.mkdir()
    (keys / "hub.key").write_bytes((hub.keys_dir / "hub.key").read_bytes())
    sec = read_key_file(hub.keys_dir / "all-a.key_secret")
    other = read_key_file(hub.keys_dir / "school-b.key")["public"]
    path = keys / "all-a.key_secret"
    path.write_text("".join(f"{k} = {other if k == 'public' else v}\n"
                            for k, v in sec.items()))
    path.chmod(0o600)
    cpr = CprGen(5125).next()
    csv, _ = hub.csv("w.csv", [hubtest.AbsenceRow(cpr)])
    r = hub.adapter("import", csv, agency="all-a", keys_dir=keys)
    assert r.rc == hubtest.EXIT_FATAL, str(r)
    assert "public is not the public key of secret" in r.stderr, r.stderr
    assert hub.stats()["log_events"] == 0


def test_unregistered_contact_person_gets_the_alerts_later(make_hub):
    """§3 "Payload rules": a ContactAssignment may name a caseworker not
    registered yet; the person's alerts are addressed to that id, wait,
    and are delivered once it is registered and says Hello."""
    hub = rules_hub(make_hub, "2026-09-07T08:00:00")
    cpr = CprGen(5123).next()
    hub.send(hubtest.ev_assignment(cpr, "cw-zed", "2026-01-01"),
             hubtest.ev_dropout(cpr, "2026-09-07"))
    assert hub.wait_applied()["alerts"] == 1
    # Nobody on the desk is handed it.
    rc, alerts, _ = hub.inbox("desk-dora", no_ack=True, idle_exit=2)
    assert alerts == [], alerts
    hub.keygen("cw-zed")
    hub.register_caseworker("cw-zed")
    rc, alerts, err = hub.inbox("cw-zed", no_ack=True, max_alerts=1)
    assert rc == 0, err
    assert [(a["rule"], a["recipient"], a["cpr"]) for a in alerts] == \
        [("dropout", "cw-zed", cpr)]
