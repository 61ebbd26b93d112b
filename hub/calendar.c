/* Danish calendars for the rules; see calendar.h. */
#include "hub/calendar.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

static void
civil(int32_t day, int *year, int *month, int *mday)
{
	ug_civil(day, year, month, mday);
}

/* Easter Sunday, Gregorian (the anonymous algorithm, Meeus/Jones/Butcher). */
static int32_t
easter(int year)
{
	int a = year % 19, b = year / 100, c = year % 100, d = b / 4,
	    e = b % 4;
	int f = (b + 8) / 25, g = (b - f + 1) / 3;
	int h = (19 * a + b - d - g + 15) % 30;
	int i = c / 4, k = c % 4;
	int l = (32 + 2 * e + 2 * i - h - k) % 7;
	int m = (a + 11 * h + 22 * l) / 451;
	int month = (h + l - 7 * m + 114) / 31;
	int mday = (h + l - 7 * m + 114) % 31 + 1;
	return ug_days_from_civil(year, month, mday);
}

bool
calendar_is_public_holiday(const calendar *cal, int32_t day)
{
	int year, month, mday;
	civil(day, &year, &month, &mday);
	int md = month * 100 + mday;
	if (md == 101 || md == 605 || md == 1225 || md == 1226 ||
	    (md == 1224 && cal->christmas_eve_is_holiday))
		return true;
	int32_t e = easter(year);
	int offset = (int)(day - e);
	/* Maundy Thursday, Good Friday, Easter Sunday and Monday, Ascension,
	 * Whit Sunday and Monday; Great Prayer Day until it was abolished
	 * from 2024. */
	return offset == -3 || offset == -2 || offset == 0 || offset == 1 ||
	       offset == 39 || offset == 49 || offset == 50 ||
	       (offset == 26 && year < 2024);
}

bool
calendar_is_working_day(const calendar *cal, int32_t day)
{
	return ug_weekday(day) < 5 && !calendar_is_public_holiday(cal, day);
}

static int32_t
iso_week_monday(int year, int week)
{
	int32_t jan4 = ug_days_from_civil(year, 1, 4);
	return jan4 - ug_weekday(jan4) + 7 * (week - 1);
}

static bool
in_range(const calendar_range *r, int32_t day)
{
	int year, month, mday;
	switch (r->kind) {
	case CAL_DATES:
		return day >= r->from && day <= r->to;
	case CAL_WEEK: {
		civil(day, &year, &month, &mday);
		/* The ISO week may belong to the neighbouring year. A year
		 * has a week 53 only if that week's Thursday lies in it;
		 * otherwise "week 53" would be the next year's week 1. */
		for (int y = year - 1; y <= year + 1; y++) {
			int32_t monday = iso_week_monday(y, r->week);
			int ty, tm, td;
			civil(monday + 3, &ty, &tm, &td);
			if (ty == y && day >= monday && day < monday + 7)
				return true;
		}
		return false;
	}
	case CAL_EASTER: {
		civil(day, &year, &month, &mday);
		int32_t offset = day - easter(year);
		return offset >= r->from && offset <= r->to;
	}
	case CAL_YEARLY:
		civil(day, &year, &month, &mday);
		int md = month * 100 + mday;
		/* A range over New Year (12-21..01-02) wraps. */
		return r->from <= r->to ? md >= r->from && md <= r->to
					: md >= r->from || md <= r->to;
	}
	return false;
}

static bool
school_day_uncached(const calendar *cal, int32_t day)
{
	if (!calendar_is_working_day(cal, day))
		return false;
	for (int i = 0; i < cal->nschool_holidays; i++)
		if (in_range(&cal->school_holidays[i], day))
			return false;
	return true;
}

/* The rules ask about the same few hundred days for every absence report;
 * a direct-mapped memo keeps that off the ingest path. It is keyed by the
 * calendar's generation, which every change to a calendar renews. */
#define MEMO_SIZE 2048
static struct {
	uint32_t generation;
	int32_t day;
	bool school_day;
} memo[MEMO_SIZE];
static uint32_t next_generation = 1;

