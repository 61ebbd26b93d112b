/*
 * Alerts and their delivery queues (log/, synced). Layouts:
 *   alerts     H(alert_id)[16] -> sealed(state | deliveries BE32 |
 *              escalations | rlen | recipient padded to 63) |
 *              sealed(body_len BE32 | body | zero padding to 64 bytes)
 *   queue      H(recipient)[16] | seq BE64 | H(recipient | alert_id)[4] ->
 *              sealed(alert_id[9] | recipient)    (open alerts only)
 * An alert's head is sealed apart from its body so that delivery and
 * acknowledgement rewrite a few dozen bytes, not the alert; the queue keeps
 * raising order under a recipient's hash, which is what delivery needs.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

#define ALERT_KEY_LEN 16
#define ALERT_AD_LEN  (ALERT_KEY_LEN + STORE_ALERT_ID_LEN + 1)
/* state | deliveries BE32 | escalations | rlen | recipient, padded so the
 * head's size does not tell recipients apart. */
#define ALERT_HEAD_PLAIN  (7 + STORE_ID_MAX - 1)
#define ALERT_HEAD_SEALED (ALERT_HEAD_PLAIN + UG_SEAL_OVERHEAD)
#define QUEUE_HASH_LEN	  16
#define QUEUE_KEY_LEN	  (QUEUE_HASH_LEN + 8 + 4)
#define QUEUE_PLAIN	  (STORE_ALERT_ID_LEN + 1 + STORE_ID_MAX - 1)

static void
alert_key(const store *s, const uint8_t *id, uint8_t out[ALERT_KEY_LEN])
{
	store__hash(s, TAG_ALERT, id, STORE_ALERT_ID_LEN, NULL, 0, out,
		    ALERT_KEY_LEN);
}

/* The head and the body each bind the record key, the alert id and which
 * part they are: neither opens under another alert, nor as the other. */
static void
alert_ad(uint8_t ad[ALERT_AD_LEN], const uint8_t *key, const uint8_t *id,
	 char part)
{
	memcpy(ad, key, ALERT_KEY_LEN);
	memcpy(ad + ALERT_KEY_LEN, id, STORE_ALERT_ID_LEN);
	ad[ALERT_AD_LEN - 1] = (uint8_t)part;
}

static void
alert_head_seal(const store *s, const uint8_t *k, const uint8_t *id,
		const store__alert_head *h, uint8_t *out)
{
	uint8_t plain[ALERT_HEAD_PLAIN] = {0}, ad[ALERT_AD_LEN];
	size_t rlen = strlen(h->recipient);
	plain[0] = h->open ? ALERT_OPEN : ALERT_ACKED;
	ug_put_be32(plain + 1, h->deliveries);
	plain[5] = h->escalations;
	plain[6] = (uint8_t)rlen;
	memcpy(plain + 7, h->recipient, rlen);
	alert_ad(ad, k, id, 'h');
	store__seal(s, ad, sizeof ad, plain, sizeof plain, out);
}

ug_err
store__alert_read(store *s, MDB_txn *txn, const uint8_t *id,
		  store__alert_head *h, MDB_val *val)
{
	uint8_t k[ALERT_KEY_LEN], ad[ALERT_AD_LEN], plain[ALERT_HEAD_PLAIN];
	alert_key(s, id, k);
	MDB_val key = {ALERT_KEY_LEN, k};
	int rc = mdb_get(txn, s->alerts, &key, val);
	if (rc != 0)
		return store__map_err(rc, "get alert");
	alert_ad(ad, k, id, 'h');
	if (val->mv_size < ALERT_HEAD_SEALED + UG_SEAL_OVERHEAD ||
	    store__open(s, ad, sizeof ad, val->mv_data, ALERT_HEAD_SEALED,
			plain, sizeof plain) != UG_OK ||
	    plain[6] == 0 || plain[6] >= STORE_ID_MAX) {
		store__forged(s, TAG_ALERT, "alerts");
		return UG_EMALFORMED;
	}
	h->open = plain[0] == ALERT_OPEN;
	h->deliveries = ug_get_be32(plain + 1);
	h->escalations = plain[5];
	memcpy(h->recipient, plain + 7, plain[6]);
	h->recipient[plain[6]] = '\0';
	return UG_OK;
}

