/*
 * Key files, in the manner of CZMQ's zcert: NAME.key holds the public part
 * and may be shared; NAME.key_secret (mode 0600 from creation) holds the
 * CURVE secret key and two random symmetric keys:
 *   storage_key  seals personal data at rest (hub store, adapter outbox)
 *   hash_key     keys the hashes that pseudonymise (person keys, event ids)
 * Both files are "name = value" lines; '#' starts a comment.
 * Secrets live in sodium_malloc memory and are wiped on destroy.
 */
#ifndef UG_KEYS_H
#define UG_KEYS_H

#include <stdint.h>

#include "common/err.h"

#define UG_Z85_KEY_LEN 40
#define UG_ID_MAX 64

typedef struct ug_keys {
	char id[UG_ID_MAX];
	char public_z85[UG_Z85_KEY_LEN + 1];
	char *secret_z85;     /* sodium_malloc, 41 bytes */
	uint8_t *storage_key; /* sodium_malloc, UG_KEY_LEN */
	uint8_t *hash_key;    /* sodium_malloc, UG_KEY_LEN */
} ug_keys;

/*
 * Create DIR/ID.key and DIR/ID.key_secret with a fresh CURVE pair and fresh
 * symmetric keys. Refuses (UG_EEXISTS) to overwrite an existing secret.
 */
ug_err ug_keys_generate(const char *dir, const char *id, ug_diag *diag);

/* Load a secret key file; the caller owns *out (ug_keys_destroy). */
ug_err ug_keys_load_secret(ug_keys **out, const char *path, ug_diag *diag);

/* Load a public key file: its id and Z85 public key. */
ug_err ug_keys_load_public(const char *path, char id[UG_ID_MAX],
                           char public_z85[UG_Z85_KEY_LEN + 1],
                           ug_diag *diag);

void ug_keys_destroy(ug_keys **keys);

/* True if text is a well-formed id: 1-63 of [a-z0-9._-], starting alnum. */
int ug_id_valid(const char *text);

#endif
