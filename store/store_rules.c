/*
 * What the rules need beyond the log: timers and per-person alert lists
 * and desk memberships (derived, rebuilt from the log like the rest of
 * derived/), and alert rerouting for reassignment and escalation (the
 * audit trail is in store_audit.c). H is store__hash; every value is
 * sealed with its key as additional data. Layouts:
 *   derived/timer    due BE64 | H(seq | kind | person_key)[8] ->
 *                    sealed(seq BE64 | kind | person_key[16])
 *   derived/palerts  H(person_key)[16] | H(alert_id)[8] ->
 *                    sealed(alert_id[9])
 *   derived/person   (store.c) H(person_key)[16] | H(seq)[8] ->
 *                    sealed(occurred_at BE64 | seq BE64)
 *   derived/desk     H(desk)[8] | H(desk | 0 | caseworker | 0 | from BE32)[8]
 *                    -> sealed(from BE32 | to BE32 | lead | len |
 *                    caseworker padded to 63)
 * The due time stays in the clear because the scheduler takes timers in
 * that order; a person's lists are unsealed and sorted on reading.
 */
#include <stdlib.h>

#include "common/log.h"
#include "store/store_int.h"

#define TIMER_KEY_LEN 16
#define TIMER_PLAIN   (8 + 1 + UG_PERSON_KEY_LEN)

static void
timer_key(const store *s, const store_timer *tm, uint8_t k[TIMER_KEY_LEN],
	  uint8_t plain[TIMER_PLAIN])
{
	ug_put_be64(plain, tm->seq);
	plain[8] = tm->kind;
	memcpy(plain + 9, tm->person_key, UG_PERSON_KEY_LEN);
	ug_put_be64(k, (uint64_t)tm->due);
	store__hash(s, TAG_TIMER, plain, TIMER_PLAIN, NULL, 0, k + 8, 8);
}

ug_err
store_derived_timer_put(store_dtxn *t, const store_timer *timer)
{
	uint8_t k[TIMER_KEY_LEN], plain[TIMER_PLAIN];
	uint8_t sealed[TIMER_PLAIN + UG_SEAL_OVERHEAD];
	timer_key(t->s, timer, k, plain);
	store__seal(t->s, k, sizeof k, plain, sizeof plain, sealed);
	MDB_val key = {sizeof k, k}, val = {sizeof sealed, sealed};
	return store__env_err(mdb_put(t->txn, t->s->timer, &key, &val, 0),
			      STORE_ENV_DERIVED, "put timer");
}

/* Timers that do not open are taken out with the due ones, at most this
 * many per call, so one forged entry cannot stall the scheduler. */
#define FORGED_PER_CALL 16
/* LMDB's default build caps a key at 511 bytes. */
#define TIMER_FORGED_KEY_MAX 511

ug_err
store_derived_timers_due(store_dtxn *t, int64_t now, store_timer *out,
			 size_t max, size_t *n)
{
	*n = 0;
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(t->txn, t->s->timer, &cur);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED,
				      "open timer cursor");
	uint8_t forged[FORGED_PER_CALL][TIMER_FORGED_KEY_MAX];
	size_t forged_len[FORGED_PER_CALL];
	size_t nforged = 0;
	MDB_val key, val;
	rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (rc == 0 && *n < max && nforged < FORGED_PER_CALL) {
		const uint8_t *k = key.mv_data;
		uint8_t plain[TIMER_PLAIN];
		/* A key of another length is no timer (one added by hand):
		 * it has no due time to wait for, and one sorted before the
		 * real ones must not hold them back, so it goes now. */
		bool timer = key.mv_size == TIMER_KEY_LEN;
		int64_t due = timer ? (int64_t)ug_get_be64(k) : 0;
		if (timer && due > now)
			break;
		if (!timer ||
		    store__open(t->s, k, TIMER_KEY_LEN, val.mv_data,
				val.mv_size, plain, sizeof plain) != UG_OK ||
		    val.mv_size != TIMER_PLAIN + UG_SEAL_OVERHEAD) {
			store__forged(t->s, TAG_TIMER, "timer");
			size_t len = key.mv_size < TIMER_FORGED_KEY_MAX
					 ? key.mv_size
					 : TIMER_FORGED_KEY_MAX;
			memcpy(forged[nforged], k, len);
			forged_len[nforged++] = len;
		} else {
			store_timer *tm = &out[(*n)++];
			tm->due = due;
			tm->seq = ug_get_be64(plain);
			tm->kind = plain[8];
			memcpy(tm->person_key, plain + 9, UG_PERSON_KEY_LEN);
		}
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store__env_err(rc, STORE_ENV_DERIVED, "due timers");
	/* Deleted after the walk: deleting under a cursor and stepping on
	 * from the last entry is where LMDB answers EINVAL. */
	for (size_t i = 0; i < *n + nforged; i++) {
		uint8_t k[TIMER_KEY_LEN], plain[TIMER_PLAIN];
		MDB_val dk = {sizeof k, k};
		if (i < *n)
			timer_key(t->s, &out[i], k, plain);
		else
			dk = (MDB_val){forged_len[i - *n], forged[i - *n]};
		rc = mdb_del(t->txn, t->s->timer, &dk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store__env_err(rc, STORE_ENV_DERIVED,
					      "delete timer");
	}
	return UG_OK;
}

/* The due time of the first timer from cur's position on: keys of
 * another length are passed over (store_derived_timers_due drops them),
 * so that one sorted first neither hides the real timers nor reads as a
 * due time. */
static int
first_due(MDB_cursor *cur, int64_t *due)
{
	MDB_val key, val;
	int rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST);
	while (rc == 0 && key.mv_size != TIMER_KEY_LEN)
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	if (rc == 0)
		*due = (int64_t)ug_get_be64(key.mv_data);
	return rc;
}

