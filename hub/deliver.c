/*
 * Delivery to caseworker clients. A client says Hello after every
 * (re)connect; the hub answers Welcome and then sends the caseworker's open
 * alerts (and the desk's, for desk members), at most `window`
 * unacknowledged at a time. An AlertAck closes an alert for good.
 *
 * The window is a set, not a cursor: whatever is queued for the caseworker
 * and not in flight on this connection is due, so an alert that sorts
 * before those already sent (a timer firing for an old event, a reassigned
 * or escalated alert) goes out as soon as there is room. Sending reads only
 * what is stored and never waits for a write: delivery counts are kept in
 * memory and written once a tick, and a store that cannot take that write
 * delays the count, not the alert. Every tick pumps every session, so
 * delivery resumes by itself after a full peer queue or a store error.
 *
 * Audit: every Alert sent, every acknowledgement and every refused frame
 * is recorded (who, which key, which alert and person key, the result).
 * Deliveries and refusals are queued in memory and written once a tick,
 * in one synchronous transaction, so sending never waits for a write; a
 * crash loses at most the last tick's queued records. Acknowledgements
 * are written at once, with the acknowledgement itself.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/gateway.h"
#include "hub/hub_int.h"
#include "store/store_password.h"

#define WINDOW_DEFAULT 32

typedef uint8_t alert_id[STORE_ALERT_ID_LEN];

bool
hub__delivery_send(hub *h, const void *routing, size_t routing_len, int kind,
		   const void *msg)
{
	size_t need = wire_encoded_size(kind, msg);
	uint8_t *buf = malloc(need);
	if (!buf) {
		errno = ENOMEM;
		return false;
	}
	size_t len = wire_encode(kind, msg, buf, need);
	bool ok = zmq_send(h->delivery, routing, routing_len,
			   ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
		  zmq_send(h->delivery, buf, len, ZMQ_DONTWAIT) >= 0;
	int saved = errno;
	free(buf);
	errno = saved;
	return ok;
}

#define DROP_LOG_MS 60000

void
hub__drop_log(struct hub_drop_log *l, const char *ident, const char *line,
	      const char *reason)
{
	if (l->until == 0) {
		l->until = ug_mono_ms() + DROP_LOG_MS;
		l->count = 0;
		if (reason)
			log_info(ident, "%s: %s", line, reason);
		else
			log_info(ident, "%s", line);
		return;
	}
	l->count++;
	ug_strlcpy(l->reason, reason ? reason : "", sizeof l->reason);
}

uint64_t
hub__log_run_due(int64_t *until, uint64_t *count, int64_t mono_now,
		 bool stopping)
{
	if (*until == 0 || (!stopping && mono_now < *until))
		return 0;
	uint64_t n = *count;
	*count = 0;
	/* A quiet minute ends the run: the next one is news again. */
	*until = n == 0 || stopping ? 0 : mono_now + DROP_LOG_MS;
	return n;
}

static void
drop_log_tick(struct hub_drop_log *l, const char *ident, const char *what,
	      int64_t mono_now, bool stopping)
{
	uint64_t n =
	    hub__log_run_due(&l->until, &l->count, mono_now, stopping);
	if (n && l->reason[0])
		log_info(ident,
			 "%llu more %s not sent since the last %s line (%s)",
			 (unsigned long long)n, what, ident, l->reason);
	else if (n)
		log_info(ident, "%llu more %s not sent since the last %s line",
			 (unsigned long long)n, what, ident);
}

/* As HUB-REJECT's on ingest (ingest.c): a few refused frames are each
 * worth a line; a client refused in a loop is not. */
#define DELIVER_REFUSE_LINES 100

static struct hub_reject_log *
refusal_log(hub *h, const char *ident)
{
	if (strcmp(ident, "HUB-HELLO") == 0)
		return &h->hello_refusals;
	if (strcmp(ident, "HUB-WEB") == 0)
		return &h->web_refusals;
	return &h->deliver_refusals;
}

bool
hub__refusal_logged(hub *h, const char *ident)
{
	struct hub_reject_log *l = refusal_log(h, ident);
	if (l->until == 0) {
		l->until = ug_mono_ms() + DROP_LOG_MS;
		l->count = 0;
		l->lines = 0;
	}
	if (l->lines < DELIVER_REFUSE_LINES) {
		l->lines++;
		return true;
	}
	l->count++;
	return false;
}

static void
refusal_log_tick(struct hub_reject_log *l, const char *ident, const char *what,
		 int64_t mono_now, bool stopping)
{
	uint64_t n =
	    hub__log_run_due(&l->until, &l->count, mono_now, stopping);
	if (n)
		log_warn(ident, "%llu more %s refused since the last %s line",
			 (unsigned long long)n, what, ident);
}

void
hub__drop_log_tick(hub *h, int64_t mono_now, bool stopping)
{
	refusal_log_tick(&h->deliver_refusals, "HUB-DELIVER", "frames",
			 mono_now, stopping);
	refusal_log_tick(&h->hello_refusals, "HUB-HELLO", "Hellos", mono_now,
			 stopping);
	refusal_log_tick(&h->web_refusals, "HUB-WEB", "frames", mono_now,
			 stopping);
	drop_log_tick(&h->query_drops, "HUB-QUERY", "results", mono_now,
		      stopping);
	drop_log_tick(&h->answer_drops, "HUB-DELIVER", "answers", mono_now,
		      stopping);
	drop_log_tick(&h->web_drops, "HUB-WEB", "answers", mono_now, stopping);
}

/* Send to a session; a peer gone ends it, a full peer queue pauses it. */
static bool
session_send(hub *h, hub_session *s, int kind, const void *msg)
{
	if (hub__delivery_send(h, s->routing_id, s->routing_len, kind, msg))
		return true;
	if (errno == EAGAIN) {
		s->blocked = true;
		return false;
	}
	log_info("HUB-DELIVER", "client of %s unreachable (%s)", s->caseworker,
		 zmq_strerror(errno));
	hub__session_end(h, s, "its peer is unreachable");
	return false;
}

static bool
in_flight(const hub_session *s, const uint8_t *id)
{
	for (uint32_t i = 0; i < s->n_flight; i++)
		if (memcmp(s->flight[i], id, STORE_ALERT_ID_LEN) == 0)
			return true;
	return false;
}

