/*
 * The absence rules, edge by edge. Rolling: exactly at the threshold,
 * window boundaries over weekends and holidays, one alert per episode,
 * episode end and restart, corrections, permitted leave, and the state's
 * serialised round trip. Quarter: "at 10 %" warns, 15 % notifies with one
 * alert, one alert per level per quarter, a new quarter resets, a late
 * report for a closed quarter changes nothing, the coverage minimum, and
 * only unlawful absence counts. Both: a period exported as one row per
 * kind counts its expected lessons once.
 */
#include "tests/unit/check.h"

#include "common/util.h"
#include "hub/rules.h"
#include "proto/ungebro.pb-c.h"

/* The defaults (DOMAIN: "10 % or more ... for any reason"). */
static const absence_config cfg = {
    .threshold_pct = 10, .window_days = 20, .count_permitted = true};
/* The rule as it was: strictly above, permitted leave left out. */
static const absence_config strict_cfg = {
    .threshold_pct = 10, .window_days = 20, .strictly_above = true};

static int32_t
day(const char *iso)
{
	int32_t d = 0;
	if (ug_date_parse(iso, &d) != UG_OK)
		FAIL("bad date in test: %s", iso);
	return d;
}

/* A Monday-to-Friday report starting on `monday`. */
static absence_report
week(const char *monday, unsigned absent)
{
	absence_report r = {.start = day(monday),
			    .end = day(monday) + 4,
			    .absent = (uint16_t)absent,
			    .expected = 30,
			    .kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL};
	r.event_id[0] = (uint8_t)absent;
	return r;
}

static absence_verdict
feed_with(const absence_config *c, absence_state *st, absence_report r)
{
	absence_verdict v;
	absence_apply(c, st, &r, &v);
	return v;
}

static absence_verdict
feed(absence_state *st, absence_report r)
{
	return feed_with(&cfg, st, r);
}

static absence_report
kind_row(absence_report r, int kind)
{
	r.kind = (uint8_t)kind;
	r.event_id[1] = (uint8_t)kind;
	return r;
}

static void
test_window_start_skips_weekends(void)
{
	/* 20 school days ending Friday 2026-10-02 start Monday 2026-09-07. */
	CHECK_EQ_INT(absence_window_start(&cfg, day("2026-10-02")),
		     day("2026-09-07"));
	/* Ending on a Sunday counts back from the Friday before it. */
	CHECK_EQ_INT(absence_window_start(&cfg, day("2026-10-04")),
		     day("2026-09-07"));
	absence_config one = {.window_days = 1};
	CHECK_EQ_INT(absence_window_start(&one, day("2026-10-05")),
		     day("2026-10-05"));
}

static void
test_exactly_at_threshold_raises_by_default(void)
{
	absence_state st = {0};
	/* 12 of 120 lessons = exactly 10 %: "10 % or more". The first
	 * week alone (3 of 30) is 10 % too. */
	CHECK(feed(&st, week("2026-09-07", 3)).raise);
	CHECK(!feed(&st, week("2026-09-14", 3)).raise);
	CHECK(!feed(&st, week("2026-09-21", 3)).raise);
	absence_verdict v = feed(&st, week("2026-09-28", 3));
	CHECK_EQ_INT(v.absent, 12);
	CHECK_EQ_INT(v.expected, 120);
	CHECK(st.in_episode);
	CHECK(!v.episode_ended);
	/* One lesson less falls under it: the episode ends. */
	v = feed(&st, week("2026-09-28", 2));
	CHECK(v.episode_ended);
}

static void
test_exactly_at_threshold_is_quiet_when_strict(void)
{
	absence_state st = {0};
	/* 12 of 120 lessons = exactly 10 %: not above. */
	CHECK(!feed_with(&strict_cfg, &st, week("2026-09-07", 3)).raise);
	CHECK(!feed_with(&strict_cfg, &st, week("2026-09-14", 3)).raise);
	CHECK(!feed_with(&strict_cfg, &st, week("2026-09-21", 3)).raise);
	absence_verdict v = feed_with(&strict_cfg, &st, week("2026-09-28", 3));
	CHECK_EQ_INT(v.absent, 12);
	CHECK_EQ_INT(v.expected, 120);
	CHECK(!v.raise);
	/* One more lesson in a correction of the last week tips it. */
	v = feed_with(&strict_cfg, &st, week("2026-09-28", 4));
	CHECK_EQ_INT(v.absent, 13);
	CHECK(v.raise);
}

static void
test_one_alert_per_episode(void)
{
	absence_state st = {0};
	int raised = 0, ended = 0;
	const char *mondays[] = {"2026-09-07", "2026-09-14", "2026-09-21",
				 "2026-09-28", "2026-10-05", "2026-10-12",
				 "2026-10-19", "2026-10-26", "2026-11-02",
				 "2026-11-09"};
	/* High for four weeks, then four clean weeks, then high again. */
	unsigned absent[] = {6, 6, 6, 6, 0, 0, 0, 0, 12, 12};
	for (int i = 0; i < 10; i++) {
		absence_verdict v =
		    feed_with(&strict_cfg, &st, week(mondays[i], absent[i]));
		raised += v.raise;
		ended += v.episode_ended;
		if (i == 0)
			CHECK(v.raise);
		/* Week 9 brings the window to exactly 10 %: still quiet. */
		if (i == 8)
			CHECK(!v.raise);
		if (i == 9)
			CHECK(v.raise);
	}
	CHECK_EQ_INT(raised, 2);
	CHECK_EQ_INT(ended, 1);
}

static void
test_window_drops_old_reports(void)
{
	absence_state st = {0};
	feed(&st, week("2026-09-07", 30)); /* a whole week absent */
	/* Five weeks later it is outside the 20-day window. */
	absence_verdict v = feed(&st, week("2026-10-12", 0));
	CHECK_EQ_INT(v.window_start, day("2026-09-21"));
	CHECK_EQ_INT(v.absent, 0);
	CHECK_EQ_INT(v.nused, 1);
	CHECK(v.episode_ended);
	CHECK_EQ_INT(st.count, 1);
}