ug_err
store_derived_timer_first(store_dtxn *t, int64_t *due)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(t->txn, t->s->timer, &cur);
	if (rc == 0) {
		rc = first_due(cur, due);
		mdb_cursor_close(cur);
	}
	return store__env_err(rc, STORE_ENV_DERIVED, "first timer");
}

ug_err
store_next_timer(store *s, int64_t *due)
{
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "begin read");
	MDB_cursor *cur = NULL;
	rc = mdb_cursor_open(txn, s->timer, &cur);
	if (rc == 0) {
		rc = first_due(cur, due);
		mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	return store__env_err(rc, STORE_ENV_DERIVED, "next timer");
}

ug_err
store_derived_person_alert(store_dtxn *t, const uint8_t *person_key,
			   const uint8_t *alert_id)
{
	uint8_t k[STORE_PERSON_HASH + 8];
	uint8_t sealed[STORE_ALERT_ID_LEN + UG_SEAL_OVERHEAD];
	store__person_hash(t->s, TAG_PALERTS, person_key, k);
	store__hash(t->s, TAG_PALERTS_ID, alert_id, STORE_ALERT_ID_LEN, NULL,
		    0, k + STORE_PERSON_HASH, 8);
	store__seal(t->s, k, sizeof k, alert_id, STORE_ALERT_ID_LEN, sealed);
	MDB_val key = {sizeof k, k}, val = {sizeof sealed, sealed};
	return store__env_err(mdb_put(t->txn, t->s->palerts, &key, &val, 0),
			      STORE_ENV_DERIVED, "index person alert");
}

/* A person's entries, unsealed (each item_len bytes) into a growing
 * array; entries that do not open are reported and left out. */
typedef struct {
	store *s;
	enum store__tag tag;
	const char *db;
	size_t item_len;
	uint8_t *items;
	size_t n, cap;
	ug_err err;
} entries_acc;

static enum store__walk
take_entry(void *ctx, const MDB_val *key, const MDB_val *val)
{
	entries_acc *a = ctx;
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 32;
		uint8_t *more = realloc(a->items, cap * a->item_len);
		if (!more) {
			a->err = UG_ENOMEM;
			return STORE_WALK_STOP;
		}
		a->items = more;
		a->cap = cap;
	}
	uint8_t *item = a->items + a->n * a->item_len;
	if (store__open(a->s, key->mv_data, key->mv_size, val->mv_data,
			val->mv_size, item, a->item_len) == UG_OK &&
	    val->mv_size == a->item_len + UG_SEAL_OVERHEAD)
		a->n++;
	else
		store__forged(a->s, a->tag, a->db);
	return STORE_WALK_NEXT;
}

/* A person's entries in person (bucket by bucket) or palerts (under one
 * prefix), unsealed and unsorted; *items is malloc'd. */
