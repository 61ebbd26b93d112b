/*
 * The absence rule (DOMAIN rule 2, chronic absence): absence above a
 * threshold share of expected lessons over the last N school days, one
 * alert per episode. The state keeps the reports that can still fall in a
 * window, so a late or corrected report recomputes the rate exactly.
 */
#include "hub/rules.h"

#include <string.h>

#include "common/util.h"
#include "proto/wire.h"

/* Version 2 added the school key; a version 1 state still parses, its
 * reports of school 0 (unknown), which match any school. */
#define STATE_VERSION	2
#define REPORT_BYTES	33
#define REPORT_BYTES_V1 29
/* Calendar days a window can span: 200 school days over the summer
 * holiday already span 361, and a municipality's own holidays may add
 * more; the window's start is never further back than the calendar
 * looks. */
#define ABSENCE_WINDOW_SPAN (CALENDAR_BACK_MAX_DAYS + 1)

static bool
school_day(const calendar *cal, int32_t day)
{
	return cal ? calendar_is_school_day(cal, day) : ug_weekday(day) < 5;
}

int32_t
absence_window_start(const absence_config *cfg, int32_t end)
{
	if (cfg->cal)
		return calendar_school_days_back(cfg->cal, end,
						 cfg->window_days);
	int32_t day = end;
	int counted = 0;
	for (;;) {
		if (ug_weekday(day) < 5 && ++counted == cfg->window_days)
			return day;
		day--;
	}
}

uint32_t
absence_school_key(const char *school)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *c = school ? school : ""; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return h ? h : 1;
}

static bool
same_school(uint32_t a, uint32_t b)
{
	return a == b || a == 0 || b == 0;
}

static bool
same_period(const absence_report *a, const absence_report *b)
{
	return a->start == b->start && a->end == b->end &&
	       same_school(a->school, b->school);
}

void
absence_sum(const absence_report *reports, const uint16_t *idx, uint16_t n,
	    unsigned kinds, uint32_t *absent, uint32_t *expected)
{
	*absent = *expected = 0;
	for (uint16_t i = 0; i < n; i++) {
		const absence_report *r = &reports[idx[i]];
		bool first = true;
		for (uint16_t k = 0; k < i && first; k++)
			first = !same_period(&reports[idx[k]], r);
		if (!first)
			continue; /* its period was summed with an earlier row
				   */
		uint32_t exp = 0, sum = 0, all = 0, left_out = 0;
		for (uint16_t k = i; k < n; k++) {
			const absence_report *o = &reports[idx[k]];
			if (!same_period(o, r))
				continue;
			if (o->expected > exp)
				exp = o->expected;
			if (!(kinds & 1u << o->kind)) {
				if (o->kind !=
				    UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS)
					left_out += o->absent;
				continue;
			}
			if (o->kind == UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS)
				all = o->absent > all ? o->absent : all;
			else
				sum += o->absent;
		}
		/* The total holds the kinds not counted too (permitted leave
		 * left out): what the period's rows say of them is not
		 * counted through it either. */
		all = all > left_out ? all - left_out : 0;
		*absent += all > sum ? all : sum;
		*expected += exp;
	}
}

size_t
absence_state_write(const absence_state *st, uint8_t *out, size_t cap)
{
	size_t need = 4 + (size_t)st->count * REPORT_BYTES;
	if (cap < need)
		return 0;
	out[0] = STATE_VERSION;
	out[1] = st->in_episode;
	ug_put_be16(out + 2, st->count);
	uint8_t *p = out + 4;
	for (uint16_t i = 0; i < st->count; i++, p += REPORT_BYTES) {
		const absence_report *r = &st->reports[i];
		ug_put_be32(p, (uint32_t)r->start);
		ug_put_be32(p + 4, (uint32_t)r->end);
		ug_put_be16(p + 8, r->absent);
		ug_put_be16(p + 10, r->expected);
		p[12] = r->kind;
		memcpy(p + 13, r->event_id, 16);
		ug_put_be32(p + 29, r->school);
	}
	return need;
}

