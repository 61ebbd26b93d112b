/*
 * A person's contact and guidance assignments, as the log keeps them: a
 * short history per person and role under a keyed hash of both, sealed
 * (log/assign in store.c's layout), written as assignment events are
 * appended and read to route the person's alerts.
 */
#include <string.h>

#include "common/util.h"
#include "store/store.h"
#include "store/store_int.h"

#define begin_read store__begin_read

/*
 * A person's assignments are kept as a short history sorted by start date,
 * so a handover planned ahead does not take effect before its day, and an
 * older assignment arriving late (a backfilled export) never replaces the
 * current one. The assignment in force on a day is the one with the latest
 * start on or before it, unless it has ended.
 */
#define ASSIGN_MAX   8
#define ASSIGN_ENTRY (4 + 4 + 1 + STORE_ID_MAX - 1)

typedef struct {
	uint8_t count;
	struct {
		int32_t from, to;
		char caseworker[STORE_ID_MAX];
	} entry[ASSIGN_MAX + 1];
} assign_list;

/* One history per person and role, under a hash of both: the key says
 * neither who the person is nor which role exists for them. */
#define ASSIGN_KEY_LEN 16
static size_t
assign_key(const store *s, uint8_t out[ASSIGN_KEY_LEN],
	   const uint8_t *person_key, int role)
{
	uint8_t r = (uint8_t)role;
	store__hash(s, TAG_ASSIGN, person_key, UG_PERSON_KEY_LEN, &r, 1, out,
		    ASSIGN_KEY_LEN);
	return ASSIGN_KEY_LEN;
}

static ug_err
assign_read(store *s, MDB_txn *txn, const uint8_t *person_key, int role,
	    assign_list *list)
{
	memset(list, 0, sizeof *list);
	uint8_t k[ASSIGN_KEY_LEN];
	MDB_val key = {assign_key(s, k, person_key, role), k}, val;
	uint8_t plain[1 + ASSIGN_MAX * ASSIGN_ENTRY];
	int rc = mdb_get(txn, s->assign, &key, &val);
	if (rc == MDB_NOTFOUND)
		return UG_OK;
	if (rc != 0)
		return store__map_err(rc, "read assignment");
	if (store__open(s, k, key.mv_size, val.mv_data, val.mv_size, plain,
			sizeof plain) != UG_OK ||
	    val.mv_size < UG_SEAL_OVERHEAD + 1 || plain[0] > ASSIGN_MAX ||
	    val.mv_size - UG_SEAL_OVERHEAD !=
		1 + (size_t)plain[0] * ASSIGN_ENTRY) {
		/* Routes a person's alerts: never used unless it opens. */
		store__forged(s, TAG_ASSIGN, "assign");
		return UG_OK;
	}
	list->count = plain[0];
	for (int i = 0; i < list->count; i++) {
		const uint8_t *p = plain + 1 + i * ASSIGN_ENTRY;
		size_t len = p[8] < STORE_ID_MAX ? p[8] : STORE_ID_MAX - 1;
		list->entry[i].from = (int32_t)ug_get_be32(p);
		list->entry[i].to = (int32_t)ug_get_be32(p + 4);
		memcpy(list->entry[i].caseworker, p + 9, len);
		list->entry[i].caseworker[len] = '\0';
	}
	return UG_OK;
}

static ug_err
assign_write(store *s, MDB_txn *txn, const uint8_t *person_key, int role,
	     const assign_list *list)
{
	uint8_t plain[1 + ASSIGN_MAX * ASSIGN_ENTRY] = {0};
	plain[0] = (uint8_t)list->count;
	for (int i = 0; i < list->count; i++) {
		uint8_t *p = plain + 1 + i * ASSIGN_ENTRY;
		ug_put_be32(p, (uint32_t)list->entry[i].from);
		ug_put_be32(p + 4, (uint32_t)list->entry[i].to);
		p[8] = (uint8_t)strlen(list->entry[i].caseworker);
		memcpy(p + 9, list->entry[i].caseworker, p[8]);
	}
	uint8_t k[ASSIGN_KEY_LEN];
	size_t len = 1 + (size_t)plain[0] * ASSIGN_ENTRY;
	MDB_val key = {assign_key(s, k, person_key, role), k},
		val = {len + UG_SEAL_OVERHEAD, NULL};
	/* Sealed straight into the page: store_append runs on hubd's
	 * writer thread and need no buffer of its own. */
	int rc = mdb_put(txn, s->assign, &key, &val, MDB_RESERVE);
	if (rc != 0)
		return store__map_err(rc, "put assignment");
	store__seal(s, k, key.mv_size, plain, len, val.mv_data);
	return UG_OK;
}

