/*
 * The rules engine's parts, shared inside the hub. The engine is split
 * along its seams:
 *
 *   profile.c       what the hub knows of one person, and its stored format
 *   compose.c       alert composition: drafts, evidence, texts, rule names
 *   rule_*.c        the domain rules, each a pure function over the profile
 *                   and one event (or one fired timer): no store, no clock
 *                   but the one in its input, so each is unit-testable
 *   apply.c         the transaction and its effects: reads what the rules
 *                   need, runs them, carries their outcome out
 *   routing.c       where alerts go: recipients, reassignment, escalation
 *
 * A rule never raises an alert itself: it adds drafts and timers to an
 * outcome, and apply.c queues them in the same derived transaction.
 */
#ifndef UG_HUB_ENGINE_H
#define UG_HUB_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/keys.h"
#include "common/util.h"
#include "hub/rules.h"
#include "hub/rules_config.h"
#include "proto/wire.h"

/* Only engine_escalation_notices (routing.c) takes the store: the rules,
 * profile.c and compose.c see no store header, so the compiler holds them
 * to reading none. */
typedef struct store store;

/* Alert ids are the raising log sequence and one of these; they also name
 * the rules in alerts. An escalation notice of an alert carries its rule
 * with one of the ESCALATION bits, so it has an id of its own. */
enum {
	R_ROLLING = RULE_ABSENCE,
	R_QUARTER_WARN = 2,
	R_QUARTER_NOTIFY = 3,
	R_DROPOUT = 4,
	R_DROPOUT_RISK = 5,
	R_READINESS = 6,
	R_ADDICTION = 7,
	R_COMBINED = 8,
	R_GAP = 9,
	R_BACK_ON_TRACK = 10,
	R_CONTACT_WARN = 11,
	R_CONTACT_MISSED = 12,
	R_OFFER_WARN = 13,
	R_OFFER_MISSED = 14,
	R_TREATMENT_MISSED = 15,
	R_MISSED_ACTIVATION = 16,
	R_WITHDRAWN = 17,
	R_COUNT,
	R_ESCALATED_DESK = 0x40,
	R_ESCALATED_LEAD = 0x80,
};
#define R_RULE_MASK 0x3f

/* The rule's name for an alert id's last byte ("escalation" for notices). */
const char *engine_rule_name(int rule_byte);
/* How many escalation notices of the alert `id` the store holds (0-2: the
 * desk's and the team lead's): the fact the annual report and an access
 * export count, read from the notices themselves, so a replay that raised
 * a notice again cannot count it twice or miss it. 0 for a notice. */
uint32_t engine_escalation_notices(store *s, const uint8_t *id);

/* Timer kinds; an acknowledgement deadline is TIMER_ACK + priority * 20 +
 * rule, so the escalation knows the alert and how long each step waits. */
enum {
	TIMER_GAP = 1,
	TIMER_CONTACT_WARN,
	TIMER_CONTACT_DUE,
	TIMER_OFFER_WARN,
	TIMER_OFFER_DUE,
	TIMER_TREATMENT_DUE,
	TIMER_REASSIGN,	   /* a dated assignment starts or ends: move alerts */
	TIMER_CONSENT_END, /* the day after consent expires */
	TIMER_ACK = 100,
};

/* Signals the combined rule counts. */
enum {
	SIG_ABSENCE = 1,
	SIG_DROPOUT,
	SIG_DROPOUT_RISK,
	SIG_NOT_READY,
	SIG_ADDICTION,
	SIG_MISSED_ACTIVATION,
	SIG_GAP,
	SIG_KINDS,
};

#define PROFILE_SIGNALS	  16
#define GAP_OPENED	  INT32_MIN /* profile.gap_due: the gap opened */
#define PROFILE_READINESS 4
#define PROFILE_REFERRALS 8
/* Events of a chain of corrections looked back along (rule_input). */
#define RULE_CHAIN_MAX 16
#define RULE_PROFILE   0 /* the profile's slot among the rules' states */

