/*
 * An event the hub refuses: once a row is queued the adapter holds an
 * event, and the hub may refuse it only later (this run's delivery, a
 * flush, after the file has gone). So that the row does not vanish
 * then, the outbox keeps with each event its origin: the file and line,
 * the rejects file its bad rows go to and how that file is written, the
 * input's header and the row as read.
 */
#include "adapters/adapter_int.h"
#include "adapters/fields.h"
#include "common/log.h"
#include "common/util.h"
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

#define ORIGIN_VERSION 1
#define ORIGIN_MAX     (128 * 1024) /* what the outbox keeps at most */

/* ORIGIN_BESIDE: the rejects file is FILE.rejects.csv (.jsonl), not
 * stored: every byte here is kept per event. */
enum { ORIGIN_CRLF = 1, ORIGIN_BOM = 2, ORIGIN_SHARED = 4, ORIGIN_BESIDE = 8 };

struct origin {
	int format;
	char sep;
	unsigned flags;
	long line;
	const char *path, *rejects, *header, *row;
	size_t path_len, rejects_len, header_len, row_len;
	bool truncated;
};

static void
put_piece(uint8_t **at, const void *data, size_t len)
{
	ug_put_be32(*at, (uint32_t)len);
	memcpy(*at + 4, data, len);
	*at += 4 + len;
}

static uint8_t *
make_origin(const struct runtime *rt, long line, size_t *out_len)
{
	char rejects[ADAPTER_PATH_LEN], cwd[ADAPTER_PATH_LEN];
	if (rt->report)
		ug_strlcpy(rejects, rt->done_rejects, sizeof rejects);
	else
		adapter__rejects_path(rt, rejects, sizeof rejects);
	/* A later flush may run in another directory. */
	if (rejects[0] != '/' && getcwd(cwd, sizeof cwd) &&
	    strlen(cwd) + 1 + strlen(rejects) < sizeof cwd) {
		size_t n = strlen(cwd);
		cwd[n] = '/';
		ug_strlcpy(cwd + n + 1, rejects, sizeof cwd - n - 1);
		ug_strlcpy(rejects, cwd, sizeof rejects);
	}
	size_t header_len = 0, row_len = 0;
	bool truncated = false;
	const char *header =
	    rt->csv ? csv_header_raw(rt->csv, &header_len) : "";
	const char *row = rt->csv ? csv_raw(rt->csv, &row_len, &truncated)
				  : jsonl_raw(rt->jsonl, &row_len, &truncated);
	size_t path_len = strlen(rt->path), rejects_len = strlen(rejects);
	const char *suffix = rt->plan->format == FORMAT_JSONL
				 ? ".rejects.jsonl"
				 : ".rejects.csv";
	bool beside = strncmp(rejects, rt->path, path_len) == 0 &&
		      strcmp(rejects + path_len, suffix) == 0;
	if (beside)
		rejects_len = 0;
	size_t fixed = 4 + 8 + 4 * 4 + 1 + path_len + rejects_len;
	if (fixed + header_len + row_len > ORIGIN_MAX)
		header_len = row_len = 0; /* file and line still name it */
	size_t len = fixed + header_len + row_len;
	uint8_t *buf = malloc(len), *at = buf;
	if (!buf)
		return NULL;
	bool bom = rt->rejects_shared
		       ? rt->shared_bom
		       : rt->plan->encoding != ENC_UTF8 || rt->plan->bom;
	*at++ = ORIGIN_VERSION;
	*at++ = (uint8_t)rt->plan->format;
	*at++ = (uint8_t)(rt->csv ? csv_separator(rt->csv) : ';');
	*at++ = (uint8_t)((rt->csv ? csv_crlf(rt->csv) : jsonl_crlf(rt->jsonl))
			      ? ORIGIN_CRLF
			      : 0) |
		(bom ? ORIGIN_BOM : 0) |
		(rt->rejects_shared ? ORIGIN_SHARED : 0) |
		(beside ? ORIGIN_BESIDE : 0);
	ug_put_be64(at, (uint64_t)line);
	at += 8;
	put_piece(&at, rt->path, path_len);
	put_piece(&at, rejects, rejects_len);
	put_piece(&at, header, header_len);
	put_piece(&at, row, row_len);
	*at++ = truncated;
	*out_len = len;
	return buf;
}

static bool
get_piece(const uint8_t **at, const uint8_t *end, const char **data,
	  size_t *len)
{
	if (end - *at < 4)
		return false;
	*len = ug_get_be32(*at);
	if ((size_t)(end - *at - 4) < *len)
		return false;
	*data = (const char *)*at + 4;
	*at += 4 + *len;
	return true;
}

static bool
read_origin(const uint8_t *buf, size_t len, struct origin *o)
{
	const uint8_t *at = buf, *end = buf + len;
	if (len < 12 || buf[0] != ORIGIN_VERSION)
		return false;
	o->format = buf[1];
	o->sep = (char)buf[2];
	o->flags = buf[3];
	o->line = (long)ug_get_be64(buf + 4);
	at += 12;
	if (!get_piece(&at, end, &o->path, &o->path_len) ||
	    !get_piece(&at, end, &o->rejects, &o->rejects_len) ||
	    !get_piece(&at, end, &o->header, &o->header_len) ||
	    !get_piece(&at, end, &o->row, &o->row_len) || end - at != 1)
		return false;
	o->truncated = *at != 0;
	return true;
}

