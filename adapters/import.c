/*
 * The adapter runtime, import side: one file in two passes.
 *
 * The first pass (adapter__plan, import_plan.c) reads the whole file once, in
 * constant memory, and decides everything that concerns the file as a whole:
 * its encoding, its format (CSV or JSON Lines), its kind of record (from
 * --kind or from the header), whether every column is known, and whether
 * it changed while read (still being written). A whole-file problem ends
 * there, before a single event is queued: nothing half-imported.
 *
 * The second pass (adapter__import) reads the rows again, turns each good
 * row into an event and each bad one into a line of the rejects file, and
 * queues the events in batches of ADAPTER_BATCH_MAX per synchronous
 * outbox transaction, all in one outbox stage (outbox.h): the sender
 * sees none of them until the whole file was read unchanged. Before each
 * transaction, and once at the end, it checks that the file is still the
 * one the first pass saw; if not, it stops (FILE_CHANGED). A file that
 * does not end FILE_DONE (changed, interrupted, or the rejects file
 * failed) has its stage aborted: every event it queued is taken out
 * again, so nothing of a refused file is ever sent, and importing it
 * again once complete queues it whole.
 *
 * Corrections: every event's id is derived from its natural key and its
 * content (adapter_event_finish). The outbox remembers, per natural key,
 * the latest event queued; a row with the same key and the same content
 * is a repeat (nothing queued), one with other content a correction that
 * supersedes the latest event. A correction back to content sent before
 * (A, then B, then A again) cannot reuse A's id, which the hub already
 * holds; it gets a reissued id (BLAKE2b over the content id and the id it
 * supersedes), which is deterministic too.
 *
 * What it must never do: print or log a CPR. Rows are copied verbatim
 * only into the rejects file (0600, beside the clerk's own input, where
 * the same rows already are); reports and diagnostics carry line numbers,
 * column names and reasons.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "adapters/adapter_int.h"
#include "adapters/fields.h"
#include "common/log.h"
#include "common/util.h"

/* ---- small helpers -------------------------------------------------- */

bool
adapter__same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Below this much room left, a failed outbox write is put down to a
 * full disk: LMDB reports a short write as an I/O error, which alone
 * would not tell the clerk what to do. */
#define OUTBOX_FULL_BELOW (16u << 20)

static void
outbox_failed(struct runtime *rt, const char *what, ug_err err,
	      const char *then)
{
	/* watch imports the file again by itself once it runs again: the
	 * clerk's step is import's alone. */
	const char *again = rt->watching
				? "; the file stays in the directory and is "
				  "imported again when the watcher is started "
				  "again"
				: ", then import the file again";
	struct statvfs fs;
	if (err == UG_EFULL)
		adapter__fatal(rt,
			       "%s: %s: the outbox is full of events the hub "
			       "has not acknowledged%s; run flush with the "
			       "hub reachable%s",
			       rt->path, what, then, again);
	else if (rt->outbox_path[0] && statvfs(rt->outbox_path, &fs) == 0 &&
		 (unsigned long long)fs.f_bavail * fs.f_frsize <
		     OUTBOX_FULL_BELOW)
		adapter__fatal(rt,
			       "%s: %s: %s: the disk is full (%llu KiB free "
			       "for %s)%s; free space there%s",
			       rt->path, what, ug_strerror(err),
			       (unsigned long long)fs.f_bavail * fs.f_frsize /
				   1024,
			       rt->outbox_path, then, again);
	else
		adapter__fatal(rt, "%s: %s: %s%s", rt->path, what,
			       ug_strerror(err), then);
}

bool
adapter__has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Write s as UTF-8 text: what a rejects file holds must open in the
 * clerk's spreadsheet and parse as JSON even where a row was not UTF-8. */
size_t
adapter__put_utf8_piece(FILE *f, const char *s, size_t len)
{
	uint8_t out[4];
	size_t n;
	size_t used = enc_utf8_piece((const uint8_t *)s, len, out, &n);
	fwrite(out, 1, n, f);
	return used;
}

void
adapter__put_text(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len;)
		i += adapter__put_utf8_piece(f, s + i, len - i);
}