ug_err
store__alert_write_head(store *s, MDB_txn *txn, const uint8_t *id,
			const store__alert_head *h, const MDB_val *old)
{
	uint8_t k[ALERT_KEY_LEN];
	alert_key(s, id, k);
	/* A copy: old points into the page the put may overwrite. */
	uint8_t *rec = malloc(old->mv_size);
	if (!rec)
		return UG_ENOMEM;
	memcpy(rec + ALERT_HEAD_SEALED,
	       (const uint8_t *)old->mv_data + ALERT_HEAD_SEALED,
	       old->mv_size - ALERT_HEAD_SEALED);
	alert_head_seal(s, k, id, h, rec);
	MDB_val key = {ALERT_KEY_LEN, k}, nv = {old->mv_size, rec};
	ug_err err = store__map_err(mdb_put(txn, s->alerts, &key, &nv, 0),
				    "update alert");
	free(rec);
	return err;
}

/* Open an alert's body (val from store__alert_read) into the thread's
 * scratch buffer; *body points at it and *len is its length. UG_EMALFORMED
 * (reported) when it does not open. */
static ug_err
alert_body(store *s, const uint8_t *id, const MDB_val *val,
	   const uint8_t **body, size_t *len)
{
	uint8_t *scratch = store__scratch();
	if (!scratch)
		return UG_ENOMEM;
	uint8_t k[ALERT_KEY_LEN], ad[ALERT_AD_LEN];
	alert_key(s, id, k);
	alert_ad(ad, k, id, 'b');
	size_t sealed = val->mv_size - ALERT_HEAD_SEALED;
	if (store__open(s, ad, sizeof ad,
			(const uint8_t *)val->mv_data + ALERT_HEAD_SEALED,
			sealed, scratch, STORE_SEAL_MAX) != UG_OK ||
	    sealed - UG_SEAL_OVERHEAD < 4 ||
	    ug_get_be32(scratch) > sealed - UG_SEAL_OVERHEAD - 4) {
		store__forged(s, TAG_ALERT, "alerts");
		return UG_EMALFORMED;
	}
	*body = scratch + 4;
	*len = ug_get_be32(scratch);
	return UG_OK;
}

/* A recipient's queue: its hash, then per entry the raising sequence (the
 * delivery order) and a hash of recipient and id that tells the alerts of
 * one event apart without naming their rule. */
static void
queue_prefix(const store *s, const char *recipient,
	     uint8_t out[QUEUE_HASH_LEN])
{
	store__hash(s, TAG_QUEUE_RECIPIENT, recipient, strlen(recipient), NULL,
		    0, out, QUEUE_HASH_LEN);
}

static void
queue_key(const store *s, const uint8_t *prefix, const char *recipient,
	  const uint8_t *id, uint8_t out[QUEUE_KEY_LEN])
{
	memcpy(out, prefix, QUEUE_HASH_LEN);
	memcpy(out + QUEUE_HASH_LEN, id, 8);
	store__hash(s, TAG_QUEUE_ID, recipient, strlen(recipient), id,
		    STORE_ALERT_ID_LEN, out + QUEUE_HASH_LEN + 8, 4);
}

/* Open a queue entry: the alert id, if it opens under its key and names
 * the recipient whose queue holds it; else reported and false. */
static bool
queue_entry_open(store *s, const MDB_val *key, const MDB_val *val,
		 const char *recipient, uint8_t id[STORE_ALERT_ID_LEN])
{
	uint8_t plain[QUEUE_PLAIN];
	size_t rlen = strlen(recipient);
	if (key->mv_size != QUEUE_KEY_LEN ||
	    store__open(s, key->mv_data, key->mv_size, val->mv_data,
			val->mv_size, plain, sizeof plain) != UG_OK ||
	    val->mv_size != QUEUE_PLAIN + UG_SEAL_OVERHEAD ||
	    plain[STORE_ALERT_ID_LEN] != rlen ||
	    memcmp(plain + STORE_ALERT_ID_LEN + 1, recipient, rlen) != 0 ||
	    memcmp(plain, (const uint8_t *)key->mv_data + QUEUE_HASH_LEN, 8) !=
		0) {
		store__forged(s, TAG_QUEUE_RECIPIENT, "queue");
		return false;
	}
	memcpy(id, plain, STORE_ALERT_ID_LEN);
	return true;
}

