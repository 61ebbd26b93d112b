/*
 * adapters/college: the student status export's rows become Enrolment
 * (start, completed, transferred), Dropout and DropoutRisk envelopes with
 * the fields and natural keys docs/ADAPTERS.md describes; Danish and
 * English status words agree; a re-export of the same row gives the same
 * id and a changed value a correction (same key, new id); every refusal
 * names its column with a reason a clerk can act on and no CPR. The CPRs
 * are synthetic.
 */
#include "tests/unit/agency_cases.h"

enum { CPR, INSTITUTION, PROGRAMME, STATUS, DATE, START, REASON, NCOLS };

static const char *const cprs[] = {"1503094321", "0101101234", NULL};

static const struct adapter_kind *
kind(void)
{
	return ac_kind(&college_ops, "status");
}

static void
good_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[CPR] = "150309-4321";
	row->field[INSTITUTION] = "751021";
	row->field[PROGRAMME] = "eud-1745";
	row->field[STATUS] = "start";
	row->field[DATE] = "2024-08-12";
	row->field[START] = NULL;
	row->field[REASON] = NULL;
}

static void
test_columns(void)
{
	static const char *const names[] = {
	    "cpr",  "institution", "programme", "status",
	    "date", "start",	   "reason",	NULL,
	};
	CHECK_EQ_STR(college_ops.name, "college");
	CHECK(college_ops.kinds[0] && !college_ops.kinds[1]);
	const struct adapter_kind *k = kind();
	ac_check_columns(k, names);
	const csv_column *c = k->columns;
	CHECK(c[CPR].required && c[INSTITUTION].required &&
	      c[PROGRAMME].required && c[STATUS].required && c[DATE].required);
	CHECK(!c[START].required && !c[REASON].required);
	CHECK(csv_column_matches(&c[STATUS], "H\xC3\xA6ndelse"));
	CHECK(csv_column_matches(&c[PROGRAMME], "Uddannelse"));
	CHECK(csv_column_matches(&c[REASON], "\xC3\x85rsag"));
	CHECK(csv_column_matches(&c[START], "Startdato"));
	CHECK(csv_column_matches(&c[INSTITUTION], "Uddannelsessted"));
}

static void
test_start(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	good_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__ENROLMENT);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-08-12"));
	CHECK_EQ_INT(e->payload_case,
		     UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT);
	CHECK_EQ_STR(e->enrolment->institution, "751021");
	CHECK_EQ_STR(e->enrolment->programme, "eud-1745");
	CHECK_EQ_STR(e->enrolment->start, "2024-08-12");
	CHECK_EQ_STR(e->enrolment->end, "");
	CHECK_EQ_INT(e->enrolment->end_reason, 0);
	AC_CHECK_KEY(&ev, "enrolment\x1f"
			  "751021\x1f"
			  "1503094321\x1f"
			  "eud-1745\x1f"
			  "2024-08-12");
	CHECK_EQ_INT(ev.natural_key_len, 0); /* wiped: it held the CPR */

	uint8_t frame[1024];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK_EQ_STR(back->enrolment->start, "2024-08-12");
	CHECK_EQ_STR(back->cpr, "1503094321");
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);

	/* A start column that agrees with date is fine. */
	row.field[START] = "12.08.2024";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_STR(ev.env.enrolment->start, "2024-08-12");
}

static void
test_end_of_enrolment(void)
{
	CHECK_OK(ug_crypto_init());
	static const struct {
		const char *status;
		int reason;
	} ends[] = {
	    {"completed", UNGEBRO__V1__ENROLMENT_END_REASON__COMPLETED},
	    {"Gennemf\xC3\xB8rt",
	     UNGEBRO__V1__ENROLMENT_END_REASON__COMPLETED},
	    {"fuldfoert", UNGEBRO__V1__ENROLMENT_END_REASON__COMPLETED},
	    {"transferred", UNGEBRO__V1__ENROLMENT_END_REASON__TRANSFERRED},
	    {"Overflyttet", UNGEBRO__V1__ENROLMENT_END_REASON__TRANSFERRED},
	};
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
		good_row(&row);
		row.field[STATUS] = ends[i].status;
		row.field[START] = "12-08-2024";
		row.field[DATE] = "20.06.2027";
		row.field[REASON] = "X1"; /* not sent for an enrolment end */
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		const Ungebro__V1__Enrolment *e = ev.env.enrolment;
		CHECK_EQ_INT(ev.env.type, UNGEBRO__V1__EVENT_TYPE__ENROLMENT);
		CHECK_EQ_STR(e->start, "2024-08-12");
		CHECK_EQ_STR(e->end, "2027-06-20");
		CHECK_EQ_INT(e->end_reason, ends[i].reason);
		CHECK_EQ_INT(ev.env.occurred_at, ac_day_ms("2027-06-20"));
		AC_CHECK_KEY(&ev, "enrolment_end\x1f"
				  "751021\x1f"
				  "1503094321\x1f"
				  "eud-1745\x1f"
				  "2024-08-12");
	}
	/* An end on its first day is an end. */
	good_row(&row);
	row.field[STATUS] = "completed";
	row.field[START] = row.field[DATE];
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
}

