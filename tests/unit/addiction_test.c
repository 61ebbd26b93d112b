/*
 * adapters/addiction: a referral or treatment stage becomes a
 * SPECIAL_CATEGORY AddictionReferral carrying the young person's consent
 * (given or not, scope, expiry); an anonymous counselling row becomes an
 * ANONYMOUS event with no CPR anywhere (envelope, frame, natural key); a
 * blank CPR is never taken for anonymous; every refusal names its column
 * with a reason a clerk can act on and no CPR. The CPRs are synthetic.
 */
#include "tests/unit/agency_cases.h"

enum {
	CPR,
	ANONYMOUS,
	RECORD,
	SERVICE,
	DATE,
	STAGE,
	CONSENT,
	SCOPE,
	EXPIRES,
	NCOLS
};

static const char *const cprs[] = {"1503094321", "0101101234", NULL};

static const struct adapter_kind *
kind(void)
{
	return ac_kind(&addiction_ops, "referral");
}

static void
good_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[CPR] = "150309-4321";
	row->field[ANONYMOUS] = NULL;
	row->field[RECORD] = NULL;
	row->field[SERVICE] = "rmc-albertslund";
	row->field[DATE] = "2024-03-01";
	row->field[STAGE] = "henvist";
	row->field[CONSENT] = "ja";
	row->field[SCOPE] = "henvisning";
	row->field[EXPIRES] = "2024-12-31";
}

/* An anonymous counselling row as the centre's export writes it. */
static void
anonymous_row(adapter_row *row)
{
	memset(row, 0, sizeof *row);
	row->field[CPR] = "";
	row->field[ANONYMOUS] = "ja";
	row->field[RECORD] = "A-2024-017";
	row->field[SERVICE] = "rmc-albertslund";
	row->field[DATE] = "2024-03-04";
	row->field[STAGE] = "started";
	row->field[CONSENT] = "";
	row->field[SCOPE] = "";
	row->field[EXPIRES] = "";
}

static void
test_columns(void)
{
	static const char *const names[] = {
	    "cpr",   "anonymous", "record_id",	   "service",	      "date",
	    "stage", "consent",	  "consent_scope", "consent_expires", NULL,
	};
	CHECK_EQ_STR(addiction_ops.name, "addiction");
	const struct adapter_kind *k = kind();
	ac_check_columns(k, names);
	const csv_column *c = k->columns;
	CHECK(c[CPR].required && c[SERVICE].required && c[DATE].required &&
	      c[STAGE].required);
	CHECK(!c[ANONYMOUS].required && !c[RECORD].required &&
	      !c[CONSENT].required && !c[SCOPE].required &&
	      !c[EXPIRES].required);
	CHECK(csv_column_matches(&c[CONSENT], "Samtykke"));
	CHECK(csv_column_matches(&c[STAGE], "Forl\xC3\xB8"
					    "b"));
	CHECK(csv_column_matches(&c[EXPIRES], "Samtykke udl\xC3\xB8"
					      "ber"));
	CHECK(csv_column_matches(&c[ANONYMOUS], "Anonym"));
	CHECK(csv_column_matches(&c[RECORD], "L\xC3\xB8"
					     "benr"));
}

static void
test_referral(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	good_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL);
	CHECK_EQ_INT(e->sensitivity,
		     UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY);
	CHECK_EQ_STR(e->cpr, "1503094321");
	CHECK_EQ_INT(e->occurred_at, ac_day_ms("2024-03-01"));
	const Ungebro__V1__AddictionReferral *a = e->addiction_referral;
	CHECK_EQ_STR(a->service, "rmc-albertslund");
	CHECK_EQ_STR(a->date, "2024-03-01");
	CHECK_EQ_INT(a->stage, UNGEBRO__V1__REFERRAL_STAGE__REFERRED);
	CHECK(a->consent);
	CHECK(a->consent->given);
	CHECK_EQ_STR(a->consent->scope, "referral");
	CHECK_EQ_STR(a->consent->expires, "2024-12-31");
	AC_CHECK_KEY(&ev, "addiction\x1f"
			  "rmc-albertslund\x1f"
			  "1503094321\x1f"
			  "1\x1f"
			  "2024-03-01");

	uint8_t frame[1024];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK(back->addiction_referral->consent->given);
	CHECK_EQ_STR(back->addiction_referral->consent->scope, "referral");
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
}

