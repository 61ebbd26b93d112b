/*
 * The flusher: one thread that writes the derived state's dirty pages to
 * disk every HUB_FLUSH_MS, which bounds what an OS crash can cost (the
 * derived environment is committed without fsync and replayed from the
 * log past its last flush). The loop thread used to do this itself: on a
 * store of millions of persons that is hundreds of megabytes of scattered
 * pages, during which no frame was read or acked (docs/PERFORMANCE.md).
 * It touches nothing but store_derived_flush, which is an fdatasync and
 * safe beside the loop's transactions.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "hub/hub_int.h"

#define HUB_FLUSH_MS 5000

struct hub_flusher {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	store *store;
	bool quit;
};

static void *
flusher_main(void *arg)
{
	hub_flusher *f = arg;
	pthread_mutex_lock(&f->mu);
	while (!f->quit) {
		struct timespec due;
		clock_gettime(CLOCK_MONOTONIC, &due);
		due.tv_sec += HUB_FLUSH_MS / 1000;
		while (!f->quit &&
		       pthread_cond_timedwait(&f->cv, &f->mu, &due) == 0)
			;
		if (f->quit)
			break;
		pthread_mutex_unlock(&f->mu);
		store_derived_flush(f->store);
		pthread_mutex_lock(&f->mu);
	}
	pthread_mutex_unlock(&f->mu);
	return NULL;
}

ug_err
hub__flusher_start(hub *h)
{
	hub_flusher *f = calloc(1, sizeof *f);
	if (!f)
		return UG_ENOMEM;
	f->store = h->store;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
		pthread_mutex_destroy(&f->mu);
		pthread_cond_destroy(&f->cv);
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
	pthread_mutex_lock(&f->mu);
	f->quit = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
	pthread_join(f->thread, NULL);
	pthread_mutex_destroy(&f->mu);
	pthread_cond_destroy(&f->cv);
	free(f);
	h->flusher = NULL;
}
