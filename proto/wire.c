/* Framing and validation for the v1 schema; see wire.h. */
#include "proto/wire.h"

#include <stdio.h>
#include <string.h>

#include "common/assignment_file.h"
#include "common/keys.h"
#include "common/util.h"

/* The largest field number protobuf's encoding allows: its upb and Go
 * decoders refuse a larger one as malformed, where protobuf-c would keep
 * it as an unknown field and a vendor's library would not read the frame
 * as the hub did. */
#define WIRE_FIELD_NUMBER_MAX ((1u << 29) - 1)

/* Room for a field's path through the schema's nested messages. */
#define WIRE_PATH_MAX 96

enum raw_fields {
	RAW_FIELDS_OK,
	RAW_FIELDS_UNREADABLE,
	RAW_FIELDS_TOO_HIGH,
	RAW_FIELDS_OVERFLOW
};

/* The wire type a field of the schema is written in: every field of
 * ungebro.proto is a varint or length-delimited, none a packed repeated
 * one. */
static unsigned
schema_wire_type(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_MESSAGE:
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
		return 2;
	default:
		return 0;
	}
}

/*
 * Walk the protobuf bytes of a message of type desc, and of every message
 * field it holds, for field numbers protobuf-c takes but protobuf does
 * not: over WIRE_FIELD_NUMBER_MAX, or 0 written in more than one byte;
 * and a ten-byte varint holding more than 64 bits, which protobuf-c takes
 * by its low bits where Go's decoder refuses it, so a vendor's library
 * and the hub could read two numbers from one frame. For that one, where
 * (cap bytes) gets the field's path below prefix (NULL at the top), for
 * the reason to name it. It recurses only into the message fields desc names,
 * so the schema's depth bounds the recursion whatever the bytes; unknown
 * fields are skipped unread, as a standard decoder skips them. Tags are read
 * in order and the first that is too high or unreadable decides, as in a
 * decoder that reads the tag before its wire type.
 */
static enum raw_fields
raw_field_numbers(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
		  size_t len, const char *prefix, char *where, size_t cap)
{
	size_t i = 0;
	while (i < len) {
		uint64_t key = 0;
		/* A tag protobuf-c read is at most 5 bytes. */
		int shift = 0;
		for (;;) {
			if (i >= len || shift > 28)
				return RAW_FIELDS_UNREADABLE;
			uint8_t b = buf[i++];
			key |= (uint64_t)(b & 0x7f) << shift;
			if (!(b & 0x80))
				break;
			shift += 7;
		}
		uint64_t number = key >> 3;
		if (number > WIRE_FIELD_NUMBER_MAX)
			return RAW_FIELDS_TOO_HIGH;
		if (number == 0)
			return RAW_FIELDS_UNREADABLE;
		const ProtobufCFieldDescriptor *f =
		    protobuf_c_message_descriptor_get_field(desc,
							    (unsigned)number);
		/* A field the schema defines, in another wire type than its
		 * own, is where a decoder stops. */
		if (f && (key & 7) != schema_wire_type(f))
			return RAW_FIELDS_UNREADABLE;
		size_t skip;
		switch (key & 7) {
		case 0:
			skip = 0;
			do {
				if (i >= len || ++skip > 10)
					return RAW_FIELDS_UNREADABLE;
			} while (buf[i++] & 0x80);
			/* The tenth byte holds bit 63 alone. */
			if (skip == 10 && buf[i - 1] > 1) {
				if (f && prefix)
					snprintf(where, cap, "%s.%s", prefix,
						 f->name);
				else if (f)
					snprintf(where, cap, "%s", f->name);
				else if (prefix)
					snprintf(where, cap,
						 "an unknown field in %s",
						 prefix);
				else
					snprintf(where, cap,
						 "an unknown field");
				return RAW_FIELDS_OVERFLOW;
			}
			continue;
		case 1:
			skip = 8;
			break;
		case 5:
			skip = 4;
			break;
		case 2: {
			int vs = 0;
			uint64_t n = 0;
			/* A length too is at most 5 bytes, as protobuf-c reads
			 * it: one of 6 or more is where the frame stops
			 * decoding, and a varint or a field number after it
			 * is not the first fault to name (PROTOCOL.md §6). */
			for (;;) {
				if (i >= len || vs > 28)
					return RAW_FIELDS_UNREADABLE;
				uint8_t b = buf[i++];
				n |= (uint64_t)(b & 0x7f) << vs;
				if (!(b & 0x80))
					break;
				vs += 7;
			}
			if (n > len - i)
				return RAW_FIELDS_UNREADABLE;
			if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
				char path[WIRE_PATH_MAX];
				if (prefix)
					snprintf(path, sizeof path, "%s.%s",
						 prefix, f->name);
				else
					snprintf(path, sizeof path, "%s",
						 f->name);
				enum raw_fields r = raw_field_numbers(
				    f->descriptor, buf + i, (size_t)n, path,
				    where, cap);
				if (r != RAW_FIELDS_OK)
					return r;
			}
			skip = (size_t)n;
			break;
		}
		default:
			return RAW_FIELDS_UNREADABLE;
		}
		if (skip > len - i)
			return RAW_FIELDS_UNREADABLE;
		i += skip;
	}
	return RAW_FIELDS_OK;
}

