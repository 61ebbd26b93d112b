/*
 * Where alerts go: the recipient a rule asked for, resolved on the day;
 * reassignment of open alerts; escalation of unacknowledged ones. An
 * escalated alert stays with its owner, who remains accountable: the desk
 * and then the team lead get a notice of their own in addition.
 */
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "hub/effects.h"

static bool
resolve_on(hub *h, const uint8_t *person_key, recipient_rule to, int32_t today,
	   char out[STORE_ID_MAX], bool *contact)
{
	*contact = false;
	bool has_contact =
	    person_key &&
	    store_assignment_get(h->store, person_key, today, out) == UG_OK;
	/* An assignment naming the desk's own id names no person: the
	 * consent shares health data with a contact person, never with
	 * every member of the desk. */
	if (has_contact && strcmp(out, h->rules.desk) == 0)
		has_contact = false;
	char counsellor[STORE_ID_MAX] = "";
	bool has_counsellor =
	    person_key &&
	    (to == TO_COUNSELLOR_FIRST || to == TO_CONTACT_OR_COUNSELLOR) &&
	    store_assignment_role(h->store, person_key, STORE_ROLE_GUIDANCE,
				  today, counsellor) == UG_OK;
	switch (to) {
	case TO_COUNSELLOR_FIRST:
		if (has_counsellor) {
			ug_strlcpy(out, counsellor, STORE_ID_MAX);
			return true;
		}
		break;
	case TO_CONTACT_OR_COUNSELLOR:
		if (!has_contact && has_counsellor) {
			ug_strlcpy(out, counsellor, STORE_ID_MAX);
			return true;
		}
		break;
	case TO_DESK:
		ug_strlcpy(out, h->rules.desk, STORE_ID_MAX);
		return true;
	case TO_CONTACT:
		break;
	}
	if (has_contact) {
		*contact = true;
		return true;
	}
	ug_strlcpy(out, h->rules.desk, STORE_ID_MAX);
	return true;
}

bool
routing_resolve(hub *h, const uint8_t *person_key, recipient_rule to,
		char out[STORE_ID_MAX], bool *contact)
{
	return resolve_on(h, person_key, to, hub__today(h), out, contact);
}

typedef struct {
	apply_ctx *c;
	char to[STORE_ID_MAX];
	const uint8_t *person_key;
	bool referral_shared; /* the consent shares referrals today */
	const profile *p;
} move_ctx;

/* Whether the referral a combined alert names ("agency, YYYY-MM-DD") is
 * still a signal: one taken back (rule_addiction.c) is not, and a consent
 * given again since shares only the referrals that follow it. */
static bool
referral_still_signal(const profile *p, const char *named)
{
	for (int i = 0; i < p->nsignals; i++) {
		if (p->signals[i].kind != SIG_ADDICTION)
			continue;
		char day[11], want[80];
		ug_date_format(p->signals[i].day, day);
		snprintf(want, sizeof want, "%s, %s", p->signals[i].agency,
			 day);
		if (strcmp(want, named) == 0)
			return true;
	}
	return false;
}

