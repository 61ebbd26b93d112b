/*
 * The derived side: log entries after last_applied are applied in order.
 * Each is indexed under its person; what the rules need is read (the
 * profile, the absence states, the event a correction supersedes), the
 * rule for its type decides (rule_*.c, pure), and the outcome is carried
 * out: alerts, timers, withdrawals and reroutes. Stored timers are fired on
 * the hub clock by the same machinery.
 *
 * Effects that touch the durable environment (new alerts, reroutes,
 * withdrawals) are collected and carried out after the scan, then the
 * derived transaction commits. The order of the two commits is what makes
 * a crash harmless: alerts are committed (synced) first, then the derived
 * state with its new last_applied (not synced). Crash between them, and
 * the replay raises the same alerts under the same ids (raising sequence +
 * rule), which the store keeps once.
 */
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/effects.h"
#include "hub/metrics.h"

int32_t
hub__today(const hub *h)
{
	return (int32_t)(h->now / UG_DAY_MS);
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

ug_err
effects_schedule(apply_ctx *c, int64_t due, uint64_t seq, int kind,
		 const uint8_t *person_key)
{
	store_timer t = {.due = due, .seq = seq, .kind = (uint8_t)kind};
	if (person_key)
		memcpy(t.person_key, person_key, UG_PERSON_KEY_LEN);
	if (!c->first_scheduled || due < c->first_scheduled)
		c->first_scheduled = due;
	return store_derived_timer_put(c->txn, &t);
}

/* When the alert's acknowledgement deadline (or the next step of its
 * escalation) falls; false for none. An alert the store holds already is
 * raised again by a replay (the derived state rebuilt, after an upgrade
 * too): its deadline runs from when it was first raised, not from the
 * replay, or every rebuild would put each open alert's escalation off by
 * a whole period. An acknowledged one has none; one already at the desk
 * is due at the team lead's step, a period after its deadline, as the
 * escalation scheduled it; one past both steps has none. */
static bool
ack_due(apply_ctx *c, const uint8_t *id, int hours, int64_t *due)
{
	hub *h = c->h;
	bool open = false;
	char owner[STORE_ID_MAX];
	uint32_t escalations = 0;
	hub_alert_summary held;
	int64_t from = h->now;
	int steps = 0;
	if (store_alert_state(h->store, id, &open, owner, &escalations) ==
		UG_OK &&
	    hub__alert_summary(h, id, &held) == UG_OK && held.raised_at) {
		if (!open)
			return false;
		from = held.raised_at;
		static const uint8_t step[] = {R_ESCALATED_DESK,
					       R_ESCALATED_LEAD};
		for (size_t i = 0; i < sizeof step; i++) {
			uint8_t notice[STORE_ALERT_ID_LEN];
			bool notice_open = false;
			char to[STORE_ID_MAX];
			memcpy(notice, id, sizeof notice);
			notice[STORE_ALERT_ID_LEN - 1] |= step[i];
			if (store_alert_state(h->store, notice, &notice_open,
					      to, &escalations) == UG_OK)
				steps = (int)i + 1;
		}
		if (steps == 2)
			return false;
	}
	*due = calendar_add_office_hours(&h->rules.cal, &h->rules.office, from,
					 hours);
	/* The lead's step counts from the end of the first window, as the
	 * live escalation scheduled it, not from when the desk's notice went
	 * out: that is later when hubd was down at the deadline, and a
	 * rebuild would put the lead's notice off by as much. */
	if (steps == 1)
		*due = calendar_add_office_hours(
		    &h->rules.cal, &h->rules.office, *due, hours);
	return true;
}

ug_err
effects_emit(apply_ctx *c, const draft *d, const uint8_t *person_key,
	     const char *recipient)
{
	hub *h = c->h;
	ug_err err = grow((void **)&c->alerts, &c->alerts_cap, c->nalerts,
			  sizeof *c->alerts);
	if (err != UG_OK)
		return err;
	new_alert *a = &c->alerts[c->nalerts];
	memset(a, 0, sizeof *a);
	ug_strlcpy(a->recipient, recipient, sizeof a->recipient);
	ug_put_be64(a->alert.id, d->seq);
	a->alert.id[8] = (uint8_t)d->rule;
	size_t len = 0;
	uint8_t *body =
	    compose_alert(d, a->alert.id, a->recipient, h->now, &len);
	if (!body)
		return UG_ENOMEM;
	a->alert.body = body;
	a->alert.body_len = len;
	a->has_person =
	    person_key && !sodium_is_zero(person_key, UG_PERSON_KEY_LEN);
	if (a->has_person)
		memcpy(a->person_key, person_key, UG_PERSON_KEY_LEN);
	c->nalerts++;
	if (person_key)
		err = store_derived_person_alert(c->txn, person_key,
						 a->alert.id);
	/* Acknowledgement windows count office hours (Danish time); the
	 * notices of an escalation or a withdrawal have none of their own. */
	int hours = h->rules.ack_hours[d->priority];
	int64_t due = 0;
	if (err == UG_OK && hours > 0 && !(d->rule & ~R_RULE_MASK) &&
	    d->rule != R_WITHDRAWN && ack_due(c, a->alert.id, hours, &due) &&
	    due)
		err = effects_schedule(c, due, d->seq,
				       TIMER_ACK + d->priority * 20 + d->rule,
				       person_key);
	return err;
}

ug_err
effects_reroute(apply_ctx *c, const uint8_t *id, const char *recipient)
{
	ug_err err = grow((void **)&c->reroutes, &c->reroutes_cap,
			  c->nreroutes, sizeof *c->reroutes);
	if (err != UG_OK)
		return err;
	reroute *r = &c->reroutes[c->nreroutes++];
	memcpy(r->id, id, STORE_ALERT_ID_LEN);
	ug_strlcpy(r->recipient, recipient, sizeof r->recipient);
	/* Set only when the store moves the alert: one already with its
	 * recipient left no list. */
	r->from[0] = '\0';
	r->moved = false;
	return UG_OK;
}

ug_err
effects_profile_load(apply_ctx *c, const uint8_t *person_key, const char *cpr,
		     profile *p, bool *stored)
{
	uint8_t buf[PROFILE_ENCODED_MAX];
	size_t len = 0;
	ug_err err = store_derived_state_get(c->txn, person_key, RULE_PROFILE,
					     buf, sizeof buf, &len);
	if (err != UG_OK && err != UG_ENOTFOUND && err != UG_EMALFORMED)
		return err;
	bool valid = err == UG_OK && profile_decode(p, buf, len);
	if (stored)
		*stored = valid;
	if (!valid)
		profile_init(p, cpr);
	else if (cpr && cpr[0] && !p->cpr[0]) {
		ug_strlcpy(p->cpr, cpr, sizeof p->cpr);
		p->birth = profile_birth_from_cpr(cpr);
	}
	return UG_OK;
}

ug_err
effects_profile_save(apply_ctx *c, const uint8_t *person_key, const profile *p)
{
	uint8_t buf[PROFILE_ENCODED_MAX];
	size_t len = profile_encode(p, buf, sizeof buf);
	if (!len)
		return UG_EINVAL;
	return store_derived_state_put(c->txn, person_key, RULE_PROFILE, buf,
				       len);
}

/* The alerts one event took the ground from, for the one `withdrawn`
 * notice it gives (its id is the event's sequence and rule 17, so one
 * notice per event: a withdrawn consent may take back several addiction
 * alerts at once). */
typedef struct {
	int rule;
	const char *why;
	char recipient[STORE_ID_MAX];
	char ids[2 * PROFILE_REFERRALS][2 * STORE_ALERT_ID_LEN + 1];
	size_t n;
} withdrawn_notice;

/* A correction or the end of consent took the ground from an open alert:
 * close it, and note it for the notice that tells its recipient why. */
static ug_err
withdraw(apply_ctx *c, const uint8_t *person_key, uint64_t seq, int rule,
	 const char *why, withdrawn_notice *wn)
{
	hub *h = c->h;
	uint8_t id[STORE_ALERT_ID_LEN];
	ug_put_be64(id, seq);
	id[8] = (uint8_t)rule;
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	if (store_alert_state(h->store, id, &open, recipient, &escalations) !=
	    UG_OK) {
		/* Raised in this same batch (an event and its correction
		 * applied together): stored before the withdrawals run. */
		size_t i = 0;
		while (i < c->nalerts &&
		       memcmp(c->alerts[i].alert.id, id, sizeof id) != 0)
			i++;
		if (i == c->nalerts)
			return UG_OK; /* never raised: nothing to take back */
		ug_strlcpy(recipient, c->alerts[i].recipient,
			   sizeof recipient);
	} else if (!open) {
		return UG_OK; /* acknowledged (or withdrawn) already */
	} else {
		/* Moved earlier in this batch (a new contact person applied
		 * with it): the move is stored first, and the notice is for
		 * whoever has the alert now, not the former recipient. */
		for (size_t i = c->nreroutes; i-- > 0;)
			if (memcmp(c->reroutes[i].id, id, sizeof id) == 0) {
				ug_strlcpy(recipient, c->reroutes[i].recipient,
					   sizeof recipient);
				break;
			}
	}
	/* Queued already: by the consent sweep, or an earlier event of
	 * this batch. */
	for (size_t i = 0; i < c->nwithdrawals; i++)
		if (memcmp(c->withdrawals[i].id, id, sizeof id) == 0)
			return UG_OK;
	ug_err err = grow((void **)&c->withdrawals, &c->withdrawals_cap,
			  c->nwithdrawals, sizeof *c->withdrawals);
	if (err != UG_OK)
		return err;
	withdrawal *w = &c->withdrawals[c->nwithdrawals++];
	memcpy(w->id, id, sizeof id);
	w->closed = false;
	w->nnotices = 0;
	w->has_person = person_key != NULL;
	if (person_key)
		memcpy(w->person_key, person_key, UG_PERSON_KEY_LEN);
	/* A missed treatment deadline is taken back when the consent stops
	 * covering treatment stages: telling the desk why would say more
	 * about the youth's consent than it now allows. */
	if (rule == R_TREATMENT_MISSED)
		return UG_OK;
	/* The alerts one event takes back are one person's of one rule, all
	 * with the same recipient (open addiction alerts follow the contact
	 * person together); should one sit elsewhere, it is closed without
	 * telling the others' recipient about it. */
	if (wn->n && (wn->rule != rule || strcmp(wn->recipient, recipient)))
		return UG_OK;
	if (wn->n == sizeof wn->ids / sizeof *wn->ids)
		return UG_OK;
	wn->rule = rule;
	wn->why = why;
	ug_strlcpy(wn->recipient, recipient, sizeof wn->recipient);
	ug_hex(id, STORE_ALERT_ID_LEN, wn->ids[wn->n++]);
	return UG_OK;
}

/* The `withdrawn` notice: to the withdrawn alerts' recipient, under the
 * deciding event's id, naming each alert it takes back. */
static ug_err
withdrawn_notice_emit(apply_ctx *c, const rule_input *in, const profile *p,
		      const uint8_t *person_key, const withdrawn_notice *wn)
{
	draft d;
	memset(&d, 0, sizeof d);
	d.seq = in->seq;
	d.rule = R_WITHDRAWN;
	d.priority = UNGEBRO__V1__PRIORITY__LOW;
	/* An addiction alert is taken back because the consent no longer
	 * shares it: the notice may tell its recipient which alert to drop
	 * and why, but not whom it is about nor the centre's deciding event
	 * (a treatment stage, say), which the consent no longer covers. */
	bool health = wn->rule == R_ADDICTION;
	d.cpr = p->cpr[0] && !health ? p->cpr : NULL;
	const char *rule = engine_rule_name(wn->rule);
	if (wn->n == 1) {
		say(d.title, sizeof d.title, "Withdrawn: alert %s (%s)",
		    wn->ids[0], rule);
		say(d.explanation, sizeof d.explanation,
		    "Alert %s (%s) is withdrawn: %s. Nothing more is expected "
		    "of you for it.",
		    wn->ids[0], rule, wn->why);
	} else {
		/* "000000000000000207, 000000000000000307 and ..." */
		char list[sizeof wn->ids +
			  8 * (sizeof wn->ids / sizeof *wn->ids)];
		list[0] = '\0';
		for (size_t i = 0; i < wn->n; i++) {
			size_t used = strlen(list);
			snprintf(list + used, sizeof list - used, "%s%s",
				 i == 0		  ? ""
				 : i == wn->n - 1 ? " and "
						  : ", ",
				 wn->ids[i]);
		}
		say(d.title, sizeof d.title, "Withdrawn: %zu alerts (%s)",
		    wn->n, rule);
		say(d.explanation, sizeof d.explanation,
		    "Alerts %s (%s) are withdrawn: %s. Nothing more is "
		    "expected of you for them.",
		    list, rule, wn->why);
	}
	if (in->env && !health)
		evidence_event_dated(&d, in->env, in->agency);
	return effects_emit(c, &d, person_key, wn->recipient);
}

/* The consent no longer shares what alerts of `rule` hold: every open one
 * of the person's is taken back, not only those of the referrals the
 * profile keeps (PROFILE_REFERRALS), or an older one would stay readable
 * outside the consent. */
typedef struct {
	apply_ctx *c;
	const uint8_t *person_key;
	int rule;
	const char *why;
	withdrawn_notice *wn;
} consent_sweep;

static ug_err
consent_sweep_alert(void *ctx, const uint8_t *id)
{
	consent_sweep *s = ctx;
	if (id[STORE_ALERT_ID_LEN - 1] != s->rule)
		return UG_OK;
	return withdraw(s->c, s->person_key, ug_get_be64(id), s->rule, s->why,
			s->wn);
}

static ug_err
consent_sweep_rule(apply_ctx *c, const uint8_t *person_key, const outcome *o,
		   int rule, withdrawn_notice *wn)
{
	size_t i = 0;
	while (i < o->nwithdraw && o->withdraw[i].rule != rule)
		i++;
	if (i == o->nwithdraw || !person_key)
		return UG_OK;
	consent_sweep s = {c, person_key, rule, o->withdraw[i].why, wn};
	return store_person_alerts(c->h->store, person_key,
				   consent_sweep_alert, &s);
}

/* The consent no longer shares referrals: every open combined alert of
 * the person may name one (to the contact person), and would go on naming
 * it at every delivery, listing and timeline, though consent is judged at
 * each disclosure. Noted here, rewritten once stored (store_effects). */
static ug_err
unname_note(apply_ctx *c, const uint8_t *id)
{
	for (size_t i = 0; i < c->nunnamed; i++)
		if (memcmp(c->unnamed[i], id, STORE_ALERT_ID_LEN) == 0)
			return UG_OK;
	ug_err err = grow((void **)&c->unnamed, &c->unnamed_cap, c->nunnamed,
			  sizeof *c->unnamed);
	if (err == UG_OK)
		memcpy(c->unnamed[c->nunnamed++], id, STORE_ALERT_ID_LEN);
	return err;
}

static ug_err
unname_sweep_alert(void *ctx, const uint8_t *id)
{
	if (id[STORE_ALERT_ID_LEN - 1] != R_COMBINED)
		return UG_OK;
	return unname_note(ctx, id);
}

static ug_err
unname_referrals(apply_ctx *c, const uint8_t *person_key, const outcome *o)
{
	size_t i = 0;
	while (i < o->nwithdraw && o->withdraw[i].rule != R_ADDICTION)
		i++;
	if (i == o->nwithdraw || !person_key)
		return UG_OK;
	/* Raised earlier in this batch: not stored yet. */
	ug_err err = UG_OK;
	for (size_t k = 0; err == UG_OK && k < c->nalerts; k++)
		if (c->alerts[k].has_person &&
		    c->alerts[k].alert.id[STORE_ALERT_ID_LEN - 1] ==
			R_COMBINED &&
		    memcmp(c->alerts[k].person_key, person_key,
			   UG_PERSON_KEY_LEN) == 0)
			err = unname_note(c, c->alerts[k].alert.id);
	if (err == UG_OK)
		err = store_person_alerts(c->h->store, person_key,
					  unname_sweep_alert, c);
	return err;
}

/* Carry out what a rule decided for one person. */
static ug_err
carry_out(apply_ctx *c, const rule_input *in, const uint8_t *person_key,
	  const profile *p, const outcome *o)
{
	hub *h = c->h;
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < o->nalerts; i++) {
		const draft *d = &o->alerts[i];
		char recipient[STORE_ID_MAX];
		bool contact;
		routing_resolve(h, person_key, d->to, recipient, &contact);
		if (d->special && d->to == TO_CONTACT && !contact &&
		    d->redacted[0]) {
			/* Outside the consent: the text without the health
			 * fact, and no evidence that could name it. */
			static draft safe;
			safe = *d;
			ug_strlcpy(safe.explanation, d->redacted,
				   sizeof safe.explanation);
			size_t kept = 0;
			for (size_t k = 0; k < safe.nevidence; k++)
				if (safe.evidence[k].type !=
				    UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL)
					safe.evidence[kept++] =
					    safe.evidence[k];
			safe.nevidence = kept;
			err = effects_emit(c, &safe, person_key, recipient);
			continue;
		}
		if (d->special && d->to == TO_CONTACT && !contact) {
			/* Consent shares health data with the contact person;
			 * without one it reaches nobody. */
			h->alerts_withheld++;
			log_notice("HUB-WITHHELD",
				   "alert of seq %llu (%s) "
				   "withheld: no contact person",
				   (unsigned long long)d->seq,
				   engine_rule_name(d->rule));
			continue;
		}
		err = effects_emit(c, d, person_key, recipient);
	}
	for (size_t i = 0; err == UG_OK && i < o->ntimers; i++)
		err = effects_schedule(c, o->timers[i].due,
				       o->timers[i].seq ? o->timers[i].seq
							: in->seq,
				       o->timers[i].kind, person_key);
	withdrawn_notice wn = {0};
	/* Oldest first, so the notice names them in order; what this batch
	 * raised is not stored yet and is reached by the rule's own list. */
	if (err == UG_OK)
		err = consent_sweep_rule(c, person_key, o, R_ADDICTION, &wn);
	if (err == UG_OK)
		err = consent_sweep_rule(c, person_key, o, R_TREATMENT_MISSED,
					 &wn);
	for (size_t i = 0; err == UG_OK && i < o->nwithdraw; i++)
		err = withdraw(c, person_key, o->withdraw[i].seq,
			       o->withdraw[i].rule, o->withdraw[i].why, &wn);
	if (err == UG_OK && wn.n)
		err = withdrawn_notice_emit(c, in, p, person_key, &wn);
	if (err == UG_OK)
		err = unname_referrals(c, person_key, o);
	/* A replay moves as the live hub did when the assignment came in
	 * (hubctl wrote it while hubd was down): under the consent of that
	 * instant, before a consent's end that fell due after it. */
	if (err == UG_OK && o->move_alerts)
		err = routing_move_open_alerts(c, person_key, in->now);
	if (o->merged) {
		h->alerts_merged++;
		log_info("HUB-MERGE",
			 "signal at seq %llu merged into combined "
			 "alert of seq %llu",
			 (unsigned long long)in->seq,
			 (unsigned long long)p->combined_seq);
	}
	if (o->withheld)
		h->alerts_withheld++;
	return err;
}