/* A JSON string: quotes, backslashes and control bytes escaped, the rest
 * as it is (as UTF-8). */
void
adapter__json_string(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80) {
			i += adapter__put_utf8_piece(f, s + i, len - i) - 1;
			continue;
		}
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20 || c == 0x7F)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void
adapter__counts_json(FILE *f, const adapter_counts *c)
{
	fprintf(f,
		"\"rows\": %zu, \"events\": %zu, \"queued\": %zu, "
		"\"corrections\": %zu, \"accepted\": %zu, "
		"\"duplicates\": %zu, \"rejected_rows\": %zu, "
		"\"rejected_by_hub\": %zu, \"pending\": %zu",
		c->rows, c->events, c->queued, c->corrections, c->accepted,
		c->duplicates, c->rejected_rows, c->rejected_by_hub,
		c->pending);
}

/* ---- the outbox batch ----------------------------------------------- */

/* Has the file changed since the first pass? Then nothing more of it
 * may be queued: it is imported again once it is complete. */
static bool
file_changed(struct runtime *rt)
{
	struct stat st;
	if (!rt->changed && (fstat(rt->fd, &st) != 0 ||
			     !adapter__same_file(&rt->plan->st, &st)))
		rt->changed = true;
	return rt->changed;
}

/* An event the outbox already had is a duplicate: acked before (a
 * re-import), still pending from an earlier run (this run delivers it,
 * once), or queued by an earlier row of this run (a repeated row, which
 * the clerk should hear of). */
void
adapter__count_repeat(struct runtime *rt, int state, int64_t queued_at,
		      long line)
{
	rt->file.duplicates++;
	if (state != OUTBOX_SENT &&
	    (state == OUTBOX_ADDED || queued_at >= rt->started_ms))
		log_warn("ADP-REPEAT",
			 "%s:%ld: repeats an earlier row of this import "
			 "(same record, same values); ignored",
			 rt->path, line);
}

static void
drop_batch(struct runtime *rt)
{
	for (size_t i = 0; i < rt->nitems; i++) {
		sodium_memzero(rt->frames[i], rt->items[i].len);
		free(rt->frames[i]);
		if (rt->origins[i])
			sodium_memzero(rt->origins[i],
				       rt->items[i].origin_len);
		free(rt->origins[i]);
		rt->origins[i] = NULL;
	}
	rt->nitems = 0;
}

ug_err
adapter__flush_batch(struct runtime *rt)
{
	if (rt->nitems == 0)
		return UG_OK;
	if (file_changed(rt)) {
		drop_batch(rt);
		return UG_OK;
	}
	ug_err err = outbox_put(rt->ob, rt->items, rt->nitems, ug_now_ms());
	for (size_t i = 0; err == UG_OK && i < rt->nitems; i++) {
		if (rt->items[i].added == OUTBOX_ADDED) {
			rt->file.queued++;
			rt->file.corrections += rt->corrects[i];
		} else if (rt->items[i].added == OUTBOX_TOO_LARGE) {
			/* queue_event refuses these with the row at hand,
			 * for the rejects file; here it is gone. */
			rt->file.events--;
			rt->file.rejected_rows++;
			adapter__eprint_line(
			    "%s:%ld: the row makes an event of %zu bytes, "
			    "over the hub's limit of %d; not queued",
			    rt->path, rt->lines[i], rt->items[i].len,
			    OUTBOX_FRAME_MAX);
		} else {
			adapter__count_repeat(rt, rt->items[i].added,
					      rt->items[i].queued_at,
					      rt->lines[i]);
		}
	}
	drop_batch(rt);
	if (err != UG_OK)
		outbox_failed(rt, "cannot write to the outbox", err, "");
	if (err == UG_OK && rt->on_batch)
		rt->on_batch(rt);
	return err;
}

/* The latest event for ev's natural key: in the batch not yet written
 * (state OUTBOX_ADDED), else in the outbox. */
