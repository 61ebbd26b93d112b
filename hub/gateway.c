/*
 * Web sessions: a registered gateway (webd) logs caseworkers in with their
 * passwords and then acts only inside the sessions it opened. The gateway
 * holds no caseworker's key and no key that opens the store; everything a
 * session may see or do is decided here, as for that caseworker on inbox,
 * by the same query, action and acknowledgement code (and so the same
 * audit records). A stolen gateway key can guess passwords only as fast as
 * the limits below allow, and a compromised gateway holds at most the
 * sessions it opened.
 *
 * Passwords are argon2id hashes (crypto_pwhash_str) that hubctl
 * set-password stores sealed (store_password.c). An unknown caseworker is
 * verified against a dummy hash of the same cost, so both failures take
 * the same time and get the same answer. Sessions live in memory only: a
 * hub restart logs everyone out. A session is a random 32-byte token; the
 * table keeps its hash, so a memory dump does not hand out live tokens.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"
#include "hub/gateway.h"
#include "hub/hub_int.h"
#include "store/store_password.h"

#define TOKEN_LEN	 32
#define PASSWORD_MAX	 1024 /* bytes; longer is refused like a wrong one */
#define FAIL_SLOTS	 1024 /* caseworker ids with recent failed logins */
#define GATEWAY_SLOTS	 16   /* gateways with a failure allowance */
#define LIFETIME_MAX_MIN (24 * 60) /* a Login's lifetime, at most */
/* A session past its lifetime is refused at once, but its end is
 * recorded by the tick only this long after: time for the gateway's own
 * Logout marked lifetime to arrive first, so that an ordinary end does
 * not leave a refused frame in the audit trail. */
#define LIFETIME_GRACE_MS 5000

static const char WRONG[] = "wrong caseworker or password";
static const char ENDED[] = "the session has ended; log in again";
static const char ONLY[] = "a web gateway sends only Login, Logout, and "
			   "Query, AlertAck and Action with a session";

typedef struct {
	bool used;
	uint8_t token_hash[crypto_generichash_BYTES];
	char caseworker[STORE_ID_MAX];
	char gateway[STORE_ID_MAX];
	char gateway_key[UG_Z85_KEY_LEN + 1];
	/* The caseworker's own key at login: a web session does not use it,
	 * but replacing it says the caseworker may be compromised (a lost
	 * laptop), so it ends their web sessions as their delivery ones. */
	char caseworker_key[UG_Z85_KEY_LEN + 1];
	int64_t password_set_at; /* a reset password ends the session */
	int64_t last_used;
	/* The same as an order: requests of one millisecond (and of one
	 * turn of the loop, h->now read once) tie on last_used, yet a full
	 * table must end the one idle longest, not the first in it. */
	uint64_t use;
	/* Its login and its lifetime (Login.lifetime): a gateway key that
	 * leaked with a live token cannot keep a session going past what
	 * the gateway allows, however busy it keeps it. */
	int64_t born, lifetime_ms;
	uint64_t alerts_version; /* their list changed (hub__notify_*) */
	/* On the duty desk when last asked: a membership that ends or
	 * begins (a dated DeskMembership, at midnight) takes the desk's
	 * alerts out of their list or brings them in, which their open
	 * list must learn as it learns of an alert that moves. */
	bool desk;
} web_session;

typedef struct {
	char id[STORE_ID_MAX];
	uint32_t failures;
	int64_t last;
} login_failures;

typedef struct {
	char gateway[STORE_ID_MAX];
	double tokens;
	int64_t at;
} gateway_allowance;

struct hub_gateway {
	web_session *sessions;
	long max;
	int64_t idle_ms, lockout_ms;
	long failures_max;
	double gateway_per_minute;
	login_failures failures[FAIL_SLOTS];
	/* One more than GATEWAY_SLOTS: the allowance shared by gateways
	 * beyond them (allowance_of). */
	gateway_allowance allowance[GATEWAY_SLOTS + 1];
	char *dummy_hash; /* made at the first login: hubd starts fast */
	uint64_t logins, refused;
	uint64_t uses;	   /* logins and requests that touched a session */
	notify_mail *mail; /* e-mail notices (notify_mail.c) */
};