bool
absence_state_parse(absence_state *st, const uint8_t *in, size_t len)
{
	memset(st, 0, sizeof *st);
	if (len < 4 || (in[0] != STATE_VERSION && in[0] != 1))
		return false;
	size_t bytes = in[0] == 1 ? REPORT_BYTES_V1 : REPORT_BYTES;
	st->in_episode = in[1] != 0;
	st->count = ug_get_be16(in + 2);
	if (st->count > ABSENCE_MAX_REPORTS ||
	    len != 4 + (size_t)st->count * bytes)
		return false;
	const uint8_t *p = in + 4;
	for (uint16_t i = 0; i < st->count; i++, p += bytes) {
		absence_report *r = &st->reports[i];
		r->start = (int32_t)ug_get_be32(p);
		r->end = (int32_t)ug_get_be32(p + 4);
		r->absent = ug_get_be16(p + 8);
		r->expected = ug_get_be16(p + 10);
		r->kind = p[12];
		memcpy(r->event_id, p + 13, 16);
		r->school = bytes == REPORT_BYTES ? ug_get_be32(p + 29) : 0;
	}
	return true;
}

static void
remove_at(absence_state *st, uint16_t i)
{
	st->reports[i] = st->reports[--st->count];
}

static void
upsert(absence_state *st, const absence_report *report)
{
	for (uint16_t i = 0; i < st->count; i++) {
		absence_report *r = &st->reports[i];
		if (same_period(r, report) && r->kind == report->kind) {
			*r = *report;
			return;
		}
	}
	if (st->count == ABSENCE_MAX_REPORTS) {
		/* Full: the report ending first is the one least likely to be
		 * in any future window. */
		uint16_t oldest = 0;
		for (uint16_t i = 1; i < st->count; i++)
			if (st->reports[i].end < st->reports[oldest].end)
				oldest = i;
		remove_at(st, oldest);
	}
	st->reports[st->count++] = *report;
}

static bool
same_row(const absence_report *a, const absence_report *b)
{
	return same_period(a, b) && a->kind == b->kind;
}

/* As absence_sum, but a period that begins before the window counts with
 * the share of its lessons its school days inside the window carry, as
 * the quarter measure apportions a period across a boundary: a monthly
 * report of 22 school days must not fall out of a 20-day window whole. */
static void
window_sum(const absence_config *cfg, const absence_report *reports,
	   const uint16_t *idx, uint16_t n, unsigned kinds, int32_t start,
	   uint32_t *absent, uint32_t *expected)
{
	*absent = *expected = 0;
	for (uint16_t i = 0; i < n; i++) {
		const absence_report *r = &reports[idx[i]];
		bool first = true;
		for (uint16_t k = 0; k < i && first; k++)
			first = !same_period(&reports[idx[k]], r);
		if (!first)
			continue; /* its period was summed with an earlier row
				   */
		uint16_t group[ABSENCE_MAX_REPORTS], g = 0;
		for (uint16_t k = i; k < n; k++)
			if (same_period(&reports[idx[k]], r))
				group[g++] = idx[k];
		uint32_t a, e;
		absence_sum(reports, group, g, kinds, &a, &e);
		uint32_t before = 0, inside = 0;
		for (int32_t d = r->start; d < start && d <= r->end; d++)
			before += school_day(cfg->cal, d);
		for (int32_t d = r->start < start ? start : r->start;
		     d <= r->end; d++)
			inside += school_day(cfg->cal, d);
		/* A period of no school day has nothing to apportion by: it
		 * counts whole where it ends. */
		if (before > 0) {
			a = absence_apportion(a, before, inside,
					      before + inside);
			e = absence_apportion(e, before, inside,
					      before + inside);
		}
		*absent += a;
		*expected += e;
	}
}

void
absence_forget(absence_state *st, const absence_report *row)
{
	for (uint16_t i = st->count; i-- > 0;)
		if (same_row(&st->reports[i], row))
			remove_at(st, i);
}

