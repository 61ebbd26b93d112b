/*
 * A contact assignment (DOMAIN: a reassignment moves open alerts). The
 * durable transaction already recorded the assignment; the rule decides
 * that the person's open alerts follow the contact person, now and on the
 * days a dated assignment starts or ends.
 */
#include "hub/engine.h"

void
rule_assignment(const rule_input *in, outcome *o)
{
	const Ungebro__V1__ContactAssignment *x = in->env->contact_assignment;
	/* A guidance counsellor or mentor takes no open alerts. */
	if (wire_assignment_role(x) !=
	    UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT)
		return;
	o->move_alerts = true;
	int32_t from = date_or(x->from, 0), to = date_or(x->to, 0);
	if (from > in->today)
		outcome_timer(o, (int64_t)from * UG_DAY_MS, TIMER_REASSIGN);
	if (to && to >= in->today)
		outcome_timer(o, (int64_t)(to + 1) * UG_DAY_MS,
			      TIMER_REASSIGN);
}