static bool
forget_flight(hub_session *s, const uint8_t *id)
{
	for (uint32_t i = 0; i < s->n_flight; i++)
		if (memcmp(s->flight[i], id, STORE_ALERT_ID_LEN) == 0) {
			memmove(s->flight[i], s->flight[i + 1],
				(s->n_flight - i - 1) * sizeof *s->flight);
			s->n_flight--;
			return true;
		}
	return false;
}

/* ---- delivery counts ---- */

static uint32_t
pending_count(const hub *h, const uint8_t *id)
{
	uint32_t n = 0;
	for (size_t i = 0; i < h->n_pending_counts; i++)
		n += memcmp(h->pending_counts[i], id, STORE_ALERT_ID_LEN) == 0;
	return n;
}

static void flush_counts(hub *h);

static void
count_delivery(hub *h, const uint8_t *id)
{
	if (!h->pending_counts) {
		h->pending_counts =
		    calloc(HUB_PENDING_COUNTS, sizeof *h->pending_counts);
		if (!h->pending_counts)
			return;
	}
	/* More deliveries in one tick than the counts kept for it (a
	 * reconnect with a long backlog): written now rather than lost. */
	if (h->n_pending_counts == HUB_PENDING_COUNTS)
		flush_counts(h);
	if (h->n_pending_counts == HUB_PENDING_COUNTS) {
		/* The store has refused the counts for a while: the alert
		 * matters, the count of its deliveries does not. */
		log_warn("HUB-DELIVER",
			 "%d delivery counts could not be "
			 "stored; they are dropped (Alert.delivery will be "
			 "low)",
			 HUB_PENDING_COUNTS);
		h->n_pending_counts = 0;
	}
	memcpy(h->pending_counts[h->n_pending_counts++], id,
	       STORE_ALERT_ID_LEN);
}

/* ---- audit ---- */

/* Queue an audit record about a delivery-endpoint event (no I/O). */
static void
audit_queue(hub *h, const char *who, const char *key, const char *action,
	    const char *result, const uint8_t *person_key, const char *detail)
{
	store_audit_entry e = {
	    h->now, who && who[0] ? who : "-", key, action, result, person_key,
	    detail};
	store_audit_queue(h->store, &e);
}

/* A caseworker's record, with the key their connection authenticated
 * with: a refusal names it as an accepted frame does. */
static void
audit_queue_cw(hub *h, const char *caseworker, const char *action,
	       const char *result, const uint8_t *person_key,
	       const char *detail)
{
	char key[UG_Z85_KEY_LEN + 1] = "";
	store_audit_entry e;
	hub__caseworker_audit_entry(h, &e, key, caseworker, action, result,
				    person_key, detail);
	store_audit_queue(h->store, &e);
}

/* The person an alert is about, as a person key; false if unknown. */
typedef struct {
	const uint8_t *hash_key;
	uint8_t *person_key;
	bool found;
} person_ctx;

static ug_err
alert_person_of(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
		uint32_t deliveries)
{
	(void)id;
	(void)deliveries;
	person_ctx *p = ctx;
	wire_alert *a =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (a && a->cpr && a->cpr[0]) {
		ug_person_key(p->hash_key, a->cpr, p->person_key);
		p->found = true;
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, a);
	return UG_OK;
}

static ug_err
record_person_of(void *ctx, const store_record *rec)
{
	person_ctx *p = ctx;
	if (rec->person_key) {
		memcpy(p->person_key, rec->person_key, UG_PERSON_KEY_LEN);
		p->found = true;
	}
	return UG_OK;
}

bool
hub__alert_person_logged(hub *h, const uint8_t *id,
			 uint8_t person_key[UG_PERSON_KEY_LEN])
{
	/* An operational alert's id is no sequence (it starts 0xFF). */
	if (id[0] == 0xFF)
		return false;
	person_ctx p = {h->keys->hash_key, person_key, false};
	return store_log_get(h->store, ug_get_be64(id), record_person_of,
			     &p) == UG_OK &&
	       p.found;
}

static bool
alert_person(hub *h, const uint8_t *id, uint8_t person_key[UG_PERSON_KEY_LEN])
{
	person_ctx p = {h->keys->hash_key, person_key, false};
	bool open;
	if (store_alert_get(h->store, id, alert_person_of, &p, &open) != UG_OK)
		return false;
	return p.found || hub__alert_person_logged(h, id, person_key);
}

/* hub.sign_secret alone signs, but hubctl audit verify checks only
 * against hub.sign_public: without it, or with one that does not read or
 * is another pair's, every checkpoint from now on is one the operator
 * cannot check until the file is put right. */
static void
sign_public_missing(hub *h)
{
	char dir[sizeof h->keys->path], path[sizeof dir + UG_ID_MAX + 16];
	ug_strlcpy(dir, h->keys->path, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		ug_strlcpy(dir, ".", sizeof dir);
	snprintf(path, sizeof path, "%s/%s.sign_public", dir, h->keys->id);
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		log_err(
		    "HUB-AUDIT",
		    "%s is missing beside %s/%s.sign_secret: checkpoints "
		    "are signed, but hubctl audit verify cannot check "
		    "them (NOT VERIFIED) until it is back: copy the id and "
		    "sign_public lines of %s.sign_secret into it",
		    path, dir, h->keys->id, h->keys->id);
		return;
	}
	uint8_t pk[UG_SIGN_PUBLIC_LEN];
	ug_diag diag = {0};
	const char *why = NULL, *verify = "cannot check them (NOT VERIFIED)";
	if (ug_keys_load_sign_public(path, pk, &diag) != UG_OK) {
		why = diag.reason;
		/* The line names the file already. */
		size_t n = strlen(path);
		if (!strncmp(why, path, n) && !strncmp(why + n, ": ", 2))
			why += n + 2;
	} else if (sodium_memcmp(pk,
				 h->keys->sign_secret + UG_SIGN_SECRET_LEN -
				     UG_SIGN_PUBLIC_LEN,
				 UG_SIGN_PUBLIC_LEN) != 0) {
		/* Told apart: a trail said BROKEN reads as tampered with. */
		why = "another pair's public key";
		verify = "finds them BROKEN (bad signature)";
	}
	if (why)
		log_err("HUB-AUDIT",
			"%s does not match %s/%s.sign_secret (%s): "
			"checkpoints are signed, but hubctl audit verify %s "
			"until it does: copy the id and sign_public lines of "
			"%s.sign_secret into it",
			path, dir, h->keys->id, why, verify, h->keys->id);
}

