/*
 * Caseworker queries on the delivery endpoint: the open alerts of the
 * caseworker (and their desk), most urgent and newest first, and one
 * person's timeline. Need to know: a timeline is shown only for a person
 * assigned to the asking caseworker, for an unassigned person to a desk
 * member, or for a person with an open alert addressed to them (an
 * escalation). Addiction events never appear in a timeline; a referral
 * shared with consent appears as its alert. Every answer, and every
 * refusal, is appended to the audit trail (who, with which key, about
 * which person key, the result): queued, and written with the tick's
 * other audit records (deliver.c), so a query never waits for an fsync.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/hub_int.h"

#define LIST_DEFAULT	  40
#define LIST_MAX	  50
#define LIST_SCAN_MAX	  5000 /* open alerts ordered per query, at most */
#define TIMELINE_SCAN_MAX 5000
#define QUERY_BUCKETS	  1024
#define QUERY_PROBE	  16 /* slots tried from a caseworker's own */
#define TIMELINE_DEFAULT  200
#define TIMELINE_MAX	  400
/* Bytes of a timeline summary, with its NUL: an event's or an alert's is
 * cut to EVENT_SUMMARY_MAX; a recorded action's is whole, the longest
 * kind, a caseworker id, its 256 bytes of how and 200 of note. */
#define EVENT_SUMMARY_MAX 192
#define SUMMARY_MAX	  576

static void
send_result(hub *h, const void *routing, size_t routing_len,
	    const wire_result *result)
{
	if (!hub__delivery_send(h, routing, routing_len,
				UNGEBRO__V1__FRAME_KIND__FRAME_RESULT, result))
		hub__drop_log(&h->query_drops, "HUB-QUERY", "result not sent",
			      zmq_strerror(errno));
}

/* Fewer entries until the frame fits WIRE_MAX_FRAME; `truncated` tells the
 * client to ask for the next page at offset + the entries it got. */
static void
fit_frame(wire_result *result)
{
	size_t *n = result->n_alerts ? &result->n_alerts : &result->n_timeline;
	while (*n > 0 &&
	       wire_encoded_size(UNGEBRO__V1__FRAME_KIND__FRAME_RESULT,
				 result) > WIRE_MAX_FRAME) {
		*n -= *n > 8 ? *n / 8 : 1;
		result->truncated = true;
	}
}

/* A token bucket per caseworker: query_rate per second, query_burst at
 * once, whichever door the frame came through. Queries and actions each
 * have a table of their own, so recording what was done never costs a
 * caseworker a page of their list, nor the other way round. */
bool
hub__allowed(hub *h, hub_query_bucket **table, const char *caseworker)
{
	if (!*table) {
		*table = calloc(QUERY_BUCKETS, sizeof **table);
		if (!*table)
			return true;
	}
	uint32_t hash = 2166136261u;
	for (const char *p = caseworker; *p; p++)
		hash = (hash ^ (uint8_t)*p) * 16777619u;
	/* Caseworkers whose ids hash alike share a run of slots, each with
	 * its own bucket: were one slot theirs by turns, each would hand the
	 * other a full burst and neither would ever be limited. When the
	 * run is taken, the bucket left alone longest (full again, or
	 * nearly) gives its place up. */
	hub_query_bucket *b = NULL, *oldest = NULL;
	for (uint32_t i = 0; i < QUERY_PROBE && !b; i++) {
		hub_query_bucket *c = &(*table)[(hash + i) % QUERY_BUCKETS];
		if (strcmp(c->caseworker, caseworker) == 0)
			b = c;
		else if (!oldest || !c->caseworker[0] ||
			 (oldest->caseworker[0] && c->at < oldest->at))
			oldest = c;
	}
	int64_t now = ug_mono_ms();
	if (!b) {
		b = oldest;
		ug_strlcpy(b->caseworker, caseworker, sizeof b->caseworker);
		b->tokens = h->query_burst;
		b->at = now;
	}
	b->tokens += (double)(now - b->at) * h->query_rate / 1000.0;
	if (b->tokens > h->query_burst)
		b->tokens = h->query_burst;
	b->at = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= 1.0;
	return true;
}

static void
audit(hub *h, const char *caseworker, const char *action, const char *result,
      const uint8_t *person_key, const char *detail)
{
	char key[UG_Z85_KEY_LEN + 1];
	store_audit_entry e;
	hub__caseworker_audit_entry(h, &e, key, caseworker, action, result,
				    person_key, detail);
	store_audit_queue(h->store, &e);
}

/* ---- open alerts ---- */

typedef struct {
	wire_alert **alerts;
	size_t n, cap;
	const char *current; /* the queue being read: who it is for now */
} alert_list;

static void
alert_list_free(alert_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, l->alerts[i]);
	free(l->alerts);
}

