/*
 * libFuzzer target: any bytes as what a browser (or anyone past the
 * proxy) sends webd: one connection's request line, headers, cookies and
 * body, url-encoded or multipart, through libmicrohttpd into webd's
 * routing, form reading (form_field), session and CSRF checks and pages.
 * The hub is away (nothing listens on the gateway's endpoint), so what
 * would need it is answered as webd answers then. None may crash, read or
 * write out of bounds, or leak. webd_session_fuzz does the same behind
 * the login.
 */
#include "tests/fuzz/webd_harness.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static hubconn *hc;

static void
setup(void)
{
	if (harness_d)
		return;
	ug_diag diag = {0};
	harness_keys("ugwebfuzz");
	atexit(harness_remove_keys);
	/* Port 1 on loopback: nothing listens, every request finds the hub
	 * away at once (ZMQ_IMMEDIATE). */
	if (hubconn_open(&hc, harness_dir, "gw", "tcp://127.0.0.1:1", 1,
			 &diag) != UG_OK)
		abort();
	harness_webd(hc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	harness_exchange(data, size, NULL, 0);
	return 0;
}
