/*
 * Streaming CSV reader; see csv.h for the dialect and the guarantees.
 *
 * One byte-level state machine does both jobs at once: it finds where a
 * record ends (a line break outside quotes) and unescapes the fields, so
 * the two can never disagree about a quoted line break. The header is the
 * exception: its separator is unknown until it has been read, so it is
 * read once treating both ';' and ',' as separators (which finds its end
 * and counts each), then fed again from its raw text with the winner.
 */
#include "common/csv.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/util.h"

#define CHUNK_SIZE (16 * 1024)
/* Unescaped values are never longer than the raw text; add one NUL per
 * field and one spare. */
#define VALUES_CAP (CSV_RECORD_MAX + CSV_COLUMNS_MAX + 2)

enum state {
	S_START,       /* at the start of a field, blanks skipped */
	S_UNQUOTED,    /* inside an unquoted field */
	S_QUOTED,      /* inside quotes */
	S_AFTER_QUOTE, /* a quote inside quotes: closing, or half of "" */
	S_CLOSED,      /* after the closing quote; only blanks may follow */
};

/* One parsed record: raw text plus unescaped, NUL-terminated fields. */
struct record {
	char raw[CSV_RECORD_MAX + 2]; /* + a CR before the LF, + NUL */
	size_t raw_len;
	bool raw_truncated;
	char values[VALUES_CAP];
	size_t values_len;
	size_t off[CSV_COLUMNS_MAX];
	size_t count;
};

struct csv_reader {
	FILE *f;
	char name[256];
	char sep; /* 0 while reading the header: both ';' and ',' count */
	size_t semicolons, commas;
	bool crlf;
	long next_line; /* physical line of the next byte read */
	char chunk[CHUNK_SIZE];
	size_t chunk_len, chunk_pos;
	/* Bytes read again before the file's next ones: the lines a quote
	 * left open swallowed past the record limit (read_record). */
	char *again;
	size_t again_len, again_pos;

	/* The record being read. */
	struct record rec;
	long line;
	enum state state;
	bool quoted;	      /* the current field began with a quote */
	size_t field_start;   /* its first byte in rec.values */
	size_t quoted_nl;     /* 1 + raw offset of the first line break in
				 the open quoted field, 0 if none */
	long quoted_nl_line;  /* the line after that break */
	long at_line, at_col; /* where the byte fed last stands (feed) */
	long cr_line, cr_col; /* a CR outside quotes no LF has followed yet;
				 cr_line 0 when none */
	bool bad;	      /* first error of the record, if any */
	long bad_field;	      /* field index, -1 for the whole row */
	char bad_reason[200];

	struct record header;
	long header_line;
	size_t header_named; /* header fields up to the last named one */
};

static bool
is_blank(unsigned char c)
{
	/* '\r' counts as a blank outside quotes, which is all CRLF needs: it
	 * is trimmed off the last field before the '\n' ends the record. */
	return c == ' ' || c == '\t' || c == '\r';
}

static bool
is_sep(csv_reader *r, unsigned char c)
{
	if (r->sep)
		return c == (unsigned char)r->sep;
	if (c == ';')
		r->semicolons++;
	else if (c == ',')
		r->commas++;
	return c == ';' || c == ',';
}

static void mark_bad(csv_reader *r, long field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mark_bad(csv_reader *r, long field, const char *fmt, ...)
{
	/* The first error is the one a clerk should fix first; later ones
	 * are often its consequences. */
	if (r->bad)
		return;
	r->bad = true;
	r->bad_field = field;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->bad_reason, sizeof r->bad_reason, fmt, ap);
	va_end(ap);
}

static void
record_reset(csv_reader *r)
{
	r->rec.raw_len = 0;
	r->rec.raw_truncated = false;
	r->rec.values_len = 0;
	r->rec.count = 0;
	r->state = S_START;
	r->quoted = false;
	r->field_start = 0;
	r->quoted_nl = 0;
	r->bad = false;
	r->bad_field = -1;
	r->bad_reason[0] = '\0';
	r->at_line = r->line;
	r->at_col = 0;
	r->cr_line = 0;
}

