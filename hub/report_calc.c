/*
 * The annual status's figures, each a pure function of the facts taken
 * from the log (report.h). Counts are of distinct persons per cell,
 * unless a table says otherwise; what each table counts exactly is in
 * docs/OPERATIONS.md, "The annual status", and must stay in step.
 */
#include "hub/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/engine.h"
#include "hub/rules.h"
#include "proto/wire.h"

/* ---- small helpers: labels and distinct (row, col, person) ---- */

typedef struct {
	char (*v)[REPORT_LABEL_MAX];
	size_t n, cap;
} labels;

static long
label_index(labels *l, const char *text)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], text) == 0)
			return (long)i;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		void *more = realloc(l->v, cap * sizeof *l->v);
		if (!more)
			return -1;
		l->v = more;
		l->cap = cap;
	}
	snprintf(l->v[l->n], REPORT_LABEL_MAX, "%s", text);
	return (long)l->n++;
}

static int
cmp_label(const void *a, const void *b)
{
	return strcmp(a, b);
}

typedef struct {
	uint32_t row, col, person;
} triple;

typedef struct {
	triple *v;
	size_t n, cap;
} triples;

static bool
triple_add(triples *t, long row, long col, uint32_t person)
{
	if (row < 0 || col < 0)
		return false;
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		void *more = realloc(t->v, cap * sizeof *t->v);
		if (!more)
			return false;
		t->v = more;
		t->cap = cap;
	}
	t->v[t->n++] = (triple){(uint32_t)row, (uint32_t)col, person};
	return true;
}

static int
cmp_triple(const void *a, const void *b)
{
	const triple *x = a, *y = b;
	if (x->row != y->row)
		return x->row < y->row ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->person < y->person ? -1 : x->person > y->person;
}

/* Sort the row labels (not a fixed list: its order is the documented
 * one), then fill the table with distinct persons. */
static bool
fill_table(report_table *t, const char *name, labels *rows, bool sort,
	   const char *const *cols, size_t ncols, triples *tr)
{
	/* Rows in label order: remap. */
	size_t *order = calloc(rows->n + 1, sizeof *order);
	char(*sorted)[REPORT_LABEL_MAX] = calloc(rows->n + 1, sizeof *sorted);
	bool ok =
	    order && sorted && report_table_init(t, name, rows->n, ncols);
	if (ok) {
		if (rows->n) /* an empty table has no labels at all */
			memcpy(sorted, rows->v, rows->n * sizeof *sorted);
		if (sort)
			qsort(sorted, rows->n, sizeof *sorted, cmp_label);
		for (size_t i = 0; i < rows->n; i++) {
			for (size_t k = 0; k < rows->n; k++)
				if (strcmp(sorted[k], rows->v[i]) == 0)
					order[i] = k;
			memcpy(t->rows[i], sorted[i], REPORT_LABEL_MAX);
		}
		for (size_t c = 0; c < ncols; c++)
			snprintf(t->cols[c], REPORT_LABEL_MAX, "%s", cols[c]);
		if (tr->n)
			qsort(tr->v, tr->n, sizeof *tr->v, cmp_triple);
		for (size_t i = 0; i < tr->n; i++) {
			if (i && cmp_triple(&tr->v[i - 1], &tr->v[i]) == 0 &&
			    tr->v[i].person != REPORT_NO_PERSON)
				continue;
			(*report_cell(t, order[tr->v[i].row], tr->v[i].col))++;
		}
	}
	free(order);
	free(sorted);
	free(rows->v);
	free(tr->v);
	rows->v = NULL;
	tr->v = NULL;
	return ok;
}

static bool
in_period(const report_input *in, int32_t day)
{
	return day >= in->from && day <= in->to;
}

static int
year_of(int32_t day)
{
	char iso[11];
	ug_date_format(day, iso);
	return atoi(iso);
}

static int
month_of(int32_t day)
{
	char iso[11];
	ug_date_format(day, iso);
	return atoi(iso + 5);
}

/* ---- education-readiness ---- */

