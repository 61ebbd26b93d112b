/*
 * hub/rules_config: the defaults are docs/RULES.md's, every kind of setting
 * parses (and refuses what it must), an unknown name or a bad value is an
 * error naming file:line, settings that contradict each other are refused,
 * configured school holidays replace the defaults, office hours and the
 * missed-activation rule parse, and the example file in deploy/ loads to
 * exactly the defaults.
 */
#include "tests/unit/check.h"

#include "common/util.h"
#include "hub/rules_config.h"
#include "proto/ungebro.pb-c.h"

enum {
	LOW = UNGEBRO__V1__PRIORITY__LOW,
	NORMAL = UNGEBRO__V1__PRIORITY__NORMAL,
	HIGH = UNGEBRO__V1__PRIORITY__HIGH,
	URGENT = UNGEBRO__V1__PRIORITY__URGENT,
};

static int32_t
day(const char *iso)
{
	int32_t d = 0;
	if (ug_date_parse(iso, &d) != UG_OK)
		FAIL("bad date in test: %s", iso);
	return d;
}

static const char *
write_rules(const char *text)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/rules.conf", ut_tmpdir());
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a rules file; on failure diag holds the message. */
static ug_err
load_text(rules_config *cfg, const char *text, ug_diag *diag)
{
	memset(diag, 0, sizeof *diag);
	return rules_config_load(cfg, write_rules(text), diag);
}

/* A one-setting change from the defaults must parse. */
static rules_config
with(const char *name, const char *value)
{
	rules_config cfg;
	rules_config_defaults(&cfg);
	ug_diag diag = {0};
	ug_err err = rules_config_set(&cfg, name, value, &diag);
	if (err != UG_OK)
		FAIL("%s = %s refused: %s", name, value, diag.reason);
	return cfg;
}

static void
refused(const char *name, const char *value, ug_err want)
{
	rules_config cfg;
	rules_config_defaults(&cfg);
	ug_diag diag = {0};
	ug_err err = rules_config_set(&cfg, name, value, &diag);
	if (err != want)
		FAIL("%s = '%s': expected %s, got %s", name, value,
		     ug_strerror(want), ug_strerror(err));
	if (!diag.reason[0])
		FAIL("%s = '%s': no reason given", name, value);
}

