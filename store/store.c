/*
 * The hub store: durable log in log/, rebuildable state in derived/.
 * See store.h for the contract; the layouts are:
 *
 * log/ (synced)
 *   log        seq BE64 -> v1 | type | received_at BE64 | agency_len |
 *              agency | sealed(flags | person_key[16] | envelope)
 *   ids        event_id[16] -> seq BE64 | agency      (idempotency index)
 *   assign     person_key[16] -> sealed(from BE32 | to BE32 | seq | cw)
 *   principal, principal_id: see store_principal.c
 *   alerts     alert_id[9] -> state | deliveries BE32 | escalations |
 *              recipient_len | recipient | sealed(body)
 *   audit      seq BE64 -> sealed(at | actor | action | person | detail)
 *   queue      recipient | 0x00 | alert_id[9] -> ""   (open alerts only)
 * derived/ (no fsync)
 *   meta       "last_applied" -> BE64
 *   person     person_key[16] | occurred_at BE64 | seq BE64 -> ""
 *   rule       person_key[16] | rule -> sealed(state)
 *
 * Sealed values bind their record key as additional data, so a value copied
 * under another key fails to open.
 */
#include "store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/util.h"
#include "store/store_int.h"

#define LOG_RECORD_VERSION 1
#define SEAL_MAX STORE_SEAL_MAX



ug_err
store__map_err(int rc, const char *what)
{
	switch (rc) {
	case MDB_SUCCESS:
		return UG_OK;
	case MDB_NOTFOUND:
		return UG_ENOTFOUND;
	case MDB_KEYEXIST:
		return UG_EEXISTS;
	case MDB_MAP_FULL:
		log_err("STORE-FULL", "%s: %s: the store map is full; raise "
		        "log_map_mb and restart", what, mdb_strerror(rc));
		return UG_EFULL;
	case ENOMEM:
		return UG_ENOMEM;
	default:
		log_err("STORE-LMDB", "%s: %s", what, mdb_strerror(rc));
		return UG_EIO;
	}
}

ug_err
store__env_open(MDB_env **out, const char *path, size_t map_mb,
                unsigned max_dbs, unsigned flags, ug_diag *diag)
{
	if (mkdir(path, 0700) != 0 && errno != EEXIST) {
		ug_diag_set(diag, path, "cannot create: %s", strerror(errno));
		return UG_EIO;
	}
	MDB_env *env = NULL;
	int rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, map_mb * 1024 * 1024);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, max_dbs);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(env, 126);
	/* MDB_NOTLS: reader slots belong to transactions, not threads, so a
	 * read txn on one env and a write txn on the other may overlap. */
	if (rc == 0)
		rc = mdb_env_open(env, path, flags | MDB_NOTLS, 0600);
	if (rc != 0) {
		ug_diag_set(diag, path, "cannot open LMDB environment: %s",
		            mdb_strerror(rc));
		mdb_env_close(env);
		return rc == MDB_MAP_FULL ? UG_EFULL : UG_EIO;
	}
	/* A process killed inside a read txn leaves its slot behind and pins
	 * old pages forever; clear such slots whenever we open. */
	int dead = 0;
	mdb_reader_check(env, &dead);
	if (dead)
		log_notice("STORE-READERS", "cleared %d stale reader slots in %s",
		           dead, path);
	*out = env;
	return UG_OK;
}

/* Another process (hubctl, a second hubd tool) may have grown the map;
 * adopt its size and begin again. */
static int
begin_txn(MDB_env *env, unsigned flags, MDB_txn **txn)
{
	int rc = mdb_txn_begin(env, NULL, flags, txn);
	if (rc == MDB_MAP_RESIZED) {
		mdb_env_set_mapsize(env, 0);
		rc = mdb_txn_begin(env, NULL, flags, txn);
	}
	return rc;
}

int
store__begin_write(MDB_env *env, MDB_txn **txn)
{
	return begin_txn(env, 0, txn);
}

int
store__begin_read(MDB_env *env, MDB_txn **txn)
{
	return begin_txn(env, MDB_RDONLY, txn);
}

#define begin_write store__begin_write
#define begin_read store__begin_read

static ug_err
open_dbs(MDB_env *env, const char *const *names, MDB_dbi *const *dbis,
         size_t n)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(env, NULL, 0, &txn);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = mdb_dbi_open(txn, names[i], MDB_CREATE, dbis[i]);
	if (rc == 0)
		return store__map_err(mdb_txn_commit(txn), "open databases");
	mdb_txn_abort(txn);
	return store__map_err(rc, "open databases");
}

static ug_err
read_last_applied(store *s)
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "read last_applied");
	MDB_val key = {12, "last_applied"}, val;
	rc = mdb_get(txn, s->meta, &key, &val);
	s->last_applied = rc == 0 && val.mv_size == 8
	                          ? ug_get_be64(val.mv_data)
	                          : 0;
	mdb_txn_abort(txn);
	return rc == 0 || rc == MDB_NOTFOUND ? UG_OK
	                                     : store__map_err(rc, "last_applied");
}