static void
test_dropout_and_risk(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	static const char *const dropped[] = {
	    "dropped_out", "Dropped out", "dropout", "frafald",
	    "Afbrudt",	   "udmeldt",	  NULL};
	for (size_t i = 0; dropped[i]; i++) {
		good_row(&row);
		row.field[STATUS] = dropped[i];
		row.field[DATE] = "2024-10-31";
		row.field[START] = "2024-08-12";
		row.field[REASON] = "FRA-03";
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.type, UNGEBRO__V1__EVENT_TYPE__DROPOUT);
		CHECK_EQ_INT(ev.env.payload_case,
			     UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT);
		const Ungebro__V1__Dropout *d = ev.env.dropout;
		CHECK_EQ_STR(d->institution, "751021");
		CHECK_EQ_STR(d->programme, "eud-1745");
		CHECK_EQ_STR(d->date, "2024-10-31");
		CHECK_EQ_STR(d->reason, "FRA-03");
		CHECK_EQ_INT(ev.env.occurred_at, ac_day_ms("2024-10-31"));
		AC_CHECK_KEY(&ev, "dropout\x1f"
				  "751021\x1f"
				  "1503094321\x1f"
				  "eud-1745\x1f"
				  "2024-10-31");
	}
	/* Without a reason code: empty, still a dropout. */
	good_row(&row);
	row.field[STATUS] = "frafald";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_STR(ev.env.dropout->reason, "");

	static const char *const risk[] = {"risk", "Dropout risk",
					   "frafaldstruet", "RISIKO", NULL};
	for (size_t i = 0; risk[i]; i++) {
		good_row(&row);
		row.field[STATUS] = risk[i];
		row.field[DATE] = "2024-09-30";
		row.field[REASON] = "abs.high";
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.type,
			     UNGEBRO__V1__EVENT_TYPE__DROPOUT_RISK);
		const Ungebro__V1__DropoutRisk *r = ev.env.dropout_risk;
		CHECK_EQ_STR(r->institution, "751021");
		CHECK_EQ_STR(r->programme, "eud-1745");
		CHECK_EQ_STR(r->date, "2024-09-30");
		CHECK_EQ_STR(r->reason, "abs.high");
		AC_CHECK_KEY(&ev, "dropout_risk\x1f"
				  "751021\x1f"
				  "1503094321\x1f"
				  "eud-1745\x1f"
				  "2024-09-30");
	}
	/* Start synonyms. */
	static const char *const starts[] = {"Optaget",
					     "p\xC3\xA5"
					     "begyndt",
					     "paabegyndt", "enrolled", NULL};
	for (size_t i = 0; starts[i]; i++) {
		good_row(&row);
		row.field[STATUS] = starts[i];
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.type, UNGEBRO__V1__EVENT_TYPE__ENROLMENT);
		CHECK_EQ_STR(ev.env.enrolment->end, "");
	}
}

