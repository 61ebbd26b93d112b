/*
 * The adapter runtime, import side: settings, keys, the commands, the
 * row loop, the rejects file, the outbox and the summary (see adapter.h;
 * delivery lives in sender.c).
 *
 * What it guarantees: every data row ends up either as an event in the
 * outbox (written synchronously, in batches of BATCH_MAX per transaction
 * so a large file costs a few hundred commits, not one per row) or as a
 * line in the rejects file plus a FILE:LINE diagnostic; a row is never
 * dropped silently. What it must never do: print or log a CPR. Rows are
 * copied verbatim only into the rejects file, which is created 0600 beside
 * the clerk's own input, where the same rows already are.
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
#include <sys/stat.h>
#include <unistd.h>

#include "adapters/adapter_int.h"
#include "common/config.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"
#include "store/outbox.h"

#define BATCH_MAX      256   /* events per outbox transaction */
#define ACK_TIMEOUT_MS 10000 /* SPEC: unacked for 10 s -> resend */
#define PATH_LEN       4096
#define OUTBOX_DEFAULT "./var/adapters/AGENCY/outbox"

/* Help texts are short: ug_config_usage adds the default after each. */
static const ug_setting adapter_settings[] = {
    {"agency", NULL, "this agency's registered id, e.g. school-hedemark"},
    {"keys_dir", "./var/keys", "holds AGENCY.key_secret and hub.key"},
    {"hub", "tcp://127.0.0.1:7601", "the hub's ingest endpoint"},
    {"outbox", OUTBOX_DEFAULT, "outbox directory (AGENCY: the agency)"},
    {"timeout", "30", "seconds without progress before exit 2"},
    {"window", "256", "most events sent and not yet acknowledged"},
    {"rejects", "", "rejected rows file (empty: FILE.rejects.csv)"},
    {"json", "false", "print the summary as one JSON object"},
    {"log_level", "info", "err, warn, notice, info or debug"},
    {NULL, NULL, NULL},
};

static volatile sig_atomic_t stop_requested;

struct runtime {
	const struct adapter_ops *ops;
	char program[64];
	ug_config *cfg;
	const char *agency;
	ug_keys *keys;
	char hub_key[UG_Z85_KEY_LEN + 1];
	outbox *ob;
	adapter_counts counts;

	/* The batch of events waiting for one outbox transaction. */
	outbox_item items[BATCH_MAX];
	uint8_t ids[BATCH_MAX][OUTBOX_ID_LEN];
	uint8_t *frames[BATCH_MAX];
	long lines[BATCH_MAX];
	size_t nitems;
	int64_t started_ms; /* events queued by this run have sent_at >= */

	/* The file being imported. */
	const char *path;
	csv_reader *csv;
	int index[ADAPTER_COLUMNS_MAX];

	/* Rejects: one file per input, or the one the setting names. */
	FILE *rejects;
	bool rejects_shared;
	bool rejects_header; /* header written for the current input */
};

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

void
adapter_event_id(const uint8_t hash_key[UG_KEY_LEN], int64_t occurred_at,
		 const void *natural_key, size_t len,
		 uint8_t out[WIRE_EVENT_ID_LEN])
{
	/* Time first so the hub's dedup index and our outbox append in
	 * order; the keyed hash makes the rest unguessable without the
	 * agency's key, so an id reveals no CPR. */
	uint64_t t = (uint64_t)occurred_at;
	for (int i = 7; i >= 0; i--, t >>= 8)
		out[i] = (uint8_t)t;
	uint8_t hash[16];
	ug_keyed_hash(hash_key, natural_key, len, hash, sizeof hash);
	memcpy(out + 8, hash, 8);
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
	adapter_event_id(hash_key, ev->env.occurred_at, ev->natural_key,
			 ev->natural_key_len, ev->event_id);
	sodium_memzero(ev->natural_key, ev->natural_key_len);
	ev->natural_key_len = 0;
	ev->env.event_id.data = ev->event_id;
	ev->env.event_id.len = WIRE_EVENT_ID_LEN;
	/* The hub would refuse what fails here, and not as retryable:
	 * better a clerk sees it now, with the line number. */
	if (wire_validate_envelope(&ev->env, now_ms, diag) !=
	    UNGEBRO__V1__ERROR_CODE__OK)
		return UG_EMALFORMED;
	return UG_OK;
}

