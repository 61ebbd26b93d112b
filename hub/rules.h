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

#define RULE_ABSENCE	  1 /* rule id in the store and in alert ids */
#define RULE_ABSENCE_NAME "absence.rolling"
/* Schools export one row per pupil, period and kind: daily rows of two
 * kinds over 20 school days must fit. */
#define ABSENCE_MAX_REPORTS 64
#define ABSENCE_STATE_MAX   4096 /* bytes; the serialised state fits in it */

typedef struct {
	int threshold_pct; /* alert when absence reaches this (or is above it,
			      with strictly_above) */
	bool strictly_above;
	bool count_permitted; /* permitted leave is absence "for any reason" */
	int window_days;      /* school days in the rolling window */
	int min_days;	      /* school days the window's reports must cover
				 before the rule judges at all */
	const calendar *cal;  /* school days; NULL = Monday to Friday */
} absence_config;

typedef struct {
	int32_t start, end; /* days since epoch, inclusive */
	uint32_t school;    /* absence_school_key; 0: unknown (an old state) */
	uint16_t absent, expected;
	uint8_t kind; /* AbsenceKind */
	uint8_t event_id[16];
} absence_report;

/* A school id as a non-zero key: the kind rows of one period are told
 * apart from another school's rows without storing the id. */
uint32_t absence_school_key(const char *school);

typedef struct {
	bool in_episode;
	uint16_t count;
	absence_report reports[ABSENCE_MAX_REPORTS];
} absence_state;

typedef struct {
	bool raise;	    /* a new episode starts: raise one alert */
	bool episode_ended; /* the rate fell back from the threshold */
	int32_t window_start, window_end;
	uint32_t absent, expected; /* sums over the window */
	int covered_days;	   /* school days the window's reports cover */
	int32_t first_day; /* first day a report in the window covers */
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

/* Sums over reports[idx[0..n-1]]: the expected lessons of one school and
 * period count once (the largest of its kind rows), the absent lessons of
 * every kind in kinds (a bit per AbsenceKind) add up; an ALL_KINDS row, if
 * counted, stands for its period's kinds when it is larger than their
 * sum. */
void absence_sum(const absence_report *reports, const uint16_t *idx,
		 uint16_t n, unsigned kinds, uint32_t *absent,
		 uint32_t *expected);

/* Add (or replace: same school, period and kind is a correction) one
 * report and decide. Permitted leave counts only with count_permitted. Until
 * the reports in the window cover min_days school days the rule neither raises
 * nor ends an episode: one bad week at the start of term is not yet
 * "absence over the last 20 school days". */
void absence_apply(const absence_config *cfg, absence_state *st,
		   const absence_report *report, absence_verdict *verdict);

/* Drop the row of row's school, period and kind, if held: the row a
 * correction replaces when it changes the period, kind or school (a week
 * first reported unlawful, then illness once the sick note came). */
void absence_forget(absence_state *st, const absence_report *row);

/*
 * Unlawful absence per calendar quarter (Danish practice: at 10 % the
 * school warns the parents, at 15 % it must notify the municipality). One
 * alert per level per quarter; a new quarter starts afresh.
 */
#define RULE_QUARTER 2
/* Daily rows of three kinds for a quarter's school days. */
#define QUARTER_MAX_REPORTS 200
#define QUARTER_STATE_MAX   3500

typedef struct {
	int warn_pct, notify_pct, min_days;
	const calendar *cal;
} quarter_config;

/* School days' bits of a quarter (at most 92 days). */
#define QUARTER_DAY_BYTES 12

/* The quarter before the current one, as it stood when it ended: the part
 * of a later report that spans back into it still counts there. */
typedef struct {
	int32_t quarter; /* 0: none (a state of an older version) */
	bool warned, notified;
	uint32_t absent, expected;	    /* its own reports' part of it */
	uint8_t covered[QUARTER_DAY_BYTES]; /* bit d: its day d reported */
} quarter_past;

typedef struct {
	int32_t quarter; /* year * 4 + quarter index, of the latest report */
	bool warned, notified;
	uint16_t count;
	/* Whole rows ending in the quarter; one starting in the quarter
	 * before is apportioned between the two when counted. */
	absence_report reports[QUARTER_MAX_REPORTS]; /* no event_id kept */
	quarter_past prev;
} quarter_state;

typedef struct {
	bool warn, notify; /* a level reached for the first time */
	int32_t quarter_start, quarter_end;
	uint32_t absent, expected;
	int covered_days;
} quarter_verdict;

size_t quarter_state_write(const quarter_state *st, uint8_t *out, size_t cap);
bool quarter_state_parse(quarter_state *st, const uint8_t *in, size_t len);

/* The lessons of a period of `days` school days that fall on its school
 * days `before` + 1 to `before` + `part`: the running total is rounded
 * (half up) at both ends, so the parts of a period, however it is cut,
 * add up to `lessons` exactly. days 0 gives 0. */
uint32_t absence_apportion(uint32_t lessons, uint32_t before, uint32_t part,
			   uint32_t days);

/* Feed one report: only UNLAWFUL absence counts toward this rule, but the
 * rows of every kind tell the period's expected lessons. A period that
 * spans a quarter boundary counts in each quarter with the share of its
 * lessons its school days there carry (absence_apportion). The verdict is
 * the quarter of the report's last day, unless the report's share in the
 * quarter before reaches a level there: then it is that quarter's, and the
 * later quarter is judged with its next report. */
void quarter_apply(const quarter_config *cfg, quarter_state *st,
		   const absence_report *report, quarter_verdict *verdict);

/* Whether a level was reached in the quarter holding day (the current
 * quarter or the one before). */
bool quarter_level_reached(const quarter_state *st, int32_t day);

/* As absence_forget, for the rows of the current quarter. */
void quarter_forget(quarter_state *st, const absence_report *row);

#endif
