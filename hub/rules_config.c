/* Rules configuration parser; see rules_config.h. */
#include "hub/rules_config.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/config.h"
#include "common/keys.h"
#include "common/util.h"
#include "proto/wire.h"

enum setting_kind {
	S_BOOL,
	S_INT,
	S_PRIORITY,
	S_GRADES,
	S_ID,
	S_HOLIDAY,
	S_OFFICE_DAYS,
	S_OFFICE_HOURS,
};

typedef struct {
	const char *name;
	enum setting_kind kind;
	size_t offset;
	int min, max;
} setting;

#define F(field) offsetof(rules_config, field)
static const setting settings[] = {
    {"absence.rolling.enabled", S_BOOL, F(rolling.on.enabled), 0, 1},
    {"absence.rolling.priority", S_PRIORITY, F(rolling.on.priority), 1, 4},
    {"absence.rolling.threshold_pct", S_INT, F(rolling.threshold_pct), 0, 100},
    {"absence.rolling.window_school_days", S_INT, F(rolling.window_days), 1,
     200},
    {"absence.rolling.min_days", S_INT, F(rolling.min_days), 0, 200},
    {"absence.rolling.strictly_above", S_BOOL, F(rolling.strictly_above), 0,
     1},
    {"absence.rolling.count_permitted_leave", S_BOOL,
     F(rolling.count_permitted), 0, 1},
    {"absence.quarter.enabled", S_BOOL, F(quarter.on.enabled), 0, 1},
    {"absence.quarter.priority", S_PRIORITY, F(quarter.on.priority), 1, 4},
    {"absence.quarter.warn_pct", S_INT, F(quarter.warn_pct), 0, 100},
    {"absence.quarter.notify_pct", S_INT, F(quarter.notify_pct), 0, 100},
    {"absence.quarter.notify_priority", S_PRIORITY, F(quarter.notify_priority),
     1, 4},
    {"absence.quarter.min_days", S_INT, F(quarter.min_days), 0, 100},
    {"dropout.enabled", S_BOOL, F(dropout.enabled), 0, 1},
    {"dropout.priority", S_PRIORITY, F(dropout.priority), 1, 4},
    {"dropout_risk.enabled", S_BOOL, F(dropout_risk.enabled), 0, 1},
    {"dropout_risk.priority", S_PRIORITY, F(dropout_risk.priority), 1, 4},
    {"addiction.enabled", S_BOOL, F(addiction.enabled), 0, 1},
    {"addiction.priority", S_PRIORITY, F(addiction.priority), 1, 4},
    {"back_on_track.enabled", S_BOOL, F(back_on_track.enabled), 0, 1},
    {"back_on_track.priority", S_PRIORITY, F(back_on_track.priority), 1, 4},
    {"readiness.enabled", S_BOOL, F(readiness.on.enabled), 0, 1},
    {"readiness.priority", S_PRIORITY, F(readiness.on.priority), 1, 4},
    {"readiness.grades", S_GRADES, F(readiness.grades), 0, 10},
    {"combined.enabled", S_BOOL, F(combined.on.enabled), 0, 1},
    {"combined.priority", S_PRIORITY, F(combined.on.priority), 1, 4},
    {"combined.window_days", S_INT, F(combined.window_days), 1, 730},
    /* Seven kinds of signal exist (see docs/RULES.md): more could never
     * be reached. */
    {"combined.min_signals", S_INT, F(combined.min_signals), 2, 7},
    {"transition_gap.enabled", S_BOOL, F(transition_gap.on.enabled), 0, 1},
    {"transition_gap.priority", S_PRIORITY, F(transition_gap.on.priority), 1,
     4},
    {"transition_gap.days", S_INT, F(transition_gap.days), 1, 365},
    {"deadline.enabled", S_BOOL, F(deadline.on.enabled), 0, 1},
    {"deadline.priority", S_PRIORITY, F(deadline.on.priority), 1, 4},
    {"deadline.contact_working_days", S_INT, F(deadline.contact_working_days),
     1, 60},
    {"deadline.offer_days", S_INT, F(deadline.offer_days), 1, 365},
    {"deadline.treatment_days", S_INT, F(deadline.treatment_days), 1, 365},
    {"deadline.warn_working_days", S_INT, F(deadline.warn_working_days), 0,
     30},
    {"deadline.min_age", S_INT, F(deadline.min_age), 0, 30},
    {"deadline.max_age", S_INT, F(deadline.max_age), 0, 30},
    {"missed_activation.enabled", S_BOOL, F(missed_activation.on.enabled), 0,
     1},
    {"missed_activation.priority", S_PRIORITY,
     F(missed_activation.on.priority), 1, 4},
    {"missed_activation.count", S_INT, F(missed_activation.count), 1, 10},
    {"missed_activation.days", S_INT, F(missed_activation.days), 1, 365},
    {"ack.low_hours", S_INT, F(ack_hours[1]), 1, 24 * 365},
    {"ack.normal_hours", S_INT, F(ack_hours[2]), 1, 24 * 365},
    {"ack.high_hours", S_INT, F(ack_hours[3]), 1, 24 * 365},
    {"ack.urgent_hours", S_INT, F(ack_hours[4]), 1, 24 * 365},
    {"office.days", S_OFFICE_DAYS, F(office), 0, 0},
    {"office.hours", S_OFFICE_HOURS, F(office), 0, 0},
    {"routing.desk", S_ID, F(desk), 0, 0},
    /* min 1: may be empty, for none (its default). */
    {"routing.team_lead", S_ID, F(team_lead), 1, 0},
    {"calendar.school_holiday", S_HOLIDAY, F(cal), 0, 0},
    {"calendar.christmas_eve_is_holiday", S_BOOL,
     F(cal.christmas_eve_is_holiday), 0, 1},
};
#undef F