/*
 * protobuf_c_message_unpack, refusing what protobuf's own decoders refuse
 * and protobuf-c does not (raw_field_numbers); *why tells why, and where
 * (WIRE_PATH_MAX bytes) names the field of a varint over 64 bits.
 */
static ProtobufCMessage *
unpack_strict(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
	      size_t len, enum raw_fields *why, char *where)
{
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, len, data);
	/* Also where protobuf-c refused the bytes: a tag of a field number
	 * over the limit is named as such whatever its wire type (a group's,
	 * or 6 or 7, which protobuf-c refuses unnamed), as upb and Go name
	 * it (PROTOCOL.md §6). */
	where[0] = '\0';
	*why = raw_field_numbers(desc, data, len, NULL, where, WIRE_PATH_MAX);
	if (m && *why == RAW_FIELDS_OK)
		return m;
	if (m)
		protobuf_c_message_free_unpacked(m, NULL);
	return NULL;
}

static const ProtobufCMessageDescriptor *
descriptor_for(int kind)
{
	switch (kind) {
	case UNGEBRO__V1__FRAME_KIND__FRAME_EVENT:
		return &ungebro__v1__envelope__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ACK:
		return &ungebro__v1__ack__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_HELLO:
		return &ungebro__v1__hello__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ALERT:
		return &ungebro__v1__alert__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK:
		return &ungebro__v1__alert_ack__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME:
		return &ungebro__v1__welcome__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_QUERY:
		return &ungebro__v1__query__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_RESULT:
		return &ungebro__v1__result__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ACTION:
		return &ungebro__v1__action__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN:
		return &ungebro__v1__login__descriptor;
	case UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT:
		return &ungebro__v1__logout__descriptor;
	default:
		return NULL;
	}
}

ug_err
wire_decode(const uint8_t *frame, size_t len, int *kind, void **msg, int *code,
	    ug_diag *diag)
{
	*msg = NULL;
	*code = UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
	if (len > WIRE_MAX_FRAME) {
		*code = UNGEBRO__V1__ERROR_CODE__E_TOO_LARGE;
		ug_diag_set(diag, "frame",
			    "frame of %zu bytes exceeds the limit "
			    "of %d",
			    len, WIRE_MAX_FRAME);
		return UG_EMALFORMED;
	}
	if (len < WIRE_HEADER_LEN) {
		ug_diag_set(diag, "frame",
			    "frame of %zu bytes is shorter than "
			    "the 2-byte header",
			    len);
		return UG_EMALFORMED;
	}
	if (frame[0] != WIRE_VERSION) {
		*code = UNGEBRO__V1__ERROR_CODE__E_VERSION;
		ug_diag_set(diag, "version",
			    "wire version %u is not supported "
			    "(expected %d)",
			    frame[0], WIRE_VERSION);
		return UG_EMALFORMED;
	}
	const ProtobufCMessageDescriptor *desc = descriptor_for(frame[1]);
	if (!desc) {
		ug_diag_set(diag, "kind", "unknown frame kind %u", frame[1]);
		return UG_EMALFORMED;
	}
	enum raw_fields why;
	char where[WIRE_PATH_MAX];
	ProtobufCMessage *m = unpack_strict(
	    desc, frame + WIRE_HEADER_LEN, len - WIRE_HEADER_LEN, &why, where);
	if (!m && why == RAW_FIELDS_OVERFLOW) {
		ug_diag_set(diag, "frame",
			    "%s does not decode as protobuf: %s is a varint "
			    "of more than 64 bits",
			    desc->short_name, where);
		return UG_EMALFORMED;
	}
	if (!m && why == RAW_FIELDS_TOO_HIGH) {
		ug_diag_set(diag, "frame",
			    "%s does not decode as protobuf: a field number "
			    "is over %u, the largest protobuf allows",
			    desc->short_name, WIRE_FIELD_NUMBER_MAX);
		return UG_EMALFORMED;
	}
	if (!m) {
		ug_diag_set(diag, "frame", "%s does not decode as protobuf",
			    desc->short_name);
		return UG_EMALFORMED;
	}
	*kind = frame[1];
	*msg = m;
	*code = UNGEBRO__V1__ERROR_CODE__OK;
	return UG_OK;
}

