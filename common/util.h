/*
 * Small shared helpers: wall clock, calendar dates, CPR numbers, hex.
 * Dates are counted as days since 1970-01-01 (int32), which keeps the rule
 * arithmetic exact and free of time zones.
 */
#ifndef UG_UTIL_H
#define UG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* One day in milliseconds: a day number times this is its midnight UTC
 * as an instant (occurred_at, timers), an instant divided by it its day.
 * The one day constant; no code writes 86400000 itself. */
#define UG_DAY_MS INT64_C(86400000)

/* Milliseconds since the epoch (UTC). */
int64_t ug_now_ms(void);
/* Monotonic milliseconds, for timeouts and latency. */
int64_t ug_mono_ms(void);

/* Parse "YYYY-MM-DD" exactly (no trailing bytes) into days since epoch. */
ug_err ug_date_parse(const char *text, int32_t *days);
/* Parse the first `len` bytes of text as a date (not NUL-terminated). */
ug_err ug_date_parse_n(const char *text, size_t len, int32_t *days);
/*
 * text as ISO "2024-03-01" or Danish "01-03-2024" / "01.03.2024" (day
 * and month two digits, year four, one separator throughout), reordered
 * to ISO in iso, not yet checked for a real day (ug_date_parse); false
 * if it is in none of the three forms: the forms the agencies' files
 * write dates in, read alike by the adapters and hubctl assign --file.
 */
bool ug_date_form_iso(const char *text, char iso[11]);
/*
 * Match text against a NULL-terminated list of words, ignoring case
 * (ASCII and the Danish letters Æ Ø Å as UTF-8) and reading ' ', '-',
 * '_' and the non-breaking space alike, non-breaking spaces around text
 * dropped: "Ikke parat", "ikke-parat" and "IKKE_PARAT" are one word.
 * Returns the index of the first word that matches, or -1.
 */
int ug_word_match(const char *text, const char *const *words);
/*
 * Whether text is 9999-12-31 in one of ug_date_form_iso's forms: many
 * systems' "no end", read as an open end where an end date may be empty.
 */
bool ug_date_no_end(const char *text);
/* Write "YYYY-MM-DD" into out (11 bytes). */
void ug_date_format(int32_t days, char out[11]);
/* Days since epoch to civil date, and back. */
int32_t ug_days_from_civil(int year, int month, int day);
/* Days since epoch to year, month (1-12) and day (1-31). */
void ug_civil(int32_t days, int *year, int *month, int *day);
/* 0 = Monday ... 6 = Sunday. */
int ug_weekday(int32_t days);
/* Today in UTC, as days since epoch. */
int32_t ug_today(void);
/* The instant a test's clock file holds ("YYYY-MM-DD" or
 * "YYYY-MM-DDTHH:MM[:SS]", UTC, a real date and time, on its first
 * line), in ms since the epoch: UG_EIO when the file cannot be read,
 * UG_EMALFORMED when it holds no such time (diag says which). The one
 * reader, so hubd and hubctl agree on what "today" is under a test
 * clock. */
ug_err ug_clock_file_read(const char *path, int64_t *ms, ug_diag *diag);
/* The same, true on success. */
bool ug_clock_file_ms(const char *path, int64_t *ms);

/*
 * The one CPR parser, for the adapters and the hub alike: the first len
 * bytes of text, written "DDMMYY-SSSS", "DDMMYY SSSS" or "DDMMYYSSSS",
 * become 10 digits in out (11 bytes). DDMMYY must be a real date in the
 * century the serial's first digit gives (ug_cpr_birth);
 * deliberately no modulus-11 check, which CPRs issued since 2007 need not
 * pass. On UG_EMALFORMED out is untouched and *why (if why is not NULL)
 * points at a static reason for a clerk, beginning "cpr", that never
 * quotes the text (nine digits get the dropped-leading-zero hint).
 */
ug_err ug_cpr_parse(const char *text, size_t len, char out[11],
		    const char **why);

/*
 * The birth date of a parsed CPR (10 digits), as days since epoch: DDMMYY
 * in the century the CPR office codes in the serial's first digit (0-3:
 * 19YY; 4, 9: 20YY if YY <= 36, else 19YY; 5-8: 20YY if YY <= 57, else
 * 18YY). UG_NO_BIRTH if cpr is not 10 digits: day 0 is 1 January 1970,
 * a birth date like any other. The one reading of a CPR's birth date,
 * for the parser's check and the hub's ages alike.
 */
