/*
 * The annual status's pure parts: suppression of small cells (primary and
 * secondary, on every additive line), the programme types, and a few
 * figures computed from hand-made facts.
 */
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "hub/report.h"
#include "hub/rules_config.h"
#include "proto/wire.h"
#include "tests/unit/check.h"

static report_table
table(size_t nrows, size_t ncols, const long *values, bool rt, bool ct)
{
	report_table t;
	if (!report_table_init(&t, "t", nrows, ncols))
		FAIL("out of memory");
	for (size_t r = 0; r < nrows; r++)
		for (size_t c = 0; c < ncols; c++)
			*report_cell(&t, r, c) = values[r * ncols + c];
	t.row_total = rt;
	t.col_total = ct;
	report_suppress(&t);
	return t;
}

/* Every additive line has 0 or at least 2 hidden entries, and every
 * count from 1 to 4 is hidden: no hidden value is the total minus the
 * shown ones. */
static void
check_safe(report_table *t)
{
	for (size_t r = 0; r <= t->nrows; r++)
		for (size_t c = 0; c <= t->ncols; c++) {
			long v = *report_cell(t, r, c);
			if (report_exists(t, r, c) && v > 0 && v < 5)
				CHECK(report_hidden(t, r, c) ==
				      REPORT_PRIMARY);
		}
	if (t->row_total)
		for (size_t r = 0; r <= t->nrows; r++) {
			if (!report_exists(t, r, 0))
				continue;
			int h = 0;
			for (size_t c = 0; c <= t->ncols; c++)
				h += report_hidden(t, r, c) != 0;
			CHECK(h != 1);
		}
	if (t->col_total)
		for (size_t c = 0; c <= t->ncols; c++) {
			if (!report_exists(t, 0, c))
				continue;
			int h = 0;
			for (size_t r = 0; r <= t->nrows; r++)
				h += report_hidden(t, r, c) != 0;
			CHECK(h != 1);
		}
}

static void
test_primary_and_secondary(void)
{
	const long v[] = {3, 20, 10, 12};
	report_table t = table(2, 2, v, true, true);
	CHECK_EQ_INT(report_hidden(&t, 0, 0), REPORT_PRIMARY);
	/* Row 0 would give 3 away as 23 - 20: 20 goes too; column 0 as
	 * 13 - 10: 10 goes; then row 1 as 22 - 12: 12 goes. */
	CHECK_EQ_INT(report_hidden(&t, 0, 1), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&t, 1, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&t, 1, 1), REPORT_SECONDARY);
	CHECK_EQ_INT(*report_cell(&t, 0, 2), 23);
	CHECK_EQ_INT(*report_cell(&t, 2, 2), 45);
	CHECK_EQ_INT(report_hidden(&t, 2, 2), REPORT_SHOWN);
	check_safe(&t);
	report_table_fini(&t);
}

static void
test_next_smallest_is_chosen(void)
{
	const long v[] = {2, 50, 7, 30};
	report_table t = table(1, 4, v, true, false);
	CHECK_EQ_INT(report_hidden(&t, 0, 0), REPORT_PRIMARY);
	CHECK_EQ_INT(report_hidden(&t, 0, 2), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&t, 0, 1), REPORT_SHOWN);
	CHECK_EQ_INT(report_hidden(&t, 0, 3), REPORT_SHOWN);
	CHECK_EQ_INT(report_hidden(&t, 0, 4), REPORT_SHOWN);
	check_safe(&t);
	report_table_fini(&t);
}

static void
test_zero_is_not_the_partner(void)
{
	/* A zero marked "x" would give 3 away as 32 - 20 - 9 - 0: the
	 * partner is the smallest cell above zero. */
	const long v[] = {3, 0, 20, 9};
	report_table t = table(1, 4, v, true, false);
	CHECK_EQ_INT(report_hidden(&t, 0, 1), REPORT_SHOWN);
	CHECK_EQ_INT(report_hidden(&t, 0, 3), REPORT_SECONDARY);
	check_safe(&t);
	report_table_fini(&t);
}

