/*
 * hub/calendar: Danish public holidays (fixed and Easter-based, Great
 * Prayer Day only before 2024), school-holiday ranges (dated, yearly over
 * New Year, ISO weeks including the week 53 / week 1 edges), and counting
 * school days back and working days forward over weekends and holidays;
 * Copenhagen's offset from UTC at both summer-time switches, and office
 * hours counted in Danish time over closing, weekends, public holidays and
 * the switches, with their settings parsed and refused.
 */
#include "tests/unit/check.h"

#include "common/util.h"
#include "hub/calendar.h"

static int32_t
day(const char *iso)
{
	int32_t d = 0;
	if (ug_date_parse(iso, &d) != UG_OK)
		FAIL("bad date in test: %s", iso);
	return d;
}

static const char *
iso(int32_t d)
{
	static char buf[4][11];
	static int next;
	char *out = buf[next++ % 4];
	ug_date_format(d, out);
	return out;
}

/* A calendar with no school holidays: only weekends and public holidays. */
static calendar
bare(void)
{
	calendar cal;
	calendar_defaults(&cal);
	calendar_clear_school_holidays(&cal);
	return cal;
}

static void
check_holidays(const calendar *cal, const char *const *dates, size_t n,
	       bool want)
{
	for (size_t i = 0; i < n; i++)
		if (calendar_is_public_holiday(cal, day(dates[i])) != want)
			FAIL("%s: expected %sa public holiday", dates[i],
			     want ? "" : "not ");
}

static void
test_fixed_public_holidays(void)
{
	calendar cal = bare();
	static const char *const yes[] = {
	    "2025-01-01", "2025-06-05", "2025-12-24",
	    "2025-12-25", "2025-12-26", "2026-01-01",
	    "2026-06-05", "2026-12-25", "2027-12-26",
	};
	static const char *const no[] = {
	    "2025-01-02", "2025-06-04", "2025-12-23",
	    "2025-12-27", "2025-12-31", "2026-05-01",
	};
	check_holidays(&cal, yes, sizeof yes / sizeof *yes, true);
	check_holidays(&cal, no, sizeof no / sizeof *no, false);
	/* Christmas Eve is configuration. */
	cal.christmas_eve_is_holiday = false;
	CHECK(!calendar_is_public_holiday(&cal, day("2025-12-24")));
	CHECK(calendar_is_public_holiday(&cal, day("2025-12-25")));
}

static void
test_easter_based_holidays(void)
{
	calendar cal = bare();
	/* Maundy Thursday, Good Friday, Easter Sunday, Easter Monday,
	 * Ascension, Whit Sunday, Whit Monday. Easter: 2025-04-20,
	 * 2026-04-05, 2027-03-28. */
	static const char *const yes[] = {
	    "2025-04-17", "2025-04-18", "2025-04-20", "2025-04-21",
	    "2025-05-29", "2025-06-08", "2025-06-09", "2026-04-02",
	    "2026-04-03", "2026-04-05", "2026-04-06", "2026-05-14",
	    "2026-05-24", "2026-05-25", "2027-03-25", "2027-03-26",
	    "2027-03-28", "2027-03-29", "2027-05-06", "2027-05-16",
	    "2027-05-17",
	};
	/* The days around them are not holidays (Easter Saturday is not). */
	static const char *const no[] = {
	    "2025-04-16", "2025-04-19", "2025-04-22", "2025-05-28",
	    "2025-05-30", "2025-06-10", "2026-04-01", "2026-04-04",
	    "2026-04-07", "2026-05-15", "2026-05-26", "2027-03-24",
	    "2027-03-27", "2027-03-30", "2027-05-07", "2027-05-18",
	};
	check_holidays(&cal, yes, sizeof yes / sizeof *yes, true);
	check_holidays(&cal, no, sizeof no / sizeof *no, false);
	/* Easter Monday 2026 is a Monday that is neither a working nor a
	 * school day. */
	CHECK_EQ_INT(ug_weekday(day("2026-04-06")), 0);
	CHECK(!calendar_is_working_day(&cal, day("2026-04-06")));
	CHECK(!calendar_is_school_day(&cal, day("2026-04-06")));
	CHECK(calendar_is_working_day(&cal, day("2026-04-07")));
}

static void
test_great_prayer_day_until_2023(void)
{
	calendar cal = bare();
	/* Store bededag, the fourth Friday after Easter: a holiday until it
	 * was abolished from 2024. */
	CHECK(calendar_is_public_holiday(&cal, day("2022-05-13")));
	CHECK(calendar_is_public_holiday(&cal, day("2023-05-05")));
	CHECK(calendar_is_working_day(&cal, day("2024-04-26")) == true);
	CHECK(!calendar_is_public_holiday(&cal, day("2024-04-26")));
	CHECK(!calendar_is_public_holiday(&cal, day("2025-05-16")));
	CHECK(!calendar_is_public_holiday(&cal, day("2026-05-01")));
	CHECK(!calendar_is_public_holiday(&cal, day("2027-04-23")));
}