ug_err
store__queue_key_put(MDB_txn *txn, store *s, const char *recipient,
		     const uint8_t *id, bool del)
{
	uint8_t prefix[QUEUE_HASH_LEN], k[QUEUE_KEY_LEN];
	queue_prefix(s, recipient, prefix);
	queue_key(s, prefix, recipient, id, k);
	MDB_val key = {sizeof k, k};
	if (del)
		return store__map_err(mdb_del(txn, s->queue, &key, NULL),
				      "unqueue alert");
	uint8_t plain[QUEUE_PLAIN] = {0};
	uint8_t sealed[QUEUE_PLAIN + UG_SEAL_OVERHEAD];
	size_t rlen = strlen(recipient);
	memcpy(plain, id, STORE_ALERT_ID_LEN);
	plain[STORE_ALERT_ID_LEN] = (uint8_t)rlen;
	memcpy(plain + STORE_ALERT_ID_LEN + 1, recipient, rlen);
	store__seal(s, k, sizeof k, plain, sizeof plain, sealed);
	MDB_val val = {sizeof sealed, sealed};
	return store__map_err(mdb_put(txn, s->queue, &key, &val, 0),
			      "queue alert");
}

static ug_err
put_alert(store *s, MDB_txn *txn, store_alert *a)
{
	size_t rlen = strlen(a->recipient);
	if (rlen == 0 || rlen >= STORE_ID_MAX ||
	    a->body_len > STORE_SEAL_MAX - 128)
		return UG_EINVAL;
	uint8_t k[ALERT_KEY_LEN], ad[ALERT_AD_LEN];
	alert_key(s, a->id, k);
	size_t plain_len = store__padded(4 + a->body_len);
	MDB_val key = {ALERT_KEY_LEN, k};
	MDB_val val = {ALERT_HEAD_SEALED + plain_len + UG_SEAL_OVERHEAD, NULL};
	int rc =
	    mdb_put(txn, s->alerts, &key, &val, MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST) {
		a->created = false;
		return UG_OK;
	}
	if (rc != 0)
		return store__map_err(rc, "put alert");
	uint8_t *out = val.mv_data;
	store__alert_head h = {.open = true};
	memcpy(h.recipient, a->recipient, rlen + 1);
	alert_head_seal(s, k, a->id, &h, out);
	uint8_t *plain = store__scratch();
	if (!plain)
		return UG_ENOMEM;
	memmove(plain + 4, a->body, a->body_len);
	ug_put_be32(plain, (uint32_t)a->body_len);
	memset(plain + 4 + a->body_len, 0, plain_len - 4 - a->body_len);
	alert_ad(ad, k, a->id, 'b');
	store__seal(s, ad, sizeof ad, plain, plain_len,
		    out + ALERT_HEAD_SEALED);
	ug_err err = store__queue_key_put(txn, s, a->recipient, a->id, false);
	a->created = err == UG_OK;
	return err;
}

ug_err
store_alerts_put(store *s, store_alert *alerts, size_t n)
{
	return store_alerts_put_audited(s, alerts, n, NULL);
}

ug_err
store_alerts_put_audited(store *s, store_alert *alerts, size_t n,
			 const store_audit_entry *audit)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin alerts");
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = put_alert(s, txn, &alerts[i]);
	/* A replay creates nothing and records nothing again. */
	store__audit_pending signed_at = {0};
	for (size_t i = 0; audit && err == UG_OK && i < n; i++)
		if (alerts[i].created && audit[i].action)
			err = store__map_err(
			    store__audit_in(s, txn, &audit[i], 1, &signed_at),
			    "audit alerts");
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		store__audit_done(&signed_at, false);
		return err;
	}
	err = store__map_err(mdb_txn_commit(txn), "commit alerts");
	store__audit_done(&signed_at, err == UG_OK);
	if (err == UG_OK)
		store__env_wrote(STORE_ENV_LOG);
	return err;
}

