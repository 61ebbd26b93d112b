/*
 * An adapter's outbox: frames waiting for the hub's ack, in the adapter's
 * own LMDB environment, sealed with the adapter's storage key so a CPR
 * never sits on disk in the clear. A frame is written (synchronously)
 * before it is sent and removed when the hub acks it, so an adapter killed
 * at any moment resends exactly what was not acked. The `sent` set keeps
 * the ids the hub has acked, so importing the same file again sends nothing.
 *
 * Frames are sent in the order they were put (outbox_scan_queue), which
 * is the order the rows were read: a correction never overtakes the
 * event it corrects.
 *
 * Corrections: for an event with a natural key the outbox also keeps, per
 * keyed hash of that key, the `latest` event queued for it (its content
 * id and its event id), so the adapter can tell a repeat (same content)
 * from a correction (other content, which supersedes the latest id). An
 * event the hub refuses for good hands `latest` back to the event before
 * it, so the corrected row can be imported again once the cause is fixed.
 *
 * Staging: what one input file queues is held back until the whole file
 * has been read (outbox_stage_*, below), so a file refused half-way
 * leaves nothing in the outbox.
 *
 * One process at a time: outbox_open takes an exclusive lock on
 * DIR/adapter.lock and fails with UG_EAGAIN while another process holds
 * it (two importers deciding corrections side by side could both
 * supersede the same event).
 */
#ifndef UG_OUTBOX_H
#define UG_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define OUTBOX_ID_LEN  16
#define OUTBOX_KEY_LEN 16
/* The largest frame outbox_put queues: the hub's frame limit
 * (WIRE_MAX_FRAME; the adapters check that the two agree). A larger
 * frame could never be delivered: the hub refuses it for good, or, far
 * over, drops the connection on it, and the sender would dial again and
 * resend it for ever. */
#define OUTBOX_FRAME_MAX (64 * 1024)

typedef struct outbox outbox;

typedef struct {
	const uint8_t *id;    /* OUTBOX_ID_LEN bytes (the event id) */
	const uint8_t *frame; /* the encoded frame, sealed here */
	size_t len;
	int added;	   /* result: OUTBOX_ADDED, _PENDING, ... below */
	int64_t queued_at; /* result for OUTBOX_PENDING: when it was queued */
	/* Optional, for corrections: the keyed hash of the event's natural
	 * key (OUTBOX_KEY_LEN bytes; NULL: no natural key) and its content
	 * id (OUTBOX_ID_LEN; NULL: the id). When the item is added,
	 * latest[key] becomes (content, id). */
	const uint8_t *key;
	const uint8_t *content;
	/* Optional: where the event came from (the adapter's own bytes,
	 * sealed, at most 128 KiB), kept while it is pending, for the hub's
	 * refusal of it (outbox_origin). */
	const uint8_t *origin;
	size_t origin_len;
} outbox_item;

enum {
	OUTBOX_SENT = 0,       /* the hub acked this id before: skipped */
	OUTBOX_ADDED = 1,      /* queued now */
	OUTBOX_PENDING = -1,   /* already queued, not acked yet: skipped */
	OUTBOX_UNKNOWN = -2,   /* (outbox_lookup) neither queued nor acked */
	OUTBOX_TOO_LARGE = -3, /* over OUTBOX_FRAME_MAX: not queued */
};

/* What outbox_lookup finds for a natural key. */
typedef struct {
	bool found;			/* a latest entry exists */
	uint8_t content[OUTBOX_ID_LEN]; /* its content id */
	uint8_t id[OUTBOX_ID_LEN];	/* its event id */
	int state;			/* of that id: _PENDING, _SENT,
					   _UNKNOWN */
	int64_t queued_at;		/* for _PENDING */
} outbox_latest;

/* Open (creating) the outbox in dir; storage_key is borrowed. */
ug_err outbox_open(outbox **out, const char *dir, const uint8_t *storage_key,
		   size_t map_mb, ug_diag *diag);
void outbox_close(outbox **ob);

/* Queue frames in one synchronous transaction (queued_at in ms is kept
 * with each). Ids already pending or already acked are skipped, and so
 * is a frame over OUTBOX_FRAME_MAX (added = OUTBOX_TOO_LARGE): the rest
 * of the batch is queued, and the caller reports the one refused. */
