/*
 * adapters/jobcenter: a benefit period's row becomes a BenefitStatus for
 * its start, or for its stop once the stop column is filled (two facts,
 * two natural keys); a missed activation becomes a MissedActivation; the
 * Danish benefit names map to the three kinds; every refusal names its
 * column with a reason a clerk can act on and no CPR. The CPRs are
 * synthetic.
 */
#include "tests/unit/agency_cases.h"

enum { BN_CPR, BN_JOBCENTER, BN_BENEFIT, BN_START, BN_STOP, BN_REASON };
enum { MA_CPR, MA_JOBCENTER, MA_DATE, MA_ACTIVITY };

static const char *const cprs[] = {"1503094321", "0101101234", NULL};

static const struct adapter_kind *
benefit(void)
{
	return ac_kind(&jobcenter_ops, "benefit");
}

static const struct adapter_kind *
missed(void)
{
	return ac_kind(&jobcenter_ops, "missed_activation");
}

static void
benefit_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[BN_CPR] = "150309-4321";
	row->field[BN_JOBCENTER] = "jc-albertslund";
	row->field[BN_BENEFIT] = "uddannelseshj\xC3\xA6lp";
	row->field[BN_START] = "2024-02-01";
	row->field[BN_STOP] = NULL;
	row->field[BN_REASON] = NULL;
}

static void
missed_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[MA_CPR] = "150309-4321";
	row->field[MA_JOBCENTER] = "jc-albertslund";
	row->field[MA_DATE] = "2024-03-05";
	row->field[MA_ACTIVITY] = "VIRK-PRAK";
}

static void
test_columns(void)
{
	static const char *const benefit_names[] = {
	    "cpr", "jobcenter", "benefit", "start", "stop", "reason", NULL,
	};
	static const char *const missed_names[] = {
	    "cpr", "jobcenter", "date", "activity", NULL,
	};
	CHECK_EQ_STR(jobcenter_ops.name, "jobcenter");
	ac_check_columns(benefit(), benefit_names);
	ac_check_columns(missed(), missed_names);
	const csv_column *b = benefit()->columns, *m = missed()->columns;
	CHECK(b[BN_CPR].required && b[BN_JOBCENTER].required &&
	      b[BN_BENEFIT].required && b[BN_START].required);
	CHECK(!b[BN_STOP].required && !b[BN_REASON].required);
	CHECK(m[MA_DATE].required && !m[MA_ACTIVITY].required);
	CHECK(csv_column_matches(&b[BN_BENEFIT], "Ydelse"));
	CHECK(csv_column_matches(&b[BN_STOP], "Slutdato"));
	CHECK(csv_column_matches(&b[BN_REASON], "Oph\xC3\xB8rs\xC3\xA5rsag"));
	CHECK(csv_column_matches(&m[MA_ACTIVITY], "Aktivitet"));
	CHECK(csv_column_matches(&m[MA_DATE], "Udeblivelsesdato"));
}

