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
 * only then, and without one the count is dropped. The notice is piped
 * to `mail_sendmail -t -i`, started with posix_spawn and reaped on later
 * ticks, so hubd's loop never waits for the MTA. Counts are not kept
 * across a restart: a notice is a nudge, the inbox is the record.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/gateway.h"
#include "hub/hub_int.h"
#include "store/store_password.h"

#define PENDING_MAX 4096 /* recipients with uncounted alerts at once */
#define CHILDREN_MAX 16  /* sendmail processes not yet reaped */
#define MESSAGE_MAX 2048

extern char **environ;

typedef struct {
	char recipient[STORE_ID_MAX];
	long pending;     /* new alerts not yet in a notice */
	int64_t first_at; /* mono ms of the first of them */
	int64_t last_mail; /* mono ms of the last notice; 0: none yet */
} mail_slot;

struct notify_mail {
	char *sendmail, *base_url;
	int64_t interval_ms, delay_ms;
	mail_slot *slots;
	size_t nslots;
	pid_t children[CHILDREN_MAX];
	char child_of[CHILDREN_MAX][STORE_ID_MAX];
};

ug_err
hub__mail_open(notify_mail **out, const ug_config *cfg, ug_diag *diag)
{
	long interval, delay;
	ug_err err = ug_config_int(cfg, "mail_interval", 1, 7 * 24 * 60,
	                           &interval, diag);
	if (err == UG_OK)
		err = ug_config_int(cfg, "mail_delay", 0, 24 * 3600, &delay,
		                    diag);
	if (err != UG_OK)
		return err;
	const char *base = ug_config_get(cfg, "mail_base_url");
	if (base[0] && strncmp(base, "https://", 8) != 0 &&
	    strncmp(base, "http://", 7) != 0) {
		ug_diag_set(diag, "mail_base_url", "mail_base_url must start "
		            "with https:// (or http://)");
		return UG_EINVAL;
	}
	for (const char *p = base; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			ug_diag_set(diag, "mail_base_url", "mail_base_url must "
			            "not hold spaces or control characters");
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
		ug_diag_set(diag, "mail_sendmail", "mail_sendmail must be a "
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

void
hub__mail_alerted(notify_mail *m, const char *recipient)
{
	if (!m || !m->base_url[0])
		return;
	mail_slot *free_slot = NULL;
	int64_t now = ug_mono_ms();
	for (size_t i = 0; i < m->nslots; i++) {
		mail_slot *s = &m->slots[i];
		if (strcmp(s->recipient, recipient) == 0) {
			if (s->pending++ == 0)
				s->first_at = now;
			return;
		}
		/* A slot past its interval holds nothing worth keeping. */
		if (!free_slot && s->pending == 0 &&
		    (!s->last_mail || now - s->last_mail >= m->interval_ms))
			free_slot = s;
	}
	if (!free_slot && m->nslots < PENDING_MAX)
		free_slot = &m->slots[m->nslots++];
	if (!free_slot) {
		log_warn("HUB-MAIL", "too many recipients waiting for a "
		         "notice; no notice for %s", recipient);
		return;
	}
	ug_strlcpy(free_slot->recipient, recipient,
	           sizeof free_slot->recipient);
	free_slot->pending = 1;
	free_slot->first_at = now;
	free_slot->last_mail = 0;
}

static void
audit_mail(hub *h, const char *recipient, const char *result,
           const char *detail)
{
	store_audit_entry e = {h->now, "hub", NULL, "notice-mail", result,
	                       NULL, detail};
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

/* Start sendmail with the message on its stdin; false if it could not
 * be started (the count is kept for the next tick). */
static bool
spawn_sendmail(notify_mail *m, const char *recipient, const char *message,
               size_t len)
{
	size_t slot = 0;
	while (slot < CHILDREN_MAX && m->children[slot])
		slot++;
	if (slot == CHILDREN_MAX)
		return false;
	int fds[2];
	if (pipe(fds) != 0) {
		log_warn("HUB-MAIL", "pipe: %s", strerror(errno));
		return false;
	}
	/* Neither end leaks into another child hubd starts. */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[0], STDIN_FILENO);
	char *argv[] = {m->sendmail, "-t", "-i", NULL};
	pid_t pid;
	int rc = posix_spawnp(&pid, m->sendmail, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[0]);
	if (rc != 0) {
		close(fds[1]);
		log_warn("HUB-MAIL", "cannot run %s: %s", m->sendmail,
		         strerror(rc));
		return false;
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
	return true;
}

static void
reap(hub *h, notify_mail *m)
{
	for (size_t i = 0; i < CHILDREN_MAX; i++) {
		if (!m->children[i])
			continue;
		int status;
		pid_t got = waitpid(m->children[i], &status, WNOHANG);
		if (got == 0)
			continue;
		bool ok = got == m->children[i] && WIFEXITED(status) &&
		          WEXITSTATUS(status) == 0;
		if (ok) {
			log_info("HUB-MAIL", "notice to %s handed to the MTA",
			         m->child_of[i]);
			audit_mail(h, m->child_of[i], "ok", "sent");
		} else {
			log_warn("HUB-MAIL", "%s failed for the notice to %s",
			         m->sendmail, m->child_of[i]);
			audit_mail(h, m->child_of[i], "failed",
			           "the MTA refused it");
		}
		m->children[i] = 0;
	}
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
		if (store_email_get(h->store, s->recipient, address) !=
		    UG_OK) {
			/* No address: nobody to tell; start counting anew. */
			s->pending = 0;
			continue;
		}
		char message[MESSAGE_MAX];
		int len = compose(m, address, s->pending, message);
		if (len <= 0 || len >= MESSAGE_MAX) {
			s->pending = 0;
			continue;
		}
		if (!spawn_sendmail(m, s->recipient, message, (size_t)len))
			continue;
		log_info("HUB-MAIL", "notice of %ld new alert(s) for %s",
		         s->pending, s->recipient);
		s->pending = 0;
		s->last_mail = now;
	}
}
