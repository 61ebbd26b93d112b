/*
 * proto/wire: framing ([0x01][kind][protobuf]), decoding of hostile input
 * (every failure is UG_EMALFORMED with the ErrorCode the hub puts in its
 * Ack), and wire_validate_envelope, one case per rejection reason.
 */
#include "proto/wire.h"

#include "common/util.h"
#include "tests/unit/check.h"

#define NOW_MS	 ((int64_t)1717000000000) /* 2024-05-29T16:26:40Z */
#define TEST_CPR "0102031234"

/* A valid absence envelope; each validation case breaks one thing. */
typedef struct {
	wire_envelope env;
	Ungebro__V1__AbsenceReport absence;
	uint8_t id[WIRE_EVENT_ID_LEN];
} sample;

static void
sample_init(sample *s)
{
	ungebro__v1__envelope__init(&s->env);
	ungebro__v1__absence_report__init(&s->absence);
	for (int i = 0; i < WIRE_EVENT_ID_LEN; i++)
		s->id[i] = (uint8_t)(0xa0 + i);
	s->env.event_id.data = s->id;
	s->env.event_id.len = sizeof s->id;
	s->env.agency = "school-hedemark";
	s->env.schema_version = 1;
	s->env.type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
	s->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	s->env.occurred_at = 19870 * UG_DAY_MS;
	s->env.sent_at = NOW_MS - 1000;
	s->env.cpr = TEST_CPR;
	s->absence.school = "280017";
	s->absence.period_start = "2024-05-01";
	s->absence.period_end = "2024-05-28";
	s->absence.lessons_absent = 12;
	s->absence.lessons_expected = 80;
	s->absence.kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
	s->absence.grade = 8;
	s->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT;
	s->env.absence_report = &s->absence;
}

static size_t
encode(int kind, const void *msg, uint8_t *buf, size_t cap)
{
	size_t need = wire_encoded_size(kind, msg);
	size_t len = wire_encode(kind, msg, buf, cap);
	CHECK_EQ_INT(len, need);
	CHECK_EQ_INT(buf[0], WIRE_VERSION);
	CHECK_EQ_INT(buf[1], kind);
	return len;
}

static void
test_envelope_round_trip(void)
{
	sample s;
	sample_init(&s);
	uint8_t buf[1024];
	size_t len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf,
			    sizeof buf);
	int kind = -1, code = -1;
	void *msg = NULL;
	ug_diag diag = {0};
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_EVENT);
	CHECK_EQ_INT(code, UNGEBRO__V1__ERROR_CODE__OK);
	wire_envelope *e = msg;
	CHECK_EQ_INT(e->event_id.len, WIRE_EVENT_ID_LEN);
	CHECK_EQ_MEM(e->event_id.data, s.id, WIRE_EVENT_ID_LEN);
	CHECK_EQ_STR(e->agency, "school-hedemark");
	CHECK_EQ_INT(e->schema_version, 1);
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_INT(e->occurred_at, 19870 * UG_DAY_MS);
	CHECK_EQ_INT(e->sent_at, NOW_MS - 1000);
	CHECK_EQ_INT(e->valid_until, 0);
	CHECK_EQ_STR(e->cpr, TEST_CPR);
	CHECK_EQ_INT(e->payload_case,
		     UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT);
	CHECK(e->absence_report != NULL);
	CHECK_EQ_STR(e->absence_report->school, "280017");
	CHECK_EQ_STR(e->absence_report->period_start, "2024-05-01");
	CHECK_EQ_STR(e->absence_report->period_end, "2024-05-28");
	CHECK_EQ_INT(e->absence_report->lessons_absent, 12);
	CHECK_EQ_INT(e->absence_report->lessons_expected, 80);
	CHECK_EQ_INT(e->absence_report->kind,
		     UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL);
	CHECK_EQ_INT(e->absence_report->grade, 8);
	CHECK_EQ_INT(wire_validate_envelope(e, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	/* Re-encoding the decoded message gives the same bytes. */
	uint8_t again[1024];
	size_t len2 = encode(kind, e, again, sizeof again);
	CHECK_EQ_INT(len2, len);
	CHECK_EQ_MEM(again, buf, len);
	wire_free(kind, msg);
	/* Too small a buffer encodes nothing. */
	CHECK_EQ_INT(wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env,
				 buf, len - 1),
		     0);
}

static void
test_other_kinds_round_trip(void)
{
	uint8_t buf[2048];
	int kind, code;
	void *msg;
	ug_diag diag = {0};

	wire_ack ack;
	ungebro__v1__ack__init(&ack);
	uint8_t id[WIRE_EVENT_ID_LEN] = {1, 2, 3};
	ack.event_id.data = id;
	ack.event_id.len = sizeof id;
	ack.status = UNGEBRO__V1__ACK_STATUS__REJECTED;
	ack.code = UNGEBRO__V1__ERROR_CODE__E_FULL;
	ack.reason = "store full";
	ack.retryable = 1;
	ack.sequence = 1234567890123ull;
	size_t len =
	    encode(UNGEBRO__V1__FRAME_KIND__FRAME_ACK, &ack, buf, sizeof buf);
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_ACK);
	wire_ack *a = msg;
	CHECK_EQ_MEM(a->event_id.data, id, sizeof id);
	CHECK_EQ_INT(a->status, UNGEBRO__V1__ACK_STATUS__REJECTED);
	CHECK_EQ_INT(a->code, UNGEBRO__V1__ERROR_CODE__E_FULL);
	CHECK_EQ_STR(a->reason, "store full");
	CHECK_EQ_INT(a->retryable, 1);
	CHECK_EQ_INT(a->sequence, 1234567890123ull);
	wire_free(kind, msg);

	wire_hello hello;
	ungebro__v1__hello__init(&hello);
	hello.client = "inbox 1";
	hello.window = 32;
	len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_HELLO, &hello, buf,
		     sizeof buf);
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_HELLO);
	CHECK_EQ_STR(((wire_hello *)msg)->client, "inbox 1");
	CHECK_EQ_INT(((wire_hello *)msg)->window, 32);
	wire_free(kind, msg);

	wire_alert alert;
	ungebro__v1__alert__init(&alert);
	uint8_t aid[WIRE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, 42, 1};
	alert.alert_id.data = aid;
	alert.alert_id.len = sizeof aid;
	alert.rule = "absence.rolling";
	alert.priority = UNGEBRO__V1__PRIORITY__NORMAL;
	alert.cpr = TEST_CPR;
	alert.recipient = "cw-anna";
	alert.raised_at = NOW_MS;
	alert.due = "2024-06-05";
	alert.delivery = 3;
	Ungebro__V1__Evidence ev[2], *evp[2] = {&ev[0], &ev[1]};
	for (int i = 0; i < 2; i++) {
		ungebro__v1__evidence__init(&ev[i]);
		ev[i].event_id.data = id;
		ev[i].event_id.len = sizeof id;
		ev[i].agency = "school-hedemark";
		ev[i].lessons_absent = (uint32_t)(10 + i);
		ev[i].lessons_expected = 80;
	}
	alert.n_evidence = 2;
	alert.evidence = evp;
	len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, &alert, buf,
		     sizeof buf);
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	wire_alert *al = msg;
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_ALERT);
	CHECK_EQ_MEM(al->alert_id.data, aid, sizeof aid);
	CHECK_EQ_STR(al->rule, "absence.rolling");
	CHECK_EQ_STR(al->recipient, "cw-anna");
	CHECK_EQ_INT(al->delivery, 3);
	CHECK_EQ_INT(al->n_evidence, 2);
	CHECK_EQ_INT(al->evidence[1]->lessons_absent, 11);
	wire_free(kind, msg);

	wire_alert_ack aa;
	ungebro__v1__alert_ack__init(&aa);
	aa.alert_id.data = aid;
	aa.alert_id.len = sizeof aid;
	len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK, &aa, buf,
		     sizeof buf);
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK);
	CHECK_EQ_INT(((wire_alert_ack *)msg)->alert_id.len, WIRE_ALERT_ID_LEN);
	wire_free(kind, msg);

	wire_welcome w;
	ungebro__v1__welcome__init(&w);
	w.caseworker = "cw-anna";
	w.open_alerts = 7;
	len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME, &w, buf,
		     sizeof buf);
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME);
	CHECK_EQ_INT(((wire_welcome *)msg)->open_alerts, 7);
	wire_free(kind, msg);
	wire_free(0, NULL); /* accepts NULL */
}

