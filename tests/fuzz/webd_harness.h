/*
 * What the two webd fuzz targets share: a key directory with the hub's and
 * a gateway's keys, webd on a libmicrohttpd daemon without a listening
 * socket, and one connection to it per input. Each input is written into
 * one end of a socket pair whose other end is handed to libmicrohttpd as
 * an accepted connection; the daemon is run until it has answered and
 * closed it. A header of static functions: each target is one file.
 */
#ifndef UG_TESTS_FUZZ_WEBD_HARNESS_H
#define UG_TESTS_FUZZ_WEBD_HARNESS_H

#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/keys.h"
#include "web/hubconn.h"
#include "web/webd.h"

static char harness_dir[64];
static struct MHD_Daemon *harness_d;
static webd *harness_w;

static void
harness_quiet(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

/* A fresh key directory with the hub's and the gateway "gw"'s keys. */
static void
harness_keys(const char *prefix)
{
	ug_diag diag = {0};
	const char *tmp = getenv("TMPDIR");
	snprintf(harness_dir, sizeof harness_dir, "%s/%sXXXXXX",
		 tmp ? tmp : "/tmp", prefix);
	signal(SIGPIPE, SIG_IGN);
	if (ug_crypto_init() != UG_OK || !mkdtemp(harness_dir) ||
	    ug_keys_generate(harness_dir, "hub", &diag) != UG_OK ||
	    ug_keys_generate(harness_dir, "gw", &diag) != UG_OK)
		abort();
}

static void
harness_remove_keys(void)
{
	static const char *const names[] = {"hub.key", "hub.key_secret",
					    "gw.key", "gw.key_secret"};
	char path[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", harness_dir, names[i]);
		unlink(path);
	}
	rmdir(harness_dir);
}

/* webd, as webd_main sets it up, with its hub connection hc. */
static void
harness_webd(hubconn *hc)
{
	webd_opts opts = {.hub = hc,
			  .behind_tls = false,
			  .sessions_max = 16,
			  .streams_max = 2,
			  .poll_ms = 2000,
			  .warning_s = 120,
			  .lifetime_ms = 600 * 60 * 1000};
	if (webd_new(&harness_w, &opts) != UG_OK)
		abort();
	harness_d = MHD_start_daemon(
	    MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ERROR_LOG |
		MHD_ALLOW_SUSPEND_RESUME,
	    0, NULL, NULL, webd_handle, harness_w, MHD_OPTION_EXTERNAL_LOGGER,
	    harness_quiet, NULL, MHD_OPTION_NOTIFY_COMPLETED, webd_completed,
	    harness_w, MHD_OPTION_CONNECTION_TIMEOUT, 5u,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (!harness_d)
		abort();
}

/* Hand req to webd as one accepted connection; its answer into out
 * (NUL-terminated, cut at cap; out may be NULL). */
static void
harness_exchange(const uint8_t *req, size_t len, char *out, size_t cap)
{
	size_t got = 0;
	if (out && cap)
		out[0] = '\0';
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	struct sockaddr_in peer = {.sin_family = AF_INET,
				   .sin_port = htons(40000),
				   .sin_addr = {htonl(INADDR_LOOPBACK)}};
	if (MHD_add_connection(harness_d, sv[1], (struct sockaddr *)&peer,
			       sizeof peer) != MHD_YES) {
		close(sv[0]);
		return;
	}
	/* The whole input fits the socket's buffer (-max_len is 4096). */
	for (size_t off = 0; off < len;) {
		ssize_t n = write(sv[0], req + off, len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	shutdown(sv[0], SHUT_WR);
	char buf[65536];
	for (int turn = 0; turn < 400; turn++) {
		MHD_run(harness_d);
		webd_tick(harness_w);
		ssize_t n = read(sv[0], buf, sizeof buf);
		if (n == 0)
			break; /* answered and closed */
		if (n > 0 && out && got + 1 < cap) {
			size_t take = (size_t)n < cap - 1 - got
					  ? (size_t)n
					  : cap - 1 - got;
			memcpy(out + got, buf, take);
			got += take;
			out[got] = '\0';
		}
		if (n < 0)
			usleep(200);
	}
	/* A live-list stream (/events) stays suspended for news: ended
	 * here, as webd ends them at shutdown, so none outlives its input
	 * (nor fills streams_max for the next). */
	webd_end_streams(harness_w);
	for (int turn = 0; turn < 50 && webd_streams_open(harness_w) > 0;
	     turn++) {
		MHD_run(harness_d);
		(void)read(sv[0], buf, sizeof buf);
	}
	close(sv[0]);
	for (int turn = 0; turn < 3; turn++)
		MHD_run(harness_d);
}

#endif