static void
test_weekends(void)
{
	calendar cal = bare();
	CHECK(!calendar_is_working_day(&cal, day("2026-09-12"))); /* Sat */
	CHECK(!calendar_is_working_day(&cal, day("2026-09-13"))); /* Sun */
	CHECK(calendar_is_working_day(&cal, day("2026-09-14")));
	CHECK(!calendar_is_school_day(&cal, day("2026-09-13")));
	CHECK(calendar_is_school_day(&cal, day("2026-09-14")));
}

static void
test_default_school_holidays(void)
{
	calendar cal;
	calendar_defaults(&cal);
	CHECK_EQ_INT(cal.nschool_holidays, 5);
	CHECK(cal.christmas_eve_is_holiday);
	/* Winter holiday week 7 of 2026: 2026-02-09..15. */
	CHECK(calendar_is_school_day(&cal, day("2026-02-06")));
	CHECK(!calendar_is_school_day(&cal, day("2026-02-09")));
	CHECK(!calendar_is_school_day(&cal, day("2026-02-13")));
	CHECK(calendar_is_school_day(&cal, day("2026-02-16")));
	/* Autumn holiday week 42 of 2026: 2026-10-12..18. */
	CHECK(calendar_is_school_day(&cal, day("2026-10-09")));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-12")));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-16")));
	CHECK(calendar_is_school_day(&cal, day("2026-10-19")));
	/* School holidays are still working days (the municipality works). */
	CHECK(calendar_is_working_day(&cal, day("2026-10-12")));
	/* Christmas 12-21..01-02 over New Year. */
	CHECK(calendar_is_school_day(&cal, day("2026-12-18")));
	CHECK(!calendar_is_school_day(&cal, day("2026-12-21")));
	CHECK(!calendar_is_school_day(&cal, day("2026-12-30")));
	CHECK(!calendar_is_school_day(&cal, day("2027-01-01")));
	CHECK(calendar_is_working_day(&cal, day("2026-12-30")));
	/* 2027-01-04 is the first school day of 2027 (01-02 is a Saturday
	 * anyway; the range ends on 01-02). */
	CHECK(calendar_is_school_day(&cal, day("2027-01-04")));
	/* Summer 06-27..08-09. */
	CHECK(calendar_is_school_day(&cal, day("2026-06-26")));
	CHECK(!calendar_is_school_day(&cal, day("2026-06-29")));
	CHECK(!calendar_is_school_day(&cal, day("2026-08-07")));
	CHECK(calendar_is_school_day(&cal, day("2026-08-10")));
}

static void
test_dated_range(void)
{
	calendar cal = bare();
	CHECK_OK(
	    calendar_add_school_holiday(&cal, "2026-10-14..2026-10-16", NULL));
	CHECK_EQ_INT(cal.nschool_holidays, 1);
	CHECK(calendar_is_school_day(&cal, day("2026-10-13")));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-14")));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-16")));
	CHECK(calendar_is_school_day(&cal, day("2026-10-19")));
	/* Dated: only that year. */
	CHECK(calendar_is_school_day(&cal, day("2027-10-14")));
	/* One day is a range too. */
	CHECK_OK(
	    calendar_add_school_holiday(&cal, "2026-11-02..2026-11-02", NULL));
	CHECK(!calendar_is_school_day(&cal, day("2026-11-02")));
	CHECK(calendar_is_school_day(&cal, day("2026-11-03")));
}

static void
test_yearly_range_wraps_new_year(void)
{
	calendar cal = bare();
	CHECK_OK(calendar_add_school_holiday(&cal, "12-28..01-05", NULL));
	CHECK(calendar_is_school_day(&cal, day("2026-12-23")));
	CHECK(!calendar_is_school_day(&cal, day("2026-12-28")));
	CHECK(!calendar_is_school_day(&cal, day("2027-01-05")));
	CHECK(calendar_is_school_day(&cal, day("2027-01-06")));
	/* Every year. */
	CHECK(!calendar_is_school_day(&cal, day("2025-12-29")));
	CHECK(!calendar_is_school_day(&cal, day("2026-01-02")));
	CHECK(calendar_is_school_day(&cal, day("2026-01-06")));
	/* A range inside one year does not wrap. */
	calendar c2 = bare();
	CHECK_OK(calendar_add_school_holiday(&c2, "03-02..03-04", NULL));
	CHECK(!calendar_is_school_day(&c2, day("2026-03-03")));
	CHECK(calendar_is_school_day(&c2, day("2026-03-05")));
	CHECK(calendar_is_school_day(&c2, day("2026-06-03")));
}