/* ---- setup -------------------------------------------------------- */

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void fatal(const struct runtime *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fatal(const struct runtime *rt, const char *fmt, ...)
{
	char text[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", rt->program, text);
}

static void
build_usage(const struct adapter_ops *ops, const char *program, char *buf,
	    size_t size)
{
	size_t used = (size_t)snprintf(
	    buf, size,
	    "Usage: %s --config FILE import FILE...  import CSV files, "
	    "then deliver\n       %s --config FILE flush           "
	    "deliver what the outbox holds\n\n%s\nColumns (header row "
	    "required; any order; case-insensitive):\n",
	    program, program, ops->description ? ops->description : "");
	for (const csv_column *c = ops->columns; c->name && used < size; c++) {
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
	if (used < size)
		snprintf(buf + used, size - used,
			 "\nExit: 0 all delivered; 1 all delivered but rows "
			 "rejected (see the rejects file);\n      2 not all "
			 "delivered yet (run again or flush); 3 fatal.");
}

/* mkdir -p for the directories above path; the outbox makes the last. */
static ug_err
make_parents(const char *path, ug_diag *diag)
{
	char buf[PATH_LEN];
	if (!ug_strlcpy(buf, path, sizeof buf))
		return UG_EINVAL;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			ug_diag_set(diag, "outbox", "cannot create %s: %s",
				    buf, strerror(errno));
			return UG_EIO;
		}
		*p = '/';
	}
	return UG_OK;
}

/* Put the path in front of a diag's reason: the key and store loaders
 * name the file only in the field. */
static void
prefix_path(ug_diag *diag, const char *path)
{
	char reason[PATH_LEN + sizeof diag->reason + 2];
	snprintf(reason, sizeof reason, "%s: %s", path, diag->reason);
	ug_strlcpy(diag->reason, reason, sizeof diag->reason);
}

static ug_err
load_keys(struct runtime *rt, ug_diag *diag)
{
	const char *dir = ug_config_get(rt->cfg, "keys_dir");
	char path[PATH_LEN];
	snprintf(path, sizeof path, "%s/%s.key_secret", dir, rt->agency);
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
	snprintf(path, sizeof path, "%s/hub.key", dir);
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
	if (strcmp(setting, OUTBOX_DEFAULT) == 0)
		snprintf(path, sizeof path, "./var/adapters/%s/outbox",
			 rt->agency);
	else
		ug_strlcpy(path, setting, sizeof path);
	ug_err err = make_parents(path, diag);
	if (err == UG_OK)
		err =
		    outbox_open(&rt->ob, path, rt->keys->storage_key, 0, diag);
	if (err != UG_OK && !strstr(diag->reason, path))
		prefix_path(diag, path);
	return err;
}

static ug_err
setup(struct runtime *rt, ug_diag *diag)
{
	rt->agency = ug_config_get(rt->cfg, "agency");
	if (!ug_id_valid(rt->agency)) {
		ug_diag_set(diag, "agency",
			    "agency '%s' is not a valid id (1-63 "
			    "of a-z 0-9 . _ -)",
			    rt->agency);
		return UG_EINVAL;
	}
	int level = ug_log_parse_level(ug_config_get(rt->cfg, "log_level"));
	if (level < 0) {
		ug_diag_set(diag, "log_level",
			    "log_level must be err, warn, "
			    "notice, info or debug");
		return UG_EINVAL;
	}
	ug_log_init(rt->program, level);
	ug_err err = ug_crypto_init();
	if (err == UG_OK)
		err = load_keys(rt, diag);
	if (err == UG_OK)
		err = open_outbox(rt, diag);
	return err;
}

/* ---- the rejects file --------------------------------------------- */

static void
put_quoted(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			fputc('"', f);
		fputc(s[i], f);
	}
	fputc('"', f);
}

