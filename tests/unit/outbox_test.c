/*
 * store/outbox: an adapter's queue of frames awaiting the hub's ack, on
 * real LMDB in a temp dir. Frames are sealed (a CPR never sits on disk in
 * the clear), acked ids move to `sent` so a re-import sends nothing, and
 * everything survives a close (or a kill) and reopen.
 */
#include "store/outbox.h"

#include "common/crypto.h"

#include "tests/unit/check.h"

#define CPR_A	   "1503094411"
#define CPR_B	   "0207117352"
#define FRAME_MARK "FRAMEBODY-c41d"

static const uint8_t storage_key[UG_KEY_LEN] = {
    9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 9, 8, 7, 6, 5,  4,
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
	snprintf(t->frame, sizeof t->frame,
		 "\x01\x01 frame %u for %s " FRAME_MARK, n, cpr);
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
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 2, NULL));
	expect_counts(ob, 1, 2, __LINE__);
	memset(&sc, 0, sizeof sc);
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 1);
	CHECK_EQ_MEM(sc.ids[0], t[2].id, OUTBOX_ID_LEN);
	/* Acked twice (a duplicate ack): no change. */
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
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
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
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
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
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
		ut_child_exit(10);
	titem t[2];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	outbox_item items[2] = {t[0].item, t[1].item};
	if (outbox_put(ob, items, 2, 1000) != UG_OK)
		ut_child_exit(11);
	uint8_t done[1][OUTBOX_ID_LEN];
	memcpy(done[0], t[0].id, OUTBOX_ID_LEN);
	if (outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL) !=
	    UG_OK)
		ut_child_exit(12);
	raise(SIGKILL);
}

/* Run writer(dir) in a child that must end killed by SIGKILL. */
static void
run_killed(const char *dir, void (*writer)(const char *))
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		writer(dir);
		ut_child_exit(13);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void
test_survives_kill(void)
{
	const char *dir = ut_tmpdir();
	run_killed(dir, killed_writer);
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
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
	outbox_close(&ob);

	/* The ids are plain keys, so finding one shows we read the file. */
	int files = 0;
	CHECK_EQ_INT(ut_dir_contains(dir, t[1].id, OUTBOX_ID_LEN, &files), 1);
	CHECK(files >= 1);
	static const char *const secrets[] = {CPR_A, CPR_B, "150309-4411",
					      FRAME_MARK, "frame 2 for"};
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		int hits =
		    ut_dir_contains(dir, secrets[i], strlen(secrets[i]), NULL);
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
	/* Refused at open, before anything could be queued under the
	 * wrong key; the right one still opens every record. */
	ug_diag diag = {0};
	CHECK_ERR(outbox_open(&ob, dir, wrong, 16, &diag), UG_EDENIED);
	CHECK(ob == NULL);
	CHECK(strstr(diag.reason, "another storage_key") != NULL);
	ob = open_outbox(dir, storage_key);
	scanned sc = {0};
	CHECK_OK(outbox_scan(ob, NULL, SIZE_MAX, collect, &sc));
	CHECK_EQ_INT(sc.n, 1);
	outbox_close(&ob);
	/* An outbox with nothing pending holds nothing sealed to check. */
	const char *empty = ut_tmpdir();
	ob = open_outbox(empty, storage_key);
	outbox_close(&ob);
	ob = open_outbox(empty, wrong);
	outbox_close(&ob);
}

struct queued {
	int n;
	uint64_t seq[8];
	uint8_t ids[8][OUTBOX_ID_LEN];
	bool has_pred[8];
	uint8_t pred[8][OUTBOX_ID_LEN];
};

static ug_err
queue_fn(void *ctx, uint64_t seq, const uint8_t *id, const uint8_t *frame,
	 size_t len, const uint8_t *supersedes)
{
	struct queued *q = ctx;
	(void)frame, (void)len;
	if (q->n == 8)
		return UG_EFULL;
	q->seq[q->n] = seq;
	memcpy(q->ids[q->n], id, OUTBOX_ID_LEN);
	q->has_pred[q->n] = supersedes != NULL;
	if (supersedes)
		memcpy(q->pred[q->n], supersedes, OUTBOX_ID_LEN);
	q->n++;
	return UG_OK;
}