static void
test_range_spelling(void)
{
	/* Keywords in any case, spaces around "..": the same ranges. */
	calendar cal = bare();
	CHECK_OK(calendar_add_school_holiday(&cal, "Week 42", NULL));
	CHECK_OK(calendar_add_school_holiday(&cal, "EASTER", NULL));
	CHECK_OK(calendar_add_school_holiday(&cal, "Easter -3 .. +1", NULL));
	CHECK_OK(calendar_add_school_holiday(&cal, "12-28 .. 01-05", NULL));
	CHECK_OK(calendar_add_school_holiday(&cal, "2027-02-15 ..2027-02-19",
					     NULL));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-14")));
	CHECK(!calendar_is_school_day(&cal, day("2026-03-30")));
	CHECK(!calendar_is_school_day(&cal, day("2027-01-05")));
	CHECK(!calendar_is_school_day(&cal, day("2027-02-17")));
	CHECK(calendar_is_school_day(&cal, day("2027-02-22")));
	/* A tab around ".." or after a keyword is a blank as a space is. */
	calendar tabs = bare();
	CHECK_OK(calendar_add_school_holiday(&tabs, "12-21\t..\t01-02", NULL));
	CHECK_OK(calendar_add_school_holiday(&tabs, "2026-10-12\t..2026-10-16",
					     NULL));
	CHECK_OK(
	    calendar_add_school_holiday(&tabs, "easter\t-3\t..\t+1", NULL));
	CHECK_OK(calendar_add_school_holiday(&tabs, "Week\t7", NULL));
	CHECK(!calendar_is_school_day(&tabs, day("2026-12-21")));
	CHECK(!calendar_is_school_day(&tabs, day("2027-01-01")));
	CHECK(!calendar_is_school_day(&tabs, day("2026-10-14")));
	CHECK(!calendar_is_school_day(&tabs, day("2026-04-02")));
	CHECK(!calendar_is_school_day(&tabs, day("2026-02-11")));
	CHECK(calendar_is_school_day(&tabs, day("2026-10-19")));
	CHECK(calendar_is_school_day(&tabs, day("2026-04-01")));
	/* A refused one is named as written. */
	ug_diag diag = {0};
	CHECK(calendar_add_school_holiday(&cal, "12-28 .. 01-32", &diag) !=
	      UG_OK);
	CHECK(strstr(diag.reason, "'12-28 .. 01-32' is not a holiday range") !=
	      NULL);
}

static void
test_iso_week(void)
{
	calendar cal = bare();
	CHECK_OK(calendar_add_school_holiday(&cal, "week 42", NULL));
	/* Week 42: 2025-10-13..19, 2026-10-12..18, 2027-10-18..24. */
	CHECK(calendar_is_school_day(&cal, day("2025-10-10")));
	CHECK(!calendar_is_school_day(&cal, day("2025-10-13")));
	CHECK(!calendar_is_school_day(&cal, day("2025-10-17")));
	CHECK(calendar_is_school_day(&cal, day("2025-10-20")));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-12")));
	CHECK(calendar_is_school_day(&cal, day("2026-10-19")));
	CHECK(calendar_is_school_day(&cal, day("2027-10-15")));
	CHECK(!calendar_is_school_day(&cal, day("2027-10-18")));
	CHECK(!calendar_is_school_day(&cal, day("2027-10-22")));
}

/* RULES.md section 9: the space after `week` and `easter` may be left
 * out; the same holidays as with it. */
static void
test_week_and_easter_without_a_space(void)
{
	calendar cal = bare();
	CHECK_OK(calendar_add_school_holiday(&cal, "week42", NULL));
	CHECK_OK(calendar_add_school_holiday(&cal, "EASTER-3..+1", NULL));
	CHECK(!calendar_is_school_day(&cal, day("2026-10-12")));
	CHECK(calendar_is_school_day(&cal, day("2026-10-19")));
	/* Easter Sunday 2026 is 04-05: 04-02..04-06 off, 04-01 not. */
	CHECK(calendar_is_school_day(&cal, day("2026-04-01")));
	CHECK(!calendar_is_school_day(&cal, day("2026-04-02")));
	CHECK(!calendar_is_school_day(&cal, day("2026-04-06")));
	CHECK(calendar_is_school_day(&cal, day("2026-04-07")));
}

static void
test_iso_week_1_in_previous_year(void)
{
	calendar cal = bare();
	CHECK_OK(calendar_add_school_holiday(&cal, "week 1", NULL));
	/* ISO week 1 of 2025 begins on Monday 2024-12-30. */
	CHECK(calendar_is_school_day(&cal, day("2024-12-27")));
	CHECK(!calendar_is_school_day(&cal, day("2024-12-30")));
	CHECK(!calendar_is_school_day(&cal, day("2024-12-31")));
	CHECK(!calendar_is_school_day(&cal, day("2025-01-03")));
	CHECK(calendar_is_school_day(&cal, day("2025-01-06")));
	/* Week 1 of 2027 is 2027-01-04..10: 2026-12-28..31 is week 53. */
	CHECK(calendar_is_school_day(&cal, day("2026-12-28")));
	CHECK(!calendar_is_school_day(&cal, day("2027-01-04")));
	CHECK(!calendar_is_school_day(&cal, day("2027-01-08")));
	CHECK(calendar_is_school_day(&cal, day("2027-01-11")));
}