/* Decode must fail with UG_EMALFORMED, *msg NULL, this code and field. */
static void
expect_reject(const uint8_t *frame, size_t len, int want_code,
	      const char *want_field, int line)
{
	int kind = -1, code = -1;
	void *msg = (void *)1;
	ug_diag diag = {0};
	ug_err err = wire_decode(frame, len, &kind, &msg, &code, &diag);
	if (err != UG_EMALFORMED || msg != NULL || code != want_code ||
	    strcmp(diag.field, want_field) != 0)
		FAIL("(called from line %d) frame of %zu bytes: expected "
		     "malformed/code %d/field '%s', got %s/code %d/field '%s' "
		     "(%s), msg %s",
		     line, len, want_code, want_field, ug_strerror(err), code,
		     diag.field, diag.reason, msg ? "set" : "NULL");
	CHECK(diag.reason[0] != '\0');
}

static void
test_truncated_frames(void)
{
	expect_reject((const uint8_t *)"", 0,
		      UNGEBRO__V1__ERROR_CODE__E_MALFORMED, "frame", __LINE__);
	expect_reject((const uint8_t *)"\x01", 1,
		      UNGEBRO__V1__ERROR_CODE__E_MALFORMED, "frame", __LINE__);
	sample s;
	sample_init(&s);
	uint8_t buf[1024];
	size_t len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf,
			    sizeof buf);
	/* The payload (field 20) is encoded last, so cutting its tail leaves
	 * a submessage shorter than its length prefix says. */
	expect_reject(buf, len - 1, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
		      "frame", __LINE__);
	expect_reject(buf, len - 5, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
		      "frame", __LINE__);
	/* Header only: an empty protobuf is a valid, empty Envelope, which
	 * decodes; validation is what refuses it. */
	int kind, code;
	void *msg;
	ug_diag diag = {0};
	CHECK_OK(wire_decode(buf, 2, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(wire_validate_envelope(msg, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_VERSION);
	wire_free(kind, msg);
}

static void
test_bad_version(void)
{
	sample s;
	sample_init(&s);
	uint8_t buf[1024];
	size_t len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf,
			    sizeof buf);
	const uint8_t versions[] = {0x00, 0x02, 0x7f, 0xff};
	for (size_t i = 0; i < sizeof versions; i++) {
		buf[0] = versions[i];
		expect_reject(buf, len, UNGEBRO__V1__ERROR_CODE__E_VERSION,
			      "version", __LINE__);
	}
}

static void
test_unknown_kind(void)
{
	sample s;
	sample_init(&s);
	uint8_t buf[1024];
	size_t len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf,
			    sizeof buf);
	/* 0 is FRAME_KIND_UNSPECIFIED; the schema defines 1-11 so far. */
	const uint8_t kinds[] = {0, 12, 13, 0x80, 0xff};
	for (size_t i = 0; i < sizeof kinds; i++) {
		buf[1] = kinds[i];
		expect_reject(buf, len, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
			      "kind", __LINE__);
	}
}

static void
test_oversized(void)
{
	/* An envelope padded (in `supersedes`) to exactly the limit decodes;
	 * one byte more is E_TOO_LARGE before any parsing. */
	size_t cap = WIRE_MAX_FRAME + 16;
	uint8_t *buf = calloc(1, cap);
	uint8_t *pad = calloc(1, WIRE_MAX_FRAME);
	CHECK(buf && pad);
	sample s;
	sample_init(&s);
	s.env.supersedes.data = pad;
	s.env.supersedes.len = WIRE_MAX_FRAME - 300;
	size_t base =
	    wire_encoded_size(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env);
	s.env.supersedes.len += WIRE_MAX_FRAME - base;
	size_t len =
	    encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf, cap);
	CHECK_EQ_INT(len, WIRE_MAX_FRAME);
	int kind, code;
	void *msg;
	ug_diag diag = {0};
	CHECK_OK(wire_decode(buf, len, &kind, &msg, &code, &diag));
	wire_free(kind, msg);
	expect_reject(buf, WIRE_MAX_FRAME + 1,
		      UNGEBRO__V1__ERROR_CODE__E_TOO_LARGE, "frame", __LINE__);
	free(buf);
	free(pad);
}

