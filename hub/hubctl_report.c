/*
 * hubctl report: reads the whole log (each event unsealed by the store
 * and decoded here), reduces it to report_facts keyed by a run-local
 * person number, reads every alert's state, and hands the computation to
 * report_calc.c. Then it renders: one HTML page with inline CSS and SVG
 * (nothing fetched, printable) and status-<table>.csv beside it.
 *
 * Never written anywhere: a CPR (read from the envelope only to compute
 * the age), a name, a person key or an alert id. The page shows ids of
 * schools, institutions and rules, and counts after suppression.
 */
#include "hub/hubctl_report.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/hubctl_audit.h"
#include "hub/report.h"
#include "hub/rules_config.h"
#include "proto/wire.h"

#define REPORT_TABLES 9
#define NEET_BASELINE 360
#define NEET_GOAL     160

/* ---- the period ---- */

/* A day of the period: YYYY-MM-DD of the years 1900-9999. The hub takes
 * no event dated after 2199 (ug_date_parse), but a period named for a
 * later year is a question with an empty answer, not a typo. */
static bool
period_day(const char *text, int32_t *days)
{
	long y, m, d;
	if (strlen(text) != 10 || text[4] != '-' || text[7] != '-' ||
	    ug_parse_long(text, 4, &y) != UG_OK ||
	    ug_parse_long(text + 5, 2, &m) != UG_OK ||
	    ug_parse_long(text + 8, 2, &d) != UG_OK || y < 1900 || m < 1 ||
	    m > 12 || d < 1)
		return false;
	for (const char *c = text; *c; c++)
		if (c - text != 4 && c - text != 7 && (*c < '0' || *c > '9'))
			return false;
	int32_t first = ug_days_from_civil((int)y, (int)m, 1);
	int32_t next = m == 12 ? ug_days_from_civil((int)y + 1, 1, 1)
			       : ug_days_from_civil((int)y, (int)m + 1, 1);
	if (d > next - first)
		return false;
	*days = first + (int32_t)d - 1;
	return true;
}

static bool
period_of(const ug_config *cfg, int32_t *from, int32_t *to)
{
	const char *year = ug_config_get(cfg, "year");
	const char *f = ug_config_get(cfg, "from"),
		   *t = ug_config_get(cfg, "to");
	/* The command line wins over every file: a period given there sets
	 * aside the other kind a --config file holds (an ops.conf's from and
	 * to, kept for audit show, under report --year). Both kinds from the
	 * command line, or both from files, are the usage error below. */
	bool year_here = year[0] && !ug_config_where(cfg, "year")[0];
	bool range_here = (f[0] && !ug_config_where(cfg, "from")[0]) ||
			  (t[0] && !ug_config_where(cfg, "to")[0]);
	if (year[0] && (f[0] || t[0]) && year_here != range_here) {
		if (year_here)
			f = t = "";
		else
			year = "";
	}
	if (year[0]) {
		long y;
		char a[16], b[16];
		if (f[0] || t[0]) {
			ug_eprintf("hubctl: report: --year YYYY, or --from "
				   "DATE --to DATE (not both)\n");
			return false;
		}
		if (strlen(year) != 4 || ug_parse_long(year, 4, &y) != UG_OK ||
		    y < 1970 || y > 9999) {
			ug_eprintf("hubctl: %sreport: --year must be a year "
				   "of four digits, 1970-9999 (not '%.16s')\n",
				   ug_config_where(cfg, "year"), year);
			return false;
		}
		snprintf(a, sizeof a, "%04ld-01-01", y);
		snprintf(b, sizeof b, "%04ld-12-31", y);
		return period_day(a, from) && period_day(b, to);
	}
	if (!f[0] || !t[0] || !period_day(f, from) || !period_day(t, to) ||
	    *to < *from) {
		/* The line of a period read from a file, so it is found. */
		const char *at = ug_config_where(cfg, "from");
		ug_eprintf("hubctl: %sreport needs --year YYYY, or --from "
			   "DATE --to DATE (YYYY-MM-DD, from not after to)\n",
			   at[0] ? at : ug_config_where(cfg, "to"));
		return false;
	}
	return true;
}

bool
hubctl_report_usage_ok(const ug_config *cfg)
{
	int32_t from, to;
	if (!period_of(cfg, &from, &to))
		return false;
	const char *out = ug_config_get(cfg, "out");
	size_t len = strlen(out);
	/* "-" reads as standard output, where a page and nine CSV files
	 * cannot all go: written as a file named "-" in the working
	 * directory it would be found nowhere. ./- names that file. */
	if (strcmp(out, "-") == 0) {
		ug_eprintf("hubctl: %sreport: --out names the page's file, "
			   "not standard output (not '-')\n",
			   ug_config_where(cfg, "out"));
		return false;
	}
	/* A name ending in / is a directory: dirname() would put the page
	 * beside it under the directory's name. One named without its / is
	 * the same mistake, and would otherwise be found only after the
	 * store was read. stat, not lstat: a link to a directory is named
	 * for the directory (/srv/status -> /srv/status-2026), and replacing
	 * it with the page would put the CSV files beside the link. */
	struct stat st;
	if (!len || out[len - 1] == '/' ||
	    (stat(out, &st) == 0 && S_ISDIR(st.st_mode))) {
		ug_eprintf("hubctl: %sreport needs --out FILE.html\n",
			   ug_config_where(cfg, "out"));
		return false;
	}
	/* The page and a table's CSV at one name would overwrite each other
	 * while the report said it wrote both. */
	static const char *const tables[REPORT_TABLES] = {
	    "readiness", "absence", "chronic", "dropouts", "enrolments",
	    "neet",	 "clocks",  "alerts",  "anonymous"};
	const char *base = strrchr(out, '/');
	base = base ? base + 1 : out;
	for (size_t i = 0; i < REPORT_TABLES; i++) {
		char csv[48];
		snprintf(csv, sizeof csv, "status-%s.csv", tables[i]);
		if (strcmp(base, csv) == 0) {
			ug_eprintf(
			    "hubctl: %sreport: --out names the page, not "
			    "one of its status-*.csv files (not "
			    "'%s')\n",
			    ug_config_where(cfg, "out"), base);
			return false;
		}
	}
	return true;
}

