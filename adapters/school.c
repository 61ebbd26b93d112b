/*
 * The school adapter: three kinds of record a school (grades 7-10)
 * exports, each row becoming one envelope; everything else is the shared
 * runtime's.
 *
 *   absence    AbsenceReport: one row per pupil, period and kind of
 *              absence (docs/ADAPTERS.md, "school").
 *   readiness  ReadinessAssessment: the education-readiness assessment
 *              (UPV) of a pupil in grade 7-10, ready or not, and the
 *              areas (academic, personal, social) in which not.
 *   leaving    SchoolLeaving: a pupil completed grade 9 or 10 (afgang)
 *              or left before completing it (udmeldt).
 *
 * Reasons for a refused row name the column and what is wrong with it;
 * they quote a value only once it has parsed as a small number or a date,
 * never raw text, because a column mix-up can put a CPR anywhere.
 */
#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/fields.h"
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
	return fields_text(text, "school", true, diag);
}

/* The shared check, range and placeholders included: a period of
 * 1900-01-01 would otherwise pass here and be refused by the envelope's
 * check as "occurred_at", a name no column in the file has. */
static ug_err
parse_date(const char *text, const char *column, int32_t *days, ug_diag *diag)
{
	char iso[11];
	return fields_date(text, column, days, iso, diag);
}

/* A whole number. One of more than 9 digits (a CPR in the wrong column)
 * does not fit a uint32 and reads as UINT32_MAX, so that check_counts
 * refuses it with the same reason as any other count over the limit
 * (it quotes small ones only: a CPR whose leading zero a spreadsheet
 * dropped has 9 digits). */
static ug_err
parse_count(const char *text, const char *column, uint32_t *value,
	    ug_diag *diag)
{
	size_t len = strlen(text);
	if (len == 0)
		BAD(column, "%s is empty", column);
	/* The reason gives the column's own range: "0 or more" would send
	 * a clerk who wrote 1.000 expected lessons to write 0, refused
	 * next as "must be more than 0". */
	if (strspn(text, "0123456789") != len &&
	    strcmp(column, "lessons_expected") == 0)
		BAD(column,
		    "%s is not a whole number from 1 to %d (digits only)",
		    column, WIRE_LESSONS_MAX);
	if (strspn(text, "0123456789") != len)
		BAD(column,
		    "%s is not a whole number of 0 or more (digits "
		    "only)",
		    column);
	size_t zeros = strspn(text, "0");
	if (len - zeros > 9) {
		*value = UINT32_MAX;
		return UG_OK;
	}
	uint32_t v = 0;
	for (size_t i = zeros; i < len; i++)
		v = v * 10 + (uint32_t)(text[i] - '0');
	*value = v;
	return UG_OK;
}

static ug_err
parse_kind(const char *text, Ungebro__V1__AbsenceKind *kind, ug_diag *diag)
{
	if (!text[0])
		BAD("kind", "kind is empty");
	/* As every word of a fixed list is read (adapter_match). */
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		const char *const words[] = {kinds[i].english, kinds[i].danish,
					     NULL};
		if (adapter_match(text, words) >= 0) {
			*kind = kinds[i].kind;
			return UG_OK;
		}
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
		    "year (period_end at most 366 days after "
		    "period_start)",
		    start_text, end_text);
	return UG_OK;
}

/* Counts of up to five digits are quoted in a reason; a longer one may
 * be a CPR in the wrong column, its leading zero dropped. */
#define COUNT_QUOTED_MAX 99999u

