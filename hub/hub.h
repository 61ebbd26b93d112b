/*
 * hubd, the broker: one thread around zmq_poll (Redis's ae, in spirit).
 * Each turn drains the ready ingest frames, validates them, writes them all
 * in one synchronous LMDB transaction and only then sends the acks; then it
 * applies new log entries to the derived state and the rules, stores the
 * alerts they raise, and delivers them to connected caseworkers.
 */
#ifndef UG_HUB_H
#define UG_HUB_H

#include "common/config.h"
#include "common/err.h"

typedef struct hub hub;

/* The settings hubd understands (NULL-terminated); hubctl reuses them to
 * find the store and keys. */
extern const ug_setting hub_settings[];

/* Open keys and store, bind the sockets. */
ug_err hub_open(hub **out, const ug_config *cfg, ug_diag *diag);
/* Check every setting's value as hub_open would, without the keys, the
 * store, the rules file or a socket (hubd --check-config). */
ug_err hub_check_settings(const ug_config *cfg, ug_diag *diag);
/* The same but for the checks of settings against each other (ingest,
 * delivery and metrics_listen on one port): for one line of a file over
 * the defaults, whose mix with the other lines only the whole shows. */
ug_err hub_check_setting_alone(const ug_config *cfg, ug_diag *diag);
/* Run until hub_stop() is called (from a signal handler); returns 0 after a
 * clean stop with everything in flight committed. */
int hub_run(hub *h);
/* Async-signal-safe: ask the loop to finish its batch and return. */
void hub_stop(void);
/* Async-signal-safe: reload the rules file between two loop turns. */
void hub_reload(void);
void hub_close(hub **h);

/* Parse "absence,assignment" into an event-type bit mask. */
ug_err hub_parse_types(const char *list, uint32_t *mask, ug_diag *diag);

#endif