bool
report_readiness(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"ready", "not ready"};
	labels rows = {0};
	triples tr = {0};
	/* A person's latest assessment in a row (school, year, grade) is
	 * theirs: facts are in log order, so the last one wins. */
	size_t n = in->nfacts;
	bool ok = true;
	for (size_t i = 0; ok && i < n; i++) {
		const report_fact *f = &in->facts[i];
		if (f->type != REPORT_READY || (f->n1 != 8 && f->n1 != 9) ||
		    !in_period(in, f->day))
			continue;
		bool later = false;
		for (size_t k = i + 1; k < n && !later; k++) {
			const report_fact *g = &in->facts[k];
			later = g->type == REPORT_READY &&
				g->person == f->person && g->n1 == f->n1 &&
				in_period(in, g->day) &&
				year_of(g->day) == year_of(f->day) &&
				strcmp(g->org, f->org) == 0;
		}
		if (later)
			continue;
		char label[REPORT_LABEL_MAX];
		snprintf(label, sizeof label, "%.40s %d grade %u", f->org,
			 year_of(f->day), f->n1);
		ok = triple_add(&tr, label_index(&rows, label),
				f->flag ? 0 : 1, f->person);
	}
	ok = fill_table(t, "readiness", &rows, true, cols, 2, &tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Education-readiness, grades 8 "
		 "and 9, per school and year");
	snprintf(
	    t->note, sizeof t->note,
	    "Pupils assessed (their latest "
	    "ReadinessAssessment per school, year and grade, dated in the "
	    "period). Baseline January 2018: 146 of 286 not ready in "
	    "grade 8, 83 of 286 in grade 9.");
	t->row_total = t->col_total = true;
	t->chart_col = 1;
	report_suppress(t);
	return true;
}

/* ---- absence ---- */

typedef struct {
	uint32_t person;
	const char *school;
	int quarter; /* year * 10 + quarter */
	size_t fact;
} absence_key;

static int
cmp_absence(const void *a, const void *b)
{
	const absence_key *x = a, *y = b;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	int c = strcmp(x->school, y->school);
	if (c)
		return c;
	if (x->quarter != y->quarter)
		return x->quarter < y->quarter ? -1 : 1;
	return x->fact < y->fact ? -1 : x->fact > y->fact;
}

typedef void (*absence_fn)(void *ctx, const char *row, uint32_t person,
			   uint32_t unlawful, uint32_t any, uint32_t expected);

/* Per person, school and quarter (of the report's last day): the
 * unlawful and any-reason absence and the expected lessons, the expected
 * lessons of a period counted once (absence_sum). */
static bool
absence_groups(const report_input *in, absence_fn fn, void *ctx)
{
	absence_key *keys = calloc(in->nfacts + 1, sizeof *keys);
	absence_report *reps = calloc(in->nfacts + 1, sizeof *reps);
	uint16_t *idx = calloc(in->nfacts + 1, sizeof *idx);
	if (!keys || !reps || !idx) {
		free(keys);
		free(reps);
		free(idx);
		return false;
	}
	size_t n = 0;
	for (size_t i = 0; i < in->nfacts; i++) {
		const report_fact *f = &in->facts[i];
		if (f->type != REPORT_ABSENCE || !in_period(in, f->day2))
			continue;
		keys[n++] = (absence_key){f->person, f->org,
					  year_of(f->day2) * 10 +
					      (month_of(f->day2) - 1) / 3 + 1,
					  i};
	}
	qsort(keys, n, sizeof *keys, cmp_absence);
	const unsigned unlawful = 1u << UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
	const unsigned any =
	    unlawful | 1u << UNGEBRO__V1__ABSENCE_KIND__ILLNESS |
	    1u << UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE |
	    1u << UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS |
	    1u << UNGEBRO__V1__ABSENCE_KIND__ABSENCE_KIND_UNSPECIFIED;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		uint16_t m = 0;
		size_t end = i;
		while (end < n && keys[end].person == keys[i].person &&
		       keys[end].quarter == keys[i].quarter &&
		       strcmp(keys[end].school, keys[i].school) == 0)
			end++;
		for (; j < end; j++) {
			const report_fact *f = &in->facts[keys[j].fact];
			/* A later report for the same period and kind
			 * replaces this one (a correction), as in the rules;
			 * the group is in log order. */
			bool replaced = false;
			for (size_t k = j + 1; k < end && !replaced; k++) {
				const report_fact *g =
				    &in->facts[keys[k].fact];
				replaced = g->day == f->day &&
					   g->day2 == f->day2 &&
					   g->kind == f->kind;
			}
			if (!replaced && m < UINT16_MAX) {
				reps[m] = (absence_report){
				    .start = f->day,
				    .end = f->day2,
				    .school = 1,
				    .absent = (uint16_t)(f->n1 > UINT16_MAX
							     ? UINT16_MAX
							     : f->n1),
				    .expected = (uint16_t)(f->n2 > UINT16_MAX
							       ? UINT16_MAX
							       : f->n2),
				    .kind = f->kind};
				idx[m] = m;
				m++;
			}
		}
		uint32_t a_unl, a_any, e_unl, e_any;
		absence_sum(reps, idx, m, unlawful, &a_unl, &e_unl);
		absence_sum(reps, idx, m, any, &a_any, &e_any);
		char row[REPORT_LABEL_MAX];
		snprintf(row, sizeof row, "%.40s %d Q%d", keys[i].school,
			 keys[i].quarter / 10, keys[i].quarter % 10);
		if (e_unl > 0)
			fn(ctx, row, keys[i].person, a_unl, a_any, e_unl);
		i = j;
	}
	free(keys);
	free(reps);
	free(idx);
	return true;
}