/* Is id queued for recipient, by an entry that opens? */
static bool
queued_in(store *s, MDB_txn *txn, const char *recipient, const uint8_t *id,
	  int *rc)
{
	uint8_t prefix[QUEUE_HASH_LEN], k[QUEUE_KEY_LEN],
	    held[STORE_ALERT_ID_LEN];
	queue_prefix(s, recipient, prefix);
	queue_key(s, prefix, recipient, id, k);
	MDB_val key = {sizeof k, k}, val;
	*rc = mdb_get(txn, s->queue, &key, &val);
	if (*rc != 0)
		return false;
	return queue_entry_open(s, &key, &val, recipient, held) &&
	       memcmp(held, id, STORE_ALERT_ID_LEN) == 0;
}

ug_err
store_alerts_ack(store *s, const char *recipient,
		 const uint8_t (*ids)[STORE_ALERT_ID_LEN], size_t n,
		 bool *found)
{
	return store_alerts_ack_audited(s, recipient, ids, n, found, NULL);
}

ug_err
store_alerts_ack_audited(store *s, const char *recipient,
			 const uint8_t (*ids)[STORE_ALERT_ID_LEN], size_t n,
			 bool *found, const store_audit_entry *audit)
{
	if (strlen(recipient) >= STORE_ID_MAX)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin ack");
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < n; i++) {
		found[i] = queued_in(s, txn, recipient, ids[i], &rc);
		if (rc != 0 && rc != MDB_NOTFOUND) {
			err = store__map_err(rc, "ack alerts");
			break;
		}
		if (!found[i])
			continue;
		err = store__queue_key_put(txn, s, recipient, ids[i], true);
		/* The alert itself stays, marked acked: it is the record that
		 * stops a log replay from raising it again. */
		store__alert_head h;
		MDB_val val;
		ug_err rerr = err == UG_OK
				  ? store__alert_read(s, txn, ids[i], &h, &val)
				  : err;
		if (rerr == UG_EMALFORMED || rerr == UG_ENOTFOUND)
			continue; /* reported; the queue entry is gone anyway
				   */
		err = rerr;
		h.open = false;
		if (err == UG_OK)
			err =
			    store__alert_write_head(s, txn, ids[i], &h, &val);
	}
	/* Each acknowledgement's record in the same commit: a full map
	 * refuses both, and no crash keeps the one without the other. */
	store__audit_pending signed_at = {0};
	for (size_t i = 0; audit && err == UG_OK && i < n; i++)
		if (found[i])
			err = store__map_err(
			    store__audit_in(s, txn, &audit[i], 1, &signed_at),
			    "audit ack");
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		store__audit_done(&signed_at, false);
		return err;
	}
	err = store__map_err(mdb_txn_commit(txn), "commit ack");
	store__audit_done(&signed_at, err == UG_OK);
	if (err == UG_OK)
		store__unqueued(s);
	return err;
}

/* Visit the ids queued for a recipient, in queue order after `after`, at
 * most max, inside the caller's read transaction. */
typedef ug_err (*queue_visit_fn)(void *ctx, MDB_txn *txn, const uint8_t *id);

