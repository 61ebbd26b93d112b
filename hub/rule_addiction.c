/*
 * Rule 4, addiction: health data (GDPR art. 9) that reaches the contact
 * person only while the youth's consent allows it, judged on the day of
 * each disclosure, never on the referral's date.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "hub/calendar.h"
#include "hub/engine.h"

/* The scope is a list of words in any case, whatever stands between them:
 * a word that merely holds the letters ("overall") shares nothing. */
static bool
scope_word(const char *scope, const char *word)
{
	size_t len = strlen(word);
	for (const char *p = scope; *p;) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		const char *start = p;
		while (isalnum((unsigned char)*p))
			p++;
		if ((size_t)(p - start) == len &&
		    strncasecmp(start, word, len) == 0)
			return true;
	}
	return false;
}

static bool
scope_has(const char *scope, const char *what)
{
	/* An empty scope or "all" shares everything the event holds. */
	return !scope || !scope[0] || scope_word(scope, "all") ||
	       scope_word(scope, what);
}

/* Why the consent in force today no longer shares the referral. */
static void
why_not_shared(const profile *p, char *why, size_t cap)
{
	char last[11];
	ug_date_format(p->consent_expires, last);
	if (!p->consent)
		say(why, cap,
		    "the young person withdrew the consent to share "
		    "it");
	else if (p->consent_no_referral)
		say(why, cap,
		    "the young person's consent no longer covers the "
		    "referral");
	else if (p->consent_expiring)
		say(why, cap,
		    "the young person's consent to share it ended on "
		    "%s",
		    last);
	else
		say(why, cap,
		    "the young person's consent to share it no longer "
		    "holds");
}

/* Health data shared under a consent that no longer shares it today: an
 * open alert that holds it (the addiction alert with the contact person,
 * a missed treatment deadline at the desk) is taken back, or it would stay
 * readable, reach whoever joins the desk, and follow a new contact
 * person outside the consent. */
static void
take_back(const rule_input *in, profile *p, bool referral_shared,
	  bool stage_shared, outcome *o)
{
	char why[256];
	why_not_shared(p, why, sizeof why);
	/* Every referral kept, not only the latest: an earlier one's alert
	 * may still be open (a second referral before the first alert was
	 * acknowledged, a missed start before the next referral). One never
	 * alerted, or closed already, is passed over (apply.c). */
	for (int i = 0; i < PROFILE_REFERRALS; i++) {
		if (!p->referrals[i].first)
			continue;
		if (referral_shared && p->referrals[i].shared &&
		    !consent_allows(p, in->now, false))
			outcome_withdraw(o, p->referrals[i].shared,
					 R_ADDICTION, why);
		/* Closed without a notice (apply.c). */
		if (stage_shared && !consent_allows(p, in->now, true))
			outcome_withdraw(o, p->referrals[i].first,
					 R_TREATMENT_MISSED, "");
	}
	/* A referral is shared once: consent given again later shares the
	 * referrals that follow it, so one taken back here must not come
	 * back as a signal a combined alert would name. */
	if (referral_shared && !consent_allows(p, in->now, false)) {
		int kept = 0;
		for (int i = 0; i < p->nsignals; i++)
			if (p->signals[i].kind != SIG_ADDICTION)
				p->signals[kept++] = p->signals[i];
		p->nsignals = (uint8_t)kept;
	}
}

/* The kept referral whose chain of corrections the event continues, or
 * -1. */
static int
referral_corrected(const rule_input *in, const profile *p)
{
	if (!in->corrects_seq)
		return -1;
	for (int i = 0; i < PROFILE_REFERRALS; i++)
		if (p->referrals[i].first &&
		    (p->referrals[i].latest == in->corrects_seq ||
		     corrects_along(in, p->referrals[i].first)))
			return i;
	return -1;
}

/* A new referral kept, the oldest giving way when every slot is taken. */
static int
keep_referral(profile *p, uint64_t seq)
{
	int slot = 0;
	while (slot < PROFILE_REFERRALS && p->referrals[slot].first)
		slot++;
	if (slot == PROFILE_REFERRALS) {
		memmove(&p->referrals[0], &p->referrals[1],
			(PROFILE_REFERRALS - 1) * sizeof p->referrals[0]);
		slot = PROFILE_REFERRALS - 1;
	}
	p->referrals[slot].first = p->referrals[slot].latest = seq;
	p->referrals[slot].shared = 0;
	return slot;
}

