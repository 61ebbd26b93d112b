/*
 * webd: the caseworkers' web inbox (see web/webd.h and docs/ARCHITECTURE.md,
 * "The web inbox"). Serves HTTP on loopback for a TLS-terminating reverse
 * proxy, and talks to hubd as a registered gateway. One thread: libmicro-
 * httpd's event loop runs here, and each request is answered before the
 * next is read, so the one hub connection is never shared; live-update
 * streams are suspended connections that webd_tick wakes.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/nodump.h"
#include "common/notify.h"
#include "common/util.h"
#include "web/hubconn.h"
#include "web/webd.h"

static const char usage[] =
    "usage: webd --gateway ID [--config FILE] [OPTIONS]\n"
    "\n"
    "The caseworkers' web inbox: log in with a password (hubctl\n"
    "set-password), see open alerts and why they fired, record what was\n"
    "done, open a young person's timeline. Serves plain HTTP on\n"
    "listen_address:port for a reverse proxy with TLS, and connects to the\n"
    "hub's delivery endpoint with the gateway's key (hubctl\n"
    "register-gateway ID). Stops on SIGTERM or SIGINT.\n"
    "\n"
    "Exit status: 0 stopped by SIGTERM or SIGINT; 1 could not start (keys\n"
    "that cannot be read, a key file holding another's key, a port that\n"
    "cannot be bound); 2 usage or settings (a bad value, a word that is\n"
    "no setting), found before the keys are read or a port is bound.";

static const ug_setting settings[] = {
    {"gateway", NULL,
     "the gateway id (keys_dir/ID.key_secret, registered "
     "with hubctl register-gateway)"},
    {"keys_dir", "./var/keys",
     "directory with the gateway's keys and "
     "hub.key (at most 400 bytes)"},
    {"delivery", "tcp://127.0.0.1:7602",
     "the hub's delivery endpoint: tcp://HOST:PORT or ipc://PATH"},
    {"listen_address", "127.0.0.1", "IPv4 address to serve HTTP on"},
    {"port", "8080", "TCP port to serve HTTP on (1-65535)"},
    {"behind_tls", "false",
     "the proxy in front speaks HTTPS: cookies "
     "are marked Secure"},
    {"hub_timeout", "5", "seconds to wait for the hub's answer (1-600)"},
    {"sessions_max", "4096",
     "web sessions webd remembers (a login beyond them forgets the one "
     "used longest ago, not the one logged in first; 1-1000000)"},
    {"connections_max", "64",
     "HTTP connections at once, live-update "
     "streams included; the hard open-file limit must allow it and 64 "
     "more, else exit 2 (2-10000)"},
    {"streams_max", "32",
     "live-update streams (/events) open at once; "
     "one more is answered 503 (1-9999, less than "
     "connections_max)"},
    {"events_poll", "2",
     "seconds between two questions to the hub for "
     "each open live-update stream (1-60)"},
    {"session_warning", "120",
     "seconds before a session's idle end (the hub's web_session_idle) "
     "that a page warns and offers to stay logged in; half the idle time "
     "when that is shorter (20-3600)"},
    {"session_lifetime", "600",
     "minutes after its login that a web session ends however busy it is "
     "(the hub's web_session_idle ends an unused one sooner): its next "
     "request goes to the login page (1-1440)"},
    {"log_level", "info", "err, warn, notice, info or debug, in any case"},
    {NULL, NULL, NULL},
};

static volatile sig_atomic_t stop;

static ug_err
fit_open_files(long connections, ug_diag *diag)
{
	rlim_t need = (rlim_t)connections + 64;
	struct rlimit lim;
	if (getrlimit(RLIMIT_NOFILE, &lim) != 0)
		return UG_OK;
	if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
		rlim_t soft =
		    lim.rlim_max == RLIM_INFINITY || lim.rlim_max > need
			? need
			: lim.rlim_max;
		struct rlimit raised = {soft, lim.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			lim.rlim_cur = soft;
	}
	if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < need) {
		ug_diag_set(
		    diag, "connections_max",
		    "connections_max %ld needs %llu open files, but the "
		    "limit is %llu (LimitNOFILE, ulimit -n): lower "
		    "connections_max or raise the limit",
		    connections, (unsigned long long)need,
		    (unsigned long long)lim.rlim_cur);
		return UG_EINVAL;
	}
	return UG_OK;
}

/* One turn of the HTTP server, at most 250 ms. On epoll libmicrohttpd
 * stops listening while connections_max are open, which would leave one
 * more waiting in the backlog unanswered for as long as they last; it is
 * taken and closed instead, as libmicrohttpd does on select(), whose
 * words the log keeps. */
