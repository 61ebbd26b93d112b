/*
 * Internals shared by the hub module: the hub struct and the parts' entry
 * points. The loop thread owns the hub and its sockets; the writer,
 * applier and flusher threads (writer.c, applier.c, flusher.c) share with
 * it only what worker.c's lock and the derived lock (derived_mu) guard,
 * as each field's comment says.
 */
#ifndef UG_HUB_INT_H
#define UG_HUB_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "common/config.h"
#include "common/keys.h"
#include "hub/hub.h"
#include "hub/rules.h"
#include "hub/rules_config.h"
#include "proto/wire.h"
#include "store/store.h"

#define HUB_WINDOW_MAX	    256	 /* most alerts in flight per session */
#define HUB_PRINCIPAL_CACHE 512	 /* hash slots; a miss reads the store */
#define HUB_ROUTING_ID_MAX  256	 /* ZMTP allows routing ids up to 255 */
#define HUB_PENDING_COUNTS  4096 /* delivery counts not yet written */

/*
 * A caseworker client that said Hello on the delivery socket. The routing
 * id only addresses frames; the session belongs to the connection (fd, from
 * ZMQ_SRCFD) and to the caseworker and key ZAP admitted on it, and ends
 * when the socket monitor reports that connection gone.
 */
typedef struct {
	bool used;
	uint8_t routing_id[HUB_ROUTING_ID_MAX];
	size_t routing_len;
	int fd;
	char caseworker[STORE_ID_MAX];
	char key[UG_Z85_KEY_LEN + 1];
	bool desk;
	uint32_t window;
	/* Alerts sent on this connection and not acknowledged: the window.
	 * Everything queued for the caseworker that is not in here is due,
	 * whatever its id, so an alert raised "behind" others still goes. */
	uint32_t n_flight;
	uint8_t flight[HUB_WINDOW_MAX][STORE_ALERT_ID_LEN];
	bool blocked; /* the peer's send queue was full: retry on the tick */
	uint64_t serial; /* order of opening: the oldest gives way first */
} hub_session;

/* A registration as the hub last read it (cache, refreshed whenever the
 * store's registration generation moves). */
typedef struct {
	int kind; /* 0: empty slot */
	char id[STORE_ID_MAX];
	char key[UG_Z85_KEY_LEN + 1]; /* "" = not registered */
	uint32_t flags;
} hub_principal;

/* An acknowledgement received but not yet stored (the store was full). */
#define HUB_PENDING_ACKS 1024
typedef struct {
	char caseworker[STORE_ID_MAX];
	uint8_t id[STORE_ALERT_ID_LEN];
	char note[201];
} hub_pending_ack;

/* A caseworker's query allowance (token bucket). */
typedef struct {
	char caseworker[STORE_ID_MAX];
	double tokens;
	int64_t at;
} hub_query_bucket;

struct hub_ingest_batch;

/* A ZAP request's frames (RFC 27), and how long one the store cannot
 * check is held before it is answered 300 (zap.c). */
#define ZAP_FRAMES  7
#define ZAP_HOLD_MS 25000