bool
calendar_is_school_day(const calendar *cal, int32_t day)
{
	unsigned slot = (unsigned)day % MEMO_SIZE;
	if (cal->generation && memo[slot].generation == cal->generation &&
	    memo[slot].day == day)
		return memo[slot].school_day;
	bool school_day = school_day_uncached(cal, day);
	memo[slot].generation = cal->generation;
	memo[slot].day = day;
	memo[slot].school_day = school_day;
	return school_day;
}

int32_t
calendar_school_days_back(const calendar *cal, int32_t end, int n)
{
	int32_t day = end;
	int counted = 0;
	/* Bounded: a window never reaches back more than a few years even
	 * with an odd calendar. */
	for (int guard = 0; guard < CALENDAR_BACK_MAX_DAYS; guard++, day--)
		if (calendar_is_school_day(cal, day) && ++counted == n)
			return day;
	return day;
}

int32_t
calendar_add_working_days(const calendar *cal, int32_t from, int n)
{
	int32_t day = from;
	while (n > 0) {
		day++;
		if (calendar_is_working_day(cal, day))
			n--;
	}
	return day;
}

void
calendar_touch(calendar *cal)
{
	cal->generation = next_generation++;
}

void
calendar_clear_school_holidays(calendar *cal)
{
	cal->nschool_holidays = 0;
	cal->generation = next_generation++;
}

static ug_err
parse_month_day(const char *text, int32_t *md)
{
	/* Every year's days: 02-29 holds in leap years, 02-30 never. */
	static const int days[] = {31, 29, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	/* Digits only: sscanf's %d would take "+1" or " 5" for a month. */
	const char *form = "dd-dd";
	for (int i = 0; form[i]; i++)
		if (form[i] == 'd' ? !isdigit((unsigned char)text[i])
				   : text[i] != form[i])
			return UG_EMALFORMED;
	int month, mday;
	char tail;
	if (sscanf(text, "%2d-%2d%c", &month, &mday, &tail) != 2 ||
	    month < 1 || month > 12 || mday < 1 || mday > days[month - 1])
		return UG_EMALFORMED;
	*md = month * 100 + mday;
	return UG_OK;
}

/* The range as the parser reads it: "Week 7" as "week 7", "12-21 ..
 * 01-02" as "12-21..01-02" (clerks write both). A tab is a blank as a
 * space is: the file trims both around a value, and an editor may put
 * either around the dots. False if too long. */
static bool
normalise_range(const char *text, char *out, size_t cap)
{
	size_t n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' || *p == '\t') {
			const char *next = p;
			while (*next == ' ' || *next == '\t')
				next++;
			bool after_dots =
			    n >= 2 && out[n - 1] == '.' && out[n - 2] == '.';
			if (after_dots || strncmp(next, "..", 2) == 0) {
				p = next - 1;
				continue;
			}
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = *p == '\t' ? ' ' : (char)tolower((unsigned char)*p);
	}
	out[n] = '\0';
	return true;
}

ug_err
calendar_add_school_holiday(calendar *cal, const char *original, ug_diag *diag)
{
	if (cal->nschool_holidays == CALENDAR_RANGES_MAX) {
		ug_diag_set(diag, "calendar", "more than %d school holidays",
			    CALENDAR_RANGES_MAX);
		return UG_EINVAL;
	}
	calendar_range r = {0};
	int week;
	char tail;
	char text[64];
	if (!normalise_range(original, text, sizeof text))
		goto bad;
	const char *dots = strstr(text, "..");
	int before, after;
	if (strcmp(text, "easter") == 0) {
		/* Påskeferie: from Palm Sunday to Easter Monday, wherever
		 * Easter falls. */
		r.kind = CAL_EASTER;
		r.from = -7;
		r.to = 1;
	} else if (sscanf(text, "easter %d..%d%c", &before, &after, &tail) ==
		       2 &&
		   before <= after && before >= -60 && after <= 60) {
		r.kind = CAL_EASTER;
		r.from = before;
		r.to = after;
	} else if (sscanf(text, "week %d%c", &week, &tail) == 1 && week >= 1 &&
		   week <= 53) {
		r.kind = CAL_WEEK;
		r.week = week;
	} else if (dots && dots - text == 10 &&
		   ug_date_parse_n(text, 10, &r.from) == UG_OK &&
		   ug_date_parse(dots + 2, &r.to) == UG_OK && r.to >= r.from) {
		r.kind = CAL_DATES;
	} else if (dots && dots - text == 5) {
		char first[6];
		memcpy(first, text, 5);
		first[5] = '\0';
		r.kind = CAL_YEARLY;
		if (parse_month_day(first, &r.from) != UG_OK ||
		    parse_month_day(dots + 2, &r.to) != UG_OK)
			goto bad;
	} else {
		goto bad;
	}
	cal->school_holidays[cal->nschool_holidays++] = r;
	cal->generation = next_generation++;
	return UG_OK;
bad:
	ug_diag_set(diag, "calendar",
		    "'%s' is not a holiday range "
		    "(YYYY-MM-DD..YYYY-MM-DD, MM-DD..MM-DD, week N, easter or "
		    "easter -N..+M)",
		    original);
	return UG_EMALFORMED;
}