ug_err
adapter__find_latest(struct runtime *rt, const adapter_event *ev,
		     outbox_latest *out)
{
	for (size_t j = rt->nitems; j-- > 0;)
		if (memcmp(rt->keys_hash[j], ev->key_hash, OUTBOX_KEY_LEN) ==
		    0) {
			memset(out, 0, sizeof *out);
			out->found = true;
			memcpy(out->content, rt->contents[j], OUTBOX_ID_LEN);
			memcpy(out->id, rt->ids[j], OUTBOX_ID_LEN);
			out->state = OUTBOX_ADDED;
			return UG_OK;
		}
	return outbox_lookup(rt->ob, ev->key_hash, out);
}

static ug_err
id_used(struct runtime *rt, const uint8_t *id, bool *used)
{
	for (size_t j = 0; j < rt->nitems; j++)
		if (memcmp(rt->ids[j], id, OUTBOX_ID_LEN) == 0) {
			*used = true;
			return UG_OK;
		}
	int state;
	int64_t queued_at;
	ug_err err = outbox_id_state(rt->ob, id, &state, &queued_at);
	*used = state != OUTBOX_UNKNOWN;
	return err;
}

/* A correction whose content was sent before under its own id (A, B,
 * A): derive a new id from the content id and the id it supersedes,
 * and again with a counter in the unlikely case that is taken too. */
ug_err
adapter__reissue(struct runtime *rt, adapter_event *ev,
		 const uint8_t *supersedes)
{
	uint8_t in[2 * OUTBOX_ID_LEN + 1], hash[16];
	memcpy(in, ev->event_id, OUTBOX_ID_LEN); /* the content id */
	memcpy(in + OUTBOX_ID_LEN, supersedes, OUTBOX_ID_LEN);
	for (uint8_t round = 0; round < 16; round++) {
		bool used;
		ug_err err = id_used(rt, ev->event_id, &used);
		if (err != UG_OK || !used)
			return err;
		in[2 * OUTBOX_ID_LEN] = round;
		ug_keyed_hash(rt->keys->hash_key, in, sizeof in, hash,
			      sizeof hash);
		memcpy(ev->event_id + 8, hash, 8);
	}
	return UG_EEXISTS;
}

/* An event over the hub's frame limit. Only long values could make one,
 * and adapter_event_finish has checked every text against WIRE_TEXT_MAX,
 * so none does today; should the schema ever allow more, the clerk is
 * told here. Name the column with the longest value: the one to shorten. */
void
adapter__too_large(const struct runtime *rt, const adapter_row *row,
		   size_t len, ug_diag *diag)
{
	const csv_column *cols = rt->plan->kind->columns;
	size_t longest = 0, at = 0;
	for (size_t i = 0; cols[i].name; i++) {
		size_t n = row->field[i] ? strlen(row->field[i]) : 0;
		if (n > longest) {
			longest = n;
			at = i;
		}
	}
	ug_diag_set(diag, longest ? cols[at].name : "",
		    "the row makes an event of %zu bytes, over the hub's "
		    "limit of %d; the longest value (%zu bytes) is in this "
		    "column: shorten it",
		    len, WIRE_MAX_FRAME, longest);
}

/* ---- rows ----------------------------------------------------------- */

/* The file's own name for the column a diag names canonically. */
static void
file_column_name(const struct runtime *rt, ug_diag *diag)
{
	const csv_column *cols = rt->plan->kind->columns;
	for (size_t i = 0; cols[i].name; i++) {
		if (strcmp(cols[i].name, diag->field) != 0)
			continue;
		if (rt->index[i] < 0) {
			/* An optional column some rows need ("consent is
			 * empty"): the clerk would look for a cell that is
			 * not there, the column being missing. */
			size_t len = strlen(diag->reason);
			snprintf(diag->reason + len, sizeof diag->reason - len,
				 " (the file has no %s column)", cols[i].name);
			return;
		}
		const char *name =
		    rt->csv ? csv_header_name(rt->csv, (size_t)rt->index[i])
			    : rt->plan->key_names[rt->index[i]];
		ug_strlcpy(diag->field, name, sizeof diag->field);
		return;
	}
}

