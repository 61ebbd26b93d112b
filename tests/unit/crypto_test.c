/*
 * common/crypto: sealing at rest (XChaCha20-Poly1305 with the record key as
 * additional data) and the keyed hashes behind person keys. Every failure
 * of a sealed value must be UG_EMALFORMED, never garbage plaintext.
 */
#include "common/crypto.h"

#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/check.h"

static void
fill_key(uint8_t key[UG_KEY_LEN], uint8_t seed)
{
	for (int i = 0; i < UG_KEY_LEN; i++)
		key[i] = (uint8_t)(seed + i * 7);
}

static void
test_seal_round_trip(void)
{
	CHECK_OK(ug_crypto_init());
	CHECK_OK(ug_crypto_init()); /* safe to call again */
	uint8_t key[UG_KEY_LEN];
	fill_key(key, 1);
	const char plain[] = "pupil 0102031234 missed 12 of 80 lessons";
	const size_t len = sizeof plain;
	uint8_t sealed[sizeof plain + UG_SEAL_OVERHEAD];
	ug_seal(key, "rec-1", 5, plain, len, sealed);
	/* The ciphertext does not carry the plaintext. */
	CHECK(!ut_contains(sealed, sizeof sealed, "0102031234", 10));
	uint8_t out[sizeof plain];
	memset(out, 0, sizeof out);
	CHECK_OK(ug_seal_open(key, "rec-1", 5, sealed, sizeof sealed, out));
	CHECK_EQ_MEM(out, plain, len);

	/* A random nonce per seal: sealing twice gives different bytes that
	 * both open. */
	uint8_t again[sizeof sealed];
	ug_seal(key, "rec-1", 5, plain, len, again);
	CHECK(memcmp(again, sealed, sizeof sealed) != 0);
	CHECK_OK(ug_seal_open(key, "rec-1", 5, again, sizeof again, out));
	CHECK_EQ_MEM(out, plain, len);

	/* Empty plaintext and empty additional data work too. */
	uint8_t empty[UG_SEAL_OVERHEAD];
	ug_seal(key, NULL, 0, "", 0, empty);
	CHECK_OK(ug_seal_open(key, NULL, 0, empty, sizeof empty, out));
}

static void
test_seal_tamper(void)
{
	CHECK_OK(ug_crypto_init());
	uint8_t key[UG_KEY_LEN];
	fill_key(key, 2);
	const uint8_t plain[32] = "thirty-two bytes of plain text!";
	uint8_t sealed[sizeof plain + UG_SEAL_OVERHEAD];
	ug_seal(key, "k", 1, plain, sizeof plain, sealed);
	uint8_t out[sizeof plain];
	/* Flip each byte in turn: nonce, ciphertext and tag are all bound. */
	for (size_t i = 0; i < sizeof sealed; i++) {
		sealed[i] ^= 0x01;
		ug_err err =
		    ug_seal_open(key, "k", 1, sealed, sizeof sealed, out);
		if (err != UG_EMALFORMED)
			FAIL("byte %zu flipped: expected malformed, got %s", i,
			     ug_strerror(err));
		sealed[i] ^= 0x01;
	}
	CHECK_OK(ug_seal_open(key, "k", 1, sealed, sizeof sealed, out));
	CHECK_EQ_MEM(out, plain, sizeof plain);
	/* Truncated: one byte short, and shorter than the overhead. */
	CHECK_ERR(ug_seal_open(key, "k", 1, sealed, sizeof sealed - 1, out),
		  UG_EMALFORMED);
	CHECK_ERR(ug_seal_open(key, "k", 1, sealed, UG_SEAL_OVERHEAD - 1, out),
		  UG_EMALFORMED);
	CHECK_ERR(ug_seal_open(key, "k", 1, sealed, 0, out), UG_EMALFORMED);
}

static void
test_seal_wrong_ad_or_key(void)
{
	CHECK_OK(ug_crypto_init());
	uint8_t key[UG_KEY_LEN], other[UG_KEY_LEN];
	fill_key(key, 3);
	fill_key(other, 4);
	const uint8_t plain[] = "value stored under key A";
	uint8_t sealed[sizeof plain + UG_SEAL_OVERHEAD];
	ug_seal(key, "key-A", 5, plain, sizeof plain, sealed);
	uint8_t out[sizeof plain];
	/* A value copied under another record key does not open. */
	CHECK_ERR(ug_seal_open(key, "key-B", 5, sealed, sizeof sealed, out),
		  UG_EMALFORMED);
	CHECK_ERR(ug_seal_open(key, "key-A", 4, sealed, sizeof sealed, out),
		  UG_EMALFORMED);
	CHECK_ERR(ug_seal_open(key, NULL, 0, sealed, sizeof sealed, out),
		  UG_EMALFORMED);
	/* Nor with another storage key. */
	CHECK_ERR(ug_seal_open(other, "key-A", 5, sealed, sizeof sealed, out),
		  UG_EMALFORMED);
	CHECK_OK(ug_seal_open(key, "key-A", 5, sealed, sizeof sealed, out));
	CHECK_EQ_MEM(out, plain, sizeof plain);
}