static void
test_defaults_are_domain(void)
{
	rules_config c;
	rules_config_defaults(&c);
	/* 1. dropout: at once, high. 9. dropout risk. */
	CHECK(c.dropout.enabled);
	CHECK_EQ_INT(c.dropout.priority, HIGH);
	CHECK(c.dropout_risk.enabled);
	CHECK_EQ_INT(c.dropout_risk.priority, NORMAL);
	/* 2. absence: rolling 10 % over 20 school days, judged from 10
	 * covered days; quarter 10 % warn, 15 % notify. */
	CHECK(c.rolling.on.enabled);
	CHECK_EQ_INT(c.rolling.on.priority, NORMAL);
	CHECK_EQ_INT(c.rolling.threshold_pct, 10);
	CHECK_EQ_INT(c.rolling.window_days, 20);
	CHECK_EQ_INT(c.rolling.min_days, 10);
	CHECK(c.quarter.on.enabled);
	CHECK_EQ_INT(c.quarter.on.priority, NORMAL);
	CHECK_EQ_INT(c.quarter.warn_pct, 10);
	CHECK_EQ_INT(c.quarter.notify_pct, 15);
	CHECK_EQ_INT(c.quarter.notify_priority, HIGH);
	CHECK_EQ_INT(c.quarter.min_days, 10);
	/* 3. readiness in grades 8 and 9 only. */
	CHECK(c.readiness.on.enabled);
	CHECK_EQ_INT(c.readiness.on.priority, NORMAL);
	CHECK_EQ_INT(c.readiness.grades, 1u << 8 | 1u << 9);
	/* 4. addiction (consent-gated). */
	CHECK(c.addiction.enabled);
	CHECK_EQ_INT(c.addiction.priority, HIGH);
	/* 5. combined: 3 signals within 90 days, higher priority. */
	CHECK(c.combined.on.enabled);
	CHECK_EQ_INT(c.combined.on.priority, URGENT);
	CHECK_EQ_INT(c.combined.window_days, 90);
	CHECK_EQ_INT(c.combined.min_signals, 3);
	/* 6. transition gap 30 days. 7. back on track. */
	CHECK(c.transition_gap.on.enabled);
	CHECK_EQ_INT(c.transition_gap.on.priority, HIGH);
	CHECK_EQ_INT(c.transition_gap.days, 30);
	CHECK(c.back_on_track.enabled);
	CHECK_EQ_INT(c.back_on_track.priority, LOW);
	/* 8. deadlines: 15-17-year-olds, contact in 5 working days, offer in
	 * 30 days; treatment in 14 days. */
	CHECK(c.deadline.on.enabled);
	CHECK_EQ_INT(c.deadline.on.priority, URGENT);
	CHECK_EQ_INT(c.deadline.contact_working_days, 5);
	CHECK_EQ_INT(c.deadline.offer_days, 30);
	CHECK_EQ_INT(c.deadline.treatment_days, 14);
	CHECK_EQ_INT(c.deadline.warn_working_days, 1);
	CHECK_EQ_INT(c.deadline.min_age, 15);
	CHECK_EQ_INT(c.deadline.max_age, 17);
	/* Acknowledgement deadlines by priority, then escalation. */
	CHECK_EQ_INT(c.ack_hours[LOW], 120);
	CHECK_EQ_INT(c.ack_hours[NORMAL], 72);
	CHECK_EQ_INT(c.ack_hours[HIGH], 24);
	CHECK_EQ_INT(c.ack_hours[URGENT], 4);
	/* Acknowledgement windows count office hours: Monday to Friday,
	 * 08:00-16:00 Danish time. */
	CHECK_EQ_INT(c.office.days, 0x1f);
	CHECK_EQ_INT(c.office.open_min, 8 * 60);
	CHECK_EQ_INT(c.office.close_min, 16 * 60);
	/* Missed activations: their own alert at 2 within 30 days. */
	CHECK(c.missed_activation.on.enabled);
	CHECK_EQ_INT(c.missed_activation.on.priority, NORMAL);
	CHECK_EQ_INT(c.missed_activation.count, 2);
	CHECK_EQ_INT(c.missed_activation.days, 30);
	CHECK_EQ_STR(c.desk, "duty-desk");
	CHECK_EQ_STR(c.team_lead, "");
	/* Calendars: the five Danish school holidays, Christmas Eve off. */
	CHECK_EQ_INT(c.cal.nschool_holidays, 5);
	CHECK(c.cal.christmas_eve_is_holiday);
	CHECK(!calendar_is_school_day(&c.cal, day("2026-10-14")));
	CHECK(!calendar_is_school_day(&c.cal, day("2026-02-11")));
	CHECK(!calendar_is_school_day(&c.cal, day("2026-12-22")));
	CHECK(!calendar_is_school_day(&c.cal, day("2026-07-15")));
}

static void
test_no_file_means_defaults(void)
{
	rules_config a, b;
	rules_config_defaults(&a);
	memset(&b, 0x5a, sizeof b);
	ug_diag diag = {0};
	CHECK_OK(rules_config_load(&b, "", &diag));
	/* The generation is the calendar memo's key, not a setting. */
	a.cal.generation = b.cal.generation = 0;
	CHECK_EQ_MEM(&b, &a, sizeof a);
	memset(&b, 0x5a, sizeof b);
	CHECK_OK(rules_config_load(&b, NULL, &diag));
	b.cal.generation = 0;
	CHECK_EQ_MEM(&b, &a, sizeof a);
}