static ug_err
collect_alert(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	      uint32_t deliveries)
{
	(void)id;
	alert_list *l = ctx;
	if (l->n == l->cap)
		return UG_EFULL;
	wire_alert *a =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (!a)
		return UG_OK;
	/* The queue says who it is for now (a reassignment or escalation may
	 * have moved it). protobuf-c's default allocator is malloc, so a
	 * strdup'ed string is freed with the message like its own. */
	char *now_for = strdup(l->current);
	if (!now_for) {
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, a);
		return UG_ENOMEM;
	}
	free(a->recipient);
	a->recipient = now_for;
	a->delivery = deliveries;
	l->alerts[l->n++] = a;
	return UG_OK;
}

/* Most urgent first; within a priority newest first; equal instants by
 * alert id, highest first, so every page is cut from the same order. */
static int
most_urgent_first(const void *a, const void *b)
{
	const wire_alert *x = *(wire_alert *const *)a;
	const wire_alert *y = *(wire_alert *const *)b;
	if (x->priority != y->priority)
		return y->priority - x->priority;
	if (x->raised_at != y->raised_at)
		return x->raised_at < y->raised_at ? 1 : -1;
	size_t n = x->alert_id.len < y->alert_id.len ? x->alert_id.len
						     : y->alert_id.len;
	int c = n ? memcmp(y->alert_id.data, x->alert_id.data, n) : 0;
	return c ? c : (int)y->alert_id.len - (int)x->alert_id.len;
}

/* An alert asked for by id, open or not: whether it is the caseworker's
 * (or their desk's) and names no one, which a client must know to offer
 * no form for an Action the hub would refuse. Said of their own alerts
 * only: of another's, not even that it exists. An id no alert has is
 * not an error; a read that failed is, as "false" would offer the form. */
static ug_err
names_no_one(hub *h, const char *caseworker, const uint8_t *id, bool *no_one)
{
	bool open = false, desk = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	hub_alert_summary f;
	*no_one = false;
	ug_err err =
	    store_alert_state(h->store, id, &open, recipient, &escalations);
	if (err == UG_ENOTFOUND || err == UG_EMALFORMED)
		return UG_OK;
	if (err != UG_OK)
		return err;
	if (strcmp(recipient, caseworker) != 0) {
		if (strcmp(recipient, h->rules.desk) != 0)
			return UG_OK;
		err = hub__desk_member(h, caseworker, &desk);
		if (!desk)
			return err == UG_ENOTFOUND ? UG_OK : err;
	}
	/* A record that does not open is reported where it is found and
	 * offers nothing to act on; asking again would not open it. */
	err = hub__alert_summary(h, id, &f);
	if (err == UG_ENOTFOUND || err == UG_EMALFORMED)
		return UG_OK;
	*no_one = err == UG_OK && !f.cpr[0];
	return err;
}

/* Exactly one Result per Query: one the hub cannot read its store for
 * (or has no memory for) is answered to be asked again. */
static void
unavailable(hub *h, const void *routing, size_t routing_len,
	    wire_result *result)
{
	result->code = UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE;
	result->reason =
	    "the hub cannot read its store right now; retry later";
	send_result(h, routing, routing_len, result);
}

