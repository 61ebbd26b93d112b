/*
 * Education: dropout (rule 1) and its legal clocks, dropout risk (rule 9),
 * enrolment and back on track (rule 7), leaving school, readiness
 * (rule 3). Pure functions over the profile and one event.
 */
#include <stdio.h>
#include <string.h>

#include "hub/engine.h"

static int32_t
day_of(int64_t ms)
{
	return (int32_t)(ms / UG_DAY_MS);
}

/* Whether the 15-17-year-olds' duty applies on a day. */
static bool
clocks_apply(const rules_config *rc, const profile *p, int32_t day, int *age)
{
	bool born = p->birth != UG_NO_BIRTH;
	*age = born ? profile_age_on(p->birth, day) : -1;
	return rc->deadline.on.enabled && born &&
	       *age >= rc->deadline.min_age && *age <= rc->deadline.max_age;
}

int32_t
deadline_contact_due(const rules_config *rc, int32_t known)
{
	return calendar_add_working_days(&rc->cal, known,
					 rc->deadline.contact_working_days);
}

int
deadline_contact_days(const rules_config *rc, int32_t known, int32_t deadline)
{
	int n = 0;
	for (int32_t day = known + 1; day <= deadline; day++)
		n += calendar_is_working_day(&rc->cal, day);
	return n;
}

/* Whether a day counts toward the offer deadline: not a day of the
 * institutions' summer holiday (a school holiday in June, July or
 * August). */
static bool
offer_day_counts(const rules_config *rc, int32_t day)
{
	char iso[11];
	ug_date_format(day, iso);
	int month = (iso[5] - '0') * 10 + iso[6] - '0';
	return !(month >= 6 && month <= 8 &&
		 calendar_in_school_holiday(&rc->cal, day));
}

/* Offer: offer_days calendar days after the recorded contact, not counting
 * days of the institutions' summer holiday. */
int32_t
deadline_offer_due(const rules_config *rc, int32_t contact)
{
	int32_t day = contact;
	for (int n = rc->deadline.offer_days; n > 0;) {
		day++;
		if (offer_day_counts(rc, day))
			n--;
	}
	return day;
}

int
deadline_offer_days(const rules_config *rc, int32_t contact, int32_t deadline)
{
	int n = 0;
	for (int32_t day = contact + 1; day <= deadline; day++)
		n += offer_day_counts(rc, day);
	return n;
}

int
rule_gap_days(const rules_config *rc, int32_t left_day, int32_t last_day)
{
	int n = 0;
	for (int32_t day = left_day + 1; day <= last_day; day++)
		n += !calendar_in_school_holiday(&rc->cal, day);
	return n;
}

/* The day warn working days before a deadline (not before from). */
static int32_t
warn_before(const rules_config *rc, int32_t deadline, int32_t from)
{
	int32_t warn = deadline;
	for (int n = rc->deadline.warn_working_days; n > 0 && warn > from;) {
		warn--;
		if (calendar_is_working_day(&rc->cal, warn))
			n--;
	}
	return warn;
}

/* A legal clock: its warning warn_working_days before the deadline and
 * its miss at the end of the deadline's day, both in the dropout's
 * episode (timers carry the dropout's sequence, whatever started them). */
static void
start_clock(const rule_input *in, const profile *p, int32_t from,
	    int32_t deadline, int warn_kind, int due_kind, outcome *o)
{
	outcome_timer(o,
		      (int64_t)warn_before(in->rc, deadline, from) * UG_DAY_MS,
		      warn_kind);
	outcome_timer(o, (int64_t)(deadline + 1) * UG_DAY_MS, due_kind);
	for (size_t i = o->ntimers >= 2 ? o->ntimers - 2 : 0; i < o->ntimers;
	     i++)
		o->timers[i].seq = p->dropout_seq;
}

/* Contact: contact_working_days working days after the hub learned of
 * the dropout. */
