/* webd's connection to hubd; see hubconn.h. */
#include "web/hubconn.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/keys.h"
#include "common/log.h"
#include "common/util.h"

/* How the last CURVE handshake with the hub ended. libzmq does not try
 * again after a refused handshake (the hub's ZAP denial, or a hub.key that
 * is not the hub's), so webd connects anew when a request finds it so:
 * a gateway registered after webd started is admitted without a restart. */
enum handshake {
	HANDSHAKE_NONE,
	HANDSHAKE_OK,
	HANDSHAKE_REFUSED,
	HANDSHAKE_FAILED
};

#define MONITOR_ENDPOINT "inproc://webd-hub-monitor"

struct hubconn {
	void *zmq, *sock, *monitor;
	char *endpoint;
	int timeout_ms;
	volatile sig_atomic_t *stopping; /* NULL: never */
	uint32_t next_id;
	enum handshake handshake;
};

/* Take the handshake events that arrived; true when one of them was a
 * failure. */
static bool
read_monitor(hubconn *hc)
{
	bool failed = false;
	for (;;) {
		zmq_msg_t event;
		zmq_msg_init(&event);
		if (zmq_msg_recv(&event, hc->monitor, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&event);
			return failed;
		}
		uint16_t id = 0;
		if (zmq_msg_size(&event) >= 2)
			memcpy(&id, zmq_msg_data(&event), 2);
		bool more = zmq_msg_more(&event);
		zmq_msg_close(&event);
		if (more) { /* the endpoint, in a frame of its own */
			zmq_msg_init(&event);
			zmq_msg_recv(&event, hc->monitor, 0);
			zmq_msg_close(&event);
		}
		if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			hc->handshake = HANDSHAKE_OK;
		} else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
			hc->handshake = HANDSHAKE_REFUSED;
			failed = true;
		} else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
			   id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
			hc->handshake = HANDSHAKE_FAILED;
			failed = true;
		}
	}
}