static ug_err
open_derived(store *s, const char *dir, size_t map_mb, ug_diag *diag)
{
	char path[512];
	snprintf(path, sizeof path, "%s/derived", dir);
	/* No fsync on commit: everything here is rebuilt from the log, and an
	 * fsync per batch for it would halve ingest (see PERF-FACTS). */
	ug_err err = store__env_open(&s->derived_env, path, map_mb, 8,
	                             MDB_NOSYNC, diag);
	if (err != UG_OK)
		return err;
	const char *names[] = {"meta", "person", "rule", "timer", "palerts",
	                       "desk"};
	MDB_dbi *dbis[] = {&s->meta,  &s->person,  &s->rule,
	                   &s->timer, &s->palerts, &s->desk};
	err = open_dbs(s->derived_env, names, dbis, 6);
	if (err == UG_OK)
		err = read_last_applied(s);
	return err;
}

ug_err
store_open(store **out, const char *dir, const store_opts *opts,
           ug_diag *diag)
{
	if (!opts || !opts->storage_key)
		return UG_EINVAL;
	store *s = calloc(1, sizeof *s);
	if (!s)
		return UG_ENOMEM;
	s->storage_key = opts->storage_key;
	s->scratch = malloc(SEAL_MAX + UG_SEAL_OVERHEAD + 64);
	ug_err err = UG_ENOMEM;
	if (!s->scratch)
		goto fail;
	if (ug_mkdir_p(dir) != 0) {
		ug_diag_set(diag, dir, "cannot create: %s", strerror(errno));
		err = UG_EIO;
		goto fail;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/log", dir);
	err = store__env_open(&s->log_env, path,
	                      opts->log_map_mb ? opts->log_map_mb : 16384, 16,
	                      0, diag);
	if (err != UG_OK)
		goto fail;
	const char *names[] = {"log",          "ids",    "assign", "principal",
	                       "principal_id", "alerts", "queue",  "audit",
	                       "audit_ckpt"};
	MDB_dbi *dbis[] = {&s->log,          &s->ids,    &s->assign,
	                   &s->principal,    &s->principal_id, &s->alerts,
	                   &s->queue,        &s->audit,  &s->audit_ckpt};
	err = open_dbs(s->log_env, names, dbis, 9);
	if (err != UG_OK)
		goto fail;
	err = open_derived(s, dir,
	                   opts->derived_map_mb ? opts->derived_map_mb : 8192,
	                   diag);
	if (err != UG_OK)
		goto fail;
	*out = s;
	return UG_OK;
fail:
	store_close(&s);
	return err;
}

void
store_close(store **sp)
{
	if (!sp || !*sp)
		return;
	store *s = *sp;
	if (s->derived_env) {
		mdb_env_sync(s->derived_env, 1);
		mdb_env_close(s->derived_env);
	}
	if (s->log_env)
		mdb_env_close(s->log_env);
	free(s->scratch);
	free(s);
	*sp = NULL;
}

void
store_maintain(store *s)
{
	int dead = 0;
	mdb_reader_check(s->log_env, &dead);
	mdb_reader_check(s->derived_env, &dead);
	if (dead)
		log_notice("STORE-READERS", "cleared %d stale reader slots",
		           dead);
	/* Bounds what an OS crash can cost the derived state: at most the
	 * interval since the last flush is replayed from the log. */
	mdb_env_sync(s->derived_env, 1);
}

/* ---- the durable log ---- */

static ug_err
seal_into(store *s, const void *ad, size_t adlen, const uint8_t *plain,
          size_t len, MDB_val *out)
{
	if (len > SEAL_MAX)
		return UG_EINVAL;
	ug_seal(s->storage_key, ad, adlen, plain, len, s->scratch);
	out->mv_data = s->scratch;
	out->mv_size = len + UG_SEAL_OVERHEAD;
	return UG_OK;
}

/*
 * A person's assignments are kept as a short history sorted by start date,
 * so a handover planned ahead does not take effect before its day, and an
 * older assignment arriving late (a backfilled export) never replaces the
 * current one. The assignment in force on a day is the one with the latest
 * start on or before it, unless it has ended.
 */
#define ASSIGN_MAX 8
#define ASSIGN_ENTRY (4 + 4 + 1 + STORE_ID_MAX - 1)

typedef struct {
	uint8_t count;
	struct {
		int32_t from, to;
		char caseworker[STORE_ID_MAX];
	} entry[ASSIGN_MAX + 1];
} assign_list;

/* The contact person's history is keyed by the person key alone; other
 * roles (the guidance counsellor) add a role byte. */
static size_t
assign_key(uint8_t out[UG_PERSON_KEY_LEN + 1], const uint8_t *person_key,
           int role)
{
	memcpy(out, person_key, UG_PERSON_KEY_LEN);
	out[UG_PERSON_KEY_LEN] = (uint8_t)role;
	return UG_PERSON_KEY_LEN + (role != STORE_ROLE_CONTACT);
}

static ug_err
assign_read(store *s, MDB_txn *txn, const uint8_t *person_key, int role,
            assign_list *list)
{
	memset(list, 0, sizeof *list);
	uint8_t k[UG_PERSON_KEY_LEN + 1];
	MDB_val key = {assign_key(k, person_key, role), k}, val;
	uint8_t plain[1 + ASSIGN_MAX * ASSIGN_ENTRY];
	int rc = mdb_get(txn, s->assign, &key, &val);
	if (rc == MDB_NOTFOUND)
		return UG_OK;
	if (rc != 0)
		return store__map_err(rc, "read assignment");
	if (val.mv_size < UG_SEAL_OVERHEAD + 1 ||
	    val.mv_size - UG_SEAL_OVERHEAD > sizeof plain ||
	    ug_seal_open(s->storage_key, k, key.mv_size, val.mv_data,
	                 val.mv_size, plain) != UG_OK ||
	    plain[0] > ASSIGN_MAX ||
	    val.mv_size - UG_SEAL_OVERHEAD != 1 + (size_t)plain[0] * ASSIGN_ENTRY)
		return UG_EMALFORMED;
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
put_assignment(store *s, MDB_txn *txn, const store_event *ev)
{
	size_t cwlen = strlen(ev->assign_caseworker);
	if (cwlen >= STORE_ID_MAX)
		return UG_EINVAL;
	assign_list list;
	ug_err err = assign_read(s, txn, ev->person_key, ev->assign_role,
	                         &list);
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
	int drop = list.count > ASSIGN_MAX; /* the oldest start goes */
	uint8_t plain[1 + ASSIGN_MAX * ASSIGN_ENTRY] = {0};
	plain[0] = (uint8_t)(list.count - drop);
	for (int i = drop; i < list.count; i++) {
		uint8_t *p = plain + 1 + (i - drop) * ASSIGN_ENTRY;
		ug_put_be32(p, (uint32_t)list.entry[i].from);
		ug_put_be32(p + 4, (uint32_t)list.entry[i].to);
		p[8] = (uint8_t)strlen(list.entry[i].caseworker);
		memcpy(p + 9, list.entry[i].caseworker, p[8]);
	}
	uint8_t k[UG_PERSON_KEY_LEN + 1];
	MDB_val key = {assign_key(k, ev->person_key, ev->assign_role), k}, val;
	err = seal_into(s, k, key.mv_size, plain,
	                1 + (size_t)plain[0] * ASSIGN_ENTRY, &val);
	if (err != UG_OK)
		return err;
	return store__map_err(mdb_put(txn, s->assign, &key, &val, 0),
	                      "put assignment");
}

/* Returns UG_OK with ev->status set, or an error that aborts the batch. */
static ug_err
append_one(store *s, MDB_txn *txn, store_event *ev, uint64_t *next_seq)
{
	size_t agency_len = strlen(ev->agency);
	if (agency_len >= STORE_ID_MAX || ev->body_len > SEAL_MAX - 32)
		return UG_EINVAL;
	uint8_t idval[8 + STORE_ID_MAX];
	ug_put_be64(idval, *next_seq);
	memcpy(idval + 8, ev->agency, agency_len);
	MDB_val idkey = {STORE_EVENT_ID_LEN, (void *)ev->event_id};
	MDB_val idv = {8 + agency_len, idval};
	int rc = mdb_put(txn, s->ids, &idkey, &idv, MDB_NOOVERWRITE);
	if (rc == MDB_KEYEXIST) {
		/* idv now points at the stored value. */
		ev->seq = ug_get_be64(idv.mv_data);
		int same = idv.mv_size == 8 + agency_len &&
		           memcmp((uint8_t *)idv.mv_data + 8, ev->agency,
		                  agency_len) == 0;
		ev->status = same ? STORE_DUPLICATE : STORE_CONFLICT;
		return UG_OK;
	}
	if (rc != 0)
		return store__map_err(rc, "put event id");

	uint8_t seqkey[8];
	ug_put_be64(seqkey, *next_seq);
	/* Plain part: what statistics need without the key. Sealed part: the
	 * person key and the envelope itself. */
	uint8_t *plain = malloc(1 + UG_PERSON_KEY_LEN + ev->body_len);
	if (!plain)
		return UG_ENOMEM;
	plain[0] = ev->person_key != NULL;
	if (ev->person_key)
		memcpy(plain + 1, ev->person_key, UG_PERSON_KEY_LEN);
	else
		memset(plain + 1, 0, UG_PERSON_KEY_LEN);
	memcpy(plain + 1 + UG_PERSON_KEY_LEN, ev->body, ev->body_len);
	size_t header = 1 + 1 + 8 + 1 + agency_len;
	size_t sealed_len = 1 + UG_PERSON_KEY_LEN + ev->body_len +
	                    UG_SEAL_OVERHEAD;
	MDB_val key = {8, seqkey};
	MDB_val val = {header + sealed_len, NULL};
	/* MDB_RESERVE: seal straight into the page, no second copy. */
	rc = mdb_put(txn, s->log, &key, &val, MDB_APPEND | MDB_RESERVE);
	if (rc != 0) {
		free(plain);
		return store__map_err(rc, "append log");
	}
	uint8_t *out = val.mv_data;
	out[0] = LOG_RECORD_VERSION;
	out[1] = (uint8_t)ev->type;
	ug_put_be64(out + 2, (uint64_t)ev->received_at);
	out[10] = (uint8_t)agency_len;
	memcpy(out + 11, ev->agency, agency_len);
	ug_seal(s->storage_key, seqkey, 8, plain,
	        1 + UG_PERSON_KEY_LEN + ev->body_len, out + header);
	free(plain);

	ev->status = STORE_NEW;
	ev->seq = (*next_seq)++;
	if (ev->assign_caseworker && ev->person_key)
		return put_assignment(s, txn, ev);
	return UG_OK;
}

static ug_err
last_seq_in(store *s, MDB_txn *txn, uint64_t *last)
{
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, s->log, &cur);
	if (rc != 0)
		return store__map_err(rc, "open log cursor");
	MDB_val key, val;
	rc = mdb_cursor_get(cur, &key, &val, MDB_LAST);
	*last = rc == 0 ? ug_get_be64(key.mv_data) : 0;
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? UG_OK
	                                     : store__map_err(rc, "log last");
}


ug_err
store_append(store *s, store_event *events, size_t n)
{
	MDB_txn *txn = NULL;
	int rc = begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin append");
	uint64_t last;
	/* The next sequence is read inside the write txn, not cached: hubctl
	 * appends to the same log from its own process. */
	ug_err err = last_seq_in(s, txn, &last);
	uint64_t next = last + 1;
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = append_one(s, txn, &events[i], &next);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__map_err(mdb_txn_commit(txn), "commit append");
}

ug_err
store_event_id_get(store *s, const uint8_t *event_id, uint64_t *seq,
                   char agency[STORE_ID_MAX])
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {STORE_EVENT_ID_LEN, (void *)event_id}, val;
	rc = mdb_get(txn, s->ids, &key, &val);
	ug_err err = UG_OK;
	if (rc == MDB_NOTFOUND) {
		err = UG_ENOTFOUND;
	} else if (rc != 0) {
		err = store__map_err(rc, "get event id");
	} else if (val.mv_size < 8 || val.mv_size - 8 >= STORE_ID_MAX) {
		err = UG_EIO;
	} else {
		*seq = ug_get_be64(val.mv_data);
		memcpy(agency, (const uint8_t *)val.mv_data + 8,
		       val.mv_size - 8);
		agency[val.mv_size - 8] = '\0';
	}
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_log_last(store *s, uint64_t *last)
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	ug_err err = last_seq_in(s, txn, last);
	mdb_txn_abort(txn);
	return err;
}

