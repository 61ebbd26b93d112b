/* Clock, calendar and CPR helpers shared by the hub and the adapters. */
#define _GNU_SOURCE /* O_TMPFILE */
#include "common/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int64_t
ug_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ug_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian
 * calendar, no tables and no time zone involved. */
int32_t
ug_days_from_civil(int year, int month, int day)
{
	year -= month <= 2;
	int era = (year >= 0 ? year : year - 399) / 400;
	unsigned yoe = (unsigned)(year - era * 400);
	unsigned doy =
	    (153u * (unsigned)(month + (month > 2 ? -3 : 9)) + 2) / 5 +
	    (unsigned)day - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int32_t)doe - 719468;
}

void
ug_civil(int32_t z, int *year, int *month, int *day)
{
	z += 719468;
	int era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int y = (int)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*day = (int)(doy - (153 * mp + 2) / 5 + 1);
	*month = (int)(mp < 10 ? mp + 3 : mp - 9);
	*year = y + (*month <= 2);
}

static bool
is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month(int year, int month)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30,
				  31, 31, 30, 31, 30, 31};
	return month == 2 && is_leap(year) ? 29 : dim[month - 1];
}

static bool
digits(const char *text, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)text[i]))
			return false;
	return true;
}

static size_t
digits_span(const char *text, size_t len)
{
	size_t n = 0;
	while (n < len && text[n] >= '0' && text[n] <= '9')
		n++;
	return n;
}

static int
number(const char *text, size_t len)
{
	int value = 0;
	for (size_t i = 0; i < len; i++)
		value = value * 10 + (text[i] - '0');
	return value;
}

ug_err
ug_date_parse_n(const char *text, size_t len, int32_t *days)
{
	if (len != 10 || text[4] != '-' || text[7] != '-' ||
	    !digits(text, 4) || !digits(text + 5, 2) || !digits(text + 8, 2))
		return UG_EMALFORMED;
	int year = number(text, 4), month = number(text + 5, 2),
	    day = number(text + 8, 2);
	if (year < 1900 || year > 2199 || month < 1 || month > 12 || day < 1 ||
	    day > days_in_month(year, month))
		return UG_EMALFORMED;
	*days = ug_days_from_civil(year, month, day);
	return UG_OK;
}

ug_err
ug_date_parse(const char *text, int32_t *days)
{
	return ug_date_parse_n(text, strlen(text), days);
}

/* text in any of the three forms, reordered to ISO; false if it is in
 * none of them. */
bool
ug_date_form_iso(const char *text, char iso[11])
{
	if (!text || strlen(text) != 10)
		return false;
	if (text[4] == '-') {
		memcpy(iso, text, 11);
		return true;
	}
	/* DD-MM-YYYY or DD.MM.YYYY, one separator throughout: "01-03.2024"
	 * is more likely a typo than a date. */
	char sep = text[2];
	if ((sep != '-' && sep != '.') || text[5] != sep)
		return false;
	const char out[11] = {text[6], text[7], text[8], text[9], '-', text[3],
			      text[4], '-',	text[0], text[1], '\0'};
	memcpy(iso, out, 11);
	return true;
}

/* Next folded character of s: ASCII lower case, ' ' '-' '_' and the
 * non-breaking space (C2 A0, what a header pasted in a spreadsheet may
 * hold between its words) as '_', the UTF-8 capitals Æ Ø Å (C3 86, C3 98,
 * C3 85) as their small letters.
 * Returns the folded code (a byte, or 0x100 + the second UTF-8 byte for
 * the Danish letters) and advances *s; 0 at the end. */
static unsigned
fold_next(const unsigned char **s)
{
	const unsigned char *p = *s;
	if (!*p)
		return 0;
	if (p[0] == 0xC2 && p[1] == 0xA0) {
		*s = p + 2;
		return '_';
	}
	if (p[0] == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
		unsigned c = p[1];
		if (c >= 0x80 && c <= 0x9E && c != 0x97)
			c += 0x20; /* Latin-1 capitals to small */
		*s = p + 2;
		return 0x100 + c;
	}
	*s = p + 1;
	unsigned c = p[0];
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c == ' ' || c == '-')
		return '_';
	return c;
}

