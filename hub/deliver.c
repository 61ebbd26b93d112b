/*
 * Delivery to caseworker clients. A client says Hello after every
 * (re)connect; the hub answers Welcome and then sends the caseworker's open
 * alerts in order (and the desk's, for desk members), at most `window`
 * unacknowledged at a time. An AlertAck closes an alert for good. Whatever
 * was sent but not acked is sent again after the next Hello, which is how a
 * reconnect or a hub restart redelivers. Each delivery is counted in the
 * store, so the client can tell a first delivery from a repeat.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"

#define WINDOW_DEFAULT 32
#define WINDOW_MAX 256

typedef struct {
	uint8_t id[STORE_ALERT_ID_LEN];
	uint8_t *body;
	size_t len;
} outgoing;

typedef struct {
	outgoing *items;
	size_t n, cap;
} collect_ctx;

static ug_err
collect(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
        uint32_t deliveries)
{
	(void)deliveries;
	collect_ctx *c = ctx;
	if (c->n == c->cap)
		return UG_EFULL;
	outgoing *o = &c->items[c->n];
	o->body = malloc(len ? len : 1);
	if (!o->body)
		return UG_ENOMEM;
	memcpy(o->id, id, STORE_ALERT_ID_LEN);
	memcpy(o->body, body, len);
	o->len = len;
	c->n++;
	return UG_OK;
}

static bool
send_frame(hub *h, hub_session *s, int kind, const void *msg)
{
	size_t need = wire_encoded_size(kind, msg);
	uint8_t *buf = malloc(need);
	if (!buf)
		return false;
	size_t len = wire_encode(kind, msg, buf, need);
	bool ok = zmq_send(h->delivery, s->routing_id, s->routing_len,
	                   ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
	          zmq_send(h->delivery, buf, len, ZMQ_DONTWAIT) >= 0;
	free(buf);
	if (!ok) {
		/* The client is gone (ROUTER_MANDATORY says so); what it did
		 * not ack stays open and goes out again after its next Hello. */
		log_info("HUB-DELIVER", "client of %s unreachable (%s); session "
		         "closed", s->caseworker, zmq_strerror(errno));
		s->used = false;
	}
	return ok;
}

static void
send_alerts(hub *h, hub_session *s, collect_ctx *c, const char *recipient,
            uint8_t *cursor, bool *started)
{
	uint32_t *counts = calloc(c->n ? c->n : 1, sizeof *counts);
	uint8_t(*ids)[STORE_ALERT_ID_LEN] = calloc(c->n ? c->n : 1,
	                                           sizeof *ids);
	if (!counts || !ids)
		goto out;
	for (size_t i = 0; i < c->n; i++)
		memcpy(ids[i], c->items[i].id, STORE_ALERT_ID_LEN);
	if (store_alerts_delivered(h->store, (const uint8_t(*)[9])ids, c->n,
	                           counts) != UG_OK)
		goto out;
	for (size_t i = 0; i < c->n && s->used; i++) {
		wire_alert *alert = wire_unpack(
			UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, c->items[i].body,
			c->items[i].len);
		if (!alert) {
			log_err("HUB-DELIVER", "a stored alert does not decode");
			continue;
		}
		alert->delivery = counts[i];
		/* The queue says who it is for now: a reassignment or an
		 * escalation may have moved it since it was raised. The
		 * unpacked string is put back before the message is freed. */
		char *raised_for = alert->recipient;
		alert->recipient = (char *)recipient;
		bool sent = send_frame(h, s, UNGEBRO__V1__FRAME_KIND__FRAME_ALERT,
		                       alert);
		alert->recipient = raised_for;
		if (sent) {
			memcpy(cursor, c->items[i].id, STORE_ALERT_ID_LEN);
			*started = true;
			s->in_flight++;
			h->alerts_delivered++;
		}
		wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, alert);
	}
out:
	free(counts);
	free(ids);
}

