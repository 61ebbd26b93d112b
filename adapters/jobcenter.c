/*
 * The Jobcenter's adapter: two kinds of record about young people on
 * benefits, each row becoming one envelope.
 *
 *   benefit            BenefitStatus: a benefit period (education
 *                      benefit, cash benefit or the self-support and
 *                      return benefit) started, or, once its stop column
 *                      is filled, stopped.
 *   missed_activation  MissedActivation: the young person did not turn
 *                      up for an activation offer (the strategy's "quick
 *                      reaction when an offer is not completed").
 *
 * A benefit period's start and its stop are two facts, with two natural
 * keys: the stop is not a correction of the start. The Jobcenter's export
 * lists each period with its start and, once stopped, its stop; exported
 * again, an unchanged period sends nothing, a stopped one sends its stop.
 *
 * Reasons for a refused row name the column and never quote its text.
 */
#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/fields.h"

/* ---- benefit ------------------------------------------------------- */

enum { BN_CPR, BN_JOBCENTER, BN_BENEFIT, BN_START, BN_STOP, BN_REASON };

static const csv_column benefit_columns[] = {
    [BN_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [BN_JOBCENTER] = {"jobcenter", {"jobcenter_id", "center"}, true},
    [BN_BENEFIT] = {"benefit",
		    {"ydelse", "ydelsestype", "benefit_kind", "benefit_type"},
		    true},
    [BN_START] = {"start", {"fra", "from", "startdato", "start_date"}, true},
    [BN_STOP] = {"stop",
		 {"til", "to", "slut", "slutdato", "stopdato", "stop_date"},
		 false},
    [BN_REASON] = {"reason",
		   {"stop_reason", "aarsag", "\xC3\xA5rsag", "ophoersaarsag",
		    "oph\xC3\xB8rs\xC3\xA5rsag"},
		   false},
    {NULL, {NULL}, false},
};

/* The self-support and return benefit is the former integration
 * benefit; its older names are still in exports. */
static const fields_word benefit_words[] = {
    {"education", UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
    {"education benefit", UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
    {"uddannelseshj\xC3\xA6lp", UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
    {"uddannelseshjaelp", UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
    {"cash", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
    {"cash benefit", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
    {"kontanthj\xC3\xA6lp", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
    {"kontanthjaelp", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
    {"integration", UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"integration benefit", UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"selvfors\xC3\xB8rgelses- og hjemrejseydelse",
     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"selvforsoergelses- og hjemrejseydelse",
     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"selvfors\xC3\xB8rgelses og hjemrejseydelse",
     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"selvforsoergelses og hjemrejseydelse",
     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"selvfors\xC3\xB8rgelsesydelse",
     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"selvforsoergelsesydelse",
     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"hjemrejseydelse", UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"overgangsydelse", UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {"integrationsydelse", UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
    {NULL, 0},
};

#define BENEFIT_ACCEPTED                                                      \
	"education, cash or integration (uddannelseshj\xC3\xA6lp, "           \
	"kontanthj\xC3\xA6lp, selvfors\xC3\xB8rgelses- og "                   \
	"hjemrejseydelse)"

static ug_err
benefit_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__BenefitStatus *b = &ev->payload.benefit_status;
	ungebro__v1__benefit_status__init(b);
	int32_t start, stop;
	bool stopped;
	int word;
	ug_err err;
	if ((err = fields_cpr(f[BN_CPR], "cpr", ev, diag)) ||
	    (err = fields_text(f[BN_JOBCENTER], "jobcenter", true, diag)) ||
	    (err = fields_choice(f[BN_BENEFIT], "benefit", benefit_words,
				 BENEFIT_ACCEPTED, &word, diag)) ||
	    (err = fields_date(f[BN_START], "start", &start, ev->date[0],
			       diag)) ||
	    (err = fields_date_opt(f[BN_STOP], "stop", true, &stop,
				   ev->date[1], &stopped, diag)) ||
	    (err = fields_code(f[BN_REASON], "reason", diag)))
		return err;
	if (stopped &&
	    (err = fields_not_before("stop", stop, ev->date[1], "start", start,
				     ev->date[0], diag)))
		return err;
	if (!stopped && !fields_empty(f[BN_REASON]))
		FIELDS_BAD(diag, "reason",
			   "reason is set but stop is empty (or 9999-12-31, "
			   "no end); a reason belongs to a stopped benefit");
	b->jobcenter = (char *)f[BN_JOBCENTER];
	b->benefit = (Ungebro__V1__BenefitKind)word;
	b->start = ev->date[0];
	b->stop = ev->date[1];
	b->reason = f[BN_REASON] ? (char *)f[BN_REASON] : "";
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.occurred_at = fields_day_ms(stopped ? stop : start);
	ev->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS;
	ev->env.benefit_status = b;
	/* The period is identified by who, which benefit and its start;
	 * its start and its stop are separate facts (see the top). */
	char kind[4];
	snprintf(kind, sizeof kind, "%d", (int)b->benefit);
	return fields_key(
	    ev, "jobcenter", diag, stopped ? "benefit_stop" : "benefit_start",
	    b->jobcenter, ev->cpr, kind, b->start, (const char *)NULL);
}

static const struct adapter_kind jobcenter_benefit_kind = {
    .name = "benefit",
    .description = "benefit periods: one row per young person and benefit "
		   "period, with its stop once it stopped",
    .columns = benefit_columns,
    .parse_row = benefit_parse_row,
};

/* ---- missed activation --------------------------------------------- */

enum { MA_CPR, MA_JOBCENTER, MA_DATE, MA_ACTIVITY };

static const csv_column missed_columns[] = {
    [MA_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [MA_JOBCENTER] = {"jobcenter", {"jobcenter_id", "center"}, true},
    [MA_DATE] = {"date",
		 {"dato", "missed_date", "udeblivelsesdato", "udeblevet"},
		 true},
    [MA_ACTIVITY] = {"activity",
		     {"aktivitet", "activity_code", "aktivitetskode",
		      "tilbud"},
		     false},
    {NULL, {NULL}, false},
};

static ug_err
missed_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__MissedActivation *m = &ev->payload.missed_activation;
	ungebro__v1__missed_activation__init(m);
	int32_t date;
	ug_err err;
	if ((err = fields_cpr(f[MA_CPR], "cpr", ev, diag)) ||
	    (err = fields_text(f[MA_JOBCENTER], "jobcenter", true, diag)) ||
	    (err =
		 fields_date(f[MA_DATE], "date", &date, ev->date[0], diag)) ||
	    (err = fields_code(f[MA_ACTIVITY], "activity", diag)))
		return err;
	m->jobcenter = (char *)f[MA_JOBCENTER];
	m->date = ev->date[0];
	m->activity = f[MA_ACTIVITY] ? (char *)f[MA_ACTIVITY] : "";
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.occurred_at = fields_day_ms(date);
	ev->env.payload_case =
	    UNGEBRO__V1__ENVELOPE__PAYLOAD_MISSED_ACTIVATION;
	ev->env.missed_activation = m;
	/* Two activities missed on one day are two facts. */
	return fields_key(ev, "jobcenter", diag, "missed_activation",
			  m->jobcenter, ev->cpr, m->date, m->activity,
			  (const char *)NULL);
}

static const struct adapter_kind jobcenter_missed_kind = {
    .name = "missed_activation",
    .description = "missed activation: one row per young person and "
		   "activity not turned up for",
    .columns = missed_columns,
    .parse_row = missed_parse_row,
};

static const struct adapter_kind *const jobcenter_kinds[] = {
    &jobcenter_benefit_kind,
    &jobcenter_missed_kind,
    NULL,
};

const struct adapter_ops jobcenter_ops = {
    .name = "jobcenter",
    .description = "Imports the Jobcenter's benefit periods (education, "
		   "cash and self-support benefit) and missed activations.",
    .kinds = jobcenter_kinds,
};