void
calendar_defaults(calendar *cal)
{
	memset(cal, 0, sizeof *cal);
	cal->christmas_eve_is_holiday = true;
	static const char *const defaults[] = {"week 7", "easter", "week 42",
					       "12-21..01-02", "06-27..08-09"};
	for (size_t i = 0; i < sizeof defaults / sizeof *defaults; i++)
		calendar_add_school_holiday(cal, defaults[i], NULL);
}

bool
calendar_in_school_holiday(const calendar *cal, int32_t day)
{
	for (int i = 0; i < cal->nschool_holidays; i++)
		if (in_range(&cal->school_holidays[i], day))
			return true;
	return false;
}

int32_t
calendar_add_days_outside_holidays(const calendar *cal, int32_t from, int n)
{
	int32_t day = from;
	for (int guard = 0; n > 0 && guard < 4000; guard++) {
		day++;
		if (!calendar_in_school_holiday(cal, day))
			n--;
	}
	return day;
}

#define MINUTE_MS INT64_C(60000)
#define HOUR_MS	  (60 * MINUTE_MS)

void
calendar_office_defaults(office_hours *oh)
{
	oh->days = 0x1f; /* Monday to Friday */
	oh->open_min = 8 * 60;
	oh->close_min = 16 * 60;
}

static int
weekday_named(const char *text, size_t len)
{
	static const char *const names[] = {"mon", "tue", "wed", "thu",
					    "fri", "sat", "sun"};
	for (int i = 0; i < 7; i++)
		if (len == 3 && strncasecmp(text, names[i], 3) == 0)
			return i;
	return -1;
}

/* Blanks around a `,` or `-` are a tab as often as a space: the rules
 * file trims both around a value, and an editor may put either. */
