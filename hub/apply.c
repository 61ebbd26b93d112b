/*
 * The derived side and the rules engine. Log entries after last_applied
 * are applied in order: each is indexed under its person, the person's
 * profile and rule states are updated, and the rules decide which alerts,
 * timers and reroutes follow. Stored timers are fired on the hub clock by
 * the same machinery.
 *
 * Effects that touch the durable environment (new alerts, reroutes) are
 * collected and carried out after the scan, then the derived transaction
 * commits. The order of the two commits is what makes a crash harmless:
 * alerts are committed (synced) first, then the derived state with its new
 * last_applied (not synced). Crash between them, and the replay raises the
 * same alerts under the same ids (raising sequence + rule), which the
 * store keeps once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"

/* Alert ids end in one of these; they also name the rules in alerts. */
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
};

static const char *const rule_names[] = {
	[R_ROLLING] = "absence.rolling",
	[R_QUARTER_WARN] = "absence.quarter.warn",
	[R_QUARTER_NOTIFY] = "absence.quarter.notify",
	[R_DROPOUT] = "dropout",
	[R_DROPOUT_RISK] = "dropout_risk",
	[R_READINESS] = "readiness",
	[R_ADDICTION] = "addiction",
	[R_COMBINED] = "combined",
	[R_GAP] = "transition_gap",
	[R_BACK_ON_TRACK] = "back_on_track",
	[R_CONTACT_WARN] = "deadline.contact.warn",
	[R_CONTACT_MISSED] = "deadline.contact.missed",
	[R_OFFER_WARN] = "deadline.offer.warn",
	[R_OFFER_MISSED] = "deadline.offer.missed",
	[R_TREATMENT_MISSED] = "deadline.treatment.missed",
};

/* Timer kinds; an acknowledgement deadline is TIMER_ACK + priority * 20 +
 * rule, so the escalation knows the alert and how long each step waits. */
enum {
	TIMER_GAP = 1,
	TIMER_CONTACT_WARN,
	TIMER_CONTACT_DUE,
	TIMER_OFFER_WARN,
	TIMER_OFFER_DUE,
	TIMER_TREATMENT_DUE,
	TIMER_REASSIGN,  /* a dated assignment starts or ends: move alerts */
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
};

static const char *const signal_names[] = {
	"", "absence", "dropout", "dropout risk", "not education-ready",
	"addiction referral", "missed activation", "transition gap",
};

#define RULE_PROFILE 0
#define PROFILE_VERSION 2
#define PROFILE_SIGNALS 16
#define DAY_MS 86400000LL

/* What the hub knows of one person beyond single rules. Derived state:
 * a fixed layout with a version byte, rebuilt from the log if it changes. */
typedef struct {
	uint8_t version;
	uint8_t enrolled;      /* in a youth education now */
	uint8_t dropout_open;  /* an episode begun by a dropout */
	uint8_t consent;       /* addiction data may be shared */
	uint8_t referral_open; /* referred, treatment not started */
	uint8_t nsignals;
	uint8_t consent_stage; /* consent scope includes treatment stages */
	uint8_t consent_no_referral; /* consent scope leaves referrals out */
	int32_t birth;           /* days, from the CPR; 0 unknown */
	int32_t left_day;        /* last exit (dropout, leaving); 0 none */
	int32_t consent_expires; /* last day; 0 until withdrawn */
	int32_t combined_until;  /* signals merge into the combined alert */
	int32_t enrolled_start;  /* first day of the current enrolment */
	char cpr[12];            /* sealed with the rest; timers need it */
	uint64_t left_seq, dropout_seq, referral_seq, combined_seq;
	struct {
		uint8_t kind, pad[3];
		int32_t day;
		uint64_t seq;
	} signals[PROFILE_SIGNALS];
} profile;

typedef struct {
	store_alert alert;
	char recipient[STORE_ID_MAX];
	uint8_t person_key[UG_PERSON_KEY_LEN];
	int priority;
} new_alert;

typedef struct {
	uint8_t id[STORE_ALERT_ID_LEN];
	char recipient[STORE_ID_MAX];
	bool escalate;
} reroute;

typedef struct {
	hub *h;
	store_dtxn *txn;
	new_alert *alerts;
	size_t nalerts, alerts_cap;
	reroute *reroutes;
	size_t nreroutes, reroutes_cap;
	size_t applied;
} apply_ctx;

/* One alert being composed. */
typedef struct {
	uint64_t seq;  /* the raising log entry */
	int rule;
	int priority;
	const char *cpr;
	const uint8_t *person_key;
	const char *recipient; /* NULL: the person's contact, else the desk */
	char title[160];
	char explanation[1024];
	int32_t due;
	Ungebro__V1__Evidence evidence[ABSENCE_MAX_REPORTS];
	Ungebro__V1__Evidence *evidence_ptrs[ABSENCE_MAX_REPORTS];
	char dates[ABSENCE_MAX_REPORTS][2][11];
	size_t nevidence;
} draft;

/* ---- small helpers ---- */

int32_t
hub__today(const hub *h)
{
	return (int32_t)(h->now / DAY_MS);
}

static void
say(char *buf, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	ug_utf8_trim_tail(buf);
}

static int32_t
date_or(const char *text, int32_t fallback)
{
	int32_t day;
	return text && ug_date_parse(text, &day) == UG_OK ? day : fallback;
}

/* Birth date from a CPR: DDMMYY and the century the 7th digit implies. */
static int32_t
birth_from_cpr(const char *cpr)
{
	if (!cpr || strlen(cpr) != 10)
		return 0;
	int dd = (cpr[0] - '0') * 10 + cpr[1] - '0';
	int mm = (cpr[2] - '0') * 10 + cpr[3] - '0';
	int yy = (cpr[4] - '0') * 10 + cpr[5] - '0';
	int c = cpr[6] - '0';
	int century = 1900;
	if (c == 4 || c == 9)
		century = yy <= 36 ? 2000 : 1900;
	else if (c >= 5 && c <= 8)
		century = yy <= 57 ? 2000 : 1800;
	return ug_days_from_civil(century + yy, mm, dd);
}

static int
age_on(int32_t birth, int32_t day)
{
	char b[11], d[11];
	ug_date_format(birth, b);
	ug_date_format(day, d);
	int age = atoi(d) - atoi(b);
	/* Not yet had this year's birthday ("MM-DD" compares as text). */
	if (strcmp(d + 5, b + 5) < 0)
		age--;
	return age;
}

/* ---- effects ---- */

static ug_err
grow(void **array, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return UG_OK;
	size_t want = *cap ? *cap * 2 : 16;
	void *grown = realloc(*array, want * size);
	if (!grown)
		return UG_ENOMEM;
	*array = grown;
	*cap = want;
	return UG_OK;
}

static void
resolve_recipient(hub *h, const uint8_t *person_key, char *out)
{
	if (!person_key ||
	    store_assignment_get(h->store, person_key, hub__today(h), out) !=
	            UG_OK)
		ug_strlcpy(out, h->rules.desk, STORE_ID_MAX);
}

