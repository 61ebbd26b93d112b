/*
 * The web inbox's pages. Every page that shows personal data asks the hub,
 * in the caseworker's session, for exactly what it shows; the hub decides
 * what the caseworker may see and records it in the audit trail. CPR
 * numbers never appear in a URL (a timeline is asked for with a POST), so
 * proxies' access logs hold alert ids at most.
 *
 * Cookies: ug_session (the hub's session token, hex), ug_pre (a random
 * value the login form's CSRF token is tied to) and ug_lang; all HttpOnly
 * and SameSite=Strict, Secure behind TLS. Every form carries a CSRF token,
 * a keyed hash of the session (or of ug_pre) under a key webd draws at
 * start, and every POST without the right one is refused 403.
 */
#include "web/webd_int.h"

ug_err
webd_new(webd **out, const webd_opts *opts)
{
	webd *w = calloc(1, sizeof *w);
	if (!w)
		return UG_ENOMEM;
	w->opts = *opts;
	/* Tokens are secrets: off swap, wiped at exit. */
	w->sessions =
	    sodium_allocarray((size_t)opts->sessions_max, sizeof *w->sessions);
	if (!w->sessions) {
		free(w);
		return UG_ENOMEM;
	}
	memset(w->sessions, 0,
	       (size_t)opts->sessions_max * sizeof *w->sessions);
	w->streams =
	    sodium_allocarray((size_t)opts->streams_max, sizeof *w->streams);
	if (!w->streams) {
		sodium_free(w->sessions);
		free(w);
		return UG_ENOMEM;
	}
	memset(w->streams, 0, (size_t)opts->streams_max * sizeof *w->streams);
	randombytes_buf(w->csrf_key, sizeof w->csrf_key);
	*out = w;
	return UG_OK;
}

void
webd_destroy(webd **wp)
{
	if (!wp || !*wp)
		return;
	sodium_free((*wp)->sessions);
	sodium_free((*wp)->streams);
	sodium_memzero((*wp)->csrf_key, sizeof(*wp)->csrf_key);
	free(*wp);
	*wp = NULL;
}

/* ---- sessions and tokens ---- */

/* Hex from a cookie, a form or a URL; absent reads as malformed. */
bool
webd__unhex(const char *hex, uint8_t *out, size_t len)
{
	return hex && ug_unhex(hex, out, len) == UG_OK;
}

web_session *
webd__session_find(webd *w, const char *cookie)
{
	uint8_t token[TOKEN_LEN];
	if (!webd__unhex(cookie, token, sizeof token))
		return NULL;
	web_session *found = NULL;
	for (long i = 0; i < w->opts.sessions_max; i++)
		if (w->sessions[i].used &&
		    sodium_memcmp(w->sessions[i].token, token, TOKEN_LEN) == 0)
			found = &w->sessions[i];
	sodium_memzero(token, sizeof token);
	return found;
}

web_session *
webd__session_add(webd *w, const uint8_t *token, const char *caseworker,
		  bool desk)
{
	web_session *slot = &w->sessions[0];
	for (long i = 0; i < w->opts.sessions_max; i++) {
		if (!w->sessions[i].used) {
			slot = &w->sessions[i];
			break;
		}
		if (w->sessions[i].last < slot->last)
			slot = &w->sessions[i];
	}
	memset(slot, 0, sizeof *slot);
	slot->used = true;
	memcpy(slot->token, token, TOKEN_LEN);
	ug_strlcpy(slot->caseworker, caseworker, sizeof slot->caseworker);
	slot->desk = desk;
	slot->last = ++w->uses;
	slot->active = ug_mono_ms();
	slot->born = slot->active;
	return slot;
}

void
webd__csrf_of(const webd *w, const char *purpose, const void *bound,
	      size_t len, char out[2 * CSRF_LEN + 1])
{
	uint8_t mac[CSRF_LEN];
	crypto_generichash_state st;
	crypto_generichash_init(&st, w->csrf_key, sizeof w->csrf_key,
				sizeof mac);
	crypto_generichash_update(&st, (const uint8_t *)purpose,
				  strlen(purpose) + 1);
	crypto_generichash_update(&st, bound, len);
	crypto_generichash_final(&st, mac, sizeof mac);
	ug_hex(mac, sizeof mac, out);
}