/* What the hub knows of one person beyond single rules (derived state). */
typedef struct {
	bool enrolled;		  /* in a youth education now */
	bool dropout_open;	  /* an episode begun by a dropout */
	bool consent;		  /* addiction data may be shared */
	bool referral_open;	  /* referred, treatment not started */
	bool consent_stage;	  /* consent scope includes treatment stages */
	bool consent_no_referral; /* consent scope leaves referrals out */
	int32_t birth;		  /* days, from the CPR; 0 unknown */
	int32_t left_day;	  /* last exit (dropout, leaving); 0 none */
	/* The day the exit's transition-gap timer is due: only that timer
	 * may fire the gap. A reload that changes transition_gap.days or
	 * the calendar leaves timers already scheduled as they are.
	 * GAP_OPENED once it fired: a correction of the exit's day then
	 * starts no second clock. */
	int32_t gap_due;
	/* The open episode's contact and offer deadlines as their clocks
	 * were started (days; 0 none): a warning names the deadline its
	 * own clock keeps, whatever a reload changed since. */
	int32_t contact_due, offer_due;
	/* The lengths those clocks and the gap clock were started with
	 * (working days, days, days outside school holidays; 0 none): what
	 * they raise names them, though a reload changed the setting or the
	 * calendar the length would be counted by today. */
	int32_t contact_days, offer_days, gap_days;
	int32_t consent_expires; /* last day, when consent_expiring */
	bool consent_expiring;	 /* false: until withdrawn */
	int32_t combined_until;	 /* signals merge into the combined alert */
	/* The merge window's first day, fixed when it opened: a reload of
	 * combined.window_days must not shift a window already open. */
	int32_t combined_from;
	int32_t enrolled_start; /* first day of the current enrolment */
	/* The open dropout: its date (what was done before it answers no
	 * duty of the episode, whatever exit followed), when the hub learned
	 * of it (its contact clock runs from then), the recorded contact
	 * (the offer clock runs from it) and offer, days; 0 none. Its event
	 * id, so a correction of it is recognised as the same dropout. */
	int32_t dropout_day, dropout_known, contact_day, offer_day;
	/* The open referral's date: a treatment start dated before it (an
	 * earlier course, exported late) does not stop its clock. */
	int32_t referral_day;
	uint8_t dropout_event_id[WIRE_EVENT_ID_LEN];
	/* The not-ready assessments whose alerts a correction may still
	 * take back (a pupil assessed in grade 8 and again in grade 9 has
	 * two), oldest first: each alert's raising sequence and the latest
	 * event id of its chain of corrections; seq 0 an empty slot. */
	struct {
		uint64_t seq;
		uint8_t event_id[WIRE_EVENT_ID_LEN];
	} readiness[PROFILE_READINESS];
	/* Missed activations (days, newest last; PROFILE_NO_MISS an empty
	 * slot: day 0 is 1970-01-01, a day like any other) and the last day
	 * of the window in which they have been alerted. */
	int32_t missed[10];
	int32_t missed_alerted_until;
	/* The miss that started those quiet days (0: unknown, a profile
	 * stored before it was kept): only its correction moves them, not
	 * that of another activity missed on the same day. */
	uint64_t missed_alert_seq;
	char cpr[12]; /* sealed with the rest; timers need it */
	uint64_t left_seq, dropout_seq, referral_seq, combined_seq;
	/* The latest referrals (REFERRED), oldest first, first 0 an empty
	 * slot: the sequence of the referral (its treatment clock's), of
	 * the latest event of its chain of corrections (the centre sends a
	 * consent given or withdrawn later as a correction of the row), and
	 * of the event that shared it (its addiction alert's; 0 not shared
	 * yet). The end of the consent takes back every alert of theirs
	 * still open, not only the latest one's. */
	struct {
		uint64_t first, latest, shared;
	} referrals[PROFILE_REFERRALS];
	uint64_t
	    absence_alert_seq; /* raised the open absence episode's alert */
	uint8_t nsignals;
	struct {
		uint8_t kind;
		int32_t day;
		uint64_t seq;
		/* Who reported it, for the combined alert: an agency id of
		 * up to 63 characters, named whole. */
		char agency[64];
	} signals[PROFILE_SIGNALS];
} profile;

/* The stored format's version; a profile of another version is rebuilt
 * from the log (see hub.c's derived schema check). */
#define PROFILE_FORMAT 13
/* An empty slot of profile.missed (stored as 0, beside a mask of the
 * slots that hold day 0). */
#define PROFILE_NO_MISS INT32_MIN
/* The derived state's format as a whole, recorded in the store: bump it
 * with any change to a stored derived format (this profile, the absence
 * and quarter states of hub/rules.c, timer kinds and when they fall due),
 * and the hub rebuilds derived state from the log at its next start. 18:
 * a consent's end falls due at Danish midnight, not 00:00 UTC; a timer
 * stored by 17 would take the alert back up to two hours late. */
