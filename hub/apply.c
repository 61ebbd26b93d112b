/*
 * The derived side: read log entries after last_applied, index them per
 * person, run the rules, and store the alerts they raise. The order of the
 * two commits is what makes a crash harmless: alerts are committed (synced)
 * first, then the derived state with its new last_applied (not synced).
 * Crash between them, and the replay raises the same alerts under the same
 * ids (raising sequence + rule), which the store keeps only once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "hub/hub_int.h"

typedef struct {
	store_alert alert;
	char recipient[STORE_ID_MAX];
} new_alert;

typedef struct {
	hub *h;
	store_dtxn *txn;
	new_alert *alerts;
	size_t nalerts, cap;
	size_t applied;
} apply_ctx;

static ug_err
push_alert(apply_ctx *c, const uint8_t id[STORE_ALERT_ID_LEN],
           const char *recipient, const wire_alert *alert)
{
	if (c->nalerts == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		new_alert *grown = realloc(c->alerts, cap * sizeof *grown);
		if (!grown)
			return UG_ENOMEM;
		c->alerts = grown;
		c->cap = cap;
	}
	size_t len = wire_packed_size(alert);
	uint8_t *body = malloc(len ? len : 1);
	if (!body)
		return UG_ENOMEM;
	wire_pack(alert, body);
	new_alert *a = &c->alerts[c->nalerts++];
	memset(a, 0, sizeof *a);
	memcpy(a->alert.id, id, STORE_ALERT_ID_LEN);
	/* alert.recipient is pointed at a->recipient only when the batch is
	 * stored: the array may still move when it grows. */
	ug_strlcpy(a->recipient, recipient, sizeof a->recipient);
	a->alert.body = body;
	a->alert.body_len = len;
	return UG_OK;
}

/* Working days after `from`, skipping weekends. */
static int32_t
add_working_days(int32_t from, int days)
{
	int32_t day = from;
	while (days > 0) {
		day++;
		if (ug_weekday(day) < 5)
			days--;
	}
	return day;
}

static void
resolve_recipient(hub *h, const uint8_t *person_key, char *out)
{
	if (store_assignment_get(h->store, person_key, ug_today(), out) !=
	    UG_OK)
		ug_strlcpy(out, h->desk, STORE_ID_MAX);
}

static ug_err
raise_absence(apply_ctx *c, const store_record *rec, const wire_envelope *env,
              const absence_state *st, const absence_verdict *v)
{
	hub *h = c->h;
	char start[11], end[11], due[11], title[160], explanation[768];
	ug_date_format(v->first_day, start);
	ug_date_format(v->window_end, end);
	ug_date_format(add_working_days(ug_today(), 5), due);
	unsigned tenths = (unsigned)(((uint64_t)v->absent * 2000 / v->expected + 1) / 2);
	snprintf(title, sizeof title,
	         "Absence %u.%u %% over the last %d school days (threshold "
	         "%d %%)",
	         tenths / 10, tenths % 10, h->absence.window_days,
	         h->absence.threshold_pct);
	snprintf(explanation, sizeof explanation,
	         "From %s to %s (%d school days reported) the school reported "
	         "%u of %u expected lessons absent (%u.%u %%) in %u reports. "
	         "Rule %s: absence above %d %% of expected lessons over the "
	         "last %d school days raises one alert per episode; it stays "
	         "quiet until the rate falls back and rises again. Expected of "
	         "you: contact the young person and the school by %s.",
	         start, end, v->covered_days, v->absent, v->expected,
	         tenths / 10, tenths % 10, v->nused, RULE_ABSENCE_NAME,
	         h->absence.threshold_pct, h->absence.window_days, due);

	Ungebro__V1__Evidence evidence[ABSENCE_MAX_REPORTS];
	Ungebro__V1__Evidence *evidence_ptrs[ABSENCE_MAX_REPORTS];
	char dates[ABSENCE_MAX_REPORTS][2][11];
	for (uint16_t i = 0; i < v->nused; i++) {
		const absence_report *r = &st->reports[v->used[i]];
		ungebro__v1__evidence__init(&evidence[i]);
		evidence[i].event_id.data = (uint8_t *)r->event_id;
		evidence[i].event_id.len = WIRE_EVENT_ID_LEN;
		evidence[i].agency = (char *)rec->agency;
		evidence[i].type = UNGEBRO__V1__EVENT_TYPE__ABSENCE_REPORT;
		ug_date_format(r->start, dates[i][0]);
		ug_date_format(r->end, dates[i][1]);
		evidence[i].period_start = dates[i][0];
		evidence[i].period_end = dates[i][1];
		evidence[i].lessons_absent = r->absent;
		evidence[i].lessons_expected = r->expected;
		evidence_ptrs[i] = &evidence[i];
	}
	char recipient[STORE_ID_MAX];
	resolve_recipient(h, rec->person_key, recipient);
	uint8_t id[STORE_ALERT_ID_LEN];
	ug_put_be64(id, rec->seq);
	id[8] = RULE_ABSENCE;
	wire_alert alert = UNGEBRO__V1__ALERT__INIT;
	alert.alert_id.data = id;
	alert.alert_id.len = sizeof id;
	alert.rule = RULE_ABSENCE_NAME;
	alert.priority = UNGEBRO__V1__PRIORITY__NORMAL;
	alert.cpr = env->cpr;
	alert.recipient = recipient;
	alert.raised_at = ug_now_ms();
	alert.title = title;
	alert.explanation = explanation;
	alert.due = due;
	alert.n_evidence = v->nused;
	alert.evidence = evidence_ptrs;
	return push_alert(c, id, recipient, &alert);
}