bool
webd__csrf_ok(const char *expected, const char *given)
{
	return strlen(given) == 2 * CSRF_LEN &&
	       sodium_memcmp(expected, given, 2 * CSRF_LEN) == 0;
}

/* libmicrohttpd's own messages quote the request's path, which a client
 * may fill with a CPR: they go through webd's log, which keeps them to
 * one line and masks CPR numbers, instead of straight to stderr. The
 * message is taken whole, longer than a log line: the log masks a CPR
 * before it cuts the line, and a cut made here first, inside a CPR,
 * would have left its first digits to the log unmasked. */
void
webd_mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char text[4096];
	vsnprintf(text, sizeof text, fmt, ap);
	text[strcspn(text, "\n")] = '\0';
	log_warn("WEB-HTTP", "%s", text);
}

/* ---- responses ---- */

/* Scripts only from webd itself (/static/live.js), never inline. */
static const char CSP[] = "default-src 'self'; script-src 'self'; "
			  "connect-src 'self'; form-action 'self'; "
			  "frame-ancestors 'none'; base-uri 'none'; "
			  "object-src 'none'";

void
webd__cookie(ctx *x, struct MHD_Response *r, const char *name,
	     const char *value, enum cookie_life life)
{
	char line[256];
	/* The attributes in the order SECURITY.md writes them. */
	snprintf(line, sizeof line,
		 "%s=%s; HttpOnly; SameSite=Strict; Path=/%s%s", name, value,
		 x->w->opts.behind_tls ? "; Secure" : "",
		 life == COOKIE_CLEAR  ? "; Max-Age=0"
		 : life == COOKIE_YEAR ? "; Max-Age=31536000"
				       : "");
	MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, line);
}

enum MHD_Result
webd__send_response(ctx *x, unsigned status, struct MHD_Response *r,
		    const char *type)
{
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, "Content-Security-Policy", CSP);
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "X-Frame-Options", "DENY");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	/* Redirects and refusals too: one that sets the session cookie, or
	 * answers for a session, must not be kept by a cache either. Only
	 * the static script says otherwise. */
	if (!MHD_get_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
					"no-store");
	if (x->set_lang)
		webd__cookie(x, r, "ug_lang", x->lang == LANG_EN ? "en" : "da",
			     COOKIE_YEAR);
	enum MHD_Result ok = MHD_queue_response(x->c, status, r);
	MHD_destroy_response(r);
	return ok;
}

enum MHD_Result
webd__send_page(ctx *x, unsigned status, web_buf *b)
{
	return webd__send_page_cookie(x, status, b, NULL, NULL);
}

/* The page with a cookie of the browser's session set beside it (name
 * NULL: none). */