static ug_err
move_alert(void *ctx, const uint8_t *id)
{
	move_ctx *m = ctx;
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations = 0;
	/* Escalation notices and deadline alerts belong to the desk. */
	if (id[STORE_ALERT_ID_LEN - 1] & (R_ESCALATED_DESK | R_ESCALATED_LEAD))
		return UG_OK;
	/* Taken back earlier in this batch (closed once it is stored): it
	 * is nobody's to take over. */
	for (size_t i = 0; i < m->c->nwithdrawals; i++)
		if (memcmp(m->c->withdrawals[i].id, id, STORE_ALERT_ID_LEN) ==
		    0)
			return UG_OK;
	if (store_alert_state(m->c->h->store, id, &open, recipient,
			      &escalations) != UG_OK ||
	    !open || strcmp(recipient, m->to) == 0 ||
	    (strcmp(recipient, m->c->h->rules.desk) == 0 && escalations))
		return UG_OK;
	/* Only alerts that went to the contact person, or to the desk for
	 * want of one, follow the contact person. */
	int rule = id[STORE_ALERT_ID_LEN - 1];
	if (rule >= R_CONTACT_WARN && rule <= R_TREATMENT_MISSED)
		return UG_OK;
	/* A counsellor, current or replaced since, owns what was addressed
	 * to them: neither a new counsellor nor the contact person takes it
	 * over. Only readiness and dropout alerts go to a counsellor, and a
	 * dropout alert only for want of a contact person: to one who was
	 * the contact person too, it went as such, and so did every other
	 * alert, health data included, which the consent shares with the
	 * contact person alone. */
	store *st = m->c->h->store;
	if ((rule == R_READINESS || rule == R_DROPOUT) &&
	    store_assignment_held(st, m->person_key, STORE_ROLE_GUIDANCE,
				  recipient) &&
	    (rule == R_READINESS ||
	     !store_assignment_held(st, m->person_key, STORE_ROLE_CONTACT,
				    recipient)))
		return UG_OK;
	/* A `withdrawn` notice tells the withdrawn alert's recipient, and
	 * only them, that it is over (it may name an addiction alert). */
	if (rule == R_WITHDRAWN)
		return UG_OK;
	/* Health data was shared with a contact person under the consent;
	 * the desk is outside it. An addiction alert, or a combined alert
	 * that may name one, stays with the caseworker it was shared with
	 * rather than go to the desk. */
	if ((rule == R_ADDICTION || rule == R_COMBINED) &&
	    strcmp(m->to, m->c->h->rules.desk) == 0)
		return UG_OK;
	/* Handing an addiction alert, or a combined alert that names a
	 * referral, to a new contact person discloses the referral to them:
	 * only while the consent still shares it (judged at every
	 * disclosure; the consent's end takes the alert back). */
	if (rule == R_ADDICTION && !m->referral_shared)
		return UG_OK;
	if (rule == R_COMBINED) {
		hub_alert_summary s;
		if (hub__alert_summary(m->c->h, id, &s) != UG_OK ||
		    (s.names_referral &&
		     (!m->referral_shared ||
		      !referral_still_signal(m->p, s.referral))))
			return UG_OK;
	}
	return effects_reroute(m->c, id, m->to);
}

ug_err
routing_move_open_alerts(apply_ctx *c, const uint8_t *person_key, int64_t at)
{
	/* The instant is passed, not set as the hub clock: the applier
	 * thread moves alerts while the loop reads the clock, and a clock
	 * put back after the move would undo the loop's newer reading. */
	int64_t now = c->h->now;
	if (at > 0 && at < now)
		now = at;
	move_ctx m = {.c = c, .person_key = person_key};
	bool contact;
	resolve_on(c->h, person_key, TO_CONTACT, (int32_t)(now / UG_DAY_MS),
		   m.to, &contact);
	profile p;
	ug_err err = effects_profile_load(c, person_key, NULL, &p, NULL);
	if (err != UG_OK)
		return err;
	m.referral_shared = consent_allows(&p, now, false);
	m.p = &p;
	err = store_person_alerts(c->h->store, person_key, move_alert, &m);
	/* The person's list is read outside this batch's transaction, so it
	 * lacks the alerts the batch raised. A new one went to the contact
	 * of the day already, but one raised again (a replay, a rebuild of
	 * derived/) is kept as stored, with the recipient it had: it must
	 * follow an assignment the batch applies after it too, or a rebuild
	 * would leave it with the old contact person for good. move_alert
	 * reads the stored state, so a new one (not stored yet) is passed
	 * over. */
	for (size_t i = 0; err == UG_OK && i < c->nalerts; i++)
		if (c->alerts[i].has_person &&
		    memcmp(c->alerts[i].person_key, person_key,
			   UG_PERSON_KEY_LEN) == 0)
			err = move_alert(&m, c->alerts[i].alert.id);
	return err;
}

enum { ALERT_NONE, ALERT_OPEN, ALERT_CLOSED };

static int
alert_status(hub *h, const uint8_t *id)
{
	bool open = false;
	char recipient[STORE_ID_MAX];
	uint32_t escalations;
	if (store_alert_state(h->store, id, &open, recipient, &escalations) !=
	    UG_OK)
		return ALERT_NONE;
	return open ? ALERT_OPEN : ALERT_CLOSED;
}

static ug_err
read_summary(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	     uint32_t deliveries)
{
	(void)id;
	(void)deliveries;
	hub_alert_summary *o = ctx;
	wire_alert *a =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (!a)
		return UG_OK;
	ug_strlcpy(o->title, a->title ? a->title : "", sizeof o->title);
	ug_strlcpy(o->cpr, a->cpr ? a->cpr : "", sizeof o->cpr);
	ug_strlcpy(o->due, a->due ? a->due : "", sizeof o->due);
	o->raised_at = a->raised_at;
	/* The combined rule's name for the signal (rule_signals.c). */
	const char *named =
	    a->explanation ? strstr(a->explanation, "addiction referral (")
			   : NULL;
	/* One that no longer names it (the consent ended) named it once. */
	o->names_referral =
	    named != NULL ||
	    (a->explanation && strstr(a->explanation, HUB_REFERRAL_UNNAMED));
	o->referral[0] = '\0';
	if (named) {
		named += strlen("addiction referral (");
		size_t n = strcspn(named, ")");
		if (n < sizeof o->referral) {
			memcpy(o->referral, named, n);
			o->referral[n] = '\0';
		}
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, a);
	return UG_OK;
}