/* ---- applying the log ---- */

static ug_err
state_get(apply_ctx *c, const uint8_t *person_key, uint8_t rule, uint8_t *blob,
	  size_t cap, size_t *len)
{
	ug_err err =
	    store_derived_state_get(c->txn, person_key, rule, blob, cap, len);
	if (err == UG_ENOTFOUND || err == UG_EMALFORMED) {
		*len = 0;
		return UG_OK;
	}
	return err;
}

/* Both absence measures' states in one sealed record per person,
 * [rolling length, 2 bytes][rolling][quarter]: one read and one write per
 * report instead of two each (the apply loop's largest cost). */
#define ABSENCE_BOTH_MAX (2 + ABSENCE_STATE_MAX + QUARTER_STATE_MAX)

typedef struct {
	const uint8_t *person_key;
	wire_envelope *env;
	bool other_person; /* the event named is about someone else */
} corrected_event;

static ug_err
load_corrected(void *ctx, const store_record *rec)
{
	corrected_event *r = ctx;
	/* Only an event about the same person: a correction naming another
	 * person's event takes nothing from this one's state. */
	if (rec->person_key && r->person_key &&
	    memcmp(rec->person_key, r->person_key, UG_PERSON_KEY_LEN) == 0)
		r->env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				     rec->body, rec->body_len);
	else
		r->other_person = true;
	return UG_OK;
}

