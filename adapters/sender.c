/*
 * The adapter runtime, delivery side: sends the outbox to the hub and
 * removes what the hub acknowledges.
 *
 * One DEALER socket, CURVE client, ZMQ_IMMEDIATE so that a frame is only
 * ever handed to a connection that finished its handshake (while the hub
 * is down, sends fail with EAGAIN instead of piling up in a dead pipe).
 * A window of at most `window` events is in flight, loaded from the
 * outbox in queue order (the order the rows were read). The window is
 * kept twice: in queue order, which is the order every send and resend
 * goes out in, and sorted by id, so an ack is matched by binary search.
 * An event is never sent before one queued earlier that is still
 * waiting to go (a backoff, a lost connection): one connection delivers
 * frames in order and the hub stores them in the order they arrive, so
 * the hub's log holds the queue's order. A correction is not sent while
 * the event it corrects is unanswered: were that one asked to retry, the
 * hub would store the correction first and hold the old values as the
 * latest.
 *
 * Guarantees: an event leaves the outbox only on ACCEPTED or DUPLICATE
 * (durable at the hub) or on a rejection the hub says is final; acks are
 * applied in one outbox transaction per drained batch. Anything else is
 * resent, which is safe because the hub deduplicates by event id:
 *   - a retryable rejection, after an exponential backoff;
 *   - an event whose ack has not come within ack_timeout_ms (10 s);
 *   - everything in flight after a disconnect (libzmq reconnects by
 *     itself; what was on the wire may be lost with the connection).
 * libzmq hides a ZAP refusal from the client, which would otherwise retry
 * silently for ever; the socket monitor (an inproc PAIR) reports the
 * handshake's outcome, and a refused key ends the run with UG_EDENIED.
 *
 * Never logs frame contents: they hold CPRs. Event ids are logged in hex.
 */
#include "adapters/adapter_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "proto/wire.h"

_Static_assert(OUTBOX_FRAME_MAX == WIRE_MAX_FRAME,
	       "the outbox queues exactly what the hub accepts");

#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS	30000
#define POLL_MAX_MS	1000
/* timeout = 0: how long one round may take, connecting included. */
#define ONE_ROUND_MS 1000
#define DRAIN_MAX    1024 /* acks read before one outbox_done */
/* A hub that drops the connection during every CURVE handshake has
 * refused the key (or we hold the wrong hub key); once may be a restart. */
#define HANDSHAKE_FAILURES_MAX 3
#define REFUSED_TEXT                                                          \
	"the hub refused this adapter's key: register it with "               \
	"hubctl register-agency"
#define KEY_REVOKED_TEXT                                                      \
	"the hub no longer accepts the key this adapter connected with (it "  \
	"was revoked or replaced): put the agency's new key in keys_dir and " \
	"run again; the outbox keeps the events"

struct flight {
	uint64_t seq; /* queue position */
	uint8_t id[OUTBOX_ID_LEN];
	uint8_t pred[OUTBOX_ID_LEN]; /* the event this one corrects */
	bool has_pred;
	uint8_t *frame; /* stored after the struct */
	size_t len;
	int64_t due; /* unsent: when to send; sent: when the ack is late */
	bool sent;
	bool retry; /* the hub asked to retry it: it goes alone */
	unsigned sends;
};

struct sender {
	const adapter_send_opts *opts;
	outbox *ob;
	adapter_counts *counts;
	ug_diag *diag;
	void *ctx, *sock, *mon;

	struct flight **flights; /* sorted by id */
	struct flight **queue;	 /* the same, in queue order */
	size_t nflights;
	uint64_t cursor; /* queue position of the last event loaded */
	bool exhausted;
	size_t visited; /* records the current scan has passed */

	uint8_t (
	    *done)[OUTBOX_ID_LEN]; /* answered, for the next outbox_done */
	bool *done_rejected;	   /* ...and whether the hub refused it */
	size_t ndone;