static bool
words_equal(const char *a, const char *b)
{
	const unsigned char *p = (const unsigned char *)a,
			    *q = (const unsigned char *)b;
	for (;;) {
		unsigned x = fold_next(&p), y = fold_next(&q);
		if (x != y)
			return false;
		if (x == 0)
			return true;
	}
}

int
ug_word_match(const char *text, const char *const *words)
{
	if (!text || !words)
		return -1;
	/* Without the non-breaking spaces around it, as a column's name
	 * (csv_column_matches): the readers drop only blanks there, and a
	 * cell pasted in a spreadsheet may end in U+00A0. */
	while ((unsigned char)text[0] == 0xC2 &&
	       (unsigned char)text[1] == 0xA0)
		text += 2;
	size_t len = strlen(text);
	while (len >= 2 && (unsigned char)text[len - 2] == 0xC2 &&
	       (unsigned char)text[len - 1] == 0xA0)
		len -= 2;
	char word[256];
	if (len >= sizeof word)
		return -1; /* longer than any word of a list */
	memcpy(word, text, len);
	word[len] = '\0';
	for (int i = 0; words[i]; i++)
		if (words_equal(word, words[i]))
			return i;
	return -1;
}

bool
ug_date_no_end(const char *text)
{
	/* As a date is read, not as a word (ug_word_match would take
	 * "9999 12 31" or "31_12_9999", which no other date may be). */
	char iso[11];
	return ug_date_form_iso(text, iso) && strcmp(iso, "9999-12-31") == 0;
}

void
ug_date_format(int32_t days, char out[11])
{
	int year, month, day;
	ug_civil(days, &year, &month, &day);
	/* The modulo keeps gcc's format-truncation analysis satisfied; dates
	 * outside years 0-9999 never reach here. */
	snprintf(out, 11, "%04d-%02d-%02d", (unsigned)year % 10000u,
		 (unsigned)month % 100u, (unsigned)day % 100u);
}

int
ug_weekday(int32_t days)
{
	/* 1970-01-01 was a Thursday (3 with Monday = 0). */
	int wd = (int)((days + 3) % 7);
	return wd < 0 ? wd + 7 : wd;
}

int32_t
ug_today(void)
{
	return (int32_t)(ug_now_ms() / UG_DAY_MS);
}

/* Two digits at text from 0 to max, or -1. */
static int
two_digits(const char *text, int max)
{
	if (!digits(text, 2))
		return -1;
	int n = number(text, 2);
	return n <= max ? n : -1;
}

ug_err
ug_clock_file_read(const char *path, int64_t *ms, ug_diag *diag)
{
	char text[64] = "";
	FILE *f = fopen(path, "r");
	if (!f) {
		ug_diag_set(diag, "clock_file",
			    "clock_file %s cannot be read: %s", path,
			    strerror(errno));
		return UG_EIO;
	}
	if (!fgets(text, sizeof text, f)) {
		text[0] = '\0';
		/* A directory opens, and only its read fails: a file that
		 * cannot be read, not one that holds no time. */
		if (ferror(f)) {
			int e = errno;
			fclose(f);
			ug_diag_set(diag, "clock_file",
				    "clock_file %s cannot be read: %s", path,
				    strerror(e));
			return UG_EIO;
		}
	}
	fclose(f);
	/* A byte order mark is an editor's, as in a settings file. */
	if (!memcmp(text, "\xEF\xBB\xBF", 3))
		memmove(text, text + 3, strlen(text + 3) + 1);
	size_t len = strcspn(text, "\r\n");
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	/* "Z" only says UTC, which the time is anyway. */
	if (len > 10 && text[len - 1] == 'Z')
		len--;
	int32_t day;
	int hh = 0, mm = 0, ss = 0;
	bool ok = len >= 10 && ug_date_parse_n(text, 10, &day) == UG_OK;
	if (ok && len > 10) {
		ok = (len == 16 || len == 19) && text[10] == 'T' &&
		     text[13] == ':' &&
		     (hh = two_digits(text + 11, 23)) >= 0 &&
		     (mm = two_digits(text + 14, 59)) >= 0;
		if (ok && len == 19)
			ok = text[16] == ':' &&
			     (ss = two_digits(text + 17, 59)) >= 0;
	}
	if (!ok) {
		ug_diag_set(diag, "clock_file",
			    "clock_file %s does not hold a time: its first "
			    "line must be "
			    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC)",
			    path);
		return UG_EMALFORMED;
	}
	*ms = (int64_t)day * UG_DAY_MS +
	      ((int64_t)hh * 3600 + mm * 60 + ss) * 1000;
	return UG_OK;
}