static void
test_permitted_leave_not_counted_when_configured(void)
{
	absence_state st = {0};
	absence_report r = week("2026-09-07", 20);
	r.kind = UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE;
	absence_verdict v = feed_with(&strict_cfg, &st, r);
	CHECK(!v.raise);
	/* Kept: its expected lessons still count, and a reload may count
	 * its absence. */
	CHECK_EQ_INT(st.count, 1);
	CHECK_EQ_INT(v.absent, 0);
	CHECK_EQ_INT(v.expected, 30);
}

static void
test_permitted_leave_counts_by_default(void)
{
	absence_state st = {0};
	absence_report r = kind_row(
	    week("2026-09-07", 2), UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE);
	absence_report ill = kind_row(week("2026-09-07", 1),
				      UNGEBRO__V1__ABSENCE_KIND__ILLNESS);
	CHECK(!feed(&st, ill).raise); /* 1 of 30 */
	absence_verdict v = feed(&st, r);
	CHECK_EQ_INT(v.absent, 3);
	CHECK_EQ_INT(v.expected, 30);
	CHECK(v.raise); /* 3 of 30 = 10 % */
}

static void
test_kind_rows_count_expected_once(void)
{
	absence_state st = {0};
	/* Two weeks, each exported as an illness and an unlawful row of 30
	 * expected lessons: 8 of 60 absent, not 8 of 120. */
	const char *mondays[] = {"2026-09-07", "2026-09-14"};
	absence_verdict v;
	for (int i = 0; i < 2; i++) {
		feed(&st, kind_row(week(mondays[i], 2),
				   UNGEBRO__V1__ABSENCE_KIND__ILLNESS));
		v = feed(&st, kind_row(week(mondays[i], 2),
				       UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL));
	}
	CHECK_EQ_INT(v.absent, 8);
	CHECK_EQ_INT(v.expected, 60);
	CHECK_EQ_INT(v.nused, 4);
	CHECK(st.in_episode);
	/* The same under the strict rule: 13.3 % is above 10 %. */
	absence_state st2 = {0};
	for (int i = 0; i < 2; i++) {
		feed_with(&strict_cfg, &st2,
			  kind_row(week(mondays[i], 2),
				   UNGEBRO__V1__ABSENCE_KIND__ILLNESS));
		v = feed_with(&strict_cfg, &st2,
			      kind_row(week(mondays[i], 2),
				       UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL));
	}
	CHECK_EQ_INT(v.expected, 60);
	CHECK(st2.in_episode);
	/* A corrected unlawful row replaces its row, not adds: 6 of 60. */
	v = feed_with(&strict_cfg, &st2,
		      kind_row(week("2026-09-14", 0),
			       UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL));
	CHECK_EQ_INT(st2.count, 4);
	CHECK_EQ_INT(v.absent, 6);
	CHECK_EQ_INT(v.expected, 60);
	CHECK(v.episode_ended);
}

static void
test_kind_rows_of_two_schools_are_two_periods(void)
{
	absence_state st = {0};
	absence_report a = week("2026-09-07", 3), b = a;
	a.school = absence_school_key("280017");
	b.school = absence_school_key("280018");
	b.event_id[1] = 1;
	feed(&st, a);
	absence_verdict v = feed(&st, b);
	CHECK(a.school != b.school && a.school && b.school);
	CHECK_EQ_INT(st.count, 2);
	CHECK_EQ_INT(v.absent, 6);
	CHECK_EQ_INT(v.expected, 60);
	/* The same school's row for the period and kind is a correction. */
	absence_report again = a;
	again.absent = 0;
	v = feed(&st, again);
	CHECK_EQ_INT(st.count, 2);
	CHECK_EQ_INT(v.absent, 3);
}

static void
test_sum_takes_largest_expected_and_all_kinds(void)
{
	absence_report r[4] = {
	    kind_row(week("2026-09-07", 2),
		     UNGEBRO__V1__ABSENCE_KIND__ILLNESS),
	    kind_row(week("2026-09-07", 1),
		     UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL),
	    kind_row(week("2026-09-07", 5),
		     UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS),
	    kind_row(week("2026-09-14", 4),
		     UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL),
	};
	r[1].expected = 28; /* rows that disagree: the largest counts */
	uint16_t idx[] = {0, 1, 2, 3};
	uint32_t absent, expected;
	/* An ALL_KINDS total larger than the kinds' sum stands for them. */
	absence_sum(r, idx, 4, ~0u, &absent, &expected);
	CHECK_EQ_INT(absent, 5 + 4);
	CHECK_EQ_INT(expected, 60);
	r[2].absent = 1; /* smaller than the kinds' sum: the sum counts */
	absence_sum(r, idx, 4, ~0u, &absent, &expected);
	CHECK_EQ_INT(absent, 3 + 4);
	/* Unlawful only: the illness rows still tell the expected lessons. */
	absence_sum(r, idx, 3, 1u << UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL,
		    &absent, &expected);
	CHECK_EQ_INT(absent, 1);
	CHECK_EQ_INT(expected, 30);
	/* Illness left out: the total stands for the rest, 5 - 2. */
	r[2].absent = 5;
	absence_sum(r, idx, 3, ~(1u << UNGEBRO__V1__ABSENCE_KIND__ILLNESS),
		    &absent, &expected);
	CHECK_EQ_INT(absent, 3);
}

static void
test_version_1_state_still_parses(void)
{
	/* A state written before the school key: one report, 4 of 30. */
	uint8_t blob[4 + 29] = {1, 1, 0, 1};
	absence_report r = week("2026-09-07", 4);
	uint8_t *p = blob + 4;
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)((uint32_t)r.start >> (24 - 8 * i));
		p[4 + i] = (uint8_t)((uint32_t)r.end >> (24 - 8 * i));
	}
	p[9] = 4, p[11] = 30, p[12] = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL;
	absence_state st;
	CHECK(absence_state_parse(&st, blob, sizeof blob));
	CHECK_EQ_INT(st.count, 1);
	CHECK(st.in_episode);
	CHECK_EQ_INT(st.reports[0].school, 0);
	/* Its school is unknown: a re-sent row of any school corrects it. */
	absence_report again = r;
	again.school = absence_school_key("280017");
	again.absent = 1;
	absence_verdict v = feed(&st, again);
	CHECK_EQ_INT(st.count, 1);
	CHECK_EQ_INT(v.absent, 1);
}

