/*
 * libFuzzer target: any bytes as what a browser (or anyone past the
 * proxy) sends webd: one connection's request line, headers, cookies and
 * body, url-encoded or multipart, through libmicrohttpd into webd's
 * routing, form reading (form_field), session and CSRF checks and pages.
 * The hub is away (nothing listens on the gateway's endpoint), so what
 * would need it is answered as webd answers then. None may crash, read or
 * write out of bounds, or leak.
 *
 * Each input is written into one end of a socket pair whose other end is
 * handed to libmicrohttpd as an accepted connection; the daemon is run
 * until it has answered and closed it.
 */
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "web/hubconn.h"
#include "web/webd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static hubconn *hc;
static webd *w;
static struct MHD_Daemon *d;

static void
quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

static void
remove_keys(void)
{
	static const char *const names[] = {"hub.key", "hub.key_secret",
					    "gw.key", "gw.key_secret"};
	char path[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void
setup(void)
{
	if (d)
		return;
	signal(SIGPIPE, SIG_IGN);
	ug_diag diag = {0};
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/ugwebfuzzXXXXXX", tmp ? tmp : "/tmp");
	if (ug_crypto_init() != UG_OK || !mkdtemp(dir))
		abort();
	atexit(remove_keys);
	/* Port 1 on loopback: nothing listens, every request finds the hub
	 * away at once (ZMQ_IMMEDIATE). */
	if (ug_keys_generate(dir, "hub", &diag) != UG_OK ||
	    ug_keys_generate(dir, "gw", &diag) != UG_OK ||
	    hubconn_open(&hc, dir, "gw", "tcp://127.0.0.1:1", 1, &diag) !=
		UG_OK)
		abort();
	webd_opts opts = {.hub = hc,
			  .behind_tls = false,
			  .sessions_max = 16,
			  .streams_max = 2,
			  .poll_ms = 2000,
			  .warning_s = 120};
	if (webd_new(&w, &opts) != UG_OK)
		abort();
	d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
				 MHD_ALLOW_SUSPEND_RESUME,
			     0, NULL, NULL, webd_handle, w,
			     MHD_OPTION_EXTERNAL_LOGGER, quiet, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, webd_completed, w,
			     MHD_OPTION_CONNECTION_TIMEOUT, 5u,
			     MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (!d)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return 0;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_port = htons(40000),
				   .sin_addr = {htonl(INADDR_LOOPBACK)}};
	if (MHD_add_connection(d, sv[1], (struct sockaddr *)&peer,
			       sizeof peer) != MHD_YES) {
		close(sv[0]);
		return 0;
	}
	/* The whole input fits the socket's buffer (-max_len is 4096). */
	for (size_t off = 0; off < size;) {
		ssize_t n = write(sv[0], data + off, size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(sv[0], SHUT_WR);
	char buf[65536];
	for (int turn = 0; turn < 200; turn++) {
		MHD_run(d);
		webd_tick(w);
		ssize_t n = read(sv[0], buf, sizeof buf);
		if (n == 0)
			break; /* answered and closed */
	}
	close(sv[0]);
	for (int turn = 0; turn < 3; turn++)
		MHD_run(d);
	return 0;
}
