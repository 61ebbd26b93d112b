/*
 * The hub's persistence: a durable log plus derived state, on LMDB.
 *
 * Three environments under one directory:
 *   log/      synced on every commit. Holds only what cannot be recomputed:
 *             the append-only event log (sequence -> sealed event, with its
 *             event id), contact assignments, registered principals, and
 *             alerts with their delivery state.
 *   ids/      committed without fsync: the idempotency index (event id ->
 *             sequence), an index of the log that is rebuilt from it
 *             (store_ids.c).
 *   derived/  committed without fsync. Holds what the log can rebuild: the
 *             per-person index and the rules' per-person state, plus the
 *             last log sequence applied to it. After a crash the hub replays
 *             the log from there; alerts are keyed by the event that raised
 *             them, so a replay never loses or duplicates one.
 * Every value holding personal data is sealed (XChaCha20-Poly1305) with the
 * storage key; person keys are keyed hashes, never CPR numbers.
 *
 * Threading: a store handle is used by one thread. No function here keeps a
 * transaction open after it returns, except a derived txn between
 * store_derived_begin and its commit/abort.
 * Only store/ includes lmdb.h.
 */
#ifndef UG_STORE_H
#define UG_STORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/crypto.h"
#include "common/err.h"

#define STORE_EVENT_ID_LEN 16
#define STORE_ALERT_ID_LEN 9
#define STORE_ID_MAX	   64

typedef struct store store;

typedef struct {
	size_t log_map_mb;	    /* map size of log/ (default 16384) */
	size_t derived_map_mb;	    /* map size of derived/ (default 8192) */
	const uint8_t *storage_key; /* borrowed; must outlive the store */
	bool restoring; /* hubctl restore's own open of what it copied */
	/* hubd's stop request, or NULL: set (SIGTERM) while the open
	 * indexes a whole log again (ids/ lost, or after a reboot), it ends
	 * the indexing between two chunks, so a stop waits seconds, not the
	 * minutes a big log takes; the index stays behind the log, which
	 * lookups allow for, and the next open goes on from there. */
	const volatile sig_atomic_t *stop;
	/* Or NULL: also told each STORE-IDS notice (ids/ indexed again),
	 * which hubctl, logging warnings only, prints: a rebuild
	 * after a restart of the machine takes seconds per million events,
	 * and the docs promise the line from whichever program opens. */
	void (*say)(const char *msgid, const char *text);
} store_opts;

/* In data_dir from the start of a restore's copy until its store is
 * checked (store_restore_done): a store_open that finds it refuses the
 * store, which may be only part of the backup. */
#define STORE_RESTORE_MARK "restore.unfinished"

/* In data_dir while a new store is made, until its first open is done: a
 * process stopped before (kill -9, a power loss) leaves files that hold
 * nothing yet, an empty log/data.mdb among them, which would otherwise be
 * refused as a lost log. The next store_open that finds it makes the
 * store again. */
#define STORE_NEW_MARK "store.new"

/* Open (creating if needed) the store in dir. Clears stale readers. */
ug_err store_open(store **out, const char *dir, const store_opts *opts,
		  ug_diag *diag);
/* When this store_open upgraded the store's format in place (format 2 or
 * 3 to 4, docs/OPERATIONS.md "Store format"), what it did, as logged with
 * STORE-UPGRADED; else NULL. */
const char *store_upgraded(const store *s);
/* "derived state is ahead of the log (N > M)" when this open found
 * derived/ applied past the log's last sequence (the log restored alone
 * from an older copy) and threw it away for a rebuild, else NULL. */
const char *store_derived_was_ahead(const store *s);
/* Close; accepts NULL. Derived state is flushed to disk first. */
void store_close(store **s);
/* Timer work: clear stale reader slots. */
void store_maintain(store *s);
/* The setting that sizes the map a write last found full (UG_EFULL) and
 * that has not committed since: "derived_map_mb" (derived/, named first
 * when several are full) or "log_map_mb" (log/ and ids/); NULL when none.
 * Per process: hubd opens one store. */
const char *store_map_full(void);
/* Write derived state's dirty pages to disk (an fdatasync): safe from any
 * thread, beside a transaction in another. */
void store_derived_flush(store *s);

/* ---- the durable log ---- */

enum { STORE_NEW = 1, STORE_DUPLICATE = 2, STORE_CONFLICT = 3 };

