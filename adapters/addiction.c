/*
 * The addiction centre's adapter (Rusmiddelcenter): referrals to, and the
 * start and end of, treatment, one row per young person and stage, each
 * an AddictionReferral. This is health data (GDPR art. 9): every event is
 * SPECIAL_CATEGORY and carries the young person's consent to share it
 * with the contact person (given or not, its scope and expiry), which the
 * hub obeys.
 *
 * Anonymous counselling, which the law offers, has no CPR and must never
 * be linked to one. Such a row says so (anonymous = yes, or "anonym" in
 * the cpr column) and becomes an ANONYMOUS event with no CPR, counted
 * only. Its natural key is the service's own number for the counselling
 * contact, never anything about the person, and nothing of a personal
 * row ever enters it. A row that is neither anonymous nor has a CPR is
 * refused: a forgotten CPR must not silently turn a referral into a
 * count that no contact person ever hears of.
 *
 * Reasons for a refused row name the column and never quote its text.
 */
#include <stdio.h>
#include <string.h>

#include "adapters/adapter.h"
#include "adapters/fields.h"

enum {
	COL_CPR,
	COL_ANONYMOUS,
	COL_RECORD,
	COL_SERVICE,
	COL_DATE,
	COL_STAGE,
	COL_CONSENT,
	COL_SCOPE,
	COL_EXPIRES,
};

static const csv_column referral_columns[] = {
    [COL_CPR] = {"cpr", {"cprnr", "cpr_nr"}, true},
    [COL_ANONYMOUS] = {"anonymous", {"anonym", "anonymt"}, false},
    [COL_RECORD] = {"record_id",
		    {"record", "contact_id", "kontakt_id", "loebenr",
		     "l\xC3\xB8"
		     "benr"},
		    false},
    [COL_SERVICE] = {"service",
		     {"tilbud", "behandlingssted", "enhed", "service_id"},
		     true},
    [COL_DATE] = {"date", {"dato"}, true},
    [COL_STAGE] = {"stage",
		   {"stadie", "forloeb",
		    "forl\xC3\xB8"
		    "b",
		    "status"},
		   true},
    [COL_CONSENT] = {"consent", {"samtykke"}, false},
    [COL_SCOPE] = {"consent_scope",
		   {"scope", "samtykke_omfang", "omfang"},
		   false},
    [COL_EXPIRES] = {"consent_expires",
		     {"expires", "samtykke_udloeber",
		      "samtykke_udl\xC3\xB8"
		      "ber",
		      "udloeb",
		      "udl\xC3\xB8"
		      "b"},
		     false},
    {NULL, {NULL}, false},
};

