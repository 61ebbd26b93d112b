/*
 * `watch DIR`: the unattended mode. The agency's export job drops files
 * into DIR; each file is imported once it is complete and then moved to
 * DIR/done/ (imported; bad rows, if any, in NAME.rejects.csv beside it)
 * or DIR/failed/ (a whole-file problem: nothing of it queued), with
 * NAME.report.json beside it: the counts, every rejected row's line,
 * column and reason, and the whole-file error if any. Delivery to the hub
 * goes on all the while, from the same thread: the import hands control
 * to the sender after every outbox transaction.
 *
 * "Complete" means: the file's size and modification time have not
 * changed for `settle` seconds (default 2), and no process has it open
 * for writing (probed with a read lease where the kernel allows one). A
 * file that changes while it is read is not moved, and nothing of it is
 * sent (adapter__import takes its events out of the outbox again): it is
 * imported again, whole, once it settles. Names starting with '.' and
 * ending in .part or .tmp are never touched: the export job writes under
 * such a name and renames when done, which is the surest way to hand
 * over a file.
 *
 * inotify says when to look; a full rescan every `rescan` seconds is the
 * fallback for file systems where inotify sees nothing (NFS, CIFS).
 * SIGTERM stops after the outbox transaction in hand: what is queued
 * stays queued, and a file half imported is imported again next time.
 *
 * Reports and log lines carry file names, line numbers, column names and
 * reasons, never a row's values.
 */
#define _GNU_SOURCE /* F_SETLEASE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "adapters/adapter_int.h"
#include "common/log.h"
#include "common/notify.h"
#include "common/util.h"

#define WAIT_MAX_MS 1000
/* A watcher never gives up on the hub, but says once when it has waited
 * as long as import would before giving up (timeout's default): under
 * systemd nothing else would tell the journal the hub is not reached. */
#define WAITING_SAY_MS 30000
/* A file found incomplete is looked at again no sooner than this, also
 * with settle 0: due again at once, it would be looked at in a loop of
 * its own, holding up the other files and delivery. */
#define RECHECK_MIN_MS 1000

struct candidate {
	char name[NAME_MAX + 1];
	struct stat st;
	int64_t stable_since; /* monotonic ms: unchanged since */
	bool seen;	      /* in the latest scan */
	bool stuck;	      /* dealt with but could not be moved: left
				 alone until it changes */
};

struct watch {
	struct runtime *rt;
	char dir[ADAPTER_PATH_LEN];
	int ifd;
	adapter_sender *sender;
	adapter_send_opts opts;
	ug_diag send_diag;
	/* Why the watcher stops, for its last line (the one journalctl -p
	 * err shows as the reason); empty: the sender's, or the error's. */
	char stop_why[ADAPTER_PATH_LEN + 256];
	struct candidate *cands;
	size_t ncands, cap;
	long settle_ms, rescan_ms;
	int64_t next_rescan;
	bool dirty;
	bool busy;	   /* the sender had work when last seen */
	bool waiting_said; /* ADP-WAITING logged for this wait */
	/* Rows of the files moved to done/: a file stopped or changed
	 * while read is not imported, however far it was read. */
	size_t rows_imported;
};

/* ---- helpers -------------------------------------------------------- */

static bool
ignored_name(const char *name)
{
	size_t n = strlen(name);
	if (name[0] == '.')
		return true;
	/* In any case: an export job on Windows writes EXPORT.CSV.PART,
	 * and its temporary files end in .TMP. */
	return (n >= 5 && strcasecmp(name + n - 5, ".part") == 0) ||
	       (n >= 4 && strcasecmp(name + n - 4, ".tmp") == 0);
}

static bool
same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static void
path_in(char *out, size_t size, const char *dir, const char *sub,
	const char *name, const char *suffix)
{
	int n = snprintf(out, size, "%s/%s%s%s%s", dir, sub, sub[0] ? "/" : "",
			 name, suffix);
	if (n < 0 || (size_t)n >= size)
		out[0] = '\0'; /* never a cut path: it would name another */
}

/* ---- the candidates ------------------------------------------------- */

static struct candidate *
find_candidate(struct watch *w, const char *name)
{
	for (size_t i = 0; i < w->ncands; i++)
		if (strcmp(w->cands[i].name, name) == 0)
			return &w->cands[i];
	return NULL;
}