struct hub {
	void *zmq;
	void *ingest, *delivery, *zap;
	/* zap.c: a ZAP request the store could not check yet, held since
	 * zap_held_since (monotonic ms; 0: none held). */
	zmq_msg_t zap_held[ZAP_FRAMES];
	int64_t zap_held_since;
	int lock_fd; /* data_dir/hubd.lock, held while hubd runs; 0: none */
	store *store;
	ug_keys *keys;
	rules_config rules; /* thresholds, calendars, recipients */
	/* Whole, as given: --check-config reads the files by their full
	 * names, so the start and every reload must too. */
	char *rules_path; /* reloaded on SIGHUP; "" = the defaults */
	char *clock_path; /* injectable clock for tests; "" = system */
	/* hub clock, ms, read once per loop turn (set by the loop thread,
	 * read by the applier too) */
	_Atomic int64_t now;
	long batch_max;
	struct hub_ingest_batch *batch; /* batch_max frames, reused */
	store_event *batch_events;
	size_t batch_frames, batch_stored; /* the batch with the writer */
	bool batch_logged; /* the log took it though the index failed */
	struct hub_writer *writer;   /* writer.c */
	struct hub_flusher *flusher; /* flusher.c */
	struct hub_applier *applier; /* applier.c */
	pthread_mutex_t derived_mu;  /* see applier.c */
	uint64_t logged; /* the highest sequence a batch committed */
	/* The outcome of the last attempt to apply the log (ug_err): set by
	 * whichever thread applies, read by ingest and /readyz without the
	 * derived lock. The rest, under the derived lock: since when applying
	 * fails, and how its failures are reported (apply.c). */
	_Atomic int apply_err;
	/* The log record that does not open where applying stops, 0 none:
	 * logged when it first stops there, an ops alert while it does. */
	_Atomic uint64_t apply_damaged;
	int64_t apply_failing_since, apply_logged_at;
	uint64_t apply_failures;
	/* The last failure was of firing timers, not of applying the log:
	 * only timers that fire end it. */
	bool apply_failing_timers;
	/* Since when batches are not stored, when HUB-STORE last said so and
	 * how many it has not said since (ingest.c). Loop thread only. */
	int64_t store_failing_since, store_logged_at;
	uint64_t store_failures, store_unsaid;
	/* Since when due timers wait for the batch with the writer (mono
	 * ms, 0 none; hub.c). Loop thread only. */
	int64_t timers_waiting_since;
	/* Counters reported in the log at stop and in HUB-STATS lines. */
	uint64_t accepted, duplicates, rejected, zap_refused, zap_admitted;
	uint64_t alerts_raised, alerts_delivered, alerts_acked;
	uint64_t escalations;
	/* Counted by the applier thread as it applies. */
	_Atomic uint64_t alerts_merged, alerts_withheld, deadlines_missed;
	_Atomic uint64_t anonymous_referrals;
	uint64_t sessions_refused, sessions_reclaimed, queries_limited;
	uint64_t actions_limited;
	/* Registrations: the cache and the generation it was filled at. */
	hub_principal principals[HUB_PRINCIPAL_CACHE];
	uint64_t principal_generation;
	bool principal_generation_set;
	/* The audit trail read so far for revocations (zap.c): a revoke
	 * undone by a registration before hubd looked shows only there. */
	uint64_t audit_seen;
	bool audit_seen_set;
	/* Delivery sessions (sessions_max of them) and the connection
	 * events that end them. */
	hub_session *sessions;
	long sessions_max, sessions_per_caseworker;
	uint64_t session_serial;
	void *delivery_monitor;
	uint8_t *fd_gone; /* fd -> 1 after DISCONNECTED, until ACCEPTED */
	/* Deliveries counted in memory, written in one transaction a tick;
	 * sending never waits for (or depends on) that write. */
	uint8_t (*pending_counts)[STORE_ALERT_ID_LEN];
	size_t n_pending_counts;
	hub_pending_ack *pending_acks;
	size_t n_pending_acks;
	/* Query and action allowances per caseworker (query.c). */
	double query_rate, query_burst;
	hub_query_bucket *buckets, *action_buckets;
	struct hub_gateway *gateway; /* web sessions (gateway.c) */
	/* While a gateway's session-bound frame is handled: the caseworker
	 * it acts for, so every Result to that connection says so (the
	 * .proto promises it), whichever code answers; and the gateway's
	 * key, the one the connection authenticated with, which its audit
	 * records name instead of the caseworker's own. */
	struct {
		const void *routing;
		size_t routing_len;
		char caseworker[STORE_ID_MAX];
		char key[UG_Z85_KEY_LEN + 1];
		bool desk;
		uint32_t idle_s; /* web_session_idle, for the Result */
		/* The list an answer holds is the one of this count: a page
		 * watches for changes from there (webd's /events?since). */
		uint64_t alerts_version;
	} acting_for;
	int64_t next_maintain, next_catchup, next_stats, next_pump;
	/* A full or failing store refuses every frame retryable, and a busy
	 * adapter resends them for as long as it lasts; a large export an
	 * agency may not send is refused for good row by row: one HUB-REJECT
	 * line each would flood the journal (and journald, rate-limiting,
	 * would drop hubd's other lines with them). The first (retryable) or
	 * first HUB_REFUSE_LINES (for good) are logged, the rest of each
	 * minute counted and summed up (ingest.c). Acks a sender does not
	 * read past INGEST_HWM are dropped one per event of its export:
	 * HUB-ACK runs the same way, one line, then a sum (ack_log). */
	struct hub_reject_log {
		int64_t until; /* mono ms the minute ends; 0: none running */
		uint64_t count;
		unsigned lines; /* lines of their own this run of minutes */
		char who[STORE_ID_MAX];
		char reason[256];
	} retry_log, refuse_log, ack_log;
	/* Answers a delivery client does not read are dropped past its
	 * queues, one per frame it sends, which it may send without limit
	 * (a frame that does not decode): the same run of minutes as
	 * ack_log, one per log id (deliver.c). */
	struct hub_drop_log {
		int64_t until; /* mono ms the minute ends; 0: none running */
		uint64_t count;
		char reason[64];
	} query_drops, answer_drops, web_drops;
	/* Frames refused on delivery (HUB-DELIVER, HUB-HELLO, HUB-WEB),
	 * which no rate limit holds back: run as HUB-REJECT is, the first
	 * lines of a run of minutes written, the rest counted (deliver.c). */
	struct hub_reject_log deliver_refusals, hello_refusals, web_refusals;
	struct hub_metrics *metrics; /* metrics.c */
	struct hub_ops *ops;	     /* ops_alerts.c */
};

