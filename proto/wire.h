/*
 * The one place that frames, packs and unpacks protobuf-c messages.
 * A frame is [version 0x01][kind][protobuf bytes] (see ungebro.proto).
 * Decoding never trusts its input: every failure is UG_EMALFORMED with the
 * reason in the diag, and the caller lives on. Other code may read the
 * generated structs' fields but does not call __pack/__unpack itself.
 */
#ifndef UG_WIRE_H
#define UG_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "proto/ungebro.pb-c.h"

#define WIRE_VERSION	    1
#define WIRE_SCHEMA_VERSION 1
#define WIRE_HEADER_LEN	    2
#define WIRE_MAX_FRAME	    (64 * 1024) /* frames above this are refused */
/*
 * The hard cap on one message. Up to it an oversized frame is still read,
 * so the hub can refuse it with an ack (E_TOO_LARGE) the sender can match;
 * above it libzmq closes the connection without reading the rest. Every
 * frame a connection has queued in the hub may be this large, so with the
 * receive queues (hub.c, INGEST_RCVHWM) it sets what one connection can
 * make the hub hold: PROTOCOL.md promises this cap, SECURITY.md the sum.
 */
#define WIRE_MAX_MESSAGE (1024 * 1024)
/*
 * ZMQ_MAXMSGSIZE counts the CURVE MESSAGE command (command name, nonce,
 * MAC and flags around the frame), not the frame itself.
 */
#define WIRE_CURVE_OVERHEAD 33
#define WIRE_EVENT_ID_LEN   16
#define WIRE_ALERT_ID_LEN   9
#define WIRE_TEXT_MAX	    256 /* bytes of any string field in an envelope */
/* Caseworker and desk ids the hub keeps as ids (assignments, desks). */
#define WIRE_ID_MAX 63
/*
 * The most lessons (or days) an absence report may count. The rules keep
 * each count in 16 bits; a larger one cut to fit would change the rate
 * the alert states (60000 of 1000000 read as 60000 of 65535), and no
 * period of at most 367 days holds that many lessons.
 */
#define WIRE_LESSONS_MAX 65535
/*
 * The E_DENIED reason of a frame on a connection whose key was revoked or
 * replaced after its handshake (docs/PROTOCOL.md §1). Published text: a
 * sender tells by it that the refusal is about the connection, not the
 * event, and that the event goes again once it holds the new key.
 */
#define WIRE_REASON_KEY_REVOKED                                               \
	"the key this connection authenticated with has been revoked or "     \
	"replaced"

/* The E_DENIED reason of an event whose type the agency is not registered
 * for (docs/PROTOCOL.md §3): published text too, which an adapter passes
 * on with what the clerk can do about it. */
#define WIRE_REASON_NOT_REGISTERED                                            \
	"agency is not registered for this event type"

typedef Ungebro__V1__Envelope wire_envelope;
typedef Ungebro__V1__Ack wire_ack;
typedef Ungebro__V1__Hello wire_hello;
typedef Ungebro__V1__Welcome wire_welcome;
typedef Ungebro__V1__Alert wire_alert;
typedef Ungebro__V1__AlertAck wire_alert_ack;
typedef Ungebro__V1__Query wire_query;
typedef Ungebro__V1__Result wire_result;
typedef Ungebro__V1__Action wire_action;
typedef Ungebro__V1__Login wire_login;
typedef Ungebro__V1__Logout wire_logout;

/*
 * Decode a frame. On UG_OK *kind is a FrameKind and *msg the unpacked
 * message, owned by the caller: free with wire_free(kind, msg). A frame of
 * an unknown version or kind is UG_EMALFORMED with code set to
 * E_VERSION/E_MALFORMED; an oversized one E_TOO_LARGE.
 */
ug_err wire_decode(const uint8_t *frame, size_t len, int *kind, void **msg,
		   int *code, ug_diag *diag)
    __attribute__((warn_unused_result));

void wire_free(int kind, void *msg);

/*
 * The kind of a frame wire_decode would go on to unpack (within the size
 * limit, a version-1 header, a kind it knows), read without unpacking;
 * 0 for any other frame. An endpoint refuses a kind it does not take
 * before unpacking it, so the sender learns that it sent the wrong kind,
 * not that its bytes are no message of that kind.
 */
int wire_peek_kind(const uint8_t *frame, size_t len);

/* The request_id of a decoded message of a kind that carries one, else 0. */
uint32_t wire_request_id(int kind, const void *msg);

/*
 * The event_id of an event frame wire_decode refused as E_TOO_LARGE, so
 * the refusal can carry it: true if the frame is at most WIRE_MAX_MESSAGE
 * bytes and its envelope decodes with an id of WIRE_EVENT_ID_LEN bytes.
 */