static void
test_comments_blanks_and_spaces(void)
{
	rules_config c;
	ug_diag diag;
	CHECK_OK(load_text(&c,
			   "# a comment\n"
			   "\n"
			   "   \t\n"
			   "   # indented comment\n"
			   "  absence.rolling.threshold_pct   =   12  \n"
			   "dropout.priority=urgent\r\n"
			   "routing.desk = desk-north",
			   &diag));
	CHECK_EQ_INT(c.rolling.threshold_pct, 12);
	CHECK_EQ_INT(c.dropout.priority, URGENT);
	CHECK_EQ_STR(c.desk, "desk-north");
	/* Everything else stays at its default. */
	CHECK_EQ_INT(c.rolling.window_days, 20);
	/* The last of two settings wins. */
	CHECK_OK(load_text(&c,
			   "combined.window_days = 60\n"
			   "combined.window_days = 45\n",
			   &diag));
	CHECK_EQ_INT(c.combined.window_days, 45);
	/* A comment is a whole line: after a value, '#' is in the value. */
	CHECK_ERR(load_text(&c,
			    "absence.rolling.threshold_pct = 8 # stricter\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 1);
}

static void
test_bool_settings(void)
{
	const char *yes[] = {"yes", "true", "on"},
		   *no[] = {"no", "false", "off"};
	for (int i = 0; i < 3; i++) {
		CHECK(!with("dropout.enabled", no[i]).dropout.enabled);
		rules_config c = with("dropout.enabled", no[i]);
		ug_diag diag = {0};
		CHECK_OK(
		    rules_config_set(&c, "dropout.enabled", yes[i], &diag));
		CHECK(c.dropout.enabled);
	}
	CHECK(!with("calendar.christmas_eve_is_holiday", "no")
		   .cal.christmas_eve_is_holiday);
	CHECK(!with("absence.quarter.enabled", "off").quarter.on.enabled);
	refused("dropout.enabled", "maybe", UG_EMALFORMED);
	refused("dropout.enabled", "1", UG_EMALFORMED);
	refused("dropout.enabled", "", UG_EMALFORMED);
	refused("dropout.enabled", "YES ", UG_EMALFORMED);
	/* Lower case only, and no 1/0 (RULES.md section 10). */
	refused("dropout.enabled", "Yes", UG_EMALFORMED);
	refused("dropout.enabled", "0", UG_EMALFORMED);
}

/* text as a rules file must fail at line with "file:line: reason". */
static void
load_refused(const char *text, int line, const char *reason)
{
	rules_config c;
	ug_diag diag = {0};
	const char *path = write_rules(text);
	CHECK_ERR(rules_config_load(&c, path, &diag), UG_EMALFORMED);
	char want[PATH_MAX + 160];
	snprintf(want, sizeof want, "%s:%d: %s", path, line, reason);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_INT(diag.line, line);
	CHECK_EQ_STR(diag.file, path);
}

static void
test_rolling_threshold_settings(void)
{
	/* DOMAIN: "10 % or more ... for any reason": at the threshold, and
	 * permitted leave counts. */
	rules_config c;
	rules_config_defaults(&c);
	CHECK(!c.rolling.strictly_above);
	CHECK(c.rolling.count_permitted);
	CHECK(with("absence.rolling.strictly_above", "yes")
		  .rolling.strictly_above);
	CHECK(!with("absence.rolling.strictly_above", "off")
		   .rolling.strictly_above);
	CHECK(!with("absence.rolling.count_permitted_leave", "no")
		   .rolling.count_permitted);
	CHECK(with("absence.rolling.count_permitted_leave", "true")
		  .rolling.count_permitted);
	/* One does not move the other. */
	c = with("absence.rolling.strictly_above", "yes");
	CHECK(c.rolling.count_permitted);
	CHECK_EQ_INT(c.rolling.threshold_pct, 10);
	c = with("absence.rolling.count_permitted_leave", "no");
	CHECK(!c.rolling.strictly_above);
	const char *bad[] = {"maybe", "1", "", "Yes", "above"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		refused("absence.rolling.strictly_above", bad[i],
			UG_EMALFORMED);
		refused("absence.rolling.count_permitted_leave", bad[i],
			UG_EMALFORMED);
	}

	/* From a file: both set, then each bad value named at its line. */
	ug_diag diag;
	CHECK_OK(load_text(&c,
			   "absence.rolling.strictly_above = yes\n"
			   "absence.rolling.count_permitted_leave = no\n",
			   &diag));
	CHECK(c.rolling.strictly_above);
	CHECK(!c.rolling.count_permitted);
	load_refused("# chronic absence\n"
		     "absence.rolling.threshold_pct = 10\n"
		     "absence.rolling.strictly_above = 1\n",
		     3,
		     "'1' is not a valid value for "
		     "absence.rolling.strictly_above");
	load_refused("absence.rolling.count_permitted_leave = sometimes\n", 1,
		     "'sometimes' is not a valid value for "
		     "absence.rolling.count_permitted_leave");
}

static void
test_int_settings(void)
{
	CHECK_EQ_INT(
	    with("absence.rolling.threshold_pct", "0").rolling.threshold_pct,
	    0);
	CHECK_EQ_INT(
	    with("absence.rolling.threshold_pct", "100").rolling.threshold_pct,
	    100);
	CHECK_EQ_INT(with("transition_gap.days", "45").transition_gap.days,
		     45);
	CHECK_EQ_INT(with("ack.high_hours", "8760").ack_hours[HIGH], 8760);
	CHECK_EQ_INT(with("ack.low_hours", "1").ack_hours[LOW], 1);
	CHECK_EQ_INT(with("ack.normal_hours", "48").ack_hours[NORMAL], 48);
	CHECK_EQ_INT(with("ack.urgent_hours", "2").ack_hours[URGENT], 2);
	CHECK_EQ_INT(
	    with("deadline.treatment_days", "21").deadline.treatment_days, 21);
	refused("absence.rolling.threshold_pct", "101", UG_EMALFORMED);
	refused("absence.rolling.threshold_pct", "-1", UG_EMALFORMED);
	refused("absence.rolling.threshold_pct", "10%", UG_EMALFORMED);
	refused("absence.rolling.threshold_pct", "ten", UG_EMALFORMED);
	refused("absence.rolling.threshold_pct", "", UG_EMALFORMED);
	refused("absence.rolling.window_school_days", "0", UG_EMALFORMED);
	refused("ack.high_hours", "0", UG_EMALFORMED);
	refused("ack.high_hours", "8761", UG_EMALFORMED);
	refused("transition_gap.days", "99999999999999999999", UG_EMALFORMED);
	refused("combined.min_signals", "1", UG_EMALFORMED);
	/* There are seven kinds of signal: eight could never be reached. */
	refused("combined.min_signals", "8", UG_EMALFORMED);
	CHECK_EQ_INT(with("combined.min_signals", "7").combined.min_signals,
		     7);
	/* The reason names the setting and its range. */
	rules_config c;
	rules_config_defaults(&c);
	ug_diag diag = {0};
	CHECK_ERR(rules_config_set(&c, "combined.window_days", "731", &diag),
		  UG_EMALFORMED);
	CHECK(strstr(diag.reason, "combined.window_days") != NULL);
	CHECK(strstr(diag.reason, "1 to 730") != NULL);
	CHECK_EQ_INT(c.combined.window_days, 90);
}

static void
test_priority_settings(void)
{
	CHECK_EQ_INT(with("dropout.priority", "low").dropout.priority, LOW);
	CHECK_EQ_INT(with("dropout.priority", "NORMAL").dropout.priority,
		     NORMAL);
	CHECK_EQ_INT(with("dropout.priority", "High").dropout.priority, HIGH);
	CHECK_EQ_INT(with("combined.priority", "urgent").combined.on.priority,
		     URGENT);
	CHECK_EQ_INT(with("absence.quarter.notify_priority", "urgent")
			 .quarter.notify_priority,
		     URGENT);
	refused("dropout.priority", "critical", UG_EMALFORMED);
	refused("dropout.priority", "3", UG_EMALFORMED);
	refused("dropout.priority", "", UG_EMALFORMED);
}

static void
test_grades_setting(void)
{
	CHECK_EQ_INT(with("readiness.grades", "8,9,10").readiness.grades,
		     1u << 8 | 1u << 9 | 1u << 10);
	CHECK_EQ_INT(with("readiness.grades", "9").readiness.grades, 1u << 9);
	CHECK_EQ_INT(with("readiness.grades", "7, 8").readiness.grades,
		     1u << 7 | 1u << 8);
	/* Empty: no grade raises the rule. */
	CHECK_EQ_INT(with("readiness.grades", "").readiness.grades, 0);
	refused("readiness.grades", "11", UG_EMALFORMED);
	refused("readiness.grades", "8;9", UG_EMALFORMED);
	refused("readiness.grades", "eight", UG_EMALFORMED);
	refused("readiness.grades", "-1", UG_EMALFORMED);
	/* Whole numbers as everywhere in the file; no empty item. */
	refused("readiness.grades", "+8", UG_EMALFORMED);
	refused("readiness.grades", "8,,9", UG_EMALFORMED);
	refused("readiness.grades", "8,", UG_EMALFORMED);
	refused("readiness.grades", "8 9", UG_EMALFORMED);
	CHECK_EQ_INT(with("readiness.grades", " 9 , 10 ").readiness.grades,
		     1u << 9 | 1u << 10);
	/* A tab around a comma is a blank as a space is. */
	CHECK_EQ_INT(with("readiness.grades", "8,\t9").readiness.grades,
		     1u << 8 | 1u << 9);
	CHECK_EQ_INT(with("readiness.grades", "8\t,\t10").readiness.grades,
		     1u << 8 | 1u << 10);
	refused("readiness.grades", "8\t9", UG_EMALFORMED);
}

static void
test_id_settings(void)
{
	CHECK_EQ_STR(with("routing.desk", "youth-desk.2").desk,
		     "youth-desk.2");
	CHECK_EQ_STR(with("routing.team_lead", "cw-lead").team_lead,
		     "cw-lead");
	refused("routing.desk", "Duty Desk", UG_EMALFORMED);
	refused("routing.desk", "", UG_EMALFORMED);
	refused("routing.team_lead", "-lead", UG_EMALFORMED);
	/* Ids as everywhere: 1 to 63, the first a letter or digit. */
	refused("routing.desk", ".desk", UG_EMALFORMED);
	refused("routing.desk", "_desk", UG_EMALFORMED);
	char id[65];
	memset(id, 'd', 63);
	id[63] = '\0';
	CHECK_EQ_STR(with("routing.desk", id).desk, id);
	id[63] = 'd';
	id[64] = '\0';
	refused("routing.desk", id, UG_EMALFORMED);
	/* Empty is the default, none: the desk's team lead from the youth
	 * unit's DeskMembership events. */
	rules_config lead = with("routing.team_lead", "cw-lead");
	ug_diag diag = {0};
	CHECK_OK(rules_config_set(&lead, "routing.team_lead", "", &diag));
	CHECK_EQ_STR(lead.team_lead, "");
	refused("routing.team_lead",
		"a-very-long-caseworker-id-that-goes-on-and-on-and-on-past-"
		"the-limit",
		UG_EMALFORMED);
}

static void
test_holiday_setting(void)
{
	rules_config c = with("calendar.school_holiday", "week 9");
	/* rules_config_set adds; only a file replaces the defaults. */
	CHECK_EQ_INT(c.cal.nschool_holidays, 6);
	CHECK(!calendar_is_school_day(&c.cal, day("2026-02-25")));
	refused("calendar.school_holiday", "week 60", UG_EMALFORMED);
	refused("calendar.school_holiday", "spring", UG_EMALFORMED);
}

static void
test_unknown_name_names_file_and_line(void)
{
	rules_config c;
	ug_diag diag;
	const char *path = write_rules("# rules\n"
				       "dropout.enabled = yes\n"
				       "\n"
				       "absence.rolling.treshold_pct = 12\n"
				       "dropout.priority = low\n");
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(rules_config_load(&c, path, &diag), UG_EINVAL);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want,
		 "%s:4: unknown rule setting "
		 "'absence.rolling.treshold_pct'",
		 path);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_INT(diag.line, 4);
	CHECK_EQ_STR(diag.file, path);
}

static void
test_bad_value_names_file_and_line(void)
{
	rules_config c;
	ug_diag diag;
	const char *path = write_rules("dropout.enabled = yes\n"
				       "dropout.priority = severe\n");
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(rules_config_load(&c, path, &diag), UG_EMALFORMED);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof want,
		 "%s:2: 'severe' is not a valid value "
		 "for dropout.priority",
		 path);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_INT(diag.line, 2);

	CHECK_ERR(load_text(&c,
			    "\n\n\nabsence.rolling.window_school_days "
			    "= 201\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 4);
	CHECK(strstr(diag.reason,
		     ":4: absence.rolling.window_school_days "
		     "must be a whole number from 1 to 200") != NULL);

	CHECK_ERR(load_text(&c,
			    "calendar.school_holiday = week 42\n"
			    "calendar.school_holiday = autumn\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 2);
	CHECK(strstr(diag.reason, ":2: 'autumn' is not a holiday range") !=
	      NULL);
}

static void
test_line_without_equals(void)
{
	rules_config c;
	ug_diag diag;
	CHECK_ERR(load_text(&c,
			    "dropout.enabled = yes\ndropout.priority "
			    "high\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 2);
	CHECK(strstr(diag.reason, ":2: expected name = value") != NULL);
}

static void
test_overlong_line(void)
{
	rules_config c;
	ug_diag diag;
	char text[1200];
	memset(text, ' ', sizeof text);
	memcpy(text, "# ", 2);
	text[800] = '\n';
	snprintf(text + 801, sizeof text - 801, "dropout.priority = high\n");
	/* A comment too long for the reader: its tail must not be read as
	 * a setting of its own. */
	memcpy(text + 600, "=x", 2);
	CHECK_ERR(load_text(&c, text, &diag), UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 1);
	CHECK(strstr(diag.reason, "line longer than") != NULL);
}

static void
test_missing_file(void)
{
	rules_config c;
	ug_diag diag = {0};
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/nope.conf", ut_tmpdir());
	CHECK_ERR(rules_config_load(&c, path, &diag), UG_EIO);
	CHECK(strstr(diag.reason, "cannot open") != NULL);
	CHECK(strstr(diag.reason, "nope.conf") != NULL);
}

static void
test_consistency_errors(void)
{
	rules_config c;
	ug_diag diag;
	const struct {
		const char *text, *field, *reason;
	} cases[] = {
	    {"absence.rolling.window_school_days = 15\n"
	     "absence.rolling.min_days = 16\n",
	     "absence.rolling.min_days",
	     "min_days is larger than window_school_days"},
	    {"absence.quarter.warn_pct = 12\n"
	     "absence.quarter.notify_pct = 11\n",
	     "absence.quarter.notify_pct", "notify_pct is below warn_pct"},
	    {"deadline.min_age = 18\n", "deadline.min_age",
	     "min_age is above max_age"},
	    {"deadline.warn_working_days = 5\n", "deadline.warn_working_days",
	     "warn_working_days must be below contact_working_days"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		CHECK_ERR(load_text(&c, cases[i].text, &diag), UG_EINVAL);
		CHECK_EQ_STR(diag.field, cases[i].field);
		/* About the file as a whole: "path: reason", no line. */
		CHECK_EQ_INT(diag.line, 0);
		char want[PATH_MAX + 128];
		snprintf(want, sizeof want, "%s: %s", diag.file,
			 cases[i].reason);
		CHECK_EQ_STR(diag.reason, want);
	}
	/* Equal values are consistent. */
	CHECK_OK(load_text(&c,
			   "absence.rolling.window_school_days = 10\n"
			   "absence.rolling.min_days = 10\n"
			   "absence.quarter.warn_pct = 15\n"
			   "deadline.min_age = 16\n"
			   "deadline.max_age = 16\n"
			   "deadline.warn_working_days = 4\n",
			   &diag));
	CHECK_EQ_INT(c.quarter.warn_pct, 15);
	CHECK_EQ_INT(c.quarter.notify_pct, 15);
}

static void
test_school_holidays_replace_defaults(void)
{
	rules_config c;
	ug_diag diag;
	CHECK_OK(load_text(&c,
			   "calendar.school_holiday = week 8\n"
			   "dropout.priority = high\n"
			   "calendar.school_holiday = "
			   "2026-10-19..2026-10-23\n",
			   &diag));
	CHECK_EQ_INT(c.cal.nschool_holidays, 2);
	/* The configured ones... */
	CHECK(!calendar_is_school_day(&c.cal, day("2026-02-18")));
	CHECK(!calendar_is_school_day(&c.cal, day("2026-10-21")));
	/* ... and none of the defaults: week 7, week 42, Christmas and
	 * summer are school days now. */
	CHECK(calendar_is_school_day(&c.cal, day("2026-02-11")));
	CHECK(calendar_is_school_day(&c.cal, day("2026-10-14")));
	CHECK(calendar_is_school_day(&c.cal, day("2026-12-22")));
	CHECK(calendar_is_school_day(&c.cal, day("2026-07-15")));
	/* Public holidays stay whatever the school calendar says. */
	CHECK(!calendar_is_school_day(&c.cal, day("2026-12-25")));
	/* A file without any keeps the defaults. */
	CHECK_OK(load_text(&c, "dropout.priority = high\n", &diag));
	CHECK_EQ_INT(c.cal.nschool_holidays, 5);
}

static void
test_error_stops_at_first_bad_line(void)
{
	/* hubd parses into a copy and keeps the rules in force on an error
	 * (hub__load_rules); here: a failed load reports the first error
	 * and does not go on to later lines. */
	rules_config c;
	ug_diag diag;
	CHECK_ERR(load_text(&c,
			    "dropout.priority = nope\n"
			    "unknown.setting = 1\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 1);
}

static void
test_example_file_is_the_defaults(void)
{
	/* deploy/rules.conf.example lists every setting with its default
	 * (docs/RULES.md): it must load, and to exactly the defaults. */
	rules_config want, got;
	rules_config_defaults(&want);
	ug_diag diag = {0};
	ug_err err =
	    rules_config_load(&got, "deploy/rules.conf.example", &diag);
	if (err != UG_OK)
		FAIL("deploy/rules.conf.example: %s", diag.reason);
	CHECK_EQ_INT(got.cal.nschool_holidays, want.cal.nschool_holidays);
	got.cal.generation = want.cal.generation = 0; /* a memo key */
	CHECK_EQ_MEM(&got.cal, &want.cal, sizeof want.cal);
	CHECK_EQ_MEM(&got, &want, sizeof want);
}

static void
test_example_file_lists_every_setting(void)
{
	/* Each setting of docs/RULES.md's table ("| `name` | default |")
	 * has its "name =" line in deploy/rules.conf.example (commented
	 * out where the default is none). */
	size_t dlen = 0, elen = 0;
	uint8_t *doc = ut_read_file("docs/RULES.md", &dlen);
	uint8_t *ex = ut_read_file("deploy/rules.conf.example", &elen);
	if (!doc || !ex) {
		free(doc);
		free(ex);
		FAIL("docs/RULES.md or the example not readable");
	}
	char *text = malloc(dlen + 1), *example = malloc(elen + 1);
	CHECK(text != NULL && example != NULL);
	memcpy(text, doc, dlen);
	text[dlen] = '\0';
	memcpy(example, ex, elen);
	example[elen] = '\0';
	free(doc);
	free(ex);
	char *table = strstr(text, "### Every setting");
	CHECK(table != NULL);
	int settings = 0;
	for (char *row = table ? strstr(table, "\n| `") : NULL; row;
	     row = strstr(row + 1, "\n| `")) {
		char *name = row + 4, *end = strchr(name, '`');
		if (!end || end - name > 60)
			break;
		char want[80];
		snprintf(want, sizeof want, "\n%.*s = ", (int)(end - name),
			 name);
		char commented[80];
		snprintf(commented, sizeof commented,
			 "\n#%.*s = ", (int)(end - name), name);
		if (!strstr(example, want) && !strstr(example, commented))
			FAIL("deploy/rules.conf.example lacks %.*s",
			     (int)(end - name), name);
		settings++;
	}
	CHECK(settings >= 50);
	free(text);
	free(example);
}

static void
test_docs_example_loads(void)
{
	/* The example in docs/RULES.md ("### Example", the first fenced
	 * block after it) must be a valid rules file. */
	size_t len = 0;
	uint8_t *doc = ut_read_file("docs/RULES.md", &len);
	if (!doc)
		FAIL("docs/RULES.md not readable (run from the repo root)");
	char *text = malloc(len + 1);
	CHECK(text != NULL);
	memcpy(text, doc, len);
	text[len] = '\0';
	free(doc);
	char *at = strstr(text, "### Example");
	char *open = at ? strstr(at, "```\n") : NULL;
	char *close = open ? strstr(open + 4, "```") : NULL;
	if (!close) {
		free(text);
		FAIL("no example block in docs/RULES.md");
	}
	*close = '\0';
	rules_config c;
	ug_diag diag;
	ug_err err = load_text(&c, open + 4, &diag);
	free(text);
	if (err != UG_OK)
		FAIL("the docs example: %s", diag.reason);
	CHECK_EQ_INT(c.rolling.threshold_pct, 8);
	CHECK_EQ_STR(c.team_lead, "cw-teamlead");
	CHECK_EQ_INT(c.cal.nschool_holidays, 5);
	/* Its own calendar, not the defaults: its summer holiday ends on
	 * Sunday 2027-08-08, so Monday 08-09 is a school day. */
	CHECK(!calendar_is_school_day(&c.cal, day("2027-02-17")));
	CHECK(!calendar_is_school_day(&c.cal, day("2027-08-06")));
	CHECK(calendar_is_school_day(&c.cal, day("2027-08-09")));
}

static void
test_office_settings(void)
{
	rules_config c = with("office.days", "mon-thu");
	CHECK_EQ_INT(c.office.days, 0xf);
	CHECK_EQ_INT(c.office.open_min, 8 * 60);
	c = with("office.hours", "07:30-15:00");
	CHECK_EQ_INT(c.office.days, 0x1f);
	CHECK_EQ_INT(c.office.open_min, 7 * 60 + 30);
	CHECK_EQ_INT(c.office.close_min, 15 * 60);
	CHECK_EQ_INT(with("office.days", "mon,wed, sat").office.days,
		     1 | 4 | 32);
	/* Tabs around `,` and `-` are blanks as spaces are. */
	CHECK_EQ_INT(with("office.days", "mon\t-\tthu ,\tsat").office.days,
		     0xf | 32);
	c = with("office.hours", "09:15\t-\t17:45");
	CHECK_EQ_INT(c.office.open_min, 9 * 60 + 15);
	CHECK_EQ_INT(c.office.close_min, 17 * 60 + 45);
	refused("office.days", "mon\t\tthu", UG_EMALFORMED);
	refused("office.days", "", UG_EMALFORMED);
	refused("office.days", "fri-mon", UG_EMALFORMED);
	refused("office.days", "weekdays", UG_EMALFORMED);
	refused("office.hours", "16:00-08:00", UG_EMALFORMED);
	refused("office.hours", "8-16", UG_EMALFORMED);
	refused("office.hours", "", UG_EMALFORMED);

	/* From a file, with the line named. */
	ug_diag diag;
	CHECK_OK(load_text(&c,
			   "office.days = mon-sat\n"
			   "office.hours = 09:00 - 17:30\n",
			   &diag));
	CHECK_EQ_INT(c.office.days, 0x3f);
	CHECK_EQ_INT(c.office.open_min, 9 * 60);
	CHECK_EQ_INT(c.office.close_min, 17 * 60 + 30);
	/* 2026-09-11 is a Friday: with Saturday open, 15:00 + 4 h ends on
	 * Saturday 10:30 CEST. */
	int64_t friday = ((int64_t)day("2026-09-11") * 24 + 13) * 3600000;
	CHECK_EQ_INT(calendar_add_office_hours(&c.cal, &c.office, friday, 4),
		     ((int64_t)day("2026-09-12") * 24 + 8) * 3600000 +
			 30 * 60000);
	CHECK_ERR(load_text(&c,
			    "dropout.enabled = yes\n"
			    "office.hours = 08:00-16:00\n"
			    "office.days = monday-friday\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 3);
	CHECK(strstr(diag.reason, ":3: 'monday-friday' is not a list of "
				  "weekdays") != NULL);
	CHECK_ERR(load_text(&c, "office.hours = 16:00-08:00\n", &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 1);
	CHECK(strstr(diag.reason, ":1: '16:00-08:00' is not an opening "
				  "time") != NULL);
}

static void
test_missed_activation_settings(void)
{
	CHECK(!with("missed_activation.enabled", "no")
		   .missed_activation.on.enabled);
	CHECK_EQ_INT(with("missed_activation.priority", "high")
			 .missed_activation.on.priority,
		     HIGH);
	CHECK_EQ_INT(
	    with("missed_activation.count", "1").missed_activation.count, 1);
	CHECK_EQ_INT(
	    with("missed_activation.count", "10").missed_activation.count, 10);
	CHECK_EQ_INT(
	    with("missed_activation.days", "365").missed_activation.days, 365);
	refused("missed_activation.enabled", "sometimes", UG_EMALFORMED);
	refused("missed_activation.priority", "severe", UG_EMALFORMED);
	refused("missed_activation.count", "0", UG_EMALFORMED);
	refused("missed_activation.count", "11", UG_EMALFORMED);
	refused("missed_activation.days", "0", UG_EMALFORMED);
	refused("missed_activation.days", "366", UG_EMALFORMED);
	refused("missed_activation.days", "30d", UG_EMALFORMED);
	ug_diag diag;
	rules_config c;
	CHECK_OK(load_text(&c,
			   "missed_activation.count = 3\n"
			   "missed_activation.days = 60\n",
			   &diag));
	CHECK_EQ_INT(c.missed_activation.count, 3);
	CHECK_EQ_INT(c.missed_activation.days, 60);
	CHECK(c.missed_activation.on.enabled);
	CHECK_ERR(load_text(&c,
			    "# activations\n"
			    "missed_activation.days = 400\n",
			    &diag),
		  UG_EMALFORMED);
	CHECK_EQ_INT(diag.line, 2);
	CHECK(strstr(diag.reason, ":2: missed_activation.days must be a "
				  "whole number from 1 to 365") != NULL);
}

TEST_LIST = {
    {"defaults are domain", test_defaults_are_domain},
    {"no file means defaults", test_no_file_means_defaults},
    {"comments blanks and spaces", test_comments_blanks_and_spaces},
    {"bool settings", test_bool_settings},
    {"rolling threshold settings", test_rolling_threshold_settings},
    {"int settings", test_int_settings},
    {"priority settings", test_priority_settings},
    {"grades setting", test_grades_setting},
    {"id settings", test_id_settings},
    {"holiday setting", test_holiday_setting},
    {"unknown name names file and line",
     test_unknown_name_names_file_and_line},
    {"bad value names file and line", test_bad_value_names_file_and_line},
    {"line without equals", test_line_without_equals},
    {"overlong line", test_overlong_line},
    {"missing file", test_missing_file},
    {"consistency errors", test_consistency_errors},
    {"school holidays replace defaults",
     test_school_holidays_replace_defaults},
    {"error stops at the first bad line", test_error_stops_at_first_bad_line},
    {"office settings", test_office_settings},
    {"missed activation settings", test_missed_activation_settings},
    {"example file is the defaults", test_example_file_is_the_defaults},
    {"example file lists every setting",
     test_example_file_lists_every_setting},
    {"docs example loads", test_docs_example_loads},
    {NULL, NULL},
};
