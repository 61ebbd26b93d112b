/*
 * Internals shared by the adapter runtime's files only (runtime.c, the
 * import side; watch.c, the drop directory; sender.c, the delivery side).
 * Agency files include adapter.h, never this.
 */
#ifndef UG_ADAPTER_INT_H
#define UG_ADAPTER_INT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>

#include "adapters/adapter.h"
#include "adapters/encoding.h"
#include "adapters/jsonl.h"
#include "common/config.h"
#include "common/csv.h"
#include "common/err.h"
#include "common/keys.h"
#include "store/outbox.h"

/* The figures of the summary line (SPEC). */
typedef struct {
	size_t rows;		/* data rows read, good and bad */
	size_t events;		/* rows that became events */
	size_t queued;		/* events newly put into the outbox */
	size_t corrections;	/* ...of which corrections of an earlier
				   event (same natural key, new values) */
	size_t accepted;	/* ACCEPTED acks */
	size_t duplicates;	/* already acked before (outbox sent set) or
				   DUPLICATE acks */
	size_t rejected_rows;	/* rows refused here (rejects file) */
	size_t rejected_by_hub; /* REJECTED, not retryable: dropped */
	size_t pending;		/* still in the outbox at the end */
} adapter_counts;

typedef struct {
	const char *endpoint; /* the hub's ingest endpoint */
	const char *hub_key;  /* the hub's CURVE public key, Z85 */
	const ug_keys *keys;  /* our CURVE pair (borrowed) */
	long timeout_ms;      /* give up after this long without progress */
	long window;	      /* events in flight, at most */
	long ack_timeout_ms;  /* resend an event unacked this long */
	volatile sig_atomic_t *stop; /* set by a signal handler: give up now */
	bool persistent; /* watch: never give up for lack of progress */
} adapter_send_opts;

typedef struct sender adapter_sender;

/*
 * Send what the outbox holds until every event has a final answer.
 * Returns UG_OK when nothing is pending any more; UG_ETIMEDOUT when
 * timeout_ms passed without progress (or *stop was set) and events remain
 * (the outbox keeps them); UG_EDENIED when the hub refused our key (diag
 * says so for a person); UG_EINVAL for a bad endpoint; UG_EIO/UG_EFULL/
 * UG_EMALFORMED when the outbox failed. Counts accepted, duplicates and
 * rejected_by_hub into counts.
 */
ug_err adapter__send(outbox *ob, const adapter_send_opts *opts,
		     adapter_counts *counts, ug_diag *diag);

/*
 * The same in steps, for a caller with more to do (watch): open a
 * sender (it connects at once; opts, counts and diag are borrowed and
 * must outlive it), then call step as often as convenient. One step tops
 * the window up from the outbox, sends what is due, waits up to wait_ms
 * for acks (and for fd, if >= 0, to be readable: *fd_ready), and records
 * the acks. Returns UG_OK, UG_EDENIED (the hub refused the key; diag),
 * or an outbox or socket failure. idle: nothing in flight and nothing
 * more in the outbox. wake: events were queued since; look again.
 */
ug_err adapter__sender_open(adapter_sender **out, outbox *ob,
			    const adapter_send_opts *opts,
			    adapter_counts *counts, ug_diag *diag);
ug_err adapter__sender_step(adapter_sender *s, long wait_ms, int fd,
			    bool *fd_ready);
bool adapter__sender_idle(const adapter_sender *s);
/* How long the sender has had events to deliver and the hub has taken
 * none of them (0 while idle); whether it ever connected. */
int64_t adapter__sender_waiting_ms(const adapter_sender *s, int64_t now,
				   bool *ever_connected);
void adapter__sender_wake(adapter_sender *s);
void adapter__sender_close(adapter_sender **s);

/* ---- the import side (runtime.c, import.c, watch.c) ----------------- */

/* Events per outbox transaction: each costs an fsync, and each maps
 * outbox pages into memory while it lasts (docs/ADAPTERS.md, figures). */
#define ADAPTER_BATCH_MAX 128
#define ADAPTER_PATH_LEN  4096

typedef enum { FORMAT_AUTO = 0, FORMAT_CSV, FORMAT_JSONL } adapter_format;

/* What the first pass found out about a file, for the second. */
typedef struct {
	char path[ADAPTER_PATH_LEN];
	adapter_format format;
	enc_kind encoding;
	bool encoding_detected; /* chosen by the scan, not requested */
	bool bom;		/* it began with a UTF-8 byte order mark */
	const struct adapter_kind *kind;
	struct stat st; /* as the first pass saw it: a change means the
			   file is still being written */
	/* JSON Lines: the keys seen in the file, mapped like a header. */
	char *keys; /* NUL-separated names */
	const char *key_names[CSV_COLUMNS_MAX];
	bool key_own[CSV_COLUMNS_MAX]; /* a long name, in a copy of its own */
	size_t nkeys;
	char unknown[512]; /* columns ignored (ignore_columns) */
	char *header;	   /* CSV: the header line, decoded */
} adapter_plan;