void
rules_config_defaults(rules_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	calendar_defaults(&cfg->cal);
	const int normal = UNGEBRO__V1__PRIORITY__NORMAL,
		  high = UNGEBRO__V1__PRIORITY__HIGH,
		  urgent = UNGEBRO__V1__PRIORITY__URGENT,
		  low = UNGEBRO__V1__PRIORITY__LOW;
	cfg->rolling.on = (rule_switch){true, normal};
	cfg->rolling.threshold_pct = 10;
	cfg->rolling.window_days = 20;
	cfg->rolling.min_days = 10;
	/* DOMAIN: "10 % or more ... for any reason". */
	cfg->rolling.strictly_above = false;
	cfg->rolling.count_permitted = true;
	/* Danish practice: at 10 % unlawful absence in a quarter the school
	 * warns the parents; at 15 % it must notify the municipality. */
	cfg->quarter.on = (rule_switch){true, normal};
	cfg->quarter.warn_pct = 10;
	cfg->quarter.notify_pct = 15;
	cfg->quarter.notify_priority = high;
	cfg->quarter.min_days = 10;
	cfg->dropout = (rule_switch){true, high};
	cfg->dropout_risk = (rule_switch){true, normal};
	cfg->addiction = (rule_switch){true, high};
	cfg->back_on_track = (rule_switch){true, low};
	cfg->readiness.on = (rule_switch){true, normal};
	cfg->readiness.grades = 1u << 8 | 1u << 9;
	cfg->combined.on = (rule_switch){true, urgent};
	cfg->combined.window_days = 90;
	cfg->combined.min_signals = 3;
	cfg->transition_gap.on = (rule_switch){true, high};
	cfg->transition_gap.days = 30;
	cfg->deadline.on = (rule_switch){true, urgent};
	cfg->deadline.contact_working_days = 5;
	cfg->deadline.offer_days = 30;
	cfg->deadline.treatment_days = 14;
	cfg->deadline.warn_working_days = 1;
	cfg->deadline.min_age = 15;
	cfg->deadline.max_age = 17;
	/* The strategy's "close follow-up when an activation is not
	 * completed": a second miss within a month. */
	cfg->missed_activation.on = (rule_switch){true, normal};
	cfg->missed_activation.count = 2;
	cfg->missed_activation.days = 30;
	cfg->ack_hours[low] = 120;
	cfg->ack_hours[normal] = 72;
	cfg->ack_hours[high] = 24;
	cfg->ack_hours[urgent] = 4;
	calendar_office_defaults(&cfg->office);
	ug_strlcpy(cfg->desk, "duty-desk", sizeof cfg->desk);
}