/*
 * The signing key is loaded (and made, if the keys directory has none)
 * on the first tick, or at a stop that comes before it (during the
 * start's replay), so every checkpoint from then on is signed; a hub
 * that cannot load it says so once and goes on with the chain alone.
 */
static void
audit_signer(hub *h)
{
	static bool tried;
	if (!tried) {
		tried = true;
		ug_diag diag = {0};
		ug_err err = ug_keys_load_signing(h->keys, false, &diag);
		/* A pair made here is one the operator has not backed up nor
		 * copied off the host yet (OPERATIONS.md, "Keys"), and
		 * checkpoints signed with a lost one no longer verify: say
		 * so, once. */
		if (err == UG_ENOTFOUND) {
			diag = (ug_diag){0};
			err = ug_keys_load_signing(h->keys, true, &diag);
			if (err == UG_OK)
				log_warn(
				    "HUB-AUDIT",
				    "no audit signing key in keys_dir: "
				    "wrote a new pair, %s.sign_public and "
				    "%s.sign_secret; back up the secret "
				    "and keep a copy of the public key "
				    "off this host",
				    h->keys->id, h->keys->id);
		}
		if (err == UG_OK) {
			sign_public_missing(h);
			store_audit_signer(h->store, h->keys->sign_secret,
					   STORE_AUDIT_CHECKPOINT_EVERY);
			/* Cover what hubctl or a crash left unsigned. */
			if (store_audit_checkpoint(h->store, h->now) != UG_OK)
				log_err("HUB-AUDIT", "checkpoint not written");
		} else {
			/* Every reason names its file already: the file
			 * before it again said it twice. */
			log_err("HUB-AUDIT",
				"no audit signing key (keys_dir: %s); the "
				"trail is chained but its checkpoints are not "
				"signed",
				diag.reason);
		}
	}
}

static void
audit_tick(hub *h)
{
	audit_signer(h);
	ug_err err = store_audit_flush(h->store);
	/* Retried every tick while the store is full: said once a minute,
	 * as STORE-FULL is. */
	static int64_t logged_at;
	int64_t now = ug_mono_ms();
	if (err == UG_OK || (logged_at && now - logged_at < 60000))
		return;
	logged_at = now ? now : 1;
	log_warn("HUB-AUDIT",
		 "audit records not written yet (%s); kept for the "
		 "next tick",
		 ug_strerror(err));
}

/* ---- delivery counts, written once a tick ---- */

static void
flush_counts(hub *h)
{
	if (!h->n_pending_counts)
		return;
	uint32_t *ignored = calloc(h->n_pending_counts, sizeof *ignored);
	if (!ignored)
		return;
	ug_err err = store_alerts_delivered(
	    h->store, (const uint8_t(*)[STORE_ALERT_ID_LEN])h->pending_counts,
	    h->n_pending_counts, ignored);
	free(ignored);
	if (err == UG_OK) {
		h->n_pending_counts = 0;
		return;
	}
	/* Retried every second for as long as the store is full, which
	 * lasts until the operator acts: said once a minute, as STORE-FULL
	 * is. */
	static int64_t logged_at;
	int64_t now = ug_mono_ms();
	if (logged_at && now - logged_at < 60000)
		return;
	logged_at = now ? now : 1;
	log_warn("HUB-DELIVER",
		 "%zu delivery counts not stored yet "
		 "(%s); alerts are delivered regardless",
		 h->n_pending_counts, ug_strerror(err));
}

static void retry_acks(hub *h);

void
hub__delivery_flush(hub *h)
{
	/* A stop during the start's replay comes before the first tick:
	 * what a crash left unsigned is still signed at this clean stop. */
	audit_signer(h);
	flush_counts(h);
	/* The last chance for acks the store could not take: those still
	 * waiting are lost, and their alerts are delivered again. */
	retry_acks(h);
	if (h->n_pending_acks)
		log_err("HUB-DELIVER",
			"%zu acknowledgement(s) not stored at stop; their "
			"alerts stay open and are delivered again",
			h->n_pending_acks);
	/* At stop: what is queued, then a signed checkpoint of the head. */
	ug_err err = h->keys->sign_secret
			 ? store_audit_checkpoint(h->store, h->now)
			 : store_audit_flush(h->store);
	if (err != UG_OK)
		log_err("HUB-AUDIT",
			"audit records or checkpoint not written "
			"at stop: %s",
			ug_strerror(err));
}

/* ---- pumping ---- */

typedef struct {
	hub *h;
	hub_session *s;
	const char *recipient;
	size_t room;
} pump_ctx;

typedef struct {
	hub *h;
	hub_session *s;
	const char *recipient;
	bool sent;
	bool person; /* person_key holds the alert's CPR's */
	uint8_t person_key[UG_PERSON_KEY_LEN];
} one_ctx;

static ug_err
send_body(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	  uint32_t deliveries)
{
	one_ctx *o = ctx;
	wire_alert *alert =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (!alert) {
		log_err("HUB-DELIVER", "a stored alert does not decode");
		return UG_OK;
	}
	alert->delivery = deliveries + pending_count(o->h, id) + 1;
	/* The queue says who it is for now: a reassignment or an escalation
	 * may have moved it since it was raised. The unpacked string is put
	 * back before the message is freed. */
	char *raised_for = alert->recipient;
	alert->recipient = (char *)o->recipient;
	o->sent = session_send(o->h, o->s,
			       UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, alert);
	o->person = o->sent && alert->cpr && alert->cpr[0];
	if (o->person)
		ug_person_key(o->h->keys->hash_key, alert->cpr, o->person_key);
	alert->recipient = raised_for;
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, alert);
	return UG_OK;
}

/* A stored alert that cannot be read (forged, STORE-FORGED) stays in its
 * queue and is offered again at every pump, once a second while its
 * caseworker is connected: said once a minute, with the count since. */
static void
unreadable(const char *what, ug_err err)
{
	static int64_t logged_at;
	static unsigned long long unsaid;
	int64_t now = ug_mono_ms();
	if (logged_at && now - logged_at < 60000) {
		unsaid++;
		return;
	}
	char since[64] = "";
	if (unsaid)
		snprintf(since, sizeof since,
			 " (%llu more since the last report)", unsaid);
	log_err("HUB-DELIVER", "%s: %s%s", what, ug_strerror(err), since);
	logged_at = now ? now : 1;
	unsaid = 0;
}