/* How one file's import ended. */
typedef enum {
	FILE_DONE = 0, /* imported; bad rows (if any) rejected */
	FILE_FAILED,   /* a whole-file problem: nothing queued */
	FILE_CHANGED,  /* it changed while read: nothing queued, import
			  it again later */
	FILE_STOPPED,  /* interrupted by a signal: nothing queued, import
			  it again */
	FILE_FATAL,    /* the outbox or the rejects file failed (what the
			  file queued is taken out if the outbox allows) */
} adapter_file_status;

struct runtime {
	const struct adapter_ops *ops;
	char program[64];
	ug_config *cfg;
	const char *agency;
	ug_keys *keys;
	char hub_key[UG_Z85_KEY_LEN + 1];
	outbox *ob;
	char outbox_path[ADAPTER_PATH_LEN];
	adapter_counts counts; /* the whole run */
	adapter_counts file;   /* the file being imported */
	int64_t started_ms;    /* events queued by this run have
				  queued_at >= */
	enc_kind encoding;     /* the setting */
	adapter_format format; /* the setting */
	long timeout_s, window, settle_s, rescan_s; /* the settings */
	bool watching;

	/* Called after every outbox transaction (watch: keep delivering). */
	void (*on_batch)(struct runtime *rt);
	void *watch;

	/* The batch of events waiting for one outbox transaction. */
	outbox_item items[ADAPTER_BATCH_MAX];
	uint8_t ids[ADAPTER_BATCH_MAX][OUTBOX_ID_LEN];
	uint8_t keys_hash[ADAPTER_BATCH_MAX][OUTBOX_KEY_LEN];
	uint8_t contents[ADAPTER_BATCH_MAX][OUTBOX_ID_LEN];
	uint8_t *frames[ADAPTER_BATCH_MAX];
	uint8_t
	    *origins[ADAPTER_BATCH_MAX]; /* import.c: where each came from */
	long lines[ADAPTER_BATCH_MAX];
	bool corrects[ADAPTER_BATCH_MAX];
	size_t nitems;

	/* The file being imported. */
	const adapter_plan *plan;
	const char *path;
	int fd;
	FILE *raw, *text;
	csv_reader *csv;
	jsonl_reader *jsonl;
	int index[ADAPTER_COLUMNS_MAX];
	bool changed; /* seen to change during the second pass */

	/* Rejects: one file per input, or the one the setting names. */
	FILE *rejects;
	char rejects_path[ADAPTER_PATH_LEN]; /* "" = the default */
	bool rejects_shared; /* the rejects setting: one file per format */
	FILE *shared[2];     /* its CSV and JSON Lines files, once made */
	bool shared_bom;     /* a CSV input of the run was not plain UTF-8 */
	/* Watch: the report being written (rejects listed as they come). */
	FILE *report;
	/* Watch: the rejects file the file's rows go to once it is in done/,
	 * where the hub's refusals of its events find it. */
	char done_rejects[ADAPTER_PATH_LEN];
	size_t report_rejects;
};

/* Set by SIGTERM/SIGINT: finish the transaction in hand and stop. */
extern volatile sig_atomic_t adapter__stop;

/* Print "program: text" on stderr: for the person at the terminal, and
 * under systemd at priority err (ug_eprintf_at), as what stops a run. */