static void
test_garbage_protobuf(void)
{
	static const struct {
		const char *bytes;
		size_t len;
	} garbage[] = {
	    {"\x01\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", 13},
	    {"\x01\x01\x0a\x10\x01\x02", 6}, /* bytes field cut short */
	    {"\x01\x01\x0a", 3},	     /* tag without length */
	    {"\x01\x01\x12\x80", 4},	     /* unfinished varint */
	    {"\x01\x01\x00\x01", 4},	     /* field number 0 */
	    {"\x01\x01\x0f\x00", 4},	     /* wire type 7 */
	    {"\x01\x02\xa2\x01\x05\x0a\x03\x61", 8}, /* Ack, nested cut */
	};
	for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
		expect_reject((const uint8_t *)garbage[i].bytes,
			      garbage[i].len,
			      UNGEBRO__V1__ERROR_CODE__E_MALFORMED, "frame",
			      (int)(1000 + i));
	/* Pseudo-random bodies never crash the decoder (ASan watches) and
	 * never decode into a valid envelope. */
	uint32_t x = 2463534242u;
	uint8_t buf[300];
	int decoded = 0, valid = 0;
	for (int round = 0; round < 2000; round++) {
		size_t len = 2 + (size_t)(round % 298);
		buf[0] = 1;
		buf[1] = 1;
		for (size_t j = 2; j < len; j++) {
			x ^= x << 13, x ^= x >> 17, x ^= x << 5;
			buf[j] = (uint8_t)x;
		}
		int kind, code;
		void *msg = NULL;
		ug_diag diag = {0};
		if (wire_decode(buf, len, &kind, &msg, &code, &diag) ==
		    UG_OK) {
			decoded++;
			if (wire_validate_envelope(msg, NOW_MS, &diag) == 0)
				valid++;
			wire_free(kind, msg);
		} else {
			CHECK(msg == NULL);
			CHECK_EQ_INT(code,
				     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
		}
	}
	CHECK_EQ_INT(valid, 0);
	(void)decoded;
}

/* A frame and what decoding it gives: NULL decodes, else the reason
 * E_MALFORMED carries. */
typedef struct {
	const char *bytes;
	size_t len;
	const char *reason;
} decode_case;

static void
check_decodes(const decode_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int kind, code;
		void *msg = NULL;
		ug_diag diag = {0};
		ug_err err =
		    wire_decode((const uint8_t *)cases[i].bytes, cases[i].len,
				&kind, &msg, &code, &diag);
		if (!cases[i].reason) {
			if (err != UG_OK)
				FAIL("case %zu: refused: %s", i, diag.reason);
			wire_free(kind, msg);
			continue;
		}
		CHECK(err == UG_EMALFORMED && msg == NULL);
		CHECK_EQ_INT(code, UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
		if (strcmp(diag.reason, cases[i].reason) != 0)
			FAIL("case %zu: reason '%s'", i, diag.reason);
	}
}

/* protobuf allows field numbers 1 to 2^29 - 1; protobuf-c alone would keep
 * a larger one (its tags run to 2^32 - 1) as an unknown field. */
static void
test_field_number_limit(void)
{
	static const char too_high[] =
	    "Hello does not decode as protobuf: a field number is over "
	    "536870911, the largest protobuf allows";
	static const decode_case cases[] = {
	    /* Hello, unknown varint field 2^29 - 1: the largest, kept */
	    {"\x01\x03\xf8\xff\xff\xff\x0f\x01", 8, NULL},
	    /* field 2^29, one past it */
	    {"\x01\x03\x80\x80\x80\x80\x10\x01", 8, too_high},
	    /* field 2^32 - 1, the largest a 5-byte tag holds */
	    {"\x01\x03\xf8\xff\xff\xff\x7f\x01", 8, too_high},
	    /* after a known field, as a length-delimited and a fixed32 */
	    {"\x01\x03\x10\x05\x82\x80\x80\x80\x10\x00", 10, too_high},
	    {"\x01\x03\x85\x80\x80\x80\x10\x00\x00\x00\x00", 11, too_high},
	    /* of any wire type: a group's start or end, or 6 or 7, which
	     * protobuf-c refuses without looking at the number */
	    {"\x01\x03\x83\x80\x80\x80\x10", 7, too_high},
	    {"\x01\x03\x84\x80\x80\x80\x10", 7, too_high},
	    {"\x01\x03\x86\x80\x80\x80\x10\x01", 8, too_high},
	    {"\x01\x03\x87\x80\x80\x80\x10\x01", 8, too_high},
	    /* a group of a field number in range is no such tag */
	    {"\x01\x03\x1b\x1c", 4, "Hello does not decode as protobuf"},
	    /* the first tag decides: a group before the high one, or a
	     * known field (window, a varint) sent length-delimited */
	    {"\x01\x03\x1b\x1c\x80\x80\x80\x80\x10\x01", 10,
	     "Hello does not decode as protobuf"},
	    {"\x01\x03\x12\x00\x80\x80\x80\x80\x10\x01", 10,
	     "Hello does not decode as protobuf"},
	    /* field 0 in a 2-byte tag: refused as the 1-byte one is */
	    {"\x01\x03\x80\x00\x01", 5, "Hello does not decode as protobuf"},
	    /* inside an unknown field's bytes: not read, as protobuf skips it
	     */
	    {"\x01\x03\x1a\x06\x80\x80\x80\x80\x10\x01", 10, NULL},
	};
	check_decodes(cases, sizeof cases / sizeof cases[0]);
	/* At any depth: Envelope.addiction_referral.consent holding field
	 * 2^29, and the event id of such an envelope is not read either. */
	static const uint8_t deep[] = {
	    0x01, 0x01, 0x0a, 0x10, 1,	  2,	3,    4,    5,	 6,    7,
	    8,	  9,	10,   11,   12,	  13,	14,   15,   16,	 0xc2, 0x01,
	    0x08, 0x22, 0x06, 0x80, 0x80, 0x80, 0x80, 0x10, 0x01};
	int kind, code;
	void *msg = NULL;
	ug_diag diag = {0};
	CHECK(wire_decode(deep, sizeof deep, &kind, &msg, &code, &diag) ==
	      UG_EMALFORMED);
	CHECK(strcmp(diag.reason,
		     "Envelope does not decode as protobuf: a field number is "
		     "over 536870911, the largest protobuf allows") == 0);
	uint8_t id[WIRE_EVENT_ID_LEN];
	CHECK(!wire_event_id_peek(deep, sizeof deep, id));
	/* The same envelope with field 2^29 - 1 there decodes. */
	uint8_t ok[sizeof deep];
	memcpy(ok, deep, sizeof deep);
	memcpy(ok + 25, "\xf8\xff\xff\xff\x0f", 5);
	CHECK_OK(wire_decode(ok, sizeof ok, &kind, &msg, &code, &diag));
	wire_free(kind, msg);
	CHECK(wire_event_id_peek(ok, sizeof ok, id));
}

/* A varint of ten bytes holds 64 bits only when its tenth byte is 00 or
 * 01; protobuf-c takes a wider one by its low bits, Go's decoder refuses
 * it, and the hub refuses it naming the field (PROTOCOL.md §6). */
static void
test_varint_over_64_bits(void)
{
	static const decode_case cases[] = {
	    /* Hello.window 2^64 - 1: ten bytes, the tenth 01, decodes */
	    {"\x01\x03\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 13, NULL},
	    /* one bit more: the tenth byte 02 */
	    {"\x01\x03\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 13,
	     "Hello does not decode as protobuf: window is a varint of more "
	     "than 64 bits"},
	    /* 0 padded to ten bytes with bits past 64 set: 7f */
	    {"\x01\x03\x10\x80\x80\x80\x80\x80\x80\x80\x80\x80\x7f", 13,
	     "Hello does not decode as protobuf: window is a varint of more "
	     "than 64 bits"},
	    /* an unknown field (5) after a known one */
	    {"\x01\x03\x10\x05\x28\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02",
	     15,
	     "Hello does not decode as protobuf: an unknown field is a varint "
	     "of more than 64 bits"},
	    /* an eleventh byte stays a frame that does not decode */
	    {"\x01\x03\x10\x80\x80\x80\x80\x80\x80\x80\x80\x80\x82\x00", 14,
	     "Hello does not decode as protobuf"},
	    /* A length is read in at most five bytes: written in six (an
	     * agency of 3), the frame does not decode there, and the
	     * varint or the field number after it is not named. */
	    {"\x01\x01\x12\x83\x80\x80\x80\x80\x00"
	     "abc"
	     "\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
	     23, "Envelope does not decode as protobuf"},
	    {"\x01\x01\x12\x83\x80\x80\x80\x80\x00"
	     "abc"
	     "\x80\x80\x80\x80\x10\x00",
	     18, "Envelope does not decode as protobuf"},
	    /* in five it is read, and the varint after it named */
	    {"\x01\x01\x12\x83\x80\x80\x80\x00"
	     "abc"
	     "\x30\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02",
	     22,
	     "Envelope does not decode as protobuf: occurred_at is a varint "
	     "of more than 64 bits"},
	};
	check_decodes(cases, sizeof cases / sizeof cases[0]);
	/* At depth, named by its path: Envelope.addiction_referral.consent
	 * .given, and in an unknown field (9) of absence_report. */
	static const uint8_t deep[] = {
	    0x01, 0x01, 0x0a, 0x10, 1,	  2,	3,    4,    5,
	    6,	  7,	8,    9,    10,	  11,	12,   13,   14,
	    15,	  16,	0xc2, 0x01, 0x0d, 0x22, 0x0b, 0x08, 0x80,
	    0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
	int kind, code;
	void *msg = NULL;
	ug_diag diag = {0};
	CHECK(wire_decode(deep, sizeof deep, &kind, &msg, &code, &diag) ==
	      UG_EMALFORMED);
	CHECK_EQ_STR(diag.reason,
		     "Envelope does not decode as protobuf: "
		     "addiction_referral.consent.given is a varint of more "
		     "than 64 bits");
	uint8_t id[WIRE_EVENT_ID_LEN];
	CHECK(!wire_event_id_peek(deep, sizeof deep, id));
	uint8_t ok[sizeof deep];
	memcpy(ok, deep, sizeof deep);
	ok[sizeof ok - 1] = 0x01;
	CHECK_OK(wire_decode(ok, sizeof ok, &kind, &msg, &code, &diag));
	wire_free(kind, msg);
	static const uint8_t unknown[] = {
	    0x01, 0x01, 0x0a, 0x10, 1,	  2,	3,    4,    5,
	    6,	  7,	8,    9,    10,	  11,	12,   13,   14,
	    15,	  16,	0xa2, 0x01, 0x0b, 0x48, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x03};
	CHECK(wire_decode(unknown, sizeof unknown, &kind, &msg, &code,
			  &diag) == UG_EMALFORMED);
	CHECK_EQ_STR(diag.reason,
		     "Envelope does not decode as protobuf: an unknown field "
		     "in absence_report is a varint of more than 64 bits");
}

/* Validate s and expect `code` with the diag naming `field`. */
static void
expect_invalid(const sample *s, int64_t now, int code, const char *field,
	       int line)
{
	ug_diag diag = {0};
	int got = wire_validate_envelope(&s->env, now, &diag);
	if (got != code || strcmp(diag.field, field) != 0)
		FAIL("(called from line %d) expected code %d field '%s', got "
		     "code %d field '%s' (%s)",
		     line, code, field, got, diag.field, diag.reason);
	/* Reasons reach logs and acks: never personal data. */
	if (s->env.cpr && s->env.cpr[0] && strstr(diag.reason, s->env.cpr))
		FAIL("(line %d) reason contains the cpr: %s", line,
		     diag.reason);
	CHECK(diag.reason[0] != '\0');
}

#define INVALID(s, code, field)                                               \
	expect_invalid(&(s), NOW_MS, UNGEBRO__V1__ERROR_CODE__##code, field,  \
		       __LINE__)

static void
test_validate_good(void)
{
	sample s;
	sample_init(&s);
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	/* Edges that are still valid. */
	s.absence.lessons_absent = s.absence.lessons_expected;
	s.absence.period_start = s.absence.period_end;
	s.absence.grade = 10;
	s.env.valid_until = NOW_MS; /* expires after now, not at it */
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	s.absence.lessons_absent = 0;
	s.env.valid_until = NOW_MS + 60000;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	char school[WIRE_TEXT_MAX + 1];
	memset(school, 'x', WIRE_TEXT_MAX);
	school[WIRE_TEXT_MAX] = '\0';
	s.absence.school = school;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
}

static void
test_validate_event_id(void)
{
	const size_t lens[] = {0, 1, 15, 17, 32};
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		sample s;
		sample_init(&s);
		uint8_t id[32] = {0};
		s.env.event_id.data = id;
		s.env.event_id.len = lens[i];
		INVALID(s, E_MALFORMED, "event_id");
	}
}

static void
test_validate_payload_type(void)
{
	sample s;
	sample_init(&s);
	s.env.type = UNGEBRO__V1__EVENT_TYPE__DROPOUT; /* absence payload */
	INVALID(s, E_MALFORMED, "payload");
	sample_init(&s);
	s.env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD__NOT_SET;
	INVALID(s, E_MALFORMED, "payload");
	sample_init(&s);
	s.env.type = UNGEBRO__V1__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED;
	INVALID(s, E_MALFORMED, "type");
	sample_init(&s);
	s.env.type = (Ungebro__V1__EventType)99;
	INVALID(s, E_MALFORMED, "type");
}

static void
test_validate_cpr(void)
{
	static const char *const bad[] = {
	    "",		  "010203-1234", "3102031234",
	    "290201123",  "01020312345", "010203123x",
	    "0113031234", "2902011234",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sample s;
		sample_init(&s);
		s.env.cpr = (char *)bad[i];
		INVALID(s, E_MALFORMED, "cpr");
	}
	/* Special category needs a cpr just the same. */
	sample s;
	sample_init(&s);
	Ungebro__V1__AddictionReferral ref;
	ungebro__v1__addiction_referral__init(&ref);
	ref.service = "rusmiddelcenter";
	ref.date = "2024-05-02";
	ref.stage = UNGEBRO__V1__REFERRAL_STAGE__REFERRED;
	s.env.type = UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL;
	s.env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL;
	s.env.addiction_referral = &ref;
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY;
	s.env.cpr = "";
	INVALID(s, E_MALFORMED, "cpr");
	s.env.cpr = TEST_CPR;
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	/* Health data is never merely PERSONAL. */
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	INVALID(s, E_MALFORMED, "sensitivity");
}

static void
test_validate_counts(void)
{
	sample s;
	sample_init(&s);
	s.absence.lessons_absent = 81;
	INVALID(s, E_MALFORMED, "lessons_absent");
	sample_init(&s);
	s.absence.lessons_expected = 0;
	s.absence.lessons_absent = 0;
	INVALID(s, E_MALFORMED, "lessons_expected");
	sample_init(&s);
	s.absence.kind = UNGEBRO__V1__ABSENCE_KIND__ABSENCE_KIND_UNSPECIFIED;
	INVALID(s, E_MALFORMED, "kind");
	sample_init(&s);
	s.absence.kind = (Ungebro__V1__AbsenceKind)5;
	INVALID(s, E_MALFORMED, "kind");
	sample_init(&s);
	s.absence.grade = 11;
	INVALID(s, E_MALFORMED, "grade");
}

static void
test_validate_dates(void)
{
	sample s;
	sample_init(&s);
	s.absence.period_start = "2024-05-29";
	s.absence.period_end = "2024-05-28";
	INVALID(s, E_MALFORMED, "period_end");
	sample_init(&s);
	s.absence.period_start = "2023-05-01"; /* over a year */
	INVALID(s, E_MALFORMED, "period_end");
	sample_init(&s);
	s.absence.period_start = "2024-02-30";
	INVALID(s, E_MALFORMED, "period_start");
	sample_init(&s);
	s.absence.period_end = "";
	INVALID(s, E_MALFORMED, "period_end");
	sample_init(&s);
	s.env.occurred_at = 0;
	INVALID(s, E_MALFORMED, "occurred_at");
	sample_init(&s);
	s.absence.school = "";
	INVALID(s, E_MALFORMED, "school");
	sample_init(&s);
	char school[WIRE_TEXT_MAX + 2];
	memset(school, 'x', WIRE_TEXT_MAX + 1);
	school[WIRE_TEXT_MAX + 1] = '\0';
	s.absence.school = school;
	INVALID(s, E_MALFORMED, "school");
}

static void
test_validate_anonymous(void)
{
	sample s;
	sample_init(&s);
	Ungebro__V1__AddictionReferral ref;
	ungebro__v1__addiction_referral__init(&ref);
	ref.service = "rusmiddelcenter";
	ref.date = "2024-05-02";
	ref.stage = UNGEBRO__V1__REFERRAL_STAGE__REFERRED;
	s.env.type = UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL;
	s.env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL;
	s.env.addiction_referral = &ref;
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__ANONYMOUS;
	/* Anonymous treatment must never be linked to a person. */
	INVALID(s, E_MALFORMED, "cpr");
	s.env.cpr = "";
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	/* Only addiction referrals may be anonymous. */
	sample_init(&s);
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__ANONYMOUS;
	s.env.cpr = "";
	INVALID(s, E_MALFORMED, "sensitivity");
	sample_init(&s);
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__SENSITIVITY_UNSPECIFIED;
	INVALID(s, E_MALFORMED, "sensitivity");
}

static void
test_validate_stale(void)
{
	sample s;
	sample_init(&s);
	s.env.valid_until = NOW_MS - 1;
	INVALID(s, E_STALE, "valid_until");
	s.env.valid_until = 1;
	INVALID(s, E_STALE, "valid_until");
}

static void
test_validate_schema_version(void)
{
	const uint32_t versions[] = {0, 2, 1000};
	for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
		sample s;
		sample_init(&s);
		s.env.schema_version = versions[i];
		INVALID(s, E_VERSION, "schema_version");
	}
}

static void
test_validate_misc(void)
{
	sample s;
	sample_init(&s);
	s.env.agency = "";
	INVALID(s, E_DENIED, "agency");
	sample_init(&s);
	uint8_t sup[5] = {0};
	s.env.supersedes.data = sup;
	s.env.supersedes.len = sizeof sup;
	INVALID(s, E_MALFORMED, "supersedes");

	/* A contact assignment: caseworker and from required, to >= from. */
	sample_init(&s);
	Ungebro__V1__ContactAssignment ca;
	ungebro__v1__contact_assignment__init(&ca);
	ca.caseworker = "cw-anna";
	ca.role = "contact";
	ca.from = "2024-01-01";
	ca.to = "2024-12-31";
	s.env.type = UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT;
	s.env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT;
	s.env.contact_assignment = &ca;
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	ca.to = "";
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	ca.to = "2023-12-31";
	INVALID(s, E_MALFORMED, "to");
	ca.to = "";
	ca.from = "";
	INVALID(s, E_MALFORMED, "from");
	ca.from = "2024-01-01";
	ca.caseworker = "";
	INVALID(s, E_MALFORMED, "caseworker");
}

/* ---- every string field, every date field, UTF-8 ---- */

/* One valid envelope of each payload type; payload_case picks which. */
typedef struct {
	wire_envelope env;
	uint8_t id[WIRE_EVENT_ID_LEN];
	Ungebro__V1__AbsenceReport absence;
	Ungebro__V1__Dropout dropout;
	Ungebro__V1__DropoutRisk risk;
	Ungebro__V1__Enrolment enrolment;
	Ungebro__V1__AddictionReferral referral;
	Ungebro__V1__Consent consent;
	Ungebro__V1__ReadinessAssessment readiness;
	Ungebro__V1__ContactAssignment assignment;
	Ungebro__V1__BenefitStatus benefit;
	Ungebro__V1__MissedActivation missed;
	Ungebro__V1__SchoolLeaving leaving;
	Ungebro__V1__DeskMembership desk;
} any_sample;

static const int payload_cases[] = {
    UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING,
    UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP,
};
#define NCASES (sizeof payload_cases / sizeof payload_cases[0])

/* Every string field set (optional ones too), so each can be broken. */
static void
any_init(any_sample *s, int which)
{
	memset(s, 0, sizeof *s);
	ungebro__v1__envelope__init(&s->env);
	memset(s->id, 0x5a, sizeof s->id);
	s->env.event_id.data = s->id;
	s->env.event_id.len = sizeof s->id;
	s->env.agency = "agency-a";
	s->env.schema_version = 1;
	s->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	s->env.occurred_at = 19870 * UG_DAY_MS;
	s->env.cpr = TEST_CPR;
	s->env.payload_case = which;
	switch (which) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
		ungebro__v1__absence_report__init(&s->absence);
		s->absence.school = "280017";
		s->absence.period_start = "2024-05-01";
		s->absence.period_end = "2024-05-28";
		s->absence.lessons_expected = 80;
		s->absence.kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
		s->env.absence_report = &s->absence;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__DROPOUT;
		ungebro__v1__dropout__init(&s->dropout);
		s->dropout.institution = "eud-vest";
		s->dropout.programme = "smed";
		s->dropout.date = "2024-05-02";
		s->dropout.reason = "r1";
		s->env.dropout = &s->dropout;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK;
		ungebro__v1__dropout_risk__init(&s->risk);
		s->risk.institution = "eud-vest";
		s->risk.programme = "smed";
		s->risk.date = "2024-05-02";
		s->risk.reason = "r1";
		s->env.dropout_risk = &s->risk;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__ENROLMENT;
		ungebro__v1__enrolment__init(&s->enrolment);
		s->enrolment.institution = "gym-a";
		s->enrolment.programme = "stx";
		s->enrolment.start = "2024-08-12";
		s->enrolment.end = "2024-12-20";
		s->env.enrolment = &s->enrolment;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL;
		s->env.sensitivity =
		    UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY;
		ungebro__v1__addiction_referral__init(&s->referral);
		ungebro__v1__consent__init(&s->consent);
		s->referral.service = "rmc";
		s->referral.date = "2024-05-02";
		s->referral.stage = UNGEBRO__V1__REFERRAL_STAGE__REFERRED;
		s->consent.given = 1;
		s->consent.scope = "referral";
		s->consent.expires = "2025-05-01";
		s->referral.consent = &s->consent;
		s->env.addiction_referral = &s->referral;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT;
		ungebro__v1__readiness_assessment__init(&s->readiness);
		s->readiness.school = "280017";
		s->readiness.grade = 8;
		s->readiness.date = "2024-01-15";
		s->env.readiness_assessment = &s->readiness;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT;
		ungebro__v1__contact_assignment__init(&s->assignment);
		s->assignment.caseworker = "cw-anna";
		s->assignment.role = "contact";
		s->assignment.from = "2024-01-01";
		s->assignment.to = "2024-12-31";
		s->env.contact_assignment = &s->assignment;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS;
		ungebro__v1__benefit_status__init(&s->benefit);
		s->benefit.jobcenter = "jc-a";
		s->benefit.benefit = UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT;
		s->benefit.start = "2024-02-01";
		s->benefit.stop = "2024-03-01";
		s->benefit.reason = "job";
		s->env.benefit_status = &s->benefit;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION;
		ungebro__v1__missed_activation__init(&s->missed);
		s->missed.jobcenter = "jc-a";
		s->missed.date = "2024-02-05";
		s->missed.activity = "a7";
		s->env.missed_activation = &s->missed;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING;
		ungebro__v1__school_leaving__init(&s->leaving);
		s->leaving.school = "280017";
		s->leaving.grade = 9;
		s->leaving.date = "2024-06-21";
		s->leaving.kind = UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE;
		s->env.school_leaving = &s->leaving;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP:
		s->env.type = UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP;
		s->env.sensitivity = UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL;
		s->env.cpr = "";
		ungebro__v1__desk_membership__init(&s->desk);
		s->desk.desk = "duty-desk";
		s->desk.caseworker = "cw-anna";
		s->desk.from = "2024-01-01";
		s->desk.to = "2024-12-31";
		s->env.desk_membership = &s->desk;
		break;
	default:
		FAIL("no sample for payload case %d", which);
	}
}