ug_err
hub__gateway_open(hub *h, const ug_config *cfg, ug_diag *diag)
{
	long idle, max, fails, lockout, per_gateway;
	ug_err err =
	    ug_config_int(cfg, "web_session_idle", 1, 24 * 60, &idle, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "web_sessions_max", 1, 100000, &max,
				    diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "login_failures_max", 1, 1000, &fails,
				    diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "login_lockout", 1, 24 * 60, &lockout,
				    diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "login_gateway_failures", 1, 100000,
				    &per_gateway, diag);
	if (err != UG_OK)
		return err;
	struct hub_gateway *g = calloc(1, sizeof *g);
	if (!g)
		return UG_ENOMEM;
	err = hub__mail_open(&g->mail, cfg, diag);
	if (err != UG_OK) {
		free(g);
		return err;
	}
	/* Tokens' hashes are secrets of a kind: keep them off swap. */
	g->sessions = sodium_allocarray((size_t)max, sizeof *g->sessions);
	if (!g->sessions) {
		hub__mail_close(&g->mail);
		free(g);
		return UG_ENOMEM;
	}
	memset(g->sessions, 0, (size_t)max * sizeof *g->sessions);
	g->max = max;
	g->idle_ms = idle * 60000;
	g->lockout_ms = lockout * 60000;
	g->failures_max = fails;
	g->gateway_per_minute = (double)per_gateway;
	h->gateway = g;
	return UG_OK;
}

void
hub__gateway_close(hub *h)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	sodium_free(g->sessions);
	hub__mail_close(&g->mail);
	free(g->dummy_hash);
	free(g);
	h->gateway = NULL;
}

static void
audit(hub *h, const char *actor, const char *key, const char *action,
      const char *result, const char *detail)
{
	store_audit_entry e = {h->now, actor, key,   action,
			       result, NULL,  detail};
	store_audit_queue(h->store, &e);
}

/* ---- limits ---- */

static login_failures *
failures_of(struct hub_gateway *g, const char *id, bool make)
{
	login_failures *oldest = &g->failures[0];
	for (size_t i = 0; i < FAIL_SLOTS; i++) {
		login_failures *f = &g->failures[i];
		if (f->id[0] && strcmp(f->id, id) == 0)
			return f;
		if (f->last < oldest->last)
			oldest = f;
	}
	if (!make)
		return NULL;
	/* The id with the oldest failure gives its slot up: a flood of
	 * made-up ids costs the lock of one long-quiet id at most. */
	memset(oldest, 0, sizeof *oldest);
	ug_strlcpy(oldest->id, id, sizeof oldest->id);
	return oldest;
}

static bool
locked(hub *h, const char *id)
{
	struct hub_gateway *g = h->gateway;
	login_failures *f = failures_of(g, id, false);
	if (!f)
		return false;
	if (h->now - f->last >= g->lockout_ms) {
		f->failures = 0;
		return false;
	}
	return f->failures >= (uint32_t)g->failures_max;
}

static bool
allowance_whole(const hub *h, const gateway_allowance *a)
{
	double per_minute = h->gateway->gateway_per_minute;
	return a->tokens + (double)(h->now - a->at) / 60000.0 * per_minute >=
	       per_minute;
}

static gateway_allowance *
allowance_of(hub *h, const char *gateway)
{
	struct hub_gateway *g = h->gateway;
	gateway_allowance *slot = NULL, *spare = NULL;
	for (size_t i = 0; i < GATEWAY_SLOTS; i++) {
		gateway_allowance *a = &g->allowance[i];
		if (a->gateway[0] && strcmp(a->gateway, gateway) == 0) {
			slot = a;
			break;
		}
		/* A gateway whose allowance has refilled loses nothing by
		 * being forgotten: it would start whole again. */
		if (!spare && (!a->gateway[0] || allowance_whole(h, a)))
			spare = a;
	}
	if (!slot && spare) {
		slot = spare;
		ug_strlcpy(slot->gateway, gateway, sizeof slot->gateway);
		/* While gateways beyond the slots share an allowance that is
		 * not whole, a place that comes free starts from what that
		 * one holds: else a gateway that spent the shared allowance
		 * would win a whole one of its own each time another's
		 * refilled. */
		const gateway_allowance *shared = &g->allowance[GATEWAY_SLOTS];
		double start = g->gateway_per_minute;
		if (shared->at != 0) {
			double held = shared->tokens +
				      (double)(h->now - shared->at) / 60000.0 *
					  g->gateway_per_minute;
			if (held < start)
				start = held;
		}
		slot->tokens = start;
		slot->at = h->now;
	}
	/* More gateways spending their allowance at once than slots: the
	 * rest share one, which a change of name never refills — else a
	 * gateway could win fresh guesses each time another took its
	 * place. Left zeroed at start, it refills whole at first use. */
	if (!slot)
		slot = &g->allowance[GATEWAY_SLOTS];
	double refill =
	    (double)(h->now - slot->at) / 60000.0 * g->gateway_per_minute;
	if (refill > 0) {
		slot->tokens += refill;
		if (slot->tokens > g->gateway_per_minute)
			slot->tokens = g->gateway_per_minute;
		slot->at = h->now;
	}
	return slot;
}

/* ---- login ---- */

