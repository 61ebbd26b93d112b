/*
 * adapters/youthunit: an assignment row becomes a ContactAssignment (role
 * contact when the file has none); its end, filled in later, corrects the
 * same assignment, while a reassignment (later `from`) is a new one; a
 * duty-desk row becomes an ORGANISATIONAL DeskMembership with no CPR;
 * every refusal names its column with a reason a clerk can act on and no
 * CPR. The CPRs are synthetic.
 */
#include "tests/unit/agency_cases.h"

enum { AS_CPR, AS_CASEWORKER, AS_ROLE, AS_FROM, AS_TO };
enum { DK_DESK, DK_CASEWORKER, DK_FROM, DK_TO, DK_LEAD };

static const char *const cprs[] = {"1503094321", "0101101234", NULL};

static const struct adapter_kind *
assignment(void)
{
	return ac_kind(&youthunit_ops, "assignment");
}

static const struct adapter_kind *
desk(void)
{
	return ac_kind(&youthunit_ops, "desk");
}

static void
assignment_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[AS_CPR] = "150309-4321";
	row->field[AS_CASEWORKER] = "cw-anna";
	row->field[AS_ROLE] = NULL;
	row->field[AS_FROM] = "2024-01-01";
	row->field[AS_TO] = NULL;
}

static void
desk_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[DK_DESK] = "duty-desk";
	row->field[DK_CASEWORKER] = "cw-desk";
	row->field[DK_FROM] = "2024-01-01";
	row->field[DK_TO] = NULL;
	row->field[DK_LEAD] = NULL;
}

static void
test_columns(void)
{
	static const char *const assignment_names[] = {
	    "cpr", "caseworker", "role", "from", "to", NULL,
	};
	static const char *const desk_names[] = {
	    "desk", "caseworker", "from", "to", "team_lead", NULL,
	};
	CHECK_EQ_STR(youthunit_ops.name, "youthunit");
	ac_check_columns(assignment(), assignment_names);
	ac_check_columns(desk(), desk_names);
	const csv_column *a = assignment()->columns, *d = desk()->columns;
	CHECK(a[AS_CPR].required && a[AS_CASEWORKER].required &&
	      a[AS_FROM].required && !a[AS_ROLE].required &&
	      !a[AS_TO].required);
	CHECK(d[DK_DESK].required && d[DK_CASEWORKER].required &&
	      d[DK_FROM].required && !d[DK_TO].required &&
	      !d[DK_LEAD].required);
	CHECK(csv_column_matches(&a[AS_CASEWORKER], "Sagsbehandler"));
	CHECK(csv_column_matches(&a[AS_ROLE], "Rolle"));
	CHECK(csv_column_matches(&a[AS_FROM], "Fra"));
	CHECK(csv_column_matches(&d[DK_LEAD], "Teamleder"));
	CHECK(csv_column_matches(&d[DK_DESK], "Vagtfunktion"));
	/* The desk's header names no CPR column at all. */
	for (size_t i = 0; d[i].name; i++)
		CHECK(!csv_column_matches(&d[i], "cpr"));
}

static void
test_assignment(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	assignment_row(&row);
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__CONTACT_ASSIGNMENT);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-01-01"));
	const Ungebro__V1__ContactAssignment *a = e->contact_assignment;
	CHECK_EQ_STR(a->caseworker, "cw-anna");
	CHECK_EQ_STR(a->role, "contact");
	CHECK_EQ_STR(a->from, "2024-01-01");
	CHECK_EQ_STR(a->to, "");
	AC_CHECK_KEY(&ev, "assignment\x1f"
			  "1503094321\x1f"
			  "contact\x1f"
			  "2024-01-01");

	static const struct {
		const char *text, *role;
	} roles[] = {
	    {"", "contact"},	      {"Kontaktperson", "contact"},
	    {"contact", "contact"},   {"UU-vejleder", "guidance"},
	    {"vejleder", "guidance"}, {"guidance", "guidance"},
	    {"MENTOR", "mentor"},
	};
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		assignment_row(&row);
		row.field[AS_ROLE] = roles[i].text;
		CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
		CHECK_EQ_STR(ev.env.contact_assignment->role, roles[i].role);
	}
	static const struct {
		const char *text, *to;
	} ends[] = {
	    {"31-12-2024", "2024-12-31"},
	    {"2024-01-01", "2024-01-01"},
	    {"9999-12-31", ""},
	    {"31.12.9999", ""},
	    {"", ""},
	};
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		assignment_row(&row);
		row.field[AS_TO] = ends[i].text;
		CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
		CHECK_EQ_STR(ev.env.contact_assignment->to, ends[i].to);
	}
	uint8_t frame[1024];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK_EQ_STR(back->contact_assignment->caseworker, "cw-anna");
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
}