/* deliver.c: the person of the log record an alert's id starts with (the
 * event that raised it), for the audit records of an alert that names no
 * one; false for an operational alert or a record no longer held. Not
 * from within a store_alert_fn (it reads the log). */
bool hub__alert_person_logged(hub *h, const uint8_t *id,
			      uint8_t person_key[UG_PERSON_KEY_LEN]);

/* zap.c: answer every pending ZAP request on h->zap, and the one held
 * while the store could not be read, once it can or ZAP_HOLD_MS passed. */
void hub__zap_handle(hub *h);
/* A request is held: poll h->zap for nothing, and come back soon. */
bool hub__zap_holding(const hub *h);
/* Drop the held request (at stop: its client's handshake just ends). */
void hub__zap_release(hub *h);
/* The property ZAP attaches to every message: the key it admitted. */
#define HUB_KEY_PROPERTY "X-Ungebro-Key"
/* Whether the frame's sender (User-Id and key ZAP attached to it) is still
 * registered as `kind` with that key: HUB_SENDER_GONE once revoked or
 * replaced; HUB_SENDER_UNKNOWN when the store cannot be read to tell,
 * which is no revocation (the frame is answered E_UNAVAILABLE and the
 * connection's session kept). *flags receives the current flags (event
 * types, desk). */
enum hub_sender { HUB_SENDER_CURRENT, HUB_SENDER_GONE, HUB_SENDER_UNKNOWN };
enum hub_sender hub__sender_current(hub *h, int kind, const void *zmq_frame,
				    const char **id, uint32_t *flags);
/* An audit record of what a caseworker did on the delivery endpoint,
 * naming the key the caseworker is registered with (key is its storage). */
void hub__caseworker_audit_entry(hub *h, store_audit_entry *e,
				 char key[UG_Z85_KEY_LEN + 1],
				 const char *caseworker, const char *action,
				 const char *result, const uint8_t *person_key,
				 const char *detail);
/* Notice registrations changed by hubctl (cheap; once per loop turn). */
void hub__principals_refresh(hub *h);

/* ingest.c: drain and validate the ready frames (up to batch_max) and
 * hand the valid ones to the writer; frames that need no writing are
 * answered at once. Does nothing while the writer holds a batch. */
void hub__ingest_begin(hub *h);
/* ingest.c: once the writer is done (wait: block until it is), send the
 * batch's acks; true when a batch was finished. */
bool hub__ingest_end(hub *h, bool wait);
/* ingest.c: the refusals counted since the last HUB-REJECT line, once
 * their minute is over (or at stop: now). */
void hub__ingest_retry_log(hub *h, int64_t mono_now, bool stopping);
/* deliver.c: an answer to a delivery client not sent (`line`, logged as
 * `ident` for the first of a run of minutes, counted after it), and the
 * sums of those counted, as each minute ends or at a stop. */
/* deliver.c: where a bounded log's run of minutes stands (HUB-REJECT's
 * kind: lines of their own, then counted): the count to sum up in one
 * line now, 0 for none. The minute after a summary starts another run;
 * a minute that counted none, or a stop, ends it. */
uint64_t hub__log_run_due(int64_t *until, uint64_t *count, int64_t mono_now,
			  bool stopping);
void hub__drop_log(struct hub_drop_log *l, const char *ident, const char *line,
		   const char *reason);