static void
test_iso_week_53_only_in_long_years(void)
{
	calendar cal = bare();
	CHECK_OK(calendar_add_school_holiday(&cal, "week 53", NULL));
	/* 2026 has 53 ISO weeks: week 53 is 2026-12-28..2027-01-03. */
	CHECK(calendar_is_school_day(&cal, day("2026-12-23")));
	CHECK(!calendar_is_school_day(&cal, day("2026-12-28")));
	CHECK(!calendar_is_school_day(&cal, day("2026-12-30")));
	CHECK(calendar_is_school_day(&cal, day("2027-01-04")));
	/* 2027 has 52: the week after its week 52 is week 1 of 2028
	 * (2028-01-03..09), which "week 53" must not mean. */
	CHECK(calendar_is_school_day(&cal, day("2027-12-30")));
	CHECK(calendar_is_school_day(&cal, day("2028-01-03")));
	CHECK(calendar_is_school_day(&cal, day("2028-01-07")));
	/* 2025 has 52 too: 2025-12-29 starts week 1 of 2026. */
	CHECK(calendar_is_school_day(&cal, day("2025-12-29")));
	CHECK(calendar_is_school_day(&cal, day("2026-01-02")));
	/* 2020 had 53: 2020-12-28..2021-01-03. */
	CHECK(!calendar_is_school_day(&cal, day("2020-12-28")));
	CHECK(!calendar_is_school_day(&cal, day("2021-01-01")));
}

static void
test_bad_ranges_refused(void)
{
	calendar cal = bare();
	static const char *const bad[] = {
	    "",
	    "week",
	    "week 0",
	    "week 54",
	    "week 7x",
	    "2026-10-16..2026-10-14",
	    "2026-10-12",
	    "2026-13-01..2026-13-05",
	    "13-01..13-05",
	    "12-21",
	    "12-21..",
	    "..01-02",
	    "10-12..10-32",
	    "autumn",
	    "02-27..02-30",
	    "04-31..05-02",
	    "06-31..08-09",
	    "2026-10-12..10-16",
	    /* MM-DD is two digits each: a sign or a blank is no month. */
	    "+1-05..02-03",
	    "01-05..+2-03",
	    "01- 5..02-03",
	    "01-+5..02-03",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		ug_diag diag = {0};
		if (calendar_add_school_holiday(&cal, bad[i], &diag) == UG_OK)
			FAIL("'%s' was accepted", bad[i]);
		CHECK(strstr(diag.reason, "not a holiday range") != NULL);
	}
	CHECK_EQ_INT(cal.nschool_holidays, 0);
}

static void
test_too_many_ranges(void)
{
	calendar cal = bare();
	for (int i = 0; i < CALENDAR_RANGES_MAX; i++)
		CHECK_OK(calendar_add_school_holiday(&cal, "week 7", NULL));
	ug_diag diag = {0};
	CHECK_ERR(calendar_add_school_holiday(&cal, "week 8", &diag),
		  UG_EINVAL);
	CHECK(strstr(diag.reason, "more than") != NULL);
}

static void
test_school_days_back_over_weekends(void)
{
	calendar cal = bare();
	/* 20 school days ending Friday 2026-10-02 start Monday 2026-09-07. */
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&cal, day("2026-10-02"), 20)),
	    "2026-09-07");
	/* From a Sunday: counted back from the Friday before. */
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&cal, day("2026-10-04"), 20)),
	    "2026-09-07");
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&cal, day("2026-10-05"), 1)),
	    "2026-10-05");
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&cal, day("2026-10-04"), 1)),
	    "2026-10-02");
}

static void
test_school_days_back_over_holidays(void)
{
	calendar cal;
	calendar_defaults(&cal);
	/* Ending Friday 2026-10-30: weeks 44, 43, (42 is the autumn
	 * holiday), 41, 40: the window starts Monday 2026-09-28. */
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&cal, day("2026-10-30"), 20)),
	    "2026-09-28");
	/* Without the autumn holiday it would start 2026-10-05. */
	calendar plain = bare();
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&plain, day("2026-10-30"), 20)),
	    "2026-10-05");
	/* Over Easter 2026 (Thursday 04-02 to Monday 04-06 off): 5 school
	 * days ending Wednesday 04-08 are 04-08, 04-07, 04-01, 03-31,
	 * 03-30. */
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&plain, day("2026-04-08"), 5)),
	    "2026-03-30");
	/* Over Christmas with the defaults: 3 school days ending Tuesday
	 * 2027-01-05 are 01-05, 01-04 and Friday 2026-12-18. */
	CHECK_EQ_STR(
	    iso(calendar_school_days_back(&cal, day("2027-01-05"), 3)),
	    "2026-12-18");
}

