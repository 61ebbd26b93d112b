/*
 * hubd: the ungebro broker daemon. Reads its settings (see --help), opens
 * the store and the sockets, tells systemd it is ready (Type=notify), and
 * runs until SIGTERM or SIGINT, which finish the batch in flight, commit
 * and exit 0. SIGHUP reloads the rules file (a bad file is refused and the
 * rules in force stay).
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdlib.h>

#include "common/notify.h"
#include "common/crypto.h"
#include "common/log.h"
#include "hub/hub.h"

static const char usage[] =
	"usage: hubd [--config FILE] [--SETTING VALUE]...\n"
	"\n"
	"The ungebro hub: receives agencies' events on the ingest endpoint,\n"
	"stores them durably, raises early-warning alerts and delivers them\n"
	"to caseworkers on the delivery endpoint. Stops cleanly on SIGTERM.";

static void
on_stop(int sig)
{
	(void)sig;
	hub_stop();
}

static void
on_hup(int sig)
{
	(void)sig;
	hub_reload();
}

int
main(int argc, char **argv)
{
	ug_log_init("hubd", UG_LOG_INFO);
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag = {0};
	if (ug_crypto_init() != UG_OK) {
		log_err("HUB-START", "libsodium failed to initialise");
		return 1;
	}
	if (ug_config_load(&cfg, hub_settings, usage, argc, argv, &rest,
	                   &nrest, &help, &diag) != UG_OK) {
		fprintf(stderr, "hubd: %s\n", diag.reason);
		return 2;
	}
	if (help) {
		ug_config_destroy(&cfg);
		return 0;
	}
	int level = ug_log_parse_level(ug_config_get(cfg, "log_level"));
	ug_log_init("hubd", level > 0 ? level : UG_LOG_INFO);
	if (nrest > 0) {
		fprintf(stderr, "hubd: unexpected argument '%s' (see --help)\n",
		        rest[0]);
		ug_config_destroy(&cfg);
		return 2;
	}
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction hup = {.sa_handler = on_hup};
	sigemptyset(&hup.sa_mask);
	sigaction(SIGHUP, &hup, NULL);

	hub *h = NULL;
	if (hub_open(&h, cfg, &diag) != UG_OK) {
		log_err("HUB-START", "cannot start: %s%s%s", diag.field,
		        diag.field[0] ? ": " : "", diag.reason);
		ug_config_destroy(&cfg);
		return 1;
	}
	ug_notify_systemd("READY=1");
	int rc = hub_run(h);
	ug_notify_systemd("STOPPING=1");
	hub_close(&h);
	ug_config_destroy(&cfg);
	return rc;
}