/* The string fields of msg (and its set sub-messages): their char *
 * slots and dotted paths, found from the descriptors, so a field added
 * to the schema is tried here without editing this test. */
typedef struct {
	char **slot;
	char path[96];
	const char *name;
} str_field;

static size_t
string_fields(ProtobufCMessage *m, const char *prefix, str_field *out,
	      size_t n, size_t cap)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *base = (char *)m;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		CHECK(f->label != PROTOBUF_C_LABEL_REPEATED);
		char path[96];
		snprintf(path, sizeof path, "%s%s%s", prefix,
			 prefix[0] ? "." : "", f->name);
		if (f->type == PROTOBUF_C_TYPE_STRING && n < cap) {
			out[n].slot = (char **)(base + f->offset);
			snprintf(out[n].path, sizeof out[n].path, "%s", path);
			out[n].name = f->name;
			n++;
		} else if (f->type == PROTOBUF_C_TYPE_MESSAGE &&
			   *(ProtobufCMessage **)(base + f->offset)) {
			n = string_fields(
			    *(ProtobufCMessage **)(base + f->offset), path,
			    out, n, cap);
		}
	}
	return n;
}

/* Refused with code; diag.field the field's name, the reason starting
 * with its path and containing `what`. */
static void
expect_field_refused(const any_sample *s, int code, const str_field *f,
		     const char *what)
{
	ug_diag diag = {0};
	int got = wire_validate_envelope(&s->env, NOW_MS, &diag);
	if (got != code || strcmp(diag.field, f->name) != 0 ||
	    strstr(diag.reason, f->path) != diag.reason ||
	    !strstr(diag.reason, what))
		FAIL("%s with %s: expected code %d field '%s', got code %d "
		     "field '%s' reason '%s'",
		     f->path, what, code, f->name, got, diag.field,
		     diag.reason);
}

