/*
 * Ingest: drain the ready frames (up to batch_max), validate each, hand
 * the valid ones to the writer thread (writer.c), which appends them in
 * one synchronous transaction, and only after that commit send every ack. A
 * frame that fails validation is answered at once with a reason; it never
 * reaches the store and the connection lives on. An ack that cannot be sent
 * (peer gone, queue full) is logged and dropped: the event is durable, and the
 * adapter's resend will be acked DUPLICATE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"
#include "hub/metrics.h"

struct hub_ingest_batch {
	zmq_msg_t routing, frame;
	wire_envelope *env;  /* decoded, NULL if rejected before decoding */
	int store_index;     /* index in the store batch, -1 if not stored */
	int code;	     /* ErrorCode when rejected before the store */
	bool retryable;	     /* with code: the sender may try again later */
	bool stored;	     /* a resend of a stored event: DUPLICATE */
	bool recheck;	     /* refused by content, permission or time: its
			      * id is looked up again after the commit */
	uint64_t stored_seq; /* its sequence */
	bool has_id;	     /* id of an oversized frame, for its refusal */
	uint8_t id[WIRE_EVENT_ID_LEN];
	char
	    who[STORE_ID_MAX]; /* sender of a frame let go before its answer */
	char reason[256];
	uint8_t person_key[UG_PERSON_KEY_LEN];
};
typedef struct hub_ingest_batch pending;

#define ACK_LOG_MS 60000

/* A sender that reads none of its acks loses one per event past the
 * INGEST_HWM it has not taken in: an export of a million rows would be a
 * million lines, which journald, rate-limiting, answers by dropping
 * hubd's other lines too. The first of a run of minutes is a line; the
 * rest are counted and summed up as each minute ends (ack_log_tick). */
static void
log_ack_not_sent(struct hub_reject_log *l, const char *who, const char *why)
{
	if (l->until == 0) {
		l->until = ug_mono_ms() + ACK_LOG_MS;
		l->count = 0;
		l->lines = 0;
	}
	if (l->lines == 0) {
		l->lines = 1;
		log_warn("HUB-ACK",
			 "ack not sent (%s); the sender will resend "
			 "and get DUPLICATE",
			 why);
		return;
	}
	l->count++;
	ug_strlcpy(l->who, who ? who : "?", sizeof l->who);
	ug_strlcpy(l->reason, why, sizeof l->reason);
}

static void
ack_log_tick(struct hub_reject_log *l, int64_t mono_now, bool stopping)
{
	uint64_t n =
	    hub__log_run_due(&l->until, &l->count, mono_now, stopping);
	if (n)
		log_warn("HUB-ACK",
			 "%llu more acks not sent since the last HUB-ACK "
			 "line, the last to %s (%s); their senders will "
			 "resend and get DUPLICATE",
			 (unsigned long long)n, l->who, l->reason);
}

static void
send_ack(hub *h, pending *p, const wire_ack *ack)
{
	uint8_t buf[WIRE_HEADER_LEN + 512];
	size_t len = wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_ACK, ack, buf,
				 sizeof buf);
	if (len == 0) {
		log_err("HUB-ACK", "ack does not fit its buffer");
		return;
	}
	if (zmq_send(h->ingest, zmq_msg_data(&p->routing),
		     zmq_msg_size(&p->routing),
		     ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(h->ingest, buf, len, ZMQ_DONTWAIT) < 0)
		log_ack_not_sent(
		    &h->ack_log,
		    p->who[0] ? p->who : zmq_msg_gets(&p->frame, "User-Id"),
		    zmq_strerror(errno));
}

static void
reject(pending *p, int code, const char *reason)
{
	p->code = code;
	ug_strlcpy(p->reason, reason, sizeof p->reason);
}

/* A refusal that says who tried what (a revoked key, another agency's
 * name, a type the agency may not send, bytes that are no event) is
 * queued for the audit trail, as a caseworker's is on delivery. Content
 * checks (a bad field, a stale event) are data quality, not access:
 * answered and counted only. */
static void
audit_frame(hub *h, pending *p, const char *agency, const char *result,
	    const char *detail)
{
	store_audit_entry e = {.at = h->now,
			       .actor = agency && agency[0] ? agency : "-",
			       .key =
				   zmq_msg_gets(&p->frame, HUB_KEY_PROPERTY),
			       .action = "frame",
			       .result = result,
			       .detail = detail};
	store_audit_queue(h->store, &e);
}