static ug_err
person_entries(store *s, MDB_dbi dbi, enum store__tag tag, const char *db,
	       const uint8_t *person_key, size_t item_len, uint8_t **items,
	       size_t *n)
{
	entries_acc a = {s, tag, db, item_len, NULL, 0, 0, UG_OK};
	/* Said before anything can fail: a caller sorts and frees what it
	 * is given whatever the answer, and a read refused (no reader slot
	 * left) once handed it stack garbage and stopped hubd (SIGSEGV). */
	*items = NULL;
	*n = 0;
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "begin read");
	if (dbi == s->person) {
		rc = store__person_walk(s, txn, person_key, take_entry, &a);
	} else {
		uint8_t prefix[STORE_PERSON_HASH];
		store__person_hash(s, tag, person_key, prefix);
		MDB_cursor *cur = NULL;
		rc = mdb_cursor_open(txn, dbi, &cur);
		MDB_val key = {sizeof prefix, prefix}, val;
		if (rc == 0)
			rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
		/* A key of another length under the prefix does not open
		 * (take_entry reports it) and ends nothing: it must not
		 * hide the entries after it. */
		while (rc == 0 && a.err == UG_OK &&
		       key.mv_size >= STORE_PERSON_HASH &&
		       memcmp(key.mv_data, prefix, STORE_PERSON_HASH) == 0 &&
		       take_entry(&a, &key, &val) == STORE_WALK_NEXT)
			rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (cur)
			mdb_cursor_close(cur);
	}
	mdb_txn_abort(txn);
	ug_err err = a.err;
	if (err == UG_OK)
		err = store__env_err(rc, STORE_ENV_DERIVED, "person scan");
	if (err != UG_OK) {
		free(a.items);
		a.items = NULL;
		a.n = 0;
	}
	*items = a.items;
	*n = a.n;
	return err;
}

static size_t sort_len;

static int
bytewise(const void *a, const void *b)
{
	return memcmp(a, b, sort_len);
}

static int
by_seq(const void *a, const void *b)
{
	uint64_t x = ug_get_be64((const uint8_t *)a + 8);
	uint64_t y = ug_get_be64((const uint8_t *)b + 8);
	return x < y ? -1 : x > y;
}

ug_err
store_person_alerts(store *s, const uint8_t *person_key, store_id_fn fn,
		    void *ctx)
{
	uint8_t *ids;
	size_t n;
	ug_err err = person_entries(s, s->palerts, TAG_PALERTS, "palerts",
				    person_key, STORE_ALERT_ID_LEN, &ids, &n);
	sort_len = STORE_ALERT_ID_LEN; /* one thread uses a store */
	if (n > 1)
		qsort(ids, n, STORE_ALERT_ID_LEN, bytewise);
	/* Oldest first: an alert id begins with its raising sequence. */
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = fn(ctx, ids + i * STORE_ALERT_ID_LEN);
	free(ids);
	return err;
}

ug_err
store_derived_person_events(store_dtxn *t, const uint8_t *person_key,
			    store_seq_fn fn, void *ctx)
{
	entries_acc a = {t->s, TAG_PERSON, "person", 16, NULL, 0, 0, UG_OK};
	int rc = store__person_walk(t->s, t->txn, person_key, take_entry, &a);
	ug_err err = a.err;
	if (err == UG_OK)
		err = store__env_err(rc, STORE_ENV_DERIVED, "person scan");
	if (err == UG_OK && a.n > 1)
		qsort(a.items, a.n, 16, by_seq);
	for (size_t i = 0; err == UG_OK && i < a.n; i++)
		err = fn(ctx, ug_get_be64(a.items + 16 * i + 8));
	free(a.items);
	return err;
}

ug_err
store_person_events(store *s, const uint8_t *person_key, store_seq_fn fn,
		    void *ctx)
{
	uint8_t *items;
	size_t n;
	ug_err err = person_entries(s, s->person, TAG_PERSON, "person",
				    person_key, 16, &items, &n);
	/* occurred_at BE64 | seq BE64. In the order stored, not by date: a
	 * timeline cut at its cap leaves out the events stored last
	 * (PROTOCOL.md §4), which an order by date would not. */
	if (n > 1)
		qsort(items, n, 16, by_seq);
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = fn(ctx, ug_get_be64(items + 16 * i + 8));
	free(items);
	return err;
}