ug_err outbox_put(outbox *ob, outbox_item *items, size_t n, int64_t queued_at)
    __attribute__((warn_unused_result));

typedef ug_err (*outbox_fn)(void *ctx, const uint8_t *id, const uint8_t *frame,
			    size_t len);
/* Visit up to max pending frames in id order, after `after` (NULL: first).
 * Do not call other outbox functions from fn. */
ug_err outbox_scan(outbox *ob, const uint8_t *after, size_t max, outbox_fn fn,
		   void *ctx);

/*
 * The queue: pending frames in the order they were put (each has a queue
 * position, seq, from 1). Visit up to max of them after position `after`
 * (0: from the first) with fn(ctx, seq, id, frame, len, supersedes),
 * where supersedes is the id of the event this one corrects (from the
 * `latest` entry it replaced; NULL if none), so a sender can hold a
 * correction back until what it corrects is acknowledged. The frame is
 * valid during the call. fn returning an error stops the scan and is
 * returned. Do not call other outbox functions from fn.
 */
typedef ug_err (*outbox_queue_fn)(void *ctx, uint64_t seq, const uint8_t *id,
				  const uint8_t *frame, size_t len,
				  const uint8_t *supersedes);
ug_err outbox_scan_queue(outbox *ob, uint64_t after, size_t max,
			 outbox_queue_fn fn, void *ctx);

/* Take ids out of pending in one synchronous transaction. An acked id
 * (rejected NULL or rejected[i] false) moves to the sent set, so it is never
 * queued again; an id the hub rejected for good is only dropped, so the
 * same row can be imported again once the cause is fixed. */
ug_err outbox_done(outbox *ob, const uint8_t (*ids)[OUTBOX_ID_LEN], size_t n,
		   const bool *rejected) __attribute__((warn_unused_result));

/* After a failed write: whether it was for want of room on the outbox's
 * disk (store.c's rule), with the room left and the outbox's directory
 * for the message. */
bool outbox_disk_full(outbox *ob, unsigned long long *free_kib,
		      const char **dir);

/* The latest entry for a natural key's hash (out->found false if none). */
ug_err outbox_lookup(outbox *ob, const uint8_t key[OUTBOX_KEY_LEN],
		     outbox_latest *out);

/* The origin queued with pending id into out (cap bytes), its length in
 * *len: UG_ENOTFOUND when it has none (queued without one, by an older
 * adapter or while OUTBOX/origins could not be opened), UG_ECLOSED when
 * OUTBOX/origins is not open now, UG_EMALFORMED when its record is cut
 * short (a crash) or does not open or fit. */
ug_err outbox_origin(outbox *ob, const uint8_t id[OUTBOX_ID_LEN], uint8_t *out,
		     size_t cap, size_t *len);

/* Whether id is pending, sent or unknown (*queued_at for pending). */
ug_err outbox_id_state(outbox *ob, const uint8_t id[OUTBOX_ID_LEN], int *state,
		       int64_t *queued_at);

/*
 * Staging. outbox_stage_begin opens a stage (one at a time); outbox_put
 * then queues as usual, and lookups (outbox_lookup, outbox_id_state) see
 * what the stage queued, but outbox_scan_queue does not show it: the
 * stage is the queue's end and the scan stops there. outbox_stage_commit
 * releases it in one small synchronous transaction. outbox_stage_abort
 * takes every event the stage queued out again, newest first, putting
 * back each natural key's latest entry as it was (*removed: how many),
 * in transactions of up to 1,024 events. The stage is on disk from its
 * first put: outbox_open finds a stage left open (the process died, or
 * an abort was cut short) and aborts it, logging OUTBOX-STAGE.
 */
void outbox_stage_begin(outbox *ob);
ug_err outbox_stage_commit(outbox *ob) __attribute__((warn_unused_result));
ug_err outbox_stage_abort(outbox *ob, size_t *removed)
    __attribute__((warn_unused_result));

/* Frames still waiting for an ack (staged ones too), and ids acked so
 * far. */
ug_err outbox_counts(outbox *ob, size_t *pending, size_t *sent);

/* Frames of a stage still on disk (an abort that failed): held back,
 * to be taken out at the next open, never sent. */
ug_err outbox_held(outbox *ob, size_t *held);

#endif