static void
test_report_begun_before_the_window_counts_its_share(void)
{
	absence_state st = {0};
	/* Two weeks, half of them before the window of 10-05..10-30. */
	absence_report two = week("2026-09-28", 10);
	two.end = day("2026-10-09");
	two.expected = 60;
	feed(&st, two);
	feed(&st, week("2026-10-12", 0));
	feed(&st, week("2026-10-19", 0));
	absence_verdict v = feed(&st, week("2026-10-26", 0));
	CHECK_EQ_INT(v.window_start, day("2026-10-05"));
	CHECK_EQ_INT(v.first_day, day("2026-10-05"));
	CHECK_EQ_INT(v.covered_days, 20);
	CHECK_EQ_INT(v.nused, 4);
	CHECK_EQ_INT(v.absent, 5);
	CHECK_EQ_INT(v.expected, 120);
}

static void
test_late_report_counts_in_its_window(void)
{
	absence_state st = {0};
	feed(&st, week("2026-09-28", 2));
	/* An earlier week arriving late still lies in the window. */
	absence_verdict v = feed(&st, week("2026-09-14", 5));
	CHECK_EQ_INT(v.window_end, day("2026-10-02"));
	CHECK_EQ_INT(v.absent, 7);
	CHECK_EQ_INT(v.expected, 60);
	CHECK(v.raise);
}

static void
test_needs_min_days_covered(void)
{
	absence_config strict = {.threshold_pct = 10,
				 .window_days = 20,
				 .min_days = 10,
				 .strictly_above = true};
	absence_state st = {0};
	absence_report first = week("2026-09-07", 9), ill = first;
	ill.kind = UNGEBRO__V1__ABSENCE_KIND__ILLNESS;
	absence_verdict v;
	/* One week, even reported twice (two kinds), covers 5 days. */
	absence_apply(&strict, &st, &first, &v);
	absence_apply(&strict, &st, &ill, &v);
	CHECK_EQ_INT(v.covered_days, 5);
	CHECK(!v.raise);
	CHECK(!st.in_episode);
	absence_report second = week("2026-09-14", 0);
	absence_apply(&strict, &st, &second, &v);
	CHECK_EQ_INT(v.covered_days, 10);
	CHECK_EQ_INT(v.first_day, day("2026-09-07"));
	/* 18 of 60 lessons (the week's two rows expect 30 once): above,
	 * and now judged. */
	CHECK(v.raise);
}

static void
test_state_round_trip(void)
{
	absence_state st = {0}, back;
	feed(&st, week("2026-09-07", 6));
	feed(&st, week("2026-09-14", 1));
	uint8_t blob[ABSENCE_STATE_MAX];
	size_t len = absence_state_write(&st, blob, sizeof blob);
	CHECK(len > 0);
	CHECK(absence_state_parse(&back, blob, len));
	CHECK_EQ_INT(back.count, st.count);
	CHECK_EQ_INT(back.in_episode, st.in_episode);
	CHECK_EQ_MEM(&back.reports[1], &st.reports[1], sizeof st.reports[1]);
	CHECK(!absence_state_parse(&back, blob, len - 1));
	blob[0] = 99;
	CHECK(!absence_state_parse(&back, blob, len));
}

static void
test_full_state_evicts_oldest(void)
{
	absence_state st = {0};
	/* Daily reports: more than fit in the state, all inside the window
	 * of 60 school days used here. */
	absence_config wide = {.threshold_pct = 10, .window_days = 60};
	int32_t d = day("2026-09-07");
	for (int i = 0; i < ABSENCE_MAX_REPORTS + 5; i++, d++) {
		absence_report r = {.start = d,
				    .end = d,
				    .absent = 0,
				    .expected = 6,
				    .kind = 3};
		absence_verdict v;
		absence_apply(&wide, &st, &r, &v);
	}
	CHECK_EQ_INT(st.count, ABSENCE_MAX_REPORTS);
	for (int i = 0; i < st.count; i++)
		CHECK(st.reports[i].end >= day("2026-09-07") + 5);
}

/* ---- absence over a calendar ---- */

static void
test_window_over_autumn_holiday(void)
{
	calendar cal;
	calendar_defaults(&cal);
	absence_config hol = {.threshold_pct = 10,
			      .window_days = 20,
			      .min_days = 20,
			      .cal = &cal};
	/* 20 school days ending Friday 2026-10-30 skip week 42. */
	CHECK_EQ_INT(absence_window_start(&hol, day("2026-10-30")),
		     day("2026-09-28"));
	absence_state st = {0};
	absence_verdict v;
	/* Weeks 40, 41, 43 and 44: 20 school days around the holiday. */
	const char *mondays[] = {"2026-09-28", "2026-10-05", "2026-10-19",
				 "2026-10-26"};
	unsigned absent[] = {4, 3, 3, 3};
	for (int i = 0; i < 4; i++) {
		absence_report r = week(mondays[i], absent[i]);
		absence_apply(&hol, &st, &r, &v);
		if (i < 3)
			CHECK(!v.raise); /* not yet 20 days covered */
	}
	CHECK_EQ_INT(v.window_start, day("2026-09-28"));
	CHECK_EQ_INT(v.covered_days, 20);
	CHECK_EQ_INT(v.nused, 4);
	CHECK_EQ_INT(v.absent, 13);
	CHECK_EQ_INT(v.expected, 120);
	CHECK(v.raise);
	/* The same reports without the holiday calendar: the window starts
	 * 2026-10-05, covers 15 days, and the rule does not judge. */
	calendar plain;
	calendar_defaults(&plain);
	calendar_clear_school_holidays(&plain);
	absence_config nohol = hol;
	nohol.cal = &plain;
	absence_state st2 = {0};
	for (int i = 0; i < 4; i++) {
		absence_report r = week(mondays[i], absent[i]);
		absence_apply(&nohol, &st2, &r, &v);
	}
	CHECK_EQ_INT(v.window_start, day("2026-10-05"));
	CHECK_EQ_INT(v.covered_days, 15);
	CHECK(!v.raise);
}

