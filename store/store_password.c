/*
 * Caseworkers' password hashes for the web inbox, in log/password. A
 * record is sealed with the storage key and bound to its LMDB key, like a
 * registration: a hash written without the key, or copied to another
 * caseworker's slot, does not open and so logs nobody in. The key is a
 * keyed hash of the caseworker id (the file does not list who has a
 * password).
 *
 *   password  H("\xffpassword" | id)[16] -> sealed(set_at BE64 | idlen |
 *             id padded to 63 | hash padded to 128)
 */
#include <sodium.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_password.h"

#define PW_KEY_LEN 16
#define PW_PLAIN (8 + 1 + STORE_ID_MAX - 1 + STORE_PASSWORD_HASH_MAX)

static ug_err
key_of(const store *s, const char *caseworker, uint8_t out[PW_KEY_LEN])
{
	size_t len = strlen(caseworker);
	if (len == 0 || len >= STORE_ID_MAX)
		return UG_EINVAL;
	/* Under the principal-id tag with a prefix no kind byte takes: a
	 * password key never equals a registration's. */
	static const char prefix[] = "\xffpassword";
	store__hash(s, TAG_PRINCIPAL_ID, prefix, sizeof prefix - 1, caseworker,
	            len, out, PW_KEY_LEN);
	return UG_OK;
}

ug_err
store_password_put(store *s, const char *caseworker, const char *hash,
                   int64_t set_at)
{
	uint8_t k[PW_KEY_LEN];
	size_t hlen = strlen(hash);
	if (key_of(s, caseworker, k) != UG_OK || hlen == 0 ||
	    hlen >= STORE_PASSWORD_HASH_MAX)
		return UG_EINVAL;
	uint8_t plain[PW_PLAIN] = {0}, sealed[PW_PLAIN + UG_SEAL_OVERHEAD];
	size_t idlen = strlen(caseworker);
	ug_put_be64(plain, (uint64_t)set_at);
	plain[8] = (uint8_t)idlen;
	memcpy(plain + 9, caseworker, idlen);
	memcpy(plain + 9 + STORE_ID_MAX - 1, hash, hlen);
	store__seal(s, k, PW_KEY_LEN, plain, sizeof plain, sealed);
	sodium_memzero(plain, sizeof plain);
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin set password");
	MDB_val key = {PW_KEY_LEN, k}, val = {sizeof sealed, sealed};
	rc = mdb_put(txn, s->password, &key, &val, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "set password");
	}
	return store__map_err(mdb_txn_commit(txn), "commit set password");
}

ug_err
store_password_get(store *s, const char *caseworker,
                   char hash[STORE_PASSWORD_HASH_MAX], int64_t *set_at)
{
	uint8_t k[PW_KEY_LEN];
	if (key_of(s, caseworker, k) != UG_OK)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {PW_KEY_LEN, k}, val;
	rc = mdb_get(txn, s->password, &key, &val);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? UG_ENOTFOUND
		                          : store__map_err(rc, "read password");
	}
	uint8_t plain[PW_PLAIN];
	size_t idlen = strlen(caseworker);
	ug_err err = UG_OK;
	if (val.mv_size != PW_PLAIN + UG_SEAL_OVERHEAD ||
	    store__open(s, k, PW_KEY_LEN, val.mv_data, val.mv_size, plain,
	                sizeof plain) != UG_OK ||
	    plain[8] != idlen || memcmp(plain + 9, caseworker, idlen) != 0 ||
	    plain[PW_PLAIN - 1] != 0) {
		store__forged(s, TAG_PRINCIPAL_ID, "password");
		err = UG_ENOTFOUND;
	} else {
		*set_at = (int64_t)ug_get_be64(plain);
		memcpy(hash, plain + 9 + STORE_ID_MAX - 1,
		       STORE_PASSWORD_HASH_MAX);
	}
	sodium_memzero(plain, sizeof plain);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_password_delete(store *s, const char *caseworker)
{
	uint8_t k[PW_KEY_LEN];
	if (key_of(s, caseworker, k) != UG_OK)
		return UG_ENOTFOUND;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin delete password");
	MDB_val key = {PW_KEY_LEN, k};
	rc = mdb_del(txn, s->password, &key, NULL);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? UG_ENOTFOUND
		                          : store__map_err(rc, "delete password");
	}
	return store__map_err(mdb_txn_commit(txn), "commit delete password");
}
