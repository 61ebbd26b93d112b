/*
 * libFuzzer target: what a logged-in browser (or anyone holding its
 * cookie) sends webd, through libmicrohttpd into the pages behind the
 * login: the alert list and its live fragment, an alert's page, its
 * acknowledgement and action forms (kind, how, date, note, CSRF), the
 * timeline form, the session and language links, logout. webd_fuzz sees
 * only the login page and what webd answers with the hub away; the pages
 * a session opens need a hub that answers.
 *
 * So a stand-in hub runs on a thread here: a CURVE ROUTER with the hub's
 * key on 127.0.0.1 answering every frame as hubd would a valid one (a
 * session for a Login; for a Query two open alerts, or a timeline, or a
 * count; OK for an acknowledgement, an action, a logout). It is not the
 * thing fuzzed: webd is. Before the first input, and again whenever an
 * input ended the session, the target logs in through the real login
 * form; in each input the bytes "@S@" stand for the session cookie's
 * value and "@C@" for the session's CSRF token, so the fuzzer reaches
 * past both checks. None may crash, read or write out of bounds, or leak.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <zmq.h>

#include "proto/wire.h"
#include "tests/fuzz/webd_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hubconn *hc;
static void *zctx, *router;
static pthread_t hub_thread;
static atomic_bool hub_stop;
static char sid[80], csrf[80];

/* ---- the stand-in hub ---- */

static void
fill_alert(wire_alert *a, Ungebro__V1__Evidence *ev,
	   Ungebro__V1__Evidence **evp, uint8_t id[WIRE_ALERT_ID_LEN], int n)
{
	ungebro__v1__alert__init(a);
	ungebro__v1__evidence__init(ev);
	memset(id, 0, WIRE_ALERT_ID_LEN);
	id[7] = (uint8_t)(n + 2);
	id[8] = n ? 4 : 1;
	a->alert_id.data = id;
	a->alert_id.len = WIRE_ALERT_ID_LEN;
	a->rule = n ? "dropout" : "absence.rolling";
	a->priority =
	    n ? UNGEBRO__V1__PRIORITY__HIGH : UNGEBRO__V1__PRIORITY__NORMAL;
	/* Synthetic, as every CPR in the tests: no real person's. */
	a->cpr = n ? "0101104321" : "";
	a->recipient = n ? "cw-fuzz" : "duty-desk";
	a->raised_at = 1788000000000LL + n;
	a->title = n ? "Dropped out of eud-smed at college-x"
		     : "Absent 10.8 % of 20 school days";
	a->explanation = "college-x reported that the young person left "
			 "college-x on 2026-09-07. Rule dropout: a dropout "
			 "alerts the contact person at once. <b>&amp;</b>";
	a->due = n ? "2026-09-14" : "";
	a->delivery = 1;
	ev->agency = "college-x";
	ev->type = UNGEBRO__V1__EVENT_TYPE__DROPOUT;
	ev->period_start = "2026-09-07";
	ev->period_end = "2026-09-11";
	ev->lessons_absent = 3;
	ev->lessons_expected = 30;
	evp[0] = ev;
	a->evidence = evp;
	a->n_evidence = 1;
}