static const fields_word stage_words[] = {
    {"referred", UNGEBRO__V1__REFERRAL_STAGE__REFERRED},
    {"referral", UNGEBRO__V1__REFERRAL_STAGE__REFERRED},
    {"henvist", UNGEBRO__V1__REFERRAL_STAGE__REFERRED},
    {"henvisning", UNGEBRO__V1__REFERRAL_STAGE__REFERRED},
    {"started", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"treatment started", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"start", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"startet", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"opstart", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"behandling startet", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"p\xC3\xA5"
     "begyndt",
     UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"paabegyndt", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_STARTED},
    {"ended", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"treatment ended", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"end", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"afsluttet", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"behandling afsluttet", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"slut", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"oph\xC3\xB8rt", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {"ophoert", UNGEBRO__V1__REFERRAL_STAGE__TREATMENT_ENDED},
    {NULL, 0},
};

/* A withdrawn consent is no consent. */
static const fields_word consent_words[] = {
    {"yes", 1},	       {"ja", 1},	 {"given", 1},
    {"givet", 1},      {"y", 1},	 {"j", 1},
    {"x", 1},	       {"1", 1},	 {"true", 1},
    {"no", 0},	       {"nej", 0},	 {"not given", 0},
    {"ikke givet", 0}, {"withdrawn", 0}, {"tilbagekaldt", 0},
    {"n", 0},	       {"0", 0},	 {"false", 0},
    {NULL, 0},
};

#define CONSENT_ACCEPTED "yes or no (ja, nej; given, withdrawn)"

static const char *const anonymous_cpr_words[] = {"anonym", "anonymous", NULL};

/* What may be shared: the referral itself, the treatment stage, or both
 * ("all"); kept as one of three fixed texts. */
enum { SCOPE_REFERRAL = 1, SCOPE_STAGE = 2, SCOPE_ALL = 3 };
static const fields_word scope_words[] = {
    {"referral", SCOPE_REFERRAL},
    {"henvisning", SCOPE_REFERRAL},
    {"stage", SCOPE_STAGE},
    {"forl\xC3\xB8"
     "b",
     SCOPE_STAGE},
    {"forloeb", SCOPE_STAGE},
    {"stadie", SCOPE_STAGE},
    {"treatment", SCOPE_STAGE},
    {"behandling", SCOPE_STAGE},
    {"all", SCOPE_ALL},
    {"alt", SCOPE_ALL},
    {"alle", SCOPE_ALL},
    {NULL, 0},
};
static const char *const scope_text[] = {
    [SCOPE_REFERRAL] = "referral",
    [SCOPE_STAGE] = "stage",
    [SCOPE_ALL] = "referral,stage",
};

#define SCOPE_ACCEPTED                                                        \
	"referral, stage or all (henvisning, forl\xC3\xB8"                    \
	"b, alt), "                                                           \
	"separated by ',', ';', '/', '+', '&', blanks, 'og' or 'and'"

static ug_err
parse_scope(const char *text, const char **out, ug_diag *diag)
{
	unsigned bits;
	ug_err err = fields_word_list(text, "consent_scope", scope_words,
				      SCOPE_ACCEPTED, &bits, diag);
	if (err != UG_OK)
		return err;
	if (!bits)
		FIELDS_BAD(diag, "consent_scope",
			   "consent_scope is empty; say what the young person "
			   "agreed to share: " SCOPE_ACCEPTED);
	*out = scope_text[bits];
	return UG_OK;
}

/* Consent for a personal row: explicit yes or no, and with yes what and
 * until when. A withdrawn consent is "no". */
static ug_err
parse_consent(const adapter_row *row, adapter_event *ev, int32_t date,
	      ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__Consent *c = &ev->consent;
	ungebro__v1__consent__init(c);
	int given;
	if (fields_empty(f[COL_CONSENT]))
		FIELDS_BAD(diag, "consent",
			   "consent is empty; write yes or no (ja, nej): "
			   "has the young person agreed to share this with "
			   "the contact person?");
	ug_err err = fields_choice(f[COL_CONSENT], "consent", consent_words,
				   CONSENT_ACCEPTED, &given, diag);
	if (err != UG_OK)
		return err;
	c->given = given == 1;
	if (!c->given) {
		/* A withdrawal must never wait for a clerk: the scope and
		 * expiry of the consent it ends are often left in the row,
		 * and refusing the row would keep the hub sharing on the old
		 * "yes". A "no" shares nothing whatever stands beside it, so
		 * they are dropped, and the clerk told (a note, not a
		 * refusal) that the row still reads like a consent. */
		const char *stale = NULL;
		if (!fields_empty(f[COL_SCOPE]))
			stale = "consent_scope";
		else if (!fields_no_end(f[COL_EXPIRES]))
			stale = "consent_expires";
		if (stale)
			ug_diag_set(diag, stale,
				    "consent is no, so consent_scope and "
				    "consent_expires are ignored: sent as a "
				    "withdrawal (clear them in the source)");
		return UG_OK;
	}
	const char *scope;
	if ((err =
		 parse_scope(f[COL_SCOPE] ? f[COL_SCOPE] : "", &scope, diag)))
		return err;
	c->scope = (char *)scope;
	int32_t expires;
	bool present;
	if ((err = fields_date_opt(f[COL_EXPIRES], "consent_expires", true,
				   &expires, ev->date[1], &present, diag)))
		return err;
	if (present &&
	    (err = fields_not_before("consent_expires", expires, ev->date[1],
				     "date", date, ev->date[0], diag)))
		return err;
	c->expires = ev->date[1];
	return UG_OK;
}

/* Anonymous counselling: no CPR, no consent, and a key that is only the
 * service's number for the contact. */
static ug_err
check_anonymous(const adapter_row *row, ug_diag *diag)
{
	const char *const *f = row->field;
	if (fields_empty(f[COL_RECORD]))
		FIELDS_BAD(diag, "record_id",
			   "record_id is empty; an anonymous row needs the "
			   "service's own number for the counselling contact "
			   "(never a CPR)");
	int given = 0;
	if (!fields_empty(f[COL_CONSENT])) {
		ug_err err =
		    fields_choice(f[COL_CONSENT], "consent", consent_words,
				  CONSENT_ACCEPTED, &given, diag);
		if (err != UG_OK)
			return err;
	}
	/* Blame the column that holds the consent, where a clerk looks
	 * for it (the file may not even have a consent column). */
	const char *holds = NULL;
	if (given == 1)
		holds = "consent";
	else if (!fields_empty(f[COL_SCOPE]))
		holds = "consent_scope";
	else if (!fields_no_end(f[COL_EXPIRES]))
		holds = "consent_expires";
	if (holds)
		FIELDS_BAD(diag, holds,
			   "an anonymous row cannot carry a consent to share: "
			   "leave consent, consent_scope and consent_expires "
			   "empty");
	return UG_OK;
}

/* Which rows are anonymous: marked so, never guessed from a blank. */
static ug_err
classify(const adapter_row *row, bool *anonymous, ug_diag *diag)
{
	const char *const *f = row->field;
	int marked;
	ug_err err =
	    fields_yes_no(f[COL_ANONYMOUS], "anonymous", true, &marked, diag);
	if (err != UG_OK)
		return err;
	bool cpr_says = adapter_match(f[COL_CPR], anonymous_cpr_words) >= 0;
	if (marked == 1 || (cpr_says && marked != 0)) {
		if (!fields_empty(f[COL_CPR]) && !cpr_says)
			FIELDS_BAD(diag, "cpr",
				   "cpr must be empty in an anonymous row: "
				   "anonymous counselling is never linked to "
				   "a person");
		*anonymous = true;
		return UG_OK;
	}
	if (cpr_says)
		FIELDS_BAD(diag, "anonymous",
			   "anonymous is no but cpr says anonym");
	if (fields_empty(f[COL_CPR]))
		FIELDS_BAD(diag, "cpr",
			   "cpr is empty; for anonymous counselling write yes "
			   "in anonymous (or anonym in cpr)");
	*anonymous = false;
	return UG_OK;
}

static ug_err
referral_parse_row(const adapter_row *row, adapter_event *ev, ug_diag *diag)
{
	const char *const *f = row->field;
	Ungebro__V1__AddictionReferral *a = &ev->payload.addiction_referral;
	ungebro__v1__addiction_referral__init(a);
	bool anonymous;
	int32_t date;
	int stage;
	ug_err err;
	if ((err = classify(row, &anonymous, diag)) ||
	    (!anonymous && (err = fields_cpr(f[COL_CPR], "cpr", ev, diag))) ||
	    (err = fields_code(f[COL_RECORD], "record_id", diag)) ||
	    (err = fields_text(f[COL_SERVICE], "service", true, diag)) ||
	    (err =
		 fields_date(f[COL_DATE], "date", &date, ev->date[0], diag)) ||
	    (err = fields_choice(f[COL_STAGE], "stage", stage_words,
				 "referred, started or ended (henvist, "
				 "startet, afsluttet)",
				 &stage, diag)))
		return err;
	err = anonymous ? check_anonymous(row, diag)
			: parse_consent(row, ev, date, diag);
	if (err != UG_OK)
		return err;
	a->service = (char *)f[COL_SERVICE];
	a->date = ev->date[0];
	a->stage = (Ungebro__V1__ReferralStage)stage;
	if (anonymous) {
		/* Counted only: a consent of "no" so that nothing that
		 * reads the event can take it for shareable. */
		ungebro__v1__consent__init(&ev->consent);
		ev->consent.given = 0;
	}
	a->consent = &ev->consent;
	ev->env.type = UNGEBRO__V1__EVENT_TYPE__ADDICTION_REFERRAL;
	ev->env.occurred_at = fields_day_ms(date);
	ev->env.payload_case =
	    UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL;
	ev->env.addiction_referral = a;
	char stage_number[4];
	snprintf(stage_number, sizeof stage_number, "%d", (int)a->stage);
	if (anonymous) {
		ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__ANONYMOUS;
		ev->env.cpr = NULL;
		/* Only the contact's number: two anonymous events of one
		 * person share nothing a reader of the ids could join. */
		return fields_key(ev, "record_id", diag, "addiction_anonymous",
				  a->service, f[COL_RECORD], stage_number,
				  a->date, (const char *)NULL);
	}
	ev->env.sensitivity = UNGEBRO__V1__SENSITIVITY__SPECIAL_CATEGORY;
	/* One referral or stage per young person, service and day; the
	 * consent is a value, so a changed consent re-exported corrects
	 * (supersedes) the event the hub holds. */
	return fields_key(ev, "service", diag, "addiction", a->service,
			  ev->cpr, stage_number, a->date, (const char *)NULL);
}

static const struct adapter_kind addiction_referral_kind = {
    .name = "referral",
    .description = "referrals and treatment start/end, one row per young "
		   "person and stage, with consent (a personal row needs "
		   "consent, and consent_scope when consent is yes: "
		   "\"optional\" below only means a file of rows that need "
		   "neither may leave the column out); anonymous counselling "
		   "rows without CPR",
    .columns = referral_columns,
    .parse_row = referral_parse_row,
};

static const struct adapter_kind *const addiction_kinds[] = {
    &addiction_referral_kind,
    NULL,
};

const struct adapter_ops addiction_ops = {
    .name = "addiction",
    .description = "Imports the addiction centre's referrals and treatment "
		   "stages (health data, consent-gated) and anonymous "
		   "counselling counts.",
    .kinds = addiction_kinds,
};