static void
run_once(struct MHD_Daemon *d, unsigned connections)
{
	const union MHD_DaemonInfo *flags =
	    MHD_get_daemon_info(d, MHD_DAEMON_INFO_FLAGS);
	const union MHD_DaemonInfo *ep =
	    flags && (flags->flags & MHD_USE_EPOLL)
		? MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD)
		: NULL;
	const union MHD_DaemonInfo *lfd =
	    MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	const union MHD_DaemonInfo *open =
	    MHD_get_daemon_info(d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	if (!ep || !lfd || !open) {
		MHD_run_wait(d, 250);
		return;
	}
	bool full = open->num_connections >= connections;
	struct pollfd p[2] = {{.fd = ep->epoll_fd, .events = POLLIN},
			      {.fd = lfd->listen_fd, .events = POLLIN}};
	int wait = 250;
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(d, &ms) == MHD_YES && ms < (unsigned)wait)
		wait = (int)ms;
	if (poll(p, full ? 2 : 1, wait) > 0 && full &&
	    (p[1].revents & POLLIN)) {
		int c = accept(lfd->listen_fd, NULL, NULL);
		if (c >= 0) {
			close(c);
			log_warn("WEB-HTTP",
				 "Server reached connection limit. "
				 "Closing inbound connection.");
		}
	}
	MHD_run(d);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int
