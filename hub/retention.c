/*
 * The daily purge. Once the hub clock reaches a day the purge has not run
 * on (and at start), hubd walks the whole log from the first record, a
 * bounded slice per loop turn, and deletes what is due: a record whose
 * type's period has passed since the hub received it, and every record
 * about a person who has reached the age limit. store_purge deletes with
 * each record everything keyed by it, and a person's whole state when
 * nothing of theirs is left. Each deletion is audited as "purge" by
 * "hub": the person key and counts, never what was deleted; the records
 * are written in the deletion's own transaction.
 *
 * Why a walk of the log and not an index of due dates: the due date
 * depends on settings an operator may change (SIGHUP does not reload
 * them, a restart does) and on the birth date sealed in each record, and
 * a walk needs no second structure that could disagree with the log.
 * Its cost is one unsealing per record walked, spread over loop turns,
 * and two bounds keep the walk short: a run ends at the record that was
 * last when it began (what arrives during it is judged the next day), and
 * without an age limit it ends at the first record received less than
 * the shortest period ago (the log is in order of receipt, so nothing
 * after it can be due). Without the bounds a busy hub's walk chased the
 * log's tail all day, unsealing every new record once more.
 *
 * Assignments have no period of their own: they route alerts about the
 * person's other records, so a turn that deletes a person's last other
 * record deletes their assignment records with it (on top of
 * purge_batch), and the person's state goes as for any person with
 * nothing left. Nor do they end the walk: hubctl writes them with its own
 * reading of the clock (the system clock, or the clock_file of the config
 * it was given, which need not be hubd's), so their receipt times say
 * nothing about the records around them.
 */
#include "hub/retention.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/hub_int.h"

#define TYPES	      16
#define SCAN_PER_TURN 2048

static const struct {
	const char *name;
	int type;
} kinds[] = {
    {"absence", UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT},
    {"readiness", UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT},
    {"dropout_risk", UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK},
    {"missed_activation", UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION},
    {"addiction", UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL},
    {"dropout", UNGEBRO__V1__EVENT_TYPE__DROPOUT},
    {"enrolment", UNGEBRO__V1__EVENT_TYPE__ENROLMENT},
    {"school_leaving", UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING},
    {"benefit", UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS},
    {"action", UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION},
    {"assignment", UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT},
    {"desk", UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP},
};

/* One hubd per process: the purge's settings and progress. */
static struct {
	long age, days[TYPES], batch;
	bool running, ran;
	bool moved; /* the last turn of the run went on without a failure */
	int32_t last_day, run_day; /* the day a run started on */
	uint64_t cursor, end; /* end: the last record when the run began */
	uint64_t records, persons, alerts;
} R = {.batch = 128};

ug_err
hub__retention_load(const ug_config *cfg, ug_diag *diag)
{
	ug_err err = ug_config_int(cfg, "retention_age", 0, 150, &R.age, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "purge_batch", 1, 10000, &R.batch,
				    diag);
	for (size_t i = 0; err == UG_OK && i < sizeof kinds / sizeof *kinds;
	     i++) {
		char name[64];
		snprintf(name, sizeof name, "retention_%s", kinds[i].name);
		err = ug_config_int(cfg, name, 0, 365 * 150,
				    &R.days[kinds[i].type], diag);
	}
	return err;
}

typedef struct {
	hub *h;
	int32_t today;
	store_purge_item *items;
	size_t n, cap;
	bool done; /* the walk reached its end */
} scan_ctx;

/* The shortest period of any type, in days; 0 when no type has one. */
static long
shortest_period(void)
{
	long least = 0;
	for (int t = 0; t < TYPES; t++)
		if (R.days[t] > 0 && (least == 0 || R.days[t] < least))
			least = R.days[t];
	return least;
}

static bool
cpr_digits(const char *cpr)
{
	if (!cpr || strlen(cpr) != 10)
		return false;
	for (int i = 0; i < 10; i++)
		if (cpr[i] < '0' || cpr[i] > '9')
			return false;
	return true;
}

