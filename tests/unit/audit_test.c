/*
 * store/store_audit.c: the hash-chained audit trail on real LMDB. Each
 * tampering case plays the attacker with LMDB's own API on the closed
 * store (flip a byte, delete a record, cut the tail, swap two records,
 * sign with another key) and checks that verify names the first broken
 * record and what is wrong with it.
 */
#include <lmdb.h>
#include <sodium.h>

#include "store/store.h"

#include "common/crypto.h"
#include "common/util.h"

#include "tests/unit/check.h"

#define T0 ((int64_t)1717000000000)

static const uint8_t storage_key[UG_KEY_LEN] = {
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x20};

typedef struct {
	uint8_t pk[crypto_sign_PUBLICKEYBYTES];
	uint8_t sk[crypto_sign_SECRETKEYBYTES];
} signer;

static store *
open_store(const char *dir)
{
	CHECK_OK(ug_crypto_init());
	store_opts opts = {.log_map_mb = 16,
			   .derived_map_mb = 16,
			   .storage_key = storage_key};
	store *s = NULL;
	ug_diag diag = {0};
	CHECK_OK(store_open(&s, dir, &opts, &diag));
	return s;
}

static void
new_signer(signer *k)
{
	CHECK_OK(ug_crypto_init());
	crypto_sign_keypair(k->pk, k->sk);
}

static void
append_n(store *s, unsigned n, unsigned first)
{
	uint8_t person[UG_PERSON_KEY_LEN];
	memset(person, 0x5a, sizeof person);
	for (unsigned i = 0; i < n; i++) {
		char detail[32];
		snprintf(detail, sizeof detail, "alert %u", first + i);
		store_audit_entry e = {
		    T0 + first + i,	   "cw-anna", NULL, "deliver", "ok",
		    i % 2 ? person : NULL, detail};
		CHECK_OK(store_audit_write(s, &e, 1));
	}
}

static store_audit_report
verify(store *s, const signer *k)
{
	store_audit_report r;
	CHECK_OK(store_audit_verify(s, k->pk, &r));
	return r;
}

/* A trail of `records` records with a checkpoint every 4 and at the end. */
static store *
make_trail(const char *dir, const signer *k, unsigned records)
{
	store *s = open_store(dir);
	store_audit_signer(s, k->sk, 4);
	append_n(s, records, 1);
	CHECK_OK(store_audit_checkpoint(s, T0 + 1000));
	store_audit_report r = verify(s, k);
	CHECK_EQ_INT(r.broken_seq, 0);
	CHECK_EQ_INT(r.records, records);
	return s;
}

/* A new signer and a closed store of ten records it signed: the dir. */
static const char *
closed_trail(signer *k)
{
	const char *dir = ut_tmpdir();
	new_signer(k);
	store *s = make_trail(dir, k, 10);
	store_close(&s);
	return dir;
}

typedef enum {
	FLIP,
	DELETE,
	SWAP,
	DROP_HEAD,
	DROP_CKPT,
	OLD_HEAD
} tamper_kind;