/* What a queue scan of one frame found: its length, and whether it
 * is every byte 0xab. */
struct sized {
	int n;
	size_t len;
	bool same;
};

static ug_err
size_fn(void *ctx, uint64_t seq, const uint8_t *id, const uint8_t *frame,
	size_t len, const uint8_t *supersedes)
{
	struct sized *s = ctx;
	(void)seq, (void)id, (void)supersedes;
	s->n++;
	s->len = len;
	s->same = true;
	for (size_t i = 0; i < len; i++)
		s->same = s->same && frame[i] == 0xab;
	return UG_OK;
}

/* The hub refuses a frame over WIRE_MAX_FRAME for good; the outbox
 * never queues one, and the rest of the batch goes on. */
static void
test_oversized_frame(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	CHECK_EQ_INT(OUTBOX_FRAME_MAX, 65536);
	titem t[3];
	make_item(&t[0], 1, CPR_A);
	make_item(&t[1], 2, CPR_B);
	make_item(&t[2], 3, CPR_A);
	uint8_t *big = calloc(1, OUTBOX_FRAME_MAX + 1);
	CHECK(big != NULL);
	t[1].item.frame = big;
	t[1].item.len = OUTBOX_FRAME_MAX + 1;
	CHECK_OK(put(ob, t, 3));
	CHECK_EQ_INT(t[0].item.added, OUTBOX_ADDED);
	CHECK_EQ_INT(t[1].item.added, OUTBOX_TOO_LARGE);
	CHECK_EQ_INT(t[2].item.added, OUTBOX_ADDED);
	expect_counts(ob, 2, 0, __LINE__);
	int state;
	int64_t at;
	CHECK_OK(outbox_id_state(ob, t[1].id, &state, &at));
	CHECK_EQ_INT(state, OUTBOX_UNKNOWN);
	/* Not in the queue either: the sender never sees it. */
	struct queued q = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &q));
	CHECK_EQ_INT(q.n, 2);
	CHECK_EQ_MEM(q.ids[0], t[0].id, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(q.ids[1], t[2].id, OUTBOX_ID_LEN);
	/* At the limit exactly, a frame is queued, sealed, and opens whole. */
	memset(big, 0xab, OUTBOX_FRAME_MAX);
	t[1].item.len = OUTBOX_FRAME_MAX;
	CHECK_OK(put(ob, &t[1], 1));
	CHECK_EQ_INT(t[1].item.added, OUTBOX_ADDED);
	struct sized s = {0};
	CHECK_OK(outbox_scan_queue(ob, q.seq[1], 8, size_fn, &s));
	CHECK_EQ_INT(s.n, 1);
	CHECK_EQ_INT(s.len, OUTBOX_FRAME_MAX);
	CHECK(s.same);
	free(big);
	outbox_close(&ob);
}

static void
second_opener(const char *dir, int expect)
{
	/* Another adapter process (an import beside a flush) on the same
	 * outbox: it must be refused while the first holds it. */
	outbox *ob = NULL;
	ug_diag diag = {0};
	if (ug_crypto_init() != UG_OK)
		ut_child_exit(10);
	ug_err err = outbox_open(&ob, dir, storage_key, 16, &diag);
	if (err != (ug_err)expect)
		ut_child_exit(20 + (int)err);
	outbox_close(&ob);
}

static int
run_second_opener(const char *dir, int expect)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		second_opener(dir, expect);
		ut_child_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void
