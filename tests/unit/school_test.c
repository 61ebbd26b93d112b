/*
 * adapters/school and the runtime's import side: rows become the
 * envelopes SPEC describes, event ids are deterministic (and computed
 * here independently from the natural key), every rejection has its
 * clerk-readable reason without the CPR, and a whole import through
 * adapter_main fills the outbox, the rejects file and the summary. The
 * import cases point the adapter at a closed port with timeout 0, so no
 * hub is involved; the CPRs are synthetic. The readiness and leaving
 * kinds' rows become ReadinessAssessment and SchoolLeaving envelopes,
 * with their keys, corrections and refusals (with tests/unit/
 * agency_cases.h, as the other agencies' tests).
 */
#include "adapters/adapter.h"

#include <signal.h>
#include <sodium.h>
#include <zmq.h>

#include "common/keys.h"
#include "common/util.h"
#include "store/outbox.h"
#include "tests/unit/agency_cases.h"
#include "tests/unit/check.h"

enum { CPR, SCHOOL, START, END, ABSENT, EXPECTED, KIND, GRADE, NCOLS };

static const uint8_t test_hash_key[UG_KEY_LEN] = {
    1,	2,  3,	4,  5,	6,  7,	8,  9,	10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

#define NOW_MS INT64_C(1717000000000)

static void
good_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[CPR] = "150309-4321";
	row->field[SCHOOL] = "280017";
	row->field[START] = "2024-03-04";
	row->field[END] = "2024-03-29";
	row->field[ABSENT] = "12";
	row->field[EXPECTED] = "120";
	row->field[KIND] = "ulovligt";
	row->field[GRADE] = "8b";
}

/* parse_row then finish, as the runtime does. */
static ug_err
make_event(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	adapter_event_init(ev);
	memset(diag, 0, sizeof *diag);
	ug_err err = school_absence_kind.parse_row(row, ev, diag);
	if (err == UG_OK)
		err = adapter_event_finish(ev, "school-test", test_hash_key,
					   NOW_MS, diag);
	return err;
}

static void
test_columns(void)
{
	const csv_column *c = school_absence_kind.columns;
	CHECK_EQ_STR(school_ops.name, "school");
	CHECK_EQ_STR(c[CPR].name, "cpr");
	CHECK_EQ_STR(c[GRADE].name, "grade");
	CHECK(!c[GRADE].required);
	CHECK(c[KIND].required);
	CHECK(c[NCOLS].name == NULL);
	CHECK(csv_column_matches(&c[ABSENT], "FRAV\xC3\x86R"));
	CHECK(csv_column_matches(&c[KIND], "Frav\xC3\xA6rstype"));
	CHECK(csv_column_matches(&c[CPR], "CPR_NR"));
	CHECK(csv_column_matches(&c[END], "Til"));
	CHECK(csv_column_matches(&c[EXPECTED], "lektioner"));
	CHECK(csv_column_matches(&c[SCHOOL], "Institution"));
}