typedef struct {
	store *s;
	store_seq_fn fn;
	void *ctx;
	ug_err err;
} scan_acc;

static enum store__walk
scan_entry(void *ctx, const MDB_val *key, const MDB_val *val)
{
	scan_acc *a = ctx;
	uint8_t item[16];
	if (store__open(a->s, key->mv_data, key->mv_size, val->mv_data,
			val->mv_size, item, sizeof item) != UG_OK ||
	    val->mv_size != sizeof item + UG_SEAL_OVERHEAD) {
		store__forged(a->s, TAG_PERSON, "person");
		return STORE_WALK_NEXT;
	}
	a->err = a->fn(a->ctx, ug_get_be64(item + 8));
	return a->err == UG_OK ? STORE_WALK_NEXT : STORE_WALK_STOP;
}

ug_err
store_person_events_scan(store *s, const uint8_t *person_key, store_seq_fn fn,
			 void *ctx)
{
	scan_acc a = {s, fn, ctx, UG_OK};
	MDB_txn *txn = NULL;
	int rc = store__begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED, "begin read");
	rc = store__person_walk(s, txn, person_key, scan_entry, &a);
	mdb_txn_abort(txn);
	return a.err != UG_OK
		   ? a.err
		   : store__env_err(rc, STORE_ENV_DERIVED, "person scan");
}

ug_err
store_log_get(store *s, uint64_t seq, store_record_fn fn, void *ctx)
{
	uint64_t next;
	/* A scan of one from seq is a direct lookup in the B-tree. */
	/* Never passes a record over: the caller wants this one. */
	ug_err err = store__log_read(s, seq, 1, fn, ctx, &next);
	if (err == UG_OK && next != seq + 1)
		err = UG_ENOTFOUND;
	return err;
}

#define DESK_KEY_LEN 16
#define DESK_PLAIN   (4 + 4 + 1 + 1 + STORE_ID_MAX - 1)

static void
desk_prefix(const store *s, const char *desk, uint8_t out[8])
{
	store__hash(s, TAG_DESK, desk, strlen(desk), NULL, 0, out, 8);
}

/* One record per membership period, as the youth unit keys it (desk,
 * caseworker, first day): a caseworker on the desk this spring and again
 * from the autumn has two, and the later one sent does not end the
 * other. The same period sent again (its end set, say) replaces it. */
static void
desk_key(const store *s, const char *desk, const char *caseworker,
	 int32_t from, uint8_t out[DESK_KEY_LEN])
{
	desk_prefix(s, desk, out);
	/* The desk with its NUL, so "ab"+"c" and "a"+"bc" differ; the
	 * caseworker with its NUL before the day for the same reason. */
	uint8_t member[STORE_ID_MAX + 4];
	size_t cl = strlen(caseworker);
	memcpy(member, caseworker, cl + 1);
	ug_put_be32(member + cl + 1, (uint32_t)from);
	store__hash(s, TAG_DESK_MEMBER, desk, strlen(desk) + 1, member, cl + 5,
		    out + 8, 8);
}

ug_err
store_derived_desk_put(store_dtxn *t, const char *desk, const char *caseworker,
		       int32_t from, int32_t to, bool team_lead)
{
	size_t cl = strlen(caseworker);
	if (strlen(desk) >= STORE_ID_MAX || cl >= STORE_ID_MAX)
		return UG_EINVAL;
	uint8_t k[DESK_KEY_LEN], v[DESK_PLAIN] = {0};
	uint8_t sealed[DESK_PLAIN + UG_SEAL_OVERHEAD];
	desk_key(t->s, desk, caseworker, from, k);
	ug_put_be32(v, (uint32_t)from);
	ug_put_be32(v + 4, (uint32_t)to);
	v[8] = team_lead;
	v[9] = (uint8_t)cl;
	memcpy(v + 10, caseworker, cl);
	store__seal(t->s, k, sizeof k, v, sizeof v, sealed);
	MDB_val key = {sizeof k, k}, val = {sizeof sealed, sealed};
	return store__env_err(mdb_put(t->txn, t->s->desk, &key, &val, 0),
			      STORE_ENV_DERIVED, "put desk member");
}