/* The dropouts table's starts per institution add up, per programme
 * type, to the enrolments table's (its row "inst (type)"), and its Total
 * to theirs: left alone, a type's figure would give back a start hidden
 * at one of its institutions. */
static bool
link_starts(report_table *dropouts, report_table *types)
{
	long *group = malloc((dropouts->nrows + 1) * sizeof *group);
	if (!group)
		return false;
	for (size_t r = 0; r < dropouts->nrows; r++) {
		const char *open = strrchr(dropouts->rows[r], '(');
		group[r] = -1;
		for (size_t g = 0; open && g < types->nrows; g++) {
			size_t n = strlen(types->rows[g]);
			if (strncmp(open + 1, types->rows[g], n) == 0 &&
			    strcmp(open + 1 + n, ")") == 0)
				group[r] = (long)g;
		}
	}
	group[dropouts->nrows] = (long)types->nrows;
	bool ok = report_suppress_linked(dropouts, 0, types, 0, group);
	free(group);
	return ok;
}

/* A missed legal clock is, most of the time, one of the hub's own
 * missed-deadline alerts: the clocks table's missed and the alerts
 * table's deadline.*.missed raised are the same count, and one shown
 * would give the other back when it is hidden. */
static bool
link_misses(report_table *clocks, report_table *alerts)
{
	static const char *const rules[] = {"deadline.contact.missed",
					    "deadline.offer.missed"};
	size_t pairs[2][4], n = 0;
	for (size_t i = 0; i < 2 && i < clocks->nrows; i++)
		for (size_t r = 0; r < alerts->nrows; r++)
			if (strcmp(alerts->rows[r], rules[i]) == 0) {
				pairs[n][0] = i;
				pairs[n][1] = 1; /* missed */
				pairs[n][2] = r;
				pairs[n][3] = 0; /* raised */
				n++;
			}
	return report_suppress_same(clocks, alerts, (const size_t(*)[4])pairs,
				    n);
}

/* Figures of the alerts table that count what a total of another table
 * counts, most of the time: every not-ready assessment in grade 8 or 9
 * raises one readiness alert (RULES.md, rule 6), every Dropout one
 * dropout alert, every DropoutRisk one dropout_risk alert. Shown beside
 * the other hidden, one would give it back (23 - 20: 3 ready pupils). */
static bool
link_same(report_table *t, size_t col, report_table *alerts, const char *rule)
{
	size_t pairs[1][4], n = 0;
	for (size_t r = 0; r < alerts->nrows; r++)
		if (strcmp(alerts->rows[r], rule) == 0) {
			pairs[0][0] = t->nrows; /* Total */
			pairs[0][1] = col;
			pairs[0][2] = r;
			pairs[0][3] = 0; /* raised */
			n = 1;
		}
	return report_suppress_same(t, alerts, (const size_t(*)[4])pairs, n);
}

static size_t
hidden_count(const report_table *t, size_t n)
{
	size_t hidden = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t r = 0; r <= t[i].nrows; r++)
			for (size_t c = 0; c <= t[i].ncols; c++)
				hidden +=
				    report_hidden(&t[i], r, c) != REPORT_SHOWN;
	return hidden;
}

/* The lines that run across tables: what one link hides can call for
 * more through another (the alerts table has four), so all run until
 * nothing changes. */
static bool
link_tables(report_table *t, size_t n)
{
	for (size_t before = SIZE_MAX;;) {
		if (!link_starts(&t[3], &t[4]) || !link_misses(&t[6], &t[7]) ||
		    !link_same(&t[0], 1, &t[7], "readiness") ||
		    !link_same(&t[3], 2, &t[7], "dropout") ||
		    !link_same(&t[3], 1, &t[7], "dropout_risk"))
			return false;
		size_t now = hidden_count(t, n);
		if (now == before)
			return true;
		before = now;
	}
}

/* ---- reading the log ---- */

typedef struct {
	report_input in;
	size_t cap, pcap;
	uint8_t (*ids)[16], (*sup)[16];
	char (*agency)[REPORT_LABEL_MAX]; /* each fact's sender */
	/* person key -> index, open addressing */
	uint8_t (*keys)[UG_PERSON_KEY_LEN];
	uint32_t *slot;
	size_t slots;
	/* every record's sequence and person, for the alerts */
	uint64_t *seqs;
	uint32_t *seq_person;
	size_t nseqs, seqcap;
	bool oom;
	/* Log records that do not open (STORE-SEAL): the first few named. */
	ug_seq_tally unopened;
} scan;

/* A damaged record is passed over so that all of them can be named at
 * once; the report is then not written (see hubctl_report). */
static ug_err
skip_unopened(void *ctx, uint64_t seq)
{
	ug_seq_tally_add(&((scan *)ctx)->unopened, seq);
	return UG_OK;
}

static uint32_t
person_of(scan *sc, const uint8_t *key, const char *cpr)
{
	if (sc->in.npersons * 2 >= sc->slots) {
		size_t slots = sc->slots ? 2 * sc->slots : 1024;
		uint32_t *slot = malloc(slots * sizeof *slot);
		if (!slot)
			return REPORT_NO_PERSON;
		memset(slot, 0xff, slots * sizeof *slot);
		for (size_t i = 0; i < sc->in.npersons; i++) {
			size_t h = (size_t)ug_get_be32(sc->keys[i]) % slots;
			while (slot[h] != UINT32_MAX)
				h = (h + 1) % slots;
			slot[h] = (uint32_t)i;
		}
		free(sc->slot);
		sc->slot = slot;
		sc->slots = slots;
	}
	size_t h = (size_t)ug_get_be32(key) % sc->slots;
	for (; sc->slot[h] != UINT32_MAX; h = (h + 1) % sc->slots) {
		uint32_t p = sc->slot[h];
		if (memcmp(sc->keys[p], key, UG_PERSON_KEY_LEN) == 0) {
			if (sc->in.birth[p] == UG_NO_BIRTH && cpr && cpr[0])
				sc->in.birth[p] = profile_birth_from_cpr(cpr);
			return p;
		}
	}
	if (sc->in.npersons == sc->pcap) {
		size_t cap = sc->pcap ? 2 * sc->pcap : 1024;
		void *k = realloc(sc->keys, cap * sizeof *sc->keys);
		if (k)
			sc->keys = k;
		void *b = realloc(sc->in.birth, cap * sizeof *sc->in.birth);
		if (b)
			sc->in.birth = b;
		if (!k || !b)
			return REPORT_NO_PERSON;
		sc->pcap = cap;
	}
	uint32_t p = (uint32_t)sc->in.npersons++;
	memcpy(sc->keys[p], key, UG_PERSON_KEY_LEN);
	sc->in.birth[p] =
	    cpr && cpr[0] ? profile_birth_from_cpr(cpr) : UG_NO_BIRTH;
	sc->slot[h] = p;
	return p;
}