bool wire_event_id_peek(const uint8_t *frame, size_t len,
			uint8_t id[WIRE_EVENT_ID_LEN]);

/* Bytes needed to encode msg as a frame of this kind. */
size_t wire_encoded_size(int kind, const void *msg);
/* Encode into buf (cap bytes, at least wire_encoded_size); returns length. */
size_t wire_encode(int kind, const void *msg, uint8_t *buf, size_t cap);

/* Unpack a message without the frame header (as the store keeps it);
 * NULL if it does not decode. Free with wire_free. */
void *wire_unpack(int kind, const uint8_t *data, size_t len);
/* Pack without the frame header into buf (wire_packed_size bytes). */
size_t wire_packed_size(const void *msg);
size_t wire_pack(const void *msg, uint8_t *buf);

/*
 * Check an envelope, in the order docs/PROTOCOL.md gives ("Validation
 * order"): wire_validate_head, a non-empty agency (E_DENIED),
 * wire_validate_content, wire_validate_fresh. Returns an ErrorCode (OK or
 * the first failure's) and fills the diag with a reason free of personal
 * data: diag.field is the field's own name ("programme"), the reason names
 * it by its path ("dropout.programme").
 */
int wire_validate_envelope(const wire_envelope *env, int64_t now_ms,
			   ug_diag *diag);

/* The parts, for the hub, which checks the sender and looks the id up
 * between them. Head: schema_version (E_VERSION), event_id length. */
int wire_validate_head(const wire_envelope *env, ug_diag *diag);
/* Everything about the content (E_MALFORMED): type and payload, every
 * string field's size and UTF-8, every date field, CPR and sensitivity,
 * the payload's own rules. */
int wire_validate_content(const wire_envelope *env, ug_diag *diag);
/* The same for an envelope decoded from body (the frame after its
 * header): a string's size is the one on the wire, and a NUL byte in it
 * is refused ("dropout.programme contains a NUL byte"), since the decoded
 * text stops there while the store keeps the bytes as received. */
/* The length on the wire of the Envelope's top-level string field of
 * this number in body, SIZE_MAX when it is not there: longer than the
 * decoded text when a NUL byte cut that short. */
size_t wire_envelope_text_len(const uint8_t *body, size_t len,
			      uint32_t number);
/* For the top-level string field called name of a client's message of
 * this type, in body (a frame after its header): its length on the wire
 * (wire_envelope_text_len), and whether decoding cut it short, text (the
 * decoded value) being shorter than what was sent because a NUL byte
 * ends it. */
size_t wire_field_text_len(const ProtobufCMessageDescriptor *type,
			   const uint8_t *body, size_t len, const char *name);
bool wire_field_cut(const ProtobufCMessageDescriptor *type,
		    const uint8_t *body, size_t len, const char *name,
		    const char *text);
int wire_validate_content_raw(const wire_envelope *env, const uint8_t *body,
			      size_t body_len, ug_diag *diag);
/* valid_until against now_ms (E_STALE). */
int wire_validate_fresh(const wire_envelope *env, int64_t now_ms,
			ug_diag *diag);

/*
 * The one decision of what a ContactAssignment makes its caseworker:
 * a ContactRole value (UNGEBRO__V1__CONTACT_ROLE__CONTACT_ROLE_CONTACT,
 * _GUIDANCE, _MENTOR). role_kind decides when set; otherwise the string
 * role, exactly "" or "contact" (CONTACT), "guidance" or "mentor", as
 * older senders write it. WIRE_ROLE_INVALID for anything else: an unknown
 * role_kind or text (wire_validate_content refuses both), or a role text
 * that contradicts role_kind. Hub, hubctl, adapters and the timeline all
 * ask this function; none compares the role text itself.
 */
#define WIRE_ROLE_INVALID (-1)
int wire_assignment_role(const Ungebro__V1__ContactAssignment *a);
/* "contact", "guidance", "mentor" for a ContactRole value (the string
 * role an assignment carries for older readers); NULL for any other. */
const char *wire_contact_role_name(int role);
/* The accepted role texts, for a reason a person reads. */
#define WIRE_ROLE_ACCEPTED "contact, guidance or mentor"

/* Name of an event type ("AbsenceReport"), "?" if unknown. */
const char *wire_event_type_name(int type);
/* The same type as a person reads it in English ("Absence report"), "-"
 * if unknown: inbox and webd's English pages show evidence with it, so
 * the terminal and the browser name an event alike. */
const char *wire_event_type_label(int type);

#endif