static bool
due(const scan_ctx *c, const store_record *rec, const wire_envelope *env)
{
	long days = rec->type < TYPES ? R.days[rec->type] : 0;
	if (days > 0 && c->h->now - rec->received_at >= days * UG_DAY_MS)
		return true;
	return R.age > 0 && rec->person_key && cpr_digits(env->cpr) &&
	       profile_age_on(profile_birth_from_cpr(env->cpr), c->today) >=
		   R.age;
}

/* The history entry a contact or guidance assignment put there, as
 * ingest and hubctl assign read it from the envelope (a mentor routes
 * nothing and has none). */
static void
assignment_of(const wire_envelope *env, store_purge_item *it)
{
	const Ungebro__V1__ContactAssignment *a = env->contact_assignment;
	if (env->type != UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT ||
	    env->payload_case !=
		UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT ||
	    !a || !a->caseworker || !a->from)
		return;
	int role = wire_assignment_role(a);
	if (role != UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT &&
	    role != UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE)
		return;
	if (ug_date_parse(a->from, &it->assign_from) != UG_OK ||
	    (a->to && a->to[0] &&
	     ug_date_parse(a->to, &it->assign_to) != UG_OK))
		return;
	it->assign_role =
	    role == UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_GUIDANCE
		? STORE_ROLE_GUIDANCE
		: STORE_ROLE_CONTACT;
	ug_strlcpy(it->assign_caseworker, a->caseworker,
		   sizeof it->assign_caseworker);
}

/* The desk period a DeskMembership put into derived/, as apply reads it. */
static void
desk_of(const wire_envelope *env, store_purge_item *it)
{
	const Ungebro__V1__DeskMembership *x = env->desk_membership;
	if (env->payload_case !=
		UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP ||
	    !x || !x->desk || !x->caseworker)
		return;
	ug_strlcpy(it->desk, x->desk, sizeof it->desk);
	ug_strlcpy(it->desk_member, x->caseworker, sizeof it->desk_member);
	it->desk_from = date_or(x->from, 0);
	it->desk_to = date_or(x->to, 0);
	it->desk_lead = x->team_lead;
}

