/*
 * Caseworkers' password hashes and notice addresses for the web inbox, in
 * log/password. A record is sealed with the storage key and bound to its
 * LMDB key, like a registration: a hash written without the key, or
 * copied to another caseworker's slot, does not open and so logs nobody
 * in (nor mails anyone). The key is a keyed hash of the caseworker id
 * (the file does not list who has a password or an address).
 *
 *   password  H("\xffpassword" | id)[16] -> sealed(set_at BE64 | idlen |
 *             id padded to 63 | hash padded to 128)
 *   e-mail    H("\xffemail" | id)[16] -> sealed(0 BE64 | idlen |
 *             id padded to 63 | address padded to 255)
 */
#include <sodium.h>
#include <string.h>

#include "store/store_int.h"
#include "store/store_password.h"

#define PW_KEY_LEN  16
#define REC_HEAD    (8 + 1 + STORE_ID_MAX - 1)
#define PW_PLAIN    (REC_HEAD + STORE_PASSWORD_HASH_MAX)
#define EMAIL_PLAIN (REC_HEAD + STORE_EMAIL_MAX)

/* Under the principal-id tag with a prefix no kind byte takes: these keys
 * never equal a registration's, nor each other's. */
static const char PASSWORD[] = "\xffpassword";
static const char EMAIL[] = "\xff"
			    "email";

static ug_err
key_of(const store *s, const char *prefix, const char *caseworker,
       uint8_t out[PW_KEY_LEN])
{
	size_t len = strlen(caseworker);
	if (len == 0 || len >= STORE_ID_MAX)
		return UG_EINVAL;
	store__hash(s, TAG_PRINCIPAL_ID, prefix, strlen(prefix), caseworker,
		    len, out, PW_KEY_LEN);
	return UG_OK;
}

/* Seal stamp | id | value (padded to plain_len) under key k and put it. */
static ug_err
record_put(store *s, const uint8_t k[PW_KEY_LEN], const char *caseworker,
	   int64_t stamp, const char *value, size_t plain_len,
	   const store_audit_entry *audit, const char *what, bool bump)
{
	uint8_t plain[EMAIL_PLAIN] = {0},
		sealed[EMAIL_PLAIN + UG_SEAL_OVERHEAD];
	size_t idlen = strlen(caseworker);
	ug_put_be64(plain, (uint64_t)stamp);
	plain[8] = (uint8_t)idlen;
	memcpy(plain + 9, caseworker, idlen);
	memcpy(plain + REC_HEAD, value, strlen(value));
	store__seal(s, k, PW_KEY_LEN, plain, plain_len, sealed);
	sodium_memzero(plain, sizeof plain);
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, what);
	MDB_val key = {PW_KEY_LEN, (void *)k},
		val = {plain_len + UG_SEAL_OVERHEAD, sealed};
	rc = mdb_put(txn, s->password, &key, &val, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, what);
	}
	if (bump) {
		ug_err err = store__principal_bump_generation(s, txn);
		if (err != UG_OK) {
			mdb_txn_abort(txn);
			return err;
		}
	}
	return store__commit_audited(s, txn, audit, what);
}

/* The value (value_max bytes, NUL-padded) and stamp under key k; a record
 * that does not open, or names another caseworker, is STORE-FORGED. */
static ug_err
record_get(store *s, const uint8_t k[PW_KEY_LEN], const char *caseworker,
	   int64_t *stamp, char *value, size_t value_max, const char *what)
{
	size_t plain_len = REC_HEAD + value_max;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {PW_KEY_LEN, (void *)k}, val;
	rc = mdb_get(txn, s->password, &key, &val);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? UG_ENOTFOUND
					  : store__map_err(rc, what);
	}
	uint8_t plain[EMAIL_PLAIN];
	size_t idlen = strlen(caseworker);
	ug_err err = UG_OK;
	if (val.mv_size != plain_len + UG_SEAL_OVERHEAD ||
	    store__open(s, k, PW_KEY_LEN, val.mv_data, val.mv_size, plain,
			plain_len) != UG_OK ||
	    plain[8] != idlen || memcmp(plain + 9, caseworker, idlen) != 0 ||
	    plain[plain_len - 1] != 0) {
		store__forged(s, TAG_PRINCIPAL_ID, what);
		err = UG_EMALFORMED;
	} else {
		*stamp = (int64_t)ug_get_be64(plain);
		memcpy(value, plain + REC_HEAD, value_max);
	}
	sodium_memzero(plain, sizeof plain);
	mdb_txn_abort(txn);
	return err;
}