static ug_err
scan_queue(store *s, MDB_txn *txn, const char *recipient, const uint8_t *after,
	   size_t max, queue_visit_fn visit, void *ctx)
{
	uint8_t prefix[QUEUE_HASH_LEN], qk[QUEUE_KEY_LEN];
	queue_prefix(s, recipient, prefix);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, s->queue, &cur);
	MDB_val qkey = {QUEUE_HASH_LEN, prefix}, qval;
	if (after) {
		queue_key(s, prefix, recipient, after, qk);
		qkey = (MDB_val){sizeof qk, qk};
	}
	if (rc == 0)
		rc = mdb_cursor_get(cur, &qkey, &qval, MDB_SET_RANGE);
	/* Skip the `after` entry itself. */
	if (rc == 0 && after && qkey.mv_size == QUEUE_KEY_LEN &&
	    memcmp(qkey.mv_data, qk, QUEUE_KEY_LEN) == 0)
		rc = mdb_cursor_get(cur, &qkey, &qval, MDB_NEXT);
	ug_err err = UG_OK;
	size_t i = 0;
	while (rc == 0 && err == UG_OK && i < max) {
		if (qkey.mv_size != QUEUE_KEY_LEN ||
		    memcmp(qkey.mv_data, prefix, QUEUE_HASH_LEN) != 0)
			break;
		uint8_t id[STORE_ALERT_ID_LEN];
		if (queue_entry_open(s, &qkey, &qval, recipient, id)) {
			err = visit(ctx, txn, id);
			i++;
		}
		rc = mdb_cursor_get(cur, &qkey, &qval, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "read queue");
	return err;
}

typedef struct {
	store *s;
	const char *recipient;
	store_alert_fn fn;
	store_alert_id_fn id_fn;
	void *ctx;
} queue_ctx;

/* The queued alert's head, if it is open and addressed to the recipient
 * whose queue named it: anything else is a queue entry that does not
 * belong there (reported, skipped). */
static bool
queued_alert(queue_ctx *q, MDB_txn *txn, const uint8_t *id,
	     store__alert_head *h, MDB_val *val, ug_err *err)
{
	*err = store__alert_read(q->s, txn, id, h, val);
	if (*err == UG_EMALFORMED || *err == UG_ENOTFOUND) {
		*err = UG_OK; /* reported above, or gone: not delivered */
		return false;
	}
	if (*err != UG_OK)
		return false;
	if (!h->open || strcmp(h->recipient, q->recipient) != 0) {
		store__forged(q->s, TAG_QUEUE_RECIPIENT, "queue");
		return false;
	}
	return true;
}

static ug_err
visit_open(void *ctx, MDB_txn *txn, const uint8_t *id)
{
	queue_ctx *q = ctx;
	store__alert_head h;
	MDB_val val = {0, NULL};
	ug_err err;
	size_t len;
	const uint8_t *body;
	if (!queued_alert(q, txn, id, &h, &val, &err) ||
	    alert_body(q->s, id, &val, &body, &len) != UG_OK)
		return err;
	return q->fn(q->ctx, id, body, len, h.deliveries);
}

static ug_err
visit_id(void *ctx, MDB_txn *txn, const uint8_t *id)
{
	queue_ctx *q = ctx;
	store__alert_head h;
	MDB_val val = {0, NULL};
	ug_err err;
	if (!queued_alert(q, txn, id, &h, &val, &err))
		return err;
	return q->id_fn(q->ctx, id);
}