static ug_err
decode_record(store *s, const MDB_val *key, const MDB_val *val,
              store_record *rec, uint8_t *plain)
{
	const uint8_t *in = val->mv_data;
	if (val->mv_size < 11 || in[0] != LOG_RECORD_VERSION)
		return UG_EMALFORMED;
	size_t agency_len = in[10];
	size_t header = 11 + agency_len;
	if (val->mv_size < header + UG_SEAL_OVERHEAD + 1 + UG_PERSON_KEY_LEN ||
	    val->mv_size - header > SEAL_MAX + UG_SEAL_OVERHEAD)
		return UG_EMALFORMED;
	size_t sealed_len = val->mv_size - header;
	ug_err err = ug_seal_open(s->storage_key, key->mv_data, 8, in + header,
	                          sealed_len, plain);
	if (err != UG_OK)
		return err;
	rec->seq = ug_get_be64(key->mv_data);
	rec->type = in[1];
	rec->received_at = (int64_t)ug_get_be64(in + 2);
	memcpy(plain + SEAL_MAX, in + 11, agency_len);
	plain[SEAL_MAX + agency_len] = '\0';
	rec->agency = (const char *)plain + SEAL_MAX;
	rec->person_key = plain[0] ? plain + 1 : NULL;
	rec->body = plain + 1 + UG_PERSON_KEY_LEN;
	rec->body_len = sealed_len - UG_SEAL_OVERHEAD - 1 - UG_PERSON_KEY_LEN;
	return UG_OK;
}