	bool connected, ever_connected;
	int handshake_failures;
	bool refused;
	size_t retryable_seen;
	int64_t idle_deadline; /* give up if no progress by then */
	int64_t waiting_since; /* work and no answer since; 0: idle */
	/* timeout = 0: send the window once loaded, await its answers
	 * until the deadline, and load nothing more. */
	bool one_round, round_loaded;
};

/* ---- the window --------------------------------------------------- */

/* Index of id, or where it would go (*found false). */
static size_t
flight_search(const struct sender *s, const uint8_t *id, bool *found)
{
	size_t lo = 0, hi = s->nflights;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(s->flights[mid]->id, id, OUTBOX_ID_LEN);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static void
flight_free(struct flight *f)
{
	sodium_memzero(f->frame, f->len);
	free(f);
}

/* Index of seq in the queue, or where it would go. */
static size_t
queue_search(const struct sender *s, uint64_t seq)
{
	size_t lo = 0, hi = s->nflights;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->queue[mid]->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void
flight_remove(struct sender *s, size_t i)
{
	struct flight *f = s->flights[i];
	size_t q = queue_search(s, f->seq);
	memmove(&s->queue[q], &s->queue[q + 1],
		(s->nflights - q - 1) * sizeof *s->queue);
	memmove(&s->flights[i], &s->flights[i + 1],
		(s->nflights - i - 1) * sizeof *s->flights);
	s->nflights--;
	flight_free(f);
}

/* A frame the hub would refuse for its size (or, far over, drop the
 * connection on, so that it would be resent for ever). outbox_put
 * refuses such frames; one can only be in an outbox an older adapter
 * wrote. Take it out as a final refusal. */
static void
drop_oversized(struct sender *s, const uint8_t *id, size_t len)
{
	char hex[2 * OUTBOX_ID_LEN + 1];
	ug_hex(id, OUTBOX_ID_LEN, hex);
	log_err("ADP-TOOBIG",
		"event %s is %zu bytes, over the hub's frame limit of %d; "
		"not sent, taken out of the outbox",
		hex, len, WIRE_MAX_FRAME);
	adapter__hub_refused(s->ob, id, "E_TOO_LARGE",
			     "over the hub's frame limit; not sent");
	s->counts->rejected_by_hub++;
	/* Room enough: done holds `window` ids, and one scan visits no more
	 * than the window has free; acks come only for what is in it. */
	s->done_rejected[s->ndone] = true;
	memcpy(s->done[s->ndone++], id, OUTBOX_ID_LEN);
}

static ug_err
load_fn(void *ctx, uint64_t seq, const uint8_t *id, const uint8_t *frame,
	size_t len, const uint8_t *supersedes)
{
	struct sender *s = ctx;
	/* The window is full: stop here, and next time go on from here. */
	if (s->nflights >= (size_t)s->opts->window)
		return UG_EFULL;
	s->visited++;
	s->cursor = seq;
	bool found;
	size_t at = flight_search(s, id, &found);
	if (found)
		return UG_OK;
	if (len > WIRE_MAX_FRAME) {
		drop_oversized(s, id, len);
		return UG_OK;
	}
	struct flight *f = malloc(sizeof *f + len);
	if (!f)
		return UG_ENOMEM;
	f->seq = seq;
	memcpy(f->id, id, OUTBOX_ID_LEN);
	f->has_pred = supersedes != NULL;
	if (supersedes)
		memcpy(f->pred, supersedes, OUTBOX_ID_LEN);
	f->frame = (uint8_t *)(f + 1);
	memcpy(f->frame, frame, len);
	f->len = len;
	f->due = 0;
	f->sent = false;
	f->retry = false;
	f->sends = 0;
	memmove(&s->flights[at + 1], &s->flights[at],
		(s->nflights - at) * sizeof *s->flights);
	s->flights[at] = f;
	/* Scans go forward from the cursor: this is the queue's end. */
	size_t q = queue_search(s, seq);
	memmove(&s->queue[q + 1], &s->queue[q],
		(s->nflights - q) * sizeof *s->queue);
	s->queue[q] = f;
	s->nflights++;
	return UG_OK;
}

/* Top the window up from the outbox, in queue order after the cursor:
 * the order the rows were read in, so a correction is always loaded
 * after (or with) the event it corrects. */
static ug_err
fill(struct sender *s)
{
	size_t window = (size_t)s->opts->window;
	if (s->exhausted || s->nflights >= window || s->round_loaded)
		return UG_OK;
	s->round_loaded = s->one_round;
	size_t max = window - s->nflights;
	s->visited = 0;
	ug_err err = outbox_scan_queue(s->ob, s->cursor, max, load_fn, s);
	if (err == UG_EFULL)
		return UG_OK; /* the window is full; more remains */
	if (err != UG_OK) {
		ug_diag_set(s->diag, "outbox", "cannot read the outbox: %s",
			    ug_strerror(err));
		return err;
	}
	/* Fewer than asked for: the scan reached the end of the queue. */
	if (s->visited < max)
		s->exhausted = true;
	return UG_OK;
}

/* A correction waits until the event it corrects has its answer: sent
 * together, a retry of the first could reach the hub after the second,
 * and the hub would hold the old values as the latest. */
static bool
blocked(const struct sender *s, const struct flight *f)
{
	bool found = false;
	if (f->has_pred)
		flight_search(s, f->pred, &found);
	return found;
}

static int64_t
backoff_ms(unsigned sends)
{
	unsigned shift = sends > 1 ? sends - 1 : 0;
	int64_t delay =
	    shift >= 16 ? BACKOFF_MAX_MS : (int64_t)BACKOFF_BASE_MS << shift;
	if (delay > BACKOFF_MAX_MS)
		delay = BACKOFF_MAX_MS;
	/* Up to a quarter more, so adapters cut off together by a hub
	 * restart do not all come back in the same millisecond. */
	return delay + randombytes_uniform((uint32_t)delay / 4 + 1);
}

/* May f, the first event in queue order not on the wire, go now? Not
 * before its backoff, nor before the event it corrects is answered;
 * and nothing queued after it may overtake it. */
static bool
may_send(const struct sender *s, const struct flight *f, int64_t now)
{
	return s->connected && f->due <= now && !blocked(s, f);
}

/*
 * In queue order, from the first event not on the wire. An event the hub
 * asked to retry (it could not store the batch it came in) goes alone,
 * and nothing follows it until it is answered: the hub stores a batch
 * whole or not at all, so a burst of retries would fail together where
 * one at a time fits, and anything sent along would be stored ahead of
 * the events still to be stored.
 */
static void
send_due(struct sender *s, int64_t now)
{
	for (size_t i = 0; i < s->nflights; i++) {
		struct flight *f = s->queue[i];
		if (f->sent && f->retry)
			return;
		if (f->sent)
			continue;
		if (!may_send(s, f, now))
			return;
		if (zmq_send(s->sock, f->frame, f->len, ZMQ_DONTWAIT) < 0) {
			if (errno != EAGAIN)
				log_warn("ADP-SEND", "zmq_send: %s",
					 zmq_strerror(errno));
			return; /* not connected or queue full: poll again */
		}
		f->sent = true;
		f->sends++;
		f->due = now + s->opts->ack_timeout_ms;
		if (f->retry)
			return;
	}
}

/* An event sent alone after a retry was stored: the hub can store
 * again, so the other events it asked to retry need not wait out their
 * backoff (they still go one at a time, in queue order). */
static void
resume(struct sender *s, int64_t now)
{
	for (size_t i = 0; i < s->nflights; i++)
		if (s->flights[i]->retry && !s->flights[i]->sent)
			s->flights[i]->due = now;
}

/* Everything on the wire may have been lost: send it again. */
static void
requeue_sent(struct sender *s, int64_t now)
{
	for (size_t i = 0; i < s->nflights; i++)
		if (s->flights[i]->sent) {
			s->flights[i]->sent = false;
			s->flights[i]->due = now;
		}
}

static void
check_overdue(struct sender *s, int64_t now)
{
	size_t late = 0;
	for (size_t i = 0; i < s->nflights; i++) {
		struct flight *f = s->flights[i];
		if (!f->sent || f->due > now)
			continue;
		f->sent = false;
		f->due = now + backoff_ms(f->sends);
		late++;
	}
	if (late)
		log_notice("ADP-LATE",
			   "%zu events unacknowledged after %ld ms; "
			   "resending",
			   late, s->opts->ack_timeout_ms);
}

/* ---- acks --------------------------------------------------------- */

static const char *
code_name(int code)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
	    &ungebro__v1__error_code__descriptor, code);
	return v ? v->name : "?";
}