typedef struct {
	labels rows;
	triples tr;
	bool chronic, ok;
} absence_ctx;

static void
add_absence(void *ctx, const char *row, uint32_t person, uint32_t unlawful,
	    uint32_t any, uint32_t expected)
{
	absence_ctx *a = ctx;
	long col;
	if (a->chronic)
		col = (uint64_t)any * 100 >= (uint64_t)expected * 10 ? 0 : 1;
	else if ((uint64_t)unlawful * 100 < (uint64_t)expected * 10)
		col = 0;
	else if ((uint64_t)unlawful * 100 < (uint64_t)expected * 15)
		col = 1;
	else
		col = 2;
	if (!triple_add(&a->tr, label_index(&a->rows, row), col, person))
		a->ok = false;
}

bool
report_absence_bands(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"under 10 %", "10-15 %",
					   "15 % and over"};
	absence_ctx a = {.ok = true};
	bool ok = absence_groups(in, add_absence, &a) && a.ok;
	ok = fill_table(t, "absence", &a.rows, true, cols, 3, &a.tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Unlawful absence per pupil, "
		 "school and quarter");
	snprintf(
	    t->note, sizeof t->note,
	    "Pupils by their unlawful absence "
	    "in the quarter (lessons of kind UNLAWFUL / expected lessons, "
	    "a period's expected lessons counted once) over the reports "
	    "whose last day is in the period, each in the quarter of that "
	    "day (a period that cuts a quarter counts only its reports of "
	    "that quarter). Total: pupils reported.");
	t->row_total = true;
	t->chart_col = 2;
	report_suppress(t);
	return true;
}

bool
report_absence_chronic(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"chronic (10 % or more)",
					   "under 10 %"};
	absence_ctx a = {.chronic = true, .ok = true};
	bool ok = absence_groups(in, add_absence, &a) && a.ok;
	ok = fill_table(t, "chronic", &a.rows, true, cols, 2, &a.tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Chronic absence (any reason) "
		 "per school and quarter");
	snprintf(t->note, sizeof t->note,
		 "Pupils whose absence of every "
		 "kind (illness, permitted leave, unlawful, totals) reached "
		 "10 %% of their expected lessons in the quarter (the reports "
		 "whose last day is in the period, as above).");
	t->row_total = true;
	t->chart_col = 0;
	report_suppress(t);
	return true;
}

/* ---- youth education ---- */

bool
report_dropouts(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"started", "dropout risk",
					   "dropped out"};
	labels rows = {0};
	triples tr = {0};
	bool ok = true;
	for (size_t i = 0; ok && i < in->nfacts; i++) {
		const report_fact *f = &in->facts[i];
		long col = f->type == REPORT_ENROL && f->day2 == 0 ? 0
			   : f->type == REPORT_RISK		   ? 1
			   : f->type == REPORT_DROPOUT		   ? 2
								   : -1;
		if (col < 0 || !in_period(in, f->day))
			continue;
		char label[REPORT_LABEL_MAX];
		snprintf(label, sizeof label, "%.40s (%s)", f->org,
			 report_programme_type(f->prog, f->org));
		ok =
		    triple_add(&tr, label_index(&rows, label), col, f->person);
	}
	ok = fill_table(t, "dropouts", &rows, true, cols, 3, &tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Enrolments, dropout risks and "
		 "dropouts per institution and programme type");
	snprintf(
	    t->note, sizeof t->note,
	    "Persons with an Enrolment start, a "
	    "DropoutRisk or a Dropout dated in the period, per institution "
	    "and programme type (a programme code starting stx, hhx, htx, "
	    "hf, ib or gym: gymnasium; eud or eux: EUD; fgu: FGU; else the "
	    "institution id's prefix gym-, eud-, fgu-; else other).");
	t->col_total = true;
	t->chart_col = 2;
	report_suppress(t);
	return true;
}

