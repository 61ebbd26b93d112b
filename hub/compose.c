/*
 * Alert composition: the drafts rules fill in, their evidence and texts,
 * and the wire Alert a draft becomes. Nothing here decides anything.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hub/engine.h"

static const char *const rule_names[R_COUNT] = {
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
    [R_MISSED_ACTIVATION] = "missed_activation",
    [R_WITHDRAWN] = "withdrawn",
};

const char *
engine_rule_name(int rule_byte)
{
	if (rule_byte & (R_ESCALATED_DESK | R_ESCALATED_LEAD))
		return "escalation";
	int rule = rule_byte & R_RULE_MASK;
	return rule > 0 && rule < R_COUNT && rule_names[rule]
		   ? rule_names[rule]
		   : "unknown";
}

void
say(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	ug_utf8_trim_tail(buf);
	ug_text_one_line(buf);
}

int32_t
date_or(const char *text, int32_t fallback)
{
	int32_t day;
	return text && ug_date_parse(text, &day) == UG_OK ? day : fallback;
}

bool
corrects_along(const rule_input *in, uint64_t seq)
{
	for (size_t i = 0; seq && i < in->nchain; i++)
		if (in->chain[i] == seq)
			return true;
	return false;
}

void
outcome_init(outcome *o)
{
	o->nalerts = 0;
	o->ntimers = 0;
	o->nwithdraw = 0;
	o->merged = o->withheld = o->missed = o->move_alerts = false;
}

draft *
outcome_alert(outcome *o, const rule_input *in, const profile *p, int rule,
	      int priority)
{
	if (o->nalerts == OUTCOME_ALERTS) {
		log_err("HUB-APPLY",
			"more than %d alerts for seq %llu; rule %s "
			"dropped",
			OUTCOME_ALERTS, (unsigned long long)in->seq,
			engine_rule_name(rule));
		return NULL;
	}
	draft *d = &o->alerts[o->nalerts++];
	d->seq = in->seq;
	d->rule = rule;
	d->priority = priority;
	d->cpr = p && p->cpr[0] ? p->cpr : NULL;
	d->to = TO_CONTACT;
	d->special = false;
	d->title[0] = d->explanation[0] = d->redacted[0] = '\0';
	d->due = 0;
	d->nevidence = 0;
	return d;
}

void
draft_due_in(draft *d, const rule_input *in, int working_days, char due[11])
{
	d->due =
	    calendar_add_working_days(&in->rc->cal, in->today, working_days);
	ug_date_format(d->due, due);
}

void
outcome_timer(outcome *o, int64_t due, int kind)
{
	if (o->ntimers == OUTCOME_TIMERS) {
		log_err("HUB-APPLY",
			"more than %d timers from one event; "
			"timer kind %d dropped",
			OUTCOME_TIMERS, kind);
		return;
	}
	o->timers[o->ntimers].due = due;
	o->timers[o->ntimers].kind = kind;
	o->timers[o->ntimers].seq = 0;
	o->ntimers++;
}

void
outcome_withdraw(outcome *o, uint64_t seq, int rule, const char *why)
{
	if (o->nwithdraw == sizeof o->withdraw / sizeof *o->withdraw)
		return;
	o->withdraw[o->nwithdraw].seq = seq;
	o->withdraw[o->nwithdraw].rule = rule;
	ug_strlcpy(o->withdraw[o->nwithdraw].why, why,
		   sizeof o->withdraw[o->nwithdraw].why);
	o->nwithdraw++;
}

void
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

void
evidence_event_dated(draft *d, const wire_envelope *env, const char *agency)
{
	const char *date = NULL;
	if (!env)
		return;
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		date = env->dropout->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		date = env->dropout_risk->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT:
		date = env->readiness_assessment->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		date = env->addiction_referral->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION:
		date = env->missed_activation->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		date = env->school_leaving->date;
		break;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT:
		date = env->absence_report->period_start;
		break;
	default:
		break;
	}
	size_t at = d->nevidence;
	evidence_event(d, env, agency, date);
	if (d->nevidence == at ||
	    env->payload_case != UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT)
		return;
	const Ungebro__V1__AbsenceReport *a = env->absence_report;
	Ungebro__V1__Evidence *e = &d->evidence[at];
	ug_strlcpy(d->dates[at][1], a->period_end ? a->period_end : "", 11);
	e->period_end = d->dates[at][1];
	e->lessons_absent = a->lessons_absent;
	e->lessons_expected = a->lessons_expected;
}

uint8_t *
compose_alert(const draft *d, const uint8_t *id, const char *recipient,
	      int64_t raised_at, size_t *len)
{
	char due[11] = "";
	if (d->due)
		ug_date_format(d->due, due);
	Ungebro__V1__Evidence *ptrs[ABSENCE_MAX_REPORTS];
	for (size_t i = 0; i < d->nevidence; i++)
		ptrs[i] = (Ungebro__V1__Evidence *)&d->evidence[i];
	wire_alert alert = UNGEBRO__V1__ALERT__INIT;
	alert.alert_id.data = (uint8_t *)id;
	alert.alert_id.len = WIRE_ALERT_ID_LEN;
	alert.rule = (char *)engine_rule_name(id[WIRE_ALERT_ID_LEN - 1]);
	alert.priority = d->priority;
	alert.cpr = (char *)(d->cpr ? d->cpr : "");
	alert.recipient = (char *)recipient;
	alert.raised_at = raised_at;
	alert.title = (char *)d->title;
	alert.explanation = (char *)d->explanation;
	alert.due = due;
	alert.n_evidence = d->nevidence;
	alert.evidence = ptrs;
	*len = wire_packed_size(&alert);
	uint8_t *body = malloc(*len ? *len : 1);
	if (body)
		wire_pack(&alert, body);
	return body;
}
