/*
 * Metrics and health over HTTP on loopback (setting metrics_listen).
 *
 * libmicrohttpd runs without a thread of its own: hubd's loop adds MHD's
 * sockets to its zmq_poll set and calls MHD_run every turn, so a scrape
 * reads the counters and the store on the loop thread, like everything
 * else in the hub, and nothing needs a lock. A scrape reads the open
 * alerts of every registered caseworker and the desk (up to
 * MET_OLDEST_SCAN a queue); the loop is held up for that long.
 * Label values are principal ids (ug_id_valid: [a-z0-9._-]) and fixed
 * names, so none needs escaping.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"
#include "hub/metrics.h"
#include "store/store_password.h"

#define MET_AGENCIES	64
#define MET_TYPES	32
#define MET_CODES	32
#define MET_RECIPIENTS	4096 /* read per scrape; the top ones are shown */
#define MET_TOP		50
#define MET_OLDEST_SCAN 5000 /* alerts of one queue read for the oldest */

static const double batch_bounds[] = {1,  2,   4,   8,	 16,   32,
				      64, 128, 256, 512, 1024, 4096};
static const double commit_bounds[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
#define NBOUNDS 12

typedef struct {
	char id[STORE_ID_MAX];
	uint64_t events[MET_TYPES];
} met_agency;

typedef struct {
	uint64_t buckets[NBOUNDS];
	uint64_t count;
	double sum;
} histogram;

struct hub_metrics {
	struct MHD_Daemon *mhd;
	met_agency agencies[MET_AGENCIES];
	size_t nagencies;
	uint64_t other[MET_TYPES]; /* agencies beyond the table */
	uint64_t rejected[MET_CODES];
	histogram batch, commit;
	bool serving; /* hub_run caught up and entered its loop */
	int epoll_fd; /* libmicrohttpd's, or -1: it polls by select() */
};

static ug_err
parse_listen(const char *text, struct sockaddr_in *sa, ug_diag *diag)
{
	char host[64];
	const char *colon = strrchr(text, ':');
	long port = 0;
	bool ok =
	    colon &&
	    ug_parse_long(colon + 1, strlen(colon + 1), &port) == UG_OK &&
	    (size_t)(colon - text) < sizeof host && port >= 1 && port <= 65535;
	if (ok) {
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
		*sa = (struct sockaddr_in){.sin_family = AF_INET,
					   .sin_port = htons((uint16_t)port)};
		ok = inet_pton(AF_INET, host, &sa->sin_addr) == 1;
	}
	/* One text, naming the value, whatever part of it is wrong: the
	 * start puts the setting's name before it already. */
	if (!ok) {
		ug_diag_set(diag, "metrics_listen",
			    "metrics_listen must be HOST:PORT (an IPv4 "
			    "address and a port 1-65535, e.g. 127.0.0.1:7610) "
			    "or empty, not '%.200s'",
			    text);
		return UG_EINVAL;
	}
	return UG_OK;
}

ug_err
hub__metrics_check(const ug_config *cfg, ug_diag *diag)
{
	const char *listen = ug_config_get(cfg, "metrics_listen");
	struct sockaddr_in sa;
	return listen[0] ? parse_listen(listen, &sa, diag) : UG_OK;
}

/* ---- counting (ingest.c) ---- */

static met_agency *
agency_slot(hub *h, const char *agency, bool add)
{
	struct hub_metrics *m = h->metrics;
	for (size_t i = 0; i < m->nagencies; i++)
		if (strcmp(m->agencies[i].id, agency) == 0)
			return &m->agencies[i];
	if (!add || m->nagencies == MET_AGENCIES)
		return NULL;
	met_agency *a = &m->agencies[m->nagencies++];
	ug_strlcpy(a->id, agency, sizeof a->id);
	return a;
}

void
hub__metrics_event(hub *h, const char *agency, uint32_t type)
{
	if (!h->metrics)
		return;
	type = type < MET_TYPES ? type : 0;
	met_agency *a = agency_slot(h, agency, true);
	/* An agency registered as "other" among the first ones owns the
	 * series the later ones count under: two samples of one series
	 * would make the whole scrape refused. */
	if (!a)
		a = agency_slot(h, "other", false);
	if (a)
		a->events[type]++;
	else
		h->metrics->other[type]++;
}

void
hub__metrics_reject(hub *h, int code)
{
	if (h->metrics)
		h->metrics
		    ->rejected[code >= 0 && code < MET_CODES ? code : 0]++;
}

static void
observe(histogram *hg, const double *bounds, double v)
{
	for (size_t i = 0; i < NBOUNDS; i++)
		if (v <= bounds[i])
			hg->buckets[i]++;
	hg->count++;
	hg->sum += v;
}

double
hub__metrics_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
hub__metrics_batch(hub *h, size_t events, double seconds)
{
	if (!h->metrics)
		return;
	observe(&h->metrics->batch, batch_bounds, (double)events);
	observe(&h->metrics->commit, commit_bounds, seconds);
}

/* ---- the text format ---- */

typedef struct {
	char *buf;
	size_t len, cap;
	bool failed;
} text;

static void __attribute__((format(printf, 2, 3)))
put(text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = t->failed ? 0
				  : vsnprintf(t->buf + t->len, t->cap - t->len,
					      fmt, ap);
		va_end(ap);
		if (t->failed || n < 0)
			return;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		size_t cap = (t->cap + (size_t)n + 1) * 2;
		char *grown = realloc(t->buf, cap);
		if (!grown) {
			t->failed = true;
			return;
		}
		t->buf = grown;
		t->cap = cap;
	}
}

