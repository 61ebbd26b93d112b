/*
 * The web gateway's side of hubd (gateway.c): caseworkers log in through a
 * registered gateway key with a password, and every later frame of theirs
 * carries the session the login opened. The hub authorises each such frame
 * as that caseworker, through the same query, action and acknowledgement
 * code as inbox, so the gateway never decides who may see what.
 */
#ifndef UG_HUB_GATEWAY_H
#define UG_HUB_GATEWAY_H

#include "common/config.h"
#include "common/err.h"
#include "hub/hub.h"

/* Settings of hubd's gateway part, appended to hub_settings[]. */
#define HUB_GATEWAY_SETTINGS                                                  \
	{"web_session_idle", "30",                                            \
	 "minutes without a request after which a web session ends "          \
	 "(1-1440)"},                                                         \
	    {"web_sessions_max", "1024",                                      \
	     "most web sessions at once; a login beyond it ends the session " \
	     "idle longest (1-100000)"},                                      \
	    {"login_failures_max", "5",                                       \
	     "failed web logins for one caseworker id before it is locked "   \
	     "(1-1000)"},                                                     \
	    {"login_lockout", "15",                                           \
	     "minutes a caseworker id stays locked after its last failed "    \
	     "login "                                                         \
	     "(1-1440)"},                                                     \
	    {"login_gateway_failures", "30",                                  \
	     "failed web logins one gateway may cause per minute (and at "    \
	     "once) "                                                         \
	     "(1-100000)"},                                                   \
	    {"mail_sendmail", "/usr/sbin/sendmail",                           \
	     "the local MTA's sendmail program for e-mail notices of new "    \
	     "alerts "                                                        \
	     "(a path or a name on PATH, no arguments: run as PROGRAM -t "    \
	     "-i, "                                                           \
	     "the message on stdin)"},                                        \
	    {"mail_base_url", "",                                             \
	     "the web inbox's address as caseworkers reach it "               \
	     "(https://..., at most 400 bytes); "                             \
	     "empty: no e-mail notices are sent"},                            \
	    {"mail_interval", "15",                                           \
	     "minutes at least between two notices to one recipient (a "      \
	     "caseworker or the desk's id), a failed one included: it is "    \
	     "tried "                                                         \
	     "again after them (1-10080)"},                                   \
	    {"mail_delay", "60",                                              \
	     "seconds a notice waits after the first new alert, so alerts "   \
	     "raised together are counted in one notice (0-86400)"},          \
	{                                                                     \
		"mail_timeout", "60",                                         \
		    "seconds a sendmail may run before hubd kills it (and "   \
		    "its process "                                            \
		    "group) and counts the notice as failed (1-3600)"         \
	}

/* E-mail notices of new alerts (notify_mail.c). */
typedef struct notify_mail notify_mail;

ug_err hub__gateway_open(hub *h, const ug_config *cfg, ug_diag *diag);
/* Once a second from hubd's loop: sends the notices that are due and
 * reaps finished sendmail processes. */
void hub__gateway_tick(hub *h);
void hub__gateway_close(hub *h);
/* At a stop, before the audit trail's last flush: ends the web sessions
 * (audited, "stopped") and waits a little for sendmail (hub__mail_stop). */
void hub__gateway_stop(hub *h);
/* Handle one frame (zmq_msg_t routing id and frame) from a gateway key
 * (User-Id `gateway`, checked as current by the caller); every frame is
 * answered by one Result. */
void hub__gateway_frame(hub *h, const void *routing, const void *frame,
			const char *gateway);

/* notify_mail.c: the settings above (mail_*); pending counts in memory. */
ug_err hub__mail_open(notify_mail **out, const ug_config *cfg, ug_diag *diag);
void hub__mail_close(notify_mail **m);
/* One new alert for recipient (a caseworker id or the desk's id). */
void hub__mail_alerted(notify_mail *m, const char *recipient);
void hub__mail_tick(hub *h, notify_mail *m);
/* At a stop, before the audit trail's last flush: reaps the sendmail
 * processes still running, waiting a few seconds at most. */
void hub__mail_stop(hub *h, notify_mail *m);

#endif
