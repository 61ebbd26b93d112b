/*
 * common/util: calendar dates (days since 1970-01-01), CPR normalising and
 * hex. Expected day numbers were computed independently (Python's
 * datetime), so a shared mistake cannot make both sides agree.
 */
#include "common/util.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/assignment_file.h"
#include "common/log.h"
#include "tests/unit/check.h"

static void
test_date_known_values(void)
{
	static const struct {
		const char *text;
		int32_t days;
		int weekday; /* 0 = Monday */
	} known[] = {
	    {"1970-01-01", 0, 3},      {"1969-12-31", -1, 2},
	    {"2000-01-01", 10957, 5},  {"2000-03-01", 11017, 2},
	    {"2024-01-01", 19723, 0},  {"2024-02-29", 19782, 3},
	    {"1900-01-01", -25567, 0}, {"2199-12-31", 84005, 1},
	};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
		int32_t days = 12345678;
		CHECK_OK(ug_date_parse(known[i].text, &days));
		CHECK_EQ_INT(days, known[i].days);
		CHECK_EQ_INT(ug_days_from_civil(atoi(known[i].text),
						atoi(known[i].text + 5),
						atoi(known[i].text + 8)),
			     known[i].days);
		CHECK_EQ_INT(ug_weekday(days), known[i].weekday);
		char out[11];
		ug_date_format(days, out);
		CHECK_EQ_STR(out, known[i].text);
	}
}

static void
test_date_round_trip(void)
{
	/* Every day of the accepted range parses back to itself. */
	int32_t first, last;
	CHECK_OK(ug_date_parse("1900-01-01", &first));
	CHECK_OK(ug_date_parse("2199-12-31", &last));
	long count = 0;
	for (int32_t d = first; d <= last; d++) {
		char text[11];
		int32_t back = INT32_MIN;
		ug_date_format(d, text);
		CHECK_OK(ug_date_parse(text, &back));
		CHECK_EQ_INT(back, d);
		/* Consecutive days step the weekday by exactly one. */
		CHECK_EQ_INT(ug_weekday(d + 1), (ug_weekday(d) + 1) % 7);
		count++;
	}
	CHECK_EQ_INT(count, 109573); /* 300 years, 73 leap days */
}

static void
test_date_leap_years(void)
{
	int32_t days;
	CHECK_OK(ug_date_parse("2000-02-29", &days)); /* divisible by 400 */
	CHECK_OK(ug_date_parse("2024-02-29", &days));
	CHECK_OK(ug_date_parse("1904-02-29", &days));
	CHECK_ERR(ug_date_parse("1900-02-29", &days), UG_EMALFORMED);
	CHECK_ERR(ug_date_parse("2100-02-29", &days), UG_EMALFORMED);
	CHECK_ERR(ug_date_parse("2023-02-29", &days), UG_EMALFORMED);
	CHECK_ERR(ug_date_parse("2024-02-30", &days), UG_EMALFORMED);
	int32_t feb28, mar1;
	CHECK_OK(ug_date_parse("2024-02-28", &feb28));
	CHECK_OK(ug_date_parse("2024-03-01", &mar1));
	CHECK_EQ_INT(mar1 - feb28, 2);
	CHECK_OK(ug_date_parse("2023-02-28", &feb28));
	CHECK_OK(ug_date_parse("2023-03-01", &mar1));
	CHECK_EQ_INT(mar1 - feb28, 1);
}

static void
test_date_invalid(void)
{
	static const char *const bad[] = {
	    "",		  "2024-1-01",	 "2024-01-1",	"24-01-01",
	    "2024-13-01", "2024-00-10",	 "2024-04-31",	"2024-06-00",
	    "2024/01/01", "2024-01-01x", " 2024-01-01", "abcd-ef-gh",
	    "1899-12-31", "2200-01-01",	 "2024-0a-01",	"2024-01-32",
	    "+024-01-01", "2024--1-01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int32_t days = 777;
		ug_err err = ug_date_parse(bad[i], &days);
		if (err != UG_EMALFORMED)
			FAIL("ug_date_parse(\"%s\"): expected malformed, got "
			     "%s",
			     bad[i], ug_strerror(err));
		CHECK_EQ_INT(days, 777); /* untouched on failure */
	}
	/* _n reads exactly len bytes: a date followed by more text is fine
	 * when len says where it ends, and a short len is not a date. */
	int32_t days;
	CHECK_OK(ug_date_parse_n("2024-05-17;rest", 10, &days));
	CHECK_EQ_INT(days, ug_days_from_civil(2024, 5, 17));
	CHECK_ERR(ug_date_parse_n("2024-05-17", 9, &days), UG_EMALFORMED);
}