bool
report_enrolment_types(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"started"};
	static const char *const types[] = {"gymnasium", "EUD", "FGU",
					    "other"};
	labels rows = {0};
	triples tr = {0};
	bool ok = true;
	for (size_t i = 0; i < 4 && ok; i++)
		ok = label_index(&rows, types[i]) >= 0;
	for (size_t i = 0; ok && i < in->nfacts; i++) {
		const report_fact *f = &in->facts[i];
		if (f->type != REPORT_ENROL || f->day2 != 0 ||
		    !in_period(in, f->day))
			continue;
		ok = triple_add(
		    &tr,
		    label_index(&rows, report_programme_type(f->prog, f->org)),
		    0, f->person);
	}
	ok = fill_table(t, "enrolments", &rows, false, cols, 1, &tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Enrolments per programme type "
		 "(the share heading for vocational education)");
	snprintf(
	    t->note, sizeof t->note,
	    "Persons with an Enrolment start "
	    "dated in the period, per programme type. The EUD share is "
	    "EUD / Total, shown when neither is suppressed. Goal: at "
	    "least 35 %% of 25-year-olds with a vocational education by "
	    "2030; 14.7 %% of the 2016 grade-9 cohort were projected to.");
	t->col_total = true;
	t->chart_col = 0;
	report_suppress(t);
	return true;
}

/* The facts of each person: idx[start[p] .. start[p] + count[p]) in log
 * order. false when out of memory (nothing to free then). */
typedef struct {
	size_t *start, *idx, *count;
} person_index;

static void
person_index_fini(person_index *pi)
{
	free(pi->start);
	free(pi->idx);
	free(pi->count);
	pi->start = pi->idx = pi->count = NULL;
}

static bool
person_index_init(person_index *pi, const report_input *in)
{
	pi->start = calloc(in->npersons + 1, sizeof *pi->start);
	pi->idx = calloc(in->nfacts + 1, sizeof *pi->idx);
	pi->count = calloc(in->npersons + 1, sizeof *pi->count);
	if (!pi->start || !pi->idx || !pi->count) {
		person_index_fini(pi);
		return false;
	}
	for (size_t i = 0; i < in->nfacts; i++)
		if (in->facts[i].person < in->npersons)
			pi->start[in->facts[i].person + 1]++;
	for (size_t p = 0; p < in->npersons; p++)
		pi->start[p + 1] += pi->start[p];
	for (size_t i = 0; i < in->nfacts; i++) {
		uint32_t p = in->facts[i].person;
		if (p < in->npersons && in->facts[i].type)
			pi->idx[pi->start[p] + pi->count[p]++] = i;
	}
	return true;
}

/* ---- without attachment (NEET) ---- */

/* Whether an enrolment fact runs on day d: started by then, not ended
 * before it, and no dropout from the same institution before it. */
static bool
enrolment_runs(const report_input *in, const report_fact *e, int32_t d,
	       const size_t *idx, size_t n)
{
	if (e->day > d)
		return false;
	for (size_t k = 0; k < n; k++) {
		const report_fact *g = &in->facts[idx[k]];
		if (strcmp(g->org, e->org) != 0)
			continue;
		if (g->type == REPORT_ENROL && g->day2 != 0 &&
		    g->day == e->day && g->day2 < d &&
		    (!g->prog[0] || strcmp(g->prog, e->prog) == 0))
			return false;
		if (g->type == REPORT_DROPOUT && g->day >= e->day &&
		    g->day < d)
			return false;
	}
	return true;
}

/* Whether a benefit fact's period runs on day d. The Jobcenter sends a
 * period's start and, once it stops, a second event with the same
 * jobcenter, benefit and start and the stop (docs/ADAPTERS.md): the
 * start event alone says nothing of the end. */
static bool
benefit_runs(const report_input *in, const report_fact *b, int32_t d,
	     const size_t *idx, size_t n)
{
	if (b->day > d || (b->day2 != 0 && b->day2 < d))
		return false;
	for (size_t k = 0; b->day2 == 0 && k < n; k++) {
		const report_fact *g = &in->facts[idx[k]];
		if (g->type == REPORT_BENEFIT && g->day2 != 0 && g->day2 < d &&
		    g->day == b->day && g->kind == b->kind &&
		    strcmp(g->org, b->org) == 0)
			return false;
	}
	return true;
}

static bool
neet_on(const report_input *in, uint32_t p, const size_t *idx, size_t n,
	int32_t d)
{
	int32_t exit = 0;
	bool benefit = false;
	for (size_t i = 0; i < n; i++) {
		const report_fact *f = &in->facts[idx[i]];
		if (f->type == REPORT_ENROL && f->day2 == 0 &&
		    enrolment_runs(in, f, d, idx, n))
			return false;
		if ((f->type == REPORT_DROPOUT || f->type == REPORT_LEAVING) &&
		    f->day <= d && f->day > exit)
			exit = f->day;
		if (f->type == REPORT_BENEFIT &&
		    benefit_runs(in, f, d, idx, n))
			benefit = true;
	}
	(void)p;
	if (benefit)
		return true;
	if (!exit)
		return false;
	for (size_t i = 0; i < n; i++) {
		const report_fact *f = &in->facts[idx[i]];
		if (f->type == REPORT_ENROL && f->day2 == 0 &&
		    f->day >= exit && f->day <= d)
			return false;
	}
	return true;
}