static void
finalise(struct sender *s, size_t i, bool rejected)
{
	s->done_rejected[s->ndone] = rejected;
	memcpy(s->done[s->ndone++], s->flights[i]->id, OUTBOX_ID_LEN);
	flight_remove(s, i);
	s->waiting_since = 0;
	/* One round has its one deadline: an answer does not extend it. */
	if (!s->one_round)
		s->idle_deadline = ug_mono_ms() + s->opts->timeout_ms;
}

static void refuse(struct sender *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
on_rejected(struct sender *s, size_t i, const wire_ack *ack, int64_t now)
{
	char hex[2 * OUTBOX_ID_LEN + 1];
	ug_hex(s->flights[i]->id, OUTBOX_ID_LEN, hex);
	/* The hub's reasons never hold personal data (protocol contract). */
	if (ack->retryable) {
		struct flight *f = s->flights[i];
		f->sent = false;
		f->retry = true;
		f->due = now + backoff_ms(f->sends);
		if (s->retryable_seen++ == 0)
			log_warn("ADP-RETRY",
				 "the hub asks to retry later (%s: "
				 "%.200s); retrying with backoff",
				 code_name(ack->code), ack->reason);
		else
			log_debug("ADP-RETRY", "event %s: %s", hex,
				  code_name(ack->code));
		return;
	}
	/* Not a verdict on the event: this connection's key was revoked or
	 * replaced after the handshake, and the hub takes the same event
	 * from a connection with the new key. Dropping it would lose rows
	 * whose files a watcher has already moved to done/. */
	if (ack->code == UNGEBRO__V1__ERROR_CODE__E_DENIED && ack->reason &&
	    strcmp(ack->reason, WIRE_REASON_KEY_REVOKED) == 0) {
		s->flights[i]->sent = false;
		s->flights[i]->due = now;
		refuse(s, KEY_REVOKED_TEXT);
		return;
	}
	adapter__hub_refused(s->ob, s->flights[i]->id, code_name(ack->code),
			     ack->reason ? ack->reason : "");
	s->counts->rejected_by_hub++;
	finalise(s, i, true);
}

static void
on_ack(struct sender *s, const wire_ack *ack, int64_t now)
{
	if (ack->event_id.len != OUTBOX_ID_LEN) {
		log_warn("ADP-ACK",
			 "the hub could not read a frame: %s: %.200s",
			 code_name(ack->code), ack->reason);
		return;
	}
	bool found;
	size_t i = flight_search(s, ack->event_id.data, &found);
	if (!found)
		return; /* a second ack for a resent event */
	bool retried = s->flights[i]->retry;
	switch (ack->status) {
	case UNGEBRO__V1__ACK_STATUS__ACCEPTED:
		s->counts->accepted++;
		finalise(s, i, false);
		if (retried)
			resume(s, now);
		break;
	case UNGEBRO__V1__ACK_STATUS__DUPLICATE:
		s->counts->duplicates++;
		finalise(s, i, false);
		if (retried)
			resume(s, now);
		break;
	case UNGEBRO__V1__ACK_STATUS__REJECTED:
		on_rejected(s, i, ack, now);
		break;
	default:
		log_warn("ADP-ACK", "ack with unknown status %d ignored",
			 (int)ack->status);
		break;
	}
}

static void
on_frame(struct sender *s, const uint8_t *data, size_t len, int64_t now)
{
	int kind, code;
	void *msg;
	ug_diag diag = {0};
	if (wire_decode(data, len, &kind, &msg, &code, &diag) != UG_OK) {
		log_warn("ADP-ACK", "unreadable frame from the hub: %s",
			 diag.reason);
		return;
	}
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ACK)
		on_ack(s, msg, now);
	else
		log_warn("ADP-ACK", "unexpected frame kind %d from the hub",
			 kind);
	wire_free(kind, msg);
}

