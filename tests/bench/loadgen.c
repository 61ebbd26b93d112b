/*
 * ug-loadgen: a load client that speaks docs/PROTOCOL.md to a real hubd
 * the way an agency's adapter would (CURVE, DEALER, one frame per message,
 * acks matched by event_id), keeping a fixed window of events in flight on
 * each connection and recording every event's send-to-ack time. Optionally
 * it is also a caseworker client on the delivery endpoint and times each
 * absence alert from the send of the event that raised it.
 *
 * It exists because the bench must measure the hub, not its client: the
 * Python client tops out below the hub's rate. Events are AbsenceReports
 * padded to --size bytes per frame; ids are time-ordered as PROTOCOL.md
 * recommends (bytes 0-7 occurred_at, 8-11 --tag, 12-15 the event's index).
 * CPR numbers are synthetic (born 2011-2012, serials 4xxx-9xxx) and unique
 * per (--phase, pupil, connection).
 *
 * Prints one JSON object on stdout; progress and errors on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "common/keys.h"
#include "common/util.h"
#include "proto/wire.h"

#define CONN_MAX   256
#define SCHOOL_MAX 256

typedef struct {
	const char *endpoint, *server_key, *key, *delivery, *caseworker_key;
	const char *alert_cprs, *start;
	long events, window, connections, pupils, alert_pupils, size;
	long phase;
	uint32_t tag;
	double seconds, alert_wait;
	bool alert_cprs_only;
} options;

typedef struct {
	void *sock;
	long inflight;
	long sent; /* events sent on this connection */
} conn;

static int64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double
pct_ms(const int64_t *sorted, size_t n, double p)
{
	if (n == 0)
		return -1;
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)sorted[i] / 1e6;
}

/* Pupil k of connection c in a phase: a synthetic CPR, ddmmyy + serial. */
static void
pupil_cpr(const options *o, long c, long k, char out[11])
{
	long g = (o->phase * o->pupils + k) * o->connections + c;
	int32_t born;
	ug_date_parse("2011-01-01", &born);
	born += (int32_t)(g % 730);
	long rest = g / 730;
	char day[11];
	ug_date_format(born, day); /* YYYY-MM-DD */
	memcpy(out, day + 8, 2);
	memcpy(out + 2, day + 5, 2);
	memcpy(out + 4, day + 2, 2);
	out[6] = "456789"[rest / 1000 % 6];
	out[7] = (char)('0' + rest / 100 % 10);
	out[8] = (char)('0' + rest / 10 % 10);
	out[9] = (char)('0' + rest % 10);
	out[10] = '\0';
}

static void *
curve_socket(void *zmq, const char *endpoint, const char *server_key,
	     const ug_keys *keys)
{
	void *s = zmq_socket(zmq, ZMQ_DEALER);
	int zero = 0;
	if (!s || zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero) ||
	    zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero) ||
	    zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, server_key,
			   UG_Z85_KEY_LEN) ||
	    zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys->public_z85,
			   UG_Z85_KEY_LEN) ||
	    zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys->secret_z85,
			   UG_Z85_KEY_LEN) ||
	    zmq_connect(s, endpoint)) {
		fprintf(stderr, "ug-loadgen: socket for %s: %s\n", endpoint,
			zmq_strerror(errno));
		exit(2);
	}
	return s;
}

static ug_keys *
load_keys(const char *path)
{
	ug_keys *k = NULL;
	ug_diag d = {0};
	if (ug_keys_load_secret(&k, path, &d) != UG_OK) {
		fprintf(stderr, "ug-loadgen: %s: %s\n", path, d.reason);
		exit(2);
	}
	return k;
}

static void
load_server_key(const char *path, char z85[UG_Z85_KEY_LEN + 1])
{
	char id[UG_ID_MAX];
	ug_diag d = {0};
	if (ug_keys_load_public(path, id, z85, &d) != UG_OK) {
		fprintf(stderr, "ug-loadgen: %s: %s\n", path, d.reason);
		exit(2);
	}
}