/* Acknowledgements the store cannot take come as fast as caseworkers
 * send them: said once a minute, the others counted into the next line,
 * as a stored alert that cannot be read. One kept (retried) and one lost
 * (too many kept already) each have their own minute: a loss is never
 * hidden behind the line of a kept one. */
typedef struct {
	int64_t logged_at;
	unsigned long long unsaid;
} ack_lines;

static bool
ack_line_due(ack_lines *l, char *since, size_t size)
{
	int64_t now = ug_mono_ms();
	if (l->logged_at && now - l->logged_at < 60000) {
		l->unsaid++;
		return false;
	}
	since[0] = '\0';
	if (l->unsaid)
		snprintf(since, size,
			 " (%llu more acknowledgements not stored since the "
			 "last line)",
			 l->unsaid);
	l->logged_at = now ? now : 1;
	l->unsaid = 0;
	return true;
}

static ug_err
offer(void *ctx, const uint8_t *id)
{
	pump_ctx *c = ctx;
	hub_session *s = c->s;
	if (!s->used || s->blocked || s->n_flight >= s->window)
		return UG_EFULL;
	if (in_flight(s, id))
		return UG_OK;
	one_ctx o = {c->h, s, c->recipient, false, false, {0}};
	bool open = false;
	ug_err err = store_alert_get(c->h->store, id, send_body, &o, &open);
	if (err != UG_OK) {
		unreadable("reading a queued alert", err);
		return UG_OK;
	}
	if (o.sent) {
		/* A notice that names no one (a health alert's escalation or
		 * withdrawn notice) is still about someone: the trail says
		 * whom, sealed, so that their access export shows who was
		 * sent it. Read once the alert's own read is done. */
		if (!o.person)
			o.person =
			    hub__alert_person_logged(c->h, id, o.person_key);
		char detail[2 * STORE_ALERT_ID_LEN + STORE_ID_MAX + 8];
		ug_hex(id, STORE_ALERT_ID_LEN, detail);
		if (strcmp(c->recipient, s->caseworker) != 0)
			snprintf(detail + 2 * STORE_ALERT_ID_LEN,
				 sizeof detail - 2 * STORE_ALERT_ID_LEN,
				 " for %s", c->recipient);
		audit_queue(c->h, s->caseworker, s->key, "deliver", "ok",
			    o.person ? o.person_key : NULL, detail);
		memcpy(s->flight[s->n_flight++], id, STORE_ALERT_ID_LEN);
		c->h->alerts_delivered++;
		count_delivery(c->h, id);
	}
	return o.sent ? UG_OK : UG_EFULL;
}

/* An alert in flight that left the queue without this session's ack
 * (another desk member acked it, a reassignment moved it) frees its place
 * in the window. Checked only when the window is full. */
static void
prune_flight(hub *h, hub_session *s)
{
	for (uint32_t i = 0; i < s->n_flight;) {
		if (store_alert_queued(h->store, s->caseworker,
				       s->flight[i]) ||
		    (s->desk && store_alert_queued(h->store, h->rules.desk,
						   s->flight[i])))
			i++;
		else
			forget_flight(s, s->flight[i]);
	}
}

static void
pump_queue(hub *h, hub_session *s, const char *recipient)
{
	pump_ctx c = {h, s, recipient, 0};
	/* The scan passes the alerts in flight (at most the window) before it
	 * reaches one that is due, so it stays short. */
	ug_err err = store_alerts_queued(h->store, recipient, NULL, SIZE_MAX,
					 offer, &c);
	if (err != UG_OK && err != UG_EFULL) {
		char what[STORE_ID_MAX + 32];
		snprintf(what, sizeof what, "reading open alerts for %s",
			 recipient);
		unreadable(what, err);
	}
}

static void
pump(hub *h, hub_session *s)
{
	if (!s->used)
		return;
	/* A routing id may only be written to while its connection lives. */
	hub__sessions_events(h);
	if (!s->used)
		return;
	/* Membership is dated (a DeskMembership ends, another starts at
	 * midnight): the Hello's answer would go stale, and a former member
	 * would go on being sent the desk's alerts. */
	s->desk = hub__is_desk_member(h, s->caseworker);
	if (s->n_flight >= s->window)
		prune_flight(h, s);
	pump_queue(h, s, s->caseworker);
	if (s->used && s->desk && strcmp(s->caseworker, h->rules.desk) != 0)
		pump_queue(h, s, h->rules.desk);
}

ug_err
hub__desk_member(hub *h, const char *caseworker, bool *member)
{
	/* Desk members come from hubctl (--desk) or from the youth unit's
	 * DeskMembership events. A forged registration reads as none
	 * (ENOTFOUND); a read that failed tells nothing, unless the other
	 * source makes them a member. */
	uint32_t flags = 0;
	ug_err err = store_principal_flags(h->store, STORE_CASEWORKER,
					   caseworker, &flags);
	*member = err == UG_OK && (flags & STORE_FLAG_DESK);
	if (*member)
		return UG_OK;
	ug_err derr = store_desk_member_read(
	    h->store, h->rules.desk, caseworker, hub__today(h), member, NULL);
	if (*member)
		return UG_OK;
	return err != UG_OK && err != UG_ENOTFOUND ? err : derr;
}

bool
hub__is_desk_member(hub *h, const char *caseworker)
{
	bool member = false;
	(void)hub__desk_member(h, caseworker, &member);
	return member;
}

void
hub__delivery_notify(hub *h, const char *recipient)
{
	bool desk = strcmp(recipient, h->rules.desk) == 0;
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		/* s->desk is as of the session's last pump: pump() checks it
		 * again before it sends anything of the desk's, and the tick
		 * pumps every session, so a member from today is served
		 * within a second. */
		if (s->used && (strcmp(s->caseworker, recipient) == 0 ||
				(desk && s->desk)))
			pump(h, s);
	}
}

/* ---- frames from clients ---- */

static void
refuse_hello(hub *h, zmq_msg_t *routing, const char *caseworker, int code,
	     const char *why)
{
	wire_welcome welcome = UNGEBRO__V1__WELCOME__INIT;
	welcome.caseworker = (char *)caseworker;
	welcome.code = code;
	welcome.reason = (char *)why;
	hub__log_refusal(h, "HUB-HELLO", "no session for %s: %s", caseworker,
			 why);
	audit_queue_cw(h, caseworker, "hello", "refused", NULL, why);
	hub__delivery_send(h, zmq_msg_data(routing), zmq_msg_size(routing),
			   UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME, &welcome);
}

