/*
 * Rule 2, absence: the rolling rate and the quarter's unlawful absence
 * (hub/rules.c computes both) turned into alerts.
 */
#include <string.h>

#include "hub/engine.h"

/* A rate in tenths of a percent, half up, but never rounded onto the
 * threshold pct from the side the exact rate is on: 199 of 2000 (9.95 %)
 * under 10 % shows 9.9, and, when only a rate above pct counts, 1001 of
 * 10000 shows 10.1. A figure must not contradict the verdict beside it. */
static unsigned
rate_tenths(uint32_t part, uint32_t whole, int pct, bool strict)
{
	if (whole == 0)
		return 0;
	unsigned tenths = (unsigned)(((uint64_t)part * 2000 / whole + 1) / 2);
	uint64_t exact = (uint64_t)part * 100, at = (uint64_t)pct * whole;
	unsigned level = (unsigned)pct * 10;
	if (exact < at && tenths >= level)
		tenths = level - 1;
	else if (strict && exact > at && tenths <= level)
		tenths = level + 1;
	return tenths;
}

static void
raise_rolling(const rule_input *in, const profile *p, const absence_state *st,
	      const absence_verdict *v, outcome *o)
{
	const rules_config *rc = in->rc;
	draft *d = outcome_alert(o, in, p, R_ROLLING, rc->rolling.on.priority);
	if (!d)
		return;
	char start[11], end[11], due[11];
	ug_date_format(v->first_day, start);
	ug_date_format(v->window_end, end);
	draft_due_in(d, in, 5, due);
	unsigned tenths =
	    rate_tenths(v->absent, v->expected, rc->rolling.threshold_pct,
			rc->rolling.strictly_above);
	say(d->title, sizeof d->title,
	    "Absence %u.%u %% over the last %d school day%s (threshold %d %%)",
	    tenths / 10, tenths % 10, rc->rolling.window_days,
	    rc->rolling.window_days == 1 ? "" : "s",
	    rc->rolling.threshold_pct);
	say(d->explanation, sizeof d->explanation,
	    "From %s to %s (%d school day%s reported) the school reported %u "
	    "of %u expected lessons absent (%u.%u %%) in %u report%s. Rule "
	    "absence.rolling: absence %s %d %% of expected lessons over "
	    "the last %d school day%s raises one alert per episode; it stays "
	    "quiet until the rate falls back and rises again. Expected of "
	    "you: "
	    "contact the young person and the school by %s.",
	    start, end, v->covered_days, v->covered_days == 1 ? "" : "s",
	    v->absent, v->expected, tenths / 10, tenths % 10, v->nused,
	    v->nused == 1 ? "" : "s",
	    rc->rolling.strictly_above ? "above" : "at or above",
	    rc->rolling.threshold_pct, rc->rolling.window_days,
	    rc->rolling.window_days == 1 ? "" : "s", due);
	/* The evidence in the order of the school days it covers, as a
	 * reader checks it; the state keeps its rows in no such order. */
	uint16_t order[ABSENCE_MAX_REPORTS];
	uint16_t n =
	    v->nused < ABSENCE_MAX_REPORTS ? v->nused : ABSENCE_MAX_REPORTS;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t at = i;
		while (at > 0 && st->reports[order[at - 1]].start >
				     st->reports[v->used[i]].start) {
			order[at] = order[at - 1];
			at--;
		}
		order[at] = v->used[i];
	}
	for (uint16_t i = 0; i < n; i++) {
		const absence_report *r = &st->reports[order[i]];
		Ungebro__V1__Evidence *e = &d->evidence[d->nevidence];
		ungebro__v1__evidence__init(e);
		e->event_id.data = (uint8_t *)r->event_id;
		e->event_id.len = WIRE_EVENT_ID_LEN;
		e->agency = (char *)in->agency;
		e->type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
		ug_date_format(r->start, d->dates[d->nevidence][0]);
		ug_date_format(r->end, d->dates[d->nevidence][1]);
		e->period_start = d->dates[d->nevidence][0];
		e->period_end = d->dates[d->nevidence][1];
		e->lessons_absent = r->absent;
		e->lessons_expected = r->expected;
		d->nevidence++;
	}
}