static const char *
dummy_hash(struct hub_gateway *g)
{
	if (!g->dummy_hash) {
		char *hash = calloc(1, crypto_pwhash_STRBYTES);
		uint8_t random[16];
		randombytes_buf(random, sizeof random);
		if (hash && crypto_pwhash_str(
				hash, (const char *)random, sizeof random,
				crypto_pwhash_OPSLIMIT_INTERACTIVE,
				crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
			free(hash);
			hash = NULL;
		}
		g->dummy_hash = hash;
	}
	return g->dummy_hash;
}

static void end_session(hub *h, web_session *s, const char *why);

/* A session ends when its idle time (web_session_idle) or its lifetime
 * runs out, whether or not anyone uses its token again; *why says which
 * comes (or came) first. grace: the lifetime counts as run out only this
 * much later. */
static bool
ended_at(const hub *h, const web_session *s, int64_t grace, const char **why)
{
	int64_t idle = s->last_used + h->gateway->idle_ms;
	int64_t aged = s->born + s->lifetime_ms;
	if (idle < aged) {
		*why = "idle";
		return h->now >= idle;
	}
	*why = "lifetime";
	return h->now >= aged + grace;
}

static web_session *
free_slot(hub *h)
{
	struct hub_gateway *g = h->gateway;
	web_session *idlest = &g->sessions[0];
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		if (!s->used)
			return s;
		const char *why;
		if (ended_at(h, s, 0, &why)) {
			end_session(h, s, why);
			return s;
		}
		if (s->use < idlest->use)
			idlest = s;
	}
	log_info("HUB-WEB",
		 "session table full: the session of %s idle "
		 "longest ends",
		 idlest->caseworker);
	/* Its end is audited like any other: the caseworker's page just
	 * asks them to log in again. */
	end_session(h, idlest, "full");
	return idlest;
}

static void
hash_token(const uint8_t *token, uint8_t out[crypto_generichash_BYTES])
{
	crypto_generichash(out, crypto_generichash_BYTES, token, TOKEN_LEN,
			   NULL, 0);
}

/* Login's string field `name` as sent (body: the frame after its
 * header) is longer than its decoded text: a NUL byte cut that short. */
static bool
login_text_cut(const uint8_t *body, size_t body_len, const char *name,
	       const char *text)
{
	return wire_field_cut(&ungebro__v1__login__descriptor, body, body_len,
			      name, text);
}

static void end_session(hub *h, web_session *s, const char *why);
static web_session *session_of(hub *h, const ProtobufCBinaryData *token,
			       const char *gateway, const char *gateway_key,
			       bool touch, bool logout, bool *unknown);

