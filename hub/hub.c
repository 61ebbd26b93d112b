/*
 * hubd's life cycle and loop. Order matters at start: the ZAP handler is
 * bound before any CURVE socket, because libzmq admits every CURVE client
 * when no handler is listening. At stop the batch in flight is finished and
 * committed before the sockets close.
 */
#include "hub/hub_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include <zmq.h>

#include "common/log.h"
#include "common/notify.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/gateway.h"
#include "hub/metrics.h"
#include "hub/retention.h"

const ug_setting hub_settings[] = {
    {"data_dir", "./var/hub/data",
     "directory of the hub's LMDB store (at most 400 bytes)"},
    {"keys_dir", "./var/keys",
     "directory holding hub.key_secret (its id hub) and the audit "
     "signing pair hub.sign_public and hub.sign_secret, which hubd writes "
     "there when they are missing (at most 400 bytes)"},
    {"ingest", "tcp://127.0.0.1:7601", "endpoint adapters send events to"},
    {"delivery", "tcp://127.0.0.1:7602",
     "endpoint caseworker clients receive alerts from"},
    {"log_level", "info", "err, warn, notice, info or debug, in any case"},
    {"log_map_mb", "16384",
     "maximum size of the durable log (log/) and of the event-id index "
     "(ids/), each, MiB (1-16777216)"},
    {"derived_map_mb", "8192",
     "maximum size of the derived state, MiB (1-16777216)"},
    {"rules", "",
     "rules file (thresholds, windows, priorities, deadlines, "
     "recipients, calendars; see RULES.md, installed in "
     "PREFIX/share/doc/ungebro/); empty = the "
     "defaults"},
    {"clock_file", "",
     "tests only: read the hub's clock from this file "
     "(YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC; re-read every loop turn; "
     "one that cannot be read or holds no such time is refused at "
     "start)"},
    {"batch_max", "256", "most events written in one transaction (1-10000)"},
    {"sessions_max", "1024",
     "most caseworker delivery sessions at once; "
     "a Hello beyond it is refused (Welcome "
     "E_UNAVAILABLE) until one ends; hubd raises its open-file "
     "limit to it and 1024 more, warning where the hard limit is "
     "lower (1-100000)"},
    {"sessions_per_caseworker", "8",
     "most sessions one caseworker holds; "
     "a further Hello ends that "
     "caseworker's oldest (1-1000)"},
    {"query_rate", "20",
     "queries a caseworker may ask per second, on "
     "average, and actions they may record (1-100000)"},
    {"query_burst", "40",
     "queries a caseworker may ask at once, and actions they may record "
     "(1-100000)"},
    HUB_GATEWAY_SETTINGS,
    HUB_RETENTION_SETTINGS,
    HUB_METRICS_SETTINGS,
    {NULL, NULL, NULL},
};

static volatile sig_atomic_t stop_requested, reload_requested;

void
hub_stop(void)
{
	stop_requested = 1;
}

void
hub_reload(void)
{
	reload_requested = 1;
}

static const struct {
	const char *name;
	int type;
} type_names[] = {
    {"absence", UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT},
    {"dropout", UNGEBRO__V1__EVENT_TYPE__DROPOUT},
    {"dropout_risk", UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK},
    {"enrolment", UNGEBRO__V1__EVENT_TYPE__ENROLMENT},
    {"addiction", UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL},
    {"readiness", UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT},
    {"assignment", UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT},
    {"benefit", UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS},
    {"missed_activation", UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION},
    {"school_leaving", UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING},
    {"desk", UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP},
};

ug_err
hub_parse_types(const char *list, uint32_t *mask, ug_diag *diag)
{
	*mask = 0;
	/* Empty: no type at all, which the caller refuses in its own
	 * words. A comma at either end names an empty type, as two in a
	 * row do: "absence," is a list cut short, not "absence". */
	if (!*list)
		return UG_OK;
	for (const char *p = list;; p++) {
		size_t len = strcspn(p, ",");
		bool known = false;
		for (size_t i = 0; i < sizeof type_names / sizeof *type_names;
		     i++)
			if (strlen(type_names[i].name) == len &&
			    strncmp(p, type_names[i].name, len) == 0) {
				*mask |= 1u << type_names[i].type;
				known = true;
			}
		if (!known) {
			ug_diag_set(
			    diag, "types",
			    "unknown event type '%.*s' "
			    "(absence, dropout, dropout_risk, enrolment, "
			    "addiction, readiness, assignment, benefit, "
			    "missed_activation, school_leaving, desk)",
			    (int)len, p);
			return UG_EINVAL;
		}
		p += len;
		if (!*p)
			return UG_OK;
	}
}