/* One event to append. Inputs are borrowed for the call. */
typedef struct {
	const uint8_t *event_id;   /* STORE_EVENT_ID_LEN bytes */
	const char *agency;	   /* authenticated sender */
	uint32_t type;		   /* EventType */
	const uint8_t *person_key; /* UG_PERSON_KEY_LEN, NULL if anonymous */
	int64_t received_at;	   /* ms */
	const uint8_t *body;	   /* the envelope as received; sealed here */
	size_t body_len;
	/* For a ContactAssignment: the assignment to record, else NULL. */
	const char *assign_caseworker;
	int32_t assign_from, assign_to; /* days; assign_to 0 = open */
	int assign_role;		/* STORE_ROLE_* */
	/* Results, set by store_append. */
	int status;   /* STORE_NEW / _DUPLICATE / _CONFLICT */
	uint64_t seq; /* log sequence (the stored one for dups) */
	/* A ContactAssignment that found ASSIGN_MAX start days planned or in
	 * force: the one planned furthest ahead (perhaps this one) is no
	 * longer kept and will route nothing, which its sender must hear. */
	bool assign_dropped;
	int32_t assign_dropped_from;
	char assign_dropped_caseworker[STORE_ID_MAX];
} store_event;

/*
 * Append events in one synchronous transaction: when this returns UG_OK,
 * every STORE_NEW event is on disk. A resent id is STORE_DUPLICATE (also
 * within the batch); an id stored by another agency is STORE_CONFLICT.
 * On failure nothing is stored — but for a failed commit of the event-id
 * index (ids/) after the log's: the events are then stored and found by
 * store_event_id_get, though the call fails. UG_EFULL when a map is full,
 * UG_EIO for other LMDB errors (logged).
 */
ug_err store_append(store *s, store_event *events, size_t n)
    __attribute__((warn_unused_result));
/* The audit records of an append, built once each event's status is
 * known (inside its transaction: fn must not call the store) into *e, n
 * of them, valid until store_append_audited returns. An error from fn
 * takes the append back. */
typedef struct store_audit_entry store_audit_entry;
typedef ug_err (*store_append_audit_fn)(void *ctx, const store_event *events,
					size_t n, const store_audit_entry **e,
					size_t *ne);
/* store_append with the records fn builds chained in the log's
 * transaction: the events are stored with their records or, on any
 * failure (a full map), nothing is. *logged (when not NULL) tells the one
 * failure that stores them: the index's commit after the log's. */
ug_err store_append_audited(store *s, store_event *events, size_t n,
			    store_append_audit_fn fn, void *ctx, bool *logged)
    __attribute__((warn_unused_result));

/* Who stored an event id (the agency) under which sequence, without
 * writing anything; UG_ENOTFOUND if the id was never stored. */
ug_err store_event_id_get(store *s, const uint8_t *event_id, uint64_t *seq,
			  char agency[STORE_ID_MAX]);

/* An event read back from the log; pointers live until the callback returns.
 */
typedef struct {
	uint64_t seq;
	uint32_t type;
	const char *agency;
	int64_t received_at;
	const uint8_t *person_key; /* NULL if anonymous */
	/* STORE_EVENT_ID_LEN bytes; NULL in records from before format 4 */
	const uint8_t *event_id;
	const uint8_t *body;
	size_t body_len;
} store_record;

typedef ug_err (*store_record_fn)(void *ctx, const store_record *rec);

/*
 * Call fn for up to max records with seq >= from, in order. *next is set
 * to the sequence after the last record visited. A callback error stops
 * the scan and is returned. A record that does not open stops it with
 * UG_EMALFORMED and *next set to its sequence, unless it was passed over
 * (store_log_pass): then it is stepped over, fn not called for it.
 *
 * What fn may call. The scan holds a read txn on the log and *rec points
 * into the calling thread's unsealing buffer (one per thread), so:
 * - Not the functions that use that buffer; they overwrite *rec (copy
 *   what you need first, or call them after the scan): store_log_scan and
 *   store_log_get (nested), store_append, store_alerts_open,
 *   store_alerts_count and store_alert_get. The same holds inside a
 *   store_alert_fn, whose body lives in that buffer too.
 * - Any other store function is safe. Each read opens its own read txn:
 *   the environments are opened MDB_NOTLS, so one thread may hold several
 *   read txns, on the log as on the derived env. A write (store_alerts_put,
 *   store_alert_reroute, store_audit_append, store_principal_*, a
 *   store_dtxn) takes the environment's writer lock, which a read txn
 *   never holds, so it neither waits for the scan nor is seen by it.
 * - Never begin a second write txn on an environment whose writer lock
 *   this thread already holds: LMDB's writer lock is not recursive and
 *   the thread deadlocks. With a store_dtxn open, do not call
 *   store_derived_begin, store_derived_reset or any other function that
 *   opens its own write txn on the derived env.
 * - Reads see committed state only: not what the caller's open store_dtxn
 *   wrote (store_person_alerts, store_desk_* read the derived env in a
 *   txn of their own), nor alerts not yet stored. A caller that batches
 *   its writes must look in its own pending writes for what it did
 *   earlier in the same scan.
 */
ug_err store_log_scan(store *s, uint64_t from, size_t max, store_record_fn fn,
		      void *ctx, uint64_t *next);