ug_err
store__desk_drop(store *s, MDB_txn *dtxn, const char *desk,
		 const char *caseworker, int32_t from, int32_t to, bool lead)
{
	size_t cl = strlen(caseworker);
	if (strlen(desk) >= STORE_ID_MAX || cl >= STORE_ID_MAX)
		return UG_OK;
	uint8_t k[DESK_KEY_LEN], v[DESK_PLAIN];
	desk_key(s, desk, caseworker, from, k);
	MDB_val key = {sizeof k, k}, val;
	int rc = mdb_get(dtxn, s->desk, &key, &val);
	if (rc == MDB_NOTFOUND)
		return UG_OK;
	if (rc != 0)
		return store__env_err(rc, STORE_ENV_DERIVED,
				      "read desk member");
	/* What does not open is no membership (member_on): delete it. */
	bool same = store__open(s, k, sizeof k, val.mv_data, val.mv_size, v,
				sizeof v) != UG_OK ||
		    val.mv_size != DESK_PLAIN + UG_SEAL_OVERHEAD ||
		    ((int32_t)ug_get_be32(v + 4) == to && v[8] == lead);
	if (!same)
		return UG_OK;
	rc = mdb_del(dtxn, s->desk, &key, NULL);
	return store__env_err(rc == MDB_NOTFOUND ? 0 : rc, STORE_ENV_DERIVED,
			      "delete desk member");
}

/* Open a desk record of `desk`: whether it is in force on `today` (lead
 * says team lead) and, into caseworker, who it names. A record that does
 * not open under its key, or whose key is not the one of this desk, its
 * caseworker and its first day (copied from elsewhere), is reported and
 * counts as no membership. */
static bool
member_on(store *s, const char *desk, const MDB_val *key, const MDB_val *val,
	  int32_t today, bool *lead, int32_t *first,
	  char caseworker[STORE_ID_MAX])
{
	uint8_t v[DESK_PLAIN];
	if (key->mv_size != DESK_KEY_LEN ||
	    store__open(s, key->mv_data, key->mv_size, val->mv_data,
			val->mv_size, v, sizeof v) != UG_OK ||
	    val->mv_size != DESK_PLAIN + UG_SEAL_OVERHEAD ||
	    v[9] >= STORE_ID_MAX) {
		store__forged(s, TAG_DESK, "desk");
		return false;
	}
	int32_t from = (int32_t)ug_get_be32(v),
		to = (int32_t)ug_get_be32(v + 4);
	memcpy(caseworker, v + 10, v[9]);
	caseworker[v[9]] = '\0';
	uint8_t check[DESK_KEY_LEN];
	desk_key(s, desk, caseworker, from, check);
	if (memcmp(check, key->mv_data, DESK_KEY_LEN) != 0) {
		store__forged(s, TAG_DESK, "desk");
		return false;
	}
	if (lead)
		*lead = v[8] != 0;
	*first = from;
	return today >= from && (to == 0 || today <= to);
}

/* Call fn for each record of the desk in force on `today` until it
 * returns true; *done says whether one did. An error when the records
 * could not all be read (*done may be true all the same). */
