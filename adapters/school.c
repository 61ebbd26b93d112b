/*
 * The school adapter: absence reports, one CSV row per pupil, period and
 * kind of absence (see SPEC: CSV absence reports), each becoming one
 * AbsenceReport envelope. Everything else is the shared runtime's.
 *
 * Reasons for a refused row name the column and what is wrong with it;
 * they quote a value only once it has parsed as a small number or a date,
 * never raw text, because a column mix-up can put a CPR anywhere.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "adapters/adapter.h"
#include "common/util.h"

enum {
	COL_CPR,
	COL_SCHOOL,
	COL_START,
	COL_END,
	COL_ABSENT,
	COL_EXPECTED,
	COL_KIND,
	COL_GRADE,
};

static const csv_column school_columns[] = {
    [COL_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [COL_SCHOOL] = {"school", {"skole", "institution"}, true},
    [COL_START] = {"period_start", {"fra", "from", "start"}, true},
    [COL_END] = {"period_end", {"til", "to", "end"}, true},
    [COL_ABSENT] = {"lessons_absent",
		    {"absent", "fravaer", "frav\xC3\xA6r"},
		    true},
    [COL_EXPECTED] = {"lessons_expected", {"expected", "lektioner"}, true},
    [COL_KIND] = {"kind",
		  {"type", "fravaerstype", "frav\xC3\xA6rstype"},
		  true},
    [COL_GRADE] = {"grade", {"klasse", "klassetrin"}, false},
    {NULL, {NULL}, false},
};

static const struct {
	const char *english, *danish;
	Ungebro__V1__AbsenceKind kind;
} kinds[] = {
    {"illness", "sygdom", UNGEBRO__V1__ABSENCE_KIND__ILLNESS},
    {"permitted", "lovligt", UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE},
    {"unlawful", "ulovligt", UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL},
    {"all", "alle", UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS},
};

#define BAD(field, ...)                                                       \
	do {                                                                  \
		ug_diag_set(diag, field, __VA_ARGS__);                        \
		return UG_EMALFORMED;                                         \
	} while (0)

static ug_err
parse_school(const char *text, ug_diag *diag)
{
	if (!text[0])
		BAD("school", "school is empty");
	if (strlen(text) > WIRE_TEXT_MAX)
		BAD("school", "school is longer than %d bytes", WIRE_TEXT_MAX);
	for (const unsigned char *p = (const unsigned char *)text; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			BAD("school", "school contains a control character");
	return UG_OK;
}

static ug_err
parse_date(const char *text, const char *column, int32_t *days, ug_diag *diag)
{
	if (!text[0])
		BAD(column, "%s is empty", column);
	if (ug_date_parse(text, days) != UG_OK)
		BAD(column, "%s is not a date in the form YYYY-MM-DD", column);
	return UG_OK;
}

/* A whole number of at most 9 digits, so it fits a uint32 and can never
 * be a CPR when quoted back in a reason. */
static ug_err
parse_count(const char *text, const char *column, uint32_t *value,
	    ug_diag *diag)
{
	size_t len = strlen(text);
	if (len == 0)
		BAD(column, "%s is empty", column);
	if (strspn(text, "0123456789") != len)
		BAD(column, "%s is not a whole number of 0 or more", column);
	if (len > 9)
		BAD(column, "%s is too large", column);
	uint32_t v = 0;
	for (size_t i = 0; i < len; i++)
		v = v * 10 + (uint32_t)(text[i] - '0');
	*value = v;
	return UG_OK;
}

static ug_err
parse_kind(const char *text, Ungebro__V1__AbsenceKind *kind, ug_diag *diag)
{
	if (!text[0])
		BAD("kind", "kind is empty");
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strcasecmp(text, kinds[i].english) ||
		    !strcasecmp(text, kinds[i].danish)) {
			*kind = kinds[i].kind;
			return UG_OK;
		}
	BAD("kind", "kind must be illness, permitted, unlawful or all "
		    "(sygdom, lovligt, ulovligt, alle)");
}

/* Schools write the grade alone ("9") or as the class ("9a", "9.b",
 * "10 x"): take the leading number, allow a class letter after it. */
