/*
 * Principals: the keys admitted on the hub's endpoints, and the generation
 * counter that tells a running hubd that a registration changed. hubctl
 * writes from its own process; hubd reads the generation once per loop
 * turn, so a revoked key or narrowed permission takes effect on the next
 * frame without a restart.
 *
 *   principal     public_z85[40] -> kind | flags BE32 | id
 *   principal_id  kind | id -> public_z85
 *   principal_id  0x00 | "generation" -> BE64 (no principal has kind 0)
 */
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

static const uint8_t generation_key[] = "\0generation";

static ug_err
bump_generation(store *s, MDB_txn *txn)
{
	MDB_val key = {sizeof generation_key - 1, (void *)generation_key}, val;
	uint64_t gen = 0;
	int rc = mdb_get(txn, s->principal_id, &key, &val);
	if (rc == 0 && val.mv_size == 8)
		gen = ug_get_be64(val.mv_data);
	else if (rc != 0 && rc != MDB_NOTFOUND)
		return store__map_err(rc, "read registration generation");
	uint8_t buf[8];
	ug_put_be64(buf, gen + 1);
	MDB_val nv = {8, buf};
	return store__map_err(mdb_put(txn, s->principal_id, &key, &nv, 0),
			      "bump registration generation");
}

ug_err
store_principal_generation(store *s, uint64_t *gen)
{
	*gen = 0;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {sizeof generation_key - 1, (void *)generation_key}, val;
	rc = mdb_get(txn, s->principal_id, &key, &val);
	if (rc == 0 && val.mv_size == 8)
		*gen = ug_get_be64(val.mv_data);
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND
		   ? UG_OK
		   : store__map_err(rc, "generation");
}

static size_t
id_key(uint8_t *out, int kind, const char *id, size_t idlen)
{
	out[0] = (uint8_t)kind;
	memcpy(out + 1, id, idlen);
	return 1 + idlen;
}

/* Drop the id's current key, if any: re-registering or revoking. */
static int
drop_key(store *s, MDB_txn *txn, MDB_val *ik)
{
	MDB_val iv;
	int rc = mdb_get(txn, s->principal_id, ik, &iv);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	MDB_val old = {iv.mv_size, iv.mv_data};
	rc = mdb_del(txn, s->principal, &old, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

ug_err
store_principal_put(store *s, int kind, const char *id, const char *public_z85,
		    uint32_t flags)
{
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= STORE_ID_MAX || strlen(public_z85) != 40 ||
	    (kind != STORE_AGENCY && kind != STORE_CASEWORKER))
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin register");
	uint8_t idkey[1 + STORE_ID_MAX];
	MDB_val ik = {id_key(idkey, kind, id, idlen), idkey};
	/* A re-registration with a new key revokes the old key. */
	rc = drop_key(s, txn, &ik);
	uint8_t rec[5 + STORE_ID_MAX];
	rec[0] = (uint8_t)kind;
	ug_put_be32(rec + 1, flags);
	memcpy(rec + 5, id, idlen);
	MDB_val pk = {40, (void *)public_z85}, pv = {5 + idlen, rec};
	if (rc == 0)
		rc = mdb_put(txn, s->principal, &pk, &pv, 0);
	MDB_val nv = {40, (void *)public_z85};
	if (rc == 0)
		rc = mdb_put(txn, s->principal_id, &ik, &nv, 0);
	ug_err err = store__map_err(rc, "register");
	if (err == UG_OK)
		err = bump_generation(s, txn);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__map_err(mdb_txn_commit(txn), "commit register");
}

ug_err
store_principal_revoke(store *s, int kind, const char *id)
{
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= STORE_ID_MAX)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin revoke");
	uint8_t idkey[1 + STORE_ID_MAX];
	MDB_val ik = {id_key(idkey, kind, id, idlen), idkey}, iv;
	rc = mdb_get(txn, s->principal_id, &ik, &iv);
	if (rc == 0)
		rc = drop_key(s, txn, &ik);
	if (rc == 0)
		rc = mdb_del(txn, s->principal_id, &ik, NULL);
	ug_err err = store__map_err(rc, "revoke");
	if (err == UG_OK)
		err = bump_generation(s, txn);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__map_err(mdb_txn_commit(txn), "commit revoke");
}

static ug_err
decode_principal(const MDB_val *v, int *kind, char id[STORE_ID_MAX],
		 uint32_t *flags)
{
	const uint8_t *rec = v->mv_data;
	if (v->mv_size < 6 || v->mv_size - 5 >= STORE_ID_MAX)
		return UG_EMALFORMED;
	*kind = rec[0];
	*flags = ug_get_be32(rec + 1);
	memcpy(id, rec + 5, v->mv_size - 5);
	id[v->mv_size - 5] = '\0';
	return UG_OK;
}

ug_err
store_principal_find(store *s, const char *public_z85, int *kind,
		     char id[STORE_ID_MAX], uint32_t *flags)
{
	if (strlen(public_z85) != 40)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {40, (void *)public_z85}, val;
	rc = mdb_get(txn, s->principal, &key, &val);
	ug_err err = store__map_err(rc, "find principal");
	if (err == UG_OK)
		err = decode_principal(&val, kind, id, flags);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_principal_current(store *s, int kind, const char *id,
			char public_z85[41], uint32_t *flags)
{
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= STORE_ID_MAX)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	uint8_t idkey[1 + STORE_ID_MAX];
	MDB_val ik = {id_key(idkey, kind, id, idlen), idkey}, iv, pv;
	rc = mdb_get(txn, s->principal_id, &ik, &iv);
	if (rc == 0 && iv.mv_size != 40)
		rc = MDB_CORRUPTED;
	if (rc == 0)
		rc = mdb_get(txn, s->principal, &iv, &pv);
	ug_err err = store__map_err(rc, "principal");
	if (err == UG_OK) {
		int k;
		char ignored[STORE_ID_MAX];
		err = decode_principal(&pv, &k, ignored, flags);
		memcpy(public_z85, iv.mv_data, 40);
		public_z85[40] = '\0';
	}
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_principal_flags(store *s, int kind, const char *id, uint32_t *flags)
{
	char ignored[41];
	return store_principal_current(s, kind, id, ignored, flags);
}