/* The registration is read for every frame (from a cache the hub drops
 * whenever hubctl changes a registration), so a revoked key or a narrowed
 * --types takes effect on the next frame of an open connection. */
static enum hub_sender
sender_current(hub *h, pending *p, uint32_t *types)
{
	const char *id;
	return hub__sender_current(h, STORE_AGENCY, &p->frame, &id, types);
}

/*
 * A frame the rules refuse may be a resend of an event stored before (its
 * ack lost, its valid_until passed since, or a rule tightened since): the
 * id is what says whether it is, so resending stays safe. True when the
 * refusal is replaced: DUPLICATE, E_CONFLICT, or E_UNAVAILABLE.
 */
static bool
already_stored(hub *h, pending *p, const char *agency)
{
	uint64_t seq;
	char owner[STORE_ID_MAX];
	ug_err err =
	    store_event_id_get(h->store, p->env->event_id.data, &seq, owner);
	if (err == UG_ENOTFOUND)
		return false;
	if (err != UG_OK) {
		reject(p, UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		       "the hub cannot read its store right now; retry later");
		p->retryable = true;
	} else if (strcmp(owner, agency) == 0) {
		p->stored = true;
		p->stored_seq = seq;
	} else {
		reject(p, UNGEBRO__V1__ERROR_CODE__E_CONFLICT,
		       "event id already used by another agency");
	}
	return true;
}

/* Decode and check one frame, in the order of docs/PROTOCOL.md
 * ("Validation order"); on success fill its store_event. */
