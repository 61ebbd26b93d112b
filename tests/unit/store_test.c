/*
 * store/: the hub's LMDB store, real LMDB in a temp dir. Covers the log's
 * idempotency (duplicates within and across batches, conflicts between
 * agencies), scans, sealing at rest (the raw files never hold a CPR or a
 * body in the clear), assignments, principals, alerts, derived state,
 * MDB_MAP_FULL and statistics.
 */
#include "store/store.h"

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/util.h"
#include "store/store_int.h" /* lmdb.h: the tests forge raw records */
#include "store/store_password.h"

#include "tests/unit/check.h"

/* Synthetic CPRs: valid dates, made-up serials. */
#define CPR_A	  "2405129876"
#define CPR_B	  "0811104321"
#define CPR_C	  "1702085555"
#define BODY_MARK "PLAINBODY-7f3a9c"
#define T0	  ((int64_t)1717000000000)

static const uint8_t storage_key[UG_KEY_LEN] = {
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    0xcc, 0xdd, 0xee, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
    0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x20};
static const uint8_t hash_key[UG_KEY_LEN] = {
    0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab,
    0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6,
    0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf, 0xc0};

static store *
open_store(const char *dir, const uint8_t *key, size_t log_mb)
{
	CHECK_OK(ug_crypto_init());
	store_opts opts = {
	    .log_map_mb = log_mb, .derived_map_mb = 64, .storage_key = key};
	store *s = NULL;
	ug_diag diag = {0};
	ug_err err = store_open(&s, dir, &opts, &diag);
	if (err != UG_OK)
		FAIL("store_open(%s): %s (%s: %s)", dir, ug_strerror(err),
		     diag.field, diag.reason);
	CHECK(s != NULL);
	return s;
}

/* One test event and the memory its store_event borrows. */
typedef struct {
	uint8_t id[STORE_EVENT_ID_LEN];
	uint8_t person[UG_PERSON_KEY_LEN];
	char body[512];
	store_event ev;
} tevent;

static void
make_event(tevent *t, unsigned n, const char *agency, const char *cpr)
{
	memset(t, 0, sizeof *t);
	for (int i = 0; i < 8; i++)
		t->id[i] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
	memset(t->id + 8, 0xee, 8);
	snprintf(t->body, sizeof t->body,
		 "envelope #%u about %s " BODY_MARK " end", n,
		 cpr ? cpr : "-");
	t->ev.event_id = t->id;
	t->ev.agency = agency;
	t->ev.type = 1;
	if (cpr) {
		ug_person_key(hash_key, cpr, t->person);
		t->ev.person_key = t->person;
	}
	t->ev.received_at = T0 + n;
	t->ev.body = (const uint8_t *)t->body;
	t->ev.body_len = strlen(t->body);
	t->ev.status = -1;
}

/* Append a batch of tevents (copying their store_events in and out). */
static ug_err
append(store *s, tevent *t, size_t n)
{
	store_event ev[16];
	CHECK(n <= 16);
	for (size_t i = 0; i < n; i++)
		ev[i] = t[i].ev;
	ug_err err = store_append(s, ev, n);
	for (size_t i = 0; i < n; i++)
		t[i].ev = ev[i];
	return err;
}

/* Events 1..n in the log: derived state a test commits must not be
 * ahead of it, or the next open throws it away (store_open). */
static void
log_through(store *s, unsigned n)
{
	for (unsigned i = 1; i <= n; i++) {
		tevent t;
		make_event(&t, 1000 + i, "school-a", NULL);
		CHECK_OK(append(s, &t, 1));
	}
}

/* A new store in dir holding events 1 (school-a, CPR_A) and 2 (second,
 * CPR_B). */
static store *
two_events(const char *dir, tevent t[2], const char *second)
{
	store *s = open_store(dir, storage_key, 64);
	make_event(&t[0], 1, "school-a", CPR_A);
	make_event(&t[1], 2, second, CPR_B);
	CHECK_OK(append(s, t, 2));
	return s;
}

/* Delete dir's ids/, as a lost or torn index is. */
static void
remove_ids(const char *dir)
{
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof cmd, "rm -r %s/ids", dir);
	CHECK_EQ_INT(system(cmd), 0);
}

static void
check_stats(store *s, uint64_t log_events, uint64_t event_ids,
	    uint64_t last_seq, int line)
{
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	if (st.log_events != log_events || st.event_ids != event_ids ||
	    st.last_seq != last_seq)
		FAIL(
		    "(line %d) stats: expected log_events %llu event_ids %llu "
		    "last_seq %llu, got %llu %llu %llu",
		    line, (unsigned long long)log_events,
		    (unsigned long long)event_ids,
		    (unsigned long long)last_seq,
		    (unsigned long long)st.log_events,
		    (unsigned long long)st.event_ids,
		    (unsigned long long)st.last_seq);
}

static void
test_append_duplicates_conflicts(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	uint64_t last = 99;
	CHECK_OK(store_log_last(s, &last));
	CHECK_EQ_INT(last, 0);

	tevent t[4];
	make_event(&t[0], 1, "school-a", CPR_A);
	make_event(&t[1], 2, "school-a", CPR_B);
	make_event(&t[2], 3, "school-a", NULL); /* anonymous */
	CHECK_OK(append(s, t, 3));
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(t[i].ev.status, STORE_NEW);
		CHECK_EQ_INT(t[i].ev.seq, i + 1);
	}

	/* The same id twice in one batch: stored once. */
	make_event(&t[0], 4, "school-a", CPR_C);
	make_event(&t[1], 4, "school-a", CPR_C);
	CHECK_OK(append(s, t, 2));
	CHECK_EQ_INT(t[0].ev.status, STORE_NEW);
	CHECK_EQ_INT(t[0].ev.seq, 4);
	CHECK_EQ_INT(t[1].ev.status, STORE_DUPLICATE);
	CHECK_EQ_INT(t[1].ev.seq, 4);

	/* Across batches: a resend is a duplicate with the stored seq, and
	 * an id another agency stored is a conflict. */
	make_event(&t[0], 1, "school-a", CPR_A);
	make_event(&t[1], 2, "school-b", CPR_B);
	make_event(&t[2], 5, "school-b", CPR_B);
	make_event(&t[3], 2, "school-a", CPR_B);
	CHECK_OK(append(s, t, 4));
	CHECK_EQ_INT(t[0].ev.status, STORE_DUPLICATE);
	CHECK_EQ_INT(t[0].ev.seq, 1);
	CHECK_EQ_INT(t[1].ev.status, STORE_CONFLICT);
	CHECK_EQ_INT(t[1].ev.seq, 2);
	CHECK_EQ_INT(t[2].ev.status, STORE_NEW);
	CHECK_EQ_INT(t[2].ev.seq, 5);
	CHECK_EQ_INT(t[3].ev.status, STORE_DUPLICATE);
	CHECK_EQ_INT(t[3].ev.seq, 2);
	/* An agency whose name is a prefix of the owner's is another one. */
	make_event(&t[0], 5, "school", CPR_B);
	CHECK_OK(append(s, t, 1));
	CHECK_EQ_INT(t[0].ev.status, STORE_CONFLICT);

	CHECK_OK(store_log_last(s, &last));
	CHECK_EQ_INT(last, 5);
	check_stats(s, 5, 5, 5, __LINE__);
	/* Empty batch: nothing happens. */
	CHECK_OK(store_append(s, NULL, 0));
	check_stats(s, 5, 5, 5, __LINE__);
	store_close(&s);
	CHECK(s == NULL);
	store_close(&s); /* NULL is fine */
}

static void
test_append_failure_stores_nothing(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	tevent t[2];
	make_event(&t[0], 1, "school-a", CPR_A);
	make_event(&t[1], 2,
		   "an-agency-id-that-is-far-too-long-to-be-registered-"
		   "anywhere-at-all",
		   CPR_B);
	CHECK_ERR(append(s, t, 2), UG_EINVAL);
	check_stats(s, 0, 0, 0, __LINE__);
	/* So the good event is new when it comes again. */
	make_event(&t[0], 1, "school-a", CPR_A);
	CHECK_OK(append(s, t, 1));
	CHECK_EQ_INT(t[0].ev.status, STORE_NEW);
	CHECK_EQ_INT(t[0].ev.seq, 1);
	check_stats(s, 1, 1, 1, __LINE__);
	store_close(&s);
}

typedef struct {
	int calls;
	int stop_at; /* return UG_EAGAIN on this call */
	uint64_t seq[32];
	uint32_t type[32];
	char agency[32][STORE_ID_MAX];
	int64_t received_at[32];
	bool has_person[32];
	uint8_t person[32][UG_PERSON_KEY_LEN];
	char body[32][512];
	size_t body_len[32];
} scan_log;

static ug_err
collect(void *ctx, const store_record *rec)
{
	scan_log *log = ctx;
	int i = log->calls++;
	if (log->stop_at && log->calls == log->stop_at)
		return UG_EAGAIN;
	if (i >= 32)
		return UG_EINVAL;
	log->seq[i] = rec->seq;
	log->type[i] = rec->type;
	snprintf(log->agency[i], STORE_ID_MAX, "%s", rec->agency);
	log->received_at[i] = rec->received_at;
	log->has_person[i] = rec->person_key != NULL;
	if (rec->person_key)
		memcpy(log->person[i], rec->person_key, UG_PERSON_KEY_LEN);
	log->body_len[i] = rec->body_len;
	memcpy(log->body[i], rec->body,
	       rec->body_len < 512 ? rec->body_len : 511);
	return UG_OK;
}

static void
test_log_scan(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	tevent t[5];
	make_event(&t[0], 10, "school-a", CPR_A);
	make_event(&t[1], 11, "school-b", CPR_B);
	make_event(&t[2], 12, "school-a", NULL);
	CHECK_OK(append(s, t, 3));
	make_event(&t[3], 13, "jobcenter", CPR_C);
	t[3].ev.type = 7;
	make_event(&t[4], 14, "school-a", CPR_A);
	CHECK_OK(append(s, t + 3, 2));

	scan_log *log = calloc(1, sizeof *log);
	uint64_t next = 0;
	CHECK_OK(store_log_scan(s, 1, 100, collect, log, &next));
	CHECK_EQ_INT(log->calls, 5);
	CHECK_EQ_INT(next, 6);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ_INT(log->seq[i], i + 1);
		CHECK_EQ_INT(log->type[i], t[i].ev.type);
		CHECK_EQ_STR(log->agency[i], t[i].ev.agency);
		CHECK_EQ_INT(log->received_at[i], T0 + 10 + i);
		CHECK_EQ_INT(log->has_person[i], t[i].ev.person_key != NULL);
		if (t[i].ev.person_key)
			CHECK_EQ_MEM(log->person[i], t[i].person,
				     UG_PERSON_KEY_LEN);
		CHECK_EQ_INT(log->body_len[i], strlen(t[i].body));
		CHECK_EQ_MEM(log->body[i], t[i].body, strlen(t[i].body));
	}
	/* A window in the middle; from 0 starts at the first record. */
	memset(log, 0, sizeof *log);
	CHECK_OK(store_log_scan(s, 3, 2, collect, log, &next));
	CHECK_EQ_INT(log->calls, 2);
	CHECK_EQ_INT(log->seq[0], 3);
	CHECK_EQ_INT(log->seq[1], 4);
	CHECK_EQ_INT(next, 5);
	memset(log, 0, sizeof *log);
	CHECK_OK(store_log_scan(s, 0, 1, collect, log, &next));
	CHECK_EQ_INT(log->calls, 1);
	CHECK_EQ_INT(log->seq[0], 1);
	CHECK_EQ_INT(next, 2);
	/* Past the end: nothing, next stays. */
	memset(log, 0, sizeof *log);
	CHECK_OK(store_log_scan(s, 6, 100, collect, log, &next));
	CHECK_EQ_INT(log->calls, 0);
	CHECK_EQ_INT(next, 6);
	/* A callback error stops the scan and is returned; next points after
	 * the last record the callback accepted. */
	memset(log, 0, sizeof *log);
	log->stop_at = 3;
	CHECK_ERR(store_log_scan(s, 1, 100, collect, log, &next), UG_EAGAIN);
	CHECK_EQ_INT(log->calls, 3);
	CHECK_EQ_INT(next, 3);
	free(log);
	store_close(&s);
}

static void
test_sealed_at_rest(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	tevent t[3];
	make_event(&t[0], 1, "school-sealcheck", CPR_A);
	make_event(&t[1], 2, "school-sealcheck", CPR_B);
	make_event(&t[2], 3, "school-sealcheck", CPR_C);
	t[2].ev.type = 7;
	t[2].ev.assign_caseworker = "cw-hidden-name";
	t[2].ev.assign_from = ug_days_from_civil(2024, 1, 1);
	CHECK_OK(append(s, t, 3));
	static const char alert_body[] =
	    "alert about " CPR_A " ALERTBODY-55e1";
	store_alert a = {.id = {0, 0, 0, 0, 0, 0, 0, 1, 0x2a},
			 .recipient = "cw-open-id",
			 .body = (const uint8_t *)alert_body,
			 .body_len = sizeof alert_body - 1};
	CHECK_OK(store_alerts_put(s, &a, 1));
	CHECK_OK(store_principal_put(
	    s, STORE_CASEWORKER, "cw-principal-id",
	    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 0, NULL));
	store_dtxn *dt;
	CHECK_OK(store_derived_begin(s, &dt));
	CHECK_OK(store_derived_index(dt, t[0].person, T0, 1));
	CHECK_OK(store_derived_state_put(
	    dt, t[0].person, 1, (const uint8_t *)"RULESTATE-9d02", 14));
	CHECK_OK(store_derived_person_alert(dt, t[0].person, a.id));
	store_timer tm = {.due = T0 + 1000, .seq = 1, .kind = 3};
	memcpy(tm.person_key, t[0].person, UG_PERSON_KEY_LEN);
	CHECK_OK(store_derived_timer_put(dt, &tm));
	CHECK_OK(store_derived_desk_put(dt, "desk-hidden", "cw-desk-member", 0,
					0, true));
	CHECK_OK(store_derived_commit(&dt, 3));
	store_close(&s);

	/* The walk reads both environments... */
	int files = 0;
	CHECK_EQ_INT(ut_dir_contains(dir, "keycheck", 8, &files), 1);
	CHECK_EQ_INT(ut_dir_contains(dir, "last_applied", 12, NULL), 1);
	/* ...and finds no CPR in either form, no body, no agency, recipient,
	 * caseworker, desk, principal id or rule state. */
	static const char *const secrets[] = {
	    CPR_A,
	    CPR_B,
	    CPR_C,
	    "240512-9876",
	    BODY_MARK,
	    "ALERTBODY-55e1",
	    "cw-hidden-name",
	    "RULESTATE-9d02",
	    "school-sealcheck",
	    "cw-open-id",
	    "cw-principal-id",
	    "desk-hidden",
	    "cw-desk-member",
	    "rq:rM>}U?@Lns47E1",
	};
	for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
		int hits =
		    ut_dir_contains(dir, secrets[i], strlen(secrets[i]), NULL);
		if (hits != 0)
			FAIL("\"%s\" found in %d raw store file(s), first %s",
			     secrets[i], hits, ut_last_hit);
	}
	/* Nor a person key, nor an alert id, in any key or value: what
	 * links a person's records is sealed or hashed per database. */
	for (int i = 0; i < 3; i++)
		CHECK_EQ_INT(
		    ut_dir_contains(dir, t[i].person, UG_PERSON_KEY_LEN, NULL),
		    0);
	CHECK_EQ_INT(ut_dir_contains(dir, a.id, STORE_ALERT_ID_LEN, NULL), 0);
}

