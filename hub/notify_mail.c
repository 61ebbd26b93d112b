/*
 * E-mail notices of new alerts through the local MTA. A notice says only
 * how many new alerts wait and where the web inbox is: never a name, a
 * CPR, a rule or any other fact about a person, because mail leaves the
 * municipality's systems in the clear and sits in mailboxes for years.
 *
 * hubd counts new alerts per recipient in memory (hub__mail_alerted, from
 * apply.c's announce). Once a second (hub__mail_tick) a recipient whose
 * first uncounted alert is mail_delay seconds old, and who was last mailed
 * at least mail_interval minutes ago, gets one notice counting all that
 * arrived since; the address is read from the store (hubctl set-email)
 * only then, and without one the count is dropped (one that cannot be
 * read is a failed notice, below). The notice is piped
 * to `mail_sendmail -t -i`, started with posix_spawn and reaped on later
 * ticks, so hubd's loop never waits for the MTA. A sendmail still running
 * mail_timeout seconds after it was started is killed with its process
 * group: a hung MTA would otherwise hold its notice (and a child slot)
 * forever. A notice that fails (the MTA exits non-zero, is killed, times
 * out, or cannot be run) gives its count back to the
 * recipient, to be tried again once mail_interval has passed: a mail
 * server that is down for an hour costs the caseworker a late notice, not
 * a lost one, and is not hammered once a second. Counts are not kept
 * across a restart: a notice is a nudge, the inbox is the record.
 */
#define _GNU_SOURCE /* posix_spawn_file_actions_addclosefrom_np */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/gateway.h"
#include "hub/hub_int.h"
#include "store/store_password.h"

#define PENDING_MAX  4096 /* recipients with uncounted alerts at once */
#define CHILDREN_MAX 16	  /* sendmail processes not yet reaped */
#define MESSAGE_MAX  2048
/* The link is in a notice twice, beside an address of up to 255 bytes:
 * a longer URL would not fit MESSAGE_MAX and no notice would go out. */
#define BASE_URL_MAX 400
#define STOP_WAIT_MS 5000 /* at a stop, for notices still with the MTA */

extern char **environ;

typedef struct {
	char recipient[STORE_ID_MAX];
	long pending;	   /* new alerts not yet in a notice */
	int64_t first_at;  /* mono ms of the first of them */
	int64_t last_mail; /* mono ms of the last notice; 0: none yet */
} mail_slot;

struct notify_mail {
	char *sendmail, *base_url;
	int64_t interval_ms, delay_ms, timeout_ms;
	mail_slot *slots;
	size_t nslots;
	pid_t children[CHILDREN_MAX];
	char child_of[CHILDREN_MAX][STORE_ID_MAX];
	long child_count[CHILDREN_MAX];	   /* alerts in that notice */
	int64_t child_first[CHILDREN_MAX]; /* first_at of those alerts */
	int64_t child_at[CHILDREN_MAX];	   /* mono ms it was started */
	bool child_killed[CHILDREN_MAX];   /* killed for mail_timeout */
};