static ug_err
schedule(apply_ctx *c, int64_t due, uint64_t seq, int kind,
         const uint8_t *person_key)
{
	store_timer t = {.due = due, .seq = seq, .kind = (uint8_t)kind};
	if (person_key)
		memcpy(t.person_key, person_key, UG_PERSON_KEY_LEN);
	return store_derived_timer_put(c->txn, &t);
}

/* Compose, queue and index one alert; schedules its acknowledgement
 * deadline. */
static ug_err
emit(apply_ctx *c, draft *d)
{
	hub *h = c->h;
	ug_err err = grow((void **)&c->alerts, &c->alerts_cap, c->nalerts,
	                  sizeof *c->alerts);
	if (err != UG_OK)
		return err;
	new_alert *a = &c->alerts[c->nalerts];
	memset(a, 0, sizeof *a);
	if (d->recipient)
		ug_strlcpy(a->recipient, d->recipient, sizeof a->recipient);
	else
		resolve_recipient(h, d->person_key, a->recipient);
	ug_put_be64(a->alert.id, d->seq);
	a->alert.id[8] = (uint8_t)d->rule;
	char due[11] = "";
	if (d->due)
		ug_date_format(d->due, due);
	for (size_t i = 0; i < d->nevidence; i++)
		d->evidence_ptrs[i] = &d->evidence[i];
	wire_alert alert = UNGEBRO__V1__ALERT__INIT;
	alert.alert_id.data = a->alert.id;
	alert.alert_id.len = STORE_ALERT_ID_LEN;
	alert.rule = (char *)rule_names[d->rule];
	alert.priority = d->priority;
	alert.cpr = (char *)(d->cpr ? d->cpr : "");
	alert.recipient = a->recipient;
	alert.raised_at = h->now;
	alert.title = d->title;
	alert.explanation = d->explanation;
	alert.due = due;
	alert.n_evidence = d->nevidence;
	alert.evidence = d->evidence_ptrs;
	size_t len = wire_packed_size(&alert);
	uint8_t *body = malloc(len ? len : 1);
	if (!body)
		return UG_ENOMEM;
	wire_pack(&alert, body);
	a->alert.body = body;
	a->alert.body_len = len;
	a->priority = d->priority;
	if (d->person_key)
		memcpy(a->person_key, d->person_key, UG_PERSON_KEY_LEN);
	c->nalerts++;
	if (d->person_key)
		err = store_derived_person_alert(c->txn, d->person_key,
		                                 a->alert.id);
	int hours = h->rules.ack_hours[d->priority];
	if (err == UG_OK && hours > 0)
		err = schedule(c, h->now + (int64_t)hours * 3600000, d->seq,
		               TIMER_ACK + d->priority * 20 + d->rule,
		               d->person_key);
	return err;
}

static ug_err
add_reroute(apply_ctx *c, const uint8_t *id, const char *recipient,
            bool escalate)
{
	ug_err err = grow((void **)&c->reroutes, &c->reroutes_cap,
	                  c->nreroutes, sizeof *c->reroutes);
	if (err != UG_OK)
		return err;
	reroute *r = &c->reroutes[c->nreroutes++];
	memcpy(r->id, id, STORE_ALERT_ID_LEN);
	ug_strlcpy(r->recipient, recipient, sizeof r->recipient);
	r->escalate = escalate;
	return UG_OK;
}

static void
draft_init(draft *d, const store_record *rec, const profile *p, int rule,
           int priority)
{
	memset(d, 0, sizeof *d);
	d->seq = rec->seq;
	d->rule = rule;
	d->priority = priority;
	d->cpr = p ? p->cpr : NULL;
	d->person_key = rec->person_key;
}

/* Evidence: the event itself, with its date. */
static void
evidence_event(draft *d, const wire_envelope *env, const char *agency,
               const char *date)
{
	if (!env || d->nevidence == ABSENCE_MAX_REPORTS)
		return;
	Ungebro__V1__Evidence *e = &d->evidence[d->nevidence];
	ungebro__v1__evidence__init(e);
	e->event_id = env->event_id;
	e->agency = (char *)agency;
	e->type = env->type;
	ug_strlcpy(d->dates[d->nevidence][0], date ? date : "", 11);
	e->period_start = d->dates[d->nevidence][0];
	e->period_end = d->dates[d->nevidence][0];
	d->nevidence++;
}

/* ---- the person's profile ---- */

static ug_err
profile_load(apply_ctx *c, const uint8_t *person_key, const char *cpr,
             profile *p, bool *stored)
{
	size_t len = 0;
	ug_err err = store_derived_state_get(c->txn, person_key, RULE_PROFILE,
	                                     (uint8_t *)p, sizeof *p, &len);
	if (err != UG_OK && err != UG_ENOTFOUND && err != UG_EMALFORMED)
		return err;
	bool valid = err == UG_OK && len == sizeof *p &&
	             p->version == PROFILE_VERSION;
	if (stored)
		*stored = valid;
	if (!valid) {
		memset(p, 0, sizeof *p);
		p->version = PROFILE_VERSION;
	}
	if (cpr && cpr[0] && !p->cpr[0]) {
		ug_strlcpy(p->cpr, cpr, sizeof p->cpr);
		p->birth = birth_from_cpr(cpr);
	}
	return UG_OK;
}

static ug_err
profile_save(apply_ctx *c, const uint8_t *person_key, const profile *p)
{
	return store_derived_state_put(c->txn, person_key, RULE_PROFILE,
	                               (const uint8_t *)p, sizeof *p);
}

/*
 * Note a signal for the combined rule and decide what happens to the alert
 * it would raise on its own. Returns true when the alert must not go out
 * by itself: either it tipped the person over min_signals (the combined
 * alert goes instead) or a combined alert is open and it merges into it.
 */
static ug_err
note_signal(apply_ctx *c, const store_record *rec, const wire_envelope *env,
            profile *p, int kind, int32_t day, bool *suppress)
{
	const rules_config *rc = &c->h->rules;
	*suppress = false;
	int32_t horizon = day - rc->combined.window_days;
	int n = 0;
	for (int i = 0; i < p->nsignals; i++)
		if (p->signals[i].day > horizon)
			p->signals[n++] = p->signals[i];
	p->nsignals = (uint8_t)n;
	if (p->nsignals == PROFILE_SIGNALS) {
		memmove(&p->signals[0], &p->signals[1],
		        (PROFILE_SIGNALS - 1) * sizeof p->signals[0]);
		p->nsignals--;
	}
	p->signals[p->nsignals].kind = (uint8_t)kind;
	p->signals[p->nsignals].day = day;
	p->signals[p->nsignals].seq = rec->seq;
	p->nsignals++;
	if (!rc->combined.on.enabled)
		return UG_OK;
	if (p->combined_until >= day) {
		*suppress = true;
		c->h->alerts_merged++;
		log_info("HUB-MERGE", "signal at seq %llu merged into combined "
		         "alert of seq %llu", (unsigned long long)rec->seq,
		         (unsigned long long)p->combined_seq);
		return UG_OK;
	}
	bool seen[8] = {false};
	int distinct = 0;
	for (int i = 0; i < p->nsignals; i++)
		if (p->signals[i].kind < 8 && !seen[p->signals[i].kind]) {
			seen[p->signals[i].kind] = true;
			distinct++;
		}
	if (distinct < rc->combined.min_signals)
		return UG_OK;
	*suppress = true;
	p->combined_until = day + rc->combined.window_days;
	p->combined_seq = rec->seq;
	draft d;
	draft_init(&d, rec, p, R_COMBINED, rc->combined.on.priority);
	char list[256] = "";
	for (int k = 1; k < 8; k++)
		if (seen[k]) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof list - used, "%s%s",
			         used ? ", " : "", signal_names[k]);
		}
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h), 5);
	char due[11], start[11];
	ug_date_format(d.due, due);
	ug_date_format(horizon + 1, start);
	say(d.title, sizeof d.title, "%d warning signs within %d days: "
	    "cross-disciplinary meeting proposed", distinct,
	    rc->combined.window_days);
	say(d.explanation, sizeof d.explanation,
	    "Since %s the hub has seen %s for this young person. Rule "
	    "combined: %d or more different signals within %d days raise one "
	    "combined alert instead of separate ones; further signals within "
	    "the window are merged into it. Expected of you: call a "
	    "cross-disciplinary meeting with the agencies involved by %s.",
	    start, list, rc->combined.min_signals, rc->combined.window_days,
	    due);
	evidence_event(&d, env, rec->agency, NULL);
	return emit(c, &d);
}