#define UG_NO_BIRTH INT32_MIN
int32_t ug_cpr_birth(const char *cpr);

/*
 * Overwrite with 'x' the digits of every CPR number in the string text,
 * in any of ug_cpr_parse's forms, that stands alone (no letter or digit
 * right before or after it): for free text that reaches a record meant
 * never to hold a CPR (the audit trail), where a caseworker's note or a
 * name typed at a login form may hold one. Returns how many were masked.
 */
size_t ug_cpr_mask(char *text);

/*
 * The one parser of yes/no settings: "true", "yes", "on", "1" or "false",
 * "no", "off", "0", in any case. UG_EMALFORMED otherwise (*value
 * untouched).
 */
ug_err ug_parse_bool(const char *text, bool *value);

/*
 * The one parser of whole numbers in settings: the first len bytes of
 * text are an optional '-' and decimal digits whose value a long holds
 * (-LONG_MAX to LONG_MAX), nothing else (no blanks, no '+', no base
 * prefix), so every setting spells a number the same way. UG_EMALFORMED
 * otherwise; *value is then untouched.
 */
ug_err ug_parse_long(const char *text, size_t len, long *value);

/*
 * Whether text is an endpoint a client can connect to: tcp://HOST:PORT
 * (HOST a name, an IPv4 address or [IPv6]; PORT 1-65535) or ipc://PATH.
 * The clients (adapters, inbox, webd) check it with their settings, so a
 * typo is a usage error before any key is read or file queued.
 */
bool ug_endpoint_valid(const char *text);

/* Up to UG_SEQ_LIST_SHOWN of n sequence numbers, then how many in all
 * (all, counted by the caller, may be more than n): "2, 7" or
 * "2, 7, 9, 11, 12, ... (14 in all)"; cut to fit len. */
#define UG_SEQ_LIST_SHOWN 5
void ug_seq_list(const uint64_t *seqs, size_t n, size_t all, char *out,
		 size_t len);
/* Sequence numbers counted, the first UG_SEQ_LIST_SHOWN kept to name. */
typedef struct {
	size_t n;
	uint64_t first[UG_SEQ_LIST_SHOWN];
} ug_seq_tally;
void ug_seq_tally_add(ug_seq_tally *t, uint64_t seq);

/* Lowercase hex of len bytes into out (2*len+1 bytes). */
void ug_hex(const uint8_t *bytes, size_t len, char *out);
/* Parse exactly 2*len hex digits. */
ug_err ug_unhex(const char *text, uint8_t *bytes, size_t len);

/*
 * Big-endian integers, the byte order of every stored key and record
 * field and of event ids: the one helper for them, so no code writes its
 * own shifts. A signed value (a day number) goes through its unsigned
 * type: (uint32_t)day out, (int32_t)ug_get_be32(p) back.
 */
static inline void
ug_put_be(uint8_t *out, uint64_t value, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		out[i] = (uint8_t)value;
		value >>= 8;
	}
}

static inline uint64_t
ug_get_be(const uint8_t *in, int bytes)
{
	uint64_t value = 0;
	for (int i = 0; i < bytes; i++)
		value = value << 8 | in[i];
	return value;
}

static inline void
ug_put_be64(uint8_t *out, uint64_t value)
{
	ug_put_be(out, value, 8);
}

static inline uint64_t
ug_get_be64(const uint8_t *in)
{
	return ug_get_be(in, 8);
}

static inline void
ug_put_be32(uint8_t *out, uint32_t value)
{
	ug_put_be(out, value, 4);
}

static inline uint32_t
ug_get_be32(const uint8_t *in)
{
	return (uint32_t)ug_get_be(in, 4);
}

static inline void
ug_put_be16(uint8_t *out, uint16_t value)
{
	ug_put_be(out, value, 2);
}

static inline uint16_t
ug_get_be16(const uint8_t *in)
{
	return (uint16_t)ug_get_be(in, 2);
}

/* mkdir -p with mode 0700 for the directories it creates; 0 or -1/errno. */
int ug_mkdir_p(const char *path);

