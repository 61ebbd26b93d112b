/* libsodium wrappers; see crypto.h. Keys are borrowed, never copied. */
#include "common/crypto.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

/*
 * Nonces for ug_seal: 16 random bytes drawn once per process (and again
 * in a forked child) followed by a 64-bit counter. XChaCha20-Poly1305's
 * 24-byte nonce leaves room for both, so every nonce under a key stays
 * unique without asking the kernel for randomness per value: that system
 * call (or the getpid() libsodium's own generator makes per call to
 * notice a fork) cost a tenth of the hub's CPU at full ingest.
 */
static uint8_t nonce_prefix[16];
static _Atomic uint64_t nonce_counter;
static atomic_bool nonce_ready;

static void
nonce_reseed(void)
{
	randombytes_buf(nonce_prefix, sizeof nonce_prefix);
	atomic_store(&nonce_counter, 0);
	atomic_store(&nonce_ready, true);
}

ug_err
ug_crypto_init(void)
{
	static bool registered;
	if (sodium_init() < 0)
		return UG_EIO;
	nonce_reseed();
	if (!registered && pthread_atfork(NULL, NULL, nonce_reseed) != 0)
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
	if (atomic_load(&nonce_ready)) {
		memcpy(nonce, nonce_prefix, sizeof nonce_prefix);
		uint64_t n = atomic_fetch_add(&nonce_counter, 1);
		memcpy(nonce + sizeof nonce_prefix, &n, sizeof n);
	} else {
		/* Before ug_crypto_init: a wholly random nonce, never a
		 * prefix of zeros another process might share. */
		randombytes_buf(nonce,
				crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	}
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