static void
raw_put(csv_reader *r, unsigned char c)
{
	/* A CR just past the limit may be the line end of a CRLF file,
	 * which is no part of the row: kept until the next byte tells. */
	if (r->rec.raw_len < CSV_RECORD_MAX ||
	    (r->rec.raw_len == CSV_RECORD_MAX && c == '\r'))
		r->rec.raw[r->rec.raw_len++] = (char)c;
	else
		r->rec.raw_truncated = true;
}

static void
value_put(csv_reader *r, unsigned char c)
{
	/* Past CSV_RECORD_MAX the raw text is truncated and the row is
	 * rejected anyway; just stop storing. */
	if (r->rec.values_len < CSV_RECORD_MAX)
		r->rec.values[r->rec.values_len++] = (char)c;
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static bool
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3, cp = c & 0x07;
		} else {
			return false;
		}
		if (n >= len - i)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return false;
		i += n + 1;
	}
	return true;
}

static void
check_value(csv_reader *r, size_t start, size_t len)
{
	long field = (long)r->rec.count;
	/* A column whose header is empty (or left out as a repeat) is no
	 * column: its cells are not read, so what they hold costs no row. */
	if ((size_t)field < r->header.count &&
	    r->header.values[r->header.off[field]] == '\0')
		return;
	if (len > CSV_FIELD_MAX)
		mark_bad(r, field,
			 "the value is %zu bytes, over the limit of %d", len,
			 CSV_FIELD_MAX);
	else if (!utf8_valid((unsigned char *)r->rec.values + start, len))
		mark_bad(r, field,
			 "the value is not UTF-8 text (save the file "
			 "as \"CSV UTF-8\")");
}

static void
end_field(csv_reader *r)
{
	struct record *rec = &r->rec;
	size_t start = r->field_start, len = rec->values_len - start;
	if (!r->quoted)
		while (len > 0 &&
		       is_blank((unsigned char)rec->values[start + len - 1]))
			len--;
	/* Blanks around a value are dropped inside quotes too: exports
	 * quote every value and pad fixed-width ones ("8b   "). A line
	 * break inside quotes stays: it is part of the value. So are
	 * non-breaking spaces, quoted or not: "150309-4321" + U+00A0 pasted
	 * into a cell looks right in the spreadsheet, and a school id with
	 * one would be another school to the hub. */
	char *v = rec->values + start;
	size_t lead;
	len = ug_value_trim(v, len, &lead);
	memmove(v, v + lead, len);
	rec->values_len = start + len;
	if (rec->count >= CSV_COLUMNS_MAX) {
		/* Spreadsheets pad rows with separators out to the widest
		 * row ever used: empty fields past the limit hold nothing
		 * to lose. */
		if (len > 0)
			mark_bad(r, -1, "the row has more than %d fields",
				 CSV_COLUMNS_MAX);
	} else {
		check_value(r, start, len);
		rec->values[rec->values_len++] = '\0';
		rec->off[rec->count++] = start;
	}
	r->state = S_START;
	r->quoted = false;
	r->field_start = rec->values_len;
}

static void
text_after_quote(csv_reader *r)
{
	mark_bad(r, (long)r->rec.count,
		 "text follows the closing quote "
		 "(inside quotes, write a quote as \"\")");
	r->state = S_CLOSED;
}

