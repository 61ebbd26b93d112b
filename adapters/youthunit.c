/*
 * The youth unit's adapter (Ungeenheden): who is responsible for whom.
 *
 *   assignment  ContactAssignment: a young person's contact person (or
 *               guidance counsellor, or mentor) from a day, until a day
 *               or open-ended. The hub addresses the person's alerts to
 *               the assignment in force.
 *   desk        DeskMembership: a caseworker staffs a duty desk from a
 *               day (until a day), possibly as its team lead. About
 *               staff, not a young person: ORGANISATIONAL, no CPR.
 *
 * A reassignment is a new assignment row for the same young person with
 * the new caseworker and a later `from`; from that day the hub routes to
 * the new one (it keeps the history and picks the assignment with the
 * latest `from` on or before the day). The old row may be exported again
 * with its `to` filled in: the same record with a changed value, so a
 * correction of it, never a second assignment.
 *
 * Reasons for a refused row name the column and never quote its text.
 */

#include "adapters/adapter.h"
#include "adapters/fields.h"
#include "common/assignment_file.h"

/* An end, not before the start; 9999-12-31 means open-ended. */
static ug_err
parse_to(const char *text, int32_t from, const char *from_iso, char iso[11],
	 ug_diag *diag)
{
	int32_t to;
	bool present;
	ug_err err =
	    fields_date_opt(text, "to", true, &to, iso, &present, diag);
	if (err == UG_OK && present)
		err = fields_not_before("to", to, iso, "from", from, from_iso,
					diag);
	return err;
}

/* ---- assignment ---------------------------------------------------- */

enum { AS_CPR, AS_CASEWORKER, AS_ROLE, AS_FROM, AS_TO };

static const csv_column assignment_columns[] = {
    [AS_CPR] = {"cpr", {UG_ASSIGN_CPR_ALIASES}, true},
    [AS_CASEWORKER] = {"caseworker", {UG_ASSIGN_CASEWORKER_ALIASES}, true},
    [AS_ROLE] = {"role", {UG_ASSIGN_ROLE_ALIASES}, false},
    [AS_FROM] = {"from", {UG_ASSIGN_FROM_ALIASES}, true},
    [AS_TO] = {"to", {UG_ASSIGN_TO_ALIASES}, false},
    {NULL, {NULL}, false},
};

static ug_err
role_unknown(ug_diag *diag)
{
	FIELDS_BAD(diag, "role",
		   "role must be " WIRE_ROLE_ACCEPTED " (" UG_ASSIGN_ROLE_WORDS
		   ")");
}

static ug_err
assignment_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__ContactAssignment *a = &ev->payload.contact_assignment;
	ungebro__v1__contact_assignment__init(a);
	int32_t from;
	/* The file's words, as hubctl assign --file reads them; the
	 * contact person when it does not say. */
	int role = fields_empty(f[AS_ROLE]) ? UG_ASSIGN_CONTACT
					    : ug_assign_role(f[AS_ROLE]);
	ug_err err;
	if ((err = fields_cpr(f[AS_CPR], "cpr", ev, diag)) ||
	    (err = fields_id(f[AS_CASEWORKER], "caseworker", diag)) ||
	    (role < 0 && (err = role_unknown(diag))) ||
	    (err =
		 fields_date(f[AS_FROM], "from", &from, ev->date[0], diag)) ||
	    (err = parse_to(f[AS_TO], from, ev->date[0], ev->date[1], diag)))
		return err;
	a->caseworker = (char *)f[AS_CASEWORKER];
	/* Both: role_kind for the hub, the text for readers older than
	 * role_kind (the hub checks that they agree). */
	a->role_kind = (Ungebro__V1__ContactRole)role;
	a->role = (char *)wire_contact_role_name(role);
	a->from = ev->date[0];
	a->to = ev->date[1];
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	ev->env.occurred_at = fields_day_ms(from);
	ev->env.payload_case =
	    UNGEBRO__V1__ENVELOPE__PAYLOAD_CONTACT_ASSIGNMENT;
	ev->env.contact_assignment = a;
	/* One assignment per young person, role and first day: who holds
	 * it and until when are its values (see the top). */
	return fields_key(ev, "cpr", diag, "assignment", ev->cpr, a->role,
			  a->from, (const char *)NULL);
}

static const struct adapter_kind youthunit_assignment_kind = {
    .name = "assignment",
    .description = "contact-person assignments: one row per young person, "
		   "role and first day",
    .columns = assignment_columns,
    .parse_row = assignment_parse_row,
};

/* ---- desk ---------------------------------------------------------- */

enum { DK_DESK, DK_CASEWORKER, DK_FROM, DK_TO, DK_LEAD };

static const csv_column desk_columns[] = {
    [DK_DESK] = {"desk", {"desk_id", "vagt", "vagtfunktion", "team"}, true},
    [DK_CASEWORKER] = {"caseworker",
		       {"case_worker", "caseworker_id", "sagsbehandler",
			"medarbejder"},
		       true},
    [DK_FROM] = {"from", {"fra", "start", "startdato", "from_date"}, true},
    [DK_TO] = {"to", {"til", "slut", "slutdato", "to_date"}, false},
    [DK_LEAD] = {"team_lead", {"teamleder", "leder", "lead"}, false},
    {NULL, {NULL}, false},
};

static ug_err
desk_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__DeskMembership *d = &ev->payload.desk_membership;
	ungebro__v1__desk_membership__init(d);
	int32_t from;
	int lead;
	ug_err err;
	if ((err = fields_id(f[DK_DESK], "desk", diag)) ||
	    (err = fields_id(f[DK_CASEWORKER], "caseworker", diag)) ||
	    (err =
		 fields_date(f[DK_FROM], "from", &from, ev->date[0], diag)) ||
	    (err = parse_to(f[DK_TO], from, ev->date[0], ev->date[1], diag)) ||
	    (err = fields_yes_no(f[DK_LEAD], "team_lead", true, &lead, diag)))
		return err;
	d->desk = (char *)f[DK_DESK];
	d->caseworker = (char *)f[DK_CASEWORKER];
	d->from = ev->date[0];
	d->to = ev->date[1];
	d->team_lead = lead == 1;
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP;
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL;
	ev->env.cpr = NULL;
	ev->env.occurred_at = fields_day_ms(from);
	ev->env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_DESK_MEMBERSHIP;
	ev->env.desk_membership = d;
	return fields_key(ev, "desk", diag, "desk", d->desk, d->caseworker,
			  d->from, (const char *)NULL);
}

static const struct adapter_kind youthunit_desk_kind = {
    .name = "desk",
    .description = "duty-desk memberships: one row per caseworker and "
		   "period on a desk (staff, no CPR)",
    .columns = desk_columns,
    .parse_row = desk_parse_row,
};

static const struct adapter_kind *const youthunit_kinds[] = {
    &youthunit_assignment_kind,
    &youthunit_desk_kind,
    NULL,
};

const struct adapter_ops youthunit_ops = {
    .name = "youthunit",
    .description = "Imports the youth unit's contact-person assignments "
		   "(and reassignments) and duty-desk memberships.",
    .kinds = youthunit_kinds,
};