ug_err
store__assign_put(store *s, MDB_txn *txn, store_event *ev)
{
	size_t cwlen = strlen(ev->assign_caseworker);
	if (cwlen >= STORE_ID_MAX)
		return UG_EINVAL;
	ev->assign_dropped = false;
	assign_list list;
	ug_err err =
	    assign_read(s, txn, ev->person_key, ev->assign_role, &list);
	if (err != UG_OK)
		return err;
	/* Same start date: the later record is a correction and wins. */
	int at = 0;
	while (at < list.count && list.entry[at].from < ev->assign_from)
		at++;
	if (at == list.count || list.entry[at].from != ev->assign_from) {
		memmove(&list.entry[at + 1], &list.entry[at],
			(size_t)(list.count - at) * sizeof list.entry[0]);
		list.count++;
	}
	list.entry[at].from = ev->assign_from;
	list.entry[at].to = ev->assign_to;
	memcpy(list.entry[at].caseworker, ev->assign_caseworker, cwlen + 1);
	if (list.count > ASSIGN_MAX) {
		/* The oldest start decides no day from the receipt on once
		 * the next one has begun or it has ended; until then it may
		 * be today's contact person, who must not be lost to
		 * handovers planned ahead: the one planned furthest ahead
		 * goes instead. */
		int32_t today = (int32_t)(ev->received_at / UG_DAY_MS);
		bool over = list.entry[1].from <= today ||
			    (list.entry[0].to && list.entry[0].to < today);
		int gone = over ? 0 : list.count - 1;
		if (!over) {
			ev->assign_dropped = true;
			ev->assign_dropped_from = list.entry[gone].from;
			memcpy(ev->assign_dropped_caseworker,
			       list.entry[gone].caseworker,
			       sizeof ev->assign_dropped_caseworker);
		}
		memmove(&list.entry[gone], &list.entry[gone + 1],
			(size_t)(list.count - gone - 1) *
			    sizeof list.entry[0]);
		list.count--;
	}
	return assign_write(s, txn, ev->person_key, ev->assign_role, &list);
}

ug_err
store__assign_drop(store *s, MDB_txn *txn, const uint8_t *person_key, int role,
		   int32_t from, int32_t to, const char *caseworker,
		   const char *back_caseworker, int32_t back_to,
		   uint64_t *count)
{
	assign_list list;
	ug_err err = assign_read(s, txn, person_key, role, &list);
	int at = 0;
	while (err == UG_OK && at < list.count &&
	       !(list.entry[at].from == from && list.entry[at].to == to &&
		 strcmp(list.entry[at].caseworker, caseworker) == 0))
		at++;
	if (err != UG_OK || at == list.count)
		return err;
	if (back_caseworker && back_caseworker[0]) {
		list.entry[at].to = back_to;
		ug_strlcpy(list.entry[at].caseworker, back_caseworker,
			   sizeof list.entry[at].caseworker);
		return assign_write(s, txn, person_key, role, &list);
	}
	memmove(&list.entry[at], &list.entry[at + 1],
		(size_t)(list.count - at - 1) * sizeof list.entry[0]);
	list.count--;
	(*count)++;
	if (list.count > 0)
		return assign_write(s, txn, person_key, role, &list);
	uint8_t k[ASSIGN_KEY_LEN];
	MDB_val key = {assign_key(s, k, person_key, role), k};
	int rc = mdb_del(txn, s->assign, &key, NULL);
	return store__map_err(rc == MDB_NOTFOUND ? 0 : rc, "drop assignment");
}

ug_err
store_assignment_get(store *s, const uint8_t *person_key, int32_t today,
		     char caseworker[STORE_ID_MAX])
{
	return store_assignment_role(s, person_key, STORE_ROLE_CONTACT, today,
				     caseworker);
}

/* A person's history for role, read in a transaction of its own. */
static ug_err
assign_read_alone(store *s, const uint8_t *person_key, int role,
		  assign_list *list)
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	ug_err err = assign_read(s, txn, person_key, role, list);
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_assignment_role(store *s, const uint8_t *person_key, int role,
		      int32_t today, char caseworker[STORE_ID_MAX])
{
	assign_list list;
	ug_err err = assign_read_alone(s, person_key, role, &list);
	if (err != UG_OK)
		return err;
	for (int i = list.count - 1; i >= 0; i--) {
		if (list.entry[i].from > today)
			continue;
		if (list.entry[i].to != 0 && today > list.entry[i].to)
			return UG_ENOTFOUND;
		memcpy(caseworker, list.entry[i].caseworker, STORE_ID_MAX);
		return UG_OK;
	}
	return UG_ENOTFOUND;
}

ug_err
store_assignment_at(store *s, const uint8_t *person_key, int role,
		    int32_t from, char caseworker[STORE_ID_MAX], int32_t *to)
{
	assign_list list;
	ug_err err = assign_read_alone(s, person_key, role, &list);
	if (err != UG_OK)
		return err;
	for (int i = 0; i < list.count; i++) {
		if (list.entry[i].from != from)
			continue;
		memcpy(caseworker, list.entry[i].caseworker, STORE_ID_MAX);
		*to = list.entry[i].to;
		return UG_OK;
	}
	return UG_ENOTFOUND;
}

bool
store_assignment_held(store *s, const uint8_t *person_key, int role,
		      const char *caseworker)
{
	assign_list list;
	if (assign_read_alone(s, person_key, role, &list) != UG_OK)
		return false;
	for (int i = 0; i < list.count; i++)
		if (strcmp(list.entry[i].caseworker, caseworker) == 0)
			return true;
	return false;
}
