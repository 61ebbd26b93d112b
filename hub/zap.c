/*
 * ZAP (RFC 27) handler: deny by default. A CURVE client is admitted only if
 * its public key is registered, as an agency on the ingest domain or as a
 * caseworker on the delivery domain; the reply's user id is the principal's
 * id, which libzmq attaches to every message as "User-Id". Each refusal is
 * logged, counted and queued for the audit trail (written once a tick;
 * a flood beyond the queue is counted there, not written record by
 * record); the refused client never reaches the store.
 */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"
#include "store/store_password.h"

/* ZMTP metadata: name length (1 byte), name, value length (4 bytes BE),
 * value. libzmq attaches ZAP's properties to every message of the
 * connection and lets them win over any the client sends itself. */
static size_t
key_property(uint8_t *out, const char *key)
{
	size_t nlen = strlen(HUB_KEY_PROPERTY), vlen = strlen(key);
	out[0] = (uint8_t)nlen;
	memcpy(out + 1, HUB_KEY_PROPERTY, nlen);
	out[1 + nlen] = 0;
	out[2 + nlen] = 0;
	out[3 + nlen] = 0;
	out[4 + nlen] = (uint8_t)vlen;
	memcpy(out + 5 + nlen, key, vlen);
	return 5 + nlen + vlen;
}

static void
reply(void *sock, const char *request_id, size_t request_id_len,
      const char *code, const char *text, const char *user, const char *key)
{
	uint8_t metadata[64 + UG_Z85_KEY_LEN];
	size_t mlen = key ? key_property(metadata, key) : 0;
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(sock, request_id, request_id_len, ZMQ_SNDMORE);
	zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, metadata, mlen, 0);
}

static size_t
slot_of(int kind, const char *id)
{
	uint32_t hash = 2166136261u ^ (uint32_t)kind;
	for (const char *p = id; *p; p++)
		hash = (hash ^ (uint8_t)*p) * 16777619u;
	return hash % HUB_PRINCIPAL_CACHE;
}

/* The registration of (kind, id) as the store has it now, via the cache;
 * NULL when the store cannot be read. */
static const hub_principal *
principal(hub *h, int kind, const char *id)
{
	hub_principal *p = &h->principals[slot_of(kind, id)];
	if (p->kind == kind && strcmp(p->id, id) == 0)
		return p;
	hub_principal fresh = {kind, "", "", 0};
	ug_strlcpy(fresh.id, id, sizeof fresh.id);
	ug_err err = store_principal_current(h->store, kind, id, fresh.key,
					     &fresh.flags);
	if (err == UG_ENOTFOUND)
		fresh.key[0] = '\0';
	else if (err != UG_OK)
		return NULL;
	*p = fresh;
	return p;
}

/* A caseworker revoked and registered again with the same key between two
 * looks: their sessions ended with the revoke, delivery and web alike. */
static void
caseworker_revoked(hub *h, const char *caseworker)
{
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (s->used && strcmp(s->caseworker, caseworker) == 0)
			hub__session_end(h, s,
					 "its key was revoked or replaced");
	}
	hub__gateway_caseworker_revoked(h, caseworker);
}

/* A caseworker's or a gateway's key replaced and put back between two
 * looks (A, then B, then A again) leaves the registrations as they were;
 * the record of B's registration says that the sessions opened with A
 * ended with it. Its detail is "ID key PREFIX... " (hubctl_audit.c): the
 * sessions of ID whose key does not begin with PREFIX end. */