static void
fill_row(const struct runtime *rt, adapter_row *row)
{
	const csv_column *cols = rt->plan->kind->columns;
	const jsonl_record *rec =
	    rt->jsonl ? jsonl_record_of(rt->jsonl) : NULL;
	for (size_t i = 0; cols[i].name; i++) {
		int at = rt->index[i];
		if (at < 0) {
			row->field[i] = NULL;
		} else if (rt->csv) {
			row->field[i] = csv_field(rt->csv, (size_t)at);
		} else {
			/* A key this object lacks reads as an empty cell. */
			row->field[i] = "";
			for (size_t k = 0; k < rec->count; k++)
				if (strcmp(jsonl_key(rec, k),
					   rt->plan->key_names[at]) == 0) {
					row->field[i] = jsonl_value(rec, k);
					break;
				}
		}
	}
}

/* One good record: parse, finish, queue; a refusal is a bad row. */
static ug_err
import_record(struct runtime *rt)
{
	if (rt->csv && csv_repeats_header(rt->csv)) {
		ug_diag diag = {0};
		ug_diag_set(&diag, "",
			    "the row repeats the header row (are two exports "
			    "joined into one file?): delete it");
		return adapter__reject_row(rt, &diag);
	}
	adapter_row row;
	fill_row(rt, &row);
	adapter_event ev;
	adapter_event_init(&ev);
	ug_diag diag = {0};
	ug_err err = rt->plan->kind->parse_row(&row, &ev, &diag);
	/* A row taken with a note (values it ignored): said once the event
	 * is queued, under the file's own column name, so the clerk can
	 * fix the source without the row being held back. */
	ug_diag note = {0};
	if (err == UG_OK && diag.reason[0]) {
		note = diag;
		file_column_name(rt, &note);
		memset(&diag, 0, sizeof diag);
	}
	if (err == UG_OK)
		err = adapter_event_finish(&ev, rt->agency, rt->keys->hash_key,
					   ug_now_ms(), &diag);
	if (err == UG_OK)
		err = adapter__queue_event(rt, &row, &ev, &diag);
	sodium_memzero(&ev, sizeof ev);
	if (err == UG_OK && note.reason[0])
		log_notice("ADP-NOTE", "%s:%ld: column %s: %s", rt->path,
			   adapter__current_line(rt), note.field, note.reason);
	if (err == UG_EMALFORMED) {
		file_column_name(rt, &diag);
		return adapter__reject_row(rt, &diag);
	}
	return err;
}

/* A bad JSON line names the key it concerns by position only; if that
 * key is one of the kind's columns, name it (a known column name is
 * never personal data). */
static void
name_bad_key(const struct runtime *rt, ug_diag *diag)
{
	const jsonl_record *rec = jsonl_record_of(rt->jsonl);
	if (rec->bad_key < 0 || (size_t)rec->bad_key >= rec->count + 1)
		return;
	const char *key = jsonl_key(rec, (size_t)rec->bad_key);
	bool known = false;
	for (const csv_column *c = rt->plan->kind->columns; !known && c->name;
	     c++)
		known = csv_column_matches(c, key);
	/* A key ignore_columns lets be is named too (a value over the
	 * limit), as CSV names such a column, unless its name could be a
	 * CPR (list_add's rule): a key has no position to name it by. */
	size_t digits = 0;
	for (const char *p = key; *p; p++)
		digits += *p >= '0' && *p <= '9';
	if (!known && adapter__ignorable(rt, key) &&
	    digits <= NAME_DIGITS_MAX && strlen(key) <= NAME_QUOTE_MAX)
		known = true;
	if (known)
		ug_strlcpy(diag->field, key, sizeof diag->field);
}

static ug_err
next_record(struct runtime *rt, ug_diag *diag)
{
	if (rt->csv)
		return csv_next(rt->csv, diag);
	ug_err err = jsonl_next(rt->jsonl, diag);
	if (err == UG_OK)
		err = jsonl_check_values(rt->jsonl, diag);
	if (err == UG_EMALFORMED)
		name_bad_key(rt, diag);
	return err;
}

/* Progress of a file's import, on stderr only when it is a terminal (a
 * person watching), never with --json or while watching a directory:
 * rows, rows/s and the time left estimated from the bytes read. One
 * line, redrawn at most 4 times a second, ended when the file is. */
