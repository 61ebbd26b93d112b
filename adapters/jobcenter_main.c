/*
 * adapter-jobcenter: imports the Jobcenter's benefit-period and missed-
 * activation exports into the adapter's outbox and delivers them to the hub.
 * All behaviour is the shared runtime's (adapters/runtime.c, sender.c)
 * driven by jobcenter_ops (adapters/jobcenter.c); this file is only the
 * entry point.
 */
#include "adapters/adapter.h"

int
main(int argc, char **argv)
{
	return adapter_main(&jobcenter_ops, argc, argv);
}