bool
ug_clock_file_ms(const char *path, int64_t *ms)
{
	return ug_clock_file_read(path, ms, NULL) == UG_OK;
}

/* The CPR office's table: the serial's first digit says the century of
 * YY (0-3: 1900s; 4 and 9: 2000s up to 36, else 1900s; 5-8: 2000s up to
 * 57, else 1800s), so a birth date is checked in the year it names. */
static int
cpr_year(const char *digits10)
{
	int yy = number(digits10 + 4, 2), c = digits10[6] - '0';
	if (c == 4 || c == 9)
		return (yy <= 36 ? 2000 : 1900) + yy;
	if (c >= 5 && c <= 8)
		return (yy <= 57 ? 2000 : 1800) + yy;
	return 1900 + yy;
}

int32_t
ug_cpr_birth(const char *cpr)
{
	if (!cpr || strlen(cpr) != 10 || digits_span(cpr, 10) != 10)
		return UG_NO_BIRTH;
	return ug_days_from_civil(cpr_year(cpr), number(cpr + 2, 2),
				  number(cpr, 2));
}

bool
ug_endpoint_valid(const char *ep)
{
	/* A PATH longer than a Unix socket's name would fail only at the
	 * connect, after the files were queued. */
	if (strncmp(ep, "ipc://", 6) == 0)
		return ep[6] != '\0' &&
		       strlen(ep + 6) <
			   sizeof((struct sockaddr_un *)0)->sun_path;
	if (strncmp(ep, "tcp://", 6) != 0)
		return false;
	const char *host = ep + 6, *colon = strrchr(host, ':');
	if (!colon || colon == host)
		return false;
	if (host[0] == '[') {
		char addr[INET6_ADDRSTRLEN + 1];
		struct in6_addr in6;
		size_t n = (size_t)(colon - host);
		if (n < 3 || colon[-1] != ']' || n - 2 >= sizeof addr)
			return false;
		memcpy(addr, host + 1, n - 2);
		addr[n - 2] = '\0';
		if (inet_pton(AF_INET6, addr, &in6) != 1)
			return false;
	} else {
		/* A name or an IPv4 address: '*' (a bind address) or an IPv6
		 * address without its brackets would pass the settings check
		 * and fail only at the connect, after the files were queued.
		 */
		bool numeric = true;
		for (const char *h = host; h < colon; h++) {
			if (!isalnum((unsigned char)*h) && *h != '.' &&
			    *h != '-' && *h != '_')
				return false;
			numeric = numeric &&
				  (isdigit((unsigned char)*h) || *h == '.');
		}
		/* libzmq refuses the connect of a host that does not start
		 * with a letter or digit ("-hub"), and digits and dots that
		 * are no IPv4 address are no name a lookup finds either:
		 * both would be found only after the files were queued. */
		char addr[INET_ADDRSTRLEN + 1];
		struct in_addr in4;
		size_t n = (size_t)(colon - host);
		if (!isalnum((unsigned char)host[0]))
			return false;
		if (numeric) {
			if (n >= sizeof addr)
				return false;
			memcpy(addr, host, n);
			addr[n] = '\0';
			if (inet_pton(AF_INET, addr, &in4) != 1)
				return false;
		}
	}
	long port = 0;
	const char *p = colon + 1;
	for (; *p >= '0' && *p <= '9' && port <= 65535; p++)
		port = port * 10 + (*p - '0');
	return *p == '\0' && p > colon + 1 && port >= 1 && port <= 65535;
}

ug_err
ug_parse_bool(const char *text, bool *value)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; text && i < 4; i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*value = true;
			return UG_OK;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*value = false;
			return UG_OK;
		}
	}
	return UG_EMALFORMED;
}

