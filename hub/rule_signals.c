/*
 * Rule 5, combined: signals of different kinds within a window become one
 * alert that names each of them, and later signals merge into it.
 */
#include <stdio.h>
#include <string.h>

#include "hub/engine.h"

static const char *const signal_names[SIG_KINDS] = {
    "",
    "absence",
    "dropout",
    "dropout risk",
    "not education-ready",
    "addiction referral",
    "missed activation",
    "transition gap",
};

/* Make room, add this one. Signals are not dropped for their dates: a
 * signal dated months after the others may arrive before a late one
 * that still combines with them (only the windows decide, whatever the
 * order of arrival); the oldest noted gives way when the profile is
 * full. */
static void
remember(const rule_input *in, profile *p, int kind, int32_t day)
{
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

/* Whether a kept signal may count and be named today: a referral only
 * while the consent still shares referrals. Consent is judged at this
 * disclosure, not when the referral came: one withdrawn or expired since
 * is no signal, as if it had never been shared. */
static bool
usable(const rule_input *in, const profile *p, int i)
{
	return p->signals[i].kind != SIG_ADDICTION ||
	       consent_allows(p, in->now, false);
}

/* Different kinds among the usable signals dated from..to. */
static int
count_kinds(const rule_input *in, const profile *p, int32_t from, int32_t to,
	    bool *seen)
{
	int distinct = 0;
	for (int i = 0; i < p->nsignals; i++)
		if (p->signals[i].kind < SIG_KINDS &&
		    p->signals[i].day >= from && p->signals[i].day <= to &&
		    usable(in, p, i) && !seen[p->signals[i].kind]) {
			seen[p->signals[i].kind] = true;
			distinct++;
		}
	return distinct;
}

/* The first day of the window_days-long span holding this signal's day
 * with the most different kinds. Signals are dated by their events and
 * agencies export on their own schedules: a late report may be older
 * than signals already kept, and only signals within one window of each
 * other combine. Such a span can start at the earliest signal in it. Of
 * spans with as many kinds the earliest wins: for signals that arrive in
 * date order, the last window_days up to this one. */
static int32_t
best_window(const rule_input *in, const profile *p, int32_t day, int *distinct)
{
	int window = in->rc->combined.window_days;
	int32_t best = day;
	*distinct = 0;
	for (int i = 0; i < p->nsignals; i++) {
		int32_t from = p->signals[i].day;
		if (from > day || from <= day - window)
			continue;
		bool seen[SIG_KINDS] = {false};
		int n = count_kinds(in, p, from, from + window - 1, seen);
		if (n > *distinct || (n == *distinct && from < best)) {
			*distinct = n;
			best = from;
		}
	}
	return best;
}

/* "absence (school-nord, 2026-09-04), dropout risk (college-x,
 * 2026-09-20)": the latest signal of each kind dated from..to, in the
 * order the kinds first appeared. */
static void
list_signals(const rule_input *in, const profile *p, int32_t from, int32_t to,
	     bool health, char *out, size_t cap)
{
	out[0] = '\0';
	bool listed[SIG_KINDS] = {false};
	for (int i = 0; i < p->nsignals; i++) {
		int kind = p->signals[i].kind;
		if (kind <= 0 || kind >= SIG_KINDS || listed[kind] ||
		    p->signals[i].day < from || p->signals[i].day > to ||
		    !usable(in, p, i) || (kind == SIG_ADDICTION && !health))
			continue;
		listed[kind] = true;
		int latest = i;
		for (int j = i + 1; j < p->nsignals; j++)
			if (p->signals[j].kind == kind &&
			    p->signals[j].day >= from &&
			    p->signals[j].day <= to)
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
rule_forget_signal(profile *p, int kind, uint64_t seq)
{
	int kept = 0;
	for (int i = 0; i < p->nsignals; i++)
		if (p->signals[i].kind != kind || p->signals[i].seq != seq)
			p->signals[kept++] = p->signals[i];
	if (kept < p->nsignals)
		memset(&p->signals[kept], 0,
		       (size_t)(p->nsignals - kept) * sizeof p->signals[0]);
	p->nsignals = (uint8_t)kept;
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
	/* The merge window: window_days after the combined alert's day,
	 * and a late report dated up to window_days before it, both end
	 * days included (it would have been one of its signals; counted
	 * like the days after, else a report of the first day before would
	 * tip a second combined alert over the same signals). One dated
	 * earlier still has nothing to do with it and is judged on its own.
	 * Only once a combined alert was raised: the empty window 0..0 is
	 * 1970-01-01, a day like any other.
	 */
	if (p->combined_seq && p->combined_until >= day &&
	    day >= p->combined_from) {
		*suppress = true;
		o->merged = true;
		return;
	}
	int distinct;
	int32_t from = best_window(in, p, day, &distinct);
	int32_t to = from + rc->combined.window_days - 1;
	bool seen[SIG_KINDS] = {false};
	count_kinds(in, p, from, to, seen);
	if (distinct < rc->combined.min_signals)
		return;
	draft *d =
	    outcome_alert(o, in, p, R_COMBINED, rc->combined.on.priority);
	if (!d)
		return;
	*suppress = true;
	/* A late report may tip a combined alert of an earlier window: the
	 * merge window of a later one still runs, else the signals after it
	 * would raise yet another combined alert. */
	if (day + rc->combined.window_days > p->combined_until) {
		p->combined_until = day + rc->combined.window_days;
		p->combined_from = day - rc->combined.window_days;
		p->combined_seq = in->seq;
	}
	/* Seven kinds, each with an agency id of up to 63 characters. */
	char list[768];
	list_signals(in, p, from, to, true, list, sizeof list);
	char due[11];
	draft_due_in(d, in, 5, due);
	say(d->title, sizeof d->title,
	    "%d warning signs within %d day%s: "
	    "cross-disciplinary meeting proposed",
	    distinct, rc->combined.window_days,
	    rc->combined.window_days == 1 ? "" : "s");
	say(d->explanation, sizeof d->explanation,
	    "Signals for this young person: %s. Rule combined: %d or more "
	    "different signals within %d day%s raise one combined alert "
	    "instead of separate ones; further signals within the window are "
	    "merged into it. Expected of you: call a cross-disciplinary "
	    "meeting with the agencies involved by %s.",
	    list, rc->combined.min_signals, rc->combined.window_days,
	    rc->combined.window_days == 1 ? "" : "s", due);
	evidence_event_dated(d, in->env, in->agency);
	if (seen[SIG_ADDICTION]) {
		/* Health data: named only to the contact person the consent
		 * names; anyone else reads the other signals and a count. */
		d->special = true;
		list_signals(in, p, from, to, false, list, sizeof list);
		say(d->redacted, sizeof d->redacted,
		    "Signals for this young person: %s, and one more that "
		    "only "
		    "the young person's contact person may see. Rule "
		    "combined: "
		    "%d or more different signals within %d day%s raise one "
		    "combined alert. Expected of you: assign a contact person "
		    "and call a cross-disciplinary meeting with the agencies "
		    "involved by %s.",
		    list, rc->combined.min_signals, rc->combined.window_days,
		    rc->combined.window_days == 1 ? "" : "s", due);
	}
}