static void
answer(void *sock, zmq_msg_t *peer, const uint8_t *frame, size_t len)
{
	int kind, code;
	void *msg = NULL;
	ug_diag diag = {0};
	wire_result r = UNGEBRO__V1__RESULT__INIT;
	static const uint8_t token[32] = {0x5a};
	wire_alert alerts[2], *alertp[2];
	Ungebro__V1__Evidence evs[2], *evp[2][1];
	uint8_t ids[2][WIRE_ALERT_ID_LEN];
	Ungebro__V1__TimelineEntry entries[2], *entryp[2];
	static uint64_t version;
	if (wire_decode(frame, len, &kind, &msg, &code, &diag) != UG_OK) {
		r.code = code;
		r.reason = "does not decode";
	} else {
		r.request_id = wire_request_id(kind, msg);
		r.caseworker = "cw-fuzz";
		r.session_idle = 1800;
	}
	if (msg && kind == UNGEBRO__V1__FRAME_KIND__FRAME_LOGIN) {
		r.session.data = (uint8_t *)token;
		r.session.len = sizeof token;
	} else if (msg && kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY) {
		const wire_query *q = msg;
		if (q->kind == UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS) {
			for (int i = 0; i < 2; i++) {
				fill_alert(&alerts[i], &evs[i], evp[i], ids[i],
					   i);
				alertp[i] = &alerts[i];
			}
			/* One alert asked for by id: that one, as it is. */
			if (q->alert_id.len == WIRE_ALERT_ID_LEN)
				memcpy(ids[1], q->alert_id.data,
				       WIRE_ALERT_ID_LEN);
			r.alerts = q->alert_id.len ? alertp + 1 : alertp;
			r.n_alerts = q->alert_id.len ? 1 : 2;
		} else if (q->kind == UNGEBRO__V1__QUERY_KIND__TIMELINE) {
			for (int i = 0; i < 2; i++) {
				ungebro__v1__timeline_entry__init(&entries[i]);
				entries[i].date = "2026-09-07";
				entries[i].is_alert = i == 1;
				entries[i].type =
				    UNGEBRO__V1__EVENT_TYPE__DROPOUT;
				entries[i].agency = "college-x";
				entries[i].rule = i ? "dropout" : "";
				entries[i].summary = "Dropout from eud-smed";
				entries[i].open = i == 1;
				entryp[i] = &entries[i];
			}
			r.timeline = entryp;
			r.n_timeline = 2;
		} else if (q->kind ==
			   UNGEBRO__V1__QUERY_KIND__ALERTS_CHANGED) {
			r.alerts_version = ++version / 3;
		}
	}
	uint8_t out[16384];
	size_t n = wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_RESULT, &r, out,
			       sizeof out);
	if (msg)
		wire_free(kind, msg);
	if (!n)
		abort(); /* the stand-in's own answer must fit */
	zmq_msg_send(peer, sock, ZMQ_SNDMORE);
	zmq_send(sock, out, n, 0);
}

static void *
hub_main(void *arg)
{
	(void)arg;
	zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
	while (!atomic_load(&hub_stop)) {
		if (zmq_poll(&item, 1, 50) <= 0)
			continue;
		zmq_msg_t peer, frame;
		zmq_msg_init(&peer);
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&peer, router, ZMQ_DONTWAIT) >= 0 &&
		    zmq_msg_recv(&frame, router, ZMQ_DONTWAIT) >= 0)
			answer(router, &peer, zmq_msg_data(&frame),
			       zmq_msg_size(&frame));
		zmq_msg_close(&peer);
		zmq_msg_close(&frame);
	}
	return NULL;
}

/* ---- one connection to webd ---- */

/* The value after `start` up to the first byte of `stop` into dst. */
static bool
pick(const char *text, const char *start, const char *stop, char *dst,
     size_t cap)
{
	const char *p = strstr(text, start);
	if (!p)
		return false;
	p += strlen(start);
	size_t n = strcspn(p, stop);
	if (n == 0 || n >= cap)
		return false;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return true;
}

/* Through the real login form: the session cookie and the session's
 * CSRF token the pages carry. */
