/*
 * store/outbox: an adapter's queue of frames awaiting the hub's ack, on
 * real LMDB in a temp dir. Frames are sealed (a CPR never sits on disk in
 * the clear), acked ids move to `sent` so a re-import sends nothing, and
 * everything survives a close (or a kill) and reopen.
 */
#include "store/outbox.h"

#include "common/crypto.h"

#include "tests/unit/check.h"

#define CPR_A "1503094411"
#define CPR_B "0207117352"
#define FRAME_MARK "FRAMEBODY-c41d"

static const uint8_t storage_key[UG_KEY_LEN] = {
	9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5, 4,
	3, 2, 1, 0, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 42, 43};

static outbox *
open_outbox(const char *dir, const uint8_t *key)
{
	CHECK_OK(ug_crypto_init());
	outbox *ob = NULL;
	ug_diag diag = {0};
	ug_err err = outbox_open(&ob, dir, key, 16, &diag);
	if (err != UG_OK)
		FAIL("outbox_open(%s): %s (%s: %s)", dir, ug_strerror(err),
		     diag.field, diag.reason);
	CHECK(ob != NULL);
	return ob;
}

typedef struct {
	uint8_t id[OUTBOX_ID_LEN];
	char frame[256];
	outbox_item item;
} titem;

static void
make_item(titem *t, uint8_t n, const char *cpr)
{
	memset(t, 0, sizeof *t);
	/* Big-endian time first, as event ids are: n orders them. */
	t->id[7] = n;
	memset(t->id + 8, 0x5a, 8);
	snprintf(t->frame, sizeof t->frame, "\x01\x01 frame %u for %s " FRAME_MARK,
	         n, cpr);
	t->item.id = t->id;
	t->item.frame = (const uint8_t *)t->frame;
	t->item.len = strlen(t->frame);
	t->item.added = -1;
}

static ug_err
put(outbox *ob, titem *t, size_t n)
{
	outbox_item items[8];
	CHECK(n <= 8);
	for (size_t i = 0; i < n; i++)
		items[i] = t[i].item;
	ug_err err = outbox_put(ob, items, n, 1000);
	for (size_t i = 0; i < n; i++)
		t[i].item = items[i];
	return err;
}

typedef struct {
	int n;
	int fail_at;
	uint8_t ids[8][OUTBOX_ID_LEN];
	char frames[8][256];
} scanned;

static ug_err
collect(void *ctx, const uint8_t *id, const uint8_t *frame, size_t len)
{
	scanned *s = ctx;
	if (s->fail_at && s->n + 1 == s->fail_at)
		return UG_ECLOSED;
	if (s->n >= 8 || len >= 256)
		return UG_EINVAL;
	memcpy(s->ids[s->n], id, OUTBOX_ID_LEN);
	memcpy(s->frames[s->n], frame, len);
	s->frames[s->n][len] = '\0';
	s->n++;
	return UG_OK;
}

static void
expect_counts(outbox *ob, size_t pending, size_t sent, int line)
{
	size_t p = 99, s = 99;
	CHECK_OK(outbox_counts(ob, &p, &s));
	if (p != pending || s != sent)
		FAIL("(line %d) expected pending %zu sent %zu, got %zu %zu",
		     line, pending, sent, p, s);
}

