/*
 * Rule 5, combined: signals of different kinds within a window become one
 * alert that names each of them, and later signals merge into it.
 */
#include <stdio.h>
#include <string.h>

#include "hub/engine.h"

static const char *const signal_names[SIG_KINDS] = {
	"", "absence", "dropout", "dropout risk", "not education-ready",
	"addiction referral", "missed activation", "transition gap",
};

/* Keep the signals within the window, make room, add this one. */
static void
remember(const rule_input *in, profile *p, int kind, int32_t day)
{
	int32_t horizon = day - in->rc->combined.window_days;
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
	p->signals[p->nsignals].seq = in->seq;
	ug_strlcpy(p->signals[p->nsignals].agency,
	           in->agency ? in->agency : "hub",
	           sizeof p->signals[p->nsignals].agency);
	p->nsignals++;
}

/* "absence (school-nord, 2026-09-04), dropout risk (college-x,
 * 2026-09-20)": the latest signal of each kind, in the order the kinds
 * first appeared. */
static void
list_signals(const profile *p, bool health, char *out, size_t cap)
{
	out[0] = '\0';
	bool listed[SIG_KINDS] = {false};
	for (int i = 0; i < p->nsignals; i++) {
		int kind = p->signals[i].kind;
		if (kind <= 0 || kind >= SIG_KINDS || listed[kind] ||
		    (kind == SIG_ADDICTION && !health))
			continue;
		listed[kind] = true;
		int latest = i;
		for (int j = i + 1; j < p->nsignals; j++)
			if (p->signals[j].kind == kind)
				latest = j;
		char day[11];
		ug_date_format(p->signals[latest].day, day);
		size_t used = strlen(out);
		snprintf(out + used, cap - used, "%s%s (%s, %s)",
		         used ? ", " : "", signal_names[kind],
		         p->signals[latest].agency, day);
	}
}

void
rule_note_signal(const rule_input *in, profile *p, int kind, int32_t day,
                 outcome *o, bool *suppress)
{
	const rules_config *rc = in->rc;
	*suppress = false;
	remember(in, p, kind, day);
	if (!rc->combined.on.enabled)
		return;
	if (p->combined_until >= day) {
		*suppress = true;
		o->merged = true;
		return;
	}
	bool seen[SIG_KINDS] = {false};
	int distinct = 0;
	for (int i = 0; i < p->nsignals; i++)
		if (p->signals[i].kind < SIG_KINDS &&
		    !seen[p->signals[i].kind]) {
			seen[p->signals[i].kind] = true;
			distinct++;
		}
	if (distinct < rc->combined.min_signals)
		return;
	draft *d = outcome_alert(o, in, p, R_COMBINED,
	                         rc->combined.on.priority);
	if (!d)
		return;
	*suppress = true;
	p->combined_until = day + rc->combined.window_days;
	p->combined_seq = in->seq;
	char list[640];
	list_signals(p, true, list, sizeof list);
	char due[11];
	draft_due_in(d, in, 5, due);
	say(d->title, sizeof d->title, "%d warning signs within %d days: "
	    "cross-disciplinary meeting proposed", distinct,
	    rc->combined.window_days);
	say(d->explanation, sizeof d->explanation,
	    "Signals for this young person: %s. Rule combined: %d or more "
	    "different signals within %d days raise one combined alert "
	    "instead of separate ones; further signals within the window are "
	    "merged into it. Expected of you: call a cross-disciplinary "
	    "meeting with the agencies involved by %s.",
	    list, rc->combined.min_signals, rc->combined.window_days, due);
	evidence_event(d, in->env, in->agency, NULL);
	if (seen[SIG_ADDICTION]) {
		/* Health data: named only to the contact person the consent
		 * names; anyone else reads the other signals and a count. */
		d->special = true;
		list_signals(p, false, list, sizeof list);
		say(d->redacted, sizeof d->redacted,
		    "Signals for this young person: %s, and one more that only "
		    "the young person's contact person may see. Rule combined: "
		    "%d or more different signals within %d days raise one "
		    "combined alert. Expected of you: assign a contact person "
		    "and call a cross-disciplinary meeting with the agencies "
		    "involved by %s.",
		    list, rc->combined.min_signals, rc->combined.window_days,
		    due);
	}
}