bool
report_neet(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"without attachment"};
	person_index pi = {0};
	labels rows = {0};
	triples tr = {0};
	bool ok = person_index_init(&pi, in);
	for (int32_t m = in->from; ok && m <= in->to;) {
		char iso[11];
		ug_date_format(m, iso);
		int y = atoi(iso), mo = atoi(iso + 5);
		int32_t next;
		char nx[32];
		snprintf(nx, sizeof nx, "%04d-%02d-01", mo == 12 ? y + 1 : y,
			 mo == 12 ? 1 : mo + 1);
		if (ug_date_parse(nx, &next) != UG_OK)
			break;
		if (m > in->asof)
			break;
		int32_t d = next - 1 < in->to ? next - 1 : in->to;
		if (d > in->asof)
			d = in->asof; /* the month so far */
		char label[REPORT_LABEL_MAX];
		snprintf(label, sizeof label, "%04d-%02d", y, mo);
		long row = label_index(&rows, label);
		ok = row >= 0;
		for (uint32_t p = 0; ok && p < in->npersons; p++) {
			int age = in->birth[p] != UG_NO_BIRTH
				      ? profile_age_on(in->birth[p], d)
				      : -1;
			if (age < 15 || age > 24)
				continue;
			if (neet_on(in, p, pi.idx + pi.start[p], pi.count[p],
				    d))
				ok = triple_add(&tr, row, 0, p);
		}
		m = next;
	}
	person_index_fini(&pi);
	ok = fill_table(t, "neet", &rows, true, cols, 1, &tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Young people known to the hub "
		 "without attachment to education, per month");
	snprintf(
	    t->note, sizeof t->note,
	    "Persons aged 15-24 on the month's "
	    "last day (or the period's end, or today if earlier) with no "
	    "running enrolment "
	    "that day and either a running benefit or a dropout or school "
	    "leaving on or before it with no enrolment started since. "
	    "Goal: halve the number, from 360 (2017) to 160.");
	t->chart_line = 1;
	report_suppress(t);
	return true;
}

/* ---- the legal clocks ---- */

typedef enum {
	CLOCK_MET,
	CLOCK_MISSED,
	CLOCK_ENROLLED,
	CLOCK_PENDING
} clock_outcome;

/* One dropout episode with the legal clocks, as the rules keep it. */
typedef struct {
	int32_t known;	 /* the day the hub received the first report */
	int32_t contact; /* the first contact (or offer) recorded, 0 none */
	int32_t offer;	 /* the first offer recorded, 0 none */
	int32_t closed;	 /* the day an enrolment closed the episode, 0 open */
	int32_t dropout_day;
	long prev; /* the person's run before it not closed by enrolment */
} clock_run;

/* What the rules keep of a person for the clocks (rule_education.c):
 * enrolled since when, the day they left, the open episode and the day of
 * its dropout. */
typedef struct {
	bool enrolled, open, left_by_dropout;
	int32_t enrolled_start, left_day, dropout_day;
	size_t chain; /* the open episode's latest dropout (a correction) */
	long run;     /* its clock run, -1 none */
	long runs; /* the latest run no enrolment closed; ->prev the others */
} clock_person;

static void
clock_left(clock_person *cp, int32_t day, bool dropout)
{
	/* An enrolment that started after this exit is already known: the
	 * person stays enrolled and no exit is noted. */
	if (cp->enrolled && cp->enrolled_start > day)
		return;
	cp->enrolled = false;
	cp->left_day = day;
	cp->left_by_dropout = dropout;
}

static clock_outcome
clock_judge(const report_input *in, int32_t done, int32_t closed, int32_t due)
{
	if (done && done <= due)
		return CLOCK_MET;
	if (closed && closed <= due)
		return CLOCK_ENROLLED;
	if (done || due < in->asof)
		return CLOCK_MISSED;
	return CLOCK_PENDING;
}

