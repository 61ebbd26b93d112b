/*
 * The applier: one thread that applies committed log entries to derived
 * state and the rules (hub__apply), so the loop thread only receives,
 * validates and acknowledges. On one thread the acks of a batch waited
 * while the rules ran over the batch before; on two cores the rules now
 * run beside the next batch's validation and commit (docs/PERFORMANCE.md).
 *
 * What the two threads share, and how:
 *  - derived state, the rules in force and the apply machinery: under
 *    the derived lock. The applier holds it for one chunk of
 *    APPLY_CHUNK entries at a time; the loop takes it only to apply a
 *    small batch itself (hub__applier_kick), reload the rules, fire a due
 *    timer or purge, never to receive or acknowledge.
 *  - the hub clock and the applier's counters: atomics.
 *  - what an apply has to tell (alerts to push, notices, log lines):
 *    handed over under `news_mu` and told by the loop thread, which owns
 *    the delivery sockets and the audit queue (hub__announce). The audit
 *    records of escalations and withdrawals are not among them: apply.c
 *    writes them in the alerts' own transaction.
 * The ack never waits for the rules, but ingest does stop while the
 * applier is more than HUB_APPLY_LAG_MAX entries behind, so the rules never
 * fall far behind the log and an alert follows its event within a few
 * batches. When the applier is that far behind because applying fails
 * (derived/ full), waiting would leave senders unanswered for as long as
 * the failure lasts: frames are then refused retryable instead
 * (hub__applier_gate).
 */
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "hub/hub_int.h"

/* Entries per derived transaction, which bounds how long the loop can wait
 * for the lock (some 10-50 ms) and the memory LMDB holds for the
 * transaction's dirty pages (4,096 entries on a 5 M-event store took
 * hubd's anonymous memory from 60 to 88 MB). */
#define APPLY_CHUNK 512
/* At most this many entries are applied on the loop thread itself. */
#define APPLY_INLINE_MAX 16

struct hub_applier {
	hub_worker t;
	hub *h;
	bool kicked;
	atomic_uint_fast64_t applied; /* last_applied after the last chunk */
	atomic_bool loop_waits;	      /* the loop is blocked on the lock */
	atomic_bool stopping;
	pthread_mutex_t news_mu;
	hub_news *news;
	size_t nnews, news_cap;
};

static void *
applier_main(void *arg)
{
	hub_applier *a = arg;
	hub *h = a->h;
	pthread_mutex_lock(&a->t.mu);
	while (hub__worker_wait(&a->t, &a->kicked)) {
		pthread_mutex_unlock(&a->t.mu);
		long n;
		do {
			pthread_mutex_lock(&h->derived_mu);
			n = hub__apply_chunk(h, APPLY_CHUNK, true);
			atomic_store(&a->applied,
				     store_derived_last_applied(h->store));
			pthread_mutex_unlock(&h->derived_mu);
			hub__worker_signal(&a->t, "HUB-APPLIER");
			/* The loop asked for the lock: let it have it before
			 * the next chunk (a mutex is not fair). */
			for (int spins = 0;
			     atomic_load(&a->loop_waits) && spins < 10000;
			     spins++)
				sched_yield();
		} while (n > 0 && !atomic_load(&a->stopping));
		/* A failed chunk (reported by apply.c) is retried at the next
		 * kick: the loop's, twice a second, or after a batch. */
		pthread_mutex_lock(&a->t.mu);
	}
	pthread_mutex_unlock(&a->t.mu);
	return NULL;
}

ug_err
hub__applier_start(hub *h)
{
	hub_applier *a = calloc(1, sizeof *a);
	if (!a)
		return UG_ENOMEM;
	a->h = h;
	atomic_init(&a->applied, store_derived_last_applied(h->store));
	atomic_init(&a->loop_waits, false);
	atomic_init(&a->stopping, false);
	pthread_mutex_init(&a->news_mu, NULL);
	pthread_mutex_init(&h->derived_mu, NULL);
	h->applier = a;
	if (hub__worker_start(&a->t, "hubd-applier", applier_main, a, true) !=
	    UG_OK) {
		h->applier = NULL;
		pthread_mutex_destroy(&h->derived_mu);
		pthread_mutex_destroy(&a->news_mu);
		free(a);
		return UG_EIO;
	}
	return UG_OK;
}

int
hub__applier_fd(const hub *h)
{
	return h->applier->t.signal_fd;
}