static void
test_person_key(void)
{
	CHECK_OK(ug_crypto_init());
	uint8_t key[UG_KEY_LEN], other[UG_KEY_LEN];
	fill_key(key, 5);
	fill_key(other, 6);
	uint8_t a[UG_PERSON_KEY_LEN], b[UG_PERSON_KEY_LEN];
	uint8_t c[UG_PERSON_KEY_LEN], d[UG_PERSON_KEY_LEN];
	ug_person_key(key, "0102031234", a);
	ug_person_key(key, "0102031234", b);
	CHECK_EQ_MEM(a, b, sizeof a); /* deterministic */
	ug_person_key(other, "0102031234", c);
	CHECK(memcmp(a, c, sizeof a) != 0); /* keyed */
	ug_person_key(key, "0102031235", d);
	CHECK(memcmp(a, d, sizeof a) != 0); /* per person */
	/* It is not the CPR, nor an unkeyed hash of it. */
	CHECK(!ut_contains(a, sizeof a, "0102", 4));
	uint8_t unkeyed[UG_PERSON_KEY_LEN];
	crypto_generichash(unkeyed, sizeof unkeyed,
			   (const uint8_t *)"0102031234", 10, NULL, 0);
	CHECK(memcmp(a, unkeyed, sizeof a) != 0);
	/* Domain separated from ug_keyed_hash over the bare CPR. */
	uint8_t bare[UG_PERSON_KEY_LEN];
	ug_keyed_hash(key, "0102031234", 10, bare, sizeof bare);
	CHECK(memcmp(a, bare, sizeof a) != 0);
	/* Known answer: BLAKE2b-128 keyed over "ungebro-person:" + cpr, so the
	 * person keys in existing stores stay valid across releases. */
	uint8_t expect[UG_PERSON_KEY_LEN];
	crypto_generichash(expect, sizeof expect,
			   (const uint8_t *)"ungebro-person:0102031234", 25,
			   key, UG_KEY_LEN);
	CHECK_EQ_MEM(a, expect, sizeof a);
}

static void
test_keyed_hash(void)
{
	CHECK_OK(ug_crypto_init());
	uint8_t key[UG_KEY_LEN];
	fill_key(key, 7);
	uint8_t h16[16], h16b[16], h32[32], expect[32];
	ug_keyed_hash(key, "absence\x1fschool", 14, h16, sizeof h16);
	ug_keyed_hash(key, "absence\x1fschool", 14, h16b, sizeof h16b);
	CHECK_EQ_MEM(h16, h16b, sizeof h16);
	ug_keyed_hash(key, "absence\x1fschool", 14, h32, sizeof h32);
	crypto_generichash(expect, 32, (const uint8_t *)"absence\x1fschool",
			   14, key, UG_KEY_LEN);
	CHECK_EQ_MEM(h32, expect, 32);
	/* BLAKE2b's output length is a parameter: 16 is not a prefix of 32. */
	CHECK(memcmp(h16, h32, 16) != 0);
}

/* Nonces are random, drawn from a pool per thread: never repeated in one
 * process, not in the order they were drawn (no shared prefix, no
 * counter: nothing in the clear orders the store's records), and a forked
 * child drops the pool it inherited, so its first nonces are not its
 * parent's next ones. */
static void
test_seal_nonces(void)
{
	CHECK_OK(ug_crypto_init());
	uint8_t key[UG_KEY_LEN];
	fill_key(key, 3);
	enum { N = 1000 };
	static uint8_t nonces[N][24];
	for (int i = 0; i < N; i++) {
		uint8_t sealed[1 + UG_SEAL_OVERHEAD];
		ug_seal(key, NULL, 0, "x", 1, sealed);
		memcpy(nonces[i], sealed, 24);
		for (int j = 0; j < i; j++)
			CHECK(memcmp(nonces[i], nonces[j], 24) != 0);
	}
	int fds[2];
	CHECK(pipe(fds) == 0);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		uint8_t sealed[1 + UG_SEAL_OVERHEAD];
		ug_seal(key, NULL, 0, "x", 1, sealed);
		_exit(write(fds[1], sealed, 24) == 24 ? 0 : 1);
	}
	uint8_t child[24], parent[1 + UG_SEAL_OVERHEAD];
	ug_seal(key, NULL, 0, "x", 1, parent);
	CHECK(read(fds[0], child, sizeof child) == (ssize_t)sizeof child);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && status == 0);
	close(fds[0]);
	close(fds[1]);
	CHECK(memcmp(child, parent, 24) != 0);
	/* No common prefix: the nonces of one process share no leading
	 * bytes beyond chance (a counter's would share 16). */
	int shared = 0;
	for (int i = 1; i < N; i++)
		shared += memcmp(nonces[i], nonces[0], 4) == 0;
	CHECK(shared == 0);
	CHECK(memcmp(child, nonces[N - 1], 4) != 0);
}

TEST_LIST = {
    {"seal nonces", test_seal_nonces},
    {"seal round trip", test_seal_round_trip},
    {"seal tamper", test_seal_tamper},
    {"seal wrong ad or key", test_seal_wrong_ad_or_key},
    {"person key", test_person_key},
    {"keyed hash", test_keyed_hash},
    {NULL, NULL},
};