static ug_err
apply_absence(apply_ctx *c, const store_record *rec, const wire_envelope *env)
{
	const Ungebro__V1__AbsenceReport *a = env->absence_report;
	absence_report report = {
		.absent = (uint16_t)(a->lessons_absent > 65535
		                             ? 65535
		                             : a->lessons_absent),
		.expected = (uint16_t)(a->lessons_expected > 65535
		                               ? 65535
		                               : a->lessons_expected),
		.kind = (uint8_t)a->kind,
	};
	if (ug_date_parse(a->period_start, &report.start) != UG_OK ||
	    ug_date_parse(a->period_end, &report.end) != UG_OK)
		return UG_OK; /* validated at ingest; a bad old record is skipped */
	memcpy(report.event_id, env->event_id.data, WIRE_EVENT_ID_LEN);

	uint8_t blob[ABSENCE_STATE_MAX];
	size_t len = 0;
	absence_state st;
	ug_err err = store_derived_state_get(c->txn, rec->person_key,
	                                     RULE_ABSENCE, blob, sizeof blob,
	                                     &len);
	if (err == UG_ENOTFOUND || (err == UG_OK &&
	                            !absence_state_parse(&st, blob, len)))
		memset(&st, 0, sizeof st);
	else if (err != UG_OK)
		return err;
	absence_verdict verdict;
	absence_apply(&c->h->absence, &st, &report, &verdict);
	len = absence_state_write(&st, blob, sizeof blob);
	err = store_derived_state_put(c->txn, rec->person_key, RULE_ABSENCE,
	                              blob, len);
	if (err == UG_OK && verdict.raise)
		err = raise_absence(c, rec, env, &st, &verdict);
	return err;
}

static ug_err
apply_record(void *ctx, const store_record *rec)
{
	apply_ctx *c = ctx;
	c->applied++;
	wire_envelope *env = wire_unpack(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT,
	                                 rec->body, rec->body_len);
	if (!env) {
		log_err("HUB-APPLY", "log entry %llu does not decode; skipped",
		        (unsigned long long)rec->seq);
		return UG_OK;
	}
	ug_err err = UG_OK;
	if (rec->person_key) {
		err = store_derived_index(c->txn, rec->person_key,
		                          env->occurred_at, rec->seq);
		if (err == UG_OK && env->payload_case ==
		    UNGEBRO__V1__ENVELOPE__PAYLOAD_ABSENCE_REPORT)
			err = apply_absence(c, rec, env);
	}
	wire_free(UNGEBRO__V1__FRAME_KIND__FRAME_EVENT, env);
	return err;
}

static void
free_alerts(apply_ctx *c)
{
	for (size_t i = 0; i < c->nalerts; i++)
		free((void *)c->alerts[i].alert.body);
	free(c->alerts);
}

long
hub__apply(hub *h, size_t max)
{
	apply_ctx c = {.h = h};
	uint64_t from = store_derived_last_applied(h->store) + 1, next;
	ug_err err = store_derived_begin(h->store, &c.txn);
	if (err != UG_OK)
		return -1;
	err = store_log_scan(h->store, from, max, apply_record, &c, &next);
	if (err == UG_OK && c.applied == 0) {
		store_derived_abort(&c.txn);
		return 0;
	}
	if (err == UG_OK && c.nalerts) {
		store_alert *batch = malloc(c.nalerts * sizeof *batch);
		err = batch ? UG_OK : UG_ENOMEM;
		for (size_t i = 0; err == UG_OK && i < c.nalerts; i++) {
			batch[i] = c.alerts[i].alert;
			batch[i].recipient = c.alerts[i].recipient;
		}
		if (err == UG_OK)
			err = store_alerts_put(h->store, batch, c.nalerts);
		for (size_t i = 0; err == UG_OK && i < c.nalerts; i++)
			c.alerts[i].alert.created = batch[i].created;
		free(batch);
	}
	if (err == UG_OK)
		err = store_derived_commit(&c.txn, next - 1);
	else
		store_derived_abort(&c.txn);
	if (err != UG_OK) {
		log_err("HUB-APPLY", "applying log from %llu failed: %s",
		        (unsigned long long)from, ug_strerror(err));
		free_alerts(&c);
		return -1;
	}
	for (size_t i = 0; i < c.nalerts; i++) {
		if (!c.alerts[i].alert.created)
			continue;
		h->alerts_raised++;
		char hexid[2 * STORE_ALERT_ID_LEN + 1];
		ug_hex(c.alerts[i].alert.id, STORE_ALERT_ID_LEN, hexid);
		log_info("HUB-ALERT", "alert %s raised for %s", hexid,
		         c.alerts[i].recipient);
		hub__delivery_notify(h, c.alerts[i].recipient);
	}
	free_alerts(&c);
	return (long)c.applied;
}
