/*
 * common/config: "name = value" files overridden by --name value options,
 * flags, required settings, integer ranges, and errors that name the line
 * so a typo never silently means a default.
 */
#include "common/config.h"
#include "common/crypto.h"

#include "tests/unit/check.h"

static const ug_setting settings[] = {
    {"agency", NULL, "agency id"},
    {"hub", "tcp://127.0.0.1:7601", "hub ingest endpoint"},
    {"timeout", "30", "seconds to wait"},
    {"rejects", "", "rejects file"},
    {"json", "false", "print JSON"},
    {NULL, NULL, NULL},
};

static const char *
write_conf(const char *dir, const char *name, const char *text)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load with argv given as a NULL-terminated list after the program name. */
static ug_err
load(ug_config **cfg, char **argv, char ***rest, int *nrest, bool *help,
     ug_diag *diag)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	memset(diag, 0, sizeof *diag);
	return ug_config_load(cfg, settings, "usage: test [options]", argc,
			      argv, rest, nrest, help, diag);
}

/* Load `prog --config FILE flush`, FILE named name holding text. */
static ug_err
load_file(const char *name, const char *text, ug_config **cfg, ug_diag *diag)
{
	const char *path = write_conf(ut_tmpdir(), name, text);
	char *argv[] = {"prog", "--config", (char *)path, "flush", NULL};
	char **rest;
	int nrest;
	bool help;
	return load(cfg, argv, &rest, &nrest, &help, diag);
}

static void
test_file_and_override(void)
{
	const char *dir = ut_tmpdir();
	const char *path =
	    write_conf(dir, "a.conf",
		       "# a comment\n"
		       "\n"
		       "agency = school-hedemark\n"
		       "  timeout   =   45  \n"
		       "\xc2\xa0json\xc2\xa0= \xc2\xa0yes\xc2\xa0\n"
		       "hub = tcp://127.0.0.1:9?x=y\n"
		       "rejects = first\n"
		       "rejects = second\n");
	char *argv[] = {
	    "prog",	  "--timeout", "12",	"--config",
	    (char *)path, "import",    "a.csv", "--rejects=/tmp/r.csv",
	    "b.csv",	  NULL};
	ug_config *cfg = NULL;
	char **rest;
	int nrest = -1;
	bool help = true;
	ug_diag diag;
	CHECK_OK(load(&cfg, argv, &rest, &nrest, &help, &diag));
	CHECK(!help);
	CHECK_EQ_STR(ug_config_get(cfg, "agency"), "school-hedemark");
	/* The command line wins even when it comes before --config. */
	CHECK_EQ_STR(ug_config_get(cfg, "timeout"), "12");
	/* The first '=' splits; the value keeps the rest. */
	CHECK_EQ_STR(ug_config_get(cfg, "hub"), "tcp://127.0.0.1:9?x=y");
	CHECK_EQ_STR(ug_config_get(cfg, "rejects"), "/tmp/r.csv");
	/* No-break spaces around a name and a value go as spaces do. */
	CHECK_EQ_STR(ug_config_get(cfg, "json"), "yes");
	CHECK(ug_config_get(cfg, "nonexistent") == NULL);
	CHECK_EQ_INT(nrest, 3);
	CHECK_EQ_STR(rest[0], "import");
	CHECK_EQ_STR(rest[1], "a.csv");
	CHECK_EQ_STR(rest[2], "b.csv");
	long timeout = 0;
	CHECK_OK(ug_config_int(cfg, "timeout", 1, 3600, &timeout, &diag));
	CHECK_EQ_INT(timeout, 12);
	ug_config_destroy(&cfg);
	CHECK(cfg == NULL);
	ug_config_destroy(&cfg); /* NULL is fine */

	/* Later lines of the file override earlier ones. */
	char *argv2[] = {"prog", "--config", (char *)path, NULL};
	CHECK_OK(load(&cfg, argv2, &rest, &nrest, &help, &diag));
	CHECK_EQ_STR(ug_config_get(cfg, "rejects"), "second");
	CHECK_EQ_STR(ug_config_get(cfg, "timeout"), "45");
	CHECK_EQ_INT(nrest, 0);
	ug_config_destroy(&cfg);
}