static void
test_benefit(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	benefit_row(&row);
	CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__BENEFIT_STATUS);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-02-01"));
	const Ungebro__V1__BenefitStatus *b = e->benefit_status;
	CHECK_EQ_STR(b->jobcenter, "jc-albertslund");
	CHECK_EQ_INT(b->benefit, UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT);
	CHECK_EQ_STR(b->start, "2024-02-01");
	CHECK_EQ_STR(b->stop, "");
	CHECK_EQ_STR(b->reason, "");
	AC_CHECK_KEY(&ev, "benefit_start\x1f"
			  "jc-albertslund\x1f"
			  "1503094321\x1f"
			  "1\x1f"
			  "2024-02-01");
	uint8_t start_key[16];
	memcpy(start_key, ev.key_hash, 16);

	/* The same period, stopped: its own fact, dated by the stop. */
	row.field[BN_STOP] = "30-06-2024";
	row.field[BN_REASON] = "JOB";
	CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
	b = ev.env.benefit_status;
	CHECK_EQ_STR(b->start, "2024-02-01");
	CHECK_EQ_STR(b->stop, "2024-06-30");
	CHECK_EQ_STR(b->reason, "JOB");
	CHECK_EQ_INT(ev.env.occurred_at, ac_day_ms("2024-06-30"));
	AC_CHECK_KEY(&ev, "benefit_stop\x1f"
			  "jc-albertslund\x1f"
			  "1503094321\x1f"
			  "1\x1f"
			  "2024-02-01");
	CHECK(memcmp(ev.key_hash, start_key, 16) != 0);
	uint8_t stop_id[16], stop_key[16];
	memcpy(stop_id, ev.event_id, 16);
	memcpy(stop_key, ev.key_hash, 16);
	/* Its reason corrected: same key, new id. */
	row.field[BN_REASON] = "UDD";
	CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, stop_key, 16);
	CHECK(memcmp(ev.event_id, stop_id, 16) != 0);
	/* A stop on the first day is a stop. */
	row.field[BN_STOP] = row.field[BN_START];
	row.field[BN_REASON] = NULL;
	CHECK_OK(ac_event(benefit(), &row, &ev, &diag));

	/* The same start exported again, written differently. */
	uint8_t id[16];
	benefit_row(&row);
	CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
	memcpy(id, ev.event_id, 16);
	row.field[BN_CPR] = "1503094321";
	row.field[BN_BENEFIT] = "Uddannelseshjaelp";
	row.field[BN_START] = "01.02.2024";
	row.field[BN_STOP] = "";
	row.field[BN_REASON] = "";
	CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, id, 16);
	/* 9999-12-31, the documented "no end", is the running benefit: the
	 * same start event, with an empty stop, not a refused row. */
	static const char *const no_end[] = {"9999-12-31", "31-12-9999",
					     "31.12.9999"};
	for (size_t i = 0; i < 3; i++) {
		row.field[BN_STOP] = no_end[i];
		CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
		CHECK_EQ_STR(ev.env.benefit_status->stop, "");
		CHECK_EQ_INT(ev.env.occurred_at, ac_day_ms("2024-02-01"));
		CHECK_EQ_MEM(ev.event_id, id, 16);
	}
	row.field[BN_STOP] = "";

	uint8_t frame[1024];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK_EQ_INT(back->benefit_status->benefit,
		     UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
}

