/*
 * common/keys: key files as hubctl keygen writes them. The secret file is
 * 0600 from creation, never overwritten, and loading refuses a file that
 * lacks any of its parts (a missing storage key must never mean sealing
 * with whatever the buffer held).
 */
#include "common/keys.h"

#include <zmq.h>

#include "common/crypto.h"
#include "common/util.h"

#include "tests/unit/check.h"

static void
test_generate_and_load(void)
{
	CHECK_OK(ug_crypto_init());
	const char *dir = ut_tmpdir();
	ug_diag diag = {0};
	CHECK_OK(ug_keys_generate(dir, "school-a", &diag));
	char path[PATH_MAX], pub[PATH_MAX];
	snprintf(path, sizeof path, "%s/school-a.key_secret", dir);
	snprintf(pub, sizeof pub, "%s/school-a.key", dir);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK(stat(pub, &st) == 0);
	CHECK_EQ_INT(st.st_mode & 0022, 0); /* nobody else may alter it */
	CHECK_EQ_INT(st.st_mode & 0600, 0600);

	ug_keys *k = NULL;
	CHECK_OK(ug_keys_load_secret(&k, path, &diag));
	CHECK_EQ_STR(k->id, "school-a");
	CHECK_EQ_INT(strlen(k->public_z85), UG_Z85_KEY_LEN);
	CHECK_EQ_INT(strlen(k->secret_z85), UG_Z85_KEY_LEN);
	/* The secret and public halves belong together. */
	char derived[UG_Z85_KEY_LEN + 1];
	CHECK_EQ_INT(zmq_curve_public(derived, k->secret_z85), 0);
	CHECK_EQ_STR(derived, k->public_z85);
	/* Storage and hash keys are distinct, random, not all zero. */
	static const uint8_t zero[UG_KEY_LEN];
	CHECK(memcmp(k->storage_key, zero, UG_KEY_LEN) != 0);
	CHECK(memcmp(k->hash_key, zero, UG_KEY_LEN) != 0);
	CHECK(memcmp(k->storage_key, k->hash_key, UG_KEY_LEN) != 0);

	char id[UG_ID_MAX], z85[UG_Z85_KEY_LEN + 1];
	CHECK_OK(ug_keys_load_public(pub, id, z85, &diag));
	CHECK_EQ_STR(id, "school-a");
	CHECK_EQ_STR(z85, k->public_z85);
	/* The public file holds nothing secret. */
	size_t len;
	uint8_t *text = ut_read_file(pub, &len);
	CHECK(text != NULL);
	CHECK(!ut_contains(text, len, k->secret_z85, UG_Z85_KEY_LEN));
	char hex[2 * UG_KEY_LEN + 1];
	ug_hex(k->storage_key, UG_KEY_LEN, hex);
	CHECK(!ut_contains(text, len, hex, 2 * UG_KEY_LEN));
	free(text);

	/* Two generations differ. */
	CHECK_OK(ug_keys_generate(dir, "school-b", &diag));
	snprintf(path, sizeof path, "%s/school-b.key_secret", dir);
	ug_keys *k2 = NULL;
	CHECK_OK(ug_keys_load_secret(&k2, path, &diag));
	CHECK(strcmp(k2->public_z85, k->public_z85) != 0);
	CHECK(memcmp(k2->storage_key, k->storage_key, UG_KEY_LEN) != 0);
	ug_keys_destroy(&k2);
	ug_keys_destroy(&k);
	CHECK(k == NULL);
	ug_keys_destroy(&k);
}

static void
test_refuses_overwrite(void)
{
	CHECK_OK(ug_crypto_init());
	const char *dir = ut_tmpdir();
	ug_diag diag = {0};
	CHECK_OK(ug_keys_generate(dir, "hub", &diag));
	char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/hub.key_secret", dir);
	size_t before_len = 0, after_len = 0;
	uint8_t *before = ut_read_file(path, &before_len);
	CHECK_ERR(ug_keys_generate(dir, "hub", &diag), UG_EEXISTS);
	uint8_t *after = ut_read_file(path, &after_len);
	CHECK(before && after);
	CHECK_EQ_INT(after_len, before_len);
	CHECK_EQ_MEM(after, before, before_len);
	free(before);
	free(after);
}