static void
on_hello(hub *h, zmq_msg_t *routing, zmq_msg_t *frame, const char *caseworker,
	 const wire_hello *hello)
{
	/* Connection events first: a Hello from a routing id whose earlier
	 * owner left must find that owner's session already ended. */
	hub__sessions_events(h);
	int fd = zmq_msg_get(frame, ZMQ_SRCFD);
	hub_session *s = hub__session_find(
	    h, zmq_msg_data(routing), zmq_msg_size(routing), fd, caseworker);
	/* A Welcome OK says what waits: one whose count could not be read
	 * would tell the client that nothing does. Refused as a Hello
	 * without room is, nothing counted, and nothing changed: no session
	 * opened (none ended to make room for it), a live one goes on as it
	 * was, window included (a store that cannot be read for a moment
	 * must not make a client's periodic Hello cost it its session).
	 * Not audited: nothing was read. */
	bool member = false;
	size_t own = 0, desk = 0;
	ug_err err = hub__desk_member(h, caseworker, &member);
	if (err == UG_OK)
		err = store_alerts_count(h->store, caseworker, &own);
	if (err == UG_OK && member && strcmp(caseworker, h->rules.desk) != 0)
		err = store_alerts_count(h->store, h->rules.desk, &desk);
	if (err != UG_OK) {
		wire_welcome refused = UNGEBRO__V1__WELCOME__INIT;
		refused.caseworker = (char *)caseworker;
		refused.code = UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE;
		refused.reason = "the hub cannot read its store right now; "
				 "retry later";
		if (s)
			hub__log_refusal(h, "HUB-HELLO",
					 "Hello again from %s refused: %s "
					 "(its session goes on)",
					 caseworker, refused.reason);
		else
			hub__log_refusal(h, "HUB-HELLO",
					 "no session for %s: %s", caseworker,
					 refused.reason);
		hub__delivery_send(
		    h, zmq_msg_data(routing), zmq_msg_size(routing),
		    UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME, &refused);
		return;
	}
	bool again = s != NULL;
	if (!s) {
		const char *why = NULL;
		s = hub__session_new(
		    h, zmq_msg_data(routing), zmq_msg_size(routing), fd,
		    caseworker, zmq_msg_gets(frame, HUB_KEY_PROPERTY), &why);
		if (!s) {
			refuse_hello(h, routing, caseworker,
				     UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
				     why);
			return;
		}
	}
	s->desk = member;
	uint32_t window = hello->window ? hello->window : WINDOW_DEFAULT;
	s->window = window > HUB_WINDOW_MAX ? HUB_WINDOW_MAX : window;
	wire_welcome welcome = UNGEBRO__V1__WELCOME__INIT;
	welcome.caseworker = s->caseworker;
	welcome.open_alerts = (uint32_t)(own + desk);
	/* A repeated Hello on the same connection changes the window and is
	 * answered, but resends nothing: what is in flight stays in flight. */
	/* A client that checks its session now and then (inbox, every 15 s)
	 * says Hello again on a live one: a line each time is noise. */
	if (again)
		log_debug("HUB-HELLO",
			  "caseworker %s said Hello again%s, %zu "
			  "open alerts",
			  caseworker, s->desk ? " (desk member)" : "",
			  own + desk);
	else
		log_info("HUB-HELLO",
			 "caseworker %s connected%s, %zu open "
			 "alerts",
			 caseworker, s->desk ? " (desk member)" : "",
			 own + desk);
	if (session_send(h, s, UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME,
			 &welcome))
		pump(h, s);
}

/* An escalation notice of an alert still open with this caseworker as
 * its owner: *own, and original is that alert. The desk's notice asks the
 * desk to see the alert handled, and the desk's acknowledgement stops the
 * team lead's: the owner, on the desk as well, acknowledging it would end
 * the oversight of their own alert without acknowledging it (RULES.md
 * §8), so their acknowledgement is taken as the owner's, of the alert.
 * So too a desk member's of the desk's notice of an alert that moved to
 * the desk after the notice went out (*desk_owned): the desk owns it now,
 * and any member acknowledges the desk's alerts. The team lead's notice
 * reaches its owner only when the alert moved to the lead after it went
 * out; there too the owner's acknowledgement can only mean the alert. A
 * state that cannot be read is the error (the ack is kept). */
static ug_err
own_notice(hub *h, const char *caseworker, const uint8_t *id,
	   uint8_t original[STORE_ALERT_ID_LEN], bool *own, bool *desk_owned)
{
	*own = false;
	*desk_owned = false;
	uint8_t last = id[STORE_ALERT_ID_LEN - 1];
	uint8_t step = last & (R_ESCALATED_DESK | R_ESCALATED_LEAD);
	if (step != R_ESCALATED_DESK && step != R_ESCALATED_LEAD)
		return UG_OK;
	memcpy(original, id, STORE_ALERT_ID_LEN);
	original[STORE_ALERT_ID_LEN - 1] = last & R_RULE_MASK;
	bool open = false;
	char owner[STORE_ID_MAX];
	uint32_t escalations;
	ug_err err =
	    store_alert_state(h->store, original, &open, owner, &escalations);
	if (err == UG_ENOTFOUND)
		return UG_OK;
	if (err != UG_OK || !open)
		return err;
	/* Only a notice open for them speaks for them: an owner off the
	 * desk, or one whose desk colleague acknowledged the notice
	 * already, acknowledging its id changes nothing (PROTOCOL.md §4). */
	bool notice_open = false, member = false;
	char to[STORE_ID_MAX];
	err = store_alert_state(h->store, id, &notice_open, to, &escalations);
	if (err == UG_ENOTFOUND)
		return UG_OK;
	if (err != UG_OK || !notice_open)
		return err;
	if (strcmp(to, caseworker) != 0) {
		if (strcmp(to, h->rules.desk) != 0)
			return UG_OK;
		err = hub__desk_member(h, caseworker, &member);
		if (err != UG_OK || !member)
			return err;
	}
	*own = strcmp(owner, caseworker) == 0;
	if (*own || step != R_ESCALATED_DESK ||
	    strcmp(owner, h->rules.desk) != 0)
		return UG_OK;
	*own = *desk_owned = member;
	return UG_OK;
}

/* Record an acknowledgement durably with its audit record, in one
 * transaction: the trail promises every acknowledgement, so one whose
 * record cannot be written is not stored either (it is kept and retried
 * like any the store refused). *found is false when the alert was not
 * open for the caseworker (or their desk). */