static ug_err
zmq_fail(ug_diag *diag, const char *what, const char *endpoint)
{
	ug_diag_set(diag, what, "%s %s: %s", what, endpoint ? endpoint : "",
		    zmq_strerror(errno));
	return UG_EIO;
}

/* Send queue per peer. Ingest acks are small and must not be dropped; on
 * the delivery side a client that does not read must cost the hub little
 * (a window of alerts and a few answers), so a full queue there pauses
 * pushes and drops answers instead of growing memory. */
#define INGEST_HWM   100000
#define DELIVERY_HWM 300
/* Receive queue per connection. Frames wait there while the loop reads
 * none (the writer commits, the rules lag), and each may be as large as
 * WIRE_MAX_MESSAGE: 100,000 of them let one agency make the hub hold some
 * 100 GB. One default batch (batch_max) is enough to keep the writer fed
 * from a single connection, even at a window of 1,000; beyond it frames
 * wait on the sender's side (a DONTWAIT send gets EAGAIN), so one
 * connection holds at most 256 MiB here (PROTOCOL.md keeps 1 MiB as the
 * largest frame it reads to refuse). */
#define INGEST_RCVHWM 256

static ug_err
open_server_socket(hub *h, void **out, const char *endpoint,
		   const char *domain, int sndhwm, int rcvhwm, ug_diag *diag)
{
	void *sock = zmq_socket(h->zmq, ZMQ_ROUTER);
	if (!sock)
		return zmq_fail(diag, "socket", endpoint);
	int one = 1, zero = 0, heartbeat = 5000, heartbeat_ttl = 15000;
	/* ROUTER_MANDATORY: a reply to a vanished peer is an error we see and
	 * log, never a silent drop. */
	if (zmq_setsockopt(sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
	    zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, h->keys->secret_z85,
			   UG_Z85_KEY_LEN) ||
	    zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) ||
	    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_setsockopt(sock, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm) ||
	    zmq_setsockopt(sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) ||
	    zmq_setsockopt(sock, ZMQ_MAXMSGSIZE,
			   &(int64_t){WIRE_MAX_MESSAGE + WIRE_CURVE_OVERHEAD},
			   sizeof(int64_t)) ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_IVL, &heartbeat,
			   sizeof heartbeat) ||
	    zmq_setsockopt(sock, ZMQ_HEARTBEAT_TTL, &heartbeat_ttl,
			   sizeof heartbeat_ttl) ||
	    zmq_bind(sock, endpoint) != 0) {
		ug_err err = zmq_fail(diag, "bind", endpoint);
		zmq_close(sock);
		return err;
	}
	*out = sock;
	return UG_OK;
}

/* What ZeroMQ can bind a tcp:// endpoint of hubd's to: "*", an IPv4
 * address, or an interface's name (what Linux allows one: 1-15 bytes, no
 * '/', ':' or blank, not "." or ".."). hubd sets no ZMQ_IPV6, so "[::1]"
 * could never be bound; digits and dots alone are taken for an address
 * and must be one. */
static bool
bind_address_valid(const char *addr, size_t len)
{
	char text[16];
	if (len == 0 || len >= sizeof text)
		return false;
	memcpy(text, addr, len);
	text[len] = '\0';
	if (strcmp(text, "*") == 0)
		return true;
	if (strspn(text, "0123456789.") == len) {
		struct in_addr a;
		return inet_pton(AF_INET, text, &a) == 1;
	}
	if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '/' || text[i] == ':' ||
		    isspace((unsigned char)text[i]) ||
		    iscntrl((unsigned char)text[i]))
			return false;
	return true;
}

/* An endpoint's form is a value like any other: a typo in it would pass
 * --check-config and stop the start with exit 1, which the unit retries
 * for ever. Whether it can be bound is still the start's to find. */
