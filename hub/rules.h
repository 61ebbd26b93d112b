/*
 * Early-warning rules as pure functions over a per-person state blob: the
 * caller loads the state, feeds one event, stores the state back and acts on
 * the verdict. No I/O here, so every edge is unit-testable and a replay of
 * the log reproduces exactly the same verdicts.
 */
#ifndef UG_RULES_H
#define UG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/calendar.h"

#define RULE_ABSENCE 1 /* rule id in the store and in alert ids */
#define RULE_ABSENCE_NAME "absence.rolling"
#define ABSENCE_MAX_REPORTS 32
#define ABSENCE_STATE_MAX 2048 /* bytes; the serialised state fits in it */

typedef struct {
	int threshold_pct; /* alert when absence is strictly above this */
	int window_days;   /* school days in the rolling window */
	int min_days;      /* school days the window's reports must cover
	                      before the rule judges at all */
	const calendar *cal; /* school days; NULL = Monday to Friday */
} absence_config;

typedef struct {
	int32_t start, end;  /* days since epoch, inclusive */
	uint16_t absent, expected;
	uint8_t kind;        /* AbsenceKind */
	uint8_t event_id[16];
} absence_report;

typedef struct {
	bool in_episode;
	uint16_t count;
	absence_report reports[ABSENCE_MAX_REPORTS];
} absence_state;

typedef struct {
	bool raise;          /* a new episode starts: raise one alert */
	bool episode_ended;  /* the rate fell back to or under the threshold */
	int32_t window_start, window_end;
	uint32_t absent, expected; /* sums over the window */
	int covered_days;          /* school days the window's reports cover */
	int32_t first_day;         /* first day a report in the window covers */
	uint16_t used[ABSENCE_MAX_REPORTS]; /* indexes of reports in window */
	uint16_t nused;
} absence_verdict;

/* Serialise / parse the state (fixed little format, version byte first).
 * absence_state_parse returns false on a blob it does not understand. */
size_t absence_state_write(const absence_state *st, uint8_t *out, size_t cap);
bool absence_state_parse(absence_state *st, const uint8_t *in, size_t len);

/* The first day of the window of `window_days` school days that ends on
 * `end` (weekends, public and school holidays do not count). */
int32_t absence_window_start(const absence_config *cfg, int32_t end);

/* Add (or replace: same period and kind is a correction) one report and
 * decide. Permitted leave does not count toward this rule. Until the
 * reports in the window cover min_days school days the rule neither raises
 * nor ends an episode: one bad week at the start of term is not yet
 * "absence over the last 20 school days". */
void absence_apply(const absence_config *cfg, absence_state *st,
                   const absence_report *report, absence_verdict *verdict);

/*
 * Unlawful absence per calendar quarter (Danish practice: at 10 % the
 * school warns the parents, at 15 % it must notify the municipality). One
 * alert per level per quarter; a new quarter starts afresh.
 */
#define RULE_QUARTER 2
#define QUARTER_MAX_REPORTS 80
#define QUARTER_STATE_MAX 1100

typedef struct {
	int warn_pct, notify_pct, min_days;
	const calendar *cal;
} quarter_config;

typedef struct {
	int32_t quarter;  /* year * 4 + quarter index, of the latest report */
	bool warned, notified;
	uint16_t count;
	struct {
		int32_t start, end;
		uint16_t absent, expected;
	} reports[QUARTER_MAX_REPORTS];
} quarter_state;

typedef struct {
	bool warn, notify;         /* a level reached for the first time */
	int32_t quarter_start, quarter_end;
	uint32_t absent, expected;
	int covered_days;
} quarter_verdict;

size_t quarter_state_write(const quarter_state *st, uint8_t *out, size_t cap);
bool quarter_state_parse(quarter_state *st, const uint8_t *in, size_t len);
/* Feed one report; only UNLAWFUL reports count toward this rule. */
void quarter_apply(const quarter_config *cfg, quarter_state *st,
                   const absence_report *report, quarter_verdict *verdict);

#endif
