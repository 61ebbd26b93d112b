/*
 * inbox: a caseworker's client. Connects to the hub's delivery endpoint
 * with the caseworker's CURVE keys, says Hello after every (re)connect,
 * prints each alert as it arrives (for a person, or one JSON object per
 * line with --json) and acknowledges it. libzmq hides a ZAP refusal from
 * the client, so a socket monitor watches the handshake and a refused key
 * ends the program with a clear message instead of silent retries.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/config.h"
#include "common/crypto.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/nodump.h"
#include "common/util.h"
#include "proto/wire.h"

#define EXIT_REFUSED 3
#define RESEND_MS                                                             \
	1000 /* --ack: between tries while the hub has not stored it */
#define HELLO_BACKOFF_MIN 1000
#define HELLO_BACKOFF_MAX 60000
/* Live: Hello again this often. The hub does not tell a connection that
 * its session ended (its key revoked, sessions_per_caseworker): only the
 * answer to a frame does (docs/PROTOCOL.md §4, Sessions). */
#define HELLO_EVERY_MS 15000
/* --list, --timeline: the most the hub orders per query (docs/PROTOCOL.md
 * §4, Queries). */
#define HUB_ORDERS_MAX 5000
/* --list, --timeline: first and longest wait before a page the hub could
 * not answer now is asked again. */
#define PAGE_WAIT_MIN 100
#define PAGE_WAIT_MAX 1000

static const char usage[] =
    "usage: inbox --caseworker ID [--config FILE] [OPTIONS]\n"
    "       inbox --caseworker ID --list [--json]\n"
    "       inbox --caseworker ID --timeline CPR [--json]\n"
    "       inbox --caseworker ID --ack ALERT_ID [--note TEXT]\n"
    "       inbox --caseworker ID --contact ALERT_ID --how TEXT "
    "[--date D] [--note TEXT]\n"
    "       inbox --caseworker ID --offer ALERT_ID --how TEXT "
    "[--date D] [--note TEXT]\n"
    "       inbox --caseworker ID --unreachable ALERT_ID --how TEXT "
    "[--date D] [--note TEXT]\n"
    "\n"
    "Live (the default): shows a caseworker's early-warning alerts as they\n"
    "arrive and acknowledges each one; alerts not acknowledged come again\n"
    "on the next connect. The one-shot commands print the open alerts,\n"
    "one person's timeline (only a person whose contact person you are\n"
    "today, not as guidance counsellor or mentor; an unassigned one to a\n"
    "desk member, unless the hub knows them only by addiction referrals;\n"
    "or one with an open alert addressed to you or your desk that names\n"
    "them), or acknowledge one alert with a note, and exit. --contact,\n"
    "--offer and --unreachable record what you did about the alert's\n"
    "young person (contact made, offer made, could not reach: --how says\n"
    "how, or what was offered; --date the day, default today): a\n"
    "recorded contact meets the contact deadline, a recorded offer the\n"
    "offer deadline.\n"
    "Acknowledging only says you have seen the alert. Every read and\n"
    "action is recorded in the hub's audit trail.\n"
    "\n"
    "One command at a time; an option of another command (--how with\n"
    "--list, --note with --timeline), two commands or a stray word is a\n"
    "usage error. \"--\" ends the options.\n"
    "\n"
    "Exit status: 0 done (live, also ended by Ctrl-C or SIGTERM, after\n"
    "its count line; live with --idle_exit: also when no hub\n"
    "answered within --timeout, nothing printed); 1 failed (keys,\n"
    "connection, or the hub refused for another reason, such as an\n"
    "action's --date that is no day or is after today, or its --how or\n"
    "--note too long: the hub checks those; live, a Hello refused\n"
    "before the first Welcome, as a web gateway's key is; or a one-shot\n"
    "command interrupted before the hub answered; or standard output\n"
    "cannot be written, a full disk: live, what it could not show is\n"
    "not acknowledged); 2 usage (a bad option, "
    "alert\n"
    "id or CPR number, --how missing or white space alone: nothing\n"
    "sent), or no answer from\n"
    "the hub within --timeout (a one-shot command); 3 the hub refused\n"
    "this caseworker's key, or\n"
    "keys_dir/hub.key is not the hub's public key; 4 not your alert or\n"
    "person, or the alert is not open for you.";

static const ug_setting settings[] = {
    {"caseworker", NULL,
     "caseworker id (keys_dir/ID.key_secret: a file holding another "
     "id's key is refused, exit 1)"},
    {"keys_dir", "./var/keys",
     "directory with the keys and hub.key (at most 400 bytes)"},
    {"delivery", "tcp://127.0.0.1:7602",
     "the hub's delivery endpoint: tcp://HOST:PORT or ipc://PATH"},
    {"json", "false",
     "live, --list, --timeline: print one JSON object "
     "per alert or entry"},
    {"no_ack", "false",
     "live: do not acknowledge (alerts come again); "
     "shows at most 256 of the open alerts (--list "
     "shows up to the 5,000 the hub orders)"},
    {"max", "0",
     "live: exit after this many alerts (0-1073741824; 0 = no limit)"},
    {"idle_exit", "0",
     "live: exit after this many seconds without an "
     "alert once the hub has answered; before that, at "
     "least --timeout (0-86400; 0 = run until interrupted)"},
    {"note", "",
     "live, --ack: note sent with acknowledgements (the hub keeps its "
     "first 200 bytes); --contact, --offer, --unreachable: note on the "
     "action (at most 200 bytes)"},
    {"list", "false",
     "print the open alerts (most urgent, newest first) "
     "and exit"},
    {"timeline", "", "print one person's events and alerts (CPR) and exit"},
    {"ack", "",
     "acknowledge one alert (its id, 18 hex digits) and exit; exit 4 when it "
     "is "
     "not open for you; sent again once a second while the hub has not "
     "stored it, until --timeout (then exit 1)"},
    {"contact", "", "record contact made with the alert's young person"},
    {"offer", "", "record an offer made to the alert's young person"},
    {"unreachable", "",
     "record that the young person could not be "
     "reached"},
    {"how", "",
     "--contact/--unreachable: how (phone, meeting, ...); "
     "--offer: what was offered (at most 256 bytes)"},
    {"date", "",
     "--contact, --offer, --unreachable: the day it was "
     "done, YYYY-MM-DD (empty: today)"},
    {"timeout", "10",
     "one-shot commands, and live with --idle_exit "
     "before the hub answers: seconds to wait for the hub "
     "(1-3600)"},
    {NULL, NULL, NULL},
};

static volatile sig_atomic_t interrupted;