static void
test_defaults_and_flags(void)
{
	char *argv[] = {"prog", "--agency", "a1", "--json", "flush", NULL};
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	CHECK_OK(load(&cfg, argv, &rest, &nrest, &help, &diag));
	CHECK_EQ_STR(ug_config_get(cfg, "hub"), "tcp://127.0.0.1:7601");
	CHECK_EQ_STR(ug_config_get(cfg, "rejects"), "");
	/* A flag takes no value: "flush" stays an argument. */
	CHECK(ug_config_bool(cfg, "json"));
	CHECK_EQ_INT(nrest, 1);
	CHECK_EQ_STR(rest[0], "flush");
	ug_config_destroy(&cfg);

	char *argv2[] = {"prog", "--agency", "a1", "--json=no", NULL};
	CHECK_OK(load(&cfg, argv2, &rest, &nrest, &help, &diag));
	CHECK(!ug_config_bool(cfg, "json"));
	ug_config_destroy(&cfg);

	static const char *const truths[] = {"1",  "true", "yes",
					     "on", "TRUE", "Yes"};
	static const char *const lies[] = {"0",	  "false", "no",
					   "off", "False", "NO"};
	for (size_t i = 0; i < 6 + 6; i++) {
		const char *v = i < 6 ? truths[i] : lies[i - 6];
		char opt[64];
		snprintf(opt, sizeof opt, "--json=%s", v);
		char *argv3[] = {"prog", "--agency", "a1", opt, NULL};
		CHECK_OK(load(&cfg, argv3, &rest, &nrest, &help, &diag));
		if (ug_config_bool(cfg, "json") != (i < 6))
			FAIL("json = \"%s\": expected %s", v,
			     i < 6 ? "true" : "false");
		ug_config_destroy(&cfg);
		/* The same word as the option's next argument. */
		char *argv4[] = {"prog",    "--agency", "a1", "--json",
				 (char *)v, "import",	NULL};
		CHECK_OK(load(&cfg, argv4, &rest, &nrest, &help, &diag));
		if (ug_config_bool(cfg, "json") != (i < 6) || nrest != 1)
			FAIL("--json %s: expected %s and one argument", v,
			     i < 6 ? "true" : "false");
		ug_config_destroy(&cfg);
	}
}

/* A yes/no setting with another value is an error naming it (and the
 * line), never a quiet false. */
static void
test_bad_flag_values_refused(void)
{
	static const char *const bad[] = {"", "ja", "TRUE2", "y", "2"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char opt[64];
		snprintf(opt, sizeof opt, "--json=%s", bad[i]);
		char *argv[] = {"prog", "--agency", "a1", opt, NULL};
		ug_config *cfg = NULL;
		char **rest;
		int nrest;
		bool help;
		ug_diag diag;
		CHECK_ERR(load(&cfg, argv, &rest, &nrest, &help, &diag),
			  UG_EINVAL);
		CHECK_EQ_STR(diag.field, "json");
		CHECK(strstr(diag.reason, "json must be true or false") !=
		      NULL);
	}
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	CHECK_ERR(
	    load_file("flag.conf", "agency = a1\njson = ja\n", &cfg, &diag),
	    UG_EINVAL);
	CHECK(strstr(diag.reason, ":2: json must be true or false") != NULL);
	CHECK_EQ_INT(diag.line, 2);
	/* Set again, it is the value in force that is checked: a later
	 * line or option wins, as for every setting. */
	CHECK_OK(load_file("flag2.conf", "agency = a1\njson = ja\njson = no\n",
			   &cfg, &diag));
	CHECK(!ug_config_bool(cfg, "json"));
	ug_config_destroy(&cfg);
	char *twice[] = {"prog",      "--agency",   "a1",
			 "--json=ja", "--json=yes", NULL};
	CHECK_OK(load(&cfg, twice, &rest, &nrest, &help, &diag));
	CHECK(ug_config_bool(cfg, "json"));
	ug_config_destroy(&cfg);
	/* "--json" followed by something else leaves it an argument. */
	char *argv2[] = {"prog", "--agency", "a1", "--json", "ja", NULL};
	CHECK_OK(load(&cfg, argv2, &rest, &nrest, &help, &diag));
	CHECK(ug_config_bool(cfg, "json"));
	CHECK_EQ_INT(nrest, 1);
	CHECK_EQ_STR(rest[0], "ja");
	ug_config_destroy(&cfg);
}