static void
start_contact_clock(const rule_input *in, profile *p, outcome *o)
{
	p->contact_due = deadline_contact_due(in->rc, p->dropout_known);
	p->contact_days = in->rc->deadline.contact_working_days;
	start_clock(in, p, p->dropout_known, p->contact_due,
		    TIMER_CONTACT_WARN, TIMER_CONTACT_DUE, o);
}

void
rule_start_offer_clock(const rule_input *in, profile *p, outcome *o)
{
	p->offer_due = deadline_offer_due(in->rc, p->contact_day);
	p->offer_days = in->rc->deadline.offer_days;
	start_clock(in, p, p->contact_day, p->offer_due, TIMER_OFFER_WARN,
		    TIMER_OFFER_DUE, o);
}

static void
left_education(const rule_input *in, profile *p, int32_t day, outcome *o)
{
	const rules_config *rc = in->rc;
	/* Agencies export on their own schedules: an enrolment that started
	 * after this exit may already be in the log. Then there is no gap to
	 * watch, and the person stays enrolled. */
	if (p->enrolled && p->enrolled_start > day)
		return;
	p->enrolled = false;
	p->left_day = day;
	p->left_seq = in->seq;
	/* The clock runs with the gap's alert switched off too: the gap is
	 * still a signal for the combined rule (rule_gap_timer). */
	int64_t due = rule_gap_due(rc, day);
	p->gap_due = (int32_t)(due / UG_DAY_MS);
	p->gap_days = rc->transition_gap.days;
	outcome_timer(o, due, TIMER_GAP);
}

int64_t
rule_gap_due(const rules_config *rc, int32_t left_day)
{
	/* "No enrolment within N days": an enrolment on day N is in time,
	 * so the gap opens at the end of that day, like every deadline. */
	return (int64_t)(calendar_add_days_outside_holidays(
			     &rc->cal, left_day, rc->transition_gap.days) +
			 1) *
	       UG_DAY_MS;
}

/* Whether the current exit's gap clock has fired. A correction of the
 * exit's day then moves no clock: the gap was alerted (or noted) once,
 * and a second clock would alert it again. */
static bool
gap_opened(const profile *p)
{
	return p->gap_due == GAP_OPENED;
}

/* A correction of the dropout already known: the same fact corrected.
 * Nothing is raised again and no clock restarts; the gap clock follows a
 * corrected date. */
static void
correct_dropout(const rule_input *in, profile *p, int32_t day, outcome *o)
{
	if (p->left_seq == p->dropout_seq && p->left_day != day &&
	    !p->enrolled) {
		bool opened = gap_opened(p);
		p->left_day = day;
		if (opened)
			return;
		/* The timer keeps the first report's sequence, so the
		 * episode stays one; rule_gap_timer fires only the timer
		 * whose due matches the corrected date. */
		int64_t due = rule_gap_due(in->rc, day);
		p->gap_due = (int32_t)(due / UG_DAY_MS);
		p->gap_days = in->rc->transition_gap.days;
		outcome_timer(o, due, TIMER_GAP);
		if (o->ntimers)
			o->timers[o->ntimers - 1].seq = p->dropout_seq;
	}
}

/* Whether the event corrects the one whose id is kept. */
static bool
corrects(const rule_input *in, const uint8_t *kept)
{
	return in->env->supersedes.len == WIRE_EVENT_ID_LEN &&
	       memcmp(in->env->supersedes.data, kept, WIRE_EVENT_ID_LEN) == 0;
}