static const char *
skip_blanks(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

ug_err
calendar_parse_office_days(office_hours *oh, const char *text, ug_diag *diag)
{
	unsigned days = 0;
	const char *p = text;
	for (;;) {
		p = skip_blanks(p);
		size_t len = strcspn(p, ",- \t");
		int first = weekday_named(p, len), last = first;
		p = skip_blanks(p + len);
		if (first >= 0 && *p == '-') {
			p = skip_blanks(p + 1);
			len = strcspn(p, ",- \t");
			last = weekday_named(p, len);
			p = skip_blanks(p + len);
		}
		if (first < 0 || last < first)
			goto bad;
		for (int d = first; d <= last; d++)
			days |= 1u << d;
		if (*p == '\0')
			break;
		if (*p++ != ',')
			goto bad;
	}
	oh->days = days;
	return UG_OK;
bad:
	ug_diag_set(diag, "office.days",
		    "'%s' is not a list of weekdays "
		    "(mon, tue, wed, thu, fri, sat, sun; ranges Monday-first "
		    "such as mon-fri; comma-separated)",
		    text);
	return UG_EMALFORMED;
}

/* "HH:MM", 00:00 to 24:00, exactly two digits each. */
static bool
parse_clock(const char **p, int *minutes)
{
	const char *s = *p;
	for (int i = 0; i < 5; i++)
		if (i == 2 ? s[i] != ':' : s[i] < '0' || s[i] > '9')
			return false;
	int hour = (s[0] - '0') * 10 + s[1] - '0';
	int minute = (s[3] - '0') * 10 + s[4] - '0';
	if (minute > 59 || hour > 24 || (hour == 24 && minute != 0))
		return false;
	*minutes = hour * 60 + minute;
	*p = s + 5;
	return true;
}

ug_err
calendar_parse_office_hours(office_hours *oh, const char *text, ug_diag *diag)
{
	const char *p = text;
	int open, close;
	if (!parse_clock(&p, &open))
		goto bad;
	p = skip_blanks(p);
	if (*p++ != '-')
		goto bad;
	p = skip_blanks(p);
	/* Opening on one day and closing on the next is no office day. */
	if (!parse_clock(&p, &close) || *p != '\0' || open >= close)
		goto bad;
	oh->open_min = open;
	oh->close_min = close;
	return UG_OK;
bad:
	ug_diag_set(diag, "office.hours",
		    "'%s' is not an opening time "
		    "(HH:MM-HH:MM, 00:00 to 24:00, opening before closing, "
		    "such as 08:00-16:00)",
		    text);
	return UG_EMALFORMED;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return a % b != 0 && (a < 0) != (b < 0) ? q - 1 : q;
}

static int32_t
last_sunday(int year, int month)
{
	int32_t last = ug_days_from_civil(year, month, 31);
	return last - (ug_weekday(last) + 1) % 7;
}

int64_t
calendar_copenhagen_offset_ms(int64_t utc_ms)
{
	int year, month, mday;
	ug_civil((int32_t)floor_div(utc_ms, UG_DAY_MS), &year, &month, &mday);
	int64_t summer_from = last_sunday(year, 3) * UG_DAY_MS + HOUR_MS;
	int64_t summer_to = last_sunday(year, 10) * UG_DAY_MS + HOUR_MS;
	return utc_ms >= summer_from && utc_ms < summer_to ? 2 * HOUR_MS
							   : HOUR_MS;
}

/* The UTC instant of a Danish wall-clock time. A time the spring switch
 * skips is read as the same hour after it; one the autumn switch repeats
 * is its first (summer-time) occurrence. */
static int64_t
copenhagen_to_utc(int32_t day, int minutes)
{
	int64_t wall = day * UG_DAY_MS + minutes * MINUTE_MS;
	if (calendar_copenhagen_offset_ms(wall - 2 * HOUR_MS) == 2 * HOUR_MS)
		return wall - 2 * HOUR_MS;
	return wall - HOUR_MS;
}

int32_t
calendar_copenhagen_day(int64_t utc_ms)
{
	return (int32_t)floor_div(
	    utc_ms + calendar_copenhagen_offset_ms(utc_ms), UG_DAY_MS);
}

int64_t
calendar_copenhagen_midnight(int32_t day)
{
	return copenhagen_to_utc(day, 0);
}

int64_t
calendar_add_office_hours(const calendar *cal, const office_hours *oh,
			  int64_t start_ms, int hours)
{
	if (hours <= 0)
		return start_ms;
	int64_t left = (int64_t)hours * HOUR_MS;
	/* With no office day at all (never configured) the loop below would
	 * not end: count the clock instead. */
	if (!(oh->days & 0x7f) || oh->open_min >= oh->close_min)
		return start_ms + left;
	int64_t at = start_ms;
	int32_t day = (int32_t)floor_div(
	    start_ms + calendar_copenhagen_offset_ms(start_ms), UG_DAY_MS);
	for (;; day++) {
		if (!(oh->days & 1u << ug_weekday(day)) ||
		    calendar_is_public_holiday(cal, day))
			continue;
		int64_t open = copenhagen_to_utc(day, oh->open_min);
		int64_t close = copenhagen_to_utc(day, oh->close_min);
		if (at < open)
			at = open;
		if (at >= close)
			continue;
		if (left <= close - at)
			return at + left;
		left -= close - at;
		at = close;
	}
}
