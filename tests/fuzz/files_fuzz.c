/*
 * libFuzzer target: any bytes as each file an operator, a test or another
 * machine hands the programs: a --config settings file (hubd's settings,
 * values checked as hubd --check-config checks them), the rules file, a
 * secret, a public and a signing public key file, the test clock file, and a
 * backup's manifest.json (hubctl restore reads it before anything is
 * copied). None may crash, read or write out of bounds, or leak; a bad
 * file is an error code. The bytes go through a real file because every
 * one of these readers takes a path.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/util.h"
#include "hub/hub.h"
#include "hub/hubctl_backup.h"
#include "hub/rules_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char file[128];	   /* every reader's input */
static char manifest[128]; /* the same bytes as a backup's manifest */
static char backup[96];
static rules_config rules;

static void
cleanup(void)
{
	unlink(manifest);
	rmdir(backup);
	unlink(file);
	rmdir(dir);
}

static void
setup(void)
{
	if (dir[0])
		return;
	if (ug_crypto_init() != UG_OK)
		abort();
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/ugfuzzXXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	snprintf(file, sizeof file, "%s/in.key_secret", dir);
	snprintf(backup, sizeof backup, "%s/backup", dir);
	snprintf(manifest, sizeof manifest, "%s/manifest.json", backup);
	if (mkdir(backup, 0700) != 0)
		abort();
	atexit(cleanup);
}

static bool
put(const char *path, const uint8_t *data, size_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return false;
	bool ok = write(fd, data, size) == (ssize_t)size;
	close(fd);
	return ok;
}

/* The hub's settings from a command line of three words, or NULL. */
static ug_config *
load(char **argv)
{
	char **rest;
	int nrest;
	bool help = false;
	ug_diag diag = {0};
	ug_config *cfg = NULL;
	if (ug_config_load(&cfg, hub_settings, "", 3, argv, &rest, &nrest,
			   &help, &diag) != UG_OK)
		return NULL;
	return cfg;
}

/* hubd's settings from --config FILE, then every value checked as
 * hubd --check-config checks it (endpoints, lists such as ops_silence,
 * limits). The test clock is left unset: the file could name one that a
 * read blocks on (a pipe, a terminal), and its reader is fuzzed below. */
static void
settings(void)
{
	char *argv[] = {"hubd", "--config", file, "--clock_file", "", NULL};
	char **rest;
	int nrest;
	bool help = false;
	ug_diag diag = {0};
	ug_config *cfg = NULL;
	if (ug_config_load(&cfg, hub_settings, "", 5, argv, &rest, &nrest,
			   &help, &diag) != UG_OK)
		return;
	long v;
	(void)ug_config_int(cfg, "log_map_mb", 1, 16777216, &v, &diag);
	(void)ug_config_get(cfg, "data_dir");
	(void)ug_config_where(cfg, "ingest");
	(void)hub_check_settings(cfg, &diag);
	ug_config_destroy(&cfg);
}

static ug_err
count_line(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	(void)diag;
	*(size_t *)ctx += strlen(name) + strlen(value);
	return UG_OK;
}

/* The manifest is checked first; the data_dir given is never empty (it
 * holds the input), so a manifest that passes stops there, before any
 * copy. */
static void
restore(void)
{
	char *argv[] = {"hubctl", "--data_dir", dir, NULL};
	ug_config *cfg = load(argv);
	if (!cfg)
		abort();
	(void)hubctl_restore_files(cfg, backup);
	ug_config_destroy(&cfg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (!put(file, data, size) || !put(manifest, data, size))
		return 0;
	ug_diag diag = {0};
	size_t n = 0;
	(void)ug_kv_read(file, 0, count_line, &n, &diag);
	(void)ug_kv_read(file, UG_KV_SECRET, count_line, &n, &diag);
	settings();
	(void)rules_config_load(&rules, file, &diag);

	ug_keys *keys = NULL;
	if (ug_keys_load_secret(&keys, file, &diag) == UG_OK)
		ug_keys_destroy(&keys);
	char id[UG_ID_MAX], z85[UG_Z85_KEY_LEN + 1];
	(void)ug_keys_load_public(file, id, z85, &diag);
	uint8_t sign[UG_SIGN_PUBLIC_LEN];
	(void)ug_keys_load_sign_public(file, sign, &diag);

	int64_t ms;
	(void)ug_clock_file_ms(file, &ms);
	restore();
	return 0;
}