static void
list_open(hub *h, const void *routing, size_t routing_len,
	  const char *caseworker, const wire_query *q, wire_result *result)
{
	size_t limit = q->limit ? q->limit : LIST_DEFAULT;
	if (limit > LIST_MAX)
		limit = LIST_MAX;
	bool one = q->alert_id.len > 0;
	if (one && q->alert_id.len != STORE_ALERT_ID_LEN) {
		result->code = UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
		result->reason = "alert_id must be 9 bytes";
		send_result(h, routing, routing_len, result);
		audit(h, caseworker, "list", "malformed", NULL,
		      result->reason);
		return;
	}
	/* The open alerts (up to LIST_SCAN_MAX of them) are ordered as a
	 * whole, so pages (offset) are slices of one order. */
	alert_list l = {calloc(LIST_SCAN_MAX, sizeof(wire_alert *)), 0,
			LIST_SCAN_MAX, NULL};
	if (!l.alerts) {
		unavailable(h, routing, routing_len, result);
		return;
	}
	const char *recipients[2] = {caseworker, NULL};
	/* A caseworker registered under the desk's own id reads the desk's
	 * queue as theirs: listed twice, every alert would show twice. A
	 * membership that cannot be read would leave the desk's alerts out
	 * of a list answered as whole. */
	bool desk = false;
	if (hub__desk_member(h, caseworker, &desk) != UG_OK) {
		free(l.alerts);
		unavailable(h, routing, routing_len, result);
		return;
	}
	if (desk && strcmp(caseworker, h->rules.desk) != 0)
		recipients[1] = h->rules.desk;
	bool more = false;
	for (int i = 0; i < 2 && recipients[i]; i++) {
		l.current = recipients[i];
		ug_err err =
		    store_alerts_open(h->store, recipients[i], NULL,
				      l.cap - l.n + 1, collect_alert, &l);
		if (err == UG_EFULL) {
			more = true;
		} else if (err != UG_OK) {
			/* A partial list answered OK would pass for the
			 * whole of it. */
			alert_list_free(&l);
			unavailable(h, routing, routing_len, result);
			return;
		}
	}
	qsort(l.alerts, l.n, sizeof *l.alerts, most_urgent_first);
	size_t offset = q->offset < l.n ? q->offset : l.n;
	size_t n = l.n - offset < limit ? l.n - offset : limit;
	char asked[2 * STORE_ALERT_ID_LEN + 1] = "";
	if (one) {
		/* One alert's page: only the alert shown is recorded as
		 * shown, not every alert a search of the pages passed. */
		for (offset = 0; offset < l.n; offset++)
			if (l.alerts[offset]->alert_id.len ==
				STORE_ALERT_ID_LEN &&
			    memcmp(l.alerts[offset]->alert_id.data,
				   q->alert_id.data, STORE_ALERT_ID_LEN) == 0)
				break;
		n = offset < l.n;
		bool no_one = false;
		if (names_no_one(h, caseworker, q->alert_id.data, &no_one) !=
		    UG_OK) {
			alert_list_free(&l);
			unavailable(h, routing, routing_len, result);
			return;
		}
		result->names_no_one = no_one;
		ug_hex(q->alert_id.data, STORE_ALERT_ID_LEN, asked);
	}
	result->n_alerts = n;
	result->alerts = l.alerts + offset;
	/* Past the alerts ordered there is no next page to ask for: an
	 * empty page that said `truncated` would keep a client asking. */
	result->truncated = !one && (offset + n < l.n || (more && n > 0));
	fit_frame(result);
	send_result(h, routing, routing_len, result);
	audit(h, caseworker, "list", "ok", NULL, asked);
	/* The list hands over each alert whole, the CPR included: a person's
	 * access export must show who was shown their alerts, as it shows
	 * who was sent them (the web inbox reads alerts only this way). */
	for (size_t i = 0; i < result->n_alerts; i++) {
		const wire_alert *a = result->alerts[i];
		if (a->alert_id.len != STORE_ALERT_ID_LEN)
			continue;
		uint8_t person_key[UG_PERSON_KEY_LEN];
		char id[2 * STORE_ALERT_ID_LEN + 1];
		/* A notice that names no one is still about someone. */
		if (a->cpr && a->cpr[0])
			ug_person_key(h->keys->hash_key, a->cpr, person_key);
		else if (!hub__alert_person_logged(h, a->alert_id.data,
						   person_key))
			continue;
		ug_hex(a->alert_id.data, STORE_ALERT_ID_LEN, id);
		audit(h, caseworker, "listed", "ok", person_key, id);
	}
	alert_list_free(&l);
}

/* ---- timeline ---- */

typedef struct {
	hub *h;
	const char *caseworker;
	bool desk;
	bool allowed;
} access_ctx;

/* An alert the store holds no readable record of: none, or a forged one
 * (reported, and refused as if absent: OPERATIONS.md). */
static bool
absent(ug_err err)
{
	return err == UG_ENOTFOUND || err == UG_EMALFORMED;
}

static ug_err
check_alert_access(void *ctx, const uint8_t *id)
{
	access_ctx *a = ctx;
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	hub_alert_summary f;
	/* A state that cannot be read might be the open alert that lets the
	 * caseworker in: the walk stops with the error, not "not yours". */
	ug_err err =
	    store_alert_state(a->h->store, id, &open, recipient, &escalations);
	if (err != UG_OK)
		return absent(err) ? UG_OK : err;
	if (!open || (strcmp(recipient, a->caseworker) != 0 &&
		      !(a->desk && strcmp(recipient, a->h->rules.desk) == 0)))
		return UG_OK;
	/* An alert that names no person (a health alert's escalation
	 * notice) grants nothing: it is content-free so that the desk does
	 * not learn whom it is about, which a timeline would tell. */
	err = hub__alert_summary(a->h, id, &f);
	if (err != UG_OK)
		return absent(err) ? UG_OK : err;
	if (f.cpr[0]) {
		a->allowed = true;
		return UG_EFULL; /* one is enough */
	}
	return UG_OK;
}

static bool summarise(const wire_envelope *env, char *text, size_t cap,
		      char *date);

static bool health_alert(const uint8_t *id);

typedef struct {
	hub *h;
	bool shown;
} known_ctx;

static ug_err
shown_event(void *ctx, const store_record *rec)
{
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	if (!env)
		return UG_OK;
	char text[SUMMARY_MAX], date[11];
	/* An action on a health alert shows only with that alert, which
	 * grants the timeline by itself while it is open: once closed, the
	 * action would open an empty timeline that tells of the referral. */
	const Ungebro__V1__CaseworkerAction *act =
	    env->payload_case ==
		    UNGEBRO__V1__ENVELOPE__PAYLOAD_CASEWORKER_ACTION
		? env->caseworker_action
		: NULL;
	bool health = act && act->alert_id.len == STORE_ALERT_ID_LEN &&
		      health_alert(act->alert_id.data);
	*(bool *)ctx = !health && summarise(env, text, sizeof text, date);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return UG_OK;
}

