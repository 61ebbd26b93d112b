/*
 * The adapter runtime: settings, keys, the commands (`import FILE...`,
 * `flush`, `watch DIR`), the event id, delivery and the summary (see
 * adapter.h). Reading files is import.c's, the drop directory watch.c's,
 * delivery sender.c's.
 *
 * What it guarantees: every data row ends up either as an event in the
 * outbox (written synchronously, ADAPTER_BATCH_MAX events per
 * transaction, so a large file costs one commit per batch, not per row)
 * or as a line in the rejects file plus a FILE:LINE diagnostic; a row
 * is never dropped silently. A file is queued whole or not at all: one
 * with a whole-file problem, one that changed while read and one whose
 * import was interrupted leave nothing in the outbox (import.c). What it
 * must never do: print or log a CPR.
 */
#include "adapters/adapter.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/adapter_int.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/nodump.h"
#include "common/util.h"
#include "store/outbox.h"

#define ACK_TIMEOUT_MS 10000 /* PROTOCOL: unacked for 10 s -> resend */
#define PATH_LEN       ADAPTER_PATH_LEN
#define OUTBOX_DEFAULT "./var/adapters/AGENCY/outbox"

/* Help texts are short: ug_config_usage adds the default after each. */
static const ug_setting adapter_settings[] = {
    {"agency", NULL,
     "this agency's id as the hub registered it (hubctl register-agency)"},
    {"keys_dir", "./var/keys", "holds AGENCY.key_secret and hub.key"},
    {"hub", "tcp://127.0.0.1:7601",
     "the hub's ingest endpoint: tcp://HOST:PORT or ipc://PATH"},
    {"outbox", OUTBOX_DEFAULT,
     "outbox directory (AGENCY in it: the agency setting)"},
    {"timeout", "30",
     "import, flush: seconds without progress before exit 2 (0-604800; "
     "0: one round of sending)"},
    {"window", "256", "most events sent and not yet acknowledged (1-65536)"},
    {"rejects", "",
     "import: one rejected rows file for the run (empty: FILE.rejects.csv)"},
    {"kind", "",
     "import, watch: the kind of record in every file (empty: by header)"},
    {"format", "auto",
     "import, watch: csv, jsonl or auto (by extension or content)"},
    {"encoding", "auto",
     "import, watch: utf-8, cp1252, latin1, cp850 or auto (detected)"},
    {"ignore_columns", "",
     "import, watch: columns to leave out (comma list, * = any)"},
    {"settle", "2", "watch: seconds a file must stay unchanged (0-3600)"},
    {"rescan", "10", "watch: seconds between full directory scans (1-3600)"},
    {"json", "false", "print the per-file lines and the summary as JSON"},
    {"log_level", "info", "err, warn, notice, info or debug, in any case"},
    {NULL, NULL, NULL},
};

volatile sig_atomic_t adapter__stop;

/* ---- events ------------------------------------------------------- */

void
adapter_event_init(adapter_event *ev)
{
	memset(ev, 0, sizeof *ev);
	ungebro__v1__envelope__init(&ev->env);
	ungebro__v1__consent__init(&ev->consent);
}

ug_err
adapter_key_add(adapter_event *ev, const char *part)
{
	size_t len = strlen(part), sep = ev->natural_key_len ? 1 : 0;
	if (memchr(part, 0x1F, len) ||
	    ev->natural_key_len + sep + len > sizeof ev->natural_key)
		return UG_EMALFORMED;
	if (sep)
		ev->natural_key[ev->natural_key_len++] = 0x1F;
	memcpy(ev->natural_key + ev->natural_key_len, part, len);
	ev->natural_key_len += len;
	return UG_OK;
}