static void
test_stages_and_consent(void)
{
	CHECK_OK(ug_crypto_init());
	static const struct {
		const char *text;
		int stage;
	} stages[] = {
	    {"referred", UNGEBRO__V1__REFERRAL_STAGE__REFERRED},
	    {"Henvisning", UNGEBRO__V1__REFERRAL_STAGE__REFERRED},
	    {"startet", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
	    {"Treatment-started",
	     UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
	    {"behandling startet",
	     UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
	    {"ended", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
	    {"Behandling afsluttet",
	     UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
	    {"oph\xC3\xB8rt", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
	};
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
		good_row(&row);
		row.field[STAGE] = stages[i].text;
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		CHECK_EQ_INT(ev.env.addiction_referral->stage,
			     stages[i].stage);
	}
	static const struct {
		const char *scope, *want;
	} scopes[] = {
	    {"referral", "referral"},
	    {"Stage", "stage"},
	    {"forl\xC3\xB8"
	     "b",
	     "stage"},
	    {"henvisning, forl\xC3\xB8"
	     "b",
	     "referral,stage"},
	    {"referral/stage", "referral,stage"},
	    {"henvisning og behandling", "referral,stage"},
	    {"alt", "referral,stage"},
	    {"ALL", "referral,stage"},
	};
	for (size_t i = 0; i < sizeof scopes / sizeof scopes[0]; i++) {
		good_row(&row);
		row.field[SCOPE] = scopes[i].scope;
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		CHECK_EQ_STR(ev.env.addiction_referral->consent->scope,
			     scopes[i].want);
	}
	/* Until withdrawn: no expiry, or the 9999-12-31 placeholder. */
	static const char *const open[] = {"", "9999-12-31", "31-12-9999",
					   NULL};
	for (size_t i = 0; open[i]; i++) {
		good_row(&row);
		row.field[EXPIRES] = open[i];
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		CHECK_EQ_STR(ev.env.addiction_referral->consent->expires, "");
	}
	good_row(&row);
	row.field[EXPIRES] = NULL; /* the column is absent */
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_STR(ev.env.addiction_referral->consent->expires, "");
	row.field[EXPIRES] = "01.03.2024"; /* the day itself: still valid */
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_STR(ev.env.addiction_referral->consent->expires,
		     "2024-03-01");

	/* Not given (or withdrawn): nothing else about it travels. */
	static const char *const no[] = {
	    "nej", "No", "ikke givet", "withdrawn", "tilbagekaldt", NULL};
	for (size_t i = 0; no[i]; i++) {
		good_row(&row);
		row.field[CONSENT] = no[i];
		row.field[SCOPE] = "";
		row.field[EXPIRES] = NULL;
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		const Ungebro__V1__Consent *c =
		    ev.env.addiction_referral->consent;
		CHECK(!c->given);
		CHECK_EQ_STR(c->scope, "");
		CHECK_EQ_STR(c->expires, "");
		CHECK_EQ_INT(ev.env.sensitivity,
			     UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY);
		CHECK_EQ_STR(diag.reason, "");
	}
	/* A withdrawal that still carries the consent it ends: a withdrawal
	 * all the same, the stale scope and expiry dropped with a note (not
	 * a refusal, which would keep the hub sharing on the old "yes"). */
	static const struct {
		const char *scope, *expires, *note;
	} stale[] = {
	    {"henvisning", "2024-12-31", "consent_scope"},
	    {"alt", NULL, "consent_scope"},
	    {"", "2024-12-31", "consent_expires"},
	    {NULL, "2024-02-01", "consent_expires"},
	    {"", "9999-12-31", ""},
	};
	for (size_t i = 0; i < sizeof stale / sizeof stale[0]; i++) {
		good_row(&row);
		row.field[CONSENT] = "tilbagekaldt";
		row.field[SCOPE] = stale[i].scope;
		row.field[EXPIRES] = stale[i].expires;
		CHECK_OK(ac_event(kind(), &row, &ev, &diag));
		const Ungebro__V1__Consent *c =
		    ev.env.addiction_referral->consent;
		CHECK(!c->given);
		CHECK_EQ_STR(c->scope, "");
		CHECK_EQ_STR(c->expires, "");
		CHECK_EQ_STR(diag.field, stale[i].note);
		if (stale[i].note[0])
			CHECK(strstr(diag.reason, "sent as a withdrawal"));
	}
}

static void
test_ids(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t id[16], key[16];
	good_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	memcpy(id, ev.event_id, 16);
	memcpy(key, ev.key_hash, 16);
	/* Re-exported, written differently: the same id. */
	row.field[CPR] = "1503094321";
	row.field[DATE] = "01-03-2024";
	row.field[STAGE] = "Referred";
	row.field[CONSENT] = "Yes";
	row.field[SCOPE] = "Referral";
	row.field[EXPIRES] = "31.12.2024";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.event_id, id, 16);
	/* The consent withdrawn: a correction of the same referral. */
	row.field[CONSENT] = "tilbagekaldt";
	row.field[SCOPE] = NULL;
	row.field[EXPIRES] = NULL;
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_MEM(ev.key_hash, key, 16);
	CHECK(memcmp(ev.event_id, id, 16) != 0);
	/* Another stage is another record. */
	good_row(&row);
	row.field[STAGE] = "started";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK(memcmp(ev.key_hash, key, 16) != 0);
}

static void
test_anonymous(void)
{
	CHECK_OK(ug_crypto_init());
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	anonymous_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	const wire_envelope *e = &ev.env;
	CHECK_EQ_INT(e->type, UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL);
	CHECK_EQ_INT(e->sensitivity, UNGEBRO__V1__SENSITIVITY__ANONYMOUS);
	CHECK(!e->cpr || !e->cpr[0]);
	CHECK_EQ_STR(ev.cpr, "");
	const Ungebro__V1__AddictionReferral *a = e->addiction_referral;
	CHECK_EQ_STR(a->service, "rmc-albertslund");
	CHECK_EQ_STR(a->date, "2024-03-04");
	CHECK_EQ_INT(a->stage, UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED);
	CHECK(a->consent && !a->consent->given);
	CHECK_EQ_STR(a->consent->scope, "");
	/* The key holds the service's contact number and nothing about a
	 * person. */
	AC_CHECK_KEY(&ev, "addiction_anonymous\x1f"
			  "rmc-albertslund\x1f"
			  "A-2024-017\x1f"
			  "2\x1f"
			  "2024-03-04");
	uint8_t frame[1024], first[16];
	size_t len;
	wire_envelope *back = ac_round_trip(&ev, frame, sizeof frame, &len);
	CHECK_EQ_STR(back->cpr, "");
	CHECK_EQ_INT(back->sensitivity, UNGEBRO__V1__SENSITIVITY__ANONYMOUS);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
	memcpy(first, ev.event_id, 16);

	/* "anonym" in the cpr column, no anonymous column: the same. */
	anonymous_row(&row);
	row.field[CPR] = "Anonym";
	row.field[ANONYMOUS] = NULL;
	row.field[CONSENT] = "nej"; /* a "no" is harmless */
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK_EQ_INT(ev.env.sensitivity, UNGEBRO__V1__SENSITIVITY__ANONYMOUS);
	CHECK(!ev.env.cpr || !ev.env.cpr[0]);
	CHECK_EQ_MEM(ev.event_id, first, 16);

	/* Two contacts on one day are two counts. */
	anonymous_row(&row);
	row.field[RECORD] = "A-2024-018";
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	CHECK(memcmp(ev.event_id, first, 16) != 0);

	/* A file of personal and anonymous rows: the anonymous frame
	 * carries none of the file's CPRs. */
	good_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	anonymous_row(&row);
	CHECK_OK(ac_event(kind(), &row, &ev, &diag));
	back = ac_round_trip(&ev, frame, sizeof frame, &len);
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, back);
	ac_no_cpr(frame, len, cprs);
	CHECK(!ut_contains(frame, len, "150309", 6));
}

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
	static const ac_reject personal[] = {
	    AC_R1(CPR, "", "cpr",
		  "cpr is empty; for anonymous counselling write yes in "
		  "anonymous"),
	    AC_R2(CPR, "", ANONYMOUS, "nej", "cpr", "cpr is empty"),
	    AC_R1(CPR, "150309-43210", "cpr", "not a CPR number"),
	    AC_R1(CPR, "311309-4321", "cpr", "not a CPR number"),
	    AC_R2(CPR, "Anonym", ANONYMOUS, "nej", "anonymous",
		  "anonymous is no but cpr says anonym"),
	    AC_R1(ANONYMOUS, "maybe", "anonymous",
		  "anonymous must be yes or no"),
	    AC_R1(ANONYMOUS, "ja", "cpr",
		  "cpr must be empty in an anonymous row"),
	    AC_R1(RECORD, "150309-4321", "record_id",
		  "record_id looks like a CPR number"),
	    AC_R1(SERVICE, "", "service", "service is empty"),
	    AC_R1(DATE, "", "date", "date is empty"),
	    AC_R1(DATE, "2024-02-30", "date", "date is not a date"),
	    AC_R1(DATE, "1989-12-31", "date", "out of range"),
	    AC_R1(STAGE, "", "stage", "stage is empty"),
	    AC_R1(STAGE, "waiting", "stage",
		  "stage must be referred, started or ended"),
	    AC_R1(CONSENT, "", "consent", "consent is empty; write yes or no"),
	    AC_R1(CONSENT, NULL, "consent", "consent is empty"),
	    AC_R1(CONSENT, "maybe", "consent", "consent must be yes or no"),
	    AC_R1(SCOPE, "", "consent_scope",
		  "consent_scope is empty; say what the young person agreed "
		  "to share"),
	    AC_R1(SCOPE, NULL, "consent_scope", "consent_scope is empty"),
	    AC_R1(SCOPE, "everything", "consent_scope",
		  "consent_scope must be referral, stage or all"),
	    AC_R1(SCOPE, "og", "consent_scope", "consent_scope is empty"),
	    AC_R1(EXPIRES, "2024-31-12", "consent_expires",
		  "consent_expires is not a date"),
	    AC_R1(EXPIRES, "2024-02-29", "consent_expires",
		  "consent_expires 2024-02-29 is before date 2024-03-01"),
	};
	ac_check_rejections(kind(), good_row, personal,
			    sizeof personal / sizeof personal[0], cprs);
	static const ac_reject anonymous[] = {
	    AC_R1(CPR, "0101101234", "cpr",
		  "cpr must be empty in an anonymous row: anonymous "
		  "counselling is never linked to a person"),
	    AC_R1(RECORD, "", "record_id",
		  "record_id is empty; an anonymous row needs the service's "
		  "own number"),
	    AC_R1(RECORD, NULL, "record_id", "record_id is empty"),
	    AC_R1(RECORD, "0101101234", "record_id",
		  "record_id looks like a CPR number"),
	    AC_R1(RECORD, "anonym klient 17", "record_id",
		  "record_id must be a code"),
	    AC_R1(CONSENT, "ja", "consent",
		  "an anonymous row cannot carry a consent to share"),
	    AC_R1(SCOPE, "referral", "consent_scope",
		  "cannot carry a consent"),
	    AC_R1(EXPIRES, "2024-12-31", "consent_expires",
		  "cannot carry a consent"),
	    AC_R1(CONSENT, "perhaps", "consent", "consent must be yes or no"),
	    AC_R1(STAGE, "x", "stage", "stage must be"),
	};
	ac_check_rejections(kind(), anonymous_row, anonymous,
			    sizeof anonymous / sizeof anonymous[0], cprs);
}

TEST_LIST = {
    {"columns", test_columns},
    {"referral", test_referral},
    {"stages and consent", test_stages_and_consent},
    {"ids", test_ids},
    {"anonymous", test_anonymous},
    {"rejections", test_rejections},
    {"cpr forms", test_cpr_forms},
    {NULL, NULL},
};