test_one_process_at_a_time(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	titem t;
	make_item(&t, 1, CPR_A);
	CHECK_OK(put(ob, &t, 1));
	/* 0 = the child saw exactly UG_EAGAIN; 20 + code otherwise. */
	CHECK_EQ_INT(run_second_opener(dir, UG_EAGAIN), 0);
	/* The holder is unaffected. */
	expect_counts(ob, 1, 0, __LINE__);
	outbox_close(&ob);
	/* Released on close: the next process gets it. */
	CHECK_EQ_INT(run_second_opener(dir, UG_OK), 0);
	ob = open_outbox(dir, storage_key);
	expect_counts(ob, 1, 0, __LINE__);
	outbox_close(&ob);
}

/* An item with a natural key's hash and a content id. */
static void
keyed(titem *t, uint8_t n, uint8_t *key, uint8_t k)
{
	make_item(t, n, CPR_A);
	memset(key, k, OUTBOX_KEY_LEN);
	t->item.key = key;
	t->item.content = NULL; /* the id */
}

static void
expect_latest(outbox *ob, const uint8_t *key, const uint8_t *id, int state,
	      int line)
{
	outbox_latest l;
	CHECK_OK(outbox_lookup(ob, key, &l));
	if (!id) {
		if (l.found)
			FAIL("(line %d) a latest entry where none should be",
			     line);
		return;
	}
	if (!l.found || memcmp(l.id, id, OUTBOX_ID_LEN) ||
	    memcmp(l.content, id, OUTBOX_ID_LEN) || l.state != state)
		FAIL("(line %d) latest found %d state %d, expected state %d",
		     line, l.found, l.state, state);
}

static void
test_latest(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	uint8_t key[OUTBOX_KEY_LEN], other[OUTBOX_KEY_LEN];
	titem a, b, c;
	keyed(&a, 1, key, 0x11);
	keyed(&b, 2, key, 0x11); /* a correction of a */
	keyed(&c, 3, other, 0x22);
	expect_latest(ob, key, NULL, 0, __LINE__);
	CHECK_OK(put(ob, &a, 1));
	expect_latest(ob, key, a.id, OUTBOX_PENDING, __LINE__);
	int state;
	int64_t at;
	CHECK_OK(outbox_id_state(ob, a.id, &state, &at));
	CHECK_EQ_INT(state, OUTBOX_PENDING);
	CHECK_EQ_INT(at, 1000);
	/* Acked: still the latest, now sent. */
	uint8_t ids[2][OUTBOX_ID_LEN];
	memcpy(ids[0], a.id, OUTBOX_ID_LEN);
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])ids, 1, NULL));
	expect_latest(ob, key, a.id, OUTBOX_SENT, __LINE__);
	/* b corrects a and c is another record, in one transaction. */
	titem bc[2] = {b, c};
	CHECK_OK(put(ob, bc, 2));
	expect_latest(ob, key, b.id, OUTBOX_PENDING, __LINE__);
	expect_latest(ob, other, c.id, OUTBOX_PENDING, __LINE__);
	/* The hub refuses b for good: a is the latest again, so the same
	 * correction can be imported once the cause is fixed; c, refused
	 * too, leaves no latest at all. */
	memcpy(ids[0], b.id, OUTBOX_ID_LEN);
	memcpy(ids[1], c.id, OUTBOX_ID_LEN);
	bool refused[2] = {true, true};
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])ids, 2, refused));
	expect_latest(ob, key, a.id, OUTBOX_SENT, __LINE__);
	expect_latest(ob, other, NULL, 0, __LINE__);
	CHECK_OK(outbox_id_state(ob, b.id, &state, &at));
	CHECK_EQ_INT(state, OUTBOX_UNKNOWN);
	expect_counts(ob, 0, 1, __LINE__);
	/* Survives a reopen. */
	outbox_close(&ob);
	ob = open_outbox(dir, storage_key);
	expect_latest(ob, key, a.id, OUTBOX_SENT, __LINE__);
	/* A content id apart from the event id (a reissued correction). */
	titem d;
	keyed(&d, 4, key, 0x11);
	uint8_t content[OUTBOX_ID_LEN];
	memset(content, 0x77, sizeof content);
	d.item.content = content;
	CHECK_OK(put(ob, &d, 1));
	outbox_latest l;
	CHECK_OK(outbox_lookup(ob, key, &l));
	CHECK(l.found);
	CHECK_EQ_MEM(l.content, content, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(l.id, d.id, OUTBOX_ID_LEN);
	outbox_close(&ob);
	int files = 0;
	CHECK_EQ_INT(ut_dir_contains(dir, CPR_A, 10, &files), 0);
}

