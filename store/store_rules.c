/*
 * What the rules need beyond the log: timers and per-person alert lists
 * and desk memberships (derived, rebuilt from the log like the rest of
 * derived/), alert rerouting for reassignment and escalation, and the
 * audit trail of reads (durable). Layouts:
 *   derived/timer    due BE64 | seq BE64 | kind -> person_key[16]
 *   derived/palerts  person_key[16] | alert_id[9] -> ""
 *   derived/desk     desk | 0 | caseworker -> from BE32 | to BE32 | lead
 *   log/audit        seq BE64 -> sealed(at BE64 | actor 0 action 0 |
 *                    has_person | person_key[16] | detail)
 */
#include <stdlib.h>

#include "common/log.h"
#include "store/store_int.h"

ug_err
store_derived_timer_put(store_dtxn *t, const store_timer *timer)
{
	uint8_t k[17];
	ug_put_be64(k, (uint64_t)timer->due);
	ug_put_be64(k + 8, timer->seq);
	k[16] = timer->kind;
	MDB_val key = {sizeof k, k};
	MDB_val val = {UG_PERSON_KEY_LEN, (void *)timer->person_key};
	return store__map_err(mdb_put(t->txn, t->s->timer, &key, &val, 0),
	                      "put timer");
}

ug_err
store_derived_timers_due(store_dtxn *t, int64_t now, store_timer *out,
                         size_t max, size_t *n)
{
	*n = 0;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(t->txn, t->s->timer, &cur);
	if (rc != 0)
		return store__map_err(rc, "open timer cursor");
	MDB_val key, val;
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (rc == 0 && *n < max) {
		if (key.mv_size != 17 || val.mv_size != UG_PERSON_KEY_LEN)
			break;
		const uint8_t *k = key.mv_data;
		int64_t due = (int64_t)ug_get_be64(k);
		if (due > now)
			break;
		store_timer *tm = &out[(*n)++];
		tm->due = due;
		tm->seq = ug_get_be64(k + 8);
		tm->kind = k[16];
		memcpy(tm->person_key, val.mv_data, UG_PERSON_KEY_LEN);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store__map_err(rc, "due timers");
	/* Deleted after the walk: deleting under a cursor and stepping on
	 * from the last entry is where LMDB answers EINVAL. */
	for (size_t i = 0; i < *n; i++) {
		uint8_t k[17];
		ug_put_be64(k, (uint64_t)out[i].due);
		ug_put_be64(k + 8, out[i].seq);
		k[16] = out[i].kind;
		MDB_val dk = {sizeof k, k};
		rc = mdb_del(t->txn, t->s->timer, &dk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store__map_err(rc, "delete timer");
	}
	return UG_OK;
}

ug_err
store_next_timer(store *s, int64_t *due)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_cursor *cur = NULL;
	MDB_val key, val;
	rc = mdb_cursor_open(txn, s->timer, &cur);
	if (rc == 0) {
		rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
		mdb_cursor_close(cur);
	}
	if (rc == 0 && key.mv_size == 17)
		*due = (int64_t)ug_get_be64(key.mv_data);
	mdb_txn_abort(txn);
	return store__map_err(rc, "next timer");
}

ug_err
store_derived_person_alert(store_dtxn *t, const uint8_t *person_key,
                           const uint8_t *alert_id)
{
	uint8_t k[UG_PERSON_KEY_LEN + STORE_ALERT_ID_LEN];
	memcpy(k, person_key, UG_PERSON_KEY_LEN);
	memcpy(k + UG_PERSON_KEY_LEN, alert_id, STORE_ALERT_ID_LEN);
	MDB_val key = {sizeof k, k}, val = {0, ""};
	return store__map_err(mdb_put(t->txn, t->s->palerts, &key, &val, 0),
	                      "index person alert");
}

/* Visit the keys under a person in a derived db; fn gets the suffix. */
static ug_err
person_prefix_scan(store *s, MDB_dbi dbi, const uint8_t *person_key,
                   size_t suffix_len,
                   ug_err (*fn)(void *ctx, const uint8_t *suffix), void *ctx)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_cursor *cur = NULL;
	rc = mdb_cursor_open(txn, dbi, &cur);
	MDB_val key = {UG_PERSON_KEY_LEN, (void *)person_key}, val;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	ug_err err = UG_OK;
	while (rc == 0 && err == UG_OK &&
	       key.mv_size == UG_PERSON_KEY_LEN + suffix_len &&
	       memcmp(key.mv_data, person_key, UG_PERSON_KEY_LEN) == 0) {
		err = fn(ctx, (const uint8_t *)key.mv_data + UG_PERSON_KEY_LEN);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	if (rc == 0 || rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err != UG_OK ? err : store__map_err(rc, "person scan");
}

struct id_adapter {
	store_id_fn fn;
	void *ctx;
};

static ug_err
visit_id(void *ctx, const uint8_t *suffix)
{
	struct id_adapter *a = ctx;
	return a->fn(a->ctx, suffix);
}

ug_err
store_person_alerts(store *s, const uint8_t *person_key, store_id_fn fn,
                    void *ctx)
{
	struct id_adapter a = {fn, ctx};
	return person_prefix_scan(s, s->palerts, person_key,
	                          STORE_ALERT_ID_LEN, visit_id, &a);
}

struct seq_adapter {
	store_seq_fn fn;
	void *ctx;
};

static ug_err
visit_seq(void *ctx, const uint8_t *suffix)
{
	struct seq_adapter *a = ctx;
	/* suffix: occurred_at BE64 | seq BE64 */
	return a->fn(a->ctx, ug_get_be64(suffix + 8));
}

ug_err
store_person_events(store *s, const uint8_t *person_key, store_seq_fn fn,
                    void *ctx)
{
	struct seq_adapter a = {fn, ctx};
	return person_prefix_scan(s, s->person, person_key, 16, visit_seq, &a);
}

ug_err
store_log_get(store *s, uint64_t seq, store_record_fn fn, void *ctx)
{
	uint64_t next;
	/* A scan of one from seq is a direct lookup in the B-tree. */
	ug_err err = store_log_scan(s, seq, 1, fn, ctx, &next);
	if (err == UG_OK && next != seq + 1)
		err = UG_ENOTFOUND;
	return err;
}

static size_t
desk_key(uint8_t *out, const char *desk, const char *caseworker)
{
	size_t dl = strlen(desk), cl = strlen(caseworker);
	memcpy(out, desk, dl);
	out[dl] = 0;
	memcpy(out + dl + 1, caseworker, cl);
	return dl + 1 + cl;
}

ug_err
store_derived_desk_put(store_dtxn *t, const char *desk,
                       const char *caseworker, int32_t from, int32_t to,
                       bool team_lead)
{
	if (strlen(desk) >= STORE_ID_MAX || strlen(caseworker) >= STORE_ID_MAX)
		return UG_EINVAL;
	uint8_t k[2 * STORE_ID_MAX + 1], v[9];
	ug_put_be32(v, (uint32_t)from);
	ug_put_be32(v + 4, (uint32_t)to);
	v[8] = team_lead;
	MDB_val key = {desk_key(k, desk, caseworker), k}, val = {9, v};
	return store__map_err(mdb_put(t->txn, t->s->desk, &key, &val, 0),
	                      "put desk member");
}

static bool
member_on(const MDB_val *val, int32_t today, bool *lead)
{
	if (val->mv_size != 9)
		return false;
	const uint8_t *v = val->mv_data;
	int32_t from = (int32_t)ug_get_be32(v),
	        to = (int32_t)ug_get_be32(v + 4);
	if (lead)
		*lead = v[8] != 0;
	return today >= from && (to == 0 || today <= to);
}

bool
store_desk_member(store *s, const char *desk, const char *caseworker,
                  int32_t today, bool *lead)
{
	if (strlen(desk) >= STORE_ID_MAX || strlen(caseworker) >= STORE_ID_MAX)
		return false;
	MDB_txn *txn = NULL;
	if (store__begin_read(s->derived_env, &txn) != 0)
		return false;
	uint8_t k[2 * STORE_ID_MAX + 1];
	MDB_val key = {desk_key(k, desk, caseworker), k}, val;
	bool member = mdb_get(txn, s->desk, &key, &val) == 0 &&
	              member_on(&val, today, lead);
	mdb_txn_abort(txn);
	return member;
}

ug_err
store_desk_lead(store *s, const char *desk, int32_t today,
                char lead[STORE_ID_MAX])
{
	size_t dl = strlen(desk);
	if (dl >= STORE_ID_MAX)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_cursor *cur = NULL;
	uint8_t k[STORE_ID_MAX + 1];
	memcpy(k, desk, dl);
	k[dl] = 0;
	MDB_val key = {dl + 1, k}, val;
	ug_err err = UG_ENOTFOUND;
	rc = mdb_cursor_open(txn, s->desk, &cur);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size > dl + 1 &&
	       memcmp(key.mv_data, k, dl + 1) == 0) {
		bool is_lead = false;
		size_t cl = key.mv_size - dl - 1;
		if (member_on(&val, today, &is_lead) && is_lead &&
		    cl < STORE_ID_MAX) {
			memcpy(lead, (uint8_t *)key.mv_data + dl + 1, cl);
			lead[cl] = '\0';
			err = UG_OK;
			break;
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	return err;
}

static ug_err
decode_alert_head(const MDB_val *val, bool *open, char *recipient,
                  uint32_t *escalations)
{
	const uint8_t *in = val->mv_data;
	if (val->mv_size < ALERT_HEADER || in[6] >= STORE_ID_MAX ||
	    val->mv_size < ALERT_HEADER + (size_t)in[6])
		return UG_EMALFORMED;
	*open = in[0] == ALERT_OPEN;
	if (escalations)
		*escalations = in[5];
	memcpy(recipient, in + ALERT_HEADER, in[6]);
	recipient[in[6]] = '\0';
	return UG_OK;
}

ug_err
store_alert_state(store *s, const uint8_t *id, bool *open,
                  char recipient[STORE_ID_MAX], uint32_t *escalations)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {STORE_ALERT_ID_LEN, (void *)id}, val;
	rc = mdb_get(txn, s->alerts, &key, &val);
	ug_err err = store__map_err(rc, "alert state");
	if (err == UG_OK)
		err = decode_alert_head(&val, open, recipient, escalations);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_alert_reroute(store *s, const uint8_t *id, const char *recipient,
                    bool escalate, bool *moved)
{
	*moved = false;
	size_t rlen = strlen(recipient);
	if (rlen == 0 || rlen >= STORE_ID_MAX)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin reroute");
	MDB_val key = {STORE_ALERT_ID_LEN, (void *)id}, val;
	char old[STORE_ID_MAX];
	bool open = false;
	uint32_t escalations = 0;
	ug_err err = store__map_err(mdb_get(txn, s->alerts, &key, &val),
	                            "get alert");
	if (err == UG_OK)
		err = decode_alert_head(&val, &open, old, &escalations);
	if (err != UG_OK || !open || (strcmp(old, recipient) == 0 && !escalate)) {
		mdb_txn_abort(txn);
		return err;
	}
	/* Rebuild the record with the new recipient; the sealed body stays
	 * (its additional data is the alert id, not the recipient). */
	const uint8_t *in = val.mv_data;
	size_t tail = val.mv_size - ALERT_HEADER - in[6];
	size_t len = ALERT_HEADER + rlen + tail;
	uint8_t *rec = malloc(len);
	if (!rec) {
		mdb_txn_abort(txn);
		return UG_ENOMEM;
	}
	memcpy(rec, in, 5);
	rec[5] = (uint8_t)(escalations + (escalate && escalations < 255));
	rec[6] = (uint8_t)rlen;
	memcpy(rec + ALERT_HEADER, recipient, rlen);
	memcpy(rec + ALERT_HEADER + rlen, in + ALERT_HEADER + in[6], tail);
	MDB_val nv = {len, rec};
	err = store__queue_key_put(txn, s, old, id, true);
	if (err == UG_ENOTFOUND)
		err = UG_OK;
	if (err == UG_OK)
		err = store__map_err(mdb_put(txn, s->alerts, &key, &nv, 0),
		                     "reroute alert");
	if (err == UG_OK)
		err = store__queue_key_put(txn, s, recipient, id, false);
	free(rec);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	err = store__map_err(mdb_txn_commit(txn), "commit reroute");
	*moved = err == UG_OK;
	return err;
}
