/*
 * Recording what a caseworker did (issue: "record what was done, not just
 * that an alert was seen"). An Action frame names an alert; the hub checks
 * that the caseworker may act on its young person, then appends a
 * CaseworkerAction event to the log in one synchronous transaction and
 * answers OK only after that commit. From the log the action reaches the
 * rules (a recorded contact meets the contact deadline and starts the offer
 * clock; a recorded offer meets the offer deadline) and the timeline, like
 * any other fact.
 */
#include <stdio.h>
#include <string.h>

#include "common/crypto.h"
#include "common/log.h"
#include "common/util.h"
#include "hub/engine.h"
#include "hub/hub_int.h"

#define ACTION_TEXT_MAX 256 /* bytes of `how` */
#define ACTION_NOTE_MAX 200 /* bytes of `note` */

/* The bytes the sender gave the Action's text field `name`: a NUL byte
 * ends the decoded text but not what was sent, and an action stored cut
 * at it would be taken for another one sent again. */
static size_t
sent_len(const uint8_t *body, size_t body_len, const char *name,
	 const char *text)
{
	size_t n = wire_field_text_len(&ungebro__v1__action__descriptor, body,
				       body_len, name);
	return n != SIZE_MAX ? n : text ? strlen(text) : 0;
}

/* White space alone (a non-breaking space or a control character as much
 * as a blank) says nothing of how: stored, the timeline would read
 * "contact made by cw-anna: " as if something had been written, and a
 * contact would count as made. A text with a NUL byte is not blank,
 * whatever comes before it: that has its own reason. */
static bool
blank(const char *text, size_t sent)
{
	if (!text || strlen(text) != sent)
		return false;
	return ug_text_unseen(text);
}

/* Why the action cannot be taken as sent (body: the frame after its
 * header), or NULL. */
static const char *
malformed(const hub *h, const wire_action *a, const uint8_t *body,
	  size_t body_len, int32_t *day)
{
	if (a->alert_id.len != STORE_ALERT_ID_LEN)
		return "alert_id must be the 9 bytes of an alert's id";
	if (a->kind != UNGEBRO__V1__ACTION_KIND__CONTACT_MADE &&
	    a->kind != UNGEBRO__V1__ACTION_KIND__OFFER_MADE &&
	    a->kind != UNGEBRO__V1__ACTION_KIND__COULD_NOT_REACH)
		return "kind must be CONTACT_MADE, OFFER_MADE or "
		       "COULD_NOT_REACH";
	size_t date_len = sent_len(body, body_len, "date", a->date);
	size_t how_len = sent_len(body, body_len, "how", a->how);
	size_t note_len = sent_len(body, body_len, "note", a->note);
	if (date_len == 0)
		*day = hub__today(h); /* not given: today */
	else if (date_len != strlen(a->date) ||
		 ug_date_parse(a->date, day) != UG_OK)
		return "date must be the day it was done, YYYY-MM-DD";
	if (*day > hub__today(h))
		return "date is in the future: record an action once it is "
		       "done";
	if (how_len == 0 || blank(a->how, how_len))
		return a->kind == UNGEBRO__V1__ACTION_KIND__OFFER_MADE
			   ? "how must say what was offered"
			   : "how must say how (phone, meeting, home visit, "
			     "letter, ...)";
	if (how_len > ACTION_TEXT_MAX)
		return "how is longer than 256 bytes";
	if (note_len > ACTION_NOTE_MAX)
		return "note is longer than 200 bytes";
	if (how_len != strlen(a->how))
		return "how contains a NUL byte";
	if (note_len != (a->note ? strlen(a->note) : 0))
		return "note contains a NUL byte";
	/* Stored, and shown in every timeline of the person: one bad byte
	 * would make those answers undecodable for a strict client. */
	if (!ug_utf8_valid(a->how, strlen(a->how)))
		return "how is not valid UTF-8";
	if (a->note && !ug_utf8_valid(a->note, strlen(a->note)))
		return "note is not valid UTF-8";
	return NULL;
}

/* May the caseworker act on the alert's young person: the alert is
 * theirs (or their desk's), or they are the person's contact person or
 * guidance counsellor today. UG_OK, UG_EDENIED, or the error of a read
 * that kept the hub from telling: a refusal would tell the caseworker
 * the alert is not theirs when the hub only failed to read it. */