static void
test_row_to_envelope(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	good_row(&row);
	CHECK_OK(make_event(&row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_STR(e->agency, "school-test");
	CHECK_EQ_INT(e->schema_version, 1);
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	int32_t end;
	CHECK_OK(ug_date_parse("2024-03-29", &end));
	CHECK_EQ_INT(e->occurred_at, (int64_t)end * 86400000);
	CHECK_EQ_INT(e->sent_at, NOW_MS);
	CHECK_EQ_INT(e->valid_until, 0);
	CHECK_EQ_INT(e->payload_case,
		     UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT);
	const Ungebro__V1__AbsenceReport *a = e->absence_report;
	CHECK_EQ_STR(a->school, "280017");
	CHECK_EQ_STR(a->period_start, "2024-03-04");
	CHECK_EQ_STR(a->period_end, "2024-03-29");
	CHECK_EQ_INT(a->lessons_absent, 12);
	CHECK_EQ_INT(a->lessons_expected, 120);
	CHECK_EQ_INT(a->kind, UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL);
	CHECK_EQ_INT(a->grade, 8);
	CHECK(!a->unit_days);
	CHECK_EQ_INT(ev.natural_key_len, 0); /* wiped: it held the CPR */

	/* The frame survives a round trip through the wire code. */
	uint8_t frame[1024];
	int kind = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, code;
	size_t len = wire_encode(kind, e, frame, sizeof frame);
	CHECK(len > 0);
	void *msg;
	CHECK_OK(wire_decode(frame, len, &kind, &msg, &code, &diag));
	const wire_envelope *back = msg;
	CHECK_EQ_STR(back->cpr, "1503094321");
	CHECK_EQ_MEM(back->event_id.data, ev.event_id, 16);
	CHECK_EQ_INT(back->absence_report->lessons_absent, 12);
	wire_free(kind, msg);
}

static void
test_event_id_layout(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	good_row(&row);
	CHECK_OK(make_event(&row, &ev, &diag));
	/* Bytes 0-7: big-endian occurred_at. */
	uint64_t t = 0;
	for (int i = 0; i < 8; i++)
		t = t << 8 | ev.event_id[i];
	CHECK_EQ_INT((int64_t)t, ev.env.occurred_at);
	/* Bytes 8-15: BLAKE2b-128(hash_key, natural key), first half,
	 * computed here straight from libsodium. */
	static const char key[] = "absence\x1f"
				  "280017\x1f"
				  "1503094321\x1f"
				  "2024-03-04\x1f"
				  "2024-03-29\x1f"
				  "3";
	uint8_t hash[16];
	crypto_generichash(hash, sizeof hash, (const uint8_t *)key,
			   sizeof key - 1, test_hash_key, UG_KEY_LEN);
	CHECK_EQ_MEM(ev.key_hash, hash, 16);
}

static void
test_event_id_determinism(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t first[16];
	good_row(&row);
	CHECK_OK(make_event(&row, &ev, &diag));
	memcpy(first, ev.event_id, 16);

	uint8_t first_key[16];
	memcpy(first_key, ev.key_hash, 16);

	/* Same report again, CPR written without the dash, the kind in
	 * English, dates in the Danish form: the same id. */
	row.field[CPR] = "1503094321";
	row.field[KIND] = "Unlawful";
	row.field[START] = "04-03-2024";
	row.field[END] = "29.03.2024";
	CHECK_OK(make_event(&row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, first, 16);

	/* Counts corrected: the same natural key, another id (a correction
	 * the outbox links to the first). */
	row.field[ABSENT] = "13";
	row.field[GRADE] = NULL;
	CHECK_OK(make_event(&row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, first_key, 16);
	CHECK_EQ_MEM(ev.event_id, first, 8);
	CHECK(memcmp(ev.event_id + 8, first + 8, 8) != 0);

	/* Any part of the natural key changes it. */
	const struct {
		int col;
		const char *value;
	} changes[] = {
	    {CPR, "150309-4322"}, {SCHOOL, "280018"}, {START, "2024-03-05"},
	    {END, "2024-03-28"},  {KIND, "illness"},
	};
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		good_row(&row);
		row.field[changes[i].col] = changes[i].value;
		CHECK_OK(make_event(&row, &ev, &diag));
		if (memcmp(ev.event_id, first, 16) == 0)
			FAIL("changing column %d left the event id unchanged",
			     changes[i].col);
	}
	/* So does another agency's hash key. */
	good_row(&row);
	adapter_event_init(&ev);
	memset(&diag, 0, sizeof diag);
	CHECK_OK(school_absence_kind.parse_row(&row, &ev, &diag));
	uint8_t key2[UG_KEY_LEN] = {0};
	CHECK_OK(
	    adapter_event_finish(&ev, "school-test", key2, NOW_MS, &diag));
	CHECK(memcmp(first + 8, ev.event_id + 8, 8) != 0);
	CHECK(memcmp(first_key, ev.key_hash, 16) != 0);
	CHECK_EQ_MEM(first, ev.event_id, 8);
}

static void
test_kinds_and_grades(void)
{
	CHECK_OK(ug_crypto_init());
	static const struct {
		const char *text;
		int kind;
	} kinds[] = {
	    {"illness", UNGEBRO__V1__ABSENCE_KIND__ILLNESS},
	    {"SYGDOM", UNGEBRO__V1__ABSENCE_KIND__ILLNESS},
	    {"Permitted", UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE},
	    {"lovligt", UNGEBRO__V1__ABSENCE_KIND__PERMITTED_LEAVE},
	    {"unlawful", UNGEBRO__V1__ABSENCE_KIND__UNLAWFUL},
	    {"all", UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS},
	    {"Alle", UNGEBRO__V1__ABSENCE_KIND__ALL_KINDS},
	};
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		good_row(&row);
		row.field[KIND] = kinds[i].text;
		CHECK_OK(make_event(&row, &ev, &diag));
		CHECK_EQ_INT(ev.payload.absence_report.kind, kinds[i].kind);
	}
	static const struct {
		const char *text;
		int grade;
	} grades[] = {
	    {"0", 0},	  {"9", 9},  {"9a", 9}, {"9.b", 9},
	    {"10 X", 10}, {"07", 7}, {"", 0},	{NULL, 0},
	};
	for (size_t i = 0; i < sizeof grades / sizeof grades[0]; i++) {
		good_row(&row);
		row.field[GRADE] = grades[i].text;
		CHECK_OK(make_event(&row, &ev, &diag));
		CHECK_EQ_INT(ev.payload.absence_report.grade, grades[i].grade);
	}
	/* Equal counts and zero absence are both fine. */
	good_row(&row);
	row.field[ABSENT] = "120";
	CHECK_OK(make_event(&row, &ev, &diag));
	row.field[ABSENT] = "0";
	CHECK_OK(make_event(&row, &ev, &diag));
	row.field[END] = row.field[START];
	CHECK_OK(make_event(&row, &ev, &diag));
}

static void
test_rejections(void)
{
	CHECK_OK(ug_crypto_init());
	static const struct {
		int col;
		const char *value;
		const char *field, *reason;
	} cases[] = {
	    {CPR, "", "cpr", "cpr is empty"},
	    {CPR, "150309-432", "cpr", "not a CPR number"},
	    {CPR, "320309-4321", "cpr", "not a CPR number"},
	    {CPR, "15030943210", "cpr", "not a CPR number"},
	    {CPR, "15a309-4321", "cpr", "not a CPR number"},
	    {SCHOOL, "", "school", "school is empty"},
	    {SCHOOL,
	     "28\x01"
	     "0017",
	     "school", "control character"},
	    {START, "", "period_start", "period_start is empty"},
	    {START, "2024/03/04", "period_start",
	     "not a date (YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)"},
	    {START, "04-03.2024", "period_start", "not a date"},
	    {START, "31.04.2024", "period_start", "not a date"},
	    /* Placeholders, not real dates: named as such (they used to
	     * reach the envelope check as "occurred_at is required"). */
	    {START, "1900-01-01", "period_start",
	     "period_start 1900-01-01 is a placeholder date, not a real one"},
	    {END, "01.01.1900", "period_end",
	     "period_end 1900-01-01 is a placeholder date, not a real one"},
	    {END, "9999-12-31", "period_end",
	     "period_end 9999-12-31 is a placeholder date"},
	    {START, "1989-12-31", "period_start",
	     "period_start 1989-12-31 is out of range (1990-01-01 to "
	     "2099-12-31)"},
	    {END, "2024-02-30", "period_end", "not a date"},
	    {END, "2024-03-03", "period_end",
	     "period_end 2024-03-03 is "
	     "before period_start "
	     "2024-03-04"},
	    {END, "2025-03-29", "period_end", "longer than a year"},
	    {ABSENT, "", "lessons_absent", "lessons_absent is empty"},
	    {ABSENT, "-1", "lessons_absent", "not a whole number"},
	    {ABSENT, "2.5", "lessons_absent", "not a whole number"},
	    /* Ten digits (a CPR in the wrong column) read as over the
	     * limit like any other large count, never quoted. */
	    {ABSENT, "1503094321", "lessons_absent",
	     "lessons_absent is more than lessons_expected 120"},
	    {EXPECTED, "1503094321", "lessons_expected",
	     "lessons_expected is more than 65535"},
	    {ABSENT, "121", "lessons_absent",
	     "lessons_absent 121 is more "
	     "than lessons_expected 120"},
	    {EXPECTED, "0", "lessons_expected", "must be more than 0"},
	    {EXPECTED, "65536", "lessons_expected",
	     "lessons_expected 65536 is more than 65535"},
	    {EXPECTED, "ti", "lessons_expected", "not a whole number"},
	    {KIND, "", "kind", "kind is empty"},
	    {KIND, "sick", "kind",
	     "kind must be illness, permitted, "
	     "unlawful or all"},
	    {GRADE, "11", "grade", "grade 11 is not from 0 to 10"},
	    {GRADE, "9ab1", "grade", "class level from 0 to 10"},
	    {GRADE, "x", "grade", "class level from 0 to 10"},
	    {GRADE, "100", "grade", "class level from 0 to 10"},
	};
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		good_row(&row);
		row.field[cases[i].col] = cases[i].value;
		ug_err err = make_event(&row, &ev, &diag);
		if (err != UG_EMALFORMED)
			FAIL("case %zu (%s): expected malformed, got %s", i,
			     cases[i].reason, ug_strerror(err));
		CHECK_EQ_STR(diag.field, cases[i].field);
		if (!strstr(diag.reason, cases[i].reason))
			FAIL("case %zu: reason \"%s\" lacks \"%s\"", i,
			     diag.reason, cases[i].reason);
		CHECK(!strstr(diag.reason, "150309"));
		CHECK(!strstr(diag.reason, "1503094321"));
	}
	/* Another report of the same row in lessons_absent (the CPR pasted
	 * into the wrong column) must not be quoted back either. */
	good_row(&row);
	row.field[ABSENT] = "150309-4321";
	CHECK_ERR(make_event(&row, &ev, &diag), UG_EMALFORMED);
	CHECK(!strstr(diag.reason, "150309"));
}

/* ---- the import path, through adapter_main ------------------------ */

struct run {
	int code;
	char out[2048], err[8192];
	char files[4096]; /* the per-file lines printed before the summary */
};

static void
slurp(const char *path, char *buf, size_t cap)
{
	size_t len = 0;
	uint8_t *data = ut_read_file(path, &len);
	CHECK(data);
	if (len >= cap)
		len = cap - 1;
	memcpy(buf, data, len);
	buf[len] = '\0';
	free(data);
}

/* Run adapter-school in this process with stdout and stderr captured. */
static void
run_adapter(const char *dir, struct run *r, const char *const *args)
{
	char keys[512], outbox_dir[512], opath[512], epath[512];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	snprintf(outbox_dir, sizeof outbox_dir, "%s/outbox", dir);
	snprintf(opath, sizeof opath, "%s/stdout", dir);
	snprintf(epath, sizeof epath, "%s/stderr", dir);
	char *argv[32] = {"adapter-school", "--agency", "school-test",
			  "--keys_dir",	    keys,	"--outbox",
			  outbox_dir,	    "--hub",	"tcp://127.0.0.1:1",
			  "--timeout",	    "0",	"--json",
			  "--log_level",    "warn"};
	int argc = 14;
	for (size_t i = 0; args[i]; i++)
		argv[argc++] = (char *)args[i];
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	int fo = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int fe = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fo >= 0 && fe >= 0);
	dup2(fo, 1);
	dup2(fe, 2);
	r->code = adapter_main(&school_ops, argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(fo), close(fe), close(saved_out), close(saved_err);
	slurp(opath, r->files, sizeof r->files);
	slurp(epath, r->err, sizeof r->err);
	/* The summary is the last line; one line per file comes before. */
	size_t len = strlen(r->files);
	char *last = r->files + len;
	while (last > r->files && last[-1] == '\n')
		last--;
	while (last > r->files && last[-1] != '\n')
		last--;
	ug_strlcpy(r->out, last, sizeof r->out);
	*last = '\0';
}

static void
write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");
	CHECK(f);
	fputs(text, f);
	fclose(f);
}