static ug_err
found_shown(void *ctx, uint64_t seq)
{
	known_ctx *k = ctx;
	ug_err err = store_log_get(k->h->store, seq, shown_event, &k->shown);
	if (k->shown)
		return UG_EFULL;
	/* A record the purge has deleted names nothing (add_seq); one that
	 * cannot be read might be the event that lets the desk in. */
	return err == UG_ENOTFOUND ? UG_OK : err;
}

/* Need to know: UG_OK, UG_EDENIED, or the error that kept the hub from
 * telling (answered E_UNAVAILABLE: a refusal would tell the desk a person
 * is not theirs when the hub only failed to read it). A person the hub
 * never heard of is refused exactly like another caseworker's person, so
 * a query cannot tell whether a CPR is known. The desk's "known" is an
 * event a timeline would show: a person known only by addiction
 * referrals, which no timeline shows, is refused too, or an empty
 * timeline would tell the desk of a referral that no consent shares with
 * it. */
static ug_err
may_see(hub *h, const char *caseworker, const uint8_t *person_key)
{
	char contact[STORE_ID_MAX];
	ug_err err =
	    store_assignment_get(h->store, person_key, hub__today(h), contact);
	if (err != UG_OK && err != UG_ENOTFOUND)
		return err;
	bool assigned = err == UG_OK;
	/* The desk's own id names no contact person (routing.c), so it
	 * opens no timeline to a login registered under that id either:
	 * such a login sees a person only by the desk's open alert about
	 * them, or as a desk member (RULES.md §7). */
	if (assigned && strcmp(contact, h->rules.desk) == 0)
		assigned = false;
	if (assigned && strcmp(contact, caseworker) == 0)
		return UG_OK;
	/* Membership that cannot be read is no answer either way, but an
	 * alert addressed to the caseworker themselves still lets them in. */
	access_ctx a = {h, caseworker, false, false};
	ug_err desk_err = hub__desk_member(h, caseworker, &a.desk);
	if (!assigned && a.desk) {
		known_ctx k = {h, false};
		err =
		    store_person_events(h->store, person_key, found_shown, &k);
		if (k.shown)
			return UG_OK;
		if (err != UG_OK)
			return err;
	}
	err =
	    store_person_alerts(h->store, person_key, check_alert_access, &a);
	if (a.allowed)
		return UG_OK;
	if (err != UG_OK)
		return err;
	return desk_err != UG_OK ? desk_err : UG_EDENIED;
}

typedef struct {
	uint8_t id[WIRE_EVENT_ID_LEN];
	uint64_t seq;
	char agency[STORE_ID_MAX];
} timeline_correction;

typedef struct {
	Ungebro__V1__TimelineEntry *entries;
	char (*text)[SUMMARY_MAX];
	char (*dates)[11];
	size_t n, cap;
	bool truncated;
	uint64_t *seqs; /* entries[i]'s log sequence; 0 for an alert */
	/* What the person's events name in `supersedes`, with who named it
	 * and when, since only a later event of the same agency corrects. */
	timeline_correction *corrected;
	size_t ncorrected, corrected_cap;
	/* Who asks: an action recorded on a health alert shows only where
	 * that alert does. */
	hub *h;
	const char *caseworker;
	bool desk;
} timeline;

/* Whether the alert is open and addressed to the caller (or their desk):
 * UG_OK with *theirs, or the error of a state that could not be read (an
 * alert that is not there, or forged, is not theirs). */
static ug_err
alert_theirs(hub *h, const uint8_t *id, const char *caseworker, bool desk,
	     bool *theirs)
{
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	*theirs = false;
	ug_err err =
	    store_alert_state(h->store, id, &open, recipient, &escalations);
	if (err != UG_OK)
		return absent(err) ? UG_OK : err;
	*theirs = open && (strcmp(recipient, caseworker) == 0 ||
			   (desk && strcmp(recipient, h->rules.desk) == 0));
	return UG_OK;
}

static Ungebro__V1__TimelineEntry *
next_entry(timeline *t)
{
	if (t->n == t->cap) {
		t->truncated = true;
		return NULL;
	}
	Ungebro__V1__TimelineEntry *e = &t->entries[t->n];
	ungebro__v1__timeline_entry__init(e);
	e->summary = t->text[t->n];
	e->date = t->dates[t->n];
	t->n++;
	return e;
}

static const char *
nonempty(const char *text, const char *fallback)
{
	return text && text[0] ? text : fallback;
}

