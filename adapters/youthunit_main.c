/*
 * adapter-youthunit: imports the youth unit's contact-person assignments and
 * duty-desk memberships into the adapter's outbox and delivers them to the
 * hub. All behaviour is the shared runtime's (adapters/runtime.c, sender.c)
 * driven by youthunit_ops (adapters/youthunit.c); this file is only the
 * entry point.
 */
#include "adapters/adapter.h"

int
main(int argc, char **argv)
{
	return adapter_main(&youthunit_ops, argc, argv);
}