/* Feed one byte of a record; returns true when it ended the record. */
static bool
feed(csv_reader *r, unsigned char c)
{
	/* Columns count characters, as an editor shows them. */
	if (c == '\n')
		r->at_line++, r->at_col = 0;
	else if ((c & 0xC0) != 0x80)
		r->at_col++;
	/* A CR outside quotes that text follows on its line ends no line:
	 * a line ended by CR alone in an LF file joins the next line to
	 * this row, whose field count would then be blamed. Blanks and
	 * more CRs before the LF are no text (CR CR LF is a line end
	 * converted twice). */
	if (r->state != S_QUOTED && r->cr_line && c != '\n' && !is_blank(c))
		mark_bad(r, -1,
			 "line %ld, column %ld holds a carriage return alone, "
			 "which ends no line here (are two lines joined into "
			 "this row?): save the file with Windows or Unix line "
			 "ends",
			 r->cr_line, r->cr_col);
	if (c == '\r' && r->state != S_QUOTED && !r->cr_line)
		r->cr_line = r->at_line, r->cr_col = r->at_col;
	if (c == '\n' && r->state != S_QUOTED) {
		end_field(r);
		return true;
	}
	if (c == '\n' && !r->quoted_nl && r->rec.raw_len < CSV_RECORD_MAX) {
		r->quoted_nl = r->rec.raw_len + 1;
		r->quoted_nl_line = r->next_line;
	}
	raw_put(r, c);
	if (c == '\0')
		mark_bad(r, -1,
			 "the row contains a NUL byte (is the file "
			 "really CSV text?)");
	switch (r->state) {
	case S_START:
		if (is_sep(r, c))
			end_field(r);
		else if (c == '"')
			r->state = S_QUOTED, r->quoted = true;
		else if (!is_blank(c))
			value_put(r, c), r->state = S_UNQUOTED;
		break;
	case S_UNQUOTED:
		/* A quote inside an unquoted field is taken literally. */
		if (is_sep(r, c))
			end_field(r);
		else
			value_put(r, c);
		break;
	case S_QUOTED:
		if (c == '"')
			r->state = S_AFTER_QUOTE;
		else
			value_put(r, c);
		break;
	case S_AFTER_QUOTE:
		if (c != '"')
			r->quoted_nl = 0; /* the quoted field is closed */
		if (c == '"')
			value_put(r, c), r->state = S_QUOTED;
		else if (is_sep(r, c))
			end_field(r);
		else if (is_blank(c))
			r->state = S_CLOSED;
		else
			text_after_quote(r);
		break;
	case S_CLOSED:
		if (is_sep(r, c))
			end_field(r);
		else if (!is_blank(c) && !r->bad)
			text_after_quote(r);
		break;
	}
	return false;
}

/* Finish a record ended by a line break (at_eof false) or by the end of
 * the file. */
static void
finish_record(csv_reader *r, bool at_eof)
{
	if (at_eof) {
		if (r->state == S_QUOTED)
			mark_bad(r, -1,
				 "a quoted value is not closed before "
				 "the end of the file");
		end_field(r);
	}
	struct record *rec = &r->rec;
	if (rec->raw_len > 0 && rec->raw[rec->raw_len - 1] == '\r' &&
	    !rec->raw_truncated) {
		rec->raw_len--;
		r->crlf = true;
	}
	/* A row cut at the limit keeps its first CSV_RECORD_MAX bytes. */
	if (rec->raw_len > CSV_RECORD_MAX)
		rec->raw_len = CSV_RECORD_MAX;
	rec->raw[rec->raw_len] = '\0';
	/* The limit may fall inside a character: half of it would be read
	 * as another character where the row is shown (the rejects file). */
	if (rec->raw_truncated && strlen(rec->raw) == rec->raw_len)
		rec->raw_len = ug_utf8_trim_tail(rec->raw);
	if (rec->raw_truncated) {
		/* The cause of whatever else was found in it (a value cut at
		 * the limit measures wrong): said instead. */
		r->bad = false;
		mark_bad(r, -1, "the row is longer than %d bytes",
			 CSV_RECORD_MAX);
	}
}

static int
next_byte(csv_reader *r)
{
	if (r->again_pos < r->again_len)
		return (unsigned char)r->again[r->again_pos++];
	if (r->chunk_pos == r->chunk_len) {
		r->chunk_len = fread(r->chunk, 1, sizeof r->chunk, r->f);
		r->chunk_pos = 0;
		if (r->chunk_len == 0)
			return EOF;
	}
	return (unsigned char)r->chunk[r->chunk_pos++];
}

/* Whether the file has no byte after the one last read. */
static bool
at_end(csv_reader *r)
{
	if (r->again_pos < r->again_len || r->chunk_pos < r->chunk_len)
		return false;
	r->chunk_len = fread(r->chunk, 1, sizeof r->chunk, r->f);
	r->chunk_pos = 0;
	return r->chunk_len == 0;
}