static ug_err
may_act(hub *h, const char *caseworker, const uint8_t *id,
	const char *recipient, const uint8_t *person_key)
{
	if (strcmp(recipient, caseworker) == 0)
		return UG_OK;
	bool desk = false;
	ug_err unread = UG_OK;
	if (strcmp(recipient, h->rules.desk) == 0) {
		unread = hub__desk_member(h, caseworker, &desk);
		if (desk)
			return UG_OK;
	}
	/* A health alert is for the one it was shared with: an OK to the
	 * counsellor or a later contact person would tell them that it
	 * exists, which the consent does not allow. */
	int rule = id[STORE_ALERT_ID_LEN - 1] & R_RULE_MASK;
	if (rule == R_ADDICTION || rule == R_TREATMENT_MISSED)
		return unread != UG_OK ? unread : UG_EDENIED;
	char who[STORE_ID_MAX];
	int32_t today = hub__today(h);
	ug_err err = store_assignment_get(h->store, person_key, today, who);
	/* The desk's own id names no contact person (RULES.md §7), not
	 * even to a login registered under it. */
	if (err == UG_OK && strcmp(who, caseworker) == 0 &&
	    strcmp(who, h->rules.desk) != 0)
		return UG_OK;
	if (err != UG_OK && err != UG_ENOTFOUND)
		unread = err;
	err = store_assignment_role(h->store, person_key, STORE_ROLE_GUIDANCE,
				    today, who);
	if (err == UG_OK && strcmp(who, caseworker) == 0)
		return UG_OK;
	if (err != UG_OK && err != UG_ENOTFOUND)
		unread = err;
	return unread != UG_OK ? unread : UG_EDENIED;
}

static const char *const kind_names[] = {
    "",
    "contact_made",
    "offer_made",
    "could_not_reach",
};

/* Like every delivery-endpoint record, an action's names the key the
 * frame came under: the caseworker's registered one, which the frame was
 * checked against before it got here. */
static void
audit_action(hub *h, const char *caseworker, const char *action,
	     const char *result, const uint8_t *person_key, const char *detail)
{
	char key[UG_Z85_KEY_LEN + 1];
	store_audit_entry e;
	hub__caseworker_audit_entry(h, &e, key, caseworker, action, result,
				    person_key, detail);
	if (store_audit_write(h->store, &e, 1) != UG_OK)
		log_err("HUB-AUDIT", "%s (%s) by %s not audited", action,
			result, caseworker);
}

/* The action's record, the same whether it is new or sent again. */
static ug_err
one_record(void *ctx, const store_event *events, size_t n,
	   const store_audit_entry **e, size_t *ne)
{
	(void)events;
	(void)n;
	*e = ctx;
	*ne = 1;
	return UG_OK;
}

