/*
 * Encodings of agency exports; see encoding.h for what is decided and
 * why. The scan is a byte-level UTF-8 validator that survives sequences
 * split across reads, plus a look at the first 512 bytes for UTF-16 and
 * binary files. The converting stream is a glibc cookie stream
 * (fopencookie), so the CSV and JSON Lines readers keep reading a FILE.
 */
#define _GNU_SOURCE /* fopencookie */
#include "adapters/encoding.h"
#include "common/util.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Code page 850's 0x80-0xFF as Unicode; it defines every byte. */
static const uint16_t cp850_high[128] = {
    0x00C7, 0x00FC, 0x00E9, 0x00E2, 0x00E4, 0x00E0, 0x00E5, 0x00E7, /* 80 */
    0x00EA, 0x00EB, 0x00E8, 0x00EF, 0x00EE, 0x00EC, 0x00C4, 0x00C5, /* 88 */
    0x00C9, 0x00E6, 0x00C6, 0x00F4, 0x00F6, 0x00F2, 0x00FB, 0x00F9, /* 90 */
    0x00FF, 0x00D6, 0x00DC, 0x00F8, 0x00A3, 0x00D8, 0x00D7, 0x0192, /* 98 */
    0x00E1, 0x00ED, 0x00F3, 0x00FA, 0x00F1, 0x00D1, 0x00AA, 0x00BA, /* A0 */
    0x00BF, 0x00AE, 0x00AC, 0x00BD, 0x00BC, 0x00A1, 0x00AB, 0x00BB, /* A8 */
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x00C1, 0x00C2, 0x00C0, /* B0 */
    0x00A9, 0x2563, 0x2551, 0x2557, 0x255D, 0x00A2, 0x00A5, 0x2510, /* B8 */
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x00E3, 0x00C3, /* C0 */
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x00A4, /* C8 */
    0x00F0, 0x00D0, 0x00CA, 0x00CB, 0x00C8, 0x0131, 0x00CD, 0x00CE, /* D0 */
    0x00CF, 0x2518, 0x250C, 0x2588, 0x2584, 0x00A6, 0x00CC, 0x2580, /* D8 */
    0x00D3, 0x00DF, 0x00D4, 0x00D2, 0x00F5, 0x00D5, 0x00B5, 0x00FE, /* E0 */
    0x00DE, 0x00DA, 0x00DB, 0x00D9, 0x00FD, 0x00DD, 0x00AF, 0x00B4, /* E8 */
    0x00AD, 0x00B1, 0x2017, 0x00BE, 0x00B6, 0x00A7, 0x00F7, 0x00B8, /* F0 */
    0x00B0, 0x00A8, 0x00B7, 0x00B9, 0x00B3, 0x00B2, 0x25A0, 0x00A0, /* F8 */
};

static const struct {
	const char *name;
	enc_kind kind;
} names[] = {
    {"auto", ENC_AUTO},		  {"utf-8", ENC_UTF8},
    {"utf8", ENC_UTF8},		  {"cp1252", ENC_CP1252},
    {"windows-1252", ENC_CP1252}, {"latin1", ENC_LATIN1},
    {"latin-1", ENC_LATIN1},	  {"iso-8859-1", ENC_LATIN1},
    {"cp850", ENC_CP850},	  {"ibm850", ENC_CP850},
};

const char *
enc_name(enc_kind kind)
{
	switch (kind) {
	case ENC_AUTO:
		return "auto";
	case ENC_UTF8:
		return "utf-8";
	case ENC_CP1252:
		return "cp1252";
	case ENC_LATIN1:
		return "latin1";
	case ENC_CP850:
		return "cp850";
	}
	return "?";
}

ug_err
enc_parse(const char *text, enc_kind *out)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(text, names[i].name) == 0) {
			*out = names[i].kind;
			return UG_OK;
		}
	return UG_EINVAL;
}

void
enc_scan_init(enc_scan *scan)
{
	memset(scan, 0, sizeof *scan);
	scan->blank = true;
	scan->line = 1;
	scan->prev = scan->prev2 = -1;
}

/* A control byte no text file holds: C0 except tab, line breaks, form
 * feed and the old DOS end-of-file mark. */
static bool
is_odd_control(uint8_t c)
{
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' &&
	       c != 0x1A;
}

/* Length of the UTF-8 sequence starting with c, or 0 if c cannot start
 * one. */
