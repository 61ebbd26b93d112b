/*
 * Outbox on LMDB; see outbox.h. Two databases:
 *   pending  event_id[16] -> queued_at BE64 | sealed(frame)
 *            (the id is the sealing's additional data)
 *   sent     event_id[16] -> ""
 */
#include "store/outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

#define OUTBOX_FRAME_MAX (128 * 1024)

struct outbox {
	MDB_env *env;
	MDB_dbi pending, sent;
	const uint8_t *storage_key;
	uint8_t *scratch;
};

ug_err
outbox_open(outbox **out, const char *dir, const uint8_t *storage_key,
            size_t map_mb, ug_diag *diag)
{
	outbox *ob = calloc(1, sizeof *ob);
	if (!ob)
		return UG_ENOMEM;
	ob->storage_key = storage_key;
	ob->scratch = malloc(OUTBOX_FRAME_MAX + UG_SEAL_OVERHEAD);
	ug_err err = ob->scratch ? UG_OK : UG_ENOMEM;
	if (err == UG_OK)
		err = store__env_open(&ob->env, dir, map_mb ? map_mb : 4096, 4,
		                      0, diag);
	if (err != UG_OK) {
		outbox_close(&ob);
		return err;
	}
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "pending", MDB_CREATE, &ob->pending);
	if (rc == 0)
		rc = mdb_dbi_open(txn, "sent", MDB_CREATE, &ob->sent);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc != 0) {
		ug_diag_set(diag, dir, "cannot open outbox: %s",
		            mdb_strerror(rc));
		outbox_close(&ob);
		return store__map_err(rc, "open outbox");
	}
	*out = ob;
	return UG_OK;
}

void
outbox_close(outbox **obp)
{
	if (!obp || !*obp)
		return;
	if ((*obp)->env)
		mdb_env_close((*obp)->env);
	free((*obp)->scratch);
	free(*obp);
	*obp = NULL;
}

ug_err
outbox_put(outbox *ob, outbox_item *items, size_t n, int64_t queued_at)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		outbox_item *it = &items[i];
		it->added = OUTBOX_SENT;
		if (it->len > OUTBOX_FRAME_MAX) {
			rc = EINVAL;
			break;
		}
		MDB_val key = {OUTBOX_ID_LEN, (void *)it->id}, val;
		rc = mdb_get(txn, ob->sent, &key, &val);
		if (rc == 0)
			continue;
		if (rc != MDB_NOTFOUND)
			break;
		val.mv_size = 8 + it->len + UG_SEAL_OVERHEAD;
		rc = mdb_put(txn, ob->pending, &key, &val,
		             MDB_NOOVERWRITE | MDB_RESERVE);
		if (rc == MDB_KEYEXIST) {
			/* val now holds the stored record. */
			it->added = OUTBOX_PENDING;
			it->queued_at = val.mv_size >= 8
			                        ? (int64_t)ug_get_be64(val.mv_data)
			                        : 0;
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		ug_put_be64(val.mv_data, (uint64_t)queued_at);
		ug_seal(ob->storage_key, it->id, OUTBOX_ID_LEN, it->frame,
		        it->len, (uint8_t *)val.mv_data + 8);
		it->added = OUTBOX_ADDED;
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == EINVAL ? UG_EINVAL : store__map_err(rc, "outbox put");
	}
	return store__map_err(mdb_txn_commit(txn), "outbox commit");
}

ug_err
outbox_scan(outbox *ob, const uint8_t *after, size_t max, outbox_fn fn,
            void *ctx)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return store__map_err(rc, "outbox scan");
	MDB_cursor *cur;
	rc = mdb_cursor_open(txn, ob->pending, &cur);
	MDB_val key, val;
	if (rc == 0 && after) {
		key.mv_size = OUTBOX_ID_LEN;
		key.mv_data = (void *)after;
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		if (rc == 0 && memcmp(key.mv_data, after, OUTBOX_ID_LEN) == 0)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	} else if (rc == 0) {
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	}
	ug_err err = UG_OK;
	for (size_t i = 0; rc == 0 && err == UG_OK && i < max; i++) {
		if (key.mv_size != OUTBOX_ID_LEN ||
		    val.mv_size < 8 + UG_SEAL_OVERHEAD ||
		    val.mv_size > 8 + OUTBOX_FRAME_MAX + UG_SEAL_OVERHEAD ||
		    ug_seal_open(ob->storage_key, key.mv_data, OUTBOX_ID_LEN,
		                 (uint8_t *)val.mv_data + 8, val.mv_size - 8,
		                 ob->scratch) != UG_OK) {
			log_err("OUTBOX-SEAL", "an outbox record does not open "
			        "with this adapter's storage key");
			err = UG_EMALFORMED;
			break;
		}
		err = fn(ctx, key.mv_data, ob->scratch,
		         val.mv_size - 8 - UG_SEAL_OVERHEAD);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "outbox scan");
	return err;
}

ug_err
outbox_done(outbox *ob, const uint8_t (*ids)[OUTBOX_ID_LEN], size_t n,
            const bool *rejected)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		MDB_val key = {OUTBOX_ID_LEN, (void *)ids[i]}, empty = {0, ""};
		rc = mdb_del(txn, ob->pending, &key, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0 && !(rejected && rejected[i]))
			rc = mdb_put(txn, ob->sent, &key, &empty, 0);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "outbox done");
	}
	return store__map_err(mdb_txn_commit(txn), "outbox done commit");
}

ug_err
outbox_counts(outbox *ob, size_t *pending, size_t *sent)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(ob->env, NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		return store__map_err(rc, "outbox counts");
	MDB_stat st;
	*pending = mdb_stat(txn, ob->pending, &st) == 0 ? st.ms_entries : 0;
	*sent = mdb_stat(txn, ob->sent, &st) == 0 ? st.ms_entries : 0;
	mdb_txn_abort(txn);
	return UG_OK;
}
