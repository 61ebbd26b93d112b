/*
 * The adapter runtime, import side: one file in two passes.
 *
 * The first pass (adapter__plan) reads the whole file once, in constant
 * memory, and decides everything that concerns the file as a whole: its
 * encoding, its format (CSV or JSON Lines), its kind of record (from
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

#define SCAN_CHUNK   (64 * 1024)
#define KEY_NAME_MAX 128 /* longer JSON keys name no column */

/* ---- small helpers -------------------------------------------------- */

static bool
same_file(const struct stat *a, const struct stat *b)
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

static bool
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* Write s as UTF-8 text: what a rejects file holds must open in the
 * clerk's spreadsheet and parse as JSON even where a row was not UTF-8. */
static size_t
put_utf8_piece(FILE *f, const char *s, size_t len)
{
	uint8_t out[4];
	size_t n;
	size_t used = enc_utf8_piece((const uint8_t *)s, len, out, &n);
	fwrite(out, 1, n, f);
	return used;
}

static void
put_text(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len;)
		i += put_utf8_piece(f, s + i, len - i);
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
			i += put_utf8_piece(f, s + i, len - i) - 1;
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

/* ---- columns and kinds ---------------------------------------------- */

/* Does ignore_columns list name (by its name; also by "*" if any)? */
static bool
in_ignore_list(const struct runtime *rt, const char *name, bool any)
{
	/* As long as it was given: a list cut short would ignore none of
	 * the columns it names past the cut. */
	char *buf = strdup(ug_config_get(rt->cfg, "ignore_columns"));
	if (!buf)
		return false;
	bool found = false;
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		size_t n = strlen(t);
		while (n > 0 && t[n - 1] == ' ')
			t[--n] = '\0';
		if (strcmp(t, "*") == 0) {
			if (any) {
				found = true;
				break;
			}
			continue;
		}
		csv_column col = {t, {NULL}, false};
		if (n > 0 && csv_column_matches(&col, name)) {
			found = true;
			break;
		}
	}
	free(buf);
	return found;
}

/* Is name one the operator allows to be ignored (ignore_columns)? */
static bool
ignorable(const struct runtime *rt, const char *name)
{
	return in_ignore_list(rt, name, true);
}

/* Map names onto kind's columns: the number found, or -1 (diag). */
static int
map_kind(const struct adapter_kind *kind, const char *const *names, size_t n,
	 int *index, ug_diag *diag)
{
	if (csv_map_names(names, n, kind->columns, index, NULL, 0, diag) !=
	    UG_OK)
		return -1;
	int found = 0;
	for (size_t i = 0; kind->columns[i].name; i++)
		found += index[i] >= 0;
	return found;
}

static size_t
missing_required(const struct adapter_kind *kind, const char *const *names,
		 size_t n)
{
	int index[ADAPTER_COLUMNS_MAX];
	ug_diag ignored = {0};
	csv_map_names(names, n, kind->columns, index, NULL, 0, &ignored);
	size_t missing = 0;
	for (size_t i = 0; kind->columns[i].name; i++)
		missing += kind->columns[i].required && index[i] < 0;
	return missing;
}

/* A header cell with more digits could be a CPR (a data row taken for
 * the header, a CPR pasted into it), and longer names must fit a list:
 * both are named by position, never quoted, as the CSV reader names them
 * in a bad row's column. */
#define NAME_DIGITS_MAX CSV_NAME_DIGITS_MAX
#define NAME_QUOTE_MAX	CSV_NAME_QUOTE_MAX

/* Header names for a message, as many as fit, then "and N more". */
typedef struct {
	char *buf;
	size_t size, used;
	size_t count, left_out;
	bool keys; /* JSON Lines keys: no position a clerk could find */
} name_list;

static void
list_add(name_list *l, const char *name, size_t h)
{
	char item[NAME_QUOTE_MAX + 48];
	size_t digits = 0;
	for (const char *p = name; *p; p++)
		digits += *p >= '0' && *p <= '9';
	char where[32];
	if (l->keys)
		ug_strlcpy(where, "a key", sizeof where);
	else
		snprintf(where, sizeof where, "column %zu", h + 1);
	if (digits > NAME_DIGITS_MAX)
		snprintf(item, sizeof item,
			 "%s (its name looks like a CPR number)", where);
	else if (strlen(name) > NAME_QUOTE_MAX)
		snprintf(item, sizeof item, "%s (a %zu-byte name)", where,
			 strlen(name));
	else
		ug_strlcpy(item, name, sizeof item);
	l->count++;
	/* Keep room for ", and 255 more". */
	size_t need = (l->used ? 2 : 0) + strlen(item);
	if (l->left_out || l->used + need + 16 >= l->size) {
		l->left_out++;
		return;
	}
	l->used += (size_t)snprintf(l->buf + l->used, l->size - l->used,
				    "%s%s", l->used ? ", " : "", item);
}

