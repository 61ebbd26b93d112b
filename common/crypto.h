/*
 * The project's symmetric crypto, on libsodium: keyed hashes that turn a
 * CPR into a pseudonymous person key, and sealing of values at rest with
 * XChaCha20-Poly1305 (random 24-byte nonce, additional data binds a sealed
 * value to the record key it is stored under, so values cannot be swapped).
 * No public-key operation lives here: nothing on the hot path needs one.
 */
#ifndef UG_CRYPTO_H
#define UG_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define UG_KEY_LEN	  32 /* symmetric key length */
#define UG_PERSON_KEY_LEN 16 /* BLAKE2b output used as a person key */
#define UG_SEAL_OVERHEAD  40 /* nonce (24) + tag (16) */

/* Must be called once before anything else here; safe to call again. */
ug_err ug_crypto_init(void);

/* person_key = BLAKE2b-128(key = hash_key, cpr). Deterministic. */
void ug_person_key(const uint8_t hash_key[UG_KEY_LEN], const char *cpr,
		   uint8_t out[UG_PERSON_KEY_LEN]);

/* out = BLAKE2b(key, data), outlen 16..64. */
void ug_keyed_hash(const uint8_t key[UG_KEY_LEN], const void *data, size_t len,
		   uint8_t *out, size_t outlen);

/* Seal plain (len bytes) into out, which must hold len + UG_SEAL_OVERHEAD. */
void ug_seal(const uint8_t key[UG_KEY_LEN], const void *ad, size_t adlen,
	     const void *plain, size_t len, uint8_t *out);

/*
 * Open a sealed value into out (sealed_len - UG_SEAL_OVERHEAD bytes).
 * Returns UG_EMALFORMED if it is too short or was tampered with.
 */
ug_err ug_seal_open(const uint8_t key[UG_KEY_LEN], const void *ad,
		    size_t adlen, const uint8_t *sealed, size_t sealed_len,
		    uint8_t *out) __attribute__((warn_unused_result));

#endif