static ug_err
read_queue(store *s, const char *recipient, const uint8_t *after, size_t max,
	   queue_visit_fn visit, queue_ctx *q)
{
	if (strlen(recipient) >= STORE_ID_MAX)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	ug_err err = scan_queue(s, txn, recipient, after, max, visit, q);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_alerts_open(store *s, const char *recipient, const uint8_t *after,
		  size_t max, store_alert_fn fn, void *ctx)
{
	queue_ctx q = {s, recipient, fn, NULL, ctx};
	return read_queue(s, recipient, after, max, visit_open, &q);
}

ug_err
store_alerts_queued(store *s, const char *recipient, const uint8_t *after,
		    size_t max, store_alert_id_fn fn, void *ctx)
{
	queue_ctx q = {s, recipient, NULL, fn, ctx};
	return read_queue(s, recipient, after, max, visit_id, &q);
}

bool
store_alert_queued(store *s, const char *recipient, const uint8_t *id)
{
	if (strlen(recipient) >= STORE_ID_MAX)
		return false;
	MDB_txn *txn = NULL;
	if (store__begin_read(s->log_env, &txn) != 0)
		return true; /* unknown: keep treating it as in flight */
	int rc;
	bool queued = queued_in(s, txn, recipient, id, &rc);
	mdb_txn_abort(txn);
	return queued || (rc != 0 && rc != MDB_NOTFOUND);
}

ug_err
store_alert_get(store *s, const uint8_t *id, store_alert_fn fn, void *ctx,
		bool *open)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	store__alert_head h;
	MDB_val val;
	size_t len = 0;
	const uint8_t *body = NULL;
	ug_err err = store__alert_read(s, txn, id, &h, &val);
	if (err == UG_OK)
		err = alert_body(s, id, &val, &body, &len);
	if (err == UG_OK) {
		*open = h.open;
		err = fn(ctx, id, body, len, h.deliveries);
	}
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_alert_rewrite(store *s, const uint8_t *id, const uint8_t *body,
		    size_t body_len, bool *rewritten)
{
	*rewritten = false;
	if (body_len > STORE_SEAL_MAX - 128)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin rewrite");
	store__alert_head h;
	MDB_val old;
	ug_err err = store__alert_read(s, txn, id, &h, &old);
	if (err != UG_OK || !h.open) {
		mdb_txn_abort(txn);
		return err == UG_EMALFORMED ? UG_ENOTFOUND : err;
	}
	uint8_t k[ALERT_KEY_LEN], ad[ALERT_AD_LEN];
	alert_key(s, id, k);
	size_t plain_len = store__padded(4 + body_len);
	MDB_val key = {ALERT_KEY_LEN, k};
	MDB_val val = {ALERT_HEAD_SEALED + plain_len + UG_SEAL_OVERHEAD, NULL};
	uint8_t *plain = store__scratch();
	if (!plain) {
		mdb_txn_abort(txn);
		return UG_ENOMEM;
	}
	/* The body first: the reserve below may move the page the old
	 * record (and so body, when it points there) lies in. */
	memmove(plain + 4, body, body_len);
	ug_put_be32(plain, (uint32_t)body_len);
	memset(plain + 4 + body_len, 0, plain_len - 4 - body_len);
	rc = mdb_put(txn, s->alerts, &key, &val, MDB_RESERVE);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "rewrite alert");
	}
	uint8_t *out = val.mv_data;
	alert_head_seal(s, k, id, &h, out);
	alert_ad(ad, k, id, 'b');
	store__seal(s, ad, sizeof ad, plain, plain_len,
		    out + ALERT_HEAD_SEALED);
	err = store__map_err(mdb_txn_commit(txn), "commit rewrite");
	*rewritten = err == UG_OK;
	return err;
}

ug_err
store_alerts_delivered(store *s, const uint8_t (*ids)[STORE_ALERT_ID_LEN],
		       size_t n, uint32_t *deliveries)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin delivered");
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < n; i++) {
		store__alert_head h;
		MDB_val val;
		deliveries[i] = 0;
		err = store__alert_read(s, txn, ids[i], &h, &val);
		if (err == UG_ENOTFOUND || err == UG_EMALFORMED) {
			err = UG_OK;
			continue;
		}
		if (err != UG_OK)
			break;
		h.deliveries++;
		err = store__alert_write_head(s, txn, ids[i], &h, &val);
		deliveries[i] = h.deliveries;
	}
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__map_err(mdb_txn_commit(txn), "commit deliveries");
}

static ug_err
count_alert(void *ctx, const uint8_t *id)
{
	(void)id;
	(*(size_t *)ctx)++;
	return UG_OK;
}

/* Counted after the commit: an ops check that saw the count change
 * before the commit could count the queue as it was and then wait a
 * minute. */
void
store__unqueued(store *s)
{
	atomic_fetch_add(&s->unqueued, 1);
}

uint64_t
store_alerts_unqueued(store *s)
{
	return atomic_load(&s->unqueued);
}

ug_err
store_alerts_count(store *s, const char *recipient, size_t *open)
{
	*open = 0;
	return store_alerts_queued(s, recipient, NULL, SIZE_MAX, count_alert,
				   open);
}