static void
list_end(name_list *l)
{
	if (l->left_out)
		snprintf(l->buf + l->used, l->size - l->used, "%sand %zu more",
			 l->used ? ", " : "", l->left_out);
}

/* The columns of names that are none of kind's and that ignore_columns
 * does not list: if there are any, the whole-file message naming them
 * in diag, and true. */
static bool
unknown_columns(const struct runtime *rt, const struct adapter_kind *kind,
		const char *const *names, size_t n, bool keys, ug_diag *diag)
{
	char unknown[320] = "";
	name_list refused = {unknown, sizeof unknown, 0, 0, 0, keys};
	for (size_t h = 0; h < n; h++) {
		bool known = !names[h][0] || ignorable(rt, names[h]);
		for (size_t i = 0; !known && kind->columns[i].name; i++)
			known =
			    csv_column_matches(&kind->columns[i], names[h]);
		if (!known)
			list_add(&refused, names[h], h);
	}
	list_end(&refused);
	if (refused.count)
		ug_diag_set(diag, "header",
			    "unknown column%s for %s: %s (list in "
			    "ignore_columns what may be left out)",
			    refused.count > 1 ? "s" : "", kind->name, unknown);
	return refused.count > 0;
}

static bool
kind_reads_cpr(const struct adapter_kind *kind)
{
	for (const csv_column *c = kind->columns; c->name; c++)
		if (strcmp(c->name, "cpr") == 0)
			return true;
	return false;
}

/*
 * The file's kind: --kind, else the kind whose required columns are all
 * present (the one with most columns found if several). None: a
 * whole-file error naming what the closest kind lacks. Then every
 * column must be known to that kind, or listed in ignore_columns.
 */
static ug_err
choose_kind(struct runtime *rt, adapter_plan *plan, const char *const *names,
	    size_t n, ug_diag *diag)
{
	const char *want = ug_config_get(rt->cfg, "kind");
	const struct adapter_kind *best = NULL;
	int index[ADAPTER_COLUMNS_MAX];
	size_t nkinds = 0;
	while (rt->ops->kinds[nkinds])
		nkinds++;
	if (want[0]) {
		best = adapter_find_kind(rt->ops, want);
		if (!best) {
			ug_diag_set(diag, "kind", "%s reads no kind '%s'",
				    rt->program, want);
			return UG_EINVAL;
		}
	} else {
		int best_found = -1;
		const struct adapter_kind *tied = NULL;
		for (size_t k = 0; k < nkinds; k++) {
			ug_diag ignored = {0};
			int found = map_kind(rt->ops->kinds[k], names, n,
					     index, &ignored);
			if (found > best_found)
				best = rt->ops->kinds[k], best_found = found,
				tied = NULL;
			else if (found >= 0 && found == best_found)
				tied = rt->ops->kinds[k];
		}
		/* A header with a CPR column is about persons: a kind of
		 * staff (the duty desk, no CPR at all) it also fits, through
		 * an alias such as "team", is not what it holds. */
		if (tied && kind_reads_cpr(best) != kind_reads_cpr(tied)) {
			if (kind_reads_cpr(tied))
				best = tied;
			tied = NULL;
		}
		/* Picking one of two kinds the header fits alike would,
		 * with ignore_columns = *, import a file of misses as
		 * benefit periods: the clerk names the kind instead. */
		if (tied) {
			ug_diag_set(diag, "header",
				    "the columns fit two kinds alike, %s and "
				    "%s (%d columns each): name the file's "
				    "kind with --kind (or kind = in the "
				    "config file)",
				    best->name, tied->name, best_found);
			return UG_EMALFORMED;
		}
	}
	size_t fewest = 0;
	if (!best) {
		fewest = (size_t)-1;
		for (size_t k = 0; k < nkinds; k++) {
			size_t missing =
			    missing_required(rt->ops->kinds[k], names, n);
			if (missing < fewest)
				best = rt->ops->kinds[k], fewest = missing;
		}
	}
	if (map_kind(best, names, n, index, diag) < 0) {
		/* Two columns for one, beside columns no export has (a
		 * rejects file's line and column before a college's or the
		 * Jobcenter's second reason): the unknown ones say what the
		 * file is and what to list in ignore_columns. A required
		 * column missing (a --kind the file is not) stays the
		 * message: it names what the kind needs. */
		if (missing_required(best, names, n) == 0 &&
		    unknown_columns(rt, best, names, n,
				    plan->format == FORMAT_JSONL, diag))
			return UG_EMALFORMED;
		/* A kind whose columns are all there but twice is the file's
		 * kind: the clash alone is the message. */
		if (nkinds > 1 && !want[0] && fewest > 0) {
			char reason[2 * sizeof diag->reason];
			int len =
			    snprintf(reason, sizeof reason,
				     "the columns fit no kind of record; "
				     "closest is %s: %s",
				     best->name, diag->reason);
			if (len > 0)
				ug_strlcpy(diag->reason, reason,
					   sizeof diag->reason);
		}
		return UG_EMALFORMED;
	}
	plan->kind = best;
	/* Unknown columns: a typo in a column name would otherwise read as
	 * an absent optional column, and data would be lost quietly. */
	char unknown[320];
	bool keys = plan->format == FORMAT_JSONL;
	name_list ignored = {plan->unknown, sizeof plan->unknown, 0, 0, 0,
			     keys};
	name_list refused = {unknown, sizeof unknown, 0, 0, 0, keys};
	plan->unknown[0] = unknown[0] = '\0';
	for (size_t h = 0; h < n; h++) {
		bool known = !names[h][0];
		for (size_t i = 0; !known && best->columns[i].name; i++)
			known = index[i] == (int)h;
		if (!known)
			list_add(ignorable(rt, names[h]) ? &ignored : &refused,
				 names[h], h);
	}
	list_end(&ignored);
	list_end(&refused);
	if (refused.count) {
		ug_diag_set(diag, "header",
			    "unknown column%s for %s: %s (list in "
			    "ignore_columns what may be left out)",
			    refused.count > 1 ? "s" : "", best->name, unknown);
		return UG_EMALFORMED;
	}
	return UG_OK;
}