/* Change the closed store's log/ env as an attacker with file access. */
static void
tamper(const char *dir, tamper_kind kind, uint64_t seq, uint64_t other)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/log", dir);
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi audit, ckpt;
	CHECK(mdb_env_create(&env) == 0);
	CHECK(mdb_env_set_maxdbs(env, 32) == 0);
	CHECK(mdb_env_set_mapsize(env, 16u << 20) == 0);
	CHECK(mdb_env_open(env, path, 0, 0600) == 0);
	CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
	CHECK(mdb_dbi_open(txn, "audit", 0, &audit) == 0);
	CHECK(mdb_dbi_open(txn, "audit_ckpt", 0, &ckpt) == 0);
	uint8_t k[8], k2[8], buf[1024], buf2[1024];
	ug_put_be64(k, seq);
	ug_put_be64(k2, other);
	MDB_val key = {8, k}, val, key2 = {8, k2}, val2;
	if (kind == DROP_HEAD) {
		MDB_val head = {1, "h"};
		CHECK(mdb_del(txn, ckpt, &head, NULL) == 0);
	} else if (kind == OLD_HEAD) {
		/* As versions before wrote it: sequence and hash, no
		 * checkpoint number. */
		MDB_val head = {1, "h"};
		uint8_t plain[8 + STORE_AUDIT_HASH_LEN + 8];
		uint8_t sealed[8 + STORE_AUDIT_HASH_LEN + UG_SEAL_OVERHEAD];
		CHECK(mdb_get(txn, ckpt, &head, &val) == 0);
		CHECK(val.mv_size == sizeof plain + UG_SEAL_OVERHEAD);
		CHECK_OK(ug_seal_open(storage_key, "head", 4, val.mv_data,
				      val.mv_size, plain));
		ug_seal(storage_key, "head", 4, plain,
			8 + STORE_AUDIT_HASH_LEN, sealed);
		MDB_val old = {sizeof sealed, sealed};
		CHECK(mdb_put(txn, ckpt, &head, &old, 0) == 0);
	} else if (kind == DROP_CKPT) {
		uint8_t c[9] = {'c'};
		ug_put_be64(c + 1, seq);
		MDB_val at = {sizeof c, c};
		CHECK(mdb_del(txn, ckpt, &at, NULL) == 0);
	} else {
		CHECK(mdb_get(txn, audit, &key, &val) == 0);
		CHECK(val.mv_size <= sizeof buf);
		memcpy(buf, val.mv_data, val.mv_size);
		size_t len = val.mv_size;
		if (kind == FLIP) {
			buf[len - 5] ^= 0x01;
			val.mv_data = buf;
			CHECK(mdb_put(txn, audit, &key, &val, 0) == 0);
		} else if (kind == DELETE) {
			CHECK(mdb_del(txn, audit, &key, NULL) == 0);
		} else {
			CHECK(mdb_get(txn, audit, &key2, &val2) == 0);
			memcpy(buf2, val2.mv_data, val2.mv_size);
			MDB_val a = {len, buf}, b = {val2.mv_size, buf2};
			CHECK(mdb_put(txn, audit, &key, &b, 0) == 0);
			CHECK(mdb_put(txn, audit, &key2, &a, 0) == 0);
		}
	}
	CHECK(mdb_txn_commit(txn) == 0);
	mdb_env_close(env);
}

static void
expect_broken(const char *dir, const signer *k, uint64_t seq,
	      const char *words)
{
	store *s = open_store(dir);
	store_audit_report r = verify(s, k);
	store_close(&s);
	if (r.broken_seq != seq || !strstr(r.problem, words))
		FAIL("expected record %llu broken (%s), got %llu: %s",
		     (unsigned long long)seq, words,
		     (unsigned long long)r.broken_seq, r.problem);
}

static void
test_chain_and_checkpoints(void)
{
	const char *dir = ut_tmpdir();
	signer k;
	new_signer(&k);
	store *s = make_trail(dir, &k, 10);
	store_audit_report r = verify(s, &k);
	/* Every 4 records (4, 8) and at the end (10). */
	CHECK_EQ_INT(r.checkpoints, 3);
	CHECK_EQ_INT(r.last_checkpoint, 10);
	CHECK_EQ_INT(r.head, 10);
	CHECK_EQ_INT(r.problems, 0);
	/* A checkpoint the last one covers already is not written again. */
	CHECK_OK(store_audit_checkpoint(s, T0 + 2000));
	CHECK_EQ_INT(verify(s, &k).checkpoints, 3);
	store_close(&s);
}

typedef struct {
	unsigned n;
	uint64_t last_seq;
	char last_detail[64];
	unsigned with_person;
} scan_ctx;

static ug_err
count_record(void *ctx, const store_audit_record *rec)
{
	scan_ctx *c = ctx;
	c->n++;
	if (rec->seq != c->last_seq + 1)
		return UG_EINVAL;
	c->last_seq = rec->seq;
	ug_strlcpy(c->last_detail, rec->detail, sizeof c->last_detail);
	c->with_person += rec->has_person;
	return UG_OK;
}