/* Read the acks that are ready, then record them in one transaction. */
static ug_err
drain_acks(struct sender *s)
{
	int64_t now = ug_mono_ms();
	for (int n = 0; n < DRAIN_MAX; n++) {
		zmq_msg_t msg;
		zmq_msg_init(&msg);
		if (zmq_msg_recv(&msg, s->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&msg);
			break;
		}
		if (zmq_msg_size(&msg) > 0)
			on_frame(s, zmq_msg_data(&msg), zmq_msg_size(&msg),
				 now);
		zmq_msg_close(&msg);
	}
	if (s->ndone == 0)
		return UG_OK;
	adapter__hub_refused_sync();
	ug_err err =
	    outbox_done(s->ob, (const uint8_t(*)[OUTBOX_ID_LEN])s->done,
			s->ndone, s->done_rejected);
	s->ndone = 0;
	unsigned long long kib;
	const char *dir;
	/* As import says it (ADAPTERS.md, a full disk): the cause the
	 * operator can act on, and that nothing is lost. */
	if (err == UG_EIO && outbox_disk_full(s->ob, &kib, &dir))
		ug_diag_set(s->diag, "outbox",
			    "cannot record acks in the outbox: %s: the disk "
			    "is full (%llu KiB free for %s); free space "
			    "there, then run again (what the hub took "
			    "meanwhile is sent again and answered as a "
			    "duplicate)",
			    ug_strerror(err), kib, dir);
	else if (err != UG_OK)
		ug_diag_set(s->diag, "outbox",
			    "cannot record acks in the "
			    "outbox: %s",
			    ug_strerror(err));
	return err;
}