static void
on_login(hub *h, const void *routing, size_t routing_len, const char *gateway,
	 const char *gateway_key, const wire_login *l, const uint8_t *body,
	 size_t body_len)
{
	struct hub_gateway *g = h->gateway;
	const char *id = l->caseworker ? l->caseworker : "";
	const char *password = l->password ? l->password : "";
	size_t pwlen = strlen(password);
	/* The decoded text stops at a NUL byte, what was sent does not:
	 * "anna\0x" is no id, and "secret\0x" is not the password
	 * "secret". */
	/* `hub` is an id no caseworker can have (hubctl refuses it), and
	 * the actor of the hub's own records: kept as typed, a login named
	 * so would stand in the trail as the hub's doing. */
	bool is_id = ug_id_valid(id) && strcmp(id, "hub") != 0 &&
		     !login_text_cut(body, body_len, "caseworker", id);
	bool pw_cut = login_text_cut(body, body_len, "password", password);
	gateway_allowance *allow = allowance_of(h, gateway);
	/* What is no id at all (a name) is recorded as such, never as it
	 * was typed, whichever refusal it meets. */
	char not_id[STORE_ID_MAX + 40];
	snprintf(not_id, sizeof not_id, "%s: not a caseworker id", gateway);
	if (allow->tokens < 1.0) {
		g->refused++;
		audit(h, is_id ? id : "-", gateway_key, "login", "limited",
		      is_id ? gateway : not_id);
		hub__delivery_answer(
		    h, routing, routing_len, l->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "too many failed logins through this gateway; wait a "
		    "minute and try again");
		return;
	}
	/* Made at the first login whatever its id: made at the first
	 * unknown one, it doubled that login's work and so told that the
	 * id was unknown (SECURITY.md "Passwords": the same work). */
	(void)dummy_hash(g);
	if (!is_id) {
		/* Not an id at all: nothing to verify, and nothing a lock
		 * slot should be spent on. Still a failed login, counted
		 * against the gateway and seen by the auditor; what was
		 * typed is not kept (it may be a name). */
		g->refused++;
		allow->tokens -= 1.0;
		/* The same work as for a caseworker id, so the answer's time
		 * does not set this refusal apart. */
		const char *dummy = dummy_hash(g);
		if (dummy) {
			int spent =
			    crypto_pwhash_str_verify(dummy, password, pwlen);
			(void)spent;
		}
		/* Logged as any failed login: the line names no id, and an
		 * operator watching for guessing sees made-up names too. */
		log_warn("HUB-WEB", "login refused through gateway %s",
			 gateway);
		audit(h, "-", gateway_key, "login", "denied", not_id);
		hub__delivery_answer(h, routing, routing_len, l->request_id,
				     UNGEBRO__V1__ERROR_CODE__E_DENIED, WRONG);
		return;
	}
	if (locked(h, id)) {
		g->refused++;
		audit(h, id, gateway_key, "login", "locked", gateway);
		hub__delivery_answer(
		    h, routing, routing_len, l->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "too many failed logins for this caseworker; wait and "
		    "try again later");
		return;
	}
	/* Known or not, one argon2id verification: the same time and the
	 * same answer either way. */
	char hash[STORE_PASSWORD_HASH_MAX], key[UG_Z85_KEY_LEN + 1];
	int64_t set_at = 0;
	uint32_t flags = 0;
	ug_err pw = store_password_get(h->store, id, hash, &set_at);
	ug_err cw = pw == UG_OK
			? store_principal_current(h->store, STORE_CASEWORKER,
						  id, key, &flags)
			: pw;
	/* A store that cannot be read says nothing of the password: no
	 * failed login (five such would lock the caseworker out), not
	 * audited, as nothing was checked. */
	if ((pw != UG_OK && pw != UG_ENOTFOUND) ||
	    (cw != UG_OK && cw != UG_ENOTFOUND)) {
		sodium_memzero(hash, sizeof hash);
		log_warn("HUB-WEB",
			 "login through gateway %s not checked: the store "
			 "cannot be read; answered E_UNAVAILABLE",
			 gateway);
		hub__delivery_answer(
		    h, routing, routing_len, l->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "the hub cannot read its store right now; retry later");
		return;
	}
	bool known =
	    pw == UG_OK && cw == UG_OK && !(flags & STORE_FLAG_GATEWAY);
	const char *against = known ? hash : dummy_hash(g);
	/* Verified whatever its length too: an empty or too long password
	 * is refused after the same work as a wrong one. */
	bool verified =
	    against && crypto_pwhash_str_verify(against, password, pwlen) == 0;
	bool ok =
	    verified && known && !pw_cut && pwlen > 0 && pwlen <= PASSWORD_MAX;
	sodium_memzero(hash, sizeof hash);
	if (!ok) {
		g->refused++;
		login_failures *f = failures_of(g, id, true);
		f->failures++;
		f->last = h->now;
		allow->tokens -= 1.0;
		log_warn("HUB-WEB", "login refused through gateway %s",
			 gateway);
		audit(h, id, gateway_key, "login", "denied", gateway);
		hub__delivery_answer(h, routing, routing_len, l->request_id,
				     UNGEBRO__V1__ERROR_CODE__E_DENIED, WRONG);
		return;
	}
	login_failures *f = failures_of(g, id, false);
	if (f)
		memset(f, 0, sizeof *f);
	uint8_t token[TOKEN_LEN];
	randombytes_buf(token, sizeof token);
	/* The browser's own session ends before a place is sought: in a
	 * full table it would otherwise end another's, idle longest, for a
	 * login that gives up its own. */
	if (l->replaces.len) {
		bool unknown;
		web_session *old =
		    session_of(h, &l->replaces, gateway, gateway_key, false,
			       true, &unknown);
		const char *why = "logout";
		if (old)
			end_session(h, old,
				    ended_at(h, old, 0, &why) &&
					    strcmp(why, "lifetime") == 0
					? "lifetime"
					: "logout");
	}
	web_session *s = free_slot(h);
	memset(s, 0, sizeof *s);
	s->used = true;
	hash_token(token, s->token_hash);
	ug_strlcpy(s->caseworker, id, sizeof s->caseworker);
	ug_strlcpy(s->gateway, gateway, sizeof s->gateway);
	ug_strlcpy(s->gateway_key, gateway_key, sizeof s->gateway_key);
	ug_strlcpy(s->caseworker_key, key, sizeof s->caseworker_key);
	s->password_set_at = set_at;
	s->last_used = h->now;
	s->use = ++h->gateway->uses;
	s->born = h->now;
	s->lifetime_ms =
	    (int64_t)(l->lifetime == 0 || l->lifetime > LIFETIME_MAX_MIN
			  ? LIFETIME_MAX_MIN
			  : l->lifetime) *
	    60000;
	s->desk = hub__is_desk_member(h, id);
	g->logins++;
	log_info("HUB-WEB", "caseworker %s logged in through gateway %s", id,
		 gateway);
	audit(h, id, gateway_key, "login", "ok", gateway);
	wire_result r = UNGEBRO__V1__RESULT__INIT;
	r.request_id = l->request_id;
	r.code = UNGEBRO__V1__ERROR_CODE__OK;
	r.session.data = token;
	r.session.len = sizeof token;
	r.caseworker = s->caseworker;
	r.desk = s->desk;
	r.session_idle = (uint32_t)(g->idle_ms / 1000);
	if (!hub__delivery_send(h, routing, routing_len,
				UNGEBRO__V1__FRAME_KIND__FRAME_RESULT, &r))
		hub__drop_log(&h->web_drops, "HUB-WEB",
			      "login answer not sent", NULL);
	sodium_memzero(token, sizeof token);
}