void hub__drop_log_tick(hub *h, int64_t mono_now, bool stopping);
/* deliver.c: whether the warn line of a frame refused on delivery, logged
 * as `ident` (HUB-DELIVER, HUB-HELLO or HUB-WEB), is written; false once
 * that id has written its lines of this run of minutes: counted then, and
 * summed up by hub__drop_log_tick. The refusal is answered and audited
 * either way. */
bool hub__refusal_logged(hub *h, const char *ident);
#define hub__log_refusal(h, ident, ...)                                       \
	do {                                                                  \
		if (hub__refusal_logged((h), (ident)))                        \
			log_warn((ident), __VA_ARGS__);                       \
	} while (0)

/* worker.c: what the writer, flusher and applier threads share — the lock
 * and condition their owner signals them with, a quit flag set under it,
 * and (with `signals`) an eventfd the thread tells the loop through.
 * stop sets quit, signals, joins the thread and closes the eventfd. */
typedef struct {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* on CLOCK_MONOTONIC */
	bool quit;
	int signal_fd; /* -1 without `signals` */
} hub_worker;
/* name: the thread's name as top -H shows it (15 bytes at most). */
ug_err hub__worker_start(hub_worker *w, const char *name,
			 void *(*main)(void *), void *arg, bool signals);
/* With mu held: wait until *job is set (true, and *job cleared) or quit
 * is set with no job (false). */
bool hub__worker_wait(hub_worker *w, bool *job);
/* Thread side: make signal_fd readable. Loop side: read it empty; true if
 * it had been signalled. */
void hub__worker_signal(hub_worker *w, const char *msgid);
bool hub__worker_drain(hub_worker *w);
void hub__worker_stop(hub_worker *w);

/* flusher.c: the thread that flushes derived state to disk now and then;
 * stopped before the store is closed. */
typedef struct hub_flusher hub_flusher;
ug_err hub__flusher_start(hub *h);
void hub__flusher_stop(hub *h);

/* writer.c: the thread that commits event batches (store_append). */
typedef struct hub_writer hub_writer;
ug_err hub__writer_start(hub *h);
void hub__writer_stop(hub *h);
/* Readable (an eventfd) when the batch in hand is committed. */
int hub__writer_fd(const hub *h);
bool hub__writer_busy(const hub *h);
/* Hand over events[0..n-1]; the loop leaves them alone until collected. */
void hub__writer_submit(hub *h, store_event *events, size_t n);
/* The result of the batch in hand: false while it is not done (and wait
 * is false) or when no batch is in hand. */
/* *logged: the log took the batch (the events' statuses hold) even when
 * *err says the event-id index's commit after it failed. */
bool hub__writer_collect(hub *h, bool wait, ug_err *err, bool *logged,
			 double *seconds);

/* apply.c: apply log entries after last_applied to derived state and
 * rules; returns the number applied (0 when caught up), -1 on error. */
long hub__apply(hub *h, size_t max);
/* What an apply leaves to tell on the loop thread, which owns the
 * delivery sockets and the audit queue. */
enum {
	HUB_NEWS_WITHDRAWN,
	HUB_NEWS_ALERT,
	HUB_NEWS_ESCALATION,
	/* An alert with its recipient already, or from one unknown. */
	HUB_NEWS_REROUTE,
	/* A moved alert, new in its recipient's list: counted for a notice. */
	HUB_NEWS_MOVED_IN,
	HUB_NEWS_LEFT /* a moved alert's former recipient */
};
typedef struct {
	uint8_t id[STORE_ALERT_ID_LEN];
	char recipient[STORE_ID_MAX];
	int kind; /* HUB_NEWS_* */
	/* Whom a withdrawal or escalation is about, for its audit record. */
	uint8_t person_key[UG_PERSON_KEY_LEN];
	bool has_person;
} hub_news;
/* As hub__apply; with `hand`, the news goes to the loop through
 * hub__applier_hand instead of being told at once. */
long hub__apply_chunk(hub *h, size_t max, bool hand);
/* As hub__apply at start, firing between the entries the timers that
 * fell due before the next one was received (0 when caught up). */
long hub__replay(hub *h, size_t max);
/* apply.c: log, audit and push what an apply did (loop thread). */
void hub__announce(hub *h, const hub_news *news, size_t n);