static void
test_unknown_setting_names_line(void)
{
	const char *dir = ut_tmpdir();
	const char *path = write_conf(dir, "typo.conf",
				      "agency = a1\n"
				      "# comment\n"
				      "timeuot = 5\n");
	char *argv[] = {"prog", "--config", (char *)path, NULL};
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	CHECK_ERR(load(&cfg, argv, &rest, &nrest, &help, &diag), UG_EINVAL);
	CHECK(cfg == NULL);
	char want[PATH_MAX + 8];
	snprintf(want, sizeof want, "%s:3:", path);
	if (!strstr(diag.reason, want) || !strstr(diag.reason, "timeuot"))
		FAIL("reason should name %s and 'timeuot': \"%s\"", want,
		     diag.reason);

	/* A line without '=' names its line too. */
	path = write_conf(dir, "noeq.conf", "agency = a1\n\n\njson\n");
	char *argv2[] = {"prog", "--config", (char *)path, NULL};
	CHECK_ERR(load(&cfg, argv2, &rest, &nrest, &help, &diag),
		  UG_EMALFORMED);
	snprintf(want, sizeof want, "%s:4:", path);
	if (!strstr(diag.reason, want))
		FAIL("reason should name %s: \"%s\"", want, diag.reason);

	/* An unknown option on the command line. */
	char *argv3[] = {"prog", "--agency", "a1", "--bogus", "1", NULL};
	CHECK_ERR(load(&cfg, argv3, &rest, &nrest, &help, &diag), UG_EINVAL);
	CHECK(strstr(diag.reason, "--bogus") != NULL);
	char *argv4[] = {"prog", "--agency", "a1", "--bogus=1", NULL};
	CHECK_ERR(load(&cfg, argv4, &rest, &nrest, &help, &diag), UG_EINVAL);
	CHECK(strstr(diag.reason, "bogus") != NULL);
}

static void
test_required_missing(void)
{
	const char *dir = ut_tmpdir();
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	CHECK_ERR(load_file("c.conf", "timeout = 5\n", &cfg, &diag),
		  UG_EINVAL);
	CHECK(cfg == NULL);
	CHECK_EQ_STR(diag.field, "agency");
	CHECK(strstr(diag.reason, "--agency") != NULL);
	CHECK(strstr(diag.reason, "required") != NULL);
	/* Given in the file, it is satisfied. */
	const char *path = write_conf(dir, "d.conf", "agency=x\n");
	char *argv2[] = {"prog", "--config", (char *)path, NULL};
	CHECK_OK(load(&cfg, argv2, &rest, &nrest, &help, &diag));
	CHECK_EQ_STR(ug_config_get(cfg, "agency"), "x");
	ug_config_destroy(&cfg);
}

static void
test_bad_command_lines(void)
{
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	char *argv[] = {"prog", "--agency", "a1", "--timeout", NULL};
	CHECK_ERR(load(&cfg, argv, &rest, &nrest, &help, &diag), UG_EINVAL);
	CHECK(strstr(diag.reason, "--timeout") != NULL);
	char *argv2[] = {"prog", "--agency", "a1", "--config", NULL};
	CHECK_ERR(load(&cfg, argv2, &rest, &nrest, &help, &diag), UG_EINVAL);
	char *argv3[] = {"prog", "--config", "/nonexistent/ug.conf", NULL};
	CHECK_ERR(load(&cfg, argv3, &rest, &nrest, &help, &diag), UG_EIO);
	CHECK(strstr(diag.reason, "/nonexistent/ug.conf") != NULL);
	CHECK(cfg == NULL);
}