static ug_err
visit(void *ctx, const store_record *rec)
{
	scan_ctx *c = ctx;
	long least = shortest_period();
	long days = rec->type < TYPES ? R.days[rec->type] : 0;
	if (rec->seq > R.end ||
	    (R.age == 0 &&
	     (least == 0 || (days > 0 && c->h->now - rec->received_at <
					     least * UG_DAY_MS)))) {
		c->done = true;
		return UG_EAGAIN;
	}
	if (c->n == (size_t)R.batch)
		return UG_EAGAIN; /* full: this record starts the next turn */
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	/* A record whose envelope does not decode is kept: without its
	 * event id its idempotency entry could not go with it. */
	if (env && env->event_id.len == STORE_EVENT_ID_LEN &&
	    due(c, rec, env)) {
		store_purge_item *it = &c->items[c->n++];
		memset(it, 0, sizeof *it);
		it->seq = rec->seq;
		memcpy(it->event_id, env->event_id.data, STORE_EVENT_ID_LEN);
		it->has_person = rec->person_key != NULL;
		if (rec->person_key)
			memcpy(it->person_key, rec->person_key,
			       UG_PERSON_KEY_LEN);
		assignment_of(env, it);
		if (!rec->person_key)
			desk_of(env, it);
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return UG_OK;
}

static bool
same_person(const store_purge_item *a, const store_purge_item *b)
{
	return a->has_person == b->has_person &&
	       (!a->has_person ||
		memcmp(a->person_key, b->person_key, UG_PERSON_KEY_LEN) == 0);
}

/* What a person keeps besides the records a turn deletes. */
typedef struct {
	const scan_ctx *c;
	store_purge_item *left; /* their assignment records */
	size_t n, cap;
	bool other; /* a record that is not an assignment */
	ug_err err;
} kept_ctx;

static ug_err
kept_record(void *ctx, const store_record *rec)
{
	kept_ctx *k = ctx;
	/* One made since the run began is a new decision about the person,
	 * judged with what comes for them next. */
	if (rec->type != UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT ||
	    rec->seq > R.end) {
		k->other = true;
		return UG_OK;
	}
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	bool whole =
	    env && env->event_id.len == STORE_EVENT_ID_LEN && rec->person_key;
	if (whole && k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 4;
		store_purge_item *more = realloc(k->left, cap * sizeof *more);
		if (more) {
			k->left = more;
			k->cap = cap;
		} else {
			k->err = UG_ENOMEM;
		}
	}
	if (whole && k->n < k->cap) {
		store_purge_item *it = &k->left[k->n++];
		memset(it, 0, sizeof *it);
		it->seq = rec->seq;
		memcpy(it->event_id, env->event_id.data, STORE_EVENT_ID_LEN);
		it->has_person = true;
		memcpy(it->person_key, rec->person_key, UG_PERSON_KEY_LEN);
	} else if (!whole) {
		/* Kept as visit() keeps it, and the person with it. */
		k->other = true;
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return UG_OK;
}

static ug_err
kept_seq(void *ctx, uint64_t seq)
{
	kept_ctx *k = ctx;
	for (size_t i = 0; i < k->c->n; i++)
		if (k->c->items[i].seq == seq)
			return UG_OK;
	ug_err err = store_log_get(k->c->h->store, seq, kept_record, k);
	if (err == UG_ENOTFOUND)
		err = UG_OK; /* an index entry whose record is gone */
	/* A record that does not open (STORE-SEAL) is kept, and the person
	 * with it; failing the turn on it retried it for ever. */
	if (err == UG_EMALFORMED) {
		k->other = true;
		err = UG_OK;
	}
	if (err == UG_OK)
		err = k->err;
	/* One other record keeps the person: no need to read the rest. */
	return err == UG_OK && k->other ? UG_EAGAIN : err;
}

/* Add to the turn's items the assignment records of every person whose
 * last other record is among them. */
static ug_err
add_lone_assignments(scan_ctx *c)
{
	/* The person index must hold every record of theirs the log does;
	 * while the log cannot be applied, assignments stay (the purge does
	 * not wait for derived/). */
	long applied;
	while ((applied = hub__apply(c->h, 512)) > 0)
		;
	if (applied < 0)
		return UG_OK;
	size_t n = c->n;
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < n; i++) {
		bool seen = !c->items[i].has_person;
		for (size_t j = 0; j < i && !seen; j++)
			seen = same_person(&c->items[i], &c->items[j]);
		if (seen)
			continue;
		kept_ctx k = {.c = c};
		err = store_person_events_scan(
		    c->h->store, c->items[i].person_key, kept_seq, &k);
		if (err == UG_EAGAIN && k.other)
			err = UG_OK;
		if (err == UG_OK && !k.other && k.n && c->n + k.n > c->cap) {
			size_t cap = c->n + k.n;
			store_purge_item *more =
			    realloc(c->items, cap * sizeof *more);
			if (more) {
				c->items = more;
				c->cap = cap;
			} else {
				err = UG_ENOMEM;
			}
		}
		if (err == UG_OK && !k.other && k.n) {
			memcpy(&c->items[c->n], k.left, k.n * sizeof *k.left);
			c->n += k.n;
		}
		free(k.left);
	}
	return err;
}

/* The person's history holds one entry per role and start date, made by
 * the last record stored with that start (a later one is a correction).
 * An assignment record that goes takes its entry only when it made it:
 * not when a later record, kept or going too, made it since, and when an
 * earlier one is kept, the entry goes back to what that one made (the
 * history as the kept log makes it). Found through the person's index,
 * which add_lone_assignments has brought up to the log. */
typedef struct {
	const scan_ctx *c;
	const store_purge_item *it;
	uint64_t last; /* the kept record with its role and start, 0 none */
	store_purge_item made;
} maker_ctx;

static ug_err
maker_record(void *ctx, const store_record *rec)
{
	maker_ctx *m = ctx;
	if (rec->type != UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT ||
	    rec->seq < m->last)
		return UG_OK;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	store_purge_item x = {0};
	if (env)
		assignment_of(env, &x);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	if (x.assign_caseworker[0] && x.assign_role == m->it->assign_role &&
	    x.assign_from == m->it->assign_from) {
		m->last = rec->seq;
		m->made = x;
	}
	return UG_OK;
}

static ug_err
maker_seq(void *ctx, uint64_t seq)
{
	maker_ctx *m = ctx;
	for (size_t i = 0; i < m->c->n; i++)
		if (m->c->items[i].seq == seq)
			return UG_OK; /* goes in this turn */
	ug_err err = store_log_get(m->c->h->store, seq, maker_record, m);
	/* Gone, or does not open (STORE-SEAL, logged): nothing to go by. */
	return err == UG_ENOTFOUND || err == UG_EMALFORMED ? UG_OK : err;
}

static ug_err
settle_assignments(scan_ctx *c)
{
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < c->n; i++) {
		store_purge_item *it = &c->items[i];
		if (!it->assign_caseworker[0])
			continue;
		bool later = false;
		for (size_t j = 0; j < c->n && !later; j++)
			later = c->items[j].assign_caseworker[0] &&
				c->items[j].seq > it->seq &&
				same_person(&c->items[j], it) &&
				c->items[j].assign_role == it->assign_role &&
				c->items[j].assign_from == it->assign_from;
		maker_ctx m = {.c = c, .it = it};
		if (!later)
			err = store_person_events(c->h->store, it->person_key,
						  maker_seq, &m);
		if (err != UG_OK)
			break;
		if (later || m.last > it->seq) {
			/* Not the entry's maker: it stays as made. */
			it->assign_caseworker[0] = '\0';
		} else if (m.last) {
			ug_strlcpy(it->assign_back_caseworker,
				   m.made.assign_caseworker,
				   sizeof it->assign_back_caseworker);
			it->assign_back_to = m.made.assign_to;
		}
	}
	return err;
}