ug_err
adapter_event_finish(adapter_event *ev, const char *agency,
		     const uint8_t hash_key[UG_KEY_LEN], int64_t now_ms,
		     ug_diag *diag)
{
	assert(ev->natural_key_len > 0); /* parse_row must build one */
	ev->env.agency = (char *)agency;
	ev->env.schema_version = WIRE_SCHEMA_VERSION;
	ev->env.sent_at = now_ms;
	ev->env.supersedes.data = NULL;
	ev->env.supersedes.len = 0;
	/* The hub would refuse what fails here, and not as retryable:
	 * better a clerk sees it now, with the line number. An all-zero
	 * placeholder id passes the length check. */
	static const uint8_t placeholder[WIRE_EVENT_ID_LEN];
	ev->env.event_id.data = (uint8_t *)placeholder;
	ev->env.event_id.len = WIRE_EVENT_ID_LEN;
	if (wire_validate_envelope(&ev->env, now_ms, diag) !=
	    UNGEBRO__V1__ERROR_CODE__OK) {
		sodium_memzero(ev->natural_key, ev->natural_key_len);
		ev->natural_key_len = 0;
		return UG_EMALFORMED;
	}
	/* The content is the envelope as protobuf-c packs it, without what
	 * changes from run to run (sent_at) or is derived from the content
	 * (the ids): packing is deterministic for equal field values, and
	 * every value parse_row set is in it, so any changed value changes
	 * the id. */
	ev->env.event_id.data = NULL;
	ev->env.event_id.len = 0;
	ev->env.sent_at = 0;
	size_t len = wire_packed_size(&ev->env);
	size_t total = ev->natural_key_len + 1 + len;
	uint8_t *buf = malloc(total);
	if (!buf) {
		sodium_memzero(ev->natural_key, ev->natural_key_len);
		ev->natural_key_len = 0;
		return UG_ENOMEM;
	}
	memcpy(buf, ev->natural_key, ev->natural_key_len);
	buf[ev->natural_key_len] = 0x1E;
	wire_pack(&ev->env, buf + ev->natural_key_len + 1);
	ug_keyed_hash(hash_key, ev->natural_key, ev->natural_key_len,
		      ev->key_hash, sizeof ev->key_hash);
	/* Time first so the hub's dedup index and our outbox append in
	 * order; the keyed hash makes the rest unguessable without the
	 * agency's key, so an id reveals no CPR. */
	ug_put_be64(ev->event_id, (uint64_t)ev->env.occurred_at);
	uint8_t hash[16];
	ug_keyed_hash(hash_key, buf, total, hash, sizeof hash);
	memcpy(ev->event_id + 8, hash, 8);
	sodium_memzero(buf, total);
	free(buf);
	sodium_memzero(ev->natural_key, ev->natural_key_len);
	ev->natural_key_len = 0;
	ev->env.sent_at = now_ms;
	ev->env.event_id.data = ev->event_id;
	ev->env.event_id.len = WIRE_EVENT_ID_LEN;
	return UG_OK;
}

/* ---- setup -------------------------------------------------------- */

static void
on_signal(int sig)
{
	(void)sig;
	adapter__stop = 1;
}

/* A message as one line of UTF-8, whole however long the paths it
 * names: a cut would drop the hint at its end (what to do). Room for
 * every byte to become three (Windows-1252 read into UTF-8). NULL if
 * out of memory. */
static char *
message_line(const char *fmt, va_list ap)
{
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	char *text = n < 0 ? NULL : malloc(3 * (size_t)n + 1);
	if (text) {
		vsnprintf(text, (size_t)n + 1, fmt, again);
		/* A byte that is not UTF-8 between a CPR's halves is a
		 * dash to the mask only before it is converted. */
		ug_cpr_mask(text);
		ug_utf8_from_cp1252(text, 3 * (size_t)n + 1);
		adapter__one_line(text);
	}
	va_end(again);
	return text;
}

void
adapter__fatal(const struct runtime *rt, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = message_line(fmt, ap);
	va_end(ap);
	ug_eprintf_at(UG_LOG_ERR, "%s: %s\n", rt->program,
		      text ? text : "out of memory");
	free(text);
}