enum MHD_Result
webd__send_page_cookie(ctx *x, unsigned status, web_buf *b, const char *name,
		       const char *value)
{
	size_t len;
	char *data = web_take(b, &len);
	if (!data) {
		static const char oom[] = "out of memory";
		struct MHD_Response *r = MHD_create_response_from_buffer(
		    sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
		return webd__send_response(x, 500, r,
					   "text/plain; charset=utf-8");
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	/* Pages hold personal data: no copy in any cache. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (name)
		webd__cookie(x, r, name, value, COOKIE_SESSION);
	return webd__send_response(x, status, r, "text/html; charset=utf-8");
}

struct MHD_Response *
webd__empty_response(void)
{
	return MHD_create_response_from_buffer(0, (void *)"",
					       MHD_RESPMEM_PERSISTENT);
}

enum MHD_Result
webd__redirect(ctx *x, const char *where, struct MHD_Response *r)
{
	if (!r)
		r = webd__empty_response();
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, where);
	return webd__send_response(x, 303, r, "text/plain; charset=utf-8");
}

/* ---- dispatch ---- */

static enum web_lang
pick_lang(ctx *x)
{
	const char *q =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "lang");
	if (q && (strcmp(q, "en") == 0 || strcmp(q, "da") == 0)) {
		x->set_lang = true;
		return strcmp(q, "en") == 0 ? LANG_EN : LANG_DA;
	}
	const char *c =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_lang");
	return c && strcmp(c, "en") == 0 ? LANG_EN : LANG_DA;
}

/* "/alert/HEX" and "/alert/HEX/SUFFIX": the hex id (18 chars). Anything
 * else there is no alert's page, but a page that does not exist. */
static bool
alert_path(const char *url, char hexid[2 * WIRE_ALERT_ID_LEN + 1],
	   const char **suffix)
{
	if (strncmp(url, "/alert/", 7) != 0)
		return false;
	const char *p = url + 7;
	size_t n = strcspn(p, "/");
	if (n != 2 * WIRE_ALERT_ID_LEN ||
	    strspn(p, "0123456789abcdefABCDEF") < n)
		return false;
	memcpy(hexid, p, n);
	hexid[n] = '\0';
	*suffix = p + n;
	return true;
}

/* The pages a GET may ask for in a session (the login page and the
 * static files are served before any session is looked at). */
static bool
known_page(const char *url, char hexid[2 * WIRE_ALERT_ID_LEN + 1],
	   const char **suffix)
{
	static const char *const pages[] = {
	    "/",	 "/alerts", "/alerts/list", "/events",
	    "/timeline", "/logout", "/session"};
	for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++)
		if (strcmp(url, pages[i]) == 0)
			return true;
	return alert_path(url, hexid, suffix) &&
	       (!**suffix || strcmp(*suffix, "/ack") == 0 ||
		strcmp(*suffix, "/action") == 0);
}

static enum MHD_Result
static_file(ctx *x, const char *data, size_t len, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, (void *)data, MHD_RESPMEM_PERSISTENT);
	if (r)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
					"max-age=3600");
	/* A cached answer is the same for everyone: it sets no cookie,
	 * whatever ?lang= asked for. */
	x->set_lang = false;
	return webd__send_response(x, 200, r, type);
}

/* A request in a session past session_lifetime (already ended at the
 * hub). What scripts ask for (the page's count, the live list, "stay
 * logged in") gets 401, as for any ended session, and the session is
 * kept, so that the page they leave for still says why; a page or a
 * form forgets it, clears the cookie and goes to the login page that
 * says so. */