/* ---- session-bound frames ---- */

static void
end_session(hub *h, web_session *s, const char *why)
{
	log_info("HUB-WEB", "web session of %s ended: %s", s->caseworker, why);
	audit(h, s->caseworker, s->gateway_key, "logout", why, s->gateway);
	memset(s, 0, sizeof *s);
}

/* Whether the caseworker is still registered with the key they had at
 * login and their password not set again since. SESSION_UNKNOWN: the store
 * could not be read to tell, which is no revocation: ending the session
 * then would log the caseworker out and record `logout revoked` for
 * something nobody did. */
enum session_state { SESSION_CURRENT, SESSION_GONE, SESSION_UNKNOWN };

static enum session_state
still_current(hub *h, const web_session *s)
{
	char hash[STORE_PASSWORD_HASH_MAX], key[UG_Z85_KEY_LEN + 1];
	int64_t set_at = 0;
	uint32_t flags = 0;
	ug_err cw = store_principal_current(h->store, STORE_CASEWORKER,
					    s->caseworker, key, &flags);
	if (cw == UG_ENOTFOUND)
		return SESSION_GONE;
	if (cw != UG_OK)
		return SESSION_UNKNOWN;
	if (strcmp(key, s->caseworker_key) != 0)
		return SESSION_GONE;
	ug_err pw = store_password_get(h->store, s->caseworker, hash, &set_at);
	sodium_memzero(hash, sizeof hash);
	if (pw == UG_ENOTFOUND)
		return SESSION_GONE;
	if (pw != UG_OK)
		return SESSION_UNKNOWN;
	return set_at == s->password_set_at ? SESSION_CURRENT : SESSION_GONE;
}

/* The live session the token names for this gateway key, or NULL (a
 * session found stale on the way is ended). `touch`: the caseworker did
 * something, so the session's idle time starts again; the live list's
 * ALERTS_CHANGED polls do not touch, or an open page would never end.
 * *unknown: the session is live but the store could not be read to check
 * it, so nothing may be done in it now (the caller answers so). */
static web_session *
session_of(hub *h, const ProtobufCBinaryData *token, const char *gateway,
	   const char *gateway_key, bool touch, bool logout, bool *unknown)
{
	struct hub_gateway *g = h->gateway;
	*unknown = false;
	if (token->len != TOKEN_LEN)
		return NULL;
	uint8_t want[crypto_generichash_BYTES];
	hash_token(token->data, want);
	web_session *s = NULL;
	for (long i = 0; i < g->max && !s; i++)
		if (g->sessions[i].used &&
		    sodium_memcmp(g->sessions[i].token_hash, want,
				  sizeof want) == 0)
			s = &g->sessions[i];
	if (!s)
		return NULL;
	/* Only the gateway key that opened it may use it. */
	if (strcmp(s->gateway, gateway) != 0 ||
	    strcmp(s->gateway_key, gateway_key) != 0)
		return NULL;
	enum session_state state = still_current(h, s);
	if (state == SESSION_GONE) {
		end_session(h, s, "revoked");
		return NULL;
	}
	/* A Logout of a session past its lifetime still ends it as asked
	 * (the gateway's own end, marked lifetime, may come a moment after
	 * the hub's): the caller records it. */
	const char *why;
	if (ended_at(h, s, 0, &why) &&
	    (!logout || strcmp(why, "lifetime") != 0)) {
		end_session(h, s, why);
		return NULL;
	}
	if (state == SESSION_UNKNOWN) {
		*unknown = true;
		return s;
	}
	if (touch) {
		s->last_used = h->now;
		s->use = ++h->gateway->uses;
	}
	return s;
}