/* Set when Ctrl-C or SIGTERM came while stdout took nothing (a pager
 * not scrolling, `inbox | less`; a terminal paused with Ctrl-S): stdout
 * is /dev/null from then on, so that neither the write waiting there nor
 * the count line nor exit's flush waits for a reader who may never read
 * again. null_fd: /dev/null, opened before the handlers are set. */
static volatile sig_atomic_t stdout_dropped;
static volatile sig_atomic_t null_fd = -1;

/* The first reason a write to stdout failed: stdio keeps only an error
 * flag, and a later successful flush would hide it. */
static int stdout_errno;

/* `inbox >> alerts.log`: an alert acknowledged is not sent again, so
 * it must be in the file for good first, not only in the page cache a
 * power loss takes. A pipe or a terminal has no disk to wait for. */
static bool
stdout_durable(void)
{
	static int regular = -1;
	if (regular < 0) {
		struct stat st;
		regular =
		    fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode);
	}
	if (!regular || fdatasync(STDOUT_FILENO) == 0)
		return true;
	if (!stdout_errno)
		stdout_errno = errno ? errno : EIO;
	return false;
}

/* Whether all printed so far reached stdout: `inbox > file` on a full
 * disk must neither exit 0 with the file empty nor acknowledge an alert
 * that was never shown. */
static bool
stdout_ok(void)
{
	errno = 0;
	bool ok = fflush(stdout) == 0 && !ferror(stdout);
	int why = errno;
	/* What went on after the signal went to /dev/null: the reader does
	 * not have it, so it is not shown (a live alert not acknowledged). */
	if (stdout_dropped) {
		clearerr(stdout);
		return false;
	}
	if (ok)
		return true;
	if (!stdout_errno)
		stdout_errno = why ? why : EIO;
	return false;
}

static void
on_signal(int sig)
{
	(void)sig;
	int saved = errno;
	interrupted = 1;
	/* A write waiting on a full pipe or a stopped terminal is cut short
	 * only once, by this signal: the next would wait again, for ever. */
	struct pollfd out = {.fd = STDOUT_FILENO, .events = POLLOUT};
	if (null_fd >= 0 && !stdout_dropped && poll(&out, 1, 0) == 0 &&
	    dup2(null_fd, STDOUT_FILENO) >= 0)
		stdout_dropped = 1;
	errno = saved;
}

typedef struct {
	void *zmq, *sock, *monitor;
	const ug_config *cfg;
	bool json, ack;
	long max, idle_exit, timeout;
	long received;
	long unshown; /* alerts not acknowledged: stdout failed */
	/* Live: some frame came from the hub. Without one, a summary line
	 * would claim a run that never reached it. */
	bool heard;
	uint8_t acked_id[WIRE_ALERT_ID_LEN]; /* --ack: the alert */
	/* --ack: the open list is asked for the alert before the ack, so an
	 * alert that is not open for us is said so, and after it. */
	bool ack_one, ack_sent, ack_listed;
	/* --ack: the alert was still open after the ack, which is sent
	 * again (and the list read again) at resend_at; ack_tries so far. */
	int64_t resend_at;
	/* Live: the hub had no session for us (its table full): Hello is
	 * said again at hello_at, the wait doubling up to HELLO_BACKOFF_MAX
	 * so that many refused clients do not keep a full hub busy. */
	int64_t hello_at, hello_wait;
	int handshake_failures; /* NO_DETAIL in a row */
	/* Live: this connection's session was welcomed (a repeated Hello's
	 * Welcome prints nothing); the key was refused on it (exit 3). */
	bool welcomed, revoked;
	/* Live: a session was welcomed once in this run (a refusal after
	 * that is of an AlertAck, not of the caseworker); the first Hello
	 * was refused by a Result (exit 1). */
	bool ever_welcomed, hello_refused;
	int ack_tries;
	uint32_t list_offset;
	/* --list, --timeline: entries printed so far; the hub answers a
	 * page at a time and inbox asks for the next until the last. */
	size_t shown;
	/* --list, --timeline: a page the hub could not answer now (its
	 * query_burst spent by the pages before: a long list is more pages
	 * than the burst) is asked again at page_at, page_wait later each
	 * time, until --timeout; refused_why is the last such refusal. */
	int64_t page_at, page_wait;
	char refused_why[256];
} inbox;