static void
test_help(void)
{
	/* --help wins over missing required settings; usage goes to stdout. */
	char *argv[] = {"prog", "--timeout", "3", "--help", NULL};
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help = false;
	ug_diag diag;
	/* Keep the usage text out of the test output. */
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	int devnull = open("/dev/null", O_WRONLY);
	CHECK(saved >= 0 && devnull >= 0);
	dup2(devnull, STDOUT_FILENO);
	ug_err err = load(&cfg, argv, &rest, &nrest, &help, &diag);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(devnull);
	CHECK_OK(err);
	CHECK(help);
	ug_config_destroy(&cfg);
}

static void
test_int_range(void)
{
	static const struct {
		const char *value;
		bool ok;
		long want;
	} cases[] = {
	    {"30", true, 30},
	    {"1", true, 1},
	    {"3600", true, 3600},
	    {"0", false, 0},
	    {"3601", false, 0},
	    {"-5", false, 0},
	    {"abc", false, 0},
	    {"10x", false, 0},
	    {"", false, 0},
	    {" 7", false, 0},
	    {"99999999999999999999999", false, 0},
	    {"1.5", false, 0},
	    {"+5", false, 0},
	    {"0x10", false, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char opt[64];
		snprintf(opt, sizeof opt, "--timeout=%s", cases[i].value);
		char *argv[] = {"prog", "--agency", "a", opt, NULL};
		ug_config *cfg = NULL;
		char **rest;
		int nrest;
		bool help;
		ug_diag diag;
		CHECK_OK(load(&cfg, argv, &rest, &nrest, &help, &diag));
		long v = -999;
		ug_err err = ug_config_int(cfg, "timeout", 1, 3600, &v, &diag);
		ug_config_destroy(&cfg);
		if (cases[i].ok && (err != UG_OK || v != cases[i].want))
			FAIL("timeout=\"%s\": expected %ld, got %s / %ld",
			     cases[i].value, cases[i].want, ug_strerror(err),
			     v);
		if (!cases[i].ok) {
			if (err != UG_EMALFORMED || v != -999)
				FAIL("timeout=\"%s\": expected malformed and "
				     "untouched value, got %s / %ld",
				     cases[i].value, ug_strerror(err), v);
			CHECK_EQ_STR(diag.field, "timeout");
			CHECK(strstr(diag.reason, "1 to 3600") != NULL);
		}
	}
}

/* The pairs ug_kv_read reported, joined as "name=value;". */
typedef struct {
	char seen[2048];
	int calls;
	const char *refuse; /* a name the callback refuses */
} kv_log;

static ug_err
kv_collect(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	kv_log *l = ctx;
	l->calls++;
	if (l->refuse && strcmp(name, l->refuse) == 0) {
		ug_diag_set(diag, name, "no %s here", name);
		return UG_EINVAL;
	}
	size_t used = strlen(l->seen);
	snprintf(l->seen + used, sizeof l->seen - used, "%s=%s;", name, value);
	return UG_OK;
}

static void
test_kv_syntax(void)
{
	const char *dir = ut_tmpdir();
	/* CRLF and LF lines, blanks and tabs around both sides, a value
	 * holding '=', a comment after blanks, a last line without a
	 * break. */
	const char *path = write_conf(dir, "kv.conf",
				      "a = 1\r\n"
				      "\t b\t=\t two words \r\n"
				      "   # c = 3\n"
				      "\r\n"
				      "url = tcp://h:1?x=y\n"
				      "empty =\n"
				      "last = end");
	kv_log l = {0};
	ug_diag diag = {0};
	CHECK_OK(ug_kv_read(path, 0, kv_collect, &l, &diag));
	CHECK_EQ_STR(l.seen, "a=1;b=two words;url=tcp://h:1?x=y;empty=;"
			     "last=end;");

	/* The same through guarded memory. */
	CHECK_OK(ug_crypto_init());
	memset(&l, 0, sizeof l);
	CHECK_OK(ug_kv_read(path, UG_KV_SECRET, kv_collect, &l, &diag));
	CHECK_EQ_STR(l.seen, "a=1;b=two words;url=tcp://h:1?x=y;empty=;"
			     "last=end;");
}

static void
test_kv_errors(void)
{
	const char *dir = ut_tmpdir();
	char want[PATH_MAX + 64];
	kv_log l = {0};
	ug_diag diag = {0};

	const char *path = write_conf(dir, "noname.conf", "a = 1\n = 2\n");
	CHECK_ERR(ug_kv_read(path, 0, kv_collect, &l, &diag), UG_EMALFORMED);
	snprintf(want, sizeof want, "%s:2: expected a name before '='", path);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_STR(diag.file, path);
	CHECK_EQ_INT(diag.line, 2);

	path = write_conf(dir, "noeq.conf", "a = 1\n\nb\n");
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(ug_kv_read(path, 0, kv_collect, &l, &diag), UG_EMALFORMED);
	snprintf(want, sizeof want, "%s:3: expected name = value", path);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_INT(diag.line, 3);

	/* The callback's refusal keeps its field and gains file and line. */
	path = write_conf(dir, "refuse.conf", "a = 1\nbad = 2\nc = 3\n");
	memset(&l, 0, sizeof l);
	l.refuse = "bad";
	CHECK_ERR(ug_kv_read(path, 0, kv_collect, &l, &diag), UG_EINVAL);
	snprintf(want, sizeof want, "%s:2: no bad here", path);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_STR(diag.field, "bad");
	CHECK_EQ_INT(l.calls, 2);

	snprintf(want, sizeof want, "%s/missing.conf", dir);
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(ug_kv_read(want, 0, kv_collect, &l, &diag), UG_ENOTFOUND);
	CHECK(strstr(diag.reason, "cannot open") != NULL);
	CHECK(strstr(diag.reason, "missing.conf") != NULL);
}

static void
test_kv_line_limit(void)
{
	const char *dir = ut_tmpdir();
	char text[2048], want[PATH_MAX + 64];
	/* Exactly UG_KV_LINE_MAX bytes before "\r\n" is still a line. */
	memset(text, 'x', sizeof text);
	memcpy(text, "v = ", 4);
	memcpy(text + UG_KV_LINE_MAX, "\r\n", 2);
	snprintf(text + UG_KV_LINE_MAX + 2, 64, "w = 1\n");
	const char *path = write_conf(dir, "max.conf", text);
	kv_log l = {0};
	ug_diag diag = {0};
	/* A read that succeeds leaves the caller's diag as it was. */
	diag.line = 77;
	CHECK_OK(ug_kv_read(path, 0, kv_collect, &l, &diag));
	CHECK_EQ_INT(diag.line, 77);
	CHECK_EQ_STR(diag.file, "");
	diag.line = 0;
	CHECK_EQ_INT(l.calls, 2);
	CHECK_EQ_INT(strlen(l.seen), strlen("v=;w=1;") + UG_KV_LINE_MAX - 4);

	/* A UTF-8 byte order mark (a Windows editor's) is no part of the
	 * first name, and CRLF ends a line. */
	const char *bom =
	    write_conf(dir, "bom.conf", "\xef\xbb\xbfv = 1\r\nw = 2\r\n");
	kv_log b = {0};
	CHECK_OK(ug_kv_read(bom, 0, kv_collect, &b, &diag));
	CHECK_EQ_STR(b.seen, "v=1;w=2;");
	/* A CR alone ends a line too (an editor shows it as one), also
	 * after a comment, and is counted as a line in a diag. */
	const char *cr = write_conf(dir, "cr.conf", "# c\rv = 1\r\rw = 2\r");
	kv_log r = {0};
	CHECK_OK(ug_kv_read(cr, 0, kv_collect, &r, &diag));
	CHECK_EQ_STR(r.seen, "v=1;w=2;");
	cr = write_conf(dir, "crbad.conf", "# c\rv = 1\r\r= 2\r\nw = 3\n");
	memset(&diag, 0, sizeof diag);
	CHECK(ug_kv_read(cr, 0, kv_collect, &r, &diag) != UG_OK);
	CHECK_EQ_INT(diag.line, 4);
	memset(&diag, 0, sizeof diag);
	/* Nor does it count towards the first line's 510 bytes. */
	for (int over = 0; over < 2; over++) {
		memset(text, 'x', sizeof text);
		memcpy(text, "\xef\xbb\xbfv = ", 7);
		size_t len = 3 + UG_KV_LINE_MAX + over;
		memcpy(text + len, "\r\nw = 2\n", 9);
		text[len + 9] = '\0';
		path = write_conf(dir, "bomlong.conf", text);
		memset(&b, 0, sizeof b);
		memset(&diag, 0, sizeof diag);
		if (over) {
			CHECK_ERR(ug_kv_read(path, 0, kv_collect, &b, &diag),
				  UG_EMALFORMED);
			CHECK(strstr(diag.reason, "longer than 510 bytes"));
		} else {
			CHECK_OK(ug_kv_read(path, 0, kv_collect, &b, &diag));
			CHECK_EQ_INT(b.calls, 2);
		}
	}

	/* One byte more is refused, and a '=' in its tail is never read
	 * as a setting of its own. */
	for (int tail_break = 0; tail_break < 2; tail_break++) {
		memset(text, ' ', sizeof text);
		memcpy(text, "# ", 2);
		memcpy(text + 600, "=x", 2);
		size_t len = tail_break ? 900 : UG_KV_LINE_MAX + 1;
		text[len] = '\n';
		snprintf(text + len + 1, 64, "w = 1\n");
		path = write_conf(dir, "long.conf", text);
		memset(&l, 0, sizeof l);
		memset(&diag, 0, sizeof diag);
		CHECK_ERR(ug_kv_read(path, 0, kv_collect, &l, &diag),
			  UG_EMALFORMED);
		snprintf(want, sizeof want, "%s:1: line longer than 510 bytes",
			 path);
		CHECK_EQ_STR(diag.reason, want);
		CHECK_EQ_INT(l.calls, 0);
	}

	/* A NUL byte (the zeros a crash can leave in a file being written)
	 * is named as such, short line or not, and ends the reading. */
	static const char zeros[][24] = {"v = 1\nw = \0\0\0\n",
					 "v = 1\n\0\0\0\0\0\0\0\0"};
	for (size_t i = 0; i < 2; i++) {
		snprintf(want, sizeof want, "%s/nul%zu.conf", dir, i);
		FILE *f = fopen(want, "w");
		CHECK(f != NULL);
		fwrite(zeros[i], 1, i ? 14 : 15, f);
		fclose(f);
		memset(&l, 0, sizeof l);
		memset(&diag, 0, sizeof diag);
		CHECK_ERR(ug_kv_read(want, 0, kv_collect, &l, &diag),
			  UG_EMALFORMED);
		CHECK_EQ_INT(l.calls, 1);
		char said[sizeof want + 64];
		snprintf(said, sizeof said,
			 "%s:2: a NUL byte: not a text file", want);
		CHECK_EQ_STR(diag.reason, said);
	}
}

/* A bad value of the "timeout" setting is named by its file and line. */
static void
check_timeout_named(ug_config *cfg, const char *file, int line)
{
	long v;
	ug_diag diag = {0};
	char want[PATH_MAX + 64];
	CHECK_ERR(ug_config_int(cfg, "timeout", 0, 9, &v, &diag),
		  UG_EMALFORMED);
	snprintf(want, sizeof want,
		 "%s:%d: timeout must be a whole number from 0 to 9", file,
		 line);
	CHECK_EQ_STR(diag.reason, want);
}

/* "--" ends the options: what follows is arguments, even "--config" or a
 * name that starts with "-"; only what the command line set counts as
 * given. */
static void
test_double_dash_and_given(void)
{
	const char *path = write_conf(ut_tmpdir(), "given.conf",
				      "rejects = from-file\ntimeout = 9\n");
	char *argv[] = {"prog",	  "--config",	 (char *)path, "--agency",
			"a1",	  "--timeout=5", "import",     "--",
			"--json", "-",		 "--config",   NULL};
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	CHECK_OK(load(&cfg, argv, &rest, &nrest, &help, &diag));
	CHECK_EQ_INT(nrest, 4);
	CHECK_EQ_STR(rest[0], "import");
	CHECK_EQ_STR(rest[1], "--json");
	CHECK_EQ_STR(rest[2], "-");
	CHECK_EQ_STR(rest[3], "--config");
	CHECK(!ug_config_bool(cfg, "json"));
	CHECK(ug_config_given(cfg, "agency"));
	CHECK(ug_config_given(cfg, "timeout"));
	CHECK(!ug_config_given(cfg, "rejects"));
	CHECK(!ug_config_given(cfg, "hub"));
	CHECK(!ug_config_given(cfg, "no_such_setting"));
	CHECK_EQ_STR(ug_config_get(cfg, "rejects"), "from-file");
	ug_config_destroy(&cfg);

	/* Where a value came from: the file line in force, or nowhere. */
	const char *where = write_conf(ut_tmpdir(), "where2.conf",
				       "timeout = 1\n\nrejects = a\n"
				       "timeout = x\n");
	char *argv3[] = {"prog", "--config",  (char *)where, "--agency",
			 "a1",	 "--rejects", "b",	     NULL};
	CHECK_OK(load(&cfg, argv3, &rest, &nrest, &help, &diag));
	char want[PATH_MAX + 16];
	snprintf(want, sizeof want, "%s:4: ", where);
	CHECK_EQ_STR(ug_config_where(cfg, "timeout"), want);
	CHECK_EQ_STR(ug_config_where(cfg, "rejects"), "");
	CHECK_EQ_STR(ug_config_where(cfg, "hub"), "");
	check_timeout_named(cfg, where, 4);
	ug_config_destroy(&cfg);

	/* --config=FILE, as any option may be written --name=value. */
	char opt[PATH_MAX + 16];
	snprintf(opt, sizeof opt, "--config=%s",
		 write_conf(ut_tmpdir(), "eq.conf", "rejects = from-file\n"));
	char *argv4[] = {"prog", opt, "--agency", "a1", NULL};
	CHECK_OK(load(&cfg, argv4, &rest, &nrest, &help, &diag));
	CHECK_EQ_STR(ug_config_get(cfg, "rejects"), "from-file");
	CHECK_EQ_INT(nrest, 0);
	ug_config_destroy(&cfg);
	char *argv5[] = {"prog", "--config=", "--agency", "a1", NULL};
	CHECK_ERR(load(&cfg, argv5, &rest, &nrest, &help, &diag), UG_EINVAL);
	CHECK_EQ_STR(diag.reason, "--config needs a file name");

	/* An option's value is never taken for "--", --config or --help:
	 * both passes read the command line alike. */
	char *cfgfile =
	    (char *)write_conf(ut_tmpdir(), "val.conf", "timeout = 7\n");
	char *argv6[] = {"prog",     "--agency", "a1",	  "--rejects", "--",
			 "--config", cfgfile,	 "--hub", "--help",    NULL};
	CHECK_OK(load(&cfg, argv6, &rest, &nrest, &help, &diag));
	CHECK(!help);
	CHECK_EQ_INT(nrest, 0);
	CHECK_EQ_STR(ug_config_get(cfg, "rejects"), "--");
	CHECK_EQ_STR(ug_config_get(cfg, "timeout"), "7");
	CHECK_EQ_STR(ug_config_get(cfg, "hub"), "--help");
	ug_config_destroy(&cfg);

	/* --help after "--" is an argument too. */
	char *argv2[] = {"prog", "--agency", "a1", "--", "--help", NULL};
	CHECK_OK(load(&cfg, argv2, &rest, &nrest, &help, &diag));
	CHECK(!help);
	CHECK_EQ_INT(nrest, 1);
	CHECK_EQ_STR(rest[0], "--help");
	ug_config_destroy(&cfg);
}

/* A file named by more than diag->file's 255 bytes is named whole where
 * a value of it is refused (OPERATIONS.md: "a bad value read from a file
 * is reported with that file and line before the reason, in every
 * program"): cut, the name was a directory's. */
static void
test_long_file_name_is_named_whole(void)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", ut_tmpdir());
	for (int i = 0; i < 3; i++) {
		size_t n = strlen(dir);
		snprintf(dir + n, sizeof dir - n, "/%0120d", i);
		CHECK(mkdir(dir, 0700) == 0);
	}
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s",
		 write_conf(dir, "long.conf", "timeout = x\njson = maybe\n"));
	CHECK(strlen(path) > 300);
	char *argv[] = {"prog", "--config", path, "--agency", "a1", NULL};
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag;
	CHECK_ERR(load(&cfg, argv, &rest, &nrest, &help, &diag), UG_EINVAL);
	char want[PATH_MAX + 128];
	snprintf(want, sizeof want,
		 "%s:2: json must be true or false (or yes/no, on/off, 1/0), "
		 "not 'maybe'",
		 path);
	CHECK_EQ_STR(diag.reason, want);
	CHECK_EQ_INT(diag.line, 2);
	CHECK(strncmp(diag.file, path, sizeof diag.file - 1) == 0);

	char *argv2[] = {"prog", "--config", path, "--agency",
			 "a1",	 "--json",   "no", NULL};
	CHECK_OK(load(&cfg, argv2, &rest, &nrest, &help, &diag));
	snprintf(want, sizeof want, "%s:1: ", path);
	CHECK_EQ_STR(ug_config_where(cfg, "timeout"), want);
	check_timeout_named(cfg, path, 1);
	ug_config_destroy(&cfg);
}

