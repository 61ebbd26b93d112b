/*
 * The writer: one thread that commits batches of events to the log
 * (store_append: one transaction, fdatasync'd) while the loop thread
 * validates the next batch (and the applier thread applies the rules).
 * Without it the loop sat idle through every fsync and the rules waited
 * for the disk (docs/PERFORMANCE.md).
 *
 * The contract follows CZMQ's actor: the loop hands over one batch at a
 * time and does not touch it until the writer says it is done, through an
 * eventfd the loop polls beside its sockets. The writer touches nothing
 * of the hub but the batch and the store's append path (which uses no
 * buffer shared with the loop thread), and it never waits for the loop,
 * so a loop thread waiting for the log's write lock always gets it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "common/log.h"
#include "hub/hub_int.h"
#include "hub/metrics.h"

struct hub_writer {
	hub_worker t;
	store *store;
	/* The batch in hand; set by the loop, cleared by collect. */
	store_event *events;
	size_t n;
	bool job, busy;
	ug_err err;
	bool logged; /* the log took the batch, whatever err says */
	double seconds;
};

static void *
writer_main(void *arg)
{
	hub_writer *w = arg;
	pthread_mutex_lock(&w->t.mu);
	while (hub__worker_wait(&w->t, &w->job)) {
		store_event *events = w->events;
		size_t n = w->n;
		pthread_mutex_unlock(&w->t.mu);
		double t0 = hub__metrics_clock();
		bool logged = false;
		ug_err err = store_append_audited(w->store, events, n, NULL,
						  NULL, &logged);
		double seconds = hub__metrics_clock() - t0;
		pthread_mutex_lock(&w->t.mu);
		w->err = err;
		w->logged = logged;
		w->seconds = seconds;
		hub__worker_signal(&w->t, "HUB-WRITER");
	}
	pthread_mutex_unlock(&w->t.mu);
	return NULL;
}

ug_err
hub__writer_start(hub *h)
{
	hub_writer *w = calloc(1, sizeof *w);
	if (!w)
		return UG_ENOMEM;
	w->store = h->store;
	if (hub__worker_start(&w->t, "hubd-writer", writer_main, w, true) !=
	    UG_OK) {
		free(w);
		return UG_EIO;
	}
	h->writer = w;
	return UG_OK;
}

int
hub__writer_fd(const hub *h)
{
	return h->writer->t.signal_fd;
}

bool
hub__writer_busy(const hub *h)
{
	return h->writer->busy;
}

void
hub__writer_submit(hub *h, store_event *events, size_t n)
{
	hub_writer *w = h->writer;
	pthread_mutex_lock(&w->t.mu);
	w->events = events;
	w->n = n;
	w->job = true;
	w->busy = true;
	pthread_cond_signal(&w->t.cv);
	pthread_mutex_unlock(&w->t.mu);
}

bool
hub__writer_collect(hub *h, bool wait, ug_err *err, bool *logged,
		    double *seconds)
{
	hub_writer *w = h->writer;
	if (!w->busy)
		return false;
	while (!hub__worker_drain(&w->t)) {
		if (!wait)
			return false;
		struct timespec pause = {0, 200000};
		nanosleep(&pause, NULL);
	}
	pthread_mutex_lock(&w->t.mu);
	*err = w->err;
	*logged = w->logged;
	*seconds = w->seconds;
	w->busy = false;
	pthread_mutex_unlock(&w->t.mu);
	return true;
}

void
hub__writer_stop(hub *h)
{
	hub_writer *w = h->writer;
	if (!w)
		return;
	hub__worker_stop(&w->t);
	free(w);
	h->writer = NULL;
}