ug_err
hub__mail_open(notify_mail **out, const ug_config *cfg, ug_diag *diag)
{
	long interval, delay, timeout;
	ug_err err = ug_config_int(cfg, "mail_interval", 1, 7 * 24 * 60,
				   &interval, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "mail_delay", 0, 24 * 3600, &delay,
				    diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "mail_timeout", 1, 3600, &timeout,
				    diag);
	if (err != UG_OK)
		return err;
	const char *base = ug_config_get(cfg, "mail_base_url");
	if (base[0] && strncmp(base, "https://", 8) != 0 &&
	    strncmp(base, "http://", 7) != 0) {
		ug_diag_set(diag, "mail_base_url",
			    "mail_base_url must start "
			    "with https:// (or http://)");
		return UG_EINVAL;
	}
	if (strlen(base) > BASE_URL_MAX) {
		ug_diag_set(diag, "mail_base_url",
			    "mail_base_url is longer than %d bytes",
			    BASE_URL_MAX);
		return UG_EINVAL;
	}
	/* The C1 controls too (U+0080-U+009F) and a no-break space
	 * (U+00A0), 0xC2 0x80-0xA0 in UTF-8: U+0085 is a line break to some
	 * mail clients, and either would cut the link in two. */
	for (const char *p = base; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f ||
		    ((unsigned char)p[0] == 0xc2 &&
		     (unsigned char)p[1] >= 0x80 &&
		     (unsigned char)p[1] <= 0xa0)) {
			ug_diag_set(diag, "mail_base_url",
				    "mail_base_url must "
				    "not hold spaces or control characters");
			return UG_EINVAL;
		}
	/* Characters RFC 3986 allows in no part of a URL: a link holding
	 * one is cut short or mangled by the mail client that shows it. */
	if (strpbrk(base, "\"<>\\^`{|}")) {
		ug_diag_set(diag, "mail_base_url",
			    "mail_base_url must not hold any of \" < > \\ ^ ` "
			    "{ | } (a URL holds them only encoded)");
		return UG_EINVAL;
	}
	/* The link is BASE/alerts: without a host it leads nowhere
	 * ("https:/alerts"), and after a query or a fragment "/alerts" is
	 * no longer part of the path. */
	const char *host = base[0] ? strstr(base, "//") + 2 : NULL;
	if (host && (*host == '\0' || *host == '/' || *host == '?' ||
		     *host == '#' || strpbrk(base, "?#"))) {
		ug_diag_set(
		    diag, "mail_base_url",
		    "mail_base_url must be "
		    "https://HOST or https://HOST/PATH (or http://), "
		    "without ? or #: the link is mail_base_url/alerts");
		return UG_EINVAL;
	}
	/* posix_spawnp runs the value as one program with "-t -i": words
	 * after a space would be part of its name, never its arguments. */
	const char *sendmail = ug_config_get(cfg, "mail_sendmail");
	bool plain = sendmail[0] != '\0';
	for (const char *p = sendmail; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			plain = false;
	if (!plain) {
		ug_diag_set(
		    diag, "mail_sendmail",
		    "mail_sendmail must be a "
		    "program's path or name alone, without arguments or "
		    "spaces (it is run as mail_sendmail -t -i)");
		return UG_EINVAL;
	}
	notify_mail *m = calloc(1, sizeof *m);
	if (!m)
		return UG_ENOMEM;
	m->sendmail = strdup(sendmail);
	m->base_url = strdup(base);
	m->slots = calloc(PENDING_MAX, sizeof *m->slots);
	if (!m->sendmail || !m->base_url || !m->slots) {
		hub__mail_close(&m);
		return UG_ENOMEM;
	}
	/* The link is BASE/alerts whether or not BASE ends in a slash. */
	size_t n = strlen(m->base_url);
	while (n > 0 && m->base_url[n - 1] == '/')
		m->base_url[--n] = '\0';
	m->interval_ms = interval * 60000;
	m->delay_ms = delay * 1000;
	m->timeout_ms = timeout * 1000;
	*out = m;
	return UG_OK;
}

void
hub__mail_close(notify_mail **mp)
{
	if (!mp || !*mp)
		return;
	notify_mail *m = *mp;
	/* Children left running finish on their own; init reaps them. */
	free(m->sendmail);
	free(m->base_url);
	free(m->slots);
	free(m);
	*mp = NULL;
}

/* The recipient's slot, or a fresh one (pending 0, never mailed); NULL
 * when every slot is taken. */
static mail_slot *
slot_of(notify_mail *m, const char *recipient, int64_t now)
{
	mail_slot *free_slot = NULL;
	for (size_t i = 0; i < m->nslots; i++) {
		mail_slot *s = &m->slots[i];
		if (strcmp(s->recipient, recipient) == 0)
			return s;
		/* A slot past its interval holds nothing worth keeping. */
		if (!free_slot && s->pending == 0 &&
		    (!s->last_mail || now - s->last_mail >= m->interval_ms))
			free_slot = s;
	}
	if (!free_slot && m->nslots < PENDING_MAX)
		free_slot = &m->slots[m->nslots++];
	if (!free_slot) {
		log_warn("HUB-MAIL",
			 "too many recipients waiting for a "
			 "notice; no notice for %s",
			 recipient);
		return NULL;
	}
	ug_strlcpy(free_slot->recipient, recipient,
		   sizeof free_slot->recipient);
	free_slot->pending = 0;
	free_slot->last_mail = 0;
	return free_slot;
}

void
hub__mail_alerted(notify_mail *m, const char *recipient)
{
	if (!m || !m->base_url[0])
		return;
	int64_t now = ug_mono_ms();
	mail_slot *s = slot_of(m, recipient, now);
	if (s && s->pending++ == 0)
		s->first_at = now;
}

/* A notice that did not reach the MTA: its alerts count into the next
 * one, tried mail_interval after this attempt (attempted_at). */
static void
give_back(notify_mail *m, const char *recipient, long count, int64_t first_at,
	  int64_t attempted_at)
{
	mail_slot *s = slot_of(m, recipient, ug_mono_ms());
	if (!s)
		return;
	if (s->pending == 0 || first_at < s->first_at)
		s->first_at = first_at;
	s->pending += count;
	if (attempted_at > s->last_mail)
		s->last_mail = attempted_at;
}

static void
audit_mail(hub *h, const char *recipient, const char *result,
	   const char *detail)
{
	store_audit_entry e = {h->now, "hub", NULL,  "notice-mail",
			       result, NULL,  detail};
	char text[STORE_AUDIT_DETAIL_MAX];
	snprintf(text, sizeof text, "%s: %s", recipient, detail);
	e.detail = text;
	store_audit_queue(h->store, &e);
}

/* The notice: a count and a link, in Danish and English. */
static int
compose(const notify_mail *m, const char *address, long count,
	char out[MESSAGE_MAX])
{
	bool one = count == 1;
	return snprintf(out, MESSAGE_MAX,
			"To: %s\n"
			"Subject: Ungebro: %ld %s / %ld %s\n"
			"MIME-Version: 1.0\n"
			"Content-Type: text/plain; charset=utf-8\n"
			"Content-Transfer-Encoding: 8bit\n"
			"Auto-Submitted: auto-generated\n"
			"\n"
			"Du har %ld %s i Ungebro.\n"
			"Log ind for at se %s: %s/alerts\n"
			"\n"
			"You have %ld %s in Ungebro.\n"
			"Log in to see %s: %s/alerts\n",
			address, count, one ? "ny advarsel" : "nye advarsler",
			count, one ? "new alert" : "new alerts", count,
			one ? "ny advarsel" : "nye advarsler",
			one ? "den" : "dem", m->base_url, count,
			one ? "new alert" : "new alerts", one ? "it" : "them",
			m->base_url);
}

enum spawn_result { SPAWN_STARTED, SPAWN_LATER, SPAWN_FAILED };

/* Start sendmail with the message on its stdin. SPAWN_LATER: no room or
 * no pipe now, the count waits for the next tick; SPAWN_FAILED: the
 * program cannot be run (*why says why). */
static enum spawn_result
spawn_sendmail(notify_mail *m, const char *recipient, long count,
	       int64_t first_at, const char *message, size_t len,
	       const char **why)
{
	size_t slot = 0;
	while (slot < CHILDREN_MAX && m->children[slot])
		slot++;
	if (slot == CHILDREN_MAX)
		return SPAWN_LATER;
	int fds[2];
	if (pipe(fds) != 0) {
		log_warn("HUB-MAIL", "pipe: %s", strerror(errno));
		return SPAWN_LATER;
	}
	/* Neither end leaks into another child hubd starts. */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	/* LMDB leaves the store's data files open across exec: the MTA is
	 * given the message and hubd's log, never a handle on the store. */
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	/* hubd ignores SIGPIPE, and an ignored signal stays ignored across
	 * exec: the MTA gets the default it expects. */
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t dflt, none;
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigemptyset(&none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setsigmask(&attr, &none);
	/* Its own process group: at mail_timeout the MTA is killed with
	 * whatever it started (a relay helper would keep the pipe open). */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF |
					    POSIX_SPAWN_SETSIGMASK |
					    POSIX_SPAWN_SETPGROUP);
	char *argv[] = {m->sendmail, "-t", "-i", NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, m->sendmail, &fa, &attr, argv, environ);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		*why = strerror(rc);
		return SPAWN_FAILED;
	}
	/* A notice is far smaller than a pipe's buffer: this write does not
	 * wait for the MTA. SIGPIPE is ignored by hubd. */
	ssize_t wrote = write(fds[1], message, len);
	close(fds[1]);
	if (wrote != (ssize_t)len)
		log_warn("HUB-MAIL", "notice for %s not handed to %s in full",
			 recipient, m->sendmail);
	m->children[slot] = pid;
	ug_strlcpy(m->child_of[slot], recipient, sizeof m->child_of[slot]);
	m->child_count[slot] = count;
	m->child_first[slot] = first_at;
	m->child_at[slot] = ug_mono_ms();
	m->child_killed[slot] = false;
	return SPAWN_STARTED;
}