/* The shortest of 15-17 significant digits that reads back as the same
 * double: 0.011, not %.17g's 0.010999999999999999. */
struct number {
	char text[32];
};

static struct number
number(double v)
{
	struct number n;
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(n.text, sizeof n.text, "%.*g", digits, v);
		if (strtod(n.text, NULL) == v)
			break;
	}
	return n;
}

static void
head(text *t, const char *name, const char *type, const char *help)
{
	put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
counter(text *t, const char *name, const char *help, uint64_t v)
{
	head(t, name, "counter", help);
	put(t, "%s %llu\n", name, (unsigned long long)v);
}

static void
gauge(text *t, const char *name, const char *help, double v)
{
	head(t, name, "gauge", help);
	put(t, "%s %s\n", name, number(v).text);
}

static void
hist(text *t, const char *name, const char *help, const histogram *hg,
     const double *bounds)
{
	head(t, name, "histogram", help);
	for (size_t i = 0; i < NBOUNDS; i++)
		put(t, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
		    (unsigned long long)hg->buckets[i]);
	put(t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %s\n%s_count %llu\n", name,
	    (unsigned long long)hg->count, name, number(hg->sum).text, name,
	    (unsigned long long)hg->count);
}

static const char *
type_name(uint32_t type)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &ungebro__v1__event_type__descriptor, (int)type);
	return v ? v->name : "UNKNOWN";
}

static void
events_in(hub *h, text *t)
{
	struct hub_metrics *m = h->metrics;
	head(t, "ungebro_events_in_total", "counter",
	     "events accepted (stored), by agency and event type");
	for (size_t i = 0; i < m->nagencies; i++)
		for (uint32_t ty = 0; ty < MET_TYPES; ty++)
			if (m->agencies[i].events[ty])
				put(t,
				    "ungebro_events_in_total{agency=\"%s\","
				    "type=\"%s\"} %llu\n",
				    m->agencies[i].id, type_name(ty),
				    (unsigned long long)m->agencies[i]
					.events[ty]);
	for (uint32_t ty = 0; ty < MET_TYPES; ty++)
		if (m->other[ty])
			put(t,
			    "ungebro_events_in_total{agency=\"other\","
			    "type=\"%s\"} %llu\n",
			    type_name(ty), (unsigned long long)m->other[ty]);
	head(t, "ungebro_events_rejected_total", "counter",
	     "events refused, by error code");
	for (int c = 0; c < MET_CODES; c++) {
		const ProtobufCEnumValue *v =
		    protobuf_c_enum_descriptor_get_value(
			&ungebro__v1__error_code__descriptor, c);
		if (m->rejected[c] || (v && c != 0))
			put(t,
			    "ungebro_events_rejected_total{code=\"%s\"} "
			    "%llu\n",
			    v ? v->name : "OTHER",
			    (unsigned long long)m->rejected[c]);
	}
}