void
rule_dropout(const rule_input *in, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__Dropout *x = in->env->dropout;
	int32_t day = date_or(x->date, in->today);
	/* A correction of the open dropout, or of a correction of it: the
	 * chain's latest event id is kept. */
	if (in->corrects_seq && p->dropout_open &&
	    (corrects(in, p->dropout_event_id) ||
	     corrects_along(in, p->dropout_seq))) {
		memcpy(p->dropout_event_id, in->env->event_id.data,
		       WIRE_EVENT_ID_LEN);
		p->dropout_day = day;
		correct_dropout(in, p, day, o);
		/* A signal's day is its event's date: the combined rule
		 * sees the dropout where it now is. */
		for (int i = 0; i < p->nsignals; i++)
			if (p->signals[i].kind == SIG_DROPOUT &&
			    p->signals[i].seq == p->dropout_seq)
				p->signals[i].day = day;
		return;
	}
	/* Back in an education that started after this dropout (reported
	 * first): the dropout is still news, but no episode opens. */
	bool back_already = p->enrolled && p->enrolled_start > day;
	int32_t known = day_of(in->received_at ? in->received_at : in->now);
	/* A leaving registered in advance: the municipality cannot learn of
	 * a dropout before it happens, and no contact before the day the
	 * person left counts (rule_action), so the clock starts on that
	 * day. */
	if (known < day)
		known = day;
	/* Agencies export on their own schedules: a dropout dated before
	 * the exit the person is out since (another institution's, reported
	 * late) is not the latest exit, and the gap is still counted from
	 * that one, as for a school leaving (rule_leaving). It is news all
	 * the same: its alert, episode and legal clocks follow. */
	/* Out since an exit: its sequence tells, as left_day 0 is
	 * 1970-01-01. */
	if (p->enrolled || !p->left_seq || day >= p->left_day)
		left_education(in, p, day, o);
	if (!back_already) {
		p->dropout_open = true;
		p->dropout_seq = in->seq;
		p->dropout_day = day;
		p->dropout_known = known;
		p->contact_day = p->offer_day = 0;
		p->contact_due = p->offer_due = 0;
		p->contact_days = p->offer_days = 0;
		memcpy(p->dropout_event_id, in->env->event_id.data,
		       WIRE_EVENT_ID_LEN);
	}
	bool ignored;
	rule_note_signal(in, p, SIG_DROPOUT, day, o, &ignored);
	int age;
	/* With the dropout rule off there is no alert and no legal clock. */
	if (!rc->dropout.enabled)
		return;
	bool clocks = !back_already && clocks_apply(rc, p, day, &age);
	if (clocks)
		start_contact_clock(in, p, o);
	/* A dropout always goes out at once (DOMAIN rule 1), merged or not.
	 * The youth unit's counsellor owns dropout follow-up when there is
	 * no contact person. */
	draft *d = outcome_alert(o, in, p, R_DROPOUT, rc->dropout.priority);
	if (!d)
		return;
	d->to = TO_CONTACT_OR_COUNSELLOR;
	/* From the day the hub learned of this dropout, also when it opened
	 * no episode (an earlier episode's day would be long past). */
	d->due = deadline_contact_due(rc, known);
	char due[11];
	ug_date_format(d->due, due);
	say(d->title, sizeof d->title, "Dropped out of %s at %s",
	    x->programme && x->programme[0] ? x->programme : "a programme",
	    x->institution);
	say(d->explanation, sizeof d->explanation,
	    "%s reported that the young person left %s on %s%s%s. Rule "
	    "dropout: a dropout alerts the contact person at once. ",
	    in->agency, x->institution, x->date,
	    x->reason && x->reason[0] ? ", reason " : "",
	    x->reason ? x->reason : "");
	size_t used = strlen(d->explanation);
	if (clocks)
		snprintf(
		    d->explanation + used, sizeof d->explanation - used,
		    "The young person is %d (the legal deadlines apply "
		    "from %d to %d): the municipality must make contact "
		    "within %d working day%s of learning of the dropout "
		    "and offer a new activity within %d day%s of the "
		    "contact; the hub keeps both clocks. Expected of you: "
		    "make contact by %s and record it (inbox --contact).",
		    age, rc->deadline.min_age, rc->deadline.max_age,
		    rc->deadline.contact_working_days,
		    rc->deadline.contact_working_days == 1 ? "" : "s",
		    rc->deadline.offer_days,
		    rc->deadline.offer_days == 1 ? "" : "s", due);
	else
		snprintf(d->explanation + used, sizeof d->explanation - used,
			 "Expected of you: make contact as soon as possible.");
	ug_utf8_trim_tail(d->explanation);
	evidence_event(d, in->env, in->agency, x->date);
}