ug_err
hub__alert_summary(hub *h, const uint8_t *id, hub_alert_summary *out)
{
	memset(out, 0, sizeof *out);
	bool open = false;
	ug_err err = store_alert_get(h->store, id, read_summary, out, &open);
	out->open = open;
	return err;
}

/* Health data (GDPR art. 9): outside the consent a notice says only that
 * an alert the reader may not see is overdue with its owner. */
static bool
special_rule(int rule)
{
	return rule == R_ADDICTION || rule == R_TREATMENT_MISSED;
}

ug_err
routing_escalate(apply_ctx *c, const store_timer *t)
{
	hub *h = c->h;
	int rule = (t->kind - TIMER_ACK) % 20;
	int priority = (t->kind - TIMER_ACK) / 20;
	uint8_t id[STORE_ALERT_ID_LEN];
	ug_put_be64(id, t->seq);
	id[8] = (uint8_t)rule;
	bool open = false;
	char owner[STORE_ID_MAX], lead[STORE_ID_MAX] = "";
	uint32_t escalations = 0;
	if (store_alert_state(h->store, id, &open, owner, &escalations) !=
		UG_OK ||
	    !open)
		return UG_OK;
	/* Timers fire in batches stored at the end: a reassignment that took
	 * effect earlier in this one (the clock passed its first day and this
	 * step at once) has moved the alert already, to whom the notice
	 * names and whose desk it may be. */
	for (size_t i = c->nreroutes; i-- > 0;)
		if (memcmp(c->reroutes[i].id, id, STORE_ALERT_ID_LEN) == 0) {
			ug_strlcpy(owner, c->reroutes[i].recipient,
				   sizeof owner);
			break;
		}
	/* The step is taken as on its day, as a running hub took it: a
	 * hub that was down (or whose clock jumped) over it judges the
	 * consent and the team lead of that day, as the moves among the
	 * timers are made on theirs (RULES.md §6, §8). */
	int64_t at = t->due > 0 && t->due < h->now ? t->due : h->now;
	if (special_rule(rule)) {
		/* Consent judged at this disclosure too: once it no longer
		 * allows sharing, nothing about the alert travels further. */
		profile p;
		ug_err err =
		    effects_profile_load(c, t->person_key, NULL, &p, NULL);
		if (err != UG_OK)
			return err;
		if (!consent_allows(&p, at, rule == R_TREATMENT_MISSED))
			return UG_OK;
	}
	if (h->rules.team_lead[0])
		ug_strlcpy(lead, h->rules.team_lead, sizeof lead);
	else
		store_desk_lead(h->store, h->rules.desk,
				(int32_t)(at / UG_DAY_MS), lead);
	uint8_t desk_id[STORE_ALERT_ID_LEN], lead_id[STORE_ALERT_ID_LEN];
	memcpy(desk_id, id, sizeof id);
	memcpy(lead_id, id, sizeof id);
	desk_id[8] |= R_ESCALATED_DESK;
	lead_id[8] |= R_ESCALATED_LEAD;
	bool at_desk = strcmp(owner, h->rules.desk) == 0;
	const char *to = NULL;
	int step = 0;
	int desk_notice = alert_status(h, desk_id);
	if (!at_desk && desk_notice == ALERT_NONE) {
		to = h->rules.desk;
		step = R_ESCALATED_DESK;
	} else if (desk_notice != ALERT_CLOSED && lead[0] &&
		   alert_status(h, lead_id) == ALERT_NONE) {
		/* A desk that acknowledged its notice has taken it on: the
		 * team lead is not needed. */
		to = lead;
		step = R_ESCALATED_LEAD;
	}
	if (to && step == R_ESCALATED_LEAD && !at_desk &&
	    strcmp(to, owner) == 0) {
		/* The team lead owns the alert: a notice would tell them of
		 * their own alert, and acknowledging it would not acknowledge
		 * the alert. The desk's notice is the step above them. */
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(id, STORE_ALERT_ID_LEN, hexid);
		log_notice(
		    "HUB-ESCALATE",
		    "alert %s not acknowledged in time; no notice to the "
		    "team lead %s, who owns it: the desk's notice stands",
		    hexid, owner);
		return UG_OK;
	}
	if (!to)
		return UG_OK; /* every step taken, or nobody above: it stays */
	hub_alert_summary o;
	hub__alert_summary(h, id, &o);
	draft d;
	memset(&d, 0, sizeof d);
	d.seq = t->seq;
	d.rule = rule | step;
	d.priority = priority;
	d.to = TO_DESK;
	d.due = hub__today(h);
	int hours = h->rules.ack_hours[priority];
	char hexid[2 * STORE_ALERT_ID_LEN + 1];
	ug_hex(id, STORE_ALERT_ID_LEN, hexid);
	if (special_rule(rule)) {
		say(d.title, sizeof d.title,
		    "An alert you may not read is "
		    "overdue with %s",
		    owner);
		say(d.explanation, sizeof d.explanation,
		    "Alert %s, addressed to %s, has not been acknowledged "
		    "within %d office hour%s. It holds data that only its "
		    "recipient may see, so its content is not shown here. "
		    "Expected of you: make sure %s handles it today.",
		    hexid, owner, hours, hours == 1 ? "" : "s", owner);
	} else {
		d.cpr = o.cpr[0] ? o.cpr : NULL;
		say(d.title, sizeof d.title, "Overdue with %s: %s", owner,
		    o.title[0] ? o.title : engine_rule_name(rule));
		say(d.explanation, sizeof d.explanation,
		    "Alert %s (%s), addressed to %s%s%s, has not been "
		    "acknowledged within %d office hour%s; it stays with %s, "
		    "who remains responsible. Expected of you: make sure it "
		    "is "
		    "handled today, by %s or by the desk.",
		    hexid, engine_rule_name(rule), owner,
		    o.due[0] ? ", due " : "", o.due, hours,
		    hours == 1 ? "" : "s", owner, owner);
	}
	ug_err err = effects_emit(c, &d, t->person_key, to);
	if (err == UG_OK) {
		c->alerts[c->nalerts - 1].escalation = true;
		if (step == R_ESCALATED_DESK && priority >= 1 &&
		    priority <= 4 && hours > 0)
			/* The team lead's step, after another period; the
			 * lead is the one in force on that day, who may be
			 * named only by then. */
			err = effects_schedule(
			    c,
			    calendar_add_office_hours(&h->rules.cal,
						      &h->rules.office, t->due,
						      hours),
			    t->seq, t->kind, t->person_key);
	}
	return err;
}