static void
on_ack(hub *h, const void *routing, size_t routing_len, const char *cw,
       const wire_alert_ack *ack, const uint8_t *body, size_t body_len)
{
	if (ack->alert_id.len != STORE_ALERT_ID_LEN) {
		hub__delivery_ack_bad_id(h, cw);
		hub__delivery_answer(
		    h, routing, routing_len, ack->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
		    "alert_id must be the 9 bytes of an alert's id");
		return;
	}
	bool found = false;
	ug_err err = hub__delivery_ack(
	    h, cw, ack->alert_id.data,
	    hub__ack_note(h, cw, ack, body, body_len), &found);
	if (err == UG_EAGAIN)
		hub__delivery_answer(
		    h, routing, routing_len, ack->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "the acknowledgement is kept and stored as soon as the "
		    "hub can");
	else if (err != UG_OK)
		hub__delivery_answer(
		    h, routing, routing_len, ack->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_FULL,
		    "the acknowledgement was not kept: the hub cannot store "
		    "it now; send it again later");
	else if (!found)
		hub__delivery_answer(
		    h, routing, routing_len, ack->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_DENIED,
		    "this alert is not open for you or your desk");
	else
		hub__delivery_answer(h, routing, routing_len, ack->request_id,
				     UNGEBRO__V1__ERROR_CODE__OK, "");
}

/* ALERTS_CHANGED: only a counter, so nothing about any person is read
 * and nothing is audited; webd asks it every few seconds per open list. */
static void
answer_version(hub *h, const void *routing, size_t routing_len,
	       uint32_t request_id, const web_session *s)
{
	wire_result r;
	hub__result_init(h, routing, routing_len, &r);
	r.request_id = request_id;
	r.code = UNGEBRO__V1__ERROR_CODE__OK;
	r.alerts_version = s->alerts_version;
	if (!hub__delivery_send(h, routing, routing_len,
				UNGEBRO__V1__FRAME_KIND__FRAME_RESULT, &r))
		hub__drop_log(&h->web_drops, "HUB-WEB",
			      "alerts version not sent", NULL);
}

void
hub__gateway_registrations_changed(hub *h)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		if (!s->used)
			continue;
		char key[UG_Z85_KEY_LEN + 1], gkey[UG_Z85_KEY_LEN + 1];
		uint32_t flags = 0, gflags = 0;
		ug_err cw = store_principal_current(
		    h->store, STORE_CASEWORKER, s->caseworker, key, &flags);
		ug_err gw = store_principal_current(h->store, STORE_CASEWORKER,
						    s->gateway, gkey, &gflags);
		/* A store that cannot be read now ends nothing: the next
		 * request checks the caseworker again. */
		if ((cw != UG_OK && cw != UG_ENOTFOUND) ||
		    (gw != UG_OK && gw != UG_ENOTFOUND))
			continue;
		/* A password set again moves the generation too: a session
		 * opened with the old one ends now, not at its next use. */
		char hash[STORE_PASSWORD_HASH_MAX];
		int64_t set_at = 0;
		ug_err pw =
		    store_password_get(h->store, s->caseworker, hash, &set_at);
		sodium_memzero(hash, sizeof hash);
		if (pw != UG_OK && pw != UG_ENOTFOUND)
			continue;
		bool gone =
		    cw == UG_ENOTFOUND || (flags & STORE_FLAG_GATEWAY) ||
		    strcmp(key, s->caseworker_key) != 0 ||
		    gw == UG_ENOTFOUND || !(gflags & STORE_FLAG_GATEWAY) ||
		    strcmp(gkey, s->gateway_key) != 0 || pw == UG_ENOTFOUND ||
		    set_at != s->password_set_at;
		if (gone)
			end_session(h, s, "revoked");
	}
}

/* Ends, as revoked, every session through gateway (NULL: any) of
 * caseworker (NULL: any). */
static void
end_revoked_sessions(hub *h, const char *gateway, const char *caseworker)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		if (s->used &&
		    (!gateway || strcmp(s->gateway, gateway) == 0) &&
		    (!caseworker || strcmp(s->caseworker, caseworker) == 0))
			end_session(h, s, "revoked");
	}
}

void
hub__gateway_revoked(hub *h, const char *gateway)
{
	end_revoked_sessions(h, gateway, NULL);
}

void
hub__gateway_caseworker_revoked(hub *h, const char *caseworker)
{
	end_revoked_sessions(h, NULL, caseworker);
}

/* A gateway's or a caseworker's key replaced: their sessions opened
 * under the old key end, whichever of the two is meant. */
static void
end_sessions_of_replaced_key(hub *h, bool caseworker, const char *id,
			     const char *prefix, size_t n)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		const char *owner = caseworker ? s->caseworker : s->gateway;
		const char *key =
		    caseworker ? s->caseworker_key : s->gateway_key;
		if (s->used && strcmp(owner, id) == 0 &&
		    strncmp(key, prefix, n) != 0)
			end_session(h, s, "revoked");
	}
}