static ug_err
count_only(void *ctx, const store_record *rec)
{
	(void)rec;
	(*(int *)ctx)++;
	return UG_OK;
}

static ug_err
count_alerts(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	     uint32_t deliveries)
{
	(void)id, (void)body, (void)len, (void)deliveries;
	(*(int *)ctx)++;
	return UG_OK;
}

static void
test_wrong_storage_key(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-a");
	store_close(&s);

	/* Another key is refused at open, before anything is misread. */
	uint8_t wrong[UG_KEY_LEN];
	memcpy(wrong, storage_key, sizeof wrong);
	wrong[31] ^= 0x80;
	store_opts opts = {
	    .log_map_mb = 64, .derived_map_mb = 64, .storage_key = wrong};
	ug_diag diag = {0};
	CHECK_ERR(store_open(&s, dir, &opts, &diag), UG_EDENIED);
	CHECK(s == NULL);
	CHECK(strstr(diag.reason, "storage key") != NULL);

	/* The right key still opens everything. */
	s = open_store(dir, storage_key, 64);
	int calls = 0;
	uint64_t next = 0;
	CHECK_OK(store_log_scan(s, 1, 100, count_only, &calls, &next));
	CHECK_EQ_INT(calls, 2);
	CHECK_EQ_INT(next, 3);
	store_close(&s);
}

/* ---- raw LMDB access, as someone with the files but not the keys ---- */

static MDB_env *
raw_env(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, sub);
	MDB_env *env = NULL;
	CHECK_EQ_INT(mdb_env_create(&env), 0);
	CHECK_EQ_INT(mdb_env_set_maxdbs(env, 16), 0);
	CHECK_EQ_INT(mdb_env_set_mapsize(env, 64UL << 20), 0);
	CHECK_EQ_INT(mdb_env_open(env, path, 0, 0600), 0);
	return env;
}

/* Visit every record of db: fn may change the txn (copy, delete). */
static void
raw_each(MDB_env *env, const char *db,
	 void (*fn)(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val,
		    void *ctx),
	 void *ctx)
{
	MDB_txn *txn;
	MDB_dbi dbi;
	CHECK_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
	CHECK_EQ_INT(mdb_dbi_open(txn, db, 0, &dbi), 0);
	/* Copy the records out first: fn writes to the same db. */
	MDB_cursor *cur;
	CHECK_EQ_INT(mdb_cursor_open(txn, dbi, &cur), 0);
	struct rec {
		uint8_t k[64], v[512];
		size_t kl, vl;
	} *recs = calloc(64, sizeof *recs);
	size_t n = 0;
	MDB_val k, v;
	for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	     rc == 0 && n < 64; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size > 64 || v.mv_size > 512)
			continue;
		memcpy(recs[n].k, k.mv_data, recs[n].kl = k.mv_size);
		memcpy(recs[n].v, v.mv_data, recs[n].vl = v.mv_size);
		n++;
	}
	mdb_cursor_close(cur);
	for (size_t i = 0; i < n; i++) {
		MDB_val key = {recs[i].kl, recs[i].k};
		MDB_val val = {recs[i].vl, recs[i].v};
		fn(txn, dbi, &key, &val, ctx);
	}
	free(recs);
	CHECK_EQ_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* One raw write to db in dir/env, as another program could make it (a
 * db missing so far is created); v NULL deletes k, which must exist. */
static void
raw_put(const char *dir, const char *env, const char *db, const void *k,
	size_t klen, const void *v, size_t vlen)
{
	MDB_env *e = raw_env(dir, env);
	MDB_txn *txn;
	MDB_dbi dbi;
	CHECK_EQ_INT(mdb_txn_begin(e, NULL, 0, &txn), 0);
	CHECK_EQ_INT(mdb_dbi_open(txn, db, MDB_CREATE, &dbi), 0);
	MDB_val key = {klen, (void *)k}, val = {vlen, (void *)v};
	CHECK_EQ_INT(v ? mdb_put(txn, dbi, &key, &val, 0)
		       : mdb_del(txn, dbi, &key, NULL),
		     0);
	CHECK_EQ_INT(mdb_txn_commit(txn), 0);
	mdb_env_close(e);
}

/* One raw read from db in dir/env into out: the value's length. */
static size_t
raw_get(const char *dir, const char *env, const char *db, const void *k,
	size_t klen, void *out, size_t cap)
{
	MDB_env *e = raw_env(dir, env);
	MDB_txn *txn;
	MDB_dbi dbi;
	CHECK_EQ_INT(mdb_txn_begin(e, NULL, MDB_RDONLY, &txn), 0);
	CHECK_EQ_INT(mdb_dbi_open(txn, db, 0, &dbi), 0);
	MDB_val key = {klen, (void *)k}, val = {0, NULL};
	CHECK_EQ_INT(mdb_get(txn, dbi, &key, &val), 0);
	CHECK(val.mv_size <= cap);
	if (val.mv_size <= cap)
		memcpy(out, val.mv_data, val.mv_size);
	mdb_txn_abort(txn);
	mdb_env_close(e);
	return val.mv_size;
}

/* Delete the ids/ entry k (NULL: none) and set "indexed_through", as a
 * lost ids/ commit leaves them. */
static void
unindex(const char *dir, const uint8_t *k, size_t klen, uint64_t through)
{
	if (k)
		raw_put(dir, "ids", "ids", k, klen, NULL, 0);
	uint8_t v[8];
	ug_put_be64(v, through);
	raw_put(dir, "ids", "meta", "indexed_through", 15, v, 8);
}

/* store_event_id_get finds id as seq, stored by agency (NULL: any). */
static void
expect_id(store *s, const uint8_t *id, uint64_t seq, const char *agency)
{
	char held[STORE_ID_MAX];
	uint64_t found = 0;
	CHECK_OK(store_event_id_get(s, id, &found, held));
	CHECK_EQ_INT(found, seq);
	if (agency)
		CHECK_EQ_STR(held, agency);
}

/* Put every value of a db back under its own key with one byte flipped. */
static void
flip_value(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val, void *ctx)
{
	size_t at = *(size_t *)ctx;
	if (key->mv_size < 16)
		return; /* the registration generation */
	((uint8_t *)val->mv_data)[at < val->mv_size ? at : 0] ^= 0x01;
	CHECK_EQ_INT(mdb_put(txn, dbi, key, val, 0), 0);
}

struct swap {
	uint8_t k[64], v[512];
	size_t kl, vl;
	int seen;
};

/* Swap the values of the first two records (keys 16 bytes or more). */
static void
swap_values(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val, void *ctx)
{
	struct swap *sw = ctx;
	if (key->mv_size < 16 || sw->seen >= 2)
		return;
	if (sw->seen++ == 0) {
		memcpy(sw->k, key->mv_data, sw->kl = key->mv_size);
		memcpy(sw->v, val->mv_data, sw->vl = val->mv_size);
		return;
	}
	MDB_val first = {sw->kl, sw->k}, firstv = {sw->vl, sw->v};
	CHECK_EQ_INT(mdb_put(txn, dbi, &first, val, 0), 0);
	CHECK_EQ_INT(mdb_put(txn, dbi, key, &firstv, 0), 0);
}

/* Move every queue entry under another recipient's prefix (the first 16
 * bytes of the key), taken from the entry of that recipient. */
static void
move_queue(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val, void *ctx)
{
	const uint8_t *prefix = ctx;
	if (memcmp(key->mv_data, prefix, 16) == 0)
		return;
	uint8_t k[64];
	memcpy(k, key->mv_data, key->mv_size);
	memcpy(k, prefix, 16);
	MDB_val nk = {key->mv_size, k};
	CHECK_EQ_INT(mdb_put(txn, dbi, &nk, val, 0), 0);
	CHECK_EQ_INT(mdb_del(txn, dbi, key, NULL), 0);
}

static void
first_key(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val, void *ctx)
{
	(void)txn, (void)dbi, (void)val;
	uint8_t *out = ctx;
	if (out[16] == 0) {
		memcpy(out, key->mv_data, 16);
		out[16] = 1;
	}
}

static const char z85_anna[] = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
static const char z85_bo[] = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";

static void
test_forged_principals(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	CHECK_OK(store_principal_put(s, STORE_CASEWORKER, "cw-anna", z85_anna,
				     0, NULL));
	CHECK_OK(
	    store_principal_put(s, STORE_AGENCY, "school-x", z85_bo, 6, NULL));
	store_close(&s);
	/* Swapping the two registrations' values (as an mdb_load would
	 * write them) admits neither key as the other's id. */
	struct swap sw = {.seen = 0};
	raw_each(raw_env(dir, "log"), "principal", swap_values, &sw);
	CHECK_EQ_INT(sw.seen, 2);
	s = open_store(dir, storage_key, 64);
	int kind;
	char id[STORE_ID_MAX];
	uint32_t flags;
	CHECK_ERR(store_principal_find(s, z85_anna, &kind, id, &flags),
		  UG_ENOTFOUND);
	CHECK_ERR(store_principal_find(s, z85_bo, &kind, id, &flags),
		  UG_ENOTFOUND);
	CHECK_ERR(
	    store_principal_flags(s, STORE_CASEWORKER, "cw-anna", &flags),
	    UG_ENOTFOUND);
	/* Registering again repairs it. */
	CHECK_OK(store_principal_put(s, STORE_CASEWORKER, "cw-anna", z85_anna,
				     0, NULL));
	CHECK_OK(store_principal_find(s, z85_anna, &kind, id, &flags));
	CHECK_EQ_STR(id, "cw-anna");
	store_close(&s);

	/* A flipped byte in principal_id: the key no longer admits. */
	size_t at = 30;
	raw_each(raw_env(dir, "log"), "principal_id", flip_value, &at);
	s = open_store(dir, storage_key, 64);
	CHECK_ERR(store_principal_find(s, z85_anna, &kind, id, &flags),
		  UG_ENOTFOUND);
	store_close(&s);
}

/* OPERATIONS.md, "Records that do not open": at most one line per
 * database a minute. Passwords share the principal-id tag with the
 * registrations' index; a forged password must not silence a forged
 * principal_id read in the same minute. */
static void
test_forged_is_limited_per_database(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	char path[600];
	snprintf(path, sizeof path, "%s/stderr", dir);
	fflush(stderr);
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(saved >= 0 && fd >= 0);
	dup2(fd, STDERR_FILENO);
	store__forged(s, TAG_PRINCIPAL_ID, "password");
	store__forged(s, TAG_PRINCIPAL_ID, "principal_id");
	store__forged(s, TAG_PRINCIPAL_ID, "password");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fd);
	store_close(&s);
	char text[4096] = "";
	FILE *f = fopen(path, "r");
	CHECK(f != NULL);
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = '\0';
	CHECK(strstr(text, "STORE-FORGED password: ") != NULL);
	CHECK(strstr(text, "STORE-FORGED principal_id: ") != NULL);
	const char *again = strstr(text, "STORE-FORGED password: ");
	CHECK(strstr(again + 1, "STORE-FORGED password: ") == NULL);
}

static void
put_alert_for(store *s, uint8_t n, const char *recipient)
{
	char body[64];
	snprintf(body, sizeof body, "alert %u for %s", n, recipient);
	store_alert a = {.id = {0, 0, 0, 0, 0, 0, 0, n, 1},
			 .recipient = recipient,
			 .body = (const uint8_t *)body,
			 .body_len = strlen(body)};
	CHECK_OK(store_alerts_put(s, &a, 1));
	CHECK(a.created);
}

static void
test_forged_queue_and_alerts(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	put_alert_for(s, 1, "cw-anna");
	put_alert_for(s, 2, "cw-bo");
	put_alert_for(s, 3, "cw-bo");
	store_close(&s);

	/* Without the keys nobody can tell whose queue a prefix is: take the
	 * first, move every entry under it, then see who got what. */
	uint8_t prefix[17] = {0};
	raw_each(raw_env(dir, "log"), "queue", first_key, prefix);
	CHECK_EQ_INT(prefix[16], 1);
	raw_each(raw_env(dir, "log"), "queue", move_queue, prefix);
	s = open_store(dir, storage_key, 64);
	int anna = 0, bo = 0;
	CHECK_OK(
	    store_alerts_open(s, "cw-anna", NULL, 10, count_alerts, &anna));
	CHECK_OK(store_alerts_open(s, "cw-bo", NULL, 10, count_alerts, &bo));
	/* Whoever the prefix belongs to, nobody receives what was moved in:
	 * one keeps their own, the other has nothing left. */
	CHECK(anna + bo == 1 || anna + bo == 2);
	CHECK(anna + bo < 3);
	size_t count = 0;
	CHECK_OK(store_alerts_count(s, "cw-anna", &count));
	CHECK_EQ_INT(count, (size_t)anna);
	uint8_t id2[STORE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, 2, 1};
	uint8_t id1[STORE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, 1, 1};
	if (anna == 1) /* the prefix was Anna's: Bo's two moved to her */
		CHECK(!store_alert_queued(s, "cw-anna", id2));
	else /* the prefix was Bo's: Anna's one moved to him */
		CHECK(!store_alert_queued(s, "cw-bo", id1));
	store_close(&s);

	/* A flipped byte in an alert's head or body: never delivered. */
	const char *dir2 = ut_tmpdir();
	for (size_t at = 30; at <= 200; at += 170) {
		s = open_store(dir2, storage_key, 64);
		uint8_t n = (uint8_t)(at == 30 ? 10 : 11);
		put_alert_for(s, n, "cw-carl");
		store_close(&s);
		raw_each(raw_env(dir2, "log"), "alerts", flip_value, &at);
		s = open_store(dir2, storage_key, 64);
		int got = 0;
		CHECK_OK(store_alerts_open(s, "cw-carl", NULL, 10,
					   count_alerts, &got));
		CHECK_EQ_INT(got, 0);
		uint8_t id[STORE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, n, 1};
		bool open = false;
		char r[STORE_ID_MAX];
		uint32_t esc;
		if (at == 30)
			CHECK_ERR(store_alert_state(s, id, &open, r, &esc),
				  UG_ENOTFOUND);
		CHECK(store_alert_get(s, id, count_alerts, &got, &open) !=
		      UG_OK);
		CHECK_EQ_INT(got, 0);
		store_close(&s);
	}
}

static ug_err
collect_seq(void *ctx, uint64_t seq)
{
	uint64_t *out = ctx;
	out[++out[0]] = seq;
	return UG_OK;
}

static ug_err
collect_id(void *ctx, const uint8_t *id)
{
	uint8_t *out = ctx;
	memcpy(out + 1 + out[0]++ * STORE_ALERT_ID_LEN, id,
	       STORE_ALERT_ID_LEN);
	return UG_OK;
}