static void
put_value(FILE *f, const char *s, size_t len, char sep)
{
	bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');
	for (size_t i = 0; i < len && !quote; i++)
		quote =
		    s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (quote)
		put_quoted(f, s, len);
	else
		fwrite(s, 1, len, f);
}

/* Copy a row as it was, unless it would break the rejects file for the
 * rows after it: a row cut at CSV_RECORD_MAX, or one with an unclosed
 * quote, goes in as one quoted value instead. */
static void
put_raw(FILE *f, const char *raw, size_t len, bool truncated)
{
	size_t quotes = 0;
	for (size_t i = 0; i < len; i++)
		quotes += raw[i] == '"';
	if (truncated || quotes % 2)
		put_quoted(f, raw, len);
	else
		fwrite(raw, 1, len, f);
}

static ug_err
create_rejects(struct runtime *rt)
{
	const char *setting = ug_config_get(rt->cfg, "rejects");
	char path[PATH_LEN];
	rt->rejects_shared = setting[0] != '\0';
	if (rt->rejects_shared)
		ug_strlcpy(path, setting, sizeof path);
	else
		snprintf(path, sizeof path, "%s.rejects.csv", rt->path);
	struct stat in, out;
	if (stat(rt->path, &in) == 0 && stat(path, &out) == 0 &&
	    in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
		fatal(rt, "the rejects file %s is the input itself", path);
		return UG_EINVAL;
	}
	/* 0600: the rows hold CPRs. No symlink: we truncate what we open. */
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
	rt->rejects = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!rt->rejects) {
		fatal(rt, "cannot create the rejects file %s: %s", path,
		      strerror(errno));
		if (fd >= 0)
			close(fd);
		return UG_EIO;
	}
	log_notice("ADP-REJECTS", "rejected rows go to %s", path);
	return UG_OK;
}

/* The rejects file is made at the first bad row, never before, and gets
 * a header for each input it takes rows from. */
static ug_err
open_rejects(struct runtime *rt)
{
	ug_err err = rt->rejects ? UG_OK : create_rejects(rt);
	if (err != UG_OK || rt->rejects_header)
		return err;
	char sep = csv_separator(rt->csv);
	size_t len;
	const char *raw = csv_header_raw(rt->csv, &len);
	fprintf(rt->rejects, "line%ccolumn%creason%c", sep, sep, sep);
	fwrite(raw, 1, len, rt->rejects);
	fputs(csv_crlf(rt->csv) ? "\r\n" : "\n", rt->rejects);
	rt->rejects_header = true;
	return UG_OK;
}

static ug_err
close_rejects(struct runtime *rt)
{
	if (!rt->rejects)
		return UG_OK;
	bool ok = fflush(rt->rejects) == 0 && !ferror(rt->rejects) &&
		  fsync(fileno(rt->rejects)) == 0;
	ok = fclose(rt->rejects) == 0 && ok;
	rt->rejects = NULL;
	if (!ok)
		fatal(rt, "cannot write the rejects file: %s",
		      strerror(errno));
	return ok ? UG_OK : UG_EIO;
}

/* Name a column as the clerk's file does: the diag names it canonically. */
static void
file_column_name(const struct runtime *rt, ug_diag *diag)
{
	const csv_column *cols = rt->ops->columns;
	for (size_t i = 0; cols[i].name; i++)
		if (strcmp(cols[i].name, diag->field) == 0 &&
		    rt->index[i] >= 0) {
			ug_strlcpy(
			    diag->field,
			    csv_header_name(rt->csv, (size_t)rt->index[i]),
			    sizeof diag->field);
			return;
		}
}

