/*
 * adapters/jsonl: the flat JSON object parser on good and hostile lines
 * (every rejection has a reason and never quotes the line), and the
 * streaming reader (line numbers, CRLF, blank lines, over-long lines).
 * Ends with a seeded random-mutation run: no input may crash it or make
 * it write outside its buffer (run under ASan by `make asan`).
 */
#include "adapters/jsonl.h"

#include <stdlib.h>

#include "tests/unit/check.h"

static jsonl_record rec;

static ug_err
parse(const char *line, ug_diag *d)
{
	memset(d, 0, sizeof *d);
	return jsonl_parse(line, strlen(line), &rec, d);
}

static const char *
value_of(const char *key)
{
	for (size_t i = 0; i < rec.count; i++)
		if (strcmp(jsonl_key(&rec, i), key) == 0)
			return jsonl_value(&rec, i);
	return NULL;
}

static void
test_good_objects(void)
{
	ug_diag d;
	CHECK_OK(parse("{\"cpr\": \"150309-4321\", \"lessons_absent\": 12, "
		       "\"grade\": null, \"ready\": true, \"x\": false}",
		       &d));
	CHECK_EQ_INT(rec.count, 5);
	CHECK_EQ_STR(value_of("cpr"), "150309-4321");
	CHECK_EQ_STR(value_of("lessons_absent"), "12");
	CHECK_EQ_STR(value_of("grade"), "");
	CHECK(rec.null[2]);
	CHECK(!rec.null[1]);
	CHECK_EQ_STR(value_of("ready"), "true");
	CHECK_EQ_STR(value_of("x"), "false");

	CHECK_OK(parse("  {}  ", &d));
	CHECK_EQ_INT(rec.count, 0);
	CHECK_OK(parse("{\"a\":\"\"}", &d));
	CHECK_EQ_STR(value_of("a"), "");

	/* Numbers keep their text. */
	CHECK_OK(parse("{\"a\": -0.50e+3, \"b\": 0, \"c\": 1.5E-2}", &d));
	CHECK_EQ_STR(value_of("a"), "-0.50e+3");
	CHECK_EQ_STR(value_of("b"), "0");
	CHECK_EQ_STR(value_of("c"), "1.5E-2");

	/* Escapes, \u with a surrogate pair, and UTF-8 as it is. */
	CHECK_OK(parse("{\"s\": \"a\\\"b\\\\c\\/d\\n\\t\\u00e6\\u00F8\", "
		       "\"t\": \"\\ud83d\\ude00\", \"skole\": "
		       "\"\xC3\x85lykke\"}",
		       &d));
	CHECK_EQ_STR(value_of("s"), "a\"b\\c/d\n\t\xC3\xA6\xC3\xB8");
	CHECK_EQ_STR(value_of("t"), "\xF0\x9F\x98\x80");
	CHECK_EQ_STR(value_of("skole"), "\xC3\x85lykke");
	/* Keys may be escaped too. */
	CHECK_OK(parse("{\"frav\\u00e6r\": 3}", &d));
	CHECK_EQ_STR(value_of("frav\xC3\xA6r"), "3");
}