static const char import_csv[] =
    "\xEF\xBB\xBF"
    "CPR;Skole;Fra;Til;Frav\xC3\xA6r;Lektioner;Type;Klasse;Navn\r\n"
    "150309-4321;280017;2024-03-04;2024-03-29;12;120;ulovligt;8b;A\r\n"
    "010110-1234;280017;2024-03-04;2024-03-29;30;24;sygdom;9;B\r\n"
    "\r\n"
    "0101101234;280017;2024-03-04;2024-03-29;3;120;sygdom;9;\"C\r\nD\"\r\n"
    "311299-1111;280017;2024-03-04;2024-03-29;1;120;fri;9;E\r\n"
    "280208-2222;\"280;17\";2024-03-01;2024-03-29;0;100;alle;0;F\r\n"
    "999999-9999;280017;2024-03-04;2024-03-29;1;120;alle;7;G\r\n";

/* Count the outbox's pending frames and check each decodes. */
struct scan_ctx {
	int n;
	int bad;
};

static ug_err
scan_fn(void *ctx, const uint8_t *id, const uint8_t *frame, size_t len)
{
	struct scan_ctx *sc = ctx;
	int kind, code;
	void *msg;
	ug_diag d;
	if (wire_decode(frame, len, &kind, &msg, &code, &d) != UG_OK) {
		sc->bad++;
		return UG_OK;
	}
	const wire_envelope *e = msg;
	if (e->event_id.len != 16 || memcmp(e->event_id.data, id, 16) ||
	    strcmp(e->agency, "school-test") || strlen(e->cpr) != 10)
		sc->bad++;
	wire_free(kind, msg);
	sc->n++;
	return UG_OK;
}

static void
setup_keys(const char *dir)
{
	char keys[512];
	snprintf(keys, sizeof keys, "%s/keys", dir);
	CHECK(mkdir(keys, 0700) == 0);
	ug_diag d = {0};
	CHECK_OK(ug_crypto_init());
	CHECK_OK(ug_keys_generate(keys, "school-test", &d));
	CHECK_OK(ug_keys_generate(keys, "hub", &d));
}

