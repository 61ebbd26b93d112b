/* No core dumps; see nodump.h. */
#include "common/nodump.h"

#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

ug_err
ug_forbid_core_dumps(ug_diag *diag)
{
	struct rlimit none = {0, 0};
	if (setrlimit(RLIMIT_CORE, &none) != 0) {
		ug_diag_set(diag, "core", "cannot set RLIMIT_CORE to 0: %s",
			    strerror(errno));
		return UG_EIO;
	}
	/* RLIMIT_CORE alone is not enough: for a core_pattern that pipes to
	 * a helper the kernel starts the helper whatever the limit, and only
	 * some helpers (systemd-coredump) honour the limit they are told.
	 * Under the default fs.suid_dumpable = 0 a process that is not
	 * dumpable is not dumped at all, and other processes of the same
	 * user can neither ptrace it nor read its memory through /proc. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		ug_diag_set(diag, "core",
			    "cannot mark the process not dumpable: %s",
			    strerror(errno));
		return UG_EIO;
	}
	return UG_OK;
}