static void
test_holiday_days_are_not_school_days(void)
{
	calendar cal;
	calendar_defaults(&cal);
	absence_config hol = {.threshold_pct = 10,
			      .window_days = 20,
			      .min_days = 1,
			      .cal = &cal};
	absence_state st = {0};
	absence_verdict v;
	/* A report over the autumn holiday covers no school day: with
	 * min_days 1 the rule does not judge it, however high. */
	absence_report r = week("2026-10-12", 30);
	absence_apply(&hol, &st, &r, &v);
	CHECK_EQ_INT(v.covered_days, 0);
	CHECK(!v.raise);
	/* Easter week 2026 is påskeferie by default: Thursday, Friday and
	 * Monday are public holidays, Monday-Wednesday school holiday, so
	 * 2026-03-30..04-06 covers no school day. */
	absence_state st2 = {0};
	absence_report easter = {.start = day("2026-03-30"),
				 .end = day("2026-04-06"),
				 .absent = 2,
				 .expected = 18,
				 .kind = UNGEBRO__V1__ABSENCE_KIND__ILLNESS};
	absence_apply(&hol, &st2, &easter, &v);
	CHECK_EQ_INT(v.covered_days, 0);
	CHECK(!v.raise);
	/* Without the Easter school holiday, Monday-Wednesday count. */
	calendar no_easter = cal;
	calendar_clear_school_holidays(&no_easter);
	absence_config plain = hol;
	plain.cal = &no_easter;
	absence_state st3 = {0};
	absence_apply(&plain, &st3, &easter, &v);
	CHECK_EQ_INT(v.covered_days, 3);
	CHECK(v.raise); /* 11.1 % of expected lessons */
}

/* ---- unlawful absence per quarter ---- */

static const quarter_config qcfg = {
    .warn_pct = 10, .notify_pct = 15, .min_days = 10};

/* The quarter rule's defaults over the Danish school calendar. */
static quarter_config
with_calendar(calendar *cal)
{
	calendar_defaults(cal);
	quarter_config c = qcfg;
	c.cal = cal;
	return c;
}

static quarter_verdict
qfeed(const quarter_config *c, quarter_state *st, absence_report r)
{
	quarter_verdict v;
	quarter_apply(c, st, &r, &v);
	return v;
}

static void
test_quarter_exactly_at_warn_level_warns(void)
{
	quarter_state st = {0};
	/* 3 of 30 in one week: 10 %, but only 5 days covered. */
	quarter_verdict v = qfeed(&qcfg, &st, week("2026-09-07", 3));
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_INT(v.covered_days, 5);
	/* Two weeks: 6 of 60 is exactly 10 %: "at 10 %" warns. */
	v = qfeed(&qcfg, &st, week("2026-09-14", 3));
	CHECK_EQ_INT(v.absent, 6);
	CHECK_EQ_INT(v.expected, 60);
	CHECK_EQ_INT(v.covered_days, 10);
	CHECK(v.warn);
	CHECK(!v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-07-01"));
	CHECK_EQ_INT(v.quarter_end, day("2026-09-30"));
	CHECK(st.warned && !st.notified);
}

static void
test_quarter_just_below_warn_is_quiet(void)
{
	quarter_state st = {0};
	/* 59 of 600 lessons: 9.83 %. */
	absence_report a = week("2026-09-07", 30), b = week("2026-09-14", 29);
	a.expected = b.expected = 300;
	CHECK(!qfeed(&qcfg, &st, a).warn);
	quarter_verdict v = qfeed(&qcfg, &st, b);
	CHECK(!v.warn && !v.notify);
	CHECK(!st.warned);
}

static void
test_quarter_straight_to_notify_is_one_alert(void)
{
	quarter_state st = {0};
	qfeed(&qcfg, &st, week("2026-09-07", 5));
	/* 9 of 60 = 15 %: both levels reached at once; one alert, the
	 * higher level. */
	quarter_verdict v = qfeed(&qcfg, &st, week("2026-09-14", 4));
	CHECK(v.notify);
	CHECK(!v.warn);
	CHECK(st.warned && st.notified);
	/* Rising further: nothing more this quarter. */
	v = qfeed(&qcfg, &st, week("2026-09-21", 30));
	CHECK(!v.warn && !v.notify);
}

static void
test_quarter_one_alert_per_level(void)
{
	quarter_state st = {0};
	int warns = 0, notifies = 0;
	/* 10 %, staying between the levels for weeks, then 15 %+. */
	unsigned absent[] = {3, 3, 4, 3, 3, 12};
	const char *mondays[] = {"2026-08-10", "2026-08-17", "2026-08-24",
				 "2026-08-31", "2026-09-07", "2026-09-14"};
	for (int i = 0; i < 6; i++) {
		quarter_verdict v =
		    qfeed(&qcfg, &st, week(mondays[i], absent[i]));
		warns += v.warn;
		notifies += v.notify;
		if (i == 1)
			CHECK(v.warn);
		if (i == 5) {
			/* 28 of 180 = 15.6 % */
			CHECK_EQ_INT(v.absent, 28);
			CHECK(v.notify);
		}
	}
	CHECK_EQ_INT(warns, 1);
	CHECK_EQ_INT(notifies, 1);
	/* Falling back under the warn level and rising again in the same
	 * quarter: no new alert (one per level per quarter). */
	absence_report clean = week("2026-09-21", 0);
	clean.expected = 600;
	qfeed(&qcfg, &st, clean);
	absence_report high = week("2026-09-28", 0);
	high.absent = high.expected = 600;
	quarter_verdict v = qfeed(&qcfg, &st, high);
	CHECK(v.absent * 100 >= v.expected * 15);
	CHECK(!v.warn && !v.notify);
}

static void
test_quarter_new_quarter_resets(void)
{
	quarter_state st = {0};
	qfeed(&qcfg, &st, week("2026-09-14", 6));
	CHECK(qfeed(&qcfg, &st, week("2026-09-21", 6)).notify);
	/* The first report of Q4 (ending in October) starts afresh: alone
	 * it covers 5 days, so nothing yet. */
	quarter_verdict v = qfeed(&qcfg, &st, week("2026-10-05", 3));
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.quarter_end, day("2026-12-31"));
	CHECK_EQ_INT(v.absent, 3);
	CHECK_EQ_INT(st.count, 1);
	CHECK(!st.warned && !st.notified);
	/* Week 42 is no school day in the defaults; without a calendar it
	 * counts. 6 of 60: the warning of Q4. */
	v = qfeed(&qcfg, &st, week("2026-10-12", 3));
	CHECK(v.warn);
	CHECK(!v.notify);
}

