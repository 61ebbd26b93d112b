/*
 * The annual status report (hubctl report): pure computation over facts
 * taken from the log, and the suppression of small cells. No I/O and no
 * store here, so every figure and the suppression are unit-testable;
 * hubctl_report.c reads the store into a report_input and renders.
 *
 * A report_input never holds a CPR, a name or a person key: persons are
 * small integers local to one run, with their birth day. Tables hold
 * counts only.
 */
#ifndef UG_REPORT_H
#define UG_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hub/rules_config.h"

#define REPORT_MIN_CELL	 5 /* counts 1..4 are suppressed */
#define REPORT_LABEL_MAX 64
#define REPORT_NO_PERSON UINT32_MAX

enum {
	REPORT_READY = 1,
	REPORT_ABSENCE,
	REPORT_DROPOUT,
	REPORT_RISK,
	REPORT_ENROL,
	REPORT_BENEFIT,
	REPORT_LEAVING,
	REPORT_ACTION,
	REPORT_ANON
};

/* One event as the report needs it. Days are days since 1970-01-01. */
typedef struct {
	uint8_t type;	   /* REPORT_* */
	uint8_t kind;	   /* absence kind, end reason, action kind, stage */
	bool flag;	   /* readiness: ready */
	uint32_t person;   /* index, REPORT_NO_PERSON when anonymous */
	uint64_t seq;	   /* log order */
	int32_t known;	   /* UTC day the hub received it */
	int32_t day, day2; /* the event's day(s); day2 0 = none */
	uint32_t n1, n2;   /* absent/expected lessons; grade */
	char org[REPORT_LABEL_MAX];  /* school or institution id */
	char prog[REPORT_LABEL_MAX]; /* programme code */
	/* Set by report_drop_superseded: the type a superseded fact had
	 * (its type is 0 then), and 1 + the index of the fact a correction
	 * corrects (0: none). The legal clocks replay the log as the rules
	 * applied it, corrections and all. */
	uint8_t was;
	size_t corrects;
} report_fact;

typedef struct {
	char rule[32];
	uint64_t seq;	 /* the log record that raised it */
	uint32_t person; /* REPORT_NO_PERSON if unknown */
	int32_t raised;	 /* day */
	bool open;
	uint32_t escalations;
} report_alert;

typedef struct {
	report_fact *facts;
	size_t nfacts;
	int32_t *birth; /* per person: birth day, UG_NO_BIRTH unknown */
	size_t npersons;
	report_alert *alerts;
	size_t nalerts;
	int32_t from, to;	   /* the period, inclusive */
	int32_t asof;		   /* today: clocks after it are pending */
	const rules_config *rules; /* the hub's calendar and deadlines */
} report_input;

/* A table of person counts; hid marks suppressed cells (primary "<5",
 * secondary "x"). With row_total a Total column (sum of the row), with
 * col_total a Total row; these lines are additive and the suppression
 * keeps 0 or at least 2 hidden entries on each of them. */
typedef struct {
	char name[32]; /* CSV: status-<name>.csv */
	char title[160];
	char note[800]; /* the clocks' note takes up to 724 bytes */
	size_t nrows, ncols;
	char (*rows)[REPORT_LABEL_MAX];
	char (*cols)[REPORT_LABEL_MAX];
	long *v;      /* (nrows+1) x (ncols+1), totals at the end */
	uint8_t *hid; /* same shape: 0 shown, 1 primary, 2 second */
	bool row_total, col_total;
	int chart_col;	/* column drawn as bars, -1 none */
	int chart_line; /* 1: a monthly line chart against goals */
} report_table;

enum { REPORT_SHOWN = 0, REPORT_PRIMARY = 1, REPORT_SECONDARY = 2 };

/* Make an empty table (all zero); false when out of memory. */
bool report_table_init(report_table *t, const char *name, size_t nrows,
		       size_t ncols);
void report_table_fini(report_table *t);
/* The cell (r, c); r == nrows is the Total row, c == ncols the Total
 * column. */
long *report_cell(report_table *t, size_t r, size_t c);
uint8_t report_hidden(const report_table *t, size_t r, size_t c);
/* Whether the entry exists (totals only when the table has them). */
bool report_exists(const report_table *t, size_t r, size_t c);

/* Fill the totals, then suppress: every entry (totals included) from 1
 * to REPORT_MIN_CELL-1 is hidden (primary); then, while an additive line
 * (a row with its total, a column with its total, the Total row, the
 * Total column) has exactly one hidden entry, the smallest shown entry
 * of that line (a cell before a total) is hidden too (secondary). 0 is
 * shown: it reveals nobody. */
void report_suppress(report_table *t);

/* Lines across two suppressed tables: in detail's column dcol, the rows
 * r (Total row included) with group[r] == g add up to summary's cell
 * (g, scol), g up to and including summary's Total row; group[r] < 0
 * for a row in none. Hides more, as report_suppress does, until every
 * line of both tables and every such line has 0 or at least 2 hidden
 * entries. false when out of memory. */
bool report_suppress_linked(report_table *detail, size_t dcol,
			    report_table *summary, size_t scol,
			    const long *group);

/* Figures two tables give of the same thing, counted their own way
 * (pairs[i]: a's row and column, then b's): when one of a pair is
 * hidden, the other, shown, would give it back, so it is hidden too;
 * then both tables' own lines again, until nothing changes. Rows and
 * columns that do not exist are skipped. */
bool report_suppress_same(report_table *a, report_table *b,
			  const size_t (*pairs)[4], size_t npairs);

/* Programme type of a programme code (and institution id as a fallback):
 * "gymnasium", "EUD", "FGU" or "other". */
const char *report_programme_type(const char *programme,
				  const char *institution);

/* The tables, computed from in; each returns false when out of memory. */
bool report_readiness(const report_input *in, report_table *t);
bool report_absence_bands(const report_input *in, report_table *t);
bool report_absence_chronic(const report_input *in, report_table *t);
bool report_dropouts(const report_input *in, report_table *t);
bool report_enrolment_types(const report_input *in, report_table *t);
bool report_neet(const report_input *in, report_table *t);
bool report_clocks(const report_input *in, report_table *t);
bool report_alerts(const report_input *in, report_table *t);
bool report_anonymous(const report_input *in, report_table *t);

/* Drop facts superseded by a correction: ids[i] (16 bytes) of every
 * fact i, sup[i] (16 bytes, or all zero) the id it supersedes and
 * agency[i] its sender. Only a later fact (higher seq) of the same agency
 * about the same person supersedes, as in the rules and the timeline
 * (docs/RULES.md §3). Marks
 * superseded facts with type 0. */
void report_drop_superseded(report_input *in, const uint8_t (*ids)[16],
			    const uint8_t (*sup)[16],
			    const char (*agency)[REPORT_LABEL_MAX]);

#endif
