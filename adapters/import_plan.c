/*
 * The adapter runtime, import side, the first pass (adapter__plan):
 * the whole file read once, in constant memory, to decide what concerns
 * it as a whole (encoding, format, kind of record, unknown columns,
 * whether it changed while read) before a single event is queued.
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
bool
adapter__ignorable(const struct runtime *rt, const char *name)
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
		bool known = !names[h][0] || adapter__ignorable(rt, names[h]);
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
			list_add(adapter__ignorable(rt, names[h]) ? &ignored
								  : &refused,
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
ug_err
adapter__open_text(int fd, enc_kind encoding, FILE **raw, FILE **text,
		   ug_diag *diag)
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

void
adapter__close_text(FILE **raw, FILE **text)
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
void
adapter__leave_out_repeats(const struct runtime *rt, csv_reader *csv,
			   char *left, size_t cap)
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
		if (name[0] &&
		    (own || (again && adapter__ignorable(rt, name)) ||
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
	adapter__leave_out_repeats(rt, csv, left, sizeof left);
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
	if (adapter__has_suffix(path, ".jsonl") ||
	    adapter__has_suffix(path, ".ndjson"))
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
	if (fstat(fd, &after) != 0 || !adapter__same_file(&plan->st, &after)) {
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
	err = adapter__open_text(fd, plan->encoding, &raw, &text, diag);
	if (err == UG_OK && plan->format == FORMAT_CSV)
		err = plan_csv(rt, plan, text, diag);
	else if (err == UG_OK)
		err = plan_jsonl(rt, plan, text, diag);
	if (err == UG_OK &&
	    (fstat(fd, &after) != 0 || !adapter__same_file(&plan->st, &after)))
		err = UG_EAGAIN;
done:
	if (err == UG_EAGAIN)
		ug_diag_set(diag, "file",
			    "the file changed while it was read (is it still "
			    "being written?); import it once it is complete");
	adapter__close_text(&raw, &text);
	close(fd);
	if (err != UG_OK)
		adapter__plan_fini(plan);
	return err;
}
