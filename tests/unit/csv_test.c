/*
 * adapters/csv: the streaming reader against hostile input — byte order
 * marks, CRLF, quoted separators and line breaks, ';' against ',', empty
 * lines, over-long fields and records, unclosed quotes, stray bytes — and
 * the header mapping. Inputs are in-memory files (fmemopen), so each case
 * states its bytes exactly.
 */
#include "common/csv.h"

#include "tests/unit/check.h"

/* Reader over a string of n bytes (n = 0: strlen). */
struct fixture {
	FILE *f;
	csv_reader *r;
	char *buf;
};

static ug_err
open_n(struct fixture *fx, const char *text, size_t n, ug_diag *diag)
{
	if (n == 0)
		n = strlen(text);
	fx->buf = malloc(n + 1);
	CHECK(fx->buf);
	memcpy(fx->buf, text, n);
	fx->f = fmemopen(fx->buf, n, "r");
	CHECK(fx->f);
	fx->r = NULL;
	return csv_reader_new(&fx->r, fx->f, "in.csv", diag);
}

static void
close_fx(struct fixture *fx)
{
	csv_reader_destroy(&fx->r);
	CHECK(fx->r == NULL);
	fclose(fx->f);
	free(fx->buf);
}

static void
test_semicolon_basic(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, "a;b;c\n1;2;3\n4;5;6\n", 0, &d));
	CHECK_EQ_INT(csv_separator(fx.r), ';');
	CHECK_EQ_INT(csv_header_count(fx.r), 3);
	CHECK_EQ_STR(csv_header_name(fx.r, 2), "c");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_INT(csv_count(fx.r), 3);
	CHECK_EQ_STR(csv_field(fx.r, 0), "1");
	CHECK_EQ_STR(csv_field(fx.r, 2), "3");
	CHECK_EQ_STR(csv_field(fx.r, 7), "");
	CHECK_EQ_INT(csv_line(fx.r), 2);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "5");
	CHECK_EQ_INT(csv_line(fx.r), 3);
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
}

static void
test_comma_detected(void)
{
	struct fixture fx;
	ug_diag d = {0};
	/* The quoted header name holds two ';' that must not count. */
	CHECK_OK(open_n(&fx, "\"x;y;z\",b\n1,\"2;3\"\n", 0, &d));
	CHECK_EQ_INT(csv_separator(fx.r), ',');
	CHECK_EQ_INT(csv_header_count(fx.r), 2);
	CHECK_EQ_STR(csv_header_name(fx.r, 0), "x;y;z");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "2;3");
	close_fx(&fx);
}

static void
test_semicolon_wins(void)
{
	struct fixture fx;
	ug_diag d = {0};
	/* Danish headers may hold a comma in a name; more ';' wins. */
	CHECK_OK(open_n(&fx, "a,1;b;c\n1;2;3\n", 0, &d));
	CHECK_EQ_INT(csv_separator(fx.r), ';');
	CHECK_EQ_STR(csv_header_name(fx.r, 0), "a,1");
	close_fx(&fx);
	/* One column: no separator at all, ';' by default. */
	CHECK_OK(open_n(&fx, "cpr\n0101011234\n", 0, &d));
	CHECK_EQ_INT(csv_separator(fx.r), ';');
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "0101011234");
	close_fx(&fx);
}

static void
test_bom_and_crlf(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx,
			"\xEF\xBB\xBF"
			"cpr;kind\r\n1;x\r\n2;y\r\n",
			0, &d));
	CHECK_EQ_STR(csv_header_name(fx.r, 0), "cpr");
	CHECK(csv_crlf(fx.r));
	size_t len;
	CHECK_EQ_STR(csv_header_raw(fx.r, &len), "cpr;kind");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "x");
	bool trunc = true;
	CHECK_EQ_STR(csv_raw(fx.r, &len, &trunc), "1;x");
	CHECK_EQ_INT(len, 3);
	CHECK(!trunc);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "y");
	CHECK_EQ_INT(csv_line(fx.r), 3);
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
	/* LF only: not CRLF. */
	CHECK_OK(open_n(&fx, "a;b\n1;2\n", 0, &d));
	CHECK(!csv_crlf(fx.r));
	close_fx(&fx);
}