ug_err
ug_cpr_parse(const char *text, size_t len, char out[11], const char **why)
{
	const char *reason;
	char buf[10];
	size_t lead = text ? digits_span(text, len) : 0;
	if (!text || len == 0) {
		reason = "cpr is empty";
	} else if (len == 9 && lead == 9) {
		reason =
		    "cpr has 9 digits: a spreadsheet may have dropped its "
		    "leading zero (format the column as text)";
	} else if ((len == 10 && lead == 10) ||
		   (len == 11 && lead == 6 &&
		    (text[6] == '-' || text[6] == ' ') &&
		    digits_span(text + 7, 4) == 4)) {
		/* A blank where the dash belongs is how some systems and
		 * hand-typed sheets write it; the digits are the same. */
		memcpy(buf, text, 6);
		memcpy(buf + 6, text + len - 4, 4);
		int day = number(buf, 2), month = number(buf + 2, 2);
		int year = cpr_year(buf);
		if (month >= 1 && month <= 12 && day >= 1 &&
		    day <= days_in_month(year, month)) {
			memcpy(out, buf, 10);
			out[10] = '\0';
			return UG_OK;
		}
		reason = "cpr is not a CPR number: DDMMYY is not a real birth "
			 "date";
	} else {
		reason =
		    "cpr is not a CPR number (DDMMYY-SSSS, DDMMYY SSSS or "
		    "DDMMYYSSSS)";
	}
	if (why)
		*why = reason;
	return UG_EMALFORMED;
}

static bool
word_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

/* The length of the separator at p between a CPR's halves, or 0: the
 * ASCII dash and blank, and what word processors and web forms put there
 * instead (other dashes, the minus sign, non-breaking spaces; UTF-8), so
 * that a number pasted from a letter is masked as one typed. */
static size_t
cpr_separator(const char *p, size_t avail)
{
	static const char *const seps[] = {"-",
					   " ",
					   "\xe2\x80\x90",
					   "\xe2\x80\x91",
					   "\xe2\x80\x92",
					   "\xe2\x80\x93",
					   "\xe2\x80\x94",
					   "\xe2\x88\x92",
					   "\xc2\xa0",
					   "\xe2\x80\xaf"};
	/* A control character (a tab copied from a spreadsheet's cell), or
	 * the '?' a one-line message shows for one, must not let the
	 * number through a log line or the audit trail. */
	if (avail > 0 && ((unsigned char)*p < 0x20 || *p == 0x7f || *p == '?'))
		return 1;
	/* A C1 control character (U+0085, a line break to many a reader)
	 * is one as well: in the audit trail it is kept, not shown as '?'. */
	if (avail > 1 && (unsigned char)p[0] == 0xc2 &&
	    (unsigned char)p[1] >= 0x80 && (unsigned char)p[1] <= 0x9f)
		return 2;
	for (size_t k = 0; k < sizeof seps / sizeof *seps; k++) {
		size_t n = strlen(seps[k]);
		if (n <= avail && memcmp(p, seps[k], n) == 0)
			return n;
	}
	/* A byte that is not UTF-8 (a Latin-1 dash in a file name a
	 * message echoes) is shown as '?' too, and is one as well. */
	unsigned char c = (unsigned char)*p;
	if (avail > 0 && c >= 0x80) {
		size_t n = c >= 0xc2 && c <= 0xdf   ? 2
			   : c >= 0xe0 && c <= 0xef ? 3
			   : c >= 0xf0 && c <= 0xf4 ? 4
						    : 0;
		if (!n || n > avail || !ug_utf8_valid(p, n))
			return 1;
	}
	return 0;
}