/* ---- absence ---- */

static ug_err
raise_rolling(apply_ctx *c, const store_record *rec, const profile *p,
              const absence_state *st, const absence_verdict *v)
{
	const rules_config *rc = &c->h->rules;
	draft d;
	draft_init(&d, rec, p, R_ROLLING, rc->rolling.on.priority);
	char start[11], end[11], due[11];
	ug_date_format(v->first_day, start);
	ug_date_format(v->window_end, end);
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h), 5);
	ug_date_format(d.due, due);
	unsigned tenths = (unsigned)(((uint64_t)v->absent * 2000 / v->expected +
	                              1) / 2);
	say(d.title, sizeof d.title,
	    "Absence %u.%u %% over the last %d school days (threshold %d %%)",
	    tenths / 10, tenths % 10, rc->rolling.window_days,
	    rc->rolling.threshold_pct);
	say(d.explanation, sizeof d.explanation,
	    "From %s to %s (%d school days reported) the school reported %u "
	    "of %u expected lessons absent (%u.%u %%) in %u reports. Rule "
	    "absence.rolling: absence %s %d %% of expected lessons over "
	    "the last %d school days raises one alert per episode; it stays "
	    "quiet until the rate falls back and rises again. Expected of you: "
	    "contact the young person and the school by %s.",
	    start, end, v->covered_days, v->absent, v->expected, tenths / 10,
	    tenths % 10, v->nused,
	    rc->rolling.strictly_above ? "above" : "at or above",
	    rc->rolling.threshold_pct, rc->rolling.window_days, due);
	for (uint16_t i = 0; i < v->nused && i < ABSENCE_MAX_REPORTS; i++) {
		const absence_report *r = &st->reports[v->used[i]];
		Ungebro__V1__Evidence *e = &d.evidence[d.nevidence];
		ungebro__v1__evidence__init(e);
		e->event_id.data = (uint8_t *)r->event_id;
		e->event_id.len = WIRE_EVENT_ID_LEN;
		e->agency = (char *)rec->agency;
		e->type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
		ug_date_format(r->start, d.dates[d.nevidence][0]);
		ug_date_format(r->end, d.dates[d.nevidence][1]);
		e->period_start = d.dates[d.nevidence][0];
		e->period_end = d.dates[d.nevidence][1];
		e->lessons_absent = r->absent;
		e->lessons_expected = r->expected;
		d.nevidence++;
	}
	return emit(c, &d);
}

static ug_err
raise_quarter(apply_ctx *c, const store_record *rec, const wire_envelope *env,
              const profile *p, const quarter_verdict *v)
{
	const rules_config *rc = &c->h->rules;
	bool notify = v->notify;
	draft d;
	draft_init(&d, rec, p, notify ? R_QUARTER_NOTIFY : R_QUARTER_WARN,
	           notify ? rc->quarter.notify_priority
	                  : rc->quarter.on.priority);
	char start[11], end[11], due[11];
	ug_date_format(v->quarter_start, start);
	ug_date_format(v->quarter_end, end);
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h),
	                                  notify ? 2 : 5);
	ug_date_format(d.due, due);
	unsigned tenths = (unsigned)(((uint64_t)v->absent * 2000 / v->expected +
	                              1) / 2);
	int level = notify ? rc->quarter.notify_pct : rc->quarter.warn_pct;
	say(d.title, sizeof d.title, "Unlawful absence %u.%u %% this quarter "
	    "(level %d %%)", tenths / 10, tenths % 10, level);
	say(d.explanation, sizeof d.explanation,
	    "In the quarter %s to %s the school reported %u of %u expected "
	    "lessons as unlawful absence (%u.%u %%, %d school days reported). "
	    "Rule absence.quarter: at %d %% the school warns the parents, at "
	    "%d %% it must notify the municipality, which may stop the child "
	    "benefit. Expected of you: %s by %s.",
	    start, end, v->absent, v->expected, tenths / 10, tenths % 10,
	    v->covered_days, rc->quarter.warn_pct, rc->quarter.notify_pct,
	    notify ? "take up the school's notification and decide on the "
	             "child benefit"
	           : "check with the school that the parents were warned",
	    due);
	evidence_event(&d, env, rec->agency, env->absence_report->period_end);
	return emit(c, &d);
}