typedef ug_err (*store_seq_fn)(void *ctx, uint64_t seq);
/* As store_log_scan, but a record that does not open (logged STORE-SEAL)
 * does not end the scan: unopened(ctx, seq) is called for it instead, and
 * the scan goes on with the next (max counts it too). For what must do
 * all it can and say exactly what it could not, such as an erasure. */
ug_err store_log_scan_opened(store *s, uint64_t from, size_t max,
			     store_record_fn fn, store_seq_fn unopened,
			     void *ctx, uint64_t *next);

/* Pass log record seq over (hubctl pass-damaged), with its audit record
 * (NULL: none) in the same transaction: from then on store_log_scan (the
 * applier, a rebuild, the retention purge) steps over it, logging
 * STORE-SEAL each time, as long as its stored bytes are the ones passed.
 * UG_EEXISTS when it opens (never passed), UG_ENOTFOUND when there is no
 * record seq; nothing is written then. store_log_get and the scans that
 * name what they cannot read (store_log_scan_opened) still meet it. */
struct store_audit_entry;
ug_err store_log_pass(store *s, uint64_t seq,
		      const struct store_audit_entry *audit);

/* Highest sequence handed out, 0 when none was: the log's last record,
 * or above it when a purge or erasure took the newest records. */
ug_err store_log_last(store *s, uint64_t *last);

/* When the log holds no record at or after from: the highest sequence
 * handed out, which is above from - 1 when a purge or erasure took the
 * newest records; else from - 1. */
ug_err store_log_end_after(store *s, uint64_t from, uint64_t *end);

enum { STORE_ROLE_CONTACT = 0, STORE_ROLE_GUIDANCE = 1 };

/* The caseworker in a role (contact person, guidance counsellor) for a
 * person on `today` (days), or UG_ENOTFOUND. */
ug_err store_assignment_role(store *s, const uint8_t *person_key, int role,
			     int32_t today, char caseworker[STORE_ID_MAX]);
/* Whether the caseworker holds or held the role for the person (among
 * the assignments kept), whatever the day. */
bool store_assignment_held(store *s, const uint8_t *person_key, int role,
			   const char *caseworker);
/* The assignment kept for the person and role that starts on `from`
 * (days): its caseworker and end (0 open), or UG_ENOTFOUND. */
ug_err store_assignment_at(store *s, const uint8_t *person_key, int role,
			   int32_t from, char caseworker[STORE_ID_MAX],
			   int32_t *to);
/* The contact person on `today`, or UG_ENOTFOUND. */
ug_err store_assignment_get(store *s, const uint8_t *person_key, int32_t today,
			    char caseworker[STORE_ID_MAX]);

/* ---- principals: who may connect ---- */

enum { STORE_AGENCY = 1, STORE_CASEWORKER = 2 };
#define STORE_FLAG_DESK 1u /* caseworker flag: member of the duty desk */
/* 2u is STORE_FLAG_GATEWAY (store_password.h). */
#define STORE_FLAG_OPS 4u /* caseworker flag: receives operational alerts */

/* Register (or re-register) a public key as an agency or a caseworker.
 * For an agency, flags is a bit mask of permitted event types (1 << type);
 * for a caseworker, STORE_FLAG_DESK and/or STORE_FLAG_OPS, or 0.
 * Replaces the id's earlier key. A key registered to another id (of
 * either kind) is UG_EEXISTS, diag naming its kind and id, and nothing
 * changes: a key identifies one principal. */
ug_err store_principal_put(store *s, int kind, const char *id,
			   const char *public_z85, uint32_t flags,
			   ug_diag *diag);
/* The same with its audit record (NULL: none) chained in the same
 * transaction: the registration is stored with its record or, on any
 * failure (a full map, UG_EEXISTS), neither is. */
ug_err store_principal_put_audited(store *s, int kind, const char *id,
				   const char *public_z85, uint32_t flags,
				   const store_audit_entry *audit,
				   ug_diag *diag);
/* Look a Z85 public key up: UG_ENOTFOUND if unregistered. */
ug_err store_principal_find(store *s, const char *public_z85, int *kind,
			    char id[STORE_ID_MAX], uint32_t *flags);
/* Look an id up: its flags. */
ug_err store_principal_flags(store *s, int kind, const char *id,
			     uint32_t *flags);
/* The id's currently registered key and flags; UG_ENOTFOUND if none. */
ug_err store_principal_current(store *s, int kind, const char *id,
			       char public_z85[41], uint32_t *flags);
typedef ug_err (*store_principal_fn)(void *ctx, const char *id,
				     uint32_t flags);
/* Every current registration of `kind` (both of its records agreeing), in
 * no particular order. fn runs inside a read txn: it must not write to the
 * log environment; an error from it stops the walk and is returned. */
ug_err store_principal_list(store *s, int kind, store_principal_fn fn,
			    void *ctx);
