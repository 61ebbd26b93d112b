/*
 * hubctl backup / restore. The manifest is written after the copy, from
 * the copy's own figures (store_backup reads them back), so it never
 * claims more than the backup holds; restore refuses a directory without
 * one, and checks the restored store against it.
 */
#include "hub/hubctl_backup.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hubctl_audit.h"

#define MANIFEST "manifest.json"

/* What joins DIR and a name in it: "/" is the root, whose files are
 * "/manifest.json", not "//manifest.json". */
static const char *
slash(const char *dir)
{
	size_t n = strlen(dir);
	return n && dir[n - 1] == '/' ? "" : "/";
}

static int
failed(const char *what, const ug_diag *diag, ug_err err)
{
	ug_eprintf("hubctl: %s: %s\n", what,
		   diag->reason[0] ? diag->reason : ug_strerror(err));
	return 1;
}

static ug_err
write_manifest(const char *dir, const store_backup_info *b, ug_diag *diag)
{
	/* Written aside and renamed: a backup cut short while it is written
	 * has no manifest.json, as one cut short during the copy. */
	char path[600], part[620], when[32];
	snprintf(path, sizeof path, "%s%s" MANIFEST, dir, slash(dir));
	snprintf(part, sizeof part, "%s.part", path);
	int fd = open(part, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		ug_diag_set(diag, path, "cannot create %s: %s", part,
			    strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(part);
		}
		return UG_EIO;
	}
	int64_t now = ug_now_ms();
	time_t secs = (time_t)(now / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	const store_audit_report *a = &b->audit;
	fprintf(f,
		"{\"created\":\"%s\",\"created_ms\":%" PRId64 ","
		"\"store_format\":%" PRIu32 ","
		"\"log_last_seq\":%" PRIu64 ",\"log_events\":%" PRIu64 ","
		"\"last_applied\":%" PRIu64 ","
		"\"audit_records\":%" PRIu64 ",\"audit_verified\":%s,"
		"\"audit_intact\":%s,\"audit_head\":%" PRIu64 ","
		"\"audit_checkpoints\":%" PRIu64 ","
		"\"audit_last_checkpoint\":%" PRIu64 ","
		"\"files\":[\"log/data.mdb\",\"ids/data.mdb\",\"derived/"
		"data.mdb\"]",
		when, now, b->format, b->stats.last_seq, b->stats.log_events,
		b->stats.last_applied, b->stats.audit_records,
		b->audit_verified ? "true" : "false",
		b->audit_verified && !a->broken_seq ? "true" : "false",
		a->head, a->checkpoints, a->last_checkpoint);
	/* Log first, as in files: what restore checks each copied file
	 * against. */
	static const int order[] = {2, 1, 0};
	fputs(",\"file_bytes\":{", f);
	for (int i = 0; i < STORE_BACKUP_FILES; i++)
		fprintf(f, "%s\"%s\":%" PRIu64, i ? "," : "",
			b->files[order[i]].path, b->files[order[i]].bytes);
	fputs("},\"file_blake2b\":{", f);
	for (int i = 0; i < STORE_BACKUP_FILES; i++) {
		char hex[2 * STORE_BACKUP_HASH_LEN + 1];
		sodium_bin2hex(hex, sizeof hex, b->files[order[i]].blake2b,
			       STORE_BACKUP_HASH_LEN);
		fprintf(f, "%s\"%s\":\"%s\"", i ? "," : "",
			b->files[order[i]].path, hex);
	}
	fputs("}}\n", f);
	/* The first failure's errno is the reason given: a full disk or a
	 * quota, told the operator as for the data files. */
	int why = 0;
	bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
	if (!ok)
		why = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		why = errno;
	}
	if (ok && rename(part, path) != 0) {
		ok = false;
		why = errno;
	}
	if (!ok)
		unlink(part);
	/* The manifest's name too: a backup reported written must not lose
	 * it to a crash, and be refused by restore as cut short. */
	int dfd = ok ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (ok && (dfd < 0 || fsync(dfd) != 0)) {
		ok = false;
		why = errno;
	}
	if (dfd >= 0)
		close(dfd);
	if (!ok) {
		ug_diag_set(diag, path, "cannot write %s: %s", path,
			    strerror(why));
		return UG_EIO;
	}
	return UG_OK;
}