static void
test_queue_batch_and_scan(void)
{
	const char *dir = ut_tmpdir();
	signer k;
	new_signer(&k);
	store *s = open_store(dir);
	store_audit_signer(s, k.sk, 1000);
	uint8_t person[UG_PERSON_KEY_LEN] = {1, 2, 3};
	for (int i = 0; i < 5; i++) {
		store_audit_entry e = {T0 + i, "cw-bo", "KEY",	 "deliver",
				       "ok",   person,	"queued"};
		store_audit_queue(s, &e);
	}
	uint64_t n = 99;
	CHECK_OK(store_audit_count(s, &n));
	CHECK_EQ_INT(n, 0); /* queued is not written */
	/* A direct write takes what is queued first, in one transaction. */
	CHECK_OK(
	    store_audit_append(s, T0 + 9, "hub", "withdraw", NULL, "direct"));
	CHECK_OK(store_audit_count(s, &n));
	CHECK_EQ_INT(n, 6);
	CHECK_OK(store_audit_flush(s)); /* nothing left: a no-op */
	scan_ctx c = {0};
	CHECK_OK(store_audit_scan(s, 1, count_record, &c));
	CHECK_EQ_INT(c.n, 6);
	CHECK_EQ_STR(c.last_detail, "direct");
	CHECK_EQ_INT(c.with_person, 5);
	/* Overlong strings are cut, not refused: the record matters. */
	char lots[600];
	memset(lots, 'x', sizeof lots - 1);
	lots[sizeof lots - 1] = '\0';
	store_audit_entry e = {T0, lots, lots, lots, lots, NULL, lots};
	CHECK_OK(store_audit_write(s, &e, 1));
	CHECK_EQ_INT(verify(s, &k).broken_seq, 0);
	store_close(&s);
}

static ug_err
count_reads(void *ctx, const store_audit_record *rec)
{
	*(int *)ctx += strcmp(rec->action, "timeline") == 0;
	return UG_OK;
}

static void
test_queue_overflow_is_recorded(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir);
	for (int i = 0; i < STORE_AUDIT_QUEUE_MAX + 7; i++) {
		store_audit_entry e = {T0,	  "-",	NULL,	"connect",
				       "refused", NULL, "flood"};
		store_audit_queue(s, &e);
	}
	/* The flood leaves room for what was read meanwhile. */
	for (int i = 0; i < STORE_AUDIT_QUEUE_MAX; i++) {
		store_audit_entry e = {T0,   "cw-bo", NULL,  "timeline",
				       "ok", NULL,    "read"};
		store_audit_queue(s, &e);
	}
	CHECK_OK(store_audit_flush(s));
	uint64_t n = 0;
	CHECK_OK(store_audit_count(s, &n));
	/* The queue's worth, and one record saying how many were lost. */
	CHECK_EQ_INT(n, STORE_AUDIT_QUEUE_MAX + 1);
	scan_ctx c = {.last_seq = n - 1};
	CHECK_OK(store_audit_scan(s, n, count_record, &c));
	/* Kept: STORE_AUDIT_QUEUE_REFUSALS refusals and the reads that fill
	 * the rest; lost: the other refusals and reads, as many in all as
	 * were queued beyond the queue. */
	char want[64];
	snprintf(want, sizeof want, "%d records not kept",
		 STORE_AUDIT_QUEUE_MAX + 7);
	CHECK(strstr(c.last_detail, want) != NULL);
	int reads = 0;
	CHECK_OK(store_audit_scan(s, 1, count_reads, &reads));
	CHECK_EQ_INT(reads,
		     STORE_AUDIT_QUEUE_MAX - STORE_AUDIT_QUEUE_REFUSALS);
	store_close(&s);
}