static ug_err
apply_absence(apply_ctx *c, const store_record *rec, const wire_envelope *env,
              profile *p)
{
	const rules_config *rc = &c->h->rules;
	const Ungebro__V1__AbsenceReport *a = env->absence_report;
	absence_report report = {
		.absent = (uint16_t)(a->lessons_absent > 65535
		                             ? 65535
		                             : a->lessons_absent),
		.expected = (uint16_t)(a->lessons_expected > 65535
		                               ? 65535
		                               : a->lessons_expected),
		.kind = (uint8_t)a->kind,
		.school = absence_school_key(a->school),
	};
	if (ug_date_parse(a->period_start, &report.start) != UG_OK ||
	    ug_date_parse(a->period_end, &report.end) != UG_OK)
		return UG_OK; /* validated at ingest; a bad old record is skipped */
	memcpy(report.event_id, env->event_id.data, WIRE_EVENT_ID_LEN);

	uint8_t blob[QUARTER_STATE_MAX > ABSENCE_STATE_MAX ? QUARTER_STATE_MAX
	                                                   : ABSENCE_STATE_MAX];
	size_t len = 0;
	absence_state st;
	ug_err err = store_derived_state_get(c->txn, rec->person_key,
	                                     RULE_ABSENCE, blob, sizeof blob,
	                                     &len);
	if (err == UG_ENOTFOUND || (err == UG_OK &&
	                            !absence_state_parse(&st, blob, len)))
		memset(&st, 0, sizeof st);
	else if (err != UG_OK)
		return err;
	absence_config acfg = {rc->rolling.threshold_pct,
	                       rc->rolling.strictly_above,
	                       rc->rolling.count_permitted,
	                       rc->rolling.window_days, rc->rolling.min_days,
	                       &rc->cal};
	absence_verdict verdict;
	absence_apply(&acfg, &st, &report, &verdict);
	len = absence_state_write(&st, blob, sizeof blob);
	err = store_derived_state_put(c->txn, rec->person_key, RULE_ABSENCE,
	                              blob, len);

	quarter_state qs;
	if (err == UG_OK)
		err = store_derived_state_get(c->txn, rec->person_key,
		                              RULE_QUARTER, blob, sizeof blob,
		                              &len);
	if (err == UG_ENOTFOUND ||
	    (err == UG_OK && !quarter_state_parse(&qs, blob, len))) {
		memset(&qs, 0, sizeof qs);
		err = UG_OK;
	}
	quarter_config qcfg = {rc->quarter.warn_pct, rc->quarter.notify_pct,
	                       rc->quarter.min_days, &rc->cal};
	quarter_verdict qv;
	if (err == UG_OK) {
		quarter_apply(&qcfg, &qs, &report, &qv);
		len = quarter_state_write(&qs, blob, sizeof blob);
		err = store_derived_state_put(c->txn, rec->person_key,
		                              RULE_QUARTER, blob, len);
	}
	bool rolling = err == UG_OK && verdict.raise && rc->rolling.on.enabled;
	bool quarter = err == UG_OK && (qv.warn || qv.notify) &&
	               rc->quarter.on.enabled;
	if (!rolling && !quarter)
		return err;
	bool suppress = false;
	err = note_signal(c, rec, env, p, SIG_ABSENCE, report.end, &suppress);
	if (err == UG_OK && rolling && !suppress)
		err = raise_rolling(c, rec, p, &st, &verdict);
	/* One report, one absence alert: the quarter's 10 % level adds
	 * nothing a rolling alert from the same report has not said; its
	 * 15 % level (a legal duty) always goes out. */
	if (err == UG_OK && quarter && !suppress && (qv.notify || !rolling))
		err = raise_quarter(c, rec, env, p, &qv);
	return err;
}

/* ---- education: dropout, risk, enrolment, leaving, readiness ---- */

static ug_err
start_deadlines(apply_ctx *c, const store_record *rec, const profile *p,
                int32_t dropout_day)
{
	const rules_config *rc = &c->h->rules;
	if (!rc->deadline.on.enabled || !p->birth)
		return UG_OK;
	int age = age_on(p->birth, dropout_day);
	if (age < rc->deadline.min_age || age > rc->deadline.max_age)
		return UG_OK;
	/* KUI: contact within 5 working days, a new offer within 30 days.
	 * Warnings go out warn_working_days before; a deadline is missed at
	 * the end of its day. */
	int32_t contact = calendar_add_working_days(
		&rc->cal, dropout_day, rc->deadline.contact_working_days);
	int32_t contact_warn = calendar_add_working_days(
		&rc->cal, dropout_day,
		rc->deadline.contact_working_days - rc->deadline.warn_working_days);
	int32_t offer = dropout_day + rc->deadline.offer_days;
	/* warn_working_days working days before the offer deadline. */
	int32_t offer_warn = offer;
	for (int n = rc->deadline.warn_working_days; n > 0 &&
	                                             offer_warn > dropout_day;) {
		offer_warn--;
		if (calendar_is_working_day(&rc->cal, offer_warn))
			n--;
	}
	ug_err err = schedule(c, contact_warn * DAY_MS, rec->seq,
	                      TIMER_CONTACT_WARN, rec->person_key);
	if (err == UG_OK)
		err = schedule(c, (contact + 1) * DAY_MS, rec->seq,
		               TIMER_CONTACT_DUE, rec->person_key);
	if (err == UG_OK)
		err = schedule(c, offer_warn * DAY_MS, rec->seq,
		               TIMER_OFFER_WARN, rec->person_key);
	if (err == UG_OK)
		err = schedule(c, (offer + 1) * DAY_MS, rec->seq,
		               TIMER_OFFER_DUE, rec->person_key);
	return err;
}

static ug_err
left_education(apply_ctx *c, const store_record *rec, profile *p,
               int32_t day)
{
	const rules_config *rc = &c->h->rules;
	/* Agencies export on their own schedules: an enrolment that started
	 * after this exit may already be in the log. Then there is no gap to
	 * watch, and the person stays enrolled. */
	if (p->enrolled && p->enrolled_start > day)
		return UG_OK;
	p->enrolled = 0;
	p->left_day = day;
	p->left_seq = rec->seq;
	if (!rc->transition_gap.on.enabled)
		return UG_OK;
	/* "No enrolment within N days": an enrolment on day N is in time,
	 * so the gap opens at the end of that day, like every deadline. */
	return schedule(c,
	                (int64_t)(calendar_add_days_outside_holidays(
	                                  &rc->cal, day,
	                                  rc->transition_gap.days) +
	                          1) * DAY_MS,
	                rec->seq, TIMER_GAP, rec->person_key);
}

static ug_err
apply_dropout(apply_ctx *c, const store_record *rec, const wire_envelope *env,
              profile *p)
{
	const rules_config *rc = &c->h->rules;
	const Ungebro__V1__Dropout *x = env->dropout;
	int32_t day = date_or(x->date, hub__today(c->h));
	/* Back in an education that started after this dropout (reported
	 * first): the dropout is still news, but no episode opens. */
	bool back_already = p->enrolled && p->enrolled_start > day;
	ug_err err = left_education(c, rec, p, day);
	if (!back_already) {
		p->dropout_open = 1;
		p->dropout_seq = rec->seq;
	}
	bool ignored;
	if (err == UG_OK)
		err = note_signal(c, rec, env, p, SIG_DROPOUT, day, &ignored);
	if (err != UG_OK || !rc->dropout.enabled)
		return err;
	/* A dropout always goes out at once (DOMAIN rule 1), merged or not:
	 * its legal clocks start now. */
	draft d;
	draft_init(&d, rec, p, R_DROPOUT, rc->dropout.priority);
	int32_t contact = calendar_add_working_days(
		&rc->cal, day, rc->deadline.contact_working_days);
	d.due = contact;
	char due[11];
	ug_date_format(contact, due);
	int age = p->birth ? age_on(p->birth, day) : -1;
	bool clocks = rc->deadline.on.enabled && age >= rc->deadline.min_age &&
	              age <= rc->deadline.max_age;
	say(d.title, sizeof d.title, "Dropped out of %s at %s", x->programme &&
	    x->programme[0] ? x->programme : "a programme", x->institution);
	say(d.explanation, sizeof d.explanation,
	    "%s reported that the young person left %s on %s%s%s. Rule "
	    "dropout: a dropout alerts the contact person at once. ",
	    rec->agency, x->institution, x->date,
	    x->reason && x->reason[0] ? ", reason " : "",
	    x->reason ? x->reason : "");
	size_t used = strlen(d.explanation);
	if (clocks)
		snprintf(d.explanation + used, sizeof d.explanation - used,
		         "The young person is %d (the legal deadlines apply "
		         "from %d to %d): the municipality must make contact "
		         "within %d working days and offer a new activity "
		         "within %d days; the hub keeps both clocks. Expected "
		         "of you: contact by %s.",
		         age, rc->deadline.min_age, rc->deadline.max_age,
		         rc->deadline.contact_working_days,
		         rc->deadline.offer_days, due);
	else
		snprintf(d.explanation + used, sizeof d.explanation - used,
		         "Expected of you: make contact as soon as possible.");
	ug_utf8_trim_tail(d.explanation);
	evidence_event(&d, env, rec->agency, x->date);
	err = emit(c, &d);
	if (err == UG_OK)
		err = start_deadlines(c, rec, p, day);
	return err;
}