static void
test_quoted_newlines_and_escapes(void)
{
	struct fixture fx;
	ug_diag d = {0};
	const char *in = "a;b;c\n"
			 "\"two\nlines\";\"say \"\"hi\"\"\";\"x;y\"\n"
			 "\"three\r\nlines\n\";2;3\n"
			 "last;\"\";  spaced  \n";
	CHECK_OK(open_n(&fx, in, 0, &d));
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_INT(csv_line(fx.r), 2);
	CHECK_EQ_STR(csv_field(fx.r, 0), "two\nlines");
	CHECK_EQ_STR(csv_field(fx.r, 1), "say \"hi\"");
	CHECK_EQ_STR(csv_field(fx.r, 2), "x;y");
	size_t len;
	CHECK_EQ_STR(csv_raw(fx.r, &len, NULL),
		     "\"two\nlines\";\"say \"\"hi\"\"\";\"x;y\"");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_INT(csv_line(fx.r), 4);
	CHECK_EQ_STR(csv_field(fx.r, 0), "three\r\nlines\n");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_INT(csv_line(fx.r), 7);
	CHECK_EQ_STR(csv_field(fx.r, 1), "");
	CHECK_EQ_STR(csv_field(fx.r, 2), "spaced");
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
}

static void
test_blanks_around_quotes(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, "a;b\n  \" x;y \"  ;\t2\t\n", 0, &d));
	CHECK_OK(csv_next(fx.r, &d));
	/* Inside the quotes too: fixed-width exports pad quoted values. */
	CHECK_EQ_STR(csv_field(fx.r, 0), "x;y");
	CHECK_EQ_STR(csv_field(fx.r, 1), "2");
	close_fx(&fx);
}

static void
test_empty_lines_skipped(void)
{
	struct fixture fx;
	ug_diag d = {0};
	const char *in = "\n\r\n;;\na;b\n\n1;2\n\r\n ; \n;;;;\n\"\";\"\"\n3;4";
	CHECK_OK(open_n(&fx, in, 0, &d));
	CHECK_EQ_STR(csv_header_name(fx.r, 0), "a");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "1");
	CHECK_EQ_INT(csv_line(fx.r), 6);
	/* The last record has no line break at all. */
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "4");
	CHECK_EQ_INT(csv_line(fx.r), 11);
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
}

static void
test_field_limit(void)
{
	size_t big = CSV_FIELD_MAX + 1;
	char *in = malloc(big * 2 + 64);
	CHECK(in);
	char *p = in;
	p += sprintf(p, "id;note\n1;");
	memset(p, 'x', CSV_FIELD_MAX), p += CSV_FIELD_MAX; /* exactly at */
	p += sprintf(p, "\n2;");
	memset(p, 'y', big), p += big; /* one over */
	p += sprintf(p, "\n3;ok\n");
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, in, (size_t)(p - in), &d));
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_INT(strlen(csv_field(fx.r, 1)), CSV_FIELD_MAX);
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_EQ_INT(d.line, 3);
	CHECK_EQ_STR(d.file, "in.csv");
	CHECK_EQ_STR(d.field, "note");
	CHECK(strstr(d.reason, "4097 bytes"));
	CHECK(strstr(d.reason, "4096"));
	CHECK_EQ_INT(csv_line(fx.r), 3);
	/* The bad row is skipped whole; reading goes on. */
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "3");
	CHECK_EQ_INT(csv_line(fx.r), 4);
	close_fx(&fx);
	free(in);
}

static void
test_record_limit(void)
{
	/* 20 fields of 4000 bytes: each field is legal, the row is not. A
	 * quoted line break in the middle must still be followed. */
	size_t cap = 20 * 4010 + 64;
	char *in = malloc(cap);
	CHECK(in);
	char *p = in;
	p += sprintf(p, "a\n");
	for (int i = 0; i < 20; i++) {
		*p++ = '"';
		memset(p, 'a' + i, 4000), p += 4000;
		if (i == 10)
			*p++ = '\n';
		*p++ = '"';
		*p++ = ';';
	}
	p += sprintf(p, "\nnext\n");
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, in, (size_t)(p - in), &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "longer than 65536"));
	CHECK_EQ_INT(d.line, 2);
	CHECK_EQ_STR(d.field, "");
	size_t len;
	bool trunc = false;
	csv_raw(fx.r, &len, &trunc);
	CHECK(trunc);
	CHECK_EQ_INT(len, CSV_RECORD_MAX);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "next");
	CHECK_EQ_INT(csv_line(fx.r), 4);
	close_fx(&fx);
	free(in);
}