int
hubctl_backup(const ug_config *cfg, store *s, ug_keys *keys, const char *dir)
{
	ug_diag diag = {0};
	long log_mb, derived_mb;
	ug_err err =
	    ug_config_int(cfg, "log_map_mb", 1, 1L << 24, &log_mb, &diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "derived_map_mb", 1, 1L << 24,
				    &derived_mb, &diag);
	if (err != UG_OK)
		return failed("backup", &diag, err);
	store_opts opts = {(size_t)log_mb,
			   (size_t)derived_mb,
			   keys->storage_key,
			   false,
			   NULL,
			   NULL};
	char path[600];
	uint8_t pk[UG_SIGN_PUBLIC_LEN];
	snprintf(path, sizeof path, "%s%shub.sign_public",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")));
	ug_diag pk_diag = {0};
	bool have_pk = ug_keys_load_sign_public(path, pk, &pk_diag) == UG_OK;
	/* There but not read (damaged, unreadable): not "no hub.sign_public",
	 * which would send the operator looking for a file that is there. */
	bool pk_unread = !have_pk && access(path, F_OK) == 0;
	if (pk_unread)
		ug_eprintf(
		    "hubctl: backup: warning: the copy's audit trail is "
		    "not verified: cannot read the signing public key: "
		    "%s\n",
		    pk_diag.reason);
	store_backup_info info;
	err = store_backup(s, dir, &opts, have_pk ? pk : NULL, &info, &diag);
	if (err == UG_OK) {
		err = write_manifest(dir, &info, &diag);
		if (err != UG_OK) {
			snprintf(path, sizeof path, "%s%s" MANIFEST, dir,
				 slash(dir));
			unlink(path);
			store_backup_undo(dir, info.made_dir);
		}
	}
	if (err != UG_OK) {
		hubctl_audit_admin(s, keys, "backup", "failed", NULL, dir);
		failed("backup", &diag, err);
		if (info.started)
			ug_eprintf("hubctl: backup: nothing backed up; "
				   "%s %s\n",
				   dir,
				   info.made_dir ? "is removed"
						 : "is empty again");
		return 1;
	}
	hubctl_audit_admin(s, keys, "backup", "ok", NULL, dir);
	ug_oprintf("backup in %s: log up to sequence %" PRIu64 " (%" PRIu64
		   " events), audit trail %" PRIu64 " records%s\n",
		   dir, info.stats.last_seq, info.stats.log_events,
		   info.stats.audit_records,
		   !info.audit_verified
		       ? pk_unread
			     ? " (not verified: hub.sign_public does not "
			       "read)"
			     : " (not verified: no hub.sign_public)"
		   : info.audit.broken_seq ? " (BROKEN in the copy)"
					   : " (intact)");
	return 0;
}

/* The manifest's text, or false. */
static bool
manifest_read(const char *dir, char *text, size_t size, size_t *len)
{
	char path[600];
	snprintf(path, sizeof path, "%s%s" MANIFEST, dir, slash(dir));
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	size_t n = fread(text, 1, size - 1, f);
	/* A directory opens but does not read: no manifest, not a damaged
	 * one. */
	bool read = !ferror(f);
	fclose(f);
	/* A Windows editor saves UTF-8 with a byte order mark before the
	 * '{': still the same manifest, not "no JSON object". */
	if (n >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		n -= 3;
		memmove(text, text + 3, n);
	}
	text[n] = '\0';
	*len = n;
	return read;
}

static bool
manifest_text(const char *dir, char *text, size_t size)
{
	size_t len;
	return manifest_read(dir, text, size, &len);
}

/* Just past the '}' that closes the object opening at text[start], or
 * SIZE_MAX when it does not close within len bytes. */
static size_t
object_end(const char *text, size_t len, size_t start)
{
	size_t depth = 0;
	bool string = false;
	for (size_t i = start; i < len; i++) {
		char c = text[i];
		if (string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				string = false;
		} else if (c == '"') {
			string = true;
		} else if (c == '{' || c == '[') {
			depth++;
		} else if ((c == '}' || c == ']') && depth && !--depth) {
			return i + 1;
		}
	}
	return SIZE_MAX;
}

static int
hex_digit(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

/* Whether the JSON string between s and end (its quotes left out) reads
 * as name. A tool that re-saves the manifest may write "log\/data.mdb"
 * or "\u006cog/data.mdb" for the name the backup wrote, valid JSON both.
 * The names are ASCII: an escape of anything else, or one cut short,
 * matches none. */
static bool
json_string_is(const char *s, const char *end, const char *name)
{
	static const char escaped[] = "\"\\/bfnrt",
			  meant[] = "\"\\/\b\f\n\r\t";
	while (s < end) {
		char c = *s++;
		if (c == '\\' && s < end && *s == 'u') {
			unsigned v = 0;
			for (int k = 0; k < 4; k++) {
				int d = ++s < end ? hex_digit(*s) : -1;
				if (d < 0)
					return false;
				v = v * 16 + (unsigned)d;
			}
			s++;
			if (v == 0 || v > 0x7F)
				return false;
			c = (char)v;
		} else if (c == '\\') {
			const char *e =
			    s < end && *s ? strchr(escaped, *s) : NULL;
			if (!e)
				return false;
			c = meant[e - escaped];
			s++;
		}
		if (*name++ != c)
			return false;
	}
	return *name == '\0';
}

/* Where the value of obj's own member name starts, or NULL (obj not an
 * object). Only obj's own keys count: a member of the same name inside a
 * nested object, or the name as a string value, is not the figure the
 * backup wrote. JSON's spacing around the colon is taken (a manifest
 * pretty-printed by jq is the same manifest). */
static const char *
member_value(const char *obj, const char *name)
{
	if (!obj || *obj != '{')
		return NULL;
	size_t depth = 0;
	for (const char *p = obj; *p; p++) {
		if (*p == '"') {
			const char *s = ++p;
			while (*p && *p != '"')
				p += *p == '\\' && p[1] ? 2 : 1;
			if (!*p)
				return NULL;
			const char *v = p + 1 + strspn(p + 1, " \t\r\n");
			if (depth == 1 && *v == ':' &&
			    json_string_is(s, p, name))
				return v + 1 + strspn(v + 1, " \t\r\n");
		} else if (*p == '{' || *p == '[') {
			depth++;
		} else if ((*p == '}' || *p == ']') && --depth == 0) {
			return NULL;
		}
	}
	return NULL;
}

/* Where the manifest's top-level member name's value starts, or NULL. A
 * UTF-8 byte order mark an editor put before the object is no member. */
static const char *
manifest_value(const char *text, const char *name)
{
	if (strncmp(text, "\xef\xbb\xbf", 3) == 0)
		text += 3;
	return member_value(text + strspn(text, " \t\r\n"), name);
}

/* The manifest's value of a whole-number field, or false. */
static bool
manifest_number(const char *dir, const char *name, uint64_t *value)
{
	char text[8192];
	const char *at = manifest_text(dir, text, sizeof text)
			     ? manifest_value(text, name)
			     : NULL;
	if (!at)
		return false;
	/* Digits alone, as the backup writes them: strtoull would take -1
	 * for 2^64-1 and the 1 of 1.5, comparing the log with figures the
	 * backup never wrote. */
	if (*at < '0' || *at > '9')
		return false;
	char *end;
	errno = 0;
	*value = strtoull(at, &end, 10);
	return errno == 0 && *end != '.' && *end != 'e' && *end != 'E';
}

/* The manifest's value of a true/false field, or false when it is not
 * there. */
static bool
manifest_true(const char *dir, const char *name)
{
	char text[8192];
	const char *at = manifest_text(dir, text, sizeof text)
			     ? manifest_value(text, name)
			     : NULL;
	return at && strncmp(at, "true", 4) == 0;
}

/* Each data file's length and hash as the manifest records them; a
 * backup made before the manifest had them leaves them unknown. False,
 * naming the file, when the manifest has them but not whole: a damaged
 * manifest must not quietly turn the check off. */
static bool
manifest_files(const char *dir, store_backup_file files[STORE_BACKUP_FILES],
	       const char **bad)
{
	store_backup_files(files);
	char text[8192];
	if (!manifest_text(dir, text, sizeof text))
		return true;
	const char *bytes = manifest_value(text, "file_bytes");
	const char *hashes = manifest_value(text, "file_blake2b");
	if (!bytes && !hashes)
		return true;
	/* Checked in the manifest's own order (its "files": log/, ids/,
	 * derived/; files[] is in copy order, the other way round), so a
	 * manifest without the figures names log/data.mdb first. */
	for (int i = STORE_BACKUP_FILES - 1; i >= 0; i--) {
		store_backup_file *f = &files[i];
		*bad = f->path;
		const char *b = member_value(bytes, f->path);
		const char *h = member_value(hashes, f->path);
		char *end;
		size_t got = 0;
		if (!b || !h || *h != '"' ||
		    strspn(h + 1, "0123456789abcdef") !=
			2 * STORE_BACKUP_HASH_LEN ||
		    h[1 + 2 * STORE_BACKUP_HASH_LEN] != '"')
			return false;
		if (*b < '0' || *b > '9')
			return false;
		/* A length past 2^64-1 is no figure the backup wrote:
		 * strtoull would take it for 2^64-1 and copy before the
		 * length check refused it. */
		errno = 0;
		f->bytes = strtoull(b, &end, 10);
		if (errno != 0 || *end == '.' || *end == 'e' || *end == 'E' ||
		    sodium_hex2bin(f->blake2b, sizeof f->blake2b, h + 1,
				   2 * STORE_BACKUP_HASH_LEN, NULL, &got,
				   NULL) != 0 ||
		    got != STORE_BACKUP_HASH_LEN)
			return false;
		f->known = true;
	}
	return true;
}

int
hubctl_restore_files(const ug_config *cfg, const char *dir)
{
	uint64_t last;
	char text[8192];
	size_t manifest_len;
	if (!manifest_read(dir, text, sizeof text, &manifest_len)) {
		ug_eprintf(
		    "hubctl: restore: %s%s" MANIFEST " is missing "
		    "or unreadable: not a backup made by hubctl backup\n",
		    dir, slash(dir));
		return 1;
	}
	/* Cut short (the machine stopped while it was written), it may end
	 * before file_bytes and pass for an earlier version's manifest,
	 * whose files are checked for length only. An empty one is cut short
	 * at its first byte. Text after the object's own closing brace,
	 * even one ending in a brace or behind a NUL, is no whole object
	 * either. */
	size_t len = manifest_len;
	size_t end = len;
	while (end && strchr(" \t\r\n", text[end - 1]))
		end--;
	size_t start = strspn(text, " \t\r\n");
	bool object = text[start] == '{';
	if (!end || (object && object_end(text, len, start) != end)) {
		ug_eprintf("hubctl: restore: %s%s" MANIFEST " is damaged: cut "
			   "short (not a whole JSON object)\n",
			   dir, slash(dir));
		return 1;
	}
	if (!object) {
		ug_eprintf("hubctl: restore: %s%s" MANIFEST
			   " is damaged: not a JSON object\n",
			   dir, slash(dir));
		return 1;
	}
	/* There but without the figures the log is checked against: told
	 * apart from a missing manifest, so the operator looks for another
	 * copy of this one, and found before anything is copied. */
	static const char *const figures[] = {"log_last_seq", "log_events"};
	for (size_t i = 0; i < sizeof figures / sizeof *figures; i++) {
		if (!manifest_number(dir, figures[i], &last)) {
			ug_eprintf("hubctl: restore: %s%s" MANIFEST
				   " is damaged: no %s\n",
				   dir, slash(dir), figures[i]);
			return 1;
		}
	}
	ug_diag diag = {0};
	const char *data_dir = ug_config_get(cfg, "data_dir");
	store_backup_file expect[STORE_BACKUP_FILES];
	const char *bad = NULL;
	if (!manifest_files(dir, expect, &bad)) {
		ug_eprintf("hubctl: restore: %s%s" MANIFEST " is damaged: "
			   "no whole file_bytes and file_blake2b for %s\n",
			   dir, slash(dir), bad);
		return 1;
	}
	ug_err err = store_restore(dir, data_dir, expect, &diag);
	if (err == UG_OK)
		return 0;
	failed("restore", &diag, err);
	if (err != UG_EEXISTS && access(data_dir, F_OK) == 0)
		ug_eprintf("hubctl: restore: nothing restored; %s is "
			   "empty again\n",
			   data_dir);
	return 1;
}

int
hubctl_restore_check(const ug_config *cfg, store *s, ug_keys *keys,
		     const char *dir)
{
	uint64_t last = 0, events = 0;
	manifest_number(dir, "log_last_seq", &last);
	manifest_number(dir, "log_events", &events);
	store_stats st = {0};
	ug_err err = store_get_stats(s, &st);
	if (err != UG_OK || st.last_seq != last || st.log_events != events) {
		ug_eprintf("hubctl: restore: the restored log (sequence "
			   "%" PRIu64 ", %" PRIu64
			   " events) does not match the "
			   "manifest (%" PRIu64 ", %" PRIu64 ")\n",
			   st.last_seq, st.log_events, last, events);
		/* Not recorded: the store is taken back, and a checkpoint
		 * witnessed for it would name a chain that no longer is. */
		return 1;
	}
	/* The data is restored either way; but a keys_dir without the
	 * signing pair that signed the copy's checkpoints (a new machine
	 * given hub.key_secret alone) makes every later audit verify say
	 * BROKEN, and the restore's own checkpoint, signed with whatever
	 * pair keys_dir holds, keeps it so: best learnt now, while the old
	 * keys_dir may still be at hand and a restore again is cheap. */
	char path[600];
	uint8_t pk[UG_SIGN_PUBLIC_LEN];
	ug_diag pk_diag = {0};
	store_audit_report audit;
	snprintf(path, sizeof path, "%s%shub.sign_public",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")));
	if (ug_keys_load_sign_public(path, pk, &pk_diag) != UG_OK)
		ug_eprintf(
		    "hubctl: restore: warning: the restored audit "
		    "trail cannot be verified: %s; to verify it, move "
		    "data_dir aside, put the signing pair of the hub that "
		    "made the backup (hub.sign_public, hub.sign_secret) in "
		    "keys_dir and restore again\n",
		    pk_diag.reason);
	else if (store_audit_verify(s, pk, &audit) == UG_OK &&
		 audit.broken_seq) {
		/* Broken before it was copied: another signing pair would
		 * not mend it, and advice to find one would mislead. */
		if (manifest_true(dir, "audit_verified") &&
		    !manifest_true(dir, "audit_intact"))
			ug_eprintf("hubctl: restore: warning: the restored "
				   "audit trail is broken (record %" PRIu64
				   ": %s), as it already was when the backup "
				   "was made (manifest.json audit_intact "
				   "false)\n",
				   audit.broken_seq, audit.problem);
		else
			ug_eprintf("hubctl: restore: warning: the restored "
				   "audit trail does not verify with %s "
				   "(record %" PRIu64 ": %s): if the backup "
				   "was made with another signing pair, move "
				   "data_dir aside, put that pair "
				   "(hub.sign_public, hub.sign_secret) in "
				   "keys_dir and restore again\n",
				   path, audit.broken_seq, audit.problem);
	}
	/* Unrecorded (the disk under data_dir full after the copy), the
	 * restored trail would go on without saying where it began, and a
	 * hubd started on that disk could store nothing: taken back, as a
	 * copy the disk would not take. */
	if (hubctl_audit_admin(s, keys, "restore", "ok", NULL, dir) != UG_OK)
		return 1;
	ug_oprintf("restored from %s: log up to sequence %" PRIu64 " (%" PRIu64
		   " events); run hubctl audit verify, then start hubd\n",
		   dir, st.last_seq, st.log_events);
	return 0;
}