/* Remove the id's registration: its key is refused from then on. A
 * caseworker's (a gateway's too) web password and notice address go with
 * it, so that the id registered again later, perhaps for someone else,
 * has neither. UG_ENOTFOUND, and nothing changes, if the id holds no
 * registration of that kind. */
ug_err store_principal_revoke(store *s, int kind, const char *id);
/* The same with its audit record (NULL: none) in the same transaction:
 * the revocation is stored with its record or not at all. */
ug_err store_principal_revoke_audited(store *s, int kind, const char *id,
				      const store_audit_entry *audit);
/* A counter every registration and revocation raises, so a running hub
 * notices (cheaply, once per loop turn) that its cached view is stale. */
ug_err store_principal_generation(store *s, uint64_t *gen);

/* ---- alerts ---- */

typedef struct {
	uint8_t id[STORE_ALERT_ID_LEN]; /* raising seq (big-endian) + rule */
	const char *recipient;
	const uint8_t *body; /* the Alert message; sealed here */
	size_t body_len;
	bool created; /* result: false if it existed */
} store_alert;

/* Store new alerts in one synchronous transaction; an existing id is left
 * as it is (replays are idempotent). */
ug_err store_alerts_put(store *s, store_alert *alerts, size_t n)
    __attribute__((warn_unused_result));
/* The same, with audit[i] chained in the same transaction for each alert
 * created whose audit[i].action is set. */
ug_err store_alerts_put_audited(store *s, store_alert *alerts, size_t n,
				const store_audit_entry *audit)
    __attribute__((warn_unused_result));

/* Mark alerts acknowledged in one synchronous transaction. For each id not
 * open for `recipient` the matching found[i] is false. */
ug_err store_alerts_ack(store *s, const char *recipient,
			const uint8_t (*ids)[STORE_ALERT_ID_LEN], size_t n,
			bool *found) __attribute__((warn_unused_result));
/* The same, with audit[i] (store_audit_entry, below) chained in the same
 * transaction for each id found: the acknowledgement is stored with its
 * record or, on any failure (a full map), neither is. */
ug_err store_alerts_ack_audited(store *s, const char *recipient,
				const uint8_t (*ids)[STORE_ALERT_ID_LEN],
				size_t n, bool *found,
				const store_audit_entry *audit)
    __attribute__((warn_unused_result));

typedef ug_err (*store_alert_fn)(void *ctx, const uint8_t *id,
				 const uint8_t *body, size_t len,
				 uint32_t deliveries);
/* Open alerts for a recipient in queue order (by raising sequence, the
 * alerts of one event in a fixed order of the store's own), starting
 * after `after` (NULL: from the first), at most max. A queue entry or
 * alert that does not open, or is not addressed to this recipient, is
 * skipped and logged STORE-FORGED: never passed to fn. */
ug_err store_alerts_open(store *s, const char *recipient, const uint8_t *after,
			 size_t max, store_alert_fn fn, void *ctx);
typedef ug_err (*store_alert_id_fn)(void *ctx, const uint8_t *id);
/* The ids queued for a recipient (open alerts) in queue order after
 * `after` (NULL: from the first), at most max; the queue entries and the
 * alerts' heads are checked as for store_alerts_open, the bodies are not
 * unsealed. */
ug_err store_alerts_queued(store *s, const char *recipient,
			   const uint8_t *after, size_t max,
			   store_alert_id_fn fn, void *ctx);
/* Whether an alert is still queued (open) for this recipient. */
bool store_alert_queued(store *s, const char *recipient, const uint8_t *id);
/* Count one more delivery of each alert, in one synchronous transaction;
 * deliveries[i] receives the new count (0 if the alert is unknown). */
ug_err store_alerts_delivered(store *s,
			      const uint8_t (*ids)[STORE_ALERT_ID_LEN],
			      size_t n, uint32_t *deliveries)
    __attribute__((warn_unused_result));
/* One alert by id, whatever its state: fn gets the body (valid during the
 * call) and *open says whether it still waits for an acknowledgement.
 * UG_EMALFORMED (logged STORE-FORGED) if it does not open. */
ug_err store_alert_get(store *s, const uint8_t *id, store_alert_fn fn,
		       void *ctx, bool *open);
/* Replace the body of an open alert (its recipient, state and queue entry
 * stay), in one synchronous transaction: a consent that no longer shares
 * what an open alert names (hub/apply.c). An alert already acked is left
 * alone (*rewritten false); UG_ENOTFOUND if there is no such alert. */
ug_err store_alert_rewrite(store *s, const uint8_t *id, const uint8_t *body,
			   size_t body_len, bool *rewritten)
    __attribute__((warn_unused_result));
/* Count open alerts for a recipient. Each is opened and checked, as for
 * delivery, so the cost grows with the queue. */
ug_err store_alerts_count(store *s, const char *recipient, size_t *open);
/* How many alerts this process took off a queue since the store opened:
 * when it has not changed, no count went down. */