typedef struct {
	char id[STORE_ID_MAX];
	size_t depth;
} depth;

typedef struct {
	depth *d;
	size_t n;
} depths;

typedef struct {
	depths ds;
	const char *desk;
} recipients;

static ug_err
add_recipient(void *ctx, const char *id, uint32_t flags)
{
	recipients *r = ctx;
	/* A web gateway is registered as a caseworker but receives no
	 * alerts of its own: not a queue. A caseworker registered under the
	 * desk's id reads the desk's queue, which is added once below: two
	 * samples of one series would fail the whole scrape. */
	if ((flags & STORE_FLAG_GATEWAY) || strcmp(id, r->desk) == 0)
		return UG_OK;
	if (r->ds.n < MET_RECIPIENTS)
		ug_strlcpy(r->ds.d[r->ds.n++].id, id, STORE_ID_MAX);
	return UG_OK;
}

static int
by_depth(const void *a, const void *b)
{
	const depth *x = a, *y = b;
	return x->depth < y->depth   ? 1
	       : x->depth > y->depth ? -1
				     : strcmp(x->id, y->id);
}

static ug_err
oldest_cb(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	  uint32_t deliveries)
{
	(void)id;
	(void)deliveries;
	int64_t *oldest = ctx;
	wire_alert *a =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (a) {
		if (a->raised_at > 0 &&
		    (*oldest < 0 || a->raised_at < *oldest))
			*oldest = a->raised_at;
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, a);
	}
	return UG_OK;
}

/* Queue depth of every registered caseworker and the desk, and the
 * oldest open alert. A queue runs in the order of the raising events,
 * not of raising: a timer's alert for an early event, an escalation
 * notice or an ops alert may stand before or behind alerts raised long
 * before it, so each queue is read, up to MET_OLDEST_SCAN of it. */
static void
queues(hub *h, text *t)
{
	recipients r = {{calloc(MET_RECIPIENTS + 1, sizeof(depth)), 0},
			h->rules.desk};
	depths ds;
	if (!r.ds.d) {
		t->failed = true;
		return;
	}
	(void)store_principal_list(h->store, STORE_CASEWORKER, add_recipient,
				   &r);
	ds = r.ds;
	ug_strlcpy(ds.d[ds.n++].id, h->rules.desk, STORE_ID_MAX);
	int64_t oldest = -1;
	for (size_t i = 0; i < ds.n; i++) {
		if (store_alerts_count(h->store, ds.d[i].id, &ds.d[i].depth) !=
			UG_OK ||
		    ds.d[i].depth == 0)
			continue;
		(void)store_alerts_open(h->store, ds.d[i].id, NULL,
					MET_OLDEST_SCAN, oldest_cb, &oldest);
	}
	qsort(ds.d, ds.n, sizeof *ds.d, by_depth);
	head(t, "ungebro_queue_depth", "gauge",
	     "open (unacknowledged) alerts per recipient, the deepest 50");
	for (size_t i = 0; i < ds.n && i < MET_TOP; i++)
		put(t, "ungebro_queue_depth{recipient=\"%s\"} %zu\n",
		    ds.d[i].id, ds.d[i].depth);
	gauge(t, "ungebro_oldest_unacked_alert_age_seconds",
	      "age on the hub clock of the oldest open alert, 0 when none",
	      oldest < 0 || oldest > h->now
		  ? 0
		  : (double)(h->now - oldest) / 1000);
	free(ds.d);
}

static void
per_env(text *t, const char *name, const char *help, double log,
	double derived, double ids)
{
	head(t, name, "gauge", help);
	put(t, "%s{env=\"log\"} %s\n%s{env=\"derived\"} %s\n", name,
	    number(log).text, name, number(derived).text);
	put(t, "%s{env=\"ids\"} %s\n", name, number(ids).text);
}

