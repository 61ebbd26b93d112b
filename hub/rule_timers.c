/*
 * Fired clocks: the legal deadlines (rule 8) and the transition gap
 * (rule 6). A timer fires once; here it is decided whether its condition
 * still holds, from the profile alone.
 */
#include <string.h>

#include "hub/engine.h"

/* What the desk must do now that a deadline passed unhandled. */
static const char *
what_now(int rule)
{
	switch (rule) {
	case R_CONTACT_MISSED:
		return "Expected of you now: make contact with the young "
		       "person "
		       "today (phone, then a home visit if there is no "
		       "answer), "
		       "record it with inbox --contact, and note in the case "
		       "why "
		       "the deadline was missed";
	case R_OFFER_MISSED:
		return "Expected of you now: offer the young person an "
		       "education, job or other activity within the next "
		       "working days, record it with inbox --offer, and note "
		       "in "
		       "the case why the deadline was missed";
	case R_TREATMENT_MISSED:
		return "Expected of you now: contact the addiction service "
		       "and "
		       "the young person about starting treatment";
	case R_CONTACT_WARN:
		return "Expected of you: make sure the contact is made and "
		       "recorded (inbox --contact) before the deadline";
	default:
		return "Expected of you: make sure an activity is offered and "
		       "recorded (inbox --offer) before the deadline";
	}
}

void
rule_deadline_timer(const rule_input *in, int kind, int64_t due, profile *p,
		    outcome *o)
{
	const rules_config *rc = in->rc;
	bool episode = p->dropout_open && p->dropout_seq == in->seq;
	bool unhandled = false;
	int rule = 0;
	char what[128];
	int32_t timer_day = (int32_t)(due / UG_DAY_MS),
		deadline = timer_day - 1;
	/* A reload leaves scheduled timers at their instants, but judges
	 * them by the rules in force: clocks switched off since fire into
	 * nothing. */
	if (!rc->deadline.on.enabled)
		return;
	int n;
	switch (kind) {
	case TIMER_CONTACT_WARN:
	case TIMER_CONTACT_DUE:
		/* Met by a recorded contact, not by an acknowledgement. */
		unhandled = episode && !p->contact_day;
		rule = kind == TIMER_CONTACT_WARN ? R_CONTACT_WARN
						  : R_CONTACT_MISSED;
		if (kind == TIMER_CONTACT_WARN)
			deadline =
			    p->contact_due
				? p->contact_due
				: deadline_contact_due(rc, p->dropout_known);
		n = p->contact_days ? p->contact_days
		    : p->dropout_known && p->dropout_known < deadline
			? deadline_contact_days(rc, p->dropout_known, deadline)
			: rc->deadline.contact_working_days;
		say(what, sizeof what,
		    "contact the young person (%d working day%s after the "
		    "municipality learned of the dropout)",
		    n, n == 1 ? "" : "s");
		break;
	case TIMER_OFFER_WARN:
	case TIMER_OFFER_DUE:
		/* Met by a recorded offer, or an enrolment (which closes the
		 * episode). */
		unhandled = episode && p->contact_day && !p->offer_day;
		rule =
		    kind == TIMER_OFFER_WARN ? R_OFFER_WARN : R_OFFER_MISSED;
		if (kind == TIMER_OFFER_WARN && p->contact_day)
			deadline =
			    p->offer_due
				? p->offer_due
				: deadline_offer_due(rc, p->contact_day);
		n = p->offer_days ? p->offer_days
		    : p->contact_day && p->contact_day < deadline
			? deadline_offer_days(rc, p->contact_day, deadline)
			: rc->deadline.offer_days;
		say(what, sizeof what,
		    "offer a new activity (%d day%s after the contact was "
		    "made)",
		    n, n == 1 ? "" : "s");
		break;
	case TIMER_TREATMENT_DUE: {
		unhandled = p->referral_open && p->referral_seq == in->seq;
		rule = R_TREATMENT_MISSED;
		int32_t referred =
		    in->env &&
			    in->env->payload_case ==
				UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL
			? date_or(in->env->addiction_referral->date, 0)
			: 0;
		n = referred && referred < deadline
			? (int)(deadline - referred)
			: rc->deadline.treatment_days;
		say(what, sizeof what,
		    "start treatment (%d day%s after the referral)", n,
		    n == 1 ? "" : "s");
		break;
	}
	default:
		return;
	}
	if (!unhandled)
		return;
	bool missed = rule == R_CONTACT_MISSED || rule == R_OFFER_MISSED ||
		      rule == R_TREATMENT_MISSED;
	/* A warning more than a day late (events imported long after the
	 * fact, a hub that was down) warns of nothing: the missed alert
	 * follows on its own. */
	if (!missed && in->now > due + UG_DAY_MS)
		return;
	if (missed)
		o->missed = true;
	/* A missed treatment deadline tells that treatment has not started:
	 * a treatment stage. Without consent in force today whose scope
	 * covers stages it is only counted. */
	if (rule == R_TREATMENT_MISSED && !consent_allows(p, in->now, true))
		return;
	draft *d = outcome_alert(o, in, p, rule,
				 missed ? UNGEBRO__V1__PRIORITY__HIGH
					: rc->deadline.on.priority);
	if (!d)
		return;
	d->to = TO_DESK;
	d->special = rule == R_TREATMENT_MISSED;
	d->due = missed ? in->today : deadline;
	char due_iso[11];
	ug_date_format(deadline, due_iso);
	const char *date = NULL;
	const wire_envelope *env = in->env;
	if (env && env->payload_case == UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT)
		date = env->dropout->date;
	else if (env && env->payload_case ==
			    UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL)
		date = env->addiction_referral->date;
	evidence_event(d, env, in->agency, date);
	say(d->title, sizeof d->title, "%s: the duty to %s",
	    missed ? "Legal deadline missed"
		   : "Legal deadline near, not handled",
	    what);
	/* A dropout or referral reported late (or ahead) is told with both
	 * days: the contact clock runs from the report, the treatment clock
	 * from the referral's date, and the desk must see why the deadline
	 * is where it is. */
	char reported[11] = "", dated[32] = "";
	if (date && in->received_at) {
		ug_date_format((int32_t)(in->received_at / UG_DAY_MS),
			       reported);
		if (strcmp(reported, date) != 0)
			say(dated, sizeof dated, ", dated %s", date);
	}
	say(d->explanation, sizeof d->explanation,
	    "The hub keeps the legal clocks. %s reported the %s on %s%s. %s "
	    "%s. Rule %s: %s. %s.",
	    env ? in->agency : "An agency",
	    rule == R_TREATMENT_MISSED ? "referral" : "dropout",
	    reported[0] ? reported
	    : date	? date
			: "(unknown)",
	    dated,
	    missed ? "The deadline passed on"
		   : "Not recorded as done, and "
		     "the deadline is",
	    due_iso, engine_rule_name(rule),
	    missed ? "a missed deadline goes to the duty desk and is a fact "
		     "in the annual status report"
		   : "a deadline that nears unhandled goes to the duty desk",
	    what_now(rule));
}