static enum MHD_Result
lifetime_ended(ctx *x, const char *url, bool post)
{
	if (strcmp(url, "/session") == 0 ||
	    (!post && (strcmp(url, "/events") == 0 ||
		       strcmp(url, "/alerts/list") == 0))) {
		x->s = NULL;
		return webd__send_response(x, 401, webd__empty_response(),
					   "text/plain; charset=utf-8");
	}
	web_session *s = webd__session_find(
	    x->w,
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_session"));
	if (s)
		memset(s, 0, sizeof *s);
	x->s = NULL;
	struct MHD_Response *r = webd__empty_response();
	if (r)
		webd__cookie(x, r, "ug_session", "", COOKIE_CLEAR);
	return webd__redirect(x, "/login?ended=lifetime", r);
}

static enum MHD_Result
route(ctx *x, const char *url, bool post, form *f)
{
	if (!post && strcmp(url, "/static/app.css") == 0)
		return static_file(x, webd__app_css, webd__app_css_len,
				   "text/css; charset=utf-8");
	if (!post && strcmp(url, "/static/live.js") == 0)
		return static_file(x, webd__live_js, webd__live_js_len,
				   "text/javascript; charset=utf-8");
	if (strcmp(url, "/login") == 0) {
		if (post)
			return webd__do_login(x, f);
		/* A page left open counts down to /login?ended=1 at
		 * session_lifetime as at the idle end: told which it was. */
		web_session *gone = webd__session_find(
		    x->w, MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND,
						      "ug_session"));
		if (gone && !gone->expired &&
		    ug_mono_ms() - gone->born >= x->w->opts.lifetime_ms)
			webd__sessions_expire(x->w);
		if (gone && gone->expired)
			return lifetime_ended(x, url, false);
		const char *ended = MHD_lookup_connection_value(
		    x->c, MHD_GET_ARGUMENT_KIND, "ended");
		const char *out = MHD_lookup_connection_value(
		    x->c, MHD_GET_ARGUMENT_KIND, "out");
		if (out)
			return webd__login_page(x, 200, NULL,
						T(x, T_LOGGED_OUT));
		if (ended && strcmp(ended, "lifetime") == 0)
			return webd__login_page(x, 200, NULL,
						T(x, T_LIFETIME));
		return webd__login_page(x, 200, NULL,
					ended ? T(x, T_ENDED) : NULL);
	}
	const char *cookie_value =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_session");
	x->s = webd__session_find(x->w, cookie_value);
	/* Checked here too, not only at the next tick: no request is
	 * answered in a session past its lifetime. */
	if (x->s && !x->s->expired &&
	    ug_mono_ms() - x->s->born >= x->w->opts.lifetime_ms)
		webd__sessions_expire(x->w);
	if (x->s && x->s->expired)
		return lifetime_ended(x, url, post);
	char hexid[2 * WIRE_ALERT_ID_LEN + 1];
	const char *suffix;
	/* A page that does not exist is 404 for anyone: logging in would
	 * not make it exist (a browser's /favicon.ico included). */
	if (!x->s && !post && !known_page(url, hexid, &suffix))
		return webd__simple_page(x, 404, T(x, T_TITLE_NOT_FOUND),
					 T(x, T_NOT_FOUND));
	if (!x->s) {
		/* Refused and not done; most often a session that ended
		 * while its page was open: the login page it is titled as,
		 * with its form, not a dead end. */
		if (post)
			return webd__login_page(x, 403, T(x, T_NOT_LOGGED_IN),
						NULL);
		/* What scripts ask for gets a status, not a login page. */
		if (strcmp(url, "/events") == 0 ||
		    strcmp(url, "/alerts/list") == 0 ||
		    strcmp(url, "/session") == 0)
			return webd__send_response(
			    x, 401, webd__empty_response(),
			    "text/plain; charset=utf-8");
		return webd__redirect(x, "/login", NULL);
	}
	x->s->last = ++x->w->uses;
	webd__csrf_of(x->w, "session", x->s->token, TOKEN_LEN, x->csrf);
	if (post && !webd__csrf_ok(x->csrf, webd__form_get(f, "csrf"))) {
		log_warn("WEB-CSRF",
			 "POST %s without a valid CSRF token "
			 "refused",
			 url);
		return webd__simple_page(x, 403, T(x, T_TITLE_REFUSED),
					 T(x, T_FORBIDDEN));
	}
	if (strcmp(url, "/") == 0 && !post)
		return webd__redirect(x, "/alerts", NULL);
	if ((strcmp(url, "/alerts") == 0 ||
	     strcmp(url, "/alerts/list") == 0) &&
	    !post)
		return webd__alerts_page(
		    x,
		    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND,
						"from"),
		    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND,
						"msg"),
		    strcmp(url, "/alerts/list") == 0);
	if (strcmp(url, "/events") == 0 && !post)
		return webd__events(x);
	if (strcmp(url, "/session") == 0)
		return post ? webd__do_keep_alive(x) : webd__session_json(x);
	if (strcmp(url, "/timeline") == 0)
		return webd__timeline_page(x, post ? f : NULL);
	if (strcmp(url, "/logout") == 0 && post)
		return webd__do_logout(x);
	/* Never a logout (another site could link to it): the language
	 * link of a refused logout form leads back to the list. */
	if (strcmp(url, "/logout") == 0)
		return webd__redirect(x, "/alerts", NULL);
	if (alert_path(url, hexid, &suffix)) {
		if (!post && !*suffix)
			return webd__alert_page(
			    x, hexid,
			    MHD_lookup_connection_value(
				x->c, MHD_GET_ARGUMENT_KIND, "msg"),
			    NULL, 200, NULL);
		/* A page answering a form's POST has the form's address, so
		 * its language link ("?lang=en") comes back here as a GET. */
		if (!post && (strcmp(suffix, "/ack") == 0 ||
			      strcmp(suffix, "/action") == 0)) {
			char where[64];
			snprintf(where, sizeof where, "/alert/%s", hexid);
			return webd__redirect(x, where, NULL);
		}
		if (post && strcmp(suffix, "/ack") == 0)
			return webd__do_ack(x, hexid, f);
		if (post && strcmp(suffix, "/action") == 0)
			return webd__do_action(x, hexid, f);
	}
	return webd__simple_page(x, 404, T(x, T_TITLE_NOT_FOUND),
				 T(x, T_NOT_FOUND));
}

