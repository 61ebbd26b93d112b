"""135 a vendor's agency client a seventh time, written from
docs/PROTOCOL.md §1-§3 alone (tests/e2e/vendorclient.py: its own
key-file reader, framing, CURVE set-up and wire encoder). Only the hub
itself (keys, registrations, the hub clock, hubctl) and the envelopes'
contents come from hubtest.py. What the earlier vendor tests left out:

- §3 "Key files": "a name given twice counts with its last line, so two
  `public` lines register the second key, though each line's value is
  checked: a bad first `public` refuses the file"; a CR alone as line
  end; a line of 510 bytes (a byte order mark not counted) read, one of
  511 refused with the file and line; a file cut off inside the key;
- §3 step 1 `cpr`: the century each 7th digit gives, told apart by 29
  February 1900/2000 for all ten digits; "valid UTF-8 (no overlong
  forms, no surrogates)" for every kind of bad sequence, and the code
  points at the top of the planes accepted; "bytes after a NUL byte
  count too"; "the one sent last is the payload", the earlier one
  neither checked nor used;
- §3 "Validation order", the end: a refused frame and the fixed frame
  with its id read in one batch (DUPLICATE before its ACCEPTED, or its
  refusal a batch apart), a refusal of steps 1-6 kept either way, and a
  refused frame after the stored one always DUPLICATE;
- §1 one frame per message: a multi-part message whose parts are over
  the size limit is still "exactly one frame" (step 1 before step 2),
  answered in its place among the acks;
- §3 step 1 / step 3: ids whose first 8 bytes are no time of 2000-2099
  (all 0xff, all zero, one ms before 2000, 2100) work as any other, and
  "the id goes with the event when the hub deletes it": after `hubctl
  erase` the same frames are ACCEPTED again with new sequences;
- §3 "Payload rules": what "standing alone" and "a real birth date" make
  of a CPR number inside an id; §2: an oversized event frame whose
  Envelope decodes (its content refused or not) is answered with its
  id, one that does not decode without."""

import zmq
from zmq.utils.monitor import recv_monitor_message

from hubtest import CprGen, event, rules_hub
from vendorclient import ACK, Client, ld, read_key_file, schema

NOT_UTF8 = "dropout.programme is not valid UTF-8"
ONE_FRAME = "a message must be exactly one frame"


def dropout(hub, g, **fields):
    """college-a's Dropout about a new synthetic person."""
    cpr = g.next()
    hub.cprs.add(cpr)
    env = event("college-a", cpr, "dropout", institution="college-x",
                programme="eud-smed", date="2026-10-26")
    for name, value in fields.items():
        setattr(env, name, value)
    return env


def frame(env):
    return bytes([1, 1]) + env.SerializeToString()


def with_payload(env, body, field=21):
    """The envelope's own bytes without its payload, then `body` as the
    payload field (21 = dropout), as another encoder may write it."""
    bare = schema().Envelope()
    bare.CopyFrom(env)
    bare.ClearField("dropout")
    return bytes([1, 1]) + bare.SerializeToString() + ld(field, body)


def dropout_bytes(programme=b"eud-smed", date=b"2026-10-26"):
    return ld(1, b"college-x") + ld(2, programme) + ld(3, date)


def handshake(hub, public, secret):
    """The first handshake event of a DEALER with that key pair on the
    ingest endpoint (§1: SUCCEEDED, or FAILED_AUTH with status 400)."""
    ctx = zmq.Context()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.curve_serverkey = read_key_file(
        hub.keys_dir / "hub.key")["public"].encode()
    s.curve_publickey = public.encode()
    s.curve_secretkey = secret.encode()
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_SUCCEEDED
                               | zmq.EVENT_HANDSHAKE_FAILED_AUTH)
    s.connect(hub.ingest)
    try:
        assert mon.poll(20000), "no handshake event within 20 s"
        e = recv_monitor_message(mon)
        return e["event"], e["value"]
    finally:
        s.disable_monitor()
        mon.close()
        s.close()
        ctx.term()