void
rule_dropout_risk(const rule_input *in, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__DropoutRisk *x = in->env->dropout_risk;
	int32_t day = date_or(x->date, in->today);
	if (in->corrects_seq) {
		/* The same risk, corrected: said once, but a signal's day is
		 * its event's date. */
		const wire_envelope *was = in->corrected;
		/* INT32_MIN: no day to move (0 is 1970-01-01). */
		int32_t old =
		    was && was->payload_case ==
				UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK
			? date_or(was->dropout_risk->date, INT32_MIN)
			: INT32_MIN;
		for (int i = p->nsignals; old != INT32_MIN && i-- > 0;)
			if (p->signals[i].kind == SIG_DROPOUT_RISK &&
			    p->signals[i].day == old) {
				p->signals[i].day = day;
				break;
			}
		return;
	}
	bool suppress = false;
	rule_note_signal(in, p, SIG_DROPOUT_RISK, day, o, &suppress);
	if (suppress || !rc->dropout_risk.enabled)
		return;
	draft *d =
	    outcome_alert(o, in, p, R_DROPOUT_RISK, rc->dropout_risk.priority);
	if (!d)
		return;
	char due[11];
	draft_due_in(d, in, 5, due);
	say(d->title, sizeof d->title, "Risk of dropping out of %s",
	    x->institution);
	say(d->explanation, sizeof d->explanation,
	    "%s sees an imminent risk that the young person drops out "
	    "(assessed "
	    "%s%s%s). Rule dropout_risk: institutions must tell the "
	    "municipality before the dropout happens. Expected of you: "
	    "contact "
	    "the young person and the institution by %s.",
	    x->institution, x->date,
	    x->reason && x->reason[0] ? ", reason " : "",
	    x->reason ? x->reason : "", due);
	evidence_event(d, in->env, in->agency, x->date);
}

void
rule_enrolment(const rule_input *in, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__Enrolment *x = in->env->enrolment;
	if (x->end && x->end[0]) {
		/* An enrolment that ended: completed means the goal is met;
		 * transferred continues elsewhere; dropped out is reported by
		 * its Dropout event. */
		p->enrolled = false;
		return;
	}
	bool was_out = p->dropout_open || p->left_seq;
	uint64_t episode = p->dropout_open ? p->dropout_seq : p->left_seq;
	int32_t left = p->left_day;
	int32_t start = date_or(x->start, in->today);
	/* Agencies export on their own schedules: the start of the education
	 * the person then left (or of an earlier one) may arrive after the
	 * dropout. Only an education that starts after the day they left
	 * ends the episode, as left_education judges the other order. */
	if (was_out && start <= left)
		return;
	p->enrolled = true;
	p->enrolled_start = start;
	p->dropout_open = false;
	p->left_day = 0;
	p->left_seq = 0;
	if (!was_out || !p->dropout_seq || episode != p->dropout_seq ||
	    !rc->back_on_track.enabled)
		return;
	draft *d = outcome_alert(o, in, p, R_BACK_ON_TRACK,
				 rc->back_on_track.priority);
	if (!d)
		return;
	char left_iso[11];
	ug_date_format(left, left_iso);
	say(d->title, sizeof d->title, "Back on track: enrolled at %s",
	    x->institution);
	say(d->explanation, sizeof d->explanation,
	    "After leaving education on %s the young person %s %s at %s "
	    "on %s (%d %s later). Rule back_on_track: an enrolment after a "
	    "dropout closes the episode and stops its clocks (the transition "
	    "gap, and the legal contact and offer deadlines where they run). "
	    "No action needed beyond your own follow-up.",
	    left_iso,
	    /* Reported before it begins: not yet a fact of the past. */
	    start > in->today ? "is to start" : "started",
	    x->programme && x->programme[0] ? x->programme : "an education",
	    x->institution, x->start, (int)(start - left),
	    start - left == 1 ? "day" : "days");
	evidence_event(d, in->env, in->agency, x->start);
}