static void
test_add_working_days(void)
{
	calendar cal;
	calendar_defaults(&cal);
	/* From a Monday: 5 working days is the next Monday. */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-09-07"), 5)),
	    "2026-09-14");
	/* From a Friday or a Saturday: 1 working day is the Monday. */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-09-11"), 1)),
	    "2026-09-14");
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-09-12"), 1)),
	    "2026-09-14");
	/* 0: the day itself, even on a weekend. */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-09-12"), 0)),
	    "2026-09-12");
	/* School holidays are working days: week 42 counts. */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-10-09"), 5)),
	    "2026-10-16");
	/* Over Easter 2026: from Wednesday 04-01, 5 working days are
	 * 04-07, 04-08, 04-09, 04-10, 04-13. */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-04-01"), 5)),
	    "2026-04-13");
	/* Over Christmas: from Tuesday 2026-12-22, 5 working days are
	 * 12-23, 12-28, 12-29, 12-30, 12-31 (24-26 are holidays). */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-12-22"), 5)),
	    "2026-12-31");
	/* ... and 6 skips New Year's Day (a Friday) to Monday 2027-01-04. */
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-12-22"), 6)),
	    "2027-01-04");
	/* Without Christmas Eve as a holiday it counts. */
	cal.christmas_eve_is_holiday = false;
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&cal, day("2026-12-22"), 5)),
	    "2026-12-30");
	/* Over Ascension 2027 (Thursday 05-06). */
	calendar plain = bare();
	CHECK_EQ_STR(
	    iso(calendar_add_working_days(&plain, day("2027-05-04"), 3)),
	    "2027-05-10");
}

static void
test_easter_school_holiday(void)
{
	calendar cal;
	calendar_defaults(&cal);
	/* Påskeferie by default: Palm Sunday to Easter Monday, wherever
	 * Easter falls (2026-04-05, 2027-03-28). */
	CHECK(calendar_is_school_day(&cal, day("2026-03-27")));
	CHECK(!calendar_is_school_day(&cal, day("2026-03-30")));
	CHECK(!calendar_is_school_day(&cal, day("2026-04-01")));
	CHECK(calendar_is_working_day(&cal, day("2026-04-01")));
	CHECK(calendar_is_school_day(&cal, day("2026-04-07")));
	CHECK(calendar_is_school_day(&cal, day("2027-03-19")));
	CHECK(!calendar_is_school_day(&cal, day("2027-03-22")));
	CHECK(!calendar_is_school_day(&cal, day("2027-03-24")));
	CHECK(calendar_is_school_day(&cal, day("2027-03-30")));
	/* A configured span relative to Easter. */
	calendar_clear_school_holidays(&cal);
	CHECK_OK(calendar_add_school_holiday(&cal, "easter -3..+1", NULL));
	CHECK(calendar_is_school_day(&cal, day("2026-04-01")));
	CHECK(!calendar_is_school_day(&cal, day("2026-04-02")));
	ug_diag diag = {0};
	CHECK_ERR(calendar_add_school_holiday(&cal, "easter 2..1", &diag),
		  UG_EMALFORMED);
	CHECK_ERR(calendar_add_school_holiday(&cal, "easterish", &diag),
		  UG_EMALFORMED);
}

/* "2026-09-08T07:00", UTC, as milliseconds since 1970. */
static int64_t
utc(const char *text)
{
	int32_t d = 0;
	int hour, minute;
	if (ug_date_parse_n(text, 10, &d) != UG_OK ||
	    sscanf(text + 10, "T%2d:%2d", &hour, &minute) != 2)
		FAIL("bad instant in test: %s", text);
	return ((int64_t)d * 1440 + hour * 60 + minute) * 60000;
}

static const char *
utc_text(int64_t ms)
{
	static char buf[4][32];
	static int next;
	char *out = buf[next++ % 4];
	int64_t minutes = ms / 60000;
	char date[11];
	ug_date_format((int32_t)(minutes / 1440), date);
	snprintf(out, sizeof buf[0], "%sT%02d:%02d", date,
		 (int)(minutes % 1440 / 60), (int)(minutes % 60));
	return out;
}

/* start + hours office hours (Monday-Friday 08:00-16:00 Danish time). */
static const char *
office_end(const calendar *cal, const char *start, int hours)
{
	office_hours oh;
	calendar_office_defaults(&oh);
	return utc_text(
	    calendar_add_office_hours(cal, &oh, utc(start), hours));
}

static void
test_copenhagen_offset(void)
{
	const int64_t cet = 3600000, cest = 7200000;
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2026-01-15T12:00")),
		     cet);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2026-07-01T12:00")),
		     cest);
	/* 2026: the last Sundays are March 29 and October 25; the clock
	 * changes at 01:00 UTC. */
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2026-03-29T00:59")),
		     cet);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2026-03-29T01:00")),
		     cest);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2026-10-25T00:59")),
		     cest);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2026-10-25T01:00")),
		     cet);
	/* A month's last day that is itself a Sunday: 2024-03-31,
	 * 2027-10-31. */
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2024-03-30T12:00")),
		     cet);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2024-03-31T01:00")),
		     cest);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2027-10-31T00:59")),
		     cest);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2027-10-31T01:00")),
		     cet);
	CHECK_EQ_INT(calendar_copenhagen_offset_ms(utc("2027-10-24T12:00")),
		     cest);
}

