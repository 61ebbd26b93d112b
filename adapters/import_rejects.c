/*
 * The rejects file and the report: where a file's bad rows go (beside
 * it, or one file for the run), each row kept as read, with its line and
 * a reason; made 0600 and synced before the file counts as imported.
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

/* The path of the run-wide rejects file for a format: the setting names
 * the file of the format its name ends in (.jsonl: JSON Lines, else CSV);
 * the other format's rows go to the same name with .csv and .jsonl
 * swapped, or with the extension added when it ends in neither. */
void
adapter__shared_rejects_path(const char *setting, adapter_format format,
			     char *path, size_t size)
{
	bool want_jsonl = format == FORMAT_JSONL;
	bool is_jsonl = adapter__has_suffix(setting, ".jsonl");
	if (want_jsonl == is_jsonl) {
		ug_strlcpy(path, setting, size);
		return;
	}
	size_t stem = strlen(setting);
	if (is_jsonl)
		stem -= strlen(".jsonl");
	else if (adapter__has_suffix(setting, ".csv"))
		stem -= strlen(".csv");
	snprintf(path, size, "%.*s.%s", (int)stem, setting,
		 want_jsonl ? "jsonl" : "csv");
}

/* Where this input's rejected rows go: watch's work file, the run-wide
 * file of the rejects setting, or FILE.rejects.csv / .jsonl beside it. */
void
adapter__rejects_path(const struct runtime *rt, char *path, size_t size)
{
	const char *ext = rt->plan->format == FORMAT_JSONL ? "jsonl" : "csv";
	if (rt->rejects_path[0])
		ug_strlcpy(path, rt->rejects_path, size);
	else if (rt->rejects_shared)
		adapter__shared_rejects_path(ug_config_get(rt->cfg, "rejects"),
					     rt->plan->format, path, size);
	else
		snprintf(path, size, "%s.rejects.%s", rt->path, ext);
}

static ug_err
create_rejects(struct runtime *rt)
{
	char path[ADAPTER_PATH_LEN];
	adapter__rejects_path(rt, path, sizeof path);
	struct stat in, out;
	if (stat(rt->path, &in) == 0 && stat(path, &out) == 0 &&
	    in.st_dev == out.st_dev && in.st_ino == out.st_ino) {
		adapter__fatal(rt, "the rejects file %s is the input itself",
			       path);
		return UG_EINVAL;
	}
	/* 0600: the rows hold CPRs. No symlink: we truncate what we open.
	 * The mode at open only applies to a new file: one left from an
	 * earlier import, copied or chmodded open since, is narrowed too. */
	int fd =
	    open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK,
		 0600);
	/* A named pipe there would block the import for ever (or hand the
	 * rows to whoever reads it), a device swallow them: only a regular
	 * file takes them. */
	struct stat st;
	/* A directory of that name is no more a file to write rows to:
	 * "Is a directory ... in a directory you can write to" would send
	 * the clerk after permissions. */
	bool not_regular = fd < 0 && (errno == ENXIO || errno == EISDIR);
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
			fcntl(fd, F_SETFL, 0) != 0)) {
		not_regular = true;
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		fd = -1;
		errno = e;
	}
	rt->rejects = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!rt->rejects) {
		int why = errno;
		struct stat link;
		/* O_NOFOLLOW says ELOOP, which tells a clerk nothing. */
		bool is_link = why == ELOOP && lstat(path, &link) == 0 &&
			       S_ISLNK(link.st_mode);
		/* Beside an input on a share the clerk can only read, the
		 * way out is the rejects setting: say so. */
		const char *what =
		    not_regular ? "it is not a regular file"
				: "it is a symbolic link, which the adapter "
				  "never writes through";
		const char *remove =
		    not_regular ? "remove it" : "remove the link";
		if ((not_regular || is_link) && !rt->rejects_path[0] &&
		    !rt->rejects_shared)
			adapter__fatal(
			    rt,
			    "%s: cannot create the rejects file %s: "
			    "%s; nothing of %s was queued: %s, or "
			    "import it again with --rejects PATH",
			    rt->path, path, what, rt->path, remove);
		else if (not_regular || is_link)
			adapter__fatal(
			    rt,
			    "cannot create the rejects file %s: %s: "
			    "%s",
			    path, what, remove);
		else if (!rt->rejects_path[0] && !rt->rejects_shared)
			adapter__fatal(
			    rt,
			    "%s: cannot create the rejects file %s: %s; "
			    "nothing of %s was queued: import it again with "
			    "--rejects PATH %s",
			    rt->path, path, strerror(why), rt->path,
			    /* An input named near the file system's limit
			     * leaves no room for ".rejects.csv". */
			    why == ENAMETOOLONG
				? "(the input's name leaves no room for the "
				  "rejects file's)"
				: "in a directory you can write to");
		else
			adapter__fatal(rt,
				       "cannot create the rejects file %s: %s",
				       path, strerror(why));
		if (fd >= 0)
			close(fd);
		return UG_EIO;
	}
	if (rt->rejects_shared)
		rt->shared[rt->plan->format == FORMAT_JSONL] = rt->rejects;
	/* Under watch the file is renamed into done/: watch.c logs the
	 * name it ends up with. */
	if (!rt->rejects_path[0])
		log_notice("ADP-REJECTS", "rejected rows go to %s", path);
	return UG_OK;
}