static ug_err
parse_grade(const char *text, uint32_t *grade, ug_diag *diag)
{
	*grade = 0;
	if (!text || !text[0])
		return UG_OK; /* optional: 0 means unknown */
	const char *p = text;
	uint32_t v = 0;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 3)
		v = v * 10 + (uint32_t)(*p++ - '0'), digits++;
	if (*p == '.')
		p++;
	while (*p == ' ')
		p++;
	size_t letters = 0;
	while (((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) &&
	       letters < 3)
		p++, letters++;
	if (digits == 0 || digits > 2 || *p)
		BAD("grade",
		    "grade must be a class level from 0 to 10 (such as "
		    "9 or 9a)");
	if (v > 10)
		BAD("grade", "grade %u is not from 0 to 10", v);
	*grade = v;
	return UG_OK;
}

static ug_err
check_period(const char *start_text, int32_t start, const char *end_text,
	     int32_t end, ug_diag *diag)
{
	if (end < start)
		BAD("period_end", "period_end %s is before period_start %s",
		    end_text, start_text);
	if (end - start > 366)
		BAD("period_end",
		    "the period from %s to %s is longer than a "
		    "year",
		    start_text, end_text);
	return UG_OK;
}

static ug_err
check_counts(uint32_t absent, uint32_t expected, ug_diag *diag)
{
	if (expected == 0)
		BAD("lessons_expected",
		    "lessons_expected must be more than 0");
	if (absent > expected)
		BAD("lessons_absent",
		    "lessons_absent %u is more than "
		    "lessons_expected %u",
		    absent, expected);
	return UG_OK;
}

/* "absence" US school US cpr US period_start US period_end US kind (SPEC) */
static ug_err
natural_key(adapter_event *ev, const Ungebro__V1__AbsenceReport *a,
	    ug_diag *diag)
{
	char kind[12];
	snprintf(kind, sizeof kind, "%d", (int)a->kind);
	if (adapter_key_add(ev, "absence") || adapter_key_add(ev, a->school) ||
	    adapter_key_add(ev, ev->cpr) ||
	    adapter_key_add(ev, a->period_start) ||
	    adapter_key_add(ev, a->period_end) || adapter_key_add(ev, kind))
		BAD("school", "school is too long to identify the report");
	return UG_OK;
}

static ug_err
school_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	Ungebro__V1__AbsenceReport *a = &ev->payload.absence_report;
	ungebro__v1__absence_report__init(a);
	const char *const *f = row->field;
	int32_t start, end;
	ug_err err;
	if (!f[COL_CPR][0])
		BAD("cpr", "cpr is empty");
	if (ug_cpr_normalize(f[COL_CPR], strlen(f[COL_CPR]), ev->cpr) != UG_OK)
		BAD("cpr",
		    "cpr is not a CPR number (DDMMYY-SSSS or DDMMYYSSSS "
		    "with a real birth date)");
	if ((err = parse_school(f[COL_SCHOOL], diag)) ||
	    (err = parse_date(f[COL_START], "period_start", &start, diag)) ||
	    (err = parse_date(f[COL_END], "period_end", &end, diag)) ||
	    (err = parse_count(f[COL_ABSENT], "lessons_absent",
			       &a->lessons_absent, diag)) ||
	    (err = parse_count(f[COL_EXPECTED], "lessons_expected",
			       &a->lessons_expected, diag)) ||
	    (err = parse_kind(f[COL_KIND], &a->kind, diag)) ||
	    (err = parse_grade(f[COL_GRADE], &a->grade, diag)) ||
	    (err = check_period(f[COL_START], start, f[COL_END], end, diag)) ||
	    (err = check_counts(a->lessons_absent, a->lessons_expected, diag)))
		return err;
	a->school = (char *)f[COL_SCHOOL];
	a->period_start = (char *)f[COL_START];
	a->period_end = (char *)f[COL_END];
	a->unit_days = 0;
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.cpr = ev->cpr;
	ev->env.occurred_at = (int64_t)end * 86400000;
	ev->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT;
	ev->env.absence_report = a;
	return natural_key(ev, a, diag);
}

const struct adapter_ops school_ops = {
    .name = "school",
    .description = "Imports a school's absence reports: one row per pupil, "
		   "period and kind of absence.",
    .columns = school_columns,
    .parse_row = school_parse_row,
};