/* The events the corrected one itself corrected, back along the chain
 * (same agency, same person, each stored before the next): a correction
 * may name the first report or any correction of it (RULES.md §3), and
 * the rules keep only one event of a chain. chain[0] is the corrected
 * event itself; at most RULE_CHAIN_MAX. */
static size_t
correction_chain(hub *h, const store_record *rec, const wire_envelope *first,
		 uint64_t first_seq, uint64_t *chain)
{
	size_t n = 0;
	chain[n++] = first_seq;
	wire_envelope *held = NULL;
	const wire_envelope *e = first;
	uint64_t at = first_seq;
	while (n < RULE_CHAIN_MAX && e &&
	       e->supersedes.len == WIRE_EVENT_ID_LEN) {
		uint64_t prev = 0;
		char agency[STORE_ID_MAX];
		if (store_event_id_get(h->store, e->supersedes.data, &prev,
				       agency) != UG_OK ||
		    strcmp(agency, rec->agency) != 0 || prev >= at)
			break;
		corrected_event step = {.person_key = rec->person_key};
		if (store_log_get(h->store, prev, load_corrected, &step) !=
			UG_OK ||
		    !step.env) {
			if (step.env)
				wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					  step.env);
			break;
		}
		if (held)
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, held);
		held = step.env;
		e = held;
		at = prev;
		chain[n++] = prev;
	}
	if (held)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, held);
	return n;
}

