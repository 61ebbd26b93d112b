/*
 * webd's one connection to hubd's delivery endpoint, as the registered
 * gateway (CURVE, the gateway's own key). Requests go one at a time: each
 * frame is sent and its Result (same request_id) awaited for at most the
 * timeout; answers to earlier, abandoned requests are dropped.
 */
#ifndef UG_WEB_HUBCONN_H
#define UG_WEB_HUBCONN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/wire.h"

typedef struct hubconn hubconn;

/* Connect (libzmq connects in the background and reconnects by itself). */
ug_err hubconn_open(hubconn **out, const char *keys_dir, const char *gateway,
		    const char *endpoint, int timeout_ms, ug_diag *diag);
void hubconn_close(hubconn **hc);
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