static bool
parse_int(const char *text, long *out)
{
	return ug_parse_long(text, strlen(text), out) == UG_OK;
}

static int
parse_priority(const char *text)
{
	static const char *const names[] = {"", "low", "normal", "high",
					    "urgent"};
	for (int i = 1; i <= 4; i++)
		if (strcasecmp(text, names[i]) == 0)
			return i;
	return -1;
}

static ug_err
parse_grades(const char *text, uint32_t *mask, ug_diag *diag)
{
	*mask = 0;
	if (!*text)
		return UG_OK; /* no grade raises the rule */
	/* Each item whole numbers as everywhere in the file: digits only,
	 * so "+8", "8.0" and an empty item between two commas are typos. */
	for (const char *p = text;;) {
		/* Blanks around a comma: a tab as well as a space, as the
		 * file trims around the whole value. */
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, ",");
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		long grade;
		if (ug_parse_long(p, len, &grade) != UG_OK || grade < 0 ||
		    grade > 10) {
			ug_diag_set(
			    diag, "grades",
			    "'%s' is not a list of grades "
			    "(whole numbers 0-10, comma-separated, such as "
			    "8,9)",
			    text);
			return UG_EMALFORMED;
		}
		*mask |= 1u << grade;
		p += strcspn(p, ",");
		if (!*p)
			return UG_OK;
		p++;
	}
}

ug_err
rules_config_set(rules_config *cfg, const char *name, const char *value,
		 ug_diag *diag)
{
	const setting *s = NULL;
	for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
		if (strcmp(settings[i].name, name) == 0)
			s = &settings[i];
	if (!s) {
		ug_diag_set(diag, name, "unknown rule setting '%s'", name);
		return UG_EINVAL;
	}
	void *field = (char *)cfg + s->offset;
	long number;
	ug_err err;
	switch (s->kind) {
	case S_BOOL:
		if (strcmp(value, "yes") == 0 || strcmp(value, "true") == 0 ||
		    strcmp(value, "on") == 0)
			*(bool *)field = true;
		else if (strcmp(value, "no") == 0 ||
			 strcmp(value, "false") == 0 ||
			 strcmp(value, "off") == 0)
			*(bool *)field = false;
		else
			goto bad;
		return UG_OK;
	case S_INT:
		if (!parse_int(value, &number) || number < s->min ||
		    number > s->max) {
			ug_diag_set(diag, name,
				    "%s must be a whole number from "
				    "%d to %d",
				    name, s->min, s->max);
			return UG_EMALFORMED;
		}
		*(int *)field = (int)number;
		return UG_OK;
	case S_PRIORITY:
		if ((number = parse_priority(value)) < 0)
			goto bad;
		*(int *)field = (int)number;
		return UG_OK;
	case S_GRADES:
		err = parse_grades(value, field, diag);
		goto named;
	case S_ID:
		if (!ug_id_valid(value) && !(s->min == 1 && value[0] == '\0'))
			goto bad_id;
		ug_strlcpy(field, value, RULES_ID_MAX);
		return UG_OK;
	case S_HOLIDAY:
		err = calendar_add_school_holiday(&cfg->cal, value, diag);
		goto named;
	case S_OFFICE_DAYS:
		err = calendar_parse_office_days(field, value, diag);
		goto named;
	case S_OFFICE_HOURS:
		err = calendar_parse_office_hours(field, value, diag);
		goto named;
	}
bad:;
	/* An id refused for holding a CPR number must not show it. */
	char shown[UG_ID_SHOWN_MAX];
	ug_diag_set(diag, name, "'%s' is not a valid value for %s",
		    ug_id_shown(value, shown, sizeof shown), name);
	return UG_EMALFORMED;
bad_id:
	/* The words every program and the hub use for an id that is none
	 * (SECURITY.md), so the rules' ids are refused as ops_silence's. */
	ug_diag_set(diag, name, "%s: '%s' is not a valid id " UG_ID_RULE, name,
		    ug_id_shown(value, shown, sizeof shown));
	return UG_EMALFORMED;
named:
	/* The parsers shared with other settings name what they parse;
	 * the error names the setting, as the file spells it. */
	if (err != UG_OK && diag)
		ug_strlcpy(diag->field, name, sizeof diag->field);
	return err;
}

