/*
 * Internals shared by the adapter runtime's files only (runtime.c, the
 * import side, and sender.c, the delivery side). Agency files include
 * adapter.h, never this.
 */
#ifndef UG_ADAPTER_INT_H
#define UG_ADAPTER_INT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/keys.h"
#include "store/outbox.h"

/* The figures of the summary line (SPEC). */
typedef struct {
	size_t rows;		/* data rows read, good and bad */
	size_t events;		/* rows that became events */
	size_t queued;		/* events newly put into the outbox */
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
} adapter_send_opts;

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

#endif
