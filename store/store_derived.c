/*
 * The derived state the rules keep (derived/, not synced; rebuilt from the
 * log when lost). Layouts:
 *   meta       "last_applied" -> BE64, "schema" -> BE64
 *   person     BE32(seq >> 12) | H(person_key | bucket)[16] | H(seq)[8]
 *              -> sealed(occurred_at | seq)   (store_int.h says why)
 *   rule       H(person_key | rule)[16] -> sealed(state)
 *   timer, palerts, desk: see store_rules.c
 * Each database hashes the person under its own tag, so they cannot be
 * joined on the key.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

/* A purge commits derived/ before the log (store_lifecycle.c), so a
 * writer that takes derived/ in between would read the log as it was
 * before the purge and apply again a record erased before it was
 * applied: derived entries of a record gone. Each purge numbers itself
 * in both metas; derived/'s ahead of the log's means its log commit is
 * to come, and taking the log's write lock waits for it. Still ahead
 * after that, the purge failed or crashed there: its records stay in
 * the log (for the next purge or erasure), and the log takes the number
 * so that no later begin waits. */
static int
purge_settled(store *s, MDB_txn *dtxn)
{
	MDB_val key = {9, "purge_gen"}, val;
	int rc = mdb_get(dtxn, s->meta, &key, &val);
	if (rc == MDB_NOTFOUND || (rc == 0 && val.mv_size != 8))
		return 0;
	if (rc != 0)
		return rc;
	uint64_t want = ug_get_be64(val.mv_data);
	MDB_txn *txn;
	for (int pass = 0; pass < 2; pass++) {
		rc = pass ? store__begin_write(s->log_env, &txn)
			  : store__begin_read(s->log_env, &txn);
		if (rc != 0)
			return rc;
		rc = mdb_get(txn, s->log_meta, &key, &val);
		uint64_t have =
		    rc == 0 && val.mv_size == 8 ? ug_get_be64(val.mv_data) : 0;
		if ((rc != 0 && rc != MDB_NOTFOUND) || have >= want) {
			mdb_txn_abort(txn);
			return rc == MDB_NOTFOUND ? 0 : rc;
		}
		if (pass)
			break;
		mdb_txn_abort(txn);
	}
	uint8_t v[8];
	ug_put_be64(v, want);
	val = (MDB_val){8, v};
	rc = mdb_put(txn, s->log_meta, &key, &val, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc;
	}
	return mdb_txn_commit(txn);
}

ug_err
store_derived_begin(store *s, store_dtxn **out)
{
	store_dtxn *t = calloc(1, sizeof *t);
	if (!t)
		return UG_ENOMEM;
	t->s = s;
	int rc = store__begin_write(s->derived_env, &t->txn);
	if (rc != 0) {
		free(t);
		return store__env_err(rc, STORE_ENV_DERIVED, "begin derived");
	}
	rc = purge_settled(s, t->txn);
	if (rc != 0) {
		mdb_txn_abort(t->txn);
		free(t);
		return store__env_err(rc, STORE_ENV_LOG,
				      "begin derived (wait for a purge)");
	}
	*out = t;
	return UG_OK;
}

uint64_t
store_derived_last_applied(store *s)
{
	return s->last_applied;
}

/* A person's pseudonym in one derived database: a hash of the person key
 * under that database's tag, so the databases cannot be joined on it. */
void
store__person_hash(const store *s, enum store__tag tag,
		   const uint8_t *person_key, uint8_t out[STORE_PERSON_HASH])
{
	store__hash(s, tag, person_key, UG_PERSON_KEY_LEN, NULL, 0, out,
		    STORE_PERSON_HASH);
}

void
store__person_index_key(const store *s, const uint8_t *person_key,
			uint64_t seq, uint8_t out[STORE_PERSON_KEY])
{
	uint8_t seqkey[8];
	ug_put_be64(seqkey, seq);
	ug_put_be32(out, (uint32_t)(seq >> STORE_PERSON_BUCKET_BITS));
	store__hash(s, TAG_PERSON, person_key, UG_PERSON_KEY_LEN, out, 4,
		    out + 4, STORE_PERSON_HASH);
	store__hash(s, TAG_PERSON_SEQ, seqkey, 8, NULL, 0,
		    out + STORE_PERSON_PREFIX, 8);
}