static void
remove_candidate(struct watch *w, struct candidate *c)
{
	size_t i = (size_t)(c - w->cands);
	memmove(&w->cands[i], &w->cands[i + 1],
		(w->ncands - i - 1) * sizeof *w->cands);
	w->ncands--;
}

/* Not complete yet: due again after settle, and RECHECK_MIN_MS at the
 * least. */
static void
recheck_later(const struct watch *w, struct candidate *c)
{
	int64_t wait = w->settle_ms;
	if (wait < RECHECK_MIN_MS)
		wait = RECHECK_MIN_MS;
	c->stable_since = ug_mono_ms() + wait - w->settle_ms;
}

/* Changed at now: unchanged from now on, but not due before a recheck
 * set earlier. A file found open or changed while read is still being
 * written, and its next write would otherwise make it due at once
 * under settle 0, read again and again while it grows. */
static void
changed_since(struct candidate *c, int64_t now)
{
	if (c->stable_since < now)
		c->stable_since = now;
}

static ug_err
note_file(struct watch *w, const char *name, const struct stat *st,
	  int64_t now)
{
	struct candidate *c = find_candidate(w, name);
	if (!c) {
		if (w->ncands == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 16;
			void *grown =
			    realloc(w->cands, cap * sizeof *w->cands);
			if (!grown)
				return UG_ENOMEM;
			w->cands = grown;
			w->cap = cap;
		}
		c = &w->cands[w->ncands++];
		memset(c, 0, sizeof *c);
		ug_strlcpy(c->name, name, sizeof c->name);
		c->st = *st;
		c->stable_since = now;
		log_debug("ADP-WATCH", "new file %s", name);
	} else if (!same_stat(&c->st, st)) {
		c->st = *st;
		changed_since(c, now);
		c->stuck = false;
	}
	c->seen = true;
	return UG_OK;
}

static ug_err
rescan(struct watch *w, int64_t now)
{
	DIR *d = opendir(w->dir);
	if (!d) {
		snprintf(w->stop_why, sizeof w->stop_why, "cannot read %s: %s",
			 w->dir, strerror(errno));
		log_err("ADP-WATCH", "%s", w->stop_why);
		return UG_EIO;
	}
	for (size_t i = 0; i < w->ncands; i++)
		w->cands[i].seen = false;
	ug_err err = UG_OK;
	struct dirent *e;
	while (err == UG_OK && (e = readdir(d)) != NULL) {
		if (ignored_name(e->d_name))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) !=
			0 ||
		    !S_ISREG(st.st_mode))
			continue;
		err = note_file(w, e->d_name, &st, now);
	}
	closedir(d);
	for (size_t i = w->ncands; i-- > 0;)
		if (!w->cands[i].seen)
			remove_candidate(w, &w->cands[i]);
	return err;
}

/* Does a process have the file open for writing? A read lease is only
 * granted when none has; it is dropped again at once (holding it would
 * make the kernel stall the next writer). Where leases are not allowed
 * (another owner without CAP_LEASE, NFS) the answer is "no". */
static bool
open_for_writing(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return false;
	bool busy = false;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0)
		fcntl(fd, F_SETLEASE, F_UNLCK);
	else
		busy = errno == EAGAIN;
	close(fd);
	return busy;
}

/* ---- one file ------------------------------------------------------- */

/* The suffixes a base name in done/ or failed/ takes: the longest one
 * must still fit a file name's limit. */
#define LONGEST_SUFFIX (sizeof ".rejects.jsonl" - 1)

/* NAME with ".N" before its extension (n > 1) and its stem cut, at a
 * character, so that the result leaves `room` bytes of a file name free:
 * a name near the file system's limit must not stop the watcher, whose
 * work files and reports add to it. */
static void
fitted_name(const char *name, unsigned n, size_t room, char *out, size_t size)
{
	size_t len = strlen(name);
	const char *dot = strrchr(name, '.');
	size_t stem = dot && dot != name ? (size_t)(dot - name) : len;
	if (len - stem > 32)
		stem = len; /* no extension worth keeping */
	char number[16] = "";
	if (n > 1)
		snprintf(number, sizeof number, ".%u", n);
	size_t limit = NAME_MAX - room;
	size_t keep = stem;
	if (keep + strlen(number) + (len - stem) > limit) {
		size_t tail = strlen(number) + (len - stem);
		keep = tail < limit ? limit - tail : 1;
		while (keep > 1 && ((unsigned char)name[keep] & 0xC0) == 0x80)
			keep--;
	}
	snprintf(out, size, "%.*s%s%s", (int)keep, name, number, name + stem);
}

