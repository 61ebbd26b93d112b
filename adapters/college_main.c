/*
 * adapter-college: imports a youth education institution's student status
 * exports (enrolments, completions, transfers, dropouts, dropout risks) into
 * the adapter's outbox and delivers them to the hub. All behaviour is the
 * shared runtime's (adapters/runtime.c, sender.c) driven by college_ops
 * (adapters/college.c); this file is only the entry point.
 */
#include "adapters/adapter.h"

int
main(int argc, char **argv)
{
	return adapter_main(&college_ops, argc, argv);
}