static void
raise_quarter(const rule_input *in, const profile *p, const quarter_verdict *v,
	      outcome *o)
{
	const rules_config *rc = in->rc;
	bool notify = v->notify;
	draft *d = outcome_alert(
	    o, in, p, notify ? R_QUARTER_NOTIFY : R_QUARTER_WARN,
	    notify ? rc->quarter.notify_priority : rc->quarter.on.priority);
	if (!d)
		return;
	char start[11], end[11], due[11];
	ug_date_format(v->quarter_start, start);
	ug_date_format(v->quarter_end, end);
	draft_due_in(d, in, notify ? 2 : 5, due);
	/* Under the notify level a warning never shows it. */
	unsigned tenths =
	    rate_tenths(v->absent, v->expected, rc->quarter.notify_pct, false);
	int level = notify ? rc->quarter.notify_pct : rc->quarter.warn_pct;
	/* A report spanning the boundary can reach a level in the quarter
	 * before its own (hub/rules.c apportions it). */
	int32_t report_end = 0;
	bool earlier = ug_date_parse(in->env->absence_report->period_end,
				     &report_end) == UG_OK &&
		       v->quarter_end < report_end;
	say(d->title, sizeof d->title,
	    "Unlawful absence %u.%u %% %s "
	    "(level %d %%)",
	    tenths / 10, tenths % 10,
	    earlier ? "last quarter" : "this quarter", level);
	say(d->explanation, sizeof d->explanation,
	    "In the quarter %s to %s the school reported %u of %u expected "
	    "lessons as unlawful absence (%u.%u %%, %d school day%s "
	    "reported). "
	    "Rule absence.quarter: at %d %% the school warns the parents, at "
	    "%d %% it must notify the municipality, which may stop the child "
	    "benefit. Expected of you: %s by %s.",
	    start, end, v->absent, v->expected, tenths / 10, tenths % 10,
	    v->covered_days, v->covered_days == 1 ? "" : "s",
	    rc->quarter.warn_pct, rc->quarter.notify_pct,
	    notify ? "take up the school's notification and decide on the "
		     "child benefit"
		   : "check with the school that the parents were warned",
	    due);
	/* The report that reached the level, with its own period and
	 * figures: a reader checks the alert against the school's row. */
	evidence_event_dated(d, in->env, in->agency);
}

static uint16_t
lessons(uint32_t n)
{
	return (uint16_t)(n > 65535 ? 65535 : n);
}

bool
absence_row(const Ungebro__V1__AbsenceReport *a, absence_report *row)
{
	*row = (absence_report){
	    .absent = lessons(a->lessons_absent),
	    .expected = lessons(a->lessons_expected),
	    .kind = (uint8_t)a->kind,
	    .school = absence_school_key(a->school),
	};
	return ug_date_parse(a->period_start, &row->start) == UG_OK &&
	       ug_date_parse(a->period_end, &row->end) == UG_OK;
}

