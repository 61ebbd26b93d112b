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
#include "web/webd.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"
#include "web/html.h"
#include "web/text.h"

#define TOKEN_LEN	 32
#define TOKEN_HEX	 (2 * TOKEN_LEN)
#define CSRF_LEN	 16
#define BODY_MAX	 (16 * 1024) /* a form is far smaller */
#define FIELDS_MAX	 16
#define WEB_ACK_NOTE_MAX 200 /* bytes the hub keeps of one (PROTOCOL.md) */
/* How far hubd's count of a session's lifetime may run ahead of webd's. */
#define LIFETIME_CLOCKS_APART_MS 2000
#define ALERT_PAGE		 50 /* the hub's largest OPEN_ALERTS page */
#define ALERT_PAGES		 100 /* 5,000 open alerts: what the hub orders */
#define TIMELINE_PAGE		 400 /* the hub's largest TIMELINE answer */
#define TIMELINE_PAGES                                                        \
	50 /* 5,000 entries (the hub's most) and room for                     \
	    * answers shortened to fit a frame */

typedef struct {
	bool used;
	uint8_t token[TOKEN_LEN];
	char caseworker[WIRE_ID_MAX + 1];
	bool desk;
	/* Its last request, as the number of requests in sessions webd had
	 * answered by then: which one sessions_max pushes out. A clock's
	 * milliseconds tie (a login and another's page in one) and the wall
	 * clock can step back; this count does neither. */
	uint64_t last;
	/* When webd last sent the hub a frame that kept the session alive,
	 * and how long the hub lets it idle (0: not told): what the pages'
	 * warning before the idle end counts from. */
	int64_t active;
	int64_t idle_ms;
	bool over; /* the hub said it has ended (a live-update stream) */
	/* Its login (monotonic), and whether session_lifetime has run out
	 * since: ended at the hub then, but kept, so that its next request
	 * is told why (/login?ended=lifetime). */
	int64_t born;
	bool expired;
} web_session;

/* One open /events stream. Its connection is suspended while it has
 * nothing to send; webd_tick asks the hub for the session's
 * alerts_version every poll_ms and resumes it with an event when the
 * version moved. The slot is freed by libmicrohttpd's free callback, when
 * the response is done with (client gone, stream ended). */
typedef struct {
	bool used;
	bool suspended;
	bool end; /* send what is queued, then end the stream */
	struct MHD_Connection *c;
	uint8_t token[TOKEN_LEN];
	uint64_t version;
	int64_t next_poll, next_ping;
	char out[160];
	size_t out_len, out_pos;
} web_stream;

#define STREAM_PING_MS 15000 /* keeps proxies and MHD's timeout away */

struct webd {
	webd_opts opts;
	uint8_t csrf_key[crypto_generichash_KEYBYTES];
	web_session *sessions;
	web_stream *streams;	 /* tokens: off swap like the sessions */
	int64_t hub_quiet_until; /* the hub did not answer: poll less */
	int64_t next_sweep;	 /* sessions past their lifetime, sought */
	uint64_t uses;		 /* requests in sessions so far: their order */
};

/* A decoded form: names and values are libmicrohttpd's decoding, copied
 * (a value may arrive in pieces). The first of two fields of one name
 * counts; fields past FIELDS_MAX are left out. */
typedef struct {
	size_t n;
	char *name[FIELDS_MAX], *value[FIELDS_MAX];
	size_t len[FIELDS_MAX];
	bool skipping; /* the field being read is past FIELDS_MAX */
} form;

/* One request being read: a POST body arrives in pieces and goes through
 * libmicrohttpd's form decoder as it comes. */
typedef struct {
	struct MHD_PostProcessor *pp;
	size_t len; /* of the body so far */
	bool too_large;
	form f;
} request;

/* What one page needs to know about who is asking. */
typedef struct {
	webd *w;
	struct MHD_Connection *c;
	enum web_lang lang;
	bool set_lang; /* ?lang= chose it: set the cookie */
	web_session *s;
	char csrf[2 * CSRF_LEN + 1];
	/* The action form's field the hub refused ("how", "date",
	 * "action-note"), marked invalid when the form comes back. */
	const char *bad_field;
	/* The page asks by itself (live.js refreshing the list): its
	 * queries do not keep the session alive. */
	bool background;
	bool head; /* HEAD: the GET's status and headers, no body */
	const char *url;
} ctx;

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

/* ---- forms ---- */

#define FORM_DECODE_BUF 1024 /* libmicrohttpd's working buffer per form */

/* libmicrohttpd's post processor calls this for every piece of every
 * field, url-encoded or multipart, already decoded; off > 0 continues the
 * field begun last. */
static enum MHD_Result
form_field(void *cls, enum MHD_ValueKind kind, const char *key,
	   const char *filename, const char *content_type,
	   const char *transfer_encoding, const char *data, uint64_t off,
	   size_t size)
{
	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	form *f = cls;
	size_t i;
	/* A multipart part whose name libmicrohttpd could not read (an
	 * unclosed quote) comes without a key: no field anyone can ask for,
	 * so it is left out, every piece of it. */
	if (!key)
		return MHD_YES;
	if (off == 0) {
		f->skipping = f->n == FIELDS_MAX;
		if (f->skipping)
			return MHD_YES;
		i = f->n;
		f->name[i] = strdup(key);
		f->value[i] = calloc(1, 1);
		f->len[i] = 0;
		if (!f->name[i] || !f->value[i]) {
			free(f->name[i]);
			free(f->value[i]);
			return MHD_NO;
		}
		f->n++;
	} else {
		if (f->skipping || f->n == 0 ||
		    strcmp(f->name[f->n - 1], key) != 0)
			return MHD_YES; /* the start was left out */
		i = f->n - 1;
	}
	if (size == 0)
		return MHD_YES;
	char *grown = malloc(f->len[i] + size + 1);
	if (!grown)
		return MHD_NO;
	/* Copied, not realloc'd, so no piece of a password is left behind
	 * in freed memory. */
	memcpy(grown, f->value[i], f->len[i]);
	memcpy(grown + f->len[i], data, size);
	grown[f->len[i] + size] = '\0';
	sodium_memzero(f->value[i], f->len[i]);
	free(f->value[i]);
	f->value[i] = grown;
	f->len[i] += size;
	return MHD_YES;
}

/* A form holds passwords: wiped as it is freed. */
static void
form_free(form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		sodium_memzero(f->value[i], f->len[i]);
		free(f->value[i]);
		free(f->name[i]);
	}
	f->n = 0;
}

/* A body the decoder could not read (malformed, or memory ran out) is
 * read as no form at all: its CSRF check fails, nothing half-read acts. */
static void
form_refuse(request *req)
{
	if (req->pp)
		MHD_destroy_post_processor(req->pp);
	req->pp = NULL;
	form_free(&req->f);
}

static const char *
form_get(const form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return f->value[i];
	return "";
}

/* The field's value holds a NUL byte (%00): as the C text it is handed
 * on as, it would end there. */
static bool
form_has_nul(const form *f, const char *name)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->name[i], name) == 0)
			return strlen(f->value[i]) != f->len[i];
	return false;
}

/* ---- sessions and tokens ---- */

/* Hex from a cookie, a form or a URL; absent reads as malformed. */
static bool
unhex(const char *hex, uint8_t *out, size_t len)
{
	return hex && ug_unhex(hex, out, len) == UG_OK;
}

static web_session *
session_find(webd *w, const char *cookie)
{
	uint8_t token[TOKEN_LEN];
	if (!unhex(cookie, token, sizeof token))
		return NULL;
	web_session *found = NULL;
	for (long i = 0; i < w->opts.sessions_max; i++)
		if (w->sessions[i].used &&
		    sodium_memcmp(w->sessions[i].token, token, TOKEN_LEN) == 0)
			found = &w->sessions[i];
	sodium_memzero(token, sizeof token);
	return found;
}

static web_session *
session_add(webd *w, const uint8_t *token, const char *caseworker, bool desk)
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

static void
csrf_of(const webd *w, const char *purpose, const void *bound, size_t len,
	char out[2 * CSRF_LEN + 1])
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

static bool
csrf_ok(const char *expected, const char *given)
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

/* How long a cookie lives: until the browser closes, a year (a choice
 * such as the language, worth keeping), or not at all (cleared). */
enum cookie_life { COOKIE_SESSION, COOKIE_YEAR, COOKIE_CLEAR };

static void
cookie(ctx *x, struct MHD_Response *r, const char *name, const char *value,
       enum cookie_life life)
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

