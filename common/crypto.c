/* libsodium wrappers; see crypto.h. Keys are borrowed, never copied. */
#include "common/crypto.h"

#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <string.h>

/*
 * Nonces for ug_seal are wholly random: 24 bytes from the kernel each, as
 * XChaCha20-Poly1305 is made for. They are drawn NONCE_POOL bytes at a
 * time into a pool per thread, not one system call per value (that cost a
 * tenth of the hub's CPU at full ingest). A counter would be as unique,
 * but it stands in the clear at the head of every sealed value and puts
 * the store's records in the order they were written, which links records
 * across databases that the keyed hashes keep apart. A forked child drops
 * the pool it inherited, so it never repeats its parent's nonces.
 */
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define NONCE_POOL  (128 * NONCE_BYTES)
static _Thread_local uint8_t nonce_pool[NONCE_POOL];
static _Thread_local size_t nonce_used = NONCE_POOL;

static void
nonce_pool_drop(void)
{
	nonce_used = NONCE_POOL;
}

static void
nonce_next(uint8_t out[NONCE_BYTES])
{
	if (nonce_used == NONCE_POOL) {
		randombytes_buf(nonce_pool, sizeof nonce_pool);
		nonce_used = 0;
	}
	memcpy(out, nonce_pool + nonce_used, NONCE_BYTES);
	nonce_used += NONCE_BYTES;
}

ug_err
ug_crypto_init(void)
{
	static bool registered;
	if (sodium_init() < 0)
		return UG_EIO;
	if (!registered && pthread_atfork(NULL, NULL, nonce_pool_drop) != 0)
		return UG_EIO;
	registered = true;
	return UG_OK;
}

void
ug_keyed_hash(const uint8_t key[UG_KEY_LEN], const void *data, size_t len,
	      uint8_t *out, size_t outlen)
{
	crypto_generichash(out, outlen, data, len, key, UG_KEY_LEN);
}

void
ug_person_key(const uint8_t hash_key[UG_KEY_LEN], const char *cpr,
	      uint8_t out[UG_PERSON_KEY_LEN])
{
	/* Domain-separated so the same key can never yield a person key that
	 * equals some other keyed hash the project computes. */
	uint8_t input[32] = "ungebro-person:";
	size_t prefix = 15;
	size_t len = strnlen(cpr, 10);
	memcpy(input + prefix, cpr, len);
	ug_keyed_hash(hash_key, input, prefix + len, out, UG_PERSON_KEY_LEN);
	sodium_memzero(input, sizeof input);
}

void
ug_seal(const uint8_t key[UG_KEY_LEN], const void *ad, size_t adlen,
	const void *plain, size_t len, uint8_t *out)
{
	uint8_t *nonce = out;
	nonce_next(nonce);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, plain,
	    len, ad, adlen, NULL, nonce, key);
}

ug_err
ug_seal_open(const uint8_t key[UG_KEY_LEN], const void *ad, size_t adlen,
	     const uint8_t *sealed, size_t sealed_len, uint8_t *out)
{
	if (sealed_len < UG_SEAL_OVERHEAD)
		return UG_EMALFORMED;
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
		out, NULL, NULL, sealed + nb, sealed_len - nb, ad, adlen,
		sealed, key) != 0)
		return UG_EMALFORMED;
	return UG_OK;
}