static void
test_person_lists_ordered(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	log_through(s, 6);
	uint8_t pa[UG_PERSON_KEY_LEN], pb[UG_PERSON_KEY_LEN];
	ug_person_key(hash_key, CPR_A, pa);
	ug_person_key(hash_key, CPR_B, pb);
	store_dtxn *t;
	CHECK_OK(store_derived_begin(s, &t));
	/* Out of order on purpose: the hashed keys give no order, the store
	 * sorts after unsealing (by sequence, whatever the times; ids oldest
	 * first). */
	int64_t at[] = {T0 + 50, T0 - 10, T0 + 50, T0, T0 + 7};
	for (uint64_t i = 0; i < 5; i++)
		CHECK_OK(store_derived_index(t, pa, at[i], 100 - i));
	CHECK_OK(store_derived_index(t, pb, T0, 1));
	uint8_t ids[3][STORE_ALERT_ID_LEN] = {{0, 0, 0, 0, 0, 0, 0, 9, 2},
					      {0, 0, 0, 0, 0, 0, 0, 3, 7},
					      {0, 0, 0, 0, 0, 0, 0, 9, 1}};
	for (int i = 0; i < 3; i++)
		CHECK_OK(store_derived_person_alert(t, pa, ids[i]));
	CHECK_OK(store_derived_commit(&t, 6));
	uint64_t seqs[16] = {0};
	CHECK_OK(store_person_events(s, pa, collect_seq, seqs));
	CHECK_EQ_INT(seqs[0], 5);
	uint64_t want[] = {96, 97, 98, 99, 100};
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(seqs[1 + i], want[i]);
	uint8_t got[1 + 8 * STORE_ALERT_ID_LEN] = {0};
	CHECK_OK(store_person_alerts(s, pa, collect_id, got));
	CHECK_EQ_INT(got[0], 3);
	CHECK_EQ_MEM(got + 1, ids[1], STORE_ALERT_ID_LEN);
	CHECK_EQ_MEM(got + 1 + STORE_ALERT_ID_LEN, ids[2], STORE_ALERT_ID_LEN);
	CHECK_EQ_MEM(got + 1 + 2 * STORE_ALERT_ID_LEN, ids[0],
		     STORE_ALERT_ID_LEN);
	store_close(&s);

	/* A person index entry moved under another person does not open:
	 * swapping two values leaves those two out of the timeline. */
	struct swap sw = {.seen = 0};
	raw_each(raw_env(dir, "derived"), "person", swap_values, &sw);
	s = open_store(dir, storage_key, 64);
	memset(seqs, 0, sizeof seqs);
	CHECK_OK(store_person_events(s, pa, collect_seq, seqs));
	uint64_t more[16] = {0};
	CHECK_OK(store_person_events(s, pb, collect_seq, more));
	CHECK_EQ_INT(seqs[0] + more[0], 4);
	store_close(&s);
}

static ug_err
stop_after_two(void *ctx, uint64_t seq)
{
	uint64_t *out = ctx;
	out[++out[0]] = seq;
	return out[0] == 2 ? UG_EAGAIN : UG_OK;
}

/* The person index is kept in buckets of 4,096 sequences, each person
 * hashed anew per bucket: a person's entries in many buckets, with gaps
 * and other persons between, are all found, in the order stored; a scan stops
 * where its callback says; an erasure and a purge reach every bucket. */
static void
test_person_index_buckets(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	uint8_t pa[UG_PERSON_KEY_LEN], pb[UG_PERSON_KEY_LEN];
	ug_person_key(hash_key, CPR_A, pa);
	ug_person_key(hash_key, CPR_B, pb);
	/* Bucket 0, 0, 1, 3 (2 empty), 1000; B in 1 and 4 only. */
	uint64_t a_seqs[] = {1, 4095, 4096, 3 * 4096 + 7, 1000 * 4096ULL};
	store_dtxn *t;
	CHECK_OK(store_derived_begin(s, &t));
	for (int i = 4; i >= 0; i--)
		CHECK_OK(store_derived_index(t, pa, T0 + i, a_seqs[i]));
	CHECK_OK(store_derived_index(t, pb, T0, 4097));
	CHECK_OK(store_derived_index(t, pb, T0, 4 * 4096));
	CHECK_OK(store_derived_commit(&t, 1000 * 4096ULL));
	uint64_t seqs[16] = {0};
	CHECK_OK(store_person_events(s, pa, collect_seq, seqs));
	CHECK_EQ_INT(seqs[0], 5);
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(seqs[1 + i], a_seqs[i]);
	memset(seqs, 0, sizeof seqs);
	CHECK_OK(store_person_events(s, pb, collect_seq, seqs));
	CHECK_EQ_INT(seqs[0], 2);
	memset(seqs, 0, sizeof seqs);
	CHECK_ERR(store_person_events_scan(s, pa, stop_after_two, seqs),
		  UG_EAGAIN);
	CHECK_EQ_INT(seqs[0], 2);
	memset(seqs, 0, sizeof seqs);
	CHECK_OK(store_person_events_scan(s, pb, collect_seq, seqs));
	CHECK_EQ_INT(seqs[0], 2);

	/* Erasing A takes all five of A's entries, none of B's. */
	store_purge_counts c;
	CHECK_OK(store_purge(s, NULL, 0, pa, &c));
	CHECK_EQ_INT(c.index_entries, 5);
	memset(seqs, 0, sizeof seqs);
	CHECK_OK(store_person_events(s, pa, collect_seq, seqs));
	CHECK_EQ_INT(seqs[0], 0);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.person_index_entries, 2);
	store_close(&s);
}

static void
test_old_format_refused(void)
{
	/* A log written before formats were recorded: data, no meta. */
	const char *dir = ut_tmpdir();
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/log", dir);
	CHECK_EQ_INT(mkdir(path, 0700), 0);
	uint8_t k[8] = {0, 0, 0, 0, 0, 0, 0, 1}, v[40] = {1, 1};
	raw_put(dir, "log", "log", k, sizeof k, v, sizeof v);
	store *s = NULL;
	store_opts opts = {.log_map_mb = 64,
			   .derived_map_mb = 64,
			   .storage_key = storage_key};
	ug_diag diag = {0};
	CHECK_ERR(store_open(&s, dir, &opts, &diag), UG_EMALFORMED);
	CHECK(s == NULL);
	CHECK(strstr(diag.reason, "re-create") != NULL);

	/* Another format number is refused the same way. */
	const char *dir2 = ut_tmpdir();
	s = open_store(dir2, storage_key, 64);
	store_close(&s);
	uint8_t five[4] = {0, 0, 0, 5};
	raw_put(dir2, "log", "meta", "format", 6, five, 4);
	CHECK_ERR(store_open(&s, dir2, &opts, &diag), UG_EMALFORMED);
	CHECK(strstr(diag.reason, "format 5") != NULL);
}

/* The raw ids entries of a store: their keys, in order. */
typedef struct {
	uint8_t (*keys)[STORE_IDS_KEY_MAX];
	size_t *lens, n, max;
} ids_keys;

static void
collect_ids_key(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val,
		void *ctx)
{
	(void)txn, (void)dbi, (void)val;
	ids_keys *out = ctx;
	CHECK(key->mv_size <= STORE_IDS_KEY_MAX && out->n < out->max);
	memcpy(out->keys[out->n], key->mv_data, key->mv_size);
	out->lens[out->n++] = key->mv_size;
}

/* env: "ids", or "log" for the entries of a store before format 4. */
static size_t
raw_ids_keys(const char *dir, const char *env,
	     uint8_t (*keys)[STORE_IDS_KEY_MAX], size_t *lens, size_t max)
{
	ids_keys out = {keys, lens, 0, max};
	raw_each(raw_env(dir, env), "ids", collect_ids_key, &out);
	return out.n;
}

static void
test_ids_keys_follow_time(void)
{
	/* Ids that begin with the occurrence time land in that order, so a
	 * batch of them fills neighbouring pages; the rest is hashed. */
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	tevent t[4];
	make_event(&t[0], 300, "school-a", CPR_A);
	make_event(&t[1], 100, "school-a", CPR_A);
	make_event(&t[2], 200, "school-a", CPR_B);
	for (int i = 0; i < 3; i++)
		ug_put_be64(t[i].id, (uint64_t)(T0 + 1000 * (i == 0 ? 3 : i)));
	/* Bytes that are not a time (here a CPR's digits, against the
	 * protocol's rule) are hashed with the rest, never kept. */
	make_event(&t[3], 400, "school-a", CPR_B);
	memcpy(t[3].id, CPR_B, 8);
	CHECK_OK(append(s, t, 4));
	store_close(&s);
	uint8_t keys[5][STORE_IDS_KEY_MAX];
	size_t lens[5];
	CHECK_EQ_INT(raw_ids_keys(dir, "ids", keys, lens, 5), 4);
	int timed = 0;
	for (int i = 0; i < 4; i++) {
		CHECK_EQ_INT(lens[i], STORE_IDS_KEY_MAX);
		for (size_t at = 0; at + 4 <= lens[i]; at++)
			CHECK(memcmp(keys[i] + at, CPR_B, 4) != 0);
		for (int e = 0; e < 3; e++) {
			if (memcmp(keys[i], t[e].id, STORE_IDS_PREFIX) != 0)
				continue;
			/* In time order (the untimed key may sort anywhere),
			 * then a keyed hash of the whole id, not its tail. */
			CHECK(memcmp(keys[i] + STORE_IDS_PREFIX,
				     t[e].id + STORE_IDS_PREFIX, 8) != 0);
			timed++;
		}
	}
	CHECK_EQ_INT(timed, 3);
	/* The three timed keys in the order of their times: 1, 2, 3 s. */
	int order[3], k = 0;
	for (int i = 0; i < 4 && k < 3; i++)
		for (int e = 0; e < 3; e++)
			if (memcmp(keys[i], t[e].id, STORE_IDS_PREFIX) == 0)
				order[k++] = e;
	CHECK(k == 3 && order[0] == 1 && order[1] == 2 && order[2] == 0);
}

/* Make dir's store look as a hub of format `format` (2 or 3) left it:
 * event t's id entry in log/ids (under the hash alone for format 2), no
 * ids/, the format number in log/meta. */
static void
make_old_format(const char *dir, const tevent *t, uint64_t seq, int format)
{
	store *s = open_store(dir, storage_key, 64);
	uint8_t k[STORE_IDS_KEY_MAX];
	size_t len = store__ids_key(s, t->id, format == 2, k);
	uint8_t plain[9 + 8], sealed[sizeof plain + UG_SEAL_OVERHEAD];
	ug_put_be64(plain, seq);
	plain[8] = 8;
	memcpy(plain + 9, "school-a", 8);
	store__seal(s, k, len, plain, sizeof plain, sealed);
	store_close(&s);
	remove_ids(dir);
	raw_put(dir, "log", "ids", k, len, sealed, sizeof sealed);
	uint8_t v[4] = {0, 0, 0, (uint8_t)format};
	raw_put(dir, "log", "meta", "format", 6, v, 4);
}

static void
check_format_upgraded(int format)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	tevent t[2];
	make_event(&t[0], 7, "school-a", CPR_A);
	CHECK_OK(append(s, t, 1));
	uint64_t seq = t[0].ev.seq;
	store_close(&s);
	make_old_format(dir, &t[0], seq, format);

	/* Opened: upgraded to 4, the old entry still counts. ids/ records
	 * that it has seen the log (nothing to index in it), so a lookup
	 * that misses never reads the old records. */
	s = open_store(dir, storage_key, 64);
	CHECK(store_upgraded(s) != NULL);
	char want[64];
	snprintf(want, sizeof want, "store format %d upgraded to 4", format);
	CHECK(store_upgraded(s) && strstr(store_upgraded(s), want) != NULL);
	store_close(&s);
	uint8_t v[8];
	CHECK_EQ_INT(raw_get(dir, "ids", "meta", "indexed_through", 15, v, 8),
		     8);
	CHECK_EQ_INT(ug_get_be64(v), seq);
	s = open_store(dir, storage_key, 64);
	CHECK(s->ids_in_log && s->ids_legacy == (format == 2));
	CHECK(store_upgraded(s) == NULL);
	expect_id(s, t[0].id, seq, "school-a");
	make_event(&t[0], 7, "school-a", CPR_A);
	make_event(&t[1], 8, "school-a", CPR_A);
	CHECK_OK(append(s, t, 2));
	CHECK_EQ_INT(t[0].ev.status, STORE_DUPLICATE);
	CHECK_EQ_INT(t[0].ev.seq, seq);
	CHECK_EQ_INT(t[1].ev.status, STORE_NEW);
	make_event(&t[0], 7, "school-b", CPR_A);
	CHECK_OK(append(s, t, 1));
	CHECK_EQ_INT(t[0].ev.status, STORE_CONFLICT);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.event_ids, 2);
	store_close(&s);
	/* The old entry stays in log/, the new one is in ids/ only. */
	uint8_t keys[4][STORE_IDS_KEY_MAX];
	size_t lens[4];
	CHECK_EQ_INT(raw_ids_keys(dir, "log", keys, lens, 4), 1);
	CHECK_EQ_INT(lens[0],
		     format == 2 ? STORE_IDS_LEGACY_LEN : STORE_IDS_KEY_MAX);
	CHECK_EQ_INT(raw_ids_keys(dir, "ids", keys, lens, 4), 1);
	CHECK_EQ_INT(raw_get(dir, "log", "meta", "format", 6, v, 4), 4);
	CHECK_EQ_INT(ug_get_be32(v), 4);
	/* Once: the next open finds format 4 and upgrades nothing. */
	s = open_store(dir, storage_key, 64);
	CHECK(s->ids_in_log && !store_upgraded(s));
	store_close(&s);
}

static void
test_format_2_upgraded(void)
{
	check_format_upgraded(2);
}

static void
test_format_3_upgraded(void)
{
	check_format_upgraded(3);
}

/* ids/ is an index of the log: lost (an OS crash before its flush, a
 * failed commit), what it had not seen is indexed again from the log. */
static void
test_ids_rebuilt_from_log(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	tevent t[3];
	make_event(&t[0], 1, "school-a", CPR_A);
	make_event(&t[1], 2, "school-a", CPR_B);
	CHECK_OK(append(s, t, 2));
	uint64_t seqs[2] = {t[0].ev.seq, t[1].ev.seq};
	store_close(&s);

	/* All of ids/ gone. */
	remove_ids(dir);
	s = open_store(dir, storage_key, 64);
	expect_id(s, t[1].id, seqs[1], "school-a");
	make_event(&t[0], 1, "school-a", CPR_A);
	make_event(&t[1], 2, "school-b", CPR_B);
	make_event(&t[2], 3, "school-a", CPR_B);
	CHECK_OK(append(s, t, 3));
	CHECK_EQ_INT(t[0].ev.status, STORE_DUPLICATE);
	CHECK_EQ_INT(t[0].ev.seq, seqs[0]);
	CHECK_EQ_INT(t[1].ev.status, STORE_CONFLICT);
	CHECK_EQ_INT(t[2].ev.status, STORE_NEW);
	uint64_t third = t[2].ev.seq;
	store_close(&s);

	/* The last batch's entry and mark lost, as when the log committed
	 * and ids/ did not. */
	uint8_t k[STORE_IDS_KEY_MAX];
	s = open_store(dir, storage_key, 64);
	size_t klen = store__ids_key(s, t[2].id, false, k);
	store_close(&s);
	unindex(dir, k, klen, seqs[1]);
	s = open_store(dir, storage_key, 64);
	expect_id(s, t[2].id, third, NULL);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.event_ids, 3);
	store_close(&s);
}

/* A log record that does not open is stepped over when ids/ is rebuilt:
 * the others are indexed and the store opens. */
static void
flip_record(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *val, void *ctx)
{
	uint64_t *which = ctx;
	if (key->mv_size != 8 || ug_get_be64(key->mv_data) != *which)
		return;
	uint8_t copy[512];
	CHECK(val->mv_size <= sizeof copy);
	memcpy(copy, val->mv_data, val->mv_size);
	copy[val->mv_size - 1] ^= 1;
	MDB_val v = {val->mv_size, copy};
	CHECK_EQ_INT(mdb_put(txn, dbi, key, &v, 0), 0);
}

static void
test_ids_rebuild_steps_over_bad_record(void)
{
	const char *dir = ut_tmpdir();
	tevent t[3];
	store *s = two_events(dir, t, "school-a");
	make_event(&t[2], 3, "school-a", CPR_C);
	CHECK_OK(append(s, &t[2], 1));
	uint64_t bad = t[1].ev.seq;
	store_close(&s);
	raw_each(raw_env(dir, "log"), "log", flip_record, &bad);
	remove_ids(dir);
	s = open_store(dir, storage_key, 64);
	expect_id(s, t[0].id, t[0].ev.seq, NULL);
	expect_id(s, t[2].id, t[2].ev.seq, NULL);
	store_close(&s);
}

