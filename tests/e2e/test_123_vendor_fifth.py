"""123 a vendor's agency and caseworker clients a fifth time, written from
docs/PROTOCOL.md alone (tests/e2e/vendorclient.py: its own key-file
reader, framing, CURVE set-up and wire encoder). Only the hub itself
(keys, registrations, the hub clock) comes from hubtest.py. What the
earlier vendor tests left out:

- §6: a tag whose field number is over 2^29 - 1 is named as such "of any
  wire type", a group's tag (3, 4) and the wire types 6 and 7 included,
  on ingest and on delivery, at any depth."""

from hubtest import CprGen, event, rules_hub
from vendorclient import (ACK, RESULT, Client, ld, schema, tag, varint)

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