static ug_err
check_endpoint(const ug_config *cfg, const char *name, ug_diag *diag)
{
	const char *v = ug_config_get(cfg, name);
	bool ok = false;
	if (strncmp(v, "tcp://", 6) == 0) {
		const char *colon = strrchr(v + 6, ':');
		char *end;
		errno = 0;
		long port = colon && colon > v + 6 && colon[1] >= '0' &&
				    colon[1] <= '9'
				? strtol(colon + 1, &end, 10)
				: 0;
		ok = port >= 1 && port <= 65535 && errno == 0 &&
		     *end == '\0' &&
		     bind_address_valid(v + 6, (size_t)(colon - (v + 6)));
	} else if (strncmp(v, "ipc://", 6) == 0) {
		ok = v[6] != '\0';
	}
	if (ok)
		return UG_OK;
	ug_diag_set(diag, name,
		    "%s must be tcp://ADDRESS:PORT (port 1-65535) or "
		    "ipc://PATH, not '%s'",
		    name, v);
	return UG_EINVAL;
}

/* Whether two HOST:PORT addresses, each checked already, bind the same
 * TCP port: on the same address, or with either on every address. */
static bool
tcp_clash(const char *a, const char *b)
{
	const char *pa = strrchr(a, ':'), *pb = strrchr(b, ':');
	size_t la = (size_t)(pa - a), lb = (size_t)(pb - b);
	bool any = (la == 1 && *a == '*') ||
		   (la == 7 && strncmp(a, "0.0.0.0", 7) == 0) ||
		   (lb == 1 && *b == '*') ||
		   (lb == 7 && strncmp(b, "0.0.0.0", 7) == 0);
	return strtol(pa + 1, NULL, 10) == strtol(pb + 1, NULL, 10) &&
	       (any || (la == lb && strncmp(a, b, la) == 0));
}

/* Two sockets on one port would pass each check and stop the start with
 * "Address already in use", sending the operator to look for another
 * process: a setting of theirs, said as one. */
static ug_err
check_endpoints_differ(const ug_config *cfg, ug_diag *diag)
{
	const char *in = ug_config_get(cfg, "ingest"),
		   *out = ug_config_get(cfg, "delivery");
	if (strcmp(in, out) == 0 ||
	    (strncmp(in, "tcp://", 6) == 0 && strncmp(out, "tcp://", 6) == 0 &&
	     tcp_clash(in + 6, out + 6))) {
		ug_diag_set(diag, "delivery",
			    "delivery must be another endpoint than ingest, "
			    "not '%s' beside '%s'",
			    out, in);
		return UG_EINVAL;
	}
	const char *metrics = ug_config_get(cfg, "metrics_listen");
	for (const char *const *e =
		 (const char *const[]){"ingest", "delivery", NULL};
	     metrics[0] && *e; e++) {
		const char *v = ug_config_get(cfg, *e);
		if (strncmp(v, "tcp://", 6) == 0 &&
		    tcp_clash(metrics, v + 6)) {
			ug_diag_set(diag, "metrics_listen",
				    "metrics_listen must be another port than "
				    "%s's, not '%s' beside '%s'",
				    *e, metrics, v);
			return UG_EINVAL;
		}
	}
	return UG_OK;
}

/* mix: also check the settings against each other, which only the
 * whole configuration can: one line checked over the defaults would be
 * refused beside a default its own file or command line overrides. */