bool
report_clocks(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"met", "missed",
					   "closed by enrolment", "pending"};
	labels rows = {0};
	triples tr = {0};
	const rules_config *rc = in->rules;
	/* The rows name the deadlines of the rules file in force, which need
	 * not be the law's 5 working days and 30 days. */
	char contact[REPORT_LABEL_MAX], offer[REPORT_LABEL_MAX];
	snprintf(contact, sizeof contact, "1 contact within %d working day%s",
		 rc->deadline.contact_working_days,
		 rc->deadline.contact_working_days == 1 ? "" : "s");
	snprintf(offer, sizeof offer, "2 offer within %d day%s",
		 rc->deadline.offer_days,
		 rc->deadline.offer_days == 1 ? "" : "s");
	bool ok =
	    label_index(&rows, contact) >= 0 && label_index(&rows, offer) >= 0;
	clock_person *st = calloc(in->npersons + 1, sizeof *st);
	clock_run *runs = calloc(in->nfacts + 1, sizeof *runs);
	size_t nruns = 0;
	ok = ok && st && runs;
	for (size_t p = 0; ok && p < in->npersons; p++)
		st[p].run = st[p].runs = -1;
	/* The log replayed in its order, every event as the rules applied
	 * it: a superseded event was applied before its correction came. */
	for (size_t i = 0; ok && i < in->nfacts; i++) {
		const report_fact *f = &in->facts[i];
		uint8_t type = f->type ? f->type : f->was;
		if (f->person >= in->npersons)
			continue;
		clock_person *cp = &st[f->person];
		if (type == REPORT_ENROL && f->day2 != 0) {
			cp->enrolled = false;
		} else if (type == REPORT_ENROL) {
			/* Only an education that starts after the day the
			 * person left closes the episode, when reported. */
			bool out = cp->open || cp->left_day;
			if (out && f->day <= cp->left_day)
				continue;
			cp->enrolled = true;
			cp->enrolled_start = f->day;
			for (long r = cp->open ? cp->runs : -1; r >= 0;
			     r = runs[r].prev)
				if (!runs[r].closed)
					runs[r].closed = f->known;
			cp->open = false;
			cp->left_day = 0;
			cp->run = cp->runs = -1;
		} else if (type == REPORT_LEAVING) {
			/* A leaving dated before the exit the person is out
			 * since is not the latest exit, unless it corrects a
			 * day (rule_leaving). */
			if (f->corrects || cp->enrolled || !cp->left_day ||
			    f->day >= cp->left_day)
				clock_left(cp, f->day, false);
		} else if (type == REPORT_DROPOUT) {
			/* A correction of the open episode's dropout restarts
			 * no clock; a corrected date moves the day left. */
			if (f->corrects && cp->open &&
			    f->corrects - 1 == cp->chain) {
				cp->chain = i;
				cp->dropout_day = f->day;
				if (cp->run >= 0)
					runs[cp->run].dropout_day = f->day;
				if (cp->left_by_dropout && !cp->enrolled)
					cp->left_day = f->day;
				continue;
			}
			/* Back already in an education that started later:
			 * no episode opens. */
			if (cp->enrolled && cp->enrolled_start > f->day)
				continue;
			clock_left(cp, f->day, true);
			cp->open = true;
			cp->dropout_day = f->day;
			cp->chain = i;
			cp->run = -1;
			int32_t birth = in->birth[f->person];
			bool born = birth != UG_NO_BIRTH;
			int age = born ? profile_age_on(birth, f->day) : -1;
			if (rc->deadline.on.enabled && rc->dropout.enabled &&
			    born && age >= rc->deadline.min_age &&
			    age <= rc->deadline.max_age &&
			    in_period(in, f->known)) {
				/* Reported ahead of its date: the clock starts
				 * on it, as the rules' does. */
				runs[nruns] = (clock_run){
				    .known =
					f->known > f->day ? f->known : f->day,
				    .dropout_day = f->day,
				    .prev = cp->runs};
				cp->run = cp->runs = (long)nruns++;
			}
		} else if (type == REPORT_ACTION && cp->open) {
			/* The rules let an episode's clocks lapse when a new
			 * dropout opens another, but the duty to the person
			 * stays: a contact or offer answers every episode no
			 * enrolment closed, so one contact in time for the
			 * first is no miss of it. Done before an episode's
			 * dropout answers no duty of it, whatever exit
			 * followed it; an offer without a contact before it
			 * stands for both. */
			for (long r = cp->runs; r >= 0; r = runs[r].prev) {
				clock_run *run = &runs[r];
				if (f->day < run->dropout_day)
					continue;
				if (f->kind ==
					UNGEBRO__V1__ACTION_KIND__CONTACT_MADE &&
				    !run->contact) {
					run->contact = f->day;
				} else if (
				    f->kind ==
					UNGEBRO__V1__ACTION_KIND__OFFER_MADE &&
				    !run->offer) {
					run->offer = f->day;
					if (!run->contact)
						run->contact = f->day;
				}
			}
		}
	}
	/* Clocks, not persons: each episode is its own entry. */
	for (size_t r = 0; ok && r < nruns; r++) {
		const clock_run *run = &runs[r];
		int32_t due = deadline_contact_due(rc, run->known);
		/* A contact recorded closes the episode no more: an
		 * enrolment after it meets only the offer. */
		int32_t closed = run->contact ? 0 : run->closed;
		ok = triple_add(&tr, 0,
				clock_judge(in, run->contact, closed, due),
				(uint32_t)r);
		if (ok && run->contact)
			ok = triple_add(
			    &tr, 1,
			    clock_judge(in, run->offer, run->closed,
					deadline_offer_due(rc, run->contact)),
			    (uint32_t)r);
	}
	free(st);
	free(runs);
	ok = fill_table(t, "clocks", &rows, true, cols, 4, &tr) && ok;
	if (!ok)
		return false;
	memmove(t->rows[0], t->rows[0] + 2, REPORT_LABEL_MAX - 2);
	memmove(t->rows[1], t->rows[1] + 2, REPORT_LABEL_MAX - 2);
	/* One age, when the rules name one, is "16-year-olds", not
	 * "16-16-year-olds". */
	char ages[32];
	if (rc->deadline.min_age == rc->deadline.max_age)
		snprintf(ages, sizeof ages, "%d", rc->deadline.min_age);
	else
		snprintf(ages, sizeof ages, "%d-%d", rc->deadline.min_age,
			 rc->deadline.max_age);
	snprintf(t->title, sizeof t->title,
		 "The legal clocks for %s-year-olds who dropped out", ages);
	snprintf(
	    t->note, sizeof t->note,
	    "Clocks, not persons: a contact "
	    "clock for each dropout of a %s-year-old the hub received "
	    "in the period, an offer clock for each recorded contact (a "
	    "person who dropped out twice has two of each). Contact: met "
	    "when the first contact (or offer) recorded with the inbox is "
	    "dated within %d working day%s after the day the hub received "
	    "the dropout, whenever it was recorded. Offer: met when the "
	    "first offer is dated within %d day%s after the contact's date "
	    "(the summer holiday not counted). Closed by enrolment: an "
	    "enrolment in a new "
	    "education received by the deadline, before the contact (the "
	    "offer) was recorded. Missed: dated later, or none by the "
	    "deadline. Pending: the deadline has not passed "
	    "yet. Total: the clocks started.",
	    ages, rc->deadline.contact_working_days,
	    rc->deadline.contact_working_days == 1 ? "" : "s",
	    rc->deadline.offer_days, rc->deadline.offer_days == 1 ? "" : "s");
	t->row_total = true;
	t->chart_col = 1;
	report_suppress(t);
	return true;
}