static void
test_queue_order(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	uint8_t key[OUTBOX_KEY_LEN], other[OUTBOX_KEY_LEN];
	/* Put in the order 5, 2, then 3 (corrects 5) and 1: ids sort
	 * otherwise, the queue keeps the order put. */
	titem a, b, c, d;
	keyed(&a, 5, key, 0x11);
	keyed(&b, 2, other, 0x22);
	keyed(&c, 3, key, 0x11);
	make_item(&d, 1, CPR_B);
	titem first[2] = {a, b}, second[2] = {c, d};
	CHECK_OK(put(ob, first, 2));
	CHECK_OK(put(ob, second, 2));
	struct queued q = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &q));
	CHECK_EQ_INT(q.n, 4);
	CHECK_EQ_MEM(q.ids[0], a.id, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(q.ids[1], b.id, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(q.ids[2], c.id, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(q.ids[3], d.id, OUTBOX_ID_LEN);
	CHECK(q.seq[0] < q.seq[1] && q.seq[1] < q.seq[2] &&
	      q.seq[2] < q.seq[3]);
	/* c corrects a; the others correct nothing. */
	CHECK(!q.has_pred[0] && !q.has_pred[1] && q.has_pred[2] &&
	      !q.has_pred[3]);
	CHECK_EQ_MEM(q.pred[2], a.id, OUTBOX_ID_LEN);
	/* From a position on; acked ids leave the queue. */
	struct queued rest = {0};
	CHECK_OK(outbox_scan_queue(ob, q.seq[1], 8, queue_fn, &rest));
	CHECK_EQ_INT(rest.n, 2);
	CHECK_EQ_MEM(rest.ids[0], c.id, OUTBOX_ID_LEN);
	uint8_t ids[2][OUTBOX_ID_LEN];
	memcpy(ids[0], a.id, OUTBOX_ID_LEN);
	memcpy(ids[1], d.id, OUTBOX_ID_LEN);
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])ids, 2, NULL));
	/* Reopened, the queue goes on after its last entry. */
	outbox_close(&ob);
	ob = open_outbox(dir, storage_key);
	titem e;
	make_item(&e, 0, CPR_A);
	CHECK_OK(put(ob, &e, 1));
	struct queued after = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &after));
	CHECK_EQ_INT(after.n, 3);
	CHECK_EQ_MEM(after.ids[0], b.id, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(after.ids[1], c.id, OUTBOX_ID_LEN);
	CHECK_EQ_MEM(after.ids[2], e.id, OUTBOX_ID_LEN);
	CHECK(after.seq[2] > after.seq[1]);
	/* A stop asked for by fn is passed on. */
	struct queued full = {.n = 8};
	CHECK_ERR(outbox_scan_queue(ob, 0, 8, queue_fn, &full), UG_EFULL);
	outbox_close(&ob);
}

/* ---- staging -------------------------------------------------------- */