static void
test_ids(void)
{
	CHECK(ug_id_valid("school-hedemark"));
	CHECK(ug_id_valid("cw.anna_2"));
	CHECK(ug_id_valid("0desk"));
	CHECK(!ug_id_valid(""));
	CHECK(!ug_id_valid("-lead"));
	CHECK(!ug_id_valid(".hidden"));
	CHECK(!ug_id_valid("School"));
	CHECK(!ug_id_valid("a/b"));
	CHECK(!ug_id_valid("a b"));
	char long_id[UG_ID_MAX + 1];
	memset(long_id, 'a', UG_ID_MAX);
	long_id[UG_ID_MAX] = '\0';
	CHECK(!ug_id_valid(long_id));
	long_id[UG_ID_MAX - 1] = '\0';
	CHECK(ug_id_valid(long_id));
	ug_diag diag = {0};
	CHECK_ERR(ug_keys_generate(ut_tmpdir(), "../evil", &diag), UG_EINVAL);
}

/* An id travels into logs, file names, metric labels and the audit trail,
 * which must never hold a CPR number: one standing alone in it (as
 * ug_cpr_mask finds it) makes it no id, and the refusal does not echo it. */
static void
test_ids_holding_a_cpr(void)
{
	CHECK(!ug_id_valid("0101901234"));
	CHECK(!ug_id_valid("010190-1234"));
	CHECK(!ug_id_valid("cw-0101901234"));
	CHECK(!ug_id_valid("0101901234.desk"));
	CHECK(!ug_id_valid("cw_010190-1234"));
	/* Not a CPR standing alone, or no real birth date: still ids. */
	CHECK(ug_id_valid("school-2024"));
	CHECK(ug_id_valid("a1234567890"));
	CHECK(ug_id_valid("cw0101901234"));
	CHECK(ug_id_valid("01019012345"));
	CHECK(ug_id_valid("3213901234"));
	CHECK(ug_id_valid("010190_1234"));
	ug_diag diag = {0};
	CHECK_ERR(ug_keys_generate(ut_tmpdir(), "cw-010190-1234", &diag),
		  UG_EINVAL);
	CHECK(strstr(diag.reason, "010190-1234") == NULL);
	CHECK(strstr(diag.reason, "'cw-xxxxxx-xxxx'") != NULL);
	CHECK(strstr(diag.reason, "holding no CPR number") != NULL);
	diag = (ug_diag){0};
	CHECK_ERR(ug_keys_generate_signing(ut_tmpdir(), "0101901234", &diag),
		  UG_EINVAL);
	CHECK(strstr(diag.reason, "0101901234") == NULL);
}

static const char *
write_file(const char *dir, const char *name, const char *text)
{
	static char path[PATH_MAX];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
	return path;
}

#define PUB "oOQj)QPu5HLwar4r3>&^g5[p{1UQGPEo1w!OhT>@"
#define SEC "DbYoOdpy[[AIsA1wyGAOSwFvbuIB&mh2{QTCRMJU"
#define HEX32                                                                 \
	"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void
