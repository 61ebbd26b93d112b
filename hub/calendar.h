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
	int32_t from, to;  /* CAL_DATES: days; CAL_YEARLY: month*100+day;
	                    * CAL_EASTER: days from Easter Sunday */
	int week;          /* CAL_WEEK: ISO week number, every year */
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

/* The first day of the window of n school days ending on (or before) end. */
int32_t calendar_school_days_back(const calendar *cal, int32_t end, int n);
/* The day n working days after from (n >= 0; from itself not counted). */
int32_t calendar_add_working_days(const calendar *cal, int32_t from, int n);

/* The day n days after from, not counting days inside a school holiday:
 * a summer holiday does not eat a "within 30 days" period of a school
 * leaver (colleges start in August). */
int32_t calendar_add_days_outside_holidays(const calendar *cal, int32_t from,
                                           int n);

#endif