def test_key_files_two_public_lines_cr_line_ends_and_long_lines(make_hub):
    """§3 "Key files": the last of two `public` lines is the key
    registered (the first is refused at the handshake, the second
    admitted), but a bad first value refuses the file; a CR alone ends a
    line; a line of 510 bytes (a byte order mark at the start not
    counted) is read and one of 511 refused, "with the file and line";
    a file "cut off inside the key is refused with the file and line"."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    first = [k.decode() for k in zmq.curve_keypair()]
    second = [k.decode() for k in zmq.curve_keypair()]

    def register(name, text):
        path = hub.tmp / f"{name}.key"
        path.write_bytes(text.encode())
        return path, hub.hubctl("register-agency", name, "--key",
                                str(path), "--types", "dropout",
                                check=False)

    path, r = register("vendor-bad-first",
                       f"public = {first[0][:-1]}\npublic = {second[0]}\n")
    assert (r.returncode, r.stderr.rstrip().endswith(
        f"{path}:1: bad value for 'public'")) == (1, True), r
    path, r = register("vendor-cut", f"id = vendor-cut\npublic = "
                       f"{first[0][:20]}")
    assert (r.returncode, r.stderr.rstrip().endswith(
        f"{path}:2: bad value for 'public'")) == (1, True), r
    path, r = register("vendor-long", "\ufeff#" + "x" * 510 +
                       f"\npublic = {first[0]}\n")
    assert (r.returncode, r.stderr.rstrip().endswith(
        f"{path}:1: line longer than 510 bytes")) == (1, True), r
    # Nothing of those three was registered: the first key is free.
    path, r = register("vendor-two",
                       "\ufeff#" + "x" * 509 + "\rid = vendor-two\r"
                       f"public = {first[0]}\rpublic = {second[0]}\r")
    assert r.returncode == 0, r
    assert handshake(hub, *second) == (zmq.EVENT_HANDSHAKE_SUCCEEDED, 0)
    assert handshake(hub, *first) == (zmq.EVENT_HANDSHAKE_FAILED_AUTH, 400)


def test_cpr_century_utf8_forms_and_the_last_payload(make_hub):
    """§3 step 1 and "Validation the hub applies": the 7th digit's
    century (0-3: 19YY; 4, 9: 20YY if YY <= 36; 5-8: 20YY if YY <= 57),
    so 29 February 00 is refused for 0-3 (1900) and accepted for 4-9
    (2000); every bad UTF-8 sequence named as not valid UTF-8, the last
    code points of the planes accepted; a string's bytes after a NUL
    counted for its size; of two payload fields the last is the payload,
    the earlier one (with a NUL byte in it) neither checked nor used."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(13501)
    c = Client(hub, "college-a", hub.ingest)
    try:
        def answer(data):
            a = c.ask(data, ACK)
            return a.status, a.code, a.reason

        for digit in range(10):
            env = dropout(hub, g)
            env.cpr = f"290200{digit}234"
            hub.cprs.add(env.cpr)
            want = ((m.REJECTED, m.E_MALFORMED,
                     "cpr must be 10 digits with a valid date")
                    if digit <= 3 else (m.ACCEPTED, 0, ""))
            assert answer(frame(env)) == want, digit
        for bad in (b"\xc0\x80",            # overlong NUL
                    b"\xe0\x80\xaf",        # overlong '/'
                    b"\xed\xa0\x80",        # a UTF-16 surrogate
                    b"\xf4\x90\x80\x80",    # above U+10FFFF
                    b"\xf8\x88\x80\x80\x80",  # a five-byte form
                    b"\xfe", b"\x80",       # no lead byte
                    b"eud\xe2\x82"):        # cut off at the end
            data = with_payload(dropout(hub, g), dropout_bytes(bad))
            assert answer(data) == (m.REJECTED, m.E_MALFORMED, NOT_UTF8), \
                bad
        for good in ("\uffff", "\U0010ffff", "\U0001d11e",
                     "\u00e9" * 128):       # 256 bytes, 128 characters
            data = with_payload(dropout(hub, g),
                                dropout_bytes(good.encode()))
            assert answer(data)[0] == m.ACCEPTED, repr(good)
        data = with_payload(dropout(hub, g),
                            dropout_bytes(b"a\x00" + b"b" * 255))
        assert answer(data) == (
            m.REJECTED, m.E_MALFORMED,
            "dropout.programme is 257 bytes, over the limit of 256")
        # An AbsenceReport (field 20) with a NUL in its school, then the
        # Dropout: the Dropout is the payload and type DROPOUT matches.
        env = dropout(hub, g)
        bare = m.Envelope()
        bare.CopyFrom(env)
        bare.ClearField("dropout")
        data = (bytes([1, 1]) + bare.SerializeToString() +
                ld(20, ld(1, b"28\x0017")) + ld(21, dropout_bytes()))
        a = c.ask(data, ACK)
        assert (a.status, a.event_id) == (m.ACCEPTED, env.event_id), a
        # ... and the other way round (another id: the stored one's
        # refusal would be DUPLICATE), the AbsenceReport is the payload.
        bare.event_id = dropout(hub, g).event_id
        data = (bytes([1, 1]) + bare.SerializeToString() +
                ld(21, dropout_bytes()) + ld(20, ld(1, b"28\x0017")))
        assert answer(data) == (m.REJECTED, m.E_MALFORMED,
                                "payload does not match type Dropout")
    finally:
        c.close()


