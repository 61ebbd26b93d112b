/*
 * Principals: the keys admitted on the hub's endpoints, and the generation
 * counter that tells a running hubd that a registration changed. hubctl
 * writes from its own process; hubd reads the generation once per loop
 * turn, so a revoked key or narrowed permission takes effect on the next
 * frame without a restart.
 *
 * A registration grants access, so both of its records are sealed with the
 * storage key, bound to their key as additional data, and must agree: a
 * record written without the key, copied under another key, or pointing
 * at a registration that does not point back, is refused and reported
 * (STORE-FORGED), never admitted. H is store__hash.
 *
 *   principal     H(public_z85)[16] -> sealed(kind | flags BE32 | idlen |
 *                 id padded to 63)
 *   principal_id  H(kind | id)[16] -> sealed(public_z85[40] | kind | idlen
 *                 | id padded to 63)
 *   principal_id  0x00 | "generation" -> BE64 (no hash is 11 bytes long)
 */
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"
#include "store/store_password.h"

#define PKEY_LEN	   16
#define Z85_LEN		   40
#define PRINCIPAL_PLAIN	   (1 + 4 + 1 + STORE_ID_MAX - 1)
#define PRINCIPAL_ID_PLAIN (Z85_LEN + 1 + 1 + STORE_ID_MAX - 1)

static const uint8_t generation_key[] = "\0generation";

ug_err
store__principal_bump_generation(store *s, MDB_txn *txn)
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

static void
key_of(const store *s, const char *public_z85, uint8_t out[PKEY_LEN])
{
	store__hash(s, TAG_PRINCIPAL, public_z85, Z85_LEN, NULL, 0, out,
		    PKEY_LEN);
}

static void
id_key(const store *s, int kind, const char *id, uint8_t out[PKEY_LEN])
{
	uint8_t k = (uint8_t)kind;
	store__hash(s, TAG_PRINCIPAL_ID, &k, 1, id, strlen(id), out, PKEY_LEN);
}

/* The registration an id holds: its key, from principal_id. 0 with
 * *found false if there is none or it does not open (reported). */
static int
read_id(store *s, MDB_txn *txn, int kind, const char *id,
	char public_z85[Z85_LEN + 1], bool *found)
{
	*found = false;
	uint8_t k[PKEY_LEN], plain[PRINCIPAL_ID_PLAIN];
	id_key(s, kind, id, k);
	MDB_val key = {PKEY_LEN, k}, val;
	int rc = mdb_get(txn, s->principal_id, &key, &val);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	size_t idlen = strlen(id);
	if (store__open(s, k, PKEY_LEN, val.mv_data, val.mv_size, plain,
			sizeof plain) != UG_OK ||
	    val.mv_size != PRINCIPAL_ID_PLAIN + UG_SEAL_OVERHEAD ||
	    plain[Z85_LEN] != kind || plain[Z85_LEN + 1] != idlen ||
	    memcmp(plain + Z85_LEN + 2, id, idlen) != 0) {
		store__forged(s, TAG_PRINCIPAL_ID, "principal_id");
		return 0;
	}
	memcpy(public_z85, plain, Z85_LEN);
	public_z85[Z85_LEN] = '\0';
	*found = true;
	return 0;
}

/* The registration a key holds, from principal: kind, flags, id. */
static int
read_key(store *s, MDB_txn *txn, const char *public_z85, int *kind,
	 char id[STORE_ID_MAX], uint32_t *flags, bool *found)
{
	*found = false;
	uint8_t k[PKEY_LEN], plain[PRINCIPAL_PLAIN];
	key_of(s, public_z85, k);
	MDB_val key = {PKEY_LEN, k}, val;
	int rc = mdb_get(txn, s->principal, &key, &val);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? 0 : rc;
	if (store__open(s, k, PKEY_LEN, val.mv_data, val.mv_size, plain,
			sizeof plain) != UG_OK ||
	    val.mv_size != PRINCIPAL_PLAIN + UG_SEAL_OVERHEAD ||
	    plain[5] == 0 || plain[5] >= STORE_ID_MAX) {
		store__forged(s, TAG_PRINCIPAL, "principal");
		return 0;
	}
	*kind = plain[0];
	*flags = ug_get_be32(plain + 1);
	memcpy(id, plain + 6, plain[5]);
	id[plain[5]] = '\0';
	*found = true;
	return 0;
}