static void
test_import(void)
{
	const char *dir = ut_tmpdir();
	setup_keys(dir);
	char csv[512], rejects[600];
	snprintf(csv, sizeof csv, "%s/absence.csv", dir);
	snprintf(rejects, sizeof rejects, "%s.rejects.csv", csv);
	write_text(csv, import_csv);
	struct run r;
	const char *args[] = {"--ignore_columns", "navn", "import", csv, NULL};
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 2); /* no hub: all stays in the outbox */
	/* What the file was read as comes first, then the summary. */
	if (!strstr(r.files, "\"status\": \"done\", \"format\": \"csv\", "
			     "\"encoding\": \"utf-8\", \"encoding_detected\": "
			     "true, \"kind\": \"absence\", \"rows\": 6"))
		FAIL("no file line: %s", r.files);
	CHECK_EQ_STR(r.out,
		     "{\"rows\": 6, \"events\": 3, \"queued\": 3, "
		     "\"corrections\": 0, \"accepted\": 0, \"duplicates\": 0, "
		     "\"rejected_rows\": 3, \"rejected_by_hub\": 0, "
		     "\"pending\": 3}\n");
	/* One diagnostic per bad row, FILE:LINE: column COL: reason, named
	 * as the file names the column, with no CPR. */
	char want[1024];
	snprintf(want, sizeof want,
		 "%s:3: column Frav\xC3\xA6r: lessons_absent "
		 "30 is more than lessons_expected 24\n",
		 csv);
	if (!strstr(r.err, want))
		FAIL("stderr lacks \"%s\":\n%s", want, r.err);
	snprintf(want, sizeof want, "%s:7: column Type: kind must be", csv);
	CHECK(strstr(r.err, want));
	snprintf(want, sizeof want, "%s:9: column CPR: cpr is not a CPR", csv);
	CHECK(strstr(r.err, want));
	CHECK(!strstr(r.err, "010110"));
	CHECK(!strstr(r.err, "311299"));
	CHECK(!strstr(r.err, "999999"));

	/* The rejects file: its header, then each row verbatim. */
	char text[4096];
	slurp(rejects, text, sizeof text);
	CHECK_EQ_STR(
	    text,
	    "\xEF\xBB\xBF" /* the input had a byte order mark */
	    "line;column;reason;CPR;Skole;Fra;Til;Frav\xC3\xA6r;Lektioner;"
	    "Type;Klasse;Navn\r\n"
	    "3;Frav\xC3\xA6r;lessons_absent 30 is more than lessons_expected "
	    "24;010110-1234;280017;2024-03-04;2024-03-29;30;24;sygdom;9;B\r\n"
	    "7;Type;kind must be illness, permitted, unlawful or all "
	    "(sygdom, lovligt, ulovligt, alle);311299-1111;280017;2024-03-04;"
	    "2024-03-29;1;120;fri;9;E\r\n"
	    "9;CPR;cpr is not a CPR number: DDMMYY is not a real birth "
	    "date;999999-9999;280017;2024-03-04;2024-03-29;1;120;"
	    "alle;7;G\r\n");
	struct stat st;
	CHECK(stat(rejects, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);

	/* The outbox holds three decodable frames, sealed on disk. */
	char keypath[512], outbox_dir[512];
	snprintf(keypath, sizeof keypath, "%s/keys/school-test.key_secret",
		 dir);
	snprintf(outbox_dir, sizeof outbox_dir, "%s/outbox", dir);
	ug_keys *keys;
	ug_diag d = {0};
	CHECK_OK(ug_keys_load_secret(&keys, keypath, &d));
	outbox *ob;
	CHECK_OK(outbox_open(&ob, outbox_dir, keys->storage_key, 0, &d));
	struct scan_ctx sc = {0, 0};
	CHECK_OK(outbox_scan(ob, NULL, 100, scan_fn, &sc));
	CHECK_EQ_INT(sc.n, 3);
	CHECK_EQ_INT(sc.bad, 0);
	outbox_close(&ob);
	ug_keys_destroy(&keys);
	int files = 0;
	CHECK_EQ_INT(ut_dir_contains(outbox_dir, "1503094321", 10, &files), 0);
	CHECK(files > 0);
}

struct collect_ctx {
	uint8_t ids[16][16];
	size_t n;
};

static ug_err
collect_fn(void *ctx, const uint8_t *id, const uint8_t *frame, size_t len)
{
	(void)frame, (void)len;
	struct collect_ctx *cc = ctx;
	if (cc->n == 16)
		return UG_EFULL;
	memcpy(cc->ids[cc->n++], id, 16);
	return UG_OK;
}

static void
test_reimport(void)
{
	const char *dir = ut_tmpdir();
	setup_keys(dir);
	char csv[512];
	snprintf(csv, sizeof csv, "%s/absence.csv", dir);
	write_text(csv,
		   "cpr,school,period_start,period_end,lessons_absent,"
		   "lessons_expected,kind\n"
		   "150309-4321,280017,2024-03-04,2024-03-29,12,120,all\n"
		   "150309-4321,280017,2024-04-01,2024-04-26,2,110,all\n"
		   "1503094321,280017,2024-03-04,2024-03-29,12,120,All\n");
	struct run r;
	const char *args[] = {"import", csv, NULL};
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 2);
	/* The third row repeats the first report: the clerk hears of it. */
	CHECK_EQ_STR(r.out,
		     "{\"rows\": 3, \"events\": 3, \"queued\": 2, "
		     "\"corrections\": 0, \"accepted\": 0, \"duplicates\": 1, "
		     "\"rejected_rows\": 0, \"rejected_by_hub\": 0, "
		     "\"pending\": 2}\n");
	char want[600];
	snprintf(want, sizeof want, "%s:4: repeats an earlier row", csv);
	CHECK(strstr(r.err, want));
	/* Again while still pending: nothing new, and every row counted as
	 * a duplicate, so the counts add up. */
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 2);
	CHECK(strstr(r.out, "\"events\": 3, \"queued\": 0,"));
	CHECK(strstr(r.out, "\"duplicates\": 3,"));
	CHECK(strstr(r.out, "\"pending\": 2}"));

	/* Pretend the hub acked both; a third import sends nothing and says
	 * they were duplicates, and there is no rejects file. */
	char keypath[512], outbox_dir[512];
	snprintf(keypath, sizeof keypath, "%s/keys/school-test.key_secret",
		 dir);
	snprintf(outbox_dir, sizeof outbox_dir, "%s/outbox", dir);
	ug_keys *keys;
	ug_diag d = {0};
	CHECK_OK(ug_keys_load_secret(&keys, keypath, &d));
	outbox *ob;
	CHECK_OK(outbox_open(&ob, outbox_dir, keys->storage_key, 0, &d));
	struct collect_ctx cc = {.n = 0};
	CHECK_OK(outbox_scan(ob, NULL, 16, collect_fn, &cc));
	CHECK_EQ_INT(cc.n, 2);
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[16])cc.ids, cc.n, NULL));
	outbox_close(&ob);
	ug_keys_destroy(&keys);
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 0);
	CHECK_EQ_STR(r.out,
		     "{\"rows\": 3, \"events\": 3, \"queued\": 0, "
		     "\"corrections\": 0, \"accepted\": 0, \"duplicates\": 3, "
		     "\"rejected_rows\": 0, \"rejected_by_hub\": 0, "
		     "\"pending\": 0}\n");
	char rejects[600];
	snprintf(rejects, sizeof rejects, "%s.rejects.csv", csv);
	CHECK(access(rejects, F_OK) != 0);
}