static void
check_frame(hub *h, pending *p, store_event *ev, int64_t now)
{
	const char *agency = zmq_msg_gets(&p->frame, "User-Id");
	const uint8_t *data = zmq_msg_data(&p->frame);
	size_t size = zmq_msg_size(&p->frame);
	int kind = wire_peek_kind(data, size), code;
	void *msg;
	ug_diag diag = {0};
	if (kind && kind != UNGEBRO__V1__FRAME_KIND__FRAME_EVENT) {
		reject(
		    p, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
		    "only event frames are accepted on the ingest endpoint");
		audit_frame(h, p, agency, "malformed", p->reason);
		return;
	}
	if (wire_decode(data, size, &kind, &msg, &code, &diag) != UG_OK) {
		if (code == UNGEBRO__V1__ERROR_CODE__E_TOO_LARGE)
			p->has_id = wire_event_id_peek(data, size, p->id);
		reject(p, code, diag.reason);
		audit_frame(h, p, agency, "malformed", diag.reason);
		return;
	}
	p->env = msg;
	code = wire_validate_head(p->env, &diag);
	if (code != UNGEBRO__V1__ERROR_CODE__OK) {
		reject(p, code, diag.reason);
		return;
	}
	/* Compared as sent (Envelope.agency is field 2): "school-a", a NUL
	 * byte and more is not "school-a". */
	size_t sent = wire_envelope_text_len(data + WIRE_HEADER_LEN,
					     size - WIRE_HEADER_LEN, 2);
	if (!agency || !p->env->agency[0] ||
	    strcmp(agency, p->env->agency) != 0 ||
	    (sent != SIZE_MAX && sent != strlen(p->env->agency))) {
		reject(p, UNGEBRO__V1__ERROR_CODE__E_DENIED,
		       p->env->agency[0]
			   ? "envelope agency does not match the "
			     "connection's key"
			   : "agency is empty; it must be the id the "
			     "connection's key is registered under");
		audit_frame(h, p, agency, "refused", p->reason);
		return;
	}
	uint32_t types = 0;
	enum hub_sender sender = sender_current(h, p, &types);
	if (sender == HUB_SENDER_UNKNOWN) {
		/* Not known to be revoked: an adapter told so would stop for
		 * good (exit 3) over a store that reads again a moment later.
		 */
		reject(p, UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		       "the hub cannot read its store right now; retry later");
		p->retryable = true;
		return;
	}
	if (sender == HUB_SENDER_GONE) {
		reject(p, UNGEBRO__V1__ERROR_CODE__E_DENIED,
		       WIRE_REASON_KEY_REVOKED);
		audit_frame(h, p, agency, "refused",
			    "key revoked or replaced");
		return;
	}
	code = wire_validate_content_raw(p->env, data + WIRE_HEADER_LEN,
					 size - WIRE_HEADER_LEN, &diag);
	if (code == UNGEBRO__V1__ERROR_CODE__OK &&
	    !(types >> p->env->type & 1u)) {
		code = UNGEBRO__V1__ERROR_CODE__E_DENIED;
		ug_diag_set(&diag, "type", "%s", WIRE_REASON_NOT_REGISTERED);
	}
	if (code == UNGEBRO__V1__ERROR_CODE__OK)
		code = wire_validate_fresh(p->env, now, &diag);
	if (code != UNGEBRO__V1__ERROR_CODE__OK) {
		if (!already_stored(h, p, agency)) {
			reject(p, code, diag.reason);
			p->recheck = true;
			if (code == UNGEBRO__V1__ERROR_CODE__E_DENIED)
				audit_frame(h, p, agency, "refused",
					    p->reason);
		}
		return;
	}
	bool personal = p->env->cpr && p->env->cpr[0];
	if (personal)
		ug_person_key(h->keys->hash_key, p->env->cpr, p->person_key);
	*ev = (store_event){
	    .event_id = p->env->event_id.data,
	    .agency = agency,
	    .type = (uint32_t)p->env->type,
	    .person_key = personal ? p->person_key : NULL,
	    .received_at =
		h->now, /* the hub clock: legal clocks run from it */
	    .body = (uint8_t *)zmq_msg_data(&p->frame) + WIRE_HEADER_LEN,
	    .body_len = zmq_msg_size(&p->frame) - WIRE_HEADER_LEN,
	};
	/* Alerts go to the one responsible contact person; a readiness
	 * alert goes to the guidance counsellor (DOMAIN rule 3). A mentor
	 * assignment is logged (it shows in the timeline) but routes
	 * nothing. */
	if (p->env->type != UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT)
		return;
	/* Only now: the payload is a oneof, so the pointer means nothing
	 * for other event types. */
	const Ungebro__V1__ContactAssignment *c = p->env->contact_assignment;
	/* wire_validate_content refused any other role above. */
	int role = wire_assignment_role(c);
	if (role == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT ||
	    role == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE) {
		ev->assign_role =
		    role == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE
			? STORE_ROLE_GUIDANCE
			: STORE_ROLE_CONTACT;
		ev->assign_caseworker = c->caseworker;
		ug_date_parse(c->from, &ev->assign_from);
		if (c->to && c->to[0])
			ug_date_parse(c->to, &ev->assign_to);
	}
}

/* Receive [routing id][frame]; false when nothing more is ready. */
static bool
recv_one(hub *h, pending *p)
{
	zmq_msg_init(&p->routing);
	zmq_msg_init(&p->frame);
	p->env = NULL;
	p->store_index = -1;
	p->code = UNGEBRO__V1__ERROR_CODE__OK;
	p->retryable = false;
	p->stored = false;
	p->recheck = false;
	p->has_id = false;
	p->who[0] = '\0';
	p->reason[0] = '\0';
	if (zmq_msg_recv(&p->routing, h->ingest, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&p->routing);
		zmq_msg_close(&p->frame);
		return false;
	}
	if (!zmq_msg_more(&p->routing) ||
	    zmq_msg_recv(&p->frame, h->ingest, 0) < 0) {
		reject(p, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
		       "empty message");
		return true;
	}
	if (zmq_msg_more(&p->frame)) {
		/* One frame per message: drain the extra parts and refuse. */
		zmq_msg_t extra;
		int more = 1;
		while (more) {
			zmq_msg_init(&extra);
			if (zmq_msg_recv(&extra, h->ingest, 0) < 0)
				more = 0;
			else
				more = zmq_msg_more(&extra);
			zmq_msg_close(&extra);
		}
		reject(p, UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
		       "a message must be exactly one frame");
		audit_frame(h, p, zmq_msg_gets(&p->frame, "User-Id"),
			    "malformed", p->reason);
	}
	return true;
}