static void
test_benefit_kinds(void)
{
	CHECK_OK(ug_crypto_init());
	static const struct {
		const char *text;
		int kind;
	} kinds[] = {
	    {"education", UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
	    {"Education benefit",
	     UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
	    {"UDDANNELSESHJ\xC3\x86LP",
	     UNGEBRO__V1__BENEFIT_KIND__EDUCATION_BENEFIT},
	    {"cash", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
	    {"Kontanthj\xC3\xA6lp", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
	    {"kontanthjaelp", UNGEBRO__V1__BENEFIT_KIND__CASH_BENEFIT},
	    {"integration", UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
	    {"Selvfors\xC3\xB8rgelses- og hjemrejseydelse",
	     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
	    {"selvforsoergelses og hjemrejseydelse",
	     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
	    {"hjemrejseydelse",
	     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
	    {"Integrationsydelse",
	     UNGEBRO__V1__BENEFIT_KIND__INTEGRATION_BENEFIT},
	};
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t keys[3][16];
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		benefit_row(&row);
		row.field[BN_BENEFIT] = kinds[i].text;
		CHECK_OK(ac_event(benefit(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.benefit_status->benefit, kinds[i].kind);
		memcpy(keys[kinds[i].kind - 1], ev.key_hash, 16);
	}
	/* Two benefits from one day are two periods. */
	CHECK(memcmp(keys[0], keys[1], 16) != 0);
	CHECK(memcmp(keys[1], keys[2], 16) != 0);
}

static void
test_missed_activation(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	missed_row(&row);
	CHECK_OK(ac_event(missed(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__MISSED_ACTIVATION);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__PERSONAL);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-03-05"));
	CHECK_EQ_STR(e->missed_activation->jobcenter, "jc-albertslund");
	CHECK_EQ_STR(e->missed_activation->date, "2024-03-05");
	CHECK_EQ_STR(e->missed_activation->activity, "VIRK-PRAK");
	AC_CHECK_KEY(&ev, "missed_activation\x1f"
			  "jc-albertslund\x1f"
			  "1503094321\x1f"
			  "2024-03-05\x1f"
			  "VIRK-PRAK");
	uint8_t key[16];
	memcpy(key, ev.key_hash, 16);
	/* Another activity the same day is another fact. */
	row.field[MA_ACTIVITY] = "SAMTALE";
	CHECK_OK(ac_event(missed(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
	/* Without an activity code (column absent or blank). */
	row.field[MA_ACTIVITY] = NULL;
	CHECK_OK(ac_event(missed(), &row, &ev, &diag));
	CHECK_EQ_STR(ev.env.missed_activation->activity, "");
	AC_CHECK_KEY(&ev, "missed_activation\x1f"
			  "jc-albertslund\x1f"
			  "1503094321\x1f"
			  "2024-03-05\x1f");
	row.field[MA_ACTIVITY] = "";
	row.field[MA_DATE] = "05-03-2024";
	CHECK_OK(ac_event(missed(), &row, &ev, &diag));
	AC_CHECK_KEY(&ev, "missed_activation\x1f"
			  "jc-albertslund\x1f"
			  "1503094321\x1f"
			  "2024-03-05\x1f");
}

static void
test_cpr_forms(void)
{
	CHECK_OK(ug_crypto_init());
	ac_check_cpr_forms(benefit(), benefit_row, BN_CPR);
	ac_check_cpr_forms(missed(), missed_row, MA_CPR);
}

static void
test_rejections(void)
{
	CHECK_OK(ug_crypto_init());
	static const ac_reject benefit_cases[] = {
	    AC_R1(BN_CPR, "", "cpr", "cpr is empty"),
	    AC_R1(BN_CPR, "151309-4321", "cpr", "not a CPR number"),
	    AC_R1(BN_JOBCENTER, "", "jobcenter", "jobcenter is empty"),
	    AC_R1(BN_BENEFIT, "", "benefit", "benefit is empty"),
	    AC_R1(BN_BENEFIT, "boligst\xC3\xB8tte", "benefit",
		  "benefit must be education, cash or integration"),
	    AC_R1(BN_BENEFIT, "1503094321", "benefit", "benefit must be"),
	    AC_R1(BN_START, "", "start", "start is empty"),
	    AC_R1(BN_START, "2024-2-1", "start", "start is not a date"),
	    AC_R1(BN_STOP, "2024-06-31", "stop", "stop is not a date"),
	    AC_R1(BN_STOP, "2024-01-31", "stop",
		  "stop 2024-01-31 is before start 2024-02-01"),
	    AC_R1(BN_STOP, "2100-01-01", "stop", "out of range"),
	    AC_R2(BN_STOP, "9999-12-31", BN_REASON, "JOB", "reason",
		  "reason is set but stop is empty (or 9999-12-31"),
	    AC_R1(BN_REASON, "JOB", "reason",
		  "reason is set but stop is empty"),
	    AC_R2(BN_STOP, "2024-06-30", BN_REASON, "fik job i Netto",
		  "reason", "reason must be a code"),
	    AC_R2(BN_STOP, "2024-06-30", BN_REASON, "150309-4321", "reason",
		  "reason looks like a CPR number"),
	};
	ac_check_rejections(benefit(), benefit_row, benefit_cases,
			    sizeof benefit_cases / sizeof benefit_cases[0],
			    cprs);
	static const ac_reject missed_cases[] = {
	    AC_R1(MA_CPR, "", "cpr", "cpr is empty"),
	    AC_R1(MA_CPR, "0101101234x", "cpr", "not a CPR number"),
	    AC_R1(MA_JOBCENTER, "", "jobcenter", "jobcenter is empty"),
	    AC_R1(MA_DATE, "", "date", "date is empty"),
	    AC_R1(MA_DATE, "2024-03-32", "date", "date is not a date"),
	    AC_R1(MA_DATE, "2100-01-01", "date", "out of range"),
	    AC_R1(MA_DATE, "01-01-1970", "date",
		  "date 1970-01-01 is a placeholder date, not a real one"),
	    AC_R1(MA_DATE, "31.12.9999", "date",
		  "date 9999-12-31 is a placeholder date, not a real one"),
	    AC_R1(MA_ACTIVITY,
		  "m\xC3\xB8"
		  "dte ikke op",
		  "activity", "activity must be a code"),
	    AC_R1(MA_ACTIVITY, "0101101234", "activity",
		  "activity looks like a CPR number"),
	};
	ac_check_rejections(missed(), missed_row, missed_cases,
			    sizeof missed_cases / sizeof missed_cases[0],
			    cprs);
}

TEST_LIST = {
    {"columns", test_columns},
    {"benefit", test_benefit},
    {"benefit kinds", test_benefit_kinds},
    {"missed activation", test_missed_activation},
    {"rejections", test_rejections},
    {"cpr forms", test_cpr_forms},
    {NULL, NULL},
};
