/*
 * hubd: the ungebro broker daemon. Reads its settings (see --help), opens
 * the store and the sockets, tells systemd it is ready (Type=notify), and
 * runs until SIGTERM or SIGINT, which finish the batch in flight, commit
 * and exit 0. SIGHUP reloads the rules file (a bad file is refused and the
 * rules in force stay).
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/nodump.h"
#include "common/notify.h"
#include "common/util.h"
#include "hub/hub.h"
#include "hub/rules_config.h"

static const char usage[] =
    "usage: hubd [--config FILE] [--SETTING VALUE]...\n"
    "       hubd --check-config [--config FILE] [--SETTING VALUE]...\n"
    "\n"
    "The ungebro hub: receives agencies' events on the ingest endpoint,\n"
    "stores them durably, raises early-warning alerts and delivers them\n"
    "to caseworkers on the delivery endpoint. Stops cleanly on SIGTERM\n"
    "or SIGINT; SIGHUP reloads the rules file (a bad one is refused with\n"
    "HUB-RELOAD and the rules in force stay). Other settings are read\n"
    "at start only.\n"
    "\n"
    "--check-config checks the config and the rules file it names and\n"
    "exits 0, or 2 after printing each problem as FILE:LINE: reason\n"
    "(FILE: reason for rules settings that contradict each other;\n"
    "hubd: reason for a value given on the command line or settings\n"
    "that do not go together); it opens neither the store nor a\n"
    "socket. A start makes the same check first and logs each problem\n"
    "as HUB-START cannot start: SETTING: FILE:LINE: reason.\n"
    "\n"
    "Exit status: 0 stopped cleanly (or --check-config found nothing);\n"
    "2 usage or settings (an unknown option, a bad value in a file or on\n"
    "the command line, a bad rules file); 1 could not start for anything\n"
    "else (keys, store, sockets).";

/* One file's check: ug_kv_read stops at the first bad line, so after
 * each one the file is read again from the line after it; every bad
 * line is reported, each with its line, a line that is no "name = value"
 * (or is too long) too. */
typedef struct {
	ug_err (*check)(void *ctx, const char *name, const char *value,
			ug_diag *diag);
	void *ctx;
} line_check;

/* --check-config prints a problem as it is; at start the same text is
 * logged as the reason hubd does not start, after the setting it
 * concerns, so an operator under systemd finds it in the journal with
 * the HUB-START id. */
static void
report(bool start, const char *prefix, const ug_diag *diag)
{
	if (start)
		log_err("HUB-START", "cannot start: %s%s%s", diag->field,
			diag->field[0] ? ": " : "", diag->reason);
	else
		ug_eprintf("%s%s\n", prefix, diag->reason);
}

/* The number of problems found in path, each reported (see report). */
static int
check_file(const char *path, line_check *lc, bool start)
{
	int problems = 0;
	long from = 1;
	for (;;) {
		ug_diag diag = {0};
		ug_err err =
		    ug_kv_read_from(path, 0, from, lc->check, lc->ctx, &diag);
		if (err == UG_OK)
			return problems;
		problems++;
		report(start, "", &diag);
		/* A file that cannot be opened or read has no line after. */
		if (err == UG_EIO || err == UG_ENOTFOUND || diag.line <= 0)
			return problems;
		from = diag.line + 1;
	}
}

typedef struct {
	char rules[512]; /* the last rules setting seen */
} config_check;

static ug_err
check_setting(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	config_check *cc = ctx;
	if (strcmp(name, "rules") == 0)
		snprintf(cc->rules, sizeof cc->rules, "%s", value);
	/* Made an option below, "config" would read the file it names, as
	 * if a config file could include another; the load refuses it. */
	if (strcmp(name, "config") == 0) {
		ug_diag_set(diag, name, "unknown setting '%s' (see --help)",
			    name);
		return UG_EINVAL;
	}
	/* The setting alone over the defaults: a failure is this line's. */
	char option[UG_KV_LINE_MAX + 8];
	snprintf(option, sizeof option, "--%s=%s", name, value);
	char *argv[] = {"hubd", option, NULL};
	ug_config *one = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_err err = ug_config_load(&one, hub_settings, "", 2, argv, &rest,
				    &nrest, &help, diag);
	if (err == UG_OK)
		err = hub_check_setting_alone(one, diag);
	ug_config_destroy(&one);
	return err;
}

/* The rules file line by line, as rules_config_load reads it. */
typedef struct {
	rules_config *cfg;
	bool holidays_given;
} rule_check;