static ug_err
reject_row(struct runtime *rt, ug_diag *diag)
{
	rt->counts.rejected_rows++;
	long line = csv_line(rt->csv);
	if (diag->field[0])
		fprintf(stderr, "%s:%ld: column %s: %s\n", rt->path, line,
			diag->field, diag->reason);
	else
		fprintf(stderr, "%s:%ld: %s\n", rt->path, line, diag->reason);
	ug_err err = open_rejects(rt);
	if (err != UG_OK)
		return err;
	char sep = csv_separator(rt->csv);
	size_t len;
	bool truncated;
	const char *raw = csv_raw(rt->csv, &len, &truncated);
	fprintf(rt->rejects, "%ld%c", line, sep);
	put_value(rt->rejects, diag->field, strlen(diag->field), sep);
	fputc(sep, rt->rejects);
	put_value(rt->rejects, diag->reason, strlen(diag->reason), sep);
	fputc(sep, rt->rejects);
	put_raw(rt->rejects, raw, len, truncated);
	fputs(csv_crlf(rt->csv) ? "\r\n" : "\n", rt->rejects);
	return ferror(rt->rejects) ? UG_EIO : UG_OK;
}

/* ---- the outbox batch --------------------------------------------- */

/* An event the outbox already had: acked before (a re-import), queued by
 * an earlier row of this run (a repeated report, which the clerk should
 * hear of: a correction in it would be lost), or left pending by an
 * earlier run, which this run delivers and counts by its ack. */
static void
count_not_added(struct runtime *rt, size_t i)
{
	if (rt->items[i].added == OUTBOX_SENT) {
		rt->counts.duplicates++;
	} else if (rt->items[i].queued_at >= rt->started_ms) {
		rt->counts.duplicates++;
		log_warn("ADP-REPEAT",
			 "%s:%ld: repeats the report of an earlier "
			 "row (same school, cpr, period and kind); ignored",
			 rt->path, rt->lines[i]);
	}
}

static ug_err
flush_batch(struct runtime *rt)
{
	if (rt->nitems == 0)
		return UG_OK;
	ug_err err = outbox_put(rt->ob, rt->items, rt->nitems, ug_now_ms());
	for (size_t i = 0; i < rt->nitems; i++) {
		if (err == UG_OK && rt->items[i].added == OUTBOX_ADDED)
			rt->counts.queued++;
		else if (err == UG_OK)
			count_not_added(rt, i);
		sodium_memzero(rt->frames[i], rt->items[i].len);
		free(rt->frames[i]);
	}
	rt->nitems = 0;
	if (err != UG_OK)
		fatal(rt, "cannot write to the outbox: %s", ug_strerror(err));
	return err;
}

static ug_err
queue_event(struct runtime *rt, const adapter_event *ev, ug_diag *diag)
{
	int kind = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT;
	size_t len = wire_encoded_size(kind, &ev->env);
	if (len > WIRE_MAX_FRAME) {
		ug_diag_set(diag, "",
			    "the row makes an event of %zu bytes, over "
			    "the limit of %d",
			    len, WIRE_MAX_FRAME);
		return UG_EMALFORMED;
	}
	uint8_t *frame = malloc(len);
	if (!frame)
		return UG_ENOMEM;
	wire_encode(kind, &ev->env, frame, len);
	size_t n = rt->nitems++;
	memcpy(rt->ids[n], ev->event_id, OUTBOX_ID_LEN);
	rt->frames[n] = frame;
	rt->lines[n] = csv_line(rt->csv);
	rt->items[n] = (outbox_item){rt->ids[n], frame, len, 0, 0};
	rt->counts.events++;
	return rt->nitems == BATCH_MAX ? flush_batch(rt) : UG_OK;
}

/* ---- import ------------------------------------------------------- */