/* A turn's audit records, built by store_purge_audited from what it
 * deleted, inside its transactions. */
typedef struct {
	hub *h;
	const store_purge_item *items;
	size_t n;
	store_audit_entry *e;
	char (*detail)[96];
} audit_ctx;

/* One audit record per person (one for the records about nobody), then
 * the batch's totals. */
static ug_err
audit_batch(void *ctx, const store_purge_counts *c,
	    const store_audit_entry **out, size_t *nout)
{
	audit_ctx *a = ctx;
	hub *h = a->h;
	const store_purge_item *items = a->items;
	size_t n = a->n, ne = 0;
	a->e = calloc(n + 1, sizeof *a->e);
	a->detail = calloc(n + 1, sizeof *a->detail);
	if (!a->e || !a->detail)
		return UG_ENOMEM;
	store_audit_entry *e = a->e;
	char(*detail)[96] = a->detail;
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = same_person(&items[i], &items[j]);
		if (seen)
			continue;
		size_t records = 0;
		for (size_t j = i; j < n; j++)
			records += same_person(&items[i], &items[j]);
		snprintf(detail[ne], sizeof detail[ne],
			 "%zu record%s deleted "
			 "(retention)",
			 records, records == 1 ? "" : "s");
		e[ne] = (store_audit_entry){
		    h->now,
		    "hub",
		    NULL,
		    "purge",
		    "ok",
		    items[i].has_person ? items[i].person_key : NULL,
		    detail[ne]};
		ne++;
	}
	snprintf(detail[ne], sizeof detail[ne],
		 "batch: %llu records, %llu "
		 "alerts, %llu timers, %llu persons cleared",
		 (unsigned long long)c->records, (unsigned long long)c->alerts,
		 (unsigned long long)c->timers,
		 (unsigned long long)c->persons_cleared);
	e[ne] = (store_audit_entry){h->now, "hub", NULL,      "purge",
				    "ok",   NULL,  detail[ne]};
	*out = e;
	*nout = ne + 1;
	return UG_OK;
}

static void
finish_run(void)
{
	R.running = false;
	/* The day it started on: records judged before a clock change are
	 * judged again on the new day. */
	R.last_day = R.run_day;
	R.ran = true;
	log_notice("HUB-PURGE",
		   "retention purge done: %llu records, %llu "
		   "alerts deleted, %llu persons cleared",
		   (unsigned long long)R.records, (unsigned long long)R.alerts,
		   (unsigned long long)R.persons);
}

