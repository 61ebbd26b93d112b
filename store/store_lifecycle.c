/*
 * The end of personal data's life: deleting log records with everything
 * keyed by them (retention), or everything held about one person
 * (erasure), and finding what a person's records raised (access).
 *
 * Every index key is a keyed hash of something the caller knows (the
 * sequence, the event id, the person key), so each entry is deleted by a
 * direct lookup, never by reading other people's records; only timers
 * are keyed by due time and are opened one by one to find a person's.
 * An alert's id is its raising sequence and one byte (rule and flags), so
 * the alerts a record raised are the 256 ids with its sequence.
 *
 * Lock order, as hubd's apply has it: the derived env's writer lock,
 * then the event-id index's (store_ids.c), then the log's. hubd applying a
 * person's records while hubctl erases them therefore either finishes first
 * (and its state is erased) or starts after (and no longer finds the records),
 * never writes between.
 *
 * Deleted sequences are never handed out again: before records go,
 * log/meta "seq_floor" is raised to the log's last sequence, never
 * lowered (store.c's store__log_last_in reads it), because alerts, timers
 * and the derived state's last_applied are keyed by sequence.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/log.h"
#include "store/store_int.h"

#define RULE_SLOTS    256
#define ALERT_KEY_LEN 16

static void
alert_key(const store *s, const uint8_t *id, uint8_t out[ALERT_KEY_LEN])
{
	store__hash(s, TAG_ALERT, id, STORE_ALERT_ID_LEN, NULL, 0, out,
		    ALERT_KEY_LEN);
}

static int
del_key(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t len, uint64_t *count)
{
	MDB_val key = {len, (void *)k};
	int rc = mdb_del(txn, dbi, &key, NULL);
	if (rc == 0 && count)
		(*count)++;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Delete every entry whose key begins with prefix (a person's entries in
 * person/palerts). */