static void
test_quarter_late_report_for_old_quarter_ignored(void)
{
	quarter_state st = {0};
	qfeed(&qcfg, &st, week("2026-10-05", 0));
	qfeed(&qcfg, &st, week("2026-10-12", 0));
	quarter_state before = st;
	/* A late Q3 report, high enough to warn on its own quarter's
	 * figures: the quarter is closed, nothing changes. */
	absence_report late = week("2026-09-21", 30);
	quarter_verdict v = qfeed(&qcfg, &st, late);
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_INT(st.quarter, before.quarter);
	CHECK_EQ_INT(st.count, 2);
	CHECK_EQ_MEM(&st, &before, sizeof st);
}

static void
test_quarter_needs_min_days(void)
{
	quarter_state st = {0};
	/* A whole week absent: 100 %, but 5 days do not make a quarter. */
	quarter_verdict v = qfeed(&qcfg, &st, week("2026-09-07", 30));
	CHECK(!v.warn && !v.notify);
	/* The same week reported again (a correction) still covers 5. */
	v = qfeed(&qcfg, &st, week("2026-09-07", 29));
	CHECK_EQ_INT(v.covered_days, 5);
	CHECK_EQ_INT(st.count, 1);
	CHECK(!v.warn && !v.notify);
	/* Nine more days (Mon-Thu and Mon-Fri) make 14 covered: judged. */
	absence_report four = week("2026-09-14", 0);
	four.end = four.start + 3;
	v = qfeed(&qcfg, &st, four);
	CHECK_EQ_INT(v.covered_days, 9);
	CHECK(!v.warn && !v.notify);
	v = qfeed(&qcfg, &st, week("2026-09-21", 0));
	CHECK_EQ_INT(v.covered_days, 14);
	CHECK(v.notify); /* 29 of 90 */
	/* min_days 0 judges from the first report. */
	quarter_config any = qcfg;
	any.min_days = 0;
	quarter_state st2 = {0};
	CHECK(qfeed(&any, &st2, week("2026-09-07", 3)).warn);
}

static void
test_quarter_counts_school_days_with_calendar(void)
{
	calendar cal;
	quarter_config withcal = with_calendar(&cal);
	quarter_state st = {0};
	/* Weeks 41 and 42: week 42 is the autumn holiday, so only 5 school
	 * days are covered and the rule does not judge yet. */
	qfeed(&withcal, &st, week("2026-10-05", 9));
	quarter_verdict v = qfeed(&withcal, &st, week("2026-10-12", 0));
	CHECK_EQ_INT(v.covered_days, 5);
	CHECK(!v.warn && !v.notify);
	/* Week 43 brings it to 10 school days: judged, 9 of 90 = 10 %. */
	v = qfeed(&withcal, &st, week("2026-10-19", 0));
	CHECK_EQ_INT(v.covered_days, 10);
	CHECK_EQ_INT(v.absent, 9);
	CHECK_EQ_INT(v.expected, 90);
	CHECK(v.warn);
}

static void
test_quarter_only_unlawful_counts(void)
{
	quarter_config any = qcfg;
	any.min_days = 0;
	quarter_state st = {0};
	uint8_t kinds[] = {
	    UNGEBRO__V1__ABSENCE_KIND__ILLNESS,
	    UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE,
	    UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS,
	    UNGEBRO__V1__ABSENCE_KIND__ABSENCE_KIND_UNSPECIFIED};
	for (size_t i = 0; i < sizeof kinds; i++) {
		absence_report r = week("2026-09-07", 30);
		r.kind = kinds[i];
		quarter_verdict v = qfeed(&any, &st, r);
		CHECK(!v.warn && !v.notify);
		/* Kept for the period's expected lessons, counted once. */
		CHECK_EQ_INT(st.count, i + 1);
		CHECK_EQ_INT(v.absent, 0);
		CHECK_EQ_INT(v.expected, 30);
	}
	/* Unlawful absence for the same week does count. */
	quarter_verdict v = qfeed(&any, &st, week("2026-09-07", 3));
	CHECK(v.warn);
	CHECK_EQ_INT(v.absent, 3);
	CHECK_EQ_INT(v.expected, 30);
}

static void
test_quarter_kind_rows_count_expected_once(void)
{
	quarter_state st = {0};
	/* Two weeks as illness and unlawful rows: 6 of 60 unlawful (10 %),
	 * not 6 of 120. */
	const char *mondays[] = {"2026-09-07", "2026-09-14"};
	quarter_verdict v;
	for (int i = 0; i < 2; i++) {
		qfeed(&qcfg, &st,
		      kind_row(week(mondays[i], 3),
			       UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL));
		v = qfeed(&qcfg, &st,
			  kind_row(week(mondays[i], 4),
				   UNGEBRO__V1__ABSENCE_KIND__ILLNESS));
	}
	CHECK_EQ_INT(v.absent, 6);
	CHECK_EQ_INT(v.expected, 60);
	CHECK_EQ_INT(v.covered_days, 10);
	CHECK(st.warned); /* by the second week's unlawful row */
	/* A corrected unlawful row replaces its row. */
	v = qfeed(&qcfg, &st,
		  kind_row(week("2026-09-14", 6),
			   UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL));
	CHECK_EQ_INT(st.count, 4);
	CHECK_EQ_INT(v.absent, 9);
	CHECK(v.notify);
}