/* One line for a person about an event; false to leave it out. */
static bool
summarise(const wire_envelope *env, char *text, size_t cap, char *date)
{
	const char *when = NULL;
	/* What a caseworker recorded is shown as written: cut, its note
	 * would be lost without a trace. */
	size_t whole = cap;
	if (cap > EVENT_SUMMARY_MAX)
		cap = EVENT_SUMMARY_MAX;
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT: {
		const Ungebro__V1__AbsenceReport *a = env->absence_report;
		snprintf(text, cap, "absence %u of %u lessons, %s to %s",
			 a->lessons_absent, a->lessons_expected,
			 a->period_start, a->period_end);
		when = a->period_end;
		break;
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		snprintf(text, cap, "dropped out of %s at %s",
			 nonempty(env->dropout->programme, "a programme"),
			 env->dropout->institution);
		when = env->dropout->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		snprintf(text, cap, "risk of dropping out at %s",
			 env->dropout_risk->institution);
		when = env->dropout_risk->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		snprintf(text, cap, "%s %s at %s",
			 env->enrolment->end && env->enrolment->end[0]
			     ? "enrolment ended:"
			     : "enrolled in",
			 nonempty(env->enrolment->programme, "a programme"),
			 env->enrolment->institution);
		when = nonempty(env->enrolment->end, env->enrolment->start);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT:
		snprintf(text, cap, "readiness assessment grade %u: %s",
			 env->readiness_assessment->grade,
			 env->readiness_assessment->ready ? "ready"
							  : "not ready");
		when = env->readiness_assessment->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		snprintf(text, cap, "left school after grade %u (%s)",
			 env->school_leaving->grade,
			 env->school_leaving->kind ==
				 UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE
			     ? "completed"
			     : "left early");
		when = env->school_leaving->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT: {
		/* A role the hub does not know can only be in a log written
		 * before roles were checked (hubctl took any text): say so
		 * rather than echo the text as if it were a role. */
		const char *role = wire_contact_role_name(
		    wire_assignment_role(env->contact_assignment));
		snprintf(text, cap, "contact person: %s (%s)",
			 env->contact_assignment->caseworker,
			 role ? role : "unrecognised role");
		when = env->contact_assignment->from;
		break;
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS:
		snprintf(text, cap, "benefit %s",
			 env->benefit_status->stop &&
				 env->benefit_status->stop[0]
			     ? "stopped"
			     : "started");
		when = nonempty(env->benefit_status->stop,
				env->benefit_status->start);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION:
		snprintf(text, cap, "missed an activation offer");
		when = env->missed_activation->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CASEWORKER_ACTION: {
		const Ungebro__V1__CaseworkerAction *x =
		    env->caseworker_action;
		const char *what =
		    x->kind == UNGEBRO__V1__ACTION_KIND__CONTACT_MADE
			? "contact made"
		    : x->kind == UNGEBRO__V1__ACTION_KIND__OFFER_MADE
			? "offer made"
			: "could not reach the young person";
		snprintf(text, whole, "%s by %s: %s%s%s", what, x->caseworker,
			 x->how, x->note && x->note[0] ? " — " : "",
			 x->note ? x->note : "");
		when = x->date;
		break;
	}
	default:
		/* Addiction data is the service's own: never in a timeline. */
		return false;
	}
	ug_utf8_trim_tail(text);
	ug_text_one_line(text);
	if (when && strlen(when) == 10)
		memcpy(date, when, 11);
	else
		ug_date_format((int32_t)(env->occurred_at / UG_DAY_MS), date);
	return true;
}

static ug_err
add_event(void *ctx, const store_record *rec)
{
	timeline *t = ctx;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	if (!env)
		return UG_OK;
	if (env->supersedes.len == WIRE_EVENT_ID_LEN) {
		if (t->ncorrected == t->corrected_cap) {
			size_t want =
			    t->corrected_cap ? 2 * t->corrected_cap : 16;
			void *grown =
			    realloc(t->corrected, want * sizeof *t->corrected);
			if (grown) {
				t->corrected = grown;
				t->corrected_cap = want;
			}
		}
		if (t->ncorrected < t->corrected_cap) {
			timeline_correction *c =
			    &t->corrected[t->ncorrected++];
			memcpy(c->id, env->supersedes.data, WIRE_EVENT_ID_LEN);
			c->seq = rec->seq;
			ug_strlcpy(c->agency, rec->agency, sizeof c->agency);
		}
	}
	/* What was done about a health alert (its note too) is as much
	 * health data as the alert: a later contact person, the desk or the
	 * counsellor would read of the referral in it. */
	const Ungebro__V1__CaseworkerAction *act =
	    env->payload_case ==
		    UNGEBRO__V1__ENVELOPE__PAYLOAD_CASEWORKER_ACTION
		? env->caseworker_action
		: NULL;
	bool hidden = false;
	if (act && act->alert_id.len == STORE_ALERT_ID_LEN &&
	    health_alert(act->alert_id.data)) {
		/* Left out because it could not be read, the action would
		 * be missing from a timeline answered as whole. */
		bool theirs = false;
		ug_err err = alert_theirs(t->h, act->alert_id.data,
					  t->caseworker, t->desk, &theirs);
		if (err != UG_OK) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
			return err;
		}
		hidden = !theirs;
	}
	char text[SUMMARY_MAX], date[11];
	if (!hidden && summarise(env, text, sizeof text, date)) {
		Ungebro__V1__TimelineEntry *e = next_entry(t);
		if (e) {
			memcpy(e->summary, text, sizeof text);
			memcpy(e->date, date, sizeof date);
			e->type = env->type;
			t->seqs[e - t->entries] = rec->seq;
			/* The stored agency string lives only during this
			 * call. */
			e->agency = strdup(rec->agency);
			e->event_id.len = env->event_id.len;
			e->event_id.data = malloc(env->event_id.len + 1);
			if (e->event_id.data)
				memcpy(e->event_id.data, env->event_id.data,
				       env->event_id.len);
		}
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return UG_OK;
}

typedef struct {
	hub *h;
	timeline *t;
} seq_ctx;

static ug_err
add_seq(void *ctx, uint64_t seq)
{
	seq_ctx *s = ctx;
	ug_err err = store_log_get(s->h->store, seq, add_event, s->t);
	/* An index entry of a record the purge has deleted (its derived
	 * commit lost in a crash, repeated by the next purge) names nothing
	 * to show; it must not end the walk nor the timeline. */
	return err == UG_ENOTFOUND ? UG_OK : err;
}

typedef struct {
	timeline *t;
	bool open;
	bool hide_health; /* a notice: hide it if it withdrew a health alert */
} alert_entry_ctx;

/* A withdrawn notice names the alert it withdrew, rule included, in its
 * title ("Withdrawn: alert <id> (addiction)", or "Withdrawn: 2 alerts
 * (addiction)" for several, apply.c): that an addiction alert (or a
 * missed treatment start) existed is itself health data. */
static bool
withdraws_health_alert(const wire_alert *alert)
{
	static const char lead[] = "Withdrawn: ";
	static const char *const health[] = {" (addiction)",
					     " (deadline.treatment.missed)"};
	const char *t = alert->title;
	if (!t || strncmp(t, lead, sizeof lead - 1) != 0)
		return false;
	size_t len = strlen(t);
	for (size_t i = 0; i < sizeof health / sizeof *health; i++) {
		size_t n = strlen(health[i]);
		if (len >= n && strcmp(t + len - n, health[i]) == 0)
			return true;
	}
	return false;
}

static ug_err
add_alert_body(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	       uint32_t deliveries)
{
	(void)deliveries;
	alert_entry_ctx *a = ctx;
	wire_alert *alert =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (!alert)
		return UG_OK;
	if (a->hide_health && withdraws_health_alert(alert)) {
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, alert);
		return UG_OK;
	}
	Ungebro__V1__TimelineEntry *e = next_entry(a->t);
	if (e) {
		e->is_alert = true;
		snprintf(e->summary, EVENT_SUMMARY_MAX, "%s", alert->title);
		ug_utf8_trim_tail(e->summary);
		ug_date_format((int32_t)(alert->raised_at / UG_DAY_MS),
			       e->date);
		e->rule = strdup(alert->rule);
		e->alert_id.len = STORE_ALERT_ID_LEN;
		e->alert_id.data = malloc(STORE_ALERT_ID_LEN);
		if (e->alert_id.data)
			memcpy(e->alert_id.data, id, STORE_ALERT_ID_LEN);
		/* *open is set by store_alert_get before calling us. */
		e->open = a->open;
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, alert);
	return UG_OK;
}