static ug_err
load_settings(hub *h, const ug_config *cfg, bool rules, bool mix,
	      ug_diag *diag)
{
	long rate, burst;
	ug_err err =
	    ug_config_int(cfg, "batch_max", 1, 10000, &h->batch_max, diag);
	/* Empty, they would name "/log" and "/hub.key_secret". */
	for (const char *const *d =
		 (const char *const[]){"data_dir", "keys_dir", NULL};
	     err == UG_OK && *d; d++)
		if (!ug_config_get(cfg, *d)[0]) {
			ug_diag_set(diag, *d, "%s must name a directory", *d);
			err = UG_EINVAL;
		} else if (strlen(ug_config_get(cfg, *d)) >
			   UG_DIR_SETTING_MAX) {
			ug_diag_set(diag, *d, "%s is longer than %d bytes", *d,
				    UG_DIR_SETTING_MAX);
			err = UG_EINVAL;
		}
	if (err == UG_OK)
		err = check_endpoint(cfg, "ingest", diag);
	if (err == UG_OK)
		err = check_endpoint(cfg, "delivery", diag);
	if (err == UG_OK &&
	    ug_log_parse_level(ug_config_get(cfg, "log_level")) < 0) {
		ug_diag_set(diag, "log_level",
			    "log_level must be err, warn, notice, info or "
			    "debug");
		err = UG_EINVAL;
	}
	/* A test clock that does not read would leave hubd on the system
	 * clock without a word: every date the test expects would be off. */
	const char *clock = ug_config_get(cfg, "clock_file");
	int64_t clock_ms;
	if (err == UG_OK && clock[0])
		err = ug_clock_file_read(clock, &clock_ms, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "sessions_max", 1, 100000,
				    &h->sessions_max, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "sessions_per_caseworker", 1, 1000,
				    &h->sessions_per_caseworker, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "query_rate", 1, 100000, &rate, diag);
	if (err == UG_OK)
		err =
		    ug_config_int(cfg, "query_burst", 1, 100000, &burst, diag);
	if (err == UG_OK)
		err = hub__retention_load(cfg, diag);
	if (err == UG_OK)
		err = hub__metrics_check(cfg, diag);
	if (err == UG_OK && mix)
		err = check_endpoints_differ(cfg, diag);
	if (err == UG_OK)
		err = hub__ops_check(cfg, diag);
	if (err != UG_OK)
		return err;
	h->query_rate = (double)rate;
	h->query_burst = (double)burst;
	free(h->rules_path);
	free(h->clock_path);
	h->rules_path = strdup(ug_config_get(cfg, "rules"));
	h->clock_path = strdup(ug_config_get(cfg, "clock_file"));
	if (!h->rules_path || !h->clock_path)
		return UG_ENOMEM;
	return !rules || hub__load_rules(h, diag) ? UG_OK : UG_EINVAL;
}

bool
hub__load_rules(hub *h, ug_diag *diag)
{
	/* Parse into a copy: a bad file leaves the rules in force untouched.
	 */
	rules_config *fresh = malloc(sizeof *fresh);
	if (!fresh)
		return false;
	ug_err err = rules_config_load(fresh, h->rules_path, diag);
	if (err == UG_OK)
		h->rules = *fresh;
	free(fresh);
	return err == UG_OK;
}

int64_t
hub__clock(hub *h)
{
	if (!h->clock_path || !h->clock_path[0])
		return ug_now_ms();
	int64_t ms;
	if (ug_clock_file_ms(h->clock_path, &ms))
		return ms;
	/* An unreadable test clock keeps the last reading. */
	return h->now ? h->now : ug_now_ms();
}

static ug_err
map_sizes(const ug_config *cfg, long *log_mb, long *derived_mb, ug_diag *diag)
{
	ug_err err =
	    ug_config_int(cfg, "log_map_mb", 1, 1L << 24, log_mb, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "derived_map_mb", 1, 1L << 24,
				    derived_mb, diag);
	return err;
}

static ug_err
check_settings(const ug_config *cfg, bool mix, ug_diag *diag)
{
	hub *h = calloc(1, sizeof *h);
	if (!h)
		return UG_ENOMEM;
	long log_mb, derived_mb;
	ug_err err = load_settings(h, cfg, false, mix, diag);
	if (err == UG_OK)
		err = map_sizes(cfg, &log_mb, &derived_mb, diag);
	/* The gateway's open only parses and allocates: no socket, no child.
	 */
	if (err == UG_OK)
		err = hub__gateway_open(h, cfg, diag);
	hub__gateway_close(h);
	free(h->rules_path);
	free(h->clock_path);
	free(h);
	return err;
}

ug_err
hub_check_settings(const ug_config *cfg, ug_diag *diag)
{
	return check_settings(cfg, true, diag);
}

ug_err
hub_check_setting_alone(const ug_config *cfg, ug_diag *diag)
{
	return check_settings(cfg, false, diag);
}

static ug_err
open_store(hub *h, const ug_config *cfg, ug_diag *diag)
{
	long log_mb, derived_mb;
	ug_err err = map_sizes(cfg, &log_mb, &derived_mb, diag);
	if (err != UG_OK)
		return err;
	store_opts opts = {(size_t)log_mb,	 (size_t)derived_mb,
			   h->keys->storage_key, false,
			   &stop_requested,	 NULL};
	return store_open(&h->store, ug_config_get(cfg, "data_dir"), &opts,
			  diag);
}

