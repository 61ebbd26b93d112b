/*
 * The flusher: one thread that writes the dirty pages of the derived
 * state and the event-id index to disk every HUB_FLUSH_MS, which bounds
 * what an OS crash can cost (both environments are committed without
 * fsync and made again from the log past their last flush). The loop
 * thread used to do this itself: on a store of millions of persons that is
 * hundreds of megabytes of scattered pages, during which no frame was read
 * or acked (docs/PERFORMANCE.md). It touches nothing but
 * store_derived_flush, an fdatasync of each, safe beside the loop's
 * transactions.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "hub/hub_int.h"

#define HUB_FLUSH_MS 5000

struct hub_flusher {
	hub_worker t;
	store *store;
};

static void *
flusher_main(void *arg)
{
	hub_flusher *f = arg;
	pthread_mutex_lock(&f->t.mu);
	while (!f->t.quit) {
		struct timespec due;
		clock_gettime(CLOCK_MONOTONIC, &due);
		due.tv_sec += HUB_FLUSH_MS / 1000;
		while (!f->t.quit &&
		       pthread_cond_timedwait(&f->t.cv, &f->t.mu, &due) == 0)
			;
		if (f->t.quit)
			break;
		pthread_mutex_unlock(&f->t.mu);
		store_derived_flush(f->store);
		pthread_mutex_lock(&f->t.mu);
	}
	pthread_mutex_unlock(&f->t.mu);
	return NULL;
}

ug_err
hub__flusher_start(hub *h)
{
	hub_flusher *f = calloc(1, sizeof *f);
	if (!f)
		return UG_ENOMEM;
	f->store = h->store;
	if (hub__worker_start(&f->t, "hubd-flusher", flusher_main, f, false) !=
	    UG_OK) {
		free(f);
		return UG_EIO;
	}
	h->flusher = f;
	return UG_OK;
}

void
hub__flusher_stop(hub *h)
{
	hub_flusher *f = h->flusher;
	if (!f)
		return;
	hub__worker_stop(&f->t);
	free(f);
	h->flusher = NULL;
}