typedef struct {
	bool on, shown;
	int64_t start, next;
} progress;

static void
progress_show(struct runtime *rt, progress *pg, bool done)
{
	int64_t now = ug_mono_ms();
	if (!pg->on || (!done && now < pg->next))
		return;
	pg->next = now + 250;
	double secs = (double)(now - pg->start) / 1000;
	double rate = secs > 0 ? (double)rt->file.rows / secs : 0;
	long at = rt->raw ? ftell(rt->raw) : -1;
	off_t size = rt->plan->st.st_size;
	char left[32] = "?";
	if (done)
		snprintf(left, sizeof left, "done");
	else if (at > 0 && size > at && secs > 0)
		snprintf(left, sizeof left, "%.0f s left",
			 secs * (double)(size - at) / (double)at);
	/* Redrawn in place on a terminal with a carriage return and an
	 * erase, which ug_eprintf would turn into '?': the path is kept to
	 * one line and masked here instead. */
	char line[4096 + 96];
	snprintf(line, sizeof line, "%s: %zu rows, %.0f rows/s, %s", rt->path,
		 rt->file.rows, rate, left);
	adapter__one_line(line);
	ug_cpr_mask(line);
	fprintf(stderr, "\r%s\033[K%s", line, done ? "\n" : "");
	fflush(stderr);
	pg->shown = true;
}

static adapter_file_status
import_rows(struct runtime *rt)
{
	ug_err err = UG_OK;
	adapter_file_status status = FILE_DONE;
	progress pg = {isatty(STDERR_FILENO) && !rt->watching &&
			   !ug_config_bool(rt->cfg, "json"),
		       false, ug_mono_ms(), ug_mono_ms() + 250};
	while (err == UG_OK && !rt->changed) {
		progress_show(rt, &pg, false);
		if (adapter__stop) {
			status = FILE_STOPPED;
			break;
		}
		ug_diag diag = {0};
		ug_err got = next_record(rt, &diag);
		if (got == UG_ENOTFOUND)
			break;
		if (got == UG_EIO) {
			adapter__fatal(rt, "%s: %s", rt->path, diag.reason);
			err = got;
			break;
		}
		rt->file.rows++;
		err = got == UG_OK ? import_record(rt)
				   : adapter__reject_row(rt, &diag);
	}
	progress_show(rt, &pg, true);
	/* Whatever stopped the loop, the rows already parsed are good:
	 * queue them (unless the file changed under us); the stage decides
	 * whether they stay. */
	ug_err ferr = adapter__flush_batch(rt);
	if (err == UG_OK)
		err = ferr;
	if (err != UG_OK)
		return FILE_FATAL;
	if (file_changed(rt))
		return FILE_CHANGED;
	return status;
}

static void
add_counts(adapter_counts *to, const adapter_counts *from)
{
	to->rows += from->rows;
	to->events += from->events;
	to->queued += from->queued;
	to->corrections += from->corrections;
	to->duplicates += from->duplicates;
	to->rejected_rows += from->rejected_rows;
}

static ug_err
open_readers(struct runtime *rt, ug_diag *diag)
{
	const adapter_plan *plan = rt->plan;
	ug_err err = adapter__open_text(rt->fd, plan->encoding, &rt->raw,
					&rt->text, diag);
	if (err != UG_OK)
		return err;
	const csv_column *cols = plan->kind->columns;
	if (plan->format == FORMAT_JSONL) {
		err = jsonl_reader_new(&rt->jsonl, rt->text, plan->path);
		if (err == UG_OK)
			err = csv_map_names(plan->key_names, plan->nkeys, cols,
					    rt->index, NULL, 0, diag);
		return err;
	}
	err = csv_reader_new(&rt->csv, rt->text, plan->path, diag);
	if (err == UG_OK) {
		char left[sizeof plan->unknown];
		adapter__leave_out_repeats(rt, rt->csv, left, sizeof left);
		err = csv_map_columns(rt->csv, cols, rt->index, NULL, 0, diag);
	}
	return err;
}