ug_err
store_log_scan(store *s, uint64_t from, size_t max, store_record_fn fn,
               void *ctx, uint64_t *next)
{
	*next = from;
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin scan");
	MDB_cursor *cur = NULL;
	rc = mdb_cursor_open(txn, s->log, &cur);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "open scan cursor");
	}
	uint8_t seqkey[8];
	ug_put_be64(seqkey, from);
	MDB_val key = {8, seqkey}, val;
	ug_err err = UG_OK;
	rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE);
	for (size_t i = 0; rc == 0 && i < max && err == UG_OK; i++) {
		store_record rec;
		err = decode_record(s, &key, &val, &rec, s->scratch);
		if (err == UG_EMALFORMED) {
			/* A record that fails to open means the storage key is
			 * wrong or the file was altered: stop, never guess. */
			log_err("STORE-SEAL", "log record %llu does not open "
			        "with the storage key",
			        (unsigned long long)ug_get_be64(key.mv_data));
			break;
		}
		if (err == UG_OK)
			err = fn(ctx, &rec);
		if (err == UG_OK)
			*next = rec.seq + 1;
		rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	mdb_txn_abort(txn);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "scan log");
	return err;
}

ug_err
store_assignment_get(store *s, const uint8_t *person_key, int32_t today,
                     char caseworker[STORE_ID_MAX])
{
	return store_assignment_role(s, person_key, STORE_ROLE_CONTACT, today,
	                             caseworker);
}