static ug_err
desk_each(store *s, const char *desk, int32_t today,
	  bool (*fn)(void *ctx, const char *caseworker, bool lead,
		     int32_t from),
	  void *ctx, bool *done_out)
{
	*done_out = false;
	MDB_txn *txn = NULL;
	int brc = store__begin_read(s->derived_env, &txn);
	if (brc != 0)
		return store__env_err(brc, STORE_ENV_DERIVED, "read desk");
	MDB_cursor *cur = NULL;
	uint8_t prefix[8];
	desk_prefix(s, desk, prefix);
	MDB_val key = {sizeof prefix, prefix}, val;
	bool done = false;
	int rc = mdb_cursor_open(txn, s->desk, &cur);
	if (rc == 0)
		rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	while (!done && rc == 0 && key.mv_size == DESK_KEY_LEN &&
	       memcmp(key.mv_data, prefix, sizeof prefix) == 0) {
		bool lead = false;
		int32_t from = 0;
		char named[STORE_ID_MAX];
		done = member_on(s, desk, &key, &val, today, &lead, &from,
				 named) &&
		       fn(ctx, named, lead, from);
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	*done_out = done;
	return store__env_err(rc == MDB_NOTFOUND ? 0 : rc, STORE_ENV_DERIVED,
			      "read desk");
}

typedef struct {
	const char *caseworker;
	bool want_lead, found, lead;
} member_find;

static bool
is_member(void *ctx, const char *caseworker, bool lead, int32_t from)
{
	(void)from;
	member_find *f = ctx;
	if (strcmp(caseworker, f->caseworker) != 0)
		return false;
	f->found = true;
	f->lead = f->lead || lead;
	/* Periods may overlap, one of them as team lead. */
	return !f->want_lead || f->lead;
}

typedef struct {
	char caseworker[STORE_ID_MAX];
	int32_t from;
} lead_find;

/* Records come in keyed-hash order, which says nothing. Of two leads in
 * force, the one whose period began last was named last (a new lead sent
 * before the old period's end): that one, then the lower id, so the same
 * facts always name the same lead. */
static bool
is_lead(void *ctx, const char *caseworker, bool lead, int32_t from)
{
	lead_find *f = ctx;
	if (lead &&
	    (!f->caseworker[0] || from > f->from ||
	     (from == f->from && strcmp(caseworker, f->caseworker) < 0))) {
		ug_strlcpy(f->caseworker, caseworker, sizeof f->caseworker);
		f->from = from;
	}
	return false;
}

ug_err
store_desk_member_read(store *s, const char *desk, const char *caseworker,
		       int32_t today, bool *member, bool *lead)
{
	*member = false;
	if (lead)
		*lead = false;
	if (strlen(desk) >= STORE_ID_MAX || strlen(caseworker) >= STORE_ID_MAX)
		return UG_OK;
	member_find f = {.caseworker = caseworker, .want_lead = lead != NULL};
	bool done;
	ug_err err = desk_each(s, desk, today, is_member, &f, &done);
	/* A membership found stands even if a later record could not be
	 * read; none found then is not known to be none. */
	if (err != UG_OK && !f.found)
		return err;
	if (lead)
		*lead = f.found && f.lead;
	*member = f.found;
	return UG_OK;
}

bool
store_desk_member(store *s, const char *desk, const char *caseworker,
		  int32_t today, bool *lead)
{
	bool member = false;
	return store_desk_member_read(s, desk, caseworker, today, &member,
				      lead) == UG_OK &&
	       member;
}

ug_err
store_desk_lead(store *s, const char *desk, int32_t today,
		char lead[STORE_ID_MAX])
{
	if (strlen(desk) >= STORE_ID_MAX)
		return UG_EINVAL;
	lead_find f = {.caseworker = ""};
	bool done;
	(void)desk_each(s, desk, today, is_lead, &f, &done);
	if (!f.caseworker[0])
		return UG_ENOTFOUND;
	memcpy(lead, f.caseworker, STORE_ID_MAX);
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
	store__alert_head h;
	MDB_val val;
	ug_err err = store__alert_read(s, txn, id, &h, &val);
	mdb_txn_abort(txn);
	if (err == UG_EMALFORMED)
		return UG_ENOTFOUND; /* reported; never used */
	if (err != UG_OK)
		return err;
	*open = h.open;
	if (escalations)
		*escalations = h.escalations;
	memcpy(recipient, h.recipient, STORE_ID_MAX);
	return UG_OK;
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
	store__alert_head h;
	MDB_val val;
	ug_err err = store__alert_read(s, txn, id, &h, &val);
	if (err != UG_OK || !h.open ||
	    (strcmp(h.recipient, recipient) == 0 && !escalate)) {
		mdb_txn_abort(txn);
		return err == UG_EMALFORMED ? UG_ENOTFOUND : err;
	}
	/* The head first: val points into a page a later write may move. */
	char old[STORE_ID_MAX];
	memcpy(old, h.recipient, STORE_ID_MAX);
	h.escalations += escalate && h.escalations < 255;
	memcpy(h.recipient, recipient, rlen + 1);
	err = store__alert_write_head(s, txn, id, &h, &val);
	if (err == UG_OK)
		err = store__queue_key_put(txn, s, old, id, true);
	if (err == UG_ENOTFOUND)
		err = UG_OK;
	if (err == UG_OK)
		err = store__queue_key_put(txn, s, recipient, id, false);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	err = store__map_err(mdb_txn_commit(txn), "commit reroute");
	*moved = err == UG_OK;
	if (*moved)
		store__unqueued(s);
	return err;
}