void
adapter__one_line(char *text)
{
	/* The C1 range too (U+0080-U+009F, two bytes in UTF-8): U+0085 is
	 * a line break to many a reader, so it would split a per-file line
	 * on stdout as surely as a line feed. */
	unsigned char *w = (unsigned char *)text;
	for (unsigned char *p = w; *p; p++) {
		if (*p < 0x20 || *p == 0x7F)
			*w++ = '?';
		else if (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			*w++ = '?', p++;
		else
			*w++ = *p;
	}
	*w = '\0';
}

void
adapter__eprint_line(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *text = message_line(fmt, ap);
	va_end(ap);
	ug_eprintf_at(UG_LOG_WARN, "%s\n", text ? text : "out of memory");
	free(text);
}

static size_t
usage_columns(const struct adapter_kind *kind, char *buf, size_t size)
{
	size_t used =
	    (size_t)snprintf(buf, size, "\nKind %s: %s\n", kind->name,
			     kind->description ? kind->description : "");
	for (const csv_column *c = kind->columns; c->name && used < size;
	     c++) {
		used +=
		    (size_t)snprintf(buf + used, size - used, "  %s", c->name);
		for (size_t a = 0;
		     a < CSV_ALIASES_MAX && c->aliases[a] && used < size; a++)
			used += (size_t)snprintf(buf + used, size - used,
						 "%s%s", a ? ", " : " (or ",
						 c->aliases[a]);
		if (used < size)
			used +=
			    (size_t)snprintf(buf + used, size - used, "%s%s\n",
					     c->aliases[0] ? ")" : "",
					     c->required ? "" : ", optional");
	}
	return used < size ? used : size;
}

static void
build_usage(const struct adapter_ops *ops, const char *program, char *buf,
	    size_t size)
{
	size_t used = (size_t)snprintf(
	    buf, size,
	    "Usage: %s --config FILE import FILE...  import files, then "
	    "deliver\n       %s --config FILE watch DIR       import what "
	    "is dropped into DIR\n       %s --config FILE flush           "
	    "deliver what the outbox holds\n\n%s\nColumns (a CSV file's "
	    "header row, or the keys of JSON Lines; any order; names match\n"
	    "ignoring case, reading ' ', a non-breaking space and '-' as "
	    "'_'):\n",
	    program, program, program,
	    ops->description ? ops->description : "");
	for (size_t k = 0; ops->kinds[k] && used < size; k++)
		used += usage_columns(ops->kinds[k], buf + used, size - used);
	if (used < size)
		snprintf(
		    buf + used, size - used,
		    "\nExit: 0 all delivered; 1 all delivered but rows "
		    "rejected (see the rejects file)\n      or refused by "
		    "the hub (kept there too; ADP-REJECT on stderr);\n"
		    "      2 not all "
		    "delivered yet (run again or flush); 3 fatal (also "
		    "usage:\n      an option given for another "
		    "command, e.g. flush --kind).");
}

/* mkdir -p path. The outbox's own directory too: made here, it is named
 * as a parent is, "PATH: cannot create DIR: WHY" (ADAPTERS.md, outbox). */
static ug_err
make_dirs(const char *path, ug_diag *diag)
{
	char buf[PATH_LEN];
	if (!ug_strlcpy(buf, path, sizeof buf))
		return UG_EINVAL;
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			ug_diag_set(diag, "outbox", "%s: cannot create %s: %s",
				    path, buf, strerror(errno));
			return UG_EIO;
		}
		*p = c;
		if (c == '\0')
			return UG_OK;
	}
}

/* Put the path in front of a diag's reason: the key and store loaders
 * name the file only in the field. */
static void
prefix_path(ug_diag *diag, const char *path)
{
	/* The key reader names the file itself where it can (PATH:LINE: ...,
	 * cannot open PATH: ...): said twice, the line no longer reads as
	 * the one PROTOCOL.md gives. */
	if (strstr(diag->reason, path))
		return;
	char reason[PATH_LEN + sizeof diag->reason + 2];
	snprintf(reason, sizeof reason, "%s: %s", path, diag->reason);
	ug_strlcpy(diag->reason, reason, sizeof diag->reason);
}

static ug_err
load_keys(struct runtime *rt, ug_diag *diag)
{
	const char *dir = ug_config_get(rt->cfg, "keys_dir");
	char path[PATH_LEN];
	snprintf(path, sizeof path, "%s%s%s.key_secret", dir, ug_dir_sep(dir),
		 rt->agency);
	ug_err err = ug_keys_load_secret(&rt->keys, path, diag);
	if (err != UG_OK) {
		prefix_path(diag, path);
		return err;
	}
	if (strcmp(rt->keys->id, rt->agency) != 0) {
		ug_diag_set(diag, "keys_dir",
			    "%s holds the key of '%s', not of "
			    "agency '%s'",
			    path, rt->keys->id, rt->agency);
		return UG_EINVAL;
	}
	char id[UG_ID_MAX];
	snprintf(path, sizeof path, "%s%shub.key", dir, ug_dir_sep(dir));
	err = ug_keys_load_public(path, id, rt->hub_key, diag);
	if (err != UG_OK)
		prefix_path(diag, path);
	return err;
}