/* The id of a refused frame may be that of an event earlier in its own
 * batch, not in the store when the frame was checked: once the batch is
 * committed the id decides, as for any resend (DUPLICATE or E_CONFLICT),
 * so the answer does not depend on which batch a resend fell into. */
static void
recheck_in_batch(hub *h, pending *p, const store_event *events, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (memcmp(events[i].event_id, p->env->event_id.data,
			   WIRE_EVENT_ID_LEN) != 0)
			continue;
		int code = p->code;
		char reason[sizeof p->reason];
		ug_strlcpy(reason, p->reason, sizeof reason);
		p->code = UNGEBRO__V1__ERROR_CODE__OK;
		p->reason[0] = '\0';
		if (!already_stored(h, p, zmq_msg_gets(&p->frame, "User-Id")))
			reject(p, code, reason);
		return;
	}
}

#define REJECT_LOG_MS 60000
/* Refusals for good, each a line of its own, in a run of minutes: a few
 * bad events are each worth a line; an export refused row by row is not. */
#define HUB_REFUSE_LINES 100

static void
log_reject(struct hub_reject_log *l, unsigned lines, const char *hexid,
	   const char *who, const char *reason, bool retryable)
{
	if (l->until == 0) {
		l->until = ug_mono_ms() + REJECT_LOG_MS;
		l->count = 0;
		l->lines = 0;
	}
	if (l->lines < lines) {
		l->lines++;
		log_warn("HUB-REJECT", "event %s from %s: %s%s", hexid, who,
			 reason, retryable ? " (retryable)" : "");
		return;
	}
	l->count++;
	ug_strlcpy(l->who, who, sizeof l->who);
	ug_strlcpy(l->reason, reason, sizeof l->reason);
}

static void
reject_log_tick(struct hub_reject_log *l, int64_t mono_now, bool stopping,
		bool retryable)
{
	uint64_t n =
	    hub__log_run_due(&l->until, &l->count, mono_now, stopping);
	if (n)
		log_warn("HUB-REJECT",
			 "%llu more events refused%s since the last "
			 "HUB-REJECT line, the last from %s: %s%s",
			 (unsigned long long)n, retryable ? " retryable" : "",
			 l->who, l->reason, retryable ? " (retryable)" : "");
}

void
hub__ingest_retry_log(hub *h, int64_t mono_now, bool stopping)
{
	reject_log_tick(&h->retry_log, mono_now, stopping, true);
	reject_log_tick(&h->refuse_log, mono_now, stopping, false);
	ack_log_tick(&h->ack_log, mono_now, stopping);
}