/* A base name under DIR/sub that NAME, NAME.report.json and
 * NAME.rejects.* do not take yet: NAME, else the number before the
 * extension (uge19.2.csv, uge19.3.csv, ...; a name without one gets it at
 * the end), so the file still opens as what it is. */
static void
free_base(const struct watch *w, const char *sub, const char *name, char *out,
	  size_t size)
{
	static const char *const suffixes[] = {
	    "", ".report.json", ".rejects.csv", ".rejects.jsonl"};
	for (unsigned n = 1;; n++) {
		fitted_name(name, n, LONGEST_SUFFIX, out, size);
		bool taken = false;
		for (size_t i = 0; !taken && i < 4; i++) {
			char path[ADAPTER_PATH_LEN];
			path_in(path, sizeof path, w->dir, sub, out,
				suffixes[i]);
			taken = access(path, F_OK) == 0;
		}
		if (!taken || n > 100000)
			return;
	}
}

static void
time_text(char out[32])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A report must parse as JSON whatever bytes a dropped file's name
 * holds. A CPR in it (a clerk's export per pupil) is masked, as in the
 * lines import prints and in the log: reports are read and passed on
 * where rows never are. */
static void
json_text(FILE *f, const char *s)
{
	char text[2 * NAME_MAX + 1024];
	ug_strlcpy(text, s, sizeof text);
	ug_cpr_mask(text);
	adapter__json_string(f, text, strlen(text));
}

/* The report's members after the rejects list, then the closing brace. */
static void
finish_report(FILE *f, const char *name, const char *status,
	      const adapter_plan *plan, const adapter_counts *c,
	      const char *rejects, const ug_diag *error)
{
	char at[32];
	time_text(at);
	fputs("],\n\"file\": ", f);
	json_text(f, name);
	fprintf(f, ",\n\"status\": \"%s\",\n\"error\": ", status);
	if (error) {
		json_text(f, error->reason);
		fprintf(f, ",\n\"error_line\": %ld", error->line);
	} else {
		fputs("null", f);
	}
	if (plan && plan->kind) {
		fprintf(f,
			",\n\"format\": \"%s\",\n\"encoding\": \"%s\",\n"
			"\"encoding_detected\": %s,\n\"kind\": ",
			plan->format == FORMAT_JSONL ? "jsonl" : "csv",
			enc_name(plan->encoding),
			plan->encoding_detected ? "true" : "false");
		json_text(f, plan->kind->name);
	} else {
		/* The same members as a file's line from import, null when
		 * the file was not read as anything: one reader fits both. */
		fputs(",\n\"format\": null,\n\"encoding\": null,\n"
		      "\"encoding_detected\": null,\n\"kind\": null",
		      f);
	}
	fprintf(f,
		",\n\"rows\": %zu, \"events\": %zu, \"queued\": %zu, "
		"\"corrections\": %zu, \"duplicates\": %zu, "
		"\"rejected_rows\": %zu,\n\"rejects_file\": ",
		c->rows, c->events, c->queued, c->corrections, c->duplicates,
		c->rejected_rows);
	if (rejects)
		json_text(f, rejects);
	else
		fputs("null", f);
	fprintf(f, ",\n\"finished_at\": \"%s\"\n}\n", at);
}

static ug_err
close_synced(FILE **f)
{
	if (!*f)
		return UG_OK;
	bool ok = fflush(*f) == 0 && !ferror(*f) && fsync(fileno(*f)) == 0;
	ok = fclose(*f) == 0 && ok;
	*f = NULL;
	return ok ? UG_OK : UG_EIO;
}

static FILE *
create_private(const char *path)
{
	/* Non-blocking: a named pipe put there (DIR is the export job's to
	 * write) would otherwise hold the watcher in open() for ever. */
	int fd = open(path,
		      O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK |
			  O_CLOEXEC,
		      0600);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
			fcntl(fd, F_SETFL, 0) != 0)) {
		close(fd);
		fd = -1;
		errno = EINVAL;
	}
	/* An existing file keeps its mode through O_TRUNC. */
	if (fd >= 0 && fchmod(fd, 0600) != 0) {
		close(fd);
		fd = -1;
	}
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f && fd >= 0)
		close(fd);
	return f;
}