static void
json_string(const char *text)
{
	putchar('"');
	for (const unsigned char *p =
		 (const unsigned char *)(text ? text : "");
	     *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p == '\n')
			printf("\\n");
		else if (*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

static const char *
priority_name(int priority)
{
	switch (priority) {
	case UNGEBRO__V1__PRIORITY__LOW:
		return "LOW";
	case UNGEBRO__V1__PRIORITY__NORMAL:
		return "NORMAL";
	case UNGEBRO__V1__PRIORITY__HIGH:
		return "HIGH";
	case UNGEBRO__V1__PRIORITY__URGENT:
		return "URGENT";
	default:
		return "UNSPECIFIED";
	}
}

static void
print_json(const wire_alert *a)
{
	char hex[2 * 64 + 1];
	ug_hex(a->alert_id.data, a->alert_id.len > 64 ? 64 : a->alert_id.len,
	       hex);
	printf("{\"alert_id\": \"%s\", \"rule\": ", hex);
	json_string(a->rule);
	printf(", \"priority\": \"%s\", \"cpr\": ",
	       priority_name(a->priority));
	json_string(a->cpr);
	printf(", \"recipient\": ");
	json_string(a->recipient);
	printf(", \"raised_at\": %lld, \"title\": ", (long long)a->raised_at);
	json_string(a->title);
	printf(", \"explanation\": ");
	json_string(a->explanation);
	printf(", \"due\": ");
	json_string(a->due);
	printf(", \"delivery\": %u, \"evidence\": [", a->delivery);
	for (size_t i = 0; i < a->n_evidence; i++) {
		const Ungebro__V1__Evidence *e = a->evidence[i];
		ug_hex(e->event_id.data,
		       e->event_id.len > 64 ? 64 : e->event_id.len, hex);
		printf("%s{\"event_id\": \"%s\", \"agency\": ", i ? ", " : "",
		       hex);
		json_string(e->agency);
		printf(", \"type\": \"%s\", \"period_start\": ",
		       wire_event_type_name(e->type));
		json_string(e->period_start);
		printf(", \"period_end\": ");
		json_string(e->period_end);
		/* Only an absence report counts lessons; for any other kind
		 * 0 of 0 would read as a report of no absence. */
		if (e->type == UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT)
			printf(", \"lessons_absent\": %u, "
			       "\"lessons_expected\": %u}",
			       e->lessons_absent, e->lessons_expected);
		else
			printf(", \"lessons_absent\": null, "
			       "\"lessons_expected\": null}");
	}
	printf("]}\n");
}

/* Print text wrapped at 72 characters with an indent. Characters, not
 * bytes: an explanation names institutions in Danish, and a cut inside
 * a multi-byte character would print text that is not UTF-8. */
#define WRAP_CHARS 72
static void
print_wrapped(const char *text, const char *indent)
{
	const char *p = text ? text : "";
	while (*p == ' ')
		p++;
	while (*p) {
		/* cut: the bytes of the line; space: the last blank within it,
		 * where a line of words breaks. */
		size_t cut = 0, space = 0;
		int chars = 0;
		while (p[cut] && chars < WRAP_CHARS) {
			cut++;
			while (((unsigned char)p[cut] & 0xC0) == 0x80)
				cut++;
			chars++;
		}
		if (p[cut] == ' ' || !p[cut])
			space = cut;
		else
			for (size_t i = cut; i > 0 && !space; i--)
				if (p[i] == ' ')
					space = i;
		if (space)
			cut = space;
		/* No line ends in blanks ("moved  away" broken between). */
		while (cut > 1 && p[cut - 1] == ' ')
			cut--;
		printf("%s%.*s\n", indent, (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

/* One evidence line: the period and figures of an absence report, the
 * kind and day of any other event (the web page's "what" and "when"),
 * the agency last. */
static void
print_evidence(const Ungebro__V1__Evidence *e)
{
	const char *start =
	    e->period_start && e->period_start[0] ? e->period_start : "-";
	char when[2 * 16 + 3];
	if (e->period_end && e->period_end[0] &&
	    strcmp(e->period_end, start) != 0)
		snprintf(when, sizeof when, "%.16s..%.16s", start,
			 e->period_end);
	else
		snprintf(when, sizeof when, "%.16s", start);
	if (e->type == UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT)
		printf("      %-22s  %3u of %3u lessons absent  (%s)\n", when,
		       e->lessons_absent, e->lessons_expected, e->agency);
	else
		printf("      %-22s  %s  (%s)\n", when,
		       wire_event_type_label(e->type), e->agency);
}

static void
print_human(const wire_alert *a)
{
	char hex[2 * 64 + 1];
	ug_hex(a->alert_id.data, a->alert_id.len > 64 ? 64 : a->alert_id.len,
	       hex);
	char cpr[12] = "";
	if (a->cpr && strlen(a->cpr) == 10)
		snprintf(cpr, sizeof cpr, "%.6s-%.4s", a->cpr, a->cpr + 6);
	printf("=== %s alert %s  (%s)%s\n", priority_name(a->priority), hex,
	       a->rule, a->delivery > 1 ? "  [delivered again]" : "");
	/* An operational alert or a health alert's escalation notice has no
	 * person, a notice no due day: a line left blank would look like
	 * data lost on the way. */
	if (cpr[0])
		printf("    person   %s\n", cpr);
	if (a->due && a->due[0])
		printf("    for      %s, act by %s\n", a->recipient, a->due);
	else
		printf("    for      %s\n", a->recipient);
	printf("    %s\n", a->title);
	print_wrapped(a->explanation, "      ");
	if (a->n_evidence)
		printf("    evidence:\n");
	for (size_t i = 0; i < a->n_evidence; i++)
		print_evidence(a->evidence[i]);
	printf("\n");
}

static bool
send_msg(inbox *ib, int kind, const void *msg)
{
	uint8_t buf[4096];
	size_t len = wire_encode(kind, msg, buf, sizeof buf);
	return len > 0 && zmq_send(ib->sock, buf, len, 0) >= 0;
}

/* Bytes of a --note, --how or --date a frame carries. The hub keeps
 * only the first 200 bytes of an acknowledgement's note (cut at a
 * character boundary, CPR digits masked), and a longer note is to be cut,
 * not refused (OPERATIONS.md); an action's longer --how or --note is the
 * hub's to refuse, with its reason (exit 1). Sent whole, a value of some
 * kilobytes made the frame too large to encode: the alert was never
 * acknowledged, the action never answered. Well above the hub's limits,
 * so that the hub still does the cutting, the masking and the refusing. */
#define SENT_TEXT_MAX 1024

/* value as it is sent, in buf when it had to be cut. A value that is not
 * valid UTF-8 stays invalid, so that the hub treats it as the whole. */
static char *
sent_text(const char *value, char buf[static SENT_TEXT_MAX + 1])
{
	size_t len = strlen(value);
	if (len <= SENT_TEXT_MAX)
		return (char *)value;
	size_t cut = SENT_TEXT_MAX;
	bool valid = ug_utf8_valid(value, len);
	if (valid)
		while (cut > 0 && ((unsigned char)value[cut] & 0xC0) == 0x80)
			cut--;
	memcpy(buf, value, cut);
	buf[cut] = '\0';
	if (!valid && cut > 0 && ug_utf8_valid(buf, cut))
		buf[cut - 1] = (char)0xFF;
	return buf;
}

static void
send_hello(inbox *ib)
{
	wire_hello hello = UNGEBRO__V1__HELLO__INIT;
	hello.client = "ungebro-inbox/1";
	/* The hub sends only `window` alerts not yet acknowledged; without
	 * acknowledging, 32 would hide the rest of a longer list, so ask
	 * for the most the hub allows. */
	hello.window = ib->ack ? 32 : 256;
	if (!send_msg(ib, UNGEBRO__V1__FRAME_KIND__FRAME_HELLO, &hello))
		ug_eprintf("inbox: cannot send hello: %s\n",
			   zmq_strerror(errno));
}

/* Handshakes the hub closed in a row (NO_DETAIL) before inbox gives up:
 * one alone can be a hub going down mid-handshake; again and again, the
 * hub cannot read ours: hub.key is not its key (docs/PROTOCOL.md §1). */
#define HANDSHAKE_FAILURES_MAX 3

/* The handshake failed for good: say why and give the exit status. */
static int
refused(int why)
{
	if (why == -2)
		ug_eprintf("inbox: the CURVE handshake with the hub failed %d "
			   "times: keys_dir/hub.key is not the hub's public "
			   "key (or --delivery is not the hub's delivery "
			   "endpoint)\n",
			   HANDSHAKE_FAILURES_MAX);
	else
		ug_eprintf("inbox: the hub refused this caseworker's key: "
			   "register it with hubctl register-caseworker\n");
	return EXIT_REFUSED;
}

/* Returns -1 when the key was refused, -2 when the hub could not open
 * our handshakes (HANDSHAKE_FAILURES_MAX in a row), 1 after a
 * (re)connect, else 0. */
static int
read_monitor(inbox *ib)
{
	zmq_msg_t event, endpoint;
	zmq_msg_init(&event);
	zmq_msg_init(&endpoint);
	int rc = 0;
	if (zmq_msg_recv(&event, ib->monitor, 0) >= 0 &&
	    zmq_msg_size(&event) >= 6) {
		uint16_t id;
		memcpy(&id, zmq_msg_data(&event), 2);
		if (zmq_msg_more(&event))
			zmq_msg_recv(&endpoint, ib->monitor, 0);
		if (id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
			ib->handshake_failures = 0;
			rc = 1;
		} else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
			rc = -1;
		} else if (id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
			   id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
			if (++ib->handshake_failures >= HANDSHAKE_FAILURES_MAX)
				rc = -2;
		}
	}
	zmq_msg_close(&event);
	zmq_msg_close(&endpoint);
	return rc;
}

/* Returns false for a frame that is not news: the Welcome answering a
 * repeated Hello, which must not keep --idle_exit from ending the run. */
static bool
handle_frame(inbox *ib, const uint8_t *data, size_t len)
{
	int kind, code;
	void *msg;
	ug_diag diag = {0};
	bool news = true;
	if (wire_decode(data, len, &kind, &msg, &code, &diag) != UG_OK) {
		ug_eprintf("inbox: frame from the hub refused: %s\n",
			   diag.reason);
		return true;
	}
	if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_RESULT) {
		/* Live, only a refused Hello or AlertAck is answered. */
		const wire_result *r = msg;
		if (r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED) {
			ug_eprintf("inbox: the hub refused this caseworker's "
				   "key: %s\n",
				   r->reason ? r->reason : "?");
			ib->revoked = true;
		} else if (r->code != UNGEBRO__V1__ERROR_CODE__OK &&
			   !ib->ever_welcomed) {
			/* Only our Hello was sent: it will be refused again
			 * on every try (a web gateway's key), so waiting
			 * would only hide the refusal. */
			ug_eprintf("inbox: the hub refused: %s\n",
				   r->reason ? r->reason : "?");
			ib->hello_refused = true;
		} else if (r->code != UNGEBRO__V1__ERROR_CODE__OK) {
			ug_eprintf("inbox: the hub refused a frame: %s\n",
				   r->reason ? r->reason : "?");
		}
	} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_WELCOME) {
		const wire_welcome *w = msg;
		if (w->code != UNGEBRO__V1__ERROR_CODE__OK) {
			/* No session: nothing will be pushed on this
			 * connection until a later Hello finds room. */
			ib->hello_wait = ib->hello_wait ? 2 * ib->hello_wait
							: HELLO_BACKOFF_MIN;
			if (ib->hello_wait > HELLO_BACKOFF_MAX)
				ib->hello_wait = HELLO_BACKOFF_MAX;
			ib->hello_at = ug_mono_ms() + ib->hello_wait;
			ug_eprintf("inbox: the hub refused: %s; saying Hello "
				   "again in %lld s\n",
				   w->reason && w->reason[0] ? w->reason : "?",
				   (long long)(ib->hello_wait / 1000));
		} else {
			ib->hello_at = ug_mono_ms() + HELLO_EVERY_MS;
			ib->hello_wait = 0;
			news = !ib->welcomed;
			/* Flushed at once: on a pipe or into a log, whoever
			 * waits for it must not wait for the first alert. */
			if (!ib->json && !ib->welcomed) {
				printf("connected as %s: %u open alerts\n\n",
				       w->caseworker, w->open_alerts);
				fflush(stdout);
			}
			ib->welcomed = true;
			ib->ever_welcomed = true;
		}
	} else if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_ALERT) {
		const wire_alert *a = msg;
		if (ib->json)
			print_json(a);
		else
			print_human(a);
		if (!stdout_ok() || !stdout_durable()) {
			ib->unshown++;
			wire_free(kind, msg);
			return news;
		}
		ib->received++;
		if (ib->ack) {
			wire_alert_ack ack = UNGEBRO__V1__ALERT_ACK__INIT;
			char note[SENT_TEXT_MAX + 1];
			ack.alert_id = a->alert_id;
			ack.note =
			    sent_text(ug_config_get(ib->cfg, "note"), note);
			if (!send_msg(ib,
				      UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK,
				      &ack))
				ug_eprintf("inbox: ack not sent; the alert "
					   "will come again\n");
		}
	}
	wire_free(kind, msg);
	return news;
}

static int
run(inbox *ib)
{
	int64_t last_activity = ug_mono_ms();
	zmq_pollitem_t items[] = {{ib->sock, 0, ZMQ_POLLIN, 0},
				  {ib->monitor, 0, ZMQ_POLLIN, 0}};
	while (!interrupted) {
		if (ib->max && ib->received >= ib->max)
			return 0;
		if (stdout_errno)
			return 1;
		/* No alert can come before the hub answers: on a busy machine
		 * the handshake alone may outlast a short idle_exit, so the
		 * wait for the first frame is at least --timeout. */
		long idle = ib->idle_exit;
		if (!ib->heard && idle < ib->timeout)
			idle = ib->timeout;
		/* A hub that answered every Hello without a session (its
		 * table full) refused the run: that is no "done". */
		if (ib->idle_exit &&
		    ug_mono_ms() - last_activity > idle * 1000)
			return ib->heard && !ib->ever_welcomed ? 1 : 0;
		if (zmq_poll(items, 2, 100) < 0 && errno != EINTR)
			return 1;
		if (ib->hello_at && ug_mono_ms() >= ib->hello_at) {
			ib->hello_at = 0;
			send_hello(ib);
		}
		if (items[1].revents & ZMQ_POLLIN) {
			int m = read_monitor(ib);
			if (m < 0)
				return refused(m);
			if (m > 0) {
				/* A new connection: its own Hello now. */
				ib->hello_at = ib->hello_wait = 0;
				ib->welcomed = false;
				send_hello(ib);
			}
		}
		while (items[0].revents & ZMQ_POLLIN) {
			zmq_msg_t frame;
			zmq_msg_init(&frame);
			if (zmq_msg_recv(&frame, ib->sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&frame);
				break;
			}
			if (handle_frame(ib, zmq_msg_data(&frame),
					 zmq_msg_size(&frame)))
				last_activity = ug_mono_ms();
			zmq_msg_close(&frame);
			ib->heard = true;
			if (ib->revoked)
				return EXIT_REFUSED;
			if (ib->hello_refused)
				return 1;
			if (ib->max && ib->received >= ib->max)
				break;
		}
	}
	return 0;
}

/* ---- one-shot commands ---- */

static void
print_list(const inbox *ib, const wire_result *r)
{
	for (size_t i = 0; i < r->n_alerts; i++) {
		const wire_alert *a = r->alerts[i];
		if (ib->json) {
			print_json(a);
			continue;
		}
		char hex[2 * WIRE_ALERT_ID_LEN + 1] = "";
		if (a->alert_id.len == WIRE_ALERT_ID_LEN)
			ug_hex(a->alert_id.data, WIRE_ALERT_ID_LEN, hex);
		char raised[11];
		ug_date_format((int32_t)(a->raised_at / UG_DAY_MS), raised);
		/* "-" for no due day (a notice, an operational alert), as
		 * for no person: blanks would shift the columns after it. */
		printf("%-7s %s  %s  due %-10s  %-12s %.6s-%.4s  %s\n",
		       priority_name(a->priority), hex, raised,
		       a->due && a->due[0] ? a->due : "-", a->recipient,
		       a->cpr, strlen(a->cpr) == 10 ? a->cpr + 6 : "",
		       a->title);
	}
}

static void
print_timeline(const inbox *ib, const wire_result *r)
{
	for (size_t i = 0; i < r->n_timeline; i++) {
		const Ungebro__V1__TimelineEntry *e = r->timeline[i];
		char hex[2 * 16 + 1] = "";
		const ProtobufCBinaryData *id =
		    e->is_alert ? &e->alert_id : &e->event_id;
		if (id->len <= 16)
			ug_hex(id->data, id->len, hex);
		if (ib->json) {
			printf("{\"date\": ");
			json_string(e->date);
			printf(", \"kind\": \"%s\", \"id\": \"%s\", "
			       "\"summary\": ",
			       e->is_alert ? "alert" : "event", hex);
			json_string(e->summary);
			if (e->is_alert) {
				printf(", \"rule\": ");
				json_string(e->rule);
				printf(", \"open\": %s",
				       e->open ? "true" : "false");
			} else {
				printf(", \"type\": \"%s\", \"agency\": ",
				       wire_event_type_name(e->type));
				json_string(e->agency);
				printf(", \"superseded\": %s",
				       e->superseded ? "true" : "false");
			}
			printf("}\n");
		} else {
			printf("%s  %-5s %s%s%s\n", e->date,
			       e->is_alert ? "ALERT" : "event", e->summary,
			       e->is_alert && e->open ? "  [open]" : "",
			       e->is_alert ? "" : "");
		}
	}
}

static void
print_count(const inbox *ib, int command, bool partial)
{
	if (!ib->json)
		printf("%zu %s%s\n", ib->shown,
		       command == 't' ? "entries" : "open alerts",
		       partial ? " (more not shown)" : "");
}

static bool
send_query(inbox *ib, int kind, const char *cpr, uint32_t offset)
{
	wire_query q = UNGEBRO__V1__QUERY__INIT;
	q.request_id = 1;
	q.kind = kind;
	q.cpr = (char *)(cpr ? cpr : "");
	q.offset = offset;
	/* The largest pages the hub gives (docs/PROTOCOL.md): fewer
	 * round trips, and fewer queries against the caseworker's rate. */
	q.limit = kind == UNGEBRO__V1__QUERY_KIND__TIMELINE ? 400 : 50;
	/* --ack asks for its alert alone: the others are not read, nor
	 * recorded as shown to the caseworker. */
	if (ib->ack_one && kind == UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS) {
		q.alert_id.data = ib->acked_id;
		q.alert_id.len = WIRE_ALERT_ID_LEN;
	}
	return send_msg(ib, UNGEBRO__V1__FRAME_KIND__FRAME_QUERY, &q);
}

static void
send_ack(inbox *ib)
{
	wire_alert_ack ack = UNGEBRO__V1__ALERT_ACK__INIT;
	ack.alert_id.data = ib->acked_id;
	ack.alert_id.len = WIRE_ALERT_ID_LEN;
	char note[SENT_TEXT_MAX + 1];
	ack.note = sent_text(ug_config_get(ib->cfg, "note"), note);
	send_msg(ib, UNGEBRO__V1__FRAME_KIND__FRAME_ALERT_ACK, &ack);
}

/* --ack, the open list asked for the alert: -1 while more is to come. The
 * hub answers no AlertAck, and one for an alert that is not open for the
 * caseworker changes nothing: only the list before and after tells. */
static int
on_ack_page(inbox *ib, const wire_result *r)
{
	for (size_t i = 0; i < r->n_alerts; i++)
		if (r->alerts[i]->alert_id.len == WIRE_ALERT_ID_LEN &&
		    memcmp(r->alerts[i]->alert_id.data, ib->acked_id,
			   WIRE_ALERT_ID_LEN) == 0)
			ib->ack_listed = true;
	if (r->truncated && r->n_alerts) {
		ib->list_offset += (uint32_t)r->n_alerts;
		send_query(ib, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS, NULL,
			   ib->list_offset);
		return -1;
	}
	char hexid[2 * WIRE_ALERT_ID_LEN + 1];
	ug_hex(ib->acked_id, WIRE_ALERT_ID_LEN, hexid);
	if (!ib->ack_sent) {
		if (!ib->ack_listed) {
			ug_eprintf(
			    "inbox: alert %s is not open for %s "
			    "(unknown, another caseworker's, or acknowledged "
			    "already); nothing sent\n",
			    hexid, ug_config_get(ib->cfg, "caseworker"));
			return 4;
		}
		/* Frames on one connection are handled in order: the list
		 * asked after the ack is answered after it was stored. */
		send_ack(ib);
		ib->ack_sent = true;
		ib->ack_listed = false;
		ib->list_offset = 0;
		send_query(ib, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS, NULL, 0);
		return -1;
	}
	ib->ack_tries++;
	if (ib->ack_listed) {
		/* It was open for us before the ack, so the hub has not
		 * stored it: its store cannot take it now, and an ack it
		 * could not keep is not answered on this connection. */
		ib->resend_at = ug_mono_ms() + RESEND_MS;
		return -1;
	}
	printf("acknowledged\n");
	return 0;
}

static int
send_action(inbox *ib, int command)
{
	wire_action a = UNGEBRO__V1__ACTION__INIT;
	a.request_id = 1;
	a.alert_id.data = ib->acked_id;
	a.alert_id.len = WIRE_ALERT_ID_LEN;
	a.kind = command == 'c'	  ? UNGEBRO__V1__ACTION_KIND__CONTACT_MADE
		 : command == 'o' ? UNGEBRO__V1__ACTION_KIND__OFFER_MADE
				  : UNGEBRO__V1__ACTION_KIND__COULD_NOT_REACH;
	char date[SENT_TEXT_MAX + 1], how[SENT_TEXT_MAX + 1],
	    note[SENT_TEXT_MAX + 1];
	a.date = sent_text(ug_config_get(ib->cfg, "date"), date);
	a.how = sent_text(ug_config_get(ib->cfg, "how"), how);
	a.note = sent_text(ug_config_get(ib->cfg, "note"), note);
	return send_msg(ib, UNGEBRO__V1__FRAME_KIND__FRAME_ACTION, &a);
}

/* Returns the exit code once the Result is in (or the wait is over). */
static int
on_result(inbox *ib, const wire_result *r, int command)
{
	if (r->code == UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE &&
	    (command == 'l' || command == 't')) {
		ug_strlcpy(ib->refused_why, r->reason ? r->reason : "?",
			   sizeof ib->refused_why);
		ib->page_wait =
		    ib->page_wait ? 2 * ib->page_wait : PAGE_WAIT_MIN;
		if (ib->page_wait > PAGE_WAIT_MAX)
			ib->page_wait = PAGE_WAIT_MAX;
		ib->page_at = ug_mono_ms() + ib->page_wait;
		return -1;
	}
	ib->refused_why[0] = '\0';
	ib->page_wait = 0;
	if (r->code != UNGEBRO__V1__ERROR_CODE__OK) {
		/* A later page refused: what was printed stands, and the
		 * count says the list is not whole. */
		if ((command == 'l' || command == 't') && ib->list_offset)
			print_count(ib, command, true);
		ug_eprintf("inbox: the hub refused: %s\n",
			   r->reason ? r->reason : "?");
		return r->code == UNGEBRO__V1__ERROR_CODE__E_DENIED ? 4 : 1;
	}
	if (command == 'c' || command == 'o' || command == 'u') {
		printf("recorded\n");
		return 0;
	}
	if (command != 'l' && command != 't')
		return on_ack_page(ib, r);
	size_t n = command == 'l' ? r->n_alerts : r->n_timeline;
	if (command == 'l')
		print_list(ib, r);
	else
		print_timeline(ib, r);
	ib->shown += n;
	if (r->truncated && n) {
		ib->list_offset += (uint32_t)n;
		send_query(
		    ib,
		    command == 't' ? UNGEBRO__V1__QUERY_KIND__TIMELINE
				   : UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS,
		    ug_config_get(ib->cfg, "timeline"), ib->list_offset);
		return -1;
	}
	/* Past the entries the hub orders per query it lists no more: an
	 * empty page after a truncated one means more were left out, and a
	 * count alone would read as the whole list. */
	bool capped = n == 0 && ib->list_offset && ib->shown >= HUB_ORDERS_MAX;
	print_count(ib, command, capped);
	if (capped)
		ug_eprintf("inbox: the hub orders at most 5,000 %s per query: "
			   "the rest are not shown%s\n",
			   command == 't' ? "entries of a timeline"
					  : "open alerts",
			   command == 't' ? " (the events it stored last)"
					  : "; acknowledge some to see them");
	return 0;
}

static int
one_shot(inbox *ib, int command)
{
	int64_t deadline = ug_mono_ms();
	long timeout = 10;
	ug_config_int(ib->cfg, "timeout", 1, 3600, &timeout, NULL);
	deadline += timeout * 1000;
	zmq_pollitem_t items[] = {{ib->sock, 0, ZMQ_POLLIN, 0},
				  {ib->monitor, 0, ZMQ_POLLIN, 0}};
	bool asked = false;
	while (!interrupted && ug_mono_ms() < deadline) {
		if (zmq_poll(items, 2, 100) < 0 && errno != EINTR)
			return 1;
		if (ib->page_at && ug_mono_ms() >= ib->page_at) {
			ib->page_at = 0;
			send_query(ib,
				   command == 't'
				       ? UNGEBRO__V1__QUERY_KIND__TIMELINE
				       : UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS,
				   ug_config_get(ib->cfg, "timeline"),
				   ib->list_offset);
		}
		if (ib->resend_at && ug_mono_ms() >= ib->resend_at) {
			ib->resend_at = 0;
			send_ack(ib);
			ib->ack_listed = false;
			ib->list_offset = 0;
			send_query(ib, UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS,
				   NULL, 0);
		}
		if ((items[1].revents & ZMQ_POLLIN)) {
			int m = read_monitor(ib);
			if (m < 0)
				return refused(m);
			if (m > 0 && !asked) {
				asked = true;
				if (command == 'c' || command == 'o' ||
				    command == 'u') {
					send_action(ib, command);
					continue;
				}
				send_query(
				    ib,
				    command == 't'
					? UNGEBRO__V1__QUERY_KIND__TIMELINE
					: UNGEBRO__V1__QUERY_KIND__OPEN_ALERTS,
				    ug_config_get(ib->cfg, "timeline"), 0);
			}
		}
		if (!(items[0].revents & ZMQ_POLLIN))
			continue;
		zmq_msg_t frame;
		zmq_msg_init(&frame);
		if (zmq_msg_recv(&frame, ib->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&frame);
			continue;
		}
		int kind, code, rc = -1;
		void *msg;
		if (wire_decode(zmq_msg_data(&frame), zmq_msg_size(&frame),
				&kind, &msg, &code, NULL) == UG_OK) {
			if (kind == UNGEBRO__V1__FRAME_KIND__FRAME_RESULT)
				rc = on_result(ib, msg, command);
			wire_free(kind, msg);
		}
		zmq_msg_close(&frame);
		if (rc >= 0)
			return rc;
	}
	/* What was sent may still take effect when the hub gets to it,
	 * whether Ctrl-C or --timeout ended the wait: the caseworker must
	 * know, or a "no answer" reads as "nothing happened". */
	const char *sent =
	    command == 'a' && ib->ack_sent
		? "; the acknowledgement was sent: run --ack again "
		  "(exit 4 \"not open\" then means it was stored)"
	    : asked && (command == 'c' || command == 'o' || command == 'u')
		? "; the action may have been recorded: send it "
		  "again (it is stored once)"
		: "";
	/* Ctrl-C (or SIGTERM) is not the hub failing to answer. */
	if (interrupted) {
		if ((command == 'l' || command == 't') && ib->list_offset)
			print_count(ib, command, true);
		ug_eprintf("inbox: interrupted before the hub answered%s\n",
			   sent);
		return 1;
	}
	if (ib->ack_tries) {
		ug_eprintf("inbox: the alert is still open after %d "
			   "tries in %ld s: the hub has not stored the "
			   "acknowledgement (it cannot store it now); send it "
			   "again later\n",
			   ib->ack_tries, timeout);
		return 1;
	}
	/* A later page unanswered: as for one refused, what was printed
	 * stands and the count says the list is not whole. */
	if ((command == 'l' || command == 't') && ib->list_offset)
		print_count(ib, command, true);
	if (ib->refused_why[0]) {
		ug_eprintf("inbox: the hub refused: %s\n", ib->refused_why);
		return 1;
	}
	ug_eprintf("inbox: no answer from the hub within %ld s%s\n", timeout,
		   sent);
	return 2;
}

static int
connect_hub(inbox *ib, const ug_keys *keys, const char *hub_public)
{
	int zero = 0, linger = 1000;
	/* Without ZMQ_IPV6 libzmq resolves IPv4 only and never connects to
	 * a `[IPv6]` delivery endpoint, without an error; only for such an
	 * address, as the adapters do, so that a name keeps going to IPv4. */
	int ipv6 =
	    strncmp(ug_config_get(ib->cfg, "delivery"), "tcp://[", 7) == 0;
	ib->zmq = zmq_ctx_new();
	ib->sock = zmq_socket(ib->zmq, ZMQ_DEALER);
	if (!ib->sock ||
	    zmq_setsockopt(ib->sock, ZMQ_IPV6, &ipv6, sizeof ipv6) ||
	    zmq_setsockopt(ib->sock, ZMQ_CURVE_SERVERKEY, hub_public, 40) ||
	    zmq_setsockopt(ib->sock, ZMQ_CURVE_PUBLICKEY, keys->public_z85,
			   40) ||
	    zmq_setsockopt(ib->sock, ZMQ_CURVE_SECRETKEY, keys->secret_z85,
			   40) ||
	    zmq_setsockopt(ib->sock, ZMQ_LINGER, &linger, sizeof linger) ||
	    zmq_setsockopt(ib->sock, ZMQ_IMMEDIATE, &zero, sizeof zero) ||
	    zmq_socket_monitor(ib->sock, "inproc://inbox-monitor",
			       ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
				   ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
				   ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
				   ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
		return -1;
	ib->monitor = zmq_socket(ib->zmq, ZMQ_PAIR);
	if (!ib->monitor ||
	    zmq_connect(ib->monitor, "inproc://inbox-monitor") != 0 ||
	    zmq_connect(ib->sock, ug_config_get(ib->cfg, "delivery")) != 0)
		return -1;
	return 0;
}

/* The commands, one at a time, and the options each takes beyond the
 * connection's (caseworker, keys_dir, delivery): an option typed for
 * another command would otherwise be dropped without a word, and the
 * caseworker believe a note or a date was sent. */
static const struct {
	const char *command; /* the option that selects it; "" = live */
	const char *options; /* each ended by ',' */
} commands[] = {
    {"list", "json,timeout,"},
    {"timeline", "json,timeout,"},
    {"ack", "note,timeout,"},
    {"contact", "how,date,note,timeout,"},
    {"offer", "how,date,note,timeout,"},
    {"unreachable", "how,date,note,timeout,"},
    {"", "json,no_ack,max,idle_exit,note,timeout,"},
};

/* "--ack ''" is a command with a bad id, not the live mode. */
static bool
selected(const ug_config *cfg, const char *command)
{
	if (strcmp(command, "list") == 0)
		return ug_config_bool(cfg, "list");
	return ug_config_get(cfg, command)[0] || ug_config_given(cfg, command);
}

/* Exit 2 before anything is read or sent: a stray word, two commands,
 * an option of another command, a --timeout out of range. */
static bool
usage_ok(const ug_config *cfg, char **rest, int nrest, int *command)
{
	static const char *const optional[] = {"json",	    "no_ack", "max",
					       "idle_exit", "note",   "how",
					       "date",	    "timeout"};
	size_t n = sizeof commands / sizeof *commands, chosen = n - 1;
	ug_diag diag = {0};
	long timeout;
	if (nrest > 0) {
		if (!ug_config_stray_word(cfg, "inbox", 0))
			ug_eprintf("inbox: unexpected argument '%s' (see "
				   "--help)\n",
				   rest[0]);
		return false;
	}
	/* The id names the key file: one hubctl could not have registered
	 * would at best fail later, at worst read a key outside keys_dir. */
	if (!ug_id_valid(ug_config_get(cfg, "caseworker"))) {
		char shown[UG_ID_SHOWN_MAX];
		ug_eprintf(
		    "inbox: %scaseworker '%s' is not a valid id " UG_ID_RULE
		    "\n",
		    ug_config_where(cfg, "caseworker"),
		    ug_id_shown(ug_config_get(cfg, "caseworker"), shown,
				sizeof shown));
		return false;
	}
	if (strcmp(ug_config_get(cfg, "caseworker"), "hub") == 0) {
		ug_eprintf("inbox: %scaseworker " UG_ID_HUB_OWN
			   ": give the caseworker's own id\n",
			   ug_config_where(cfg, "caseworker"));
		return false;
	}
	for (size_t i = 0; i + 1 < n; i++) {
		if (!selected(cfg, commands[i].command))
			continue;
		if (chosen != n - 1) {
			ug_eprintf("inbox: --%s and --%s: one command at "
				   "a time (see --help)\n",
				   commands[chosen].command,
				   commands[i].command);
			return false;
		}
		chosen = i;
	}
	for (size_t i = 0; i < sizeof optional / sizeof *optional; i++) {
		char key[32];
		snprintf(key, sizeof key, "%s,", optional[i]);
		const char *at = strstr(commands[chosen].options, key);
		if (!ug_config_given(cfg, optional[i]) ||
		    (at && (at == commands[chosen].options || at[-1] == ',')))
			continue;
		if (chosen == n - 1)
			ug_eprintf("inbox: --%s does not apply to the "
				   "live mode (see --help)\n",
				   optional[i]);
		else
			ug_eprintf("inbox: --%s does not apply to --%s "
				   "(see --help)\n",
				   optional[i], commands[chosen].command);
		return false;
	}
	if (ug_config_int(cfg, "timeout", 1, 3600, &timeout, &diag) != UG_OK) {
		ug_eprintf("inbox: %s\n", diag.reason);
		return false;
	}
	/* --unreachable is 'u', --contact 'c', ...; live 0. */
	*command = commands[chosen].command[0];
	return true;
}

int
main(int argc, char **argv)
{
	ug_hold_std_streams();
	ug_diag nodump = {0};
	if (ug_forbid_core_dumps(&nodump) != UG_OK) {
		ug_eprintf("inbox: %s\n", nodump.reason);
		return 1;
	}
	ug_log_init("inbox", UG_LOG_WARN);
	ug_config *cfg = NULL;
	char **rest;
	int nrest;
	bool help;
	ug_diag diag = {0};
	if (ug_crypto_init() != UG_OK)
		return 1;
	if (ug_config_load(&cfg, settings, usage, argc, argv, &rest, &nrest,
			   &help, &diag) != UG_OK) {
		ug_eprintf("inbox: %s\n", diag.reason);
		return 2;
	}
	if (help) {
		ug_config_destroy(&cfg);
		return 0;
	}
	inbox ib = {.cfg = cfg,
		    .json = ug_config_bool(cfg, "json"),
		    .ack = !ug_config_bool(cfg, "no_ack"),
		    .timeout = 10};
	ug_config_int(cfg, "timeout", 1, 3600, &ib.timeout, NULL);
	ug_keys *keys = NULL;
	char path[512], hub_id[UG_ID_MAX], hub_public[UG_Z85_KEY_LEN + 1];
	int rc = 1;
	if (ug_config_int(cfg, "max", 0, 1L << 30, &ib.max, &diag) != UG_OK ||
	    ug_config_int(cfg, "idle_exit", 0, 86400, &ib.idle_exit, &diag) !=
		UG_OK) {
		ug_eprintf("inbox: %s\n", diag.reason);
		rc = 2;
		goto out;
	}
	if (!ug_config_get(cfg, "keys_dir")[0]) {
		ug_eprintf("inbox: %skeys_dir must name a directory\n",
			   ug_config_where(cfg, "keys_dir"));
		rc = 2;
		goto out;
	}
	if (ug_config_dir_too_long(cfg, "inbox", "keys_dir")) {
		rc = 2;
		goto out;
	}
	if (!ug_endpoint_valid(ug_config_get(cfg, "delivery"))) {
		ug_eprintf("inbox: %sdelivery '%s' is not an endpoint "
			   "(tcp://HOST:PORT or ipc://PATH)\n",
			   ug_config_where(cfg, "delivery"),
			   ug_config_get(cfg, "delivery"));
		rc = 2;
		goto out;
	}
	int command = 0;
	if (!usage_ok(cfg, rest, nrest, &command)) {
		rc = 2;
		goto out;
	}
	const char *option = command == 'a'   ? "ack"
			     : command == 'c' ? "contact"
			     : command == 'o' ? "offer"
			     : command == 'u' ? "unreachable"
					      : NULL;
	if (option && ug_unhex(ug_config_get(cfg, option), ib.acked_id,
			       WIRE_ALERT_ID_LEN) != UG_OK) {
		ug_eprintf("inbox: %s--%s needs an alert id of %d hex "
			   "digits\n",
			   ug_config_where(cfg, option), option,
			   2 * WIRE_ALERT_ID_LEN);
		rc = 2;
		goto out;
	}
	ib.ack_one = command == 'a';
	/* White space alone says nothing of how (the hub refuses it too):
	 * the timeline would show "contact made by cw-anna: " as if
	 * something had been written. */
	if (option && command != 'a' &&
	    ug_text_unseen(ug_config_get(cfg, "how"))) {
		ug_eprintf("inbox: %s--%s needs --how: %s\n",
			   ug_config_where(cfg, "how"), option,
			   command == 'o' ? "what was offered"
					  : "how (phone, meeting, home visit, "
					    "letter, ...)");
		rc = 2;
		goto out;
	}
	const char *why = NULL;
	char cpr[11];
	if (command == 't' &&
	    ug_cpr_parse(ug_config_get(cfg, "timeline"),
			 strlen(ug_config_get(cfg, "timeline")), cpr,
			 &why) != UG_OK) {
		ug_eprintf("inbox: %s--timeline needs a CPR number "
			   "(DDMMYY-SSSS): %s; nothing sent\n",
			   ug_config_where(cfg, "timeline"), why);
		rc = 2;
		goto out;
	}
	snprintf(path, sizeof path, "%s%s%s.key_secret",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")),
		 ug_config_get(cfg, "caseworker"));
	if (ug_keys_load_secret(&keys, path, &diag) != UG_OK) {
		ug_keys_diag_name(&diag, path);
		ug_eprintf("inbox: %s\n", diag.reason);
		goto out;
	}
	/* The hub knows a caseworker by the key alone: another's key under
	 * this name would list, acknowledge and record in their name. */
	if (strcmp(keys->id, ug_config_get(cfg, "caseworker")) != 0) {
		ug_eprintf(
		    "inbox: %s holds the key of '%s', not of caseworker "
		    "'%s'\n",
		    path, keys->id, ug_config_get(cfg, "caseworker"));
		goto out;
	}
	snprintf(path, sizeof path, "%s%shub.key",
		 ug_config_get(cfg, "keys_dir"),
		 ug_dir_sep(ug_config_get(cfg, "keys_dir")));
	if (ug_keys_load_public(path, hub_id, hub_public, &diag) != UG_OK) {
		ug_eprintf("inbox: %s\n", diag.reason);
		goto out;
	}
	/* A mask blocking them survives exec from whatever started inbox:
	 * a live run would never end. */
	ug_unblock_stop_signals();
	null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct sigaction sa = {.sa_handler = on_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (connect_hub(&ib, keys, hub_public) != 0) {
		ug_eprintf("inbox: cannot connect to %s: %s\n",
			   ug_config_get(cfg, "delivery"),
			   zmq_strerror(errno));
		goto out;
	}
	if (command) {
		rc = one_shot(&ib, command);
	} else {
		rc = run(&ib);
		/* A refused Hello received nothing, nor did a run that never
		 * had a session: a count would read as a run. */
		if (!ib.json && ib.heard && !ib.hello_refused &&
		    ib.ever_welcomed)
			printf("%ld alerts received%s\n", ib.received,
			       ib.ack ? " and acknowledged"
				      : " (not acknowledged)");
	}
	/* Live, a signal that found stdout taking nothing ended the run as
	 * any Ctrl-C does: what it could not show was not acknowledged. A
	 * one-shot command's output was cut short: that is no "done". */
	if (!stdout_ok() && !(stdout_dropped && !command && !stdout_errno)) {
		ug_eprintf("inbox: cannot write standard output: %s%s\n",
			   strerror(stdout_errno ? stdout_errno : EINTR),
			   ib.unshown && ib.ack
			       ? "; the alerts it could not show "
				 "were not acknowledged"
			       : "");
		if (rc == 0)
			rc = 1;
	}
out:
	if (null_fd >= 0) {
		/* No late signal is to dup2 a number reused. */
		int fd = null_fd;
		null_fd = -1;
		close(fd);
	}
	if (ib.monitor)
		zmq_close(ib.monitor);
	if (ib.sock) {
		zmq_socket_monitor(ib.sock, NULL, 0);
		zmq_close(ib.sock);
	}
	if (ib.zmq)
		zmq_ctx_term(ib.zmq);
	ug_keys_destroy(&keys);
	ug_config_destroy(&cfg);
	return rc;
}