/* Drop the id's current key, if any: re-registering or revoking. */
static int
drop_key(store *s, MDB_txn *txn, int kind, const char *id)
{
	char old[Z85_LEN + 1];
	bool found;
	int rc = read_id(s, txn, kind, id, old, &found);
	if (rc != 0 || !found)
		return rc;
	uint8_t k[PKEY_LEN];
	key_of(s, old, k);
	MDB_val key = {PKEY_LEN, k};
	rc = mdb_del(txn, s->principal, &key, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static ug_err find_in(store *s, MDB_txn *txn, const char *public_z85,
		      int *kind, char id[STORE_ID_MAX], uint32_t *flags);

ug_err
store_principal_put(store *s, int kind, const char *id, const char *public_z85,
		    uint32_t flags, ug_diag *diag)
{
	return store_principal_put_audited(s, kind, id, public_z85, flags,
					   NULL, diag);
}

ug_err
store_principal_put_audited(store *s, int kind, const char *id,
			    const char *public_z85, uint32_t flags,
			    const store_audit_entry *audit, ug_diag *diag)
{
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= STORE_ID_MAX ||
	    strlen(public_z85) != Z85_LEN ||
	    (kind != STORE_AGENCY && kind != STORE_CASEWORKER)) {
		ug_diag_set(diag, "id",
			    "an id of 1-%d bytes, a %d-character "
			    "Z85 key and a known kind are needed",
			    STORE_ID_MAX - 1, Z85_LEN);
		return UG_EINVAL;
	}
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin register");
	/* One key, one identity: ZAP names a connection by the key's single
	 * registration, so a second id put on a held key would silently take
	 * over whoever holds it, and their acts would be audited under the
	 * new id. Checked in the writing transaction, so two hubctl runs
	 * cannot both pass it. */
	int held_kind;
	char held[STORE_ID_MAX];
	uint32_t held_flags;
	ug_err held_err =
	    find_in(s, txn, public_z85, &held_kind, held, &held_flags);
	if (held_err == UG_OK &&
	    (held_kind != kind || strcmp(held, id) != 0)) {
		ug_diag_set(diag, "key",
			    "the key is already registered to %s %s",
			    held_kind == STORE_AGENCY	      ? "agency"
			    : held_flags & STORE_FLAG_GATEWAY ? "gateway"
							      : "caseworker",
			    held);
		mdb_txn_abort(txn);
		return UG_EEXISTS;
	}
	if (held_err != UG_OK && held_err != UG_ENOTFOUND) {
		mdb_txn_abort(txn);
		return held_err;
	}
	/* The same id, key and flags written again change nothing a
	 * running hubd must look at again (and log as a change). */
	bool unchanged = held_err == UG_OK && held_flags == flags;
	/* A re-registration with a new key revokes the old key. */
	rc = drop_key(s, txn, kind, id);
	uint8_t pk[PKEY_LEN], ik[PKEY_LEN];
	uint8_t rec[PRINCIPAL_PLAIN] = {0}, idrec[PRINCIPAL_ID_PLAIN] = {0};
	uint8_t sealed[PRINCIPAL_ID_PLAIN + UG_SEAL_OVERHEAD];
	key_of(s, public_z85, pk);
	id_key(s, kind, id, ik);
	rec[0] = (uint8_t)kind;
	ug_put_be32(rec + 1, flags);
	rec[5] = (uint8_t)idlen;
	memcpy(rec + 6, id, idlen);
	store__seal(s, pk, PKEY_LEN, rec, sizeof rec, sealed);
	MDB_val key = {PKEY_LEN, pk};
	MDB_val val = {sizeof rec + UG_SEAL_OVERHEAD, sealed};
	if (rc == 0)
		rc = mdb_put(txn, s->principal, &key, &val, 0);
	memcpy(idrec, public_z85, Z85_LEN);
	idrec[Z85_LEN] = (uint8_t)kind;
	idrec[Z85_LEN + 1] = (uint8_t)idlen;
	memcpy(idrec + Z85_LEN + 2, id, idlen);
	store__seal(s, ik, PKEY_LEN, idrec, sizeof idrec, sealed);
	key = (MDB_val){PKEY_LEN, ik};
	val = (MDB_val){sizeof sealed, sealed};
	if (rc == 0)
		rc = mdb_put(txn, s->principal_id, &key, &val, 0);
	ug_err err = store__map_err(rc, "register");
	if (err == UG_OK && !unchanged)
		err = store__principal_bump_generation(s, txn);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__commit_audited(s, txn, audit, "commit register");
}

ug_err
store_principal_revoke(store *s, int kind, const char *id)
{
	return store_principal_revoke_audited(s, kind, id, NULL);
}

ug_err
store_principal_revoke_audited(store *s, int kind, const char *id,
			       const store_audit_entry *audit)
{
	size_t idlen = strlen(id);
	if (idlen == 0 || idlen >= STORE_ID_MAX)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin revoke");
	uint8_t ik[PKEY_LEN];
	id_key(s, kind, id, ik);
	MDB_val key = {PKEY_LEN, ik}, val;
	rc = mdb_get(txn, s->principal_id, &key, &val);
	if (rc == 0)
		rc = drop_key(s, txn, kind, id);
	if (rc == 0)
		rc = mdb_del(txn, s->principal_id, &key, NULL);
	if (rc == 0 && kind == STORE_CASEWORKER)
		rc = store__web_access_drop_in(s, txn, id);
	ug_err err = store__map_err(rc, "revoke");
	if (err == UG_OK)
		err = store__principal_bump_generation(s, txn);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__commit_audited(s, txn, audit, "commit revoke");
}

/* The key's registration, only if the id's registration names this key
 * back: one record alone, forged or left over, admits nobody. */
static ug_err
find_in(store *s, MDB_txn *txn, const char *public_z85, int *kind,
	char id[STORE_ID_MAX], uint32_t *flags)
{
	bool found;
	char back[Z85_LEN + 1];
	int rc = read_key(s, txn, public_z85, kind, id, flags, &found);
	if (rc != 0)
		return store__map_err(rc, "find principal");
	if (!found)
		return UG_ENOTFOUND;
	rc = read_id(s, txn, *kind, id, back, &found);
	if (rc != 0)
		return store__map_err(rc, "find principal");
	if (!found || strcmp(back, public_z85) != 0) {
		store__forged(s, TAG_PRINCIPAL, "principal");
		return UG_ENOTFOUND;
	}
	return UG_OK;
}

ug_err
store_principal_find(store *s, const char *public_z85, int *kind,
		     char id[STORE_ID_MAX], uint32_t *flags)
{
	if (strlen(public_z85) != Z85_LEN)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	ug_err err = find_in(s, txn, public_z85, kind, id, flags);
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
	bool found;
	char z85[Z85_LEN + 1], held[STORE_ID_MAX];
	int held_kind;
	rc = read_id(s, txn, kind, id, z85, &found);
	ug_err err = store__map_err(rc, "principal");
	if (err == UG_OK && !found)
		err = UG_ENOTFOUND;
	if (err == UG_OK)
		err = find_in(s, txn, z85, &held_kind, held, flags);
	if (err == UG_OK && (held_kind != kind || strcmp(held, id) != 0)) {
		store__forged(s, TAG_PRINCIPAL, "principal");
		err = UG_ENOTFOUND;
	}
	if (err == UG_OK)
		memcpy(public_z85, z85, Z85_LEN + 1);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_principal_flags(store *s, int kind, const char *id, uint32_t *flags)
{
	char ignored[41];
	return store_principal_current(s, kind, id, ignored, flags);
}

ug_err
store_principal_list(store *s, int kind, store_principal_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc == 0)
		rc = mdb_cursor_open(txn, s->principal_id, &cur);
	ug_err err = store__map_err(rc, "list principals");
	MDB_val key, val;
	int op = MDB_FIRST;
	while (err == UG_OK &&
	       (rc = mdb_cursor_get(cur, &key, &val, op)) == 0) {
		op = MDB_NEXT;
		uint8_t plain[PRINCIPAL_ID_PLAIN];
		/* The generation record is the one key not PKEY_LEN long. */
		if (key.mv_size == sizeof generation_key - 1 &&
		    memcmp(key.mv_data, generation_key, key.mv_size) == 0)
			continue;
		/* Any other that does not open is forged, reported as a
		 * lookup reports it; another kind's is no concern here. */
		if (key.mv_size != PKEY_LEN ||
		    val.mv_size != PRINCIPAL_ID_PLAIN + UG_SEAL_OVERHEAD ||
		    store__open(s, key.mv_data, PKEY_LEN, val.mv_data,
				val.mv_size, plain, sizeof plain) != UG_OK ||
		    plain[Z85_LEN + 1] == 0 ||
		    plain[Z85_LEN + 1] >= STORE_ID_MAX) {
			store__forged(s, TAG_PRINCIPAL_ID, "principal_id");
			continue;
		}
		if (plain[Z85_LEN] != kind)
			continue;
		char z85[Z85_LEN + 1], id[STORE_ID_MAX], held[STORE_ID_MAX];
		memcpy(z85, plain, Z85_LEN);
		z85[Z85_LEN] = '\0';
		memcpy(id, plain + Z85_LEN + 2, plain[Z85_LEN + 1]);
		id[plain[Z85_LEN + 1]] = '\0';
		int held_kind;
		uint32_t flags;
		/* Listed only when both records agree, as for a lookup. */
		if (find_in(s, txn, z85, &held_kind, held, &flags) != UG_OK ||
		    held_kind != kind || strcmp(held, id) != 0)
			continue;
		err = fn(ctx, id, flags);
	}
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "list principals");
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return err;
}
