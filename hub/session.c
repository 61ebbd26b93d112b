/*
 * Delivery sessions and the connections they belong to. ZeroMQ lets a
 * client choose its routing id, so a routing id proves nothing: another
 * client may take it up the moment its first owner disconnects. A session
 * therefore records the connection (its fd, from ZMQ_SRCFD) and the
 * caseworker ZAP admitted on it, and ends as soon as the socket monitor
 * reports that connection gone. libzmq emits DISCONNECTED before it frees
 * the routing id for a newcomer, and a newcomer cannot finish its handshake
 * without this thread answering its ZAP request, so draining the monitor
 * right before a push closes the window in which a routing id could change
 * hands unseen.
 */
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"

#define MONITOR_ENDPOINT "inproc://ungebro.delivery.monitor"
#define FD_TRACKED	 65536 /* fds above this are not tracked (not expected) */

ug_err
hub__sessions_open(hub *h, ug_diag *diag)
{
	h->sessions = calloc((size_t)h->sessions_max, sizeof *h->sessions);
	h->fd_gone = calloc(FD_TRACKED, 1);
	if (!h->sessions || !h->fd_gone)
		return UG_ENOMEM;
	if (zmq_socket_monitor(h->delivery, MONITOR_ENDPOINT,
			       ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) !=
	    0) {
		ug_diag_set(diag, "delivery", "socket monitor: %s",
			    zmq_strerror(zmq_errno()));
		return UG_EIO;
	}
	h->delivery_monitor = zmq_socket(h->zmq, ZMQ_PAIR);
	if (!h->delivery_monitor ||
	    zmq_connect(h->delivery_monitor, MONITOR_ENDPOINT) != 0) {
		ug_diag_set(diag, "delivery", "socket monitor: %s",
			    zmq_strerror(zmq_errno()));
		return UG_EIO;
	}
	return UG_OK;
}

void
hub__sessions_close(hub *h)
{
	if (h->delivery_monitor) {
		zmq_socket_monitor(h->delivery, NULL, 0);
		zmq_close(h->delivery_monitor);
	}
	h->delivery_monitor = NULL;
	free(h->sessions);
	free(h->fd_gone);
	h->sessions = NULL;
	h->fd_gone = NULL;
}

void
hub__session_end(hub *h, hub_session *s, const char *why)
{
	if (!s->used)
		return;
	log_info("HUB-SESSION",
		 "session of %s ended: %s; %u alerts in "
		 "flight stay open and go out again on the next Hello",
		 s->caseworker, why, s->n_flight);
	h->sessions_reclaimed++;
	memset(s, 0, sizeof *s);
}

static void
connection_gone(hub *h, int fd)
{
	if (fd >= 0 && fd < FD_TRACKED)
		h->fd_gone[fd] = 1;
	for (long i = 0; i < h->sessions_max; i++)
		if (h->sessions[i].used && h->sessions[i].fd == fd)
			hub__session_end(h, &h->sessions[i],
					 "its connection closed");
}

void
hub__sessions_events(hub *h)
{
	if (!h->delivery_monitor)
		return;
	for (;;) {
		zmq_msg_t event, address;
		zmq_msg_init(&event);
		if (zmq_msg_recv(&event, h->delivery_monitor, ZMQ_DONTWAIT) <
		    0) {
			zmq_msg_close(&event);
			return;
		}
		/* Two parts: event number (16 bits) and value (32 bits, the
		 * fd for these events), then the endpoint. */
		uint16_t number = 0;
		int32_t value = -1;
		if (zmq_msg_size(&event) >= 6) {
			memcpy(&number, zmq_msg_data(&event), 2);
			memcpy(&value, (uint8_t *)zmq_msg_data(&event) + 2, 4);
		}
		bool more = zmq_msg_more(&event);
		zmq_msg_close(&event);
		while (more) {
			zmq_msg_init(&address);
			more = zmq_msg_recv(&address, h->delivery_monitor,
					    0) >= 0 &&
			       zmq_msg_more(&address);
			zmq_msg_close(&address);
		}
		if (number == ZMQ_EVENT_DISCONNECTED)
			connection_gone(h, value);
		else if (number == ZMQ_EVENT_ACCEPTED && value >= 0 &&
			 value < FD_TRACKED)
			h->fd_gone[value] = 0;
	}
}

hub_session *
hub__session_find(hub *h, const void *routing, size_t routing_len, int fd,
		  const char *caseworker)
{
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (!s->used || s->routing_len != routing_len ||
		    memcmp(s->routing_id, routing, routing_len) != 0)
			continue;
		if (s->fd == fd && strcmp(s->caseworker, caseworker) == 0)
			return s;
		/* Routing ids are unique among live peers: this one's first
		 * owner is gone, whatever the monitor has said so far. */
		hub__session_end(h, s,
				 "its routing id arrived from another "
				 "connection");
	}
	return NULL;
}

hub_session *
hub__session_new(hub *h, const void *routing, size_t routing_len, int fd,
		 const char *caseworker, const char *key, const char **why)
{
	if (routing_len == 0 || routing_len > HUB_ROUTING_ID_MAX) {
		*why = "routing id of unusable length";
		return NULL;
	}
	if (fd >= 0 && fd < FD_TRACKED && h->fd_gone[fd]) {
		/* A Hello still queued from a connection already gone. */
		*why = "its connection has already closed";
		return NULL;
	}
	hub_session *free_slot = NULL, *oldest_own = NULL;
	long own = 0;
	for (long i = 0; i < h->sessions_max; i++) {
		hub_session *s = &h->sessions[i];
		if (!s->used) {
			if (!free_slot)
				free_slot = s;
		} else if (strcmp(s->caseworker, caseworker) == 0) {
			own++;
			if (!oldest_own || s->serial < oldest_own->serial)
				oldest_own = s;
		}
	}
	if (own >= h->sessions_per_caseworker) {
		/* The same caseworker on yet another connection: their
		 * oldest gives way. Nothing crosses to anyone else. */
		hub__session_end(h, oldest_own,
				 "the caseworker opened more "
				 "sessions than "
				 "sessions_per_caseworker");
		free_slot = oldest_own;
	}
	if (!free_slot) {
		h->sessions_refused++;
		*why = "the hub's session table is full (sessions_max); retry "
		       "later";
		return NULL;
	}
	memset(free_slot, 0, sizeof *free_slot);
	memcpy(free_slot->routing_id, routing, routing_len);
	free_slot->routing_len = routing_len;
	free_slot->fd = fd;
	ug_strlcpy(free_slot->caseworker, caseworker,
		   sizeof free_slot->caseworker);
	ug_strlcpy(free_slot->key, key, sizeof free_slot->key);
	free_slot->used = true;
	free_slot->serial = ++h->session_serial;
	return free_slot;
}