enum MHD_Result
webd_handle(void *cls, struct MHD_Connection *c, const char *url,
	    const char *method, const char *version, const char *upload_data,
	    size_t *upload_size, void **state)
{
	(void)version;
	webd *w = cls;
	bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
	bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
		   strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
	request *req = *state;
	if (!req) {
		req = calloc(1, sizeof *req);
		if (!req)
			return MHD_NO;
		*state = req;
		/* A client that waits for "100 Continue" before sending a
		 * body announced over the limit is answered 413 at once,
		 * the body never sent. Any other client's body is read to
		 * its end first: answered and closed before that, it would
		 * meet a reset while still sending, and never see the 413. */
		const char *announced = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		const char *expect = MHD_lookup_connection_value(
		    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
		if (post && announced && expect &&
		    strcasecmp(expect, "100-continue") == 0 &&
		    strtoull(announced, NULL, 10) > BODY_MAX)
			req->too_large = true;
		/* Only forms are decoded (url-encoded or multipart); a body of
		 * another type is read as empty, so its CSRF check fails. */
		else if (post) {
			req->pp = MHD_create_post_processor(
			    c, FORM_DECODE_BUF, webd__form_field, &req->f);
			return MHD_YES; /* the body follows */
		}
	}
	if (post && *upload_size) {
		req->len += *upload_size;
		if (req->len > BODY_MAX)
			req->too_large = true;
		else if (req->pp && MHD_post_process(req->pp, upload_data,
						     *upload_size) != MHD_YES)
			webd__form_refuse(req);
		*upload_size = 0;
		return MHD_YES;
	}
	/* The decoder holds a url-encoded form's last value until it is
	 * told the body has ended. */
	if (req->pp) {
		enum MHD_Result whole = MHD_destroy_post_processor(req->pp);
		req->pp = NULL;
		if (whole != MHD_YES)
			webd__form_refuse(req);
	}
	ctx x = {.w = w,
		 .c = c,
		 .head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0,
		 .url = url};
	x.lang = pick_lang(&x);
	if (!post && !get) {
		struct MHD_Response *r = webd__empty_response();
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
						"GET, HEAD, POST");
		return webd__send_response(&x, 405, r,
					   "text/plain; charset=utf-8");
	}
	if (req->too_large) {
		/* Most often a long text pasted into a form of a session:
		 * the answer is a page of that session like any (its menu,
		 * "Log ud", live.js's warning before the idle end). Nothing
		 * is done, so the hub is not asked. */
		web_session *s = webd__session_find(
		    w, MHD_lookup_connection_value(c, MHD_COOKIE_KIND,
						   "ug_session"));
		/* Past session_lifetime it is that session's next request,
		 * told so as any other (a form: /login?ended=lifetime), not
		 * a page of a session that has ended. */
		if (s && !s->expired &&
		    ug_mono_ms() - s->born >= w->opts.lifetime_ms)
			webd__sessions_expire(w);
		if (s && s->expired)
			return lifetime_ended(&x, url, post);
		if (s && !s->over &&
		    ug_mono_ms() - s->born < w->opts.lifetime_ms) {
			x.s = s;
			s->last = ++w->uses;
			webd__csrf_of(w, "session", s->token, TOKEN_LEN,
				      x.csrf);
		}
		return webd__simple_page(&x, 413, T(&x, T_TITLE_TOO_LARGE),
					 T(&x, T_TOO_LARGE));
	}
	enum MHD_Result rc = route(&x, url, post, &req->f);
	/* The password is in the form: wiped once answered. */
	webd__form_free(&req->f);
	return rc;
}

void
webd_completed(void *cls, struct MHD_Connection *c, void **state,
	       enum MHD_RequestTerminationCode why)
{
	(void)cls;
	(void)c;
	(void)why;
	request *req = *state;
	if (!req)
		return;
	if (req->pp)
		MHD_destroy_post_processor(req->pp);
	webd__form_free(&req->f);
	free(req);
	*state = NULL;
}