/* A quote opened and never closed on its line makes the lines after it
 * one value; past the record limit, the text after the cut would be in
 * no rejects file. The record ends at the line break instead, rejected
 * for its quote, and what followed the break is read again as the rows
 * it is. c is the byte that did not fit. */
static ug_err
reread_after_open_quote(csv_reader *r, char c)
{
	struct record *rec = &r->rec;
	size_t from = r->quoted_nl; /* just after the break */
	size_t tail = rec->raw_len - from;
	size_t left = r->again_len - r->again_pos;
	char *buf = malloc(tail + 1 + left);
	if (!buf)
		return UG_ENOMEM;
	memcpy(buf, rec->raw + from, tail);
	buf[tail] = c;
	if (left)
		memcpy(buf + tail + 1, r->again + r->again_pos, left);
	if (r->again) {
		sodium_memzero(r->again, r->again_len);
		free(r->again);
	}
	r->again = buf;
	r->again_len = tail + 1 + left;
	r->again_pos = 0;
	r->next_line = r->quoted_nl_line;
	rec->raw_len = from - 1;
	if (rec->raw_len > 0 && rec->raw[rec->raw_len - 1] == '\r') {
		rec->raw_len--;
		r->crlf = true;
	}
	rec->raw[rec->raw_len] = '\0';
	rec->raw_truncated = false;
	r->state = S_START;
	r->bad = false;
	mark_bad(r, -1,
		 "a quote is not closed on this line, so the lines after it "
		 "read as one value of more than %d bytes (is a quote "
		 "missing?); they are read as rows of their own",
		 CSV_RECORD_MAX);
	return UG_OK;
}

/* Read one record from the file: UG_OK (possibly bad), UG_ENOTFOUND at
 * the end, UG_EIO on a read error. */
static ug_err
read_record(csv_reader *r)
{
	record_reset(r);
	r->line = r->next_line;
	r->at_line = r->line;
	bool any = false;
	for (;;) {
		int c = next_byte(r);
		/* A DOS program's end-of-file mark right after the last row,
		 * no line break between: the end, not a byte of its last
		 * value. */
		if (c == 0x1A && any && at_end(r))
			c = EOF;
		if (c == EOF) {
			if (ferror(r->f))
				return UG_EIO;
			if (!any)
				return UG_ENOTFOUND;
			finish_record(r, true);
			return UG_OK;
		}
		any = true;
		if (c == '\n')
			r->next_line++;
		bool was_cut = r->rec.raw_truncated;
		if (feed(r, (unsigned char)c)) {
			finish_record(r, false);
			return UG_OK;
		}
		/* Only as the limit is reached, with c the byte that did
		 * not fit, and a line break already kept before it. */
		if (!was_cut && r->rec.raw_truncated && r->state == S_QUOTED &&
		    r->quoted_nl)
			return reread_after_open_quote(r, (char)c);
		/* A line already past the limit is a bad row whatever
		 * follows: its quote, open at this line break, would
		 * otherwise swallow the rows after it unseen. */
		if (was_cut && c == '\n' && r->state == S_QUOTED) {
			finish_record(r, false);
			return UG_OK;
		}
	}
}

static bool
record_blank(const struct record *rec)
{
	/* DOS programs end a file with Ctrl-Z: no row, as an empty line. */
	if (rec->count == 1 && strcmp(rec->values + rec->off[0], "\x1A") == 0)
		return true;
	for (size_t i = 0; i < rec->count; i++)
		if (rec->values[rec->off[i]] != '\0')
			return false;
	return true;
}

/* The bad field's column for a message, as the whole-file messages name
 * a header cell: by its position when its name is long (cut to fit, it
 * would end inside a character) or has many digits (a CPR pasted into
 * the header); by its number when the header names none. */
