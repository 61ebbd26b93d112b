/*
 * JSON Lines reader and flat-object parser; see jsonl.h. The parser is
 * a loop over the object's members with one helper per value type; it
 * never recurses (a nested value is refused, not descended into) and
 * writes unescaped text into a buffer that cannot overflow: no JSON token
 * unescapes to more bytes than it has, and each adds one NUL.
 */
#include "adapters/jsonl.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define CHUNK_SIZE (16 * 1024)

struct parser {
	const unsigned char *s;
	size_t len, pos;
	jsonl_record *rec;
	size_t out;
	ug_diag *diag;
	bool failed;
};

static void fail(struct parser *p, long key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct parser *p, long key, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	p->rec->bad_key = key;
	char reason[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	ug_diag_set(p->diag, "", "%s", reason);
}

static void
skip_ws(struct parser *p)
{
	while (p->pos < p->len &&
	       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
		p->s[p->pos] == '\r' || p->s[p->pos] == '\n'))
		p->pos++;
}

static int
peek(const struct parser *p)
{
	return p->pos < p->len ? p->s[p->pos] : -1;
}

static bool
put(struct parser *p, uint8_t c)
{
	if (p->out >= sizeof p->rec->text) {
		fail(p, -1, "the line is too long");
		return false;
	}
	p->rec->text[p->out++] = (char)c;
	return true;
}

