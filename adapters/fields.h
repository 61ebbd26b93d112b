/*
 * Field checks the agency files (school.c, college.c, addiction.c,
 * jobcenter.c, youthunit.c) share, on top of the runtime's value parsers
 * (adapter_parse_date, adapter_match): each checks one column's text and,
 * when it is wrong, fills the diag with the column's canonical name and a
 * reason a clerk can act on, and returns UG_EMALFORMED.
 *
 * What they guarantee: a reason never quotes the text it was given, only
 * values that have already parsed as a date or a small number, because a
 * column mix-up can put a CPR into any column. Texts that reach an
 * envelope are bounded (WIRE_TEXT_MAX) and free of control characters;
 * dates reach it as YYYY-MM-DD whatever form the file used.
 *
 * An optional column that is absent from the file arrives as NULL; every
 * function here reads NULL as "".
 */
#ifndef UG_ADAPTER_FIELDS_H
#define UG_ADAPTER_FIELDS_H

#include <stdbool.h>
#include <stdint.h>

#include "adapters/adapter.h"
#include "common/util.h"

#define FIELDS_CODE_MAX 32 /* bytes of a reason or activity code */
#define FIELDS_ID_MAX	63 /* bytes of a caseworker or desk id */

/* Set diag's field and reason and return UG_EMALFORMED from the caller. */
#define FIELDS_BAD(diag, field, ...)                                          \
	do {                                                                  \
		ug_diag_set(diag, field, __VA_ARGS__);                        \
		return UG_EMALFORMED;                                         \
	} while (0)

/* True if text is NULL or empty. */
static inline bool
fields_empty(const char *text)
{
	return !text || !text[0];
}

/*
 * A CPR number, DDMMYY-SSSS or DDMMYYSSSS with a real birth date (no
 * modulus-11 check), required: ev->cpr gets the 10 digits and env.cpr
 * points at it. The reason never shows the text.
 */
ug_err fields_cpr(const char *text, const char *column, adapter_event *ev,
		  ug_diag *diag);

/*
 * A name or number of a place or thing (school, institution, programme,
 * service, jobcenter): at most WIRE_TEXT_MAX bytes without control
 * characters, and not something that reads as a CPR number. Required
 * unless `required` is false, in which case "" is accepted.
 */
ug_err fields_text(const char *text, const char *column, bool required,
		   ug_diag *diag);

/*
 * Whether the file whose rows are parsed now was read as Latin-1: only
 * then does a C1 control character in a name (U+0080-U+009F) point to a
 * Windows-1252 export and fields_text's reason say to set encoding =
 * cp1252. Read as UTF-8, that advice would turn every æ ø å of the file
 * into two characters without a word.
 */
void fields_read_as_latin1(bool latin1);

/*
 * A caseworker or desk id as registered with the hub: 1 to FIELDS_ID_MAX
 * of a-z 0-9 . _ -, starting with a letter or digit, holding no CPR
 * number (ug_id_valid), and not something that reads as a CPR number.
 */
ug_err fields_id(const char *text, const char *column, ug_diag *diag);

/*
 * A required date in any form adapter_parse_date reads, between 1990 and
 * 2099: *days gets it and iso (11 bytes, usually ev->date[i]) its
 * YYYY-MM-DD text. An export's placeholder for "no date" (1900-01-01,
 * 1970-01-01, 9999-12-31) is refused as "a placeholder date, not a real
 * one", not sent.
 */
ug_err fields_date(const char *text, const char *column, int32_t *days,
		   char iso[11], ug_diag *diag);

/*
 * True if an optional end date says "no end": empty, or 9999-12-31 in
 * any of the three forms.
 */
bool fields_no_end(const char *text);

/*
 * An optional date: "" leaves *present false, *days 0 and iso "";
 * otherwise as fields_date. With open_ended, 9999-12-31 (in any of the
 * three forms), many systems' "no end", reads as "" too.
 */
ug_err fields_date_opt(const char *text, const char *column, bool open_ended,
		       int32_t *days, char iso[11], bool *present,
		       ug_diag *diag);

/*
 * later must not be before earlier: "to 2024-01-01 is before from
 * 2024-02-01". Both isos are quoted (dates are never personal data).
 */
ug_err fields_not_before(const char *later_col, int32_t later,
			 const char *later_iso, const char *earlier_col,
			 int32_t earlier, const char *earlier_iso,
			 ug_diag *diag);

/*
 * An optional short code (a reason or activity code, an anonymous record
 * number): 1 to FIELDS_CODE_MAX letters, digits, '.', '_', '-' or '/',
 * and not something that reads as a CPR number (codes are not about who
 * the young person is). "" is accepted.
 */
ug_err fields_code(const char *text, const char *column, ug_diag *diag);

/* One word of an enumeration and the value it stands for; a table ends
 * with a NULL word. Danish and English synonyms are rows of their own. */
typedef struct {
	const char *word;
	int value;
} fields_word;

/* The value of the first table word that matches text (adapter_match:
 * case and ' '/'-'/'_' ignored) in *value; false if none matches. */
bool fields_lookup(const char *text, const fields_word *table, int *value);

/*
 * One of an enumeration's words, required: *value gets its value.
 * accepted lists the words for the reason ("yes or no (ja, nej)").
 */
ug_err fields_choice(const char *text, const char *column,
		     const fields_word *table, const char *accepted,
		     int *value, ug_diag *diag);

/*
 * A list of an enumeration's words ("faglig, social", "referral/stage",
 * "faglig og social"), separated by ',', ';', '/', '+', '&' or blanks,
 * "og" and "and" skipped: *bits gets the OR of their values (0 for an
 * empty list). An unknown word refuses the row.
 */
ug_err fields_word_list(const char *text, const char *column,
			const fields_word *table, const char *accepted,
			unsigned *bits, ug_diag *diag);

/*
 * Yes or no: yes, ja, y, j, x, 1, true / no, nej, n, 0, false. "" gives
 * *value -1 when allow_empty, else it is refused.
 */
ug_err fields_yes_no(const char *text, const char *column, bool allow_empty,
		     int *value, ug_diag *diag);

/*
 * A class level written alone ("9") or as the class ("9a", "9.b",
 * "10 x"), required, from min to max.
 */
ug_err fields_grade(const char *text, const char *column, unsigned min,
		    unsigned max, uint32_t *grade, ug_diag *diag);

/*
 * Append the parts to ev's natural key (adapter_key_add), ended by a NULL
 * part. A part too long for the key is a bad row, reported against
 * column.
 */
ug_err fields_key(adapter_event *ev, const char *column, ug_diag *diag, ...);

/* An instant at midnight UTC of a day, as occurred_at wants it. */
static inline int64_t
fields_day_ms(int32_t days)
{
	return (int64_t)days * UG_DAY_MS;
}

#endif
