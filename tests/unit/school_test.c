/*
 * adapters/school and the runtime's import side: rows become the
 * envelopes SPEC describes, event ids are deterministic (and computed
 * here independently from the natural key), every rejection has its
 * clerk-readable reason without the CPR, and a whole import through
 * adapter_main fills the outbox, the rejects file and the summary. The
 * import cases point the adapter at a closed port with timeout 0, so no
 * hub is involved; the CPRs are synthetic.
 */
#include "adapters/adapter.h"

#include <signal.h>
#include <sodium.h>
#include <zmq.h>

#include "common/keys.h"
#include "common/util.h"
#include "store/outbox.h"
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
	ug_err err = school_ops.parse_row(row, ev, diag);
	if (err == UG_OK)
		err = adapter_event_finish(ev, "school-test", test_hash_key,
					   NOW_MS, diag);
	return err;
}

static void
test_columns(void)
{
	const csv_column *c = school_ops.columns;
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
	CHECK_EQ_MEM(ev.event_id + 8, hash, 8);
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

	/* Same report again, CPR written without the dash, the kind in
	 * English, counts corrected: the same natural key, the same id. */
	row.field[CPR] = "1503094321";
	row.field[KIND] = "Unlawful";
	row.field[ABSENT] = "13";
	row.field[GRADE] = NULL;
	CHECK_OK(make_event(&row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, first, 16);

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
	uint8_t other[16];
	static const char nk[] = "absence";
	adapter_event_id(test_hash_key, 1, nk, sizeof nk - 1, first);
	uint8_t key2[UG_KEY_LEN] = {0};
	adapter_event_id(key2, 1, nk, sizeof nk - 1, other);
	CHECK(memcmp(first + 8, other + 8, 8) != 0);
	CHECK_EQ_MEM(first, other, 8);
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
	    {START, "04-03-2024", "period_start",
	     "not a date in the form "
	     "YYYY-MM-DD"},
	    {END, "2024-02-30", "period_end", "not a date"},
	    {END, "2024-03-03", "period_end",
	     "period_end 2024-03-03 is "
	     "before period_start "
	     "2024-03-04"},
	    {END, "2025-03-29", "period_end", "longer than a year"},
	    {ABSENT, "", "lessons_absent", "lessons_absent is empty"},
	    {ABSENT, "-1", "lessons_absent", "not a whole number"},
	    {ABSENT, "2.5", "lessons_absent", "not a whole number"},
	    {ABSENT, "1503094321", "lessons_absent",
	     "lessons_absent is "
	     "too large"},
	    {ABSENT, "121", "lessons_absent",
	     "lessons_absent 121 is more "
	     "than lessons_expected 120"},
	    {EXPECTED, "0", "lessons_expected", "must be more than 0"},
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
	slurp(opath, r->out, sizeof r->out);
	slurp(epath, r->err, sizeof r->err);
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
	const char *args[] = {"import", csv, NULL};
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 2); /* no hub: all stays in the outbox */
	CHECK_EQ_STR(r.out, "{\"rows\": 6, \"events\": 3, \"queued\": 3, "
			    "\"accepted\": 0, \"duplicates\": 0, "
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
	    "line;column;reason;CPR;Skole;Fra;Til;Frav\xC3\xA6r;Lektioner;"
	    "Type;Klasse;Navn\r\n"
	    "3;Frav\xC3\xA6r;lessons_absent 30 is more than lessons_expected "
	    "24;010110-1234;280017;2024-03-04;2024-03-29;30;24;sygdom;9;B\r\n"
	    "7;Type;kind must be illness, permitted, unlawful or all "
	    "(sygdom, lovligt, ulovligt, alle);311299-1111;280017;2024-03-04;"
	    "2024-03-29;1;120;fri;9;E\r\n"
	    "9;CPR;cpr is not a CPR number (DDMMYY-SSSS or DDMMYYSSSS with a "
	    "real birth date);999999-9999;280017;2024-03-04;2024-03-29;1;120;"
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
		   "1503094321,280017,2024-03-04,2024-03-29,13,120,All\n");
	struct run r;
	const char *args[] = {"import", csv, NULL};
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 2);
	/* The third row repeats the first report: the clerk hears of it. */
	CHECK_EQ_STR(r.out, "{\"rows\": 3, \"events\": 3, \"queued\": 2, "
			    "\"accepted\": 0, \"duplicates\": 1, "
			    "\"rejected_rows\": 0, \"rejected_by_hub\": 0, "
			    "\"pending\": 2}\n");
	char want[600];
	snprintf(want, sizeof want, "%s:4: repeats the report", csv);
	CHECK(strstr(r.err, want));
	/* Again while still pending: nothing new, and not a duplicate. */
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 2);
	CHECK(strstr(r.out, "\"events\": 3, \"queued\": 0,"));
	CHECK(strstr(r.out, "\"duplicates\": 0,"));
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
	CHECK_EQ_STR(r.out, "{\"rows\": 3, \"events\": 3, \"queued\": 0, "
			    "\"accepted\": 0, \"duplicates\": 3, "
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
	CHECK_EQ_STR(r.out,
		     "{\"rows\": 700, \"events\": 700, \"queued\": 700, "
		     "\"accepted\": 700, \"duplicates\": 0, "
		     "\"rejected_rows\": 0, \"rejected_by_hub\": 0, "
		     "\"pending\": 0}\n");
	/* Imported again with the hub gone: all known, nothing to send. */
	run_adapter(dir, &r, args);
	CHECK_EQ_INT(r.code, 0);
	CHECK(strstr(r.out, "\"queued\": 0, \"accepted\": 0, "
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

TEST_LIST = {
    {"columns", test_columns},
    {"row to envelope", test_row_to_envelope},
    {"event id layout", test_event_id_layout},
    {"event id determinism", test_event_id_determinism},
    {"kinds and grades", test_kinds_and_grades},
    {"rejections", test_rejections},
    {"import", test_import},
    {"reimport", test_reimport},
    {"fatal inputs", test_fatal_inputs},
    {"missing keys", test_missing_keys},
    {"deliver", test_deliver},
    {"key refused", test_key_refused},
    {NULL, NULL},
};
