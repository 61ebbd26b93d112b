/*
 * The absence rule (DOMAIN rule 2, chronic absence): absence above a
 * threshold share of expected lessons over the last N school days, one
 * alert per episode. The state keeps the reports that can still fall in a
 * window, so a late or corrected report recomputes the rate exactly.
 */
#include "hub/rules.h"

#include <string.h>

#include "common/util.h"
#include "proto/ungebro.pb-c.h"

#define STATE_VERSION 1
#define REPORT_BYTES 29
/* Calendar days a window of at most 200 school days can span. */
#define ABSENCE_WINDOW_SPAN 320

int32_t
absence_window_start(int32_t end, int window_days)
{
	/* Walk back over weekdays; weekends do not count as school days.
	 * Holidays arrive with the school calendars (TODO(#4)). */
	int32_t day = end;
	int counted = 0;
	for (;;) {
		if (ug_weekday(day) < 5 && ++counted == window_days)
			return day;
		day--;
	}
}

static void
put32(uint8_t *out, uint32_t v)
{
	out[0] = (uint8_t)(v >> 24), out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8), out[3] = (uint8_t)v;
}

static uint32_t
get32(const uint8_t *in)
{
	return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 |
	       (uint32_t)in[2] << 8 | in[3];
}

size_t
absence_state_write(const absence_state *st, uint8_t *out, size_t cap)
{
	size_t need = 4 + (size_t)st->count * REPORT_BYTES;
	if (cap < need)
		return 0;
	out[0] = STATE_VERSION;
	out[1] = st->in_episode;
	out[2] = (uint8_t)(st->count >> 8), out[3] = (uint8_t)st->count;
	uint8_t *p = out + 4;
	for (uint16_t i = 0; i < st->count; i++, p += REPORT_BYTES) {
		const absence_report *r = &st->reports[i];
		put32(p, (uint32_t)r->start);
		put32(p + 4, (uint32_t)r->end);
		p[8] = (uint8_t)(r->absent >> 8), p[9] = (uint8_t)r->absent;
		p[10] = (uint8_t)(r->expected >> 8), p[11] = (uint8_t)r->expected;
		p[12] = r->kind;
		memcpy(p + 13, r->event_id, 16);
	}
	return need;
}

bool
absence_state_parse(absence_state *st, const uint8_t *in, size_t len)
{
	memset(st, 0, sizeof *st);
	if (len < 4 || in[0] != STATE_VERSION)
		return false;
	st->in_episode = in[1] != 0;
	st->count = (uint16_t)(in[2] << 8 | in[3]);
	if (st->count > ABSENCE_MAX_REPORTS ||
	    len != 4 + (size_t)st->count * REPORT_BYTES)
		return false;
	const uint8_t *p = in + 4;
	for (uint16_t i = 0; i < st->count; i++, p += REPORT_BYTES) {
		absence_report *r = &st->reports[i];
		r->start = (int32_t)get32(p);
		r->end = (int32_t)get32(p + 4);
		r->absent = (uint16_t)(p[8] << 8 | p[9]);
		r->expected = (uint16_t)(p[10] << 8 | p[11]);
		r->kind = p[12];
		memcpy(r->event_id, p + 13, 16);
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
		if (r->start == report->start && r->end == report->end &&
		    r->kind == report->kind) {
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

void
absence_apply(const absence_config *cfg, absence_state *st,
              const absence_report *report, absence_verdict *verdict)
{
	memset(verdict, 0, sizeof *verdict);
	if (report->kind != UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE)
		upsert(st, report);
	int32_t end = 0;
	for (uint16_t i = 0; i < st->count; i++)
		if (st->reports[i].end > end)
			end = st->reports[i].end;
	if (st->count == 0)
		return;
	int32_t start = absence_window_start(end, cfg->window_days);
	verdict->window_start = start;
	verdict->window_end = end;
	/* Prune what no later window can reach: windows only move forward. */
	for (uint16_t i = st->count; i-- > 0;)
		if (st->reports[i].end < start)
			remove_at(st, i);
	/* Distinct school days covered: reports of two kinds (illness and
	 * unlawful) for the same week must not count the week twice. */
	uint8_t covered[ABSENCE_WINDOW_SPAN] = {0};
	verdict->first_day = end;
	for (uint16_t i = 0; i < st->count; i++) {
		const absence_report *r = &st->reports[i];
		if (r->start < start || r->end > end)
			continue;
		verdict->absent += r->absent;
		verdict->expected += r->expected;
		verdict->used[verdict->nused++] = i;
		if (r->start < verdict->first_day)
			verdict->first_day = r->start;
		for (int32_t d = r->start; d <= r->end; d++)
			if (d - start < ABSENCE_WINDOW_SPAN && ug_weekday(d) < 5 &&
			    !covered[d - start]++)
				verdict->covered_days++;
	}
	if (verdict->covered_days < cfg->min_days)
		return;
	/* Integer comparison: exactly at the threshold is not above it. */
	bool above = verdict->expected > 0 &&
	             (uint64_t)verdict->absent * 100 >
	                     (uint64_t)cfg->threshold_pct * verdict->expected;
	if (above && !st->in_episode) {
		st->in_episode = true;
		verdict->raise = true;
	} else if (!above && st->in_episode) {
		st->in_episode = false;
		verdict->episode_ended = true;
	}
}