void
hub__close_notices(hub *h, const uint8_t *id, char (*closed)[STORE_ID_MAX],
		   size_t *n)
{
	if (n)
		*n = 0;
	if (id[STORE_ALERT_ID_LEN - 1] & ~R_RULE_MASK)
		return; /* a notice itself */
	static const uint8_t steps[] = {R_ESCALATED_DESK, R_ESCALATED_LEAD};
	for (size_t i = 0; i < sizeof steps; i++) {
		uint8_t notice[STORE_ALERT_ID_LEN];
		memcpy(notice, id, sizeof notice);
		notice[STORE_ALERT_ID_LEN - 1] |= steps[i];
		bool open = false, found = false;
		char to[STORE_ID_MAX];
		uint32_t escalations;
		if (store_alert_state(h->store, notice, &open, to,
				      &escalations) == UG_OK &&
		    open &&
		    store_alerts_ack(
			h->store, to,
			(const uint8_t(*)[STORE_ALERT_ID_LEN])notice, 1,
			&found) != UG_OK)
			log_err("HUB-ALERT-ACK",
				"escalation notice not closed");
		else if (found && closed && n)
			ug_strlcpy(closed[(*n)++], to, STORE_ID_MAX);
	}
}

uint32_t
engine_escalation_notices(store *s, const uint8_t *id)
{
	static const uint8_t steps[] = {R_ESCALATED_DESK, R_ESCALATED_LEAD};
	uint32_t n = 0;
	/* A notice shares its alert's id but for these bits, so its own
	 * "notices" would be itself and its sibling: it escalates nothing. */
	if (id[8] & (R_ESCALATED_DESK | R_ESCALATED_LEAD))
		return 0;
	for (size_t i = 0; i < sizeof steps; i++) {
		uint8_t notice[STORE_ALERT_ID_LEN];
		memcpy(notice, id, sizeof notice);
		notice[8] = (uint8_t)((id[8] & R_RULE_MASK) | steps[i]);
		bool open;
		char recipient[STORE_ID_MAX];
		uint32_t escalations;
		if (store_alert_state(s, notice, &open, recipient,
				      &escalations) == UG_OK)
			n++;
	}
	return n;
}