uint64_t store_alerts_unqueued(store *s);

/* ---- derived state ---- */

typedef struct store_dtxn store_dtxn;

/* Begin the (single) write transaction on derived/. A purge (another
 * process's: hubctl erase) that has committed derived/ but not yet the
 * log is waited for: the log is read after it. Never call it holding a
 * write transaction on the log. */
ug_err store_derived_begin(store *s, store_dtxn **out);
/* The last log sequence whose effects the derived state holds. */
uint64_t store_derived_last_applied(store *s);
/* The person's log sequences as the transaction sees them (the entries
 * it added too), in the order stored. */
ug_err store_derived_person_events(store_dtxn *t, const uint8_t *person_key,
				   store_seq_fn fn, void *ctx);
/* Add seq to the person's index, ordered by occurred_at. */
ug_err store_derived_index(store_dtxn *t, const uint8_t *person_key,
			   int64_t occurred_at, uint64_t seq);
/* Read a rule's sealed state for a person into buf: UG_ENOTFOUND if none. */
ug_err store_derived_state_get(store_dtxn *t, const uint8_t *person_key,
			       uint8_t rule, uint8_t *buf, size_t cap,
			       size_t *len);
ug_err store_derived_state_put(store_dtxn *t, const uint8_t *person_key,
			       uint8_t rule, const uint8_t *buf, size_t len);
/* Commit (without fsync) and record last_applied; consumes *t. */
ug_err store_derived_commit(store_dtxn **t, uint64_t last_applied)
    __attribute__((warn_unused_result));
void store_derived_abort(store_dtxn **t);
/* Throw the derived state away (it will be rebuilt from the log). */
ug_err store_derived_reset(store *s);
/* The derived state's format is `schema`: if the state was written in
 * another (or an unrecorded) one it is thrown away (*reset true) and the
 * new number recorded, so the caller replays the log into it. */
ug_err store_derived_schema_check(store *s, uint32_t schema, bool *reset);
/* For a writer that is not hubd (hubctl erase): derived state written in
 * another format than `schema` (an older hubd's, not yet rebuilt) is
 * thrown away whole (*dropped true), schema unrecorded, as hubd would at
 * its next start, which rebuilds it from the log; this version cannot
 * find a person's entries in it to delete them one by one. */
ug_err store_derived_drop_other(store *s, uint32_t schema, bool *dropped);

/* ---- rules support: timers, per-person alerts, desks, audit ---- */

/* A stored timer; the hub's scheduler fires it at `due` (hub clock). */
typedef struct {
	int64_t due;  /* ms */
	uint64_t seq; /* the log entry that started it */
	uint8_t kind; /* the hub's timer kind */
	uint8_t person_key[UG_PERSON_KEY_LEN];
} store_timer;

/* Schedule a timer (idempotent: same due, seq and kind is one timer). */
ug_err store_derived_timer_put(store_dtxn *t, const store_timer *timer);
/* Take up to max timers due at or before now out of the store, into out;
 * *n receives the count. They are gone when the derived txn commits. */
ug_err store_derived_timers_due(store_dtxn *t, int64_t now, store_timer *out,
				size_t max, size_t *n);
/* Earliest due timer as this txn sees it (its own puts included), or
 * UG_ENOTFOUND. */
ug_err store_derived_timer_first(store_dtxn *t, int64_t *due);
/* Earliest due timer, or UG_ENOTFOUND. */
ug_err store_next_timer(store *s, int64_t *due);

/* Remember that an alert concerns a person (for reassignment, timelines). */
ug_err store_derived_person_alert(store_dtxn *t, const uint8_t *person_key,
				  const uint8_t *alert_id);
typedef ug_err (*store_id_fn)(void *ctx, const uint8_t *id);
/* The person's alert ids, oldest first. */
ug_err store_person_alerts(store *s, const uint8_t *person_key, store_id_fn fn,
			   void *ctx);
/* The person's log sequences (their timeline), in the order stored. */
ug_err store_person_events(store *s, const uint8_t *person_key,
			   store_seq_fn fn, void *ctx);
/* The same in the index's order (roughly oldest first, not sorted), each
 * as found: fn's UG_EAGAIN ends the walk there and is returned. For a
 * question one entry may answer, without reading all of a long log's
 * buckets. */
ug_err store_person_events_scan(store *s, const uint8_t *person_key,
				store_seq_fn fn, void *ctx);
/* Read one log entry by sequence (fn as for store_log_scan). */
ug_err store_log_get(store *s, uint64_t seq, store_record_fn fn, void *ctx);

/* Desk membership from DeskMembership events: days, to 0 = open. */
ug_err store_derived_desk_put(store_dtxn *t, const char *desk,
			      const char *caseworker, int32_t from, int32_t to,
			      bool team_lead);
/* Is caseworker on desk on `today`; lead (may be NULL) says team lead.
 * False too when the desk's records cannot be read. */
