/*
 * adapters/encoding: what the scan decides for UTF-8 (with and without a
 * byte order mark), Windows-1252, Latin-1 and code page 850 ("CSV
 * (MS-DOS)") exports with æ ø å, UTF-16,
 * binary and empty files, and mixed files; sequences split across feeds;
 * conversion to UTF-8; and the converting stream.
 */
#include "adapters/encoding.h"

#include "tests/unit/check.h"

/* Scan text fed in pieces of `step` bytes (0: all at once). */
static enc_scan
scan_of(const char *text, size_t len, size_t step)
{
	enc_scan s;
	enc_scan_init(&s);
	if (!step)
		step = len ? len : 1;
	for (size_t at = 0; at < len; at += step)
		enc_scan_feed(&s, (const uint8_t *)text + at,
			      len - at < step ? len - at : step);
	enc_scan_end(&s);
	return s;
}

static ug_err
decide(const char *text, size_t len, enc_kind want, enc_kind *got, ug_diag *d)
{
	memset(d, 0, sizeof *d);
	enc_scan s = scan_of(text, len, 0);
	return enc_decide(&s, want, got, d);
}

#define DECIDE(text, want, got, d) decide(text, sizeof text - 1, want, got, d)

static const char utf8[] = "cpr;skole\n150309-4321;\xC3\x86"
			   "bel\xC3\xB8"
			   "\n";
static const char cp1252[] = "cpr;skole\r\n150309-4321;\xC6"
			     "bel\xF8 \x80\r\n";
static const char latin1[] = "cpr;skole\n150309-4321;H\xE5"
			     "b\n";