void
wire_free(int kind, void *msg)
{
	(void)kind;
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

int
wire_peek_kind(const uint8_t *frame, size_t len)
{
	if (len > WIRE_MAX_FRAME || len < WIRE_HEADER_LEN ||
	    frame[0] != WIRE_VERSION || !descriptor_for(frame[1]))
		return 0;
	return frame[1];
}

uint32_t
wire_request_id(int kind, const void *msg)
{
	switch (kind) {
	case UNGEBRO__V1__FRAME_KIND__FRAME_QUERY:
		return ((const wire_query *)msg)->request_id;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ACTION:
		return ((const wire_action *)msg)->request_id;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK:
		return ((const wire_alert_ack *)msg)->request_id;
	case UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN:
		return ((const wire_login *)msg)->request_id;
	case UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT:
		return ((const wire_logout *)msg)->request_id;
	default:
		return 0;
	}
}

bool
wire_event_id_peek(const uint8_t *frame, size_t len,
		   uint8_t id[WIRE_EVENT_ID_LEN])
{
	if (len < WIRE_HEADER_LEN || len > WIRE_MAX_MESSAGE ||
	    frame[0] != WIRE_VERSION ||
	    frame[1] != UNGEBRO__V1__FRAME_KIND__FRAME_EVENT)
		return false;
	enum raw_fields why;
	char where[WIRE_PATH_MAX];
	wire_envelope *env = (wire_envelope *)unpack_strict(
	    &ungebro__v1__envelope__descriptor, frame + WIRE_HEADER_LEN,
	    len - WIRE_HEADER_LEN, &why, where);
	if (!env)
		return false;
	bool found = env->event_id.len == WIRE_EVENT_ID_LEN;
	if (found)
		memcpy(id, env->event_id.data, WIRE_EVENT_ID_LEN);
	protobuf_c_message_free_unpacked(&env->base, NULL);
	return found;
}

size_t
wire_encoded_size(int kind, const void *msg)
{
	(void)kind;
	return WIRE_HEADER_LEN + protobuf_c_message_get_packed_size(msg);
}

size_t
wire_encode(int kind, const void *msg, uint8_t *buf, size_t cap)
{
	size_t need = wire_encoded_size(kind, msg);
	if (cap < need)
		return 0;
	buf[0] = WIRE_VERSION;
	buf[1] = (uint8_t)kind;
	return WIRE_HEADER_LEN +
	       protobuf_c_message_pack(msg, buf + WIRE_HEADER_LEN);
}

void *
wire_unpack(int kind, const uint8_t *data, size_t len)
{
	const ProtobufCMessageDescriptor *desc = descriptor_for(kind);
	if (!desc || len > WIRE_MAX_FRAME)
		return NULL;
	return protobuf_c_message_unpack(desc, NULL, len, data);
}

size_t
wire_packed_size(const void *msg)
{
	return protobuf_c_message_get_packed_size(msg);
}

size_t
wire_pack(const void *msg, uint8_t *buf)
{
	return protobuf_c_message_pack(msg, buf);
}

const char *
wire_event_type_name(int type)
{
	switch (type) {
	case UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT:
		return "AbsenceReport";
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT:
		return "Dropout";
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK:
		return "DropoutRisk";
	case UNGEBRO__V1__EVENT_TYPE__ENROLMENT:
		return "Enrolment";
	case UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL:
		return "AddictionReferral";
	case UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT:
		return "ReadinessAssessment";
	case UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT:
		return "ContactAssignment";
	case UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS:
		return "BenefitStatus";
	case UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION:
		return "MissedActivation";
	case UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING:
		return "SchoolLeaving";
	case UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP:
		return "DeskMembership";
	case UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION:
		return "CaseworkerAction";
	default:
		return "?";
	}
}

const char *
wire_event_type_label(int type)
{
	switch (type) {
	case UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT:
		return "Absence report";
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT:
		return "Dropout";
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK:
		return "Dropout risk";
	case UNGEBRO__V1__EVENT_TYPE__ENROLMENT:
		return "Enrolment";
	case UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL:
		return "Addiction referral";
	case UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT:
		return "Readiness assessment";
	case UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT:
		return "Contact assignment";
	case UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS:
		return "Benefit";
	case UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION:
		return "Missed activation";
	case UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING:
		return "School leaving";
	case UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP:
		return "Duty desk";
	case UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION:
		return "Recorded action";
	default:
		return "-";
	}
}

/* The payload case each event type must carry. */
static int
payload_case_for(int type)
{
	switch (type) {
	case UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT;
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT;
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK;
	case UNGEBRO__V1__EVENT_TYPE__ENROLMENT:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT;
	case UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL;
	case UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT;
	case UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT;
	case UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS;
	case UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION;
	case UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING;
	case UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP:
		return UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP;
	default:
		return -1;
	}
}

/* The largest count a refusal repeats: six digits or more may be a CPR
 * number without its leading zero. */
#define WIRE_QUOTED_COUNT_MAX 99999u

static bool
quotable(int64_t n)
{
	return n <= (int64_t)WIRE_QUOTED_COUNT_MAX &&
	       n >= -(int64_t)WIRE_QUOTED_COUNT_MAX;
}

#define BAD(field, ...)                                                       \
	do {                                                                  \
		ug_diag_set(diag, field, __VA_ARGS__);                        \
		return UNGEBRO__V1__ERROR_CODE__E_MALFORMED;                  \
	} while (0)

#define CHECK(expr)                                                           \
	do {                                                                  \
		int rc_ = (expr);                                             \
		if (rc_ != UNGEBRO__V1__ERROR_CODE__OK)                       \
			return rc_;                                           \
	} while (0)

/*
 * Every reason names its field by its path from the Envelope, as
 * check_strings does ("absence_report.school is required"): the sender
 * finds the field in the .proto by that name. `p` is the payload's name
 * in the Envelope.
 */
static int
check_text(const char *text, const char *p, const char *field, ug_diag *diag)
{
	if (!text || !text[0])
		BAD(field, "%s.%s is required", p, field);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* The store keeps these in id slots, and alerts are addressed by them: a
 * longer one would fail the whole batch (assignments) or stop the rules
 * at that event (desks), and one no registration can have (capitals,
 * blanks) would route to nobody. */
static int
check_id(const char *text, const char *p, const char *field, ug_diag *diag)
{
	CHECK(check_text(text, p, field, diag));
	size_t len = strlen(text);
	if (len > WIRE_ID_MAX)
		BAD(field,
		    "%s.%s is %zu bytes, over the limit of %d for an id", p,
		    field, len, WIRE_ID_MAX);
	if (!ug_id_valid(text))
		BAD(field, "%s.%s is not an id " UG_ID_RULE, p, field);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* The syntax was checked with every string (check_strings); this is
 * whether the payload needs the date, and its day number for ordering. */
static int
check_date(const char *text, const char *p, const char *field, int required,
	   int32_t *days, ug_diag *diag)
{
	int32_t ignored;
	if (!text || !text[0]) {
		if (required)
			BAD(field, "%s.%s is required (YYYY-MM-DD)", p, field);
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
	if (ug_date_parse(text, days ? days : &ignored) != UG_OK)
		BAD(field, "%s.%s is not a valid date (YYYY-MM-DD)", p, field);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* `later` (optional) not before `earlier`, both already checked. */
static int
check_order(const char *later, int32_t later_days, int32_t earlier_days,
	    const char *p, const char *later_field, const char *earlier_field,
	    ug_diag *diag)
{
	if (later && later[0] && later_days < earlier_days)
		BAD(later_field, "%s.%s is before %s.%s", p, later_field, p,
		    earlier_field);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/*
 * An enum field: proto3 decodes any number, so a value the schema does
 * not define arrives as that number. The schema's own list decides, so a
 * value added to it is taken without anyone remembering to. 0 (the
 * _UNSPECIFIED value) is refused where the field is required.
 */
static int
check_enum(int value, const ProtobufCEnumDescriptor *e, const char *p,
	   const char *field, int required, ug_diag *diag)
{
	if (value == 0) {
		if (required)
			BAD(field, "%s.%s is required", p, field);
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
	if (!protobuf_c_enum_descriptor_get_value(e, value) &&
	    !quotable(value))
		BAD(field, "%s.%s is not a known %s", p, field, e->short_name);
	if (!protobuf_c_enum_descriptor_get_value(e, value))
		BAD(field, "%s.%s %d is not a known %s", p, field, value,
		    e->short_name);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/*
 * Every date field of every payload (docs/PROTOCOL.md lists them): a
 * non-empty value must be a real calendar date. Whether one is required
 * is the payload's own rule below.
 */
static const struct {
	const ProtobufCMessageDescriptor *msg;
	const char *field;
} date_fields[] = {
    {&ungebro__v1__absence_report__descriptor, "period_start"},
    {&ungebro__v1__absence_report__descriptor, "period_end"},
    {&ungebro__v1__dropout__descriptor, "date"},
    {&ungebro__v1__dropout_risk__descriptor, "date"},
    {&ungebro__v1__enrolment__descriptor, "start"},
    {&ungebro__v1__enrolment__descriptor, "end"},
    {&ungebro__v1__addiction_referral__descriptor, "date"},
    {&ungebro__v1__consent__descriptor, "expires"},
    {&ungebro__v1__readiness_assessment__descriptor, "date"},
    {&ungebro__v1__contact_assignment__descriptor, "from"},
    {&ungebro__v1__contact_assignment__descriptor, "to"},
    {&ungebro__v1__benefit_status__descriptor, "start"},
    {&ungebro__v1__benefit_status__descriptor, "stop"},
    {&ungebro__v1__missed_activation__descriptor, "date"},
    {&ungebro__v1__school_leaving__descriptor, "date"},
    {&ungebro__v1__desk_membership__descriptor, "from"},
    {&ungebro__v1__desk_membership__descriptor, "to"},
};

static bool
is_date_field(const ProtobufCMessageDescriptor *msg,
	      const ProtobufCFieldDescriptor *f)
{
	for (size_t i = 0; i < sizeof date_fields / sizeof date_fields[0]; i++)
		if (date_fields[i].msg == msg &&
		    strcmp(date_fields[i].field, f->name) == 0)
			return true;
	return false;
}

/* One varint of buf at *i; false if it runs past len or over 10 bytes. */
static bool
raw_varint(const uint8_t *buf, size_t len, size_t *i, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *i < len; shift += 7) {
		uint8_t b = buf[(*i)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return true;
	}
	return false;
}

/*
 * The length on the wire of the string at the field-number path nums
 * (depth numbers) in the protobuf bytes buf: 1 and *out when present (the
 * last occurrence wins, as in protobuf-c), 0 when absent, -1 when the
 * bytes cannot be walked. *pieces, when given, counts the occurrences.
 */
static int
raw_len_at(const uint8_t *buf, size_t len, const uint32_t *nums, int depth,
	   size_t *out, unsigned *pieces)
{
	int found = 0;
	size_t i = 0;
	while (i < len) {
		uint64_t key, n;
		if (!raw_varint(buf, len, &i, &key))
			return -1;
		switch (key & 7) {
		case 0:
			if (!raw_varint(buf, len, &i, &n))
				return -1;
			break;
		case 1:
			if (len - i < 8)
				return -1;
			i += 8;
			break;
		case 5:
			if (len - i < 4)
				return -1;
			i += 4;
			break;
		case 2:
			if (!raw_varint(buf, len, &i, &n) || n > len - i)
				return -1;
			if (key >> 3 == nums[0] && depth == 1) {
				*out = (size_t)n;
				found = 1;
				if (pieces)
					(*pieces)++;
			} else if (key >> 3 == nums[0]) {
				int r =
				    raw_len_at(buf + i, (size_t)n, nums + 1,
					       depth - 1, out, pieces);
				if (r < 0)
					return -1;
				found |= r;
			}
			i += (size_t)n;
			break;
		default:
			return -1;
		}
	}
	return found;
}

size_t
wire_envelope_text_len(const uint8_t *body, size_t len, uint32_t number)
{
	size_t out = SIZE_MAX;
	return raw_len_at(body, len, &number, 1, &out, NULL) == 1 ? out
								  : SIZE_MAX;
}

size_t
wire_field_text_len(const ProtobufCMessageDescriptor *type,
		    const uint8_t *body, size_t len, const char *name)
{
	const ProtobufCFieldDescriptor *f =
	    protobuf_c_message_descriptor_get_field_by_name(type, name);
	return f ? wire_envelope_text_len(body, len, f->id) : SIZE_MAX;
}

bool
wire_field_cut(const ProtobufCMessageDescriptor *type, const uint8_t *body,
	       size_t len, const char *name, const char *text)
{
	size_t sent = wire_field_text_len(type, body, len, name);
	return sent != SIZE_MAX && sent != (text ? strlen(text) : 0);
}

/* wire_len is the string's length on the wire, SIZE_MAX when unknown:
 * the decoded text ends at its first NUL byte, so a NUL would hide the
 * bytes after it from every check here while the store keeps them. */
static int
check_string(const char *text, size_t wire_len, const char *path,
	     const char *name, bool date, ug_diag *diag)
{
	size_t len = text ? strlen(text) : 0;
	size_t size = wire_len != SIZE_MAX ? wire_len : len;
	if (size > WIRE_TEXT_MAX)
		BAD(name, "%s is %zu bytes, over the limit of %d", path, size,
		    WIRE_TEXT_MAX);
	if (size != len)
		BAD(name, "%s contains a NUL byte", path);
	if (!ug_utf8_valid(text, len))
		BAD(name, "%s is not valid UTF-8", path);
	int32_t days;
	if (date && len && ug_date_parse(text, &days) != UG_OK)
		BAD(name, "%s is not a valid date (YYYY-MM-DD)", path);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* The protobuf bytes the message was decoded from, when known, and the
 * field numbers leading to the message being walked. */
typedef struct {
	const uint8_t *buf;
	size_t len;
	uint32_t nums[8];
	int depth;
} raw_path;

/*
 * Walk the message by its descriptor, so a field added to the schema is
 * checked without anyone remembering to: every string (size, UTF-8, date
 * syntax), into every sub-message that is set. Depth-first, in field
 * number order; path is the dotted name so far.
 */
static int
check_strings(const ProtobufCMessage *m, char *path, size_t plen, size_t cap,
	      raw_path *raw, ug_diag *diag)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *base = (const char *)m;
		/* Members of a oneof share storage: only the set one is
		 * what its pointer says. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		int n = snprintf(path + plen, cap - plen, "%s%s",
				 plen ? "." : "", f->name);
		size_t sub = n > 0 && (size_t)n < cap - plen ? plen + (size_t)n
							     : cap - 1;
		size_t count = 1;
		const void *const *items =
		    (const void *const *)(base + f->offset);
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			count = *(const size_t *)(base + f->quantifier_offset);
			items =
			    *(const void *const *const *)(base + f->offset);
		}
		/* The raw bytes are followed into singular fields only: an
		 * envelope has no repeated ones. */
		bool deeper =
		    raw && count == 1 &&
		    f->label != PROTOBUF_C_LABEL_REPEATED &&
		    raw->depth < (int)(sizeof raw->nums / sizeof raw->nums[0]);
		if (deeper)
			raw->nums[raw->depth++] = f->id;
		for (size_t k = 0; k < count; k++) {
			int rc;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				size_t wire_len = SIZE_MAX;
				if (deeper && raw_len_at(raw->buf, raw->len,
							 raw->nums, raw->depth,
							 &wire_len, NULL) != 1)
					wire_len = SIZE_MAX;
				rc = check_string(items[k], wire_len, path,
						  f->name, is_date_field(d, f),
						  diag);
			} else if (items[k]) {
				/* A proto3 decoder merges the pieces of a
				 * message field sent more than once;
				 * protobuf-c keeps the last alone, so the hub
				 * would read other values than every other
				 * reader. */
				size_t ignored;
				unsigned pieces = 0;
				if (deeper &&
				    raw_len_at(raw->buf, raw->len, raw->nums,
					       raw->depth, &ignored,
					       &pieces) == 1 &&
				    pieces > 1)
					BAD(f->name,
					    "%s is sent more than once (the "
					    "hub "
					    "does not merge a message sent in "
					    "pieces)",
					    path);
				rc = check_strings(items[k], path, sub, cap,
						   deeper ? raw : NULL, diag);
			} else {
				rc = UNGEBRO__V1__ERROR_CODE__OK;
			}
			if (rc != UNGEBRO__V1__ERROR_CODE__OK)
				return rc;
		}
		if (deeper)
			raw->depth--;
		path[plen] = '\0';
	}
	return UNGEBRO__V1__ERROR_CODE__OK;
}

static int
validate_absence(const Ungebro__V1__AbsenceReport *a, ug_diag *diag)
{
	const char *p = "absence_report";
	int32_t start, end;
	CHECK(check_text(a->school, p, "school", diag));
	CHECK(check_date(a->period_start, p, "period_start", 1, &start, diag));
	CHECK(check_date(a->period_end, p, "period_end", 1, &end, diag));
	CHECK(check_order(a->period_end, end, start, p, "period_end",
			  "period_start", diag));
	if (end - start > 366)
		BAD("period_end", "absence_report.period_end is more than 366 "
				  "days after absence_report.period_start");
	if (a->lessons_expected == 0)
		BAD("lessons_expected", "absence_report.lessons_expected must "
					"be above 0");
	/* A count of six digits or more is not repeated in the reason,
	 * which is logged: it may be a CPR number a spreadsheet took for a
	 * number and put in the wrong column. */
	if (a->lessons_expected > WIRE_LESSONS_MAX &&
	    a->lessons_expected > WIRE_QUOTED_COUNT_MAX)
		BAD("lessons_expected",
		    "absence_report.lessons_expected is "
		    "over the limit of %d",
		    WIRE_LESSONS_MAX);
	if (a->lessons_expected > WIRE_LESSONS_MAX)
		BAD("lessons_expected",
		    "absence_report.lessons_expected %u is over the limit of "
		    "%d",
		    a->lessons_expected, WIRE_LESSONS_MAX);
	if (a->lessons_absent > a->lessons_expected &&
	    a->lessons_absent > WIRE_QUOTED_COUNT_MAX)
		BAD("lessons_absent",
		    "absence_report.lessons_absent is more than "
		    "absence_report.lessons_expected %u",
		    a->lessons_expected);
	if (a->lessons_absent > a->lessons_expected)
		BAD("lessons_absent",
		    "absence_report.lessons_absent %u is "
		    "more than absence_report.lessons_expected %u",
		    a->lessons_absent, a->lessons_expected);
	CHECK(check_enum(a->kind, &ungebro__v1__absence_kind__descriptor, p,
			 "kind", 1, diag));
	if (a->grade > 10 && a->grade > WIRE_QUOTED_COUNT_MAX)
		BAD("grade", "absence_report.grade is not 0-10");
	if (a->grade > 10)
		BAD("grade", "absence_report.grade %u is not 0-10", a->grade);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* An assignments file's role words name these numbers. */
_Static_assert((int)UG_ASSIGN_CONTACT ==
		       (int)UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT &&
		   (int)UG_ASSIGN_GUIDANCE ==
		       (int)UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE &&
		   (int)UG_ASSIGN_MENTOR ==
		       (int)UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR,
	       "common/assignment_file.h's roles are ContactRole's");

static const char *const role_names[] = {
    [UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT] = "contact",
    [UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE] = "guidance",
    [UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR] = "mentor",
};
#define ROLE_LAST UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_MENTOR

const char *
wire_contact_role_name(int role)
{
	return role >= 1 && role <= ROLE_LAST ? role_names[role] : NULL;
}

/* The role, or WIRE_ROLE_INVALID with *field and *why saying what is
 * wrong. */
static int
assignment_role(const Ungebro__V1__ContactAssignment *a, const char **field,
		const char **why)
{
	*field = "role";
	int by_text = WIRE_ROLE_INVALID;
	if (!a->role || !a->role[0])
		by_text = UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT;
	for (int r = 1; r <= ROLE_LAST && by_text < 0; r++)
		if (strcmp(a->role, role_names[r]) == 0)
			by_text = r;
	int kind = (int)a->role_kind;
	if (kind == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_UNSPECIFIED) {
		*why =
		    "contact_assignment.role is not one of " WIRE_ROLE_ACCEPTED
		    " (or empty, meaning contact)";
		return by_text;
	}
	if (kind < 1 || kind > ROLE_LAST) {
		*field = "role_kind";
		*why =
		    "contact_assignment.role_kind is not a known ContactRole";
		return WIRE_ROLE_INVALID;
	}
	/* A sender that writes both must mean the same role by them: a
	 * contradiction is a bug on its side that no guess would fix. */
	if (a->role && a->role[0] && by_text != kind) {
		*why = "contact_assignment.role contradicts "
		       "contact_assignment.role_kind";
		return WIRE_ROLE_INVALID;
	}
	return kind;
}

int
wire_assignment_role(const Ungebro__V1__ContactAssignment *a)
{
	const char *field, *why;
	return assignment_role(a, &field, &why);
}

static int
validate_assignment(const Ungebro__V1__ContactAssignment *c, ug_diag *diag)
{
	const char *p = "contact_assignment";
	CHECK(check_id(c->caseworker, p, "caseworker", diag));
	/* Like every enum field: the reason names the number sent. */
	CHECK(check_enum(c->role_kind, &ungebro__v1__contact_role__descriptor,
			 p, "role_kind", 0, diag));
	const char *field, *why;
	if (assignment_role(c, &field, &why) == WIRE_ROLE_INVALID)
		BAD(field, "%s", why);
	int32_t from = 0, to = 0;
	CHECK(check_date(c->from, p, "from", 1, &from, diag));
	CHECK(check_date(c->to, p, "to", 0, &to, diag));
	return check_order(c->to, to, from, p, "to", "from", diag);
}

static int
validate_enrolment(const Ungebro__V1__Enrolment *x, ug_diag *diag)
{
	const char *p = "enrolment";
	int32_t start = 0, end = 0;
	CHECK(check_text(x->institution, p, "institution", diag));
	CHECK(check_date(x->start, p, "start", 1, &start, diag));
	CHECK(check_date(x->end, p, "end", 0, &end, diag));
	CHECK(check_order(x->end, end, start, p, "end", "start", diag));
	CHECK(check_enum(x->end_reason,
			 &ungebro__v1__enrolment_end_reason__descriptor, p,
			 "end_reason", 0, diag));
	/* A reason for an end nobody reported: the sender mixed two
	 * records, and the hub would count a running enrolment as ended. */
	if (x->end_reason && !(x->end && x->end[0]))
		BAD("end_reason", "enrolment.end_reason is set without "
				  "enrolment.end");
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* Every payload but AbsenceReport and ContactAssignment, which have
 * their own functions above. */
static int
validate_other(const wire_envelope *env, ug_diag *diag)
{
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		CHECK(check_text(env->dropout->institution, "dropout",
				 "institution", diag));
		return check_date(env->dropout->date, "dropout", "date", 1,
				  NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		CHECK(check_text(env->dropout_risk->institution,
				 "dropout_risk", "institution", diag));
		return check_date(env->dropout_risk->date, "dropout_risk",
				  "date", 1, NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		return validate_enrolment(env->enrolment, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL: {
		const Ungebro__V1__AddictionReferral *r =
		    env->addiction_referral;
		const char *p = "addiction_referral";
		CHECK(check_text(r->service, p, "service", diag));
		CHECK(check_date(r->date, p, "date", 1, NULL, diag));
		return check_enum(r->stage,
				  &ungebro__v1__referral_stage__descriptor, p,
				  "stage", 1, diag);
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT: {
		const Ungebro__V1__ReadinessAssessment *r =
		    env->readiness_assessment;
		const char *p = "readiness_assessment";
		CHECK(check_text(r->school, p, "school", diag));
		if (r->grade > WIRE_QUOTED_COUNT_MAX)
			BAD("grade", "readiness_assessment.grade is not 7-10");
		if (r->grade < 7 || r->grade > 10)
			BAD("grade",
			    "readiness_assessment.grade %u is not "
			    "7-10",
			    r->grade);
		return check_date(r->date, p, "date", 1, NULL, diag);
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS: {
		const Ungebro__V1__BenefitStatus *b = env->benefit_status;
		const char *p = "benefit_status";
		int32_t start = 0, stop = 0;
		CHECK(check_text(b->jobcenter, p, "jobcenter", diag));
		CHECK(check_enum(b->benefit,
				 &ungebro__v1__benefit_kind__descriptor, p,
				 "benefit", 1, diag));
		CHECK(check_date(b->start, p, "start", 1, &start, diag));
		CHECK(check_date(b->stop, p, "stop", 0, &stop, diag));
		return check_order(b->stop, stop, start, p, "stop", "start",
				   diag);
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION:
		CHECK(check_text(env->missed_activation->jobcenter,
				 "missed_activation", "jobcenter", diag));
		return check_date(env->missed_activation->date,
				  "missed_activation", "date", 1, NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING: {
		const Ungebro__V1__SchoolLeaving *l = env->school_leaving;
		const char *p = "school_leaving";
		CHECK(check_text(l->school, p, "school", diag));
		if (l->grade > WIRE_QUOTED_COUNT_MAX)
			BAD("grade", "school_leaving.grade is not 9 or 10");
		if (l->grade < 9 || l->grade > 10)
			BAD("grade", "school_leaving.grade %u is not 9 or 10",
			    l->grade);
		CHECK(check_enum(l->kind,
				 &ungebro__v1__leaving_kind__descriptor, p,
				 "kind", 1, diag));
		return check_date(l->date, p, "date", 1, NULL, diag);
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP: {
		const Ungebro__V1__DeskMembership *d = env->desk_membership;
		const char *p = "desk_membership";
		int32_t from = 0, to = 0;
		CHECK(check_id(d->desk, p, "desk", diag));
		CHECK(check_id(d->caseworker, p, "caseworker", diag));
		CHECK(check_date(d->from, p, "from", 1, &from, diag));
		CHECK(check_date(d->to, p, "to", 0, &to, diag));
		return check_order(d->to, to, from, p, "to", "from", diag);
	}
	default:
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
}

int
wire_validate_head(const wire_envelope *env, ug_diag *diag)
{
	if (env->schema_version != WIRE_SCHEMA_VERSION) {
		if (quotable(env->schema_version))
			ug_diag_set(diag, "schema_version",
				    "schema version %u is not "
				    "supported (expected %d)",
				    env->schema_version, WIRE_SCHEMA_VERSION);
		else
			ug_diag_set(diag, "schema_version",
				    "schema version is not supported "
				    "(expected %d)",
				    WIRE_SCHEMA_VERSION);
		return UNGEBRO__V1__ERROR_CODE__E_VERSION;
	}
	if (env->event_id.len != WIRE_EVENT_ID_LEN)
		BAD("event_id", "event_id must be %d bytes, got %zu",
		    WIRE_EVENT_ID_LEN, env->event_id.len);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

int
wire_validate_fresh(const wire_envelope *env, int64_t now_ms, ug_diag *diag)
{
	if (env->valid_until != 0 && env->valid_until < now_ms) {
		ug_diag_set(diag, "valid_until",
			    "event expired before it "
			    "reached the hub");
		return UNGEBRO__V1__ERROR_CODE__E_STALE;
	}
	return UNGEBRO__V1__ERROR_CODE__OK;
}

int
wire_validate_envelope(const wire_envelope *env, int64_t now_ms, ug_diag *diag)
{
	CHECK(wire_validate_head(env, diag));
	/* The hub compares it with the connection's identity; empty can
	 * never match one. */
	if (!env->agency || !env->agency[0]) {
		ug_diag_set(diag, "agency",
			    "agency is empty; it must be the id "
			    "the sending key is registered under");
		return UNGEBRO__V1__ERROR_CODE__E_DENIED;
	}
	CHECK(wire_validate_content(env, diag));
	return wire_validate_fresh(env, now_ms, diag);
}

int
wire_validate_content(const wire_envelope *env, ug_diag *diag)
{
	return wire_validate_content_raw(env, NULL, 0, diag);
}

int
wire_validate_content_raw(const wire_envelope *env, const uint8_t *body,
			  size_t body_len, ug_diag *diag)
{
	int want = payload_case_for(env->type);
	if (want < 0 && !quotable((int)env->type))
		BAD("type", "unknown event type");
	if (want < 0)
		BAD("type", "unknown event type %d", env->type);
	if ((int)env->payload_case != want)
		BAD("payload", "payload does not match type %s",
		    wire_event_type_name(env->type));
	char path[128] = "";
	raw_path raw = {.buf = body, .len = body_len};
	CHECK(check_strings(&env->base, path, 0, sizeof path,
			    body ? &raw : NULL, diag));
	if (env->occurred_at <= 0)
		BAD("occurred_at", "occurred_at must be above 0 (ms since the "
				   "epoch)");
	if (env->supersedes.len != 0 &&
	    env->supersedes.len != WIRE_EVENT_ID_LEN)
		BAD("supersedes", "supersedes must be empty or %d bytes",
		    WIRE_EVENT_ID_LEN);
	/* A correction of itself corrects nothing: a sender that writes its
	 * own id there has lost the id of the event it meant. */
	if (env->supersedes.len == WIRE_EVENT_ID_LEN &&
	    env->event_id.len == WIRE_EVENT_ID_LEN &&
	    memcmp(env->supersedes.data, env->event_id.data,
		   WIRE_EVENT_ID_LEN) == 0)
		BAD("supersedes",
		    "supersedes names the event itself (it must "
		    "be the id of the earlier event it corrects)");
	/* What the event is decides the sensitivity it may have, and that
	 * decides whether it names a person: so a desk membership sent
	 * PERSONAL is told about its sensitivity, not its missing cpr. */
	bool referral =
	    env->type == UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL;
	bool desk = env->type == UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP;
	switch (env->sensitivity) {
	case UNGEBRO__V1__SENSITIVITY__PERSONAL:
		if (referral)
			BAD("sensitivity",
			    "sensitivity PERSONAL is not allowed "
			    "for an addiction referral (SPECIAL_CATEGORY or "
			    "ANONYMOUS)");
		/* fall through */
	case UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY:
		if (desk)
			BAD("sensitivity", "sensitivity of a desk membership "
					   "must be ORGANISATIONAL");
		break;
	case UNGEBRO__V1__SENSITIVITY__ANONYMOUS:
		if (!referral)
			BAD("sensitivity", "sensitivity ANONYMOUS is only for "
					   "addiction referrals");
		break;
	case UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL:
		if (!desk)
			BAD("sensitivity",
			    "sensitivity ORGANISATIONAL is only "
			    "for desk memberships");
		break;
	case UNGEBRO__V1__SENSITIVITY__SENSITIVITY_UNSPECIFIED:
		BAD("sensitivity", "sensitivity is required");
	default:
		if (!quotable((int)env->sensitivity))
			BAD("sensitivity",
			    "sensitivity is not a known Sensitivity");
		BAD("sensitivity", "sensitivity %d is not a known Sensitivity",
		    env->sensitivity);
	}
	if (env->sensitivity == UNGEBRO__V1__SENSITIVITY__PERSONAL ||
	    env->sensitivity == UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY) {
		char cpr[11];
		/* On the wire only the normalised 10 digits: the same
		 * person must hash to the same key on every path. */
		if (!env->cpr || strlen(env->cpr) != 10 ||
		    ug_cpr_parse(env->cpr, 10, cpr, NULL) != UG_OK)
			BAD("cpr", "cpr must be 10 digits with a valid date");
	} else if (env->cpr && env->cpr[0]) {
		BAD("cpr", "cpr must be empty in an %s event",
		    env->sensitivity == UNGEBRO__V1__SENSITIVITY__ANONYMOUS
			? "ANONYMOUS"
			: "ORGANISATIONAL");
	}
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT:
		return validate_absence(env->absence_report, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT:
		return validate_assignment(env->contact_assignment, diag);
	default:
		return validate_other(env, diag);
	}
}