typedef struct {
	hub *h;
	timeline *t;
	const char *caseworker;
	bool desk; /* the caseworker is on the duty desk today */
} palert_ctx;

/* Health data (GDPR art. 9): the addiction alert, a missed treatment
 * start, and the notices of them. */
static bool
health_alert(const uint8_t *id)
{
	int rule = id[STORE_ALERT_ID_LEN - 1] & R_RULE_MASK;
	return rule == R_ADDICTION || rule == R_TREATMENT_MISSED;
}

static ug_err
add_alert(void *ctx, const uint8_t *id)
{
	palert_ctx *p = ctx;
	alert_entry_ctx a = {p->t, false, false};
	bool open = false;
	/* State first: the callback needs it. */
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	ug_err serr =
	    store_alert_state(p->h->store, id, &open, recipient, &escalations);
	if (serr != UG_OK)
		return absent(serr) ? UG_OK : serr;
	/* The consent names the contact person it was shared with: a health
	 * alert shows only in the timeline of the caseworker it is addressed
	 * to, and only while it is open (a withdrawal closes it). A missed
	 * treatment start the consent let reach the desk is each member's. */
	bool theirs =
	    open && (strcmp(recipient, p->caseworker) == 0 ||
		     (p->desk && strcmp(recipient, p->h->rules.desk) == 0));
	if (health_alert(id) && !theirs)
		return UG_OK;
	/* A health alert's escalation notice names no one so that the desk
	 * and the team lead do not learn whom it is about: listed in the
	 * person's timeline, its id would tell them. */
	if (health_alert(id) && (id[STORE_ALERT_ID_LEN - 1] &
				 (R_ESCALATED_DESK | R_ESCALATED_LEAD)))
		return UG_OK;
	/* The notice that withdrew one shows in no timeline: it went out
	 * once the consent no longer shared the alert, and names no one. */
	a.hide_health =
	    (id[STORE_ALERT_ID_LEN - 1] & R_RULE_MASK) == R_WITHDRAWN;
	a.open = open;
	ug_err err =
	    store_alert_get(p->h->store, id, add_alert_body, &a, &open);
	/* A forged alert is refused as if absent (STORE-FORGED, OPERATIONS.md
	 * "Records that do not open"); a read that fails is not. */
	return err == UG_EMALFORMED ? UG_OK : err;
}