static ug_err
open_outbox(struct runtime *rt, ug_diag *diag)
{
	const char *setting = ug_config_get(rt->cfg, "outbox");
	char path[PATH_LEN];
	/* AGENCY stands for the agency in any outbox setting, as in the
	 * default: one config template for all five adapters must not
	 * give them one outbox named AGENCY, sealed with one agency's key
	 * and refused by the others. */
	size_t used = 0;
	for (const char *p = setting; *p && used < sizeof path;) {
		const char *at = strstr(p, "AGENCY");
		size_t plain = at ? (size_t)(at - p) : strlen(p);
		const char *put[] = {p, at ? rt->agency : ""};
		size_t len[] = {plain, at ? strlen(rt->agency) : 0};
		for (size_t i = 0; i < 2; i++) {
			size_t n = len[i] < sizeof path - used
				       ? len[i]
				       : sizeof path - used;
			memcpy(path + used, put[i], n);
			used += n;
		}
		p += plain + (at ? strlen("AGENCY") : 0);
	}
	if (used >= sizeof path) {
		ug_diag_set(diag, "outbox", "%soutbox is too long a path",
			    ug_config_where(rt->cfg, "outbox"));
		return UG_EINVAL;
	}
	path[used] = '\0';
	/* Versions before took AGENCY literally in a path of one's own: an
	 * outbox they left there holds events the hub may not have yet, and
	 * an empty new one in its place would leave them unsent unsaid. */
	char old_db[PATH_LEN + 16], new_db[PATH_LEN + 16];
	struct stat st;
	snprintf(old_db, sizeof old_db, "%s/data.mdb", setting);
	snprintf(new_db, sizeof new_db, "%s/data.mdb", path);
	if (strcmp(path, setting) != 0 &&
	    strcmp(setting, OUTBOX_DEFAULT) != 0 && stat(new_db, &st) != 0 &&
	    errno == ENOENT && stat(old_db, &st) == 0) {
		ug_diag_set(
		    diag, "outbox",
		    "%soutbox: %s is the outbox an earlier version "
		    "made for this setting, which took AGENCY "
		    "literally; AGENCY now stands for the agency: move "
		    "it to %s (the events it still holds go with it) "
		    "and run the adapter again",
		    ug_config_where(rt->cfg, "outbox"), setting, path);
		return UG_EINVAL;
	}
	ug_strlcpy(rt->outbox_path, path, sizeof rt->outbox_path);
	ug_err err = make_dirs(path, diag);
	if (err != UG_OK)
		return err;
	err = outbox_open(&rt->ob, path, rt->keys->storage_key, 0, diag);
	if (err != UG_OK && !strstr(diag->reason, path))
		prefix_path(diag, path);
	return err;
}

static ug_err
setup(struct runtime *rt, ug_diag *diag)
{
	rt->agency = ug_config_get(rt->cfg, "agency");
	if (!ug_id_valid(rt->agency)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_diag_set(diag, "agency",
			    "%sagency '%s' is not a valid id " UG_ID_RULE,
			    ug_config_where(rt->cfg, "agency"),
			    ug_id_shown(rt->agency, shown, sizeof shown));
		return UG_EINVAL;
	}
	if (strcmp(rt->agency, "hub") == 0) {
		ug_diag_set(diag, "agency",
			    "%sagency " UG_ID_HUB_OWN
			    ": give the agency's own id",
			    ug_config_where(rt->cfg, "agency"));
		return UG_EINVAL;
	}
	int level = ug_log_parse_level(ug_config_get(rt->cfg, "log_level"));
	if (level < 0) {
		ug_diag_set(diag, "log_level",
			    "%slog_level must be err, warn, "
			    "notice, info or debug",
			    ug_config_where(rt->cfg, "log_level"));
		return UG_EINVAL;
	}
	ug_log_init(rt->program, level);
	const char *hub = ug_config_get(rt->cfg, "hub");
	/* Checked before a file is read, so that a typo does not leave the
	 * files queued and undelivered. */
	if (!ug_endpoint_valid(hub)) {
		ug_diag_set(diag, "hub",
			    "%shub '%s' is not an endpoint "
			    "(tcp://HOST:PORT or ipc://PATH)",
			    ug_config_where(rt->cfg, "hub"), hub);
		return UG_EINVAL;
	}
	/* Empty, keys_dir would name /AGENCY.key_secret and outbox no
	 * directory at all: refused as hubd and hubctl refuse them. */
	for (const char *const *d =
		 (const char *const[]){"keys_dir", "outbox", NULL};
	     *d; d++)
		if (!ug_config_get(rt->cfg, *d)[0]) {
			ug_diag_set(diag, *d, "%s%s must name a directory",
				    ug_config_where(rt->cfg, *d), *d);
			return UG_EINVAL;
		}
	/* Every number now, before a file is read: a bad window found at
	 * delivery would come after the files were queued. */
	if (ug_config_int(rt->cfg, "timeout", 0, 7 * 86400, &rt->timeout_s,
			  diag) != UG_OK ||
	    ug_config_int(rt->cfg, "window", 1, 65536, &rt->window, diag) !=
		UG_OK ||
	    ug_config_int(rt->cfg, "settle", 0, 3600, &rt->settle_s, diag) !=
		UG_OK ||
	    ug_config_int(rt->cfg, "rescan", 1, 3600, &rt->rescan_s, diag) !=
		UG_OK)
		return UG_EINVAL;
	/* The words too, before the keys: a usage error is told as one. */
	ug_err err = UG_OK;
	const char *enc = ug_config_get(rt->cfg, "encoding");
	if (err == UG_OK && enc_parse(enc, &rt->encoding) != UG_OK) {
		ug_diag_set(
		    diag, "encoding",
		    "%sencoding must be utf-8, cp1252, latin1, cp850 or auto",
		    ug_config_where(rt->cfg, "encoding"));
		err = UG_EINVAL;
	}
	const char *format = ug_config_get(rt->cfg, "format");
	/* In any case, as encoding and kind: CSV is what a clerk writes. */
	if (err == UG_OK) {
		if (strcasecmp(format, "csv") == 0)
			rt->format = FORMAT_CSV;
		else if (strcasecmp(format, "jsonl") == 0)
			rt->format = FORMAT_JSONL;
		else if (strcasecmp(format, "auto") == 0)
			rt->format = FORMAT_AUTO;
		else {
			ug_diag_set(diag, "format",
				    "%sformat must be csv, jsonl or auto",
				    ug_config_where(rt->cfg, "format"));
			err = UG_EINVAL;
		}
	}
	const char *kind = ug_config_get(rt->cfg, "kind");
	if (err == UG_OK && kind[0] && !adapter_find_kind(rt->ops, kind)) {
		char names[256] = "";
		for (size_t k = 0; rt->ops->kinds[k]; k++) {
			size_t used = strlen(names);
			snprintf(names + used, sizeof names - used, "%s%s",
				 k ? ", " : "", rt->ops->kinds[k]->name);
		}
		ug_diag_set(diag, "kind", "%skind must be one of: %s",
			    ug_config_where(rt->cfg, "kind"), names);
		err = UG_EINVAL;
	}
	if (err == UG_OK)
		err = ug_crypto_init();
	if (err == UG_OK)
		err = load_keys(rt, diag);
	if (err == UG_OK)
		err = open_outbox(rt, diag);
	return err;
}