static void
test_quarter_week_without_unlawful_row_counts_expected(void)
{
	quarter_state st = {0};
	/* An illness-only week still tells its 30 expected lessons and its
	 * school days: 6 of 60 over 10 days. */
	qfeed(&qcfg, &st, week("2026-09-07", 6));
	quarter_verdict v =
	    qfeed(&qcfg, &st,
		  kind_row(week("2026-09-14", 9),
			   UNGEBRO__V1__ABSENCE_KIND__ILLNESS));
	CHECK_EQ_INT(v.covered_days, 10);
	CHECK_EQ_INT(v.absent, 6);
	CHECK_EQ_INT(v.expected, 60);
	CHECK(v.warn);
}

static void
test_quarter_state_round_trip(void)
{
	quarter_state st = {0}, back;
	qfeed(&qcfg, &st, week("2026-09-07", 3));
	qfeed(&qcfg, &st, week("2026-09-14", 3));
	uint8_t blob[QUARTER_STATE_MAX];
	size_t len = quarter_state_write(&st, blob, sizeof blob);
	CHECK_EQ_INT(len, 9 + 25 + 2 * 17);
	CHECK(quarter_state_parse(&back, blob, len));
	CHECK_EQ_INT(back.quarter, st.quarter);
	CHECK_EQ_INT(back.warned, 1);
	CHECK_EQ_INT(back.notified, 0);
	CHECK_EQ_INT(back.count, 2);
	CHECK_EQ_INT(back.reports[1].start, day("2026-09-14"));
	CHECK_EQ_INT(back.reports[1].absent, 3);
	CHECK(!quarter_state_parse(&back, blob, len - 1));
	CHECK_EQ_INT(quarter_state_write(&st, blob, len - 1), 0);
	blob[0] = 7;
	CHECK(!quarter_state_parse(&back, blob, len));
	/* A full quarter of daily reports fits the state's maximum. */
	quarter_state full = {0};
	quarter_config any = qcfg;
	any.min_days = 0;
	for (int32_t d = day("2026-07-01"); d <= day("2026-09-30"); d++) {
		absence_report r = {.start = d,
				    .end = d,
				    .absent = 0,
				    .expected = 6,
				    .kind =
					UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL};
		qfeed(&any, &full, r);
	}
	CHECK_EQ_INT(full.count, 92);
	CHECK(quarter_state_write(&full, blob, sizeof blob) > 0);
}

/* A period from `from` to `to` (inclusive) with its figures. */
static absence_report
period(const char *from, const char *to, unsigned absent, unsigned expected)
{
	absence_report r = {.start = day(from),
			    .end = day(to),
			    .absent = (uint16_t)absent,
			    .expected = (uint16_t)expected,
			    .kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL};
	return r;
}

static void
test_apportion_rounding_keeps_every_lesson(void)
{
	/* 6 lessons over 10 school days, 8 before the boundary and 2 after:
	 * 4.8 rounds to 5, the rest is 1. */
	CHECK_EQ_INT(absence_apportion(6, 0, 8, 10), 5);
	CHECK_EQ_INT(absence_apportion(6, 8, 2, 10), 1);
	/* Half a lesson rounds up in the first part, so not in the second. */
	CHECK_EQ_INT(absence_apportion(1, 0, 1, 2), 1);
	CHECK_EQ_INT(absence_apportion(1, 1, 1, 2), 0);
	CHECK_EQ_INT(absence_apportion(7, 0, 0, 5), 0);
	CHECK_EQ_INT(absence_apportion(7, 0, 5, 5), 7);
	CHECK_EQ_INT(absence_apportion(7, 0, 3, 0), 0);
	/* Every period, cut anywhere into up to three parts (a period over
	 * two boundaries): the parts add up to the whole, none is more than
	 * a lesson off its exact share. */
	for (uint32_t lessons = 0; lessons <= 70; lessons++)
		for (uint32_t days = 1; days <= 23; days++)
			for (uint32_t a = 0; a <= days; a++)
				for (uint32_t b = a; b <= days; b++) {
					uint32_t p1 = absence_apportion(
					    lessons, 0, a, days);
					uint32_t p2 = absence_apportion(
					    lessons, a, b - a, days);
					uint32_t p3 = absence_apportion(
					    lessons, b, days - b, days);
					if (p1 + p2 + p3 != lessons)
						FAIL("%u lessons, %u days, "
						     "cut at "
						     "%u and %u: %u + %u + %u",
						     lessons, days, a, b, p1,
						     p2, p3);
					uint64_t exact2 =
					    2 * (uint64_t)lessons * (b - a);
					uint64_t got2 =
					    2 * (uint64_t)p2 * days;
					if (got2 + 2 * days < exact2 ||
					    got2 > exact2 + 2 * days)
						FAIL("%u lessons, %u days, "
						     "part %u..%u: "
						     "%u",
						     lessons, days, a, b, p2);
				}
}

static void
test_quarter_report_inside_a_quarter_is_whole(void)
{
	calendar cal;
	quarter_config withcal = with_calendar(&cal);
	quarter_state st = {0};
	/* Odd figures that would round differently were they apportioned:
	 * a report wholly inside its quarter counts whole. */
	quarter_verdict v =
	    qfeed(&withcal, &st, period("2026-09-01", "2026-09-30", 7, 133));
	CHECK_EQ_INT(v.absent, 7);
	CHECK_EQ_INT(v.expected, 133);
	CHECK_EQ_INT(v.covered_days, 22);
	CHECK_EQ_INT(v.quarter_start, day("2026-07-01"));
	/* Ending on the quarter's first day (a Thursday) is inside it too. */
	v = qfeed(&withcal, &st, period("2026-10-01", "2026-10-01", 1, 7));
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.absent, 1);
	CHECK_EQ_INT(v.expected, 7);
	CHECK_EQ_INT(v.covered_days, 1);
}