static void
test_fatal_inputs(void)
{
	const char *dir = ut_tmpdir();
	setup_keys(dir);
	char csv[512], missing[512];
	snprintf(csv, sizeof csv, "%s/nohdr.csv", dir);
	snprintf(missing, sizeof missing, "%s/missing.csv", dir);
	/* No header row: the first row is taken as one, and the message
	 * must not show it. */
	write_text(csv, "150309-4321;280017;2024-03-04;2024-03-29;1;2;alle\n");
	struct run r;
	const char *args[] = {"import", csv, NULL};
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 3);
	CHECK(strstr(r.err, "missing required column(s): cpr"));
	CHECK(!strstr(r.err, "150309"));
	/* An unreadable file stops the run before any import. */
	const char *args2[] = {"import", csv, missing, NULL};
	run_adapter(dir, &r, args2);
	CHECK_EQ_INT(r.code, 3);
	CHECK(strstr(r.err, "cannot open"));
	/* Bad usage. */
	const char *args3[] = {"import", NULL};
	run_adapter(dir, &r, args3);
	CHECK_EQ_INT(r.code, 3);
	const char *args4[] = {"frobnicate", NULL};
	run_adapter(dir, &r, args4);
	CHECK_EQ_INT(r.code, 3);
	/* flush with nothing pending: done at once, without a hub. */
	const char *args5[] = {"flush", NULL};
	run_adapter(dir, &r, args5);
	CHECK_EQ_INT(r.code, 0);
	CHECK(strstr(r.out, "\"pending\": 0}"));
}

static void
test_missing_keys(void)
{
	const char *dir = ut_tmpdir();
	struct run r;
	const char *args[] = {"flush", NULL};
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 3);
	CHECK(strstr(r.err, "school-test.key_secret"));
}

/* ---- delivery, against a fake hub in a child process ------------- */

/* A stand-in for hubd's ingest: CURVE server with the hub's key that
 * acks every event ACCEPTED, or (refuse) a ZAP handler that refuses
 * every key with 400 as hubd does for an unregistered one. It binds a
 * free port and writes its endpoint to fd. */
static void
fake_hub(const char *dir, bool refuse, int fd)
{
	char path[512];
	snprintf(path, sizeof path, "%s/keys/hub.key_secret", dir);
	ug_keys *keys;
	ug_diag d = {0};
	if (ug_keys_load_secret(&keys, path, &d) != UG_OK)
		_exit(10);
	void *ctx = zmq_ctx_new(), *zap = NULL;
	void *sock = zmq_socket(ctx, ZMQ_ROUTER);
	int one = 1, zero = 0;
	if (refuse) {
		zap = zmq_socket(ctx, ZMQ_REP);
		zmq_bind(zap, "inproc://zeromq.zap.01");
	}
	zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof zero);
	zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one);
	zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, keys->secret_z85, 41);
	if (zmq_bind(sock, "tcp://127.0.0.1:*") != 0)
		_exit(11);
	char endpoint[256];
	size_t len = sizeof endpoint;
	zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, endpoint, &len);
	if (write(fd, endpoint, strlen(endpoint) + 1) < 0)
		_exit(12);
	int64_t end = ug_mono_ms() + 60000;
	while (ug_mono_ms() < end) {
		zmq_pollitem_t items[] = {{sock, 0, ZMQ_POLLIN, 0},
					  {zap, 0, ZMQ_POLLIN, 0}};
		zmq_poll(items, zap ? 2 : 1, 100);
		if (zap && (items[1].revents & ZMQ_POLLIN)) {
			char part[8][256];
			int n = 0, more = 1;
			while (more && n < 8) {
				int got = zmq_recv(zap, part[n], 255, 0);
				part[n][got < 0	    ? 0
					: got > 255 ? 255
						    : got] = 0;
				size_t ml = sizeof more;
				zmq_getsockopt(zap, ZMQ_RCVMORE, &more, &ml);
				n++;
			}
			zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
			zmq_send(zap, part[1], strlen(part[1]), ZMQ_SNDMORE);
			zmq_send(zap, "400", 3, ZMQ_SNDMORE);
			zmq_send(zap, "key not registered", 18, ZMQ_SNDMORE);
			zmq_send(zap, "", 0, ZMQ_SNDMORE);
			zmq_send(zap, "", 0, 0);
		}
		if (!(items[0].revents & ZMQ_POLLIN))
			continue;
		uint8_t ident[256], frame[WIRE_MAX_FRAME];
		int il = zmq_recv(sock, ident, sizeof ident, 0);
		int fl = zmq_recv(sock, frame, sizeof frame, 0);
		int kind, code;
		void *msg;
		if (il < 0 || fl < 0 ||
		    wire_decode(frame, (size_t)fl, &kind, &msg, &code, &d) !=
			UG_OK)
			_exit(13);
		const wire_envelope *e = msg;
		wire_ack ack = UNGEBRO__V1__ACK__INIT;
		ack.event_id = e->event_id;
		ack.status = UNGEBRO__V1__ACK_STATUS__ACCEPTED;
		uint8_t out[256];
		size_t ol = wire_encode(UNGEBRO__V1__FRAME_KIND__FRAME_ACK,
					&ack, out, sizeof out);
		zmq_send(sock, ident, (size_t)il, ZMQ_SNDMORE);
		zmq_send(sock, out, ol, 0);
		wire_free(kind, msg);
	}
	_exit(0);
}