static void
test_put_scan_done(void)
{
	outbox *ob = open_outbox(ut_tmpdir(), storage_key);
	expect_counts(ob, 0, 0, __LINE__);
	titem t[3];
	make_item(&t[0], 3, CPR_A);
	make_item(&t[1], 1, CPR_B);
	make_item(&t[2], 2, CPR_A);
	CHECK_OK(put(ob, t, 3));
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(t[i].item.added, 1);
	expect_counts(ob, 3, 0, __LINE__);

	/* Scanned in id order, frames intact. */
	scanned sc = {0};
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 3);
	CHECK_EQ_MEM(sc.ids[0], t[1].id, OUTBOX_ID_LEN);
	CHECK_EQ_STR(sc.frames[0], t[1].frame);
	CHECK_EQ_MEM(sc.ids[1], t[2].id, OUTBOX_ID_LEN);
	CHECK_EQ_STR(sc.frames[1], t[2].frame);
	CHECK_EQ_MEM(sc.ids[2], t[0].id, OUTBOX_ID_LEN);
	CHECK_EQ_STR(sc.frames[2], t[0].frame);
	/* Paging: max, and after an id (exclusive). */
	memset(&sc, 0, sizeof sc);
	CHECK_OK(outbox_scan(ob, NULL, 2, collect, &sc));
	CHECK_EQ_INT(sc.n, 2);
	memset(&sc, 0, sizeof sc);
	CHECK_OK(outbox_scan(ob, t[1].id, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 2);
	CHECK_EQ_MEM(sc.ids[0], t[2].id, OUTBOX_ID_LEN);
	memset(&sc, 0, sizeof sc);
	CHECK_OK(outbox_scan(ob, t[0].id, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 0);
	/* A callback error stops the scan and comes back. */
	memset(&sc, 0, sizeof sc);
	sc.fail_at = 2;
	CHECK_ERR(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc), UG_ECLOSED);
	CHECK_EQ_INT(sc.n, 1);

	/* Done moves ids from pending to sent. */
	uint8_t done[2][OUTBOX_ID_LEN];
	memcpy(done[0], t[1].id, OUTBOX_ID_LEN);
	memcpy(done[1], t[0].id, OUTBOX_ID_LEN);
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 2, NULL));
	expect_counts(ob, 1, 2, __LINE__);
	memset(&sc, 0, sizeof sc);
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 1);
	CHECK_EQ_MEM(sc.ids[0], t[2].id, OUTBOX_ID_LEN);
	/* Acked twice (a duplicate ack): no change. */
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
	expect_counts(ob, 1, 2, __LINE__);
	outbox_close(&ob);
	CHECK(ob == NULL);
	outbox_close(&ob); /* NULL is fine */
}

static void
test_reput_skipped(void)
{
	outbox *ob = open_outbox(ut_tmpdir(), storage_key);
	titem t[2];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	CHECK_OK(put(ob, t, 2));
	uint8_t done[1][OUTBOX_ID_LEN];
	memcpy(done[0], t[0].id, OUTBOX_ID_LEN);
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
	expect_counts(ob, 1, 1, __LINE__);

	/* Importing the same rows again: the sent one and the pending one are
	 * both skipped, and the pending frame is not replaced. */
	titem again[3];
	make_item(&again[0], 1, CPR_A);
	make_item(&again[1], 2, CPR_B);
	snprintf(again[1].frame, sizeof again[1].frame, "a different frame");
	again[1].item.len = strlen(again[1].frame);
	make_item(&again[2], 9, CPR_B);
	CHECK_OK(put(ob, again, 3));
	CHECK_EQ_INT(again[0].item.added, OUTBOX_SENT);
	CHECK_EQ_INT(again[1].item.added, OUTBOX_PENDING);
	CHECK_EQ_INT(again[1].item.queued_at, 1000);
	CHECK_EQ_INT(again[2].item.added, OUTBOX_ADDED);
	expect_counts(ob, 2, 1, __LINE__);
	scanned sc = {0};
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 2);
	CHECK_EQ_STR(sc.frames[0], t[1].frame);
	CHECK_EQ_STR(sc.frames[1], again[2].frame);
	/* The same id twice in one batch is queued once. */
	titem twice[2];
	make_item(&twice[0], 20, CPR_A);
	make_item(&twice[1], 20, CPR_A);
	CHECK_OK(put(ob, twice, 2));
	CHECK_EQ_INT(twice[0].item.added, OUTBOX_ADDED);
	CHECK_EQ_INT(twice[1].item.added, OUTBOX_PENDING);
	expect_counts(ob, 3, 1, __LINE__);
	/* An event the hub refused for good is dropped, not remembered as
	 * sent: once the cause is fixed, the same row can be queued again. */
	uint8_t refused[1][OUTBOX_ID_LEN];
	memcpy(refused[0], again[2].item.id, OUTBOX_ID_LEN);
	bool rejected[1] = {true};
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])refused, 1,
	                     rejected));
	expect_counts(ob, 2, 1, __LINE__);
	make_item(&again[2], 9, CPR_B);
	CHECK_OK(put(ob, &again[2], 1));
	CHECK_EQ_INT(again[2].item.added, OUTBOX_ADDED);
	outbox_close(&ob);
}