static void
test_every_sample_valid(void)
{
	for (size_t c = 0; c < NCASES; c++) {
		any_sample s;
		any_init(&s, payload_cases[c]);
		ug_diag diag = {0};
		int got = wire_validate_envelope(&s.env, NOW_MS, &diag);
		if (got != UNGEBRO__V1__ERROR_CODE__OK)
			FAIL("%s sample refused: %s",
			     wire_event_type_name(s.env.type), diag.reason);
	}
}

static void
test_every_string_limited(void)
{
	/* 256 bytes of 2-byte characters pass; one byte more does not. */
	char at_limit[WIRE_TEXT_MAX + 1], over[WIRE_TEXT_MAX + 2];
	for (int i = 0; i < WIRE_TEXT_MAX; i += 2)
		memcpy(at_limit + i, "\xc3\xb8", 2);
	at_limit[WIRE_TEXT_MAX] = '\0';
	memcpy(over, at_limit, WIRE_TEXT_MAX);
	over[WIRE_TEXT_MAX] = 'x';
	over[WIRE_TEXT_MAX + 1] = '\0';
	size_t tried = 0;
	for (size_t c = 0; c < NCASES; c++) {
		any_sample s;
		any_init(&s, payload_cases[c]);
		str_field f[16];
		size_t n = string_fields(&s.env.base, "", f, 0, 16);
		CHECK(n >= 3); /* agency, cpr and the payload's */
		for (size_t i = 0; i < n; i++) {
			char *keep = *f[i].slot;
			*f[i].slot = over;
			expect_field_refused(
			    &s, UNGEBRO__V1__ERROR_CODE__E_MALFORMED, &f[i],
			    "is 257 bytes, over the limit of 256");
			*f[i].slot = at_limit;
			ug_diag diag = {0};
			int got =
			    wire_validate_envelope(&s.env, NOW_MS, &diag);
			/* At the limit a field may still fail its own rule
			 * (a cpr, a date, an id), never for the text limit. */
			CHECK(got == UNGEBRO__V1__ERROR_CODE__OK ||
			      strstr(diag.reason, "limit of 256") == NULL);
			*f[i].slot = keep;
			tried++;
		}
	}
	/* agency and cpr in each of the 11 samples, and the 38 strings of
	 * the payloads (Consent's two included). */
	CHECK_EQ_INT(tried, 60);
}