/* The rejects file is made at the first bad row, never before, with one
 * header (CSV; a run-wide file takes rows only from inputs with the same
 * header line, checked before the run). CSV is UTF-8 with a byte order
 * mark when the input was not UTF-8 (converted from Windows-1252) or
 * began with one, so a spreadsheet reads its æ ø å right; JSON Lines
 * never has one, which JSON parsers refuse. */
static ug_err
open_rejects(struct runtime *rt)
{
	if (rt->rejects)
		return UG_OK;
	ug_err err = create_rejects(rt);
	if (err != UG_OK || rt->plan->format == FORMAT_JSONL)
		return err;
	if (rt->rejects_shared
		? rt->shared_bom
		: rt->plan->encoding != ENC_UTF8 || rt->plan->bom)
		fputs("\xEF\xBB\xBF", rt->rejects);
	char sep = csv_separator(rt->csv);
	size_t len;
	const char *raw = csv_header_raw(rt->csv, &len);
	if (rt->rejects_shared)
		fprintf(rt->rejects, "file%c", sep);
	fprintf(rt->rejects, "line%ccolumn%creason%c", sep, sep, sep);
	fwrite(raw, 1, len, rt->rejects);
	fputs(csv_crlf(rt->csv) ? "\r\n" : "\n", rt->rejects);
	return UG_OK;
}

static bool
close_synced(FILE **f)
{
	if (!*f)
		return true;
	bool ok = fflush(*f) == 0 && !ferror(*f) && fsync(fileno(*f)) == 0;
	ok = fclose(*f) == 0 && ok;
	*f = NULL;
	return ok;
}

void
adapter__remove_shared_rejects(const struct runtime *rt, const bool made[2])
{
	/* Of the two files, the one this run wrote no row to may still
	 * hold an earlier run's rows, which would read as this run's. */
	const char *setting = ug_config_get(rt->cfg, "rejects");
	for (size_t i = 0; setting[0] && i < 2; i++) {
		char path[ADAPTER_PATH_LEN];
		adapter__shared_rejects_path(
		    setting, i ? FORMAT_JSONL : FORMAT_CSV, path, sizeof path);
		struct stat st;
		if (!made[i] && lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
		    unlink(path) == 0)
			log_notice("ADP-REJECTS",
				   "no row of this run went to %s; removed "
				   "it, of an earlier run",
				   path);
	}
}

