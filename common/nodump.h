/*
 * Keep personal data out of core dumps. Every program that holds CPR
 * numbers or keys in memory calls this first thing in main: a core file
 * would carry them in clear to wherever the kernel or systemd-coredump
 * puts it, outside the encrypted data volume (SECURITY.md).
 */
#ifndef UG_NODUMP_H
#define UG_NODUMP_H

#include "common/err.h"

/*
 * Set RLIMIT_CORE to 0 (soft and hard, so nothing in the process can raise
 * it again) and mark the process not dumpable. UG_EIO with diag if either
 * fails; the caller must then refuse to run.
 */
ug_err ug_forbid_core_dumps(ug_diag *diag);

#endif