static void
test_copenhagen_day(void)
{
	/* Summer: the Danish day starts at 22:00 UTC the day before. */
	CHECK_EQ_INT(calendar_copenhagen_day(utc("2026-09-20T21:59")),
		     day("2026-09-20"));
	CHECK_EQ_INT(calendar_copenhagen_day(utc("2026-09-20T22:00")),
		     day("2026-09-21"));
	CHECK_EQ_INT(calendar_copenhagen_midnight(day("2026-09-21")),
		     utc("2026-09-20T22:00"));
	/* Winter: at 23:00 UTC. */
	CHECK_EQ_INT(calendar_copenhagen_day(utc("2026-12-20T22:59")),
		     day("2026-12-20"));
	CHECK_EQ_INT(calendar_copenhagen_day(utc("2026-12-20T23:00")),
		     day("2026-12-21"));
	CHECK_EQ_INT(calendar_copenhagen_midnight(day("2026-12-21")),
		     utc("2026-12-20T23:00"));
	/* The days of the clock changes begin in the old time (the change
	 * is at 01:00 UTC), and so does the day after the autumn change. */
	CHECK_EQ_INT(calendar_copenhagen_midnight(day("2026-03-29")),
		     utc("2026-03-28T23:00"));
	CHECK_EQ_INT(calendar_copenhagen_midnight(day("2026-03-30")),
		     utc("2026-03-29T22:00"));
	CHECK_EQ_INT(calendar_copenhagen_midnight(day("2026-10-25")),
		     utc("2026-10-24T22:00"));
	CHECK_EQ_INT(calendar_copenhagen_midnight(day("2026-10-26")),
		     utc("2026-10-25T23:00"));
	CHECK_EQ_INT(calendar_copenhagen_day(utc("2026-10-25T22:59")),
		     day("2026-10-25"));
	/* Before 1970 too (floor, not truncation). */
	CHECK_EQ_INT(calendar_copenhagen_day(-1), 0);
}

static void
test_office_hours_within_a_day(void)
{
	calendar cal = bare();
	/* Tuesday 2026-09-08, summer time: 09:00 + 4 h = 13:00 local. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T07:00", 4),
		     "2026-09-08T11:00");
	/* From opening, a full day ends at closing that day, not at the
	 * next opening. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T06:00", 8),
		     "2026-09-08T14:00");
	/* Nothing to count. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T07:00", 0),
		     "2026-09-08T07:00");
}

static void
test_office_hours_across_closing(void)
{
	calendar cal = bare();
	/* 14:00 + 4 h: two hours to 16:00, two from 08:00 Wednesday. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T12:00", 4),
		     "2026-09-09T08:00");
	/* Raised after closing or exactly at it: from the next opening. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T18:00", 1),
		     "2026-09-09T07:00");
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T14:00", 1),
		     "2026-09-09T07:00");
	/* Three days of 8 hours: Tuesday 10:00 to Friday 10:00. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T08:00", 24),
		     "2026-09-11T08:00");
}

static void
test_office_hours_over_the_weekend(void)
{
	calendar cal = bare();
	/* Friday 15:00 + 4 h = Monday 11:00 (CEST). */
	CHECK_EQ_STR(office_end(&cal, "2026-09-11T13:00", 4),
		     "2026-09-14T09:00");
	/* A HIGH alert (24 h) raised Friday 10:00 reaches the desk on
	 * Wednesday 10:00, not on Saturday. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-11T08:00", 24),
		     "2026-09-16T08:00");
	/* Raised on a Saturday: from Monday 08:00. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-12T10:00", 2),
		     "2026-09-14T08:00");
}

static void
test_office_hours_from_midnight_utc(void)
{
	calendar cal = bare();
	/* A deadline warning at 00:00 UTC on a Tuesday (02:00 CEST) with 4
	 * hours counts from 08:00 local: 12:00 CEST. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-08T00:00", 4),
		     "2026-09-08T10:00");
	/* In winter 00:00 UTC is 01:00 CET: 12:00 CET is 11:00 UTC. */
	CHECK_EQ_STR(office_end(&cal, "2026-01-13T00:00", 4),
		     "2026-01-13T11:00");
	/* 23:30 UTC on a Monday in summer is already Tuesday 01:30 local. */
	CHECK_EQ_STR(office_end(&cal, "2026-09-07T23:30", 1),
		     "2026-09-08T07:00");
}

static void
test_office_hours_over_public_holidays(void)
{
	calendar cal = bare();
	/* Wednesday 2026-12-23 15:00 CET: 1 h, then Christmas Eve, Christmas
	 * Day, Boxing Day (a Saturday), Sunday; Monday 08:00 + 3 h. */
	CHECK_EQ_STR(office_end(&cal, "2026-12-23T14:00", 4),
		     "2026-12-28T10:00");
	/* Christmas Eve as a working day counts. */
	cal.christmas_eve_is_holiday = false;
	CHECK_EQ_STR(office_end(&cal, "2026-12-23T14:00", 4),
		     "2026-12-24T10:00");
	/* Wednesday before Easter 2026 14:00 CEST: Maundy Thursday, Good
	 * Friday, the weekend and Easter Monday are closed. */
	CHECK_EQ_STR(office_end(&cal, "2026-04-01T12:00", 4),
		     "2026-04-07T08:00");
	/* Ascension Day 2026 (Thursday 05-14) started on. */
	CHECK_EQ_STR(office_end(&cal, "2026-05-14T07:00", 1),
		     "2026-05-15T07:00");
}