static enum MHD_Result
send_response(ctx *x, unsigned status, struct MHD_Response *r,
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
		cookie(x, r, "ug_lang", x->lang == LANG_EN ? "en" : "da",
		       COOKIE_YEAR);
	enum MHD_Result ok = MHD_queue_response(x->c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
send_page(ctx *x, unsigned status, web_buf *b)
{
	size_t len;
	char *data = web_take(b, &len);
	if (!data) {
		static const char oom[] = "out of memory";
		struct MHD_Response *r = MHD_create_response_from_buffer(
		    sizeof oom - 1, (void *)oom, MHD_RESPMEM_PERSISTENT);
		return send_response(x, 500, r, "text/plain; charset=utf-8");
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	/* Pages hold personal data: no copy in any cache. */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	return send_response(x, status, r, "text/html; charset=utf-8");
}

static struct MHD_Response *
empty_response(void)
{
	return MHD_create_response_from_buffer(0, (void *)"",
					       MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result
redirect(ctx *x, const char *where, struct MHD_Response *r)
{
	if (!r)
		r = empty_response();
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, where);
	return send_response(x, 303, r, "text/plain; charset=utf-8");
}

/* ---- the page frame ---- */

static const char *
T(const ctx *x, enum web_text t)
{
	return web_text(x->lang, t);
}

/* The hub writes alert titles, explanations and timeline summaries in
 * English whatever the page's language; marking them lets a screen
 * reader read them with an English voice on a Danish page (WCAG 3.1.2). */
static const char *
hub_text_lang(const ctx *x)
{
	return x->lang == LANG_EN ? "" : " lang=\"en\"";
}

/* Seconds the session has left as webd sees it (0: ended), and how long
 * before its end a page warns. */
static long
idle_left(const webd *w, const web_session *s, long *warn)
{
	int64_t now = ug_mono_ms();
	int64_t left =
	    s->over || s->expired ? 0 : s->idle_ms - (now - s->active);
	long secs = left > 0 ? (long)(left / 1000) : 0;
	/* The page's count reaches 0 at session_lifetime too: staying
	 * logged in cannot stretch a session past it. Rounded up, so that
	 * the page leaves once the session has ended here, and its login
	 * page can say why. */
	int64_t life = w->opts.lifetime_ms - (now - s->born);
	long life_secs = life > 0 ? (long)((life + 999) / 1000) : 0;
	if (life_secs < secs)
		secs = life_secs;
	long lead = w->opts.warning_s;
	if (lead > s->idle_ms / 2000)
		lead = (long)(s->idle_ms / 2000);
	if (warn)
		*warn = lead;
	return secs;
}

/* WCAG 2.2.1: the hub ends a session after web_session_idle without a
 * request, so every page in a session carries a warning live.js shows
 * before that, with one button that keeps the session (POST /session).
 * Hidden until then; without script the page stays as it is. Right after
 * the skip link, so it is early in the Tab order; it takes no focus, or a
 * note being typed would lose its keys to it. */
static void
idle_warning(ctx *x, web_buf *b)
{
	if (!x->s->idle_ms)
		return; /* the hub did not say how long it lasts */
	long warn, left = idle_left(x->w, x->s, &warn);
	/* When session_lifetime ends the session, staying cannot help:
	 * live.js says so instead, and hides the button. */
	int64_t life = x->w->opts.lifetime_ms - (ug_mono_ms() - x->s->born);
	web_addf(b,
		 "<div id=\"session-warning\" class=\"session-warning\" "
		 "hidden data-left=\"%ld\" data-warn=\"%ld\" "
		 "data-final=\"%lld\">"
		 "<p id=\"session-warning-text\" role=\"alert\" "
		 "data-text=\"",
		 left, warn, (long long)(life > 0 ? (life + 999) / 1000 : 0));
	web_esc(b, T(x, T_IDLE_WARNING));
	web_add(b, "\" data-final-text=\"");
	web_esc(b, T(x, T_LIFETIME_WARNING));
	web_add(b, "\"></p><p>");
	web_esc(b, T(x, T_IDLE_LEFT));
	web_add(b, " <span id=\"session-left\" role=\"timer\"></span></p>"
		   "<form method=\"post\" action=\"/session\">"
		   "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_esc(b, x->csrf);
	web_add(b, "\"><button type=\"submit\" id=\"session-extend\">");
	web_esc(b, T(x, T_STAY));
	web_add(b, "</button></form></div><p id=\"session-status\" "
		   "class=\"sr-only\" role=\"status\" data-text=\"");
	web_esc(b, T(x, T_STAYED));
	web_add(b, "\"></p>");
}

/* The language link stays on the page it is on: the same page of the
 * list (?from=), the same message (?msg=, ?ended, ?out), not the first
 * page without it. Only values webd itself writes are kept. */
static void
lang_link_keeps(const ctx *x, web_buf *b)
{
	const char *from =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "from");
	const char *msg =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "msg");
	if (from && from[0] && strlen(from) < 8 &&
	    strspn(from, "0123456789") == strlen(from))
		web_addf(b, "from=%s&amp;", from);
	if (msg && (strcmp(msg, "acked") == 0 ||
		    strcmp(msg, "ack-kept") == 0 || strcmp(msg, "saved") == 0))
		web_addf(b, "msg=%s&amp;", msg);
	/* ended=lifetime says why the session ended; the other language
	 * must say the same, not the plain "it has ended". */
	const char *ended =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "ended");
	if (ended)
		web_addf(b, "ended=%s&amp;",
			 strcmp(ended, "lifetime") == 0 ? "lifetime" : "1");
	if (MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "out"))
		web_add(b, "out=1&amp;");
}

static void
page_head(ctx *x, web_buf *b, const char *title)
{
	web_addf(b,
		 "<!DOCTYPE html>\n<html lang=\"%s\"><head>"
		 "<meta charset=\"utf-8\">"
		 "<meta name=\"viewport\" content=\"width=device-width, "
		 "initial-scale=1\"><title>",
		 x->lang == LANG_EN ? "en" : "da");
	web_esc(b, title);
	web_add(b, " – ");
	web_esc(b, T(x, T_APP));
	web_add(b, "</title><link rel=\"stylesheet\" href=\"/static/app.css\">"
		   "</head><body><a class=\"skip\" href=\"#main\">");
	web_esc(b, T(x, T_SKIP));
	web_add(b, "</a>");
	if (x->s)
		idle_warning(x, b);
	web_add(b, "<header><span class=\"brand\">");
	web_esc(b, T(x, T_APP));
	web_add(b, "</span><nav aria-label=\"");
	web_esc(b, T(x, T_NAV));
	web_add(b, "\">");
	if (x->s) {
		web_add(b, "<a href=\"/alerts\">");
		web_esc(b, T(x, T_ALERTS));
		web_add(b, "</a><a href=\"/timeline\">");
		web_esc(b, T(x, T_TIMELINE));
		web_add(b, "</a>");
	}
	/* What answers scripts (JSON, a stream, the list alone, the static
	 * files) is no page to switch language on: a page answering a POST
	 * there (413, 403, 404) links to the list. */
	bool script = x->url && (strcmp(x->url, "/session") == 0 ||
				 strcmp(x->url, "/events") == 0 ||
				 strcmp(x->url, "/alerts/list") == 0 ||
				 strncmp(x->url, "/static/", 8) == 0);
	web_addf(b, "<a href=\"%s?", script ? "/alerts" : "");
	lang_link_keeps(x, b);
	web_addf(b, "lang=%s\" lang=\"%s\">", x->lang == LANG_EN ? "da" : "en",
		 x->lang == LANG_EN ? "da" : "en");
	web_esc(b, T(x, T_OTHER_LANG));
	web_add(b, "</a>");
	if (x->s) {
		web_add(b, "<span class=\"who\">");
		web_esc(b, T(x, T_SIGNED_IN));
		web_add(b, " ");
		web_esc(b, x->s->caseworker);
		web_add(b, "</span><form method=\"post\" action=\"/logout\">"
			   "<input type=\"hidden\" name=\"csrf\" value=\"");
		web_esc(b, x->csrf);
		web_add(b, "\"><button type=\"submit\" id=\"logout\">");
		web_esc(b, T(x, T_LOGOUT));
		web_add(b, "</button></form>");
	}
	web_add(b, "</nav></header><main id=\"main\">");
}

/* live.js (the only script) on every page in a session: the warning
 * before the idle end, and on the list the live updates. */
static void
page_end(const ctx *x, web_buf *b)
{
	web_add(b, "</main>");
	if (x->s)
		web_add(b, "<script src=\"/static/live.js\"></script>");
	web_add(b, "</body></html>\n");
}

static void
message(web_buf *b, const char *cls, const char *text, const char *detail)
{
	web_addf(b, "<p class=\"%s\" role=\"%s\">", cls,
		 strcmp(cls, "err") == 0 ? "alert" : "status");
	web_esc(b, text);
	if (detail && detail[0]) {
		web_add(b, " ");
		web_esc(b, detail);
	}
	web_add(b, "</p>");
}

static enum MHD_Result
simple_page(ctx *x, unsigned status, const char *title, const char *text)
{
	web_buf b = {0};
	page_head(x, &b, title);
	web_add(&b, "<h1>");
	web_esc(&b, title);
	web_add(&b, "</h1>");
	message(&b, "err", text, NULL);
	page_end(x, &b);
	return send_page(x, status, &b);
}

/* ---- asking the hub ---- */

/* The session ended at the hub: forget it and send the user to log in. */
static enum MHD_Result
session_ended(ctx *x)
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
	struct MHD_Response *r = empty_response();
	if (r)
		cookie(x, r, "ug_session", "", COOKIE_CLEAR);
	return redirect(
	    x, lifetime ? "/login?ended=lifetime" : "/login?ended=1", r);
}

/* Every frame sent through here in a session (not the live list's
 * ALERTS_CHANGED polls, which do not) restarts the session's idle time at
 * the hub; an answer that names the caseworker says it did. */
static wire_result *
ask(ctx *x, int kind, void *msg, uint32_t request_id)
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
static bool
unauthenticated(const webd *w, const wire_result *r)
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
static bool
too_fast(const wire_result *r)
{
	return r && r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE &&
	       r->reason && strncmp(r->reason, "too many queries", 16) == 0;
}

/* A query the hub answered E_UNAVAILABLE for another reason: it cannot
 * read its store (a record that does not open). Waiting a moment does not
 * mend that, so the caseworker is told to call operations, who find the
 * record in hubd's log; webd's own log says which page it was. */
static bool
unreadable_store(ctx *x, const wire_result *r, const char *page)
{
	if (!r || r->code != UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE ||
	    too_fast(r))
		return false;
	log_warn("WEB-HUB", "%s page for %s not shown: %s", page,
		 x->s ? x->s->caseworker : "-",
		 r->reason ? r->reason : "(no reason)");
	return true;
}

/* The page for a query that failed: 429 when the hub refused it as one
 * too many, else 503 (no answer, one that is no answer to it, or a store
 * the hub cannot read, each with its own words). */
static enum MHD_Result
query_failed(ctx *x, const wire_result *r, const char *title, const char *page)
{
	if (too_fast(r))
		return simple_page(x, 429, title, T(x, T_TOO_FAST));
	if (unreadable_store(x, r, page))
		return simple_page(x, 503, title, T(x, T_STORE_UNREADABLE));
	return simple_page(x, 503, title, T(x, T_HUB_DOWN));
}

static void
free_result(wire_result *r)
{
	if (r)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_RESULT, r);
}

/* alert_id: OPEN_ALERTS for that alert alone (NULL: the list). */
static wire_result *
query_of(ctx *x, int kind, const char *cpr, uint32_t limit, uint32_t offset,
	 const uint8_t *alert_id)
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
	return ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_QUERY, &q, q.request_id);
}

static wire_result *
query(ctx *x, int kind, const char *cpr, uint32_t limit, uint32_t offset)
{
	return query_of(x, kind, cpr, limit, offset, NULL);
}

/* ---- pages ---- */

static enum MHD_Result
login_page(ctx *x, unsigned status, const char *error, const char *notice)
{
	/* The login form's CSRF token is tied to a random cookie: another
	 * site cannot log a browser in to an account of its choosing. */
	const char *pre =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_pre");
	char fresh[33];
	uint8_t raw[16];
	bool new_pre = !pre || strlen(pre) != 32 || !unhex(pre, raw, 16);
	if (new_pre) {
		randombytes_buf(raw, sizeof raw);
		ug_hex(raw, sizeof raw, fresh);
		pre = fresh;
	}
	char csrf[2 * CSRF_LEN + 1];
	csrf_of(x->w, "login", pre, 32, csrf);
	web_buf b = {0};
	x->s = NULL;
	page_head(x, &b, T(x, T_LOGIN));
	web_add(&b, "<h1>");
	web_esc(&b, T(x, T_LOGIN));
	web_add(&b, "</h1>");
	if (notice)
		message(&b, "msg", notice, NULL);
	if (error)
		message(&b, "err", error, NULL);
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
	page_end(x, &b);
	size_t len;
	char *data = web_take(&b, &len);
	if (!data)
		return MHD_NO;
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (new_pre)
		cookie(x, r, "ug_pre", pre, COOKIE_SESSION);
	return send_response(x, status, r, "text/html; charset=utf-8");
}

static void session_logout(ctx *x, web_session *s);
static void streams_end(webd *w, const uint8_t *token);

static enum MHD_Result
do_login(ctx *x, const form *f)
{
	const char *pre =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_pre");
	char csrf[2 * CSRF_LEN + 1];
	/* Most often an honest form gone stale (webd restarted while it was
	 * open, or the browser closed with it): the form again, with a
	 * token that fits, so logging in needs no back button and reload. */
	if (!pre || strlen(pre) != 32)
		return login_page(x, 403, T(x, T_LOGIN_EXPIRED), NULL);
	csrf_of(x->w, "login", pre, 32, csrf);
	if (!csrf_ok(csrf, form_get(f, "csrf")))
		return login_page(x, 403, T(x, T_LOGIN_EXPIRED), NULL);
	wire_login l = UNGEBRO__V1__LOGIN__INIT;
	l.request_id = hubconn_next_id(x->w->opts.hub);
	/* hubd ends the session then too, should this gateway's key leak
	 * or its Logout never arrive. */
	l.lifetime = (uint32_t)(x->w->opts.lifetime_ms / 60000);
	/* An id pasted with a blank around it is still the id: refused, it
	 * would count as a failed login of a name that is none. */
	char caseworker[UG_ID_MAX] = "";
	const char *typed = form_get(f, "caseworker");
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
	l.password = (char *)form_get(f, "password");
	/* Sent on as text, what comes before a NUL byte (%00) would be
	 * checked, yet a password with one is not the password and an id
	 * with one is no id. The hub is still asked, with what it refuses
	 * after the same work as any wrong login (no id; a password over its
	 * 1,024 bytes), so the refusal is counted and audited like one. */
	char too_long[1026];
	if (form_has_nul(f, "caseworker"))
		l.caseworker = "-";
	if (form_has_nul(f, "password")) {
		memset(too_long, 'x', sizeof too_long - 1);
		too_long[sizeof too_long - 1] = '\0';
		l.password = too_long;
	}
	/* The session this browser holds (another caseworker's at a shared
	 * desk, or an earlier one): the hub ends it once the password is
	 * right, before it seeks a place for the new one, so that a full
	 * table (web_sessions_max) ends no one else's for this login. */
	web_session *before = session_find(
	    x->w,
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_session"));
	if (before && !before->expired) {
		l.replaces.data = before->token;
		l.replaces.len = TOKEN_LEN;
	}
	wire_result *r =
	    ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN, &l, l.request_id);
	/* Refused at the handshake (webd started before the gateway was
	 * registered, or after a revoke), the hub is there all the same:
	 * the caseworker is told what the hub's refusal of a frame tells. */
	if (!r && hubconn_refused(x->w->opts.hub))
		return login_page(x, 503, T(x, T_GATEWAY_REFUSED), NULL);
	/* Another hub's hub.key: a handshake that no retry can mend. */
	if (!r && hubconn_handshake_failed(x->w->opts.hub))
		return login_page(x, 503, T(x, T_HUB_KEY_WRONG), NULL);
	/* The form again, as for a wrong password: trying again in a
	 * moment must not need the back button and a reload. */
	if (!r)
		return login_page(x, 503, T(x, T_HUB_DOWN), NULL);
	/* The hub refusing this gateway's key (revoked or replaced) is not
	 * the caseworker's fault: it says so by its reason (an older hub by
	 * a refusal without our request id). */
	if (r->code != UNGEBRO__V1__ERROR_CODE__OK &&
	    (r->request_id == 0 ||
	     (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED && r->reason &&
	      strcmp(r->reason, WIRE_REASON_KEY_REVOKED) == 0))) {
		free_result(r);
		log_warn("WEB-LOGIN", "the hub refuses this gateway's key");
		return login_page(x, 503, T(x, T_GATEWAY_REFUSED), NULL);
	}
	/* Not a refusal of what was typed: the hub could not check it. */
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE && r->reason &&
	    strncmp(r->reason, "the hub cannot read its store", 29) == 0) {
		free_result(r);
		log_warn("WEB-LOGIN", "login not checked: the hub cannot read "
				      "its store");
		return login_page(x, 503, T(x, T_STORE_UNREADABLE), NULL);
	}
	if (r->code != UNGEBRO__V1__ERROR_CODE__OK ||
	    r->session.len != TOKEN_LEN || !r->caseworker) {
		bool limited =
		    r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE;
		free_result(r);
		log_info("WEB-LOGIN", "login refused");
		return login_page(x, limited ? 429 : 401,
				  T(x, limited ? T_LIMITED : T_WRONG), NULL);
	}
	/* The session this browser held ended at the hub with the login
	 * (replaces): a login never leaves one alive that no browser will
	 * log out. Here it is forgotten, its streams ended. */
	if (before && !before->expired) {
		log_info("WEB-LOGIN", "%s logged out", before->caseworker);
		streams_end(x->w, before->token);
	}
	if (before)
		memset(before, 0, sizeof *before);
	web_session *s =
	    session_add(x->w, r->session.data, r->caseworker, r->desk);
	s->idle_ms = (int64_t)r->session_idle * 1000;
	char hex[TOKEN_HEX + 1];
	ug_hex(r->session.data, TOKEN_LEN, hex);
	free_result(r);
	log_info("WEB-LOGIN", "%s logged in", s->caseworker);
	struct MHD_Response *resp = empty_response();
	if (resp)
		cookie(x, resp, "ug_session", hex, COOKIE_SESSION);
	sodium_memzero(hex, sizeof hex);
	return redirect(x, "/alerts", resp);
}

