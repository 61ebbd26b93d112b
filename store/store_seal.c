/*
 * What every part of the store seals and hashes with: values sealed
 * under the storage key with their record key as additional data, index
 * keys hashed under the index key with a tag per database, lengths padded
 * so a value's size does not name its kind, the per-thread buffer records
 * are opened in, and the one report of a record that does not open.
 */
#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

/* The buffer records are opened and sealed in. One per thread, not per
 * store: hubd's loop and its apply thread open records at the same time.
 * Made on first use; a thread's is freed when it ends, the caller's by
 * store_close. */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void
scratch_key_make(void)
{
	if (pthread_key_create(&scratch_key, free) != 0)
		abort(); /* only when the process is out of keys: a bug */
}

uint8_t *
store__scratch(void)
{
	pthread_once(&scratch_once, scratch_key_make);
	uint8_t *buf = pthread_getspecific(scratch_key);
	if (!buf) {
		buf = malloc(STORE_SEAL_MAX + UG_SEAL_OVERHEAD + 64);
		if (buf && pthread_setspecific(scratch_key, buf) != 0) {
			free(buf);
			buf = NULL;
		}
	}
	return buf;
}

void
store__scratch_release(void)
{
	pthread_once(&scratch_once, scratch_key_make);
	free(pthread_getspecific(scratch_key));
	pthread_setspecific(scratch_key, NULL);
}

/* Sealed lengths are rounded up to this so that a value's size groups
 * events and alerts coarsely instead of naming their kind. */
#define PAD 64

size_t
store__padded(size_t len)
{
	return (len + PAD - 1) / PAD * PAD;
}

void
store__hash(const store *s, enum store__tag tag, const void *a, size_t alen,
	    const void *b, size_t blen, uint8_t *out, size_t outlen)
{
	uint8_t in[1 + 2 * (STORE_ID_MAX + UG_PERSON_KEY_LEN)];
	uint8_t full[32];
	assert(alen + blen < sizeof in && outlen <= sizeof full);
	in[0] = (uint8_t)tag;
	memcpy(in + 1, a, alen);
	if (blen)
		memcpy(in + 1 + alen, b, blen);
	ug_keyed_hash(s->index_key, in, 1 + alen + blen, full, sizeof full);
	memcpy(out, full, outlen);
}

void
store__seal(const store *s, const void *ad, size_t adlen, const void *plain,
	    size_t len, uint8_t *out)
{
	ug_seal(s->storage_key, ad, adlen, plain, len, out);
}

ug_err
store__open(const store *s, const void *ad, size_t adlen, const void *sealed,
	    size_t sealed_len, uint8_t *out, size_t cap)
{
	if (sealed_len < UG_SEAL_OVERHEAD ||
	    sealed_len - UG_SEAL_OVERHEAD > cap)
		return UG_EMALFORMED;
	return ug_seal_open(s->storage_key, ad, adlen, sealed, sealed_len,
			    out);
}

void
store__forged(store *s, enum store__tag tag, const char *db)
{
	/* A forged record read on every loop turn must not flood the log:
	 * one line per database a minute, with the count since the last.
	 * Counted by the database's name, not the tag: passwords and
	 * e-mail addresses are hashed under the principal-id tag, and one
	 * forged record of them would silence another database's. */
	static const char *const dbs[] = {
	    "principal", "principal_id", "ids",	    "assign", "alerts",
	    "queue",	 "person",	 "palerts", "rule",   "timer",
	    "desk",	 "password",	 "e-mail",  "log"};
	_Static_assert(sizeof dbs / sizeof *dbs < 16, "a slot per database");
	(void)tag;
	size_t i = 0;
	while (i < sizeof dbs / sizeof *dbs && strcmp(dbs[i], db) != 0)
		i++;
	int64_t now = ug_mono_ms();
	if (s->forged_logged_at[i] != 0 &&
	    now - s->forged_logged_at[i] < 60000) {
		s->forged_suppressed[i]++;
		return;
	}
	log_err("STORE-FORGED",
		"%s: a record does not open with the storage "
		"key or is not where it was written; refused (%llu more since "
		"the last report)",
		db, (unsigned long long)s->forged_suppressed[i]);
	s->forged_logged_at[i] = now ? now : 1;
	s->forged_suppressed[i] = 0;
}
