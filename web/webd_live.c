/*
 * The live list's updates (/events) and the sessions' clock: streams
 * suspended until the hub's alerts_version moves, sessions past their
 * lifetime found and ended.
 */
#include "web/webd_int.h"

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
void
webd__streams_end(webd *w, const uint8_t *token)
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
	webd__streams_end(w, NULL);
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
	*ended = webd__unauthenticated(w, r);
	bool ok = r && r->code == UNGEBRO__V1__ERROR_CODE__OK;
	if (ok)
		*version = r->alerts_version;
	webd__free_result(r);
	return ok;
}

enum MHD_Result
webd__events(ctx *x)
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
		struct MHD_Response *r = webd__empty_response();
		if (r)
			MHD_add_response_header(r, "Retry-After", "60");
		return webd__send_response(x, 503, r,
					   "text/plain; charset=utf-8");
	}
	uint64_t version = 0;
	bool ended = false;
	if (!alerts_version(w, x->s->token, &version, &ended)) {
		if (ended)
			memset(x->s, 0, sizeof *x->s);
		return webd__send_response(x, ended ? 401 : 503,
					   webd__empty_response(),
					   "text/plain; charset=utf-8");
	}
	/* A stream's answer has no length, and libmicrohttpd would end a
	 * HEAD's with a chunk after the headers: a body where none may be.
	 * No stream is opened for it either. */
	if (x->head) {
		struct MHD_Response *r = webd__empty_response();
		if (r) {
			MHD_add_response_header(
			    r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
			MHD_add_response_header(r, "X-Accel-Buffering", "no");
		}
		return webd__send_response(x, 200, r, "text/event-stream");
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
	return webd__send_response(x, 200, r, "text/event-stream");
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
void
webd__sessions_expire(webd *w)
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
		webd__free_result(r);
	}
}

void
webd_tick(webd *w)
{
	int64_t now = ug_now_ms();
	/* Once a second: sessions_max may be a million. */
	if (now >= w->next_sweep) {
		w->next_sweep = now + 1000;
		webd__sessions_expire(w);
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