static ug_err
apply_dropout_risk(apply_ctx *c, const store_record *rec,
                   const wire_envelope *env, profile *p)
{
	const rules_config *rc = &c->h->rules;
	const Ungebro__V1__DropoutRisk *x = env->dropout_risk;
	int32_t day = date_or(x->date, hub__today(c->h));
	bool suppress = false;
	ug_err err = note_signal(c, rec, env, p, SIG_DROPOUT_RISK, day,
	                         &suppress);
	if (err != UG_OK || suppress || !rc->dropout_risk.enabled)
		return err;
	draft d;
	draft_init(&d, rec, p, R_DROPOUT_RISK, rc->dropout_risk.priority);
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h), 5);
	char due[11];
	ug_date_format(d.due, due);
	say(d.title, sizeof d.title, "Risk of dropping out of %s",
	    x->institution);
	say(d.explanation, sizeof d.explanation,
	    "%s sees an imminent risk that the young person drops out (assessed "
	    "%s%s%s). Rule dropout_risk: institutions must tell the "
	    "municipality before the dropout happens. Expected of you: contact "
	    "the young person and the institution by %s.",
	    x->institution, x->date, x->reason && x->reason[0] ? ", reason " : "",
	    x->reason ? x->reason : "", due);
	evidence_event(&d, env, rec->agency, x->date);
	return emit(c, &d);
}

static ug_err
apply_enrolment(apply_ctx *c, const store_record *rec,
                const wire_envelope *env, profile *p)
{
	const rules_config *rc = &c->h->rules;
	const Ungebro__V1__Enrolment *x = env->enrolment;
	if (x->end && x->end[0]) {
		/* An enrolment that ended: completed means the goal is met;
		 * transferred continues elsewhere; dropped out is reported by
		 * its Dropout event. */
		p->enrolled = 0;
		return UG_OK;
	}
	bool was_out = p->dropout_open || p->left_day;
	uint64_t episode = p->dropout_open ? p->dropout_seq : p->left_seq;
	int32_t left = p->left_day;
	p->enrolled = 1;
	p->enrolled_start = date_or(x->start, hub__today(c->h));
	p->dropout_open = 0;
	p->left_day = 0;
	p->left_seq = 0;
	if (!was_out || !p->dropout_seq || episode != p->dropout_seq ||
	    !rc->back_on_track.enabled)
		return UG_OK;
	draft d;
	draft_init(&d, rec, p, R_BACK_ON_TRACK, rc->back_on_track.priority);
	char left_iso[11];
	ug_date_format(left, left_iso);
	int32_t start = date_or(x->start, hub__today(c->h));
	say(d.title, sizeof d.title, "Back on track: enrolled at %s",
	    x->institution);
	say(d.explanation, sizeof d.explanation,
	    "After leaving education on %s the young person started %s at %s "
	    "on %s (%d days later). Rule back_on_track: an enrolment after a "
	    "dropout closes the episode; the transition and offer clocks stop. "
	    "No action needed beyond your own follow-up.",
	    left_iso, x->programme && x->programme[0] ? x->programme
	                                               : "an education",
	    x->institution, x->start, (int)(start - left));
	evidence_event(&d, env, rec->agency, x->start);
	return emit(c, &d);
}

static ug_err
apply_leaving(apply_ctx *c, const store_record *rec, const wire_envelope *env,
              profile *p)
{
	int32_t day = date_or(env->school_leaving->date, hub__today(c->h));
	return left_education(c, rec, p, day);
}

static ug_err
apply_readiness(apply_ctx *c, const store_record *rec,
                const wire_envelope *env, profile *p)
{
	const rules_config *rc = &c->h->rules;
	const Ungebro__V1__ReadinessAssessment *x = env->readiness_assessment;
	if (x->ready || !(rc->readiness.grades >> x->grade & 1u))
		return UG_OK;
	bool suppress = false;
	ug_err err = note_signal(c, rec, env, p, SIG_NOT_READY,
	                         date_or(x->date, hub__today(c->h)), &suppress);
	if (err != UG_OK || suppress || !rc->readiness.on.enabled)
		return err;
	draft d;
	draft_init(&d, rec, p, R_READINESS, rc->readiness.on.priority);
	/* DOMAIN rule 3: the guidance counsellor (UU-vejleder) if one is
	 * assigned, else the contact person, else the desk. */
	char counsellor[STORE_ID_MAX];
	if (store_assignment_role(c->h->store, rec->person_key,
	                          STORE_ROLE_GUIDANCE, hub__today(c->h),
	                          counsellor) == UG_OK)
		d.recipient = counsellor;
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h), 10);
	char due[11], areas[64] = "";
	ug_date_format(d.due, due);
	const char *names[] = {"academic", "personal", "social"};
	bool flags[] = {x->not_ready_academic, x->not_ready_personal,
	                x->not_ready_social};
	for (int i = 0; i < 3; i++)
		if (flags[i]) {
			size_t used = strlen(areas);
			snprintf(areas + used, sizeof areas - used, "%s%s",
			         used ? ", " : "", names[i]);
		}
	/* The configured grades, "8 or 9" with the defaults. */
	char grades[64] = "";
	int ngrades = 0, total = __builtin_popcount(rc->readiness.grades);
	for (int g = 0; g <= 10; g++)
		if (rc->readiness.grades >> g & 1u) {
			size_t used = strlen(grades);
			snprintf(grades + used, sizeof grades - used, "%s%d",
			         !ngrades ? ""
			         : ngrades == total - 1 ? " or " : ", ", g);
			ngrades++;
		}
	say(d.title, sizeof d.title, "Not education-ready in grade %u",
	    x->grade);
	say(d.explanation, sizeof d.explanation,
	    "%s assessed the pupil not education-ready in grade %u on %s%s%s%s."
	    " Rule readiness: a not-ready assessment in grade %s goes to "
	    "the guidance counsellor. Expected of you: plan the guidance effort "
	    "with the pupil and the school by %s.",
	    x->school, x->grade, x->date, areas[0] ? " (areas: " : "", areas,
	    areas[0] ? ")" : "", grades, due);
	evidence_event(&d, env, rec->agency, x->date);
	return emit(c, &d);
}

/* ---- addiction (consent-gated) ---- */

static bool
scope_has(const char *scope, const char *what)
{
	/* An empty scope or "all" shares everything the event holds. */
	return !scope || !scope[0] || strstr(scope, "all") ||
	       strstr(scope, what);
}