/* applier.c: the thread that runs hub__apply beside the loop. */
#define HUB_APPLY_LAG_MAX 1024
typedef struct hub_applier hub_applier;
ug_err hub__applier_start(hub *h);
void hub__applier_stop(hub *h);
/* Readable (an eventfd) after each chunk the applier applied. */
int hub__applier_fd(const hub *h);
/* More is committed: apply it. */
void hub__applier_kick(hub *h);
/* What ingest does about the applier. More than HUB_APPLY_LAG_MAX entries
 * up to `logged` not applied: while the applier is merely busy, take no
 * new frames until it catches up (WAIT); while its last attempt failed
 * (derived/ full, say), it may never catch up, so frames are taken and
 * answered REJECTED retryable instead of being left unanswered
 * (REFUSE, with the code and reason). */
enum { HUB_GATE_OPEN, HUB_GATE_WAIT, HUB_GATE_REFUSE };
int hub__applier_gate(const hub *h, uint64_t logged);
/* Why applying fails (h->apply_err not UG_OK): the Ack code and a reason
 * for the sender, naming the setting when a map is full. */
int hub__apply_failure(const hub *h, char *reason, size_t cap);
/* Applier side: queue news for the loop. Loop side: tell what is queued. */
void hub__applier_hand(hub *h, const hub_news *news, size_t n);
void hub__applier_collect(hub *h);
/* The loop's exclusive use of derived state and the rules, against the
 * applier (no-ops when no applier runs, as in hubctl). */
void hub__derived_enter(hub *h);
void hub__derived_leave(hub *h);
/* apply.c: fire the stored timers that are due on the hub clock. */
void hub__fire_timers(hub *h);

/* The hub clock (ms): the system clock, or the instant in clock_path so
 * tests can move time without sleeping. Today in days. */
int64_t hub__clock(hub *h);
int32_t hub__today(const hub *h);
/* Read the rules file (again); false keeps the rules in force. */
bool hub__load_rules(hub *h, ug_diag *diag);

/* deliver.c: a Result for the connection routing names, with the
 * caseworker and desk of the session it acts for when it is a gateway's
 * (acting_for). Every Result on the delivery socket starts here. */
void hub__result_init(const hub *h, const void *routing, size_t routing_len,
		      wire_result *r);
/* deliver.c: answer a frame on the delivery socket with a Result. */
void hub__delivery_answer(hub *h, const void *routing, size_t routing_len,
			  uint32_t request_id, int code, const char *reason);

/* routing.c: what an alert says of itself (its body, unsealed): the young
 * person, the title and due date, whether it names an addiction referral
 * (a combined alert to the contact person), when it was raised and
 * whether it is still open; UG_ENOTFOUND for an unknown alert. */
typedef struct {
	char cpr[12];
	char title[160];
	char due[11];
	bool names_referral;
	char referral[80]; /* "agency, YYYY-MM-DD" of the referral it names */
	bool open;
	int64_t raised_at; /* ms */
} hub_alert_summary;
ug_err hub__alert_summary(hub *h, const uint8_t *id, hub_alert_summary *out);
/* What a combined alert says in place of a referral the consent no longer
 * shares (apply.c writes it, routing.c reads it: such an alert still
 * stays where it is). */
#define HUB_REFERRAL_UNNAMED "and one more that may no longer be shown"

/* routing.c: the alert was acknowledged or withdrawn: close the notices
 * its escalation sent to the desk and the team lead; with `closed`, whom
 * the closed ones were for (*n of them, at most 2). */
void hub__close_notices(hub *h, const uint8_t *id,
			char (*closed)[STORE_ID_MAX], size_t *n);

/* action.c: record a caseworker's Action in the log; answers a Result.
 * raw is the frame after its header: a NUL byte in a text is seen only
 * there. */
void hub__action(hub *h, const void *routing, size_t routing_len,
		 const char *caseworker, const wire_action *a,
		 const uint8_t *raw, size_t raw_len);

/* deliver.c */
void hub__delivery_recv(hub *h);
/* An alert for `recipient` was stored: push it to whoever is connected. */
void hub__delivery_notify(hub *h, const char *recipient);
/* gateway.c: a new alert for recipient: live web lists, e-mail notices. */
void hub__notify_alerted(hub *h, const char *recipient);
/* gateway.c: recipient's open alerts changed otherwise (one moved in or
 * out, acknowledged by a colleague, withdrawn): live web lists only, as
 * an e-mail notice is only about new alerts. `by`, when not NULL, is the
 * caseworker whose acknowledgement it was: their own sessions are not
 * told (ALERTS_CHANGED counts what the caseworker did not do). */
