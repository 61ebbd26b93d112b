"""141 small promises left open by earlier reviews, each checked as the
docs now word it: a varint over 64 bits (PROTOCOL.md §6), a stray
carriage return in an adapter's file (ADAPTERS.md), invisible-only
text in an Action's `how` (PROTOCOL.md), a 413 past a web session's
lifetime (OPERATIONS.md), and what RULES.md says ingest refuses."""

from hubtest import CprGen
from vendorclient import ACK, EVENT, Client, ld, schema, tag, varint


def absence_body(cpr, key, occurred=varint(1714000000000), expected=30,
                 payload_extra=b""):
    """An AbsenceReport envelope for school-a, field by field, with
    occurred_at and lessons_expected as the bytes given."""
    eid = (1714000000000).to_bytes(8, "big") + key.encode().ljust(8, b".")
    exp = expected if isinstance(expected, bytes) else varint(expected)
    payload = (ld(1, b"school-x") + ld(2, b"2024-05-06") +
               ld(3, b"2024-05-10") + tag(4, 0) + varint(3) +
               tag(5, 0) + exp + tag(6, 0) + varint(3) + payload_extra)
    body = (ld(1, eid) + ld(2, b"school-a") + tag(3, 0) + varint(1) +
            tag(4, 0) + varint(1) + tag(5, 0) + varint(2) +
            tag(6, 0) + occurred + ld(9, cpr.encode()) + ld(20, payload))
    return eid, body


def test_varint_over_64_bits_is_refused_naming_the_field(make_hub):
    """PROTOCOL.md §6: ten varint bytes hold 64 bits only when the tenth
    is 00 or 01; a wider one is a frame that does not decode, the reason
    naming the field by its path, with no event_id; the connection
    stays open."""
    hub = make_hub()
    m = schema()
    cpr = CprGen(14101).born("2009-03-01")
    hub.cprs.add(cpr)
    c = Client(hub, "school-a", hub.ingest)
    try:
        wide = varint(1 << 64)  # ten bytes, the tenth 02
        assert len(wide) == 10 and wide[-1] == 2
        for key, kw, path in [
                ("occ", {"occurred": wide}, "occurred_at"),
                ("exp", {"expected": wide},
                 "absence_report.lessons_expected"),
                ("unk", {"payload_extra": tag(15, 0) + wide},
                 "an unknown field in absence_report")]:
            _, body = absence_body(cpr, key, **kw)
            a = c.ask(bytes([1, EVENT]) + body, ACK)
            assert (a.status, a.code, a.reason, a.retryable,
                    a.event_id) == (
                m.REJECTED, m.E_MALFORMED,
                "Envelope does not decode as protobuf: "
                f"{path} is a varint of more than 64 bits",
                False, b""), (key, a)
        # At the limit: 30 padded to ten bytes, the tenth 00, is 30.
        padded = bytes([30 | 0x80]) + b"\x80" * 8 + b"\x00"
        eid, body = absence_body(cpr, "pad", expected=padded)
        a = c.ask(bytes([1, EVENT]) + body, ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, eid), a
    finally:
        c.close()