static void
test_persistence(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	titem t[3];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	make_item(&t[2], 3, CPR_A);
	CHECK_OK(put(ob, t, 3));
	uint8_t done[1][OUTBOX_ID_LEN];
	memcpy(done[0], t[1].id, OUTBOX_ID_LEN);
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
	outbox_close(&ob);

	ob = open_outbox(dir, storage_key);
	expect_counts(ob, 2, 1, __LINE__);
	scanned sc = {0};
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 2);
	CHECK_EQ_STR(sc.frames[0], t[0].frame);
	CHECK_EQ_STR(sc.frames[1], t[2].frame);
	/* The sent set survived too. */
	titem again;
	make_item(&again, 2, CPR_B);
	CHECK_OK(put(ob, &again, 1));
	CHECK_EQ_INT(again.item.added, 0);
	expect_counts(ob, 2, 1, __LINE__);
	outbox_close(&ob);
}

static void
killed_writer(const char *dir)
{
	/* Queue, then die without closing: a synchronous put is on disk. */
	outbox *ob = NULL;
	ug_diag diag = {0};
	if (ug_crypto_init() != UG_OK ||
	    outbox_open(&ob, dir, storage_key, 16, &diag) != UG_OK)
		_exit(10);
	titem t[2];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	outbox_item items[2] = {t[0].item, t[1].item};
	if (outbox_put(ob, items, 2, 1000) != UG_OK)
		_exit(11);
	uint8_t done[1][OUTBOX_ID_LEN];
	memcpy(done[0], t[0].id, OUTBOX_ID_LEN);
	if (outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL) != UG_OK)
		_exit(12);
	raise(SIGKILL);
}

static void
test_survives_kill(void)
{
	const char *dir = ut_tmpdir();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		killed_writer(dir);
		_exit(13);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	outbox *ob = open_outbox(dir, storage_key);
	expect_counts(ob, 1, 1, __LINE__);
	scanned sc = {0};
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 1);
	CHECK_EQ_INT(sc.ids[0][7], 2);
	outbox_close(&ob);
}

static void
test_sealed_on_disk(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	titem t[2];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	CHECK_OK(put(ob, t, 2));
	uint8_t done[1][OUTBOX_ID_LEN];
	memcpy(done[0], t[0].id, OUTBOX_ID_LEN);
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
	outbox_close(&ob);

	/* The ids are plain keys, so finding one shows we read the file. */
	int files = 0;
	CHECK_EQ_INT(ut_dir_contains(dir, t[1].id, OUTBOX_ID_LEN, &files), 1);
	CHECK(files >= 1);
	static const char *const secrets[] = {CPR_A, CPR_B, "150309-4411",
	                                      FRAME_MARK, "frame 2 for"};
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		int hits = ut_dir_contains(dir, secrets[i], strlen(secrets[i]),
		                           NULL);
		if (hits != 0)
			FAIL("\"%s\" found in %d raw outbox file(s), first %s",
			     secrets[i], hits, ut_last_hit);
	}
}

static void
test_wrong_key(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	titem t;
	make_item(&t, 1, CPR_A);
	CHECK_OK(put(ob, &t, 1));
	outbox_close(&ob);
	uint8_t wrong[UG_KEY_LEN];
	memcpy(wrong, storage_key, sizeof wrong);
	wrong[0] ^= 1;
	ob = open_outbox(dir, wrong);
	scanned sc = {0};
	CHECK_ERR(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc), UG_EMALFORMED);
	CHECK_EQ_INT(sc.n, 0);
	outbox_close(&ob);
}

static void
test_oversized_frame(void)
{
	outbox *ob = open_outbox(ut_tmpdir(), storage_key);
	titem t[2];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	size_t big_len = 128 * 1024 + 1;
	uint8_t *big = calloc(1, big_len);
	CHECK(big != NULL);
	t[1].item.frame = big;
	t[1].item.len = big_len;
	/* Refused as a whole: the good item in the batch is not queued. */
	CHECK_ERR(put(ob, t, 2), UG_EINVAL);
	expect_counts(ob, 0, 0, __LINE__);
	free(big);
	make_item(&t[1], 2, CPR_B);
	CHECK_OK(put(ob, t, 2));
	expect_counts(ob, 2, 0, __LINE__);
	outbox_close(&ob);
}

TEST_LIST = {
	{"put scan done", test_put_scan_done},
	{"re-put skipped", test_reput_skipped},
	{"persistence", test_persistence},
	{"survives kill", test_survives_kill},
	{"sealed on disk", test_sealed_on_disk},
	{"wrong key", test_wrong_key},
	{"oversized frame", test_oversized_frame},
	{NULL, NULL},
};
