/*
 * hubd's metrics and health endpoint (metrics.c) and its operational
 * alerts (ops_alerts.c). Both run on the loop thread.
 */
#ifndef UG_HUB_METRICS_H
#define UG_HUB_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "common/config.h"
#include "hub/hub_int.h"

#define HUB_METRICS_CONNECTIONS 8 /* HTTP connections at once */
#define HUB_METRICS_POLL_MAX	(HUB_METRICS_CONNECTIONS + 1)

#define HUB_METRICS_SETTINGS                                                  \
	{"metrics_listen", "",                                                \
	 "HOST:PORT (IPv4, e.g. 127.0.0.1:7610) to "                          \
	 "serve /metrics, /healthz and /readyz on; "                          \
	 "empty = off"},                                                      \
	    {"ops_silence", "",                                               \
	     "agency=HOURS,...: raise ops.adapter_silent "                    \
	     "when the agency sent nothing accepted for "                     \
	     "longer (hub clock; 1-8784 hours, at most 32 "                   \
	     "agencies, each named once)"},                                   \
	    {"ops_queue_open", "50",                                          \
	     "ops.queue_stalled: open alerts a "                              \
	     "recipient must exceed (1-1000000)"},                            \
	    {"ops_queue_hours", "24",                                         \
	     "ops.queue_stalled: hours without the "                          \
	     "recipient's open count going down "                             \
	     "(1-8784)"},                                                     \
	    {"ops_map_percent", "80",                                         \
	     "ops.map_full: percent of its map that "                         \
	     "log/ or ids/ (log_map_mb) or derived/ "                         \
	     "(derived_map_mb) may use (1-100)"},                             \
	{                                                                     \
		"ops_audit_hours", "24",                                      \
		    "ops.audit_broken: verify the audit "                     \
		    "chain at start and every this many hours "               \
		    "(0 = at start only; 0-8784)"                             \
	}

/* Settings check without side effects (hub_check_settings). */
ug_err hub__metrics_check(const ug_config *cfg, ug_diag *diag);
ug_err hub__ops_check(const ug_config *cfg, ug_diag *diag);

ug_err hub__metrics_open(hub *h, const ug_config *cfg, ug_diag *diag);
void hub__metrics_close(hub *h);
/* The loop caught up and serves: /readyz may answer 200. */
void hub__metrics_serving(hub *h);
/* Add MHD's sockets to the poll set (at most max); lowers *timeout (ms)
 * to MHD's own. Returns the number added. */
size_t hub__metrics_poll(hub *h, zmq_pollitem_t *items, size_t max,
			 long *timeout);
/* Serve whatever HTTP work is ready; never blocks. */
void hub__metrics_run(hub *h);
/* Store open, sockets bound, derived state level with the log. */
bool hub__ready(hub *h, const char **why);

/* Counting, from ingest.c. */
void hub__metrics_event(hub *h, const char *agency, uint32_t type);
void hub__metrics_reject(hub *h, int code);
void hub__metrics_batch(hub *h, size_t events, double seconds);
double hub__metrics_clock(void); /* monotonic seconds */
void hub__metrics_put(char **buf, size_t *len, size_t *cap, bool *failed,
		      const char *line);

/* ops_alerts.c */
ug_err hub__ops_open(hub *h, const ug_config *cfg, ug_diag *diag);
void hub__ops_close(hub *h);
/* hubd's start, on the hub clock, for adapter_silent; before HUB-READY. */
void hub__ops_start(hub *h);
/* Check the conditions (rate-limited inside); once a loop turn. */
void hub__ops_tick(hub *h);
/* An event of the agency was accepted (adapter_silent). */
void hub__ops_accepted(hub *h, const char *agency);
/* A deadline.* alert was raised to the desk: is anybody on it? */
void hub__ops_deadline_to_desk(hub *h);
/* The ungebro_ops_condition lines for /metrics. */
void hub__ops_metrics(hub *h, char **buf, size_t *len, size_t *cap,
		      bool *failed);

#endif