static void
pump_queue(hub *h, hub_session *s, const char *recipient, uint8_t *cursor,
           bool *started)
{
	if (!s->used || s->in_flight >= s->window)
		return;
	outgoing items[WINDOW_MAX];
	collect_ctx c = {items, 0, s->window - s->in_flight};
	ug_err err = store_alerts_open(h->store, recipient,
	                               *started ? cursor : NULL, c.cap,
	                               collect, &c);
	if (err != UG_OK && err != UG_EFULL)
		log_err("HUB-DELIVER", "reading open alerts for %s: %s",
		        recipient, ug_strerror(err));
	if (c.n)
		send_alerts(h, s, &c, recipient, cursor, started);
	for (size_t i = 0; i < c.n; i++)
		free(items[i].body);
}

static void
pump(hub *h, hub_session *s)
{
	pump_queue(h, s, s->caseworker, s->own_cursor, &s->own_started);
	if (s->desk)
		pump_queue(h, s, h->rules.desk, s->desk_cursor, &s->desk_started);
}

bool
hub__is_desk_member(hub *h, const char *caseworker)
{
	/* Desk members come from hubctl (--desk) or from the youth unit's
	 * DeskMembership events. */
	uint32_t flags = 0;
	return (store_principal_flags(h->store, STORE_CASEWORKER, caseworker,
	                              &flags) == UG_OK &&
	        (flags & STORE_FLAG_DESK)) ||
	       store_desk_member(h->store, h->rules.desk, caseworker,
	                         hub__today(h), NULL);
}

void
hub__delivery_notify(hub *h, const char *recipient)
{
	for (int i = 0; i < HUB_SESSIONS_MAX; i++) {
		hub_session *s = &h->sessions[i];
		if (s->used && (strcmp(s->caseworker, recipient) == 0 ||
		                (s->desk && strcmp(recipient, h->rules.desk) == 0)))
			pump(h, s);
	}
}

static hub_session *
session_for(hub *h, zmq_msg_t *routing, bool create)
{
	hub_session *free_slot = NULL;
	size_t len = zmq_msg_size(routing);
	for (int i = 0; i < HUB_SESSIONS_MAX; i++) {
		hub_session *s = &h->sessions[i];
		if (s->used && s->routing_len == len &&
		    memcmp(s->routing_id, zmq_msg_data(routing), len) == 0)
			return s;
		if (!s->used && !free_slot)
			free_slot = s;
	}
	if (!create || len > HUB_ROUTING_ID_MAX)
		return NULL;
	if (!free_slot) {
		log_warn("HUB-DELIVER", "%d client sessions open; the oldest "
		         "slot is reused", HUB_SESSIONS_MAX);
		free_slot = &h->sessions[0];
	}
	memset(free_slot, 0, sizeof *free_slot);
	memcpy(free_slot->routing_id, zmq_msg_data(routing), len);
	free_slot->routing_len = len;
	free_slot->used = true;
	return free_slot;
}

static void
on_hello(hub *h, zmq_msg_t *routing, const char *caseworker,
         const wire_hello *hello)
{
	hub_session *s = session_for(h, routing, true);
	if (!s)
		return;
	ug_strlcpy(s->caseworker, caseworker, sizeof s->caseworker);
	s->desk = hub__is_desk_member(h, caseworker);
	s->window = hello->window ? hello->window : WINDOW_DEFAULT;
	if (s->window > WINDOW_MAX)
		s->window = WINDOW_MAX;
	/* A Hello starts over: everything still open is sent again. */
	s->in_flight = 0;
	s->own_started = s->desk_started = false;
	size_t own = 0, desk = 0;
	store_alerts_count(h->store, caseworker, &own);
	if (s->desk)
		store_alerts_count(h->store, h->rules.desk, &desk);
	wire_welcome welcome = UNGEBRO__V1__WELCOME__INIT;
	welcome.caseworker = s->caseworker;
	welcome.open_alerts = (uint32_t)(own + desk);
	log_info("HUB-HELLO", "caseworker %s connected%s, %zu open alerts",
	         caseworker, s->desk ? " (desk member)" : "", own + desk);
	if (send_frame(h, s, UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME, &welcome))
		pump(h, s);
}