/* ---- the monitor -------------------------------------------------- */

static void
refuse(struct sender *s, const char *fmt, ...)
{
	s->refused = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->diag->reason, sizeof s->diag->reason, fmt, ap);
	va_end(ap);
	ug_strlcpy(s->diag->field, "hub", sizeof s->diag->field);
}

static void
on_handshake_failed(struct sender *s, uint16_t event, uint32_t value)
{
	if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH && value == 400) {
		/* The hub's other endpoints refuse an agency's key alike:
		 * "register it" would send the operator the wrong way. */
		refuse(s,
		       "%s (or hub = %s is not the hub's ingest "
		       "endpoint)",
		       REFUSED_TEXT, s->opts->endpoint);
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
		/* ZAP 300/500: the hub's authenticator failed, not our key. */
		log_warn("ADP-AUTH",
			 "the hub could not check the key (ZAP "
			 "status %u); retrying",
			 value);
	} else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
		refuse(s,
		       "the CURVE handshake with the hub failed (protocol "
		       "error 0x%x): check that `hub` is the hub's ingest "
		       "endpoint and keys_dir/hub.key its public key",
		       value);
	} else if (++s->handshake_failures >= HANDSHAKE_FAILURES_MAX) {
		refuse(s,
		       "%s (or keys_dir/hub.key is not the hub's public "
		       "key): the hub closed the connection during %d CURVE "
		       "handshakes in a row",
		       REFUSED_TEXT, s->handshake_failures);
	} else {
		log_info("ADP-AUTH",
			 "the hub closed the connection during the "
			 "handshake; retrying");
	}
}

static void
on_monitor_event(struct sender *s, uint16_t event, uint32_t value,
		 const char *endpoint)
{
	int64_t now = ug_mono_ms();
	switch (event) {
	case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
		if (s->ever_connected)
			log_notice("ADP-CONNECT",
				   "reconnected to %s; resending "
				   "what is in flight",
				   endpoint);
		else
			log_info("ADP-CONNECT", "connected to %s", endpoint);
		s->connected = s->ever_connected = true;
		s->handshake_failures = 0;
		requeue_sent(s, now);
		break;
	case ZMQ_EVENT_DISCONNECTED:
		if (s->connected)
			log_notice("ADP-CONNECT", "lost the connection to %s",
				   endpoint);
		s->connected = false;
		requeue_sent(s, now);
		break;
	case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
	case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
	case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
		on_handshake_failed(s, event, value);
		break;
	default:
		break;
	}
}