/* Reap the sendmail processes that ended; the number still running. */
static size_t
reap(hub *h, notify_mail *m)
{
	size_t running = 0;
	for (size_t i = 0; i < CHILDREN_MAX; i++) {
		if (!m->children[i])
			continue;
		int status = 0;
		pid_t got = waitpid(m->children[i], &status, WNOHANG);
		if (got == 0 && !m->child_killed[i] &&
		    ug_mono_ms() - m->child_at[i] >= m->timeout_ms) {
			/* SIGKILL: an MTA that ignores its input for this long
			 * is not going to honour a polite SIGTERM either. The
			 * group goes too, then the reap on this or a later
			 * tick records the notice as failed. */
			if (kill(-m->children[i], SIGKILL) != 0)
				kill(m->children[i], SIGKILL);
			m->child_killed[i] = true;
			got = waitpid(m->children[i], &status, WNOHANG);
		}
		if (got == 0) {
			running++;
			continue;
		}
		bool ok = got == m->children[i] && !m->child_killed[i] &&
			  WIFEXITED(status) && WEXITSTATUS(status) == 0;
		char why[96];
		if (m->child_killed[i])
			snprintf(why, sizeof why, "timed out after %lld s",
				 (long long)(m->timeout_ms / 1000));
		else if (got != m->children[i])
			snprintf(why, sizeof why, "lost track of it: %s",
				 strerror(errno));
		else if (WIFEXITED(status))
			snprintf(why, sizeof why, "exit status %d",
				 WEXITSTATUS(status));
		else
			snprintf(why, sizeof why, "killed by signal %d",
				 WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		if (ok) {
			log_info("HUB-MAIL", "notice to %s handed to the MTA",
				 m->child_of[i]);
			audit_mail(h, m->child_of[i], "ok", "sent");
		} else {
			log_warn(
			    "HUB-MAIL",
			    "%s failed for the notice to %s (%s); its %ld "
			    "alert(s) count into the next notice, tried "
			    "after mail_interval",
			    m->sendmail, m->child_of[i], why,
			    m->child_count[i]);
			char detail[128];
			snprintf(detail, sizeof detail,
				 m->child_killed[i]
				     ? "the MTA did not finish (%s)"
				     : "the MTA refused it (%s)",
				 why);
			audit_mail(h, m->child_of[i], "failed", detail);
			/* Retried an interval after the attempt, not after
			 * the reap. */
			give_back(m, m->child_of[i], m->child_count[i],
				  m->child_first[i], m->child_at[i]);
		}
		m->children[i] = 0;
	}
	return running;
}

void
hub__mail_tick(hub *h, notify_mail *m)
{
	if (!m)
		return;
	reap(h, m);
	int64_t now = ug_mono_ms();
	for (size_t i = 0; i < m->nslots; i++) {
		mail_slot *s = &m->slots[i];
		if (s->pending == 0 || now - s->first_at < m->delay_ms ||
		    (s->last_mail && now - s->last_mail < m->interval_ms))
			continue;
		char address[STORE_EMAIL_MAX];
		ug_err aerr = store_email_get(h->store, s->recipient, address);
		if (aerr == UG_ENOTFOUND) {
			/* No address: nobody to tell; start counting anew. */
			s->pending = 0;
			continue;
		}
		if (aerr != UG_OK) {
			/* One that cannot be read is a failed notice: the
			 * caseworker expects it, so it is said and kept. */
			s->last_mail = now;
			char why[160];
			if (aerr == UG_EMALFORMED)
				snprintf(
				    why, sizeof why,
				    "it does not open with the storage "
				    "key: STORE-FORGED; set it again with "
				    "hubctl set-email");
			else
				snprintf(why, sizeof why, "%s",
					 ug_strerror(aerr));
			log_warn("HUB-MAIL",
				 "the notice address of %s cannot be read "
				 "(%s); its %ld alert(s) count into the next "
				 "notice, tried after mail_interval",
				 s->recipient, why, s->pending);
			char detail[200];
			snprintf(detail, sizeof detail,
				 "the address cannot be read (%s)", why);
			audit_mail(h, s->recipient, "failed", detail);
			continue;
		}
		char message[MESSAGE_MAX];
		int len = compose(m, address, s->pending, message);
		if (len <= 0 || len >= MESSAGE_MAX) {
			s->pending = 0;
			continue;
		}
		const char *why = NULL;
		enum spawn_result r =
		    spawn_sendmail(m, s->recipient, s->pending, s->first_at,
				   message, (size_t)len, &why);
		if (r == SPAWN_LATER)
			continue;
		log_info("HUB-MAIL", "notice of %ld new alert(s) for %s",
			 s->pending, s->recipient);
		/* Either way this was the interval's attempt: a program that
		 * cannot be run is tried again after mail_interval, not every
		 * second. */
		s->last_mail = now;
		if (r == SPAWN_FAILED) {
			log_warn("HUB-MAIL",
				 "%s failed for the notice to %s (cannot run "
				 "it: %s); its %ld alert(s) count into the "
				 "next notice, tried after mail_interval",
				 m->sendmail, s->recipient, why, s->pending);
			char detail[128];
			snprintf(detail, sizeof detail,
				 "the MTA cannot be run (%s)", why);
			audit_mail(h, s->recipient, "failed", detail);
			continue;
		}
		s->pending = 0;
	}
}

void
hub__mail_stop(hub *h, notify_mail *m)
{
	if (!m)
		return;
	/* Each notice handed over is in the audit trail: wait a little for
	 * those still with the MTA, never for long (a hung MTA must not
	 * hold up a stop). */
	int64_t until = ug_mono_ms() + STOP_WAIT_MS;
	struct timespec pause = {0, 50 * 1000000L};
	while (reap(h, m) > 0 && ug_mono_ms() < until)
		nanosleep(&pause, NULL);
	for (size_t i = 0; i < CHILDREN_MAX; i++)
		if (m->children[i])
			log_warn(
			    "HUB-MAIL",
			    "%s still runs with the notice to %s at stop; "
			    "its outcome is not recorded",
			    m->sendmail, m->child_of[i]);
}