static void
test_quarter_spanning_report_apportioned_warns_later_quarter(void)
{
	/* The case: two weeks 2026-09-28..10-09 (3 school days in
	 * Q3, 7 in Q4) with no unlawful absence of 60 expected, then
	 * Monday to Wednesday after the autumn holiday 6 of 18. Q4 holds 6
	 * of 42 + 18 = 60 lessons over 7 + 3 = 10 school days: exactly 10 %,
	 * a warning. Counting the whole report in Q4 made it 6 of 78. */
	calendar cal;
	quarter_config withcal = with_calendar(&cal);
	quarter_state st = {0};
	qfeed(&withcal, &st, week("2026-09-21", 0));
	quarter_verdict v =
	    qfeed(&withcal, &st, period("2026-09-28", "2026-10-09", 0, 60));
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.absent, 0);
	CHECK_EQ_INT(v.expected, 42);
	CHECK_EQ_INT(v.covered_days, 7);
	/* Q3 as it ended: its week's 30 lessons over 5 days. */
	CHECK_EQ_INT(st.prev.quarter, st.quarter - 1);
	CHECK_EQ_INT(st.prev.expected, 30);
	v = qfeed(&withcal, &st, period("2026-10-19", "2026-10-21", 6, 18));
	CHECK_EQ_INT(v.absent, 6);
	CHECK_EQ_INT(v.expected, 60);
	CHECK_EQ_INT(v.covered_days, 10);
	CHECK(v.warn);
	CHECK(!v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.quarter_end, day("2026-12-31"));
	CHECK(st.warned && !st.prev.warned);
}

static void
test_quarter_spanning_report_counts_in_the_quarter_before(void)
{
	/* No calendar: Monday to Friday. Q3 has 5 of 60 (8.3 %) over 10
	 * days; the report 09-28..10-09 of 10 of 60 brings 3 of its 10 days,
	 * so 3 of 18 lessons, into Q3: 8 of 78 (10.3 %), Q3's warning. Its
	 * last day's quarter alone (7 of 42 over 7 days) is not judged. */
	quarter_state st = {0};
	qfeed(&qcfg, &st, week("2026-09-14", 3));
	CHECK(!qfeed(&qcfg, &st, week("2026-09-21", 2)).warn);
	/* Its illness row comes first: it tells the period's expected
	 * lessons, Q3 stays under the level (5 of 78). */
	absence_report ill =
	    kind_row(period("2026-09-28", "2026-10-09", 9, 60),
		     UNGEBRO__V1__ABSENCE_KIND__ILLNESS);
	quarter_verdict v = qfeed(&qcfg, &st, ill);
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.expected, 42);
	/* The unlawful row of the same period still reaches Q3. */
	v = qfeed(&qcfg, &st, period("2026-09-28", "2026-10-09", 10, 60));
	CHECK(v.warn);
	CHECK(!v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-07-01"));
	CHECK_EQ_INT(v.quarter_end, day("2026-09-30"));
	CHECK_EQ_INT(v.absent, 8);
	CHECK_EQ_INT(v.expected, 78);
	CHECK_EQ_INT(v.covered_days, 13);
	CHECK(st.prev.warned && !st.warned);
	/* Once per level: a correction of the row raises nothing more in
	 * Q3; Q4 judges 7 of 42 over 7 days: too few days yet. */
	v = qfeed(&qcfg, &st, period("2026-09-28", "2026-10-09", 11, 60));
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.absent, 8);
	CHECK_EQ_INT(v.expected, 42);
	/* A report wholly in Q3 arriving now changes nothing. */
	quarter_state before = st;
	v = qfeed(&qcfg, &st, week("2026-09-07", 30));
	CHECK(!v.warn && !v.notify);
	CHECK_EQ_MEM(&st, &before, sizeof st);
	/* Q4's own next week: 8 of 72 over 12 days (11.1 %), its warning. */
	v = qfeed(&qcfg, &st, week("2026-10-12", 0));
	CHECK(v.warn);
	CHECK_EQ_INT(v.absent, 8);
	CHECK_EQ_INT(v.expected, 72);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
}