static ug_err
store_ack(hub *h, const char *caseworker, const uint8_t *id, const char *note,
	  bool *found, uint8_t acked[STORE_ALERT_ID_LEN])
{
	*found = false;
	memcpy(acked, id, STORE_ALERT_ID_LEN);
	bool own, desk_owned;
	ug_err oerr = own_notice(h, caseworker, id, acked, &own, &desk_owned);
	if (oerr != UG_OK)
		return oerr;
	if (!own)
		memcpy(acked, id, STORE_ALERT_ID_LEN);
	const uint8_t *notice = own ? id : NULL;
	id = acked;
	const uint8_t(*ids)[STORE_ALERT_ID_LEN] =
	    (const uint8_t(*)[STORE_ALERT_ID_LEN])id;
	char hexid[2 * STORE_ALERT_ID_LEN + 1];
	ug_hex(id, STORE_ALERT_ID_LEN, hexid);
	/* The note is the caseworker's account of the action taken: it is
	 * kept, sealed, in the audit trail. */
	char detail[256];
	snprintf(detail, sizeof detail, "%s%s%.200s", hexid,
		 note && note[0] ? " " : "", note ? note : "");
	ug_utf8_trim_tail(detail);
	uint8_t person_key[UG_PERSON_KEY_LEN];
	bool person = alert_person(h, id, person_key);
	char key[UG_Z85_KEY_LEN + 1] = "";
	store_audit_entry e;
	hub__caseworker_audit_entry(h, &e, key, caseworker, "ack", "ok",
				    person ? person_key : NULL, detail);
	const char *queue = caseworker;
	ug_err err =
	    store_alerts_ack_audited(h->store, caseworker, ids, 1, found, &e);
	bool desk = false;
	/* A membership that cannot be read is an acknowledgement not
	 * stored yet (kept and tried again), not one of an alert that is
	 * not theirs. */
	if (err == UG_OK && !*found)
		err = hub__desk_member(h, caseworker, &desk);
	if (err == UG_OK && !*found && desk) {
		queue = h->rules.desk;
		err = store_alerts_ack_audited(h->store, queue, ids, 1, found,
					       &e);
	}
	if (err != UG_OK || !*found)
		return err;
	/* The owner's acknowledgement: the escalation notices have served
	 * their purpose. */
	char closed[2][STORE_ID_MAX];
	size_t nclosed = 0;
	hub__close_notices(h, id, closed, &nclosed);
	/* The other desk members' lists, and the lists the notices were
	 * in, lose the alert: their open pages learn it (/events). The
	 * acknowledging caseworker's own pages made the change and are not
	 * told of it (a desk member's notice of her own alert included). */
	if (strcmp(queue, h->rules.desk) == 0)
		hub__notify_listed(h, queue, caseworker);
	for (size_t i = 0; i < nclosed; i++)
		hub__notify_listed(h, closed[i], caseworker);
	h->alerts_acked++;
	log_info("HUB-ALERT-ACK", "alert %s acknowledged by %s%s", hexid,
		 caseworker, note && note[0] ? " with a note" : "");
	if (notice && desk_owned)
		log_info("HUB-ALERT-ACK",
			 "%s acknowledged the desk's notice of the desk's own "
			 "alert %s: taken as the alert's",
			 caseworker, hexid);
	else if (notice)
		log_info("HUB-ALERT-ACK",
			 "%s acknowledged the %s notice of their own "
			 "alert %s: taken as the alert's",
			 caseworker,
			 (notice[STORE_ALERT_ID_LEN - 1] & R_ESCALATED_LEAD)
			     ? "team lead's"
			     : "desk's",
			 hexid);
	return UG_OK;
}

/* The alert is done with on every connection of the caseworker. */
static void
acked_everywhere(hub *h, const char *caseworker, const uint8_t *id)
{
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (s->used && strcmp(s->caseworker, caseworker) == 0 &&
		    forget_flight(s, id))
			pump(h, s);
	}
}

/* An ack the store could not take (disk or map full) is kept and written
 * on a later tick; meanwhile the alert stays in flight, so the client is
 * not sent it again in a loop. A hub crash before the write loses the
 * ack, and the alert is delivered again: at least once, never lost.
 * False when there is no room to keep it: the caller must say so, since
 * a client told "kept" would never send it again. */
static bool
keep_ack(hub *h, const char *caseworker, const uint8_t *id, const char *note)
{
	if (!h->pending_acks) {
		h->pending_acks =
		    calloc(HUB_PENDING_ACKS, sizeof *h->pending_acks);
		if (!h->pending_acks)
			return false;
	}
	if (h->n_pending_acks == HUB_PENDING_ACKS)
		return false;
	hub_pending_ack *p = &h->pending_acks[h->n_pending_acks++];
	ug_strlcpy(p->caseworker, caseworker, sizeof p->caseworker);
	memcpy(p->id, id, STORE_ALERT_ID_LEN);
	ug_strlcpy(p->note, note ? note : "", sizeof p->note);
	ug_utf8_trim_tail(p->note);
	return true;
}

static void
retry_acks(hub *h)
{
	size_t kept = 0;
	for (size_t i = 0; i < h->n_pending_acks; i++) {
		hub_pending_ack *p = &h->pending_acks[i];
		bool found;
		uint8_t acked[STORE_ALERT_ID_LEN];
		if (store_ack(h, p->caseworker, p->id, p->note, &found,
			      acked) != UG_OK) {
			h->pending_acks[kept++] = *p;
			continue;
		}
		acked_everywhere(h, p->caseworker, p->id);
		if (memcmp(acked, p->id, STORE_ALERT_ID_LEN) != 0)
			acked_everywhere(h, p->caseworker, acked);
	}
	h->n_pending_acks = kept;
}