static void
store_metrics(hub *h, text *t)
{
	store_stats st;
	if (store_get_stats(h->store, &st) != UG_OK) {
		t->failed = true;
		return;
	}
	gauge(t, "ungebro_alerts_open",
	      "alerts waiting for an "
	      "acknowledgement, all recipients",
	      (double)st.alerts_open);
	gauge(t, "ungebro_log_last_sequence", "highest log sequence",
	      (double)st.last_seq);
	gauge(t, "ungebro_derived_last_applied",
	      "last log sequence applied to the derived state",
	      (double)st.last_applied);
	gauge(t, "ungebro_timers",
	      "stored timers (legal clocks, "
	      "acknowledgement deadlines)",
	      (double)st.timers);
	int64_t due = 0;
	bool any = store_next_timer(h->store, &due) == UG_OK;
	gauge(t, "ungebro_timers_overdue_seconds",
	      "how long the earliest "
	      "timer has been due on the hub clock, 0 when none is due",
	      any && due < h->now ? (double)(h->now - due) / 1000 : 0);
	/* The file's length, free pages inside it included: "in use" read
	 * as a page count made a purge look like it failed to free any. */
	per_env(t, "ungebro_lmdb_map_used_bytes",
		"bytes of each LMDB environment's data file (its pages up to "
		"the last written, free ones included)",
		(double)st.log_bytes, (double)st.derived_bytes,
		(double)st.ids_bytes);
	per_env(t, "ungebro_lmdb_map_size_bytes",
		"map size of each LMDB "
		"environment (log_map_mb, derived_map_mb; ids: log_map_mb)",
		(double)st.log_map_bytes, (double)st.derived_map_bytes,
		(double)st.ids_map_bytes);
	per_env(
	    t, "ungebro_lmdb_map_use_ratio", "used / map size, 0..1",
	    st.log_map_bytes ? (double)st.log_bytes / (double)st.log_map_bytes
			     : 0,
	    st.derived_map_bytes
		? (double)st.derived_bytes / (double)st.derived_map_bytes
		: 0,
	    st.ids_map_bytes ? (double)st.ids_bytes / (double)st.ids_map_bytes
			     : 0);
	per_env(t, "ungebro_lmdb_readers",
		"reader slots in use in each LMDB "
		"environment's reader table",
		(double)st.log_readers, (double)st.derived_readers,
		(double)st.ids_readers);
	per_env(t, "ungebro_lmdb_max_readers",
		"size of each LMDB "
		"environment's reader table",
		(double)st.log_max_readers, (double)st.derived_max_readers,
		(double)st.ids_max_readers);
	gauge(t, "ungebro_audit_chain_length", "records in the audit trail",
	      (double)st.audit_records);
}

static char *
render(hub *h, size_t *len)
{
	struct hub_metrics *m = h->metrics;
	text t = {0};
	events_in(h, &t);
	counter(&t, "ungebro_events_duplicate_total",
		"resent events answered DUPLICATE", h->duplicates);
	hist(&t, "ungebro_ingest_batch_size",
	     "events written per "
	     "transaction",
	     &m->batch, batch_bounds);
	hist(&t, "ungebro_commit_seconds",
	     "time of one synchronous "
	     "append transaction",
	     &m->commit, commit_bounds);
	counter(&t, "ungebro_alerts_raised_total",
		"alerts raised by the "
		"rules",
		h->alerts_raised);
	counter(&t, "ungebro_alerts_delivered_total",
		"alerts sent to a "
		"caseworker's session",
		h->alerts_delivered);
	counter(&t, "ungebro_alerts_acked_total", "alerts acknowledged",
		h->alerts_acked);
	counter(&t, "ungebro_escalations_total", "escalation notices sent",
		h->escalations);
	counter(&t, "ungebro_deadlines_missed_total",
		"legal deadlines "
		"missed",
		h->deadlines_missed);
	store_metrics(h, &t);
	queues(h, &t);
	hub__ops_metrics(h, &t.buf, &t.len, &t.cap, &t.failed);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	*len = t.len;
	return t.buf;
}