static pid_t
start_fake_hub(const char *dir, bool refuse, char *endpoint, size_t cap)
{
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		fake_hub(dir, refuse, fds[1]);
	}
	close(fds[1]);
	ssize_t n = read(fds[0], endpoint, cap - 1);
	close(fds[0]);
	CHECK(n > 0);
	endpoint[n] = '\0';
	return pid;
}

static void
stop_fake_hub(pid_t pid)
{
	kill(pid, SIGKILL);
	int status;
	waitpid(pid, &status, 0);
}

static void
test_deliver(void)
{
	const char *dir = ut_tmpdir();
	setup_keys(dir);
	char csv[512], endpoint[256];
	snprintf(csv, sizeof csv, "%s/absence.csv", dir);
	FILE *f = fopen(csv, "w");
	CHECK(f);
	fprintf(f, "cpr;school;period_start;period_end;lessons_absent;"
		   "lessons_expected;kind\n");
	/* More rows than the window, so the window refills. */
	for (int i = 0; i < 700; i++)
		fprintf(f,
			"%02d0310-%04d;280017;2024-03-04;2024-03-29;%d;100;"
			"alle\n",
			1 + i % 28, i, i % 101);
	fclose(f);
	pid_t hub = start_fake_hub(dir, false, endpoint, sizeof endpoint);
	struct run r;
	const char *args[] = {"--hub", endpoint, "--timeout", "20", "--window",
			      "64",    "import", csv,	      NULL};
	run_adapter(dir, &r, args);
	stop_fake_hub(hub);
	if (r.code != 0)
		FAIL("exit %d: %s%s", r.code, r.out, r.err);
	CHECK_EQ_STR(
	    r.out, "{\"rows\": 700, \"events\": 700, \"queued\": 700, "
		   "\"corrections\": 0, \"accepted\": 700, \"duplicates\": 0, "
		   "\"rejected_rows\": 0, \"rejected_by_hub\": 0, "
		   "\"pending\": 0}\n");
	/* Imported again with the hub gone: all known, nothing to send. */
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 0);
	CHECK(strstr(r.out,
		     "\"queued\": 0, \"corrections\": 0, \"accepted\": 0, "
		     "\"duplicates\": 700,"));
}

static void
test_key_refused(void)
{
	const char *dir = ut_tmpdir();
	setup_keys(dir);
	char csv[512], endpoint[256];
	snprintf(csv, sizeof csv, "%s/absence.csv", dir);
	write_text(csv, "cpr;school;period_start;period_end;lessons_absent;"
			"lessons_expected;kind\n"
			"150309-4321;280017;2024-03-04;2024-03-29;1;2;alle\n");
	pid_t hub = start_fake_hub(dir, true, endpoint, sizeof endpoint);
	struct run r;
	const char *args[] = {"--hub",	endpoint, "--timeout", "20",
			      "import", csv,	  NULL};
	int64_t t0 = ug_mono_ms();
	run_adapter(dir, &r, args);
	stop_fake_hub(hub);
	CHECK_EQ_INT(r.code, 3);
	CHECK(ug_mono_ms() - t0 < 10000); /* told at once, not at timeout */
	CHECK(strstr(r.err, "the hub refused this adapter's key: register it "
			    "with hubctl register-agency"));
	CHECK(strstr(r.out, "\"pending\": 1}"));
}

/* ---- the readiness and leaving kinds ------------------------------ */

enum {
	RD_CPR,
	RD_SCHOOL,
	RD_GRADE,
	RD_DATE,
	RD_READY,
	RD_AREAS,
	RD_ACADEMIC,
	RD_PERSONAL,
	RD_SOCIAL
};
enum { LV_CPR, LV_SCHOOL, LV_GRADE, LV_DATE, LV_KIND };

static const char *const kind_cprs[] = {"1503094321", "0101101234", NULL};

static const struct adapter_kind *
readiness(void)
{
	return ac_kind(&school_ops, "readiness");
}

static const struct adapter_kind *
leaving(void)
{
	return ac_kind(&school_ops, "leaving");
}

/* Not ready, with the areas as one list column. */
static void
readiness_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[RD_CPR] = "150309-4321";
	row->field[RD_SCHOOL] = "280017";
	row->field[RD_GRADE] = "8b";
	row->field[RD_DATE] = "2024-01-15";
	row->field[RD_READY] = "ikke parat";
	row->field[RD_AREAS] = "faglig, social";
}

static void
leaving_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[LV_CPR] = "150309-4321";
	row->field[LV_SCHOOL] = "280017";
	row->field[LV_GRADE] = "9";
	row->field[LV_DATE] = "2024-06-21";
	row->field[LV_KIND] = "afgang";
}

static void
test_kinds_columns(void)
{
	static const char *const readiness_names[] = {
	    "cpr",
	    "school",
	    "grade",
	    "date",
	    "ready",
	    "areas",
	    "not_ready_academic",
	    "not_ready_personal",
	    "not_ready_social",
	    NULL,
	};
	static const char *const leaving_names[] = {
	    "cpr", "school", "grade", "date", "leaving", NULL,
	};
	CHECK(adapter_find_kind(&school_ops, "absence") ==
	      &school_absence_kind);
	ac_check_columns(readiness(), readiness_names);
	ac_check_columns(leaving(), leaving_names);
	CHECK(!school_ops.kinds[3]);
	const csv_column *r = readiness()->columns, *l = leaving()->columns;
	for (int i = RD_CPR; i <= RD_READY; i++)
		CHECK(r[i].required);
	for (int i = RD_AREAS; i <= RD_SOCIAL; i++)
		CHECK(!r[i].required);
	for (int i = LV_CPR; i <= LV_KIND; i++)
		CHECK(l[i].required);
	CHECK(csv_column_matches(&r[RD_READY], "Uddannelsesparat"));
	CHECK(csv_column_matches(&r[RD_AREAS], "Omr\xC3\xA5"
					       "der"));
	CHECK(csv_column_matches(&r[RD_ACADEMIC], "Faglig"));
	CHECK(csv_column_matches(&r[RD_PERSONAL], "Personlig"));
	CHECK(csv_column_matches(&r[RD_SOCIAL], "Social"));
	CHECK(csv_column_matches(&l[LV_KIND], "Afgangstype"));
	CHECK(csv_column_matches(&l[LV_DATE], "Sidste skoledag"));
}