/* The moment between the log's commit and the index's (or an index
 * commit that failed), seen by a reader: the id is found in the log. */
static void
test_ids_found_past_the_index(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-b");
	uint8_t k[STORE_IDS_KEY_MAX];
	size_t klen = store__ids_key(s, t[1].id, false, k);
	/* Another process takes the second entry out, as if its commit had
	 * not happened (one process must not open an environment twice). */
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid == 0) {
		unindex(dir, k, klen, t[0].ev.seq);
		ut_child_exit(ut_failures ? 1 : 0);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	expect_id(s, t[1].id, t[1].ev.seq, "school-b");
	/* And the next append indexes it before looking anything up. */
	make_event(&t[1], 2, "school-b", CPR_B);
	CHECK_OK(append(s, &t[1], 1));
	CHECK_EQ_INT(t[1].ev.status, STORE_DUPLICATE);
	store_close(&s);
}

/* An ids entry whose record is gone (a purge whose ids/ commit was lost,
 * a log restored from before it) counts as absent. */
static void
test_stale_ids_entry_ignored(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-a");
	uint64_t seq = t[1].ev.seq;
	uint8_t k[STORE_IDS_KEY_MAX];
	size_t klen = store__ids_key(s, t[1].id, false, k);
	store_close(&s);
	/* Keep the entry, purge the record, put the entry back. */
	uint8_t saved[256];
	size_t saved_len =
	    raw_get(dir, "ids", "ids", k, klen, saved, sizeof saved);
	s = open_store(dir, storage_key, 64);
	store_purge_item it = {.seq = seq, .has_person = true};
	memcpy(it.event_id, t[1].id, STORE_EVENT_ID_LEN);
	memcpy(it.person_key, t[1].person, UG_PERSON_KEY_LEN);
	store_purge_counts counts;
	CHECK_OK(store_purge(s, &it, 1, NULL, &counts));
	CHECK_EQ_INT(counts.records, 1);
	CHECK_EQ_INT(counts.ids, 1);
	store_close(&s);
	raw_put(dir, "ids", "ids", k, klen, saved, saved_len);

	s = open_store(dir, storage_key, 64);
	char agency[STORE_ID_MAX];
	uint64_t found = 0;
	CHECK_ERR(store_event_id_get(s, t[1].id, &found, agency),
		  UG_ENOTFOUND);
	make_event(&t[1], 2, "school-a", CPR_B);
	CHECK_OK(append(s, &t[1], 1));
	CHECK_EQ_INT(t[1].ev.status, STORE_NEW);
	CHECK(t[1].ev.seq > seq);
	store_close(&s);
}

/* hubd's applier against a purge in another process (hubctl erase): it
 * takes derived/ as soon as the purge has committed there, and reads the
 * log then. A record erased before it was applied must not be applied
 * from the log as it was before the purge's own commit there: derived/
 * would hold entries of a record gone, an erased person's state again. */
struct purge_race {
	store *s;
	uint64_t seq;
	int seen;
	pthread_t applier;
	bool started;
};

static ug_err
race_record(void *ctx, const store_record *rec)
{
	struct purge_race *r = ctx;
	if (rec->seq == r->seq)
		r->seen++;
	return UG_OK;
}

static void *
race_applier(void *arg)
{
	struct purge_race *r = arg;
	store_dtxn *d = NULL;
	uint64_t next = 0;
	if (store_derived_begin(r->s, &d) == UG_OK) {
		(void)store_log_scan(r->s, 1, 100, race_record, r, &next);
		store_derived_abort(&d);
	}
	return NULL;
}

/* Called inside the purge, its transactions open: the applier starts
 * and waits for derived/. */
static ug_err
race_audit(void *ctx, const store_purge_counts *c, const store_audit_entry **e,
	   size_t *n)
{
	(void)c;
	struct purge_race *r = ctx;
	r->started = pthread_create(&r->applier, NULL, race_applier, r) == 0;
	usleep(50 * 1000);
	*e = NULL;
	*n = 0;
	return UG_OK;
}

static void
test_purge_applier_race(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-a");
	struct purge_race r = {.s = s, .seq = t[1].ev.seq};
	store_purge_item it = {.seq = t[1].ev.seq, .has_person = true};
	memcpy(it.event_id, t[1].id, STORE_EVENT_ID_LEN);
	memcpy(it.person_key, t[1].person, UG_PERSON_KEY_LEN);
	store_purge_counts counts;
	CHECK_OK(store_purge_audited(s, &it, 1, t[1].person, &counts,
				     race_audit, &r));
	CHECK(r.started);
	if (r.started)
		pthread_join(r.applier, NULL);
	CHECK_EQ_INT(counts.records, 1);
	CHECK_EQ_INT(r.seen, 0);
	store_close(&s);
	/* A purge that crashed after derived/'s commit: its number is ahead
	 * of the log's for good. A begin does not wait for it again and
	 * again, nor for ever: the log takes the number. */
	uint8_t gen[8], got[8];
	ug_put_be64(gen, 7);
	raw_put(dir, "derived", "meta", "purge_gen", 9, gen, 8);
	s = open_store(dir, storage_key, 64);
	store_dtxn *d = NULL;
	CHECK_OK(store_derived_begin(s, &d));
	store_derived_abort(&d);
	store_close(&s);
	CHECK_EQ_INT(raw_get(dir, "log", "meta", "purge_gen", 9, got, 8), 8);
	CHECK(memcmp(got, gen, 8) == 0);
}

/* ids/ is written without fsync: after the machine started again it may
 * be torn, so the first open of another boot rebuilds it from the log. */
static void
test_ids_rebuilt_after_boot(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-a");
	store_close(&s);
	/* Another boot id, and ids/ overwritten with garbage. */
	raw_put(dir, "log", "meta", "ids_boot", 7, "other", 5);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/ids/data.mdb", dir);
	FILE *f = fopen(path, "r+");
	CHECK(f != NULL);
	static char junk[16384];
	memset(junk, 0x5a, sizeof junk);
	CHECK(fwrite(junk, 1, sizeof junk, f) == sizeof junk);
	fclose(f);
	struct stat before, after;
	CHECK_EQ_INT(stat(path, &before), 0);

	s = open_store(dir, storage_key, 64);
	/* Emptied in place, not replaced: the file keeps its owner. */
	CHECK_EQ_INT(stat(path, &after), 0);
	CHECK(before.st_ino == after.st_ino);
	expect_id(s, t[1].id, t[1].ev.seq, NULL);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.event_ids, 2);
	store_close(&s);
}

/* ---- data files that end before their last page ---- */

/* The length of dir/sub/data.mdb and the bytes its LMDB header counts. */
static void
file_and_pages(const char *dir, const char *sub, uint64_t *size,
	       uint64_t *need)
{
	MDB_env *e = raw_env(dir, sub);
	MDB_envinfo info;
	MDB_stat ms;
	CHECK_EQ_INT(mdb_env_info(e, &info), 0);
	CHECK_EQ_INT(mdb_env_stat(e, &ms), 0);
	mdb_env_close(e);
	*need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/data.mdb", dir, sub);
	struct stat st;
	CHECK_EQ_INT(stat(path, &st), 0);
	*size = (uint64_t)st.st_size;
}

static void
cut_to(const char *dir, const char *sub, uint64_t size)
{
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s/data.mdb", dir, sub);
	CHECK_EQ_INT(truncate(path, (off_t)size), 0);
}

/* LMDB never writes a page that a transaction took from the end of the
 * file and freed again before it committed, so a sound data file may end
 * before the last page its header counts. Such a file is not damaged:
 * derived/ keeps what it holds, nothing is rebuilt. */
static void
test_sound_file_ending_early_is_kept(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	log_through(s, 7);
	store_dtxn *t = NULL;
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_commit(&t, 7));
	store_close(&s);

	MDB_env *e = raw_env(dir, "derived");
	static char val[3000];
	uint64_t size = 0, need = 0;
	for (unsigned round = 0; round < 50 && size >= need; round++) {
		MDB_txn *txn;
		MDB_dbi dbi;
		CHECK_EQ_INT(mdb_txn_begin(e, NULL, 0, &txn), 0);
		CHECK_EQ_INT(mdb_dbi_open(txn, "scratch", MDB_CREATE, &dbi),
			     0);
		for (unsigned i = 0; i < 3000; i++) {
			char k[16];
			snprintf(k, sizeof k, "%04u%06u", round, i);
			MDB_val key = {10, k};
			MDB_val v = {i % 5 ? 100 : sizeof val, val};
			CHECK_EQ_INT(mdb_put(txn, dbi, &key, &v, 0), 0);
		}
		for (unsigned i = 0; i < 3000; i++) {
			char k[16];
			snprintf(k, sizeof k, "%04u%06u", round, i);
			MDB_val key = {10, k};
			if (i % 3)
				CHECK_EQ_INT(mdb_del(txn, dbi, &key, NULL), 0);
		}
		CHECK_EQ_INT(mdb_txn_commit(txn), 0);
		MDB_envinfo info;
		MDB_stat ms;
		CHECK_EQ_INT(mdb_env_info(e, &info), 0);
		CHECK_EQ_INT(mdb_env_stat(e, &ms), 0);
		need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
		int fd;
		struct stat st;
		CHECK_EQ_INT(mdb_env_get_fd(e, &fd), 0);
		CHECK_EQ_INT(fstat(fd, &st), 0);
		size = (uint64_t)st.st_size;
	}
	mdb_env_close(e);
	CHECK(size < need);

	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 7);
	store_close(&s);
	uint64_t after, need_after;
	file_and_pages(dir, "derived", &after, &need_after);
	CHECK(after >= size);

	/* With the meta pages alone left, the free list that tells the two
	 * apart lies past the end itself: damaged, emptied. */
	cut_to(dir, "derived", 8192);
	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 0);
	store_close(&s);
}

/* derived/ and ids/ cut short (an OS crash took the end of files written
 * without fsync): reading there would kill the process with SIGBUS, so
 * they are emptied at open, in place, and made again from the log. */
static void
test_rebuildable_files_cut_short_are_emptied(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-a");
	store_dtxn *d = NULL;
	CHECK_OK(store_derived_begin(s, &d));
	CHECK_OK(store_derived_commit(&d, 2));
	store_close(&s);
	uint64_t size, need;
	file_and_pages(dir, "derived", &size, &need);
	CHECK(size == need);
	cut_to(dir, "derived", 8192); /* the two meta pages alone */
	file_and_pages(dir, "ids", &size, &need);
	cut_to(dir, "ids", need - 4096);
	char path[PATH_MAX];
	struct stat before, after;
	snprintf(path, sizeof path, "%s/derived/data.mdb", dir);
	CHECK_EQ_INT(stat(path, &before), 0);

	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 0);
	expect_id(s, t[0].id, t[0].ev.seq, "school-a");
	expect_id(s, t[1].id, t[1].ev.seq, "school-a");
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.event_ids, 2);
	CHECK_EQ_INT(st.log_events, 2);
	store_close(&s);
	CHECK_EQ_INT(stat(path, &after), 0);
	CHECK(before.st_ino == after.st_ino);
	file_and_pages(dir, "derived", &size, &need);
	CHECK(size == need);
}

/* log/ is never emptied: cut short, or emptied to 0 bytes (which LMDB
 * would take for a new environment), the store does not open, says
 * which file and what to do, and the file stays as it is. */
static void
test_log_cut_short_is_refused(void)
{
	const char *dir = ut_tmpdir();
	tevent t[2];
	store *s = two_events(dir, t, "school-a");
	store_close(&s);
	uint64_t size, need;
	file_and_pages(dir, "log", &size, &need);
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/log/data.mdb", dir);
	store_opts opts = {.log_map_mb = 64,
			   .derived_map_mb = 64,
			   .storage_key = storage_key};
	const uint64_t cuts[] = {need / 4096 / 2 * 4096, 8192, 0};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		cut_to(dir, "log", cuts[i]);
		ug_diag diag = {0};
		s = NULL;
		CHECK(store_open(&s, dir, &opts, &diag) != UG_OK);
		CHECK(s == NULL);
		char want[PATH_MAX + 200];
		if (cuts[i])
			snprintf(want, sizeof want,
				 "%s is damaged: %llu bytes, but its LMDB "
				 "header counts %llu (cut short); restore "
				 "log/ from a backup",
				 path, (unsigned long long)cuts[i],
				 (unsigned long long)need);
		else
			snprintf(want, sizeof want,
				 "%s is empty (0 bytes); restore log/ from a "
				 "backup",
				 path);
		if (!strstr(diag.reason, want))
			FAIL("expected \"%s\" in \"%s\"", want, diag.reason);
		struct stat st;
		CHECK_EQ_INT(stat(path, &st), 0);
		CHECK_EQ_INT(st.st_size, cuts[i]);
	}
}

/* Record an assignment event for cpr: from/to as dates ("" = open). */
static void
assign(store *s, unsigned n, const char *cpr, const char *cw, const char *from,
       const char *to)
{
	tevent t;
	make_event(&t, n, "youth-unit", cpr);
	t.ev.type = 7;
	t.ev.assign_caseworker = cw;
	CHECK_OK(ug_date_parse(from, &t.ev.assign_from));
	t.ev.assign_to = 0;
	if (to[0])
		CHECK_OK(ug_date_parse(to, &t.ev.assign_to));
	CHECK_OK(append(s, &t, 1));
	CHECK_EQ_INT(t.ev.status, STORE_NEW);
}

/* Expect the caseworker on date (NULL = UG_ENOTFOUND). */
static void
expect_assigned(store *s, const char *cpr, const char *date, const char *cw,
		int line)
{
	uint8_t person[UG_PERSON_KEY_LEN];
	ug_person_key(hash_key, cpr, person);
	int32_t day;
	CHECK_OK(ug_date_parse(date, &day));
	char got[STORE_ID_MAX] = "";
	ug_err err = store_assignment_get(s, person, day, got);
	if (cw && (err != UG_OK || strcmp(got, cw) != 0))
		FAIL("(line %d) on %s: expected %s, got %s / \"%s\"", line,
		     date, cw, ug_strerror(err), got);
	if (!cw && err != UG_ENOTFOUND)
		FAIL("(line %d) on %s: expected not found, got %s / \"%s\"",
		     line, date, ug_strerror(err), err == UG_OK ? got : "");
}

static void
test_assignments(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	expect_assigned(s, CPR_A, "2024-03-01", NULL, __LINE__);
	assign(s, 1, CPR_A, "cw-anna", "2024-01-01", "");
	expect_assigned(s, CPR_A, "2024-03-01", "cw-anna", __LINE__);
	expect_assigned(s, CPR_A, "2030-01-01", "cw-anna", __LINE__);
	expect_assigned(s, CPR_A, "2023-12-31", NULL, __LINE__);
	expect_assigned(s, CPR_B, "2024-03-01", NULL, __LINE__);

	/* A later start date wins... */
	assign(s, 2, CPR_A, "cw-bo", "2024-02-01", "2024-06-30");
	expect_assigned(s, CPR_A, "2024-03-01", "cw-bo", __LINE__);
	expect_assigned(s, CPR_A, "2024-06-30", "cw-bo", __LINE__);
	/* ...and its end date bounds it. */
	expect_assigned(s, CPR_A, "2024-07-01", NULL, __LINE__);
	/* An older assignment arriving late does not replace it. */
	assign(s, 3, CPR_A, "cw-carl", "2023-06-01", "");
	expect_assigned(s, CPR_A, "2024-03-01", "cw-bo", __LINE__);
	/* The same start date: the later record wins. */
	assign(s, 4, CPR_A, "cw-dora", "2024-02-01", "");
	expect_assigned(s, CPR_A, "2024-03-01", "cw-dora", __LINE__);
	expect_assigned(s, CPR_A, "2025-03-01", "cw-dora", __LINE__);
	/* Per person. */
	assign(s, 5, CPR_B, "cw-erik", "2024-05-01", "2024-05-31");
	expect_assigned(s, CPR_B, "2024-05-15", "cw-erik", __LINE__);
	expect_assigned(s, CPR_A, "2024-05-15", "cw-dora", __LINE__);
	/* Events without an assignment leave it alone. */
	tevent t;
	make_event(&t, 6, "school-a", CPR_B);
	CHECK_OK(append(s, &t, 1));
	expect_assigned(s, CPR_B, "2024-05-15", "cw-erik", __LINE__);

	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.assignments, 2); /* one per person */
	CHECK_EQ_INT(st.log_events, 6);
	store_close(&s);
}