/* The CR of a CRLF line end is no part of the row: a row of exactly the
 * limit is a row under CRLF as under LF; a CR inside the row past the
 * limit still makes it too long, cut at the limit. */
/* A row of `len` bytes in 20 fields of at most 4 KiB, the last "y". */
static char *
put_wide_row(char *p, size_t len)
{
	size_t each = (len - 2) / 19;
	for (int i = 0; i < 19; i++) {
		size_t n = i < 18 ? each - 1 : len - 2 - 18 * each;
		memset(p, 'x', n), p += n;
		*p++ = ';';
	}
	*p++ = 'y';
	return p;
}

static void
test_record_limit_crlf(void)
{
	size_t cap = 2 * (CSV_RECORD_MAX + 16) + 128;
	char *in = malloc(cap);
	CHECK(in);
	char *p = in;
	p += sprintf(p, "a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q;r;s;t\r\n");
	p = put_wide_row(p, CSV_RECORD_MAX);
	p += sprintf(p, "\r\n");
	p = put_wide_row(p, CSV_RECORD_MAX);
	p += sprintf(p,
		     "\rz\r\nnext;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1\r\n");
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, in, (size_t)(p - in), &d));
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 19), "y");
	size_t len;
	bool trunc = true;
	csv_raw(fx.r, &len, &trunc);
	CHECK(!trunc);
	CHECK_EQ_INT(len, CSV_RECORD_MAX);
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "longer than 65536"));
	CHECK_EQ_INT(d.line, 3);
	csv_raw(fx.r, &len, &trunc);
	CHECK(trunc);
	CHECK_EQ_INT(len, CSV_RECORD_MAX);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "next");
	close_fx(&fx);
	free(in);
}

/* One value over the row limit: the row's length is the reason, not the
 * value's (cut where the row was, it would measure wrong). */
static void
test_record_limit_one_value(void)
{
	size_t big = 70001, cap = big + 64;
	char *in = malloc(cap);
	CHECK(in);
	char *p = in;
	p += sprintf(p, "a;b\nx;");
	memset(p, 'v', big), p += big;
	p += sprintf(p, "\nnext;1\n");
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, in, (size_t)(p - in), &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_EQ_STR(d.reason, "the row is longer than 65536 bytes");
	CHECK_EQ_STR(d.field, "");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "next");
	close_fx(&fx);
	free(in);
}

static void
test_quote_open_past_the_record_limit(void)
{
	/* A quote opened on line 2 and never closed: past the record limit
	 * the line is rejected for it and the lines after it are rows. */
	size_t rows = CSV_RECORD_MAX / 8 + 100;
	char *text = malloc(CSV_RECORD_MAX + 64 + rows * 10);
	CHECK(text);
	size_t n = (size_t)sprintf(text, "a;b\r\n1;\"open\r\n");
	for (size_t i = 0; i < rows; i++)
		n += (size_t)sprintf(text + n, "%05zu;x\r\n", i);
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, text, n, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_EQ_INT(d.line, 2);
	CHECK(strstr(d.reason, "not closed on this line"));
	size_t len = 0;
	bool cut = true;
	const char *raw = csv_raw(fx.r, &len, &cut);
	CHECK(!cut);
	CHECK_EQ_INT((long)len, 7);
	CHECK(strncmp(raw, "1;\"open", 7) == 0);
	for (size_t i = 0; i < rows; i++) {
		char want[8];
		snprintf(want, sizeof want, "%05zu", i);
		CHECK_OK(csv_next(fx.r, &d));
		CHECK_EQ_INT(csv_line(fx.r), (long)i + 3);
		CHECK_EQ_STR(csv_field(fx.r, 0), want);
	}
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	CHECK(csv_crlf(fx.r));
	close_fx(&fx);
	/* A quoted value past the limit before its first line break: that
	 * line is the bad row, cut, and the lines after it are rows. */
	n = (size_t)sprintf(text, "a;b\n1;\"");
	memset(text + n, 'x', CSV_RECORD_MAX + 10);
	n += CSV_RECORD_MAX + 10;
	n += (size_t)sprintf(text + n, "\n2;y\n3;\"z\"\n4;w\n");
	CHECK_OK(open_n(&fx, text, n, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_EQ_INT(d.line, 2);
	CHECK(strstr(d.reason, "longer than"));
	for (int i = 2; i <= 4; i++) {
		char want[12];
		snprintf(want, sizeof want, "%d", i);
		CHECK_OK(csv_next(fx.r, &d));
		CHECK_EQ_INT(csv_line(fx.r), i + 1);
		CHECK_EQ_STR(csv_field(fx.r, 0), want);
	}
	CHECK_EQ_STR(csv_field(fx.r, 1), "w");
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
	free(text);
}

static void
test_bad_quotes(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, "a;b\n\"x\"y;2\n3;\"open\n4;5\n", 0, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_EQ_STR(d.field, "a");
	CHECK(strstr(d.reason, "closing quote"));
	CHECK_EQ_INT(d.line, 2);
	/* An unclosed quote swallows the rest of the file: one bad row. */
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "not closed"));
	CHECK_EQ_INT(d.line, 3);
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
	/* A quote inside an unquoted value is only a character. */
	CHECK_OK(open_n(&fx, "a;b\n12\" tv;2\n", 0, &d));
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "12\" tv");
	close_fx(&fx);
}