/* ---- the first pass ------------------------------------------------- */

/* Scan the raw bytes: encoding, and the first and last bytes that are
 * not blank. */
static ug_err
scan_bytes(int fd, enc_scan *scan, int *first, int *last, ug_diag *diag)
{
	uint8_t *buf = malloc(SCAN_CHUNK);
	if (!buf)
		return UG_ENOMEM;
	enc_scan_init(scan);
	*first = *last = -1;
	for (;;) {
		ssize_t got = read(fd, buf, SCAN_CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			ug_diag_set(diag, "file", "cannot read the file: %s",
				    strerror(errno));
			free(buf);
			return UG_EIO;
		}
		if (got == 0)
			break;
		uint64_t at = scan->bytes;
		for (ssize_t i = 0; *first < 0 && i < got; i++) {
			uint8_t c = buf[i];
			bool bom = at + (uint64_t)i < 3 &&
				   (c == 0xEF || c == 0xBB || c == 0xBF);
			if (!bom && c != ' ' && c != '\t' && c != '\r' &&
			    c != '\n')
				*first = c;
		}
		for (ssize_t i = got; i-- > 0;)
			if (buf[i] != ' ' && buf[i] != '\t' &&
			    buf[i] != '\r' && buf[i] != '\n') {
				*last = buf[i];
				break;
			}
		enc_scan_feed(scan, buf, (size_t)got);
	}
	enc_scan_end(scan);
	sodium_memzero(buf, SCAN_CHUNK);
	free(buf);
	return UG_OK;
}

/* Open fd (from its start) as a UTF-8 text stream of the plan's
 * encoding: *raw wraps a dup of fd, *text reads it decoded. */
static ug_err
open_text(int fd, enc_kind encoding, FILE **raw, FILE **text, ug_diag *diag)
{
	*raw = *text = NULL;
	int copy = lseek(fd, 0, SEEK_SET) == 0 ? dup(fd) : -1;
	*raw = copy >= 0 ? fdopen(copy, "rb") : NULL;
	if (!*raw) {
		if (copy >= 0)
			close(copy);
		ug_diag_set(diag, "file", "cannot read the file: %s",
			    strerror(errno));
		return UG_EIO;
	}
	*text = enc_open(*raw, encoding);
	if (!*text) {
		fclose(*raw);
		*raw = NULL;
		return UG_ENOMEM;
	}
	return UG_OK;
}

static void
close_text(FILE **raw, FILE **text)
{
	if (*text)
		fclose(*text);
	if (*raw)
		fclose(*raw);
	*raw = *text = NULL;
}