bool store_desk_member(store *s, const char *desk, const char *caseworker,
		       int32_t today, bool *lead);
/* The same, telling a read that failed (the error; *member false) from
 * no membership (UG_OK, *member false). */
ug_err store_desk_member_read(store *s, const char *desk,
			      const char *caseworker, int32_t today,
			      bool *member, bool *lead);
/* The desk's team lead on `today` (of several, the one whose period began
 * last, then the lower id), or UG_ENOTFOUND. */
ug_err store_desk_lead(store *s, const char *desk, int32_t today,
		       char lead[STORE_ID_MAX]);

/* An alert's delivery state: open (not acked), its recipient and how often
 * it was escalated. UG_ENOTFOUND if there is no such alert. */
ug_err store_alert_state(store *s, const uint8_t *id, bool *open,
			 char recipient[STORE_ID_MAX], uint32_t *escalations);
/* Move an open alert to another recipient (reassignment, escalation) in
 * one synchronous transaction; escalation counts when `escalate`. An alert
 * already acked is left alone (*moved false). */
ug_err store_alert_reroute(store *s, const uint8_t *id, const char *recipient,
			   bool escalate, bool *moved)
    __attribute__((warn_unused_result));

/* ---- the audit trail (store_audit.c) ----
 *
 * An append-only, hash-chained log in log/audit: record n is sealed with
 * the hash of record n-1 bound in, so a changed, removed or reordered
 * record breaks the chain. The chain's head is kept sealed beside it and,
 * every STORE_AUDIT_CHECKPOINT_EVERY records and whenever a caller asks,
 * signed (Ed25519) into log/audit_ckpt. Records name a principal or key
 * and a person key or an alert id, never a CPR. */

#define STORE_AUDIT_CHECKPOINT_EVERY 1000
#define STORE_AUDIT_KEY_MAX	     41 /* a Z85 key and its NUL */
#define STORE_AUDIT_ACTION_MAX	     32
#define STORE_AUDIT_RESULT_MAX	     16
#define STORE_AUDIT_DETAIL_MAX	     512 /* erase: its counts, a 200-byte reason */
#define STORE_AUDIT_HASH_LEN	     32 /* BLAKE2b-256 */
#define STORE_AUDIT_QUEUE_MAX	     4096
/* Of them at most this many refusals (results refused, malformed,
 * rate-limited, not-open, denied, locked, limited). */
#define STORE_AUDIT_QUEUE_REFUSALS 3072

/* One record to write; borrowed for the call. Longer strings are cut. */
struct store_audit_entry {
	int64_t at;		   /* ms, hub clock */
	const char *actor;	   /* principal id, "hub", "hubctl:USER" */
	const char *key;	   /* Z85 key the actor used, or NULL */
	const char *action;	   /* "deliver", "timeline", "register"... */
	const char *result;	   /* "ok", "denied", "refused"... or NULL */
	const uint8_t *person_key; /* UG_PERSON_KEY_LEN, or NULL */
	const char *detail;	   /* alert id, ids, a note; never a CPR */
};

/* Append one record in its own synchronous transaction (after any queued
 * ones): key and result empty. */
ug_err store_audit_append(store *s, int64_t at, const char *actor,
			  const char *action, const uint8_t *person_key,
			  const char *detail)
    __attribute__((warn_unused_result));
/* Append the queued records, then these n, in one synchronous
 * transaction, and sign a checkpoint at every multiple of the signer's
 * interval they pass. On failure nothing is written and the queue is
 * kept. */
ug_err store_audit_write(store *s, const store_audit_entry *e, size_t n)
    __attribute__((warn_unused_result));
/* Keep a record in memory for the next store_audit_flush (or write): no
 * I/O, for the hot path. Beyond STORE_AUDIT_QUEUE_MAX records (beyond
 * STORE_AUDIT_QUEUE_REFUSALS for a refusal) are counted and dropped, and
 * the count is written as a record of its own. */
void store_audit_queue(store *s, const store_audit_entry *e);
/* Write what is queued (one synchronous transaction); UG_OK if nothing
 * was. On failure the queue is kept for the next call. */
ug_err store_audit_flush(store *s) __attribute__((warn_unused_result));
/* Sign checkpoints with this Ed25519 secret key (libsodium's 64-byte
 * form; borrowed, must outlive the store or the next call), at least
 * every `every` records. NULL: no checkpoints are written. */
void store_audit_signer(store *s, const uint8_t *sign_secret, uint64_t every);
/* Write queued records, then sign a checkpoint of the chain's head
 * unless one covers it already. UG_EINVAL without a signer. */
ug_err store_audit_checkpoint(store *s, int64_t at)
    __attribute__((warn_unused_result));
/* Number of audit records. */
ug_err store_audit_count(store *s, uint64_t *n);