/* The version in force of the fact an event corrects: a sender may name
 * the first report in every correction, not the latest (RULES.md §3),
 * and the rules hold the fact as last corrected (its row, its date).
 * The person's events after the named one, up to this one, that correct
 * it or a correction of it (same agency), the latest of them; the named
 * one when none does. Read in the apply transaction, so a batch that
 * holds both corrections decides as one applied apart does. */
typedef struct {
	hub *h;
	const char *agency;
	uint64_t below;
	uint64_t set[RULE_CHAIN_MAX * 4];
	size_t n;
	uint64_t latest;
} latest_ctx;

static ug_err
latest_step(void *ctx, const store_record *rec)
{
	latest_ctx *l = ctx;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	if (!env)
		return UG_OK;
	uint64_t prev = 0;
	char agency[STORE_ID_MAX];
	if (env->supersedes.len == WIRE_EVENT_ID_LEN &&
	    strcmp(rec->agency, l->agency) == 0 &&
	    store_event_id_get(l->h->store, env->supersedes.data, &prev,
			       agency) == UG_OK &&
	    strcmp(agency, l->agency) == 0 && prev < rec->seq)
		for (size_t i = 0; i < l->n; i++)
			if (l->set[i] == prev) {
				if (l->n < sizeof l->set / sizeof *l->set)
					l->set[l->n++] = rec->seq;
				l->latest = rec->seq;
				break;
			}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return UG_OK;
}

static ug_err
latest_seq(void *ctx, uint64_t seq)
{
	latest_ctx *l = ctx;
	if (seq <= l->set[0] || seq >= l->below)
		return UG_OK;
	ug_err err = store_log_get(l->h->store, seq, latest_step, l);
	/* A record the purge has deleted corrects nothing any more. */
	return err == UG_ENOTFOUND ? UG_OK : err;
}

static ug_err
latest_version(apply_ctx *c, const store_record *rec, uint64_t named,
	       uint64_t *latest)
{
	latest_ctx l = {.h = c->h,
			.agency = rec->agency,
			.below = rec->seq,
			.set = {named},
			.n = 1,
			.latest = named};
	ug_err err = store_derived_person_events(c->txn, rec->person_key,
						 latest_seq, &l);
	*latest = err == UG_OK ? l.latest : named;
	return err;
}

/* Whether target is among the events the event at seq corrected, back
 * along its chain (the event itself included): a later correction may
 * name an earlier link of the chain the rules keep the latest of. */
static bool
chain_holds(hub *h, const store_record *rec, uint64_t seq, uint64_t target)
{
	if (seq == target)
		return true;
	corrected_event at = {.person_key = rec->person_key};
	if (store_log_get(h->store, seq, load_corrected, &at) != UG_OK ||
	    !at.env) {
		if (at.env)
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				  at.env);
		return false;
	}
	uint64_t chain[RULE_CHAIN_MAX];
	size_t n = correction_chain(h, rec, at.env, seq, chain);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, at.env);
	for (size_t i = 0; i < n; i++)
		if (chain[i] == target)
			return true;
	return false;
}

static ug_err
absence_event(apply_ctx *c, const rule_input *in, const uint8_t *person_key,
	      profile *p, outcome *o)
{
	absence_report replaced;
	bool replaces = in->corrected &&
			in->corrected->payload_case ==
			    UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT &&
			absence_row(in->corrected->absence_report, &replaced);
	static absence_state rolling;
	static quarter_state quarter;
	static uint8_t blob[ABSENCE_BOTH_MAX];
	size_t len = 0;
	ug_err err =
	    state_get(c, person_key, RULE_ABSENCE, blob, sizeof blob, &len);
	if (err != UG_OK)
		return err;
	size_t rolling_len = len >= 2 ? ug_get_be16(blob) : 0;
	if (len < 2 || rolling_len > len - 2 ||
	    !absence_state_parse(&rolling, blob + 2, rolling_len))
		memset(&rolling, 0, sizeof rolling);
	if (len < 2 || rolling_len > len - 2 ||
	    !quarter_state_parse(&quarter, blob + 2 + rolling_len,
				 len - 2 - rolling_len))
		memset(&quarter, 0, sizeof quarter);
	rule_absence(in, p, &rolling, &quarter, replaces ? &replaced : NULL,
		     o);
	rolling_len =
	    absence_state_write(&rolling, blob + 2, ABSENCE_STATE_MAX);
	ug_put_be16(blob, (uint16_t)rolling_len);
	len = 2 + rolling_len +
	      quarter_state_write(&quarter, blob + 2 + rolling_len,
				  QUARTER_STATE_MAX);
	return store_derived_state_put(c->txn, person_key, RULE_ABSENCE, blob,
				       len);
}