/* Move the input and what was written about it into DIR/sub. */
static ug_err
move_out(struct watch *w, const char *sub, const char *name, const char *base,
	 const char *report_tmp, const char *rejects_tmp, const char *ext)
{
	char from[ADAPTER_PATH_LEN], to[ADAPTER_PATH_LEN];
	char suffix[32];
	snprintf(suffix, sizeof suffix, ".rejects.%s", ext);
	/* The report first: a crash after it leaves the input in place, to
	 * be imported again (nothing twice), never an input without its
	 * report. */
	if (rejects_tmp && access(rejects_tmp, F_OK) == 0) {
		path_in(to, sizeof to, w->dir, sub, base, suffix);
		if (rename(rejects_tmp, to) != 0)
			goto fail;
		log_notice("ADP-REJECTS", "rejected rows go to %s", to);
	}
	path_in(to, sizeof to, w->dir, sub, base, ".report.json");
	if (rename(report_tmp, to) != 0)
		goto fail;
	path_in(from, sizeof from, w->dir, "", name, "");
	path_in(to, sizeof to, w->dir, sub, base, "");
	if (rename(from, to) != 0)
		goto fail;
	char subdir[ADAPTER_PATH_LEN];
	path_in(subdir, sizeof subdir, w->dir, sub, "", "");
	int dfd = open(subdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	log_notice("ADP-WATCH", "%s -> %s/%s", name, sub, base);
	return UG_OK;
fail:
	log_err("ADP-WATCH", "cannot move %s into %s/: %s", name, sub,
		strerror(errno));
	return UG_EIO;
}

static void
discard(const char *report_tmp, const char *rejects_tmp)
{
	unlink(report_tmp);
	unlink(rejects_tmp);
}

/* A whole-file problem: a report saying so, and the file to failed/. */
static ug_err
fail_file(struct watch *w, const char *name, const char *report_tmp,
	  const ug_diag *diag)
{
	log_warn("ADP-FAILED", "%s: %s", name, diag->reason);
	FILE *f = create_private(report_tmp);
	if (!f) {
		log_err("ADP-WATCH", "cannot write %s: %s", report_tmp,
			strerror(errno));
		return UG_EIO;
	}
	adapter_counts none = {0};
	fputs("{\n\"rejects\": [", f);
	finish_report(f, name, "failed", NULL, &none, NULL, diag);
	if (close_synced(&f) != UG_OK)
		return UG_EIO;
	char base[NAME_MAX + 16];
	free_base(w, "failed", name, base, sizeof base);
	return move_out(w, "failed", name, base, report_tmp, NULL, "csv");
}

static void keep_delivering(struct runtime *rt);

/* done/ and failed/, made again if they went (a clean-up of done/ that
 * took the directory too): without them every file would be imported,
 * sent and then left in DIR, month after month. */
static ug_err
make_subdirs(const struct watch *w)
{
	const char *subs[] = {"done", "failed"};
	for (size_t i = 0; i < 2; i++) {
		char sub[ADAPTER_PATH_LEN];
		path_in(sub, sizeof sub, w->dir, "", subs[i], "");
		struct stat st;
		if (mkdir(sub, 0700) != 0 &&
		    (errno != EEXIST || stat(sub, &st) != 0 ||
		     !S_ISDIR(st.st_mode))) {
			adapter__fatal(w->rt, "cannot create %s: %s", sub,
				       errno == EEXIST ? "a file of that name "
							 "is in the way"
						       : strerror(errno));
			return UG_EIO;
		}
	}
	return UG_OK;
}

/*
 * Import one settled file. UG_OK when it was dealt with (moved, or left
 * to settle again); UG_EIO and the like when the adapter cannot go on.
 */
static ug_err
process(struct watch *w, struct candidate *c)
{
	struct runtime *rt = w->rt;
	char name[NAME_MAX + 1], path[ADAPTER_PATH_LEN];
	char report_tmp[ADAPTER_PATH_LEN], rejects_tmp[ADAPTER_PATH_LEN];
	ug_strlcpy(name, c->name, sizeof name);
	path_in(path, sizeof path, w->dir, "", name, "");
	/* Work files are dotfiles in DIR itself: never taken for input,
	 * and renamed into done/ or failed/ on the same file system. */
	char fitted[NAME_MAX + 1], dotted[NAME_MAX + 2];
	fitted_name(name, 1, 1 + sizeof ".report.json.tmp" - 1, fitted,
		    sizeof fitted);
	snprintf(dotted, sizeof dotted, ".%s", fitted);
	path_in(report_tmp, sizeof report_tmp, w->dir, "", dotted,
		".report.json.tmp");
	path_in(rejects_tmp, sizeof rejects_tmp, w->dir, "", dotted,
		".rejects.tmp");
	if (!path[0] || !report_tmp[0] || !rejects_tmp[0]) {
		log_err("ADP-WATCH", "the path of %s is too long", name);
		c->stuck = true;
		return UG_OK;
	}
	if (make_subdirs(w) != UG_OK)
		return UG_EINVAL; /* said; the watcher stops (exit 3) */
	/* Left by an attempt that was cut short: never move it as this
	 * attempt's, nor write through whatever else stands there (a link,
	 * a named pipe). */
	unlink(rejects_tmp);
	unlink(report_tmp);
	adapter_plan plan;
	ug_diag diag = {0};
	ug_err err = adapter__plan(rt, path, &plan, &diag);
	struct stat st;
	if (err == UG_EAGAIN) {
		recheck_later(w, c);
		return UG_OK;
	}
	if (err == UG_ENOMEM)
		return err;
	if (err != UG_OK && stat(path, &st) != 0) {
		remove_candidate(w, c); /* taken away meanwhile */
		return UG_OK;
	}
	if (err != UG_OK) {
		if (fail_file(w, name, report_tmp, &diag) != UG_OK)
			c->stuck = true;
		else
			remove_candidate(w, c);
		return UG_OK;
	}
	rt->report = create_private(report_tmp);
	if (!rt->report) {
		snprintf(w->stop_why, sizeof w->stop_why,
			 "cannot write %s: %s", report_tmp, strerror(errno));
		log_err("ADP-WATCH", "%s", w->stop_why);
		adapter__plan_fini(&plan);
		return UG_EIO;
	}
	fputs("{\n\"rejects\": [", rt->report);
	rt->report_rejects = 0;
	ug_strlcpy(rt->rejects_path, rejects_tmp, sizeof rt->rejects_path);
	/* The name in done/ is chosen now: the events keep it, for a
	 * refusal that comes once the file is there. */
	const char *ext = plan.format == FORMAT_JSONL ? "jsonl" : "csv";
	char base[NAME_MAX + 16], rejects_name[NAME_MAX + 48];
	free_base(w, "done", name, base, sizeof base);
	snprintf(rejects_name, sizeof rejects_name, "%s.rejects.%s", base,
		 ext);
	path_in(rt->done_rejects, sizeof rt->done_rejects, w->dir, "done",
		rejects_name, "");
	rt->started_ms = ug_now_ms();
	adapter_file_status status = adapter__import(rt, &plan);
	rt->rejects_path[0] = '\0';
	rt->done_rejects[0] = '\0';
	switch (status) {
	case FILE_DONE: {
		finish_report(rt->report, name, "done", &plan, &rt->file,
			      rt->file.rejected_rows ? rejects_name : NULL,
			      NULL);
		err = close_synced(&rt->report);
		if (err == UG_OK) {
			err = move_out(w, "done", name, base, report_tmp,
				       rejects_tmp, ext);
		} else {
			/* Its events are queued already: say so, or the
			 * file would sit in DIR with nothing in the log. */
			log_err("ADP-WATCH",
				"cannot write the report of %s (%s): %s; "
				"its events are queued and it stays in the "
				"directory: make room, and it is imported "
				"again (as duplicates) when the watcher is "
				"started again",
				name, report_tmp, strerror(errno));
			discard(report_tmp, rejects_tmp);
		}
		if (err == UG_OK) /* ADP-STOP counts the files in done/ */
			w->rows_imported += rt->file.rows;
		/* Its events are sent from now on (not at the stage's
		 * commit): a refusal of one finds the file in done/. */
		keep_delivering(rt);
		/* ADP-IDLE is owed once these are acknowledged, even when
		 * the acks came back within this turn and the sender is
		 * never seen busy between two turns. Not owed for the
		 * batches delivered while a file is read (on_batch): one
		 * changed meanwhile queues nothing. */
		w->busy = true;
		/* Queued, but it cannot be moved (permissions?): do not
		 * import it again and again; an operator must look. */
		if (err != UG_OK)
			c->stuck = true;
		else
			remove_candidate(w, c);
		err = UG_OK;
		log_notice("ADP-WATCH",
			   "%s: %zu rows, %zu queued (%zu corrections), %zu "
			   "duplicates, %zu rejected",
			   name, rt->file.rows, rt->file.queued,
			   rt->file.corrections, rt->file.duplicates,
			   rt->file.rejected_rows);
		break;
	}
	case FILE_CHANGED:
	case FILE_STOPPED:
		/* Imported again later; nothing moved, no report. */
		close_synced(&rt->report);
		discard(report_tmp, rejects_tmp);
		recheck_later(w, c);
		err = UG_OK;
		break;
	case FILE_FAILED:
	case FILE_FATAL:
		close_synced(&rt->report);
		discard(report_tmp, rejects_tmp);
		/* The import said what broke (the outbox, the disk) on the
		 * line before. */
		snprintf(w->stop_why, sizeof w->stop_why,
			 "%s could not be imported (the line before says why)",
			 name);
		err = UG_EIO;
		break;
	}
	adapter__plan_fini(&plan);
	return err;
}

/* ---- the loop ------------------------------------------------------- */

static void
keep_delivering(struct runtime *rt)
{
	struct watch *w = rt->watch;
	adapter__sender_wake(w->sender);
	/* A turn without waiting: acks recorded, the window refilled. */
	ug_err err = adapter__sender_step(w->sender, 0, -1, NULL);
	if (err != UG_OK && err != UG_EDENIED)
		log_err("ADP-SEND", "%s", w->send_diag.reason);
}

static void
drain_inotify(struct watch *w)
{
	char buf[4096]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	while (read(w->ifd, buf, sizeof buf) > 0)
		;
	w->dirty = true;
}

static long
next_wait(struct watch *w, int64_t now)
{
	int64_t wake = now + WAIT_MAX_MS;
	if (w->next_rescan < wake)
		wake = w->next_rescan;
	for (size_t i = 0; i < w->ncands; i++) {
		if (w->cands[i].stuck)
			continue;
		int64_t due = w->cands[i].stable_since + w->settle_ms;
		if (due < wake)
			wake = due;
	}
	return wake > now ? (long)(wake - now) : 0;
}

/* The first candidate (by name, for a predictable order) unchanged for
 * settle ms, or NULL. */
static struct candidate *
settled(struct watch *w, int64_t now)
{
	struct candidate *best = NULL;
	for (size_t i = 0; i < w->ncands; i++) {
		struct candidate *c = &w->cands[i];
		if (c->stuck || now - c->stable_since < w->settle_ms)
			continue;
		if (!best || strcmp(c->name, best->name) < 0)
			best = c;
	}
	return best;
}

static ug_err
turn(struct watch *w)
{
	int64_t now = ug_mono_ms();
	ug_err err = UG_OK;
	if (w->dirty || now >= w->next_rescan) {
		w->dirty = false;
		w->next_rescan = now + w->rescan_ms;
		err = rescan(w, now);
	}
	struct candidate *c;
	while (err == UG_OK && !adapter__stop &&
	       (c = settled(w, ug_mono_ms())) != NULL) {
		char path[ADAPTER_PATH_LEN];
		struct stat st;
		path_in(path, sizeof path, w->dir, "", c->name, "");
		if (stat(path, &st) != 0) {
			remove_candidate(w, c);
		} else if (!same_stat(&st, &c->st)) {
			c->st = st;
			changed_since(c, ug_mono_ms());
		} else if (open_for_writing(path)) {
			log_debug("ADP-WATCH", "%s is still open for writing",
				  c->name);
			recheck_later(w, c);
		} else {
			err = process(w, c);
		}
	}
	if (err != UG_OK)
		return err;
	bool ready;
	now = ug_mono_ms();
	err =
	    adapter__sender_step(w->sender, next_wait(w, now), w->ifd, &ready);
	if (ready)
		drain_inotify(w);
	bool ever;
	int64_t waited =
	    adapter__sender_waiting_ms(w->sender, ug_mono_ms(), &ever);
	if (waited < WAITING_SAY_MS) {
		w->waiting_said = false;
	} else if (!w->waiting_said) {
		size_t pending = 0, sent = 0;
		outbox_counts(w->rt->ob, &pending, &sent);
		log_warn("ADP-WAITING",
			 "%zu events wait in the outbox and %s has taken "
			 "none of them for %d s%s; still trying",
			 pending, w->opts.endpoint, WAITING_SAY_MS / 1000,
			 ever ? ""
			      : " (never connected: is hubd running there, "
				"and are the host and port right?)");
		w->waiting_said = true;
	}
	bool idle = adapter__sender_idle(w->sender);
	if (idle && w->busy)
		log_info("ADP-IDLE",
			 "everything queued is delivered (%zu "
			 "accepted so far)",
			 w->rt->counts.accepted);
	w->busy = !idle;
	return err;
}

static ug_err
open_watch(struct watch *w, const char *dir)
{
	struct runtime *rt = w->rt;
	ug_strlcpy(w->dir, dir, sizeof w->dir);
	size_t n = strlen(w->dir);
	while (n > 1 && w->dir[n - 1] == '/')
		w->dir[--n] = '\0';
	struct stat st;
	if (stat(w->dir, &st) != 0) {
		/* "not a directory" would send the operator looking for a
		 * file of that name: say why it cannot be watched. */
		adapter__fatal(rt, "cannot watch %s: %s", w->dir,
			       strerror(errno));
		return UG_EINVAL;
	}
	if (!S_ISDIR(st.st_mode)) {
		adapter__fatal(rt, "%s is not a directory", w->dir);
		return UG_EINVAL;
	}
	w->settle_ms = rt->settle_s * 1000;
	w->rescan_ms = rt->rescan_s * 1000;
	if (make_subdirs(w) != UG_OK)
		return UG_EINVAL; /* said */
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->ifd < 0 ||
	    inotify_add_watch(w->ifd, w->dir,
			      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
				  IN_MODIFY | IN_ATTRIB | IN_DELETE |
				  IN_MOVED_FROM) < 0)
		log_warn("ADP-WATCH",
			 "inotify unavailable (%s); scanning %s every %ld s",
			 strerror(errno), w->dir, rt->rescan_s);
	adapter__send_opts(rt, &w->opts);
	w->opts.persistent = true;
	ug_err err = adapter__sender_open(&w->sender, rt->ob, &w->opts,
					  &rt->counts, &w->send_diag);
	if (err != UG_OK) {
		adapter__fatal(rt, "%s", w->send_diag.reason);
		return err;
	}
	rt->watch = w;
	rt->on_batch = keep_delivering;
	rt->watching = true;
	w->dirty = true;
	/* What an earlier run left pending owes an ADP-IDLE too. */
	size_t pending = 0, sent = 0;
	w->busy = outbox_counts(rt->ob, &pending, &sent) == UG_OK && pending;
	return UG_OK;
}

