/*
 * Configuration shared by every program: "name = value" lines in a file,
 * overridden by "--name value" options on the command line. Unknown names
 * are an error naming the line, so a typo never silently means a default.
 */
#ifndef UG_CONFIG_H
#define UG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"

typedef struct ug_config ug_config;

/* One setting a program understands. */
typedef struct {
	const char *name;
	const char *fallback; /* default value, NULL = required */
	const char *help;
} ug_setting;

/*
 * Build a config from a NULL-name-terminated settings table, the file named
 * by a --config option (if any), then the --name value options. Arguments
 * that are not options are left in *rest / *nrest (borrowed from argv).
 * --help prints usage (with `usage` as the first lines) and sets *help.
 */
ug_err ug_config_load(ug_config **out, const ug_setting *settings,
                      const char *usage, int argc, char **argv,
                      char ***rest, int *nrest, bool *help, ug_diag *diag);
void ug_config_destroy(ug_config **cfg);

/* Value of a setting (its default when unset); never NULL for a known name. */
const char *ug_config_get(const ug_config *cfg, const char *name);
/* Integer value; UG_EMALFORMED (with diag) if not a number in [min, max]. */
ug_err ug_config_int(const ug_config *cfg, const char *name, long min,
                     long max, long *value, ug_diag *diag);
/* True if the flag is "1", "true", "yes" or "on". */
bool ug_config_bool(const ug_config *cfg, const char *name);

/* Print the usage text and every setting with its default and help. */
void ug_config_usage(const ug_setting *settings, const char *usage);

#endif