static ug_err
apply_person_event(apply_ctx *c, const store_record *rec,
		   const wire_envelope *env)
{
	hub *h = c->h;
	profile p, before;
	bool stored = false;
	ug_err err =
	    effects_profile_load(c, rec->person_key, env->cpr, &p, &stored);
	if (err != UG_OK)
		return err;
	before = p;
	rule_input in = {
	    .rc = &h->rules,
	    .now = h->now,
	    .today = hub__today(h),
	    .seq = rec->seq,
	    .agency = rec->agency,
	    .received_at = rec->received_at,
	    .env = env,
	};
	/* A rebuild decides as the live hub did: at the instant it
	 * received the event, not the day of the rebuild. A consent judged
	 * later would leave a referral shared then "never shared", and the
	 * consent's end would take its open alert back no more; judged by
	 * the UTC day instead of the instant, one received after Danish
	 * midnight on its last UTC day would be shared on rebuild only. */
	/* So too an assignment on a running hub: hubctl writes it to the
	 * log from its own process and hubd picks it up within half a
	 * second. Should the hub clock jump meanwhile, the assignment
	 * takes effect as of when it was written, its handover on its own
	 * day in order with the timers, not at once, ahead of escalation
	 * steps that fell due before that day (RULES.md §6, §8). */
	bool as_received =
	    c->replay || env->payload_case ==
			     UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT;
	if (as_received && rec->received_at > 0 && rec->received_at < h->now) {
		in.now = rec->received_at;
		in.today = (int32_t)(rec->received_at / UG_DAY_MS);
	}
	if (env->supersedes.len == WIRE_EVENT_ID_LEN) {
		char agency[STORE_ID_MAX];
		/* Only an event stored before this one: the ids index
		 * already holds events the applier has not reached, and a
		 * rebuild from the log must decide as the live hub did. */
		if (store_event_id_get(h->store, env->supersedes.data,
				       &in.corrects_seq, agency) != UG_OK ||
		    strcmp(agency, rec->agency) != 0 ||
		    in.corrects_seq >= rec->seq)
			in.corrects_seq = 0;
	}
	corrected_event corrected = {.person_key = rec->person_key};
	if (in.corrects_seq &&
	    store_log_get(h->store, in.corrects_seq, load_corrected,
			  &corrected) != UG_OK &&
	    corrected.env) {
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, corrected.env);
		corrected.env = NULL;
	}
	/* Naming another person's event makes no correction (the timeline's
	 * test too): it is this person's new event, or a risk or a miss sent
	 * about the right pupil would raise and count nothing, and a report
	 * would take back an alert as only a correction does. */
	if (corrected.other_person)
		in.corrects_seq = 0;
	uint64_t latest = in.corrects_seq;
	if (in.corrects_seq && corrected.env) {
		err = latest_version(c, rec, in.corrects_seq, &latest);
		if (err != UG_OK) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				  corrected.env);
			return err;
		}
	}
	if (latest != in.corrects_seq) {
		corrected_event now = {.person_key = rec->person_key};
		if (store_log_get(h->store, latest, load_corrected, &now) ==
			UG_OK &&
		    now.env) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				  corrected.env);
			corrected.env = now.env;
			in.corrects_seq = latest;
		} else if (now.env) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				  now.env);
		}
	}
	in.corrected = corrected.env;
	uint64_t chain[RULE_CHAIN_MAX];
	if (in.corrects_seq && corrected.env) {
		in.chain = chain;
		in.nchain = correction_chain(h, rec, corrected.env,
					     in.corrects_seq, chain);
		/* The exit the person is out since is its chain's latest
		 * event: a correction naming an earlier one corrects it. */
		in.corrects_exit =
		    p.left_seq && in.corrects_seq < p.left_seq &&
		    chain_holds(h, rec, p.left_seq, in.corrects_seq);
	}
	static outcome o;
	outcome_init(&o);
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT:
		err = absence_event(c, &in, rec->person_key, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		rule_dropout(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		rule_dropout_risk(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		rule_enrolment(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		rule_leaving(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT:
		rule_readiness(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		rule_addiction(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION:
		rule_missed_activation(&in, &p, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT:
		rule_assignment(&in, &o);
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CASEWORKER_ACTION:
		rule_action(&in, &p, &o);
		break;
	default:
		break;
	}
	if (err == UG_OK)
		err = carry_out(c, &in, rec->person_key, &p, &o);
	/* Most absence reports change nothing here: skip the write. */
	if (err == UG_OK && !(stored && memcmp(&before, &p, sizeof p) == 0))
		err = effects_profile_save(c, rec->person_key, &p);
	if (corrected.env)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, corrected.env);
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

static ug_err
apply_record(void *ctx, const store_record *rec)
{
	apply_ctx *c = ctx;
	int64_t due;
	if (c->replay && store_derived_timer_first(c->txn, &due) == UG_OK &&
	    due < rec->received_at && due <= c->h->now) {
		c->held = true;
		c->held_at = rec->received_at;
		return UG_EAGAIN;
	}
	c->applied++;
	/* *rec points into the buffer a nested log read reuses (the event
	 * a correction supersedes): keep what the rules use after it. */
	uint8_t person_key[UG_PERSON_KEY_LEN];
	char agency[STORE_ID_MAX];
	store_record own = *rec;
	ug_strlcpy(agency, rec->agency, sizeof agency);
	own.agency = agency;
	if (rec->person_key) {
		memcpy(person_key, rec->person_key, sizeof person_key);
		own.person_key = person_key;
	}
	rec = &own;
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

/* The log entry that started a timer, as evidence for its alert. */
typedef struct {
	wire_envelope *env;
	char agency[STORE_ID_MAX];
	int64_t received_at;
} started_by;

static ug_err
load_started_by(void *ctx, const store_record *rec)
{
	started_by *s = ctx;
	s->env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, rec->body,
			     rec->body_len);
	ug_strlcpy(s->agency, rec->agency, sizeof s->agency);
	s->received_at = rec->received_at;
	return UG_OK;
}

static ug_err
fire_timer(apply_ctx *c, const store_timer *t)
{
	hub *h = c->h;
	if (t->kind >= TIMER_ACK)
		return routing_escalate(c, t);
	if (t->kind == TIMER_REASSIGN) {
		/* The move happens on its day, as a running hub made it: a
		 * hub that was down (or whose clock jumped) over that day
		 * and a consent's end after it must still hand the alerts
		 * to that day's contact person under the consent in force
		 * then, or the consent's end would find them with the
		 * former one and take them back there. */
		return routing_move_open_alerts(c, t->person_key, t->due);
	}
	profile p;
	ug_err err = effects_profile_load(c, t->person_key, NULL, &p, NULL);
	if (err != UG_OK)
		return err;
	started_by from = {0};
	if (store_log_get(h->store, t->seq, load_started_by, &from) != UG_OK)
		from.env = NULL;
	/* The clocks of a dropout episode keep the first report's sequence,
	 * which names the episode; what they raise tells the dropout as
	 * last corrected (its date above all), with that correction as the
	 * evidence, not the superseded report. */
	bool episode_clock =
	    t->kind >= TIMER_GAP && t->kind <= TIMER_OFFER_DUE;
	/* The legal clocks say when the hub learned of the dropout: the
	 * first report's receipt, also after a correction. */
	int64_t first_received = from.received_at;
	uint64_t latest = 0;
	char owner[STORE_ID_MAX];
	if (episode_clock && from.env && p.dropout_seq == t->seq &&
	    from.env->payload_case == UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT &&
	    from.env->event_id.len == WIRE_EVENT_ID_LEN &&
	    memcmp(from.env->event_id.data, p.dropout_event_id,
		   WIRE_EVENT_ID_LEN) != 0 &&
	    store_event_id_get(h->store, p.dropout_event_id, &latest, owner) ==
		UG_OK &&
	    latest > t->seq) {
		started_by corrected = {0};
		if (store_log_get(h->store, latest, load_started_by,
				  &corrected) == UG_OK &&
		    corrected.env) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				  from.env);
			from = corrected;
		} else if (corrected.env) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
				  corrected.env);
		}
	}
	rule_input in = {
	    .rc = &h->rules,
	    .now = h->now,
	    .today = hub__today(h),
	    .seq = t->seq,
	    .agency = from.env ? from.agency : "hub",
	    .received_at = from.env ? first_received : 0,
	    .env = from.env,
	};
	static outcome o;
	outcome_init(&o);
	if (t->kind == TIMER_GAP)
		rule_gap_timer(&in, t->due, &p, &o);
	else if (t->kind == TIMER_CONSENT_END)
		rule_consent_timer(&in, &p, &o);
	else
		rule_deadline_timer(&in, t->kind, t->due, &p, &o);
	if (o.missed) {
		h->deadlines_missed++;
		log_notice("HUB-DEADLINE", "deadline missed: %s (seq %llu)",
			   t->kind == TIMER_TREATMENT_DUE
			       ? "deadline.treatment.missed"
			   : t->kind == TIMER_CONTACT_DUE
			       ? "deadline.contact.missed"
			       : "deadline.offer.missed",
			   (unsigned long long)t->seq);
	}
	err = carry_out(c, &in, t->person_key, &p, &o);
	if (err == UG_OK)
		err = effects_profile_save(c, t->person_key, &p);
	if (from.env)
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, from.env);
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
	free(c->withdrawals);
	free(c->unnamed);
}

/* The combined alert's text without the referral: its item ("addiction
 * referral (AGENCY, DAY)", rule_signals.c) gives way to
 * HUB_REFERRAL_UNNAMED at the end of the list, and an AddictionReferral
 * as its evidence (the referral tipped it) goes. */
typedef struct {
	uint8_t *body;
	size_t len;
} unnamed_body;

static ug_err
unname_body(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	    uint32_t deliveries)
{
	(void)id;
	(void)deliveries;
	unnamed_body *out = ctx;
	wire_alert *a =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (!a)
		return UG_OK;
	const char *text = a->explanation ? a->explanation : "";
	const char *item = strstr(text, "addiction referral (");
	const char *close = item ? strchr(item, ')') : NULL;
	if (!close) {
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, a);
		return UG_OK;
	}
	size_t from = (size_t)(item - text), to = (size_t)(close + 1 - text);
	/* ", item" after another; "item, " as the first. */
	if (from >= 2 && text[from - 2] == ',' && text[from - 1] == ' ')
		from -= 2;
	else if (text[to] == ',' && text[to + 1] == ' ')
		to += 2;
	char explanation[1024];
	snprintf(explanation, sizeof explanation, "%.*s%s", (int)from, text,
		 text + to);
	/* Said at the list's end, before the rule's own sentence. */
	char *end = strstr(explanation, ". Rule combined");
	if (end) {
		char rest[1024];
		ug_strlcpy(rest, end, sizeof rest);
		snprintf(end, sizeof explanation - (size_t)(end - explanation),
			 ", %s%s", HUB_REFERRAL_UNNAMED, rest);
	}
	Ungebro__V1__Evidence *kept[16];
	size_t nkept = 0;
	for (size_t i = 0; i < a->n_evidence && nkept < 16; i++)
		if (a->evidence[i]->type !=
		    UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL)
			kept[nkept++] = a->evidence[i];
	char *was_text = a->explanation;
	Ungebro__V1__Evidence **was_evidence = a->evidence;
	size_t was_n = a->n_evidence;
	a->explanation = explanation;
	a->evidence = kept;
	a->n_evidence = nkept;
	out->len = wire_packed_size(a);
	out->body = malloc(out->len ? out->len : 1);
	if (out->body)
		wire_pack(a, out->body);
	/* Its own fields back, for wire_free. */
	a->explanation = was_text;
	a->evidence = was_evidence;
	a->n_evidence = was_n;
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, a);
	return out->body ? UG_OK : UG_ENOMEM;
}