ug_err
store_assignment_role(store *s, const uint8_t *person_key, int role,
                      int32_t today, char caseworker[STORE_ID_MAX])
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	assign_list list;
	ug_err err = assign_read(s, txn, person_key, role, &list);
	mdb_txn_abort(txn);
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

/* ---- alerts ---- */

static size_t
queue_key(uint8_t *out, const char *recipient, const uint8_t *id)
{
	size_t len = strlen(recipient);
	memcpy(out, recipient, len);
	out[len] = 0;
	memcpy(out + len + 1, id, STORE_ALERT_ID_LEN);
	return len + 1 + STORE_ALERT_ID_LEN;
}

ug_err
store__queue_key_put(MDB_txn *txn, store *s, const char *recipient,
                     const uint8_t *id, bool del)
{
	uint8_t qk[STORE_ID_MAX + 1 + STORE_ALERT_ID_LEN];
	MDB_val key = {queue_key(qk, recipient, id), qk}, empty = {0, ""};
	int rc = del ? mdb_del(txn, s->queue, &key, NULL)
	             : mdb_put(txn, s->queue, &key, &empty, 0);
	return store__map_err(rc, del ? "unqueue alert" : "queue alert");
}

static ug_err
put_alert(store *s, MDB_txn *txn, store_alert *a)
{
	size_t rlen = strlen(a->recipient);
	if (rlen == 0 || rlen >= STORE_ID_MAX || a->body_len > SEAL_MAX - 64)
		return UG_EINVAL;
	MDB_val key = {STORE_ALERT_ID_LEN, a->id};
	MDB_val val = {ALERT_HEADER + rlen + a->body_len + UG_SEAL_OVERHEAD,
	               NULL};
	int rc = mdb_put(txn, s->alerts, &key, &val,
	                 MDB_NOOVERWRITE | MDB_RESERVE);
	if (rc == MDB_KEYEXIST) {
		a->created = false;
		return UG_OK;
	}
	if (rc != 0)
		return store__map_err(rc, "put alert");
	uint8_t *out = val.mv_data;
	out[0] = ALERT_OPEN;
	memset(out + 1, 0, 5);
	out[6] = (uint8_t)rlen;
	memcpy(out + ALERT_HEADER, a->recipient, rlen);
	ug_seal(s->storage_key, a->id, STORE_ALERT_ID_LEN, a->body,
	        a->body_len, out + ALERT_HEADER + rlen);
	uint8_t qk[STORE_ID_MAX + 1 + STORE_ALERT_ID_LEN];
	MDB_val qkey = {queue_key(qk, a->recipient, a->id), qk}, empty = {0, ""};
	rc = mdb_put(txn, s->queue, &qkey, &empty, 0);
	if (rc != 0)
		return store__map_err(rc, "queue alert");
	a->created = true;
	return UG_OK;
}

ug_err
store_alerts_put(store *s, store_alert *alerts, size_t n)
{
	MDB_txn *txn = NULL;
	int rc = begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin alerts");
	ug_err err = UG_OK;
	for (size_t i = 0; err == UG_OK && i < n; i++)
		err = put_alert(s, txn, &alerts[i]);
	if (err != UG_OK) {
		mdb_txn_abort(txn);
		return err;
	}
	return store__map_err(mdb_txn_commit(txn), "commit alerts");
}

ug_err
store_alerts_ack(store *s, const char *recipient,
                 const uint8_t (*ids)[STORE_ALERT_ID_LEN], size_t n,
                 bool *found)
{
	if (strlen(recipient) >= STORE_ID_MAX)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin ack");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		uint8_t qk[STORE_ID_MAX + 1 + STORE_ALERT_ID_LEN];
		MDB_val qkey = {queue_key(qk, recipient, ids[i]), qk};
		rc = mdb_del(txn, s->queue, &qkey, NULL);
		found[i] = rc == 0;
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		/* The alert itself stays, marked acked: it is the record that
		 * stops a log replay from raising it again. */
		MDB_val key = {STORE_ALERT_ID_LEN, (void *)ids[i]}, val;
		rc = mdb_get(txn, s->alerts, &key, &val);
		if (rc != 0)
			break;
		uint8_t *copy = malloc(val.mv_size);
		if (!copy) {
			rc = ENOMEM;
			break;
		}
		memcpy(copy, val.mv_data, val.mv_size);
		copy[0] = ALERT_ACKED;
		MDB_val nv = {val.mv_size, copy};
		rc = mdb_put(txn, s->alerts, &key, &nv, 0);
		free(copy);
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "ack alerts");
	}
	return store__map_err(mdb_txn_commit(txn), "commit ack");
}