static void
test_readiness(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	readiness_row(&row);
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__READINESS_ASSESSMENT);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-01-15"));
	const Ungebro__V1__ReadinessAssessment *r = e->readiness_assessment;
	CHECK_EQ_STR(r->school, "280017");
	CHECK_EQ_INT(r->grade, 8);
	CHECK_EQ_STR(r->date, "2024-01-15");
	CHECK(!r->ready);
	CHECK(r->not_ready_academic && !r->not_ready_personal &&
	      r->not_ready_social);
	AC_CHECK_KEY(&ev, "readiness\x1f"
			  "280017\x1f"
			  "1503094321\x1f"
			  "8\x1f"
			  "2024-01-15");
	uint8_t frame[1024];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK(back->readiness_assessment->not_ready_social);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);

	/* The verdict in its many spellings. */
	static const struct {
		const char *text;
		bool ready;
	} verdicts[] = {
	    {"parat", true},
	    {"Ja", true},
	    {"yes", true},
	    {"Uddannelsesparat", true},
	    {"ready", true},
	    {"Ikke-parat", false},
	    {"nej", false},
	    {"not ready", false},
	    {"ikke uddannelsesparat", false},
	};
	for (size_t i = 0; i < sizeof verdicts / sizeof verdicts[0]; i++) {
		readiness_row(&row);
		row.field[RD_READY] = verdicts[i].text;
		if (verdicts[i].ready)
			row.field[RD_AREAS] = "";
		CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.readiness_assessment->ready,
			     verdicts[i].ready);
	}
	/* Areas as a list, in Danish or English, any separator. */
	static const struct {
		const char *text;
		bool academic, personal, social;
	} lists[] = {
	    {"faglig", true, false, false},
	    {"Personlig/Social", false, true, true},
	    {"academic+personal+social", true, true, true},
	    {"faglige og sociale", true, false, true},
	    {"social;  personal", false, true, true},
	};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
		readiness_row(&row);
		row.field[RD_AREAS] = lists[i].text;
		CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
		r = ev.env.readiness_assessment;
		CHECK_EQ_INT(r->not_ready_academic, lists[i].academic);
		CHECK_EQ_INT(r->not_ready_personal, lists[i].personal);
		CHECK_EQ_INT(r->not_ready_social, lists[i].social);
	}
	/* Or one yes/no column per area (and both forms together). */
	readiness_row(&row);
	row.field[RD_AREAS] = NULL;
	row.field[RD_ACADEMIC] = "";
	row.field[RD_PERSONAL] = "x";
	row.field[RD_SOCIAL] = "nej";
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	r = ev.env.readiness_assessment;
	CHECK(!r->not_ready_academic && r->not_ready_personal &&
	      !r->not_ready_social);
	row.field[RD_AREAS] = "social";
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	CHECK(ev.env.readiness_assessment->not_ready_social);
	/* A file without any area column: not ready, areas unknown. */
	readiness_row(&row);
	row.field[RD_AREAS] = NULL;
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	r = ev.env.readiness_assessment;
	CHECK(!r->ready && !r->not_ready_academic && !r->not_ready_personal &&
	      !r->not_ready_social);
	/* Grades 7 to 10. */
	static const struct {
		const char *text;
		unsigned grade;
	} grades[] = {{"7", 7}, {"9.a", 9}, {"10 X", 10}, {"08", 8}};
	for (size_t i = 0; i < sizeof grades / sizeof grades[0]; i++) {
		readiness_row(&row);
		row.field[RD_GRADE] = grades[i].text;
		CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.readiness_assessment->grade,
			     grades[i].grade);
	}
}