static ug_err
unname_stored(hub *h, const uint8_t *id)
{
	unnamed_body nb = {0};
	bool open = false, rewritten = false;
	ug_err err = store_alert_get(h->store, id, unname_body, &nb, &open);
	if (err == UG_ENOTFOUND)
		return UG_OK;
	if (err != UG_OK || !nb.body || !open) {
		free(nb.body);
		return err;
	}
	err = store_alert_rewrite(h->store, id, nb.body, nb.len, &rewritten);
	free(nb.body);
	if (err == UG_ENOTFOUND)
		return UG_OK;
	if (err == UG_OK && rewritten) {
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(id, STORE_ALERT_ID_LEN, hexid);
		log_info("HUB-WITHDRAW",
			 "alert %s (combined) no longer names the referral: "
			 "the consent no longer shares it",
			 hexid);
	}
	return err;
}

static ug_err
close_withdrawn(hub *h, withdrawal *w)
{
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	if (store_alert_state(h->store, w->id, &open, recipient,
			      &escalations) != UG_OK ||
	    !open)
		return UG_OK;
	bool found = false;
	char hexid[2 * STORE_ALERT_ID_LEN + 1];
	ug_hex(w->id, STORE_ALERT_ID_LEN, hexid);
	/* Closed with its record, in one transaction. */
	store_audit_entry e = {h->now, "hub",
			       NULL,   "withdraw",
			       NULL,   w->has_person ? w->person_key : NULL,
			       hexid};
	ug_err err = store_alerts_ack_audited(
	    h->store, recipient, (const uint8_t(*)[STORE_ALERT_ID_LEN])w->id,
	    1, &found, &e);
	if (err == UG_OK && found) {
		hub__close_notices(h, w->id, w->notices, &w->nnotices);
		log_info("HUB-WITHDRAW",
			 "alert %s withdrawn after a correction", hexid);
		w->closed = true;
		ug_strlcpy(w->recipient, recipient, sizeof w->recipient);
	}
	return err;
}

static ug_err
store_effects(apply_ctx *c)
{
	hub *h = c->h;
	ug_err err = UG_OK;
	if (c->nalerts) {
		store_alert *batch = malloc(c->nalerts * sizeof *batch);
		/* An escalation notice is stored with its `escalate` record:
		 * the trail shows every one the hub made. */
		store_audit_entry *audit = calloc(c->nalerts, sizeof *audit);
		char(*hexid)[2 * STORE_ALERT_ID_LEN + 1] =
		    calloc(c->nalerts, sizeof *hexid);
		if (!batch || !audit || !hexid) {
			free(batch);
			free(audit);
			free(hexid);
			return UG_ENOMEM;
		}
		for (size_t i = 0; i < c->nalerts; i++) {
			new_alert *a = &c->alerts[i];
			batch[i] = a->alert;
			batch[i].recipient = a->recipient;
			if (!a->escalation)
				continue;
			ug_hex(a->alert.id, STORE_ALERT_ID_LEN, hexid[i]);
			audit[i] = (store_audit_entry){
			    h->now,  "hub",
			    NULL,    "escalate",
			    NULL,    a->has_person ? a->person_key : NULL,
			    hexid[i]};
		}
		err = store_alerts_put_audited(h->store, batch, c->nalerts,
					       audit);
		for (size_t i = 0; err == UG_OK && i < c->nalerts; i++)
			c->alerts[i].alert.created = batch[i].created;
		free(batch);
		free(audit);
		free(hexid);
	}
	/* Moves first: a withdrawal later in the batch closes the alert
	 * where the move put it (apply.c's withdraw names that recipient),
	 * and a move never takes an alert the batch withdrew (routing.c). */
	for (size_t i = 0; err == UG_OK && i < c->nreroutes; i++) {
		reroute *r = &c->reroutes[i];
		bool open = false, moved = false;
		uint32_t escalations;
		/* Whose list it leaves, for their live pages; not knowing it
		 * moves the alert all the same. */
		if (store_alert_state(h->store, r->id, &open, r->from,
				      &escalations) != UG_OK)
			r->from[0] = '\0';
		err = store_alert_reroute(h->store, r->id, r->recipient, false,
					  &moved);
		if (err != UG_OK || !moved)
			continue;
		r->moved = r->from[0] && strcmp(r->from, r->recipient) != 0;
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(r->id, STORE_ALERT_ID_LEN, hexid);
		log_info("HUB-REROUTE", "alert %s moved to %s", hexid,
			 r->recipient);
	}
	for (size_t i = 0; err == UG_OK && i < c->nwithdrawals; i++)
		err = close_withdrawn(h, &c->withdrawals[i]);
	for (size_t i = 0; err == UG_OK && i < c->nunnamed; i++)
		err = unname_stored(h, c->unnamed[i]);
	return err;
}

