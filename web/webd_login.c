/*
 * Logging in and out, and the session's idle time (GET and POST
 * /session): where a webd session begins and ends.
 */
#include "web/webd_int.h"

enum MHD_Result
webd__login_page(ctx *x, unsigned status, const char *error,
		 const char *notice)
{
	/* The login form's CSRF token is tied to a random cookie: another
	 * site cannot log a browser in to an account of its choosing. */
	const char *pre =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_pre");
	char fresh[33];
	uint8_t raw[16];
	bool new_pre = !pre || strlen(pre) != 32 || !webd__unhex(pre, raw, 16);
	if (new_pre) {
		randombytes_buf(raw, sizeof raw);
		ug_hex(raw, sizeof raw, fresh);
		pre = fresh;
	}
	char csrf[2 * CSRF_LEN + 1];
	webd__csrf_of(x->w, "login", pre, 32, csrf);
	web_buf b = {0};
	x->s = NULL;
	webd__page_head(x, &b, T(x, T_LOGIN));
	web_add(&b, "<h1>");
	web_esc(&b, T(x, T_LOGIN));
	web_add(&b, "</h1>");
	if (notice)
		webd__message(&b, "msg", notice, NULL);
	if (error)
		webd__message(&b, "err", error, NULL);
	web_add(&b, "<form method=\"post\" action=\"/login\" class=\"card\">"
		    "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_esc(&b, csrf);
	web_add(&b, "\"><label for=\"caseworker\">");
	web_esc(&b, T(x, T_CASEWORKER));
	web_add(&b,
		"</label><input id=\"caseworker\" name=\"caseworker\" "
		"autocomplete=\"username\" required autocapitalize=\"none\">"
		"<label for=\"password\">");
	web_esc(&b, T(x, T_PASSWORD));
	web_add(&b, "</label><input id=\"password\" name=\"password\" "
		    "type=\"password\" autocomplete=\"current-password\" "
		    "required><button type=\"submit\" id=\"login\">");
	web_esc(&b, T(x, T_LOGIN));
	web_add(&b, "</button></form>");
	webd__page_end(x, &b);
	return webd__send_page_cookie(x, status, &b, new_pre ? "ug_pre" : NULL,
				      pre);
}

static void session_logout(ctx *x, web_session *s);

enum MHD_Result
webd__do_login(ctx *x, const form *f)
{
	const char *pre =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_pre");
	char csrf[2 * CSRF_LEN + 1];
	/* Most often an honest form gone stale (webd restarted while it was
	 * open, or the browser closed with it): the form again, with a
	 * token that fits, so logging in needs no back button and reload. */
	if (!pre || strlen(pre) != 32)
		return webd__login_page(x, 403, T(x, T_LOGIN_EXPIRED), NULL);
	webd__csrf_of(x->w, "login", pre, 32, csrf);
	if (!webd__csrf_ok(csrf, webd__form_get(f, "csrf")))
		return webd__login_page(x, 403, T(x, T_LOGIN_EXPIRED), NULL);
	wire_login l = UNGEBRO__V1__LOGIN__INIT;
	l.request_id = hubconn_next_id(x->w->opts.hub);
	/* hubd ends the session then too, should this gateway's key leak
	 * or its Logout never arrive. */
	l.lifetime = (uint32_t)(x->w->opts.lifetime_ms / 60000);
	/* An id pasted with a blank around it is still the id: refused, it
	 * would count as a failed login of a name that is none. */
	char caseworker[UG_ID_MAX] = "";
	const char *typed = webd__form_get(f, "caseworker");
	if (typed) {
		typed += strspn(typed, " \t");
		size_t len = strlen(typed);
		while (len &&
		       (typed[len - 1] == ' ' || typed[len - 1] == '\t'))
			len--;
		if (len < sizeof caseworker)
			memcpy(caseworker, typed, len);
		else
			ug_strlcpy(caseworker, "-", sizeof caseworker);
	}
	l.caseworker = caseworker;
	l.password = (char *)webd__form_get(f, "password");
	/* Sent on as text, what comes before a NUL byte (%00) would be
	 * checked, yet a password with one is not the password and an id
	 * with one is no id. The hub is still asked, with what it refuses
	 * after the same work as any wrong login (no id; a password over its
	 * 1,024 bytes), so the refusal is counted and audited like one. */
	char too_long[1026];
	if (webd__form_has_nul(f, "caseworker"))
		l.caseworker = "-";
	if (webd__form_has_nul(f, "password")) {
		memset(too_long, 'x', sizeof too_long - 1);
		too_long[sizeof too_long - 1] = '\0';
		l.password = too_long;
	}
	/* The session this browser holds (another caseworker's at a shared
	 * desk, or an earlier one): the hub ends it once the password is
	 * right, before it seeks a place for the new one, so that a full
	 * table (web_sessions_max) ends no one else's for this login. */
	web_session *before = webd__session_find(
	    x->w,
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_session"));
	if (before && !before->expired) {
		l.replaces.data = before->token;
		l.replaces.len = TOKEN_LEN;
	}
	wire_result *r = webd__ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN, &l,
				   l.request_id);
	/* Refused at the handshake (webd started before the gateway was
	 * registered, or after a revoke), the hub is there all the same:
	 * the caseworker is told what the hub's refusal of a frame tells. */
	if (!r && hubconn_refused(x->w->opts.hub))
		return webd__login_page(x, 503, T(x, T_GATEWAY_REFUSED), NULL);
	/* Another hub's hub.key: a handshake that no retry can mend. */
	if (!r && hubconn_handshake_failed(x->w->opts.hub))
		return webd__login_page(x, 503, T(x, T_HUB_KEY_WRONG), NULL);
	/* The form again, as for a wrong password: trying again in a
	 * moment must not need the back button and a reload. */
	if (!r)
		return webd__login_page(x, 503, T(x, T_HUB_DOWN), NULL);
	/* The hub refusing this gateway's key (revoked or replaced) is not
	 * the caseworker's fault: it says so by its reason (an older hub by
	 * a refusal without our request id). */
	if (r->code != UNGEBRO__V1__ERROR_CODE__OK &&
	    (r->request_id == 0 ||
	     (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED && r->reason &&
	      strcmp(r->reason, WIRE_REASON_KEY_REVOKED) == 0))) {
		webd__free_result(r);
		log_warn("WEB-LOGIN", "the hub refuses this gateway's key");
		return webd__login_page(x, 503, T(x, T_GATEWAY_REFUSED), NULL);
	}
	/* Not a refusal of what was typed: the hub could not check it. */
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE && r->reason &&
	    strncmp(r->reason, "the hub cannot read its store", 29) == 0) {
		webd__free_result(r);
		log_warn("WEB-LOGIN", "login not checked: the hub cannot read "
				      "its store");
		return webd__login_page(x, 503, T(x, T_STORE_UNREADABLE),
					NULL);
	}
	if (r->code != UNGEBRO__V1__ERROR_CODE__OK ||
	    r->session.len != TOKEN_LEN || !r->caseworker) {
		bool limited =
		    r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE;
		webd__free_result(r);
		log_info("WEB-LOGIN", "login refused");
		return webd__login_page(x, limited ? 429 : 401,
					T(x, limited ? T_LIMITED : T_WRONG),
					NULL);
	}
	/* The session this browser held ended at the hub with the login
	 * (replaces): a login never leaves one alive that no browser will
	 * log out. Here it is forgotten, its streams ended. */
	if (before && !before->expired) {
		log_info("WEB-LOGIN", "%s logged out", before->caseworker);
		webd__streams_end(x->w, before->token);
	}
	if (before)
		memset(before, 0, sizeof *before);
	web_session *s =
	    webd__session_add(x->w, r->session.data, r->caseworker, r->desk);
	s->idle_ms = (int64_t)r->session_idle * 1000;
	char hex[TOKEN_HEX + 1];
	ug_hex(r->session.data, TOKEN_LEN, hex);
	webd__free_result(r);
	log_info("WEB-LOGIN", "%s logged in", s->caseworker);
	struct MHD_Response *resp = webd__empty_response();
	if (resp)
		webd__cookie(x, resp, "ug_session", hex, COOKIE_SESSION);
	sodium_memzero(hex, sizeof hex);
	return webd__redirect(x, "/alerts", resp);
}

