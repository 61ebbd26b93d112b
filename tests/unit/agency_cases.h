/*
 * What the agency adapters' unit tests share (college_test,
 * addiction_test, jobcenter_test, youthunit_test and school_test's
 * readiness and leaving cases): run one kind's parse_row and then
 * adapter_event_finish on a filled row, as the runtime does; check a
 * table of rejections (the column the diag names, the reason, and that no
 * CPR of the test is quoted); compute a natural key's hash independently
 * with libsodium; and put an event through the wire encoder and back.
 *
 * Include it instead of check.h (it includes check.h, which defines
 * main). All CPR numbers here are synthetic.
 */
#ifndef UG_AGENCY_CASES_H
#define UG_AGENCY_CASES_H

#include <sodium.h>

#include "adapters/adapter.h"
#include "common/util.h"
#include "tests/unit/check.h"

static const uint8_t ac_hash_key[UG_KEY_LEN] = {
    1,	2,  3,	4,  5,	6,  7,	8,  9,	10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

#define AC_NOW_MS INT64_C(1717000000000)
#define AC_AGENCY "agency-test"

/* The kind called name in ops; fails the case if there is none. */
static inline const struct adapter_kind *
ac_kind(const struct adapter_ops *ops, const char *name)
{
	const struct adapter_kind *k = adapter_find_kind(ops, name);
	if (!k)
		FAIL("%s has no kind %s", ops->name, name);
	return k;
}

/* The kind's columns are, in order, the NULL-ended names. */
static inline void
ac_check_columns(const struct adapter_kind *k, const char *const *names)
{
	size_t i = 0;
	for (; names[i]; i++) {
		if (!k->columns[i].name)
			FAIL("kind %s: column %zu missing, expected %s",
			     k->name, i, names[i]);
		CHECK_EQ_STR(k->columns[i].name, names[i]);
	}
	if (k->columns[i].name)
		FAIL("kind %s: unexpected column %s", k->name,
		     k->columns[i].name);
	CHECK(i <= ADAPTER_COLUMNS_MAX);
}

/* parse_row then finish, as the runtime does. */
static inline ug_err
ac_event(const struct adapter_kind *k, const adapter_row *row,
	 adapter_event *ev, ug_diag *diag)
{
	adapter_event_init(ev);
	memset(diag, 0, sizeof *diag);
	ug_err err = k->parse_row(row, ev, diag);
	if (err == UG_OK)
		err = adapter_event_finish(ev, AC_AGENCY, ac_hash_key,
					   AC_NOW_MS, diag);
	return err;
}

/* occurred_at for midnight (UTC) of an ISO day. */
static inline int64_t
ac_day_ms(const char *iso)
{
	int32_t days;
	if (ug_date_parse(iso, &days) != UG_OK)
		FAIL("test date %s", iso);
	return (int64_t)days * 86400000;
}

/* ev's key_hash is BLAKE2b-128(hash_key, key): the natural key is
 * exactly the len bytes given, computed here straight from libsodium. */
static inline void
ac_check_key(const adapter_event *ev, const char *key, size_t len)
{
	uint8_t hash[16];
	crypto_generichash(hash, sizeof hash, (const uint8_t *)key, len,
			   ac_hash_key, UG_KEY_LEN);
	CHECK_EQ_MEM(ev->key_hash, hash, 16);
}
#define AC_CHECK_KEY(ev, literal) ac_check_key(ev, literal, sizeof literal - 1)

/* Neither form of any of the CPRs (10 digits) occurs in len bytes. */
static inline void
ac_no_cpr(const void *bytes, size_t len, const char *const *cprs)
{
	for (size_t i = 0; cprs[i]; i++) {
		char dashed[12];
		snprintf(dashed, sizeof dashed, "%.6s-%s", cprs[i],
			 cprs[i] + 6);
		if (ut_contains(bytes, len, cprs[i], 10) ||
		    ut_contains(bytes, len, dashed, 11))
			FAIL("a test CPR (%zu) is in \"%.*s\"", i, (int)len,
			     (const char *)bytes);
	}
}

/* The event as a frame and back: the decoded envelope (wire_free it). */
static inline wire_envelope *
ac_round_trip(const adapter_event *ev, uint8_t *frame, size_t cap, size_t *len)
{
	int kind = UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, code;
	*len = wire_encode(kind, &ev->env, frame, cap);
	CHECK(*len > 0);
	void *msg;
	ug_diag diag = {0};
	CHECK_OK(wire_decode(frame, *len, &kind, &msg, &code, &diag));
	CHECK_EQ_INT(kind, UNGEBRO__V1__FRAME_KIND__FRAME_EVENT);
	const wire_envelope *back = msg;
	CHECK_EQ_MEM(back->event_id.data, ev->event_id, 16);
	CHECK_EQ_STR(back->agency, AC_AGENCY);
	return msg;
}

/*
 * One refused row: the good row with column col set to value (NULL: the
 * column is absent from the file) and, if col2 >= 0, col2 to value2. The
 * diag must name field and its reason contain reason.
 */
typedef struct {
	int col;
	const char *value;
	int col2;
	const char *value2;
	const char *field, *reason;
} ac_reject;

#define AC_R1(col, value, field, reason)                                      \
	{                                                                     \
		col, value, -1, NULL, field, reason                           \
	}
#define AC_R2(col, value, col2, value2, field, reason)                        \
	{                                                                     \
		col, value, col2, value2, field, reason                       \
	}

/* Every case is refused as UG_EMALFORMED with its field and reason, and
 * no reason quotes one of cprs (10 digits, either form). */
static inline void
ac_check_rejections(const struct adapter_kind *k, void (*good)(adapter_row *),
		    const ac_reject *cases, size_t n, const char *const *cprs)
{
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	for (size_t i = 0; i < n; i++) {
		good(&row);
		row.field[cases[i].col] = cases[i].value;
		if (cases[i].col2 >= 0)
			row.field[cases[i].col2] = cases[i].value2;
		ug_err err = ac_event(k, &row, &ev, &diag);
		if (err != UG_EMALFORMED)
			FAIL("%s case %zu (%s): expected malformed, got %s",
			     k->name, i, cases[i].reason, ug_strerror(err));
		if (strcmp(diag.field, cases[i].field) != 0)
			FAIL("%s case %zu (%s): field \"%s\", expected \"%s\"",
			     k->name, i, cases[i].reason, diag.field,
			     cases[i].field);
		if (!strstr(diag.reason, cases[i].reason))
			FAIL("%s case %zu: reason \"%s\" lacks \"%s\"",
			     k->name, i, diag.reason, cases[i].reason);
		ac_no_cpr(diag.reason, strlen(diag.reason), cprs);
	}
}

/*
 * Every CPR form docs/ADAPTERS.md documents, through kind k's parse_row
 * (good's row holds 150309-4321 in column col): the dash, a blank for
 * the dash and no separator read as one person and one event; nine
 * digits get the dropped-leading-zero hint; a false birth date and any
 * other shape their reasons, naming the column and quoting no CPR.
 */
static inline void
ac_check_cpr_forms(const struct adapter_kind *k, void (*good)(adapter_row *),
		   int col)
{
	static const char *const forms[] = {"150309-4321", "150309 4321",
					    "1503094321"};
	static const char *const cprs[] = {"1503094321", "0503094321", NULL};
	adapter_row row;
	adapter_event ev;
	ug_diag diag;
	uint8_t id[16];
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		good(&row);
		row.field[col] = forms[i];
		if (ac_event(k, &row, &ev, &diag) != UG_OK)
			FAIL("%s: cpr \"%s\" refused: %s: %s", k->name,
			     forms[i], diag.field, diag.reason);
		CHECK_EQ_STR(ev.env.cpr, "1503094321");
		if (i == 0)
			memcpy(id, ev.event_id, 16);
		CHECK_EQ_MEM(ev.event_id, id, 16);
	}
	const ac_reject bad[] = {
	    AC_R1(col, "", "cpr", "cpr is empty"),
	    AC_R1(col, "503094321", "cpr",
		  "cpr has 9 digits: a spreadsheet may have dropped its "
		  "leading zero (format the column as text)"),
	    AC_R1(col, "320309-4321", "cpr",
		  "cpr is not a CPR number: DDMMYY is not a real birth date"),
	    AC_R1(col, "150309  4321", "cpr", "cpr is not a CPR number ("),
	    AC_R1(col, "150309_4321", "cpr", "cpr is not a CPR number ("),
	    AC_R1(col, "1503094321 ", "cpr", "cpr is not a CPR number ("),
	};
	ac_check_rejections(k, good, bad, sizeof bad / sizeof bad[0], cprs);
}

#endif