void
hub__announce(hub *h, const hub_news *news, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const hub_news *e = &news[i];
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(e->id, STORE_ALERT_ID_LEN, hexid);
		if (e->kind == HUB_NEWS_WITHDRAWN) {
			/* Recorded with the withdrawal (close_withdrawn).
			 * Not every withdrawal raises a notice that would
			 * tell the recipient's open pages. */
			if (e->recipient[0])
				hub__notify_listed(h, e->recipient, NULL);
			continue;
		}
		if (e->kind == HUB_NEWS_ESCALATION) {
			/* Logged under the escalated alert's own id. */
			uint8_t id[STORE_ALERT_ID_LEN];
			memcpy(id, e->id, sizeof id);
			id[8] &= R_RULE_MASK;
			char owned[2 * STORE_ALERT_ID_LEN + 1];
			ug_hex(id, STORE_ALERT_ID_LEN, owned);
			h->escalations++;
			log_notice("HUB-ESCALATE",
				   "alert %s not acknowledged in "
				   "time; notice %s to %s",
				   owned, hexid, e->recipient);
			/* Recorded with the notice (store_effects). */
		} else if (e->kind == HUB_NEWS_ALERT) {
			h->alerts_raised++;
			log_info("HUB-ALERT", "alert %s (%s) raised for %s",
				 hexid, engine_rule_name(e->id[8]),
				 e->recipient);
			if (strcmp(e->recipient, h->rules.desk) == 0 &&
			    strncmp(engine_rule_name(e->id[8]), "deadline.",
				    9) == 0)
				hub__ops_deadline_to_desk(h);
		}
		if (e->kind == HUB_NEWS_LEFT) {
			hub__notify_listed(h, e->recipient, NULL);
			continue;
		}
		hub__delivery_notify(h, e->recipient);
		if (e->kind == HUB_NEWS_REROUTE)
			hub__notify_listed(h, e->recipient, NULL);
		else
			hub__notify_alerted(h, e->recipient);
	}
}

static void
add_news(hub_news *news, size_t *n, const uint8_t *id, const char *recipient,
	 int kind, const uint8_t *person_key)
{
	hub_news *e = &news[(*n)++];
	memcpy(e->id, id, STORE_ALERT_ID_LEN);
	ug_strlcpy(e->recipient, recipient ? recipient : "",
		   sizeof e->recipient);
	e->kind = kind;
	e->has_person = person_key != NULL;
	if (person_key)
		memcpy(e->person_key, person_key, UG_PERSON_KEY_LEN);
}

/* Withdrawals first, as they were logged when one thread did both (their
 * records are written with them, in store_effects). */
static void
announce(apply_ctx *c)
{
	size_t cap = 3 * c->nwithdrawals + c->nalerts + 2 * c->nreroutes,
	       n = 0;
	if (!cap)
		return;
	hub_news *news = malloc(cap * sizeof *news);
	if (!news) {
		/* Stored and queued with their audit records; the next
		 * delivery tick pushes them. */
		log_err("HUB-APPLY",
			"no memory to announce %zu alerts, withdrawals and "
			"reroutes: their log lines, e-mail notices and "
			"live-list updates are lost (the alerts are stored)",
			cap);
		return;
	}
	for (size_t i = 0; i < c->nwithdrawals; i++) {
		withdrawal *w = &c->withdrawals[i];
		if (!w->closed)
			continue;
		add_news(news, &n, w->id, w->recipient, HUB_NEWS_WITHDRAWN,
			 w->has_person ? w->person_key : NULL);
		/* The desk's and the team lead's open pages lose the notices
		 * as the owner's loses the alert. */
		for (size_t j = 0; j < w->nnotices; j++)
			add_news(news, &n, w->id, w->notices[j], HUB_NEWS_LEFT,
				 NULL);
	}
	for (size_t i = 0; i < c->nalerts; i++)
		if (c->alerts[i].alert.created)
			add_news(news, &n, c->alerts[i].alert.id,
				 c->alerts[i].recipient,
				 c->alerts[i].escalation ? HUB_NEWS_ESCALATION
							 : HUB_NEWS_ALERT,
				 c->alerts[i].has_person
				     ? c->alerts[i].person_key
				     : NULL);
	for (size_t i = 0; i < c->nreroutes; i++) {
		/* A reassignment gives the new contact person alerts they
		 * were never told of: their e-mail notice counts them. */
		add_news(news, &n, c->reroutes[i].id, c->reroutes[i].recipient,
			 c->reroutes[i].moved ? HUB_NEWS_MOVED_IN
					      : HUB_NEWS_REROUTE,
			 NULL);
		if (c->reroutes[i].moved)
			add_news(news, &n, c->reroutes[i].id,
				 c->reroutes[i].from, HUB_NEWS_LEFT, NULL);
	}
	if (c->hand)
		hub__applier_hand(c->h, news, n);
	else
		hub__announce(c->h, news, n);
	free(news);
}

/* A failing apply is retried twice a second (applier.c) and a due timer
 * at every loop turn, for as long as the cause lasts (derived/ full until
 * the operator acts): reported when it starts, then once a minute, and
 * when applying works again. Called with the derived lock held. */
static void
apply_failed(hub *h, const char *what, bool timers, ug_err err)
{
	int64_t now = ug_mono_ms();
	h->apply_failures++;
	h->apply_failing_timers = timers;
	if (!h->apply_failing_since)
		h->apply_failing_since = now ? now : 1;
	else if (now - h->apply_logged_at < 60000)
		return;
	h->apply_logged_at = now;
	log_err("HUB-APPLY",
		"%s failed: %s; retried, %llu failed attempts so far (events "
		"are refused retryable once %d are waiting)",
		what, ug_strerror(err), (unsigned long long)h->apply_failures,
		HUB_APPLY_LAG_MAX);
}

static void
apply_works(hub *h, bool timers)
{
	/* A log applied, or found with nothing to apply, says nothing of
	 * timers that could not fire (log/ full, where the notice of an
	 * escalation goes): "works again" there, then "failed" at the next
	 * firing, came two lines five times a second. */
	if (!h->apply_failing_since || (h->apply_failing_timers && !timers))
		return;
	log_notice("HUB-APPLY",
		   "applying the log works again after %lld s and %llu failed "
		   "attempts",
		   (long long)((ug_mono_ms() - h->apply_failing_since) / 1000),
		   (unsigned long long)h->apply_failures);
	h->apply_failing_since = 0;
	h->apply_failures = 0;
	h->apply_failing_timers = false;
}