static int
del_prefix(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix, size_t len,
	   uint64_t *count)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, dbi, &cur);
	MDB_val key = {len, (void *)prefix}, val;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= len &&
	       memcmp(key.mv_data, prefix, len) == 0) {
		/* mdb_cursor_del leaves the cursor on the next entry. */
		rc = mdb_cursor_del(cur, 0);
		if (rc == 0) {
			(*count)++;
			rc = mdb_cursor_get(cur, &key, &val, MDB_GET_CURRENT);
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
}

/* The alert id and, if the alert exists, its queue entry and the alert. */
static ug_err
del_alert(store *s, MDB_txn *txn, const uint8_t *id, store_purge_counts *c)
{
	store__alert_head h;
	MDB_val val;
	ug_err err = store__alert_read(s, txn, id, &h, &val);
	if (err == UG_ENOTFOUND)
		return UG_OK;
	if (err == UG_OK && h.open) {
		err = store__queue_key_put(txn, s, h.recipient, id, true);
		if (err == UG_OK)
			c->queue_entries++;
		else if (err == UG_ENOTFOUND)
			err = UG_OK;
	}
	if (err != UG_OK && err != UG_EMALFORMED)
		return err;
	/* A head that does not open is deleted all the same: it is under
	 * this alert's key, and nothing else may stay there. */
	uint8_t k[ALERT_KEY_LEN];
	alert_key(s, id, k);
	return store__map_err(del_key(txn, s->alerts, k, sizeof k, &c->alerts),
			      "delete alert");
}

/* The alerts a record raised: ids seq | 0..255. */
static ug_err
del_raised(store *s, MDB_txn *txn, uint64_t seq, store_purge_counts *c)
{
	uint8_t id[STORE_ALERT_ID_LEN];
	ug_put_be64(id, seq);
	ug_err err = UG_OK;
	for (int r = 0; err == UG_OK && r < RULE_SLOTS; r++) {
		id[8] = (uint8_t)r;
		err = del_alert(s, txn, id, c);
	}
	return err;
}

static void
palert_key(const store *s, const uint8_t *person_key, const uint8_t *id,
	   uint8_t k[STORE_PERSON_HASH + 8])
{
	store__person_hash(s, TAG_PALERTS, person_key, k);
	store__hash(s, TAG_PALERTS_ID, id, STORE_ALERT_ID_LEN, NULL, 0,
		    k + STORE_PERSON_HASH, 8);
}

/* The record's own entries in log/: the record, its id, and in derived/
 * its person index entry and the person-alert entries of what it raised. */
static int
del_record(store *s, MDB_txn *itxn, MDB_txn *ltxn, MDB_txn *dtxn,
	   const store_purge_item *it, store_purge_counts *c, ug_err *err)
{
	uint8_t seqkey[8], k[STORE_PERSON_HASH + 8];
	ug_put_be64(seqkey, it->seq);
	int rc = del_key(ltxn, s->log, seqkey, 8, &c->records);
	if (rc == 0)
		rc = store__ids_delete(s, itxn, ltxn, it->event_id, &c->ids);
	if (rc == 0 && it->has_person) {
		uint8_t ik[STORE_PERSON_KEY];
		store__person_index_key(s, it->person_key, it->seq, ik);
		rc =
		    del_key(dtxn, s->person, ik, sizeof ik, &c->index_entries);
		uint8_t id[STORE_ALERT_ID_LEN];
		ug_put_be64(id, it->seq);
		for (int r = 0; rc == 0 && r < RULE_SLOTS; r++) {
			id[8] = (uint8_t)r;
			palert_key(s, it->person_key, id, k);
			rc = del_key(dtxn, s->palerts, k, sizeof k,
				     &c->palerts);
		}
	}
	if (rc == 0)
		*err = del_raised(s, ltxn, it->seq, c);
	/* The history routes the person's alerts: an assignment whose
	 * record is gone routes nothing more. */
	if (rc == 0 && *err == UG_OK && it->has_person &&
	    it->assign_caseworker[0])
		*err = store__assign_drop(s, ltxn, it->person_key,
					  it->assign_role, it->assign_from,
					  it->assign_to, it->assign_caseworker,
					  it->assign_back_caseworker,
					  it->assign_back_to, &c->assignments);
	/* So does a desk period: derived/ is rebuilt only from what the log
	 * still holds, and must not route more meanwhile. */
	if (rc == 0 && *err == UG_OK && it->desk[0])
		*err = store__desk_drop(s, dtxn, it->desk, it->desk_member,
					it->desk_from, it->desk_to,
					it->desk_lead);
	return rc;
}

/* Which part of the store a failed step of the purge met the failure
 * in: it writes to log/, ids/ and derived/ at once, and the operator
 * must be told the one setting to raise, not a choice of them. LMDB
 * marks the transaction a write failed in, and refuses any read in it
 * after that. */
static enum store__env
failed_env(store *s, MDB_txn *itxn, MDB_txn *ltxn, MDB_txn *dtxn)
{
	MDB_val k = {1, "?"}, v;
	if (dtxn && mdb_get(dtxn, s->meta, &k, &v) == MDB_BAD_TXN)
		return STORE_ENV_DERIVED;
	if (itxn && mdb_get(itxn, s->ids_meta, &k, &v) == MDB_BAD_TXN)
		return STORE_ENV_IDS;
	if (ltxn && mdb_get(ltxn, s->log_meta, &k, &v) == MDB_BAD_TXN)
		return STORE_ENV_LOG;
	return STORE_ENV_ANY;
}

/* Alerts named in the person's list (raised by any record of theirs,
 * escalation notices included), then the list itself. */
static ug_err
del_person_alerts(store *s, MDB_txn *ltxn, MDB_txn *dtxn,
		  const uint8_t *person_key, store_purge_counts *c)
{
	uint8_t prefix[STORE_PERSON_HASH];
	store__person_hash(s, TAG_PALERTS, person_key, prefix);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(dtxn, s->palerts, &cur);
	MDB_val key = {sizeof prefix, prefix}, val;
	ug_err err = UG_OK;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	/* One of another length does not open and is passed over: it must
	 * not keep the alerts after it from the erasure. */
	while (rc == 0 && err == UG_OK && key.mv_size >= sizeof prefix &&
	       memcmp(key.mv_data, prefix, sizeof prefix) == 0) {
		uint8_t id[STORE_ALERT_ID_LEN];
		if (store__open(s, key.mv_data, key.mv_size, val.mv_data,
				val.mv_size, id, sizeof id) == UG_OK &&
		    val.mv_size == sizeof id + UG_SEAL_OVERHEAD)
			err = del_alert(s, ltxn, id, c);
		else
			store__forged(s, TAG_PALERTS, "palerts");
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	if (cur)
		mdb_cursor_close(cur);
	if (err != UG_OK)
		return err;
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = del_prefix(dtxn, s->palerts, prefix, sizeof prefix,
				&c->palerts);
	return store__env_err(rc, failed_env(s, NULL, ltxn, dtxn),
			      "delete person alerts");
}

/* Timers of this person (person_key) or started by a deleted record. */
static int
del_timers(store *s, MDB_txn *dtxn, const uint8_t *person_key,
	   const store_purge_item *items, size_t n, store_purge_counts *c)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(dtxn, s->timer, &cur);
	MDB_val key, val;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (rc == 0) {
		uint8_t plain[8 + 1 + UG_PERSON_KEY_LEN];
		bool hit = false;
		if (store__open(s, key.mv_data, key.mv_size, val.mv_data,
				val.mv_size, plain, sizeof plain) == UG_OK &&
		    val.mv_size == sizeof plain + UG_SEAL_OVERHEAD) {
			uint64_t seq = ug_get_be64(plain);
			hit = person_key && memcmp(plain + 9, person_key,
						   UG_PERSON_KEY_LEN) == 0;
			for (size_t i = 0; !hit && i < n; i++)
				hit = items[i].seq == seq;
		} else {
			/* Whose it is cannot be told: left for hubd's
			 * timer walk to drop, and reported. */
			store__forged(s, TAG_TIMER, "timer");
		}
		if (hit) {
			rc = mdb_cursor_del(cur, 0);
			if (rc == 0) {
				c->timers++;
				rc = mdb_cursor_get(cur, &key, &val,
						    MDB_GET_CURRENT);
			}
		} else {
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		}
	}
	if (cur)
		mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND || rc == EINVAL ? 0 : rc;
}

static enum store__walk
delete_entry(void *ctx, const MDB_val *key, const MDB_val *val)
{
	(void)key;
	(void)val;
	(*(uint64_t *)ctx)++;
	return STORE_WALK_DELETE;
}

/* Everything derived about the person, and their assignments. */
static ug_err
clear_person(store *s, MDB_txn *ltxn, MDB_txn *dtxn, const uint8_t *pk,
	     store_purge_counts *c)
{
	uint8_t k[STORE_PERSON_HASH];
	ug_err err = del_person_alerts(s, ltxn, dtxn, pk, c);
	int rc = 0;
	if (err == UG_OK)
		rc = store__person_walk(s, dtxn, pk, delete_entry,
					&c->index_entries);
	for (int r = 0; err == UG_OK && rc == 0 && r < RULE_SLOTS; r++) {
		uint8_t rule = (uint8_t)r;
		store__hash(s, TAG_RULE, pk, UG_PERSON_KEY_LEN, &rule, 1, k,
			    16);
		rc = del_key(dtxn, s->rule, k, 16, &c->states);
	}
	for (int role = 0; err == UG_OK && rc == 0 && role < 2; role++) {
		uint8_t r = (uint8_t)role;
		store__hash(s, TAG_ASSIGN, pk, UG_PERSON_KEY_LEN, &r, 1, k,
			    16);
		rc = del_key(ltxn, s->assign, k, 16, &c->assignments);
	}
	if (err == UG_OK && rc == 0)
		rc = del_timers(s, dtxn, pk, NULL, 0, c);
	if (err == UG_OK && rc == 0)
		c->persons_cleared++;
	return err != UG_OK
		   ? err
		   : store__env_err(rc, failed_env(s, NULL, ltxn, dtxn),
				    "clear person");
}

static enum store__walk
found_entry(void *ctx, const MDB_val *key, const MDB_val *val)
{
	(void)key;
	(void)val;
	*(bool *)ctx = true;
	return STORE_WALK_STOP;
}

static bool
has_index_entries(store *s, MDB_txn *dtxn, const uint8_t *pk)
{
	bool any = false;
	/* A failed walk counts as entries found: the person's state stays. */
	return store__person_walk(s, dtxn, pk, found_entry, &any) != 0 || any;
}

/* Keep the highest sequence handed out before any record is deleted. The
 * floor only ever rises: a deletion of the log's newest record after an
 * earlier one took the number above it (erase B, then erase A) must not
 * lower it to A's, or the next append reuses a number already applied.
 * Every record deleted here is in the log now, so its sequence is at most
 * the log's last; items already gone were covered when they were deleted.
 * Written on every purge that finds the log above the floor, not only when
 * the newest record is among the items, so the floor does not depend on
 * what the caller passes. */
static int
keep_seq_floor(store *s, MDB_txn *ltxn)
{
	MDB_cursor *cur = NULL;
	MDB_val key;
	int rc = mdb_cursor_open(ltxn, s->log, &cur);
	if (rc == 0)
		rc = store__log_last_key(s, cur, &key);
	if (cur)
		mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	uint64_t last = ug_get_be64(key.mv_data);
	MDB_val fk = {9, "seq_floor"}, fv;
	rc = mdb_get(ltxn, s->log_meta, &fk, &fv);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == 0 && fv.mv_size == 8 && ug_get_be64(fv.mv_data) >= last)
		return 0;
	uint8_t v[8];
	ug_put_be64(v, last);
	fv = (MDB_val){8, v};
	return mdb_put(ltxn, s->log_meta, &fk, &fv, 0);
}