static void
test_every_string_utf8(void)
{
	/* Windows-1252 0xD8 (Ø), a cut 2-byte character, an overlong '/',
	 * a UTF-16 surrogate, and a code point above U+10FFFF. */
	static const char *const bad[] = {
	    "\xd8rhus",
	    "Kj\xc3",
	    /* Two literals, so 'b' is not read as a hex digit; the
	     * parentheses tell clang the missing comma is meant. */
	    ("a\xc0\xaf"
	     "b"),
	    "\xed\xa0\x80",
	    "\xf4\x90\x80\x80",
	};
	for (size_t c = 0; c < NCASES; c++) {
		any_sample s;
		any_init(&s, payload_cases[c]);
		str_field f[16];
		size_t n = string_fields(&s.env.base, "", f, 0, 16);
		for (size_t i = 0; i < n; i++) {
			char *keep = *f[i].slot;
			for (size_t b = 0; b < sizeof bad / sizeof bad[0];
			     b++) {
				*f[i].slot = (char *)bad[b];
				expect_field_refused(
				    &s, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
				    &f[i], "is not valid UTF-8");
			}
			*f[i].slot = keep;
		}
	}
	any_sample s;
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT);
	s.dropout.programme = "\xd8konomi";
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.reason, "dropout.programme is not valid UTF-8");
	CHECK_EQ_STR(diag.field, "programme");
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL);
	s.consent.scope = "\xe6";
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.reason,
		     "addiction_referral.consent.scope is not valid UTF-8");
	/* Danish letters as UTF-8 are fine wherever text is free. */
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT);
	s.dropout.institution = "K\xc3\xb8ge Handelsskole \xc3\x86\xc3\x98";
	s.dropout.programme = "\xc3\xb8konomi \xe2\x82\xac \xf0\x9d\x84\x9e";
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
}

/* wire_assignment_role: role_kind when set, else the text; anything
 * else invalid, and refused by validation with a reason naming the
 * accepted roles. */
static void
test_assignment_role(void)
{
	enum {
		UNSET = UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_UNSPECIFIED,
		CONTACT = UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT,
		GUIDANCE = UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE,
		MENTOR = UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR,
		BAD = WIRE_ROLE_INVALID,
	};
	static const struct {
		const char *text;
		int kind, want;
		const char *field; /* refused: the diag's field */
	} cases[] = {
	    /* Older senders: the text alone, exactly. */
	    {NULL, UNSET, CONTACT, NULL},
	    {"", UNSET, CONTACT, NULL},
	    {"contact", UNSET, CONTACT, NULL},
	    {"guidance", UNSET, GUIDANCE, NULL},
	    {"mentor", UNSET, MENTOR, NULL},
	    {"coach", UNSET, BAD, "role"},
	    {"Contact", UNSET, BAD, "role"},
	    {"contact ", UNSET, BAD, "role"},
	    {"kontaktperson", UNSET, BAD, "role"},
	    /* role_kind decides; an empty text agrees with anything. */
	    {"", GUIDANCE, GUIDANCE, NULL},
	    {NULL, MENTOR, MENTOR, NULL},
	    {"", CONTACT, CONTACT, NULL},
	    {"guidance", GUIDANCE, GUIDANCE, NULL},
	    {"mentor", MENTOR, MENTOR, NULL},
	    /* A text that says otherwise, or a role_kind nobody knows. */
	    {"contact", GUIDANCE, BAD, "role"},
	    {"mentor", CONTACT, BAD, "role"},
	    {"coach", MENTOR, BAD, "role"},
	    {"", 4, BAD, "role_kind"},
	    {"contact", 99, BAD, "role_kind"},
	    {"", -1, BAD, "role_kind"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		any_sample s;
		any_init(&s,
			 UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT);
		s.assignment.role = (char *)cases[i].text;
		s.assignment.role_kind =
		    (Ungebro__V1__ContactRole)cases[i].kind;
		int got = wire_assignment_role(&s.assignment);
		if (got != cases[i].want)
			FAIL(
			    "case %zu (role '%s', role_kind %d): got %d, want "
			    "%d",
			    i, cases[i].text ? cases[i].text : "(null)",
			    cases[i].kind, got, cases[i].want);
		ug_diag diag = {0};
		int code = wire_validate_envelope(&s.env, NOW_MS, &diag);
		if (!cases[i].field) {
			CHECK_EQ_INT(code, UNGEBRO__V1__ERROR_CODE__OK);
			continue;
		}
		CHECK_EQ_INT(code, UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
		CHECK_EQ_STR(diag.field, cases[i].field);
		CHECK(strncmp(diag.reason, "contact_assignment.", 19) == 0);
	}
	/* The reason a sender reads names every accepted role. */
	any_sample s;
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT);
	s.assignment.role = "coach";
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.reason, "contact_assignment.role is not one of "
				  "contact, guidance or mentor (or empty, "
				  "meaning contact)");
	s.assignment.role = "contact";
	s.assignment.role_kind =
	    UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.reason, "contact_assignment.role contradicts "
				  "contact_assignment.role_kind");
	/* Like every enum field's, the reason names the number sent. */
	s.assignment.role = "";
	s.assignment.role_kind = (Ungebro__V1__ContactRole)7;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.reason, "contact_assignment.role_kind 7 is not a "
				  "known ContactRole");

	/* The names the text field carries for older readers. */
	CHECK_EQ_STR(wire_contact_role_name(CONTACT), "contact");
	CHECK_EQ_STR(wire_contact_role_name(GUIDANCE), "guidance");
	CHECK_EQ_STR(wire_contact_role_name(MENTOR), "mentor");
	CHECK(wire_contact_role_name(UNSET) == NULL);
	CHECK(wire_contact_role_name(4) == NULL);
	CHECK(wire_contact_role_name(BAD) == NULL);

	/* role_kind survives the wire: pack, unpack, decide again. */
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT);
	s.assignment.role = "";
	s.assignment.role_kind =
	    UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE;
	uint8_t buf[1024];
	size_t len = wire_pack(&s.env, buf);
	CHECK(len > 0 && len <= sizeof buf);
	wire_envelope *back =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, buf, len);
	CHECK(back != NULL);
	CHECK_EQ_INT(wire_assignment_role(back->contact_assignment), GUIDANCE);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
}

static void
test_ids_fit_the_store(void)
{
	/* Caseworker and desk ids: at most 63 bytes, what the store keeps. */
	char id63[64], id64[65];
	memset(id63, 'c', 63);
	id63[63] = '\0';
	memset(id64, 'c', 64);
	id64[64] = '\0';
	any_sample s;
	ug_diag diag = {0};
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT);
	s.assignment.caseworker = id63;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
	s.assignment.caseworker = id64;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.reason, "contact_assignment.caseworker is 64 bytes, "
				  "over the limit of 63 for an id");
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP);
	s.desk.desk = id63;
	s.desk.caseworker = id63;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
	s.desk.desk = id64;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.field, "desk");
	s.desk.desk = id63;
	s.desk.caseworker = id64;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.field, "caseworker");
}

/* Refused E_MALFORMED with exactly this reason, diag.field the leaf. */
static void
expect_reason(const any_sample *s, const char *field, const char *reason,
	      int line)
{
	ug_diag diag = {0};
	int got = wire_validate_envelope(&s->env, NOW_MS, &diag);
	if (got != UNGEBRO__V1__ERROR_CODE__E_MALFORMED ||
	    strcmp(diag.field, field) != 0 || strcmp(diag.reason, reason) != 0)
		FAIL("(line %d) expected E_MALFORMED '%s' \"%s\", got %d '%s' "
		     "\"%s\"",
		     line, field, reason, got, diag.field, diag.reason);
}
#define REASON(s, field, reason) expect_reason(&(s), field, reason, __LINE__)