#define HUB_DERIVED_SCHEMA  18
#define PROFILE_ENCODED_MAX 2048

/* A fresh profile for a person first seen with this CPR ("" unknown). */
void profile_init(profile *p, const char *cpr);
/* Explicit serialisation, version byte first, integers big-endian. */
size_t profile_encode(const profile *p, uint8_t *out, size_t cap);
/* false when the bytes are not a profile of PROFILE_FORMAT. */
bool profile_decode(profile *p, const uint8_t *in, size_t len);

/* Birth date from a CPR (DDMMYY and the century its 7th digit implies),
 * 0 when it cannot tell; age in whole years on a day. */
int32_t profile_birth_from_cpr(const char *cpr);
int profile_age_on(int32_t birth, int32_t day);

/* Who an alert goes to; routing.c resolves it on the day it is raised. */
typedef enum {
	TO_CONTACT,	     /* contact person, else the desk */
	TO_COUNSELLOR_FIRST, /* guidance counsellor, else contact, else desk */
	TO_CONTACT_OR_COUNSELLOR, /* contact, else counsellor, else desk */
	TO_DESK,
} recipient_rule;

/* One alert being composed. */
typedef struct {
	uint64_t seq; /* the raising log entry */
	int rule;
	int priority;
	const char *cpr;
	recipient_rule to;
	bool special; /* health data: escalation notices name none of it */
	char title[160];
	char explanation[1024];
	/* For a special draft that may also reach someone outside the
	 * consent (the desk, for want of a contact person): the explanation
	 * without the health fact. Empty: such a draft reaches nobody. */
	char redacted[1024];
	int32_t due;
	Ungebro__V1__Evidence evidence[ABSENCE_MAX_REPORTS];
	char dates[ABSENCE_MAX_REPORTS][2][11];
	size_t nevidence;
} draft;

#define OUTCOME_ALERTS 3
#define OUTCOME_TIMERS 6

/* What the rules decided for one event or timer. */
typedef struct {
	draft alerts[OUTCOME_ALERTS];
	size_t nalerts;
	struct {
		int64_t due;
		int kind;
		uint64_t seq; /* the episode it belongs to; 0: the input's */
	} timers[OUTCOME_TIMERS];
	size_t ntimers;
	bool merged;	  /* a signal went into an open combined alert */
	bool withheld;	  /* health data that may not be shared */
	bool missed;	  /* a legal deadline was missed */
	bool move_alerts; /* the contact person changed */
	/* Alerts a correction took the ground from: closed, and their
	 * recipient told why (an R_WITHDRAWN notice composed by apply.c). */
	struct {
		uint64_t seq;
		int rule;
		char why[256];
	} withdraw[2 * PROFILE_REFERRALS];
	size_t nwithdraw;
} outcome;

/* What a rule sees: the configuration, the hub clock and one event. */
typedef struct {
	const rules_config *rc;
	/* The hub clock; for an event a replay applies, when the hub
	 * received it (a rebuild judges as the live hub did). */
	int64_t now;   /* ms */
	int32_t today; /* days */
	uint64_t
	    seq; /* the log entry (for a timer: the one that started it) */
	const char *agency;
	int64_t received_at; /* when the hub learned of the event, ms */
	const wire_envelope
	    *env; /* for a timer: the starting event, or NULL */
	/* Read by apply.c for the rules that need it. */
	uint64_t corrects_seq; /* the sequence the event supersedes, or 0 */
	/* That event, when it is about the same person; else NULL. */
	const wire_envelope *corrected;
	/* corrects_seq and the events it corrected in turn, back along the
	 * chain (apply.c): nchain 0 when the event corrects nothing. */
	const uint64_t *chain;
	size_t nchain;
	/* It names an earlier event of the chain whose latest is the exit
	 * the person is out since (profile's left_seq). */
	bool corrects_exit;
	bool
	    source_alert_open; /* timers: the alert they watch is still open */
} rule_input;

/* compose.c */
void outcome_init(outcome *o);
/* A new draft in o (NULL when the outcome is full: a defect, logged). */
draft *outcome_alert(outcome *o, const rule_input *in, const profile *p,
		     int rule, int priority);
void outcome_timer(outcome *o, int64_t due, int kind);
/* The draft is due `working_days` working days after the hub's today;
 * due receives the date as text. */