static void
test_zero_shown_two_small_need_nothing_more(void)
{
	const long v[] = {0, 3, 4, 40};
	report_table t = table(1, 4, v, true, false);
	CHECK_EQ_INT(report_hidden(&t, 0, 0), REPORT_SHOWN);
	CHECK_EQ_INT(report_hidden(&t, 0, 1), REPORT_PRIMARY);
	CHECK_EQ_INT(report_hidden(&t, 0, 2), REPORT_PRIMARY);
	CHECK_EQ_INT(report_hidden(&t, 0, 3), REPORT_SHOWN);
	check_safe(&t);
	report_table_fini(&t);
}

static void
test_small_total_hidden(void)
{
	/* A column total of 3 is a count of 3 persons. */
	const long v[] = {1, 9, 2, 9};
	report_table t = table(2, 2, v, false, true);
	CHECK_EQ_INT(report_hidden(&t, 2, 0), REPORT_PRIMARY);
	CHECK_EQ_INT(report_hidden(&t, 2, 1), REPORT_SHOWN);
	check_safe(&t);
	report_table_fini(&t);
}

static void
test_no_totals_primary_only(void)
{
	const long v[] = {4, 100, 5};
	report_table t = table(3, 1, v, false, false);
	CHECK_EQ_INT(report_hidden(&t, 0, 0), REPORT_PRIMARY);
	CHECK_EQ_INT(report_hidden(&t, 1, 0), REPORT_SHOWN);
	CHECK_EQ_INT(report_hidden(&t, 2, 0), REPORT_SHOWN);
	report_table_fini(&t);
}

static void
test_random_tables_are_safe(void)
{
	srand(7);
	for (int n = 0; n < 2000; n++) {
		size_t rows = 1 + (size_t)(rand() % 6);
		size_t cols = 1 + (size_t)(rand() % 5);
		long v[30];
		for (size_t i = 0; i < rows * cols; i++)
			v[i] = rand() % 3 ? rand() % 40 : rand() % 6;
		report_table t = table(rows, cols, v, rand() % 2, rand() % 2);
		check_safe(&t);
		report_table_fini(&t);
	}
}

/* Detail rows in groups whose sums are the summary's cells (the starts
 * per institution and per programme type): after the linked pass no
 * such line, and no line of either table, has exactly one hidden
 * entry. */
static void
test_linked_tables_are_safe(void)
{
	srand(11);
	for (int n = 0; n < 2000; n++) {
		size_t groups = 1 + (size_t)(rand() % 4);
		size_t rows = 1 + (size_t)(rand() % 8);
		long v[8], sums[4] = {0}, group[9];
		for (size_t r = 0; r < rows; r++) {
			v[r] = rand() % 3 ? rand() % 30 : rand() % 6;
			group[r] = rand() % (long)groups;
			sums[group[r]] += v[r];
		}
		group[rows] = (long)groups;
		report_table d = table(rows, 1, v, false, true);
		report_table s = table(groups, 1, sums, false, true);
		CHECK(report_suppress_linked(&d, 0, &s, 0, group));
		check_safe(&d);
		check_safe(&s);
		for (size_t g = 0; g <= groups; g++) {
			int h = report_hidden(&s, g, 0) != 0;
			for (size_t r = 0; r <= rows; r++)
				if (group[r] == (long)g)
					h += report_hidden(&d, r, 0) != 0;
			CHECK(h != 1);
		}
		report_table_fini(&d);
		report_table_fini(&s);
	}
}

static void
test_starts_of_one_type_do_not_give_a_start_back(void)
{
	/* gym-a 3, eud-c 10, gym-b 12: the column hides 3 and 10; the
	 * types' gymnasium 15 and EUD 10 would give both back. */
	const long starts[] = {10, 3, 12}, types[] = {15, 10};
	const long group[] = {1, 0, 0, 2};
	report_table d = table(3, 1, starts, false, true);
	report_table s = table(2, 1, types, false, true);
	CHECK_EQ_INT(report_hidden(&d, 0, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&s, 0, 0), REPORT_SHOWN);
	CHECK(report_suppress_linked(&d, 0, &s, 0, group));
	CHECK_EQ_INT(report_hidden(&d, 1, 0), REPORT_PRIMARY);
	CHECK_EQ_INT(report_hidden(&d, 2, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&s, 0, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&s, 1, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&d, 3, 0), REPORT_SHOWN);
	CHECK_EQ_INT(report_hidden(&s, 2, 0), REPORT_SHOWN);
	report_table_fini(&d);
	report_table_fini(&s);
}