/* ---- import ------------------------------------------------------- */

/* Named by the path as given: diag->file holds 255 bytes, and a longer
 * path cut there would name a directory instead of the file. */
static void
report_plan_error(const struct runtime *rt, const char *path,
		  const ug_diag *diag)
{
	if (diag->line > 0)
		adapter__fatal(rt, "%s:%ld: %s", path, diag->line,
			       diag->reason);
	else
		adapter__fatal(rt, "%s: %s", path, diag->reason);
}

/* The rejects setting names a file made at the first bad row: a
 * directory it cannot be made in is a settings error found before a
 * file is read, not a failure halfway through the first file. */
static ug_err
check_rejects_dir(const struct runtime *rt, char *why, size_t cap)
{
	const char *setting = ug_config_get(rt->cfg, "rejects");
	if (!setting[0])
		return UG_OK;
	char dir[4096];
	if (!ug_strlcpy(dir, setting, sizeof dir)) {
		snprintf(why, cap, "rejects = %s: the path is too long",
			 setting);
		return UG_EINVAL;
	}
	char *slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else
		slash[slash == dir] = '\0';
	struct stat st;
	errno = 0;
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		errno = ENOTDIR;
	if (errno != 0 || access(dir, W_OK | X_OK) != 0) {
		snprintf(
		    why, cap,
		    "rejects = %s: cannot make the rejects file in %s: %s",
		    setting, dir, strerror(errno));
		return UG_EINVAL;
	}
	for (int i = 0; i < 2; i++) {
		char path[ADAPTER_PATH_LEN];
		adapter__shared_rejects_path(
		    setting, i ? FORMAT_JSONL : FORMAT_CSV, path, sizeof path);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			snprintf(why, cap,
				 "rejects = %s: %s is %s: name the file the "
				 "rejected rows go to",
				 setting, path,
				 S_ISDIR(st.st_mode)
				     ? "a directory, not a file"
				     : "not a regular file");
			return UG_EINVAL;
		}
	}
	return UG_OK;
}

/* A rejects file is truncated when made and removed by a clean import:
 * one that is also an input of the run (import *.csv finds uge19.csv
 * and the corrected uge19.csv.rejects.csv) would lose the rows it holds
 * before they are read. Each rejects path is looked at once, and only
 * one that exists is compared with the inputs. */