test_incomplete_secret_files(void)
{
	CHECK_OK(ug_crypto_init());
	const char *dir = ut_tmpdir();
	ug_diag diag = {0};
	ug_keys *k = NULL;
	/* Complete: loads. */
	const char *path =
	    write_file(dir, "ok.key_secret",
		       "id = ok\npublic = " PUB "\nsecret = " SEC
		       "\nstorage_key = " HEX32 "\nhash_key = " HEX32 "\n");
	CHECK_OK(ug_keys_load_secret(&k, path, &diag));
	CHECK_EQ_INT(k->storage_key[1], 0x11);
	ug_keys_destroy(&k);

	static const char *const broken[] = {
	    /* each lacks one part or has a bad value */
	    "public = " PUB "\nsecret = " SEC "\nstorage_key = " HEX32
	    "\nhash_key = " HEX32 "\n",
	    "id = x\nsecret = " SEC "\nstorage_key = " HEX32
	    "\nhash_key = " HEX32 "\n",
	    "id = x\npublic = " PUB "\nstorage_key = " HEX32
	    "\nhash_key = " HEX32 "\n",
	    "id = x\npublic = " PUB "\nsecret = " SEC "\nstorage_key = 00ff"
	    "\nhash_key = " HEX32 "\n",
	    "id = x\npublic = short\nsecret = " SEC "\nstorage_key = " HEX32
	    "\nhash_key = " HEX32 "\n",
	    "id = x\npublic = " PUB "\nsecret = " SEC "\nstorage_key " HEX32
	    "\n",
	    /* storage_key missing: must not load with an unset key */
	    "id = x\npublic = " PUB "\nsecret = " SEC "\nhash_key = " HEX32
	    "\n",
	    /* hash_key missing */
	    "id = x\npublic = " PUB "\nsecret = " SEC "\nstorage_key = " HEX32
	    "\n",
	    /* 40 characters, not Z85 */
	    "id = x\npublic = " PUB "\nsecret = "
	    "~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\nstorage_key = " HEX32
	    "\nhash_key = " HEX32 "\n",
	    /* a public key of another pair */
	    "id = x\npublic = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
	    "\nsecret = " SEC "\nstorage_key = " HEX32 "\nhash_key = " HEX32
	    "\n",
	};
	for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
		char name[32];
		snprintf(name, sizeof name, "b%zu.key_secret", i);
		path = write_file(dir, name, broken[i]);
		k = NULL;
		ug_err err = ug_keys_load_secret(&k, path, &diag);
		if (err != UG_EMALFORMED || k != NULL)
			FAIL(
			    "broken key file #%zu: expected malformed, got %s",
			    i, ug_strerror(err));
	}
	CHECK_ERR(ug_keys_load_secret(&k, "/nonexistent/x.key_secret", &diag),
		  UG_ENOTFOUND);
	char id[UG_ID_MAX], z85[UG_Z85_KEY_LEN + 1];
	path = write_file(dir, "nopub.key", "id = x\n");
	CHECK_ERR(ug_keys_load_public(path, id, z85, &diag), UG_EMALFORMED);
	/* Only `public` is needed: the id a key is registered under is
	 * hubctl's argument, never the file's. */
	path =
	    write_file(dir, "onlypub.key",
		       "public = rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\n");
	CHECK_OK(ug_keys_load_public(path, id, z85, &diag));
	CHECK_EQ_STR(z85, "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
	CHECK_EQ_STR(id, "");
	/* 40 characters outside Z85's alphabet, or Z85 that overflows 32
	 * bits: no key. */
	path =
	    write_file(dir, "notz85.key",
		       "public = ~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\n");
	CHECK_ERR(ug_keys_load_public(path, id, z85, &diag), UG_EMALFORMED);
	CHECK(strstr(diag.reason, "notz85.key:1: bad value for 'public'") !=
	      NULL);
	path =
	    write_file(dir, "overflow.key",
		       "public = ########################################\n");
	CHECK_ERR(ug_keys_load_public(path, id, z85, &diag), UG_EMALFORMED);
}

TEST_LIST = {
    {"generate and load", test_generate_and_load},
    {"refuses overwrite", test_refuses_overwrite},
    {"ids", test_ids},
    {"ids holding a cpr", test_ids_holding_a_cpr},
    {"incomplete secret files", test_incomplete_secret_files},
    {NULL, NULL},
};
