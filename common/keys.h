/*
 * Key files, in the manner of CZMQ's zcert: NAME.key holds the public part
 * and may be shared; NAME.key_secret (mode 0600 from creation) holds the
 * CURVE secret key and two random symmetric keys:
 *   storage_key  seals personal data at rest (hub store, adapter outbox)
 *   hash_key     keys the hashes that pseudonymise (person keys, event ids)
 * Both files are "name = value" lines; '#' starts a comment.
 * The hub also has a signing pair for its audit trail's checkpoints:
 * NAME.sign_public (Ed25519 public key, hex; what `hubctl audit verify`
 * checks against) and NAME.sign_secret (0600: the 32-byte seed, hex).
 * Secrets live in sodium_malloc memory and are wiped on destroy.
 */
#ifndef UG_KEYS_H
#define UG_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define UG_Z85_KEY_LEN	   40
#define UG_Z85_KEY_SHOWN   8 /* what hubctl shows of one, and audits */
#define UG_ID_MAX	   64
#define UG_SIGN_PUBLIC_LEN 32 /* Ed25519 */
#define UG_SIGN_SECRET_LEN 64 /* libsodium's form: seed, public key */

typedef struct ug_keys {
	char id[UG_ID_MAX];
	char public_z85[UG_Z85_KEY_LEN + 1];
	char *secret_z85;     /* sodium_malloc, 41 bytes */
	uint8_t *storage_key; /* sodium_malloc, UG_KEY_LEN */
	uint8_t *hash_key;    /* sodium_malloc, UG_KEY_LEN */
	/* sodium_malloc, UG_SIGN_SECRET_LEN; NULL until ug_keys_load_signing
	 */
	uint8_t *sign_secret;
	char path[512]; /* the secret key file these came from */
} ug_keys;

/*
 * Create DIR/ID.key and DIR/ID.key_secret with a fresh CURVE pair and fresh
 * symmetric keys. Refuses (UG_EEXISTS) to overwrite an existing secret.
 */
ug_err ug_keys_generate(const char *dir, const char *id, ug_diag *diag);

/* Load a secret key file; the caller owns *out (ug_keys_destroy). */
ug_err ug_keys_load_secret(ug_keys **out, const char *path, ug_diag *diag);

/* Load keys_dir/hub.key_secret, the hub's own keys (hubd, hubctl): a file
 * whose id is not "hub" is refused, naming whose key it holds. */
ug_err ug_keys_load_hub(ug_keys **out, const char *path, ug_diag *diag);

/* Load a public key file: its Z85 public key (required) and its id
 * ("" when the file has no id line). */
ug_err ug_keys_load_public(const char *path, char id[UG_ID_MAX],
			   char public_z85[UG_Z85_KEY_LEN + 1], ug_diag *diag);

/*
 * Create DIR/ID.sign_secret (0600, O_EXCL) and DIR/ID.sign_public with a
 * fresh Ed25519 pair. Refuses (UG_EEXISTS) to overwrite either file.
 */
ug_err ug_keys_generate_signing(const char *dir, const char *id,
				ug_diag *diag);

/*
 * Load the signing key that belongs with keys: ID.sign_secret beside the
 * file they were loaded from, into keys->sign_secret. With create, a
 * missing pair is generated first. UG_ENOTFOUND when absent (and not
 * created), UG_EMALFORMED when the file is not a signing key.
 */
ug_err ug_keys_load_signing(ug_keys *keys, bool create, ug_diag *diag);

/* Read a signing public key file (ID.sign_public). */
ug_err ug_keys_load_sign_public(const char *path,
				uint8_t out[UG_SIGN_PUBLIC_LEN],
				ug_diag *diag);

void ug_keys_destroy(ug_keys **keys);

/* After a load from path failed: a problem of the file as a whole (a
 * line missing, a public key not the secret's) names the file only in
 * diag's field; put it before the reason too, for a program that prints
 * the reason alone. */
void ug_keys_diag_name(ug_diag *diag, const char *path);

/* True if text is a well-formed id: 1-63 of [a-z0-9._-], starting alnum,
 * and holding no CPR number that ug_cpr_mask would mask. */
int ug_id_valid(const char *text);

/* What every program and the hub's refusals say of an id that is none:
 * one wording, so an id refused by inbox reads as hubctl refused it. */
#define UG_ID_RULE                                                            \
	"(1-63 of a-z 0-9 . _ -, starting with a letter or digit, "           \
	"holding no CPR number)"

/* What webd, inbox and the adapters say of their own id when it is
 * `hub`: the hub's key file holds the keys that open its store, which no
 * client may load, and hubctl registers no client under that name. */
#define UG_ID_HUB_OWN                                                         \
	"'hub' is the hub's own name (hub.key_secret holds the keys that "    \
	"open the hub's store, and hubctl registers no one as hub)"

/* text as a refusal may quote it, into out (cut to size): any CPR number
 * in it masked, since a refused id may be refused for holding one.
 * Returns out. */
#define UG_ID_SHOWN_MAX 256
const char *ug_id_shown(const char *text, char *out, size_t size);

#endif