static void
test_same_figure_in_two_tables(void)
{
	/* A row 20 | 7 | 2 | 0 hides the 2 and the 7; a second table's
	 * column 7, 5, 9 shows the same 7 and must hide it, and with it a
	 * second figure of its own column (the 5, the smallest). A pair
	 * naming a row the table lacks is skipped. */
	const long row[] = {20, 7, 2, 0};
	const long col[] = {7, 5, 9};
	report_table a = table(1, 4, row, true, false);
	report_table b = table(3, 1, col, false, true);
	CHECK_EQ_INT(report_hidden(&a, 0, 1), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&b, 0, 0), REPORT_SHOWN);
	const size_t pairs[][4] = {{0, 1, 0, 0}, {0, 3, 9, 0}};
	CHECK(report_suppress_same(&a, &b, pairs, 2));
	CHECK_EQ_INT(report_hidden(&b, 0, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&b, 1, 0), REPORT_SECONDARY);
	CHECK_EQ_INT(report_hidden(&b, 2, 0), REPORT_SHOWN);
	check_safe(&a);
	check_safe(&b);
	report_table_fini(&a);
	report_table_fini(&b);
}

static void
test_programme_types(void)
{
	CHECK_EQ_STR(report_programme_type("stx", "gym-albertslund"),
		     "gymnasium");
	CHECK_EQ_STR(report_programme_type("hhx", ""), "gymnasium");
	CHECK_EQ_STR(report_programme_type("eud-tomrer", ""), "EUD");
	CHECK_EQ_STR(report_programme_type("eux-data", ""), "EUD");
	CHECK_EQ_STR(report_programme_type("fgu-egu", ""), "FGU");
	CHECK_EQ_STR(report_programme_type("", "eud-vestegnen"), "EUD");
	CHECK_EQ_STR(report_programme_type("x1", "college-x"), "other");
	/* The institution's prefix is gym-, eud- or fgu-, dash and all: an
	 * id that merely begins with the letters is no such college. */
	CHECK_EQ_STR(report_programme_type("x1", "gymnastics-club"), "other");
	CHECK_EQ_STR(report_programme_type("", "eudora-school"), "other");
	CHECK_EQ_STR(report_programme_type("", "fguld"), "other");
	CHECK_EQ_STR(report_programme_type("", "fgu-vest"), "FGU");
	CHECK_EQ_STR(report_programme_type("", "gym-nord"), "gymnasium");
	/* Exports write codes in either case: STX is stx. */
	CHECK_EQ_STR(report_programme_type("STX", ""), "gymnasium");
	CHECK_EQ_STR(report_programme_type("Eud-tomrer", ""), "EUD");
	CHECK_EQ_STR(report_programme_type("FGU", ""), "FGU");
	CHECK_EQ_STR(report_programme_type("X1", "EUD-Vest"), "EUD");
}

static int32_t
day(const char *iso)
{
	int32_t d = 0;
	if (ug_date_parse(iso, &d) != UG_OK)
		FAIL("bad date %s", iso);
	return d;
}

static report_input
input(report_fact *facts, size_t n, int32_t *birth, size_t persons)
{
	static rules_config rc;
	rules_config_defaults(&rc);
	return (report_input){.facts = facts,
			      .nfacts = n,
			      .birth = birth,
			      .npersons = persons,
			      .from = day("2026-01-01"),
			      .to = day("2026-12-31"),
			      .asof = day("2026-12-31"),
			      .rules = &rc};
}