static ug_err
check_rejects_inputs(const struct runtime *rt, char **files, size_t nfiles,
		     char *why, size_t cap)
{
	const char *setting = ug_config_get(rt->cfg, "rejects");
	size_t owners = setting[0] ? 1 : nfiles;
	for (size_t i = 0; i < owners; i++) {
		for (int f = 0; f < 2; f++) {
			char path[ADAPTER_PATH_LEN];
			if (setting[0])
				adapter__shared_rejects_path(
				    setting, f ? FORMAT_JSONL : FORMAT_CSV,
				    path, sizeof path);
			else
				snprintf(path, sizeof path, "%s.rejects.%s",
					 files[i], f ? "jsonl" : "csv");
			struct stat out, in;
			if (stat(path, &out) != 0)
				continue;
			for (size_t j = 0; j < nfiles; j++) {
				if (stat(files[j], &in) != 0 ||
				    in.st_dev != out.st_dev ||
				    in.st_ino != out.st_ino)
					continue;
				if (setting[0])
					snprintf(
					    why, cap,
					    "rejects = %s: %s is one of the "
					    "files to import; nothing was "
					    "imported: name another file",
					    setting, files[j]);
				else
					snprintf(
					    why, cap,
					    "%s is to be imported and is also "
					    "where the rejected rows of %s "
					    "go; nothing was imported: import "
					    "it in a run of its own, or give "
					    "--rejects PATH",
					    files[j], files[i]);
				return UG_EINVAL;
			}
		}
	}
	return UG_OK;
}

/* Whole-file problems first, for every file: a typo in the third name,
 * or a third file with a missing column, should not leave the first two
 * imported and the run half-done. */
static ug_err
import_files(struct runtime *rt, char **files, int nfiles)
{
	adapter_plan *plans = calloc((size_t)nfiles, sizeof *plans);
	/* Each file's whole-file problem, for its line on stdout. */
	ug_diag *why = calloc((size_t)nfiles, sizeof *why);
	if (!plans || !why) {
		free(plans);
		free(why);
		return UG_ENOMEM;
	}
	ug_err err = UG_OK;
	int failed = 0;
	for (int i = 0; i < nfiles; i++) {
		ug_diag diag = {0};
		ug_err perr = adapter__plan(rt, files[i], &plans[i], &diag);
		if (perr != UG_OK) {
			report_plan_error(rt, files[i], &diag);
			why[i] = diag;
			failed++;
			err = perr;
		}
	}
	/* One rejects file for the run: one header, so every CSV input
	 * must have the same header line (separator included). */
	const char *rejects = ug_config_get(rt->cfg, "rejects");
	const adapter_plan *first = NULL;
	for (int i = 0; !failed && rejects[0] && i < nfiles; i++) {
		if (plans[i].format != FORMAT_CSV)
			continue;
		/* Rows of every input share the file: one from Windows-1252
		 * needs the mark for a spreadsheet to read it as UTF-8. */
		if (plans[i].encoding != ENC_UTF8 || plans[i].bom)
			rt->shared_bom = true;
		if (!first) {
			first = &plans[i];
		} else if (strcmp(plans[i].header, first->header) != 0) {
			ug_diag_set(&why[i], "rejects",
				    "its header line is not the one of %s; "
				    "with rejects = %s every CSV file of the "
				    "run must have the same (one rejects "
				    "file, one header): import it in a run "
				    "of its own",
				    first->path, rejects);
			adapter__fatal(rt, "%s: %s", plans[i].path,
				       why[i].reason);
			failed++;
			err = UG_EINVAL;
		}
	}
	if (failed) {
		adapter__fatal(rt,
			       "nothing imported: %d of %d file(s) cannot be "
			       "imported as a whole",
			       failed, nfiles);
		char other[96];
		snprintf(other, sizeof other,
			 "%d other file(s) of the run cannot be imported "
			 "as a whole",
			 failed);
		for (int i = 0; i < nfiles; i++)
			adapter__print_unimported(
			    rt, files[i], why[i].reason[0] != '\0',
			    why[i].reason[0] ? why[i].reason : other);
	}
	rt->started_ms = ug_now_ms();
	int stopped_at = -1; /* the files after it are not imported */
	for (int i = 0; !failed && err == UG_OK && i < nfiles; i++) {
		if (adapter__stop) {
			adapter__fatal(rt,
				       "interrupted: %s and the files after "
				       "it were not imported",
				       plans[i].path);
			err = UG_ECLOSED;
			stopped_at = i - 1;
			break;
		}
		stopped_at = i;
		adapter_file_status st = adapter__import(rt, &plans[i]);
		if (st == FILE_FATAL) {
			err = UG_EIO;
		} else if (st == FILE_CHANGED) {
			adapter__fatal(rt,
				       "%s changed while it was imported (is "
				       "it still being written?); nothing of "
				       "it was queued: import it again once "
				       "it is complete",
				       plans[i].path);
			err = UG_EAGAIN;
		} else if (st == FILE_STOPPED) {
			adapter__fatal(rt,
				       "interrupted: nothing of %s was "
				       "queued; import it again",
				       plans[i].path);
			err = UG_ECLOSED;
		}
	}
	for (int i = stopped_at + 1; !failed && err != UG_OK && i < nfiles;
	     i++)
		adapter__print_unimported(rt, files[i], false,
					  "the run stopped before it");
	for (int i = 0; i < nfiles; i++)
		adapter__plan_fini(&plans[i]);
	free(plans);
	free(why);
	rt->rejects_shared = rejects[0] != '\0';
	bool made[2] = {rt->shared[0] != NULL, rt->shared[1] != NULL};
	ug_err cerr = adapter__close_rejects(rt);
	if (err == UG_OK && cerr == UG_OK && !failed)
		adapter__remove_shared_rejects(rt, made);
	return err == UG_OK ? cerr : err;
}