static report_fact *
new_fact(scan *sc)
{
	if (sc->in.nfacts == sc->cap) {
		size_t cap = sc->cap ? 2 * sc->cap : 4096;
		void *f = realloc(sc->in.facts, cap * sizeof *sc->in.facts);
		if (f)
			sc->in.facts = f;
		void *i = realloc(sc->ids, cap * sizeof *sc->ids);
		if (i)
			sc->ids = i;
		void *s = realloc(sc->sup, cap * sizeof *sc->sup);
		if (s)
			sc->sup = s;
		void *a = realloc(sc->agency, cap * sizeof *sc->agency);
		if (a)
			sc->agency = a;
		if (!f || !i || !s || !a)
			return NULL;
		sc->cap = cap;
	}
	report_fact *f = &sc->in.facts[sc->in.nfacts];
	memset(f, 0, sizeof *f);
	memset(sc->ids[sc->in.nfacts], 0, 16);
	memset(sc->sup[sc->in.nfacts], 0, 16);
	sc->agency[sc->in.nfacts][0] = '\0';
	return f;
}

static int32_t
day_of(const char *text)
{
	int32_t d = 0;
	if (!text || ug_date_parse(text, &d) != UG_OK)
		return 0;
	return d;
}

/* Labels show at most 40 bytes of an id (the tables' widths), and an id
 * may have 256: a longer one is kept as its first 23 bytes (fewer, to end
 * on a whole UTF-8 character), '~' and 16
 * hex digits of a hash of the whole id, so two long ids that begin alike
 * never share a row (OPERATIONS.md, "Never in the report"). */
#define REPORT_ID_SHOWN 40
#define REPORT_ID_HEAD	23
_Static_assert(REPORT_ID_SHOWN < REPORT_LABEL_MAX, "a shown id fits a label");

/* The audit trail takes a number run together with letters for a word,
 * not a CPR number ("eud0101901234"): a page for the council holds none
 * either way, so in an id a letter ends a number as a blank does. */
static void
mask_cpr_in_id(char *src)
{
	char loose[257];
	size_t len = strlen(src);
	memcpy(loose, src, len + 1);
	for (size_t k = 0; k < len; k++)
		if ((loose[k] >= 'a' && loose[k] <= 'z') ||
		    (loose[k] >= 'A' && loose[k] <= 'Z'))
			loose[k] = '#';
	ug_cpr_mask(loose);
	for (size_t k = 0; k < len; k++)
		if (loose[k] == 'x' && src[k] >= '0' && src[k] <= '9')
			src[k] = 'x';
	sodium_memzero(loose, sizeof loose);
}

static void
copy(char dst[REPORT_LABEL_MAX], const char *text)
{
	/* Any text goes in an id field, a CPR number too (an export with
	 * its columns mixed up): it is masked before the id is cut or
	 * hashed, as a hash of a CPR with the rest of its id shown could be
	 * searched back to it. Envelope strings are at most 256 bytes. */
	char src[257];
	snprintf(src, sizeof src, "%s", text ? text : "");
	mask_cpr_in_id(src);
	size_t len = strlen(src);
	/* Copied by its length: snprintf here has gcc -O1 (make asan) see
	 * 256 bytes go into 64 and fail the build. */
	if (len <= REPORT_ID_SHOWN) {
		memcpy(dst, src, len + 1);
		return;
	}
	uint8_t hash[8];
	char hex[2 * sizeof hash + 1];
	crypto_generichash(hash, sizeof hash, (const uint8_t *)src, len, NULL,
			   0);
	ug_hex(hash, sizeof hash, hex);
	/* Never half a character: the page and the CSV files are UTF-8. */
	int head = REPORT_ID_HEAD;
	while (head > 0 && ((uint8_t)src[head] & 0xc0) == 0x80)
		head--;
	snprintf(dst, REPORT_LABEL_MAX, "%.*s~%s", head, src, hex);
}

/* Fill f from the envelope; false when the event is not one the report
 * counts. */