static void
test_absence_expected_counted_once(void)
{
	/* One week: 2 lessons of illness and 4 unlawful of 30 expected is
	 * 4/30 unlawful (13 %: 10-15) and 6/30 for any reason (chronic),
	 * not 4/60. */
	report_fact f[2] = {0};
	for (int i = 0; i < 2; i++) {
		f[i].type = REPORT_ABSENCE;
		f[i].person = 0;
		f[i].day = day("2026-09-07");
		f[i].day2 = day("2026-09-11");
		f[i].n2 = 30;
		strcpy(f[i].org, "school-a");
	}
	f[0].n1 = 2;
	f[0].kind = UNGEBRO__V1__ABSENCE_KIND__ILLNESS;
	f[1].n1 = 4;
	f[1].kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
	int32_t birth[1] = {0};
	report_input in = input(f, 2, birth, 1);
	report_table t;
	CHECK(report_absence_bands(&in, &t));
	CHECK_EQ_INT(t.nrows, 1);
	CHECK_EQ_STR(t.rows[0], "school-a 2026 Q3");
	CHECK_EQ_INT(*report_cell(&t, 0, 1), 1);
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 0);
	CHECK_EQ_INT(report_hidden(&t, 0, 1), REPORT_PRIMARY);
	report_table_fini(&t);
	CHECK(report_absence_chronic(&in, &t));
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 1);
	report_table_fini(&t);
}

static void
test_absence_correction_replaces(void)
{
	/* 6 of 30 unlawful (20 %), then corrected to 1 of 30: under 10 %. */
	report_fact f[2] = {0};
	for (int i = 0; i < 2; i++) {
		f[i].type = REPORT_ABSENCE;
		f[i].day = day("2026-09-07");
		f[i].day2 = day("2026-09-11");
		f[i].n2 = 30;
		f[i].kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
		strcpy(f[i].org, "school-a");
	}
	f[0].n1 = 6;
	f[1].n1 = 1;
	int32_t birth[1] = {0};
	report_input in = input(f, 2, birth, 1);
	report_table t;
	CHECK(report_absence_bands(&in, &t));
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 1);
	CHECK_EQ_INT(*report_cell(&t, 0, 2), 0);
	report_table_fini(&t);
}

static void
test_superseded_only_by_same_agency_later(void)
{
	/* 0: school-a's report; 1: college-b names it (not a correction);
	 * 2: names 3, which was stored after it; 4 names itself (refused
	 * at ingest, but a report reads old logs too). None drops anything;
	 * then 3, school-a's and later, names 0: 0 alone is dropped. */
	report_fact f[5] = {0};
	uint8_t ids[5][16] = {{0}}, sup[5][16] = {{0}};
	char agency[5][REPORT_LABEL_MAX] = {
	    "school-a", "college-b", "school-a", "school-a", "school-a"};
	for (int i = 0; i < 5; i++) {
		f[i].type = REPORT_ABSENCE;
		f[i].seq = (uint64_t)(i + 1);
		memset(ids[i], 'a' + i, 16);
	}
	memcpy(sup[1], ids[0], 16);
	memcpy(sup[2], ids[3], 16);
	memcpy(sup[4], ids[4], 16);
	int32_t birth[1] = {0};
	report_input in = input(f, 5, birth, 1);
	report_drop_superseded(&in, (const uint8_t(*)[16])ids,
			       (const uint8_t(*)[16])sup,
			       (const char(*)[REPORT_LABEL_MAX])agency);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(f[i].type, REPORT_ABSENCE);
	memcpy(sup[3], ids[0], 16);
	report_drop_superseded(&in, (const uint8_t(*)[16])ids,
			       (const uint8_t(*)[16])sup,
			       (const char(*)[REPORT_LABEL_MAX])agency);
	CHECK_EQ_INT(f[0].type, 0);
	for (int i = 1; i < 5; i++)
		CHECK_EQ_INT(f[i].type, REPORT_ABSENCE);
	/* 2, school-a's and about another person, names 1: nothing. */
	f[0].type = REPORT_ABSENCE;
	f[2].person = 1;
	memset(sup, 0, sizeof sup);
	memcpy(sup[2], ids[1], 16);
	strcpy(agency[1], "school-a");
	report_drop_superseded(&in, (const uint8_t(*)[16])ids,
			       (const uint8_t(*)[16])sup,
			       (const char(*)[REPORT_LABEL_MAX])agency);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(f[i].type, REPORT_ABSENCE);
}