size_t
ug_cpr_mask(char *text)
{
	size_t masked = 0, len = text ? strlen(text) : 0;
	for (size_t i = 0; i < len;) {
		size_t run = digits_span(text + i, len - i);
		if (run == 0 || (i > 0 && word_char(text[i - 1]))) {
			i += run ? run : 1;
			continue;
		}
		size_t n = 0, sep = 0;
		/* Parsed in the form ug_cpr_parse reads, DDMMYY-SSSS. */
		char form[11];
		if (run == 10) {
			n = 10;
			memcpy(form, text + i, 10);
		} else if (run == 6 &&
			   (sep = cpr_separator(text + i + 6, len - i - 6)) &&
			   digits_span(text + i + 6 + sep,
				       len - i - 6 - sep) >= 4) {
			n = 10 + sep;
			memcpy(form, text + i, 6);
			form[6] = '-';
			memcpy(form + 7, text + i + 6 + sep, 4);
		}
		char norm[11];
		if (n && (i + n == len || !word_char(text[i + n])) &&
		    ug_cpr_parse(form, n == 10 ? 10 : 11, norm, NULL) ==
			UG_OK) {
			for (size_t k = i; k < i + n; k++)
				if (text[k] >= '0' && text[k] <= '9')
					text[k] = 'x';
			masked++;
			sodium_memzero(norm, sizeof norm);
			i += n;
		} else {
			i += run;
		}
		sodium_memzero(form, sizeof form);
	}
	return masked;
}

void
ug_seq_list(const uint64_t *seqs, size_t n, size_t all, char *out, size_t len)
{
	size_t at = 0, shown = n < UG_SEQ_LIST_SHOWN ? n : UG_SEQ_LIST_SHOWN;
	if (len)
		out[0] = 0;
	for (size_t i = 0; i < shown && at < len; i++) {
		int k = snprintf(out + at, len - at, "%s%llu", i ? ", " : "",
				 (unsigned long long)seqs[i]);
		at += k > 0 ? (size_t)k : 0;
	}
	if (all > shown && at < len)
		snprintf(out + at, len - at, ", ... (%zu in all)", all);
}

void
ug_seq_tally_add(ug_seq_tally *t, uint64_t seq)
{
	if (t->n < UG_SEQ_LIST_SHOWN)
		t->first[t->n] = seq;
	t->n++;
}

void
ug_hex(const uint8_t *bytes, size_t len, char *out)
{
	static const char hexdig[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[bytes[i] >> 4];
		out[2 * i + 1] = hexdig[bytes[i] & 15];
	}
	out[2 * len] = '\0';
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ug_err
ug_unhex(const char *text, uint8_t *bytes, size_t len)
{
	if (strlen(text) != 2 * len)
		return UG_EMALFORMED;
	for (size_t i = 0; i < len; i++) {
		int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return UG_EMALFORMED;
		bytes[i] = (uint8_t)(hi << 4 | lo);
	}
	return UG_OK;
}

ug_err
ug_parse_long(const char *text, size_t len, long *value)
{
	bool negative = len > 0 && text[0] == '-';
	size_t i = negative;
	if (len - i < 1)
		return UG_EMALFORMED;
	/* Every value a long holds (but LONG_MIN) is taken, so that a
	 * setting's "from MIN to MAX" means both ends; leading zeros count
	 * for nothing. */
	long v = 0;
	for (; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return UG_EMALFORMED;
		int d = text[i] - '0';
		if (v > (LONG_MAX - d) / 10)
			return UG_EMALFORMED;
		v = v * 10 + d;
	}
	*value = negative ? -v : v;
	return UG_OK;
}

bool
ug_strlcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);
	if (len >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return false;
	}
	memcpy(dst, src, len + 1);
	return true;
}

bool
ug_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	while (p < end) {
		unsigned c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		size_t n;
		unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
		if (c >= 0xC2 && c <= 0xDF) {
			n = 2;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 3;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 4;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return false;
		}
		if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
			return false;
		for (size_t i = 2; i < n; i++)
			if ((p[i] & 0xC0) != 0x80)
				return false;
		p += n;
	}
	return true;
}

size_t
ug_utf8_scrub(char *s)
{
	size_t replaced = 0, len = strlen(s);
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		if (i + n <= len && ug_utf8_valid(s + i, n)) {
			i += n;
			continue;
		}
		s[i++] = '?';
		replaced++;
	}
	return replaced;
}