/* End an event's summary (EVENT_SUMMARY_MAX bytes with its NUL) with the
 * superseded mark: a summary already at its length gives up its tail, cut
 * at a character boundary, since the mark is what the reader must see. */
static void
mark_text(char *summary)
{
	static const char mark[] = " (superseded)";
	size_t room = EVENT_SUMMARY_MAX - sizeof mark;
	if (strlen(summary) > room) {
		summary[room] = '\0';
		ug_utf8_trim_tail(summary);
	}
	memcpy(summary + strlen(summary), mark, sizeof mark);
}

/*
 * Events a later correction replaced stay in the timeline, marked. The
 * same test as the rules' (apply.c): another agency cannot correct a
 * school's report, and an event stored before the one it names is not
 * its correction. An event naming itself is refused at ingest. A
 * correction may name the first report or any correction of it
 * (RULES.md §3): every version of one fact but the latest is marked,
 * so a second correction naming the first report marks the first
 * correction too.
 */
static bool
corrects_entry(const timeline *t, const timeline_correction *c, size_t i)
{
	const Ungebro__V1__TimelineEntry *e = &t->entries[i];
	return !e->is_alert && e->event_id.len == WIRE_EVENT_ID_LEN &&
	       e->event_id.data && e->agency && c->seq > t->seqs[i] &&
	       strcmp(c->agency, e->agency) == 0 &&
	       memcmp(c->id, e->event_id.data, WIRE_EVENT_ID_LEN) == 0;
}

static void
mark_entry(timeline *t, size_t i)
{
	Ungebro__V1__TimelineEntry *e = &t->entries[i];
	if (!e->superseded) {
		e->superseded = true;
		mark_text(e->summary);
	}
}

static void
mark_superseded(timeline *t)
{
	/* first[i]: the entry holding the first report of entry i's fact;
	 * newest[r]: the highest sequence among the versions of fact r. */
	size_t *first = calloc(t->n + 1, sizeof *first);
	uint64_t *newest = calloc(t->n + 1, sizeof *newest);
	for (size_t i = 0; first && newest && i < t->n; i++) {
		first[i] = i;
		newest[i] = t->seqs[i];
	}
	/* Corrections in log order, so that a chain's first report is known
	 * before its later versions are linked to it. */
	for (uint64_t done = 0;;) {
		const timeline_correction *c = NULL;
		for (size_t j = 0; j < t->ncorrected; j++)
			if (t->corrected[j].seq > done &&
			    (!c || t->corrected[j].seq < c->seq))
				c = &t->corrected[j];
		if (!c)
			break;
		done = c->seq;
		size_t named = t->n, by = t->n;
		for (size_t i = 0; i < t->n; i++) {
			if (named == t->n && corrects_entry(t, c, i))
				named = i;
			if (!t->entries[i].is_alert && t->seqs[i] == c->seq)
				by = i;
		}
		if (named == t->n)
			continue;
		if (by == t->n || !first || !newest) {
			/* The correction is not itself shown (or memory ran
			 * out): what it names is replaced all the same. */
			mark_entry(t, named);
			continue;
		}
		first[by] = first[named];
		if (t->seqs[by] > newest[first[by]])
			newest[first[by]] = t->seqs[by];
	}
	for (size_t i = 0; first && newest && i < t->n; i++)
		if (!t->entries[i].is_alert && t->seqs[i] < newest[first[i]])
			mark_entry(t, i);
	free(first);
	free(newest);
}

static int
by_date(const void *a, const void *b)
{
	const Ungebro__V1__TimelineEntry *x = a, *y = b;
	int c = strcmp(x->date, y->date);
	if (c || x->is_alert != y->is_alert)
		return c ? c : (int)x->is_alert - (int)y->is_alert;
	/* Same day and kind: by id, so every page is cut from one order. */
	const ProtobufCBinaryData *i =
	    x->is_alert ? &x->alert_id : &x->event_id;
	const ProtobufCBinaryData *j =
	    y->is_alert ? &y->alert_id : &y->event_id;
	size_t n = i->len < j->len ? i->len : j->len;
	c = n ? memcmp(i->data, j->data, n) : 0;
	return c ? c : (int)i->len - (int)j->len;
}

static void
free_text(char *text)
{
	/* Fields never set keep protobuf-c's shared empty string. */
	if (text != protobuf_c_empty_string)
		free(text);
}

static void
free_timeline(timeline *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free_text(t->entries[i].agency);
		free_text(t->entries[i].rule);
		free(t->entries[i].event_id.data);
		free(t->entries[i].alert_id.data);
	}
	free(t->entries);
	free(t->text);
	free(t->dates);
	free(t->seqs);
	free(t->corrected);
}

