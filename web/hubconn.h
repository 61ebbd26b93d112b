/*
 * webd's one connection to hubd's delivery endpoint, as the registered
 * gateway (CURVE, the gateway's own key). Requests go one at a time: each
 * frame is sent and its Result (same request_id) awaited for at most the
 * timeout; answers to earlier, abandoned requests are dropped.
 */
#ifndef UG_WEB_HUBCONN_H
#define UG_WEB_HUBCONN_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/wire.h"

typedef struct hubconn hubconn;

/* Connect (libzmq connects in the background and reconnects by itself). */
ug_err hubconn_open(hubconn **out, const char *keys_dir, const char *gateway,
		    const char *endpoint, int timeout_ms, ug_diag *diag);
void hubconn_close(hubconn **hc);
/* While *stopping is 0 a request waits its whole timeout; once a stop
 * signal sets it, the wait in progress (and every later one) gives up
 * within 100 ms and hubconn_call returns NULL, so that a hub that does
 * not answer cannot hold webd's stop for hub_timeout. */
void hubconn_stop_on(hubconn *hc, volatile sig_atomic_t *stopping);
/* The hub refused the last CURVE handshake with this gateway's key (not
 * registered, revoked or replaced), and none has succeeded since. */
bool hubconn_refused(const hubconn *hc);
/* Its last handshake failed inside libzmq: with another hub's hub.key,
 * say; no try again will help. */
bool hubconn_handshake_failed(const hubconn *hc);
/* A fresh request id for the next frame. */
uint32_t hubconn_next_id(hubconn *hc);
/* Send msg (a frame of `kind` whose request_id is request_id) and return
 * the hub's Result (free with wire_free(FRAME_RESULT, r)), or NULL when
 * none came in time. */
wire_result *hubconn_call(hubconn *hc, int kind, const void *msg,
			  uint32_t request_id);

#endif