/* Appends for ops_alerts.c, which has no access to the text type. */
void
hub__metrics_put(char **buf, size_t *len, size_t *cap, bool *failed,
		 const char *line)
{
	text t = {*buf, *len, *cap, *failed};
	put(&t, "%s", line);
	*buf = t.buf;
	*len = t.len;
	*cap = t.cap;
	*failed = t.failed;
}

bool
hub__ready(hub *h, const char **why)
{
	uint64_t last = 0;
	if (!h->store || !h->ingest || !h->delivery) {
		*why = "store or sockets not open\n";
		return false;
	}
	if (!h->metrics->serving) {
		*why = "replaying the log\n";
		return false;
	}
	uint64_t applied = store_derived_last_applied(h->store);
	if (store_log_last(h->store, &last) != UG_OK) {
		/* Whether the derived state is level is not known then:
		 * "behind the log" would send an operator after the rules. */
		*why = "store unreadable\n";
		return false;
	}
	/* Behind at all and not catching up, because applying fails: the
	 * lag alone may stay below the bound (the ingest gate refuses
	 * events once it is HUB_APPLY_LAG_MAX behind). */
	ug_err err = (ug_err)atomic_load(&h->apply_err);
	if (last > applied && err != UG_OK) {
		const char *setting = store_map_full();
		*why = err != UG_EFULL ? "derived state behind the log: "
					 "applying events fails\n"
		       : setting && strcmp(setting, "log_map_mb") == 0
			   ? "derived state behind the log: the log map is "
			     "full (log_map_mb)\n"
			   : "derived state behind the log: the derived map "
			     "is full (derived_map_mb)\n";
		return false;
	}
	/* Under load the rules run up to HUB_APPLY_LAG_MAX entries and one
	 * batch behind the acks by design (applier.c): not a reason to take
	 * hubd out of a load balancer's rotation. */
	if (last > applied &&
	    last - applied > HUB_APPLY_LAG_MAX + (uint64_t)h->batch_max) {
		*why = "derived state behind the log\n";
		return false;
	}
	*why = "ready\n";
	return true;
}

static enum MHD_Result
reply_allow(struct MHD_Connection *c, unsigned status, const char *type,
	    char *body, size_t len, enum MHD_ResponseMemoryMode mode,
	    const char *allow)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, body, mode);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	enum MHD_Result ok = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned status, const char *type, char *body,
      size_t len, enum MHD_ResponseMemoryMode mode)
{
	return reply_allow(c, status, type, body, len, mode, NULL);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *c, const char *url,
       const char *method, const char *version, const char *upload,
       size_t *upload_len, void **state)
{
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	hub *h = cls;
	const char *plain = "text/plain; charset=utf-8";
	/* A 405 says what is allowed (RFC 9110, 15.5.6): probes read it. */
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply_allow(c, MHD_HTTP_METHOD_NOT_ALLOWED, plain,
				   "GET or HEAD only\n", 17,
				   MHD_RESPMEM_PERSISTENT, "GET, HEAD");
	if (strcmp(url, "/healthz") == 0)
		return reply(c, MHD_HTTP_OK, plain, "ok\n", 3,
			     MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/readyz") == 0) {
		const char *why;
		bool ready = hub__ready(h, &why);
		return reply(
		    c, ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
		    plain, (char *)why, strlen(why), MHD_RESPMEM_PERSISTENT);
	}
	if (strcmp(url, "/metrics") == 0) {
		size_t len = 0;
		char *body = render(h, &len);
		if (!body)
			return reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, plain,
				     "store unreadable\n", 17,
				     MHD_RESPMEM_PERSISTENT);
		return reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4", body,
			     len, MHD_RESPMEM_MUST_FREE);
	}
	return reply(c, MHD_HTTP_NOT_FOUND, plain, "not found\n", 10,
		     MHD_RESPMEM_PERSISTENT);
}