/* ---- alerts ---- */

bool
report_alerts(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"raised",
					   "acknowledged",
					   "acknowledged in time",
					   "escalated",
					   "enrolment within 90 days",
					   "back on track within 90 days"};
	labels rows = {0};
	triples tr = {0};
	person_index pi = {0};
	bool ok = person_index_init(&pi, in);
	for (size_t i = 0; ok && i < in->nalerts; i++) {
		const report_alert *a = &in->alerts[i];
		if (!in_period(in, a->raised) ||
		    strcmp(a->rule, "escalation") == 0)
			continue;
		long row = label_index(&rows, a->rule);
		/* Alerts, not persons: each is its own entry. */
		uint32_t id = (uint32_t)i;
		ok = triple_add(&tr, row, 0, id);
		if (ok && !a->open)
			ok = triple_add(&tr, row, 1, id);
		if (ok && !a->open && a->escalations == 0)
			ok = triple_add(&tr, row, 2, id);
		if (ok && a->escalations)
			ok = triple_add(&tr, row, 3, id);
		bool enrol = false, back = false;
		size_t nf = a->person < in->npersons ? pi.count[a->person] : 0;
		for (size_t k = 0; k < nf && !enrol; k++) {
			const report_fact *f =
			    &in->facts[pi.idx[pi.start[a->person] + k]];
			/* What followed: logged after the record that
			 * raised the alert, received from its day on. */
			enrol = f->type == REPORT_ENROL && f->day2 == 0 &&
				f->person == a->person && f->seq > a->seq &&
				f->known >= a->raised &&
				f->known <= a->raised + 90;
		}
		for (size_t k = 0;
		     a->person != REPORT_NO_PERSON && k < in->nalerts && !back;
		     k++) {
			const report_alert *b = &in->alerts[k];
			back = b->person == a->person && k != i &&
			       strcmp(b->rule, "back_on_track") == 0 &&
			       b->seq > a->seq && b->raised >= a->raised &&
			       b->raised <= a->raised + 90;
		}
		if (ok && enrol)
			ok = triple_add(&tr, row, 4, id);
		if (ok && back)
			ok = triple_add(&tr, row, 5, id);
	}
	person_index_fini(&pi);
	ok = fill_table(t, "alerts", &rows, true, cols, 6, &tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Alerts per rule, and what "
		 "followed");
	snprintf(
	    t->note, sizeof t->note,
	    "Alerts raised in the period (by "
	    "the day raised; escalation notices not counted as alerts). "
	    "Acknowledged: no longer open. In time: acknowledged and never "
	    "escalated. Escalated: at least one escalation notice. Within "
	    "90 days: an Enrolment start of the person received from the "
	    "alert's day to 90 days after (and logged after the event that "
	    "raised it), or a back_on_track notice raised so.");
	t->col_total = true;
	t->chart_col = 0;
	report_suppress(t);
	return true;
}