main(int argc, char **argv)
{
	ug_hold_std_streams();
	ug_diag nodump = {0};
	if (ug_forbid_core_dumps(&nodump) != UG_OK) {
		ug_eprintf("webd: %s\n", nodump.reason);
		return 1;
	}
	ug_log_init("webd", UG_LOG_INFO);
	/* Before anything is read: a stop asked for while webd starts
	 * (systemctl stop right after a start) is then a clean one, exit 0
	 * and WEB-STOP, not a death by the signal. */
	ug_unblock_stop_signals();
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* webd has nothing to reload, and left at its default a stray
	 * SIGHUP would end it in a way systemd counts as clean, so the unit
	 * would not start it again. */
	signal(SIGHUP, SIG_IGN);
	if (ug_crypto_init() != UG_OK)
		return 1;
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag = {0};
	if (ug_config_load(&cfg, settings, usage, argc, argv, &rest, &nrest,
			   &help, &diag) != UG_OK) {
		ug_eprintf("webd: %s\n", diag.reason);
		return 2;
	}
	if (help) {
		ug_config_destroy(&cfg);
		return 0;
	}
	int rc = 1;
	long port, timeout, sessions, connections, streams, poll, warning,
	    lifetime;
	hubconn *hub = NULL;
	webd *w = NULL;
	struct MHD_Daemon *d = NULL;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	/* A stray word is a mistyped setting more often than not: refused,
	 * as hubd refuses it, rather than left unread. */
	if (nrest > 0) {
		if (!ug_config_stray_word(cfg, "webd", 0))
			ug_eprintf("webd: unexpected argument '%s' (see "
				   "--help)\n",
				   rest[0]);
		rc = 2;
		goto done;
	}
	/* The id names the key file: one hubctl could not have registered
	 * would at best fail later, at worst read outside keys_dir. */
	const char *gateway = ug_config_get(cfg, "gateway");
	if (!ug_id_valid(gateway)) {
		char shown[UG_ID_SHOWN_MAX];
		ug_eprintf("webd: %sgateway '%s' is not a valid id " UG_ID_RULE
			   "\n",
			   ug_config_where(cfg, "gateway"),
			   ug_id_shown(gateway, shown, sizeof shown));
		rc = 2;
		goto done;
	}
	if (strcmp(gateway, "hub") == 0) {
		ug_eprintf("webd: %sgateway " UG_ID_HUB_OWN
			   ": give the gateway's own id\n",
			   ug_config_where(cfg, "gateway"));
		rc = 2;
		goto done;
	}
	/* A typo here must not leave webd logging at a level nobody chose,
	 * silently: refused like every other bad setting. */
	int level = ug_log_parse_level(ug_config_get(cfg, "log_level"));
	if (level < 0) {
		ug_eprintf("webd: %slog_level must be err, warn, notice, "
			   "info or debug\n",
			   ug_config_where(cfg, "log_level"));
		rc = 2;
		goto done;
	}
	/* Through ug_log_init, so UG_LOG_LEVEL overrides it here too, as
	 * in every other program. */
	ug_log_init("webd", level);
	if (ug_config_int(cfg, "port", 1, 65535, &port, &diag) != UG_OK ||
	    ug_config_int(cfg, "hub_timeout", 1, 600, &timeout, &diag) !=
		UG_OK ||
	    ug_config_int(cfg, "sessions_max", 1, 1000000, &sessions, &diag) !=
		UG_OK ||
	    ug_config_int(cfg, "connections_max", 2, 10000, &connections,
			  &diag) != UG_OK ||
	    ug_config_int(cfg, "streams_max", 1, 9999, &streams, &diag) !=
		UG_OK ||
	    ug_config_int(cfg, "events_poll", 1, 60, &poll, &diag) != UG_OK ||
	    ug_config_int(cfg, "session_warning", 20, 3600, &warning, &diag) !=
		UG_OK ||
	    ug_config_int(cfg, "session_lifetime", 1, 24 * 60, &lifetime,
			  &diag) != UG_OK) {
		ug_eprintf("webd: %s\n", diag.reason);
		rc = 2;
		goto done;
	}
	if (streams >= connections) {
		ug_eprintf(
		    "webd: streams_max must be less than "
		    "connections_max, or open streams leave no room for "
		    "pages\n");
		rc = 2;
		goto done;
	}
	if (inet_pton(AF_INET, ug_config_get(cfg, "listen_address"),
		      &addr.sin_addr) != 1) {
		ug_eprintf("webd: %slisten_address must be an IPv4 address "
			   "such as 127.0.0.1, not '%.60s'\n",
			   ug_config_where(cfg, "listen_address"),
			   ug_config_get(cfg, "listen_address"));
		rc = 2;
		goto done;
	}
	/* Both before the keys are read: exit 1 would have the unit start
	 * webd again every two seconds for a typo, and ZeroMQ takes some
	 * bad endpoints (port 0) and connects to nothing, for ever. */
	if (!ug_config_get(cfg, "keys_dir")[0]) {
		ug_eprintf("webd: %skeys_dir must name a directory\n",
			   ug_config_where(cfg, "keys_dir"));
		rc = 2;
		goto done;
	}
	if (ug_config_dir_too_long(cfg, "webd", "keys_dir")) {
		rc = 2;
		goto done;
	}
	if (!ug_endpoint_valid(ug_config_get(cfg, "delivery"))) {
		ug_eprintf("webd: %sdelivery '%s' is not an endpoint "
			   "(tcp://HOST:PORT or ipc://PATH)\n",
			   ug_config_where(cfg, "delivery"),
			   ug_config_get(cfg, "delivery"));
		rc = 2;
		goto done;
	}
	/* Every connection holds a descriptor: past the limit libmicrohttpd
	 * cannot accept and logs so in a tight loop, hundreds of thousands
	 * of lines a second, so the limit is made to fit connections_max
	 * here, or webd does not start. 64 cover the listening socket,
	 * ZeroMQ's and the standard ones. */
	if (fit_open_files(connections, &diag) != UG_OK) {
		ug_eprintf("webd: %s\n", diag.reason);
		rc = 2;
		goto done;
	}
	addr.sin_port = htons((uint16_t)port);
	if (hubconn_open(&hub, ug_config_get(cfg, "keys_dir"),
			 ug_config_get(cfg, "gateway"),
			 ug_config_get(cfg, "delivery"), (int)timeout * 1000,
			 &diag) != UG_OK) {
		ug_eprintf("webd: %s\n", diag.reason);
		goto done;
	}
	hubconn_stop_on(hub, &stop);
	webd_opts opts = {hub,
			  ug_config_bool(cfg, "behind_tls"),
			  sessions,
			  streams,
			  (int)poll * 1000,
			  (int)warning,
			  (int64_t)lifetime * 60 * 1000};
	if (webd_new(&w, &opts) != UG_OK) {
		ug_eprintf("webd: out of memory\n");
		goto done;
	}
	/* Live-update streams park their connections (suspend) between
	 * events, so one thread serves them and the pages alike. */
	/* The port is given besides the address only for libmicrohttpd's
	 * own messages, which name it ("Failed to bind to port N"). */
	/* MHD_USE_AUTO: epoll where there is one; select() would refuse
	 * every connection from descriptor 1024 (FD_SETSIZE) on, far short
	 * of connections_max's 10000. */
	d = MHD_start_daemon(
	    MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_AUTO,
	    (uint16_t)port, NULL, NULL, webd_handle, w,
	    /* First, or libmicrohttpd's messages about the options that
	     * come before it still go to stderr. */
	    MHD_OPTION_EXTERNAL_LOGGER, webd_mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_NOTIFY_COMPLETED, webd_completed, w,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)connections,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u,
	    /* HTTP/1.1 without Host is refused 400 (RFC 9112 3.2), as the
	     * docs say; left lenient, libmicrohttpd answers it. */
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (!d) {
		ug_eprintf("webd: cannot serve on %s:%ld\n",
			   ug_config_get(cfg, "listen_address"), port);
		goto done;
	}
	log_info("WEB-START", "serving http://%s:%ld/ for gateway %s",
		 ug_config_get(cfg, "listen_address"), port,
		 ug_config_get(cfg, "gateway"));
	ug_notify_systemd("READY=1");
	while (!stop) {
		run_once(d, (unsigned)connections);
		webd_tick(w);
	}
	/* Suspended streams are resumed and ended (their last event sent)
	 * before the daemon stops; a client that does not read gets 2 s. */
	ug_notify_systemd("STOPPING=1");
	webd_end_streams(w);
	for (int turn = 0; turn < 20 && webd_streams_open(w) > 0; turn++)
		MHD_run_wait(d, 100);
	log_info("WEB-STOP", "stopped");
	rc = 0;
done:
	if (d)
		MHD_stop_daemon(d);
	webd_destroy(&w);
	hubconn_close(&hub);
	ug_config_destroy(&cfg);
	return rc;
}