/* One hubd per store. A second one on the same data_dir (started by hand
 * beside the unit, or a second unit) would apply the log, fire timers,
 * deliver and purge a second time. hubctl takes no lock: it works beside
 * hubd. The kernel drops the lock when the process ends, however. */
static ug_err
lock_data_dir(hub *h, const char *dir, ug_diag *diag)
{
	char path[600];
	if (ug_mkdir_p(dir) != 0) {
		ug_diag_set(diag, "data_dir", "cannot create %s: %s", dir,
			    strerror(errno));
		return UG_EIO;
	}
	snprintf(path, sizeof path, "%s/hubd.lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		ug_diag_set(diag, "data_dir", "cannot open %s: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		bool busy = errno == EWOULDBLOCK;
		char pid[24] = "";
		ssize_t n = busy ? pread(fd, pid, sizeof pid - 1, 0) : 0;
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		if (busy)
			ug_diag_set(diag, "data_dir",
				    "%s is in use by another hubd%s%s%s: one "
				    "hubd per store",
				    dir, pid[0] ? " (pid " : "", pid,
				    pid[0] ? ")" : "");
		else
			ug_diag_set(diag, "data_dir", "cannot lock %s: %s",
				    path, strerror(errno));
		close(fd);
		return busy ? UG_EEXISTS : UG_EIO;
	}
	char text[24];
	int len = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	/* The pid only names the holder in the message above. */
	if (ftruncate(fd, 0) != 0 || pwrite(fd, text, (size_t)len, 0) != len)
		log_warn("HUB-START", "cannot write the pid into %s", path);
	h->lock_fd = fd;
	return UG_OK;
}