static void
answer(hub *h, pending *p, const store_event *events, ug_err store_err)
{
	wire_ack ack = UNGEBRO__V1__ACK__INIT;
	if (p->recheck && store_err == UG_OK)
		recheck_in_batch(h, p, events, h->batch_stored);
	char hexid[2 * WIRE_EVENT_ID_LEN + 1] = "-";
	if (p->env && p->env->event_id.len == WIRE_EVENT_ID_LEN) {
		ack.event_id = p->env->event_id;
	} else if (p->has_id) {
		ack.event_id.data = p->id;
		ack.event_id.len = WIRE_EVENT_ID_LEN;
	}
	if (ack.event_id.len)
		ug_hex(ack.event_id.data, ack.event_id.len, hexid);
	const char *who =
	    p->who[0] ? p->who : zmq_msg_gets(&p->frame, "User-Id");
	ack.retryable = p->retryable;
	if (p->stored) {
		ack.status = UNGEBRO__V1__ACK_STATUS__DUPLICATE;
		ack.sequence = p->stored_seq;
		h->duplicates++;
	} else if (p->store_index >= 0 && store_err != UG_OK &&
		   !(h->batch_logged &&
		     events[p->store_index].status != STORE_NEW)) {
		/* An append writes log/ and ids/, both sized by log_map_mb.
		 * When only the index's commit after the log's failed, a
		 * new event is stored yet refused retryable (its resend is
		 * DUPLICATE); a resend found in the log is answered as such,
		 * or the sender would keep it for as long as ids/ fails. */
		bool full = store_err == UG_EFULL;
		reject(p,
		       full ? UNGEBRO__V1__ERROR_CODE__E_FULL
			    : UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		       full ? "the hub's store is full (log_map_mb); retry "
			      "later"
			    : "the hub cannot store events right now; retry "
			      "later");
		ack.retryable = true;
	} else if (p->store_index >= 0) {
		const store_event *ev = &events[p->store_index];
		if (ev->status == STORE_NEW) {
			ack.status = UNGEBRO__V1__ACK_STATUS__ACCEPTED;
			ack.sequence = ev->seq;
			h->accepted++;
			hub__metrics_event(h, ev->agency, ev->type);
			hub__ops_accepted(h, ev->agency);
			/* Accepted, yet a planned handover that will route
			 * nothing: the sender's ack cannot say so. */
			if (ev->assign_dropped) {
				char day[11];
				ug_date_format(ev->assign_dropped_from, day);
				log_warn("HUB-ASSIGN",
					 "event %s from %s: the assignment to "
					 "%s from %s is not kept: at most 8 "
					 "from days are kept per person and "
					 "role, and it is the one planned "
					 "furthest ahead",
					 hexid, who ? who : "?",
					 ev->assign_dropped_caseworker, day);
			}
		} else if (ev->status == STORE_DUPLICATE) {
			ack.status = UNGEBRO__V1__ACK_STATUS__DUPLICATE;
			ack.sequence = ev->seq;
			h->duplicates++;
		} else {
			/* Not ev->seq: that is the other agency's event. */
			reject(p, UNGEBRO__V1__ERROR_CODE__E_CONFLICT,
			       "event id already used by another agency");
		}
	}
	if (p->code != UNGEBRO__V1__ERROR_CODE__OK) {
		ack.status = UNGEBRO__V1__ACK_STATUS__REJECTED;
		ack.code = p->code;
		ack.reason = p->reason;
		h->rejected++;
		hub__metrics_reject(h, p->code);
		if (ack.retryable)
			log_reject(&h->retry_log, 1, hexid, who ? who : "?",
				   p->reason, true);
		else
			log_reject(&h->refuse_log, HUB_REFUSE_LINES, hexid,
				   who ? who : "?", p->reason, false);
	} else {
		log_debug("HUB-ACK", "event %s from %s: %s seq %llu", hexid,
			  who ? who : "?",
			  ack.status == UNGEBRO__V1__ACK_STATUS__ACCEPTED
			      ? "accepted"
			      : "duplicate",
			  (unsigned long long)ack.sequence);
	}
	send_ack(h, p, &ack);
}

/* A batch the store does not take (a full disk, a full map) is refused
 * retryable, and its adapters resend it several times a second for as
 * long as the cause lasts: said when it starts, then at most once a
 * minute with the batches not said since, and once when a batch is
 * stored again, as STORE-LMDB and STORE-FULL say the cause. */
static void
store_failed(hub *h, ug_err err)
{
	int64_t now = ug_mono_ms();
	h->store_failures++;
	if (!h->store_failing_since)
		h->store_failing_since = now ? now : 1;
	else if (now - h->store_logged_at < 60000) {
		h->store_unsaid++;
		return;
	}
	char since[96] = "";
	if (h->store_unsaid)
		snprintf(since, sizeof since,
			 " (%llu more batches not stored since the last "
			 "HUB-STORE line)",
			 (unsigned long long)h->store_unsaid);
	/* The log committed before the index failed: saying "not stored"
	 * would send the operator after events the log already holds. */
	if (h->batch_logged)
		log_err("HUB-STORE",
			"batch of %zu events stored in the log, but the "
			"event-id index (ids/) not written: %s; rejected as "
			"retryable, resends are answered DUPLICATE%s",
			h->batch_stored, ug_strerror(err), since);
	else
		log_err("HUB-STORE",
			"batch of %zu events not stored: %s; rejected as "
			"retryable%s",
			h->batch_stored, ug_strerror(err), since);
	h->store_logged_at = now;
	h->store_unsaid = 0;
}

static void
store_works(hub *h)
{
	if (!h->store_failing_since)
		return;
	log_notice("HUB-STORE",
		   "batches are stored again after %lld s and %llu batches "
		   "not stored",
		   (long long)((ug_mono_ms() - h->store_failing_since) / 1000),
		   (unsigned long long)h->store_failures);
	h->store_failing_since = 0;
	h->store_failures = h->store_unsaid = 0;
}