/* A monitor event is two parts: [u16 event, u32 value], then the
 * endpoint. */
static void
drain_monitor(struct sender *s)
{
	for (;;) {
		uint8_t head[6];
		char endpoint[256] = "";
		int n = zmq_recv(s->mon, head, sizeof head, ZMQ_DONTWAIT);
		if (n < 0)
			return;
		int more = 0;
		size_t more_len = sizeof more;
		zmq_getsockopt(s->mon, ZMQ_RCVMORE, &more, &more_len);
		if (more) {
			int e =
			    zmq_recv(s->mon, endpoint, sizeof endpoint - 1, 0);
			/* zmq_recv reports the full size even when it cut. */
			if (e > (int)sizeof endpoint - 1)
				e = (int)sizeof endpoint - 1;
			endpoint[e > 0 ? e : 0] = '\0';
		}
		if (n != (int)sizeof head)
			continue;
		uint16_t event;
		uint32_t value;
		memcpy(&event, head, 2);
		memcpy(&value, head + 2, 4);
		on_monitor_event(s, event, value, endpoint);
	}
}

/* ---- sockets ------------------------------------------------------ */

static ug_err
set_options(struct sender *s)
{
	const adapter_send_opts *o = s->opts;
	int zero = 0, one = 1, ivl_max = 1000;
	int hwm = (int)o->window + 64;
	/* Without ZMQ_IPV6 libzmq resolves IPv4 only, and a `[IPv6]` hub
	 * is never connected to, without an error. Only for such an
	 * address: with it, a name that also has an IPv6 address (localhost
	 * with ::1, on many systems) could go there while the hub listens
	 * on 127.0.0.1. */
	int ipv6 = strncmp(o->endpoint, "tcp://[", 7) == 0;
	/* LINGER 0: what was not acked stays in the outbox; nothing is
	 * worth blocking the exit for. */
	if (zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_setsockopt(s->sock, ZMQ_IMMEDIATE, &one, sizeof one) ||
	    zmq_setsockopt(s->sock, ZMQ_IPV6, &ipv6, sizeof ipv6) ||
	    zmq_setsockopt(s->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) ||
	    zmq_setsockopt(s->sock, ZMQ_RCVHWM, &hwm, sizeof hwm) ||
	    zmq_setsockopt(s->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max,
			   sizeof ivl_max) ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_SERVERKEY, o->hub_key,
			   UG_Z85_KEY_LEN + 1) ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_PUBLICKEY, o->keys->public_z85,
			   UG_Z85_KEY_LEN + 1) ||
	    zmq_setsockopt(s->sock, ZMQ_CURVE_SECRETKEY, o->keys->secret_z85,
			   UG_Z85_KEY_LEN + 1)) {
		ug_diag_set(s->diag, "keys_dir",
			    "cannot set the CURVE keys: %s",
			    zmq_strerror(errno));
		return UG_EINVAL;
	}
	return UG_OK;
}

