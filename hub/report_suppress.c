/*
 * Report tables and their suppression of small cells. Statistics leave
 * the hub only as aggregates, and a count of 1-4 persons can point at a
 * person: such an entry is hidden, and so is a second entry on every
 * additive line (row or column with its total) that would otherwise let
 * a reader subtract the hidden one back out of the total.
 */
#include "hub/report.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

bool
report_table_init(report_table *t, const char *name, size_t nrows,
		  size_t ncols)
{
	memset(t, 0, sizeof *t);
	size_t cells = (nrows + 1) * (ncols + 1);
	t->rows = calloc(nrows + 1, sizeof *t->rows);
	t->cols = calloc(ncols + 1, sizeof *t->cols);
	t->v = calloc(cells, sizeof *t->v);
	t->hid = calloc(cells, sizeof *t->hid);
	if (!t->rows || !t->cols || !t->v || !t->hid) {
		report_table_fini(t);
		return false;
	}
	strncpy(t->name, name, sizeof t->name - 1);
	t->nrows = nrows;
	t->ncols = ncols;
	t->chart_col = -1;
	return true;
}

void
report_table_fini(report_table *t)
{
	free(t->rows);
	free(t->cols);
	free(t->v);
	free(t->hid);
	t->rows = NULL;
	t->cols = NULL;
	t->v = NULL;
	t->hid = NULL;
}

long *
report_cell(report_table *t, size_t r, size_t c)
{
	return &t->v[r * (t->ncols + 1) + c];
}

uint8_t
report_hidden(const report_table *t, size_t r, size_t c)
{
	return t->hid[r * (t->ncols + 1) + c];
}

bool
report_exists(const report_table *t, size_t r, size_t c)
{
	return (r < t->nrows || t->col_total) &&
	       (c < t->ncols || t->row_total);
}

static void
fill_totals(report_table *t)
{
	for (size_t r = 0; r <= t->nrows; r++)
		*report_cell(t, r, t->ncols) = 0;
	for (size_t c = 0; c <= t->ncols; c++)
		*report_cell(t, t->nrows, c) = 0;
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			long v = *report_cell(t, r, c);
			*report_cell(t, r, t->ncols) += v;
			*report_cell(t, t->nrows, c) += v;
			*report_cell(t, t->nrows, t->ncols) += v;
		}
}

/* An additive line, the total last: entries (r0 + i*dr, c0 + i*dc) of
 * one table, or a list of entries that may run across two tables. */
typedef struct {
	report_table *t;
	size_t r, c;
} entry;

typedef struct {
	entry first;
	size_t dr, dc;
	const entry *list;
} line;

static entry
line_at(const line *l, size_t i)
{
	if (l->list)
		return l->list[i];
	return (entry){l->first.t, l->first.r + i * l->dr,
		       l->first.c + i * l->dc};
}

static uint8_t *
hid_of(entry e)
{
	return &e.t->hid[e.r * (e.t->ncols + 1) + e.c];
}

/* When the line of n entries has exactly one hidden entry, hide a
 * second: the smallest shown cell above zero; a zero cell only when
 * there is no such cell (a zero marked "x" would tell the reader the
 * other hidden entry is the whole rest), the total only when no cell is
 * left. Returns whether it hid something. */
static bool
fix_line(const line *l, size_t n)
{
	size_t hidden = 0, best = n;
	long best_v = 0;
	int best_rank = 3; /* 0: cell above zero, 1: zero cell, 2: total */
	for (size_t i = 0; i < n; i++) {
		entry e = line_at(l, i);
		if (*hid_of(e)) {
			hidden++;
			continue;
		}
		long v = *report_cell(e.t, e.r, e.c);
		int rank = i == n - 1 ? 2 : v > 0 ? 0 : 1;
		if (rank < best_rank || (rank == best_rank && v < best_v)) {
			best = i;
			best_v = v;
			best_rank = rank;
		}
	}
	if (hidden != 1 || best == n)
		return false;
	*hid_of(line_at(l, best)) = REPORT_SECONDARY;
	return true;
}