static void
put_utf8(struct parser *p, uint32_t cp)
{
	if (cp < 0x80) {
		put(p, (uint8_t)cp);
	} else if (cp < 0x800) {
		put(p, (uint8_t)(0xC0 | cp >> 6));
		put(p, (uint8_t)(0x80 | (cp & 0x3F)));
	} else if (cp < 0x10000) {
		put(p, (uint8_t)(0xE0 | cp >> 12));
		put(p, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
		put(p, (uint8_t)(0x80 | (cp & 0x3F)));
	} else {
		put(p, (uint8_t)(0xF0 | cp >> 18));
		put(p, (uint8_t)(0x80 | ((cp >> 12) & 0x3F)));
		put(p, (uint8_t)(0x80 | ((cp >> 6) & 0x3F)));
		put(p, (uint8_t)(0x80 | (cp & 0x3F)));
	}
}

static int
hex4(struct parser *p, uint32_t *out)
{
	if (p->len - p->pos < 4)
		return -1;
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		int c = p->s[p->pos + (size_t)i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | (uint32_t)d;
	}
	p->pos += 4;
	*out = v;
	return 0;
}

/* After a backslash. */
static void
parse_escape(struct parser *p, long key)
{
	int c = peek(p);
	p->pos++;
	switch (c) {
	case '"':
	case '\\':
	case '/':
		put(p, (uint8_t)c);
		return;
	case 'b':
		put(p, '\b');
		return;
	case 'f':
		put(p, '\f');
		return;
	case 'n':
		put(p, '\n');
		return;
	case 'r':
		put(p, '\r');
		return;
	case 't':
		put(p, '\t');
		return;
	case 'u':
		break;
	default:
		fail(p, key,
		     "a string has an invalid escape (a backslash "
		     "must be followed by \" \\ / b f n r t or u)");
		return;
	}
	uint32_t cp, low;
	if (hex4(p, &cp) != 0) {
		fail(p, key, "a \\u escape needs four hex digits");
		return;
	}
	if (cp >= 0xDC00 && cp <= 0xDFFF) {
		fail(p, key, "a string has a lone \\u surrogate");
		return;
	}
	if (cp >= 0xD800 && cp <= 0xDBFF) {
		if (p->len - p->pos < 6 || p->s[p->pos] != '\\' ||
		    p->s[p->pos + 1] != 'u') {
			fail(p, key, "a string has a lone \\u surrogate");
			return;
		}
		p->pos += 2;
		if (hex4(p, &low) != 0 || low < 0xDC00 || low > 0xDFFF) {
			fail(p, key, "a string has a lone \\u surrogate");
			return;
		}
		cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
	}
	if (cp == 0) {
		fail(p, key, "a string holds \\u0000, which no value may");
		return;
	}
	put_utf8(p, cp);
}

/* One UTF-8 sequence starting at p->pos (a byte >= 0x80), copied. */
static void
copy_utf8(struct parser *p, long key)
{
	const unsigned char *s = p->s + p->pos;
	size_t left = p->len - p->pos, n;
	uint32_t cp;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		n = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		n = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		n = 4, cp = s[0] & 0x07;
	else
		n = 0, cp = 0;
	bool ok = n > 0 && n <= left;
	for (size_t k = 1; ok && k < n; k++) {
		ok = (s[k] & 0xC0) == 0x80;
		cp = cp << 6 | (s[k] & 0x3F);
	}
	if (ok && ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		   (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF))
		ok = false;
	if (!ok) {
		fail(p, key,
		     "a string is not UTF-8 text (use --encoding if the "
		     "file is Windows-1252)");
		return;
	}
	for (size_t k = 0; k < n; k++)
		put(p, s[k]);
	p->pos += n;
}

/* After the opening quote; leaves the NUL-terminated text at the offset
 * it returns. */
static size_t
parse_string(struct parser *p, long key)
{
	size_t start = p->out;
	while (!p->failed) {
		int c = peek(p);
		if (c < 0) {
			fail(p, key,
			     "a string is not closed (a \" is "
			     "missing)");
			break;
		}
		if (c == '"') {
			p->pos++;
			break;
		}
		if (c == '\\') {
			p->pos++;
			parse_escape(p, key);
		} else if (c < 0x20) {
			fail(p, key,
			     "a string holds a control character (write "
			     "a line break as \\n, a tab as \\t)");
		} else if (c >= 0x80) {
			copy_utf8(p, key);
		} else {
			put(p, (uint8_t)c);
			p->pos++;
		}
	}
	put(p, '\0');
	return start;
}

static bool
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static size_t
parse_number(struct parser *p, long key)
{
	size_t start = p->out, from = p->pos;
	if (peek(p) == '-')
		p->pos++;
	if (peek(p) == '0') {
		p->pos++;
	} else if (is_digit(peek(p))) {
		while (is_digit(peek(p)))
			p->pos++;
	} else {
		fail(p, key, "a number is not written as JSON allows");
		return start;
	}
	if (peek(p) == '.') {
		p->pos++;
		if (!is_digit(peek(p)))
			fail(p, key, "a number has no digits after its '.'");
		while (is_digit(peek(p)))
			p->pos++;
	}
	if (peek(p) == 'e' || peek(p) == 'E') {
		p->pos++;
		if (peek(p) == '+' || peek(p) == '-')
			p->pos++;
		if (!is_digit(peek(p)))
			fail(p, key, "a number has no digits in its exponent");
		while (is_digit(peek(p)))
			p->pos++;
	}
	if (is_digit(peek(p)))
		fail(p, key,
		     "a number has a leading zero (JSON does not "
		     "allow 01; quote it as \"01\")");
	for (size_t i = from; i < p->pos; i++)
		put(p, p->s[i]);
	put(p, '\0');
	return start;
}

static bool
literal(struct parser *p, const char *word)
{
	size_t n = strlen(word);
	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
		return false;
	p->pos += n;
	return true;
}

static void
parse_value(struct parser *p, size_t i)
{
	jsonl_record *rec = p->rec;
	long key = (long)i;
	int c = peek(p);
	rec->null[i] = false;
	if (c == '"') {
		p->pos++;
		rec->value[i] = parse_string(p, key);
	} else if (c == '-' || is_digit(c)) {
		rec->value[i] = parse_number(p, key);
	} else if (c == '{' || c == '[') {
		fail(p, key,
		     "a value is an %s; only strings, numbers, true, false "
		     "and null are allowed (the object must be flat)",
		     c == '{' ? "object" : "array");
	} else if (literal(p, "null")) {
		rec->null[i] = true;
		rec->value[i] = p->out;
		put(p, '\0');
	} else if (literal(p, "true")) {
		rec->value[i] = p->out;
		for (const char *w = "true"; *w; w++)
			put(p, (uint8_t)*w);
		put(p, '\0');
	} else if (literal(p, "false")) {
		rec->value[i] = p->out;
		for (const char *w = "false"; *w; w++)
			put(p, (uint8_t)*w);
		put(p, '\0');
	} else if (c < 0) {
		fail(p, key, "the line ends where a value should be");
	} else {
		fail(p, key,
		     "a value is not JSON (text must be in double "
		     "quotes)");
	}
}

static void
parse_member(struct parser *p)
{
	jsonl_record *rec = p->rec;
	size_t i = rec->count;
	if (peek(p) != '"') {
		fail(p, -1, "expected a key in double quotes");
		return;
	}
	if (i == JSONL_KEYS_MAX) {
		fail(p, -1, "the object has more than %d keys",
		     JSONL_KEYS_MAX);
		return;
	}
	p->pos++;
	rec->key[i] = parse_string(p, -1);
	if (p->failed)
		return;
	for (size_t k = 0; k < i; k++)
		if (strcmp(rec->text + rec->key[k], rec->text + rec->key[i]) ==
		    0) {
			fail(p, (long)k, "a key appears twice in the object");
			return;
		}
	skip_ws(p);
	if (peek(p) != ':') {
		fail(p, (long)i, "expected ':' after a key");
		return;
	}
	p->pos++;
	skip_ws(p);
	parse_value(p, i);
	if (!p->failed)
		rec->count++;
}

ug_err
jsonl_parse(const char *line, size_t len, jsonl_record *rec, ug_diag *diag)
{
	struct parser p = {
	    (const unsigned char *)line, len, 0, rec, 0, diag, false};
	rec->count = 0;
	rec->bad_key = -1;
	if (len > CSV_RECORD_MAX) {
		fail(&p, -1, "the line is longer than %d bytes",
		     CSV_RECORD_MAX);
		return UG_EMALFORMED;
	}
	skip_ws(&p);
	if (peek(&p) != '{') {
		fail(&p, -1,
		     "the line is not a JSON object (it must start with "
		     "'{')");
		return UG_EMALFORMED;
	}
	p.pos++;
	skip_ws(&p);
	if (peek(&p) == '}') {
		p.pos++;
	} else {
		while (!p.failed) {
			skip_ws(&p);
			parse_member(&p);
			if (p.failed)
				break;
			skip_ws(&p);
			int c = peek(&p);
			p.pos++;
			if (c == '}')
				break;
			if (c != ',')
				fail(&p, -1,
				     c < 0 ? "the object is not closed (a "
					     "'}' is missing)"
					   : "expected ',' or '}' after a "
					     "value");
		}
	}
	if (!p.failed) {
		skip_ws(&p);
		if (p.pos < p.len)
			fail(&p, -1,
			     "text follows the object's closing '}' (one "
			     "object per line)");
	}
	return p.failed ? UG_EMALFORMED : UG_OK;
}

/* ---- the reader ---------------------------------------------------- */

struct jsonl_reader {
	FILE *f;
	char name[256];
	char chunk[CHUNK_SIZE];
	size_t chunk_len, chunk_pos;
	long next_line, line;
	bool crlf;
	char raw[CSV_RECORD_MAX + 2]; /* + a CR before the LF, + NUL */
	size_t raw_len;
	bool truncated;
	jsonl_record rec;
};

ug_err
jsonl_reader_new(jsonl_reader **out, FILE *f, const char *name)
{
	jsonl_reader *r = calloc(1, sizeof *r);
	if (!r)
		return UG_ENOMEM;
	r->f = f;
	ug_strlcpy(r->name, name, sizeof r->name);
	r->next_line = 1;
	*out = r;
	return UG_OK;
}

void
jsonl_reader_destroy(jsonl_reader **r)
{
	if (!r || !*r)
		return;
	sodium_memzero(*r, sizeof **r); /* rows with CPRs */
	free(*r);
	*r = NULL;
}

static int
next_byte(jsonl_reader *r)
{
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
at_end(jsonl_reader *r)
{
	if (r->chunk_pos < r->chunk_len)
		return false;
	r->chunk_len = fread(r->chunk, 1, sizeof r->chunk, r->f);
	r->chunk_pos = 0;
	return r->chunk_len == 0;
}

/* One physical line into raw: UG_OK, UG_ENOTFOUND at the end, UG_EIO. */
static ug_err
read_line(jsonl_reader *r)
{
	r->raw_len = 0;
	r->truncated = false;
	r->line = r->next_line;
	bool any = false;
	for (;;) {
		int c = next_byte(r);
		/* A DOS program's end-of-file mark right after the last
		 * line, no line break between: the end, not part of it. */
		if (c == 0x1A && any && at_end(r))
			c = EOF;
		if (c == EOF) {
			if (ferror(r->f))
				return UG_EIO;
			if (!any)
				return UG_ENOTFOUND;
			break;
		}
		any = true;
		if (c == '\n') {
			r->next_line++;
			break;
		}
		/* A CR just past the limit may be the line end of a CRLF
		 * file, which is no part of the line. */
		if (r->raw_len < CSV_RECORD_MAX ||
		    (r->raw_len == CSV_RECORD_MAX && c == '\r'))
			r->raw[r->raw_len++] = (char)c;
		else
			r->truncated = true;
	}
	if (r->raw_len > 0 && r->raw[r->raw_len - 1] == '\r' &&
	    !r->truncated) {
		r->raw_len--;
		r->crlf = true;
	}
	if (r->raw_len > CSV_RECORD_MAX)
		r->raw_len = CSV_RECORD_MAX;
	r->raw[r->raw_len] = '\0';
	/* The limit may fall inside a character: half of it would be read
	 * as another character in the rejects file's record. */
	if (r->truncated && strlen(r->raw) == r->raw_len)
		r->raw_len = ug_utf8_trim_tail(r->raw);
	return UG_OK;
}

/* A byte order mark opening a line after the first: files joined with
 * cat or copy, each beginning with one (the file's own is dropped as it
 * is decoded). Unseen in an editor, it would make the line "not a JSON
 * object" though it plainly starts with '{'. */
static size_t
bom_len(const jsonl_reader *r)
{
	return r->raw_len >= 3 && memcmp(r->raw, "\xef\xbb\xbf", 3) == 0 ? 3
									 : 0;
}

static bool
line_blank(const jsonl_reader *r)
{
	/* Ctrl-Z is the end-of-file mark DOS programs write. */
	for (size_t i = bom_len(r); i < r->raw_len; i++)
		if (r->raw[i] != ' ' && r->raw[i] != '\t' &&
		    r->raw[i] != '\r' && r->raw[i] != '\x1A')
			return false;
	return !r->truncated;
}

/*
 * The column (in characters, from 1) of a CR outside strings that text
 * follows on the line, 0 when none: a line ended by CR alone in an LF
 * file joins the next line to this one, and the parser would blame the
 * text after the first object. Blanks and more CRs before the line end
 * are no text. A CR inside a string is a control character there.
 */
static long
stray_cr(const char *s, size_t len)
{
	bool in_string = false, escaped = false;
	long col = 0, cr_col = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c & 0xC0) != 0x80)
			col++;
		if (in_string) {
			if (escaped)
				escaped = false;
			else if (c == '\\')
				escaped = true;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '\r') {
			if (!cr_col)
				cr_col = col;
		} else if (c != ' ' && c != '\t') {
			if (cr_col)
				return cr_col;
			in_string = c == '"';
		}
	}
	return 0;
}