static void
test_office_hours_across_summer_time_switches(void)
{
	calendar cal = bare();
	/* Friday 2026-03-27 14:00 CET (13:00 UTC): 2 h that day; Monday
	 * 03-30 is summer time, 08:00 CEST = 06:00 UTC, + 2 h. */
	CHECK_EQ_STR(office_end(&cal, "2026-03-27T13:00", 4),
		     "2026-03-30T08:00");
	/* Friday 2026-10-23 14:00 CEST (12:00 UTC): Monday 10-26 is winter
	 * time, 10:00 CET = 09:00 UTC. */
	CHECK_EQ_STR(office_end(&cal, "2026-10-23T12:00", 4),
		     "2026-10-26T09:00");
	/* An office open round the clock every day counts real hours over
	 * the switching Sundays (23 and 25 local hours long). */
	office_hours always;
	ug_diag diag = {0};
	CHECK_OK(calendar_parse_office_days(&always, "mon-sun", &diag));
	CHECK_OK(calendar_parse_office_hours(&always, "00:00-24:00", &diag));
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &always, utc("2026-03-28T23:00"), 24)),
		     "2026-03-29T23:00");
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &always, utc("2026-10-24T22:00"), 26)),
		     "2026-10-26T00:00");
	/* An opening the spring switch skips (02:30 on 2026-03-29) is read
	 * an hour later, 03:30 CEST; one the autumn switch repeats (02:30 on
	 * 2026-10-25) is its first occurrence, 02:30 CEST. */
	office_hours night;
	CHECK_OK(calendar_parse_office_days(&night, "sun", &diag));
	CHECK_OK(calendar_parse_office_hours(&night, "02:30-10:00", &diag));
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &night, utc("2026-03-28T12:00"), 1)),
		     "2026-03-29T02:30");
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &night, utc("2026-10-24T12:00"), 1)),
		     "2026-10-25T01:30");
}

/* Office hours that lie wholly or partly in the hour the clocks skip
 * or repeat (RULES.md §8): a skipped time is read an hour later, a
 * repeated one is its first occurrence, and the hours between pass in
 * real time. */
static void
test_office_hours_inside_the_switch_hour(void)
{
	calendar cal = bare();
	ug_diag diag = {0};
	office_hours oh;
	CHECK_OK(calendar_parse_office_days(&oh, "sun", &diag));
	/* 02:00-03:00 on the spring Sunday opens at 03:00 CEST, which is
	 * its closing: nothing that day; Easter Sunday 04-05 is closed;
	 * 04-12 02:00 CEST is 00:00 UTC. */
	CHECK_OK(calendar_parse_office_hours(&oh, "02:00-03:00", &diag));
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &oh, utc("2026-03-28T12:00"), 1)),
		     "2026-04-12T01:00");
	/* 01:00-02:30: from 01:00 CET (00:00 UTC) to 03:30 CEST (01:30
	 * UTC), an hour and a half. */
	CHECK_OK(calendar_parse_office_hours(&oh, "01:00-02:30", &diag));
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &oh, utc("2026-03-28T12:00"), 1)),
		     "2026-03-29T01:00");
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &oh, utc("2026-03-28T12:00"), 2)),
		     "2026-04-11T23:30");
	/* 02:00-03:00 on the autumn Sunday: 02:00 CEST (00:00 UTC) to
	 * 03:00 CET (02:00 UTC), two real hours. */
	CHECK_OK(calendar_parse_office_hours(&oh, "02:00-03:00", &diag));
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &oh, utc("2026-10-24T12:00"), 2)),
		     "2026-10-25T02:00");
	/* 02:00-02:30: both first occurrences, half an hour (00:00-00:30
	 * UTC); the next Sunday 11-01 is winter time (01:00 UTC). */
	CHECK_OK(calendar_parse_office_hours(&oh, "02:00-02:30", &diag));
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &oh, utc("2026-10-24T12:00"), 1)),
		     "2026-11-01T01:30");
}

static void
test_office_hours_configured(void)
{
	calendar cal = bare();
	office_hours oh;
	calendar_office_defaults(&oh);
	ug_diag diag = {0};
	CHECK_OK(calendar_parse_office_days(&oh, "mon-sat", &diag));
	CHECK_OK(calendar_parse_office_hours(&oh, "07:30-15:30", &diag));
	/* Friday 15:00 CEST: half an hour, then Saturday from 07:30. */
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &oh, utc("2026-09-11T13:00"), 4)),
		     "2026-09-12T09:00");
	/* Without an office day (never configured) it counts clock hours
	 * rather than never ending. */
	office_hours none = {0};
	CHECK_EQ_STR(utc_text(calendar_add_office_hours(
			 &cal, &none, utc("2026-09-11T13:00"), 4)),
		     "2026-09-11T17:00");
}