/* ---- live updates: /events ---- */

static void
stream_queue(web_stream *st, const char *text)
{
	size_t len = strlen(text);
	if (st->out_pos == st->out_len)
		st->out_pos = st->out_len = 0;
	if (st->out_len + len <= sizeof st->out) {
		memcpy(st->out + st->out_len, text, len);
		st->out_len += len;
	}
}

static void
stream_wake(web_stream *st)
{
	if (st->suspended) {
		st->suspended = false;
		MHD_resume_connection(st->c);
	}
}

static void
stream_finish(web_stream *st)
{
	stream_queue(st, "event: ended\ndata: -\n\n");
	st->end = true;
	stream_wake(st);
}

/* End the streams of this session (NULL: all): logout and shutdown. */
static void
streams_end(webd *w, const uint8_t *token)
{
	for (long i = 0; i < w->opts.streams_max; i++) {
		web_stream *st = &w->streams[i];
		if (st->used && !st->end &&
		    (!token ||
		     sodium_memcmp(st->token, token, TOKEN_LEN) == 0))
			stream_finish(st);
	}
}

void
webd_end_streams(webd *w)
{
	streams_end(w, NULL);
}

long
webd_streams_open(const webd *w)
{
	long n = 0;
	for (long i = 0; i < w->opts.streams_max; i++)
		n += w->streams[i].used;
	return n;
}

/* libmicrohttpd asks for the stream's next bytes whenever the socket can
 * take them. Nothing queued: suspend the connection (returning 0 alone
 * would spin the loop) until webd_tick has news. */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	web_stream *st = cls;
	if (st->out_pos < st->out_len) {
		size_t n = st->out_len - st->out_pos;
		if (n > max)
			n = max;
		memcpy(buf, st->out + st->out_pos, n);
		st->out_pos += n;
		return (ssize_t)n;
	}
	if (st->end)
		return MHD_CONTENT_READER_END_OF_STREAM;
	st->suspended = true;
	MHD_suspend_connection(st->c);
	return 0;
}

static void
stream_free(void *cls)
{
	web_stream *st = cls;
	sodium_memzero(st, sizeof *st);
}

/* The client has closed the connection (or it broke): nothing to read
 * but its end. A client sends nothing on a stream, so bytes waiting mean
 * it is still there. */
static bool
peer_gone(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return false;
	char byte;
	ssize_t n = recv(ci->connect_fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			  errno != EINTR);
}

/* The session's alerts_version, or false (*ended: the session is over). */
static bool
alerts_version(webd *w, const uint8_t *token, uint64_t *version, bool *ended)
{
	wire_query q = UNGEBRO__V1__QUERY__INIT;
	q.request_id = hubconn_next_id(w->opts.hub);
	q.kind = UNGEBRO__V1__QUERY_KIND__ALERTS_CHANGED;
	q.session.data = (uint8_t *)token;
	q.session.len = TOKEN_LEN;
	wire_result *r =
	    hubconn_call(w->opts.hub, UNGEBRO__V1__FRAME_KIND__FRAME_QUERY, &q,
			 q.request_id);
	*ended = unauthenticated(w, r);
	bool ok = r && r->code == UNGEBRO__V1__ERROR_CODE__OK;
	if (ok)
		*version = r->alerts_version;
	free_result(r);
	return ok;
}