/* Ends the session at the hub (recorded there as a logout) and here,
 * with its live-update streams. */
static void
session_logout(ctx *x, web_session *s)
{
	wire_logout l = UNGEBRO__V1__LOGOUT__INIT;
	l.request_id = hubconn_next_id(x->w->opts.hub);
	l.session.data = s->token;
	l.session.len = TOKEN_LEN;
	webd__free_result(webd__ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT,
				    &l, l.request_id));
	log_info("WEB-LOGIN", "%s logged out", s->caseworker);
	webd__streams_end(x->w, s->token);
	memset(s, 0, sizeof *s);
}

enum MHD_Result
webd__do_logout(ctx *x)
{
	session_logout(x, x->s);
	x->s = NULL;
	struct MHD_Response *r = webd__empty_response();
	if (r)
		webd__cookie(x, r, "ug_session", "", COOKIE_CLEAR);
	return webd__redirect(x, "/login?out=1", r);
}

enum MHD_Result
webd__session_json(ctx *x)
{
	/* A page asks with its own token: the cookie may hold another
	 * session since (a login in another tab of the browser, which ended
	 * the page's), and the page must leave as for any session ended. */
	const char *page =
	    MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, "X-CSRF-Token");
	if (page && !webd__csrf_ok(x->csrf, page))
		return webd__send_response(x, 401, webd__empty_response(),
					   "text/plain; charset=utf-8");
	long warn, left = webd__idle_left(x->w, x->s, &warn);
	char body[64];
	int n = snprintf(body, sizeof body, "{\"left\":%ld,\"warn\":%ld}\n",
			 left, warn);
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    (size_t)n, body, MHD_RESPMEM_MUST_COPY);
	return webd__send_response(x, 200, r, "application/json");
}

/* POST /session, the warning's "stay logged in": one KEEP_ALIVE, which
 * restarts the idle time at the hub and reads nothing. A script asks, so
 * the answer is a status and the seconds left, never a page. */
enum MHD_Result
webd__do_keep_alive(ctx *x)
{
	wire_result *r =
	    webd__query(x, UNGEBRO__V1__QUERY_KIND__KEEP_ALIVE, NULL, 0, 0);
	bool ended = webd__unauthenticated(x->w, r);
	bool ok = r && r->code == UNGEBRO__V1__ERROR_CODE__OK;
	webd__free_result(r);
	if (ended) {
		webd__streams_end(x->w, x->s->token);
		memset(x->s, 0, sizeof *x->s);
		x->s = NULL;
		struct MHD_Response *resp = webd__empty_response();
		if (resp)
			webd__cookie(x, resp, "ug_session", "", COOKIE_CLEAR);
		return webd__send_response(x, 401, resp,
					   "text/plain; charset=utf-8");
	}
	if (!ok)
		return webd__send_response(x, 503, webd__empty_response(),
					   "text/plain; charset=utf-8");
	return webd__session_json(x);
}