void
hub__action(hub *h, const void *routing, size_t routing_len,
	    const char *caseworker, const wire_action *a, const uint8_t *raw,
	    size_t raw_len)
{
	/* Every action is a synchronous write to the log, kept for good and
	 * shown in the person's timeline: a client sending them in a loop
	 * would hold the agencies' acks up and fill the log. Refused before
	 * it is read, as a query beyond its allowance is. */
	if (!hub__allowed(h, &h->action_buckets, caseworker)) {
		h->actions_limited++;
		char hexid[2 * STORE_ALERT_ID_LEN + 1] = "-";
		if (a->alert_id.len == STORE_ALERT_ID_LEN)
			ug_hex(a->alert_id.data, STORE_ALERT_ID_LEN, hexid);
		char key[UG_Z85_KEY_LEN + 1];
		store_audit_entry e;
		hub__caseworker_audit_entry(h, &e, key, caseworker,
					    "action refused", "rate-limited",
					    NULL, hexid);
		store_audit_queue(h->store, &e);
		hub__delivery_answer(h, routing, routing_len, a->request_id,
				     UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
				     "too many actions; wait a moment and "
				     "send it again");
		return;
	}
	int32_t day = 0;
	const char *bad = malformed(h, a, raw, raw_len, &day);
	/* The alert and its person are looked up even for a malformed
	 * action, so that a refusal names whom it was about. */
	hub_alert_summary f;
	char recipient[STORE_ID_MAX] = "";
	bool open = false;
	uint32_t escalations = 0;
	ug_err err = a->alert_id.len == STORE_ALERT_ID_LEN
			 ? store_alert_state(h->store, a->alert_id.data, &open,
					     recipient, &escalations)
			 : UG_ENOTFOUND;
	if (err == UG_OK)
		err = hub__alert_summary(h, a->alert_id.data, &f);
	else
		memset(&f, 0, sizeof f);
	uint8_t person_key[UG_PERSON_KEY_LEN];
	bool named = err == UG_OK && f.cpr[0];
	if (named)
		ug_person_key(h->keys->hash_key, f.cpr, person_key);
	/* A notice that names no one (a health alert's escalation or
	 * withdrawn notice) takes no action, but its refusal still says,
	 * sealed, whom it was about. */
	bool person =
	    named || (err == UG_OK && hub__alert_person_logged(
					  h, a->alert_id.data, person_key));
	char hexid[2 * STORE_ALERT_ID_LEN + 1] = "-";
	if (a->alert_id.len == STORE_ALERT_ID_LEN)
		ug_hex(a->alert_id.data, STORE_ALERT_ID_LEN, hexid);
	char why[320];
	if (bad) {
		snprintf(why, sizeof why, "%s %s", hexid, bad);
		ug_utf8_trim_tail(why);
		audit_action(h, caseworker, "action refused", "malformed",
			     person ? person_key : NULL, why);
		hub__delivery_answer(h, routing, routing_len, a->request_id,
				     UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
				     bad);
		return;
	}
	const char *denied = "this alert is not addressed to you or your desk";
	/* A forged alert is refused as if absent (OPERATIONS.md, "Records
	 * that do not open"); one whose record or whose access the hub
	 * cannot read now is answered to be sent again, not refused. */
	ug_err access = !named ? UG_EDENIED
			       : may_act(h, caseworker, a->alert_id.data,
					 recipient, person_key);
	if (err != UG_OK && err != UG_ENOTFOUND && err != UG_EMALFORMED)
		access = err;
	if (access != UG_OK && access != UG_EDENIED) {
		log_warn("HUB-ACTION",
			 "%s's %s for alert %s not checked: %s; answered "
			 "E_UNAVAILABLE",
			 caseworker, kind_names[a->kind], hexid,
			 ug_strerror(access));
		hub__delivery_answer(
		    h, routing, routing_len, a->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "the hub cannot read its store right now; retry later");
		return;
	}
	if (access == UG_EDENIED) {
		snprintf(why, sizeof why, "%s %s", hexid,
			 named ? "not the caseworker's alert or person"
			 : err == UG_OK ? "the alert names no one"
					: "no such alert");
		audit_action(h, caseworker, "action refused", "denied",
			     person ? person_key : NULL, why);
		hub__delivery_answer(h, routing, routing_len, a->request_id,
				     UNGEBRO__V1__ERROR_CODE__E_DENIED,
				     denied);
		return;
	}
	Ungebro__V1__CaseworkerAction rec =
	    UNGEBRO__V1__CASEWORKER_ACTION__INIT;
	rec.caseworker = (char *)caseworker;
	rec.alert_id = a->alert_id;
	rec.kind = a->kind;
	char date[11];
	ug_date_format(day, date);
	rec.date = date;
	/* What a caseworker types may name someone else by CPR (a sibling):
	 * stored under this person, it would reach their access export and
	 * escape the other's erasure. Masked as the audit trail masks it. */
	char how[ACTION_TEXT_MAX + 1], note[ACTION_NOTE_MAX + 1];
	ug_strlcpy(how, a->how, sizeof how);
	ug_strlcpy(note, a->note ? a->note : "", sizeof note);
	ug_cpr_mask(how);
	ug_cpr_mask(note);
	rec.how = how;
	rec.note = note;
	wire_envelope env = UNGEBRO__V1__ENVELOPE__INIT;
	env.agency = "hub";
	env.schema_version = 1;
	env.type = UNGEBRO__V1__EVENT_TYPE__CASEWORKER_ACTION;
	env.sensitivity = UNGEBRO__V1__SENSITIVITY__PERSONAL;
	env.occurred_at = (int64_t)day * UG_DAY_MS;
	env.sent_at = h->now;
	env.cpr = f.cpr;
	env.payload_case = UNGEBRO__V1__ENVELOPE__PAYLOAD_CASEWORKER_ACTION;
	env.caseworker_action = &rec;
	/* The id: the day, then a keyed hash of who did what: the same
	 * action sent again is stored once (DUPLICATE), and answered OK. */
	uint8_t id[WIRE_EVENT_ID_LEN];
	ug_put_be64(id, (uint64_t)env.occurred_at);
	char natural[1024];
	/* '|' separates the fields, so a how or note holding one is
	 * written with its length: "a|" + "b" and "a" + "|b" are two
	 * actions. Every other action keeps the id it always had (exactly
	 * five '|'; these have more). */
	int n =
	    strchr(how, '|') || strchr(note, '|')
		? snprintf(natural, sizeof natural,
			   "%s|%s|%d|%s|%zu:%s|%zu:%s", caseworker, hexid,
			   (int)a->kind, date, strlen(how), how, strlen(note),
			   note)
		: snprintf(natural, sizeof natural, "%s|%s|%d|%s|%s|%s",
			   caseworker, hexid, (int)a->kind, date, how, note);
	uint8_t digest[16];
	ug_keyed_hash(h->keys->hash_key, natural,
		      n < 0			   ? 0
		      : (size_t)n < sizeof natural ? (size_t)n
						   : sizeof natural,
		      digest, sizeof digest);
	memcpy(id + 8, digest, 8);
	env.event_id.data = id;
	env.event_id.len = WIRE_EVENT_ID_LEN;
	size_t len = wire_packed_size(&env);
	uint8_t body[4096];
	if (len > sizeof body) {
		hub__delivery_answer(h, routing, routing_len, a->request_id,
				     UNGEBRO__V1__ERROR_CODE__E_MALFORMED,
				     "the action is too large");
		return;
	}
	wire_pack(&env, body);
	store_event ev = {
	    .event_id = id,
	    .agency = "hub",
	    .type = (uint32_t)env.type,
	    .person_key = person_key,
	    .received_at = h->now,
	    .body = body,
	    .body_len = len,
	};
	/* Stored with its record, in one transaction: every recorded
	 * action is in the trail, and one the store cannot take with its
	 * record is not recorded at all (answered retryable). */
	char detail[64];
	snprintf(detail, sizeof detail, "%s %s", hexid, kind_names[a->kind]);
	char key[UG_Z85_KEY_LEN + 1];
	store_audit_entry e;
	hub__caseworker_audit_entry(h, &e, key, caseworker, "action", "ok",
				    person_key, detail);
	err = store_append_audited(h->store, &ev, 1, one_record, &e, NULL);
	if (err != UG_OK) {
		/* Not audited: the trail lives in the store that just
		 * refused a write. */
		log_warn("HUB-ACTION",
			 "%s's %s for alert %s not stored: %s; answered "
			 "E_UNAVAILABLE",
			 caseworker, kind_names[a->kind], hexid,
			 ug_strerror(err));
		hub__delivery_answer(
		    h, routing, routing_len, a->request_id,
		    UNGEBRO__V1__ERROR_CODE__E_UNAVAILABLE,
		    "the hub cannot store the action right now; send it "
		    "again later");
		return;
	}
	log_info("HUB-ACTION", "%s recorded %s for alert %s (seq %llu%s)",
		 caseworker, kind_names[a->kind], hexid,
		 (unsigned long long)ev.seq,
		 ev.status == STORE_DUPLICATE ? ", already recorded" : "");
	/* Applied now rather than at the next catch-up, half a second on:
	 * a client that asks for the timeline after this answer finds the
	 * action in it (a busy applier takes it in its turn). */
	if (ev.status != STORE_DUPLICATE) {
		if (ev.seq > h->logged)
			h->logged = ev.seq;
		hub__applier_kick(h);
	}
	hub__delivery_answer(h, routing, routing_len, a->request_id,
			     UNGEBRO__V1__ERROR_CODE__OK, NULL);
}