/* Visit the ids queued for a recipient, in id order after `after`, at most
 * max, inside the caller's read transaction. */
typedef ug_err (*queue_visit_fn)(void *ctx, MDB_txn *txn, const uint8_t *id);

static ug_err
scan_queue(store *s, MDB_txn *txn, const char *recipient,
           const uint8_t *after, size_t max, queue_visit_fn visit, void *ctx)
{
	size_t rlen = strlen(recipient);
	MDB_cursor *cur = NULL;
	int rc = mdb_cursor_open(txn, s->queue, &cur);
	uint8_t qk[STORE_ID_MAX + 1 + STORE_ALERT_ID_LEN];
	static const uint8_t zero_id[STORE_ALERT_ID_LEN];
	MDB_val qkey = {queue_key(qk, recipient, after ? after : zero_id), qk};
	MDB_val qval;
	if (rc == 0)
		rc = mdb_cursor_get(cur, &qkey, &qval, MDB_SET_RANGE);
	/* Skip the `after` entry itself. */
	if (rc == 0 && after && qkey.mv_size == rlen + 1 + STORE_ALERT_ID_LEN &&
	    memcmp(qkey.mv_data, qk, qkey.mv_size) == 0)
		rc = mdb_cursor_get(cur, &qkey, &qval, MDB_NEXT);
	ug_err err = UG_OK;
	for (size_t i = 0; rc == 0 && err == UG_OK && i < max; i++) {
		if (qkey.mv_size != rlen + 1 + STORE_ALERT_ID_LEN ||
		    memcmp(qkey.mv_data, recipient, rlen) != 0 ||
		    ((uint8_t *)qkey.mv_data)[rlen] != 0)
			break;
		err = visit(ctx, txn, (uint8_t *)qkey.mv_data + rlen + 1);
		rc = mdb_cursor_get(cur, &qkey, &qval, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	if (err == UG_OK && rc != 0 && rc != MDB_NOTFOUND)
		err = store__map_err(rc, "read queue");
	return err;
}

typedef struct {
	store *s;
	store_alert_fn fn;
	store_alert_id_fn id_fn;
	void *ctx;
} queue_ctx;

static ug_err
visit_open(void *ctx, MDB_txn *txn, const uint8_t *id)
{
	queue_ctx *q = ctx;
	MDB_val key = {STORE_ALERT_ID_LEN, (void *)id}, val;
	int rc = mdb_get(txn, q->s->alerts, &key, &val);
	if (rc != 0)
		return store__map_err(rc, "read alert");
	const uint8_t *in = val.mv_data;
	size_t off = val.mv_size > ALERT_HEADER ? ALERT_HEADER + (size_t)in[6]
	                                        : val.mv_size;
	if (val.mv_size < off + UG_SEAL_OVERHEAD ||
	    ug_seal_open(q->s->storage_key, id, STORE_ALERT_ID_LEN, in + off,
	                 val.mv_size - off, q->s->scratch) != UG_OK) {
		log_err("STORE-SEAL", "an alert does not open with the storage "
		        "key");
		return UG_EMALFORMED;
	}
	uint32_t deliveries = ug_get_be32(in + 1);
	return q->fn(q->ctx, id, q->s->scratch,
	             val.mv_size - off - UG_SEAL_OVERHEAD, deliveries);
}

static ug_err
visit_id(void *ctx, MDB_txn *txn, const uint8_t *id)
{
	(void)txn;
	queue_ctx *q = ctx;
	return q->id_fn(q->ctx, id);
}

static ug_err
read_queue(store *s, const char *recipient, const uint8_t *after, size_t max,
           queue_visit_fn visit, queue_ctx *q)
{
	if (strlen(recipient) >= STORE_ID_MAX)
		return UG_EINVAL;
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
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
	queue_ctx q = {s, fn, NULL, ctx};
	return read_queue(s, recipient, after, max, visit_open, &q);
}

ug_err
store_alerts_queued(store *s, const char *recipient, const uint8_t *after,
                    size_t max, store_alert_id_fn fn, void *ctx)
{
	queue_ctx q = {s, NULL, fn, ctx};
	return read_queue(s, recipient, after, max, visit_id, &q);
}

bool
store_alert_queued(store *s, const char *recipient, const uint8_t *id)
{
	if (strlen(recipient) >= STORE_ID_MAX)
		return false;
	MDB_txn *txn = NULL;
	if (begin_read(s->log_env, &txn) != 0)
		return true; /* unknown: keep treating it as in flight */
	uint8_t qk[STORE_ID_MAX + 1 + STORE_ALERT_ID_LEN];
	MDB_val qkey = {queue_key(qk, recipient, id), qk}, qval;
	int rc = mdb_get(txn, s->queue, &qkey, &qval);
	mdb_txn_abort(txn);
	return rc != MDB_NOTFOUND;
}

ug_err
store_alert_get(store *s, const uint8_t *id, store_alert_fn fn, void *ctx,
                bool *open)
{
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin read");
	MDB_val key = {STORE_ALERT_ID_LEN, (void *)id}, val;
	rc = mdb_get(txn, s->alerts, &key, &val);
	ug_err err = store__map_err(rc, "get alert");
	const uint8_t *in = val.mv_data;
	size_t off = err == UG_OK && val.mv_size > ALERT_HEADER
	                     ? ALERT_HEADER + (size_t)in[6]
	                     : 0;
	if (err == UG_OK &&
	    (off == 0 || val.mv_size < off + UG_SEAL_OVERHEAD ||
	     val.mv_size - off > SEAL_MAX + UG_SEAL_OVERHEAD ||
	     ug_seal_open(s->storage_key, id, STORE_ALERT_ID_LEN, in + off,
	                  val.mv_size - off, s->scratch) != UG_OK))
		err = UG_EMALFORMED;
	if (err == UG_OK) {
		*open = in[0] == ALERT_OPEN;
		uint32_t deliveries = ug_get_be32(in + 1);
		err = fn(ctx, id, s->scratch,
		         val.mv_size - off - UG_SEAL_OVERHEAD, deliveries);
	}
	mdb_txn_abort(txn);
	return err;
}

ug_err
store_alerts_delivered(store *s, const uint8_t (*ids)[STORE_ALERT_ID_LEN],
                       size_t n, uint32_t *deliveries)
{
	MDB_txn *txn = NULL;
	int rc = begin_write(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin delivered");
	for (size_t i = 0; rc == 0 && i < n; i++) {
		MDB_val key = {STORE_ALERT_ID_LEN, (void *)ids[i]}, val;
		deliveries[i] = 0;
		rc = mdb_get(txn, s->alerts, &key, &val);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			continue;
		}
		if (rc != 0 || val.mv_size < ALERT_HEADER)
			break;
		uint8_t *copy = malloc(val.mv_size);
		if (!copy) {
			rc = ENOMEM;
			break;
		}
		memcpy(copy, val.mv_data, val.mv_size);
		uint32_t count = ug_get_be32(copy + 1) + 1;
		ug_put_be32(copy + 1, count);
		MDB_val nv = {val.mv_size, copy};
		rc = mdb_put(txn, s->alerts, &key, &nv, 0);
		free(copy);
		deliveries[i] = count;
	}
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "count deliveries");
	}
	return store__map_err(mdb_txn_commit(txn), "commit deliveries");
}