void
rule_leaving(const rule_input *in, profile *p, outcome *o)
{
	int32_t day = date_or(in->env->school_leaving->date, in->today);
	/* Schools export on their own schedules: a leaving dated before the
	 * exit the person is out since (a June leaving that arrives after
	 * the September dropout) is not the latest exit, and the gap is
	 * counted from that one. A corrected day of that exit itself is
	 * the exit now. */
	bool corrects_exit =
	    in->corrects_seq &&
	    (in->corrects_seq == p->left_seq || in->corrects_exit);
	if (!corrects_exit && !p->enrolled && p->left_seq && day < p->left_day)
		return;
	if (corrects_exit && !p->enrolled && gap_opened(p)) {
		/* The corrected exit, its gap already opened: told once. */
		p->left_day = day;
		p->left_seq = in->seq;
		return;
	}
	left_education(in, p, day, o);
}

/* The kept not-ready alert whose chain of corrections the event
 * continues (the assessment that raised it, or its latest correction),
 * or -1. */
static int
readiness_corrected(const rule_input *in, const profile *p)
{
	if (!in->corrects_seq)
		return -1;
	for (int i = 0; i < PROFILE_READINESS; i++)
		if (p->readiness[i].seq &&
		    (corrects(in, p->readiness[i].event_id) ||
		     corrects_along(in, p->readiness[i].seq)))
			return i;
	return -1;
}

void
rule_readiness(const rule_input *in, profile *p, outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__ReadinessAssessment *x =
	    in->env->readiness_assessment;
	int kept = readiness_corrected(in, p);
	if (kept >= 0) {
		/* A corrected verdict of a not-ready assessment that raised
		 * an alert (or of a correction of it): ready now takes the
		 * ground from that alert; not ready again is said once. */
		memcpy(p->readiness[kept].event_id, in->env->event_id.data,
		       WIRE_EVENT_ID_LEN);
		/* Not ready in a grade the rule does not watch (grade 7
		 * for 9, say) raises nothing either: the alert's ground is
		 * gone as with ready. */
		bool watched = rc->readiness.grades >> x->grade & 1u;
		if (x->ready || !watched) {
			char why[256];
			if (x->ready)
				say(why, sizeof why,
				    "%s corrected its assessment of "
				    "%s: the pupil is education-ready",
				    in->agency, x->date);
			else
				say(why, sizeof why,
				    "%s corrected its assessment of "
				    "%s: it was made in grade %u, in which "
				    "not being education-ready raises no "
				    "alert",
				    in->agency, x->date, x->grade);
			outcome_withdraw(o, p->readiness[kept].seq,
					 R_READINESS, why);
			/* No warning sign for the combined rule either. */
			rule_forget_signal(p, SIG_NOT_READY,
					   p->readiness[kept].seq);
			memmove(&p->readiness[kept], &p->readiness[kept + 1],
				(size_t)(PROFILE_READINESS - 1 - kept) *
				    sizeof p->readiness[0]);
			memset(&p->readiness[PROFILE_READINESS - 1], 0,
			       sizeof p->readiness[0]);
			return;
		}
		/* Still not ready: said once, but a signal's day is its
		 * event's date. */
		int32_t day = date_or(x->date, in->today);
		for (int i = 0; i < p->nsignals; i++)
			if (p->signals[i].kind == SIG_NOT_READY &&
			    p->signals[i].seq == p->readiness[kept].seq)
				p->signals[i].day = day;
		return;
	}
	/* Any other correction (of a ready verdict, say) is judged as the
	 * assessment it now is. */
	if (x->ready || !(rc->readiness.grades >> x->grade & 1u))
		return;
	bool suppress = false;
	rule_note_signal(in, p, SIG_NOT_READY, date_or(x->date, in->today), o,
			 &suppress);
	if (suppress)
		return;
	/* Kept oldest first; with every slot taken the oldest (years old by
	 * then, a grade 8 assessment) gives way. Kept with the alert
	 * switched off too: the assessment is still a warning sign, and a
	 * correction to ready must be able to take that sign back. */
	int slot = 0;
	while (slot < PROFILE_READINESS && p->readiness[slot].seq)
		slot++;
	if (slot == PROFILE_READINESS) {
		memmove(&p->readiness[0], &p->readiness[1],
			(PROFILE_READINESS - 1) * sizeof p->readiness[0]);
		slot = PROFILE_READINESS - 1;
	}
	p->readiness[slot].seq = in->seq;
	memcpy(p->readiness[slot].event_id, in->env->event_id.data,
	       WIRE_EVENT_ID_LEN);
	if (!rc->readiness.on.enabled)
		return;
	draft *d =
	    outcome_alert(o, in, p, R_READINESS, rc->readiness.on.priority);
	if (!d)
		return;
	/* DOMAIN rule 3: the guidance counsellor (UU-vejleder) if one is
	 * assigned, else the contact person, else the desk. */
	d->to = TO_COUNSELLOR_FIRST;
	char due[11], areas[64] = "";
	draft_due_in(d, in, 10, due);
	const char *names[] = {"academic", "personal", "social"};
	bool flags[] = {x->not_ready_academic, x->not_ready_personal,
			x->not_ready_social};
	for (int i = 0; i < 3; i++)
		if (flags[i]) {
			size_t used = strlen(areas);
			snprintf(areas + used, sizeof areas - used, "%s%s",
				 used ? ", " : "", names[i]);
		}
	/* The configured grades, "8 or 9" with the defaults. */
	char grades[64] = "";
	int ngrades = 0, total = __builtin_popcount(rc->readiness.grades);
	for (int g = 0; g <= 10; g++)
		if (rc->readiness.grades >> g & 1u) {
			size_t used = strlen(grades);
			snprintf(grades + used, sizeof grades - used, "%s%d",
				 !ngrades		? ""
				 : ngrades == total - 1 ? " or "
							: ", ",
				 g);
			ngrades++;
		}
	say(d->title, sizeof d->title, "Not education-ready in grade %u",
	    x->grade);
	say(d->explanation, sizeof d->explanation,
	    "%s assessed the pupil not education-ready in grade %u on "
	    "%s%s%s%s."
	    " Rule readiness: a not-ready assessment in grade %s goes to "
	    "the guidance counsellor. Expected of you: plan the guidance "
	    "effort "
	    "with the pupil and the school by %s.",
	    x->school, x->grade, x->date, areas[0] ? " (areas: " : "", areas,
	    areas[0] ? ")" : "", grades, due);
	evidence_event(d, in->env, in->agency, x->date);
}