void adapter__fatal(const struct runtime *rt, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A message about a row on stderr, ended by a line break: one line, its
 * control characters (a file or column name can hold a line break)
 * shown as '?', its CPRs masked (ug_eprintf); under systemd at priority
 * warning, as the exit code 1 it leads to. */
void adapter__eprint_line(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Control characters in text, in place, as '?'. */
void adapter__one_line(char *text);

/*
 * First pass over a file, in constant memory: open it, scan its
 * encoding, find its format and kind, check its columns, and see that it
 * did not change while read. UG_OK with *plan filled (release with
 * adapter__plan_fini); UG_EMALFORMED for a whole-file problem (diag: a
 * reason for the clerk, never file contents); UG_EAGAIN if it changed
 * while read (still being written); UG_EIO if it cannot be read.
 */
ug_err adapter__plan(struct runtime *rt, const char *path, adapter_plan *plan,
		     ug_diag *diag);
void adapter__plan_fini(adapter_plan *plan);

/*
 * Second pass: read the planned file's rows into the outbox (good rows)
 * and the rejects file (bad rows), adding to rt->counts and rt->file.
 */
adapter_file_status adapter__import(struct runtime *rt,
				    const adapter_plan *plan);

/* The per-file line of a file the run did not import (import only): it
 * failed as a whole (error: the reason), or was left alone (!failed). */
void adapter__print_unimported(const struct runtime *rt, const char *path,
			       bool failed, const char *error);

/* Close the rejects file if one is open (UG_EIO if writing failed). */
ug_err adapter__close_rejects(struct runtime *rt);
/* A run imported whole: remove the run-wide rejects files (the rejects
 * setting) an earlier run left that this run did not make (made[0] the
 * CSV one, made[1] the JSON Lines one). */
void adapter__remove_shared_rejects(const struct runtime *rt,
				    const bool made[2]);
/* Where the rejects setting sends the rows of one format: the setting,
 * or its name with .csv and .jsonl swapped (or .jsonl added). */
/* import_refused.c: the hub refused the event id for good (code, reason). Log
 * it with the file and line it was read from and append its row to that
 * file's rejects file (the origin the outbox keeps with it); an event
 * queued without one (a watcher's, or an older adapter's) is logged by
 * its id alone. */
void adapter__hub_refused(outbox *ob, const uint8_t *id, const char *code,
			  const char *reason);
/* Make the rows adapter__hub_refused appended durable, before the outbox
 * lets go of their events; false (logged) if they could not be. */
bool adapter__hub_refused_sync(void);

void adapter__shared_rejects_path(const char *setting, adapter_format format,
				  char *path, size_t size);

/* The counts as JSON members, without braces: "rows": 1, ... */
void adapter__counts_json(FILE *f, const adapter_counts *c);

/* s as a JSON string, always UTF-8: bytes that are not (a file name
 * from a Windows-1252 share) are read as Windows-1252. */
void adapter__json_string(FILE *f, const char *s, size_t len);

/* watch DIR: see watch.c. Returns the exit code. */
int adapter__watch(struct runtime *rt, const char *dir);

/* The delivery options from the settings (checked by setup). */
void adapter__send_opts(const struct runtime *rt, adapter_send_opts *opts);

/* Shared by the import side's files: import.c (the second pass, the
 * outbox batch), import_plan.c (the first pass), import_rejects.c (the
 * rejects file and the report) and import_refused.c (a row the hub
 * refuses later). */
#define SCAN_CHUNK   (64 * 1024)
#define KEY_NAME_MAX 128 /* longer JSON keys name no column */

/* A header cell with more digits could be a CPR (a data row taken for
 * the header, a CPR pasted into it), and longer names must fit a list:
 * both are named by position, never quoted, as the CSV reader names them
 * in a bad row's column. */
#define NAME_DIGITS_MAX CSV_NAME_DIGITS_MAX
#define NAME_QUOTE_MAX	CSV_NAME_QUOTE_MAX

bool adapter__same_file(const struct stat *a, const struct stat *b);
bool adapter__has_suffix(const char *s, const char *suffix);
size_t adapter__put_utf8_piece(FILE *f, const char *s, size_t len);
void adapter__put_text(FILE *f, const char *s, size_t len);
bool adapter__ignorable(const struct runtime *rt, const char *name);
ug_err adapter__open_text(int fd, enc_kind encoding, FILE **raw, FILE **text,
			  ug_diag *diag);
void adapter__close_text(FILE **raw, FILE **text);
void adapter__leave_out_repeats(const struct runtime *rt, csv_reader *csv,
				char *left, size_t cap);
void adapter__rejects_path(const struct runtime *rt, char *path, size_t size);
void adapter__remove_stale_rejects(const struct runtime *rt);
void adapter__put_value(FILE *f, const char *s, size_t len, char sep);
void adapter__put_raw(FILE *f, const char *raw, size_t len, bool truncated,
		      char sep);
long adapter__current_line(const struct runtime *rt);
ug_err adapter__reject_row(struct runtime *rt, const ug_diag *diag);
void adapter__count_repeat(struct runtime *rt, int state, int64_t queued_at,
			   long line);
ug_err adapter__flush_batch(struct runtime *rt);
ug_err adapter__find_latest(struct runtime *rt, const adapter_event *ev,
			    outbox_latest *out);
ug_err adapter__reissue(struct runtime *rt, adapter_event *ev,
			const uint8_t *supersedes);
void adapter__too_large(const struct runtime *rt, const adapter_row *row,
			size_t len, ug_diag *diag);
ug_err adapter__queue_event(struct runtime *rt, const adapter_row *row,
			    adapter_event *ev, ug_diag *diag);

#endif