static void
on_ack(hub *h, zmq_msg_t *routing, const char *caseworker,
       const wire_alert_ack *ack)
{
	/* A session is not required: `inbox --ack ID` acknowledges in one
	 * shot without saying Hello. */
	hub_session *s = session_for(h, routing, false);
	if (ack->alert_id.len != STORE_ALERT_ID_LEN) {
		log_warn("HUB-DELIVER", "alert ack from %s with a bad id; "
		         "ignored", caseworker);
		return;
	}
	const uint8_t(*ids)[STORE_ALERT_ID_LEN] =
		(const uint8_t(*)[STORE_ALERT_ID_LEN])ack->alert_id.data;
	bool found = false;
	ug_err err = store_alerts_ack(h->store, caseworker, ids, 1, &found);
	if (err == UG_OK && !found && hub__is_desk_member(h, caseworker))
		err = store_alerts_ack(h->store, h->rules.desk, ids, 1, &found);
	char hexid[2 * STORE_ALERT_ID_LEN + 1];
	ug_hex(ack->alert_id.data, STORE_ALERT_ID_LEN, hexid);
	if (err != UG_OK) {
		/* Not recorded: the alert stays open and comes back. */
		log_err("HUB-DELIVER", "ack of alert %s by %s not stored: %s",
		        hexid, caseworker, ug_strerror(err));
		return;
	}
	if (s && s->in_flight)
		s->in_flight--;
	if (found) {
		h->alerts_acked++;
		log_info("HUB-ALERT-ACK", "alert %s acknowledged by %s%s",
		         hexid, caseworker,
		         ack->note && ack->note[0] ? " with a note" : "");
		/* The note is the caseworker's account of the action taken:
		 * it is kept, sealed, in the audit trail. */
		char detail[256];
		snprintf(detail, sizeof detail, "%s %.200s", hexid,
		         ack->note ? ack->note : "");
		if (store_audit_append(h->store, h->now, caseworker, "ack",
		                       NULL, detail) != UG_OK)
			log_err("HUB-AUDIT", "ack of %s not audited", hexid);
	}
	if (s)
		pump(h, s);
}

static void
handle(hub *h, zmq_msg_t *routing, zmq_msg_t *frame)
{
	const char *caseworker = zmq_msg_gets(frame, "User-Id");
	int kind, code;
	void *msg;
	ug_diag diag = {0};
	if (!caseworker) {
		log_warn("HUB-DELIVER", "frame without an authenticated user");
		return;
	}
	if (wire_decode(zmq_msg_data(frame), zmq_msg_size(frame), &kind, &msg,
	                &code, &diag) != UG_OK) {
		log_warn("HUB-DELIVER", "frame from %s refused: %s", caseworker,
		         diag.reason);
		return;
	}
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_HELLO)
		on_hello(h, routing, caseworker, msg);
	else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK)
		on_ack(h, routing, caseworker, msg);
	else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_QUERY)
		hub__query(h, zmq_msg_data(routing), zmq_msg_size(routing),
		           caseworker, msg);
	else
		log_warn("HUB-DELIVER", "unexpected frame kind %d from %s",
		         kind, caseworker);
	wire_free(kind, msg);
}

void
hub__delivery_recv(hub *h)
{
	for (int budget = 1024; budget > 0; budget--) {
		zmq_msg_t routing, frame;
		zmq_msg_init(&routing);
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&routing, h->delivery, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&routing);
			zmq_msg_close(&frame);
			return;
		}
		bool ok = zmq_msg_more(&routing) &&
		          zmq_msg_recv(&frame, h->delivery, 0) >= 0;
		/* One frame per message: drain the extra parts and refuse. */
		if (ok && zmq_msg_more(&frame)) {
			int more = 1;
			while (more) {
				zmq_msg_t extra;
				zmq_msg_init(&extra);
				more = zmq_msg_recv(&extra, h->delivery, 0) >= 0 &&
				       zmq_msg_more(&extra);
				zmq_msg_close(&extra);
			}
			log_warn("HUB-DELIVER", "multi-part frame ignored");
			ok = false;
		}
		if (ok)
			handle(h, &routing, &frame);
		zmq_msg_close(&routing);
		zmq_msg_close(&frame);
	}
}