static void
bad_field_name(const csv_reader *r, char *out, size_t size)
{
	out[0] = '\0';
	if (r->bad_field < 0)
		return; /* the row as a whole */
	const char *name = (size_t)r->bad_field < r->header.count
			       ? r->header.values + r->header.off[r->bad_field]
			       : "";
	size_t digits = 0;
	for (const char *p = name; *p; p++)
		digits += *p >= '0' && *p <= '9';
	if (digits > CSV_NAME_DIGITS_MAX)
		snprintf(out, size, "%ld (its name looks like a CPR number)",
			 r->bad_field + 1);
	else if (strlen(name) > CSV_NAME_QUOTE_MAX)
		snprintf(out, size, "%ld (a %zu-byte name)", r->bad_field + 1,
			 strlen(name));
	else if (name[0])
		ug_strlcpy(out, name, size);
	else
		snprintf(out, size, "%ld", r->bad_field + 1);
}

static void
fill_diag(const csv_reader *r, ug_diag *diag)
{
	if (!diag)
		return;
	ug_strlcpy(diag->file, r->name, sizeof diag->file);
	diag->line = r->line;
	char field[CSV_NAME_QUOTE_MAX + 48];
	bad_field_name(r, field, sizeof field);
	ug_diag_set(diag, field, "%s", r->bad_reason);
}

static ug_err
read_error(const csv_reader *r, ug_diag *diag)
{
	if (diag) {
		ug_strlcpy(diag->file, r->name, sizeof diag->file);
		diag->line = r->next_line;
	}
	ug_diag_set(diag, "", "cannot read the file: %s", strerror(errno));
	return UG_EIO;
}

static ug_err
check_encoding(csv_reader *r, ug_diag *diag)
{
	r->chunk_len = fread(r->chunk, 1, sizeof r->chunk, r->f);
	if (r->chunk_len == 0 && ferror(r->f))
		return read_error(r, diag);
	const unsigned char *b = (const unsigned char *)r->chunk;
	if (r->chunk_len >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF)
		r->chunk_pos = 3;
	if (r->chunk_len >= 2 && ((b[0] == 0xFF && b[1] == 0xFE) ||
				  (b[0] == 0xFE && b[1] == 0xFF))) {
		if (diag)
			ug_strlcpy(diag->file, r->name, sizeof diag->file),
			    diag->line = 1;
		ug_diag_set(diag, "header",
			    "the file is UTF-16 text; save it "
			    "as \"CSV UTF-8\"");
		return UG_EMALFORMED;
	}
	return UG_OK;
}

static ug_err
read_header(csv_reader *r, ug_diag *diag)
{
	ug_err err;
	do {
		r->sep = 0;
		r->semicolons = r->commas = 0;
		err = read_record(r);
	} while (err == UG_OK && !r->bad && record_blank(&r->rec));
	if (err == UG_EIO)
		return read_error(r, diag);
	if (err == UG_ENOTFOUND) {
		r->line = 0; /* the whole file: no line of it holds a header */
		r->bad_field = -1;
		snprintf(r->bad_reason, sizeof r->bad_reason,
			 "the file is "
			 "empty; a header row naming the columns is required");
		fill_diag(r, diag);
		return UG_EMALFORMED;
	}
	/* Lines ended by a carriage return alone (the old Mac "CSV") make
	 * the whole file one line: its rows would be named as columns. */
	if (r->next_line == 1 && memchr(r->rec.raw, '\r', r->rec.raw_len)) {
		r->line = 0; /* the file's line ends, not one line */
		r->bad_field = -1;
		snprintf(r->bad_reason, sizeof r->bad_reason,
			 "the lines end in a carriage return alone (an old "
			 "Mac format): save the file as \"CSV UTF-8\" or "
			 "with Windows or Unix line ends");
		fill_diag(r, diag);
		return UG_EMALFORMED;
	}
	r->sep = r->commas > r->semicolons ? ',' : ';';
	/* Feed the header again with the separator now known. */
	memcpy(r->header.raw, r->rec.raw, r->rec.raw_len + 1);
	size_t len = r->rec.raw_len;
	bool was_bad = r->bad, was_cut = r->rec.raw_truncated, crlf = r->crlf;
	char first_reason[sizeof r->bad_reason];
	memcpy(first_reason, r->bad_reason, sizeof first_reason);
	record_reset(r);
	for (size_t i = 0; i < len; i++)
		feed(r, (unsigned char)r->header.raw[i]);
	/* The copy holds only what fitted: a header over the limit must
	 * say so, not measure the cut-off part or say nothing. */
	r->rec.raw_truncated = was_cut;
	finish_record(r, true);
	r->crlf = crlf;
	if (was_bad && !r->bad)
		memcpy(r->bad_reason, first_reason, sizeof first_reason);
	if (was_bad || r->bad) {
		r->bad_field = -1;
		fill_diag(r, diag);
		ug_diag_set(diag, "header", "header row: %s", r->bad_reason);
		return UG_EMALFORMED;
	}
	r->header = r->rec;
	r->header_line = r->line;
	r->header_named = r->header.count;
	while (r->header_named > 0 &&
	       r->header.values[r->header.off[r->header_named - 1]] == '\0')
		r->header_named--;
	return UG_OK;
}