/* The run's state: what was sent when, and what came back. */
typedef struct {
	const options *o;
	const ug_keys *keys;
	int64_t *sent_ns; /* per event index */
	int64_t *lat_ns;  /* per ack, in arrival order */
	size_t nlat;
	long sent, accepted, duplicate, rejected;
	int64_t first_ns, last_ack_ns;
	char reason[256];
	/* first week's Monday (days since the epoch) */
	int32_t start_day;
	char school[SCHOOL_MAX + 1];
	int64_t *alert_lat_ns;
	size_t nalerts;
} run;

/* Frame event i (overall), the per_conn-th of connection c, into buf;
 * returns its length. Pupil and week follow the connection's own count,
 * so each pupil gets one report a week whichever connection had room. */
static size_t
frame_event(run *r, long i, long c, long per_conn, uint8_t *buf, size_t cap,
	    uint64_t *seed)
{
	const options *o = r->o;
	long week = per_conn / o->pupils, k = per_conn % o->pupils;
	int32_t monday = r->start_day + (int32_t)(7 * week);
	char start[11], end[11], cpr[11];
	ug_date_format(monday, start);
	ug_date_format(monday + 4, end);
	pupil_cpr(o, c, k, cpr);
	/* Alert pupils (the first --alert-pupils of connection 0) report 1
	 * of 30 lessons missed, then 12 of 30 from week 2 on: the rolling
	 * 4-week measure (10 %) is crossed exactly once. The others miss
	 * 0 to 3 of 30 at random; the threshold is reached at 10 %, so
	 * about one in ten of them over 20 weeks alerts too (unassigned:
	 * to the duty desk, not timed), as real absence would. */
	uint32_t absent;
	if (c == 0 && k < o->alert_pupils)
		absent = week >= 2 ? 12 : 1;
	else {
		*seed =
		    *seed * 6364136223846793005ull + 1442695040888963407ull;
		absent = (uint32_t)(*seed >> 33) % 4;
	}
	int64_t occurred = (int64_t)(monday + 4) * 86400000;
	uint8_t id[WIRE_EVENT_ID_LEN];
	ug_put_be64(id, (uint64_t)occurred);
	ug_put_be32(id + 8, r->o->tag);
	ug_put_be32(id + 12, (uint32_t)i);

	Ungebro__V1__AbsenceReport rep = UNGEBRO__V1__ABSENCE_REPORT__INIT;
	rep.school = r->school;
	rep.period_start = start;
	rep.period_end = end;
	rep.lessons_absent = absent;
	rep.lessons_expected = 30;
	rep.kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
	rep.grade = 8;
	wire_envelope env = UNGEBRO__V1__ENVELOPE__INIT;
	env.event_id.data = id;
	env.event_id.len = sizeof id;
	env.agency = (char *)r->keys->id;
	env.schema_version = WIRE_SCHEMA_VERSION;
	env.type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
	env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	env.occurred_at = occurred;
	env.sent_at = ug_now_ms();
	env.cpr = cpr;
	env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT;
	env.absence_report = &rep;
	return wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, &env, buf,
			   cap);
}

static void
on_ack(run *r, conn *cn, const uint8_t *data, size_t len, int64_t now)
{
	int kind, code;
	void *msg;
	ug_diag d = {0};
	if (wire_decode(data, len, &kind, &msg, &code, &d) != UG_OK)
		return;
	wire_ack *ack = msg;
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ACK &&
	    ack->event_id.len == WIRE_EVENT_ID_LEN &&
	    ug_get_be32(ack->event_id.data + 8) == r->o->tag) {
		uint32_t i = ug_get_be32(ack->event_id.data + 12);
		if ((long)i < r->sent && r->sent_ns[i]) {
			r->lat_ns[r->nlat++] = now - r->sent_ns[i];
			r->sent_ns[i] = 0;
			cn->inflight--;
			r->last_ack_ns = now;
			if (ack->status == UNGEBRO__V1__ACK_STATUS__ACCEPTED)
				r->accepted++;
			else if (ack->status ==
				 UNGEBRO__V1__ACK_STATUS__DUPLICATE)
				r->duplicate++;
			else {
				r->rejected++;
				if (!r->reason[0] && ack->reason)
					ug_strlcpy(r->reason, ack->reason,
						   sizeof r->reason);
			}
		}
	}
	wire_free(kind, msg);
}