ug_err
adapter__close_rejects(struct runtime *rt)
{
	bool ok = true;
	char path[ADAPTER_PATH_LEN] = "";
	if (rt->rejects_shared) {
		for (size_t i = 0; i < 2; i++)
			ok = close_synced(&rt->shared[i]) && ok;
		rt->rejects = NULL;
		ug_strlcpy(path, ug_config_get(rt->cfg, "rejects"),
			   sizeof path);
	} else {
		if (rt->rejects)
			adapter__rejects_path(rt, path, sizeof path);
		ok = close_synced(&rt->rejects);
	}
	/* Name the file and the input: with several files in a run, a
	 * bare "the rejects file" leaves the clerk guessing. */
	int why = errno;
	if (!ok && rt->rejects_shared)
		adapter__fatal(rt, "cannot write the rejects file %s: %s",
			       path, strerror(why));
	else if (!ok)
		adapter__fatal(
		    rt,
		    "%s: cannot write the rejects file %s: %s; "
		    "nothing of %s was queued: make room%s",
		    rt->path, path, strerror(why), rt->path,
		    rt->watching ? "; the file stays in the directory and is "
				   "imported again when the watcher is "
				   "started again"
				 : ", then import it again");
	return ok ? UG_OK : UG_EIO;
}

/* A clean import leaves no rejects file of an earlier import of the same
 * input behind: it would read as this one's. Neither does one whose
 * rejected rows went to the run-wide file of the rejects setting. */
void
adapter__remove_stale_rejects(const struct runtime *rt)
{
	char why[ADAPTER_PATH_LEN + 64] = "no row rejected";
	if (rt->file.rejected_rows > 0) {
		char went[ADAPTER_PATH_LEN];
		adapter__shared_rejects_path(ug_config_get(rt->cfg, "rejects"),
					     rt->plan->format, went,
					     sizeof went);
		snprintf(why, sizeof why, "its rejected rows went to %s",
			 went);
	}
	const char *setting = ug_config_get(rt->cfg, "rejects");
	for (size_t i = 0; i < 2; i++) {
		char path[ADAPTER_PATH_LEN], shared[ADAPTER_PATH_LEN] = "";
		snprintf(path, sizeof path, "%s.rejects.%s", rt->path,
			 i ? "jsonl" : "csv");
		if (rt->rejects_shared)
			adapter__shared_rejects_path(
			    setting, i ? FORMAT_JSONL : FORMAT_CSV, shared,
			    sizeof shared);
		struct stat st;
		if (strcmp(path, shared) != 0 && lstat(path, &st) == 0 &&
		    S_ISREG(st.st_mode) && unlink(path) == 0)
			log_notice("ADP-REJECTS",
				   "%s: %s; removed %s of an earlier import",
				   rt->path, why, path);
	}
}

static void
put_quoted(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len;) {
		if (s[i] == '"')
			fputc('"', f);
		i += adapter__put_utf8_piece(f, s + i, len - i);
	}
	fputc('"', f);
}

void
adapter__put_value(FILE *f, const char *s, size_t len, char sep)
{
	bool quote = len > 0 && (s[0] == ' ' || s[len - 1] == ' ');
	for (size_t i = 0; i < len && !quote; i++)
		quote =
		    s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
	if (quote)
		put_quoted(f, s, len);
	else
		adapter__put_text(f, s, len);
}

/* Does a raw row leave a quote open, read as CSV (a quote opens a value
 * only at its start; inside, "" is one quote and " closes it)? A '"'
 * inside an unquoted value is a plain character. */
static bool
quote_left_open(const char *raw, size_t len, char sep)
{
	bool quoted = false, start = true;
	for (size_t i = 0; i < len; i++) {
		char c = raw[i];
		if (quoted) {
			if (c == '"' && i + 1 < len && raw[i + 1] == '"')
				i++;
			else if (c == '"')
				quoted = false;
		} else if (c == sep || c == '\n' || c == '\r') {
			start = true;
		} else if (start && c == '"') {
			quoted = true;
			start = false;
		} else if (c != ' ' && c != '\t') {
			start = false;
		}
	}
	return quoted;
}

