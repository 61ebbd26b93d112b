/* Framing and validation for the v1 schema; see wire.h. */
#include "proto/wire.h"

#include <stdio.h>
#include <string.h>

#include "common/util.h"

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
wire_decode(const uint8_t *frame, size_t len, int *kind, void **msg,
            int *code, ug_diag *diag)
{
	*msg = NULL;
	*code = UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
	if (len > WIRE_MAX_FRAME) {
		*code = UNGEBRO__V1__ERROR_CODE__E_TOO_LARGE;
		ug_diag_set(diag, "frame", "frame of %zu bytes exceeds the limit "
		            "of %d", len, WIRE_MAX_FRAME);
		return UG_EMALFORMED;
	}
	if (len < WIRE_HEADER_LEN) {
		ug_diag_set(diag, "frame", "frame of %zu bytes is shorter than "
		            "the 2-byte header", len);
		return UG_EMALFORMED;
	}
	if (frame[0] != WIRE_VERSION) {
		*code = UNGEBRO__V1__ERROR_CODE__E_VERSION;
		ug_diag_set(diag, "version", "wire version %u is not supported "
		            "(expected %d)", frame[0], WIRE_VERSION);
		return UG_EMALFORMED;
	}
	const ProtobufCMessageDescriptor *desc = descriptor_for(frame[1]);
	if (!desc) {
		ug_diag_set(diag, "kind", "unknown frame kind %u", frame[1]);
		return UG_EMALFORMED;
	}
	ProtobufCMessage *m = protobuf_c_message_unpack(
		desc, NULL, len - WIRE_HEADER_LEN, frame + WIRE_HEADER_LEN);
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

bool
wire_event_id_peek(const uint8_t *frame, size_t len,
		   uint8_t id[WIRE_EVENT_ID_LEN])
{
	if (len < WIRE_HEADER_LEN || len > WIRE_MAX_MESSAGE ||
	    frame[0] != WIRE_VERSION ||
	    frame[1] != UNGEBRO__V1__FRAME_KIND__FRAME_EVENT)
		return false;
	wire_envelope *env = (wire_envelope *)protobuf_c_message_unpack(
	    &ungebro__v1__envelope__descriptor, NULL, len - WIRE_HEADER_LEN,
	    frame + WIRE_HEADER_LEN);
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
	case UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT: return "AbsenceReport";
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT: return "Dropout";
	case UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK: return "DropoutRisk";
	case UNGEBRO__V1__EVENT_TYPE__ENROLMENT: return "Enrolment";
	case UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL:
		return "AddictionReferral";
	case UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT:
		return "ReadinessAssessment";
	case UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT:
		return "ContactAssignment";
	case UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS: return "BenefitStatus";
	case UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION:
		return "MissedActivation";
	case UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING: return "SchoolLeaving";
	case UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP:
		return "DeskMembership";
	case UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION:
		return "CaseworkerAction";
	default: return "?";
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

#define BAD(field, ...)                                                       \
	do {                                                                  \
		ug_diag_set(diag, field, __VA_ARGS__);                        \
		return UNGEBRO__V1__ERROR_CODE__E_MALFORMED;                   \
	} while (0)

/* Size and UTF-8 are checked for every string by check_strings; this is
 * what only some fields need. */
static int
check_text(const char *text, const char *field, int required, ug_diag *diag)
{
	if (required && (!text || !text[0]))
		BAD(field, "%s is required", field);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* The store keeps these in id slots: a longer one would fail the whole
 * batch (assignments) or stop the rules at that event (desks). */
static int
check_id(const char *text, const char *path, const char *field, ug_diag *diag)
{
	size_t len = text ? strlen(text) : 0;
	if (len > WIRE_ID_MAX)
		BAD(field, "%s is %zu bytes, over the limit of %d for an id",
		    path, len, WIRE_ID_MAX);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

static int
check_date(const char *text, const char *field, int required,
           int32_t *days, ug_diag *diag)
{
	int32_t ignored;
	if (!text || !text[0]) {
		if (required)
			BAD(field, "%s is required (YYYY-MM-DD)", field);
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
	if (ug_date_parse(text, days ? days : &ignored) != UG_OK)
		BAD(field, "%s is not a valid date (YYYY-MM-DD)", field);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

#define CHECK(expr)                                                           \
	do {                                                                  \
		int rc_ = (expr);                                             \
		if (rc_ != UNGEBRO__V1__ERROR_CODE__OK)                        \
			return rc_;                                           \
	} while (0)

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

static int
check_string(const char *text, const char *path, const char *name, bool date,
	     ug_diag *diag)
{
	size_t len = text ? strlen(text) : 0;
	if (len > WIRE_TEXT_MAX)
		BAD(name, "%s is %zu bytes, over the limit of %d", path, len,
		    WIRE_TEXT_MAX);
	if (!ug_utf8_valid(text, len))
		BAD(name, "%s is not valid UTF-8", path);
	int32_t days;
	if (date && len && ug_date_parse(text, &days) != UG_OK)
		BAD(name, "%s is not a valid date (YYYY-MM-DD)", path);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/*
 * Walk the message by its descriptor, so a field added to the schema is
 * checked without anyone remembering to: every string (size, UTF-8, date
 * syntax), into every sub-message that is set. Depth-first, in field
 * number order; path is the dotted name so far.
 */
static int
check_strings(const ProtobufCMessage *m, char *path, size_t plen, size_t cap,
	      ug_diag *diag)
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
		for (size_t k = 0; k < count; k++) {
			int rc;
			if (f->type == PROTOBUF_C_TYPE_STRING)
				rc = check_string(items[k], path, f->name,
						  is_date_field(d, f), diag);
			else if (items[k])
				rc = check_strings(items[k], path, sub, cap,
						   diag);
			else
				rc = UNGEBRO__V1__ERROR_CODE__OK;
			if (rc != UNGEBRO__V1__ERROR_CODE__OK)
				return rc;
		}
		path[plen] = '\0';
	}
	return UNGEBRO__V1__ERROR_CODE__OK;
}

static int
validate_absence(const Ungebro__V1__AbsenceReport *a, ug_diag *diag)
{
	int32_t start, end;
	CHECK(check_text(a->school, "school", 1, diag));
	CHECK(check_date(a->period_start, "period_start", 1, &start, diag));
	CHECK(check_date(a->period_end, "period_end", 1, &end, diag));
	if (end < start)
		BAD("period_end", "period_end is before period_start");
	if (end - start > 366)
		BAD("period_end", "period is longer than a year");
	if (a->lessons_expected == 0)
		BAD("lessons_expected", "lessons_expected must be above 0");
	if (a->lessons_absent > a->lessons_expected)
		BAD("lessons_absent", "lessons_absent %u is more than "
		    "lessons_expected %u", a->lessons_absent,
		    a->lessons_expected);
	if (a->kind == UNGEBRO__V1__ABSENCE_KIND__ABSENCE_KIND_UNSPECIFIED ||
	    a->kind > UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS)
		BAD("kind", "absence kind is missing or unknown");
	if (a->grade > 10)
		BAD("grade", "grade %u is not 0-10", a->grade);
	return UNGEBRO__V1__ERROR_CODE__OK;
}

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
		*why = "contact_assignment.role is not one of "
		       WIRE_ROLE_ACCEPTED " (or empty, meaning contact)";
		return by_text;
	}
	if (kind < 1 || kind > ROLE_LAST) {
		*field = "role_kind";
		*why = "contact_assignment.role_kind is not a known ContactRole";
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
	CHECK(check_text(c->caseworker, "caseworker", 1, diag));
	CHECK(check_id(c->caseworker, "contact_assignment.caseworker",
		       "caseworker", diag));
	CHECK(check_text(c->role, "role", 0, diag));
	const char *field, *why;
	if (assignment_role(c, &field, &why) == WIRE_ROLE_INVALID)
		BAD(field, "%s", why);
	int32_t from = 0, to = 0;
	CHECK(check_date(c->from, "from", 1, &from, diag));
	CHECK(check_date(c->to, "to", 0, &to, diag));
	if (c->to && c->to[0] && to < from)
		BAD("to", "to is before from");
	return UNGEBRO__V1__ERROR_CODE__OK;
}

/* Event types whose full rules arrive in later issues are checked for their
 * dates and text sizes here, so v1 accepts exactly what it will keep. */
static int
validate_other(const wire_envelope *env, ug_diag *diag)
{
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		CHECK(check_text(env->dropout->institution, "institution", 1,
		                 diag));
		return check_date(env->dropout->date, "date", 1, NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		CHECK(check_text(env->dropout_risk->institution, "institution",
		                 1, diag));
		return check_date(env->dropout_risk->date, "date", 1, NULL,
		                  diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		CHECK(check_text(env->enrolment->institution, "institution", 1,
		                 diag));
		CHECK(check_date(env->enrolment->start, "start", 1, NULL, diag));
		return check_date(env->enrolment->end, "end", 0, NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		CHECK(check_text(env->addiction_referral->service, "service", 1,
		                 diag));
		return check_date(env->addiction_referral->date, "date", 1,
		                  NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT:
		CHECK(check_text(env->readiness_assessment->school, "school", 1,
		                 diag));
		if (env->readiness_assessment->grade < 7 ||
		    env->readiness_assessment->grade > 10)
			BAD("grade", "grade %u is not 7-10",
			    env->readiness_assessment->grade);
		return check_date(env->readiness_assessment->date, "date", 1,
		                  NULL, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS: {
		const Ungebro__V1__BenefitStatus *b = env->benefit_status;
		int32_t start = 0, stop = 0;
		CHECK(check_text(b->jobcenter, "jobcenter", 1, diag));
		CHECK(check_text(b->reason, "reason", 0, diag));
		if (b->benefit == UNGEBRO__V1__BENEFIT_KIND__BENEFIT_KIND_UNSPECIFIED ||
		    b->benefit > UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT)
			BAD("benefit", "benefit kind is missing or unknown");
		CHECK(check_date(b->start, "start", 1, &start, diag));
		CHECK(check_date(b->stop, "stop", 0, &stop, diag));
		if (b->stop && b->stop[0] && stop < start)
			BAD("stop", "stop is before start");
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION:
		CHECK(check_text(env->missed_activation->jobcenter, "jobcenter",
		                 1, diag));
		CHECK(check_text(env->missed_activation->activity, "activity", 0,
		                 diag));
		return check_date(env->missed_activation->date, "date", 1, NULL,
		                  diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING: {
		const Ungebro__V1__SchoolLeaving *l = env->school_leaving;
		CHECK(check_text(l->school, "school", 1, diag));
		if (l->grade < 9 || l->grade > 10)
			BAD("grade", "grade %u is not 9 or 10", l->grade);
		if (l->kind == UNGEBRO__V1__LEAVING_KIND__LEAVING_KIND_UNSPECIFIED ||
		    l->kind > UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL)
			BAD("kind", "leaving kind is missing or unknown");
		return check_date(l->date, "date", 1, NULL, diag);
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP: {
		const Ungebro__V1__DeskMembership *d = env->desk_membership;
		int32_t from = 0, to = 0;
		CHECK(check_text(d->desk, "desk", 1, diag));
		CHECK(check_text(d->caseworker, "caseworker", 1, diag));
		CHECK(check_id(d->desk, "desk_membership.desk", "desk", diag));
		CHECK(check_id(d->caseworker, "desk_membership.caseworker",
			       "caseworker", diag));
		CHECK(check_date(d->from, "from", 1, &from, diag));
		CHECK(check_date(d->to, "to", 0, &to, diag));
		if (d->to && d->to[0] && to < from)
			BAD("to", "to is before from");
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
	default:
		return UNGEBRO__V1__ERROR_CODE__OK;
	}
}

int
wire_validate_head(const wire_envelope *env, ug_diag *diag)
{
	if (env->schema_version != WIRE_SCHEMA_VERSION) {
		ug_diag_set(diag, "schema_version", "schema version %u is not "
		            "supported (expected %d)", env->schema_version,
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
	int want = payload_case_for(env->type);
	if (want < 0)
		BAD("type", "unknown event type %d", env->type);
	if ((int)env->payload_case != want)
		BAD("payload", "payload does not match type %s",
		    wire_event_type_name(env->type));
	char path[128] = "";
	CHECK(check_strings(&env->base, path, 0, sizeof path, diag));
	if (env->occurred_at <= 0)
		BAD("occurred_at", "occurred_at is required");
	if (env->supersedes.len != 0 &&
	    env->supersedes.len != WIRE_EVENT_ID_LEN)
		BAD("supersedes", "supersedes must be empty or %d bytes",
		    WIRE_EVENT_ID_LEN);
	switch (env->sensitivity) {
	case UNGEBRO__V1__SENSITIVITY__PERSONAL:
	case UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY: {
		char cpr[11];
		/* On the wire only the normalised 10 digits: the same
		 * person must hash to the same key on every path. */
		if (!env->cpr || strlen(env->cpr) != 10 ||
		    ug_cpr_parse(env->cpr, 10, cpr, NULL) != UG_OK)
			BAD("cpr", "cpr must be 10 digits with a valid date");
		break;
	}
	case UNGEBRO__V1__SENSITIVITY__ANONYMOUS:
		if (env->cpr && env->cpr[0])
			BAD("cpr", "an anonymous event must not carry a cpr");
		if (env->type != UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL)
			BAD("sensitivity", "only addiction referrals may be "
			    "anonymous");
		break;
	case UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL:
		if (env->cpr && env->cpr[0])
			BAD("cpr", "an organisational event must not carry a cpr");
		if (env->type != UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP)
			BAD("sensitivity", "only desk memberships are "
			    "organisational");
		break;
	default:
		BAD("sensitivity", "sensitivity is missing or unknown");
	}
	if (env->type == UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL &&
	    env->sensitivity == UNGEBRO__V1__SENSITIVITY__PERSONAL)
		BAD("sensitivity", "addiction referrals are special category");
	if (env->type == UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP &&
	    env->sensitivity != UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL)
		BAD("sensitivity", "desk memberships are organisational");
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT:
		return validate_absence(env->absence_report, diag);
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT:
		return validate_assignment(env->contact_assignment, diag);
	default:
		return validate_other(env, diag);
	}
}