static bool
fact_of(const wire_envelope *env, report_fact *f)
{
	switch (env->payload_case) {
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_READINESS_ASSESSMENT: {
		const Ungebro__V1__ReadinessAssessment *r =
		    env->readiness_assessment;
		f->type = REPORT_READY;
		f->n1 = r->grade;
		f->flag = r->ready;
		f->day = day_of(r->date);
		copy(f->org, r->school);
		return true;
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT: {
		const Ungebro__V1__AbsenceReport *r = env->absence_report;
		f->type = REPORT_ABSENCE;
		f->day = day_of(r->period_start);
		f->day2 = day_of(r->period_end);
		f->n1 = r->lessons_absent;
		f->n2 = r->lessons_expected;
		f->kind = (uint8_t)r->kind;
		copy(f->org, r->school);
		return true;
	}
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT:
		f->type = REPORT_DROPOUT;
		f->day = day_of(env->dropout->date);
		copy(f->org, env->dropout->institution);
		copy(f->prog, env->dropout->programme);
		return true;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_DROPOUT_RISK:
		f->type = REPORT_RISK;
		f->day = day_of(env->dropout_risk->date);
		copy(f->org, env->dropout_risk->institution);
		copy(f->prog, env->dropout_risk->programme);
		return true;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ENROLMENT:
		f->type = REPORT_ENROL;
		f->day = day_of(env->enrolment->start);
		f->day2 = day_of(env->enrolment->end);
		f->kind = (uint8_t)env->enrolment->end_reason;
		copy(f->org, env->enrolment->institution);
		copy(f->prog, env->enrolment->programme);
		return true;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_BENEFIT_STATUS:
		f->type = REPORT_BENEFIT;
		f->day = day_of(env->benefit_status->start);
		f->day2 = day_of(env->benefit_status->stop);
		/* With the start, the period's natural key: a later stop
		 * event of the same key ends the start event's period. */
		f->kind = (uint8_t)env->benefit_status->benefit;
		copy(f->org, env->benefit_status->jobcenter);
		return true;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_SCHOOL_LEAVING:
		f->type = REPORT_LEAVING;
		f->day = day_of(env->school_leaving->date);
		copy(f->org, env->school_leaving->school);
		return true;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_CASEWORKER_ACTION:
		f->type = REPORT_ACTION;
		f->kind = (uint8_t)env->caseworker_action->kind;
		f->day = day_of(env->caseworker_action->date);
		return true;
	case UNGEBRO__V1__ENVELOPE__PAYLOAD_ADDICTION_REFERRAL:
		/* Only the anonymous records: referrals of known persons
		 * are health data and not part of the status. */
		if (env->cpr && env->cpr[0])
			return false;
		f->type = REPORT_ANON;
		f->kind = (uint8_t)env->addiction_referral->stage;
		f->day = day_of(env->addiction_referral->date);
		return true;
	default:
		return false;
	}
}

static ug_err
take(void *ctx, const store_record *rec)
{
	scan *sc = ctx;
	uint32_t person = REPORT_NO_PERSON;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
					 rec->body, rec->body_len);
	if (rec->person_key) {
		person = person_of(sc, rec->person_key, env ? env->cpr : NULL);
		if (person == REPORT_NO_PERSON)
			sc->oom = true;
	}
	if (sc->nseqs == sc->seqcap) {
		size_t cap = sc->seqcap ? 2 * sc->seqcap : 4096;
		void *a = realloc(sc->seqs, cap * sizeof *sc->seqs);
		if (a)
			sc->seqs = a;
		void *b =
		    realloc(sc->seq_person, cap * sizeof *sc->seq_person);
		if (b)
			sc->seq_person = b;
		if (!a || !b) {
			wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
			return UG_ENOMEM;
		}
		sc->seqcap = cap;
	}
	sc->seqs[sc->nseqs] = rec->seq;
	sc->seq_person[sc->nseqs++] = person;
	report_fact *f = env ? new_fact(sc) : NULL;
	if (env && !f)
		sc->oom = true;
	bool counted = f && fact_of(env, f);
	/* An event the report counts nothing of still corrects one it
	 * counts: nothing checks the corrected event's type (PROTOCOL.md,
	 * "Corrections"), so a Jobcenter's MissedActivation naming its
	 * benefit period takes that period out, as in the timeline. Kept
	 * as a fact of no type, which no table counts. */
	if (f && !counted && person != REPORT_NO_PERSON &&
	    env->supersedes.len == 16) {
		memset(f, 0, sizeof *f);
		counted = true;
	}
	if (counted &&
	    (person != REPORT_NO_PERSON || f->type == REPORT_ANON)) {
		f->person = person;
		f->seq = rec->seq;
		f->known = (int32_t)(rec->received_at / UG_DAY_MS);
		size_t i = sc->in.nfacts++;
		if (env->event_id.len == 16)
			memcpy(sc->ids[i], env->event_id.data, 16);
		if (env->supersedes.len == 16)
			memcpy(sc->sup[i], env->supersedes.data, 16);
		ug_strlcpy(sc->agency[i], rec->agency, sizeof sc->agency[i]);
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return sc->oom ? UG_ENOMEM : UG_OK;
}

/* ---- the alerts ---- */

typedef struct {
	store *s;
	scan *sc;
	uint32_t person;
	size_t cap;
	ug_err err;
} alert_ctx;

static ug_err
alert_body(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
	   uint32_t deliveries)
{
	report_alert *a = ctx;
	(void)id;
	(void)deliveries;
	wire_alert *al =
	    wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, body, len);
	if (al) {
		snprintf(a->rule, sizeof a->rule, "%s",
			 al->rule ? al->rule : "");
		a->raised = (int32_t)(al->raised_at / UG_DAY_MS);
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_ALERT, al);
	return UG_OK;
}

static ug_err
alert_id(void *ctx, const uint8_t *id)
{
	alert_ctx *c = ctx;
	report_input *in = &c->sc->in;
	if (in->nalerts == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 1024;
		void *more = realloc(in->alerts, cap * sizeof *in->alerts);
		if (!more)
			return UG_ENOMEM;
		in->alerts = more;
		c->cap = cap;
	}
	report_alert *a = &in->alerts[in->nalerts];
	memset(a, 0, sizeof *a);
	char recipient[STORE_ID_MAX];
	if (store_alert_state(c->s, id, &a->open, recipient,
			      &a->escalations) != UG_OK)
		return UG_OK;
	/* Escalation leaves the alert with its owner and raises notices of
	 * it: those are the fact, not the head's counter. */
	a->escalations = engine_escalation_notices(c->s, id);
	bool open;
	if (store_alert_get(c->s, id, alert_body, a, &open) != UG_OK ||
	    !a->rule[0])
		return UG_OK;
	a->person = c->person;
	a->seq = ug_get_be64(id);
	in->nalerts++;
	return UG_OK;
}

/* ---- rendering ---- */

/* A label is any text an agency sent: a control character other than
 * HTML's whitespace (an escape, a DEL, a C1 control) is not allowed in
 * HTML text and shows nothing a reader can use, so each is one space,
 * as in an alert's title. Tab, LF, FF and CR are whitespace to HTML. */
static void
html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char b = (unsigned char)*s;
		if ((b < 0x20 && b != '\t' && b != '\n' && b != '\f' &&
		     b != '\r') ||
		    b == 0x7f) {
			fputc(' ', f);
			continue;
		}
		if (b == 0xc2 && (unsigned char)s[1] >= 0x80 &&
		    (unsigned char)s[1] <= 0x9f) {
			fputc(' ', f);
			s++;
			continue;
		}
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			fputc(*s, f);
		}
	}
}

