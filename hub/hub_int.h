/*
 * Internals shared by the hub module: the hub struct and the parts' entry points.
 * Everything runs on the one loop thread, so nothing here locks.
 */
#ifndef UG_HUB_INT_H
#define UG_HUB_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/keys.h"
#include "hub/hub.h"
#include "hub/rules.h"
#include "hub/rules_config.h"
#include "proto/wire.h"
#include "store/store.h"

#define HUB_SESSIONS_MAX 256
#define HUB_AGENCY_CACHE 64
#define HUB_ROUTING_ID_MAX 32

/* A connected caseworker client on the delivery socket. */
typedef struct {
	bool used;
	uint8_t routing_id[HUB_ROUTING_ID_MAX];
	size_t routing_len;
	char caseworker[STORE_ID_MAX];
	bool desk;
	uint32_t window, in_flight;
	/* Delivery cursors: the last alert sent from the caseworker's own
	 * queue and from the desk's queue since the last Hello. */
	uint8_t own_cursor[STORE_ALERT_ID_LEN], desk_cursor[STORE_ALERT_ID_LEN];
	bool own_started, desk_started;
} hub_session;

typedef struct {
	char id[STORE_ID_MAX];
	uint32_t types;
} hub_agency;

struct hub_ingest_batch;

struct hub {
	void *zmq;
	void *ingest, *delivery, *zap;
	store *store;
	ug_keys *keys;
	rules_config rules;       /* thresholds, calendars, recipients */
	char rules_path[512];     /* reloaded on SIGHUP */
	char clock_path[512];     /* injectable clock for tests; "" = system */
	int64_t now;              /* hub clock, ms, read once per loop turn */
	long batch_max;
	struct hub_ingest_batch *batch; /* batch_max frames, reused */
	store_event *batch_events;
	/* Counters reported in the log at stop and in HUB-STATS lines. */
	uint64_t accepted, duplicates, rejected, zap_refused, zap_admitted;
	uint64_t alerts_raised, alerts_delivered, alerts_acked;
	uint64_t alerts_merged, alerts_withheld, escalations, deadlines_missed;
	uint64_t anonymous_referrals;
	hub_agency agencies[HUB_AGENCY_CACHE];
	hub_session sessions[HUB_SESSIONS_MAX];
	int64_t next_maintain, next_catchup, next_stats;
};

/* zap.c: answer every pending ZAP request on h->zap. */
void hub__zap_handle(hub *h);
/* The event types an agency may send, from the cache filled by ZAP. */
bool hub__agency_types(hub *h, const char *agency, uint32_t *types);

/* ingest.c: drain, validate, store and ack one batch of frames. */
void hub__ingest(hub *h);

/* apply.c: apply log entries after last_applied to derived state and
 * rules; returns the number applied (0 when caught up), -1 on error. */
long hub__apply(hub *h, size_t max);
/* apply.c: fire the stored timers that are due on the hub clock. */
void hub__fire_timers(hub *h);

/* The hub clock (ms): the system clock, or the instant in clock_path so
 * tests can move time without sleeping. Today in days. */
int64_t hub__clock(hub *h);
int32_t hub__today(const hub *h);
/* Read the rules file (again); false keeps the rules in force. */
bool hub__load_rules(hub *h, ug_diag *diag);

/* deliver.c */
void hub__delivery_recv(hub *h);
/* An alert for `recipient` was stored: push it to whoever is connected. */
void hub__delivery_notify(hub *h, const char *recipient);
/* Member of the duty desk today (hubctl --desk, or DeskMembership). */
bool hub__is_desk_member(hub *h, const char *caseworker);

/* query.c: answer a caseworker's Query (open alerts, a timeline), only
 * about persons assigned to them or their desk, and audit it. */
void hub__query(hub *h, const void *routing, size_t routing_len,
                const char *caseworker, const wire_query *q);

#endif