void
absence_apply(const absence_config *cfg, absence_state *st,
	      const absence_report *report, absence_verdict *verdict)
{
	memset(verdict, 0, sizeof *verdict);
	/* Kept whatever counts: a permitted-leave row still tells its
	 * period's expected lessons, and a reload may count it. */
	upsert(st, report);
	int32_t end = 0;
	for (uint16_t i = 0; i < st->count; i++)
		if (st->reports[i].end > end)
			end = st->reports[i].end;
	if (st->count == 0)
		return;
	int32_t start = absence_window_start(cfg, end);
	verdict->window_start = start;
	verdict->window_end = end;
	/* Prune what no later window can reach: windows only move forward. */
	for (uint16_t i = st->count; i-- > 0;)
		if (st->reports[i].end < start)
			remove_at(st, i);
	/* Distinct school days covered: reports of two kinds (illness and
	 * unlawful) for the same week must not count the week twice. */
	uint8_t covered[(ABSENCE_WINDOW_SPAN + 7) / 8] = {0};
	verdict->first_day = end;
	for (uint16_t i = 0; i < st->count; i++) {
		const absence_report *r = &st->reports[i];
		if (r->end < start || r->end > end)
			continue;
		verdict->used[verdict->nused++] = i;
		/* A report begun before the window counts with its days in
		 * it (window_sum). */
		int32_t from = r->start < start ? start : r->start;
		if (from < verdict->first_day)
			verdict->first_day = from;
		for (int32_t d = from; d <= r->end; d++)
			if (d - start < ABSENCE_WINDOW_SPAN &&
			    school_day(cfg->cal, d) &&
			    !(covered[(d - start) / 8] &
			      1u << (d - start) % 8)) {
				covered[(d - start) / 8] |= 1u
							    << (d - start) % 8;
				verdict->covered_days++;
			}
	}
	unsigned kinds = ~0u;
	if (!cfg->count_permitted)
		kinds &= ~(1u << UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE);
	window_sum(cfg, st->reports, verdict->used, verdict->nused, kinds,
		   start, &verdict->absent, &verdict->expected);
	if (verdict->covered_days < cfg->min_days)
		return;
	uint64_t absent100 = (uint64_t)verdict->absent * 100;
	uint64_t limit = (uint64_t)cfg->threshold_pct * verdict->expected;
	bool above =
	    verdict->expected > 0 &&
	    (cfg->strictly_above ? absent100 > limit : absent100 >= limit);
	if (above && !st->in_episode) {
		st->in_episode = true;
		verdict->raise = true;
	} else if (!above && st->in_episode) {
		st->in_episode = false;
		verdict->episode_ended = true;
	}
}

/* ---- unlawful absence per quarter ---- */

/* Version 3 adds the quarter before (quarter_past); version 2 keeps every
 * kind's rows with their school key; version 1 kept unlawful rows only.
 * Both still parse, without a quarter before. */
#define QUARTER_VERSION		3
#define QUARTER_REPORT_BYTES	17
#define QUARTER_REPORT_BYTES_V1 12
#define QUARTER_PAST_BYTES	(13 + QUARTER_DAY_BYTES)

static void
quarter_bounds(int32_t quarter, int32_t *first, int32_t *last)
{
	int year = quarter / 4, q = quarter % 4;
	*first = ug_days_from_civil(year, q * 3 + 1, 1);
	*last = (q == 3 ? ug_days_from_civil(year + 1, 1, 1)
			: ug_days_from_civil(year, q * 3 + 4, 1)) -
		1;
}

static int32_t
quarter_of(int32_t day)
{
	char iso[11];
	ug_date_format(day, iso);
	int year = (iso[0] - '0') * 1000 + (iso[1] - '0') * 100 +
		   (iso[2] - '0') * 10 + (iso[3] - '0');
	int month = (iso[5] - '0') * 10 + (iso[6] - '0');
	return year * 4 + (month - 1) / 3;
}

uint32_t
absence_apportion(uint32_t lessons, uint32_t before, uint32_t part,
		  uint32_t days)
{
	if (days == 0)
		return 0;
	uint64_t twice = 2 * (uint64_t)days;
	uint64_t to = (2 * (uint64_t)lessons * (before + part) + days) / twice;
	uint64_t from = (2 * (uint64_t)lessons * before + days) / twice;
	return (uint32_t)(to - from);
}

/* Adds to absent and expected the share of every period in reports that
 * falls into first..last, and marks the school days they cover there. */
