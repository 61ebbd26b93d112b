/*
 * adapter-addiction: imports the addiction centre's referral and treatment-
 * stage exports, consent-gated, and anonymous counselling counts into the
 * adapter's outbox and delivers them to the hub. All behaviour is the shared
 * runtime's (adapters/runtime.c, sender.c) driven by addiction_ops
 * (adapters/addiction.c); this file is only the entry point.
 */
#include "adapters/adapter.h"

int
main(int argc, char **argv)
{
	return adapter_main(&addiction_ops, argc, argv);
}