/* One pass over the table's own lines; whether it hid something. */
static bool
fix_lines(report_table *t)
{
	bool changed = false;
	if (t->row_total)
		for (size_t r = 0; r <= t->nrows; r++)
			if (report_exists(t, r, 0)) {
				line l = {{t, r, 0}, 0, 1, NULL};
				changed |= fix_line(&l, t->ncols + 1);
			}
	if (t->col_total)
		for (size_t c = 0; c <= t->ncols; c++)
			if (report_exists(t, 0, c)) {
				line l = {{t, 0, c}, 1, 0, NULL};
				changed |= fix_line(&l, t->nrows + 1);
			}
	return changed;
}

void
report_suppress(report_table *t)
{
	fill_totals(t);
	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c <= t->ncols; c++) {
			long v = *report_cell(t, r, c);
			t->hid[r * (t->ncols + 1) + c] =
			    report_exists(t, r, c) && v > 0 &&
				    v < REPORT_MIN_CELL
				? REPORT_PRIMARY
				: REPORT_SHOWN;
		}
	/* Each pass can only hide more, so this ends. */
	while (fix_lines(t))
		;
}

bool
report_suppress_linked(report_table *detail, size_t dcol,
		       report_table *summary, size_t scol, const long *group)
{
	entry *e = calloc(detail->nrows + 2, sizeof *e);
	if (!e)
		return false;
	/* Each pass can only hide more, so this ends. */
	for (bool changed = true; changed;) {
		changed = fix_lines(detail);
		changed |= fix_lines(summary);
		for (size_t g = 0; g <= summary->nrows; g++) {
			size_t n = 0;
			for (size_t r = 0; r <= detail->nrows; r++)
				if (group[r] == (long)g)
					e[n++] = (entry){detail, r, dcol};
			if (!n)
				continue;
			e[n++] = (entry){summary, g, scol};
			line l = {{NULL, 0, 0}, 0, 0, e};
			changed |= fix_line(&l, n);
		}
	}
	free(e);
	return true;
}

bool
report_suppress_same(report_table *a, report_table *b,
		     const size_t (*pairs)[4], size_t npairs)
{
	/* Each pass can only hide more, so this ends. */
	for (bool changed = true; changed;) {
		changed = fix_lines(a);
		changed |= fix_lines(b);
		for (size_t i = 0; i < npairs; i++) {
			entry x = {a, pairs[i][0], pairs[i][1]};
			entry y = {b, pairs[i][2], pairs[i][3]};
			if (x.r > a->nrows || x.c > a->ncols ||
			    y.r > b->nrows || y.c > b->ncols ||
			    !report_exists(a, x.r, x.c) ||
			    !report_exists(b, y.r, y.c) ||
			    !*hid_of(x) == !*hid_of(y))
				continue;
			/* A shown 0 gives nothing back: the other is hidden
			 * as 1-4 or as the small figure it is anyway. */
			entry shown = *hid_of(x) ? y : x;
			if (*report_cell(shown.t, shown.r, shown.c) > 0) {
				*hid_of(shown) = REPORT_SECONDARY;
				changed = true;
			}
		}
	}
	return true;
}

/* Exports write codes in either case (STX, stx): compared without it. */
static bool
starts(const char *s, const char *prefix)
{
	return s && strncasecmp(s, prefix, strlen(prefix)) == 0;
}

const char *
report_programme_type(const char *programme, const char *institution)
{
	static const char *const gym[] = {"stx", "hhx", "htx",
					  "hf",	 "ib",	"gym"};
	if (starts(programme, "fgu"))
		return "FGU";
	if (starts(programme, "eud") || starts(programme, "eux"))
		return "EUD";
	for (size_t i = 0; i < sizeof gym / sizeof *gym; i++)
		if (starts(programme, gym[i]))
			return "gymnasium";
	/* The prefix with its dash: "eudora-skolen" is no EUD college. */
	if (starts(institution, "fgu-"))
		return "FGU";
	if (starts(institution, "eud-"))
		return "EUD";
	if (starts(institution, "gym-"))
		return "gymnasium";
	return "other";
}