/* A file without a name in PATH's directory (O_TMPFILE, mode 0600), so
 * that a process killed while it writes leaves nothing behind; -1/errno,
 * EOPNOTSUPP, EISDIR or EINVAL where the file system cannot make one. */
int ug_open_unnamed(const char *path);

/* The separator to put between DIR and a name in it: none after a
 * DIR that ends in '/' (the root, `/`), so that paths read `/x.key`,
 * not `//x.key`. */
const char *ug_dir_sep(const char *dir);

/* Names the unnamed file fd PATH.XXXXXX (written into tmp), to be renamed
 * to PATH; false/errno. */
bool ug_name_unnamed(int fd, const char *path, char *tmp, size_t tmp_size);

/* Opens /dev/null the wrong way round on a standard stream (0, 1, 2) the
 * caller closed (>&-, <&-), so that reading or writing it fails with
 * EBADF; left closed, its number goes to the next file opened, a store's
 * lock or data file, which the program's output would then be written
 * into. Called first thing in main. */
void ug_hold_std_streams(void);

/* Unblocks SIGTERM, SIGINT, SIGHUP and SIGCHLD: a blocked mask survives
 * exec from whatever started a service, and every thread it starts
 * inherits it, so a blocked SIGTERM would never stop it. Called before
 * the program sets its own handlers. */
void ug_unblock_stop_signals(void);

/* Copy at most size-1 bytes and always terminate; returns false if cut. */
bool ug_strlcpy(char *dst, const char *src, size_t size);

/*
 * Strict UTF-8 (RFC 3629), as protobuf decoders check string fields: no
 * overlong forms, no surrogates, nothing above U+10FFFF. NUL is allowed.
 */
bool ug_utf8_valid(const char *s, size_t len);
/*
 * After text was cut to a byte budget (snprintf, strlcpy): drop a UTF-8
 * sequence left incomplete at the end, so the text stays valid UTF-8.
 * Returns the new length.
 */
size_t ug_utf8_trim_tail(char *s);
/*
 * The value v[0..len) without the blanks (spaces, tabs) and non-breaking
 * spaces (U+00A0) around it: sets *lead to the bytes dropped in front and
 * returns the length left. A cell pasted from a web page or a word
 * processor brings U+00A0 along, invisible in the spreadsheet.
 */
size_t ug_value_trim(const char *v, size_t len, size_t *lead);
/*
 * Turn every byte of s that does not begin a valid UTF-8 sequence (as
 * ug_utf8_valid judges it) into '?', so that text from outside (a path
 * typed in a Latin-1 terminal) is UTF-8 wherever it is shown. Returns how
 * many bytes were replaced.
 */
size_t ug_utf8_scrub(char *s);
/*
 * Make text valid UTF-8 in place (it has cap bytes of room): what is
 * UTF-8 stays, any other byte is read as Windows-1252 (a file name off a
 * share with the wrong character set, fravær.csv), a byte that leaves
 * undefined as '?'. Cut at a whole character if the room runs out.
 */
void ug_utf8_from_cp1252(char *text, size_t cap);
/* Windows-1252's character for a byte (the byte itself below 0x80 and
 * from 0xA0), 0 for the five bytes it leaves undefined. */
uint32_t ug_cp1252_char(unsigned char byte);
/* cp (below U+10000) as UTF-8 into out; returns its 1 to 3 bytes. */
size_t ug_utf8_put(uint32_t cp, char out[3]);
/*
 * Text the hub composes from what agencies and caseworkers sent (alert
 * titles, explanations, timeline summaries) is one line: every control
 * character (U+0000-U+001F, U+007F-U+009F) and U+2028, U+2029 become a
 * space (one byte, so the text can only get shorter).
 */
void ug_text_one_line(char *s);
/*
 * True when s shows a reader nothing: it is empty, or every character is
 * white space or invisible -- a control character (C0, DEL, C1: what a
 * one-line text shows as a space, or not at all), a space of any width
 * (U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F, U+3000), a line or
 * paragraph separator (U+2028, U+2029) or a format character that shows
 * nothing (U+00AD soft hyphen, U+180E, U+200B-U+200F zero-width and
 * direction marks, U+202A-U+202E, U+2060-U+2064 word joiner and
 * invisible operators, U+2066-U+2069, U+FEFF). Bytes that are not UTF-8
 * are not nothing.
 */
bool ug_text_unseen(const char *s);

#endif