/* Durable effects first, then the derived commit (see the file comment). */
static long
finish(apply_ctx *c, ug_err err, uint64_t last_applied, const char *what,
       bool timers)
{
	if (err == UG_OK)
		err = store_effects(c);
	if (err == UG_OK)
		err = store_derived_commit(&c->txn, last_applied);
	else
		store_derived_abort(&c->txn);
	if (err != UG_OK) {
		c->err = err;
		apply_failed(c->h, what, timers, err);
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
	return hub__apply_chunk(h, max, false);
}

static long
apply_upto(hub *h, size_t max, bool hand, bool replay, int64_t *held_at)
{
	apply_ctx c = {.h = h, .hand = hand, .replay = replay};
	uint64_t from = store_derived_last_applied(h->store) + 1, next;
	ug_err err = store_derived_begin(h->store, &c.txn);
	if (err != UG_OK) {
		apply_failed(h, "applying the log", false, err);
		atomic_store(&h->apply_err, (int)err);
		return -1;
	}
	err = store_log_scan(h->store, from, max, apply_record, &c, &next);
	if (err == UG_EAGAIN && c.held)
		err = UG_OK;
	/* A record that does not open stays so: the records before it are
	 * applied (their rules run) and applying stops at it until it is
	 * passed over or a backup restored; said once, loudly. */
	uint64_t damaged = err == UG_EMALFORMED ? next : 0;
	if (damaged && atomic_exchange(&h->apply_damaged, damaged) != damaged)
		log_err(
		    "HUB-APPLY",
		    "log record %llu does not open with the storage key: "
		    "applying the log stops there (no rule runs for it or "
		    "any later event; new events are refused once %d "
		    "wait). Restore a backup taken before the damage, or "
		    "pass it over: hubctl pass-damaged --seq %llu --reason "
		    "TEXT (OPERATIONS.md, \"Records that do not open\")",
		    (unsigned long long)damaged, HUB_APPLY_LAG_MAX,
		    (unsigned long long)damaged);
	else if (!damaged)
		atomic_store(&h->apply_damaged, 0);
	if (damaged && next > from)
		err = UG_OK;
	if (held_at)
		*held_at = c.held ? c.held_at : 0;
	/* The newest records purged or erased before they were applied (or
	 * before a rebuild reached them): their sequences are passed too, or
	 * last_applied stays behind last_seq for good. */
	uint64_t end = next - 1;
	if (err == UG_OK && !c.held &&
	    store_log_end_after(h->store, next, &end) == UG_OK && end >= next)
		next = end + 1;
	if (err == UG_OK && c.applied == 0 && next == from) {
		store_derived_abort(&c.txn);
		/* Nothing waits to be applied, so nothing is held up; and the
		 * log read, so a failure said before has ended: said now, not
		 * with the next event, perhaps hours on. */
		apply_works(h, false);
		atomic_store(&h->apply_err, UG_OK);
		return 0;
	}
	long n = finish(&c, err, next - 1, "applying the log", false);
	if (n >= 0)
		apply_works(h, false);
	atomic_store(&h->apply_err, n >= 0 ? UG_OK : (int)c.err);
	return n;
}

long
hub__apply_chunk(hub *h, size_t max, bool hand)
{
	return apply_upto(h, max, hand, false, NULL);
}

/* Timers fired in one transaction. */
#define FIRE_BATCH 256

static long fire_upto(hub *h, int64_t limit, bool *more);

long
hub__replay(hub *h, size_t max)
{
	/* While hubd ran, a timer fell due between the entries received
	 * before and after it, and fired before the later ones were
	 * applied. A replay that applied every entry first and fired after
	 * would judge the timers by later facts and the entries without
	 * what the timers noted (a transition gap's signal missing from a
	 * combined alert, which then comes twice): the timers due before
	 * the next entry came in fire before it, in the order of the hub
	 * clock, as they did then. */
	int64_t held_at = 0;
	long n = apply_upto(h, max, false, true, &held_at);
	if (n != 0 || !held_at)
		return n;
	int64_t limit = held_at - 1 < h->now ? held_at - 1 : h->now;
	n = fire_upto(h, limit, NULL);
	/* Firing failed: applying everything first is still better than
	 * not starting. */
	return n > 0 ? n : hub__apply(h, max);
}

static void fire_due(hub *h);

void
hub__fire_timers(hub *h)
{
	int64_t due;
	if (store_next_timer(h->store, &due) != UG_OK || due > h->now)
		return;
	hub__derived_enter(h);
	fire_due(h);
	hub__derived_leave(h);
}

static void
fire_due(hub *h)
{
	/* A timer judges the facts: every one the log holds (an action just
	 * recorded, an assignment hubctl wrote) is applied first, in the
	 * applier's chunks (LMDB holds a transaction's pages in memory).
	 * While the log cannot be applied (derived/ full), no timer fires:
	 * it would judge facts it has not seen, such as a contact recorded
	 * but not yet applied, and a deadline would be missed that was met. */
	long applied;
	while ((applied = hub__apply(h, 512)) > 0)
		;
	if (applied < 0)
		return;
	/* Every timer due by now, in as many batches as it takes: a frame
	 * is judged right after this, and a consent that ended must have
	 * taken back all its alerts first, not the first batch's alone. */
	bool more = true;
	while (more && fire_upto(h, h->now, &more) > 0)
		;
}

/* Fire the timers due by limit (at most FIRE_BATCH); how many, or -1.
 * *more (when given) says whether due timers may be left for the next
 * batch: it stopped at a move (below), or it was full. */
static long
fire_upto(hub *h, int64_t limit, bool *more)
{
	apply_ctx c = {.h = h};
	if (more)
		*more = false;
	if (store_derived_begin(h->store, &c.txn) != UG_OK)
		return -1;
	store_timer timers[FIRE_BATCH];
	size_t n = 0, fired = 0;
	ug_err err =
	    store_derived_timers_due(c.txn, limit, timers, FIRE_BATCH, &n);
	while (err == UG_OK && fired < n) {
		const store_timer *t = &timers[fired];
		/* A step this batch scheduled (the team lead's, after the
		 * desk's notice) and due before a move names the owner of
		 * its day, as on a running hub: the move waits for it. */
		if (fired > 0 && t->kind == TIMER_REASSIGN &&
		    c.first_scheduled && c.first_scheduled < t->due)
			break;
		err = fire_timer(&c, t);
		fired++;
		/* A batch stores its moves at its end: a timer due after a
		 * move (a consent's end that takes an alert back, with its
		 * notice to whoever has it) must find the alert where the
		 * move put it, so it waits for the next batch. */
		if (t->kind == TIMER_REASSIGN && fired < n &&
		    timers[fired].due > t->due)
			break;
	}
	for (size_t i = fired; err == UG_OK && i < n; i++)
		err = store_derived_timer_put(c.txn, &timers[i]);
	if (more && (fired < n || n == FIRE_BATCH))
		*more = true;
	c.applied = fired;
	long done = finish(&c, err, store_derived_last_applied(h->store),
			   "firing timers", true);
	if (done >= 0)
		apply_works(h, true);
	return done;
}
