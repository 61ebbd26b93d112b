/*
 * The college adapter, for the youth education institutions: gymnasium,
 * vocational colleges (EUD) and the preparatory basic education (FGU).
 * Institutions must tell the municipality of admission, imminent risk of
 * dropout, dropout and completion; one export with a status column holds
 * all of them, one row per student and status:
 *
 *   status       event          payload
 *   start        Enrolment      start = date, no end
 *   completed    Enrolment      start, end = date, end_reason COMPLETED
 *   transferred  Enrolment      start, end = date, end_reason TRANSFERRED
 *   dropped_out  Dropout        date, programme, reason code
 *   risk         DropoutRisk    date, programme, reason code
 *
 * A dropout is its own event (the hub alerts at once and starts the legal
 * clocks), never an Enrolment end, so no dropout reaches the hub twice.
 * Reasons for a refused row name the column and never quote its text.
 */
#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/fields.h"

enum {
	COL_CPR,
	COL_INSTITUTION,
	COL_PROGRAMME,
	COL_STATUS,
	COL_DATE,
	COL_START,
	COL_REASON,
};

static const csv_column status_columns[] = {
    [COL_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [COL_INSTITUTION] = {"institution",
			 {"institution_id", "institutionsnummer", "skole",
			  "uddannelsessted"},
			 true},
    [COL_PROGRAMME] = {"programme",
		       {"program", "education", "uddannelse",
			"uddannelseskode", "programme_code"},
		       true},
    [COL_STATUS] = {"status",
		    {"event", "haendelse", "h\xC3\xA6ndelse", "statuskode"},
		    true},
    [COL_DATE] = {"date", {"dato", "status_date", "statusdato"}, true},
    [COL_START] = {"start",
		   {"start_date", "startdato", "enrolment_start",
		    "optagelsesdato"},
		   false},
    [COL_REASON] = {"reason",
		    {"reason_code", "aarsag", "\xC3\xA5rsag", "aarsagskode",
		     "\xC3\xA5rsagskode"},
		    false},
    {NULL, {NULL}, false},
};

enum status { ST_START, ST_COMPLETED, ST_TRANSFERRED, ST_DROPPED, ST_RISK };

static const fields_word status_words[] = {
    {"start", ST_START},
    {"started", ST_START},
    {"enrolled", ST_START},
    {"enrolment", ST_START},
    {"optaget", ST_START},
    {"optagelse", ST_START},
    {"p\xC3\xA5"
     "begyndt",
     ST_START},
    {"paabegyndt", ST_START},
    {"begyndt", ST_START},
    {"completed", ST_COMPLETED},
    {"gennemf\xC3\xB8rt", ST_COMPLETED},
    {"gennemfoert", ST_COMPLETED},
    {"fuldf\xC3\xB8rt", ST_COMPLETED},
    {"fuldfoert", ST_COMPLETED},
    {"afsluttet", ST_COMPLETED},
    {"transferred", ST_TRANSFERRED},
    {"transfer", ST_TRANSFERRED},
    {"overflyttet", ST_TRANSFERRED},
    {"overflytning", ST_TRANSFERRED},
    {"skiftet", ST_TRANSFERRED},
    {"dropped out", ST_DROPPED},
    {"dropout", ST_DROPPED},
    {"frafald", ST_DROPPED},
    {"frafaldet", ST_DROPPED},
    {"afbrudt", ST_DROPPED},
    {"udmeldt", ST_DROPPED},
    {"risk", ST_RISK},
    {"dropout risk", ST_RISK},
    {"frafaldstruet", ST_RISK},
    {"risiko", ST_RISK},
    {"frafaldsrisiko", ST_RISK},
    {NULL, 0},
};

#define STATUS_ACCEPTED                                                       \
	"start, completed, transferred, dropped_out or risk (optaget, "       \
	"gennemf\xC3\xB8rt, overflyttet, frafald, frafaldstruet)"

/* Start and end of one enrolment: the end needs the start it closes. */
static ug_err
fill_enrolment(const adapter_row *row, adapter_event *ev, enum status st,
	       int32_t date, bool have_start, int32_t start, ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__Enrolment *e = &ev->payload.enrolment;
	ungebro__v1__enrolment__init(e);
	e->institution = (char *)f[COL_INSTITUTION];
	e->programme = (char *)f[COL_PROGRAMME];
	if (st == ST_START) {
		/* A start row's date is the start; a start column that
		 * disagrees with it is a contradiction, not a choice. */
		if (have_start && start != date)
			FIELDS_BAD(diag, "start",
				   "start %s differs from date %s in a start "
				   "row",
				   ev->date[1], ev->date[0]);
		e->start = ev->date[0];
		ev->env.occurred_at = fields_day_ms(date);
		return fields_key(ev, "institution", diag, "enrolment",
				  e->institution, ev->cpr, e->programme,
				  e->start, (const char *)NULL);
	}
	if (!have_start)
		FIELDS_BAD(diag, "start",
			   "start is empty; a %s row needs the day the "
			   "enrolment started",
			   st == ST_COMPLETED ? "completed" : "transferred");
	e->start = ev->date[1];
	e->end = ev->date[0];
	e->end_reason = st == ST_COMPLETED
			    ? UNGEBRO__V1__ENROLMENT_END_REASON__COMPLETED
			    : UNGEBRO__V1__ENROLMENT_END_REASON__TRANSFERRED;
	ev->env.occurred_at = fields_day_ms(date);
	/* The end of the enrolment that began on `start`: one per
	 * enrolment, its day and reason are values (a corrected row
	 * supersedes); distinct from the start event's key. */
	return fields_key(ev, "institution", diag, "enrolment_end",
			  e->institution, ev->cpr, e->programme, e->start,
			  (const char *)NULL);
}

static ug_err
status_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	const char *const *f = row->field;
	int32_t date, start;
	bool have_start;
	int word;
	ug_err err;
	if ((err = fields_cpr(f[COL_CPR], "cpr", ev, diag)) ||
	    (err =
		 fields_text(f[COL_INSTITUTION], "institution", true, diag)) ||
	    (err = fields_text(f[COL_PROGRAMME], "programme", true, diag)) ||
	    (err = fields_choice(f[COL_STATUS], "status", status_words,
				 STATUS_ACCEPTED, &word, diag)) ||
	    (err =
		 fields_date(f[COL_DATE], "date", &date, ev->date[0], diag)) ||
	    (err = fields_date_opt(f[COL_START], "start", false, &start,
				   ev->date[1], &have_start, diag)) ||
	    (err = fields_code(f[COL_REASON], "reason", diag)))
		return err;
	enum status st = (enum status)word;
	/* Nothing ends, drops out or is at risk before it began. */
	if (have_start && st != ST_START &&
	    (err = fields_not_before("date", date, ev->date[0], "start", start,
				     ev->date[1], diag)))
		return err;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	switch (st) {
	case ST_START:
	case ST_COMPLETED:
	case ST_TRANSFERRED:
		ev->env.type = UNGEBRO__V1__EVENT_TYPE__ENROLMENT;
		ev->env.payload_case =
		    UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT;
		ev->env.enrolment = &ev->payload.enrolment;
		return fill_enrolment(row, ev, st, date, have_start, start,
				      diag);
	case ST_DROPPED: {
		Ungebro__V1__Dropout *d = &ev->payload.dropout;
		ungebro__v1__dropout__init(d);
		d->institution = (char *)f[COL_INSTITUTION];
		d->programme = (char *)f[COL_PROGRAMME];
		d->date = ev->date[0];
		d->reason = f[COL_REASON] ? (char *)f[COL_REASON] : "";
		ev->env.type = UNGEBRO__V1__EVENT_TYPE__DROPOUT;
		ev->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT;
		ev->env.dropout = d;
		ev->env.occurred_at = fields_day_ms(date);
		return fields_key(ev, "institution", diag, "dropout",
				  d->institution, ev->cpr, d->programme,
				  d->date, (const char *)NULL);
	}
	case ST_RISK: {
		Ungebro__V1__DropoutRisk *r = &ev->payload.dropout_risk;
		ungebro__v1__dropout_risk__init(r);
		r->institution = (char *)f[COL_INSTITUTION];
		r->programme = (char *)f[COL_PROGRAMME];
		r->date = ev->date[0];
		r->reason = f[COL_REASON] ? (char *)f[COL_REASON] : "";
		ev->env.type = UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK;
		ev->env.payload_case =
		    UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK;
		ev->env.dropout_risk = r;
		ev->env.occurred_at = fields_day_ms(date);
		return fields_key(ev, "institution", diag, "dropout_risk",
				  r->institution, ev->cpr, r->programme,
				  r->date, (const char *)NULL);
	}
	}
	FIELDS_BAD(diag, "status", "status must be " STATUS_ACCEPTED);
}

static const struct adapter_kind college_status_kind = {
    .name = "status",
    .description = "student status: one row per student and status (start, "
		   "completed, transferred, dropped_out, risk)",
    .columns = status_columns,
    .parse_row = status_parse_row,
};

static const struct adapter_kind *const college_kinds[] = {
    &college_status_kind,
    NULL,
};

const struct adapter_ops college_ops = {
    .name = "college",
    .description = "Imports a youth education institution's (gymnasium, "
		   "EUD, FGU) student status exports: enrolments, "
		   "completions, transfers, dropouts and dropout risks.",
    .kinds = college_kinds,
};