static void
test_assignment_planned_ahead(void)
{
	/* store.h: "The caseworker currently assigned to a person on today".
	 * A handover planned ahead (cw-fia from next autumn) must not take
	 * the person away from the current contact (cw-anna) before it
	 * starts, or their alerts go to the desk until then. */
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	assign(s, 1, CPR_C, "cw-anna", "2024-01-01", "");
	assign(s, 2, CPR_C, "cw-fia", "2024-09-01", "");
	expect_assigned(s, CPR_C, "2024-09-02", "cw-fia", __LINE__);
	expect_assigned(s, CPR_C, "2024-06-01", "cw-anna", __LINE__);
	store_close(&s);
}

static void
test_assignment_history_is_bounded(void)
{
	/* Twelve monthly handovers: the history keeps the latest ones, each
	 * still answers for its own month, and the oldest fall away. */
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	char cw[12][24], from[12][11], mid[12][11];
	for (int m = 0; m < 12; m++) {
		snprintf(cw[m], sizeof cw[m], "cw-month%02u",
			 (unsigned)(m + 1) % 100u);
		ug_date_format(ug_days_from_civil(2024, m + 1, 1), from[m]);
		ug_date_format(ug_days_from_civil(2024, m + 1, 15), mid[m]);
	}
	/* Out of order on purpose: start dates decide, not arrival. */
	static const int order[12] = {5, 0, 11, 3, 8, 1, 10, 2, 7, 4, 9, 6};
	for (int i = 0; i < 12; i++)
		assign(s, (unsigned)(100 + i), CPR_B, cw[order[i]],
		       from[order[i]], "");
	for (int m = 4; m < 12; m++)
		expect_assigned(s, CPR_B, mid[m], cw[m], __LINE__);
	expect_assigned(s, CPR_B, "2025-06-01", "cw-month12", __LINE__);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.assignments, 1);
	CHECK_EQ_INT(st.log_events, 12);
	store_close(&s);
}

static void
test_principals(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	const char *k1 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
	const char *k2 = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
	const char *k3 = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
	int kind = 0;
	char id[STORE_ID_MAX];
	uint32_t flags = 99;
	CHECK_ERR(store_principal_find(s, k1, &kind, id, &flags),
		  UG_ENOTFOUND);
	uint32_t types = 1u << 1 | 1u << 7;
	CHECK_OK(
	    store_principal_put(s, STORE_AGENCY, "school-a", k1, types, NULL));
	CHECK_OK(store_principal_put(s, STORE_CASEWORKER, "cw-anna", k3,
				     STORE_FLAG_DESK, NULL));
	CHECK_OK(store_principal_find(s, k1, &kind, id, &flags));
	CHECK_EQ_INT(kind, STORE_AGENCY);
	CHECK_EQ_STR(id, "school-a");
	CHECK_EQ_INT(flags, types);
	CHECK_OK(store_principal_flags(s, STORE_AGENCY, "school-a", &flags));
	CHECK_EQ_INT(flags, types);
	CHECK_OK(store_principal_find(s, k3, &kind, id, &flags));
	CHECK_EQ_INT(kind, STORE_CASEWORKER);
	CHECK_EQ_STR(id, "cw-anna");
	CHECK_EQ_INT(flags, STORE_FLAG_DESK);
	/* Ids are per kind: no caseworker school-a. */
	CHECK_ERR(
	    store_principal_flags(s, STORE_CASEWORKER, "school-a", &flags),
	    UG_ENOTFOUND);
	CHECK_ERR(store_principal_flags(s, STORE_AGENCY, "nobody", &flags),
		  UG_ENOTFOUND);

	/* Re-registering with a new key revokes the old one. */
	CHECK_OK(store_principal_put(s, STORE_AGENCY, "school-a", k2, 1u << 1,
				     NULL));
	CHECK_ERR(store_principal_find(s, k1, &kind, id, &flags),
		  UG_ENOTFOUND);
	CHECK_OK(store_principal_find(s, k2, &kind, id, &flags));
	CHECK_EQ_STR(id, "school-a");
	CHECK_EQ_INT(flags, 1u << 1);
	CHECK_OK(store_principal_flags(s, STORE_AGENCY, "school-a", &flags));
	CHECK_EQ_INT(flags, 1u << 1);
	/* Re-registering with the same key just updates the flags. */
	CHECK_OK(
	    store_principal_put(s, STORE_CASEWORKER, "cw-anna", k3, 0, NULL));
	CHECK_OK(store_principal_find(s, k3, &kind, id, &flags));
	CHECK_EQ_INT(flags, 0);

	/* Bad arguments. */
	CHECK_ERR(store_principal_put(s, STORE_AGENCY, "x", "short", 0, NULL),
		  UG_EINVAL);
	CHECK_ERR(store_principal_put(s, STORE_AGENCY, "", k1, 0, NULL),
		  UG_EINVAL);
	CHECK_ERR(store_principal_put(s, 3, "x", k1, 0, NULL), UG_EINVAL);
	CHECK_ERR(store_principal_find(s, "short", &kind, id, &flags),
		  UG_ENOTFOUND);

	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.principals, 2);
	store_close(&s);
}

/* A key already registered to one id is refused for any other id, of
 * either kind, naming its holder, and nothing changes; the holder itself
 * may re-register it (flags) or move to a new key, after which the old
 * key is free. */
static void
test_principal_key_not_taken_over(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	const char *k1 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
	const char *k2 = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
	const char *k3 = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
	int kind = 0;
	char id[STORE_ID_MAX], key[41];
	uint32_t flags = 0;
	uint64_t g0, g1;
	ug_diag diag = {0};
	CHECK_OK(store_principal_put(s, STORE_CASEWORKER, "cw-lead", k1,
				     STORE_FLAG_DESK, NULL));
	CHECK_OK(
	    store_principal_put(s, STORE_AGENCY, "school-a", k2, 2, NULL));
	CHECK_OK(store_principal_generation(s, &g0));

	CHECK_ERR(
	    store_principal_put(s, STORE_CASEWORKER, "cw-new", k1, 0, &diag),
	    UG_EEXISTS);
	CHECK_EQ_STR(diag.field, "key");
	CHECK(strstr(diag.reason, "caseworker cw-lead") != NULL);
	/* Across kinds too: an agency id on a caseworker's key, and back. */
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(
	    store_principal_put(s, STORE_AGENCY, "school-b", k1, 2, &diag),
	    UG_EEXISTS);
	CHECK(strstr(diag.reason, "caseworker cw-lead") != NULL);
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(
	    store_principal_put(s, STORE_CASEWORKER, "school-a", k2, 0, &diag),
	    UG_EEXISTS);
	CHECK(strstr(diag.reason, "agency school-a") != NULL);
	/* A gateway's key is named as one. */
	CHECK_OK(store_principal_put(s, STORE_CASEWORKER, "web-1", k3,
				     STORE_FLAG_GATEWAY, NULL));
	CHECK_OK(store_principal_generation(s, &g0));
	memset(&diag, 0, sizeof diag);
	CHECK_ERR(
	    store_principal_put(s, STORE_CASEWORKER, "cw-x", k3, 0, &diag),
	    UG_EEXISTS);
	CHECK(strstr(diag.reason, "gateway web-1") != NULL);

	/* Nothing changed: the holders keep their keys, no new id exists,
	 * the generation did not move. */
	CHECK_OK(store_principal_find(s, k1, &kind, id, &flags));
	CHECK_EQ_INT(kind, STORE_CASEWORKER);
	CHECK_EQ_STR(id, "cw-lead");
	CHECK_EQ_INT(flags, STORE_FLAG_DESK);
	CHECK_OK(store_principal_find(s, k2, &kind, id, &flags));
	CHECK_EQ_STR(id, "school-a");
	CHECK_ERR(store_principal_current(s, STORE_CASEWORKER, "cw-new", key,
					  &flags),
		  UG_ENOTFOUND);
	CHECK_ERR(
	    store_principal_current(s, STORE_AGENCY, "school-b", key, &flags),
	    UG_ENOTFOUND);
	CHECK_OK(store_principal_generation(s, &g1));
	CHECK_EQ_INT(g1, g0);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.principals, 3);

	/* The holder re-registering its own key (new flags) still works,
	 * and is a change; the same registration written again is none. */
	CHECK_OK(
	    store_principal_put(s, STORE_CASEWORKER, "cw-lead", k1, 0, &diag));
	CHECK_OK(store_principal_generation(s, &g1));
	CHECK(g1 != g0);
	CHECK_OK(
	    store_principal_put(s, STORE_CASEWORKER, "cw-lead", k1, 0, &diag));
	CHECK_OK(store_principal_generation(s, &g0));
	CHECK_EQ_INT(g0, g1);
	CHECK_OK(store_principal_find(s, k1, &kind, id, &flags));
	CHECK_EQ_STR(id, "cw-lead");
	CHECK_EQ_INT(flags, 0);
	/* Once the holder moved to another key, the old one is free. */
	CHECK_OK(store_principal_revoke(s, STORE_CASEWORKER, "web-1"));
	CHECK_OK(
	    store_principal_put(s, STORE_CASEWORKER, "cw-lead", k3, 0, NULL));
	CHECK_OK(
	    store_principal_put(s, STORE_CASEWORKER, "cw-new", k1, 0, NULL));
	CHECK_OK(store_principal_find(s, k1, &kind, id, &flags));
	CHECK_EQ_STR(id, "cw-new");
	CHECK_OK(store_principal_find(s, k3, &kind, id, &flags));
	CHECK_EQ_STR(id, "cw-lead");
	store_close(&s);
}

static void
test_principal_revoke_and_generation(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	const char *k1 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
	const char *k2 = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
	uint64_t g0 = 99, g1, g2, g3, g4;
	char key[41];
	uint32_t flags;
	int kind;
	char id[STORE_ID_MAX];
	CHECK_OK(store_principal_generation(s, &g0));
	CHECK_EQ_INT(g0, 0);
	CHECK_OK(
	    store_principal_put(s, STORE_AGENCY, "school-a", k1, 2, NULL));
	CHECK_OK(store_principal_generation(s, &g1));
	CHECK(g1 > g0);
	CHECK_OK(
	    store_principal_current(s, STORE_AGENCY, "school-a", key, &flags));
	CHECK_EQ_STR(key, k1);
	CHECK_EQ_INT(flags, 2);
	/* A new key: the current one changes, the generation moves. */
	CHECK_OK(
	    store_principal_put(s, STORE_AGENCY, "school-a", k2, 6, NULL));
	CHECK_OK(store_principal_generation(s, &g2));
	CHECK(g2 > g1);
	CHECK_OK(
	    store_principal_current(s, STORE_AGENCY, "school-a", key, &flags));
	CHECK_EQ_STR(key, k2);
	CHECK_EQ_INT(flags, 6);
	/* Revoked: nothing current, the key no longer found. */
	CHECK_OK(store_principal_revoke(s, STORE_AGENCY, "school-a"));
	CHECK_OK(store_principal_generation(s, &g3));
	CHECK(g3 > g2);
	CHECK_ERR(
	    store_principal_current(s, STORE_AGENCY, "school-a", key, &flags),
	    UG_ENOTFOUND);
	CHECK_ERR(store_principal_find(s, k2, &kind, id, &flags),
		  UG_ENOTFOUND);
	CHECK_ERR(store_principal_revoke(s, STORE_AGENCY, "school-a"),
		  UG_ENOTFOUND);
	CHECK_OK(store_principal_generation(s, &g4));
	CHECK_EQ_INT(g4, g3);
	/* The generation record is not a principal. */
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.principals, 0);
	store_close(&s);
}

typedef struct {
	int n;
	uint8_t ids[8][STORE_ALERT_ID_LEN];
	char bodies[8][64];
	uint32_t deliveries[8];
} alert_list;

static ug_err
list_alert(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	   uint32_t deliveries)
{
	alert_list *l = ctx;
	if (l->n >= 8 || len >= 64)
		return UG_EINVAL;
	l->deliveries[l->n] = deliveries;
	memcpy(l->ids[l->n], id, STORE_ALERT_ID_LEN);
	memcpy(l->bodies[l->n], body, len);
	l->bodies[l->n][len] = '\0';
	l->n++;
	return UG_OK;
}

static void
make_alert(store_alert *a, uint64_t seq, const char *recipient,
	   const char *body)
{
	memset(a, 0, sizeof *a);
	for (int i = 0; i < 8; i++)
		a->id[i] = (uint8_t)(seq >> (56 - 8 * i));
	a->id[8] = 1;
	a->recipient = recipient;
	a->body = (const uint8_t *)body;
	a->body_len = strlen(body);
}

static void
expect_open(store *s, const char *recipient, const uint8_t *after, size_t max,
	    int n, const char *const *bodies, int line)
{
	alert_list l = {0};
	CHECK_OK(store_alerts_open(s, recipient, after, max, list_alert, &l));
	if (l.n != n)
		FAIL("(line %d) %s: expected %d open alerts, got %d", line,
		     recipient, n, l.n);
	for (int i = 0; i < n; i++)
		if (strcmp(l.bodies[i], bodies[i]) != 0)
			FAIL("(line %d) %s #%d: expected \"%s\", got \"%s\"",
			     line, recipient, i, bodies[i], l.bodies[i]);
	size_t count = 99;
	if (!after && max == SIZE_MAX) {
		CHECK_OK(store_alerts_count(s, recipient, &count));
		CHECK_EQ_INT(count, n);
	}
}