/* Do a and b mean the same column of one of the adapter's kinds? */
static bool
same_meaning(const struct runtime *rt, const char *a, const char *b)
{
	for (size_t k = 0; rt->ops->kinds[k]; k++)
		for (const csv_column *c = rt->ops->kinds[k]->columns; c->name;
		     c++)
			if (csv_column_matches(c, a) &&
			    csv_column_matches(c, b))
				return true;
	return false;
}

/* The columns a rejects file puts before the input's own: line, column,
 * reason (a run-wide one: file, line, column, reason), once more for the
 * rejects file of a rejects file imported again. How many the header
 * begins with, or 0. No kind has a column "line" or "column", so an
 * export never begins so. */
static size_t
rejects_prefix(const csv_reader *csv)
{
	static const char *const groups[][5] = {
	    {"line", "column", "reason", NULL},
	    {"file", "line", "column", "reason", NULL},
	};
	size_t n = csv_header_count(csv), at = 0;
	for (bool more = true; more;) {
		more = false;
		for (size_t g = 0; g < 2 && !more; g++) {
			size_t i = 0;
			while (groups[g][i] && at + i < n &&
			       strcasecmp(csv_header_name(csv, at + i),
					  groups[g][i]) == 0)
				i++;
			if (!groups[g][i])
				at += i, more = true;
		}
	}
	return at;
}

/* A rejects file puts its own file, line, column and reason before the
 * input's columns, and an input with a reason column of its own (college,
 * jobcenter) then has two: of a name ignore_columns lists that the header
 * holds more than once, the first is left out and the later one read. The
 * input may call its own an alias (a Jobcenter's "Ophørsårsag"): the same
 * holds then, but only for a name listed as such, so that "*" never hides
 * two columns that disagree about one value. The rejects file's leading
 * columns that ignore_columns lists by name are left out whether or not
 * the input has a reason column. */
static void
leave_out_repeats(const struct runtime *rt, csv_reader *csv, char *left,
		  size_t cap)
{
	/* Named in the log with the other columns left unread. */
	name_list l = {left, cap, 0, 0, 0, false};
	left[0] = '\0';
	size_t n = csv_header_count(csv);
	size_t prefix = rejects_prefix(csv);
	for (size_t h = 0; h < n; h++) {
		const char *name = csv_header_name(csv, h);
		bool again = false, alias = false;
		for (size_t later = h + 1; later < n && !again; later++) {
			const char *other = csv_header_name(csv, later);
			again = strcasecmp(name, other) == 0;
			alias = alias || same_meaning(rt, name, other);
		}
		/* A rejects file's own reason, listed by name, is never the
		 * input's: an export without a reason column (it is
		 * optional) would otherwise have the rejects file's reason
		 * text read as its reason code. */
		bool own = h < prefix && in_ignore_list(rt, name, false);
		if (name[0] && (own || (again && ignorable(rt, name)) ||
				(alias && in_ignore_list(rt, name, false)))) {
			list_add(&l, name, h);
			csv_header_leave_out(csv, h);
		}
	}
	list_end(&l);
}

/* The columns of the header that the file's kind does not read, in the
 * header's order, as plan->unknown for the log: those ignore_columns
 * lets pass and those left out as repeats (their first byte in first). */
static ug_err
list_unread(adapter_plan *plan, const char *const *names, const char *first,
	    size_t n)
{
	int index[ADAPTER_COLUMNS_MAX];
	ug_diag ignored = {0};
	if (csv_map_names(names, n, plan->kind->columns, index, NULL, 0,
			  &ignored) != UG_OK)
		return UG_OK; /* choose_kind mapped it: cannot happen */
	name_list l = {plan->unknown, sizeof plan->unknown, 0, 0, 0, false};
	plan->unknown[0] = '\0';
	for (size_t h = 0; h < n; h++) {
		bool read = false;
		for (size_t i = 0; plan->kind->columns[i].name; i++)
			read = read || index[i] == (int)h;
		if (names[h][0] && !read) {
			list_add(&l, names[h], h);
		} else if (!names[h][0] && first[h]) {
			size_t len = strlen(names[h] + 1);
			char *name = malloc(len + 2);
			if (!name)
				return UG_ENOMEM;
			name[0] = first[h];
			memcpy(name + 1, names[h] + 1, len + 1);
			list_add(&l, name, h);
			free(name);
		}
	}
	list_end(&l);
	return UG_OK;
}