static void
test_payload_rules(void)
{
	/* PROTOCOL.md §3 "Payload rules": the reason names the field by its
	 * path, and an enum takes only the values the schema defines. */
	any_sample s;
	ug_diag diag = {0};
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT);
	s.enrolment.end = "2024-08-11";
	REASON(s, "end", "enrolment.end is before enrolment.start");
	s.enrolment.end = "2024-08-12"; /* one day: fine */
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
	s.enrolment.end_reason = (Ungebro__V1__EnrolmentEndReason)9;
	REASON(s, "end_reason",
	       "enrolment.end_reason 9 is not a known EnrolmentEndReason");
	s.enrolment.end_reason =
	    UNGEBRO__V1__ENROLMENT_END_REASON__DROPPED_OUT;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
	s.enrolment.end = "";
	REASON(s, "end_reason",
	       "enrolment.end_reason is set without enrolment.end");
	s.enrolment.end_reason = 0; /* still enrolled */
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
	s.enrolment.institution = "";
	REASON(s, "institution", "enrolment.institution is required");

	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL);
	s.referral.stage = 0;
	REASON(s, "stage", "addiction_referral.stage is required");
	s.referral.stage = (Ungebro__V1__ReferralStage)4;
	REASON(s, "stage",
	       "addiction_referral.stage 4 is not a known "
	       "ReferralStage");
	s.referral.stage = UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);

	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT);
	s.absence.kind = (Ungebro__V1__AbsenceKind)5;
	REASON(s, "kind", "absence_report.kind 5 is not a known AbsenceKind");
	s.absence.kind = 0;
	REASON(s, "kind", "absence_report.kind is required");
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT);
	s.absence.school = "";
	REASON(s, "school", "absence_report.school is required");
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT);
	s.absence.period_end = "";
	REASON(s, "period_end",
	       "absence_report.period_end is required (YYYY-MM-DD)");
	s.absence.period_end = "2024-04-30";
	REASON(
	    s, "period_end",
	    "absence_report.period_end is before absence_report.period_start");

	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS);
	s.benefit.benefit = (Ungebro__V1__BenefitKind)4;
	REASON(s, "benefit",
	       "benefit_status.benefit 4 is not a known BenefitKind");
	s.benefit.benefit = UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT;
	s.benefit.stop = "2024-01-31";
	REASON(s, "stop",
	       "benefit_status.stop is before benefit_status.start");

	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING);
	s.leaving.kind = (Ungebro__V1__LeavingKind)3;
	REASON(s, "kind", "school_leaving.kind 3 is not a known LeavingKind");

	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT);
	s.assignment.caseworker = "Cw Anna!";
	REASON(s, "caseworker",
	       "contact_assignment.caseworker is not an id (1-63 of a-z 0-9 . "
	       "_ -, starting with a letter or digit, holding no CPR number)");
	s.assignment.caseworker = "-anna";
	REASON(s, "caseworker",
	       "contact_assignment.caseworker is not an id (1-63 of a-z 0-9 . "
	       "_ -, starting with a letter or digit, holding no CPR number)");
	/* A CPR typed where the caseworker belongs would reach logs and
	 * metric labels as a staff id. */
	s.assignment.caseworker = "cw-010190-1234";
	REASON(s, "caseworker",
	       "contact_assignment.caseworker is not an id (1-63 of a-z 0-9 . "
	       "_ -, starting with a letter or digit, holding no CPR number)");
	s.assignment.caseworker = "";
	REASON(s, "caseworker", "contact_assignment.caseworker is required");
	/* Not registered (yet) is still an id. */
	s.assignment.caseworker = "nobody";
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
	s.assignment.to = "2023-12-31";
	REASON(s, "to",
	       "contact_assignment.to is before contact_assignment.from");

	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP);
	s.desk.desk = "Duty Desk";
	REASON(s, "desk",
	       "desk_membership.desk is not an id (1-63 of a-z 0-9 "
	       ". _ -, starting with a letter or digit, holding no CPR "
	       "number)");

	/* A correction of itself. */
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT);
	s.env.supersedes = s.env.event_id;
	REASON(s, "supersedes",
	       "supersedes names the event itself (it must be the id of the "
	       "earlier event it corrects)");

	/* The sensitivity the type allows comes before the cpr it implies. */
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT);
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL;
	REASON(s, "sensitivity",
	       "sensitivity ORGANISATIONAL is only for desk memberships");
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP);
	s.env.cpr = TEST_CPR;
	REASON(s, "cpr", "cpr must be empty in an ORGANISATIONAL event");
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	REASON(s, "sensitivity",
	       "sensitivity of a desk membership must be ORGANISATIONAL");
	/* Special category on another type is taken as it is. */
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT);
	s.env.sensitivity = UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag), 0);
}

static void
test_every_date_field(void)
{
	/* PROTOCOL.md's list of date fields: each refuses a non-date, and
	 * no other field does. */
	static const char *const dates[] = {
	    "absence_report.period_start",
	    "absence_report.period_end",
	    "dropout.date",
	    "dropout_risk.date",
	    "enrolment.start",
	    "enrolment.end",
	    "addiction_referral.date",
	    "addiction_referral.consent.expires",
	    "readiness_assessment.date",
	    "contact_assignment.from",
	    "contact_assignment.to",
	    "benefit_status.start",
	    "benefit_status.stop",
	    "missed_activation.date",
	    "school_leaving.date",
	    "desk_membership.from",
	    "desk_membership.to",
	};
	static const char *const not_dates[] = {
	    "2026-02-30", "never",	"2026-2-3", "2026-02-03T00:00",
	    "03-02-2026", "2026-13-01", "20260203",
	};
	size_t found = 0;
	for (size_t c = 0; c < NCASES; c++) {
		any_sample s;
		any_init(&s, payload_cases[c]);
		str_field f[16];
		size_t n = string_fields(&s.env.base, "", f, 0, 16);
		for (size_t i = 0; i < n; i++) {
			if (strcmp(f[i].path, "cpr") == 0 ||
			    strcmp(f[i].path, "contact_assignment.role") ==
				0 ||
			    strcmp(f[i].path,
				   "contact_assignment.caseworker") == 0 ||
			    strcmp(f[i].path, "desk_membership.desk") == 0 ||
			    strcmp(f[i].path, "desk_membership.caseworker") ==
				0)
				continue; /* their own rules, tested above */
			bool is_date = false;
			for (size_t k = 0; k < sizeof dates / sizeof dates[0];
			     k++)
				is_date |= strcmp(dates[k], f[i].path) == 0;
			found += is_date;
			char *keep = *f[i].slot;
			for (size_t b = 0;
			     b < sizeof not_dates / sizeof not_dates[0]; b++) {
				*f[i].slot = (char *)not_dates[b];
				ug_diag diag = {0};
				int got = wire_validate_envelope(
				    &s.env, NOW_MS, &diag);
				if (is_date)
					expect_field_refused(
					    &s,
					    UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
					    &f[i], "is not a valid date");
				else if (got != UNGEBRO__V1__ERROR_CODE__OK)
					FAIL("%s = '%s' refused: %s",
					     f[i].path, not_dates[b],
					     diag.reason);
			}
			*f[i].slot = keep;
		}
	}
	CHECK_EQ_INT(found, sizeof dates / sizeof dates[0]);
	/* Consent.expires: empty means until withdrawn. */
	any_sample s;
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL);
	s.consent.expires = "";
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
}

static void
test_validation_order(void)
{
	/* Each step's failure wins over every later step's (PROTOCOL.md,
	 * "Validation order"): break everything, then mend step by step. */
	any_sample s;
	any_init(&s, UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT);
	s.env.schema_version = 2;
	s.env.event_id.len = 3;
	s.env.agency = "";
	s.dropout.programme = "\xd8";
	s.env.valid_until = 1;
	ug_diag diag = {0};
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_VERSION);
	s.env.schema_version = 1;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.field, "event_id");
	s.env.event_id.len = WIRE_EVENT_ID_LEN;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_DENIED);
	CHECK_EQ_STR(diag.field, "agency");
	s.env.agency = "agency-a";
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_MALFORMED);
	CHECK_EQ_STR(diag.field, "programme");
	s.dropout.programme = "smed";
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_STALE);
	s.env.valid_until = 0;
	CHECK_EQ_INT(wire_validate_envelope(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__OK);
	/* The parts the hub calls one by one agree with the whole. */
	CHECK_EQ_INT(wire_validate_head(&s.env, &diag), 0);
	CHECK_EQ_INT(wire_validate_content(&s.env, &diag), 0);
	CHECK_EQ_INT(wire_validate_fresh(&s.env, NOW_MS, &diag), 0);
	s.env.valid_until = NOW_MS - 1;
	CHECK_EQ_INT(wire_validate_content(&s.env, &diag), 0);
	CHECK_EQ_INT(wire_validate_fresh(&s.env, NOW_MS, &diag),
		     UNGEBRO__V1__ERROR_CODE__E_STALE);
}

static void
test_peek_kind(void)
{
	/* The kind is read without unpacking: bytes that are no message of
	 * that kind still tell the endpoint what was sent. */
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x01\x03\xff\xff", 4),
		     UNGEBRO__V1__FRAME_KIND__FRAME_HELLO);
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x01\x01", 2),
		     UNGEBRO__V1__FRAME_KIND__FRAME_EVENT);
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x01\x0b", 2),
		     UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT);
	/* What wire_decode refuses before it looks at the kind's message. */
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x01", 1), 0);
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x02\x03", 2), 0);
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x01\x00", 2), 0);
	CHECK_EQ_INT(wire_peek_kind((const uint8_t *)"\x01\x0c", 2), 0);
	uint8_t *big = calloc(1, WIRE_MAX_FRAME + 1);
	CHECK(big);
	big[0] = WIRE_VERSION;
	big[1] = UNGEBRO__V1__FRAME_KIND__FRAME_HELLO;
	CHECK_EQ_INT(wire_peek_kind(big, WIRE_MAX_FRAME),
		     UNGEBRO__V1__FRAME_KIND__FRAME_HELLO);
	CHECK_EQ_INT(wire_peek_kind(big, WIRE_MAX_FRAME + 1), 0);
	free(big);
}