static enum MHD_Result
events(ctx *x)
{
	webd *w = x->w;
	web_stream *st = NULL;
	for (long i = 0; i < w->opts.streams_max && !st; i++)
		if (!w->streams[i].used)
			st = &w->streams[i];
	if (!st) {
		/* The page works without live updates; EventSource gives up
		 * on a 503 and the list is as fresh as the last reload. */
		log_warn("WEB-EVENTS",
			 "streams_max (%ld) streams open; one "
			 "more refused",
			 w->opts.streams_max);
		struct MHD_Response *r = empty_response();
		if (r)
			MHD_add_response_header(r, "Retry-After", "60");
		return send_response(x, 503, r, "text/plain; charset=utf-8");
	}
	uint64_t version = 0;
	bool ended = false;
	if (!alerts_version(w, x->s->token, &version, &ended)) {
		if (ended)
			memset(x->s, 0, sizeof *x->s);
		return send_response(x, ended ? 401 : 503, empty_response(),
				     "text/plain; charset=utf-8");
	}
	/* A stream's answer has no length, and libmicrohttpd would end a
	 * HEAD's with a chunk after the headers: a body where none may be.
	 * No stream is opened for it either. */
	if (x->head) {
		struct MHD_Response *r = empty_response();
		if (r) {
			MHD_add_response_header(
			    r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
			MHD_add_response_header(r, "X-Accel-Buffering", "no");
		}
		return send_response(x, 200, r, "text/event-stream");
	}
	memset(st, 0, sizeof *st);
	st->used = true;
	st->c = x->c;
	memcpy(st->token, x->s->token, TOKEN_LEN);
	st->version = version;
	/* The count of the list the page shows: a change since then is
	 * sent at the first poll (a browser reconnecting sends the same). */
	const char *since =
	    MHD_lookup_connection_value(x->c, MHD_GET_ARGUMENT_KIND, "since");
	long shown;
	if (since && ug_parse_long(since, strlen(since), &shown) == UG_OK &&
	    shown >= 0)
		st->version = (uint64_t)shown;
	int64_t now = ug_now_ms();
	st->next_poll = now + w->opts.poll_ms;
	st->next_ping = now + STREAM_PING_MS;
	/* retry: how soon the browser reconnects after the stream drops. */
	stream_queue(st, "retry: 5000\n: open\n\n");
	struct MHD_Response *r = MHD_create_response_from_callback(
	    MHD_SIZE_UNKNOWN, sizeof st->out, stream_read, st, stream_free);
	if (!r) {
		memset(st, 0, sizeof *st);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* nginx: do not hold the events back (proxy_buffering off too). */
	MHD_add_response_header(r, "X-Accel-Buffering", "no");
	return send_response(x, 200, r, "text/event-stream");
}

/* The hub has ended the session with this token: no time is left on
 * its pages' count (GET /session), so that a page left open goes to the
 * login at once. Kept, so that its next page still asks the hub and is
 * told (/login?ended=1). */
static void
session_over(webd *w, const uint8_t *token)
{
	for (long i = 0; i < w->opts.sessions_max; i++)
		if (w->sessions[i].used &&
		    sodium_memcmp(w->sessions[i].token, token, TOKEN_LEN) == 0)
			w->sessions[i].over = true;
}

/* Sessions past session_lifetime end at the hub now, recorded there
 * (result lifetime) whether or not their browser comes back, and in
 * webd's log; their streams end below. */
static void
sessions_expire(webd *w)
{
	int64_t mono = ug_mono_ms();
	for (long i = 0; i < w->opts.sessions_max; i++) {
		web_session *s = &w->sessions[i];
		if (!s->used || s->expired ||
		    mono - s->born < w->opts.lifetime_ms)
			continue;
		s->expired = true;
		wire_logout l = UNGEBRO__V1__LOGOUT__INIT;
		l.request_id = hubconn_next_id(w->opts.hub);
		l.session.data = s->token;
		l.session.len = TOKEN_LEN;
		l.lifetime = true;
		/* A silent hub would hold every page for hub_timeout per
		 * session ending at once. */
		wire_result *r =
		    ug_now_ms() < w->hub_quiet_until
			? NULL
			: hubconn_call(w->opts.hub,
				       UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT,
				       &l, l.request_id);
		if (!r)
			w->hub_quiet_until = ug_now_ms() + 10000;
		log_info(
		    "WEB-LOGIN",
		    "%s's session ended: it reached session_lifetime "
		    "(%lld min)%s",
		    s->caseworker, (long long)(w->opts.lifetime_ms / 60000),
		    r ? "" : "; the hub did not answer within hub_timeout");
		free_result(r);
	}
}

void
webd_tick(webd *w)
{
	int64_t now = ug_now_ms();
	/* Once a second: sessions_max may be a million. */
	if (now >= w->next_sweep) {
		w->next_sweep = now + 1000;
		sessions_expire(w);
	}
	for (long i = 0; i < w->opts.streams_max; i++) {
		web_stream *st = &w->streams[i];
		if (!st->used || st->end)
			continue;
		/* A session webd forgot (logged out, pushed out by newer
		 * ones) ends its streams. */
		bool known = false;
		for (long j = 0; j < w->opts.sessions_max && !known; j++)
			known = w->sessions[j].used &&
				!w->sessions[j].expired &&
				sodium_memcmp(w->sessions[j].token, st->token,
					      TOKEN_LEN) == 0;
		if (!known) {
			stream_finish(st);
			continue;
		}
		/* A parked connection is not watched by libmicrohttpd: without
		 * this, a closed tab would hold its place in streams_max until
		 * the pings' writes fail, some 30 s later. */
		if (st->suspended && peer_gone(st->c)) {
			st->end = true;
			stream_wake(st);
			continue;
		}
		if (now >= st->next_poll && now >= w->hub_quiet_until) {
			st->next_poll = now + w->opts.poll_ms;
			uint64_t version;
			bool ended;
			if (alerts_version(w, st->token, &version, &ended)) {
				if (version != st->version) {
					char line[64];
					snprintf(
					    line, sizeof line,
					    "event: alerts\ndata: %llu\n\n",
					    (unsigned long long)version);
					st->version = version;
					stream_queue(st, line);
					st->next_ping = now + STREAM_PING_MS;
					stream_wake(st);
				}
			} else if (ended) {
				session_over(w, st->token);
				stream_finish(st);
				continue;
			} else {
				/* Every call would wait hub_timeout: one
				 * silent hub must not stall all pages. */
				w->hub_quiet_until = ug_now_ms() + 10000;
			}
		}
		if (now >= st->next_ping) {
			st->next_ping = now + STREAM_PING_MS;
			stream_queue(st, ": ping\n\n");
			stream_wake(st);
		}
	}
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
	free_result(
	    ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_LOGOUT, &l, l.request_id));
	log_info("WEB-LOGIN", "%s logged out", s->caseworker);
	streams_end(x->w, s->token);
	memset(s, 0, sizeof *s);
}

static enum MHD_Result
do_logout(ctx *x)
{
	session_logout(x, x->s);
	x->s = NULL;
	struct MHD_Response *r = empty_response();
	if (r)
		cookie(x, r, "ug_session", "", COOKIE_CLEAR);
	return redirect(x, "/login?out=1", r);
}

static void
day_of(int64_t ms, char out[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

static bool
is_desk_alert(const ctx *x, const wire_alert *a)
{
	return a->recipient && strcmp(a->recipient, x->s->caseworker) != 0;
}

/* The list itself: what /alerts shows under its heading and what
 * /alerts/list returns for live.js to put in its place. */
static void
alert_list(ctx *x, web_buf *b, const wire_result *r, long from)
{
	if (r->n_alerts == 0 && from == 0)
		message(b, "msg", T(x, T_NO_ALERTS), NULL);
	/* Past the alerts the hub orders the page is empty whether or not
	 * more are open: not "no more", which may be false. */
	if (r->n_alerts == 0 && from > 0) {
		message(b, "msg",
			T(x, from >= ALERT_PAGE * ALERT_PAGES ? T_LIST_CAPPED
							      : T_NO_MORE),
			NULL);
		web_add(b, "<p><a href=\"/alerts\">");
		web_esc(b, T(x, T_FIRST_ALERTS));
		web_add(b, "</a></p>");
	}
	web_add(b, "<ol class=\"alerts\">");
	for (size_t i = 0; i < r->n_alerts; i++) {
		const wire_alert *a = r->alerts[i];
		char hexid[2 * WIRE_ALERT_ID_LEN + 1] = "";
		if (a->alert_id.len == WIRE_ALERT_ID_LEN)
			ug_hex(a->alert_id.data, WIRE_ALERT_ID_LEN, hexid);
		char raised[11];
		day_of(a->raised_at, raised);
		web_addf(b, "<li class=\"p%d\"><span class=\"badge\">",
			 (int)a->priority);
		web_esc(b, web_priority(x->lang, a->priority));
		web_add(b, "</span> <a class=\"alert-link\" href=\"/alert/");
		web_esc(b, hexid);
		web_addf(b, "\"%s>", hub_text_lang(x));
		web_esc(b, a->title);
		web_add(b, "</a><div class=\"meta\">");
		web_esc(b, T(x, T_DUE));
		web_add(b, " <strong>");
		web_esc(b, a->due && a->due[0] ? a->due : "-");
		web_add(b, "</strong> · ");
		web_esc(b, T(x, T_RAISED));
		web_add(b, " ");
		web_esc(b, raised);
		web_add(b, " · ");
		web_esc(b, a->rule);
		if (is_desk_alert(x, a)) {
			web_add(b, " · <span class=\"desk\">");
			web_esc(b, T(x, T_DESK_ALERT));
			web_add(b, "</span>");
		}
		web_add(b, "</div></li>");
	}
	web_add(b, "</ol>");
	/* The hub orders no more than ALERT_PAGES pages: a link past them
	 * would lead to an empty page while alerts remain. */
	size_t next = (size_t)from + r->n_alerts;
	if (r->truncated && next < ALERT_PAGE * ALERT_PAGES)
		web_addf(b, "<p><a href=\"/alerts?from=%zu\">%s</a></p>", next,
			 T(x, T_MORE));
	else if (r->truncated)
		message(b, "msg", T(x, T_LIST_CAPPED), NULL);
}

/* /alerts, or with `fragment` /alerts/list: only the list, for live.js
 * (401 when the session has ended, so the script leaves the page be). */
static enum MHD_Result
alerts_page(ctx *x, const char *from_text, const char *msg, bool fragment)
{
	/* Only webd writes `from`: anything but a whole number within the
	 * alerts the hub orders (a typed "50abc", "1e3") is the first page,
	 * not a page starting wherever its digits happen to point. */
	long from = 0;
	if (!from_text ||
	    ug_parse_long(from_text, strlen(from_text), &from) != UG_OK ||
	    from < 0 || from > ALERT_PAGE * ALERT_PAGES)
		from = 0;
	/* Only live.js asks for the list alone, after an event: nobody
	 * may be at the screen. */
	x->background = fragment;
	wire_result *r = query(x, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS, NULL,
			       ALERT_PAGE, (uint32_t)from);
	bool ended = unauthenticated(x->w, r);
	if (ended || !r || r->code != UNGEBRO__V1__ERROR_CODE__OK) {
		unsigned status = ended ? 401 : too_fast(r) ? 429 : 503;
		enum MHD_Result rc =
		    fragment ? send_response(x, status, empty_response(),
					     "text/plain; charset=utf-8")
		    : ended  ? session_ended(x)
			     : query_failed(x, r, T(x, T_ALERTS), "alerts");
		free_result(r);
		return rc;
	}
	web_buf b = {0};
	if (fragment) {
		alert_list(x, &b, r, from);
		free_result(r);
		return send_page(x, 200, &b);
	}
	page_head(x, &b, T(x, T_ALERTS));
	web_add(&b, "<h1>");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</h1>");
	if (msg && strcmp(msg, "acked") == 0)
		message(&b, "msg", T(x, T_ACKED), NULL);
	else if (msg && strcmp(msg, "ack-kept") == 0)
		message(&b, "msg", T(x, T_ACK_KEPT), NULL);
	/* live.js (the only script, at the end of every page in a
	 * session) replaces the list when /events says
	 * it changed, and says so in the polite live region. The stream
	 * opens after the page was served: it watches from the count of the
	 * list shown, or an alert raised in between would never appear. */
	web_addf(&b,
		 "<div id=\"alert-list\" data-src=\"/alerts/list?from=%ld\" "
		 "data-events=\"/events?since=%llu\">",
		 from, (unsigned long long)r->alerts_version);
	alert_list(x, &b, r, from);
	web_add(&b, "</div><p id=\"live-status\" class=\"sr-only\" "
		    "role=\"status\" aria-live=\"polite\" data-updated=\"");
	web_esc(&b, T(x, T_LIVE_UPDATED));
	web_add(&b, "\"></p>");
	free_result(r);
	page_end(x, &b);
	return send_page(x, 200, &b);
}

/* The open alert with this id, asked of the hub alone, so that only the
 * alert shown is recorded as shown; *out holds the answer (free it).
 * NULL: not open for them (*no_one: theirs, and it names no one), or
 * *failed holds the answer of the query that failed (NULL: none came;
 * free it). *ended: the session has ended. */
static const wire_alert *
find_alert(ctx *x, const uint8_t *id, wire_result **out, bool *ended,
	   bool *down, bool *no_one, wire_result **failed)
{
	*out = *failed = NULL;
	*ended = *down = *no_one = false;
	wire_result *r =
	    query_of(x, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS, NULL, 1, 0, id);
	if (unauthenticated(x->w, r)) {
		*ended = true;
		free_result(r);
		return NULL;
	}
	if (!r || r->code != UNGEBRO__V1__ERROR_CODE__OK) {
		*down = true;
		*failed = r;
		return NULL;
	}
	*out = r;
	for (size_t i = 0; i < r->n_alerts; i++)
		if (r->alerts[i]->alert_id.len == WIRE_ALERT_ID_LEN &&
		    memcmp(r->alerts[i]->alert_id.data, id,
			   WIRE_ALERT_ID_LEN) == 0)
			return r->alerts[i];
	*no_one = r->names_no_one;
	return NULL;
}

static void
csrf_field(ctx *x, web_buf *b)
{
	web_add(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_esc(b, x->csrf);
	web_add(b, "\">");
}

static void
evidence_table(ctx *x, web_buf *b, const wire_alert *a)
{
	web_add(b, "<section aria-labelledby=\"ev\"><h2 id=\"ev\">");
	web_esc(b, T(x, T_EVIDENCE));
	web_add(b, "</h2><div class=\"scroll\"><table class=\"evidence\">"
		   "<thead><tr><th scope=\"col\">");
	web_esc(b, T(x, T_WHAT));
	web_add(b, "</th><th scope=\"col\">");
	web_esc(b, T(x, T_AGENCY));
	web_add(b, "</th><th scope=\"col\">");
	web_esc(b, T(x, T_WHEN));
	web_add(b, "</th><th scope=\"col\">");
	web_esc(b, T(x, T_FIGURES));
	web_add(b, "</th></tr></thead><tbody>");
	for (size_t i = 0; i < a->n_evidence; i++) {
		const Ungebro__V1__Evidence *e = a->evidence[i];
		web_add(b, "<tr><td>");
		web_esc(b, web_event_type(x->lang, e->type));
		web_add(b, "</td><td>");
		web_esc(b, e->agency);
		web_add(b, "</td><td>");
		web_esc(b, e->period_start);
		if (e->period_end && e->period_end[0] &&
		    strcmp(e->period_end,
			   e->period_start ? e->period_start : "") != 0) {
			web_add(b, " – ");
			web_esc(b, e->period_end);
		}
		web_add(b, "</td><td>");
		if (e->lessons_expected > 0) {
			char figures[96];
			snprintf(figures, sizeof figures, T(x, T_LESSONS_OF),
				 e->lessons_absent, e->lessons_expected);
			web_esc(b, figures);
		} else {
			web_add(b, "-");
		}
		web_add(b, "</td></tr>");
	}
	web_add(b, "</tbody></table></div></section>");
}

static void
timeline_button(ctx *x, web_buf *b, const char *cpr)
{
	web_add(b, "<form method=\"post\" action=\"/timeline\">");
	csrf_field(x, b);
	web_add(b, "<input type=\"hidden\" name=\"cpr\" value=\"");
	web_esc(b, cpr);
	web_add(b, "\"><button type=\"submit\" id=\"show-timeline\">");
	web_esc(b, T(x, T_SHOW_TIMELINE));
	web_add(b, "</button></form>");
}

/* kept: a refused action's form, shown again so that nothing typed is
 * lost (NULL: an empty form). */
/* For the field the hub refused: says it is wrong and where the reason
 * is, for a screen reader (WCAG 3.3.1). */
static const char *
invalid(const ctx *x, const char *field)
{
	return x->bad_field && strcmp(x->bad_field, field) == 0
		   ? " aria-invalid=\"true\" aria-describedby=\"action-error\""
		   : "";
}

static void
record_form(ctx *x, web_buf *b, const char *hexid, const form *kept)
{
	const char *chosen = kept ? form_get(kept, "kind") : "";
	web_add(b, "<section aria-labelledby=\"rec\"><h2 id=\"rec\">");
	web_esc(b, T(x, T_RECORD));
	web_add(b, "</h2><form method=\"post\" action=\"/alert/");
	web_esc(b, hexid);
	web_add(b, "/action\">");
	csrf_field(x, b);
	web_add(b, "<fieldset><legend>");
	web_esc(b, T(x, T_KIND));
	web_add(b, "</legend>");
	static const struct {
		const char *value;
		enum web_text label;
	} kinds[] = {{"contact", T_CONTACT},
		     {"offer", T_OFFER},
		     {"unreachable", T_UNREACHABLE}};
	/* Nothing is chosen until the caseworker chooses: a contact made
	 * meets a legal deadline, so it is never recorded by default. */
	for (size_t i = 0; i < 3; i++) {
		web_addf(b,
			 "<div class=\"choice\"><input type=\"radio\" "
			 "name=\"kind\" id=\"kind-%s\" value=\"%s\"%s "
			 "required><label for=\"kind-%s\">",
			 kinds[i].value, kinds[i].value,
			 strcmp(chosen, kinds[i].value) == 0 ? " checked" : "",
			 kinds[i].value);
		web_esc(b, T(x, kinds[i].label));
		web_add(b, "</label></div>");
	}
	/* No maxlength on how and note: it counts characters where the
	 * hub's limits are bytes (æ, ø, å take two), and a browser cuts
	 * typed or pasted text at it without a word, so a record would be
	 * saved cut short. The hub refuses what is too long, and the page
	 * comes back with its reason and the text as typed. */
	web_add(b, "</fieldset><label for=\"how\">");
	web_esc(b, T(x, T_HOW));
	web_addf(b,
		 "</label><input id=\"how\" name=\"how\" "
		 "required%s value=\"",
		 invalid(x, "how"));
	web_esc(b, kept ? form_get(kept, "how") : "");
	web_add(b, "\"><label for=\"date\">");
	web_esc(b, T(x, T_DATE));
	web_addf(b,
		 "</label><input id=\"date\" name=\"date\"%s "
		 "pattern=\"[0-9]{4}-[0-9]{2}-[0-9]{2}\" placeholder=\"",
		 invalid(x, "date"));
	web_esc(b, T(x, T_DATE_FORMAT));
	web_add(b, "\" value=\"");
	web_esc(b, kept ? form_get(kept, "date") : "");
	web_add(b, "\"><label for=\"action-note\">");
	web_esc(b, T(x, T_NOTE));
	web_addf(b,
		 "</label><input id=\"action-note\" name=\"note\"%s "
		 "value=\"",
		 invalid(x, "action-note"));
	web_esc(b, kept ? form_get(kept, "note") : "");
	web_add(b, "\"><button type=\"submit\" id=\"save-action\">");
	web_esc(b, T(x, T_SAVE));
	web_add(b, "</button></form></section>");
}

/* bad_note: the note was refused (too long); a screen reader is told
 * the field is wrong and where the reason is (WCAG 3.3.1). */
static void
ack_form(ctx *x, web_buf *b, const char *hexid, const char *note,
	 bool bad_note)
{
	web_add(b, "<section aria-labelledby=\"ackh\"><h2 id=\"ackh\">");
	web_esc(b, T(x, T_ACK));
	web_add(b, "</h2><p>");
	web_esc(b, T(x, T_ACK_HELP));
	web_add(b, "</p><form method=\"post\" action=\"/alert/");
	web_esc(b, hexid);
	web_add(b, "/ack\">");
	csrf_field(x, b);
	web_add(b, "<label for=\"ack-note\">");
	web_esc(b, T(x, T_ACK_NOTE));
	/* No maxlength, as on the action's note: it counts characters, and
	 * the hub would cut a Danish note past 200 bytes without a word;
	 * do_ack refuses it with its reason instead. */
	web_addf(b,
		 "</label><input id=\"ack-note\" name=\"note\"%s "
		 "value=\"",
		 bad_note ? " aria-invalid=\"true\" "
			    "aria-describedby=\"ack-error\""
			  : "");
	web_esc(b, note ? note : "");
	web_add(b, "\"><button type=\"submit\" id=\"ack\">");
	web_esc(b, T(x, T_ACK));
	web_add(b, "</button></form></section>");
}

/* record: the form to record what was done, which only an alert about a
 * person takes (the hub refuses it for an operational alert or a health
 * alert's escalation notice, which name nobody). */
static void
action_forms(ctx *x, web_buf *b, const char *hexid, const form *kept,
	     bool record, bool ack)
{
	if (record)
		record_form(x, b, hexid, kept);
	if (ack)
		ack_form(x, b, hexid, NULL, false);
}

/* An action not saved whose alert's page cannot be shown either (hubd did
 * not answer, or its store cannot be read now): what was typed (a note,
 * often) must not be lost, so the form comes back as sent, to save again,
 * under why it was not saved. */
static enum MHD_Result
action_without_alert(ctx *x, const char *hexid, const form *f, const char *why,
		     unsigned status)
{
	web_buf b = {0};
	page_head(x, &b, T(x, T_ALERT));
	web_add(&b, "<p><a href=\"/alerts\">← ");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</a></p><div id=\"action-error\">");
	message(&b, "err", T(x, T_ACTION_REFUSED), why);
	web_add(&b, "</div><h1>");
	web_esc(&b, T(x, T_ALERT));
	web_add(&b, "</h1>");
	record_form(x, &b, hexid, f);
	page_end(x, &b);
	return send_page(x, status, &b);
}

/* error: why an action was refused, shown above the alert with its form
 * as sent (kept) and answered with status. */
static enum MHD_Result
alert_page(ctx *x, const char *hexid, const char *msg, const char *error,
	   unsigned status, const form *kept)
{
	uint8_t id[WIRE_ALERT_ID_LEN];
	if (!unhex(hexid, id, sizeof id))
		return simple_page(x, 404, T(x, T_ALERT), T(x, T_NOT_FOUND));
	wire_result *page = NULL, *failed;
	bool ended, down, no_one;
	const wire_alert *a =
	    find_alert(x, id, &page, &ended, &down, &no_one, &failed);
	if (ended)
		return session_ended(x);
	/* The action's page: the alert's facts could not be asked for, but
	 * why the action was not saved, and what was typed, still can be. */
	if (down && kept && error) {
		free_result(failed);
		return action_without_alert(x, hexid, kept, error, status);
	}
	if (down) {
		enum MHD_Result rc =
		    query_failed(x, failed, T(x, T_ALERT), "alert");
		free_result(failed);
		return rc;
	}
	web_buf b = {0};
	page_head(x, &b, a ? a->title : T(x, T_ALERT));
	web_add(&b, "<p><a href=\"/alerts\">← ");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</a></p>");
	if (msg && strcmp(msg, "saved") == 0)
		message(&b, "msg", T(x, T_SAVED), NULL);
	if (error) {
		web_add(&b, "<div id=\"action-error\">");
		message(&b, "err", T(x, T_ACTION_REFUSED), error);
		web_add(&b, "</div>");
	}
	if (!a) {
		web_add(&b, "<h1>");
		web_esc(&b, T(x, T_ALERT));
		web_add(&b, "</h1>");
		message(&b, "err", T(x, T_NOT_OPEN), NULL);
		/* What was done is often recorded after the acknowledgement,
		 * and the hub takes it for an acknowledged alert too; it
		 * refuses one that is not the caseworker's, and one that
		 * names no one, whose form is not offered. Which of the two
		 * a closed alert is, the hub says only by refusing (of
		 * another's alert it tells nothing, not even that it
		 * exists): once it has (403), the form and its invitation
		 * would only be refused again. */
		bool record = !no_one && !(error && status == 403);
		if (record) {
			web_add(&b, "<p>");
			web_esc(&b, T(x, T_RECORD_LATER));
			web_add(&b, "</p>");
		}
		action_forms(x, &b, hexid, kept, record, false);
		free_result(page);
		page_end(x, &b);
		return send_page(x, error ? status : 404, &b);
	}
	char raised[11];
	day_of(a->raised_at, raised);
	web_addf(&b, "<h1 class=\"p%d\"%s>", (int)a->priority,
		 hub_text_lang(x));
	web_esc(&b, a->title);
	web_add(&b, "</h1><dl class=\"facts\"><dt>");
	web_esc(&b, T(x, T_PRIORITY));
	web_add(&b, "</dt><dd>");
	web_esc(&b, web_priority(x->lang, a->priority));
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_RULE));
	web_add(&b, "</dt><dd id=\"rule\">");
	web_esc(&b, a->rule);
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_PERSON));
	web_add(&b, "</dt><dd id=\"cpr\">");
	web_esc(&b, a->cpr && a->cpr[0] ? a->cpr : "-");
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_FOR));
	web_add(&b, "</dt><dd>");
	web_esc(&b, is_desk_alert(x, a) ? T(x, T_DESK) : a->recipient);
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_RAISED));
	web_add(&b, "</dt><dd>");
	web_esc(&b, raised);
	web_add(&b, "</dd><dt>");
	web_esc(&b, T(x, T_EXPECTED));
	web_add(&b, "</dt><dd id=\"due\"><strong>");
	web_esc(&b, a->due && a->due[0] ? a->due : "-");
	web_add(&b, "</strong></dd></dl>");
	web_add(&b, "<section aria-labelledby=\"why\"><h2 id=\"why\">");
	web_esc(&b, T(x, T_WHY));
	web_addf(&b, "</h2><p class=\"explain\" id=\"explanation\"%s>",
		 hub_text_lang(x));
	web_esc(&b, a->explanation);
	web_add(&b, "</p></section>");
	if (a->n_evidence)
		evidence_table(x, &b, a);
	if (a->cpr && a->cpr[0])
		timeline_button(x, &b, a->cpr);
	action_forms(x, &b, hexid, kept, a->cpr && a->cpr[0], true);
	free_result(page);
	page_end(x, &b);
	return send_page(x, status, &b);
}