ug_err
rules_config_contradiction(const rules_config *cfg, const char *path, int i,
			   ug_diag *diag)
{
	const char *name = NULL, *reason = NULL;
	switch (i) {
	case 0:
		if (cfg->rolling.min_days > cfg->rolling.window_days) {
			name = "absence.rolling.min_days";
			reason = "min_days is larger than window_school_days";
		}
		break;
	case 1:
		if (cfg->quarter.notify_pct < cfg->quarter.warn_pct) {
			name = "absence.quarter.notify_pct";
			reason = "notify_pct is below warn_pct";
		}
		break;
	case 2:
		if (cfg->deadline.warn_working_days >=
		    cfg->deadline.contact_working_days) {
			name = "deadline.warn_working_days";
			reason = "warn_working_days must be below "
				 "contact_working_days";
		}
		break;
	case 3:
		if (cfg->deadline.min_age > cfg->deadline.max_age) {
			name = "deadline.min_age";
			reason = "min_age is above max_age";
		}
		break;
	case 4:
		/* The step above the desk: the desk itself would only be
		 * told again of what it has. */
		if (cfg->team_lead[0] &&
		    strcmp(cfg->team_lead, cfg->desk) == 0) {
			name = "routing.team_lead";
			reason =
			    "team_lead is the desk itself (routing.desk): "
			    "name the caseworker above the desk, or none";
		}
		break;
	}
	if (!name)
		return UG_OK;
	/* A contradiction between two settings belongs to the file as a
	 * whole, not to a line. */
	ug_diag_set(diag, name, "%s: %s", path, reason);
	if (diag) {
		diag->line = 0;
		ug_strlcpy(diag->file, path, sizeof diag->file);
	}
	return UG_EINVAL;
}

struct load_ctx {
	rules_config *cfg;
	bool holidays_given;
};

ug_err
rules_config_set_line(rules_config *cfg, bool *holidays_given,
		      const char *name, const char *value, ug_diag *diag)
{
	/* Configured school holidays replace the defaults, not add to
	 * them: a municipality's own calendar is the whole truth. */
	if (strcmp(name, "calendar.school_holiday") == 0 && !*holidays_given) {
		calendar_clear_school_holidays(&cfg->cal);
		*holidays_given = true;
	}
	return rules_config_set(cfg, name, value, diag);
}

static ug_err
load_pair(void *ctx, const char *name, const char *value, ug_diag *diag)
{
	struct load_ctx *l = ctx;
	return rules_config_set_line(l->cfg, &l->holidays_given, name, value,
				     diag);
}

ug_err
rules_config_load(rules_config *cfg, const char *path, ug_diag *diag)
{
	rules_config_defaults(cfg);
	if (!path || !path[0])
		return UG_OK;
	struct load_ctx l = {cfg, false};
	ug_err err = ug_kv_read(path, 0, load_pair, &l, diag);
	if (err == UG_ENOTFOUND)
		err = UG_EIO;
	/* christmas_eve_is_holiday is set in place: renew the memo key. */
	calendar_touch(&cfg->cal);
	for (int i = 0; err == UG_OK && i < RULES_CONTRADICTIONS; i++)
		err = rules_config_contradiction(cfg, path, i, diag);
	return err;
}