int
adapter__watch(struct runtime *rt, const char *dir)
{
	struct watch w = {.rt = rt, .ifd = -1};
	ug_err err = open_watch(&w, dir);
	if (err == UG_OK) {
		log_notice("ADP-WATCH",
			   "watching %s (settle %ld s, rescan %ld s)", w.dir,
			   w.settle_ms / 1000, w.rescan_ms / 1000);
		ug_notify_systemd("READY=1");
	}
	while (err == UG_OK && !adapter__stop)
		err = turn(&w);
	if (err == UG_EDENIED)
		adapter__fatal(rt, "%s", w.send_diag.reason);
	else if (err != UG_OK && err != UG_EINVAL)
		adapter__fatal(rt, "watch %s stops: %s", w.dir,
			       w.stop_why[0]	       ? w.stop_why
			       : w.send_diag.reason[0] ? w.send_diag.reason
						       : ug_strerror(err));
	ug_notify_systemd("STOPPING=1");
	size_t pending = 0, sent = 0;
	if (rt->ob)
		outbox_counts(rt->ob, &pending, &sent);
	if (err == UG_OK)
		log_notice("ADP-STOP",
			   "stopping: %zu rows imported, %zu events accepted "
			   "by the hub, %zu pending in the outbox",
			   w.rows_imported, rt->counts.accepted, pending);
	adapter__sender_close(&w.sender);
	if (w.ifd >= 0)
		close(w.ifd);
	free(w.cands);
	rt->on_batch = NULL;
	rt->watch = NULL;
	return err == UG_OK ? ADAPTER_EXIT_OK : ADAPTER_EXIT_FATAL;
}