static void
quarter_figures(const quarter_config *cfg, const absence_report *reports,
		uint16_t count, int32_t first, int32_t last, uint32_t *absent,
		uint32_t *expected, uint8_t covered[QUARTER_DAY_BYTES])
{
	for (uint16_t i = 0; i < count; i++) {
		const absence_report *r = &reports[i];
		bool seen = r->end < first || r->start > last;
		for (uint16_t k = 0; k < i && !seen; k++)
			seen = same_period(&reports[k], r);
		if (seen)
			continue; /* outside, or summed with an earlier row */
		uint16_t idx[QUARTER_MAX_REPORTS], n = 0;
		for (uint16_t k = i; k < count; k++)
			if (same_period(&reports[k], r))
				idx[n++] = k;
		uint32_t a, e;
		absence_sum(reports, idx, n,
			    1u << UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL, &a, &e);
		uint32_t before = 0, part = 0, days = 0;
		for (int32_t d = r->start; d <= r->end; d++) {
			if (!school_day(cfg->cal, d))
				continue;
			days++;
			if (d < first) {
				before++;
			} else if (d <= last) {
				part++;
				covered[(d - first) / 8] |= 1u
							    << (d - first) % 8;
			}
		}
		/* A period of no school day has nothing to apportion by: it
		 * belongs to the quarter of its last day. */
		if (days == 0)
			before = 0, part = days = r->end <= last;
		*absent += absence_apportion(a, before, part, days);
		*expected += absence_apportion(e, before, part, days);
	}
}

static int
count_bits(const uint8_t bits[QUARTER_DAY_BYTES])
{
	int n = 0;
	for (int i = 0; i < QUARTER_DAY_BYTES * 8; i++)
		n += bits[i / 8] >> i % 8 & 1;
	return n;
}

/* The levels reached for the first time; notify alone if both. */
static void
quarter_judge(const quarter_config *cfg, bool *warned, bool *notified,
	      quarter_verdict *v)
{
	if (v->covered_days < cfg->min_days || v->expected == 0)
		return;
	uint64_t absent100 = (uint64_t)v->absent * 100;
	/* "At 10 %": reaching the level counts. */
	if (!*warned && absent100 >= (uint64_t)cfg->warn_pct * v->expected) {
		*warned = true;
		v->warn = true;
	}
	if (!*notified &&
	    absent100 >= (uint64_t)cfg->notify_pct * v->expected) {
		*notified = true;
		*warned = true;
		v->notify = true;
		v->warn = false; /* one alert: the higher level */
	}
}

size_t
quarter_state_write(const quarter_state *st, uint8_t *out, size_t cap)
{
	size_t need =
	    9 + QUARTER_PAST_BYTES + (size_t)st->count * QUARTER_REPORT_BYTES;
	if (cap < need)
		return 0;
	out[0] = QUARTER_VERSION;
	ug_put_be32(out + 1, (uint32_t)st->quarter);
	out[5] = st->warned;
	out[6] = st->notified;
	ug_put_be16(out + 7, st->count);
	uint8_t *p = out + 9;
	ug_put_be32(p, (uint32_t)st->prev.quarter);
	p[4] = (uint8_t)(st->prev.warned | st->prev.notified << 1);
	ug_put_be32(p + 5, st->prev.absent);
	ug_put_be32(p + 9, st->prev.expected);
	memcpy(p + 13, st->prev.covered, QUARTER_DAY_BYTES);
	p += QUARTER_PAST_BYTES;
	for (uint16_t i = 0; i < st->count; i++, p += QUARTER_REPORT_BYTES) {
		ug_put_be32(p, (uint32_t)st->reports[i].start);
		ug_put_be32(p + 4, (uint32_t)st->reports[i].end);
		ug_put_be16(p + 8, st->reports[i].absent);
		ug_put_be16(p + 10, st->reports[i].expected);
		p[12] = st->reports[i].kind;
		ug_put_be32(p + 13, st->reports[i].school);
	}
	return need;
}

bool
quarter_state_parse(quarter_state *st, const uint8_t *in, size_t len)
{
	memset(st, 0, sizeof *st);
	if (len < 9 || in[0] < 1 || in[0] > QUARTER_VERSION)
		return false;
	size_t bytes =
	    in[0] == 1 ? QUARTER_REPORT_BYTES_V1 : QUARTER_REPORT_BYTES;
	size_t past = in[0] == QUARTER_VERSION ? QUARTER_PAST_BYTES : 0;
	st->quarter = (int32_t)ug_get_be32(in + 1);
	st->warned = in[5] != 0;
	st->notified = in[6] != 0;
	st->count = ug_get_be16(in + 7);
	if (st->count > QUARTER_MAX_REPORTS ||
	    len != 9 + past + (size_t)st->count * bytes)
		return false;
	const uint8_t *p = in + 9;
	if (past) {
		st->prev.quarter = (int32_t)ug_get_be32(p);
		st->prev.warned = (p[4] & 1) != 0;
		st->prev.notified = (p[4] & 2) != 0;
		st->prev.absent = ug_get_be32(p + 5);
		st->prev.expected = ug_get_be32(p + 9);
		memcpy(st->prev.covered, p + 13, QUARTER_DAY_BYTES);
		p += past;
	}
	for (uint16_t i = 0; i < st->count; i++, p += bytes) {
		st->reports[i].start = (int32_t)ug_get_be32(p);
		st->reports[i].end = (int32_t)ug_get_be32(p + 4);
		st->reports[i].absent = ug_get_be16(p + 8);
		st->reports[i].expected = ug_get_be16(p + 10);
		st->reports[i].kind =
		    bytes == QUARTER_REPORT_BYTES
			? p[12]
			: UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
		st->reports[i].school =
		    bytes == QUARTER_REPORT_BYTES ? ug_get_be32(p + 13) : 0;
	}
	return true;
}