static void
test_cpr_normalize(void)
{
	char out[11];
	CHECK_OK(ug_cpr_parse("010203-1234", 11, out, NULL));
	CHECK_EQ_STR(out, "0102031234");
	memset(out, 'x', sizeof out);
	CHECK_OK(ug_cpr_parse("0102031234", 10, out, NULL));
	CHECK_EQ_STR(out, "0102031234");
	/* Only len bytes are read. */
	CHECK_OK(ug_cpr_parse("3112991234;school", 10, out, NULL));
	CHECK_EQ_STR(out, "3112991234");
	/* A blank for the dash, as hand-typed sheets write it. */
	CHECK_OK(ug_cpr_parse("010203 1234", 11, out, NULL));
	CHECK_EQ_STR(out, "0102031234");
	/* No modulus-11 check: serials issued since 2007 need not pass it. */
	CHECK_OK(ug_cpr_parse("0101001111", 10, out, NULL));
	CHECK_EQ_STR(out, "0101001111");
}

static void
test_cpr_invalid_dates(void)
{
	char out[11];
	/* 29 February is checked in the century the serial's first digit
	 * gives: 290200 with 0-3 is 1900, not a leap year; with 4-9 it is
	 * 2000, one. 290201 is never a date. */
	CHECK_ERR(ug_cpr_parse("290200-1234", 11, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("2902000234", 10, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("2902003234", 10, out, NULL), UG_EMALFORMED);
	CHECK_OK(ug_cpr_parse("290200-4234", 11, out, NULL));
	CHECK_EQ_STR(out, "2902004234");
	CHECK_OK(ug_cpr_parse("2902005234", 10, out, NULL));
	CHECK_OK(ug_cpr_parse("2902009234", 10, out, NULL));
	CHECK_OK(ug_cpr_parse("2902041234", 10, out, NULL));
	CHECK_ERR(ug_cpr_parse("290201-1234", 11, out, NULL), UG_EMALFORMED);
	/* 1896 (digit 5-8, YY > 57) is a leap year, 1900 never, 2036 (digit
	 * 4, YY <= 36) one, 1940 (digit 4, YY > 36) one, 1937 none. */
	CHECK_OK(ug_cpr_parse("2902965234", 10, out, NULL));
	CHECK_OK(ug_cpr_parse("2902364234", 10, out, NULL));
	CHECK_OK(ug_cpr_parse("2902404234", 10, out, NULL));
	CHECK_ERR(ug_cpr_parse("2902374234", 10, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("2902991234", 10, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("310299-1234", 11, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("300200-1234", 11, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("310400-1234", 11, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("3204001234", 10, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("0001001234", 10, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("0100001234", 10, out, NULL), UG_EMALFORMED);
	CHECK_ERR(ug_cpr_parse("0113001234", 10, out, NULL), UG_EMALFORMED);
}

/* The century table of the CPR office, as ug_cpr_birth reads it. */
static void
test_cpr_birth_century(void)
{
	static const struct {
		const char *cpr;
		int year;
	} cases[] = {
	    {"0101000000", 1900}, {"0101993999", 1999}, {"0101364000", 2036},
	    {"0101374000", 1937}, {"0101369000", 2036}, {"0101379999", 1937},
	    {"0101575000", 2057}, {"0101585000", 1858}, {"0101578999", 2057},
	    {"0101998999", 1899},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int32_t want = ug_days_from_civil(cases[i].year, 1, 1);
		if (ug_cpr_birth(cases[i].cpr) != want)
			FAIL("%s: expected born %d-01-01", cases[i].cpr,
			     cases[i].year);
	}
	CHECK_EQ_INT(ug_cpr_birth("290200-1234"), UG_NO_BIRTH);
	CHECK_EQ_INT(ug_cpr_birth(NULL), UG_NO_BIRTH);
	/* Day 0 is a birth date like any other. */
	CHECK_EQ_INT(ug_cpr_birth("0101701234"), 0);
}

static void
test_parse_bool(void)
{
	bool v = false;
	CHECK_OK(ug_parse_bool("Yes", &v));
	CHECK(v);
	CHECK_OK(ug_parse_bool("OFF", &v));
	CHECK(!v);
	v = true;
	CHECK_ERR(ug_parse_bool("ja", &v), UG_EMALFORMED);
	CHECK_ERR(ug_parse_bool("", &v), UG_EMALFORMED);
	CHECK(v);
}

static void
test_log_parse_level(void)
{
	CHECK_EQ_INT(ug_log_parse_level("debug"), UG_LOG_DEBUG);
	CHECK_EQ_INT(ug_log_parse_level("DEBUG"), UG_LOG_DEBUG);
	CHECK_EQ_INT(ug_log_parse_level("Info"), UG_LOG_INFO);
	CHECK_EQ_INT(ug_log_parse_level("eRR"), UG_LOG_ERR);
	CHECK_EQ_INT(ug_log_parse_level("loud"), -1);
	CHECK_EQ_INT(ug_log_parse_level(""), -1);
	CHECK_EQ_INT(ug_log_parse_level("debugx"), -1);
}

static void
test_cpr_invalid_forms(void)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
	    {"010203123", 9},	  {"01020312345", 11},
	    {"010203  234", 11},  {"0102031234 ", 11},
	    {"01020a1234", 10},	  {"010203-123a", 11},
	    {"010203-12345", 12}, {"", 0},
	    {"-010203123", 10},	  {"0102-031234", 11},
	    {"+102031234", 10},	  {"0102031-234", 11},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char out[11] = "untouched!";
		ug_err err = ug_cpr_parse(bad[i].text, bad[i].len, out, NULL);
		if (err != UG_EMALFORMED)
			FAIL("ug_cpr_parse(\"%s\", %zu): expected malformed, "
			     "got %s",
			     bad[i].text, bad[i].len, ug_strerror(err));
		CHECK_EQ_STR(out, "untouched!");
	}
}

static void
test_hex(void)
{
	const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	char text[2 * sizeof bytes + 1];
	ug_hex(bytes, sizeof bytes, text);
	CHECK_EQ_STR(text, "00017f80abff");
	uint8_t back[sizeof bytes] = {0};
	CHECK_OK(ug_unhex(text, back, sizeof back));
	CHECK_EQ_MEM(back, bytes, sizeof bytes);
	CHECK_OK(ug_unhex("00017F80ABFF", back, sizeof back));
	CHECK_EQ_MEM(back, bytes, sizeof bytes);
	CHECK_ERR(ug_unhex("00017f80abf", back, sizeof back), UG_EMALFORMED);
	CHECK_ERR(ug_unhex("00017f80abfff0", back, sizeof back),
		  UG_EMALFORMED);
	CHECK_ERR(ug_unhex("00017f80abfg", back, sizeof back), UG_EMALFORMED);
	CHECK_ERR(ug_unhex(" 0017f80abff", back, sizeof back), UG_EMALFORMED);
	ug_hex(bytes, 0, text);
	CHECK_EQ_STR(text, "");
}

static void
test_parse_long(void)
{
	long v = 7;
	CHECK_OK(ug_parse_long("0", 1, &v));
	CHECK_EQ_INT(v, 0);
	CHECK_OK(ug_parse_long("-42", 3, &v));
	CHECK_EQ_INT(v, -42);
	CHECK_OK(ug_parse_long("123456789012345678", 18, &v));
	CHECK_EQ_INT(v, 123456789012345678L);
	/* The whole range of a long, as "from 0 to LONG_MAX" promises;
	 * leading zeros do not count against it. */
	CHECK_OK(ug_parse_long("9223372036854775807", 19, &v));
	CHECK_EQ_INT(v, LONG_MAX);
	CHECK_OK(ug_parse_long("-9223372036854775807", 20, &v));
	CHECK_EQ_INT(v, -LONG_MAX);
	CHECK_OK(ug_parse_long("0000000000000000000000042", 25, &v));
	CHECK_EQ_INT(v, 42);
	/* Only the first len bytes count. */
	CHECK_OK(ug_parse_long("15,x", 2, &v));
	CHECK_EQ_INT(v, 15);
	/* Every other spelling strtol would take, and a value beyond a long
	 * (or LONG_MIN), is refused, v untouched. */
	const char *bad[] = {"",
			     "-",
			     "+5",
			     " 5",
			     "5 ",
			     "0x10",
			     "1e3",
			     "5.0",
			     "--5",
			     "9223372036854775808",
			     "-9223372036854775808",
			     "99999999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		v = 7;
		CHECK_ERR(ug_parse_long(bad[i], strlen(bad[i]), &v),
			  UG_EMALFORMED);
		CHECK_EQ_INT(v, 7);
	}
}

static void
test_strlcpy(void)
{
	char buf[6];
	CHECK(ug_strlcpy(buf, "hello", sizeof buf));
	CHECK_EQ_STR(buf, "hello");
	CHECK(!ug_strlcpy(buf, "hello!", sizeof buf));
	CHECK_EQ_STR(buf, "hello");
	CHECK(ug_strlcpy(buf, "", sizeof buf));
	CHECK_EQ_STR(buf, "");
}

/* What says nothing: white space and invisible characters of every
 * kind; one visible character, or a byte that is not UTF-8, says
 * something. */
static void
test_text_unseen(void)
{
	static const char *const unseen[] = {
	    "", "   ", " \t\r\n", "\v\f\x1f\x7f", "\xc2\x85", "\xc2\xa0",
	    "\xe2\x80\x83", "\xe3\x80\x80", "\xe2\x80\x8b", "\xe2\x80\xa8",
	    "\xe2\x80\xaf", "\xef\xbb\xbf",
	    "\xe1\x9a\x80 \xe2\x81\x9f\xe2\x81\xa0",
	    /* format characters alone: soft hyphen, ZWNJ, ZWJ, LRM, RLO,
	     * word joiner, invisible plus, an isolate, U+180E */
	    "\xc2\xad",
	    "\xc2\xad \xe2\x80\x8c\xe2\x80\x8d\xe2\x80\x8e\xe2\x80\xae",
	    "\xe2\x81\xa0\xe2\x81\xa4\xe2\x81\xa6\xe2\x81\xa9\xe1\xa0\x8e"};
	static const char *const seen[] = {
	    "x", " phone ", "\xc2\xa0.", "\xc3\xa6", "\xe2\x80\x90", "\x80",
	    "\xc2", "\xe2\x80", "\xff", "\xc2\xadx",
	    /* U+00AC, U+00AE, U+2065 (unassigned), U+206A */
	    "\xc2\xac", "\xc2\xae", "\xe2\x81\xa5", "\xe2\x81\xaa"};
	for (size_t i = 0; i < sizeof unseen / sizeof *unseen; i++)
		CHECK(ug_text_unseen(unseen[i]));
	for (size_t i = 0; i < sizeof seen / sizeof *seen; i++)
		CHECK(!ug_text_unseen(seen[i]));
}

/* A text the hub composes is one line by Unicode's line breaks too
 * (PROTOCOL.md §2); what is no break, U+00A0 and U+2029's neighbours
 * included, is kept as it is. */
static void
test_text_one_line(void)
{
	char text[] = "a\tb\nc\x7f"
		      "d\xc2\x85"
		      "e\xc2\x9f"
		      "f\xe2\x80\xa8"
		      "g\xe2\x80\xa9"
		      "h\xc2\xa0"
		      "i\xe2\x80\xaa"
		      "j\xc3\xa6";
	ug_text_one_line(text);
	CHECK_EQ_STR(text, "a b c d e f g h\xc2\xa0i\xe2\x80\xaaj\xc3\xa6");
}

/* What a client may connect to: the forms OPERATIONS.md gives for the
 * adapters' hub and inbox's and webd's delivery, and no near miss. */
static void
test_endpoint(void)
{
	static const char *const good[] = {
	    "tcp://127.0.0.1:7601",	"tcp://hub.kommune.local:7602",
	    "tcp://[2001:db8::7]:7601", "tcp://h:1",
	    "tcp://3com.example:7601",	"tcp://h:65535",
	    "ipc:///run/ungebro/hub"};
	static const char *const bad[] = {"",
					  "bogus",
					  "127.0.0.1:7601",
					  "tcp://127.0.0.1",
					  "tcp://:7601",
					  "tcp://h:0",
					  "tcp://h:65536",
					  "tcp://h:99999999999",
					  "tcp://h:76a",
					  "tcp://h/x:7601",
					  "tcp://[::1:7601",
					  "tcp://*:7601",
					  "tcp://::1:7601",
					  "tcp://[]:7601",
					  "tcp://-hub:7601",
					  "tcp://.hub:7601",
					  "tcp://10.0.0.1.5:7601",
					  "tcp://256.0.0.1:7601",
					  "tcp://[hub]:7601",
					  "tcp://h;b:7601",
					  "ipc://",
					  "http://h:80"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++)
		CHECK(ug_endpoint_valid(good[i]));
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		CHECK(!ug_endpoint_valid(bad[i]));
	/* An ipc PATH is a Unix socket's name: at most 107 bytes. */
	char ipc[6 + 109];
	memcpy(ipc, "ipc://", 6);
	memset(ipc + 6, 'a', 108);
	ipc[6] = '/';
	ipc[6 + 107] = '\0';
	CHECK(ug_endpoint_valid(ipc));
	ipc[6 + 107] = 'a';
	ipc[6 + 108] = '\0';
	CHECK(!ug_endpoint_valid(ipc));
}

static void
test_clock(void)
{
	/* Sanity, not speed: the wall clock is after 2024-01-01 and today
	 * agrees with it; the monotonic clock never goes back. */
	int64_t now = ug_now_ms();
	CHECK(now > (int64_t)19723 * UG_DAY_MS);
	CHECK(ug_today() >= 19723);
	CHECK(ug_today() <= (int32_t)(ug_now_ms() / UG_DAY_MS));
	int64_t a = ug_mono_ms(), b = ug_mono_ms();
	CHECK(b >= a);
}

/* A test's clock file: the forms OPERATIONS.md gives, and nothing that
 * only looks like one (hubd refuses those at start). */
static void
test_clock_file(void)
{
	char path[] = "/tmp/ug-clock-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	close(fd);
	static const struct {
		const char *text;
		int64_t ms; /* -1: refused */
	} cases[] = {
	    {"2026-01-05\n", 20458LL * UG_DAY_MS},
	    {"2026-01-05T08:30:15\n", 20458LL * UG_DAY_MS + 30615000},
	    {"2026-01-05T08:30\r\n", 20458LL * UG_DAY_MS + 30600000},
	    {"2026-01-05T23:59:59Z \n", 20458LL * UG_DAY_MS + 86399000},
	    /* Written by an editor that starts with a byte order mark, as
	     * a settings file may be. */
	    {"\xEF\xBB\xBF"
	     "2026-01-05\r\n",
	     20458LL * UG_DAY_MS},
	    {"\xEF\xBB\xBF", -1},
	    {"", -1},
	    {"2026-01-05T24:00:00", -1},
	    {"2026-01-05T08:60", -1},
	    {"2026-01-05T08:00:60", -1},
	    {"2026-01-05 08:00:00", -1},
	    {"2026-01-05T8:00:00", -1},
	    {"2026-01-05T08:00:00.5", -1},
	    {"2026-02-30", -1},
	    /* A part out of its range once overflowed into decades ahead. */
	    {"2026-01-05T00:99999999:00", -1},
	    {"2026-01-05T0:99999999", -1},
	    {"2026-01-05T-1:30", -1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL);
		fputs(cases[i].text, f);
		fclose(f);
		int64_t ms = 0;
		ug_diag diag = {0};
		ug_err err = ug_clock_file_read(path, &ms, &diag);
		if (cases[i].ms < 0) {
			CHECK_ERR(err, UG_EMALFORMED);
			CHECK(strstr(diag.reason, "does not hold a time") !=
			      NULL);
		} else {
			CHECK_OK(err);
			CHECK(ms == cases[i].ms);
		}
	}
	unlink(path);
	ug_diag diag = {0};
	int64_t ms;
	CHECK_ERR(ug_clock_file_read(path, &ms, &diag), UG_EIO);
	CHECK(strstr(diag.reason, "cannot be read: No such file") != NULL);
}

/* The one big-endian helper: known bytes for each width, signed day
 * numbers through their unsigned type, and keys that sort as numbers. */
static void
test_big_endian(void)
{
	uint8_t b[8];
	ug_put_be64(b, 0x0102030405060708ull);
	CHECK_EQ_MEM(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	CHECK(ug_get_be64(b) == 0x0102030405060708ull);
	memset(b, 0xEE, sizeof b);
	ug_put_be32(b, 0xA1B2C3D4u);
	CHECK_EQ_MEM(b, "\xA1\xB2\xC3\xD4\xEE", 5);
	CHECK(ug_get_be32(b) == 0xA1B2C3D4u);
	ug_put_be16(b, 0x0F10);
	CHECK_EQ_MEM(b, "\x0F\x10\xC3", 3);
	CHECK_EQ_INT(ug_get_be16(b), 0x0F10);
	/* A day before 1970 survives the round trip. */
	ug_put_be32(b, (uint32_t)(int32_t)-25567);
	CHECK_EQ_INT((int32_t)ug_get_be32(b), -25567);
	/* memcmp order is numeric order, as LMDB keys need. */
	uint8_t lo[8], hi[8];
	ug_put_be64(lo, 255);
	ug_put_be64(hi, 256);
	CHECK(memcmp(lo, hi, 8) < 0);
	/* The day constant. */
	CHECK_EQ_INT(UG_DAY_MS, 24 * 60 * 60 * 1000);
	CHECK_EQ_INT((int64_t)19723 * UG_DAY_MS / UG_DAY_MS, 19723);
}

/* Free text headed for the audit trail: each CPR standing alone loses its
 * digits, in every written form; digits that are not a CPR (a bad date, a
 * longer number, part of a hex id or a word) stay. */
static void
test_cpr_mask(void)
{
	char text[] = "ring 010203-1234, 0102031234 or 010203 1234; "
		      "not 310203-1234 12010203123456 ab0102031234 "
		      "0102031234cd 010203-12345";
	CHECK_EQ_INT(ug_cpr_mask(text), 3);
	CHECK_EQ_STR(text, "ring xxxxxx-xxxx, xxxxxxxxxx or xxxxxx xxxx; "
			   "not 310203-1234 12010203123456 ab0102031234 "
			   "0102031234cd 010203-12345");
	char whole[] = "0102031234";
	CHECK_EQ_INT(ug_cpr_mask(whole), 1);
	CHECK_EQ_STR(whole, "xxxxxxxxxx");
	char none[] = "000000000000000201 called";
	CHECK_EQ_INT(ug_cpr_mask(none), 0);
	CHECK_EQ_STR(none, "000000000000000201 called");
	CHECK_EQ_INT(ug_cpr_mask(NULL), 0);

	/* Pasted from a word processor or a web form: a dash of another
	 * kind, or a non-breaking space, between the halves (UTF-8). */
	char pasted[] = "en 010203\xe2\x80\x93"
			"1234, hyphen 010203\xe2\x80\x90"
			"1234, nb-hyphen 010203\xe2\x80\x91"
			"1234, minus 010203\xe2\x88\x92"
			"1234, nbsp 010203\xc2\xa0"
			"1234; not 310203\xe2\x80\x93"
			"1234 010203\xe2\x80\x93"
			"12345";
	CHECK_EQ_INT(ug_cpr_mask(pasted), 5);
	CHECK_EQ_STR(pasted, "en xxxxxx\xe2\x80\x93"
			     "xxxx, hyphen xxxxxx\xe2\x80\x90"
			     "xxxx, nb-hyphen xxxxxx\xe2\x80\x91"
			     "xxxx, minus xxxxxx\xe2\x88\x92"
			     "xxxx, nbsp xxxxxx\xc2\xa0"
			     "xxxx; not 310203\xe2\x80\x93"
			     "1234 010203\xe2\x80\x93"
			     "12345");
	/* A control character between the halves (a tab from a
	 * spreadsheet's cell), and the '?' a one-line log or message puts
	 * in its place, whichever of the two runs first. */
	char control[] = "tab 010203\t1234, lf 010203\n1234, shown "
			 "010203?1234; not 010203??1234";
	CHECK_EQ_INT(ug_cpr_mask(control), 3);
	CHECK_EQ_STR(control, "tab xxxxxx\txxxx, lf xxxxxx\nxxxx, shown "
			      "xxxxxx?xxxx; not 010203??1234");
	/* A C1 control character (U+0085 NEL) is one control character
	 * too, though two bytes of UTF-8; the audit trail keeps it. */
	char c1[] = "nel 010203\xc2\x85"
		    "1234 end";
	CHECK_EQ_INT(ug_cpr_mask(c1), 1);
	CHECK_EQ_STR(c1, "nel xxxxxx\xc2\x85"
			 "xxxx end");
	/* A byte that is not UTF-8 (a Windows-1252 dash in a file name)
	 * is shown as '?', and is one; a letter of UTF-8 is none. */
	char latin1[] = "file 010203\x96"
			"1234.csv; not 010203\xc3\xa6"
			"1234";
	CHECK_EQ_INT(ug_cpr_mask(latin1), 1);
	CHECK_EQ_STR(latin1, "file xxxxxx\x96"
			     "xxxx.csv; not 010203\xc3\xa6"
			     "1234");
	/* Cut short at the end of the text: nothing read past it. */
	char cut[] = "010203\xe2\x80";
	CHECK_EQ_INT(ug_cpr_mask(cut), 0);
}

static void
test_utf8_scrub(void)
{
	/* UTF-8 stays; Latin-1 letters, a stray continuation byte, an
	 * overlong form and a sequence cut at the end become '?'. */
	char s[] = "bk-\xc3\xa6\xc3\xb8 \xe6\xf8\xe5 \x80 \xc0\xaf \xe2\x80";
	CHECK_EQ_INT(ug_utf8_scrub(s), 8);
	CHECK(strcmp(s, "bk-\xc3\xa6\xc3\xb8 ??? ? ?? ??") == 0);
	CHECK(ug_utf8_valid(s, strlen(s)));
	char ok[] = "ok \xe2\x80\x93 \xf0\x9f\x99\x82";
	CHECK_EQ_INT(ug_utf8_scrub(ok), 0);
}

/* A log line quotes what a client sent (webd a URL): one line of UTF-8
 * whatever bytes it held, a CPR masked. */
static void
test_log_line_is_one_line_of_utf8(void)
{
	char path[] = "/tmp/ug-util-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	CHECK(saved >= 0 && dup2(fd, 2) == 2);
	ug_log_init("util_test", UG_LOG_INFO);
	log_warn("TEST-LOG", "POST /a\xd0\x0a\xe6"
			     "b 010203-4321 refused");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[512] = {0};
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	/* \xd0 and \xe6 read as Windows-1252, the line break as '?'. */
	CHECK(strstr(buf, "POST /a\xc3\x90?\xc3\xa6"
			  "b ") != NULL);
	CHECK(strstr(buf, "010203") == NULL);
	CHECK(strchr(buf, '\n') == buf + n - 1);
	CHECK(ug_utf8_valid(buf, (size_t)n));
}

/* A message longer than a log line is cut, but a CPR number across the
 * cut is masked first: no part of it is left in the line. */
static void
test_log_line_cut_after_masking(void)
{
	char path[] = "/tmp/ug-util-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	char pad[2100];
	fflush(stderr);
	int saved = dup(2);
	CHECK(saved >= 0 && dup2(fd, 2) == 2);
	ug_log_init("util_test", UG_LOG_INFO);
	/* Every cut from 2,000 to 2,040 bytes into the message. */
	for (size_t at = 1990; at < 2040; at++) {
		memset(pad, 'p', at);
		pad[at] = '\0';
		log_warn("T", "%s 010203-4321 end", pad);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	static char buf[200000];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	buf[n] = '\0';
	CHECK(strstr(buf, "0102") == NULL);
	CHECK(strstr(buf, "4321") == NULL);
	CHECK(strstr(buf, " 01") == NULL);
	CHECK(ug_utf8_valid(buf, (size_t)n));
}

/* OPERATIONS.md, Monitoring: a line holds at most 2,047 bytes with its
 * newline, a longer message cut at a whole character. Every offset of a
 * text of 2-, 3- and 4-byte characters, so one of them ends where the
 * line break goes. */
static void
test_log_line_cut_at_a_whole_character(void)
{
	char path[] = "/tmp/ug-util-log-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	static const char *const chars[] = {"\xc3\xb8", "\xe2\x80\x93",
					    "\xf0\x9f\x99\x82"};
	char text[2600];
	fflush(stderr);
	int saved = dup(2);
	CHECK(saved >= 0 && dup2(fd, 2) == 2);
	ug_log_init("util_test", UG_LOG_INFO);
	for (size_t c = 0; c < 3; c++) {
		for (size_t at = 0; at < 4; at++) {
			size_t n = 0, w = strlen(chars[c]);
			for (; n < at; n++)
				text[n] = 'p';
			while (n + w < sizeof text) {
				memcpy(text + n, chars[c], w);
				n += w;
			}
			text[n] = '\0';
			log_warn("T", "%s", text);
		}
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	static char buf[100000];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	CHECK(n > 0);
	buf[n] = '\0';
	int lines = 0;
	for (char *line = buf, *end; (end = strchr(line, '\n')) != NULL;
	     line = end + 1) {
		size_t len = (size_t)(end - line) + 1;
		CHECK(len <= 2047);
		CHECK(len >= 2047 - 4);
		CHECK(ug_utf8_valid(line, len));
		lines++;
	}
	CHECK_EQ_INT(lines, 12);
	CHECK(buf[n - 1] == '\n');
}

static void
test_utf8_from_cp1252(void)
{
	/* UTF-8 stays as it is. */
	char utf8[32] = "frav\xc3\xa6r.csv";
	ug_utf8_from_cp1252(utf8, sizeof utf8);
	CHECK_EQ_STR(utf8, "frav\xc3\xa6r.csv");
	/* Windows-1252's letters, its dash, and a byte it leaves out. */
	char cp[32] = "frav\xe6r \x96 \x81.csv";
	ug_utf8_from_cp1252(cp, sizeof cp);
	CHECK_EQ_STR(cp, "frav\xc3\xa6r \xe2\x80\x93 ?.csv");
	/* Out of room: cut at a whole character. */
	char small[7] = "ab\xe6\xf8\xe5";
	ug_utf8_from_cp1252(small, sizeof small);
	CHECK_EQ_STR(small, "ab\xc3\xa6\xc3\xb8");
}

/* The youth unit's file as both its readers take it: one parser. */
static void
test_assignment_file_words_and_dates(void)
{
	static const struct {
		const char *word;
		int role;
	} roles[] = {
	    {"contact", UG_ASSIGN_CONTACT},
	    {"Kontaktperson", UG_ASSIGN_CONTACT},
	    {"contact-person", UG_ASSIGN_CONTACT},
	    {"KONTAKT", UG_ASSIGN_CONTACT},
	    {"UU-vejleder", UG_ASSIGN_GUIDANCE},
	    {"uu vejleder", UG_ASSIGN_GUIDANCE},
	    {"vejledning", UG_ASSIGN_GUIDANCE},
	    {"Guidance counsellor", UG_ASSIGN_GUIDANCE},
	    {"Mentor", UG_ASSIGN_MENTOR},
	    {"coach", -1},
	    {"", -1},
	    {"mentor x", -1},
	    {"uuvejleder", -1},
	};
	for (size_t i = 0; i < sizeof roles / sizeof *roles; i++)
		CHECK_EQ_INT(ug_assign_role(roles[i].word), roles[i].role);
	char iso[11];
	static const char *const same[] = {"2026-08-01", "01-08-2026",
					   "01.08.2026"};
	for (size_t i = 0; i < 3; i++) {
		CHECK(ug_date_form_iso(same[i], iso));
		CHECK_EQ_STR(iso, "2026-08-01");
	}
	static const char *const none[] = {"01-08.2026", "2026.08.01",
					   "1-8-2026", "01/08/2026", ""};
	for (size_t i = 0; i < sizeof none / sizeof *none; i++)
		CHECK(!ug_date_form_iso(none[i], iso));
	CHECK(ug_date_no_end("9999-12-31") && ug_date_no_end("31-12-9999") &&
	      ug_date_no_end("31.12.9999"));
	CHECK(!ug_date_no_end("9999-12-30") && !ug_date_no_end(""));
}

/* "No end" is 9999-12-31 in one of the three date forms and nothing
 * else: a word match would take blanks, '_' and mixed separators, which
 * no other date may have, as the open end. */
static void
test_date_no_end_only_date_forms(void)
{
	static const char *const not_dates[] = {"9999 12 31",
						"9999_12_31",
						"31 12 9999",
						"31_12_9999",
						"31-12.9999",
						"9999-12_31",
						"\xc2\xa0"
						"9999-12-31",
						NULL};
	for (size_t i = 0; not_dates[i]; i++)
		if (ug_date_no_end(not_dates[i]))
			FAIL("'%s' read as no end", not_dates[i]);
	CHECK(!ug_date_no_end(NULL));
}

static void
test_value_trim_blanks_and_nbsp(void)
{
	/* Blanks and U+00A0 around a value go; inside, and any other
	 * character (U+202F, a lone 0xA0 byte), stay. */
	static const struct {
		const char *in, *out;
	} cases[] = {
	    {"150309-4321", "150309-4321"},
	    {" \t150309-4321\t ", "150309-4321"},
	    {"\xc2\xa0"
	     "150309-4321"
	     "\xc2\xa0",
	     "150309-4321"},
	    {" \xc2\xa0 \xc2\xa0"
	     "8b"
	     "\xc2\xa0\t\xc2\xa0 ",
	     "8b"},
	    {"Skole\xc2\xa0Nord\xc2\xa0", "Skole\xc2\xa0Nord"},
	    {"\xc2\xa0\xc2\xa0", ""},
	    {"", ""},
	    {"x\xe2\x80\xaf", "x\xe2\x80\xaf"},
	    {"x\xa0", "x\xa0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t lead = 99;
		size_t len =
		    ug_value_trim(cases[i].in, strlen(cases[i].in), &lead);
		char got[64];
		snprintf(got, sizeof got, "%.*s", (int)len,
			 cases[i].in + lead);
		CHECK_EQ_STR(got, cases[i].out);
	}
}

TEST_LIST = {
    {"value trim blanks and nbsp", test_value_trim_blanks_and_nbsp},
    {"assignment file words and dates", test_assignment_file_words_and_dates},
    {"date no end only date forms", test_date_no_end_only_date_forms},
    {"big endian", test_big_endian},
    {"date known values", test_date_known_values},
    {"date round trip", test_date_round_trip},
    {"date leap years", test_date_leap_years},
    {"date invalid", test_date_invalid},
    {"cpr normalize", test_cpr_normalize},
    {"cpr invalid dates", test_cpr_invalid_dates},
    {"cpr birth century", test_cpr_birth_century},
    {"parse bool", test_parse_bool},
    {"log parse level", test_log_parse_level},
    {"cpr invalid forms", test_cpr_invalid_forms},
    {"cpr mask", test_cpr_mask},
    {"utf8 scrub", test_utf8_scrub},
    {"log line is one line of utf8", test_log_line_is_one_line_of_utf8},
    {"log line cut after masking", test_log_line_cut_after_masking},
    {"log line cut at a whole character",
     test_log_line_cut_at_a_whole_character},
    {"hex", test_hex},
    {"parse long", test_parse_long},
    {"strlcpy", test_strlcpy},
    {"text unseen", test_text_unseen},
    {"text one line", test_text_one_line},
    {"endpoint", test_endpoint},
    {"clock", test_clock},
    {"clock file", test_clock_file},
    {"utf8 from cp1252", test_utf8_from_cp1252},
    {NULL, NULL},
};