void
ug_text_one_line(char *s)
{
	/* A client may split lines wherever Unicode does (U+0085 NEL,
	 * U+2028, U+2029 included), so each of those becomes one space too;
	 * the text only gets shorter, never longer than its cut. */
	unsigned char *out = (unsigned char *)s;
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = 0;
		if (*p < 0x20 || *p == 0x7F)
			n = 1;
		else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			n = 2;
		else if (p[0] == 0xE2 && p[1] == 0x80 &&
			 (p[2] == 0xA8 || p[2] == 0xA9))
			n = 3;
		if (n) {
			*out++ = ' ';
			p += n;
		} else {
			*out++ = *p++;
		}
	}
	*out = '\0';
}

/* The length of the unseen character (ug_text_unseen) at p, or 0. */
static size_t
unseen_char(const unsigned char *p)
{
	if (*p <= 0x20 || *p == 0x7F)
		return 1;
	/* U+0080-U+00A0: the C1 controls and the non-breaking space; and
	 * U+00AD, the soft hyphen, shown only where a line breaks at it. */
	if (p[0] == 0xC2 && ((p[1] >= 0x80 && p[1] <= 0xA0) || p[1] == 0xAD))
		return 2;
	if ((p[0] & 0xF0) != 0xE0 || (p[1] & 0xC0) != 0x80 ||
	    (p[2] & 0xC0) != 0x80)
		return 0;
	uint32_t c = (uint32_t)(p[0] & 0x0F) << 12 |
		     (uint32_t)(p[1] & 0x3F) << 6 | (uint32_t)(p[2] & 0x3F);
	/* Spaces, and the format characters that show nothing: zero-width
	 * ones, direction marks and embeddings, the word joiner and the
	 * invisible operators, the byte order mark. */
	return c == 0x1680 || c == 0x180E || (c >= 0x2000 && c <= 0x200F) ||
		       (c >= 0x2028 && c <= 0x202F) || c == 0x205F ||
		       (c >= 0x2060 && c <= 0x2064) ||
		       (c >= 0x2066 && c <= 0x2069) || c == 0x3000 ||
		       c == 0xFEFF
		   ? 3
		   : 0;
}

bool
ug_text_unseen(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		size_t n = unseen_char(p);
		if (!n)
			return false;
		p += n;
	}
	return true;
}

static bool
blank_at(const char *p, size_t avail, size_t *width)
{
	if (avail >= 1 && (p[0] == ' ' || p[0] == '\t')) {
		*width = 1;
		return true;
	}
	if (avail >= 2 && (unsigned char)p[0] == 0xC2 &&
	    (unsigned char)p[1] == 0xA0) {
		*width = 2;
		return true;
	}
	return false;
}

size_t
ug_value_trim(const char *v, size_t len, size_t *lead)
{
	size_t from = 0, w;
	while (blank_at(v + from, len - from, &w))
		from += w;
	/* 0xC2 only ever leads a sequence, so C2 A0 at the end is one. */
	for (;;) {
		if (len > from && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		else if (len - from >= 2 &&
			 (unsigned char)v[len - 2] == 0xC2 &&
			 (unsigned char)v[len - 1] == 0xA0)
			len -= 2;
		else
			break;
	}
	*lead = from;
	return len - from;
}

size_t
ug_utf8_trim_tail(char *s)
{
	size_t len = strlen(s);
	/* A sequence is at most 4 bytes: its lead byte is among the last 4. */
	size_t back = 0;
	while (back < len && back < 4 &&
	       ((unsigned char)s[len - 1 - back] & 0xC0) == 0x80)
		back++;
	if (back == len) {
		/* Only continuation bytes (or nothing): no lead to judge by.
		 */
		return len;
	}
	unsigned char lead = (unsigned char)s[len - 1 - back];
	size_t need = lead >= 0xF0   ? 4
		      : lead >= 0xE0 ? 3
		      : lead >= 0xC0 ? 2
				     : 1;
	if (lead >= 0x80 && back + 1 < need) {
		len -= back + 1;
		s[len] = '\0';
	}
	return len;
}

/* Windows-1252's 0x80-0x9F; 0 where it defines none. */
static const uint16_t cp1252_c1[32] = {
    0x20AC, 0,	    0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,	    0x017D, 0,
    0,	    0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,	    0x017E, 0x0178};

uint32_t
ug_cp1252_char(unsigned char byte)
{
	return byte >= 0x80 && byte < 0xA0 ? cp1252_c1[byte - 0x80] : byte;
}

size_t
ug_utf8_put(uint32_t cp, char out[3])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	out[0] = (char)(0xE0 | cp >> 12);
	out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[2] = (char)(0x80 | (cp & 0x3F));
	return 3;
}