void
rule_absence(const rule_input *in, profile *p, absence_state *rolling,
	     quarter_state *quarter, const absence_report *replaced,
	     outcome *o)
{
	const rules_config *rc = in->rc;
	const Ungebro__V1__AbsenceReport *a = in->env->absence_report;
	absence_report report;
	if (!absence_row(a, &report))
		return; /* validated at ingest; a bad old record is skipped */
	memcpy(report.event_id, in->env->event_id.data, WIRE_EVENT_ID_LEN);
	/* The corrected fact no longer holds, whatever the correction now
	 * says its period, kind or school is. */
	if (replaced) {
		absence_forget(rolling, replaced);
		quarter_forget(quarter, replaced);
	}

	absence_config acfg = {
	    rc->rolling.threshold_pct,	 rc->rolling.strictly_above,
	    rc->rolling.count_permitted, rc->rolling.window_days,
	    rc->rolling.min_days,	 &rc->cal};
	absence_verdict verdict;
	absence_apply(&acfg, rolling, &report, &verdict);
	quarter_config qcfg = {rc->quarter.warn_pct, rc->quarter.notify_pct,
			       rc->quarter.min_days, &rc->cal};
	quarter_verdict qv;
	quarter_apply(&qcfg, quarter, &report, &qv);

	bool taken_back =
	    in->corrects_seq && verdict.episode_ended && p->absence_alert_seq;
	if (verdict.episode_ended && p->absence_alert_seq) {
		/* A correction that takes the rate back under the threshold
		 * takes the ground from the episode's alert. */
		if (in->corrects_seq) {
			char why[256];
			unsigned tenths =
			    rate_tenths(verdict.absent, verdict.expected,
					rc->rolling.threshold_pct,
					rc->rolling.strictly_above);
			say(why, sizeof why,
			    "%s corrected its report for %s to "
			    "%s: absence is now %u of %u expected lessons "
			    "(%u.%u %%), %s the threshold of %d %%",
			    in->agency, a->period_start, a->period_end,
			    verdict.absent, verdict.expected, tenths / 10,
			    tenths % 10,
			    rc->rolling.strictly_above ? "not above" : "under",
			    rc->rolling.threshold_pct);
			outcome_withdraw(o, p->absence_alert_seq, R_ROLLING,
					 why);
			/* Nor is it a signal for the combined rule any more,
			 * unless the same report reached a quarter level,
			 * which stands (quarter alerts are never taken
			 * back). */
			bool quarter_level = false;
			for (int i = 0; i < p->nsignals; i++)
				if (p->signals[i].kind == SIG_ABSENCE &&
				    p->signals[i].seq == p->absence_alert_seq)
					quarter_level = quarter_level_reached(
					    quarter, p->signals[i].day);
			if (!quarter_level)
				rule_forget_signal(p, SIG_ABSENCE,
						   p->absence_alert_seq);
		}
		p->absence_alert_seq = 0;
	}
	/* A signal's day is its report's last day as last corrected: the
	 * combined rule sees the absence where the school now puts it. One
	 * whose alert this correction took back is gone, or stands in the
	 * quarter whose level it reached. */
	if (replaced && !taken_back)
		for (int i = p->nsignals; i-- > 0;)
			if (p->signals[i].kind == SIG_ABSENCE &&
			    p->signals[i].day == replaced->end) {
				p->signals[i].day = report.end;
				break;
			}
	/* An absence alert that would be raised is a signal for the
	 * combined rule even with its own alert switched off. */
	if (!verdict.raise && !qv.warn && !qv.notify)
		return;
	bool suppress = false;
	rule_note_signal(in, p, SIG_ABSENCE, report.end, o, &suppress);
	bool raise_roll = verdict.raise && rc->rolling.on.enabled;
	bool raise_q = (qv.warn || qv.notify) && rc->quarter.on.enabled;
	if (raise_roll && !suppress)
		raise_rolling(in, p, rolling, &verdict, o);
	/* Noted with the alert switched off too: a correction that ends the
	 * episode takes its signal back all the same. */
	if (verdict.raise && !suppress)
		p->absence_alert_seq = in->seq;
	/* One report, one absence alert: the quarter's 10 % level adds
	 * nothing a rolling alert from the same report has not said; its
	 * 15 % level (a legal duty) always goes out. The combined alert
	 * names absence but not the school's notification, so like a
	 * dropout the notify level goes out merged or not. */
	if (raise_q && (qv.notify || (!suppress && !raise_roll)))
		raise_quarter(in, p, &qv, o);
}