static ug_err
record_delete(store *s, const uint8_t k[PW_KEY_LEN],
	      const store_audit_entry *audit, const char *what)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, what);
	MDB_val key = {PW_KEY_LEN, (void *)k};
	rc = mdb_del(txn, s->password, &key, NULL);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return rc == MDB_NOTFOUND ? UG_ENOTFOUND
					  : store__map_err(rc, what);
	}
	return store__commit_audited(s, txn, audit, what);
}

int
store__web_access_drop_in(store *s, MDB_txn *txn, const char *caseworker)
{
	const char *prefixes[] = {PASSWORD, EMAIL};
	for (size_t i = 0; i < 2; i++) {
		uint8_t k[PW_KEY_LEN];
		if (key_of(s, prefixes[i], caseworker, k) != UG_OK)
			return 0;
		MDB_val key = {PW_KEY_LEN, k};
		int rc = mdb_del(txn, s->password, &key, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	return 0;
}

ug_err
store_password_put(store *s, const char *caseworker, const char *hash,
		   int64_t set_at)
{
	return store_password_put_audited(s, caseworker, hash, set_at, NULL);
}

ug_err
store_password_put_audited(store *s, const char *caseworker, const char *hash,
			   int64_t set_at, const store_audit_entry *audit)
{
	uint8_t k[PW_KEY_LEN];
	size_t hlen = strlen(hash);
	if (key_of(s, PASSWORD, caseworker, k) != UG_OK || hlen == 0 ||
	    hlen >= STORE_PASSWORD_HASH_MAX)
		return UG_EINVAL;
	/* A reset ends the caseworker's web sessions: hubd, told by the
	 * generation, ends them at its next loop turn, not at their next
	 * request or idle end. */
	return record_put(s, k, caseworker, set_at, hash, PW_PLAIN, audit,
			  "set password", true);
}

ug_err
store_password_get(store *s, const char *caseworker,
		   char hash[STORE_PASSWORD_HASH_MAX], int64_t *set_at)
{
	uint8_t k[PW_KEY_LEN];
	if (key_of(s, PASSWORD, caseworker, k) != UG_OK)
		return UG_ENOTFOUND;
	/* A password that does not open logs nobody in, as none. */
	ug_err err = record_get(s, k, caseworker, set_at, hash,
				STORE_PASSWORD_HASH_MAX, "password");
	return err == UG_EMALFORMED ? UG_ENOTFOUND : err;
}

ug_err
store_password_delete(store *s, const char *caseworker)
{
	uint8_t k[PW_KEY_LEN];
	if (key_of(s, PASSWORD, caseworker, k) != UG_OK)
		return UG_ENOTFOUND;
	return record_delete(s, k, NULL, "delete password");
}

ug_err
store_email_put(store *s, const char *caseworker, const char *address)
{
	return store_email_put_audited(s, caseworker, address, NULL);
}

ug_err
store_email_put_audited(store *s, const char *caseworker, const char *address,
			const store_audit_entry *audit)
{
	uint8_t k[PW_KEY_LEN];
	size_t alen = strlen(address);
	if (key_of(s, EMAIL, caseworker, k) != UG_OK || alen == 0 ||
	    alen >= STORE_EMAIL_MAX)
		return UG_EINVAL;
	return record_put(s, k, caseworker, 0, address, EMAIL_PLAIN, audit,
			  "set e-mail", false);
}

ug_err
store_email_get(store *s, const char *caseworker,
		char address[STORE_EMAIL_MAX])
{
	uint8_t k[PW_KEY_LEN];
	int64_t stamp;
	if (key_of(s, EMAIL, caseworker, k) != UG_OK)
		return UG_ENOTFOUND;
	return record_get(s, k, caseworker, &stamp, address, STORE_EMAIL_MAX,
			  "e-mail");
}

ug_err
store_email_delete(store *s, const char *caseworker)
{
	return store_email_delete_audited(s, caseworker, NULL);
}

ug_err
store_email_delete_audited(store *s, const char *caseworker,
			   const store_audit_entry *audit)
{
	uint8_t k[PW_KEY_LEN];
	if (key_of(s, EMAIL, caseworker, k) != UG_OK)
		return UG_ENOTFOUND;
	return record_delete(s, k, audit, "delete e-mail");
}