/* ---- delivery and the end ----------------------------------------- */

void
adapter__send_opts(const struct runtime *rt, adapter_send_opts *opts)
{
	*opts = (adapter_send_opts){
	    .endpoint = ug_config_get(rt->cfg, "hub"),
	    .hub_key = rt->hub_key,
	    .keys = rt->keys,
	    .timeout_ms = rt->timeout_s * 1000,
	    .window = rt->window,
	    .ack_timeout_ms = ACK_TIMEOUT_MS,
	    .stop = &adapter__stop,
	};
}

static ug_err
deliver(struct runtime *rt)
{
	adapter_send_opts opts;
	ug_diag diag = {0};
	adapter__send_opts(rt, &opts);
	ug_err err = adapter__send(rt->ob, &opts, &rt->counts, &diag);
	if (err == UG_ETIMEDOUT)
		return UG_OK; /* the pending count tells the rest */
	if (err != UG_OK)
		adapter__fatal(rt, "%s", diag.reason);
	return err;
}

/* 0, or the errno of the write that failed. */
static int
print_summary(const struct runtime *rt)
{
	const adapter_counts *c = &rt->counts;
	if (ug_config_bool(rt->cfg, "json")) {
		fputc('{', stdout);
		adapter__counts_json(stdout, c);
		fputs("}\n", stdout);
	} else {
		printf("summary: rows %zu, events %zu, queued %zu "
		       "(corrections %zu), accepted %zu, duplicates %zu, "
		       "rejected rows %zu, rejected by hub %zu, pending %zu\n",
		       c->rows, c->events, c->queued, c->corrections,
		       c->accepted, c->duplicates, c->rejected_rows,
		       c->rejected_by_hub, c->pending);
	}
	errno = 0;
	return fflush(stdout) == 0 ? 0 : errno;
}

static int
finish(struct runtime *rt, bool fatal_error)
{
	size_t sent, held = 0;
	if (rt->ob &&
	    (outbox_counts(rt->ob, &rt->counts.pending, &sent) != UG_OK ||
	     outbox_held(rt->ob, &held) != UG_OK))
		fatal_error = true;
	/* A file whose events could not be taken out again (a full disk)
	 * left them held back: the next open takes them out, none is sent,
	 * so they are not pending. */
	rt->counts.pending -=
	    held < rt->counts.pending ? held : rt->counts.pending;
	int lost = rt->ob ? print_summary(rt) : 0;
	/* The per-file lines and the summary are the run's report: one that
	 * never reached its file (a full disk, stdout closed) must not end
	 * as a success a script takes at its word. */
	errno = 0;
	if (lost || fflush(stdout) != 0 || ferror(stdout)) {
		adapter__fatal(rt,
			       "cannot write the run's report on standard "
			       "output: %s; the events were queued and sent "
			       "as usual (run flush to see what is pending)",
			       strerror(lost	? lost
					: errno ? errno
						: EIO));
		fatal_error = true;
	}
	if (rt->counts.pending > 0 && !fatal_error)
		log_notice("ADP-PENDING",
			   "%zu events stay in the outbox: run "
			   "again or flush",
			   rt->counts.pending);
	if (fatal_error)
		return ADAPTER_EXIT_FATAL;
	if (rt->counts.pending > 0)
		return ADAPTER_EXIT_PENDING;
	if (rt->counts.rejected_rows > 0 || rt->counts.rejected_by_hub > 0)
		return ADAPTER_EXIT_REJECTS;
	return ADAPTER_EXIT_OK;
}

/* The options only some commands use. An adapter.conf may hold all of
 * them for every command; typed on the command line for a command that
 * does not use it (flush --kind, import --settle), one would be dropped
 * without a word. */
static const struct {
	const char *option;
	const char *commands; /* each ended by ',' */
} option_commands[] = {
    {"timeout", "import,flush,"},  {"rejects", "import,"},
    {"kind", "import,watch,"},	   {"format", "import,watch,"},
    {"encoding", "import,watch,"}, {"ignore_columns", "import,watch,"},
    {"settle", "watch,"},	   {"rescan", "watch,"},
};

