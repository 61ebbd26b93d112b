/*
 * The absence rule, edge by edge: exactly at the threshold, window
 * boundaries over weekends, one alert per episode, episode end and restart,
 * corrections, permitted leave, and the state's serialised round trip.
 */
#include "tests/unit/check.h"

#include "common/util.h"
#include "hub/rules.h"
#include "proto/ungebro.pb-c.h"

static const absence_config cfg = {.threshold_pct = 10, .window_days = 20};

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
	absence_report r = {.start = day(monday), .end = day(monday) + 4,
	                    .absent = (uint16_t)absent, .expected = 30,
	                    .kind = UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL};
	r.event_id[0] = (uint8_t)absent;
	return r;
}

static absence_verdict
feed(absence_state *st, absence_report r)
{
	absence_verdict v;
	absence_apply(&cfg, st, &r, &v);
	return v;
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
test_exactly_at_threshold_is_quiet(void)
{
	absence_state st = {0};
	/* 12 of 120 lessons = exactly 10 %: not above. */
	CHECK(!feed(&st, week("2026-09-07", 3)).raise);
	CHECK(!feed(&st, week("2026-09-14", 3)).raise);
	CHECK(!feed(&st, week("2026-09-21", 3)).raise);
	absence_verdict v = feed(&st, week("2026-09-28", 3));
	CHECK_EQ_INT(v.absent, 12);
	CHECK_EQ_INT(v.expected, 120);
	CHECK(!v.raise);
	/* One more lesson in a correction of the last week tips it. */
	v = feed(&st, week("2026-09-28", 4));
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
		absence_verdict v = feed(&st, week(mondays[i], absent[i]));
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
test_permitted_leave_not_counted(void)
{
	absence_state st = {0};
	absence_report r = week("2026-09-07", 20);
	r.kind = UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE;
	absence_verdict v = feed(&st, r);
	CHECK(!v.raise);
	CHECK_EQ_INT(st.count, 0);
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
	absence_config strict = {.threshold_pct = 10, .window_days = 20,
	                         .min_days = 10};
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
	/* 18 of 90 lessons: above, and now judged. */
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
		absence_report r = {.start = d, .end = d, .absent = 0,
		                    .expected = 6, .kind = 3};
		absence_verdict v;
		absence_apply(&wide, &st, &r, &v);
	}
	CHECK_EQ_INT(st.count, ABSENCE_MAX_REPORTS);
	for (int i = 0; i < st.count; i++)
		CHECK(st.reports[i].end >= day("2026-09-07") + 5);
}

TEST_LIST = {
	{"window start skips weekends", test_window_start_skips_weekends},
	{"exactly at threshold is quiet", test_exactly_at_threshold_is_quiet},
	{"one alert per episode", test_one_alert_per_episode},
	{"window drops old reports", test_window_drops_old_reports},
	{"permitted leave not counted", test_permitted_leave_not_counted},
	{"late report counts in its window",
	 test_late_report_counts_in_its_window},
	{"needs min days covered", test_needs_min_days_covered},
	{"state round trip", test_state_round_trip},
	{"full state evicts oldest", test_full_state_evicts_oldest},
	{NULL, NULL},
};