/* Copy a row as it was, so it opens with the same fields, unless it would
 * break the rejects file for the rows after it: a row cut at
 * CSV_RECORD_MAX, or one with an unclosed quote, goes in as one quoted
 * value instead. */
void
adapter__put_raw(FILE *f, const char *raw, size_t len, bool truncated,
		 char sep)
{
	if (truncated || quote_left_open(raw, len, sep))
		put_quoted(f, raw, len);
	else
		adapter__put_text(f, raw, len);
}

long
adapter__current_line(const struct runtime *rt)
{
	return rt->csv ? csv_line(rt->csv) : jsonl_line(rt->jsonl);
}

static void
write_reject(struct runtime *rt, long line, const ug_diag *diag)
{
	FILE *f = rt->rejects;
	size_t len;
	bool truncated;
	if (rt->plan->format == FORMAT_JSONL) {
		const char *raw = jsonl_raw(rt->jsonl, &len, &truncated);
		fputc('{', f);
		if (rt->rejects_shared) {
			fputs("\"file\": ", f);
			adapter__json_string(f, rt->path, strlen(rt->path));
			fputs(", ", f);
		}
		fprintf(f, "\"line\": %ld, \"column\": ", line);
		adapter__json_string(f, diag->field, strlen(diag->field));
		fputs(", \"reason\": ", f);
		adapter__json_string(f, diag->reason, strlen(diag->reason));
		fputs(", \"record\": ", f);
		adapter__json_string(f, raw, len);
		fputs(jsonl_crlf(rt->jsonl) ? "}\r\n" : "}\n", f);
		return;
	}
	char sep = csv_separator(rt->csv);
	const char *raw = csv_raw(rt->csv, &len, &truncated);
	if (rt->rejects_shared) {
		adapter__put_value(f, rt->path, strlen(rt->path), sep);
		fputc(sep, f);
	}
	fprintf(f, "%ld%c", line, sep);
	adapter__put_value(f, diag->field, strlen(diag->field), sep);
	fputc(sep, f);
	adapter__put_value(f, diag->reason, strlen(diag->reason), sep);
	fputc(sep, f);
	adapter__put_raw(f, raw, len, truncated, sep);
	fputs(csv_crlf(rt->csv) ? "\r\n" : "\n", f);
}

ug_err
adapter__reject_row(struct runtime *rt, const ug_diag *diag)
{
	rt->file.rejected_rows++;
	long line = adapter__current_line(rt);
	if (diag->field[0])
		adapter__eprint_line("%s:%ld: column %s: %s", rt->path, line,
				     diag->field, diag->reason);
	else
		adapter__eprint_line("%s:%ld: %s", rt->path, line,
				     diag->reason);
	if (rt->report) {
		/* The column as the file names it, masked as stderr masks
		 * it: a report holds no CPR, and an export's column may be
		 * named after one. */
		char field[sizeof diag->field], reason[sizeof diag->reason];
		ug_strlcpy(field, diag->field, sizeof field);
		ug_strlcpy(reason, diag->reason, sizeof reason);
		ug_cpr_mask(field);
		ug_cpr_mask(reason);
		fprintf(rt->report, "%s\n  {\"line\": %ld, \"column\": ",
			rt->report_rejects++ ? "," : "", line);
		adapter__json_string(rt->report, field, strlen(field));
		fputs(", \"reason\": ", rt->report);
		adapter__json_string(rt->report, reason, strlen(reason));
		fputc('}', rt->report);
	}
	ug_err err = open_rejects(rt);
	if (err != UG_OK)
		return err;
	write_reject(rt, line, diag);
	return ferror(rt->rejects) ? UG_EIO : UG_OK;
}