static void
test_readiness_latest_assessment(void)
{
	/* Six pupils in grade 8: person 0 assessed twice (not ready, then
	 * ready), so 1 not ready of 6 assessed. */
	report_fact f[7] = {0};
	for (int i = 0; i < 7; i++) {
		f[i].type = REPORT_READY;
		f[i].person = (uint32_t)(i < 6 ? i : 0);
		f[i].n1 = 8;
		f[i].day = day("2026-01-15");
		f[i].flag = i != 0 && i != 1;
		strcpy(f[i].org, "school-a");
	}
	int32_t birth[6] = {0};
	report_input in = input(f, 7, birth, 6);
	report_table t;
	CHECK(report_readiness(&in, &t));
	CHECK_EQ_STR(t.rows[0], "school-a 2026 grade 8");
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 5);
	CHECK_EQ_INT(*report_cell(&t, 0, 1), 1);
	CHECK_EQ_INT(*report_cell(&t, 0, 2), 6);
	CHECK_EQ_INT(report_hidden(&t, 0, 1), REPORT_PRIMARY);
	CHECK(report_hidden(&t, 0, 0) != REPORT_SHOWN);
	report_table_fini(&t);
}

static void
test_readiness_latest_in_the_period(void)
{
	/* Not ready in March, ready in September of the same year: a report
	 * on the first half year counts the March assessment, the year the
	 * September one. */
	report_fact f[2] = {{.type = REPORT_READY, .n1 = 9},
			    {.type = REPORT_READY, .n1 = 9, .flag = true}};
	f[0].day = day("2026-03-02");
	f[1].day = day("2026-09-01");
	strcpy(f[0].org, "school-a");
	strcpy(f[1].org, "school-a");
	int32_t birth[1] = {0};
	report_input in = input(f, 2, birth, 1);
	in.to = day("2026-06-30");
	report_table t;
	CHECK(report_readiness(&in, &t));
	CHECK_EQ_INT(*report_cell(&t, 0, 1), 1);
	report_table_fini(&t);
	in.to = day("2026-12-31");
	CHECK(report_readiness(&in, &t));
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 1);
	CHECK_EQ_INT(*report_cell(&t, 0, 1), 0);
	report_table_fini(&t);
}

static void
test_neet_ends_one_programme_of_two(void)
{
	/* On benefit all year and enrolled in two programmes of one college
	 * from 2026-01-12; the end of one (2026-02-28) leaves the other
	 * running, the end of both makes the person one without
	 * attachment from March. */
	report_fact f[5] = {0};
	const char *prog[] = {"eud-a", "eud-b", "eud-a", "eud-b"};
	for (int i = 0; i < 4; i++) {
		f[i].type = REPORT_ENROL;
		f[i].day = day("2026-01-12");
		f[i].day2 = i >= 2 ? day("2026-02-28") : 0;
		f[i].seq = (uint64_t)(i + 1);
		strcpy(f[i].org, "eud-x");
		strcpy(f[i].prog, prog[i]);
	}
	f[4] = (report_fact){.type = REPORT_BENEFIT, .seq = 5, .kind = 1};
	f[4].day = day("2026-01-01");
	strcpy(f[4].org, "jc-a");
	int32_t birth[1] = {day("2006-05-01")};
	report_fact only_a[4] = {f[0], f[1], f[2], f[4]};
	report_input in = input(only_a, 4, birth, 1);
	report_table t;
	CHECK(report_neet(&in, &t));
	for (size_t r = 0; r < t.nrows; r++)
		CHECK_EQ_INT(*report_cell(&t, r, 0), 0);
	report_table_fini(&t);
	in = input(f, 5, birth, 1);
	CHECK(report_neet(&in, &t));
	CHECK_EQ_STR(t.rows[2], "2026-03");
	CHECK_EQ_INT(*report_cell(&t, 1, 0), 0);
	CHECK_EQ_INT(*report_cell(&t, 2, 0), 1);
	report_table_fini(&t);
}