static void
test_field_counts(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, "a;b;c\n1;2\n1;2;3;;\n1;2;3;4\nok;;\n", 0, &d));
	/* Fewer: said as such, not blamed on the column that shifted. */
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "the row has 2 fields, the header has 3"));
	CHECK_EQ_STR(d.field, "");
	CHECK_EQ_INT(d.line, 2);
	CHECK_OK(csv_next(fx.r, &d)); /* empty extras: trailing separators */
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "the row has 4 fields, the header has 3"));
	CHECK_EQ_INT(d.line, 4);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 0), "ok");
	close_fx(&fx);
	/* A header ending in separators: a value past its last name is one
	 * field too many (a shifted row), not a cell of a column. */
	CHECK_OK(open_n(&fx, "a;b;c;\n1;2;3;\n1;2;3;4\n1;2;3;4;;\n", 0, &d));
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "the row has 4 fields, the header has 3"));
	CHECK_EQ_INT(d.line, 3);
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "the row has 4 fields, the header has 3"));
	close_fx(&fx);
}

/* A CR outside quotes with text after it on its line ends no line: in
 * an LF file it joins two lines into one row, named as such (line and
 * column, in characters), not as the field count it breaks. CRs and
 * blanks before the LF are a line end; a CR inside quotes is a value's. */
static void
test_stray_carriage_return(void)
{
	struct fixture fx;
	ug_diag d = {0};
	static const char stray[] =
	    "line %d, column %d holds a carriage return alone, which ends no "
	    "line here (are two lines joined into this row?): save the file "
	    "with Windows or Unix line ends";
	char want[200];
	CHECK_OK(
	    open_n(&fx,
		   "a;b;c\n"
		   "1;2;3\r4;5;6\n"	      /* two lines joined */
		   "1;2;3\r\r\n"	      /* CR CR LF: a line end */
		   "1;2;3 \r \n"	      /* blanks around it */
		   "\"x\";\"y\"\r\"z\"\n"     /* after a closing quote */
		   "1;\"a\rb\";3\n"	      /* inside quotes: the value's */
		   "\xc3\xa6;\xc3\xb8\r;3\n", /* columns count characters */
		   0, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	snprintf(want, sizeof want, stray, 2, 6);
	CHECK_EQ_STR(d.reason, want);
	CHECK_EQ_INT(d.line, 2);
	CHECK_EQ_STR(d.field, "");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 2), "3");
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 2), "3");
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	snprintf(want, sizeof want, stray, 5, 8);
	CHECK_EQ_STR(d.reason, want);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "a\rb");
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	snprintf(want, sizeof want, stray, 7, 4);
	CHECK_EQ_STR(d.reason, want);
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
	/* In the header row of an LF file: the file's problem, said so. */
	CHECK_ERR(open_n(&fx, "a;b\rc;d\n1;2;3;4\n", 0, &d), UG_EMALFORMED);
	snprintf(want, sizeof want, "header row: ");
	snprintf(want + 12, sizeof want - 12, stray, 1, 4);
	CHECK_EQ_STR(d.reason, want);
	CHECK_EQ_INT(d.line, 1);
	fclose(fx.f);
	free(fx.buf);
}