ug_err
hub__delivery_ack(hub *h, const char *caseworker, const uint8_t *id,
		  const char *note, bool *found)
{
	char hexid[2 * STORE_ALERT_ID_LEN + 1];
	ug_hex(id, STORE_ALERT_ID_LEN, hexid);
	/* The note goes into the audit trail and its exports: a note that is
	 * not text is not kept, whichever door it came through; the
	 * acknowledgement is. */
	if (note && !ug_utf8_valid(note, strlen(note))) {
		hub__log_refusal(
		    h, "HUB-DELIVER",
		    "alert ack from %s with a note that is not valid "
		    "UTF-8; the note is not kept",
		    caseworker);
		note = NULL;
	}
	/* Masked before it is cut to its first 200 bytes (store_ack,
	 * keep_ack): a CPR number across the cut would leave its birth date
	 * behind, too short to be masked as a number afterwards. A number
	 * ends within 13 bytes of where it starts. */
	char masked[256];
	if (note) {
		ug_strlcpy(masked, note, sizeof masked);
		ug_cpr_mask(masked);
		note = masked;
	}
	uint8_t acked[STORE_ALERT_ID_LEN];
	ug_err err = store_ack(h, caseworker, id, note, found, acked);
	if (err == UG_OK && !*found) {
		/* Whose alert someone tried to close is in the trail, as for
		 * a refused action: the person's access export shows it. */
		uint8_t person_key[UG_PERSON_KEY_LEN];
		bool person = alert_person(h, id, person_key);
		audit_queue_cw(h, caseworker, "ack", "not-open",
			       person ? person_key : NULL, hexid);
	}
	if (err != UG_OK) {
		static ack_lines kept_lines, lost_lines;
		char since[96];
		if (!keep_ack(h, caseworker, id, note)) {
			if (ack_line_due(&lost_lines, since, sizeof since))
				log_err(
				    "HUB-DELIVER",
				    "ack of alert %s by %s not stored: %s; "
				    "not kept either (%d acknowledgements "
				    "wait already): the alert stays open%s",
				    hexid, caseworker, ug_strerror(err),
				    HUB_PENDING_ACKS, since);
			return UG_EFULL;
		}
		if (ack_line_due(&kept_lines, since, sizeof since))
			log_err("HUB-DELIVER",
				"ack of alert %s by %s not stored yet: "
				"%s; retried every second%s",
				hexid, caseworker, ug_strerror(err), since);
		return UG_EAGAIN;
	}
	acked_everywhere(h, caseworker, id);
	if (memcmp(acked, id, STORE_ALERT_ID_LEN) != 0)
		acked_everywhere(h, caseworker, acked);
	return UG_OK;
}

void
hub__delivery_ack_bad_id(hub *h, const char *caseworker)
{
	hub__log_refusal(h, "HUB-DELIVER",
			 "alert ack from %s with a bad id; ignored",
			 caseworker);
	/* Every acknowledgement is in the trail, the ones that change
	 * nothing too: a client acking ids it makes up shows there. */
	audit_queue_cw(h, caseworker, "ack", "not-open", NULL, "-");
}

const char *
hub__ack_note(hub *h, const char *caseworker, const wire_alert_ack *ack,
	      const uint8_t *body, size_t body_len)
{
	/* Kept cut at the NUL, the note would say less than was written
	 * while looking whole: not kept, like one that is not text. */
	if (wire_field_cut(&ungebro__v1__alert_ack__descriptor, body, body_len,
			   "note", ack->note)) {
		hub__log_refusal(
		    h, "HUB-DELIVER",
		    "alert ack from %s with a note that holds a NUL "
		    "byte; the note is not kept",
		    caseworker);
		return NULL;
	}
	return ack->note;
}

static void
on_ack(hub *h, const char *caseworker, const wire_alert_ack *ack,
       const uint8_t *body, size_t body_len)
{
	/* A session is not required: `inbox --ack ID` acknowledges in one
	 * shot without saying Hello. */
	if (ack->alert_id.len != STORE_ALERT_ID_LEN) {
		hub__delivery_ack_bad_id(h, caseworker);
		return;
	}
	bool found;
	(void)hub__delivery_ack(
	    h, caseworker, ack->alert_id.data,
	    hub__ack_note(h, caseworker, ack, body, body_len), &found);
}

void
hub__delivery_tick(hub *h)
{
	flush_counts(h);
	retry_acks(h);
	audit_tick(h);
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (!s->used)
			continue;
		s->blocked = false;
		pump(h, s);
	}
}

void
hub__result_init(const hub *h, const void *routing, size_t routing_len,
		 wire_result *r)
{
	ungebro__v1__result__init(r);
	if (h->acting_for.routing &&
	    routing_len == h->acting_for.routing_len &&
	    memcmp(routing, h->acting_for.routing, routing_len) == 0) {
		r->caseworker = (char *)h->acting_for.caseworker;
		r->desk = h->acting_for.desk;
		r->session_idle = h->acting_for.idle_s;
		r->alerts_version = h->acting_for.alerts_version;
	}
}

void
hub__delivery_answer(hub *h, const void *routing, size_t routing_len,
		     uint32_t request_id, int code, const char *reason)
{
	wire_result result;
	hub__result_init(h, routing, routing_len, &result);
	result.request_id = request_id;
	result.code = code;
	result.reason = (char *)reason;
	if (!hub__delivery_send(h, routing, routing_len,
				UNGEBRO__V1__FRAME_KIND__FRAME_RESULT,
				&result))
		hub__drop_log(&h->answer_drops, "HUB-DELIVER",
			      "answer not sent", zmq_strerror(errno));
}

/* A frame the hub cannot use is answered with a Result carrying the
 * reason (request_id 0 unless it is a Query's); the connection lives on. */
static void
refuse_frame(hub *h, zmq_msg_t *routing, uint32_t request_id, int code,
	     const char *why)
{
	hub__delivery_answer(h, zmq_msg_data(routing), zmq_msg_size(routing),
			     request_id, code, why);
}

static void
answer_query(hub *h, zmq_msg_t *routing, zmq_msg_t *frame,
	     const char *caseworker, const wire_query *q)
{
	hub__query(h, zmq_msg_data(routing), zmq_msg_size(routing), caseworker,
		   q, (const uint8_t *)zmq_msg_data(frame) + 2,
		   zmq_msg_size(frame) - 2);
}

/* The request id of a frame refused before it is handled, so that the
 * answer finds its request; 0 (and kind 0) for one that does not decode. */
static uint32_t
frame_request_id(zmq_msg_t *frame, int *kind)
{
	uint32_t request_id = 0;
	int code;
	void *msg = NULL;
	ug_diag diag = {0};
	*kind = 0;
	if (wire_decode(zmq_msg_data(frame), zmq_msg_size(frame), kind, &msg,
			&code, &diag) == UG_OK) {
		request_id = wire_request_id(*kind, msg);
		wire_free(*kind, msg);
	}
	return request_id;
}

/* The key was revoked or replaced since this connection authenticated:
 * its session ends and every frame is answered E_DENIED, with the
 * request_id of a frame that has one (a gateway's Login too: the client
 * ties the refusal to its request, and the reason says it is the key). */
