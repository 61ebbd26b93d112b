/*
 * A background thread of hubd (the writer, the flusher, the applier): the
 * lock and the condition its owner signals it with, the quit flag set
 * under that lock, and, for a thread that reports back, the eventfd the
 * loop polls beside its sockets. The condition runs on CLOCK_MONOTONIC,
 * so a timed wait is not moved by a change of the wall clock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "hub/hub_int.h"

ug_err
hub__worker_start(hub_worker *w, const char *name, void *(*main)(void *),
		  void *arg, bool signals)
{
	w->signal_fd = -1;
	if (signals) {
		w->signal_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (w->signal_fd < 0)
			return UG_EIO;
	}
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
		if (w->signal_fd >= 0)
			close(w->signal_fd);
		return UG_EIO;
	}
	/* Named so that top -H and perf tell the threads apart. */
	pthread_setname_np(w->thread, name);
	return UG_OK;
}

bool
hub__worker_wait(hub_worker *w, bool *job)
{
	while (!*job && !w->quit)
		pthread_cond_wait(&w->cv, &w->mu);
	if (!*job)
		return false;
	*job = false;
	return true;
}

void
hub__worker_signal(hub_worker *w, const char *msgid)
{
	uint64_t one = 1;
	/* Cannot fail short of a bug: the counter holds 2^64 - 2. */
	if (write(w->signal_fd, &one, sizeof one) != sizeof one)
		log_err(msgid, "cannot signal the loop: %s", strerror(errno));
}

bool
hub__worker_drain(hub_worker *w)
{
	uint64_t count;
	bool signalled = false;
	while (w->signal_fd >= 0 &&
	       read(w->signal_fd, &count, sizeof count) == sizeof count)
		signalled = true;
	return signalled;
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
	if (w->signal_fd >= 0)
		close(w->signal_fd);
	w->signal_fd = -1; /* a drain after stop reads nothing */
}