static ug_err
apply_addiction(apply_ctx *c, const store_record *rec,
                const wire_envelope *env, profile *p)
{
	const rules_config *rc = &c->h->rules;
	const Ungebro__V1__AddictionReferral *x = env->addiction_referral;
	int32_t day = date_or(x->date, hub__today(c->h));
	const Ungebro__V1__Consent *consent = x->consent;
	/* The latest statement of consent rules; a withdrawal stops all
	 * future sharing. */
	if (consent) {
		p->consent = consent->given;
		p->consent_expires = date_or(consent->expires, 0);
		p->consent_stage = scope_has(consent->scope, "stage");
		p->consent_no_referral = !scope_has(consent->scope, "referral");
	}
	/* An event without a Consent message is judged by the latest
	 * statement: given, unexpired on the referral's date, and its scope. */
	bool shared = p->consent && (!p->consent_expires ||
	                             day <= p->consent_expires) &&
	              !p->consent_no_referral;
	ug_err err = UG_OK;
	if (x->stage == UNGEBRO__V1__REFERRAL_STAGE__REFERRED) {
		p->referral_open = 1;
		p->referral_seq = rec->seq;
		/* The treatment clock runs for the service's own trail whether
		 * or not anything may be shared. */
		if (rc->deadline.on.enabled)
			err = schedule(c,
			               (int64_t)(day + rc->deadline.treatment_days +
			                         1) * DAY_MS,
			               rec->seq, TIMER_TREATMENT_DUE,
			               rec->person_key);
	} else if (x->stage == UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED) {
		p->referral_open = 0;
	}
	if (err != UG_OK || x->stage != UNGEBRO__V1__REFERRAL_STAGE__REFERRED)
		return err;
	if (!shared) {
		/* Nothing about it reaches anyone, not even as a signal: a
		 * combined alert would reveal it. */
		c->h->alerts_withheld++;
		return UG_OK;
	}
	bool suppress = false;
	err = note_signal(c, rec, env, p, SIG_ADDICTION, day, &suppress);
	if (err != UG_OK || suppress || !rc->addiction.enabled)
		return err;
	draft d;
	draft_init(&d, rec, p, R_ADDICTION, rc->addiction.priority);
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h), 5);
	char due[11];
	ug_date_format(d.due, due);
	say(d.title, sizeof d.title, "Referred to addiction treatment (shared "
	    "with consent)");
	say(d.explanation, sizeof d.explanation,
	    "%s registered a referral on %s and the young person consented to "
	    "share it with the contact person%s%s. Rule addiction: a referral "
	    "reaches the contact person only with consent in scope and "
	    "unexpired; treatment must start within %d days. Expected of you: "
	    "support the young person in starting treatment; follow up by %s.",
	    x->service, x->date,
	    consent && consent->expires && consent->expires[0] ? " until "
	                                                         : "",
	    consent && consent->expires ? consent->expires : "",
	    rc->deadline.treatment_days, due);
	evidence_event(&d, env, rec->agency, x->date);
	return emit(c, &d);
}

/* ---- routing: assignments and desks ---- */

typedef struct {
	apply_ctx *c;
	char to[STORE_ID_MAX];
	char counsellor[STORE_ID_MAX]; /* keeps the alerts addressed to them */
	ug_err err;
} move_ctx;

static ug_err
move_alert(void *ctx, const uint8_t *id)
{
	move_ctx *m = ctx;
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations = 0;
	if (store_alert_state(m->c->h->store, id, &open, recipient,
	                      &escalations) != UG_OK ||
	    !open || escalations || strcmp(recipient, m->to) == 0 ||
	    strcmp(recipient, m->counsellor) == 0)
		return UG_OK; /* an escalated alert stays where it went */
	return add_reroute(m->c, id, m->to, false);
}

/* Move the person's open alerts to whoever is the contact person today
 * (or the desk), except escalated ones. */
static ug_err
move_open_alerts(apply_ctx *c, const uint8_t *person_key)
{
	move_ctx m = {.c = c};
	resolve_recipient(c->h, person_key, m.to);
	store_assignment_role(c->h->store, person_key, STORE_ROLE_GUIDANCE,
	                      hub__today(c->h), m.counsellor);
	return store_person_alerts(c->h->store, person_key, move_alert, &m);
}

static ug_err
apply_assignment(apply_ctx *c, const store_record *rec,
                 const wire_envelope *env)
{
	/* The durable transaction already recorded the assignment; what is
	 * left is to move the person's open alerts to whoever is the contact
	 * person now (DOMAIN: a reassignment moves open alerts). A guidance
	 * counsellor or mentor takes no open alerts. */
	const Ungebro__V1__ContactAssignment *x = env->contact_assignment;
	if (x->role && x->role[0] && strcmp(x->role, "contact") != 0)
		return UG_OK;
	ug_err err = move_open_alerts(c, rec->person_key);
	/* A dated assignment starts, or ends, on a later day: the open
	 * alerts move again when it does (to the new contact person, or to
	 * the desk once the assignment has ended). */
	int32_t today = hub__today(c->h);
	int32_t from = date_or(x->from, 0), to = date_or(x->to, 0);
	if (err == UG_OK && from > today)
		err = schedule(c, (int64_t)from * DAY_MS, rec->seq,
		               TIMER_REASSIGN, rec->person_key);
	if (err == UG_OK && to && to >= today)
		err = schedule(c, (int64_t)(to + 1) * DAY_MS, rec->seq,
		               TIMER_REASSIGN, rec->person_key);
	return err;
}

static ug_err
apply_desk(apply_ctx *c, const wire_envelope *env)
{
	const Ungebro__V1__DeskMembership *x = env->desk_membership;
	return store_derived_desk_put(c->txn, x->desk, x->caseworker,
	                              date_or(x->from, 0), date_or(x->to, 0),
	                              x->team_lead);
}

/* ---- dispatch ---- */