void
rule_gap_timer(const rule_input *in, int64_t due, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	/* A corrected date moved the clock: the other timer of the same
	 * episode fires into nothing. The due kept in the profile decides,
	 * not one computed from today's settings, which a reload may have
	 * changed since the timer was scheduled. */
	if (p->enrolled || p->left_seq != in->seq ||
	    due / UG_DAY_MS != p->gap_due)
		return;
	p->gap_due = GAP_OPENED;
	bool suppress = false;
	int32_t day = (int32_t)(due / UG_DAY_MS);
	rule_note_signal(in, p, SIG_GAP, day, o, &suppress);
	if (suppress || !rc->transition_gap.on.enabled)
		return;
	draft *d =
	    outcome_alert(o, in, p, R_GAP, rc->transition_gap.on.priority);
	if (!d)
		return;
	d->due = calendar_add_working_days(&rc->cal, in->today, 5);
	char left[11], due_iso[11];
	ug_date_format(p->left_day, left);
	ug_date_format(d->due, due_iso);
	/* The clock's own length: a reload may have changed the setting
	 * since it was started. */
	int days = p->gap_days ? p->gap_days
			       : rule_gap_days(rc, p->left_day, day - 1);
	if (days <= 0)
		days = rc->transition_gap.days;
	say(d->title, sizeof d->title,
	    "No new education %d day%s after leaving", days,
	    days == 1 ? "" : "s");
	const wire_envelope *env = in->env;
	const char *date = NULL;
	if (env && env->payload_case == UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT)
		date = env->dropout->date;
	else if (env && env->payload_case ==
			    UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING)
		date = env->school_leaving->date;
	evidence_event(d, env, in->agency, date);
	say(d->explanation, sizeof d->explanation,
	    "The young person left school or education on %s (reported by "
	    "%s) and no enrolment has been reported since. Rule "
	    "transition_gap: no new enrolment within %d day%s (school "
	    "holidays "
	    "not counted) raises an alert. "
	    "Expected of you: contact the young person about a new education "
	    "or job by %s.",
	    left, env ? in->agency : "an agency", days, days == 1 ? "" : "s",
	    due_iso);
}
