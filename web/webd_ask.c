/*
 * Asking the hub in the caseworker's session, and what webd shows
 * when the hub says no: the session ended, too many requests, the store
 * unreadable.
 */
#include "web/webd_int.h"

/* The session ended at the hub: forget it and send the user to log in. */
enum MHD_Result
webd__session_ended(ctx *x)
{
	/* hubd ends a session at its lifetime by its own clock, which may
	 * run a moment ahead of webd's count from the same login: a session
	 * that close to its lifetime ended by it, and the user is told so. */
	bool lifetime =
	    x->s && ug_mono_ms() - x->s->born + LIFETIME_CLOCKS_APART_MS >=
			x->w->opts.lifetime_ms;
	if (x->s)
		memset(x->s, 0, sizeof *x->s);
	x->s = NULL;
	struct MHD_Response *r = webd__empty_response();
	if (r)
		webd__cookie(x, r, "ug_session", "", COOKIE_CLEAR);
	return webd__redirect(
	    x, lifetime ? "/login?ended=lifetime" : "/login?ended=1", r);
}

/* Every frame sent through here in a session (not the live list's
 * ALERTS_CHANGED polls, which do not) restarts the session's idle time at
 * the hub; an answer that names the caseworker says it did. */
wire_result *
webd__ask(ctx *x, int kind, void *msg, uint32_t request_id)
{
	int64_t sent = ug_mono_ms();
	wire_result *r = hubconn_call(x->w->opts.hub, kind, msg, request_id);
	if (x->s && !x->background && r && r->caseworker && r->caseworker[0] &&
	    r->session_idle) {
		x->s->active = sent;
		x->s->idle_ms = (int64_t)r->session_idle * 1000;
	}
	return r;
}

/* The session is over at the hub: it says so, or it refuses this
 * gateway's key (revoke-gateway, or its key replaced), which ends every
 * session opened through it: on the connection it has (a frame's
 * refusal) or at the handshake of a new one (a hubd started since; no
 * answer then, but no session through this key can be alive either).
 * The hub is there, so it is no "the hub does not answer"; nor, for a
 * timeline or an action, another's person or alert (E_DENIED too, but
 * with the key's reason). */
bool
webd__unauthenticated(const webd *w, const wire_result *r)
{
	if (!r)
		return hubconn_refused(w->opts.hub);
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED && r->reason &&
	    strcmp(r->reason, WIRE_REASON_KEY_REVOKED) == 0) {
		log_warn("WEB-HUB", "request refused: the hub refuses this "
				    "gateway's key (revoked or replaced: "
				    "hubctl register-gateway); its session "
				    "ended");
		return true;
	}
	return r->code == UNGEBRO__V1__ERROR_CODE__E_UNAUTHENTICATED;
}

/* A query the hub answered by refusing it: the caseworker asked more
 * than query_rate / query_burst allow. The hub is there; waiting helps.
 * The hub answers a store it cannot read with the same code; only the
 * reason (PROTOCOL.md §4, Limits) tells them apart. */
bool
webd__too_fast(const wire_result *r)
{
	return r && r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE &&
	       r->reason && strncmp(r->reason, "too many queries", 16) == 0;
}

/* A query the hub answered E_UNAVAILABLE for another reason: it cannot
 * read its store (a record that does not open). Waiting a moment does not
 * mend that, so the caseworker is told to call operations, who find the
 * record in hubd's log; webd's own log says which page it was. */
bool
webd__unreadable_store(ctx *x, const wire_result *r, const char *page)
{
	if (!r || r->code != UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE ||
	    webd__too_fast(r))
		return false;
	log_warn("WEB-HUB", "%s page for %s not shown: %s", page,
		 x->s ? x->s->caseworker : "-",
		 r->reason ? r->reason : "(no reason)");
	return true;
}

/* The page for a query that failed: 429 when the hub refused it as one
 * too many, else 503 (no answer, one that is no answer to it, or a store
 * the hub cannot read, each with its own words). */
enum MHD_Result
webd__query_failed(ctx *x, const wire_result *r, const char *title,
		   const char *page)
{
	if (webd__too_fast(r))
		return webd__simple_page(x, 429, title, T(x, T_TOO_FAST));
	if (webd__unreadable_store(x, r, page))
		return webd__simple_page(x, 503, title,
					 T(x, T_STORE_UNREADABLE));
	return webd__simple_page(x, 503, title, T(x, T_HUB_DOWN));
}

void
webd__free_result(wire_result *r)
{
	if (r)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_RESULT, r);
}

/* alert_id: OPEN_ALERTS for that alert alone (NULL: the list). */
wire_result *
webd__query_of(ctx *x, int kind, const char *cpr, uint32_t limit,
	       uint32_t offset, const uint8_t *alert_id)
{
	wire_query q = UNGEBRO__V1__QUERY__INIT;
	q.request_id = hubconn_next_id(x->w->opts.hub);
	q.kind = kind;
	q.cpr = (char *)(cpr ? cpr : "");
	q.limit = limit;
	q.offset = offset;
	q.session.data = x->s->token;
	q.session.len = TOKEN_LEN;
	q.background = x->background;
	if (alert_id) {
		q.alert_id.data = (uint8_t *)alert_id;
		q.alert_id.len = WIRE_ALERT_ID_LEN;
	}
	return webd__ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_QUERY, &q,
			 q.request_id);
}

wire_result *
webd__query(ctx *x, int kind, const char *cpr, uint32_t limit, uint32_t offset)
{
	return webd__query_of(x, kind, cpr, limit, offset, NULL);
}