static void
test_hostile_bytes(void)
{
	struct fixture fx;
	ug_diag d = {0};
	static const char in[] = "a;b\n1;x\0y\n2;fra\xE6r\n3;fra\xC3\xA6r\n";
	CHECK_OK(open_n(&fx, in, sizeof in - 1, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "NUL"));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED); /* Latin-1 æ */
	CHECK(strstr(d.reason, "UTF-8"));
	CHECK_EQ_STR(d.field, "b");
	CHECK_EQ_INT(d.line, 3);
	CHECK_OK(csv_next(fx.r, &d));
	CHECK_EQ_STR(csv_field(fx.r, 1), "fra\xC3\xA6r");
	close_fx(&fx);
	/* Overlong and surrogate encodings are not UTF-8 either. */
	CHECK_OK(open_n(&fx, "a\n\xC0\xAF\n\xED\xA0\x80\n\xF0\x9F\x98\x80\n",
			0, &d));
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_ERR(csv_next(fx.r, &d), UG_EMALFORMED);
	CHECK_OK(csv_next(fx.r, &d));
	close_fx(&fx);
}

static void
test_bad_files(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_ERR(open_n(&fx, "\xFF\xFEq\0", 4, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "UTF-16"));
	close_fx(&fx);
	CHECK_ERR(open_n(&fx, "\n\n  \r\n", 0, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "empty"));
	CHECK(d.line == 0); /* the whole file, not its last line + 1 */
	close_fx(&fx);
	CHECK_ERR(open_n(&fx, "\xEF\xBB\xBF", 0, &d), UG_EMALFORMED);
	close_fx(&fx);
	CHECK_ERR(open_n(&fx, "a;\"b\n", 0, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "header"));
	close_fx(&fx);
}

static void
test_many_records(void)
{
	/* Records straddle the reader's 16 KiB chunks; every line number must
	 * still be right. Every third record spans two lines. */
	size_t cap = 3000 * 40 + 16;
	char *in = malloc(cap), *p = in;
	CHECK(in);
	p += sprintf(p, "n;text\n");
	for (int i = 0; i < 3000; i++)
		p += sprintf(p, i % 3 ? "%d;plain %d\n" : "%d;\"two\n%d\"\n",
			     i, i);
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, in, (size_t)(p - in), &d));
	long line = 2;
	for (int i = 0; i < 3000; i++) {
		CHECK_OK(csv_next(fx.r, &d));
		CHECK_EQ_INT(atoi(csv_field(fx.r, 0)), i);
		CHECK_EQ_INT(csv_line(fx.r), line);
		line += i % 3 ? 1 : 2;
	}
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
	free(in);
}

static const csv_column columns[] = {
    {"cpr", {"cprnr", "cpr_nr"}, true},
    {"period_start", {"fra", "from", "start"}, true},
    {"lessons_absent", {"absent", "fravaer", "frav\xC3\xA6r"}, true},
    {"grade", {"klasse", "klassetrin"}, false},
    {"kind", {"type"}, false},
    {NULL, {NULL}, false},
};

static void
test_map_columns(void)
{
	struct fixture fx;
	ug_diag d = {0};
	CHECK_OK(open_n(&fx, " CPRNR ;Navn;FRAV\xC3\x86R;Period Start;note;\n",
			0, &d));
	int index[5];
	char unknown[64];
	CHECK_OK(csv_map_columns(fx.r, columns, index, unknown, sizeof unknown,
				 &d));
	CHECK_EQ_INT(index[0], 0);
	CHECK_EQ_INT(index[1], 3);
	CHECK_EQ_INT(index[2], 2);
	CHECK_EQ_INT(index[3], -1);
	CHECK_EQ_INT(index[4], -1);
	CHECK_EQ_STR(unknown, "Navn, note");
	close_fx(&fx);
}