static const char *
shown(const report_table *t, size_t r, size_t c, char buf[24])
{
	uint8_t h = report_hidden(t, r, c);
	if (h == REPORT_PRIMARY)
		return "<5";
	if (h == REPORT_SECONDARY)
		return "x";
	snprintf(buf, 24, "%ld", *report_cell((report_table *)t, r, c));
	return buf;
}

static void
csv_field(FILE *f, const char *s)
{
	/* An id is any text an agency sent, and a spreadsheet takes a cell
	 * that begins so for a formula (one can fetch a URL): a ' before it
	 * makes it text, as it is on the page. No figure begins so. */
	bool formula = s[0] && strchr("=+-@\t\r", s[0]);
	/* A CR ends a record to a CSV reader as an LF does (RFC 4180). */
	if (strpbrk(s, ",\"\r\n;")) {
		fputc('"', f);
		if (formula)
			fputc('\'', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		if (formula)
			fputc('\'', f);
		fputs(s, f);
	}
}

static void
write_csv(FILE *f, const report_table *t)
{
	char buf[24];
	csv_field(f, "");
	for (size_t c = 0; c <= t->ncols; c++)
		if (c < t->ncols || t->row_total) {
			fputc(',', f);
			csv_field(f, c < t->ncols ? t->cols[c] : "Total");
		}
	fputc('\n', f);
	for (size_t r = 0; r <= t->nrows; r++) {
		if (!report_exists(t, r, 0))
			continue;
		csv_field(f, r < t->nrows ? t->rows[r] : "Total");
		for (size_t c = 0; c <= t->ncols; c++)
			if (report_exists(t, r, c)) {
				fputc(',', f);
				csv_field(f, shown(t, r, c, buf));
			}
		fputc('\n', f);
	}
}

static void
html_table(FILE *f, const report_table *t)
{
	char buf[24];
	fputs("<table>\n<thead><tr><th></th>", f);
	for (size_t c = 0; c <= t->ncols; c++)
		if (c < t->ncols || t->row_total) {
			fputs("<th>", f);
			html_text(f, c < t->ncols ? t->cols[c] : "Total");
			fputs("</th>", f);
		}
	fputs("</tr></thead>\n<tbody>\n", f);
	for (size_t r = 0; r <= t->nrows; r++) {
		if (!report_exists(t, r, 0))
			continue;
		fprintf(f, "<tr%s><th>",
			r == t->nrows ? " class=\"total\"" : "");
		html_text(f, r < t->nrows ? t->rows[r] : "Total");
		fputs("</th>", f);
		for (size_t c = 0; c <= t->ncols; c++)
			if (report_exists(t, r, c)) {
				fprintf(f, "<td%s>",
					report_hidden(t, r, c)
					    ? " class=\"sup\""
					    : "");
				html_text(f, shown(t, r, c, buf));
				fputs("</td>", f);
			}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

/* A chart's text alternative (WCAG 1.1.1): an svg with role="img" hides
 * its own texts from a screen reader, so it must be named, and the name
 * points to the table that holds the same figures. */
static void
chart_name(FILE *f, const report_table *t)
{
	fputs("Chart: ", f);
	html_text(f, t->title);
	if (t->chart_line) {
		/* The title already ends "per month". */
		fprintf(f, ", against the baseline %d and the goal %d",
			NEET_BASELINE, NEET_GOAL);
	} else {
		fputs("; bars: ", f);
		html_text(f, t->cols[t->chart_col]);
		fputs(", one per row", f);
	}
	fputs("; the figures are in the table above", f);
}

static void
chart_open(FILE *f, const report_table *t, int width, int height)
{
	fprintf(f,
		"<svg class=\"chart\" viewBox=\"0 0 %d %d\" width=\"%d\" "
		"height=\"%d\" role=\"img\" aria-label=\"",
		width, height, width, height);
	chart_name(f, t);
	fputs("\"><title>", f);
	chart_name(f, t);
	fputs("</title>", f);
}

/* An upper bound of a label's width in px at the charts' 11px font: an
 * svg does not wrap or shrink text, and a label wider than its column
 * runs off the chart's left edge (a 40-byte id and its programme type is
 * some 500px in capitals). In DejaVu Sans at 11px the ASCII glyphs wider
 * than 7px (capitals, m, w, @, %, #, &, =, +, <, >, ^, ~) take at most 11px;
 * a character beyond ASCII is counted at 14px (a Cyrillic capital Ж is
 * some 12px); a continuation byte adds nothing. */
static int
label_px(const char *s)
{
	int px = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) == 0x80)
			continue;
		if (*p >= 0xC0)
			px += 14;
		else if ((*p >= 'A' && *p <= 'Z') ||
			 strchr("mw@%#&=+<>^~", *p))
			px += 11;
		else
			px += 7;
	}
	return px;
}

/* Horizontal bars of one column; suppressed cells get no bar. */
static void
bar_chart(FILE *f, const report_table *t)
{
	size_t c = (size_t)t->chart_col;
	long max = 1;
	char buf[24];
	int lw = 250; /* the label column: 250px, or the widest label's */
	for (size_t r = 0; r < t->nrows; r++) {
		if (!report_hidden(t, r, c) &&
		    *report_cell((report_table *)t, r, c) > max)
			max = *report_cell((report_table *)t, r, c);
		if (label_px(t->rows[r]) + 4 > lw)
			lw = label_px(t->rows[r]) + 4;
	}
	int h = 22 * (int)t->nrows + 30;
	chart_open(f, t, lw + 470, h);
	fputs("<text x=\"0\" y=\"14\" class=\"cap\">", f);
	html_text(f, t->cols[c]);
	fputs("</text>\n", f);
	for (size_t r = 0; r < t->nrows; r++) {
		int y = 24 + 22 * (int)r;
		long v = *report_cell((report_table *)t, r, c);
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", lw,
			y + 14);
		html_text(f, t->rows[r]);
		fputs("</text>", f);
		int w = report_hidden(t, r, c) ? 0 : (int)(400 * v / max);
		if (w)
			fprintf(f,
				"<rect x=\"%d\" y=\"%d\" width=\"%d\" "
				"height=\"16\" class=\"bar\"/>",
				lw + 10, y + 2, w);
		fprintf(f, "<text x=\"%d\" y=\"%d\">", lw + 16 + w, y + 14);
		html_text(f, shown(t, r, c, buf));
		fputs("</text>\n", f);
	}
	fputs("</svg>\n", f);
}

