/*
 * A background thread of hubd (the writer, the flusher): the lock and the
 * condition its owner signals it with, and the quit flag set under that
 * lock. The condition runs on CLOCK_MONOTONIC, so a timed wait is not
 * moved by a change of the wall clock.
 */
#include <time.h>

#include "hub/hub_int.h"

ug_err
hub__worker_start(hub_worker *w, void *(*main)(void *), void *arg)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, &attr);
	pthread_condattr_destroy(&attr);
	w->quit = false;
	if (pthread_create(&w->thread, NULL, main, arg) != 0) {
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
		return UG_EIO;
	}
	return UG_OK;
}

void
hub__worker_stop(hub_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
}
