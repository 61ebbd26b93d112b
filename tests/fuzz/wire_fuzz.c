/*
 * libFuzzer target: any bytes through the hub's frame decoder and envelope
 * validation, and the event id peek the hub makes into an oversized frame.
 * The hub must never crash or leak on outside bytes; a failure is a return
 * code. Run with `make fuzz` (clang, libFuzzer).
 */
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int kind, code;
	void *msg;
	ug_diag diag = {0};
	/* The hub peeks only into frames over WIRE_MAX_FRAME, which -max_len
	 * rarely reaches; the peek reads the same outside bytes at any size,
	 * so every input goes through it. */
	uint8_t id[WIRE_EVENT_ID_LEN];
	(void)wire_event_id_peek(data, size, id);
	if (wire_decode(data, size, &kind, &msg, &code, &diag) != UG_OK)
		return 0;
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_EVENT) {
		(void)wire_validate_envelope(msg, 1700000000000, &diag);
		/* The hub's path: the strings measured on the wire too. */
		(void)wire_validate_content_raw(msg, data + 2, size - 2,
						&diag);
		(void)wire_envelope_text_len(data + 2, size - 2, 2);
	}
	wire_free(kind, msg);
	return 0;
}
