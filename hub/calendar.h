/*
 * School days and working days. Weekends never count; Danish public
 * holidays (computed, Easter-based ones included) never count; school
 * holidays count as neither school days nor (for the rules that use school
 * days) days of absence. The calendar is configuration with Danish
 * defaults; days are counted since 1970-01-01 as everywhere in the hub.
 */
#ifndef UG_CALENDAR_H
#define UG_CALENDAR_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

#define CALENDAR_RANGES_MAX 64

/* One recurring or dated school-holiday range. */
typedef struct {
	enum { CAL_DATES, CAL_YEARLY, CAL_WEEK, CAL_EASTER } kind;
	int32_t from, to; /* CAL_DATES: days; CAL_YEARLY: month*100+day;
			   * CAL_EASTER: days from Easter Sunday */
	int week;	  /* CAL_WEEK: ISO week number, every year */
} calendar_range;

typedef struct {
	calendar_range school_holidays[CALENDAR_RANGES_MAX];
	int nschool_holidays;
	bool christmas_eve_is_holiday; /* de facto closed in Denmark */
	uint32_t generation; /* renewed by every change (memo key); 0 = none */
} calendar;

/* The Danish defaults: winter holiday week 7, autumn holiday week 42,
 * Christmas 12-21..01-02, summer 06-27..08-09. */
void calendar_defaults(calendar *cal);
/* Add a school-holiday range: "2026-10-12..2026-10-16", "12-21..01-02"
 * (every year) or "week 42" (every year). */
ug_err calendar_add_school_holiday(calendar *cal, const char *text,
				   ug_diag *diag);
/* Renew the calendar's generation after changing a field directly. */
void calendar_touch(calendar *cal);
/* Drop every school-holiday range (before adding configured ones). */
void calendar_clear_school_holidays(calendar *cal);

bool calendar_is_public_holiday(const calendar *cal, int32_t day);
bool calendar_is_working_day(const calendar *cal, int32_t day);
bool calendar_is_school_day(const calendar *cal, int32_t day);

/* The calendar days calendar_school_days_back looks back at most. */
#define CALENDAR_BACK_MAX_DAYS 4000
/* The first day of the window of n school days ending on (or before) end. */
int32_t calendar_school_days_back(const calendar *cal, int32_t end, int n);
/* The day n working days after from (n >= 0; from itself not counted). */
int32_t calendar_add_working_days(const calendar *cal, int32_t from, int n);

/* Whether a day lies in a school-holiday range (weekends included). */
bool calendar_in_school_holiday(const calendar *cal, int32_t day);
/* The day n days after from, not counting days inside a school holiday:
 * a summer holiday does not eat a "within 30 days" period of a school
 * leaver (colleges start in August). */
int32_t calendar_add_days_outside_holidays(const calendar *cal, int32_t from,
					   int n);

/* When a desk is staffed, in Danish local time: the acknowledgement
 * windows count these hours only. Public holidays are always closed. */
typedef struct {
	unsigned days; /* bit per weekday: 1 << 0 Monday ... 1 << 6 Sunday */
	int open_min;  /* minutes after local midnight, 0..1439 */
	int close_min; /* open_min < close_min <= 1440 (24:00) */
} office_hours;

/* Monday to Friday, 08:00-16:00. */
void calendar_office_defaults(office_hours *oh);
/* "mon-fri", "mon,wed,fri", "mon-thu, sat" (any case; a range runs
 * Monday-first). */
ug_err calendar_parse_office_days(office_hours *oh, const char *text,
				  ug_diag *diag);
/* "08:00-16:00" (24:00 closes at midnight; opening before closing). */
ug_err calendar_parse_office_hours(office_hours *oh, const char *text,
				   ug_diag *diag);

/* Europe/Copenhagen's offset from UTC at a UTC instant, in milliseconds:
 * CEST (+2 h) from the last Sunday of March 01:00 UTC up to the last
 * Sunday of October 01:00 UTC, CET (+1 h) otherwise (the EU rule, applied
 * to every year). */
int64_t calendar_copenhagen_offset_ms(int64_t utc_ms);
/* The Danish date (days since 1970-01-01) at a UTC instant. */
int32_t calendar_copenhagen_day(int64_t utc_ms);
/* The UTC instant at which a Danish date begins (00:00 Danish time: 23:00
 * UTC the day before in winter, 22:00 in summer; no clock change falls at
 * Danish midnight). */
int64_t calendar_copenhagen_midnight(int32_t day);
/* The UTC instant at which `hours` office hours have passed after
 * start_ms (UTC, ms since 1970): time outside office hours, on days not in
 * oh->days and on public holidays does not count, so a start outside
 * office hours counts from the next opening. An end exactly at closing is
 * that closing instant. hours <= 0 returns start_ms; an office_hours
 * without an office day counts clock hours. */
int64_t calendar_add_office_hours(const calendar *cal, const office_hours *oh,
				  int64_t start_ms, int hours);

#endif