/* A value reads as a CSV cell does, without blanks around it: an export
 * that pads its strings (" 8b ") means what it would say unpadded. */
static void
trim_values(jsonl_record *rec)
{
	for (size_t i = 0; i < rec->count; i++) {
		char *v = rec->text + rec->value[i];
		size_t lead, len = ug_value_trim(v, strlen(v), &lead);
		v[lead + len] = '\0';
		rec->value[i] += lead;
	}
}

ug_err
jsonl_next(jsonl_reader *r, ug_diag *diag)
{
	for (;;) {
		ug_err err = read_line(r);
		if (err == UG_EIO) {
			if (diag) {
				ug_strlcpy(diag->file, r->name,
					   sizeof diag->file);
				diag->line = r->next_line;
			}
			ug_diag_set(diag, "", "cannot read the file: %s",
				    strerror(errno));
			return UG_EIO;
		}
		if (err != UG_OK)
			return err;
		if (line_blank(r))
			continue;
		if (diag) {
			ug_strlcpy(diag->file, r->name, sizeof diag->file);
			diag->line = r->line;
		}
		if (r->truncated) {
			r->rec.count = 0;
			r->rec.bad_key = -1;
			ug_diag_set(diag, "",
				    "the line is longer than %d bytes",
				    CSV_RECORD_MAX);
			return UG_EMALFORMED;
		}
		size_t bom = bom_len(r);
		long cr = stray_cr(r->raw + bom, r->raw_len - bom);
		if (cr) {
			r->rec.count = 0;
			r->rec.bad_key = -1;
			ug_diag_set(
			    diag, "",
			    "line %ld, column %ld holds a carriage "
			    "return alone, which ends no line here (are "
			    "two lines joined into this row?): save the "
			    "file with Windows or Unix line ends",
			    r->line, cr);
			return UG_EMALFORMED;
		}
		ug_err got =
		    jsonl_parse(r->raw + bom, r->raw_len - bom, &r->rec, diag);
		if (got == UG_OK)
			trim_values(&r->rec);
		return got;
	}
}

const jsonl_record *
jsonl_record_of(const jsonl_reader *r)
{
	return &r->rec;
}

long
jsonl_line(const jsonl_reader *r)
{
	return r->line;
}

const char *
jsonl_raw(const jsonl_reader *r, size_t *len, bool *truncated)
{
	if (len)
		*len = r->raw_len;
	if (truncated)
		*truncated = r->truncated;
	return r->raw;
}

bool
jsonl_crlf(const jsonl_reader *r)
{
	return r->crlf;
}

ug_err
jsonl_check_values(jsonl_reader *r, ug_diag *diag)
{
	jsonl_record *rec = &r->rec;
	for (size_t i = 0; i < rec->count; i++) {
		size_t len = strlen(rec->text + rec->value[i]);
		if (len > CSV_FIELD_MAX) {
			rec->bad_key = (long)i;
			ug_diag_set(
			    diag, "",
			    "the value is %zu bytes, over the limit of "
			    "%d",
			    len, CSV_FIELD_MAX);
			return UG_EMALFORMED;
		}
	}
	return UG_OK;
}