static void
show_timeline(hub *h, const void *routing, size_t routing_len,
	      const char *caseworker, const wire_query *q, const uint8_t *body,
	      size_t body_len, wire_result *result)
{
	char cpr[11];
	const char *why = "cpr is empty";
	/* Bytes after a NUL byte: not the CPR number the decoded text
	 * shows. */
	bool cut = wire_field_cut(&ungebro__v1__query__descriptor, body,
				  body_len, "cpr", q->cpr);
	if (cut)
		why = "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or "
		      "DDMMYYSSSS)";
	if (cut || !q->cpr ||
	    ug_cpr_parse(q->cpr, strlen(q->cpr), cpr, &why) != UG_OK) {
		result->code = UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
		result->reason = (char *)why;
		send_result(h, routing, routing_len, result);
		audit(h, caseworker, "timeline", "malformed", NULL, why);
		return;
	}
	uint8_t person_key[UG_PERSON_KEY_LEN];
	ug_person_key(h->keys->hash_key, cpr, person_key);
	ug_err access = may_see(h, caseworker, person_key);
	if (access != UG_OK && access != UG_EDENIED) {
		unavailable(h, routing, routing_len, result);
		return;
	}
	if (access == UG_EDENIED) {
		result->code = UNGEBRO__V1__ERROR_CODE__E_DENIED;
		result->reason = "this person is not assigned to you or your "
				 "desk";
		send_result(h, routing, routing_len, result);
		audit(h, caseworker, "timeline", "denied", person_key, "");
		log_warn("HUB-QUERY",
			 "timeline refused to %s: not their person",
			 caseworker);
		return;
	}
	size_t limit = q->limit ? q->limit : TIMELINE_DEFAULT;
	if (limit > TIMELINE_MAX)
		limit = TIMELINE_MAX;
	/* The whole timeline is ordered, so pages (offset) are slices of one
	 * order. */
	size_t cap = TIMELINE_SCAN_MAX;
	timeline t = {calloc(cap, sizeof *t.entries),
		      calloc(cap, sizeof *t.text),
		      calloc(cap, sizeof *t.dates),
		      0,
		      cap,
		      false,
		      calloc(cap, sizeof *t.seqs),
		      NULL,
		      0,
		      0,
		      h,
		      caseworker,
		      false};
	/* Read again, as the entries are chosen by it: may_see lets a
	 * caseworker in by an alert of their own whatever it read. */
	ug_err derr = hub__desk_member(h, caseworker, &t.desk);
	if (derr == UG_OK && t.entries && t.text && t.dates && t.seqs) {
		seq_ctx sc = {h, &t};
		palert_ctx pc = {h, &t, caseworker, t.desk};
		/* Alerts first: past TIMELINE_SCAN_MAX entries it is the
		 * events stored last that are left out, never an alert the
		 * caseworker was sent about the person. */
		ug_err err =
		    store_person_alerts(h->store, person_key, add_alert, &pc);
		if (err == UG_OK)
			err = store_person_events(h->store, person_key,
						  add_seq, &sc);
		/* A record that does not open stops the walk: what was read
		 * before it, answered OK, would pass for the whole timeline
		 * (PROTOCOL.md §4, Limits). */
		if (err != UG_OK) {
			unavailable(h, routing, routing_len, result);
			free_timeline(&t);
			return;
		}
		mark_superseded(&t);
		qsort(t.entries, t.n, sizeof *t.entries, by_date);
		size_t offset = q->offset < t.n ? q->offset : t.n;
		size_t n = t.n - offset < limit ? t.n - offset : limit;
		Ungebro__V1__TimelineEntry **ptrs =
		    calloc(n + 1, sizeof *ptrs);
		for (size_t i = 0; ptrs && i < n; i++)
			ptrs[i] = &t.entries[offset + i];
		result->n_timeline = ptrs ? n : 0;
		result->timeline = ptrs;
		result->truncated = offset + n < t.n || (t.truncated && n > 0);
		fit_frame(result);
		send_result(h, routing, routing_len, result);
		free(ptrs);
		audit(h, caseworker, "timeline", "ok", person_key, "");
	} else {
		unavailable(h, routing, routing_len, result);
	}
	free_timeline(&t);
}

void
hub__query(hub *h, const void *routing, size_t routing_len,
	   const char *caseworker, const wire_query *q, const uint8_t *body,
	   size_t body_len)
{
	wire_result result;
	hub__result_init(h, routing, routing_len, &result);
	result.request_id = q->request_id;
	/* Here, not at each door: a caseworker's own connection and a web
	 * session are limited and audited alike. */
	if (!hub__allowed(h, &h->buckets, caseworker)) {
		h->queries_limited++;
		result.code = UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE;
		result.reason =
		    "too many queries; wait a moment and ask again";
		send_result(h, routing, routing_len, &result);
		audit(h, caseworker, "query", "rate-limited", NULL, "");
		return;
	}
	switch (q->kind) {
	case UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS:
		list_open(h, routing, routing_len, caseworker, q, &result);
		break;
	case UNGEBRO__V1__QUERY_KIND__TIMELINE:
		show_timeline(h, routing, routing_len, caseworker, q, body,
			      body_len, &result);
		break;
	default:
		result.code = UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
		result.reason = "unknown query kind";
		send_result(h, routing, routing_len, &result);
		audit(h, caseworker, "query", "malformed", NULL,
		      "unknown query kind");
	}
}