static ug_err
check_rule(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	rule_check *rc = ctx;
	return rules_config_set_line(rc->cfg, &rc->holidays_given, name, value,
				     diag);
}

/* Every problem of the settings and of the rules file they name, each
 * reported (see report): the number found, or -1 if the check itself
 * could not run. hubd --check-config and a start both check this way,
 * so a start refuses exactly what the check reports. */
static int
config_problems(int argc, char **argv, bool start)
{
	int problems = 0;
	config_check cc = {.rules = ""};
	/* The files as the whole load reads them, --config=FILE too: each
	 * bad line is named here, not only the first one the load meets. */
	int pos = 0;
	for (const char *file;
	     (file = ug_config_next_file(hub_settings, argc, argv, &pos));)
		problems +=
		    check_file(file, &(line_check){check_setting, &cc}, start);
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help = false;
	ug_diag diag = {0};
	/* With a bad line in a file the whole is not loaded: the rules file
	 * in force is still the command line's, if it names one. */
	const char *rules = ug_config_arg(hub_settings, argc, argv, "rules");
	if (!rules)
		rules = cc.rules;
	if (problems == 0) {
		/* Now the whole: command-line options and their mix. */
		if (ug_config_load(&cfg, hub_settings, usage, argc, argv,
				   &rest, &nrest, &help, &diag) != UG_OK ||
		    hub_check_settings(cfg, &diag) != UG_OK) {
			report(start, "hubd: ", &diag);
			problems++;
		} else if (nrest > 0) {
			ug_diag_set(&diag, "",
				    "unexpected argument '%s' (see "
				    "--help)",
				    rest[0]);
			report(start, "hubd: ", &diag);
			problems++;
		}
		if (cfg)
			rules = ug_config_get(cfg, "rules");
	}
	if (rules[0]) {
		rules_config *scratch = malloc(sizeof *scratch);
		if (!scratch) {
			ug_config_destroy(&cfg);
			return -1;
		}
		rules_config_defaults(scratch);
		rule_check one = {scratch, false};
		int bad =
		    check_file(rules, &(line_check){check_rule, &one}, start);
		/* Settings that are fine alone may still not fit together:
		 * each contradiction is reported, not only the first, so one
		 * check shows all there is to fix. */
		int clashes = 0;
		for (int i = 0; bad == 0 && i < RULES_CONTRADICTIONS; i++) {
			ug_diag clash = {0};
			if (rules_config_contradiction(scratch, rules, i,
						       &clash) != UG_OK) {
				report(start, "", &clash);
				clashes++;
			}
		}
		bad += clashes;
		if (bad == 0 &&
		    rules_config_load(scratch, rules, &diag) != UG_OK) {
			report(start, "", &diag);
			bad++;
		}
		problems += bad;
		free(scratch);
	}
	ug_config_destroy(&cfg);
	return problems;
}

/* hubd --check-config: argv without that option. Exit 0, 1 or 2. */
static int
check_config(int argc, char **argv)
{
	/* A reader gone before the answer (| head) makes it one that could
	 * not be written, exit 1 saying so, as hubctl's output: not a death
	 * by SIGPIPE that leaves no word of why. */
	signal(SIGPIPE, SIG_IGN);
	/* -h wins over a --config before it that cannot be read, as at a
	 * start: the load looks for it first and prints the text. */
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help = false;
	ug_diag diag = {0};
	(void)ug_config_load(&cfg, hub_settings, usage, argc, argv, &rest,
			     &nrest, &help, &diag);
	ug_config_destroy(&cfg);
	if (help)
		return 0;
	int problems = config_problems(argc, argv, false);
	if (problems != 0)
		return problems < 0 ? 1 : 2;
	printf("hubd: configuration OK\n");
	/* A script runs `hubd --check-config ... && systemctl reload hubd`:
	 * an answer that was never written (stdout full or closed) is no
	 * "OK", as for every program's other output. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ug_eprintf("hubd: cannot write standard output: %s\n",
			   strerror(errno ? errno : EIO));
		return 1;
	}
	return 0;
}

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

static void
set_signal_handlers(void)
{
	struct sigaction sa = {.sa_handler = on_stop};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* An ignored SIGCHLD survives exec from whatever started hubd, and
	 * the kernel would then reap sendmail itself: a notice the MTA took
	 * could not be told from one it refused, and would go out again. */
	signal(SIGCHLD, SIG_DFL);
	struct sigaction hup = {.sa_handler = on_hup};
	sigemptyset(&hup.sa_mask);
	sigaction(SIGHUP, &hup, NULL);
	ug_unblock_stop_signals();
}