/* libmicrohttpd's own messages would go to stderr bare, without time,
 * level or message id, between hubd's log lines: they go through the log
 * instead (a refused bind is reported by HUB-START, with the address). */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char line[256];
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\r\n")] = '\0';
	log_info("HUB-METRICS", "libmicrohttpd: %s", line);
}

ug_err
hub__metrics_open(hub *h, const ug_config *cfg, ug_diag *diag)
{
	h->metrics = calloc(1, sizeof *h->metrics);
	if (!h->metrics)
		return UG_ENOMEM;
	const char *listen = ug_config_get(cfg, "metrics_listen");
	if (!listen[0])
		return UG_OK;
	struct sockaddr_in sa;
	ug_err err = parse_listen(listen, &sa, diag);
	if (err != UG_OK)
		return err;
	/* No threading flag: MHD runs only when the loop calls MHD_run.
	 * The port besides the address is for libmicrohttpd's messages,
	 * which name it ("Failed to bind to port N"). */
	/* MHD_USE_AUTO: epoll where there is one, so the loop polls one
	 * descriptor; by select() every connection from descriptor 1024
	 * (FD_SETSIZE) on is refused, and a hub with a thousand sessions
	 * would answer no /readyz. */
	h->metrics->epoll_fd = -1;
	h->metrics->mhd = MHD_start_daemon(
	    MHD_USE_ERROR_LOG | MHD_USE_AUTO, ntohs(sa.sin_port), NULL, NULL,
	    handle, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)HUB_METRICS_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!h->metrics->mhd) {
		ug_diag_set(diag, "metrics_listen",
			    "cannot listen on %s "
			    "(in use, or not a local address)",
			    listen);
		return UG_EIO;
	}
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(h->metrics->mhd, MHD_DAEMON_INFO_FLAGS);
	if (info && (info->flags & MHD_USE_EPOLL)) {
		info = MHD_get_daemon_info(h->metrics->mhd,
					   MHD_DAEMON_INFO_EPOLL_FD);
		if (info)
			h->metrics->epoll_fd = info->epoll_fd;
	}
	log_notice("HUB-METRICS", "metrics and health on http://%s/", listen);
	return UG_OK;
}

void
hub__metrics_close(hub *h)
{
	if (!h->metrics)
		return;
	if (h->metrics->mhd)
		MHD_stop_daemon(h->metrics->mhd);
	free(h->metrics);
	h->metrics = NULL;
}

void
hub__metrics_serving(hub *h)
{
	h->metrics->serving = true;
}

size_t
hub__metrics_poll(hub *h, zmq_pollitem_t *items, size_t max, long *timeout)
{
	struct hub_metrics *m = h->metrics;
	if (!m || !m->mhd)
		return 0;
	MHD_UNSIGNED_LONG_LONG ms;
	if (m->epoll_fd >= 0 && max > 0) {
		items[0] = (zmq_pollitem_t){NULL, m->epoll_fd, ZMQ_POLLIN, 0};
		if (MHD_get_timeout(m->mhd, &ms) == MHD_YES &&
		    (long long)ms < *timeout)
			*timeout = (long)ms;
		return 1;
	}
	fd_set rs, ws, es;
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_ZERO(&es);
	MHD_socket top = -1;
	if (MHD_get_fdset2(m->mhd, &rs, &ws, &es, &top, FD_SETSIZE) != MHD_YES)
		return 0;
	size_t n = 0;
	for (int fd = 0; fd <= top && n < max; fd++) {
		short ev = (short)((FD_ISSET(fd, &rs) ? ZMQ_POLLIN : 0) |
				   (FD_ISSET(fd, &ws) ? ZMQ_POLLOUT : 0));
		if (ev)
			items[n++] = (zmq_pollitem_t){NULL, fd, ev, 0};
	}
	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES &&
	    (long long)ms < *timeout)
		*timeout = (long)ms;
	return n;
}

void
hub__metrics_run(hub *h)
{
	if (h->metrics && h->metrics->mhd)
		MHD_run(h->metrics->mhd);
}