static ug_err
plan_csv(struct runtime *rt, adapter_plan *plan, FILE *text, ug_diag *diag)
{
	csv_reader *csv;
	ug_err err = csv_reader_new(&csv, text, plan->path, diag);
	if (err != UG_OK)
		return err;
	/* Leaving a column out clears its name's first byte: kept, so that
	 * the log names every column left unread in the header's order. */
	char first[CSV_COLUMNS_MAX];
	size_t n = csv_header_count(csv);
	for (size_t h = 0; h < n; h++)
		first[h] = csv_header_name(csv, h)[0];
	char left[sizeof plan->unknown];
	leave_out_repeats(rt, csv, left, sizeof left);
	const char *names[CSV_COLUMNS_MAX];
	for (size_t h = 0; h < n; h++)
		names[h] = csv_header_name(csv, h);
	err = choose_kind(rt, plan, names, n, diag);
	if (err == UG_OK)
		err = list_unread(plan, names, first, n);
	if (err != UG_OK && err != UG_ENOMEM)
		csv_header_misread(csv, diag);
	if (diag)
		diag->line = csv_header_line(csv);
	size_t len;
	const char *raw = csv_header_raw(csv, &len);
	if (err == UG_OK && !(plan->header = strndup(raw, len)))
		err = UG_ENOMEM;
	csv_reader_destroy(&csv);
	return err;
}

/* Add a key to the plan's set (NUL-separated in plan->keys). */
static ug_err
add_key(adapter_plan *plan, const char *key, size_t *cap, ug_diag *diag)
{
	size_t len = strlen(key);
	if (len == 0)
		return UG_OK; /* names no column */
	for (size_t i = 0; i < plan->nkeys; i++)
		if (strcmp(plan->key_names[i], key) == 0)
			return UG_OK;
	if (plan->nkeys == CSV_COLUMNS_MAX) {
		ug_diag_set(diag, "header",
			    "the objects use more than %d different keys",
			    CSV_COLUMNS_MAX);
		return UG_EMALFORMED;
	}
	if (len > KEY_NAME_MAX) {
		/* Longer than any column's name, so none of the kind's:
		 * still a key the file is refused for (unless
		 * ignore_columns is *), or its data would be dropped
		 * unseen. */
		char *copy = strdup(key);
		if (!copy)
			return UG_ENOMEM;
		plan->key_own[plan->nkeys] = true;
		plan->key_names[plan->nkeys++] = copy;
		return UG_OK;
	}
	size_t used = 0;
	for (size_t i = 0; i < plan->nkeys; i++)
		if (!plan->key_own[i])
			used += strlen(plan->key_names[i]) + 1;
	if (used + len + 1 > *cap) {
		/* Names point into the buffer: size it once, for the most
		 * keys of the longest name, and never move it. */
		return UG_ENOMEM;
	}
	char *at = plan->keys + used;
	memcpy(at, key, len + 1);
	plan->key_names[plan->nkeys++] = at;
	return UG_OK;
}