static ug_err
count_alert(void *ctx, const uint8_t *id, const uint8_t *body, size_t len,
            uint32_t deliveries)
{
	(void)id, (void)body, (void)len, (void)deliveries;
	(*(size_t *)ctx)++;
	return UG_OK;
}

ug_err
store_alerts_count(store *s, const char *recipient, size_t *open)
{
	*open = 0;
	return store_alerts_open(s, recipient, NULL, SIZE_MAX, count_alert,
	                         open);
}

/* ---- derived state ---- */

ug_err
store_derived_begin(store *s, store_dtxn **out)
{
	store_dtxn *t = calloc(1, sizeof *t);
	if (!t)
		return UG_ENOMEM;
	t->s = s;
	int rc = begin_write(s->derived_env, &t->txn);
	if (rc != 0) {
		free(t);
		return store__map_err(rc, "begin derived");
	}
	*out = t;
	return UG_OK;
}

uint64_t
store_derived_last_applied(store *s)
{
	return s->last_applied;
}

ug_err
store_derived_index(store_dtxn *t, const uint8_t *person_key,
                    int64_t occurred_at, uint64_t seq)
{
	uint8_t k[UG_PERSON_KEY_LEN + 16];
	memcpy(k, person_key, UG_PERSON_KEY_LEN);
	ug_put_be64(k + UG_PERSON_KEY_LEN, (uint64_t)occurred_at);
	ug_put_be64(k + UG_PERSON_KEY_LEN + 8, seq);
	MDB_val key = {sizeof k, k}, val = {0, ""};
	return store__map_err(mdb_put(t->txn, t->s->person, &key, &val, 0),
	                      "index person");
}

ug_err
store_derived_state_get(store_dtxn *t, const uint8_t *person_key,
                        uint8_t rule, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t k[UG_PERSON_KEY_LEN + 1];
	memcpy(k, person_key, UG_PERSON_KEY_LEN);
	k[UG_PERSON_KEY_LEN] = rule;
	MDB_val key = {sizeof k, k}, val;
	int rc = mdb_get(t->txn, t->s->rule, &key, &val);
	if (rc != 0)
		return store__map_err(rc, "get rule state");
	if (val.mv_size < UG_SEAL_OVERHEAD ||
	    val.mv_size - UG_SEAL_OVERHEAD > cap)
		return UG_EMALFORMED;
	ug_err err = ug_seal_open(t->s->storage_key, k, sizeof k, val.mv_data,
	                          val.mv_size, buf);
	if (err == UG_OK)
		*len = val.mv_size - UG_SEAL_OVERHEAD;
	return err;
}

