/*
 * The rules configuration: thresholds, windows, priorities, deadlines,
 * recipients and calendars, read from a "name = value" file. Every name is
 * known here; an unknown name or a bad value is an error naming the file
 * and line, and hubd does not start on it (SIGHUP reloads only a file that
 * validates). docs/RULES.md documents each setting.
 */
#ifndef UG_RULES_CONFIG_H
#define UG_RULES_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "hub/calendar.h"

#define RULES_ID_MAX 64

typedef struct {
	bool enabled;
	int priority; /* Priority enum value */
} rule_switch;

typedef struct rules_config {
	calendar cal;
	struct {
		rule_switch on;
		int threshold_pct, window_days, min_days;
		bool strictly_above, count_permitted;
	} rolling;
	struct {
		rule_switch on;
		int warn_pct, notify_pct, notify_priority, min_days;
	} quarter;
	rule_switch dropout, dropout_risk, addiction, back_on_track;
	struct {
		rule_switch on;
		uint32_t grades; /* bit per grade */
	} readiness;
	struct {
		rule_switch on;
		int window_days, min_signals;
	} combined;
	struct {
		rule_switch on;
		int days;
	} transition_gap;
	struct {
		rule_switch on;
		int contact_working_days, offer_days, treatment_days;
		int warn_working_days, min_age, max_age;
	} deadline;
	struct {
		rule_switch on;
		int count, days; /* count missed within days: an alert */
	} missed_activation;
	int ack_hours[5]; /* by Priority: acknowledge within, then escalate */
	office_hours office; /* the hours ack_hours count */
	char desk[RULES_ID_MAX];
	char team_lead[RULES_ID_MAX];
} rules_config;

/* The defaults docs/RULES.md lists (§10). */
void rules_config_defaults(rules_config *cfg);
/* Defaults, then the file's settings. On error *cfg is unspecified and the
 * diag names file:line and the reason. */
ug_err rules_config_load(rules_config *cfg, const char *path, ug_diag *diag);
/* The settings that may contradict each other (docs/RULES.md §10). */
#define RULES_CONTRADICTIONS 5
/* Contradiction i (0 to RULES_CONTRADICTIONS - 1) of cfg, read from path:
 * UG_OK if it does not hold, else UG_EINVAL with the diag naming the
 * setting and "<path>: <reason>" (no line). */
ug_err rules_config_contradiction(const rules_config *cfg, const char *path,
				  int i, ug_diag *diag);
/* Parse one "name = value" setting into cfg. */
ug_err rules_config_set(rules_config *cfg, const char *name, const char *value,
			ug_diag *diag);
/* One line of a rules file, as rules_config_set, except that the file's
 * first calendar.school_holiday replaces the default holidays;
 * *holidays_given (false before the first line) remembers it. */
ug_err rules_config_set_line(rules_config *cfg, bool *holidays_given,
			     const char *name, const char *value,
			     ug_diag *diag);

#endif