static ug_err
plan_jsonl(struct runtime *rt, adapter_plan *plan, FILE *text, ug_diag *diag)
{
	size_t cap = CSV_COLUMNS_MAX * (KEY_NAME_MAX + 1);
	plan->keys = malloc(cap);
	jsonl_reader *r = NULL;
	ug_err err =
	    plan->keys ? jsonl_reader_new(&r, text, plan->path) : UG_ENOMEM;
	size_t good = 0;
	long first_bad = 0;
	char first_reason[sizeof diag->reason] = "";
	bool no_lf = false;
	while (err == UG_OK) {
		ug_diag line = {0};
		ug_err got = jsonl_next(r, &line);
		if (got == UG_ENOTFOUND) {
			/* The end is still on line 1: no LF in the file. */
			no_lf = jsonl_line(r) == 1;
			break;
		}
		if (got == UG_EIO) {
			*diag = line;
			err = got;
			break;
		}
		if (got == UG_EMALFORMED) {
			if (!first_bad) {
				first_bad = jsonl_line(r);
				ug_strlcpy(first_reason, line.reason,
					   sizeof first_reason);
			}
			continue;
		}
		good++;
		const jsonl_record *rec = jsonl_record_of(r);
		for (size_t i = 0; err == UG_OK && i < rec->count; i++)
			err = add_key(plan, jsonl_key(rec, i), &cap, diag);
	}
	jsonl_reader_destroy(&r);
	if (err != UG_OK)
		return err;
	if (good == 0) {
		if (diag)
			diag->line = first_bad;
		/* The first line's reason: "not a JSON object" alone sends
		 * the clerk looking for the wrong fault in a file of one
		 * broken object. Reasons about JSON never quote a value. */
		/* Lines ended by CR alone (the old Mac format) make the
		 * file one line with CRs inside: as in a CSV file, the line
		 * ends are the fault, not one line. */
		if (first_bad == 1 && no_lf &&
		    strncmp(first_reason, "line 1, column ", 15) == 0) {
			if (diag)
				diag->line = 0;
			ug_diag_set(diag, "file",
				    "the lines end in a carriage return alone "
				    "(an old Mac format): save the file with "
				    "Windows or Unix line ends");
		} else if (first_bad)
			ug_diag_set(diag, "file",
				    "no line of the file is a JSON object the "
				    "adapter can read (line %ld: %s; is it "
				    "JSON Lines? use --format csv for a CSV "
				    "file)",
				    first_bad, first_reason);
		else /* only blank lines and DOS end-of-file marks */
			ug_diag_set(diag, "file",
				    "the file is empty; JSON Lines holds one "
				    "JSON object per line");
		return UG_EMALFORMED;
	}
	err = choose_kind(rt, plan, plan->key_names, plan->nkeys, diag);
	/* Keys have no column numbers: the clash's "(7 and 8)" counts the
	 * file's keys in the order first seen, which no line shows. */
	const char *cols = diag ? strstr(diag->reason, "columns \"") : NULL;
	const char *both = cols ? strstr(cols, ") both mean ") : NULL;
	if (err != UG_OK && both) {
		const char *open = both;
		while (open > cols && *open != '(')
			open--;
		char keys[sizeof diag->reason];
		snprintf(keys, sizeof keys, "%.*skeys%.*s%s",
			 (int)(cols - diag->reason), diag->reason,
			 (int)(open - 1 - (cols + 7)), cols + 7, both + 1);
		ug_strlcpy(diag->reason, keys, sizeof diag->reason);
	}
	/* The mapping's hint is a CSV one: JSON Lines has no header row. */
	static const char csv_hint[] = " (is the first line the header row?)";
	size_t len = diag ? strlen(diag->reason) : 0;
	if (err != UG_OK && len >= sizeof csv_hint - 1 &&
	    strcmp(diag->reason + len - (sizeof csv_hint - 1), csv_hint) == 0)
		snprintf(diag->reason + len - (sizeof csv_hint - 1),
			 sizeof diag->reason - (len - (sizeof csv_hint - 1)),
			 " (no line of the file has a key of that name)");
	return err;
}

void
adapter__plan_fini(adapter_plan *plan)
{
	for (size_t i = 0; i < plan->nkeys; i++)
		if (plan->key_own[i]) {
			free((char *)plan->key_names[i]);
			plan->key_own[i] = false;
		}
	free(plan->keys);
	plan->keys = NULL;
	free(plan->header);
	plan->header = NULL;
	plan->nkeys = 0;
}

static adapter_format
pick_format(const struct runtime *rt, const char *path, int first)
{
	if (rt->format != FORMAT_AUTO)
		return rt->format;
	if (has_suffix(path, ".jsonl") || has_suffix(path, ".ndjson"))
		return FORMAT_JSONL;
	return first == '{' ? FORMAT_JSONL : FORMAT_CSV;
}

ug_err
adapter__plan(struct runtime *rt, const char *path, adapter_plan *plan,
	      ug_diag *diag)
{
	memset(plan, 0, sizeof *plan);
	ug_strlcpy(plan->path, path, sizeof plan->path);
	if (diag) {
		ug_strlcpy(diag->file, path, sizeof diag->file);
		diag->line = 0;
	}
	/* Non-blocking: a named pipe without a writer would otherwise hang
	 * the run here, before it can be refused as no regular file. Reads
	 * of a regular file do not heed the flag. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ug_diag_set(diag, "file", "cannot open the file: %s",
			    strerror(errno));
		return UG_EIO;
	}
	struct stat after;
	enc_scan scan;
	int first, last;
	FILE *raw = NULL, *text = NULL;
	ug_err err = UG_OK;
	if (fstat(fd, &plan->st) != 0 || !S_ISREG(plan->st.st_mode)) {
		ug_diag_set(diag, "file",
			    "not a regular file (a directory, a pipe or a "
			    "device): give the path of the export file; it "
			    "is read twice, so it cannot come through a "
			    "pipe");
		err = UG_EIO;
		goto done;
	}
	err = scan_bytes(fd, &scan, &first, &last, diag);
	if (err != UG_OK)
		goto done;
	if (fstat(fd, &after) != 0 || !same_file(&plan->st, &after)) {
		err = UG_EAGAIN;
		goto done;
	}
	err = enc_decide(&scan, rt->encoding, &plan->encoding, diag);
	/* JSON Lines has no header row to ask for. */
	if (err != UG_OK && (scan.bytes == 0 || scan.blank) && !scan.utf16 &&
	    !scan.binary && pick_format(rt, path, first) == FORMAT_JSONL)
		ug_diag_set(diag, "file",
			    "the file is empty; JSON Lines holds one JSON "
			    "object per line");
	if (err != UG_OK)
		goto done;
	plan->encoding_detected =
	    rt->encoding == ENC_AUTO || plan->encoding != rt->encoding;
	plan->bom = scan.bom;
	plan->format = pick_format(rt, path, first);
	/* A file in [ ] is a JSON array, which both readers would blame
	 * on some quote or line instead. */
	if (first == '[' && last == ']' && rt->format != FORMAT_CSV) {
		ug_diag_set(diag, "file",
			    "the file is one JSON array; the adapter reads "
			    "JSON Lines: one object per line, without [ ] "
			    "and commas between them");
		err = UG_EMALFORMED;
		goto done;
	}
	err = open_text(fd, plan->encoding, &raw, &text, diag);
	if (err == UG_OK && plan->format == FORMAT_CSV)
		err = plan_csv(rt, plan, text, diag);
	else if (err == UG_OK)
		err = plan_jsonl(rt, plan, text, diag);
	if (err == UG_OK &&
	    (fstat(fd, &after) != 0 || !same_file(&plan->st, &after)))
		err = UG_EAGAIN;
done:
	if (err == UG_EAGAIN)
		ug_diag_set(diag, "file",
			    "the file changed while it was read (is it still "
			    "being written?); import it once it is complete");
	close_text(&raw, &text);
	close(fd);
	if (err != UG_OK)
		adapter__plan_fini(plan);
	return err;
}