int
store__person_walk(store *s, MDB_txn *dtxn, const uint8_t *person_key,
		   store__entry_fn fn, void *ctx)
{
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	int rc = mdb_cursor_open(dtxn, s->person, &cur);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	uint32_t bucket = rc == 0 && key.mv_size == STORE_PERSON_KEY
			      ? ug_get_be32(key.mv_data)
			      : 0;
	enum store__walk what = STORE_WALK_NEXT;
	while (rc == 0 && what != STORE_WALK_STOP) {
		uint8_t prefix[STORE_PERSON_PREFIX];
		ug_put_be32(prefix, bucket);
		store__hash(s, TAG_PERSON, person_key, UG_PERSON_KEY_LEN,
			    prefix, 4, prefix + 4, STORE_PERSON_HASH);
		key = (MDB_val){sizeof prefix, prefix};
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		/* A key of another length is no entry of this layout (one
		 * added by hand, an older format's): passed over, so that
		 * it hides none of the person's entries behind it from a
		 * timeline or an erasure, and reported as forged like any
		 * record that does not open. */
		while (rc == 0 && key.mv_size != STORE_PERSON_KEY) {
			store__forged(s, TAG_PERSON, "person");
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		}
		if (rc != 0)
			break;
		/* Nothing at or after the person in this bucket: the seek
		 * landed in the next bucket that holds entries. */
		uint32_t landed = ug_get_be32(key.mv_data);
		if (landed != bucket) {
			bucket = landed;
			continue;
		}
		while (rc == 0 && key.mv_size >= sizeof prefix &&
		       memcmp(key.mv_data, prefix, sizeof prefix) == 0) {
			if (key.mv_size != STORE_PERSON_KEY) {
				store__forged(s, TAG_PERSON, "person");
				rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
				continue;
			}
			what = fn(ctx, &key, &val);
			if (what == STORE_WALK_STOP)
				break;
			if (what == STORE_WALK_DELETE) {
				/* mdb_cursor_del leaves the cursor on the
				 * next entry. */
				rc = mdb_cursor_del(cur, 0);
				if (rc == 0)
					rc = mdb_cursor_get(cur, &key, &val,
							    MDB_GET_CURRENT);
			} else {
				rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
			}
		}
		if (bucket == UINT32_MAX)
			break;
		bucket++;
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
}

ug_err
store_derived_index(store_dtxn *t, const uint8_t *person_key,
		    int64_t occurred_at, uint64_t seq)
{
	uint8_t k[STORE_PERSON_KEY], plain[16];
	uint8_t sealed[sizeof plain + UG_SEAL_OVERHEAD];
	store__person_index_key(t->s, person_key, seq, k);
	ug_put_be64(plain, (uint64_t)occurred_at);
	ug_put_be64(plain + 8, seq);
	store__seal(t->s, k, sizeof k, plain, sizeof plain, sealed);
	MDB_val key = {sizeof k, k}, val = {sizeof sealed, sealed};
	return store__env_err(mdb_put(t->txn, t->s->person, &key, &val, 0),
			      STORE_ENV_DERIVED, "index person");
}

/* Rule state lives under a hash of person and rule: the key names
 * neither, so which rules hold state for a person stays sealed. */
static void
rule_key(const store *s, const uint8_t *person_key, uint8_t rule,
	 uint8_t out[16])
{
	store__hash(s, TAG_RULE, person_key, UG_PERSON_KEY_LEN, &rule, 1, out,
		    16);
}

ug_err
store_derived_state_get(store_dtxn *t, const uint8_t *person_key, uint8_t rule,
			uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t k[16];
	rule_key(t->s, person_key, rule, k);
	MDB_val key = {sizeof k, k}, val;
	int rc = mdb_get(t->txn, t->s->rule, &key, &val);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "get rule state");
	if (val.mv_size >= UG_SEAL_OVERHEAD &&
	    val.mv_size - UG_SEAL_OVERHEAD > cap)
		return UG_EMALFORMED; /* the caller's buffer is too small */
	ug_err err =
	    store__open(t->s, k, sizeof k, val.mv_data, val.mv_size, buf, cap);
	if (err != UG_OK) {
		store__forged(t->s, TAG_RULE, "rule");
		return err;
	}
	*len = val.mv_size - UG_SEAL_OVERHEAD;
	return UG_OK;
}

ug_err
store_derived_state_put(store_dtxn *t, const uint8_t *person_key, uint8_t rule,
			const uint8_t *buf, size_t len)
{
	uint8_t k[16];
	rule_key(t->s, person_key, rule, k);
	MDB_val key = {sizeof k, k}, val = {len + UG_SEAL_OVERHEAD, NULL};
	int rc = mdb_put(t->txn, t->s->rule, &key, &val, MDB_RESERVE);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "put rule state");
	store__seal(t->s, k, sizeof k, buf, len, val.mv_data);
	return UG_OK;
}