/* The --config files as ug_config_load reads them, in order, --config=FILE
 * too: hubd checks each of them line by line before it loads the whole. */
static void
test_next_file(void)
{
	char *argv[] = {"prog",	    "--config",	  "a.conf",   "--rejects",
			"--config", "--config=b", "--json",   "--config",
			"c.conf",   "--",	  "--config", "d.conf",
			NULL};
	int argc = (int)(sizeof argv / sizeof *argv) - 1;
	int pos = 0;
	CHECK_EQ_STR(ug_config_next_file(settings, argc, argv, &pos),
		     "a.conf");
	CHECK_EQ_STR(ug_config_next_file(settings, argc, argv, &pos), "b");
	CHECK_EQ_STR(ug_config_next_file(settings, argc, argv, &pos),
		     "c.conf");
	CHECK(ug_config_next_file(settings, argc, argv, &pos) == NULL);
	CHECK(ug_config_next_file(settings, argc, argv, &pos) == NULL);

	/* Nothing after --help is read; an empty --config= is no file. */
	char *argv2[] = {"prog", "--config=", "--help", "--config", "e", NULL};
	pos = 0;
	CHECK(ug_config_next_file(settings, 5, argv2, &pos) == NULL);
	char *argv3[] = {"prog", "--config", NULL};
	pos = 0;
	CHECK(ug_config_next_file(settings, 2, argv3, &pos) == NULL);

	/* What the command line sets, as the load takes it, files unread. */
	CHECK_EQ_STR(ug_config_arg(settings, argc, argv, "rejects"),
		     "--config");
	CHECK(ug_config_arg(settings, argc, argv, "timeout") == NULL);
	CHECK_EQ_STR(ug_config_arg(settings, argc, argv, "json"), "true");
	char *argv4[] = {"prog", "--timeout",	"5",  "--json",
			 "no",	 "--timeout=7", "--", "--timeout",
			 "9",	 NULL};
	CHECK_EQ_STR(ug_config_arg(settings, 9, argv4, "timeout"), "7");
	CHECK_EQ_STR(ug_config_arg(settings, 9, argv4, "json"), "no");
	CHECK(ug_config_arg(settings, 9, argv4, "hub") == NULL);
}

TEST_LIST = {
    {"double dash and given", test_double_dash_and_given},
    {"next file", test_next_file},
    {"long file name is named whole", test_long_file_name_is_named_whole},
    {"file and override", test_file_and_override},
    {"defaults and flags", test_defaults_and_flags},
    {"bad flag values refused", test_bad_flag_values_refused},
    {"unknown setting names line", test_unknown_setting_names_line},
    {"required missing", test_required_missing},
    {"bad command lines", test_bad_command_lines},
    {"help", test_help},
    {"int range", test_int_range},
    {"kv syntax", test_kv_syntax},
    {"kv errors", test_kv_errors},
    {"kv line limit", test_kv_line_limit},
    {NULL, NULL},
};