void
hub__applier_kick(hub *h)
{
	hub_applier *a = h->applier;
	/* A few entries are applied here and now: waking the applier costs
	 * more than applying them (windows 1 and 10 lost 12-15 % to the
	 * hand-over). Only when it is idle, so order is kept. */
	uint64_t applied = atomic_load(&a->applied);
	if (h->logged >= applied && h->logged - applied <= APPLY_INLINE_MAX &&
	    pthread_mutex_trylock(&h->derived_mu) == 0) {
		/* What the applier applied before is told first. */
		hub__applier_collect(h);
		long n = hub__apply_chunk(h, APPLY_INLINE_MAX, false);
		atomic_store(&a->applied,
			     store_derived_last_applied(h->store));
		pthread_mutex_unlock(&h->derived_mu);
		/* A full chunk may have more behind it (hubctl appends to
		 * the log unseen by h->logged): those go to the applier. */
		if (n >= 0 && n < APPLY_INLINE_MAX &&
		    atomic_load(&a->applied) >= h->logged)
			return;
	}
	pthread_mutex_lock(&a->t.mu);
	a->kicked = true;
	pthread_cond_signal(&a->t.cv);
	pthread_mutex_unlock(&a->t.mu);
}

int
hub__applier_gate(const hub *h, uint64_t logged)
{
	uint64_t applied = atomic_load(&h->applier->applied);
	if (logged <= applied || logged - applied <= HUB_APPLY_LAG_MAX)
		return HUB_GATE_OPEN;
	return atomic_load(&h->apply_err) == UG_OK ? HUB_GATE_WAIT
						   : HUB_GATE_REFUSE;
}

int
hub__apply_failure(const hub *h, char *reason, size_t cap)
{
	ug_err err = (ug_err)atomic_load(&h->apply_err);
	if (err == UG_EFULL) {
		const char *setting = store_map_full();
		snprintf(reason, cap,
			 "the hub cannot apply events: its store is full "
			 "(%s); retry later",
			 setting ? setting : "derived_map_mb");
		return UNGEBRO__V1__ERROR_CODE__E_FULL;
	}
	snprintf(reason, cap,
		 "the hub cannot apply events to its derived state right "
		 "now (%s); retry later",
		 ug_strerror(err));
	return UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE;
}

void
hub__applier_hand(hub *h, const hub_news *news, size_t n)
{
	hub_applier *a = h->applier;
	pthread_mutex_lock(&a->news_mu);
	if (a->nnews + n > a->news_cap) {
		size_t want = a->news_cap ? a->news_cap : 64;
		while (want < a->nnews + n)
			want *= 2;
		hub_news *grown = realloc(a->news, want * sizeof *grown);
		if (!grown) {
			pthread_mutex_unlock(&a->news_mu);
			/* The alerts are stored and queued with their audit
			 * records (the next delivery tick pushes them); their
			 * log lines, e-mail notice counts and live-list
			 * updates are lost, and this says so. */
			log_err("HUB-APPLIER",
				"no memory to hand %zu notices to the loop: "
				"their HUB-ALERT lines, e-mail notices and "
				"live-list updates are lost (the alerts are "
				"stored)",
				n);
			return;
		}
		a->news = grown;
		a->news_cap = want;
	}
	memcpy(a->news + a->nnews, news, n * sizeof *news);
	a->nnews += n;
	pthread_mutex_unlock(&a->news_mu);
}

void
hub__applier_collect(hub *h)
{
	hub_applier *a = h->applier;
	hub__worker_drain(&a->t);
	pthread_mutex_lock(&a->news_mu);
	hub_news *news = a->news;
	size_t n = a->nnews;
	a->news = NULL;
	a->nnews = a->news_cap = 0;
	pthread_mutex_unlock(&a->news_mu);
	if (n)
		hub__announce(h, news, n);
	free(news);
}

void
hub__derived_enter(hub *h)
{
	hub_applier *a = h->applier;
	if (!a)
		return;
	if (pthread_mutex_trylock(&h->derived_mu) == 0)
		return;
	atomic_store(&a->loop_waits, true);
	pthread_mutex_lock(&h->derived_mu);
	atomic_store(&a->loop_waits, false);
}

void
hub__derived_leave(hub *h)
{
	if (h->applier)
		pthread_mutex_unlock(&h->derived_mu);
}

void
hub__applier_stop(hub *h)
{
	hub_applier *a = h->applier;
	if (!a)
		return;
	atomic_store(&a->stopping, true);
	hub__worker_stop(&a->t);
	pthread_mutex_destroy(&h->derived_mu);
	hub__applier_collect(h);
	pthread_mutex_destroy(&a->news_mu);
	free(a);
	h->applier = NULL;
}