static void
replaced_in_trail(hub *h, const char *action, const char *detail)
{
	const char *sp = strchr(detail, ' ');
	char id[STORE_ID_MAX];
	if (!sp || (size_t)(sp - detail) >= sizeof id ||
	    strncmp(sp, " key ", 5) != 0 ||
	    strnlen(sp + 5, UG_Z85_KEY_SHOWN) < UG_Z85_KEY_SHOWN)
		return;
	memcpy(id, detail, (size_t)(sp - detail));
	id[sp - detail] = '\0';
	const char *prefix = sp + 5;
	if (strcmp(action, "register-gateway") == 0) {
		hub__gateway_key_replaced(h, id, prefix, UG_Z85_KEY_SHOWN);
		return;
	}
	hub__gateway_caseworker_key_replaced(h, id, prefix, UG_Z85_KEY_SHOWN);
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (s->used && strcmp(s->caseworker, id) == 0 &&
		    strncmp(s->key, prefix, UG_Z85_KEY_SHOWN) != 0)
			hub__session_end(h, s,
					 "its key was revoked or replaced");
	}
}

static ug_err
revoked_in_trail(void *ctx, const store_audit_record *r)
{
	hub *h = ctx;
	h->audit_seen = r->seq;
	if (strncmp(r->actor, "hubctl:", 7) != 0 ||
	    strcmp(r->result, "ok") != 0)
		return UG_OK;
	/* The detail starts with the id; the key and flags follow it after
	 * a blank, which no id holds (records of earlier versions hold the
	 * id alone). */
	char id[STORE_ID_MAX];
	size_t n = strcspn(r->detail, " ");
	if (n >= sizeof id)
		return UG_OK;
	memcpy(id, r->detail, n);
	id[n] = '\0';
	if (strcmp(r->action, "revoke-gateway") == 0)
		hub__gateway_revoked(h, id);
	else if (strcmp(r->action, "revoke-caseworker") == 0)
		caseworker_revoked(h, id);
	else if (strcmp(r->action, "register-caseworker") == 0 ||
		 strcmp(r->action, "register-gateway") == 0)
		replaced_in_trail(h, r->action, r->detail);
	return UG_OK;
}

void
hub__principals_refresh(hub *h)
{
	/* Counted before the generation is read: hubctl records a revoke
	 * after the registration change, so while the generation stands,
	 * the trail up to this count holds no revoke still to be seen. */
	uint64_t records = 0;
	bool counted = store_audit_count(h->store, &records) == UG_OK;
	uint64_t gen;
	if (store_principal_generation(h->store, &gen) != UG_OK)
		return;
	if (gen == h->principal_generation) {
		h->principal_generation_set = true;
		if (counted) {
			h->audit_seen = records;
			h->audit_seen_set = true;
		}
		return;
	}
	h->principal_generation = gen;
	/* A gateway or caseworker revoked and registered again with the
	 * same key between two looks leaves the registrations as they were;
	 * only its revoke record says that its sessions have ended. A trail
	 * that does not read is for `audit verify` to report; the
	 * registrations below still end what they show. */
	if (h->audit_seen_set)
		(void)store_audit_scan(h->store, h->audit_seen + 1,
				       revoked_in_trail, h);
	else if (counted) {
		h->audit_seen = records;
		h->audit_seen_set = true;
	}
	memset(h->principals, 0, sizeof h->principals);
	/* A caseworker whose key was revoked or replaced loses the session
	 * now, not at the next frame: pushes stop at once. */
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (!s->used)
			continue;
		const hub_principal *p =
		    principal(h, STORE_CASEWORKER, s->caseworker);
		if (p && strcmp(p->key, s->key) != 0)
			hub__session_end(h, s,
					 "its key was revoked or "
					 "replaced");
		else if (p)
			s->desk = hub__is_desk_member(h, s->caseworker);
	}
	hub__gateway_registrations_changed(h);
	/* The first look, at start, is no change an operator made. */
	if (h->principal_generation_set)
		log_info("HUB-ZAP",
			 "registrations changed (generation %llu); "
			 "connections are checked against them from now on",
			 (unsigned long long)gen);
	h->principal_generation_set = true;
}

