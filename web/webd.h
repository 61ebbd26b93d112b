/*
 * webd, the caseworkers' web inbox: pages rendered by the server from the
 * hub's answers, over libmicrohttpd. webd holds the gateway's CURVE key
 * and the sessions its users opened, nothing else: no key that opens the
 * store, no caseworker's key, no password once a login is answered.
 */
#ifndef UG_WEB_WEBD_H
#define UG_WEB_WEBD_H

#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>

#include "common/err.h"
#include "web/hubconn.h"

typedef struct webd webd;

typedef struct {
	hubconn *hub;	     /* borrowed; used from the serving thread only */
	bool behind_tls;     /* cookies get Secure */
	long sessions_max;   /* sessions webd remembers */
	long streams_max;    /* live-update (/events) streams open at once */
	int poll_ms;	     /* how often a stream asks the hub for news */
	int warning_s;	     /* a page warns this long before the idle end */
	int64_t lifetime_ms; /* a session ends this long after its login */
} webd_opts;

ug_err webd_new(webd **out, const webd_opts *opts);
void webd_destroy(webd **w);
/* From the serving thread between MHD_run calls: polls the hub for the
 * open /events streams that are due and wakes those with news. */
void webd_tick(webd *w);
/* End every /events stream (at shutdown, before MHD_stop_daemon). */
void webd_end_streams(webd *w);
/* /events streams not yet done with (libmicrohttpd still holds them). */
long webd_streams_open(const webd *w);
/* libmicrohttpd's access handler (cls is the webd). */
enum MHD_Result webd_handle(void *cls, struct MHD_Connection *c,
			    const char *url, const char *method,
			    const char *version, const char *upload_data,
			    size_t *upload_size, void **state);
/* libmicrohttpd's logger (MHD_OPTION_EXTERNAL_LOGGER): into webd's log,
 * one line, CPR numbers masked. */
void webd_mhd_log(void *cls, const char *fmt, va_list ap);
/* libmicrohttpd's request-completed callback: frees the request state. */
void webd_completed(void *cls, struct MHD_Connection *c, void **state,
		    enum MHD_RequestTerminationCode why);

#endif