/* The rejects file refused rows were last appended to, kept open until
 * the sender records the refusals (adapter__hub_refused_sync): a whole
 * file refused is one open and one fsync per batch of acks, not per row. */
static struct {
	char path[ADAPTER_PATH_LEN + 16];
	FILE *f;
} kept;

bool
adapter__hub_refused_sync(void)
{
	if (!kept.f)
		return true;
	bool ok = fflush(kept.f) == 0 && !ferror(kept.f) &&
		  fsync(fileno(kept.f)) == 0;
	int saved = errno;
	ok = fclose(kept.f) == 0 && ok;
	kept.f = NULL;
	if (!ok)
		log_err("ADP-REJECT",
			"cannot write the rows the hub refused to %s: %s",
			kept.path, strerror(saved ? saved : errno));
	return ok;
}

/* The rejects file at path, open for appending, made with the header
 * when it is not there or empty (an import without bad rows made none,
 * or removed an earlier one). Only a regular file takes the rows, as in
 * create_rejects: a named pipe would hold the sender until something
 * read them (without O_NONBLOCK, open itself waits for a reader), a
 * device swallow them. *what then says why, for the clerk. */
static FILE *
kept_open(const struct origin *o, const char *path, const char **what)
{
	if (kept.f && strcmp(kept.path, path) == 0)
		return kept.f;
	adapter__hub_refused_sync();
	int fd = open(path,
		      O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK |
			  O_CLOEXEC,
		      0600);
	struct stat st;
	if (fd < 0) {
		struct stat link;
		/* O_NOFOLLOW says ELOOP, a pipe without a reader ENXIO:
		 * neither tells a clerk anything. */
		if (errno == ELOOP && lstat(path, &link) == 0 &&
		    S_ISLNK(link.st_mode))
			*what = "it is a symbolic link, which the adapter "
				"never writes through";
		else if (errno == ENXIO || errno == EISDIR)
			*what = "it is not a regular file";
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    fcntl(fd, F_SETFL, O_APPEND) != 0) {
		close(fd);
		*what = "it is not a regular file";
		return NULL;
	}
	FILE *f = fdopen(fd, "a");
	if (!f) {
		close(fd);
		return NULL;
	}
	if (st.st_size == 0 && o->format != FORMAT_JSONL) {
		char sep = o->sep;
		if (o->flags & ORIGIN_BOM)
			fputs("\xEF\xBB\xBF", f);
		if (o->flags & ORIGIN_SHARED)
			fprintf(f, "file%c", sep);
		fprintf(f, "line%ccolumn%creason%c", sep, sep, sep);
		fwrite(o->header, 1, o->header_len, f);
		fputs(o->flags & ORIGIN_CRLF ? "\r\n" : "\n", f);
	}
	ug_strlcpy(kept.path, path, sizeof kept.path);
	kept.f = f;
	return f;
}

/* Append the refused row to its rejects file as a bad row is written. */
static bool
keep_refused(const struct origin *o, const char *path, const char *reason,
	     const char **what)
{
	FILE *f = kept_open(o, path, what);
	if (!f)
		return false;
	const char *eol = o->flags & ORIGIN_CRLF ? "\r\n" : "\n";
	bool shared = o->flags & ORIGIN_SHARED;
	if (o->format == FORMAT_JSONL) {
		fputc('{', f);
		if (shared) {
			fputs("\"file\": ", f);
			adapter__json_string(f, o->path, o->path_len);
			fputs(", ", f);
		}
		fprintf(f, "\"line\": %ld, \"column\": \"\", \"reason\": ",
			o->line);
		adapter__json_string(f, reason, strlen(reason));
		fputs(", \"record\": ", f);
		adapter__json_string(f, o->row, o->row_len);
		fprintf(f, "}%s", eol);
	} else {
		char sep = o->sep;
		if (shared) {
			adapter__put_value(f, o->path, o->path_len, sep);
			fputc(sep, f);
		}
		fprintf(f, "%ld%c%c", o->line, sep, sep);
		adapter__put_value(f, reason, strlen(reason), sep);
		fputc(sep, f);
		adapter__put_raw(f, o->row, o->row_len, o->truncated, sep);
		fputs(eol, f);
	}
	return !ferror(f);
}

/* Why a refused event cannot be named by its row: the operator's next
 * step differs (nothing to do for an old queue; the file's mode or the
 * disk when OUTBOX/origins cannot be opened or lost its tail). */
static const char *
origin_missing_why(ug_err got)
{
	switch (got) {
	case UG_ENOTFOUND:
		return "queued by an older adapter, or while OUTBOX/origins "
		       "could not be opened";
	case UG_ECLOSED:
		return "OUTBOX/origins cannot be opened";
	case UG_OK:
	case UG_EMALFORMED:
		return "its record in OUTBOX/origins is cut short or damaged";
	default:
		return "its record in OUTBOX/origins cannot be read";
	}
}