/* One good CSV record: parse, finish, queue; a refusal is a bad row. */
static ug_err
import_record(struct runtime *rt)
{
	adapter_row row;
	const csv_column *cols = rt->ops->columns;
	for (size_t i = 0; cols[i].name; i++)
		row.field[i] = rt->index[i] >= 0
				   ? csv_field(rt->csv, (size_t)rt->index[i])
				   : NULL;
	adapter_event ev;
	adapter_event_init(&ev);
	ug_diag diag = {0};
	ug_err err = rt->ops->parse_row(&row, &ev, &diag);
	if (err == UG_OK)
		err = adapter_event_finish(&ev, rt->agency, rt->keys->hash_key,
					   ug_now_ms(), &diag);
	if (err == UG_OK)
		err = queue_event(rt, &ev, &diag);
	sodium_memzero(&ev, sizeof ev);
	if (err == UG_EMALFORMED) {
		file_column_name(rt, &diag);
		return reject_row(rt, &diag);
	}
	return err;
}

static ug_err
open_input(struct runtime *rt, FILE *f)
{
	ug_diag diag = {0};
	ug_err err = csv_reader_new(&rt->csv, f, rt->path, &diag);
	if (err == UG_OK)
		err = csv_map_columns(rt->csv, rt->ops->columns, rt->index,
				      NULL, 0, &diag);
	if (err != UG_OK) {
		fatal(rt, "%s:%ld: %s", rt->path, diag.line, diag.reason);
		return err;
	}
	char unknown[512];
	csv_map_columns(rt->csv, rt->ops->columns, rt->index, unknown,
			sizeof unknown, NULL);
	if (unknown[0])
		log_notice("ADP-CSV", "%s: ignoring column(s) %s", rt->path,
			   unknown);
	log_info("ADP-CSV", "%s: reading, separator '%c'", rt->path,
		 csv_separator(rt->csv));
	return UG_OK;
}

static ug_err
import_rows(struct runtime *rt)
{
	ug_err err = UG_OK;
	while (err == UG_OK && !stop_requested) {
		ug_diag diag = {0};
		ug_err got = csv_next(rt->csv, &diag);
		if (got == UG_ENOTFOUND)
			break;
		if (got == UG_EIO) {
			fatal(rt, "%s: %s", rt->path, diag.reason);
			err = got;
			break;
		}
		rt->counts.rows++;
		err = got == UG_OK ? import_record(rt) : reject_row(rt, &diag);
	}
	/* Whatever stopped the loop, the rows already parsed are good:
	 * queue them. */
	ug_err ferr = flush_batch(rt);
	return err == UG_OK ? ferr : err;
}

static ug_err
import_file(struct runtime *rt, const char *path)
{
	rt->path = path;
	FILE *f = fopen(path, "rb");
	if (!f) {
		fatal(rt, "cannot open %s: %s", path, strerror(errno));
		return UG_EIO;
	}
	size_t rows = rt->counts.rows, bad = rt->counts.rejected_rows;
	ug_err err = open_input(rt, f);
	if (err == UG_OK)
		err = import_rows(rt);
	rt->rejects_header = false;
	if (!rt->rejects_shared) {
		ug_err cerr = close_rejects(rt);
		err = err == UG_OK ? cerr : err;
	}
	csv_reader_destroy(&rt->csv);
	fclose(f);
	log_info("ADP-CSV", "%s: %zu rows, %zu rejected", path,
		 rt->counts.rows - rows, rt->counts.rejected_rows - bad);
	return err;
}

static ug_err
import_files(struct runtime *rt, char **files, int nfiles)
{
	/* Every file must open before any is imported: a typo in the third
	 * name should not leave the first two half-done. */
	for (int i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "rb");
		if (!f) {
			fatal(rt, "cannot open %s: %s", files[i],
			      strerror(errno));
			return UG_EIO;
		}
		fclose(f);
	}
	ug_err err = UG_OK;
	rt->started_ms = ug_now_ms();
	for (int i = 0; err == UG_OK && i < nfiles && !stop_requested; i++)
		err = import_file(rt, files[i]);
	ug_err cerr = close_rejects(rt);
	return err == UG_OK ? cerr : err;
}

/* ---- delivery and the end ----------------------------------------- */