/* Every connection, a caseworker's session or an agency's, holds a
 * descriptor, and past the limit ZeroMQ retries its accept in a tight
 * loop: a shell's usual soft limit of 1024 would not even hold the
 * default sessions_max. The soft limit is raised as far as the hard one
 * lets it; a hard limit too low is warned about, not refused, since
 * fewer connections than sessions_max may be all a hub ever sees. */
static void
fit_open_files(const ug_config *cfg)
{
	long sessions = 0;
	ug_diag diag = {0};
	struct rlimit lim;
	if (ug_config_int(cfg, "sessions_max", 1, 100000, &sessions, &diag) !=
		UG_OK ||
	    getrlimit(RLIMIT_NOFILE, &lim) != 0)
		return;
	rlim_t need = (rlim_t)sessions + 1024;
	if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= need)
		return;
	rlim_t soft = lim.rlim_max == RLIM_INFINITY || lim.rlim_max > need
			  ? need
			  : lim.rlim_max;
	struct rlimit raised = {soft, lim.rlim_max};
	if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
		lim.rlim_cur = soft;
	if (lim.rlim_cur < need)
		log_warn("HUB-START",
			 "open files are limited to %llu, fewer than "
			 "sessions_max (%ld) and 1024 more: raise LimitNOFILE "
			 "or lower sessions_max",
			 (unsigned long long)lim.rlim_cur, sessions);
}

int
main(int argc, char **argv)
{
	ug_hold_std_streams();
	ug_diag nodump = {0};
	if (ug_forbid_core_dumps(&nodump) != UG_OK) {
		fprintf(stderr, "hubd: %s\n", nodump.reason);
		return 1;
	}
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
	/* Given twice it is still one check, as any option given twice is
	 * one setting; after "--" it would be an argument. */
	bool check = false, valued_check = false;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0;)
		if (strncmp(argv[i], "--check-config=", 15) == 0) {
			valued_check = true;
			i++;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			memmove(argv + i, argv + i + 1,
				(size_t)(argc - i) * sizeof *argv);
			argc--;
			check = true;
		} else {
			i++;
		}
	if (check)
		return check_config(argc, argv);
	/* Before the settings are read: a stop asked for while they and the
	 * rules are checked (systemctl stop right after a start) is then a
	 * clean one, HUB-STOP and exit 0, not a death by the signal. */
	set_signal_handlers();
	if (ug_config_load(&cfg, hub_settings, usage, argc, argv, &rest,
			   &nrest, &help, &diag) != UG_OK) {
		/* Not a setting: "unknown setting" would send the operator
		 * looking in the wrong place (-h still won above). */
		if (valued_check) {
			fprintf(stderr,
				"hubd: --check-config takes no value: give "
				"it alone, as in hubd --check-config "
				"--config FILE\n");
			return 2;
		}
		/* Its problem and any other, each where it is. */
		if (config_problems(argc, argv, true) <= 0)
			report(true, "", &diag);
		return 2;
	}
	if (help) {
		ug_config_destroy(&cfg);
		return 0;
	}
	/* Settings are refused here, before keys, store or sockets: a bad
	 * one is the operator's to fix (exit 2), not a failure to start
	 * (exit 1) that Restart=on-failure would retry. */
	if (config_problems(argc, argv, true) != 0) {
		ug_config_destroy(&cfg);
		return 2;
	}
	ug_log_init("hubd",
		    ug_log_parse_level(ug_config_get(cfg, "log_level")));
	fit_open_files(cfg);

	hub *h = NULL;
	ug_err err = hub_open(&h, cfg, &diag);
	if (err != UG_OK) {
		/* A failure logged where it happened (STORE-LMDB) may leave
		 * no text of its own: "cannot start: " and nothing after it
		 * reads as a hubd that does not know why. */
		log_err("HUB-START", "cannot start: %s%s%s", diag.field,
			diag.field[0] ? ": " : "",
			diag.reason[0] ? diag.reason : ug_strerror(err));
		ug_config_destroy(&cfg);
		return 1;
	}
	int rc = hub_run(h); /* READY=1 once it serves */
	ug_notify_systemd("STOPPING=1");
	hub_close(&h);
	ug_config_destroy(&cfg);
	return rc;
}
