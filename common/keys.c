/* Key file reading and writing; see keys.h for the format. */
#include "common/keys.h"
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"

int
ug_id_valid(const char *text)
{
	size_t len = strlen(text);
	if (len == 0 || len >= UG_ID_MAX || !isalnum((unsigned char)text[0]))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	/* An id ends up in logs, file names, metric labels and the audit
	 * trail, which must never hold a CPR number. */
	char copy[UG_ID_MAX];
	memcpy(copy, text, len + 1);
	return ug_cpr_mask(copy) == 0;
}

const char *
ug_id_shown(const char *text, char *out, size_t size)
{
	/* Masked whole before the cut: a CPR across it would otherwise keep
	 * its first digits. */
	char *copy = strdup(text);
	if (!copy) {
		ug_strlcpy(out, "?", size);
		return out;
	}
	ug_cpr_mask(copy);
	ug_strlcpy(out, copy, size);
	free(copy);
	return out;
}

static ug_err
write_file(const char *path, mode_t mode, const char *text, ug_diag *diag)
{
	/* O_EXCL and the mode at open: the secret is never readable by others,
	 * not even for the moment between create and chmod. */
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode);
	if (fd < 0) {
		ug_diag_set(diag, path, "cannot create %s: %s", path,
			    strerror(errno));
		return errno == EEXIST ? UG_EEXISTS : UG_EIO;
	}
	/* The umask may only have narrowed the mode at open: a public key
	 * file made 0600 under umask 077 could not be read by the service
	 * user or handed on as documented (0644). */
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	int ok = fchmod(fd, mode) == 0 && n == (ssize_t)len && fsync(fd) == 0;
	close(fd);
	if (!ok) {
		ug_diag_set(diag, path, "cannot write: %s", strerror(errno));
		unlink(path);
		return UG_EIO;
	}
	return UG_OK;
}

ug_err
ug_keys_generate(const char *dir, const char *id, ug_diag *diag)
{
	if (!ug_id_valid(id)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_diag_set(diag, "id", "'%s' is not a valid id " UG_ID_RULE,
			    ug_id_shown(id, shown, sizeof shown));
		return UG_EINVAL;
	}
	char public_z85[41], *secret_z85 = sodium_malloc(41);
	uint8_t *sym = sodium_malloc(2 * UG_KEY_LEN);
	char *text = sodium_malloc(1024);
	char path[512];
	ug_err err = UG_ENOMEM;
	if (!secret_z85 || !sym || !text)
		goto fail;
	err = UG_EIO;
	if (zmq_curve_keypair(public_z85, secret_z85) != 0) {
		ug_diag_set(diag, "curve", "zmq_curve_keypair: %s",
			    zmq_strerror(errno));
		goto fail;
	}
	randombytes_buf(sym, 2 * UG_KEY_LEN);
	char storage_hex[2 * UG_KEY_LEN + 1], hash_hex[2 * UG_KEY_LEN + 1];
	ug_hex(sym, UG_KEY_LEN, storage_hex);
	ug_hex(sym + UG_KEY_LEN, UG_KEY_LEN, hash_hex);

	snprintf(path, sizeof path, "%s%s%s.key_secret", dir, ug_dir_sep(dir),
		 id);
	snprintf(text, 1024,
		 "# ungebro secret key file: keep it 0600, never copy it.\n"
		 "id = %s\npublic = %s\nsecret = %s\nstorage_key = %s\n"
		 "hash_key = %s\n",
		 id, public_z85, secret_z85, storage_hex, hash_hex);
	sodium_memzero(storage_hex, sizeof storage_hex);
	sodium_memzero(hash_hex, sizeof hash_hex);
	err = write_file(path, 0600, text, diag);
	if (err != UG_OK)
		goto fail;
	snprintf(path, sizeof path, "%s%s%s.key", dir, ug_dir_sep(dir), id);
	snprintf(text, 1024,
		 "# ungebro public key file: register it with hubctl.\n"
		 "id = %s\npublic = %s\n",
		 id, public_z85);
	err = write_file(path, 0644, text, diag);
	if (err != UG_OK) {
		/* A public file already there is another pair's: the secret
		 * just written must not stay beside it as if they matched. */
		snprintf(path, sizeof path, "%s%s%s.key_secret", dir,
			 ug_dir_sep(dir), id);
		unlink(path);
	}
fail:
	sodium_free(secret_z85);
	sodium_free(sym);
	sodium_free(text);
	return err;
}

/* A value of the right length that is not Z85, or does not decode to 32
 * bytes, would be registered and then match no client ever; refused here
 * with the file's line instead. */