/* The purge's number, one past the log's last, in both metas: see
 * purge_settled (store_derived.c), which waits for the log's commit. */
static int
number_purge(store *s, MDB_txn *ltxn, MDB_txn *dtxn)
{
	MDB_val key = {9, "purge_gen"}, val;
	int rc = mdb_get(ltxn, s->log_meta, &key, &val);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	uint64_t gen =
	    rc == 0 && val.mv_size == 8 ? ug_get_be64(val.mv_data) : 0;
	uint8_t v[8];
	ug_put_be64(v, gen + 1);
	val = (MDB_val){8, v};
	rc = mdb_put(ltxn, s->log_meta, &key, &val, 0);
	if (rc == 0) {
		val = (MDB_val){8, v};
		rc = mdb_put(dtxn, s->meta, &key, &val, 0);
	}
	return rc;
}

static ug_err
purge_in(store *s, MDB_txn *itxn, MDB_txn *ltxn, MDB_txn *dtxn,
	 const store_purge_item *items, size_t n, const uint8_t *erase_person,
	 store_purge_counts *c)
{
	ug_err err = UG_OK;
	int rc = n ? keep_seq_floor(s, ltxn) : 0;
	if (rc == 0)
		rc = number_purge(s, ltxn, dtxn);
	for (size_t i = 0; rc == 0 && err == UG_OK && i < n; i++)
		rc = del_record(s, itxn, ltxn, dtxn, &items[i], c, &err);
	if (rc == 0 && err == UG_OK && n)
		rc = del_timers(s, dtxn, NULL, items, n, c);
	if (rc != 0)
		return store__env_err(rc, failed_env(s, itxn, ltxn, dtxn),
				      "purge");
	if (err == UG_OK && erase_person)
		err = clear_person(s, ltxn, dtxn, erase_person, c);
	/* A person none of whose records remain keeps no state either. */
	for (size_t i = 0; err == UG_OK && i < n; i++) {
		const uint8_t *pk = items[i].person_key;
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = items[j].has_person &&
			       memcmp(items[j].person_key, pk,
				      UG_PERSON_KEY_LEN) == 0;
		if (items[i].has_person && !seen &&
		    !(erase_person &&
		      memcmp(erase_person, pk, UG_PERSON_KEY_LEN) == 0) &&
		    !has_index_entries(s, dtxn, pk))
			err = clear_person(s, ltxn, dtxn, pk, c);
	}
	return err;
}