ug_err
csv_reader_new(csv_reader **out, FILE *f, const char *name, ug_diag *diag)
{
	csv_reader *r = calloc(1, sizeof *r);
	if (!r)
		return UG_ENOMEM;
	r->f = f;
	ug_strlcpy(r->name, name, sizeof r->name);
	r->next_line = 1;
	ug_err err = check_encoding(r, diag);
	if (err == UG_OK)
		err = read_header(r, diag);
	if (err != UG_OK) {
		csv_reader_destroy(&r); /* also what a header re-read holds */
		return err;
	}
	*out = r;
	return UG_OK;
}

void
csv_reader_destroy(csv_reader **r)
{
	if (!r || !*r)
		return;
	/* The buffers held rows with CPRs; leave nothing behind. */
	if ((*r)->again) {
		sodium_memzero((*r)->again, (*r)->again_len);
		free((*r)->again);
	}
	sodium_memzero(*r, sizeof **r);
	free(*r);
	*r = NULL;
}

char
csv_separator(const csv_reader *r)
{
	return r->sep;
}

bool
csv_crlf(const csv_reader *r)
{
	return r->crlf;
}

size_t
csv_header_count(const csv_reader *r)
{
	return r->header.count;
}

const char *
csv_header_name(const csv_reader *r, size_t i)
{
	return i < r->header.count ? r->header.values + r->header.off[i] : "";
}

void
csv_header_misread(const csv_reader *r, ug_diag *diag)
{
	/* Up to the last named column: a spreadsheet that saved the file
	 * again pads every line, the hint line too, with separators
	 * ("sep=;;;;;;"). */
	size_t n = r->header_named;
	const char *first = csv_header_name(r, 0);
	/* A tab-separated export reads as one column whose name holds the
	 * others: "missing cpr" would send the clerk looking for a column
	 * that is plainly there. */
	if (n == 1 && strchr(first, '\t'))
		ug_diag_set(diag, "header",
			    "the header row is separated by tabs; the "
			    "separator must be ';' or ',' (save or export the "
			    "file as CSV)");
	/* Excel's separator hint line, above the header. */
	else if (n == 1 && strncasecmp(first, "sep=", 4) == 0)
		ug_diag_set(diag, "header",
			    "the first line is a spreadsheet's \"sep=\" line, "
			    "not the header row: delete that line");
}

long
csv_header_line(const csv_reader *r)
{
	return r->header_line;
}

void
csv_header_leave_out(csv_reader *r, size_t i)
{
	if (i < r->header.count)
		r->header.values[r->header.off[i]] = '\0';
}

const char *
csv_header_raw(const csv_reader *r, size_t *len)
{
	if (len)
		*len = r->header.raw_len;
	return r->header.raw;
}

/* A row whose field count differs from the header's is shifted: taking
 * it would put values under the wrong columns and blame the wrong one.
 * More fields is how a separator inside an unquoted value shows (empty
 * extras are only trailing separators and do no harm); fewer is a row
 * cut short or a lost separator. Say which, with both counts. */