static void
test_decide(void)
{
	enc_kind k;
	ug_diag d;
	CHECK_OK(DECIDE(utf8, ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	CHECK_OK(DECIDE("\xEF\xBB\xBF"
			"a;b\n1;2\n",
			ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	CHECK_OK(DECIDE("a;b\n1;2\n", ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	CHECK_OK(DECIDE(cp1252, ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP1252);
	CHECK_OK(DECIDE(latin1, ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP1252); /* the same letters */
	/* Asked for, it is what is used. */
	CHECK_OK(DECIDE(utf8, ENC_LATIN1, &k, &d));
	CHECK_EQ_INT(k, ENC_LATIN1);
	/* UTF-8 with one pasted Windows-1252 row: UTF-8, the row is bad. */
	CHECK_OK(DECIDE("a;b\n\xC3\xA6;1\n\xE6;2\n", ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	/* Bytes Windows-1252 leaves undefined: not Windows-1252. */
	CHECK_OK(DECIDE("a;b\n\x81;1\n", ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
}

/* Excel's "CSV (MS-DOS)": æ ø å Æ Ø Å are 91 9B 86 92 9D 8F. */
static void
test_decide_cp850(void)
{
	enc_kind k;
	ug_diag d;
	/* "Fravær;Skole" / "Søholt Skole;Åbjerg" / "på" / "Ærø". */
	CHECK_OK(DECIDE("Frav\x91r;Skole\r\nS\x9Bholt Skole;\x8F"
			"bjerg\r\np\x86;\x92r\x9B\r\n",
			ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP850);
	/* Only lower case: every byte is Windows-1252's too (‘ › †), but
	 * beside letters they are words. */
	CHECK_OK(DECIDE("frav\x91r;s\x9Bholt;p\x86\n", ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP850);
	/* Windows-1252 quotes around words, an apostrophe and a dagger on
	 * their own: Windows-1252. */
	CHECK_OK(DECIDE("navn;note\n\x91"
			"Anna\x92;O\x92"
			"Brien \x86\n",
			ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP1252);
	/* A Windows-1252 Danish file with a quoted word: its own letters
	 * outnumber the rest. */
	CHECK_OK(DECIDE(cp1252, ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP1252);
	CHECK_OK(DECIDE("frav\xE6r;note\nS\xF8holt;\x91godt\x92 p\xE5\n",
			ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP1252);
	/* UTF-8 stays UTF-8; a control byte keeps it from being text. */
	CHECK_OK(DECIDE(utf8, ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	char odd[1024];
	memset(odd, 'a', sizeof odd);
	memcpy(odd, "frav\x91r;", 7);
	odd[sizeof odd - 2] = 0x01; /* past the head's 512 bytes */
	CHECK_OK(decide(odd, sizeof odd, ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	/* Asked for, it is what is used; a byte order mark still wins. */
	CHECK_OK(DECIDE(cp1252, ENC_CP850, &k, &d));
	CHECK_EQ_INT(k, ENC_CP850);
	CHECK_OK(DECIDE("\xEF\xBB\xBF"
			"frav\x91r\n",
			ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_UTF8);
	/* A letter's neighbours are seen across feeds. */
	static const char dos[] = "Frav\x91r;S\x9Bholt\n";
	for (size_t step = 0; step < 3; step++) {
		enc_scan one = scan_of(dos, sizeof dos - 1, step);
		CHECK_EQ_INT(one.cp850_letters, 2);
		CHECK_EQ_INT(one.cp1252_letters, 0);
	}
	/* The last byte of the file is judged too. */
	CHECK_OK(DECIDE("a;s\x9B", ENC_AUTO, &k, &d));
	CHECK_EQ_INT(k, ENC_CP850);
}

static void
test_whole_file_errors(void)
{
	enc_kind k;
	ug_diag d;
	CHECK_ERR(DECIDE("\xFF\xFE"
			 "c\0p\0r\0",
			 ENC_AUTO, &k, &d),
		  UG_EMALFORMED);
	CHECK(strstr(d.reason, "wrong encoding: the file is UTF-16"));
	CHECK_EQ_STR(d.field, "encoding");
	CHECK_ERR(DECIDE("\xFE\xFF\0c\0p", ENC_AUTO, &k, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "UTF-16"));
	/* UTF-16 without a byte order mark: NUL in every other byte. */
	CHECK_ERR(DECIDE("c\0p\0r\0;\0s\0k\0o\0l\0e\0\n\0", ENC_AUTO, &k, &d),
		  UG_EMALFORMED);
	CHECK(strstr(d.reason, "UTF-16"));
	/* Even if the operator said UTF-8. */
	CHECK_ERR(DECIDE("\xFF\xFE"
			 "c\0p\0",
			 ENC_UTF8, &k, &d),
		  UG_EMALFORMED);
	/* A zip file (an .xlsx) and a file with NUL bytes: binary. */
	CHECK_ERR(
	    DECIDE("PK\x03\x04\x14\0\x06\0\x08\0\0\0!\0", ENC_AUTO, &k, &d),
	    UG_EMALFORMED);
	CHECK(strstr(d.reason, "wrong encoding: the file is not text"));
	CHECK_ERR(DECIDE("cpr;skole\n1;\0\n", ENC_AUTO, &k, &d),
		  UG_EMALFORMED);
	/* Empty, or nothing but blanks, line breaks and a BOM. */
	CHECK_ERR(DECIDE("", ENC_AUTO, &k, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "the file is empty"));
	CHECK_ERR(DECIDE("\xEF\xBB\xBF\r\n \n", ENC_AUTO, &k, &d),
		  UG_EMALFORMED);
	CHECK(strstr(d.reason, "empty"));
	/* Two bytes of a BOM are not a BOM, and not blank. */
	CHECK(DECIDE("\xEF\xBB", ENC_AUTO, &k, &d) == UG_OK);
}

static void
test_split_sequences(void)
{
	/* Fed a byte at a time, the verdict is the same. */
	enc_scan all = scan_of(utf8, sizeof utf8 - 1, 0);
	enc_scan one = scan_of(utf8, sizeof utf8 - 1, 1);
	CHECK_EQ_INT(all.utf8_bad, 0);
	CHECK_EQ_INT(one.utf8_bad, 0);
	CHECK_EQ_INT(one.utf8_multi, 2);
	enc_scan cp = scan_of(cp1252, sizeof cp1252 - 1, 1);
	CHECK_EQ_INT(cp.utf8_multi, 0);
	CHECK_EQ_INT(cp.utf8_bad, 3);
	CHECK_EQ_INT(cp.first_bad_line, 2);
	CHECK_EQ_INT(cp.cp1252_bad, 0);
	/* A sequence cut by the end of the file is bad. */
	enc_scan cut = scan_of("ab\xC3", 3, 1);
	CHECK_EQ_INT(cut.utf8_bad, 1);
	/* Overlongs and surrogates are bad; four-byte letters are fine. */
	enc_scan bad = scan_of("\xC0\xAF\xE0\x80\xAF\xED\xA0\x80", 8, 1);
	CHECK(bad.utf8_bad >= 3);
	CHECK_EQ_INT(bad.utf8_multi, 0);
	enc_scan emoji = scan_of("\xF0\x9F\x98\x80", 4, 1);
	CHECK_EQ_INT(emoji.utf8_bad, 0);
	CHECK_EQ_INT(emoji.utf8_multi, 1);
}

static void
test_convert(void)
{
	uint8_t out[64];
	const uint8_t in[] = {'A',  0xC6, 0xD8, 0xC5, 0xE6,
			      0xF8, 0xE5, 0x80, 0x96, 0x81};
	size_t n = enc_to_utf8(ENC_CP1252, in, sizeof in, out);
	CHECK_EQ_INT(n, 1 + 6 * 2 + 3 + 3 + 1);
	CHECK_EQ_MEM(out,
		     "A\xC3\x86\xC3\x98\xC3\x85\xC3\xA6\xC3\xB8\xC3\xA5"
		     "\xE2\x82\xAC\xE2\x80\x93\x81",
		     n);
	/* Latin-1 maps 0x80 to U+0080. */
	n = enc_to_utf8(ENC_LATIN1, in + 7, 1, out);
	CHECK_EQ_INT(n, 2);
	CHECK_EQ_MEM(out, "\xC2\x80", 2);
	enc_kind k;
	CHECK_OK(enc_parse("Windows-1252", &k));
	CHECK_EQ_INT(k, ENC_CP1252);
	CHECK_OK(enc_parse("UTF8", &k));
	CHECK_EQ_INT(k, ENC_UTF8);
	CHECK_OK(enc_parse("iso-8859-1", &k));
	CHECK_EQ_INT(k, ENC_LATIN1);
	CHECK_ERR(enc_parse("ebcdic", &k), UG_EINVAL);
	CHECK_EQ_STR(enc_name(ENC_CP1252), "cp1252");
	CHECK_OK(enc_parse("CP850", &k));
	CHECK_EQ_INT(k, ENC_CP850);
	CHECK_OK(enc_parse("ibm850", &k));
	CHECK_EQ_INT(k, ENC_CP850);
	CHECK_EQ_STR(enc_name(ENC_CP850), "cp850");
	/* Code page 850: æ ø å Æ Ø Å, é, a box-drawing line and the
	 * non-breaking space at FF. */
	const uint8_t dos[] = {0x91, 0x9B, 0x86, 0x92, 0x9D,
			       0x8F, 0x82, 0xC4, 0xFF};
	n = enc_to_utf8(ENC_CP850, dos, sizeof dos, out);
	CHECK_EQ_INT(n, 7 * 2 + 3 + 2);
	CHECK_EQ_MEM(out,
		     "\xC3\xA6\xC3\xB8\xC3\xA5\xC3\x86\xC3\x98\xC3\x85"
		     "\xC3\xA9\xE2\x94\x80\xC2\xA0",
		     n);
}

static void
test_stream(void)
{
	/* A Windows-1252 file larger than the stream's chunk reads as the
	 * same text in UTF-8, byte order mark or not. */
	FILE *raw = tmpfile();
	CHECK(raw);
	for (int i = 0; i < 5000; i++)
		fputs("150309-4321;\xC6"
		      "bel\xF8;\x80\r\n",
		      raw);
	rewind(raw);
	FILE *text = enc_open(raw, ENC_CP1252);
	CHECK(text);
	char line[128];
	int lines = 0;
	while (fgets(line, sizeof line, text)) {
		CHECK_EQ_STR(line, "150309-4321;\xC3\x86"
				   "bel\xC3\xB8;"
				   "\xE2\x82\xAC\r\n");
		lines++;
	}
	CHECK_EQ_INT(lines, 5000);
	fclose(text);
	fclose(raw);

	raw = tmpfile();
	fputs("\xEF\xBB\xBF"
	      "a;b\n",
	      raw);
	rewind(raw);
	text = enc_open(raw, ENC_UTF8);
	CHECK(fgets(line, sizeof line, text));
	CHECK_EQ_STR(line, "a;b\n");
	fclose(text);
	fclose(raw);
}

TEST_LIST = {
    {"decide", test_decide},
    {"decide code page 850", test_decide_cp850},
    {"whole-file errors", test_whole_file_errors},
    {"split sequences", test_split_sequences},
    {"convert", test_convert},
    {"stream", test_stream},
    {NULL, NULL},
};