/* An acknowledgement not stored is the caseworker's to give again: its
 * form, the note as typed, under why (and detail), without the alert's
 * facts (the hub that did not store it may not answer for them either). */
static enum MHD_Result
ack_again(ctx *x, const char *hexid, const form *f, enum web_text why,
	  const char *detail, unsigned status)
{
	web_buf b = {0};
	page_head(x, &b, T(x, T_ALERT));
	web_add(&b, "<p><a href=\"/alerts\">← ");
	web_esc(&b, T(x, T_ALERTS));
	web_add(&b, "</a></p><h1>");
	web_esc(&b, T(x, T_ALERT));
	web_add(&b, "</h1>");
	/* Only a refused note is the field's fault; the other reasons are
	 * the hub's, and the note is fine as it is. */
	bool bad_note = why == T_ACK_REFUSED;
	web_add(&b, "<div id=\"ack-error\">");
	message(&b, "err", T(x, why), detail);
	web_add(&b, "</div>");
	ack_form(x, &b, hexid,
		 form_has_nul(f, "note") ? "" : form_get(f, "note"), bad_note);
	page_end(x, &b);
	return send_page(x, status, &b);
}

static enum MHD_Result
do_ack(ctx *x, const char *hexid, const form *f)
{
	uint8_t id[WIRE_ALERT_ID_LEN];
	if (!unhex(hexid, id, sizeof id))
		return simple_page(x, 404, T(x, T_ALERT), T(x, T_NOT_FOUND));
	wire_alert_ack ack = UNGEBRO__V1__ALERT_ACK__INIT;
	ack.request_id = hubconn_next_id(x->w->opts.hub);
	ack.alert_id.data = id;
	ack.alert_id.len = sizeof id;
	/* Sent on as text, a note would end at a NUL byte (%00) and say
	 * less than was written while looking whole: not kept, as the hub
	 * keeps no such note; the acknowledgement is. */
	ack.note = form_has_nul(f, "note") ? "" : (char *)form_get(f, "note");
	/* The hub keeps a note's first 200 bytes: one typed longer (æ, ø
	 * and å take two) would be kept cut short while the page said
	 * acknowledged. Nothing is sent; the note comes back as typed. */
	if (strlen(ack.note) > WEB_ACK_NOTE_MAX)
		return ack_again(x, hexid, f, T_ACK_REFUSED,
				 web_action_reason(
				     x->lang, "note is longer than 200 bytes"),
				 400);
	ack.session.data = x->s->token;
	ack.session.len = TOKEN_LEN;
	wire_result *r = ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK, &ack,
			     ack.request_id);
	if (unauthenticated(x->w, r)) {
		free_result(r);
		return session_ended(x);
	}
	int code = r ? (int)r->code : -1;
	free_result(r);
	if (code == UNGEBRO__V1__ERROR_CODE__OK)
		return redirect(x, "/alerts?msg=acked", NULL);
	/* The hub keeps it and stores it itself: nothing to do again, but
	 * the caseworker must not read "acknowledged" yet. */
	if (code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE)
		return redirect(x, "/alerts?msg=ack-kept", NULL);
	if (code < 0)
		return ack_again(x, hexid, f, T_HUB_DOWN, NULL, 503);
	/* Not kept: only the caseworker can send it again. */
	if (code == UNGEBRO__V1__ERROR_CODE__E_FULL)
		return ack_again(x, hexid, f, T_ACK_NOT_KEPT, NULL, 503);
	/* Most often a desk colleague acknowledged it first, while this page
	 * was open: the alert's page says it is no longer open and still
	 * takes what this caseworker did about it. */
	if (code == UNGEBRO__V1__ERROR_CODE__E_DENIED)
		return alert_page(x, hexid, NULL, NULL, 404, NULL);
	return simple_page(x, 503, T(x, T_ALERT), T(x, T_HUB_DOWN));
}

/* An action with a wrong field (the hub's reason, which names the field:
 * "how must say how ..."): the alert's page again, 400, the reason in the
 * page's language and the field marked, the form as it was sent. */
