/*
 * hubctl report: the annual status on the strategy's goals, computed
 * from the log (hubctl_report.c) and written as one self-contained HTML
 * page and a CSV per table. Counts only: no CPR, name or person key ever
 * reaches the output.
 */
#ifndef UG_HUBCTL_REPORT_H
#define UG_HUBCTL_REPORT_H

#include "common/config.h"
#include "common/keys.h"
#include "store/store.h"

/* `hubctl report (--year YYYY | --from DATE --to DATE) --out FILE.html`:
 * exit code (0 written, 1 failed, 2 usage). */
int hubctl_report(const ug_config *cfg, store *s, ug_keys *keys);

/* Usage errors, found before the store is opened: false (and a message
 * on stderr) means exit 2. */
bool hubctl_report_usage_ok(const ug_config *cfg);

#endif