/* The hub stops with records it could not write (a full map): closing
 * the store releases them, which a leak check at exit sees. */
static void
test_queue_unwritten_at_close(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir);
	store_audit_entry e = {T0,   "cw-bo", NULL,	    "query",
			       "ok", NULL,    "not written"};
	store_audit_queue(s, &e);
	store_close(&s);
	CHECK(s == NULL);
}

static void
test_flipped_byte(void)
{
	signer k;
	const char *dir = closed_trail(&k);
	tamper(dir, FLIP, 6, 0);
	expect_broken(dir, &k, 6, "record 6 altered");
}

static void
test_deleted_record(void)
{
	signer k;
	const char *dir = closed_trail(&k);
	tamper(dir, DELETE, 3, 0);
	expect_broken(dir, &k, 3, "record 3 missing");
}

static void
test_truncated_tail(void)
{
	signer k;
	const char *dir = closed_trail(&k);
	tamper(dir, DELETE, 10, 0);
	tamper(dir, DELETE, 9, 0);
	expect_broken(dir, &k, 9, "tail truncated");
}

static void
test_truncated_tail_without_checkpoint(void)
{
	/* Records after the last checkpoint: the sealed head catches it. */
	const char *dir = ut_tmpdir();
	signer k;
	new_signer(&k);
	store *s = make_trail(dir, &k, 10);
	append_n(s, 1, 11);
	store_close(&s);
	tamper(dir, DELETE, 11, 0);
	expect_broken(dir, &k, 11, "recorded head is record 11");
	tamper(dir, DROP_HEAD, 0, 0);
	expect_broken(dir, &k, 10, "head is missing");
}

static void
test_swapped_records(void)
{
	signer k;
	const char *dir = closed_trail(&k);
	tamper(dir, SWAP, 2, 7);
	expect_broken(dir, &k, 2, "record 2 altered");
}

static void
test_other_signing_key(void)
{
	const char *dir = ut_tmpdir();
	signer k, other;
	new_signer(&k);
	new_signer(&other);
	store *s = make_trail(dir, &k, 10);
	store_close(&s);
	expect_broken(dir, &other, 4, "bad signature");
}

static void
test_removed_checkpoints(void)
{
	/* The signed checkpoints are in the clear: deleting them needs no
	 * key. The sealed head names the last one, so removing it (or all
	 * of them) is not taken for records not yet signed. */
	signer k;
	const char *dir = closed_trail(&k);
	tamper(dir, DROP_CKPT, 10, 0);
	expect_broken(dir, &k, 10, "checkpoint at record 10 missing");
	/* Neither a checkpoint asked for over the same records (it is not
	 * signed again there) nor records and checkpoints after it make it
	 * go away. */
	store *s = open_store(dir);
	store_audit_signer(s, k.sk, 4);
	CHECK_OK(store_audit_checkpoint(s, T0 + 2000));
	store_audit_report r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 10);
	append_n(s, 2, 11);
	CHECK_OK(store_audit_checkpoint(s, T0 + 3000));
	r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 10);
	CHECK_EQ_INT(r.last_checkpoint, 12);
	store_close(&s);
	tamper(dir, DROP_CKPT, 8, 0);
	tamper(dir, DROP_CKPT, 4, 0);
	expect_broken(dir, &k, 10, "checkpoint at record 10 missing");
	/* A checkpoint signed over the tail names itself in the head. */
	dir = ut_tmpdir();
	s = make_trail(dir, &k, 5);
	store_close(&s);
	tamper(dir, DROP_CKPT, 5, 0);
	expect_broken(dir, &k, 5, "checkpoint at record 5 missing");
	/* One in the middle: the last still covers the chain before it. */
	dir = ut_tmpdir();
	s = make_trail(dir, &k, 10);
	store_close(&s);
	tamper(dir, DROP_CKPT, 8, 0);
	s = open_store(dir);
	r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 0);
	CHECK_EQ_INT(r.checkpoints, 2);
	store_close(&s);
}

