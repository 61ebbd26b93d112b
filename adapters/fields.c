/*
 * Field checks shared by the agency files (see fields.h). Each one reads
 * one column's text, says in the diag what is wrong with it without ever
 * quoting the text, and leaves nothing behind.
 */
#include "adapters/fields.h"

#include <stdarg.h>
#include <string.h>

#include "common/keys.h"
#include "common/util.h"

ug_err
fields_cpr(const char *text, const char *column, adapter_event *ev,
	   ug_diag *diag)
{
	const char *why;
	if (ug_cpr_parse(text, text ? strlen(text) : 0, ev->cpr, &why) !=
	    UG_OK)
		FIELDS_BAD(diag, column, "%s", why);
	ev->env.cpr = ev->cpr;
	return UG_OK;
}

static bool read_as_latin1;

void
fields_read_as_latin1(bool latin1)
{
	read_as_latin1 = latin1;
}

/* C0, DEL and C1 (U+0080-U+009F, UTF-8 C2 80 - C2 9F): the last are
 * what a Windows-1252 file read as latin1 makes of its dashes and
 * quotes, invisible in the hub's counts and reports. */
static int
has_control(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7F)
			return 1;
		if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			return 2;
	}
	return 0;
}

ug_err
fields_text(const char *text, const char *column, bool required, ug_diag *diag)
{
	if (fields_empty(text)) {
		if (required)
			FIELDS_BAD(diag, column, "%s is empty", column);
		return UG_OK;
	}
	if (strlen(text) > WIRE_TEXT_MAX)
		FIELDS_BAD(diag, column, "%s is longer than %d bytes", column,
			   WIRE_TEXT_MAX);
	int control = has_control(text);
	if (control)
		FIELDS_BAD(diag, column, "%s contains a control character%s",
			   column,
			   control == 2 && read_as_latin1
			       ? " (U+0080-U+009F: a Windows-1252 file read "
				 "as latin1? set encoding = cp1252)"
			       : "");
	/* A CPR here is a column mix-up; sent on, it would label the
	 * hub's counts and reports, and tie an anonymous count to a
	 * person. */
	char cpr[11];
	if (ug_cpr_parse(text, strlen(text), cpr, NULL) == UG_OK)
		FIELDS_BAD(diag, column,
			   "%s looks like a CPR number; it must be an id or "
			   "a name, never a person's number",
			   column);
	/* Within a name ("stx 010110-1234") it would be stored and shown
	 * with the name as well. */
	char copy[WIRE_TEXT_MAX + 1];
	memcpy(copy, text, strlen(text) + 1);
	if (ug_cpr_mask(copy))
		FIELDS_BAD(diag, column,
			   "%s holds a CPR number; it must be an id or a "
			   "name, never a person's number",
			   column);
	return UG_OK;
}