/* ---- the rejects file and the report -------------------------------- */

/* The path of the run-wide rejects file for a format: the setting names
 * the file of the format its name ends in (.jsonl: JSON Lines, else CSV);
 * the other format's rows go to the same name with .csv and .jsonl
 * swapped, or with the extension added when it ends in neither. */
void
adapter__shared_rejects_path(const char *setting, adapter_format format,
			     char *path, size_t size)
{
	bool want_jsonl = format == FORMAT_JSONL;
	bool is_jsonl = has_suffix(setting, ".jsonl");
	if (want_jsonl == is_jsonl) {
		ug_strlcpy(path, setting, size);
		return;
	}
	size_t stem = strlen(setting);
	if (is_jsonl)
		stem -= strlen(".jsonl");
	else if (has_suffix(setting, ".csv"))
		stem -= strlen(".csv");
	snprintf(path, size, "%.*s.%s", (int)stem, setting,
		 want_jsonl ? "jsonl" : "csv");
}

/* Where this input's rejected rows go: watch's work file, the run-wide
 * file of the rejects setting, or FILE.rejects.csv / .jsonl beside it. */
static void
rejects_path(const struct runtime *rt, char *path, size_t size)
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
	rejects_path(rt, path, sizeof path);
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
			rejects_path(rt, path, sizeof path);
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
static void
remove_stale_rejects(const struct runtime *rt)
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
		i += put_utf8_piece(f, s + i, len - i);
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
		put_text(f, s, len);
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
static void
put_raw(FILE *f, const char *raw, size_t len, bool truncated, char sep)
{
	if (truncated || quote_left_open(raw, len, sep))
		put_quoted(f, raw, len);
	else
		put_text(f, raw, len);
}

static long
current_line(const struct runtime *rt)
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
		put_value(f, rt->path, strlen(rt->path), sep);
		fputc(sep, f);
	}
	fprintf(f, "%ld%c", line, sep);
	put_value(f, diag->field, strlen(diag->field), sep);
	fputc(sep, f);
	put_value(f, diag->reason, strlen(diag->reason), sep);
	fputc(sep, f);
	put_raw(f, raw, len, truncated, sep);
	fputs(csv_crlf(rt->csv) ? "\r\n" : "\n", f);
}

