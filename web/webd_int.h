/*
 * What webd's files share: its sessions, streams and forms, the context
 * of one request, and the functions one file serves to the others.
 * Internal to web/; webd.h is webd's face to webd_main.c.
 */
#ifndef UG_WEB_WEBD_INT_H
#define UG_WEB_WEBD_INT_H

#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"
#include "web/html.h"
#include "web/text.h"
#include "web/webd.h"
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

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

#define FORM_DECODE_BUF 1024 /* libmicrohttpd's working buffer per form */

/* How long a cookie lives: until the browser closes, a year (a choice
 * such as the language, worth keeping), or not at all (cleared). */
enum cookie_life { COOKIE_SESSION, COOKIE_YEAR, COOKIE_CLEAR };

static inline const char *
T(const ctx *x, enum web_text t)
{
	return web_text(x->lang, t);
}

enum MHD_Result webd__form_field(void *cls, enum MHD_ValueKind kind,
				 const char *key, const char *filename,
				 const char *content_type,
				 const char *transfer_encoding,
				 const char *data, uint64_t off, size_t size);
void webd__form_free(form *f);
void webd__form_refuse(request *req);
const char *webd__form_get(const form *f, const char *name);
bool webd__form_has_nul(const form *f, const char *name);
bool webd__unhex(const char *hex, uint8_t *out, size_t len);
web_session *webd__session_find(webd *w, const char *cookie);
web_session *webd__session_add(webd *w, const uint8_t *token,
			       const char *caseworker, bool desk);
void webd__csrf_of(const webd *w, const char *purpose, const void *bound,
		   size_t len, char out[2 * CSRF_LEN + 1]);
bool webd__csrf_ok(const char *expected, const char *given);
void webd__cookie(ctx *x, struct MHD_Response *r, const char *name,
		  const char *value, enum cookie_life life);
enum MHD_Result webd__send_response(ctx *x, unsigned status,
				    struct MHD_Response *r, const char *type);
enum MHD_Result webd__send_page(ctx *x, unsigned status, web_buf *b);
enum MHD_Result webd__send_page_cookie(ctx *x, unsigned status, web_buf *b,
				       const char *name, const char *value);
struct MHD_Response *webd__empty_response(void);
enum MHD_Result webd__redirect(ctx *x, const char *where,
			       struct MHD_Response *r);
const char *webd__hub_text_lang(const ctx *x);
long webd__idle_left(const webd *w, const web_session *s, long *warn);
void webd__page_head(ctx *x, web_buf *b, const char *title);
void webd__page_end(const ctx *x, web_buf *b);
void webd__message(web_buf *b, const char *cls, const char *text,
		   const char *detail);
enum MHD_Result webd__simple_page(ctx *x, unsigned status, const char *title,
				  const char *text);
enum MHD_Result webd__session_ended(ctx *x);
wire_result *webd__ask(ctx *x, int kind, void *msg, uint32_t request_id);
bool webd__unauthenticated(const webd *w, const wire_result *r);
bool webd__too_fast(const wire_result *r);
bool webd__unreadable_store(ctx *x, const wire_result *r, const char *page);
enum MHD_Result webd__query_failed(ctx *x, const wire_result *r,
				   const char *title, const char *page);
void webd__free_result(wire_result *r);
wire_result *webd__query_of(ctx *x, int kind, const char *cpr, uint32_t limit,
			    uint32_t offset, const uint8_t *alert_id);
wire_result *webd__query(ctx *x, int kind, const char *cpr, uint32_t limit,
			 uint32_t offset);
enum MHD_Result webd__login_page(ctx *x, unsigned status, const char *error,
				 const char *notice);
enum MHD_Result webd__do_login(ctx *x, const form *f);
void webd__streams_end(webd *w, const uint8_t *token);
enum MHD_Result webd__events(ctx *x);
void webd__sessions_expire(webd *w);
enum MHD_Result webd__do_logout(ctx *x);
enum MHD_Result webd__alerts_page(ctx *x, const char *from_text,
				  const char *msg, bool fragment);
void webd__csrf_field(ctx *x, web_buf *b);
enum MHD_Result webd__alert_page(ctx *x, const char *hexid, const char *msg,
				 const char *error, unsigned status,
				 const form *kept);
enum MHD_Result webd__do_ack(ctx *x, const char *hexid, const form *f);
enum MHD_Result webd__do_action(ctx *x, const char *hexid, const form *f);
enum MHD_Result webd__timeline_page(ctx *x, const form *f);
enum MHD_Result webd__session_json(ctx *x);
enum MHD_Result webd__do_keep_alive(ctx *x);
extern const char webd__app_css[];
extern const size_t webd__app_css_len;
extern const char webd__live_js[];
extern const size_t webd__live_js_len;

#endif
