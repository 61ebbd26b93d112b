/* libsodium wrappers; see crypto.h. Keys are borrowed, never copied. */
#include "common/crypto.h"

#include <sodium.h>
#include <string.h>

ug_err
ug_crypto_init(void)
{
	return sodium_init() < 0 ? UG_EIO : UG_OK;
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
	randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
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