/* The monthly count against the baseline (360) and the goal (160). */
static void
line_chart(FILE *f, const report_table *t)
{
	long max = NEET_BASELINE + 40;
	char buf[24];
	for (size_t r = 0; r < t->nrows; r++)
		if (*report_cell((report_table *)t, r, 0) > max)
			max = *report_cell((report_table *)t, r, 0);
	const int x0 = 60, w = 620, y0 = 20, hgt = 200;
	size_t n = t->nrows ? t->nrows : 1;
#define YPOS(v) (y0 + hgt - (int)(hgt * (v) / max))
	chart_open(f, t, 720, 260);
	fprintf(
	    f,
	    "\n<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"base\"/>"
	    "<text x=\"%d\" y=\"%d\" class=\"cap\">baseline %d</text>\n"
	    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" class=\"goal\"/>"
	    "<text x=\"%d\" y=\"%d\" class=\"cap\">goal %d</text>\n",
	    x0, YPOS(NEET_BASELINE), x0 + w, YPOS(NEET_BASELINE), x0 + 4,
	    YPOS(NEET_BASELINE) - 4, NEET_BASELINE, x0, YPOS(NEET_GOAL),
	    x0 + w, YPOS(NEET_GOAL), x0 + 4, YPOS(NEET_GOAL) - 4, NEET_GOAL);
	fprintf(f,
		"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
		"class=\"axis\"/>\n",
		x0, y0 + hgt, x0 + w, y0 + hgt);
	/* A month's label (YYYY-MM, some 46px) and figure are written
	 * only every step-th month when the months lie closer than 50px
	 * (over more than 13 months), counted back from the last month,
	 * the key figure: side by side they would run into one smear. The
	 * table above has every month's figure. */
	size_t step = 1;
	while (n > 1 && (size_t)(w - 20) * step < 50 * (n - 1))
		step++;
	int px = -1, py = -1;
	for (size_t r = 0; r < t->nrows; r++) {
		int x = x0 + (int)((w - 20) * r / (n > 1 ? n - 1 : 1)) + 10;
		bool hide = report_hidden(t, r, 0);
		long v = *report_cell((report_table *)t, r, 0);
		int y = YPOS(hide ? 0 : v);
		if (!hide && px >= 0)
			fprintf(
			    f,
			    "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
			    "class=\"series\"/>",
			    px, py, x, y);
		if (!hide)
			fprintf(f,
				"<circle cx=\"%d\" cy=\"%d\" r=\"3\" "
				"class=\"dot\"/>",
				x, y);
		px = hide ? -1 : x;
		py = y;
		if ((t->nrows - 1 - r) % step != 0) {
			fputs("\n", f);
			continue;
		}
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
			x, hide ? y0 + hgt - 6 : y - 6);
		html_text(f, shown(t, r, 0, buf));
		fprintf(
		    f,
		    "</text><text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
		    "class=\"cap\">",
		    x, y0 + hgt + 16);
		html_text(f, t->rows[r]);
		fputs("</text>\n", f);
	}
#undef YPOS
	fputs("</svg>\n", f);
}

static const char style[] =
    "body{font-family:'DejaVu Sans',Arial,sans-serif;margin:2em auto;"
    "max-width:60em;color:#222}h1{font-size:1.6em}h2{font-size:1.2em;"
    "margin-top:2em;border-bottom:1px solid #999}"
    "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid "
    "#bbb;padding:.2em .6em}td{text-align:right}thead th{background:#eee}"
    /* #777 on white is 4.48:1, under the 4.5:1 WCAG AA asks of text. */
    "tr.total th,tr.total td{font-weight:bold}td.sup{color:#666}"
    ".note{font-size:.9em;color:#444}.key{background:#f4f4f4;padding:"
    ".5em 1em}svg text{font-size:11px;fill:#222}svg .cap{fill:#555}"
    /* A chart wider than the page (long labels) shrinks, not cut off. */
    "svg.chart{max-width:100%;height:auto}"
    ".bar{fill:#3b6ea5}.series{stroke:#3b6ea5;stroke-width:2}.dot{fill:"
    "#3b6ea5}.goal{stroke:#2a8a3a;stroke-dasharray:6 3}.base{stroke:"
    "#b33;stroke-dasharray:2 3}.axis{stroke:#888}"
    "@media print{body{margin:0;max-width:none}section{break-inside:"
    "avoid}h2{break-after:avoid}}";

static void
key_figures(FILE *f, const report_table *enrol, const report_table *neet)
{
	fputs("<div class=\"key\"><ul>\n", f);
	report_table *e = (report_table *)enrol;
	size_t eud = 0;
	while (eud < e->nrows && strcmp(e->rows[eud], "EUD") != 0)
		eud++;
	if (eud < e->nrows && !report_hidden(e, eud, 0) &&
	    !report_hidden(e, e->nrows, 0) &&
	    *report_cell(e, e->nrows, 0) > 0) {
		long n = *report_cell(e, eud, 0);
		long all = *report_cell(e, e->nrows, 0);
		/* Half up in integers, as every rate the hub shows (RULES.md):
		 * %.1f of a double rounds 31.25 to 31.2. */
		long tenths = (2000 * n + all) / (2 * all);
		fprintf(f,
			"<li>Share of enrolments heading for vocational "
			"education (EUD): %ld.%ld %% (%ld of %ld)</li>\n",
			tenths / 10, tenths % 10, n, all);
	} else if (*report_cell(e, e->nrows, 0) == 0)
		fputs("<li>Share of enrolments heading for vocational "
		      "education (EUD): no enrolments in the period</li>\n",
		      f);
	else
		fputs("<li>Share of enrolments heading for vocational "
		      "education (EUD): suppressed (too few persons)</li>\n",
		      f);
	if (neet->nrows) {
		char buf[24];
		size_t last = neet->nrows - 1;
		fprintf(f, "<li>Without attachment to education in ");
		html_text(f, neet->rows[last]);
		fprintf(f, ": %s (baseline %d, goal %d)</li>\n",
			shown(neet, last, 0, buf)[0] == '<'
			    ? "&lt;5"
			    : shown(neet, last, 0, buf),
			NEET_BASELINE, NEET_GOAL);
	}
	fputs("</ul></div>\n", f);
}