static void
log_file(const struct runtime *rt)
{
	const adapter_plan *plan = rt->plan;
	char sep[24] = "";
	if (rt->csv)
		snprintf(sep, sizeof sep, ", separator '%c'",
			 csv_separator(rt->csv));
	log_info("ADP-FILE", "%s: %s, %s%s%s, kind %s%s", rt->path,
		 plan->format == FORMAT_JSONL ? "JSON Lines" : "CSV",
		 enc_name(plan->encoding),
		 plan->encoding_detected ? " (detected)" : "",
		 plan->bom ? " with BOM" : "", plan->kind->name, sep);
	if (plan->unknown[0])
		log_notice("ADP-FILE", "%s: ignoring column(s) %s", rt->path,
			   plan->unknown);
}

/* A file name as the summary shows it: one named after a CPR (a clerk's
 * export per pupil) is masked as the logs mask it, since the summary
 * ends up in the journal beside them (SECURITY.md). */
static void
shown_path(const char *text, char *out, size_t cap)
{
	ug_strlcpy(out, text ? text : "", cap);
	/* Before the conversion too, as the logs do (common/log.c). */
	ug_cpr_mask(out);
	ug_utf8_from_cp1252(out, cap);
	ug_cpr_mask(out);
	adapter__one_line(out);
}

/* One line per file on stdout, before the run's summary: what the file
 * was read as (the encoding detected, above all) and what became of it.
 * With --json it is a JSON object like the summary, which stays last. */
static void
print_file(const struct runtime *rt, adapter_file_status status)
{
	const adapter_plan *plan = rt->plan;
	const adapter_counts *c = &rt->file;
	const char *format = plan->format == FORMAT_JSONL ? "jsonl" : "csv";
	static const char *const names[] = {"done", "failed", "changed",
					    "stopped", "fatal"};
	char path[PATH_MAX];
	shown_path(plan->path, path, sizeof path);
	if (ug_config_bool(rt->cfg, "json")) {
		fputs("{\"file\": ", stdout);
		adapter__json_string(stdout, path, strlen(path));
		printf(", \"status\": \"%s\", \"format\": \"%s\", "
		       "\"encoding\": \"%s\", \"encoding_detected\": %s, "
		       "\"kind\": \"%s\", \"rows\": %zu, \"events\": %zu, "
		       "\"queued\": %zu, \"corrections\": %zu, "
		       "\"duplicates\": %zu, \"rejected_rows\": %zu}\n",
		       names[status], format, enc_name(plan->encoding),
		       plan->encoding_detected ? "true" : "false",
		       plan->kind->name, c->rows, c->events, c->queued,
		       c->corrections, c->duplicates, c->rejected_rows);
	} else {
		printf("file %s: %s, %s%s, kind %s: rows %zu, events %zu, "
		       "queued %zu (corrections %zu), duplicates %zu, "
		       "rejected rows %zu%s\n",
		       path, format, enc_name(plan->encoding),
		       plan->encoding_detected ? " (detected)" : "",
		       plan->kind->name, c->rows, c->events, c->queued,
		       c->corrections, c->duplicates, c->rejected_rows,
		       status == FILE_DONE ? "" : " (not complete)");
	}
}

void
adapter__print_unimported(const struct runtime *rt, const char *file,
			  bool failed, const char *why)
{
	char path[PATH_MAX], error[PATH_MAX + 512];
	shown_path(file, path, sizeof path);
	shown_path(why, error, sizeof error);
	if (ug_config_bool(rt->cfg, "json")) {
		fputs("{\"file\": ", stdout);
		adapter__json_string(stdout, path, strlen(path));
		printf(", \"status\": \"%s\", \"error\": ",
		       failed ? "failed" : "not_imported");
		adapter__json_string(stdout, error, strlen(error));
		/* The keys of every file's line, so that a script reads
		 * them all alike; what was not read is null. */
		fputs(", \"format\": null, \"encoding\": null, "
		      "\"encoding_detected\": null, \"kind\": null, "
		      "\"rows\": 0, \"events\": 0, \"queued\": 0, "
		      "\"corrections\": 0, \"duplicates\": 0, "
		      "\"rejected_rows\": 0}\n",
		      stdout);
	} else {
		printf("file %s: %s: %s\n", path,
		       failed ? "failed" : "not imported", error);
	}
}

