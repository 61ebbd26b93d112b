/*
 * Logging: one line per record on stderr, with a short stable message id
 * operators can grep ("HUB-ACK", "ADP-CSV"). Formatting is skipped below the
 * configured level. Never pass personal data (CPR, names, free text) or a
 * secret to these macros: log event ids, agency ids and pseudonymous refs.
 */
#ifndef UG_LOG_H
#define UG_LOG_H

enum {
	UG_LOG_ERR = 3,
	UG_LOG_WARN = 4,
	UG_LOG_NOTICE = 5,
	UG_LOG_INFO = 6,
	UG_LOG_DEBUG = 7
};

extern int ug_log_level;

/* Set the program name shown in each line and the level; reads UG_LOG_LEVEL
 * and, under systemd (JOURNAL_STREAM set), prefixes <N> instead of a time. */
void ug_log_init(const char *program, int level);
/* Parse "err", "warn", "notice", "info", "debug" in any case; -1 if
 * unknown. */
int ug_log_parse_level(const char *name);
void ug_log_write(int level, const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A notice that must be kept outside the process whatever the level (the
 * audit trail's checkpoint witness): on stderr when the level shows
 * notices, otherwise to the system log (syslog, facility authpriv, the
 * program name as tag), so a command's own output stays as it was. */
void ug_log_witness(const char *msgid, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A command's message to its user on stderr (usage errors, refusals: what
 * hubctl and inbox print as "PROGRAM: ..."), written as one write with
 * every CPR number in it masked as ug_log_write masks it: the message may
 * echo what was typed (an id, a file name), and the stream may be kept
 * (a journal, a cron mail). One line: a control character becomes '?',
 * but for a line break that ends the message. */
void ug_eprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ug_eprintf for a line a journal should file at level (UG_LOG_ERR: what
 * stops a run): under systemd (stderr the journal, as ug_log_init found
 * it) the line starts with the syslog priority, <N>, as a log line does;
 * elsewhere it is ug_eprintf's line. */
void ug_eprintf_at(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The same on stdout, for a command's confirmation of what it did ("wrote
 * FILE", "backup in DIR"): only inbox's and hubctl export's answers may
 * carry a CPR there. */
void ug_oprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define UG_LOG_AT(lvl, id, ...)                                               \
	do {                                                                  \
		if ((lvl) <= ug_log_level)                                    \
			ug_log_write((lvl), (id), __VA_ARGS__);               \
	} while (0)
#define log_err(id, ...)    UG_LOG_AT(UG_LOG_ERR, id, __VA_ARGS__)
#define log_warn(id, ...)   UG_LOG_AT(UG_LOG_WARN, id, __VA_ARGS__)
#define log_notice(id, ...) UG_LOG_AT(UG_LOG_NOTICE, id, __VA_ARGS__)
#define log_info(id, ...)   UG_LOG_AT(UG_LOG_INFO, id, __VA_ARGS__)
#define log_debug(id, ...)  UG_LOG_AT(UG_LOG_DEBUG, id, __VA_ARGS__)

#endif