static ug_err
open_sockets(struct sender *s)
{
	char monitor[64];
	int zero = 0;
	snprintf(monitor, sizeof monitor, "inproc://adapter-monitor-%p",
		 (void *)s);
	s->ctx = zmq_ctx_new();
	s->sock = s->ctx ? zmq_socket(s->ctx, ZMQ_DEALER) : NULL;
	s->mon = s->ctx ? zmq_socket(s->ctx, ZMQ_PAIR) : NULL;
	if (!s->sock || !s->mon) {
		ug_diag_set(s->diag, "hub", "zmq: %s", zmq_strerror(errno));
		return UG_EIO;
	}
	ug_err err = set_options(s);
	if (err != UG_OK)
		return err;
	/* The monitor first, so the first handshake's outcome is seen. */
	if (zmq_socket_monitor(s->sock, monitor,
			       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
				   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
				   ZMQ_EVENT_DISCONNECTED) != 0 ||
	    zmq_setsockopt(s->mon, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_connect(s->mon, monitor) != 0) {
		ug_diag_set(s->diag, "hub", "zmq monitor: %s",
			    zmq_strerror(errno));
		return UG_EIO;
	}
	if (zmq_connect(s->sock, s->opts->endpoint) != 0) {
		ug_diag_set(s->diag, "hub", "cannot connect to '%s': %s",
			    s->opts->endpoint, zmq_strerror(errno));
		return UG_EINVAL;
	}
	return UG_OK;
}

static void
close_sockets(struct sender *s)
{
	int zero = 0;
	if (s->sock) {
		zmq_socket_monitor(s->sock, NULL, 0);
		zmq_setsockopt(s->sock, ZMQ_LINGER, &zero, sizeof zero);
		zmq_close(s->sock);
	}
	if (s->mon)
		zmq_close(s->mon);
	if (s->ctx)
		zmq_ctx_term(s->ctx);
	s->sock = s->mon = s->ctx = NULL;
}

/* ---- the loop ----------------------------------------------------- */

static long
poll_timeout(const struct sender *s, int64_t now, long wait_ms)
{
	int64_t wake = s->opts->persistent ? now + wait_ms : s->idle_deadline;
	if (now + wait_ms < wake)
		wake = now + wait_ms;
	for (size_t i = 0; i < s->nflights; i++) {
		const struct flight *f = s->flights[i];
		/* Unsent and due: only a connection can help, and the
		 * monitor or POLLOUT will wake us for that. */
		if (f->sent || f->due > now)
			wake = f->due < wake ? f->due : wake;
	}
	int64_t ms = wake - now;
	return ms < 0 ? 0 : ms > POLL_MAX_MS ? POLL_MAX_MS : (long)ms;
}

static bool
want_pollout(const struct sender *s, int64_t now)
{
	for (size_t i = 0; i < s->nflights; i++) {
		const struct flight *f = s->queue[i];
		if (f->sent && f->retry)
			return false; /* sent alone: wait for its answer */
		if (!f->sent)
			return may_send(s, f, now);
	}
	return false;
}

ug_err
adapter__sender_step(adapter_sender *s, long wait_ms, int fd, bool *fd_ready)
{
	ug_err err = fill(s);
	int64_t now = ug_mono_ms();
	if (fd_ready)
		*fd_ready = false;
	if (err != UG_OK)
		return err;
	send_due(s, now);
	zmq_pollitem_t items[] = {
	    {s->sock, 0, ZMQ_POLLIN | (want_pollout(s, now) ? ZMQ_POLLOUT : 0),
	     0},
	    {s->mon, 0, ZMQ_POLLIN, 0},
	    {NULL, fd, ZMQ_POLLIN, 0},
	};
	if (zmq_poll(items, fd >= 0 ? 3 : 2, poll_timeout(s, now, wait_ms)) <
		0 &&
	    errno != EINTR) {
		ug_diag_set(s->diag, "hub", "zmq_poll: %s",
			    zmq_strerror(errno));
		return UG_EIO;
	}
	if (fd >= 0 && fd_ready)
		*fd_ready = (items[2].revents & ZMQ_POLLIN) != 0;
	drain_monitor(s);
	err = drain_acks(s);
	check_overdue(s, ug_mono_ms());
	if (err == UG_OK && s->refused)
		err = UG_EDENIED;
	if (adapter__sender_idle(s))
		s->waiting_since = 0;
	else if (!s->waiting_since)
		s->waiting_since = ug_mono_ms();
	return err;
}

bool
adapter__sender_idle(const adapter_sender *s)
{
	return s->exhausted && s->nflights == 0;
}

int64_t
adapter__sender_waiting_ms(const adapter_sender *s, int64_t now,
			   bool *ever_connected)
{
	*ever_connected = s->ever_connected;
	return s->waiting_since ? now - s->waiting_since : 0;
}

void
adapter__sender_wake(adapter_sender *s)
{
	s->exhausted = false; /* new events are at the queue's end */
}

static ug_err
run(struct sender *s)
{
	/* timeout = 0 stops after one round, not at once: with no time at
	 * all not even the connection would be made, and nothing sent. */
	s->one_round = s->opts->timeout_ms == 0;
	if (s->one_round)
		s->idle_deadline = ug_mono_ms() + ONE_ROUND_MS;
	for (;;) {
		/* Checked first, too: a signal after the import but before
		 * the first step is a stop while delivering like any other. */
		if (*s->opts->stop) {
			log_notice("ADP-STOP", "interrupted; the outbox keeps "
					       "what was not acknowledged");
			return UG_ETIMEDOUT;
		}
		ug_err err = adapter__sender_step(s, POLL_MAX_MS, -1, NULL);
		if (err != UG_OK)
			return err;
		if (adapter__sender_idle(s) ||
		    (s->round_loaded && s->nflights == 0))
			return UG_OK;
		if (s->one_round && ug_mono_ms() >= s->idle_deadline) {
			log_notice("ADP-TIMEOUT",
				   "timeout 0: one round to %s, %zu "
				   "events not answered within %d s; giving "
				   "up for now",
				   s->opts->endpoint, s->nflights,
				   ONE_ROUND_MS / 1000);
			return UG_ETIMEDOUT;
		}
		if (ug_mono_ms() >= s->idle_deadline) {
			/* Never connected: a hub that is down and a host name
			 * mistyped look alike here; say what to check. */
			log_notice("ADP-TIMEOUT",
				   "no progress from %s for %ld s%s; "
				   "giving up for now",
				   s->opts->endpoint,
				   s->opts->timeout_ms / 1000,
				   s->ever_connected
				       ? ""
				       : " (never connected: is hubd running "
					 "there, and are the host and port "
					 "right?)");
			return UG_ETIMEDOUT;
		}
	}
}

static bool
outbox_empty(outbox *ob)
{
	size_t pending = 0, sent;
	return outbox_counts(ob, &pending, &sent) == UG_OK && pending == 0;
}

void
adapter__sender_close(adapter_sender **sp)
{
	if (!sp || !*sp)
		return;
	struct sender *s = *sp;
	close_sockets(s);
	for (size_t i = 0; i < s->nflights; i++)
		flight_free(s->flights[i]);
	free(s->flights);
	free(s->queue);
	free(s->done);
	free(s->done_rejected);
	free(s);
	*sp = NULL;
}

ug_err
adapter__sender_open(adapter_sender **out, outbox *ob,
		     const adapter_send_opts *opts, adapter_counts *counts,
		     ug_diag *diag)
{
	struct sender *s = calloc(1, sizeof *s);
	if (!s)
		return UG_ENOMEM;
	*s = (struct sender){
	    .opts = opts, .ob = ob, .counts = counts, .diag = diag};
	s->flights = calloc((size_t)opts->window, sizeof *s->flights);
	s->queue = calloc((size_t)opts->window, sizeof *s->queue);
	s->done = calloc((size_t)opts->window, sizeof *s->done);
	s->done_rejected =
	    calloc((size_t)opts->window, sizeof *s->done_rejected);
	ug_err err = s->flights && s->queue && s->done && s->done_rejected
			 ? UG_OK
			 : UG_ENOMEM;
	if (err == UG_OK)
		err = open_sockets(s);
	s->idle_deadline = ug_mono_ms() + opts->timeout_ms;
	if (err != UG_OK) {
		adapter__sender_close(&s);
		return err;
	}
	*out = s;
	return UG_OK;
}

ug_err
adapter__send(outbox *ob, const adapter_send_opts *opts,
	      adapter_counts *counts, ug_diag *diag)
{
	/* Nothing to send: do not even dial a hub that may be down. */
	if (outbox_empty(ob))
		return UG_OK;
	adapter_sender *s;
	ug_err err = adapter__sender_open(&s, ob, opts, counts, diag);
	if (err == UG_OK)
		err = run(s);
	adapter__sender_close(&s);
	return err;
}
