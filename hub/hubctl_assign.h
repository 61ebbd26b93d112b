/*
 * hubctl assign (hubctl_assign.c): contact persons logged as the
 * ContactAssignment events the rules apply, one or a --file of them.
 */
#ifndef UG_HUBCTL_ASSIGN_H
#define UG_HUBCTL_ASSIGN_H

#include "common/config.h"
#include "common/keys.h"
#include "store/store.h"

/* The agency an assignment is logged as sent by: no agency may be
 * registered under it. */
#define HUBCTL_AGENCY "hubctl"

/* `hubctl assign (--cpr CPR --caseworker ID | --file FILE.csv)`: exit code
 * (0 assigned, 1 failed). */
int hubctl_assign(const ug_config *cfg, store *s, ug_keys *keys);

/* Usage errors, found before the store is opened: false (and a message
 * on stderr) means exit 2. */
bool hubctl_assign_usage_ok(const ug_config *cfg);

#endif