static ug_err
apply_person_event(apply_ctx *c, const store_record *rec,
                   const wire_envelope *env)
{
	profile p, before;
	bool stored = false;
	ug_err err = profile_load(c, rec->person_key, env->cpr, &p, &stored);
	if (err != UG_OK)
		return err;
	before = p;
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT:
		err = apply_absence(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		err = apply_dropout(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		err = apply_dropout_risk(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		err = apply_enrolment(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		err = apply_leaving(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT:
		err = apply_readiness(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		err = apply_addiction(c, rec, env, &p);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION: {
		bool ignored;
		err = note_signal(c, rec, env, &p, SIG_MISSED_ACTIVATION,
		                  date_or(env->missed_activation->date,
		                          hub__today(c->h)),
		                  &ignored);
		break;
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT:
		err = apply_assignment(c, rec, env);
		break;
	default:
		break;
	}
	if (err == UG_OK)
		/* Most absence reports change nothing here: skip the write. */
		err = stored && memcmp(&before, &p, sizeof p) == 0
		              ? UG_OK
		              : profile_save(c, rec->person_key, &p);
	return err;
}

static ug_err
apply_record(void *ctx, const store_record *rec)
{
	apply_ctx *c = ctx;
	c->applied++;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
	                                 rec->body, rec->body_len);
	if (!env) {
		log_err("HUB-APPLY", "log entry %llu does not decode; skipped",
		        (unsigned long long)rec->seq);
		return UG_OK;
	}
	ug_err err = UG_OK;
	if (rec->person_key) {
		err = store_derived_index(c->txn, rec->person_key,
		                          env->occurred_at, rec->seq);
		if (err == UG_OK)
			err = apply_person_event(c, rec, env);
	} else if (env->payload_case ==
	           UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP) {
		err = apply_desk(c, env);
	} else if (env->sensitivity == UNGEBRO__V1__SENSITIVITY__ANONYMOUS) {
		/* Anonymous counselling exists only as a count. */
		c->h->anonymous_referrals++;
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return err;
}

/* ---- timers ---- */

static bool
alert_open(hub *h, uint64_t seq, int rule, char *recipient,
           uint32_t *escalations)
{
	uint8_t id[STORE_ALERT_ID_LEN];
	ug_put_be64(id, seq);
	id[8] = (uint8_t)rule;
	bool open = false;
	return store_alert_state(h->store, id, &open, recipient, escalations) ==
	               UG_OK &&
	       open;
}

/* The log entry that started a timer, as evidence for its alert. */
typedef struct {
	wire_envelope *env;
	char agency[STORE_ID_MAX];
} started_by;

static ug_err
load_started_by(void *ctx, const store_record *rec)
{
	started_by *s = ctx;
	s->env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, rec->body,
	                     rec->body_len);
	ug_strlcpy(s->agency, rec->agency, sizeof s->agency);
	return UG_OK;
}

/* Add the starting event to the draft's evidence; its date in *date
 * (NULL if unknown). The caller frees s->env after emit. */
static void
timer_evidence(hub *h, const store_timer *t, draft *d, started_by *s,
               const char **date)
{
	memset(s, 0, sizeof *s);
	*date = NULL;
	if (store_log_get(h->store, t->seq, load_started_by, s) != UG_OK ||
	    !s->env)
		return;
	const wire_envelope *env = s->env;
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		*date = env->dropout->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		*date = env->school_leaving->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		*date = env->addiction_referral->date;
		break;
	default:
		break;
	}
	evidence_event(d, env, s->agency, *date);
}

/* A record standing in for the log entry that started a timer. */
static void
timer_record(const store_timer *t, store_record *rec)
{
	memset(rec, 0, sizeof *rec);
	rec->seq = t->seq;
	rec->person_key = t->person_key;
	rec->agency = "hub";
}

static ug_err
fire_deadline(apply_ctx *c, const store_timer *t, const profile *p)
{
	hub *h = c->h;
	const rules_config *rc = &h->rules;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	bool unhandled = false;
	int rule = 0;
	char what[128];
	switch (t->kind) {
	case TIMER_CONTACT_WARN:
	case TIMER_CONTACT_DUE:
		/* Contact is made when the dropout alert is acknowledged. */
		unhandled = alert_open(h, t->seq, R_DROPOUT, recipient,
		                       &escalations);
		rule = t->kind == TIMER_CONTACT_WARN ? R_CONTACT_WARN
		                                     : R_CONTACT_MISSED;
		say(what, sizeof what, "contact the young person (%d working "
		    "days after the dropout)", rc->deadline.contact_working_days);
		break;
	case TIMER_OFFER_WARN:
	case TIMER_OFFER_DUE:
		unhandled = p->dropout_open && p->dropout_seq == t->seq;
		rule = t->kind == TIMER_OFFER_WARN ? R_OFFER_WARN
		                                   : R_OFFER_MISSED;
		say(what, sizeof what, "offer a new activity (%d days after the "
		    "dropout)", rc->deadline.offer_days);
		break;
	case TIMER_TREATMENT_DUE:
		unhandled = p->referral_open && p->referral_seq == t->seq;
		rule = R_TREATMENT_MISSED;
		say(what, sizeof what, "start treatment (%d days after the "
		    "referral)", rc->deadline.treatment_days);
		break;
	default:
		return UG_OK;
	}
	if (!unhandled)
		return UG_OK;
	bool missed = rule == R_CONTACT_MISSED || rule == R_OFFER_MISSED ||
	              rule == R_TREATMENT_MISSED;
	/* A warning more than a day late (events imported long after the
	 * fact, a hub that was down) warns of nothing: the missed alert
	 * follows on its own. */
	if (!missed && h->now > t->due + DAY_MS)
		return UG_OK;
	if (missed) {
		h->deadlines_missed++;
		log_notice("HUB-DEADLINE", "deadline missed: %s (seq %llu)",
		           rule_names[rule], (unsigned long long)t->seq);
	}
	/* A missed treatment deadline tells that treatment has not started:
	 * a treatment stage. Without consent in force today whose scope
	 * covers stages it is only counted: nothing about the referral may
	 * reach anyone. */
	if (rule == R_TREATMENT_MISSED &&
	    !(p->consent && p->consent_stage &&
	      (!p->consent_expires || hub__today(h) <= p->consent_expires)))
		return UG_OK;
	/* The deadline itself: a missed one passed at the end of the day
	 * before its timer; a warning comes warn_working_days working days
	 * before it. */
	int32_t timer_day = (int32_t)(t->due / DAY_MS), deadline = timer_day - 1;
	if (rule == R_CONTACT_WARN || rule == R_OFFER_WARN)
		deadline = calendar_add_working_days(
			&rc->cal, timer_day, rc->deadline.warn_working_days);
	if (rule == R_OFFER_WARN && p->left_seq == t->seq)
		deadline = p->left_day + rc->deadline.offer_days;
	store_record rec;
	timer_record(t, &rec);
	draft d;
	draft_init(&d, &rec, p, rule,
	           missed ? UNGEBRO__V1__PRIORITY__HIGH : rc->deadline.on.priority);
	d.recipient = rc->desk;
	d.due = missed ? hub__today(h) : deadline;
	char due[11];
	ug_date_format(deadline, due);
	started_by from;
	const char *date;
	timer_evidence(h, t, &d, &from, &date);
	say(d.title, sizeof d.title, "%s: the duty to %s", missed
	    ? "Legal deadline missed" : "Legal deadline near, not handled",
	    what);
	say(d.explanation, sizeof d.explanation,
	    "The hub keeps the legal clocks. %s reported the %s on %s. %s %s. "
	    "Rule %s: %s.",
	    from.env ? from.agency : "An agency",
	    rule == R_TREATMENT_MISSED ? "referral" : "dropout",
	    date ? date : "(unknown)",
	    missed ? "The deadline passed on" : "Unhandled, and the deadline is",
	    due, rule_names[rule],
	    missed ? "a missed deadline goes to the duty desk and is a fact "
	             "in the annual status report"
	           : "a deadline that nears unhandled goes to the duty desk");
	ug_err err = emit(c, &d);
	if (from.env)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, from.env);
	return err;
}

static ug_err
fire_gap(apply_ctx *c, const store_timer *t, profile *p)
{
	const rules_config *rc = &c->h->rules;
	if (p->enrolled || p->left_seq != t->seq)
		return UG_OK;
	store_record rec;
	timer_record(t, &rec);
	bool suppress = false;
	int32_t day = (int32_t)(t->due / DAY_MS);
	ug_err err = note_signal(c, &rec, NULL, p, SIG_GAP, day, &suppress);
	if (err != UG_OK || suppress || !rc->transition_gap.on.enabled)
		return err;
	draft d;
	draft_init(&d, &rec, p, R_GAP, rc->transition_gap.on.priority);
	d.due = calendar_add_working_days(&rc->cal, hub__today(c->h), 5);
	char left[11], due[11];
	ug_date_format(p->left_day, left);
	ug_date_format(d.due, due);
	say(d.title, sizeof d.title, "No new education %d days after leaving",
	    rc->transition_gap.days);
	started_by from;
	const char *date;
	timer_evidence(c->h, t, &d, &from, &date);
	say(d.explanation, sizeof d.explanation,
	    "The young person left school or education on %s (reported by "
	    "%s) and no enrolment has been reported since. Rule "
	    "transition_gap: no new enrolment within %d days (school holidays "
	    "not counted) raises an alert. "
	    "Expected of you: contact the young person about a new education "
	    "or job by %s.",
	    left, from.env ? from.agency : "an agency",
	    rc->transition_gap.days, due);
	err = emit(c, &d);
	if (from.env)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, from.env);
	return err;
}

/* The acknowledgement deadline passed: caseworker -> desk -> team lead. */
static ug_err
fire_ack(apply_ctx *c, const store_timer *t)
{
	hub *h = c->h;
	int rule = (t->kind - TIMER_ACK) % 20;
	int priority = (t->kind - TIMER_ACK) / 20;
	char recipient[STORE_ID_MAX], lead[STORE_ID_MAX];
	uint32_t escalations = 0;
	if (!alert_open(h, t->seq, rule, recipient, &escalations))
		return UG_OK;
	const char *to = NULL;
	if (strcmp(recipient, h->rules.desk) != 0) {
		to = h->rules.desk;
	} else if (h->rules.team_lead[0]) {
		to = h->rules.team_lead;
	} else if (store_desk_lead(h->store, h->rules.desk, hub__today(h),
	                           lead) == UG_OK) {
		to = lead;
	}
	if (!to)
		return UG_OK; /* at the desk with no team lead: it stays */
	uint8_t id[STORE_ALERT_ID_LEN];
	ug_put_be64(id, t->seq);
	id[8] = (uint8_t)rule;
	ug_err err = add_reroute(c, id, to, true);
	/* Next step of the ladder, after another acknowledgement period. */
	if (err == UG_OK && to == h->rules.desk && priority >= 1 &&
	    priority <= 4)
		err = schedule(c, t->due +
		                          (int64_t)h->rules.ack_hours[priority] *
		                                  3600000,
		               t->seq, t->kind, t->person_key);
	return err;
}

static ug_err
fire_timer(apply_ctx *c, const store_timer *t)
{
	if (t->kind >= TIMER_ACK)
		return fire_ack(c, t);
	if (t->kind == TIMER_REASSIGN)
		return move_open_alerts(c, t->person_key);
	profile p;
	ug_err err = profile_load(c, t->person_key, NULL, &p, NULL);
	if (err != UG_OK)
		return err;
	if (t->kind == TIMER_GAP)
		err = fire_gap(c, t, &p);
	else
		err = fire_deadline(c, t, &p);
	if (err == UG_OK)
		err = profile_save(c, t->person_key, &p);
	return err;
}

/* ---- committing the effects ---- */

static void
free_effects(apply_ctx *c)
{
	for (size_t i = 0; i < c->nalerts; i++)
		free((void *)c->alerts[i].alert.body);
	free(c->alerts);
	free(c->reroutes);
}

static ug_err
store_effects(apply_ctx *c)
{
	hub *h = c->h;
	ug_err err = UG_OK;
	if (c->nalerts) {
		store_alert *batch = malloc(c->nalerts * sizeof *batch);
		if (!batch)
			return UG_ENOMEM;
		for (size_t i = 0; i < c->nalerts; i++) {
			batch[i] = c->alerts[i].alert;
			batch[i].recipient = c->alerts[i].recipient;
		}
		err = store_alerts_put(h->store, batch, c->nalerts);
		for (size_t i = 0; err == UG_OK && i < c->nalerts; i++)
			c->alerts[i].alert.created = batch[i].created;
		free(batch);
	}
	for (size_t i = 0; err == UG_OK && i < c->nreroutes; i++) {
		reroute *r = &c->reroutes[i];
		bool moved = false;
		err = store_alert_reroute(h->store, r->id, r->recipient,
		                          r->escalate, &moved);
		if (err != UG_OK || !moved)
			continue;
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(r->id, STORE_ALERT_ID_LEN, hexid);
		if (r->escalate) {
			h->escalations++;
			log_notice("HUB-ESCALATE", "alert %s not acknowledged in "
			           "time; escalated to %s", hexid, r->recipient);
			err = store_audit_append(h->store, h->now, "hub",
			                         "escalate", NULL, hexid);
		} else {
			log_info("HUB-REROUTE", "alert %s moved to %s", hexid,
			         r->recipient);
		}
	}
	return err;
}

static void
announce(apply_ctx *c)
{
	hub *h = c->h;
	for (size_t i = 0; i < c->nalerts; i++) {
		if (!c->alerts[i].alert.created)
			continue;
		h->alerts_raised++;
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(c->alerts[i].alert.id, STORE_ALERT_ID_LEN, hexid);
		log_info("HUB-ALERT", "alert %s (%s) raised for %s", hexid,
		         rule_names[c->alerts[i].alert.id[8]],
		         c->alerts[i].recipient);
		hub__delivery_notify(h, c->alerts[i].recipient);
	}
	for (size_t i = 0; i < c->nreroutes; i++)
		hub__delivery_notify(h, c->reroutes[i].recipient);
}

/* Durable effects first, then the derived commit (see the file comment). */
static long
finish(apply_ctx *c, ug_err err, uint64_t last_applied, const char *what)
{
	if (err == UG_OK)
		err = store_effects(c);
	if (err == UG_OK)
		err = store_derived_commit(&c->txn, last_applied);
	else
		store_derived_abort(&c->txn);
	if (err != UG_OK) {
		log_err("HUB-APPLY", "%s failed: %s", what, ug_strerror(err));
		free_effects(c);
		return -1;
	}
	announce(c);
	free_effects(c);
	return (long)c->applied;
}

long
hub__apply(hub *h, size_t max)
{
	apply_ctx c = {.h = h};
	uint64_t from = store_derived_last_applied(h->store) + 1, next;
	if (store_derived_begin(h->store, &c.txn) != UG_OK)
		return -1;
	ug_err err = store_log_scan(h->store, from, max, apply_record, &c,
	                            &next);
	if (err == UG_OK && c.applied == 0) {
		store_derived_abort(&c.txn);
		return 0;
	}
	return finish(&c, err, next - 1, "applying the log");
}

void
hub__fire_timers(hub *h)
{
	int64_t due;
	if (store_next_timer(h->store, &due) != UG_OK || due > h->now)
		return;
	apply_ctx c = {.h = h};
	if (store_derived_begin(h->store, &c.txn) != UG_OK)
		return;
	store_timer timers[256];
	size_t n = 0;
	ug_err err = store_derived_timers_due(c.txn, h->now, timers, 256, &n);
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = fire_timer(&c, &timers[i]);
	c.applied = n;
	finish(&c, err, store_derived_last_applied(h->store), "firing timers");
}