static bool
only(const char *text, const char *extra)
{
	for (const char *p = text; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return false;
	return true;
}

ug_err
fields_id(const char *text, const char *column, ug_diag *diag)
{
	if (fields_empty(text))
		FIELDS_BAD(diag, column, "%s is empty", column);
	/* A CPR in the caseworker or desk column (a column mix-up) would
	 * travel as a staff id, in desk events that must hold none. */
	char cpr[11];
	if (ug_cpr_parse(text, strlen(text), cpr, NULL) == UG_OK)
		FIELDS_BAD(diag, column,
			   "%s looks like a CPR number; it must be a "
			   "caseworker or desk id",
			   column);
	/* The hub's own test of an id: one it would refuse must be refused
	 * here, where the row and column can still be named. */
	if (strlen(text) > FIELDS_ID_MAX || !ug_id_valid(text))
		FIELDS_BAD(diag, column,
			   "%s must be an id as registered with the hub "
			   "(at most %d of a-z 0-9 . _ -, starting with a "
			   "letter or digit, holding no CPR number)",
			   column, FIELDS_ID_MAX);
	return UG_OK;
}

/* Exports write "no date" as a date: 1900-01-01 (a spreadsheet's day
 * one), 1970-01-01 (the Unix epoch), 9999-12-31 ("no end" where no end
 * is allowed). Saying so tells the clerk the source holds no date there,
 * which "out of range" or "not a date" would hide. Three forms each, in
 * the order of placeholder_iso. */
static const char *const placeholder_dates[] = {
    "1900-01-01", "01-01-1900", "01.01.1900", "1970-01-01", "01-01-1970",
    "01.01.1970", "9999-12-31", "31-12-9999", "31.12.9999", NULL};
static const char *const placeholder_iso[] = {"1900-01-01", "1970-01-01",
					      "9999-12-31"};

/* The range event dates must fall in: an export's placeholder dates
 * would otherwise reach the hub as facts. */
static ug_err
parse_date(const char *text, const char *column, int32_t *days, char iso[11],
	   ug_diag *diag)
{
	int placeholder = adapter_match(text, placeholder_dates);
	if (placeholder >= 0)
		FIELDS_BAD(diag, column,
			   "%s %s is a placeholder date, not a real one (the "
			   "exporting system has no date there)",
			   column, placeholder_iso[placeholder / 3]);
	if (adapter_parse_date(text, days) != UG_OK) {
		/* A real day before 1900 or after 2199 (the years the
		 * hub's dates hold) is as much out of range as 2100. */
		if (adapter_date_iso(text, iso))
			FIELDS_BAD(diag, column,
				   "%s %s is out of range (1990-01-01 to "
				   "2099-12-31)",
				   column, iso);
		FIELDS_BAD(diag, column,
			   "%s is not a date (YYYY-MM-DD, DD-MM-YYYY or "
			   "DD.MM.YYYY)",
			   column);
	}
	ug_date_format(*days, iso);
	int32_t first = ug_days_from_civil(1990, 1, 1),
		last = ug_days_from_civil(2099, 12, 31);
	if (*days < first || *days > last)
		FIELDS_BAD(diag, column,
			   "%s %s is out of range (1990-01-01 to 2099-12-31)",
			   column, iso);
	return UG_OK;
}

ug_err
fields_date(const char *text, const char *column, int32_t *days, char iso[11],
	    ug_diag *diag)
{
	if (fields_empty(text))
		FIELDS_BAD(diag, column, "%s is empty", column);
	return parse_date(text, column, days, iso, diag);
}

bool
fields_no_end(const char *text)
{
	return fields_empty(text) || ug_date_no_end(text);
}

ug_err
fields_date_opt(const char *text, const char *column, bool open_ended,
		int32_t *days, char iso[11], bool *present, ug_diag *diag)
{
	*present = false;
	*days = 0;
	iso[0] = '\0';
	if (fields_empty(text) || (open_ended && fields_no_end(text)))
		return UG_OK;
	ug_err err = parse_date(text, column, days, iso, diag);
	*present = err == UG_OK;
	return err;
}

ug_err
fields_not_before(const char *later_col, int32_t later, const char *later_iso,
		  const char *earlier_col, int32_t earlier,
		  const char *earlier_iso, ug_diag *diag)
{
	if (later < earlier)
		FIELDS_BAD(diag, later_col, "%s %s is before %s %s", later_col,
			   later_iso, earlier_col, earlier_iso);
	return UG_OK;
}

ug_err
fields_code(const char *text, const char *column, ug_diag *diag)
{
	if (fields_empty(text))
		return UG_OK;
	char cpr[11];
	size_t len = strlen(text);
	/* A code that reads as a CPR is a column mix-up or a name in the
	 * wrong place; either way it must not travel as a "code". */
	if (ug_cpr_parse(text, len, cpr, NULL) == UG_OK)
		FIELDS_BAD(diag, column,
			   "%s looks like a CPR number; it must be a code",
			   column);
	/* Within a code ("A-0101101234") it would travel as surely: an
	 * anonymous contact's number would tie the count to the person. */
	char copy[WIRE_TEXT_MAX + 1];
	if (len <= WIRE_TEXT_MAX) {
		memcpy(copy, text, len + 1);
		if (ug_cpr_mask(copy))
			FIELDS_BAD(diag, column,
				   "%s holds a CPR number; it must be a code, "
				   "never a person's number",
				   column);
	}
	if (len > FIELDS_CODE_MAX || !only(text, "._-/"))
		FIELDS_BAD(diag, column,
			   "%s must be a code of at most %d of A-Z a-z 0-9 "
			   ". _ - / (no free text, no blank, no \xC3\xA6 "
			   "\xC3\xB8 \xC3\xA5)",
			   column, FIELDS_CODE_MAX);
	return UG_OK;
}

bool
fields_lookup(const char *text, const fields_word *table, int *value)
{
	for (const fields_word *w = table; w->word; w++) {
		const char *one[] = {w->word, NULL};
		if (adapter_match(text, one) == 0) {
			*value = w->value;
			return true;
		}
	}
	return false;
}

ug_err
fields_choice(const char *text, const char *column, const fields_word *table,
	      const char *accepted, int *value, ug_diag *diag)
{
	if (fields_empty(text))
		FIELDS_BAD(diag, column, "%s is empty; it must be %s", column,
			   accepted);
	if (!fields_lookup(text, table, value))
		FIELDS_BAD(diag, column, "%s must be %s", column, accepted);
	return UG_OK;
}

/* The length of the list separator at p, 0 if none. */
static size_t
list_separator(const char *p)
{
	if (strchr(",;/+& \t", *p))
		return 1;
	if ((unsigned char)p[0] == 0xC2 && (unsigned char)p[1] == 0xA0)
		return 2;
	if (strncmp(p, "\xe2\x80\xaf", 3) == 0)
		return 3;
	return 0;
}

ug_err
fields_word_list(const char *text, const char *column,
		 const fields_word *table, const char *accepted,
		 unsigned *bits, ug_diag *diag)
{
	static const char *const filler[] = {"og", "and", NULL};
	*bits = 0;
	for (const char *p = text ? text : ""; *p;) {
		/* Blanks are spaces and tabs, and the non-breaking spaces
		 * (U+00A0, U+202F) a list pasted in a spreadsheet cell from
		 * a word processor may hold. */
		size_t len = 0, sep = 0;
		while (p[len] && !(sep = list_separator(p + len)))
			len++;
		char word[32];
		int value;
		if (len >= sizeof word)
			FIELDS_BAD(diag, column, "%s must be %s", column,
				   accepted);
		if (len > 0) {
			memcpy(word, p, len);
			word[len] = '\0';
			if (fields_lookup(word, table, &value))
				*bits |= (unsigned)value;
			else if (adapter_match(word, filler) < 0)
				FIELDS_BAD(diag, column, "%s must be %s",
					   column, accepted);
		}
		p += len;
		if (*p)
			p += sep;
	}
	return UG_OK;
}

static const fields_word yes_no_words[] = {
    {"yes", 1}, {"ja", 1},    {"y", 1},	 {"j", 1},   {"x", 1},
    {"1", 1},	{"true", 1},  {"no", 0}, {"nej", 0}, {"n", 0},
    {"0", 0},	{"false", 0}, {NULL, 0},
};

ug_err
fields_yes_no(const char *text, const char *column, bool allow_empty,
	      int *value, ug_diag *diag)
{
	*value = -1;
	if (fields_empty(text) && allow_empty)
		return UG_OK;
	return fields_choice(text, column, yes_no_words, "yes or no (ja, nej)",
			     value, diag);
}

ug_err
fields_grade(const char *text, const char *column, unsigned min, unsigned max,
	     uint32_t *grade, ug_diag *diag)
{
	/* Two levels are named as the docs name them: "9 or 10". */
	bool two = max == min + 1;
	if (fields_empty(text))
		FIELDS_BAD(diag, column,
			   two ? "%s is empty; it must be %u or %u"
			       : "%s is empty; it must be %u to %u",
			   column, min, max);
	const char *p = text;
	unsigned v = 0;
	size_t digits = 0;
	while (*p >= '0' && *p <= '9' && digits < 3)
		v = v * 10 + (unsigned)(*p++ - '0'), digits++;
	if (*p == '.')
		p++;
	while (*p == ' ')
		p++;
	size_t letters = 0;
	while (((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) &&
	       letters < 3)
		p++, letters++;
	const char *span = two ? "%u or %u" : "from %u to %u";
	char levels[32];
	snprintf(levels, sizeof levels, span, min, max);
	if (digits == 0 || digits > 2 || *p)
		FIELDS_BAD(diag, column,
			   "%s must be a class level %s (such as %u or %ua)",
			   column, levels, max, max);
	if (v < min || v > max)
		FIELDS_BAD(diag, column, "%s %u is not %s", column, v, levels);
	*grade = v;
	return UG_OK;
}

ug_err
fields_key(adapter_event *ev, const char *column, ug_diag *diag, ...)
{
	va_list ap;
	va_start(ap, diag);
	ug_err err = UG_OK;
	const char *part;
	while (err == UG_OK && (part = va_arg(ap, const char *)) != NULL)
		err = adapter_key_add(ev, part);
	va_end(ap);
	if (err != UG_OK)
		FIELDS_BAD(diag, column,
			   "%s is too long to identify the record", column);
	return UG_OK;
}