enum hub_sender
hub__sender_current(hub *h, int kind, const void *zmq_frame, const char **id,
		    uint32_t *flags)
{
	zmq_msg_t *frame = (zmq_msg_t *)zmq_frame;
	*id = zmq_msg_gets(frame, "User-Id");
	const char *key = zmq_msg_gets(frame, HUB_KEY_PROPERTY);
	*flags = 0;
	if (!*id || !**id || !key)
		return HUB_SENDER_GONE;
	const hub_principal *p = principal(h, kind, *id);
	if (!p)
		return HUB_SENDER_UNKNOWN;
	if (strcmp(p->key, key) != 0)
		return HUB_SENDER_GONE;
	*flags = p->flags;
	return HUB_SENDER_CURRENT;
}

void
hub__caseworker_audit_entry(hub *h, store_audit_entry *e,
			    char key[UG_Z85_KEY_LEN + 1],
			    const char *caseworker, const char *action,
			    const char *result, const uint8_t *person_key,
			    const char *detail)
{
	/* The frame's key is the registered one: hub__sender_current checked
	 * it before the frame got to the caller. In a web session it is the
	 * gateway's, whatever key the caseworker has of their own. */
	uint32_t flags;
	if (h->acting_for.routing &&
	    strcmp(h->acting_for.caseworker, caseworker) == 0)
		ug_strlcpy(key, h->acting_for.key, UG_Z85_KEY_LEN + 1);
	else if (store_principal_current(h->store, STORE_CASEWORKER,
					 caseworker, key, &flags) != UG_OK)
		key[0] = '\0';
	*e = (store_audit_entry){h->now, caseworker, key,   action,
				 result, person_key, detail};
}

/* Read one request; returns the number of frames (ZAP_FRAMES when sane). */
static int
read_request(void *sock, zmq_msg_t *frames)
{
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t scratch;
		zmq_msg_t *m = n < ZAP_FRAMES ? &frames[n] : &scratch;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, 0) < 0) {
			if (m == &scratch)
				zmq_msg_close(m);
			break;
		}
		more = zmq_msg_more(m);
		if (m == &scratch)
			zmq_msg_close(m);
		n++;
	}
	return n;
}

/* Answer the request in f and close its frames; false, with nothing
 * answered or closed, when the store cannot be read to check the key
 * and the request may still be held (see hub__zap_handle). */