static size_t
utf8_len(uint8_t c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/* Is s[0..n) (n = utf8_len(s[0])) a valid sequence? Strict: no
 * overlongs, no surrogates, nothing above U+10FFFF. */
static bool
utf8_ok(const uint8_t *s, size_t n)
{
	uint32_t cp = n == 2   ? s[0] & 0x1F
		      : n == 3 ? s[0] & 0x0F
			       : s[0] & 0x07;
	for (size_t k = 1; k < n; k++) {
		if ((s[k] & 0xC0) != 0x80)
			return false;
		cp = cp << 6 | (s[k] & 0x3F);
	}
	return !((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		 (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
}

static void
bad_utf8(enc_scan *scan)
{
	scan->utf8_bad++;
	if (!scan->first_bad_line)
		scan->first_bad_line = scan->line;
}

static void
check_head(enc_scan *scan)
{
	scan->head_done = true;
	const uint8_t *h = scan->head;
	size_t n = scan->nhead;
	if (n >= 2 && ((h[0] == 0xFF && h[1] == 0xFE) ||
		       (h[0] == 0xFE && h[1] == 0xFF))) {
		scan->utf16 = true;
		return;
	}
	/* ASCII text in UTF-16 has a NUL in every other byte. */
	size_t even = 0, odd = 0, odd_controls = 0;
	for (size_t i = 0; i < n; i++) {
		if (h[i] == 0 && i % 2)
			odd++;
		else if (h[i] == 0)
			even++;
		else if (is_odd_control(h[i]))
			odd_controls++;
	}
	size_t pairs = n / 2;
	if (pairs >= 2 && (odd * 10 >= pairs * 8 || even * 10 >= pairs * 8))
		scan->utf16 = true;
	else if (even + odd > 0 || odd_controls * 100 > n)
		scan->binary = true;
}

/* Feed one byte through the UTF-8 validator. */
static void
feed_utf8(enc_scan *scan, uint8_t c)
{
	if (scan->npending) {
		size_t want = utf8_len(scan->pending[0]);
		if ((c & 0xC0) == 0x80) {
			scan->pending[scan->npending++] = c;
			if (scan->npending < want)
				return;
			if (utf8_ok(scan->pending, want))
				scan->utf8_multi++;
			else
				bad_utf8(scan);
			scan->npending = 0;
			return;
		}
		/* Cut short: the lead byte was bad; c starts afresh. */
		bad_utf8(scan);
		scan->npending = 0;
	}
	size_t n = utf8_len(c);
	if (n == 0)
		bad_utf8(scan);
	else if (n > 1)
		scan->pending[scan->npending++] = c;
}

static bool
ascii_letter(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Which code page the high byte b reads as a letter in, judged by its
 * neighbours (-1: none): Danish words put æ ø å between or beside
 * ASCII letters, where Windows-1252's quotes, dagger and angle quote
 * that share these bytes do not go. 92 (Æ) is left out: it is also
 * Windows' apostrophe, as in O’Brien. */
static void
judge_letter(enc_scan *scan, uint8_t b, int left, int right)
{
	bool beside = ascii_letter(left) || ascii_letter(right);
	switch (b) {
	case 0x91: /* æ; Windows' ‘ opens a quote, before a word */
		if (ascii_letter(left))
			scan->cp850_letters++;
		return;
	case 0x86: /* å */
	case 0x8F: /* Å */
	case 0x9B: /* ø */
	case 0x9D: /* Ø */
		if (beside)
			scan->cp850_letters++;
		return;
	default:
		if (b >= 0xC0 && b != 0xD7 && b != 0xF7 && beside)
			scan->cp1252_letters++;
		return;
	}
}

void
enc_scan_feed(enc_scan *scan, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		uint8_t c = data[i];
		uint64_t at = scan->bytes++;
		if (!scan->head_done) {
			scan->head[scan->nhead++] = c;
			if (scan->nhead == sizeof scan->head)
				check_head(scan);
		}
		if (c >= 0x80 && ug_cp1252_char(c) == 0) {
			scan->cp1252_bad++;
		} else if (is_odd_control(c) || c == 0) {
			scan->cp1252_bad++;
			scan->controls++;
		}
		if (scan->prev >= 0x80)
			judge_letter(scan, (uint8_t)scan->prev, scan->prev2,
				     c);
		scan->prev2 = scan->prev;
		scan->prev = c;
		if (at >= 3 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			scan->blank = false;
		feed_utf8(scan, c);
		if (c == '\n')
			scan->line++;
	}
}

void
enc_scan_end(enc_scan *scan)
{
	if (scan->npending) {
		bad_utf8(scan);
		scan->npending = 0;
	}
	if (scan->prev >= 0x80)
		judge_letter(scan, (uint8_t)scan->prev, scan->prev2, -1);
	scan->prev = scan->prev2 = -1;
	if (!scan->head_done)
		check_head(scan);
	const uint8_t *h = scan->head;
	size_t n = scan->nhead < 3 ? scan->nhead : 3;
	scan->bom = n == 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF;
	/* The first three bytes were left out of "blank": they count
	 * unless they are the byte order mark or blanks themselves. */
	for (size_t i = 0; i < n && !scan->bom; i++)
		if (h[i] != ' ' && h[i] != '\t' && h[i] != '\r' &&
		    h[i] != '\n')
			scan->blank = false;
}

ug_err
enc_decide(const enc_scan *scan, enc_kind requested, enc_kind *out,
	   ug_diag *diag)
{
	if (scan->utf16) {
		ug_diag_set(
		    diag, "encoding",
		    "wrong encoding: the file is UTF-16 text; save or "
		    "export it as UTF-8 (\"CSV UTF-8\") or Windows-1252");
		return UG_EMALFORMED;
	}
	if (scan->binary) {
		ug_diag_set(
		    diag, "encoding",
		    "wrong encoding: the file is not text (it holds NUL "
		    "or control bytes: a spreadsheet or an archive?); "
		    "export it as CSV");
		return UG_EMALFORMED;
	}
	if (scan->bytes == 0 || scan->blank) {
		ug_diag_set(diag, "file",
			    "the file is empty; a header row naming the "
			    "columns is required");
		return UG_EMALFORMED;
	}
	/* A byte order mark says UTF-8 whatever the setting: a site that
	 * sets cp1252 for its exports must still read the rejects files
	 * the adapter wrote (UTF-8 with a mark) when they come back. */
	if (scan->bom)
		*out = ENC_UTF8;
	else if (requested != ENC_AUTO)
		*out = requested;
	else if (scan->utf8_bad > 0 && scan->utf8_multi == 0 &&
		 scan->controls == 0 &&
		 scan->cp850_letters > scan->cp1252_letters)
		*out = ENC_CP850;
	else if (scan->utf8_bad > 0 && scan->utf8_multi == 0 &&
		 scan->cp1252_bad == 0)
		*out = ENC_CP1252;
	else
		*out = ENC_UTF8;
	return UG_OK;
}

size_t
enc_to_utf8(enc_kind kind, const uint8_t *in, size_t len, uint8_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		uint32_t cp = in[i];
		if (cp >= 0x80 && kind == ENC_CP850) {
			cp = cp850_high[cp - 0x80];
		} else if (cp >= 0x80 && cp <= 0x9F && kind == ENC_CP1252) {
			cp = ug_cp1252_char((unsigned char)cp);
			if (cp == 0) {
				out[n++] = in[i];
				continue;
			}
		}
		n += ug_utf8_put(cp, (char *)out + n);
	}
	return n;
}

size_t
enc_utf8_piece(const uint8_t *s, size_t len, uint8_t *out, size_t *out_len)
{
	size_t n = utf8_len(s[0]);
	if (n > 0 && n <= len && (n == 1 || utf8_ok(s, n))) {
		memcpy(out, s, n);
		*out_len = n;
		return n;
	}
	*out_len = enc_to_utf8(ENC_CP1252, s, 1, out);
	if (*out_len == 1 && s[0] >= 0x80)
		*out_len = enc_to_utf8(ENC_LATIN1, s, 1, out);
	return 1;
}

/* ---- the converting stream ----------------------------------------- */

#define STREAM_CHUNK 8192

struct stream {
	FILE *raw;
	enc_kind kind;
	bool started; /* the BOM check is done */
	uint8_t in[STREAM_CHUNK];
	uint8_t out[3 * STREAM_CHUNK];
	size_t out_len, out_pos;
};

static ssize_t
stream_read(void *cookie, char *buf, size_t size)
{
	struct stream *s = cookie;
	while (s->out_pos == s->out_len) {
		size_t got = fread(s->in, 1, sizeof s->in, s->raw);
		if (got == 0)
			return ferror(s->raw) ? -1 : 0;
		size_t skip = 0;
		if (!s->started) {
			s->started = true;
			/* A BOM is always UTF-8's: no cp1252 file starts
			 * with "ï»¿" on purpose. */
			if (got >= 3 && s->in[0] == 0xEF && s->in[1] == 0xBB &&
			    s->in[2] == 0xBF)
				skip = 3;
		}
		if (s->kind == ENC_CP1252 || s->kind == ENC_LATIN1 ||
		    s->kind == ENC_CP850) {
			s->out_len = enc_to_utf8(s->kind, s->in + skip,
						 got - skip, s->out);
		} else {
			memcpy(s->out, s->in + skip, got - skip);
			s->out_len = got - skip;
		}
		s->out_pos = 0;
	}
	size_t n = s->out_len - s->out_pos;
	if (n > size)
		n = size;
	memcpy(buf, s->out + s->out_pos, n);
	s->out_pos += n;
	return (ssize_t)n;
}

static int
stream_close(void *cookie)
{
	/* The buffers held rows with CPRs. */
	sodium_memzero(cookie, sizeof(struct stream));
	free(cookie);
	return 0;
}

FILE *
enc_open(FILE *raw, enc_kind kind)
{
	struct stream *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->raw = raw;
	s->kind = kind;
	cookie_io_functions_t io = {.read = stream_read,
				    .close = stream_close};
	FILE *f = fopencookie(s, "r", io);
	if (!f)
		free(s);
	return f;
}