ug_err
store_purge(store *s, const store_purge_item *items, size_t n,
	    const uint8_t *erase_person, store_purge_counts *out)
{
	return store_purge_audited(s, items, n, erase_person, out, NULL, NULL);
}

ug_err
store_purge_audited(store *s, const store_purge_item *items, size_t n,
		    const uint8_t *erase_person, store_purge_counts *out,
		    store_purge_audit_fn audit, void *ctx)
{
	memset(out, 0, sizeof *out);
	MDB_env *envs[] = {s->derived_env, s->ids_env, s->log_env};
	MDB_txn *txns[3];
	int rc = store__begin_each(envs, txns, 3, 0);
	if (rc != 0)
		return store__map_err(rc, "begin purge");
	MDB_txn *dtxn = txns[0], *itxn = txns[1], *ltxn = txns[2];
	ug_err err =
	    purge_in(s, itxn, ltxn, dtxn, items, n, erase_person, out);
	/* The records of the deletion commit with it: once a record is gone
	 * no later run finds it again to record. */
	store__audit_pending signed_at = {0};
	const store_audit_entry *e = NULL;
	size_t ne = 0;
	if (err == UG_OK && audit)
		err = audit(ctx, out, &e, &ne);
	if (err == UG_OK)
		err =
		    store__map_err(store__audit_in(s, ltxn, e, ne, &signed_at),
				   "audit purge");
	if (err != UG_OK) {
		mdb_txn_abort(ltxn);
		mdb_txn_abort(itxn);
		mdb_txn_abort(dtxn);
		store__audit_done(&signed_at, false);
		return err;
	}
	/* derived/ first, synced, then the log: a crash after the log's
	 * commit could not be mended, as no later run finds the records
	 * again to delete what derived/ still holds of them (a person's
	 * index, profile and timers past their retention). A crash, or a
	 * failed log commit, after derived/'s leaves the records in the log
	 * with their derived entries gone: the next turn, or the erasure run
	 * again, finds them and deletes them whole, what derived/ lacks
	 * skipped. */
	rc = mdb_txn_commit(dtxn);
	if (rc == 0)
		rc = mdb_env_sync(s->derived_env, 1);
	if (rc != 0) {
		mdb_txn_abort(ltxn);
		mdb_txn_abort(itxn);
		store__audit_done(&signed_at, false);
		return store__env_err(rc, STORE_ENV_DERIVED,
				      "commit purge (derived)");
	}
	store__env_wrote(STORE_ENV_DERIVED);
	rc = mdb_txn_commit(ltxn);
	store__audit_done(&signed_at, rc == 0);
	if (rc != 0) {
		mdb_txn_abort(itxn);
		return store__map_err(rc, "commit purge");
	}
	store__unqueued(s);
	store__env_wrote(STORE_ENV_LOG);
	/* ids/ commits without fsync; what was deleted there must not come
	 * back after a crash. An ids entry left behind names a record that
	 * is gone, and counts as absent (store__log_holds) until ids/ is
	 * next rebuilt. */
	rc = mdb_txn_commit(itxn);
	if (rc == 0)
		rc = mdb_env_sync(s->ids_env, 1);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_IDS, "commit purge (ids)");
	store__env_wrote(STORE_ENV_IDS);
	store__env_wrote(STORE_ENV_ANY);
	return UG_OK;
}

ug_err
store_alerts_raised(store *s, uint64_t seq, store_id_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	uint8_t found[RULE_SLOTS][STORE_ALERT_ID_LEN];
	size_t n = 0;
	uint8_t id[STORE_ALERT_ID_LEN], k[ALERT_KEY_LEN];
	ug_put_be64(id, seq);
	for (int r = 0; rc == 0 && r < RULE_SLOTS; r++) {
		id[8] = (uint8_t)r;
		alert_key(s, id, k);
		MDB_val key = {sizeof k, k}, val;
		rc = mdb_get(txn, s->alerts, &key, &val);
		if (rc == 0)
			memcpy(found[n++], id, sizeof id);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	mdb_txn_abort(txn);
	ug_err err = store__map_err(rc, "alerts raised");
	/* Called after the read txn: fn may read the store itself. */
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = fn(ctx, found[i]);
	return err;
}
