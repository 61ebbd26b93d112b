/*
 * Retention (retention.c): hubd deletes, once a day on the hub clock,
 * the log records whose retention period has passed and everything keyed
 * by them, a few at a time so that ingest is never starved. The periods
 * are hubd settings (below); docs/SECURITY.md says why the defaults are
 * what they are.
 */
#ifndef UG_RETENTION_H
#define UG_RETENTION_H

#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "hub/hub.h"

/* Days after the hub received a record of the type that it is deleted;
 * 0: the type has no period of its own (only the age limit applies). */
#define HUB_RETENTION_DAYS(name, days)                                        \
	{                                                                     \
		"retention_" name, days,                                      \
		    "days a record of type " name " is kept "                 \
		    "after the hub received it (0-54750); 0 = "               \
		    "no period of its own (kept until the age "               \
		    "limit, if one is set)"                                   \
	}
#define HUB_RETENTION_SETTINGS                                                \
	{"retention_age", "0",                                                \
	 "every record about a person is deleted on their birthday of this "  \
	 "age (from the CPR number; 0-150); 0 = no age limit (recommended: "  \
	 "30)"},                                                              \
	    HUB_RETENTION_DAYS("absence", "1095"),                            \
	    HUB_RETENTION_DAYS("readiness", "1095"),                          \
	    HUB_RETENTION_DAYS("dropout_risk", "1095"),                       \
	    HUB_RETENTION_DAYS("missed_activation", "1095"),                  \
	    HUB_RETENTION_DAYS("addiction", "730"),                           \
	    HUB_RETENTION_DAYS("dropout", "1825"),                            \
	    HUB_RETENTION_DAYS("enrolment", "1825"),                          \
	    HUB_RETENTION_DAYS("school_leaving", "1825"),                     \
	    HUB_RETENTION_DAYS("benefit", "1825"),                            \
	    HUB_RETENTION_DAYS("action", "1825"),                             \
	    {"retention_assignment", "0",                                     \
	     "days a record of type assignment is kept after the hub "        \
	     "received "                                                      \
	     "it (0-54750); 0 = no period of its own (an assignment goes "    \
	     "with "                                                          \
	     "the person's last other record, or at the age limit)"},         \
	    {"retention_desk", "0",                                           \
	     "days a record of type desk is kept after the hub received it "  \
	     "(0-54750); 0 = no period of its own (kept: it is about a "      \
	     "caseworker, whom the age limit does not concern)"},             \
	{                                                                     \
		"purge_batch", "128",                                         \
		    "most records the daily purge deletes in one "            \
		    "loop turn (1-10000)"                                     \
	}

/* Read the settings above; an invalid value names the setting. */
ug_err hub__retention_load(const ug_config *cfg, ug_diag *diag);

/* Once per loop turn: start the day's purge when the hub clock has moved
 * to a day it has not run on, else go on with the one running, deleting
 * at most purge_batch records. */
void hub__retention_tick(hub *h);
/* A run is under way and its last turn did not fail: the loop turns
 * again at once instead of waiting for a frame or its 200 ms. */
bool hub__retention_busy(void);

#endif