static bool
z85_key_ok(const char *value)
{
	uint8_t raw[32];
	bool ok = strlen(value) == UG_Z85_KEY_LEN &&
		  zmq_z85_decode(raw, value) != NULL;
	sodium_memzero(raw, sizeof raw);
	return ok;
}

static ug_err
secret_pair(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	ug_keys *keys = ctx;
	int ok = 1;
	if (strcmp(name, "id") == 0)
		ok = ug_strlcpy(keys->id, value, sizeof keys->id);
	else if (strcmp(name, "public") == 0)
		ok = z85_key_ok(value) && ug_strlcpy(keys->public_z85, value,
						     sizeof keys->public_z85);
	else if (strcmp(name, "secret") == 0)
		ok = z85_key_ok(value) &&
		     ug_strlcpy(keys->secret_z85, value, UG_Z85_KEY_LEN + 1);
	else if (strcmp(name, "storage_key") == 0)
		ok = ug_unhex(value, keys->storage_key, UG_KEY_LEN) == UG_OK;
	else if (strcmp(name, "hash_key") == 0)
		ok = ug_unhex(value, keys->hash_key, UG_KEY_LEN) == UG_OK;
	if (!ok) {
		ug_diag_set(diag, name, "bad value for '%s'", name);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

/* Keys are created 0600; a secret file others may read has been copied
 * or edited carelessly. Said, not refused: the keys still work, and the
 * operator decides (SECURITY.md). */
static void
warn_if_open(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		log_warn("KEYS-MODE",
			 "%s is open to others than its owner (mode %04o): "
			 "it holds secret keys; chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
}

ug_err
ug_keys_load_secret(ug_keys **out, const char *path, ug_diag *diag)
{
	ug_keys *keys = calloc(1, sizeof *keys);
	if (!keys)
		return UG_ENOMEM;
	keys->secret_z85 = sodium_malloc(UG_Z85_KEY_LEN + 1);
	keys->storage_key = sodium_malloc(UG_KEY_LEN);
	keys->hash_key = sodium_malloc(UG_KEY_LEN);
	ug_err err = UG_ENOMEM;
	if (!keys->secret_z85 || !keys->storage_key || !keys->hash_key)
		goto fail;
	keys->secret_z85[0] = '\0';
	sodium_memzero(keys->storage_key, UG_KEY_LEN);
	sodium_memzero(keys->hash_key, UG_KEY_LEN);
	ug_strlcpy(keys->path, path, sizeof keys->path);
	err = ug_kv_read(path, UG_KV_SECRET, secret_pair, keys, diag);
	if (err == UG_OK)
		warn_if_open(path);
	if (err != UG_OK)
		goto fail;
	/* A missing symmetric key would leave zeros: sealing and hashing with
	 * a known key is no protection at all, so refuse the file. */
	if (!keys->id[0] || !keys->public_z85[0] || !keys->secret_z85[0] ||
	    sodium_is_zero(keys->storage_key, UG_KEY_LEN) ||
	    sodium_is_zero(keys->hash_key, UG_KEY_LEN)) {
		ug_diag_set(diag, path,
			    "not a secret key file (needs id, "
			    "public, secret, storage_key, hash_key)");
		err = UG_EMALFORMED;
		goto fail;
	}
	/* Written by hand from two pairs, the file would pass here and every
	 * handshake would be refused as an unregistered key. */
	char derived[UG_Z85_KEY_LEN + 1];
	if (zmq_curve_public(derived, keys->secret_z85) != 0 ||
	    strcmp(derived, keys->public_z85) != 0) {
		ug_diag_set(diag, path,
			    "public is not the public key of "
			    "secret (write both from one key pair)");
		err = UG_EMALFORMED;
		goto fail;
	}
	*out = keys;
	return UG_OK;
fail:
	ug_keys_destroy(&keys);
	return err;
}

ug_err
ug_keys_load_hub(ug_keys **out, const char *path, ug_diag *diag)
{
	ug_err err = ug_keys_load_secret(out, path, diag);
	if (err != UG_OK || strcmp((*out)->id, "hub") == 0)
		return err;
	/* Another party's file in its place: the hub would serve under
	 * that key, which no client's hub.key names, and name its signing
	 * pair after that id. Adapters, inbox and webd refuse alike. */
	char shown[UG_ID_SHOWN_MAX];
	ug_diag_set(diag, "",
		    "%s holds the key of '%s', not the hub's (its id line "
		    "must be hub, as hubctl keygen hub writes it)",
		    path, ug_id_shown((*out)->id, shown, sizeof shown));
	ug_keys_destroy(out);
	return UG_EINVAL;
}

struct public_ctx {
	char *id;
	char *public_z85;
};

static ug_err
public_pair(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	struct public_ctx *pub = ctx;
	int ok = 1;
	if (strcmp(name, "id") == 0)
		ok = ug_strlcpy(pub->id, value, UG_ID_MAX);
	else if (strcmp(name, "public") == 0)
		ok = z85_key_ok(value) &&
		     ug_strlcpy(pub->public_z85, value, UG_Z85_KEY_LEN + 1);
	if (!ok) {
		ug_diag_set(diag, name, "bad value for '%s'", name);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

ug_err
ug_keys_load_public(const char *path, char id[UG_ID_MAX],
		    char public_z85[UG_Z85_KEY_LEN + 1], ug_diag *diag)
{
	id[0] = public_z85[0] = '\0';
	struct public_ctx ctx = {id, public_z85};
	ug_err err = ug_kv_read(path, 0, public_pair, &ctx, diag);
	/* Registrations take the id from hubctl's command line, never from
	 * the file: a file of one `public` line is a whole public key. Named
	 * here, as a file that does not open is: hubctl, inbox and webd read
	 * more than one key file, and an empty one gives no line to show. */
	if (err == UG_OK && !public_z85[0]) {
		ug_diag_set(diag, path,
			    "%s: not a public key file (needs public)", path);
		err = UG_EMALFORMED;
	}
	return err;
}

/* ---- the signing pair ---- */

/* One half of a pair alone cannot be completed without overwriting it,
 * and signs nothing: name it for the operator, who has the other half or
 * must move this one aside. Both halves there is no such case. */
static void
half_pair(const char *dir, const char *id, ug_diag *diag)
{
	char pub[512], sec[512];
	snprintf(pub, sizeof pub, "%s%s%s.sign_public", dir, ug_dir_sep(dir),
		 id);
	snprintf(sec, sizeof sec, "%s%s%s.sign_secret", dir, ug_dir_sep(dir),
		 id);
	bool has_pub = access(pub, F_OK) == 0;
	if (has_pub == (access(sec, F_OK) == 0))
		return;
	/* The secret alone holds its public half too: moving it aside
	 * would lose the key every checkpoint so far was signed with. */
	if (has_pub)
		ug_diag_set(
		    diag, "",
		    "%s exists without %s: half a signing pair (keys "
		    "are never overwritten); move it aside, or put its "
		    "other half back",
		    pub, sec);
	else
		ug_diag_set(diag, "",
			    "%s exists without %s: half a signing pair (keys "
			    "are never overwritten); it still signs: copy the "
			    "id and sign_public lines of %s into %s",
			    sec, pub, sec, pub);
	if (diag)
		diag->file[0] = '\0';
}

ug_err
ug_keys_generate_signing(const char *dir, const char *id, ug_diag *diag)
{
	if (!ug_id_valid(id)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_diag_set(diag, "id", "'%s' is not a valid id " UG_ID_RULE,
			    ug_id_shown(id, shown, sizeof shown));
		return UG_EINVAL;
	}
	uint8_t pk[UG_SIGN_PUBLIC_LEN];
	uint8_t *sk = sodium_malloc(UG_SIGN_SECRET_LEN);
	char *text = sodium_malloc(1024);
	char path[512], pk_hex[2 * UG_SIGN_PUBLIC_LEN + 1];
	ug_err err = UG_ENOMEM;
	if (!sk || !text)
		goto fail;
	crypto_sign_keypair(pk, sk);
	ug_hex(pk, sizeof pk, pk_hex);
	/* The public half first: a secret without its public file would let
	 * the hub sign what no one can check. */
	snprintf(path, sizeof path, "%s%s%s.sign_public", dir, ug_dir_sep(dir),
		 id);
	snprintf(text, 1024,
		 "# ungebro audit signing key, public: hubctl audit verify "
		 "checks\n# the audit trail's checkpoints against it.\n"
		 "id = %s\nsign_public = %s\n",
		 id, pk_hex);
	err = write_file(path, 0644, text, diag);
	if (err == UG_EEXISTS)
		half_pair(dir, id, diag);
	if (err != UG_OK)
		goto fail;
	char seed_hex[2 * 32 + 1];
	/* libsodium's secret key begins with the seed. */
	ug_hex(sk, 32, seed_hex);
	snprintf(path, sizeof path, "%s%s%s.sign_secret", dir, ug_dir_sep(dir),
		 id);
	snprintf(text, 1024,
		 "# ungebro audit signing key, secret: keep it 0600, back it "
		 "up.\nid = %s\nsign_public = %s\nsign_secret = %s\n",
		 id, pk_hex, seed_hex);
	sodium_memzero(seed_hex, sizeof seed_hex);
	err = write_file(path, 0600, text, diag);
	if (err != UG_OK) {
		snprintf(path, sizeof path, "%s%s%s.sign_public", dir,
			 ug_dir_sep(dir), id);
		unlink(path);
	}
	if (err == UG_EEXISTS)
		half_pair(dir, id, diag);
fail:
	sodium_free(sk);
	sodium_free(text);
	return err;
}

typedef struct {
	uint8_t *seed; /* 32 bytes, guarded */
	uint8_t public_key[UG_SIGN_PUBLIC_LEN];
	bool has_seed, has_public;
} sign_fields;

static ug_err
sign_pair(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	sign_fields *f = ctx;
	int ok = 1;
	if (strcmp(name, "sign_public") == 0)
		ok = f->has_public = ug_unhex(value, f->public_key,
					      UG_SIGN_PUBLIC_LEN) == UG_OK;
	else if (strcmp(name, "sign_secret") == 0)
		ok = f->has_seed =
		    f->seed && ug_unhex(value, f->seed, 32) == UG_OK;
	if (!ok) {
		ug_diag_set(diag, name, "bad value for '%s'", name);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

ug_err
ug_keys_load_sign_public(const char *path, uint8_t out[UG_SIGN_PUBLIC_LEN],
			 ug_diag *diag)
{
	sign_fields f = {0};
	ug_err err = ug_kv_read(path, 0, sign_pair, &f, diag);
	if (err == UG_OK && !f.has_public) {
		ug_diag_set(diag, path,
			    "%s: not a signing public key file (needs "
			    "sign_public)",
			    path);
		err = UG_EMALFORMED;
	}
	if (err == UG_OK)
		memcpy(out, f.public_key, UG_SIGN_PUBLIC_LEN);
	return err;
}

ug_err
ug_keys_load_signing(ug_keys *keys, bool create, ug_diag *diag)
{
	char dir[sizeof keys->path], path[sizeof dir + UG_ID_MAX + 16];
	ug_strlcpy(dir, keys->path, sizeof dir);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		ug_strlcpy(dir, ".", sizeof dir);
	snprintf(path, sizeof path, "%s%s%s.sign_secret", dir, ug_dir_sep(dir),
		 keys->id);
	sign_fields f = {.seed = sodium_malloc(32)};
	uint8_t *sk = sodium_malloc(UG_SIGN_SECRET_LEN);
	uint8_t pk[UG_SIGN_PUBLIC_LEN];
	ug_err err = UG_ENOMEM;
	if (!f.seed || !sk)
		goto out;
	err = ug_kv_read(path, UG_KV_SECRET, sign_pair, &f, diag);
	if (err == UG_ENOTFOUND && create) {
		/* The missing file is no longer the problem: a failure to
		 * make the pair names what could not be written, not it. */
		if (diag)
			*diag = (ug_diag){0};
		err = ug_keys_generate_signing(dir, keys->id, diag);
		if (err == UG_OK)
			err = ug_kv_read(path, UG_KV_SECRET, sign_pair, &f,
					 diag);
	}
	if (err != UG_OK)
		goto out;
	warn_if_open(path);
	/* The stated public key must be the seed's: a file stitched from two
	 * pairs would sign checkpoints that never verify. */
	if (!f.has_seed || !f.has_public ||
	    crypto_sign_seed_keypair(pk, sk, f.seed) != 0 ||
	    sodium_memcmp(pk, f.public_key, sizeof pk) != 0) {
		ug_diag_set(diag, path,
			    "%s: not a signing key file (needs "
			    "sign_public and the matching "
			    "sign_secret)",
			    path);
		err = UG_EMALFORMED;
		goto out;
	}
	sodium_free(keys->sign_secret);
	keys->sign_secret = sk;
	sk = NULL;
out:
	sodium_free(f.seed);
	sodium_free(sk);
	return err;
}

void
ug_keys_destroy(ug_keys **keys)
{
	if (!keys || !*keys)
		return;
	sodium_free((*keys)->secret_z85);
	sodium_free((*keys)->storage_key);
	sodium_free((*keys)->hash_key);
	sodium_free((*keys)->sign_secret);
	free(*keys);
	*keys = NULL;
}

void
ug_keys_diag_name(ug_diag *diag, const char *path)
{
	if (!diag || strcmp(diag->field, path) != 0 ||
	    strncmp(diag->reason, path, strlen(path)) == 0)
		return;
	char reason[PATH_MAX + sizeof diag->reason + 2];
	snprintf(reason, sizeof reason, "%s: %s", path, diag->reason);
	ug_strlcpy(diag->reason, reason, sizeof diag->reason);
}
