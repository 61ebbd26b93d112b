/*
 * hubctl's commands for a person's rights (hubctl_lifecycle.c): export
 * everything held about one person (access), and erase it (a lawful
 * erasure). Both find the person by the keyed hash of the CPR given on
 * the command line, never store the CPR, and are audited.
 */
#ifndef UG_HUBCTL_LIFECYCLE_H
#define UG_HUBCTL_LIFECYCLE_H

#include "common/config.h"
#include "common/keys.h"
#include "store/store.h"

/* `hubctl export --cpr CPR [--out FILE]`: exit code (0 written, 1
 * failed, 2 usage). */
int hubctl_export(const ug_config *cfg, store *s, ug_keys *keys);

/* `hubctl erase --cpr CPR --reason TEXT`: exit code (0 erased, 1
 * failed, 2 usage). */
int hubctl_erase(const ug_config *cfg, store *s, ug_keys *keys);

/* Usage errors of export and erase, found before the store is opened:
 * false (and a message on stderr) means exit 2. */
bool hubctl_lifecycle_usage_ok(const ug_config *cfg, const char *cmd);

/* `hubctl pass-damaged --seq N --reason TEXT`: pass over log record N,
 * which does not open with the storage key, audited (exit 0 passed, 1
 * refused: it opens, is absent, or the store failed). */
int hubctl_pass_damaged(const ug_config *cfg, store *s, ug_keys *keys);
/* Its usage errors, found before the store is opened (false: exit 2). */
bool hubctl_pass_damaged_usage_ok(const ug_config *cfg);

#endif