static bool
decide(hub *h, zmq_msg_t *f, bool may_hold)
{
	const char *request_id = zmq_msg_data(&f[1]);
	size_t request_id_len = zmq_msg_size(&f[1]);
	char domain[32] = "", address[64] = "", key[41] = "?";
	snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&f[2]),
		 (char *)zmq_msg_data(&f[2]));
	snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&f[3]),
		 (char *)zmq_msg_data(&f[3]));
	bool curve = zmq_msg_size(&f[5]) == 5 &&
		     memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0;
	int kind = 0;
	uint32_t flags = 0;
	char id[STORE_ID_MAX] = "";
	const char *why = "not CURVE";
	if (curve && zmq_msg_size(&f[6]) == 32) {
		zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
		why = "key not registered";
		ug_err found =
		    store_principal_find(h->store, key, &kind, id, &flags);
		/* A store that cannot be read says nothing of the key: ZAP's
		 * temporary failure, which clients retry (an adapter's
		 * ADP-AUTH), where "not registered" stops them for good. */
		if (found != UG_OK && found != UG_ENOTFOUND && may_hold) {
			if (!h->zap_held_since)
				log_warn("HUB-ZAP",
					 "CURVE client from %s on %s not "
					 "checked: the store cannot be read "
					 "(key %.8s...); the handshake waits "
					 "up to %d s for it",
					 address, domain, key,
					 ZAP_HOLD_MS / 1000);
			return false;
		}
		if (found != UG_OK && found != UG_ENOTFOUND) {
			log_warn(
			    "HUB-ZAP",
			    "CURVE client from %s on %s not checked: the "
			    "store cannot be read (key %.8s...); answered "
			    "ZAP 300, to retry",
			    address, domain, key);
			reply(h->zap, request_id, request_id_len, "300",
			      "the hub cannot read its store right now", "",
			      NULL);
			for (int i = 0; i < ZAP_FRAMES; i++)
				zmq_msg_close(&f[i]);
			return true;
		}
		if (found == UG_OK) {
			int want = strcmp(domain, "ingest") == 0
				       ? STORE_AGENCY
				       : STORE_CASEWORKER;
			if (kind != want)
				why = want == STORE_CASEWORKER
					  ? "key registered as an agency"
				      : (flags & STORE_FLAG_GATEWAY)
					  ? "key registered as a web gateway"
					  : "key registered as a caseworker";
			else
				why = NULL;
		}
	}
	if (why) {
		h->zap_refused++;
		log_warn("HUB-ZAP",
			 "refused %s client from %s on %s: %s "
			 "(key %.8s...)",
			 curve ? "CURVE" : "non-CURVE", address, domain, why,
			 key);
		reply(h->zap, request_id, request_id_len, "400", why, "",
		      NULL);
		char detail[160];
		snprintf(detail, sizeof detail, "%s from %s: %s", domain,
			 address, why);
		store_audit_entry e = {
		    h->now,    id[0] ? id : "-", curve ? key : NULL,
		    "connect", "refused",	 NULL,
		    detail};
		store_audit_queue(h->store, &e);
	} else {
		h->zap_admitted++;
		/* A gateway shares the caseworkers' endpoint and table, but
		 * is never a caseworker of its own: say which it is. */
		log_info("HUB-ZAP", "admitted %s '%s' from %s on %s",
			 kind == STORE_AGENCY		? "agency"
			 : (flags & STORE_FLAG_GATEWAY) ? "web gateway"
							: "caseworker",
			 id, address, domain);
		reply(h->zap, request_id, request_id_len, "200", "OK", id,
		      key);
	}
	for (int i = 0; i < ZAP_FRAMES; i++)
		zmq_msg_close(&f[i]);
	return true;
}

/* A request the store could not check is held, not answered: libzmq
 * 4.3.4 answers ZAP's temporary failure (300) by closing the connection
 * without a word, which a client cannot tell from a refused key (an
 * adapter stops after three such closes in a row). Held, the handshake
 * simply waits, and is answered as usual once the store reads again;
 * only after ZAP_HOLD_MS is it answered 300. The REP socket takes no
 * other request meanwhile: none of them could be checked either. */
static bool
held_answered(hub *h)
{
	bool late = ug_mono_ms() - h->zap_held_since >= ZAP_HOLD_MS;
	if (!decide(h, h->zap_held, !late))
		return false;
	h->zap_held_since = 0;
	return true;
}

void
hub__zap_handle(hub *h)
{
	if (h->zap_held_since && !held_answered(h))
		return;
	int events = 0;
	size_t len = sizeof events;
	while (zmq_getsockopt(h->zap, ZMQ_EVENTS, &events, &len) == 0 &&
	       (events & ZMQ_POLLIN)) {
		int n = read_request(h->zap, h->zap_held);
		if (n != ZAP_FRAMES) {
			/* A REP socket must answer every request, even a
			 * broken one. */
			log_err("HUB-ZAP",
				"malformed ZAP request with %d frames", n);
			reply(h->zap, "", 0, "500", "malformed request", "",
			      NULL);
			for (int i = 0; i < (n < ZAP_FRAMES ? n : ZAP_FRAMES);
			     i++)
				zmq_msg_close(&h->zap_held[i]);
			continue;
		}
		if (!decide(h, h->zap_held, true)) {
			h->zap_held_since = ug_mono_ms();
			return;
		}
	}
}

bool
hub__zap_holding(const hub *h)
{
	return h->zap_held_since != 0;
}

void
hub__zap_release(hub *h)
{
	if (!h->zap_held_since)
		return;
	for (int i = 0; i < ZAP_FRAMES; i++)
		zmq_msg_close(&h->zap_held[i]);
	h->zap_held_since = 0;
}
