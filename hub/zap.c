/*
 * ZAP (RFC 27) handler: deny by default. A CURVE client is admitted only if
 * its public key is registered, as an agency on the ingest domain or as a
 * caseworker on the delivery domain; the reply's user id is the principal's
 * id, which libzmq attaches to every message as "User-Id". Each refusal is
 * logged and counted; the refused client never reaches the store.
 */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"

#define ZAP_FRAMES 7

static void
reply(void *sock, const char *request_id, size_t request_id_len,
      const char *code, const char *text, const char *user)
{
	zmq_send(sock, "1.0", 3, ZMQ_SNDMORE);
	zmq_send(sock, request_id, request_id_len, ZMQ_SNDMORE);
	zmq_send(sock, code, strlen(code), ZMQ_SNDMORE);
	zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
	zmq_send(sock, user, strlen(user), ZMQ_SNDMORE);
	zmq_send(sock, "", 0, 0);
}

static void
remember_agency(hub *h, const char *id, uint32_t types)
{
	hub_agency *free_slot = NULL;
	for (int i = 0; i < HUB_AGENCY_CACHE; i++) {
		if (strcmp(h->agencies[i].id, id) == 0) {
			h->agencies[i].types = types;
			return;
		}
		if (!free_slot && !h->agencies[i].id[0])
			free_slot = &h->agencies[i];
	}
	if (!free_slot)
		free_slot = &h->agencies[0]; /* rare: refilled from the store */
	ug_strlcpy(free_slot->id, id, sizeof free_slot->id);
	free_slot->types = types;
}

bool
hub__agency_types(hub *h, const char *agency, uint32_t *types)
{
	for (int i = 0; i < HUB_AGENCY_CACHE; i++)
		if (strcmp(h->agencies[i].id, agency) == 0) {
			*types = h->agencies[i].types;
			return true;
		}
	if (store_principal_flags(h->store, STORE_AGENCY, agency, types) ==
	    UG_OK) {
		remember_agency(h, agency, *types);
		return true;
	}
	return false;
}

/* Read one request; returns the number of frames (ZAP_FRAMES when sane). */
static int
read_request(void *sock, zmq_msg_t *frames)
{
	int n = 0, more = 1;
	while (more) {
		zmq_msg_t scratch;
		zmq_msg_t *m = n < ZAP_FRAMES ? &frames[n] : &scratch;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, sock, 0) < 0) {
			if (m == &scratch)
				zmq_msg_close(m);
			break;
		}
		more = zmq_msg_more(m);
		if (m == &scratch)
			zmq_msg_close(m);
		n++;
	}
	return n;
}

static void
handle_one(hub *h)
{
	zmq_msg_t f[ZAP_FRAMES];
	int n = read_request(h->zap, f);
	int have = n < ZAP_FRAMES ? n : ZAP_FRAMES;
	if (n != ZAP_FRAMES) {
		/* A REP socket must answer every request, even a broken one. */
		log_err("HUB-ZAP", "malformed ZAP request with %d frames", n);
		reply(h->zap, "", 0, "500", "malformed request", "");
		for (int i = 0; i < have; i++)
			zmq_msg_close(&f[i]);
		return;
	}
	const char *request_id = zmq_msg_data(&f[1]);
	size_t request_id_len = zmq_msg_size(&f[1]);
	char domain[32] = "", address[64] = "", key[41] = "?";
	snprintf(domain, sizeof domain, "%.*s", (int)zmq_msg_size(&f[2]),
	         (char *)zmq_msg_data(&f[2]));
	snprintf(address, sizeof address, "%.*s", (int)zmq_msg_size(&f[3]),
	         (char *)zmq_msg_data(&f[3]));
	bool curve = zmq_msg_size(&f[5]) == 5 &&
	             memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0;
	int kind = 0;
	uint32_t flags = 0;
	char id[STORE_ID_MAX] = "";
	const char *why = "not CURVE";
	if (curve && zmq_msg_size(&f[6]) == 32) {
		zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
		why = "key not registered";
		if (store_principal_find(h->store, key, &kind, id, &flags) ==
		    UG_OK) {
			int want = strcmp(domain, "ingest") == 0
			                   ? STORE_AGENCY
			                   : STORE_CASEWORKER;
			if (kind != want)
				why = want == STORE_AGENCY
				              ? "key registered as a caseworker"
				              : "key registered as an agency";
			else
				why = NULL;
		}
	}
	if (why) {
		h->zap_refused++;
		log_warn("HUB-ZAP", "refused %s client from %s on %s: %s "
		         "(key %.8s...)", curve ? "CURVE" : "non-CURVE", address,
		         domain, why, key);
		reply(h->zap, request_id, request_id_len, "400", why, "");
	} else {
		h->zap_admitted++;
		if (kind == STORE_AGENCY)
			remember_agency(h, id, flags);
		log_info("HUB-ZAP", "admitted %s '%s' from %s on %s",
		         kind == STORE_AGENCY ? "agency" : "caseworker", id,
		         address, domain);
		reply(h->zap, request_id, request_id_len, "200", "OK", id);
	}
	for (int i = 0; i < ZAP_FRAMES; i++)
		zmq_msg_close(&f[i]);
}

void
hub__zap_handle(hub *h)
{
	int events = 0;
	size_t len = sizeof events;
	do {
		handle_one(h);
		if (zmq_getsockopt(h->zap, ZMQ_EVENTS, &events, &len) != 0)
			break;
	} while (events & ZMQ_POLLIN);
}