static bool
options_apply(struct runtime *rt, const char *cmd)
{
	char key[16];
	snprintf(key, sizeof key, "%s,", cmd);
	for (size_t i = 0;
	     i < sizeof option_commands / sizeof *option_commands; i++) {
		if (!ug_config_given(rt->cfg, option_commands[i].option) ||
		    strstr(option_commands[i].commands, key))
			continue;
		adapter__fatal(rt, "--%s does not apply to %s (see --help)",
			       option_commands[i].option, cmd);
		return false;
	}
	return true;
}

static int
run_command(struct runtime *rt, char **rest, int nrest)
{
	ug_diag diag = {0};
	bool import = nrest >= 2 && strcmp(rest[0], "import") == 0;
	bool flush = nrest == 1 && strcmp(rest[0], "flush") == 0;
	bool watch = nrest == 2 && strcmp(rest[0], "watch") == 0;
	if (!import && !flush && !watch) {
		/* "flush --json maybe": a bad --json, not a bad command. */
		if (!ug_config_stray_word(rt->cfg, rt->program, 0))
			adapter__fatal(
			    rt, "expected `import FILE...`, `watch DIR` or "
				"`flush` (see --help)");
		return ADAPTER_EXIT_FATAL;
	}
	if (!options_apply(rt, rest[0]))
		return ADAPTER_EXIT_FATAL;
	/* "import --json maybe f.csv": no file maybe, so the word was meant
	 * for --json; a file of that name is imported as it is. */
	for (int i = 1; import && i < nrest; i++)
		if (ug_config_after_flag(rt->cfg, i) &&
		    access(rest[i], F_OK) != 0 && errno == ENOENT &&
		    ug_config_stray_word(rt->cfg, rt->program, i))
			return ADAPTER_EXIT_FATAL;
	if (setup(rt, &diag) != UG_OK) {
		adapter__fatal(rt, "%s", diag.reason);
		return finish(rt, true);
	}
	if (watch)
		return adapter__watch(rt, rest[1]);
	char why[3 * ADAPTER_PATH_LEN + 256];
	if (import && check_rejects_dir(rt, why, sizeof why) != UG_OK) {
		adapter__fatal(rt, "%s", why);
		return finish(rt, true);
	}
	if (import && check_rejects_inputs(rt, rest + 1, (size_t)nrest - 1,
					   why, sizeof why) != UG_OK) {
		/* A rejects setting the run cannot use is a settings error,
		 * as a bad window is; an input that is where another one's
		 * rejected rows go is about the files: each has its line,
		 * as a script reading them expects. */
		adapter__fatal(rt, "%s", why);
		for (int i = 1;
		     i < nrest && !ug_config_get(rt->cfg, "rejects")[0]; i++)
			adapter__print_unimported(rt, rest[i], false, why);
		return finish(rt, true);
	}
	if (import && import_files(rt, rest + 1, nrest - 1) != UG_OK)
		return finish(rt, true);
	if (deliver(rt) != UG_OK)
		return finish(rt, true);
	return finish(rt, false);
}

int
adapter_main(const struct adapter_ops *ops, int argc, char **argv)
{
	ug_hold_std_streams();
	struct runtime rt = {.ops = ops, .fd = -1};
	snprintf(rt.program, sizeof rt.program, "adapter-%s", ops->name);
	/* Before anything can stop the run, so that its line carries the
	 * journal's priority as every other fatal line does. */
	ug_log_init(rt.program, UG_LOG_INFO);
	ug_diag nodump = {0};
	if (ug_forbid_core_dumps(&nodump) != UG_OK) {
		adapter__fatal(&rt, "%s", nodump.reason);
		return ADAPTER_EXIT_FATAL;
	}
	char usage[16384];
	build_usage(ops, rt.program, usage, sizeof usage);
	char **rest;
	int nrest;
	bool help;
	ug_diag diag = {0};
	if (ug_config_load(&rt.cfg, adapter_settings, usage, argc, argv, &rest,
			   &nrest, &help, &diag) != UG_OK) {
		adapter__fatal(&rt, "%s", diag.reason);
		return ADAPTER_EXIT_FATAL;
	}
	if (help) {
		ug_config_destroy(&rt.cfg);
		return ADAPTER_EXIT_OK;
	}
	adapter__stop = 0;
	ug_unblock_stop_signals();
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* Settings are read at start only; a stray SIGHUP must not end a
	 * watcher in a way systemd counts as clean and does not restart. */
	signal(SIGHUP, SIG_IGN);
	int code = run_command(&rt, rest, nrest);
	outbox_close(&rt.ob);
	ug_keys_destroy(&rt.keys);
	ug_config_destroy(&rt.cfg);
	return code;
}