ug_err
hubconn_open(hubconn **out, const char *keys_dir, const char *gateway,
	     const char *endpoint, int timeout_ms, ug_diag *diag)
{
	char path[512], hub_id[UG_ID_MAX], hub_public[UG_Z85_KEY_LEN + 1];
	snprintf(path, sizeof path, "%s%shub.key", keys_dir,
		 ug_dir_sep(keys_dir));
	ug_err err = ug_keys_load_public(path, hub_id, hub_public, diag);
	if (err != UG_OK)
		return err;
	ug_keys *keys = NULL;
	snprintf(path, sizeof path, "%s%s%s.key_secret", keys_dir,
		 ug_dir_sep(keys_dir), gateway);
	err = ug_keys_load_secret(&keys, path, diag);
	if (err != UG_OK) {
		ug_keys_diag_name(diag, path);
		return err;
	}
	/* The hub knows a gateway by its key alone: another gateway's file
	 * under this name would serve as that gateway, unnoticed. */
	if (strcmp(keys->id, gateway) != 0) {
		ug_diag_set(diag, "keys_dir",
			    "%s holds the key of '%s', not of gateway '%s'",
			    path, keys->id, gateway);
		ug_keys_destroy(&keys);
		return UG_EINVAL;
	}
	hubconn *hc = calloc(1, sizeof *hc);
	err = UG_ENOMEM;
	if (!hc)
		goto fail;
	hc->timeout_ms = timeout_ms;
	hc->next_id = (uint32_t)ug_now_ms();
	hc->endpoint = strdup(endpoint);
	hc->zmq = hc->endpoint ? zmq_ctx_new() : NULL;
	hc->sock = hc->zmq ? zmq_socket(hc->zmq, ZMQ_DEALER) : NULL;
	int zero = 0, one = 1;
	/* libzmq connects to a `[IPv6]` endpoint only with ZMQ_IPV6 (the
	 * adapters and inbox do the same). */
	int ipv6 = strncmp(endpoint, "tcp://[", 7) == 0;
	err = UG_EIO;
	if (!hc->sock ||
	    zmq_setsockopt(hc->sock, ZMQ_IPV6, &ipv6, sizeof ipv6) ||
	    zmq_setsockopt(hc->sock, ZMQ_CURVE_SERVERKEY, hub_public,
			   UG_Z85_KEY_LEN) ||
	    zmq_setsockopt(hc->sock, ZMQ_CURVE_PUBLICKEY, keys->public_z85,
			   UG_Z85_KEY_LEN) ||
	    zmq_setsockopt(hc->sock, ZMQ_CURVE_SECRETKEY, keys->secret_z85,
			   UG_Z85_KEY_LEN) ||
	    zmq_setsockopt(hc->sock, ZMQ_LINGER, &zero, sizeof zero) ||
	    /* No queue while the hub is away: a request the browser was
	     * told failed (503) must not reach the hub when it is back, a
	     * login with its password, an action dated the day it lands. */
	    zmq_setsockopt(hc->sock, ZMQ_IMMEDIATE, &one, sizeof one) ||
	    zmq_socket_monitor(hc->sock, MONITOR_ENDPOINT,
			       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
				   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) != 0 ||
	    !(hc->monitor = zmq_socket(hc->zmq, ZMQ_PAIR)) ||
	    zmq_setsockopt(hc->monitor, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_connect(hc->monitor, MONITOR_ENDPOINT) != 0 ||
	    zmq_connect(hc->sock, endpoint) != 0) {
		ug_diag_set(diag, "delivery", "cannot connect to %s: %s",
			    endpoint, zmq_strerror(zmq_errno()));
		goto fail;
	}
	ug_keys_destroy(&keys);
	*out = hc;
	return UG_OK;
fail:
	ug_keys_destroy(&keys);
	hubconn_close(&hc);
	return err;
}

void
hubconn_close(hubconn **hcp)
{
	if (!hcp || !*hcp)
		return;
	hubconn *hc = *hcp;
	if (hc->monitor)
		zmq_close(hc->monitor);
	if (hc->sock) {
		zmq_socket_monitor(hc->sock, NULL, 0);
		zmq_close(hc->sock);
	}
	free(hc->endpoint);
	if (hc->zmq)
		zmq_ctx_term(hc->zmq);
	free(hc);
	*hcp = NULL;
}

void
hubconn_stop_on(hubconn *hc, volatile sig_atomic_t *stopping)
{
	hc->stopping = stopping;
}

static bool
stopping(const hubconn *hc)
{
	return hc->stopping && *hc->stopping;
}

/* How long the next poll may wait: what is left of the request's time,
 * but at most 100 ms, so that a stop signal (which need not interrupt
 * the poll: it can come just before it) is seen soon; 0 when the time
 * is out or webd stops. */
static long
wait_slice(const hubconn *hc, int64_t deadline)
{
	if (stopping(hc))
		return 0;
	int64_t left = deadline - ug_now_ms();
	return left <= 0 ? 0 : left > 100 ? 100 : (long)left;
}

bool
hubconn_refused(const hubconn *hc)
{
	return hc->handshake == HANDSHAKE_REFUSED;
}

bool
hubconn_handshake_failed(const hubconn *hc)
{
	return hc->handshake == HANDSHAKE_FAILED;
}

uint32_t
hubconn_next_id(hubconn *hc)
{
	if (++hc->next_id == 0)
		hc->next_id = 1;
	return hc->next_id;
}

wire_result *
hubconn_call(hubconn *hc, int kind, const void *msg, uint32_t request_id)
{
	size_t need = wire_encoded_size(kind, msg);
	uint8_t *buf = malloc(need);
	if (!buf)
		return NULL;
	size_t len = wire_encode(kind, msg, buf, need);
	int64_t deadline = ug_now_ms() + hc->timeout_ms;
	read_monitor(hc);
	int rc = zmq_send(hc->sock, buf, len, ZMQ_DONTWAIT);
	int send_errno = rc < 0 ? zmq_errno() : 0;
	if (rc < 0 && send_errno == EAGAIN) {
		/* A handshake the hub refused is not tried again by libzmq:
		 * connect anew, so that a gateway registered (or a hub.key
		 * put right) since is admitted. */
		if (hc->handshake == HANDSHAKE_REFUSED ||
		    hc->handshake == HANDSHAKE_FAILED) {
			zmq_disconnect(hc->sock, hc->endpoint);
			zmq_connect(hc->sock, hc->endpoint);
		}
		/* No connection yet (webd just started, or the hub is coming
		 * back): wait for one within the timeout, or until the hub
		 * refuses the handshake. */
		for (;;) {
			long slice = wait_slice(hc, deadline);
			zmq_pollitem_t items[] = {
			    {hc->sock, 0, ZMQ_POLLOUT, 0},
			    {hc->monitor, 0, ZMQ_POLLIN, 0}};
			if (slice <= 0)
				break;
			int n = zmq_poll(items, 2, slice);
			if (n < 0 && zmq_errno() != EINTR)
				break;
			if (n <= 0)
				continue;
			if (items[1].revents && read_monitor(hc))
				break;
			if (items[0].revents) {
				rc =
				    zmq_send(hc->sock, buf, len, ZMQ_DONTWAIT);
				send_errno = rc < 0 ? zmq_errno() : 0;
				if (rc >= 0 || send_errno != EAGAIN)
					break;
			}
		}
		if (rc < 0 && !send_errno)
			send_errno = EAGAIN;
	}
	sodium_memzero(buf, len); /* a Login holds a password */
	free(buf);
	if (rc < 0 && stopping(hc)) {
		log_info("WEB-HUB", "request not sent: webd is stopping");
		return NULL;
	}
	if (rc < 0) {
		log_warn("WEB-HUB", "request not sent: %s",
			 send_errno != EAGAIN ? zmq_strerror(send_errno)
			 : hc->handshake == HANDSHAKE_REFUSED
			     ? "the hub refuses this gateway's key (not "
			       "registered, revoked or replaced: hubctl "
			       "register-gateway)"
			 : hc->handshake == HANDSHAKE_FAILED
			     ? "the CURVE handshake with the hub failed "
			       "(is keys_dir/hub.key the hub's public key?)"
			     : "no connection to the hub");
		return NULL;
	}
	for (;;) {
		long slice = wait_slice(hc, deadline);
		if (slice <= 0)
			break;
		zmq_pollitem_t item = {hc->sock, 0, ZMQ_POLLIN, 0};
		if (zmq_poll(&item, 1, slice) <= 0)
			continue;
		zmq_msg_t frame;
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&frame, hc->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&frame);
			continue;
		}
		int got, code;
		void *answer = NULL;
		ug_diag diag = {0};
		bool decoded =
		    wire_decode(zmq_msg_data(&frame), zmq_msg_size(&frame),
				&got, &answer, &code, &diag) == UG_OK;
		zmq_msg_close(&frame);
		if (!decoded)
			continue;
		if (got == UNGEBRO__V1__FRAME_KIND__FRAME_RESULT) {
			wire_result *r = answer;
			/* A refusal the hub could not tie to a request (a
			 * revoked gateway key) has id 0: it answers this
			 * one, the only request in flight. */
			if (r->request_id == request_id ||
			    (r->request_id == 0 &&
			     r->code != UNGEBRO__V1__ERROR_CODE__OK))
				return r;
		}
		wire_free(got, answer);
	}
	if (stopping(hc))
		log_info("WEB-HUB", "no answer awaited: webd is stopping");
	else
		log_warn("WEB-HUB", "no answer from the hub within %d ms",
			 hc->timeout_ms);
	return NULL;
}