void
rule_action(const rule_input *in, profile *p, outcome *o)
{
	const Ungebro__V1__CaseworkerAction *x = in->env->caseworker_action;
	int32_t day = date_or(x->date, in->today);
	if (!p->dropout_open)
		return; /* a fact in the timeline; no clock waits for it */
	/* Done before the dropout: it answers no duty of this episode (a
	 * fact in the timeline all the same). The dropout's day, not the
	 * latest exit: a leaving dated after the dropout does not make a
	 * contact between the two too early. */
	if (day < p->dropout_day)
		return;
	/* With the dropout rule off a dropout has no legal clock, the offer
	 * clock included. The age on the dropout date decided when the
	 * episode opened (a contact clock started then); a correction of the
	 * date across a birthday changes nothing, as it restarts no clock. */
	bool clocks = in->rc->dropout.enabled && in->rc->deadline.on.enabled &&
		      p->contact_due;
	if (x->kind == UNGEBRO__V1__ACTION_KIND__CONTACT_MADE &&
	    !p->contact_day) {
		/* The first recorded contact meets the contact deadline and
		 * starts the offer clock. */
		p->contact_day = day;
		if (clocks)
			rule_start_offer_clock(in, p, o);
	} else if (x->kind == UNGEBRO__V1__ACTION_KIND__OFFER_MADE &&
		   !p->offer_day) {
		p->offer_day = day;
		/* An offer is made in a contact: one recorded without a
		 * contact before it stands for both. */
		if (!p->contact_day)
			p->contact_day = day;
	}
}