static void
test_ids(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t start_id[16], start_key[16];
	good_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	memcpy(start_id, ev.event_id, 16);
	memcpy(start_key, ev.key_hash, 16);

	/* The same record exported again, written differently: same id. */
	row.field[CPR] = "1503094321";
	row.field[DATE] = "12.08.2024";
	row.field[STATUS] = "Optaget";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, start_id, 16);

	/* Its completion is another record, not a correction of it. */
	good_row(&row);
	row.field[STATUS] = "completed";
	row.field[START] = "2024-08-12";
	row.field[DATE] = "2027-06-20";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, start_key, 16) != 0);
	uint8_t end_id[16], end_key[16];
	memcpy(end_id, ev.event_id, 16);
	memcpy(end_key, ev.key_hash, 16);
	/* Completed corrected to transferred: same key, new id. */
	row.field[STATUS] = "transferred";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, end_key, 16);
	CHECK(memcmp(ev.event_id, end_id, 16) != 0);

	/* Each part of the start's key changes it. */
	static const struct {
		int col;
		const char *value;
	} changes[] = {
	    {CPR, "150309-4322"},
	    {INSTITUTION, "751022"},
	    {PROGRAMME, "stx"},
	    {DATE, "2024-08-13"},
	};
	for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
		good_row(&row);
		row.field[changes[i].col] = changes[i].value;
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		if (memcmp(ev.key_hash, start_key, 16) == 0)
			FAIL("changing column %d left the key unchanged",
			     changes[i].col);
	}
}

/* A programme name one byte over what an envelope's text may hold. */
static char long_text[WIRE_TEXT_MAX + 2];

static void
test_cpr_forms(void)
{
	CHECK_OK(ug_crypto_init());
	ac_check_cpr_forms(kind(), good_row, CPR);
}

static void
test_rejections(void)
{
	CHECK_OK(ug_crypto_init());
	memset(long_text, 'x', WIRE_TEXT_MAX + 1);
	static const ac_reject cases[] = {
	    AC_R1(CPR, "", "cpr", "cpr is empty"),
	    AC_R1(CPR, "150309-432", "cpr", "not a CPR number"),
	    AC_R1(CPR, "320309-4321", "cpr", "not a CPR number"),
	    AC_R1(INSTITUTION, "", "institution", "institution is empty"),
	    AC_R1(INSTITUTION, "75\t1021", "institution", "control character"),
	    AC_R1(PROGRAMME, "", "programme", "programme is empty"),
	    AC_R1(PROGRAMME, long_text, "programme",
		  "programme is longer than 256 bytes"),
	    AC_R1(STATUS, "", "status", "status is empty; it must be start"),
	    AC_R1(STATUS, "paused", "status",
		  "status must be start, completed, transferred, "
		  "dropped_out or risk"),
	    AC_R1(STATUS, "150309-4321", "status", "status must be"),
	    AC_R1(DATE, "", "date", "date is empty"),
	    AC_R1(DATE, "2024-02-30", "date",
		  "date is not a date (YYYY-MM-DD, DD-MM-YYYY or DD.MM.YYYY)"),
	    AC_R1(DATE, "31/12/2024", "date", "date is not a date"),
	    AC_R1(DATE, "12-08-24", "date", "date is not a date"),
	    AC_R1(DATE, "1900-01-01", "date",
		  "date 1900-01-01 is a placeholder date, not a real one"),
	    /* "No end" is no start. */
	    AC_R1(START, "9999-12-31", "start",
		  "start 9999-12-31 is a placeholder date, not a real one"),
	    AC_R1(START, "2024-13-01", "start", "start is not a date"),
	    AC_R1(START, "2024-08-13", "start",
		  "start 2024-08-13 differs from date 2024-08-12 in a start "
		  "row"),
	    AC_R2(STATUS, "completed", START, "", "start",
		  "start is empty; a completed row needs the day the "
		  "enrolment started"),
	    AC_R2(STATUS, "overflyttet", START, NULL, "start",
		  "a transferred row needs"),
	    AC_R2(STATUS, "completed", START, "2024-09-01", "date",
		  "date 2024-08-12 is before start 2024-09-01"),
	    AC_R2(STATUS, "frafald", START, "01.09.2024", "date",
		  "date 2024-08-12 is before start 2024-09-01"),
	    AC_R2(STATUS, "frafald", REASON, "ill health", "reason",
		  "reason must be a code"),
	    AC_R2(STATUS, "risk", REASON, "0101101234", "reason",
		  "reason looks like a CPR number"),
	    AC_R2(STATUS, "risk", REASON, "this-reason-code-is-far-too-long-x",
		  "reason", "at most 32"),
	};
	ac_check_rejections(kind(), good_row, cases,
			    sizeof cases / sizeof cases[0], cprs);
}

TEST_LIST = {
    {"columns", test_columns},
    {"start", test_start},
    {"end of enrolment", test_end_of_enrolment},
    {"dropout and risk", test_dropout_and_risk},
    {"ids", test_ids},
    {"rejections", test_rejections},
    {"cpr forms", test_cpr_forms},
    {NULL, NULL},
};
