/*
 * The effects of applying the log and firing timers (apply.c, routing.c):
 * what the rules decided, queued in the derived transaction and carried out
 * after it (see apply.c's file comment for the order of the commits).
 */
#ifndef UG_HUB_EFFECTS_H
#define UG_HUB_EFFECTS_H

#include "hub/engine.h"
#include "hub/hub_int.h"

typedef struct {
	store_alert alert;
	char recipient[STORE_ID_MAX];
	uint8_t person_key[UG_PERSON_KEY_LEN];
	bool has_person;
	bool escalation; /* a notice to the desk or team lead */
} new_alert;

typedef struct {
	uint8_t id[STORE_ALERT_ID_LEN];
	char recipient[STORE_ID_MAX];
	char from[STORE_ID_MAX]; /* set once moved: whose list it left */
	bool moved;
} reroute;

typedef struct {
	uint8_t id[STORE_ALERT_ID_LEN];
	uint8_t person_key[UG_PERSON_KEY_LEN]; /* for the audit record */
	bool has_person;
	bool closed; /* was open and is closed now: to audit */
	char recipient[STORE_ID_MAX]; /* whose list it left, once closed */
	/* The lists its closed escalation notices left (desk, team lead). */
	char notices[2][STORE_ID_MAX];
	size_t nnotices;
} withdrawal;

typedef struct {
	hub *h;
	store_dtxn *txn;
	new_alert *alerts;
	size_t nalerts, alerts_cap;
	reroute *reroutes;
	size_t nreroutes, reroutes_cap;
	withdrawal *withdrawals;
	size_t nwithdrawals, withdrawals_cap;
	/* Open combined alerts that may name a referral the consent no
	 * longer shares: their text loses it once stored (apply.c). */
	uint8_t (*unnamed)[STORE_ALERT_ID_LEN];
	size_t nunnamed, unnamed_cap;
	size_t applied;
	bool hand;  /* news to the loop thread (hub__applier_hand) */
	ug_err err; /* why finish failed */
	/* A replay (hub__replay) stops at an entry received after a timer
	 * fell due; held says it did, at the entry received at held_at. */
	bool replay, held;
	int64_t held_at;
	/* The earliest due instant of a timer scheduled in this batch (0:
	 * none): a move waits for the steps due before it (apply.c). */
	int64_t first_scheduled;
} apply_ctx;

/* Queue the alert a draft describes, addressed to `recipient`, under the
 * id (d->seq, d->rule); schedules its acknowledgement deadline. */
ug_err effects_emit(apply_ctx *c, const draft *d, const uint8_t *person_key,
		    const char *recipient);
ug_err effects_schedule(apply_ctx *c, int64_t due, uint64_t seq, int kind,
			const uint8_t *person_key);
ug_err effects_reroute(apply_ctx *c, const uint8_t *id, const char *recipient);
ug_err effects_profile_load(apply_ctx *c, const uint8_t *person_key,
			    const char *cpr, profile *p, bool *stored);
ug_err effects_profile_save(apply_ctx *c, const uint8_t *person_key,
			    const profile *p);

/* routing.c */
/* The recipient for a draft on today; false when it may go to nobody (a
 * health alert for a person without a contact person). *contact says the
 * recipient is the person's contact person (inside the consent). */
bool routing_resolve(hub *h, const uint8_t *person_key, recipient_rule to,
		     char out[STORE_ID_MAX], bool *contact);
/* Move the person's open alerts to whoever is the contact person at the
 * instant `at` (ms; 0 or later than the hub clock: now) under the
 * consent of that instant (or to the desk); a counsellor keeps the alerts
 * addressed to them. */
ug_err routing_move_open_alerts(apply_ctx *c, const uint8_t *person_key,
				int64_t at);
/* An acknowledgement deadline passed: the alert stays with its owner and
 * a notice goes to the desk, then to the team lead. */
ug_err routing_escalate(apply_ctx *c, const store_timer *t);

#endif