ug_err
store_derived_commit(store_dtxn **tp, uint64_t last_applied)
{
	store_dtxn *t = *tp;
	uint8_t v[8];
	ug_put_be64(v, last_applied);
	MDB_val key = {12, "last_applied"}, val = {8, v};
	int rc = mdb_put(t->txn, t->s->meta, &key, &val, 0);
	if (rc != 0) {
		store_derived_abort(tp);
		return store__env_err(rc, STORE_ENV_DERIVED,
				      "put last_applied");
	}
	rc = mdb_txn_commit(t->txn);
	if (rc == 0) {
		t->s->last_applied = last_applied;
		store__env_wrote(STORE_ENV_DERIVED);
	}
	free(t);
	*tp = NULL;
	return store__env_err(rc, STORE_ENV_DERIVED, "commit derived");
}

void
store_derived_abort(store_dtxn **tp)
{
	if (!tp || !*tp)
		return;
	mdb_txn_abort((*tp)->txn);
	free(*tp);
	*tp = NULL;
}

static int
drop_all(store *s, MDB_txn *txn)
{
	int rc = mdb_drop(txn, s->meta, 0);
	if (rc == 0)
		rc = mdb_drop(txn, s->person, 0);
	MDB_dbi more[] = {s->rule, s->timer, s->palerts, s->desk};
	for (size_t i = 0; rc == 0 && i < sizeof more / sizeof *more; i++)
		rc = mdb_drop(txn, more[i], 0);
	return rc;
}

ug_err
store_derived_reset(store *s)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->derived_env, &txn);
	if (rc == 0)
		rc = drop_all(s, txn);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__env_err(rc, STORE_ENV_DERIVED, "reset derived");
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0)
		s->last_applied = 0;
	return store__env_err(rc, STORE_ENV_DERIVED, "commit reset");
}

/* Begin a write transaction on derived/ (*txn NULL if that failed) and
 * read whether it records this schema; the LMDB code of either
 * (MDB_NOTFOUND: none recorded). */
static int
begin_schema(store *s, uint32_t schema, MDB_txn **txn, bool *ours)
{
	*txn = NULL;
	*ours = false;
	int rc = store__begin_write(s->derived_env, txn);
	if (rc != 0) {
		*txn = NULL;
		return rc;
	}
	MDB_val key = {6, "schema"}, val;
	rc = mdb_get(*txn, s->meta, &key, &val);
	*ours =
	    rc == 0 && val.mv_size == 8 && ug_get_be64(val.mv_data) == schema;
	return rc;
}

ug_err
store_derived_schema_check(store *s, uint32_t schema, bool *reset)
{
	*reset = false;
	MDB_txn *txn;
	bool ours;
	int rc = begin_schema(s, schema, &txn, &ours);
	if (!txn)
		return store__env_err(rc, STORE_ENV_DERIVED, "derived schema");
	if (ours) {
		mdb_txn_abort(txn);
		return UG_OK;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return store__env_err(rc, STORE_ENV_DERIVED,
				      "read derived schema");
	}
	mdb_txn_abort(txn);
	/* Another format (or none recorded, from before versions were kept)
	 * over existing state: throw it away; the log rebuilds it. */
	if (s->last_applied > 0) {
		ug_err err = store_derived_reset(s);
		if (err != UG_OK)
			return err;
		*reset = true;
	}
	rc = store__begin_write(s->derived_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "derived schema");
	uint8_t v[8];
	ug_put_be64(v, schema);
	MDB_val key = {6, "schema"}, val = {8, v};
	rc = mdb_put(txn, s->meta, &key, &val, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	return store__env_err(rc, STORE_ENV_DERIVED, "write derived schema");
}

ug_err
store_derived_drop_other(store *s, uint32_t schema, bool *dropped)
{
	*dropped = false;
	MDB_txn *txn;
	bool ours;
	int rc = begin_schema(s, schema, &txn, &ours);
	if (!txn)
		return store__env_err(rc, STORE_ENV_DERIVED, "derived schema");
	MDB_stat st = {0};
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = mdb_stat(txn, s->person, &st);
	/* Checked and dropped in one write transaction: a hubd starting
	 * meanwhile cannot rebuild in between and lose its work. */
	bool other = rc == 0 && !ours && (st.ms_entries || s->last_applied);
	if (other)
		rc = drop_all(s, txn);
	if (rc == 0 && other)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc == 0 && other) {
		s->last_applied = 0;
		*dropped = true;
	}
	return store__env_err(rc, STORE_ENV_DERIVED, "drop derived");
}