static enum MHD_Result
action_refused(ctx *x, const char *hexid, const form *f, const char *reason)
{
	const char *said = web_action_reason(x->lang, reason);
	static const char *const fields[][2] = {
	    {"how ", "how"}, {"date ", "date"}, {"note ", "action-note"}};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (strncmp(reason, fields[i][0], strlen(fields[i][0])) == 0)
			x->bad_field = fields[i][1];
	return alert_page(x, hexid, NULL, said ? said : reason, 400, f);
}

static enum MHD_Result
do_action(ctx *x, const char *hexid, const form *f)
{
	uint8_t id[WIRE_ALERT_ID_LEN];
	if (!unhex(hexid, id, sizeof id))
		return simple_page(x, 404, T(x, T_ALERT), T(x, T_NOT_FOUND));
	/* Sent on as text, a field would end at a NUL byte (%00) and what
	 * came before it would be saved as all that was typed; the hub
	 * refuses such a field, so it is refused here with the hub's reason
	 * (a date with one is no date). */
	static const char *const cut[][2] = {
	    {"date", "date must be the day it was done, YYYY-MM-DD"},
	    {"how", "how contains a NUL byte"},
	    {"note", "note contains a NUL byte"}};
	for (size_t i = 0; i < sizeof cut / sizeof cut[0]; i++)
		if (form_has_nul(f, cut[i][0]))
			return action_refused(x, hexid, f, cut[i][1]);
	const char *kind = form_get(f, "kind");
	wire_action a = UNGEBRO__V1__ACTION__INIT;
	a.request_id = hubconn_next_id(x->w->opts.hub);
	a.alert_id.data = id;
	a.alert_id.len = sizeof id;
	a.kind = strcmp(kind, "contact") == 0
		     ? UNGEBRO__V1__ACTION_KIND__CONTACT_MADE
		 : strcmp(kind, "offer") == 0
		     ? UNGEBRO__V1__ACTION_KIND__OFFER_MADE
		 : strcmp(kind, "unreachable") == 0
		     ? UNGEBRO__V1__ACTION_KIND__COULD_NOT_REACH
		     : UNGEBRO__V1__ACTION_KIND__ACTION_KIND_UNSPECIFIED;
	a.date = (char *)form_get(f, "date");
	a.how = (char *)form_get(f, "how");
	a.note = (char *)form_get(f, "note");
	a.session.data = x->s->token;
	a.session.len = TOKEN_LEN;
	wire_result *r =
	    ask(x, UNGEBRO__V1__FRAME_KIND__FRAME_ACTION, &a, a.request_id);
	if (unauthenticated(x->w, r)) {
		free_result(r);
		return session_ended(x);
	}
	if (!r)
		return action_without_alert(x, hexid, f, T(x, T_HUB_DOWN),
					    503);
	if (r->code == UNGEBRO__V1__ERROR_CODE__OK) {
		free_result(r);
		char where[64];
		snprintf(where, sizeof where, "/alert/%s?msg=saved", hexid);
		return redirect(x, where, NULL);
	}
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_MALFORMED) {
		char said[256];
		ug_strlcpy(said, r->reason ? r->reason : "", sizeof said);
		free_result(r);
		return action_refused(x, hexid, f, said);
	}
	unsigned status = 503;
	enum web_text reason = T_ACTION_LATER;
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED) {
		reason = T_ACTION_DENIED;
		status = 403;
	}
	/* The hub answers both a full store and one action too many with
	 * E_UNAVAILABLE; only its reason (PROTOCOL.md) tells that waiting a
	 * moment is what helps. */
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE && r->reason &&
	    strncmp(r->reason, "too many actions", 16) == 0) {
		reason = T_ACTION_TOO_FAST;
		status = 429;
	}
	free_result(r);
	return alert_page(x, hexid, NULL, T(x, reason), status, f);
}

/* One answer's timeline entries, as list items. */
static void
timeline_entries(ctx *x, web_buf *b, const wire_result *r)
{
	for (size_t i = 0; i < r->n_timeline; i++) {
		const Ungebro__V1__TimelineEntry *e = r->timeline[i];
		web_addf(b, "<li class=\"%s\"><span class=\"date\">",
			 e->is_alert ? "t-alert" : "t-event");
		web_esc(b, e->date);
		web_add(b, "</span> <span class=\"badge\">");
		web_esc(b, e->is_alert ? T(x, T_ALERT)
				       : web_event_type(x->lang, e->type));
		web_add(b, "</span> ");
		if (!e->is_alert && e->agency) {
			web_add(b, "<span class=\"agency\">");
			web_esc(b, e->agency);
			web_add(b, "</span> ");
		}
		/* A recorded action's summary is the hub's "contact made by
		 * ID:" and then the caseworker's own words (how, note), which
		 * are not English for a screen reader to read as such. */
		const char *words =
		    !e->is_alert && e->summary && hub_text_lang(x)[0] &&
			    e->type ==
				UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION
			? strstr(e->summary, ": ")
			: NULL;
		web_addf(b, "<span class=\"summary\"%s>",
			 words ? "" : hub_text_lang(x));
		if (words) {
			char *hubs = strndup(e->summary,
					     (size_t)(words - e->summary) + 1);
			web_add(b, "<span lang=\"en\">");
			web_esc(b, hubs ? hubs : "");
			web_add(b, "</span> ");
			web_esc(b, words + 2);
			free(hubs);
		} else if (e->is_alert &&
			   e->alert_id.len == WIRE_ALERT_ID_LEN) {
			/* The way back to an acknowledged alert, to record
			 * what was done about it. */
			char hexid[2 * WIRE_ALERT_ID_LEN + 1];
			ug_hex(e->alert_id.data, WIRE_ALERT_ID_LEN, hexid);
			web_addf(b, "<a href=\"/alert/%s\">", hexid);
			web_esc(b, e->summary);
			web_add(b, "</a>");
		} else {
			web_esc(b, e->summary);
		}
		web_add(b, "</span>");
		if (e->is_alert && e->open) {
			web_add(b, " <span class=\"open\">(");
			web_esc(b, T(x, T_OPEN));
			web_add(b, ")</span>");
		}
		web_add(b, "</li>");
	}
}

/* Why the hub would not read a CPR (its reasons start the same way as
 * ug_cpr_parse's), for the person who typed it. */
static enum web_text
cpr_refusal(const char *reason)
{
	if (!reason)
		return T_MALFORMED_CPR;
	if (strncmp(reason, "cpr is empty", 12) == 0)
		return T_CPR_EMPTY;
	if (strncmp(reason, "cpr has 9 digits", 16) == 0)
		return T_CPR_9;
	if (strstr(reason, "not a real birth date"))
		return T_CPR_DATE;
	return T_MALFORMED_CPR;
}

static enum MHD_Result
timeline_page(ctx *x, const form *f)
{
	const char *typed = f ? form_get(f, "cpr") : NULL;
	/* Sent on as text, a CPR would end at a NUL byte (%00), and what
	 * came before it may be a CPR: the hub is asked with one it cannot
	 * read instead, and answers (and audits) it as such. */
	bool cut = f && form_has_nul(f, "cpr");
	/* A pasted number often brings a blank or a line break with it. */
	char cpr_buf[32];
	const char *cpr = typed;
	if (typed) {
		size_t start = strspn(typed, " \t\r\n");
		size_t len = strlen(typed + start);
		while (len && strchr(" \t\r\n", typed[start + len - 1]))
			len--;
		if (len < sizeof cpr_buf) {
			memcpy(cpr_buf, typed + start, len);
			cpr_buf[len] = '\0';
			cpr = cpr_buf;
		}
	}
	/* Asked before the form is written: a CPR the hub cannot read
	 * marks the field invalid and points it at the reason. */
	wire_result *r = NULL;
	bool silent = false;
	if (cpr) {
		r = query(x, UNGEBRO__V1__QUERY_KIND__TIMELINE,
			  cut ? "-" : cpr, TIMELINE_PAGE, 0);
		if (unauthenticated(x->w, r)) {
			free_result(r);
			sodium_memzero(cpr_buf, sizeof cpr_buf);
			return session_ended(x);
		}
	} else {
		/* The empty form reads nothing, but it is a request in the
		 * session like any page: the hub counts it (and a session the
		 * hub ended sends the caseworker to log in, as every page). */
		wire_result *alive =
		    query(x, UNGEBRO__V1__QUERY_KIND__KEEP_ALIVE, NULL, 0, 0);
		bool ended = unauthenticated(x->w, alive);
		/* Like any page the hub did not answer: 503, said above the
		 * form, which stays to be sent once the hub is back. */
		silent = !alive;
		free_result(alive);
		if (ended)
			return session_ended(x);
	}
	bool unreadable = r && r->code == UNGEBRO__V1__ERROR_CODE__E_MALFORMED;
	web_buf b = {0};
	page_head(x, &b, T(x, T_TIMELINE));
	web_add(&b, "<h1>");
	web_esc(&b, T(x, T_TIMELINE));
	web_add(&b, "</h1><p>");
	web_esc(&b, T(x, T_TIMELINE_HELP));
	web_add(&b, "</p><form method=\"post\" action=\"/timeline\" "
		    "class=\"card\">");
	csrf_field(x, &b);
	web_add(&b, "<label for=\"cpr\">");
	web_esc(&b, T(x, T_CPR));
	web_addf(&b,
		 "</label><input id=\"cpr\" name=\"cpr\" "
		 "inputmode=\"numeric\" autocomplete=\"off\" required%s "
		 "value=\"",
		 unreadable ? " aria-invalid=\"true\" "
			      "aria-describedby=\"cpr-error\""
			    : "");
	web_esc(&b, cpr ? cpr : "");
	web_add(&b, "\"><button type=\"submit\" id=\"show-timeline\">");
	web_esc(&b, T(x, T_SHOW_TIMELINE));
	web_add(&b, "</button></form>");
	unsigned status = 200;
	if (silent) {
		status = 503;
		message(&b, "err", T(x, T_HUB_DOWN), NULL);
	}
	if (cpr) {
		if (!r) {
			status = 503;
			message(&b, "err", T(x, T_HUB_DOWN), NULL);
		} else if (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED) {
			status = 403;
			message(&b, "err", T(x, T_NOT_YOURS), NULL);
		} else if (unreadable) {
			status = 400;
			web_add(&b, "<div id=\"cpr-error\">");
			message(&b, "err", T(x, cpr_refusal(r->reason)), NULL);
			web_add(&b, "</div>");
		} else if (too_fast(r)) {
			status = 429;
			message(&b, "err", T(x, T_TOO_FAST), NULL);
		} else if (unreadable_store(x, r, "timeline")) {
			status = 503;
			message(&b, "err", T(x, T_STORE_UNREADABLE), NULL);
		} else if (r->code != UNGEBRO__V1__ERROR_CODE__OK) {
			status = 503;
			message(&b, "err", T(x, T_HUB_DOWN), NULL);
		} else {
			web_add(&b, "<h2>");
			web_esc(&b, cpr);
			web_add(&b, "</h2>");
			if (!r->n_timeline)
				message(&b, "msg", T(x, T_NO_ENTRIES), NULL);
			web_add(&b, "<ol class=\"timeline\">");
			timeline_entries(x, &b, r);
			/* The hub answers at most TIMELINE_PAGE entries,
			 * oldest first: the newest, which matter most, come
			 * last. */
			uint32_t offset = 0;
			bool partial = false, limited = false;
			for (int page = 1; page < TIMELINE_PAGES &&
					   r->truncated && r->n_timeline > 0;
			     page++) {
				offset += (uint32_t)r->n_timeline;
				free_result(r);
				r = query(x, UNGEBRO__V1__QUERY_KIND__TIMELINE,
					  cpr, TIMELINE_PAGE, offset);
				if (unauthenticated(x->w, r)) {
					free_result(r);
					web_buf_fini(&b);
					sodium_memzero(cpr_buf,
						       sizeof cpr_buf);
					return session_ended(x);
				}
				if (!r ||
				    r->code != UNGEBRO__V1__ERROR_CODE__OK) {
					/* Refused only for the pace of the
					 * pages: a reload a moment later shows
					 * the rest, which the caseworker must
					 * be told. */
					limited = too_fast(r);
					partial = true;
					break;
				}
				timeline_entries(x, &b, r);
			}
			web_add(&b, "</ol>");
			/* A page said there was more and the next was empty:
			 * the hub orders no more entries per person, and those
			 * left out may be the newest. */
			if (!partial && offset > 0 && r && !r->n_timeline)
				message(&b, "err", T(x, T_TIMELINE_CAPPED),
					NULL);
			if (partial || (r && r->truncated))
				message(&b, "err",
					T(x, limited ? T_TIMELINE_PARTIAL_FAST
						     : T_TIMELINE_PARTIAL),
					NULL);
		}
		free_result(r);
	}
	sodium_memzero(cpr_buf, sizeof cpr_buf);
	page_end(x, &b);
	return send_page(x, status, &b);
}