static void
refuse_revoked(hub *h, zmq_msg_t *routing, zmq_msg_t *frame,
	       const char *caseworker)
{
	int fd = zmq_msg_get(frame, ZMQ_SRCFD);
	hub_session *s =
	    caseworker
		? hub__session_find(h, zmq_msg_data(routing),
				    zmq_msg_size(routing), fd, caseworker)
		: NULL;
	if (s)
		hub__session_end(h, s, "its key was revoked or replaced");
	hub__log_refusal(h, "HUB-DELIVER",
			 "frame from %s refused: key revoked or "
			 "replaced",
			 caseworker ? caseworker : "?");
	audit_queue(h, caseworker, zmq_msg_gets(frame, HUB_KEY_PROPERTY),
		    "frame", "refused", NULL, "key revoked or replaced");
	int kind;
	uint32_t request_id = frame_request_id(frame, &kind);
	refuse_frame(h, routing, request_id, UNGEBRO__V1__ERROR_CODE__E_DENIED,
		     WIRE_REASON_KEY_REVOKED);
}

/* The store could not be read to tell whether the key is still the
 * registered one: no revocation, so the session lives on and nothing is
 * audited (nothing was read or done). Every frame is answered, as a
 * revoked key's is, to be sent again; an AlertAck E_FULL, as one not kept
 * (§4a: E_UNAVAILABLE would tell a gateway it is kept). */
static void
refuse_unchecked(hub *h, zmq_msg_t *routing, zmq_msg_t *frame,
		 const char *caseworker)
{
	hub__log_refusal(
	    h, "HUB-DELIVER",
	    "frame from %s not checked: the store cannot be read; "
	    "answered E_UNAVAILABLE",
	    caseworker ? caseworker : "?");
	int kind;
	uint32_t request_id = frame_request_id(frame, &kind);
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK)
		refuse_frame(
		    h, routing, request_id, UNGEBRO__V1__ERROR_CODE__E_FULL,
		    "the acknowledgement was not kept: the hub cannot "
		    "store it now; send it again later");
	else
		refuse_frame(h, routing, request_id,
			     UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
			     "the hub cannot read its store right now; retry "
			     "later");
}

static void
handle(hub *h, zmq_msg_t *routing, zmq_msg_t *frame)
{
	const char *caseworker;
	uint32_t flags;
	enum hub_sender sender = hub__sender_current(
	    h, STORE_CASEWORKER, frame, &caseworker, &flags);
	if (sender == HUB_SENDER_UNKNOWN) {
		refuse_unchecked(h, routing, frame, caseworker);
		return;
	}
	if (sender == HUB_SENDER_GONE) {
		refuse_revoked(h, routing, frame, caseworker);
		return;
	}
	if (flags & STORE_FLAG_GATEWAY) {
		hub__gateway_frame(h, routing, frame, caseworker);
		return;
	}
	int kind = wire_peek_kind(zmq_msg_data(frame), zmq_msg_size(frame));
	int code;
	void *msg;
	ug_diag diag = {0};
	if (kind && kind != UNGEBRO__V1__FRAME_KIND__FRAME_HELLO &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_QUERY &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_ACTION) {
		static const char why[] = "only Hello, AlertAck, Query and "
					  "Action frames are accepted on the "
					  "delivery endpoint";
		hub__log_refusal(h, "HUB-DELIVER",
				 "unexpected frame kind %d from %s", kind,
				 caseworker);
		audit_queue(h, caseworker,
			    zmq_msg_gets(frame, HUB_KEY_PROPERTY), "frame",
			    "malformed", NULL, why);
		refuse_frame(h, routing, 0,
			     UNGEBRO__V1__ERROR_CODE__E_MALFORMED, why);
		return;
	}
	if (wire_decode(zmq_msg_data(frame), zmq_msg_size(frame), &kind, &msg,
			&code, &diag) != UG_OK) {
		hub__log_refusal(h, "HUB-DELIVER", "frame from %s refused: %s",
				 caseworker, diag.reason);
		audit_queue(h, caseworker,
			    zmq_msg_gets(frame, HUB_KEY_PROPERTY), "frame",
			    "malformed", NULL, diag.reason);
		refuse_frame(h, routing, 0, code, diag.reason);
		return;
	}
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_HELLO) {
		on_hello(h, routing, frame, caseworker, msg);
	} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK) {
		on_ack(h, caseworker, msg,
		       (const uint8_t *)zmq_msg_data(frame) + 2,
		       zmq_msg_size(frame) - 2);
	} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY) {
		answer_query(h, routing, frame, caseworker, msg);
	} else {
		hub__action(h, zmq_msg_data(routing), zmq_msg_size(routing),
			    caseworker, msg,
			    (const uint8_t *)zmq_msg_data(frame) + 2,
			    zmq_msg_size(frame) - 2);
	}
	wire_free(kind, msg);
}

/* Frames handled per loop turn: a caseworker client, however busy, never
 * holds up the agencies' acks for long. */
#define DELIVERY_BUDGET 64

void
hub__delivery_recv(hub *h)
{
	for (int budget = DELIVERY_BUDGET; budget > 0; budget--) {
		zmq_msg_t routing, frame;
		zmq_msg_init(&routing);
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&routing, h->delivery, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&routing);
			zmq_msg_close(&frame);
			return;
		}
		bool ok = zmq_msg_more(&routing) &&
			  zmq_msg_recv(&frame, h->delivery, 0) >= 0;
		/* One frame per message: drain the extra parts and
		 * refuse. */
		if (ok && zmq_msg_more(&frame)) {
			int more = 1;
			while (more) {
				zmq_msg_t extra;
				zmq_msg_init(&extra);
				more = zmq_msg_recv(&extra, h->delivery, 0) >=
					   0 &&
				       zmq_msg_more(&extra);
				zmq_msg_close(&extra);
			}
			static const char why[] =
			    "a message must be exactly one frame";
			hub__log_refusal(h, "HUB-DELIVER",
					 "multi-part message refused");
			audit_queue(h, zmq_msg_gets(&frame, "User-Id"),
				    zmq_msg_gets(&frame, HUB_KEY_PROPERTY),
				    "frame", "malformed", NULL, why);
			refuse_frame(h, &routing, 0,
				     UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
				     why);
			ok = false;
		}
		if (ok)
			handle(h, &routing, &frame);
		zmq_msg_close(&routing);
		zmq_msg_close(&frame);
	}
}