/* ---- anonymous addiction counselling ---- */

bool
report_anonymous(const report_input *in, report_table *t)
{
	static const char *const cols[] = {"records"};
	static const char *const stages[] = {"referred", "treatment started",
					     "treatment ended", "other"};
	labels rows = {0};
	triples tr = {0};
	bool ok = true;
	for (size_t i = 0; i < 4 && ok; i++)
		ok = label_index(&rows, stages[i]) >= 0;
	for (size_t i = 0; ok && i < in->nfacts; i++) {
		const report_fact *f = &in->facts[i];
		if (f->type != REPORT_ANON || !in_period(in, f->day))
			continue;
		long row = f->kind >= 1 && f->kind <= 3 ? f->kind - 1 : 3;
		ok = triple_add(&tr, row, 0, REPORT_NO_PERSON);
	}
	ok = fill_table(t, "anonymous", &rows, false, cols, 1, &tr) && ok;
	if (!ok)
		return false;
	snprintf(t->title, sizeof t->title,
		 "Anonymous addiction counselling "
		 "(counts only)");
	snprintf(
	    t->note, sizeof t->note,
	    "Anonymous AddictionReferral records "
	    "(no CPR, never linked to one) dated in the period, by stage.");
	t->col_total = true;
	t->chart_col = 0;
	report_suppress(t);
	return true;
}

/* ---- corrections ---- */

typedef struct {
	const uint8_t *id;
	size_t fact;
} id_index;

static int
cmp_id(const void *a, const void *b)
{
	return memcmp(((const id_index *)a)->id, ((const id_index *)b)->id,
		      16);
}

void
report_drop_superseded(report_input *in, const uint8_t (*ids)[16],
		       const uint8_t (*sup)[16],
		       const char (*agency)[REPORT_LABEL_MAX])
{
	static const uint8_t zero[16];
	id_index *by_id = calloc(in->nfacts + 1, sizeof *by_id);
	bool *drop = calloc(in->nfacts + 1, sizeof *drop);
	/* Each fact's latest version so far, by the fact's first report: a
	 * correction may name the first report or any correction of it and
	 * corrects the fact as the latest of them left it (RULES.md §3). */
	size_t *root = calloc(in->nfacts + 1, sizeof *root);
	size_t *latest = calloc(in->nfacts + 1, sizeof *latest);
	if (!by_id || !drop || !root || !latest) {
		free(by_id);
		free(drop);
		free(root);
		free(latest);
		return;
	}
	for (size_t i = 0; i < in->nfacts; i++)
		root[i] = latest[i] = i;
	for (size_t i = 0; i < in->nfacts; i++)
		by_id[i] = (id_index){ids[i], i};
	qsort(by_id, in->nfacts, sizeof *by_id, cmp_id);
	/* Decided before any is dropped: a dropped correction still
	 * corrected what it named. */
	for (size_t j = 0; j < in->nfacts; j++) {
		if (memcmp(sup[j], zero, 16) == 0)
			continue;
		id_index key = {sup[j], 0};
		const id_index *hit =
		    bsearch(&key, by_id, in->nfacts, sizeof *by_id, cmp_id);
		/* About the same person too, as the rules and the timeline
		 * take it: a correction naming another person's event takes
		 * nothing from theirs (PROTOCOL.md, "Corrections"). An
		 * anonymous record has no person, so it corrects nothing. */
		if (hit && in->facts[j].person != REPORT_NO_PERSON &&
		    in->facts[hit->fact].seq < in->facts[j].seq &&
		    in->facts[hit->fact].person == in->facts[j].person &&
		    strcmp(agency[hit->fact], agency[j]) == 0) {
			size_t first = root[hit->fact];
			drop[latest[first]] = true;
			in->facts[j].corrects = latest[first] + 1;
			root[j] = first;
			latest[first] = j;
		}
	}
	for (size_t i = 0; i < in->nfacts; i++)
		if (drop[i]) {
			in->facts[i].was = in->facts[i].type;
			in->facts[i].type = 0;
		}
	free(by_id);
	free(drop);
	free(root);
	free(latest);
}