static void
check_field_count(csv_reader *r)
{
	const struct record *rec = &r->rec;
	/* Trailing empty fields count on neither side: a value under a
	 * header that ends in separators is past the last column as much
	 * as one past the header's end, and a shifted row ends so. */
	size_t want = r->header_named, used = rec->count;
	while (used > want && rec->values[rec->off[used - 1]] == '\0')
		used--;
	if (used > want)
		mark_bad(r, -1,
			 "the row has %zu fields, the header has %zu (is a "
			 "separator inside an unquoted value?)",
			 used, want);
	/* A header ending in separators names no column there: a row
	 * without those trailing empty fields lacks nothing. */
	else if (rec->count < r->header_named)
		mark_bad(r, -1,
			 "the row has %zu fields, the header has %zu (a "
			 "separator is missing, or the row is cut short)",
			 rec->count, r->header_named);
}

ug_err
csv_next(csv_reader *r, ug_diag *diag)
{
	for (;;) {
		ug_err err = read_record(r);
		if (err == UG_EIO)
			return read_error(r, diag);
		if (err != UG_OK)
			return err;
		if (!r->bad && record_blank(&r->rec))
			continue;
		check_field_count(r);
		if (r->bad) {
			fill_diag(r, diag);
			return UG_EMALFORMED;
		}
		return UG_OK;
	}
}

size_t
csv_count(const csv_reader *r)
{
	return r->rec.count;
}

const char *
csv_field(const csv_reader *r, size_t i)
{
	return i < r->rec.count ? r->rec.values + r->rec.off[i] : "";
}

long
csv_line(const csv_reader *r)
{
	return r->line;
}

const char *
csv_raw(const csv_reader *r, size_t *len, bool *truncated)
{
	if (len)
		*len = r->rec.raw_len;
	if (truncated)
		*truncated = r->rec.raw_truncated;
	return r->rec.raw;
}

bool
csv_repeats_header(const csv_reader *r)
{
	size_t hlen = r->header.raw_len, len = r->rec.raw_len;
	const char *raw = r->rec.raw;
	if (len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0)
		raw += 3, len -= 3;
	return len == hlen && memcmp(raw, r->header.raw, len) == 0;
}

/* Fold a name for matching: ASCII and Latin-1 (U+00C0-U+00DE, as UTF-8
 * C3 80-9E except the multiplication sign) to lower case, ' ', '-' and
 * the non-breaking space (C2 A0, what a header pasted in a spreadsheet
 * may hold between its words) to '_', as adapter_match reads values.
 * Returns false if it does not fit (no column name is that long). */
static bool
fold_name(const char *in, char *out, size_t cap)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		unsigned char c = *p;
		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c + 32);
		else if (c == ' ' || c == '-')
			c = '_';
		else if (c == 0xC2 && p[1] == 0xA0) {
			c = '_';
			p++;
		} else if (c == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E &&
			   p[1] != 0x97) {
			if (n + 2 >= cap)
				return false;
			out[n++] = (char)c;
			out[n++] = (char)(*++p + 0x20);
			continue;
		}
		if (n + 1 >= cap)
			return false;
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return true;
}

/* name without the blanks and non-breaking spaces around it: a header
 * cell pasted in a spreadsheet may end in U+00A0 as it may hold one
 * between its words, and the reader drops only spaces and tabs. */