void
ug_utf8_from_cp1252(char *text, size_t cap)
{
	size_t len = strlen(text);
	if (cap == 0 || ug_utf8_valid(text, len))
		return;
	char *in = strdup(text);
	if (!in) {
		/* Without room to convert, no byte that is not UTF-8 stays. */
		for (unsigned char *p = (unsigned char *)text; *p; p++)
			if (*p >= 0x80)
				*p = '?';
		return;
	}
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)in[i];
		char buf[4];
		size_t used = 1, put = 0;
		size_t seq = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
		if (c < 0x80) {
			buf[put++] = (char)c;
		} else if (seq > 1 && i + seq <= len &&
			   ug_utf8_valid(in + i, seq)) {
			memcpy(buf, in + i, seq);
			used = put = seq;
		} else {
			uint32_t cp = ug_cp1252_char(c);
			if (cp == 0)
				buf[put++] = '?';
			else
				put = ug_utf8_put(cp, buf);
		}
		if (n + put >= cap)
			break;
		memcpy(text + n, buf, put);
		n += put;
		i += used;
	}
	text[n] = '\0';
	/* Log text is converted before it is masked. */
	sodium_memzero(in, len);
	free(in);
}

int
ug_mkdir_p(const char *path)
{
	char buf[1024];
	if (!ug_strlcpy(buf, path, sizeof buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

void
ug_unblock_stop_signals(void)
{
	sigset_t ours;
	sigemptyset(&ours);
	sigaddset(&ours, SIGTERM);
	sigaddset(&ours, SIGINT);
	sigaddset(&ours, SIGHUP);
	sigaddset(&ours, SIGCHLD);
	sigprocmask(SIG_UNBLOCK, &ours, NULL);
}

void
ug_hold_std_streams(void)
{
	/* In order: open takes the lowest free number, the one closed. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) == -1 && errno == EBADF)
			(void)open("/dev/null", fd == 0 ? O_WRONLY : O_RDONLY);
}

const char *
ug_dir_sep(const char *dir)
{
	size_t n = strlen(dir);
	return n && dir[n - 1] == '/' ? "" : "/";
}

/* An unnamed file in FILE's directory, or -1 (errno EOPNOTSUPP, EISDIR
 * or EINVAL where the file system cannot make one). */
int
ug_open_unnamed(const char *path)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if (slash == path)
		snprintf(dir, sizeof dir, "/");
	else if ((size_t)(slash - path) >= sizeof dir) {
		errno = ENAMETOOLONG;
		return -1;
	} else
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
	return open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
}

/* Give the unnamed file fd a new name FILE.XXXXXX in tmp (linkat never
 * replaces a name, so a taken one is tried again with another). */
bool
ug_name_unnamed(int fd, const char *path, char *tmp, size_t tmp_size)
{
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
	char proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	for (int tries = 0; tries < 100; tries++) {
		unsigned char r[6];
		randombytes_buf(r, sizeof r);
		char suffix[7];
		for (size_t i = 0; i < sizeof r; i++)
			suffix[i] = abc[r[i] % (sizeof abc - 1)];
		suffix[6] = '\0';
		if ((size_t)snprintf(tmp, tmp_size, "%s.%s", path, suffix) >=
		    tmp_size) {
			errno = ENAMETOOLONG;
			return false;
		}
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) ==
		    0)
			return true;
		/* No /proc (a bare chroot): root may link the descriptor
		 * itself. */
		if (errno == ENOENT) {
			if (linkat(fd, "", AT_FDCWD, tmp, AT_EMPTY_PATH) == 0)
				return true;
			if (errno != EEXIST)
				errno = ENOENT;
		}
		if (errno != EEXIST)
			return false;
	}
	return false;
}