/* An alert on the delivery socket: time it against the send of the newest
 * of its evidence events that this run sent, then acknowledge it. */
static void
on_alert(run *r, void *sock, const uint8_t *data, size_t len, int64_t now)
{
	int kind, code;
	void *msg;
	ug_diag d = {0};
	if (wire_decode(data, len, &kind, &msg, &code, &d) != UG_OK)
		return;
	if (kind != UNGEBRO__V1__FRAME_KIND__FRAME_ALERT) {
		wire_free(kind, msg);
		return;
	}
	wire_alert *a = msg;
	int64_t cause = 0;
	for (size_t e = 0; e < a->n_evidence; e++) {
		ProtobufCBinaryData *id = &a->evidence[e]->event_id;
		if (id->len != WIRE_EVENT_ID_LEN ||
		    ug_get_be32(id->data + 8) != r->o->tag)
			continue;
		uint32_t i = ug_get_be32(id->data + 12);
		if ((long)i < r->sent && r->alert_lat_ns[i] > cause)
			cause = r->alert_lat_ns[i];
	}
	if (cause && strcmp(a->rule, "absence.rolling") == 0)
		r->alert_lat_ns[r->o->events + (long)r->nalerts++] =
		    now - cause;
	wire_alert_ack ack = UNGEBRO__V1__ALERT_ACK__INIT;
	ack.alert_id = a->alert_id;
	uint8_t buf[128];
	size_t n = wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK, &ack,
			       buf, sizeof buf);
	if (n)
		zmq_send(sock, buf, n, ZMQ_DONTWAIT);
	wire_free(kind, msg);
}

/* Alert pupil k crosses with its third weekly report, connection 0's
 * event 2 * pupils + k: with several connections (or --seconds) the
 * later ones may never have been sent, and must not be waited for. */
static long
alerts_due(const options *o, long sent0)
{
	long due = sent0 - 2 * o->pupils;
	if (due < 0)
		due = 0;
	return due < o->alert_pupils ? due : o->alert_pupils;
}

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: ug-loadgen --endpoint EP --server-key HUB.key "
	    "--key AGENCY.key_secret [options]\n"
	    "  -h, --help        show this text\n"
	    "  --events N        events to send (default 10000; 1 or more)\n"
	    "  --seconds S       stop sending after S seconds (0: no limit;\n"
	    "                    0 to 1000000, fractions too), or after\n"
	    "                    --events if that comes first\n"
	    "  --window W        events in flight per connection (100; 1 or\n"
	    "                    more)\n"
	    "  --connections C   concurrent connections (1; at least 1, at "
	    "most 256)\n"
	    "  --size B          bytes per event frame (300; within what\n"
	    "                    padding the school id can reach)\n"
	    "  --tag T           run tag, in every event id (1; 0 to "
	    "4294967295)\n"
	    "  --phase P         selects the run's pupils (0; 0 or more,\n"
	    "                    (P + 1) x pupils x connections at most\n"
	    "                    9223372036854775807)\n"
	    "  --pupils P        pupils per connection (1000; 1 or more)\n"
	    "  --start DATE      Monday of the first reported week "
	    "(2025-01-06)\n"
	    "  --alert-pupils A  pupils of connection 0 that cross the\n"
	    "                    absence threshold once (0; at most "
	    "--pupils)\n"
	    "  --alert-cprs FILE write those pupils' CPRs, one a line\n"
	    "                    (a pupil's CPR follows from --phase,\n"
	    "                    --pupils and --connections: give the\n"
	    "                    run's own)\n"
	    "  --alert-cprs-only write them and exit (to assign them first;\n"
	    "                    needs --alert-cprs)\n"
	    "  --delivery EP --caseworker-key FILE  time their alerts (each\n"
	    "                    needs the other)\n"
	    "  --alert-wait S    wait this long for them after the load "
	    "(15;\n"
	    "                    0 to 1000000, fractions too)\n"
	    "A value out of its range, or not a number, is a bad option\n"
	    "(exit 2, no JSON).\n"
	    "Prints one JSON object on stdout: sent, acked (events the hub\n"
	    "answered: accepted + duplicate + rejected), accepted, "
	    "duplicate,\n"
	    "rejected, seconds (first send to last ack), rate (acks/s), "
	    "p50_ms,\n"
	    "p99_ms, p999_ms, max_ms (send to ack), frame_bytes, "
	    "connections,\n"
	    "window, alerts_expected (alert pupils whose crossing report "
	    "was\n"
	    "sent; 0 without --delivery), alerts_seen, e2a_p50_ms, "
	    "e2a_p99_ms\n"
	    "(send of the crossing event to its alert), reject_reason; "
	    "-1 for\n"
	    "a latency with nothing measured. Exit 0: every event acked, "
	    "none\n"
	    "rejected (DUPLICATE counts as acked); 1: not so (it gives up\n"
	    "after 30 s without an ack, the JSON then says what came), or a\n"
	    "send failed (no JSON), or the JSON could not be written\n"
	    "(standard output on a full disk or closed); 2: bad options,\n"
	    "keys, --start, an --alert-cprs file that cannot be written\n"
	    "whole, or more --events than memory can time (no JSON).\n");
}