def test_a_refusal_and_its_fix_read_in_one_batch(make_hub):
    """§3 "Validation order", the end: a frame refused at step 7 or 9
    followed closely by the valid frame with its id "may be acked
    DUPLICATE, before that one's ACCEPTED with the same sequence,
    instead of its refusal: a batch apart, it keeps its refusal"; one
    refused at steps 1-6 (here `schema_version` 2, step 4) keeps its
    refusal; a refused frame read after the stored one is DUPLICATE.
    Either way the id is stored once. The acks come in the order of the
    frames (§1 "Order of answers")."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(13502)
    c = Client(hub, "college-a", hub.ingest)
    try:
        c.ask(frame(dropout(hub, g)), ACK)          # connected
        pairs = []
        for i in range(24):
            good = dropout(hub, g)
            bad = m.Envelope()
            bad.CopyFrom(good)
            kind = ("content", "stale", "schema", "after")[i % 4]
            if kind in ("content", "after"):
                bad.occurred_at = 0
            elif kind == "stale":
                bad.valid_until = 1
            else:
                bad.schema_version = 2
            order = [bad, good] if kind != "after" else [good, bad]
            pairs.append((kind, good.event_id, order))
        for _, _, order in pairs:
            for env in order:
                c.raw(frame(env))
        refusals = {"content": (m.E_MALFORMED, "occurred_at must be above "
                                "0 (ms since the epoch)"),
                    "stale": (m.E_STALE,
                              "event expired before it reached the hub")}
        for kind, eid, _ in pairs:
            x, y = c.want(ACK), c.want(ACK)
            assert (x.event_id, y.event_id) == (eid, eid), kind
            if kind == "after":
                assert (x.status, y.status, y.sequence) == (
                    m.ACCEPTED, m.DUPLICATE, x.sequence), (kind, x, y)
                continue
            assert (y.status, y.code) == (m.ACCEPTED, 0), (kind, y)
            assert y.sequence > 0, y
            if kind == "schema":
                assert (x.status, x.code, x.reason, x.sequence) == (
                    m.REJECTED, m.E_VERSION,
                    "schema version 2 is not supported (expected 1)", 0), x
            elif x.status == m.DUPLICATE:
                assert (x.code, x.reason, x.sequence) == (
                    0, "", y.sequence), (kind, x)
            else:
                assert (x.status, (x.code, x.reason), x.sequence) == (
                    m.REJECTED, refusals[kind], 0), (kind, x)
    finally:
        c.close()


def test_multi_part_over_the_limit_and_ids_gone_with_an_erasure(make_hub):
    """§1: "A multi-part message is rejected, once for the whole
    message" with "a message must be exactly one frame", also when its
    parts are over 65,536 bytes (step 1 comes before step 2), its ack
    in its place among the others. §3 step 1: an id whose first 8 bytes
    are no time of 2000-2099 "works the same"; step 3: after the
    person's data was erased "the same frame sent after that is
    ACCEPTED again, as a new event with a new `sequence`"."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(13503)
    c = Client(hub, "college-a", hub.ingest)
    try:
        big = frame(dropout(hub, g)) + ld(99, b"z" * 70000)
        sent = [frame(dropout(hub, g)), [big, frame(dropout(hub, g))],
                frame(dropout(hub, g)), [frame(dropout(hub, g)), big, big],
                [b"", b""], frame(dropout(hub, g))]
        for data in sent:
            if isinstance(data, list):
                c.s.send_multipart(data)
            else:
                c.raw(data)
        for data in sent:
            a = c.want(ACK)
            if isinstance(data, list):
                assert (a.status, a.code, a.reason, a.event_id) == (
                    m.REJECTED, m.E_MALFORMED, ONE_FRAME, b""), a
            else:
                assert (a.status, a.event_id) == (
                    m.ACCEPTED, m.Envelope.FromString(data[2:]).event_id)

        person = g.next()
        hub.cprs.add(person)
        frames, seqs = [], []
        for prefix in (None, b"\xff" * 8, b"\x00" * 8,
                       (946684800000 - 1).to_bytes(8, "big"),
                       (4102444800000).to_bytes(8, "big")):
            env = event("college-a", person, "dropout",
                        institution="college-x", date="2026-10-26")
            if prefix:
                env.event_id = prefix + env.event_id[8:]
            frames.append(frame(env))
            a = c.ask(frames[-1], ACK)
            assert a.status == m.ACCEPTED, (prefix, a)
            seqs.append(a.sequence)
            # The same first 8 bytes, another tail: another event.
            other = dropout(hub, g)
            other.event_id = env.event_id[:8] + bytes(
                b ^ 0xff for b in env.event_id[8:])
            assert c.ask(frame(other), ACK).status == m.ACCEPTED
        for data, seq in zip(frames, seqs):
            a = c.ask(data, ACK)
            assert (a.status, a.sequence) == (m.DUPLICATE, seq), a
        hub.wait_applied()
        out = hub.hubctl("erase", "--cpr", person, "--reason",
                         "vendor test 135").stdout
        assert out.startswith("erased: 5 records, 5 ids entries, "), out
        again = []
        for data in frames:
            a = c.ask(data, ACK)
            assert a.status == m.ACCEPTED, a
            again.append(a.sequence)
        assert min(again) > max(seqs), (seqs, again)
        for data, seq in zip(frames, again):
            a = c.ask(data, ACK)
            assert (a.status, a.sequence) == (m.DUPLICATE, seq), a
    finally:
        c.close()