/* The file is queued whole or not at all: release what it queued to
 * the sender, or take all of it out again. */
static adapter_file_status
settle_stage(struct runtime *rt, adapter_file_status status)
{
	ug_err err;
	if (status == FILE_DONE) {
		/* Not delivered at once (on_batch): a watcher moves the file
		 * into done/ first, where a refusal of its events is kept. */
		err = outbox_stage_commit(rt->ob);
	} else {
		size_t removed = 0;
		err = outbox_stage_abort(rt->ob, &removed);
		if (err == UG_OK && removed)
			log_notice("ADP-UNQUEUED",
				   "%s: not imported; the %zu events queued "
				   "from it are taken out of the outbox again",
				   rt->path, removed);
		rt->file.queued = 0;
		rt->file.corrections = 0;
		if (err != UG_OK) {
			outbox_failed(rt,
				      "cannot take what was queued from it "
				      "out of the outbox",
				      err,
				      "; it stays held back, never sent, and "
				      "the next import, flush or watch takes "
				      "it out");
			return FILE_FATAL;
		}
	}
	if (err == UG_OK)
		return status;
	outbox_failed(rt, "cannot write to the outbox", err, "");
	return FILE_FATAL;
}

adapter_file_status
adapter__import(struct runtime *rt, const adapter_plan *plan)
{
	memset(&rt->file, 0, sizeof rt->file);
	rt->plan = plan;
	rt->path = plan->path;
	rt->changed = false;
	rt->rejects_shared =
	    !rt->rejects_path[0] && ug_config_get(rt->cfg, "rejects")[0];
	rt->rejects = rt->rejects_shared
			  ? rt->shared[plan->format == FORMAT_JSONL]
			  : NULL;
	adapter_file_status status = FILE_DONE;
	ug_diag diag = {0};
	/* Non-blocking, as in the first pass: a named pipe put in the file's
	 * place meanwhile would hold the run in open() for ever; opened, it
	 * is not the file the first pass read (file_changed). */
	rt->fd =
	    open(plan->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (rt->fd < 0) {
		adapter__fatal(rt, "cannot open %s: %s", plan->path,
			       strerror(errno));
		return FILE_FATAL;
	}
	outbox_stage_begin(rt->ob);
	if (file_changed(rt)) {
		status = FILE_CHANGED;
	} else if (open_readers(rt, &diag) != UG_OK) {
		/* The first pass read the same bytes without complaint. */
		adapter__fatal(rt, "%s: %s", plan->path, diag.reason);
		status = FILE_FATAL;
	} else {
		log_file(rt);
		fields_read_as_latin1(plan->encoding == ENC_LATIN1);
		status = import_rows(rt);
	}
	/* The path must still name the file read: watch moves it next. */
	struct stat now;
	if (status == FILE_DONE && (stat(plan->path, &now) != 0 ||
				    !adapter__same_file(&plan->st, &now)))
		status = FILE_CHANGED;
	if (!rt->rejects_shared && adapter__close_rejects(rt) != UG_OK)
		status = FILE_FATAL;
	if (status == FILE_DONE && !rt->rejects_path[0] &&
	    (rt->file.rejected_rows == 0 || rt->rejects_shared))
		adapter__remove_stale_rejects(rt);
	status = settle_stage(rt, status);
	csv_reader_destroy(&rt->csv);
	jsonl_reader_destroy(&rt->jsonl);
	adapter__close_text(&rt->raw, &rt->text);
	close(rt->fd);
	rt->fd = -1;
	add_counts(&rt->counts, &rt->file);
	log_info("ADP-FILE",
		 "%s: %zu rows, %zu rejected, %zu queued (%zu corrections), "
		 "%zu duplicates",
		 plan->path, rt->file.rows, rt->file.rejected_rows,
		 rt->file.queued, rt->file.corrections, rt->file.duplicates);
	if (!rt->watching)
		print_file(rt, status);
	if (status == FILE_CHANGED)
		log_warn("ADP-CHANGED",
			 "%s changed while it was imported (still being "
			 "written?); it must be imported again once complete",
			 plan->path);
	return status;
}