static bool
trim_name(const char *name, char *out, size_t cap)
{
	const char *end = name + strlen(name);
	for (;;) {
		if (*name == ' ' || *name == '\t')
			name++;
		else if ((unsigned char)name[0] == 0xC2 &&
			 (unsigned char)name[1] == 0xA0)
			name += 2;
		else
			break;
	}
	for (;;) {
		if (end > name && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		else if (end - name >= 2 && (unsigned char)end[-2] == 0xC2 &&
			 (unsigned char)end[-1] == 0xA0)
			end -= 2;
		else
			break;
	}
	if ((size_t)(end - name) >= cap)
		return false;
	memcpy(out, name, (size_t)(end - name));
	out[end - name] = '\0';
	return true;
}

bool
csv_column_matches(const csv_column *col, const char *name)
{
	char want[128], have[128], trimmed[128];
	if (!trim_name(name, trimmed, sizeof trimmed) ||
	    !fold_name(trimmed, have, sizeof have) || !have[0])
		return false;
	if (fold_name(col->name, want, sizeof want) && !strcmp(want, have))
		return true;
	for (size_t i = 0; i < CSV_ALIASES_MAX && col->aliases[i]; i++)
		if (fold_name(col->aliases[i], want, sizeof want) &&
		    !strcmp(want, have))
			return true;
	return false;
}

static void
append_name(char *list, size_t size, const char *name)
{
	if (!list || size == 0)
		return;
	size_t used = strlen(list);
	snprintf(list + used, size - used, "%s%s", used ? ", " : "", name);
}

/* The missing required columns with their other names, or, if that
 * would not fit, their names alone: a cut list would hide the hint. */
static void
describe_missing(const csv_column *columns, const int *index, char *text,
		 size_t size)
{
	for (int aliases = 1; aliases >= 0; aliases--) {
		size_t used = 0;
		text[0] = '\0';
		for (size_t i = 0; columns[i].name && used < size; i++) {
			if (index[i] >= 0 || !columns[i].required)
				continue;
			used += (size_t)snprintf(text + used, size - used,
						 "%s%s", used ? "; " : "",
						 columns[i].name);
			for (size_t a = 0;
			     aliases && a < CSV_ALIASES_MAX &&
			     columns[i].aliases[a] && used < size;
			     a++)
				used += (size_t)snprintf(
				    text + used, size - used, "%s%s%s",
				    a ? ", " : " (or ", columns[i].aliases[a],
				    a + 1 == CSV_ALIASES_MAX ||
					    !columns[i].aliases[a + 1]
					? ")"
					: "");
		}
		if (used < size)
			return;
	}
}

ug_err
csv_map_names(const char *const *names, size_t nnames,
	      const csv_column *columns, int *index, char *unknown,
	      size_t unknown_size, ug_diag *diag)
{
	size_t ncols = 0;
	while (columns[ncols].name)
		index[ncols++] = -1;
	if (unknown && unknown_size)
		unknown[0] = '\0';
	/* The first clash is the message, but the mapping goes on: a
	 * caller that weighs kinds by what they lack (the adapters' choice
	 * of a file's kind) must see the whole header, not the columns
	 * before the clash. */
	bool clash = false;
	for (size_t h = 0; h < nnames; h++) {
		const char *name = names[h];
		if (!name[0])
			continue;
		size_t c = 0;
		while (c < ncols && !csv_column_matches(&columns[c], name))
			c++;
		if (c == ncols) {
			append_name(unknown, unknown_size, name);
			continue;
		}
		if (index[c] >= 0) {
			/* Both names matched a known column, so they are
			 * column names, never a data row's values. */
			if (!clash)
				ug_diag_set(diag, "header",
					    "columns \"%s\" and \"%s\" (%d "
					    "and %zu) both mean %s; keep one",
					    names[index[c]], name,
					    index[c] + 1, h + 1,
					    columns[c].name);
			clash = true;
			continue;
		}
		index[c] = (int)h;
	}
	if (clash)
		return UG_EMALFORMED;
	/* Room for the kind's name and the hint around it (ug_diag). */
	char missing[sizeof diag->reason - 160];
	describe_missing(columns, index, missing, sizeof missing);
	if (missing[0]) {
		/* The header names are not quoted back: a file without a
		 * header would show its first data row, CPR and all. */
		ug_diag_set(diag, "header",
			    "missing required column(s): %s "
			    "(is the first line the header row?)",
			    missing);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

ug_err
csv_map_columns(const csv_reader *r, const csv_column *columns, int *index,
		char *unknown, size_t unknown_size, ug_diag *diag)
{
	const char *names[CSV_COLUMNS_MAX];
	for (size_t h = 0; h < r->header.count; h++)
		names[h] = csv_header_name(r, h);
	if (diag) {
		ug_strlcpy(diag->file, r->name, sizeof diag->file);
		diag->line = r->header_line;
	}
	return csv_map_names(names, r->header.count, columns, index, unknown,
			     unknown_size, diag);
}