static void
test_alerts(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	store_alert a[5];
	/* Put out of order: the open list is in id order. */
	make_alert(&a[0], 20, "cw-a", "second for a");
	make_alert(&a[1], 10, "cw-a", "first for a");
	make_alert(&a[2], 15, "cw-b", "only for b");
	make_alert(&a[3], 12, "cw-ab", "for ab");
	make_alert(&a[4], 300, "cw-a", "third for a");
	CHECK_OK(store_alerts_put(s, a, 5));
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(a[i].created, true);
	/* Idempotent: a replay creates nothing. */
	make_alert(&a[0], 10, "cw-a", "first for a (replayed)");
	CHECK_OK(store_alerts_put(s, a, 1));
	CHECK_EQ_INT(a[0].created, false);

	const char *const all_a[] = {"first for a", "second for a",
				     "third for a"};
	expect_open(s, "cw-a", NULL, SIZE_MAX, 3, all_a, __LINE__);
	const char *const b[] = {"only for b"};
	expect_open(s, "cw-b", NULL, SIZE_MAX, 1, b, __LINE__);
	const char *const ab[] = {"for ab"};
	expect_open(s, "cw-ab", NULL, SIZE_MAX, 1, ab, __LINE__);
	expect_open(s, "cw-c", NULL, SIZE_MAX, 0, NULL, __LINE__);
	expect_open(s, "cw", NULL, SIZE_MAX, 0, NULL, __LINE__);
	/* Paging: at most max, and after an id. */
	expect_open(s, "cw-a", NULL, 2, 2, all_a, __LINE__);
	store_alert first;
	make_alert(&first, 10, "cw-a", "");
	expect_open(s, "cw-a", first.id, SIZE_MAX, 2, all_a + 1, __LINE__);
	store_alert last;
	make_alert(&last, 300, "cw-a", "");
	expect_open(s, "cw-a", last.id, SIZE_MAX, 0, NULL, __LINE__);

	/* Ack: only the recipient's own open alerts are found. */
	uint8_t ids[2][STORE_ALERT_ID_LEN];
	memcpy(ids[0], first.id, STORE_ALERT_ID_LEN);
	make_alert(&last, 15, "", "");
	memcpy(ids[1], last.id, STORE_ALERT_ID_LEN);
	bool found[2] = {true, true};
	CHECK_OK(store_alerts_ack(
	    s, "cw-b", (const uint8_t(*)[STORE_ALERT_ID_LEN])ids, 1, found));
	CHECK_EQ_INT(found[0], false);
	expect_open(s, "cw-a", NULL, SIZE_MAX, 3, all_a, __LINE__);
	CHECK_OK(store_alerts_ack(
	    s, "cw-a", (const uint8_t(*)[STORE_ALERT_ID_LEN])ids, 2, found));
	CHECK_EQ_INT(found[0], true);
	CHECK_EQ_INT(found[1], false); /* id 15 is cw-b's */
	expect_open(s, "cw-a", NULL, SIZE_MAX, 2, all_a + 1, __LINE__);
	expect_open(s, "cw-b", NULL, SIZE_MAX, 1, b, __LINE__);
	/* Acking again finds nothing. */
	CHECK_OK(store_alerts_ack(
	    s, "cw-a", (const uint8_t(*)[STORE_ALERT_ID_LEN])ids, 1, found));
	CHECK_EQ_INT(found[0], false);
	/* A replayed put after the ack does not reopen it. */
	make_alert(&a[0], 10, "cw-a", "first for a (replay after ack)");
	CHECK_OK(store_alerts_put(s, a, 1));
	CHECK_EQ_INT(a[0].created, false);
	expect_open(s, "cw-a", NULL, SIZE_MAX, 2, all_a + 1, __LINE__);

	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.alerts, 5);
	CHECK_EQ_INT(st.alerts_open, 4);
	store_close(&s);
}

typedef struct {
	int n;
	uint64_t seqs[8];
} id_list;

static ug_err
list_id(void *ctx, const uint8_t *id)
{
	id_list *l = ctx;
	if (l->n >= 8)
		return UG_EFULL;
	uint64_t seq = 0;
	for (int i = 0; i < 8; i++)
		seq = seq << 8 | id[i];
	l->seqs[l->n++] = seq;
	return UG_OK;
}

static void
test_alerts_queued(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	store_alert a[4];
	make_alert(&a[0], 20, "cw-a", "x");
	make_alert(&a[1], 10, "cw-a", "y");
	make_alert(&a[2], 15, "cw-ab", "z");
	make_alert(&a[3], 5, "cw-a", "w");
	CHECK_OK(store_alerts_put(s, a, 4));
	id_list l = {0};
	CHECK_OK(store_alerts_queued(s, "cw-a", NULL, SIZE_MAX, list_id, &l));
	CHECK_EQ_INT(l.n, 3);
	CHECK_EQ_INT(l.seqs[0], 5);
	CHECK_EQ_INT(l.seqs[1], 10);
	CHECK_EQ_INT(l.seqs[2], 20);
	id_list after = {0};
	CHECK_OK(store_alerts_queued(s, "cw-a", a[1].id, 1, list_id, &after));
	CHECK_EQ_INT(after.n, 1);
	CHECK_EQ_INT(after.seqs[0], 20);
	CHECK(store_alert_queued(s, "cw-a", a[0].id));
	CHECK(!store_alert_queued(s, "cw-a", a[2].id));
	CHECK(store_alert_queued(s, "cw-ab", a[2].id));
	bool found;
	CHECK_OK(store_alerts_ack(
	    s, "cw-a", (const uint8_t(*)[STORE_ALERT_ID_LEN])a[0].id, 1,
	    &found));
	CHECK(found);
	CHECK(!store_alert_queued(s, "cw-a", a[0].id));
	store_close(&s);
}

/* A consent that no longer shares what an open alert names: its body is
 * rewritten, and it stays open with its recipient, delivery count and
 * place in the queue; an acknowledged one is left as it was. */
static void
test_alert_rewrite(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	store_alert a[2];
	make_alert(&a[0], 7, "cw-a", "names the referral");
	make_alert(&a[1], 8, "cw-a", "acknowledged");
	CHECK_OK(store_alerts_put(s, a, 2));
	uint32_t count;
	CHECK_OK(store_alerts_delivered(
	    s, (const uint8_t(*)[STORE_ALERT_ID_LEN])a[0].id, 1, &count));
	bool found;
	CHECK_OK(store_alerts_ack(
	    s, "cw-a", (const uint8_t(*)[STORE_ALERT_ID_LEN])a[1].id, 1,
	    &found));
	CHECK(found);
	/* A body longer than the old one: the record grows. */
	const char *longer = "no longer names it, and says so at some length";
	bool rewritten = false;
	CHECK_OK(store_alert_rewrite(s, a[0].id, (const uint8_t *)longer,
				     strlen(longer), &rewritten));
	CHECK(rewritten);
	CHECK_OK(store_alert_rewrite(s, a[1].id, (const uint8_t *)"x", 1,
				     &rewritten));
	CHECK(!rewritten);
	store_alert unknown;
	make_alert(&unknown, 9, "cw-a", "");
	CHECK_EQ_INT(store_alert_rewrite(s, unknown.id, (const uint8_t *)"x",
					 1, &rewritten),
		     UG_ENOTFOUND);
	store_close(&s);

	s = open_store(dir, storage_key, 64);
	alert_list l = {0};
	CHECK_OK(store_alerts_open(s, "cw-a", NULL, SIZE_MAX, list_alert, &l));
	CHECK_EQ_INT(l.n, 1);
	CHECK_EQ_STR(l.bodies[0], longer);
	CHECK_EQ_INT(l.deliveries[0], 1);
	CHECK(store_alert_queued(s, "cw-a", a[0].id));
	/* A replayed put keeps the rewritten body. */
	make_alert(&a[0], 7, "cw-a", "names the referral");
	CHECK_OK(store_alerts_put(s, a, 1));
	CHECK_EQ_INT(a[0].created, false);
	memset(&l, 0, sizeof l);
	CHECK_OK(store_alerts_open(s, "cw-a", NULL, SIZE_MAX, list_alert, &l));
	CHECK_EQ_STR(l.bodies[0], longer);
	store_close(&s);
}

static void
test_alert_deliveries(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	store_alert a[2];
	make_alert(&a[0], 7, "cw-a", "one");
	make_alert(&a[1], 8, "cw-a", "two");
	CHECK_OK(store_alerts_put(s, a, 2));
	alert_list l = {0};
	CHECK_OK(store_alerts_open(s, "cw-a", NULL, SIZE_MAX, list_alert, &l));
	CHECK_EQ_INT(l.n, 2);
	CHECK_EQ_INT(l.deliveries[0], 0); /* never delivered yet */
	CHECK_EQ_INT(l.deliveries[1], 0);

	uint8_t ids[3][STORE_ALERT_ID_LEN];
	memcpy(ids[0], a[0].id, STORE_ALERT_ID_LEN);
	memcpy(ids[1], a[1].id, STORE_ALERT_ID_LEN);
	store_alert unknown;
	make_alert(&unknown, 9, "cw-a", "");
	memcpy(ids[2], unknown.id, STORE_ALERT_ID_LEN);
	uint32_t counts[3] = {99, 99, 99};
	CHECK_OK(store_alerts_delivered(
	    s, (const uint8_t(*)[STORE_ALERT_ID_LEN])ids, 3, counts));
	CHECK_EQ_INT(counts[0], 1);
	CHECK_EQ_INT(counts[1], 1);
	CHECK_EQ_INT(counts[2], 0);
	CHECK_OK(store_alerts_delivered(
	    s, (const uint8_t(*)[STORE_ALERT_ID_LEN])ids, 1, counts));
	CHECK_EQ_INT(counts[0], 2);
	store_close(&s);

	/* Durable, and the sealed body still opens after the header update. */
	s = open_store(dir, storage_key, 64);
	memset(&l, 0, sizeof l);
	CHECK_OK(store_alerts_open(s, "cw-a", NULL, SIZE_MAX, list_alert, &l));
	CHECK_EQ_INT(l.n, 2);
	CHECK_EQ_STR(l.bodies[0], "one");
	CHECK_EQ_INT(l.deliveries[0], 2);
	CHECK_EQ_STR(l.bodies[1], "two");
	CHECK_EQ_INT(l.deliveries[1], 1);
	/* A replayed put keeps the count. */
	make_alert(&a[0], 7, "cw-a", "one again");
	CHECK_OK(store_alerts_put(s, a, 1));
	CHECK_EQ_INT(a[0].created, false);
	CHECK_OK(store_alerts_delivered(
	    s, (const uint8_t(*)[STORE_ALERT_ID_LEN])ids, 1, counts));
	CHECK_EQ_INT(counts[0], 3);
	store_close(&s);
}

/* Derived state applied past the log's end (the log restored alone from
 * an older copy) is thrown away by the next open, whoever opens; level
 * with the log, or behind it, it is kept. */
static void
test_derived_ahead_dropped_at_open(void)
{
	const char *dir = ut_tmpdir();
	tevent ev[2];
	store *s = two_events(dir, ev, "school-a");
	store_dtxn *t = NULL;
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_commit(&t, 2));
	store_close(&s);
	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 2);
	CHECK(store_derived_was_ahead(s) == NULL);
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_commit(&t, 5));
	store_close(&s);
	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 0);
	CHECK(store_derived_was_ahead(s) != NULL);
	CHECK_EQ_STR(store_derived_was_ahead(s),
		     "derived state is ahead of the log (5 > 2)");
	store_close(&s);
	s = open_store(dir, storage_key, 64);
	CHECK(store_derived_was_ahead(s) == NULL);
	store_close(&s);
}

static void
test_derived_state(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 0);
	log_through(s, 3);
	uint8_t pa[UG_PERSON_KEY_LEN], pb[UG_PERSON_KEY_LEN];
	ug_person_key(hash_key, CPR_A, pa);
	ug_person_key(hash_key, CPR_B, pb);

	store_dtxn *t = NULL;
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_index(t, pa, T0, 1));
	CHECK_OK(store_derived_index(t, pa, T0 - 5, 2));
	CHECK_OK(store_derived_index(t, pb, T0, 3));
	const uint8_t state_a[] = "episode open since 2024-05-01";
	CHECK_OK(store_derived_state_put(t, pa, 1, state_a, sizeof state_a));
	CHECK_OK(store_derived_state_put(t, pa, 2, (const uint8_t *)"r2", 2));
	uint8_t buf[128];
	size_t len = 0;
	/* Visible inside its own txn. */
	CHECK_OK(store_derived_state_get(t, pa, 1, buf, sizeof buf, &len));
	CHECK_EQ_INT(len, sizeof state_a);
	CHECK_OK(store_derived_commit(&t, 3));
	CHECK(t == NULL);
	CHECK_EQ_INT(store_derived_last_applied(s), 3);

	/* An aborted txn leaves nothing behind. */
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_state_put(t, pb, 1, (const uint8_t *)"x", 1));
	store_derived_abort(&t);
	CHECK(t == NULL);
	store_derived_abort(&t); /* NULL is fine */
	CHECK_EQ_INT(store_derived_last_applied(s), 3);
	store_close(&s);

	/* Persists across close and reopen. */
	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 3);
	CHECK_OK(store_derived_begin(s, &t));
	len = 0;
	CHECK_OK(store_derived_state_get(t, pa, 1, buf, sizeof buf, &len));
	CHECK_EQ_INT(len, sizeof state_a);
	CHECK_EQ_MEM(buf, state_a, sizeof state_a);
	CHECK_OK(store_derived_state_get(t, pa, 2, buf, sizeof buf, &len));
	CHECK_EQ_INT(len, 2);
	CHECK_EQ_MEM(buf, "r2", 2);
	CHECK_ERR(store_derived_state_get(t, pb, 1, buf, sizeof buf, &len),
		  UG_ENOTFOUND);
	CHECK_ERR(store_derived_state_get(t, pa, 3, buf, sizeof buf, &len),
		  UG_ENOTFOUND);
	/* A buffer too small is refused, not overrun. */
	CHECK_ERR(store_derived_state_get(t, pa, 1, buf, 4, &len),
		  UG_EMALFORMED);
	store_derived_abort(&t);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.person_index_entries, 3);
	CHECK_EQ_INT(st.last_applied, 3);

	/* Reset throws it all away. */
	CHECK_OK(store_derived_reset(s));
	CHECK_EQ_INT(store_derived_last_applied(s), 0);
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.person_index_entries, 0);
	CHECK_EQ_INT(st.last_applied, 0);
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_ERR(store_derived_state_get(t, pa, 1, buf, sizeof buf, &len),
		  UG_ENOTFOUND);
	store_derived_abort(&t);
	store_close(&s);
	s = open_store(dir, storage_key, 64);
	CHECK_EQ_INT(store_derived_last_applied(s), 0);
	store_close(&s);
}

static void
test_map_full(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 1);
	/* Batches of four 3000-byte events until the 1 MiB map is full. */
	static char big[3000];
	memset(big, 'b', sizeof big);
	tevent t[4];
	unsigned n = 0, batches = 0;
	ug_err err = UG_OK;
	while (batches < 1000) {
		for (int i = 0; i < 4; i++) {
			make_event(&t[i], ++n, "school-a", CPR_A);
			t[i].ev.body = (const uint8_t *)big;
			t[i].ev.body_len = sizeof big;
		}
		err = append(s, t, 4);
		if (err != UG_OK)
			break;
		batches++;
	}
	CHECK_ERR(err, UG_EFULL);
	CHECK(batches >= 10);
	/* The failed batch stored nothing; everything before it is there. */
	uint64_t last = 0;
	CHECK_OK(store_log_last(s, &last));
	CHECK_EQ_INT(last, 4 * batches);
	check_stats(s, 4 * batches, 4 * batches, 4 * batches, __LINE__);
	int calls = 0;
	uint64_t next = 0;
	CHECK_OK(store_log_scan(s, 1, SIZE_MAX, count_only, &calls, &next));
	CHECK_EQ_INT(calls, 4 * batches);
	CHECK_EQ_INT(next, 4 * batches + 1);
	/* Still full, still usable: the same batch fails the same way. */
	CHECK_ERR(append(s, t, 4), UG_EFULL);
	store_close(&s);
	/* Reopened with a bigger map, the store takes the batch. */
	s = open_store(dir, storage_key, 8);
	CHECK_OK(append(s, t, 4));
	CHECK_EQ_INT(t[3].ev.status, STORE_NEW);
	CHECK_EQ_INT(t[3].ev.seq, 4 * batches + 4);
	store_close(&s);
}

/* A full derived/ names its own setting, and a commit that goes through
 * afterwards clears it: hubd's ingest refusals and /readyz go by this. */