static void
test_a_change_found_at_the_next_append_stays_in_the_trail(void)
{
	/* Records after the last checkpoint, cut off: the head catches it,
	 * and the next append (which chains from the last record there is)
	 * must not rewrite the head over it. It records what it found first,
	 * as the hub's own record, which verify then names. */
	const char *dir = ut_tmpdir();
	signer k;
	new_signer(&k);
	store *s = make_trail(dir, &k, 10);
	append_n(s, 1, 11);
	store_close(&s);
	tamper(dir, DELETE, 11, 0);
	s = open_store(dir);
	store_audit_signer(s, k.sk, 1000);
	append_n(s, 1, 11);
	CHECK_OK(store_audit_checkpoint(s, T0 + 2000));
	store_audit_report r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 11);
	CHECK_EQ_INT(r.records, 12);
	CHECK_EQ_INT(r.problems, 1);
	CHECK(strstr(r.problem, "record 11: the trail was changed outside the "
				"hub before it: the chain's recorded head was "
				"record 11, the last record 10") != NULL);
	/* A head taken away is recorded alike. */
	store_close(&s);
	tamper(dir, DROP_HEAD, 0, 0);
	s = open_store(dir);
	append_n(s, 1, 13);
	r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 11);
	CHECK_EQ_INT(r.problems, 2);
	store_close(&s);
	/* An intact trail gets no such record. */
	dir = ut_tmpdir();
	s = make_trail(dir, &k, 3);
	append_n(s, 2, 4);
	CHECK_EQ_INT(verify(s, &k).records, 5);
	CHECK_EQ_INT(verify(s, &k).broken_seq, 0);
	store_close(&s);
}

static void
test_a_head_of_an_earlier_version_is_read(void)
{
	/* OPERATIONS.md "Store format": a head written before it named the
	 * last checkpoint is read as before, naming none; the next append
	 * names the last checkpoint there is, and its removal is caught. */
	signer k;
	const char *dir = closed_trail(&k);
	tamper(dir, OLD_HEAD, 0, 0);
	store *s = open_store(dir);
	store_audit_report r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 0);
	CHECK_EQ_INT(r.head, 10);
	CHECK_EQ_INT(r.last_checkpoint, 10);
	store_audit_signer(s, k.sk, 1000);
	append_n(s, 1, 11);
	r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 0);
	CHECK_EQ_INT(r.records, 11);
	store_close(&s);
	tamper(dir, DROP_CKPT, 10, 0);
	expect_broken(dir, &k, 10, "checkpoint at record 10 missing");
}

static void
test_empty_trail_is_intact(void)
{
	const char *dir = ut_tmpdir();
	signer k;
	new_signer(&k);
	store *s = open_store(dir);
	store_audit_report r = verify(s, &k);
	CHECK_EQ_INT(r.broken_seq, 0);
	CHECK_EQ_INT(r.records, 0);
	CHECK_ERR(store_audit_checkpoint(s, T0), UG_EINVAL); /* no signer */
	store_close(&s);
}

TEST_LIST = {
    {"chain and checkpoints", test_chain_and_checkpoints},
    {"queue, batch and scan", test_queue_batch_and_scan},
    {"queue overflow is recorded", test_queue_overflow_is_recorded},
    {"queue unwritten at close", test_queue_unwritten_at_close},
    {"flipped byte", test_flipped_byte},
    {"deleted record", test_deleted_record},
    {"truncated tail", test_truncated_tail},
    {"truncated tail without checkpoint",
     test_truncated_tail_without_checkpoint},
    {"swapped records", test_swapped_records},
    {"other signing key", test_other_signing_key},
    {"removed checkpoints", test_removed_checkpoints},
    {"a change found at the next append stays in the trail",
     test_a_change_found_at_the_next_append_stays_in_the_trail},
    {"a head of an earlier version is read",
     test_a_head_of_an_earlier_version_is_read},
    {"empty trail is intact", test_empty_trail_is_intact},
    {NULL, NULL},
};