static void
test_stage_commit_and_abort(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	uint8_t key[OUTBOX_KEY_LEN], other[OUTBOX_KEY_LEN];
	titem a, b, c, d, e;
	keyed(&a, 1, key, 0x11);
	keyed(&b, 2, key, 0x11); /* corrects a */
	keyed(&c, 3, other, 0x22);
	keyed(&d, 4, key, 0x11); /* corrects b */
	make_item(&e, 5, CPR_B);
	CHECK_OK(put(ob, &a, 1));
	/* A stage: its events are seen by lookups, not by the queue. */
	outbox_stage_begin(ob);
	titem bc[2] = {b, c};
	CHECK_OK(put(ob, bc, 2));
	CHECK_OK(put(ob, &d, 1));
	CHECK_EQ_INT(d.item.added, OUTBOX_ADDED);
	expect_latest(ob, key, d.id, OUTBOX_PENDING, __LINE__);
	expect_counts(ob, 4, 0, __LINE__);
	struct queued q = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &q));
	CHECK_EQ_INT(q.n, 1);
	CHECK_EQ_MEM(q.ids[0], a.id, OUTBOX_ID_LEN);
	/* Aborted: all three gone, each key's latest as before. */
	size_t removed = 0;
	CHECK_OK(outbox_stage_abort(ob, &removed));
	CHECK_EQ_INT(removed, 3);
	expect_counts(ob, 1, 0, __LINE__);
	expect_latest(ob, key, a.id, OUTBOX_PENDING, __LINE__);
	expect_latest(ob, other, NULL, 0, __LINE__);
	int state;
	int64_t at;
	CHECK_OK(outbox_id_state(ob, b.id, &state, &at));
	CHECK_EQ_INT(state, OUTBOX_UNKNOWN);
	CHECK_OK(outbox_id_state(ob, d.id, &state, &at));
	CHECK_EQ_INT(state, OUTBOX_UNKNOWN);
	/* Committed: the same events queue again and show, after a. */
	outbox_stage_begin(ob);
	keyed(&b, 2, key, 0x11);
	keyed(&e, 5, other, 0x22);
	titem be[2] = {b, e};
	CHECK_OK(put(ob, be, 2));
	CHECK_EQ_INT(be[0].item.added, OUTBOX_ADDED);
	CHECK_OK(outbox_stage_commit(ob));
	struct queued all = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &all));
	CHECK_EQ_INT(all.n, 3);
	CHECK_EQ_MEM(all.ids[1], b.id, OUTBOX_ID_LEN);
	CHECK(all.has_pred[1]);
	CHECK_EQ_MEM(all.pred[1], a.id, OUTBOX_ID_LEN);
	/* A committed stage is not taken out by the next open, and an
	 * aborted stage that queued nothing costs nothing. */
	outbox_close(&ob);
	ob = open_outbox(dir, storage_key);
	expect_counts(ob, 3, 0, __LINE__);
	outbox_stage_begin(ob);
	CHECK_OK(outbox_stage_abort(ob, &removed));
	CHECK_EQ_INT(removed, 0);
	expect_counts(ob, 3, 0, __LINE__);
	outbox_close(&ob);
}

/* Many events, over several abort transactions; ids from a counter. */
#define STAGED_MANY 2600

static void
put_many(outbox *ob, int from, int n)
{
	for (int i = from; i < from + n; i += 8) {
		titem t[8];
		size_t k = 0;
		for (; k < 8 && i + (int)k < from + n; k++) {
			make_item(&t[k], 0, CPR_A);
			t[k].id[6] = (uint8_t)((i + (int)k) >> 8);
			t[k].id[7] = (uint8_t)(i + (int)k);
		}
		CHECK_OK(put(ob, t, k));
	}
}

static void
staging_killed(const char *dir)
{
	outbox *ob = NULL;
	ug_diag diag = {0};
	if (ug_crypto_init() != UG_OK ||
	    outbox_open(&ob, dir, storage_key, 16, &diag) != UG_OK)
		ut_child_exit(10);
	put_many(ob, 0, 3);
	outbox_stage_begin(ob);
	put_many(ob, 3, STAGED_MANY);
	raise(SIGKILL);
}