static void
test_bad_objects(void)
{
	static const struct {
		const char *line;
		const char *reason;
		long bad_key;
	} cases[] = {
	    {"", "not a JSON object", -1},
	    {"[1,2]", "not a JSON object", -1},
	    {"\"cpr\": 1", "not a JSON object", -1},
	    {"{", "expected a key", -1},
	    {"{\"a\": 1", "not closed", -1},
	    {"{\"a\": 1,}", "expected a key", -1},
	    {"{\"a\" 1}", "expected ':'", 0},
	    {"{a: 1}", "expected a key", -1},
	    {"{\"a\": {\"b\": 1}}", "is an object", 0},
	    {"{\"x\": 1, \"a\": [1]}", "is an array", 1},
	    {"{\"a\": 1, \"a\": 2}", "appears twice", 0},
	    {"{\"a\": 01}", "leading zero", 0},
	    {"{\"a\": 1.}", "no digits after", 0},
	    {"{\"a\": .5}", "not JSON", 0},
	    {"{\"a\": +1}", "not JSON", 0},
	    {"{\"a\": 1e}", "exponent", 0},
	    {"{\"a\": tru}", "not JSON", 0},
	    {"{\"a\": nul}", "not JSON", 0},
	    {"{\"a\": 'x'}", "not JSON", 0},
	    {"{\"a\": 150309-4321}", "expected ','", -1},
	    {"{\"a\": \"x\\q\"}", "invalid escape", 0},
	    {"{\"a\": \"\\u12\"}", "four hex digits", 0},
	    {"{\"a\": \"\\ud800\"}", "lone", 0},
	    {"{\"a\": \"\\udc00\"}", "lone", 0},
	    {"{\"a\": \"\\ud800\\u0041\"}", "lone", 0},
	    {"{\"a\": \"\\u0000\"}", "\\u0000", 0},
	    {"{\"a\": \"x\ty\"}", "control character", 0},
	    {"{\"a\": \"x", "not closed", 0},
	    {"{\"a\": \"\xE6\"}", "not UTF-8", 0},
	    {"{\"a\": \"\xC0\xAF\"}", "not UTF-8", 0},
	    {"{\"a\": \"\xED\xA0\x80\"}", "not UTF-8", 0},
	    {"{\"a\": 1} x", "follows the object", -1},
	    {"{\"a\": 1}{\"b\": 2}", "follows the object", -1},
	    {"{\"a\": }", "not JSON", 0},
	    {"{\"a\":", "ends where a value", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ug_diag d;
		ug_err err = parse(cases[i].line, &d);
		if (err != UG_EMALFORMED)
			FAIL("case %zu: expected malformed, got %s", i,
			     ug_strerror(err));
		if (!strstr(d.reason, cases[i].reason))
			FAIL("case %zu: reason \"%s\" lacks \"%s\"", i,
			     d.reason, cases[i].reason);
		if (rec.bad_key != cases[i].bad_key)
			FAIL("case %zu: bad_key %ld, expected %ld", i,
			     rec.bad_key, cases[i].bad_key);
		CHECK(!strstr(d.reason, "150309"));
		CHECK_EQ_STR(d.field, "");
	}
	/* More keys than a record holds. */
	char line[8192];
	size_t n = (size_t)snprintf(line, sizeof line, "{");
	for (int k = 0; k <= JSONL_KEYS_MAX; k++)
		n += (size_t)snprintf(line + n, sizeof line - n,
				      "%s\"k%d\": %d", k ? ", " : "", k, k);
	snprintf(line + n, sizeof line - n, "}");
	ug_diag d;
	CHECK_ERR(parse(line, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "more than 256 keys"));
}

static FILE *
stream(const char *text, size_t len)
{
	FILE *f = tmpfile();
	CHECK(f);
	CHECK(fwrite(text, 1, len, f) == len);
	rewind(f);
	return f;
}

static void
test_reader(void)
{
	static const char text[] = "{\"a\": 1}\r\n"
				   "\r\n"
				   "   \n"
				   "{\"a\": 2, \"b\": [3]}\r\n"
				   "{\"a\": 3}"; /* no final line break */
	FILE *f = stream(text, sizeof text - 1);
	jsonl_reader *r;
	CHECK_OK(jsonl_reader_new(&r, f, "x.jsonl"));
	ug_diag d = {0};
	CHECK_OK(jsonl_next(r, &d));
	CHECK_EQ_INT(jsonl_line(r), 1);
	CHECK_EQ_STR(jsonl_value(jsonl_record_of(r), 0), "1");
	CHECK(jsonl_crlf(r));
	CHECK_ERR(jsonl_next(r, &d), UG_EMALFORMED);
	CHECK_EQ_INT(jsonl_line(r), 4);
	CHECK_EQ_INT(d.line, 4);
	CHECK_EQ_STR(d.file, "x.jsonl");
	size_t len;
	bool cut;
	CHECK_EQ_STR(jsonl_raw(r, &len, &cut), "{\"a\": 2, \"b\": [3]}");
	CHECK(!cut);
	CHECK_EQ_INT(jsonl_record_of(r)->bad_key, 1);
	CHECK_OK(jsonl_next(r, &d));
	CHECK_EQ_INT(jsonl_line(r), 5);
	CHECK_EQ_STR(jsonl_value(jsonl_record_of(r), 0), "3");
	CHECK_ERR(jsonl_next(r, &d), UG_ENOTFOUND);
	jsonl_reader_destroy(&r);
	CHECK(r == NULL);
	fclose(f);
}

/* A CR outside strings with text after it on its line: a line ended by
 * CR alone joined the next one to it, named by line and column. */
static void
test_stray_carriage_return(void)
{
	static const char text[] = "{\"a\": 1}\r{\"a\": 2}\n"
				   "{\"a\": 3}\r\r\n"
				   "{\"a\": \"\xc3\xa6\\\"\r\"} \r{}\n";
	FILE *f = stream(text, sizeof text - 1);
	jsonl_reader *r;
	CHECK_OK(jsonl_reader_new(&r, f, "x.jsonl"));
	ug_diag d = {0};
	CHECK_ERR(jsonl_next(r, &d), UG_EMALFORMED);
	CHECK_EQ_INT(d.line, 1);
	CHECK_EQ_STR(d.reason,
		     "line 1, column 9 holds a carriage return alone, which "
		     "ends no line here (are two lines joined into this "
		     "row?): save the file with Windows or Unix line ends");
	CHECK_OK(jsonl_next(r, &d));
	CHECK_EQ_STR(jsonl_value(jsonl_record_of(r), 0), "3");
	/* A CR inside a string is not counted as one: the one after it
	 * is, at column 15 (the character æ is one column). */
	CHECK_ERR(jsonl_next(r, &d), UG_EMALFORMED);
	CHECK(strncmp(d.reason, "line 3, column 15 holds a carriage", 34) ==
	      0);
	CHECK_ERR(jsonl_next(r, &d), UG_ENOTFOUND);
	jsonl_reader_destroy(&r);
	fclose(f);
}

static void
test_long_line(void)
{
	size_t big = CSV_RECORD_MAX + 100;
	char *text = malloc(big + 64);
	CHECK(text);
	size_t n = (size_t)sprintf(text, "{\"a\": \"");
	memset(text + n, 'x', big);
	n += big;
	n += (size_t)sprintf(text + n, "\"}\n{\"a\": 1}\n");
	FILE *f = stream(text, n);
	jsonl_reader *r;
	CHECK_OK(jsonl_reader_new(&r, f, "long.jsonl"));
	ug_diag d = {0};
	CHECK_ERR(jsonl_next(r, &d), UG_EMALFORMED);
	CHECK(strstr(d.reason, "longer than"));
	size_t len;
	bool cut;
	jsonl_raw(r, &len, &cut);
	CHECK(cut);
	CHECK_EQ_INT(len, CSV_RECORD_MAX);
	/* The next line reads as usual, with its own line number. */
	CHECK_OK(jsonl_next(r, &d));
	CHECK_EQ_INT(jsonl_line(r), 2);
	jsonl_reader_destroy(&r);
	fclose(f);
	free(text);
}

/* Mutate good lines at random (seeded): whatever the parser says, it must
 * return, keep count within bounds, and leave NUL-terminated text. */
static void
test_fuzz(void)
{
	static const char *const seeds[] = {
	    "{\"cpr\": \"150309-4321\", \"n\": 12, \"g\": null, \"r\": true}",
	    "{\"s\": \"\\u00e6\\ud83d\\ude00\\n\", \"e\": -1.5e-3}",
	    "{\"a\": \"\xC3\xA6\xC3\xB8\xC3\xA5\", \"b\": false}",
	};
	static const char alphabet[] = "{}[]\":,\\ u0123456789eE.+-tfnlrsa\x00"
				       "\x1f\x7f\x80\xC3\xED\xF4\xFF";
	unsigned seed = 20260217;
	char line[512];
	for (int round = 0; round < 200000; round++) {
		const char *s = seeds[(unsigned)round % 3];
		size_t len = strlen(s);
		memcpy(line, s, len);
		int edits = 1 + rand_r(&seed) % 4;
		for (int e = 0; e < edits; e++) {
			size_t at = (size_t)rand_r(&seed) % (len + 1);
			char c = alphabet[(size_t)rand_r(&seed) %
					  (sizeof alphabet - 1)];
			switch (rand_r(&seed) % 3) {
			case 0: /* replace */
				if (at < len)
					line[at] = c;
				break;
			case 1: /* insert */
				if (len < sizeof line - 1) {
					memmove(line + at + 1, line + at,
						len - at);
					line[at] = c;
					len++;
				}
				break;
			default: /* cut */
				len = at;
				break;
			}
		}
		ug_diag d;
		ug_err err = jsonl_parse(line, len, &rec, &d);
		CHECK(err == UG_OK || err == UG_EMALFORMED);
		CHECK(rec.count <= JSONL_KEYS_MAX);
		for (size_t i = 0; err == UG_OK && i < rec.count; i++) {
			CHECK(rec.key[i] < sizeof rec.text);
			CHECK(rec.value[i] < sizeof rec.text);
			CHECK(strlen(jsonl_value(&rec, i)) <= len);
		}
	}
}

TEST_LIST = {
    {"good objects", test_good_objects},
    {"bad objects", test_bad_objects},
    {"reader", test_reader},
    {"stray carriage return", test_stray_carriage_return},
    {"long line", test_long_line},
    {"fuzz", test_fuzz},
    {NULL, NULL},
};