static void
test_event_id_peek(void)
{
	/* An envelope of 100 KB: refused as E_TOO_LARGE, yet its id can be
	 * read for the ack. */
	size_t big = 100 * 1024;
	uint8_t *pad = calloc(1, big), *buf = malloc(big + 512);
	CHECK(pad && buf);
	sample s;
	sample_init(&s);
	s.env.supersedes.data = pad;
	s.env.supersedes.len = big;
	size_t len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf,
			    big + 512);
	CHECK(len > WIRE_MAX_FRAME && len <= WIRE_MAX_MESSAGE);
	expect_reject(buf, len, UNGEBRO__V1__ERROR_CODE__E_TOO_LARGE, "frame",
		      __LINE__);
	uint8_t id[WIRE_EVENT_ID_LEN] = {0};
	CHECK(wire_event_id_peek(buf, len, id));
	CHECK_EQ_MEM(id, s.id, WIRE_EVENT_ID_LEN);
	/* Not an event, not version 1, cut short, no id, over the cap. */
	buf[1] = UNGEBRO__V1__FRAME_KIND__FRAME_ACK;
	CHECK(!wire_event_id_peek(buf, len, id));
	buf[1] = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT;
	buf[0] = 2;
	CHECK(!wire_event_id_peek(buf, len, id));
	buf[0] = WIRE_VERSION;
	CHECK(!wire_event_id_peek(buf, len - 1, id));
	CHECK(!wire_event_id_peek(buf, 1, id));
	s.env.event_id.len = 0;
	len = encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &s.env, buf,
		     big + 512);
	CHECK(!wire_event_id_peek(buf, len, id));
	free(buf);
	uint8_t *huge = calloc(1, WIRE_MAX_MESSAGE + 1);
	CHECK(huge);
	huge[0] = WIRE_VERSION;
	huge[1] = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT;
	CHECK(!wire_event_id_peek(huge, WIRE_MAX_MESSAGE + 1, id));
	free(huge);
	free(pad);
}

static void
test_utf8_valid(void)
{
	static const struct {
		const char *text;
		size_t len;
		bool valid;
	} cases[] = {
	    {"", 0, true},
	    {"plain ascii", 11, true},
	    {"\xc3\xb8\xc3\xa6\xc3\xa5", 6, true}, /* øæå */
	    {"\xe2\x82\xac", 3, true},		   /* € */
	    {"\xf0\x9d\x84\x9e", 4, true},	   /* U+1D11E */
	    {"\xf4\x8f\xbf\xbf", 4, true},	   /* U+10FFFF */
	    {"\xed\x9f\xbf", 3, true},		   /* U+D7FF */
	    {"a\0b", 3, true},			   /* NUL is text */
	    {"\xd8", 1, false},			   /* cp1252 Ø */
	    {"\xc3", 1, false},			   /* cut */
	    {"\xe2\x82", 2, false},		   /* cut */
	    {"\xf0\x9d\x84", 3, false},		   /* cut */
	    {"\x80", 1, false},			   /* lone continuation */
	    {"\xc3\x28", 2, false},		   /* bad continuation */
	    {"\xc0\xaf", 2, false},		   /* overlong */
	    {"\xc1\xbf", 2, false},		   /* overlong */
	    {"\xe0\x9f\xbf", 3, false},		   /* overlong */
	    {"\xf0\x8f\xbf\xbf", 4, false},	   /* overlong */
	    {"\xed\xa0\x80", 3, false},		   /* surrogate */
	    {"\xed\xbf\xbf", 3, false},		   /* surrogate */
	    {"\xf4\x90\x80\x80", 4, false},	   /* above U+10FFFF */
	    {"\xf5\x80\x80\x80", 4, false},
	    {"\xff", 1, false},
	    {"\xe2\x82\xac\xe2\x28\xac", 6, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		if (ug_utf8_valid(cases[i].text, cases[i].len) !=
		    cases[i].valid)
			FAIL("case %zu: expected %s", i,
			     cases[i].valid ? "valid" : "invalid");
}

static void
test_utf8_trim_tail(void)
{
	/* Cutting a Danish text at every byte budget, as snprintf into a
	 * fixed buffer does, then trimming, always leaves valid UTF-8 that
	 * is a prefix of the text, short of the cut by less than one
	 * character, and drops nothing from a cut that was already whole. */
	const char *text = "Dropped out of \xc3\x98konomi p\xc3\xa5 "
			   "K\xc3\xb8ge \xe2\x82\xac \xf0\x9d\x84\x9e slut";
	size_t full = strlen(text);
	for (size_t cap = 1; cap <= full + 1; cap++) {
		char buf[128];
		snprintf(buf, cap, "%s", text);
		size_t cut = strlen(buf);
		size_t len = ug_utf8_trim_tail(buf);
		CHECK_EQ_INT(len, strlen(buf));
		CHECK(ug_utf8_valid(buf, len));
		CHECK(memcmp(buf, text, len) == 0);
		CHECK(cut - len < 4);
		if (ug_utf8_valid(text, cut))
			CHECK_EQ_INT(len, cut);
	}
	char s1[] = "ab\xc3";
	CHECK_EQ_INT(ug_utf8_trim_tail(s1), 2);
	CHECK_EQ_STR(s1, "ab");
	char s2[] = "\xe2\x82";
	CHECK_EQ_INT(ug_utf8_trim_tail(s2), 0);
	CHECK_EQ_STR(s2, "");
	char s3[] = "x\xf0\x9d\x84\x9e";
	CHECK_EQ_INT(ug_utf8_trim_tail(s3), 5);
	char s4[] = "";
	CHECK_EQ_INT(ug_utf8_trim_tail(s4), 0);
}

static void
test_type_names(void)
{
	CHECK_EQ_STR(wire_event_type_name(1), "AbsenceReport");
	CHECK_EQ_STR(wire_event_type_name(7), "ContactAssignment");
	CHECK_EQ_STR(wire_event_type_name(0), "?");
	CHECK_EQ_STR(wire_event_type_name(8), "BenefitStatus");
	CHECK_EQ_STR(wire_event_type_name(11), "DeskMembership");
	CHECK_EQ_STR(wire_event_type_name(12), "CaseworkerAction");
	CHECK_EQ_STR(wire_event_type_name(13), "?");
}

TEST_LIST = {
    {"envelope round trip", test_envelope_round_trip},
    {"other kinds round trip", test_other_kinds_round_trip},
    {"truncated frames", test_truncated_frames},
    {"bad version", test_bad_version},
    {"unknown kind", test_unknown_kind},
    {"oversized", test_oversized},
    {"garbage protobuf", test_garbage_protobuf},
    {"field number limit", test_field_number_limit},
    {"varint over 64 bits", test_varint_over_64_bits},
    {"validate good", test_validate_good},
    {"validate event id", test_validate_event_id},
    {"validate payload type", test_validate_payload_type},
    {"validate cpr", test_validate_cpr},
    {"validate counts", test_validate_counts},
    {"validate dates", test_validate_dates},
    {"validate anonymous", test_validate_anonymous},
    {"validate stale", test_validate_stale},
    {"validate schema version", test_validate_schema_version},
    {"validate misc", test_validate_misc},
    {"every sample valid", test_every_sample_valid},
    {"every string limited", test_every_string_limited},
    {"every string utf8", test_every_string_utf8},
    {"ids fit the store", test_ids_fit_the_store},
    {"assignment role", test_assignment_role},
    {"payload rules", test_payload_rules},
    {"every date field", test_every_date_field},
    {"validation order", test_validation_order},
    {"peek kind", test_peek_kind},
    {"event id peek", test_event_id_peek},
    {"utf8 valid", test_utf8_valid},
    {"utf8 trim tail", test_utf8_trim_tail},
    {"type names", test_type_names},
    {NULL, NULL},
};