/* Closes the state's quarter: what its rows made of it is kept as the
 * quarter before `next`, for the rows of `next` that reach back into it. */
static void
quarter_close(const quarter_config *cfg, quarter_state *st, int32_t next)
{
	quarter_past past = {.quarter = next - 1};
	if (st->quarter == next - 1) {
		int32_t first, last;
		quarter_bounds(st->quarter, &first, &last);
		quarter_figures(cfg, st->reports, st->count, first, last,
				&past.absent, &past.expected, past.covered);
		past.warned = st->warned;
		past.notified = st->notified;
	}
	memset(st, 0, sizeof *st);
	st->quarter = next;
	st->prev = past;
}

void
quarter_forget(quarter_state *st, const absence_report *row)
{
	for (uint16_t i = st->count; i-- > 0;)
		if (same_row(&st->reports[i], row))
			st->reports[i] = st->reports[--st->count];
}

bool
quarter_level_reached(const quarter_state *st, int32_t day)
{
	int32_t q = quarter_of(day);
	return (q == st->quarter && (st->warned || st->notified)) ||
	       (st->prev.quarter && q == st->prev.quarter &&
		(st->prev.warned || st->prev.notified));
}

void
quarter_apply(const quarter_config *cfg, quarter_state *st,
	      const absence_report *report, quarter_verdict *verdict)
{
	memset(verdict, 0, sizeof *verdict);
	int32_t quarter = quarter_of(report->end);
	/* A quarter without a row is one a corrected report alone had
	 * opened (dated ahead by mistake): it ended nothing. */
	if (quarter < st->quarter && st->count == 0)
		memset(st, 0, sizeof *st);
	if (quarter < st->quarter)
		return; /* a late report for a closed quarter changes nothing
			 */
	if (quarter > st->quarter)
		quarter_close(cfg, st, quarter);
	uint16_t i = 0;
	while (i < st->count && !(same_period(&st->reports[i], report) &&
				  st->reports[i].kind == report->kind))
		i++;
	if (i == st->count) {
		if (st->count == QUARTER_MAX_REPORTS)
			return; /* more rows than a quarter's days and kinds */
		st->count++;
	}
	st->reports[i] = *report;
	memset(st->reports[i].event_id, 0, sizeof st->reports[i].event_id);
	int32_t first, last;
	quarter_bounds(quarter, &first, &last);
	quarter_past *prev = &st->prev;
	if (report->start < first && prev->quarter == quarter - 1) {
		/* Judged before the later quarter, which the next report can
		 * still judge: the quarter before has no other report to
		 * come. */
		quarter_verdict pv = {.absent = prev->absent,
				      .expected = prev->expected};
		uint8_t covered[QUARTER_DAY_BYTES];
		memcpy(covered, prev->covered, sizeof covered);
		quarter_bounds(prev->quarter, &pv.quarter_start,
			       &pv.quarter_end);
		quarter_figures(cfg, st->reports, st->count, pv.quarter_start,
				pv.quarter_end, &pv.absent, &pv.expected,
				covered);
		pv.covered_days = count_bits(covered);
		quarter_judge(cfg, &prev->warned, &prev->notified, &pv);
		if (pv.warn || pv.notify) {
			*verdict = pv;
			return;
		}
	}
	verdict->quarter_start = first;
	verdict->quarter_end = last;
	uint8_t covered[QUARTER_DAY_BYTES] = {0};
	quarter_figures(cfg, st->reports, st->count, first, last,
			&verdict->absent, &verdict->expected, covered);
	verdict->covered_days = count_bits(covered);
	quarter_judge(cfg, &st->warned, &st->notified, verdict);
}