static void
test_readiness_ids(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t id[16], key[16];
	readiness_row(&row);
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	memcpy(id, ev.event_id, 16);
	memcpy(key, ev.key_hash, 16);
	/* Exported again, written differently: the same id. */
	row.field[RD_CPR] = "1503094321";
	row.field[RD_DATE] = "15.01.2024";
	row.field[RD_GRADE] = "8";
	row.field[RD_READY] = "nej";
	row.field[RD_AREAS] = "social, academic";
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, id, 16);
	/* The verdict corrected: same assessment, new id. */
	row.field[RD_READY] = "parat";
	row.field[RD_AREAS] = "";
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, key, 16);
	CHECK(memcmp(ev.event_id, id, 16) != 0);
	/* A re-assessment on a later day, or in grade 9, is another. */
	readiness_row(&row);
	row.field[RD_DATE] = "2024-05-01";
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
	readiness_row(&row);
	row.field[RD_GRADE] = "9";
	CHECK_OK(ac_event(readiness(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
}

static void
test_leaving(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	leaving_row(&row);
	CHECK_OK(ac_event(leaving(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__SCHOOL_LEAVING);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-06-21"));
	const Ungebro__V1__SchoolLeaving *l = e->school_leaving;
	CHECK_EQ_STR(l->school, "280017");
	CHECK_EQ_INT(l->grade, 9);
	CHECK_EQ_STR(l->date, "2024-06-21");
	CHECK_EQ_INT(l->kind, UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE);
	AC_CHECK_KEY(&ev, "leaving\x1f"
			  "280017\x1f"
			  "1503094321\x1f"
			  "9");
	uint8_t frame[1024], key[16], id[16];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK_EQ_INT(back->school_leaving->kind,
		     UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
	memcpy(key, ev.key_hash, 16);
	memcpy(id, ev.event_id, 16);

	static const struct {
		const char *text;
		int kind;
	} kinds[] = {
	    {"completed", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
	    {"Afgang", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
	    {"gennemf\xC3\xB8rt", UNGEBRO__V1__LEAVING_KIND__COMPLETED_GRADE},
	    {"left", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
	    {"Udmeldt", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
	    {"left-school", UNGEBRO__V1__LEAVING_KIND__LEFT_SCHOOL},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		leaving_row(&row);
		row.field[LV_KIND] = kinds[i].text;
		CHECK_OK(ac_event(leaving(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.school_leaving->kind, kinds[i].kind);
		/* Completed or left, the same leaving: a correction. */
		CHECK_EQ_MEM(ev.key_hash, key, 16);
	}
	/* Re-exported unchanged (Danish date, dashless CPR, "9a"). */
	leaving_row(&row);
	row.field[LV_CPR] = "1503094321";
	row.field[LV_DATE] = "21-06-2024";
	row.field[LV_GRADE] = "9a";
	CHECK_OK(ac_event(leaving(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, id, 16);
	/* Grade 10 is another leaving. */
	row.field[LV_GRADE] = "10";
	CHECK_OK(ac_event(leaving(), &row, &ev, &diag));
	CHECK_EQ_INT(ev.env.school_leaving->grade, 10);
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
}

static void
test_kinds_rejections(void)
{
	CHECK_OK(ug_crypto_init());
	static const ac_reject readiness_cases[] = {
	    AC_R1(RD_CPR, "", "cpr", "cpr is empty"),
	    AC_R1(RD_CPR, "150309-432", "cpr", "not a CPR number"),
	    AC_R1(RD_SCHOOL, "", "school", "school is empty"),
	    AC_R1(RD_GRADE, "", "grade", "grade is empty; it must be 7 to 10"),
	    AC_R1(RD_GRADE, "6", "grade", "grade 6 is not from 7 to 10"),
	    AC_R1(RD_GRADE, "11", "grade", "grade 11 is not from 7 to 10"),
	    AC_R1(RD_GRADE, "8 klasse", "grade", "class level from 7 to 10"),
	    AC_R1(RD_DATE, "", "date", "date is empty"),
	    AC_R1(RD_DATE, "2024-01-32", "date", "date is not a date"),
	    AC_R1(RD_READY, "", "ready", "ready is empty"),
	    AC_R1(RD_READY, "delvist", "ready", "ready must be yes or no"),
	    AC_R1(RD_READY, "1503094321", "ready", "ready must be"),
	    AC_R1(RD_AREAS, "faglig, sproglig", "areas",
		  "areas must be a list of academic, personal, social"),
	    AC_R1(RD_AREAS, "0101101234", "areas", "areas must be"),
	    AC_R1(RD_AREAS, "", "areas",
		  "ready is no, so name the areas the pupil is not ready in"),
	    /* Blamed on an area column the file has. */
	    AC_R2(RD_AREAS, NULL, RD_SOCIAL, "nej", "not_ready_social",
		  "ready is no, so name the areas"),
	    AC_R2(RD_READY, "parat", RD_AREAS, "faglig", "areas",
		  "areas must be empty when ready is yes"),
	    AC_R2(RD_READY, "ja", RD_PERSONAL, "x", "areas",
		  "areas must be empty when ready is yes"),
	    AC_R1(RD_ACADEMIC, "maybe", "not_ready_academic",
		  "not_ready_academic must be yes or no"),
	    AC_R1(RD_PERSONAL, "?", "not_ready_personal",
		  "not_ready_personal must be yes or no"),
	    AC_R1(RD_SOCIAL, "150309-4321", "not_ready_social",
		  "not_ready_social must be yes or no"),
	};
	ac_check_rejections(readiness(), readiness_row, readiness_cases,
			    sizeof readiness_cases / sizeof readiness_cases[0],
			    kind_cprs);
	static const ac_reject leaving_cases[] = {
	    AC_R1(LV_CPR, "", "cpr", "cpr is empty"),
	    AC_R1(LV_CPR, "290210-1234", "cpr", "not a CPR number"),
	    AC_R1(LV_SCHOOL, "", "school", "school is empty"),
	    AC_R1(LV_GRADE, "8", "grade", "grade 8 is not 9 or 10"),
	    AC_R1(LV_GRADE, "", "grade", "grade is empty; it must be 9 or 10"),
	    AC_R1(LV_DATE, "", "date", "date is empty"),
	    AC_R1(LV_DATE, "21/06/2024", "date", "date is not a date"),
	    AC_R1(LV_KIND, "", "leaving", "leaving is empty"),
	    AC_R1(LV_KIND, "flyttet", "leaving",
		  "leaving must be completed or left (afgang, udmeldt)"),
	};
	ac_check_rejections(leaving(), leaving_row, leaving_cases,
			    sizeof leaving_cases / sizeof leaving_cases[0],
			    kind_cprs);
}

static void
test_cpr_forms(void)
{
	CHECK_OK(ug_crypto_init());
	ac_check_cpr_forms(&school_absence_kind, good_row, CPR);
	ac_check_cpr_forms(readiness(), readiness_row, RD_CPR);
	ac_check_cpr_forms(leaving(), leaving_row, LV_CPR);
}

TEST_LIST = {
    {"columns", test_columns},
    {"row to envelope", test_row_to_envelope},
    {"event id layout", test_event_id_layout},
    {"event id determinism", test_event_id_determinism},
    {"kinds and grades", test_kinds_and_grades},
    {"rejections", test_rejections},
    {"cpr forms", test_cpr_forms},
    {"import", test_import},
    {"reimport", test_reimport},
    {"fatal inputs", test_fatal_inputs},
    {"missing keys", test_missing_keys},
    {"deliver", test_deliver},
    {"key refused", test_key_refused},
    {"kinds columns", test_kinds_columns},
    {"readiness", test_readiness},
    {"readiness ids", test_readiness_ids},
    {"leaving", test_leaving},
    {"kinds rejections", test_kinds_rejections},
    {NULL, NULL},
};
