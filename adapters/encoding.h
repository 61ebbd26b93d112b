/*
 * Text encodings of agency exports: recognising them in one pass over a
 * file, in constant memory, and reading a Windows-1252, Latin-1 or code
 * page 850 file as UTF-8 so that the CSV and JSON Lines readers only ever
 * see UTF-8.
 *
 * What the scan decides (docs/ADAPTERS.md, "Encodings"):
 *   - a UTF-16 file (byte order mark, or the NUL bytes every other byte
 *     that ASCII text has in UTF-16) and a binary file (NUL bytes or many
 *     control characters at its start: a spreadsheet, an archive) are
 *     whole-file errors: "wrong encoding";
 *   - a file that is valid UTF-8 (with or without a byte order mark) is
 *     UTF-8;
 *   - a file that is not, holds no valid multi-byte UTF-8 sequence at all
 *     and no control bytes, and whose letters next to other letters are
 *     more often code page 850's æ ø å Ø Å (bytes 91 9B 86 9D 8F: Excel's
 *     "CSV (MS-DOS)") than Windows-1252's (C0-FF), is code page 850;
 *   - one that is neither, with only bytes Windows-1252 defines, is
 *     Windows-1252 (which agrees with Latin-1 on every letter, æ ø å
 *     included);
 *   - anything else is read as UTF-8 and its bad rows are rejected one by
 *     one (a UTF-8 file with one pasted Windows-1252 row keeps its good
 *     rows).
 * Nothing here ever prints the bytes it looks at.
 */
#ifndef UG_ENCODING_H
#define UG_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"

typedef enum {
	ENC_AUTO = 0, /* decide by scanning */
	ENC_UTF8,
	ENC_CP1252,
	ENC_LATIN1,
	ENC_CP850, /* IBM/MS-DOS Western Europe: Excel's "CSV (MS-DOS)" */
} enc_kind;

/* "auto", "utf-8", "cp1252", "latin1", "cp850". */
const char *enc_name(enc_kind kind);
/* Parse a setting: utf-8/utf8, cp1252/windows-1252, latin1/iso-8859-1,
 * cp850/ibm850, auto (any case). UG_EINVAL if unknown. */
ug_err enc_parse(const char *text, enc_kind *out);

/* The running state of a scan; fill with enc_scan_init. */
typedef struct {
	uint64_t bytes;	     /* seen so far */
	bool bom;	     /* starts with the UTF-8 byte order mark */
	bool utf16;	     /* UTF-16 byte order mark or NUL pattern */
	bool binary;	     /* NUL or control bytes at the start */
	bool blank;	     /* only blanks, line breaks and a BOM */
	uint64_t utf8_multi; /* valid multi-byte UTF-8 sequences */
	uint64_t utf8_bad;   /* bytes that are not valid UTF-8 */
	uint64_t cp1252_bad; /* bytes Windows-1252 leaves undefined, or
				control bytes no text holds */
	uint64_t controls;   /* control bytes no text holds, NUL included */
	/* High bytes beside an ASCII letter that are a Danish letter in
	 * code page 850 (91 9B 86 9D 8F), and that are a letter in
	 * Windows-1252 (C0-FF but for × and ÷): which of the two reads
	 * as words. */
	uint64_t cp850_letters, cp1252_letters;
	long first_bad_line; /* line of the first utf8_bad byte, or 0 */
	/* Internal: a UTF-8 sequence split across feeds, the start. */
	uint8_t pending[4];
	size_t npending;
	uint8_t head[512];
	size_t nhead;
	bool head_done;
	long line;
	/* The two bytes before the current one (a letter is judged by
	 * both its neighbours), -1 for none. */
	int prev, prev2;
} enc_scan;

void enc_scan_init(enc_scan *scan);
void enc_scan_feed(enc_scan *scan, const uint8_t *data, size_t len);
/* Close the scan (a sequence cut by the end of the file is bad). */
void enc_scan_end(enc_scan *scan);

/*
 * What to read the scanned file as, given the requested kind (ENC_AUTO
 * decides; a UTF-8 byte order mark makes it UTF-8 whatever was asked for).
 * UG_EMALFORMED with a reason for a clerk (diag field
 * "encoding") for UTF-16 and binary files and for an empty file.
 */
ug_err enc_decide(const enc_scan *scan, enc_kind requested, enc_kind *out,
		  ug_diag *diag);

/*
 * Convert len bytes of kind (ENC_CP1252, ENC_LATIN1 or ENC_CP850) to
 * UTF-8 in out,
 * which must hold 3 * len bytes; returns the bytes written. Bytes that
 * Windows-1252 leaves undefined (81 8D 8F 90 9D) are kept as they are,
 * which is not UTF-8, so the row holding one is rejected rather than
 * guessed.
 */
size_t enc_to_utf8(enc_kind kind, const uint8_t *in, size_t len, uint8_t *out);

/*
 * Make text that was read as UTF-8 but holds stray bytes (a Windows-1252
 * row pasted into a UTF-8 file) UTF-8 for writing out: the next piece of
 * s, at most len bytes, goes to out (4 bytes at least) and its length in
 * s is returned. A valid sequence is copied; a stray byte is taken as
 * Windows-1252 (Latin-1 where that leaves it undefined), so the character
 * the clerk typed shows and nothing is dropped.
 */
size_t enc_utf8_piece(const uint8_t *s, size_t len, uint8_t *out,
		      size_t *out_len);

/*
 * A stream that reads raw (borrowed; the caller closes it after this
 * one) as UTF-8: a leading UTF-8 byte order mark is dropped, and
 * ENC_CP1252, ENC_LATIN1 and ENC_CP850 input is converted. NULL (errno set) on
 * failure. fclose() the result when done; it does not close raw.
 */
FILE *enc_open(FILE *raw, enc_kind kind);

#endif