void
hub__gateway_key_replaced(hub *h, const char *gateway, const char *prefix,
			  size_t n)
{
	end_sessions_of_replaced_key(h, false, gateway, prefix, n);
}

void
hub__gateway_caseworker_key_replaced(hub *h, const char *caseworker,
				     const char *prefix, size_t n)
{
	end_sessions_of_replaced_key(h, true, caseworker, prefix, n);
}

void
hub__notify_listed(hub *h, const char *recipient, const char *by)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	bool desk = strcmp(recipient, h->rules.desk) == 0;
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		if (s->used && !(by && strcmp(s->caseworker, by) == 0) &&
		    (strcmp(s->caseworker, recipient) == 0 ||
		     (desk && hub__is_desk_member(h, s->caseworker))))
			s->alerts_version++;
	}
}

void
hub__notify_alerted(hub *h, const char *recipient)
{
	if (!h->gateway)
		return;
	hub__notify_listed(h, recipient, NULL);
	hub__mail_alerted(h->gateway->mail, recipient);
}

void
hub__gateway_tick(hub *h)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	/* Sessions end when their idle time runs out, not when their token
	 * is next seen (which may be never): the audit trail says when. */
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		const char *why;
		if (s->used && ended_at(h, s, LIFETIME_GRACE_MS, &why))
			end_session(h, s,
				    still_current(h, s) == SESSION_GONE
					? "revoked"
					: why);
	}
	hub__mail_tick(h, g->mail);
}

void
hub__gateway_stop(hub *h)
{
	struct hub_gateway *g = h->gateway;
	if (!g)
		return;
	/* Sessions live in memory only, so a stop ends every one of them;
	 * the audit trail says so as it does for every other end, before
	 * its last flush. A session whose time had run out already (or
	 * whose caseworker was revoked) ended for that reason. */
	for (long i = 0; i < g->max; i++) {
		web_session *s = &g->sessions[i];
		const char *why;
		if (s->used)
			end_session(h, s,
				    still_current(h, s) == SESSION_GONE
					? "revoked"
				    : ended_at(h, s, 0, &why) ? why
							      : "stopped");
	}
	hub__mail_stop(h, g->mail);
}

/* A frame of a live session the store could not be read to check: not
 * served, not audited (nothing was read or done), the session kept. An
 * AlertAck is answered as one not kept (PROTOCOL.md §4a: E_UNAVAILABLE
 * would say it is kept), anything else as every read the store cannot
 * serve now. */
static void
unchecked(hub *h, const void *routing, size_t routing_len, uint32_t request_id,
	  int kind, const char *caseworker)
{
	bool ack = kind == UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK;
	hub__log_refusal(
	    h, "HUB-WEB",
	    "web session of %s not checked: the store cannot be read; "
	    "answered %s",
	    caseworker, ack ? "E_FULL" : "E_UNAVAILABLE");
	if (ack)
		hub__delivery_answer(
		    h, routing, routing_len, request_id,
		    UNGEBRO__V1__ERROR_CODE__E_FULL,
		    "the acknowledgement was not kept: the hub cannot store "
		    "it now; send it again later");
	else
		hub__delivery_answer(
		    h, routing, routing_len, request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "the hub cannot read its store right now; retry later");
}

static const ProtobufCBinaryData *
token_of(int kind, const void *msg)
{
	switch (kind) {
	case UNGEBRO__V1__FRAME_KIND__FRAME_QUERY:
		return &((const wire_query *)msg)->session;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ACTION:
		return &((const wire_action *)msg)->session;
	case UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK:
		return &((const wire_alert_ack *)msg)->session;
	case UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT:
		return &((const wire_logout *)msg)->session;
	default:
		return NULL;
	}
}