/* ---- the session's idle time: GET and POST /session ---- */

static enum MHD_Result
session_json(ctx *x)
{
	/* A page asks with its own token: the cookie may hold another
	 * session since (a login in another tab of the browser, which ended
	 * the page's), and the page must leave as for any session ended. */
	const char *page =
	    MHD_lookup_connection_value(x->c, MHD_HEADER_KIND, "X-CSRF-Token");
	if (page && !csrf_ok(x->csrf, page))
		return send_response(x, 401, empty_response(),
				     "text/plain; charset=utf-8");
	long warn, left = idle_left(x->w, x->s, &warn);
	char body[64];
	int n = snprintf(body, sizeof body, "{\"left\":%ld,\"warn\":%ld}\n",
			 left, warn);
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    (size_t)n, body, MHD_RESPMEM_MUST_COPY);
	return send_response(x, 200, r, "application/json");
}

/* POST /session, the warning's "stay logged in": one KEEP_ALIVE, which
 * restarts the idle time at the hub and reads nothing. A script asks, so
 * the answer is a status and the seconds left, never a page. */
static enum MHD_Result
do_keep_alive(ctx *x)
{
	wire_result *r =
	    query(x, UNGEBRO__V1__QUERY_KIND__KEEP_ALIVE, NULL, 0, 0);
	bool ended = unauthenticated(x->w, r);
	bool ok = r && r->code == UNGEBRO__V1__ERROR_CODE__OK;
	free_result(r);
	if (ended) {
		streams_end(x->w, x->s->token);
		memset(x->s, 0, sizeof *x->s);
		x->s = NULL;
		struct MHD_Response *resp = empty_response();
		if (resp)
			cookie(x, resp, "ug_session", "", COOKIE_CLEAR);
		return send_response(x, 401, resp,
				     "text/plain; charset=utf-8");
	}
	if (!ok)
		return send_response(x, 503, empty_response(),
				     "text/plain; charset=utf-8");
	return session_json(x);
}

/* ---- the stylesheet, served from the binary ---- */

static const char APP_CSS[] =
    "*{box-sizing:border-box}"
    "html{-webkit-text-size-adjust:100%}"
    "body{margin:0;font:16px/1.5 system-ui,-apple-system,'Segoe UI',"
    "Roboto,sans-serif;color:#1b1b1b;background:#f4f4f1;"
    "overflow-wrap:anywhere}"
    "header{background:#123d5c;color:#fff;padding:.5rem 1rem;display:flex;"
    "flex-wrap:wrap;gap:.25rem 1rem;align-items:center}"
    ".brand{font-weight:700;margin-right:auto}"
    "nav{display:flex;flex-wrap:wrap;gap:.25rem 1rem;align-items:center}"
    "nav a,nav .who{color:#fff}"
    "nav form{margin:0}"
    "nav button{background:transparent;border:1px solid #fff;margin:0;"
    "padding:.15rem .6rem}"
    "main{max-width:60rem;margin:0 auto;padding:1rem}"
    "h1{font-size:1.5rem;line-height:1.25}h2{font-size:1.2rem}"
    "a{color:#0b4f8a}"
    /* Amber alone is under 3:1 on the light page; the dark ring inside
     * it keeps the focus visible there as well as on the dark header
     * (WCAG 1.4.11). The list takes the focus too (tabindex="-1"),
     * when a live update took away the link that had it. */
    "a:focus,button:focus,input:focus,select:focus,[tabindex]:focus{"
    "outline:3px solid "
    "#f2a900;outline-offset:2px;box-shadow:0 0 0 2px #1b1b1b}"
    ".skip{position:absolute;left:-9999px}"
    ".skip:focus{left:1rem;top:1rem;background:#fff;color:#000;"
    "padding:.5rem;z-index:1}"
    "ol.alerts,ol.timeline{list-style:none;padding:0}"
    "ol.alerts li,ol.timeline li{background:#fff;border:1px solid #c8c8c8;"
    "border-left:6px solid #6b6b6b;margin:.5rem 0;padding:.5rem .75rem}"
    "ol.timeline li.t-alert{border-left-color:#8a5a00}"
    "h1.p2,h1.p3,h1.p4{border-left:6px solid;padding-left:.5rem}"
    /* As specific as "ol.alerts li" above, or its grey would win. */
    "ol.alerts li.p4,h1.p4{border-left-color:#a4001d}"
    "ol.alerts li.p3,h1.p3{border-left-color:#c24e00}"
    "ol.alerts li.p2,h1.p2{border-left-color:#0b4f8a}"
    ".meta{font-size:.9rem;color:#444}"
    ".badge{display:inline-block;padding:0 .4rem;border-radius:3px;"
    "font-size:.85rem;font-weight:600;background:#e4e4e4;color:#1b1b1b}"
    ".date{font-variant-numeric:tabular-nums;font-weight:600}"
    "label,legend{display:block;font-weight:600;margin-top:.75rem}"
    "fieldset{border:1px solid #c8c8c8;padding:.5rem .75rem;margin:.75rem 0 0}"
    ".choice{display:flex;gap:.5rem;align-items:center}"
    ".choice label{font-weight:400;margin:0}"
    ".choice input{width:auto}"
    "input{font:inherit;width:100%;max-width:30rem;padding:.4rem;"
    "border:1px solid #555;border-radius:3px;background:#fff;color:#1b1b1b}"
    "button{font:inherit;padding:.45rem 1rem;margin-top:.75rem;"
    "background:#0b4f8a;color:#fff;border:0;border-radius:3px;"
    "cursor:pointer}"
    ".msg,.err{padding:.5rem .75rem;border-radius:3px;border:1px solid}"
    ".msg{background:#e8f3e8;border-color:#2e7d32}"
    ".err{background:#fdecea;border-color:#a4001d}"
    "section,.card{background:#fff;border:1px solid #d0d0d0;"
    "padding:.75rem 1rem;margin:1rem 0}"
    ".scroll{overflow-x:auto}"
    "table{border-collapse:collapse;width:100%}"
    "th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid "
    "#ddd;vertical-align:top}"
    "dl.facts{display:grid;grid-template-columns:max-content 1fr;"
    "gap:.25rem 1rem}dl.facts dd{margin:0}"
    ".explain{white-space:pre-wrap}"
    ".session-warning{position:fixed;left:0;right:0;bottom:0;z-index:2;"
    "background:#fff8e1;border-top:4px solid #8a5a00;padding:.5rem 1rem}"
    ".session-warning[hidden]{display:none}"
    ".session-warning p{margin:.25rem 0}"
    ".sr-only{position:absolute;width:1px;height:1px;overflow:hidden;"
    "clip:rect(0 0 0 0);white-space:nowrap}"
    "@media (max-width:30rem){dl.facts{grid-template-columns:1fr}"
    "dl.facts dd{margin-bottom:.5rem}main{padding:.5rem}}\n";

/* ---- the one script, served from the binary ----
 * The warning before a session's idle end, on every page in a session,
 * and the live updates of the open alerts. Without it (or without
 * EventSource) the list is as fresh as the last reload, no warning comes,
 * and everything else works the same. */

