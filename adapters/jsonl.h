/*
 * JSON Lines, the second input format: one JSON object per line, flat,
 * its keys the same column names (and aliases) as the CSV header's, its
 * values strings, numbers, true/false or null. A streaming reader in
 * constant memory (one line of at most CSV_RECORD_MAX bytes at a time)
 * and a strict parser of one object (RFC 8259 grammar, UTF-8, no nesting)
 * written for hostile input: every byte is checked once, nothing is
 * recursive, no length is trusted.
 *
 * A bad line is a row error (line number, reason), never a crash, and
 * the next line is read as usual. Reasons never quote the line's text:
 * it holds CPRs.
 */
#ifndef UG_JSONL_H
#define UG_JSONL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/csv.h"
#include "common/err.h"

#define JSONL_KEYS_MAX CSV_COLUMNS_MAX

/* One parsed object: keys and values unescaped, NUL-terminated. */
typedef struct {
	char text[CSV_RECORD_MAX + 2 * JSONL_KEYS_MAX + 2];
	size_t key[JSONL_KEYS_MAX];   /* offsets into text */
	size_t value[JSONL_KEYS_MAX]; /* offsets into text */
	bool null[JSONL_KEYS_MAX];    /* the value was null ("" in text) */
	size_t count;
	long bad_key; /* after a failure: the key it concerns, or -1 */
} jsonl_record;

/*
 * Parse line[0..len) (without its line break) as one flat JSON object
 * into rec. Strings become their unescaped UTF-8; numbers keep their
 * text ("1.50" stays "1.50"); true and false become "true" and "false";
 * null becomes "" with rec->null set. UG_EMALFORMED with a reason in the
 * diag (field "") and rec->bad_key set when the line is not such an
 * object: a nested object or array, a duplicate key, a bad escape, a
 * lone surrogate or \u0000, a control character inside a string, text
 * that is not UTF-8, a number JSON does not allow (01, 1., .5, +1),
 * anything after the closing brace, more than JSONL_KEYS_MAX keys.
 */
ug_err jsonl_parse(const char *line, size_t len, jsonl_record *rec,
		   ug_diag *diag);

typedef struct jsonl_reader jsonl_reader;

/* Start reading f (borrowed); name is used in diagnostics (copied). */
ug_err jsonl_reader_new(jsonl_reader **out, FILE *f, const char *name);
void jsonl_reader_destroy(jsonl_reader **r);

/*
 * Read the next non-blank line and parse it.
 *   UG_OK          a record: jsonl_record_of(), jsonl_line(), jsonl_raw()
 *   UG_ENOTFOUND   end of file
 *   UG_EMALFORMED  a bad line (diag: file, line, reason; field "");
 *                  jsonl_line() and jsonl_raw() describe it, and
 *                  jsonl_record_of()->bad_key names the key concerned.
 *   UG_EIO         the file could not be read; stop.
 * Results are valid until the next call.
 */
ug_err jsonl_next(jsonl_reader *r, ug_diag *diag);
/* The current record's values against the limit of a CSV cell
 * (CSV_FIELD_MAX), so a file reads the same in either format: UG_OK, or
 * UG_EMALFORMED with diag's reason and bad_key naming the value. A row's
 * check, not the object's: the first pass still reads its keys. */
ug_err jsonl_check_values(jsonl_reader *r, ug_diag *diag);
const jsonl_record *jsonl_record_of(const jsonl_reader *r);
/* Physical line (1-based) of the current record. */
long jsonl_line(const jsonl_reader *r);
/* The current line's raw text without its line break; *truncated set
 * when it was longer than CSV_RECORD_MAX and cut. */
const char *jsonl_raw(const jsonl_reader *r, size_t *len, bool *truncated);
/* True if the lines so far ended in CRLF. */
bool jsonl_crlf(const jsonl_reader *r);

/* Key i and value i of a record. */
static inline const char *
jsonl_key(const jsonl_record *rec, size_t i)
{
	return rec->text + rec->key[i];
}

static inline const char *
jsonl_value(const jsonl_record *rec, size_t i)
{
	return rec->text + rec->value[i];
}

#endif