static void
write_html(FILE *f, const report_input *in, report_table *t, size_t n)
{
	char a[11], b[11], now[11];
	ug_date_format(in->from, a);
	ug_date_format(in->to, b);
	ug_date_format(in->asof, now);
	fprintf(
	    f,
	    "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
	    "charset=\"utf-8\"><title>Annual status %s to %s</title>\n"
	    "<style>%s</style></head><body>\n<h1>Strong choices: the "
	    "annual status, %s to %s</h1>\n<p class=\"note\">Computed by "
	    "the hub from its log on %s. Counts of persons (the legal "
	    "clocks: of clocks; alerts: of alerts; anonymous counselling: "
	    "of records); a count of 1 to 4 is shown as &lt;5, and where a "
	    "total would reveal it a second cell is hidden too (x). No "
	    "CPR number, name or pseudonym is in this report.</p>\n",
	    a, b, style, a, b, now);
	key_figures(f, &t[4], &t[5]);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "<section id=\"%s\"><h2>", t[i].name);
		html_text(f, t[i].title);
		fputs("</h2>\n<p class=\"note\">", f);
		html_text(f, t[i].note);
		fprintf(f, " (status-%s.csv)</p>\n", t[i].name);
		html_table(f, &t[i]);
		/* A table without a row has nothing for a chart to draw, and
		 * its name would point at figures that are not there. */
		if (t[i].nrows && t[i].chart_line)
			line_chart(f, &t[i]);
		else if (t[i].nrows && t[i].chart_col >= 0)
			bar_chart(f, &t[i]);
		fputs("</section>\n", f);
	}
	fputs("</body></html>\n", f);
}

/* The page and its CSV files are one report: each is written beside its
 * name and all are renamed into place only once every one is written,
 * so a report that fails leaves the files of the last one as they were,
 * never a page with another run's figures beside it. Each is written
 * without a name (O_TMPFILE) and named only then, so a hubctl killed or
 * interrupted meanwhile, which takes nothing back, leaves none of them
 * (a file system without O_TMPFILE gets named files from the start). */
typedef struct {
	char path[PATH_MAX + 64];
	char tmp[PATH_MAX + 72];
	int unnamed; /* its descriptor, kept open until it is named; or -1 */
} report_file;

static FILE *
file_open(report_file *o)
{
	snprintf(o->tmp, sizeof o->tmp, "%.*s.XXXXXX", PATH_MAX + 63, o->path);
	o->unnamed = -1;
	int fd = ug_open_unnamed(o->path);
	bool unnamed = fd >= 0;
	if (fd < 0 &&
	    (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL))
		fd = mkstemp(o->tmp);
	FILE *f = NULL;
	if (fd >= 0) {
		/* mkstemp makes it 0600; the report is no secret. */
		mode_t mask = umask(0);
		umask(mask);
		if (fchmod(fd, 0666 & ~mask) == 0)
			f = fdopen(fd, "w");
	}
	if (!f) {
		ug_eprintf("hubctl: cannot write %s: %s\n", o->path,
			   strerror(errno));
		if (fd >= 0) {
			close(fd);
			if (!unnamed)
				unlink(o->tmp);
		}
		o->tmp[0] = '\0';
	} else if (unnamed) {
		o->tmp[0] = '\0';
		/* Kept past fclose: the file is named through it at commit. */
		o->unnamed = dup(fd);
		if (o->unnamed < 0) {
			ug_eprintf("hubctl: cannot write %s: %s\n", o->path,
				   strerror(errno));
			fclose(f);
			f = NULL;
		}
	}
	return f;
}

static bool
file_close(report_file *o, FILE *f)
{
	bool ok = fflush(f) == 0 && !ferror(f);
	int why = errno;
	if (fclose(f) != 0 && ok) {
		ok = false;
		why = errno;
	}
	if (!ok)
		ug_eprintf("hubctl: cannot write %s: %s\n", o->path,
			   strerror(why));
	return ok;
}

/* Rename every written file into place, or take them all back. */
static bool
files_commit(report_file *files, size_t n, bool ok)
{
	struct stat st;
	for (size_t i = 0; ok && i < n; i++)
		if (lstat(files[i].path, &st) == 0 && S_ISDIR(st.st_mode)) {
			ug_eprintf("hubctl: cannot write %s: %s\n",
				   files[i].path, strerror(EISDIR));
			ok = false;
		} else if (lstat(files[i].path, &st) == 0 &&
			   !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode)) {
			/* The rename would put the page in place of a pipe or
			 * a device (as root, /dev/null itself). */
			ug_eprintf("hubctl: cannot write %s: it is not a "
				   "regular file\n",
				   files[i].path);
			ok = false;
		}
	for (size_t i = 0; ok && i < n; i++)
		if (files[i].unnamed >= 0 &&
		    !ug_name_unnamed(files[i].unnamed, files[i].path,
				     files[i].tmp, sizeof files[i].tmp)) {
			ug_eprintf("hubctl: cannot write %s: %s\n",
				   files[i].path, strerror(errno));
			files[i].tmp[0] = '\0';
			ok = false;
		}
	for (size_t i = 0; i < n; i++)
		if (files[i].unnamed >= 0) {
			close(files[i].unnamed);
			files[i].unnamed = -1;
		}
	for (size_t i = 0; ok && i < n; i++)
		if (rename(files[i].tmp, files[i].path) != 0) {
			ug_eprintf("hubctl: cannot write %s: %s\n",
				   files[i].path, strerror(errno));
			ok = false;
		} else {
			files[i].tmp[0] = '\0';
		}
	for (size_t i = 0; i < n; i++)
		if (files[i].tmp[0])
			unlink(files[i].tmp);
	return ok;
}

