/*
 * adapter-school: imports a school's absence-report CSV files into the
 * adapter's outbox and delivers them to the hub. All behaviour is the
 * shared runtime's (adapters/runtime.c, sender.c) driven by school_ops
 * (adapters/school.c); this file is only the program's entry point.
 */
#include "adapters/adapter.h"

int
main(int argc, char **argv)
{
	return adapter_main(&school_ops, argc, argv);
}