void draft_due_in(draft *d, const rule_input *in, int working_days,
		  char due[11]);
void outcome_withdraw(outcome *o, uint64_t seq, int rule, const char *why);
void say(char *buf, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Evidence: the event itself, with its date. */
void evidence_event(draft *d, const wire_envelope *env, const char *agency,
		    const char *date);
/* The event as evidence with its own date, as its own alert gives it (an
 * absence report: its period and figures); for the alerts about an event
 * that no rule of its own words (combined, withdrawn). */
void evidence_event_dated(draft *d, const wire_envelope *env,
			  const char *agency);
/* The packed wire Alert for a draft; *len its size. NULL on ENOMEM. */
uint8_t *compose_alert(const draft *d, const uint8_t *id,
		       const char *recipient, int64_t raised_at, size_t *len);
int32_t date_or(const char *text, int32_t fallback);
/* Whether the event corrects seq, directly or through the corrections
 * it names in turn (rule_input's chain). */
bool corrects_along(const rule_input *in, uint64_t seq);

/* rule_signals.c: note a signal for the combined rule. *suppress says the
 * signal's own alert must not go out (the combined one goes instead, or it
 * merged into an open one). */
void rule_note_signal(const rule_input *in, profile *p, int kind, int32_t day,
		      outcome *o, bool *suppress);
/* Forget the signal of this kind the event of seq noted: a correction
 * took its ground, so it no longer counts toward a combined alert. */
void rule_forget_signal(profile *p, int kind, uint64_t seq);

/* The rules, one per event type (rule_absence.c, rule_education.c,
 * rule_addiction.c, rule_activation.c). */
/* replaced: the row of the report the event corrects, or NULL. */
void rule_absence(const rule_input *in, profile *p, absence_state *rolling,
		  quarter_state *quarter, const absence_report *replaced,
		  outcome *o);
/* The measures' row of a report; false for dates that do not parse. */
bool absence_row(const Ungebro__V1__AbsenceReport *a, absence_report *row);
void rule_dropout(const rule_input *in, profile *p, outcome *o);
void rule_dropout_risk(const rule_input *in, profile *p, outcome *o);
void rule_enrolment(const rule_input *in, profile *p, outcome *o);
void rule_leaving(const rule_input *in, profile *p, outcome *o);
void rule_readiness(const rule_input *in, profile *p, outcome *o);
void rule_addiction(const rule_input *in, profile *p, outcome *o);
void rule_missed_activation(const rule_input *in, profile *p, outcome *o);
void rule_assignment(const rule_input *in, outcome *o);
/* A caseworker's recorded action (contact made, offer made, could not
 * reach): meets the legal deadlines of an open dropout. */
void rule_action(const rule_input *in, profile *p, outcome *o);

/* The legal clocks (rule_education.c): the contact deadline from the day
 * the hub learned of a dropout, the offer deadline from the recorded
 * contact, the transition gap from the day the person left. */
int32_t deadline_contact_due(const rules_config *rc, int32_t known);
int32_t deadline_offer_due(const rules_config *rc, int32_t contact);
int64_t rule_gap_due(const rules_config *rc, int32_t left_day);
/* The length of a clock already running, counted back from its deadline
 * as it was counted forth: a reload that changes the setting leaves the
 * clock's instant, and its alert must name the period it ran. */
int deadline_contact_days(const rules_config *rc, int32_t known,
			  int32_t deadline);
int deadline_offer_days(const rules_config *rc, int32_t contact,
			int32_t deadline);
int rule_gap_days(const rules_config *rc, int32_t left_day, int32_t last_day);
void rule_start_offer_clock(const rule_input *in, profile *p, outcome *o);

/* Whether the youth's consent, as last stated, allows sharing addiction
 * data at the UTC instant at_ms (ms): referrals (stage false) or treatment
 * stages (true). Its `expires` is a Danish date (RULES.md section 4). */
bool consent_allows(const profile *p, int64_t at_ms, bool stage);

/* rule_timers.c: a fired legal deadline or transition gap. */
void rule_deadline_timer(const rule_input *in, int kind, int64_t due,
			 profile *p, outcome *o);
void rule_gap_timer(const rule_input *in, int64_t due, profile *p, outcome *o);
/* rule_addiction.c: consent expired; what was shared under it is taken
 * back from the open alert. */
void rule_consent_timer(const rule_input *in, profile *p, outcome *o);

#endif