static const char LIVE_JS[] =
    "(function () {\n"
    "  'use strict';\n"
    "\n"
    "  // WCAG 2.2.1: the hub ends a session after web_session_idle without "
    "a\n"
    "  // request. Warn data-warn seconds before that, with one button that\n"
    "  // keeps the session; at the end, go to the login page, so that what\n"
    "  // the page shows does not stay on an unattended screen.\n"
    "  function idle(box) {\n"
    "    var warn = +box.getAttribute('data-warn');\n"
    "    var text = document.getElementById('session-warning-text');\n"
    "    var left = document.getElementById('session-left');\n"
    "    var said = document.getElementById('session-status');\n"
    "    var form = box.querySelector('form');\n"
    "    var end = 0, timer = 0, ticker = 0, back = null;\n"
    "    // When session_lifetime ends the session: from then on no\n"
    "    // request keeps it, and the warning says so, without a button.\n"
    "    var last = Date.now() + +box.getAttribute('data-final') * 1000;\n"
    "    function clock(s) {\n"
    "      var m = Math.floor(s / 60), r = s % 60;\n"
    "      return m + ':' + (r < 10 ? '0' : '') + r;\n"
    "    }\n"
    "    function ended() { window.location.href = '/login?ended=1'; }\n"
    "    // The warning is fixed over the window's bottom (a third of a\n"
    "    // phone's): the page makes room below its end, and scrolling to\n"
    "    // an element stops above the warning, not behind it.\n"
    "    function room(h) {\n"
    "      document.body.style.paddingBottom = h ? h + 'px' : '';\n"
    "      // 8 px more: the focus outline shows whole above it.\n"
    "      document.documentElement.style.scrollPaddingBottom =\n"
    "        h ? h + 8 + 'px' : '';\n"
    "    }\n"
    "    function hide() {\n"
    "      clearInterval(ticker);\n"
    "      ticker = 0;\n"
    "      box.hidden = true;\n"
    "      text.textContent = '';\n"
    "      room(0);\n"
    "    }\n"
    "    function tick() {\n"
    "      var s = Math.max(0, Math.round((end - Date.now()) / 1000));\n"
    "      left.textContent = clock(s);\n"
    "      if (s <= 0) {\n"
    "        clearInterval(ticker);\n"
    "        ticker = 0;\n"
    "        check();\n"
    "      }\n"
    "    }\n"
    "    function show() {\n"
    "      if (box.hidden) {\n"
    "        // Where the keyboard user was, to come back to once they\n"
    "        // chose to stay: the button goes with the warning.\n"
    "        back = box.contains(document.activeElement) ||\n"
    "               document.activeElement === document.body ?\n"
    "               null : document.activeElement;\n"
    "        said.textContent = '';\n"
    "        var closing = end >= last - 2000;\n"
    "        form.hidden = closing;\n"
    "        box.hidden = false;\n"
    "        // Filled as it appears, so a screen reader says it once.\n"
    "        text.textContent =\n"
    "          text.getAttribute(closing ? 'data-final-text' : 'data-text');\n"
    "        // Again: the room may bring a scrollbar, which narrows the\n"
    "        // window and makes the warning a line taller.\n"
    "        room(box.offsetHeight);\n"
    "        room(box.offsetHeight);\n"
    "        // The field being typed in stays in sight, above it.\n"
    "        if (back) back.scrollIntoView({block: 'nearest'});\n"
    "      }\n"
    "      if (!ticker) ticker = setInterval(tick, 1000);\n"
    "      tick();\n"
    "    }\n"
    "    function plan(s) {\n"
    "      clearTimeout(timer);\n"
    "      end = Date.now() + s * 1000;\n"
    "      if (s <= 0) return ended();\n"
    "      if (s <= warn) return show();\n"
    "      hide();\n"
    "      timer = setTimeout(check, (s - warn) * 1000);\n"
    "    }\n"
    "    function answer(r) {\n"
    "      if (r.status === 401 || r.status === 403) throw 'ended';\n"
    "      if (!r.ok) throw 'later';\n"
    "      return r.json();\n"
    "    }\n"
    "    // Another tab of the same session may have kept it alive "
    "meanwhile:\n"
    "    // webd knows, so it is asked before a warning and at the end.\n"
    "    function check() {\n"
    "      // The page's own token: a login in another tab puts another\n"
    "      // session in the cookie, and this page's has ended.\n"
    "      fetch('/session', {credentials: 'same-origin', cache: "
    "'no-store',\n"
    "                         headers: {'X-CSRF-Token': "
    "form.elements.csrf.value}})\n"
    "        .then(answer)\n"
    "        .then(function (j) { plan(j.left); })\n"
    "        .catch(function (e) {\n"
    "          if (e === 'ended' || Date.now() >= end) ended();\n"
    "          else timer = setTimeout(check, 5000);\n"
    "        });\n"
    "    }\n"
    "    form.addEventListener('submit', function (ev) {\n"
    "      ev.preventDefault();\n"
    "      fetch('/session', {method: 'POST', credentials: 'same-origin',\n"
    "                         body: new URLSearchParams(new "
    "FormData(form))})\n"
    "        .then(answer)\n"
    "        .then(function (j) {\n"
    "          var here = box.contains(document.activeElement);\n"
    "          plan(j.left);\n"
    "          if (here && back && document.contains(back)) back.focus();\n"
    "          said.textContent = said.getAttribute('data-text');\n"
    "        })\n"
    "        .catch(function (e) { if (e === 'ended') ended(); });\n"
    "    });\n"
    "    window.addEventListener('resize', function () {\n"
    "      if (!box.hidden) room(box.offsetHeight);\n"
    "    });\n"
    "    plan(+box.getAttribute('data-left'));\n"
    "    return check;\n"
    "  }\n"
    "\n"
    "  // ended: the session is over (a logout in another tab, the hub\n"
    "  // ended it): what the page shows must not stay on the screen.\n"
    "  function live(list, check) {\n"
    "    var status = document.getElementById('live-status');\n"
    "    var busy = false, again = false;\n"
    "    function refresh() {\n"
    "      if (busy) { again = true; return; }\n"
    "      busy = true;\n"
    "      fetch(list.getAttribute('data-src'), {credentials: "
    "'same-origin'})\n"
    "        .then(function (r) {\n"
    "          if (!r.ok) throw new Error('status ' + r.status);\n"
    "          return r.text();\n"
    "        })\n"
    "        .then(function (html) {\n"
    "          // Replacing the list drops the focus of a keyboard user on\n"
    "          // one of its links to the page's start: they stay on the\n"
    "          // same link, or on the one now where theirs was; with no\n"
    "          // link left, on the list itself, which says it is empty.\n"
    "          var had = list.contains(document.activeElement) ?\n"
    "                    document.activeElement : null;\n"
    "          var links = list.getElementsByTagName('a');\n"
    "          var at = Array.prototype.indexOf.call(links, had);\n"
    "          var href = had && had.getAttribute('href');\n"
    "          list.innerHTML = html;\n"
    "          if (had) {\n"
    "            var to = links[Math.min(at, links.length - 1)];\n"
    "            for (var i = 0; i < links.length; i++)\n"
    "              if (links[i].getAttribute('href') === href) to = "
    "links[i];\n"
    "            if (!to) {\n"
    "              list.setAttribute('tabindex', '-1');\n"
    "              to = list;\n"
    "            }\n"
    "            to.focus();\n"
    "          }\n"
    "          if (status) {\n"
    "            status.textContent = '';\n"
    "            status.textContent = status.getAttribute('data-updated');\n"
    "          }\n"
    "        })\n"
    "        .catch(function () {})\n"
    "        .then(function () {\n"
    "          busy = false;\n"
    "          if (again) { again = false; refresh(); }\n"
    "        });\n"
    "    }\n"
    "    var events = new EventSource(list.getAttribute('data-events') ||\n"
    "                                 '/events');\n"
    "    events.addEventListener('alerts', refresh);\n"
    "    // A form sent from this page (Log ud) ends the session too: its\n"
    "    // own answer, not the login page, is where the browser goes.\n"
    "    var leaving = false;\n"
    "    document.addEventListener('submit', function (ev) {\n"
    "      if (!ev.defaultPrevented) leaving = true;\n"
    "    });\n"
    "    events.addEventListener('ended', function () {\n"
    "      events.close();\n"
    "      if (check) setTimeout(function () {\n"
    "        if (!leaving) check();\n"
    "      }, 1000);\n"
    "    });\n"
    "    // A stream refused is not tried again (2: CLOSED); a 401 is a\n"
    "    // session that ended before it opened, and says no 'ended'.\n"
    "    events.addEventListener('error', function (ev) {\n"
    "      if (ev.target.readyState === 2 && check && !leaving) check();\n"
    "    });\n"
    "    window.addEventListener('pagehide', function () { events.close(); "
    "});\n"
    "  }\n"
    "\n"
    "  if (!window.fetch) return;\n"
    "  var box = document.getElementById('session-warning');\n"
    "  var check = null;\n"
    "  if (box && window.URLSearchParams && window.FormData) check = "
    "idle(box);\n"
    "  var list = document.getElementById('alert-list');\n"
    "  if (list && window.EventSource) live(list, check);\n"
    "})();\n";

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
	return send_response(x, 200, r, type);
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
		return send_response(x, 401, empty_response(),
				     "text/plain; charset=utf-8");
	}
	web_session *s = session_find(
	    x->w,
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_session"));
	if (s)
		memset(s, 0, sizeof *s);
	x->s = NULL;
	struct MHD_Response *r = empty_response();
	if (r)
		cookie(x, r, "ug_session", "", COOKIE_CLEAR);
	return redirect(x, "/login?ended=lifetime", r);
}

static enum MHD_Result
route(ctx *x, const char *url, bool post, form *f)
{
	if (!post && strcmp(url, "/static/app.css") == 0)
		return static_file(x, APP_CSS, sizeof APP_CSS - 1,
				   "text/css; charset=utf-8");
	if (!post && strcmp(url, "/static/live.js") == 0)
		return static_file(x, LIVE_JS, sizeof LIVE_JS - 1,
				   "text/javascript; charset=utf-8");
	if (strcmp(url, "/login") == 0) {
		if (post)
			return do_login(x, f);
		/* A page left open counts down to /login?ended=1 at
		 * session_lifetime as at the idle end: told which it was. */
		web_session *gone = session_find(
		    x->w, MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND,
						      "ug_session"));
		if (gone && !gone->expired &&
		    ug_mono_ms() - gone->born >= x->w->opts.lifetime_ms)
			sessions_expire(x->w);
		if (gone && gone->expired)
			return lifetime_ended(x, url, false);
		const char *ended = MHD_lookup_connection_value(
		    x->c, MHD_GET_ARGUMENT_KIND, "ended");
		const char *out = MHD_lookup_connection_value(
		    x->c, MHD_GET_ARGUMENT_KIND, "out");
		if (out)
			return login_page(x, 200, NULL, T(x, T_LOGGED_OUT));
		if (ended && strcmp(ended, "lifetime") == 0)
			return login_page(x, 200, NULL, T(x, T_LIFETIME));
		return login_page(x, 200, NULL, ended ? T(x, T_ENDED) : NULL);
	}
	const char *cookie_value =
	    MHD_lookup_connection_value(x->c, MHD_COOKIE_KIND, "ug_session");
	x->s = session_find(x->w, cookie_value);
	/* Checked here too, not only at the next tick: no request is
	 * answered in a session past its lifetime. */
	if (x->s && !x->s->expired &&
	    ug_mono_ms() - x->s->born >= x->w->opts.lifetime_ms)
		sessions_expire(x->w);
	if (x->s && x->s->expired)
		return lifetime_ended(x, url, post);
	char hexid[2 * WIRE_ALERT_ID_LEN + 1];
	const char *suffix;
	/* A page that does not exist is 404 for anyone: logging in would
	 * not make it exist (a browser's /favicon.ico included). */
	if (!x->s && !post && !known_page(url, hexid, &suffix))
		return simple_page(x, 404, T(x, T_TITLE_NOT_FOUND),
				   T(x, T_NOT_FOUND));
	if (!x->s) {
		/* Refused and not done; most often a session that ended
		 * while its page was open: the login page it is titled as,
		 * with its form, not a dead end. */
		if (post)
			return login_page(x, 403, T(x, T_NOT_LOGGED_IN), NULL);
		/* What scripts ask for gets a status, not a login page. */
		if (strcmp(url, "/events") == 0 ||
		    strcmp(url, "/alerts/list") == 0 ||
		    strcmp(url, "/session") == 0)
			return send_response(x, 401, empty_response(),
					     "text/plain; charset=utf-8");
		return redirect(x, "/login", NULL);
	}
	x->s->last = ++x->w->uses;
	csrf_of(x->w, "session", x->s->token, TOKEN_LEN, x->csrf);
	if (post && !csrf_ok(x->csrf, form_get(f, "csrf"))) {
		log_warn("WEB-CSRF",
			 "POST %s without a valid CSRF token "
			 "refused",
			 url);
		return simple_page(x, 403, T(x, T_TITLE_REFUSED),
				   T(x, T_FORBIDDEN));
	}
	if (strcmp(url, "/") == 0 && !post)
		return redirect(x, "/alerts", NULL);
	if ((strcmp(url, "/alerts") == 0 ||
	     strcmp(url, "/alerts/list") == 0) &&
	    !post)
		return alerts_page(x,
				   MHD_lookup_connection_value(
				       x->c, MHD_GET_ARGUMENT_KIND, "from"),
				   MHD_lookup_connection_value(
				       x->c, MHD_GET_ARGUMENT_KIND, "msg"),
				   strcmp(url, "/alerts/list") == 0);
	if (strcmp(url, "/events") == 0 && !post)
		return events(x);
	if (strcmp(url, "/session") == 0)
		return post ? do_keep_alive(x) : session_json(x);
	if (strcmp(url, "/timeline") == 0)
		return timeline_page(x, post ? f : NULL);
	if (strcmp(url, "/logout") == 0 && post)
		return do_logout(x);
	/* Never a logout (another site could link to it): the language
	 * link of a refused logout form leads back to the list. */
	if (strcmp(url, "/logout") == 0)
		return redirect(x, "/alerts", NULL);
	if (alert_path(url, hexid, &suffix)) {
		if (!post && !*suffix)
			return alert_page(
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
			return redirect(x, where, NULL);
		}
		if (post && strcmp(suffix, "/ack") == 0)
			return do_ack(x, hexid, f);
		if (post && strcmp(suffix, "/action") == 0)
			return do_action(x, hexid, f);
	}
	return simple_page(x, 404, T(x, T_TITLE_NOT_FOUND), T(x, T_NOT_FOUND));
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
			    c, FORM_DECODE_BUF, form_field, &req->f);
			return MHD_YES; /* the body follows */
		}
	}
	if (post && *upload_size) {
		req->len += *upload_size;
		if (req->len > BODY_MAX)
			req->too_large = true;
		else if (req->pp && MHD_post_process(req->pp, upload_data,
						     *upload_size) != MHD_YES)
			form_refuse(req);
		*upload_size = 0;
		return MHD_YES;
	}
	/* The decoder holds a url-encoded form's last value until it is
	 * told the body has ended. */
	if (req->pp) {
		enum MHD_Result whole = MHD_destroy_post_processor(req->pp);
		req->pp = NULL;
		if (whole != MHD_YES)
			form_refuse(req);
	}
	ctx x = {.w = w,
		 .c = c,
		 .head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0,
		 .url = url};
	x.lang = pick_lang(&x);
	if (!post && !get) {
		struct MHD_Response *r = empty_response();
		if (r)
			MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
						"GET, HEAD, POST");
		return send_response(&x, 405, r, "text/plain; charset=utf-8");
	}
	if (req->too_large) {
		/* Most often a long text pasted into a form of a session:
		 * the answer is a page of that session like any (its menu,
		 * "Log ud", live.js's warning before the idle end). Nothing
		 * is done, so the hub is not asked. */
		web_session *s =
		    session_find(w, MHD_lookup_connection_value(
					c, MHD_COOKIE_KIND, "ug_session"));
		/* Past session_lifetime it is that session's next request,
		 * told so as any other (a form: /login?ended=lifetime), not
		 * a page of a session that has ended. */
		if (s && !s->expired &&
		    ug_mono_ms() - s->born >= w->opts.lifetime_ms)
			sessions_expire(w);
		if (s && s->expired)
			return lifetime_ended(&x, url, post);
		if (s && !s->over &&
		    ug_mono_ms() - s->born < w->opts.lifetime_ms) {
			x.s = s;
			s->last = ++w->uses;
			csrf_of(w, "session", s->token, TOKEN_LEN, x.csrf);
		}
		return simple_page(&x, 413, T(&x, T_TITLE_TOO_LARGE),
				   T(&x, T_TOO_LARGE));
	}
	enum MHD_Result rc = route(&x, url, post, &req->f);
	/* The password is in the form: wiped once answered. */
	form_free(&req->f);
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
	form_free(&req->f);
	free(req);
	*state = NULL;
}