/* Answer every frame of the batch and let go of it. */
static void
finish_batch(hub *h, ug_err err)
{
	pending *batch = h->batch;
	if (err != UG_OK) {
		store_failed(h, err);
	} else {
		/* An event written, not a resend found already there: only
		 * that shows the store takes writes again. */
		for (size_t i = 0; i < h->batch_stored; i++)
			if (h->batch_events[i].status == STORE_NEW) {
				store_works(h);
				break;
			}
	}
	/* All answered before any is freed: the events' ids point into the
	 * frames, and a later frame's answer may compare with them. */
	for (size_t i = 0; i < h->batch_frames; i++)
		answer(h, &batch[i], h->batch_events, err);
	for (size_t i = 0; i < h->batch_frames; i++) {
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, batch[i].env);
		zmq_msg_close(&batch[i].routing);
		zmq_msg_close(&batch[i].frame);
	}
	h->batch_frames = h->batch_stored = 0;
	h->batch_logged = false;
}

void
hub__ingest_begin(hub *h)
{
	if (hub__writer_busy(h))
		return;
	size_t cap = (size_t)h->batch_max;
	/* Allocated once: the loop runs this thousands of times a second. */
	if (!h->batch) {
		h->batch = calloc(cap, sizeof *h->batch);
		h->batch_events = calloc(cap, sizeof *h->batch_events);
		if (!h->batch || !h->batch_events) {
			log_err("HUB-INGEST", "out of memory for a batch");
			free(h->batch);
			free(h->batch_events);
			h->batch = NULL;
			h->batch_events = NULL;
			return;
		}
	}
	pending *batch = h->batch;
	store_event *events = h->batch_events;
	int64_t now = ug_now_ms();
	size_t n = 0, nevents = 0;
	/* Applying fails and is far behind: what would be stored is refused
	 * retryable, since the log must not run further ahead of rules that
	 * cannot follow; a resend of a stored event still gets DUPLICATE. */
	char why[sizeof batch->reason];
	int refuse = hub__applier_gate(h, h->logged) == HUB_GATE_REFUSE
			 ? hub__apply_failure(h, why, sizeof why)
			 : UNGEBRO__V1__ERROR_CODE__OK;
	while (n < cap && recv_one(h, &batch[n])) {
		pending *p = &batch[n++];
		if (p->code != UNGEBRO__V1__ERROR_CODE__OK)
			continue;
		check_frame(h, p, &events[nevents], now);
		if (p->code == UNGEBRO__V1__ERROR_CODE__E_TOO_LARGE) {
			/* Its answer needs only the sender and the id: a
			 * batch of such frames waiting for a commit would
			 * otherwise hold batch_max times the hard cap. */
			const char *who = zmq_msg_gets(&p->frame, "User-Id");
			ug_strlcpy(p->who, who ? who : "?", sizeof p->who);
			zmq_msg_close(&p->frame);
			zmq_msg_init(&p->frame);
		}
		if (p->code != UNGEBRO__V1__ERROR_CODE__OK || p->stored)
			continue;
		if (refuse != UNGEBRO__V1__ERROR_CODE__OK) {
			if (!already_stored(h, p, p->env->agency)) {
				reject(p, refuse, why);
				p->retryable = true;
			}
			continue;
		}
		p->store_index = (int)nevents++;
	}
	h->batch_frames = n;
	h->batch_stored = nevents;
	if (nevents)
		hub__writer_submit(h, events, nevents);
	else if (n)
		finish_batch(h, UG_OK); /* refusals and duplicates only */
}

bool
hub__ingest_end(hub *h, bool wait)
{
	ug_err err;
	bool logged;
	double seconds;
	if (!hub__writer_collect(h, wait, &err, &logged, &seconds))
		return false;
	h->batch_logged = err != UG_OK && logged;
	hub__metrics_batch(h, h->batch_stored, seconds);
	for (size_t i = 0; err == UG_OK && i < h->batch_stored; i++)
		if (h->batch_events[i].seq > h->logged)
			h->logged = h->batch_events[i].seq;
	/* Acks go out only now: every ACCEPTED below is on disk. */
	finish_batch(h, err);
	return true;
}