static void
test_clock_met_and_missed(void)
{
	/* Two 16-year-olds drop out, received Monday 2026-09-07 (contact due
	 * Monday 09-14): one contacted on 09-09, one never. */
	report_fact f[3] = {0};
	for (int i = 0; i < 2; i++) {
		f[i].type = REPORT_DROPOUT;
		f[i].person = (uint32_t)i;
		f[i].seq = (uint64_t)i + 1;
		f[i].day = f[i].known = day("2026-09-07");
		strcpy(f[i].org, "college-a");
	}
	f[2].type = REPORT_ACTION;
	f[2].person = 0;
	f[2].seq = 3;
	f[2].kind = UNGEBRO__V1__ACTION_KIND__CONTACT_MADE;
	f[2].day = day("2026-09-09");
	int32_t birth[2] = {day("2010-03-01"), day("2010-05-01")};
	report_input in = input(f, 3, birth, 2);
	report_table t;
	CHECK(report_clocks(&in, &t));
	CHECK_EQ_STR(t.rows[0], "contact within 5 working days");
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 1); /* met */
	CHECK_EQ_INT(*report_cell(&t, 0, 1), 1); /* missed */
	/* The offer clock of the contacted one ran out (due 10-09). */
	CHECK_EQ_INT(*report_cell(&t, 1, 1), 1);
	report_table_fini(&t);
}

static void
test_alerts_what_followed(void)
{
	/* Six dropout alerts (seq 1-6); five persons enrol afterwards, one
	 * enrolment was logged before its alert and does not count. One
	 * alert is open, one was escalated and then acknowledged. */
	report_fact f[6] = {0};
	report_alert a[6] = {0};
	int32_t raised = day("2026-09-07");
	for (int i = 0; i < 6; i++) {
		strcpy(a[i].rule, "dropout");
		a[i].seq = (uint64_t)i + 10;
		a[i].person = (uint32_t)i;
		a[i].raised = raised;
		f[i].type = REPORT_ENROL;
		f[i].person = (uint32_t)i;
		f[i].seq = i < 5 ? 100 + (uint64_t)i : 1;
		f[i].day = f[i].known = raised + 20;
	}
	a[0].open = true;
	a[1].escalations = 1;
	int32_t birth[6] = {0};
	report_input in = input(f, 6, birth, 6);
	in.alerts = a;
	in.nalerts = 6;
	report_table t;
	CHECK(report_alerts(&in, &t));
	CHECK_EQ_STR(t.rows[0], "dropout");
	CHECK_EQ_INT(*report_cell(&t, 0, 0), 6);
	CHECK_EQ_INT(*report_cell(&t, 0, 1), 5);
	CHECK_EQ_INT(*report_cell(&t, 0, 2), 4);
	CHECK_EQ_INT(*report_cell(&t, 0, 3), 1);
	CHECK_EQ_INT(*report_cell(&t, 0, 4), 5);
	CHECK_EQ_INT(report_hidden(&t, 0, 3), REPORT_PRIMARY);
	report_table_fini(&t);
}

TEST_LIST = {
    {"primary and secondary", test_primary_and_secondary},
    {"next smallest is chosen", test_next_smallest_is_chosen},
    {"zero is not the partner", test_zero_is_not_the_partner},
    {"zero shown, two small need nothing more",
     test_zero_shown_two_small_need_nothing_more},
    {"small total hidden", test_small_total_hidden},
    {"no totals: primary only", test_no_totals_primary_only},
    {"random tables are safe", test_random_tables_are_safe},
    {"linked tables are safe", test_linked_tables_are_safe},
    {"starts of one type do not give a start back",
     test_starts_of_one_type_do_not_give_a_start_back},
    {"the same figure in two tables", test_same_figure_in_two_tables},
    {"programme types", test_programme_types},
    {"absence: expected counted once", test_absence_expected_counted_once},
    {"absence: a correction replaces", test_absence_correction_replaces},
    {"corrections: same agency, later",
     test_superseded_only_by_same_agency_later},
    {"readiness: latest assessment", test_readiness_latest_assessment},
    {"readiness: latest in the period", test_readiness_latest_in_the_period},
    {"neet: one programme of two ends", test_neet_ends_one_programme_of_two},
    {"clocks: met and missed", test_clock_met_and_missed},
    {"alerts: what followed", test_alerts_what_followed},
    {NULL, NULL},
};