static bool
write_files(const char *out, const char *dir, const report_input *in,
	    report_table *t, size_t n)
{
	if (strlen(out) >= PATH_MAX) {
		ug_eprintf("hubctl: cannot write %.64s...: %s\n", out,
			   strerror(ENAMETOOLONG));
		return false;
	}
	report_file files[1 + REPORT_TABLES];
	memset(files, 0, sizeof files);
	snprintf(files[0].path, sizeof files[0].path, "%.*s", PATH_MAX - 1,
		 out);
	for (size_t i = 0; i < n; i++)
		snprintf(files[1 + i].path, sizeof files[1 + i].path,
			 "%.*s/status-%.31s.csv", PATH_MAX - 1, dir,
			 t[i].name);
	bool ok = true;
	size_t opened = 0;
	for (; ok && opened < 1 + n; opened++) {
		FILE *f = file_open(&files[opened]);
		if (!f) {
			ok = false;
			break;
		}
		if (opened == 0)
			write_html(f, in, t, n);
		else
			write_csv(f, &t[opened - 1]);
		ok = file_close(&files[opened], f);
	}
	return files_commit(files, opened, ok);
}

/* ---- the command ---- */

int
hubctl_report(const ug_config *cfg, store *s, ug_keys *keys)
{
	scan sc = {0};
	rules_config rc;
	ug_diag diag = {0};
	if (!period_of(cfg, &sc.in.from, &sc.in.to))
		return 2;
	rules_config_defaults(&rc);
	const char *rules = ug_config_get(cfg, "rules");
	if (rules[0] && rules_config_load(&rc, rules, &diag) != UG_OK) {
		/* The reason names the file and line itself. The store is
		 * open: a report that fails is recorded, this one too. */
		ug_eprintf("hubctl: report: %s\n", diag.reason);
		char detail[STORE_AUDIT_DETAIL_MAX], a[11], b[11];
		ug_date_format(sc.in.from, a);
		ug_date_format(sc.in.to, b);
		snprintf(
		    detail, sizeof detail,
		    "annual status %s to %s: 0 "
		    "events read, 0 alerts, 0 tables (the rules file does "
		    "not load); nothing written",
		    a, b);
		hubctl_audit_admin(s, keys, "report", "failed", NULL, detail);
		return 1;
	}
	sc.in.rules = &rc;
	sc.in.asof = ug_today();
	uint64_t next = 1, last;
	ug_err err = UG_OK;
	do {
		last = next;
		err = store_log_scan_opened(s, next, 4096, take, skip_unopened,
					    &sc, &next);
	} while (err == UG_OK && next != last);
	/* The status goes to management and the council: figures that
	 * silently leave an event out are worse than none. */
	char unread[128] = "";
	if (err == UG_OK && sc.unopened.n) {
		ug_seq_list(sc.unopened.first, sc.unopened.n, sc.unopened.n,
			    unread, sizeof unread);
		err = UG_EMALFORMED;
	}
	alert_ctx ac = {.s = s, .sc = &sc};
	for (size_t i = 0; err == UG_OK && i < sc.nseqs; i++) {
		ac.person = sc.seq_person[i];
		err = store_alerts_raised(s, sc.seqs[i], alert_id, &ac);
	}
	report_table t[REPORT_TABLES];
	memset(t, 0, sizeof t);
	size_t made = 0;
	if (err == UG_OK) {
		report_drop_superseded(
		    &sc.in, (const uint8_t(*)[16])sc.ids,
		    (const uint8_t(*)[16])sc.sup,
		    (const char(*)[REPORT_LABEL_MAX])sc.agency);
		bool (*const calc[REPORT_TABLES])(const report_input *,
						  report_table *) = {
		    report_readiness,	    report_absence_bands,
		    report_absence_chronic, report_dropouts,
		    report_enrolment_types, report_neet,
		    report_clocks,	    report_alerts,
		    report_anonymous};
		for (; made < REPORT_TABLES; made++)
			if (!calc[made](&sc.in, &t[made])) {
				err = UG_ENOMEM;
				break;
			}
		if (made == REPORT_TABLES && !link_tables(t, REPORT_TABLES))
			err = UG_ENOMEM;
	}
	const char *out = ug_config_get(cfg, "out");
	char dirbuf[PATH_MAX];
	snprintf(dirbuf, sizeof dirbuf, "%s", out);
	const char *dir = dirname(dirbuf);
	/* The CSV files are DIR/status-*.csv: at the root that is
	 * /status-*.csv, not //status-*.csv (a name POSIX leaves to the
	 * system, and not the one the operator gave). */
	if (strcmp(dir, "/") == 0)
		dir = "";
	bool written = err == UG_OK && write_files(out, dir, &sc.in, t, made);
	char detail[STORE_AUDIT_DETAIL_MAX], a[11], b[11];
	ug_date_format(sc.in.from, a);
	ug_date_format(sc.in.to, b);
	/* The counts are what was read and computed; a failed report put
	 * none of its tables in place, and says so. */
	char why[200] = "";
	if (sc.unopened.n)
		snprintf(why, sizeof why, "; %zu log records do not open (%s)",
			 sc.unopened.n, unread);
	snprintf(detail, sizeof detail,
		 "annual status %s to %s: %zu events "
		 "read, %zu alerts, %zu tables%s%s",
		 a, b, sc.nseqs, sc.in.nalerts, made, why,
		 written ? "" : "; nothing written");
	hubctl_audit_admin(s, keys, "report", written ? "ok" : "failed", NULL,
			   detail);
	for (size_t i = 0; i < made; i++)
		report_table_fini(&t[i]);
	free(sc.in.facts);
	free(sc.in.birth);
	free(sc.in.alerts);
	free(sc.ids);
	free(sc.sup);
	free(sc.agency);
	free(sc.keys);
	free(sc.slot);
	free(sc.seqs);
	free(sc.seq_person);
	if (!written) {
		if (sc.unopened.n)
			ug_eprintf("hubctl: report failed: %zu log records do "
				   "not open with the storage key (%s; "
				   "STORE-SEAL above): the status would leave "
				   "their events out of its figures; nothing "
				   "written. Treat it as damage to the store: "
				   "see OPERATIONS.md, \"Records that do not "
				   "open\"\n",
				   sc.unopened.n, unread);
		else if (err != UG_OK)
			ug_eprintf("hubctl: report failed: %s\n",
				   ug_strerror(err));
		return 1;
	}
	ug_oprintf("wrote %s and %zu tables as %s/status-*.csv\n", out, made,
		   dir);
	return 0;
}