static void
test_stage_left_open_is_aborted(void)
{
	const char *dir = ut_tmpdir();
	run_killed(dir, staging_killed);
	/* The open takes the unfinished stage out, over several
	 * transactions; what was queued before it stays, in order. */
	outbox *ob = open_outbox(dir, storage_key);
	expect_counts(ob, 3, 0, __LINE__);
	struct queued q = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &q));
	CHECK_EQ_INT(q.n, 3);
	CHECK_EQ_INT(q.ids[2][7], 2);
	/* New events queue after them. */
	put_many(ob, 3, 1);
	struct queued after = {0};
	CHECK_OK(outbox_scan_queue(ob, 0, 8, queue_fn, &after));
	CHECK_EQ_INT(after.n, 4);
	CHECK_EQ_INT(after.ids[3][7], 3);
	CHECK(after.seq[3] > after.seq[2]);
	outbox_close(&ob);
}

/* A full map is the outbox's own: the message must not send the
 * adapter's operator to hubd's map settings. */
static void
test_full_map_names_the_outbox(void)
{
	const char *dir = ut_tmpdir();
	CHECK_OK(ug_crypto_init());
	outbox *ob = NULL;
	ug_diag diag = {0};
	CHECK_OK(outbox_open(&ob, dir, storage_key, 1, &diag));
	char log[600];
	snprintf(log, sizeof log, "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(2), fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	ug_err err = UG_OK;
	for (int i = 0; err == UG_OK && i < 1 << 16; i += 8) {
		titem t[8];
		for (size_t k = 0; k < 8; k++) {
			make_item(&t[k], 0, CPR_A);
			t[k].id[5] = (uint8_t)((i + (int)k) >> 16);
			t[k].id[6] = (uint8_t)((i + (int)k) >> 8);
			t[k].id[7] = (uint8_t)(i + (int)k);
		}
		err = put(ob, t, 8);
	}
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(fd);
	CHECK_EQ_INT(err, UG_EFULL);
	char text[4096] = "";
	FILE *f = fopen(log, "r");
	CHECK(f != NULL);
	size_t n = fread(text, 1, sizeof text - 1, f);
	text[n] = '\0';
	fclose(f);
	if (!strstr(text,
		    "OUTBOX-FULL outbox commit: the outbox is full (its 1 "
		    "MB hold events the hub has not acknowledged)") ||
	    strstr(text, "log_map_mb"))
		FAIL("the full map's log: %s", text);
	outbox_close(&ob);
}

/* An event's origin (the row it came from, for the hub's refusal of it)
 * is kept while it is pending, across a reopen, and goes with it: acked,
 * refused, or taken out with an aborted stage. */
static void
test_origin_kept_while_pending(void)
{
	const char *dir = ut_tmpdir();
	outbox *ob = open_outbox(dir, storage_key);
	titem t[3];
	static const char *const rows[3] = {("row one " CPR_A), "row two",
					    "row three"};
	for (int i = 0; i < 3; i++) {
		make_item(&t[i], (uint8_t)(i + 1), CPR_A);
		t[i].item.origin = (const uint8_t *)rows[i];
		t[i].item.origin_len = strlen(rows[i]);
	}
	titem bare;
	make_item(&bare, 9, CPR_B);
	CHECK_OK(put(ob, t, 2));
	CHECK_OK(put(ob, &bare, 1));
	outbox_stage_begin(ob);
	CHECK_OK(put(ob, &t[2], 1));
	uint8_t buf[64];
	size_t len = 0;
	CHECK_OK(outbox_origin(ob, t[2].id, buf, sizeof buf, &len));
	size_t removed = 0;
	CHECK_OK(outbox_stage_abort(ob, &removed));
	CHECK_EQ_INT(removed, 1);
	CHECK(outbox_origin(ob, t[2].id, buf, sizeof buf, &len) ==
	      UG_ENOTFOUND);
	CHECK(outbox_origin(ob, bare.id, buf, sizeof buf, &len) ==
	      UG_ENOTFOUND);
	outbox_close(&ob);

	ob = open_outbox(dir, storage_key);
	CHECK_OK(outbox_origin(ob, t[1].id, buf, sizeof buf, &len));
	CHECK_EQ_INT(len, strlen(rows[1]));
	CHECK(memcmp(buf, rows[1], len) == 0);
	/* Too small a buffer is no origin, not a cut one. */
	CHECK(outbox_origin(ob, t[0].id, buf, 4, &len) == UG_EMALFORMED);
	uint8_t done[2][OUTBOX_ID_LEN];
	memcpy(done[0], t[0].id, OUTBOX_ID_LEN);
	memcpy(done[1], t[1].id, OUTBOX_ID_LEN);
	const bool rejected[2] = {false, true};
	CHECK_OK(outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 2,
			     rejected));
	for (int i = 0; i < 2; i++)
		CHECK(outbox_origin(ob, t[i].id, buf, sizeof buf, &len) ==
		      UG_ENOTFOUND);
	/* The origins file holds rows (CPRs, sealed): emptied once nothing
	 * is pending. */
	char path[600];
	struct stat st;
	snprintf(path, sizeof path, "%s/origins", dir);
	CHECK(stat(path, &st) == 0 && st.st_size > 0 &&
	      (st.st_mode & 0777) == 0600);
	memcpy(done[0], bare.id, OUTBOX_ID_LEN);
	CHECK_OK(
	    outbox_done(ob, (const uint8_t(*)[OUTBOX_ID_LEN])done, 1, NULL));
	CHECK(stat(path, &st) == 0 && st.st_size == 0);
	outbox_close(&ob);
}