/* A record read back; valid during the callback. */
typedef struct {
	uint64_t seq;
	int64_t at;
	char actor[STORE_ID_MAX];
	char key[STORE_AUDIT_KEY_MAX];
	char action[STORE_AUDIT_ACTION_MAX];
	char result[STORE_AUDIT_RESULT_MAX];
	bool has_person;
	uint8_t person_key[UG_PERSON_KEY_LEN];
	char detail[STORE_AUDIT_DETAIL_MAX];
} store_audit_record;
typedef ug_err (*store_audit_fn)(void *ctx, const store_audit_record *r);
/* Call fn for every record from seq `from` on, in order; a record that
 * does not open stops the scan with UG_EMALFORMED (verify says more). */
ug_err store_audit_scan(store *s, uint64_t from, store_audit_fn fn, void *ctx);

/* What store_audit_verify found. broken_seq is the first record (in
 * sequence order) at which something is wrong, 0 when intact; problem
 * says what, for that record. */
typedef struct {
	uint64_t records, checkpoints, last_checkpoint, head;
	/* The head the last checkpoint signed: what its STORE-AUDIT line
	 * logged, to compare with the journal. */
	uint8_t last_checkpoint_hash[STORE_AUDIT_HASH_LEN];
	uint64_t broken_seq, problems;
	char problem[256];
} store_audit_report;
/* Check the whole chain, the sealed head and every checkpoint's signature
 * (against sign_public, 32 bytes, from the key file, not from the store).
 * Returns UG_OK when it could look (intact or not: see out), else an
 * error reading the store. */
ug_err store_audit_verify(store *s, const uint8_t *sign_public,
			  store_audit_report *out);

/* ---- the lifecycle of personal data (store_lifecycle.c) ---- */

/* One log record to delete: its sequence, its event id (the envelope's,
 * for the idempotency index) and its person key if it has one. For a
 * contact or guidance assignment, assign_caseworker is set (else empty)
 * with the role and days it put into the person's assignment history,
 * so that the entry goes with the record. */
typedef struct {
	uint64_t seq;
	uint8_t event_id[STORE_EVENT_ID_LEN];
	bool has_person;
	uint8_t person_key[UG_PERSON_KEY_LEN];
	char assign_caseworker[STORE_ID_MAX];
	int assign_role; /* STORE_ROLE_* */
	int32_t assign_from, assign_to;
	/* Set when a kept record with the same start, stored before this
	 * one, made the entry this one corrected: the entry goes back to
	 * that record's caseworker and end instead of going. */
	char assign_back_caseworker[STORE_ID_MAX];
	int32_t assign_back_to;
	/* A desk membership's period as it put it into derived/ (desk set,
	 * else empty), which goes with the record likewise. */
	char desk[STORE_ID_MAX], desk_member[STORE_ID_MAX];
	int32_t desk_from, desk_to;
	bool desk_lead;
} store_purge_item;

/* What a purge deleted, by kind (counts only: they go to the audit
 * trail, the content never does). */
typedef struct {
	uint64_t records, ids, index_entries, alerts, queue_entries, palerts;
	uint64_t timers, states, assignments, persons_cleared;
} store_purge_counts;

/*
 * Delete the n records and everything keyed by them: their ids entries,
 * person index entries, the alerts they raised (ids seq|0..255) with
 * their queue entries and person-alert entries, and the timers they
 * started. A person none of whose records is left in the person index
 * afterwards loses all their state too (as for erase_person). With
 * erase_person (UG_PERSON_KEY_LEN, or NULL) also everything held about
 * that person whatever remains: their person index, every alert in
 * their list, rule states and profile, timers and assignments.
 * One transaction on each environment (derived/ first, as hubd takes
 * them), derived/ committed and synced before the log, so a crash
 * between the two leaves the records for the next purge or erasure to
 * find and delete, never derived entries of records gone (a
 * store_derived_begin in between, hubd's applier while hubctl erases,
 * waits for the log's commit rather than apply again from the log a
 * record the purge deletes): UG_OK means gone
 * from the B-trees (the pages they held are free and are reused; their old
 * bytes stay in the file until then, sealed). A deleted sequence is
 * never handed out again. Records or entries already gone are skipped,
 * so a purge or erasure can be repeated. Must not be called with a
 * store_dtxn open.
 */
ug_err store_purge(store *s, const store_purge_item *items, size_t n,
		   const uint8_t *erase_person, store_purge_counts *out)
    __attribute__((warn_unused_result));

/* The audit records of a purge, built from what it deleted (inside its
 * transactions: fn must not call the store) into *e, n of them, which
 * must stay valid until store_purge_audited returns. An error from fn
 * takes the purge back. */
typedef ug_err (*store_purge_audit_fn)(void *ctx,
				       const store_purge_counts *deleted,
				       const store_audit_entry **e, size_t *n);