def test_ids_holding_a_cpr_and_oversized_frames_that_still_decode(
        make_hub):
    """§3 "Payload rules": an id holds no CPR number, "`DDMMYYSSSS` or
    `DDMMYY-SSSS` with a real birth date, standing alone (no letter or
    digit right before or after it)": an underscore or a dot beside it
    is no letter or digit, 29 February 00 is a real birth date only in
    the century the 7th digit gives (2000: digit 4), an underscore in
    place of the dash is no CPR form, and an 11th digit makes it no CPR.
    §2: a frame over 65,536 bytes is answered `E_TOO_LARGE` "with the
    frame's `event_id` when it is an event frame (`01 01`) whose
    `Envelope` still decodes with an `event_id` of 16 bytes" (a payload
    sent twice, or of another type, still decodes; a field number over
    2^29 - 1 or a string sent as a varint does not: §6)."""
    hub = rules_hub(make_hub, "2026-11-02T08:00:00")
    m = schema()
    g = CprGen(13504)
    not_an_id = ("contact_assignment.caseworker is not an id (1-63 of a-z "
                 "0-9 . _ -, starting with a letter or digit, holding no "
                 "CPR number)")
    y = Client(hub, "youth-a", hub.ingest)
    c = Client(hub, "college-a", hub.ingest)
    try:
        for cw, refused in (("cw_0101101234", True),
                            ("x-0101101234.y", True),
                            ("cw-2902004234", True),
                            ("cw-2902001234", False),
                            ("cw-010110_1234", False),
                            ("010110-12345", False),
                            ("1010110-1234", False)):
            cpr = g.next()
            hub.cprs.add(cpr)
            env = event("youth-a", cpr, "contact_assignment", caseworker=cw,
                        **{"from": "2026-10-01"})
            a = y.ask(frame(env), ACK)
            want = ((m.REJECTED, not_an_id) if refused
                    else (m.ACCEPTED, ""))
            assert (a.status, a.reason) == want, cw

        payload = dropout(hub, g).dropout.SerializeToString()
        for extra, decodes in ((ld(21, payload), True),
                               (ld(20, ld(1, b"280017")), True),
                               (b"\x80\x80\x80\x80\x10\x01", False),
                               (b"\x10\x01", False)):
            env = dropout(hub, g)
            data = frame(env) + extra + ld(99, b"z" * 70000)
            a = c.ask(data, ACK)
            assert (a.status, a.code, a.reason, a.event_id) == (
                m.REJECTED, m.E_TOO_LARGE,
                f"frame of {len(data)} bytes exceeds the limit of 65536",
                env.event_id if decodes else b""), extra
    finally:
        y.close()
        c.close()
