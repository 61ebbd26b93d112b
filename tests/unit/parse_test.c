/*
 * adapters/parse: the helpers every parse_row shares. Dates in the ISO
 * and Danish forms (strict, real calendar dates), whole numbers with a
 * limit, CPR numbers with reasons a clerk can act on, and enumeration
 * words with Danish letters and either spelling of a blank.
 */
#include "adapters/adapter.h"

#include "common/util.h"
#include "tests/unit/check.h"

static void
test_dates(void)
{
	int32_t iso, dk, days;
	CHECK_OK(adapter_parse_date("2024-03-01", &iso));
	CHECK_OK(adapter_parse_date("01-03-2024", &dk));
	CHECK_EQ_INT(dk, iso);
	CHECK_OK(adapter_parse_date("01.03.2024", &dk));
	CHECK_EQ_INT(dk, iso);
	CHECK_EQ_INT(iso, ug_days_from_civil(2024, 3, 1));
	CHECK_OK(adapter_parse_date("29.02.2024", &days)); /* leap year */
	CHECK_OK(adapter_parse_date("31-12-1999", &days));
	static const char *const bad[] = {
	    "",		  "2024-3-1",	 "1-3-2024",	"01/03/2024",
	    "2024.03.01", "01-03.2024",	 "01.03-2024",	"29.02.2023",
	    "31-04-2024", "00-01-2024",	 "01-13-2024",	"2024-02-30",
	    "01-03-24",	  " 01-03-2024", "01-03-2024 ", "2024-03-01T00",
	    "0a-03-2024", "01-03-20x4",	 "--------",	"01..03.2024",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (adapter_parse_date(bad[i], &days) != UG_EMALFORMED)
			FAIL("\"%s\" parsed as a date", bad[i]);
	CHECK_ERR(adapter_parse_date(NULL, &days), UG_EMALFORMED);
	/* Real days outside the hub's years: not parsed, but days. */
	char text[11];
	CHECK_ERR(adapter_parse_date("31.12.1899", &days), UG_EMALFORMED);
	CHECK(adapter_date_iso("31.12.1899", text));
	CHECK_EQ_STR(text, "1899-12-31");
	CHECK(adapter_date_iso("29-02-2400", text));
	CHECK_EQ_STR(text, "2400-02-29");
	CHECK(adapter_date_iso("0001-01-01", text));
	static const char *const no_day[] = {"0000-01-01", "29.02.2200",
					     "2024-02-30", "01/03/2024",
					     "2024-3-1",   "01-03.2024"};
	for (size_t i = 0; i < sizeof no_day / sizeof no_day[0]; i++)
		if (adapter_date_iso(no_day[i], text))
			FAIL("\"%s\" taken for a day", no_day[i]);
	CHECK(!adapter_date_iso(NULL, text));
}

static void
test_uint(void)
{
	unsigned v;
	CHECK_OK(adapter_parse_uint("0", 10, &v));
	CHECK_EQ_INT(v, 0);
	CHECK_OK(adapter_parse_uint("10", 10, &v));
	CHECK_EQ_INT(v, 10);
	CHECK_OK(adapter_parse_uint("007", 10, &v));
	CHECK_EQ_INT(v, 7);
	CHECK_OK(adapter_parse_uint("999999999", 4000000000u, &v));
	CHECK_EQ_INT(v, 999999999);
	CHECK_ERR(adapter_parse_uint("11", 10, &v), UG_EINVAL);
	/* Ten digits is "too large" whatever the limit: could be a CPR. */
	CHECK_ERR(adapter_parse_uint("1503094321", 4000000000u, &v),
		  UG_EINVAL);
	CHECK_ERR(adapter_parse_uint("", 10, &v), UG_EMALFORMED);
	CHECK_ERR(adapter_parse_uint("-1", 10, &v), UG_EMALFORMED);
	CHECK_ERR(adapter_parse_uint("+1", 10, &v), UG_EMALFORMED);
	CHECK_ERR(adapter_parse_uint("1.0", 10, &v), UG_EMALFORMED);
	CHECK_ERR(adapter_parse_uint("1 ", 10, &v), UG_EMALFORMED);
	CHECK_ERR(adapter_parse_uint(NULL, 10, &v), UG_EMALFORMED);
}

static void
test_cpr(void)
{
	char out[11];
	const char *why = NULL;
	CHECK_OK(ug_cpr_parse("150309-4321", 11, out, &why));
	CHECK_EQ_STR(out, "1503094321");
	CHECK_OK(ug_cpr_parse("1503094321", 10, out, &why));
	CHECK_EQ_STR(out, "1503094321");
	CHECK_OK(ug_cpr_parse("150309 4321", 11, out, &why));
	CHECK_EQ_STR(out, "1503094321");
	CHECK_OK(ug_cpr_parse("290200-4234", 11, out, &why)); /* 2000 */
	static const struct {
		const char *text, *why;
	} bad[] = {
	    {"", "cpr is empty"},
	    {"150309  4321", "not a CPR number"},
	    {"150309\t4321", "not a CPR number"},
	    {"103094321", "9 digits: a spreadsheet may have dropped"},
	    {"320309-4321", "real birth date"},
	    {"290200-1234", "real birth date"}, /* 1900: no 29 February */
	    {"150009-4321", "real birth date"},
	    {"300201-1234", "real birth date"},
	    {"15030943210", "not a CPR number"},
	    {"150309-432", "not a CPR number"},
	    {"15a309-4321", "not a CPR number"},
	    {"150309--4321", "not a CPR number"},
	    {"1503094321x", "not a CPR number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		why = NULL;
		if (ug_cpr_parse(bad[i].text, strlen(bad[i].text), out,
				 &why) != UG_EMALFORMED)
			FAIL("\"%s\" parsed as a CPR", bad[i].text);
		CHECK(why);
		if (!strstr(why, bad[i].why))
			FAIL("\"%s\": reason \"%s\" lacks \"%s\"", bad[i].text,
			     why, bad[i].why);
		/* The reason never quotes the text. */
		CHECK(!strstr(why, "0309"));
	}
}

static void
test_match(void)
{
	static const char *const ready[] = {
	    "ready",	 "parat",      "uddannelsesparat",
	    "not ready", "ikke parat", "ikke uddannelsesparat",
	    NULL};
	CHECK_EQ_INT(adapter_match("Parat", ready), 1);
	CHECK_EQ_INT(adapter_match("READY", ready), 0);
	CHECK_EQ_INT(adapter_match("ikke-parat", ready), 4);
	CHECK_EQ_INT(adapter_match("IKKE_PARAT", ready), 4);
	CHECK_EQ_INT(adapter_match("Not Ready", ready), 3);
	/* A non-breaking space (a header pasted in a spreadsheet) is a
	 * space. */
	CHECK_EQ_INT(adapter_match("ikke\xc2\xa0parat", ready), 4);
	CHECK_EQ_INT(adapter_match("parat ", ready), -1);
	CHECK_EQ_INT(adapter_match("", ready), -1);
	CHECK_EQ_INT(adapter_match(NULL, ready), -1);
	static const char *const danish[] = {"fravær", "afgået", "årsag",
					     NULL};
	CHECK_EQ_INT(adapter_match("FRAVÆR", danish), 0);
	CHECK_EQ_INT(adapter_match("Afgået", danish), 1);
	CHECK_EQ_INT(adapter_match("ÅRSAG", danish), 2);
	CHECK_EQ_INT(adapter_match("fravaer", danish), -1);
	/* adapter_find_kind reads the same way. */
	CHECK(adapter_find_kind(&school_ops, "ABSENCE") ==
	      &school_absence_kind);
	CHECK(adapter_find_kind(&school_ops, "nonsense") == NULL);
}

TEST_LIST = {
    {"dates", test_dates}, {"whole numbers", test_uint},
    {"cpr", test_cpr},	   {"match", test_match},
    {NULL, NULL},
};