void
rule_addiction(const rule_input *in, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__AddictionReferral *x = in->env->addiction_referral;
	int32_t day = date_or(x->date, in->today);
	const Ungebro__V1__Consent *consent = x->consent;
	/* The latest statement of consent rules; one that no longer shares
	 * what an open alert holds takes that alert back (take_back). */
	if (consent) {
		/* What the statement before shared, whatever its expiry: one
		 * that ended today leaves its alerts open until the timer of
		 * its end fires, which judges this statement instead. */
		bool referral = p->consent && !p->consent_no_referral,
		     stage = p->consent && p->consent_stage;
		p->consent = consent->given;
		p->consent_expiring = consent->expires && consent->expires[0];
		p->consent_expires = date_or(consent->expires, 0);
		p->consent_stage = scope_has(consent->scope, "stage");
		p->consent_no_referral =
		    !scope_has(consent->scope, "referral");
		take_back(in, p, referral, stage, o);
		/* Shared until a Danish day: taken back at Danish midnight
		 * that ends it. */
		if (p->consent && p->consent_expiring)
			outcome_timer(o,
				      calendar_copenhagen_midnight(
					  p->consent_expires + 1),
				      TIMER_CONSENT_END);
	}
	int slot = -1;
	if (x->stage == UNGEBRO__V1__REFERRAL_STAGE__REFERRED &&
	    (slot = referral_corrected(in, p)) >= 0) {
		/* The same referral, corrected (a consent given, extended or
		 * withdrawn since): its treatment clock runs on as it was, a
		 * treatment start already reported included. */
		p->referrals[slot].latest = in->seq;
		/* A treatment start is judged against the referral as
		 * corrected; its clock stays where it was. */
		if (p->referrals[slot].first == p->referral_seq)
			p->referral_day = day;
		/* A signal's day is its event's date: the combined rule sees
		 * a shared referral where it now is. */
		for (int i = 0; p->referrals[slot].shared && i < p->nsignals;
		     i++)
			if (p->signals[i].kind == SIG_ADDICTION &&
			    p->signals[i].seq == p->referrals[slot].shared)
				p->signals[i].day = day;
	} else if (x->stage == UNGEBRO__V1__REFERRAL_STAGE__REFERRED) {
		p->referral_open = true;
		p->referral_seq = in->seq;
		p->referral_day = day;
		slot = keep_referral(p, in->seq);
		/* The treatment clock runs for the service's own trail whether
		 * or not anything may be shared. */
		if (rc->deadline.on.enabled)
			outcome_timer(
			    o,
			    (int64_t)(day + rc->deadline.treatment_days + 1) *
				UG_DAY_MS,
			    TIMER_TREATMENT_DUE);
	} else if (x->stage ==
		       UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED &&
		   day >= p->referral_day) {
		/* A start dated before the referral is of an earlier course,
		 * exported late: no start since this referral. */
		p->referral_open = false;
	}
	if (x->stage != UNGEBRO__V1__REFERRAL_STAGE__REFERRED)
		return;
	/* Disclosed now, so judged now: consent in force at this instant. */
	if (!consent_allows(p, in->now, false)) {
		/* Nothing about it reaches anyone, not even as a signal: a
		 * combined alert would reveal it. */
		o->withheld = true;
		return;
	}
	/* Shared once: a correction of a referral already shared (its
	 * consent extended, say) is no new referral to tell. */
	if (p->referrals[slot].shared)
		return;
	p->referrals[slot].shared = in->seq;
	bool suppress = false;
	rule_note_signal(in, p, SIG_ADDICTION, day, o, &suppress);
	if (suppress || !rc->addiction.enabled)
		return;
	draft *d =
	    outcome_alert(o, in, p, R_ADDICTION, rc->addiction.priority);
	if (!d)
		return;
	d->special = true;
	char due[11];
	draft_due_in(d, in, 5, due);
	say(d->title, sizeof d->title,
	    "Referred to addiction treatment (shared "
	    "with consent)");
	/* Until when: the statement in force, which may have come on an
	 * earlier event of the service. */
	char until[11] = "";
	if (p->consent_expiring)
		ug_date_format(p->consent_expires, until);
	say(d->explanation, sizeof d->explanation,
	    "%s registered a referral on %s and the young person consented to "
	    "share it with the contact person%s%s. Rule addiction: a referral "
	    "reaches the contact person only with consent in scope and "
	    "unexpired; treatment must start within %d day%s. Expected of "
	    "you: support the young person in starting treatment; follow up "
	    "by %s.",
	    x->service, x->date, until[0] ? " until " : "", until,
	    rc->deadline.treatment_days,
	    rc->deadline.treatment_days == 1 ? "" : "s", due);
	evidence_event(d, in->env, in->agency, x->date);
}

void
rule_consent_timer(const rule_input *in, profile *p, outcome *o)
{
	/* A later statement may have renewed the consent: judge today. The
	 * statement in force says what it shared until its end; taking back
	 * an alert already closed (or never raised) does nothing. */
	take_back(in, p, p->consent && !p->consent_no_referral,
		  p->consent && p->consent_stage, o);
}