static void
test_office_days_parse(void)
{
	office_hours oh;
	calendar_office_defaults(&oh);
	CHECK_EQ_INT(oh.days, 0x1f);
	CHECK_EQ_INT(oh.open_min, 480);
	CHECK_EQ_INT(oh.close_min, 960);
	ug_diag diag = {0};
	CHECK_OK(calendar_parse_office_days(&oh, "Mon, wed ,FRI", &diag));
	CHECK_EQ_INT(oh.days, 1 | 4 | 16);
	CHECK_OK(calendar_parse_office_days(&oh, "mon-thu,sat", &diag));
	CHECK_EQ_INT(oh.days, 0xf | 0x20);
	CHECK_OK(calendar_parse_office_days(&oh, "sun", &diag));
	CHECK_EQ_INT(oh.days, 0x40);
	CHECK_OK(calendar_parse_office_days(&oh, "mon - fri", &diag));
	CHECK_EQ_INT(oh.days, 0x1f);
	static const char *const bad[] = {
	    "",		"fri-mon", "monday",  "mon-",	     "mon,,tue",
	    "mon-fri,", "1-5",	   "mon fri", "mon-tue-wed", "weekdays",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		memset(&diag, 0, sizeof diag);
		if (calendar_parse_office_days(&oh, bad[i], &diag) !=
		    UG_EMALFORMED)
			FAIL("office days '%s' accepted", bad[i]);
		CHECK(strstr(diag.reason, "is not a list of weekdays") !=
		      NULL);
	}
	/* A refused value leaves the days as they were. */
	CHECK_EQ_INT(oh.days, 0x1f);
}

static void
test_office_hours_parse(void)
{
	office_hours oh;
	calendar_office_defaults(&oh);
	ug_diag diag = {0};
	CHECK_OK(calendar_parse_office_hours(&oh, "07:30 - 15:45", &diag));
	CHECK_EQ_INT(oh.open_min, 450);
	CHECK_EQ_INT(oh.close_min, 945);
	CHECK_OK(calendar_parse_office_hours(&oh, "00:00-24:00", &diag));
	CHECK_EQ_INT(oh.open_min, 0);
	CHECK_EQ_INT(oh.close_min, 1440);
	static const char *const bad[] = {
	    "16:00-08:00", "08:00-08:00", "8:00-16:00",	 "08:00-16:00x",
	    "08:60-16:00", "24:30-24:45", "22:00-25:00", "",
	    "08:00",	   "08.00-16.00", "08:00-24:01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		memset(&diag, 0, sizeof diag);
		if (calendar_parse_office_hours(&oh, bad[i], &diag) !=
		    UG_EMALFORMED)
			FAIL("office hours '%s' accepted", bad[i]);
		CHECK(strstr(diag.reason, "is not an opening time") != NULL);
	}
	CHECK_EQ_INT(oh.close_min, 1440);
}

TEST_LIST = {
    {"fixed public holidays", test_fixed_public_holidays},
    {"easter based holidays", test_easter_based_holidays},
    {"great prayer day until 2023", test_great_prayer_day_until_2023},
    {"weekends", test_weekends},
    {"default school holidays", test_default_school_holidays},
    {"easter school holiday", test_easter_school_holiday},
    {"dated range", test_dated_range},
    {"yearly range wraps new year", test_yearly_range_wraps_new_year},
    {"range spelling", test_range_spelling},
    {"iso week", test_iso_week},
    {"week and easter without a space", test_week_and_easter_without_a_space},
    {"iso week 1 in previous year", test_iso_week_1_in_previous_year},
    {"iso week 53 only in long years", test_iso_week_53_only_in_long_years},
    {"bad ranges refused", test_bad_ranges_refused},
    {"too many ranges", test_too_many_ranges},
    {"school days back over weekends", test_school_days_back_over_weekends},
    {"school days back over holidays", test_school_days_back_over_holidays},
    {"add working days", test_add_working_days},
    {"copenhagen offset", test_copenhagen_offset},
    {"copenhagen day", test_copenhagen_day},
    {"office hours within a day", test_office_hours_within_a_day},
    {"office hours across closing", test_office_hours_across_closing},
    {"office hours over the weekend", test_office_hours_over_the_weekend},
    {"office hours from midnight utc", test_office_hours_from_midnight_utc},
    {"office hours over public holidays",
     test_office_hours_over_public_holidays},
    {"office hours across summer time switches",
     test_office_hours_across_summer_time_switches},
    {"office hours inside the switch hour",
     test_office_hours_inside_the_switch_hour},
    {"office hours configured", test_office_hours_configured},
    {"office days parse", test_office_days_parse},
    {"office hours parse", test_office_hours_parse},
    {NULL, NULL},
};