ug_err
store_derived_state_put(store_dtxn *t, const uint8_t *person_key,
                        uint8_t rule, const uint8_t *buf, size_t len)
{
	uint8_t k[UG_PERSON_KEY_LEN + 1];
	memcpy(k, person_key, UG_PERSON_KEY_LEN);
	k[UG_PERSON_KEY_LEN] = rule;
	MDB_val key = {sizeof k, k}, val = {len + UG_SEAL_OVERHEAD, NULL};
	int rc = mdb_put(t->txn, t->s->rule, &key, &val, MDB_RESERVE);
	if (rc != 0)
		return store__map_err(rc, "put rule state");
	ug_seal(t->s->storage_key, k, sizeof k, buf, len, val.mv_data);
	return UG_OK;
}

ug_err
store_derived_commit(store_dtxn **tp, uint64_t last_applied)
{
	store_dtxn *t = *tp;
	uint8_t v[8];
	ug_put_be64(v, last_applied);
	MDB_val key = {12, "last_applied"}, val = {8, v};
	int rc = mdb_put(t->txn, t->s->meta, &key, &val, 0);
	if (rc != 0) {
		store_derived_abort(tp);
		return store__map_err(rc, "put last_applied");
	}
	rc = mdb_txn_commit(t->txn);
	if (rc == 0)
		t->s->last_applied = last_applied;
	free(t);
	*tp = NULL;
	return store__map_err(rc, "commit derived");
}

void
store_derived_abort(store_dtxn **tp)
{
	if (!tp || !*tp)
		return;
	mdb_txn_abort((*tp)->txn);
	free(*tp);
	*tp = NULL;
}

ug_err
store_derived_reset(store *s)
{
	MDB_txn *txn = NULL;
	int rc = begin_write(s->derived_env, &txn);
	if (rc == 0)
		rc = mdb_drop(txn, s->meta, 0);
	if (rc == 0)
		rc = mdb_drop(txn, s->person, 0);
	MDB_dbi more[] = {s->rule, s->timer, s->palerts, s->desk};
	for (size_t i = 0; rc == 0 && i < sizeof more / sizeof *more; i++)
		rc = mdb_drop(txn, more[i], 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "reset derived");
	}
	rc = mdb_txn_commit(txn);
	if (rc == 0)
		s->last_applied = 0;
	return store__map_err(rc, "commit reset");
}

ug_err
store_derived_schema_check(store *s, uint32_t schema, bool *reset)
{
	*reset = false;
	MDB_txn *txn = NULL;
	int rc = begin_write(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "derived schema");
	MDB_val key = {6, "schema"}, val;
	rc = mdb_get(txn, s->meta, &key, &val);
	uint32_t held = rc == 0 && val.mv_size == 8
	                        ? (uint32_t)ug_get_be64(val.mv_data)
	                        : 0;
	if (rc == 0 && held == schema) {
		mdb_txn_abort(txn);
		return UG_OK;
	}
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return store__map_err(rc, "read derived schema");
	}
	mdb_txn_abort(txn);
	/* Another format (or none recorded, from before versions were kept)
	 * over existing state: throw it away; the log rebuilds it. */
	if (s->last_applied > 0) {
		ug_err err = store_derived_reset(s);
		if (err != UG_OK)
			return err;
		*reset = true;
	}
	rc = begin_write(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "derived schema");
	uint8_t v[8];
	ug_put_be64(v, schema);
	val = (MDB_val){8, v};
	rc = mdb_put(txn, s->meta, &key, &val, 0);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	return store__map_err(rc, "write derived schema");
}

/* ---- statistics ---- */

static uint64_t
entries(MDB_txn *txn, MDB_dbi dbi)
{
	MDB_stat st;
	return mdb_stat(txn, dbi, &st) == 0 ? st.ms_entries : 0;
}

static void
env_bytes(MDB_env *env, uint64_t *used, uint64_t *map)
{
	MDB_envinfo info;
	MDB_stat st;
	mdb_env_info(env, &info);
	mdb_env_stat(env, &st);
	*used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
	*map = info.me_mapsize;
}

ug_err
store_get_stats(store *s, store_stats *out)
{
	memset(out, 0, sizeof *out);
	MDB_txn *txn = NULL;
	int rc = begin_read(s->log_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin stats");
	out->log_events = entries(txn, s->log);
	out->event_ids = entries(txn, s->ids);
	out->assignments = entries(txn, s->assign);
	out->principals = entries(txn, s->principal);
	out->alerts = entries(txn, s->alerts);
	out->alerts_open = entries(txn, s->queue);
	out->audit_records = entries(txn, s->audit);
	ug_err err = last_seq_in(s, txn, &out->last_seq);
	mdb_txn_abort(txn);
	rc = begin_read(s->derived_env, &txn);
	if (rc != 0)
		return store__map_err(rc, "begin stats");
	out->person_index_entries = entries(txn, s->person);
	out->timers = entries(txn, s->timer);
	mdb_txn_abort(txn);
	read_last_applied(s);
	out->last_applied = s->last_applied;
	env_bytes(s->log_env, &out->log_bytes, &out->log_map_bytes);
	env_bytes(s->derived_env, &out->derived_bytes,
	          &out->derived_map_bytes);
	return err;
}