ug_err
hub_open(hub **out, const ug_config *cfg, ug_diag *diag)
{
	hub *h = calloc(1, sizeof *h);
	if (!h)
		return UG_ENOMEM;
	char path[512];
	snprintf(path, sizeof path, "%s%shub.key_secret",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")));
	ug_err err = load_settings(h, cfg, true, true, diag);
	if (err == UG_OK) {
		err = ug_keys_load_hub(&h->keys, path, diag);
		/* A bad line is named by the file and line in the reason;
		 * its field ('secret', 'hash_key') is no setting of hubd's,
		 * which HUB-START would otherwise put before it. */
		if (err != UG_OK && diag && strstr(diag->reason, path))
			diag->field[0] = '\0';
	}
	if (err == UG_OK)
		err = lock_data_dir(h, ug_config_get(cfg, "data_dir"), diag);
	if (err == UG_OK)
		err = open_store(h, cfg, diag);
	if (err != UG_OK)
		goto fail;
	err = UG_EIO;
	h->zmq = zmq_ctx_new();
	if (!h->zmq)
		goto fail;
	h->zap = zmq_socket(h->zmq, ZMQ_REP);
	if (!h->zap || zmq_bind(h->zap, "inproc://zeromq.zap.01") != 0) {
		err = zmq_fail(diag, "bind", "inproc://zeromq.zap.01");
		goto fail;
	}
	err = open_server_socket(h, &h->ingest, ug_config_get(cfg, "ingest"),
				 "ingest", INGEST_HWM, INGEST_RCVHWM, diag);
	if (err == UG_OK)
		err = open_server_socket(
		    h, &h->delivery, ug_config_get(cfg, "delivery"),
		    "delivery", DELIVERY_HWM, DELIVERY_HWM, diag);
	if (err == UG_OK)
		err = hub__sessions_open(h, diag);
	if (err == UG_OK)
		err = hub__gateway_open(h, cfg, diag);
	if (err == UG_OK)
		err = hub__ops_open(h, cfg, diag);
	if (err == UG_OK)
		err = hub__metrics_open(h, cfg, diag);
	if (err != UG_OK)
		goto fail;
	*out = h;
	return UG_OK;
fail:
	hub_close(&h);
	return err;
}

void
hub_close(hub **hp)
{
	if (!hp || !*hp)
		return;
	hub *h = *hp;
	hub__metrics_close(h);
	hub__ops_close(h);
	if (h->ingest)
		zmq_close(h->ingest);
	hub__sessions_close(h);
	hub__gateway_close(h);
	if (h->delivery)
		zmq_close(h->delivery);
	if (h->zap) {
		hub__zap_release(h);
		zmq_close(h->zap);
	}
	if (h->zmq)
		zmq_ctx_term(h->zmq);
	store_close(&h->store);
	if (h->lock_fd > 0)
		close(h->lock_fd);
	ug_keys_destroy(&h->keys);
	free(h->batch);
	free(h->batch_events);
	free(h->pending_counts);
	free(h->pending_acks);
	free(h->buckets);
	free(h->action_buckets);
	free(h->rules_path);
	free(h->clock_path);
	free(h);
	*hp = NULL;
}

static void
log_stats(hub *h, const char *msgid)
{
	log_notice(msgid,
		   "accepted %llu, duplicates %llu, rejected %llu, "
		   "alerts raised %llu, delivered %llu, acked %llu, keys "
		   "admitted %llu, refused %llu, sessions reclaimed %llu, "
		   "refused %llu, queries rate-limited %llu, actions "
		   "rate-limited %llu",
		   (unsigned long long)h->accepted,
		   (unsigned long long)h->duplicates,
		   (unsigned long long)h->rejected,
		   (unsigned long long)h->alerts_raised,
		   (unsigned long long)h->alerts_delivered,
		   (unsigned long long)h->alerts_acked,
		   (unsigned long long)h->zap_admitted,
		   (unsigned long long)h->zap_refused,
		   (unsigned long long)h->sessions_reclaimed,
		   (unsigned long long)h->sessions_refused,
		   (unsigned long long)h->queries_limited,
		   (unsigned long long)h->actions_limited);
}

/* Bring derived state level with the log before serving: after a crash this
 * replays what was acked but not yet applied. */
static ug_err
catch_up(hub *h)
{
	uint64_t last;
	ug_err err = store_log_last(h->store, &last);
	if (err != UG_OK)
		return err;
	bool reset = false;
	err = store_derived_schema_check(h->store, HUB_DERIVED_SCHEMA, &reset);
	if (err != UG_OK)
		return err;
	if (reset)
		log_warn("HUB-REBUILD",
			 "derived state was written in another "
			 "format; rebuilding it from the log (format %d)",
			 HUB_DERIVED_SCHEMA);
	/* Derived state ahead of the log (the log was restored from an
	 * older copy): the store's open threw it away; rebuild it. */
	if (store_derived_was_ahead(h->store))
		log_warn("HUB-REBUILD", "%s; rebuilding it",
			 store_derived_was_ahead(h->store));
	uint64_t from = store_derived_last_applied(h->store);
	if (last > from)
		log_notice("HUB-REPLAY",
			   "applying log entries %llu..%llu to "
			   "derived state",
			   (unsigned long long)from + 1,
			   (unsigned long long)last);
	/* A long replay (a whole log, after derived/ was deleted) must not
	 * leave /healthz and /readyz unanswered: a probe that times out
	 * looks like a hung hub. Between chunks they answer (healthz 200,
	 * readyz 503 "replaying the log"). */
	/* A stop asked for meanwhile (systemctl stop, which gives hubd
	 * TimeoutStopSec to go) is taken between two chunks: what is
	 * applied is committed, and the next start goes on from there. */
	long n = 0;
	while (!stop_requested && (n = hub__replay(h, 4096)) > 0)
		hub__metrics_run(h);
	return n < 0 ? UG_EIO : UG_OK;
}

static void
reload(hub *h)
{
	reload_requested = 0;
	ug_diag diag = {0};
	if (hub__load_rules(h, &diag))
		log_notice("HUB-RELOAD", "rules reloaded from %s",
			   h->rules_path && h->rules_path[0] ? h->rules_path
							     : "(defaults)");
	else
		/* The file stays as it is for the next start, which it stops
		 * with exit 2, and the unit does not start hubd again after
		 * that: a crash would leave the hub down. Say so now. */
		log_err("HUB-RELOAD",
			"rules not reloaded, the old ones stay: %s; the next "
			"start refuses this file (exit 2): fix it (hubd "
			"--check-config)",
			diag.reason);
}

static void
timers(hub *h, int64_t now)
{
	if (now >= h->next_maintain) {
		store_maintain(h->store);
		h->next_maintain = now + 5000;
	}
	/* hubctl appends assignments to the log from its own process; pick
	 * them up even when no adapter is sending. */
	if (now >= h->next_catchup) {
		hub__applier_kick(h);
		h->next_catchup = now + 500;
	}
	if (now >= h->next_pump) {
		hub__delivery_tick(h);
		hub__gateway_tick(h);
		h->next_pump = now + 1000;
	}
	/* Bounded per turn: the purge never holds ingest up for long. */
	hub__retention_tick(h);
	hub__ingest_retry_log(h, now, false);
	hub__drop_log_tick(h, now, false);
	if (now >= h->next_stats) {
		if (h->next_stats)
			log_info("HUB-STATS", "alive");
		h->next_stats = now + 60000;
	}
}

/* Events the writer is storing now are facts the hub has received: a
 * due timer waits for them (a referral reported after its deadline and
 * its treatment start, rows of one export, judged together, however the
 * loop cut them into batches), but at most TIMERS_WAIT_MS, so a steady
 * stream of batches cannot hold the clocks up. */
#define TIMERS_WAIT_MS 200

static bool
timers_wait_for_the_batch(hub *h)
{
	int64_t due;
	if (!hub__writer_busy(h) ||
	    store_next_timer(h->store, &due) != UG_OK || due > h->now) {
		h->timers_waiting_since = 0;
		return false;
	}
	int64_t now = ug_mono_ms();
	if (!h->timers_waiting_since)
		h->timers_waiting_since = now ? now : 1;
	if (now - h->timers_waiting_since < TIMERS_WAIT_MS)
		return true;
	h->timers_waiting_since = 0;
	return false;
}

int
hub_run(hub *h)
{
	h->now = hub__clock(h);
	ug_err caught = catch_up(h);
	if (caught != UG_OK) {
		/* Not the applier's failure: the log's end, derived/'s format
		 * or its reset could not be read or written (STORE-LMDB just
		 * before names which, a full disk say). hubd cannot start, and
		 * says so as every start that fails does. */
		if (atomic_load(&h->apply_err) == UG_OK) {
			log_err("HUB-START", "cannot start: %s",
				ug_strerror(caught));
			return 1;
		}
		/* Applying fails (derived/ full, most likely, after a
		 * restart before derived_map_mb was raised): stopping here
		 * would stop the delivery of every stored alert too, and
		 * under the unit start again every 2 s for as long as it
		 * lasts. Serve as when it fails while running: the applier
		 * retries, ingest refuses retryable beyond the lag. */
		log_err("HUB-REPLAY",
			"cannot apply the log to derived state yet (%s): "
			"serving without it; events are refused retryable "
			"until it is applied",
			ug_strerror((ug_err)atomic_load(&h->apply_err)));
	}
	uint64_t last = 0;
	if (stop_requested && store_log_last(h->store, &last) == UG_OK &&
	    store_derived_last_applied(h->store) < last)
		log_notice(
		    "HUB-REPLAY",
		    "stopped at log entry %llu of %llu: the next start "
		    "applies the rest",
		    (unsigned long long)store_derived_last_applied(h->store),
		    (unsigned long long)last);
	if (stop_requested) {
		hub__delivery_flush(h);
		log_stats(h, "HUB-STOP");
		return 0;
	}
	if (hub__writer_start(h) != UG_OK) {
		log_err("HUB-WRITER", "cannot start the writer thread");
		return 1;
	}
	if (hub__flusher_start(h) != UG_OK) {
		log_err("HUB-WRITER", "cannot start the flusher thread");
		hub__writer_stop(h);
		return 1;
	}
	if (hub__applier_start(h) != UG_OK) {
		log_err("HUB-WRITER", "cannot start the applier thread");
		hub__writer_stop(h);
		hub__flusher_stop(h);
		return 1;
	}
	/* The first look at the registrations is taken before HUB-READY:
	 * taken at the first loop turn, a change hubctl made just after
	 * READY would pass for those hubd started with and go unlogged. */
	hub__principals_refresh(h);
	hub__ops_start(h);
	/* Ready only once every thread runs: a hub that cannot start one
	 * never said it was serving. */
	log_notice("HUB-READY", "store open, sockets bound; serving");
	ug_notify_systemd("READY=1");
	hub__metrics_serving(h);
	/* The log, not the derived state: after a replay that failed they
	 * differ, and the gate must count what is already waiting. */
	if (store_log_last(h->store, &h->logged) != UG_OK)
		h->logged = store_derived_last_applied(h->store);
	/* The four sockets, the writer's and the applier's signals, then
	 * the metrics endpoint's, if it is on. */
	zmq_pollitem_t items[6 + HUB_METRICS_POLL_MAX] = {
	    {h->zap, 0, ZMQ_POLLIN, 0},
	    {h->ingest, 0, ZMQ_POLLIN, 0},
	    {h->delivery, 0, ZMQ_POLLIN, 0},
	    {h->delivery_monitor, 0, ZMQ_POLLIN, 0},
	    {NULL, hub__writer_fd(h), ZMQ_POLLIN, 0},
	    {NULL, hub__applier_fd(h), ZMQ_POLLIN, 0},
	};
	while (!stop_requested) {
		/* A purge goes a bounded step per turn so that ingest is
		 * served between steps, not so that it waits: an idle loop's
		 * 200 ms between steps held it to 5 steps a second. */
		long timeout = hub__retention_busy() ? 0 : 200;
		/* A held ZAP request is checked again every turn, so a
		 * handshake goes on soon after the store reads again; until
		 * it is answered, the REP socket takes no other. */
		items[0].events = hub__zap_holding(h) ? 0 : ZMQ_POLLIN;
		if (hub__zap_holding(h) && timeout > 50)
			timeout = 50;
		/* While the writer holds a batch, new frames wait in the
		 * socket: they become the next batch (group commit). So they
		 * do while the rules are far behind the log, unless applying
		 * fails: then they are refused (hub__applier_gate). */
		items[1].events =
		    hub__writer_busy(h) ||
			    hub__applier_gate(h, h->logged) == HUB_GATE_WAIT
			? 0
			: ZMQ_POLLIN;
		size_t nitems =
		    6 + hub__metrics_poll(h, items + 6, HUB_METRICS_POLL_MAX,
					  &timeout);
		int rc = zmq_poll(items, (int)nitems, timeout);
		if (rc < 0 && errno != EINTR) {
			log_err("HUB-POLL", "zmq_poll: %s",
				zmq_strerror(errno));
			hub__ingest_end(h, true);
			hub__writer_stop(h);
			hub__applier_stop(h);
			hub__flusher_stop(h);
			return 1;
		}
		/* Registrations first: a key revoked by hubctl is refused
		 * from the next frame on. */
		hub__principals_refresh(h);
		if (hub__zap_holding(h))
			hub__zap_handle(h);
		if (rc > 0) {
			/* A caseworker's frame is judged at the moment it
			 * comes, not at the turn before the wait (up to 200
			 * ms earlier): a consent that ended meanwhile takes
			 * its health alert out of the timeline first, and an
			 * assignment that began or ended counts. */
			if (items[2].revents & ZMQ_POLLIN) {
				h->now = hub__clock(h);
				hub__fire_timers(h);
			}
			if (items[3].revents & ZMQ_POLLIN)
				hub__sessions_events(h);
			if (items[0].revents & ZMQ_POLLIN)
				hub__zap_handle(h);
			/* A committed batch: its acks, the next batch to the
			 * writer at once, and the rules over it to the
			 * applier. */
			if ((items[4].revents & ZMQ_POLLIN) &&
			    hub__ingest_end(h, false)) {
				if (hub__applier_gate(h, h->logged) !=
				    HUB_GATE_WAIT)
					hub__ingest_begin(h);
				hub__applier_kick(h);
			}
			if (items[5].revents & ZMQ_POLLIN)
				hub__applier_collect(h);
			if (items[1].revents & ZMQ_POLLIN)
				hub__ingest_begin(h);
			if (items[2].revents & ZMQ_POLLIN)
				hub__delivery_recv(h);
		}
		h->now = hub__clock(h);
		if (!timers_wait_for_the_batch(h))
			hub__fire_timers(h);
		if (reload_requested) {
			hub__derived_enter(h);
			reload(h);
			hub__derived_leave(h);
		}
		timers(h, ug_mono_ms());
		hub__ops_tick(h);
		hub__metrics_run(h);
	}
	/* The batch with the writer is committed and acked before the
	 * writer stops; then the derived state is levelled so a restart
	 * replays little. */
	hub__ingest_end(h, true);
	hub__writer_stop(h);
	hub__applier_stop(h);
	hub__flusher_stop(h);
	while (hub__apply(h, 4096) > 0)
		;
	hub__gateway_stop(h);
	hub__delivery_flush(h);
	hub__ingest_retry_log(h, ug_mono_ms(), true);
	hub__drop_log_tick(h, ug_mono_ms(), true);
	log_stats(h, "HUB-STOP");
	return 0;
}