void hub__notify_listed(hub *h, const char *recipient, const char *by);
/* After a registration change: end every web session whose caseworker or
 * gateway (with the key that opened it) is no longer registered, so that
 * registering either again does not bring the session back (gateway.c). */
void hub__gateway_registrations_changed(hub *h);
/* A revoke-gateway of that id the registrations may no longer show (the
 * gateway registered again before hubd looked): its sessions end all the
 * same (gateway.c). */
void hub__gateway_revoked(hub *h, const char *gateway);
/* The same for a revoke-caseworker: that caseworker's web sessions end,
 * through whichever gateway (gateway.c). */
void hub__gateway_caseworker_revoked(hub *h, const char *caseworker);
/* A register-gateway of that id with a key whose first n characters are
 * prefix: the sessions opened with another key end, though the
 * registrations may show their key again (gateway.c). */
void hub__gateway_key_replaced(hub *h, const char *gateway, const char *prefix,
			       size_t n);
/* The same for a register-caseworker: that caseworker's web sessions
 * opened while another key was theirs end (gateway.c). */
void hub__gateway_caseworker_key_replaced(hub *h, const char *caseworker,
					  const char *prefix, size_t n);
/* Once a tick: pump every session (resumes delivery stalled by a full
 * peer queue or a store error) and write the delivery counts. */
void hub__delivery_tick(hub *h);
/* Acknowledge an alert for a caseworker (inbox, or a web session):
 * durably, audited, gone from every session; *found false when it was not
 * open for them or their desk. When the store cannot take it the ack is
 * kept and retried every tick (UG_EAGAIN), or, with HUB_PENDING_ACKS
 * already waiting, dropped (UG_EFULL: the client must send it again). */
ug_err hub__delivery_ack(hub *h, const char *caseworker, const uint8_t *id,
			 const char *note, bool *found);
/* An AlertAck whose alert_id is not 9 bytes: logged and audited as one
 * for an alert that is not open (the caller answers, if it does). */
void hub__delivery_ack_bad_id(hub *h, const char *caseworker);
/* The AlertAck's note as it may be kept: NULL when the frame (body, after
 * its header) shows a NUL byte in it, which the decoded text hides. */
const char *hub__ack_note(hub *h, const char *caseworker,
			  const wire_alert_ack *ack, const uint8_t *body,
			  size_t body_len);
/* Write the delivery counts kept in memory (at stop, and every tick). */
void hub__delivery_flush(hub *h);
/* Send one frame to a delivery peer; false if it did not go (errno). */
bool hub__delivery_send(hub *h, const void *routing, size_t routing_len,
			int kind, const void *msg);

/* session.c: the session table and the connection events that end it. */
ug_err hub__sessions_open(hub *h, ug_diag *diag);
void hub__sessions_close(hub *h);
/* Read the socket monitor's pending events: a connection gone ends its
 * sessions. Called before anything is pushed to a session. */
void hub__sessions_events(hub *h);
/* The session of this connection, or NULL. A session whose routing id now
 * arrives from another connection or caseworker is ended, not reused. */
hub_session *hub__session_find(hub *h, const void *routing, size_t routing_len,
			       int fd, const char *caseworker);
/* A new session; NULL (and a logged reason in *why) when the table or the
 * caseworker's share of it is full, or the connection is already gone. */
hub_session *hub__session_new(hub *h, const void *routing, size_t routing_len,
			      int fd, const char *caseworker, const char *key,
			      const char **why);
void hub__session_end(hub *h, hub_session *s, const char *why);
/* Member of the duty desk today (hubctl --desk, or DeskMembership). */
bool hub__is_desk_member(hub *h, const char *caseworker);
/* The same for an access check, which must not take a read that failed
 * for "not a member": UG_OK with *member, or the error (*member false). */
ug_err hub__desk_member(hub *h, const char *caseworker, bool *member);

/* query.c: answer a caseworker's Query (open alerts, a timeline), only
 * about persons assigned to them or their desk, within query_rate per
 * second and query_burst at once, and audit it. */
void hub__query(hub *h, const void *routing, size_t routing_len,
		const char *caseworker, const wire_query *q,
		const uint8_t *body, size_t body_len);
/* Takes one from the caseworker's token bucket in *table (made on first
 * use): false when it is empty (query_rate per second, query_burst at
 * once). */
bool hub__allowed(hub *h, hub_query_bucket **table, const char *caseworker);

#endif