static void
test_reassignment(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t id[16], key[16];
	assignment_row(&row);
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	memcpy(id, ev.event_id, 16);
	memcpy(key, ev.key_hash, 16);
	/* Exported again (dashless CPR, Danish date, role spelled out). */
	row.field[AS_CPR] = "1503094321";
	row.field[AS_FROM] = "01.01.2024";
	row.field[AS_ROLE] = "kontaktperson";
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, id, 16);
	/* Its end filled in: the same assignment corrected. */
	row.field[AS_TO] = "2024-08-31";
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, key, 16);
	CHECK(memcmp(ev.event_id, id, 16) != 0);
	/* A typo in the caseworker corrected: also the same assignment. */
	assignment_row(&row);
	row.field[AS_CASEWORKER] = "cw-anne";
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, key, 16);
	/* Handed over to another caseworker from a later day: new. */
	assignment_row(&row);
	row.field[AS_CASEWORKER] = "cw-bo";
	row.field[AS_FROM] = "2024-09-01";
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
	CHECK_EQ_INT(ev.env.occurred_at, ac_day_ms("2024-09-01"));
	/* A mentor beside the contact person is another assignment. */
	assignment_row(&row);
	row.field[AS_ROLE] = "mentor";
	CHECK_OK(ac_event(assignment(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
}

static void
test_desk(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	desk_row(&row);
	CHECK_OK(ac_event(desk(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__DESK_MEMBERSHIP);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__ORGANISATIONAL);
	CHECK(!e->cpr || !e->cpr[0]);
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-01-01"));
	const Ungebro__V1__DeskMembership *d = e->desk_membership;
	CHECK_EQ_STR(d->desk, "duty-desk");
	CHECK_EQ_STR(d->caseworker, "cw-desk");
	CHECK_EQ_STR(d->from, "2024-01-01");
	CHECK_EQ_STR(d->to, "");
	CHECK(!d->team_lead);
	AC_CHECK_KEY(&ev, "desk\x1f"
			  "duty-desk\x1f"
			  "cw-desk\x1f"
			  "2024-01-01");
	uint8_t frame[1024], key[16];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK_EQ_STR(back->cpr, "");
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
	memcpy(key, ev.key_hash, 16);

	static const struct {
		const char *text;
		bool lead;
	} leads[] = {{"ja", true},   {"X", true}, {"yes", true},
		     {"nej", false}, {"", false}, {"0", false}};
	for (size_t i = 0; i < sizeof leads / sizeof leads[0]; i++) {
		desk_row(&row);
		row.field[DK_LEAD] = leads[i].text;
		row.field[DK_TO] = "2024-12-31";
		CHECK_OK(ac_event(desk(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.desk_membership->team_lead, leads[i].lead);
		CHECK_EQ_STR(ev.env.desk_membership->to, "2024-12-31");
		CHECK_EQ_MEM(ev.key_hash, key, 16); /* values, not key */
	}
}

static void
test_cpr_forms(void)
{
	CHECK_OK(ug_crypto_init());
	ac_check_cpr_forms(assignment(), assignment_row, AS_CPR);
}

static void
test_rejections(void)
{
	CHECK_OK(ug_crypto_init());
	static const ac_reject assignment_cases[] = {
	    AC_R1(AS_CPR, "", "cpr", "cpr is empty"),
	    AC_R1(AS_CPR, "150309+4321", "cpr", "not a CPR number"),
	    AC_R1(AS_CASEWORKER, "", "caseworker", "caseworker is empty"),
	    AC_R1(AS_CASEWORKER, "Anna Berg", "caseworker",
		  "caseworker must be an id as registered with the hub"),
	    /* Registered ids are lower case and start with a letter or
	     * digit: the hub would refuse these. */
	    AC_R1(AS_CASEWORKER, "CW-anna", "caseworker",
		  "caseworker must be an id as registered with the hub"),
	    AC_R1(AS_CASEWORKER, "_anna", "caseworker",
		  "caseworker must be an id as registered with the hub"),
	    /* A CPR in an id would reach the hub's logs and labels. */
	    AC_R1(AS_CASEWORKER, "cw-010110-1234", "caseworker",
		  "caseworker must be an id as registered with the hub (at "
		  "most 63 of a-z 0-9 . _ -, starting with a letter or "
		  "digit, holding no CPR number)"),
	    AC_R1(AS_CASEWORKER,
		  "cw-0123456789012345678901234567890123456789012345678901234"
		  "567890",
		  "caseworker", "at most 63"),
	    AC_R1(AS_ROLE, "boss", "role",
		  "role must be contact, guidance or mentor"),
	    AC_R1(AS_FROM, "", "from", "from is empty"),
	    AC_R1(AS_FROM, "1/1/2024", "from", "from is not a date"),
	    AC_R1(AS_TO, "2023-12-31", "to",
		  "to 2023-12-31 is before from 2024-01-01"),
	    AC_R1(AS_TO, "2024-13-01", "to", "to is not a date"),
	};
	ac_check_rejections(
	    assignment(), assignment_row, assignment_cases,
	    sizeof assignment_cases / sizeof assignment_cases[0], cprs);
	static const ac_reject desk_cases[] = {
	    AC_R1(DK_DESK, "", "desk", "desk is empty"),
	    AC_R1(DK_DESK, "duty desk", "desk",
		  "desk must be an id as registered with the hub"),
	    AC_R1(DK_DESK, "0101101234", "desk",
		  "desk looks like a CPR number"),
	    AC_R1(DK_CASEWORKER, "150309-4321", "caseworker",
		  "caseworker looks like a CPR number"),
	    AC_R1(DK_CASEWORKER, "", "caseworker", "caseworker is empty"),
	    AC_R1(DK_CASEWORKER, "cw/desk", "caseworker",
		  "caseworker must be an id"),
	    AC_R1(DK_FROM, "", "from", "from is empty"),
	    AC_R1(DK_FROM, "2024-02-30", "from", "from is not a date"),
	    AC_R1(DK_TO, "2023-06-30", "to",
		  "to 2023-06-30 is before from 2024-01-01"),
	    AC_R1(DK_LEAD, "maybe", "team_lead",
		  "team_lead must be yes or no"),
	};
	ac_check_rejections(desk(), desk_row, desk_cases,
			    sizeof desk_cases / sizeof desk_cases[0], cprs);
}

TEST_LIST = {
    {"columns", test_columns},
    {"assignment", test_assignment},
    {"reassignment", test_reassignment},
    {"desk", test_desk},
    {"rejections", test_rejections},
    {"cpr forms", test_cpr_forms},
    {NULL, NULL},
};