static void
test_quarter_spanning_report_both_quarters_reach_a_level(void)
{
	/* 5 of 30 over 3 + 2 days: 3 of 18 in Q3 and 2 of 12 in Q4, both
	 * 16.7 %. The verdict is the quarter before's; the later quarter's
	 * level is judged with its next report, here the period's illness
	 * row. */
	quarter_config any = qcfg;
	any.min_days = 0;
	quarter_state st = {0};
	absence_report r = period("2026-09-28", "2026-10-02", 5, 30);
	quarter_verdict v = qfeed(&any, &st, r);
	CHECK(v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-07-01"));
	CHECK_EQ_INT(v.absent, 3);
	CHECK_EQ_INT(v.expected, 18);
	CHECK(st.prev.notified && !st.notified);
	v = qfeed(&any, &st, kind_row(r, UNGEBRO__V1__ABSENCE_KIND__ILLNESS));
	CHECK(v.notify);
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(v.absent, 2);
	CHECK_EQ_INT(v.expected, 12);
	CHECK(st.notified);
}

static void
test_quarter_spanning_report_parts_add_up(void)
{
	/* Warn at 0 % judges every report: the first verdict is Q3's part,
	 * the same row again (Q3 used up) Q4's part. 7 of 31 over 3 + 2
	 * days: Q3 4.2 -> 4 of 18.6 -> 19, Q4 the rest, 3 of 12. */
	quarter_config all = {.warn_pct = 0, .notify_pct = 100};
	quarter_state st = {0};
	absence_report r = period("2026-09-28", "2026-10-02", 7, 31);
	quarter_verdict q3 = qfeed(&all, &st, r);
	quarter_verdict q4 = qfeed(&all, &st, r);
	CHECK_EQ_INT(q3.quarter_end, day("2026-09-30"));
	CHECK_EQ_INT(q4.quarter_start, day("2026-10-01"));
	CHECK_EQ_INT(q3.absent, 4);
	CHECK_EQ_INT(q3.expected, 19);
	CHECK_EQ_INT(q4.absent, 3);
	CHECK_EQ_INT(q4.expected, 12);
	CHECK_EQ_INT(q3.covered_days, 3);
	CHECK_EQ_INT(q4.covered_days, 2);
	/* A period of no school day at all (a weekend) is not split: it
	 * counts whole in the quarter of its last day. */
	calendar cal;
	calendar_defaults(&cal);
	all.cal = &cal; /* the Christmas holiday */
	quarter_state st2 = {0};
	quarter_verdict q1 =
	    qfeed(&all, &st2, period("2026-12-27", "2027-01-03", 2, 10));
	CHECK_EQ_INT(q1.quarter_start, day("2027-01-01"));
	CHECK_EQ_INT(q1.absent, 2);
	CHECK_EQ_INT(q1.expected, 10);
	CHECK_EQ_INT(q1.covered_days, 0);
}

static void
test_quarter_state_keeps_the_quarter_before(void)
{
	quarter_state st = {0}, back;
	qfeed(&qcfg, &st, week("2026-09-14", 3));
	qfeed(&qcfg, &st, week("2026-09-21", 3));
	qfeed(&qcfg, &st, period("2026-09-28", "2026-10-09", 0, 60));
	CHECK(st.prev.warned && !st.prev.notified);
	uint8_t blob[QUARTER_STATE_MAX];
	size_t len = quarter_state_write(&st, blob, sizeof blob);
	CHECK(quarter_state_parse(&back, blob, len));
	CHECK_EQ_MEM(&back.prev, &st.prev, sizeof st.prev);
	CHECK_EQ_INT(back.prev.absent, 6);
	CHECK_EQ_INT(back.prev.expected, 60);
	/* A version 2 state (no quarter before) still parses: the quarter
	 * before is unknown and a spanning report's part in it is not
	 * judged. */
	uint8_t v2[9 + 17] = {2};
	memcpy(v2 + 1, blob + 1, 8);
	v2[7] = 0, v2[8] = 1;
	memcpy(v2 + 9, blob + 9 + 25, 17);
	CHECK(quarter_state_parse(&back, v2, sizeof v2));
	CHECK_EQ_INT(back.count, 1);
	CHECK_EQ_INT(back.prev.quarter, 0);
	CHECK_EQ_INT(back.reports[0].expected, 60);
	quarter_verdict v =
	    qfeed(&qcfg, &back, period("2026-09-28", "2026-10-09", 30, 60));
	CHECK_EQ_INT(v.quarter_start, day("2026-10-01"));
	CHECK(!back.prev.warned);
}

TEST_LIST = {
    {"window start skips weekends", test_window_start_skips_weekends},
    {"exactly at threshold raises by default",
     test_exactly_at_threshold_raises_by_default},
    {"exactly at threshold is quiet when strict",
     test_exactly_at_threshold_is_quiet_when_strict},
    {"one alert per episode", test_one_alert_per_episode},
    {"window drops old reports", test_window_drops_old_reports},
    {"permitted leave not counted when configured",
     test_permitted_leave_not_counted_when_configured},
    {"permitted leave counts by default",
     test_permitted_leave_counts_by_default},
    {"kind rows count expected once", test_kind_rows_count_expected_once},
    {"kind rows of two schools are two periods",
     test_kind_rows_of_two_schools_are_two_periods},
    {"sum takes largest expected and all kinds",
     test_sum_takes_largest_expected_and_all_kinds},
    {"version 1 state still parses", test_version_1_state_still_parses},
    {"report begun before the window counts its share",
     test_report_begun_before_the_window_counts_its_share},
    {"late report counts in its window",
     test_late_report_counts_in_its_window},
    {"needs min days covered", test_needs_min_days_covered},
    {"state round trip", test_state_round_trip},
    {"full state evicts oldest", test_full_state_evicts_oldest},
    {"window over autumn holiday", test_window_over_autumn_holiday},
    {"holiday days are not school days",
     test_holiday_days_are_not_school_days},
    {"quarter exactly at warn level warns",
     test_quarter_exactly_at_warn_level_warns},
    {"quarter just below warn is quiet",
     test_quarter_just_below_warn_is_quiet},
    {"quarter straight to notify is one alert",
     test_quarter_straight_to_notify_is_one_alert},
    {"quarter one alert per level", test_quarter_one_alert_per_level},
    {"quarter new quarter resets", test_quarter_new_quarter_resets},
    {"quarter late report for old quarter ignored",
     test_quarter_late_report_for_old_quarter_ignored},
    {"quarter needs min days", test_quarter_needs_min_days},
    {"quarter counts school days with calendar",
     test_quarter_counts_school_days_with_calendar},
    {"quarter only unlawful counts", test_quarter_only_unlawful_counts},
    {"quarter kind rows count expected once",
     test_quarter_kind_rows_count_expected_once},
    {"quarter week without unlawful row counts expected",
     test_quarter_week_without_unlawful_row_counts_expected},
    {"quarter state round trip", test_quarter_state_round_trip},
    {"apportion rounding keeps every lesson",
     test_apportion_rounding_keeps_every_lesson},
    {"quarter report inside a quarter is whole",
     test_quarter_report_inside_a_quarter_is_whole},
    {"quarter spanning report apportioned warns later quarter",
     test_quarter_spanning_report_apportioned_warns_later_quarter},
    {"quarter spanning report counts in the quarter before",
     test_quarter_spanning_report_counts_in_the_quarter_before},
    {"quarter spanning report both quarters reach a level",
     test_quarter_spanning_report_both_quarters_reach_a_level},
    {"quarter spanning report parts add up",
     test_quarter_spanning_report_parts_add_up},
    {"quarter state keeps the quarter before",
     test_quarter_state_keeps_the_quarter_before},
    {NULL, NULL},
};