static ug_err
check_counts(uint32_t absent, uint32_t expected, ug_diag *diag)
{
	if (expected == 0)
		BAD("lessons_expected",
		    "lessons_expected must be more than 0");
	if (expected > COUNT_QUOTED_MAX)
		BAD("lessons_expected", "lessons_expected is more than %d",
		    WIRE_LESSONS_MAX);
	if (expected > WIRE_LESSONS_MAX)
		BAD("lessons_expected", "lessons_expected %u is more than %d",
		    expected, WIRE_LESSONS_MAX);
	if (absent > COUNT_QUOTED_MAX)
		BAD("lessons_absent",
		    "lessons_absent is more than lessons_expected %u",
		    expected);
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
	if ((err = fields_cpr(f[COL_CPR], "cpr", ev, diag)) ||
	    (err = parse_school(f[COL_SCHOOL], diag)) ||
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
	ug_date_format(start, ev->date[0]);
	ug_date_format(end, ev->date[1]);
	a->period_start = ev->date[0];
	a->period_end = ev->date[1];
	a->unit_days = 0;
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.cpr = ev->cpr;
	ev->env.occurred_at = (int64_t)end * UG_DAY_MS;
	ev->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT;
	ev->env.absence_report = a;
	return natural_key(ev, a, diag);
}

const struct adapter_kind school_absence_kind = {
    .name = "absence",
    .description = "absence reports: one row per pupil, period and kind "
		   "of absence",
    .columns = school_columns,
    .parse_row = school_parse_row,
};

/* ---- readiness: the education-readiness assessment (UPV) ----------- */

enum {
	RD_CPR,
	RD_SCHOOL,
	RD_GRADE,
	RD_DATE,
	RD_READY,
	RD_AREAS,
	RD_ACADEMIC,
	RD_PERSONAL,
	RD_SOCIAL,
};

/* The areas may come as one list column ("faglig, social") or as one
 * yes/no column each; a file may have either or both. */
static const csv_column readiness_columns[] = {
    [RD_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [RD_SCHOOL] = {"school", {"skole", "institution"}, true},
    [RD_GRADE] = {"grade", {"klasse", "klassetrin"}, true},
    [RD_DATE] = {"date",
		 {"dato", "assessed", "assessment_date", "vurderingsdato"},
		 true},
    [RD_READY] = {"ready",
		  {"parat", "uddannelsesparat", "vurdering", "assessment"},
		  true},
    [RD_AREAS] = {"areas",
		  {"not_ready_areas", "omraader",
		   "omr\xC3\xA5"
		   "der",
		   "ikke_parat_omraader",
		   "ikke_parat_omr\xC3\xA5"
		   "der"},
		  false},
    [RD_ACADEMIC] = {"not_ready_academic",
		     {"academic", "faglig", "fagligt", "faglige"},
		     false},
    [RD_PERSONAL] = {"not_ready_personal",
		     {"personal", "personlig", "personligt", "personlige"},
		     false},
    [RD_SOCIAL] = {"not_ready_social",
		   {"social", "socialt", "sociale"},
		   false},
    {NULL, {NULL}, false},
};

static const fields_word ready_words[] = {
    {"yes", 1},
    {"ja", 1},
    {"ready", 1},
    {"parat", 1},
    {"uddannelsesparat", 1},
    {"1", 1},
    {"true", 1},
    {"no", 0},
    {"nej", 0},
    {"not ready", 0},
    {"ikke parat", 0},
    {"ikke uddannelsesparat", 0},
    {"0", 0},
    {"false", 0},
    {NULL, 0},
};

enum { AREA_ACADEMIC = 1, AREA_PERSONAL = 2, AREA_SOCIAL = 4 };

static const fields_word area_words[] = {
    {"academic", AREA_ACADEMIC},   {"faglig", AREA_ACADEMIC},
    {"fagligt", AREA_ACADEMIC},	   {"faglige", AREA_ACADEMIC},
    {"personal", AREA_PERSONAL},   {"personlig", AREA_PERSONAL},
    {"personligt", AREA_PERSONAL}, {"personlige", AREA_PERSONAL},
    {"social", AREA_SOCIAL},	   {"socialt", AREA_SOCIAL},
    {"sociale", AREA_SOCIAL},	   {NULL, 0},
};

#define AREAS_ACCEPTED                                                        \
	"a list of academic, personal, social (faglig, personlig, social) "   \
	"separated by ',', ';', '/', '+', '&', blanks, 'og' or 'and'"

/* The one-column-per-area form: yes/x marks the area as not ready. */
static ug_err
parse_area_column(const char *text, const char *column, unsigned bit,
		  unsigned *areas, ug_diag *diag)
{
	int yes;
	ug_err err = fields_yes_no(text, column, true, &yes, diag);
	if (err == UG_OK && yes == 1)
		*areas |= bit;
	return err;
}

/* The area column a row's mistake is in: the first that names an area
 * (marked), or the first the file has (!marked). */
static const char *
area_column(const char *const *f, bool marked)
{
	static const struct {
		int index;
		const char *name;
	} cols[] = {{RD_AREAS, "areas"},
		    {RD_ACADEMIC, "not_ready_academic"},
		    {RD_PERSONAL, "not_ready_personal"},
		    {RD_SOCIAL, "not_ready_social"}};
	for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) {
		const char *v = f[cols[i].index];
		int yes = 0;
		ug_diag ignored = {0};
		if (!v)
			continue;
		if (!marked)
			return cols[i].name;
		bool says;
		if (cols[i].index == RD_AREAS)
			says = v[0] != '\0';
		else
			says = fields_yes_no(v, cols[i].name, true, &yes,
					     &ignored) == UG_OK &&
			       yes == 1;
		if (says)
			return cols[i].name;
	}
	return "areas";
}

static ug_err
readiness_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	Ungebro__V1__ReadinessAssessment *r =
	    &ev->payload.readiness_assessment;
	ungebro__v1__readiness_assessment__init(r);
	const char *const *f = row->field;
	int32_t date;
	int ready;
	unsigned areas = 0;
	ug_err err;
	if ((err = fields_cpr(f[RD_CPR], "cpr", ev, diag)) ||
	    (err = parse_school(f[RD_SCHOOL], diag)) ||
	    (err =
		 fields_grade(f[RD_GRADE], "grade", 7, 10, &r->grade, diag)) ||
	    (err =
		 fields_date(f[RD_DATE], "date", &date, ev->date[0], diag)) ||
	    (err = fields_choice(f[RD_READY], "ready", ready_words,
				 "yes or no (ja, nej; parat, ikke parat)",
				 &ready, diag)) ||
	    (err = fields_word_list(f[RD_AREAS], "areas", area_words,
				    AREAS_ACCEPTED, &areas, diag)) ||
	    (err = parse_area_column(f[RD_ACADEMIC], "not_ready_academic",
				     AREA_ACADEMIC, &areas, diag)) ||
	    (err = parse_area_column(f[RD_PERSONAL], "not_ready_personal",
				     AREA_PERSONAL, &areas, diag)) ||
	    (err = parse_area_column(f[RD_SOCIAL], "not_ready_social",
				     AREA_SOCIAL, &areas, diag)))
		return err;
	r->ready = ready == 1;
	bool areas_known =
	    f[RD_AREAS] || f[RD_ACADEMIC] || f[RD_PERSONAL] || f[RD_SOCIAL];
	/* A pupil is assessed not ready *in* one or more areas (the UPV's
	 * academic, personal and social prerequisites); a row that says
	 * both, or a not-ready row in a file that has the areas but names
	 * none, is a mistake the school can fix, not a fact to guess at. */
	/* Blame a column the file has, and the one that says it: a clerk
	 * looks for the mistake where the message points. */
	const char *says = area_column(f, true);
	if (r->ready && areas && strcmp(says, "areas") == 0)
		BAD("areas", "areas must be empty when ready is yes");
	if (r->ready && areas)
		BAD(says, "%s must be no or empty when ready is yes", says);
	if (!r->ready && areas_known && !areas)
		BAD(area_column(f, false),
		    "ready is no, so name the areas the pupil is not ready "
		    "in (academic, personal, social)");
	r->not_ready_academic = (areas & AREA_ACADEMIC) != 0;
	r->not_ready_personal = (areas & AREA_PERSONAL) != 0;
	r->not_ready_social = (areas & AREA_SOCIAL) != 0;
	r->school = (char *)f[RD_SCHOOL];
	r->date = ev->date[0];
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.occurred_at = fields_day_ms(date);
	ev->env.payload_case =
	    UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT;
	ev->env.readiness_assessment = r;
	/* One assessment per pupil, school, grade and day; the verdict and
	 * the areas are its values, so a re-assessment of the same day
	 * exported again corrects it. */
	char grade[4];
	snprintf(grade, sizeof grade, "%u", (unsigned)r->grade);
	return fields_key(ev, "school", diag, "readiness", r->school, ev->cpr,
			  grade, r->date, (const char *)NULL);
}