static ug_err
deliver(struct runtime *rt)
{
	long timeout_s, window;
	ug_diag diag = {0};
	if (ug_config_int(rt->cfg, "timeout", 0, 7 * 86400, &timeout_s,
			  &diag) != UG_OK ||
	    ug_config_int(rt->cfg, "window", 1, 65536, &window, &diag) !=
		UG_OK) {
		fatal(rt, "%s", diag.reason);
		return UG_EINVAL;
	}
	adapter_send_opts opts = {
	    .endpoint = ug_config_get(rt->cfg, "hub"),
	    .hub_key = rt->hub_key,
	    .keys = rt->keys,
	    .timeout_ms = timeout_s * 1000,
	    .window = window,
	    .ack_timeout_ms = ACK_TIMEOUT_MS,
	    .stop = &stop_requested,
	};
	ug_err err = adapter__send(rt->ob, &opts, &rt->counts, &diag);
	if (err == UG_ETIMEDOUT)
		return UG_OK; /* the pending count tells the rest */
	if (err != UG_OK)
		fatal(rt, "%s", diag.reason);
	return err;
}

static void
print_summary(const struct runtime *rt)
{
	const adapter_counts *c = &rt->counts;
	if (ug_config_bool(rt->cfg, "json"))
		printf("{\"rows\": %zu, \"events\": %zu, \"queued\": %zu, "
		       "\"accepted\": %zu, \"duplicates\": %zu, "
		       "\"rejected_rows\": %zu, \"rejected_by_hub\": %zu, "
		       "\"pending\": %zu}\n",
		       c->rows, c->events, c->queued, c->accepted,
		       c->duplicates, c->rejected_rows, c->rejected_by_hub,
		       c->pending);
	else
		printf(
		    "summary: rows %zu, events %zu, queued %zu, accepted %zu, "
		    "duplicates %zu, rejected rows %zu, rejected by hub %zu, "
		    "pending %zu\n",
		    c->rows, c->events, c->queued, c->accepted, c->duplicates,
		    c->rejected_rows, c->rejected_by_hub, c->pending);
	fflush(stdout);
}

static int
finish(struct runtime *rt, bool fatal_error)
{
	size_t sent;
	if (rt->ob &&
	    outbox_counts(rt->ob, &rt->counts.pending, &sent) != UG_OK)
		fatal_error = true;
	if (rt->ob)
		print_summary(rt);
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

static int
run_command(struct runtime *rt, char **rest, int nrest)
{
	ug_diag diag = {0};
	bool import = nrest >= 2 && strcmp(rest[0], "import") == 0;
	bool flush = nrest == 1 && strcmp(rest[0], "flush") == 0;
	if (!import && !flush) {
		fatal(rt, "expected `import FILE...` or `flush` (see --help)");
		return ADAPTER_EXIT_FATAL;
	}
	if (setup(rt, &diag) != UG_OK) {
		fatal(rt, "%s", diag.reason);
		return finish(rt, true);
	}
	if (import && import_files(rt, rest + 1, nrest - 1) != UG_OK)
		return finish(rt, true);
	if (!stop_requested && deliver(rt) != UG_OK)
		return finish(rt, true);
	return finish(rt, false);
}

int
adapter_main(const struct adapter_ops *ops, int argc, char **argv)
{
	struct runtime rt = {.ops = ops};
	snprintf(rt.program, sizeof rt.program, "adapter-%s", ops->name);
	ug_log_init(rt.program, UG_LOG_INFO);
	char usage[4096];
	build_usage(ops, rt.program, usage, sizeof usage);
	char **rest;
	int nrest;
	bool help;
	ug_diag diag = {0};
	if (ug_config_load(&rt.cfg, adapter_settings, usage, argc, argv, &rest,
			   &nrest, &help, &diag) != UG_OK) {
		fatal(&rt, "%s", diag.reason);
		return ADAPTER_EXIT_FATAL;
	}
	if (help) {
		ug_config_destroy(&rt.cfg);
		return ADAPTER_EXIT_OK;
	}
	stop_requested = 0;
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int code = run_command(&rt, rest, nrest);
	outbox_close(&rt.ob);
	ug_keys_destroy(&rt.keys);
	ug_config_destroy(&rt.cfg);
	return code;
}