static void
test_map_missing_and_duplicate(void)
{
	struct fixture fx;
	ug_diag d = {0};
	/* A file without a header: its first data row is taken as one. The
	 * message must not quote it back (it holds a CPR). */
	CHECK_OK(open_n(&fx, "\n010101-1234;2024-01-01;3\n", 0, &d));
	int index[5];
	CHECK_ERR(csv_map_columns(fx.r, columns, index, NULL, 0, &d),
		  UG_EMALFORMED);
	CHECK_EQ_STR(d.field, "header");
	CHECK_EQ_INT(d.line, 2);
	CHECK(strstr(d.reason, "cpr (or cprnr, cpr_nr)"));
	CHECK(strstr(d.reason, "period_start"));
	CHECK(strstr(d.reason, "lessons_absent"));
	CHECK(!strstr(d.reason, "grade"));
	CHECK(!strstr(d.reason, "010101"));
	close_fx(&fx);
	CHECK_OK(open_n(&fx, "cpr;fra;absent;cpr_nr\n", 0, &d));
	CHECK_ERR(csv_map_columns(fx.r, columns, index, NULL, 0, &d),
		  UG_EMALFORMED);
	CHECK(strstr(d.reason, "columns \"cpr\" and \"cpr_nr\" (1 and 4) "
			       "both mean cpr; keep one"));
	close_fx(&fx);
	/* A clash in the first columns: the first one is the message, and
	 * the columns after it are mapped all the same, so that a caller
	 * weighing kinds by what they lack sees the whole header. */
	const char *front[] = {"cpr",  "cprnr",	 "fra",
			       "type", "absent", "CPR_NR"};
	CHECK_ERR(csv_map_names(front, 6, columns, index, NULL, 0, &d),
		  UG_EMALFORMED);
	CHECK_EQ_STR(d.reason, "columns \"cpr\" and \"cprnr\" (1 and 2) "
			       "both mean cpr; keep one");
	CHECK_EQ_INT(index[0], 0);
	CHECK_EQ_INT(index[1], 2);
	CHECK_EQ_INT(index[2], 4);
	CHECK_EQ_INT(index[3], -1);
	CHECK_EQ_INT(index[4], 3);
}

static void
test_column_matches(void)
{
	CHECK(csv_column_matches(&columns[2], "Frav\xC3\xA6r"));
	CHECK(csv_column_matches(&columns[2], "LESSONS-ABSENT"));
	CHECK(csv_column_matches(&columns[2], "lessons absent"));
	/* A non-breaking space, as a header pasted in a spreadsheet has. */
	CHECK(csv_column_matches(&columns[2], "lessons\xC2\xA0"
					      "absent"));
	CHECK(!csv_column_matches(&columns[2], "lessons"));
	CHECK(!csv_column_matches(&columns[2], ""));
	CHECK(!csv_column_matches(&columns[0], "cpr2"));
}

/* Exports joined into one file bring their header rows along, after a
 * byte order mark or not; a row that only resembles the header (another
 * case, a blank more, a field more) is data. */
static void
test_repeated_header(void)
{
	struct fixture fx;
	ug_diag d = {0};
	const char text[] = "\xef\xbb\xbf"
			    "cpr;Rolle\r\n1;a\r\n"
			    "\xef\xbb\xbf"
			    "cpr;Rolle\r\n"
			    "cpr;Rolle\r\n"
			    "CPR;Rolle\r\n"
			    "cpr; Rolle\r\n"
			    "cpr;Rolle;\r\n";
	CHECK_OK(open_n(&fx, text, sizeof text - 1, &d));
	bool want[] = {false, true, true, false, false, false};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		CHECK_OK(csv_next(fx.r, &d));
		CHECK_EQ_INT(csv_repeats_header(fx.r), want[i]);
		CHECK_EQ_INT(csv_line(fx.r), (long)i + 2);
	}
	CHECK_ERR(csv_next(fx.r, &d), UG_ENOTFOUND);
	close_fx(&fx);
}

TEST_LIST = {
    {"semicolon basic", test_semicolon_basic},
    {"comma detected", test_comma_detected},
    {"semicolon wins", test_semicolon_wins},
    {"bom and crlf", test_bom_and_crlf},
    {"quoted newlines and escapes", test_quoted_newlines_and_escapes},
    {"blanks around quotes", test_blanks_around_quotes},
    {"empty lines skipped", test_empty_lines_skipped},
    {"field limit", test_field_limit},
    {"record limit", test_record_limit},
    {"record limit, one value", test_record_limit_one_value},
    {"record limit, CRLF", test_record_limit_crlf},
    {"bad quotes", test_bad_quotes},
    {"quote open past the record limit",
     test_quote_open_past_the_record_limit},
    {"field counts", test_field_counts},
    {"stray carriage return", test_stray_carriage_return},
    {"hostile bytes", test_hostile_bytes},
    {"bad files", test_bad_files},
    {"many records", test_many_records},
    {"map columns", test_map_columns},
    {"map missing and duplicate", test_map_missing_and_duplicate},
    {"column matches", test_column_matches},
    {"repeated header", test_repeated_header},
    {NULL, NULL},
};