/* A turn that fails is retried every loop turn, five times a second for
 * as long as the cause lasts (a full log/ map needs a restart): said when
 * it starts, then at most once a minute with the count, as STORE-FULL. */
static struct {
	int64_t since, logged_at;
	unsigned long long failed, unsaid;
} F;

static void
turn_failed(const char *what, ug_err err)
{
	int64_t now = ug_mono_ms();
	F.failed++;
	if (F.since && now - F.logged_at < 60000) {
		F.unsaid++;
		return;
	}
	char since[64] = "";
	if (F.since)
		snprintf(since, sizeof since,
			 " (%llu failed turns since the last line)",
			 F.unsaid + 1);
	else
		F.since = now ? now : 1;
	F.logged_at = now;
	F.unsaid = 0;
	log_err("HUB-PURGE", "%s: %s; retrying next turn%s", what,
		ug_strerror(err), since);
}

static void
turn_works(void)
{
	if (!F.since)
		return;
	log_notice("HUB-PURGE",
		   "the purge works again after %lld s and %llu failed turns",
		   (long long)((ug_mono_ms() - F.since) / 1000), F.failed);
	memset(&F, 0, sizeof F);
}

static void retention_turn(hub *h, int32_t today);

void
hub__retention_tick(hub *h)
{
	int32_t today = hub__today(h);
	if (!R.running && R.ran && today <= R.last_day)
		return;
	/* A purge deletes derived state the applier thread writes. */
	hub__derived_enter(h);
	retention_turn(h, today);
	hub__derived_leave(h);
}

bool
hub__retention_busy(void)
{
	return R.running && R.moved;
}

static void
retention_turn(hub *h, int32_t today)
{
	R.moved = false;
	if (!R.running) {
		R.running = true;
		R.run_day = today;
		R.cursor = 1;
		R.records = R.persons = R.alerts = 0;
		ug_err last = store_log_last(h->store, &R.end);
		if (last != UG_OK) {
			/* A run that cannot start is a failed turn too: said
			 * as HUB-PURGE, not only by the STORE-LMDB line. */
			R.running = false;
			turn_failed("reading the log for the purge", last);
			return; /* tried again next turn */
		}
	}
	scan_ctx c = {.h = h,
		      .today = today,
		      .items = calloc((size_t)R.batch, sizeof *c.items),
		      .cap = (size_t)R.batch};
	if (!c.items)
		return;
	uint64_t next = R.cursor;
	ug_err err = store_log_scan(h->store, R.cursor, SCAN_PER_TURN, visit,
				    &c, &next);
	/* A record that does not open (STORE-SEAL) reads no better on the
	 * next turn: retrying it deleted nothing, not even what was due
	 * before it, and logged it five times a second. The run ends there
	 * instead, and the next day's run stops at it again. */
	if (err == UG_EMALFORMED) {
		c.done = true;
		err = UG_OK;
	}
	if (err != UG_OK && err != UG_EAGAIN) {
		turn_failed("reading the log for the purge", err);
		free(c.items);
		return;
	}
	store_purge_counts counts;
	if (c.n) {
		ug_err lone = add_lone_assignments(&c);
		if (lone == UG_OK)
			lone = settle_assignments(&c);
		if (lone != UG_OK) {
			turn_failed("purge", lone);
			free(c.items);
			return;
		}
		/* The records in the deletion's own commit: a crash between
		 * two commits would leave records deleted with no record, and
		 * the next run would not find them again to record. */
		audit_ctx a = {.h = h, .items = c.items, .n = c.n};
		err = store_purge_audited(h->store, c.items, c.n, NULL,
					  &counts, audit_batch, &a);
		free(a.e);
		free(a.detail);
		if (err != UG_OK) {
			turn_failed("purge", err);
			free(c.items);
			return;
		}
		R.records += counts.records;
		R.alerts += counts.alerts;
		R.persons += counts.persons_cleared;
	}
	free(c.items);
	turn_works();
	R.moved = true;
	if (c.done || (next == R.cursor && err != UG_EAGAIN))
		finish_run();
	else
		R.cursor = next;
}