void
adapter__hub_refused(outbox *ob, const uint8_t *id, const char *code,
		     const char *reason)
{
	char hex[2 * OUTBOX_ID_LEN + 1];
	ug_hex(id, OUTBOX_ID_LEN, hex);
	static uint8_t *buf; /* one origin at a time, kept for the next */
	if (!buf)
		buf = malloc(ORIGIN_MAX);
	size_t len = 0;
	struct origin o;
	ug_err got =
	    buf ? outbox_origin(ob, id, buf, ORIGIN_MAX, &len) : UG_ENOMEM;
	if (got != UG_OK || !read_origin(buf, len, &o)) {
		log_warn("ADP-REJECT",
			 "the hub rejected event %s: %s: %.200s (the outbox "
			 "does not say which row it was: %s)",
			 hex, code, reason, origin_missing_why(got));
		return;
	}
	/* Copies with their ends: the origin's pieces are not strings. */
	char path[ADAPTER_PATH_LEN], rejects[ADAPTER_PATH_LEN + 16];
	snprintf(path, sizeof path, "%.*s", (int)o.path_len, o.path);
	if (o.flags & ORIGIN_BESIDE)
		snprintf(rejects, sizeof rejects, "%s.rejects.%s", path,
			 o.format == FORMAT_JSONL ? "jsonl" : "csv");
	else
		snprintf(rejects, sizeof rejects, "%.*s", (int)o.rejects_len,
			 o.rejects);
	char why[512];
	bool unregistered = strcmp(reason, WIRE_REASON_NOT_REGISTERED) == 0;
	snprintf(why, sizeof why,
		 "the hub refused the row's event %s: %s: %s%s", hex, code,
		 reason,
		 unregistered ? " (ask the hub's operator to register the "
				"agency for it, then import this row again)"
			      : "");
	const char *what = NULL;
	if (!rejects[0])
		log_warn("ADP-REJECT",
			 "the hub rejected event %s: %s: %.200s; row %s:%ld",
			 hex, code, reason, path, o.line);
	else if (keep_refused(&o, rejects, why, &what))
		log_warn("ADP-REJECT",
			 "the hub rejected event %s: %s: %.200s; row %s:%ld, "
			 "kept in %s",
			 hex, code, reason, path, o.line, rejects);
	else
		log_err("ADP-REJECT",
			"the hub rejected event %s: %s: %.200s; row %s:%ld, "
			"which cannot be kept in %s: %s",
			hex, code, reason, path, o.line, rejects,
			what ? what : strerror(errno));
	sodium_memzero(buf, len);
}

ug_err
adapter__queue_event(struct runtime *rt, const adapter_row *row,
		     adapter_event *ev, ug_diag *diag)
{
	outbox_latest latest;
	ug_err err = adapter__find_latest(rt, ev, &latest);
	if (err != UG_OK)
		return err;
	rt->file.events++;
	long line = adapter__current_line(rt);
	bool same = latest.found &&
		    memcmp(latest.content, ev->event_id, OUTBOX_ID_LEN) == 0;
	if (same && latest.state != OUTBOX_UNKNOWN) {
		adapter__count_repeat(rt, latest.state, latest.queued_at,
				      line);
		return UG_OK;
	}
	size_t n = rt->nitems;
	memcpy(rt->contents[n], ev->event_id, OUTBOX_ID_LEN);
	bool correction = latest.found && !same;
	if (correction) {
		memcpy(ev->supersedes, latest.id, OUTBOX_ID_LEN);
		ev->env.supersedes.data = ev->supersedes;
		ev->env.supersedes.len = OUTBOX_ID_LEN;
		if ((err = adapter__reissue(rt, ev, latest.id)) != UG_OK)
			return err;
	}
	int kind = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT;
	size_t len = wire_encoded_size(kind, &ev->env);
	if (len > WIRE_MAX_FRAME) {
		rt->file.events--;
		adapter__too_large(rt, row, len, diag);
		return UG_EMALFORMED;
	}
	uint8_t *frame = malloc(len);
	if (!frame)
		return UG_ENOMEM;
	wire_encode(kind, &ev->env, frame, len);
	memcpy(rt->ids[n], ev->event_id, OUTBOX_ID_LEN);
	memcpy(rt->keys_hash[n], ev->key_hash, OUTBOX_KEY_LEN);
	rt->frames[n] = frame;
	rt->lines[n] = line;
	rt->corrects[n] = correction;
	size_t origin_len = 0;
	rt->origins[n] = make_origin(rt, line, &origin_len);
	rt->items[n] = (outbox_item){
	    .id = rt->ids[n],
	    .frame = frame,
	    .len = len,
	    .key = rt->keys_hash[n],
	    .content = rt->contents[n],
	    .origin = rt->origins[n],
	    .origin_len = origin_len,
	};
	rt->nitems++;
	return rt->nitems == ADAPTER_BATCH_MAX ? adapter__flush_batch(rt)
					       : UG_OK;
}