void
hub__gateway_frame(hub *h, const void *zrouting, const void *zframe,
		   const char *gateway)
{
	zmq_msg_t *routing_msg = (zmq_msg_t *)zrouting;
	zmq_msg_t *frame = (zmq_msg_t *)zframe;
	const void *routing = zmq_msg_data(routing_msg);
	size_t routing_len = zmq_msg_size(routing_msg);
	const char *key = zmq_msg_gets(frame, HUB_KEY_PROPERTY);
	int kind = wire_peek_kind(zmq_msg_data(frame), zmq_msg_size(frame));
	int code;
	void *msg;
	ug_diag diag = {0};
	if (kind && kind != UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_QUERY &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_ACTION &&
	    kind != UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK) {
		/* A kind a gateway never sends, whatever its bytes: not
		 * unpacked, so answered with request_id 0. */
		audit(h, gateway, key ? key : "", "frame", "malformed", ONLY);
		hub__delivery_answer(h, routing, routing_len, 0,
				     UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
				     ONLY);
		return;
	}
	if (wire_decode(zmq_msg_data(frame), zmq_msg_size(frame), &kind, &msg,
			&code, &diag) != UG_OK) {
		hub__log_refusal(h, "HUB-WEB",
				 "frame from gateway %s refused: %s", gateway,
				 diag.reason);
		/* Like an undecodable frame from a caseworker's connection. */
		audit(h, gateway, key ? key : "", "frame", "malformed",
		      diag.reason);
		hub__delivery_answer(h, routing, routing_len, 0, code,
				     diag.reason);
		return;
	}
	/* Decoded: at least the 2-byte header. */
	const uint8_t *body = (const uint8_t *)zmq_msg_data(frame) + 2;
	size_t body_len = zmq_msg_size(frame) - 2;
	uint32_t request_id = wire_request_id(kind, msg);
	const ProtobufCBinaryData *token = token_of(kind, msg);
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN) {
		on_login(h, routing, routing_len, gateway, key ? key : "", msg,
			 body, body_len);
	} else if (!token || token->len == 0) {
		/* No session at all is a gateway that does not speak the
		 * protocol, not a caseworker whose login ran out: telling
		 * them to log in again would hide the bug. */
		audit(h, gateway, key ? key : "", "frame", "malformed", ONLY);
		hub__delivery_answer(h, routing, routing_len, request_id,
				     UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
				     ONLY);
	} else {
		bool changed_query =
		    kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY &&
		    ((const wire_query *)msg)->kind ==
			UNGEBRO__V1__QUERY_KIND__ALERTS_CHANGED;
		/* What a page does by itself keeps no unattended screen's
		 * session alive. A KEEP_ALIVE is activity whatever else it
		 * holds (PROTOCOL.md §4a: its other fields are ignored). */
		bool background =
		    kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY &&
		    ((const wire_query *)msg)->background &&
		    ((const wire_query *)msg)->kind !=
			UNGEBRO__V1__QUERY_KIND__KEEP_ALIVE;
		bool unknown = false;
		web_session *s = session_of(
		    h, token, gateway, key ? key : "",
		    !changed_query && !background,
		    kind == UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT, &unknown);
		/* A logout needs no check: it only ends the session. */
		bool blocked = s && unknown &&
			       kind != UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT;
		if (s && !blocked) {
			bool desk = hub__is_desk_member(h, s->caseworker);
			if (desk != s->desk) {
				s->desk = desk;
				s->alerts_version++;
			}
			h->acting_for.routing = routing;
			h->acting_for.routing_len = routing_len;
			ug_strlcpy(h->acting_for.caseworker, s->caseworker,
				   sizeof h->acting_for.caseworker);
			ug_strlcpy(h->acting_for.key, key ? key : "",
				   sizeof h->acting_for.key);
			h->acting_for.desk = desk;
			h->acting_for.idle_s =
			    (uint32_t)(h->gateway->idle_ms / 1000);
			h->acting_for.alerts_version = s->alerts_version;
		}
		if (blocked) {
			unchecked(h, routing, routing_len, request_id, kind,
				  s->caseworker);
		} else if (!s) {
			/* A token that opens nothing is recorded: a gateway
			 * guessing tokens shows in the audit trail. */
			audit(h, gateway, key ? key : "", "frame", "refused",
			      "no live web session with that token");
			hub__delivery_answer(
			    h, routing, routing_len, request_id,
			    UNGEBRO__V1__ERROR_CODE__E_UNAUTHENTICATED, ENDED);
		} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT) {
			const char *why = "logout";
			bool aged = ended_at(h, s, 0, &why) &&
				    strcmp(why, "lifetime") == 0;
			end_session(h, s,
				    ((const wire_logout *)msg)->lifetime ||
					    aged
					? "lifetime"
					: "logout");
			hub__delivery_answer(h, routing, routing_len,
					     request_id,
					     UNGEBRO__V1__ERROR_CODE__OK, "");
		} else if (changed_query) {
			answer_version(h, routing, routing_len, request_id, s);
		} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY &&
			   ((const wire_query *)msg)->kind ==
			       UNGEBRO__V1__QUERY_KIND__KEEP_ALIVE) {
			/* Finding the session touched it: that is all. */
			hub__delivery_answer(h, routing, routing_len,
					     request_id,
					     UNGEBRO__V1__ERROR_CODE__OK, "");
		} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY) {
			hub__query(h, routing, routing_len, s->caseworker, msg,
				   body, body_len);
		} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ACTION) {
			hub__action(h, routing, routing_len, s->caseworker,
				    msg, body, body_len);
		} else {
			on_ack(h, routing, routing_len, s->caseworker, msg,
			       body, body_len);
		}
		h->acting_for.routing = NULL;
	}
	wire_free(kind, msg);
}
