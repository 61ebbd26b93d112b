/*
 * Web access: caseworkers' password hashes and notice addresses
 * (store_password.c), and the registration flag that makes a delivery key
 * a web gateway's. The store keeps the hash string it is given
 * (libsodium's crypto_pwhash_str format); hashing and verifying are the
 * hub's business.
 */
#ifndef UG_STORE_PASSWORD_H
#define UG_STORE_PASSWORD_H

#include <stdint.h>

#include "common/err.h"
#include "store/store.h"

/* Caseworker-registration flag (beside STORE_FLAG_DESK): the key is a web
 * gateway's (hubctl register-gateway). It may log caseworkers in and act
 * for their sessions, never as a caseworker of its own. */
#define STORE_FLAG_GATEWAY 2u

/* Longest hash string kept, its NUL included (crypto_pwhash_STRBYTES). */
#define STORE_PASSWORD_HASH_MAX 128

/* Set (or replace) a caseworker's password hash, stamped with set_at
 * (ms): a session remembers the stamp it logged in under, so a reset
 * password ends the sessions opened with the old one. */
ug_err store_password_put(store *s, const char *caseworker, const char *hash,
			  int64_t set_at);
/* The same with its audit record (NULL: none) in the same transaction:
 * the hash is stored with its record or, on any failure (a full map),
 * neither is. Likewise the _audited address functions below. */
ug_err store_password_put_audited(store *s, const char *caseworker,
				  const char *hash, int64_t set_at,
				  const store_audit_entry *audit);
/* The caseworker's hash and stamp; UG_ENOTFOUND if none is set (or the
 * record does not open: reported as STORE-FORGED). */
ug_err store_password_get(store *s, const char *caseworker,
			  char hash[STORE_PASSWORD_HASH_MAX], int64_t *set_at);
/* Remove it: the caseworker can no longer log in. UG_ENOTFOUND if none. */
ug_err store_password_delete(store *s, const char *caseworker);

/* Longest notice address kept, its NUL included. */
#define STORE_EMAIL_MAX 256

/* Set (or replace) the address a caseworker's (or the desk's) notices of
 * new alerts go to; the store keeps it sealed, as it is given (hubctl
 * checks its form). */
ug_err store_email_put(store *s, const char *caseworker, const char *address);
ug_err store_email_put_audited(store *s, const char *caseworker,
			       const char *address,
			       const store_audit_entry *audit);
/* The address; UG_ENOTFOUND if none is set, UG_EMALFORMED if its record
 * does not open (reported as STORE-FORGED): not the same as none, since
 * the caseworker expects their notices. */
ug_err store_email_get(store *s, const char *caseworker,
		       char address[STORE_EMAIL_MAX]);
/* Remove it: no more notices. UG_ENOTFOUND if none. */
ug_err store_email_delete(store *s, const char *caseworker);
/* UG_ENOTFOUND (none set) stores nothing, the record neither. */
ug_err store_email_delete_audited(store *s, const char *caseworker,
				  const store_audit_entry *audit);

#endif