static ug_err
reject_row(struct runtime *rt, const ug_diag *diag)
{
	rt->file.rejected_rows++;
	long line = current_line(rt);
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

/* ---- the outbox batch ----------------------------------------------- */

/* Has the file changed since the first pass? Then nothing more of it
 * may be queued: it is imported again once it is complete. */
static bool
file_changed(struct runtime *rt)
{
	struct stat st;
	if (!rt->changed &&
	    (fstat(rt->fd, &st) != 0 || !same_file(&rt->plan->st, &st)))
		rt->changed = true;
	return rt->changed;
}

/* An event the outbox already had is a duplicate: acked before (a
 * re-import), still pending from an earlier run (this run delivers it,
 * once), or queued by an earlier row of this run (a repeated row, which
 * the clerk should hear of). */
static void
count_repeat(struct runtime *rt, int state, int64_t queued_at, long line)
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

static ug_err
flush_batch(struct runtime *rt)
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
			count_repeat(rt, rt->items[i].added,
				     rt->items[i].queued_at, rt->lines[i]);
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
static ug_err
find_latest(struct runtime *rt, const adapter_event *ev, outbox_latest *out)
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
static ug_err
reissue(struct runtime *rt, adapter_event *ev, const uint8_t *supersedes)
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
static void
too_large(const struct runtime *rt, const adapter_row *row, size_t len,
	  ug_diag *diag)
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

/* ---- an event the hub refuses ----------------------------------------
 *
 * Once a row is queued the adapter holds an event, and the hub may refuse
 * it only later (this run's delivery, a flush, after the file has gone).
 * So that the row does not vanish then, the outbox keeps with each event
 * its origin: the file and line, the rejects file its bad rows go to and
 * how that file is written, the input's header and the row as read. */

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
		rejects_path(rt, rejects, sizeof rejects);
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
			put_value(f, o->path, o->path_len, sep);
			fputc(sep, f);
		}
		fprintf(f, "%ld%c%c", o->line, sep, sep);
		put_value(f, reason, strlen(reason), sep);
		fputc(sep, f);
		put_raw(f, o->row, o->row_len, o->truncated, sep);
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

static ug_err
queue_event(struct runtime *rt, const adapter_row *row, adapter_event *ev,
	    ug_diag *diag)
{
	outbox_latest latest;
	ug_err err = find_latest(rt, ev, &latest);
	if (err != UG_OK)
		return err;
	rt->file.events++;
	long line = current_line(rt);
	bool same = latest.found &&
		    memcmp(latest.content, ev->event_id, OUTBOX_ID_LEN) == 0;
	if (same && latest.state != OUTBOX_UNKNOWN) {
		count_repeat(rt, latest.state, latest.queued_at, line);
		return UG_OK;
	}
	size_t n = rt->nitems;
	memcpy(rt->contents[n], ev->event_id, OUTBOX_ID_LEN);
	bool correction = latest.found && !same;
	if (correction) {
		memcpy(ev->supersedes, latest.id, OUTBOX_ID_LEN);
		ev->env.supersedes.data = ev->supersedes;
		ev->env.supersedes.len = OUTBOX_ID_LEN;
		if ((err = reissue(rt, ev, latest.id)) != UG_OK)
			return err;
	}
	int kind = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT;
	size_t len = wire_encoded_size(kind, &ev->env);
	if (len > WIRE_MAX_FRAME) {
		rt->file.events--;
		too_large(rt, row, len, diag);
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
	return rt->nitems == ADAPTER_BATCH_MAX ? flush_batch(rt) : UG_OK;
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
		return reject_row(rt, &diag);
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
		err = queue_event(rt, &row, &ev, &diag);
	sodium_memzero(&ev, sizeof ev);
	if (err == UG_OK && note.reason[0])
		log_notice("ADP-NOTE", "%s:%ld: column %s: %s", rt->path,
			   current_line(rt), note.field, note.reason);
	if (err == UG_EMALFORMED) {
		file_column_name(rt, &diag);
		return reject_row(rt, &diag);
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
	if (!known && ignorable(rt, key) && digits <= NAME_DIGITS_MAX &&
	    strlen(key) <= NAME_QUOTE_MAX)
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
		err = got == UG_OK ? import_record(rt) : reject_row(rt, &diag);
	}
	progress_show(rt, &pg, true);
	/* Whatever stopped the loop, the rows already parsed are good:
	 * queue them (unless the file changed under us); the stage decides
	 * whether they stay. */
	ug_err ferr = flush_batch(rt);
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
	ug_err err =
	    open_text(rt->fd, plan->encoding, &rt->raw, &rt->text, diag);
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
		leave_out_repeats(rt, rt->csv, left, sizeof left);
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
	if (status == FILE_DONE &&
	    (stat(plan->path, &now) != 0 || !same_file(&plan->st, &now)))
		status = FILE_CHANGED;
	if (!rt->rejects_shared && adapter__close_rejects(rt) != UG_OK)
		status = FILE_FATAL;
	if (status == FILE_DONE && !rt->rejects_path[0] &&
	    (rt->file.rejected_rows == 0 || rt->rejects_shared))
		remove_stale_rejects(rt);
	status = settle_stage(rt, status);
	csv_reader_destroy(&rt->csv);
	jsonl_reader_destroy(&rt->jsonl);
	close_text(&rt->raw, &rt->text);
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