/* store_purge with the records fn builds chained in the log's transaction:
 * the deletion commits with its records or, on any failure (a full map),
 * nothing is deleted. */
ug_err store_purge_audited(store *s, const store_purge_item *items, size_t n,
			   const uint8_t *erase_person,
			   store_purge_counts *out, store_purge_audit_fn fn,
			   void *ctx) __attribute__((warn_unused_result));

/* The ids of the alerts record seq raised (whatever their state), in id
 * order; fn is called after the store's read txn ends, so it may call any
 * store function. */
ug_err store_alerts_raised(store *s, uint64_t seq, store_id_fn fn, void *ctx);

/* ---- statistics ---- */

typedef struct {
	uint64_t log_events, last_seq, last_applied;
	uint64_t event_ids, assignments, principals;
	uint64_t alerts, alerts_open;
	uint64_t person_index_entries, timers, audit_records;
	/* pages in use x page size */
	uint64_t log_bytes, derived_bytes, ids_bytes;
	uint64_t log_map_bytes, derived_map_bytes, ids_map_bytes;
	/* This process had a write refused for a full map (until it ends). */
	bool log_map_refused, derived_map_refused, ids_map_refused;
	/* Reader slots in use (the high-water mark of the reader table) and
	 * the table's size. */
	uint64_t log_readers, derived_readers, ids_readers;
	uint64_t log_max_readers, derived_max_readers, ids_max_readers;
} store_stats;

ug_err store_get_stats(store *s, store_stats *out);

/* ---- backup and restore (store_backup.c) ---- */

#define STORE_BACKUP_FILES    3 /* derived/, ids/, log/: the copy's order */
#define STORE_BACKUP_HASH_LEN 32

/* One data file of a backup: its path in the backup, its length and its
 * BLAKE2b-256, so that a restore can tell a damaged or cut-short file
 * from the one the backup wrote. known is false where a manifest from
 * before these figures has none. */
typedef struct {
	const char *path; /* "derived/data.mdb", "ids/data.mdb", "log/..." */
	bool known;
	uint64_t bytes;
	uint8_t blake2b[STORE_BACKUP_HASH_LEN];
} store_backup_file;

/* The backup's files in the copy's order (derived, ids, log), known
 * false. */
void store_backup_files(store_backup_file out[STORE_BACKUP_FILES]);

/* What a backup holds, read back from the copy itself. */
typedef struct {
	store_stats stats;	  /* of the copy: last_seq, log_events... */
	store_audit_report audit; /* the copy's chain (if verified) */
	bool audit_verified;	  /* a sign_public key was given */
	uint32_t format;	  /* the log's store format number */
	store_backup_file files[STORE_BACKUP_FILES]; /* as finally written */
	bool made_dir; /* dir did not exist before: a failure removes it */
	bool started;  /* dir was made ready: a failure took back what it wrote
			*/
} store_backup_info;

/* Hot, compacting copy of derived/, ids/, then log/ (so the copy's derived
 * state and index are never ahead of its log; both are left for the log to
 * rebuild when an erasure or purge recorded meanwhile may have deleted
 * from the log copy what they hold) into dir/ENV/data.mdb
 * (0600), dir made 0700 and required missing or empty
 * (else UG_EEXISTS). The copy is then opened with opts' key, its figures
 * read into out and its audit chain verified against sign_public (32
 * bytes, or NULL: not verified). Safe while hubd runs. A failure takes
 * back what it wrote (dir, when it made it, included). */
ug_err store_backup(store *s, const char *dir, const store_opts *opts,
		    const uint8_t *sign_public, store_backup_info *out,
		    ug_diag *diag) __attribute__((warn_unused_result));
/* Take back what store_backup wrote into dir, and dir itself when it
 * made it: for a backup whose manifest cannot be written. */
void store_backup_undo(const char *dir, bool made_dir);
/* Copy a backup's data files into data_dir (a backup from before format 4
 * has no ids/), which must be missing or
 * empty (else UG_EEXISTS, nothing written); no store is opened here.
 * Each file copied must have the length and hash expect records for it
 * (where known) and hold every page its LMDB header counts, else
 * UG_EMALFORMED: a damaged or cut-short file is refused before anything
 * maps it. A copy that fails takes back what it wrote
 * (store_restore_undo). What a restore that never finished left
 * (STORE_RESTORE_MARK in data_dir) is taken back first, so the restore
 * starts over. */
ug_err store_restore(const char *from, const char *data_dir,
		     const store_backup_file expect[STORE_BACKUP_FILES],
		     ug_diag *diag) __attribute__((warn_unused_result));
/* Take back what store_restore put into data_dir (which it found empty):
 * for a restore whose store then does not open or does not match. */
void store_restore_undo(const char *data_dir);
/* The restored store is checked: take STORE_RESTORE_MARK away. */
ug_err store_restore_done(const char *data_dir, ug_diag *diag)
    __attribute__((warn_unused_result));

#endif