static void
test_derived_map_full(void)
{
	const char *dir = ut_tmpdir();
	store_opts opts = {
	    .log_map_mb = 64, .derived_map_mb = 1, .storage_key = storage_key};
	store *s = NULL;
	ug_diag diag = {0};
	CHECK_OK(store_open(&s, dir, &opts, &diag));
	static uint8_t state[2000];
	memset(state, 's', sizeof state);
	ug_err err = UG_OK;
	unsigned n = 0;
	while (err == UG_OK && n < 10000) {
		store_dtxn *t = NULL;
		CHECK_OK(store_derived_begin(s, &t));
		for (int i = 0; err == UG_OK && i < 16; i++) {
			uint8_t pk[UG_PERSON_KEY_LEN] = {0};
			memcpy(pk, &n, sizeof n);
			n++;
			err = store_derived_state_put(t, pk, 1, state,
						      sizeof state);
		}
		if (err == UG_OK)
			err = store_derived_commit(&t, n);
		else
			store_derived_abort(&t);
	}
	CHECK_ERR(err, UG_EFULL);
	CHECK(store_map_full() != NULL);
	CHECK_EQ_STR(store_map_full(), "derived_map_mb");
	store_close(&s);
	opts.derived_map_mb = 64;
	CHECK_OK(store_open(&s, dir, &opts, &diag));
	store_dtxn *t = NULL;
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_commit(&t, n));
	CHECK(store_map_full() == NULL ||
	      strcmp(store_map_full(), "derived_map_mb") != 0);
	store_close(&s);
}

static void
test_stats(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.log_events, 0);
	CHECK_EQ_INT(st.last_seq, 0);
	CHECK_EQ_INT(st.alerts, 0);
	CHECK_EQ_INT(st.principals, 0);
	CHECK(st.log_map_bytes == 64ull << 20);
	CHECK(st.derived_map_bytes == 64ull << 20);
	uint64_t empty_bytes = st.log_bytes;
	CHECK(empty_bytes > 0);

	tevent t[6];
	for (unsigned i = 0; i < 6; i++)
		make_event(&t[i], i + 1, "school-a", i % 2 ? CPR_A : CPR_B);
	t[5] = t[4]; /* a duplicate in the batch */
	t[4].ev.assign_caseworker = "cw-x";
	t[4].ev.assign_from = ug_days_from_civil(2024, 1, 1);
	t[5].ev.assign_caseworker = NULL;
	CHECK_OK(append(s, t, 6));
	CHECK_OK(store_principal_put(
	    s, STORE_CASEWORKER, "cw-x",
	    "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", 0, NULL));
	store_alert a[2];
	make_alert(&a[0], 1, "cw-x", "a");
	make_alert(&a[1], 2, "cw-x", "b");
	CHECK_OK(store_alerts_put(s, a, 2));
	bool found;
	CHECK_OK(store_alerts_ack(
	    s, "cw-x", (const uint8_t(*)[STORE_ALERT_ID_LEN])a[0].id, 1,
	    &found));
	CHECK(found);
	store_dtxn *dt;
	CHECK_OK(store_derived_begin(s, &dt));
	CHECK_OK(store_derived_index(dt, t[0].person, T0, 1));
	CHECK_OK(store_derived_commit(&dt, 2));
	store_maintain(s);

	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.log_events, 5);
	CHECK_EQ_INT(st.event_ids, 5);
	CHECK_EQ_INT(st.last_seq, 5);
	CHECK_EQ_INT(st.last_applied, 2);
	CHECK_EQ_INT(st.assignments, 1);
	CHECK_EQ_INT(st.principals, 1);
	CHECK_EQ_INT(st.alerts, 2);
	CHECK_EQ_INT(st.alerts_open, 1);
	CHECK_EQ_INT(st.person_index_entries, 1);
	CHECK(st.log_bytes > empty_bytes);
	CHECK(st.derived_bytes > 0);
	store_close(&s);
}

static void
test_open_errors(void)
{
	CHECK_OK(ug_crypto_init());
	const char *dir = ut_tmpdir();
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/plainfile", dir);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fclose(f);
	char under[PATH_MAX + 16];
	snprintf(under, sizeof under, "%s/store", path);
	store_opts opts = {.storage_key = storage_key};
	store *s = NULL;
	ug_diag diag = {0};
	CHECK_ERR(store_open(&s, under, &opts, &diag), UG_EIO);
	CHECK(s == NULL);
	CHECK(diag.reason[0] != '\0');
	CHECK_ERR(store_open(&s, dir, NULL, &diag), UG_EINVAL);
	store_opts nokey = {0};
	CHECK_ERR(store_open(&s, dir, &nokey, &diag), UG_EINVAL);
	CHECK(s == NULL);
}

/* Run fn in a child process (which must not share our LMDB handles: LMDB
 * forbids one env open twice in a process) and expect it to exit 0. */
static void
in_child(void (*fn)(const char *dir, int arg), const char *dir, int arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		fn(dir, arg);
		ut_child_exit(0);
	}
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status));
	CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

static void
hubctl_like(const char *dir, int n)
{
	/* Another process appends and registers, as hubctl does. */
	store_opts opts = {.log_map_mb = 64,
			   .derived_map_mb = 64,
			   .storage_key = storage_key};
	store *s = NULL;
	ug_diag diag = {0};
	if (store_open(&s, dir, &opts, &diag) != UG_OK)
		ut_child_exit(10);
	tevent t;
	make_event(&t, (unsigned)n, "youth-unit", CPR_B);
	store_event ev = t.ev;
	if (store_append(s, &ev, 1) != UG_OK || ev.status != STORE_NEW)
		ut_child_exit(11);
	if (store_principal_put(s, STORE_CASEWORKER, "cw-late",
				"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", 0,
				NULL) != UG_OK)
		ut_child_exit(12);
	store_close(&s);
}

static void
test_two_processes(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	tevent t;
	make_event(&t, 1, "school-a", CPR_A);
	CHECK_OK(append(s, &t, 1));
	in_child(hubctl_like, dir, 2);
	/* Our next append follows the other process's, not a cached seq. */
	make_event(&t, 3, "school-a", CPR_A);
	CHECK_OK(append(s, &t, 1));
	CHECK_EQ_INT(t.ev.seq, 3);
	int kind;
	char id[STORE_ID_MAX];
	uint32_t flags;
	CHECK_OK(store_principal_find(
	    s, "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", &kind, id, &flags));
	CHECK_EQ_STR(id, "cw-late");
	check_stats(s, 3, 3, 3, __LINE__);
	store_close(&s);
}

static void
grow_map(const char *dir, int n)
{
	/* Another process opens with a bigger map and fills past our map. */
	store_opts opts = {.log_map_mb = 16,
			   .derived_map_mb = 64,
			   .storage_key = storage_key};
	store *s = NULL;
	ug_diag diag = {0};
	if (store_open(&s, dir, &opts, &diag) != UG_OK)
		ut_child_exit(10);
	static char big[8000];
	memset(big, 'g', sizeof big);
	for (int b = 0; b < 60; b++) {
		tevent t[4];
		store_event ev[4];
		for (int i = 0; i < 4; i++) {
			make_event(&t[i], (unsigned)(n + b * 4 + i),
				   "school-a", CPR_A);
			ev[i] = t[i].ev;
			ev[i].body = (const uint8_t *)big;
			ev[i].body_len = sizeof big;
		}
		if (store_append(s, ev, 4) != UG_OK)
			ut_child_exit(11);
	}
	store_close(&s);
}

static void
test_map_grown_by_other_process(void)
{
	/* hubd opened with 1 MiB; hubctl (or a restarted peer) with 16 MiB
	 * wrote past 1 MiB. Reads and writes in hubd must adopt the new
	 * size (MDB_MAP_RESIZED), not fail. */
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 1);
	tevent t;
	make_event(&t, 1, "school-a", CPR_A);
	CHECK_OK(append(s, &t, 1));
	in_child(grow_map, dir, 2);
	uint64_t last = 0;
	CHECK_OK(store_log_last(s, &last));
	CHECK_EQ_INT(last, 241);
	int calls = 0;
	uint64_t next;
	CHECK_OK(store_log_scan(s, 1, SIZE_MAX, count_only, &calls, &next));
	CHECK_EQ_INT(calls, 241);
	make_event(&t, 1000, "school-a", CPR_A);
	CHECK_OK(append(s, &t, 1));
	CHECK_EQ_INT(t.ev.seq, 242);
	store_close(&s);
}

static ug_err
count_id(void *ctx, const uint8_t *id)
{
	(void)id;
	(*(size_t *)ctx)++;
	return UG_OK;
}

static store_purge_item
purge_item(const tevent *t)
{
	store_purge_item it = {.seq = t->ev.seq, .has_person = true};
	memcpy(it.event_id, t->id, STORE_EVENT_ID_LEN);
	memcpy(it.person_key, t->person, UG_PERSON_KEY_LEN);
	return it;
}

/* Retention deletes one record with what it raised; erasure deletes the
 * person whole; neither touches another person, and a deleted highest
 * sequence is not handed out again. */
static void
test_purge_and_erase(void)
{
	store *s = open_store(ut_tmpdir(), storage_key, 64);
	tevent ev[3];
	make_event(&ev[0], 1, "school-a", CPR_A);
	make_event(&ev[1], 2, "school-a", CPR_B);
	make_event(&ev[2], 3, "school-a", CPR_A);
	CHECK_OK(append(s, ev, 3));
	store_dtxn *t = NULL;
	CHECK_OK(store_derived_begin(s, &t));
	for (int i = 0; i < 3; i++)
		CHECK_OK(
		    store_derived_index(t, ev[i].person, T0, ev[i].ev.seq));
	CHECK_OK(store_derived_state_put(t, ev[0].person, 0,
					 (const uint8_t *)"profile", 7));
	store_timer tm = {.due = T0 + 1000, .seq = ev[2].ev.seq, .kind = 1};
	memcpy(tm.person_key, ev[0].person, UG_PERSON_KEY_LEN);
	CHECK_OK(store_derived_timer_put(t, &tm));
	uint8_t id1[STORE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, 1, 4};
	CHECK_OK(store_derived_person_alert(t, ev[0].person, id1));
	CHECK_OK(store_derived_commit(&t, 3));
	store_alert al = {.recipient = "cw-anna",
			  .body = (const uint8_t *)"a",
			  .body_len = 1};
	memcpy(al.id, id1, sizeof id1);
	CHECK_OK(store_alerts_put(s, &al, 1));
	size_t n = 0;
	CHECK_OK(store_alerts_raised(s, 1, count_id, &n));
	CHECK_EQ_INT(n, 1);

	/* Retention: A's first record and its alert; A keeps the other. */
	store_purge_item it = purge_item(&ev[0]);
	store_purge_counts c;
	CHECK_OK(store_purge(s, &it, 1, NULL, &c));
	CHECK_EQ_INT(c.records, 1);
	CHECK_EQ_INT(c.ids, 1);
	CHECK_EQ_INT(c.index_entries, 1);
	CHECK_EQ_INT(c.alerts, 1);
	CHECK_EQ_INT(c.queue_entries, 1);
	CHECK_EQ_INT(c.persons_cleared, 0);
	size_t open = 9;
	CHECK_OK(store_alerts_count(s, "cw-anna", &open));
	CHECK_EQ_INT(open, 0);
	uint64_t seq;
	char agency[STORE_ID_MAX];
	CHECK(store_event_id_get(s, ev[0].id, &seq, agency) == UG_ENOTFOUND);
	check_stats(s, 2, 2, 3, __LINE__);

	/* Erasure of A, whose last record is the highest sequence. */
	it = purge_item(&ev[2]);
	CHECK_OK(store_purge(s, &it, 1, ev[0].person, &c));
	CHECK_EQ_INT(c.records, 1);
	CHECK_EQ_INT(c.states, 1);
	CHECK_EQ_INT(c.timers, 1);
	CHECK_EQ_INT(c.persons_cleared, 1);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.log_events, 1);
	CHECK_EQ_INT(st.person_index_entries, 1); /* B's */
	CHECK_EQ_INT(st.timers, 0);
	CHECK_OK(store_derived_begin(s, &t));
	uint8_t buf[16];
	size_t len;
	CHECK(store_derived_state_get(t, ev[0].person, 0, buf, sizeof buf,
				      &len) == UG_ENOTFOUND);
	store_derived_abort(&t);
	/* Repeating it finds nothing and fails nothing. */
	CHECK_OK(store_purge(s, &it, 1, ev[0].person, &c));
	CHECK_EQ_INT(c.records, 0);

	/* Sequence 3 is gone but never reused. */
	tevent next;
	make_event(&next, 4, "school-a", CPR_C);
	CHECK_OK(append(s, &next, 1));
	CHECK_EQ_INT(next.ev.seq, 4);
	store_close(&s);
}

/* The reviewer's case: A's event (seq 1), B's (seq 2), B erased, then A.
 * The second erasure takes the log's newest record again, but the number
 * kept must stay the highest ever handed out (2), not fall to A's (1):
 * derived state has applied 2, so a new event given 2 would never be
 * applied. */
static void
test_tail_deleted_twice(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 64);
	tevent ev[2];
	make_event(&ev[0], 1, "school-a", CPR_A);
	make_event(&ev[1], 2, "school-a", CPR_B);
	CHECK_OK(append(s, ev, 2));
	store_dtxn *t = NULL;
	CHECK_OK(store_derived_begin(s, &t));
	CHECK_OK(store_derived_commit(&t, 2));
	store_purge_counts c;
	store_purge_item it = purge_item(&ev[1]);
	CHECK_OK(store_purge(s, &it, 1, ev[1].person, &c));
	CHECK_EQ_INT(c.records, 1);
	check_stats(s, 1, 1, 2, __LINE__);
	it = purge_item(&ev[0]);
	CHECK_OK(store_purge(s, &it, 1, ev[0].person, &c));
	CHECK_EQ_INT(c.records, 1);
	check_stats(s, 0, 0, 2, __LINE__);
	/* A retention purge of records already gone keeps it too. */
	CHECK_OK(store_purge(s, &it, 1, NULL, &c));
	check_stats(s, 0, 0, 2, __LINE__);
	store_stats st;
	CHECK_OK(store_get_stats(s, &st));
	CHECK_EQ_INT(st.last_applied, 2);

	tevent next;
	make_event(&next, 3, "school-a", CPR_C);
	CHECK_OK(append(s, &next, 1));
	CHECK_EQ_INT(next.ev.seq, 3);
	/* Then a purge of a record below the newest leaves the floor alone
	 * and the newest record where it is. */
	tevent more;
	make_event(&more, 4, "school-a", CPR_A);
	CHECK_OK(append(s, &more, 1));
	it = purge_item(&next);
	CHECK_OK(store_purge(s, &it, 1, NULL, &c));
	check_stats(s, 1, 1, 4, __LINE__);
	it = purge_item(&more);
	CHECK_OK(store_purge(s, &it, 1, NULL, &c));
	check_stats(s, 0, 0, 4, __LINE__);
	/* The floor survives a reopen. */
	store_close(&s);
	s = open_store(dir, storage_key, 64);
	make_event(&more, 5, "school-a", CPR_B);
	CHECK_OK(append(s, &more, 1));
	CHECK_EQ_INT(more.ev.seq, 5);
	store_close(&s);
}

/* Fill a 1 MiB log/ with audit records until one more does not fit:
 * what a state change then writes with its record cannot fit either. */
static void
fill_log_with_audit(store *s)
{
	static char detail[STORE_AUDIT_DETAIL_MAX];
	memset(detail, 'd', sizeof detail - 1);
	store_audit_entry e[16];
	for (int i = 0; i < 16; i++)
		e[i] = (store_audit_entry){T0,	 "hub", NULL,  "filler",
					   "ok", NULL,	detail};
	ug_err err = UG_OK;
	for (int i = 0; err == UG_OK && i < 1000; i++)
		err = store_audit_write(s, e, 16);
	CHECK_ERR(err, UG_EFULL);
	for (int i = 0; err != UG_EFULL || i == 0; i++) {
		err = store_audit_write(s, e, 1);
		CHECK(i < 100);
	}
	CHECK_ERR(err, UG_EFULL);
}