static const struct adapter_kind school_readiness_kind = {
    .name = "readiness",
    .description = "readiness assessments (UPV): one row per pupil and "
		   "assessment, ready or not and in which areas",
    .columns = readiness_columns,
    .parse_row = readiness_parse_row,
};

/* ---- leaving: completed grade 9/10, or left school ------------------ */

enum { LV_CPR, LV_SCHOOL, LV_GRADE, LV_DATE, LV_KIND };

static const csv_column leaving_columns[] = {
    [LV_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [LV_SCHOOL] = {"school", {"skole", "institution"}, true},
    [LV_GRADE] = {"grade", {"klasse", "klassetrin"}, true},
    [LV_DATE] = {"date",
		 {"dato", "last_day", "sidste_skoledag", "leaving_date",
		  "udskrivningsdato"},
		 true},
    [LV_KIND] = {"leaving",
		 {"kind", "type", "status", "art", "afgangstype"},
		 true},
    {NULL, {NULL}, false},
};

static const fields_word leaving_words[] = {
    {"completed", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
    {"completed grade", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
    {"afgang", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
    {"afsluttet", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
    {"gennemf\xC3\xB8rt", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
    {"gennemfoert", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
    {"left", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
    {"left school", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
    {"udmeldt", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
    {"udmeldelse", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
    {NULL, 0},
};

static ug_err
leaving_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	Ungebro__V1__SchoolLeaving *l = &ev->payload.school_leaving;
	ungebro__v1__school_leaving__init(l);
	const char *const *f = row->field;
	int32_t date;
	int kind;
	ug_err err;
	if ((err = fields_cpr(f[LV_CPR], "cpr", ev, diag)) ||
	    (err = parse_school(f[LV_SCHOOL], diag)) ||
	    (err =
		 fields_grade(f[LV_GRADE], "grade", 9, 10, &l->grade, diag)) ||
	    (err =
		 fields_date(f[LV_DATE], "date", &date, ev->date[0], diag)) ||
	    (err = fields_choice(f[LV_KIND], "leaving", leaving_words,
				 "completed or left (afgang, udmeldt)", &kind,
				 diag)))
		return err;
	l->kind = (Ungebro__V1__LeavingKind)kind;
	l->school = (char *)f[LV_SCHOOL];
	l->date = ev->date[0];
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.occurred_at = fields_day_ms(date);
	ev->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING;
	ev->env.school_leaving = l;
	/* A pupil leaves a grade at a school once: the day and whether it
	 * was completed are values, so a corrected row supersedes. */
	char grade[4];
	snprintf(grade, sizeof grade, "%u", (unsigned)l->grade);
	return fields_key(ev, "school", diag, "leaving", l->school, ev->cpr,
			  grade, (const char *)NULL);
}

static const struct adapter_kind school_leaving_kind = {
    .name = "leaving",
    .description = "school leaving: one row per pupil who completed grade "
		   "9 or 10 or left before completing it",
    .columns = leaving_columns,
    .parse_row = leaving_parse_row,
};

static const struct adapter_kind *const school_kinds[] = {
    &school_absence_kind,
    &school_readiness_kind,
    &school_leaving_kind,
    NULL,
};

const struct adapter_ops school_ops = {
    .name = "school",
    .description = "Imports a school's exports: absence reports, "
		   "readiness assessments (UPV) and school leaving.",
    .kinds = school_kinds,
};
