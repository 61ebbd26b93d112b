/*
 * A streaming CSV reader for agency exports, in constant memory: it reads
 * a FILE in chunks and holds one record at a time (at most CSV_RECORD_MAX
 * bytes), however large the file.
 *
 * The dialect is RFC 4180 as spreadsheets write it: a header row first;
 * the separator, ';' or ',', is whichever occurs more often outside quotes
 * in the header (';' on a tie: the Danish Excel default); "..." quotes a
 * field, "" inside quotes is one quote, and quoted fields may hold
 * separators and line breaks. A UTF-8 byte order mark is skipped; CRLF and
 * LF both end a record; records that are empty or hold only separators and
 * blanks are skipped. Blanks (space, tab) around a field, and around the
 * quotes of a quoted one, are dropped.
 *
 * Every record keeps the physical line it starts on and its raw text, so
 * a bad row can be reported as FILE:LINE and copied verbatim into a
 * rejects file. A bad record (a field over CSV_FIELD_MAX bytes, a record
 * over CSV_RECORD_MAX, text after a closing quote, a quote never closed,
 * a NUL byte, text that is not UTF-8, more fields than the header has) is
 * a row error the caller can skip, never a crash or a silent truncation.
 *
 * Diagnostics never quote field values: a misplaced column may hold a CPR.
 */
#ifndef UG_CSV_H
#define UG_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

#define CSV_FIELD_MAX	4096	    /* bytes in one field, unescaped */
#define CSV_RECORD_MAX	(64 * 1024) /* bytes of one record's raw text */
#define CSV_COLUMNS_MAX 256	    /* fields in one record */
/* A header cell with more digits than this (a CPR pasted into the header,
 * a data row taken for it), or longer than CSV_NAME_QUOTE_MAX bytes, is
 * named by its position in every message, never quoted. */
#define CSV_NAME_DIGITS_MAX 5
#define CSV_NAME_QUOTE_MAX  64
#define CSV_ALIASES_MAX	    6

typedef struct csv_reader csv_reader;

/*
 * Start reading f (borrowed: the caller closes it after destroying the
 * reader) and read its header row; name is the file name used in
 * diagnostics (copied). Returns UG_EMALFORMED with the diag filled when
 * there is no header or it is malformed, UG_EIO on a read error.
 */
ug_err csv_reader_new(csv_reader **out, FILE *f, const char *name,
		      ug_diag *diag);
void csv_reader_destroy(csv_reader **r);

/* The separator found in the header: ';' or ','. */
char csv_separator(const csv_reader *r);
/* True if the header line ended in CRLF (so a rejects file can match). */
bool csv_crlf(const csv_reader *r);
/* Header: number of columns, name of column i (unescaped, trimmed) and the
 * raw header text without its line break. Valid while the reader lives. */
size_t csv_header_count(const csv_reader *r);
const char *csv_header_name(const csv_reader *r, size_t i);
/* Physical line (1-based) of the header: blank lines may come first. */
long csv_header_line(const csv_reader *r);
/* Column i is read as a column without a name: mapped to nothing, its
 * values left out (csv_header_raw still gives the line as it was). */
void csv_header_leave_out(csv_reader *r, size_t i);
const char *csv_header_raw(const csv_reader *r, size_t *len);
/* After a header whose columns did not fit: when the header is a
 * tab-separated one or Excel's "sep=" line, replace diag's reason by one
 * saying so. */
void csv_header_misread(const csv_reader *r, ug_diag *diag);

/*
 * Read the next data record.
 *   UG_OK          a record: see csv_count(), csv_field(), csv_line(),
 *                  csv_raw()
 *   UG_ENOTFOUND   end of file; no record
 *   UG_EMALFORMED  a bad record, already skipped to its end; the diag
 *                  has file, line, the column (header name, or "" for
 *                  the whole row) and the reason; csv_line() and
 *                  csv_raw() describe it. The next call goes on.
 *   UG_EIO         the file could not be read (diag filled); stop.
 * Results are valid until the next call.
 */
ug_err csv_next(csv_reader *r, ug_diag *diag);

/* Fields in the current record. */
size_t csv_count(const csv_reader *r);
/* Field i, unescaped and trimmed; "" if the record has fewer fields. */
const char *csv_field(const csv_reader *r, size_t i);
/* Physical line (1-based) on which the current record starts. */
long csv_line(const csv_reader *r);
/* The current record's raw text, without its final line break. *truncated
 * (if not NULL) is set when the record was longer than CSV_RECORD_MAX and
 * only its first CSV_RECORD_MAX bytes were kept. */
const char *csv_raw(const csv_reader *r, size_t *len, bool *truncated);
/* True if the current record is the header line again, byte for byte, a
 * byte order mark before it or not: exports joined into one file (cat,
 * copy /b) bring each one's header along. Every reader of such a file
 * (the adapters, hubctl assign --file) says so, "the row repeats the
 * header row", rather than blaming whichever cell fails first. */
bool csv_repeats_header(const csv_reader *r);

/* A column a caller expects, by its canonical name and its aliases. */
typedef struct {
	const char *name;		      /* canonical, e.g. "cpr" */
	const char *aliases[CSV_ALIASES_MAX]; /* NULL-terminated if fewer */
	bool required;
} csv_column;

/*
 * Find each of the columns (a table ended by a NULL name) in the header.
 * Names match when equal after trimming, folding case (ASCII and Latin-1
 * letters such as Æ/æ) and reading ' ' and '-' as '_', so "Period start"
 * finds period_start. On UG_OK index[i] is the header position of
 * columns[i], or -1 for an optional column that is absent. Header
 * columns that match nothing are ignored and listed (comma-separated) in
 * unknown (may be NULL). Missing required columns, or two header columns
 * meaning the same one, give UG_EMALFORMED with a diag that names them.
 */
ug_err csv_map_columns(const csv_reader *r, const csv_column *columns,
		       int *index, char *unknown, size_t unknown_size,
		       ug_diag *diag);

/*
 * The same for a list of names from elsewhere (the keys of a JSON Lines
 * file): index[i] is the position in names of columns[i], or -1. The
 * diag's file and line are left to the caller.
 */
ug_err csv_map_names(const char *const *names, size_t nnames,
		     const csv_column *columns, int *index, char *unknown,
		     size_t unknown_size, ug_diag *diag);

/* True if a header name matches name or one of col's aliases (the rules
 * of csv_map_columns). */
bool csv_column_matches(const csv_column *col, const char *name);

#endif