/* The last audit record's action, "" when there is none. */
static ug_err
last_action(void *ctx, const store_audit_record *r)
{
	ug_strlcpy(ctx, r->action, STORE_AUDIT_ACTION_MAX);
	return UG_OK;
}

/* An acknowledgement is stored with its audit record or not at all: a
 * log/ too full for the record keeps the alert open, for the hub to
 * retry; with room, both are there. */
static void
test_ack_with_its_record(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 1);
	store_alert al = {.recipient = "cw-anna",
			  .body = (const uint8_t *)"a",
			  .body_len = 1};
	uint8_t id[STORE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, 7, 4};
	memcpy(al.id, id, sizeof id);
	CHECK_OK(store_alerts_put(s, &al, 1));
	fill_log_with_audit(s);
	uint64_t before = 0, after = 0;
	CHECK_OK(store_audit_count(s, &before));
	static char note[STORE_AUDIT_DETAIL_MAX];
	memset(note, 'n', sizeof note - 1);
	store_audit_entry e = {T0, "cw-anna", NULL, "ack", "ok", NULL, note};
	bool found = false;
	CHECK_ERR(store_alerts_ack_audited(
		      s, "cw-anna", (const uint8_t(*)[STORE_ALERT_ID_LEN])id,
		      1, &found, &e),
		  UG_EFULL);
	CHECK(store_alert_queued(s, "cw-anna", id));
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before);
	store_close(&s);

	s = open_store(dir, storage_key, 8);
	CHECK_OK(store_alerts_ack_audited(
	    s, "cw-anna", (const uint8_t(*)[STORE_ALERT_ID_LEN])id, 1, &found,
	    &e));
	CHECK_EQ_INT(found, true);
	CHECK(!store_alert_queued(s, "cw-anna", id));
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 1);
	char action[STORE_AUDIT_ACTION_MAX] = "";
	CHECK_OK(store_audit_scan(s, after, last_action, action));
	CHECK_EQ_STR(action, "ack");
	/* One that finds nothing open writes no record. */
	CHECK_OK(store_alerts_ack_audited(
	    s, "cw-anna", (const uint8_t(*)[STORE_ALERT_ID_LEN])id, 1, &found,
	    &e));
	CHECK_EQ_INT(found, false);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 1);
	store_close(&s);
}

/* A purge's records, sized to need room in the log. */
static ug_err
purge_records(void *ctx, const store_purge_counts *c,
	      const store_audit_entry **e, size_t *n)
{
	store_audit_entry *one = ctx;
	CHECK_EQ_INT(c->records, 1);
	*e = one;
	*n = 1;
	return UG_OK;
}

/* A purge commits with its audit records: a log/ too full for them
 * deletes nothing (the next run finds the record again); with room, the
 * record is gone and its audit record there. */
static void
test_purge_with_its_records(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 1);
	tevent ev;
	make_event(&ev, 1, "school-a", CPR_A);
	CHECK_OK(append(s, &ev, 1));
	fill_log_with_audit(s);
	uint64_t before = 0, after = 0;
	CHECK_OK(store_audit_count(s, &before));
	static char detail[STORE_AUDIT_DETAIL_MAX];
	memset(detail, 'p', sizeof detail - 1);
	store_audit_entry e = {T0,   "hub",	NULL,  "purge",
			       "ok", ev.person, detail};
	store_purge_item it = purge_item(&ev);
	store_purge_counts c;
	CHECK_ERR(store_purge_audited(s, &it, 1, NULL, &c, purge_records, &e),
		  UG_EFULL);
	int calls = 0;
	uint64_t next = 0;
	CHECK_OK(store_log_scan(s, 1, SIZE_MAX, count_only, &calls, &next));
	CHECK_EQ_INT(calls, 1);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before);
	store_close(&s);

	s = open_store(dir, storage_key, 8);
	CHECK_OK(store_purge_audited(s, &it, 1, NULL, &c, purge_records, &e));
	calls = 0;
	CHECK_OK(store_log_scan(s, 1, SIZE_MAX, count_only, &calls, &next));
	CHECK_EQ_INT(calls, 0);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 1);
	char action[STORE_AUDIT_ACTION_MAX] = "";
	CHECK_OK(store_audit_scan(s, after, last_action, action));
	CHECK_EQ_STR(action, "purge");
	store_close(&s);
}

/* An append's record, "ok" for a new event, "already-known" for one sent
 * again. */
static ug_err
append_record(void *ctx, const store_event *events, size_t n,
	      const store_audit_entry **e, size_t *ne)
{
	store_audit_entry *one = ctx;
	CHECK_EQ_INT(n, 1);
	one->result = events[0].status == STORE_NEW ? "ok" : "already-known";
	*e = one;
	*ne = 1;
	return UG_OK;
}

/* An event the hub records itself (a caseworker's action, an assignment)
 * is stored with its audit record or not at all; the record can say
 * what the append found. */
static void
test_append_with_its_record(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 1);
	fill_log_with_audit(s);
	uint64_t before = 0, after = 0, last = 0;
	CHECK_OK(store_audit_count(s, &before));
	static char detail[STORE_AUDIT_DETAIL_MAX];
	memset(detail, 'a', sizeof detail - 1);
	tevent ev;
	make_event(&ev, 1, "hub", CPR_A);
	store_audit_entry e = {T0,   "cw-anna", NULL,  "action",
			       "ok", ev.person, detail};
	CHECK_ERR(store_append_audited(s, &ev.ev, 1, append_record, &e, NULL),
		  UG_EFULL);
	CHECK_OK(store_log_last(s, &last));
	CHECK_EQ_INT(last, 0);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before);
	store_close(&s);

	s = open_store(dir, storage_key, 8);
	CHECK_OK(store_append_audited(s, &ev.ev, 1, append_record, &e, NULL));
	CHECK_EQ_INT(ev.ev.status, STORE_NEW);
	CHECK_OK(store_log_last(s, &last));
	CHECK_EQ_INT(last, 1);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 1);
	char action[STORE_AUDIT_ACTION_MAX] = "";
	CHECK_OK(store_audit_scan(s, after, last_action, action));
	CHECK_EQ_STR(action, "action");
	CHECK_OK(store_append_audited(s, &ev.ev, 1, append_record, &e, NULL));
	CHECK_EQ_INT(ev.ev.status, STORE_DUPLICATE);
	CHECK_EQ_STR(e.result, "already-known");
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 2);
	store_close(&s);
}

/* An alert the hub makes (an escalation notice) is stored with its
 * record or not at all; a replay that creates nothing records nothing. */
static void
test_alert_put_with_its_record(void)
{
	const char *dir = ut_tmpdir();
	store *s = open_store(dir, storage_key, 1);
	fill_log_with_audit(s);
	uint64_t before = 0, after = 0;
	CHECK_OK(store_audit_count(s, &before));
	static char detail[STORE_AUDIT_DETAIL_MAX];
	memset(detail, 'e', sizeof detail - 1);
	store_audit_entry e = {T0,   "hub", NULL,  "escalate",
			       NULL, NULL,  detail};
	store_alert al = {
	    .recipient = "desk", .body = (const uint8_t *)"n", .body_len = 1};
	uint8_t id[STORE_ALERT_ID_LEN] = {0, 0, 0, 0, 0, 0, 0, 9, 0x44};
	memcpy(al.id, id, sizeof id);
	CHECK_ERR(store_alerts_put_audited(s, &al, 1, &e), UG_EFULL);
	CHECK(!store_alert_queued(s, "desk", id));
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before);
	store_close(&s);

	s = open_store(dir, storage_key, 8);
	CHECK_OK(store_alerts_put_audited(s, &al, 1, &e));
	CHECK_EQ_INT(al.created, true);
	CHECK(store_alert_queued(s, "desk", id));
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 1);
	CHECK_OK(store_alerts_put_audited(s, &al, 1, &e));
	CHECK_EQ_INT(al.created, false);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before + 1);
	store_close(&s);
}

/* The last record's action, after the change it records. */
static void
check_last_action(store *s, uint64_t count, const char *want)
{
	uint64_t n = 0;
	char action[STORE_AUDIT_ACTION_MAX] = "";
	CHECK_OK(store_audit_count(s, &n));
	CHECK_EQ_INT(n, count);
	CHECK_OK(store_audit_scan(s, n, last_action, action));
	CHECK_EQ_STR(action, want);
}

/* An operator's change to who may connect, to a password or to a notice
 * address is stored with its audit record or not at all: on a log/ too
 * full for the record nothing changes; with room both are there. A
 * caseworker's revoke takes the web access along; a revoke that finds no
 * registration changes nothing, not the desk's address either. */
static void
test_admin_changes_with_their_records(void)
{
	const char *dir = ut_tmpdir();
	const char *k1 = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
	const char *k2 = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
	const char *hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA";
	static char detail[STORE_AUDIT_DETAIL_MAX];
	memset(detail, 'a', sizeof detail - 1);
	store_audit_entry e = {T0,   "hubctl:root", NULL,  "register-agency",
			       "ok", NULL,	    detail};
	char key[41], got[STORE_PASSWORD_HASH_MAX], address[STORE_EMAIL_MAX];
	uint32_t flags;
	int64_t set_at;
	uint64_t before = 0, after = 0;

	store *s = open_store(dir, storage_key, 1);
	CHECK_OK(
	    store_principal_put(s, STORE_CASEWORKER, "cw-anna", k1, 0, NULL));
	CHECK_OK(store_password_put(s, "cw-anna", hash, T0));
	CHECK_OK(store_email_put(s, "cw-anna", "anna@example.org"));
	CHECK_OK(store_email_put(s, "duty-desk", "desk@example.org"));
	fill_log_with_audit(s);
	CHECK_OK(store_audit_count(s, &before));
	CHECK_ERR(store_principal_put_audited(s, STORE_AGENCY, "school-a", k2,
					      2, &e, NULL),
		  UG_EFULL);
	CHECK_ERR(
	    store_principal_current(s, STORE_AGENCY, "school-a", key, &flags),
	    UG_ENOTFOUND);
	CHECK_ERR(
	    store_principal_revoke_audited(s, STORE_CASEWORKER, "cw-anna", &e),
	    UG_EFULL);
	CHECK_OK(store_principal_current(s, STORE_CASEWORKER, "cw-anna", key,
					 &flags));
	CHECK_ERR(
	    store_password_put_audited(s, "cw-anna", "$other", T0 + 1, &e),
	    UG_EFULL);
	CHECK_OK(store_password_get(s, "cw-anna", got, &set_at));
	CHECK_EQ_STR(got, hash);
	CHECK_ERR(store_email_put_audited(s, "cw-anna", "new@example.org", &e),
		  UG_EFULL);
	CHECK_ERR(store_email_delete_audited(s, "cw-anna", &e), UG_EFULL);
	CHECK_OK(store_email_get(s, "cw-anna", address));
	CHECK_EQ_STR(address, "anna@example.org");
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before);
	store_close(&s);

	s = open_store(dir, storage_key, 8);
	CHECK_ERR(store_principal_revoke_audited(s, STORE_CASEWORKER,
						 "duty-desk", &e),
		  UG_ENOTFOUND);
	CHECK_OK(store_email_get(s, "duty-desk", address));
	CHECK_ERR(store_email_delete_audited(s, "cw-bo", &e), UG_ENOTFOUND);
	CHECK_OK(store_audit_count(s, &after));
	CHECK_EQ_INT(after, before);
	CHECK_OK(store_principal_put_audited(s, STORE_AGENCY, "school-a", k2,
					     2, &e, NULL));
	CHECK_OK(
	    store_principal_current(s, STORE_AGENCY, "school-a", key, &flags));
	check_last_action(s, before + 1, "register-agency");
	e.action = "set-password";
	CHECK_OK(
	    store_password_put_audited(s, "cw-anna", "$other", T0 + 1, &e));
	CHECK_OK(store_password_get(s, "cw-anna", got, &set_at));
	CHECK_EQ_STR(got, "$other");
	check_last_action(s, before + 2, "set-password");
	e.action = "set-email";
	CHECK_OK(store_email_put_audited(s, "cw-anna", "new@example.org", &e));
	CHECK_OK(store_email_get(s, "cw-anna", address));
	CHECK_EQ_STR(address, "new@example.org");
	check_last_action(s, before + 3, "set-email");
	e.action = "revoke-caseworker";
	CHECK_OK(store_principal_revoke_audited(s, STORE_CASEWORKER, "cw-anna",
						&e));
	check_last_action(s, before + 4, "revoke-caseworker");
	CHECK_ERR(store_principal_current(s, STORE_CASEWORKER, "cw-anna", key,
					  &flags),
		  UG_ENOTFOUND);
	CHECK_ERR(store_password_get(s, "cw-anna", got, &set_at),
		  UG_ENOTFOUND);
	CHECK_ERR(store_email_get(s, "cw-anna", address), UG_ENOTFOUND);
	e.action = "set-email";
	CHECK_OK(store_email_delete_audited(s, "duty-desk", &e));
	check_last_action(s, before + 5, "set-email");
	store_close(&s);
}

TEST_LIST = {
    {"append duplicates conflicts", test_append_duplicates_conflicts},
    {"append failure stores nothing", test_append_failure_stores_nothing},
    {"log scan", test_log_scan},
    {"sealed at rest", test_sealed_at_rest},
    {"wrong storage key", test_wrong_storage_key},
    {"forged principals", test_forged_principals},
    {"forged queue and alerts", test_forged_queue_and_alerts},
    {"forged is limited per database", test_forged_is_limited_per_database},
    {"person lists ordered", test_person_lists_ordered},
    {"person index buckets", test_person_index_buckets},
    {"old format refused", test_old_format_refused},
    {"ids keys follow time", test_ids_keys_follow_time},
    {"format 2 upgraded", test_format_2_upgraded},
    {"format 3 upgraded", test_format_3_upgraded},
    {"ids rebuilt from the log", test_ids_rebuilt_from_log},
    {"ids found past the index", test_ids_found_past_the_index},
    {"stale ids entry ignored", test_stale_ids_entry_ignored},
    {"purge applier race", test_purge_applier_race},
    {"ids rebuilt after boot", test_ids_rebuilt_after_boot},
    {"ids rebuild steps over a bad record",
     test_ids_rebuild_steps_over_bad_record},
    {"sound file ending early is kept", test_sound_file_ending_early_is_kept},
    {"rebuildable files cut short are emptied",
     test_rebuildable_files_cut_short_are_emptied},
    {"log cut short is refused", test_log_cut_short_is_refused},
    {"assignments", test_assignments},
    {"assignment planned ahead", test_assignment_planned_ahead},
    {"assignment history is bounded", test_assignment_history_is_bounded},
    {"principals", test_principals},
    {"principal revoke and generation", test_principal_revoke_and_generation},
    {"principal key not taken over", test_principal_key_not_taken_over},
    {"alerts queued", test_alerts_queued},
    {"alerts", test_alerts},
    {"alert deliveries", test_alert_deliveries},
    {"alert rewrite", test_alert_rewrite},
    {"derived state", test_derived_state},
    {"derived ahead dropped at open", test_derived_ahead_dropped_at_open},
    {"map full", test_map_full},
    {"derived map full", test_derived_map_full},
    {"stats", test_stats},
    {"open errors", test_open_errors},
    {"two processes", test_two_processes},
    {"map grown by other process", test_map_grown_by_other_process},
    {"purge and erase", test_purge_and_erase},
    {"tail deleted twice", test_tail_deleted_twice},
    {"ack with its record", test_ack_with_its_record},
    {"purge with its records", test_purge_with_its_records},
    {"append with its record", test_append_with_its_record},
    {"alert put with its record", test_alert_put_with_its_record},
    {"admin changes with their records",
     test_admin_changes_with_their_records},
    {NULL, NULL},
};