/* An origin that cannot be had says why: the file not open now
 * (UG_ECLOSED), none kept for the event (UG_ENOTFOUND), or its record
 * cut short by a crash (UG_EMALFORMED). */
static void
test_origin_missing_says_why(void)
{
	const char *dir = ut_tmpdir();
	char path[600];
	snprintf(path, sizeof path, "%s/origins", dir);
	CHECK(mkdir(dir, 0700) == 0 || errno == EEXIST);
	CHECK(mkdir(path, 0700) == 0);
	outbox *ob = open_outbox(dir, storage_key);
	titem t;
	make_item(&t, 1, CPR_A);
	t.item.origin = (const uint8_t *)"row one";
	t.item.origin_len = 7;
	CHECK_OK(put(ob, &t, 1));
	uint8_t buf[64];
	size_t len = 0;
	CHECK(outbox_origin(ob, t.id, buf, sizeof buf, &len) == UG_ECLOSED);
	outbox_close(&ob);
	CHECK(rmdir(path) == 0);

	ob = open_outbox(dir, storage_key);
	CHECK(outbox_origin(ob, t.id, buf, sizeof buf, &len) == UG_ENOTFOUND);
	titem cut;
	make_item(&cut, 2, CPR_B);
	cut.item.origin = (const uint8_t *)"row two";
	cut.item.origin_len = 7;
	CHECK_OK(put(ob, &cut, 1));
	CHECK(truncate(path, 10) == 0);
	CHECK(outbox_origin(ob, cut.id, buf, sizeof buf, &len) ==
	      UG_EMALFORMED);
	outbox_close(&ob);
}

TEST_LIST = {
    {"put scan done", test_put_scan_done},
    {"origin missing says why", test_origin_missing_says_why},
    {"re-put skipped", test_reput_skipped},
    {"persistence", test_persistence},
    {"survives kill", test_survives_kill},
    {"sealed on disk", test_sealed_on_disk},
    {"wrong key", test_wrong_key},
    {"oversized frame", test_oversized_frame},
    {"one process at a time", test_one_process_at_a_time},
    {"latest per natural key", test_latest},
    {"queue order", test_queue_order},
    {"stage commit and abort", test_stage_commit_and_abort},
    {"stage left open is aborted", test_stage_left_open_is_aborted},
    {"full map names the outbox", test_full_map_names_the_outbox},
    {"origin kept while pending", test_origin_kept_while_pending},
    {NULL, NULL},
};
