/*
 * Rule 11, missed_activation: close follow-up when a Jobcenter activation
 * is not completed (the strategy's words). COUNT missed activations within
 * DAYS days alert the contact person; each is also a combined signal.
 */
#include <string.h>

#include "hub/engine.h"

#define MISSED_KEPT (int)(sizeof((profile *)0)->missed / sizeof(int32_t))

void
rule_missed_activation(const rule_input *in, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__MissedActivation *x = in->env->missed_activation;
	int32_t day = date_or(x->date, in->today);
	if (in->corrects_seq) {
		/* The same miss, corrected: counted once, on the day it now
		 * gives. It raises nothing. */
		const wire_envelope *was = in->corrected;
		if (was &&
		    was->payload_case ==
			UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION) {
			int32_t old = date_or(was->missed_activation->date,
					      PROFILE_NO_MISS);
			bool dated = old != PROFILE_NO_MISS;
			for (int i = MISSED_KEPT; i-- > 0;)
				if (dated && p->missed[i] == old) {
					p->missed[i] = day;
					break;
				}
			/* The miss an alert was raised for, corrected (a
			 * wrong year, say): the quiet days follow it, or a
			 * miss dated ahead by mistake would keep the rule
			 * quiet until long after its correction. Another
			 * activity missed that day moves nothing. */
			bool raising =
			    p->missed_alert_seq
				? corrects_along(in, p->missed_alert_seq)
				: p->missed_alerted_until ==
				      old + rc->missed_activation.days - 1;
			if (dated && raising)
				p->missed_alerted_until =
				    day + rc->missed_activation.days - 1;
			/* A signal's day is its event's date: the
			 * combined rule sees the miss where it now is. */
			for (int i = p->nsignals; i-- > 0;)
				if (dated &&
				    p->signals[i].kind ==
					SIG_MISSED_ACTIVATION &&
				    p->signals[i].day == old) {
					p->signals[i].day = day;
					break;
				}
		}
		return;
	}
	memmove(&p->missed[0], &p->missed[1],
		(MISSED_KEPT - 1) * sizeof p->missed[0]);
	p->missed[MISSED_KEPT - 1] = day;
	bool suppress = false;
	rule_note_signal(in, p, SIG_MISSED_ACTIVATION, day, o, &suppress);
	if (!rc->missed_activation.on.enabled)
		return;
	/* The most misses any window of `days` days holding this one
	 * counts, whatever order the Jobcenter's exports arrived in. */
	int within = 0;
	for (int i = 0; i < MISSED_KEPT; i++) {
		int32_t start = p->missed[i];
		if (start == PROFILE_NO_MISS || start > day ||
		    day - start >= rc->missed_activation.days)
			continue;
		int n = 0;
		for (int j = 0; j < MISSED_KEPT; j++)
			if (p->missed[j] != PROFILE_NO_MISS &&
			    p->missed[j] >= start &&
			    p->missed[j] - start < rc->missed_activation.days)
				n++;
		if (n > within)
			within = n;
	}
	int count = rc->missed_activation.count > MISSED_KEPT
			? MISSED_KEPT
			: rc->missed_activation.count;
	/* Quiet only after an alert: a miss dated 1970-01-01 or before
	 * is on or before the 0 of a person never alerted. */
	bool alerted = p->missed_alert_seq || p->missed_alerted_until;
	if (within < count || (alerted && day <= p->missed_alerted_until))
		return;
	/* Alerted once per window: the next alert needs a window's worth of
	 * new misses after this one. */
	p->missed_alerted_until = day + rc->missed_activation.days - 1;
	p->missed_alert_seq = in->seq;
	if (suppress)
		return;
	draft *d = outcome_alert(o, in, p, R_MISSED_ACTIVATION,
				 rc->missed_activation.on.priority);
	if (!d)
		return;
	char due[11];
	draft_due_in(d, in, 5, due);
	int days = rc->missed_activation.days;
	const char *ds = days == 1 ? "" : "s";
	say(d->title, sizeof d->title,
	    "%d missed activation%s within %d day%s", within,
	    within == 1 ? "" : "s", days, ds);
	/* The caseworker calls the Jobcenter the event names; the agency id
	 * is who sent it (one adapter may serve several Jobcenters). Written
	 * straight into the explanation: the names an agency sends may be
	 * 256 bytes each, and only the explanation's own limit cuts them. */
	bool named = x->jobcenter && x->jobcenter[0];
	bool sent_by = named && strcmp(x->jobcenter, in->agency) != 0;
	bool activity = x->activity && x->activity[0];
	say(d->explanation, sizeof d->explanation,
	    "%s%s%s%s reported a missed activation on %s%s%s%s: %d missed "
	    "within %d day%s. Rule missed_activation: %d missed activation%s "
	    "within %d day%s call%s for close follow-up. Expected of you: "
	    "contact the young person and the Jobcenter about the activation "
	    "by %s.",
	    named ? x->jobcenter : in->agency, sent_by ? " (sent by " : "",
	    sent_by ? in->agency : "", sent_by ? ")" : "", x->date,
	    activity ? " (activity " : "", activity ? x->activity : "",
	    activity ? ")" : "", within, days, ds, count,
	    count == 1 ? "" : "s", days, ds, count == 1 ? "s" : "", due);
	evidence_event(d, in->env, in->agency, x->date);
}