/* Option values: junk or a number out of range is a usage error, never
 * a silent 0 (atol's answer to "abc") nor a run of something else than
 * was asked for; the message names the range, so 0 where 1 is the least
 * is not told "0 or more". */
static long
long_arg(const char *name, const char *text, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < min || v > max) {
		if (errno == ERANGE && v == LONG_MAX && end != text && !*end)
			/* Digits past what a long holds are a whole number,
			 * only a larger one than this program counts to. */
			fprintf(stderr,
				"ug-loadgen: --%s: too large, at most %ld: "
				"%s\n",
				name, max, text);
		else if (max == LONG_MAX)
			fprintf(stderr,
				"ug-loadgen: --%s: not a whole number of %ld "
				"or more: %s\n",
				name, min, text);
		else
			fprintf(
			    stderr,
			    "ug-loadgen: --%s: not a whole number from %ld "
			    "to %ld: %s\n",
			    name, min, max, text);
		exit(2);
	}
	return v;
}

static double
seconds_arg(const char *name, const char *text)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || !(v >= 0) || v > 1e6) {
		fprintf(stderr,
			"ug-loadgen: --%s: not a number of seconds (0 to "
			"1000000): %s\n",
			name, text);
		exit(2);
	}
	return v;
}

static void
parse_args(int argc, char **argv, options *o)
{
	*o = (options){.events = 10000,
		       .window = 100,
		       .connections = 1,
		       .size = 300,
		       .tag = 1,
		       .pupils = 1000,
		       .start = "2025-01-06",
		       .alert_wait = 15};
	static const struct option longs[] = {{"endpoint", 1, 0, 'e'},
					      {"server-key", 1, 0, 'K'},
					      {"key", 1, 0, 'k'},
					      {"events", 1, 0, 'n'},
					      {"seconds", 1, 0, 's'},
					      {"window", 1, 0, 'w'},
					      {"connections", 1, 0, 'c'},
					      {"size", 1, 0, 'b'},
					      {"tag", 1, 0, 't'},
					      {"phase", 1, 0, 'p'},
					      {"pupils", 1, 0, 'u'},
					      {"start", 1, 0, 'S'},
					      {"alert-pupils", 1, 0, 'a'},
					      {"alert-cprs", 1, 0, 'A'},
					      {"alert-cprs-only", 0, 0, 'O'},
					      {"delivery", 1, 0, 'd'},
					      {"caseworker-key", 1, 0, 'C'},
					      {"alert-wait", 1, 0, 'W'},
					      {"help", 0, 0, 'h'},
					      {0, 0, 0, 0}};
	int ch;
	/* -h wins wherever it stands, as in every program: a first pass
	 * looks for it alone, before a bad option or value can end the
	 * run; optind 0 makes getopt start the real pass afresh. */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1)
		if (ch == 'h') {
			/* | head may go before the text is written: EPIPE
			 * below, not a death by SIGPIPE. */
			signal(SIGPIPE, SIG_IGN);
			usage(stdout);
			/* As the other programs' --help: common/config.c. */
			if ((fflush(stdout) != 0 || ferror(stdout)) &&
			    errno != EPIPE) {
				fprintf(stderr,
					"ug-loadgen: cannot write standard "
					"output: %s\n",
					strerror(errno ? errno : EIO));
				exit(1);
			}
			exit(0);
		}
	/* getopt's own messages would name the program by the path it was
	 * run as; every other message here says "ug-loadgen:". */
	optind = 0;
	while ((ch = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		switch (ch) {
		case 'e':
			o->endpoint = optarg;
			break;
		case 'K':
			o->server_key = optarg;
			break;
		case 'k':
			o->key = optarg;
			break;
		case 'n':
			o->events = long_arg("events", optarg, 1, LONG_MAX);
			break;
		case 's':
			o->seconds = seconds_arg("seconds", optarg);
			break;
		case 'w':
			o->window = long_arg("window", optarg, 1, LONG_MAX);
			break;
		case 'c':
			o->connections =
			    long_arg("connections", optarg, 1, CONN_MAX);
			break;
		case 'b':
			o->size = long_arg("size", optarg, 0, LONG_MAX);
			break;
		case 't':
			o->tag =
			    (uint32_t)long_arg("tag", optarg, 0, UINT32_MAX);
			break;
		case 'p':
			o->phase = long_arg("phase", optarg, 0, LONG_MAX);
			break;
		case 'u':
			o->pupils = long_arg("pupils", optarg, 1, LONG_MAX);
			break;
		case 'S':
			o->start = optarg;
			break;
		case 'a':
			o->alert_pupils =
			    long_arg("alert-pupils", optarg, 0, LONG_MAX);
			break;
		case 'A':
			o->alert_cprs = optarg;
			break;
		case 'O':
			o->alert_cprs_only = true;
			break;
		case 'd':
			o->delivery = optarg;
			break;
		case 'C':
			o->caseworker_key = optarg;
			break;
		case 'W':
			o->alert_wait = seconds_arg("alert-wait", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case ':':
			fprintf(stderr, "ug-loadgen: %s needs a value\n",
				argv[optind - 1]);
			usage(stderr);
			exit(2);
		default:
			fprintf(stderr,
				"ug-loadgen: unknown option %s (see --help)\n",
				argv[optind - 1]);
			usage(stderr);
			exit(2);
		}
	}
	/* Every setting is an option: a stray word is most likely a value
	 * whose option was left out, and a run of the defaults instead
	 * would measure something else. */
	if (optind < argc) {
		fprintf(stderr, "ug-loadgen: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		exit(2);
	}
	/* Every report is a school week, Monday to Friday, from --start:
	 * another weekday would report weeks no school has. */
	int32_t day;
	if (ug_date_parse(o->start, &day) != UG_OK) {
		fprintf(stderr, "ug-loadgen: --start: not a date: %s\n",
			o->start);
		exit(2);
	}
	if (ug_weekday(day) != 0) {
		fprintf(stderr, "ug-loadgen: --start: %s is not a Monday\n",
			o->start);
		exit(2);
	}
	if (o->alert_pupils > o->pupils) {
		fprintf(
		    stderr,
		    "ug-loadgen: --alert-pupils %ld: more than --pupils %ld\n",
		    o->alert_pupils, o->pupils);
		exit(2);
	}
	/* A pupil's number is (phase * pupils + k) * connections + c:
	 * past a long it would wrap (undefined, and a negative number
	 * indexes before the CPR's digits) rather than name a pupil. */
	long most = LONG_MAX / o->connections;
	if (o->pupils > most || o->phase > most / o->pupils - 1) {
		fprintf(stderr,
			"ug-loadgen: --phase %ld, --pupils %ld, --connections "
			"%ld: (phase + 1) x pupils x connections is more "
			"than %ld\n",
			o->phase, o->pupils, o->connections, LONG_MAX);
		exit(2);
	}
	if (o->alert_cprs_only) {
		/* Exit 0 having written nothing would pass for the list. */
		if (!o->alert_cprs) {
			fprintf(stderr, "ug-loadgen: --alert-cprs-only needs "
					"--alert-cprs FILE\n");
			exit(2);
		}
		return; /* nothing is sent */
	}
	if (o->delivery && !o->caseworker_key) {
		fprintf(stderr,
			"ug-loadgen: --delivery needs --caseworker-key\n");
		exit(2);
	}
	/* Alone it would time nothing, and the run would say so nowhere. */
	if (o->caseworker_key && !o->delivery) {
		fprintf(stderr,
			"ug-loadgen: --caseworker-key needs --delivery\n");
		exit(2);
	}
	if (!o->endpoint || !o->server_key || !o->key) {
		fprintf(stderr,
			"ug-loadgen: --endpoint, --server-key and --key "
			"are needed\n");
		usage(stderr);
		exit(2);
	}
}

static void
write_alert_cprs(const options *o)
{
	FILE *f = fopen(o->alert_cprs, "w");
	if (!f) {
		fprintf(stderr, "ug-loadgen: --alert-cprs %s: %s\n",
			o->alert_cprs, strerror(errno));
		exit(2);
	}
	for (long k = 0; k < o->alert_pupils; k++) {
		char cpr[11];
		pupil_cpr(o, 0, k, cpr);
		fprintf(f, "%s\n", cpr);
	}
	/* A file cut short (a full disk) would have the bench assign only
	 * some of the pupils, and their alerts then go missing as if the hub
	 * had lost them. */
	int bad = ferror(f);
	if (fclose(f) != 0 || bad) {
		fprintf(stderr,
			"ug-loadgen: --alert-cprs %s: cannot write: %s\n",
			o->alert_cprs, strerror(errno ? errno : EIO));
		exit(2);
	}
}

/* The first event's frame with the school id "bench-school" padded with
 * 'x' to len characters. */
static size_t
school_frame(run *r, size_t len)
{
	uint8_t buf[2048];
	uint64_t seed = 1;
	snprintf(r->school, sizeof r->school, "bench-school");
	for (size_t n = strlen(r->school); n < len; n++)
		r->school[n] = 'x';
	r->school[len] = '\0';
	return frame_event(r, 0, 0, 0, buf, sizeof buf, &seed);
}

/* Pad the school id so one event frame is o->size bytes (as near as the
 * varint lengths allow; an id is at most 256 bytes). A size outside what
 * the padding can reach is refused: a silently smaller or larger frame
 * would measure something else than was asked for. */
static size_t
size_school(run *r)
{
	size_t len = strlen("bench-school");
	size_t min = school_frame(r, len), max = school_frame(r, SCHOOL_MAX);
	if (r->o->size < (long)min || r->o->size > (long)max) {
		fprintf(
		    stderr,
		    "ug-loadgen: --size %ld: an event frame of this agency "
		    "is %zu to %zu bytes\n",
		    r->o->size, min, max);
		exit(2);
	}
	size_t base = school_frame(r, len);
	while (base < (size_t)r->o->size && len < SCHOOL_MAX)
		base = school_frame(r, ++len);
	return base;
}

/* The reason as a JSON string body: quotes, backslashes and control
 * characters would break the line the bench parses. */
static void
json_safe(char *text)
{
	for (; *text; text++)
		if (*text == '"' || *text == '\\' ||
		    (unsigned char)*text < 0x20)
			*text = '\'';
}

int
main(int argc, char **argv)
{
	/* A closed stdout must fail as a full disk does, not lend its number
	 * to the next file opened (the --alert-cprs file, a ZeroMQ eventfd),
	 * which the JSON would then be written into. */
	ug_hold_std_streams();
	options o;
	parse_args(argc, argv, &o);
	if (sodium_init() < 0)
		return 2;
	if (o.alert_cprs)
		write_alert_cprs(&o);
	if (o.alert_cprs_only)
		return 0;
	/* The checks that return come before the keys are loaded, so
	 * that nothing is left to free on their way out. */
	run r = {.o = &o};
	if (ug_date_parse(o.start, &r.start_day) != UG_OK) {
		fprintf(stderr, "ug-loadgen: --start: not a date\n");
		return 2;
	}
	/* A count whose arrays no size_t can hold is not asked of calloc,
	 * which an asan build aborts in rather than return NULL. */
	if ((uint64_t)o.events <= SIZE_MAX / 16) {
		r.sent_ns = calloc((size_t)o.events, sizeof *r.sent_ns);
		r.lat_ns = calloc((size_t)o.events, sizeof *r.lat_ns);
		/* Send times of alert pupils' events, then alert
		 * latencies. */
		r.alert_lat_ns =
		    calloc((size_t)o.events + (size_t)o.alert_pupils + 1,
			   sizeof *r.alert_lat_ns);
	}
	if (!r.sent_ns || !r.lat_ns || !r.alert_lat_ns) {
		/* Each event's send time and latency are kept: a count
		 * past memory is a bad --events, said as such. */
		free(r.sent_ns);
		free(r.lat_ns);
		free(r.alert_lat_ns);
		fprintf(stderr,
			"ug-loadgen: --events %ld: out of memory to time "
			"them\n",
			o.events);
		return 2;
	}
	char server[UG_Z85_KEY_LEN + 1];
	load_server_key(o.server_key, server);
	ug_keys *keys = load_keys(o.key);
	ug_keys *cw = o.delivery ? load_keys(o.caseworker_key) : NULL;
	r.keys = keys;
	void *zmq = zmq_ctx_new();
	conn conns[CONN_MAX] = {0};
	for (long c = 0; c < o.connections; c++)
		conns[c].sock = curve_socket(zmq, o.endpoint, server, keys);
	void *dsock = NULL;
	if (cw) {
		dsock = curve_socket(zmq, o.delivery, server, cw);
		wire_hello hello = UNGEBRO__V1__HELLO__INIT;
		hello.client = "ug-loadgen";
		hello.window = 256;
		uint8_t hb[128];
		size_t n = wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_HELLO,
				       &hello, hb, sizeof hb);
		zmq_send(dsock, hb, n, 0);
	}
	size_t frame_bytes = size_school(&r);

	zmq_pollitem_t items[CONN_MAX + 1];
	for (long c = 0; c < o.connections; c++)
		items[c] = (zmq_pollitem_t){conns[c].sock, 0, ZMQ_POLLIN, 0};
	size_t nitems = (size_t)o.connections;
	if (dsock)
		items[nitems++] = (zmq_pollitem_t){dsock, 0, ZMQ_POLLIN, 0};

	uint64_t seed = 0x9E3779B97F4A7C15ull ^ o.tag;
	uint8_t frame[2048];
	long limit = o.events;
	r.first_ns = r.last_ack_ns = mono_ns();
	int64_t stop_at =
	    o.seconds > 0 ? r.first_ns + (int64_t)(o.seconds * 1e9) : 0;
	long inflight = 0;
	for (;;) {
		/* Fill every connection's window, round robin. */
		bool more = true;
		while (more && r.sent < limit) {
			more = false;
			for (long c = 0; c < o.connections && r.sent < limit;
			     c++) {
				if (conns[c].inflight >= o.window)
					continue;
				long i = r.sent;
				long k = conns[c].sent++;
				size_t n = frame_event(&r, i, c, k, frame,
						       sizeof frame, &seed);
				int64_t t = mono_ns();
				if (zmq_send(conns[c].sock, frame, n, 0) < 0) {
					fprintf(stderr,
						"ug-loadgen: send: %s\n",
						zmq_strerror(errno));
					return 1;
				}
				r.sent_ns[i] = t;
				if (c == 0 && k % o.pupils < o.alert_pupils)
					r.alert_lat_ns[i] = t;
				r.sent++;
				conns[c].inflight++;
				inflight++;
				more = true;
			}
			if (stop_at && (r.sent & 255) == 0 &&
			    mono_ns() > stop_at)
				limit = r.sent;
		}
		if (inflight == 0 && r.sent >= limit)
			break;
		int rc = zmq_poll(items, (int)nitems, 1000);
		int64_t now = mono_ns();
		if (rc == 0 && now - r.last_ack_ns > 30000000000LL) {
			fprintf(stderr,
				"ug-loadgen: no ack for 30 s, %ld in "
				"flight\n",
				inflight);
			break;
		}
		for (size_t s = 0; rc > 0 && s < nitems; s++) {
			if (!(items[s].revents & ZMQ_POLLIN))
				continue;
			zmq_msg_t m;
			zmq_msg_init(&m);
			while (zmq_msg_recv(&m, items[s].socket,
					    ZMQ_DONTWAIT) >= 0) {
				now = mono_ns();
				if (items[s].socket == dsock) {
					on_alert(&r, dsock, zmq_msg_data(&m),
						 zmq_msg_size(&m), now);
					continue;
				}
				long before = conns[s].inflight;
				on_ack(&r, &conns[s], zmq_msg_data(&m),
				       zmq_msg_size(&m), now);
				inflight -= before - conns[s].inflight;
			}
			zmq_msg_close(&m);
		}
	}
	int64_t end_ns = r.last_ack_ns;
	/* The alerts of the last events may still be on their way. */
	long due = dsock ? alerts_due(&o, conns[0].sent) : 0;
	if (dsock) {
		int64_t until = mono_ns() + (int64_t)(o.alert_wait * 1e9);
		zmq_pollitem_t di = {dsock, 0, ZMQ_POLLIN, 0};
		while ((long)r.nalerts < due && mono_ns() < until) {
			if (zmq_poll(&di, 1, 100) <= 0)
				continue;
			zmq_msg_t m;
			zmq_msg_init(&m);
			while (zmq_msg_recv(&m, dsock, ZMQ_DONTWAIT) >= 0)
				on_alert(&r, dsock, zmq_msg_data(&m),
					 zmq_msg_size(&m), mono_ns());
			zmq_msg_close(&m);
		}
	}
	qsort(r.lat_ns, r.nlat, sizeof *r.lat_ns, cmp_i64);
	int64_t *al = r.alert_lat_ns + o.events;
	qsort(al, r.nalerts, sizeof *al, cmp_i64);
	double secs = (double)(end_ns - r.first_ns) / 1e9;
	json_safe(r.reason);
	printf("{\"sent\": %ld, \"acked\": %zu, \"accepted\": %ld, "
	       "\"duplicate\": %ld, \"rejected\": %ld, \"seconds\": %.3f, "
	       "\"rate\": %.1f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"p999_ms\": %.3f, \"max_ms\": %.3f, \"frame_bytes\": %zu, "
	       "\"connections\": %ld, \"window\": %ld, "
	       "\"alerts_expected\": %ld, \"alerts_seen\": %zu, "
	       "\"e2a_p50_ms\": %.3f, \"e2a_p99_ms\": %.3f, "
	       "\"reject_reason\": \"%s\"}\n",
	       r.sent, r.nlat, r.accepted, r.duplicate, r.rejected, secs,
	       secs > 0 ? (double)r.nlat / secs : 0,
	       pct_ms(r.lat_ns, r.nlat, 50), pct_ms(r.lat_ns, r.nlat, 99),
	       pct_ms(r.lat_ns, r.nlat, 99.9), pct_ms(r.lat_ns, r.nlat, 100),
	       frame_bytes, o.connections, o.window, due, r.nalerts,
	       pct_ms(al, r.nalerts, 50), pct_ms(al, r.nalerts, 99), r.reason);
	/* The JSON is what a run is for: one that cannot be written (a full
	 * disk) is a failed run, not a silent exit 0. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr,
			"ug-loadgen: cannot write standard output: %s\n",
			strerror(errno ? errno : EIO));
		exit(1);
	}
	for (long c = 0; c < o.connections; c++)
		zmq_close(conns[c].sock);
	if (dsock)
		zmq_close(dsock);
	zmq_ctx_term(zmq);
	ug_keys_destroy(&keys);
	if (cw)
		ug_keys_destroy(&cw);
	free(r.sent_ns);
	free(r.lat_ns);
	free(r.alert_lat_ns);
	return r.nlat == (size_t)r.sent && r.rejected == 0 ? 0 : 1;
}