static void
login(void)
{
	static char page[65536];
	char req[1024], form_csrf[80];
	static const char pre[] = "0123456789abcdef0123456789abcdef";
	sid[0] = csrf[0] = '\0';
	int n = snprintf(req, sizeof req,
			 "GET /login HTTP/1.1\r\nHost: x\r\nCookie: "
			 "ug_pre=%s\r\n\r\n",
			 pre);
	harness_exchange((uint8_t *)req, (size_t)n, page, sizeof page);
	if (!pick(page, "name=\"csrf\" value=\"", "\"", form_csrf,
		  sizeof form_csrf))
		abort();
	char body[256];
	int blen = snprintf(body, sizeof body,
			    "csrf=%s&caseworker=cw-fuzz&password=fuzzfuzz",
			    form_csrf);
	n = snprintf(req, sizeof req,
		     "POST /login HTTP/1.1\r\nHost: x\r\nCookie: ug_pre=%s\r\n"
		     "Content-Type: application/x-www-form-urlencoded\r\n"
		     "Content-Length: %d\r\n\r\n%s",
		     pre, blen, body);
	harness_exchange((uint8_t *)req, (size_t)n, page, sizeof page);
	if (!pick(page, "ug_session=", ";\r\n", sid, sizeof sid))
		abort();
	n = snprintf(req, sizeof req,
		     "GET /alerts HTTP/1.1\r\nHost: x\r\nCookie: "
		     "ug_session=%s\r\n\r\n",
		     sid);
	harness_exchange((uint8_t *)req, (size_t)n, page, sizeof page);
	if (!pick(page, "name=\"csrf\" value=\"", "\"", csrf, sizeof csrf))
		abort();
}

/* Whether webd still holds the session (an input may have logged out,
 * or logged in anew). */
static bool
session_alive(void)
{
	char req[256], page[4096];
	int n = snprintf(req, sizeof req,
			 "GET /session HTTP/1.1\r\nHost: x\r\nCookie: "
			 "ug_session=%s\r\n\r\n",
			 sid);
	harness_exchange((uint8_t *)req, (size_t)n, page, sizeof page);
	return strncmp(page, "HTTP/1.1 200", 12) == 0;
}

static void
teardown(void)
{
	MHD_stop_daemon(harness_d);
	webd_destroy(&harness_w);
	hubconn_close(&hc);
	atomic_store(&hub_stop, true);
	pthread_join(hub_thread, NULL);
	zmq_close(router);
	zmq_ctx_term(zctx);
	harness_remove_keys();
}

static void
setup(void)
{
	if (harness_d)
		return;
	ug_diag diag = {0};
	harness_keys("ugwebsfuzz");
	char path[128], endpoint[64];
	size_t elen = sizeof endpoint;
	ug_keys *hub = NULL;
	snprintf(path, sizeof path, "%s/hub.key_secret", harness_dir);
	int one = 1;
	zctx = zmq_ctx_new();
	router = zctx ? zmq_socket(zctx, ZMQ_ROUTER) : NULL;
	if (ug_keys_load_secret(&hub, path, &diag) != UG_OK || !router ||
	    zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
	    zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, hub->secret_z85, 40) !=
		0 ||
	    zmq_bind(router, "tcp://127.0.0.1:*") != 0 ||
	    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &elen) != 0)
		abort();
	ug_keys_destroy(&hub);
	if (pthread_create(&hub_thread, NULL, hub_main, NULL) != 0 ||
	    hubconn_open(&hc, harness_dir, "gw", endpoint, 2000, &diag) !=
		UG_OK)
		abort();
	harness_webd(hc);
	atexit(teardown);
}

/* data with every "@S@" and "@C@" replaced, into out (at most cap). */
static size_t
substitute(const uint8_t *data, size_t size, uint8_t *out, size_t cap)
{
	size_t n = 0;
	for (size_t i = 0; i < size && n < cap;) {
		const char *with = NULL;
		if (i + 3 <= size && memcmp(data + i, "@S@", 3) == 0)
			with = sid;
		else if (i + 3 <= size && memcmp(data + i, "@C@", 3) == 0)
			with = csrf;
		if (!with) {
			out[n++] = data[i++];
			continue;
		}
		size_t l = strlen(with);
		if (n + l > cap)
			break;
		memcpy(out + n, with, l);
		n += l;
		i += 3;
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (!sid[0])
		login();
	static uint8_t req[16384];
	static char page[65536];
	size_t n = substitute(data, size, req, sizeof req);
	harness_exchange(req, n, page, sizeof page);
	/* Run by hand on a seed: what webd answered, to see it got past the
	 * login and the CSRF check. */
	if (getenv("UG_FUZZ_SHOW"))
		fprintf(stderr, "%.*s\n", (int)strcspn(page, "\r\n"), page);
	if (!session_alive())
		sid[0] = '\0';
	return 0;
}
